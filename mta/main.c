/*
 * smppd: the daemon.
 *
 *   smppd -c conf/smppd.yaml      run in the foreground, log to stderr
 *   smppd -c conf/smppd.yaml -t   check the configuration and exit
 *
 * Start-up order: configuration, logging, store (recovery runs here),
 * event loop, listeners, carrier binds, dispatcher.  SIGTERM and SIGINT
 * stop accepting, unbind, let the store finish what it was given, exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "mta/compliance.h"
#include "mta/config.h"
#include "mta/hook.h"
#include "mta/log.h"
#include "mta/metrics.h"
#include "mta/pacing.h"
#include "mta/monitor.h"
#include "mta/relay.h"
#include "mta/secure.h"
#include "policy/policy.h"
#include "store/store.h"

#define PENDING_CHUNK 1024
#define STOP_GRACE_MS 5000

static struct pending *free_pending;

struct pending *pending_get(struct relay *r, enum pending_kind kind)
{
	(void)r;
	if (!free_pending) {
		/* Chunks are never returned: the pool only grows to the peak. */
		struct pending *chunk = calloc(PENDING_CHUNK, sizeof *chunk);
		if (!chunk)
			return NULL;
		for (size_t i = 0; i < PENDING_CHUNK; i++) {
			chunk[i].next_free = free_pending;
			free_pending = &chunk[i];
		}
	}
	struct pending *p = free_pending;
	free_pending = p->next_free;
	memset(p, 0, sizeof *p);
	p->kind = kind;
	return p;
}

void pending_put(struct pending *p)
{
	if (!p)
		return;
	p->kind = PENDING_NONE;
	p->next_free = free_pending;
	free_pending = p;
}

static void on_completion(const struct store_completion *sc, void *arg)
{
	struct relay *r = arg;
	if (compliance_owns_cookie(r->compliance, sc->cookie)) {
		compliance_completion(r->compliance, sc);
		return;
	}
	struct pending *p = sc->cookie;
	if (!p)
		return;
	if (pacing_owns_cookie(p)) {
		dispatch_completion(r, sc);
		return;
	}
	switch (p->kind) {
	case PENDING_SUBMIT_ACK:
	case PENDING_MULTI:
	case PENDING_CANCEL:
	case PENDING_REPLACE:
		upstream_completion(r, sc);
		break;
	case PENDING_MARK:
	case PENDING_REQUEUE:
	case PENDING_RECEIPT_IN:
		dispatch_completion(r, sc);
		break;
	case PENDING_ADMIN:
		admin_completion(r, sc);
		break;
	default:
		pending_put(p);
		break;
	}
}

static void store_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	(void)fd;
	(void)what;
	store_drain_completions(r->store, on_completion, r);
}

/*
 * Retention: finished messages older than store.retention go, a bounded
 * chunk every store.purge_interval so that no write transaction grows long.
 */
#define PURGE_CHUNK 20000

static void health_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	health_check(arg);
}

/* store.resident_limit: the map's pages leave RSS, not the page cache. */
static void trim_cb(evutil_socket_t fd, short what, void *arg)
{
	static int warned;
	struct relay *r = arg;
	(void)fd;
	(void)what;
	int rc = store_trim_resident(r->store, r->cfg->store.resident_limit);
	if (rc < 0 && !warned) {
		warned = 1;
		log_warn("store", "event=trim_failed error=\"%s\"", store_strerror(rc));
	}
}

static void purge_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	(void)fd;
	(void)what;
	int64_t before = relay_wall_ms() - (int64_t)r->cfg->store.retention_ms;
	struct store_op ops[2] = {
		{ .kind = STORE_OP_PURGE, .u.purge = { before, PURGE_CHUNK } },
		{ .kind = STORE_OP_AUDIT_PURGE, .u.purge = { before, PURGE_CHUNK } },
	};
	int rc = store_submit(r->store, ops, 2);
	if (rc != 0)
		log_error("store", "event=purge_failed error=\"%s\"", store_strerror(rc));
}

static void pause_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	relay_pause_poll(arg);
}

static int sessions_open(const struct relay *r)
{
	for (uint32_t i = 0; i < r->conns_cap; i++)
		if (r->conns[i])
			return 1;
	return 0;
}

/* Stop once every session has unbound, or when the grace period ends. */
static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	(void)fd;
	(void)what;
	if (!sessions_open(r) || relay_mono_ms() >= r->stop_deadline) {
		event_base_loopexit(r->base, NULL);
		return;
	}
	struct timeval tv = { 0, 50 * 1000 };
	event_base_once(r->base, -1, EV_TIMEOUT, stop_cb, r, &tv);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct relay *r = arg;
	(void)what;
	if (sig == SIGHUP) {
		char err[1024];
		relay_reload(r); /* accounts, carriers, routes, listener TLS */
		if (relay_policy_load(r, err, sizeof err) != 0)
			log_error("policy", "event=reload_failed kept=old error=\"%s\"", err);
		else
			log_info("policy", "event=reloaded path=%s", r->policy_path ? r->policy_path : "-");
		relay_pause_poll(r); /* an operator's --pause/--resume, at once */
		return;
	}
	if (r->stopping) {
		event_base_loopbreak(r->base);
		return;
	}
	r->stopping = 1;
	log_info("main", "event=stopping signal=%s", sig == SIGTERM ? "TERM" : "INT");
	for (size_t i = 0; i < r->n_listeners; i++)
		evconnlistener_disable(r->listeners[i]);
	carrier_stop(r);
	/* In-flight carrier answers and unbinds get a grace period: our own
	 * carrier binds unbind once their submits are answered (an answer lost
	 * here would send the message again after the restart). */
	r->stop_deadline = relay_mono_ms() + STOP_GRACE_MS;
	carrier_drain_all(r, r->stop_deadline);
	for (uint32_t i = 0; i < r->conns_cap; i++) {
		struct conn *c = r->conns[i];
		if (c && c->kind == CONN_CARRIER && !c->inbound)
			continue;
		if (c && !c->closed) {
			enum smpp_state st = smpp_session_state(c->sess);
			if (st == SMPP_ST_BOUND_TX || st == SMPP_ST_BOUND_RX || st == SMPP_ST_BOUND_TRX) {
				smpp_session_unbind(c->sess, relay_mono_ms());
				conn_flush(c);
				conn_arm(c);
			}
		}
	}
	struct timeval tv = { 0, 50 * 1000 };
	event_base_once(r->base, -1, EV_TIMEOUT, stop_cb, r, &tv);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: smppd -c FILE [-t]\n"
	    "       smppd -c FILE --pause|--resume|--status CAMPAIGN\n"
	    "  -c FILE  configuration (conf/smppd.yaml)\n"
	    "  -t       check the configuration and exit: 0 good, 1 with the error\n"
	    "  --pause CAMPAIGN   hold the campaign: new submits get 0x402, queued\n"
	    "                     messages wait (also what a monitor with action pause does)\n"
	    "  --resume CAMPAIGN  let it send again\n"
	    "  --status CAMPAIGN  its pause state and monitor alert counts\n"
	    "           these three work while smppd runs, which applies a change\n"
	    "           within pause.poll (default 2s), or at once on SIGHUP\n"
	    "       smppd -c FILE --audit [--recipient NUMBER] [--campaign ID]\n"
	    "                     [--since TIME] [--until TIME] [--json]\n"
	    "  --audit  list the audit log (rejects, defers, rewrites, keyword events,\n"
	    "           pauses), oldest first, the last 24 h unless --since/--until;\n"
	    "           TIME is Unix seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z (UTC)\n"
	    "           or a duration back from now (90m, 24h, 7d); --json prints one\n"
	    "           JSON object per line.  Works with smppd running or stopped.\n"
	    "       smppd -c FILE --consent-import CSV|-\n"
	    "  --consent-import  store consent records, one per line:\n"
	    "           number,brand,campaign,method,time,who,purpose,evidence\n"
	    "           (campaign empty: the whole brand; method web_form, keyword,\n"
	    "           paper or api; time Unix seconds, empty: now); bad lines are\n"
	    "           reported with their number and skipped (exit 1)\n"
	    "  -h       this help\n");
}

static int open_store(struct relay *r)
{
	struct store_config sc = {
		.path = r->cfg->store.path,
		.map_size = (size_t)r->cfg->store.map_size,
		.node_id = (unsigned)r->cfg->node_id,
		.max_batch = (unsigned)r->cfg->store.max_batch,
		.no_fsync = !r->cfg->store.fsync,
	};
	int rc = store_open(&sc, &r->store);
	if (rc != 0) {
		log_error("main", "event=store_open_failed path=%s error=\"%s\"", sc.path,
		    store_strerror(rc));
		return -1;
	}
	if (!store_fsyncs(r->store))
		log_warn("main", "event=fsync_off path=%s reason=\"store.fsync is false: a power cut "
		    "may lose acknowledged messages\"", sc.path);
	uint64_t counts[STORE_STATE_COUNT];
	store_state_counts(r->store, counts);
	log_info("store", "event=opened path=%s recovered=%llu queued=%llu submitted=%llu",
	    sc.path, (unsigned long long)store_recovered(r->store),
	    (unsigned long long)(counts[STORE_QUEUED] + counts[STORE_DEFERRED]),
	    (unsigned long long)counts[STORE_SUBMITTED]);
	return 0;
}

/*
 * Log lines and store operations wait for the end of the loop turn that
 * made them (log.h, store.h): one event, activated by the first of either.
 */
static struct event *turn_end_ev;

static void turn_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	(void)fd;
	(void)what;
	if (r->store)
		store_flush(r->store);
	log_flush();
}

static void turn_end_soon(void *arg)
{
	(void)arg;
	event_active(turn_end_ev, EV_TIMEOUT, 0);
}

static int start(struct relay *r)
{
	/* Precise timers (timerfd): pacing sleeps to the microsecond, and a
	 * wake-up rounded up to the next millisecond is lost from every
	 * interval of a rate limit (2% at 10/s). */
	struct event_config *ec = event_config_new();
	if (!ec)
		return -1;
	event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	r->base = event_base_new_with_config(ec);
	relay_clock_base(r->base);
	event_config_free(ec);
	if (!r->base)
		return -1;
	turn_end_ev = event_new(r->base, -1, 0, turn_end_cb, r);
	if (!turn_end_ev)
		return -1;
	log_buffer(turn_end_soon, NULL);
	r->accounts = calloc(r->cfg->n_accounts ? r->cfg->n_accounts : 1, sizeof *r->accounts);
	if (!r->accounts)
		return -1;
	r->metrics = metrics_new(r->cfg->n_accounts, r->cfg->n_carriers);
	if (!r->metrics)
		return -1;
	for (size_t i = 0; i < r->cfg->n_accounts; i++)
		if (!(r->accounts[i] = account_rt_new(r, &r->cfg->accounts[i], (unsigned)i)))
			return -1;
	relay_index_accounts(r);
	if (open_store(r) != 0)
		return -1;
	r->compliance = compliance_new(r->store, NULL);
	if (!r->compliance)
		return -1;
	compliance_policy_changed(r->compliance); /* loaded before the store */
	r->lookup = compliance_lookup(r->compliance);
	r->monitors = monitors_new(r->compliance, r->store);
	if (!r->monitors)
		return -1;
	r->hooks = hooks_new(r->base);
	if (!r->hooks)
		return -1;
	r->store_ev = event_new(r->base, store_notify_fd(r->store), EV_READ | EV_PERSIST, store_cb, r);
	if (!r->store_ev || event_add(r->store_ev, NULL) != 0)
		return -1;
	store_set_flush_hook(r->store, turn_end_soon, NULL);
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	for (int i = 0; i < 3; i++) {
		r->sig_ev[i] = evsignal_new(r->base, sigs[i], signal_cb, r);
		if (!r->sig_ev[i] || event_add(r->sig_ev[i], NULL) != 0)
			return -1;
	}
	if (secure_init(r) != 0 || dispatch_init(r) != 0 || upstream_listen(r) != 0 ||
	    carrier_start(r) != 0 || admin_start(r) != 0)
		return -1;
	r->health_ev = event_new(r->base, -1, EV_PERSIST, health_cb, r);
	struct timeval health_every = { health_interval_s(), 0 };
	if (!r->health_ev || event_add(r->health_ev, &health_every) != 0)
		return -1;
	if (r->cfg->store.resident_limit > 0) {
		r->trim_ev = event_new(r->base, -1, EV_PERSIST, trim_cb, r);
		struct timeval second = { 1, 0 };
		if (!r->trim_ev || event_add(r->trim_ev, &second) != 0)
			return -1;
	}
	r->purge_ev = event_new(r->base, -1, EV_PERSIST, purge_cb, r);
	uint64_t purge_ms = r->cfg->store.purge_interval_ms;
	struct timeval every = { (time_t)(purge_ms / 1000), (suseconds_t)(purge_ms % 1000) * 1000 };
	if (!r->purge_ev || event_add(r->purge_ev, &every) != 0)
		return -1;
	/* smppd --pause/--resume write the store from another process: the
	 * pauses held in memory are re-read this often (and on SIGHUP) */
	r->pause_ev = event_new(r->base, -1, EV_PERSIST, pause_cb, r);
	struct timeval poll = { (time_t)(r->cfg->pause.poll_ms / 1000),
		(suseconds_t)(r->cfg->pause.poll_ms % 1000) * 1000 };
	if (!r->pause_ev || event_add(r->pause_ev, &poll) != 0)
		return -1;
	return 0;
}

static void stop(struct relay *r)
{
	/* First: submits held on hooks are dropped while their sessions
	 * still exist (nothing was acknowledged for them). */
	hooks_free(r->hooks);
	r->hooks = NULL;
	admin_stop(r);
	for (uint32_t i = 0; i < r->conns_cap; i++) {
		struct conn *c = r->conns[i];
		if (c)
			conn_close(c);
	}
	for (size_t i = 0; i < r->n_listeners; i++)
		evconnlistener_free(r->listeners[i]);
	free(r->listeners);
	upstream_stop(r);
	carrier_stop(r);
	dispatch_free(r);
	if (r->store) {
		store_close(r->store); /* flushes, waits for the writer: nothing given is lost */
		r->store = NULL;
	}
	monitors_free(r->monitors);
	if (r->compliance)
		compliance_free(r->compliance);
	if (r->store_ev)
		event_free(r->store_ev);
	if (r->purge_ev)
		event_free(r->purge_ev);
	if (r->trim_ev)
		event_free(r->trim_ev);
	if (r->health_ev)
		event_free(r->health_ev);
	if (r->pause_ev)
		event_free(r->pause_ev);
	for (int i = 0; i < 3; i++)
		if (r->sig_ev[i])
			event_free(r->sig_ev[i]);
	carrier_free(r);
	secure_free(r);
	free(r->conns);
	free(r->conn_gens);
	for (size_t i = 0; r->accounts && i < r->cfg->n_accounts; i++)
		free(r->accounts[i]);
	free(r->accounts);
	free(r->account_slots);
	free(r->owners);
	relay_retired_free(r);
	metrics_free(r->metrics);
	relay_clock_base(NULL);
	log_buffer(NULL, NULL);
	if (turn_end_ev) {
		event_free(turn_end_ev);
		turn_end_ev = NULL;
	}
	if (r->base)
		event_base_free(r->base);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pause", required_argument, NULL, 'P' },
		{ "resume", required_argument, NULL, 'R' },
		{ "status", required_argument, NULL, 'S' },
		{ "audit", no_argument, NULL, 'A' },
		{ "consent-import", required_argument, NULL, 'I' },
		{ "recipient", required_argument, NULL, 'r' },
		{ "campaign", required_argument, NULL, 'C' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct auditctl_args audit = { 0 };
	int audit_mode = 0, audit_filters = 0;
	const char *consent_csv = NULL;
	const char *path = NULL, *campaign = NULL;
	int check_only = 0, opt, ctl = -1;
	while ((opt = getopt_long(argc, argv, "c:th", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 't': check_only = 1; break;
		case 'h': usage(stdout); return 0;
		case 'A': audit_mode = 1; break;
		case 'I': consent_csv = optarg; break;
		case 'r': audit.recipient = optarg; audit_filters = 1; break;
		case 'C': audit.campaign = optarg; audit_filters = 1; break;
		case 's': audit.since = optarg; audit_filters = 1; break;
		case 'u': audit.until = optarg; audit_filters = 1; break;
		case 'j': audit.json = 1; audit_filters = 1; break;
		case 'P':
		case 'R':
		case 'S':
			if (ctl >= 0) {
				fprintf(stderr, "smppd: give one of --pause, --resume, --status\n");
				return 2;
			}
			ctl = opt == 'P' ? PAUSECTL_PAUSE : opt == 'R' ? PAUSECTL_RESUME : PAUSECTL_STATUS;
			campaign = optarg;
			break;
		default: usage(stderr); return 2;
		}
	}
	if (audit_filters && !audit_mode) {
		fprintf(stderr, "smppd: --recipient, --campaign, --since, --until and --json go with --audit\n");
		return 2;
	}
	if (!path || optind != argc || (ctl >= 0 && (check_only || !*campaign)) ||
	    (audit_mode && (ctl >= 0 || check_only)) ||
	    (consent_csv && (audit_mode || ctl >= 0 || check_only))) {
		usage(stderr);
		return 2;
	}
	static struct config cfg;
	char err[1024];
	if (config_load(path, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "smppd: %s\n", err);
		return 1;
	}
	static struct relay r;
	r.cfg = &cfg;
	r.policy_path = cfg.policy;
	if (relay_policy_load(&r, err, sizeof err) != 0) {
		fprintf(stderr, "smppd: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	if (consent_csv) {
		int rc = consentctl_import(&cfg, r.policy, consent_csv);
		policy_unref(r.policy);
		config_free(&cfg);
		return rc;
	}
	if (audit_mode) {
		int rc = auditctl_main(&cfg, &audit);
		policy_unref(r.policy);
		config_free(&cfg);
		return rc;
	}
	if (ctl >= 0) {
		int rc = pausectl_main(&cfg, r.policy, (enum pausectl_op)ctl, campaign);
		policy_unref(r.policy);
		config_free(&cfg);
		return rc;
	}
	if (check_only && secure_check(&cfg, err, sizeof err) != 0) {
		fprintf(stderr, "smppd: %s: %s\n", path, err);
		policy_unref(r.policy);
		config_free(&cfg);
		return 1;
	}
	if (check_only) {
		printf("smppd: %s: configuration is valid%s%s\n", path,
		    cfg.policy ? ", and so is " : "", cfg.policy ? cfg.policy : "");
		policy_unref(r.policy);
		config_free(&cfg);
		return 0;
	}
	log_init((enum log_level)cfg.log.level, cfg.log.target == CONFIG_LOG_SYSLOG, "smppd");
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	int rc = 0;
	if (start(&r) != 0) {
		log_error("main", "event=start_failed");
		rc = 1;
	} else {
		log_info("main", "event=started config=%s", path);
		event_base_dispatch(r.base);
	}
	stop(&r);
	policy_unref(r.policy);
	log_info("main", "event=stopped");
	config_free(&cfg);
	return rc;
}
