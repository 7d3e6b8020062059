/*
 * mta/pacing over a real temporary store and a policy written here: lane
 * tables, limits read from the policy, segments taken from lane, brand and
 * number at once, daily counts reserved in the store and restored after a
 * restart, rate limiters that start spent, and priorities in fairq.
 * The clock is simulated: every call takes `now`.
 */
#include "mta/fairq.h"
#include "mta/pacing.h"
#include "policy/policy.h"
#include "tests/mta/store_fixture.h"
#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SMPPD_SOURCE_ROOT
#define SMPPD_SOURCE_ROOT "."
#endif

#define SEC 1000000LL
/* 2024-07-15 12:00 PDT; the Pacific day began 07:00 UTC, ends 07:00 UTC */
#define NOON (1721070000LL * SEC)
#define NEXT_RESET (1721113200LL * SEC)

static char dir[256];
static struct store *st;
static struct pacing *pc;
static struct policy *pol;

static void route(const struct store_completion *c, void *arg)
{
	(void)arg;
	if (pacing_owns_cookie(c->cookie))
		pacing_completion(pc, c);
	else
		printf("# stray completion\n");
}

/* Waits until everything submitted so far has completed and was routed. */
static int sync_store(void)
{
	return fixture_sync(st, route, NULL);
}

static const char *policy_text =
    "brands:\n"
    "  - {name: B, add_prefix: no, daily_cap: 50}\n"
    "  - {name: Big, add_prefix: no, daily_cap: 6400}\n"
    "  - {name: Free, add_prefix: no}\n"
    "campaigns:\n"
    "  - {id: OTP, brand: B, status: approved, use_case: 2FA,\n"
    "     numbers: [\"+12025550101\"], number_mps: 1000}\n"
    "  - {id: NOTE, brand: B, status: approved, use_case: ACCOUNT_NOTIFICATION,\n"
    "     numbers: [\"+12025550104\"], number_mps: 1000}\n"
    "  - {id: MKT, brand: Free, status: approved, use_case: MARKETING,\n"
    "     per_minute: 600, weight: 3, numbers: [\"+12025550102\"], number_mps: 1000}\n"
    "  - {id: SLOW, brand: Free, status: approved, use_case: CUSTOMER_CARE,\n"
    "     numbers: [\"+12025550103\", \"+18885550103\"]}\n"
    "  - {id: BULK, brand: Big, status: approved, use_case: ACCOUNT_NOTIFICATION,\n"
    "     numbers: [\"55512\"], number_mps: 100000}\n";

static struct policy *load_policy(void)
{
	char path[300], err[512];
	snprintf(path, sizeof path, "%s/policy.yaml", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return NULL;
	fprintf(f, "%snumber_tables:\n  timezones: %s/conf/nanp-tz.tsv\n"
	    "  states: %s/conf/nanp-states.tsv\n", policy_text, SMPPD_SOURCE_ROOT,
	    SMPPD_SOURCE_ROOT);
	fclose(f);
	struct policy *p = NULL;
	if (policy_load(path, &p, err, sizeof err) < 0)
		printf("# policy_load: %s\n", err);
	return p;
}

static void wipe(void)
{
	fixture_dir_clear(dir, 1);
}

static void open_all(int64_t start)
{
	struct store_config cfg = { .path = dir, .map_size = 16 << 20, .node_id = 1 };
	int rc = store_open(&cfg, &st);
	if (rc < 0)
		printf("# store_open: %s\n", store_strerror(rc));
	pc = pacing_new(st, start);
}

static void close_all(void)
{
	sync_store();
	pacing_free(pc);
	store_close(st);
	pc = NULL;
	st = NULL;
}

/* Takes one message of segs; returns 0 taken, 1 held (retry in *at). */
static int take(const char *lane, const char *src, uint32_t segs, int64_t now, int64_t *at)
{
	struct pacing_lane *l = pacing_lane(pc, lane, 1);
	pacing_lane_refresh(pc, l, pol, now);
	return pacing_take(pc, l, pol, src, segs, now, at);
}

static void test_lane_table(void)
{
	wipe();
	open_all(0);
	char name[32];
	int ok = 1;
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof name, "campaign-%d", i);
		struct pacing_lane *l = pacing_lane(pc, name, 1);
		ok &= l && l->id == (uint32_t)i && strcmp(l->name, name) == 0;
	}
	CHECK(ok);
	CHECK_EQ_INT(pacing_lane_count(pc), 10000);
	struct pacing_lane *l = pacing_lane(pc, "campaign-4242", 0);
	CHECK(l && l->id == 4242 && pacing_lane_at(pc, 4242) == l);
	CHECK(pacing_lane(pc, "campaign-10000", 0) == NULL);
	CHECK(pacing_lane_at(pc, 10000) == NULL);
	CHECK_EQ_INT(fairq_lane_state(pacing_fairq(pc), 9999), FAIRQ_IDLE);
	/* staging keeps order and refuses past its size */
	for (unsigned i = 1; i <= PACING_STAGE_MAX; i++)
		CHECK_EQ_INT(pacing_stage(l, i), 0);
	CHECK_EQ_INT(pacing_stage(l, 999), -1);
	CHECK_EQ_INT(pacing_staged_peek(l), 1);
	pacing_staged_pop(l);
	CHECK_EQ_INT(pacing_staged_peek(l), 2);
	CHECK_EQ_INT(l->staged_n, PACING_STAGE_MAX - 1);
	close_all();
}

static void test_limits_from_policy(void)
{
	wipe();
	open_all(0);
	int64_t at = 0, now = NOON;
	struct pacing_lane *mkt = pacing_lane(pc, "MKT", 1), *otp = pacing_lane(pc, "OTP", 1);
	struct pacing_lane *none = pacing_lane(pc, "unknown", 1);
	pacing_lane_refresh(pc, mkt, pol, now);
	pacing_lane_refresh(pc, otp, pol, now);
	pacing_lane_refresh(pc, none, pol, now);
	CHECK_EQ_INT(mkt->per_minute, 600);
	CHECK(otp->brand != NULL && mkt->brand == NULL); /* Free has no cap */
	CHECK(none->brand == NULL && none->per_minute == 0);
	/* 600 per minute: one per 100 ms; the room says how many now */
	CHECK_EQ_INT(pacing_lane_room(pc, mkt, 64, now, &at), 1);
	CHECK_EQ_INT(pacing_lane_room(pc, none, 64, now, &at), 64);
	/* priorities: 2FA (0) is picked before marketing (4) and the default (3) */
	struct fairq *q = pacing_fairq(pc);
	fairq_mark_ready(q, mkt->id);
	fairq_mark_ready(q, none->id);
	fairq_mark_ready(q, otp->id);
	CHECK_EQ_INT(fairq_pick(q, now), (int)otp->id);
	fairq_mark_idle(q, otp->id);
	CHECK_EQ_INT(fairq_pick(q, now), (int)none->id);
	fairq_mark_idle(q, none->id);
	CHECK_EQ_INT(fairq_pick(q, now), (int)mkt->id);
	/* the campaign's rate, in segments: a 3-segment message waits 300 ms */
	CHECK_EQ_INT(take("MKT", "12025550102", 1, now, &at), 0);
	CHECK_EQ_INT(take("MKT", "12025550102", 1, now, &at), 1);
	CHECK_EQ_INT(at, now + 100000);
	CHECK_EQ_INT(mkt->held_by, PACING_LIMIT_RATE); /* what metrics count the wait as */
	CHECK_EQ_INT(take("MKT", "12025550102", 3, now + 100000, &at), 0);
	CHECK_EQ_INT(take("MKT", "12025550102", 1, now + 200000, &at), 1);
	CHECK_EQ_INT(at, now + 400000);
	mkt->held_by = PACING_LIMIT_NONE;
	CHECK_EQ_INT(pacing_lane_room(pc, mkt, 64, now + 200000, &at), 0);
	CHECK_EQ_INT(at, now + 400000);
	CHECK_EQ_INT(mkt->held_by, PACING_LIMIT_RATE);
	/* a reload that removes the limit frees the lane at once */
	pacing_lane_refresh(pc, mkt, NULL, now + 200000);
	CHECK_EQ_INT(mkt->per_minute, 0);
	close_all();
}

/* 10DLC 1/s and toll-free 3/s by default; one number's rate holds over
 * every campaign (lane) that sends from it. */
static void test_number_rate(void)
{
	wipe();
	open_all(0);
	int64_t at = 0, now = NOON;
	CHECK_EQ_INT(take("SLOW", "+12025550103", 1, now, &at), 0);
	CHECK_EQ_INT(take("SLOW", "12025550103", 1, now, &at), 1); /* the same number */
	CHECK_EQ_INT(take("other-lane", "12025550103", 1, now + 500000, &at), 1);
	CHECK_EQ_INT(at, now + SEC);
	CHECK_EQ_INT(pacing_lane(pc, "other-lane", 0)->held_by, PACING_LIMIT_NUMBER);
	CHECK_EQ_INT(take("other-lane", "12025550103", 1, now + SEC, &at), 0);
	int sent = 0;
	for (int i = 0; i < 3000; i++)
		sent += take("SLOW", "18885550103", 1, now + i * 1000, &at) == 0;
	CHECK_EQ_INT(sent, 9); /* 3 per second over 3 s */
	/* an unregistered number has no limit of its own */
	sent = 0;
	for (int i = 0; i < 100; i++)
		sent += take("SLOW", "19995550100", 1, now, &at) == 0;
	CHECK_EQ_INT(sent, 100);
	close_all();
}

/* Takes one segment at a time until held, syncing the store whenever the
 * hold is a reservation being committed.  Returns the number taken. */
static int drain_cap(const char *lane, const char *src, int64_t now, int max, int64_t *held_at)
{
	int taken = 0;
	for (int i = 0; i < max; i++) {
		int64_t at;
		if (take(lane, src, 1, now, &at) == 0) {
			taken++;
			continue;
		}
		if (at - now <= 10000) { /* waiting for the disk, not the cap */
			sync_store();
			if (take(lane, src, 1, now, &at) == 0) {
				taken++;
				continue;
			}
		}
		*held_at = at;
		break;
	}
	return taken;
}

static void test_daily_cap(void)
{
	wipe();
	open_all(0);
	int64_t at = 0, now = NOON;
	uint64_t used, reserved;
	/* nothing is sent before a reservation covers it */
	CHECK_EQ_INT(take("OTP", "12025550101", 1, now, &at), 1);
	CHECK(at > now && at <= now + 10000);
	CHECK_EQ_INT(pacing_lane(pc, "OTP", 0)->held_by, PACING_LIMIT_NONE); /* the disk, not a limit */
	sync_store();
	/* two campaigns of brand B share its 50 */
	int a = drain_cap("OTP", "12025550101", now, 30, &at);
	int b = drain_cap("NOTE", "12025550104", now + 10 * SEC, 100, &at);
	int c = 0;
	for (int i = 0; i < 40; i++)
		c += drain_cap("NOTE", "12025550104", now + (11 + i) * SEC, 100, &at);
	CHECK_EQ_INT(a, 30);
	CHECK_EQ_INT(a + b + c, 50);
	CHECK_EQ_INT(at, NEXT_RESET);
	CHECK_EQ_INT(pacing_brand_usage(pc, "B", now + 60 * SEC, &used, &reserved), 0);
	CHECK_EQ_INT(used, 50);
	CHECK_EQ_INT(reserved, 50);
	CHECK_EQ_INT(take("OTP", "12025550101", 1, NEXT_RESET - 1, &at), 1);
	CHECK_EQ_INT(at, NEXT_RESET);
	CHECK_EQ_INT(pacing_lane(pc, "OTP", 0)->held_by, PACING_LIMIT_BRAND);
	struct pacing_lane *otp = pacing_lane(pc, "OTP", 0);
	otp->held_by = PACING_LIMIT_NONE;
	CHECK_EQ_INT(pacing_lane_room(pc, otp, 64, NEXT_RESET - 1, &at), 0);
	CHECK_EQ_INT(otp->held_by, PACING_LIMIT_BRAND);
	/* the next Pacific day starts from zero */
	CHECK_EQ_INT(drain_cap("OTP", "12025550101", NEXT_RESET, 100, &at), 50);
	CHECK_EQ_INT(pacing_brand_usage(pc, "nobody", now, &used, &reserved), -1);
	/* more segments than the whole day's cap can never go */
	CHECK_EQ_INT(take("OTP", "12025550101", 51, NEXT_RESET + SEC, &at), 1);
	CHECK(at == THR_NEVER);
	close_all();
}

/* A restart resumes from the reserved count: never more than the cap in
 * a day, whatever was in flight. */
static void test_cap_restart(void)
{
	wipe();
	open_all(NOON);
	int64_t at = 0, now = NOON + SEC;
	uint64_t used, reserved;
	int first = drain_cap("BULK", "55512", now, 1000, &at);
	CHECK_EQ_INT(first, 1000);
	CHECK_EQ_INT(pacing_brand_usage(pc, "Big", now, &used, &reserved), 0);
	CHECK_EQ_INT(used, 1000);
	CHECK(reserved >= 1000 && reserved <= 1000 + 2 * 6400 / 64);
	close_all(); /* as a crash would leave it: the reservation is on disk */
	open_all(now + SEC);
	int second = 0;
	for (int s = 1; s < 200 && second < 6400; s++)
		second += drain_cap("BULK", "55512", now + s * SEC, 6400, &at);
	CHECK(first + second <= 6400);
	CHECK(first + second >= 6400 - 2 * 6400 / 64);
	CHECK_EQ_INT(at, NEXT_RESET);
	close_all();
}

/* A rate limiter of a new process starts as though the last one had just
 * spent its burst: the first message waits one interval. */
static void test_rates_start_spent(void)
{
	int64_t at = 0, start = NOON;
	wipe();
	open_all(start);
	CHECK_EQ_INT(take("MKT", "12025550102", 1, start, &at), 1);
	CHECK_EQ_INT(at, start + 100000);
	CHECK_EQ_INT(take("SLOW", "12025550103", 1, start + 10, &at), 1);
	CHECK_EQ_INT(at, start + SEC);
	close_all();
	/* long after the start, a limiter created then is simply idle */
	open_all(start);
	CHECK_EQ_INT(take("SLOW", "12025550103", 1, start + 5 * SEC, &at), 0);
	close_all();
}

int main(void)
{
	fixture_dir_make(dir, sizeof dir, "pacing-test");
	pol = load_policy();
	if (!pol)
		return 1;
	RUN(test_lane_table);
	RUN(test_limits_from_policy);
	RUN(test_number_rate);
	RUN(test_daily_cap);
	RUN(test_cap_restart);
	RUN(test_rates_start_spent);
	policy_unref(pol);
	char path[300];
	snprintf(path, sizeof path, "%s/policy.yaml", dir);
	unlink(path);
	fixture_dir_clear(dir, 0);
	return unit_done();
}
