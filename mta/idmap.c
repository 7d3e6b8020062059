#include "mta/idmap.h"
#include "base/hash.h"
#include "mta/hugemem.h"

#include <stdlib.h>

static size_t slot_of(const struct idmap *m, uint64_t key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (m->cap - 1);
}

void idmap_init(struct idmap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->n = 0;
}

void idmap_free(struct idmap *m)
{
	free(m->slots);
	idmap_init(m);
}

static void insert(struct idmap *m, uint64_t key, uint32_t val)
{
	size_t i = slot_of(m, key);
	while (m->slots[i].key != 0 && m->slots[i].key != key)
		i = (i + 1) & (m->cap - 1);
	if (m->slots[i].key == 0)
		m->n++;
	m->slots[i] = (struct idmap_slot){ key, val };
}

static int grow(struct idmap *m)
{
	struct idmap bigger;
	bigger.cap = m->cap ? m->cap * 2 : 1024;
	bigger.n = 0;
	bigger.slots = huge_calloc(bigger.cap, sizeof *bigger.slots);
	if (!bigger.slots)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			insert(&bigger, m->slots[i].key, m->slots[i].val);
	free(m->slots);
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

/* Empties slot i, pulling later members of its probe run back so that
 * lookups never stop early at the hole. */
static void remove_at(struct idmap *m, size_t i)
{
	size_t mask = m->cap - 1;
	for (size_t j = (i + 1) & mask; m->slots[j].key != 0; j = (j + 1) & mask) {
		size_t home = slot_of(m, m->slots[j].key);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].key = 0;
	m->n--;
}

/* The slot holding key, or the cap when it is absent. */
static size_t find(const struct idmap *m, uint64_t key)
{
	if (m->cap == 0 || key == 0)
		return m->cap;
	for (size_t i = slot_of(m, key); m->slots[i].key != 0; i = (i + 1) & (m->cap - 1))
		if (m->slots[i].key == key)
			return i;
	return m->cap;
}

int idmap_get(const struct idmap *m, uint64_t key, uint32_t *val)
{
	size_t i = find(m, key);
	if (i == m->cap)
		return 0;
	*val = m->slots[i].val;
	return 1;
}

int idmap_del(struct idmap *m, uint64_t key)
{
	size_t i = find(m, key);
	if (i == m->cap)
		return 0;
	remove_at(m, i);
	return 1;
}

int idmap_del_if(struct idmap *m, uint64_t key, uint32_t val)
{
	size_t i = find(m, key);
	if (i == m->cap || m->slots[i].val != val)
		return 0;
	remove_at(m, i);
	return 1;
}

uint64_t idmap_hash(const char *s, uint64_t seed)
{
	uint64_t h = fnv1a_str(FNV1A_BASIS ^ (seed * FNV1A_PRIME), s);
	return h ? h : 1;
}
