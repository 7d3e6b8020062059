/*
 * Rate monitors: per campaign, the share of errors or opt-outs among the
 * messages sent over a rolling window, counted in POLICY_RATE_BUCKETS
 * buckets so that memory is fixed and old events age out in steps of
 * window/buckets.  Pure: the caller owns the counters and passes the time.
 */
#include <string.h>

#include "policy/impl.h"

void policy_monitor_init(struct policy_monitor_state *st)
{
	memset(st, 0, sizeof(*st));
}

unsigned policy_monitor_count(const struct policy *p)
{
	return p ? p->nmonitors : 0;
}

const char *policy_monitor_name(const struct policy *p, unsigned i)
{
	return i < policy_monitor_count(p) ? p->monitors[i].name : NULL;
}

/* Moves the ring forward so that its head bucket holds `now`. */
static void rate_advance(struct policy_rate *r, int64_t width, int64_t now)
{
	if (r->bucket_start == 0) {
		r->bucket_start = now - now % width;
		return;
	}
	if (now < r->bucket_start + width)
		return;  /* same bucket, or a clock step back: count it here */
	int64_t steps = (now - r->bucket_start) / width;
	for (int64_t k = 0; k < steps && k < POLICY_RATE_BUCKETS; k++) {
		r->head = (r->head + 1) % POLICY_RATE_BUCKETS;
		r->sent[r->head] = 0;
		r->bad[r->head] = 0;
	}
	r->bucket_start += steps * width;
}

static void rate_sums(const struct policy_rate *r, uint32_t *sent,
    uint32_t *bad)
{
	*sent = *bad = 0;
	for (unsigned i = 0; i < POLICY_RATE_BUCKETS; i++) {
		*sent += r->sent[i];
		*bad += r->bad[i];
	}
}

static void sort_alarms(struct policy_monitor_alarm *a, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && a[j].action > a[j - 1].action; j--) {
			struct policy_monitor_alarm t = a[j];
			a[j] = a[j - 1];
			a[j - 1] = t;
		}
}

int policy_monitor_event(const struct policy *p,
    struct policy_monitor_state *st, enum policy_event ev, int64_t now,
    struct policy_monitor_alarm *alarms, size_t cap)
{
	int fired = 0;
	for (unsigned i = 0; i < p->nmonitors; i++) {
		const struct pol_monitor *m = &p->monitors[i];
		struct policy_rate *r = &st->rate[i];
		int64_t width = m->window / POLICY_RATE_BUCKETS;
		rate_advance(r, width, now);
		if (ev == POLICY_EV_SENT)
			r->sent[r->head]++;
		else if ((ev == POLICY_EV_OPTOUT) == (m->optouts != 0))
			r->bad[r->head]++;
		else
			continue;
		uint32_t sent, bad;
		rate_sums(r, &sent, &bad);
		double rate = sent ? (double)bad / sent : 0.0;
		int above = sent >= m->min_volume && rate >= m->threshold;
		if (above && !r->tripped && (size_t)fired < cap) {
			alarms[fired++] = (struct policy_monitor_alarm){
				m->name, m->action, rate, m->threshold, sent };
		}
		r->tripped = above;
	}
	sort_alarms(alarms, fired);
	return fired;
}
