/* huge_calloc (mta/hugemem.h): calloc's contract, whether or not the
 * kernel gives huge pages. */
#include "tests/unit.h"
#include "mta/hugemem.h"

#include <stdint.h>
#include <stdlib.h>

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void test_huge_calloc(void)
{
	size_t big = (size_t)9 << 20;	/* spans whole 2 MiB pages */
	unsigned char *p = huge_calloc(big / 16, 16);
	CHECK(p != NULL);
	CHECK(all_zero(p, big));
	p[0] = p[big - 1] = 1;	/* all of it is ours */
	free(p);
	unsigned char *q = huge_calloc(100, 3);	/* small: plain calloc */
	CHECK(q != NULL && all_zero(q, 300));
	free(q);
	CHECK(huge_calloc(SIZE_MAX / 8 + 1, 16) == NULL);	/* n * size overflows */
}

int main(void)
{
	RUN(test_huge_calloc);
	return unit_done();
}
