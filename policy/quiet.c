/*
 * Quiet hours: is the sending window open at a given UTC time in every
 * zone a number may be in, and if not, when does it next open in all of
 * them at once.  Times are local wall-clock minutes, so a window keeps
 * its meaning across daylight-saving changes; the UTC instant of "08:00"
 * is recomputed per day.
 */
#include <string.h>

#include "policy/impl.h"

enum { DAY = 86400, HORIZON = 8 * DAY };

static int64_t floordiv(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static unsigned weekday(int64_t day)
{
	return (unsigned)(((day + 4) % 7 + 7) % 7);
}

/* The UTC instant of a local wall-clock time.  Two rounds settle the
 * offset except inside a spring-forward gap (02:00-03:00), which no
 * sensible window edge falls in. */
static int64_t local_to_utc(int z, int64_t local)
{
	int64_t u = local - tz_offset(z, local);
	return local - tz_offset(z, u);
}

/* First instant >= t at which the window is open in zone z; -1 if none
 * within the horizon. */
static int64_t zone_next_open(int z, const struct pol_window *w, int64_t t)
{
	int64_t today = floordiv(t + tz_offset(z, t), DAY);
	for (int64_t d = today; d <= today + 8; d++) {
		if (!(w->days & (1u << weekday(d))))
			continue;
		int64_t open = local_to_utc(z, d * DAY + w->start * 60);
		int64_t close = local_to_utc(z, d * DAY + w->end * 60);
		if (t < close)
			return t > open ? t : open;
	}
	return -1;
}

static struct pol_window effective_window(const struct policy *p,
    const struct pol_campaign *c, const char *state)
{
	struct pol_window w = c && c->has_quiet ? c->quiet : p->quiet_default;
	if (state == NULL)
		return w;
	for (unsigned i = 0; i < p->nquiet_states; i++) {
		const struct pol_window *s = &p->quiet_states[i].w;
		if (strcmp(p->quiet_states[i].state, state) != 0)
			continue;
		/* A state's law narrows the window, never widens it. */
		if (s->start > w.start)
			w.start = s->start;
		if (s->end < w.end)
			w.end = s->end;
		w.days &= s->days;
	}
	return w;
}

int quiet_open(const struct policy *p, const struct pol_campaign *c,
    const char *digits, const char *state, int64_t now, int64_t *opens)
{
	const uint8_t *zl;
	unsigned nz = numtab_zones(p, digits, strlen(digits), &zl);
	struct pol_window w = effective_window(p, c, state);
	*opens = -1;
	if (w.start >= w.end || w.days == 0)
		return 0;
	/* No zone known: judge by the widest US span, Eastern to Hawaii,
	 * at once, rather than guess one zone. */
	uint8_t fallback[2] = {
		(uint8_t)tz_index("America/New_York"),
		(uint8_t)tz_index("Pacific/Honolulu"),
	};
	if (nz == 0) {
		zl = fallback;
		nz = 2;
	}
	int64_t t = now;
	/* Each round moves t to where the latest-opening zone opens; the
	 * others are then open or push t further.  Converges in a few. */
	while (t - now <= HORIZON) {
		int64_t latest = t;
		for (unsigned i = 0; i < nz; i++) {
			int64_t o = zone_next_open(zl[i], &w, t);
			if (o < 0)
				return 0;
			if (o > latest)
				latest = o;
		}
		if (latest == t) {
			*opens = t;
			return t == now;
		}
		t = latest;
	}
	return 0;
}
