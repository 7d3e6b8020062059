/*
 * smppctl: the operator's command line for smppd, over its admin HTTP API
 * (docs/admin-api.md).  Read-only commands also work on a stopped smppd:
 * with --offline, or when the daemon does not answer, smppctl opens the
 * store itself (attached, read-only) and runs the same code the daemon's
 * API runs (adminapi.c).  Usage text: usage() below, or `smppctl --help`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "mta/adminapi.h"
#include "mta/compliance.h"
#include "mta/config.h"
#include "mta/importrow.h"
#include "mta/json.h"
#include "mta/relay.h"
#include "mta/tls.h"
#include "policy/policy.h"

/* Exit codes (documented in usage and the README). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NOTFOUND = 3, EXIT_AUTH = 4 };

#define IMPORT_BATCH 1000
#define TIMEOUT_S 60

static const char usage_text[] =
"usage: smppctl [-c FILE] [--url URL] [--token-file FILE] [--cacert FILE]\n"
"               [--json] [--offline] COMMAND [ARGS]\n"
"\n"
"Talks to a running smppd over its admin HTTP API.  Read-only commands\n"
"(status, stats, queue, msg show, optout list|export, consent list|export,\n"
"campaign list, audit) also work on a stopped smppd: with --offline, or when\n"
"the daemon does not answer, smppctl opens the store named in -c FILE.\n"
"\n"
"Options:\n"
"  -c FILE            smppd's configuration: the admin address, token and\n"
"                     TLS, the store and the policy (default /etc/smppd/smppd.yaml)\n"
"  --url URL          the admin API, e.g. http://127.0.0.1:8025 (default: the\n"
"                     admin: section of FILE; https when it has tls:)\n"
"  --token-file FILE  the Bearer token's file (default: SMPPCTL_TOKEN from the\n"
"                     environment, else admin.token/token_file of FILE)\n"
"  --cacert FILE      the CA that signed the API's certificate (https)\n"
"  --json             print the API's JSON documents instead of tables\n"
"  --offline          read the store directly, even if smppd runs\n"
"  -h, --help         this text; COMMAND --help for one command\n"
"\n"
"Commands:\n"
"  status                        binds per carrier and account, queue depth\n"
"                                per campaign, messages per state, store use\n"
"  stats                         message counts and store counters\n"
"  queue [--campaign C] [--account A] [--state S] [--destination N]\n"
"        [--after ID] [--limit N] list messages, oldest first (100 by default;\n"
"                                --after the last id shown pages on)\n"
"  queue show ID                 the same as msg show ID\n"
"  msg show ID                   one message: record, attempts, carrier ids,\n"
"                                policy decisions (audit) and pending receipt\n"
"  msg cancel ID                 cancel a queued message\n"
"  msg retry ID                  send a queued or deferred message now\n"
"  optout list [--number N] [--limit N] [--after NUMBER]\n"
"  optout add NUMBER [--brand B] opt NUMBER out of brand B (default: all)\n"
"  optout remove NUMBER [--brand B]\n"
"  optout import CSV|-           rows number,brand (brand empty: all brands)\n"
"  optout export                 every opt-out as CSV number,brand,time\n"
"  consent list [--number N] [--brand B] [--limit N] [--after CURSOR]\n"
"  consent add NUMBER BRAND [--campaign C] [--method M] [--time T] [--who W]\n"
"              [--purpose P] [--evidence E]   (method: web_form, keyword,\n"
"                                paper or api; default api; time: Unix seconds)\n"
"  consent revoke NUMBER BRAND [--campaign C]\n"
"  consent import CSV|-          rows number,brand,campaign,method,time,who,\n"
"                                purpose,evidence (as smppd --consent-import)\n"
"  consent export                every consent record as CSV\n"
"  campaign list                 campaigns with pause state and queue depth\n"
"  campaign pause ID | resume ID\n"
"  audit [--recipient N] [--campaign C] [--since T] [--until T] [--limit N]\n"
"                                policy decisions and operator actions; T is\n"
"                                Unix seconds, YYYY-MM-DD[THH:MM[:SS]Z] or a\n"
"                                duration back from now (90m, 24h, 7d);\n"
"                                default the last 24 h\n"
"\n"
"Imports stream the file and send it in batches of 1,000 rows; rejected rows\n"
"are reported with their line number in the file, the others are stored.\n"
"\n"
"Exit status: 0 done; 1 failure (smppd unreachable, a store error, rows\n"
"rejected by an import); 2 usage error (bad command, option or argument);\n"
"3 not found (no such message, campaign, opt-out or consent); 4 the API\n"
"refused the token.\n";

struct ctl {
	const char *conf_path, *url, *token_file, *cacert;
	int json, offline;
	struct config cfg;
	int have_cfg;
	char token[1100];
	/* offline */
	struct store *st;
	struct compliance *c;
	struct policy *policy;
};

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("smppctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(smppctl --help for usage)\n", stderr);
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- HTTP ---- */

struct response {
	int status;                     /* 0: no answer */
	char *body;
	size_t len;
	char error[256];
	struct event_base *base;
};

static void on_response(struct evhttp_request *req, void *arg)
{
	struct response *r = arg;
	if (!req || evhttp_request_get_response_code(req) == 0) {
		snprintf(r->error, sizeof(r->error), "no answer (not listening there, a TLS "
		    "handshake that failed, or a timeout)");
	} else {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		r->status = evhttp_request_get_response_code(req);
		r->len = evbuffer_get_length(in);
		r->body = malloc(r->len + 1);
		if (r->body) {
			evbuffer_remove(in, r->body, r->len);
			r->body[r->len] = '\0';
		} else {
			r->status = 0;
			snprintf(r->error, sizeof(r->error), "out of memory");
		}
	}
	event_base_loopexit(r->base, NULL);
}

/* One request; 0 with resp filled (any status), -1 if nothing answered. */
static int http(struct ctl *x, const char *method, const char *path, const char *type,
    const char *body, size_t len, struct response *resp)
{
	memset(resp, 0, sizeof(*resp));
	struct evhttp_uri *u = evhttp_uri_parse(x->url);
	const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
	const char *host = u ? evhttp_uri_get_host(u) : NULL;
	int port = u ? evhttp_uri_get_port(u) : -1;
	int tls = scheme && strcmp(scheme, "https") == 0;
	if (!host || !scheme || (!tls && strcmp(scheme, "http") != 0)) {
		snprintf(resp->error, sizeof(resp->error), "bad URL %s (http://HOST:PORT)", x->url);
		evhttp_uri_free(u);
		return -1;
	}
	if (port < 0)
		port = tls ? 443 : 80;
	struct event_base *base = event_base_new();
	struct ssl_ctx_st *ctx = NULL;
	struct bufferevent *bev = NULL;
	struct evhttp_connection *conn = NULL;
	char err[256] = "out of memory";
	resp->base = base;
	if (base && tls) {
		struct config_tls t = { .enabled = true, .ca = (char *)x->cacert, .verify_host = true };
		if (!x->cacert && x->have_cfg && x->cfg.admin.tls.enabled)
			t.ca = x->cfg.admin.tls.cert; /* a self-signed API certificate */
		ctx = tls_client_ctx(&t, err, sizeof(err));
		struct ssl_st *ssl = ctx ? tls_client_ssl(ctx, host, true, err, sizeof(err)) : NULL;
		if (ssl)
			bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
			    BEV_OPT_CLOSE_ON_FREE);
	}
	if (base && (!tls || bev))
		conn = evhttp_connection_base_bufferevent_new(base, NULL, bev, host, (unsigned short)port);
	struct evhttp_request *req = conn ? evhttp_request_new(on_response, resp) : NULL;
	if (req) {
		char hostport[300], auth[1200];
		struct evkeyvalq *h = evhttp_request_get_output_headers(req);
		evhttp_connection_set_timeout(conn, TIMEOUT_S);
		snprintf(hostport, sizeof(hostport), "%s:%d", host, port);
		evhttp_add_header(h, "Host", hostport);
		evhttp_add_header(h, "Connection", "close");
		if (x->token[0]) {
			snprintf(auth, sizeof(auth), "Bearer %s", x->token);
			evhttp_add_header(h, "Authorization", auth);
		}
		if (body) {
			evhttp_add_header(h, "Content-Type", type);
			evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
		}
		enum evhttp_cmd_type cmd = strcmp(method, "POST") == 0 ? EVHTTP_REQ_POST :
		    strcmp(method, "DELETE") == 0 ? EVHTTP_REQ_DELETE : EVHTTP_REQ_GET;
		if (evhttp_make_request(conn, req, cmd, path) == 0)
			event_base_dispatch(base);
		else
			snprintf(resp->error, sizeof(resp->error), "cannot send the request");
	} else {
		snprintf(resp->error, sizeof(resp->error), "%s", err);
	}
	if (conn)
		evhttp_connection_free(conn);
	if (ctx)
		tls_ctx_free(ctx);
	if (base)
		event_base_free(base);
	evhttp_uri_free(u);
	return resp->status ? 0 : -1;
}

/* ---- the store, when smppd does not answer ---- */

static int open_offline(struct ctl *x)
{
	if (x->st)
		return 0;
	if (!x->have_cfg) {
		fprintf(stderr, "smppctl: reading the store needs -c FILE\n");
		return -1;
	}
	x->st = opctl_store_attach(&x->cfg, 16, "smppctl");
	if (!x->st)
		return -1;
	struct compliance_config cc = { .cache_slots = 1 };
	x->c = compliance_new(x->st, &cc);
	char err[512];
	if (x->c && x->cfg.policy && policy_load(x->cfg.policy, &x->policy, err, sizeof(err)) != 0) {
		fprintf(stderr, "smppctl: %s\n", err);
		return -1;
	}
	return x->c ? 0 : -1;
}

/* ---- printing ---- */

/* An array of objects as a table of the given columns. */
static void table(const struct json_doc *d, const struct json_node *arr, const char *const *cols,
    const char *const *heads, int n)
{
	size_t w[16];
	for (int i = 0; i < n; i++)
		w[i] = strlen(heads[i]);
	for (const struct json_node *o = json_first(d, arr); o; o = json_next(d, o))
		for (int i = 0; i < n; i++) {
			size_t l = strlen(json_text(d, o, cols[i]));
			if (l > w[i])
				w[i] = l < 40 ? l : 40;
		}
	for (int i = 0; i < n; i++)
		printf("%-*s%s", i + 1 < n ? (int)w[i] : 0, heads[i], i + 1 < n ? "  " : "\n");
	for (const struct json_node *o = json_first(d, arr); o; o = json_next(d, o))
		for (int i = 0; i < n; i++) {
			const char *v = json_text(d, o, cols[i]);
			if (!*v || strcmp(v, "null") == 0)
				v = "-";
			printf("%-*s%s", i + 1 < n ? (int)w[i] : 0, v, i + 1 < n ? "  " : "\n");
		}
}

#define TABLE(d, arr, ...) do { \
	static const char *const spec_[] = { __VA_ARGS__ }; \
	enum { n_ = sizeof(spec_) / sizeof(spec_[0]) / 2 }; \
	const char *cols_[n_], *heads_[n_]; \
	for (int i_ = 0; i_ < n_; i_++) { cols_[i_] = spec_[2 * i_]; heads_[i_] = spec_[2 * i_ + 1]; } \
	table(d, arr, cols_, heads_, n_); \
} while (0)

typedef void printer(const struct json_doc *d, const struct json_node *root);

static void print_status(const struct json_doc *d, const struct json_node *o)
{
	const struct json_node *store = json_get(d, o, "store");
	const struct json_node *health = json_get(d, o, "health");
	if (health) {
		printf("HEALTH %s", strcmp(json_text(d, health, "ok"), "true") == 0 ? "ok" : "WARN:");
		for (const struct json_node *c = json_first(d, json_get(d, health, "carriers_down")); c;
		    c = json_next(d, c))
			printf(" carrier %s down for %ss;", json_text(d, c, "name"), json_text(d, c, "for_s"));
		if (strcmp(json_text(d, health, "store_filling"), "true") == 0)
			printf(" store above 80%% of its map;");
		if (strcmp(json_text(d, health, "queue_growing"), "true") == 0)
			printf(" queue growing for a minute;");
		printf("\n\n");
	}
	if (json_get(d, o, "carriers")) {
		printf("CARRIERS\n");
		TABLE(d, json_get(d, o, "carriers"), "name", "NAME", "binds", "BOUND", "sessions", "SESSIONS");
		printf("\nACCOUNTS\n");
		TABLE(d, json_get(d, o, "accounts"), "system_id", "SYSTEM_ID", "binds", "BINDS");
	} else {
		printf("smppd not asked (store read directly): no binds to show\n");
	}
	printf("\nQUEUE\n");
	TABLE(d, json_get(d, o, "queue"), "lane", "CAMPAIGN", "queued", "QUEUED", "due", "DUE NOW", "later", "LATER");
	printf("\nMESSAGES BY STATE\n");
	const struct json_node *states = json_get(d, o, "states");
	for (const struct json_node *s = json_first(d, states); s; s = json_next(d, s))
		printf("%-14s %s\n", s->key, s->str);
	printf("\nSTORE %s: %s of %s bytes (%s%%)\n", json_text(d, store, "path"),
	    json_text(d, store, "used_bytes"), json_text(d, store, "map_bytes"),
	    json_text(d, store, "used_percent"));
}

static void print_stats(const struct json_doc *d, const struct json_node *o)
{
	static const char *const groups[] = { "messages", "store", "compliance" };
	for (int g = 0; g < 3; g++) {
		const struct json_node *n = json_get(d, o, groups[g]);
		for (const struct json_node *s = json_first(d, n); s; s = json_next(d, s))
			printf("%s.%-20s %s\n", groups[g], s->key, s->str);
	}
}

static void print_messages(const struct json_doc *d, const struct json_node *o)
{
	TABLE(d, json_get(d, o, "messages"), "id", "ID", "state", "STATE", "campaign", "CAMPAIGN",
	    "account", "ACCOUNT", "destination", "DESTINATION", "attempts", "ATTEMPTS",
	    "last_error", "LAST_ERROR", "created", "CREATED (UTC)");
	const char *next = json_text(d, o, "next");
	if (strcmp(next, "null") != 0)
		printf("(more: --after %s)\n", next);
}

static void print_message(const struct json_doc *d, const struct json_node *o)
{
	static const char *const keys[] = { "id", "state", "account", "campaign", "lane", "source",
		"destination", "segments", "body_bytes", "attempts", "last_error", "carrier", "created",
		"updated", "next_attempt", "validity" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		printf("%-13s %s\n", keys[i], json_text(d, o, keys[i]));
	printf("%-13s", "carrier_ids");
	const struct json_node *ids = json_get(d, o, "carrier_ids");
	for (const struct json_node *s = json_first(d, ids); s; s = json_next(d, s))
		printf(" %s", s->str);
	printf("\n\nHISTORY (audit)\n");
	TABLE(d, json_get(d, o, "audit"), "time", "TIME (UTC)", "rule", "RULE", "reason", "REASON");
	const struct json_node *rc = json_get(d, o, "pending_receipt");
	if (rc)
		printf("\nreceipt waiting for the application: stat %s, error %s, done %s\n",
		    json_text(d, rc, "stat"), json_text(d, rc, "error"), json_text(d, rc, "done"));
}

static void print_campaigns(const struct json_doc *d, const struct json_node *o)
{
	TABLE(d, json_get(d, o, "campaigns"), "id", "CAMPAIGN", "brand", "BRAND", "paused", "PAUSED",
	    "queued", "QUEUED", "paused_since", "PAUSED SINCE");
}

static void print_audit(const struct json_doc *d, const struct json_node *o)
{
	TABLE(d, json_get(d, o, "entries"), "time", "TIME (UTC)", "message_id", "MESSAGE",
	    "account", "ACCOUNT", "campaign", "CAMPAIGN", "recipient", "RECIPIENT", "rule", "RULE",
	    "reason", "REASON");
}

static void print_optouts(const struct json_doc *d, const struct json_node *o)
{
	TABLE(d, json_get(d, o, "optouts"), "number", "NUMBER", "brand", "BRAND (- all)",
	    "time", "SINCE (UTC)");
}

static void print_consent(const struct json_doc *d, const struct json_node *o)
{
	TABLE(d, json_get(d, o, "consent"), "number", "NUMBER", "brand", "BRAND", "campaign",
	    "CAMPAIGN", "method", "METHOD", "time", "GIVEN (UTC)", "who", "WHO");
}

/* Prints what a write returned: its members as "key: value". */
static void print_result(const struct json_doc *d, const struct json_node *o)
{
	for (const struct json_node *m = json_first(d, o); m; m = json_next(d, m))
		printf("%s: %s\n", m->key, json_text(d, m, NULL));
}

/* ---- running a command ---- */

static int exit_for(int status)
{
	return status == 200 ? EXIT_OK : status == 404 ? EXIT_NOTFOUND : status == 401 ?
	    EXIT_AUTH : status == 400 || status == 405 ? EXIT_USAGE : EXIT_FAIL;
}

/* A JSON document from the API (or adminapi offline): printed, exit code. */
static int show(struct ctl *x, int status, const char *body, size_t len, printer *pr)
{
	struct json_doc d;
	char err[128];
	if (json_parse(body, len, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "smppctl: the answer (HTTP %d) is not JSON: %s\n", status, err);
		return EXIT_FAIL;
	}
	const struct json_node *root = json_root(&d);
	if (status != 200) {
		const char *e = json_text(&d, root, "error");
		fprintf(stderr, "smppctl: %s\n", *e ? e : "failed");
		if (status == 401)
			fprintf(stderr, "smppctl: give the token with --token-file FILE or "
			    "SMPPCTL_TOKEN, or -c the smppd.yaml that has it\n");
	} else if (x->json) {
		fwrite(body, 1, len, stdout);
		if (len && body[len - 1] != '\n')
			putchar('\n');
	} else if (pr) {
		pr(&d, root);
	}
	json_free(&d);
	return exit_for(status);
}

/* Query parameters for an offline read: the same names as the URL's. */
struct kv {
	const char *name[8], *value[8];
	int n;
};

static const char *kv_get(void *arg, const char *name)
{
	struct kv *q = arg;
	for (int i = 0; i < q->n; i++)
		if (strcmp(q->name[i], name) == 0)
			return q->value[i];
	return NULL;
}

static void kv_put(struct kv *q, const char *name, const char *value)
{
	if (value && q->n < 8) {
		q->name[q->n] = name;
		q->value[q->n++] = value;
	}
}

/* path?query from the parameters, URL-encoded. */
static int build_path(char *out, size_t cap, const char *base, const struct kv *q)
{
	size_t at = (size_t)snprintf(out, cap, "%s", base);
	for (int i = 0; i < q->n && at < cap; i++) {
		char *enc = evhttp_encode_uri(q->value[i]);
		if (!enc)
			return -1;
		at += (size_t)snprintf(out + at, cap - at, "%c%s=%s", i ? '&' : '?', q->name[i], enc);
		free(enc);
	}
	return at < cap ? 0 : -1;
}

enum read_kind { R_STATUS, R_STATS, R_MESSAGES, R_MESSAGE, R_CAMPAIGNS, R_AUDIT, R_OPTOUTS,
	R_CONSENT };

/* The same document from the store (offline). */
static int read_offline(struct ctl *x, enum read_kind k, struct kv *q, const char *arg,
    struct json_out *j)
{
	struct admin_ctx ax = { .cfg = &x->cfg, .policy = x->policy, .st = x->st, .c = x->c,
		.now_ms = wall_ms() };
	struct admin_params p = { kv_get, q };
	int status;
	switch (k) {
	case R_STATUS:
		json_obj(j);
		status = admin_status_fields(&ax, j);
		if (status == 200)
			json_obj_end(j);
		return status;
	case R_STATS: return admin_stats(&ax, j);
	case R_MESSAGES: return admin_messages(&ax, &p, j);
	case R_MESSAGE: return admin_message(&ax, arg, j);
	case R_CAMPAIGNS: return admin_campaigns(&ax, j);
	case R_AUDIT: return admin_audit(&ax, &p, j);
	case R_OPTOUTS: return admin_optouts(&ax, &p, j);
	case R_CONSENT: return admin_consents(&ax, &p, j);
	}
	return 500;
}

/* A read: from smppd, else (offline, or no answer) from the store.
 * With out set, the body is handed over instead of printed. */
static int do_read(struct ctl *x, enum read_kind k, const char *path, struct kv *q,
    const char *arg, printer *pr, char **out, size_t *outlen, int *outstatus)
{
	char full[2048];
	struct response resp = { 0 };
	if (build_path(full, sizeof(full), path, q) != 0) {
		usage_error("arguments too long");
		return EXIT_USAGE;
	}
	if (!x->offline && x->url && http(x, "GET", full, NULL, NULL, 0, &resp) != 0) {
		fprintf(stderr, "smppctl: smppd at %s: %s; reading the store directly\n", x->url,
		    resp.error);
	}
	if (!resp.status) {
		if (open_offline(x) != 0)
			return EXIT_FAIL;
		struct json_out j;
		json_out_init(&j);
		resp.status = read_offline(x, k, q, arg, &j);
		resp.body = json_out_take(&j, &resp.len);
		if (!resp.body) {
			fprintf(stderr, "smppctl: out of memory\n");
			return EXIT_FAIL;
		}
	}
	int rc;
	if (out) {
		*out = resp.body;
		*outlen = resp.len;
		*outstatus = resp.status;
		return EXIT_OK;
	}
	rc = show(x, resp.status, resp.body, resp.len, pr);
	free(resp.body);
	return rc;
}

/* A write: only through smppd. */
static int do_write(struct ctl *x, const char *method, const char *path, const char *type,
    const char *body, size_t len, printer *pr)
{
	struct response resp;
	if (x->offline) {
		usage_error("%s %s changes state: it needs a running smppd, not --offline", method, path);
		return EXIT_USAGE;
	}
	if (!x->url) {
		fprintf(stderr, "smppctl: no admin API to talk to: give --url, or -c a smppd.yaml "
		    "with an admin: section\n");
		return EXIT_FAIL;
	}
	if (http(x, method, path, type, body, len, &resp) != 0) {
		fprintf(stderr, "smppctl: smppd at %s: %s\n", x->url, resp.error);
		return EXIT_FAIL;
	}
	int rc = show(x, resp.status, resp.body, resp.len, pr);
	free(resp.body);
	return rc;
}

/* ---- subcommand options ---- */

/* Options of a subcommand: --name VALUE pairs into q; positional
 * arguments into pos.  -1 (usage reported) on anything else. */
static int sub_args(int argc, char **argv, const char *const *allowed, struct kv *q,
    const char **pos, int npos_min, int npos_max, const char *cmd)
{
	int npos = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			exit(EXIT_OK);
		}
		if (strncmp(argv[i], "--", 2) == 0) {
			const char *name = argv[i] + 2;
			int ok = 0;
			for (int k = 0; allowed && allowed[k]; k++)
				ok |= strcmp(allowed[k], name) == 0;
			if (!ok) {
				usage_error("%s: unknown option %s", cmd, argv[i]);
				return -1;
			}
			if (i + 1 >= argc) {
				usage_error("%s: %s needs a value", cmd, argv[i]);
				return -1;
			}
			kv_put(q, name, argv[++i]);
			continue;
		}
		if (npos == npos_max) {
			usage_error("%s: unexpected argument \"%s\"", cmd, argv[i]);
			return -1;
		}
		pos[npos++] = argv[i];
	}
	if (npos < npos_min) {
		usage_error("%s: missing argument", cmd);
		return -1;
	}
	return npos;
}

static int cmd_status(struct ctl *x, int argc, char **argv)
{
	struct kv q = { .n = 0 };
	if (sub_args(argc, argv, NULL, &q, NULL, 0, 0, "status") < 0)
		return EXIT_USAGE;
	return do_read(x, R_STATUS, "/v1/status", &q, NULL, print_status, NULL, NULL, NULL);
}

static int cmd_stats(struct ctl *x, int argc, char **argv)
{
	struct kv q = { .n = 0 };
	if (sub_args(argc, argv, NULL, &q, NULL, 0, 0, "stats") < 0)
		return EXIT_USAGE;
	return do_read(x, R_STATS, "/v1/stats", &q, NULL, print_stats, NULL, NULL, NULL);
}

static int cmd_msg(struct ctl *x, int argc, char **argv);

static int cmd_queue(struct ctl *x, int argc, char **argv)
{
	static const char *const opts[] = { "campaign", "account", "state", "destination", "after",
		"limit", NULL };
	struct kv q = { .n = 0 };
	const char *pos[2];
	if (argc >= 1 && strcmp(argv[0], "show") == 0)
		return cmd_msg(x, argc, argv); /* queue show ID: msg show ID */
	if (sub_args(argc, argv, opts, &q, pos, 0, 0, "queue") < 0)
		return EXIT_USAGE;
	return do_read(x, R_MESSAGES, "/v1/messages", &q, NULL, print_messages, NULL, NULL, NULL);
}

/* An id or number as one path segment. */
static int segment_path(char *out, size_t cap, const char *fmt, const char *arg)
{
	char *enc = evhttp_encode_uri(arg);
	if (!enc)
		return -1;
	int n = snprintf(out, cap, fmt, enc);
	free(enc);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int cmd_msg(struct ctl *x, int argc, char **argv)
{
	struct kv q = { .n = 0 };
	const char *pos[2];
	char path[512];
	if (sub_args(argc, argv, NULL, &q, pos, 2, 2, "msg") < 0)
		return EXIT_USAGE;
	if (segment_path(path, sizeof(path), "/v1/messages/%s", pos[1]) != 0) {
		usage_error("msg: the id is too long");
		return EXIT_USAGE;
	}
	if (strcmp(pos[0], "show") == 0)
		return do_read(x, R_MESSAGE, path, &q, pos[1], print_message, NULL, NULL, NULL);
	if (strcmp(pos[0], "cancel") == 0 || strcmp(pos[0], "retry") == 0) {
		strncat(path, strcmp(pos[0], "cancel") == 0 ? "/cancel" : "/retry",
		    sizeof(path) - strlen(path) - 1);
		return do_write(x, "POST", path, NULL, NULL, 0, print_result);
	}
	usage_error("msg: give show, cancel or retry, not \"%s\"", pos[0]);
	return EXIT_USAGE;
}

static int cmd_campaign(struct ctl *x, int argc, char **argv)
{
	struct kv q = { .n = 0 };
	const char *pos[2];
	char path[512];
	int n = sub_args(argc, argv, NULL, &q, pos, 1, 2, "campaign");
	if (n < 0)
		return EXIT_USAGE;
	if (strcmp(pos[0], "list") == 0 && n == 1)
		return do_read(x, R_CAMPAIGNS, "/v1/campaigns", &q, NULL, print_campaigns, NULL, NULL,
		    NULL);
	if ((strcmp(pos[0], "pause") == 0 || strcmp(pos[0], "resume") == 0) && n == 2) {
		if (segment_path(path, sizeof(path), "/v1/campaigns/%s/", pos[1]) != 0) {
			usage_error("campaign: the id is too long");
			return EXIT_USAGE;
		}
		strncat(path, pos[0], sizeof(path) - strlen(path) - 1);
		return do_write(x, "POST", path, NULL, NULL, 0, print_result);
	}
	usage_error("campaign: give list, pause ID or resume ID");
	return EXIT_USAGE;
}

static int cmd_audit(struct ctl *x, int argc, char **argv)
{
	static const char *const opts[] = { "recipient", "campaign", "since", "until", "limit", NULL };
	struct kv q = { .n = 0 };
	if (sub_args(argc, argv, opts, &q, NULL, 0, 0, "audit") < 0)
		return EXIT_USAGE;
	return do_read(x, R_AUDIT, "/v1/audit", &q, NULL, print_audit, NULL, NULL, NULL);
}

/* ---- imports and exports ---- */

struct import {
	unsigned long accepted, rejected;
	struct json_out rejects;        /* --json: every reject */
};

/* Posts one batch; its rejects are printed with their absolute lines. */
static int post_batch(struct ctl *x, const char *path, unsigned long first, const char *body,
    size_t len, struct import *im)
{
	char full[512];
	struct response resp;
	struct json_doc d;
	char err[128];
	snprintf(full, sizeof(full), "%s?first_line=%lu", path, first);
	if (http(x, "POST", full, "text/csv", body, len, &resp) != 0) {
		fprintf(stderr, "smppctl: smppd at %s: %s (batch from line %lu)\n", x->url, resp.error,
		    first);
		return EXIT_FAIL;
	}
	int rc = EXIT_OK;
	if (json_parse(resp.body, resp.len, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "smppctl: the answer (HTTP %d) is not JSON: %s\n", resp.status, err);
		rc = EXIT_FAIL;
	} else if (resp.status != 200) {
		fprintf(stderr, "smppctl: batch from line %lu: %s\n", first,
		    json_text(&d, json_root(&d), "error"));
		rc = exit_for(resp.status);
	} else {
		const struct json_node *root = json_root(&d);
		im->accepted += strtoul(json_text(&d, root, "accepted"), NULL, 10);
		const struct json_node *rej = json_get(&d, root, "rejected");
		for (const struct json_node *o = json_first(&d, rej); o; o = json_next(&d, o)) {
			im->rejected++;
			if (x->json) {
				json_obj(&im->rejects);
				json_kuint(&im->rejects, "line", strtoul(json_text(&d, o, "line"), NULL, 10));
				json_kstr(&im->rejects, "error", json_text(&d, o, "error"));
				json_obj_end(&im->rejects);
			} else {
				fprintf(stderr, "line %s: %s\n", json_text(&d, o, "line"),
				    json_text(&d, o, "error"));
			}
		}
	}
	json_free(&d);
	free(resp.body);
	return rc;
}

/* Streams a CSV file to path in batches of IMPORT_BATCH lines. */
static int import_csv(struct ctl *x, const char *path, const char *file)
{
	if (x->offline || !x->url) {
		usage_error("import changes state: it needs a running smppd (give -c or --url)");
		return EXIT_USAGE;
	}
	FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (!in) {
		fprintf(stderr, "smppctl: %s: %s\n", file, strerror(errno));
		return EXIT_FAIL;
	}
	struct import im = { 0, 0, { 0 } };
	json_out_init(&im.rejects);
	json_arr(&im.rejects);
	size_t cap = (size_t)IMPORT_BATCH * IMPORT_LINE_MAX;
	char *batch = malloc(cap), line[IMPORT_LINE_MAX];
	size_t used = 0;
	unsigned long lineno = 0, first = 1, rows = 0;
	int rc = batch ? EXIT_OK : EXIT_FAIL;
	while (rc == EXIT_OK && fgets(line, sizeof(line), in)) {
		size_t len = strlen(line);
		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			int ch;
			while ((ch = fgetc(in)) != EOF && ch != '\n')
				;
			/* too long for a row: the server names it by its line */
			memset(line, 'x', sizeof(line) - 2);
			line[sizeof(line) - 2] = '\n';
			line[sizeof(line) - 1] = '\0';
			len = sizeof(line) - 1;
		}
		memcpy(batch + used, line, len);
		used += len;
		if (batch[used - 1] != '\n')
			batch[used++] = '\n';
		if (++rows == IMPORT_BATCH) {
			rc = post_batch(x, path, first, batch, used, &im);
			used = 0;
			rows = 0;
			first = lineno + 1;
		}
	}
	if (rc == EXIT_OK && ferror(in)) {
		fprintf(stderr, "smppctl: %s: read error after line %lu\n", file, lineno);
		rc = EXIT_FAIL;
	}
	if (rc == EXIT_OK && rows)
		rc = post_batch(x, path, first, batch, used, &im);
	free(batch);
	if (in != stdin)
		fclose(in);
	json_arr_end(&im.rejects);
	if (x->json) {
		printf("{\"accepted\":%lu,\"rejected_count\":%lu,\"rejected\":%s,\"complete\":%s}\n",
		    im.accepted, im.rejected, im.rejects.buf ? im.rejects.buf : "[]",
		    rc == EXIT_OK ? "true" : "false");
	} else {
		printf("%lu rows accepted, %lu rejected%s\n", im.accepted, im.rejected,
		    rc == EXIT_OK ? "" : " (stopped early: later lines were not sent)");
	}
	json_out_free(&im.rejects);
	return rc != EXIT_OK ? rc : im.rejected ? EXIT_FAIL : EXIT_OK;
}

/* CSV field: quoted when it holds a comma, quote or line break. */
static void csv_out(const char *s, int last)
{
	if (strcspn(s, ",\"\r\n") == strlen(s)) {
		fputs(s, stdout);
	} else {
		putchar('"');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	}
	putchar(last ? '\n' : ',');
}

typedef void csv_row(const struct json_doc *d, const struct json_node *o);

static void optout_row(const struct json_doc *d, const struct json_node *o)
{
	const char *brand = json_text(d, o, "brand");
	csv_out(json_text(d, o, "number"), 0);
	csv_out(strcmp(brand, "null") ? brand : "", 0);
	csv_out(json_text(d, o, "time"), 1);
}

static void consent_row(const struct json_doc *d, const struct json_node *o)
{
	static const char *const cols[] = { "number", "brand", "campaign", "method", "time", "who",
		"purpose", "evidence" };
	for (int i = 0; i < 8; i++) {
		const char *v = json_text(d, o, cols[i]);
		char t[32];
		if (i == 4) { /* back to Unix seconds, as import takes them */
			int64_t ms = admin_parse_time(v, 0);
			snprintf(t, sizeof(t), "%lld", (long long)(ms > 0 ? ms / 1000 : 0));
			v = t;
		}
		csv_out(strcmp(v, "null") ? v : "", i == 7);
	}
}

/* Every page of a list as CSV rows (--json: the pages, one a line). */
static int export_pages(struct ctl *x, enum read_kind k, const char *path, const char *member,
    const char *header, csv_row *row)
{
	char after[2 * STORE_STR_MAX + 1] = "";
	if (!x->json)
		printf("%s\n", header);
	for (;;) {
		struct kv q = { .n = 0 };
		struct json_doc d;
		char *body, err[128];
		size_t len;
		int status;
		kv_put(&q, "limit", "10000");
		if (after[0])
			kv_put(&q, "after", after);
		int rc = do_read(x, k, path, &q, NULL, NULL, &body, &len, &status);
		if (rc != EXIT_OK)
			return rc;
		rc = json_parse(body, len, &d, err, sizeof(err));
		if (rc == 0 && (status != 200 || x->json))
			rc = show(x, status, body, len, NULL);
		else if (rc != 0)
			fprintf(stderr, "smppctl: the answer (HTTP %d) is not JSON: %s\n", status, err);
		free(body);
		if (rc != 0)
			return rc < 0 ? EXIT_FAIL : rc;
		const struct json_node *root = json_root(&d);
		for (const struct json_node *o = json_first(&d, json_get(&d, root, member));
		    o && !x->json; o = json_next(&d, o))
			row(&d, o);
		const char *next = json_text(&d, root, "next");
		int more = strcmp(next, "null") != 0 && *next;
		snprintf(after, sizeof(after), "%s", next);
		json_free(&d);
		if (!more)
			return EXIT_OK;
	}
}

static int cmd_optout(struct ctl *x, int argc, char **argv)
{
	static const char *const opts[] = { "number", "brand", "limit", "after", NULL };
	struct kv q = { .n = 0 };
	const char *pos[2];
	char path[512];
	int n = sub_args(argc, argv, opts, &q, pos, 1, 2, "optout");
	if (n < 0)
		return EXIT_USAGE;
	const char *brand = kv_get(&q, "brand");
	if (strcmp(pos[0], "list") == 0 && n == 1)
		return do_read(x, R_OPTOUTS, "/v1/optouts", &q, NULL, print_optouts, NULL, NULL, NULL);
	if (strcmp(pos[0], "export") == 0 && n == 1 && q.n == 0)
		return export_pages(x, R_OPTOUTS, "/v1/optouts", "optouts", "number,brand,time",
		    optout_row);
	if (strcmp(pos[0], "import") == 0 && n == 2 && q.n == 0)
		return import_csv(x, "/v1/optouts/import", pos[1]);
	if (strcmp(pos[0], "add") == 0 && n == 2 && !kv_get(&q, "number")) {
		struct json_out j;
		json_out_init(&j);
		json_obj(&j);
		json_kstr(&j, "number", pos[1]);
		if (brand)
			json_kstr(&j, "brand", brand);
		json_obj_end(&j);
		int rc = j.failed ? EXIT_FAIL :
		    do_write(x, "POST", "/v1/optouts", "application/json", j.buf, j.len, print_result);
		json_out_free(&j);
		return rc;
	}
	if (strcmp(pos[0], "remove") == 0 && n == 2 && !kv_get(&q, "number")) {
		if (segment_path(path, sizeof(path), "/v1/optouts/%s", pos[1]) != 0)
			return EXIT_USAGE;
		if (brand) {
			char *enc = evhttp_encode_uri(brand);
			if (!enc)
				return EXIT_FAIL;
			snprintf(path + strlen(path), sizeof(path) - strlen(path), "?brand=%s", enc);
			free(enc);
		}
		return do_write(x, "DELETE", path, NULL, NULL, 0, print_result);
	}
	usage_error("optout: give list, add NUMBER, remove NUMBER, import CSV or export");
	return EXIT_USAGE;
}

static int cmd_consent(struct ctl *x, int argc, char **argv)
{
	static const char *const opts[] = { "number", "brand", "limit", "after", "campaign", "method", "time",
		"who", "purpose", "evidence", NULL };
	struct kv q = { .n = 0 };
	const char *pos[3];
	int n = sub_args(argc, argv, opts, &q, pos, 1, 3, "consent");
	if (n < 0)
		return EXIT_USAGE;
	if (strcmp(pos[0], "list") == 0 && n == 1)
		return do_read(x, R_CONSENT, "/v1/consent", &q, NULL, print_consent, NULL, NULL, NULL);
	if (strcmp(pos[0], "export") == 0 && n == 1 && q.n == 0)
		return export_pages(x, R_CONSENT, "/v1/consent", "consent",
		    "number,brand,campaign,method,time,who,purpose,evidence", consent_row);
	if (strcmp(pos[0], "import") == 0 && n == 2 && q.n == 0)
		return import_csv(x, "/v1/consent/import", pos[1]);
	int add = strcmp(pos[0], "add") == 0, revoke = strcmp(pos[0], "revoke") == 0;
	if ((add || revoke) && n == 3 && !kv_get(&q, "number") && !kv_get(&q, "brand") &&
	    (add || q.n == (kv_get(&q, "campaign") ? 1 : 0))) {
		struct json_out j;
		json_out_init(&j);
		json_obj(&j);
		json_kstr(&j, "number", pos[1]);
		json_kstr(&j, "brand", pos[2]);
		if (!kv_get(&q, "method"))
			json_kstr(&j, "method", "api");
		for (int i = 0; i < q.n; i++)
			if (strcmp(q.name[i], "limit") != 0)
				json_kstr(&j, q.name[i], q.value[i]);
		json_obj_end(&j);
		int rc = j.failed ? EXIT_FAIL : do_write(x, "POST", add ? "/v1/consent" :
		    "/v1/consent/revoke", "application/json", j.buf, j.len, print_result);
		json_out_free(&j);
		return rc;
	}
	usage_error("consent: give list, add NUMBER BRAND, revoke NUMBER BRAND, import CSV or export");
	return EXIT_USAGE;
}

/* ---- set-up ---- */

static int read_token_file(struct ctl *x, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "smppctl: --token-file %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!fgets(x->token, sizeof(x->token), f))
		x->token[0] = '\0';
	fclose(f);
	x->token[strcspn(x->token, "\r\n")] = '\0';
	if (!x->token[0]) {
		fprintf(stderr, "smppctl: --token-file %s: empty\n", path);
		return -1;
	}
	return 0;
}

static int setup(struct ctl *x)
{
	static char url[128];
	char err[1024];
	const char *env = getenv("SMPPCTL_TOKEN");
	if (x->conf_path) {
		if (config_load(x->conf_path, &x->cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "smppctl: %s\n", err);
			return EXIT_FAIL;
		}
		x->have_cfg = 1;
	}
	if (!x->url && x->have_cfg && x->cfg.admin.enabled) {
		const struct config_admin *a = &x->cfg.admin;
		int v6 = a->address.family == AF_INET6;
		snprintf(url, sizeof(url), "%s://%s%s%s:%d", a->tls.enabled ? "https" : "http",
		    v6 ? "[" : "", a->address.host, v6 ? "]" : "", a->address.port);
		x->url = url;
	}
	if (x->token_file)
		return read_token_file(x, x->token_file) == 0 ? EXIT_OK : EXIT_USAGE;
	if (env && *env)
		snprintf(x->token, sizeof(x->token), "%s", env);
	else if (x->have_cfg && x->cfg.admin.token)
		snprintf(x->token, sizeof(x->token), "%s", x->cfg.admin.token);
	return EXIT_OK;
}

/* libevent's own warnings ("connection failed") repeat what we report. */
static void quiet(int severity, const char *msg)
{
	(void)severity;
	(void)msg;
}

static const struct {
	const char *name;
	int (*fn)(struct ctl *x, int argc, char **argv);
} commands[] = {
	{ "status", cmd_status }, { "stats", cmd_stats }, { "queue", cmd_queue },
	{ "msg", cmd_msg }, { "optout", cmd_optout }, { "consent", cmd_consent },
	{ "campaign", cmd_campaign }, { "audit", cmd_audit },
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "cacert", required_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'j' },
		{ "offline", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct ctl x;
	int opt;
	event_set_log_callback(quiet);
	/* "+": options end at the command, whose own options follow it */
	while ((opt = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': x.conf_path = optarg; break;
		case 'u': x.url = optarg; break;
		case 'T': x.token_file = optarg; break;
		case 'A': x.cacert = optarg; break;
		case 'j': x.json = 1; break;
		case 'o': x.offline = 1; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: fputs("(smppctl --help for usage)\n", stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage_error("give a command");
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) != 0)
			continue;
		if (!x.conf_path && !x.url && access("/etc/smppd/smppd.yaml", R_OK) == 0)
			x.conf_path = "/etc/smppd/smppd.yaml";
		int rc = setup(&x);
		if (rc == EXIT_OK)
			rc = commands[i].fn(&x, argc - optind - 1, argv + optind + 1);
		if (x.st)
			store_close(x.st);
		compliance_free(x.c);
		policy_unref(x.policy);
		if (x.have_cfg)
			config_free(&x.cfg);
		return rc;
	}
	usage_error("unknown command \"%s\"", name);
	return EXIT_USAGE;
}
