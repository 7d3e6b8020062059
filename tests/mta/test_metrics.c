/*
 * mta/metrics: counts events the way the relay reports them and renders
 * the Prometheus text format, checked line by line here and as a whole
 * by tests/integration/promtext.py (strict) and by promtool when it is
 * installed.  A relay is put together from its parts: a configuration
 * with two accounts and two carriers, their run-time state, a real
 * temporary store with queued messages, and the pacing lane registry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "mta/metrics.h"
#include "mta/pacing.h"
#include "mta/relay.h"
#include "policy/policy.h"
#include "smpp/receipt.h"
#include "tests/mta/store_fixture.h"
#include "tests/unit.h"

#ifndef SMPPD_SOURCE_ROOT
#define SMPPD_SOURCE_ROOT "."
#endif

/* The relay's wall clock lives in conn.c, which needs the whole daemon:
 * the real one, without the test offset. */
int64_t relay_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char dir[256];
static struct config cfg;
static struct config_account accounts[2];
static struct config_carrier carriers[2];
static struct account_rt account_rt[2];
static struct carrier_rt carrier_rt[2];
static struct account_rt *account_ptrs[2] = { &account_rt[0], &account_rt[1] };
static struct carrier_rt *carrier_ptrs[2] = { &carrier_rt[0], &carrier_rt[1] };
static struct relay relay;
static struct pacing *lanes;

static void ignore(const struct store_completion *c, void *arg)
{
	(void)c;
	(void)arg;
}

static int enqueue(const char *lane, int64_t due_ms)
{
	static const uint8_t body[] = "code 123456";
	struct store_msg m = {
		.account = "app1", .campaign = lane, .lane = lane, .src_ton = 1, .src_npi = 1,
		.src_addr = "12025550101", .dst_ton = 1, .dst_npi = 1, .dst_addr = "12125550100",
		.segments = 1, .state = STORE_QUEUED, .next_attempt_ms = due_ms,
		.validity_ms = due_ms + 86400000, .carrier = "", .carrier_ids = "",
		.body = body, .body_len = sizeof body - 1,
	};
	struct store_op op = { .kind = STORE_OP_ENQUEUE, .u.msg = &m };
	return store_submit(relay.store, &op, 1);
}

/* What account_rt_new() and carrier_rt_new() do for the relay. */
static void give_slots(void)
{
	for (unsigned i = 0; i < 2; i++) {
		account_rt[i].metrics_slot = metrics_account_slot(relay.metrics, accounts[i].system_id);
		carrier_rt[i].metrics_slot = metrics_carrier_slot(relay.metrics, carriers[i].name);
	}
}

static void setup(void)
{
	accounts[0].system_id = "app1";
	accounts[1].system_id = "odd\"name\\with\nnewline";
	carriers[0].name = "sim";
	carriers[1].name = "backup";
	cfg.accounts = accounts;
	cfg.n_accounts = 2;
	cfg.carriers = carriers;
	cfg.n_carriers = 2;
	for (unsigned i = 0; i < 2; i++) {
		account_rt[i] = (struct account_rt){ .cfg = &accounts[i], .index = i };
		carrier_rt[i] = (struct carrier_rt){ .cfg = &carriers[i], .index = i, .n_slots = 2 };
	}
	account_rt[0].binds = 3;
	carrier_rt[0].bound = 2;
	carrier_rt[1].bound = 0;
	relay.cfg = &cfg;
	relay.accounts = account_ptrs;
	relay.carriers = carrier_ptrs;
	fixture_dir_make(dir, sizeof dir, "smppd-metrics");
	struct store_config sc = { .path = dir, .map_size = 16 << 20, .node_id = 1 };
	int rc = store_open(&sc, &relay.store);
	if (rc != 0) {
		printf("# store_open: %s\n", store_strerror(rc));
		exit(1);
	}
	lanes = pacing_new(relay.store, 0);
	relay.metrics = metrics_new(2, 2);
	if (!lanes || !relay.metrics) {
		printf("# out of memory\n");
		exit(1);
	}
	give_slots();
}

static void teardown(void)
{
	metrics_free(relay.metrics);
	pacing_free(lanes);
	store_close(relay.store);
	fixture_dir_clear(dir, 0);
}

/* The whole exposition as a string (static, replaced by the next call). */
static const char *render(void)
{
	static char *text;
	free(text);
	text = NULL;
	struct evbuffer *b = evbuffer_new();
	if (!b)
		return "";
	int rc = metrics_render(&relay, b);
	size_t n = evbuffer_get_length(b);
	text = malloc(n + 1);
	if (text) {
		evbuffer_copyout(b, text, n);
		text[n] = 0;
	}
	evbuffer_free(b);
	return rc == 0 && text ? text : "";
}

/* 1 if the text holds exactly this line. */
static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static int count_prefix(const char *text, const char *prefix)
{
	int n = 0;
	size_t len = strlen(prefix);
	for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
		if (strncmp(p, prefix, len) == 0)
			n++;
		if (!strchr(p, '\n'))
			break;
	}
	return n;
}

/* Nothing counted yet: every family is there, the fixed series at 0. */
static void test_empty(void)
{
	const char *t = render();
	CHECK(has_line(t, "# TYPE smppd_upstream_submits_total counter"));
	CHECK(has_line(t, "smppd_upstream_submits_total{account=\"app1\",status=\"0x00000000\"} 0"));
	CHECK(has_line(t, "smppd_policy_rejects_total{rule=\"content\"} 0"));
	CHECK(has_line(t, "smppd_carrier_submits_total{carrier=\"sim\"} 0"));
	CHECK(has_line(t, "smppd_carrier_response_seconds_bucket{carrier=\"sim\",le=\"+Inf\"} 0"));
	CHECK(has_line(t, "smppd_carrier_response_seconds_count{carrier=\"backup\"} 0"));
	CHECK(has_line(t, "# TYPE smppd_store_commit_seconds histogram"));
	CHECK(has_line(t, "smppd_store_map_size_bytes 16777216"));
	CHECK(has_line(t, "smppd_upstream_binds{account=\"app1\"} 3"));
	CHECK(has_line(t, "smppd_carrier_binds{carrier=\"sim\",state=\"bound\"} 2"));
	CHECK(has_line(t, "smppd_carrier_binds{carrier=\"backup\",state=\"down\"} 2"));
	/* without lanes, per-campaign events are campaign "none" */
	metrics_final(relay.metrics, "C1", STORE_DELIVERED);
	t = render();
	CHECK(has_line(t, "smppd_messages_final_total{campaign=\"none\",state=\"delivered\"} 1"));
	metrics_free(relay.metrics);
	relay.metrics = metrics_new(2, 2);
	give_slots();
	metrics_use_lanes(relay.metrics, lanes);
}

static void test_upstream(void)
{
	struct metrics *m = relay.metrics;
	for (int i = 0; i < 5; i++)
		metrics_submit(m, &account_rt[0], SMPP_SUBMIT_SM, SMPP_ESME_ROK);
	metrics_submit(m, &account_rt[0], SMPP_DATA_SM, SMPP_ESME_ROK);
	metrics_submit(m, &account_rt[0], SMPP_SUBMIT_MULTI, SMPP_ESME_ROK);
	metrics_submit(m, &account_rt[0], SMPP_SUBMIT_SM, POLICY_ST_OPTED_OUT);
	metrics_submit(m, &account_rt[0], SMPP_SUBMIT_SM, 0x12345); /* unknown */
	metrics_submit(m, &account_rt[0], SMPP_SUBMIT_SM, 0x1ff);   /* unknown */
	metrics_submit(m, &account_rt[0], SMPP_QUERY_SM, SMPP_ESME_ROK); /* not a submit */
	metrics_submit(m, &account_rt[1], SMPP_SUBMIT_SM, SMPP_ESME_RTHROTTLED);
	metrics_submit(m, NULL, SMPP_SUBMIT_SM, SMPP_ESME_ROK);  /* not bound: ignored */
	struct account_rt added = { .cfg = &accounts[0], .metrics_slot = METRICS_NO_SLOT };
	metrics_submit(m, &added, SMPP_SUBMIT_SM, SMPP_ESME_ROK);
	metrics_submit(NULL, &account_rt[0], SMPP_SUBMIT_SM, SMPP_ESME_ROK);
	metrics_submit_ack(m, &account_rt[0], 400);       /* <= 0.5 ms */
	metrics_submit_ack(m, &account_rt[0], 7000);      /* <= 7.5 ms */
	metrics_submit_ack(m, &account_rt[0], 10000);     /* <= 10 ms: bounds are inclusive */
	metrics_submit_ack(m, &account_rt[0], 10001);     /* <= 15 ms */
	metrics_submit_ack(m, &account_rt[1], 20000000);  /* +Inf */
	metrics_submit_ack(m, &added, 1000);              /* no slot: ignored */
	metrics_submit_ack(m, NULL, 1000);
	metrics_submit_ack(NULL, &account_rt[0], 1000);

	struct policy_verdict v = { .action = POLICY_REJECT, .rule = "content:shaft" };
	metrics_policy(m, &v);
	v.rule = "hook:fraud";
	metrics_policy(m, &v);
	v.rule = "registration";
	metrics_policy(m, &v);
	v.rule = "something-new";
	metrics_policy(m, &v);
	v.rule = NULL;
	metrics_policy(m, &v);
	v = (struct policy_verdict){ .action = POLICY_DEFER, .rule = "quiet_hours" };
	metrics_policy(m, &v);
	v.action = POLICY_ACCEPT;
	metrics_policy(m, &v);   /* an accept is not counted */
	metrics_policy_rule(m, 1, "account");

	const char *t = render();
	CHECK(has_line(t, "smppd_upstream_submits_total{account=\"app1\",status=\"0x00000000\"} 7"));
	CHECK(has_line(t, "smppd_upstream_submits_total{account=\"app1\",status=\"0x00000400\"} 1"));
	CHECK(has_line(t, "smppd_upstream_submits_total{account=\"app1\",status=\"other\"} 2"));
	/* label values escaped as the format says: \" \\ \n */
	CHECK(has_line(t, "smppd_upstream_submits_total{account=\"odd\\\"name\\\\with\\nnewline\","
	    "status=\"0x00000058\"} 1"));
	CHECK_EQ_INT(count_prefix(t, "smppd_upstream_submits_total{"), 5);
	CHECK(has_line(t, "smppd_policy_rejects_total{rule=\"content\"} 1"));
	CHECK(has_line(t, "smppd_policy_rejects_total{rule=\"hook\"} 1"));
	CHECK(has_line(t, "smppd_policy_rejects_total{rule=\"registration\"} 1"));
	CHECK(has_line(t, "smppd_policy_rejects_total{rule=\"account\"} 1"));
	CHECK(has_line(t, "smppd_policy_rejects_total{rule=\"other\"} 2"));
	CHECK(has_line(t, "smppd_policy_defers_total{rule=\"quiet_hours\"} 1"));
	CHECK(has_line(t, "smppd_policy_defers_total{rule=\"content\"} 0"));
	CHECK(has_line(t, "# TYPE smppd_upstream_ack_seconds histogram"));
	CHECK(has_line(t, "smppd_upstream_ack_seconds_bucket{account=\"app1\",le=\"0.0005\"} 1"));
	CHECK(has_line(t, "smppd_upstream_ack_seconds_bucket{account=\"app1\",le=\"0.005\"} 1"));
	CHECK(has_line(t, "smppd_upstream_ack_seconds_bucket{account=\"app1\",le=\"0.0075\"} 2"));
	CHECK(has_line(t, "smppd_upstream_ack_seconds_bucket{account=\"app1\",le=\"0.01\"} 3"));
	CHECK(has_line(t, "smppd_upstream_ack_seconds_bucket{account=\"app1\",le=\"0.015\"} 4"));
	CHECK(has_line(t, "smppd_upstream_ack_seconds_bucket{account=\"app1\",le=\"0.025\"} 4"));
	CHECK(has_line(t, "smppd_upstream_ack_seconds_bucket{account=\"app1\",le=\"+Inf\"} 4"));
	CHECK(has_line(t, "smppd_upstream_ack_seconds_sum{account=\"app1\"} 0.027401"));
	CHECK(has_line(t, "smppd_upstream_ack_seconds_count{account=\"app1\"} 4"));
	CHECK(has_line(t, "smppd_upstream_ack_seconds_bucket{account=\"odd\\\"name\\\\with\\nnewline\",le=\"10\"} 0"));
	CHECK(has_line(t, "smppd_upstream_ack_seconds_bucket{account=\"odd\\\"name\\\\with\\nnewline\",le=\"+Inf\"} 1"));
	CHECK(has_line(t, "smppd_upstream_ack_seconds_count{account=\"odd\\\"name\\\\with\\nnewline\"} 1"));
}

static void test_carriers(void)
{
	struct metrics *m = relay.metrics;
	metrics_carrier_submits(m, &carrier_rt[0], 3);
	metrics_carrier_submits(m, &carrier_rt[0], 1);
	metrics_carrier_response(m, &carrier_rt[0], SMPP_ESME_ROK, 3000);    /* <= 5 ms */
	metrics_carrier_response(m, &carrier_rt[0], SMPP_ESME_ROK, 200000);  /* <= 250 ms */
	metrics_carrier_response(m, &carrier_rt[0], SMPP_ESME_RSUBMITFAIL, 60000000);
	metrics_carrier_response(m, &carrier_rt[0], SMPP_ESME_ROK, 0);
	metrics_carrier_lost(m, &carrier_rt[1]);
	metrics_receipt(m, &carrier_rt[0], SMPP_STAT_DELIVRD);
	metrics_receipt(m, &carrier_rt[0], SMPP_STAT_DELIVRD);
	metrics_receipt(m, &carrier_rt[0], SMPP_STAT_UNDELIV);
	metrics_receipt(m, &carrier_rt[0], 99);  /* not a stat: OTHER */
	metrics_receipt_match(m, &carrier_rt[0], METRICS_MATCH_IN_FLIGHT);
	metrics_receipt_match(m, &carrier_rt[0], METRICS_MATCH_CACHE);
	metrics_receipt_match(m, &carrier_rt[0], METRICS_MATCH_CACHE);
	metrics_receipt_match(m, &carrier_rt[0], METRICS_MATCH_STORE);
	metrics_receipt_match(m, &carrier_rt[1], METRICS_MATCH_UNMATCHED);
	metrics_receipt_match(m, &carrier_rt[1], METRICS_MATCH_COUNT);	/* ignored */
	metrics_mo(m, &carrier_rt[1]);
	metrics_carrier_submits(m, NULL, 1);
	const char *t = render();
	CHECK(has_line(t, "smppd_carrier_submits_total{carrier=\"sim\"} 4"));
	CHECK(has_line(t, "smppd_carrier_submits_total{carrier=\"backup\"} 0"));
	CHECK(has_line(t, "smppd_carrier_responses_total{carrier=\"sim\",status=\"0x00000000\"} 3"));
	CHECK(has_line(t, "smppd_carrier_responses_total{carrier=\"sim\",status=\"0x00000045\"} 1"));
	CHECK(has_line(t, "smppd_carrier_responses_total{carrier=\"backup\",status=\"0x00000000\"} 0"));
	CHECK(has_line(t, "smppd_carrier_response_seconds_bucket{carrier=\"sim\",le=\"0.0005\"} 1"));
	CHECK(has_line(t, "smppd_carrier_response_seconds_bucket{carrier=\"sim\",le=\"0.0025\"} 1"));
	CHECK(has_line(t, "smppd_carrier_response_seconds_bucket{carrier=\"sim\",le=\"0.005\"} 2"));
	CHECK(has_line(t, "smppd_carrier_response_seconds_bucket{carrier=\"sim\",le=\"0.25\"} 3"));
	CHECK(has_line(t, "smppd_carrier_response_seconds_bucket{carrier=\"sim\",le=\"10\"} 3"));
	CHECK(has_line(t, "smppd_carrier_response_seconds_bucket{carrier=\"sim\",le=\"+Inf\"} 4"));
	CHECK(has_line(t, "smppd_carrier_response_seconds_count{carrier=\"sim\"} 4"));
	CHECK(strstr(t, "smppd_carrier_response_seconds_sum{carrier=\"sim\"} 60.2") != NULL);
	CHECK(has_line(t, "smppd_carrier_submits_unanswered_total{carrier=\"backup\"} 1"));
	CHECK(has_line(t, "smppd_receipts_total{carrier=\"sim\",state=\"DELIVRD\"} 2"));
	CHECK(has_line(t, "smppd_receipts_total{carrier=\"sim\",state=\"UNDELIV\"} 1"));
	CHECK(has_line(t, "smppd_receipts_total{carrier=\"sim\",state=\"OTHER\"} 1"));
	CHECK(has_line(t, "smppd_receipt_matches_total{carrier=\"sim\",via=\"in_flight\"} 1"));
	CHECK(has_line(t, "smppd_receipt_matches_total{carrier=\"sim\",via=\"cache\"} 2"));
	CHECK(has_line(t, "smppd_receipt_matches_total{carrier=\"sim\",via=\"store\"} 1"));
	CHECK(has_line(t, "smppd_receipt_matches_total{carrier=\"sim\",via=\"unmatched\"} 0"));
	CHECK(has_line(t, "smppd_receipt_matches_total{carrier=\"backup\",via=\"unmatched\"} 1"));
	CHECK(has_line(t, "smppd_receipt_matches_total{carrier=\"backup\",via=\"store\"} 0"));
	CHECK(has_line(t, "smppd_mo_messages_total{carrier=\"backup\"} 1"));
}

static void test_campaigns(void)
{
	struct metrics *m = relay.metrics;
	struct pacing_lane *otp = pacing_lane(lanes, "OTP", 1);
	metrics_final(m, "OTP", STORE_DELIVERED);
	metrics_final(m, "OTP", STORE_DELIVERED);
	metrics_final(m, "OTP", STORE_UNDELIVERABLE);
	metrics_final(m, "OTP", STORE_SUBMITTED);   /* not final: ignored */
	metrics_final(m, "MKT", STORE_EXPIRED);     /* a lane made on the way */
	metrics_optout(m, "OTP");
	metrics_optout(m, NULL);
	metrics_keyword(m, "OTP", POLICY_MO_OPTOUT);
	metrics_keyword(m, NULL, POLICY_MO_HELP);
	metrics_keyword(m, "OTP", POLICY_MO_NONE);
	metrics_throttle_wait(m, otp->id, METRICS_LIMIT_NUMBER_MPS);
	metrics_throttle_wait(m, otp->id, METRICS_LIMIT_NUMBER_MPS);
	metrics_throttle_wait(m, otp->id, METRICS_LIMIT_BIND_WINDOW);
	metrics_throttle_wait(m, otp->id, METRICS_LIMIT_COUNT);  /* not a limit */
	const char *t = render();
	CHECK(pacing_lane(lanes, "MKT", 0) != NULL);
	CHECK(has_line(t, "smppd_messages_final_total{campaign=\"OTP\",state=\"delivered\"} 2"));
	CHECK(has_line(t, "smppd_messages_final_total{campaign=\"OTP\",state=\"undeliverable\"} 1"));
	CHECK(has_line(t, "smppd_messages_final_total{campaign=\"MKT\",state=\"expired\"} 1"));
	CHECK_EQ_INT(count_prefix(t, "smppd_messages_final_total{"), 3);
	CHECK(has_line(t, "smppd_optouts_total{campaign=\"OTP\"} 1"));
	CHECK(has_line(t, "smppd_optouts_total{campaign=\"none\"} 1"));
	CHECK(has_line(t, "smppd_keyword_events_total{campaign=\"OTP\",keyword=\"opt_out\"} 1"));
	CHECK(has_line(t, "smppd_keyword_events_total{campaign=\"none\",keyword=\"help\"} 1"));
	CHECK_EQ_INT(count_prefix(t, "smppd_keyword_events_total{"), 2);
	CHECK(has_line(t, "smppd_throttle_waits_total{campaign=\"OTP\",limit=\"number_mps\"} 2"));
	CHECK(has_line(t, "smppd_throttle_waits_total{campaign=\"OTP\",limit=\"bind_window\"} 1"));
	CHECK_EQ_INT(count_prefix(t, "smppd_throttle_waits_total{"), 2);
}

/* Queue depth per lane from the store (due now, later) and the lane's
 * staged messages; the store's state counts. */
static void test_queue(void)
{
	int64_t now = relay_wall_ms();
	struct pacing_lane *otp = pacing_lane(lanes, "OTP", 1);
	int rc = 0;
	for (int i = 0; i < 3; i++)
		rc |= enqueue("OTP", now - 1000);
	rc |= enqueue("OTP", now + 3600000);
	rc |= enqueue("MKT", now + 3600000);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(fixture_sync(relay.store, ignore, NULL), 0);
	pacing_stage(otp, 42);
	const char *t = render();
	CHECK(has_line(t, "smppd_queue_messages{campaign=\"OTP\",state=\"due\"} 3"));
	CHECK(has_line(t, "smppd_queue_messages{campaign=\"OTP\",state=\"scheduled\"} 1"));
	CHECK(has_line(t, "smppd_queue_messages{campaign=\"OTP\",state=\"held\"} 1"));
	CHECK(has_line(t, "smppd_queue_messages{campaign=\"MKT\",state=\"due\"} 0"));
	CHECK(has_line(t, "smppd_queue_messages{campaign=\"MKT\",state=\"scheduled\"} 1"));
	CHECK(has_line(t, "smppd_store_messages{state=\"queued\"} 5"));
	CHECK(has_line(t, "smppd_store_messages{state=\"delivered\"} 0"));
	CHECK(strstr(t, "smppd_store_commits_total ") != NULL);
	CHECK(!has_line(t, "smppd_store_commit_seconds_count 0"));
	pacing_staged_pop(otp);
}

/* Past METRICS_CAMPAIGNS_MAX lanes, campaigns count as "other". */
static void test_bounded(void)
{
	char name[32];
	uint32_t last = 0;
	for (int i = 0; i < METRICS_CAMPAIGNS_MAX + 10; i++) {
		snprintf(name, sizeof name, "lane-%d", i);
		struct pacing_lane *l = pacing_lane(lanes, name, 1);
		last = l ? l->id : 0;
	}
	CHECK(last >= METRICS_CAMPAIGNS_MAX);
	metrics_throttle_wait(relay.metrics, last, METRICS_LIMIT_CARRIER_MPS);
	metrics_final(relay.metrics, "lane-1030", STORE_REJECTED);
	metrics_final(relay.metrics, "lane-3", STORE_REJECTED);
	const char *t = render();
	CHECK(has_line(t, "smppd_throttle_waits_total{campaign=\"other\",limit=\"carrier_mps\"} 1"));
	CHECK(has_line(t, "smppd_messages_final_total{campaign=\"other\",state=\"rejected\"} 1"));
	CHECK(has_line(t, "smppd_messages_final_total{campaign=\"lane-3\",state=\"rejected\"} 1"));
	CHECK(has_line(t, "smppd_queue_messages{campaign=\"other\",state=\"due\"} 0"));
	CHECK_EQ_INT(count_prefix(t, "smppd_queue_messages{"), 3 * (METRICS_CAMPAIGNS_MAX + 1));
}

/* The whole text through the strict parser, and promtool when present. */
static void test_format(void)
{
	const char *t = render();
	char path[300], cmd[800];
	snprintf(path, sizeof path, "%s/metrics.txt", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(t, f);
	fclose(f);
	/* their verdicts go to stderr, so that TAP on stdout stays whole */
	fflush(stdout);
	snprintf(cmd, sizeof cmd, "python3 %s/tests/integration/promtext.py < %s > /dev/null",
	    SMPPD_SOURCE_ROOT, path);
	CHECK_EQ_INT(system(cmd), 0);
	if (system("command -v promtool > /dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof cmd, "promtool check metrics < %s 1>&2", path);
		CHECK_EQ_INT(system(cmd), 0);
	} else {
		printf("# promtool not installed: the strict parser alone checked the format\n");
	}
	unlink(path);
}

/* A reload makes new account_rt/carrier_rt structs: the same names keep
 * their slots (and counts), new names get new ones, removed ones keep
 * their counts in the output. */
static void test_reload_slots(void)
{
	struct metrics *m = relay.metrics;
	unsigned app1 = metrics_account_slot(m, "app1");
	CHECK_EQ_INT(app1, account_rt[0].metrics_slot);
	struct account_rt again = { .cfg = &accounts[0], .metrics_slot = app1 };
	metrics_submit(m, &again, SMPP_SUBMIT_SM, SMPP_ESME_ROK);
	unsigned fresh = metrics_account_slot(m, "added-by-reload");
	CHECK(fresh != METRICS_NO_SLOT && fresh != app1);
	for (int i = 0; i < 40; i++) { /* grows past the size metrics_new was given */
		char name[32];
		snprintf(name, sizeof name, "acct%d", i);
		CHECK(metrics_account_slot(m, name) != METRICS_NO_SLOT);
	}
	CHECK_EQ_INT(metrics_account_slot(m, "added-by-reload"), fresh);
	struct account_rt added = { .cfg = &accounts[0], .metrics_slot = fresh };
	metrics_submit(m, &added, SMPP_SUBMIT_SM, SMPP_ESME_RTHROTTLED);
	const char *t = render();
	CHECK(has_line(t, "smppd_upstream_submits_total{account=\"added-by-reload\",status=\"0x00000058\"} 1"));
	CHECK(has_line(t, "smppd_upstream_submits_total{account=\"acct39\",status=\"0x00000000\"} 0"));
	unsigned sim = metrics_carrier_slot(m, "sim");
	CHECK_EQ_INT(sim, carrier_rt[0].metrics_slot);
	CHECK(metrics_carrier_slot(m, "new-carrier") != sim);
	CHECK_EQ_INT(metrics_account_slot(NULL, "x"), METRICS_NO_SLOT);
}

int main(void)
{
	setup();
	RUN(test_empty);
	RUN(test_upstream);
	RUN(test_carriers);
	RUN(test_campaigns);
	RUN(test_queue);
	RUN(test_format);
	RUN(test_bounded);
	RUN(test_reload_slots);
	teardown();
	return unit_done();
}
