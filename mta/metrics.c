/*
 * Metrics: counters kept on the loop thread, rendered as the Prometheus
 * text format.  See metrics.h for the rules and docs/metrics.md for the
 * list.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "mta/metrics.h"
#include "mta/pacing.h"
#include "mta/relay.h"
#include "policy/policy.h"
#include "smpp/receipt.h"

/* SMPP 3.4 command_status values with a name, and smppd's policy range
 * (shared/DESIGN.md), sorted: anything else is "other". */
static const uint32_t known_status[] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0a, 0x0b, 0x0c,
	0x0d, 0x0e, 0x0f, 0x11, 0x13, 0x14, 0x15, 0x33, 0x34, 0x40, 0x42, 0x43,
	0x44, 0x45, 0x48, 0x49, 0x50, 0x51, 0x53, 0x54, 0x55, 0x58, 0x61, 0x62,
	0x63, 0x64, 0x65, 0x66, 0x67, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xfe, 0xff,
	0x400, 0x401, 0x402, 0x403, 0x404, 0x405, 0x406, 0x407,
};
#define N_KNOWN (sizeof known_status / sizeof known_status[0])
#define N_STATUS (N_KNOWN + 1)   /* the last: other */

/* Policy rules as the verdicts name them ("content:NAME" and "hook:NAME"
 * by their kind), and "account" for a campaign the account may not use. */
static const char *const rule_names[] = {
	"registration", "account", "campaign", "opt_out", "consent", "number",
	"line_type", "content", "segments", "frequency", "quiet_hours", "hook",
	"store", "other",
};
#define N_RULE (sizeof rule_names / sizeof rule_names[0])

static const enum store_state final_states[] = {
	STORE_DELIVERED, STORE_UNDELIVERABLE, STORE_EXPIRED, STORE_REJECTED,
};
#define N_FINAL (sizeof final_states / sizeof final_states[0])

static const char *const keyword_names[] = { "opt_out", "opt_in", "help" };
#define N_KEYWORD 3

static const char *const limit_names[METRICS_LIMIT_COUNT] = {
	"campaign_rate", "brand_cap", "number_mps", "carrier_mps", "bind_mps", "bind_window",
};

#define N_STAT (SMPP_STAT_OTHER + 1)

/* Latency buckets (carrier responses, submit acks): upper bounds in us,
 * and as text. */
static const uint64_t latency_le_us[] = {
	500, 1000, 2500, 5000, 7500, 10000, 15000, 25000, 50000, 100000, 250000,
	500000, 1000000, 2500000, 5000000, 10000000,
};
static const char *const latency_le[] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.0075", "0.01", "0.015", "0.025", "0.05",
	"0.1", "0.25", "0.5", "1", "2.5", "5", "10",
};
#define N_LATENCY (sizeof latency_le_us / sizeof latency_le_us[0])

/* Campaign slots: "none", the lanes by pacing id, then "other". */
#define SLOT_NONE 0
#define SLOT_OTHER (METRICS_CAMPAIGNS_MAX + 1)
#define N_SLOTS (METRICS_CAMPAIGNS_MAX + 2)

struct campaign_counts {
	uint64_t final[N_FINAL];
	uint64_t optouts;
	uint64_t keywords[N_KEYWORD];
	uint64_t waits[METRICS_LIMIT_COUNT];
};

struct latency_hist {
	uint64_t counts[N_LATENCY + 1];   /* not cumulative; the last: +Inf */
	uint64_t sum_us;
};

struct account_counts {
	uint64_t submits[N_STATUS];
	struct latency_hist ack;
};

struct carrier_counts {
	uint64_t submits, unanswered, mo;
	uint64_t responses[N_STATUS];
	uint64_t receipts[N_STAT];
	uint64_t matches[METRICS_MATCH_COUNT];
	struct latency_hist latency;
};

/* Accounts and carriers by name: a slot keeps its counts across reloads
 * that add, remove, reorder or rebuild them. */
struct name_slots {
	char **names;
	size_t n, cap;
};

struct metrics {
	struct name_slots account_names, carrier_names;
	size_t n_accounts, n_carriers;  /* slots whose counts are allocated */
	struct account_counts *accounts;
	uint64_t rejects[N_RULE], defers[N_RULE];
	struct carrier_counts *carriers;
	struct campaign_counts *campaigns; /* [N_SLOTS] */
	struct pacing *lanes;
};

struct metrics *metrics_new(size_t n_accounts, size_t n_carriers)
{
	struct metrics *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->n_accounts = n_accounts;
	m->n_carriers = n_carriers;
	m->accounts = calloc(n_accounts ? n_accounts : 1, sizeof *m->accounts);
	m->carriers = calloc(n_carriers ? n_carriers : 1, sizeof *m->carriers);
	m->campaigns = calloc(N_SLOTS, sizeof *m->campaigns);
	if (!m->accounts || !m->carriers || !m->campaigns) {
		metrics_free(m);
		return NULL;
	}
	return m;
}

static void names_free(struct name_slots *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->names[i]);
	free(ns->names);
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	names_free(&m->account_names);
	names_free(&m->carrier_names);
	free(m->accounts);
	free(m->carriers);
	free(m->campaigns);
	free(m);
}

/* The slot of name, a new one at the end if it has none: METRICS_NO_SLOT
 * when out of memory. */
static unsigned name_slot(struct name_slots *ns, const char *name)
{
	for (size_t i = 0; i < ns->n; i++)
		if (strcmp(ns->names[i], name) == 0)
			return (unsigned)i;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 16;
		char **names = realloc(ns->names, cap * sizeof *names);
		if (!names)
			return METRICS_NO_SLOT;
		ns->names = names;
		ns->cap = cap;
	}
	if (!(ns->names[ns->n] = strdup(name)))
		return METRICS_NO_SLOT;
	return (unsigned)ns->n++;
}

/* Zeroed counts for slots up to need; 0, or -1 when out of memory. */
static int grow_counts(void **counts, size_t *have, size_t need, size_t size)
{
	if (need <= *have)
		return 0;
	size_t n = need > *have * 2 ? need : *have * 2;
	char *c = realloc(*counts, n * size);
	if (!c)
		return -1;
	memset(c + *have * size, 0, (n - *have) * size);
	*counts = c;
	*have = n;
	return 0;
}

unsigned metrics_account_slot(struct metrics *m, const char *system_id)
{
	if (!m)
		return METRICS_NO_SLOT;
	unsigned slot = name_slot(&m->account_names, system_id);
	size_t have = m->n_accounts;
	if (slot == METRICS_NO_SLOT ||
	    grow_counts((void **)&m->accounts, &have, slot + 1, sizeof *m->accounts) != 0)
		return METRICS_NO_SLOT;
	m->n_accounts = have;
	return slot;
}

unsigned metrics_carrier_slot(struct metrics *m, const char *name)
{
	if (!m)
		return METRICS_NO_SLOT;
	unsigned slot = name_slot(&m->carrier_names, name);
	if (slot == METRICS_NO_SLOT ||
	    grow_counts((void **)&m->carriers, &m->n_carriers, slot + 1, sizeof *m->carriers) != 0)
		return METRICS_NO_SLOT;
	return slot;
}

void metrics_use_lanes(struct metrics *m, struct pacing *lanes)
{
	if (m)
		m->lanes = lanes;
}

/* --- indexes ------------------------------------------------------- */

static unsigned status_index(uint32_t status)
{
	size_t lo = 0, hi = N_KNOWN;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (known_status[mid] == status)
			return (unsigned)mid;
		if (known_status[mid] < status)
			lo = mid + 1;
		else
			hi = mid;
	}
	return N_KNOWN;
}

static unsigned rule_index(const char *rule)
{
	if (!rule)
		return N_RULE - 1;
	if (strncmp(rule, "content:", 8) == 0)
		return 7;
	if (strncmp(rule, "hook:", 5) == 0)
		return 11;
	for (unsigned i = 0; i < N_RULE - 1; i++)
		if (strcmp(rule, rule_names[i]) == 0)
			return i;
	return N_RULE - 1;
}

static int final_index(enum store_state s)
{
	for (unsigned i = 0; i < N_FINAL; i++)
		if (final_states[i] == s)
			return (int)i;
	return -1;
}

static unsigned lane_slot(uint32_t id)
{
	return id < METRICS_CAMPAIGNS_MAX ? id + 1 : SLOT_OTHER;
}

/* The campaign's lane in the registry (made if new, as a submit would). */
static unsigned campaign_slot(struct metrics *m, const char *campaign)
{
	if (!campaign || !m->lanes)
		return SLOT_NONE;
	struct pacing_lane *l = pacing_lane(m->lanes, campaign, 1);
	return l ? lane_slot(l->id) : SLOT_OTHER;
}

static struct carrier_counts *carrier_of(struct metrics *m, const struct carrier_rt *cr)
{
	return m && cr && cr->metrics_slot < m->n_carriers ? &m->carriers[cr->metrics_slot] : NULL;
}

/* --- counting ------------------------------------------------------ */

void metrics_submit(struct metrics *m, const struct account_rt *a, uint32_t command_id,
    uint32_t status)
{
	if (!m || !a || a->metrics_slot >= m->n_accounts)
		return;
	if (command_id != SMPP_SUBMIT_SM && command_id != SMPP_DATA_SM &&
	    command_id != SMPP_SUBMIT_MULTI)
		return;
	m->accounts[a->metrics_slot].submits[status_index(status)]++;
}

static void observe(struct latency_hist *h, uint64_t took_us)
{
	unsigned i = 0;
	while (i < N_LATENCY && took_us > latency_le_us[i])
		i++;
	h->counts[i]++;
	h->sum_us += took_us;
}

void metrics_submit_ack(struct metrics *m, const struct account_rt *a, uint64_t took_us)
{
	if (m && a && a->metrics_slot < m->n_accounts)
		observe(&m->accounts[a->metrics_slot].ack, took_us);
}

void metrics_policy_rule(struct metrics *m, int reject, const char *rule)
{
	if (!m)
		return;
	(reject ? m->rejects : m->defers)[rule_index(rule)]++;
}

void metrics_policy(struct metrics *m, const struct policy_verdict *v)
{
	if (v && v->action != POLICY_ACCEPT)
		metrics_policy_rule(m, v->action == POLICY_REJECT, v->rule);
}

void metrics_carrier_submits(struct metrics *m, const struct carrier_rt *cr, unsigned pdus)
{
	struct carrier_counts *c = carrier_of(m, cr);
	if (c)
		c->submits += pdus;
}

void metrics_carrier_response(struct metrics *m, const struct carrier_rt *cr, uint32_t status,
    uint64_t took_us)
{
	struct carrier_counts *c = carrier_of(m, cr);
	if (!c)
		return;
	c->responses[status_index(status)]++;
	observe(&c->latency, took_us);
}

void metrics_carrier_lost(struct metrics *m, const struct carrier_rt *cr)
{
	struct carrier_counts *c = carrier_of(m, cr);
	if (c)
		c->unanswered++;
}

void metrics_receipt(struct metrics *m, const struct carrier_rt *cr, int stat)
{
	struct carrier_counts *c = carrier_of(m, cr);
	if (c)
		c->receipts[stat >= 0 && stat < (int)N_STAT ? stat : SMPP_STAT_OTHER]++;
}

void metrics_receipt_match(struct metrics *m, const struct carrier_rt *cr,
    enum metrics_receipt_match where)
{
	struct carrier_counts *c = carrier_of(m, cr);
	if (c && where < METRICS_MATCH_COUNT)
		c->matches[where]++;
}

void metrics_mo(struct metrics *m, const struct carrier_rt *cr)
{
	struct carrier_counts *c = carrier_of(m, cr);
	if (c)
		c->mo++;
}

void metrics_final(struct metrics *m, const char *lane, enum store_state state)
{
	int i = final_index(state);
	if (m && i >= 0)
		m->campaigns[campaign_slot(m, lane)].final[i]++;
}

void metrics_optout(struct metrics *m, const char *campaign)
{
	if (m)
		m->campaigns[campaign_slot(m, campaign)].optouts++;
}

void metrics_keyword(struct metrics *m, const char *campaign, int kind)
{
	int i = kind == POLICY_MO_OPTOUT ? 0 : kind == POLICY_MO_OPTIN ? 1 :
	    kind == POLICY_MO_HELP ? 2 : -1;
	if (m && i >= 0)
		m->campaigns[campaign_slot(m, campaign)].keywords[i]++;
}

void metrics_throttle_wait(struct metrics *m, uint32_t lane_id, enum metrics_limit limit)
{
	if (m && (unsigned)limit < METRICS_LIMIT_COUNT)
		m->campaigns[lane_slot(lane_id)].waits[limit]++;
}

/* --- the text format ------------------------------------------------ */

struct out {
	struct evbuffer *b;
	int err;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (evbuffer_add_vprintf(o->b, fmt, ap) < 0)
		o->err = 1;
	va_end(ap);
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the format wants it: \ " and newline escaped. */
static void put_value(struct out *o, const char *v)
{
	const char *run = v;
	for (; *v; v++) {
		const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
		if (!esc)
			continue;
		if (evbuffer_add(o->b, run, (size_t)(v - run)) < 0 || evbuffer_add(o->b, esc, 2) < 0)
			o->err = 1;
		run = v + 1;
	}
	if (evbuffer_add(o->b, run, (size_t)(v - run)) < 0)
		o->err = 1;
}

/* name{k1="v1",k2="v2"} value: up to two labels (k2 NULL: one, k1 NULL:
 * none), then the value's text. */
static void sample(struct out *o, const char *name, const char *k1, const char *v1,
    const char *k2, const char *v2, const char *value_fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void sample(struct out *o, const char *name, const char *k1, const char *v1,
    const char *k2, const char *v2, const char *value_fmt, ...)
{
	put(o, "%s", name);
	if (k1) {
		put(o, "{%s=\"", k1);
		put_value(o, v1);
		if (k2) {
			put(o, "\",%s=\"", k2);
			put_value(o, v2);
		}
		put(o, "\"}");
	}
	put(o, " ");
	va_list ap;
	va_start(ap, value_fmt);
	if (evbuffer_add_vprintf(o->b, value_fmt, ap) < 0)
		o->err = 1;
	va_end(ap);
	put(o, "\n");
}

static void status_text(unsigned i, char *buf, size_t cap)
{
	if (i < N_KNOWN)
		snprintf(buf, cap, "0x%08x", known_status[i]);
	else
		snprintf(buf, cap, "other");
}

/* One sample per command_status seen, and always the accepted (0) one,
 * for one account or carrier. */
static void status_samples(struct out *o, const char *name, const char *label,
    const char *value, const uint64_t counts[N_STATUS])
{
	char st[16];
	for (unsigned i = 0; i < N_STATUS; i++) {
		if (!counts[i] && i != 0)
			continue;
		status_text(i, st, sizeof st);
		sample(o, name, label, value, "status", st, "%llu", (unsigned long long)counts[i]);
	}
}

/* A histogram's buckets, sum and count for one account or carrier. */
static void hist_samples(struct out *o, const char *family_name, const char *label,
    const char *value, const struct latency_hist *h)
{
	char bucket[96], sum[96], count[96];
	snprintf(bucket, sizeof bucket, "%s_bucket", family_name);
	snprintf(sum, sizeof sum, "%s_sum", family_name);
	snprintf(count, sizeof count, "%s_count", family_name);
	uint64_t cum = 0;
	for (unsigned i = 0; i <= N_LATENCY; i++) {
		cum += h->counts[i];
		sample(o, bucket, label, value, "le", i < N_LATENCY ? latency_le[i] : "+Inf", "%llu",
		    (unsigned long long)cum);
	}
	sample(o, sum, label, value, NULL, NULL, "%.6f", (double)h->sum_us / 1e6);
	sample(o, count, label, value, NULL, NULL, "%llu", (unsigned long long)cum);
}

/* Campaign slot names: the lane's, "none" or "other". */
static const char *slot_name(const struct metrics *m, unsigned slot)
{
	if (slot == SLOT_NONE)
		return "none";
	if (slot == SLOT_OTHER || !m->lanes)
		return "other";
	struct pacing_lane *l = pacing_lane_at(m->lanes, slot - 1);
	return l ? l->name : "other";
}

static unsigned slots_used(const struct metrics *m)
{
	uint32_t lanes = m->lanes ? pacing_lane_count(m->lanes) : 0;
	return lanes < METRICS_CAMPAIGNS_MAX ? lanes + 1 : METRICS_CAMPAIGNS_MAX + 1;
}

/* Slots to render: those in use, and "other" once anything overflowed. */
#define FOR_SLOTS(m, s) \
	for (unsigned s = 0; s < N_SLOTS; s = s + 1 == slots_used(m) ? SLOT_OTHER : s + 1)

static void render_upstream(struct out *o, struct relay *r, const struct metrics *m)
{
	family(o, "smppd_upstream_submits_total", "counter",
	    "Responses to submit_sm, data_sm and submit_multi from applications, by account and command_status.");
	for (size_t a = 0; a < m->account_names.n && a < m->n_accounts; a++)
		status_samples(o, "smppd_upstream_submits_total", "account", m->account_names.names[a],
		    m->accounts[a].submits);
	family(o, "smppd_upstream_ack_seconds", "histogram",
	    "Time from the loop turn that gave a submit to the store to the one that answered it, by account.");
	for (size_t a = 0; a < m->account_names.n && a < m->n_accounts; a++)
		hist_samples(o, "smppd_upstream_ack_seconds", "account", m->account_names.names[a],
		    &m->accounts[a].ack);
	family(o, "smppd_policy_rejects_total", "counter",
	    "Messages the compliance policy rejected, by the rule that did.");
	for (unsigned i = 0; i < N_RULE; i++)
		sample(o, "smppd_policy_rejects_total", "rule", rule_names[i], NULL, NULL, "%llu",
		    (unsigned long long)m->rejects[i]);
	family(o, "smppd_policy_defers_total", "counter",
	    "Messages the compliance policy deferred (accepted, sent later), by rule.");
	for (unsigned i = 0; i < N_RULE; i++)
		sample(o, "smppd_policy_defers_total", "rule", rule_names[i], NULL, NULL, "%llu",
		    (unsigned long long)m->defers[i]);
	family(o, "smppd_upstream_binds", "gauge", "Sessions bound now, by account.");
	for (size_t a = 0; a < r->cfg->n_accounts; a++)
		sample(o, "smppd_upstream_binds", "account", r->accounts[a]->cfg->system_id, NULL, NULL,
		    "%u", r->accounts[a]->binds);
}

static void render_carriers(struct out *o, struct relay *r, const struct metrics *m)
{
	/* counters by slot: carriers a reload removed keep their counts */
	size_t n = m->carrier_names.n < m->n_carriers ? m->carrier_names.n : m->n_carriers;
	family(o, "smppd_carrier_submits_total", "counter", "submit_sm PDUs sent to the carrier.");
	for (size_t c = 0; c < n; c++)
		sample(o, "smppd_carrier_submits_total", "carrier", m->carrier_names.names[c], NULL, NULL,
		    "%llu", (unsigned long long)m->carriers[c].submits);
	family(o, "smppd_carrier_responses_total", "counter",
	    "submit_sm_resp received from the carrier, by command_status.");
	for (size_t c = 0; c < n; c++)
		status_samples(o, "smppd_carrier_responses_total", "carrier", m->carrier_names.names[c],
		    m->carriers[c].responses);
	family(o, "smppd_carrier_submits_unanswered_total", "counter",
	    "submit_sm PDUs that got no response (timeout, or the bind was lost).");
	for (size_t c = 0; c < n; c++)
		sample(o, "smppd_carrier_submits_unanswered_total", "carrier", m->carrier_names.names[c],
		    NULL, NULL, "%llu", (unsigned long long)m->carriers[c].unanswered);
	family(o, "smppd_carrier_response_seconds", "histogram",
	    "Time from sending a submit_sm to its submit_sm_resp.");
	for (size_t c = 0; c < n; c++)
		hist_samples(o, "smppd_carrier_response_seconds", "carrier", m->carrier_names.names[c],
		    &m->carriers[c].latency);
	family(o, "smppd_receipts_total", "counter",
	    "Delivery receipts from the carrier, by their stat (DELIVRD, UNDELIV, ...).");
	for (size_t c = 0; c < n; c++)
		for (int s = 0; s < (int)N_STAT; s++) {
			uint64_t v = m->carriers[c].receipts[s];
			if (v || s == SMPP_STAT_DELIVRD)
				sample(o, "smppd_receipts_total", "carrier", m->carrier_names.names[c], "state",
				    smpp_stat_name((enum smpp_stat)s), "%llu", (unsigned long long)v);
		}
	static const char *const match_names[METRICS_MATCH_COUNT] = {
		[METRICS_MATCH_IN_FLIGHT] = "in_flight", [METRICS_MATCH_CACHE] = "cache",
		[METRICS_MATCH_STORE] = "store", [METRICS_MATCH_UNMATCHED] = "unmatched",
	};
	family(o, "smppd_receipt_matches_total", "counter",
	    "Where receipts found their message: in_flight (its submit_sm_resp just "
	    "came), cache (receipt_cache), store (read from disk: a larger "
	    "receipt_cache saves these), unmatched (given up on).");
	for (size_t c = 0; c < n; c++)
		for (int w = 0; w < METRICS_MATCH_COUNT; w++)
			sample(o, "smppd_receipt_matches_total", "carrier", m->carrier_names.names[c],
			    "via", match_names[w], "%llu", (unsigned long long)m->carriers[c].matches[w]);
	family(o, "smppd_mo_messages_total", "counter",
	    "Mobile-originated messages (not receipts) from the carrier.");
	for (size_t c = 0; c < n; c++)
		sample(o, "smppd_mo_messages_total", "carrier", m->carrier_names.names[c], NULL, NULL,
		    "%llu", (unsigned long long)m->carriers[c].mo);
	family(o, "smppd_carrier_binds", "gauge",
	    "Carrier session slots by state: bound, or down (connecting, binding, waiting to retry).");
	for (size_t c = 0; c < r->cfg->n_carriers; c++) {
		const struct carrier_rt *cr = r->carriers[c];
		unsigned bound = cr->bound < cr->n_slots ? cr->bound : cr->n_slots;
		sample(o, "smppd_carrier_binds", "carrier", cr->cfg->name, "state", "bound", "%u", bound);
		sample(o, "smppd_carrier_binds", "carrier", cr->cfg->name, "state", "down", "%u",
		    cr->n_slots - bound);
	}
}

static void render_campaigns(struct out *o, const struct metrics *m)
{
	family(o, "smppd_messages_final_total", "counter",
	    "Messages that reached a final state, by campaign.");
	FOR_SLOTS(m, s)
		for (unsigned i = 0; i < N_FINAL; i++)
			if (m->campaigns[s].final[i])
				sample(o, "smppd_messages_final_total", "campaign", slot_name(m, s), "state",
				    store_state_name(final_states[i]), "%llu",
				    (unsigned long long)m->campaigns[s].final[i]);
	family(o, "smppd_optouts_total", "counter",
	    "Numbers newly opted out by a keyword, by the campaign that owns the number they wrote to.");
	FOR_SLOTS(m, s)
		if (m->campaigns[s].optouts)
			sample(o, "smppd_optouts_total", "campaign", slot_name(m, s), NULL, NULL, "%llu",
			    (unsigned long long)m->campaigns[s].optouts);
	family(o, "smppd_keyword_events_total", "counter",
	    "Keyword messages from handsets (opt_out, opt_in, help), by campaign.");
	FOR_SLOTS(m, s)
		for (unsigned i = 0; i < N_KEYWORD; i++)
			if (m->campaigns[s].keywords[i])
				sample(o, "smppd_keyword_events_total", "campaign", slot_name(m, s), "keyword",
				    keyword_names[i], "%llu", (unsigned long long)m->campaigns[s].keywords[i]);
	family(o, "smppd_throttle_waits_total", "counter",
	    "Times the dispatcher held a campaign's messages back, by the limit that said wait.");
	FOR_SLOTS(m, s)
		for (unsigned i = 0; i < METRICS_LIMIT_COUNT; i++)
			if (m->campaigns[s].waits[i])
				sample(o, "smppd_throttle_waits_total", "campaign", slot_name(m, s), "limit",
				    limit_names[i], "%llu", (unsigned long long)m->campaigns[s].waits[i]);
}

static void render_queue(struct out *o, struct relay *r, const struct metrics *m)
{
	family(o, "smppd_queue_messages", "gauge",
	    "Messages waiting to be sent, by campaign: due (now), scheduled (a retry or a "
	    "policy defer, later) and held (claimed, held back by a throughput limit).");
	uint32_t lanes = m->lanes ? pacing_lane_count(m->lanes) : 0;
	int64_t now = relay_wall_ms();
	uint64_t other[3] = { 0, 0, 0 };
	for (uint32_t id = 0; id < lanes; id++) {
		struct pacing_lane *l = pacing_lane_at(m->lanes, id);
		uint64_t q[3] = { 0, 0, l->staged_n };
		if (store_lane_depth_due(r->store, l->name, now, &q[0], &q[1]) != 0)
			q[0] = q[1] = 0;   /* a read failed: the next scrape tries again */
		if (id >= METRICS_CAMPAIGNS_MAX) {
			for (int k = 0; k < 3; k++)
				other[k] += q[k];
			continue;
		}
		sample(o, "smppd_queue_messages", "campaign", l->name, "state", "due", "%llu",
		    (unsigned long long)q[0]);
		sample(o, "smppd_queue_messages", "campaign", l->name, "state", "scheduled", "%llu",
		    (unsigned long long)q[1]);
		sample(o, "smppd_queue_messages", "campaign", l->name, "state", "held", "%llu",
		    (unsigned long long)q[2]);
	}
	if (lanes > METRICS_CAMPAIGNS_MAX) {
		static const char *const names[3] = { "due", "scheduled", "held" };
		for (int k = 0; k < 3; k++)
			sample(o, "smppd_queue_messages", "campaign", "other", "state", names[k], "%llu",
			    (unsigned long long)other[k]);
	}
}

static void render_store(struct out *o, struct relay *r)
{
	uint64_t counts[STORE_STATE_COUNT];
	family(o, "smppd_store_messages", "gauge", "Messages in the store, by state.");
	if (store_state_counts(r->store, counts) == 0)
		for (int s = 0; s < STORE_STATE_COUNT; s++)
			sample(o, "smppd_store_messages", "state", store_state_name((enum store_state)s),
			    NULL, NULL, "%llu", (unsigned long long)counts[s]);
	uint64_t used, size;
	if (store_space(r->store, &used, &size) == 0) {
		family(o, "smppd_store_used_bytes", "gauge",
		    "Bytes of the store's map in use, with the room unfinished messages will need.");
		sample(o, "smppd_store_used_bytes", NULL, NULL, NULL, NULL, "%llu",
		    (unsigned long long)used);
		family(o, "smppd_store_map_size_bytes", "gauge",
		    "Size of the store's map (store.map_size): the most it can hold.");
		sample(o, "smppd_store_map_size_bytes", NULL, NULL, NULL, NULL, "%llu",
		    (unsigned long long)size);
	}
	struct store_stats stats;
	store_get_stats(r->store, &stats);
	family(o, "smppd_store_commits_total", "counter",
	    "Write transactions the store committed (each one fsync for a batch).");
	sample(o, "smppd_store_commits_total", NULL, NULL, NULL, NULL, "%llu",
	    (unsigned long long)stats.commits);
	family(o, "smppd_store_operations_total", "counter",
	    "Write operations the store completed (in any number of commits).");
	sample(o, "smppd_store_operations_total", NULL, NULL, NULL, NULL, "%llu",
	    (unsigned long long)stats.ops);
	struct store_commit_hist h;
	store_get_commit_hist(r->store, &h);
	family(o, "smppd_store_commit_seconds", "histogram",
	    "Time each store commit (write transaction and fsync) took.");
	uint64_t cum = 0;
	for (int i = 0; i <= STORE_COMMIT_BUCKETS; i++) {
		char le[32];
		if (i < STORE_COMMIT_BUCKETS)
			snprintf(le, sizeof le, "%g", (double)h.le_ns[i] / 1e9);
		else
			snprintf(le, sizeof le, "+Inf");
		cum += h.counts[i];
		sample(o, "smppd_store_commit_seconds_bucket", "le", le, NULL, NULL, "%llu",
		    (unsigned long long)cum);
	}
	sample(o, "smppd_store_commit_seconds_sum", NULL, NULL, NULL, NULL, "%.9f",
	    (double)h.sum_ns / 1e9);
	sample(o, "smppd_store_commit_seconds_count", NULL, NULL, NULL, NULL, "%llu",
	    (unsigned long long)h.count);
}

int metrics_render(struct relay *r, struct evbuffer *out)
{
	struct out o = { out, 0 };
	const struct metrics *m = r->metrics;
	if (!m)
		return -1;
	render_upstream(&o, r, m);
	render_carriers(&o, r, m);
	render_campaigns(&o, m);
	render_queue(&o, r, m);
	render_store(&o, r);
	return o.err ? -1 : 0;
}
