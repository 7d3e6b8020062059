/*
 * mta/compliance: store-backed state for the policy (see compliance.h for
 * the key layout and the read path: overlay, cache, store).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "mta/compliance.h"
#include "mta/hugemem.h"

#define VER 1
#define KEY_MAX STORE_STR_MAX
#define VAL_MAX 2048
#define NUM_MAX 32

/* ---- overlay entries: their addresses are the store cookies ---- */

struct ov {
	struct ov *next;          /* hash chain, or free list */
	uint64_t hash;
	uint32_t pending;         /* writes submitted, not completed */
	uint16_t klen, vlen;
	uint8_t deleted;          /* pending value is "absent" */
	uint8_t failed;           /* the last completed write failed */
	uint8_t *data;            /* key, then value */
	size_t cap;
};

struct chunk {
	struct chunk *next;
	size_t n;
	struct ov ents[];
};

/* ---- opt-outs since the checks (compliance_optout_since) ---- */

#define RECENT_BITS ((size_t)1 << 20)   /* 128 KiB: stays in the CPU's cache */

/* ---- read cache: direct mapped, small values only ---- */

#define CK 64
#define CV 136
enum { CS_EMPTY, CS_PRESENT, CS_ABSENT };

struct cslot {
	uint64_t hash;
	uint8_t state, klen, vlen;
	uint8_t key[CK];
	uint8_t val[CV];
};

/* ---- campaign pauses, in memory ---- */

struct pz {
	struct pz *next;
	uint64_t hash;
	int paused;
	uint32_t seen;          /* the last refresh that found its record */
	char name[];
};

/* ---- replies handle_mo allowed ---- */

struct allow {
	uint64_t brand;
	int64_t expires;
	char number[NUM_MAX];
};

struct compliance {
	struct store *st;
	struct policy_lookup lk;
	/* overlay */
	struct ov **buckets;
	size_t nbuckets, count;
	struct ov *free;
	struct chunk *chunks;
	size_t next_chunk;
	/* cache */
	struct cslot *cache;
	size_t cmask;
	/* pauses */
	struct pz **pz;         /* by name's hash; pz_cap a power of two */
	size_t pz_cap, pz_n;
	uint32_t pz_refreshes;
	/* keyword replies */
	struct allow *allow;
	size_t nallow, capallow;
	/* numbers opted out since checks_after (compliance_optout_since) */
	uint64_t *recent;
	size_t recent_bits, recent_set;
	uint64_t checks_after;
	/* the cookie of audit writes */
	int audit_tag;
	struct compliance_stats stats;
};

/* ---- small helpers ---- */

static uint64_t hash_bytes(const void *p, size_t n)
{
	return hash_finish(fnv1a(FNV1A_BASIS, p, n));
}

static void put64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 0; i < 8; i++, u >>= 8)
		p[i] = (uint8_t)u;
}

static int64_t get64(const uint8_t *p)
{
	uint64_t u = 0;
	for (int i = 7; i >= 0; i--)
		u = u << 8 | p[i];
	return (int64_t)u;
}

static const char *num_norm(const char *n)
{
	if (n == NULL)
		return "";
	return *n == '+' ? n + 1 : n;
}

/* kind '\0' a ['\0' b]; 0 if it does not fit or a part is missing. */
static size_t mkkey(uint8_t *k, char kind, const char *a, const char *b)
{
	size_t la, lb = 0, n;
	if (a == NULL)
		return 0;
	la = strlen(a);
	if (b)
		lb = strlen(b);
	n = 2 + la + (b ? 1 + lb : 0);
	if (n > KEY_MAX || la == 0)
		return 0;
	k[0] = (uint8_t)kind;
	k[1] = 0;
	memcpy(k + 2, a, la);
	if (b) {
		k[2 + la] = 0;
		memcpy(k + 3 + la, b, lb);
	}
	return n;
}

/* ---- overlay ---- */

static struct ov *ov_find(const struct compliance *c, uint64_t h,
    const uint8_t *k, size_t kl)
{
	if (c->count == 0)
		return NULL;
	for (struct ov *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && e->klen == kl && memcmp(e->data, k, kl) == 0)
			return e;
	return NULL;
}

static int ov_grow(struct compliance *c)
{
	size_t nb = c->nbuckets * 2;
	struct ov **b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct ov *e = c->buckets[i], *nx;
		for (; e; e = nx) {
			nx = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = nb;
	return 0;
}

static struct ov *ov_alloc(struct compliance *c)
{
	if (c->free == NULL) {
		size_t n = c->next_chunk;
		struct chunk *ch = calloc(1, sizeof(*ch) + n * sizeof(struct ov));
		if (ch == NULL)
			return NULL;
		ch->n = n;
		ch->next = c->chunks;
		c->chunks = ch;
		for (size_t i = n; i-- > 0;) {
			ch->ents[i].next = c->free;
			c->free = &ch->ents[i];
		}
		if (c->next_chunk < (1u << 20))
			c->next_chunk *= 2;
	}
	struct ov *e = c->free;
	c->free = e->next;
	e->next = NULL;
	return e;
}

static void ov_remove(struct compliance *c, struct ov *e)
{
	struct ov **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp)
		*pp = e->next;
	c->count--;
	free(e->data);
	memset(e, 0, sizeof(*e));
	e->next = c->free;
	c->free = e;
}

/* ---- cache ---- */

static struct cslot *cache_slot(const struct compliance *c, uint64_t h)
{
	return c->cache ? &c->cache[(h >> 7) & c->cmask] : NULL;
}

static void cache_set(struct compliance *c, uint64_t h, const uint8_t *k,
    size_t kl, const uint8_t *v, size_t vl, int present)
{
	struct cslot *s = cache_slot(c, h);
	if (s == NULL)
		return;
	if (kl > CK || (present && vl > CV)) {
		/* does not fit: only make sure the slot says nothing of k */
		if (s->hash == h && s->klen == kl && kl <= CK
		    && memcmp(s->key, k, kl) == 0)
			s->state = CS_EMPTY;
		return;
	}
	s->hash = h;
	s->klen = (uint8_t)kl;
	memcpy(s->key, k, kl);
	s->state = present ? CS_PRESENT : CS_ABSENT;
	s->vlen = present ? (uint8_t)vl : 0;
	if (present)
		memcpy(s->val, v, vl);
}

/* ---- reads: overlay, cache, store.  1 found, 0 absent, <0 error ---- */

static int kv_read(struct compliance *c, const uint8_t *k, size_t kl,
    uint8_t *buf, size_t cap, size_t *vl)
{
	uint64_t h = hash_bytes(k, kl);
	struct ov *e = ov_find(c, h, k, kl);
	if (e) {
		c->stats.overlay_hits++;
		if (e->deleted)
			return 0;
		if (e->vlen > cap)
			return -E2BIG;
		memcpy(buf, e->data + e->klen, e->vlen);
		*vl = e->vlen;
		return 1;
	}
	struct cslot *s = cache_slot(c, h);
	if (s && s->state != CS_EMPTY && s->hash == h && s->klen == kl
	    && memcmp(s->key, k, kl) == 0) {
		c->stats.cache_hits++;
		if (s->state == CS_ABSENT)
			return 0;
		if (s->vlen > cap)
			return -E2BIG;
		memcpy(buf, s->val, s->vlen);
		*vl = s->vlen;
		return 1;
	}
	c->stats.store_reads++;
	int rc = store_kv_get(c->st, k, kl, buf, cap, vl);
	if (rc == -ENOENT) {
		cache_set(c, h, k, kl, NULL, 0, 0);
		return 0;
	}
	if (rc < 0)
		return rc;
	cache_set(c, h, k, kl, buf, *vl, 1);
	return 1;
}

/*
 * Puts the new value of k (v NULL: delete) in the overlay and the cache
 * and fills op to write it.  The op's pointers go into the overlay entry:
 * submit before staging the same key again.
 */
static int kv_stage(struct compliance *c, struct store_op *op,
    const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	uint64_t h = hash_bytes(k, kl);
	struct ov *e = ov_find(c, h, k, kl);
	if (e == NULL) {
		if (c->count >= c->nbuckets && ov_grow(c) < 0)
			return -ENOMEM;
		e = ov_alloc(c);
		if (e == NULL)
			return -ENOMEM;
		e->hash = h;
		e->klen = (uint16_t)kl;
		e->next = c->buckets[h & (c->nbuckets - 1)];
		c->buckets[h & (c->nbuckets - 1)] = e;
		c->count++;
	}
	if (e->cap < kl + vl) {
		size_t cap = kl + vl < 64 ? 64 : kl + vl;
		uint8_t *d = realloc(e->data, cap);
		if (d == NULL) {
			if (e->data == NULL)
				ov_remove(c, e);
			return -ENOMEM;
		}
		e->data = d;
		e->cap = cap;
	}
	memcpy(e->data, k, kl);
	if (v)
		memcpy(e->data + kl, v, vl);
	e->vlen = v ? (uint16_t)vl : 0;
	e->deleted = v == NULL;
	e->pending++;
	cache_set(c, h, k, kl, v, vl, v != NULL);
	memset(op, 0, sizeof(*op));
	op->kind = v ? STORE_OP_KV_PUT : STORE_OP_KV_DEL;
	op->cookie = e;
	op->u.kv.key = e->data;
	op->u.kv.klen = kl;
	op->u.kv.val = v ? e->data + kl : NULL;
	op->u.kv.vlen = v ? vl : 0;
	return 0;
}

/* Submits staged ops; on failure their values stay in the overlay. */
static int submit(struct compliance *c, struct store_op *ops, size_t n)
{
	if (n == 0)
		return 0;
	int rc = store_submit(c->st, ops, n);
	if (rc >= 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].cookie == &c->audit_tag)
			continue;
		struct ov *e = ops[i].cookie;
		e->pending--;
		e->failed = 1;
		c->stats.write_errors++;
	}
	return rc;
}

int compliance_owns_cookie(const struct compliance *c, const void *cookie)
{
	if (c == NULL || cookie == NULL)
		return 0;
	if (cookie == &c->audit_tag)
		return 1;
	for (const struct chunk *ch = c->chunks; ch; ch = ch->next)
		if ((const char *)cookie >= (const char *)ch->ents
		    && (const char *)cookie < (const char *)(ch->ents + ch->n))
			return 1;
	return 0;
}

void compliance_completion(struct compliance *c,
    const struct store_completion *sc)
{
	if (sc->cookie == &c->audit_tag) {
		if (sc->rc < 0)
			c->stats.write_errors++;
		return;
	}
	struct ov *e = sc->cookie;
	if (e->pending == 0)
		return;
	e->pending--;
	e->failed = sc->rc < 0;
	if (sc->rc < 0)
		c->stats.write_errors++;
	/* Completions come in submission order: when the last write of the
	 * key is on disk the store holds the overlay's value. */
	if (e->pending == 0 && !e->failed)
		ov_remove(c, e);
}

/* ---- number record ---- */

struct numrec {
	uint8_t line, flags;
	int64_t gtime;
	const uint8_t *brands;    /* nb entries: [time][len][name] */
	size_t blen;
	unsigned nb;
};

static int numrec_parse(const uint8_t *v, size_t vl, struct numrec *r)
{
	memset(r, 0, sizeof(*r));
	if (vl < 12 || v[0] != VER)
		return -1;
	r->line = v[1];
	r->flags = v[2];
	r->gtime = get64(v + 3);
	r->nb = v[11];
	r->brands = v + 12;
	r->blen = vl - 12;
	size_t off = 0;
	for (unsigned i = 0; i < r->nb; i++) {
		if (off + 9 > r->blen || off + 9 + r->brands[off + 8] > r->blen)
			return -1;
		off += 9 + r->brands[off + 8];
	}
	return 0;
}

/* Offset of brand in the list, or -1. */
static long numrec_find(const struct numrec *r, const char *brand)
{
	size_t bl = strlen(brand), off = 0;
	for (unsigned i = 0; i < r->nb; i++) {
		uint8_t l = r->brands[off + 8];
		if (l == bl && memcmp(r->brands + off + 9, brand, bl) == 0)
			return (long)off;
		off += 9 + l;
	}
	return -1;
}

/* The key of a number's record (opt-outs, line type); 0 if it does not fit. */
static size_t numrec_key(uint8_t *key, const char *number)
{
	return mkkey(key, 'n', num_norm(number), NULL);
}

/* Reads the number record; absent gives an empty one.  buf: VAL_MAX. */
static int numrec_read(struct compliance *c, const char *number,
    uint8_t *key, size_t *kl, uint8_t *buf, struct numrec *r)
{
	size_t vl = 0;
	*kl = numrec_key(key, number);
	if (*kl == 0)
		return -EINVAL;
	int rc = kv_read(c, key, *kl, buf, VAL_MAX, &vl);
	if (rc < 0)
		return rc;
	if (rc == 0 || numrec_parse(buf, vl, r) < 0)
		memset(r, 0, sizeof(*r));   /* a bad record reads as empty */
	return 0;
}

/* Stages the record (delete when it says nothing). */
static int numrec_stage(struct compliance *c, struct store_op *op,
    const uint8_t *key, size_t kl, uint8_t line, uint8_t flags,
    int64_t gtime, const uint8_t *brands, size_t blen, unsigned nb)
{
	uint8_t v[VAL_MAX];
	if (line == POLICY_LINE_UNKNOWN && flags == 0 && nb == 0)
		return kv_stage(c, op, key, kl, NULL, 0);
	v[0] = VER;
	v[1] = line;
	v[2] = flags;
	put64(v + 3, gtime);
	v[11] = (uint8_t)nb;
	if (blen)
		memcpy(v + 12, brands, blen);
	return kv_stage(c, op, key, kl, v, 12 + blen);
}

static int is_opted_out(struct compliance *c, const char *brand,
    const char *number, int *yes)
{
	uint8_t key[KEY_MAX], buf[VAL_MAX];
	size_t kl;
	struct numrec r;
	*yes = 0;
	int rc = numrec_read(c, number, key, &kl, buf, &r);
	if (rc < 0)
		return rc;
	if (r.flags & 1)
		*yes = 1;
	else if (brand == NULL)
		*yes = r.nb > 0;
	else
		*yes = numrec_find(&r, brand) >= 0;
	return 0;
}

/* ---- send history ---- */

static int ring_read(struct compliance *c, const char *brand,
    const char *number, uint8_t *key, size_t *kl, int64_t *times,
    unsigned *n)
{
	uint8_t buf[VAL_MAX];
	size_t vl = 0;
	*n = 0;
	*kl = mkkey(key, 's', brand, num_norm(number));
	if (*kl == 0)
		return -EINVAL;
	int rc = kv_read(c, key, *kl, buf, sizeof(buf), &vl);
	if (rc <= 0)
		return rc;
	if (vl < 2 || buf[0] != VER || buf[1] > COMPLIANCE_SEND_RING
	    || vl < 2 + 8u * buf[1])
		return 1;             /* contacted; history unreadable */
	*n = buf[1];
	for (unsigned i = 0; i < *n; i++)
		times[i] = get64(buf + 2 + 8 * i);
	return 1;
}

/* ---- the lookup ---- */

void compliance_prefetch(const struct compliance *c, const char *number)
{
	uint8_t key[KEY_MAX];
	size_t kl = numrec_key(key, number);
	const struct cslot *s = kl ? cache_slot(c, hash_bytes(key, kl)) : NULL;
	if (s) {
		__builtin_prefetch(s);
		__builtin_prefetch((const uint8_t *)s + 64);
	}
}

static int l_opted_out(void *arg, const char *brand, const char *number,
    int *yes)
{
	return is_opted_out(arg, brand, number, yes) < 0 ? -1 : 0;
}

static int l_consent(void *arg, const char *brand, const char *campaign,
    const char *number, int *yes)
{
	struct compliance *c = arg;
	uint8_t key[KEY_MAX], buf[VAL_MAX];
	size_t kl, vl;
	*yes = 0;
	if (brand && (kl = mkkey(key, 'c', brand, num_norm(number)))) {
		int rc = kv_read(c, key, kl, buf, sizeof(buf), &vl);
		if (rc < 0)
			return -1;
		if (rc) {
			*yes = 1;
			return 0;
		}
	}
	if (campaign && (kl = mkkey(key, 'C', campaign, num_norm(number)))) {
		int rc = kv_read(c, key, kl, buf, sizeof(buf), &vl);
		if (rc < 0)
			return -1;
		*yes = rc;
	}
	return 0;
}

static int l_line_type(void *arg, const char *number, enum policy_line *lt)
{
	uint8_t key[KEY_MAX], buf[VAL_MAX];
	size_t kl;
	struct numrec r;
	*lt = POLICY_LINE_UNKNOWN;
	if (numrec_read(arg, number, key, &kl, buf, &r) < 0)
		return -1;
	if (r.line <= POLICY_LINE_INVALID)
		*lt = (enum policy_line)r.line;
	return 0;
}

static int l_contacted(void *arg, const char *brand, const char *number,
    int *yes)
{
	uint8_t key[KEY_MAX];
	int64_t t[COMPLIANCE_SEND_RING];
	size_t kl;
	unsigned n;
	int rc = ring_read(arg, brand, number, key, &kl, t, &n);
	*yes = rc > 0;
	return rc < 0 ? -1 : 0;
}

static int l_last_footer(void *arg, const char *campaign,
    const char *number, int64_t *when)
{
	uint8_t key[KEY_MAX], buf[VAL_MAX];
	size_t kl, vl = 0;
	*when = 0;
	kl = mkkey(key, 'f', campaign, num_norm(number));
	if (kl == 0)
		return 0;
	int rc = kv_read(arg, key, kl, buf, sizeof(buf), &vl);
	if (rc < 0)
		return -1;
	if (rc && vl >= 9 && buf[0] == VER)
		*when = get64(buf + 1);
	return 0;
}

static int l_sent_since(void *arg, const char *brand, const char *number,
    int64_t since, uint32_t *count, int64_t *oldest)
{
	uint8_t key[KEY_MAX];
	int64_t t[COMPLIANCE_SEND_RING];
	size_t kl;
	unsigned n;
	*count = 0;
	*oldest = 0;
	if (ring_read(arg, brand, number, key, &kl, t, &n) < 0)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		if (t[i] < since)
			continue;
		if (*count == 0 || t[i] < *oldest)
			*oldest = t[i];
		(*count)++;
	}
	return 0;
}

/*
 * Campaigns' pause state, read from the store at a campaign's first
 * message and kept.  The table grows with the campaigns seen: at a fixed
 * 128 chains, 10,000 campaigns made two walks of about 40 strcmp per
 * message, a fifth of the loop thread.
 */
static struct pz *pz_find(const struct compliance *c, const char *campaign)
{
	if (c->pz_cap == 0)
		return NULL;
	uint64_t h = hash_bytes(campaign, strlen(campaign));
	struct pz *z = c->pz[h & (c->pz_cap - 1)];
	while (z && (z->hash != h || strcmp(z->name, campaign) != 0))
		z = z->next;
	return z;
}

/* Twice the chains, or the first 128; 0, or -1 out of memory. */
static int pz_grow(struct compliance *c)
{
	size_t cap = c->pz_cap ? c->pz_cap * 2 : 128;
	struct pz **t = calloc(cap, sizeof(*t));
	if (t == NULL)
		return -1;
	for (size_t i = 0; i < c->pz_cap; i++)
		for (struct pz *z = c->pz[i], *nx; z; z = nx) {
			nx = z->next;
			z->next = t[z->hash & (cap - 1)];
			t[z->hash & (cap - 1)] = z;
		}
	free(c->pz);
	c->pz = t;
	c->pz_cap = cap;
	return 0;
}

/* A campaign not yet in the table; NULL when out of memory. */
static struct pz *pz_add(struct compliance *c, const char *campaign, int paused)
{
	if (c->pz_n >= c->pz_cap && pz_grow(c) < 0)
		return NULL;
	size_t n = strlen(campaign);
	struct pz *z = malloc(sizeof(*z) + n + 1);
	if (z == NULL)
		return NULL;
	z->hash = hash_bytes(campaign, n);
	z->paused = paused;
	z->seen = 0;
	memcpy(z->name, campaign, n + 1);
	z->next = c->pz[z->hash & (c->pz_cap - 1)];
	c->pz[z->hash & (c->pz_cap - 1)] = z;
	c->pz_n++;
	return z;
}

static void pause_decode(const uint8_t *v, size_t vl, int *paused, int64_t *since)
{
	if (vl >= 2 && v[0] == VER)
		*paused = v[1] != 0;
	if (vl >= 10 && v[0] == VER)
		*since = get64(v + 2);
}

/* The stored pause record: 1 found, 0 none, <0 store error. */
static int pause_read(struct compliance *c, const uint8_t *key, size_t kl,
    int *paused, int64_t *since)
{
	uint8_t buf[VAL_MAX];
	size_t vl = 0;
	int rc = store_kv_get(c->st, key, kl, buf, sizeof(buf), &vl);
	*paused = 0;
	*since = 0;
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	pause_decode(buf, vl, paused, since);
	return 1;
}

static int l_paused(void *arg, const char *campaign, int *yes)
{
	struct compliance *c = arg;
	*yes = 0;
	if (campaign == NULL)
		return 0;
	struct pz *z = pz_find(c, campaign);
	if (z == NULL) {
		uint8_t key[KEY_MAX];
		size_t kl = mkkey(key, 'p', campaign, NULL);
		int paused;
		int64_t since;
		if (kl == 0)
			return 0;
		if (pause_read(c, key, kl, &paused, &since) < 0)
			return -1;
		if ((z = pz_add(c, campaign, paused)) == NULL)
			return -1;
	}
	*yes = z->paused;
	return 0;
}

/* ---- life cycle ---- */

struct compliance *compliance_new(struct store *st,
    const struct compliance_config *cfg)
{
	struct compliance *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->st = st;
	c->nbuckets = 1024;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	c->next_chunk = 1024;
	size_t slots = cfg && cfg->cache_slots ? cfg->cache_slots : 65536;
	if (slots > 1) {
		size_t n = 2;
		while (n < slots)
			n *= 2;
		c->cache = huge_calloc(n, sizeof(*c->cache));
		c->cmask = n - 1;
	}
	if (c->buckets == NULL || (slots > 1 && c->cache == NULL)) {
		compliance_free(c);
		return NULL;
	}
	c->recent_bits = cfg && cfg->recent_bits >= 64 ? cfg->recent_bits : RECENT_BITS;
	c->recent = calloc(c->recent_bits / 64, sizeof(*c->recent));
	c->checks_after = UINT64_MAX;
	if (c->recent == NULL) {
		compliance_free(c);
		return NULL;
	}
	c->lk = (struct policy_lookup){
		.arg = c, .opted_out = l_opted_out, .consent = l_consent,
		.line_type = l_line_type, .contacted = l_contacted,
		.last_footer = l_last_footer, .sent_since = l_sent_since,
		.paused = l_paused,
	};
	return c;
}

void compliance_free(struct compliance *c)
{
	if (c == NULL)
		return;
	for (struct chunk *ch = c->chunks, *nx; ch; ch = nx) {
		nx = ch->next;
		for (size_t i = 0; i < ch->n; i++)
			free(ch->ents[i].data);
		free(ch);
	}
	for (size_t i = 0; i < c->pz_cap; i++)
		for (struct pz *z = c->pz[i], *nx; z; z = nx) {
			nx = z->next;
			free(z);
		}
	free(c->pz);
	free(c->buckets);
	free(c->cache);
	free(c->recent);
	free(c->allow);
	free(c);
}

const struct policy_lookup *compliance_lookup(struct compliance *c)
{
	return &c->lk;
}

void compliance_get_stats(const struct compliance *c,
    struct compliance_stats *out)
{
	*out = c->stats;
	out->overlay_entries = c->count;
}

/* ---- audit ---- */

static void clip(char *dst, size_t cap, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s ? s : "", n);
	dst[n] = '\0';
}

static int audit_op(struct compliance *c, struct store_op *op,
    struct store_audit *a, int64_t now, uint64_t msg_id,
    const char *account, const char *campaign, const char *recipient,
    const char *rule, const char *reason, char (*bufs)[STORE_STR_MAX + 1])
{
	const char *in[5] = { account, campaign, recipient, rule, reason };
	for (int i = 0; i < 5; i++)
		clip(bufs[i], STORE_STR_MAX + 1, in[i]);
	*a = (struct store_audit){ .time_ms = now * 1000, .msg_id = msg_id,
	    .account = bufs[0], .campaign = bufs[1], .recipient = bufs[2],
	    .rule = bufs[3], .reason = bufs[4] };
	memset(op, 0, sizeof(*op));
	op->kind = STORE_OP_AUDIT;
	op->cookie = &c->audit_tag;
	op->u.audit = a;
	return 0;
}

int compliance_audit(struct compliance *c, int64_t now, uint64_t msg_id,
    const char *account, const char *campaign, const char *recipient,
    const char *rule, const char *reason)
{
	struct store_op op;
	struct store_audit a;
	char bufs[5][STORE_STR_MAX + 1];
	audit_op(c, &op, &a, now, msg_id, account, campaign, recipient, rule,
	    reason, bufs);
	int rc = store_submit(c->st, &op, 1);
	if (rc < 0)
		c->stats.write_errors++;
	return rc < 0 ? rc : 0;
}

int compliance_audit_verdict(struct compliance *c, int64_t now,
    uint64_t msg_id, const struct policy_msg *m,
    const struct policy_verdict *v)
{
	const char *rule = v->rule, *reason = v->reason;
	if (v->action == POLICY_ACCEPT) {
		if (!v->modified)
			return 0;
		rule = v->modified == (POLICY_MOD_PREFIX | POLICY_MOD_FOOTER)
		    ? "modified:prefix+footer" : v->modified & POLICY_MOD_PREFIX
		    ? "modified:prefix" : "modified:footer";
		reason = "text rewritten";
	}
	int rc = compliance_audit(c, now, msg_id, m->account, v->campaign,
	    m->destination, rule ? rule : "", reason);
	return rc < 0 ? rc : 1;
}

/* ---- events ---- */

/* Stages the number's history with `now` added (SEND), or an empty one if
 * there is none (CONTACT); 1 when an op was staged, 0 when none was needed. */
static int stage_history(struct compliance *c, struct store_op *op,
    const char *brand, const char *number, int64_t now, unsigned what)
{
	uint8_t key[KEY_MAX], v[2 + 8 * COMPLIANCE_SEND_RING];
	int64_t t[COMPLIANCE_SEND_RING];
	size_t kl;
	unsigned n;
	int rc = ring_read(c, brand, number, key, &kl, t, &n);
	if (rc < 0 && kl == 0)
		return rc;
	if (rc < 0)
		n = 0;                /* store error: start a fresh history */
	else if (rc > 0 && !(what & POLICY_RECORD_SEND))
		return 0;             /* contacted already */
	int add = (what & POLICY_RECORD_SEND) != 0;
	unsigned skip = add && n == COMPLIANCE_SEND_RING ? 1 : 0;
	v[0] = VER;
	v[1] = (uint8_t)(n - skip + (unsigned)add);
	for (unsigned i = skip; i < n; i++)
		put64(v + 2 + 8 * (i - skip), t[i]);
	if (add)
		put64(v + 2 + 8 * (n - skip), now);
	rc = kv_stage(c, op, key, kl, v, 2 + 8u * v[1]);
	return rc < 0 ? rc : 1;
}

int compliance_record_send(struct compliance *c, const char *brand,
    const char *campaign, const char *number, int64_t now, unsigned what)
{
	uint8_t fkey[KEY_MAX];
	size_t fkl;
	struct store_op ops[2];
	size_t nops = 0;
	if (what & (POLICY_RECORD_SEND | POLICY_RECORD_CONTACT)) {
		int rc = stage_history(c, &ops[0], brand, number, now, what);
		if (rc < 0)
			return rc;
		nops += (size_t)rc;
	}
	if ((what & POLICY_RECORD_FOOTER) && campaign
	    && (fkl = mkkey(fkey, 'f', campaign, num_norm(number)))) {
		uint8_t fv[9];
		fv[0] = VER;
		put64(fv + 1, now);
		if (kv_stage(c, &ops[nops], fkey, fkl, fv, sizeof(fv)) == 0)
			nops++;
	}
	return nops ? submit(c, ops, nops) : 0;
}

static size_t recent_bit(const struct compliance *c, const char *number)
{
	const char *n = num_norm(number);
	return (size_t)hash_bytes(n, strlen(n)) & (c->recent_bits - 1);
}

void compliance_policy_changed(struct compliance *c)
{
	memset(c->recent, 0, c->recent_bits / 8);
	c->recent_set = 0;
	c->checks_after = store_reserve_id(c->st);
}

/* Before an opt-out of number is staged (the overlay makes it visible to
 * the next check at once). */
static void recent_note(struct compliance *c, const char *number)
{
	if (c->recent_set >= c->recent_bits / 2) {
		/* mostly ones: a fresh start is worth more than what it forgets
		 * (messages stored before it are looked up again) */
		compliance_policy_changed(c);
	}
	size_t b = recent_bit(c, number);
	uint64_t mask = 1ull << (b & 63);
	if (!(c->recent[b / 64] & mask)) {
		c->recent[b / 64] |= mask;
		c->recent_set++;
	}
}

int compliance_optout_since(const struct compliance *c, uint64_t id,
    const char *number)
{
	if (c->checks_after == UINT64_MAX || id <= c->checks_after)
		return 1;
	size_t b = recent_bit(c, number);
	return (c->recent[b / 64] >> (b & 63)) & 1;
}

/* Opt-out without audit: 1 newly, 0 already, <0 error. */
static int opt_out_do(struct compliance *c, const char *brand,
    const char *number, int64_t now)
{
	uint8_t key[KEY_MAX], buf[VAL_MAX], nb[VAL_MAX];
	size_t kl;
	struct numrec r;
	struct store_op op;
	int rc = numrec_read(c, number, key, &kl, buf, &r);
	if (rc == -EINVAL)
		return rc;
	if (rc < 0) {
		/* unreadable: rewriting the record could drop another
		 * brand's opt-out, so opt out of everything (the safe side;
		 * an operator's opt-in undoes it) */
		memset(&r, 0, sizeof(r));
		brand = NULL;
	}
	if (r.flags & 1)
		return 0;
	if (brand && numrec_find(&r, brand) >= 0)
		return 0;
	recent_note(c, number);
	if (brand == NULL || 12 + r.blen + 9 + strlen(brand) > VAL_MAX
	    || r.nb == 255 || strlen(brand) > 255) {
		rc = numrec_stage(c, &op, key, kl, r.line, r.flags | 1, now,
		    r.brands, r.blen, r.nb);
	} else {
		size_t bl = strlen(brand);
		if (r.blen)
			memcpy(nb, r.brands, r.blen);
		put64(nb + r.blen, now);
		nb[r.blen + 8] = (uint8_t)bl;
		memcpy(nb + r.blen + 9, brand, bl);
		rc = numrec_stage(c, &op, key, kl, r.line, r.flags, r.gtime,
		    nb, r.blen + 9 + bl, r.nb + 1);
	}
	if (rc < 0)
		return rc;
	rc = submit(c, &op, 1);
	return rc < 0 ? rc : 1;
}

int compliance_opt_out(struct compliance *c, const char *brand,
    const char *number, int64_t now, const char *source_text)
{
	int rc = opt_out_do(c, brand, number, now);
	if (rc >= 0) {
		char why[STORE_STR_MAX + 1];
		snprintf(why, sizeof(why), "%s%s: %s", rc ? "" : "(again) ",
		    brand ? brand : "all brands", source_text ? source_text : "");
		compliance_audit(c, now, 0, NULL, NULL, num_norm(number),
		    "opt_out", why);
	}
	return rc;
}

static int opt_in_do(struct compliance *c, const char *brand,
    const char *number)
{
	uint8_t key[KEY_MAX], buf[VAL_MAX], nb[VAL_MAX];
	size_t kl;
	struct numrec r;
	struct store_op op;
	int rc = numrec_read(c, number, key, &kl, buf, &r);
	if (rc < 0)
		return rc;
	if (brand == NULL) {
		if (!(r.flags & 1) && r.nb == 0)
			return 0;
		rc = numrec_stage(c, &op, key, kl, r.line, 0, 0, NULL, 0, 0);
	} else {
		long off = numrec_find(&r, brand);
		if (off < 0)
			return 0;
		size_t el = 9 + r.brands[off + 8];
		memcpy(nb, r.brands, (size_t)off);
		memcpy(nb + off, r.brands + off + el, r.blen - (size_t)off - el);
		rc = numrec_stage(c, &op, key, kl, r.line, r.flags, r.gtime,
		    nb, r.blen - el, r.nb - 1);
	}
	if (rc < 0)
		return rc;
	rc = submit(c, &op, 1);
	return rc < 0 ? rc : 1;
}

int compliance_opt_in(struct compliance *c, const char *brand,
    const char *number, int64_t now, const struct compliance_consent *consent)
{
	int rc = opt_in_do(c, brand, number);
	if (rc < 0)
		return rc;
	char why[STORE_STR_MAX + 1];
	snprintf(why, sizeof(why), "%s%s", brand ? brand : "all brands",
	    rc ? "" : " (was not opted out)");
	compliance_audit(c, now, 0, NULL, NULL, num_norm(number), "opt_in",
	    why);
	if (consent) {
		int r2 = compliance_consent_add(c, consent);
		if (r2 < 0)
			return r2;
	}
	return rc;
}

const char *compliance_method_name(enum compliance_method m)
{
	static const char *const n[] = { "web_form", "keyword", "paper",
		"api" };
	return (unsigned)m < 4 ? n[m] : "unknown";
}

static size_t consent_key(uint8_t *k, const char *brand,
    const char *campaign, const char *number)
{
	if (brand == NULL || number == NULL)
		return 0;
	return campaign ? mkkey(k, 'C', campaign, num_norm(number))
	    : mkkey(k, 'c', brand, num_norm(number));
}

static uint8_t *put_str(uint8_t *p, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n > max)
		n = max;
	p[0] = (uint8_t)n;
	p[1] = (uint8_t)(n >> 8);
	memcpy(p + 2, s ? s : "", n);
	return p + 2 + n;
}

int compliance_consent_add(struct compliance *c,
    const struct compliance_consent *r)
{
	uint8_t key[KEY_MAX], v[VAL_MAX], *p = v;
	struct store_op op;
	size_t kl = consent_key(key, r->brand, r->campaign, r->number);
	if (kl == 0)
		return -EINVAL;
	*p++ = VER;
	*p++ = (uint8_t)r->method;
	put64(p, r->time);
	p += 8;
	p = put_str(p, r->brand, 128);
	p = put_str(p, r->campaign, 128);
	p = put_str(p, r->who, COMPLIANCE_WHO_MAX);
	p = put_str(p, r->purpose, COMPLIANCE_PURPOSE_MAX);
	p = put_str(p, r->evidence, COMPLIANCE_EVIDENCE_MAX);
	int rc = kv_stage(c, &op, key, kl, v, (size_t)(p - v));
	if (rc < 0)
		return rc;
	rc = submit(c, &op, 1);
	char why[STORE_STR_MAX + 1];
	snprintf(why, sizeof(why), "%s via %s by %s for %s: %.120s",
	    r->campaign ? r->campaign : r->brand,
	    compliance_method_name(r->method), r->who ? r->who : "?",
	    r->purpose ? r->purpose : "?", r->evidence ? r->evidence : "");
	compliance_audit(c, r->time, 0, NULL, r->campaign, num_norm(r->number),
	    "consent_add", why);
	return rc;
}

int compliance_consent_revoke(struct compliance *c,
    const struct compliance_consent *r, int64_t now)
{
	uint8_t key[KEY_MAX];
	struct store_op op;
	size_t kl = consent_key(key, r->brand, r->campaign, r->number);
	if (kl == 0)
		return -EINVAL;
	int rc = kv_stage(c, &op, key, kl, NULL, 0);
	if (rc < 0)
		return rc;
	rc = submit(c, &op, 1);
	char why[STORE_STR_MAX + 1];
	snprintf(why, sizeof(why), "%s revoked by %s: %.160s",
	    r->campaign ? r->campaign : r->brand, r->who ? r->who : "?",
	    r->evidence ? r->evidence : "");
	compliance_audit(c, now, 0, NULL, r->campaign, num_norm(r->number),
	    "consent_revoke", why);
	return rc;
}

static const uint8_t *get_str(const uint8_t *p, const uint8_t *end,
    char **dst, char **out, char *outend)
{
	if (p == NULL || end - p < 2)
		return NULL;
	size_t n = (size_t)(p[0] | p[1] << 8);
	if ((size_t)(end - p - 2) < n || (size_t)(outend - *out) < n + 1)
		return NULL;
	memcpy(*out, p + 2, n);
	(*out)[n] = '\0';
	*dst = *out;
	*out += n + 1;
	return p + 2 + n;
}

/* A consent value; strings go to buf, number is left NULL. */
static int consent_decode(const uint8_t *v, size_t vl,
    struct compliance_consent *out, void *buf, size_t bufsz)
{
	if (vl < 10 || v[0] != VER)
		return STORE_ECORRUPT;
	char *o = buf, *oe = (char *)buf + bufsz, *s[5];
	const uint8_t *p = v + 10, *end = v + vl;
	for (int i = 0; i < 5; i++)
		p = get_str(p, end, &s[i], &o, oe);
	if (p == NULL)
		return -E2BIG;
	*out = (struct compliance_consent){ .brand = s[0],
	    .campaign = *s[1] ? s[1] : NULL, .number = NULL,
	    .time = get64(v + 2), .method = v[1], .who = s[2],
	    .purpose = s[3], .evidence = s[4] };
	return 0;
}

int compliance_consent_get(struct compliance *c, const char *brand,
    const char *campaign, const char *number,
    struct compliance_consent *out, void *buf, size_t bufsz)
{
	uint8_t key[KEY_MAX], v[VAL_MAX];
	size_t kl = consent_key(key, brand, campaign, number), vl = 0;
	if (kl == 0)
		return -EINVAL;
	int rc = kv_read(c, key, kl, v, sizeof(v), &vl);
	if (rc <= 0)
		return rc;
	rc = consent_decode(v, vl, out, buf, bufsz);
	out->number = num_norm(number);
	return rc < 0 ? rc : 1;
}

struct optout_walk {
	compliance_optout_cb *cb;
	void *arg;
	int stop;
};

static int optout_entry(const void *key, size_t klen, const void *val,
    size_t vlen, void *arg)
{
	struct optout_walk *w = arg;
	struct numrec r;
	char number[KEY_MAX], brand[256];
	if (klen < 3 || klen - 2 >= sizeof(number) ||
	    numrec_parse(val, vlen, &r) < 0)
		return 0;	/* a bad record does not hide the rest */
	memcpy(number, (const uint8_t *)key + 2, klen - 2);
	number[klen - 2] = '\0';
	if ((r.flags & 1) && (w->stop = w->cb(number, NULL, r.gtime, w->arg)))
		return 1;
	size_t off = 0;
	for (unsigned i = 0; i < r.nb; i++) {
		uint8_t l = r.brands[off + 8];
		memcpy(brand, r.brands + off + 9, l);
		brand[l] = '\0';
		if ((w->stop = w->cb(number, brand, get64(r.brands + off), w->arg)))
			return 1;
		off += 9 + l;
	}
	return 0;
}

int compliance_optouts_scan(struct compliance *c, const char *after,
    compliance_optout_cb *cb, void *arg)
{
	uint8_t from[KEY_MAX];
	size_t fl = after && *after ? numrec_key(from, after) : 0;
	struct optout_walk w = { cb, arg, 0 };
	if (after && *after && fl == 0)
		return -EINVAL;
	return store_kv_scan(c->st, "n", 2, from, fl, optout_entry, &w);
}

struct consent_walk {
	compliance_consent_cb *cb;
	void *arg;
	int stopped;
};

static int consent_entry(const void *key, size_t klen, const void *val,
    size_t vlen, void *arg)
{
	struct consent_walk *w = arg;
	const uint8_t *k = key, *nul = NULL;
	char buf[VAL_MAX], number[KEY_MAX], cursor[2 * KEY_MAX + 1];
	struct compliance_consent rec;
	for (size_t i = 2; i < klen; i++)
		if (k[i] == 0)
			nul = k + i;
	if (!nul || (size_t)(k + klen - nul) >= sizeof(number) ||
	    consent_decode(val, vlen, &rec, buf, sizeof(buf)) < 0)
		return 0;
	memcpy(number, nul + 1, (size_t)(k + klen - nul - 1));
	number[k + klen - nul - 1] = '\0';
	rec.number = number;
	for (size_t i = 0; i < klen; i++)
		snprintf(cursor + 2 * i, 3, "%02x", k[i]);
	return w->stopped = w->cb(&rec, cursor, w->arg);
}

int compliance_consents_scan(struct compliance *c, const char *after,
    compliance_consent_cb *cb, void *arg)
{
	struct consent_walk w = { cb, arg, 0 };
	uint8_t from[KEY_MAX];
	size_t fl = after ? strlen(after) / 2 : 0;
	if (after && (strlen(after) % 2 || fl < 3 || fl > KEY_MAX ||
	    (after[0] != '6' && after[0] != '4') || after[1] != '3'))
		return -EINVAL; /* cursors start with "63" (c) or "43" (C) */
	for (size_t i = 0; i < fl; i++) {
		unsigned v;
		if (sscanf(after + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		from[i] = (uint8_t)v;
	}
	int rc = 0;
	if (!after || from[0] == 'c')
		rc = store_kv_scan(c->st, "c", 2, from, fl, consent_entry, &w);
	if (rc < 0 || w.stopped)
		return rc;
	return store_kv_scan(c->st, "C", 2, from, after && from[0] == 'C' ? fl : 0,
	    consent_entry, &w);
}

int compliance_set_line_type(struct compliance *c, const char *number,
    enum policy_line type)
{
	uint8_t key[KEY_MAX], buf[VAL_MAX];
	size_t kl;
	struct numrec r;
	struct store_op op;
	int rc = numrec_read(c, number, key, &kl, buf, &r);
	if (rc < 0)
		return rc;
	if (r.line == type)
		return 0;
	rc = numrec_stage(c, &op, key, kl, (uint8_t)type, r.flags, r.gtime,
	    r.brands, r.blen, r.nb);
	if (rc < 0)
		return rc;
	return submit(c, &op, 1);
}

int compliance_pause(struct compliance *c, const char *campaign, int yes,
    int64_t now)
{
	return compliance_pause_why(c, campaign, yes, now, NULL);
}

int compliance_pause_why(struct compliance *c, const char *campaign,
    int yes, int64_t now, const char *why)
{
	uint8_t key[KEY_MAX], v[10];
	struct store_op op;
	size_t kl = mkkey(key, 'p', campaign, NULL);
	if (kl == 0)
		return -EINVAL;
	struct pz *z = pz_find(c, campaign);
	if (z == NULL && (z = pz_add(c, campaign, yes)) == NULL)
		return -ENOMEM;
	z->paused = !!yes;
	v[0] = VER;
	v[1] = (uint8_t)!!yes;
	put64(v + 2, now);
	int rc = kv_stage(c, &op, key, kl, v, sizeof(v));
	if (rc < 0)
		return rc;
	rc = submit(c, &op, 1);
	if (why == NULL)
		why = yes ? "campaign paused" : "campaign resumed";
	compliance_audit(c, now, 0, NULL, campaign, NULL,
	    yes ? "pause" : "resume", why);
	return rc;
}

int compliance_pause_get(struct compliance *c, const char *campaign,
    int *paused, int64_t *since)
{
	uint8_t key[KEY_MAX];
	size_t kl = mkkey(key, 'p', campaign, NULL);
	if (kl == 0)
		return -EINVAL;
	return pause_read(c, key, kl, paused, since);
}

int compliance_paused(struct compliance *c, const char *campaign)
{
	int yes = 0;
	if (l_paused(c, campaign, &yes) < 0)
		return -EIO;
	return yes;
}

struct pause_scan {
	struct compliance *c;
	compliance_pause_cb *cb;
	void *arg;
	int changed;
};

static void pause_set(struct pause_scan *ps, struct pz *z, int paused)
{
	if (paused == z->paused)
		return;
	z->paused = paused;
	ps->changed++;
	if (ps->cb)
		ps->cb(z->name, paused, ps->arg);
}

/* One pause record: the campaign's state, if smppd has met the campaign
 * and has no write of its own for it still on the way to disk. */
static int pause_scanned(const void *key, size_t kl, const void *val, size_t vl,
    void *arg)
{
	struct pause_scan *ps = arg;
	char name[KEY_MAX];
	int paused = 0;
	int64_t since = 0;
	struct pz *z;

	if (kl <= 2 || kl - 2 >= sizeof(name) || memchr((const char *)key + 2, 0, kl - 2))
		return 0;	/* not a campaign's record */
	memcpy(name, (const char *)key + 2, kl - 2);
	name[kl - 2] = '\0';
	if ((z = pz_find(ps->c, name)) == NULL)
		return 0;	/* read at its first message */
	z->seen = ps->c->pz_refreshes;
	if (ov_find(ps->c, hash_bytes(key, kl), key, kl))
		return 0;
	pause_decode(val, vl, &paused, &since);
	pause_set(ps, z, paused);
	return 0;
}

/*
 * Pause changes made by other processes (smppd --pause, a monitor of
 * another node) reach this one here, every pause.poll.  One scan of the
 * pause records rather than a read per campaign met: with 10,000
 * campaigns those reads held the loop for 3 ms each time.
 */
int compliance_pause_refresh(struct compliance *c,
    compliance_pause_cb *cb, void *arg)
{
	static const uint8_t prefix[2] = { 'p', 0 };
	struct pause_scan ps = { c, cb, arg, 0 };

	if (++c->pz_refreshes == 0)
		c->pz_refreshes = 1;	/* 0 is "never seen" */
	int rc = store_kv_scan(c->st, prefix, sizeof(prefix), NULL, 0, pause_scanned, &ps);
	if (rc < 0)
		return rc;
	/* paused here, and no record: it was removed, so not paused */
	for (size_t i = 0; i < c->pz_cap; i++)
		for (struct pz *z = c->pz[i]; z; z = z->next) {
			uint8_t key[KEY_MAX];
			size_t kl;

			if (!z->paused || z->seen == c->pz_refreshes)
				continue;
			kl = mkkey(key, 'p', z->name, NULL);
			if (kl == 0 || ov_find(c, hash_bytes(key, kl), key, kl))
				continue;
			pause_set(&ps, z, 0);
		}
	return ps.changed;
}

/* ---- keyword replies ---- */

static void allow_add(struct compliance *c, const char *brand,
    const char *number, int64_t now)
{
	size_t j = 0;
	for (size_t i = 0; i < c->nallow; i++)
		if (c->allow[i].expires >= now)
			c->allow[j++] = c->allow[i];
	c->nallow = j;
	if (c->nallow == c->capallow) {
		size_t cap = c->capallow ? c->capallow * 2 : 16;
		struct allow *a = realloc(c->allow, cap * sizeof(*a));
		if (a == NULL)
			return;
		c->allow = a;
		c->capallow = cap;
	}
	struct allow *a = &c->allow[c->nallow++];
	a->brand = hash_bytes(brand ? brand : "", brand ? strlen(brand) : 0);
	a->expires = now + COMPLIANCE_CONFIRM_WINDOW;
	clip(a->number, sizeof(a->number), num_norm(number));
}

int compliance_reply_allowed(struct compliance *c, const char *brand,
    const char *number, int64_t now)
{
	uint64_t b = hash_bytes(brand ? brand : "", brand ? strlen(brand) : 0);
	const char *n = num_norm(number);
	for (size_t i = 0; i < c->nallow; i++) {
		struct allow *a = &c->allow[i];
		if (a->brand != b || strcmp(a->number, n) != 0)
			continue;
		int ok = a->expires >= now;
		c->allow[i] = c->allow[--c->nallow];
		if (ok)
			return 1;
		i--;
	}
	return 0;
}

int compliance_blocked(struct compliance *c, const struct policy *p,
    const char *brand, const char *number)
{
	int yes = 0;
	int rc = is_opted_out(c, p && policy_optout_global(p) ? NULL : brand,
	    number, &yes);
	return rc < 0 ? rc : yes;
}

/* ---- MO ---- */

int compliance_handle_mo(struct compliance *c, const struct policy *p,
    const char *from_number, const char *to_number, const char *text,
    size_t len, int64_t now, struct compliance_mo_result *out)
{
	const char *campaign = NULL, *brand = NULL, *uc = NULL;
	int rc = 0;
	memset(out, 0, sizeof(*out));
	if (p == NULL || from_number == NULL || to_number == NULL
	    || (text == NULL && len))
		return -EINVAL;
	out->kind = policy_classify_mo(p, text, len);
	if (policy_campaign_of(p, to_number, &campaign, &brand, &uc) < 0)
		campaign = brand = NULL;
	out->brand = brand;
	out->campaign = campaign;
	if (out->kind == POLICY_MO_NONE)
		return 0;
	/* global scope, or no brand to scope it to: applies to all */
	const char *scope = policy_optout_global(p) ? NULL : brand;
	char body[128], why[STORE_STR_MAX + 1];
	size_t bl = len < sizeof(body) - 1 ? len : sizeof(body) - 1;
	for (size_t i = 0; i < bl; i++)
		body[i] = (unsigned char)text[i] < 0x20 ? ' ' : text[i];
	body[bl] = '\0';
	const char *rule = "keyword:help";
	const char *note = "";

	switch (out->kind) {
	case POLICY_MO_OPTOUT:
		rule = "keyword:opt_out";
		rc = opt_out_do(c, scope, from_number, now);
		out->newly_opted_out = rc == 1;
		out->send_reply = rc == 1;
		if (rc == 0)
			note = " (already opted out: no confirmation)";
		break;
	case POLICY_MO_OPTIN: {
		rule = "keyword:opt_in";
		char ev[300];
		snprintf(ev, sizeof(ev), "MO \"%s\" from %s to %s", body,
		    num_norm(from_number), num_norm(to_number));
		struct compliance_consent cs = { .brand = brand,
		    .number = from_number, .time = now,
		    .method = COMPLIANCE_KEYWORD, .who = num_norm(from_number),
		    .purpose = campaign, .evidence = ev };
		rc = opt_in_do(c, scope, from_number);
		if (rc >= 0 && brand)
			rc = compliance_consent_add(c, &cs);
		out->send_reply = 1;
		break;
	}
	case POLICY_MO_HELP:
		out->send_reply = 1;
		break;
	default:
		break;
	}
	out->reply = policy_mo_reply(p, brand, out->kind);
	if (out->reply == NULL)
		out->send_reply = 0;
	if (out->send_reply)
		allow_add(c, brand, from_number, now);
	snprintf(why, sizeof(why), "\"%s\" to %s%s%s%s", body,
	    num_norm(to_number), brand ? " (" : "", brand ? brand : "",
	    brand ? ")" : "");
	if (*note)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s",
		    note);
	compliance_audit(c, now, 0, NULL, campaign, num_norm(from_number),
	    rule, why);
	return rc < 0 ? rc : 0;
}
