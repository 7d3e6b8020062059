/*
 * Scheduler-core benchmark: the cost of choosing and pacing each message
 * with 10,000 lanes against 1 lane, on a simulated clock (no sleeping: the
 * clock jumps to the next event, so only CPU time is measured).
 *
 * Each case runs the scheduler's loop: ask the shared bind limit, pick a
 * lane, take from the lane's limiter set (its own rate + the bind) and
 * charge it, or send it to wait until its limits allow.  Prints one JSON
 * line per case:
 *
 *   ready   every lane's own limit is above the bind's, so all lanes stay
 *           in the rotation and the bind alone paces (DRR cost)
 *   paced   each lane's own limit is its share of the bind (0.1/s per
 *           lane for 10,000), so every send sends the lane to the wait
 *           heap and brings another back (heap cost)
 *
 *   bench-fairq [SENDS]     (default 1,000,000 sends per case)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mta/fairq.h"
#include "mta/throttle.h"

struct lane {
	struct thr_gcra rate;
	struct thr_set set;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct result {
	uint64_t picks, sends;
	double secs;
};

static struct result run(uint32_t nlanes, double lane_rate, double bind_rate,
    uint64_t sends)
{
	struct fairq *q = fairq_new(nlanes, 1);
	struct lane *lanes = calloc(nlanes, sizeof(*lanes));
	struct thr_gcra bind;
	if (!q || !lanes) {
		fprintf(stderr, "bench-fairq: out of memory\n");
		exit(1);
	}
	thr_gcra_init(&bind);
	thr_gcra_set_rate(&bind, bind_rate, 1, 0);
	for (uint32_t i = 0; i < nlanes; i++) {
		thr_gcra_init(&lanes[i].rate);
		thr_gcra_set_rate(&lanes[i].rate, lane_rate, 1, 0);
		thr_set_clear(&lanes[i].set);
		thr_set_add_gcra(&lanes[i].set, &lanes[i].rate);
		thr_set_add_gcra(&lanes[i].set, &bind);
		fairq_lane_set(q, i, 1, 1 + i % 4);
		fairq_mark_ready(q, i);
	}
	struct result r = { 0, 0, 0 };
	int64_t now = 0;
	double t0 = now_s();
	while (r.sends < sends) {
		int64_t b = thr_gcra_next_allowed(&bind, 1, now);
		if (b > now) {
			now = b;
			continue;
		}
		int32_t id = fairq_pick(q, now);
		r.picks++;
		if (id < 0) {
			now = fairq_next_wakeup(q);
			continue;
		}
		int64_t retry;
		if (thr_set_try_take(&lanes[id].set, 1, now, &retry)) {
			fairq_charge(q, (uint32_t)id, 1);
			r.sends++;
		} else {
			fairq_mark_waiting(q, (uint32_t)id, retry);
		}
	}
	r.secs = now_s() - t0;
	fairq_free(q);
	free(lanes);
	return r;
}

static void report(const char *name, uint32_t nlanes, struct result r)
{
	printf("{\"case\":\"%s\",\"lanes\":%" PRIu32 ",\"sends\":%" PRIu64
	    ",\"picks\":%" PRIu64 ",\"ns_per_pick\":%.1f,\"ns_per_send\":%.1f}\n",
	    name, nlanes, r.sends, r.picks, r.secs * 1e9 / (double)r.picks,
	    r.secs * 1e9 / (double)r.sends);
}

int main(int argc, char **argv)
{
	uint64_t sends = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	const double bind = 1000.0;
	static const uint32_t sizes[] = { 1, 10000 };
	for (unsigned i = 0; i < 2; i++) {
		uint32_t n = sizes[i];
		report("ready", n, run(n, 2 * bind, bind, sends));
		report("paced", n, run(n, bind / n, bind, sends));
	}
	return 0;
}
