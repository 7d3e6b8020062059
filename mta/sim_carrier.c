/*
 * smppsim carrier: an SMSC stand-in.
 *
 * Accepts binds, answers submit_sm / data_sm / submit_multi with message
 * ids, and sends Appendix B delivery receipts after a delay with an outcome
 * mix.  Injects error statuses, throttling, slow answers, a stall and
 * periodic disconnects; plays scripted MO messages.  One libevent loop.
 *
 * Queues (receipts due, receipts with no receiver bound, delayed answers)
 * are rings of fixed-size records that grow by doubling, so the steady
 * state allocates nothing per message.  Receipts keep the order they were
 * scheduled in because the delay is one constant.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "mta/net.h"
#include "mta/field.h"
#include "mta/sim.h"
#include "smpp/receipt.h"

#define ADDR_CAP 22 /* source_addr / destination_addr: 21 + NUL */
#define ID_CAP 40
#define MAX_MIX 16
#define TICK_MS 5

/* --- a ring of fixed-size records ----------------------------------- */

struct ring {
	uint8_t *buf;
	size_t esz, cap, head, n;
};

static int ring_push(struct ring *r, const void *e)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		uint8_t *b = malloc(cap * r->esz);
		if (!b)
			return -1;
		for (size_t i = 0; i < r->n; i++)
			memcpy(b + i * r->esz, r->buf + ((r->head + i) % r->cap) * r->esz,
			    r->esz);
		free(r->buf);
		r->buf = b;
		r->cap = cap;
		r->head = 0;
	}
	memcpy(r->buf + ((r->head + r->n) % r->cap) * r->esz, e, r->esz);
	r->n++;
	return 0;
}

static void *ring_front(struct ring *r)
{
	return r->n ? r->buf + r->head * r->esz : NULL;
}

static void ring_pop(struct ring *r)
{
	r->head = (r->head + 1) % r->cap;
	r->n--;
}

/* --- records --------------------------------------------------------- */

struct rcpt {
	uint64_t due;
	int64_t submit_wall;
	char id[ID_CAP];
	char src[ADDR_CAP]; /* of the submit */
	char dst[ADDR_CAP];
	char sysid[17];
	char text[SMPP_RECEIPT_TEXT_MAX];
	uint8_t text_len;
	uint8_t stat;
	uint8_t src_ton, src_npi, dst_ton, dst_npi;
	uint16_t err;
};

/*
 * Receipts sent and not yet answered, by cookie (slot + 1): an SMSC sends
 * a receipt again when the ESME did not take it (error answer, timeout, or
 * the bind went away), and so does the simulator.
 */
#define UNACKED_MAX 65536
static struct rcpt *unacked;
static uint32_t *unacked_free;
static uint32_t unacked_nfree;

static uint64_t unacked_put(const struct rcpt *r)
{
	if (!unacked) {
		unacked = calloc(UNACKED_MAX, sizeof *unacked);
		unacked_free = calloc(UNACKED_MAX, sizeof *unacked_free);
		if (!unacked || !unacked_free)
			return 0;
		for (uint32_t i = 0; i < UNACKED_MAX; i++)
			unacked_free[i] = UNACKED_MAX - 1 - i;
		unacked_nfree = UNACKED_MAX;
	}
	if (unacked_nfree == 0)
		return 0; /* untracked: not resent */
	uint32_t slot = unacked_free[--unacked_nfree];
	unacked[slot] = *r;
	return (uint64_t)slot + 1;
}

/* The receipt behind cookie, removed from the table (NULL if none). */
static const struct rcpt *unacked_take(uint64_t cookie)
{
	if (cookie == 0 || cookie > UNACKED_MAX || !unacked)
		return NULL;
	uint32_t slot = (uint32_t)(cookie - 1);
	unacked_free[unacked_nfree++] = slot;
	return &unacked[slot];
}

struct dresp {
	uint64_t due;
	uint32_t slot, gen, cmd, seq, status;
	char id[ID_CAP];
};

struct mo {
	char src[ADDR_CAP], dst[ADDR_CAP];
	char *text;
	size_t len;
};

enum id_format { ID_HEX, ID_DEC, ID_UUID };

/* --dst: what one destination always gets, overriding the mixes. */
struct dst_result {
	char dst[ADDR_CAP];
	uint32_t status;  /* submit_sm_resp status; 0: accepted, then ... */
	uint32_t stat;    /* ... a receipt in this state (smpp_stat) */
	uint16_t err;     /* with this err: value */
};

struct mix {
	uint32_t key;    /* status, or smpp_stat */
	uint32_t weight; /* parts per million (errors) or a weight (outcomes) */
};

enum deliver_mode { DELIVER_BIND = 0, DELIVER_OUTBIND };

static struct {
	const char *listen, *system_id, *password, *log_path, *mo_path;
	/* --deliver-to: we connect to smppd's carrier listener */
	const char *deliver_to, *deliver_id, *deliver_password, *deliver_for;
	int deliver_mode;
	const char *mo_at_bind, *mo_src, *mo_dst;
	enum id_format id_format;
	uint64_t receipt_delay, slow, stall_after, disconnect_every, duration;
	uint64_t mo_interval, mo_delay, window, seed;
	int seeded, receipt_tlvs, throttle_all;
	struct mix errors[MAX_MIX];
	unsigned nerrors;
	struct mix outcomes[MAX_MIX];
	unsigned noutcomes;
	uint32_t outcome_total;
	struct dst_result dsts[MAX_MIX];
	unsigned ndsts;
} opt;

static struct {
	uint64_t submits, stalled, mo_sent, binds, bind_rejects, disconnects;
	uint64_t receipts_lost, receipts_resent, deliver_errors, unbinds;
	uint64_t receipts[SMPP_STAT_OTHER + 1];
	struct mix status[64]; /* weight holds the count */
	unsigned nstatus;
	uint64_t status_other;
} st;

static struct event_base *base;
static struct sim_rng rng;
static uint64_t next_id, bind_counter;
static struct ring due_q = { .esz = sizeof(struct rcpt) };
static struct ring parked_q = { .esz = sizeof(struct rcpt) };
static struct ring dresp_q = { .esz = sizeof(struct dresp) };
static int new_receiver;
static FILE *log_fp;
static struct mo *mos;
static size_t nmos, mo_next;
static uint64_t mo_due;
static struct smpp_pdu g_pdu, g_resp; /* scratch, too big for the stack */
static uint32_t rr_next;

static const struct smpp_session_config conn_cfg_tmpl = {
	.role = SMPP_ROLE_SMSC,
	.in_window = SMPP_SESSION_MAX_WINDOW,
	.out_cap = 256u << 10,
	.response_timeout_ms = 30000,
};
static struct smpp_session_config conn_cfg;

/* --- options --------------------------------------------------------- */

#define DELIVER_RETRY_MS 200

static const char carrier_usage[] =
"usage: smppsim carrier --listen ADDR [options]\n"
"\n"
"A carrier SMSC stand-in.  With port 0 the first stdout line is\n"
"{\"listening\":\"HOST:PORT\"}.  SIGTERM, SIGINT or --duration end it with a\n"
"JSON stats line on stdout.\n"
"\n"
"  --listen ADDR            host:port, [v6]:port or :port (port 0: any)\n"
"  --tls-cert FILE --tls-key FILE   speak TLS with this certificate\n"
"  --tls-ca FILE            and require client certificates that chain to FILE\n"
"  --system-id ID           require this system_id (else ESME_RINVSYSID)\n"
"  --password PW            require this password (else ESME_RINVPASWD)\n"
"  --id-format hex|dec|uuid message id notation (default hex)\n"
"  --receipt-delay MS       delay before a receipt (default 0)\n"
"  --receipt-tlvs on|off    receipted_message_id + message_state (default on)\n"
"  --outcomes MIX           receipt states by weight, default delivrd=100;\n"
"                           e.g. delivrd=95,undeliv=3,expired=1,rejectd=1\n"
"                           (delivrd undeliv expired rejectd deleted unknown\n"
"                           acceptd enroute)\n"
"  --seed N                 make outcome and error draws repeatable\n"
"  --error MIX              submit_sm_resp statuses for shares of submits,\n"
"                           e.g. 0x58=5%,0x64=1%,0x65=1%\n"
"  --throttle-all           answer every submit with ESME_RTHROTTLED (0x58);\n"
"                           SIGUSR1 turns this on and off while running\n"
"  --dst DST=RESULT         submits to DST (PREFIX* for a prefix) always get\n"
"                           RESULT (repeatable, first match wins):\n"
"                           STATE:ERR a receipt in STATE with err:ERR (e.g.\n"
"                           undeliv:11), or a submit_sm_resp status (0x0b)\n"
"  --slow MS                delay every submit answer\n"
"  --stall-after N          stop answering after N submits (keep the link)\n"
"  --disconnect-every SEC   close all connections periodically\n"
"  --mo FILE                lines \"SRC DST TEXT\" sent as MO deliver_sm to the\n"
"                           first receiver/transceiver bind\n"
"  --mo-interval MS         pause between MO messages (default 0)\n"
"  --mo-delay MS            send the first MO no sooner than MS after start\n"
"  --mo-at-bind TEXT        send one MO with TEXT to every receiver bind\n"
"  --mo-src ADDR, --mo-dst ADDR  addresses of --mo-at-bind (15550001111, 12345)\n"
"  --window N               outstanding deliver_sm per bind (default 1024)\n"
"  --log-submits FILE       per submit: T_MS SRC DST CARRIER_ID SEGMENT STATUS\n"
"  --duration SEC           stop after SEC seconds\n"
"  -v, --verbose            log binds and every PDU event to stderr\n"
"  -h, --help               this text\n";

static int parse_stat(const char *name, size_t n, uint32_t *out)
{
	static const struct { const char *name; enum smpp_stat stat; } t[] = {
		{ "delivrd", SMPP_STAT_DELIVRD }, { "undeliv", SMPP_STAT_UNDELIV },
		{ "expired", SMPP_STAT_EXPIRED }, { "rejectd", SMPP_STAT_REJECTD },
		{ "deleted", SMPP_STAT_DELETED }, { "unknown", SMPP_STAT_UNKNOWN },
		{ "acceptd", SMPP_STAT_ACCEPTD }, { "enroute", SMPP_STAT_ENROUTE },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		if (strlen(t[i].name) == n && strncasecmp(name, t[i].name, n) == 0) {
			*out = t[i].stat;
			return 0;
		}
	}
	return -1;
}

static int parse_outcomes(const char *s)
{
	const char *p = s;
	opt.noutcomes = 0;
	opt.outcome_total = 0;
	while (*p) {
		const char *eq = strchr(p, '=');
		const char *comma = strchr(p, ',');
		if (!comma)
			comma = p + strlen(p);
		char *end;
		if (!eq || eq > comma || opt.noutcomes == MAX_MIX)
			goto bad;
		struct mix *m = &opt.outcomes[opt.noutcomes];
		if (parse_stat(p, (size_t)(eq - p), &m->key) != 0)
			goto bad;
		unsigned long w = strtoul(eq + 1, &end, 10);
		if (end == eq + 1 || (*end && *end != ',' && *end != '%') ||
		    w > 1000000)
			goto bad;
		if (*end == '%')
			end++;
		if (end != comma)
			goto bad;
		m->weight = (uint32_t)w;
		opt.outcome_total += m->weight;
		opt.noutcomes++;
		p = *comma ? comma + 1 : comma;
	}
	if (opt.noutcomes == 0 || opt.outcome_total == 0)
		goto bad;
	return 0;
bad:
	sim_err("--outcomes: expected STATE=WEIGHT,... with STATE one of delivrd "
	    "undeliv expired rejectd deleted unknown acceptd enroute, got \"%s\"", s);
	return -1;
}

static int parse_dst(const char *s)
{
	const char *eq = strchr(s, '=');
	if (opt.ndsts == MAX_MIX) {
		sim_err("--dst: at most %d destinations", MAX_MIX);
		return -1;
	}
	struct dst_result *d = &opt.dsts[opt.ndsts];
	memset(d, 0, sizeof *d);
	if (!eq || eq == s || (size_t)(eq - s) >= ADDR_CAP)
		goto bad;
	memcpy(d->dst, s, (size_t)(eq - s));
	const char *v = eq + 1, *colon = strchr(v, ':');
	char *end;
	if (colon) {
		unsigned long err = strtoul(colon + 1, &end, 10);
		if (parse_stat(v, (size_t)(colon - v), &d->stat) != 0 || end == colon + 1 ||
		    *end || err > 0xffff)
			goto bad;
		d->err = (uint16_t)err;
	} else {
		unsigned long status = strtoul(v, &end, 0);
		if (end == v || *end || status == 0 || status > 0xFFFFFFFFul)
			goto bad;
		d->status = (uint32_t)status;
	}
	opt.ndsts++;
	return 0;
bad:
	sim_err("--dst: expected DST=STATE:ERR (undeliv:11) or DST=STATUS (0x0b), got \"%s\"", s);
	return -1;
}

/* The first --dst that names dst, or a prefix of it ending in '*'. */
static const struct dst_result *dst_result(const char *dst)
{
	for (unsigned i = 0; dst && i < opt.ndsts; i++) {
		const char *want = opt.dsts[i].dst;
		size_t n = strlen(want);
		if (n && want[n - 1] == '*' ? strncmp(want, dst, n - 1) == 0
		    : strcmp(want, dst) == 0)
			return &opt.dsts[i];
	}
	return NULL;
}

static int parse_errors(const char *s)
{
	const char *p = s;
	double total = 0;
	opt.nerrors = 0;
	while (*p) {
		char *end;
		if (opt.nerrors == MAX_MIX)
			goto bad;
		unsigned long code = strtoul(p, &end, 0);
		if (end == p || *end != '=' || code == 0 || code > 0xFFFFFFFFul)
			goto bad;
		const char *v = end + 1;
		double pct = strtod(v, &end);
		if (end == v || !(pct >= 0 && pct <= 100))
			goto bad;
		if (*end == '%')
			end++;
		if (*end && *end != ',')
			goto bad;
		opt.errors[opt.nerrors].key = (uint32_t)code;
		opt.errors[opt.nerrors].weight = (uint32_t)(pct * 10000.0 + 0.5);
		total += pct;
		opt.nerrors++;
		p = *end ? end + 1 : end;
	}
	if (total > 100.0 + 1e-9) {
		sim_err("--error: shares add up to %g%%, more than 100%%", total);
		return -1;
	}
	return 0;
bad:
	sim_err("--error: expected STATUS=PERCENT%%,... (e.g. 0x58=5%%,0x64=1%%), "
	    "got \"%s\"", s);
	return -1;
}

static int load_mo(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		sim_err("--mo: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0, lineno = 0, alloc = 0;
	ssize_t n;
	int rc = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		char *src = p;
		p += strcspn(p, " \t");
		if (*p)
			*p++ = 0;
		p += strspn(p, " \t");
		char *dst = p;
		p += strcspn(p, " \t");
		if (*p)
			*p++ = 0;
		p += strspn(p, " \t");
		if (!*dst || strlen(src) >= ADDR_CAP || strlen(dst) >= ADDR_CAP) {
			sim_err("--mo: %s:%zu: expected \"SRC DST TEXT\" with addresses "
			    "of at most 21 characters", path, lineno);
			rc = -1;
			break;
		}
		if (nmos == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			struct mo *m = realloc(mos, alloc * sizeof *mos);
			if (!m) {
				rc = -1;
				break;
			}
			mos = m;
		}
		struct mo *m = &mos[nmos];
		strcpy(m->src, src);
		strcpy(m->dst, dst);
		m->len = strlen(p);
		m->text = strdup(p);
		if (!m->text) {
			rc = -1;
			break;
		}
		nmos++;
	}
	free(line);
	fclose(f);
	return rc;
}

static int parse_args(int argc, char **argv)
{
	enum { O_LISTEN = 256, O_SYSID, O_PASSWORD, O_IDFMT, O_RDELAY, O_RTLVS,
		O_OUTCOMES, O_SEED, O_ERROR, O_THROTTLE, O_SLOW, O_STALL, O_DISC,
		O_MO, O_MOINT, O_MODELAY, O_MOBIND, O_MOSRC, O_MODST, O_WINDOW, O_LOG,
		O_DURATION, O_DST, O_DTO, O_DMODE, O_DID, O_DPW, O_DFOR };
	static const struct option longopts[] = {
		{ "listen", required_argument, 0, O_LISTEN },
		{ "deliver-to", required_argument, 0, O_DTO },
		{ "deliver-mode", required_argument, 0, O_DMODE },
		{ "deliver-id", required_argument, 0, O_DID },
		{ "deliver-password", required_argument, 0, O_DPW },
		{ "deliver-for", required_argument, 0, O_DFOR },
		{ "system-id", required_argument, 0, O_SYSID },
		{ "password", required_argument, 0, O_PASSWORD },
		{ "id-format", required_argument, 0, O_IDFMT },
		{ "receipt-delay", required_argument, 0, O_RDELAY },
		{ "receipt-tlvs", required_argument, 0, O_RTLVS },
		{ "outcomes", required_argument, 0, O_OUTCOMES },
		{ "seed", required_argument, 0, O_SEED },
		{ "error", required_argument, 0, O_ERROR },
		{ "throttle-all", no_argument, 0, O_THROTTLE },
		{ "dst", required_argument, 0, O_DST },
		{ "slow", required_argument, 0, O_SLOW },
		{ "stall-after", required_argument, 0, O_STALL },
		{ "disconnect-every", required_argument, 0, O_DISC },
		{ "mo", required_argument, 0, O_MO },
		{ "mo-interval", required_argument, 0, O_MOINT },
		{ "mo-delay", required_argument, 0, O_MODELAY },
		{ "mo-at-bind", required_argument, 0, O_MOBIND },
		{ "mo-src", required_argument, 0, O_MOSRC },
		{ "mo-dst", required_argument, 0, O_MODST },
		{ "window", required_argument, 0, O_WINDOW },
		{ "log-submits", required_argument, 0, O_LOG },
		{ "duration", required_argument, 0, O_DURATION },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	opt.id_format = ID_HEX;
	opt.receipt_tlvs = 1;
	opt.window = 1024;
	opt.mo_src = "15550001111";
	opt.mo_dst = "12345";
	opt.outcomes[0] = (struct mix){ SMPP_STAT_DELIVRD, 100 };
	opt.noutcomes = 1;
	opt.outcome_total = 100;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
		const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
		switch (c) {
		case 'h':
			fputs(carrier_usage, stdout);
			exit(SIM_EXIT_OK);
		case 'v':
			sim_verbose = 1;
			break;
		case O_LISTEN: opt.listen = optarg; break;
		case O_SYSID:
			if (strlen(optarg) > 15) {
				sim_err("--system-id: at most 15 characters");
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
		case O_IDFMT:
			if (strcmp(optarg, "hex") == 0)
				opt.id_format = ID_HEX;
			else if (strcmp(optarg, "dec") == 0)
				opt.id_format = ID_DEC;
			else if (strcmp(optarg, "uuid") == 0)
				opt.id_format = ID_UUID;
			else {
				sim_err("--id-format: expected hex, dec or uuid, got \"%s\"", optarg);
				return -1;
			}
			break;
		case O_RDELAY:
			if (sim_parse_u64("--receipt-delay", optarg, 0, 86400000, &opt.receipt_delay))
				return -1;
			break;
		case O_RTLVS:
			if (strcmp(optarg, "on") == 0)
				opt.receipt_tlvs = 1;
			else if (strcmp(optarg, "off") == 0)
				opt.receipt_tlvs = 0;
			else {
				sim_err("--receipt-tlvs: expected on or off, got \"%s\"", optarg);
				return -1;
			}
			break;
		case O_OUTCOMES:
			if (parse_outcomes(optarg))
				return -1;
			break;
		case O_SEED:
			if (sim_parse_u64("--seed", optarg, 0, UINT64_MAX, &opt.seed))
				return -1;
			opt.seeded = 1;
			break;
		case O_ERROR:
			if (parse_errors(optarg))
				return -1;
			break;
		case O_THROTTLE: opt.throttle_all = 1; break;
		case O_DST:
			if (parse_dst(optarg))
				return -1;
			break;
		case O_SLOW:
			if (sim_parse_u64("--slow", optarg, 0, 3600000, &opt.slow))
				return -1;
			break;
		case O_STALL:
			if (sim_parse_u64("--stall-after", optarg, 1, UINT64_MAX, &opt.stall_after))
				return -1;
			break;
		case O_DISC:
			if (sim_parse_u64("--disconnect-every", optarg, 1, 86400, &opt.disconnect_every))
				return -1;
			break;
		case O_MO: opt.mo_path = optarg; break;
		case O_MODELAY:
			if (sim_parse_u64("--mo-delay", optarg, 0, 3600000, &opt.mo_delay))
				return -1;
			break;
		case O_MOINT:
			if (sim_parse_u64("--mo-interval", optarg, 0, 3600000, &opt.mo_interval))
				return -1;
			break;
		case O_MOBIND:
			if (strlen(optarg) > SMPP_MAX_SM_LENGTH) {
				sim_err("--mo-at-bind: at most %d bytes", SMPP_MAX_SM_LENGTH);
				return -1;
			}
			opt.mo_at_bind = optarg;
			break;
		case O_MOSRC:
		case O_MODST:
			if (!*optarg || strlen(optarg) >= ADDR_CAP) {
				sim_err("%s: 1 to 21 characters", c == O_MOSRC ? "--mo-src" : "--mo-dst");
				return -1;
			}
			if (c == O_MOSRC)
				opt.mo_src = optarg;
			else
				opt.mo_dst = optarg;
			break;
		case O_WINDOW:
			if (sim_parse_u64("--window", optarg, 1, 65536, &opt.window))
				return -1;
			break;
		case O_LOG: opt.log_path = optarg; break;
		case O_DTO: opt.deliver_to = optarg; break;
		case O_DMODE:
			if (strcmp(optarg, "bind") == 0)
				opt.deliver_mode = DELIVER_BIND;
			else if (strcmp(optarg, "outbind") == 0)
				opt.deliver_mode = DELIVER_OUTBIND;
			else {
				sim_err("--deliver-mode: expected bind or outbind, got \"%s\"", optarg);
				return -1;
			}
			break;
		case O_DID:
		case O_DPW:
		case O_DFOR:
			if (strlen(optarg) > (c == O_DPW ? 8u : 15u)) {
				sim_err("%s: at most %d characters", name, c == O_DPW ? 8 : 15);
				return -1;
			}
			if (c == O_DID)
				opt.deliver_id = optarg;
			else if (c == O_DPW)
				opt.deliver_password = optarg;
			else
				opt.deliver_for = optarg;
			break;
		case O_DURATION:
			if (sim_parse_u64("--duration", optarg, 1, 31536000, &opt.duration))
				return -1;
			break;
		case ':':
			sim_err("%s: needs a value", name);
			return -1;
		default:
			sim_err("carrier: unknown option %s (see smppsim carrier --help)", name);
			return -1;
		}
	}
	if (optind < argc) {
		sim_err("carrier: unexpected argument \"%s\"", argv[optind]);
		return -1;
	}
	if (!opt.listen) {
		sim_err("carrier: --listen ADDR is required");
		return -1;
	}
	mo_due = sim_now_ms() + opt.mo_delay;
	if (opt.mo_path && load_mo(opt.mo_path))
		return -1;
	return 0;
}

/* --- ids, outcomes, receipts ------------------------------------------ */

static void make_id(char out[ID_CAP])
{
	uint64_t n = ++next_id;
	switch (opt.id_format) {
	case ID_HEX:
		/* starts at 0xa0000001: letters in every id */
		format_uint(out, ID_CAP, n + 0xa0000000u, 16);
		break;
	case ID_DEC:
		format_uint(out, ID_CAP, n + 1000000000u, 10);
		break;
	case ID_UUID: {
		uint64_t a = sim_rng_next(&rng), b = sim_rng_next(&rng);
		snprintf(out, ID_CAP, "%08x-%04x-4%03x-%04x-%012" PRIx64,
		    (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
		    (unsigned)a & 0xfff, 0x8000 | ((unsigned)(b >> 48) & 0x3fff),
		    (uint64_t)(b & 0xffffffffffffull));
		break;
	}
	}
}

static uint32_t pick_status(void)
{
	if (opt.throttle_all)
		return SMPP_ESME_RTHROTTLED;
	if (!opt.nerrors)
		return 0;
	uint32_t r = sim_rng_below(&rng, 1000000);
	for (unsigned i = 0; i < opt.nerrors; i++) {
		if (r < opt.errors[i].weight)
			return opt.errors[i].key;
		r -= opt.errors[i].weight;
	}
	return 0;
}

static enum smpp_stat pick_outcome(void)
{
	if (opt.noutcomes == 1)
		return (enum smpp_stat)opt.outcomes[0].key;
	uint32_t r = sim_rng_below(&rng, opt.outcome_total);
	for (unsigned i = 0; i < opt.noutcomes; i++) {
		if (r < opt.outcomes[i].weight)
			return (enum smpp_stat)opt.outcomes[i].key;
		r -= opt.outcomes[i].weight;
	}
	return SMPP_STAT_DELIVRD;
}

static uint16_t err_of(enum smpp_stat s)
{
	switch (s) {
	case SMPP_STAT_DELIVRD: return 0;
	case SMPP_STAT_UNDELIV: return 1;
	case SMPP_STAT_EXPIRED: return 2;
	case SMPP_STAT_REJECTD: return 3;
	case SMPP_STAT_DELETED: return 4;
	default: return 0;
	}
}

static void count_status(uint32_t status)
{
	for (unsigned i = 0; i < st.nstatus; i++) {
		if (st.status[i].key == status) {
			st.status[i].weight++;
			return;
		}
	}
	if (st.nstatus < sizeof st.status / sizeof st.status[0])
		st.status[st.nstatus++] = (struct mix){ status, 1 };
	else
		st.status_other++;
}

/* Broken-down UTC, cached per second. */
static struct smpp_receipt_time civil(int64_t wall_ms)
{
	static int64_t sec = -1;
	static struct smpp_receipt_time t;
	int64_t s = wall_ms / 1000;
	if (s != sec) {
		time_t tt = (time_t)s;
		struct tm tm;
		gmtime_r(&tt, &tm);
		t = (struct smpp_receipt_time){ 1, tm.tm_year + 1900, tm.tm_mon + 1,
			tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec };
		sec = s;
	}
	return t;
}

/* A bound receiver of this system_id with room; *any says whether one
 * is bound at all.  Round robin over the table. */
static struct sim_conn *receiver_for(const char *sysid, int *any)
{
	uint32_t lim = sim_conn_limit();
	*any = 0;
	for (uint32_t k = 0; k < lim; k++) {
		uint32_t i = (rr_next + k) % lim;
		struct sim_conn *c = sim_conn_at(i);
		if (!c || !c->can_rx || c->closed || strcmp(c->system_id, sysid) != 0)
			continue;
		*any = 1;
		if (sim_conn_has_room(c)) {
			rr_next = i + 1;
			return c;
		}
	}
	return NULL;
}

static void send_receipt(struct sim_conn *c, const struct rcpt *r, uint64_t now)
{
	struct smpp_receipt rc;
	struct smpp_tlv_store store = { .used = 0 };
	char text[256];

	smpp_receipt_init(&rc);
	memcpy(rc.id, r->id, sizeof r->id);
	rc.sub = 1;
	rc.dlvrd = r->stat == SMPP_STAT_DELIVRD;
	rc.submit_date = civil(r->submit_wall);
	rc.done_date = civil(sim_wall_ms());
	rc.stat = (enum smpp_stat)r->stat;
	rc.err = r->err;
	rc.text = r->text;
	rc.text_len = r->text_len;
	int n = smpp_receipt_format(&rc, text, sizeof text);
	if (n < 0 || n > SMPP_MAX_SM_LENGTH)
		n = SMPP_MAX_SM_LENGTH;

	smpp_pdu_init(&g_pdu, SMPP_DELIVER_SM, 0);
	/* the receipt comes from the handset: addresses swap */
	g_pdu.source = (struct smpp_addr){ r->dst_ton, r->dst_npi, r->dst };
	g_pdu.dest = (struct smpp_addr){ r->src_ton, r->src_npi, r->src };
	g_pdu.esm_class = SMPP_ESM_TYPE_RECEIPT;
	g_pdu.short_message = (const uint8_t *)text;
	g_pdu.sm_length = (uint8_t)n;
	if (opt.receipt_tlvs) {
		smpp_tlv_add_str(&g_pdu, SMPP_TLV_RECEIPTED_MESSAGE_ID, r->id);
		smpp_tlv_add_int(&g_pdu, &store, SMPP_TLV_MESSAGE_STATE,
		    (uint32_t)smpp_stat_to_state(rc.stat));
	}
	uint64_t cookie = unacked_put(r);
	int rc2 = sim_conn_send(c, &g_pdu, cookie, now);
	if (rc2 != 0) {
		unacked_take(cookie);
		st.receipts_lost++;
		if (sim_verbose)
			sim_err("receipt id=%s not sent: %s", r->id, smpp_session_strerror(rc2));
		return;
	}
	st.receipts[r->stat <= SMPP_STAT_OTHER ? r->stat : SMPP_STAT_OTHER]++;
}

/* Not taken by the ESME: queue it again, due now. */
static void resend_receipt(uint64_t cookie, uint64_t now)
{
	const struct rcpt *r = unacked_take(cookie);
	if (!r)
		return;
	struct rcpt again = *r;
	again.due = now;
	if (ring_push(&due_q, &again) != 0)
		st.receipts_lost++;
	else
		st.receipts_resent++;
}

static void pump_receipts(uint64_t now)
{
	struct rcpt *r;
	while ((r = ring_front(&due_q)) && r->due <= now) {
		int any;
		struct sim_conn *c = receiver_for(r->sysid, &any);
		if (!c) {
			if (any)
				return; /* every receiver's window is full */
			if (ring_push(&parked_q, r) != 0)
				st.receipts_lost++;
			ring_pop(&due_q);
			continue;
		}
		send_receipt(c, r, now);
		ring_pop(&due_q);
	}
}

/* Receipts that waited for a receiver: try them all once. */
static void pump_parked(uint64_t now)
{
	size_t n = parked_q.n;
	struct rcpt r;
	for (size_t i = 0; i < n; i++) {
		memcpy(&r, ring_front(&parked_q), sizeof r);
		ring_pop(&parked_q);
		int any;
		struct sim_conn *c = receiver_for(r.sysid, &any);
		if (c)
			send_receipt(c, &r, now);
		else
			ring_push(&parked_q, &r); /* cannot fail: we just popped */
	}
}

/* --- MO -------------------------------------------------------------- */

static struct sim_conn *first_receiver(void)
{
	struct sim_conn *best = NULL;
	for (uint32_t i = 0; i < sim_conn_limit(); i++) {
		struct sim_conn *c = sim_conn_at(i);
		if (c && c->can_rx && !c->closed &&
		    (!best || c->bound_seq < best->bound_seq))
			best = c;
	}
	return best;
}

static int send_mo(struct sim_conn *c, const char *src, const char *dst,
    const char *text, size_t len, uint64_t now)
{
	smpp_pdu_init(&g_pdu, SMPP_DELIVER_SM, 0);
	g_pdu.source = (struct smpp_addr){ 1, 1, src };
	g_pdu.dest = (struct smpp_addr){ 1, 1, dst };
	if (len <= SMPP_MAX_SM_LENGTH) {
		g_pdu.short_message = (const uint8_t *)text;
		g_pdu.sm_length = (uint8_t)len;
	} else {
		smpp_tlv_add(&g_pdu, SMPP_TLV_MESSAGE_PAYLOAD, text,
		    (uint16_t)(len > 65000 ? 65000 : len));
	}
	int rc = sim_conn_send(c, &g_pdu, 0, now);
	if (rc == 0) {
		st.mo_sent++;
		if (sim_verbose)
			sim_err("mo sent src=%s dst=%s to=%s", src, dst, c->system_id);
	}
	return rc;
}

static void pump_mo(uint64_t now)
{
	while (mo_next < nmos && now >= mo_due) {
		struct sim_conn *c = first_receiver();
		if (!c || !sim_conn_has_room(c))
			return;
		const struct mo *m = &mos[mo_next];
		if (send_mo(c, m->src, m->dst, m->text, m->len, now) != 0)
			return;
		mo_next++;
		mo_due = now + opt.mo_interval;
	}
}

/* --- answering ------------------------------------------------------- */

static void pump_dresp(uint64_t now)
{
	struct dresp *d;
	while ((d = ring_front(&dresp_q)) && d->due <= now) {
		struct sim_conn *c = sim_conn_get(d->slot, d->gen);
		if (c && !c->closed) {
			smpp_pdu_init(&g_resp, smpp_resp_id(d->cmd), d->seq);
			g_resp.command_status = d->status;
			g_resp.message_id = d->id;
			sim_conn_respond(c, &g_resp);
		}
		ring_pop(&dresp_q);
	}
}

static void carrier_after(uint64_t now)
{
	if (log_fp)
		fflush(log_fp); /* once per loop round: tests read it while we run */
	if (dresp_q.n)
		pump_dresp(now);
	if (due_q.n)
		pump_receipts(now);
	if (new_receiver) {
		new_receiver = 0;
		if (parked_q.n)
			pump_parked(now);
	}
	if (mo_next < nmos)
		pump_mo(now);
}

/* "ref/total/seq" from a UDH or the SAR TLVs, or "-". */
static void segment_info(const struct smpp_pdu *p, char *out, size_t cap)
{
	uint32_t ref, total, seq;
	if ((p->esm_class & SMPP_ESM_UDHI) && p->sm_length > 1) {
		const uint8_t *u = p->short_message;
		size_t udhl = u[0];
		for (size_t i = 1; i + 1 < 1 + udhl && i + 1 < p->sm_length;) {
			uint8_t iei = u[i], l = u[i + 1];
			if (i + 2 + l > 1 + udhl || i + 2 + l > p->sm_length)
				break;
			if (iei == 0x00 && l == 3) {
				snprintf(out, cap, "%u/%u/%u", u[i + 2], u[i + 3], u[i + 4]);
				return;
			}
			if (iei == 0x08 && l == 4) {
				snprintf(out, cap, "%u/%u/%u", (unsigned)(u[i + 2] << 8 | u[i + 3]),
				    u[i + 4], u[i + 5]);
				return;
			}
			i += 2u + l;
		}
	}
	if (smpp_tlv_get_int(p, SMPP_TLV_SAR_MSG_REF_NUM, &ref) == 0 &&
	    smpp_tlv_get_int(p, SMPP_TLV_SAR_TOTAL_SEGMENTS, &total) == 0 &&
	    smpp_tlv_get_int(p, SMPP_TLV_SAR_SEGMENT_SEQNUM, &seq) == 0) {
		snprintf(out, cap, "%u/%u/%u", ref, total, seq);
		return;
	}
	snprintf(out, cap, "-");
}

static void schedule_receipt(const struct sim_conn *c, const struct smpp_pdu *p,
    const struct smpp_addr *dst, const char *id, uint64_t now)
{
	uint8_t rd = p->registered_delivery & 0x03;
	if (rd == 0 || rd == 3)
		return;
	const struct dst_result *forced = dst_result(dst->addr);
	enum smpp_stat stat = forced ? (enum smpp_stat)forced->stat : pick_outcome();
	if (rd == 2 && stat == SMPP_STAT_DELIVRD)
		return; /* receipt on failure only */
	struct rcpt r;
	memset(&r, 0, sizeof r);
	r.due = now + opt.slow + opt.receipt_delay;
	r.submit_wall = sim_wall_ms();
	copy_field(r.id, sizeof r.id, id);
	copy_field(r.src, sizeof r.src, p->source.addr);
	copy_field(r.dst, sizeof r.dst, dst->addr);
	r.src_ton = p->source.ton;
	r.src_npi = p->source.npi;
	r.dst_ton = dst->ton;
	r.dst_npi = dst->npi;
	memcpy(r.sysid, c->system_id, sizeof r.sysid);
	/* the text, without a UDH */
	const uint8_t *body = p->short_message;
	size_t len = p->sm_length;
	if (len == 0) {
		const struct smpp_tlv *t = smpp_tlv_find(p, SMPP_TLV_MESSAGE_PAYLOAD);
		if (t) {
			body = t->value;
			len = t->len;
		}
	}
	if ((p->esm_class & SMPP_ESM_UDHI) && body && len > 0) {
		size_t skip = (size_t)body[0] + 1;
		skip = skip > len ? len : skip;
		body += skip;
		len -= skip;
	}
	r.text_len = (uint8_t)(len < sizeof r.text ? len : sizeof r.text);
	if (r.text_len)
		memcpy(r.text, body, r.text_len);
	r.stat = (uint8_t)stat;
	r.err = forced ? forced->err : err_of(stat);
	if (ring_push(&due_q, &r) != 0)
		st.receipts_lost++;
}

static void on_submit(struct sim_conn *c, const struct smpp_pdu *p, uint64_t now)
{
	char id[ID_CAP] = "";
	const struct smpp_addr *dst = &p->dest;
	if (p->command_id == SMPP_SUBMIT_MULTI && p->number_of_dests > 0 &&
	    p->dests[0].dest_flag == 1)
		dst = &p->dests[0].sme;

	st.submits++;
	int stalled = opt.stall_after && st.submits > opt.stall_after;
	const struct dst_result *forced = dst_result(dst->addr);
	uint32_t status = stalled ? 0 : forced && forced->status ? forced->status : pick_status();
	if (!stalled && status == 0)
		make_id(id);
	if (log_fp) {
		char seg[32];
		segment_info(p, seg, sizeof seg);
		fprintf(log_fp, "%" PRId64 " %s %s %s %s ", sim_wall_ms(),
		    p->source.addr && *p->source.addr ? p->source.addr : "-",
		    dst->addr && *dst->addr ? dst->addr : "-", *id ? id : "-", seg);
		if (stalled)
			fputs("-\n", log_fp);
		else
			fprintf(log_fp, "0x%08x\n", status);
	}
	if (sim_verbose)
		sim_err("submit seq=%u id=%s status=0x%08x%s", p->sequence_number,
		    *id ? id : "-", status, stalled ? " stalled" : "");
	if (stalled) {
		st.stalled++;
		return;
	}
	count_status(status);
	if (opt.slow) {
		struct dresp d = { now + opt.slow, c->slot, c->gen, p->command_id,
			p->sequence_number, status, "" };
		memcpy(d.id, id, sizeof d.id);
		if (ring_push(&dresp_q, &d) != 0)
			sim_err("out of memory queueing an answer");
	} else {
		smpp_pdu_init_resp(&g_resp, p, status);
		g_resp.message_id = id;
		sim_conn_respond(c, &g_resp);
	}
	if (status != 0)
		return;
	if (p->command_id == SMPP_SUBMIT_MULTI) {
		for (unsigned i = 0; i < p->number_of_dests; i++)
			if (p->dests[i].dest_flag == 1)
				schedule_receipt(c, p, &p->dests[i].sme, id, now);
	} else {
		schedule_receipt(c, p, dst, id, now);
	}
}

static void on_bind(struct sim_conn *c, const struct smpp_pdu *p, uint64_t now)
{
	uint32_t status = 0;
	if (opt.system_id && strcmp(p->system_id, opt.system_id) != 0)
		status = SMPP_ESME_RINVSYSID;
	else if (opt.password && strcmp(p->password, opt.password) != 0)
		status = SMPP_ESME_RINVPASWD;
	if (status) {
		st.bind_rejects++;
		sim_err("bind refused system_id=%s peer=%s status=0x%08x", p->system_id,
		    c->peer, status);
		sim_conn_reject(c, status);
		return;
	}
	if (sim_conn_accept(c, "smppsim", now) != 0)
		return;
	snprintf(c->system_id, sizeof c->system_id, "%s", p->system_id);
	c->can_rx = p->command_id != SMPP_BIND_TRANSMITTER;
	c->can_tx = p->command_id != SMPP_BIND_RECEIVER;
	c->bound_seq = ++bind_counter;
	st.binds++;
	if (sim_verbose)
		sim_err("bind %s system_id=%s peer=%s", smpp_command_name(p->command_id),
		    c->system_id, c->peer);
	if (c->can_rx) {
		new_receiver = 1;
		if (opt.mo_at_bind)
			send_mo(c, opt.mo_src, opt.mo_dst, opt.mo_at_bind,
			    strlen(opt.mo_at_bind), now);
	}
}

static void on_event(struct sim_conn *c, const struct smpp_event *ev, uint64_t now)
{
	switch (ev->kind) {
	case SMPP_EV_BIND_REQUEST:
		on_bind(c, ev->pdu, now);
		break;
	case SMPP_EV_REQUEST:
		if (!ev->needs_response)
			break;
		switch (ev->command_id) {
		case SMPP_SUBMIT_SM:
		case SMPP_DATA_SM:
		case SMPP_SUBMIT_MULTI:
			on_submit(c, ev->pdu, now);
			break;
		case SMPP_QUERY_SM:
			smpp_pdu_init_resp(&g_resp, ev->pdu, 0);
			g_resp.message_id = ev->pdu->message_id;
			g_resp.message_state = SMPP_STATE_DELIVERED;
			sim_conn_respond(c, &g_resp);
			break;
		default:
			smpp_pdu_init_resp(&g_resp, ev->pdu, 0);
			sim_conn_respond(c, &g_resp);
			break;
		}
		break;
	case SMPP_EV_RESPONSE:
		if (ev->status != 0) {
			st.deliver_errors++;
			resend_receipt(ev->cookie, now);
		} else {
			unacked_take(ev->cookie);
		}
		break;
	case SMPP_EV_TIMEOUT:
	case SMPP_EV_ABORTED:
		st.deliver_errors++;
		resend_receipt(ev->cookie, now);
		break;
	case SMPP_EV_UNBOUND:
		st.unbinds++;
		c->tag = 1;
		break;
	case SMPP_EV_PROTOCOL_ERROR:
		sim_err("protocol error peer=%s %s: %s", c->peer,
		    ev->error.field ? ev->error.field : "-",
		    ev->error.reason ? ev->error.reason : "-");
		break;
	default:
		break;
	}
	if (sim_verbose && ev->kind != SMPP_EV_REQUEST && ev->kind != SMPP_EV_RESPONSE)
		sim_err("event %s peer=%s", smpp_event_name(ev->kind), c->peer);
}

static void on_gone(struct sim_conn *c)
{
	if (c->tag != 1)
		st.disconnects++;
	if (sim_verbose)
		sim_err("connection closed peer=%s", c->peer);
}

static const struct sim_conn_ops carrier_ops = { on_event, NULL, on_gone };

/* --- --deliver-to: the connection we make to smppd -------------------- */

static struct sim_conn *deliver_conn;
static struct sockaddr_storage deliver_ss;
static socklen_t deliver_len;
static struct event *deliver_retry;

static void deliver_connected(struct sim_conn *c, uint64_t now)
{
	int outbind = opt.deliver_mode == DELIVER_OUTBIND;
	smpp_pdu_init(&g_pdu, outbind ? SMPP_OUTBIND : SMPP_BIND_TRANSMITTER, 0);
	g_pdu.system_id = opt.deliver_id ? opt.deliver_id : "smppsim";
	g_pdu.password = opt.deliver_password ? opt.deliver_password : "";
	g_pdu.system_type = "";
	g_pdu.interface_version = 0x34;
	int rc = sim_conn_send(c, &g_pdu, 0, now);
	if (rc != 0) {
		sim_err("deliver: cannot send %s: %s", outbind ? "outbind" : "bind",
		    smpp_session_strerror(rc));
		sim_conn_drop(c);
		return;
	}
	if (sim_verbose)
		sim_err("deliver: %s sent to %s", outbind ? "outbind" : "bind", c->peer);
}

static void deliver_event(struct sim_conn *c, const struct smpp_event *ev, uint64_t now)
{
	switch (ev->kind) {
	case SMPP_EV_BOUND: /* bind mode: we are the ESME that delivers */
		snprintf(c->system_id, sizeof c->system_id, "%s",
		    opt.deliver_for ? opt.deliver_for : "smppd");
		c->can_rx = 1;
		c->bound_seq = ++bind_counter;
		st.binds++;
		new_receiver = 1;
		if (sim_verbose)
			sim_err("deliver: bound to %s", c->peer);
		if (opt.mo_at_bind)
			send_mo(c, opt.mo_src, opt.mo_dst, opt.mo_at_bind, strlen(opt.mo_at_bind), now);
		return;
	case SMPP_EV_BIND_FAILED:
		st.bind_rejects++;
		sim_err("deliver: bind refused by %s status=0x%08x", c->peer, ev->status);
		sim_conn_drop(c);
		return;
	default:
		on_event(c, ev, now); /* outbind: smppd's bind_receiver, then as any bind */
	}
}

static void deliver_gone(struct sim_conn *c)
{
	on_gone(c);
	if (deliver_conn == c)
		deliver_conn = NULL;
	struct timeval tv = { 0, DELIVER_RETRY_MS * 1000 };
	if (deliver_retry)
		event_add(deliver_retry, &tv);
}

static const struct sim_conn_ops deliver_ops = { deliver_event, deliver_connected, deliver_gone };

static void deliver_open(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (deliver_conn)
		return;
	struct smpp_session_config cfg = conn_cfg;
	if (opt.deliver_mode == DELIVER_BIND) {
		cfg.role = SMPP_ROLE_ESME;
		cfg.esme_delivers = 1;
	}
	struct sim_conn *c = sim_conn_new(-1, &cfg, &deliver_ops);
	if (!c) {
		sim_err("deliver: out of memory");
		return;
	}
	snprintf(c->peer, sizeof c->peer, "%s", opt.deliver_to);
	deliver_conn = c;
	sim_conn_connect(c, (struct sockaddr *)&deliver_ss, deliver_len); /* errors come as events */
}

/* --- loop ------------------------------------------------------------ */

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct sim_conn *c = sim_conn_new(fd, &conn_cfg, &carrier_ops);
	if (!c) {
		sim_err("connection refused: table full or out of memory");
		return;
	}
	net_format_addr(sa, c->peer, sizeof c->peer);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = sim_now_ms();
	sim_tick_all(now);
	carrier_after(now);
	sim_flush_dirty();
}

static void disconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	for (uint32_t i = 0; i < sim_conn_limit(); i++) {
		struct sim_conn *c = sim_conn_at(i);
		if (c)
			sim_conn_drop(c);
	}
	if (sim_verbose)
		sim_err("disconnected everyone");
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(base);
}

/* A carrier under load for a while: tests slow a sender down and let go. */
static void toggle_throttle_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	opt.throttle_all = !opt.throttle_all;
	if (log_fp)
		fflush(log_fp);
}

static const char *stat_key(enum smpp_stat s)
{
	return smpp_stat_name(s);
}

static void print_stats(void)
{
	printf("{\"submits\":%" PRIu64 ",\"answered\":{", st.submits);
	for (unsigned i = 0; i < st.nstatus; i++)
		printf("%s\"0x%08x\":%u", i ? "," : "", st.status[i].key,
		    st.status[i].weight);
	printf("},\"unanswered\":%" PRIu64 ",\"receipts\":{", st.stalled);
	int first = 1;
	for (int s = 0; s <= SMPP_STAT_OTHER; s++) {
		if (!st.receipts[s])
			continue;
		printf("%s\"%s\":%" PRIu64, first ? "" : ",", stat_key((enum smpp_stat)s),
		    st.receipts[s]);
		first = 0;
	}
	printf("},\"receipts_pending\":%zu,\"receipts_lost\":%" PRIu64
	    ",\"receipts_resent\":%" PRIu64 ",\"mo_sent\":%" PRIu64 ",\"binds\":%" PRIu64 ",\"bind_rejects\":%" PRIu64
	    ",\"unbinds\":%" PRIu64 ",\"disconnects\":%" PRIu64
	    ",\"deliver_errors\":%" PRIu64 "}\n",
	    due_q.n + parked_q.n, st.receipts_lost, st.receipts_resent, st.mo_sent, st.binds,
	    st.bind_rejects, st.unbinds, st.disconnects, st.deliver_errors);
	fflush(stdout);
}

int sim_carrier_main(int argc, char **argv)
{
	int rc = SIM_EXIT_FAIL;
	if (sim_tls_args(&argc, argv) != 0 || parse_args(argc, argv) != 0 ||
	    sim_tls_setup(1, NULL) != 0)
		return SIM_EXIT_USAGE;

	struct sockaddr_storage ss;
	socklen_t sslen;
	char err[256];
	if (net_parse_addr(opt.listen, &ss, &sslen, err, sizeof err) != 0) {
		sim_err("--listen: %s", err);
		return SIM_EXIT_USAGE;
	}
	if (opt.deliver_to &&
	    net_parse_addr(opt.deliver_to, &deliver_ss, &deliver_len, err, sizeof err) != 0) {
		sim_err("--deliver-to: %s", err);
		return SIM_EXIT_USAGE;
	}
	sim_rng_seed(&rng, opt.seeded ? opt.seed : (uint64_t)sim_wall_ms() ^ (uint64_t)getpid());
	conn_cfg = conn_cfg_tmpl;
	conn_cfg.window = (uint32_t)opt.window;

	char *logbuf = NULL;
	if (opt.log_path) {
		log_fp = fopen(opt.log_path, "w");
		if (!log_fp) {
			sim_err("--log-submits: cannot open %s: %s", opt.log_path, strerror(errno));
			return SIM_EXIT_FAIL;
		}
		logbuf = malloc(1u << 20);
		if (logbuf)
			setvbuf(log_fp, logbuf, _IOFBF, 1u << 20);
	}

	signal(SIGPIPE, SIG_IGN);
	base = sim_base_new();
	if (!base) {
		sim_err("carrier: cannot set up the event loop");
		return SIM_EXIT_FAIL;
	}
	sim_init(base);
	sim_set_after(carrier_after);
	struct evconnlistener *lis = evconnlistener_new_bind(base, accept_cb, NULL,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE, 512, (struct sockaddr *)&ss,
	    (int)sslen);
	struct event *tick = NULL, *sigterm = NULL, *sigint = NULL, *dur = NULL,
	    *disc = NULL, *sigusr1 = NULL;
	if (!lis) {
		sim_err("--listen: cannot listen on %s: %s", opt.listen, strerror(errno));
		goto out;
	}
	/* before the port is announced: a test may signal at once */
	sigterm = evsignal_new(base, SIGTERM, stop_cb, NULL);
	sigint = evsignal_new(base, SIGINT, stop_cb, NULL);
	sigusr1 = evsignal_new(base, SIGUSR1, toggle_throttle_cb, NULL);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	event_add(sigusr1, NULL);
	struct sockaddr_storage bound;
	socklen_t blen = sizeof bound;
	char text[128];
	getsockname(evconnlistener_get_fd(lis), (struct sockaddr *)&bound, &blen);
	net_format_addr((struct sockaddr *)&bound, text, sizeof text);
	printf("{\"listening\":\"%s\"}\n", text);
	fflush(stdout);

	struct timeval tv = { 0, TICK_MS * 1000 };
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);
	if (opt.duration) {
		struct timeval d = { (time_t)opt.duration, 0 };
		dur = evtimer_new(base, stop_cb, NULL);
		event_add(dur, &d);
	}
	if (opt.disconnect_every) {
		struct timeval d = { (time_t)opt.disconnect_every, 0 };
		disc = event_new(base, -1, EV_PERSIST, disconnect_cb, NULL);
		event_add(disc, &d);
	}
	if (opt.deliver_to) {
		deliver_retry = evtimer_new(base, deliver_open, NULL);
		if (!deliver_retry) {
			sim_err("deliver: out of memory");
			goto out;
		}
		deliver_open(-1, 0, NULL);
	}
	event_base_dispatch(base);
	print_stats();
	rc = SIM_EXIT_OK;
out:
	if (deliver_retry) {
		event_free(deliver_retry);
		deliver_retry = NULL; /* the conns' gone callbacks may run below */
	}
	sim_conn_free_all();
	if (lis)
		evconnlistener_free(lis);
	if (tick)
		event_free(tick);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (sigusr1)
		event_free(sigusr1);
	if (dur)
		event_free(dur);
	if (disc)
		event_free(disc);
	event_base_free(base);
	if (log_fp)
		fclose(log_fp);
	free(logbuf);
	free(due_q.buf);
	free(parked_q.buf);
	free(dresp_q.buf);
	for (size_t i = 0; i < nmos; i++)
		free(mos[i].text);
	free(mos);
	sim_tls_free();
	return rc;
}
