/*
 * Session engine: arbitrary bytes in arbitrary chunks, with clock ticks,
 * into an SMSC-role and an ESME-role engine.  Every request event is
 * answered, every bind request accepted or rejected.  Checks: no crash,
 * feed consumes within bounds, output stays whole PDUs, counters stay
 * within their windows, and after close the events end with CLOSED.
 *
 * Input layout: each step takes one control byte c: chunk length
 * (c & 0x3f) + 1, and bit 6 advances the clock by 1..4 s before the chunk.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "smpp/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WINDOW 4
static alignas(max_align_t) uint8_t mem[2][1 << 18];
static uint8_t inbuf[2][1 << 17];
static struct smpp_pdu resp;

static void check_output(struct smpp_session *s)
{
	const uint8_t *p;
	size_t n, off = 0;
	smpp_session_output(s, &p, &n);
	while (off < n) { /* the engine writes whole, framable PDUs */
		if (n - off < SMPP_HEADER_LEN)
			abort();
		uint32_t len = smpp_get_u32(p + off);
		if (len < SMPP_HEADER_LEN || len > n - off)
			abort();
		off += len;
	}
	smpp_session_output_consumed(s, n);
}

static void handle(struct smpp_session *s, const struct smpp_event *ev,
    uint64_t now, int *closed)
{
	if (*closed)
		abort(); /* nothing after CLOSED */
	if (smpp_session_outstanding(s) > WINDOW || smpp_session_pending_in(s) > WINDOW)
		abort();
	switch (ev->kind) {
	case SMPP_EV_BIND_REQUEST:
		if (ev->sequence & 1)
			smpp_session_accept(s, "smppd", now);
		else
			smpp_session_reject(s, SMPP_ESME_RINVPASWD);
		break;
	case SMPP_EV_REQUEST:
		if (ev->needs_response) {
			smpp_pdu_init_resp(&resp, ev->pdu, 0);
			resp.message_id = "m1";
			int rc = smpp_session_respond(s, &resp);
			if (rc == SMPP_SESS_EBUFFER) {
				check_output(s);
				rc = smpp_session_respond(s, &resp);
			}
			if (rc != 0)
				abort();
		} else if (ev->command_id == SMPP_OUTBIND) {
			smpp_pdu_init(&resp, SMPP_BIND_RECEIVER, 0);
			smpp_session_send(s, &resp, 1, now);
		}
		break;
	case SMPP_EV_BOUND: {
		smpp_pdu_init(&resp, SMPP_SUBMIT_SM, 0);
		smpp_session_send(s, &resp, 2, now);
		break;
	}
	case SMPP_EV_CLOSED:
		*closed = 1;
		break;
	default:
		break;
	}
}

static void run(int role, const uint8_t *data, size_t size)
{
	struct smpp_session_config cfg = { 0 };
	cfg.role = role ? SMPP_ROLE_ESME : SMPP_ROLE_SMSC;
	cfg.window = WINDOW;
	cfg.in_window = WINDOW;
	cfg.out_cap = 4096;
	cfg.max_pdu_len = 8192;
	cfg.response_timeout_ms = 3000;
	cfg.enquire_link_ms = 2000;
	cfg.idle_timeout_ms = 20000;
	uint64_t now = 0;
	struct smpp_session *s = smpp_session_init(mem[role], sizeof mem[role], &cfg, now);
	if (!s)
		abort();
	if (role) {
		struct smpp_pdu *b = &resp;
		smpp_pdu_init(b, SMPP_BIND_TRANSCEIVER, 0);
		smpp_session_send(s, b, 1, now);
	}
	uint8_t *in = inbuf[role];
	size_t have = 0, pos = 0;
	int closed = 0;
	struct smpp_event ev;
	while (pos < size) {
		uint8_t c = data[pos++];
		size_t chunk = (size_t)(c & 0x3f) + 1;
		if (c & 0x40) {
			now += 1000u * (1u + (c >> 7) + (chunk & 1) * 2u);
			while (smpp_session_tick(s, now, &ev) == 1)
				handle(s, &ev, now, &closed);
			check_output(s);
		}
		if (chunk > size - pos)
			chunk = size - pos;
		if (have + chunk > sizeof inbuf[role])
			break;
		memcpy(in + have, data + pos, chunk);
		have += chunk;
		pos += chunk;
		for (int blocked = 0;;) {
			size_t used = 0;
			int rc = smpp_session_feed(s, in, have, now, &used, &ev);
			if (used > have)
				abort();
			if (rc == 1)
				handle(s, &ev, now, &closed);
			memmove(in, in + used, have - used);
			have -= used;
			check_output(s);
			if (rc == SMPP_SESS_EBUFFER && !blocked++)
				continue; /* drained: must go on now */
			if (rc < 0 && rc != SMPP_SESS_EBUFFER)
				abort();
			if (rc != 1)
				break;
			blocked = 0;
		}
		if (have >= cfg.max_pdu_len && smpp_session_state(s) != SMPP_ST_CLOSED)
			abort(); /* a whole PDU left unconsumed */
	}
	smpp_session_close(s);
	while (smpp_session_tick(s, now, &ev) == 1)
		handle(s, &ev, now, &closed);
	if (!closed || smpp_session_outstanding(s) != 0 ||
	    smpp_session_next_deadline(s) != UINT64_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(0, data, size);
	run(1, data, size);
	return 0;
}
