/*
 * Policy check throughput: a realistic policy (500 lexicon entries, 50
 * regexes, 100 campaigns) against an in-memory lookup holding 1 million
 * opt-outs, on one core.  Prints checks per second; not pass/fail.
 *
 *   bench-policy [CHECKS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy/policy.h"
#include "tests/policy/memlookup.h"

static void write_policy(FILE *f, int regexes)
{
	fprintf(f, "number_tables:\n  timezones: %s/conf/nanp-tz.tsv\n"
	    "  states: %s/conf/nanp-states.tsv\nbrands:\n", SRCDIR, SRCDIR);
	for (int b = 0; b < 20; b++)
		fprintf(f, "  - {name: Brand%d, sender_prefix: \"Brand%d: \"}\n", b, b);
	fprintf(f, "campaigns:\n");
	static const char *const uc[] = { "MARKETING", "ACCOUNT_NOTIFICATION",
		"2FA", "MIXED", "CUSTOMER_CARE" };
	for (int c = 0; c < 100; c++)
		fprintf(f, "  - {id: C%03d, brand: Brand%d, status: approved, "
		    "use_case: %s, numbers: [\"+1312555%04d\", \"+1415555%04d\"]}\n",
		    c, c % 20, uc[c % 5], c, c);
	fprintf(f, "content:\n  lexicons:\n");
	for (int l = 0; l < 5; l++) {
		fprintf(f, "    - name: lex%d\n      words: [", l);
		for (int w = 0; w < 100; w++)
			fprintf(f, "%s\"%s%dx%d\"", w ? ", " : "",
			    w % 4 == 0 ? "bad phrase " : "badword", l, w);
		fprintf(f, "]\n");
	}
	fprintf(f, "  url_shorteners: [bit.ly, goo.gl, tinyurl.com, tiny.cc, "
	    "is.gd, ow.ly, t.co, cutt.ly]\n");
	if (regexes) {
		fprintf(f, "  regexes:\n");
		for (int r = 0; r < 50; r++)
			fprintf(f, "    - {name: r%d, pattern: \"(promo|deal)%d "
			    "(code|offer)[0-9]+|win%d [a-z]+ prize\"}\n", r, r, r);
	}
	fprintf(f, "segment_limit: 6\nfrequency_caps:\n  - {name: fl, states: "
	    "[FL, OK, MD], max: 3, window: 24h, action: defer}\n");
	fprintf(f, "monitors:\n  - {name: e, metric: errors, window: 1h, "
	    "min_volume: 200, threshold: 8%%, action: alert}\n");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double run(struct policy *p, struct memlookup *m, long n,
    long *accepted)
{
	static const char *const texts[] = {
		"Hi Sam, your order 48213 has shipped and will arrive Thursday. "
		"Track it at https://shop.example.com/t/48213",
		"Your appointment with Dr. Lee is confirmed for Mon 3 Feb at 10:30. "
		"Reply C to confirm or call 555-0100.",
		"Flash sale: 20% off all coffee beans this weekend only at "
		"zing.example/beans - see you soon!",
		"Your verification code is 493021. It expires in 10 minutes.",
	};
	struct policy_lookup lk;
	memlookup_bind(m, &lk);
	char buf[1024], dst[16], src[16];
	struct policy_verdict v;
	v.text_buf = buf;
	v.text_cap = sizeof(buf);
	*accepted = 0;
	int64_t noon = 1752681600;  /* 16 July 2025 16:00 UTC */
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		/* recipients across the country, a few of them opted out */
		static const char *const npa[] = { "212", "312", "415", "305",
			"602", "808", "907", "208" };
		snprintf(dst, sizeof(dst), "+1%s55%05ld", npa[i & 7],
		    (i * 7919) % 100000);
		snprintf(src, sizeof(src), "+1312555%04ld", i % 100);
		const char *t = texts[i & 3];
		struct policy_msg msg = { "acct", src, dst, t, strlen(t) };
		policy_check(p, &lk, &msg, noon, &v);
		*accepted += v.action == POLICY_ACCEPT;
	}
	return n / (now_s() - t0);
}

static struct policy *load(int regexes)
{
	char path[] = "/tmp/bench-policy-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	write_policy(f, regexes);
	fclose(f);
	struct policy *p = NULL;
	char err[512];
	if (policy_load(path, &p, err, sizeof(err)) < 0)
		fprintf(stderr, "bench-policy: %s\n", err);
	unlink(path);
	return p;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	struct policy *with = load(1), *without = load(0);
	if (with == NULL || without == NULL)
		return 1;
	struct memlookup *m = memlookup_new(1100000);
	char num[16];
	for (long i = 0; i < 1000000; i++) {
		snprintf(num, sizeof(num), "1%03ld55%05ld", 200 + (i * 37) % 800,
		    i % 100000);
		memlookup_optout(m, (i & 1) ? NULL : "Brand3", num);
	}
	long acc;
	double r = run(with, m, n, &acc);
	printf("policy checks: %.0f /s (%ld of %ld accepted; 500 lexicon "
	    "entries, 50 regexes, 100 campaigns, 1M opt-outs)\n", r, acc, n);
	r = run(without, m, n, &acc);
	printf("same without the 50 regexes: %.0f /s\n", r);
	memlookup_free(m);
	policy_unref(with);
	policy_unref(without);
	return 0;
}
