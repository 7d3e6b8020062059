/*
 * Upstream: applications bound to smppd (we are their SMSC).
 *
 * A submit is validated, turned into a store record and handed to the
 * store's writer; its submit_sm_resp goes out from the completion, so a
 * status 0 always means "on disk".  Receipts and MOs for an account wait in
 * the store and are pushed to its receiving sessions in order, each removed
 * only when the application has answered it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "mta/log.h"
#include "mta/metrics.h"
#include "mta/net.h"
#include "mta/relay.h"
#include "base/hash.h"
#include "mta/compliance.h"
#include "mta/hook.h"
#include "mta/secure.h"
#include "policy/policy.h"
#include "smpp/coding.h"
#include "smpp/receipt.h"
#include "smpp/segment.h"

#define DEFAULT_VALIDITY_MS (48LL * 3600 * 1000)
#define RECEIPT_BATCH 64

static const char *account_lane(const struct account_rt *a)
{
	return a->cfg->default_campaign ? a->cfg->default_campaign : "default";
}

/* --- binding --------------------------------------------------------- */

static int cidr_match(const struct config_cidr *c, const struct sockaddr *sa)
{
	const uint8_t *addr;
	if (sa->sa_family == AF_INET && c->family == AF_INET)
		addr = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6 && c->family == AF_INET6)
		addr = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	else
		return 0;
	int bits = c->prefix;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((addr[i] & mask) != (c->addr[i] & mask))
			return 0;
	}
	return 1;
}

static int network_allowed(const struct config_account *a, const struct sockaddr *sa)
{
	if (a->n_allowed_networks == 0)
		return 1;
	for (size_t i = 0; i < a->n_allowed_networks; i++)
		if (cidr_match(&a->allowed_networks[i], sa))
			return 1;
	return 0;
}

/*
 * Accounts by system_id.  Each message looks its account up by name when
 * it is sent and again for its receipt: walking a list of 1,000 accounts
 * cost about 5 us of CPU per message, a quarter of the rate.  An open-
 * addressed table of indexes into r->accounts (plus one; 0 is empty),
 * half full at most; without it (out of memory) the walk answers.
 */
static size_t account_slot0(const struct relay *r, const char *system_id)
{
	return (size_t)hash_finish(fnv1a_str(FNV1A_BASIS, system_id)) & (r->account_slots_cap - 1);
}

static void index_owners(struct relay *r);

void relay_index_accounts(struct relay *r)
{
	size_t n = r->cfg->n_accounts, cap = 16;
	index_owners(r);
	while (cap < 2 * n)
		cap *= 2;
	free(r->account_slots);
	r->account_slots_cap = 0;
	r->account_slots = calloc(cap, sizeof *r->account_slots);
	if (!r->account_slots)
		return;
	r->account_slots_cap = cap;
	for (size_t i = 0; i < n; i++) {
		size_t s = account_slot0(r, r->accounts[i]->cfg->system_id);
		while (r->account_slots[s] != 0 &&
		    strcmp(r->accounts[r->account_slots[s] - 1]->cfg->system_id,
		    r->accounts[i]->cfg->system_id) != 0)
			s = (s + 1) & (cap - 1);
		if (r->account_slots[s] == 0) /* the first of a name, as the walk finds it */
			r->account_slots[s] = (uint32_t)i + 1;
	}
}

/*
 * Campaigns by the account that lists them (default_campaign or
 * allowed_campaigns), the first account in the file winning, as the walk
 * it replaces did: each incoming MO asks, and a walk of every account's
 * list per MO does not keep up with a flood of replies.
 */
struct campaign_owner {
	const char *campaign;   /* NULL: empty; points into r->cfg */
	uint32_t account;       /* index in r->accounts */
};

static size_t owner_slot0(const char *campaign, size_t cap)
{
	return (size_t)hash_finish(fnv1a_str(FNV1A_BASIS, campaign)) & (cap - 1);
}

static void owner_add(struct campaign_owner *t, size_t cap, const char *campaign, uint32_t account)
{
	size_t s = owner_slot0(campaign, cap);
	while (t[s].campaign && strcmp(t[s].campaign, campaign) != 0)
		s = (s + 1) & (cap - 1);
	if (!t[s].campaign)
		t[s] = (struct campaign_owner){ campaign, account };
}

static void index_owners(struct relay *r)
{
	size_t listed = 0, cap = 16, receivers = 0;
	r->only_receiver = NULL;
	for (size_t i = 0; i < r->cfg->n_accounts; i++) {
		listed += r->cfg->accounts[i].n_allowed_campaigns + 1;
		if (r->accounts[i]->cfg->receipts && receivers++ == 0)
			r->only_receiver = r->accounts[i];
	}
	if (receivers != 1)
		r->only_receiver = NULL;
	while (cap < 2 * listed)
		cap *= 2;
	free(r->owners);
	r->owners_cap = 0;
	if (!(r->owners = calloc(cap, sizeof *r->owners)))
		return;
	r->owners_cap = cap;
	for (size_t i = 0; i < r->cfg->n_accounts; i++) {
		const struct config_account *a = r->accounts[i]->cfg;
		if (a->default_campaign)
			owner_add(r->owners, cap, a->default_campaign, (uint32_t)i);
		for (size_t k = 0; k < a->n_allowed_campaigns; k++)
			owner_add(r->owners, cap, a->allowed_campaigns[k], (uint32_t)i);
	}
}

/* 1 and *out when the index answers (the owner, or NULL for none); 0
 * when there is no index. */
int relay_campaign_owner(struct relay *r, const char *campaign, struct account_rt **out)
{
	if (!r->owners_cap)
		return 0;
	*out = NULL;
	for (size_t s = owner_slot0(campaign, r->owners_cap); r->owners[s].campaign;
	    s = (s + 1) & (r->owners_cap - 1))
		if (strcmp(r->owners[s].campaign, campaign) == 0) {
			*out = r->accounts[r->owners[s].account];
			break;
		}
	return 1;
}

struct account_rt *relay_account(struct relay *r, const char *system_id)
{
	if (r->account_slots_cap) {
		for (size_t s = account_slot0(r, system_id); r->account_slots[s] != 0;
		    s = (s + 1) & (r->account_slots_cap - 1)) {
			struct account_rt *a = r->accounts[r->account_slots[s] - 1];
			if (strcmp(a->cfg->system_id, system_id) == 0)
				return a;
		}
		return NULL;
	}
	for (size_t i = 0; i < r->cfg->n_accounts; i++)
		if (strcmp(r->accounts[i]->cfg->system_id, system_id) == 0)
			return r->accounts[i];
	return NULL;
}

/* Who is binding, from where and over what: what an attacker guesses. */
static uint32_t check_credentials(struct conn *c, const struct smpp_pdu *pdu,
    struct account_rt **out)
{
	struct account_rt *a = relay_account(c->relay, pdu->system_id);
	*out = a;
	if (!a)
		return SMPP_ESME_RINVSYSID;
	if (config_password_check(&a->password, pdu->password, a->cfg->password_hash) != 1)
		return SMPP_ESME_RINVPASWD;
	if (!network_allowed(a->cfg, (const struct sockaddr *)&c->peer_addr))
		return SMPP_ESME_RBINDFAIL;
	return secure_account_check(c, a->cfg);
}

static uint32_t check_bind(struct conn *c, const struct smpp_pdu *pdu,
    struct account_rt **out)
{
	/* A blocked address is refused before the password is even hashed:
	 * guessing stops paying, and costs us no CPU. */
	*out = NULL;
	if (secure_bind_blocked(c))
		return SMPP_ESME_RBINDFAIL;
	uint32_t status = check_credentials(c, pdu, out);
	if (status != SMPP_ESME_ROK) {
		secure_bind_failed(c);
		return status;
	}
	struct account_rt *a = *out;
	if (a->cfg->max_binds > 0 && a->binds >= (unsigned)a->cfg->max_binds)
		return SMPP_ESME_RBINDFAIL;
	return SMPP_ESME_ROK;
}

static void on_bind(struct conn *c, const struct smpp_event *ev)
{
	struct account_rt *a;
	char sid[64];
	log_quote(ev->pdu->system_id, strlen(ev->pdu->system_id), sid, sizeof sid);
	uint32_t command = ev->pdu->command_id;
	uint32_t status = check_bind(c, ev->pdu, &a);
	if (status != SMPP_ESME_ROK) {
		log_warn("upstream", "event=bind_refused peer=%s system_id=%s status=%s",
		    c->peer, sid, smpp_status_name(status));
		smpp_session_reject(c->sess, status);
		return;
	}
	if (smpp_session_accept(c->sess, "smppd", relay_mono_ms()) != 0) {
		conn_close(c);
		return;
	}
	c->account = a;
	a->binds++;
	c->receives = command != SMPP_BIND_TRANSMITTER;
	log_info("upstream", "event=bound peer=%s system_id=%s bind=%s", c->peer, sid,
	    smpp_command_name(command));
	if (c->receives) {
		c->next_rx = a->receivers;
		a->receivers = c;
		upstream_push_receipts(c->relay, a);
	}
}

void upstream_closed(struct conn *c)
{
	struct account_rt *a = c->account;
	if (!a)
		return;
	a->binds--;
	for (struct conn **p = &a->receivers; *p; p = &(*p)->next_rx) {
		if (*p == c) {
			*p = c->next_rx;
			break;
		}
	}
	if (a->rx_turn == c)
		a->rx_turn = c->next_rx;
	c->account = NULL;
}

/* --- submits --------------------------------------------------------- */

static void respond_status(struct conn *c, const struct smpp_pdu *req, uint32_t status)
{
	struct smpp_pdu resp;
	smpp_pdu_init_resp(&resp, req, status);
	smpp_session_respond(c->sess, &resp);
	metrics_submit(c->relay->metrics, c->account, req->command_id, status);
}

static int valid_number(const char *s)
{
	size_t n = 0;
	if (*s == '+')
		s++;
	for (; s[n]; n++)
		if (s[n] < '0' || s[n] > '9')
			return 0;
	return n >= 3 && n <= 15;
}

/* The message body: short_message, or message_payload when it is empty. */
static void message_body(const struct smpp_pdu *pdu, const uint8_t **body, size_t *len)
{
	const struct smpp_tlv *t = smpp_tlv_find(pdu, SMPP_TLV_MESSAGE_PAYLOAD);
	if (pdu->sm_length == 0 && t) {
		*body = t->value;
		*len = t->len;
	} else {
		*body = pdu->short_message;
		*len = pdu->sm_length;
	}
}

/* allowed_sources: "12025550101" exactly, "1202555*" as a prefix. */
static int source_allowed(const struct config_account *a, const char *src)
{
	if (a->n_allowed_sources == 0)
		return 1;
	if (*src == '+')
		src++;
	for (size_t i = 0; i < a->n_allowed_sources; i++) {
		const char *p = a->allowed_sources[i];
		size_t n = strlen(p);
		if (n > 0 && p[n - 1] == '*' ? strncmp(src, p, n - 1) == 0 : strcmp(src, p) == 0)
			return 1;
	}
	return 0;
}

static uint32_t build_message(struct conn *c, const struct smpp_pdu *pdu,
    const struct smpp_addr *dest, struct store_msg *m)
{
	int64_t now = relay_wall_ms();
	memset(m, 0, sizeof *m);
	if (!valid_number(dest->addr))
		return SMPP_ESME_RINVDSTADR;
	if (pdu->source.addr[0] == 0 || !source_allowed(c->account->cfg, pdu->source.addr))
		return SMPP_ESME_RINVSRCADR;
	message_body(pdu, &m->body, &m->body_len);
	if (m->body_len > STORE_BODY_MAX)
		return SMPP_ESME_RINVMSGLEN;
	int64_t validity = 0;
	if (pdu->command_id != SMPP_DATA_SM &&
	    smpp_time_parse(pdu->validity_period, now, &validity) != 0)
		return SMPP_ESME_RINVEXPIRY;
	m->account = c->account->cfg->system_id;
	m->campaign = account_lane(c->account);
	m->lane = m->campaign;
	m->src_ton = pdu->source.ton;
	m->src_npi = pdu->source.npi;
	m->src_addr = pdu->source.addr;
	m->dst_ton = dest->ton;
	m->dst_npi = dest->npi;
	m->dst_addr = dest->addr[0] == '+' ? dest->addr + 1 : dest->addr;
	m->data_coding = pdu->data_coding;
	m->esm_class = pdu->esm_class;
	m->registered_delivery = pdu->registered_delivery;
	m->segments = 1;
	m->state = STORE_QUEUED;
	m->validity_ms = validity ? validity : now + DEFAULT_VALIDITY_MS;
	m->next_attempt_ms = now;
	m->created_ms = now;
	m->carrier = "";
	m->carrier_ids = "";
	return SMPP_ESME_ROK;
}

/* --- the compliance policy --------------------------------------------- */

static int campaign_allowed(const struct config_account *a, const char *campaign)
{
	return a->n_allowed_campaigns == 0 || config_campaign_listed(a, campaign);
}

/* The text a policy reads: UTF-8, after any UDH the application set. */
static size_t policy_text(const struct store_msg *m, char *out, size_t cap)
{
	const uint8_t *body = m->body;
	size_t len = m->body_len;
	if ((m->esm_class & SMPP_ESM_UDHI) && len > 0) {
		struct smpp_concat cc;
		size_t udh = 0;
		if (smpp_udh_parse(body, len, &cc, &udh) < 0)
			udh = len;
		body += udh;
		len -= udh;
	}
	long n = smpp_dcs_to_utf8(m->data_coding, body, len, (uint8_t *)out, cap,
	    SMPP_TEXT_REPLACE);
	return n > 0 ? (size_t)n : 0;
}

/* A rewritten text (prefix, footer) back into the message's coding. */
static int reencode(struct store_msg *m, const struct policy_verdict *v, uint8_t *buf,
    size_t cap)
{
	if (m->esm_class & SMPP_ESM_UDHI)
		return 0; /* a part of the application's own: not ours to rewrite */
	enum smpp_coding coding = v->ucs2 ? SMPP_CODING_UCS2 : SMPP_CODING_GSM7;
	long n = smpp_text_encode(coding, (const uint8_t *)v->text, v->text_len, buf, cap,
	    SMPP_TEXT_REPLACE);
	if (n < 0)
		return -1;
	m->body = buf;
	m->body_len = (size_t)n;
	m->data_coding = (uint8_t)smpp_coding_dcs(coding);
	return 0;
}

static void log_verdict(const char *account, const struct store_msg *m,
    const struct policy_verdict *v)
{
	char dst[48], reason[512];
	log_quote(m->dst_addr, strlen(m->dst_addr), dst, sizeof dst);
	/* the reason may quote the message's own words */
	log_quote(v->reason, strlen(v->reason), reason, sizeof reason);
	log_info("policy", "event=%s account=%s campaign=%s to=%s rule=%s status=0x%08x reason=%s",
	    v->action == POLICY_REJECT ? "reject" : "defer", account,
	    v->campaign ? v->campaign : "-", dst, v->rule ? v->rule : "-", v->status, reason);
}

/* What the next checks read: contacted, sends in the cap window, footer. */
static void record_send(struct relay *r, const struct store_msg *m,
    const struct policy_verdict *v)
{
	if (v->brand && v->record)
		compliance_record_send(r->compliance, v->brand, v->campaign, m->dst_addr,
		    relay_wall_ms() / 1000, v->record);
}

/* External hooks (below): a submit held until they have answered. */
struct held;
static struct held *hold(struct conn *c, const struct store_msg *m,
    const struct policy_msg *msg, const struct policy_verdict *v);
static void held_reply_to(struct held *h, const struct smpp_pdu *pdu);
static void held_multi(struct held *h, struct multi *mu, unsigned index,
    const struct smpp_addr *dest);

/*
 * Runs the checks of policy.yaml on a message built from a submit.  On
 * accept or defer the message gets its campaign (its queue lane), maybe a
 * rewritten body (in buf) and a due time.  Returns the status to answer.
 * When the verdict names external hooks, *held is set (status 0): the
 * hooks are being asked and the submit is answered when they have.
 */
static uint32_t apply_policy(struct conn *c, struct store_msg *m, uint8_t *buf, size_t cap,
    struct held **held)
{
	struct relay *r = c->relay;
	const struct config_account *a = c->account->cfg;
	*held = NULL;
	if (!r->policy)
		return SMPP_ESME_ROK; /* no policy file: the account's default campaign */
	static char text[4 * STORE_BODY_MAX], rewritten[4 * STORE_BODY_MAX];
	struct policy_msg msg = { a->system_id, m->src_addr, m->dst_addr, text, 0 };
	msg.text_len = policy_text(m, text, sizeof text);
	struct policy_verdict v = { .text_buf = rewritten, .text_cap = sizeof rewritten };
	if (policy_check(r->policy, relay_lookup(r), &msg, relay_wall_ms() / 1000, &v) != 0)
		return SMPP_ESME_RSYSERR;
	if (v.campaign && !campaign_allowed(a, v.campaign)) {
		log_info("policy", "event=reject account=%s campaign=%s rule=account reason=\"campaign not allowed for this account\"",
		    a->system_id, v.campaign);
		metrics_policy_rule(r->metrics, 1, "account");
		return SMPP_ESME_RINVSRCADR;
	}
	int64_t now = relay_wall_ms() / 1000;
	int asks_hooks = v.action != POLICY_REJECT && v.nhooks > 0;
	/* A message the hooks still judge is audited once they have; one that
	 * will be stored is audited under the id it will have. */
	if ((v.action != POLICY_ACCEPT || v.modified) && !asks_hooks) {
		if (v.action != POLICY_REJECT)
			m->id = store_reserve_id(r->store);
		compliance_audit_verdict(r->compliance, now, m->id, &msg, &v);
	}
	if (!asks_hooks)
		metrics_policy(r->metrics, &v); /* a verdict the hooks judge counts once they have */
	if (v.action == POLICY_REJECT) {
		log_verdict(a->system_id, m, &v);
		return v.status ? v.status : SMPP_ESME_RSUBMITFAIL;
	}
	m->campaign = v.campaign ? v.campaign : m->campaign;
	m->lane = m->campaign;
	m->segments = (uint8_t)(v.segments > 255 ? 255 : v.segments);
	if (v.modified && reencode(m, &v, buf, cap) != 0)
		return SMPP_ESME_RSYSERR;
	if (v.action == POLICY_DEFER) {
		log_verdict(a->system_id, m, &v);
		m->state = STORE_DEFERRED;
		m->next_attempt_ms = v.defer_until * 1000;
	}
	if (asks_hooks) {
		*held = hold(c, m, &msg, &v);
		return *held ? SMPP_ESME_ROK : SMPP_ESME_RSYSERR;
	}
	record_send(r, m, &v);
	return SMPP_ESME_ROK;
}

/* Answers a request by its command and sequence (the PDU may be gone). */
static void respond_to(struct conn *c, uint32_t command_id, uint32_t sequence,
    uint32_t status)
{
	struct smpp_pdu resp;
	smpp_pdu_init(&resp, smpp_resp_id(command_id), sequence);
	resp.command_status = status;
	smpp_session_respond(c->sess, &resp);
	metrics_submit(c->relay->metrics, c->account, command_id, status);
}

/*
 * Hand op to the store with a cookie that answers the request when it is
 * committed; if it cannot even be queued, answer ESME_RSYSERR now.
 */
static void submit_answered(struct conn *c, uint32_t command_id, uint32_t sequence,
    enum pending_kind kind, struct store_op *op, const char *lane, int64_t due_ms)
{
	struct pending *p = pending_get(c->relay, kind);
	if (!p) {
		respond_to(c, command_id, sequence, SMPP_ESME_RSYSERR);
		return;
	}
	p->conn = conn_ref(c);
	p->sequence = sequence;
	p->command_id = command_id;
	p->lane = lane;
	p->due_ms = due_ms;
	p->read_us = relay_turn_us();
	op->cookie = p;
	int rc = store_submit(c->relay->store, op, 1);
	if (rc != 0) {
		pending_put(p);
		log_error("upstream", "event=store_submit_failed command=%s error=\"%s\"",
		    smpp_command_name(command_id), store_strerror(rc));
		respond_to(c, command_id, sequence, SMPP_ESME_RSYSERR);
	}
}

static void enqueue(struct conn *c, uint32_t command_id, uint32_t sequence,
    struct store_msg *m)
{
	const char *lane = dispatch_lane_name(c->relay, m->lane);
	if (!lane) {
		respond_to(c, command_id, sequence, SMPP_ESME_RSYSERR);
		return;
	}
	struct store_op op = { .kind = STORE_OP_ENQUEUE, .u.msg = m };
	submit_answered(c, command_id, sequence, PENDING_SUBMIT_ACK, &op, lane,
	    m->next_attempt_ms);
}

static void on_submit(struct conn *c, const struct smpp_pdu *pdu)
{
	struct store_msg m;
	static uint8_t body[STORE_BODY_MAX];
	struct held *h = NULL;
	if (c->relay->policy && pdu->dest.addr)
		compliance_prefetch(c->relay->compliance, pdu->dest.addr);
	uint32_t status = build_message(c, pdu, &pdu->dest, &m);
	if (status == SMPP_ESME_ROK)
		status = apply_policy(c, &m, body, sizeof body, &h);
	if (status != SMPP_ESME_ROK) {
		respond_status(c, pdu, status);
		return;
	}
	if (h) {
		/* Unanswered, it counts in the session's window meanwhile. */
		held_reply_to(h, pdu);
		return;
	}
	enqueue(c, pdu->command_id, pdu->sequence_number, &m);
}

static void answer_submit(struct conn *c, const struct pending *p, uint32_t status,
    uint64_t id)
{
	struct smpp_pdu resp;
	char text[STORE_MSGID_LEN + 1] = "";
	smpp_pdu_init(&resp, smpp_resp_id(p->command_id), p->sequence);
	resp.command_status = status;
	if (status == SMPP_ESME_ROK)
		store_msgid_format(id, text);
	resp.message_id = text;
	if (smpp_session_respond(c->sess, &resp) != 0)
		log_warn("upstream", "event=respond_failed peer=%s seq=%u", c->peer, p->sequence);
	metrics_submit(c->relay->metrics, c->account, p->command_id, status);
	metrics_submit_ack(c->relay->metrics, c->account, relay_turn_since_us(p->read_us));
	conn_flush(c);
	conn_resume(c);
}

static uint32_t store_status(int rc)
{
	if (rc == 0)
		return SMPP_ESME_ROK;
	return rc == STORE_EFULL ? SMPP_ESME_RMSGQFUL : SMPP_ESME_RSYSERR;
}

/* --- query and cancel ------------------------------------------------- */

static int own_message(struct conn *c, const char *text, struct store_msg *m,
    void *buf, size_t cap)
{
	uint64_t id;
	if (store_msgid_parse(text, &id) != 0)
		return -1;
	if (store_get_message(c->relay->store, id, m, buf, cap) != 0)
		return -1;
	return strcmp(m->account, c->account->cfg->system_id) == 0 ? 0 : -1;
}

static uint8_t smpp_state_of(enum store_state s)
{
	switch (s) {
	case STORE_DELIVERED: return SMPP_STATE_DELIVERED;
	case STORE_EXPIRED: return SMPP_STATE_EXPIRED;
	case STORE_CANCELLED: return SMPP_STATE_DELETED;
	case STORE_UNDELIVERABLE: return SMPP_STATE_UNDELIVERABLE;
	case STORE_REJECTED: return SMPP_STATE_REJECTED;
	case STORE_QUEUED:
	case STORE_DEFERRED: return SMPP_STATE_SCHEDULED;
	default: return SMPP_STATE_ENROUTE;
	}
}

static void on_query(struct conn *c, const struct smpp_pdu *pdu)
{
	static uint8_t buf[STORE_MSG_MAX];
	struct store_msg m;
	struct smpp_pdu resp;
	char id[STORE_MSGID_LEN + 1], final[17] = "";
	snprintf(id, sizeof id, "%s", pdu->message_id);
	if (own_message(c, pdu->message_id, &m, buf, sizeof buf) != 0) {
		respond_status(c, pdu, SMPP_ESME_RQUERYFAIL);
		return;
	}
	smpp_pdu_init_resp(&resp, pdu, SMPP_ESME_ROK);
	resp.message_id = id;
	if (store_state_is_final(m.state))
		smpp_time_format(m.updated_ms, final);
	resp.final_date = final;
	resp.message_state = smpp_state_of(m.state);
	resp.error_code = (uint8_t)(m.last_error > 0xff ? 0xff : m.last_error);
	smpp_session_respond(c->sess, &resp);
}

static void on_cancel(struct conn *c, const struct smpp_pdu *pdu)
{
	static uint8_t buf[STORE_MSG_MAX];
	struct store_msg m;
	if (own_message(c, pdu->message_id, &m, buf, sizeof buf) != 0) {
		respond_status(c, pdu, SMPP_ESME_RCANCELFAIL);
		return;
	}
	struct store_op op = { .kind = STORE_OP_CANCEL, .id = m.id };
	submit_answered(c, pdu->command_id, pdu->sequence_number, PENDING_CANCEL, &op, NULL, 0);
}

static void on_replace(struct conn *c, const struct smpp_pdu *pdu)
{
	static uint8_t buf[STORE_MSG_MAX];
	struct store_msg m;
	if (own_message(c, pdu->message_id, &m, buf, sizeof buf) != 0 ||
	    (m.state != STORE_QUEUED && m.state != STORE_DEFERRED)) {
		respond_status(c, pdu, SMPP_ESME_RREPLACEFAIL);
		return;
	}
	int64_t now = relay_wall_ms(), validity = 0;
	if (smpp_time_parse(pdu->validity_period, now, &validity) != 0) {
		respond_status(c, pdu, SMPP_ESME_RINVEXPIRY);
		return;
	}
	struct store_op op = { .kind = STORE_OP_REPLACE, .id = m.id };
	message_body(pdu, &op.u.replace.body, &op.u.replace.body_len);
	op.u.replace.registered_delivery = pdu->registered_delivery;
	op.u.replace.validity_ms = validity;
	submit_answered(c, pdu->command_id, pdu->sequence_number, PENDING_REPLACE, &op, NULL, 0);
}

/* --- submit_multi ----------------------------------------------------- */

struct multi {
	struct conn_ref conn;
	uint32_t sequence;
	unsigned remaining, failed;
	uint64_t first_id;
	struct smpp_unsuccess unsuccess[SMPP_MAX_DESTS];
	char addrs[SMPP_MAX_DESTS][22];
};

static void multi_fail(struct multi *mu, const struct smpp_addr *a, uint32_t status)
{
	struct smpp_unsuccess *u = &mu->unsuccess[mu->failed];
	/* SMPP addresses are at most 20 characters: a longer one is cut */
	const char *src = a->addr ? a->addr : "";
	size_t n = strnlen(src, sizeof mu->addrs[0] - 1);
	memcpy(mu->addrs[mu->failed], src, n);
	mu->addrs[mu->failed][n] = '\0';
	u->sme = (struct smpp_addr){ a->ton, a->npi, mu->addrs[mu->failed] };
	u->error_status_code = status;
	mu->failed++;
}

static void multi_answer(struct relay *r, struct multi *mu)
{
	struct conn *c = conn_get(r, mu->conn);
	if (c) {
		static struct smpp_pdu resp;
		char id[STORE_MSGID_LEN + 1] = "";
		smpp_pdu_init(&resp, SMPP_SUBMIT_MULTI_RESP, mu->sequence);
		if (mu->first_id)
			store_msgid_format(mu->first_id, id);
		resp.message_id = id;
		resp.no_unsuccess = (uint8_t)mu->failed;
		memcpy(resp.unsuccess, mu->unsuccess, mu->failed * sizeof mu->unsuccess[0]);
		smpp_session_respond(c->sess, &resp);
		metrics_submit(r->metrics, c->account, SMPP_SUBMIT_MULTI, SMPP_ESME_ROK);
		conn_flush(c);
	}
	free(mu);
}

/* Destinations the store could not take while others wait on hooks. */
static void multi_batch_failed(struct relay *r, struct multi *mu, struct store_op *ops,
    unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct store_msg *m = ops[i].u.msg;
		multi_fail(mu, &(struct smpp_addr){ m->dst_ton, m->dst_npi, m->dst_addr },
		    SMPP_ESME_RSYSERR);
		pending_put(ops[i].cookie);
	}
	mu->remaining -= n;
	if (mu->remaining == 0)
		multi_answer(r, mu);
}

static void on_submit_multi(struct conn *c, const struct smpp_pdu *pdu)
{
	struct multi *mu = calloc(1, sizeof *mu);
	if (!mu) {
		respond_status(c, pdu, SMPP_ESME_RSYSERR);
		return;
	}
	mu->conn = conn_ref(c);
	mu->sequence = pdu->sequence_number;
	static struct store_msg msgs[SMPP_MAX_DESTS];
	static struct store_op ops[SMPP_MAX_DESTS];
	static uint8_t bodies[SMPP_MAX_DESTS][STORE_BODY_MAX];
	unsigned n = 0, held = 0;
	for (unsigned i = 0; i < pdu->number_of_dests; i++) {
		const struct smpp_dest *d = &pdu->dests[i];
		struct held *h = NULL;
		if (d->dest_flag != 1) {
			multi_fail(mu, &(struct smpp_addr){ 0, 0, d->dl_name }, SMPP_ESME_RINVDLNAME);
			continue;
		}
		uint32_t st = build_message(c, pdu, &d->sme, &msgs[n]);
		if (st == SMPP_ESME_ROK)
			st = apply_policy(c, &msgs[n], bodies[n], sizeof bodies[n], &h);
		if (st != SMPP_ESME_ROK) {
			multi_fail(mu, &d->sme, st);
			continue;
		}
		if (h) {
			held_multi(h, mu, i, &d->sme);
			held++;
			continue;
		}
		struct pending *p = pending_get(c->relay, PENDING_MULTI);
		if (!p)
			break;
		p->multi = mu;
		p->lane = dispatch_lane_name(c->relay, msgs[n].lane);
		p->due_ms = msgs[n].next_attempt_ms;
		p->extra = i;
		ops[n] = (struct store_op){ .kind = STORE_OP_ENQUEUE, .cookie = p, .u.msg = &msgs[n] };
		n++;
	}
	/* Held destinations report to mu later: it must outlive them. */
	mu->remaining = n + held;
	if (n > 0 && store_submit(c->relay->store, ops, n) != 0) {
		if (held) {
			multi_batch_failed(c->relay, mu, ops, n);
			return;
		}
		for (unsigned i = 0; i < n; i++)
			pending_put(ops[i].cookie);
		free(mu);
		respond_status(c, pdu, SMPP_ESME_RSYSERR);
		return;
	}
	if (n + held == 0)
		multi_answer(c->relay, mu);
}

static void multi_completion(struct relay *r, struct pending *p,
    const struct store_completion *sc)
{
	struct multi *mu = p->multi;
	if (sc->rc == 0) {
		if (!mu->first_id)
			mu->first_id = sc->id;
		dispatch_lane_has_work(r, p->lane, p->due_ms);
	} else {
		multi_fail(mu, &(struct smpp_addr){ 1, 1, "" }, store_status(sc->rc));
	}
	if (--mu->remaining == 0)
		multi_answer(r, mu);
}

/* --- external policy hooks ---------------------------------------------- */

/*
 * A submit, or one destination of a submit_multi, whose verdict named
 * hooks.  It waits here, unanswered (so the session's window counts it
 * while its other submits go on), until the hooks have judged it.  The
 * PDU and the static buffers of the submit are gone by then: what the
 * store and the audit need is copied.  The policy is referenced because
 * the verdict's strings and the hooks point into it.
 */
struct held {
	struct relay *relay;
	struct conn_ref conn;
	uint32_t sequence, command_id;
	struct multi *multi;              /* NULL: a submit_sm or data_sm */
	unsigned dest_index;
	char dest[24];                    /* multi: the address as submitted */
	struct policy *policy;
	struct policy_verdict v;          /* without its text */
	char rule[80];
	char token[32];
	struct store_msg m;
	char src[STORE_STR_MAX + 1], dst[STORE_STR_MAX + 1];
	uint8_t body[STORE_BODY_MAX];
};

static void held_free(struct held *h)
{
	policy_unref(h->policy);
	free(h);
}

static void held_reply_to(struct held *h, const struct smpp_pdu *pdu)
{
	h->sequence = pdu->sequence_number;
	h->command_id = pdu->command_id;
}

static void held_multi(struct held *h, struct multi *mu, unsigned index,
    const struct smpp_addr *dest)
{
	h->multi = mu;
	h->dest_index = index;
	snprintf(h->dest, sizeof h->dest, "%s", dest->addr ? dest->addr : "");
}

static void hook_done(void *arg, const struct hook_result *res);

/* The request is formatted now, while the message's text is at hand. */
static int held_ask(struct held *h, const struct policy_msg *msg,
    const struct policy_verdict *v)
{
	size_t cap = 1024 + 3 * (v->text_len + 4 * STORE_STR_MAX);
	char *req = malloc(cap);
	if (!req)
		return -1;
	int n = policy_hook_request_format(req, cap, h->token, msg, v);
	int rc = n < 0 ? -1 : hooks_ask(h->relay->hooks, v->hooks, v->nhooks, h->token, req,
	    (size_t)n, hook_done, h);
	free(req);
	return rc;
}

static struct held *hold(struct conn *c, const struct store_msg *m,
    const struct policy_msg *msg, const struct policy_verdict *v)
{
	static uint64_t tokens;
	struct relay *r = c->relay;
	struct held *h = calloc(1, sizeof *h);
	if (!h || m->body_len > sizeof h->body) {
		free(h);
		log_error("hook", "event=hold_failed account=%s reason=\"out of memory\"",
		    c->account->cfg->system_id);
		return NULL;
	}
	h->relay = r;
	h->conn = conn_ref(c);
	h->policy = policy_ref(r->policy);
	snprintf(h->token, sizeof h->token, "%d-%llu", r->cfg->node_id,
	    (unsigned long long)++tokens);
	h->m = *m;
	/* the id is taken now, with the checks: compliance_optout_since()
	 * orders a message's checks against opt-outs by its id */
	if (h->m.id == 0)
		h->m.id = store_reserve_id(r->store);
	snprintf(h->src, sizeof h->src, "%s", m->src_addr);
	snprintf(h->dst, sizeof h->dst, "%s", m->dst_addr);
	memcpy(h->body, m->body, m->body_len);
	h->m.src_addr = h->src;
	h->m.dst_addr = h->dst;
	h->m.body = h->body;
	h->v = *v;
	h->v.text = NULL;   /* it lives in apply_policy's buffer */
	h->v.text_len = 0;
	h->v.text_buf = NULL;
	h->v.text_cap = 0;
	if (held_ask(h, msg, v) != 0) {
		log_error("hook", "event=hold_failed account=%s token=%s reason=\"out of memory\"",
		    c->account->cfg->system_id, h->token);
		held_free(h);
		return NULL;
	}
	log_debug("hook", "event=held account=%s token=%s hooks=%u", c->account->cfg->system_id,
	    h->token, v->nhooks);
	return h;
}

/*
 * The hooks' verdict, as the policy's own would have been: audited and
 * logged, a defer holds the message back for the hook's defer time.
 * Returns the status to answer.
 */
static uint32_t held_verdict(struct held *h, const struct hook_result *res)
{
	struct relay *r = h->relay;
	struct policy_verdict *v = &h->v;
	int64_t now = relay_wall_ms();
	struct policy_msg msg = { h->m.account, h->m.src_addr, h->m.dst_addr, NULL, 0 };
	if (res->action != POLICY_ACCEPT) {
		snprintf(h->rule, sizeof h->rule, "hook:%s", res->hook->name);
		v->action = res->action;
		v->rule = h->rule;
		if (res->text[0])
			snprintf(v->reason, sizeof v->reason, "%s", res->text);
		else
			snprintf(v->reason, sizeof v->reason, "%s by hook %s",
			    res->action == POLICY_REJECT ? "rejected" : "deferred", res->hook->name);
		v->status = res->action == POLICY_REJECT ? POLICY_ST_HOOK : POLICY_ST_OK;
	}
	if (v->action != POLICY_ACCEPT || v->modified)
		compliance_audit_verdict(r->compliance, now / 1000,
		    v->action == POLICY_REJECT ? 0 : h->m.id, &msg, v);
	metrics_policy(r->metrics, v);
	if (v->action == POLICY_REJECT) {
		log_verdict(h->m.account, &h->m, v);
		return POLICY_ST_HOOK;
	}
	if (res->action == POLICY_DEFER) {
		/* the later of the hook's defer and a policy defer (quiet hours) */
		int64_t due = now + res->hook->defer_ms;
		h->m.state = STORE_DEFERRED;
		if (h->m.next_attempt_ms < due)
			h->m.next_attempt_ms = due;
		v->defer_until = h->m.next_attempt_ms / 1000;
		log_verdict(h->m.account, &h->m, v);
	}
	record_send(r, &h->m, v);
	return SMPP_ESME_ROK;
}

/* One destination of a submit_multi is judged: store it or count it out. */
static void held_multi_done(struct held *h, uint32_t status)
{
	struct relay *r = h->relay;
	struct multi *mu = h->multi;
	struct smpp_addr dest = { h->m.dst_ton, h->m.dst_npi, h->dest };
	struct pending *p = status == SMPP_ESME_ROK ? pending_get(r, PENDING_MULTI) : NULL;
	if (p) {
		p->multi = mu;
		p->lane = dispatch_lane_name(r, h->m.lane);
		p->due_ms = h->m.next_attempt_ms;
		p->extra = h->dest_index;
		struct store_op op = { .kind = STORE_OP_ENQUEUE, .cookie = p, .u.msg = &h->m };
		if (p->lane && store_submit(r->store, &op, 1) == 0)
			return; /* multi_completion() counts it */
		pending_put(p);
		status = SMPP_ESME_RSYSERR;
	} else if (status == SMPP_ESME_ROK) {
		status = SMPP_ESME_RSYSERR;
	}
	multi_fail(mu, &dest, status);
	if (--mu->remaining == 0)
		multi_answer(r, mu);
}

static void held_answer(struct conn *c, struct held *h, uint32_t status)
{
	if (status == SMPP_ESME_ROK) {
		enqueue(c, h->command_id, h->sequence, &h->m);
	} else {
		respond_to(c, h->command_id, h->sequence, status);
	}
	conn_flush(c);
	conn_resume(c);
}

static void hook_done(void *arg, const struct hook_result *res)
{
	struct held *h = arg;
	if (res->outcome == HOOK_SHUTDOWN) {
		/* Never acknowledged: the application submits it again. */
		log_info("hook", "event=held_dropped token=%s reason=\"smppd is stopping\"", h->token);
		if (h->multi && --h->multi->remaining == 0)
			free(h->multi);
		held_free(h);
		return;
	}
	struct conn *c = conn_get(h->relay, h->conn);
	if (!c) {
		/* Nobody to answer, so nothing was promised: drop it. */
		log_info("hook", "event=held_dropped token=%s reason=\"session closed\"", h->token);
		if (h->multi)
			held_multi_done(h, SMPP_ESME_RSYSERR);
		held_free(h);
		return;
	}
	uint32_t status = held_verdict(h, res);
	if (h->multi)
		held_multi_done(h, status);
	else
		held_answer(c, h, status);
	held_free(h);
}

/* --- receipts and MOs to the application ------------------------------ */

struct receipt_batch {
	uint64_t seq[RECEIPT_BATCH];
	uint8_t data[RECEIPT_BATCH][DLR_MAX];
	size_t len[RECEIPT_BATCH];
	unsigned n, max;
};

static int collect_receipt(uint64_t seq, const void *data, size_t len, void *arg)
{
	struct receipt_batch *b = arg;
	if (len > DLR_MAX)
		return 0; /* cannot be ours; skip */
	b->seq[b->n] = seq;
	memcpy(b->data[b->n], data, len);
	b->len[b->n] = len;
	return ++b->n >= b->max;
}

/*
 * Deliveries go round the account's receivers RX_BURST at a time (fewer
 * when a window fills): constant time per delivery however many binds the
 * account has (a least-loaded scan walked every bind per receipt), and a
 * bind's deliveries go out together in one write.  One per bind in turn
 * cost a write, and the application's read and answer, per receipt: with
 * 1,000 binds the kernel's time doubled.  A whole window at once made one
 * bind's submits wait behind hundreds of receipts.
 */
#define RX_BURST 16

static struct conn *receiver_with_room(struct account_rt *a)
{
	struct conn *start = a->rx_turn ? a->rx_turn : a->receivers;
	struct conn *c = start;
	while (c) {
		if (smpp_session_outstanding(c->sess) < (uint32_t)a->cfg->window) {
			if (c != a->rx_turn) {
				a->rx_turn = c;
				a->rx_burst = 0;
			}
			if (++a->rx_burst >= RX_BURST) {
				a->rx_turn = c->next_rx;
				a->rx_burst = 0;
			}
			return c;
		}
		c = c->next_rx ? c->next_rx : a->receivers;
		if (c == start)
			break;
	}
	return NULL;
}

/* Build the deliver_sm an application sees for a stored delivery. */
static void build_delivery(const struct dlr *d, struct smpp_pdu *pdu,
    struct smpp_tlv_store *st, char *text, size_t cap, char *id)
{
	smpp_pdu_init(pdu, SMPP_DELIVER_SM, 0);
	pdu->source = (struct smpp_addr){ d->src_ton, d->src_npi, d->src };
	pdu->dest = (struct smpp_addr){ d->dst_ton, d->dst_npi, d->dst };
	pdu->data_coding = d->data_coding;
	st->used = 0;
	if (d->kind == DLR_MO) {
		pdu->esm_class = d->esm_class;
		pdu->short_message = d->body;
		pdu->sm_length = (uint8_t)(d->body_len > SMPP_MAX_SM_LENGTH ? 0 : d->body_len);
		if (d->body_len > SMPP_MAX_SM_LENGTH)
			smpp_tlv_add(pdu, SMPP_TLV_MESSAGE_PAYLOAD, d->body, (uint16_t)d->body_len);
		return;
	}
	struct smpp_receipt rc;
	smpp_receipt_init(&rc);
	store_msgid_format(d->msg_id, id);
	copy_field(rc.id, sizeof rc.id, id);
	rc.sub = 1;
	rc.dlvrd = d->stat == SMPP_STAT_DELIVRD ? 1 : 0;
	rc.stat = (enum smpp_stat)d->stat;
	rc.err = (int)(d->err > 999 ? 999 : d->err);
	smpp_receipt_time_from_ms(d->submit_ms, &rc.submit_date);
	smpp_receipt_time_from_ms(d->done_ms, &rc.done_date);
	int n = smpp_receipt_format(&rc, text, cap);
	pdu->esm_class = SMPP_ESM_TYPE_RECEIPT;
	pdu->data_coding = 0;
	pdu->short_message = (const uint8_t *)text;
	pdu->sm_length = (uint8_t)(n < (int)cap && n <= SMPP_MAX_SM_LENGTH ? n : 0);
	smpp_tlv_add_str(pdu, SMPP_TLV_RECEIPTED_MESSAGE_ID, id);
	int state = smpp_stat_to_state((enum smpp_stat)d->stat);
	if (state >= 0)
		smpp_tlv_add_int(pdu, st, SMPP_TLV_MESSAGE_STATE, (uint32_t)state);
	if (d->err) {
		static uint8_t net[3];
		net[0] = 3; /* GSM */
		smpp_put_u16(net + 1, (uint16_t)(d->err > 0xffff ? 0xffff : d->err));
		smpp_tlv_add(pdu, SMPP_TLV_NETWORK_ERROR_CODE, net, 3);
	}
}

static int send_delivery(struct conn *c, uint64_t seq, const uint8_t *data, size_t len)
{
	static struct smpp_pdu pdu;
	struct smpp_tlv_store st;
	struct dlr d;
	char text[200], id[STORE_MSGID_LEN + 1];
	if (dlr_decode(data, len, &d) != 0) {
		log_error("upstream", "event=bad_pending_delivery seq=%llu", (unsigned long long)seq);
		return 1; /* skip it: acking would lose it, resending cannot fix it */
	}
	build_delivery(&d, &pdu, &st, text, sizeof text, id);
	int rc = smpp_session_send(c->sess, &pdu, seq, relay_mono_ms());
	if (rc == 0 && d.kind == DLR_RECEIPT)
		log_debug("upstream", "event=receipt_sent id=%s system_id=%s", id,
		    c->account->cfg->system_id);
	return rc == 0 ? 0 : -1;
}

static void push_receipts_now(struct relay *r, struct account_rt *a)
{
	if (!a->receivers)
		return;
	if (a->receipt_rescan && a->receipts_inflight == 0) {
		a->receipt_cursor = 0;
		a->receipt_rescan = 0;
	}
	static struct receipt_batch batch;
	for (;;) {
		struct conn *c = receiver_with_room(a);
		if (!c)
			return;
		batch.n = 0;
		batch.max = RECEIPT_BATCH;
		store_receipts_list(r->store, a->cfg->system_id, a->receipt_cursor,
		    collect_receipt, &batch);
		if (batch.n == 0)
			return;
		for (unsigned i = 0; i < batch.n; i++) {
			c = receiver_with_room(a);
			if (!c)
				return;
			int rc = send_delivery(c, batch.seq[i], batch.data[i], batch.len[i]);
			if (rc < 0)
				return;
			a->receipt_cursor = batch.seq[i];
			if (rc == 0)
				a->receipts_inflight++;
			conn_flush(c);
			conn_request_sent(c);
		}
	}
}

/*
 * Receipts are looked for once per loop turn and account, not once per
 * event that may have made one: a batch of commits or of deliver_sm_resps
 * read together used to cost a store read each, most of them finding
 * nothing the first had not already sent.
 */
static void push_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	(void)fd;
	(void)what;
	while (r->push_list) {
		struct account_rt *a = r->push_list;
		r->push_list = a->push_next;
		a->push_next = NULL;
		a->push_wanted = 0;
		push_receipts_now(r, a);
	}
}

void upstream_push_receipts(struct relay *r, struct account_rt *a)
{
	if (!a->receivers || a->push_wanted)
		return;
	if (!r->push_ev) {
		push_receipts_now(r, a);
		return;
	}
	a->push_wanted = 1;
	a->push_next = r->push_list;
	r->push_list = a;
	event_active(r->push_ev, EV_TIMEOUT, 0);
}

static void receipt_answered(struct conn *c, const struct smpp_event *ev)
{
	struct account_rt *a = c->account;
	if (!a)
		return;
	if (a->receipts_inflight)
		a->receipts_inflight--;
	if (ev->kind == SMPP_EV_RESPONSE && ev->status == SMPP_ESME_ROK) {
		struct store_op op = { .kind = STORE_OP_RECEIPT_ACK, .id = ev->cookie };
		op.u.receipt.account = a->cfg->system_id;
		if (store_submit(c->relay->store, &op, 1) != 0)
			a->receipt_rescan = 1;
	} else {
		/* Not taken: it stays stored and goes out again from the start. */
		a->receipt_rescan = 1;
	}
	upstream_push_receipts(c->relay, a);
}

/* --- events ----------------------------------------------------------- */

/* The account's ingress rate: a submit past it gets ESME_RTHROTTLED. */
static int over_ingress(struct conn *c, uint32_t messages)
{
	struct account_rt *a = c->account;
	if (!a || a->cfg->ingress_rate <= 0)
		return 0;
	return !thr_gcra_try_take(&a->ingress, messages, relay_now_us());
}

static void on_request(struct conn *c, const struct smpp_event *ev)
{
	const struct smpp_pdu *pdu = ev->pdu;
	uint32_t messages = pdu->command_id == SMPP_SUBMIT_MULTI ? pdu->number_of_dests : 1;
	if ((pdu->command_id == SMPP_SUBMIT_SM || pdu->command_id == SMPP_DATA_SM ||
	    pdu->command_id == SMPP_SUBMIT_MULTI) && over_ingress(c, messages)) {
		respond_status(c, pdu, SMPP_ESME_RTHROTTLED);
		return;
	}
	switch (pdu->command_id) {
	case SMPP_SUBMIT_SM:
	case SMPP_DATA_SM:
		on_submit(c, pdu);
		break;
	case SMPP_SUBMIT_MULTI:
		on_submit_multi(c, pdu);
		break;
	case SMPP_QUERY_SM:
		on_query(c, pdu);
		break;
	case SMPP_CANCEL_SM:
		on_cancel(c, pdu);
		break;
	case SMPP_REPLACE_SM:
		on_replace(c, pdu);
		break;
	default:
		if (ev->needs_response)
			respond_status(c, pdu, SMPP_ESME_RINVCMDID);
		break;
	}
}

void upstream_event(struct conn *c, const struct smpp_event *ev)
{
	switch (ev->kind) {
	case SMPP_EV_BIND_REQUEST:
		on_bind(c, ev);
		break;
	case SMPP_EV_REQUEST:
		on_request(c, ev);
		break;
	case SMPP_EV_RESPONSE:
	case SMPP_EV_TIMEOUT:
	case SMPP_EV_ABORTED:
		receipt_answered(c, ev);
		break;
	case SMPP_EV_PROTOCOL_ERROR:
		log_warn("upstream", "event=protocol_error peer=%s field=%s reason=\"%s\" status=%s",
		    c->peer, ev->error.field ? ev->error.field : "", ev->error.reason ? ev->error.reason : "",
		    smpp_status_name(ev->error.status));
		if (ev->matched)
			receipt_answered(c, ev);
		break;
	case SMPP_EV_CLOSED:
		log_info("upstream", "event=closed peer=%s reason=%s", c->peer,
		    smpp_close_reason_name(ev->reason));
		break;
	default:
		break;
	}
}

void upstream_completion(struct relay *r, const struct store_completion *sc)
{
	struct pending *p = sc->cookie;
	struct conn *c = conn_get(r, p->conn);
	switch (p->kind) {
	case PENDING_SUBMIT_ACK:
		if (sc->rc != 0 && sc->rc != STORE_EFULL)
			log_error("upstream", "event=enqueue_failed error=\"%s\"", store_strerror(sc->rc));
		if (c)
			answer_submit(c, p, store_status(sc->rc), sc->id);
		if (sc->rc == 0)
			dispatch_lane_has_work(r, p->lane, p->due_ms);
		break;
	case PENDING_MULTI:
		multi_completion(r, p, sc);
		break;
	case PENDING_CANCEL:
	case PENDING_REPLACE:
		if (c) {
			struct smpp_pdu resp;
			uint32_t fail = p->kind == PENDING_CANCEL ? SMPP_ESME_RCANCELFAIL :
			    SMPP_ESME_RREPLACEFAIL;
			smpp_pdu_init(&resp, smpp_resp_id(p->command_id), p->sequence);
			resp.command_status = sc->rc == 0 && sc->value ? SMPP_ESME_ROK : fail;
			smpp_session_respond(c->sess, &resp);
			conn_flush(c);
		}
		break;
	default:
		break;
	}
	pending_put(p);
}

/* --- listeners -------------------------------------------------------- */

static const struct config_listener *listener_config(const struct relay *r,
    const struct evconnlistener *l)
{
	for (size_t i = 0; i < r->n_listeners; i++)
		if (r->listeners[i] == l)
			return &r->cfg->listeners[i];
	return &r->cfg->listeners[0];
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct relay *r = arg;
	const struct config_listener *lc = listener_config(r, l);
	char peer[64];
	net_format_addr(sa, peer, sizeof peer);
	/* Slowloris links that never finish a bind are closed at bind_timeout. */
	struct smpp_session_config scfg = {
		.role = SMPP_ROLE_SMSC,
		.window = 1024,
		.in_window = 0,
		.max_pdu_len = (uint32_t)lc->max_pdu,
		.response_timeout_ms = 30000,
		.enquire_link_ms = 60000,
		.idle_timeout_ms = (uint32_t)lc->bind_timeout_ms,
	};
	evutil_make_socket_nonblocking(fd);
	struct conn *c = secure_accept(r, l, fd, &scfg, peer);
	if (!c) {
		log_error("upstream", "event=accept_failed peer=%s reason=\"out of memory\"", peer);
		return;
	}
	memcpy(&c->peer_addr, sa, (size_t)salen < sizeof c->peer_addr ? (size_t)salen :
	    sizeof c->peer_addr);
	log_debug("upstream", "event=connect peer=%s", peer);
}

void upstream_stop(struct relay *r)
{
	if (r->push_ev)
		event_free(r->push_ev);
	r->push_ev = NULL;
	r->push_list = NULL;
}

int upstream_listen(struct relay *r)
{
	r->push_ev = event_new(r->base, -1, 0, push_cb, r);
	if (!r->push_ev)
		return -1;
	r->listeners = calloc(r->cfg->n_listeners, sizeof *r->listeners);
	if (!r->listeners && r->cfg->n_listeners)
		return -1;
	for (size_t i = 0; i < r->cfg->n_listeners; i++) {
		const struct config_listener *lc = &r->cfg->listeners[i];
		struct evconnlistener *l = evconnlistener_new_bind(r->base, accept_cb, r,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
		    (const struct sockaddr *)&lc->address.sa, (int)lc->address.salen);
		if (!l) {
			log_error("upstream", "event=listen_failed listener=%s address=%s:%d reason=\"%s\"",
			    lc->name, lc->address.host, lc->address.port, strerror(errno));
			return -1;
		}
		r->listeners[i] = l;
		r->n_listeners = i + 1;
		char where[80];
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &len);
		net_format_addr((struct sockaddr *)&ss, where, sizeof where);
		log_info("upstream", "event=listening listener=%s address=%s", lc->name, where);
	}
	return 0;
}
