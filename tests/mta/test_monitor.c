/*
 * mta/monitor over a real temporary store and the shipped
 * conf/policy.yaml (errors-warn: 8% alert, errors-pause: 12.5% pause,
 * optouts-warn: 2% alert, optouts-pause: 3% pause; 200 / 500 minimum
 * volume): thresholds act once, an alert is counted and audited, a pause
 * is in force for the policy (0x402) and persisted, unknown campaigns are
 * ignored, a reset starts over, pause records written behind the
 * module's back are picked up by compliance_pause_refresh(), line types
 * from carrier codes, and the store's attached mode.
 */
#include "mta/monitor.h"
#include "tests/mta/store_fixture.h"
#include "tests/unit.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SMPPD_SOURCE_ROOT
#define SMPPD_SOURCE_ROOT "."
#endif

#define NOW 1781539200LL          /* Monday 2026-06-15 16:00 UTC */
#define ACME_2FA "+12025550101"   /* campaign CACME2FA */

static char dir[256];
static struct store *st;
static struct compliance *cp;
static struct monitors *mon;
static struct policy *pol;

static void route(const struct store_completion *c, void *arg)
{
	(void)arg;
	if (compliance_owns_cookie(cp, c->cookie))
		compliance_completion(cp, c);
}

/* Waits until everything submitted so far has completed. */
static int sync_store(void)
{
	return fixture_sync(st, route, NULL);
}

static struct store *open_store(int attach)
{
	struct store_config cfg = { .path = dir, .map_size = 64 << 20,
	    .node_id = 3, .attach = attach };
	struct store *s = NULL;
	int rc = store_open(&cfg, &s);
	if (rc < 0)
		printf("# store_open: %s\n", store_strerror(rc));
	return s;
}

static void setup(void)
{
	fixture_dir_make(dir, sizeof(dir), "monitor-test");
	st = open_store(0);
	cp = compliance_new(st, NULL);
	mon = monitors_new(cp, st);
}

static void teardown(void)
{
	sync_store();
	monitors_free(mon);
	compliance_free(cp);
	store_close(st);
	mon = NULL;
	cp = NULL;
	st = NULL;
	fixture_dir_clear(dir, 0);
}

static uint32_t check(const char *src, const char *dst)
{
	static char tbuf[1024];
	struct policy_msg m = { .account = "app1", .source = src,
	    .destination = dst, .text = "Your code is 1", .text_len = 14 };
	struct policy_verdict v = { .text_buf = tbuf, .text_cap = sizeof(tbuf) };
	if (policy_check(pol, compliance_lookup(cp), &m, NOW, &v) < 0)
		return 0xffffffffu;
	return v.status;
}

/* n events of one kind; the total number of thresholds crossed */
static int feed(const char *campaign, enum policy_event ev, int n)
{
	int fired = 0;
	for (int i = 0; i < n; i++)
		fired += monitors_event(mon, pol, campaign, ev, NOW);
	return fired;
}

struct audits {
	int pause, resume, alert;
	char reason[STORE_STR_MAX + 1];
};

static int count_audit(const struct store_audit *a, void *arg)
{
	struct audits *c = arg;
	c->pause += strcmp(a->rule, "pause") == 0;
	c->resume += strcmp(a->rule, "resume") == 0;
	if (strcmp(a->rule, "monitor:errors-warn") == 0) {
		c->alert++;
		snprintf(c->reason, sizeof(c->reason), "%s", a->reason);
	}
	return 0;
}

static int64_t alerts(const char *campaign, const char *monitor)
{
	char name[STORE_STR_MAX + 1];
	int64_t v = -1;
	if (monitors_alert_counter(name, sizeof(name), campaign, monitor) == 0)
		store_counter_get(st, name, 0, &v);
	return v;
}

static void test_error_rate(void)
{
	setup();
	CHECK_EQ_INT(feed("CACME2FA", POLICY_EV_SENT, 200), 0);
	CHECK_EQ_INT(feed("CACME2FA", POLICY_EV_ERROR, 15), 0);   /* 7.5% */
	CHECK_EQ_INT(feed("CACME2FA", POLICY_EV_ERROR, 1), 1);    /* 8%: alert */
	CHECK_EQ_INT(feed("CACME2FA", POLICY_EV_ERROR, 8), 0);    /* once */
	CHECK_EQ_INT(compliance_paused(cp, "CACME2FA"), 0);
	CHECK_EQ_INT(check(ACME_2FA, "+12125550100"), 0);
	CHECK_EQ_INT(feed("CACME2FA", POLICY_EV_ERROR, 1), 1);    /* 12.5%: pause */
	CHECK_EQ_INT(compliance_paused(cp, "CACME2FA"), 1);
	/* the policy's lookup sees it: new submits get 0x402 */
	CHECK_EQ_INT(check(ACME_2FA, "+12125550100"), 0x402);
	/* opt-outs are other monitors: nothing fires for them yet */
	CHECK_EQ_INT(feed("CACME2FA", POLICY_EV_OPTOUT, 3), 0);
	CHECK_EQ_INT(sync_store(), 0);
	CHECK_EQ_INT(alerts("CACME2FA", "errors-warn"), 1);
	CHECK_EQ_INT(alerts("CACME2FA", "errors-pause"), 0);    /* pause: no count */
	int paused = 0;
	int64_t since = 0;
	CHECK_EQ_INT(compliance_pause_get(cp, "CACME2FA", &paused, &since), 1);
	CHECK(paused == 1 && since == NOW);
	struct audits a = { 0 };
	CHECK(store_audit_range(st, NOW * 1000, NOW * 1000 + 1, count_audit, &a) >= 0);
	CHECK_EQ_INT(a.pause, 1);
	CHECK_EQ_INT(a.alert, 1);
	CHECK(strstr(a.reason, "8.00% >= 8.00% of 200 sent") != NULL);
	teardown();
}

static void test_optout_rate_and_scope(void)
{
	setup();
	CHECK_EQ_INT(feed("CZINGMKT", POLICY_EV_SENT, 500), 0);
	CHECK_EQ_INT(feed("CZINGMKT", POLICY_EV_OPTOUT, 9), 0);
	CHECK_EQ_INT(feed("CZINGMKT", POLICY_EV_OPTOUT, 1), 1);   /* 2%: alert */
	CHECK_EQ_INT(feed("CZINGMKT", POLICY_EV_OPTOUT, 5), 1);   /* 3%: pause */
	CHECK_EQ_INT(compliance_paused(cp, "CZINGMKT"), 1);
	CHECK_EQ_INT(compliance_paused(cp, "CACME2FA"), 0);       /* per campaign */
	/* names the policy does not know get no state */
	CHECK_EQ_INT(feed("keyword-replies", POLICY_EV_SENT, 3), 0);
	CHECK_EQ_INT(feed(NULL, POLICY_EV_SENT, 1), 0);
	CHECK_EQ_INT(monitors_campaigns(mon), 1);
	/* a reload starts over: the old errors are forgotten */
	monitors_reset(mon);
	CHECK_EQ_INT(feed("CZINGMKT", POLICY_EV_SENT, 500), 0);
	CHECK_EQ_INT(feed("CZINGMKT", POLICY_EV_OPTOUT, 9), 0);
	/* no policy, or one without monitors: nothing counts */
	CHECK_EQ_INT(monitors_event(mon, NULL, "CZINGMKT", POLICY_EV_OPTOUT, NOW), 0);
	teardown();
}

/* Another process (smppd --resume) writes the record: the daemon's
 * memory follows on refresh, its own unwritten changes are kept. */
static int changes;
static void on_change(const char *campaign, int paused, void *arg)
{
	(void)arg;
	changes++;
	printf("# changed %s -> %d\n", campaign, paused);
}

static void put_pause(const char *campaign, int paused)
{
	/* the layout compliance.h documents: p NUL CAMPAIGN -> [1][paused][time] */
	uint8_t key[64] = "p", v[10] = { 1, (uint8_t)paused };
	size_t kl = 2 + strlen(campaign);
	memcpy(key + 2, campaign, kl - 2);
	struct store_op op = { .kind = STORE_OP_KV_PUT,
	    .u.kv = { .key = key, .klen = kl, .val = v, .vlen = sizeof(v) } };
	store_submit(st, &op, 1);
	sync_store();
}

static void test_refresh(void)
{
	setup();
	CHECK_EQ_INT(compliance_pause(cp, "CACME2FA", 1, NOW), 0);
	CHECK_EQ_INT(sync_store(), 0);
	changes = 0;
	CHECK_EQ_INT(compliance_pause_refresh(cp, on_change, NULL), 0);
	put_pause("CACME2FA", 0);                 /* resumed behind our back */
	CHECK_EQ_INT(compliance_paused(cp, "CACME2FA"), 1);   /* still cached */
	CHECK_EQ_INT(compliance_pause_refresh(cp, on_change, NULL), 1);
	CHECK_EQ_INT(changes, 1);
	CHECK_EQ_INT(compliance_paused(cp, "CACME2FA"), 0);
	CHECK_EQ_INT(check(ACME_2FA, "+12125550100"), 0);
	/* a campaign never looked at is read on its first lookup */
	put_pause("CZINGMKT", 1);
	CHECK_EQ_INT(compliance_paused(cp, "CZINGMKT"), 1);
	/* our own write not yet on disk wins over the store */
	CHECK_EQ_INT(compliance_pause(cp, "CACME2FA", 1, NOW + 1), 0);
	CHECK_EQ_INT(compliance_pause_refresh(cp, on_change, NULL), 0);
	CHECK_EQ_INT(compliance_paused(cp, "CACME2FA"), 1);
	teardown();
}

static void del_pause(const char *campaign)
{
	uint8_t key[64] = "p";
	size_t kl = 2 + strlen(campaign);
	memcpy(key + 2, campaign, kl - 2);
	struct store_op op = { .kind = STORE_OP_KV_DEL,
	    .u.kv = { .key = key, .klen = kl } };
	store_submit(st, &op, 1);
	sync_store();
}

/* A refresh scans the pause records: each campaign met picks up its
 * change, a removed record resumes it, a campaign not met is left for
 * its first lookup. */
static void test_refresh_many(void)
{
	enum { N = 400 };
	char name[32];
	int wrong = 0;
	setup();
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "CMET%03d", i);
		wrong += compliance_paused(cp, name) != 0;
	}
	CHECK_EQ_INT(wrong, 0);
	for (int i = 0; i < N; i += 8) {
		snprintf(name, sizeof(name), "CMET%03d", i);
		put_pause(name, 1);
	}
	changes = 0;
	CHECK_EQ_INT(compliance_pause_refresh(cp, on_change, NULL), N / 8);
	CHECK_EQ_INT(changes, N / 8);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "CMET%03d", i);
		wrong += compliance_paused(cp, name) != (i % 8 == 0);
	}
	CHECK_EQ_INT(wrong, 0);
	for (int i = 0; i < N; i += 80) {
		snprintf(name, sizeof(name), "CMET%03d", i);
		del_pause(name);
	}
	CHECK_EQ_INT(compliance_pause_refresh(cp, on_change, NULL), N / 80);
	CHECK_EQ_INT(compliance_paused(cp, "CMET000"), 0);
	CHECK_EQ_INT(compliance_paused(cp, "CMET008"), 1);
	put_pause("CNOTMET", 1);
	CHECK_EQ_INT(compliance_pause_refresh(cp, on_change, NULL), 0);
	CHECK_EQ_INT(compliance_paused(cp, "CNOTMET"), 1);
	teardown();
}

static void test_line_of(void)
{
	struct config_carrier cc = { .name = "k" };
	cc.landline_errors = (struct config_codes){ { 11, 21 }, 2 };
	cc.unknown_subscriber_errors = (struct config_codes){ { 1 }, 1 };
	cc.unknown_subscriber_statuses = (struct config_codes){ { 0x0B }, 1 };
	cc.landline_statuses = (struct config_codes){ { 0x401 }, 1 };
	CHECK_EQ_INT(monitor_line_of(&cc, 11, 0), POLICY_LINE_LANDLINE);
	CHECK_EQ_INT(monitor_line_of(&cc, 21, 0), POLICY_LINE_LANDLINE);
	CHECK_EQ_INT(monitor_line_of(&cc, 1, 0), POLICY_LINE_INVALID);
	CHECK_EQ_INT(monitor_line_of(&cc, 0x0B, 1), POLICY_LINE_INVALID);
	CHECK_EQ_INT(monitor_line_of(&cc, 0x401, 1), POLICY_LINE_LANDLINE);
	/* separate number spaces: 11 is a landline as a receipt err, an
	 * invalid number as a status (0x0B); 21 and 1 only as receipt errs */
	CHECK_EQ_INT(monitor_line_of(&cc, 11, 1), POLICY_LINE_INVALID);
	CHECK_EQ_INT(monitor_line_of(&cc, 21, 1), POLICY_LINE_UNKNOWN);
	CHECK_EQ_INT(monitor_line_of(&cc, 1, 1), POLICY_LINE_UNKNOWN);
	CHECK_EQ_INT(monitor_line_of(&cc, 0x401, 0), POLICY_LINE_UNKNOWN);
	CHECK_EQ_INT(monitor_line_of(&cc, 0, 0), POLICY_LINE_UNKNOWN);
	CHECK_EQ_INT(monitor_line_of(&cc, 0x45, 1), POLICY_LINE_UNKNOWN);
	CHECK_EQ_INT(monitor_line_of(NULL, 11, 0), POLICY_LINE_UNKNOWN);
	char name[32];
	CHECK_EQ_INT(monitors_alert_counter(name, sizeof(name), "C", "m"), 0);
	CHECK_EQ_STR(name, "monitor_alerts:C:m");
	CHECK_EQ_INT(monitors_alert_counter(name, 8, "C", "m"), -1);
}

/* The attached mode smppd --pause/--resume use beside a running daemon. */
static void test_attach(void)
{
	setup();
	struct store_msg m = { .account = "a", .campaign = "CACME2FA",
	    .lane = "CACME2FA", .src_addr = "12025550101", .dst_addr = "12125550100",
	    .state = STORE_QUEUED, .carrier = "", .carrier_ids = "",
	    .body = (const uint8_t *)"x", .body_len = 1 };
	struct store_op op = { .kind = STORE_OP_ENQUEUE, .u.msg = &m };
	CHECK_EQ_INT(store_submit(st, &op, 1), 0);
	sync_store();
	struct store_msg out[1];
	static uint8_t buf[STORE_MSG_MAX];
	CHECK_EQ_INT(store_claim_due(st, "CACME2FA", INT64_MAX / 2, out, 1, buf,
	    sizeof(buf), NULL), 1);
	sync_store();                             /* now SUBMITTING, "in flight" */
	monitors_free(mon);
	compliance_free(cp);
	store_close(st);

	st = open_store(1);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	cp = compliance_new(st, NULL);
	mon = monitors_new(cp, st);
	CHECK_EQ_INT(store_recovered(st), 0);     /* the owner's, not ours */
	CHECK_EQ_INT(store_submit(st, &op, 1), STORE_EATTACHED);
	CHECK_EQ_INT(store_claim_due(st, "CACME2FA", 0, out, 1, buf, sizeof(buf),
	    NULL), STORE_EATTACHED);
	CHECK_EQ_INT(compliance_pause_why(cp, "CACME2FA", 1, NOW, "by test"), 0);
	CHECK_EQ_INT(sync_store(), 0);
	struct audits a = { 0 };
	CHECK(store_audit_range(st, NOW * 1000, NOW * 1000 + 1, count_audit, &a) >= 0);
	CHECK_EQ_INT(a.pause, 1);
	monitors_free(mon);
	compliance_free(cp);
	store_close(st);

	st = open_store(0);                       /* the owner again */
	CHECK(st != NULL);
	if (st == NULL)
		return;
	cp = compliance_new(st, NULL);
	mon = monitors_new(cp, st);
	CHECK_EQ_INT(store_recovered(st), 1);
	CHECK_EQ_INT(compliance_paused(cp, "CACME2FA"), 1);
	teardown();
}

int main(void)
{
	char err[256];
	if (policy_load(SMPPD_SOURCE_ROOT "/conf/policy.yaml", &pol, err, sizeof(err)) < 0) {
		printf("# policy_load: %s\n", err);
		CHECK(pol != NULL);
		return unit_done();
	}
	RUN(test_error_rate);
	RUN(test_optout_rate_and_scope);
	RUN(test_refresh);
	RUN(test_refresh_many);
	RUN(test_line_of);
	RUN(test_attach);
	policy_unref(pol);
	return unit_done();
}
