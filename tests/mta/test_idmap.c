/* idmap: put/get/del against a shadow array, with deletions in probe runs. */
#include "tests/unit.h"
#include "mta/idmap.h"

#include <stdlib.h>

#define N 20000

static void test_against_shadow(void)
{
	static uint64_t keys[N];
	static int present[N];
	struct idmap m;
	idmap_init(&m);
	srand(1);
	for (int i = 0; i < N; i++)
		keys[i] = ((uint64_t)rand() << 32 | (uint64_t)rand()) | 1;
	int bad = 0;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++) {
			if (rand() % 3 == 0) {
				idmap_del(&m, keys[i]);
				present[i] = 0;
			} else {
				idmap_put(&m, keys[i], (uint32_t)i);
				present[i] = 1;
			}
		}
		for (int i = 0; i < N; i++) {
			uint32_t v = 0;
			int got = idmap_get(&m, keys[i], &v);
			if (got != present[i] || (got && v != (uint32_t)i))
				bad++;
		}
	}
	CHECK_EQ_INT(bad, 0);
	size_t count = 0;
	for (int i = 0; i < N; i++)
		count += (size_t)present[i];
	CHECK_EQ_INT(m.n, count);
	CHECK_EQ_INT(idmap_put(&m, 0, 1), -1); /* 0 is the free marker */
	idmap_free(&m);
}

static void test_hash(void)
{
	CHECK(idmap_hash("a000000e", 1) != idmap_hash("a000000e", 2));
	CHECK(idmap_hash("a000000e", 1) != idmap_hash("a000000f", 1));
	CHECK(idmap_hash("", 0) != 0);
}

/* del_if lets go only of what still maps to the value given, also for
 * keys in the middle of a probe run. */
static void test_del_if(void)
{
	struct idmap m;
	uint32_t v = 0;
	int runs_ok = 1;
	idmap_init(&m);
	CHECK_EQ_INT(idmap_del_if(&m, 42, 1), 0);	/* empty map */
	CHECK_EQ_INT(idmap_put(&m, 42, 5), 0);
	CHECK_EQ_INT(idmap_del_if(&m, 42, 6), 0);	/* someone else's now */
	CHECK(idmap_get(&m, 42, &v) && v == 5);
	CHECK_EQ_INT(idmap_del_if(&m, 43, 5), 0);	/* absent key */
	CHECK_EQ_INT(idmap_del_if(&m, 42, 5), 1);
	CHECK_EQ_INT(idmap_get(&m, 42, &v), 0);
	/* keys whose home slots collide: every other one let go of */
	for (uint64_t k = 1; k <= 4000; k++)
		idmap_put(&m, k << 40, (uint32_t)k);
	for (uint64_t k = 1; k <= 4000; k += 2)
		runs_ok &= idmap_del_if(&m, k << 40, (uint32_t)(k + 1)) == 0 &&
		    idmap_del_if(&m, k << 40, (uint32_t)k) == 1;
	for (uint64_t k = 1; k <= 4000; k++)
		runs_ok &= idmap_get(&m, k << 40, &v) == (int)(k % 2 == 0) &&
		    (k % 2 || v == (uint32_t)k);
	CHECK(runs_ok);
	CHECK_EQ_INT(m.n, 2000);
	idmap_free(&m);
}

int main(void)
{
	RUN(test_del_if);
	RUN(test_against_shadow);
	RUN(test_hash);
	return unit_done();
}
