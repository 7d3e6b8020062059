#include "mta/idmap.h"

#include <stdlib.h>

static size_t slot_of(const struct idmap *m, uint64_t key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (m->cap - 1);
}

void idmap_init(struct idmap *m)
{
	m->keys = NULL;
	m->vals = NULL;
	m->cap = 0;
	m->n = 0;
}

void idmap_free(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
	idmap_init(m);
}

static void insert(struct idmap *m, uint64_t key, uint32_t val)
{
	size_t i = slot_of(m, key);
	while (m->keys[i] != 0 && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	if (m->keys[i] == 0)
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val;
}

static int grow(struct idmap *m)
{
	struct idmap bigger;
	bigger.cap = m->cap ? m->cap * 2 : 1024;
	bigger.n = 0;
	bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
	bigger.vals = calloc(bigger.cap, sizeof *bigger.vals);
	if (!bigger.keys || !bigger.vals) {
		free(bigger.keys);
		free(bigger.vals);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			insert(&bigger, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	*m = bigger;
	return 0;
}

int idmap_put(struct idmap *m, uint64_t key, uint32_t val)
{
	if (key == 0)
		return -1;
	if ((m->n + 1) * 2 > m->cap && grow(m) != 0)
		return -1;
	insert(m, key, val);
	return 0;
}

int idmap_get(const struct idmap *m, uint64_t key, uint32_t *val)
{
	if (m->cap == 0 || key == 0)
		return 0;
	for (size_t i = slot_of(m, key); m->keys[i] != 0; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			*val = m->vals[i];
			return 1;
		}
	}
	return 0;
}

int idmap_del(struct idmap *m, uint64_t key)
{
	if (m->cap == 0 || key == 0)
		return 0;
	size_t mask = m->cap - 1, i = slot_of(m, key);
	while (m->keys[i] != key) {
		if (m->keys[i] == 0)
			return 0;
		i = (i + 1) & mask;
	}
	/* Pull later members of the probe run back so lookups never stop
	 * early at the hole. */
	for (size_t j = (i + 1) & mask; m->keys[j] != 0; j = (j + 1) & mask) {
		size_t home = slot_of(m, m->keys[j]);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = 0;
	m->n--;
	return 1;
}

uint64_t idmap_hash(const char *s, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (seed * 0x100000001b3ull);
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h ? h : 1;
}
