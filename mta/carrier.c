/*
 * Carriers: a pool of persistent binds per carrier (we are the ESME).
 *
 * Each configured session slot connects, binds (transceiver, or
 * transmitter and receiver on alternate slots) and stays up; a lost or
 * refused bind reconnects after an exponential backoff with jitter.  What
 * the binds carry is the dispatcher's business: submits go out through
 * dispatch_submit_to(), their answers and the carrier's deliver_sm come
 * back to dispatch.c.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mta/log.h"
#include "mta/metrics.h"
#include "mta/relay.h"
#include "mta/secure.h"

/* How long a carrier that left a submit unanswered comes after the other
 * carriers of its routes. */
#define SUSPECT_MS 30000

#define CARRIER_IN_WINDOW 4096
#define CARRIER_OUT_WINDOW 1024

struct retry_arg {
	struct carrier_rt *carrier;
	unsigned slot;
	struct relay *relay;
};

static void connect_slot(struct relay *r, struct carrier_rt *cr, unsigned slot);

uint32_t carrier_burst(double mps)
{
	return mps >= 10 ? (uint32_t)(mps / 10) : 1;
}

/*
 * Carrier feedback: ESME_RTHROTTLED and ESME_RMSGQFUL halve the carrier's
 * rate, clean answers bring it back towards max_mps (AIMD).
 */
void carrier_feedback(struct carrier_rt *cr, uint32_t status)
{
	if (!cr->limited)
		return;
	int64_t now = relay_now_us();
	int moved = thr_aimd_feedback(&cr->aimd, status, now);
	if (moved == 0)
		return;
	double rate = thr_aimd_rate(&cr->aimd);
	thr_gcra_set_rate(&cr->mps, rate, carrier_burst(rate), now);
	log_info("carrier", "event=carrier_rate carrier=%s mps=%.1f reason=%s", cr->cfg->name, rate,
	    moved < 0 ? "throttled" : "recovering");
}

static uint64_t backoff_ms(const struct carrier_rt *cr, unsigned failures)
{
	uint64_t wait = cr->cfg->reconnect_initial_ms ? cr->cfg->reconnect_initial_ms : 1000;
	for (unsigned i = 1; i < failures && wait < cr->cfg->reconnect_max_ms; i++)
		wait *= 2;
	if (cr->cfg->reconnect_max_ms && wait > cr->cfg->reconnect_max_ms)
		wait = cr->cfg->reconnect_max_ms;
	/* +-20% so that many binds lost together do not come back together */
	uint64_t jitter = wait / 5;
	if (jitter)
		wait = wait - jitter + (uint64_t)random() % (2 * jitter + 1);
	return wait;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct retry_arg *ra = arg;
	(void)fd;
	(void)what;
	if (!ra->relay->stopping)
		connect_slot(ra->relay, ra->carrier, ra->slot);
}

static void schedule_retry(struct relay *r, struct carrier_rt *cr, unsigned slot)
{
	if (r->stopping || cr->removed || !cr->retry[slot])
		return;
	uint64_t wait = backoff_ms(cr, ++cr->failures[slot]);
	struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000 };
	log_info("carrier", "event=reconnect_scheduled carrier=%s slot=%u in_ms=%llu",
	    cr->cfg->name, slot, (unsigned long long)wait);
	event_add(cr->retry[slot], &tv);
}

static uint32_t bind_command(const struct carrier_rt *cr, unsigned slot)
{
	if (cr->cfg->bind == CONFIG_BIND_TRANSCEIVER)
		return SMPP_BIND_TRANSCEIVER;
	if (cr->cfg->bind == CONFIG_BIND_TX)
		return SMPP_BIND_TRANSMITTER;
	return slot % 2 == 0 ? SMPP_BIND_TRANSMITTER : SMPP_BIND_RECEIVER;
}

/* The carrier accepted our TCP connection: bind. */
void carrier_connected(struct conn *c)
{
	struct carrier_rt *cr = c->carrier;
	if (c->inbound)
		return; /* accepted: the carrier speaks first */
	struct smpp_pdu bind;
	smpp_pdu_init(&bind, bind_command(cr, c->slot), 0);
	bind.system_id = cr->cfg->system_id;
	bind.password = cr->cfg->password ? cr->cfg->password : "";
	bind.system_type = cr->cfg->system_type ? cr->cfg->system_type : "";
	bind.interface_version = 0x34;
	if (smpp_session_send(c->sess, &bind, 0, relay_mono_ms()) != 0) {
		log_error("carrier", "event=bind_send_failed carrier=%s", cr->cfg->name);
		conn_close(c);
		return;
	}
	conn_flush(c);
	conn_arm(c);
}

static void connect_slot(struct relay *r, struct carrier_rt *cr, unsigned slot)
{
	const struct config_carrier *cc = cr->cfg;
	char port[8], peer[128];
	snprintf(port, sizeof port, "%d", cc->port);
	snprintf(peer, sizeof peer, "%s:%d", cc->host, cc->port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(cc->host, port, &hints, &ai);
	if (rc != 0) {
		log_warn("carrier", "event=resolve_failed carrier=%s host=%s reason=\"%s\"",
		    cc->name, cc->host, gai_strerror(rc));
		schedule_retry(r, cr, slot);
		return;
	}
	struct smpp_session_config scfg = {
		.role = SMPP_ROLE_ESME,
		/* dispatch keeps to cc->window; the session's own is larger so
		 * that a reload can raise the window without a rebind */
		.window = cc->window > CARRIER_OUT_WINDOW ? (uint32_t)cc->window : CARRIER_OUT_WINDOW,
		/* Receipts are answered once committed: leave room for a burst
		 * of them rather than throttling the carrier's deliver_sm. */
		.in_window = CARRIER_IN_WINDOW,
		.max_pdu_len = 65536,
		.response_timeout_ms = (uint32_t)(cc->response_timeout_ms ? cc->response_timeout_ms : 10000),
		.enquire_link_ms = (uint32_t)cc->enquire_link_ms,
	};
	struct conn *c = secure_carrier_conn(r, cr, &scfg, peer);
	if (!c) {
		freeaddrinfo(ai);
		schedule_retry(r, cr, slot);
		return;
	}
	c->carrier = cr;
	c->slot = slot;
	cr->sessions[slot] = c;
	if (bufferevent_socket_connect(c->bev, ai->ai_addr, (int)ai->ai_addrlen) != 0) {
		freeaddrinfo(ai);
		log_warn("carrier", "event=connect_failed carrier=%s peer=%s reason=\"%s\"",
		    cc->name, peer, strerror(errno));
		conn_close(c);
		return;
	}
	freeaddrinfo(ai);
	conn_nodelay(c);
	log_debug("carrier", "event=connecting carrier=%s slot=%u peer=%s", cc->name, slot, peer);
}

void carrier_closed(struct conn *c)
{
	struct carrier_rt *cr = c->carrier;
	if (!cr)
		return;
	if (c->inbound) {
		carrier_in_closed(c);
		return;
	}
	if (c->bound) {
		cr->bound--;
		log_warn("carrier", "event=unbound carrier=%s slot=%u", cr->cfg->name, c->slot);
	}
	if (cr->sessions[c->slot] == c)
		cr->sessions[c->slot] = NULL;
	schedule_retry(c->relay, cr, c->slot);
}

static void on_bound(struct conn *c)
{
	struct carrier_rt *cr = c->carrier;
	c->bound = 1;
	cr->bound++;
	if (cr->removed) { /* retired while binding: do not start sending */
		if (smpp_session_unbind(c->sess, relay_mono_ms()) == 0) {
			conn_flush(c);
			conn_arm(c);
		} else {
			conn_close(c);
		}
		return;
	}
	cr->failures[c->slot] = 0;
	thr_gcra_init(&c->bind_rate);
	c->bind_limited = cr->cfg->bind_mps > 0;
	if (c->bind_limited) /* a new bind starts with its burst, like a new TCP window */
		thr_gcra_set_rate(&c->bind_rate, cr->cfg->bind_mps, carrier_burst(cr->cfg->bind_mps),
		    relay_now_us());
	log_info("carrier", "event=bound carrier=%s slot=%u bind=%s peer=%s", cr->cfg->name,
	    c->slot, smpp_command_name(bind_command(cr, c->slot)), c->peer);
	dispatch_capacity(c->relay);
}

void carrier_event(struct conn *c, const struct smpp_event *ev)
{
	if (c->inbound) {
		carrier_in_event(c, ev);
		return;
	}
	switch (ev->kind) {
	case SMPP_EV_BOUND:
		on_bound(c);
		break;
	case SMPP_EV_BIND_FAILED:
		log_warn("carrier", "event=bind_refused carrier=%s status=%s", c->carrier->cfg->name,
		    smpp_status_name(ev->status));
		conn_close(c);
		break;
	case SMPP_EV_RESPONSE:
		dispatch_carrier_response(c, ev);
		break;
	case SMPP_EV_TIMEOUT:
		dispatch_carrier_lost(c, ev->cookie);
		/* A bind that lets a submit go unanswered for response_timeout
		 * is not to be trusted with more: close it (its other submits are
		 * requeued, routes fail over) and bind again after the backoff. */
		if (!c->closed) {
			log_warn("carrier", "event=response_timeout carrier=%s slot=%u action=rebind",
			    c->carrier->cfg->name, c->slot);
			c->carrier->suspect_until = relay_mono_ms() + SUSPECT_MS;
			conn_close(c);
		}
		break;
	case SMPP_EV_ABORTED:
		dispatch_carrier_lost(c, ev->cookie);
		break;
	case SMPP_EV_REQUEST:
		if (ev->pdu->command_id == SMPP_DELIVER_SM || ev->pdu->command_id == SMPP_DATA_SM)
			dispatch_receipt(c, ev->pdu, ev->sequence);
		else if (ev->needs_response) {
			struct smpp_pdu resp;
			smpp_pdu_init_resp(&resp, ev->pdu, SMPP_ESME_RINVCMDID);
			smpp_session_respond(c->sess, &resp);
		}
		break;
	case SMPP_EV_PROTOCOL_ERROR:
		log_warn("carrier", "event=protocol_error carrier=%s field=%s reason=\"%s\"",
		    c->carrier->cfg->name, ev->error.field ? ev->error.field : "",
		    ev->error.reason ? ev->error.reason : "");
		if (ev->matched)
			dispatch_carrier_lost(c, ev->cookie);
		break;
	case SMPP_EV_LINK_DEAD:
		log_warn("carrier", "event=link_dead carrier=%s slot=%u", c->carrier->cfg->name, c->slot);
		break;
	default:
		break;
	}
}

void carrier_apply_limits(struct carrier_rt *cr)
{
	int64_t now = relay_now_us();
	double mps = cr->cfg->max_mps;
	cr->limited = mps > 0;
	thr_gcra_init(&cr->mps);
	if (cr->limited) { /* smooth: a burst of a tenth of a second, at least one */
		thr_gcra_set_rate(&cr->mps, mps, carrier_burst(mps), now);
		/* halve on throttling (floor a tenth), +5% of max a second back */
		thr_aimd_init(&cr->aimd, mps, mps / 10, 0.5, mps / 20, 1000000, now);
	}
	double bind_mps = cr->cfg->bind_mps;
	for (unsigned s = 0; s < cr->n_slots; s++) {
		struct conn *c = cr->sessions[s];
		if (!c || !c->bound)
			continue;
		thr_gcra_init(&c->bind_rate);
		c->bind_limited = bind_mps > 0;
		if (c->bind_limited)
			thr_gcra_set_rate(&c->bind_rate, bind_mps, carrier_burst(bind_mps), now);
	}
}

struct carrier_rt *carrier_rt_new(struct relay *r, const struct config_carrier *cfg)
{
	struct carrier_rt *cr = calloc(1, sizeof *cr);
	if (!cr)
		goto nomem;
	cr->cfg = cfg;
	cr->index = r->carrier_ids++;
	cr->metrics_slot = metrics_carrier_slot(r->metrics, cfg->name);
	unsigned n = (unsigned)(cfg->sessions > 0 ? cfg->sessions : 1);
	cr->n_slots = n;
	cr->sessions = calloc(n, sizeof *cr->sessions);
	cr->failures = calloc(n, sizeof *cr->failures);
	cr->retry = calloc(n, sizeof *cr->retry);
	struct retry_arg *args = calloc(n, sizeof *args);
	cr->retry_args = args;
	if (!cr->sessions || !cr->failures || !cr->retry || !args)
		goto nomem;
	for (unsigned s = 0; s < n; s++) {
		args[s] = (struct retry_arg){ cr, s, r };
		cr->retry[s] = evtimer_new(r->base, retry_cb, &args[s]);
		if (!cr->retry[s])
			goto nomem;
	}
	if (secure_carrier_init(cr) != 0) {
		carrier_rt_free(cr);
		return NULL;
	}
	carrier_apply_limits(cr);
	return cr;
nomem:
	log_error("carrier", "event=setup_failed carrier=%s reason=\"out of memory\"", cfg->name);
	carrier_rt_free(cr);
	return NULL;
}

void carrier_rt_connect(struct relay *r, struct carrier_rt *cr)
{
	for (unsigned s = 0; s < cr->n_slots; s++)
		connect_slot(r, cr, s);
}

int carrier_start(struct relay *r)
{
	r->carriers = calloc(r->cfg->n_carriers ? r->cfg->n_carriers : 1, sizeof *r->carriers);
	if (!r->carriers)
		return -1;
	for (size_t i = 0; i < r->cfg->n_carriers; i++) {
		r->carriers[i] = carrier_rt_new(r, &r->cfg->carriers[i]);
		if (!r->carriers[i])
			return -1;
	}
	for (size_t i = 0; i < r->cfg->n_carriers; i++)
		carrier_rt_connect(r, r->carriers[i]);
	return carrier_in_listen(r);
}

static void stop_retries(struct carrier_rt *cr)
{
	for (unsigned s = 0; cr->retry && s < cr->n_slots; s++) {
		if (cr->retry[s]) {
			event_free(cr->retry[s]);
			cr->retry[s] = NULL;
		}
	}
}

static int session_bound(const struct conn *c)
{
	enum smpp_state st = smpp_session_state(c->sess);
	return st == SMPP_ST_BOUND_TX || st == SMPP_ST_BOUND_RX || st == SMPP_ST_BOUND_TRX;
}

/* A removed carrier's binds unbind one by one as their last submit is
 * answered (or response_timeout passed): answers are not lost to a
 * reload.  Binds still connecting are closed at once. */
static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct carrier_rt *cr = arg;
	(void)fd;
	(void)what;
	int waiting = 0;
	uint64_t now = relay_mono_ms();
	for (unsigned s = 0; s < cr->n_slots; s++) {
		struct conn *c = cr->sessions[s];
		if (!c || c->closed)
			continue;
		if (!c->bound) {
			conn_close(c); /* on_bound unbinds one that binds meanwhile */
			continue;
		}
		if (!session_bound(c))
			continue; /* unbinding already */
		if (smpp_session_outstanding(c->sess) > 0 && now < cr->drain_until) {
			waiting = 1;
			continue;
		}
		if (smpp_session_unbind(c->sess, now) == 0) {
			conn_flush(c);
			conn_arm(c);
		} else {
			conn_close(c);
		}
	}
	if (waiting) {
		struct timeval tv = { 0, 20 * 1000 };
		event_add(cr->drain, &tv);
	}
}

/* Unbinds cr's binds as their submits are answered, all by until. */
static void drain_until(struct relay *r, struct carrier_rt *cr, uint64_t until)
{
	stop_retries(cr);
	cr->drain_until = until;
	if (!cr->drain)
		cr->drain = evtimer_new(r->base, drain_cb, cr);
	if (!cr->drain)
		cr->drain_until = 0; /* out of memory: unbind now */
	drain_cb(-1, 0, cr);
}

void carrier_retire(struct relay *r, struct carrier_rt *cr)
{
	cr->removed = 1;
	drain_until(r, cr, relay_mono_ms() +
	    (cr->cfg->response_timeout_ms ? cr->cfg->response_timeout_ms : 10000));
}

void carrier_drain_all(struct relay *r, uint64_t until)
{
	for (size_t i = 0; r->carriers && i < r->cfg->n_carriers; i++)
		drain_until(r, r->carriers[i], until);
}

void carrier_stop(struct relay *r)
{
	carrier_in_stop(r);
	for (size_t i = 0; r->carriers && i < r->cfg->n_carriers; i++)
		stop_retries(r->carriers[i]);
}

void carrier_rt_free(struct carrier_rt *cr)
{
	if (!cr)
		return;
	stop_retries(cr);
	if (cr->drain)
		event_free(cr->drain);
	secure_carrier_free(cr);
	free(cr->sessions);
	free(cr->failures);
	free(cr->retry);
	free(cr->retry_args);
	free(cr);
}

void carrier_free(struct relay *r)
{
	for (size_t i = 0; r->carriers && i < r->cfg->n_carriers; i++)
		carrier_rt_free(r->carriers[i]);
	free(r->carriers);
	r->carriers = NULL;
	carrier_in_free(r);
}
