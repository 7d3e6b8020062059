/*
 * What the tests over a real temporary store share: the directory and
 * waiting for the writer.  Test-only.
 */
#ifndef SMPPD_TESTS_MTA_STORE_FIXTURE_H
#define SMPPD_TESTS_MTA_STORE_FIXTURE_H

#include <stddef.h>

#include "store/store.h"

/* Makes a fresh directory "$TMPDIR/<prefix>-XXXXXX" into dir; exits on
 * failure (nothing can be tested without it). */
void fixture_dir_make(char *dir, size_t cap, const char *prefix);

/* Removes the store's files in dir (keep: 0 also removes dir). */
void fixture_dir_clear(const char *dir, int keep);

/*
 * Waits until every operation submitted before the call has completed,
 * handing every other completion to route(c, arg).  0, or -1 when the
 * store does not answer within 10 s.
 */
int fixture_sync(struct store *st, store_completion_cb *route, void *arg);

#endif
