/*
 * The failed-bind limiter: a brute-force defence per source address.
 *
 * Every refused bind (unknown system_id, wrong password, address or TLS
 * requirements not met) counts against the address it came from.  Once an
 * address has FAILURES failures within WINDOW, it is blocked for BLOCK:
 * its binds are refused without looking at the password, so guessing stops
 * paying.  IPv6 addresses count per /64, which is what one host usually
 * gets; IPv4 per address.
 *
 * Memory is fixed at guard_new(): a table of `slots` entries in sets of
 * eight.  A new address takes a free or expired entry of its set, or else
 * the one least recently seen, so a flood of addresses evicts old entries
 * but cannot grow the table.  A blocked entry is evicted last.
 *
 * Pure: no clock (times are passed in, milliseconds, any monotonic
 * origin), no I/O, no libevent.
 */
#ifndef SMPPD_MTA_GUARD_H
#define SMPPD_MTA_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct guard;

struct guard_config {
	unsigned failures;      /* 0: never block */
	uint64_t window_ms;
	uint64_t block_ms;
	size_t slots;           /* rounded up to a power of two, >= 8 */
};

/* NULL on allocation failure.  guard_free(NULL) is a no-op. */
struct guard *guard_new(const struct guard_config *cfg);
void guard_free(struct guard *g);

/* 1 if binds from SA are refused now (until *until_ms when not NULL). */
int guard_blocked(struct guard *g, const struct sockaddr *sa, uint64_t now_ms,
    uint64_t *until_ms);

/*
 * Count a failed bind from SA.  Returns the address's failures in the
 * current window; GUARD_BLOCKED_NOW is or-ed in when this one started a
 * block (log it once, not for every later attempt).
 */
#define GUARD_BLOCKED_NOW 0x40000000u
unsigned guard_failure(struct guard *g, const struct sockaddr *sa, uint64_t now_ms);

/* Entries in use (for tests and the admin interface). */
size_t guard_used(const struct guard *g, uint64_t now_ms);

#endif
