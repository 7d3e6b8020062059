/*
 * Rate limits, daily caps, limiter sets and AIMD on a simulated clock.
 * Times are microseconds; nothing sleeps.
 */
#include "mta/throttle.h"

#include "tests/unit.h"

#define MS 1000LL
#define SEC 1000000LL
#define MIN (60 * SEC)

/* ---- GCRA ---- */

/* The scheduler's way: sleep exactly until next_allowed, then take. */
static int drive(struct thr_gcra *g, int64_t from, int64_t to, int64_t *times,
    int max)
{
	int n = 0;
	int64_t now = from;
	for (;;) {
		now = thr_gcra_next_allowed(g, 1, now);
		if (now >= to || n >= max)
			return n;
		if (!thr_gcra_try_take(g, 1, now))
			return -1;
		times[n++] = now;
	}
}

static void test_600tpm_over_30s(void)
{
	struct thr_gcra g;
	thr_gcra_init(&g);
	thr_gcra_set_limit(&g, 600, MIN, 1, 0);
	static int64_t t[1000];
	int n = drive(&g, 0, 30 * SEC, t, 1000);
	CHECK(n >= 299 && n <= 301);
	int even = 1;
	for (int i = 1; i < n; i++)
		even &= t[i] - t[i - 1] == 100 * MS;
	CHECK(even);

	/* Polling every millisecond instead gives the same spacing: the
	 * pacing is smooth, not ten at the top of each second. */
	thr_gcra_init(&g);
	thr_gcra_set_rate(&g, 10.0, 1, 0);
	int got = 0, last = -100, spaced = 1;
	for (int ms = 0; ms < 30000; ms++) {
		if (thr_gcra_try_take(&g, 1, ms * MS)) {
			spaced &= ms - last == 100;
			last = ms;
			got++;
		}
	}
	CHECK_EQ_INT(got, 300);
	CHECK(spaced);
}

static void test_fractional_rates(void)
{
	struct thr_gcra g;
	thr_gcra_init(&g);
	thr_gcra_set_limit(&g, 75, MIN, 1, 0);            /* T: 1.25/s */
	CHECK_EQ_INT(g.interval, 800 * MS);
	thr_gcra_set_limit(&g, 15, MIN, 1, 0);            /* W: 0.25/s */
	CHECK_EQ_INT(g.interval, 4 * SEC);
	thr_gcra_set_rate(&g, 1.25, 1, 0);
	CHECK_EQ_INT(g.interval, 800 * MS);
	thr_gcra_set_rate(&g, 0.25, 1, 0);
	CHECK_EQ_INT(g.interval, 4 * SEC);
	/* 4,500 TPM does not divide: round the interval up, never down. */
	thr_gcra_set_limit(&g, 4500, MIN, 1, 0);
	CHECK_EQ_INT(g.interval, 13334);
	static int64_t t[5000];
	CHECK(drive(&g, 0, MIN, t, 5000) <= 4500);
}

static void test_closed_and_empty(void)
{
	struct thr_gcra g;
	thr_gcra_init(&g);
	CHECK(!thr_gcra_try_take(&g, 1, 0));
	CHECK(thr_gcra_next_allowed(&g, 1, 0) == THR_NEVER);
	thr_gcra_set_rate(&g, 0.0, 1, 0);
	CHECK(thr_gcra_next_allowed(&g, 1, 0) == THR_NEVER);
	thr_gcra_set_rate(&g, 1.0, 1, 0);
	CHECK(thr_gcra_try_take(&g, 0, 5));
	CHECK(!thr_gcra_try_take(&g, THR_N_MAX + 1, 5));
	CHECK(thr_gcra_try_take(&g, 1, 5));
}

static void test_burst_and_segments(void)
{
	struct thr_gcra g;
	thr_gcra_init(&g);
	thr_gcra_set_rate(&g, 10.0, 3, 0);
	CHECK(thr_gcra_try_take(&g, 1, 0));
	CHECK(thr_gcra_try_take(&g, 1, 0));
	CHECK(thr_gcra_try_take(&g, 1, 0));
	CHECK(!thr_gcra_try_take(&g, 1, 0));
	CHECK_EQ_INT(thr_gcra_next_allowed(&g, 1, 0), 100 * MS);
	CHECK_EQ_INT(thr_gcra_next_allowed(&g, 2, 0), 200 * MS);
	CHECK(!thr_gcra_try_take(&g, 1, 100 * MS - 1));
	CHECK(thr_gcra_try_take(&g, 1, 100 * MS));

	/* More segments than the burst: only from idle, then paid back. */
	thr_gcra_init(&g);
	thr_gcra_set_rate(&g, 10.0, 1, 0);
	CHECK_EQ_INT(thr_gcra_next_allowed(&g, 3, 0), 0);
	CHECK(thr_gcra_try_take(&g, 3, 0));
	CHECK_EQ_INT(thr_gcra_next_allowed(&g, 1, 0), 300 * MS);
	CHECK_EQ_INT(thr_gcra_next_allowed(&g, 3, 0), 300 * MS);
}

/* count per period holds in every sliding window, burst and all. */
static void test_sliding_window(void)
{
	struct thr_gcra g;
	thr_gcra_init(&g);
	thr_gcra_set_limit(&g, 75, MIN, 5, 0);
	static int64_t t[20000];
	int n = 0;
	int64_t now = 0;
	unsigned seed = 7;
	while (now < 60 * MIN && n < 19990) {
		seed = seed * 1103515245u + 12345u;
		uint32_t r = seed >> 16;
		uint32_t segs = 1 + r % 4;
		now = thr_gcra_next_allowed(&g, segs, now);
		if (!thr_gcra_try_take(&g, segs, now))
			break;
		for (uint32_t i = 0; i < segs; i++)
			t[n++] = now;
		/* now and then a pause, so the burst refills */
		if (r % 61 == 0)
			now += (int64_t)(r % 120) * SEC;
	}
	int worst = 0;
	for (int i = 0, j = 0; i < n; i++) {
		while (t[i] - t[j] >= MIN)
			j++;
		if (i - j + 1 > worst)
			worst = i - j + 1;
	}
	CHECK(n > 1000);
	CHECK(worst <= 75);
	CHECK(worst >= 70);
}

static void test_set_rate_live(void)
{
	struct thr_gcra g;
	thr_gcra_init(&g);
	thr_gcra_set_rate(&g, 1.0, 1, 0);
	CHECK(thr_gcra_try_take(&g, 1, 0));
	/* Admitted one at 1/s: at 2/s it is owed half a second, not zero
	 * (a reload is no free burst) and not a full second. */
	thr_gcra_set_rate(&g, 2.0, 1, 0);
	CHECK_EQ_INT(thr_gcra_next_allowed(&g, 1, 0), 500 * MS);
	/* at 250 ms half a segment is owed; at 0.5/s that is a second */
	thr_gcra_set_rate(&g, 0.5, 1, 250 * MS);
	CHECK_EQ_INT(thr_gcra_next_allowed(&g, 1, 250 * MS), 1250 * MS);
	/* Closing and reopening keeps the debt. */
	thr_gcra_set_rate(&g, 0.0, 1, 300 * MS);
	CHECK(thr_gcra_next_allowed(&g, 1, 300 * MS) == THR_NEVER);
	thr_gcra_set_rate(&g, 0.5, 1, 300 * MS);
	CHECK_EQ_INT(thr_gcra_next_allowed(&g, 1, 300 * MS), 1250 * MS);
}

static void test_gcra_persist(void)
{
	struct thr_gcra a, b;
	thr_gcra_init(&a);
	thr_gcra_set_limit(&a, 60, MIN, 1, 0);
	int64_t base = 1721070000LL * SEC;
	for (int i = 0; i < 10; i++)
		CHECK(thr_gcra_try_take(&a, 1, base + i * SEC));
	int64_t saved = thr_gcra_state(&a);
	/* restart: same configuration, state from the store */
	thr_gcra_init(&b);
	thr_gcra_set_limit(&b, 60, MIN, 1, 0);
	thr_gcra_restore(&b, saved);
	CHECK(!thr_gcra_try_take(&b, 1, base + 9 * SEC + 500 * MS));
	CHECK_EQ_INT(thr_gcra_next_allowed(&b, 1, base + 9 * SEC),
	    base + 10 * SEC);
	/* without the state a restart would have allowed it at once */
	thr_gcra_init(&b);
	thr_gcra_set_limit(&b, 60, MIN, 1, 0);
	CHECK(thr_gcra_try_take(&b, 1, base + 9 * SEC + 500 * MS));
}

/* ---- time zone and daily caps ---- */

static void test_pacific_offset(void)
{
	struct thr_zone pt = THR_ZONE_PACIFIC;
	CHECK_EQ_INT(thr_zone_offset_s(pt, 1721070000), -7 * 3600);  /* July */
	CHECK_EQ_INT(thr_zone_offset_s(pt, 1705348800), -8 * 3600);  /* Jan */
	/* 2024-03-10 10:00 UTC: 01:59:59 PST, then 03:00 PDT */
	CHECK_EQ_INT(thr_zone_offset_s(pt, 1710064799), -8 * 3600);
	CHECK_EQ_INT(thr_zone_offset_s(pt, 1710064800), -7 * 3600);
	/* 2024-11-03 09:00 UTC: 01:59:59 PDT, then 01:00 PST */
	CHECK_EQ_INT(thr_zone_offset_s(pt, 1730624399), -7 * 3600);
	CHECK_EQ_INT(thr_zone_offset_s(pt, 1730624400), -8 * 3600);
	/* 2025: March 9 and November 2 */
	CHECK_EQ_INT(thr_zone_offset_s(pt, 1741514399), -8 * 3600);
	CHECK_EQ_INT(thr_zone_offset_s(pt, 1741514400), -7 * 3600);
	CHECK_EQ_INT(thr_zone_offset_s(pt, 1762073999), -7 * 3600);
	CHECK_EQ_INT(thr_zone_offset_s(pt, 1762074000), -8 * 3600);
	struct thr_zone az = { -7 * 3600, false };
	CHECK_EQ_INT(thr_zone_offset_s(az, 1721070000), -7 * 3600);
}

/* A cap of 50 allows exactly 50 at `noon` and then names `reset`. */
static void cap_day(int64_t noon_s, int64_t start_s, int64_t reset_s)
{
	struct thr_cap c;
	thr_cap_init(&c, 50, THR_ZONE_PACIFIC, 0);
	int64_t now = noon_s * SEC;
	int sent = 0;
	for (int i = 0; i < 80; i++)
		sent += thr_cap_try(&c, 1, now + i * SEC);
	CHECK_EQ_INT(sent, 50);
	CHECK_EQ_INT(c.window_start, start_s * SEC);
	CHECK_EQ_INT(thr_cap_next_allowed(&c, 1, now), reset_s * SEC);
	CHECK_EQ_INT(thr_cap_next_reset(&c, now), reset_s * SEC);
	CHECK_EQ_INT(thr_cap_day_start(&c, now), start_s * SEC);
	CHECK_EQ_INT(thr_cap_day_start(&c, reset_s * SEC), reset_s * SEC);
	CHECK_EQ_INT(thr_cap_day_start(&c, start_s * SEC - 1) < start_s * SEC, 1);
	CHECK(!thr_cap_try(&c, 1, reset_s * SEC - 1));
	CHECK(thr_cap_try(&c, 1, reset_s * SEC));
	CHECK_EQ_INT(thr_cap_used(&c, reset_s * SEC), 1);
}

static void test_cap_days(void)
{
	/* PDT: 2024-07-15 12:00 PDT, day from 07:00 UTC to 07:00 UTC */
	cap_day(1721070000, 1721026800, 1721113200);
	/* PST: 2024-01-15 12:00 PST, day from 08:00 UTC to 08:00 UTC */
	cap_day(1705348800, 1705305600, 1705392000);
	/* spring forward, 2024-03-10: midnight PST to midnight PDT, 23 h */
	cap_day(1710097200, 1710057600, 1710140400);
	/* fall back, 2024-11-03: midnight PDT to midnight PST, 25 h */
	cap_day(1730660400, 1730617200, 1730707200);
	/* the hour just before each change still belongs to the same day */
	cap_day(1710064799 - 60, 1710057600, 1710140400);
	cap_day(1730624399 - 60, 1730617200, 1730707200);
}

static void test_cap_reset_hour(void)
{
	/* 08:00 Pacific, 2024-07-15: 15:00 UTC */
	struct thr_cap c;
	thr_cap_init(&c, 2, THR_ZONE_PACIFIC, 8 * 60);
	int64_t reset = 1721055600LL * SEC;
	CHECK(thr_cap_try(&c, 2, reset - 60 * SEC));
	CHECK(!thr_cap_try(&c, 1, reset - 1));
	CHECK_EQ_INT(thr_cap_next_allowed(&c, 1, reset - 60 * SEC), reset);
	CHECK(thr_cap_try(&c, 2, reset));
	CHECK_EQ_INT(thr_cap_next_reset(&c, reset), reset + 86400 * SEC);
	CHECK(thr_cap_next_allowed(&c, 3, reset) == THR_NEVER);
}

static void test_cap_persist(void)
{
	struct thr_cap a, b;
	int64_t noon = 1721070000LL * SEC;
	thr_cap_init(&a, 50, THR_ZONE_PACIFIC, 0);
	CHECK(thr_cap_try(&a, 30, noon));
	struct thr_cap_state s;
	thr_cap_export(&a, &s);
	CHECK_EQ_INT(s.used, 30);
	CHECK_EQ_INT(s.window_start, 1721026800LL * SEC);

	/* restart mid-window: the day's count survives */
	thr_cap_init(&b, 50, THR_ZONE_PACIFIC, 0);
	thr_cap_import(&b, &s);
	int sent = 0;
	for (int i = 0; i < 25; i++)
		sent += thr_cap_try(&b, 1, noon + 3600 * SEC + i);
	CHECK_EQ_INT(sent, 20);

	/* a state from yesterday is dropped at the first use today */
	thr_cap_init(&b, 50, THR_ZONE_PACIFIC, 0);
	thr_cap_import(&b, &s);
	CHECK_EQ_INT(thr_cap_used(&b, noon + 86400 * SEC), 0);
	CHECK(thr_cap_try(&b, 50, noon + 86400 * SEC));

	/* a clock set back keeps the count: stricter, never looser */
	thr_cap_init(&b, 50, THR_ZONE_PACIFIC, 0);
	thr_cap_import(&b, &s);
	CHECK(!thr_cap_try(&b, 21, noon - 86400 * SEC));
}

/* ---- limiter sets ---- */

static void test_set_atomic(void)
{
	struct thr_gcra camp, num;
	struct thr_cap brand;
	thr_gcra_init(&camp);
	thr_gcra_set_limit(&camp, 600, MIN, 1, 0);
	thr_gcra_init(&num);
	thr_gcra_set_rate(&num, 1.0, 1, 0);
	int64_t noon = 1721070000LL * SEC;
	thr_cap_init(&brand, 3, THR_ZONE_PACIFIC, 0);

	struct thr_set s;
	thr_set_clear(&s);
	CHECK_EQ_INT(thr_set_add_gcra(&s, &camp), 0);
	CHECK_EQ_INT(thr_set_add_gcra(&s, &num), 0);
	CHECK_EQ_INT(thr_set_add_cap(&s, &brand), 0);
	CHECK_EQ_INT(thr_set_add_gcra(&s, &num), 0);   /* no double charge */
	CHECK_EQ_INT(s.n, 3);

	int64_t retry = 0;
	CHECK(thr_set_try_take(&s, 1, noon, &retry));
	/* campaign free at +100 ms, number at +1 s: all at +1 s */
	CHECK(!thr_set_try_take(&s, 1, noon + 100 * MS, &retry));
	CHECK_EQ_INT(retry, noon + SEC);
	CHECK_EQ_INT(thr_gcra_state(&camp), noon + 100 * MS);  /* untouched */

	/* 2 segments: the cap has room for 2, the rate limits say when */
	CHECK(thr_set_try_take(&s, 2, thr_set_next_allowed(&s, 2, noon), NULL));
	CHECK_EQ_INT(brand.used, 3);
	int64_t c0 = thr_gcra_state(&camp), n0 = thr_gcra_state(&num);
	int64_t later = noon + 60 * SEC;
	CHECK(!thr_set_try_take(&s, 1, later, &retry));
	CHECK_EQ_INT(retry, 1721113200LL * SEC);   /* the brand's midnight */
	CHECK_EQ_INT(thr_gcra_state(&camp), c0);   /* no partial takes */
	CHECK_EQ_INT(thr_gcra_state(&num), n0);

	struct thr_gcra extra[THR_SET_MAX];
	int rc = 0;
	for (int i = 0; i < THR_SET_MAX; i++) {
		thr_gcra_init(&extra[i]);
		rc = thr_set_add_gcra(&s, &extra[i]);
	}
	CHECK(rc < 0);
}

/* Two campaigns at 600 TPM share one 1 MPS number: the number wins. */
static void test_number_shared(void)
{
	struct thr_gcra a, b, num;
	thr_gcra_init(&a);
	thr_gcra_init(&b);
	thr_gcra_init(&num);
	thr_gcra_set_limit(&a, 600, MIN, 1, 0);
	thr_gcra_set_limit(&b, 600, MIN, 1, 0);
	thr_gcra_set_limit(&num, 1, SEC, 1, 0);
	struct thr_set sa, sb;
	thr_set_clear(&sa);
	thr_set_clear(&sb);
	thr_set_add_gcra(&sa, &a);
	thr_set_add_gcra(&sa, &num);
	thr_set_add_gcra(&sb, &b);
	thr_set_add_gcra(&sb, &num);
	int na = 0, nb = 0, mono = 1;
	int64_t last = -SEC;
	/* Both campaigns always have work and ask every 10 ms, taking turns
	 * at asking first (fair choice is the picker's job, not this one). */
	struct thr_set *order[2] = { &sa, &sb };
	for (int64_t now = 0; now < MIN; now += 10 * MS) {
		for (int k = 0; k < 2; k++) {
			struct thr_set *s = order[k];
			if (!thr_set_try_take(s, 1, now, NULL))
				continue;
			*(s == &sa ? &na : &nb) += 1;
			mono &= now - last >= SEC;
			last = now;
			order[0] = order[1];
			order[1] = s;
			break;
		}
	}
	CHECK_EQ_INT(na + nb, 60);
	CHECK(mono);
	CHECK(na >= 29 && nb >= 29);
}

/* ---- AIMD ---- */

static void test_aimd(void)
{
	struct thr_aimd a;
	struct thr_gcra g;
	thr_aimd_init(&a, 10.0, 1.0, 0.5, 1.0, SEC, 0);
	thr_gcra_init(&g);
	thr_gcra_set_rate(&g, thr_aimd_rate(&a), 1, 0);
	CHECK(thr_aimd_rate(&a) == 10.0);

	CHECK_EQ_INT(thr_aimd_feedback(&a, 0x58, 100 * MS), -1);
	CHECK(thr_aimd_rate(&a) == 5.0);
	thr_gcra_set_rate(&g, thr_aimd_rate(&a), 1, 100 * MS);
	CHECK_EQ_INT(g.interval, 200 * MS);
	/* the rest of that window's answers do not halve it again */
	CHECK_EQ_INT(thr_aimd_feedback(&a, 0x58, 200 * MS), 0);
	CHECK_EQ_INT(thr_aimd_feedback(&a, 0x14, 900 * MS), 0);
	CHECK(thr_aimd_rate(&a) == 5.0);
	CHECK_EQ_INT(thr_aimd_feedback(&a, 0x14, 1100 * MS), -1);
	CHECK(thr_aimd_rate(&a) == 2.5);
	CHECK_EQ_INT(thr_aimd_feedback(&a, 0x58, 2200 * MS), -1);
	CHECK_EQ_INT(thr_aimd_feedback(&a, 0x58, 3300 * MS), -1);
	CHECK(thr_aimd_rate(&a) == 1.0);                      /* floor */
	CHECK_EQ_INT(thr_aimd_feedback(&a, 0x58, 4400 * MS), 0);
	/* other errors say nothing about load */
	CHECK_EQ_INT(thr_aimd_feedback(&a, 0x0B, 9000 * MS), 0);

	/* clean answers every 100 ms: +1/s per second, up to 10, no more */
	int64_t now = 4400 * MS;
	int rises = 0;
	double prev = thr_aimd_rate(&a);
	int monotone = 1;
	for (int i = 0; i < 200; i++) {
		now += 100 * MS;
		rises += thr_aimd_feedback(&a, 0, now) == 1;
		monotone &= thr_aimd_rate(&a) >= prev;
		prev = thr_aimd_rate(&a);
	}
	CHECK_EQ_INT(rises, 9);
	CHECK(monotone);
	CHECK(thr_aimd_rate(&a) == 10.0);
	thr_aimd_set_max(&a, 4.0);
	CHECK(thr_aimd_rate(&a) == 4.0);
}

int main(void)
{
	RUN(test_600tpm_over_30s);
	RUN(test_fractional_rates);
	RUN(test_closed_and_empty);
	RUN(test_burst_and_segments);
	RUN(test_sliding_window);
	RUN(test_set_rate_live);
	RUN(test_gcra_persist);
	RUN(test_pacific_offset);
	RUN(test_cap_days);
	RUN(test_cap_reset_hour);
	RUN(test_cap_persist);
	RUN(test_set_atomic);
	RUN(test_number_shared);
	RUN(test_aimd);
	return unit_done();
}
