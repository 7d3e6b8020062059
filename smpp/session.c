/*
 * SMPP session engine.
 *
 * One struct, one state enum, one table of which command may be sent in
 * which state by which role.  Input is processed a PDU at a time: frame,
 * decode (zero-copy, into the session's own struct smpp_pdu), then either
 * the engine answers by itself (enquire_link, state errors, throttling,
 * decode errors) or it hands the PDU out as an event.
 *
 * Outstanding requests live in a direct-mapped table indexed by
 * sequence & mask.  The table has at least twice as many entries as can
 * be outstanding, and the sequence allocator skips numbers whose entry is
 * taken, so a lookup is one probe and never collides.  Since every request
 * gets the same response timeout, deadlines grow in send order: a FIFO
 * threaded through the table gives the earliest one in O(1), and the same
 * FIFO lists the outstanding requests at close.
 */
#include "smpp/session.h"

#include <stdalign.h>
#include <string.h>

#define NIL UINT32_MAX
#define SEQ_MAX 0x7FFFFFFFu
#define DEFAULT_OUT_CAP (64u * 1024u)
#define DEFAULT_TIMEOUT_MS 10000u
#define EL_RETRY_MS 100u /* enquire_link that did not fit: try again soon */

enum slot_kind {
	K_USER,    /* sent through smpp_session_send(): counts in the window */
	K_BIND,    /* ESME bind: answer decides the state */
	K_UNBIND,  /* answer closes */
	K_ENQUIRE, /* the engine's own keep-alive */
};

struct slot {
	uint64_t cookie;
	uint64_t deadline;
	uint32_t seq; /* 0: free */
	uint32_t command_id;
	uint32_t prev, next; /* deadline FIFO */
	uint8_t kind;
};

struct smpp_session {
	struct smpp_session_config cfg;
	struct smpp_limits lim;
	enum smpp_state state;
	enum smpp_close_reason close_reason;
	int closed_reported;

	/* our requests */
	struct slot *slots;
	uint32_t mask;
	uint32_t head, tail;  /* deadline FIFO */
	uint32_t user_count;  /* K_USER slots: the window */
	uint32_t next_seq;
	int enquire_out;

	/* their requests */
	uint32_t pending_in;
	uint32_t bind_cmd, bind_seq;
	uint8_t bind_version;

	/* timers */
	uint64_t opened_at;
	uint64_t el_due; /* receive silence ends; enquire_link then */

	/* output: [start, end) pending within buf[0, cap) */
	uint8_t *out;
	size_t out_cap, out_start, out_end;

	struct smpp_error last_error;
	struct smpp_tlv_store tlv_store;
	struct smpp_pdu rx; /* the decoded PDU events point to */
	struct smpp_pdu tx; /* scratch for answers the engine builds */
};

/* --- the state/command table ----------------------------------------- */

#define B(st) (1u << (st))
#define BOUND_ANY (B(SMPP_ST_BOUND_TX) | B(SMPP_ST_BOUND_RX) | B(SMPP_ST_BOUND_TRX))
#define TXISH (B(SMPP_ST_BOUND_TX) | B(SMPP_ST_BOUND_TRX))
#define RXISH (B(SMPP_ST_BOUND_RX) | B(SMPP_ST_BOUND_TRX))
#define NOT_CLOSED (B(SMPP_ST_CLOSED) - 1u)

/* For each request: the states in which an ESME or an SMSC may send it. */
static const struct rule {
	uint32_t command_id;
	uint16_t by_esme, by_smsc;
} rules[] = {
	{ SMPP_BIND_TRANSMITTER, B(SMPP_ST_OPEN), 0 },
	{ SMPP_BIND_RECEIVER, B(SMPP_ST_OPEN), 0 },
	{ SMPP_BIND_TRANSCEIVER, B(SMPP_ST_OPEN), 0 },
	{ SMPP_OUTBIND, 0, B(SMPP_ST_OPEN) },
	/* UNBINDING too: both sides may unbind at once */
	{ SMPP_UNBIND, BOUND_ANY | B(SMPP_ST_UNBINDING), BOUND_ANY | B(SMPP_ST_UNBINDING) },
	/* 2.4: any bound state; OPEN and the handshakes tolerated */
	{ SMPP_ENQUIRE_LINK, NOT_CLOSED, NOT_CLOSED },
	{ SMPP_SUBMIT_SM, TXISH, 0 },
	{ SMPP_SUBMIT_MULTI, TXISH, 0 },
	{ SMPP_QUERY_SM, TXISH, 0 },
	{ SMPP_CANCEL_SM, TXISH, 0 },
	{ SMPP_REPLACE_SM, TXISH, 0 },
	{ SMPP_DATA_SM, TXISH, RXISH },
	{ SMPP_DELIVER_SM, 0, RXISH },
	{ SMPP_ALERT_NOTIFICATION, 0, RXISH },
};

int smpp_session_allowed(enum smpp_role sender, enum smpp_state state,
    uint32_t command_id)
{
	if ((unsigned)state >= SMPP_ST_COUNT)
		return 0;
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		if (rules[i].command_id != command_id)
			continue;
		uint16_t m = sender == SMPP_ROLE_ESME ? rules[i].by_esme : rules[i].by_smsc;
		return (m & B(state)) != 0;
	}
	return 0;
}

/* The table, with the esme_delivers exception of this session. */
static int allowed(const struct smpp_session *s, enum smpp_role sender, uint32_t id)
{
	if (s->cfg.esme_delivers && sender == SMPP_ROLE_ESME && id == SMPP_DELIVER_SM)
		return (B(s->state) & TXISH) != 0;
	return smpp_session_allowed(sender, s->state, id);
}

static int is_bind(uint32_t id)
{
	return id == SMPP_BIND_TRANSMITTER || id == SMPP_BIND_RECEIVER ||
	    id == SMPP_BIND_TRANSCEIVER;
}

static int has_response(uint32_t id)
{
	return id != SMPP_OUTBIND && id != SMPP_ALERT_NOTIFICATION;
}

static enum smpp_state bound_state(uint32_t bind_id)
{
	switch (bind_id) {
	case SMPP_BIND_TRANSMITTER: return SMPP_ST_BOUND_TX;
	case SMPP_BIND_RECEIVER: return SMPP_ST_BOUND_RX;
	default: return SMPP_ST_BOUND_TRX;
	}
}

static int is_bound(enum smpp_state st)
{
	return (B(st) & BOUND_ANY) != 0;
}

static enum smpp_role peer_role(const struct smpp_session *s)
{
	return s->cfg.role == SMPP_ROLE_SMSC ? SMPP_ROLE_ESME : SMPP_ROLE_SMSC;
}

/* --- set-up ---------------------------------------------------------- */

static uint32_t table_size(uint32_t window)
{
	/* twice the most that can be outstanding: window + bind/unbind + enquire */
	uint32_t need = 2 * (window + 2), n = 16;
	while (n < need)
		n <<= 1;
	return n;
}

static size_t round_up(size_t n)
{
	size_t a = alignof(max_align_t);
	return (n + a - 1) / a * a;
}

static int config_ok(const struct smpp_session_config *cfg)
{
	return cfg && (cfg->role == SMPP_ROLE_SMSC || cfg->role == SMPP_ROLE_ESME) &&
	    cfg->window >= 1 && cfg->window <= SMPP_SESSION_MAX_WINDOW &&
	    (cfg->out_cap == 0 || cfg->out_cap >= SMPP_HEADER_LEN * 4);
}

size_t smpp_session_size(const struct smpp_session_config *cfg)
{
	if (!config_ok(cfg))
		return 0;
	size_t out = cfg->out_cap ? cfg->out_cap : DEFAULT_OUT_CAP;
	return round_up(sizeof(struct smpp_session)) +
	    round_up(table_size(cfg->window) * sizeof(struct slot)) + out;
}

struct smpp_session *smpp_session_init(void *mem, size_t len,
    const struct smpp_session_config *cfg, uint64_t now)
{
	size_t need = smpp_session_size(cfg);
	if (!mem || need == 0 || len < need ||
	    (uintptr_t)mem % alignof(max_align_t) != 0)
		return NULL;
	struct smpp_session *s = mem;
	memset(s, 0, offsetof(struct smpp_session, rx));
	s->cfg = *cfg;
	if (!s->cfg.in_window)
		s->cfg.in_window = cfg->window;
	if (!s->cfg.out_cap)
		s->cfg.out_cap = DEFAULT_OUT_CAP;
	if (!s->cfg.response_timeout_ms)
		s->cfg.response_timeout_ms = DEFAULT_TIMEOUT_MS;
	s->lim.max_pdu_len = cfg->max_pdu_len ? cfg->max_pdu_len : SMPP_DEFAULT_MAX_PDU;

	uint32_t n = table_size(cfg->window);
	s->slots = (struct slot *)((uint8_t *)mem + round_up(sizeof *s));
	memset(s->slots, 0, n * sizeof(struct slot));
	s->mask = n - 1;
	s->head = s->tail = NIL;
	s->next_seq = 1;
	s->out = (uint8_t *)s->slots + round_up(n * sizeof(struct slot));
	s->out_cap = s->cfg.out_cap;
	s->state = SMPP_ST_OPEN;
	s->opened_at = now;
	s->el_due = now + s->cfg.enquire_link_ms;
	return s;
}

/* --- output ---------------------------------------------------------- */

static int set_error(struct smpp_session *s, const struct smpp_error *err)
{
	s->last_error = *err;
	return SMPP_SESS_EINVAL;
}

/* Encode into the output buffer, compacting it once if that makes room. */
static int put_pdu(struct smpp_session *s, const struct smpp_pdu *p)
{
	struct smpp_error err = { 0, NULL, NULL };
	size_t room = s->out_cap - s->out_end;
	long n = smpp_pdu_encode(p, s->out + s->out_end, room, &err);
	if (n < 0)
		return set_error(s, &err);
	if ((size_t)n > room) {
		size_t pending = s->out_end - s->out_start;
		if ((size_t)n > s->out_cap - pending)
			return SMPP_SESS_EBUFFER;
		memmove(s->out, s->out + s->out_start, pending);
		s->out_start = 0;
		s->out_end = pending;
		n = smpp_pdu_encode(p, s->out + s->out_end, s->out_cap - s->out_end, &err);
		if (n < 0)
			return set_error(s, &err);
	}
	s->out_end += (size_t)n;
	return 0;
}

void smpp_session_output(const struct smpp_session *s, const uint8_t **p,
    size_t *len)
{
	*p = s->out + s->out_start;
	*len = s->out_end - s->out_start;
}

void smpp_session_output_consumed(struct smpp_session *s, size_t n)
{
	size_t pending = s->out_end - s->out_start;
	s->out_start += n < pending ? n : pending;
	if (s->out_start == s->out_end)
		s->out_start = s->out_end = 0; /* empty: start over, no memmove */
}

/* An answer the engine builds itself: the request's response, or a nack. */
static int answer(struct smpp_session *s, uint32_t command_id, uint32_t seq,
    uint32_t status)
{
	smpp_pdu_init(&s->tx, command_id, seq);
	s->tx.command_status = status;
	return put_pdu(s, &s->tx);
}

/* --- outstanding requests ------------------------------------------- */

static uint32_t seq_after(uint32_t seq)
{
	return seq >= SEQ_MAX ? 1 : seq + 1;
}

/* The next sequence whose table entry is free (not yet taken). */
static uint32_t peek_seq(const struct smpp_session *s)
{
	uint32_t q = s->next_seq;
	while (s->slots[q & s->mask].seq != 0)
		q = seq_after(q);
	return q;
}

static struct slot *find_slot(struct smpp_session *s, uint32_t seq)
{
	struct slot *sl = &s->slots[seq & s->mask];
	return seq != 0 && sl->seq == seq ? sl : NULL;
}

static void slot_add(struct smpp_session *s, uint32_t seq, uint32_t cmd,
    uint8_t kind, uint64_t cookie, uint64_t now)
{
	uint32_t i = seq & s->mask;
	struct slot *sl = &s->slots[i];
	sl->seq = seq;
	sl->command_id = cmd;
	sl->kind = kind;
	sl->cookie = cookie;
	sl->deadline = now + s->cfg.response_timeout_ms;
	sl->next = NIL;
	sl->prev = s->tail;
	if (s->tail != NIL)
		s->slots[s->tail].next = i;
	else
		s->head = i;
	s->tail = i;
	if (kind == K_USER)
		s->user_count++;
	else if (kind == K_ENQUIRE)
		s->enquire_out = 1;
}

static void slot_free(struct smpp_session *s, struct slot *sl)
{
	if (sl->prev != NIL)
		s->slots[sl->prev].next = sl->next;
	else
		s->head = sl->next;
	if (sl->next != NIL)
		s->slots[sl->next].prev = sl->prev;
	else
		s->tail = sl->prev;
	if (sl->kind == K_USER)
		s->user_count--;
	else if (sl->kind == K_ENQUIRE)
		s->enquire_out = 0;
	sl->seq = 0;
}

/* --- events ---------------------------------------------------------- */

static int emit(struct smpp_event *ev, enum smpp_event_kind kind,
    uint32_t cmd, uint32_t seq, const struct smpp_pdu *pdu)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = kind;
	ev->command_id = cmd;
	ev->sequence = seq;
	ev->pdu = pdu;
	if (pdu && SMPP_IS_RESP(pdu->command_id))
		ev->status = pdu->command_status;
	return 1;
}

static int emit_slot(struct smpp_event *ev, enum smpp_event_kind kind,
    const struct slot *sl, const struct smpp_pdu *pdu)
{
	emit(ev, kind, sl->command_id, sl->seq, pdu);
	ev->cookie = sl->cookie;
	return 1;
}

static void enter_closed(struct smpp_session *s, enum smpp_close_reason why)
{
	if (s->state == SMPP_ST_CLOSED)
		return;
	s->state = SMPP_ST_CLOSED;
	s->close_reason = why;
	s->pending_in = 0; /* nobody to answer any more */
}

/*
 * After close: one ABORTED per outstanding request of the caller's, in
 * send order, then CLOSED once.  The engine's own requests vanish.
 */
static int drain_closed(struct smpp_session *s, struct smpp_event *ev)
{
	while (s->head != NIL) {
		struct slot *sl = &s->slots[s->head];
		int caller = sl->kind == K_USER || sl->kind == K_BIND;
		if (caller)
			emit_slot(ev, SMPP_EV_ABORTED, sl, NULL);
		slot_free(s, sl);
		if (caller)
			return 1;
	}
	if (s->closed_reported)
		return 0;
	s->closed_reported = 1;
	emit(ev, SMPP_EV_CLOSED, 0, 0, NULL);
	ev->reason = s->close_reason;
	return 1;
}

/* --- input: responses ----------------------------------------------- */

static int bind_answered(struct smpp_session *s, struct slot *sl, int match,
    struct smpp_event *ev)
{
	const struct smpp_pdu *r = &s->rx;
	int ok = match && r->command_id != SMPP_GENERIC_NACK && r->command_status == 0;
	emit_slot(ev, ok ? SMPP_EV_BOUND : SMPP_EV_BIND_FAILED, sl, r);
	if (!ok && ev->status == 0)
		ev->status = SMPP_ESME_RBINDFAIL; /* a mismatched answer is a refusal */
	s->state = ok ? bound_state(sl->command_id) : SMPP_ST_OPEN;
	slot_free(s, sl);
	return 1;
}

/* A response whose command is not the request's (nor generic_nack). */
static int mismatch(struct smpp_session *s, struct slot *sl, struct smpp_event *ev)
{
	emit_slot(ev, SMPP_EV_PROTOCOL_ERROR, sl, &s->rx);
	ev->matched = sl->kind == K_USER;
	ev->error = (struct smpp_error){ SMPP_ESME_RINVCMDID, "command_id",
		"response does not match the request" };
	slot_free(s, sl);
	return 1;
}

static int on_response(struct smpp_session *s, struct smpp_event *ev)
{
	const struct smpp_pdu *r = &s->rx;
	struct slot *sl = find_slot(s, r->sequence_number);
	if (!sl)
		return emit(ev, SMPP_EV_UNKNOWN_RESPONSE, r->command_id,
		    r->sequence_number, r);
	int match = r->command_id == SMPP_GENERIC_NACK ||
	    r->command_id == smpp_resp_id(sl->command_id);

	switch (sl->kind) {
	case K_BIND:
		return bind_answered(s, sl, match, ev);
	case K_UNBIND:
		/* whatever the answer, the peer heard us: done */
		emit_slot(ev, SMPP_EV_UNBOUND, sl, r);
		slot_free(s, sl);
		enter_closed(s, SMPP_CLOSE_UNBOUND);
		return 1;
	case K_ENQUIRE:
		if (!match)
			return mismatch(s, sl, ev);
		slot_free(s, sl); /* the link is alive; nothing to tell */
		return 0;
	default:
		if (!match)
			return mismatch(s, sl, ev);
		emit_slot(ev, SMPP_EV_RESPONSE, sl, r);
		slot_free(s, sl);
		return 1;
	}
}

/* A response that did not decode: finish the request it answers, if any. */
static int bad_response(struct smpp_session *s, const struct smpp_error *err,
    struct smpp_event *ev)
{
	struct slot *sl = find_slot(s, s->rx.sequence_number);
	emit(ev, SMPP_EV_PROTOCOL_ERROR, s->rx.command_id, s->rx.sequence_number, NULL);
	ev->error = *err;
	if (!sl)
		return 1;
	if (sl->kind == K_UNBIND) {
		enter_closed(s, SMPP_CLOSE_UNBOUND);
	} else if (sl->kind == K_BIND) {
		s->state = SMPP_ST_OPEN;
	}
	ev->matched = sl->kind == K_USER || sl->kind == K_BIND;
	ev->cookie = sl->cookie;
	ev->command_id = sl->command_id;
	slot_free(s, sl);
	return 1;
}

/* --- input: requests ------------------------------------------------- */

static int refuse(struct smpp_session *s, uint32_t status, struct smpp_event *ev)
{
	const struct smpp_pdu *r = &s->rx;
	int rc = answer(s, smpp_resp_id(r->command_id), r->sequence_number, status);
	if (rc < 0)
		return rc;
	emit(ev, SMPP_EV_PROTOCOL_ERROR, r->command_id, r->sequence_number, r);
	ev->status = status;
	ev->error = (struct smpp_error){ status, "command_id",
		status == SMPP_ESME_RALYBND ? "already bound" :
		"not allowed in this bind state" };
	return 1;
}

static int on_unbind(struct smpp_session *s, struct smpp_event *ev)
{
	const struct smpp_pdu *r = &s->rx;
	int rc = answer(s, SMPP_UNBIND_RESP, r->sequence_number, 0);
	if (rc < 0)
		return rc;
	enter_closed(s, SMPP_CLOSE_UNBOUND);
	return emit(ev, SMPP_EV_UNBOUND, r->command_id, r->sequence_number, r);
}

static int on_request(struct smpp_session *s, struct smpp_event *ev)
{
	const struct smpp_pdu *r = &s->rx;
	uint32_t id = r->command_id;

	if (!allowed(s, peer_role(s), id)) {
		int again = is_bind(id) && s->state != SMPP_ST_OPEN;
		return refuse(s, again ? SMPP_ESME_RALYBND : SMPP_ESME_RINVBNDSTS, ev);
	}
	switch (id) {
	case SMPP_ENQUIRE_LINK:
		return answer(s, SMPP_ENQUIRE_LINK_RESP, r->sequence_number, 0);
	case SMPP_UNBIND:
		return on_unbind(s, ev);
	case SMPP_BIND_TRANSMITTER:
	case SMPP_BIND_RECEIVER:
	case SMPP_BIND_TRANSCEIVER:
		s->state = SMPP_ST_BINDING;
		s->bind_cmd = id;
		s->bind_seq = r->sequence_number;
		s->bind_version = r->interface_version;
		return emit(ev, SMPP_EV_BIND_REQUEST, id, r->sequence_number, r);
	case SMPP_OUTBIND:
	case SMPP_ALERT_NOTIFICATION:
		return emit(ev, SMPP_EV_REQUEST, id, r->sequence_number, r);
	}
	/* the daemon's per-session upstream window */
	if (s->pending_in >= s->cfg.in_window) {
		int rc = answer(s, smpp_resp_id(id), r->sequence_number,
		    SMPP_ESME_RTHROTTLED);
		return rc < 0 ? rc : 0;
	}
	s->pending_in++;
	emit(ev, SMPP_EV_REQUEST, id, r->sequence_number, r);
	ev->needs_response = 1;
	return 1;
}

/* A request that did not decode: its own response or generic_nack. */
static int bad_request(struct smpp_session *s, const struct smpp_error *err,
    struct smpp_event *ev)
{
	const struct smpp_pdu *r = &s->rx;
	uint32_t resp = smpp_resp_id(r->command_id);
	if (err->status == SMPP_ESME_RINVCMDLEN || err->status == SMPP_ESME_RINVCMDID)
		resp = SMPP_GENERIC_NACK; /* 3.4 section 3.3: nack for these */
	int rc = answer(s, resp, r->sequence_number, err->status);
	if (rc < 0)
		return rc;
	emit(ev, SMPP_EV_PROTOCOL_ERROR, r->command_id, r->sequence_number, NULL);
	ev->status = err->status;
	ev->error = *err;
	return 1;
}

/* One whole PDU.  1: event; 0: handled silently; <0: not consumed. */
static int handle_pdu(struct smpp_session *s, const uint8_t *p, size_t n,
    uint64_t now, struct smpp_event *ev)
{
	struct smpp_error err = { 0, NULL, NULL };
	int known_resp;
	if (smpp_pdu_decode(p, n, &s->lim, &s->rx, &err) != 0) {
		known_resp = SMPP_IS_RESP(s->rx.command_id) &&
		    smpp_command_known(s->rx.command_id);
		return known_resp ? bad_response(s, &err, ev) : bad_request(s, &err, ev);
	}
	if (SMPP_IS_RESP(s->rx.command_id))
		return on_response(s, ev);
	return on_request(s, ev);
}

/* command_length is impossible: the stream cannot be resynchronised. */
static int framing_error(struct smpp_session *s, const uint8_t *in, size_t len,
    const struct smpp_error *err, struct smpp_event *ev)
{
	uint32_t id = len >= 8 ? smpp_get_u32(in + 4) : 0;
	uint32_t seq = len >= 16 ? smpp_get_u32(in + 12) : 0;
	(void)answer(s, SMPP_GENERIC_NACK, seq, err->status); /* best effort */
	enter_closed(s, SMPP_CLOSE_FRAMING);
	emit(ev, SMPP_EV_PROTOCOL_ERROR, id, seq, NULL);
	ev->status = err->status;
	ev->error = *err;
	return 1;
}

int smpp_session_feed(struct smpp_session *s, const uint8_t *in, size_t len,
    uint64_t now, size_t *used, struct smpp_event *ev)
{
	size_t off = 0;
	*used = 0;
	while (s->state != SMPP_ST_CLOSED) {
		struct smpp_error err = { 0, NULL, NULL };
		long n = smpp_frame(in + off, len - off, &s->lim, &err);
		if (n == 0)
			return 0;
		if (n < 0) {
			*used = len;
			return framing_error(s, in + off, len - off, &err, ev);
		}
		int rc = handle_pdu(s, in + off, (size_t)n, now, ev);
		if (rc < 0)
			return rc; /* not consumed: retry once the output drains */
		off += (size_t)n;
		*used = off;
		s->el_due = now + s->cfg.enquire_link_ms; /* the link is alive */
		if (rc > 0)
			return 1;
	}
	*used = len; /* nothing more is read from a closed session */
	return drain_closed(s, ev);
}

/* --- timers ---------------------------------------------------------- */

static int expire(struct smpp_session *s, struct slot *sl, struct smpp_event *ev)
{
	switch (sl->kind) {
	case K_ENQUIRE:
		emit_slot(ev, SMPP_EV_LINK_DEAD, sl, NULL);
		slot_free(s, sl);
		enter_closed(s, SMPP_CLOSE_LINK_DEAD);
		return 1;
	case K_UNBIND:
		slot_free(s, sl);
		enter_closed(s, SMPP_CLOSE_UNBIND_TIMEOUT);
		return 0; /* drain_closed tells */
	case K_BIND:
		emit_slot(ev, SMPP_EV_TIMEOUT, sl, NULL);
		slot_free(s, sl);
		enter_closed(s, SMPP_CLOSE_BIND_TIMEOUT);
		return 1;
	default:
		emit_slot(ev, SMPP_EV_TIMEOUT, sl, NULL);
		slot_free(s, sl);
		return 1;
	}
}

static void send_enquire(struct smpp_session *s, uint64_t now)
{
	uint32_t seq = peek_seq(s);
	smpp_pdu_init(&s->tx, SMPP_ENQUIRE_LINK, seq);
	if (put_pdu(s, &s->tx) != 0) {
		s->el_due = now + EL_RETRY_MS;
		return;
	}
	s->next_seq = seq_after(seq);
	slot_add(s, seq, SMPP_ENQUIRE_LINK, K_ENQUIRE, 0, now);
}

static int idle_expired(const struct smpp_session *s, uint64_t now)
{
	return s->cfg.idle_timeout_ms &&
	    (s->state == SMPP_ST_OPEN || s->state == SMPP_ST_BINDING) &&
	    now >= s->opened_at + s->cfg.idle_timeout_ms;
}

int smpp_session_tick(struct smpp_session *s, uint64_t now, struct smpp_event *ev)
{
	while (s->state != SMPP_ST_CLOSED) {
		if (s->head != NIL && s->slots[s->head].deadline <= now) {
			if (expire(s, &s->slots[s->head], ev))
				return 1;
			continue;
		}
		if (idle_expired(s, now)) {
			enter_closed(s, SMPP_CLOSE_IDLE);
			break;
		}
		if (s->cfg.enquire_link_ms && is_bound(s->state) && !s->enquire_out &&
		    now >= s->el_due)
			send_enquire(s, now);
		return 0;
	}
	return drain_closed(s, ev);
}

uint64_t smpp_session_next_deadline(const struct smpp_session *s)
{
	if (s->state == SMPP_ST_CLOSED)
		return s->closed_reported && s->head == NIL ? UINT64_MAX : 0;
	uint64_t t = UINT64_MAX;
	if (s->head != NIL)
		t = s->slots[s->head].deadline;
	if (s->cfg.idle_timeout_ms &&
	    (s->state == SMPP_ST_OPEN || s->state == SMPP_ST_BINDING) &&
	    s->opened_at + s->cfg.idle_timeout_ms < t)
		t = s->opened_at + s->cfg.idle_timeout_ms;
	if (s->cfg.enquire_link_ms && is_bound(s->state) && !s->enquire_out &&
	    s->el_due < t)
		t = s->el_due;
	return t;
}

/* --- calls from the daemon ------------------------------------------ */

static uint8_t kind_of(uint32_t id)
{
	return is_bind(id) ? K_BIND : id == SMPP_UNBIND ? K_UNBIND : K_USER;
}

int smpp_session_send(struct smpp_session *s, struct smpp_pdu *req,
    uint64_t cookie, uint64_t now)
{
	uint32_t id = req->command_id;
	if (SMPP_IS_RESP(id) || !smpp_command_known(id))
		return SMPP_SESS_EINVAL;
	if (!allowed(s, s->cfg.role, id) ||
	    (id == SMPP_UNBIND && s->state == SMPP_ST_UNBINDING))
		return SMPP_SESS_ESTATE;
	uint8_t kind = kind_of(id);
	if (kind == K_USER && has_response(id) && s->user_count >= s->cfg.window)
		return SMPP_SESS_EWINDOW;
	uint32_t seq = peek_seq(s);
	req->sequence_number = seq;
	int rc = put_pdu(s, req);
	if (rc < 0)
		return rc;
	s->next_seq = seq_after(seq);
	if (has_response(id))
		slot_add(s, seq, id, kind, cookie, now);
	if (kind == K_BIND)
		s->state = SMPP_ST_OUTBOUND;
	else if (kind == K_UNBIND)
		s->state = SMPP_ST_UNBINDING;
	return 0;
}

int smpp_session_unbind(struct smpp_session *s, uint64_t now)
{
	smpp_pdu_init(&s->tx, SMPP_UNBIND, 0);
	return smpp_session_send(s, &s->tx, 0, now);
}

int smpp_session_respond(struct smpp_session *s, const struct smpp_pdu *resp)
{
	if (s->state == SMPP_ST_CLOSED)
		return SMPP_SESS_ESTATE;
	if (!SMPP_IS_RESP(resp->command_id) || is_bind(resp->command_id & ~SMPP_RESP_BIT))
		return SMPP_SESS_EINVAL; /* bind answers go through accept/reject */
	if (s->pending_in == 0)
		return SMPP_SESS_ENOREQ;
	int rc = put_pdu(s, resp);
	if (rc < 0)
		return rc;
	s->pending_in--;
	return 0;
}

int smpp_session_accept(struct smpp_session *s, const char *system_id,
    uint64_t now)
{
	if (s->state != SMPP_ST_BINDING)
		return SMPP_SESS_ESTATE;
	smpp_pdu_init(&s->tx, s->bind_cmd | SMPP_RESP_BIT, s->bind_seq);
	s->tx.system_id = system_id;
	s->tlv_store.used = 0;
	/* 3.4 section 5.3.2.25: tell a 3.4 peer which version we speak */
	if (s->bind_version >= 0x34)
		smpp_tlv_add_int(&s->tx, &s->tlv_store, SMPP_TLV_SC_INTERFACE_VERSION, 0x34);
	int rc = put_pdu(s, &s->tx);
	if (rc < 0)
		return rc;
	s->state = bound_state(s->bind_cmd);
	s->el_due = now + s->cfg.enquire_link_ms;
	return 0;
}

int smpp_session_reject(struct smpp_session *s, uint32_t status)
{
	if (s->state != SMPP_ST_BINDING)
		return SMPP_SESS_ESTATE;
	if (status == 0)
		return SMPP_SESS_EINVAL;
	int rc = answer(s, s->bind_cmd | SMPP_RESP_BIT, s->bind_seq, status);
	if (rc < 0)
		return rc;
	s->state = SMPP_ST_OPEN;
	return 0;
}

void smpp_session_close(struct smpp_session *s)
{
	enter_closed(s, SMPP_CLOSE_LOCAL);
}

/* --- accessors and names -------------------------------------------- */

enum smpp_state smpp_session_state(const struct smpp_session *s)
{
	return s->state;
}

uint32_t smpp_session_outstanding(const struct smpp_session *s)
{
	return s->user_count;
}

uint32_t smpp_session_pending_in(const struct smpp_session *s)
{
	return s->pending_in;
}

const struct smpp_error *smpp_session_last_error(const struct smpp_session *s)
{
	return &s->last_error;
}

void smpp_session_set_next_sequence(struct smpp_session *s, uint32_t seq)
{
	s->next_seq = seq == 0 || seq > SEQ_MAX ? 1 : seq;
}

const char *smpp_session_strerror(int rc)
{
	switch (rc) {
	case SMPP_SESS_OK: return "ok";
	case SMPP_SESS_EWINDOW: return "window full";
	case SMPP_SESS_EBUFFER: return "output buffer full";
	case SMPP_SESS_ESTATE: return "not allowed in this state";
	case SMPP_SESS_EINVAL: return "invalid argument";
	case SMPP_SESS_ENOREQ: return "no request pending";
	}
	return "unknown error";
}

const char *smpp_state_name(enum smpp_state st)
{
	static const char *const names[SMPP_ST_COUNT] = {
		"OPEN", "OUTBOUND", "BINDING", "BOUND_TX", "BOUND_RX",
		"BOUND_TRX", "UNBINDING", "CLOSED",
	};
	return (unsigned)st < SMPP_ST_COUNT ? names[st] : "unknown";
}

const char *smpp_event_name(enum smpp_event_kind kind)
{
	static const char *const names[] = {
		"NONE", "BIND_REQUEST", "BOUND", "BIND_FAILED", "REQUEST",
		"RESPONSE", "TIMEOUT", "UNKNOWN_RESPONSE", "PROTOCOL_ERROR",
		"UNBOUND", "LINK_DEAD", "ABORTED", "CLOSED",
	};
	return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}

const char *smpp_close_reason_name(enum smpp_close_reason r)
{
	static const char *const names[] = {
		"none", "unbound", "unbind_timeout", "idle", "bind_timeout",
		"link_dead", "framing", "local",
	};
	return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}
