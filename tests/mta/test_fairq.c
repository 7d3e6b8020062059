/*
 * The fair lane picker, alone and driving the limiters the way the
 * scheduler will, on a simulated clock (microseconds, nothing sleeps).
 */
#include "mta/fairq.h"
#include "mta/throttle.h"

#include <errno.h>
#include <stdlib.h>

#include "tests/unit.h"

#define MS 1000LL
#define SEC 1000000LL
#define MIN (60 * SEC)

static uint64_t rng = 88172645463325252ULL;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* ---- the scheduler's loop, in miniature ---- */

struct lane {
	struct thr_gcra rate;     /* the campaign's own limit */
	struct thr_set set;       /* rate + the shared bind */
	uint64_t pending;         /* simulated queue length */
	uint64_t sent;
	int64_t first_sent;
};

struct sim {
	struct fairq *q;
	struct lane *lanes;
	struct thr_gcra bind;     /* shared by all lanes */
	int64_t now;
	uint64_t picks;
};

static void sim_lane(struct sim *s, uint32_t id, unsigned cls, uint32_t w,
    uint32_t count, int64_t period, uint64_t pending)
{
	struct lane *l = &s->lanes[id];
	thr_gcra_init(&l->rate);
	thr_gcra_set_limit(&l->rate, count, period, 1, s->now);
	thr_set_clear(&l->set);
	thr_set_add_gcra(&l->set, &l->rate);
	thr_set_add_gcra(&l->set, &s->bind);
	l->pending = pending;
	l->sent = 0;
	l->first_sent = -1;
	fairq_lane_set(s->q, id, cls, w);
	if (pending)
		fairq_mark_ready(s->q, id);
}

static void sim_init(struct sim *s, uint32_t nlanes, uint32_t bind_per_s)
{
	s->q = fairq_new(nlanes, 1);
	s->lanes = calloc(nlanes, sizeof(*s->lanes));
	s->now = 0;
	s->picks = 0;
	thr_gcra_init(&s->bind);
	thr_gcra_set_rate(&s->bind, bind_per_s, 1, 0);
}

static void sim_free(struct sim *s)
{
	fairq_free(s->q);
	free(s->lanes);
}

/* One decision; false when nothing can happen before `to`.  The bind is
 * shared by every lane, so it is asked before picking: a lane told to
 * wait for the bind would lose its place in the rotation. */
static int sim_step(struct sim *s, int64_t to)
{
	int64_t b = thr_gcra_next_allowed(&s->bind, 1, s->now);
	if (b > s->now) {
		s->now = b < to ? b : to;
		return b < to;
	}
	int32_t id = fairq_pick(s->q, s->now);
	s->picks++;
	if (id < 0) {
		int64_t w = fairq_next_wakeup(s->q);
		s->now = w < to ? w : to;
		return w < to;
	}
	struct lane *l = &s->lanes[id];
	int64_t retry;
	if (l->pending == 0)
		fairq_mark_idle(s->q, (uint32_t)id);
	else if (thr_set_try_take(&l->set, 1, s->now, &retry)) {
		l->pending--;
		if (l->sent++ == 0)
			l->first_sent = s->now;
		fairq_charge(s->q, (uint32_t)id, 1);
	} else
		fairq_mark_waiting(s->q, (uint32_t)id, retry);
	return 1;
}

static void sim_run(struct sim *s, int64_t to)
{
	while (s->now < to && sim_step(s, to))
		;
}

/* ---- tests ---- */

static void test_basics(void)
{
	struct fairq *q = fairq_new(4, 1);
	CHECK(q != NULL);
	CHECK_EQ_INT(fairq_pick(q, 0), -1);
	CHECK(fairq_next_wakeup(q) == FAIRQ_NEVER);
	CHECK_EQ_INT(fairq_mark_ready(q, 2), -EINVAL);     /* not configured */
	CHECK_EQ_INT(fairq_lane_set(q, 2, FAIRQ_CLASSES, 1), -EINVAL);
	CHECK_EQ_INT(fairq_lane_set(q, 2, 0, 0), -EINVAL);
	CHECK_EQ_INT(fairq_lane_set(q, 2, 1, 1), 0);
	CHECK_EQ_INT(fairq_lane_state(q, 2), FAIRQ_IDLE);
	CHECK_EQ_INT(fairq_pick(q, 0), -1);

	/* a waiting lane blocks nobody, and says when it wakes */
	CHECK_EQ_INT(fairq_lane_set(q, 1, 1, 1), 0);
	CHECK_EQ_INT(fairq_mark_waiting(q, 1, 10 * SEC), 0);
	CHECK_EQ_INT(fairq_mark_ready(q, 2), 0);
	CHECK_EQ_INT(fairq_pick(q, 0), 2);
	CHECK(fairq_next_wakeup(q) == INT64_MIN);
	CHECK_EQ_INT(fairq_mark_idle(q, 2), 0);
	CHECK_EQ_INT(fairq_next_wakeup(q), 10 * SEC);
	CHECK_EQ_INT(fairq_pick(q, 10 * SEC - 1), -1);
	CHECK_EQ_INT(fairq_pick(q, 10 * SEC), 1);
	CHECK_EQ_INT(fairq_lane_state(q, 1), FAIRQ_READY);

	/* ids beyond the capacity grow the tables */
	CHECK_EQ_INT(fairq_lane_set(q, 5000, 0, 3), 0);
	CHECK_EQ_INT(fairq_mark_ready(q, 5000), 0);
	CHECK_EQ_INT(fairq_pick(q, 10 * SEC), 5000);       /* class 0 first */
	CHECK_EQ_INT(fairq_lane_set(q, 5000, 2, 3), 0);    /* moved down */
	CHECK_EQ_INT(fairq_pick(q, 10 * SEC), 1);
	CHECK_EQ_INT(fairq_ready_count(q), 2);
	CHECK_EQ_INT(fairq_waiting_count(q), 0);
	fairq_free(q);
}

/* The heap hands lanes back in time order, whatever the updates. */
static void test_waiting_order(void)
{
	enum { N = 2000 };
	struct fairq *q = fairq_new(N, 1);
	static int64_t until[N];
	for (uint32_t i = 0; i < N; i++) {
		fairq_lane_set(q, i, 0, 1);
		until[i] = 1 + rnd(1000000);
		fairq_mark_waiting(q, i, until[i]);
	}
	/* re-key some, pull some back to ready and idle */
	for (uint32_t i = 0; i < N; i += 3) {
		until[i] = 1 + rnd(1000000);
		fairq_mark_waiting(q, i, until[i]);
	}
	for (uint32_t i = 1; i < N; i += 7)
		fairq_mark_idle(q, i);
	CHECK_EQ_INT(fairq_waiting_count(q), N - (N + 5) / 7);
	int64_t last = 0;
	int ordered = 1, got = 0;
	while (fairq_waiting_count(q) > 0) {
		int64_t w = fairq_next_wakeup(q);
		ordered &= w >= last;
		last = w;
		int32_t id = fairq_pick(q, w);
		ordered &= id >= 0 && until[id] == w;
		for (; id >= 0; id = fairq_pick(q, w)) {
			fairq_mark_idle(q, (uint32_t)id);
			got++;
		}
	}
	CHECK(ordered);
	CHECK_EQ_INT(got, N - (N + 5) / 7);
	fairq_free(q);
}

/* 600 and 120 TPM lanes behind one picker and a 50/s bind. */
static void test_two_rates(void)
{
	struct sim s;
	sim_init(&s, 2, 50);
	sim_lane(&s, 0, 1, 1, 600, MIN, 1000000);
	sim_lane(&s, 1, 1, 1, 120, MIN, 1000000);
	sim_run(&s, 30 * SEC);
	CHECK(s.lanes[0].sent >= 299 && s.lanes[0].sent <= 301);
	CHECK(s.lanes[1].sent >= 59 && s.lanes[1].sent <= 61);
	sim_run(&s, 60 * SEC);
	CHECK(s.lanes[0].sent >= 599 && s.lanes[0].sent <= 601);
	CHECK(s.lanes[1].sent >= 119 && s.lanes[1].sent <= 121);
	/* event driven: a pick or two per send and per wake-up, not a poll */
	CHECK(s.picks < 4 * (s.lanes[0].sent + s.lanes[1].sent));
	sim_free(&s);
}

/* 2FA arrives behind a marketing lane with a million pending. */
static void two_fa(unsigned fa_cls, int64_t max_wait)
{
	struct sim s;
	sim_init(&s, 2, 100);                 /* pacing interval 10 ms */
	sim_lane(&s, 0, 1, 1, 6000, MIN, 1000000);
	sim_lane(&s, 1, fa_cls, 1, 60, MIN, 0);
	int64_t arrival = 5 * SEC + 3700;
	sim_run(&s, arrival);
	CHECK(s.lanes[0].sent > 400);
	s.lanes[1].pending = 1;
	fairq_mark_ready(s.q, 1);
	sim_run(&s, arrival + SEC);
	CHECK_EQ_INT(s.lanes[1].sent, 1);
	CHECK(s.lanes[1].first_sent - arrival <= max_wait);
	CHECK(s.lanes[0].pending > 990000);
	sim_free(&s);
}

static void test_2fa_latency(void)
{
	two_fa(0, 10 * MS);   /* priority class: the next bind slot */
	two_fa(1, 20 * MS);   /* same class: after one marketing turn */
}

/* 10,000 backlogged lanes, random weights: DRR shares by weight. */
static void test_fair_weights(void)
{
	enum { N = 10000, ROUNDS = 40 };
	struct fairq *q = fairq_new(N, 1);
	static uint32_t w[N];
	static uint64_t got[N];
	uint64_t total_w = 0;
	for (uint32_t i = 0; i < N; i++) {
		w[i] = 1 + rnd(8);
		total_w += w[i];
		fairq_lane_set(q, i, 0, w[i]);
		fairq_mark_ready(q, i);
	}
	for (uint64_t k = 0; k < ROUNDS * total_w; k++) {
		int32_t id = fairq_pick(q, 0);
		got[id]++;
		fairq_charge(q, (uint32_t)id, 1);
	}
	double worst = 0;
	for (uint32_t i = 0; i < N; i++) {
		double e = (double)got[i] / (double)(ROUNDS * w[i]) - 1.0;
		if (e < 0)
			e = -e;
		if (e > worst)
			worst = e;
	}
	printf("# worst deviation from weight share: %.4f\n", worst);
	CHECK(worst <= 0.05);
	fairq_free(q);
}

/*
 * 10,000 lanes with random rates behind a 1,000/s bind: 9,900 limited to
 * 0.6 to 3 TPM get their own rate, the 100 whose own limits are above the
 * bind share the rest of the bind by weight.  (A lane whose own limit lets
 * it send less than its quantum in a turn gets what it can send in one
 * turn per round; see fairq.h.)
 */
static void test_fair_rates(void)
{
	enum { N = 10000, SLOW = 9900 };
	struct sim s;
	sim_init(&s, N, 1000);
	static uint32_t w[N], per10[N];
	for (uint32_t i = 0; i < N; i++) {
		w[i] = 1 + rnd(8);
		/* slow: 6 to 30 per 10 minutes; fast: 1,000 to 5,000/s */
		per10[i] = i < SLOW ? 6 + rnd(25) : 600000 * (1 + rnd(5));
		sim_lane(&s, i, 1, w[i], per10[i], 10 * MIN, 1000000);
	}
	sim_run(&s, 10 * MIN);
	uint64_t slow_sent = 0, fast_sent = 0, fast_w = 0, bad = 0;
	for (uint32_t i = 0; i < SLOW; i++) {
		int64_t d = (int64_t)s.lanes[i].sent - per10[i];
		bad += d < -1 || d > 1;
		slow_sent += s.lanes[i].sent;
	}
	for (uint32_t i = SLOW; i < N; i++) {
		fast_sent += s.lanes[i].sent;
		fast_w += w[i];
	}
	double worst = 0;
	for (uint32_t i = SLOW; i < N; i++) {
		double share = (double)fast_sent * w[i] / (double)fast_w;
		double e = (double)s.lanes[i].sent / share - 1.0;
		if (e < 0)
			e = -e;
		if (e > worst)
			worst = e;
	}
	printf("# slow lanes %" PRIu64 " sent, off by more than 1: %" PRIu64
	    "; fast lanes %" PRIu64 " sent, worst weight deviation %.4f\n",
	    slow_sent, bad, fast_sent, worst);
	CHECK_EQ_INT(bad, 0);
	CHECK(slow_sent + fast_sent >= 599000);   /* the bind kept busy */
	CHECK(worst <= 0.05);
	sim_free(&s);
}

int main(void)
{
	RUN(test_basics);
	RUN(test_waiting_order);
	RUN(test_two_rates);
	RUN(test_2fa_latency);
	RUN(test_fair_weights);
	RUN(test_fair_rates);
	return unit_done();
}
