/*
 * Two engines back to back in memory, an ESME submitting flat out with a
 * window and an SMSC answering every submit_sm: prints PDUs per second
 * (requests plus responses, each encoded, framed, decoded and matched
 * once).  Not a test: timing belongs to the machine, not to CI.
 *
 *   bench-session [submits]      default 2000000
 */
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smpp/session.h"

#define WINDOW 512

static alignas(max_align_t) uint8_t mem_esme[1 << 20], mem_smsc[1 << 20];
static struct smpp_pdu req, resp;
static uint64_t answered, sent;

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_smsc(struct smpp_session *s, const struct smpp_event *ev, uint64_t now)
{
	if (ev->kind == SMPP_EV_BIND_REQUEST) {
		smpp_session_accept(s, "smppd", now);
	} else if (ev->kind == SMPP_EV_REQUEST && ev->needs_response) {
		smpp_pdu_init_resp(&resp, ev->pdu, 0);
		resp.message_id = "0123456789abcdef";
		if (smpp_session_respond(s, &resp) != 0) {
			fprintf(stderr, "respond failed\n");
			exit(1);
		}
	}
}

static void on_esme(const struct smpp_event *ev)
{
	if (ev->kind == SMPP_EV_RESPONSE)
		answered++;
	else if (ev->kind != SMPP_EV_BOUND) {
		fprintf(stderr, "unexpected %s\n", smpp_event_name(ev->kind));
		exit(1);
	}
}

/* Hand a's whole output to b, the way a socket pair would. */
static void move(struct smpp_session *a, struct smpp_session *b, int b_is_smsc,
    uint64_t now)
{
	const uint8_t *p;
	size_t n, used;
	struct smpp_event ev;
	static uint8_t wire[1 << 20];
	smpp_session_output(a, &p, &n);
	memcpy(wire, p, n); /* the engine's output and the peer's input differ */
	smpp_session_output_consumed(a, n);
	size_t off = 0;
	int rc;
	while (off < n) {
		rc = smpp_session_feed(b, wire + off, n - off, now, &used, &ev);
		off += used;
		if (rc == 1) {
			if (b_is_smsc)
				on_smsc(b, &ev, now);
			else
				on_esme(&ev);
		} else if (rc < 0) {
			/* b's output is full: let it go out first */
			move(b, a, !b_is_smsc, now);
		} else {
			break;
		}
	}
}

int main(int argc, char **argv)
{
	uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	struct smpp_session_config ce = { .role = SMPP_ROLE_ESME, .window = WINDOW,
		.out_cap = 256 * 1024 };
	struct smpp_session_config cs = { .role = SMPP_ROLE_SMSC, .window = WINDOW,
		.in_window = WINDOW, .out_cap = 256 * 1024 };
	struct smpp_session *e = smpp_session_init(mem_esme, sizeof mem_esme, &ce, 0);
	struct smpp_session *s = smpp_session_init(mem_smsc, sizeof mem_smsc, &cs, 0);
	if (!e || !s)
		return 1;
	smpp_pdu_init(&req, SMPP_BIND_TRANSCEIVER, 0);
	smpp_session_send(e, &req, 0, 0);
	move(e, s, 1, 0);
	move(s, e, 0, 0);

	static const uint8_t text[] = "Your code is 123456. Do not share it.";
	double t0 = seconds();
	uint64_t now = 1;
	while (answered < total) {
		while (sent < total) {
			smpp_pdu_init(&req, SMPP_SUBMIT_SM, 0);
			req.source = (struct smpp_addr){ 1, 1, "12025550100" };
			req.dest = (struct smpp_addr){ 1, 1, "13105550199" };
			req.registered_delivery = 1;
			req.short_message = text;
			req.sm_length = sizeof text - 1;
			if (smpp_session_send(e, &req, sent, now) != 0)
				break; /* window or buffer full: let the peer answer */
			sent++;
		}
		move(e, s, 1, now);
		move(s, e, 0, now);
		now++;
	}
	double dt = seconds() - t0;
	printf("submits=%llu window=%d seconds=%.3f submits_per_s=%.0f pdus_per_s=%.0f\n",
	    (unsigned long long)total, WINDOW, dt, (double)total / dt,
	    2.0 * (double)total / dt);
	return 0;
}
