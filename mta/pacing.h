/*
 * Pacing: the limits a queued message must fit before the dispatcher sends
 * it, and the fair order in which lanes (campaigns) are served.
 *
 * No event loop and no clock: every call takes `now` in wall-clock
 * microseconds (daily caps reset at a local time of day, so the clock is
 * the wall's).  The store is used for one thing: the brands' daily counts,
 * which must survive a restart.
 *
 * Limits, all taken together or not at all (thr_set), in SMS segments:
 *   lane     the campaign's per_minute (10DLC TPM)          policy campaign
 *   brand    the daily cap shared by the brand's campaigns  policy brand
 *   number   messages per second of the sending number      policy number
 * The carrier's and the bind's rates are the dispatcher's (they depend on
 * the route, not on the message).
 *
 * Fairness: each lane is a fairq lane with the campaign's priority class
 * and weight, so 2FA is served before marketing and a throttled campaign
 * waits in fairq's heap instead of the rotation.
 *
 * Restarts.  A daily count is persisted by reservation: before segments
 * are sent, a count at least that high is committed to the store (in
 * blocks, so a busy brand writes once per ~1.5% of its cap), and a
 * restart resumes from the reserved count.  A crash can thus waste up to
 * a block of the day's allowance but never exceed it.  Rate limiters
 * (per minute, per second) need no record: each starts as though the
 * previous process had spent its whole burst at the moment this one
 * started.  A GCRA's theoretical arrival time is never more than one
 * burst ahead of the clock, so that start is at least as strict as the
 * limiter would have been had the process never stopped, and no window
 * that spans the restart can see more than the limit.
 */
#ifndef SMPPD_MTA_PACING_H
#define SMPPD_MTA_PACING_H

#include <stdint.h>

#include "mta/throttle.h"
#include "store/store.h"

struct policy;
struct fairq;
struct pacing;
struct pacing_brand;

/* Claimed messages a lane may hold back while a limit says wait. */
#define PACING_STAGE_MAX 64

/* Segments per weight per DRR turn. */
#define PACING_QUANTUM 16

/* Which limit last said wait (for metrics). */
enum pacing_limit {
	PACING_LIMIT_NONE,          /* none: e.g. a cap reservation being committed */
	PACING_LIMIT_RATE,          /* the campaign's per_minute */
	PACING_LIMIT_BRAND,         /* the brand's daily cap */
	PACING_LIMIT_NUMBER,        /* the sending number's mps */
};

struct pacing_lane {
	char *name;                 /* the store's lane: a campaign id */
	uint32_t id;                /* fairq id, index in the lane table */
	int64_t due_ms;             /* earliest queued work, -1: none known */
	int64_t blocked_until;      /* us: a limit said wait; 0: none */
	enum pacing_limit held_by;  /* set when room or take says wait */
	/* limits, read from limits_of */
	const struct policy *limits_of;
	int configured;
	uint32_t per_minute;
	struct thr_gcra tpm;
	struct pacing_brand *brand;
	/* claimed but held back by a limit, in queue order */
	uint64_t staged[PACING_STAGE_MAX];
	unsigned staged_head, staged_n;
};

/* NULL on ENOMEM.  start_us: when this process started (see above). */
struct pacing *pacing_new(struct store *st, int64_t start_us);
void pacing_free(struct pacing *p);

struct fairq *pacing_fairq(struct pacing *p);

/* The lane with this name, created idle if asked; NULL if absent or on
 * ENOMEM. */
struct pacing_lane *pacing_lane(struct pacing *p, const char *name,
    int create);
/* The lane with this fairq id, or NULL. */
struct pacing_lane *pacing_lane_at(struct pacing *p, uint32_t id);
uint32_t pacing_lane_count(const struct pacing *p);

/*
 * Reads the lane's limits again when `pol` is not the policy they came
 * from (NULL: no policy, nothing limited): rate, brand, priority, weight.
 * The rate keeps its state across a reload (re-timed, not refilled).
 */
void pacing_lane_refresh(struct pacing *p, struct pacing_lane *l,
    const struct policy *pol, int64_t now);

/*
 * How many one-segment messages the lane's own limits (rate, brand cap)
 * would let go now, up to want; what to claim from the store.  0 sets
 * *retry_at to when one will, and l->held_by to the limit.
 */
unsigned pacing_lane_room(struct pacing *p, struct pacing_lane *l,
    unsigned want, int64_t now, int64_t *retry_at);

/*
 * Takes segs for one message from its lane, its brand and its sending
 * number, all or none.  0 when taken; 1 with *retry_at (us) when a limit
 * says wait (l->held_by names it), or while the brand's reservation is
 * being committed (held_by PACING_LIMIT_NONE).
 * -1 only on ENOMEM (the message may go: limits are a policy, losing
 * the message would be worse).
 */
int pacing_take(struct pacing *p, struct pacing_lane *l,
    const struct policy *pol, const char *source, uint32_t segs,
    int64_t now, int64_t *retry_at);

/* Store completions of the reservations: 1 when it was pacing's (the
 * dispatcher should run again: held lanes may go), else 0. */
int pacing_owns_cookie(const void *cookie);
void pacing_completion(struct pacing *p, const struct store_completion *sc);

/* Staging: messages claimed but held back, in order. */
int pacing_stage(struct pacing_lane *l, uint64_t id);
uint64_t pacing_staged_peek(const struct pacing_lane *l);
void pacing_staged_pop(struct pacing_lane *l);

/* The brand's segments counted today and its reserved count, for tests
 * and metrics; -1 if no lane has used the brand. */
int pacing_brand_usage(struct pacing *p, const char *brand, int64_t now,
    uint64_t *used, uint64_t *reserved);

#endif
