/*
 * smppsim app: an upstream application.
 *
 * Binds N sessions, submits M messages flat out or paced at R per second
 * with a window per session, answers deliver_sm, correlates receipts with
 * the ids of the submit_sm_resps, and prints one JSON object: counts,
 * throughput and latency percentiles.
 *
 * Everything per message lives in arrays sized by --count at start-up: the
 * submit time, the latency samples and an open-addressing table of message
 * ids.  A lost connection costs its in-flight messages (counted as
 * "aborted") and is re-bound after a short pause.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "mta/idmap.h"
#include "mta/net.h"
#include "mta/sim.h"
#include "smpp/receipt.h"

#define RECONNECT_MS 200
#define UNBIND_GRACE_MS 2000
#define ALL_LOST_US 10000000 /* no session bound this long: give up */

enum kind { K_TRX, K_TX, K_RX };
enum phase { P_CONNECT, P_SUBMIT, P_WAIT, P_UNBIND };

struct sess {
	struct sim_conn *c;
	enum kind kind;
	int bound, ever_bound, unbinding;
	struct event *retry;
	unsigned idx;
};

/*
 * One message id: 16 bytes, so that the table for a million messages stays
 * within what the caches and the TLB hold.  Ids match by their 64-bit hash
 * alone: two of a run's ids sharing one is about as likely as n^2 / 2^65
 * (3e-8 for a million), far below what the figures could show.
 */
struct hent {
	uint64_t h;
	uint32_t v;     /* states 1, 2: message index; 3: receipt time, us since start */
	uint8_t state;  /* 0 free, 1 accepted, 2 receipt matched, 3 receipt first */
	uint8_t stat;
};

static struct {
	const char *connect, *system_id, *password, *src, *dst, *text, *ids_path;
	const char *coding;
	uint64_t sessions, count, window, dst_range, dst_start, src_range, src_start, mo_expect;
	double rate, wait_receipts, timeout;
	int bind_tx, rd;
} opt;

static struct {
	uint64_t submitted, accepted, timeouts, aborted, unsent, send_errors;
	uint64_t disconnects, reconnects, bind_failures, protocol, link_dead;
	uint64_t receipts[SMPP_STAT_OTHER + 1], matched, dup, unmatched, bad;
	uint64_t mo, empty_id;
	uint32_t rej_key[64];
	uint64_t rej_n[64];
	unsigned nrej;
	int timed_out;
} st;

static struct event_base *base;
static struct sockaddr_storage peer_ss;
static socklen_t peer_len;
static struct sess *sess;
static unsigned nsess, ntx, nbound, rr;
static enum phase phase;
static uint64_t next_msg, inflight;
static uint64_t *send_us;
static uint32_t *lat_resp, *lat_rcpt;
static size_t nlat_resp, nlat_rcpt;
static struct hent *table;
static size_t table_mask, table_used, table_limit;
static uint64_t t_begin_us, t_start_us, t_submitted_us, t_end_us;
static uint64_t unbind_deadline, last_bound_us;
static int exit_code;
static FILE *ids_fp;
static struct smpp_pdu g_sub, g_bind, g_resp;
static uint8_t body[1024];
static size_t body_len;
static char dstbuf[24], srcbuf[24];
static struct event *tick_ev, *pace_ev, *sigterm_ev, *sigint_ev;

static void start_unbind(uint64_t now);

static const char app_usage[] =
"usage: smppsim app --connect ADDR --system-id ID --password PW [options]\n"
"\n"
"An upstream application: binds, submits, collects receipts and prints\n"
"one JSON object with counts, throughput and latency percentiles.\n"
"Exit 0 when it ran (rejects included), 1 on connection or bind failure,\n"
"2 on a usage error.\n"
"\n"
"  --connect ADDR           host:port or [v6]:port of the SMSC\n"
"  --tls-ca FILE            speak TLS; the SMSC's certificate must chain to\n"
"                           FILE and name the host of --connect\n"
"  --tls-cert FILE --tls-key FILE   present this client certificate\n"
"  --system-id ID           bind credentials\n"
"  --password PW\n"
"  --sessions N             sessions to bind (default 1)\n"
"  --bind trx|tx            transceivers, or transmitters plus one receiver\n"
"                           when receipts or MO are wanted (default trx)\n"
"  --count M                messages, spread over the sessions (default 1000)\n"
"  --rate R                 messages per second overall (default: flat out)\n"
"  --window W               outstanding submits per session (default 64)\n"
"  --src ADDR               source address (default 12345)\n"
"  --src-range K            K source numbers from --src in turn (default 1)\n"
"  --dst ADDR               destination; with --dst-range K a start number\n"
"                           incremented per message, K numbers in turn\n"
"  --dst-range K            (default 1: always --dst; default dst 15550000000)\n"
"  --text TEXT              body (default \"Hello from smppsim\")\n"
"  --coding gsm|ucs2|latin1 data_coding 0 (plain ASCII), 8 or 3 (default gsm)\n"
"  --registered-delivery 0|1  ask for receipts (default 0)\n"
"  --wait-receipts SEC      after submitting, wait up to SEC for the receipts\n"
"                           of all accepted messages (default 0: do not wait)\n"
"  --mo-expect N            wait for N MO deliver_sm (up to --timeout, or\n"
"                           30 s after submitting when --timeout is 0)\n"
"  --ids-file FILE          lines \"OUR_INDEX MESSAGE_ID STATUS\"\n"
"  --timeout SEC            give up after SEC in all (default 0: never)\n"
"  -v, --verbose            log events to stderr\n"
"  -h, --help               this text\n";

/* --- options --------------------------------------------------------- */

static int utf8_next(const unsigned char **p, uint32_t *cp)
{
	const unsigned char *s = *p;
	if (s[0] < 0x80) {
		*cp = s[0];
		*p += 1;
		return 0;
	}
	int n = (s[0] & 0xE0) == 0xC0 ? 1 : (s[0] & 0xF0) == 0xE0 ? 2 :
	    (s[0] & 0xF8) == 0xF0 ? 3 : -1;
	if (n < 0)
		return -1;
	uint32_t v = s[0] & (0x3F >> n);
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return -1;
		v = v << 6 | (s[i] & 0x3F);
	}
	*cp = v;
	*p += n + 1;
	return 0;
}

/* The body in the chosen coding, once. */
static int encode_text(void)
{
	const unsigned char *p = (const unsigned char *)opt.text;
	body_len = 0;
	while (*p) {
		uint32_t cp;
		if (utf8_next(&p, &cp) != 0) {
			sim_err("--text: not valid UTF-8");
			return -1;
		}
		if (strcmp(opt.coding, "gsm") == 0) {
			if (cp >= 0x80) {
				sim_err("--text: --coding gsm takes plain ASCII; use --coding ucs2");
				return -1;
			}
			if (body_len + 1 > sizeof body)
				goto long_text;
			body[body_len++] = (uint8_t)cp;
		} else if (strcmp(opt.coding, "latin1") == 0) {
			if (cp > 0xFF) {
				sim_err("--text: U+%04X is not in Latin-1", cp);
				return -1;
			}
			if (body_len + 1 > sizeof body)
				goto long_text;
			body[body_len++] = (uint8_t)cp;
		} else {
			if (body_len + 4 > sizeof body)
				goto long_text;
			if (cp >= 0x10000) {
				uint32_t v = cp - 0x10000;
				uint16_t hi = (uint16_t)(0xD800 | (v >> 10));
				uint16_t lo = (uint16_t)(0xDC00 | (v & 0x3FF));
				body[body_len++] = (uint8_t)(hi >> 8);
				body[body_len++] = (uint8_t)hi;
				body[body_len++] = (uint8_t)(lo >> 8);
				body[body_len++] = (uint8_t)lo;
			} else {
				body[body_len++] = (uint8_t)(cp >> 8);
				body[body_len++] = (uint8_t)cp;
			}
		}
	}
	return 0;
long_text:
	sim_err("--text: at most %zu bytes once encoded", sizeof body);
	return -1;
}

static int addr_ok(const char *name, const char *v)
{
	if (!*v || strlen(v) > 20) {
		sim_err("%s: 1 to 20 characters, got \"%s\"", name, v);
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv)
{
	enum { O_CONNECT = 256, O_SYSID, O_PASSWORD, O_SESSIONS, O_BIND, O_COUNT,
		O_RATE, O_WINDOW, O_SRC, O_SRCRANGE, O_DST, O_DSTRANGE, O_TEXT, O_CODING, O_RD,
		O_WAITR, O_MOEXP, O_IDS, O_TIMEOUT };
	static const struct option longopts[] = {
		{ "connect", required_argument, 0, O_CONNECT },
		{ "system-id", required_argument, 0, O_SYSID },
		{ "password", required_argument, 0, O_PASSWORD },
		{ "sessions", required_argument, 0, O_SESSIONS },
		{ "bind", required_argument, 0, O_BIND },
		{ "count", required_argument, 0, O_COUNT },
		{ "rate", required_argument, 0, O_RATE },
		{ "window", required_argument, 0, O_WINDOW },
		{ "src", required_argument, 0, O_SRC },
		{ "dst", required_argument, 0, O_DST },
		{ "dst-range", required_argument, 0, O_DSTRANGE },
		{ "src-range", required_argument, 0, O_SRCRANGE },
		{ "text", required_argument, 0, O_TEXT },
		{ "coding", required_argument, 0, O_CODING },
		{ "registered-delivery", required_argument, 0, O_RD },
		{ "wait-receipts", required_argument, 0, O_WAITR },
		{ "mo-expect", required_argument, 0, O_MOEXP },
		{ "ids-file", required_argument, 0, O_IDS },
		{ "timeout", required_argument, 0, O_TIMEOUT },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	uint64_t v;
	opt.sessions = 1;
	opt.count = 1000;
	opt.window = 64;
	opt.src = "12345";
	opt.dst = "15550000000";
	opt.dst_range = 1;
	opt.src_range = 1;
	opt.text = "Hello from smppsim";
	opt.coding = "gsm";
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
		const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
		switch (c) {
		case 'h':
			fputs(app_usage, stdout);
			exit(SIM_EXIT_OK);
		case 'v': sim_verbose = 1; break;
		case O_CONNECT: opt.connect = optarg; break;
		case O_SYSID:
			if (!*optarg || strlen(optarg) > 15) {
				sim_err("--system-id: 1 to 15 characters");
				return -1;
			}
			opt.system_id = optarg;
			break;
		case O_PASSWORD:
			if (strlen(optarg) > 8) {
				sim_err("--password: at most 8 characters");
				return -1;
			}
			opt.password = optarg;
			break;
		case O_SESSIONS:
			if (sim_parse_u64("--sessions", optarg, 1, 256, &opt.sessions))
				return -1;
			break;
		case O_BIND:
			if (strcmp(optarg, "trx") == 0)
				opt.bind_tx = 0;
			else if (strcmp(optarg, "tx") == 0)
				opt.bind_tx = 1;
			else {
				sim_err("--bind: expected trx or tx, got \"%s\"", optarg);
				return -1;
			}
			break;
		case O_COUNT:
			if (sim_parse_u64("--count", optarg, 0, 100000000, &opt.count))
				return -1;
			break;
		case O_RATE:
			if (sim_parse_double("--rate", optarg, 0.001, 1e8, &opt.rate))
				return -1;
			break;
		case O_WINDOW:
			if (sim_parse_u64("--window", optarg, 1, 65536, &opt.window))
				return -1;
			break;
		case O_SRC:
			if (addr_ok("--src", optarg))
				return -1;
			opt.src = optarg;
			break;
		case O_DST:
			if (addr_ok("--dst", optarg))
				return -1;
			opt.dst = optarg;
			break;
		case O_SRCRANGE:
			if (sim_parse_u64("--src-range", optarg, 1, 1000000000ull, &opt.src_range))
				return -1;
			break;
		case O_DSTRANGE:
			if (sim_parse_u64("--dst-range", optarg, 1, 1000000000000ull, &opt.dst_range))
				return -1;
			break;
		case O_TEXT: opt.text = optarg; break;
		case O_CODING:
			if (strcmp(optarg, "gsm") && strcmp(optarg, "ucs2") &&
			    strcmp(optarg, "latin1")) {
				sim_err("--coding: expected gsm, ucs2 or latin1, got \"%s\"", optarg);
				return -1;
			}
			opt.coding = optarg;
			break;
		case O_RD:
			if (sim_parse_u64("--registered-delivery", optarg, 0, 1, &v))
				return -1;
			opt.rd = (int)v;
			break;
		case O_WAITR:
			if (sim_parse_double("--wait-receipts", optarg, 0, 86400, &opt.wait_receipts))
				return -1;
			break;
		case O_MOEXP:
			if (sim_parse_u64("--mo-expect", optarg, 0, 100000000, &opt.mo_expect))
				return -1;
			break;
		case O_IDS: opt.ids_path = optarg; break;
		case O_TIMEOUT:
			if (sim_parse_double("--timeout", optarg, 0, 864000, &opt.timeout))
				return -1;
			break;
		case ':':
			sim_err("%s: needs a value", name);
			return -1;
		default:
			sim_err("app: unknown option %s (see smppsim app --help)", name);
			return -1;
		}
	}
	if (optind < argc) {
		sim_err("app: unexpected argument \"%s\"", argv[optind]);
		return -1;
	}
	if (!opt.connect) {
		sim_err("app: --connect ADDR is required");
		return -1;
	}
	if (!opt.system_id) {
		sim_err("app: --system-id ID is required");
		return -1;
	}
	if (!opt.password) {
		sim_err("app: --password PW is required");
		return -1;
	}
	if (opt.dst_range > 1) {
		char *end;
		opt.dst_start = strtoull(opt.dst, &end, 10);
		if (*end || opt.dst[0] < '0' || opt.dst[0] > '9') {
			sim_err("--dst: must be a number when --dst-range is given, got \"%s\"",
			    opt.dst);
			return -1;
		}
	}
	if (opt.src_range > 1) {
		char *end;
		opt.src_start = strtoull(opt.src, &end, 10);
		if (*end || opt.src[0] < '0' || opt.src[0] > '9') {
			sim_err("--src: must be a number when --src-range is given, got \"%s\"",
			    opt.src);
			return -1;
		}
	}
	if (encode_text() != 0)
		return -1;
	return 0;
}

/* --- message ids ----------------------------------------------------- */

/* The entry for the id hashed to h, or the empty one where it would go. */
static struct hent *lookup(uint64_t h)
{
	for (size_t i = h & table_mask;; i = (i + 1) & table_mask) {
		struct hent *e = &table[i];
		if (e->state == 0 || e->h == h)
			return e;
	}
}

static void put_key(struct hent *e, uint64_t h)
{
	e->h = h;
	table_used++;
}

/* 32 bits of microseconds since the start: 71 minutes, then it saturates. */
static uint32_t since_start_us(uint64_t t_us)
{
	uint64_t d = t_us > t_begin_us ? t_us - t_begin_us : 0;
	return d < UINT32_MAX ? (uint32_t)d : UINT32_MAX;
}

static void got_receipt_for(uint32_t idx, uint64_t t_us)
{
	st.matched++;
	if (t_us >= send_us[idx])
		lat_rcpt[nlat_rcpt++] = (uint32_t)(t_us - send_us[idx]);
}

static void match_accepted(uint64_t h, uint32_t idx)
{
	struct hent *e = lookup(h);
	if (e->state == 0) {
		if (table_used >= table_limit)
			return;
		put_key(e, h);
		e->v = idx;
		e->state = 1;
	} else if (e->state == 3) {
		uint64_t t_us = t_begin_us + e->v;
		e->v = idx;
		e->state = 2;
		st.unmatched--;
		got_receipt_for(idx, t_us);
	}
	/* state 1 or 2: the carrier reused an id; keep the first */
}

static void match_receipt(uint64_t h, uint8_t stat, uint64_t now_us)
{
	struct hent *e = lookup(h);
	switch (e->state) {
	case 0:
		st.unmatched++;
		if (table_used >= table_limit)
			return;
		put_key(e, h);
		e->state = 3;
		e->v = since_start_us(now_us);
		e->stat = stat;
		break;
	case 1:
		e->state = 2;
		got_receipt_for(e->v, now_us);
		break;
	default:
		st.dup++;
		break;
	}
}

/*
 * Ids are matched at the end of the loop round that read them, not as each
 * answer or receipt is read: the table is too big for the caches, and its
 * entry, prefetched when the id was read, has arrived by then.  Matching
 * at once waited for memory twice per message, a quarter of this
 * program's time.  Order is kept (an answer and its receipt can come in
 * one round); times are those of the reads.
 */
#define PENDING_MAX 4096

static struct pending_id {
	uint64_t h, t_us;
	uint32_t idx;
	uint8_t receipt, stat;
} pending_ids[PENDING_MAX];
static size_t npending_ids;

static void match_pending(void)
{
	for (size_t i = 0; i < npending_ids; i++) {
		const struct pending_id *p = &pending_ids[i];
		if (p->receipt)
			match_receipt(p->h, p->stat, p->t_us);
		else
			match_accepted(p->h, p->idx);
	}
	npending_ids = 0;
}

/* The id's hash, its table entry on its way to the cache; 0 when the id
 * is not one (empty). */
static uint64_t defer_id(const char *id)
{
	char key[128];
	if (smpp_msgid_normalize(id, strlen(id), key, sizeof key) < 0)
		return 0;
	uint64_t h = idmap_hash(key, 0);	/* FNV-1a, never 0 */
	__builtin_prefetch(&table[h & table_mask]);
	if (npending_ids == PENDING_MAX)
		match_pending();
	return h;
}

static void on_accepted(uint32_t idx, const char *id, uint64_t now_us)
{
	uint64_t h = defer_id(id);
	if (!h) {
		st.empty_id++;
		return;
	}
	pending_ids[npending_ids++] = (struct pending_id){ h, now_us, idx, 0, 0 };
}

static void on_receipt(const struct smpp_receipt *r, uint64_t now_us)
{
	st.receipts[r->stat <= SMPP_STAT_OTHER ? r->stat : SMPP_STAT_OTHER]++;
	uint64_t h = defer_id(r->id);
	if (!h) {
		st.bad++;
		return;
	}
	pending_ids[npending_ids++] = (struct pending_id){ h, now_us, 0, 1, (uint8_t)r->stat };
}

static void count_reject(uint32_t status)
{
	for (unsigned i = 0; i < st.nrej; i++) {
		if (st.rej_key[i] == status) {
			st.rej_n[i]++;
			return;
		}
	}
	if (st.nrej < 64) {
		st.rej_key[st.nrej] = status;
		st.rej_n[st.nrej++] = 1;
	}
}

/* --- sessions -------------------------------------------------------- */

static void on_connected(struct sim_conn *c, uint64_t now)
{
	struct sess *s = &sess[c->tag];
	uint32_t cmd = s->kind == K_TRX ? SMPP_BIND_TRANSCEIVER :
	    s->kind == K_TX ? SMPP_BIND_TRANSMITTER : SMPP_BIND_RECEIVER;
	smpp_pdu_init(&g_bind, cmd, 0);
	g_bind.system_id = opt.system_id;
	g_bind.password = opt.password;
	g_bind.interface_version = 0x34;
	if (sim_conn_send(c, &g_bind, 0, now) != 0)
		sim_err("session %u: cannot send the bind", s->idx);
}

static void fatal(int code)
{
	if (!exit_code)
		exit_code = code;
	event_base_loopbreak(base);
}

static int send_one(struct sess *s, uint64_t now)
{
	uint64_t i = next_msg;
	if (opt.dst_range > 1)
		snprintf(dstbuf, sizeof dstbuf, "%" PRIu64,
		    opt.dst_start + i % opt.dst_range);
	if (opt.src_range > 1)
		snprintf(srcbuf, sizeof srcbuf, "%" PRIu64, opt.src_start + i % opt.src_range);
	send_us[i] = sim_now_us();
	int rc = sim_conn_send(s->c, &g_sub, i + 1, now);
	if (rc != 0)
		return rc;
	next_msg++;
	st.submitted++;
	inflight++;
	return 0;
}

static void pump(uint64_t now)
{
	if (phase != P_SUBMIT || ntx == 0)
		return;
	uint64_t limit = opt.count;
	if (opt.rate > 0) {
		double el = (double)(sim_now_us() - t_start_us) / 1e6;
		uint64_t allowed = (uint64_t)(el * opt.rate) + 1;
		if (allowed < limit)
			limit = allowed;
	}
	unsigned idle = 0;
	while (next_msg < limit && idle < nsess) {
		struct sess *s = &sess[rr];
		rr = rr + 1 == nsess ? 0 : rr + 1;
		if (!s->bound || s->kind == K_RX || !sim_conn_has_room(s->c) ||
		    send_one(s, now) != 0) {
			idle++;
			continue;
		}
		idle = 0;
	}
}

static void on_response(struct sim_conn *c, const struct smpp_event *ev)
{
	if (ev->cookie == 0 || ev->cookie > opt.count)
		return;
	uint32_t idx = (uint32_t)(ev->cookie - 1);
	uint64_t now_us = sim_now_us();
	lat_resp[nlat_resp++] = (uint32_t)(now_us - send_us[idx]);
	inflight--;
	const char *id = ev->pdu && ev->pdu->message_id ? ev->pdu->message_id : "";
	if (ev->status == 0) {
		st.accepted++;
		on_accepted(idx, id, now_us);
		if (ids_fp)
			fprintf(ids_fp, "%u %s 0x%08x\n", idx, *id ? id : "-", 0u);
	} else {
		count_reject(ev->status);
		if (ids_fp)
			fprintf(ids_fp, "%u - 0x%08x\n", idx, ev->status);
	}
	if (sim_verbose)
		sim_err("resp index=%u id=%s status=0x%08x", idx, *id ? id : "-",
		    ev->status);
}

static void on_deliver(struct sim_conn *c, const struct smpp_event *ev)
{
	struct smpp_receipt r;
	int rc = smpp_receipt_from_pdu(ev->pdu, &r);
	if (rc == 1)
		on_receipt(&r, sim_now_us());
	else if (rc == 0)
		st.mo++;
	else
		st.bad++;
	if (sim_verbose)
		sim_err("deliver_sm %s id=%s stat=%s", rc == 1 ? "receipt" : rc == 0 ?
		    "mo" : "bad", rc == 1 ? r.id : "-", rc == 1 ? smpp_stat_name(r.stat) : "-");
	smpp_pdu_init_resp(&g_resp, ev->pdu, 0);
	sim_conn_respond(c, &g_resp);
}

static void on_event(struct sim_conn *c, const struct smpp_event *ev, uint64_t now)
{
	struct sess *s = &sess[c->tag];
	switch (ev->kind) {
	case SMPP_EV_BOUND:
		s->bound = 1;
		nbound++;
		if (s->ever_bound)
			st.reconnects++;
		s->ever_bound = 1;
		if (sim_verbose)
			sim_err("session %u bound", s->idx);
		if (phase == P_CONNECT && nbound == nsess) {
			phase = P_SUBMIT;
			t_start_us = sim_now_us();
		}
		break;
	case SMPP_EV_BIND_FAILED:
		st.bind_failures++;
		sim_err("session %u: bind refused: %s (0x%08x)", s->idx,
		    smpp_status_name(ev->status), ev->status);
		if (!s->ever_bound) {
			fatal(SIM_EXIT_FAIL);
			break;
		}
		smpp_session_close(c->s);
		break;
	case SMPP_EV_RESPONSE:
		on_response(c, ev);
		break;
	case SMPP_EV_TIMEOUT:
		if (ev->cookie && ev->cookie <= opt.count) {
			st.timeouts++;
			inflight--;
		}
		break;
	case SMPP_EV_ABORTED:
		if (ev->cookie && ev->cookie <= opt.count) {
			st.aborted++;
			inflight--;
		}
		break;
	case SMPP_EV_REQUEST:
		if (!ev->needs_response)
			break;
		if (ev->command_id == SMPP_DELIVER_SM || ev->command_id == SMPP_DATA_SM) {
			on_deliver(c, ev);
		} else {
			smpp_pdu_init_resp(&g_resp, ev->pdu, 0);
			sim_conn_respond(c, &g_resp);
		}
		break;
	case SMPP_EV_PROTOCOL_ERROR:
		st.protocol++;
		if (ev->matched && ev->cookie && ev->cookie <= opt.count)
			inflight--;
		break;
	case SMPP_EV_LINK_DEAD:
		st.link_dead++;
		break;
	case SMPP_EV_UNBOUND:
		s->unbinding = 1;
		break;
	default:
		break;
	}
}

static void retry_cb(evutil_socket_t fd, short what, void *arg);

static void on_gone(struct sim_conn *c)
{
	struct sess *s = &sess[c->tag];
	s->c = NULL;
	if (s->bound) {
		s->bound = 0;
		nbound--;
	}
	if (phase == P_UNBIND || exit_code)
		return;
	if (!s->ever_bound) {
		sim_err("session %u: cannot connect or bind to %s", s->idx, opt.connect);
		fatal(SIM_EXIT_FAIL);
		return;
	}
	st.disconnects++;
	if (sim_verbose)
		sim_err("session %u lost; re-binding", s->idx);
	struct timeval tv = { 0, RECONNECT_MS * 1000 };
	event_add(s->retry, &tv);
}

static const struct sim_conn_ops app_ops = { on_event, on_connected, on_gone };

static int open_session(struct sess *s)
{
	static const struct smpp_session_config tmpl = {
		.role = SMPP_ROLE_ESME,
		.out_cap = 256u << 10,
		.response_timeout_ms = 30000,
		.enquire_link_ms = 30000,
	};
	struct smpp_session_config cfg = tmpl;
	cfg.window = (uint32_t)opt.window;
	struct sim_conn *c = sim_conn_new(-1, &cfg, &app_ops);
	if (!c)
		return -1;
	c->tag = (int)s->idx;
	c->can_tx = s->kind != K_RX;
	c->can_rx = s->kind != K_TX;
	snprintf(c->peer, sizeof c->peer, "%s", opt.connect);
	s->c = c;
	s->unbinding = 0;
	if (sim_conn_connect(c, (struct sockaddr *)&peer_ss, peer_len) != 0) {
		/* the error comes back through the event callback */
		return 0;
	}
	return 0;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sess *s = arg;
	if (phase == P_UNBIND || s->c)
		return;
	if (open_session(s) != 0) {
		struct timeval tv = { 1, 0 };
		event_add(s->retry, &tv);
	}
	sim_flush_dirty();
}

/* --- progress -------------------------------------------------------- */

static void start_unbind(uint64_t now)
{
	if (phase == P_UNBIND)
		return;
	phase = P_UNBIND;
	if (!t_end_us)
		t_end_us = sim_now_us();
	unbind_deadline = now + UNBIND_GRACE_MS;
	for (unsigned i = 0; i < nsess; i++) {
		struct sess *s = &sess[i];
		if (s->retry)
			event_del(s->retry);
		if (!s->c)
			continue;
		if (s->bound && !s->unbinding)
			sim_conn_unbind(s->c, now);
		else if (!s->bound)
			smpp_session_close(s->c->s);
	}
}

static void progress(uint64_t now)
{
	uint64_t now_us = sim_now_us();
	if (opt.timeout > 0 && phase != P_UNBIND &&
	    (double)(now_us - t_begin_us) / 1e6 >= opt.timeout) {
		st.timed_out = 1;
		sim_err("app: --timeout reached");
		if (phase == P_CONNECT && nbound < nsess) {
			fatal(SIM_EXIT_FAIL);
			return;
		}
		start_unbind(now);
	}
	if (nbound > 0 || phase == P_CONNECT)
		last_bound_us = now_us;
	else if (phase != P_UNBIND && now_us - last_bound_us > ALL_LOST_US) {
		sim_err("app: no session bound for %d s; giving up", ALL_LOST_US / 1000000);
		start_unbind(now);
	}
	if (phase == P_SUBMIT) {
		if (next_msg == opt.count && inflight == 0) {
			phase = P_WAIT;
			t_submitted_us = now_us;
		}
	}
	if (phase == P_WAIT) {
		double waited = (double)(now_us - t_submitted_us) / 1e6;
		int rdone = !opt.rd || opt.wait_receipts <= 0 ||
		    st.matched >= st.accepted || waited >= opt.wait_receipts;
		double mo_wait = opt.timeout > 0 ? 1e18 : 30;
		int mdone = st.mo >= opt.mo_expect || waited >= mo_wait;
		if (rdone && mdone) {
			t_end_us = now_us;
			start_unbind(now);
		}
	}
	if (phase == P_UNBIND && (sim_conn_count() == 0 || now >= unbind_deadline))
		event_base_loopbreak(base);
}

static void app_after(uint64_t now)
{
	match_pending();
	pump(now);
	progress(now);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = sim_now_ms();
	sim_tick_all(now);
	app_after(now);
	sim_flush_dirty();
}

static void pace_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = sim_now_ms();
	pump(now);
	sim_flush_dirty();
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	sim_err("app: interrupted");
	start_unbind(sim_now_ms());
	sim_flush_dirty();
}

/* --- report ---------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(const uint32_t *v, size_t n, double q)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)ceil(q * (double)n);
	i = i == 0 ? 0 : i - 1;
	if (i >= n)
		i = n - 1;
	return v[i] / 1000.0;
}

static void report(void)
{
	match_pending();
	uint64_t end = t_end_us ? t_end_us : sim_now_us();
	uint64_t sub_end = t_submitted_us ? t_submitted_us : end;
	double dur = t_start_us && sub_end > t_start_us ?
	    (double)(sub_end - t_start_us) / 1e6 : 0;
	double elapsed = (double)(end - t_begin_us) / 1e6;
	qsort(lat_resp, nlat_resp, sizeof *lat_resp, cmp_u32);
	qsort(lat_rcpt, nlat_rcpt, sizeof *lat_rcpt, cmp_u32);
	st.unsent = opt.count - next_msg;

	printf("{\"submitted\":%" PRIu64 ",\"accepted\":%" PRIu64 ",\"rejected\":{",
	    st.submitted, st.accepted);
	for (unsigned i = 0; i < st.nrej; i++)
		printf("%s\"0x%08x\":%" PRIu64, i ? "," : "", st.rej_key[i], st.rej_n[i]);
	printf("},\"receipts\":{");
	int first = 1;
	for (int s = 0; s <= SMPP_STAT_OTHER; s++) {
		if (!st.receipts[s])
			continue;
		printf("%s\"%s\":%" PRIu64, first ? "" : ",",
		    smpp_stat_name((enum smpp_stat)s), st.receipts[s]);
		first = 0;
	}
	printf("},\"receipts_matched\":%" PRIu64 ",\"mo_received\":%" PRIu64
	    ",\"sessions\":%u,\"duration_s\":%.3f,\"elapsed_s\":%.3f"
	    ",\"throughput\":%.1f",
	    st.matched, st.mo, nsess, dur, elapsed,
	    dur > 0 ? (double)st.accepted / dur : 0.0);
	printf(",\"latency_ms\":{\"submit_resp\":{\"p50\":%.3f,\"p90\":%.3f,"
	    "\"p99\":%.3f,\"p99.9\":%.3f,\"max\":%.3f},"
	    "\"submit_receipt\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}}",
	    pct(lat_resp, nlat_resp, .5), pct(lat_resp, nlat_resp, .9),
	    pct(lat_resp, nlat_resp, .99), pct(lat_resp, nlat_resp, .999),
	    pct(lat_resp, nlat_resp, 1), pct(lat_rcpt, nlat_rcpt, .5),
	    pct(lat_rcpt, nlat_rcpt, .99), pct(lat_rcpt, nlat_rcpt, 1));
	uint64_t total = st.timeouts + st.aborted + st.unsent + st.disconnects +
	    st.bind_failures + st.protocol + st.link_dead + st.unmatched + st.dup +
	    st.bad + st.empty_id + (uint64_t)st.timed_out;
	printf(",\"errors\":{\"total\":%" PRIu64 ",\"timeouts\":%" PRIu64
	    ",\"aborted\":%" PRIu64 ",\"unsent\":%" PRIu64 ",\"disconnects\":%" PRIu64
	    ",\"reconnects\":%" PRIu64 ",\"bind_failures\":%" PRIu64
	    ",\"protocol\":%" PRIu64 ",\"link_dead\":%" PRIu64
	    ",\"receipts_unmatched\":%" PRIu64 ",\"receipts_duplicate\":%" PRIu64
	    ",\"receipts_bad\":%" PRIu64 ",\"empty_ids\":%" PRIu64
	    ",\"timed_out\":%d}}\n",
	    total, st.timeouts, st.aborted, st.unsent, st.disconnects, st.reconnects,
	    st.bind_failures, st.protocol, st.link_dead, st.unmatched, st.dup, st.bad,
	    st.empty_id, st.timed_out);
	fflush(stdout);
}

/* --- main ------------------------------------------------------------ */

static int setup_template(void)
{
	smpp_pdu_init(&g_sub, SMPP_SUBMIT_SM, 0);
	int alpha = 0;
	for (const char *p = opt.src; *p; p++)
		if ((*p < '0' || *p > '9') && *p != '+')
			alpha = 1;
	g_sub.source = (struct smpp_addr){ alpha ? 5 : 1, alpha ? 0 : 1, opt.src };
	if (opt.src_range > 1) {
		snprintf(srcbuf, sizeof srcbuf, "%" PRIu64, opt.src_start);
		g_sub.source.addr = srcbuf;
	}
	if (opt.dst_range > 1) {
		snprintf(dstbuf, sizeof dstbuf, "%" PRIu64, opt.dst_start);
		g_sub.dest = (struct smpp_addr){ 1, 1, dstbuf };
	} else {
		g_sub.dest = (struct smpp_addr){ 1, 1, opt.dst };
	}
	g_sub.registered_delivery = (uint8_t)opt.rd;
	g_sub.data_coding = strcmp(opt.coding, "ucs2") == 0 ? 8 :
	    strcmp(opt.coding, "latin1") == 0 ? 3 : 0;
	if (body_len <= SMPP_MAX_SM_LENGTH) {
		g_sub.short_message = body;
		g_sub.sm_length = (uint8_t)body_len;
	} else if (smpp_tlv_add(&g_sub, SMPP_TLV_MESSAGE_PAYLOAD, body,
	    (uint16_t)body_len) != 0) {
		return -1;
	}
	return 0;
}

int sim_app_main(int argc, char **argv)
{
	if (sim_tls_args(&argc, argv) != 0 || parse_args(argc, argv) != 0)
		return SIM_EXIT_USAGE;
	char err[256];
	if (net_parse_addr(opt.connect, &peer_ss, &peer_len, err, sizeof err) != 0) {
		sim_err("--connect: %s", err);
		return SIM_EXIT_USAGE;
	}
	if (sim_tls_setup(0, opt.connect) != 0)
		return SIM_EXIT_USAGE;
	if (setup_template() != 0) {
		sim_err("--text: does not fit a submit_sm");
		return SIM_EXIT_USAGE;
	}

	ntx = (unsigned)opt.sessions;
	nsess = ntx + (opt.bind_tx && (opt.rd || opt.mo_expect) ? 1 : 0);
	size_t cap = 1024;
	while (cap < opt.count * 2 + 1024)
		cap <<= 1;
	sess = calloc(nsess, sizeof *sess);
	send_us = malloc((opt.count + 1) * sizeof *send_us);
	lat_resp = malloc((opt.count + 1) * sizeof *lat_resp);
	lat_rcpt = malloc((opt.count + 1) * sizeof *lat_rcpt);
	table = calloc(cap, sizeof *table);
	if (!sess || !send_us || !lat_resp || !lat_rcpt || !table) {
		sim_err("app: out of memory for --count %" PRIu64, opt.count);
		return SIM_EXIT_FAIL;
	}
	sim_prefault(send_us, (opt.count + 1) * sizeof *send_us);
	sim_prefault(lat_resp, (opt.count + 1) * sizeof *lat_resp);
	sim_prefault(lat_rcpt, (opt.count + 1) * sizeof *lat_rcpt);
	sim_prefault(table, cap * sizeof *table);
	table_mask = cap - 1;
	table_limit = cap / 4 * 3;
	if (opt.ids_path) {
		ids_fp = fopen(opt.ids_path, "w");
		if (!ids_fp) {
			sim_err("--ids-file: cannot open %s: %s", opt.ids_path, strerror(errno));
			return SIM_EXIT_FAIL;
		}
	}

	signal(SIGPIPE, SIG_IGN);
	base = sim_base_new();
	if (!base) {
		sim_err("app: cannot set up the event loop");
		return SIM_EXIT_FAIL;
	}
	sim_init(base);
	sim_set_after(app_after);
	t_begin_us = sim_now_us();
	for (unsigned i = 0; i < nsess; i++) {
		sess[i].idx = i;
		sess[i].kind = i >= ntx ? K_RX : opt.bind_tx ? K_TX : K_TRX;
		sess[i].retry = evtimer_new(base, retry_cb, &sess[i]);
	}
	for (unsigned i = 0; i < nsess && !exit_code; i++) {
		if (open_session(&sess[i]) != 0) {
			sim_err("app: cannot create session %u", i);
			exit_code = SIM_EXIT_FAIL;
		}
	}
	struct timeval tv = { 0, 5000 };
	tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick_ev, &tv);
	if (opt.rate > 0) {
		struct timeval pv = { 0, 1000 };
		pace_ev = event_new(base, -1, EV_PERSIST, pace_cb, NULL);
		event_add(pace_ev, &pv);
	}
	sigterm_ev = evsignal_new(base, SIGTERM, stop_cb, NULL);
	sigint_ev = evsignal_new(base, SIGINT, stop_cb, NULL);
	event_add(sigterm_ev, NULL);
	event_add(sigint_ev, NULL);
	sim_flush_dirty();
	if (!exit_code)
		event_base_dispatch(base);
	phase = P_UNBIND; /* no reconnects while freeing */
	if (t_submitted_us == 0 && inflight == 0 && next_msg == opt.count && t_start_us)
		t_submitted_us = sim_now_us();
	report();

	sim_conn_free_all();
	for (unsigned i = 0; i < nsess; i++)
		if (sess[i].retry)
			event_free(sess[i].retry);
	event_free(tick_ev);
	if (pace_ev)
		event_free(pace_ev);
	event_free(sigterm_ev);
	event_free(sigint_ev);
	event_base_free(base);
	if (ids_fp)
		fclose(ids_fp);
	free(sess);
	free(send_us);
	free(lat_resp);
	free(lat_rcpt);
	free(table);
	sim_tls_free();
	return exit_code;
}
