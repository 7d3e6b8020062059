/* In-memory lookup: see memlookup.h. */
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "tests/policy/memlookup.h"

enum kind { K_OPTOUT = 1, K_CONSENT, K_LINE, K_CONTACT, K_FOOTER, K_PAUSE };

struct entry {
	uint64_t num;             /* digits as an integer; 0 = empty slot */
	uint32_t tag;             /* hash of brand/campaign, 0 for none */
	uint32_t kind;
	int64_t value;
};

struct send {
	uint64_t num;
	uint32_t tag;
	int64_t when;
};

struct memlookup {
	struct entry *slots;
	size_t mask, count;
	struct send *sends;
	size_t nsends, capsends;
	int fail;
};

static uint32_t tag_of(const char *s)
{
	return s ? (uint32_t)fnv1a_str(FNV1A_BASIS, s) | 1 : 0;
}

static uint64_t num_of(const char *s)
{
	uint64_t n = 0;
	for (s += *s == '+'; *s >= '0' && *s <= '9'; s++)
		n = n * 10 + (uint64_t)(*s - '0');
	return n;
}

static size_t slot_of(const struct memlookup *m, uint64_t num, uint32_t tag,
    uint32_t kind)
{
	/* splitmix64's finalizer: phone numbers are dense, so the low bits
	 * must depend on all of them */
	uint64_t h = num ^ ((uint64_t)tag << 32) ^ kind;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	size_t i = (size_t)(h ^ (h >> 31)) & m->mask;
	while (m->slots[i].num && !(m->slots[i].num == num
	    && m->slots[i].tag == tag && m->slots[i].kind == kind))
		i = (i + 1) & m->mask;
	return i;
}

static void grow(struct memlookup *m)
{
	struct entry *old = m->slots;
	size_t oldcap = old ? m->mask + 1 : 0;
	size_t cap = oldcap ? oldcap * 2 : 1024;
	m->slots = calloc(cap, sizeof(*m->slots));
	m->mask = cap - 1;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].num)
			m->slots[slot_of(m, old[i].num, old[i].tag, old[i].kind)] = old[i];
	free(old);
}

static void put(struct memlookup *m, uint32_t kind, const char *scope,
    const char *num, int64_t value)
{
	if ((m->count + 1) * 2 > m->mask + 1)
		grow(m);
	uint64_t n = num_of(num);
	uint32_t t = tag_of(scope);
	struct entry *e = &m->slots[slot_of(m, n, t, kind)];
	if (e->num == 0)
		m->count++;
	*e = (struct entry){ n, t, kind, value };
}

static const struct entry *get(const struct memlookup *m, uint32_t kind,
    const char *scope, const char *num)
{
	const struct entry *e = &m->slots[slot_of(m, num_of(num), tag_of(scope),
	    kind)];
	return e->num ? e : NULL;
}

struct memlookup *memlookup_new(size_t expected)
{
	struct memlookup *m = calloc(1, sizeof(*m));
	size_t cap = 1024;
	while (cap < expected * 2 + 2)
		cap *= 2;
	m->slots = calloc(cap, sizeof(*m->slots));
	m->mask = cap - 1;
	return m;
}

void memlookup_free(struct memlookup *m)
{
	if (m == NULL)
		return;
	free(m->slots);
	free(m->sends);
	free(m);
}

void memlookup_optout(struct memlookup *m, const char *brand, const char *num)
{
	put(m, K_OPTOUT, brand, num, 1);
}
void memlookup_consent(struct memlookup *m, const char *brand, const char *num)
{
	put(m, K_CONSENT, brand, num, 1);
}
void memlookup_line(struct memlookup *m, const char *num, enum policy_line lt)
{
	put(m, K_LINE, NULL, num, lt);
}
void memlookup_contacted(struct memlookup *m, const char *brand,
    const char *num)
{
	put(m, K_CONTACT, brand, num, 1);
}
void memlookup_footer(struct memlookup *m, const char *campaign,
    const char *num, int64_t when)
{
	put(m, K_FOOTER, campaign, num, when);
}
void memlookup_pause(struct memlookup *m, const char *campaign)
{
	/* keyed by a fixed number: a campaign is not per recipient */
	put(m, K_PAUSE, campaign, "1", 1);
}
void memlookup_fail(struct memlookup *m, int on)
{
	m->fail = on;
}

void memlookup_sent(struct memlookup *m, const char *brand, const char *num,
    int64_t when)
{
	if (m->nsends == m->capsends) {
		m->capsends = m->capsends ? m->capsends * 2 : 16;
		m->sends = realloc(m->sends, m->capsends * sizeof(*m->sends));
	}
	m->sends[m->nsends++] = (struct send){ num_of(num), tag_of(brand), when };
}

static int l_optout(void *arg, const char *brand, const char *num, int *yes)
{
	struct memlookup *m = arg;
	*yes = get(m, K_OPTOUT, brand, num) != NULL;
	return m->fail ? -1 : 0;
}
static int l_consent(void *arg, const char *brand, const char *campaign,
    const char *num, int *yes)
{
	struct memlookup *m = arg;
	*yes = get(m, K_CONSENT, brand, num) != NULL;
	return m->fail ? -1 : 0;
}
static int l_line(void *arg, const char *num, enum policy_line *lt)
{
	struct memlookup *m = arg;
	const struct entry *e = get(m, K_LINE, NULL, num);
	*lt = e ? (enum policy_line)e->value : POLICY_LINE_UNKNOWN;
	return m->fail ? -1 : 0;
}
static int l_contacted(void *arg, const char *brand, const char *num,
    int *yes)
{
	struct memlookup *m = arg;
	*yes = get(m, K_CONTACT, brand, num) != NULL;
	return m->fail ? -1 : 0;
}
static int l_footer(void *arg, const char *campaign, const char *num,
    int64_t *when)
{
	struct memlookup *m = arg;
	const struct entry *e = get(m, K_FOOTER, campaign, num);
	*when = e ? e->value : 0;
	return m->fail ? -1 : 0;
}
static int l_sent(void *arg, const char *brand, const char *num,
    int64_t since, uint32_t *count, int64_t *oldest)
{
	struct memlookup *m = arg;
	uint64_t n = num_of(num);
	uint32_t t = tag_of(brand);
	*count = 0;
	*oldest = 0;
	for (size_t i = 0; i < m->nsends; i++) {
		const struct send *s = &m->sends[i];
		if (s->num != n || s->tag != t || s->when < since)
			continue;
		if (*count == 0 || s->when < *oldest)
			*oldest = s->when;
		(*count)++;
	}
	return m->fail ? -1 : 0;
}
static int l_paused(void *arg, const char *campaign, int *yes)
{
	struct memlookup *m = arg;
	*yes = get(m, K_PAUSE, campaign, "1") != NULL;
	return m->fail ? -1 : 0;
}

void memlookup_bind(struct memlookup *m, struct policy_lookup *lk)
{
	*lk = (struct policy_lookup){
		.arg = m, .opted_out = l_optout, .consent = l_consent,
		.line_type = l_line, .contacted = l_contacted,
		.last_footer = l_footer, .sent_since = l_sent, .paused = l_paused,
	};
}
