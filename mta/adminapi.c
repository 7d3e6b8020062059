/*
 * The admin API's read side (adminapi.h): store and compliance records as
 * JSON, for the daemon's HTTP server and for smppctl on a stopped store.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mta/adminapi.h"
#include "mta/compliance.h"
#include "mta/config.h"
#include "mta/relay.h"
#include "policy/policy.h"

#define LIMIT_DEFAULT 100
#define LIMIT_MAX 10000

int admin_error(struct json_out *j, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_out_free(j);
	json_obj(j);
	json_kstr(j, "error", msg);
	json_obj_end(j);
	return status;
}

void admin_iso_time(int64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, cap, "%lld", (long long)ms);
}

static void ktime(struct json_out *j, const char *key, int64_t ms)
{
	char t[32];
	json_key(j, key);
	if (ms <= 0) {
		json_null(j);
		return;
	}
	admin_iso_time(ms, t, sizeof(t));
	json_str(j, t);
}

/* Digits of a number, '+' and punctuation dropped, for comparing. */
static void digits(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	for (; s && *s && n + 1 < cap; s++)
		if (isdigit((unsigned char)*s))
			out[n++] = *s;
	out[n] = '\0';
}

static int same_number(const char *a, const char *b)
{
	char da[32], db[32];
	digits(a, da, sizeof(da));
	digits(b, db, sizeof(db));
	return strcmp(da, db) == 0;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* "2026-11-28", "2026-11-28T12:30[:15][Z]": Unix seconds, or -1. */
static int64_t parse_date(const char *s)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, used = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3)
		return -1;
	const char *rest = s + used;
	if (*rest == 'T' || *rest == ' ') {
		int n2 = 0;
		if (sscanf(rest + 1, "%2d:%2d%n", &h, &mi, &n2) != 2)
			return -1;
		rest += 1 + n2;
		if (*rest == ':') {
			int n3 = 0;
			if (sscanf(rest + 1, "%2d%n", &sec, &n3) != 1)
				return -1;
			rest += 1 + n3;
		}
	}
	if (*rest == 'Z')
		rest++;
	if (*rest || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60 || y < 1970)
		return -1;
	return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
}

int64_t admin_parse_time(const char *s, int64_t now_ms)
{
	char *end;
	if (!s || !*s)
		return -1;
	long long v = strtoll(s, &end, 10);
	if (isdigit((unsigned char)*s) && v >= 0 && v < 100000000000LL) {
		static const struct { const char *unit; int64_t ms; } units[] = {
			{ "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
		};
		if (*end == '\0' && v > 100000000)
			return (int64_t)v * 1000; /* Unix seconds */
		for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
			if (strcmp(end, units[i].unit) == 0 && v <= 100000 * 86400000LL / units[i].ms)
				return now_ms - (int64_t)v * units[i].ms;
	}
	int64_t t = parse_date(s);
	return t < 0 ? -1 : t * 1000;
}

int admin_audit_matches(const struct store_audit *a, const char *recipient,
    const char *campaign)
{
	if (campaign && strcmp(campaign, a->campaign ? a->campaign : "") != 0)
		return 0;
	return !recipient || same_number(recipient, a->recipient);
}

static const char *param(const struct admin_params *q, const char *name)
{
	const char *v = q && q->get ? q->get(q->arg, name) : NULL;
	return v && *v ? v : NULL;
}

/* limit=N: 1..LIMIT_MAX, default LIMIT_DEFAULT; -1 if bad. */
static long limit_of(const struct admin_params *q)
{
	const char *s = param(q, "limit");
	char *end;
	if (!s)
		return LIMIT_DEFAULT;
	long v = strtol(s, &end, 10);
	return *end || v < 1 || v > LIMIT_MAX ? -1 : v;
}

/* Shared by smppd's operator commands and smppctl (declared in relay.h). */
struct store *opctl_store_attach(const struct config *cfg, size_t max_batch, const char *what)
{
	struct store_config sc = {
		.path = cfg->store.path, .map_size = (size_t)cfg->store.map_size,
		.node_id = (unsigned)cfg->node_id, .max_batch = max_batch, .attach = 1,
	};
	struct store *st = NULL;
	int rc = store_open(&sc, &st);
	if (rc < 0) {
		fprintf(stderr, "smppd: %s: cannot open the store %s: %s\n", what, sc.path,
		    store_strerror(rc));
		return NULL;
	}
	return st;
}

/* ---- status and stats ---- */

struct lanes_out {
	struct store *st;
	struct json_out *j;
	int64_t now_ms;
	int rc;
};

/* A campaign's queue: due now (state queued, or a retry whose time came)
 * and later (deferred by policy or waiting out a retry back-off). */
static int lane_entry(const char *lane, void *arg)
{
	struct lanes_out *l = arg;
	uint64_t due = 0, later = 0;
	int rc = store_lane_depth_due(l->st, lane, l->now_ms, &due, &later);
	if (rc < 0) {
		l->rc = rc;
		return 1;
	}
	json_obj(l->j);
	json_kstr(l->j, "lane", lane);
	json_kuint(l->j, "queued", due + later);
	json_kuint(l->j, "due", due);
	json_kuint(l->j, "later", later);
	json_obj_end(l->j);
	return 0;
}

static void state_counts(struct json_out *j, const uint64_t counts[STORE_STATE_COUNT])
{
	json_obj(j);
	for (int s = 0; s < STORE_STATE_COUNT; s++)
		json_kuint(j, store_state_name((enum store_state)s), counts[s]);
	json_obj_end(j);
}

int admin_status_fields(const struct admin_ctx *x, struct json_out *j)
{
	uint64_t counts[STORE_STATE_COUNT], used = 0, size = 0;
	int rc = store_state_counts(x->st, counts);
	if (rc == 0)
		rc = store_space(x->st, &used, &size);
	if (rc < 0)
		return admin_error(j, 500, "reading the store: %s", store_strerror(rc));
	json_key(j, "states");
	state_counts(j, counts);
	json_key(j, "queue");
	json_arr(j);
	struct lanes_out l = { x->st, j, x->now_ms, 0 };
	rc = store_lanes_list(x->st, lane_entry, &l);
	json_arr_end(j);
	if (rc < 0 || l.rc < 0)
		return admin_error(j, 500, "listing the queue: %s", store_strerror(rc < 0 ? rc : l.rc));
	json_key(j, "store");
	json_obj(j);
	json_kstr(j, "path", x->cfg->store.path);
	json_kuint(j, "used_bytes", used);
	json_kuint(j, "map_bytes", size);
	json_kint(j, "used_percent", size ? (int64_t)(used * 100 / size) : 0);
	json_obj_end(j);
	return 200;
}

int admin_stats(const struct admin_ctx *x, struct json_out *j)
{
	uint64_t counts[STORE_STATE_COUNT];
	struct store_stats ss;
	struct compliance_stats cs;
	int rc = store_state_counts(x->st, counts);
	if (rc < 0)
		return admin_error(j, 500, "reading the store: %s", store_strerror(rc));
	store_get_stats(x->st, &ss);
	compliance_get_stats(x->c, &cs);
	json_obj(j);
	json_key(j, "messages");
	state_counts(j, counts);
	json_key(j, "store");
	json_obj(j);
	json_kuint(j, "commits", ss.commits);
	json_kuint(j, "ops", ss.ops);
	json_kuint(j, "max_batch_seen", ss.max_batch_seen);
	json_kuint(j, "full_retries", ss.full_retries);
	json_kuint(j, "commit_ns", ss.commit_ns);
	json_obj_end(j);
	json_key(j, "compliance");
	json_obj(j);
	json_kuint(j, "store_reads", cs.store_reads);
	json_kuint(j, "cache_hits", cs.cache_hits);
	json_kuint(j, "write_errors", cs.write_errors);
	json_obj_end(j);
	json_obj_end(j);
	return 200;
}

/* ---- messages ---- */

static void hexcode(struct json_out *j, const char *key, uint32_t v)
{
	char t[16];
	snprintf(t, sizeof(t), "0x%08x", v);
	json_kstr(j, key, t);
}

static void message_fields(struct json_out *j, const struct store_msg *m)
{
	char id[STORE_MSGID_LEN + 1];
	store_msgid_format(m->id, id);
	json_kstr(j, "id", id);
	json_kstr(j, "account", m->account);
	json_kstr(j, "campaign", m->campaign);
	json_kstr(j, "lane", m->lane);
	json_kstr(j, "source", m->src_addr);
	json_kstr(j, "destination", m->dst_addr);
	json_kstr(j, "state", store_state_name(m->state));
	json_kint(j, "attempts", m->attempts);
	hexcode(j, "last_error", m->last_error);
	json_kint(j, "segments", m->segments);
	json_kint(j, "body_bytes", (int64_t)m->body_len);
	ktime(j, "created", m->created_ms);
	ktime(j, "updated", m->updated_ms);
	ktime(j, "next_attempt", store_state_is_final(m->state) ? 0 : m->next_attempt_ms);
	ktime(j, "validity", m->validity_ms);
	json_kstr(j, "carrier", m->carrier);
	json_key(j, "carrier_ids");
	json_arr(j);
	const char *cid;
	for (unsigned i = 0; (cid = store_msg_carrier_id(m, i)); i++)
		json_str(j, cid);
	json_arr_end(j);
}

struct msg_filter {
	const char *campaign, *account, *dst;
	int state;                      /* -1: any */
	long limit, n;
	uint64_t last;
	struct json_out *j;
};

static int message_entry(const struct store_msg *m, void *arg)
{
	struct msg_filter *f = arg;
	if ((f->campaign && strcmp(f->campaign, m->campaign)) ||
	    (f->account && strcmp(f->account, m->account)) ||
	    (f->state >= 0 && (int)m->state != f->state) ||
	    (f->dst && !same_number(f->dst, m->dst_addr)))
		return 0;
	if (f->n == f->limit)
		return 1; /* one more exists: the caller pages on */
	json_obj(f->j);
	message_fields(f->j, m);
	json_obj_end(f->j);
	f->n++;
	f->last = m->id;
	return 0;
}

int admin_messages(const struct admin_ctx *x, const struct admin_params *q, struct json_out *j)
{
	struct msg_filter f = { .campaign = param(q, "campaign"), .account = param(q, "account"),
		.dst = param(q, "destination"), .state = -1, .limit = limit_of(q), .j = j };
	const char *state = param(q, "state"), *after = param(q, "after");
	uint64_t from = 0;
	if (f.limit < 0)
		return admin_error(j, 400, "limit: give a number from 1 to %d", LIMIT_MAX);
	if (after && store_msgid_parse(after, &from) < 0)
		return admin_error(j, 400, "after: not a message id: %s", after);
	for (int s = 0; state && s < STORE_STATE_COUNT && f.state < 0; s++)
		if (strcmp(state, store_state_name((enum store_state)s)) == 0)
			f.state = s;
	if (state && f.state < 0)
		return admin_error(j, 400, "state: no state \"%s\" (queued, deferred, submitting, "
		    "submitted, delivered, undeliverable, expired, rejected, cancelled)", state);
	json_obj(j);
	json_key(j, "messages");
	json_arr(j);
	int rc = store_messages_scan(x->st, from, message_entry, &f);
	json_arr_end(j);
	if (rc < 0)
		return admin_error(j, 500, "reading messages: %s", store_strerror(rc));
	json_key(j, "next");
	if (f.n == f.limit) {
		char id[STORE_MSGID_LEN + 1];
		store_msgid_format(f.last, id);
		json_str(j, id);
	} else {
		json_null(j);
	}
	json_obj_end(j);
	return 200;
}

static void audit_fields(struct json_out *j, const struct store_audit *a)
{
	char id[STORE_MSGID_LEN + 1] = "";
	if (a->msg_id)
		store_msgid_format(a->msg_id, id);
	ktime(j, "time", a->time_ms);
	json_kstr(j, "message_id", id);
	json_kstr(j, "account", a->account ? a->account : "");
	json_kstr(j, "campaign", a->campaign ? a->campaign : "");
	json_kstr(j, "recipient", a->recipient ? a->recipient : "");
	json_kstr(j, "rule", a->rule ? a->rule : "");
	json_kstr(j, "reason", a->reason ? a->reason : "");
}

struct of_message {
	uint64_t id;
	const struct store_msg *m;
	struct json_out *j;
};

/* Every audit entry about a stored message names it: the policy's verdict
 * at submit too (upstream.c audits it under the id it reserves).  That
 * entry's time is in whole seconds, so the scan starts a little before the
 * message was made. */
#define AUDIT_BEFORE_MS 2000

static int audit_of_message(const struct store_audit *a, void *arg)
{
	struct of_message *o = arg;
	if (a->msg_id != o->id)
		return 0;
	json_obj(o->j);
	audit_fields(o->j, a);
	json_obj_end(o->j);
	return 0;
}

static int receipt_of_message(uint64_t seq, const void *data, size_t len, void *arg)
{
	struct of_message *o = arg;
	struct dlr d;
	if (dlr_decode(data, len, &d) < 0 || d.kind != DLR_RECEIPT || d.msg_id != o->id)
		return 0;
	json_key(o->j, "pending_receipt");
	json_obj(o->j);
	json_kuint(o->j, "sequence", seq);
	json_kint(o->j, "stat", d.stat);
	hexcode(o->j, "error", d.err);
	ktime(o->j, "done", d.done_ms);
	json_obj_end(o->j);
	return 1;
}

int admin_message(const struct admin_ctx *x, const char *idtext, struct json_out *j)
{
	uint64_t id;
	struct store_msg m;
	static _Thread_local uint8_t buf[STORE_MSG_MAX];
	if (store_msgid_parse(idtext, &id) < 0)
		return admin_error(j, 400, "not a message id: \"%s\" (1 to 16 hex digits)", idtext);
	int rc = store_get_message(x->st, id, &m, buf, sizeof(buf));
	if (rc == -ENOENT)
		return admin_error(j, 404, "no message %s", idtext);
	if (rc < 0)
		return admin_error(j, 500, "reading message %s: %s", idtext, store_strerror(rc));
	json_obj(j);
	message_fields(j, &m);
	json_key(j, "audit");
	json_arr(j);
	/* policy decisions and operator actions naming it, since it was made */
	struct of_message o = { id, &m, j };
	rc = store_audit_range(x->st, m.created_ms - AUDIT_BEFORE_MS, x->now_ms + 60000,
	    audit_of_message, &o);
	json_arr_end(j);
	if (rc == 0)
		rc = store_receipts_list(x->st, m.account, 0, receipt_of_message, &o);
	json_obj_end(j);
	if (rc < 0)
		return admin_error(j, 500, "reading the history of %s: %s", idtext, store_strerror(rc));
	return 200;
}

/* ---- campaigns ---- */

int admin_campaigns(const struct admin_ctx *x, struct json_out *j)
{
	json_obj(j);
	json_key(j, "campaigns");
	json_arr(j);
	const char *id;
	for (unsigned i = 0; x->policy && (id = policy_campaign_id(x->policy, i)); i++) {
		struct policy_limits lim;
		int paused = 0;
		int64_t since = 0;
		uint64_t queued = 0;
		int rc = compliance_pause_get(x->c, id, &paused, &since);
		if (rc >= 0)
			rc = store_lane_depth(x->st, id, &queued);
		if (rc < 0)
			return admin_error(j, 500, "reading campaign %s: %s", id, store_strerror(rc));
		json_obj(j);
		json_kstr(j, "id", id);
		json_kstr(j, "brand", policy_campaign_limits(x->policy, id, &lim) == 0 ? lim.brand : NULL);
		json_kbool(j, "paused", paused);
		ktime(j, paused ? "paused_since" : "resumed_at", since * 1000);
		json_kuint(j, "queued", queued);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
	return 200;
}

/* ---- audit ---- */

struct audit_query {
	const char *recipient, *campaign;
	long limit, n;
	struct json_out *j;
};

static int audit_entry(const struct store_audit *a, void *arg)
{
	struct audit_query *q = arg;
	if (!admin_audit_matches(a, q->recipient, q->campaign))
		return 0;
	if (q->n == q->limit)
		return 1;
	json_obj(q->j);
	audit_fields(q->j, a);
	json_obj_end(q->j);
	q->n++;
	return 0;
}

int admin_audit(const struct admin_ctx *x, const struct admin_params *q, struct json_out *j)
{
	struct audit_query a = { param(q, "recipient"), param(q, "campaign"), limit_of(q), 0, j };
	const char *since = param(q, "since"), *until = param(q, "until");
	int64_t from = x->now_ms - 86400000, to = x->now_ms + 1;
	if (a.limit < 0)
		return admin_error(j, 400, "limit: give a number from 1 to %d", LIMIT_MAX);
	if ((since && (from = admin_parse_time(since, x->now_ms)) < 0) ||
	    (until && (to = admin_parse_time(until, x->now_ms)) < 0))
		return admin_error(j, 400, "%s: bad time \"%s\": give Unix seconds, YYYY-MM-DD, "
		    "YYYY-MM-DDTHH:MM[:SS]Z or a duration back from now (24h, 7d)",
		    since && from < 0 ? "since" : "until", since && from < 0 ? since : until);
	if (to <= from)
		return admin_error(j, 400, "the range ends before it begins");
	json_obj(j);
	json_key(j, "entries");
	json_arr(j);
	int rc = store_audit_range(x->st, from, to, audit_entry, &a);
	json_arr_end(j);
	json_kbool(j, "truncated", a.n == a.limit);
	json_obj_end(j);
	if (rc < 0)
		return admin_error(j, 500, "reading the audit log: %s", store_strerror(rc));
	return 200;
}

/* ---- opt-outs and consent ---- */

struct optout_query {
	const char *number;
	long limit, n;
	char last[32];
	struct json_out *j;
};

static int optout_entry(const char *number, const char *brand, int64_t t, void *arg)
{
	struct optout_query *q = arg;
	if (q->number && !same_number(q->number, number))
		return 0;
	/* a page ends between numbers, so `after` resumes cleanly */
	if (q->n >= q->limit && strcmp(q->last, number) != 0)
		return 1;
	json_obj(q->j);
	json_kstr(q->j, "number", number);
	json_kstr(q->j, "brand", brand);
	ktime(q->j, "time", t * 1000);
	json_obj_end(q->j);
	q->n++;
	snprintf(q->last, sizeof(q->last), "%s", number);
	return 0;
}

int admin_optouts(const struct admin_ctx *x, const struct admin_params *q, struct json_out *j)
{
	struct optout_query o = { .number = param(q, "number"), .limit = limit_of(q), .j = j };
	if (o.limit < 0)
		return admin_error(j, 400, "limit: give a number from 1 to %d", LIMIT_MAX);
	json_obj(j);
	json_key(j, "optouts");
	json_arr(j);
	int rc = compliance_optouts_scan(x->c, param(q, "after"), optout_entry, &o);
	json_arr_end(j);
	json_key(j, "next");
	if (o.n >= o.limit)
		json_str(j, o.last);
	else
		json_null(j);
	json_obj_end(j);
	if (rc < 0)
		return admin_error(j, rc == -EINVAL ? 400 : 500, "reading opt-outs: %s",
		    store_strerror(rc));
	return 200;
}

struct consent_query {
	const char *number, *brand;
	long limit, n;
	char last[2 * STORE_STR_MAX + 1];
	struct json_out *j;
};

static int consent_entry(const struct compliance_consent *r, const char *cursor, void *arg)
{
	struct consent_query *q = arg;
	if ((q->number && !same_number(q->number, r->number)) ||
	    (q->brand && strcmp(q->brand, r->brand)))
		return 0;
	if (q->n == q->limit)
		return 1;
	json_obj(q->j);
	json_kstr(q->j, "number", r->number);
	json_kstr(q->j, "brand", r->brand);
	json_kstr(q->j, "campaign", r->campaign);
	json_kstr(q->j, "method", compliance_method_name(r->method));
	ktime(q->j, "time", r->time * 1000);
	json_kstr(q->j, "who", r->who);
	json_kstr(q->j, "purpose", r->purpose);
	json_kstr(q->j, "evidence", r->evidence);
	json_obj_end(q->j);
	q->n++;
	snprintf(q->last, sizeof(q->last), "%s", cursor);
	return 0;
}

int admin_consents(const struct admin_ctx *x, const struct admin_params *q, struct json_out *j)
{
	struct consent_query c = { param(q, "number"), param(q, "brand"), limit_of(q), 0, "", j };
	if (c.limit < 0)
		return admin_error(j, 400, "limit: give a number from 1 to %d", LIMIT_MAX);
	json_obj(j);
	json_key(j, "consent");
	json_arr(j);
	int rc = compliance_consents_scan(x->c, param(q, "after"), consent_entry, &c);
	json_arr_end(j);
	json_key(j, "next");
	if (c.n == c.limit)
		json_str(j, c.last);
	else
		json_null(j);
	json_obj_end(j);
	if (rc == -EINVAL)
		return admin_error(j, 400, "after: not a cursor from a previous page's next");
	if (rc < 0)
		return admin_error(j, 500, "reading consent: %s", store_strerror(rc));
	return 200;
}
