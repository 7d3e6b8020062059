/*
 * Throughput limits: the arithmetic the scheduler asks before it sends.
 *
 * Pure: no clock, no event loop, no I/O, no allocation.  Every call takes
 * `now` in microseconds; the caller picks the epoch, but limits that are
 * persisted across a restart (their *_state numbers are written to the
 * store) must be driven by wall-clock microseconds since the Unix epoch,
 * and daily caps always are, because they reset at a local time of day.
 * A clock that goes backwards only ever makes a limit stricter.
 *
 *   thr_gcra   smooth rate limit (GCRA, i.e. a token bucket kept as one
 *              number): campaign TPM, number / account / bind MPS
 *   thr_cap    segments per local day (brand daily cap), US DST aware
 *   thr_set    every limit one message is subject to, taken all or none
 *   thr_aimd   carrier feedback: halve on 0x58 / 0x14, creep back up
 *
 * `n` is a count of SMS segments.  All structs are caller-owned and plain;
 * they hold no pointers except thr_set, which points at limits the caller
 * keeps alive while the set is in use.
 */
#ifndef SMPPD_MTA_THROTTLE_H
#define SMPPD_MTA_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

/* "never": a closed limit, or more segments than a day's cap. */
#define THR_NEVER INT64_MAX

/* Larger n are refused: they would overflow the time arithmetic. */
#define THR_N_MAX 65535u

/*
 * GCRA.  `tat` is the theoretical arrival time: when the limiter would be
 * idle again.  A take of n succeeds when, after it, tat - now stays within
 * burst * interval, so tokens come out one `interval` apart with at most
 * `burst` back to back after a pause.  A take larger than the burst is let
 * through only when the limiter is idle and runs it into debt, so the
 * average still holds.
 */
struct thr_gcra {
	int64_t tat;      /* us */
	int64_t interval; /* us per segment; 0 = closed, nothing passes */
	uint32_t burst;   /* >= 1 */
};

/*
 * Initialise, closed.  Configure with one of the setters below; either may
 * be called again at any time (live reconfiguration): the work already
 * admitted is kept and re-timed at the new rate, so changing a limit never
 * hands out a fresh burst.
 */
void thr_gcra_init(struct thr_gcra *g);

/*
 * count per period_us, with a burst: never more than `count` in ANY window
 * of period_us (sliding, not calendar), which is how 10DLC TPM is read.  A
 * burst b > 1 is paid for with a sustained rate of (count - b + 1) per
 * period; b = 1 gives count per period exactly (75 TPM = one per 800 ms).
 * count 0 closes the limit.
 */
void thr_gcra_set_limit(struct thr_gcra *g, uint32_t count, int64_t period_us,
    uint32_t burst, int64_t now);

/*
 * per_s segments per second (fractional: 1.25, 0.25), burst b: the
 * sustained rate is per_s exactly, a window may see b - 1 extra.  Rates
 * below one a day, and <= 0, close the limit.
 */
void thr_gcra_set_rate(struct thr_gcra *g, double per_s, uint32_t burst,
    int64_t now);

/* Take n if all n fit now; false changes nothing. */
bool thr_gcra_try_take(struct thr_gcra *g, uint32_t n, int64_t now);

/* The earliest time >= now at which try_take(n) will succeed (THR_NEVER). */
int64_t thr_gcra_next_allowed(const struct thr_gcra *g, uint32_t n,
    int64_t now);

/* State to persist: one number.  Restore after init and set_*. */
static inline int64_t thr_gcra_state(const struct thr_gcra *g) { return g->tat; }
static inline void thr_gcra_restore(struct thr_gcra *g, int64_t tat) { g->tat = tat; }

/*
 * A time zone as the US rule sees it: a standard offset east of UTC and
 * whether the US daylight-saving rule (since 2007: second Sunday of March
 * 02:00 to first Sunday of November 02:00 local) applies.  Enough for every
 * US zone (Arizona and Hawaii have no DST) without tzdata or TZ.
 */
struct thr_zone {
	int32_t std_offset_s;
	bool us_dst;
};

#define THR_ZONE_PACIFIC ((struct thr_zone){ -8 * 3600, true })

/* The zone's offset east of UTC, in seconds, at utc_s (Unix seconds). */
int32_t thr_zone_offset_s(struct thr_zone z, int64_t utc_s);

/*
 * A daily cap: at most `limit` segments between two resets, a reset being
 * every day at reset_min minutes after local midnight in `zone` (0 for
 * T-Mobile's midnight Pacific).  On a spring-forward day a reset time
 * inside the skipped hour happens one hour later; on a fall-back day a
 * repeated one happens at its first occurrence.  Days are 23 to 25 hours.
 */
struct thr_cap {
	uint64_t limit;
	uint64_t used;          /* segments since window_start */
	int64_t window_start;   /* us, the reset that began the count */
	int64_t window_end;     /* us, the next reset (derived) */
	struct thr_zone zone;
	int32_t reset_min;      /* 0..1439 */
};

/* The numbers to persist: restoring them keeps the day's count. */
struct thr_cap_state {
	int64_t window_start;
	uint64_t used;
};

void thr_cap_init(struct thr_cap *c, uint64_t limit, struct thr_zone zone,
    int32_t reset_min);

/* A new limit applies to the current day as well (used is kept). */
void thr_cap_set_limit(struct thr_cap *c, uint64_t limit);

bool thr_cap_try(struct thr_cap *c, uint32_t n, int64_t now);

/* now if n fits, else the next reset; THR_NEVER if n > limit. */
int64_t thr_cap_next_allowed(const struct thr_cap *c, uint32_t n, int64_t now);

/* The reset that began the day containing now, in us: names the day. */
int64_t thr_cap_day_start(const struct thr_cap *c, int64_t now);

/* The first reset strictly after now, in us. */
int64_t thr_cap_next_reset(const struct thr_cap *c, int64_t now);

/* Segments used in the day that contains now (0 after a reset). */
uint64_t thr_cap_used(const struct thr_cap *c, int64_t now);

void thr_cap_export(const struct thr_cap *c, struct thr_cap_state *s);

/* A state from an earlier day is dropped at the next use, as it should. */
void thr_cap_import(struct thr_cap *c, const struct thr_cap_state *s);

/*
 * A limiter set: all the limits one message is subject to (campaign TPM,
 * brand daily cap, sending number MPS, carrier account MPS, bind MPS).
 * Limits are shared between sets: the same thr_gcra for a number appears
 * in the set of every campaign that sends from it.  Adding the same limit
 * twice is a no-op, so overlapping roles cannot charge it double.
 */
#define THR_SET_MAX 8

struct thr_set {
	uint8_t n;
	struct thr_set_ent {
		bool is_cap;
		union {
			struct thr_gcra *g;
			struct thr_cap *c;
		} u;
	} ent[THR_SET_MAX];
};

void thr_set_clear(struct thr_set *s);

/* 0, or -ENOSPC when the set already holds THR_SET_MAX limits. */
int thr_set_add_gcra(struct thr_set *s, struct thr_gcra *g);
int thr_set_add_cap(struct thr_set *s, struct thr_cap *c);

/* The earliest time >= now at which every limit has room for n. */
int64_t thr_set_next_allowed(const struct thr_set *s, uint32_t n, int64_t now);

/*
 * Take n from every limit, or from none: false leaves all of them as they
 * were and stores the earliest time all can be satisfied in *retry_at
 * (if not NULL), so the caller sleeps exactly that long.
 */
bool thr_set_try_take(struct thr_set *s, uint32_t n, int64_t now,
    int64_t *retry_at);

/*
 * Carrier feedback, additive increase / multiplicative decrease of one
 * carrier's rate.  A throttle answer (0x58 ESME_RTHROTTLED, 0x14
 * ESME_RMSGQFUL) multiplies the rate by `factor`, down to min_rate, at most
 * once per interval: the submits already in flight were sent at the old
 * rate and will come back throttled too, and must not each halve it.  Each
 * interval that ends with a success (status 0) and no throttle in it adds
 * `step` per second, up to max_rate.  Other statuses prove nothing about
 * the carrier's load and change nothing.  Feed the rate to the carrier's
 * thr_gcra with thr_gcra_set_rate() when thr_aimd_feedback() says so.
 */
struct thr_aimd {
	double rate, min_rate, max_rate;
	double factor;        /* 0 < factor < 1 */
	double step;          /* per second, added per clean interval */
	int64_t interval;     /* us */
	int64_t clean_since;  /* us, the last change or throttle */
	int64_t last_cut;     /* us, the last decrease */
};

void thr_aimd_init(struct thr_aimd *a, double max_rate, double min_rate,
    double factor, double step, int64_t interval_us, int64_t now);

/* A new configured maximum; the current rate is clamped to it. */
void thr_aimd_set_max(struct thr_aimd *a, double max_rate);

/* -1 when the rate fell, +1 when it rose, 0 when unchanged. */
int thr_aimd_feedback(struct thr_aimd *a, uint32_t command_status,
    int64_t now);

static inline double thr_aimd_rate(const struct thr_aimd *a) { return a->rate; }

#endif
