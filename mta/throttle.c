/*
 * Throughput limits: GCRA rate limits, daily caps on a local-time day, the
 * all-or-nothing limiter set and carrier AIMD.  See throttle.h.
 *
 * Times are int64 microseconds.  Intervals are rounded up, never down: a
 * rounding error may cost a fraction of a message per hour, but can never
 * push a sender over a registered limit.
 */
#include "mta/throttle.h"

#include <errno.h>

#define US_PER_S 1000000LL
#define DAY_S 86400LL
#define MAX_INTERVAL_US (DAY_S * US_PER_S)

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Division rounding towards minus infinity (C rounds towards zero). */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- GCRA ---- */

void thr_gcra_init(struct thr_gcra *g)
{
	g->tat = INT64_MIN;
	g->interval = 0;
	g->burst = 1;
}

/*
 * Switch to a new interval keeping what was already admitted: the debt
 * tat - now is a number of segments at the old interval, and stays that
 * many segments at the new one.  Without this a reload would either reset
 * the limiter (a free burst) or keep the old rate's timing.
 */
static void gcra_retime(struct thr_gcra *g, int64_t interval, uint32_t burst,
    int64_t now)
{
	if (burst < 1)
		burst = 1;
	if (burst > THR_N_MAX)
		burst = THR_N_MAX;
	if (g->interval > 0 && interval > 0 && g->tat > now) {
		double owed = (double)(g->tat - now) / (double)g->interval;
		g->tat = now + (int64_t)(owed * (double)interval + 0.5);
	}
	g->interval = interval;
	g->burst = burst;
}

void thr_gcra_set_limit(struct thr_gcra *g, uint32_t count, int64_t period_us,
    uint32_t burst, int64_t now)
{
	if (count == 0 || period_us <= 0) {
		gcra_retime(g, 0, burst, now);
		return;
	}
	if (burst > count)
		burst = count;
	if (burst < 1)
		burst = 1;
	/* b at once, then one per interval: b - 1 + period / interval in
	 * any window, which must not exceed count. */
	int64_t per = (int64_t)(count - burst + 1);
	int64_t interval = (period_us + per - 1) / per;
	gcra_retime(g, interval > MAX_INTERVAL_US ? 0 : interval, burst, now);
}

void thr_gcra_set_rate(struct thr_gcra *g, double per_s, uint32_t burst,
    int64_t now)
{
	if (!(per_s * (double)DAY_S >= 1.0)) {   /* also catches NaN */
		gcra_retime(g, 0, burst, now);
		return;
	}
	double exact = (double)US_PER_S / per_s;
	int64_t interval = (int64_t)exact;
	if ((double)interval < exact)
		interval++;
	gcra_retime(g, interval < 1 ? 1 : interval, burst, now);
}

int64_t thr_gcra_next_allowed(const struct thr_gcra *g, uint32_t n,
    int64_t now)
{
	if (n == 0)
		return now;
	if (g->interval == 0 || n > THR_N_MAX)
		return THR_NEVER;
	/* Allowed at t when max(tat, t) + n*T - t <= max(b, n)*T, which
	 * solves to t >= tat + n*T - max(b, n)*T. */
	int64_t room = (int64_t)(n > g->burst ? n : g->burst) * g->interval;
	if (g->tat == INT64_MIN)
		return now;
	return max64(now, g->tat + (int64_t)n * g->interval - room);
}

bool thr_gcra_try_take(struct thr_gcra *g, uint32_t n, int64_t now)
{
	if (thr_gcra_next_allowed(g, n, now) > now)
		return false;
	g->tat = max64(g->tat, now) + (int64_t)n * g->interval;
	return true;
}

/* ---- calendar arithmetic, proleptic Gregorian, days since 1970-01-01 ---- */

/* The usual era decomposition: 400-year eras of 146097 days, years
 * starting in March so that the leap day is the last of the year. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t year_of_day(int64_t z)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10);   /* Jan, Feb belong to next */
}

/* The day of the nth (1-based) Sunday of a month.  1970-01-01 was a
 * Thursday, weekday 4 counting from Sunday. */
static int64_t nth_sunday(int64_t y, int m, int nth)
{
	int64_t first = days_from_civil(y, m, 1);
	int64_t wd = first - 7 * floor_div(first + 4, 7) + 4;
	return first + (7 - wd) % 7 + 7 * (nth - 1);
}

int32_t thr_zone_offset_s(struct thr_zone z, int64_t utc_s)
{
	if (!z.us_dst)
		return z.std_offset_s;
	/* Both transitions are at 02:00 local clock time; in standard time
	 * that is 02:00 for the start and 01:00 for the end. */
	int64_t std = utc_s + z.std_offset_s;
	int64_t y = year_of_day(floor_div(std, DAY_S));
	int64_t start = nth_sunday(y, 3, 2) * DAY_S + 2 * 3600;
	int64_t end = nth_sunday(y, 11, 1) * DAY_S + 1 * 3600;
	return z.std_offset_s + (std >= start && std < end ? 3600 : 0);
}

/* ---- daily caps ---- */

/* The instant (Unix s) of the reset on local day `day`.  A wall time
 * that exists once has one reading; one inside the spring gap has none
 * and is read as standard time (an hour later on the clock); one in the
 * autumn overlap has two and the earlier wins. */
static int64_t reset_on_day(const struct thr_cap *c, int64_t day)
{
	int64_t wall = day * DAY_S + (int64_t)c->reset_min * 60;
	int64_t as_dst = wall - c->zone.std_offset_s - 3600;
	int64_t as_std = wall - c->zone.std_offset_s;
	if (c->zone.us_dst && thr_zone_offset_s(c->zone, as_dst) ==
	    c->zone.std_offset_s + 3600)
		return as_dst;
	return as_std;
}

/* The window [start, end) that contains now, both in us. */
static void cap_window(const struct thr_cap *c, int64_t now, int64_t *start,
    int64_t *end)
{
	int64_t s = floor_div(now, US_PER_S);
	int64_t day = floor_div(s + thr_zone_offset_s(c->zone, s), DAY_S);
	int64_t r = reset_on_day(c, day) * US_PER_S;
	if (r <= now) {
		*start = r;
		*end = reset_on_day(c, day + 1) * US_PER_S;
	} else {
		*start = reset_on_day(c, day - 1) * US_PER_S;
		*end = r;
	}
}

void thr_cap_init(struct thr_cap *c, uint64_t limit, struct thr_zone zone,
    int32_t reset_min)
{
	if (reset_min < 0 || reset_min >= 24 * 60)
		reset_min = 0;
	c->limit = limit;
	c->used = 0;
	c->window_start = INT64_MIN;
	c->window_end = INT64_MIN;
	c->zone = zone;
	c->reset_min = reset_min;
}

void thr_cap_set_limit(struct thr_cap *c, uint64_t limit)
{
	c->limit = limit;
}

/* Move to the window of now when the stored one has ended.  A clock
 * that went back before window_start keeps the count: stricter, safe. */
static void cap_roll(struct thr_cap *c, int64_t now)
{
	if (now < c->window_end)
		return;
	cap_window(c, now, &c->window_start, &c->window_end);
	c->used = 0;
}

uint64_t thr_cap_used(const struct thr_cap *c, int64_t now)
{
	return now < c->window_end ? c->used : 0;
}

int64_t thr_cap_day_start(const struct thr_cap *c, int64_t now)
{
	if (now < c->window_end && now >= c->window_start)
		return c->window_start;
	int64_t start, end;
	cap_window(c, now, &start, &end);
	return start;
}

int64_t thr_cap_next_reset(const struct thr_cap *c, int64_t now)
{
	if (now < c->window_end && now >= c->window_start)
		return c->window_end;
	int64_t start, end;
	cap_window(c, now, &start, &end);
	return end;
}

int64_t thr_cap_next_allowed(const struct thr_cap *c, uint32_t n, int64_t now)
{
	if (n > c->limit)
		return THR_NEVER;
	if (thr_cap_used(c, now) + n <= c->limit)
		return now;
	return thr_cap_next_reset(c, now);
}

bool thr_cap_try(struct thr_cap *c, uint32_t n, int64_t now)
{
	cap_roll(c, now);
	if (n > c->limit || c->used + n > c->limit)
		return false;
	c->used += n;
	return true;
}

void thr_cap_export(const struct thr_cap *c, struct thr_cap_state *s)
{
	s->window_start = c->window_start;
	s->used = c->used;
}

void thr_cap_import(struct thr_cap *c, const struct thr_cap_state *s)
{
	c->window_start = s->window_start;
	c->used = s->used;
	if (s->window_start == INT64_MIN) {
		c->window_end = INT64_MIN;
		return;
	}
	int64_t start, end;
	cap_window(c, s->window_start, &start, &end);
	c->window_end = end;
}

/* ---- limiter sets ---- */

void thr_set_clear(struct thr_set *s)
{
	s->n = 0;
}

static int set_add(struct thr_set *s, bool is_cap, void *lim)
{
	for (unsigned i = 0; i < s->n; i++) {
		const struct thr_set_ent *e = &s->ent[i];
		if (e->is_cap == is_cap &&
		    (is_cap ? (void *)e->u.c : (void *)e->u.g) == lim)
			return 0;
	}
	if (s->n >= THR_SET_MAX)
		return -ENOSPC;
	struct thr_set_ent *e = &s->ent[s->n++];
	e->is_cap = is_cap;
	if (is_cap)
		e->u.c = lim;
	else
		e->u.g = lim;
	return 0;
}

int thr_set_add_gcra(struct thr_set *s, struct thr_gcra *g)
{
	return set_add(s, false, g);
}

int thr_set_add_cap(struct thr_set *s, struct thr_cap *c)
{
	return set_add(s, true, c);
}

/* Each limit, once it has room, keeps it until someone takes: so the
 * latest of the individual answers is when all have room together. */
int64_t thr_set_next_allowed(const struct thr_set *s, uint32_t n, int64_t now)
{
	int64_t t = now;
	for (unsigned i = 0; i < s->n; i++) {
		const struct thr_set_ent *e = &s->ent[i];
		t = max64(t, e->is_cap ? thr_cap_next_allowed(e->u.c, n, now)
		    : thr_gcra_next_allowed(e->u.g, n, now));
	}
	return t;
}

bool thr_set_try_take(struct thr_set *s, uint32_t n, int64_t now,
    int64_t *retry_at)
{
	int64_t t = thr_set_next_allowed(s, n, now);
	if (retry_at)
		*retry_at = t;
	if (t > now)
		return false;
	/* Every limit said yes for this n at this now, and nothing runs in
	 * between, so none of these takes can fail. */
	for (unsigned i = 0; i < s->n; i++) {
		struct thr_set_ent *e = &s->ent[i];
		if (e->is_cap)
			(void)thr_cap_try(e->u.c, n, now);
		else
			(void)thr_gcra_try_take(e->u.g, n, now);
	}
	return true;
}

/* ---- carrier AIMD ---- */

#define ESME_RMSGQFUL   0x14u
#define ESME_RTHROTTLED 0x58u

void thr_aimd_init(struct thr_aimd *a, double max_rate, double min_rate,
    double factor, double step, int64_t interval_us, int64_t now)
{
	if (min_rate > max_rate)
		min_rate = max_rate;
	if (!(factor > 0.0 && factor < 1.0))
		factor = 0.5;
	a->rate = max_rate;
	a->min_rate = min_rate;
	a->max_rate = max_rate;
	a->factor = factor;
	a->step = step > 0.0 ? step : max_rate / 10.0;
	a->interval = interval_us > 0 ? interval_us : US_PER_S;
	a->clean_since = now;
	a->last_cut = INT64_MIN;
}

void thr_aimd_set_max(struct thr_aimd *a, double max_rate)
{
	a->max_rate = max_rate;
	if (a->min_rate > max_rate)
		a->min_rate = max_rate;
	if (a->rate > max_rate)
		a->rate = max_rate;
}

static int aimd_cut(struct thr_aimd *a, int64_t now)
{
	a->clean_since = now;
	if (a->last_cut != INT64_MIN && now - a->last_cut < a->interval)
		return 0;
	double r = a->rate * a->factor;
	if (r < a->min_rate)
		r = a->min_rate;
	a->last_cut = now;
	if (r == a->rate)
		return 0;
	a->rate = r;
	return -1;
}

static int aimd_grow(struct thr_aimd *a, int64_t now)
{
	if (a->rate >= a->max_rate || now - a->clean_since < a->interval)
		return 0;
	a->rate += a->step;
	if (a->rate > a->max_rate)
		a->rate = a->max_rate;
	a->clean_since = now;
	return 1;
}

int thr_aimd_feedback(struct thr_aimd *a, uint32_t command_status,
    int64_t now)
{
	if (command_status == ESME_RTHROTTLED || command_status == ESME_RMSGQFUL)
		return aimd_cut(a, now);
	if (command_status == 0)
		return aimd_grow(a, now);
	return 0;
}
