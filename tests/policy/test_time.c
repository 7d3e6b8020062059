/*
 * Quiet-hour arithmetic: zone offsets against the system's tzdata, and
 * windows across daylight-saving changes and multi-zone prefixes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy/policy.h"
#include "tests/unit.h"

static struct policy *pol;

/* UTC seconds of a civil date-time, via timegm (fine in a test). */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
		.tm_hour = h, .tm_min = mi };
	return (int64_t)timegm(&tm);
}

/* Every zone conf/nanp-tz.tsv names, compared every 30 minutes from
 * 2024 to 2027 (half hours: St. John's changes at :30 UTC) with the
 * system's localtime_r.  Zones the system lacks are skipped. */
static void test_offsets_vs_tzdata(void)
{
	FILE *f = fopen(SRCDIR "/conf/nanp-tz.tsv", "r");
	char line[4096], seen[8192] = ",";
	int zones = 0, mismatches = 0;
	CHECK(f != NULL);
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		line[strcspn(line, "\n")] = '\0';
		char *save = NULL;
		for (char *z = strtok_r(strchr(line, '\t') + 1, ",", &save); z;
		    z = strtok_r(NULL, ",", &save)) {
			char key[96], path[160];
			snprintf(key, sizeof(key), ",%s,", z);
			if (strstr(seen, key))
				continue;
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
			snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", z);
			if (access(path, R_OK) != 0) {
				printf("# skipping %s: not in the system tzdata\n", z);
				continue;
			}
			setenv("TZ", z, 1);
			tzset();
			zones++;
			int bad = 0;
			for (int64_t t = utc(2024, 1, 1, 0, 0);
			    t < utc(2028, 1, 1, 0, 0); t += 1800) {
				time_t tt = (time_t)t;
				struct tm tm;
				int32_t off = 0;
				localtime_r(&tt, &tm);
				if (policy_zone_offset(z, t, &off) < 0
				    || off != tm.tm_gmtoff) {
					if (bad++ == 0)
						printf("# %s at %lld: ours %d, tzdata %ld\n", z,
						    (long long)t, off, tm.tm_gmtoff);
				}
			}
			mismatches += bad != 0;
		}
	}
	fclose(f);
	unsetenv("TZ");
	tzset();
	CHECK(zones >= 40);
	CHECK_EQ_INT(mismatches, 0);
}

static void test_dst_spring_forward(void)
{
	int64_t opens;
	/* New York, Sunday 9 March 2025: 08:00 EDT is 12:00 UTC, one hour
	 * earlier in UTC than the day before (08:00 EST = 13:00 UTC). */
	CHECK_EQ_INT(policy_window_open(pol, NULL, "+12125550123",
	    utc(2025, 3, 9, 5, 0), &opens), 0);
	CHECK_EQ_INT(opens, utc(2025, 3, 9, 12, 0));
	CHECK_EQ_INT(policy_window_open(pol, NULL, "+12125550123",
	    utc(2025, 3, 8, 5, 0), &opens), 0);
	CHECK_EQ_INT(opens, utc(2025, 3, 8, 13, 0));
	/* 21:00 EDT on the change day closes at 01:00 UTC */
	CHECK_EQ_INT(policy_window_open(pol, NULL, "+12125550123",
	    utc(2025, 3, 10, 0, 59), &opens), 1);
	CHECK_EQ_INT(policy_window_open(pol, NULL, "+12125550123",
	    utc(2025, 3, 10, 1, 0), &opens), 0);
	CHECK_EQ_INT(opens, utc(2025, 3, 10, 12, 0));
}

static void test_dst_fall_back(void)
{
	int64_t opens;
	/* Los Angeles, Sunday 2 November 2025: 08:00 PST = 16:00 UTC */
	CHECK_EQ_INT(policy_window_open(pol, NULL, "13105550123",
	    utc(2025, 11, 2, 8, 30), &opens), 0);
	CHECK_EQ_INT(opens, utc(2025, 11, 2, 16, 0));
	CHECK_EQ_INT(policy_window_open(pol, NULL, "13105550123",
	    utc(2025, 11, 2, 16, 0), &opens), 1);
	CHECK_EQ_INT(opens, utc(2025, 11, 2, 16, 0));
}

static void test_two_zone_prefix(void)
{
	const char *zones[POLICY_MAX_ZONES], *state = NULL;
	int64_t opens;
	/* 1208-2xx: Boise (Mountain) or Los Angeles (Pacific) */
	int n = policy_number_zones(pol, "+12082990000", zones, POLICY_MAX_ZONES,
	    &state);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(zones[0], "America/Boise");
	CHECK_EQ_STR(zones[1], "America/Los_Angeles");
	CHECK_EQ_STR(state, "ID");
	/* a longer prefix wins: 1208297 is Denver only */
	CHECK_EQ_INT(policy_number_zones(pol, "12082970000", zones, 4, NULL), 1);
	CHECK_EQ_STR(zones[0], "America/Denver");
	/* July, 14:30 UTC: Boise 08:30 (open), LA 07:30 (closed) -> 15:00 */
	CHECK_EQ_INT(policy_window_open(pol, NULL, "+12082990000",
	    utc(2025, 7, 15, 14, 30), &opens), 0);
	CHECK_EQ_INT(opens, utc(2025, 7, 15, 15, 0));
	/* 03:30 UTC: Boise 21:30 (closed), LA 20:30 (open) -> next 15:00 */
	CHECK_EQ_INT(policy_window_open(pol, NULL, "+12082990000",
	    utc(2025, 7, 16, 3, 30), &opens), 0);
	CHECK_EQ_INT(opens, utc(2025, 7, 16, 15, 0));
	CHECK_EQ_INT(policy_window_open(pol, NULL, "+12082990000",
	    utc(2025, 7, 16, 2, 59), &opens), 1);
}

static void test_state_windows(void)
{
	int64_t opens;
	/* Florida (305, Eastern) closes at 20:00: 00:30 UTC in July */
	CHECK_EQ_INT(policy_window_open(pol, NULL, "+13055550123",
	    utc(2025, 7, 16, 0, 30), &opens), 0);
	CHECK_EQ_INT(opens, utc(2025, 7, 16, 12, 0));
	/* Alabama (205, Central): no Sundays.  Sun 6 July 2025 noon CDT */
	CHECK_EQ_INT(policy_window_open(pol, NULL, "+12055550123",
	    utc(2025, 7, 6, 17, 0), &opens), 0);
	CHECK_EQ_INT(opens, utc(2025, 7, 7, 13, 0));
	/* a campaign's own window (CZINGMKT 09:00-20:00) */
	CHECK_EQ_INT(policy_window_open(pol, "CZINGMKT", "+12125550123",
	    utc(2025, 7, 16, 12, 30), &opens), 0);
	CHECK_EQ_INT(opens, utc(2025, 7, 16, 13, 0));
	/* Guam is UTC+10, no DST */
	CHECK_EQ_INT(policy_window_open(pol, NULL, "+16715550123",
	    utc(2025, 7, 16, 21, 0), &opens), 0);
	CHECK_EQ_INT(opens, utc(2025, 7, 16, 22, 0));
}

static void test_zone_offsets(void)
{
	int32_t off;
	CHECK_EQ_INT(policy_zone_offset("America/Phoenix", utc(2025, 7, 1, 0, 0),
	    &off), 0);
	CHECK_EQ_INT(off, -7 * 3600);
	CHECK_EQ_INT(policy_zone_offset("America/St_Johns", utc(2025, 7, 1, 0, 0),
	    &off), 0);
	CHECK_EQ_INT(off, -(2 * 3600 + 1800));
	CHECK_EQ_INT(policy_zone_offset("Europe/Paris", 0, &off), -1);
}

int main(void)
{
	char err[512] = "";
	if (policy_load(SRCDIR "/conf/policy.yaml", &pol, err, sizeof(err))) {
		printf("# %s\n", err);
		return 1;
	}
	RUN(test_zone_offsets);
	RUN(test_offsets_vs_tzdata);
	RUN(test_dst_spring_forward);
	RUN(test_dst_fall_back);
	RUN(test_two_zone_prefix);
	RUN(test_state_windows);
	policy_unref(pol);
	return unit_done();
}
