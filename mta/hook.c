/*
 * External policy hooks on the event loop: pools of persistent
 * connections per hook address, one request in flight per connection,
 * a timer per call.  See mta/hook.h for the behaviour.
 *
 * A call is settled (its hook's verdict known) in three places: a
 * connection callback (an answer, a close, garbage), pool_dispatch() (the
 * address is down) or its own timer (the timeout).  Settling never calls
 * the owner directly: it activates the call's timer, whose callback moves
 * the chain on or reports the result.  So hooks_ask() never calls back
 * before it returns, and a connection callback never finds its
 * connection changed under it by what the owner does next.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mta/hook.h"
#include "mta/log.h"
#include "mta/relay.h"

#define RESPONSE_MAX 4096        /* an answer is a few short lines */
#define DOWN_BACKOFF_MIN_MS 200  /* first back-off after a failed connect */
#define DOWN_BACKOFF_MAX_MS 5000

enum conn_state { HC_CONNECTING, HC_IDLE, HC_BUSY };

struct hook_call;

struct hook_conn {
	struct hook_pool *pool;
	struct bufferevent *bev;
	enum conn_state state;
	struct hook_call *call;       /* HC_BUSY: the request on it */
	unsigned id;                  /* for the logs: 1, 2, ... per pool */
	unsigned answered;            /* requests answered on it so far */
	struct hook_conn *next;
};

struct hook_pool {
	struct hooks *hooks;
	char *address;
	struct hook_conn *conns;
	unsigned nconns;
	unsigned next_id;
	struct hook_call *wait_head, *wait_tail;   /* FIFO of queued calls */
	unsigned failures;            /* consecutive failed connects */
	uint64_t down_until;          /* mono ms; 0: not down */
	struct hook_pool *next;
};

struct hook_call {
	struct hooks *hooks;
	const struct policy_hook *list[POLICY_MAX_HOOKS];
	unsigned n, at;
	char *request;
	size_t len;
	char token[40];
	struct hook_pool *pool;       /* of list[at] */
	struct hook_conn *conn;       /* carrying it, NULL while queued */
	struct event *timer;
	int settled;                  /* list[at] has decided */
	int retried;                  /* resent after a reused link closed */
	enum policy_action action;
	enum hook_outcome outcome;
	char text[160];
	hook_done_fn done;
	void *arg;
	struct hook_call *next_wait;  /* in pool's FIFO */
	struct hook_call *prev, *next;   /* all calls, for hooks_free */
};

struct hooks {
	struct event_base *base;
	struct hook_pool *pools;
	struct hook_call *calls;
	struct hooks_stats stats;
};

static void pool_dispatch(struct hook_pool *p);

const char *hook_outcome_name(enum hook_outcome o)
{
	static const char *const names[] = { "answered", "timeout", "down",
		"closed", "garbage", "shutdown" };
	return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "?";
}

static const char *action_name(enum policy_action a)
{
	return a == POLICY_ACCEPT ? "accept" : a == POLICY_REJECT ? "reject" : "defer";
}

/* --- calls ----------------------------------------------------------- */

static void wait_remove(struct hook_pool *p, struct hook_call *c)
{
	struct hook_call **pp = &p->wait_head, *prev = NULL;
	for (; *pp; prev = *pp, pp = &(*pp)->next_wait) {
		if (*pp != c)
			continue;
		*pp = c->next_wait;
		if (p->wait_tail == c)
			p->wait_tail = prev;
		c->next_wait = NULL;
		return;
	}
}

/*
 * The hook list[at] has decided.  The owner hears of it from the timer
 * callback, on the next loop turn, so nothing here re-enters a caller.
 */
static void call_settle(struct hook_call *c, enum policy_action action,
    enum hook_outcome outcome, const char *text)
{
	c->settled = 1;
	c->action = action;
	c->outcome = outcome;
	snprintf(c->text, sizeof c->text, "%s", text ? text : "");
	c->conn = NULL;
	event_del(c->timer);
	event_active(c->timer, EV_TIMEOUT, 1);
}

/* A failure of the hook itself: its on_timeout action stands in. */
static void call_fail(struct hook_call *c, enum hook_outcome outcome,
    const char *why)
{
	const struct policy_hook *hk = c->list[c->at];
	char text[160];
	c->hooks->stats.failures++;
	snprintf(text, sizeof text, "hook %s: %s, on_timeout=%s", hk->name, why,
	    action_name(hk->on_timeout));
	log_warn("hook", "event=hook_failed hook=%s token=%s outcome=%s on_timeout=%s reason=\"%s\"",
	    hk->name, c->token, hook_outcome_name(outcome), action_name(hk->on_timeout), why);
	call_settle(c, hk->on_timeout, outcome, text);
}

static void call_free(struct hook_call *c)
{
	struct hooks *h = c->hooks;
	if (c->prev)
		c->prev->next = c->next;
	else
		h->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->timer)
		event_free(c->timer);
	free(c->request);
	free(c);
}

/* --- connections ----------------------------------------------------- */

static void conn_drop(struct hook_conn *hc)
{
	struct hook_pool *p = hc->pool;
	for (struct hook_conn **pp = &p->conns; *pp; pp = &(*pp)->next) {
		if (*pp == hc) {
			*pp = hc->next;
			break;
		}
	}
	p->nconns--;
	p->hooks->stats.open--;
	if (hc->call && hc->call->conn == hc)
		hc->call->conn = NULL;
	bufferevent_free(hc->bev);
	free(hc);
}

static unsigned pool_live(const struct hook_pool *p)
{
	unsigned n = 0;
	for (const struct hook_conn *hc = p->conns; hc; hc = hc->next)
		n += hc->state != HC_CONNECTING;
	return n;
}

/* Everything queued on an address that cannot be reached fails now. */
static void pool_fail_waiting(struct hook_pool *p, const char *why)
{
	while (p->wait_head) {
		struct hook_call *c = p->wait_head;
		p->wait_head = c->next_wait;
		c->next_wait = NULL;
		call_fail(c, HOOK_DOWN, why);
	}
	p->wait_tail = NULL;
}

static void connect_failed(struct hook_pool *p, const char *why)
{
	uint64_t backoff = DOWN_BACKOFF_MIN_MS;
	for (unsigned i = 0; i < p->failures && backoff < DOWN_BACKOFF_MAX_MS; i++)
		backoff *= 2;
	if (backoff > DOWN_BACKOFF_MAX_MS)
		backoff = DOWN_BACKOFF_MAX_MS;
	p->failures++;
	p->down_until = relay_mono_ms() + backoff;
	log_warn("hook", "event=hook_connect_failed address=%s failures=%u retry_ms=%llu reason=\"%s\"",
	    p->address, p->failures, (unsigned long long)backoff, why);
	/* Live connections may still serve the queue; without any, it fails. */
	if (pool_live(p) == 0)
		pool_fail_waiting(p, why);
}

static void hconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct hook_conn *hc = arg;
	struct hook_pool *p = hc->pool;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		hc->state = HC_IDLE;
		p->failures = 0;
		p->down_until = 0;
		log_info("hook", "event=hook_connected address=%s conn=%u open=%u", p->address,
		    hc->id, p->nconns);
		pool_dispatch(p);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	char why[128];
	snprintf(why, sizeof why, "%s", what & BEV_EVENT_EOF ? "connection closed by the hook" :
	    strerror(EVUTIL_SOCKET_ERROR()));
	enum conn_state st = hc->state;
	struct hook_call *c = hc->call;
	/* A server may close a link it thinks idle just as a request goes
	 * out on it; that request never reached it and is sent once more. */
	int resend = st == HC_BUSY && c && hc->answered > 0 && !c->retried &&
	    evbuffer_get_length(bufferevent_get_input(hc->bev)) == 0;
	hc->call = NULL;
	conn_drop(hc);
	if (st == HC_CONNECTING) {
		connect_failed(p, why);
	} else if (resend) {
		log_info("hook", "event=hook_resend hook=%s token=%s reason=\"%s\"",
		    c->list[c->at]->name, c->token, why);
		c->retried = 1;
		c->conn = NULL;
		c->next_wait = p->wait_head;
		p->wait_head = c;
		if (!p->wait_tail)
			p->wait_tail = c;
	} else if (st == HC_BUSY && c) {
		call_fail(c, HOOK_CLOSED, why);
	} else {
		log_info("hook", "event=hook_disconnected address=%s reason=\"%s\"", p->address, why);
	}
	pool_dispatch(p);
}

/* What came in is not an answer to the request on it: drop the link. */
static void hconn_garbage(struct hook_conn *hc, const char *why)
{
	struct hook_pool *p = hc->pool;
	struct hook_call *c = hc->call;
	hc->call = NULL;
	if (c)
		call_fail(c, HOOK_GARBAGE, why);
	else
		log_warn("hook", "event=hook_garbage address=%s reason=\"%s\"", p->address, why);
	conn_drop(hc);
	pool_dispatch(p);
}

/* The start of what a hook sent, safe inside a quoted log value. */
static void excerpt(const char *data, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < cap; i++) {
		unsigned char ch = (unsigned char)data[i];
		out[o++] = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\' ? (char)ch : '.';
	}
	out[o] = '\0';
}

static void hconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct hook_conn *hc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	if (hc->state != HC_BUSY) {
		hconn_garbage(hc, "data with no request outstanding");
		return;
	}
	size_t len = evbuffer_get_length(in);
	if (len > RESPONSE_MAX)
		len = RESPONSE_MAX;
	const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	long n = policy_hook_response_length(data, len, RESPONSE_MAX);
	if (n == 0)
		return; /* not the whole answer yet */
	if (n < 0) {
		hconn_garbage(hc, "no empty line within 4096 bytes");
		return;
	}
	struct hook_call *c = hc->call;
	enum policy_action action;
	char text[160];
	if (policy_hook_response_parse(data, (size_t)n, &action, text, sizeof text) != 0) {
		char why[160];
		snprintf(why, sizeof why, "not a policy answer: ");
		excerpt(data, (size_t)n, why + strlen(why), 41);
		hconn_garbage(hc, why);
		return;
	}
	/* The text ends up in key=value log lines: keep it plain. */
	char plain[sizeof text];
	excerpt(text, strlen(text), plain, sizeof plain);
	evbuffer_drain(in, (size_t)n);
	if (evbuffer_get_length(in) > 0) {
		/* Only one request was asked: more is a hook out of step. */
		hconn_garbage(hc, "more than one answer to one request");
		return;
	}
	hc->call = NULL;
	hc->state = HC_IDLE;
	hc->answered++;
	log_debug("hook", "event=hook_answer hook=%s token=%s action=%s conn=%u",
	    c->list[c->at]->name, c->token, action_name(action), hc->id);
	call_settle(c, action, HOOK_ANSWERED, plain);
	pool_dispatch(hc->pool);
}

static int pool_sockaddr(const struct hook_pool *p, struct sockaddr_storage *ss,
    socklen_t *sl, char *why, size_t whycap)
{
	enum policy_hook_family fam;
	char host[256], port[16];
	if (policy_hook_address_split(p->address, &fam, host, sizeof host, port,
	    sizeof port) != 0) {
		snprintf(why, whycap, "bad address");
		return -1;
	}
	memset(ss, 0, sizeof *ss);
	if (fam == POLICY_HOOK_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		un->sun_family = AF_UNIX;
		size_t hl = strlen(host);
		if (hl >= sizeof un->sun_path) {
			snprintf(why, whycap, "socket path too long");
			return -1;
		}
		memcpy(un->sun_path, host, hl + 1);
		*sl = (socklen_t)sizeof *un;
		return 0;
	}
	/* Names are resolved per connect, which is rare (the links persist);
	 * an address literal never blocks the loop. */
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0 || !ai) {
		snprintf(why, whycap, "cannot resolve %.100s: %s", host, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sl = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void pool_connect(struct hook_pool *p)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char why[160];
	if (pool_sockaddr(p, &ss, &sl, why, sizeof why) != 0) {
		connect_failed(p, why);
		return;
	}
	struct hook_conn *hc = calloc(1, sizeof *hc);
	/* Deferred callbacks: a connect that fails at once must not call
	 * back into pool_dispatch() while it runs. */
	struct bufferevent *bev = bufferevent_socket_new(p->hooks->base, -1,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!hc || !bev) {
		free(hc);
		if (bev)
			bufferevent_free(bev);
		connect_failed(p, "out of memory");
		return;
	}
	hc->pool = p;
	hc->bev = bev;
	hc->state = HC_CONNECTING;
	hc->id = ++p->next_id;
	bufferevent_setcb(bev, hconn_read_cb, NULL, hconn_event_cb, hc);
	if (bufferevent_socket_connect(bev, (struct sockaddr *)&ss, (int)sl) != 0) {
		snprintf(why, sizeof why, "connect: %s", strerror(errno));
		bufferevent_free(bev);
		free(hc);
		connect_failed(p, why);
		return;
	}
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	hc->next = p->conns;
	p->conns = hc;
	p->nconns++;
	p->hooks->stats.open++;
	p->hooks->stats.connects++;
}

static int conn_send(struct hook_conn *hc, struct hook_call *c)
{
	if (bufferevent_write(hc->bev, c->request, c->len) != 0)
		return -1;
	hc->state = HC_BUSY;
	hc->call = c;
	c->conn = hc;
	hc->pool->hooks->stats.requests++;
	return 0;
}

static struct hook_conn *pool_idle(struct hook_pool *p)
{
	for (struct hook_conn *hc = p->conns; hc; hc = hc->next)
		if (hc->state == HC_IDLE)
			return hc;
	return NULL;
}

static unsigned pool_connecting(const struct hook_pool *p)
{
	return p->nconns - pool_live(p);
}

/* Queued calls onto idle connections; open more while they wait. */
static void pool_dispatch(struct hook_pool *p)
{
	struct hook_conn *hc;
	while (p->wait_head && (hc = pool_idle(p))) {
		struct hook_call *c = p->wait_head;
		p->wait_head = c->next_wait;
		if (!p->wait_head)
			p->wait_tail = NULL;
		c->next_wait = NULL;
		if (conn_send(hc, c) != 0) {
			conn_drop(hc);
			call_fail(c, HOOK_CLOSED, "cannot write the request");
		}
	}
	if (!p->wait_head)
		return;
	if (p->down_until && relay_mono_ms() < p->down_until) {
		if (pool_live(p) == 0)
			pool_fail_waiting(p, "not reachable (retrying after a back-off)");
		return;
	}
	unsigned waiting = 0;
	for (struct hook_call *c = p->wait_head; c; c = c->next_wait)
		waiting++;
	unsigned limit = p->wait_head->list[p->wait_head->at]->connections;
	if (limit == 0)
		limit = 1;
	while (p->nconns < limit && pool_connecting(p) < waiting) {
		unsigned before = p->nconns;
		pool_connect(p);
		if (p->nconns == before)
			break; /* failed: connect_failed() dealt with the queue */
	}
}

static struct hook_pool *pool_get(struct hooks *h, const char *address)
{
	for (struct hook_pool *p = h->pools; p; p = p->next)
		if (strcmp(p->address, address) == 0)
			return p;
	struct hook_pool *p = calloc(1, sizeof *p);
	if (!p || !(p->address = strdup(address))) {
		free(p);
		return NULL;
	}
	p->hooks = h;
	p->next = h->pools;
	h->pools = p;
	return p;
}

/* --- the chain --------------------------------------------------------- */

static void call_timer_cb(evutil_socket_t fd, short what, void *arg);

/* Puts the call in line at list[at]'s pool; its timeout starts now. */
static void call_queue(struct hook_call *c)
{
	const struct policy_hook *hk = c->list[c->at];
	c->settled = 0;
	c->retried = 0;
	c->conn = NULL;
	c->pool = pool_get(c->hooks, hk->address);
	if (!c->pool) {
		c->pool = NULL;
		call_fail(c, HOOK_DOWN, "out of memory");
		return;
	}
	int ms = hk->timeout_ms > 0 ? hk->timeout_ms : 1000;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(c->timer, &tv);
	if (c->pool->wait_tail)
		c->pool->wait_tail->next_wait = c;
	else
		c->pool->wait_head = c;
	c->pool->wait_tail = c;
	pool_dispatch(c->pool);
}

/* No answer in time: whatever carries the request goes too. */
static void call_timed_out(struct hook_call *c)
{
	if (c->conn) {
		struct hook_conn *hc = c->conn;
		struct hook_pool *p = hc->pool;
		hc->call = NULL;
		conn_drop(hc);
		call_fail(c, HOOK_TIMEOUT, "no answer in time");
		pool_dispatch(p);
		return;
	}
	if (c->pool)
		wait_remove(c->pool, c);
	call_fail(c, HOOK_TIMEOUT, "no answer in time (waiting for a connection)");
}

static void call_report(struct hook_call *c, enum hook_outcome outcome)
{
	struct hook_result res = { .action = c->action, .hook = c->list[c->at],
	    .outcome = outcome };
	snprintf(res.text, sizeof res.text, "%s", c->text);
	hook_done_fn done = c->done;
	void *arg = c->arg;
	call_free(c);
	done(arg, &res);
}

static void call_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook_call *c = arg;
	(void)fd;
	(void)what;
	if (!c->settled) {
		call_timed_out(c); /* settles: the timer runs again at once */
		return;
	}
	if (c->action == POLICY_ACCEPT && c->at + 1 < c->n) {
		c->at++;
		call_queue(c);
		return;
	}
	call_report(c, c->outcome);
}

int hooks_ask(struct hooks *h, const struct policy_hook *const *list,
    unsigned n, const char *token, const char *request, size_t len,
    hook_done_fn done, void *arg)
{
	if (n == 0 || n > POLICY_MAX_HOOKS)
		return -1;
	struct hook_call *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	c->request = malloc(len);
	c->timer = evtimer_new(h->base, call_timer_cb, c);
	if (!c->request || !c->timer) {
		if (c->timer)
			event_free(c->timer);
		free(c->request);
		free(c);
		return -1;
	}
	memcpy(c->request, request, len);
	c->len = len;
	c->hooks = h;
	memcpy(c->list, list, n * sizeof *list);
	c->n = n;
	snprintf(c->token, sizeof c->token, "%s", token ? token : "-");
	c->done = done;
	c->arg = arg;
	c->next = h->calls;
	if (h->calls)
		h->calls->prev = c;
	h->calls = c;
	h->stats.calls++;
	call_queue(c);
	return 0;
}

/* --- life cycle ------------------------------------------------------- */

struct hooks *hooks_new(struct event_base *base)
{
	struct hooks *h = calloc(1, sizeof *h);
	if (h)
		h->base = base;
	return h;
}

void hooks_free(struct hooks *h)
{
	if (!h)
		return;
	for (struct hook_pool *p = h->pools; p; p = p->next)
		while (p->conns)
			conn_drop(p->conns);
	while (h->calls) {
		struct hook_call *c = h->calls;
		snprintf(c->text, sizeof c->text, "smppd is stopping");
		c->action = POLICY_DEFER;
		call_report(c, HOOK_SHUTDOWN);
	}
	while (h->pools) {
		struct hook_pool *p = h->pools;
		h->pools = p->next;
		free(p->address);
		free(p);
	}
	free(h);
}

void hooks_get_stats(const struct hooks *h, struct hooks_stats *out)
{
	*out = h->stats;
}
