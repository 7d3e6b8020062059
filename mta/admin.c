/*
 * The admin HTTP API inside smppd (libevent's evhttp), behind smppctl.
 * Resources and examples: docs/admin-api.md.
 *
 * It listens only when the configuration has an admin: section.  Every
 * path but /healthz and /readyz needs "Authorization: Bearer TOKEN" when
 * a token is configured (config refuses a non-loopback address without
 * one); the token is compared in constant time.  TLS when admin.tls is
 * set.  Bodies are capped (413 beyond ADMIN_BODY_MAX): imports come in
 * batches (smppctl streams the CSV and posts 1,000 rows at a time).
 *
 * Reads answer at once from adminapi.c (the same code smppctl runs on a
 * stopped store).  Writes go through the daemon's own paths, so the
 * dispatcher and the compliance overlay stay consistent: message cancel
 * and retry are store operations submitted on the loop, and the answer is
 * sent from their completion (PENDING_ADMIN); opt-outs, consent and
 * pauses go through r->compliance (in force at once) and are answered
 * once a marker submitted after them is committed, i.e. on disk.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "mta/adminapi.h"
#include "mta/compliance.h"
#include "mta/importrow.h"
#include "mta/log.h"
#include "mta/metrics.h"
#include "mta/net.h"
#include "mta/relay.h"
#include "mta/tls.h"
#include "policy/policy.h"

#define ADMIN_BODY_MAX (4u << 20)       /* a batch of 1,000 rows is ~100 KiB */
#define ADMIN_HEADERS_MAX 16384
#define ADMIN_TIMEOUT_S 30
#define ADMIN_ARGS 2

struct admin_server {
	struct evhttp *http;
	struct ssl_ctx_st *tls;
	unsigned char token_hash[SHA256_DIGEST_LENGTH];
	int has_token;
};

/* One request being answered. */
struct areq {
	struct relay *r;
	struct evhttp_request *req;
	struct evkeyvalq query;
	const char *arg[ADMIN_ARGS];    /* the :segments of the route */
	char argbuf[2][256];
	struct json_out j;
};

typedef int route_fn(struct areq *a);

/* methods: a mask of EVHTTP_REQ_*; pattern segments ":x" capture one. */
struct route {
	int methods;
	const char *pattern;
	route_fn *fn;
	int public;                     /* no token needed */
};

/* ---- replies ---- */

static void reply_body(struct evhttp_request *req, int status, const char *type,
    const char *body, size_t len)
{
	struct evbuffer *out = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (!out || evbuffer_add(out, body, len) != 0) {
		evhttp_send_error(req, 500, "out of memory");
	} else {
		static const struct { int code; const char *why; } reasons[] = {
			{ 200, "OK" }, { 400, "Bad Request" }, { 401, "Unauthorized" },
			{ 404, "Not Found" }, { 405, "Method Not Allowed" }, { 409, "Conflict" },
			{ 413, "Payload Too Large" }, { 500, "Internal Server Error" },
			{ 503, "Service Unavailable" },
		};
		const char *why = "Status";
		for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
			if (reasons[i].code == status)
				why = reasons[i].why;
		evhttp_send_reply(req, status, why, out);
	}
	if (out)
		evbuffer_free(out);
}

/* Sends a's JSON with status; a failed writer is a 500. */
static int reply_json(struct areq *a, int status)
{
	size_t len;
	char *body = json_out_take(&a->j, &len);
	if (!body) {
		static const char oom[] = "{\"error\":\"out of memory\"}\n";
		reply_body(a->req, 500, "application/json", oom, sizeof(oom) - 1);
		return 500;
	}
	/* one line per document: pleasant with curl */
	char *nl = realloc(body, len + 2);
	if (nl) {
		body = nl;
		body[len++] = '\n';
	}
	reply_body(a->req, status, "application/json", body, len);
	free(body);
	return status;
}

static int fail(struct areq *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct areq *a, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	admin_error(&a->j, status, "%s", msg);
	return reply_json(a, status);
}

/* ---- reads ---- */

static const char *query_get(void *arg, const char *name)
{
	return evhttp_find_header(arg, name);
}

static struct admin_ctx ctx_of(struct relay *r)
{
	return (struct admin_ctx){ .cfg = r->cfg, .policy = r->policy, .st = r->store,
		.c = r->compliance, .now_ms = relay_wall_ms() };
}

static int get_healthz(struct areq *a)
{
	uint64_t counts[STORE_STATE_COUNT];
	int rc = store_state_counts(a->r->store, counts);
	json_obj(&a->j);
	json_kstr(&a->j, "status", rc == 0 ? "ok" : "store not answering");
	json_obj_end(&a->j);
	return reply_json(a, rc == 0 ? 200 : 503);
}

static int get_readyz(struct areq *a)
{
	struct relay *r = a->r;
	const char *why = r->stopping ? "stopping" : !r->store ? "store not open" :
	    r->n_listeners < r->cfg->n_listeners ? "listeners not up" : NULL;
	json_obj(&a->j);
	json_kstr(&a->j, "status", why ? why : "ready");
	json_obj_end(&a->j);
	return reply_json(a, why ? 503 : 200);
}

/* Prometheus text format (docs/metrics.md); the token is required. */
static int get_metrics(struct areq *a)
{
	struct evbuffer *b = evbuffer_new();
	if (!b || metrics_render(a->r, b) != 0) {
		if (b)
			evbuffer_free(b);
		return fail(a, 500, "out of memory rendering the metrics");
	}
	size_t len = evbuffer_get_length(b);
	reply_body(a->req, 200, METRICS_CONTENT_TYPE, (const char *)evbuffer_pullup(b, -1), len);
	evbuffer_free(b);
	return 200;
}

/* What health.c warns about in the log, as of its last check. */
static void status_health(struct areq *a)
{
	struct relay *r = a->r;
	int64_t now_s = relay_wall_ms() / 1000;
	int down = 0;
	json_key(&a->j, "health");
	json_obj(&a->j);
	json_key(&a->j, "carriers_down");
	json_arr(&a->j);
	for (size_t i = 0; r->carriers && i < r->cfg->n_carriers; i++) {
		const struct carrier_rt *cr = r->carriers[i];
		if (cr->bound > 0 || !cr->down_since)
			continue;
		down = 1;
		json_obj(&a->j);
		json_kstr(&a->j, "name", cr->cfg->name);
		json_kint(&a->j, "for_s", now_s - cr->down_since);
		json_obj_end(&a->j);
	}
	json_arr_end(&a->j);
	json_kbool(&a->j, "store_filling", r->health.store_warned);
	json_kbool(&a->j, "queue_growing", r->health.queue_warned);
	json_kbool(&a->j, "ok", !down && !r->health.store_warned && !r->health.queue_warned);
	json_obj_end(&a->j);
}

static int get_status(struct areq *a)
{
	struct relay *r = a->r;
	struct admin_ctx x = ctx_of(r);
	json_obj(&a->j);
	json_kbool(&a->j, "stopping", r->stopping);
	status_health(a);
	json_key(&a->j, "carriers");
	json_arr(&a->j);
	for (size_t i = 0; r->carriers && i < r->cfg->n_carriers; i++) {
		const struct carrier_rt *cr = r->carriers[i];
		json_obj(&a->j);
		json_kstr(&a->j, "name", cr->cfg->name);
		json_kuint(&a->j, "binds", cr->bound);
		json_kuint(&a->j, "sessions", cr->n_slots);
		json_obj_end(&a->j);
	}
	json_arr_end(&a->j);
	json_key(&a->j, "accounts");
	json_arr(&a->j);
	for (size_t i = 0; i < r->cfg->n_accounts; i++) {
		json_obj(&a->j);
		json_kstr(&a->j, "system_id", r->accounts[i]->cfg->system_id);
		json_kuint(&a->j, "binds", r->accounts[i]->binds);
		json_obj_end(&a->j);
	}
	json_arr_end(&a->j);
	int status = admin_status_fields(&x, &a->j);
	if (status == 200)
		json_obj_end(&a->j);
	return reply_json(a, status);
}

static int get_messages(struct areq *a)
{
	struct admin_ctx x = ctx_of(a->r);
	struct admin_params q = { query_get, &a->query };
	return reply_json(a, admin_messages(&x, &q, &a->j));
}

static int get_message(struct areq *a)
{
	struct admin_ctx x = ctx_of(a->r);
	return reply_json(a, admin_message(&x, a->arg[0], &a->j));
}

static int get_campaigns(struct areq *a)
{
	struct admin_ctx x = ctx_of(a->r);
	return reply_json(a, admin_campaigns(&x, &a->j));
}

static int get_audit(struct areq *a)
{
	struct admin_ctx x = ctx_of(a->r);
	struct admin_params q = { query_get, &a->query };
	return reply_json(a, admin_audit(&x, &q, &a->j));
}

static int get_optouts(struct areq *a)
{
	struct admin_ctx x = ctx_of(a->r);
	struct admin_params q = { query_get, &a->query };
	return reply_json(a, admin_optouts(&x, &q, &a->j));
}

static int get_consent(struct areq *a)
{
	struct admin_ctx x = ctx_of(a->r);
	struct admin_params q = { query_get, &a->query };
	return reply_json(a, admin_consents(&x, &q, &a->j));
}

static int get_stats(struct areq *a)
{
	struct admin_ctx x = ctx_of(a->r);
	return reply_json(a, admin_stats(&x, &a->j));
}

/* ---- writes: answered from their store completion ---- */

enum admin_op { OP_CANCEL = 1, OP_RETRY, OP_SYNC };

/* Hands the request and the prepared answer to a pending whose op the
 * caller submits; the reply goes out from admin_completion(). */
static struct pending *defer_reply(struct areq *a, enum admin_op op)
{
	struct pending *p = pending_get(a->r, PENDING_ADMIN);
	if (!p)
		return NULL;
	p->extra = op;
	p->http = a->req;
	p->reply = json_out_take(&a->j, NULL);
	return p;
}

/* Everything submitted before it is committed when this completes. */
static int reply_when_committed(struct areq *a, const char *counter, int64_t n)
{
	if (a->j.failed)
		return reply_json(a, 500);
	struct pending *p = defer_reply(a, OP_SYNC);
	struct store_op op = { .kind = STORE_OP_COUNTER_ADD, .cookie = p,
		.u.counter = { .name = counter, .window = 0, .delta = n } };
	int rc = p && p->reply ? store_submit(a->r->store, &op, 1) : -ENOMEM;
	if (rc != 0) {
		if (p) {
			free(p->reply);
			pending_put(p);
		}
		return fail(a, 500, "the store did not take it: %s", store_strerror(rc));
	}
	return 0;
}

static int load_message(struct areq *a, struct store_msg *m, void *buf, uint64_t *id)
{
	if (store_msgid_parse(a->arg[0], id) < 0)
		return fail(a, 400, "not a message id: \"%s\" (1 to 16 hex digits)", a->arg[0]);
	int rc = store_get_message(a->r->store, *id, m, buf, STORE_MSG_MAX);
	if (rc == -ENOENT)
		return fail(a, 404, "no message %s", a->arg[0]);
	if (rc < 0)
		return fail(a, 500, "reading message %s: %s", a->arg[0], store_strerror(rc));
	return 0;
}

static int message_op(struct areq *a, enum admin_op kind)
{
	struct store_msg m;
	static uint8_t buf[STORE_MSG_MAX];
	uint64_t id;
	if (load_message(a, &m, buf, &id) != 0)
		return 0;
	if (kind == OP_RETRY && m.state != STORE_QUEUED && m.state != STORE_DEFERRED)
		return fail(a, 409, "message %s is %s: only a queued or deferred message can be "
		    "retried", a->arg[0], store_state_name(m.state));
	char idtext[STORE_MSGID_LEN + 1];
	store_msgid_format(id, idtext);
	json_obj(&a->j);
	json_kstr(&a->j, "id", idtext);
	json_kstr(&a->j, "was", store_state_name(m.state));
	json_obj_end(&a->j); /* the completion adds "done" before the brace */
	struct pending *p = defer_reply(a, kind);
	if (!p || !p->reply) {
		if (p)
			pending_put(p);
		return fail(a, 500, "out of memory");
	}
	struct store_op op = { .kind = kind == OP_CANCEL ? STORE_OP_CANCEL : STORE_OP_MARK,
		.cookie = p, .id = id };
	if (kind == OP_RETRY) {
		int64_t now = relay_wall_ms();
		op.u.mark.state = STORE_QUEUED;
		op.u.mark.due_ms = now;
		op.u.mark.error = m.last_error;
		op.u.mark.no_attempt = 1;
		p->lane = dispatch_lane_name(a->r, m.lane);
		p->due_ms = now;
	}
	int rc = store_submit(a->r->store, &op, 1);
	if (rc != 0) {
		free(p->reply);
		pending_put(p);
		return fail(a, 500, "the store did not take it: %s", store_strerror(rc));
	}
	log_info("admin", "event=%s id=%s was=%s", kind == OP_CANCEL ? "cancel" : "retry", idtext,
	    store_state_name(m.state));
	return 0;
}

static int post_cancel(struct areq *a) { return message_op(a, OP_CANCEL); }
static int post_retry(struct areq *a) { return message_op(a, OP_RETRY); }

void admin_completion(struct relay *r, const struct store_completion *sc)
{
	struct pending *p = sc->cookie;
	char *body = p->reply;
	size_t len = body ? strlen(body) : 0;
	int status = sc->rc == 0 ? 200 : 500;
	if (sc->rc == 0 && p->extra == OP_RETRY && p->lane)
		dispatch_lane_has_work(r, p->lane, p->due_ms);
	if (p->extra != OP_SYNC && body && len && body[len - 1] == '}') {
		/* close the object opened in message_op with the outcome */
		int done = p->extra == OP_CANCEL ? sc->value == 1 : sc->rc == 0;
		char tail[160];
		int n = snprintf(tail, sizeof(tail), ",\"done\":%s%s%s%s}\n", done ? "true" : "false",
		    sc->rc ? ",\"error\":\"" : "", sc->rc ? store_strerror(sc->rc) : "",
		    sc->rc ? "\"" : "");
		char *nb = realloc(body, len + (size_t)n + 1);
		if (nb) {
			body = nb;
			memcpy(body + len - 1, tail, (size_t)n + 1);
			len = len - 1 + (size_t)n;
		}
	}
	if (!body)
		evhttp_send_error(p->http, 500, "out of memory");
	else
		reply_body(p->http, status, "application/json", body, len);
	free(body);
	pending_put(p);
}

/* ---- writes through compliance ---- */

static const char *body_text(struct areq *a, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(a->req);
	*len = evbuffer_get_length(in);
	/* evbuffer_pullup makes it contiguous; one more byte for the NUL */
	if (evbuffer_add(in, "", 1) != 0)
		return NULL;
	return (const char *)evbuffer_pullup(in, -1);
}

/* The body as a JSON object, or NULL with the answer sent. */
static const struct json_node *body_json(struct areq *a, struct json_doc *doc)
{
	size_t len;
	char err[128];
	const char *text = body_text(a, &len);
	if (!text) {
		fail(a, 500, "out of memory");
		return NULL;
	}
	if (json_parse(text, len, doc, err, sizeof(err)) != 0) {
		fail(a, 400, "the body is not JSON: %s", err);
		return NULL;
	}
	if (json_root(doc)->type != JSON_OBJECT) {
		json_free(doc);
		fail(a, 400, "the body must be a JSON object");
		return NULL;
	}
	return json_root(doc);
}

static int post_optout(struct areq *a)
{
	struct json_doc doc;
	const struct json_node *o = body_json(a, &doc);
	if (!o)
		return 0;
	char number[12];
	const char *brand = json_get(&doc, o, "brand") ? json_text(&doc, o, "brand") : NULL;
	if (brand && !*brand)
		brand = NULL;
	int rc = 0;
	if (!nanp_number(json_text(&doc, o, "number"), number))
		rc = fail(a, 400, "number: not a NANP number: \"%s\"", json_text(&doc, o, "number"));
	else if (brand && (!a->r->policy || !import_brand_known(a->r->policy, brand)))
		rc = fail(a, 400, "brand: no such brand in the policy: \"%s\"", brand);
	else {
		int changed = compliance_opt_out(a->r->compliance, brand, number,
		    relay_wall_ms() / 1000, "admin");
		if (changed < 0)
			rc = fail(a, 500, "the store did not take it: %s", store_strerror(changed));
		else {
			json_obj(&a->j);
			json_kstr(&a->j, "number", number);
			json_kstr(&a->j, "brand", brand);
			json_kbool(&a->j, "changed", changed == 1);
			json_obj_end(&a->j);
			rc = reply_when_committed(a, "admin_optouts", 1);
		}
	}
	json_free(&doc);
	return rc;
}

static int delete_optout(struct areq *a)
{
	char number[12];
	const char *brand = evhttp_find_header(&a->query, "brand");
	if (brand && !*brand)
		brand = NULL;
	if (!nanp_number(a->arg[0], number))
		return fail(a, 400, "not a NANP number: \"%s\"", a->arg[0]);
	int changed = compliance_opt_in(a->r->compliance, brand, number, relay_wall_ms() / 1000,
	    NULL);
	if (changed < 0)
		return fail(a, 500, "the store did not take it: %s", store_strerror(changed));
	if (changed == 0)
		return fail(a, 404, "%s has no opt-out%s%s", number, brand ? " of brand " : "",
		    brand ? brand : "");
	json_obj(&a->j);
	json_kstr(&a->j, "number", number);
	json_kstr(&a->j, "brand", brand);
	json_kbool(&a->j, "changed", 1);
	json_obj_end(&a->j);
	return reply_when_committed(a, "admin_optouts", 1);
}

/* A JSON member as one CSV field (quoted), so one consent row parser
 * checks both the API's objects and the imported lines. */
static void csv_field(char *out, size_t cap, size_t *at, const char *s, int last)
{
	if (*at + 1 < cap)
		out[(*at)++] = '"';
	for (; *s && *at + 3 < cap; s++) {
		if (*s == '"')
			out[(*at)++] = '"';
		out[(*at)++] = *s;
	}
	if (*at + 2 < cap) {
		out[(*at)++] = '"';
		if (!last)
			out[(*at)++] = ',';
	}
	out[*at] = '\0';
}

static int post_consent(struct areq *a)
{
	static const char *const cols[] = { "number", "brand", "campaign", "method", "time",
		"who", "purpose", "evidence" };
	struct json_doc doc;
	const struct json_node *o = body_json(a, &doc);
	if (!o)
		return 0;
	char line[IMPORT_LINE_MAX], number[12];
	size_t at = 0;
	for (int i = 0; i < 8; i++)
		csv_field(line, sizeof(line), &at, json_text(&doc, o, cols[i]), i == 7);
	json_free(&doc);
	struct compliance_consent rec;
	struct import_error e;
	if (!a->r->policy)
		return fail(a, 400, "smppd runs without a policy file: there are no brands");
	if (at + 4 >= sizeof(line))
		return fail(a, 400, "the record is longer than %d bytes", IMPORT_LINE_MAX);
	if (consent_row_parse(a->r->policy, line, relay_wall_ms() / 1000, &rec, number, &e) < 0)
		return fail(a, 400, "%s%s%s%s", e.why, e.what ? " \"" : "", e.what ? e.what : "",
		    e.what ? "\"" : "");
	int rc = compliance_consent_add(a->r->compliance, &rec);
	if (rc < 0)
		return fail(a, 500, "the store did not take it: %s", store_strerror(rc));
	json_obj(&a->j);
	json_kstr(&a->j, "number", number);
	json_kstr(&a->j, "brand", rec.brand);
	json_kstr(&a->j, "campaign", rec.campaign);
	json_obj_end(&a->j);
	return reply_when_committed(a, "admin_consent", 1);
}

static int post_consent_revoke(struct areq *a)
{
	struct json_doc doc;
	const struct json_node *o = body_json(a, &doc);
	if (!o)
		return 0;
	char number[12], brand[256], campaign[256];
	snprintf(brand, sizeof(brand), "%s", json_text(&doc, o, "brand"));
	snprintf(campaign, sizeof(campaign), "%s", json_text(&doc, o, "campaign"));
	int ok = nanp_number(json_text(&doc, o, "number"), number);
	json_free(&doc);
	if (!ok)
		return fail(a, 400, "number: not a NANP number");
	if (!*brand)
		return fail(a, 400, "brand: required");
	struct compliance_consent rec = { .brand = brand, .campaign = *campaign ? campaign : NULL,
		.number = number, .who = "admin", .evidence = "smppctl consent revoke" };
	char buf[4096];
	struct compliance_consent have;
	int rc = compliance_consent_get(a->r->compliance, brand, rec.campaign, number, &have,
	    buf, sizeof(buf));
	if (rc == 0)
		return fail(a, 404, "no consent of %s for %s%s%s", number, brand,
		    rec.campaign ? "/" : "", rec.campaign ? rec.campaign : "");
	if (rc > 0)
		rc = compliance_consent_revoke(a->r->compliance, &rec, relay_wall_ms() / 1000);
	if (rc < 0)
		return fail(a, 500, "the store did not take it: %s", store_strerror(rc));
	json_obj(&a->j);
	json_kstr(&a->j, "number", number);
	json_kstr(&a->j, "brand", brand);
	json_kstr(&a->j, "campaign", rec.campaign);
	json_kbool(&a->j, "revoked", 1);
	json_obj_end(&a->j);
	return reply_when_committed(a, "admin_consent", 1);
}

/*
 * A batch of CSV lines (text/csv body, first_line=N the number of its
 * first line in the operator's file): every good row goes to the store,
 * the answer names each bad one by its line in that file.  The rows and
 * the marker are submitted together, so the writer commits them in one
 * transaction when the batch fits its max_batch.
 */
static int import_batch(struct areq *a, int consent)
{
	const char *fl = evhttp_find_header(&a->query, "first_line");
	char *end;
	unsigned long line = fl ? strtoul(fl, &end, 10) : 1;
	if (fl && (*end || !*fl || line == 0))
		return fail(a, 400, "first_line: give the file's line number of the first row");
	if (consent && !a->r->policy)
		return fail(a, 400, "smppd runs without a policy file: there are no brands");
	size_t len;
	const char *text = body_text(a, &len);
	if (!text)
		return fail(a, 500, "out of memory");
	if (memchr(text, '\0', len))
		return fail(a, 400, "the body holds a NUL byte");
	int64_t now = relay_wall_ms() / 1000;
	unsigned long accepted = 0, rejected = 0;
	json_obj(&a->j);
	json_key(&a->j, "rejected");
	json_arr(&a->j);
	for (const char *p = text; p < text + len; line++) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
		char row[IMPORT_LINE_MAX], number[12];
		struct import_error e = { NULL, NULL };
		int rc = -1;
		if (n >= sizeof(row)) {
			e.why = "line longer than 4095 bytes";
		} else {
			memcpy(row, p, n);
			row[n] = '\0';
			if (import_line_skip(row, line)) {
				p += n + 1;
				continue;
			}
			const char *brand;
			struct compliance_consent rec;
			if (consent && consent_row_parse(a->r->policy, row, now, &rec, number, &e) == 0)
				rc = compliance_consent_add(a->r->compliance, &rec);
			else if (!consent && optout_row_parse(a->r->policy, row, number, &brand, &e) == 0)
				rc = compliance_opt_out(a->r->compliance, brand, number, now, "admin import");
			if (rc < 0 && !e.why)
				e.why = "the store refused the record";
		}
		if (rc >= 0) {
			accepted++;
		} else {
			rejected++;
			char why[600];
			snprintf(why, sizeof(why), "%s%s%s%s", e.why, e.what ? " \"" : "",
			    e.what ? e.what : "", e.what ? "\"" : "");
			json_obj(&a->j);
			json_kuint(&a->j, "line", line);
			json_kstr(&a->j, "error", why);
			json_obj_end(&a->j);
		}
		p += n + 1;
	}
	json_arr_end(&a->j);
	json_kuint(&a->j, "accepted", accepted);
	json_kuint(&a->j, "rejected_count", rejected);
	json_obj_end(&a->j);
	return reply_when_committed(a, consent ? "admin_consent" : "admin_optouts",
	    (int64_t)accepted);
}

static int post_consent_import(struct areq *a) { return import_batch(a, 1); }
static int post_optout_import(struct areq *a) { return import_batch(a, 0); }

static int campaign_op(struct areq *a, int pause)
{
	struct relay *r = a->r;
	const char *campaign = a->arg[0];
	if (!r->policy || !policy_has_campaign(r->policy, campaign))
		return fail(a, 404, "no campaign \"%s\" in the policy", campaign);
	int paused = 0;
	int64_t since = 0;
	int rc = compliance_pause_get(r->compliance, campaign, &paused, &since);
	if (rc < 0)
		return fail(a, 500, "reading the pause of %s: %s", campaign, store_strerror(rc));
	int changed = paused != pause;
	if (changed) {
		rc = compliance_pause_why(r->compliance, campaign, pause, relay_wall_ms() / 1000,
		    pause ? "by operator (admin API pause)" : "by operator (admin API resume)");
		if (rc < 0)
			return fail(a, 500, "the store did not take it: %s", store_strerror(rc));
		log_info("admin", "event=%s campaign=%s", pause ? "campaign_paused" : "campaign_resumed",
		    campaign);
		if (!pause)
			dispatch_lane_has_work(r, dispatch_lane_name(r, campaign), relay_wall_ms());
	}
	json_obj(&a->j);
	json_kstr(&a->j, "campaign", campaign);
	json_kbool(&a->j, "paused", pause);
	json_kbool(&a->j, "changed", changed);
	json_obj_end(&a->j);
	return changed ? reply_when_committed(a, "admin_pauses", 1) : reply_json(a, 200);
}

static int post_pause(struct areq *a) { return campaign_op(a, 1); }
static int post_resume(struct areq *a) { return campaign_op(a, 0); }

/* ---- routing ---- */

#define GET EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST
#define DELETE EVHTTP_REQ_DELETE

/* One line a resource; the last field: open without the token. */
static const struct route routes[] = {
	{ GET, "/healthz", get_healthz, 1 },
	{ GET, "/readyz", get_readyz, 1 },
	{ GET, "/metrics", get_metrics, 0 },
	{ GET, "/v1/status", get_status, 0 },
	{ GET, "/v1/stats", get_stats, 0 },
	{ GET, "/v1/messages", get_messages, 0 },
	{ GET, "/v1/messages/:id", get_message, 0 },
	{ POST, "/v1/messages/:id/cancel", post_cancel, 0 },
	{ POST, "/v1/messages/:id/retry", post_retry, 0 },
	{ GET, "/v1/campaigns", get_campaigns, 0 },
	{ POST, "/v1/campaigns/:id/pause", post_pause, 0 },
	{ POST, "/v1/campaigns/:id/resume", post_resume, 0 },
	{ GET, "/v1/audit", get_audit, 0 },
	{ GET, "/v1/optouts", get_optouts, 0 },
	{ POST, "/v1/optouts", post_optout, 0 },
	{ POST, "/v1/optouts/import", post_optout_import, 0 },
	{ DELETE, "/v1/optouts/:number", delete_optout, 0 },
	{ GET, "/v1/consent", get_consent, 0 },
	{ POST, "/v1/consent", post_consent, 0 },
	{ POST, "/v1/consent/import", post_consent_import, 0 },
	{ POST, "/v1/consent/revoke", post_consent_revoke, 0 },
};

/* 1 if path fits pattern; ":x" segments (decoded) go to a->arg. */
static int match(const char *pattern, const char *path, struct areq *a)
{
	int nargs = 0;
	while (*pattern && *path) {
		if (*pattern != '/' || *path != '/')
			return 0;
		pattern++;
		path++;
		size_t pl = strcspn(pattern, "/"), sl = strcspn(path, "/");
		if (*pattern == ':') {
			if (sl == 0 || sl >= sizeof(a->argbuf[0]) || nargs == ADMIN_ARGS)
				return 0;
			char raw[256];
			memcpy(raw, path, sl);
			raw[sl] = '\0';
			size_t dl;
			char *dec = evhttp_uridecode(raw, 0, &dl);
			if (!dec || dl != strlen(dec) || dl >= sizeof(a->argbuf[0])) {
				free(dec);
				return 0;
			}
			memcpy(a->argbuf[nargs], dec, dl + 1);
			free(dec);
			a->arg[nargs] = a->argbuf[nargs];
			nargs++;
		} else if (pl != sl || memcmp(pattern, path, pl) != 0) {
			return 0;
		}
		pattern += pl;
		path += sl;
	}
	return *pattern == '\0' && *path == '\0';
}

static int authorized(const struct admin_server *s, struct evhttp_request *req)
{
	if (!s->has_token)
		return 1; /* loopback without a token: config allowed it */
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	unsigned char got[SHA256_DIGEST_LENGTH];
	/* hashes of equal length: the comparison time says nothing of the token */
	SHA256((const unsigned char *)h + 7, strlen(h + 7), got);
	return CRYPTO_memcmp(got, s->token_hash, sizeof(got)) == 0;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct relay *r = arg;
	struct areq a = { .r = r, .req = req };
	json_out_init(&a.j);
	TAILQ_INIT(&a.query);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
	int method = (int)evhttp_request_get_command(req);
	if (!path || (qs && evhttp_parse_query_str(qs, &a.query) != 0)) {
		fail(&a, 400, "bad request line");
		evhttp_clear_headers(&a.query);
		return;
	}
	const struct route *found = NULL;
	int allowed = 0;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && !found; i++) {
		if (!match(routes[i].pattern, path, &a))
			continue;
		allowed |= routes[i].methods;
		if (routes[i].methods & method)
			found = &routes[i];
	}
	if (!found && allowed) {
		char allow[32];
		snprintf(allow, sizeof(allow), "%s%s%s%s%s", allowed & GET ? "GET" : "",
		    allowed & GET && allowed & (POST | DELETE) ? ", " : "", allowed & POST ? "POST" : "",
		    allowed & POST && allowed & DELETE ? ", " : "", allowed & DELETE ? "DELETE" : "");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
		fail(&a, 405, "method not allowed on %s", path);
	} else if (!found) {
		fail(&a, 404, "no such resource: %s", path);
	} else if (!found->public && !authorized(r->admin, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Bearer realm=\"smppd\"");
		log_info("admin", "event=unauthorized path=%s", path);
		fail(&a, 401, "missing or wrong token: send Authorization: Bearer TOKEN");
	} else {
		found->fn(&a);
	}
	json_out_free(&a.j);
	evhttp_clear_headers(&a.query);
}

static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
	struct admin_server *s = arg;
	char err[256];
	struct ssl_st *ssl = tls_server_ssl(s->tls, err, sizeof(err));
	if (!ssl) {
		log_error("admin", "event=tls_failed error=\"%s\"", err);
		return NULL;
	}
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
}

int admin_start(struct relay *r)
{
	const struct config_admin *ac = &r->cfg->admin;
	if (!ac->enabled)
		return 0;
	struct admin_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	r->admin = s;
	if (ac->token) {
		SHA256((const unsigned char *)ac->token, strlen(ac->token), s->token_hash);
		s->has_token = 1;
	}
	char err[256];
	if (ac->tls.enabled && !(s->tls = tls_server_ctx(&ac->tls, err, sizeof(err)))) {
		log_error("admin", "event=tls_failed error=\"%s\"", err);
		return -1;
	}
	s->http = evhttp_new(r->base);
	if (!s->http)
		return -1;
	evhttp_set_max_body_size(s->http, ADMIN_BODY_MAX);
	evhttp_set_max_headers_size(s->http, ADMIN_HEADERS_MAX);
	evhttp_set_timeout(s->http, ADMIN_TIMEOUT_S);
	evhttp_set_allowed_methods(s->http, GET | POST | DELETE | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(s->http, on_request, r);
	if (s->tls)
		evhttp_set_bevcb(s->http, tls_bev, s);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(s->http, ac->address.host,
	    (ev_uint16_t)ac->address.port);
	if (!bs) {
		log_error("admin", "event=listen_failed address=%s:%d reason=\"%s\"", ac->address.host,
		    ac->address.port, strerror(errno));
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char where[80] = "?";
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &len) == 0)
		net_format_addr((struct sockaddr *)&ss, where, sizeof(where));
	log_info("admin", "event=admin_listening address=%s tls=%s auth=%s", where,
	    s->tls ? "yes" : "no", s->has_token ? "token" : "none");
	return 0;
}

void admin_stop(struct relay *r)
{
	struct admin_server *s = r->admin;
	if (!s)
		return;
	if (s->http)
		evhttp_free(s->http);
	if (s->tls)
		tls_ctx_free(s->tls);
	OPENSSL_cleanse(s->token_hash, sizeof(s->token_hash));
	free(s);
	r->admin = NULL;
}
