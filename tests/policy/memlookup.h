/*
 * An in-memory struct policy_lookup for tests and the benchmark: what the
 * daemon reads from LMDB, held in one hash table keyed by (kind, brand or
 * campaign, number).  Not thread-safe; fill it, then check against it.
 */
#ifndef SMPPD_TESTS_POLICY_MEMLOOKUP_H
#define SMPPD_TESTS_POLICY_MEMLOOKUP_H

#include "policy/policy.h"

struct memlookup;

struct memlookup *memlookup_new(size_t expected);
void memlookup_free(struct memlookup *m);
/* Fills lk to read from m. */
void memlookup_bind(struct memlookup *m, struct policy_lookup *lk);

/* brand NULL = the global list */
void memlookup_optout(struct memlookup *m, const char *brand, const char *num);
void memlookup_consent(struct memlookup *m, const char *brand, const char *num);
void memlookup_line(struct memlookup *m, const char *num, enum policy_line lt);
void memlookup_contacted(struct memlookup *m, const char *brand,
    const char *num);
void memlookup_sent(struct memlookup *m, const char *brand, const char *num,
    int64_t when);
void memlookup_footer(struct memlookup *m, const char *campaign,
    const char *num, int64_t when);
void memlookup_pause(struct memlookup *m, const char *campaign);
/* Every lookup fails while on (store errors). */
void memlookup_fail(struct memlookup *m, int on);

#endif
