/*
 * mta/compliance: the store-backed state the policy reads (opt-outs,
 * consent, line types, first contact, footers, send history, pauses) and
 * the events that change it.  No event loop: the daemon calls in from its
 * loop thread and routes store completions back.
 *
 * Threading: one thread (the event loop).  Nothing here locks.
 *
 * Reads.  compliance_lookup() gives a struct policy_lookup for
 * policy_check().  Every lookup consults, in order:
 *   1. the overlay: values this module submitted to the store whose
 *      completion has not yet come back.  An opt-out is therefore seen by
 *      the very next check, before the writer commits;
 *   2. a direct-mapped read cache of small store values (this module is
 *      the only writer of its keys while the daemon runs, and every write
 *      updates the slot, so the cache is never stale);
 *   3. store_kv_get() (a read-only LMDB transaction).
 * Writes go to the overlay at once and to the store via store_submit()
 * with cookies owned by this module; compliance_completion() retires
 * overlay entries when the last write of their key is on disk.  A write
 * that fails stays in the overlay (in force in memory) and is counted in
 * compliance_stats.write_errors.
 *
 * Key layout in the store's kv space (numbers as E.164 digits without
 * '+'; parts separated by one NUL byte; values start with a version byte,
 * currently 1; integers little-endian; times in UTC seconds):
 *
 *   n\0NUMBER             number record: [ver][line u8][flags u8: bit0
 *                         global opt-out][global opt-out time i64]
 *                         [nbrands u8] then per brand opted out of:
 *                         [time i64][len u8][name].  One read answers
 *                         both opted_out() and line_type().  If the brand
 *                         list would not fit (> 2 KiB) the global flag is
 *                         set instead (the safe direction).
 *   s\0BRAND\0NUMBER      send history: [ver][n u8][n x time i64], the
 *                         last COMPLIANCE_SEND_RING sends, oldest first.
 *                         Its presence is "contacted" (first-contact
 *                         prefix).
 *   f\0CAMPAIGN\0NUMBER   last opt-out footer: [ver][time i64]
 *   c\0BRAND\0NUMBER      consent for the whole brand   } [ver][method u8]
 *   C\0CAMPAIGN\0NUMBER   consent for one campaign      } [time i64]
 *                         [brand][campaign][who][purpose][evidence], each
 *                         string [len u16][bytes] (bounded, see below)
 *   p\0CAMPAIGN           pause: [ver][paused u8][time i64]
 *
 * Opt-out scope.  opted_out(brand, n) is true if n opted out of that
 * brand or globally; opted_out(NULL, n) (policy scope "global") is true
 * if n opted out of anything.  compliance_handle_mo() records a STOP for
 * the brand under scope "brand" and globally under scope "global"; a
 * START clears the brand (scope "brand") or everything (scope "global").
 */
#ifndef SMPPD_MTA_COMPLIANCE_H
#define SMPPD_MTA_COMPLIANCE_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"
#include "store/store.h"

struct compliance;

#define COMPLIANCE_SEND_RING 16          /* sends kept per (brand, number) */
#define COMPLIANCE_CONFIRM_WINDOW 300    /* seconds a keyword reply may go */

struct compliance_config {
	/* Read-cache slots (power of two; 0: 65536; 1: no cache). */
	size_t cache_slots;
	/* Bits of the opt-outs-since bitmap (power of two, at least 64;
	 * 0: 2^20) */
	size_t recent_bits;
};

/* cfg may be NULL.  Returns NULL on allocation failure. */
struct compliance *compliance_new(struct store *st,
    const struct compliance_config *cfg);
/* Frees memory; the store keeps what was submitted.  Call after the
 * completions of its cookies are drained (or the store is closed). */
void compliance_free(struct compliance *c);

const struct policy_lookup *compliance_lookup(struct compliance *c);

/* Starts loading what the opt-out check of number will read (its read
 * cache slot), so that the memory fetch overlaps the work before it. */
void compliance_prefetch(const struct compliance *c, const char *number);

/*
 * Whether the recipient of a message stored as `id` may have opted out
 * since the message's own checks: 0 certainly not, 1 maybe (then ask
 * compliance_blocked).  It is 0 only for a message whose id was taken in
 * the same loop turn as its checks, after the last
 * compliance_policy_changed(), and whose number no opt-out since has
 * touched (a bitmap of hashed numbers; cleared, with a new start, when half
 * full).  Saves the store read of the send-time check for nearly every
 * message.
 */
int compliance_optout_since(const struct compliance *c, uint64_t id,
    const char *number);
/* A policy was loaded: checks made before now do not count (the opt-out
 * scope may have changed).  Until the first call, compliance_optout_since
 * answers 1. */
void compliance_policy_changed(struct compliance *c);

/* ---- store completions ---- */

/* 1 if the cookie of a completion is one of this module's. */
int compliance_owns_cookie(const struct compliance *c, const void *cookie);
/* Takes a completion whose cookie compliance_owns_cookie() accepted. */
void compliance_completion(struct compliance *c,
    const struct store_completion *sc);

/* ---- events (each submits its store operations at once) ----
 * Return 0 (or as said) on success, a negative store error otherwise; on
 * a store error the change is still in force in memory. */

/* After a message was accepted, what its verdict's `record` names
 * (POLICY_RECORD_*): the send in the brand's history of the number (SEND),
 * that the brand has contacted the number (CONTACT: an empty history if
 * there is none), the campaign's footer time (FOOTER).  0 does nothing. */
int compliance_record_send(struct compliance *c, const char *brand,
    const char *campaign, const char *number, int64_t now, unsigned what);

/* brand NULL: global.  source_text (the MO text, "admin", ...) goes to
 * the audit log.  Returns 1 if newly opted out, 0 if already was.  If the
 * number's record cannot be read, the number is opted out globally
 * (rewriting it blind could drop another brand's opt-out). */
int compliance_opt_out(struct compliance *c, const char *brand,
    const char *number, int64_t now, const char *source_text);

enum compliance_method { COMPLIANCE_WEB_FORM, COMPLIANCE_KEYWORD,
	COMPLIANCE_PAPER, COMPLIANCE_API };
const char *compliance_method_name(enum compliance_method m);

/* Limits on the stored strings (longer ones are cut). */
#define COMPLIANCE_WHO_MAX 128
#define COMPLIANCE_PURPOSE_MAX 128
#define COMPLIANCE_EVIDENCE_MAX 1024

struct compliance_consent {
	const char *brand;          /* required */
	const char *campaign;       /* NULL: the whole brand */
	const char *number;         /* required */
	int64_t time;               /* when consent was given */
	enum compliance_method method;
	const char *who;            /* person / system that collected it */
	const char *purpose;        /* what for */
	const char *evidence;       /* form id, keyword text, scan ref... */
};

/* brand NULL clears every opt-out of the number.  consent (may be NULL)
 * is then added.  Returns 1 if an opt-out was cleared, else 0. */
int compliance_opt_in(struct compliance *c, const char *brand,
    const char *number, int64_t now, const struct compliance_consent *consent);
int compliance_consent_add(struct compliance *c,
    const struct compliance_consent *r);
/* Uses brand, campaign, number (and who/evidence for the audit). */
int compliance_consent_revoke(struct compliance *c,
    const struct compliance_consent *r, int64_t now);
/* Reads the consent of (brand, campaign or NULL, number): 1 found (strings
 * point into buf), 0 none, <0 error. */
int compliance_consent_get(struct compliance *c, const char *brand,
    const char *campaign, const char *number,
    struct compliance_consent *out, void *buf, size_t bufsz);

/* ---- listing (an operator's view, straight from the store: writes of
 * this instance not yet committed are not seen) ---- */

/* Each opt-out: brand NULL for a global one; time in UTC seconds.
 * Numbers in key order, from the one after `after` (NULL: the first);
 * stops when cb returns != 0. */
typedef int compliance_optout_cb(const char *number, const char *brand,
    int64_t time, void *arg);
int compliance_optouts_scan(struct compliance *c, const char *after,
    compliance_optout_cb *cb, void *arg);
/* Each consent record (brand-wide first, then per campaign), from the
 * one after the cursor `after` (NULL: the first); cb gets each record's
 * cursor (hex, for paging).  -EINVAL for a cursor that is not one. */
typedef int compliance_consent_cb(const struct compliance_consent *r,
    const char *cursor, void *arg);
int compliance_consents_scan(struct compliance *c, const char *after,
    compliance_consent_cb *cb, void *arg);

int compliance_set_line_type(struct compliance *c, const char *number,
    enum policy_line type);

/* In memory at once (policy checks give 0x402) and persisted; audited
 * (rule "pause" or "resume") with why as the reason (NULL: a default). */
int compliance_pause(struct compliance *c, const char *campaign, int yes,
    int64_t now);
int compliance_pause_why(struct compliance *c, const char *campaign,
    int yes, int64_t now, const char *why);
/* 1 paused, 0 not, <0 store error (the dispatcher then holds the
 * message: the safe side). */
int compliance_paused(struct compliance *c, const char *campaign);
/* The pause record as stored (not the memory): 1 found (paused and the
 * time it was set), 0 none, <0 store error. */
int compliance_pause_get(struct compliance *c, const char *campaign,
    int *paused, int64_t *since);

/*
 * Pause records may also be written by another process (smppd --pause /
 * --resume beside the running daemon).  This re-reads the record of every
 * campaign whose state is held in memory (a campaign not yet looked at is
 * read on its first lookup anyway), except where a write of ours is not
 * yet on disk, and calls cb for each that changed.  Returns the number
 * changed, or the last store error (the others are still refreshed).
 */
typedef void compliance_pause_cb(const char *campaign, int paused,
    void *arg);
int compliance_pause_refresh(struct compliance *c, compliance_pause_cb *cb,
    void *arg);

/* One STORE_OP_AUDIT entry. time in UTC seconds. */
int compliance_audit(struct compliance *c, int64_t now, uint64_t msg_id,
    const char *account, const char *campaign, const char *recipient,
    const char *rule, const char *reason);
/* Audits a verdict unless it is a plain accept (reject, defer, or a
 * rewrite: rule "modified:prefix", "modified:footer"). Returns 1 if
 * written, 0 if nothing to write. */
int compliance_audit_verdict(struct compliance *c, int64_t now,
    uint64_t msg_id, const struct policy_msg *m,
    const struct policy_verdict *v);

/* ---- mobile-originated messages ---- */

struct compliance_mo_result {
	enum policy_mo kind;
	const char *brand;          /* owner of to_number (policy-owned), */
	const char *campaign;       /*   NULL if no campaign owns it */
	const char *reply;          /* text for the handset, or NULL */
	int send_reply;             /* 1: send reply from to_number to
	                             * from_number (allowed once through
	                             * compliance_reply_allowed) */
	int newly_opted_out;        /* for the opt-out rate monitors */
};

/*
 * For every MO from a carrier.  Classifies the text, applies opt-out /
 * opt-in (with consent: method keyword) / help, audits the keyword event
 * (rule "keyword:opt_out" etc., reason the text) and fills out.  An
 * opt-out of a number already opted out gets no second confirmation.  A
 * keyword to a number no campaign owns is applied globally.  Returns 0,
 * or a negative store error (the change is still in force in memory).
 */
int compliance_handle_mo(struct compliance *c, const struct policy *p,
    const char *from_number, const char *to_number, const char *text,
    size_t len, int64_t now, struct compliance_mo_result *out);

/* The daemon sending the reply handle_mo asked for: 1 exactly once per
 * reply within COMPLIANCE_CONFIRM_WINDOW seconds, else 0.  The message so
 * allowed skips the opt-out checks. */
int compliance_reply_allowed(struct compliance *c, const char *brand,
    const char *number, int64_t now);

/* For the dispatcher right before it sends a queued message: 1 if the
 * number opted out (of brand, or of anything under a global-scope
 * policy; p may be NULL: brand scope), 0 if not, <0 on a store error
 * (then do not send yet). */
int compliance_blocked(struct compliance *c, const struct policy *p,
    const char *brand, const char *number);

struct compliance_stats {
	uint64_t overlay_entries;   /* keys with writes not yet committed */
	uint64_t store_reads, cache_hits, overlay_hits;
	uint64_t write_errors;
};
void compliance_get_stats(const struct compliance *c,
    struct compliance_stats *out);

#endif
