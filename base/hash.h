/*
 * base/hash.h: the string hash every layer uses (FNV-1a, 64-bit), and a
 * finish for tables indexed by the hash's low bits.  Header only, below
 * smpp/, store/, policy/ and mta/: each may include it, none depends on
 * another through it.
 */
#ifndef SMPPD_BASE_HASH_H
#define SMPPD_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A_BASIS 0xcbf29ce484222325ull
#define FNV1A_PRIME 0x100000001b3ull

/* FNV-1a of n bytes, continuing from h (FNV1A_BASIS to start, or a seeded
 * basis). */
static inline uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * FNV1A_PRIME;
	return h;
}

/* The same over a NUL-terminated string. */
static inline uint64_t fnv1a_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * FNV1A_PRIME;
	return h;
}

/* FNV-1a's low k bits depend only on the low k bits of each byte (its
 * multiply carries upward only), and tables index by low bits.  A
 * multiply-xorshift brings the high bits down. */
static inline uint64_t hash_finish(uint64_t h)
{
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

#endif
