/*
 * mta/compliance over a real temporary store and the shipped
 * conf/policy.yaml: an opt-out holds for the very next check (before the
 * writer's completion), after the completion and after a reopen; START
 * clears it; one confirmation per opt-out; consent, frequency caps, line
 * type, pause, audit entries, brand vs global scope, and the dispatcher's
 * compliance_blocked().
 */
#include "mta/compliance.h"
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

/* Monday 2026-06-15 16:00 UTC: noon in New York and Miami. */
#define NOW 1781539200LL

#define ACME_2FA "+12025550101"   /* Acme Bank, 2FA: no consent, no quiet */
#define ACME_ACCT "+12025550111"  /* Acme Bank, account notifications */
#define ZING_MKT "+13125550120"   /* Zing Coffee, marketing, consent */

static char dir[256];
static struct store *st;
static struct compliance *cp;
static struct policy *pol;

static struct store *open_store(void)
{
	struct store_config cfg = { .path = dir, .map_size = 64 << 20,
	    .node_id = 3 };
	struct store *s = NULL;
	int rc = store_open(&cfg, &s);
	if (rc < 0)
		printf("# store_open: %s\n", store_strerror(rc));
	return s;
}

static struct policy *load(const char *path)
{
	char err[256];
	struct policy *p = NULL;
	if (policy_load(path, &p, err, sizeof(err)) < 0)
		printf("# policy_load: %s\n", err);
	return p;
}

static void route(const struct store_completion *c, void *arg)
{
	(void)arg;
	if (compliance_owns_cookie(cp, c->cookie))
		compliance_completion(cp, c);
	else
		printf("# stray completion\n");
}

/* Waits until everything submitted so far has completed and was routed. */
static int sync_store(void)
{
	return fixture_sync(st, route, NULL);
}

static void setup(void)
{
	fixture_dir_make(dir, sizeof(dir), "compliance-test");
	st = open_store();
	cp = compliance_new(st, NULL);
}

static void teardown(void)
{
	sync_store();
	compliance_free(cp);
	store_close(st);
	cp = NULL;
	st = NULL;
	fixture_dir_clear(dir, 0);
}

static char tbuf[1024];

static struct policy_verdict check_at(const struct policy *p,
    const char *src, const char *dst, const char *text, int64_t now)
{
	struct policy_msg m = { .account = "app1", .source = src,
	    .destination = dst, .text = text, .text_len = strlen(text) };
	struct policy_verdict v = { .text_buf = tbuf, .text_cap = sizeof(tbuf) };
	if (policy_check(p, compliance_lookup(cp), &m, now, &v) < 0)
		v.status = 0xffffffffu;
	return v;
}

static uint32_t check(const char *src, const char *dst, const char *text)
{
	return check_at(pol, src, dst, text, NOW).status;
}

static struct compliance_mo_result mo(const struct policy *p,
    const char *from, const char *to, const char *text, int64_t now)
{
	struct compliance_mo_result r;
	int rc = compliance_handle_mo(cp, p, from, to, text, strlen(text), now,
	    &r);
	if (rc < 0)
		printf("# handle_mo: %d\n", rc);
	return r;
}

static void test_stop_at_once(void)
{
	const char *n = "+12125550123";
	struct compliance_stats s0, s1;
	setup();
	CHECK_EQ_INT(check(ACME_2FA, n, "Your code is 123456"), 0);

	struct compliance_mo_result r = mo(pol, n, ACME_2FA, "Stop", NOW);
	CHECK_EQ_INT(r.kind, POLICY_MO_OPTOUT);
	CHECK_EQ_STR(r.brand, "Acme Bank");
	CHECK_EQ_STR(r.campaign, "CACME2FA");
	CHECK(r.reply != NULL);
	CHECK_EQ_INT(r.send_reply, 1);
	CHECK_EQ_INT(r.newly_opted_out, 1);

	/* before any completion is drained: the overlay answers */
	compliance_get_stats(cp, &s0);
	CHECK(s0.overlay_entries > 0);
	CHECK_EQ_INT(check(ACME_2FA, n, "Your code is 123456"), 0x400);
	compliance_get_stats(cp, &s1);
	CHECK(s1.overlay_hits > s0.overlay_hits);
	CHECK_EQ_INT(compliance_blocked(cp, pol, "Acme Bank", n), 1);
	CHECK_EQ_INT(compliance_blocked(cp, pol, "Acme Bank", "12125550123"), 1);
	CHECK_EQ_INT(compliance_blocked(cp, pol, "Zing Coffee", n), 0);

	/* after the completion: the store answers */
	CHECK_EQ_INT(sync_store(), 0);
	compliance_get_stats(cp, &s1);
	CHECK_EQ_INT(s1.overlay_entries, 0);
	CHECK_EQ_INT(s1.write_errors, 0);
	CHECK_EQ_INT(check(ACME_2FA, n, "Your code is 123456"), 0x400);

	/* after a reopen, with a cold cache */
	compliance_free(cp);
	store_close(st);
	st = open_store();
	cp = compliance_new(st, NULL);
	CHECK_EQ_INT(check(ACME_2FA, n, "Your code is 123456"), 0x400);
	CHECK_EQ_INT(check(ACME_ACCT, n, "Balance low"), 0x400);
	/* brand scope: Zing may still write (consent permitting) */
	struct compliance_consent cs = { .brand = "Zing Coffee", .number = n,
	    .time = NOW, .method = COMPLIANCE_WEB_FORM, .who = "web",
	    .purpose = "offers", .evidence = "form 7" };
	CHECK_EQ_INT(compliance_consent_add(cp, &cs), 0);
	CHECK_EQ_INT(check(ZING_MKT, n, "Fresh beans today"), 0);

	/* START clears it, and is recorded as consent by keyword */
	r = mo(pol, n, ACME_2FA, "start", NOW + 60);
	CHECK_EQ_INT(r.kind, POLICY_MO_OPTIN);
	CHECK_EQ_INT(r.send_reply, 1);
	CHECK_EQ_INT(check(ACME_2FA, n, "Your code is 123456"), 0);
	CHECK_EQ_INT(compliance_blocked(cp, pol, "Acme Bank", n), 0);
	struct compliance_consent got;
	char buf[2048];
	CHECK_EQ_INT(compliance_consent_get(cp, "Acme Bank", NULL, n, &got, buf,
	    sizeof(buf)), 1);
	CHECK_EQ_INT(got.method, COMPLIANCE_KEYWORD);
	CHECK_EQ_INT(got.time, NOW + 60);
	CHECK(strstr(got.evidence, "start") != NULL);
	CHECK_EQ_INT(sync_store(), 0);
	CHECK_EQ_INT(check(ACME_2FA, n, "Your code is 123456"), 0);
	teardown();
}

static void test_one_confirmation(void)
{
	const char *n = "+12125550124";
	setup();
	struct compliance_mo_result r = mo(pol, n, ACME_2FA, "STOP", NOW);
	CHECK_EQ_INT(r.send_reply, 1);
	/* a second STOP (before or after the commit) gets no confirmation */
	struct compliance_mo_result r2 = mo(pol, n, ACME_2FA, "unsubscribe",
	    NOW + 1);
	CHECK_EQ_INT(r2.kind, POLICY_MO_OPTOUT);
	CHECK_EQ_INT(r2.send_reply, 0);
	CHECK_EQ_INT(r2.newly_opted_out, 0);
	sync_store();
	r2 = mo(pol, n, ACME_ACCT, "END", NOW + 2);
	CHECK_EQ_INT(r2.send_reply, 0);
	/* the one confirmation goes, once */
	CHECK_EQ_INT(compliance_reply_allowed(cp, "Acme Bank", n, NOW + 10), 1);
	CHECK_EQ_INT(compliance_reply_allowed(cp, "Acme Bank", n, NOW + 11), 0);
	CHECK_EQ_INT(compliance_reply_allowed(cp, "Zing Coffee", n, NOW + 11), 0);

	/* not after five minutes */
	const char *m = "+12125550125";
	r = mo(pol, m, ACME_2FA, "STOP", NOW);
	CHECK_EQ_INT(r.send_reply, 1);
	CHECK_EQ_INT(compliance_reply_allowed(cp, "Acme Bank", m, NOW + 301), 0);

	/* HELP: the brand's help text; not a keyword: nothing */
	r = mo(pol, "+12125550126", ACME_2FA, "help", NOW);
	CHECK_EQ_INT(r.kind, POLICY_MO_HELP);
	CHECK(r.reply && strstr(r.reply, "1-800-555-0100") != NULL);
	r = mo(pol, "+12125550126", ACME_2FA, "please stop the sale", NOW);
	CHECK_EQ_INT(r.kind, POLICY_MO_NONE);
	CHECK(r.reply == NULL);
	CHECK_EQ_INT(r.send_reply, 0);
	teardown();
}

static void test_consent(void)
{
	const char *n = "+12125550130", *m = "+12125550131";
	setup();
	CHECK_EQ_INT(check(ZING_MKT, n, "Fresh beans today"), 0x401);
	struct compliance_consent cs = { .brand = "Zing Coffee", .number = n,
	    .time = NOW - 86400, .method = COMPLIANCE_PAPER, .who = "store 12",
	    .purpose = "weekly offers", .evidence = "scan 2026-06-14/0042" };
	CHECK_EQ_INT(compliance_consent_add(cp, &cs), 0);
	struct policy_verdict v = check_at(pol, ZING_MKT, n,
	    "Fresh beans today", NOW);
	CHECK_EQ_INT(v.status, 0);
	CHECK_EQ_INT(v.action, POLICY_ACCEPT);
	CHECK(v.modified & POLICY_MOD_FOOTER);

	/* consent for one campaign only */
	struct compliance_consent cc = { .brand = "Zing Coffee",
	    .campaign = "CZINGMKT", .number = m, .time = NOW,
	    .method = COMPLIANCE_API, .who = "crm", .purpose = "offers",
	    .evidence = "req 9" };
	CHECK_EQ_INT(check(ZING_MKT, m, "Fresh beans today"), 0x401);
	CHECK_EQ_INT(compliance_consent_add(cp, &cc), 0);
	CHECK_EQ_INT(check(ZING_MKT, m, "Fresh beans today"), 0);
	sync_store();
	CHECK_EQ_INT(check(ZING_MKT, m, "Fresh beans today"), 0);
	char buf[2048];
	struct compliance_consent got;
	CHECK_EQ_INT(compliance_consent_get(cp, "Zing Coffee", "CZINGMKT", m,
	    &got, buf, sizeof(buf)), 1);
	CHECK_EQ_STR(got.who, "crm");
	CHECK_EQ_STR(got.evidence, "req 9");
	CHECK_EQ_STR(got.campaign, "CZINGMKT");
	CHECK_EQ_INT(got.method, COMPLIANCE_API);

	/* revoke: at once, and after the commit */
	CHECK_EQ_INT(compliance_consent_revoke(cp, &cc, NOW), 0);
	CHECK_EQ_INT(check(ZING_MKT, m, "Fresh beans today"), 0x401);
	sync_store();
	CHECK_EQ_INT(check(ZING_MKT, m, "Fresh beans today"), 0x401);
	CHECK_EQ_INT(compliance_consent_get(cp, "Zing Coffee", "CZINGMKT", m,
	    &got, buf, sizeof(buf)), 0);
	teardown();
}

static uint32_t lk_sent(const char *number)
{
	uint32_t count = 0;
	int64_t oldest = 0;
	const struct policy_lookup *lk = compliance_lookup(cp);
	if (lk->sent_since(lk->arg, "Acme Bank", number + 1, 0, &count,
	    &oldest) < 0)
		return UINT32_MAX;
	return count;
}

static void test_frequency_and_contact(void)
{
	const char *fl = "+13055550140";   /* Miami: FL, 3 in 24 h, defer */
	setup();
	struct policy_verdict v = check_at(pol, ACME_ACCT, fl, "Balance low",
	    NOW);
	CHECK_EQ_INT(v.action, POLICY_ACCEPT);
	CHECK(v.modified & POLICY_MOD_PREFIX);    /* first contact */
	for (int i = 0; i < 3; i++) {
		v = check_at(pol, ACME_ACCT, fl, "Balance low", NOW + i * 60);
		CHECK_EQ_INT(v.action, POLICY_ACCEPT);
		CHECK_EQ_INT(compliance_record_send(cp, "Acme Bank", "CACMEACCT",
		    fl, NOW + i * 60, v.record), 0);
		if (i == 1)
			sync_store();
	}
	v = check_at(pol, ACME_ACCT, fl, "Balance low", NOW + 300);
	CHECK(!(v.modified & POLICY_MOD_PREFIX));  /* contacted now */
	CHECK_EQ_INT(v.action, POLICY_DEFER);
	CHECK_EQ_STR(v.rule, "frequency");
	CHECK_EQ_INT(v.defer_until, NOW + 86400 + 1); /* the first send leaves the window */
	sync_store();
	v = check_at(pol, ACME_ACCT, fl, "Balance low", NOW + 300);
	CHECK_EQ_INT(v.action, POLICY_DEFER);
	/* a day after the first send, one slot frees up (policy counts sends
	 * at or after now - window, so the first one counts until +86400) */
	v = check_at(pol, ACME_ACCT, fl, "Balance low", NOW + 86401);
	CHECK_EQ_INT(v.action, POLICY_ACCEPT);

	/* the footer interval (30 days) follows record_send's footer time */
	const char *ny = "+12125550141";
	v = check_at(pol, ACME_ACCT, ny, "Balance low", NOW);
	CHECK(v.modified & POLICY_MOD_FOOTER);
	CHECK_EQ_INT(v.record, POLICY_RECORD_CONTACT | POLICY_RECORD_FOOTER);
	compliance_record_send(cp, "Acme Bank", "CACMEACCT", ny, NOW, v.record);
	v = check_at(pol, ACME_ACCT, ny, "Balance low", NOW + 3600);
	CHECK(!(v.modified & POLICY_MOD_FOOTER));
	/* contacted, no footer due and no cap for NY: nothing to record */
	CHECK(!(v.modified & POLICY_MOD_PREFIX));
	CHECK_EQ_INT(v.record, 0);

	/* 2FA is exempt from the FL cap: its sends are not counted against
	 * the brand's later notifications to the number; the first one still
	 * makes it contacted */
	const char *fl2 = "+13055550142";
	for (int i = 0; i < 5; i++) {
		v = check_at(pol, ACME_2FA, fl2, "Your code is 1", NOW + i);
		CHECK_EQ_INT(v.action, POLICY_ACCEPT);
		CHECK_EQ_INT(v.record, i == 0 ? POLICY_RECORD_CONTACT : 0);
		CHECK_EQ_INT(compliance_record_send(cp, "Acme Bank", "CACME2FA",
		    fl2, NOW + i, v.record), 0);
	}
	sync_store();
	v = check_at(pol, ACME_ACCT, fl2, "Balance low", NOW + 10);
	CHECK_EQ_INT(v.action, POLICY_ACCEPT);
	CHECK(!(v.modified & POLICY_MOD_PREFIX));
	CHECK(v.record & POLICY_RECORD_SEND);
	CHECK_EQ_INT(lk_sent(fl2), 0);

	/* the ring keeps the last 16 sends */
	for (int i = 0; i < 20; i++)
		compliance_record_send(cp, "Acme Bank", "CACMEACCT", ny,
		    NOW + i, POLICY_RECORD_SEND);
	sync_store();
	uint32_t count = 0;
	int64_t oldest = 0;
	const struct policy_lookup *lk = compliance_lookup(cp);
	CHECK_EQ_INT(lk->sent_since(lk->arg, "Acme Bank", "12125550141", 0,
	    &count, &oldest), 0);
	CHECK_EQ_INT(count, COMPLIANCE_SEND_RING);
	CHECK_EQ_INT(oldest, NOW + 4);
	teardown();
}

/* Pause state for thousands of campaigns: the table grows past its first
 * 128 chains and every campaign keeps its own state, from memory and, in
 * a fresh instance, from the store. */
static void test_pause_many_campaigns(void)
{
	enum { N = 3000 };
	char name[32];
	int wrong = 0;
	setup();
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "CMANY%04d", i);
		if (compliance_pause(cp, name, i % 3 == 0, NOW) != 0)
			wrong++;
	}
	CHECK_EQ_INT(wrong, 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "CMANY%04d", i);
		wrong += compliance_paused(cp, name) != (i % 3 == 0);
	}
	CHECK_EQ_INT(wrong, 0);
	sync_store();
	compliance_free(cp);
	cp = compliance_new(st, NULL);
	for (int i = N - 1; i >= 0; i--) {	/* read back in another order */
		snprintf(name, sizeof(name), "CMANY%04d", i);
		wrong += compliance_paused(cp, name) != (i % 3 == 0);
	}
	CHECK_EQ_INT(wrong, 0);
	CHECK_EQ_INT(compliance_paused(cp, "CNEVERSEEN"), 0);
	teardown();
}

static void test_line_type_and_pause(void)
{
	const char *n = "+12125550150";
	setup();
	CHECK_EQ_INT(compliance_set_line_type(cp, n, POLICY_LINE_LANDLINE), 0);
	CHECK_EQ_INT(check(ACME_2FA, n, "Your code is 1"), 0x406);
	/* line type and opt-outs share a record: neither loses the other */
	CHECK_EQ_INT(compliance_opt_out(cp, "Zing Coffee", n, NOW, "admin"), 1);
	sync_store();
	CHECK_EQ_INT(check(ACME_2FA, n, "Your code is 1"), 0x406);
	CHECK_EQ_INT(compliance_set_line_type(cp, n, POLICY_LINE_MOBILE), 0);
	CHECK_EQ_INT(check(ACME_2FA, n, "Your code is 1"), 0);
	CHECK_EQ_INT(compliance_blocked(cp, pol, "Zing Coffee", n), 1);

	CHECK_EQ_INT(compliance_pause(cp, "CACME2FA", 1, NOW), 0);
	CHECK_EQ_INT(check(ACME_2FA, n, "Your code is 1"), 0x402);
	CHECK_EQ_INT(check(ACME_ACCT, n, "Balance low"), 0);
	sync_store();
	/* persisted: a fresh instance reads it from the store */
	compliance_free(cp);
	cp = compliance_new(st, NULL);
	CHECK_EQ_INT(check(ACME_2FA, n, "Your code is 1"), 0x402);
	CHECK_EQ_INT(compliance_pause(cp, "CACME2FA", 0, NOW + 10), 0);
	CHECK_EQ_INT(check(ACME_2FA, n, "Your code is 1"), 0);
	teardown();
}

struct audit_count {
	int optout, optin, help, pause, reject, consent, total;
	int64_t time_ms;
	char recipient[32];
};

static int count_audit(const struct store_audit *a, void *arg)
{
	struct audit_count *c = arg;
	c->total++;
	if (strcmp(a->rule, "keyword:opt_out") == 0) {
		c->optout++;
		c->time_ms = a->time_ms;
		snprintf(c->recipient, sizeof(c->recipient), "%s", a->recipient);
	}
	c->optin += strcmp(a->rule, "keyword:opt_in") == 0;
	c->help += strcmp(a->rule, "keyword:help") == 0;
	c->pause += strcmp(a->rule, "pause") == 0;
	c->reject += strcmp(a->rule, "opt_out") == 0 && a->msg_id == 42;
	c->consent += strcmp(a->rule, "consent_add") == 0;
	return 0;
}

static void test_audit(void)
{
	const char *n = "+12125550160";
	setup();
	mo(pol, n, ACME_2FA, "STOP", NOW);
	mo(pol, n, ACME_2FA, "STOP", NOW + 1);
	mo(pol, n, ACME_2FA, "HELP", NOW + 2);
	mo(pol, n, ACME_2FA, "START", NOW + 3);
	compliance_pause(cp, "CZINGMKT", 1, NOW + 4);
	mo(pol, n, ACME_2FA, "STOP", NOW + 5);
	struct policy_msg m = { .account = "app1", .source = ACME_2FA,
	    .destination = n, .text = "x", .text_len = 1 };
	struct policy_verdict v = check_at(pol, ACME_2FA, n, "x", NOW + 6);
	CHECK_EQ_INT(v.status, 0x400);
	CHECK_EQ_INT(compliance_audit_verdict(cp, NOW + 6, 42, &m, &v), 1);
	/* a plain accept is not audited */
	struct policy_verdict ok = { .action = POLICY_ACCEPT };
	CHECK_EQ_INT(compliance_audit_verdict(cp, NOW, 43, &m, &ok), 0);
	CHECK_EQ_INT(sync_store(), 0);

	struct audit_count ac = { 0 };
	CHECK(store_audit_range(st, NOW * 1000, (NOW + 7) * 1000, count_audit,
	    &ac) >= 0);
	CHECK_EQ_INT(ac.optout, 3);
	CHECK_EQ_INT(ac.optin, 1);
	CHECK_EQ_INT(ac.help, 1);
	CHECK_EQ_INT(ac.pause, 1);
	CHECK_EQ_INT(ac.reject, 1);
	CHECK_EQ_INT(ac.consent, 1);       /* START is consent by keyword */
	CHECK_EQ_INT(ac.time_ms, (NOW + 5) * 1000);
	CHECK_EQ_STR(ac.recipient, "12125550160");
	teardown();
}

/* conf/policy.yaml with opt_out_scope: global, tables by absolute path */
static struct policy *global_policy(void)
{
	char src[512], dst[300], *text;
	snprintf(src, sizeof(src), "%s/conf/policy.yaml", SMPPD_SOURCE_ROOT);
	FILE *f = fopen(src, "r");
	if (f == NULL)
		return NULL;
	text = calloc(1, 1 << 20);
	size_t n = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	text[n] = '\0';
	snprintf(dst, sizeof(dst), "%s/global.yaml", dir);
	f = fopen(dst, "w");
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "opt_out_scope:", 14) == 0)
			fprintf(f, "opt_out_scope: global\n");
		else if (strstr(line, "timezones: nanp-tz.tsv"))
			fprintf(f, "  timezones: %s/conf/nanp-tz.tsv\n",
			    SMPPD_SOURCE_ROOT);
		else if (strstr(line, "states: nanp-states.tsv"))
			fprintf(f, "  states: %s/conf/nanp-states.tsv\n",
			    SMPPD_SOURCE_ROOT);
		else
			fprintf(f, "%s\n", line);
	}
	fclose(f);
	free(text);
	struct policy *p = load(dst);
	unlink(dst);
	return p;
}

static void test_scope(void)
{
	const char *n = "+12125550170", *m = "+12125550171";
	setup();
	struct policy *g = global_policy();
	CHECK(g != NULL);
	if (g == NULL) {
		teardown();
		return;
	}
	CHECK_EQ_INT(policy_optout_global(g), 1);
	CHECK_EQ_INT(policy_optout_global(pol), 0);

	/* brand scope: STOP to Zing leaves Acme alone */
	mo(pol, n, ZING_MKT, "STOP", NOW);
	CHECK_EQ_INT(check(ACME_2FA, n, "code 1"), 0);
	CHECK_EQ_INT(compliance_blocked(cp, pol, "Acme Bank", n), 0);
	/* the same state read under a global-scope policy: opted out */
	CHECK_EQ_INT(check_at(g, ACME_2FA, n, "code 1", NOW).status, 0x400);
	CHECK_EQ_INT(compliance_blocked(cp, g, "Acme Bank", n), 1);

	/* global scope: STOP to Zing stops every brand */
	struct compliance_mo_result r = mo(g, m, ZING_MKT, "STOP", NOW);
	CHECK_EQ_INT(r.send_reply, 1);
	CHECK_EQ_INT(check_at(g, ACME_2FA, m, "code 1", NOW).status, 0x400);
	CHECK_EQ_INT(check(ACME_2FA, m, "code 1"), 0x400);  /* global flag */
	r = mo(g, m, ACME_2FA, "STOP", NOW + 1);
	CHECK_EQ_INT(r.send_reply, 0);                    /* already out */
	sync_store();
	CHECK_EQ_INT(check_at(g, ACME_2FA, m, "code 1", NOW).status, 0x400);
	/* START under global scope clears everything */
	mo(g, m, ACME_2FA, "START", NOW + 2);
	CHECK_EQ_INT(check_at(g, ACME_2FA, m, "code 1", NOW).status, 0);
	CHECK_EQ_INT(check(ACME_2FA, m, "code 1"), 0);

	/* admin global opt-out holds under brand scope too */
	CHECK_EQ_INT(compliance_opt_out(cp, NULL, m, NOW, "admin"), 1);
	CHECK_EQ_INT(compliance_opt_out(cp, "Acme Bank", m, NOW, "admin"), 0);
	CHECK_EQ_INT(check(ACME_2FA, m, "code 1"), 0x400);
	CHECK_EQ_INT(compliance_opt_in(cp, NULL, m, NOW, NULL), 1);
	CHECK_EQ_INT(check(ACME_2FA, m, "code 1"), 0);
	policy_unref(g);
	teardown();
}

/* A keyword to a number no campaign owns is applied to every brand. */
static void test_unknown_owner(void)
{
	const char *n = "+12125550180";
	setup();
	struct compliance_mo_result r = mo(pol, n, "+19995550000", "STOP", NOW);
	CHECK_EQ_INT(r.kind, POLICY_MO_OPTOUT);
	CHECK(r.brand == NULL);
	CHECK_EQ_INT(check(ACME_2FA, n, "code 1"), 0x400);
	CHECK_EQ_INT(check(ZING_MKT, n, "beans"), 0x400);
	teardown();
}

/* Cookies not made by the module are not claimed. */
static void test_cookies(void)
{
	int other;
	setup();
	CHECK_EQ_INT(compliance_owns_cookie(cp, &other), 0);
	CHECK_EQ_INT(compliance_owns_cookie(cp, NULL), 0);
	CHECK_EQ_INT(compliance_owns_cookie(cp, (void *)0x10), 0);
	teardown();
}

/* The send-time check's shortcut: exact for opt-outs after the checks, and
 * conservative for everything it cannot order. */
static void test_optout_since(void)
{
	fixture_dir_make(dir, sizeof(dir), "compliance-test");
	st = open_store();
	struct compliance_config cc = { .recent_bits = 64 };
	cp = compliance_new(st, &cc);
	const char *a = "+12125550160", *b = "+12125550161";
	uint64_t before = store_reserve_id(st);
	/* no policy loaded yet: nothing was checked, always look */
	CHECK_EQ_INT(compliance_optout_since(cp, store_reserve_id(st), a), 1);
	compliance_policy_changed(cp);
	uint64_t checked = store_reserve_id(st);
	CHECK_EQ_INT(compliance_optout_since(cp, checked, a), 0);
	CHECK_EQ_INT(compliance_optout_since(cp, checked, b), 0);
	CHECK_EQ_INT(compliance_optout_since(cp, before, a), 1); /* checked earlier */
	CHECK_EQ_INT(compliance_opt_out(cp, "Acme Bank", a, NOW, "STOP"), 1);
	CHECK_EQ_INT(compliance_optout_since(cp, checked, a), 1);
	CHECK_EQ_INT(compliance_optout_since(cp, store_reserve_id(st), a), 1);
	/* the same number again changes nothing: no new bit */
	CHECK_EQ_INT(compliance_opt_out(cp, "Acme Bank", a, NOW, "STOP"), 0);
	/* 100 numbers opt out: past half of the 64 bits the map starts over,
	 * and what was checked before that is looked up again, whatever its
	 * number's bit */
	char n[16];
	for (unsigned i = 0; i < 100; i++) {
		snprintf(n, sizeof n, "+1313555%04u", i);
		CHECK_EQ_INT(compliance_opt_out(cp, NULL, n, NOW, "STOP"), 1);
	}
	uint64_t fresh = store_reserve_id(st);
	CHECK_EQ_INT(compliance_optout_since(cp, fresh, n), 1);   /* the last one */
	char z[16] = "";
	for (unsigned i = 0; i < 64 && !z[0]; i++) {
		snprintf(n, sizeof n, "+1914555%04u", i);
		if (compliance_optout_since(cp, fresh, n) == 0)
			snprintf(z, sizeof z, "%s", n);
	}
	CHECK(z[0] != 0);                                  /* a clear bit */
	CHECK_EQ_INT(compliance_optout_since(cp, checked, z), 1);
	CHECK_EQ_INT(compliance_optout_since(cp, checked, b), 1);
	teardown();
}

int main(void)
{
	pol = load(SMPPD_SOURCE_ROOT "/conf/policy.yaml");
	if (pol == NULL) {
		CHECK(pol != NULL);
		return unit_done();
	}
	RUN(test_stop_at_once);
	RUN(test_one_confirmation);
	RUN(test_consent);
	RUN(test_frequency_and_contact);
	RUN(test_line_type_and_pause);
	RUN(test_pause_many_campaigns);
	RUN(test_audit);
	RUN(test_scope);
	RUN(test_unknown_owner);
	RUN(test_cookies);
	RUN(test_optout_since);
	policy_unref(pol);
	return unit_done();
}
