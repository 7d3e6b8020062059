/*
 * policy_check throughput over the store-backed lookup (mta/compliance)
 * with a million opt-outs in the store.  Not a test: prints figures.
 *
 *   bench-compliance [OPTOUTS] [CHECKS] [DIR]
 *
 * Loads OPTOUTS number records (n\0NUMBER, the layout in compliance.h)
 * with KV_PUT batches of 4096, then runs CHECKS policy_checks of the
 * shipped conf/policy.yaml with destinations drawn at random from twice
 * the opted-out range (so about half are opted out of one brand), over:
 *  - no lookup state (all callbacks absent): the policy's own cost;
 *  - the lookup with no read cache (every lookup a store read);
 *  - the lookup with the default read cache, random destinations;
 *  - the same, with destinations from 10,000 numbers (hot set);
 *  - check + compliance_record_send for each accepted message, draining
 *    completions every 1024 messages (the daemon's steady state).
 */
#include "mta/compliance.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef SMPPD_SOURCE_ROOT
#define SMPPD_SOURCE_ROOT "."
#endif

#define NOW 1781539200LL          /* Monday 16:00 UTC, noon Eastern */
#define BASE 12122000000ULL        /* 1-212-200-0000: valid NANP */

static struct compliance *cp;
static size_t ndone;

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void route(const struct store_completion *c, void *arg)
{
	ndone++;
	if (cp && compliance_owns_cookie(cp, c->cookie))
		compliance_completion(cp, c);
}

static void wait_done(struct store *st, size_t want)
{
	struct pollfd p = { .fd = store_notify_fd(st), .events = POLLIN };
	while (ndone < want) {
		if (poll(&p, 1, 30000) <= 0) {
			fprintf(stderr, "no completions\n");
			exit(1);
		}
		store_drain_completions(st, route, NULL);
	}
}

static void load(struct store *st, size_t n)
{
	enum { BATCH = 4096 };
	static struct store_op ops[BATCH];
	static uint8_t keys[BATCH][24], vals[BATCH][40];
	static const char *const brands[] = { "Acme Bank", "Zing Coffee" };
	size_t submitted = 0;
	double t0 = secs();
	for (size_t i = 0; i < n; i += BATCH) {
		size_t m = n - i < BATCH ? n - i : BATCH;
		for (size_t j = 0; j < m; j++) {
			uint64_t num = BASE + 2 * (i + j);
			const char *b = brands[(i + j) & 1];
			size_t bl = strlen(b);
			int kl = snprintf((char *)keys[j] + 2, 22, "%llu",
			    (unsigned long long)num);
			keys[j][0] = 'n';
			keys[j][1] = 0;
			uint8_t *v = vals[j];
			memset(v, 0, 12);
			v[0] = 1;               /* version */
			v[11] = 1;              /* one brand */
			int64_t t = NOW - 86400;
			for (int k = 0; k < 8; k++)
				v[12 + k] = (uint8_t)((uint64_t)t >> (8 * k));
			v[20] = (uint8_t)bl;
			memcpy(v + 21, b, bl);
			ops[j] = (struct store_op){ .kind = STORE_OP_KV_PUT,
			    .u.kv = { .key = keys[j], .klen = 2 + (size_t)kl,
			    .val = v, .vlen = 21 + bl } };
		}
		if (store_submit(st, ops, m) < 0) {
			fprintf(stderr, "store_submit failed\n");
			exit(1);
		}
		submitted += m;
		/* keep at most 64k in flight */
		if (submitted > ndone + 65536)
			wait_done(st, submitted - 65536);
	}
	wait_done(st, submitted);
	printf("loaded %zu opt-outs in %.2f s\n", n, secs() - t0);
}

static const char *const srcs[] = { "+12025550101", "+12025550111",
	"+13125550120" };
static const char *const texts[] = { "Your code is 482913",
	"Your balance is below $50.", "Fresh beans are in: 20% off today" };

static void dest(char *out, uint64_t span)
{
	snprintf(out, 16, "%llu", (unsigned long long)(BASE + xorshift() % span));
}

struct tally {
	size_t ok, optout, other;
};

static double run(const struct policy *p, const struct policy_lookup *lk,
    size_t checks, uint64_t span, struct tally *t, int record,
    struct store *st)
{
	char dst[16], buf[1024];
	size_t sent = 0;
	memset(t, 0, sizeof(*t));
	double t0 = secs();
	for (size_t i = 0; i < checks; i++) {
		unsigned k = (unsigned)(i % 3);
		dest(dst, span);
		struct policy_msg m = { .account = "app", .source = srcs[k],
		    .destination = dst, .text = texts[k],
		    .text_len = strlen(texts[k]) };
		struct policy_verdict v = { .text_buf = buf,
		    .text_cap = sizeof(buf) };
		policy_check(p, lk, &m, NOW, &v);
		if (v.status == POLICY_ST_OPTED_OUT)
			t->optout++;
		else if (v.action == POLICY_ACCEPT)
			t->ok++;
		else
			t->other++;
		if (record && v.action == POLICY_ACCEPT) {
			compliance_record_send(cp, v.brand, v.campaign, dst, NOW,
			    v.record);
			sent++;
		}
		if (record && (i & 1023) == 1023)
			store_drain_completions(st, route, NULL);
	}
	double dt = secs() - t0;
	if (record) {
		/* let the writer catch up, outside the timing */
		while (1) {
			struct compliance_stats s;
			compliance_get_stats(cp, &s);
			if (s.overlay_entries == 0)
				break;
			struct pollfd pf = { .fd = store_notify_fd(st),
			    .events = POLLIN };
			poll(&pf, 1, 1000);
			store_drain_completions(st, route, NULL);
		}
	}
	return checks / dt;
}

static void report(const char *name, double rate, const struct tally *t,
    struct compliance *c)
{
	printf("%-34s %10.0f checks/s  %6.0f ns  (accept %zu, 0x400 %zu, "
	    "other %zu)", name, rate, 1e9 / rate, t->ok, t->optout, t->other);
	if (c) {
		struct compliance_stats s;
		compliance_get_stats(c, &s);
		printf("  reads %llu cache %llu overlay %llu",
		    (unsigned long long)s.store_reads,
		    (unsigned long long)s.cache_hits,
		    (unsigned long long)s.overlay_hits);
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	size_t checks = argc > 2 ? strtoull(argv[2], NULL, 10) : 2000000;
	const char *tmp = argc > 3 ? argv[3] : getenv("TMPDIR");
	char dir[256], err[256], path[300];
	snprintf(dir, sizeof(dir), "%s/bench-compliance-XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	struct policy *p = NULL;
	if (policy_load(SMPPD_SOURCE_ROOT "/conf/policy.yaml", &p, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct store_config cfg = { .path = dir, .map_size = (size_t)2 << 30 };
	struct store *st = NULL;
	if (store_open(&cfg, &st) < 0) {
		fprintf(stderr, "store_open failed\n");
		return 1;
	}
	load(st, n);
	uint64_t span = 2 * (uint64_t)(n ? n : 1);
	struct tally t;

	struct policy_lookup none = { 0 };
	report("policy only (no lookup state)", run(p, &none, checks, span, &t,
	    0, st), &t, NULL);

	struct compliance_config nc = { .cache_slots = 1 };
	cp = compliance_new(st, &nc);
	report("store lookup, no cache", run(p, compliance_lookup(cp), checks,
	    span, &t, 0, st), &t, cp);
	compliance_free(cp);

	cp = compliance_new(st, NULL);
	report("store lookup, cache, random dst", run(p, compliance_lookup(cp),
	    checks, span, &t, 0, st), &t, cp);
	compliance_free(cp);

	cp = compliance_new(st, NULL);
	report("store lookup, cache, 10k hot dst", run(p, compliance_lookup(cp),
	    checks, 10000, &t, 0, st), &t, cp);
	compliance_free(cp);

	cp = compliance_new(st, NULL);
	report("check + record_send, random dst", run(p, compliance_lookup(cp),
	    checks, span, &t, 1, st), &t, cp);
	compliance_free(cp);
	cp = NULL;

	/* record_send alone: the cost the daemon adds per accepted message */
	cp = compliance_new(st, NULL);
	{
		char dst[16];
		double t0 = secs();
		for (size_t i = 0; i < checks; i++) {
			dest(dst, span);
			compliance_record_send(cp, "Acme Bank", "CACMEACCT", dst,
			    NOW, POLICY_RECORD_SEND);
			if ((i & 1023) == 1023)
				store_drain_completions(st, route, NULL);
		}
		double dt = secs() - t0;
		printf("%-34s %10.0f sends/s   %6.0f ns\n", "record_send alone",
		    checks / dt, 1e9 * dt / checks);
		struct compliance_stats s;
		for (;;) {
			compliance_get_stats(cp, &s);
			if (s.overlay_entries == 0)
				break;
			struct pollfd pf = { .fd = store_notify_fd(st),
			    .events = POLLIN };
			poll(&pf, 1, 1000);
			store_drain_completions(st, route, NULL);
		}
	}
	compliance_free(cp);
	cp = NULL;

	store_close(st);
	policy_unref(p);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}
