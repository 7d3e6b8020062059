/*
 * Private to policy/: the loaded policy's layout and the helpers the
 * files of this folder share.  Not installed, not included from outside.
 */
#ifndef SMPPD_POLICY_IMPL_H
#define SMPPD_POLICY_IMPL_H

#include <regex.h>
#include <stdint.h>

#include "policy/policy.h"

/* ---- arena: everything a policy owns, freed in one go ----------------- */

struct arena_chunk;
struct arena {
	struct arena_chunk *head;
};
void *arena_alloc(struct arena *a, size_t n);           /* zeroed */
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_free(struct arena *a);

/* ---- strset: open-addressing string -> int map, built once ------------ */

struct strset_slot {
	const char *key;
	uint32_t len;
	int32_t val;
};
struct strset {
	struct strset_slot *slots;
	size_t mask;              /* capacity - 1; capacity is a power of 2 */
	size_t count;
};
uint64_t strset_hash(const char *s, size_t n);
/* Adds key (not copied: arena-owned) -> val; returns 0, or 1 if present
 * (then *old gets the existing value). */
int strset_put(struct arena *a, struct strset *s, const char *key,
    size_t len, int32_t val, int32_t *old);
/* Returns the value or -1. */
int32_t strset_get(const struct strset *s, const char *key, size_t len);

size_t keyword_norm(const char *s, size_t len, char *out, size_t cap);

/* ---- zones (tz.c) ----------------------------------------------------- */

int tz_index(const char *name);                 /* -1 if not in table */
const char *tz_name(int idx);
int32_t tz_offset(int idx, int64_t t);           /* seconds east of UTC */
int64_t days_from_civil(int y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);

/* ---- the policy ------------------------------------------------------- */

/* Use cases as the 10DLC registry names them; a bit each in masks. */
enum { UC_COUNT = 16 };
extern const char *const use_case_names[UC_COUNT];

struct pol_window {
	int16_t start, end;       /* minutes after local midnight, start < end */
	uint8_t days;             /* bit d set: sending allowed on weekday d (0 = Sunday) */
};

/* What a sending number is, read from its digits. */
enum pol_number_kind { NUM_LONG_CODE, NUM_TOLL_FREE, NUM_SHORT_CODE };

enum pol_status { CS_PENDING, CS_APPROVED, CS_SUSPENDED, CS_REJECTED };
enum pol_footer { FOOT_NEVER, FOOT_ALWAYS, FOOT_INTERVAL };

struct pol_brand {
	const char *name, *prefix, *tier;
	uint32_t daily_cap;
	int32_t cap_reset_min;    /* minutes after midnight US Pacific */
	int add_prefix;           /* prepend prefix on first contact */
	const char *reply[4];     /* by enum policy_mo */
};

struct pol_campaign {
	const char *id;
	int brand;
	enum pol_status status;
	int use_case;
	int consent_required;
	int toll_free_verified;
	uint32_t per_minute;
	int priority;             /* 0 first .. 7; -1: from the use case */
	uint32_t weight;          /* DRR weight; 0: 1 */
	double number_mps;        /* per sending number; 0: by number kind */
	enum pol_footer footer;
	const char *footer_text;
	int64_t footer_interval;
	int has_quiet;            /* window overrides the default */
	struct pol_window quiet;
	int quiet_exempt;         /* -1 follow the use case, 0 no, 1 yes */
};

struct pol_state_window {
	char state[3];
	struct pol_window w;
};

struct pol_cap {
	const char *name;
	char (*states)[3];
	unsigned nstates;
	uint32_t max;
	int64_t window;
	int defer;                /* else reject */
	uint32_t exempt;          /* use-case mask */
};

struct pol_regex {
	const char *rule;         /* "content:regex:NAME" */
	regex_t re;
};

struct pol_monitor {
	const char *name;
	int optouts;              /* else errors */
	int64_t window;
	uint32_t min_volume;
	double threshold;
	enum policy_monitor_action action;
};

struct pol_hook {
	struct policy_hook pub;
	uint32_t use_cases;       /* mask; 0 = all */
};

struct policy {
	int refs;
	struct arena arena;

	struct pol_brand *brands;
	unsigned nbrands;
	struct pol_campaign *campaigns;
	unsigned ncampaigns;
	struct strset numbers;    /* normalized source -> campaign */
	struct strset campaign_ids; /* id -> index in campaigns */
	double number_mps[3];     /* by enum pol_number_kind */
	int optout_global;        /* opt-out scope */

	struct strset keywords;   /* normalized keyword -> enum policy_mo */
	const char *default_reply[4];

	struct strset lexicon;    /* lowercased phrase -> lexicon index */
	const char **lexicon_rules;
	unsigned lexicon_maxwords;
	struct strset shorteners; /* host -> 1 */
	struct pol_regex *regexes;
	unsigned nregexes;
	regex_t regex_all;        /* (r1)|(r2)|...: one pass for the common miss */
	int has_regex_all;
	unsigned segment_limit;

	struct pol_cap *caps;
	unsigned ncaps;

	struct pol_window quiet_default;
	struct pol_state_window *quiet_states;
	unsigned nquiet_states;
	uint32_t quiet_exempt;    /* use-case mask */

	struct pol_monitor *monitors;
	unsigned nmonitors;
	struct pol_hook *hooks;
	unsigned nhooks;

	/* number tables */
	struct strset tz_prefix;  /* digits -> index in tz_lists */
	uint8_t **tz_lists;       /* per prefix: count, then zone indexes */
	unsigned tz_maxlen;
	struct strset area_state; /* "1NPA" -> index in states */
	char (*states)[3];
};

/* The campaign with this id, or NULL (check.c). */
const struct pol_campaign *campaign_by_id(const struct policy *p,
    const char *id);

/* numtab.c */
int numtab_load(struct policy *p, const char *tzpath, const char *statepath,
    char *err, size_t errcap);
/* Zone indexes of the longest prefix of digits; returns count (0 none). */
unsigned numtab_zones(const struct policy *p, const char *digits,
    size_t len, const uint8_t **zones);
const char *numtab_state(const struct policy *p, const char *digits);

/* content.c */
const char *content_check(const struct policy *p, const char *text,
    size_t len, char *why, size_t whycap);

/* quiet.c */
int quiet_open(const struct policy *p, const struct pol_campaign *c,
    const char *digits, const char *state, int64_t now, int64_t *opens);

#endif
