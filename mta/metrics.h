/*
 * mta/metrics: what smppd counts, and its rendering as the Prometheus text
 * exposition format (version 0.0.4) for GET /metrics.  docs/metrics.md
 * lists every metric with its labels.
 *
 * Counting happens on the event loop's thread, on the hot path: every
 * call below is an array index and an increment (a status becomes an
 * index through a small sorted table, a campaign is its lane's index in
 * the pacing registry), no allocation, no lock, no string hashing of its
 * own.  metrics_render() runs on the same thread, so the counters need no
 * atomics.  Gauges the relay or the store already know (binds, queue
 * depth, store size, commit latency) are read when rendered.
 *
 * Label sets are bounded: accounts and carriers by the configuration,
 * statuses by the known SMPP table plus "other", rules and limits by
 * enums, campaigns by the lanes the dispatcher knows (the campaigns of the
 * policy and configuration, those found in the store) up to
 * METRICS_CAMPAIGNS_MAX, past which they count as campaign "other", plus
 * "none" for events no campaign owns.
 *
 * Every counting function accepts m == NULL (does nothing), and an
 * account or carrier without a slot (METRICS_NO_SLOT) is not counted.
 */
#ifndef SMPPD_MTA_METRICS_H
#define SMPPD_MTA_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct metrics;
struct relay;
struct evbuffer;
struct pacing;
struct account_rt;
struct carrier_rt;
struct policy_verdict;

#define METRICS_CAMPAIGNS_MAX 1024

/* Why a lane or route was held back (smppd_throttle_waits_total). */
enum metrics_limit {
	METRICS_LIMIT_CAMPAIGN_RATE,    /* the campaign's per_minute */
	METRICS_LIMIT_BRAND_CAP,        /* the brand's daily cap */
	METRICS_LIMIT_NUMBER_MPS,       /* the sending number's mps */
	METRICS_LIMIT_CARRIER_MPS,      /* the carrier's max_mps (after AIMD) */
	METRICS_LIMIT_BIND_MPS,         /* a bind's bind_mps */
	METRICS_LIMIT_BIND_WINDOW,      /* every bind's window full */
	METRICS_LIMIT_COUNT
};

/* Sizes: room for this many accounts and carriers (more can come).
 * NULL on ENOMEM. */
struct metrics *metrics_new(size_t n_accounts, size_t n_carriers);
void metrics_free(struct metrics *m);

/*
 * The counting slot of an account (by system_id) or carrier (by name):
 * the same name always gets the same slot, so counts and their labels
 * survive a reload that adds, drops, reorders or rebuilds them.  Called
 * when an account_rt or carrier_rt is made (not on the hot path); the
 * result goes in its metrics_slot.  METRICS_NO_SLOT (not counted) when
 * out of memory or m is NULL.
 */
#define METRICS_NO_SLOT (~0u)
unsigned metrics_account_slot(struct metrics *m, const char *system_id);
unsigned metrics_carrier_slot(struct metrics *m, const char *name);

/* The dispatcher's lane registry: campaign names and their indexes.
 * Until it is set, per-campaign events count as campaign "none". */
void metrics_use_lanes(struct metrics *m, struct pacing *lanes);

/* --- upstream ------------------------------------------------------ */

/* A response to submit_sm, data_sm or submit_multi was sent (other
 * commands are ignored), with its command_status. */
void metrics_submit(struct metrics *m, const struct account_rt *a, uint32_t command_id,
    uint32_t status);
/* A submit answered after the store's commit, took_us after it went to the store. */
void metrics_submit_ack(struct metrics *m, const struct account_rt *a, uint64_t took_us);
/* A policy verdict that rejected or deferred a message (an accept is not
 * counted); rule "account": the account may not send for the campaign. */
void metrics_policy(struct metrics *m, const struct policy_verdict *v);
void metrics_policy_rule(struct metrics *m, int reject, const char *rule);

/* --- carriers ------------------------------------------------------ */

void metrics_carrier_submits(struct metrics *m, const struct carrier_rt *cr, unsigned pdus);
/* A submit_sm_resp, took_us after its submit went. */
void metrics_carrier_response(struct metrics *m, const struct carrier_rt *cr, uint32_t status,
    uint64_t took_us);
/* A submit_sm that got no answer (timeout, bind lost). */
void metrics_carrier_lost(struct metrics *m, const struct carrier_rt *cr);
/* A delivery receipt from the carrier, by its stat (enum smpp_stat). */
void metrics_receipt(struct metrics *m, const struct carrier_rt *cr, int stat);
/* Where a receipt found its message: still being sent, in receipt_cache,
 * in the store; or nowhere, given up on. */
enum metrics_receipt_match {
	METRICS_MATCH_IN_FLIGHT,
	METRICS_MATCH_CACHE,
	METRICS_MATCH_STORE,
	METRICS_MATCH_UNMATCHED,
	METRICS_MATCH_COUNT
};
void metrics_receipt_match(struct metrics *m, const struct carrier_rt *cr,
    enum metrics_receipt_match where);
/* A mobile-originated message (not a receipt) from the carrier. */
void metrics_mo(struct metrics *m, const struct carrier_rt *cr);

/* --- campaigns ----------------------------------------------------- */

/* A message reached a final state (delivered, undeliverable, expired,
 * rejected); lane is its queue lane, the campaign. */
void metrics_final(struct metrics *m, const char *lane, enum store_state state);
/* A number newly opted out; campaign NULL: none owns the number. */
void metrics_optout(struct metrics *m, const char *campaign);
/* A keyword MO (enum policy_mo: opt-out, opt-in, help; NONE ignored). */
void metrics_keyword(struct metrics *m, const char *campaign, int kind);
/* The lane with pacing id lane_id was held back by limit. */
void metrics_throttle_wait(struct metrics *m, uint32_t lane_id, enum metrics_limit limit);

/* --- exposition ---------------------------------------------------- */

/*
 * Appends the whole exposition to out: counters, then the gauges read now
 * from r (binds of r->accounts and r->carriers, queue depth per lane and
 * store state counts, space and commit histogram of r->store).  Uses
 * r->metrics.  Content type: text/plain; version=0.0.4; charset=utf-8.
 * Returns 0, or -1 when out could not grow (out then holds a part).
 */
int metrics_render(struct relay *r, struct evbuffer *out);

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
