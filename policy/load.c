/*
 * Loading conf/policy.yaml.
 *
 * The file is read whole with libyaml's document API (every node keeps
 * its line), then walked section by section in a fixed order so that
 * references (a campaign's brand) resolve whatever order the file uses.
 * Every mapping is checked against a table of the keys it may hold: an
 * unknown or repeated key is an error with its line, as is any value of
 * the wrong type or out of range.  The result is immutable; a reload
 * builds a new one and the caller swaps pointers.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "policy/impl.h"

const char *const use_case_names[UC_COUNT] = {
	"2FA", "ACCOUNT_NOTIFICATION", "CUSTOMER_CARE", "DELIVERY_NOTIFICATION",
	"FRAUD_ALERT", "HIGHER_EDUCATION", "LOW_VOLUME", "MARKETING", "MIXED",
	"POLLING_VOTING", "PUBLIC_SERVICE_ANNOUNCEMENT", "SECURITY_ALERT",
	"CHARITY", "POLITICAL", "SOLE_PROPRIETOR", "EMERGENCY",
};
enum { UC_MARKETING = 7, UC_MIXED = 8 };

struct ld {
	yaml_document_t doc;
	const char *path;
	char *err;
	size_t errcap;
	struct policy *p;
	struct arena *a;
	/* top-level sections, walked in dependency order after the scan */
	yaml_node_t *sec[16];
	/* campaign being parsed: its numbers are checked against the others */
	unsigned cur_campaign;
	yaml_node_t *root;
};

/* ---- errors and node access ------------------------------------------- */

static int fail(struct ld *l, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct ld *l, const yaml_node_t *n, const char *fmt, ...)
{
	int k = snprintf(l->err, l->errcap, "%s:%zu: ", l->path,
	    n ? n->start_mark.line + 1 : 1);
	if (k < 0 || (size_t)k >= l->errcap)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->err + k, l->errcap - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

static yaml_node_t *node(struct ld *l, int id)
{
	return yaml_document_get_node(&l->doc, id);
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static int want(struct ld *l, yaml_node_t *n, yaml_node_type_t t,
    const char *what)
{
	if (n->type == t)
		return 0;
	return fail(l, n, "expected %s, got %s", what, kind_name(n));
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int get_str(struct ld *l, yaml_node_t *n, const char **out)
{
	if (want(l, n, YAML_SCALAR_NODE, "a string") < 0)
		return -1;
	*out = arena_strndup(l->a, sval(n), n->data.scalar.length);
	return 0;
}

/* Matches a scalar against a list of names; returns the index. */
static int get_enum(struct ld *l, yaml_node_t *n, const char *const *names,
    int count, const char *what, int *out)
{
	if (want(l, n, YAML_SCALAR_NODE, what) < 0)
		return -1;
	for (int i = 0; i < count; i++) {
		if (strcasecmp(sval(n), names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	char list[256] = "";
	for (int i = 0; i < count; i++) {
		strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
		strncat(list, names[i], sizeof(list) - strlen(list) - 1);
	}
	return fail(l, n, "bad %s \"%s\": expected one of %s", what, sval(n),
	    list);
}

static int get_bool(struct ld *l, yaml_node_t *n, int *out)
{
	static const char *const names[] = { "false", "true", "no", "yes",
		"off", "on" };
	int i = 0;
	if (get_enum(l, n, names, 6, "boolean", &i) < 0)
		return -1;
	*out = i & 1;
	return 0;
}

static int get_u32(struct ld *l, yaml_node_t *n, unsigned long min,
    unsigned long max, uint32_t *out)
{
	if (want(l, n, YAML_SCALAR_NODE, "a number") < 0)
		return -1;
	const char *s = sval(n);
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end != '\0')
		return fail(l, n, "expected a whole number, got \"%s\"", s);
	if (v < min || v > max)
		return fail(l, n, "%lu is out of range %lu..%lu", v, min, max);
	*out = (uint32_t)v;
	return 0;
}

/* A rate per second: "1", "1.25", "0.25"; above 0, at most max. */
static int get_rate(struct ld *l, yaml_node_t *n, double max, double *out)
{
	if (want(l, n, YAML_SCALAR_NODE, "a rate") < 0)
		return -1;
	const char *s = sval(n);
	char *end;
	double v = strtod(s, &end);
	if (!isdigit((unsigned char)*s) || *end != '\0' || !(v > 0) || v > max)
		return fail(l, n, "bad rate \"%s\": expected a number of messages "
		    "per second above 0 and at most %g", s, max);
	*out = v;
	return 0;
}

/* "90s", "15m", "24h", "30d", "500ms"; ms allowed only where asked. */
static int get_duration_ms(struct ld *l, yaml_node_t *n, int64_t *ms)
{
	if (want(l, n, YAML_SCALAR_NODE, "a duration") < 0)
		return -1;
	const char *s = sval(n);
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	static const struct { const char *u; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	if (isdigit((unsigned char)*s) && v > 0 && v < 100000000ull) {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strcmp(end, units[i].u) == 0) {
				*ms = (int64_t)v * units[i].ms;
				return 0;
			}
		}
	}
	return fail(l, n, "bad duration \"%s\": expected a positive number "
	    "with s, m, h or d (e.g. 24h)", s);
}

static int get_duration(struct ld *l, yaml_node_t *n, int64_t *secs)
{
	int64_t ms;
	if (get_duration_ms(l, n, &ms) < 0)
		return -1;
	if (ms % 1000)
		return fail(l, n, "duration \"%s\" must be whole seconds",
		    sval(n));
	*secs = ms / 1000;
	return 0;
}

/* "8%" or "12.5%": a fraction in (0, 1]. */
static int get_percent(struct ld *l, yaml_node_t *n, double *out)
{
	if (want(l, n, YAML_SCALAR_NODE, "a percentage") < 0)
		return -1;
	const char *s = sval(n);
	char *end;
	double v = strtod(s, &end);
	if (end == s || strcmp(end, "%") != 0 || !(v > 0.0 && v <= 100.0))
		return fail(l, n, "bad percentage \"%s\": expected more than "
		    "0%% and at most 100%%, e.g. 12.5%%", s);
	*out = v / 100.0;
	return 0;
}

/* ---- mappings against key tables --------------------------------------- */

struct field {
	const char *key;
	int (*fn)(struct ld *l, yaml_node_t *val, void *obj);
	int required;
};

static int walk_map(struct ld *l, yaml_node_t *map, const struct field *f,
    void *obj, const char *what)
{
	if (want(l, map, YAML_MAPPING_NODE, what) < 0)
		return -1;
	uint64_t seen = 0;
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
	    pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(l, pr->key), *v = node(l, pr->value);
		if (want(l, k, YAML_SCALAR_NODE, "a key") < 0)
			return -1;
		int i = 0;
		while (f[i].key && strcmp(f[i].key, sval(k)) != 0)
			i++;
		if (f[i].key == NULL)
			return fail(l, k, "unknown key \"%s\" in %s", sval(k), what);
		if (seen & (1ull << i))
			return fail(l, k, "key \"%s\" repeated in %s", sval(k), what);
		seen |= 1ull << i;
		if (f[i].fn(l, v, obj) < 0)
			return -1;
	}
	for (int i = 0; f[i].key; i++)
		if (f[i].required && !(seen & (1ull << i)))
			return fail(l, map, "%s lacks \"%s\"", what, f[i].key);
	return 0;
}

/* Calls fn on each item of a list (a lone scalar counts as a list of one
 * only where the caller says so). */
static int walk_seq(struct ld *l, yaml_node_t *seq, const char *what,
    int (*fn)(struct ld *, yaml_node_t *, void *), void *obj)
{
	if (want(l, seq, YAML_SEQUENCE_NODE, what) < 0)
		return -1;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	    it < seq->data.sequence.items.top; it++)
		if (fn(l, node(l, *it), obj) < 0)
			return -1;
	return 0;
}

static size_t seq_len(yaml_node_t *seq)
{
	return (size_t)(seq->data.sequence.items.top
	    - seq->data.sequence.items.start);
}

/* ---- shared value kinds ----------------------------------------------- */

static int parse_hhmm(const char *s, int *min)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1])
	    || s[2] != ':' || !isdigit((unsigned char)s[3])
	    || !isdigit((unsigned char)s[4]))
		return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0');
	int m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	*min = h * 60 + m;
	return 0;
}

/* "HH:MM-HH:MM", start before end (no windows across midnight: quiet
 * hours are a daytime window). */
static int window_string(struct ld *l, yaml_node_t *n, struct pol_window *w)
{
	if (want(l, n, YAML_SCALAR_NODE, "a time window") < 0)
		return -1;
	const char *s = sval(n);
	int a, b;
	if (strlen(s) != 11 || s[5] != '-' || parse_hhmm(s, &a) < 0
	    || parse_hhmm(s + 6, &b) < 0 || a >= b)
		return fail(l, n, "bad time window \"%s\": expected HH:MM-HH:MM "
		    "with the start before the end, e.g. 08:00-21:00", s);
	w->start = (int16_t)a;
	w->end = (int16_t)b;
	return 0;
}

static int day_item(struct ld *l, yaml_node_t *n, void *obj)
{
	static const char *const names[] = { "sun", "mon", "tue", "wed",
		"thu", "fri", "sat" };
	int d = 0;
	if (get_enum(l, n, names, 7, "weekday", &d) < 0)
		return -1;
	*(uint8_t *)obj |= (uint8_t)(1u << d);
	return 0;
}

static int window_days(struct ld *l, yaml_node_t *n, void *obj)
{
	struct pol_window *w = obj;
	w->days = 0;
	if (walk_seq(l, n, "a list of weekdays", day_item, &w->days) < 0)
		return -1;
	if (w->days == 0)
		return fail(l, n, "empty list of weekdays");
	return 0;
}

static int window_hours(struct ld *l, yaml_node_t *n, void *obj)
{
	return window_string(l, n, obj);
}

/* A window is "HH:MM-HH:MM" or {hours: "HH:MM-HH:MM", days: [mon, ...]}. */
static int get_window(struct ld *l, yaml_node_t *n, struct pol_window *w)
{
	static const struct field f[] = {
		{ "hours", window_hours, 1 },
		{ "days", window_days, 0 },
		{ NULL, NULL, 0 },
	};
	w->days = 0x7f;
	if (n->type == YAML_SCALAR_NODE)
		return window_string(l, n, w);
	return walk_map(l, n, f, w, "a time window");
}

static int use_case_item(struct ld *l, yaml_node_t *n, void *obj)
{
	int uc;
	if (get_enum(l, n, use_case_names, UC_COUNT, "use case", &uc) < 0)
		return -1;
	*(uint32_t *)obj |= 1u << uc;
	return 0;
}

static int use_case_mask(struct ld *l, yaml_node_t *n, uint32_t *mask)
{
	*mask = 0;
	return walk_seq(l, n, "a list of use cases", use_case_item, mask);
}

static int state_code(struct ld *l, yaml_node_t *n, char out[3])
{
	if (want(l, n, YAML_SCALAR_NODE, "a state code") < 0)
		return -1;
	const char *s = sval(n);
	if (strlen(s) != 2 || !isupper((unsigned char)s[0])
	    || !isupper((unsigned char)s[1]))
		return fail(l, n, "bad state code \"%s\": expected two capital "
		    "letters such as FL", s);
	memcpy(out, s, 3);
	return 0;
}

/* ---- brands ----------------------------------------------------------- */

static int b_name(struct ld *l, yaml_node_t *n, void *o)
{
	struct pol_brand *b = o;
	if (get_str(l, n, &b->name) < 0)
		return -1;
	for (struct pol_brand *x = l->p->brands; x < b; x++)
		if (strcmp(x->name, b->name) == 0)
			return fail(l, n, "brand \"%s\" defined twice", b->name);
	return 0;
}
static int b_prefix(struct ld *l, yaml_node_t *n, void *o)
{
	return get_str(l, n, &((struct pol_brand *)o)->prefix);
}
static int b_add_prefix(struct ld *l, yaml_node_t *n, void *o)
{
	return get_bool(l, n, &((struct pol_brand *)o)->add_prefix);
}
static int b_tier(struct ld *l, yaml_node_t *n, void *o)
{
	return get_str(l, n, &((struct pol_brand *)o)->tier);
}
static int b_cap(struct ld *l, yaml_node_t *n, void *o)
{
	return get_u32(l, n, 1, 100000000, &((struct pol_brand *)o)->daily_cap);
}
static int b_cap_reset(struct ld *l, yaml_node_t *n, void *o)
{
	int min;
	if (want(l, n, YAML_SCALAR_NODE, "a time") < 0)
		return -1;
	if (strlen(sval(n)) != 5 || parse_hhmm(sval(n), &min) < 0 || min >= 1440)
		return fail(l, n, "bad daily_cap_reset \"%s\": expected HH:MM "
		    "(US Pacific time), e.g. 00:00", sval(n));
	((struct pol_brand *)o)->cap_reset_min = min;
	return 0;
}
static int r_optout(struct ld *l, yaml_node_t *n, void *o)
{
	return get_str(l, n, &((const char **)o)[POLICY_MO_OPTOUT]);
}
static int r_optin(struct ld *l, yaml_node_t *n, void *o)
{
	return get_str(l, n, &((const char **)o)[POLICY_MO_OPTIN]);
}
static int r_help(struct ld *l, yaml_node_t *n, void *o)
{
	return get_str(l, n, &((const char **)o)[POLICY_MO_HELP]);
}
static int b_replies(struct ld *l, yaml_node_t *n, void *o)
{
	static const struct field f[] = {
		{ "opt_out", r_optout, 0 }, { "opt_in", r_optin, 0 },
		{ "help", r_help, 0 }, { NULL, NULL, 0 },
	};
	return walk_map(l, n, f, ((struct pol_brand *)o)->reply, "replies");
}

static int brand_item(struct ld *l, yaml_node_t *n, void *o)
{
	static const struct field f[] = {
		{ "name", b_name, 1 }, { "sender_prefix", b_prefix, 0 },
		{ "add_prefix", b_add_prefix, 0 }, { "vetting_tier", b_tier, 0 },
		{ "daily_cap", b_cap, 0 }, { "replies", b_replies, 0 },
		{ "daily_cap_reset", b_cap_reset, 0 }, { NULL, NULL, 0 },
	};
	struct pol_brand *b = &l->p->brands[l->p->nbrands];
	b->add_prefix = 1;
	if (walk_map(l, n, f, b, "brand") < 0)
		return -1;
	if (b->add_prefix && b->prefix == NULL)
		return fail(l, n, "brand \"%s\" adds a sender prefix but has no "
		    "sender_prefix", b->name);
	l->p->nbrands++;
	return 0;
}

/* ---- campaigns -------------------------------------------------------- */

static int c_id(struct ld *l, yaml_node_t *n, void *o)
{
	struct pol_campaign *c = o;
	int32_t old;
	if (get_str(l, n, &c->id) < 0)
		return -1;
	if (strset_put(l->a, &l->p->campaign_ids, c->id, strlen(c->id),
	    (int32_t)(c - l->p->campaigns), &old))
		return fail(l, n, "campaign id \"%s\" used twice", c->id);
	return 0;
}
static int c_brand(struct ld *l, yaml_node_t *n, void *o)
{
	struct pol_campaign *c = o;
	if (want(l, n, YAML_SCALAR_NODE, "a brand name") < 0)
		return -1;
	for (unsigned i = 0; i < l->p->nbrands; i++) {
		if (strcmp(l->p->brands[i].name, sval(n)) == 0) {
			c->brand = (int)i;
			return 0;
		}
	}
	return fail(l, n, "unknown brand \"%s\"", sval(n));
}
static int c_status(struct ld *l, yaml_node_t *n, void *o)
{
	static const char *const names[] = { "pending", "approved",
		"suspended", "rejected" };
	int s = 0;
	if (get_enum(l, n, names, 4, "campaign status", &s) < 0)
		return -1;
	((struct pol_campaign *)o)->status = (enum pol_status)s;
	return 0;
}
static int c_use_case(struct ld *l, yaml_node_t *n, void *o)
{
	return get_enum(l, n, use_case_names, UC_COUNT, "use case",
	    &((struct pol_campaign *)o)->use_case);
}
static int c_consent(struct ld *l, yaml_node_t *n, void *o)
{
	return get_bool(l, n, &((struct pol_campaign *)o)->consent_required);
}
static int c_tfv(struct ld *l, yaml_node_t *n, void *o)
{
	return get_bool(l, n, &((struct pol_campaign *)o)->toll_free_verified);
}
static int c_per_minute(struct ld *l, yaml_node_t *n, void *o)
{
	return get_u32(l, n, 1, 1000000, &((struct pol_campaign *)o)->per_minute);
}
static int c_priority(struct ld *l, yaml_node_t *n, void *o)
{
	uint32_t v = 0;
	if (get_u32(l, n, 0, 7, &v) < 0)
		return -1;
	((struct pol_campaign *)o)->priority = (int)v;
	return 0;
}
static int c_weight(struct ld *l, yaml_node_t *n, void *o)
{
	return get_u32(l, n, 1, 1000, &((struct pol_campaign *)o)->weight);
}
static int c_number_mps(struct ld *l, yaml_node_t *n, void *o)
{
	return get_rate(l, n, 100000, &((struct pol_campaign *)o)->number_mps);
}
static int c_descr(struct ld *l, yaml_node_t *n, void *o)
{
	return want(l, n, YAML_SCALAR_NODE, "a string");
}

/* Source numbers: short codes (5-6 digits) or NANP long codes and
 * toll-free numbers, '+' optional; stored as bare digits. */
static int number_item(struct ld *l, yaml_node_t *n, void *o)
{
	if (want(l, n, YAML_SCALAR_NODE, "a number") < 0)
		return -1;
	const char *s = sval(n);
	const char *d = s[0] == '+' ? s + 1 : s;
	size_t len = strlen(d);
	int digits = strspn(d, "0123456789") == len;
	int nanp = len == 11 && d[0] == '1' && d[1] >= '2' && d[4] >= '2';
	if (!digits || !(nanp || ((len == 5 || len == 6) && s == d)))
		return fail(l, n, "bad number \"%s\": expected +1NXXNXXXXXX or a "
		    "5-6 digit short code", s);
	int32_t old;
	if (strset_put(l->a, &l->p->numbers, arena_strndup(l->a, d, len), len,
	    (int32_t)l->cur_campaign, &old))
		return fail(l, n, "number %s is already registered to campaign "
		    "\"%s\"", s, l->p->campaigns[old].id
		    ? l->p->campaigns[old].id : "(this one)");
	return 0;
}
static int c_numbers(struct ld *l, yaml_node_t *n, void *o)
{
	if (want(l, n, YAML_SEQUENCE_NODE, "a list of numbers") < 0)
		return -1;
	if (seq_len(n) == 0)
		return fail(l, n, "a campaign needs at least one number");
	return walk_seq(l, n, "a list of numbers", number_item, o);
}

static int f_text(struct ld *l, yaml_node_t *n, void *o)
{
	return get_str(l, n, &((struct pol_campaign *)o)->footer_text);
}
static int f_mode(struct ld *l, yaml_node_t *n, void *o)
{
	static const char *const names[] = { "never", "always", "interval" };
	int m;
	if (get_enum(l, n, names, 3, "footer mode", &m) < 0)
		return -1;
	((struct pol_campaign *)o)->footer = (enum pol_footer)m;
	return 0;
}
static int f_interval(struct ld *l, yaml_node_t *n, void *o)
{
	return get_duration(l, n, &((struct pol_campaign *)o)->footer_interval);
}
static int c_footer(struct ld *l, yaml_node_t *n, void *o)
{
	static const struct field f[] = {
		{ "text", f_text, 0 }, { "mode", f_mode, 1 },
		{ "interval", f_interval, 0 }, { NULL, NULL, 0 },
	};
	struct pol_campaign *c = o;
	if (walk_map(l, n, f, c, "footer") < 0)
		return -1;
	if (c->footer == FOOT_INTERVAL && c->footer_interval == 0)
		return fail(l, n, "footer mode interval needs \"interval\"");
	return 0;
}

static int q_hours(struct ld *l, yaml_node_t *n, void *o)
{
	struct pol_campaign *c = o;
	c->has_quiet = 1;
	return get_window(l, n, &c->quiet);
}
static int q_exempt(struct ld *l, yaml_node_t *n, void *o)
{
	return get_bool(l, n, &((struct pol_campaign *)o)->quiet_exempt);
}
static int c_quiet(struct ld *l, yaml_node_t *n, void *o)
{
	static const struct field f[] = {
		{ "window", q_hours, 0 }, { "exempt", q_exempt, 0 },
		{ NULL, NULL, 0 },
	};
	return walk_map(l, n, f, o, "campaign quiet_hours");
}

static int campaign_item(struct ld *l, yaml_node_t *n, void *o)
{
	static const struct field f[] = {
		{ "id", c_id, 1 }, { "brand", c_brand, 1 },
		{ "status", c_status, 1 }, { "use_case", c_use_case, 1 },
		{ "numbers", c_numbers, 1 }, { "consent_required", c_consent, 0 },
		{ "toll_free_verified", c_tfv, 0 },
		{ "per_minute", c_per_minute, 0 }, { "footer", c_footer, 0 },
		{ "priority", c_priority, 0 }, { "weight", c_weight, 0 },
		{ "number_mps", c_number_mps, 0 },
		{ "quiet_hours", c_quiet, 0 }, { "description", c_descr, 0 },
		{ NULL, NULL, 0 },
	};
	struct pol_campaign *c = &l->p->campaigns[l->p->ncampaigns];
	l->cur_campaign = l->p->ncampaigns;
	c->quiet_exempt = -1;
	c->priority = -1;
	c->footer = (enum pol_footer)-1;
	if (walk_map(l, n, f, c, "campaign") < 0)
		return -1;
	int marketing = c->use_case == UC_MARKETING || c->use_case == UC_MIXED;
	if ((int)c->footer == -1)
		c->footer = marketing ? FOOT_ALWAYS : FOOT_NEVER;
	if (marketing && c->footer != FOOT_ALWAYS)
		return fail(l, n, "campaign \"%s\" is %s: its footer mode must be "
		    "always", c->id, use_case_names[c->use_case]);
	if (c->footer != FOOT_NEVER && c->footer_text == NULL)
		c->footer_text = "Reply STOP to opt out.";
	l->p->ncampaigns++;
	return 0;
}

/* ---- keywords ----------------------------------------------------------- */

struct kwctx {
	int kind;
	const char **reply;
};

static int kw_word(struct ld *l, yaml_node_t *n, void *o)
{
	struct kwctx *k = o;
	char buf[64];
	if (want(l, n, YAML_SCALAR_NODE, "a keyword") < 0)
		return -1;
	size_t len = keyword_norm(sval(n), n->data.scalar.length, buf,
	    sizeof(buf));
	if (len == 0)
		return fail(l, n, "bad keyword \"%s\": needs letters or digits, "
		    "at most 64", sval(n));
	static const char *const kinds[] = { "", "opt-out", "opt-in", "help" };
	int32_t old;
	/* "STOP ALL" and "STOPALL" are one keyword; listing both is fine,
	 * listing one under two meanings is not. */
	if (strset_put(l->a, &l->p->keywords, arena_strndup(l->a, buf, len),
	    len, k->kind, &old) && old != k->kind)
		return fail(l, n, "keyword \"%s\" is already an %s keyword",
		    sval(n), kinds[old]);
	return 0;
}
static int kw_words(struct ld *l, yaml_node_t *n, void *o)
{
	return walk_seq(l, n, "a list of keywords", kw_word, o);
}
static int kw_reply(struct ld *l, yaml_node_t *n, void *o)
{
	struct kwctx *k = o;
	return get_str(l, n, &k->reply[k->kind]);
}
static int keyword_list(struct ld *l, yaml_node_t *n, int kind,
    const char *what)
{
	static const struct field f[] = {
		{ "words", kw_words, 1 }, { "reply", kw_reply, 0 },
		{ NULL, NULL, 0 },
	};
	struct kwctx k = { kind, l->p->default_reply };
	return walk_map(l, n, f, &k, what);
}
static int k_optout(struct ld *l, yaml_node_t *n, void *o)
{
	return keyword_list(l, n, POLICY_MO_OPTOUT, "keywords.opt_out");
}
static int k_optin(struct ld *l, yaml_node_t *n, void *o)
{
	return keyword_list(l, n, POLICY_MO_OPTIN, "keywords.opt_in");
}
static int k_help(struct ld *l, yaml_node_t *n, void *o)
{
	return keyword_list(l, n, POLICY_MO_HELP, "keywords.help");
}

/* Without a keywords section the CTIA lists apply: an empty list would
 * silently ignore STOP. */
static void default_keywords(struct ld *l)
{
	static const struct { const char *w; int kind; } d[] = {
		{ "STOP", POLICY_MO_OPTOUT }, { "STOPALL", POLICY_MO_OPTOUT },
		{ "UNSUBSCRIBE", POLICY_MO_OPTOUT }, { "CANCEL", POLICY_MO_OPTOUT },
		{ "END", POLICY_MO_OPTOUT }, { "QUIT", POLICY_MO_OPTOUT },
		{ "REVOKE", POLICY_MO_OPTOUT }, { "OPTOUT", POLICY_MO_OPTOUT },
		{ "START", POLICY_MO_OPTIN }, { "YES", POLICY_MO_OPTIN },
		{ "UNSTOP", POLICY_MO_OPTIN }, { "HELP", POLICY_MO_HELP },
		{ "INFO", POLICY_MO_HELP },
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		strset_put(l->a, &l->p->keywords, d[i].w, strlen(d[i].w),
		    d[i].kind, NULL);
}

/* ---- content ---------------------------------------------------------- */

/* Lexicon phrases are stored as their words lower-cased and joined by
 * one space, the form content.c builds from the message text. */
static size_t phrase_norm(const char *s, char *out, size_t cap,
    unsigned *words)
{
	size_t n = 0;
	*words = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; ) {
		while (*p && !(isalnum(*p) || *p >= 0x80))
			p++;
		if (*p == '\0')
			break;
		if (n && n < cap)
			out[n++] = ' ';
		while (*p && (isalnum(*p) || *p >= 0x80)) {
			if (n == cap)
				return 0;
			out[n++] = (char)tolower(*p++);
		}
		(*words)++;
	}
	return n;
}

struct lexctx {
	int idx;
};

static int lex_word(struct ld *l, yaml_node_t *n, void *o)
{
	char buf[128];
	unsigned words;
	if (want(l, n, YAML_SCALAR_NODE, "a word or phrase") < 0)
		return -1;
	size_t len = phrase_norm(sval(n), buf, sizeof(buf), &words);
	if (len == 0)
		return fail(l, n, "bad lexicon entry \"%s\"", sval(n));
	int32_t old;
	if (strset_put(l->a, &l->p->lexicon, arena_strndup(l->a, buf, len), len,
	    ((struct lexctx *)o)->idx, &old))
		return fail(l, n, "\"%s\" is already in lexicon \"%s\"", sval(n),
		    l->p->lexicon_rules[old] + strlen("content:"));
	if (words > l->p->lexicon_maxwords)
		l->p->lexicon_maxwords = words;
	return 0;
}

static int lx_name(struct ld *l, yaml_node_t *n, void *o)
{
	if (want(l, n, YAML_SCALAR_NODE, "a name") < 0)
		return -1;
	size_t len = strlen("content:") + n->data.scalar.length;
	char *r = arena_alloc(l->a, len + 1);
	snprintf(r, len + 1, "content:%s", sval(n));
	l->p->lexicon_rules[((struct lexctx *)o)->idx] = r;
	return 0;
}
static int lx_words(struct ld *l, yaml_node_t *n, void *o)
{
	return walk_seq(l, n, "a list of words", lex_word, o);
}
static int lexicon_item(struct ld *l, yaml_node_t *n, void *o)
{
	/* name first: words name their lexicon in duplicate errors */
	static const struct field f[] = {
		{ "name", lx_name, 1 }, { "words", lx_words, 1 },
		{ NULL, NULL, 0 },
	};
	unsigned *count = o;
	struct lexctx k = { (int)(*count)++ };
	l->p->lexicon_rules[k.idx] = "content:lexicon";
	return walk_map(l, n, f, &k, "lexicon");
}
static int ct_lexicons(struct ld *l, yaml_node_t *n, void *o)
{
	if (want(l, n, YAML_SEQUENCE_NODE, "a list of lexicons") < 0)
		return -1;
	unsigned count = 0;
	l->p->lexicon_rules = arena_alloc(l->a, (seq_len(n) + 1)
	    * sizeof(char *));
	return walk_seq(l, n, "a list of lexicons", lexicon_item, &count);
}

static int host_item(struct ld *l, yaml_node_t *n, void *o)
{
	if (want(l, n, YAML_SCALAR_NODE, "a host name") < 0)
		return -1;
	const char *s = sval(n);
	size_t len = strlen(s);
	if (len == 0 || len > 253 || strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != len || !strchr(s, '.'))
		return fail(l, n, "bad host name \"%s\"", s);
	char *h = arena_strndup(l->a, s, len);
	for (char *c = h; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strset_put(l->a, &l->p->shorteners, h, len, 1, NULL))
		return fail(l, n, "host \"%s\" listed twice", s);
	return 0;
}
static int ct_shorteners(struct ld *l, yaml_node_t *n, void *o)
{
	return walk_seq(l, n, "a list of host names", host_item, o);
}

struct rxctx {
	struct pol_regex *r;
	yaml_node_t *pattern;
	const char *name;
};
static int rx_name(struct ld *l, yaml_node_t *n, void *o)
{
	return get_str(l, n, &((struct rxctx *)o)->name);
}
static int rx_pattern(struct ld *l, yaml_node_t *n, void *o)
{
	((struct rxctx *)o)->pattern = n;
	return want(l, n, YAML_SCALAR_NODE, "a regular expression");
}
static int regex_item(struct ld *l, yaml_node_t *n, void *o)
{
	static const struct field f[] = {
		{ "name", rx_name, 1 }, { "pattern", rx_pattern, 1 },
		{ NULL, NULL, 0 },
	};
	struct rxctx k = { &l->p->regexes[l->p->nregexes], NULL, NULL };
	if (walk_map(l, n, f, &k, "regex") < 0)
		return -1;
	/* No subexpressions needed: REG_NOSUB lets glibc skip the
	 * backtracking matcher. */
	int rc = regcomp(&k.r->re, sval(k.pattern),
	    REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc != 0) {
		char msg[128];
		regerror(rc, &k.r->re, msg, sizeof(msg));
		return fail(l, k.pattern, "bad regex \"%s\": %s", sval(k.pattern),
		    msg);
	}
	size_t len = strlen("content:regex:") + strlen(k.name);
	char *rule = arena_alloc(l->a, len + 1);
	snprintf(rule, len + 1, "content:regex:%s", k.name);
	k.r->rule = rule;
	l->p->nregexes++;
	return 0;
}
/*
 * Nearly every message matches no regex, and glibc's regexec costs about
 * the same per call whatever the pattern: one alternation of them all
 * answers the common "no" in one call; the patterns are tried one by one
 * only to name the rule that matched.  Back-references would be
 * renumbered by the grouping, so a set using them is not combined.
 */
static void combine_regexes(struct ld *l, yaml_node_t *n)
{
	size_t len = 1;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		yaml_node_t *m = node(l, *it);
		for (yaml_node_pair_t *pr = m->data.mapping.pairs.start;
		    pr < m->data.mapping.pairs.top; pr++) {
			if (strcmp(sval(node(l, pr->key)), "pattern") != 0)
				continue;
			const char *pat = sval(node(l, pr->value));
			for (const char *c = pat; *c; c++)
				if (c[0] == '\\' && c[1] >= '1' && c[1] <= '9')
					return;
			len += strlen(pat) + 3;
		}
	}
	char *all = malloc(len), *w = all;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		yaml_node_t *m = node(l, *it);
		for (yaml_node_pair_t *pr = m->data.mapping.pairs.start;
		    pr < m->data.mapping.pairs.top; pr++)
			if (strcmp(sval(node(l, pr->key)), "pattern") == 0)
				w += sprintf(w, "%s(%s)", w == all ? "" : "|",
				    sval(node(l, pr->value)));
	}
	l->p->has_regex_all = regcomp(&l->p->regex_all, all,
	    REG_EXTENDED | REG_ICASE | REG_NOSUB) == 0;
	free(all);
}

static int ct_regexes(struct ld *l, yaml_node_t *n, void *o)
{
	if (want(l, n, YAML_SEQUENCE_NODE, "a list of regexes") < 0)
		return -1;
	l->p->regexes = arena_alloc(l->a, (seq_len(n) + 1)
	    * sizeof(*l->p->regexes));
	if (walk_seq(l, n, "a list of regexes", regex_item, NULL) < 0)
		return -1;
	if (l->p->nregexes > 1)
		combine_regexes(l, n);
	return 0;
}

/* ---- frequency caps ----------------------------------------------------- */

static int cap_state(struct ld *l, yaml_node_t *n, void *o)
{
	struct pol_cap *c = o;
	return state_code(l, n, c->states[c->nstates++]);
}
static int fc_name(struct ld *l, yaml_node_t *n, void *o)
{
	return get_str(l, n, &((struct pol_cap *)o)->name);
}
static int fc_states(struct ld *l, yaml_node_t *n, void *o)
{
	struct pol_cap *c = o;
	if (want(l, n, YAML_SEQUENCE_NODE, "a list of state codes") < 0)
		return -1;
	c->states = arena_alloc(l->a, (seq_len(n) + 1) * 3);
	return walk_seq(l, n, "a list of state codes", cap_state, c);
}
static int fc_max(struct ld *l, yaml_node_t *n, void *o)
{
	return get_u32(l, n, 1, 100000, &((struct pol_cap *)o)->max);
}
static int fc_window(struct ld *l, yaml_node_t *n, void *o)
{
	return get_duration(l, n, &((struct pol_cap *)o)->window);
}
static int fc_action(struct ld *l, yaml_node_t *n, void *o)
{
	static const char *const names[] = { "reject", "defer" };
	return get_enum(l, n, names, 2, "cap action",
	    &((struct pol_cap *)o)->defer);
}
static int fc_exempt(struct ld *l, yaml_node_t *n, void *o)
{
	return use_case_mask(l, n, &((struct pol_cap *)o)->exempt);
}
static int cap_item(struct ld *l, yaml_node_t *n, void *o)
{
	static const struct field f[] = {
		{ "name", fc_name, 1 }, { "states", fc_states, 0 },
		{ "max", fc_max, 1 }, { "window", fc_window, 1 },
		{ "action", fc_action, 0 }, { "exempt_use_cases", fc_exempt, 0 },
		{ NULL, NULL, 0 },
	};
	return walk_map(l, n, f, &l->p->caps[l->p->ncaps++], "frequency cap");
}

/* ---- quiet hours -------------------------------------------------------- */

static int qh_default(struct ld *l, yaml_node_t *n, void *o)
{
	return get_window(l, n, &l->p->quiet_default);
}
static int qh_exempt(struct ld *l, yaml_node_t *n, void *o)
{
	return use_case_mask(l, n, &l->p->quiet_exempt);
}
static int qh_states(struct ld *l, yaml_node_t *n, void *o)
{
	if (want(l, n, YAML_MAPPING_NODE, "a mapping of state: window") < 0)
		return -1;
	size_t cnt = (size_t)(n->data.mapping.pairs.top
	    - n->data.mapping.pairs.start);
	struct policy *p = l->p;
	p->quiet_states = arena_alloc(l->a, (cnt + 1)
	    * sizeof(*p->quiet_states));
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	    pr < n->data.mapping.pairs.top; pr++) {
		struct pol_state_window *s = &p->quiet_states[p->nquiet_states];
		yaml_node_t *k = node(l, pr->key);
		if (state_code(l, k, s->state) < 0
		    || get_window(l, node(l, pr->value), &s->w) < 0)
			return -1;
		for (unsigned i = 0; i < p->nquiet_states; i++)
			if (strcmp(p->quiet_states[i].state, s->state) == 0)
				return fail(l, k, "state %s repeated", s->state);
		p->nquiet_states++;
	}
	return 0;
}

/* ---- monitors ----------------------------------------------------------- */

static int m_name(struct ld *l, yaml_node_t *n, void *o)
{
	return get_str(l, n, &((struct pol_monitor *)o)->name);
}
static int m_metric(struct ld *l, yaml_node_t *n, void *o)
{
	static const char *const names[] = { "errors", "opt_outs" };
	return get_enum(l, n, names, 2, "monitor metric",
	    &((struct pol_monitor *)o)->optouts);
}
static int m_window(struct ld *l, yaml_node_t *n, void *o)
{
	struct pol_monitor *m = o;
	if (get_duration(l, n, &m->window) < 0)
		return -1;
	if (m->window < POLICY_RATE_BUCKETS)
		return fail(l, n, "monitor window must be at least %ds",
		    POLICY_RATE_BUCKETS);
	return 0;
}
static int m_volume(struct ld *l, yaml_node_t *n, void *o)
{
	return get_u32(l, n, 1, 100000000, &((struct pol_monitor *)o)->min_volume);
}
static int m_threshold(struct ld *l, yaml_node_t *n, void *o)
{
	return get_percent(l, n, &((struct pol_monitor *)o)->threshold);
}
static int m_action(struct ld *l, yaml_node_t *n, void *o)
{
	static const char *const names[] = { "log", "alert", "pause" };
	int a;
	if (get_enum(l, n, names, 3, "monitor action", &a) < 0)
		return -1;
	((struct pol_monitor *)o)->action = (enum policy_monitor_action)a;
	return 0;
}
static int monitor_item(struct ld *l, yaml_node_t *n, void *o)
{
	static const struct field f[] = {
		{ "name", m_name, 1 }, { "metric", m_metric, 1 },
		{ "window", m_window, 1 }, { "min_volume", m_volume, 1 },
		{ "threshold", m_threshold, 1 }, { "action", m_action, 1 },
		{ NULL, NULL, 0 },
	};
	return walk_map(l, n, f, &l->p->monitors[l->p->nmonitors++], "monitor");
}

/* ---- hooks -------------------------------------------------------------- */

static int h_name(struct ld *l, yaml_node_t *n, void *o)
{
	return get_str(l, n, &((struct pol_hook *)o)->pub.name);
}
static int h_address(struct ld *l, yaml_node_t *n, void *o)
{
	struct pol_hook *h = o;
	enum policy_hook_family fam;
	char host[256], port[16];
	if (get_str(l, n, &h->pub.address) < 0)
		return -1;
	if (policy_hook_address_split(h->pub.address, &fam, host, sizeof(host),
	    port, sizeof(port)) < 0)
		return fail(l, n, "bad hook address \"%s\": expected unix:/path "
		    "or tcp:host:port", h->pub.address);
	return 0;
}
static int h_timeout(struct ld *l, yaml_node_t *n, void *o)
{
	int64_t ms;
	if (get_duration_ms(l, n, &ms) < 0)
		return -1;
	if (ms > 60000)
		return fail(l, n, "hook timeout above 60s");
	((struct pol_hook *)o)->pub.timeout_ms = (int)ms;
	return 0;
}
static int h_on_timeout(struct ld *l, yaml_node_t *n, void *o)
{
	static const char *const names[] = { "accept", "reject", "defer" };
	int a;
	if (get_enum(l, n, names, 3, "hook action", &a) < 0)
		return -1;
	((struct pol_hook *)o)->pub.on_timeout = (enum policy_action)a;
	return 0;
}
static int h_use_cases(struct ld *l, yaml_node_t *n, void *o)
{
	return use_case_mask(l, n, &((struct pol_hook *)o)->use_cases);
}
static int h_connections(struct ld *l, yaml_node_t *n, void *o)
{
	uint32_t v = 0;
	if (get_u32(l, n, 1, 64, &v) < 0)
		return -1;
	((struct pol_hook *)o)->pub.connections = v;
	return 0;
}
static int h_defer(struct ld *l, yaml_node_t *n, void *o)
{
	return get_duration_ms(l, n, &((struct pol_hook *)o)->pub.defer_ms);
}
static int hook_item(struct ld *l, yaml_node_t *n, void *o)
{
	static const struct field f[] = {
		{ "name", h_name, 1 }, { "address", h_address, 1 },
		{ "timeout", h_timeout, 0 }, { "on_timeout", h_on_timeout, 0 },
		{ "use_cases", h_use_cases, 0 },
		{ "connections", h_connections, 0 }, { "defer", h_defer, 0 },
		{ NULL, NULL, 0 },
	};
	struct pol_hook *h = &l->p->hooks[l->p->nhooks];
	h->pub.timeout_ms = 1000;
	h->pub.on_timeout = POLICY_DEFER;
	h->pub.connections = 4;
	h->pub.defer_ms = 5 * 60 * 1000;
	if (walk_map(l, n, f, h, "hook") < 0)
		return -1;
	l->p->nhooks++;
	return 0;
}

/* ---- top level ---------------------------------------------------------- */

enum { S_VERSION, S_SCOPE, S_TABLES, S_BRANDS, S_CAMPAIGNS, S_KEYWORDS,
	S_CONTENT, S_SEGMENTS, S_CAPS, S_QUIET, S_MONITORS, S_HOOKS,
	S_THROUGHPUT, S_COUNT };

static const char *const section_names[S_COUNT] = {
	"version", "opt_out_scope", "number_tables", "brands", "campaigns",
	"keywords", "content", "segment_limit", "frequency_caps", "quiet_hours",
	"monitors", "hooks", "throughput",
};

/* Allocates an array sized by a list section, with a limit. */
static void *list_array(struct ld *l, yaml_node_t *n, size_t elem,
    size_t max, const char *what, int *bad)
{
	*bad = 0;
	if (want(l, n, YAML_SEQUENCE_NODE, what) < 0) {
		*bad = 1;
		return NULL;
	}
	if (seq_len(n) > max) {
		fail(l, n, "at most %zu entries allowed", max);
		*bad = 1;
		return NULL;
	}
	return arena_alloc(l->a, (seq_len(n) + 1) * elem);
}

static int load_brands_campaigns(struct ld *l)
{
	struct policy *p = l->p;
	yaml_node_t *b = l->sec[S_BRANDS], *c = l->sec[S_CAMPAIGNS];
	int bad;
	if (b == NULL)
		return fail(l, l->root, "the policy needs \"brands\"");
	p->brands = list_array(l, b, sizeof(*p->brands), 100000, "a list of "
	    "brands", &bad);
	if (bad || walk_seq(l, b, "a list of brands", brand_item, NULL) < 0)
		return -1;
	if (c == NULL)
		return fail(l, l->root, "the policy needs \"campaigns\"");
	p->campaigns = list_array(l, c, sizeof(*p->campaigns), 100000,
	    "a list of campaigns", &bad);
	if (bad)
		return -1;
	return walk_seq(l, c, "a list of campaigns", campaign_item, NULL);
}

static int load_keywords_content(struct ld *l)
{
	static const struct field kw[] = {
		{ "opt_out", k_optout, 1 }, { "opt_in", k_optin, 0 },
		{ "help", k_help, 0 }, { NULL, NULL, 0 },
	};
	static const struct field ct[] = {
		{ "lexicons", ct_lexicons, 0 },
		{ "url_shorteners", ct_shorteners, 0 },
		{ "regexes", ct_regexes, 0 }, { NULL, NULL, 0 },
	};
	if (l->sec[S_KEYWORDS] == NULL)
		default_keywords(l);
	else if (walk_map(l, l->sec[S_KEYWORDS], kw, NULL, "keywords") < 0)
		return -1;
	if (l->sec[S_CONTENT] && walk_map(l, l->sec[S_CONTENT], ct, NULL,
	    "content") < 0)
		return -1;
	if (l->sec[S_SEGMENTS] && get_u32(l, l->sec[S_SEGMENTS], 1, 255,
	    &l->p->segment_limit) < 0)
		return -1;
	return 0;
}

static int load_rules(struct ld *l)
{
	static const struct field qh[] = {
		{ "default", qh_default, 0 }, { "exempt_use_cases", qh_exempt, 0 },
		{ "states", qh_states, 0 }, { NULL, NULL, 0 },
	};
	struct policy *p = l->p;
	int bad;
	yaml_node_t *n;
	if ((n = l->sec[S_CAPS])) {
		p->caps = list_array(l, n, sizeof(*p->caps), 64, "a list of "
		    "frequency caps", &bad);
		if (bad || walk_seq(l, n, "frequency caps", cap_item, NULL) < 0)
			return -1;
	}
	if ((n = l->sec[S_QUIET]) && walk_map(l, n, qh, NULL, "quiet_hours") < 0)
		return -1;
	if ((n = l->sec[S_MONITORS])) {
		p->monitors = list_array(l, n, sizeof(*p->monitors),
		    POLICY_MAX_MONITORS, "a list of monitors", &bad);
		if (bad || walk_seq(l, n, "monitors", monitor_item, NULL) < 0)
			return -1;
	}
	if ((n = l->sec[S_HOOKS])) {
		p->hooks = list_array(l, n, sizeof(*p->hooks), POLICY_MAX_HOOKS,
		    "a list of hooks", &bad);
		if (bad || walk_seq(l, n, "hooks", hook_item, NULL) < 0)
			return -1;
	}
	return 0;
}

static int nm_long(struct ld *l, yaml_node_t *n, void *o)
{
	return get_rate(l, n, 100000, &((double *)o)[NUM_LONG_CODE]);
}
static int nm_toll_free(struct ld *l, yaml_node_t *n, void *o)
{
	return get_rate(l, n, 100000, &((double *)o)[NUM_TOLL_FREE]);
}
static int nm_short(struct ld *l, yaml_node_t *n, void *o)
{
	return get_rate(l, n, 100000, &((double *)o)[NUM_SHORT_CODE]);
}
static int tp_number_mps(struct ld *l, yaml_node_t *n, void *o)
{
	static const struct field f[] = {
		{ "long_code", nm_long, 0 }, { "toll_free", nm_toll_free, 0 },
		{ "short_code", nm_short, 0 }, { NULL, NULL, 0 },
	};
	return walk_map(l, n, f, o, "number_mps");
}

/* Throughput defaults the dispatcher reads (campaign and brand limits
 * live with the campaign and the brand). */
static int load_throughput(struct ld *l)
{
	static const struct field f[] = {
		{ "number_mps", tp_number_mps, 0 }, { NULL, NULL, 0 },
	};
	if (l->sec[S_THROUGHPUT] == NULL)
		return 0;
	return walk_map(l, l->sec[S_THROUGHPUT], f, l->p->number_mps,
	    "throughput");
}

struct tables {
	yaml_node_t *tz, *states;
};
static int t_tz(struct ld *l, yaml_node_t *n, void *o)
{
	((struct tables *)o)->tz = n;
	return want(l, n, YAML_SCALAR_NODE, "a file name");
}
static int t_states(struct ld *l, yaml_node_t *n, void *o)
{
	((struct tables *)o)->states = n;
	return want(l, n, YAML_SCALAR_NODE, "a file name");
}

/* Table paths are relative to the policy file, so that conf/ moves as
 * one piece. */
static void resolve(const char *policy_path, const char *name, char *out,
    size_t cap)
{
	const char *slash = strrchr(policy_path, '/');
	if (name[0] == '/' || slash == NULL)
		snprintf(out, cap, "%s", name);
	else
		snprintf(out, cap, "%.*s/%s", (int)(slash - policy_path),
		    policy_path, name);
}

static int load_tables(struct ld *l)
{
	static const struct field f[] = {
		{ "timezones", t_tz, 0 }, { "states", t_states, 0 },
		{ NULL, NULL, 0 },
	};
	struct tables t = { NULL, NULL };
	if (l->sec[S_TABLES] && walk_map(l, l->sec[S_TABLES], f, &t,
	    "number_tables") < 0)
		return -1;
	char tz[PATH_MAX], st[PATH_MAX];
	resolve(l->path, t.tz ? sval(t.tz) : "nanp-tz.tsv", tz, sizeof(tz));
	resolve(l->path, t.states ? sval(t.states) : "nanp-states.tsv", st,
	    sizeof(st));
	return numtab_load(l->p, tz, st, l->err, l->errcap);
}

static int scan_top(struct ld *l, yaml_node_t *root)
{
	if (want(l, root, YAML_MAPPING_NODE, "a mapping at the top") < 0)
		return -1;
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	    pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(l, pr->key);
		if (want(l, k, YAML_SCALAR_NODE, "a key") < 0)
			return -1;
		int i = 0;
		while (i < S_COUNT && strcmp(section_names[i], sval(k)) != 0)
			i++;
		if (i == S_COUNT)
			return fail(l, k, "unknown key \"%s\" at the top level",
			    sval(k));
		if (l->sec[i])
			return fail(l, k, "key \"%s\" repeated", sval(k));
		l->sec[i] = node(l, pr->value);
	}
	return 0;
}

static int load_scalars(struct ld *l)
{
	static const char *const scopes[] = { "brand", "global" };
	uint32_t version;
	if (l->sec[S_VERSION] && (get_u32(l, l->sec[S_VERSION], 1, 1,
	    &version) < 0))
		return -1;
	if (l->sec[S_SCOPE] && get_enum(l, l->sec[S_SCOPE], scopes, 2,
	    "opt-out scope", &l->p->optout_global) < 0)
		return -1;
	return 0;
}

static int load_document(struct ld *l)
{
	yaml_node_t *root = yaml_document_get_root_node(&l->doc);
	if (root == NULL)
		return fail(l, NULL, "empty policy file");
	l->root = root;
	if (scan_top(l, root) < 0 || load_scalars(l) < 0
	    || load_brands_campaigns(l) < 0 || load_keywords_content(l) < 0
	    || load_rules(l) < 0 || load_throughput(l) < 0)
		return -1;
	return load_tables(l);
}

static struct policy *policy_new(void)
{
	struct arena a = { NULL };
	struct policy *p = arena_alloc(&a, sizeof(*p));
	p->arena = a;
	p->refs = 1;
	p->segment_limit = 10;
	p->quiet_default = (struct pol_window){ 8 * 60, 21 * 60, 0x7f };
	p->quiet_exempt = 1u << 0;  /* 2FA */
	/* COMPLIANCE.md: 10DLC about 1, toll-free 3, short code 100 */
	p->number_mps[NUM_LONG_CODE] = 1;
	p->number_mps[NUM_TOLL_FREE] = 3;
	p->number_mps[NUM_SHORT_CODE] = 100;
	return p;
}

static void policy_free(struct policy *p)
{
	for (unsigned i = 0; i < p->nregexes; i++)
		regfree(&p->regexes[i].re);
	if (p->has_regex_all)
		regfree(&p->regex_all);
	struct arena a = p->arena;   /* p lives in its own arena */
	arena_free(&a);
}

static int parse_file(struct ld *l, FILE *f)
{
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return fail(l, NULL, "out of memory");
	yaml_parser_set_input_file(&parser, f);
	int ok = yaml_parser_load(&parser, &l->doc);
	if (!ok) {
		snprintf(l->err, l->errcap, "%s:%zu: %s%s%s", l->path,
		    parser.problem_mark.line + 1,
		    parser.problem ? parser.problem : "YAML error",
		    parser.context ? " " : "",
		    parser.context ? parser.context : "");
	}
	yaml_parser_delete(&parser);
	return ok ? 0 : -1;
}

int policy_load(const char *path, struct policy **out, char *err,
    size_t errcap)
{
	struct ld l = { .path = path, .err = err, .errcap = errcap };
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errcap, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	int rc = parse_file(&l, f);
	fclose(f);
	if (rc < 0)
		return -1;
	l.p = policy_new();
	l.a = &l.p->arena;
	rc = load_document(&l);
	yaml_document_delete(&l.doc);
	if (rc < 0) {
		/* the arena moved as it grew: free through the policy's copy */
		policy_free(l.p);
		return -1;
	}
	*out = l.p;
	return 0;
}

struct policy *policy_ref(struct policy *p)
{
	__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

void policy_unref(struct policy *p)
{
	/* Release/acquire: the thread that frees sees every read others
	 * made through their references. */
	if (p && __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0)
		policy_free(p);
}
