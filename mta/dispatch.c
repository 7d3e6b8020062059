/*
 * The dispatcher: queued messages to carriers, carrier answers and
 * receipts back into the store.
 *
 * Lanes are the store's queue partitions (one per campaign).  When a
 * carrier bind has room, the dispatcher takes lanes in turn, claims due
 * messages from the store, picks a route and carrier session, and sends
 * each message as one or more submit_sm.  A message in flight is a
 * `flight`: when every part is answered it is marked SUBMITTED with the
 * carrier's ids (the receipt key); a temporary error or a timeout requeues
 * it with exponential backoff until its validity ends; a permanent error
 * ends it and queues an UNDELIV/REJECTD receipt for the application.
 *
 * Receipts from a carrier are correlated through the carrier id.  A
 * receipt may overtake the commit of the SUBMITTED mark (a fast carrier),
 * so ids of flights whose mark is not yet on disk are also kept in memory
 * and looked up first.  The carrier's deliver_sm is answered only once the
 * receipt is committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "base/hash.h"
#include "mta/compliance.h"
#include "mta/fairq.h"
#include "mta/idmap.h"
#include "mta/log.h"
#include "mta/hugemem.h"
#include "mta/metrics.h"
#include "mta/pacing.h"
#include "mta/relay.h"
#include "policy/policy.h"
#include "smpp/coding.h"
#include "smpp/receipt.h"
#include "smpp/segment.h"

#define MAX_PARTS 16
#define CLAIM_BATCH 64
#define RETRY_BASE_MS 1000
#define RETRY_MAX_MS (10 * 60 * 1000)
#define NOROUTE_RETRY_MS 5000
#define THROTTLE_RETRY_MS 1000
#define CARRIER_FULL_WAIT_US 20000 /* a route's binds are all busy */

/* What a sent message's receipt needs of it, in its flight and after. */
struct sent {
	struct account_rt *account;
	int64_t validity_ms, created_ms;
	uint16_t attempts;
	uint8_t registered_delivery;
	uint8_t src_ton, src_npi, dst_ton, dst_npi;
	char src[22], dst[22];
};

struct flight {
	uint64_t id;
	uint32_t index;      /* in dispatch->flights */
	struct sent msg;
	const struct carrier_rt *carrier;
	char lane[STORE_STR_MAX + 1];
	uint8_t parts, answered;
	uint32_t error;      /* first failing status, 0: none */
	int kind;            /* the worst answer: see answer_kind() */
	int marked;          /* SUBMITTED mark sent, awaiting commit */
	int finalized;       /* a receipt's final mark was sent before that */
	uint64_t sent_us;    /* relay_turn_us() when its parts went */
	char ids[MAX_PARTS][SMPP_RECEIPT_ID_MAX + 1]; /* carrier keys */
	struct flight *next_free;
};

/*
 * Receipts mostly come back after the SUBMITTED mark has committed and the
 * flight has ended.  The last receipt_cache (configuration) single-part
 * messages sent keep here what a receipt needs, so that matching one is a
 * hash lookup rather than two store reads on the loop (the carrier-id
 * map, then the record).  An entry goes when a receipt finalizes its
 * message, so that a repeated receipt sees the store's final state, or
 * when a newer message takes its slot; the store answers for everything
 * older, and after a restart.
 */
#define RECENT_BIT 0x80000000u

struct recent {
	uint64_t id;         /* 0: a free slot */
	uint64_t cid;        /* cid_key() of the carrier's id: by_carrier_id's key */
	uint64_t check;      /* check_key() of it: tells it from another with that cid */
	struct sent msg;
	const struct carrier_rt *carrier;
	const char *lane;    /* the pacing lane's name: lives until exit */
};

struct dispatch {
	/* messages whose final mark is submitted, not committed: the receipt
	 * of a long message's other part must not queue a second receipt */
	struct idmap finalizing;
	/* carrier id keys -> flight index, or RECENT_BIT | index in recent:
	 * one lookup finds a receipt's message in memory, wherever it is */
	struct idmap by_carrier_id;
	/* sent and committed messages still awaiting a receipt (see above) */
	struct recent *recent;
	uint32_t recent_cap, recent_next;
	struct pacing *pacing;
	struct event *timer;
	struct flight **flights;
	uint32_t nflights;
	struct flight *free_flights;
	uint16_t concat_ref;
	uint8_t claim_buf[CLAIM_BATCH * STORE_MSG_MAX];
	struct store_msg claimed[CLAIM_BATCH];
	uint8_t staged_buf[STORE_MSG_MAX];
	struct store_msg staged;
};

/* --- lanes ------------------------------------------------------------ */

/* Lanes with work are ready (due now) or waiting (due later, or held by a
 * limit until blocked_until); see pacing.h. */
static void lane_wake(struct dispatch *d, struct pacing_lane *l, int64_t now)
{
	struct fairq *q = pacing_fairq(d->pacing);
	if (l->blocked_until > now) {
		fairq_mark_waiting(q, l->id, l->blocked_until);
		return;
	}
	if (l->staged_n || (l->due_ms >= 0 && l->due_ms * 1000 <= now)) {
		fairq_mark_ready(q, l->id);
		return;
	}
	if (l->due_ms < 0) {
		fairq_mark_idle(q, l->id);
		return;
	}
	fairq_mark_waiting(q, l->id, l->due_ms * 1000);
}

void dispatch_lane_has_work(struct relay *r, const char *name, int64_t due_ms)
{
	struct pacing_lane *l = pacing_lane(r->dispatch->pacing, name, 1);
	if (!l)
		return;
	if (l->due_ms < 0 || due_ms < l->due_ms)
		l->due_ms = due_ms;
	lane_wake(r->dispatch, l, relay_now_us());
	dispatch_kick(r);
}

const char *dispatch_lane_name(struct relay *r, const char *name)
{
	struct pacing_lane *l = pacing_lane(r->dispatch->pacing, name, 1);
	return l ? l->name : NULL;
}

static int seed_lane(const char *name, void *arg)
{
	struct relay *r = arg;
	struct pacing_lane *l = pacing_lane(r->dispatch->pacing, name, 1);
	if (l) {
		l->due_ms = 0;
		lane_wake(r->dispatch, l, relay_now_us());
	}
	return 0;
}

/* --- flights ---------------------------------------------------------- */

static struct flight *flight_new(struct dispatch *d)
{
	struct flight *f = d->free_flights;
	if (f) {
		d->free_flights = f->next_free;
		uint32_t index = f->index;
		/* not the carrier ids (a kilobyte, mostly unused): the parts
		 * sent get theirs emptied when they go (dispatch_one) */
		memset(f, 0, offsetof(struct flight, ids));
		f->index = index;
		return f;
	}
	struct flight **grown = realloc(d->flights, (d->nflights + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	d->flights = grown;
	f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->index = d->nflights;
	d->flights[d->nflights++] = f;
	return f;
}

static uint64_t cid_key(const struct carrier_rt *cr, const char *key)
{
	return idmap_hash(key, (uint64_t)cr->index + 1);
}

/* A second 64-bit hash of a carrier id, from another basis: a recent
 * entry keeps it instead of the id's 65 bytes (the two agreeing for two
 * live ids is a 2^-128 event). */
static uint64_t check_key(const char *key)
{
	return hash_finish(fnv1a_str(FNV1A_BASIS ^ 0x9e3779b97f4a7c15ull, key));
}

static void flight_free(struct dispatch *d, struct flight *f)
{
	for (unsigned p = 0; f->carrier && p < f->answered && p < MAX_PARTS; p++)
		if (f->ids[p][0])
			idmap_del_if(&d->by_carrier_id, cid_key(f->carrier, f->ids[p]), f->index);
	f->id = 0;
	f->next_free = d->free_flights;
	d->free_flights = f;
}

static struct flight *flight_of(struct dispatch *d, uint64_t cookie)
{
	uint32_t index = (uint32_t)(cookie >> 8);
	if (index >= d->nflights)
		return NULL;
	struct flight *f = d->flights[index];
	return f->id ? f : NULL;
}

/* A receipt that overtook the commit of its SUBMITTED mark. */
static struct flight *flight_of_index(struct dispatch *d, uint32_t index,
    const struct carrier_rt *cr, const char *key)
{
	if (index >= d->nflights)
		return NULL;
	struct flight *f = d->flights[index];
	if (!f->id || f->carrier != cr)
		return NULL;
	for (unsigned p = 0; p < f->answered && p < MAX_PARTS; p++)
		if (strcmp(f->ids[p], key) == 0)
			return f;
	return NULL;
}

/* A receipt after that commit, while its message is among the recent. */
static const struct recent *recent_of_slot(const struct dispatch *d, uint32_t slot,
    const struct carrier_rt *cr, const char *key)
{
	if (!d->recent || slot >= d->recent_cap)
		return NULL;
	const struct recent *e = &d->recent[slot];
	return e->id && e->carrier == cr && e->check == check_key(key) ? e : NULL;
}

static void recent_drop(struct dispatch *d, uint32_t slot)
{
	struct recent *e = &d->recent[slot];
	idmap_del_if(&d->by_carrier_id, e->cid, slot | RECENT_BIT);
	e->id = 0;
}

/* A flight whose SUBMITTED mark committed, kept for its receipt: its
 * carrier id now leads to the recent entry (flight_free then leaves it). */
static void recent_put(struct relay *r, const struct flight *f)
{
	struct dispatch *d = r->dispatch;
	if (f->parts != 1 || !f->ids[0][0] || !f->carrier || f->finalized || !d->recent_cap)
		return;
	if (!d->recent && !(d->recent = huge_calloc(d->recent_cap, sizeof *d->recent)))
		return; /* the store answers instead */
	const char *lane = dispatch_lane_name(r, f->lane);
	if (!lane)
		return;
	uint32_t slot = d->recent_next;
	d->recent_next = slot + 1 == d->recent_cap ? 0 : slot + 1;
	if (d->recent[slot].id)
		recent_drop(d, slot);
	struct recent *e = &d->recent[slot];
	uint64_t cid = cid_key(f->carrier, f->ids[0]);
	if (idmap_put(&d->by_carrier_id, cid, slot | RECENT_BIT) != 0)
		return;
	e->id = f->id;
	e->cid = cid;
	e->msg = f->msg;
	e->carrier = f->carrier;
	e->lane = lane;
	e->check = check_key(f->ids[0]);
}

static int finalizing_has(const struct idmap *fz, uint64_t id)
{
	uint32_t unused;
	return idmap_get(fz, id, &unused);
}

static int finalizing_add(struct idmap *fz, uint64_t id)
{
	return idmap_put(fz, id, 0);
}

static void finalizing_del(struct idmap *fz, uint64_t id)
{
	idmap_del(fz, id);
}

/* --- store writes ----------------------------------------------------- */


/* What a receipt needs of m, sent or about to be, for account a. */
static void sent_of_msg(const struct store_msg *m, struct account_rt *a, struct sent *s)
{
	*s = (struct sent){ .account = a, .validity_ms = m->validity_ms,
		.created_ms = m->created_ms, .attempts = m->attempts,
		.registered_delivery = m->registered_delivery,
		.src_ton = m->src_ton, .src_npi = m->src_npi,
		.dst_ton = m->dst_ton, .dst_npi = m->dst_npi };
	copy_field(s->src, sizeof s->src, m->src_addr);
	copy_field(s->dst, sizeof s->dst, m->dst_addr);
}

static void queue_receipt(struct relay *r, uint64_t id, const struct sent *s,
    enum smpp_stat stat, uint32_t err, struct store_op *op, uint8_t *buf)
{
	struct dlr d = {
		.kind = DLR_RECEIPT, .msg_id = id, .stat = (uint8_t)stat, .err = err,
		.submit_ms = s->created_ms, .done_ms = relay_wall_ms(),
		/* a receipt travels from the handset back to the sender */
		.src_ton = s->dst_ton, .src_npi = s->dst_npi, .src = s->dst,
		.dst_ton = s->src_ton, .dst_npi = s->src_npi, .dst = s->src,
	};
	size_t len = 0;
	memset(op, 0, sizeof *op);
	if (dlr_encode(&d, buf, DLR_MAX, &len) != 0)
		return;
	op->kind = STORE_OP_RECEIPT_ADD;
	op->cookie = NULL;
	op->u.receipt.account = s->account ? s->account->cfg->system_id : "";
	op->u.receipt.data = buf;
	op->u.receipt.len = len;
	(void)r;
}

static int wants_receipt(uint8_t registered_delivery, int success)
{
	unsigned kind = registered_delivery & 3;
	return kind == 1 || (kind == 2 && !success);
}

/* Final state without a carrier receipt: expiry or a permanent error. */
static void finish(struct relay *r, struct flight *f, enum store_state state,
    enum smpp_stat stat, uint32_t err)
{
	struct store_op ops[2];
	uint8_t buf[DLR_MAX];
	size_t n = 0;
	ops[n] = (struct store_op){ .kind = STORE_OP_MARK, .id = f->id };
	ops[n].u.mark.state = state;
	ops[n].u.mark.error = err;
	n++;
	if (f->msg.account && f->msg.account->cfg->receipts && wants_receipt(f->msg.registered_delivery, 0)) {
		queue_receipt(r, f->id, &f->msg, stat, err, &ops[n], buf);
		if (ops[n].kind) {
			/* when it is committed, the account's receivers get it */
			struct pending *p = pending_get(r, PENDING_RECEIPT_IN);
			if (p) {
				p->conn = (struct conn_ref){ UINT32_MAX, 0 };
				p->account = f->msg.account;
				ops[n].cookie = p;
			}
			n++;
		}
	}
	char id[STORE_MSGID_LEN + 1];
	store_msgid_format(f->id, id);
	int rc = store_submit(r->store, ops, n);
	if (rc != 0) {
		log_error("dispatch", "event=store_submit_failed op=final id=%s error=\"%s\"", id,
		    store_strerror(rc));
		if (n > 1)
			pending_put(ops[1].cookie);
	}
	metrics_final(r->metrics, f->lane, state);
	log_info("dispatch", "event=final id=%s state=%s error=0x%08x", id, store_state_name(state), err);
}

static int64_t retry_delay(uint16_t attempts)
{
	int64_t wait = RETRY_BASE_MS;
	for (unsigned i = 1; i < attempts && wait < RETRY_MAX_MS; i++)
		wait *= 2;
	if (wait > RETRY_MAX_MS)
		wait = RETRY_MAX_MS;
	return wait / 2 + random() % (wait / 2 + 1);
}

static void requeue(struct relay *r, struct flight *f, int64_t delay_ms, int count_attempt,
    uint32_t err)
{
	int64_t due = relay_wall_ms() + delay_ms;
	if (f->msg.validity_ms && due > f->msg.validity_ms) {
		finish(r, f, STORE_EXPIRED, SMPP_STAT_EXPIRED, err);
		return;
	}
	/*
	 * The lane learns of the message once the mark is committed: a claim
	 * before that would not see it, and would report the lane empty.
	 */
	struct pending *p = pending_get(r, PENDING_REQUEUE);
	struct store_op op = { .kind = STORE_OP_MARK, .id = f->id, .cookie = p };
	op.u.mark.state = STORE_QUEUED;
	op.u.mark.due_ms = due;
	op.u.mark.error = err;
	op.u.mark.no_attempt = !count_attempt;
	if (p) {
		p->lane = dispatch_lane_name(r, f->lane);
		p->due_ms = due;
	}
	int rc = store_submit(r->store, &op, 1);
	if (rc != 0) {
		char id[STORE_MSGID_LEN + 1];
		store_msgid_format(f->id, id);
		log_error("dispatch", "event=store_submit_failed op=requeue id=%s error=\"%s\"", id,
		    store_strerror(rc));
		pending_put(p);
	}
}

/* --- sending ---------------------------------------------------------- */

static int can_submit(const struct conn *c)
{
	enum smpp_state st = smpp_session_state(c->sess);
	return c->bound && (st == SMPP_ST_BOUND_TX || st == SMPP_ST_BOUND_TRX);
}

/* How many of want submits a rate limiter lets through now. */
static unsigned gcra_tokens(const struct thr_gcra *g, unsigned want, int64_t now)
{
	struct thr_gcra probe = *g;
	unsigned n = 0;
	while (n < want && thr_gcra_try_take(&probe, 1, now))
		n++;
	return n;
}

/* Submits the carrier's max_mps lets through right now (up to want). */
static unsigned carrier_tokens(const struct carrier_rt *cr, unsigned want)
{
	return cr->limited ? gcra_tokens(&cr->mps, want, relay_now_us()) : want;
}

/* Submits one bind's window has room for. */
static unsigned window_room(const struct conn *c)
{
	if (!can_submit(c))
		return 0;
	uint32_t out = smpp_session_outstanding(c->sess);
	uint32_t window = (uint32_t)c->carrier->cfg->window;
	return out < window ? window - out : 0;
}

/* Submits one bind may take now: its window, then its own rate. */
static unsigned bind_room(const struct conn *c)
{
	unsigned room = window_room(c);
	return c->bind_limited ? gcra_tokens(&c->bind_rate, room, relay_now_us()) : room;
}

/* What kept the last busy route from taking a message (for metrics). */
static enum metrics_limit busy_limit;

static int carrier_bound(const struct carrier_rt *cr)
{
	return cr->bound > 0;
}

/* A bind of the carrier that can take `need` submits now, round robin. */
static struct conn *session_with_room(struct carrier_rt *cr, unsigned need)
{
	/* carriers that are down cost one test: a failover list passes them
	 * for every message (100 of them were 1.8 us per message) */
	if (!carrier_bound(cr))
		return NULL;
	if (carrier_tokens(cr, need) < need) {
		busy_limit = METRICS_LIMIT_CARRIER_MPS;
		return NULL;
	}
	int windows_full = 1;
	for (unsigned i = 0; i < cr->n_slots; i++) {
		unsigned slot = cr->next_slot + i;	/* next_slot <= n_slots */
		if (slot >= cr->n_slots)
			slot -= cr->n_slots;
		struct conn *c = cr->sessions[slot];
		if (c && bind_room(c) >= need) {
			cr->next_slot = slot + 1;
			return c;
		}
		if (c && window_room(c) >= need)
			windows_full = 0; /* the window had room: its rate said no */
	}
	if (cr->bound)
		busy_limit = windows_full ? METRICS_LIMIT_BIND_WINDOW : METRICS_LIMIT_BIND_MPS;
	return NULL;
}

/*
 * First carrier of the route (failover order) with a bind that has room
 * for need submits.  *any_bound tells a busy route (wait a moment) from
 * one with no carrier up at all (requeue).
 */
static struct conn *pick_session(struct relay *r, const struct store_msg *m, unsigned need,
    int *any_bound)
{
	const struct config_route *rt = config_route_for(r->cfg, m->dst_addr, m->campaign);
	*any_bound = 0;
	if (!rt) {
		if (r->cfg->n_routes > 0)
			return NULL; /* routes exist and none fits: nowhere to send */
		for (size_t i = 0; i < r->cfg->n_carriers; i++) {
			*any_bound |= carrier_bound(r->carriers[i]);
			struct conn *c = session_with_room(r->carriers[i], need);
			if (c)
				return c;
		}
		return NULL;
	}
	/* in failover order; a carrier that recently left a submit unanswered
	 * only when no other has room */
	uint64_t now = relay_mono_ms();
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < rt->n_carriers; i++) {
			struct carrier_rt *cr = r->carriers[rt->carrier_index[i]];
			if ((cr->suspect_until > now) != pass)
				continue;
			*any_bound |= carrier_bound(cr);
			struct conn *c = session_with_room(cr, need);
			if (c)
				return c;
		}
	}
	return NULL;
}

static unsigned free_capacity(struct relay *r)
{
	unsigned room = 0;
	if (r->stopping)
		return 0; /* the carrier binds are draining to unbind */
	for (size_t i = 0; i < r->cfg->n_carriers; i++) {
		struct carrier_rt *cr = r->carriers[i];
		unsigned carrier_room = 0;
		if (!carrier_bound(cr))
			continue;
		for (unsigned s = 0; s < cr->n_slots; s++)
			if (cr->sessions[s])
				carrier_room += bind_room(cr->sessions[s]);
		room += carrier_tokens(cr, carrier_room);
	}
	return room;
}

/* Microseconds until a rate-limited carrier or bind has a token, or -1. */
static int64_t next_token_wait(struct relay *r)
{
	int64_t best = -1, now = relay_now_us();
	for (size_t i = 0; i < r->cfg->n_carriers; i++) {
		struct carrier_rt *cr = r->carriers[i];
		if (!carrier_bound(cr))
			continue;
		int64_t at = cr->limited ? thr_gcra_next_allowed(&cr->mps, 1, now) : now;
		int64_t bind_at = THR_NEVER; /* the first bind with a token */
		for (unsigned s = 0; s < cr->n_slots; s++) {
			const struct conn *c = cr->sessions[s];
			if (!c || !can_submit(c))
				continue;
			int64_t b = c->bind_limited ? thr_gcra_next_allowed(&c->bind_rate, 1, now) : now;
			if (b < bind_at)
				bind_at = b;
		}
		if (bind_at > at)
			at = bind_at;
		if (at != THR_NEVER && at > now && (best < 0 || at - now < best))
			best = at - now;
	}
	return best;
}

static enum smpp_form form_of(uint8_t data_coding)
{
	switch (data_coding) {
	case 0: return SMPP_FORM_GSM7;
	case 8: return SMPP_FORM_UCS2;
	default: return SMPP_FORM_OCTETS;
	}
}

static enum smpp_split_mode split_mode(int segmentation)
{
	switch (segmentation) {
	case CONFIG_SEG_UDH16: return SMPP_SPLIT_UDH16;
	case CONFIG_SEG_SAR: return SMPP_SPLIT_SAR;
	case CONFIG_SEG_PAYLOAD: return SMPP_SPLIT_PAYLOAD;
	default: return SMPP_SPLIT_UDH8;
	}
}

static void fill_submit(struct smpp_pdu *pdu, const struct store_msg *m)
{
	smpp_pdu_init(pdu, SMPP_SUBMIT_SM, 0);
	pdu->source = (struct smpp_addr){ m->src_ton, m->src_npi, m->src_addr };
	pdu->dest = (struct smpp_addr){ m->dst_ton, m->dst_npi, m->dst_addr };
	pdu->esm_class = m->esm_class;
	pdu->data_coding = m->data_coding;
	/* Always ask: the carrier's receipt is how we learn the outcome. */
	pdu->registered_delivery = 1;
}

/* Send the parts of m on c.  Returns the number of parts, or -1. */
static int send_parts(struct relay *r, struct conn *c, const struct store_msg *m,
    struct flight *f)
{
	static struct smpp_pdu pdu;
	struct smpp_part parts[MAX_PARTS];
	uint8_t buf[STORE_BODY_MAX + 8 * MAX_PARTS];
	struct smpp_tlv_store st;
	const struct config_carrier *cc = c->carrier->cfg;
	long n = 1;
	int udh_from_app = (m->esm_class & SMPP_ESM_UDHI) != 0;
	enum smpp_split_mode mode = split_mode(cc->segmentation);

	if (udh_from_app || m->body_len <= 140 ||
	    (mode == SMPP_SPLIT_PAYLOAD && m->body_len <= 65535)) {
		parts[0] = (struct smpp_part){ m->body, m->body_len, 0, m->body_len, 0, 1, 1 };
		if (m->body_len > SMPP_MAX_SM_LENGTH)
			mode = SMPP_SPLIT_PAYLOAD;
	} else {
		n = smpp_split(m->body, m->body_len, form_of(m->data_coding), mode,
		    r->dispatch->concat_ref++, parts, MAX_PARTS, buf, sizeof buf);
		if (n <= 0)
			return -1;
	}
	uint64_t now = relay_mono_ms();
	for (long i = 0; i < n; i++) {
		fill_submit(&pdu, m);
		st.used = 0;
		if (mode == SMPP_SPLIT_PAYLOAD && parts[i].len > SMPP_MAX_SM_LENGTH) {
			smpp_tlv_add(&pdu, SMPP_TLV_MESSAGE_PAYLOAD, parts[i].data, (uint16_t)parts[i].len);
		} else {
			pdu.short_message = parts[i].data;
			pdu.sm_length = (uint8_t)parts[i].len;
		}
		if (parts[i].udh_len)
			pdu.esm_class |= SMPP_ESM_UDHI;
		if (mode == SMPP_SPLIT_SAR && parts[i].total > 1) {
			smpp_tlv_add_int(&pdu, &st, SMPP_TLV_SAR_MSG_REF_NUM, parts[i].ref);
			smpp_tlv_add_int(&pdu, &st, SMPP_TLV_SAR_TOTAL_SEGMENTS, parts[i].total);
			smpp_tlv_add_int(&pdu, &st, SMPP_TLV_SAR_SEGMENT_SEQNUM, parts[i].seq);
		}
		uint64_t cookie = (uint64_t)f->index << 8 | (uint64_t)i;
		int rc = smpp_session_send(c->sess, &pdu, cookie, now);
		if (rc != 0) {
			if (i == 0)
				return -1;
			/* later parts: they count as failed answers below */
			f->parts = (uint8_t)i;
			return (int)i;
		}
	}
	return (int)n;
}

/*
 * A queued message whose recipient opted out after it was accepted is not
 * sent.  Keyword replies (no account) are the exception: they are the one
 * confirmation an opt-out earns.
 */
static int opted_out_since(struct relay *r, const struct store_msg *m)
{
	const char *campaign, *brand, *use_case;
	if (!r->policy || m->account[0] == 0)
		return 0;
	if (!compliance_optout_since(r->compliance, m->id, m->dst_addr))
		return 0; /* checked at submit, and no opt-out since */
	if (policy_campaign_of(r->policy, m->src_addr, &campaign, &brand, &use_case) != 0)
		brand = NULL;
	return compliance_blocked(r->compliance, r->policy, brand, m->dst_addr) == 1;
}

/*
 * A message queued in the day may come up at night (a carrier was down,
 * a backlog): quiet hours hold it again until the window opens.  Keyword
 * replies (no account) are answers the handset asked for and go at once.
 */
static int quiet_now(struct relay *r, const struct store_msg *m, struct flight *f)
{
	int64_t opens;
	if (!r->policy || m->account[0] == 0)
		return 0;
	if (policy_window_open(r->policy, m->campaign, m->dst_addr, relay_wall_ms() / 1000, &opens))
		return 0;
	int64_t wait_ms = opens > 0 ? opens * 1000 - relay_wall_ms() : 24 * 3600 * 1000;
	char id[STORE_MSGID_LEN + 1];
	store_msgid_format(m->id, id);
	log_info("policy", "event=defer id=%s campaign=%s to=%s rule=quiet_hours at=dispatch", id,
	    m->campaign, m->dst_addr);
	/* not an attempt; a validity that ends before the window opens expires */
	requeue(r, f, wait_ms > 0 ? wait_ms : 1000, 0, 0);
	flight_free(r->dispatch, f);
	return 1;
}

/*
 * SMS segments a message costs, however the carrier is sent it (one
 * message_payload PDU is still billed per segment).
 */
static uint32_t message_segments(const struct store_msg *m)
{
	static struct smpp_part parts[MAX_PARTS];
	static uint8_t buf[STORE_BODY_MAX + 8 * MAX_PARTS];
	if ((m->esm_class & SMPP_ESM_UDHI) || m->body_len <= 140)
		return 1; /* one part of its own, or short */
	long n = smpp_split(m->body, m->body_len, form_of(m->data_coding), SMPP_SPLIT_UDH8, 0,
	    parts, MAX_PARTS, buf, sizeof buf);
	return n > 0 ? (uint32_t)n : MAX_PARTS;
}

enum outcome {
	OUT_SENT,       /* on its way: charge the lane */
	OUT_HANDLED,    /* finished, requeued or dropped: nothing spent */
	OUT_HELD,       /* a limit or a busy route: try again at retry_at */
};

static void take_carrier(struct conn *c, unsigned parts)
{
	int64_t now = relay_now_us();
	/* pick_session saw the tokens; a multi-part message may run into debt */
	if (c->carrier->limited && !thr_gcra_try_take(&c->carrier->mps, parts, now))
		thr_gcra_restore(&c->carrier->mps,
		    thr_gcra_state(&c->carrier->mps) + (int64_t)parts * c->carrier->mps.interval);
	if (c->bind_limited && !thr_gcra_try_take(&c->bind_rate, parts, now))
		thr_gcra_restore(&c->bind_rate,
		    thr_gcra_state(&c->bind_rate) + (int64_t)parts * c->bind_rate.interval);
}

static struct flight *flight_for(struct relay *r, const struct store_msg *m)
{
	struct flight *f = flight_new(r->dispatch);
	if (!f)
		return NULL;
	f->id = m->id;
	sent_of_msg(m, relay_account(r, m->account), &f->msg);
	copy_field(f->lane, sizeof f->lane, m->lane);
	return f;
}

/* Expiry, quiet hours, an opt-out since it was queued: 1 when handled. */
static int screened_out(struct relay *r, const struct store_msg *m, struct flight *f)
{
	if (m->validity_ms && relay_wall_ms() > m->validity_ms) {
		finish(r, f, STORE_EXPIRED, SMPP_STAT_EXPIRED, 0);
		return 1;
	}
	if (quiet_now(r, m, f))
		return 1;
	if (opted_out_since(r, m)) {
		finish(r, f, STORE_REJECTED, SMPP_STAT_REJECTD, POLICY_ST_OPTED_OUT);
		return 1;
	}
	if (relay_campaign_held(r, m)) { /* paused: waits, no attempt counted */
		requeue(r, f, (int64_t)r->cfg->pause.recheck_ms, 0, 0);
		return 1;
	}
	return 0;
}

/* A lane's own limit said wait: which, for metrics. */
static void note_wait(struct relay *r, const struct pacing_lane *l)
{
	static const enum metrics_limit of[] = {
		[PACING_LIMIT_RATE] = METRICS_LIMIT_CAMPAIGN_RATE,
		[PACING_LIMIT_BRAND] = METRICS_LIMIT_BRAND_CAP,
		[PACING_LIMIT_NUMBER] = METRICS_LIMIT_NUMBER_MPS,
	};
	if (l->held_by != PACING_LIMIT_NONE)
		metrics_throttle_wait(r->metrics, l->id, of[l->held_by]);
}

static enum outcome dispatch_one(struct relay *r, struct pacing_lane *l,
    const struct store_msg *m, uint32_t *segs, int64_t *retry_at)
{
	struct dispatch *d = r->dispatch;
	struct flight *f = flight_for(r, m);
	if (!f)
		return OUT_HANDLED; /* left SUBMITTING: recovered at the next start */
	if (screened_out(r, m, f)) {
		flight_free(d, f);
		return OUT_HANDLED;
	}
	*segs = message_segments(m);
	int any_bound;
	struct conn *c = pick_session(r, m, *segs, &any_bound);
	if (!c && !any_bound) {
		requeue(r, f, NOROUTE_RETRY_MS, 0, 0);
		flight_free(d, f);
		return OUT_HANDLED;
	}
	int64_t now = relay_now_us();
	if (!c) {
		metrics_throttle_wait(r->metrics, l->id, busy_limit);
		int64_t token = next_token_wait(r);
		*retry_at = now + (token > 0 && token < CARRIER_FULL_WAIT_US ? token : CARRIER_FULL_WAIT_US);
		flight_free(d, f);
		return OUT_HELD;
	}
	if (pacing_take(d->pacing, l, r->policy, m->src_addr, *segs, now, retry_at) == 1) {
		note_wait(r, l);
		if (*retry_at == THR_NEVER) {
			/* more segments than its brand may send in a whole day */
			char id[STORE_MSGID_LEN + 1];
			store_msgid_format(m->id, id);
			log_warn("dispatch", "event=never_fits id=%s campaign=%s segments=%u", id,
			    m->campaign, *segs);
			finish(r, f, STORE_REJECTED, SMPP_STAT_REJECTD, POLICY_ST_SEGMENTS);
			flight_free(d, f);
			return OUT_HANDLED;
		}
		flight_free(d, f);
		return OUT_HELD;
	}
	f->carrier = c->carrier;
	int parts = send_parts(r, c, m, f);
	if (parts < 0) {
		requeue(r, f, THROTTLE_RETRY_MS, 0, 0);
		flight_free(d, f);
		return OUT_HANDLED;
	}
	take_carrier(c, (unsigned)parts);
	f->parts = (uint8_t)parts;
	for (int p = 0; p < parts && p < MAX_PARTS; p++)
		f->ids[p][0] = '\0'; /* answers may come in any order */
	f->sent_us = relay_turn_us();
	metrics_carrier_submits(r->metrics, c->carrier, (unsigned)parts);
	conn_flush(c);
	conn_request_sent(c);
	return OUT_SENT;
}

/* A staged message as the store has it now; NULL when it is gone. */
static const struct store_msg *load_staged(struct relay *r, struct pacing_lane *l)
{
	struct dispatch *d = r->dispatch;
	while (l->staged_n) {
		uint64_t id = pacing_staged_peek(l);
		int rc = store_get_message(r->store, id, &d->staged, d->staged_buf, sizeof d->staged_buf);
		/* the claim's SUBMITTING may not be committed yet: QUEUED or
		 * DEFERRED (quiet hours, a retry) is the same message */
		enum store_state sst = d->staged.state;
		if (rc == 0 && (sst == STORE_SUBMITTING || sst == STORE_QUEUED || sst == STORE_DEFERRED))
			return &d->staged;
		pacing_staged_pop(l); /* cancelled meanwhile, or purged */
	}
	return NULL;
}

/*
 * Holds msgs[from..n) back in the lane, in order: a limit said wait for
 * the first of them.  Claimed messages stay SUBMITTING meanwhile (a crash
 * puts them back in the queue).  Past the stage's size, they are requeued.
 */
static void hold_back(struct relay *r, struct pacing_lane *l, const struct store_msg *msgs,
    int from, int n, int64_t retry_at)
{
	for (int i = from; i < n; i++) {
		if (pacing_stage(l, msgs[i].id) == 0)
			continue;
		struct flight *f = flight_for(r, &msgs[i]);
		if (f) {
			requeue(r, f, (retry_at - relay_now_us()) / 1000 + 1, 0, 0);
			flight_free(r->dispatch, f);
		}
	}
	l->blocked_until = retry_at;
}

/* Claims what the lane may send now: at most want.  Sets the lane's next
 * due time from the store when it has no more due now. */
static int claim(struct relay *r, struct pacing_lane *l, unsigned want, int64_t now_ms)
{
	struct dispatch *d = r->dispatch;
	int64_t next_due = -1;
	int n = store_claim_due(r->store, l->name, now_ms, d->claimed, want, d->claim_buf,
	    sizeof d->claim_buf, &next_due);
	if (n < 0) {
		log_error("dispatch", "event=claim_failed lane=%s error=\"%s\"", l->name,
		    store_strerror(n));
		l->due_ms = now_ms + 1000;
		return 0;
	}
	if ((unsigned)n < want)
		l->due_ms = next_due;
	return n;
}

/*
 * One turn of a lane: its staged messages first (they are oldest), then a
 * claim of what its limits and the carriers' room allow.  Returns the
 * segments sent.
 */
static uint32_t serve_lane(struct relay *r, struct pacing_lane *l, unsigned room, int64_t now)
{
	struct dispatch *d = r->dispatch;
	uint32_t spent = 0, segs = 0;
	int64_t retry_at = 0;
	pacing_lane_refresh(d->pacing, l, r->policy, now);
	l->blocked_until = 0;
	if (l->staged_n) {
		const struct store_msg *m = load_staged(r, l);
		if (!m)
			return 0;
		enum outcome o = dispatch_one(r, l, m, &segs, &retry_at);
		if (o == OUT_HELD) {
			l->blocked_until = retry_at;
			return 0;
		}
		pacing_staged_pop(l);
		return o == OUT_SENT ? segs : 0;
	}
	unsigned want = pacing_lane_room(d->pacing, l, room < CLAIM_BATCH ? room : CLAIM_BATCH, now,
	    &retry_at);
	if (want == 0) {
		note_wait(r, l);
		l->blocked_until = retry_at > now ? retry_at : now + 1000;
		return 0;
	}
	int n = claim(r, l, want, now / 1000);
	for (int i = 0; i < n; i++) {
		enum outcome o = dispatch_one(r, l, &d->claimed[i], &segs, &retry_at);
		if (o == OUT_HELD) {
			hold_back(r, l, d->claimed, i, n, retry_at);
			break;
		}
		if (o == OUT_SENT)
			spent += segs;
	}
	return spent;
}

static void arm_timer(struct relay *r, unsigned room)
{
	struct dispatch *d = r->dispatch;
	int64_t now = relay_now_us();
	int64_t wake = fairq_next_wakeup(pacing_fairq(d->pacing));
	event_del(d->timer);
	if (wake == FAIRQ_NEVER)
		return;
	int64_t wait_us = wake > now ? wake - now : 0;
	/* Ready work and no room: capacity events kick us; a rate-limited
	 * carrier or bind wakes us at its next token, else poll gently. */
	if (room == 0 && wait_us < 50000) {
		int64_t token = next_token_wait(r);
		wait_us = token > 0 && token < 50000 ? token : 50000;
	}
	struct timeval tv = { (time_t)(wait_us / 1000000), (suseconds_t)(wait_us % 1000000) };
	event_add(d->timer, &tv);
}

static void run(struct relay *r)
{
	struct dispatch *d = r->dispatch;
	struct fairq *q = pacing_fairq(d->pacing);
	unsigned room = free_capacity(r);
	while (room > 0) {
		int64_t now = relay_now_us();
		int32_t id = fairq_pick(q, now);
		if (id < 0)
			break;
		struct pacing_lane *l = pacing_lane_at(d->pacing, (uint32_t)id);
		uint32_t spent = serve_lane(r, l, room, now);
		if (spent)
			fairq_charge(q, l->id, spent);
		lane_wake(d, l, now);
		room = free_capacity(r);
	}
	arm_timer(r, room);
}

static void run_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run(arg);
}

void dispatch_kick(struct relay *r)
{
	/* Coalesce: one run per loop iteration, however many submits came. */
	event_active(r->dispatch->timer, EV_TIMEOUT, 0);
}

void dispatch_capacity(struct relay *r)
{
	dispatch_kick(r);
}

/* --- answers from the carrier ----------------------------------------- */

static enum smpp_msgid_mode msgid_mode(const struct carrier_rt *cr)
{
	switch (cr->cfg->message_id_format) {
	case CONFIG_MSGID_AS_IS: return SMPP_MSGID_AS_IS;
	case CONFIG_MSGID_HEX_RESP_DEC_RECEIPT: return SMPP_MSGID_HEX_IN_RESP_DEC_IN_RECEIPT;
	case CONFIG_MSGID_DEC_RESP_HEX_RECEIPT: return SMPP_MSGID_DEC_IN_RESP_HEX_IN_RECEIPT;
	default: return SMPP_MSGID_AUTO;
	}
}

enum answer { ANSWER_OK, ANSWER_THROTTLE, ANSWER_TEMPORARY, ANSWER_PERMANENT };

static enum answer answer_kind(uint32_t status)
{
	switch (status) {
	case SMPP_ESME_ROK:
		return ANSWER_OK;
	case SMPP_ESME_RTHROTTLED:
	case SMPP_ESME_RMSGQFUL:
		return ANSWER_THROTTLE;
	case SMPP_ESME_RINVSRCADR:
	case SMPP_ESME_RINVDSTADR:
	case SMPP_ESME_RSUBMITFAIL:
	case SMPP_ESME_RX_P_APPN:
	case SMPP_ESME_RX_R_APPN:
	case SMPP_ESME_RINVMSGLEN:
	case SMPP_ESME_RINVESMCLASS:
	case SMPP_ESME_RINVDSTTON:
	case SMPP_ESME_RINVDSTNPI:
	case SMPP_ESME_RINVSRCTON:
	case SMPP_ESME_RINVSRCNPI:
		return ANSWER_PERMANENT;
	default:
		return ANSWER_TEMPORARY;
	}
}

/*
 * A failed attempt goes in the audit log under the message's id, so that
 * its history shows every attempt: the one that worked is the record's
 * own carrier and ids.  Throttles are not attempts and are not written.
 */
static void audit_attempt(struct relay *r, const struct flight *f)
{
	char reason[160];
	snprintf(reason, sizeof reason, "attempt %u: carrier %s answered 0x%08x (%s)",
	    (unsigned)f->msg.attempts + 1, f->carrier ? f->carrier->cfg->name : "-", f->error,
	    f->kind == ANSWER_PERMANENT ? "permanent" : "temporary, retried");
	compliance_audit(r->compliance, relay_wall_ms() / 1000, f->id,
	    f->msg.account ? f->msg.account->cfg->system_id : NULL, f->lane, f->msg.dst, "attempt", reason);
}

static void flight_done(struct relay *r, struct flight *f)
{
	struct dispatch *d = r->dispatch;
	if (f->kind == ANSWER_OK) {
		relay_note_sent(r, f->msg.account, f->lane); /* lanes are campaigns */
		const char *ids[MAX_PARTS];
		for (unsigned i = 0; i < f->parts; i++)
			ids[i] = f->ids[i];
		struct pending *p = pending_get(r, PENDING_MARK);
		struct store_op op = { .kind = STORE_OP_MARK, .id = f->id, .cookie = p };
		op.u.mark.state = STORE_SUBMITTED;
		op.u.mark.carrier = f->carrier->cfg->name;
		op.u.mark.carrier_ids = ids;
		op.u.mark.n_carrier_ids = f->parts;
		if (p)
			p->extra = f->index;
		f->marked = 1;
		if (store_submit(r->store, &op, 1) != 0) {
			if (p)
				pending_put(p);
			flight_free(d, f);
		} else if (!p) {
			flight_free(d, f); /* no cookie: cannot wait for the commit */
		}
		return;
	}
	if (f->kind != ANSWER_THROTTLE) {
		relay_note_answer(r, f->msg.account, f->lane, f->carrier, f->msg.dst, f->error,
		    f->kind == ANSWER_PERMANENT);
		audit_attempt(r, f);
	}
	if (f->kind == ANSWER_THROTTLE)
		requeue(r, f, THROTTLE_RETRY_MS, 0, f->error);
	else if (f->kind == ANSWER_TEMPORARY)
		requeue(r, f, retry_delay((uint16_t)(f->msg.attempts + 1)), 1, f->error);
	else
		finish(r, f, f->error == SMPP_ESME_RX_R_APPN ? STORE_REJECTED : STORE_UNDELIVERABLE,
		    f->error == SMPP_ESME_RX_R_APPN ? SMPP_STAT_REJECTD : SMPP_STAT_UNDELIV, f->error);
	flight_free(d, f);
}

static void flight_answer(struct relay *r, struct flight *f, unsigned part,
    uint32_t status, const char *carrier_id)
{
	enum answer kind = answer_kind(status);
	if (kind > (enum answer)f->kind) {
		f->kind = (int)kind;
		f->error = status;
	}
	if (kind == ANSWER_OK && part < MAX_PARTS) {
		if (smpp_msgid_key(msgid_mode(f->carrier), SMPP_MSGID_RESP, carrier_id, strlen(carrier_id),
		    f->ids[part], sizeof f->ids[part]) < 0) {
			f->kind = ANSWER_TEMPORARY; /* an empty id can never match a receipt */
			f->error = SMPP_ESME_RINVMSGID;
			f->ids[part][0] = '\0';
		} else {
			idmap_put(&r->dispatch->by_carrier_id, cid_key(f->carrier, f->ids[part]), f->index);
		}
	}
	if (++f->answered >= f->parts)
		flight_done(r, f);
}

void dispatch_carrier_response(struct conn *c, const struct smpp_event *ev)
{
	struct relay *r = c->relay;
	if (ev->command_id != SMPP_SUBMIT_SM)
		return; /* bind, enquire_link, unbind: the engine handled them */
	struct flight *f = flight_of(r->dispatch, ev->cookie);
	if (!f)
		return;
	const char *cid = ev->pdu && ev->pdu->message_id ? ev->pdu->message_id : "";
	metrics_carrier_response(r->metrics, c->carrier, ev->status, relay_turn_since_us(f->sent_us));
	carrier_feedback(c->carrier, ev->status);
	flight_answer(r, f, (unsigned)(ev->cookie & 0xff), ev->status, cid);
	if (answer_kind(ev->status) == ANSWER_THROTTLE)
		log_info("dispatch", "event=carrier_throttled carrier=%s status=%s",
		    c->carrier->cfg->name, smpp_status_name(ev->status));
	dispatch_capacity(r);
}

void dispatch_carrier_lost(struct conn *c, uint64_t cookie)
{
	struct relay *r = c->relay;
	struct flight *f = flight_of(r->dispatch, cookie);
	if (!f || f->marked)
		return;
	metrics_carrier_lost(r->metrics, c->carrier);
	flight_answer(r, f, (unsigned)(cookie & 0xff), SMPP_ESME_RSYSERR, "");
	dispatch_capacity(r);
}

/* The SUBMITTED mark is on disk: the store now answers carrier-id lookups,
 * and the recent entries before it. */
static void mark_committed(struct relay *r, struct pending *p, int rc)
{
	struct dispatch *d = r->dispatch;
	if (p->extra < d->nflights) {
		struct flight *f = d->flights[p->extra];
		if (f->id && f->marked) {
			if (rc == 0) {
				recent_put(r, f);
				if (log_enabled(LOGL_DEBUG)) {
					char id[STORE_MSGID_LEN + 1];
					store_msgid_format(f->id, id);
					log_debug("dispatch", "event=submitted id=%s carrier=%s parts=%u",
					    id, f->carrier->cfg->name, (unsigned)f->parts);
				}
			}
			flight_free(d, f);
		}
	}
}

/* --- receipts and MOs from the carrier -------------------------------- */

static enum store_state state_of_stat(enum smpp_stat s)
{
	switch (s) {
	case SMPP_STAT_DELIVRD: return STORE_DELIVERED;
	case SMPP_STAT_EXPIRED: return STORE_EXPIRED;
	case SMPP_STAT_REJECTD: return STORE_REJECTED;
	case SMPP_STAT_UNDELIV:
	case SMPP_STAT_DELETED:
	case SMPP_STAT_UNKNOWN: return STORE_UNDELIVERABLE;
	default: return STORE_SUBMITTED; /* ENROUTE, ACCEPTD: not final */
	}
}

static void answer_carrier(struct conn *c, uint32_t seq, uint32_t command, uint32_t status)
{
	struct smpp_pdu resp;
	smpp_pdu_init(&resp, command | SMPP_RESP_BIT, seq);
	resp.command_status = status;
	resp.message_id = "";
	smpp_session_respond(c->sess, &resp);
	conn_flush(c);
}

static int submit_with_answer(struct conn *c, uint32_t seq, uint32_t command,
    struct store_op *ops, size_t n, uint64_t finalizing_id, struct account_rt *notify)
{
	struct pending *p = pending_get(c->relay, PENDING_RECEIPT_IN);
	if (!p)
		return -1;
	p->conn = conn_ref(c);
	p->sequence = seq;
	p->command_id = command;
	p->msg_id = finalizing_id;
	p->account = notify;
	ops[n - 1].cookie = p;
	if (store_submit(c->relay->store, ops, n) != 0) {
		pending_put(p);
		return -1;
	}
	return 0;
}

/* Who gets an MO: the account of the campaign that owns the number. */
static struct account_rt *mo_account(struct relay *r, const char *campaign)
{
	struct account_rt *a = relay_account_for_campaign(r, campaign);
	/* No policy says who owns it: the only account taking deliveries. */
	return a ? a : r->only_receiver;
}

/*
 * The one reply a keyword earns (STOP confirmation, START, HELP): a
 * message of the system's own (no account), from the number the handset
 * wrote to.  It skips the opt-out check at dispatch, which would stop a
 * STOP confirmation; compliance_reply_allowed() lets only one through.
 */
static void send_keyword_reply(struct relay *r, const struct compliance_mo_result *res,
    const char *handset, const char *our_number)
{
	int64_t now = relay_wall_ms();
	if (!res->send_reply || !res->reply ||
	    compliance_reply_allowed(r->compliance, res->brand, handset, now / 1000) != 1)
		return;
	uint8_t body[STORE_BODY_MAX];
	struct smpp_text_info info;
	smpp_text_analyze((const uint8_t *)res->reply, strlen(res->reply), SMPP_CODING_AUTO, &info);
	long n = smpp_text_encode(info.coding, (const uint8_t *)res->reply, strlen(res->reply), body,
	    sizeof body, SMPP_TEXT_REPLACE);
	if (n < 0)
		return;
	const char *lane = dispatch_lane_name(r, res->campaign ? res->campaign : "keyword-replies");
	struct store_msg m = {
		.account = "", .campaign = lane, .lane = lane,
		.src_ton = 1, .src_npi = 1, .src_addr = our_number,
		.dst_ton = 1, .dst_npi = 1, .dst_addr = handset,
		.data_coding = (uint8_t)smpp_coding_dcs(info.coding), .segments = 1,
		.state = STORE_QUEUED, .validity_ms = now + 5 * 60 * 1000, /* CTIA: within 5 minutes */
		.next_attempt_ms = now, .created_ms = now, .carrier = "", .carrier_ids = "",
		.body = body, .body_len = (size_t)n,
	};
	struct pending *p = pending_get(r, PENDING_REQUEUE);
	struct store_op op = { .kind = STORE_OP_ENQUEUE, .cookie = p, .u.msg = &m };
	if (p) {
		p->lane = lane;
		p->due_ms = now;
	}
	char to[48], from[48], brand[160];
	log_quote(handset, strlen(handset), to, sizeof to);
	if (!lane || store_submit(r->store, &op, 1) != 0) {
		pending_put(p);
		log_error("policy", "event=keyword_reply_failed to=%s", to);
		return;
	}
	log_quote(our_number, strlen(our_number), from, sizeof from);
	log_quote(res->brand ? res->brand : "-", strlen(res->brand ? res->brand : "-"), brand,
	    sizeof brand);
	log_info("policy", "event=keyword_reply to=%s from=%s brand=%s", to, from, brand);
}

static void log_keyword(const struct compliance_mo_result *res, const char *handset,
    const char *our_number)
{
	char from[48], to[48], brand[160];
	const char *b = res->brand ? res->brand : "-";
	log_quote(handset, strlen(handset), from, sizeof from);
	log_quote(our_number, strlen(our_number), to, sizeof to);
	log_quote(b, strlen(b), brand, sizeof brand);
	log_info("policy", "event=keyword kind=%d from=%s to=%s brand=%s campaign=%s", (int)res->kind,
	    from, to, brand, res->campaign ? res->campaign : "-");
}

static int on_mo(struct conn *c, const struct smpp_pdu *pdu, uint32_t seq)
{
	struct relay *r = c->relay;
	const struct smpp_tlv *payload = smpp_tlv_find(pdu, SMPP_TLV_MESSAGE_PAYLOAD);
	const uint8_t *body = pdu->sm_length || !payload ? pdu->short_message : payload->value;
	size_t body_len = pdu->sm_length || !payload ? pdu->sm_length : payload->len;
	struct compliance_mo_result res = { 0 };
	if (r->policy) {
		char text[1024];
		long n = smpp_dcs_to_utf8(pdu->data_coding, body, body_len, (uint8_t *)text,
		    sizeof text, SMPP_TEXT_REPLACE);
		compliance_handle_mo(r->compliance, r->policy, pdu->source.addr, pdu->dest.addr,
		    text, n > 0 ? (size_t)n : 0, relay_wall_ms() / 1000, &res);
		if (res.newly_opted_out)
			relay_note_optout(r, res.campaign);
		metrics_keyword(r->metrics, res.campaign, (int)res.kind);
		if (res.kind != POLICY_MO_NONE)
			log_keyword(&res, pdu->source.addr, pdu->dest.addr);
		send_keyword_reply(r, &res, pdu->source.addr, pdu->dest.addr);
	}
	struct account_rt *a = mo_account(r, res.campaign);
	if (!a) {
		char to[48];
		log_quote(pdu->dest.addr, strlen(pdu->dest.addr), to, sizeof to);
		log_warn("dispatch", "event=mo_unrouted carrier=%s to=%s", c->carrier->cfg->name, to);
		return SMPP_ESME_ROK; /* taken, and logged: nobody to pass it to */
	}
	struct dlr d = {
		.kind = DLR_MO, .src_ton = pdu->source.ton, .src_npi = pdu->source.npi,
		.src = pdu->source.addr, .dst_ton = pdu->dest.ton, .dst_npi = pdu->dest.npi,
		.dst = pdu->dest.addr, .data_coding = pdu->data_coding, .esm_class = pdu->esm_class,
		.body = body, .body_len = body_len, .done_ms = relay_wall_ms(),
	};
	uint8_t buf[DLR_MAX];
	size_t len;
	if (dlr_encode(&d, buf, sizeof buf, &len) != 0)
		return SMPP_ESME_RINVMSGLEN;
	struct store_op op = { .kind = STORE_OP_RECEIPT_ADD };
	op.u.receipt.account = a->cfg->system_id;
	op.u.receipt.data = buf;
	op.u.receipt.len = len;
	if (submit_with_answer(c, seq, pdu->command_id, &op, 1, 0, a) != 0)
		return SMPP_ESME_RSYSERR;
	log_info("dispatch", "event=mo carrier=%s from=%s to=%s account=%s", c->carrier->cfg->name,
	    pdu->source.addr, pdu->dest.addr, a->cfg->system_id);
	return -1; /* answered on commit */
}

/*
 * What a receipt needs of a sent message, from memory: the store's copy
 * says nothing more until the SUBMITTED mark commits, and after it until
 * a final receipt (the lane is the campaign; a flight is never of a final
 * message, and one a receipt already finalized is in d->finalizing; a
 * recent entry goes when a final receipt comes).
 */
static void msg_of_sent(uint64_t id, const struct sent *s, const char *lane,
    unsigned segments, struct store_msg *m)
{
	*m = (struct store_msg){
		.id = id, .account = s->account ? s->account->cfg->system_id : "",
		.campaign = lane, .lane = lane,
		.src_ton = s->src_ton, .src_npi = s->src_npi, .src_addr = s->src,
		.dst_ton = s->dst_ton, .dst_npi = s->dst_npi, .dst_addr = s->dst,
		.registered_delivery = s->registered_delivery, .segments = segments,
		.state = STORE_SUBMITTED, .attempts = s->attempts,
		.validity_ms = s->validity_ms, .created_ms = s->created_ms,
	};
}

/* Where a receipt found its message: log and tests tell them apart. */
enum receipt_via { VIA_FLIGHT, VIA_RECENT, VIA_STORE };

struct receipt_match {
	enum receipt_via via;
	struct flight *flight;  /* VIA_FLIGHT */
	uint32_t slot;          /* VIA_RECENT */
};

/* Resolve a receipt to the message it is about. */
static int receipt_target(struct relay *r, const struct carrier_rt *cr, const char *key,
    struct store_msg *m, uint8_t *buf, size_t cap, struct receipt_match *at)
{
	uint32_t v;
	const struct recent *e;
	/* A receipt that overtook the SUBMITTED mark's commit is known only to
	 * its flight; a later one to the recent entries while they hold it,
	 * and always to the store.  Memory first: the store is three B-tree
	 * reads (carrier-id map, status, record). */
	if (idmap_get(&r->dispatch->by_carrier_id, cid_key(cr, key), &v)) {
		if (!(v & RECENT_BIT) &&
		    (at->flight = flight_of_index(r->dispatch, v, cr, key)) != NULL) {
			at->via = VIA_FLIGHT;
			msg_of_sent(at->flight->id, &at->flight->msg, at->flight->lane,
			    at->flight->parts, m);
			return 0;
		}
		at->slot = v & ~RECENT_BIT;
		if ((v & RECENT_BIT) &&
		    (e = recent_of_slot(r->dispatch, at->slot, cr, key)) != NULL) {
			at->via = VIA_RECENT;
			msg_of_sent(e->id, &e->msg, e->lane, 1, m);
			return 0;
		}
	}
	at->via = VIA_STORE;
	return store_get_by_carrier_id(r->store, cr->cfg->name, key, m, buf, cap, NULL);
}

/*
 * A receipt can overtake the submit_sm_resp it is about when the carrier
 * sends it on another bind.  Such a receipt waits and is looked up again a
 * few times before it counts as unmatched; the carrier's deliver_sm is
 * answered only then.
 */
#define LATE_MAX 4096
#define LATE_RETRY_MS 100
#define LATE_TRIES 30

struct late_receipt {
	struct conn_ref conn;
	uint32_t seq, command;
	const struct carrier_rt *carrier;
	char key[SMPP_RECEIPT_ID_MAX + 1];
	char id[SMPP_RECEIPT_ID_MAX + 1];
	uint8_t stat;
	uint32_t err;
	unsigned tries;
};

static struct late_receipt late[LATE_MAX];
static unsigned late_n;
static struct event *late_timer;
static struct event *late_soon;       /* end of the turn a receipt waited in */

/* Mark the message final and queue the application's receipt. */
static void apply_receipt(struct relay *r, struct conn *c, uint32_t seq, uint32_t command,
    const struct store_msg *m, enum smpp_stat stat, uint32_t err, const char *carrier_id,
    enum receipt_via via)
{
	static const char *const via_name[] = { "flight", "recent", "store" };
	enum store_state state = state_of_stat(stat);
	char id[STORE_MSGID_LEN + 1];
	store_msgid_format(m->id, id);
	if (state == STORE_SUBMITTED || store_state_is_final(m->state) ||
	    finalizing_has(&r->dispatch->finalizing, m->id)) {
		/* intermediate, or a later part's receipt: nothing changes */
		log_debug("dispatch", "event=receipt_ignored id=%s stat=%s state=%s", id,
		    smpp_stat_name(stat), store_state_name(m->state));
		answer_carrier(c, seq, command, SMPP_ESME_ROK);
		return;
	}
	struct store_op ops[2];
	uint8_t buf[DLR_MAX];
	size_t n = 0;
	ops[n] = (struct store_op){ .kind = STORE_OP_MARK, .id = m->id };
	ops[n].u.mark.state = state;
	ops[n].u.mark.error = err;
	n++;
	struct account_rt *a = relay_account(r, m->account);
	if (a && a->cfg->receipts && wants_receipt(m->registered_delivery, state == STORE_DELIVERED)) {
		struct sent sent;
		sent_of_msg(m, a, &sent);
		queue_receipt(r, m->id, &sent, stat, err, &ops[n], buf);
		if (ops[n].kind)
			n++;
	}
	if (finalizing_add(&r->dispatch->finalizing, m->id) != 0 ||
	    submit_with_answer(c, seq, command, ops, n, m->id, n > 1 ? a : NULL) != 0) {
		finalizing_del(&r->dispatch->finalizing, m->id);
		answer_carrier(c, seq, command, SMPP_ESME_RX_T_APPN); /* carrier retries */
		return;
	}
	relay_note_receipt(r, c->carrier, m, state != STORE_DELIVERED, err);
	metrics_final(r->metrics, m->lane, state);
	log_info("dispatch", "event=receipt id=%s carrier=%s carrier_id=%s stat=%s via=%s", id,
	    c->carrier->cfg->name, carrier_id, smpp_stat_name(stat), via_name[via]);
}

/* 1 when the receipt found its message (and was handled), else 0. */
static int try_receipt(struct relay *r, struct conn *c, uint32_t seq, uint32_t command,
    const char *key, enum smpp_stat stat, uint32_t err, const char *carrier_id)
{
	static uint8_t mbuf[STORE_MSG_MAX];
	struct store_msg m;
	struct receipt_match at;
	static const enum metrics_receipt_match match_of_via[] = {
		[VIA_FLIGHT] = METRICS_MATCH_IN_FLIGHT, [VIA_RECENT] = METRICS_MATCH_CACHE,
		[VIA_STORE] = METRICS_MATCH_STORE,
	};
	if (receipt_target(r, c->carrier, key, &m, mbuf, sizeof mbuf, &at) != 0)
		return 0;
	metrics_receipt_match(r->metrics, c->carrier, match_of_via[at.via]);
	apply_receipt(r, c, seq, command, &m, stat, err, carrier_id, at.via);
	if (state_of_stat(stat) != STORE_SUBMITTED) {
		/* final: what the memory says of the message is stale now */
		if (at.via == VIA_FLIGHT)
			at.flight->finalized = 1;
		else if (at.via == VIA_RECENT)
			recent_drop(r->dispatch, at.slot);
	}
	return 1;
}

/*
 * Tries the waiting receipts again.  fresh_only: those that have not been
 * tried since they arrived, at the end of the loop turn they arrived in:
 * most overtook a submit_sm_resp read in the same turn from another bind,
 * and match now, 100 ms sooner and without a second store lookup later.
 */
static void retry_late(struct relay *r, int fresh_only)
{
	unsigned kept = 0;
	for (unsigned i = 0; i < late_n; i++) {
		struct late_receipt *l = &late[i];
		struct conn *c = conn_get(r, l->conn);
		if (!c)
			continue; /* the carrier will send it again on a new bind */
		if (fresh_only && l->tries > 0) {
			late[kept++] = *l;
			continue;
		}
		if (try_receipt(r, c, l->seq, l->command, l->key, (enum smpp_stat)l->stat, l->err, l->id))
			continue;
		if (++l->tries >= LATE_TRIES) {
			metrics_receipt_match(r->metrics, c->carrier, METRICS_MATCH_UNMATCHED);
			log_warn("dispatch", "event=receipt_unmatched carrier=%s carrier_id=%s stat=%s",
			    c->carrier->cfg->name, l->id, smpp_stat_name((enum smpp_stat)l->stat));
			answer_carrier(c, l->seq, l->command, SMPP_ESME_ROK);
			continue;
		}
		late[kept++] = *l;
	}
	late_n = kept;
	if (late_n && late_timer && !evtimer_pending(late_timer, NULL)) {
		struct timeval tv = { 0, LATE_RETRY_MS * 1000 };
		event_add(late_timer, &tv);
	}
}

static void late_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	retry_late(arg, 0);
}

static void late_soon_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	retry_late(arg, 1);
}

static void defer_receipt(struct conn *c, uint32_t seq, uint32_t command, const char *key,
    const struct smpp_receipt *rc, uint32_t err)
{
	struct relay *r = c->relay;
	if (late_n >= LATE_MAX) {
		/* Not matched yet, and no room to wait here: the carrier keeps
		 * it and sends it again, rather than it being lost. */
		log_warn("dispatch", "event=receipt_deferred carrier=%s carrier_id=%s stat=%s reason=late_queue_full",
		    c->carrier->cfg->name, rc->id, smpp_stat_name(rc->stat));
		answer_carrier(c, seq, command, SMPP_ESME_RX_T_APPN);
		return;
	}
	struct late_receipt *l = &late[late_n++];
	*l = (struct late_receipt){ conn_ref(c), seq, command, c->carrier, "", "",
		(uint8_t)rc->stat, err, 0 };
	copy_field(l->key, sizeof l->key, key);
	copy_field(l->id, sizeof l->id, rc->id);
	if (!late_timer)
		late_timer = evtimer_new(r->base, late_cb, r);
	if (!late_soon)
		late_soon = event_new(r->base, -1, 0, late_soon_cb, r);
	if (late_soon)
		event_active(late_soon, EV_TIMEOUT, 0);
	if (late_timer && !evtimer_pending(late_timer, NULL)) {
		struct timeval tv = { 0, LATE_RETRY_MS * 1000 };
		event_add(late_timer, &tv);
	}
}

int dispatch_receipt(struct conn *c, const struct smpp_pdu *pdu, uint32_t seq)
{
	struct relay *r = c->relay;
	struct smpp_receipt rc;
	uint32_t command = pdu->command_id;
	int is = smpp_receipt_from_pdu(pdu, &rc);
	if (is == 0) {
		metrics_mo(r->metrics, c->carrier);
		int st = on_mo(c, pdu, seq);
		if (st >= 0)
			answer_carrier(c, seq, command, (uint32_t)st);
		return 0;
	}
	if (is < 0) {
		log_warn("dispatch", "event=bad_receipt carrier=%s reason=%s", c->carrier->cfg->name,
		    smpp_receipt_strerror(is));
		answer_carrier(c, seq, command, SMPP_ESME_ROK); /* resending cannot fix it */
		return 0;
	}
	metrics_receipt(r->metrics, c->carrier, (int)rc.stat);
	char key[SMPP_RECEIPT_ID_MAX + 1];
	smpp_msgid_key(msgid_mode(c->carrier), SMPP_MSGID_RECEIPT, rc.id, strlen(rc.id), key, sizeof key);
	uint32_t err = rc.err > 0 ? (uint32_t)rc.err : 0;
	if (!try_receipt(r, c, seq, command, key, rc.stat, err, rc.id))
		defer_receipt(c, seq, command, key, &rc, err);
	return 0;
}

/* --- store completions for the dispatcher ----------------------------- */

void dispatch_completion(struct relay *r, const struct store_completion *sc)
{
	if (pacing_owns_cookie(sc->cookie)) {
		pacing_completion(r->dispatch->pacing, sc);
		dispatch_kick(r); /* a brand's reservation is on disk: held lanes may go */
		return;
	}
	struct pending *p = sc->cookie;
	if (sc->rc != 0) {
		char id[STORE_MSGID_LEN + 1];
		store_msgid_format(sc->id, id);
		log_error("dispatch", "event=store_op_failed kind=%d id=%s error=\"%s\"", (int)p->kind, id,
		    store_strerror(sc->rc));
	}
	if (p->kind == PENDING_MARK) {
		mark_committed(r, p, sc->rc);
	} else if (p->kind == PENDING_REQUEUE) {
		if (p->lane)
			dispatch_lane_has_work(r, p->lane, p->due_ms);
	} else if (p->kind == PENDING_RECEIPT_IN) {
		struct conn *c = conn_get(r, p->conn);
		if (p->msg_id)
			finalizing_del(&r->dispatch->finalizing, p->msg_id);
		if (c)
			answer_carrier(c, p->sequence, p->command_id,
			    sc->rc == 0 ? SMPP_ESME_ROK : SMPP_ESME_RX_T_APPN);
		if (sc->rc == 0 && p->account)
			upstream_push_receipts(r, p->account); /* a new receipt or MO */
	}
	pending_put(p);
}

/* --- life cycle ------------------------------------------------------- */

int dispatch_init(struct relay *r)
{
	r->dispatch = calloc(1, sizeof *r->dispatch);
	if (!r->dispatch)
		return -1;
	r->dispatch->timer = evtimer_new(r->base, run_cb, r);
	if (!r->dispatch->timer)
		return -1;
	r->dispatch->concat_ref = (uint16_t)random();
	r->dispatch->recent_cap = (uint32_t)r->cfg->receipt_cache;
	r->dispatch->pacing = pacing_new(r->store, relay_now_us());
	if (!r->dispatch->pacing)
		return -1;
	metrics_use_lanes(r->metrics, r->dispatch->pacing);
	int rc = store_lanes_list(r->store, seed_lane, r);
	if (rc < 0)
		return rc;
	dispatch_kick(r);
	return 0;
}

void dispatch_free(struct relay *r)
{
	struct dispatch *d = r->dispatch;
	if (!d)
		return;
	if (d->timer)
		event_free(d->timer);
	if (late_soon) {
		event_free(late_soon);
		late_soon = NULL;
	}
	if (late_timer) {
		event_free(late_timer);
		late_timer = NULL;
	}
	late_n = 0;
	metrics_use_lanes(r->metrics, NULL);
	pacing_free(d->pacing);
	for (uint32_t i = 0; i < d->nflights; i++)
		free(d->flights[i]);
	free(d->flights);
	idmap_free(&d->finalizing);
	idmap_free(&d->by_carrier_id);
	free(d->recent);
	free(d);
	r->dispatch = NULL;
}
