/*
 * mta/hook: asking external policy hooks, asynchronously, on the loop.
 *
 * policy/hook.c has the texts (the request, the response, the framing);
 * this module owns the sockets.  A call asks the hooks a verdict named,
 * one after the other: an accept moves on to the next hook, a reject or
 * a defer ends the chain.  A hook that does not answer within its
 * timeout_ms, cannot be reached, closes the connection or answers
 * something that is not the protocol counts as its on_timeout action
 * (and is logged with the reason).
 *
 * Connections.  Each hook address has a pool of up to `connections`
 * persistent connections (the hook's setting), opened when requests
 * wait and kept open for the next ones; one request is in flight per
 * connection at a time, as in Postfix's policy delegation, so a plain
 * sequential policy server is enough.  Requests beyond the pool wait in
 * the pool's FIFO (their timeout runs while they wait).  A connection
 * whose request timed out is closed, since its late answer would be
 * read as the next request's.  A request on a connection that had
 * already served others and closes before any answer is sent once more
 * on another (the server may have closed a link it thought idle).  After a failed connect the address is
 * "down" for a short, growing back-off: requests then get on_timeout at
 * once instead of each trying (and waiting) to connect.
 *
 * Threading: the event loop's thread only.
 *
 * Lifetimes.  The policy_hook structs passed to hooks_ask() point into
 * a policy: the caller holds a reference to that policy until `done`
 * has been called.  The request text is copied.
 */
#ifndef SMPPD_MTA_HOOK_H
#define SMPPD_MTA_HOOK_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

struct event_base;
struct hooks;

/* How the deciding hook's verdict came about. */
enum hook_outcome {
	HOOK_ANSWERED,      /* the hook answered */
	HOOK_TIMEOUT,       /* no answer within timeout_ms */
	HOOK_DOWN,          /* cannot connect (refused, no such socket) */
	HOOK_CLOSED,        /* the connection ended with the request on it */
	HOOK_GARBAGE,       /* the answer was not the protocol */
	HOOK_SHUTDOWN,      /* smppd is stopping: the caller should drop it */
};

const char *hook_outcome_name(enum hook_outcome o);

struct hook_result {
	enum policy_action action;        /* the chain's verdict */
	const struct policy_hook *hook;   /* the hook that ended the chain */
	enum hook_outcome outcome;
	char text[160];                   /* the hook's text, or why not */
};

/* Called once per call, never from inside hooks_ask(). */
typedef void (*hook_done_fn)(void *arg, const struct hook_result *res);

struct hooks *hooks_new(struct event_base *base);
/* Ends every call still waiting (done with HOOK_SHUTDOWN), closes the
 * connections, frees.  NULL is fine. */
void hooks_free(struct hooks *h);

/*
 * Asks list[0..n-1] in order about one message.  `token` (copied, for
 * the logs) is the token of the request text.  Returns 0, or -1 when
 * out of memory (done will not be called).
 */
int hooks_ask(struct hooks *h, const struct policy_hook *const *list,
    unsigned n, const char *token, const char *request, size_t len,
    hook_done_fn done, void *arg);

struct hooks_stats {
	uint64_t calls;             /* hooks_ask() calls */
	uint64_t requests;          /* requests written to hooks */
	uint64_t connects;          /* connections opened */
	uint64_t failures;          /* timeouts, refusals, closes, garbage */
	unsigned open;              /* connections open now */
};
void hooks_get_stats(const struct hooks *h, struct hooks_stats *out);

#endif
