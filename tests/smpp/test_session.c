/*
 * Session engine: the state/command matrix for both roles, then an ESME
 * and an SMSC engine wired back to back in memory, driven by a fake clock.
 */
#include <stdlib.h>

#include "tests/unit.h"
#include "smpp/session.h"
#include "tests/smpp/samples.h"

/* --- harness --------------------------------------------------------- */

struct side {
	struct smpp_session *s;
	void *mem;
	uint8_t in[1 << 20]; /* bytes from the peer not consumed yet */
	size_t in_len;
};

#define MAXEV 4096
struct rec {
	enum smpp_event_kind kind;
	uint32_t command_id, sequence, status;
	uint64_t cookie;
	int matched, needs_response;
	enum smpp_close_reason reason;
	char message_id[66];
};
static struct rec evs[MAXEV];
static int nev;

static struct side esme_side, smsc_side;
static struct smpp_pdu pdu, pdu2;
static uint8_t wire[1 << 17];

static struct smpp_session_config config(enum smpp_role role)
{
	struct smpp_session_config c = { 0 };
	c.role = role;
	c.window = 8;
	c.response_timeout_ms = 5000;
	return c;
}

static void side_init(struct side *sd, const struct smpp_session_config *c)
{
	free(sd->mem);
	size_t n = smpp_session_size(c);
	sd->mem = malloc(n);
	sd->s = smpp_session_init(sd->mem, n, c, 0);
	sd->in_len = 0;
}

static void record(const struct smpp_event *ev)
{
	if (nev == MAXEV)
		return;
	struct rec *r = &evs[nev++];
	memset(r, 0, sizeof *r);
	r->kind = ev->kind;
	r->command_id = ev->command_id;
	r->sequence = ev->sequence;
	r->status = ev->status;
	r->cookie = ev->cookie;
	r->matched = ev->matched;
	r->needs_response = ev->needs_response;
	r->reason = ev->reason;
	if (ev->pdu && ev->pdu->message_id)
		snprintf(r->message_id, sizeof r->message_id, "%s", ev->pdu->message_id);
}

/* Feed whatever is waiting in sd->in, recording events; returns last rc. */
static int feed_pending(struct side *sd, uint64_t now)
{
	int rc;
	do {
		struct smpp_event ev;
		size_t used = 0;
		rc = smpp_session_feed(sd->s, sd->in, sd->in_len, now, &used, &ev);
		if (rc == 1)
			record(&ev); /* before the bytes the PDU points to move */
		memmove(sd->in, sd->in + used, sd->in_len - used);
		sd->in_len -= used;
	} while (rc == 1);
	return rc;
}

/* Move from's output into to's input and feed it. */
static int pump(struct side *from, struct side *to, uint64_t now)
{
	const uint8_t *p;
	size_t n;
	smpp_session_output(from->s, &p, &n);
	memcpy(to->in + to->in_len, p, n);
	to->in_len += n;
	smpp_session_output_consumed(from->s, n);
	return feed_pending(to, now);
}

static void tick_all(struct side *sd, uint64_t now)
{
	struct smpp_event ev;
	while (smpp_session_tick(sd->s, now, &ev) == 1)
		record(&ev);
}

static void drop_output(struct side *sd)
{
	const uint8_t *p;
	size_t n;
	smpp_session_output(sd->s, &p, &n);
	smpp_session_output_consumed(sd->s, n);
}

/* Decode the first PDU of sd's output into pdu2; returns its length. */
static long first_output(struct side *sd)
{
	const uint8_t *p;
	size_t n;
	struct smpp_error err;
	smpp_session_output(sd->s, &p, &n);
	long len = smpp_frame(p, n, NULL, &err);
	if (len <= 0 || smpp_pdu_decode(p, (size_t)len, NULL, &pdu2, &err) != 0)
		return 0;
	return len;
}

static size_t encode(const struct smpp_pdu *p)
{
	struct smpp_error err;
	long n = smpp_pdu_encode(p, wire, sizeof wire, &err);
	return n > 0 ? (size_t)n : 0;
}

static void inject(struct side *sd, const uint8_t *b, size_t n)
{
	memcpy(sd->in + sd->in_len, b, n);
	sd->in_len += n;
}

/* Bind the pair: ESME sends bind_transceiver, the SMSC daemon accepts. */
static void bind_pair(uint32_t bind_id, uint64_t now)
{
	smpp_pdu_init(&pdu, bind_id, 0);
	pdu.system_id = "app1";
	pdu.password = "secret";
	pdu.interface_version = 0x34;
	smpp_session_send(esme_side.s, &pdu, 77, now);
	pump(&esme_side, &smsc_side, now);
	smpp_session_accept(smsc_side.s, "smppd", now);
	pump(&smsc_side, &esme_side, now);
}

static void pair_init(const struct smpp_session_config *ce,
    const struct smpp_session_config *cs)
{
	side_init(&esme_side, ce);
	side_init(&smsc_side, cs);
	nev = 0;
}

/* --- the state/command matrix ---------------------------------------- */

/*
 * Expected handling of each peer request in each state, transcribed from
 * SMPP 3.4 sections 2.3/2.4 (columns OPEN OUTBOUND BINDING TX RX TRX
 * UNBINDING): a accepted as an event, e enquire_link_resp, u unbind_resp
 * and UNBOUND, n ESME_RINVBNDSTS, y ESME_RALYBND, - state not reachable.
 */
static const struct {
	uint32_t cmd;
	const char *smsc, *esme;
} matrix[] = {
	{ SMPP_BIND_TRANSMITTER,   "a-yyyyy", "ny-yyyy" },
	{ SMPP_BIND_RECEIVER,      "a-yyyyy", "ny-yyyy" },
	{ SMPP_BIND_TRANSCEIVER,   "a-yyyyy", "ny-yyyy" },
	{ SMPP_OUTBIND,            "n-nnnnn", "an-nnnn" },
	{ SMPP_UNBIND,             "n-nuuuu", "nn-uuuu" },
	{ SMPP_ENQUIRE_LINK,       "e-eeeee", "ee-eeee" },
	{ SMPP_SUBMIT_SM,          "n-nanan", "nn-nnnn" },
	{ SMPP_SUBMIT_MULTI,       "n-nanan", "nn-nnnn" },
	{ SMPP_QUERY_SM,           "n-nanan", "nn-nnnn" },
	{ SMPP_CANCEL_SM,          "n-nanan", "nn-nnnn" },
	{ SMPP_REPLACE_SM,         "n-nanan", "nn-nnnn" },
	{ SMPP_DATA_SM,            "n-nanan", "nn-naan" },
	{ SMPP_DELIVER_SM,         "n-nnnnn", "nn-naan" },
	{ SMPP_ALERT_NOTIFICATION, "n-nnnnn", "nn-naan" },
};

static const enum smpp_state matrix_states[] = {
	SMPP_ST_OPEN, SMPP_ST_OUTBOUND, SMPP_ST_BINDING, SMPP_ST_BOUND_TX,
	SMPP_ST_BOUND_RX, SMPP_ST_BOUND_TRX, SMPP_ST_UNBINDING,
};

static uint32_t bind_for(enum smpp_state st)
{
	return st == SMPP_ST_BOUND_TX ? SMPP_BIND_TRANSMITTER :
	    st == SMPP_ST_BOUND_RX ? SMPP_BIND_RECEIVER : SMPP_BIND_TRANSCEIVER;
}

/* One engine (in esme_side or smsc_side) brought into state st. */
static struct side *engine_in(enum smpp_role role, enum smpp_state st)
{
	struct smpp_session_config c = config(role);
	pair_init(&c, &c);
	struct side *sd = role == SMPP_ROLE_ESME ? &esme_side : &smsc_side;
	side_init(sd, &c);
	if (st == SMPP_ST_OPEN)
		return sd;
	uint32_t bind = bind_for(st);
	if (role == SMPP_ROLE_SMSC) {
		smpp_pdu_init(&pdu, bind, 1);
		inject(sd, wire, encode(&pdu));
		feed_pending(sd, 0);
		if (st != SMPP_ST_BINDING)
			smpp_session_accept(sd->s, "smppd", 0);
	} else {
		smpp_pdu_init(&pdu, bind, 0);
		smpp_session_send(sd->s, &pdu, 1, 0);
		if (st != SMPP_ST_OUTBOUND) {
			smpp_pdu_init(&pdu2, bind | SMPP_RESP_BIT, pdu.sequence_number);
			inject(sd, wire, encode(&pdu2));
			feed_pending(sd, 0);
		}
	}
	if (st == SMPP_ST_UNBINDING)
		smpp_session_unbind(sd->s, 0);
	drop_output(sd);
	nev = 0;
	return sd;
}

static int is_bind_cmd(uint32_t cmd)
{
	return cmd == SMPP_BIND_TRANSMITTER || cmd == SMPP_BIND_RECEIVER ||
	    cmd == SMPP_BIND_TRANSCEIVER;
}

static size_t sample_request(uint32_t cmd, struct smpp_tlv_store *st)
{
	for (size_t i = 0; i < sample_count(); i++) {
		sample_build(i, &pdu, st);
		if (pdu.command_id == cmd)
			return encode(&pdu);
	}
	return 0;
}

static void check_cell(enum smpp_role role, enum smpp_state st, uint32_t cmd,
    char want)
{
	static struct smpp_tlv_store store;
	struct side *sd = engine_in(role, st);
	if (!CHECK(smpp_session_state(sd->s) == st))
		return;
	size_t n = sample_request(cmd, &store);
	uint32_t seq = pdu.sequence_number;
	inject(sd, wire, n);
	int rc = feed_pending(sd, 1);
	long out = first_output(sd);
	int ok = rc == 0 && sd->in_len == 0;
	int no_resp = cmd == SMPP_OUTBIND || cmd == SMPP_ALERT_NOTIFICATION;

	switch (want) {
	case 'a':
		ok = ok && nev == 1 && out == 0 &&
		    evs[0].kind == (smpp_session_state(sd->s) == SMPP_ST_BINDING ?
		    SMPP_EV_BIND_REQUEST : SMPP_EV_REQUEST) &&
		    evs[0].needs_response == (!no_resp && !is_bind_cmd(cmd));
		break;
	case 'e':
		ok = ok && nev == 0 && out == 16 &&
		    pdu2.command_id == SMPP_ENQUIRE_LINK_RESP && pdu2.command_status == 0;
		break;
	case 'u':
		ok = ok && nev == 2 && evs[0].kind == SMPP_EV_UNBOUND &&
		    evs[1].kind == SMPP_EV_CLOSED && out == 16 &&
		    pdu2.command_id == SMPP_UNBIND_RESP &&
		    smpp_session_state(sd->s) == SMPP_ST_CLOSED;
		break;
	case 'n':
	case 'y':
		ok = ok && nev == 1 && evs[0].kind == SMPP_EV_PROTOCOL_ERROR && out > 0 &&
		    pdu2.command_id == (no_resp ? SMPP_GENERIC_NACK : cmd | SMPP_RESP_BIT) &&
		    pdu2.command_status == (want == 'n' ? SMPP_ESME_RINVBNDSTS :
		    SMPP_ESME_RALYBND) && pdu2.sequence_number == seq &&
		    smpp_session_state(sd->s) == st;
		break;
	}
	if (!CHECK(ok))
		printf("#   role=%s state=%s cmd=%s want=%c: rc=%d nev=%d ev=%s out=%s/%s\n",
		    role == SMPP_ROLE_ESME ? "esme" : "smsc", smpp_state_name(st),
		    smpp_command_name(cmd), want, rc, nev,
		    nev ? smpp_event_name(evs[0].kind) : "-",
		    out ? smpp_command_name(pdu2.command_id) : "-",
		    out ? smpp_status_name(pdu2.command_status) : "-");
}

static void test_matrix(void)
{
	for (size_t r = 0; r < 2; r++) {
		enum smpp_role role = r ? SMPP_ROLE_ESME : SMPP_ROLE_SMSC;
		for (size_t i = 0; i < sizeof matrix / sizeof matrix[0]; i++) {
			const char *row = r ? matrix[i].esme : matrix[i].smsc;
			for (size_t j = 0; j < 7; j++)
				if (row[j] != '-')
					check_cell(role, matrix_states[j], matrix[i].cmd, row[j]);
		}
	}
}

/* In CLOSED nothing more is read or answered. */
static void test_closed_ignores_input(void)
{
	struct smpp_tlv_store store;
	for (size_t r = 0; r < 2; r++) {
		struct side *sd = engine_in(r ? SMPP_ROLE_ESME : SMPP_ROLE_SMSC, SMPP_ST_OPEN);
		smpp_session_close(sd->s);
		tick_all(sd, 0);
		CHECK_EQ_INT(nev, 1);
		CHECK_EQ_INT(evs[0].kind, SMPP_EV_CLOSED);
		CHECK_EQ_INT(evs[0].reason, SMPP_CLOSE_LOCAL);
		inject(sd, wire, sample_request(SMPP_ENQUIRE_LINK, &store));
		CHECK_EQ_INT(feed_pending(sd, 0), 0);
		CHECK_EQ_INT(sd->in_len, 0);
		CHECK_EQ_INT(first_output(sd), 0);
		CHECK_EQ_INT(smpp_session_next_deadline(sd->s), UINT64_MAX);
	}
}

/* What we may send: the outgoing half of the same table. */
static void test_send_matrix(void)
{
	struct side *sd = engine_in(SMPP_ROLE_ESME, SMPP_ST_BOUND_RX);
	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM, 0);
	CHECK_EQ_INT(smpp_session_send(sd->s, &pdu, 1, 0), SMPP_SESS_ESTATE);
	smpp_pdu_init(&pdu, SMPP_BIND_TRANSMITTER, 0);
	CHECK_EQ_INT(smpp_session_send(sd->s, &pdu, 1, 0), SMPP_SESS_ESTATE);
	smpp_pdu_init(&pdu, SMPP_DELIVER_SM, 0);
	CHECK_EQ_INT(smpp_session_send(sd->s, &pdu, 1, 0), SMPP_SESS_ESTATE);
	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM_RESP, 0);
	CHECK_EQ_INT(smpp_session_send(sd->s, &pdu, 1, 0), SMPP_SESS_EINVAL);
	smpp_pdu_init(&pdu, SMPP_ENQUIRE_LINK, 0);
	CHECK_EQ_INT(smpp_session_send(sd->s, &pdu, 1, 0), 0);

	sd = engine_in(SMPP_ROLE_SMSC, SMPP_ST_BOUND_TX);
	smpp_pdu_init(&pdu, SMPP_DELIVER_SM, 0);
	CHECK_EQ_INT(smpp_session_send(sd->s, &pdu, 1, 0), SMPP_SESS_ESTATE);
	sd = engine_in(SMPP_ROLE_SMSC, SMPP_ST_BOUND_RX);
	smpp_pdu_init(&pdu, SMPP_DELIVER_SM, 0);
	CHECK_EQ_INT(smpp_session_send(sd->s, &pdu, 1, 0), 0);
	CHECK_EQ_INT(smpp_session_unbind(sd->s, 0), 0);
	CHECK_EQ_INT(smpp_session_unbind(sd->s, 0), SMPP_SESS_ESTATE);
	CHECK(smpp_session_allowed(SMPP_ROLE_ESME, SMPP_ST_BOUND_TRX, SMPP_SUBMIT_SM));
	CHECK(!smpp_session_allowed(SMPP_ROLE_SMSC, SMPP_ST_BOUND_TRX, SMPP_SUBMIT_SM));
	CHECK(!smpp_session_allowed(SMPP_ROLE_ESME, SMPP_ST_CLOSED, SMPP_ENQUIRE_LINK));
}

/* --- back to back ---------------------------------------------------- */

static void test_bind_submit_window(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	ce.window = 3;
	pair_init(&ce, &cs);
	smpp_pdu_init(&pdu, SMPP_BIND_TRANSCEIVER, 0);
	pdu.system_id = "app1";
	pdu.password = "pw";
	pdu.interface_version = 0x34;
	CHECK_EQ_INT(smpp_session_send(esme_side.s, &pdu, 77, 0), 0);
	CHECK_EQ_INT(smpp_session_state(esme_side.s), SMPP_ST_OUTBOUND);
	pump(&esme_side, &smsc_side, 0);
	CHECK_EQ_INT(nev, 1);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_BIND_REQUEST);
	CHECK_EQ_INT(smpp_session_state(smsc_side.s), SMPP_ST_BINDING);
	CHECK_EQ_INT(smpp_session_accept(smsc_side.s, "smppd", 0), 0);
	CHECK_EQ_INT(smpp_session_state(smsc_side.s), SMPP_ST_BOUND_TRX);
	CHECK_EQ_INT(smpp_session_accept(smsc_side.s, "smppd", 0), SMPP_SESS_ESTATE);
	pump(&smsc_side, &esme_side, 0);
	CHECK_EQ_INT(evs[1].kind, SMPP_EV_BOUND);
	CHECK_EQ_INT(evs[1].cookie, 77);
	CHECK_EQ_INT(smpp_session_state(esme_side.s), SMPP_ST_BOUND_TRX);

	/* three fit the window, the fourth does not */
	for (uint64_t c = 100; c < 103; c++) {
		smpp_pdu_init(&pdu, SMPP_SUBMIT_SM, 0);
		pdu.dest.addr = "15550100";
		CHECK_EQ_INT(smpp_session_send(esme_side.s, &pdu, c, 0), 0);
	}
	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM, 0);
	CHECK_EQ_INT(smpp_session_send(esme_side.s, &pdu, 103, 0), SMPP_SESS_EWINDOW);
	CHECK_EQ_INT(smpp_session_outstanding(esme_side.s), 3);
	nev = 0;
	pump(&esme_side, &smsc_side, 0);
	CHECK_EQ_INT(nev, 3);
	CHECK_EQ_INT(smpp_session_pending_in(smsc_side.s), 3);
	uint32_t seqs[3];
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(evs[i].kind, SMPP_EV_REQUEST);
		CHECK(evs[i].needs_response);
		seqs[i] = evs[i].sequence;
	}
	/* answer out of order: 3rd, 1st, 2nd */
	static const char *const ids[] = { "id-a", "id-b", "id-c" };
	static const int order[] = { 2, 0, 1 };
	for (int k = 0; k < 3; k++) {
		int i = order[k];
		smpp_pdu_init(&pdu, SMPP_SUBMIT_SM_RESP, seqs[i]);
		pdu.message_id = ids[i];
		CHECK_EQ_INT(smpp_session_respond(smsc_side.s, &pdu), 0);
	}
	CHECK_EQ_INT(smpp_session_respond(smsc_side.s, &pdu), SMPP_SESS_ENOREQ);
	CHECK_EQ_INT(smpp_session_pending_in(smsc_side.s), 0);
	nev = 0;
	pump(&smsc_side, &esme_side, 0);
	CHECK_EQ_INT(nev, 3);
	for (int k = 0; k < 3; k++) {
		CHECK_EQ_INT(evs[k].kind, SMPP_EV_RESPONSE);
		CHECK_EQ_INT(evs[k].cookie, 100 + order[k]);
		CHECK_EQ_STR(evs[k].message_id, ids[order[k]]);
		CHECK_EQ_INT(evs[k].status, 0);
	}
	CHECK_EQ_INT(smpp_session_outstanding(esme_side.s), 0);
	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM, 0);
	CHECK_EQ_INT(smpp_session_send(esme_side.s, &pdu, 103, 0), 0);
}

static void test_bind_rejected(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	pair_init(&ce, &cs);
	smpp_pdu_init(&pdu, SMPP_BIND_TRANSMITTER, 0);
	smpp_session_send(esme_side.s, &pdu, 5, 0);
	pump(&esme_side, &smsc_side, 0);
	CHECK_EQ_INT(smpp_session_reject(smsc_side.s, SMPP_ESME_RINVPASWD), 0);
	CHECK_EQ_INT(smpp_session_state(smsc_side.s), SMPP_ST_OPEN);
	pump(&smsc_side, &esme_side, 0);
	CHECK_EQ_INT(evs[1].kind, SMPP_EV_BIND_FAILED);
	CHECK_EQ_INT(evs[1].status, SMPP_ESME_RINVPASWD);
	CHECK_EQ_INT(evs[1].cookie, 5);
	CHECK_EQ_INT(smpp_session_state(esme_side.s), SMPP_ST_OPEN);
}

/* The SMSC asks a carrier-side ESME to bind: outbind, then bind_receiver. */
static void test_outbind(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	pair_init(&ce, &cs);
	smpp_pdu_init(&pdu, SMPP_OUTBIND, 0);
	pdu.system_id = "carrier";
	CHECK_EQ_INT(smpp_session_send(smsc_side.s, &pdu, 0, 0), 0);
	CHECK_EQ_INT(smpp_session_outstanding(smsc_side.s), 0);
	pump(&smsc_side, &esme_side, 0);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_REQUEST);
	CHECK_EQ_INT(evs[0].command_id, SMPP_OUTBIND);
	CHECK_EQ_INT(evs[0].needs_response, 0);
	smpp_pdu_init(&pdu, SMPP_BIND_RECEIVER, 0);
	CHECK_EQ_INT(smpp_session_send(esme_side.s, &pdu, 9, 0), 0);
	pump(&esme_side, &smsc_side, 0);
	CHECK_EQ_INT(evs[1].kind, SMPP_EV_BIND_REQUEST);
	smpp_session_accept(smsc_side.s, "smppd", 0);
	pump(&smsc_side, &esme_side, 0);
	CHECK_EQ_INT(evs[2].kind, SMPP_EV_BOUND);
	CHECK_EQ_INT(smpp_session_state(esme_side.s), SMPP_ST_BOUND_RX);
	/* deliver_sm flows SMSC -> ESME */
	smpp_pdu_init(&pdu, SMPP_DELIVER_SM, 0);
	CHECK_EQ_INT(smpp_session_send(smsc_side.s, &pdu, 42, 0), 0);
	pump(&smsc_side, &esme_side, 0);
	CHECK_EQ_INT(evs[3].kind, SMPP_EV_REQUEST);
	smpp_pdu_init(&pdu, SMPP_DELIVER_SM_RESP, evs[3].sequence);
	CHECK_EQ_INT(smpp_session_respond(esme_side.s, &pdu), 0);
	pump(&esme_side, &smsc_side, 0);
	CHECK_EQ_INT(evs[4].kind, SMPP_EV_RESPONSE);
	CHECK_EQ_INT(evs[4].cookie, 42);
}

/*
 * esme_delivers: a carrier bound to us as a transmitter hands over
 * receipts in deliver_sm.  Both ends must allow it; without the flag the
 * 3.4 table refuses it on either end.
 */
static void test_esme_delivers(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	pair_init(&ce, &cs);
	bind_pair(SMPP_BIND_TRANSMITTER, 0);
	smpp_pdu_init(&pdu, SMPP_DELIVER_SM, 0);
	CHECK_EQ_INT(smpp_session_send(esme_side.s, &pdu, 1, 0), SMPP_SESS_ESTATE);

	ce.esme_delivers = cs.esme_delivers = 1;
	pair_init(&ce, &cs);
	smpp_pdu_init(&pdu, SMPP_DELIVER_SM, 0);
	CHECK_EQ_INT(smpp_session_send(esme_side.s, &pdu, 1, 0), SMPP_SESS_ESTATE); /* not bound */
	bind_pair(SMPP_BIND_TRANSMITTER, 0);
	nev = 0;
	smpp_pdu_init(&pdu, SMPP_DELIVER_SM, 0);
	CHECK_EQ_INT(smpp_session_send(esme_side.s, &pdu, 42, 0), 0);
	pump(&esme_side, &smsc_side, 0);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_REQUEST);
	CHECK_EQ_INT(evs[0].command_id, SMPP_DELIVER_SM);
	CHECK_EQ_INT(evs[0].needs_response, 1);
	smpp_pdu_init(&pdu, SMPP_DELIVER_SM_RESP, evs[0].sequence);
	CHECK_EQ_INT(smpp_session_respond(smsc_side.s, &pdu), 0);
	pump(&smsc_side, &esme_side, 0);
	CHECK_EQ_INT(evs[1].kind, SMPP_EV_RESPONSE);
	CHECK_EQ_INT(evs[1].cookie, 42);
	/* the SMSC's own deliver_sm to a transmitter stays refused */
	smpp_pdu_init(&pdu, SMPP_DELIVER_SM, 0);
	CHECK_EQ_INT(smpp_session_send(smsc_side.s, &pdu, 2, 0), SMPP_SESS_ESTATE);

	/* one end without the flag: the SMSC answers the ESME's deliver_sm
	 * with a state error, no REQUEST event */
	cs.esme_delivers = 0;
	pair_init(&ce, &cs);
	bind_pair(SMPP_BIND_TRANSMITTER, 0);
	nev = 0;
	smpp_pdu_init(&pdu, SMPP_DELIVER_SM, 0);
	CHECK_EQ_INT(smpp_session_send(esme_side.s, &pdu, 43, 0), 0);
	pump(&esme_side, &smsc_side, 0);
	CHECK(nev == 0 || evs[0].kind != SMPP_EV_REQUEST);
	pump(&smsc_side, &esme_side, 0);
	CHECK_EQ_INT(evs[nev - 1].kind, SMPP_EV_RESPONSE);
	CHECK_EQ_INT(evs[nev - 1].status, SMPP_ESME_RINVBNDSTS);
}

static void bound_pair(struct smpp_session_config *ce, struct smpp_session_config *cs)
{
	pair_init(ce, cs);
	bind_pair(SMPP_BIND_TRANSCEIVER, 0);
	nev = 0;
}

static int submit(uint64_t cookie, uint64_t now)
{
	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM, 0);
	pdu.source.addr = "12025550100";
	pdu.dest.addr = "13105550199";
	return smpp_session_send(esme_side.s, &pdu, cookie, now);
}

static void test_response_timeout(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	bound_pair(&ce, &cs);
	CHECK_EQ_INT(submit(1, 1000), 0);
	CHECK_EQ_INT(submit(2, 2000), 0);
	CHECK_EQ_INT(smpp_session_next_deadline(esme_side.s), 6000);
	pump(&esme_side, &smsc_side, 2000);
	uint32_t seq1 = evs[0].sequence;
	nev = 0;
	tick_all(&esme_side, 5999);
	CHECK_EQ_INT(nev, 0);
	tick_all(&esme_side, 6000);
	CHECK_EQ_INT(nev, 1);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_TIMEOUT);
	CHECK_EQ_INT(evs[0].cookie, 1);
	CHECK_EQ_INT(smpp_session_outstanding(esme_side.s), 1);
	CHECK_EQ_INT(smpp_session_next_deadline(esme_side.s), 7000);
	/* the late answer is unknown now */
	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM_RESP, seq1);
	smpp_session_respond(smsc_side.s, &pdu);
	pump(&smsc_side, &esme_side, 6500);
	CHECK_EQ_INT(nev, 2);
	CHECK_EQ_INT(evs[1].kind, SMPP_EV_UNKNOWN_RESPONSE);
	tick_all(&esme_side, 7000);
	CHECK_EQ_INT(evs[2].kind, SMPP_EV_TIMEOUT);
	CHECK_EQ_INT(evs[2].cookie, 2);
	CHECK_EQ_INT(smpp_session_outstanding(esme_side.s), 0);
	CHECK_EQ_INT(smpp_session_state(esme_side.s), SMPP_ST_BOUND_TRX);
}

static void test_enquire_link(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	ce.enquire_link_ms = 30000;
	bound_pair(&ce, &cs);
	CHECK_EQ_INT(smpp_session_next_deadline(esme_side.s), 30000);
	tick_all(&esme_side, 29999);
	CHECK_EQ_INT(first_output(&esme_side), 0);
	tick_all(&esme_side, 30000);
	CHECK_EQ_INT(first_output(&esme_side), 16);
	CHECK_EQ_INT(pdu2.command_id, SMPP_ENQUIRE_LINK);
	CHECK_EQ_INT(smpp_session_outstanding(esme_side.s), 0); /* not the caller's */
	pump(&esme_side, &smsc_side, 30001);
	CHECK_EQ_INT(first_output(&smsc_side), 16);
	CHECK_EQ_INT(pdu2.command_id, SMPP_ENQUIRE_LINK_RESP);
	pump(&smsc_side, &esme_side, 30002);
	CHECK_EQ_INT(nev, 0);
	CHECK_EQ_INT(smpp_session_next_deadline(esme_side.s), 60002);

	/* traffic postpones it */
	submit(1, 40000);
	pump(&esme_side, &smsc_side, 40000);
	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM_RESP, evs[0].sequence);
	smpp_session_respond(smsc_side.s, &pdu);
	pump(&smsc_side, &esme_side, 41000);
	CHECK_EQ_INT(smpp_session_next_deadline(esme_side.s), 71000);

	/* the peer goes silent: LINK_DEAD after the response timeout */
	nev = 0;
	tick_all(&esme_side, 71000);
	CHECK_EQ_INT(first_output(&esme_side), 16);
	drop_output(&esme_side);
	tick_all(&esme_side, 75999);
	CHECK_EQ_INT(nev, 0);
	tick_all(&esme_side, 76000);
	CHECK_EQ_INT(nev, 2);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_LINK_DEAD);
	CHECK_EQ_INT(evs[1].kind, SMPP_EV_CLOSED);
	CHECK_EQ_INT(evs[1].reason, SMPP_CLOSE_LINK_DEAD);
	CHECK_EQ_INT(smpp_session_state(esme_side.s), SMPP_ST_CLOSED);
}

static void test_idle_timeout(void)
{
	struct smpp_session_config cs = config(SMPP_ROLE_SMSC);
	cs.idle_timeout_ms = 500;
	pair_init(&cs, &cs);
	CHECK_EQ_INT(smpp_session_next_deadline(smsc_side.s), 500);
	tick_all(&smsc_side, 499);
	CHECK_EQ_INT(nev, 0);
	tick_all(&smsc_side, 500);
	CHECK_EQ_INT(nev, 1);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_CLOSED);
	CHECK_EQ_INT(evs[0].reason, SMPP_CLOSE_IDLE);
	/* once bound, idleness no longer closes */
	struct smpp_session_config ce = config(SMPP_ROLE_ESME);
	bound_pair(&ce, &cs);
	tick_all(&smsc_side, 100000);
	CHECK_EQ_INT(nev, 0);
	CHECK_EQ_INT(smpp_session_next_deadline(smsc_side.s), UINT64_MAX);
}

static void test_unbind_from_esme(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	bound_pair(&ce, &cs);
	submit(11, 0);
	submit(12, 0);
	pump(&esme_side, &smsc_side, 0);
	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM_RESP, evs[1].sequence);
	smpp_session_respond(smsc_side.s, &pdu);
	nev = 0;
	CHECK_EQ_INT(smpp_session_unbind(esme_side.s, 0), 0);
	CHECK_EQ_INT(smpp_session_state(esme_side.s), SMPP_ST_UNBINDING);
	CHECK_EQ_INT(submit(13, 0), SMPP_SESS_ESTATE);
	pump(&esme_side, &smsc_side, 0);
	CHECK_EQ_INT(nev, 2);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_UNBOUND);
	CHECK_EQ_INT(evs[1].kind, SMPP_EV_CLOSED);
	CHECK_EQ_INT(evs[1].reason, SMPP_CLOSE_UNBOUND);
	CHECK_EQ_INT(smpp_session_state(smsc_side.s), SMPP_ST_CLOSED);
	/* responses still flow to the unbinding side, then unbind_resp */
	pump(&smsc_side, &esme_side, 0);
	CHECK_EQ_INT(evs[2].kind, SMPP_EV_RESPONSE);
	CHECK_EQ_INT(evs[2].cookie, 12);
	CHECK_EQ_INT(evs[3].kind, SMPP_EV_UNBOUND);
	CHECK_EQ_INT(evs[4].kind, SMPP_EV_ABORTED);
	CHECK_EQ_INT(evs[4].cookie, 11);
	CHECK_EQ_INT(evs[5].kind, SMPP_EV_CLOSED);
	CHECK_EQ_INT(evs[5].reason, SMPP_CLOSE_UNBOUND);
	CHECK_EQ_INT(nev, 6);
	tick_all(&smsc_side, 0);
	tick_all(&esme_side, 0);
	CHECK_EQ_INT(nev, 6);
}

static void test_unbind_from_smsc(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	bound_pair(&ce, &cs);
	submit(21, 0);
	submit(22, 0);
	pump(&esme_side, &smsc_side, 0);
	CHECK_EQ_INT(nev, 2);
	nev = 0;
	CHECK_EQ_INT(smpp_session_unbind(smsc_side.s, 0), 0);
	pump(&smsc_side, &esme_side, 0);
	CHECK_EQ_INT(nev, 4);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_UNBOUND);
	CHECK_EQ_INT(evs[1].kind, SMPP_EV_ABORTED);
	CHECK_EQ_INT(evs[1].cookie, 21);
	CHECK_EQ_INT(evs[2].kind, SMPP_EV_ABORTED);
	CHECK_EQ_INT(evs[2].cookie, 22);
	CHECK_EQ_INT(evs[3].kind, SMPP_EV_CLOSED);
	CHECK_EQ_INT(first_output(&esme_side), 16);
	CHECK_EQ_INT(pdu2.command_id, SMPP_UNBIND_RESP);
	pump(&esme_side, &smsc_side, 0);
	CHECK_EQ_INT(nev, 6);
	CHECK_EQ_INT(evs[4].kind, SMPP_EV_UNBOUND);
	CHECK_EQ_INT(evs[5].kind, SMPP_EV_CLOSED);
	CHECK_EQ_INT(evs[5].reason, SMPP_CLOSE_UNBOUND);
}

/* Our unbind unanswered: CLOSED after the response timeout. */
static void test_unbind_timeout(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	bound_pair(&ce, &cs);
	CHECK_EQ_INT(smpp_session_unbind(smsc_side.s, 0), 0);
	CHECK_EQ_INT(smpp_session_next_deadline(smsc_side.s), 5000);
	tick_all(&smsc_side, 4999);
	CHECK_EQ_INT(nev, 0);
	tick_all(&smsc_side, 5000);
	CHECK_EQ_INT(nev, 1);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_CLOSED);
	CHECK_EQ_INT(evs[0].reason, SMPP_CLOSE_UNBIND_TIMEOUT);
}

static void test_byte_by_byte(void)
{
	struct smpp_session_config cs = config(SMPP_ROLE_SMSC);
	pair_init(&cs, &cs);
	smpp_pdu_init(&pdu, SMPP_BIND_TRANSCEIVER, 3);
	pdu.system_id = "app1";
	size_t n = encode(&pdu);
	smpp_pdu_init(&pdu, SMPP_ENQUIRE_LINK, 4);
	size_t m = encode(&pdu); /* overwrites wire: rebuild the bind after */
	uint8_t both[256];
	memcpy(both + 0, wire, m);
	smpp_pdu_init(&pdu, SMPP_BIND_TRANSCEIVER, 3);
	pdu.system_id = "app1";
	encode(&pdu);
	memmove(both + n, both, m);
	memcpy(both, wire, n);
	for (size_t i = 0; i < n + m; i++) {
		inject(&smsc_side, both + i, 1);
		CHECK_EQ_INT(feed_pending(&smsc_side, 0), 0);
		if (i == n - 2)
			CHECK_EQ_INT(nev, 0);
	}
	CHECK_EQ_INT(nev, 1);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_BIND_REQUEST);
	CHECK_EQ_INT(first_output(&smsc_side), 16);
	CHECK_EQ_INT(pdu2.command_id, SMPP_ENQUIRE_LINK_RESP);
	CHECK_EQ_INT(pdu2.sequence_number, 4);
	CHECK_EQ_INT(smsc_side.in_len, 0);
}

static void test_malformed(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	bound_pair(&ce, &cs);

	/* unknown command_id */
	static const uint8_t unknown[] = { 0, 0, 0, 16, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 9 };
	inject(&smsc_side, unknown, sizeof unknown);
	feed_pending(&smsc_side, 0);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_PROTOCOL_ERROR);
	CHECK_EQ_INT(evs[0].status, SMPP_ESME_RINVCMDID);
	CHECK_EQ_INT(first_output(&smsc_side), 16);
	CHECK_EQ_INT(pdu2.command_id, SMPP_GENERIC_NACK);
	CHECK_EQ_INT(pdu2.command_status, SMPP_ESME_RINVCMDID);
	CHECK_EQ_INT(pdu2.sequence_number, 9);
	drop_output(&smsc_side);

	/* enquire_link with a body: command_length wrong for the command */
	static const uint8_t longel[] = { 0, 0, 0, 17, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 10, 0 };
	inject(&smsc_side, longel, sizeof longel);
	feed_pending(&smsc_side, 0);
	CHECK_EQ_INT(first_output(&smsc_side), 16);
	CHECK_EQ_INT(pdu2.command_id, SMPP_GENERIC_NACK);
	CHECK_EQ_INT(pdu2.command_status, SMPP_ESME_RINVCMDLEN);
	drop_output(&smsc_side);

	/* submit_sm whose source_addr is longer than 21 octets */
	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM, 0x55);
	pdu.source.addr = "1234567890123456789012345";
	size_t n = 0;
	{
		/* the encoder refuses it, so patch a short one on the wire */
		pdu.source.addr = "12345678901234567890";
		n = encode(&pdu);
		uint8_t bad[512];
		size_t at = 16 + 1 + 2; /* service_type "", ton, npi */
		memcpy(bad, wire, at);
		memcpy(bad + at, "123456789012345678901234", 25);
		memcpy(bad + at + 25, wire + at + 21, n - at - 21);
		n = n + 4;
		smpp_put_u32(bad, (uint32_t)n);
		nev = 0;
		inject(&smsc_side, bad, n);
	}
	feed_pending(&smsc_side, 0);
	CHECK_EQ_INT(nev, 1);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_PROTOCOL_ERROR);
	CHECK_EQ_INT(evs[0].status, SMPP_ESME_RINVSRCADR);
	CHECK_EQ_INT(first_output(&smsc_side), 16);
	CHECK_EQ_INT(pdu2.command_id, SMPP_SUBMIT_SM_RESP);
	CHECK_EQ_INT(pdu2.command_status, SMPP_ESME_RINVSRCADR);
	CHECK_EQ_INT(pdu2.sequence_number, 0x55);
	CHECK_EQ_INT(smpp_session_pending_in(smsc_side.s), 0);
	drop_output(&smsc_side);
	CHECK_EQ_INT(smpp_session_state(smsc_side.s), SMPP_ST_BOUND_TRX);

	/* impossible command_length: nack, then CLOSED */
	static const uint8_t huge[] = { 0x7f, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 11, 1, 2 };
	nev = 0;
	submit(31, 0);
	pump(&esme_side, &smsc_side, 0);
	nev = 0;
	inject(&esme_side, huge, sizeof huge);
	feed_pending(&esme_side, 0);
	CHECK_EQ_INT(esme_side.in_len, 0);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_PROTOCOL_ERROR);
	CHECK_EQ_INT(evs[0].status, SMPP_ESME_RINVCMDLEN);
	CHECK_EQ_INT(smpp_session_state(esme_side.s), SMPP_ST_CLOSED);
	CHECK_EQ_INT(evs[1].kind, SMPP_EV_ABORTED);
	CHECK_EQ_INT(evs[1].cookie, 31);
	CHECK_EQ_INT(evs[2].kind, SMPP_EV_CLOSED);
	CHECK_EQ_INT(evs[2].reason, SMPP_CLOSE_FRAMING);
	CHECK_EQ_INT(first_output(&esme_side), 16);
	CHECK_EQ_INT(pdu2.command_id, SMPP_GENERIC_NACK);
	CHECK_EQ_INT(pdu2.command_status, SMPP_ESME_RINVCMDLEN);
	CHECK_EQ_INT(pdu2.sequence_number, 11);
}

/* generic_nack and mismatched responses for our requests */
static void test_nack_and_mismatch(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	bound_pair(&ce, &cs);
	submit(41, 0);
	uint32_t s1 = pdu.sequence_number;
	submit(42, 0);
	uint32_t s2 = pdu.sequence_number;
	drop_output(&esme_side);
	smpp_pdu_init(&pdu, SMPP_GENERIC_NACK, s1);
	pdu.command_status = SMPP_ESME_RSYSERR;
	inject(&esme_side, wire, encode(&pdu));
	smpp_pdu_init(&pdu, SMPP_QUERY_SM_RESP, s2);
	inject(&esme_side, wire, encode(&pdu));
	feed_pending(&esme_side, 0);
	CHECK_EQ_INT(nev, 2);
	CHECK_EQ_INT(evs[0].kind, SMPP_EV_RESPONSE);
	CHECK_EQ_INT(evs[0].cookie, 41);
	CHECK_EQ_INT(evs[0].command_id, SMPP_SUBMIT_SM);
	CHECK_EQ_INT(evs[0].status, SMPP_ESME_RSYSERR);
	CHECK_EQ_INT(evs[1].kind, SMPP_EV_PROTOCOL_ERROR);
	CHECK_EQ_INT(evs[1].matched, 1);
	CHECK_EQ_INT(evs[1].cookie, 42);
	CHECK_EQ_INT(smpp_session_outstanding(esme_side.s), 0);
}

static void test_throttle(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	cs.in_window = 2;
	bound_pair(&ce, &cs);
	for (uint64_t c = 1; c <= 3; c++)
		submit(c, 0);
	pump(&esme_side, &smsc_side, 0);
	CHECK_EQ_INT(nev, 2);
	CHECK_EQ_INT(smpp_session_pending_in(smsc_side.s), 2);
	pump(&smsc_side, &esme_side, 0);
	CHECK_EQ_INT(nev, 3);
	CHECK_EQ_INT(evs[2].kind, SMPP_EV_RESPONSE);
	CHECK_EQ_INT(evs[2].cookie, 3);
	CHECK_EQ_INT(evs[2].status, SMPP_ESME_RTHROTTLED);
	/* one answer frees a place */
	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM_RESP, evs[0].sequence);
	smpp_session_respond(smsc_side.s, &pdu);
	submit(4, 0);
	pump(&esme_side, &smsc_side, 0);
	CHECK_EQ_INT(evs[3].kind, SMPP_EV_REQUEST);
}

static void test_backpressure(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	ce.out_cap = 256;
	cs.out_cap = 64;
	ce.window = 100;
	bound_pair(&ce, &cs);
	int sent = 0, rc;
	while ((rc = submit((uint64_t)sent, 0)) == 0)
		sent++;
	CHECK_EQ_INT(rc, SMPP_SESS_EBUFFER);
	CHECK(sent >= 2 && sent < 10);
	CHECK_EQ_INT(smpp_session_outstanding(esme_side.s), sent);
	const uint8_t *p;
	size_t n;
	smpp_session_output(esme_side.s, &p, &n);
	smpp_session_output_consumed(esme_side.s, n / 2); /* a partial write */
	CHECK_EQ_INT(submit(99, 0), 0);                  /* compaction makes room */

	/* the SMSC's automatic answers stop at a full buffer, nothing lost */
	drop_output(&esme_side);
	smpp_pdu_init(&pdu, SMPP_ENQUIRE_LINK, 0);
	for (uint32_t i = 1; i <= 10; i++) {
		pdu.sequence_number = 1000 + i;
		inject(&smsc_side, wire, encode(&pdu));
	}
	CHECK_EQ_INT(feed_pending(&smsc_side, 0), SMPP_SESS_EBUFFER);
	CHECK_EQ_INT(smsc_side.in_len, 6 * 16);
	uint32_t next = 1001;
	int ok = 1;
	for (int round = 0; round < 5 && smsc_side.in_len; round++) {
		smpp_session_output(smsc_side.s, &p, &n);
		for (size_t off = 0; off + 16 <= n; off += 16)
			ok &= smpp_get_u32(p + off + 12) == next++;
		smpp_session_output_consumed(smsc_side.s, n);
		feed_pending(&smsc_side, 0);
	}
	smpp_session_output(smsc_side.s, &p, &n);
	for (size_t off = 0; off + 16 <= n; off += 16)
		ok &= smpp_get_u32(p + off + 12) == next++;
	CHECK(ok);
	CHECK_EQ_INT(next, 1011);
}

static void test_wraparound(void)
{
	struct smpp_session_config ce = config(SMPP_ROLE_ESME), cs = config(SMPP_ROLE_SMSC);
	bound_pair(&ce, &cs);
	smpp_session_set_next_sequence(esme_side.s, 0x7FFFFFFE);
	for (uint64_t c = 1; c <= 3; c++)
		submit(c, 0);
	pump(&esme_side, &smsc_side, 0);
	CHECK_EQ_INT(evs[0].sequence, 0x7FFFFFFE);
	CHECK_EQ_INT(evs[1].sequence, 0x7FFFFFFF);
	CHECK_EQ_INT(evs[2].sequence, 1);
	for (int i = 2; i >= 0; i--) {
		smpp_pdu_init(&pdu, SMPP_SUBMIT_SM_RESP, evs[i].sequence);
		smpp_session_respond(smsc_side.s, &pdu);
	}
	pump(&smsc_side, &esme_side, 0);
	CHECK_EQ_INT(evs[3].cookie, 3);
	CHECK_EQ_INT(evs[4].cookie, 2);
	CHECK_EQ_INT(evs[5].cookie, 1);
	/* a slot still taken is skipped, never shared */
	smpp_session_set_next_sequence(esme_side.s, 5);
	submit(6, 0);
	uint32_t held = pdu.sequence_number;
	smpp_session_set_next_sequence(esme_side.s, held);
	submit(7, 0);
	CHECK(pdu.sequence_number != held);
}

static void test_init_limits(void)
{
	struct smpp_session_config c = config(SMPP_ROLE_SMSC);
	c.window = 0;
	CHECK_EQ_INT(smpp_session_size(&c), 0);
	c.window = SMPP_SESSION_MAX_WINDOW + 1;
	CHECK_EQ_INT(smpp_session_size(&c), 0);
	c.window = 1024;
	size_t n = smpp_session_size(&c);
	CHECK(n > 64 * 1024);
	void *m = malloc(n);
	CHECK(smpp_session_init(m, n - 1, &c, 0) == NULL);
	CHECK(smpp_session_init((uint8_t *)m + 1, n - 1, &c, 0) == NULL);
	CHECK(smpp_session_init(m, n, &c, 0) != NULL);
	free(m);
	CHECK_EQ_STR(smpp_session_strerror(SMPP_SESS_EWINDOW), "window full");
	CHECK_EQ_STR(smpp_state_name(SMPP_ST_BOUND_TRX), "BOUND_TRX");
	CHECK_EQ_STR(smpp_event_name(SMPP_EV_CLOSED), "CLOSED");
}

int main(void)
{
	RUN(test_matrix);
	RUN(test_closed_ignores_input);
	RUN(test_send_matrix);
	RUN(test_bind_submit_window);
	RUN(test_bind_rejected);
	RUN(test_outbind);
	RUN(test_esme_delivers);
	RUN(test_response_timeout);
	RUN(test_enquire_link);
	RUN(test_idle_timeout);
	RUN(test_unbind_from_esme);
	RUN(test_unbind_from_smsc);
	RUN(test_unbind_timeout);
	RUN(test_byte_by_byte);
	RUN(test_malformed);
	RUN(test_nack_and_mismatch);
	RUN(test_throttle);
	RUN(test_backpressure);
	RUN(test_wraparound);
	RUN(test_init_limits);
	free(esme_side.mem);
	free(smsc_side.mem);
	return unit_done();
}
