/*
 * The pure parts of the external hook protocol the daemon's I/O relies
 * on: framing answers read from a stream, splitting hook addresses, and
 * the hook settings the loader fills in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"
#include "tests/unit.h"

static void test_framing(void)
{
	static const struct { const char *in; long want; } cases[] = {
		{ "", 0 },
		{ "action=accept", 0 },
		{ "action=accept\n", 0 },
		{ "action=accept\n\n", 15 },
		{ "action=accept\r\n\r\n", 17 },
		{ "action=reject no\n\naction=accept\n\n", 18 },  /* the first only */
		{ "score=1\naction=defer\n\nextra", 22 },
		{ "\n", 1 },                                      /* empty answer */
		{ "a=1\r\nb=2\n", 0 },
		{ "a=\r\r\n\n", 6 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *s = cases[i].in;
		CHECK_EQ_INT(policy_hook_response_length(s, strlen(s), 4096), cases[i].want);
	}
	char big[300];
	memset(big, 'x', sizeof big);
	big[0] = 'a';
	big[1] = '=';
	CHECK_EQ_INT(policy_hook_response_length(big, sizeof big, 256), -1);
	CHECK_EQ_INT(policy_hook_response_length(big, 100, 256), 0);
	/* An end that lies past the limit is no better than none. */
	memcpy(big + 270, "\n\n", 2);
	CHECK_EQ_INT(policy_hook_response_length(big, sizeof big, 256), -1);
	CHECK_EQ_INT(policy_hook_response_length(big, sizeof big, 4096), 272);
}

static void test_address(void)
{
	enum policy_hook_family f;
	char host[128], port[8];
	CHECK_EQ_INT(policy_hook_address_split("unix:/run/smppd/fraud.sock", &f, host,
	    sizeof host, port, sizeof port), 0);
	CHECK_EQ_INT(f, POLICY_HOOK_UNIX);
	CHECK_EQ_STR(host, "/run/smppd/fraud.sock");
	CHECK_EQ_STR(port, "");
	CHECK_EQ_INT(policy_hook_address_split("tcp:127.0.0.1:9998", &f, host, sizeof host,
	    port, sizeof port), 0);
	CHECK_EQ_INT(f, POLICY_HOOK_TCP);
	CHECK_EQ_STR(host, "127.0.0.1");
	CHECK_EQ_STR(port, "9998");
	CHECK_EQ_INT(policy_hook_address_split("tcp:[::1]:10040", &f, host, sizeof host,
	    port, sizeof port), 0);
	CHECK_EQ_STR(host, "::1");
	CHECK_EQ_STR(port, "10040");
	CHECK_EQ_INT(policy_hook_address_split("tcp:policy.example:25", &f, host, sizeof host,
	    port, sizeof port), 0);
	CHECK_EQ_STR(host, "policy.example");
	static const char *const bad[] = {
		"/run/x.sock", "unix:", "unix:relative.sock", "tcp:", "tcp:host",
		"tcp:host:", "tcp::25", "tcp:host:0", "tcp:host:65536", "tcp:host:12a",
		"tcp:::1:25", "tcp:[::1]25", "tcp:[::1]", "udp:host:25", NULL,
	};
	for (int i = 0; bad[i]; i++)
		CHECK_EQ_INT(policy_hook_address_split(bad[i], &f, host, sizeof host, port,
		    sizeof port), -1);
	char longpath[200] = "unix:/";
	memset(longpath + 6, 'p', 150);
	CHECK_EQ_INT(policy_hook_address_split(longpath, &f, host, sizeof host, port,
	    sizeof port), -1);
	CHECK_EQ_INT(policy_hook_address_split(NULL, &f, host, sizeof host, port,
	    sizeof port), -1);
	/* A host that does not fit the caller's buffer is an error, not cut. */
	char tiny[4];
	CHECK_EQ_INT(policy_hook_address_split("tcp:127.0.0.1:25", &f, tiny, sizeof tiny,
	    port, sizeof port), -1);
}

static const char *write_policy(const char *dir, const char *hooks)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/policy.yaml", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return NULL;
	fprintf(f, "brands:\n  - name: B\n    sender_prefix: \"B: \"\n"
	    "campaigns:\n  - id: C1\n    brand: B\n    status: approved\n"
	    "    use_case: 2FA\n    numbers: [\"+12025550101\"]\n"
	    "  - id: C2\n    brand: B\n    status: approved\n"
	    "    use_case: ACCOUNT_NOTIFICATION\n    numbers: [\"+12025550102\"]\n"
	    "quiet_hours:\n  exempt_use_cases: [2FA]\n"
	    "number_tables:\n  timezones: %s/conf/nanp-tz.tsv\n"
	    "  states: %s/conf/nanp-states.tsv\n%s", SRCDIR, SRCDIR, hooks);
	fclose(f);
	return path;
}

static int none(void *a, const char *b, const char *n, int *yes)
{
	(void)a; (void)b; (void)n;
	*yes = 0;
	return 0;
}

static int no_consent(void *a, const char *b, const char *c, const char *n, int *yes)
{
	(void)a; (void)b; (void)c; (void)n;
	*yes = 0;
	return 0;
}

static int mobile(void *a, const char *n, enum policy_line *lt)
{
	(void)a; (void)n;
	*lt = POLICY_LINE_MOBILE;
	return 0;
}

static int no_footer(void *a, const char *c, const char *n, int64_t *when)
{
	(void)a; (void)c; (void)n;
	*when = 0;
	return 0;
}

static int none_sent(void *a, const char *b, const char *n, int64_t since,
    uint32_t *count, int64_t *oldest)
{
	(void)a; (void)b; (void)n; (void)since;
	*count = 0;
	*oldest = 0;
	return 0;
}

static int not_paused(void *a, const char *c, int *yes)
{
	(void)a; (void)c;
	*yes = 0;
	return 0;
}

static const struct policy_lookup lookup = {
	NULL, none, no_consent, mobile, none, no_footer, none_sent, not_paused,
};

/* The hooks a verdict names, as the loader read them. */
static void test_settings(void)
{
	char dir[] = "/tmp/policy-hook-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	const char *path = write_policy(dir,
	    "hooks:\n"
	    "  - name: a\n    address: unix:/run/a.sock\n"
	    "  - name: b\n    address: tcp:127.0.0.1:10040\n    timeout: 250ms\n"
	    "    on_timeout: reject\n    connections: 8\n    defer: 15m\n"
	    "  - name: c\n    address: tcp:127.0.0.1:10041\n    use_cases: [MARKETING]\n");
	struct policy *p = NULL;
	char err[256] = "";
	CHECK_EQ_INT(policy_load(path, &p, err, sizeof err), 0);
	if (!p) {
		printf("# %s\n", err);
		return;
	}
	struct policy_msg m = { "acct", "12025550101", "12125550123", "code 1", 6 };
	char text[256];
	struct policy_verdict v = { .text_buf = text, .text_cap = sizeof text };
	CHECK_EQ_INT(policy_check(p, &lookup, &m, 1767225600, &v), 0);
	CHECK_EQ_INT(v.action, POLICY_ACCEPT);
	if (v.action != POLICY_ACCEPT)
		printf("#   %s: %s\n", v.rule, v.reason);
	CHECK_EQ_INT(v.nhooks, 2);  /* c is for marketing only */
	if (v.nhooks == 2) {
		CHECK_EQ_STR(v.hooks[0]->name, "a");
		CHECK_EQ_INT(v.hooks[0]->timeout_ms, 1000);
		CHECK_EQ_INT(v.hooks[0]->on_timeout, POLICY_DEFER);
		CHECK_EQ_INT(v.hooks[0]->connections, 4);
		CHECK_EQ_INT(v.hooks[0]->defer_ms, 5 * 60 * 1000);
		CHECK_EQ_STR(v.hooks[1]->name, "b");
		CHECK_EQ_INT(v.hooks[1]->timeout_ms, 250);
		CHECK_EQ_INT(v.hooks[1]->on_timeout, POLICY_REJECT);
		CHECK_EQ_INT(v.hooks[1]->connections, 8);
		CHECK_EQ_INT(v.hooks[1]->defer_ms, 15 * 60 * 1000);
	}
	/* deferred by quiet hours (01:00 in New York): the hooks judge it
	 * now, since nothing asks them when it is released */
	struct policy_msg night = { "acct", "12025550102", "12125550123", "statement", 9 };
	struct policy_verdict vn = { .text_buf = text, .text_cap = sizeof text };
	CHECK_EQ_INT(policy_check(p, &lookup, &night, 1767225600 + 6 * 3600, &vn), 0);
	CHECK_EQ_INT(vn.action, POLICY_DEFER);
	CHECK_EQ_STR(vn.rule, "quiet_hours");
	CHECK_EQ_INT(vn.nhooks, 2);
	policy_unref(p);

	static const struct { const char *hooks, *err; } bad[] = {
		{ "hooks:\n  - name: a\n    address: tcp:127.0.0.1\n", "bad hook address" },
		{ "hooks:\n  - name: a\n    address: unix:/a\n    connections: 0\n", "out of range 1..64" },
		{ "hooks:\n  - name: a\n    address: unix:/a\n    connections: 65\n", "out of range 1..64" },
		{ "hooks:\n  - name: a\n    address: unix:/a\n    defer: soon\n", "bad duration" },
		{ "hooks:\n  - name: a\n    address: unix:/a\n    on_timeout: drop\n", "hook action" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		p = NULL;
		err[0] = '\0';
		path = write_policy(dir, bad[i].hooks);
		CHECK_EQ_INT(policy_load(path, &p, err, sizeof err), -1);
		CHECK(strstr(err, bad[i].err) != NULL);
		if (!strstr(err, bad[i].err))
			printf("#   got \"%s\"\n", err);
		policy_unref(p);
	}
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	RUN(test_framing);
	RUN(test_address);
	RUN(test_settings);
	return unit_done();
}
