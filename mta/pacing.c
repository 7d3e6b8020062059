/*
 * Pacing: lanes, brands and sending numbers with their limits.  See
 * pacing.h for the model and for why restarts are safe.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mta/fairq.h"
#include "mta/idmap.h"
#include "mta/log.h"
#include "mta/pacing.h"
#include "policy/policy.h"

#define COOKIE_MAGIC 0x70616365u  /* "pace" */
#define CAP_KEY_PREFIX "pace\0cap\0"
#define CAP_KEY_PREFIX_LEN 9
#define CAP_RECORD_LEN 17         /* [ver][day_start i64][reserved u64] */
#define RESERVE_WAIT_US 2000      /* a held message looks again after this */
#define NAME_PROBES 8

/* --- a name -> record table --------------------------------------------- */

/* Every record starts with its name. */
struct named {
	char *name;
};

struct registry {
	struct idmap map;           /* hash of the name -> index */
	struct named **recs;
	uint32_t n, cap;
};

/* The record called name, or NULL with *free_key set to a key to add it
 * under (0 when every probe is taken by another name). */
static struct named *registry_get(const struct registry *g, const char *name,
    uint64_t *free_key)
{
	*free_key = 0;
	for (uint64_t seed = 0; seed < NAME_PROBES; seed++) {
		uint64_t key = idmap_hash(name, seed);
		uint32_t idx;
		if (!idmap_get(&g->map, key, &idx)) {
			*free_key = key;
			return NULL;
		}
		if (strcmp(g->recs[idx]->name, name) == 0)
			return g->recs[idx];
	}
	return NULL;
}

/* Adds rec (its name already set) under key; its index, or -1. */
static int64_t registry_add(struct registry *g, struct named *rec, uint64_t key)
{
	if (key == 0)
		return -1;
	if (g->n == g->cap) {
		uint32_t cap = g->cap ? g->cap * 2 : 64;
		struct named **grown = realloc(g->recs, cap * sizeof *grown);
		if (!grown)
			return -1;
		g->recs = grown;
		g->cap = cap;
	}
	if (idmap_put(&g->map, key, g->n) != 0)
		return -1;
	g->recs[g->n] = rec;
	return g->n++;
}

static void registry_free(struct registry *g, void (*free_rec)(struct named *))
{
	for (uint32_t i = 0; i < g->n; i++)
		free_rec(g->recs[i]);
	free(g->recs);
	idmap_free(&g->map);
}

/* --- records ----------------------------------------------------------- */

/* A reservation being committed: the cookie of its store write. */
struct cap_request {
	uint32_t magic;
	struct pacing_brand *brand;
	int64_t day;                /* day_start it reserves in */
	uint64_t reserved;
	int inflight;
	uint8_t key[CAP_KEY_PREFIX_LEN + STORE_STR_MAX];
	size_t klen;
	uint8_t val[CAP_RECORD_LEN];
};

struct pacing_brand {
	char *name;
	struct thr_cap cap;         /* limit 0: none */
	int64_t day;                /* the day `reserved` is for */
	uint64_t reserved;          /* committed: may be sent today */
	struct cap_request req;
	struct pacing *owner;
};

struct pacing_number {
	char *name;
	const struct policy *limits_of;
	double mps;                 /* 0: no limit */
	struct thr_gcra rate;
};

struct pacing {
	struct store *store;
	int64_t start_us;
	struct fairq *q;
	struct registry lanes, brands, numbers;
};

static void lane_free(struct named *n)
{
	free(n->name);
	free(n);
}

static void plain_free(struct named *n)
{
	free(n->name);
	free(n);
}

/* --- life cycle --------------------------------------------------------- */

struct pacing *pacing_new(struct store *st, int64_t start_us)
{
	struct pacing *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->store = st;
	p->start_us = start_us;
	p->q = fairq_new(256, PACING_QUANTUM);
	if (!p->q) {
		free(p);
		return NULL;
	}
	idmap_init(&p->lanes.map);
	idmap_init(&p->brands.map);
	idmap_init(&p->numbers.map);
	return p;
}

void pacing_free(struct pacing *p)
{
	if (!p)
		return;
	registry_free(&p->lanes, lane_free);
	registry_free(&p->brands, plain_free);
	registry_free(&p->numbers, plain_free);
	fairq_free(p->q);
	free(p);
}

struct fairq *pacing_fairq(struct pacing *p)
{
	return p->q;
}

/*
 * A rate limiter as this process finds it: as though the last one spent
 * its whole burst at our start (pacing.h says why that is safe).
 */
static void rate_start(const struct pacing *p, struct thr_gcra *g)
{
	int64_t spent = p->start_us + (int64_t)g->burst * g->interval;
	if (g->interval > 0 && thr_gcra_state(g) < spent)
		thr_gcra_restore(g, spent);
}

/* --- lanes -------------------------------------------------------------- */

struct pacing_lane *pacing_lane(struct pacing *p, const char *name, int create)
{
	uint64_t key;
	struct pacing_lane *l = (struct pacing_lane *)registry_get(&p->lanes, name, &key);
	if (l || !create)
		return l;
	l = calloc(1, sizeof *l);
	if (!l || !(l->name = strdup(name))) {
		free(l);
		return NULL;
	}
	l->due_ms = -1;
	/* fairq first: a lane in the table always has its fairq lane */
	if (key == 0 || fairq_lane_set(p->q, p->lanes.n, POLICY_PRIORITY_DEFAULT, 1) != 0 ||
	    registry_add(&p->lanes, (struct named *)l, key) < 0) {
		lane_free((struct named *)l);
		return NULL;
	}
	l->id = p->lanes.n - 1;
	return l;
}

struct pacing_lane *pacing_lane_at(struct pacing *p, uint32_t id)
{
	return id < p->lanes.n ? (struct pacing_lane *)p->lanes.recs[id] : NULL;
}

uint32_t pacing_lane_count(const struct pacing *p)
{
	return p->lanes.n;
}

/* --- brands and their persisted daily counts ---------------------------- */

static size_t cap_key(const char *brand, uint8_t *key)
{
	size_t n = strlen(brand);
	if (n > STORE_STR_MAX - CAP_KEY_PREFIX_LEN)
		n = STORE_STR_MAX - CAP_KEY_PREFIX_LEN;
	memcpy(key, CAP_KEY_PREFIX, CAP_KEY_PREFIX_LEN);
	memcpy(key + CAP_KEY_PREFIX_LEN, brand, n);
	return CAP_KEY_PREFIX_LEN + n;
}

static void put_le64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

/* The count reserved before a restart: that many are taken as sent. */
static void brand_load(struct pacing *p, struct pacing_brand *b)
{
	uint8_t key[CAP_KEY_PREFIX_LEN + STORE_STR_MAX], val[CAP_RECORD_LEN];
	size_t vlen = 0;
	int rc = store_kv_get(p->store, key, cap_key(b->name, key), val, sizeof val, &vlen);
	if (rc == -ENOENT)
		return;
	if (rc < 0 || vlen != CAP_RECORD_LEN || val[0] != 1) {
		log_error("pacing", "event=cap_record_unreadable brand=\"%s\" error=\"%s\"", b->name,
		    rc < 0 ? store_strerror(rc) : "bad record");
		return;
	}
	struct thr_cap_state s = { (int64_t)get_le64(val + 1), get_le64(val + 9) };
	thr_cap_import(&b->cap, &s);
	b->day = s.window_start;
	b->reserved = s.used;
	log_info("pacing", "event=cap_restored brand=\"%s\" used=%llu", b->name,
	    (unsigned long long)s.used);
}

static struct pacing_brand *brand_get(struct pacing *p, const char *name)
{
	uint64_t key;
	struct pacing_brand *b = (struct pacing_brand *)registry_get(&p->brands, name, &key);
	if (b)
		return b;
	b = calloc(1, sizeof *b);
	if (!b || !(b->name = strdup(name))) {
		free(b);
		return NULL;
	}
	b->owner = p;
	b->req.magic = COOKIE_MAGIC;
	b->req.brand = b;
	b->day = INT64_MIN;
	thr_cap_init(&b->cap, 0, THR_ZONE_PACIFIC, 0);
	if (registry_add(&p->brands, (struct named *)b, key) < 0) {
		plain_free((struct named *)b);
		return NULL;
	}
	brand_load(p, b);
	return b;
}

/* Segments reserved per store write: ~1.5% of the cap. */
static uint64_t reserve_block(const struct pacing_brand *b)
{
	uint64_t block = b->cap.limit / 64;
	return block ? block : 1;
}

static void reserve(struct pacing *p, struct pacing_brand *b, int64_t day, uint64_t upto)
{
	struct cap_request *q = &b->req;
	if (q->inflight)
		return;
	q->day = day;
	q->reserved = upto < b->cap.limit ? upto : b->cap.limit;
	q->klen = cap_key(b->name, q->key);
	q->val[0] = 1;
	put_le64(q->val + 1, (uint64_t)day);
	put_le64(q->val + 9, q->reserved);
	struct store_op op = { .kind = STORE_OP_KV_PUT, .cookie = q };
	op.u.kv.key = q->key;
	op.u.kv.klen = q->klen;
	op.u.kv.val = q->val;
	op.u.kv.vlen = sizeof q->val;
	int rc = store_submit(p->store, &op, 1);
	if (rc != 0) {
		log_error("pacing", "event=cap_reserve_failed brand=\"%s\" error=\"%s\"", b->name,
		    store_strerror(rc));
		return;
	}
	q->inflight = 1;
}

/*
 * 1 when segs more are covered by a committed reservation; else asks for
 * one (if none is on its way) and returns 0.  Reserves ahead by half a
 * block, so a steady flow never waits for the disk.
 */
static int brand_covered(struct pacing *p, struct pacing_brand *b, uint32_t segs, int64_t now)
{
	int64_t day = thr_cap_day_start(&b->cap, now);
	if (day != b->day) {
		b->day = day;
		b->reserved = 0;
	}
	uint64_t need = thr_cap_used(&b->cap, now) + segs;
	uint64_t block = reserve_block(b);
	if (need + block / 2 > b->reserved && b->reserved < b->cap.limit)
		reserve(p, b, day, need + block);
	return need <= b->reserved;
}

int pacing_owns_cookie(const void *cookie)
{
	return cookie && *(const uint32_t *)cookie == COOKIE_MAGIC;
}

void pacing_completion(struct pacing *p, const struct store_completion *sc)
{
	struct cap_request *q = sc->cookie;
	struct pacing_brand *b = q->brand;
	(void)p;
	q->inflight = 0;
	if (sc->rc != 0) {
		log_error("pacing", "event=cap_reserve_failed brand=\"%s\" error=\"%s\"", b->name,
		    store_strerror(sc->rc));
		return;
	}
	if (q->day == b->day && q->reserved > b->reserved)
		b->reserved = q->reserved;
}

int pacing_brand_usage(struct pacing *p, const char *name, int64_t now, uint64_t *used,
    uint64_t *reserved)
{
	uint64_t key;
	struct pacing_brand *b = (struct pacing_brand *)registry_get(&p->brands, name, &key);
	if (!b)
		return -1;
	*used = thr_cap_used(&b->cap, now);
	*reserved = b->day == thr_cap_day_start(&b->cap, now) ? b->reserved : 0;
	return 0;
}

/* --- limits of a lane --------------------------------------------------- */

void pacing_lane_refresh(struct pacing *p, struct pacing_lane *l, const struct policy *pol,
    int64_t now)
{
	if (l->configured && l->limits_of == pol)
		return;
	struct policy_limits lim;
	policy_campaign_limits(pol, l->name, &lim);
	if (lim.per_minute != l->per_minute) {
		if (l->per_minute == 0)
			thr_gcra_init(&l->tpm);
		if (lim.per_minute) {
			/* a tenth of a minute's worth at once at most, one below 600 TPM */
			uint32_t burst = lim.per_minute >= 600 ? lim.per_minute / 600 : 1;
			thr_gcra_set_limit(&l->tpm, lim.per_minute, 60 * 1000000LL, burst, now);
			if (l->per_minute == 0)
				rate_start(p, &l->tpm);
		}
		l->per_minute = lim.per_minute;
	}
	l->brand = NULL;
	if (lim.brand && lim.daily_cap) {
		l->brand = brand_get(p, lim.brand);
		if (l->brand) {
			if (l->brand->cap.reset_min != lim.cap_reset_min) {
				struct thr_cap_state s;
				thr_cap_export(&l->brand->cap, &s);
				thr_cap_init(&l->brand->cap, lim.daily_cap, THR_ZONE_PACIFIC,
				    lim.cap_reset_min);
				thr_cap_import(&l->brand->cap, &s);
			}
			thr_cap_set_limit(&l->brand->cap, lim.daily_cap);
		}
	}
	fairq_lane_set(p->q, l->id, lim.priority, lim.weight);
	l->limits_of = pol;
	l->configured = 1;
}

unsigned pacing_lane_room(struct pacing *p, struct pacing_lane *l, unsigned want, int64_t now,
    int64_t *retry_at)
{
	(void)p;
	unsigned n = want;
	*retry_at = now;
	if (l->per_minute) {
		struct thr_gcra probe = l->tpm;
		unsigned k = 0;
		while (k < n && thr_gcra_try_take(&probe, 1, now))
			k++;
		n = k;
		if (n == 0) {
			*retry_at = thr_gcra_next_allowed(&l->tpm, 1, now);
			l->held_by = PACING_LIMIT_RATE;
		}
	}
	if (n && l->brand && l->brand->cap.limit) {
		uint64_t used = thr_cap_used(&l->brand->cap, now);
		uint64_t left = used < l->brand->cap.limit ? l->brand->cap.limit - used : 0;
		if (left < n)
			n = (unsigned)left;
		if (n == 0) {
			*retry_at = thr_cap_next_reset(&l->brand->cap, now);
			l->held_by = PACING_LIMIT_BRAND;
		}
	}
	return n;
}

/* --- sending numbers ---------------------------------------------------- */

static struct pacing_number *number_get(struct pacing *p, const struct policy *pol,
    const char *source, int64_t now)
{
	uint64_t key;
	if (source[0] == '+')
		source++; /* one limiter per number, however it is written */
	struct pacing_number *n = (struct pacing_number *)registry_get(&p->numbers, source, &key);
	if (!n) {
		if (policy_number_mps(pol, source) <= 0)
			return NULL; /* not registered: no entry, no limit */
		n = calloc(1, sizeof *n);
		if (!n || !(n->name = strdup(source))) {
			free(n);
			return NULL;
		}
		thr_gcra_init(&n->rate);
		if (registry_add(&p->numbers, (struct named *)n, key) < 0) {
			plain_free((struct named *)n);
			return NULL;
		}
	}
	if (n->limits_of != pol || n->mps == 0) {
		double mps = policy_number_mps(pol, source);
		if (mps != n->mps && mps > 0) {
			int fresh = n->mps == 0;
			thr_gcra_set_rate(&n->rate, mps, mps >= 10 ? (uint32_t)(mps / 10) : 1, now);
			if (fresh)
				rate_start(p, &n->rate);
		}
		n->mps = mps;
		n->limits_of = pol;
	}
	return n->mps > 0 ? n : NULL;
}

/* Which of the limits taken together says wait until at: the first whose
 * own next time is that late. */
static enum pacing_limit limit_at(const struct pacing_lane *l, const struct pacing_brand *b,
    const struct pacing_number *n, uint32_t segs, int64_t now, int64_t at)
{
	if (l->per_minute && thr_gcra_next_allowed(&l->tpm, segs, now) >= at)
		return PACING_LIMIT_RATE;
	if (b && thr_cap_next_allowed(&b->cap, segs, now) >= at)
		return PACING_LIMIT_BRAND;
	if (n && thr_gcra_next_allowed(&n->rate, segs, now) >= at)
		return PACING_LIMIT_NUMBER;
	return PACING_LIMIT_NONE;
}

int pacing_take(struct pacing *p, struct pacing_lane *l, const struct policy *pol,
    const char *source, uint32_t segs, int64_t now, int64_t *retry_at)
{
	struct thr_set set;
	thr_set_clear(&set);
	if (l->per_minute)
		thr_set_add_gcra(&set, &l->tpm);
	struct pacing_brand *b = l->brand && l->brand->cap.limit ? l->brand : NULL;
	if (b)
		thr_set_add_cap(&set, &b->cap);
	struct pacing_number *n = pol ? number_get(p, pol, source, now) : NULL;
	if (n)
		thr_set_add_gcra(&set, &n->rate);
	if (set.n == 0)
		return 0;
	int64_t at = thr_set_next_allowed(&set, segs, now);
	if (at > now) {
		*retry_at = at;
		l->held_by = limit_at(l, b, n, segs, now, at);
		return 1;
	}
	if (b && !brand_covered(p, b, segs, now)) {
		*retry_at = now + RESERVE_WAIT_US;
		l->held_by = PACING_LIMIT_NONE;
		return 1;
	}
	if (!thr_set_try_take(&set, segs, now, retry_at)) {
		l->held_by = limit_at(l, b, n, segs, now, *retry_at);
		return 1;
	}
	return 0;
}

/* --- staging ------------------------------------------------------------ */

int pacing_stage(struct pacing_lane *l, uint64_t id)
{
	if (l->staged_n == PACING_STAGE_MAX)
		return -1;
	l->staged[(l->staged_head + l->staged_n) % PACING_STAGE_MAX] = id;
	l->staged_n++;
	return 0;
}

uint64_t pacing_staged_peek(const struct pacing_lane *l)
{
	return l->staged_n ? l->staged[l->staged_head] : 0;
}

void pacing_staged_pop(struct pacing_lane *l)
{
	if (l->staged_n == 0)
		return;
	l->staged_head = (l->staged_head + 1) % PACING_STAGE_MAX;
	l->staged_n--;
}
