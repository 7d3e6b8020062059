/*
 * The check pipeline against conf/policy.yaml and an in-memory lookup:
 * per rule, a message that passes and one refused with the right status
 * and rule.  Also segments, content matching, MO keywords, monitors and
 * the hook protocol.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"
#include "tests/policy/memlookup.h"
#include "tests/unit.h"

static struct policy *pol;
static struct memlookup *mem;
static struct policy_lookup lk;
static char buf[2048];

/* Wed 16 July 2025 16:00 UTC: noon in New York, open everywhere. */
static const int64_t NOON = 1752681600;

#define ACME2FA "+12025550101"
#define ACMEACCT "+12025550111"
#define ZINGMKT "+13125550120"
#define ZINGMIX "+13125550130"
#define NY "+12125550123"

static void fresh(void)
{
	memlookup_free(mem);
	mem = memlookup_new(64);
	memlookup_bind(mem, &lk);
}

static struct policy_verdict check_at(const char *src, const char *dst,
    const char *text, int64_t now)
{
	struct policy_msg m = { "acct", src, dst, text, strlen(text) };
	struct policy_verdict v;
	v.text_buf = buf;
	v.text_cap = sizeof(buf);
	int rc = policy_check(pol, &lk, &m, now, &v);
	if (rc != 0)
		v.action = (enum policy_action)-1;
	return v;
}

static struct policy_verdict check(const char *src, const char *dst,
    const char *text)
{
	return check_at(src, dst, text, NOON);
}

#define EXPECT_REJECT(v, st, r) do { \
	CHECK_EQ_INT((v).action, POLICY_REJECT); \
	CHECK_EQ_INT((v).status, (st)); \
	CHECK_EQ_STR((v).rule, (r)); \
} while (0)

static void test_accept(void)
{
	fresh();
	memlookup_contacted(mem, "Acme Bank", NY);
	struct policy_verdict v = check(ACME2FA, NY, "Your code is 123456");
	CHECK_EQ_INT(v.action, POLICY_ACCEPT);
	CHECK_EQ_INT(v.status, 0);
	CHECK_EQ_STR(v.campaign, "CACME2FA");
	CHECK_EQ_STR(v.brand, "Acme Bank");
	CHECK_EQ_STR(v.use_case, "2FA");
	CHECK_EQ_STR(v.state, "NY");
	CHECK_EQ_INT(v.modified, 0);
	CHECK_EQ_INT(v.segments, 1);
	CHECK_EQ_INT(v.nhooks, 0);
}

static void test_registration(void)
{
	fresh();
	struct policy_verdict v = check("+19995550100", NY, "hi");
	EXPECT_REJECT(v, POLICY_ST_INVSRCADR, "registration");
	v = check(ZINGMIX, NY, "hi");
	EXPECT_REJECT(v, POLICY_ST_CAMPAIGN, "campaign");
	CHECK(strstr(v.reason, "pending") != NULL);
	memlookup_pause(mem, "CACME2FA");
	v = check(ACME2FA, NY, "Your code is 1");
	EXPECT_REJECT(v, POLICY_ST_CAMPAIGN, "campaign");
	CHECK(strstr(v.reason, "paused") != NULL);
	/* the verified toll-free number passes */
	fresh();
	memlookup_contacted(mem, "Acme Bank", NY);
	v = check("+18885550100", NY, "Your code is 1");
	CHECK_EQ_INT(v.action, POLICY_ACCEPT);
}

static void test_optout(void)
{
	fresh();
	memlookup_contacted(mem, "Acme Bank", NY);
	memlookup_optout(mem, "Zing Coffee", NY);
	/* brand scope: another brand's list does not apply */
	struct policy_verdict v = check(ACME2FA, NY, "Your code is 1");
	CHECK_EQ_INT(v.action, POLICY_ACCEPT);
	memlookup_optout(mem, "Acme Bank", NY);
	v = check(ACME2FA, NY, "Your code is 1");
	EXPECT_REJECT(v, POLICY_ST_OPTED_OUT, "opt_out");
}

static void test_consent(void)
{
	fresh();
	struct policy_verdict v = check(ZINGMKT, NY, "Half-price lattes today");
	EXPECT_REJECT(v, POLICY_ST_NO_CONSENT, "consent");
	memlookup_consent(mem, "Zing Coffee", NY);
	v = check(ZINGMKT, NY, "Half-price lattes today");
	CHECK_EQ_INT(v.action, POLICY_ACCEPT);
}

static void test_number(void)
{
	fresh();
	static const char *const bad[] = { "+442071234567", "2125550123",
		"+1212555012", "+11125550123", "+12121550123", "+1212555O123", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct policy_verdict v = check(ACME2FA, bad[i], "code 1");
		EXPECT_REJECT(v, POLICY_ST_INVDSTADR, "number");
	}
	memlookup_contacted(mem, "Acme Bank", "12125550123");
	struct policy_verdict v = check(ACME2FA, "12125550123", "code 1");
	CHECK_EQ_INT(v.action, POLICY_ACCEPT);
}

static void test_line_type(void)
{
	fresh();
	memlookup_contacted(mem, "Acme Bank", NY);
	memlookup_line(mem, NY, POLICY_LINE_MOBILE);
	CHECK_EQ_INT(check(ACME2FA, NY, "code 1").action, POLICY_ACCEPT);
	memlookup_line(mem, NY, POLICY_LINE_LANDLINE);
	struct policy_verdict v = check(ACME2FA, NY, "code 1");
	EXPECT_REJECT(v, POLICY_ST_LINE_TYPE, "line_type");
}

static void test_content(void)
{
	static const struct { const char *text, *rule; } cases[] = {
		{ "Free BEER tonight", "content:shaft" },
		{ "need a Payday   Loan?", "content:high_risk" },
		{ "see https://bit.ly/abc", "content:url_shortener" },
		{ "see bit.ly/abc now", "content:url_shortener" },
		{ "(www.TinyURL.com/x)", "content:url_shortener" },
		{ "go to http://user@is.gd/x.", "content:url_shortener" },
		{ "You are PRE-APPROVED loan holder", "content:regex:loan_offer" },
		{ "please wire $500 today", "content:regex:money_request" },
		{ "buy an Amazon gift card", "content:regex:gift_card" },
	};
	static const char *const fine[] = {
		"Beers-town is not a word we list? no: beersfest", "gunther",
		"see https://acme.example/bit.ly", "notbit.ly is fine",
		"visit example.com/bit.ly/x", "payday is friday; loan approved",
		"e.g. this", "Your code is 1",
	};
	fresh();
	memlookup_contacted(mem, "Acme Bank", NY);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_verdict v = check(ACME2FA, NY, cases[i].text);
		EXPECT_REJECT(v, POLICY_ST_CONTENT, cases[i].rule);
	}
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		struct policy_verdict v = check(ACME2FA, NY, fine[i]);
		CHECK_EQ_INT(v.action, POLICY_ACCEPT);
		if (v.action != POLICY_ACCEPT)
			printf("#   \"%s\": %s %s\n", fine[i], v.rule, v.reason);
	}
}

static void test_segment_counter(void)
{
	char s[400];
	int u;
	memset(s, 'a', sizeof(s));
	CHECK_EQ_INT(policy_segments(s, 160, &u), 1);
	CHECK_EQ_INT(u, 0);
	CHECK_EQ_INT(policy_segments(s, 161, &u), 2);
	CHECK_EQ_INT(policy_segments(s, 306, &u), 2);
	CHECK_EQ_INT(policy_segments(s, 307, &u), 3);
	/* extension characters cost two: 80 x '{' is 160 septets */
	memset(s, '{', 81);
	CHECK_EQ_INT(policy_segments(s, 80, &u), 1);
	CHECK_EQ_INT(policy_segments(s, 81, &u), 2);
	CHECK_EQ_INT(policy_segments("\xe2\x82\xac", 3, &u), 1);  /* euro */
	CHECK_EQ_INT(u, 0);
	CHECK_EQ_INT(policy_segments("caf\xc3\xa9 \xc3\x89t\xc3\xa9", 11, &u), 1);
	CHECK_EQ_INT(u, 0);
	/* one non-GSM character makes the text UCS-2: 70 / 67 units */
	char t[300];
	memset(t, 'a', sizeof(t));
	memcpy(t, "\xc3\xa2", 2);  /* a-circumflex: not GSM */
	CHECK_EQ_INT(policy_segments(t, 71, &u), 1);   /* 70 characters */
	CHECK_EQ_INT(u, 1);
	CHECK_EQ_INT(policy_segments(t, 72, &u), 2);
	CHECK_EQ_INT(policy_segments(t, 135, &u), 2);  /* 134 */
	CHECK_EQ_INT(policy_segments(t, 136, &u), 3);
	/* an emoji is two UTF-16 units */
	memcpy(t, "\xf0\x9f\x98\x80", 4);
	CHECK_EQ_INT(policy_segments(t, 72, &u), 1);   /* 2 + 68 = 70 */
	CHECK_EQ_INT(policy_segments(t, 73, &u), 2);   /* 2 + 69 = 71 */
	CHECK_EQ_INT(policy_segments("`", 1, &u), 1);
	CHECK_EQ_INT(u, 1);
}

static void test_segments(void)
{
	fresh();
	memlookup_contacted(mem, "Acme Bank", NY);
	char t[1200];
	memset(t, 'a', sizeof(t));
	t[918] = '\0';  /* 6 x 153 */
	CHECK_EQ_INT(check(ACME2FA, NY, t).action, POLICY_ACCEPT);
	t[918] = 'a';
	t[919] = '\0';
	struct policy_verdict v = check(ACME2FA, NY, t);
	EXPECT_REJECT(v, POLICY_ST_SEGMENTS, "segments");
	/* the added footer pushes a marketing text over the limit */
	memlookup_consent(mem, "Zing Coffee", NY);
	memlookup_contacted(mem, "Zing Coffee", NY);
	t[919] = 'a';
	t[900] = '\0';
	v = check(ZINGMKT, NY, t);
	EXPECT_REJECT(v, POLICY_ST_SEGMENTS, "segments");
	CHECK(strstr(v.reason, "prefix/footer") != NULL);
}

static void test_sender_prefix(void)
{
	fresh();
	struct policy_verdict v = check(ACME2FA, NY, "Your code is 1");
	CHECK_EQ_INT(v.action, POLICY_ACCEPT);
	CHECK_EQ_INT(v.modified, POLICY_MOD_PREFIX);
	CHECK(v.text == buf);
	CHECK_EQ_INT(v.text_len, strlen("Acme Bank: Your code is 1"));
	CHECK(memcmp(v.text, "Acme Bank: Your code is 1", v.text_len) == 0);
	/* already there: left alone */
	v = check(ACME2FA, NY, "ACME BANK: Your code is 1");
	CHECK_EQ_INT(v.modified, 0);
	/* no room: refused rather than sent without it */
	struct policy_msg m = { "a", ACME2FA, NY, "code", 4 };
	v.text_buf = NULL;
	v.text_cap = 0;
	CHECK_EQ_INT(policy_check(pol, &lk, &m, NOON, &v), 0);
	EXPECT_REJECT(v, POLICY_ST_SEGMENTS, "segments");
}

static void test_footer(void)
{
	fresh();
	memlookup_consent(mem, "Zing Coffee", NY);
	memlookup_contacted(mem, "Zing Coffee", NY);
	struct policy_verdict v = check(ZINGMKT, NY, "Lattes half price");
	CHECK_EQ_INT(v.action, POLICY_ACCEPT);
	CHECK_EQ_INT(v.modified, POLICY_MOD_FOOTER);
	CHECK(memcmp(v.text, "Lattes half price\nReply STOP to opt out.",
	    v.text_len) == 0);
	CHECK_EQ_INT(v.nhooks, 0); /* the shipped hook is commented out (test_hook.c) */
	v = check(ZINGMKT, NY, "Lattes half price. Text stop to quit");
	CHECK_EQ_INT(v.modified, 0);
	/* informational: every 30 days */
	memlookup_contacted(mem, "Acme Bank", NY);
	v = check(ACMEACCT, NY, "Your statement is ready");
	CHECK_EQ_INT(v.modified, POLICY_MOD_FOOTER);
	memlookup_footer(mem, "CACMEACCT", NY, NOON - 86400);
	v = check(ACMEACCT, NY, "Your statement is ready");
	CHECK_EQ_INT(v.modified, 0);
	memlookup_footer(mem, "CACMEACCT", NY, NOON - 31 * 86400);
	v = check(ACMEACCT, NY, "Your statement is ready");
	CHECK_EQ_INT(v.modified, POLICY_MOD_FOOTER);
}

static void test_frequency(void)
{
	const char *fl = "+13055550123";
	fresh();
	memlookup_consent(mem, "Zing Coffee", fl);
	memlookup_contacted(mem, "Zing Coffee", fl);
	memlookup_sent(mem, "Zing Coffee", fl, NOON - 20 * 3600);
	memlookup_sent(mem, "Zing Coffee", fl, NOON - 3600);
	struct policy_verdict v = check(ZINGMKT, fl, "Lattes");
	CHECK_EQ_INT(v.action, POLICY_ACCEPT);
	CHECK_EQ_STR(v.state, "FL");
	memlookup_sent(mem, "Zing Coffee", fl, NOON - 60);
	v = check(ZINGMKT, fl, "Lattes");
	CHECK_EQ_INT(v.action, POLICY_DEFER);
	CHECK_EQ_INT(v.status, 0);
	CHECK_EQ_STR(v.rule, "frequency");
	CHECK_EQ_INT(v.defer_until, NOON - 20 * 3600 + 86400 + 1);
	/* released then, it passes: not deferred a second time */
	CHECK_EQ_INT(check_at(ZINGMKT, fl, "Lattes", v.defer_until - 1).action, POLICY_DEFER);
	CHECK_EQ_INT(check_at(ZINGMKT, fl, "Lattes", v.defer_until).action, POLICY_ACCEPT);
	/* not Florida: no cap */
	memlookup_consent(mem, "Zing Coffee", NY);
	for (int i = 0; i < 5; i++)
		memlookup_sent(mem, "Zing Coffee", NY, NOON - 60);
	CHECK_EQ_INT(check(ZINGMKT, NY, "Lattes").action, POLICY_ACCEPT);
	/* 2FA is exempt */
	for (int i = 0; i < 5; i++)
		memlookup_sent(mem, "Acme Bank", fl, NOON - 60);
	CHECK_EQ_INT(check(ACME2FA, fl, "code 1").action, POLICY_ACCEPT);
}

static void test_quiet_hours(void)
{
	fresh();
	memlookup_consent(mem, "Zing Coffee", NY);
	/* 23:00 EDT: marketing waits for the campaign's 09:00 */
	int64_t late = NOON + 11 * 3600;
	struct policy_verdict v = check_at(ZINGMKT, NY, "Lattes", late);
	CHECK_EQ_INT(v.action, POLICY_DEFER);
	CHECK_EQ_INT(v.status, 0);
	CHECK_EQ_STR(v.rule, "quiet_hours");
	CHECK_EQ_INT(v.defer_until, NOON + 86400 - 3 * 3600);
	/* 2FA is exempt; account notifications are not */
	CHECK_EQ_INT(check_at(ACME2FA, NY, "code 1", late).action, POLICY_ACCEPT);
	v = check_at(ACMEACCT, NY, "Balance low", late);
	CHECK_EQ_INT(v.action, POLICY_DEFER);
	CHECK_EQ_INT(v.defer_until, NOON + 86400 - 4 * 3600);
}

static void test_store_failure(void)
{
	fresh();
	memlookup_fail(mem, 1);
	struct policy_verdict v = check(ACME2FA, NY, "code 1");
	CHECK_EQ_INT(v.action, POLICY_DEFER);
	CHECK_EQ_STR(v.rule, "store");
	CHECK_EQ_INT(v.defer_until, NOON + 60);
}

static void test_mo_keywords(void)
{
	static const struct { const char *t; enum policy_mo k; } cases[] = {
		{ "STOP", POLICY_MO_OPTOUT }, { "stop", POLICY_MO_OPTOUT },
		{ " Stop. ", POLICY_MO_OPTOUT }, { "STOP ALL", POLICY_MO_OPTOUT },
		{ "stop-all!", POLICY_MO_OPTOUT }, { "Opt Out", POLICY_MO_OPTOUT },
		{ "unsubscribe", POLICY_MO_OPTOUT }, { "END", POLICY_MO_OPTOUT },
		{ "Revoke", POLICY_MO_OPTOUT }, { "start", POLICY_MO_OPTIN },
		{ "Yes!", POLICY_MO_OPTIN }, { "UNSTOP", POLICY_MO_OPTIN },
		{ "help?", POLICY_MO_HELP }, { "Info", POLICY_MO_HELP },
		{ "please stop", POLICY_MO_NONE }, { "stopped", POLICY_MO_NONE },
		{ "", POLICY_MO_NONE }, { "!!!", POLICY_MO_NONE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_EQ_INT(policy_classify_mo(pol, cases[i].t, strlen(cases[i].t)),
		    cases[i].k);
	const char *r = policy_mo_reply(pol, "Zing Coffee", POLICY_MO_OPTOUT);
	CHECK(r && strncmp(r, "Zing Coffee: you are unsubscribed", 33) == 0);
	r = policy_mo_reply(pol, "Acme Bank", POLICY_MO_OPTOUT);
	CHECK(r && strncmp(r, "You are unsubscribed", 20) == 0);
	r = policy_mo_reply(pol, "Acme Bank", POLICY_MO_HELP);
	CHECK(r && strstr(r, "1-800-555-0100") != NULL);
	CHECK(policy_mo_reply(pol, "Acme Bank", POLICY_MO_NONE) == NULL);
}

static void test_monitors(void)
{
	struct policy_monitor_state st;
	struct policy_monitor_alarm a[8];
	policy_monitor_init(&st);
	int64_t t = NOON;
	/* 200 sent, below min_volume until the 200th */
	for (int i = 0; i < 199; i++)
		CHECK_EQ_INT(policy_monitor_event(pol, &st, POLICY_EV_SENT, t, a, 8), 0);
	for (int i = 0; i < 15; i++)
		policy_monitor_event(pol, &st, POLICY_EV_ERROR, t, a, 8);
	CHECK_EQ_INT(policy_monitor_event(pol, &st, POLICY_EV_SENT, t, a, 8), 0);
	/* 16/200 = 8%: the warning fires once */
	CHECK_EQ_INT(policy_monitor_event(pol, &st, POLICY_EV_ERROR, t, a, 8), 1);
	CHECK_EQ_STR(a[0].monitor, "errors-warn");
	CHECK_EQ_INT(a[0].action, POLICY_MON_ALERT);
	CHECK_EQ_INT(a[0].volume, 200);
	CHECK_EQ_INT(policy_monitor_event(pol, &st, POLICY_EV_ERROR, t, a, 8), 0);
	/* 25/200 = 12.5%: pause */
	int fired = 0;
	for (int i = 0; i < 8; i++)
		fired += policy_monitor_event(pol, &st, POLICY_EV_ERROR, t, a, 8);
	CHECK_EQ_INT(fired, 1);
	CHECK_EQ_STR(a[0].monitor, "errors-pause");
	CHECK_EQ_INT(a[0].action, POLICY_MON_PAUSE);
	/* opt-outs are counted apart, over 24 h from 500 sent: 10 = 2% */
	for (int i = 0; i < 300; i++)
		CHECK_EQ_INT(policy_monitor_event(pol, &st, POLICY_EV_SENT, t, a, 8), 0);
	for (int i = 0; i < 9; i++)
		CHECK_EQ_INT(policy_monitor_event(pol, &st, POLICY_EV_OPTOUT, t, a, 8), 0);
	CHECK_EQ_INT(policy_monitor_event(pol, &st, POLICY_EV_OPTOUT, t, a, 8), 1);
	CHECK_EQ_STR(a[0].monitor, "optouts-warn");
	/* two hours on, the error window has emptied: a new burst needs
	 * the volume again */
	t += 2 * 3600;
	for (int i = 0; i < 50; i++)
		policy_monitor_event(pol, &st, POLICY_EV_SENT, t, a, 8);
	CHECK_EQ_INT(policy_monitor_event(pol, &st, POLICY_EV_ERROR, t, a, 8), 0);
}

static void test_hook_protocol(void)
{
	struct policy_msg m = { "acct", ZINGMKT, NY, "50% off\nnow", 11 };
	struct policy_verdict v = { 0 };
	v.campaign = "CZINGMKT";
	v.brand = "Zing Coffee";
	v.use_case = "MARKETING";
	v.state = "NY";
	v.segments = 1;
	v.text = m.text;
	v.text_len = m.text_len;
	char out[1024];
	int n = policy_hook_request_format(out, sizeof(out), "t-42", &m, &v);
	CHECK(n > 0);
	CHECK(strstr(out, "request=smpp_policy\n") == out);
	CHECK(strstr(out, "\ntoken=t-42\n") != NULL);
	CHECK(strstr(out, "\nrecipient=+12125550123\n") != NULL);
	CHECK(strstr(out, "\ncampaign=CZINGMKT\n") != NULL);
	CHECK(strstr(out, "\ntext=50%25 off%0Anow\n\n") != NULL);
	CHECK_EQ_INT(n, (int)strlen(out));
	CHECK(n >= 2 && out[n - 1] == '\n' && out[n - 2] == '\n');
	CHECK_EQ_INT(policy_hook_request_format(out, 20, "t", &m, &v), -1);

	enum policy_action a;
	char text[64];
	CHECK_EQ_INT(policy_hook_response_parse("action=accept\n\n", 15, &a,
	    text, sizeof(text)), 0);
	CHECK_EQ_INT(a, POLICY_ACCEPT);
	const char *r = "score=97\r\naction=REJECT fraud score 97\r\n\r\n";
	CHECK_EQ_INT(policy_hook_response_parse(r, strlen(r), &a, text,
	    sizeof(text)), 0);
	CHECK_EQ_INT(a, POLICY_REJECT);
	CHECK_EQ_STR(text, "fraud score 97");
	r = "action=defer try later\n";
	CHECK_EQ_INT(policy_hook_response_parse(r, strlen(r), &a, text,
	    sizeof(text)), 0);
	CHECK_EQ_INT(a, POLICY_DEFER);
	r = "action=DUNNO\n\n";
	CHECK_EQ_INT(policy_hook_response_parse(r, strlen(r), &a, text,
	    sizeof(text)), 0);
	CHECK_EQ_INT(a, POLICY_ACCEPT);
	r = "action=maybe\n\n";
	CHECK_EQ_INT(policy_hook_response_parse(r, strlen(r), &a, text,
	    sizeof(text)), -1);
	r = "score=1\n\naction=reject\n";
	CHECK_EQ_INT(policy_hook_response_parse(r, strlen(r), &a, text,
	    sizeof(text)), -1);
	r = "garbage\n\n";
	CHECK_EQ_INT(policy_hook_response_parse(r, strlen(r), &a, text,
	    sizeof(text)), -1);
}

int main(void)
{
	char err[512] = "";
	if (policy_load(SRCDIR "/conf/policy.yaml", &pol, err, sizeof(err))) {
		printf("# %s\n", err);
		return 1;
	}
	RUN(test_accept);
	RUN(test_registration);
	RUN(test_optout);
	RUN(test_consent);
	RUN(test_number);
	RUN(test_line_type);
	RUN(test_content);
	RUN(test_segment_counter);
	RUN(test_segments);
	RUN(test_sender_prefix);
	RUN(test_footer);
	RUN(test_frequency);
	RUN(test_quiet_hours);
	RUN(test_store_failure);
	RUN(test_mo_keywords);
	RUN(test_monitors);
	RUN(test_hook_protocol);
	memlookup_free(mem);
	policy_unref(pol);
	return unit_done();
}
