/* Fixed-size text fields (mta/field.h): copied and formatted, cut to fit. */
#include "tests/unit.h"
#include "mta/field.h"

#include <stdio.h>
#include <string.h>

static void test_copy_field(void)
{
	char f[6];

	memset(f, 'x', sizeof f);
	copy_field(f, sizeof f, "abc");
	CHECK_EQ_STR(f, "abc");
	copy_field(f, sizeof f, "abcdefgh");	/* cut, terminated */
	CHECK_EQ_STR(f, "abcde");
	copy_field(f, sizeof f, NULL);
	CHECK_EQ_STR(f, "");
	copy_field(f, 1, "abc");	/* room for the terminator only */
	CHECK_EQ_STR(f, "");
}

static void test_format_uint(void)
{
	static const uint64_t cases[] = { 0, 1, 9, 10, 15, 16, 255, 0xa0000001u,
	    1000000000u, 18446744073709551615ull };
	char got[24], want[24];
	int all_ok = 1;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(want, sizeof want, "%llu", (unsigned long long)cases[i]);
		all_ok &= format_uint(got, sizeof got, cases[i], 10) == strlen(want) &&
		    strcmp(got, want) == 0;
		snprintf(want, sizeof want, "%llx", (unsigned long long)cases[i]);
		all_ok &= format_uint(got, sizeof got, cases[i], 16) == strlen(want) &&
		    strcmp(got, want) == 0;
	}
	CHECK(all_ok);	/* what snprintf gives, in both bases */
	CHECK_EQ_INT(format_uint(got, 4, 123456, 10), 3);	/* cut like copy_field */
	CHECK_EQ_STR(got, "123");
	CHECK_EQ_INT(format_uint(got, 1, 7, 16), 0);
	CHECK_EQ_STR(got, "");
}

int main(void)
{
	RUN(test_copy_field);
	RUN(test_format_uint);
	return unit_done();
}
