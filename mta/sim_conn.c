/*
 * smppsim: connections (bufferevent + session engine), clock, PRNG and
 * option parsing shared by the carrier and the app.  See sim.h.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mta/hugemem.h"
#include "mta/sim.h"

int sim_verbose;

/* Output beyond this stops reading from the peer until it drains. */
#define HIGH_OUT (4u << 20)
#define LOW_OUT (256u << 10)

static struct event_base *g_base;
static struct sim_conn *g_conns[SIM_MAX_CONNS];
static uint32_t g_gen[SIM_MAX_CONNS];
static uint32_t g_limit; /* one past the highest slot ever used */
static unsigned g_count;
static struct sim_conn *g_dirty;
static void (*g_after)(uint64_t now);

void sim_set_after(void (*fn)(uint64_t now))
{
	g_after = fn;
}

static void after(uint64_t now)
{
	if (g_after)
		g_after(now);
	sim_flush_dirty();
}

/* --- clock, rng ------------------------------------------------------ */

uint64_t sim_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sim_prefault(void *p, size_t len)
{
	huge_hint(p, len);
	memset(p, 0, len);
}

uint64_t sim_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t sim_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
	/* splitmix64 of the seed, so that 0 and small seeds work */
	uint64_t z = seed + 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	r->s = z ? z : 1;
}

uint64_t sim_rng_next(struct sim_rng *r)
{
	uint64_t x = r->s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

uint32_t sim_rng_below(struct sim_rng *r, uint32_t n)
{
	return (uint32_t)(((sim_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

void sim_err(const char *fmt, ...)
{
	va_list ap;
	fputs("smppsim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int sim_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
    uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') {
		sim_err("%s: expected a number from %llu to %llu, got \"%s\"", opt,
		    (unsigned long long)min, (unsigned long long)max, s ? s : "");
		return -1;
	}
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max) {
		sim_err("%s: expected a number from %llu to %llu, got \"%s\"", opt,
		    (unsigned long long)min, (unsigned long long)max, s);
		return -1;
	}
	*out = v;
	return 0;
}

int sim_parse_double(const char *opt, const char *s, double min, double max,
    double *out)
{
	char *end;
	errno = 0;
	double v = s && *s ? strtod(s, &end) : NAN;
	if (!s || !*s || errno || *end || !(v >= min && v <= max)) {
		sim_err("%s: expected a number from %g to %g, got \"%s\"", opt, min,
		    max, s ? s : "");
		return -1;
	}
	*out = v;
	return 0;
}

/* --- the connection table -------------------------------------------- */

struct event_base *sim_base_new(void)
{
	/* A write event added and removed within one turn costs no epoll_ctl:
	 * the simulators share the cores with what they measure. */
	struct event_config *ec = event_config_new();
	struct event_base *base;
	if (!ec)
		return NULL;
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	return base;
}

void sim_init(struct event_base *base)
{
	g_base = base;
}

uint32_t sim_conn_limit(void)
{
	return g_limit;
}

struct sim_conn *sim_conn_at(uint32_t i)
{
	return i < g_limit ? g_conns[i] : NULL;
}

unsigned sim_conn_count(void)
{
	return g_count;
}

struct sim_conn *sim_conn_get(uint32_t slot, uint32_t gen)
{
	if (slot >= g_limit || !g_conns[slot] || g_gen[slot] != gen)
		return NULL;
	return g_conns[slot];
}

static void mark_dirty(struct sim_conn *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		c->dirty_next = g_dirty;
		g_dirty = c;
	}
}

static void flush(struct sim_conn *c)
{
	const uint8_t *p;
	size_t n;
	smpp_session_output(c->s, &p, &n);
	if (n) {
		if (c->bev)
			bufferevent_write(c->bev, p, n);
		smpp_session_output_consumed(c->s, n);
	}
}

static void conn_free(struct sim_conn *c)
{
	if (c->ops->gone)
		c->ops->gone(c);
	/* unlink from the dirty list */
	for (struct sim_conn **pp = &g_dirty; *pp; pp = &(*pp)->dirty_next) {
		if (*pp == c) {
			*pp = c->dirty_next;
			break;
		}
	}
	if (c->bev)
		bufferevent_free(c->bev);
	g_conns[c->slot] = NULL;
	g_gen[c->slot]++;
	g_count--;
	free(c->mem);
	free(c);
}

static void dispatch(struct sim_conn *c, const struct smpp_event *ev, uint64_t now)
{
	if (ev->kind == SMPP_EV_CLOSED)
		c->closed = 1;
	c->ops->event(c, ev, now);
	mark_dirty(c);
}

/* Deliver the engine's remaining events after a close. */
static void drain_events(struct sim_conn *c, uint64_t now)
{
	struct smpp_event ev;
	while (!c->closed && smpp_session_tick(c->s, now, &ev) == 1)
		dispatch(c, &ev, now);
}

/* After CLOSED: send what is left, then free. */
static void finish(struct sim_conn *c)
{
	flush(c);
	if (!c->bev || evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_free(c);
		return;
	}
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0); /* free when empty */
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct sim_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint64_t now = sim_now_ms();
	size_t len = evbuffer_get_length(in);
	if (len == 0 || c->closed)
		return;
	const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)len);
	size_t off = 0;
	for (;;) {
		size_t used = 0;
		struct smpp_event ev;
		int rc = smpp_session_feed(c->s, p + off, len - off, now, &used, &ev);
		off += used;
		if (rc == 1) {
			dispatch(c, &ev, now);
			if (c->closed)
				break;
		} else if (rc == SMPP_SESS_EBUFFER) {
			flush(c);
		} else {
			break;
		}
	}
	evbuffer_drain(in, off);
	mark_dirty(c);
	if (!c->closed && evbuffer_get_length(bufferevent_get_output(bev)) > HIGH_OUT)
		bufferevent_disable(bev, EV_READ);
	after(now);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct sim_conn *c = arg;
	if (c->closed) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_free(c);
		after(sim_now_ms());
		return;
	}
	bufferevent_enable(bev, EV_READ);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sim_conn *c = arg;
	uint64_t now = sim_now_ms();
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof one);
		if (c->ops->connected)
			c->ops->connected(c, now);
		mark_dirty(c);
		after(now);
		return;
	}
	/* EOF or error: the peer is gone */
	sim_tls_report(bev, c->peer);
	bufferevent_free(c->bev);
	c->bev = NULL;
	if (!c->closed) {
		smpp_session_close(c->s);
		drain_events(c, now);
	}
	conn_free(c);
	after(now);
}

struct sim_conn *sim_conn_new(int fd, const struct smpp_session_config *cfg,
    const struct sim_conn_ops *ops)
{
	uint32_t slot;
	for (slot = 0; slot < SIM_MAX_CONNS && g_conns[slot]; slot++)
		;
	if (slot == SIM_MAX_CONNS)
		return NULL;
	size_t size = smpp_session_size(cfg);
	struct sim_conn *c = calloc(1, sizeof *c);
	void *mem = size ? aligned_alloc(alignof(max_align_t),
	    (size + alignof(max_align_t) - 1) / alignof(max_align_t) *
	    alignof(max_align_t)) : NULL;
	struct bufferevent *bev = sim_tls_bev(g_base, fd);
	if (!c || !mem || !bev)
		goto fail;
	c->s = smpp_session_init(mem, size, cfg, sim_now_ms());
	if (!c->s)
		goto fail;
	c->mem = mem;
	c->bev = bev;
	c->ops = ops;
	c->slot = slot;
	c->gen = g_gen[slot];
	c->window = cfg->window;
	bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(bev, EV_WRITE, LOW_OUT, 0);
	if (fd >= 0) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	g_conns[slot] = c;
	if (slot >= g_limit)
		g_limit = slot + 1;
	g_count++;
	return c;
fail:
	if (bev)
		bufferevent_free(bev);
	else if (fd >= 0)
		evutil_closesocket(fd);
	free(mem);
	free(c);
	return NULL;
}

int sim_conn_connect(struct sim_conn *c, const struct sockaddr *sa, socklen_t len)
{
	return bufferevent_socket_connect(c->bev, sa, (int)len);
}

int sim_conn_send(struct sim_conn *c, struct smpp_pdu *req, uint64_t cookie,
    uint64_t now)
{
	int rc = smpp_session_send(c->s, req, cookie, now);
	if (rc == SMPP_SESS_EBUFFER) {
		flush(c);
		rc = smpp_session_send(c->s, req, cookie, now);
	}
	mark_dirty(c);
	return rc;
}

int sim_conn_respond(struct sim_conn *c, const struct smpp_pdu *resp)
{
	int rc = smpp_session_respond(c->s, resp);
	if (rc == SMPP_SESS_EBUFFER) {
		flush(c);
		rc = smpp_session_respond(c->s, resp);
	}
	mark_dirty(c);
	return rc;
}

int sim_conn_accept(struct sim_conn *c, const char *system_id, uint64_t now)
{
	int rc = smpp_session_accept(c->s, system_id, now);
	if (rc == SMPP_SESS_EBUFFER) {
		flush(c);
		rc = smpp_session_accept(c->s, system_id, now);
	}
	mark_dirty(c);
	return rc;
}

int sim_conn_reject(struct sim_conn *c, uint32_t status)
{
	int rc = smpp_session_reject(c->s, status);
	if (rc == SMPP_SESS_EBUFFER) {
		flush(c);
		rc = smpp_session_reject(c->s, status);
	}
	mark_dirty(c);
	return rc;
}

int sim_conn_unbind(struct sim_conn *c, uint64_t now)
{
	int rc = smpp_session_unbind(c->s, now);
	if (rc == SMPP_SESS_EBUFFER) {
		flush(c);
		rc = smpp_session_unbind(c->s, now);
	}
	mark_dirty(c);
	return rc;
}

int sim_conn_has_room(const struct sim_conn *c)
{
	return !c->closed && smpp_session_outstanding(c->s) < c->window;
}

void sim_conn_drop(struct sim_conn *c)
{
	if (c->closed) {
		conn_free(c);
		return;
	}
	smpp_session_close(c->s);
	drain_events(c, sim_now_ms());
	conn_free(c);
}

void sim_tick_all(uint64_t now)
{
	for (uint32_t i = 0; i < g_limit; i++) {
		struct sim_conn *c = g_conns[i];
		if (!c || c->closed)
			continue;
		if (smpp_session_next_deadline(c->s) > now)
			continue;
		struct smpp_event ev;
		while (!c->closed && smpp_session_tick(c->s, now, &ev) == 1)
			dispatch(c, &ev, now);
		mark_dirty(c);
	}
	sim_flush_dirty();
}

void sim_flush_dirty(void)
{
	while (g_dirty) {
		struct sim_conn *c = g_dirty;
		g_dirty = c->dirty_next;
		c->dirty = 0;
		c->dirty_next = NULL;
		/* closed by the owner from inside a handler: deliver the rest */
		if (!c->closed && smpp_session_state(c->s) == SMPP_ST_CLOSED) {
			drain_events(c, sim_now_ms());
			if (!c->closed)
				continue;
		}
		if (c->closed)
			finish(c);
		else
			flush(c);
	}
}

void sim_conn_free_all(void)
{
	for (uint32_t i = 0; i < g_limit; i++)
		if (g_conns[i])
			conn_free(g_conns[i]);
	g_dirty = NULL;
}
