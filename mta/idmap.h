/*
 * A hash map from nonzero 64-bit keys to 32-bit values: open addressing,
 * linear probing, backward-shift deletion (no tombstones), growing at half
 * load.  For the relay's in-memory indexes (flights by carrier id, final
 * marks in flight).  Not thread-safe; no allocation except when growing.
 */
#ifndef SMPPD_MTA_IDMAP_H
#define SMPPD_MTA_IDMAP_H

#include <stddef.h>
#include <stdint.h>

/* A key and its value side by side: a lookup touches one cache line. */
struct idmap_slot {
	uint64_t key;     /* 0: free */
	uint32_t val;
};

struct idmap {
	struct idmap_slot *slots;
	size_t cap;       /* power of two */
	size_t n;
};

void idmap_init(struct idmap *m);
void idmap_free(struct idmap *m);
/* Insert or overwrite.  0, or -1 when out of memory (the map is unchanged). */
int idmap_put(struct idmap *m, uint64_t key, uint32_t val);
/* 1 and *val when present, else 0. */
int idmap_get(const struct idmap *m, uint64_t key, uint32_t *val);
/* 1 when it was there. */
int idmap_del(struct idmap *m, uint64_t key);
/* Deletes key only while it maps to val (an owner letting go of what is
 * still its own), in one probe; 1 when it did. */
int idmap_del_if(struct idmap *m, uint64_t key, uint32_t val);

/* FNV-1a over a string, mixed with a seed (e.g. a carrier index); never 0. */
uint64_t idmap_hash(const char *s, uint64_t seed);

#endif
