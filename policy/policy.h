/*
 * policy/: the compliance engine every message passes before it may leave.
 *
 * Pure: no event loop, no clock, no I/O after loading.  The caller passes
 * the time in, and the state the rules need (opt-outs, consent, line types,
 * recent sends) through a struct policy_lookup that the daemon backs with
 * the store and the tests with memory.
 *
 * Ownership and lifetime
 *  - policy_load() returns a struct policy with one reference.  It is never
 *    modified afterwards, so any number of threads may check against it.
 *    On SIGHUP the daemon loads a new one and swaps its pointer; checks in
 *    flight hold a reference (policy_ref) and release it (policy_unref);
 *    the last unref frees it.
 *  - Every `const char *` the policy hands out (verdict rule, campaign,
 *    brand, replies, hook names) points into the policy and lives as long
 *    as the reference the caller holds.
 *  - Nothing is allocated per check: the verdict is the caller's, and a
 *    rewritten text goes into the caller's buffer (v->text_buf).
 *
 * Errors: functions return 0 on success and -1 on error, with a message
 * in the caller's buffer where one is taken ("file:line: what").
 *
 * The check pipeline, in this fixed order (the first failing rule wins):
 *   1. registration   source belongs to an approved campaign       0x0A / 0x402
 *   2. opt-out        recipient opted out (brand or global scope)  0x400
 *   3. consent        campaigns that require it                    0x401
 *   4. number         destination is a NANP number                 0x0B
 *   5. line type      not a landline / not SMS-capable (lookup)    0x406
 *   6. content        lexicons, URL shorteners, regexes            0x403
 *   7. sender id      brand prefix on the first message (rewrite)
 *   8. opt-out footer marketing always, others at an interval (rewrite)
 *   9. segments       counted on the rewritten text                0x404
 *  10. frequency cap  per recipient state, reject or defer         0x405
 *  11. quiet hours    defer until the window opens in every zone
 *  12. hooks          the verdict names the hooks to consult; the daemon
 *                     does the I/O (policy_hook_request_format / _parse)
 * Content regexes run last within step 6, after the cheaper lexicon and
 * URL checks.
 */
#ifndef SMPPD_POLICY_POLICY_H
#define SMPPD_POLICY_POLICY_H

#include <stddef.h>
#include <stdint.h>

struct policy;

/* SMPP statuses of the policy verdicts (shared/DESIGN.md). */
#define POLICY_ST_OK           0x00000000u
#define POLICY_ST_INVSRCADR    0x0000000Au
#define POLICY_ST_INVDSTADR    0x0000000Bu
#define POLICY_ST_OPTED_OUT    0x00000400u
#define POLICY_ST_NO_CONSENT   0x00000401u
#define POLICY_ST_CAMPAIGN     0x00000402u
#define POLICY_ST_CONTENT      0x00000403u
#define POLICY_ST_SEGMENTS     0x00000404u
#define POLICY_ST_FREQUENCY    0x00000405u
#define POLICY_ST_LINE_TYPE    0x00000406u
#define POLICY_ST_HOOK         0x00000407u

enum policy_action { POLICY_ACCEPT, POLICY_REJECT, POLICY_DEFER };

/* ---- loading ---------------------------------------------------------- */

/*
 * Loads and validates a policy file.  Relative table paths in it
 * (number_tables) are resolved against the file's directory.  On error
 * returns -1, *out untouched, and "path:line: message" in err.
 */
int policy_load(const char *path, struct policy **out, char *err,
    size_t errcap);
struct policy *policy_ref(struct policy *p);     /* returns p */
void policy_unref(struct policy *p);             /* NULL is fine */

/* ---- state the checks read ------------------------------------------ */

enum policy_line { POLICY_LINE_UNKNOWN, POLICY_LINE_MOBILE,
	POLICY_LINE_VOIP, POLICY_LINE_LANDLINE, POLICY_LINE_INVALID };

/*
 * Numbers are E.164 digits without '+' ("12025550123").  `brand` is NULL
 * for the global scope.  Each function returns 0 or -1 (store error: the
 * check then defers the message for a minute rather than guess).
 */
struct policy_lookup {
	void *arg;
	int (*opted_out)(void *arg, const char *brand, const char *number,
	    int *yes);
	int (*consent)(void *arg, const char *brand, const char *campaign,
	    const char *number, int *yes);
	int (*line_type)(void *arg, const char *number, enum policy_line *lt);
	/* Has this brand sent anything to this number before? */
	int (*contacted)(void *arg, const char *brand, const char *number,
	    int *yes);
	/* Time of the last message from the campaign to the number that
	 * carried the opt-out footer; 0 if none. */
	int (*last_footer)(void *arg, const char *campaign, const char *number,
	    int64_t *when);
	/* Messages from the brand to the number at or after `since`, and the
	 * time of the oldest of them (to compute when a cap frees up). */
	int (*sent_since)(void *arg, const char *brand, const char *number,
	    int64_t since, uint32_t *count, int64_t *oldest);
	/* A monitor paused the campaign (state kept by the daemon). */
	int (*paused)(void *arg, const char *campaign, int *yes);
};

/* ---- checking ---------------------------------------------------------- */

struct policy_msg {
	const char *account;      /* upstream system_id, may be NULL */
	const char *source;       /* source_addr as submitted */
	const char *destination;  /* "+1NXXNXXXXXX" or "1NXXNXXXXXX" */
	const char *text;         /* UTF-8, not necessarily NUL-terminated */
	size_t text_len;
};

#define POLICY_MAX_HOOKS 8       /* in a policy, and so per verdict */

struct policy_hook {
	const char *name;
	const char *address;      /* "unix:/path" or "tcp:host:port" */
	int timeout_ms;           /* per request, queueing included */
	enum policy_action on_timeout; /* also on refused, closed, garbage */
	unsigned connections;     /* persistent connections kept (1..64) */
	int64_t defer_ms;         /* how long action=defer holds a message */
};

/* Rewrites the verdict reports in v->modified. */
#define POLICY_MOD_PREFIX 0x1u   /* brand sender prefix prepended */
#define POLICY_MOD_FOOTER 0x2u   /* opt-out footer appended */

/* What the daemon records once the message is accepted, for the checks of
 * later messages; nothing when 0 (e.g. a 2FA message no frequency cap
 * counts, from a brand that does not prefix first messages). */
#define POLICY_RECORD_SEND 0x1u     /* a frequency cap counts this send */
#define POLICY_RECORD_CONTACT 0x2u  /* the number may be new to a brand that
                                     * prefixes first messages */
#define POLICY_RECORD_FOOTER 0x4u   /* an interval footer went with it */

struct policy_verdict {
	/* in: where a rewritten text may go (may be NULL/0: then a rewrite
	 * that does not fit is reported as a segments reject). */
	char *text_buf;
	size_t text_cap;

	/* out */
	enum policy_action action;
	uint32_t status;          /* for submit_sm_resp: 0 on accept/defer */
	const char *rule;         /* "registration", "content:shaft", ... */
	char reason[160];
	int64_t defer_until;      /* UTC seconds, for POLICY_DEFER */
	const char *campaign;     /* NULL if the source names none */
	const char *brand;
	const char *use_case;
	const char *text;         /* final text: msg->text or text_buf */
	size_t text_len;
	unsigned modified;        /* POLICY_MOD_* */
	unsigned segments;        /* of the final text */
	int ucs2;                 /* final text needs UCS-2 */
	const char *state;        /* recipient's state from the area code */
	unsigned record;          /* POLICY_RECORD_*: what to remember of it */
	/* Hooks the daemon must consult, in order, before accepting;
	 * a reject from any gives POLICY_ST_HOOK. */
	const struct policy_hook *hooks[POLICY_MAX_HOOKS];
	unsigned nhooks;
};

/*
 * Runs the pipeline.  `now` is UTC seconds.  Returns 0 with the verdict
 * filled, -1 only on a programming error (NULL arguments).
 */
int policy_check(const struct policy *p, const struct policy_lookup *lk,
    const struct policy_msg *msg, int64_t now, struct policy_verdict *v);

/* 1 if opt_out_scope is "global" (an opt-out applies to every brand),
 * 0 for "brand". */
int policy_optout_global(const struct policy *p);

/* Campaign id, brand and use case registered for a source number. */
int policy_campaign_of(const struct policy *p, const char *source,
    const char **campaign, const char **brand, const char **use_case);

/* The i-th campaign's id in file order, NULL past the last (p may be
 * NULL): for listing them. */
const char *policy_campaign_id(const struct policy *p, unsigned i);
/* 1 if the policy has a campaign of that id (any status), else 0. */
int policy_has_campaign(const struct policy *p, const char *campaign);

/* The campaign's per_minute limit (messages per minute), 0 if none. */
uint32_t policy_campaign_per_minute(const struct policy *p, const char *campaign);

/* ---- throughput -------------------------------------------------------- */

#define POLICY_PRIORITY_DEFAULT 3  /* for traffic no campaign names */

/* What the dispatcher paces a campaign's messages by. */
struct policy_limits {
	uint32_t per_minute;      /* campaign segments per minute, 0: none */
	unsigned priority;        /* 0 (served first) .. 7: `priority`, else
	                           * from the use case: 2FA and alerts 0,
	                           * marketing, mixed, political, polling 4,
	                           * the rest 2 */
	uint32_t weight;          /* share within its priority, >= 1 */
	const char *brand;        /* NULL when the campaign is unknown */
	uint32_t daily_cap;       /* the brand's segments per day, 0: none */
	int32_t cap_reset_min;    /* reset, minutes after midnight US Pacific */
};

/* 0 with the campaign's limits; -1 with defaults (nothing limited,
 * POLICY_PRIORITY_DEFAULT) when no campaign has that id. */
int policy_campaign_limits(const struct policy *p, const char *campaign,
    struct policy_limits *out);

/*
 * Messages per second a registered source number may send, over all the
 * campaigns and carriers it is used with: the campaign's number_mps, else
 * throughput.number_mps by kind (long code 1, toll-free 3, short code 100
 * by default).  0 when the number is not registered (no limit known).
 */
double policy_number_mps(const struct policy *p, const char *source);

/* ---- numbers and quiet hours ----------------------------------------- */

#define POLICY_MAX_ZONES 48

/*
 * Zones and state of a destination (digits, '+' allowed): the zones of
 * the longest matching prefix (policy-owned names), and the state code
 * ("FL") or NULL.  Returns the number of zones, 0 if none is known.
 */
int policy_number_zones(const struct policy *p, const char *number,
    const char **zones, size_t cap, const char **state);

/* Offset from UTC in seconds of a named zone at time t; -1 if unknown. */
int policy_zone_offset(const char *zone, int64_t t, int32_t *offset);

/*
 * Quiet hours for a destination: returns 1 if the campaign's use case is
 * exempt, or if the sending window (federal
 * default or campaign override, narrowed by the state's window) is open
 * in every zone of the number at `now`, else 0 with *opens set to the
 * first UTC second at which it is open in all of them (within 8 days;
 * -1 if never).
 */
int policy_window_open(const struct policy *p, const char *campaign,
    const char *number, int64_t now, int64_t *opens);

/* ---- mobile-originated keywords ------------------------------------- */

enum policy_mo { POLICY_MO_NONE, POLICY_MO_OPTOUT, POLICY_MO_OPTIN,
	POLICY_MO_HELP };

/* The whole message against the keyword lists, ignoring case, spaces
 * and punctuation ("Stop all!" is STOPALL). */
enum policy_mo policy_classify_mo(const struct policy *p, const char *text,
    size_t len);
/* Reply text for a keyword event: the brand's own, else the policy's
 * default.  NULL for POLICY_MO_NONE or if none is configured. */
const char *policy_mo_reply(const struct policy *p, const char *brand,
    enum policy_mo kind);

/* ---- rate monitors ------------------------------------------------------ */

#define POLICY_MAX_MONITORS 8
#define POLICY_RATE_BUCKETS 30

enum policy_event { POLICY_EV_SENT, POLICY_EV_ERROR, POLICY_EV_OPTOUT };
enum policy_monitor_action { POLICY_MON_LOG, POLICY_MON_ALERT,
	POLICY_MON_PAUSE };

/* One campaign's rolling counters, one ring per monitor of the policy.
 * Plain data owned by the caller; policy_monitor_init() before use and
 * again after a policy reload. */
struct policy_rate {
	int64_t bucket_start;     /* start of the newest bucket */
	uint32_t sent[POLICY_RATE_BUCKETS];
	uint32_t bad[POLICY_RATE_BUCKETS];
	unsigned head;
	int tripped;              /* above threshold at the last event */
};

struct policy_monitor_state {
	struct policy_rate rate[POLICY_MAX_MONITORS];
};

struct policy_monitor_alarm {
	const char *monitor;      /* policy-owned name */
	enum policy_monitor_action action;
	double rate, threshold;   /* fractions: 0.08 is 8% */
	uint32_t volume;
};

void policy_monitor_init(struct policy_monitor_state *st);
/* How many monitors the policy has (p may be NULL: 0), and the name of
 * the i-th (NULL past the last). */
unsigned policy_monitor_count(const struct policy *p);
const char *policy_monitor_name(const struct policy *p, unsigned i);
/* Feeds one event at time `now`.  Returns the number of monitors whose
 * threshold was crossed upwards by this event (written to alarms, up to
 * cap), most severe action first.  A monitor fires again only after its
 * rate has dropped below the threshold. */
int policy_monitor_event(const struct policy *p,
    struct policy_monitor_state *st, enum policy_event ev, int64_t now,
    struct policy_monitor_alarm *alarms, size_t cap);

/* ---- external hooks ---------------------------------------------------- */

/*
 * Postfix-style request for a hook: "name=value\n" lines ending with an
 * empty line.  Values have '%', CR, LF and other control bytes written as
 * %XX.  Returns the length written (NUL-terminated), or -1 if cap is too
 * small.
 */
int policy_hook_request_format(char *buf, size_t cap, const char *token,
    const struct policy_msg *msg, const struct policy_verdict *v);
/*
 * Parses a response: name=value lines up to an empty line (or the end);
 * "action=accept|reject|defer [text]" is required, other names are
 * ignored.  Postfix's OK and DUNNO read as accept.  Returns 0 or -1.
 */
int policy_hook_response_parse(const char *buf, size_t len,
    enum policy_action *action, char *text, size_t textcap);
/*
 * Framing of responses read from a stream: the length of the first
 * response in buf, up to and including its empty line ("\n\n" or
 * "\r\n\r\n"); 0 if it is not complete yet; -1 if max bytes have come
 * without an end (the peer is not speaking the protocol).
 */
long policy_hook_response_length(const char *buf, size_t len, size_t max);

enum policy_hook_family { POLICY_HOOK_UNIX, POLICY_HOOK_TCP };
/*
 * Splits a hook address: "unix:/path" gives the path in host (port
 * ""), "tcp:host:port" or "tcp:[v6]:port" the host and the port.
 * Returns 0, or -1 if it is malformed or does not fit.
 */
int policy_hook_address_split(const char *address,
    enum policy_hook_family *family, char *host, size_t hostcap,
    char *port, size_t portcap);

/* ---- segments (until smpp/coding.h provides it) ------------------------ */

/* Segments of a UTF-8 text: GSM 7-bit 160/153, else UCS-2 70/67. */
unsigned policy_segments(const char *text, size_t len, int *ucs2);

#endif
