/*
 * Loader tests: the shipped conf/policy.yaml loads, and each kind of
 * mistake is refused with the file:line of the offending node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"
#include "tests/unit.h"

static char tmpdir[] = "/tmp/policy-test-XXXXXX";

/* Lines 1-9: the smallest valid policy.  Cases append from line 10 or
 * replace it whole; the table paths go last so line numbers stay put. */
#define BASE \
	"brands:\n" \
	"  - name: B\n" \
	"    sender_prefix: \"B: \"\n" \
	"campaigns:\n" \
	"  - id: C1\n" \
	"    brand: B\n" \
	"    status: approved\n" \
	"    use_case: 2FA\n" \
	"    numbers: [\"+12025550101\"]\n"

static int load_text(const char *yaml, struct policy **p, char *err,
    size_t cap)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/policy.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -2;
	fputs(yaml, f);
	if (!strstr(yaml, "number_tables"))
		fprintf(f, "number_tables:\n  timezones: %s/conf/nanp-tz.tsv\n"
		    "  states: %s/conf/nanp-states.tsv\n", SRCDIR, SRCDIR);
	fclose(f);
	return policy_load(path, p, err, cap);
}

static void test_shipped(void)
{
	struct policy *p = NULL;
	char err[512] = "";
	int rc = policy_load(SRCDIR "/conf/policy.yaml", &p, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	if (rc) {
		printf("# %s\n", err);
		return;
	}
	const char *c, *b, *u;
	CHECK_EQ_INT(policy_campaign_of(p, "+12025550101", &c, &b, &u), 0);
	CHECK_EQ_STR(c, "CACME2FA");
	CHECK_EQ_STR(b, "Acme Bank");
	CHECK_EQ_STR(u, "2FA");
	CHECK_EQ_INT(policy_campaign_of(p, "55512", &c, NULL, NULL), 0);
	CHECK_EQ_STR(c, "CZINGMKT");
	CHECK_EQ_INT(policy_campaign_of(p, "+19995550101", &c, NULL, NULL), -1);
	/* references: the last unref frees (ASan reports a leak otherwise) */
	CHECK(policy_ref(p) == p);
	policy_unref(p);
	policy_unref(p);
	policy_unref(NULL);
}

static void test_minimal(void)
{
	struct policy *p = NULL;
	char err[512] = "";
	CHECK_EQ_INT(load_text(BASE, &p, err, sizeof(err)), 0);
	policy_unref(p);
}

struct bad {
	const char *yaml;
	const char *want;         /* substring of the error */
};

static const struct bad bad_cases[] = {
	{ BASE "bogus: 1\n", ":10: unknown key \"bogus\" at the top level" },
	{ "brands:\n  - name: B\n    colour: red\n", ":3: unknown key \"colour\" in brand" },
	{ BASE "segment_limit: [1]\n", ":10: expected a number, got a list" },
	{ BASE "segment_limit: 0\n", ":10: 0 is out of range 1..255" },
	{ BASE "segment_limit: six\n", ":10: expected a whole number" },
	{ BASE "  - id: C1\n    brand: B\n    status: approved\n"
	  "    use_case: 2FA\n    numbers: [\"+12025550102\"]\n",
	  ":10: campaign id \"C1\" used twice" },
	{ BASE "  - id: C2\n    brand: B\n    status: approved\n"
	  "    use_case: 2FA\n    numbers: [\"12025550101\"]\n",
	  ":14: number 12025550101 is already registered to campaign \"C1\"" },
	{ BASE "  - id: C2\n    brand: Nobody\n", ":11: unknown brand \"Nobody\"" },
	{ BASE "content:\n  regexes:\n    - name: r\n      pattern: \"(unclosed\"\n",
	  ":13: bad regex \"(unclosed\": " },
	{ BASE "quiet_hours:\n  default: \"21:00-08:00\"\n", ":11: bad time window \"21:00-08:00\"" },
	{ BASE "quiet_hours:\n  default: 8am-9pm\n", ":11: bad time window \"8am-9pm\"" },
	{ BASE "quiet_hours:\n  states:\n    FL: \"08:00-25:00\"\n", ":12: bad time window" },
	{ BASE "quiet_hours:\n  states:\n    Florida: \"08:00-20:00\"\n", ":12: bad state code \"Florida\"" },
	{ BASE "quiet_hours:\n  states:\n    AL: {hours: \"08:00-21:00\", days: [sunday]}\n",
	  ":12: bad weekday \"sunday\"" },
	{ BASE "monitors:\n  - name: m\n    metric: errors\n    window: 1h\n"
	  "    min_volume: 10\n    threshold: 150%\n    action: alert\n",
	  ":15: bad percentage \"150%\"" },
	{ BASE "monitors:\n  - name: m\n    metric: errors\n    window: 1h\n"
	  "    min_volume: 10\n    threshold: 8\n    action: alert\n",
	  ":15: bad percentage \"8\"" },
	{ BASE "monitors:\n  - name: m\n    metric: errors\n    window: 10s\n",
	  ":13: monitor window must be at least" },
	{ BASE "monitors:\n  - name: m\n    metric: bounces\n", ":12: bad monitor metric \"bounces\"" },
	{ BASE "frequency_caps:\n  - name: f\n    max: 3\n    window: 24 hours\n",
	  ":13: bad duration \"24 hours\"" },
	{ BASE "frequency_caps:\n  - name: f\n    max: 3\n", ":11: frequency cap lacks \"window\"" },
	{ "brands:\n  - name: B\n    sender_prefix: \"B: \"\ncampaigns:\n  - id: C1\n"
	  "    brand: B\n    status: live\n", ":7: bad campaign status \"live\"" },
	{ "brands:\n  - name: B\n    sender_prefix: \"B: \"\ncampaigns:\n  - id: C1\n"
	  "    brand: B\n    status: approved\n    use_case: PROMO\n",
	  ":8: bad use case \"PROMO\"" },
	{ "brands:\n  - name: B\n    sender_prefix: \"B: \"\ncampaigns:\n  - id: C1\n"
	  "    brand: B\n    status: approved\n    use_case: 2FA\n"
	  "    numbers: [\"+442071234567\"]\n", ":9: bad number \"+442071234567\"" },
	{ "brands:\n  - name: B\n    sender_prefix: \"B: \"\ncampaigns:\n  - id: C1\n"
	  "    brand: B\n    status: approved\n    use_case: 2FA\n",
	  ":5: campaign lacks \"numbers\"" },
	{ "brands:\n  - name: B\n    sender_prefix: \"B: \"\ncampaigns:\n  - id: C1\n"
	  "    id: C2\n", ":6: key \"id\" repeated in campaign" },
	{ "brands:\n  - name: B\n    sender_prefix: \"B: \"\ncampaigns:\n  - id: C1\n"
	  "    brand: B\n    status: approved\n    use_case: MARKETING\n"
	  "    numbers: [\"+12025550101\"]\n    footer: {mode: never}\n",
	  ":5: campaign \"C1\" is MARKETING: its footer mode must be always" },
	{ "brands:\n  - name: B\n    sender_prefix: \"B: \"\ncampaigns:\n  - id: C1\n"
	  "    brand: B\n    status: approved\n    use_case: 2FA\n"
	  "    numbers: [\"+12025550101\"]\n    consent_required: maybe\n",
	  ":10: bad boolean \"maybe\"" },
	{ "brands:\n  - name: B\n    sender_prefix: \"B: \"\n  - name: B\n"
	  "    sender_prefix: \"B: \"\n",
	  ":4: brand \"B\" defined twice" },
	{ "brands:\n  - name: B\n    add_prefix: yes\n",
	  ":2: brand \"B\" adds a sender prefix but has no sender_prefix" },
	{ BASE "keywords:\n  opt_out:\n    words: [STOP, \"STOP ALL\", STOPALL]\n  help:\n    words: [HELP, \"Stop!\"]\n",
	  ":14: keyword \"Stop!\" is already an opt-out keyword" },
	{ BASE "keywords:\n  help:\n    words: [HELP]\n", ":11: keywords lacks \"opt_out\"" },
	{ BASE "hooks:\n  - name: h\n    address: /run/x.sock\n",
	  ":12: bad hook address \"/run/x.sock\"" },
	{ BASE "content:\n  url_shorteners: [\"bit ly\"]\n", ":11: bad host name \"bit ly\"" },
	{ BASE "content:\n  lexicons:\n    - name: a\n      words: [beer]\n"
	  "    - name: b\n      words: [Beer]\n", ":15: \"Beer\" is already in lexicon \"a\"" },
	{ BASE "opt_out_scope: everyone\n", ":10: bad opt-out scope \"everyone\"" },
	{ BASE "version: 2\n", ":10: 2 is out of range 1..1" },
	{ BASE "    priority: 9\n", ":10: 9 is out of range 0..7" },
	{ BASE "    weight: 0\n", ":10: 0 is out of range 1..1000" },
	{ BASE "    number_mps: fast\n", ":10: bad rate \"fast\"" },
	{ BASE "    number_mps: 0\n", ":10: bad rate \"0\"" },
	{ BASE "throughput:\n  number_mps:\n    long_code: -1\n", ":12: bad rate \"-1\"" },
	{ BASE "throughput:\n  number_mps:\n    landline: 1\n",
	  ":12: unknown key \"landline\" in number_mps" },
	{ BASE "throughput:\n  per_second: 1\n", ":11: unknown key \"per_second\" in throughput" },
	{ "brands:\n  - name: B\n    add_prefix: no\n    daily_cap_reset: \"24:00\"\n",
	  ":4: bad daily_cap_reset \"24:00\"" },
	{ "brands:\n  - name: B\n    add_prefix: no\n    daily_cap: 0\n",
	  ":4: 0 is out of range 1..100000000" },
	{ BASE "brands: again\n", ":10: key \"brands\" repeated" },
	{ "version: 1\n", ":1: the policy needs \"brands\"" },
	{ "brands:\n  - name: B\n    add_prefix: no\n", ":1: the policy needs \"campaigns\"" },
	{ BASE "quiet_hours: {default: \"08:00-21:00\"\n", ":11: did not find expected" },
	{ "- just\n- a list\n# no number_tables\n", ":1: expected a mapping at the top, got a list" },
	{ BASE "number_tables:\n  timezones: /nonexistent/tz.tsv\n", "/nonexistent/tz.tsv: " },
};

static void test_bad_inputs(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct policy *p = NULL;
		char err[512] = "";
		int rc = load_text(bad_cases[i].yaml, &p, err, sizeof(err));
		int ok = rc == -1 && p == NULL && strstr(err, bad_cases[i].want);
		CHECK(ok);
		if (!ok)
			printf("#   case %zu: rc %d, got \"%s\", want \"...%s...\"\n",
			    i, rc, err, bad_cases[i].want);
		policy_unref(p);
	}
}

static void test_limits(void)
{
	struct policy *p = NULL;
	char err[512] = "";
	struct policy_limits lim;
	int rc = load_text("brands:\n  - name: B\n    add_prefix: no\n"
	    "    daily_cap: 2000\n    daily_cap_reset: \"01:30\"\n"
	    "campaigns:\n"
	    "  - {id: OTP, brand: B, status: approved, use_case: 2FA,\n"
	    "     numbers: [\"+12025550101\", \"+18885550100\", \"55512\"]}\n"
	    "  - {id: MKT, brand: B, status: approved, use_case: MARKETING,\n"
	    "     per_minute: 240, weight: 5, number_mps: 0.5,\n"
	    "     numbers: [\"+12025550102\"]}\n"
	    "  - {id: CARE, brand: B, status: approved, use_case: CUSTOMER_CARE,\n"
	    "     priority: 1, numbers: [\"+12025550103\"]}\n"
	    "throughput:\n  number_mps: {toll_free: 2.5}\n", &p, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	if (rc) {
		printf("# %s\n", err);
		return;
	}
	CHECK_EQ_INT(policy_campaign_limits(p, "OTP", &lim), 0);
	CHECK_EQ_INT(lim.priority, 0);
	CHECK_EQ_INT(lim.weight, 1);
	CHECK_EQ_INT(lim.per_minute, 0);
	CHECK_EQ_STR(lim.brand, "B");
	CHECK_EQ_INT(lim.daily_cap, 2000);
	CHECK_EQ_INT(lim.cap_reset_min, 90);
	CHECK_EQ_INT(policy_campaign_limits(p, "MKT", &lim), 0);
	CHECK_EQ_INT(lim.priority, 4);
	CHECK_EQ_INT(lim.weight, 5);
	CHECK_EQ_INT(lim.per_minute, 240);
	CHECK_EQ_INT(policy_campaign_limits(p, "CARE", &lim), 0);
	CHECK_EQ_INT(lim.priority, 1);
	CHECK_EQ_INT(policy_campaign_limits(p, "NONE", &lim), -1);
	CHECK_EQ_INT(lim.priority, POLICY_PRIORITY_DEFAULT);
	CHECK(lim.brand == NULL && lim.daily_cap == 0 && lim.per_minute == 0);
	CHECK_EQ_INT(policy_campaign_limits(NULL, "OTP", &lim), -1);
	/* by kind, the policy's default overridden, the campaign's own */
	CHECK(policy_number_mps(p, "+12025550101") == 1.0);
	CHECK(policy_number_mps(p, "18885550100") == 2.5);
	CHECK(policy_number_mps(p, "55512") == 100.0);
	CHECK(policy_number_mps(p, "+12025550102") == 0.5);
	CHECK(policy_number_mps(p, "+19995550100") == 0.0);
	CHECK(policy_number_mps(p, "not a number") == 0.0);
	CHECK_EQ_INT(policy_campaign_per_minute(p, "MKT"), 240);
	CHECK_EQ_INT(policy_campaign_per_minute(p, "OTP"), 0);
	policy_unref(p);
}

static void test_bad_table(void)
{
	char tz[256], yaml[1024], err[512] = "";
	struct policy *p = NULL;
	snprintf(tz, sizeof(tz), "%s/tz.tsv", tmpdir);
	FILE *f = fopen(tz, "w");
	fputs("# comment\n1201\tAmerica/New_York\n1202\tMars/Olympus_Mons\n", f);
	fclose(f);
	snprintf(yaml, sizeof(yaml), BASE "number_tables:\n  timezones: tz.tsv\n"
	    "  states: %s/conf/nanp-states.tsv\n", SRCDIR);
	CHECK_EQ_INT(load_text(yaml, &p, err, sizeof(err)), -1);
	CHECK(strstr(err, "tz.tsv:3: zone Mars/Olympus_Mons is not in") != NULL);
}

int main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	RUN(test_shipped);
	RUN(test_minimal);
	RUN(test_bad_inputs);
	RUN(test_bad_table);
	RUN(test_limits);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return unit_done();
}
