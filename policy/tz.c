/*
 * Local time in the zones NANP numbers can be in, without the C library's
 * TZ machinery: setenv("TZ") + tzset() per check is slow and not thread
 * safe, and these zones follow only two patterns.  Either a fixed offset
 * (Phoenix, Regina, Honolulu, the Caribbean, Guam...) or the US/Canada
 * daylight-saving rule in force since 2007: from the second Sunday of
 * March, 02:00 local standard time, to the first Sunday of November,
 * 02:00 local daylight time.  The table must name every zone that
 * conf/nanp-tz.tsv names (the loader refuses the table otherwise), and
 * tests/policy compares each entry with the system's tzdata hour by hour.
 */
#include <string.h>

#include "policy/impl.h"

enum rule { FIXED, USDST };

struct zone {
	const char *name;
	int32_t std;              /* standard offset, seconds east of UTC */
	enum rule rule;
};

#define H(h) ((h) * 3600)

static const struct zone zones[] = {
	/* US and Canada, daylight saving */
	{ "America/New_York", H(-5), USDST },
	{ "America/Detroit", H(-5), USDST },
	{ "America/Indiana/Indianapolis", H(-5), USDST },
	{ "America/Kentucky/Louisville", H(-5), USDST },
	{ "America/Toronto", H(-5), USDST },
	{ "America/Nassau", H(-5), USDST },
	{ "America/Grand_Turk", H(-5), USDST },  /* back on EST/EDT since 2018 */
	{ "America/Chicago", H(-6), USDST },
	{ "America/North_Dakota/Center", H(-6), USDST },
	{ "America/Menominee", H(-6), USDST },
	{ "America/Winnipeg", H(-6), USDST },
	{ "America/Denver", H(-7), USDST },
	{ "America/Boise", H(-7), USDST },
	{ "America/Edmonton", H(-7), USDST },
	{ "America/Los_Angeles", H(-8), USDST },
	{ "America/Vancouver", H(-8), USDST },
	{ "America/Anchorage", H(-9), USDST },
	{ "America/Juneau", H(-9), USDST },
	{ "America/Sitka", H(-9), USDST },
	{ "America/Nome", H(-9), USDST },
	{ "America/Adak", H(-10), USDST },
	{ "America/Halifax", H(-4), USDST },
	{ "America/Moncton", H(-4), USDST },
	{ "America/Glace_Bay", H(-4), USDST },
	{ "America/Goose_Bay", H(-4), USDST },
	{ "Atlantic/Bermuda", H(-4), USDST },
	{ "America/St_Johns", -(3 * 3600 + 1800), USDST },
	/* fixed offsets */
	{ "America/Phoenix", H(-7), FIXED },
	{ "America/Fort_Nelson", H(-7), FIXED },   /* MST all year since 2015 */
	{ "America/Dawson_Creek", H(-7), FIXED },
	{ "America/Whitehorse", H(-7), FIXED },    /* since 2020 */
	{ "America/Regina", H(-6), FIXED },
	{ "America/Jamaica", H(-5), FIXED },
	{ "America/Cayman", H(-5), FIXED },
	{ "America/Panama", H(-5), FIXED },
	{ "America/Santo_Domingo", H(-4), FIXED },
	{ "America/Puerto_Rico", H(-4), FIXED },
	{ "America/St_Thomas", H(-4), FIXED },
	{ "America/Tortola", H(-4), FIXED },
	{ "America/Anguilla", H(-4), FIXED },
	{ "America/Antigua", H(-4), FIXED },
	{ "America/Barbados", H(-4), FIXED },
	{ "America/Dominica", H(-4), FIXED },
	{ "America/Grenada", H(-4), FIXED },
	{ "America/Lower_Princes", H(-4), FIXED },
	{ "America/Montserrat", H(-4), FIXED },
	{ "America/Port_of_Spain", H(-4), FIXED },
	{ "America/St_Kitts", H(-4), FIXED },
	{ "America/St_Lucia", H(-4), FIXED },
	{ "America/St_Vincent", H(-4), FIXED },
	{ "Pacific/Honolulu", H(-10), FIXED },
	{ "Pacific/Pago_Pago", H(-11), FIXED },
	{ "Pacific/Guam", H(10), FIXED },
	{ "Pacific/Saipan", H(10), FIXED },
};

enum { NZONES = sizeof(zones) / sizeof(zones[0]) };

int tz_index(const char *name)
{
	for (int i = 0; i < NZONES; i++)
		if (strcmp(zones[i].name, name) == 0)
			return i;
	return -1;
}

const char *tz_name(int idx)
{
	return idx >= 0 && idx < NZONES ? zones[idx].name : NULL;
}

/* Howard Hinnant's civil-calendar algorithms: exact for any year,
 * no tables, no libc. */
int64_t days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400) + (*m <= 2);
}

/* Day of month of the n-th Sunday (n >= 1) of a month. */
static unsigned nth_sunday(int y, unsigned m, unsigned n)
{
	int64_t first = days_from_civil(y, m, 1);
	/* 1970-01-01 was a Thursday: weekday 4 with Sunday = 0 */
	unsigned wd = (unsigned)(((first + 4) % 7 + 7) % 7);
	return 1 + (7 - wd) % 7 + 7 * (n - 1);
}

static int us_dst(int32_t std, int64_t t)
{
	int y;
	unsigned m, d;
	int64_t lt = t + std;
	civil_from_days((lt >= 0 ? lt : lt - 86399) / 86400, &y, &m, &d);
	if (m < 3 || m > 11)
		return 0;
	/* 02:00 standard time in March; 02:00 daylight (01:00 standard)
	 * in November. */
	int64_t on = days_from_civil(y, 3, nth_sunday(y, 3, 2)) * 86400
	    + 2 * 3600 - std;
	int64_t off = days_from_civil(y, 11, nth_sunday(y, 11, 1)) * 86400
	    + 1 * 3600 - std;
	return t >= on && t < off;
}

int32_t tz_offset(int idx, int64_t t)
{
	const struct zone *z = &zones[idx];
	return z->std + (z->rule == USDST && us_dst(z->std, t) ? 3600 : 0);
}

int policy_zone_offset(const char *zone, int64_t t, int32_t *offset)
{
	int i = tz_index(zone);
	if (i < 0)
		return -1;
	*offset = tz_offset(i, t);
	return 0;
}
