/*
 * The failed-bind limiter.  See guard.h.
 */
#include "mta/guard.h"
#include "base/hash.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 8

struct entry {
	uint8_t key[17];        /* family tag + 16 bytes; all zero = free */
	unsigned failures;
	uint64_t window_start;
	uint64_t last_ms;
	uint64_t blocked_until;
};

struct guard {
	struct guard_config cfg;
	size_t mask;            /* sets - 1 */
	uint64_t seed;          /* so that an attacker cannot aim at one set */
	struct entry *e;
};

/* IPv4 by address, IPv6 by /64; 0 if the family is neither. */
static int make_key(const struct sockaddr *sa, uint8_t key[17])
{
	memset(key, 0, 17);
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 1;
	}
	if (sa->sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 8);
		return 1;
	}
	return 0;
}

/* FNV-1a, seeded. */
static size_t set_of(const struct guard *g, const uint8_t key[17])
{
	uint64_t h = fnv1a(FNV1A_BASIS ^ g->seed, key, 17);
	return (size_t)(h ^ (h >> 29)) & g->mask;
}

struct guard *guard_new(const struct guard_config *cfg)
{
	struct guard *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	size_t sets = 1;
	while (sets * WAYS < cfg->slots)
		sets <<= 1;
	g->cfg = *cfg;
	g->mask = sets - 1;
	g->seed = (uint64_t)random() << 31 ^ (uint64_t)random();
	g->e = calloc(sets * WAYS, sizeof *g->e);
	if (!g->e) {
		free(g);
		return NULL;
	}
	return g;
}

void guard_free(struct guard *g)
{
	if (!g)
		return;
	free(g->e);
	free(g);
}

static int is_free(const struct entry *e)
{
	return e->key[0] == 0;
}

/* Nothing left to remember: the window passed and no block is running. */
static int expired(const struct guard *g, const struct entry *e, uint64_t now)
{
	return now >= e->blocked_until && now - e->window_start >= g->cfg.window_ms;
}

static struct entry *find(struct guard *g, const uint8_t key[17])
{
	struct entry *set = &g->e[set_of(g, key) * WAYS];
	for (int i = 0; i < WAYS; i++)
		if (!is_free(&set[i]) && memcmp(set[i].key, key, 17) == 0)
			return &set[i];
	return NULL;
}

/* A free or expired entry, else the least recently seen unblocked one,
 * else the least recently seen. */
static struct entry *take(struct guard *g, const uint8_t key[17], uint64_t now)
{
	struct entry *set = &g->e[set_of(g, key) * WAYS], *old = NULL, *old_blocked = NULL;
	for (int i = 0; i < WAYS; i++) {
		struct entry *e = &set[i];
		if (is_free(e) || expired(g, e, now)) {
			old = e;
			break;
		}
		struct entry **pick = now < e->blocked_until ? &old_blocked : &old;
		if (!*pick || e->last_ms < (*pick)->last_ms)
			*pick = e;
	}
	struct entry *e = old ? old : old_blocked;
	memset(e, 0, sizeof *e);
	memcpy(e->key, key, 17);
	e->window_start = now;
	return e;
}

int guard_blocked(struct guard *g, const struct sockaddr *sa, uint64_t now_ms,
    uint64_t *until_ms)
{
	uint8_t key[17];
	if (!g || g->cfg.failures == 0 || !make_key(sa, key))
		return 0;
	struct entry *e = find(g, key);
	if (!e || now_ms >= e->blocked_until)
		return 0;
	if (until_ms)
		*until_ms = e->blocked_until;
	return 1;
}

unsigned guard_failure(struct guard *g, const struct sockaddr *sa, uint64_t now_ms)
{
	uint8_t key[17];
	if (!g || g->cfg.failures == 0 || !make_key(sa, key))
		return 0;
	struct entry *e = find(g, key);
	if (!e)
		e = take(g, key, now_ms);
	else if (now_ms - e->window_start >= g->cfg.window_ms) {
		e->failures = 0; /* a fresh window */
		e->window_start = now_ms;
	}
	e->last_ms = now_ms;
	if (e->failures < 0x3fffffffu)
		e->failures++;
	unsigned out = e->failures;
	if (e->failures >= g->cfg.failures && now_ms >= e->blocked_until) {
		e->blocked_until = now_ms + g->cfg.block_ms;
		out |= GUARD_BLOCKED_NOW;
	}
	return out;
}

size_t guard_used(const struct guard *g, uint64_t now_ms)
{
	size_t n = 0;
	for (size_t i = 0; g && i < (g->mask + 1) * WAYS; i++)
		n += !is_free(&g->e[i]) && !expired(g, &g->e[i], now_ms);
	return n;
}
