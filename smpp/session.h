/*
 * The SMPP session engine: one bind, both roles, as one explicit state
 * machine (memcached's drive_machine idea).
 *
 * Pure like the codec: no sockets, no clock, no allocation.  The daemon
 * owns the socket and the timers and drives the engine with four calls:
 *
 *   readable:  smpp_session_feed(s, in, len, now, &used, &ev) until it
 *              returns <= 0, handling each event; drop `used` bytes
 *   writable:  smpp_session_output(s, &p, &n); write; output_consumed(s, w)
 *   timer:     smpp_session_tick(s, now, &ev) until it returns 0, then
 *              rearm at smpp_session_next_deadline(s)
 *   work:      smpp_session_send() requests, smpp_session_respond() to
 *              REQUEST events, accept/reject BIND_REQUEST events
 *
 * Time is a uint64_t count of milliseconds from any monotonic origin.
 *
 * Memory: smpp_session_size(cfg) bytes of caller memory, aligned for any
 * type (malloc'd or a static max_align_t array), hold the session, its
 * window of outstanding requests and its output buffer.  Nothing is
 * allocated afterwards; the engine never frees it.
 *
 * Errors: calls return 0 (or 1 for "an event was written") and a negative
 * SMPP_SESS_E* code otherwise; smpp_session_strerror() names it, and for
 * SMPP_SESS_EINVAL smpp_session_last_error() says which field.
 */
#ifndef SMPPD_SMPP_SESSION_H
#define SMPPD_SMPP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "smpp/pdu.h"

enum smpp_role {
	SMPP_ROLE_SMSC, /* we receive binds (towards applications) */
	SMPP_ROLE_ESME, /* we send binds (towards carriers) */
};

enum smpp_state {
	SMPP_ST_OPEN,      /* connected, not bound */
	SMPP_ST_OUTBOUND,  /* ESME: bind sent, waiting for bind_resp */
	SMPP_ST_BINDING,   /* SMSC: bind received, waiting for accept/reject */
	SMPP_ST_BOUND_TX,
	SMPP_ST_BOUND_RX,
	SMPP_ST_BOUND_TRX,
	SMPP_ST_UNBINDING, /* we sent unbind, waiting for unbind_resp */
	SMPP_ST_CLOSED,    /* done: flush the output, then disconnect */
	SMPP_ST_COUNT
};

/* Why a session reached CLOSED (smpp_event.reason of SMPP_EV_CLOSED). */
enum smpp_close_reason {
	SMPP_CLOSE_NONE,
	SMPP_CLOSE_UNBOUND,        /* unbind handshake completed, either side */
	SMPP_CLOSE_UNBIND_TIMEOUT, /* our unbind got no unbind_resp */
	SMPP_CLOSE_IDLE,           /* no bind within idle_timeout_ms */
	SMPP_CLOSE_BIND_TIMEOUT,   /* our bind got no bind_resp */
	SMPP_CLOSE_LINK_DEAD,      /* our enquire_link got no answer */
	SMPP_CLOSE_FRAMING,        /* impossible command_length: stream lost */
	SMPP_CLOSE_LOCAL,          /* smpp_session_close() */
};

enum smpp_event_kind {
	SMPP_EV_NONE,
	SMPP_EV_BIND_REQUEST,  /* SMSC: pdu is the bind; answer accept/reject */
	SMPP_EV_BOUND,         /* ESME: bind_resp OK; cookie of the bind */
	SMPP_EV_BIND_FAILED,   /* ESME: bind refused (status); back to OPEN */
	SMPP_EV_REQUEST,       /* pdu is a peer request; needs_response says
	                          whether smpp_session_respond() is owed */
	SMPP_EV_RESPONSE,      /* answer to our request: cookie, pdu (may be a
	                          generic_nack), status = its command_status */
	SMPP_EV_TIMEOUT,       /* our request got no answer in time: cookie */
	SMPP_EV_UNKNOWN_RESPONSE, /* response with no outstanding sequence:
	                          log and ignore */
	SMPP_EV_PROTOCOL_ERROR, /* error says what; if `matched`, it was the
	                          answer to our request `cookie`, now finished */
	SMPP_EV_UNBOUND,       /* unbind handshake done; CLOSED follows */
	SMPP_EV_LINK_DEAD,     /* enquire_link unanswered; CLOSED follows */
	SMPP_EV_ABORTED,       /* our request still outstanding at close:
	                          cookie (requeue its message) */
	SMPP_EV_CLOSED,        /* last event of a session: reason */
};

struct smpp_event {
	enum smpp_event_kind kind;
	uint32_t command_id;     /* of the PDU, or of our request it concerns */
	uint32_t sequence;
	uint32_t status;         /* command_status where one applies */
	uint64_t cookie;         /* caller's cookie of our request */
	int matched;             /* PROTOCOL_ERROR: cookie is valid */
	int needs_response;      /* REQUEST: respond() is owed */
	enum smpp_close_reason reason; /* CLOSED */
	struct smpp_error error; /* PROTOCOL_ERROR */
	/*
	 * The decoded PDU, or NULL.  Lives in the session; its strings point
	 * into the bytes given to feed().  Valid until the next call into the
	 * engine and only while the caller keeps those bytes.
	 */
	const struct smpp_pdu *pdu;
};

/* Hard ceiling for cfg.window: sizes the sequence index. */
#define SMPP_SESSION_MAX_WINDOW 65536u

struct smpp_session_config {
	enum smpp_role role;
	uint32_t window;         /* our outstanding requests, 1..MAX_WINDOW */
	uint32_t in_window;      /* unanswered peer requests before
	                            ESME_RTHROTTLED; 0: same as window */
	uint32_t out_cap;        /* output buffer bytes; 0: 64 KiB */
	uint32_t max_pdu_len;    /* 0: SMPP_DEFAULT_MAX_PDU */
	uint32_t response_timeout_ms; /* per request; 0: 10 s */
	uint32_t enquire_link_ms; /* receive silence before enquire_link; 0: off */
	uint32_t idle_timeout_ms; /* OPEN/BINDING without a bind; 0: off */
	/* The ESME side may send deliver_sm while bound TX or TRX: a carrier
	 * that binds to its customer to hand over receipts and MOs.  Off: the
	 * 3.4 state table as it is. */
	uint8_t esme_delivers;
};

enum {
	SMPP_SESS_OK = 0,
	SMPP_SESS_EWINDOW = -1, /* window full: queue, retry after an answer */
	SMPP_SESS_EBUFFER = -2, /* output buffer full: write it out, retry */
	SMPP_SESS_ESTATE = -3,  /* not allowed in this role and state */
	SMPP_SESS_EINVAL = -4,  /* bad argument or PDU that does not encode */
	SMPP_SESS_ENOREQ = -5,  /* respond() with no peer request pending */
};

struct smpp_session;

/* Bytes of memory init needs for cfg, or 0 if cfg is invalid. */
size_t smpp_session_size(const struct smpp_session_config *cfg);

/*
 * Build a session in mem (len >= smpp_session_size(cfg), aligned for any
 * type).  Returns it in state OPEN, or NULL if cfg or mem is unusable.
 */
struct smpp_session *smpp_session_init(void *mem, size_t len,
    const struct smpp_session_config *cfg, uint64_t now);

/*
 * Consume whole PDUs from in[0..len).  *used is set to the bytes consumed
 * (always whole PDUs, or everything once CLOSED).  Returns 1 with *ev
 * filled after each PDU that makes an event (call again with the rest),
 * 0 when only a partial PDU (or nothing) is left, SMPP_SESS_EBUFFER when
 * an automatic answer does not fit the output buffer (write, then feed
 * the rest again).  Requests the engine answers itself (enquire_link,
 * state errors, throttling, decode errors) make no REQUEST event.
 */
int smpp_session_feed(struct smpp_session *s, const uint8_t *in, size_t len,
    uint64_t now, size_t *used, struct smpp_event *ev);

/*
 * Timers: expire requests, send enquire_link, close idle sessions, and
 * after close hand out ABORTED events then CLOSED.  Returns 1 with *ev,
 * or 0 when nothing more is due.
 */
int smpp_session_tick(struct smpp_session *s, uint64_t now,
    struct smpp_event *ev);

/* When tick next has work: UINT64_MAX for never, 0 for now. */
uint64_t smpp_session_next_deadline(const struct smpp_session *s);

/*
 * Send a request (any command our role may send in this state, including
 * bind_* for the ESME, outbind for the SMSC, unbind, enquire_link).  The
 * engine sets req->sequence_number.  cookie comes back with its RESPONSE,
 * TIMEOUT or ABORTED.  0 or SMPP_SESS_E{WINDOW,BUFFER,STATE,INVAL}.
 */
int smpp_session_send(struct smpp_session *s, struct smpp_pdu *req,
    uint64_t cookie, uint64_t now);

/*
 * Answer a REQUEST event (in any order): resp carries the request's
 * sequence_number (smpp_pdu_init_resp does it).  Frees one place in the
 * incoming window.  0 or SMPP_SESS_E{BUFFER,STATE,INVAL,NOREQ}.
 */
int smpp_session_respond(struct smpp_session *s, const struct smpp_pdu *resp);

/*
 * SMSC: answer the pending BIND_REQUEST.  accept binds (state from the
 * bind's command) and sends bind_resp with our system_id; reject sends it
 * with status and returns to OPEN.  0 or SMPP_SESS_E{BUFFER,STATE,INVAL}.
 */
int smpp_session_accept(struct smpp_session *s, const char *system_id,
    uint64_t now);
int smpp_session_reject(struct smpp_session *s, uint32_t status);

/* Start the unbind handshake (state UNBINDING).  As send(), no cookie. */
int smpp_session_unbind(struct smpp_session *s, uint64_t now);

/*
 * The connection is gone or must go: CLOSED now.  tick() then returns an
 * ABORTED event for each outstanding request, then CLOSED.
 */
void smpp_session_close(struct smpp_session *s);

/*
 * Pending output: *p and *len describe bytes to write (valid until the
 * next call into the engine).  output_consumed() drops n written bytes.
 */
void smpp_session_output(const struct smpp_session *s, const uint8_t **p,
    size_t *len);
void smpp_session_output_consumed(struct smpp_session *s, size_t n);

enum smpp_state smpp_session_state(const struct smpp_session *s);
uint32_t smpp_session_outstanding(const struct smpp_session *s); /* ours */
uint32_t smpp_session_pending_in(const struct smpp_session *s);  /* theirs */
const struct smpp_error *smpp_session_last_error(const struct smpp_session *s);

/*
 * The state/command table: may `sender` send command_id while the bind is
 * in `state`?  (SMPP 3.4 sections 2.3 and 2.4.)
 */
int smpp_session_allowed(enum smpp_role sender, enum smpp_state state,
    uint32_t command_id);

/* Next sequence number to use (tests of the wraparound; 1..0x7FFFFFFF). */
void smpp_session_set_next_sequence(struct smpp_session *s, uint32_t seq);

const char *smpp_session_strerror(int rc);
const char *smpp_state_name(enum smpp_state st);
const char *smpp_event_name(enum smpp_event_kind kind);
const char *smpp_close_reason_name(enum smpp_close_reason r);

#endif
