/*
 * A connection: a socket's bufferevent driving one SMPP session engine.
 *
 * Readable: the whole input is handed to the engine, which consumes whole
 * PDUs and yields events; the events go to the upstream or carrier side.
 * After each round the engine's output is moved to the bufferevent and its
 * timer rearmed at the engine's next deadline.  A closed session first
 * hands out its outstanding requests (so their messages are requeued),
 * then its output is flushed and the connection freed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "mta/log.h"
#include "mta/relay.h"
#include "mta/secure.h"
#include "mta/tls.h"

/* Stop reading from a peer whose output we cannot get out. */
#define OUTPUT_HIGH_WATER (4u << 20)

static struct event_base *clock_base;

static uint64_t mono_us_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * The monotonic clock once per loop turn: sessions stamp every PDU they
 * send or read with it (timeouts of seconds), latencies are measured with
 * it, and each read costs on virtual machines.  A new turn shows as a new
 * cached wall time from libevent, which it takes once per turn, right
 * after the poll that brought the turn's events.
 */
uint64_t relay_turn_us(void)
{
	static struct timeval turn;
	static uint64_t turn_mono;
	struct timeval tv;
	if (!clock_base || event_base_gettimeofday_cached(clock_base, &tv) != 0)
		return mono_us_now();
	if (tv.tv_sec != turn.tv_sec || tv.tv_usec != turn.tv_usec || turn_mono == 0) {
		turn = tv;
		turn_mono = mono_us_now();
	}
	return turn_mono;
}

uint64_t relay_mono_ms(void)
{
	return relay_turn_us() / 1000u;
}

uint64_t relay_turn_since_us(uint64_t then_us)
{
	uint64_t now = relay_turn_us();
	return now > then_us ? now - then_us : 0;
}

/*
 * SMPPD_TEST_CLOCK_OFFSET (seconds) shifts the relay's wall clock, so tests
 * can put smppd in the middle of the night for quiet hours.  Test-only:
 * smppd logs loudly when it is set.
 */
static int64_t clock_offset_ms(void)
{
	static int64_t offset;
	static int known;
	if (!known) {
		known = 1;
		const char *v = getenv("SMPPD_TEST_CLOCK_OFFSET");
		offset = v ? strtoll(v, NULL, 10) * 1000 : 0;
		if (offset)
			log_warn("main", "event=test_clock offset_s=%lld reason=\"SMPPD_TEST_CLOCK_OFFSET is set: not for production\"",
			    (long long)(offset / 1000));
	}
	return offset;
}

void relay_clock_base(struct event_base *base)
{
	clock_base = base;
}

/*
 * The wall clock as the loop saw it when this turn began (libevent reads
 * it once per turn; outside the loop it is read now).  Timestamps and due
 * times need milliseconds, and a clock read per use (several per message)
 * cost smppd 6-16% of its CPU per message on this project's virtual
 * machines (kvm-clock).
 */
int64_t relay_wall_ms(void)
{
	struct timeval tv;
	if (clock_base && event_base_gettimeofday_cached(clock_base, &tv) == 0)
		return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000 + clock_offset_ms();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + clock_offset_ms();
}

/* Read each time: a throttle fed a time up to a loop turn old could let
 * a send through that much early. */
int64_t relay_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 + clock_offset_ms() * 1000;
}

static int table_slot(struct relay *r)
{
	for (uint32_t i = 0; i < r->conns_cap; i++)
		if (!r->conns[i])
			return (int)i;
	uint32_t cap = r->conns_cap ? r->conns_cap * 2 : 256;
	struct conn **c = realloc(r->conns, cap * sizeof *c);
	if (!c)
		return -1;
	r->conns = c;
	uint32_t *g = realloc(r->conn_gens, cap * sizeof *g);
	if (!g)
		return -1;
	r->conn_gens = g;
	for (uint32_t i = r->conns_cap; i < cap; i++) {
		r->conns[i] = NULL;
		r->conn_gens[i] = 0;
	}
	int slot = (int)r->conns_cap;
	r->conns_cap = cap;
	return slot;
}

struct conn_ref conn_ref(const struct conn *c)
{
	return (struct conn_ref){ c->index, c->gen };
}

struct conn *conn_get(struct relay *r, struct conn_ref ref)
{
	if (ref.index >= r->conns_cap)
		return NULL;
	struct conn *c = r->conns[ref.index];
	return c && c->gen == ref.gen && !c->closed ? c : NULL;
}

static void dispatch_event(struct conn *c, const struct smpp_event *ev)
{
	if (c->kind == CONN_UPSTREAM)
		upstream_event(c, ev);
	else
		carrier_event(c, ev);
}

static void conn_free(struct conn *c)
{
	struct relay *r = c->relay;
	if (c->kind == CONN_UPSTREAM)
		upstream_closed(c);
	else
		carrier_closed(c);
	r->conns[c->index] = NULL;
	if (c->timer)
		event_free(c->timer);
	if (c->bev)
		bufferevent_free(c->bev);
	free(c->sess);
	free(c);
}

/* Hand out whatever the engine's timers have due, CLOSED last. */
static void run_ticks(struct conn *c)
{
	struct smpp_event ev;
	uint64_t now = relay_mono_ms();
	while (!c->closed && smpp_session_tick(c->sess, now, &ev) == 1) {
		if (ev.kind == SMPP_EV_CLOSED)
			c->closed = 1;
		dispatch_event(c, &ev);
	}
}

static void write_done_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	(void)bev;
	if (c->closed)
		conn_free(c);
	else
		conn_resume(c);
}

void conn_flush(struct conn *c)
{
	const uint8_t *p;
	size_t n;
	smpp_session_output(c->sess, &p, &n);
	if (n == 0)
		return;
	if (bufferevent_write(c->bev, p, n) == 0)
		smpp_session_output_consumed(c->sess, n);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) > OUTPUT_HIGH_WATER)
		bufferevent_disable(c->bev, EV_READ);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	(void)fd;
	(void)what;
	/* a tick may close the connection (a response timeout): it is freed
	 * by conn_arm below, not under run_ticks' feet */
	c->in_callback = 1;
	run_ticks(c);
	c->in_callback = 0;
	conn_flush(c);
	conn_arm(c);
}

void conn_arm(struct conn *c)
{
	if (c->closed) {
		event_del(c->timer);
		/* Free once the last bytes (an unbind_resp, a nack) are out. */
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 && !c->in_callback)
			conn_free(c);
		return;
	}
	if (smpp_session_state(c->sess) == SMPP_ST_CLOSED) {
		run_ticks(c);
		conn_arm(c);
		return;
	}
	uint64_t deadline = smpp_session_next_deadline(c->sess);
	c->armed_deadline = deadline;
	if (deadline == UINT64_MAX) {
		event_del(c->timer);
		return;
	}
	uint64_t now = relay_mono_ms();
	uint64_t wait = deadline > now ? deadline - now : 0;
	struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000 };
	event_add(c->timer, &tv);
}

/*
 * An application may have `window` requests unanswered; past that we stop
 * reading its socket, so TCP pushes back instead of us queueing without
 * bound.
 */
static int conn_window_full(const struct conn *c)
{
	return c->kind == CONN_UPSTREAM && c->account &&
	    smpp_session_pending_in(c->sess) >= (uint32_t)c->account->cfg->window;
}

/* After answers went out: read what waits in the input buffer again. */
void conn_resume(struct conn *c)
{
	if (c->closed || conn_window_full(c) || c->in_callback)
		return;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) > OUTPUT_HIGH_WATER)
		return;
	if (!(bufferevent_get_enabled(c->bev) & EV_READ)) {
		bufferevent_enable(c->bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
			bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
	}
}

void conn_request_sent(struct conn *c)
{
	/* a timer set for a later deadline (a keep-alive) would notice a
	 * missing response only then */
	if (!c->closed && smpp_session_next_deadline(c->sess) < c->armed_deadline)
		conn_arm(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	const uint8_t *data = evbuffer_pullup(in, (ssize_t)len);
	size_t off = 0;
	uint64_t now = relay_mono_ms();
	c->in_callback = 1;
	while (!c->closed && off < len) {
		if (conn_window_full(c)) {
			bufferevent_disable(bev, EV_READ); /* resumes as answers go out */
			break;
		}
		struct smpp_event ev;
		size_t used = 0;
		int rc = smpp_session_feed(c->sess, data + off, len - off, now, &used, &ev);
		off += used;
		if (rc == 1) {
			dispatch_event(c, &ev);
			continue;
		}
		if (rc == SMPP_SESS_EBUFFER) {
			conn_flush(c);
			const uint8_t *p;
			size_t n;
			smpp_session_output(c->sess, &p, &n);
			if (n == 0)
				continue;
			bufferevent_disable(bev, EV_READ); /* resumes when written */
		}
		break;
	}
	evbuffer_drain(in, off);
	c->in_callback = 0;
	conn_flush(c);
	conn_arm(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	if (what & BEV_EVENT_CONNECTED) {
		secure_connected(c); /* with TLS: after the handshake */
		if (c->kind == CONN_CARRIER)
			carrier_connected(c);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		char tls[256] = "";
		int err = EVUTIL_SOCKET_ERROR();
		if (bufferevent_openssl_get_ssl(bev))
			tls_bev_error(bev, tls, sizeof tls);
		if (!c->closed)
			log_info(c->kind == CONN_UPSTREAM ? "upstream" : "carrier",
			    "event=disconnect peer=%s reason=\"%s\"", c->peer,
			    tls[0] ? tls : what & BEV_EVENT_EOF ? "eof" : strerror(err));
		smpp_session_close(c->sess);
		run_ticks(c);
		if (!c->closed) {
			c->closed = 1;
		}
		/* The peer is gone: nothing more to flush. */
		evbuffer_drain(bufferevent_get_output(c->bev),
		    evbuffer_get_length(bufferevent_get_output(c->bev)));
		conn_free(c);
	}
}

void conn_close(struct conn *c)
{
	smpp_session_close(c->sess);
	run_ticks(c);
	conn_flush(c);
	conn_arm(c);
}

/*
 * A socket bufferevent, or with SSL an OpenSSL one that owns the SSL:
 * accepting for upstream sessions, connecting for carrier binds.  Peers
 * that close without a TLS close_notify are common in SMPP and lose
 * nothing (every PDU is answered), so that is an EOF, not an error.
 */
static struct bufferevent *conn_bev(struct relay *r, enum conn_kind kind, int fd,
    struct ssl_st *ssl)
{
	if (!ssl)
		return bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	struct bufferevent *bev = bufferevent_openssl_socket_new(r->base, fd, ssl,
	    kind == CONN_UPSTREAM ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/*
 * SMPP answers are small writes that a peer waits for: with Nagle's
 * algorithm one waits for the ACK of the previous segment, which a peer
 * using delayed ACKs holds up to 40 ms.
 */
void conn_nodelay(struct conn *c)
{
	int one = 1;
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
		log_debug("conn", "event=nodelay_failed peer=%s error=\"%s\"", c->peer, strerror(errno));
}

struct conn *conn_new(struct relay *r, enum conn_kind kind, int fd,
    const struct smpp_session_config *scfg, const char *peer)
{
	return conn_new_tls(r, kind, fd, scfg, peer, NULL);
}

struct conn *conn_new_tls(struct relay *r, enum conn_kind kind, int fd,
    const struct smpp_session_config *scfg, const char *peer, struct ssl_st *ssl)
{
	int slot = table_slot(r);
	size_t size = smpp_session_size(scfg);
	struct conn *c = calloc(1, sizeof *c);
	void *mem = size ? malloc(size) : NULL;
	if (slot < 0 || !c || !mem) {
		free(c);
		free(mem);
		if (ssl)
			SSL_free(ssl);
		return NULL;
	}
	c->relay = r;
	c->kind = kind;
	c->index = (uint32_t)slot;
	c->gen = ++r->conn_gens[slot];
	c->sess = smpp_session_init(mem, size, scfg, relay_mono_ms());
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	c->bev = conn_bev(r, kind, fd, ssl);
	c->timer = evtimer_new(r->base, timer_cb, c);
	c->armed_deadline = UINT64_MAX;
	if (!c->sess || !c->bev || !c->timer) {
		if (c->bev) {
			bufferevent_free(c->bev);
		} else {
			if (ssl)
				SSL_free(ssl);
			if (fd >= 0)
				evutil_closesocket(fd);
		}
		if (c->timer)
			event_free(c->timer);
		free(mem);
		free(c);
		return NULL;
	}
	conn_nodelay(c); /* accepted: a socket already; connecting: none yet */
	r->conns[slot] = c;
	bufferevent_setcb(c->bev, read_cb, write_done_cb, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_arm(c);
	return c;
}
