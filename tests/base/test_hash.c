/* base/hash.h: FNV-1a's published values, and what the finish is for. */
#include "tests/unit.h"
#include "base/hash.h"

#include <string.h>

static void test_fnv1a_vectors(void)
{
	/* the FNV authors' test values for 64-bit FNV-1a */
	CHECK(fnv1a(FNV1A_BASIS, "", 0) == 0xcbf29ce484222325ull);
	CHECK(fnv1a(FNV1A_BASIS, "a", 1) == 0xaf63dc4c8601ec8cull);
	CHECK(fnv1a(FNV1A_BASIS, "foobar", 6) == 0x85944171f73967e8ull);
	CHECK(fnv1a_str(FNV1A_BASIS, "foobar") == 0x85944171f73967e8ull);
	/* continuing from a hash is hashing the concatenation */
	CHECK(fnv1a(fnv1a(FNV1A_BASIS, "foo", 3), "bar", 3) == fnv1a_str(FNV1A_BASIS, "foobar"));
	/* bytes past 0x7f are unsigned, and a NUL inside counts */
	CHECK(fnv1a(FNV1A_BASIS, "\xff", 1) == ((FNV1A_BASIS ^ 0xffu) * FNV1A_PRIME));
	CHECK(fnv1a(FNV1A_BASIS, "a\0b", 3) != fnv1a(FNV1A_BASIS, "ab", 2));
}

/* The low k bits of FNV-1a depend only on the low k bits of each byte
 * (a multiply carries upward only): "a" (0x61) and "q" (0x71) agree in
 * their low 4 bits, so a 16-slot table would always collide them.  The
 * finish mixes the high bits down. */
static void test_finish_mixes_down(void)
{
	uint64_t a = fnv1a_str(FNV1A_BASIS, "a"), q = fnv1a_str(FNV1A_BASIS, "q");
	uint64_t xa = fnv1a_str(FNV1A_BASIS, "xa"), xq = fnv1a_str(FNV1A_BASIS, "xq");
	uint32_t slots = 0;

	CHECK((a & 15) == (q & 15) && (xa & 15) == (xq & 15));
	CHECK((hash_finish(a) & 15) != (hash_finish(q) & 15));
	CHECK((hash_finish(xa) & 15) != (hash_finish(xq) & 15));
	/* "a".."p", finished, spread over 32 slots */
	for (char c = 'a'; c <= 'p'; c++) {
		char k[2] = { c, 0 };
		slots |= 1u << (hash_finish(fnv1a_str(FNV1A_BASIS, k)) & 31);
	}
	CHECK(__builtin_popcount(slots) >= 10);	/* 16 keys, 32 slots */
	CHECK(hash_finish(0) == 0);	/* a fixed point: callers never rely on 0 */
	CHECK(hash_finish(1) != 1);
}

int main(void)
{
	RUN(test_fnv1a_vectors);
	RUN(test_finish_mixes_down);
	return unit_done();
}
