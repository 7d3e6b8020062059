/*
 * The two containers a policy is built from.  An arena, because a policy
 * is built once and freed whole (on the last unref after a reload), so
 * per-object frees would only add ways to leak.  A string map with open
 * addressing, because the hot lookups (source number, keywords, lexicon
 * phrases, URL hosts, number prefixes) must cost one hash and a compare.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "policy/impl.h"

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

enum { ARENA_CHUNK = 64 * 1024 };

void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	struct arena_chunk *c = a->head;
	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		c = malloc(sizeof(*c) + cap);
		if (c == NULL)
			abort();  /* start-up or reload: nothing sane to do */
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *d = arena_alloc(a, n + 1);
	memcpy(d, s, n);
	return d;
}

void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_chunk *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}

uint64_t strset_hash(const char *s, size_t n)
{
	return hash_finish(fnv1a(FNV1A_BASIS, s, n));
}

static void strset_grow(struct arena *a, struct strset *s)
{
	size_t cap = s->slots ? (s->mask + 1) * 2 : 16;
	struct strset_slot *old = s->slots;
	size_t oldcap = old ? s->mask + 1 : 0;
	s->slots = arena_alloc(a, cap * sizeof(*s->slots));
	s->mask = cap - 1;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].key == NULL)
			continue;
		size_t j = strset_hash(old[i].key, old[i].len) & s->mask;
		while (s->slots[j].key)
			j = (j + 1) & s->mask;
		s->slots[j] = old[i];
	}
}

int strset_put(struct arena *a, struct strset *s, const char *key,
    size_t len, int32_t val, int32_t *old)
{
	/* Keep the load under one half: misses stay short. */
	if (s->slots == NULL || (s->count + 1) * 2 > s->mask + 1)
		strset_grow(a, s);
	size_t j = strset_hash(key, len) & s->mask;
	for (; s->slots[j].key; j = (j + 1) & s->mask) {
		struct strset_slot *e = &s->slots[j];
		if (e->len == len && memcmp(e->key, key, len) == 0) {
			if (old)
				*old = e->val;
			return 1;
		}
	}
	s->slots[j] = (struct strset_slot){ key, (uint32_t)len, val };
	s->count++;
	return 0;
}

int32_t strset_get(const struct strset *s, const char *key, size_t len)
{
	if (s->slots == NULL)
		return -1;
	size_t j = strset_hash(key, len) & s->mask;
	for (; s->slots[j].key; j = (j + 1) & s->mask) {
		const struct strset_slot *e = &s->slots[j];
		if (e->len == len && memcmp(e->key, key, len) == 0)
			return e->val;
	}
	return -1;
}

/* Keywords compare on their letters and digits only, upper-cased:
 * "Stop all!", "STOP ALL" and "stopall" are one keyword.  Returns 0 if
 * the result would not fit. */
size_t keyword_norm(const char *s, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x80 || !isalnum(ch))
			continue;
		if (n == cap)
			return 0;
		out[n++] = (char)toupper(ch);
	}
	return n;
}
