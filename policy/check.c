/*
 * The check pipeline (order and statuses documented in policy.h).  Each
 * step is one function that returns 0 to go on or 1 once it has decided
 * the verdict; policy_check() runs them in order.  Nothing here
 * allocates: scratch lives on the stack, the rewritten text in the
 * caller's buffer.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/impl.h"

enum { STORE_RETRY = 60 };

struct ctx {
	const struct policy *p;
	const struct policy_lookup *lk;
	const struct policy_msg *m;
	int64_t now;
	struct policy_verdict *v;
	const struct pol_campaign *c;
	const struct pol_brand *b;
	char src[24];
	char dst[24];
	int dst_ok;
	const char *prefix;       /* to prepend, or NULL */
	const char *footer;       /* to append, or NULL */
};

static int decide(struct ctx *x, enum policy_action a, uint32_t status,
    const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int decide(struct ctx *x, enum policy_action a, uint32_t status,
    const char *rule, const char *fmt, ...)
{
	x->v->action = a;
	x->v->status = status;
	x->v->rule = rule;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->v->reason, sizeof(x->v->reason), fmt, ap);
	va_end(ap);
	return 1;
}

/* A lookup that fails must not let a message through (it might be to
 * someone who opted out) nor bounce it (it is the store's fault): defer
 * for a short while and check again. */
static int store_failed(struct ctx *x, const char *what)
{
	x->v->defer_until = x->now + STORE_RETRY;
	return decide(x, POLICY_DEFER, POLICY_ST_OK, "store",
	    "%s lookup failed; retrying", what);
}

/* Digits of an address, '+' dropped; 0 if anything else is in it. */
static int digits_of(const char *s, char *out, size_t cap)
{
	if (s == NULL)
		return 0;
	if (*s == '+')
		s++;
	size_t n = strlen(s);
	if (n == 0 || n >= cap || strspn(s, "0123456789") != n)
		return 0;
	memcpy(out, s, n + 1);
	return 1;
}

static int nanp_valid(const char *d)
{
	return strlen(d) == 11 && d[0] == '1' && d[1] >= '2' && d[4] >= '2';
}

static int toll_free(const char *d)
{
	static const char *const npa[] = { "800", "833", "844", "855", "866",
		"877", "888" };
	if (strlen(d) != 11 || d[0] != '1')
		return 0;
	for (size_t i = 0; i < sizeof(npa) / sizeof(npa[0]); i++)
		if (memcmp(d + 1, npa[i], 3) == 0)
			return 1;
	return 0;
}

/* 1. registration */
static int step_registration(struct ctx *x)
{
	const struct policy *p = x->p;
	int32_t ci = digits_of(x->m->source, x->src, sizeof(x->src))
	    ? strset_get(&p->numbers, x->src, strlen(x->src)) : -1;
	if (ci < 0)
		return decide(x, POLICY_REJECT, POLICY_ST_INVSRCADR,
		    "registration", "source %s is not registered to a campaign",
		    x->m->source ? x->m->source : "(none)");
	x->c = &p->campaigns[ci];
	x->b = &p->brands[x->c->brand];
	x->v->campaign = x->c->id;
	x->v->brand = x->b->name;
	x->v->use_case = use_case_names[x->c->use_case];
	static const char *const st[] = { "pending", "approved", "suspended",
		"rejected" };
	if (x->c->status != CS_APPROVED)
		return decide(x, POLICY_REJECT, POLICY_ST_CAMPAIGN, "campaign",
		    "campaign %s is %s", x->c->id, st[x->c->status]);
	if (toll_free(x->src) && !x->c->toll_free_verified)
		return decide(x, POLICY_REJECT, POLICY_ST_CAMPAIGN, "campaign",
		    "toll-free number %s is not verified", x->src);
	int yes = 0;
	if (x->lk->paused && x->lk->paused(x->lk->arg, x->c->id, &yes) < 0)
		return store_failed(x, "pause");
	if (yes)
		return decide(x, POLICY_REJECT, POLICY_ST_CAMPAIGN, "campaign",
		    "campaign %s is paused (by a monitor or an operator)", x->c->id);
	return 0;
}

/* 2. opt-out */
static int step_optout(struct ctx *x)
{
	int yes = 0;
	const char *scope = x->p->optout_global ? NULL : x->b->name;
	if (x->lk->opted_out && x->lk->opted_out(x->lk->arg, scope, x->dst,
	    &yes) < 0)
		return store_failed(x, "opt-out");
	if (yes)
		return decide(x, POLICY_REJECT, POLICY_ST_OPTED_OUT, "opt_out",
		    "%s opted out of %s", x->dst, scope ? scope : "all messages");
	return 0;
}

/* 3. consent */
static int step_consent(struct ctx *x)
{
	int yes = 0;
	if (!x->c->consent_required)
		return 0;
	if (x->lk->consent && x->lk->consent(x->lk->arg, x->b->name, x->c->id,
	    x->dst, &yes) < 0)
		return store_failed(x, "consent");
	if (!yes)
		return decide(x, POLICY_REJECT, POLICY_ST_NO_CONSENT, "consent",
		    "no consent from %s for campaign %s", x->dst, x->c->id);
	return 0;
}

/* 4. number validity */
static int step_number(struct ctx *x)
{
	if (!x->dst_ok)
		return decide(x, POLICY_REJECT, POLICY_ST_INVDSTADR, "number",
		    "destination %s is not a NANP number",
		    x->m->destination ? x->m->destination : "(none)");
	x->v->state = numtab_state(x->p, x->dst);
	return 0;
}

/* 5. line type */
static int step_line_type(struct ctx *x)
{
	enum policy_line lt = POLICY_LINE_UNKNOWN;
	if (x->lk->line_type && x->lk->line_type(x->lk->arg, x->dst, &lt) < 0)
		return store_failed(x, "line type");
	if (lt == POLICY_LINE_LANDLINE || lt == POLICY_LINE_INVALID)
		return decide(x, POLICY_REJECT, POLICY_ST_LINE_TYPE, "line_type",
		    "%s is %s", x->dst, lt == POLICY_LINE_LANDLINE
		    ? "a landline" : "not SMS-capable");
	return 0;
}

/* 6. content */
static int step_content(struct ctx *x)
{
	char why[96];
	const char *rule = content_check(x->p, x->m->text, x->m->text_len, why,
	    sizeof(why));
	if (rule)
		return decide(x, POLICY_REJECT, POLICY_ST_CONTENT, rule, "%s", why);
	return 0;
}

/* Case-insensitive "does text start with the prefix", ignoring the
 * prefix's trailing blanks ("Acme: " is present in "ACME:hi"). */
static int has_prefix(const char *text, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	while (n && isspace((unsigned char)prefix[n - 1]))
		n--;
	return n <= len && strncasecmp(text, prefix, n) == 0;
}

/* Opt-out language is present if the word STOP is, in any case. */
static int has_stop(const char *s, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++) {
		if (strncasecmp(s + i, "stop", 4) != 0)
			continue;
		int before = i == 0 || !isalnum((unsigned char)s[i - 1]);
		int after = i + 4 == len || !isalnum((unsigned char)s[i + 4]);
		if (before && after)
			return 1;
	}
	return 0;
}

/* 7. sender identification */
static int step_sender_id(struct ctx *x)
{
	int seen = 1;
	if (!x->b->add_prefix)
		return 0;
	if (has_prefix(x->m->text, x->m->text_len, x->b->prefix)) {
		x->v->record |= POLICY_RECORD_CONTACT;  /* not looked up */
		return 0;
	}
	if (x->lk->contacted && x->lk->contacted(x->lk->arg, x->b->name,
	    x->dst, &seen) < 0)
		return store_failed(x, "first-contact");
	if (!seen) {
		x->prefix = x->b->prefix;
		x->v->record |= POLICY_RECORD_CONTACT;
	}
	return 0;
}

/* 8. opt-out footer */
static int step_footer(struct ctx *x)
{
	const struct pol_campaign *c = x->c;
	if (c->footer == FOOT_NEVER || has_stop(x->m->text, x->m->text_len))
		return 0;
	if (c->footer == FOOT_INTERVAL) {
		int64_t last = 0;
		if (x->lk->last_footer && x->lk->last_footer(x->lk->arg, c->id,
		    x->dst, &last) < 0)
			return store_failed(x, "footer");
		if (last && x->now - last < c->footer_interval)
			return 0;
	}
	x->footer = c->footer_text;
	return 0;
}

/* Builds prefix + text + "\n" + footer in the caller's buffer. */
static int compose(struct ctx *x)
{
	struct policy_verdict *v = x->v;
	size_t pl = x->prefix ? strlen(x->prefix) : 0;
	size_t fl = x->footer ? strlen(x->footer) + 1 : 0;
	size_t len = pl + x->m->text_len + fl;
	if (pl == 0 && fl == 0)
		return 0;
	if (v->text_buf == NULL || v->text_cap < len)
		return decide(x, POLICY_REJECT, POLICY_ST_SEGMENTS, "segments",
		    "text with the required prefix/footer does not fit");
	if (pl)
		memcpy(v->text_buf, x->prefix, pl);
	if (x->m->text_len)
		memcpy(v->text_buf + pl, x->m->text, x->m->text_len);
	if (fl) {
		v->text_buf[pl + x->m->text_len] = '\n';
		memcpy(v->text_buf + pl + x->m->text_len + 1, x->footer, fl - 1);
	}
	v->text = v->text_buf;
	v->text_len = len;
	v->modified = (pl ? POLICY_MOD_PREFIX : 0) | (fl ? POLICY_MOD_FOOTER : 0);
	if (fl && x->c->footer == FOOT_INTERVAL)
		v->record |= POLICY_RECORD_FOOTER;
	return 0;
}

/* 9. segments, of the text as it will leave */
static int step_segments(struct ctx *x)
{
	struct policy_verdict *v = x->v;
	if (compose(x))
		return 1;
	v->segments = policy_segments(v->text, v->text_len, &v->ucs2);
	if (v->segments > x->p->segment_limit)
		return decide(x, POLICY_REJECT, POLICY_ST_SEGMENTS, "segments",
		    "%u segments, limit %u%s", v->segments, x->p->segment_limit,
		    v->modified ? " (with the added prefix/footer)" : "");
	return 0;
}

static int cap_applies(const struct pol_cap *cap, const char *state,
    int use_case)
{
	if (cap->exempt & (1u << use_case))
		return 0;
	if (cap->nstates == 0)
		return 1;
	for (unsigned i = 0; state && i < cap->nstates; i++)
		if (strcmp(cap->states[i], state) == 0)
			return 1;
	return 0;
}

/* 10. frequency caps */
static int step_frequency(struct ctx *x)
{
	for (unsigned i = 0; i < x->p->ncaps; i++) {
		const struct pol_cap *cap = &x->p->caps[i];
		if (!cap_applies(cap, x->v->state, x->c->use_case))
			continue;
		x->v->record |= POLICY_RECORD_SEND;
		if (x->lk->sent_since == NULL)
			continue;
		uint32_t count = 0;
		int64_t oldest = 0;
		if (x->lk->sent_since(x->lk->arg, x->b->name, x->dst,
		    x->now - cap->window, &count, &oldest) < 0)
			return store_failed(x, "send history");
		if (count < cap->max)
			continue;
		if (!cap->defer)
			return decide(x, POLICY_REJECT, POLICY_ST_FREQUENCY,
			    "frequency", "%s: %u messages to %s in the window",
			    cap->name, count, x->dst);
		/* The oldest send leaves the window first, one second after
		 * oldest + window (sends at `since` still count); on release
		 * the daemon runs the checks again. */
		x->v->defer_until = oldest + cap->window + 1;
		return decide(x, POLICY_DEFER, POLICY_ST_OK, "frequency",
		    "%s: %u messages to %s in the window", cap->name, count,
		    x->dst);
	}
	return 0;
}

/* 11. quiet hours */
static int step_quiet(struct ctx *x)
{
	const struct pol_campaign *c = x->c;
	int exempt = c->quiet_exempt >= 0 ? c->quiet_exempt
	    : (int)((x->p->quiet_exempt >> c->use_case) & 1);
	int64_t opens;
	if (exempt || quiet_open(x->p, c, x->dst, x->v->state, x->now, &opens))
		return 0;
	if (opens < 0) {
		x->v->defer_until = x->now + 86400;
		return decide(x, POLICY_DEFER, POLICY_ST_OK, "quiet_hours",
		    "no sending window within 8 days for %s", x->dst);
	}
	x->v->defer_until = opens;
	return decide(x, POLICY_DEFER, POLICY_ST_OK, "quiet_hours",
	    "outside the sending window for %s%s%s", x->dst,
	    x->v->state ? " in " : "", x->v->state ? x->v->state : "");
}

/* 12. hooks: named, not called */
static int step_hooks(struct ctx *x)
{
	for (unsigned i = 0; i < x->p->nhooks; i++) {
		const struct pol_hook *h = &x->p->hooks[i];
		if (h->use_cases && !(h->use_cases & (1u << x->c->use_case)))
			continue;
		x->v->hooks[x->v->nhooks++] = &h->pub;
	}
	return 0;
}

static void verdict_reset(struct ctx *x)
{
	struct policy_verdict *v = x->v;
	v->action = POLICY_ACCEPT;
	v->status = POLICY_ST_OK;
	v->rule = NULL;
	v->reason[0] = '\0';
	v->defer_until = 0;
	v->campaign = v->brand = v->use_case = v->state = NULL;
	v->text = x->m->text;
	v->text_len = x->m->text_len;
	v->modified = 0;
	v->record = 0;
	v->segments = 0;
	v->ucs2 = 0;
	v->nhooks = 0;
}

int policy_check(const struct policy *p, const struct policy_lookup *lk,
    const struct policy_msg *msg, int64_t now, struct policy_verdict *v)
{
	static int (*const steps[])(struct ctx *) = {
		step_registration, step_optout, step_consent, step_number,
		step_line_type, step_content, step_sender_id, step_footer,
		step_segments, step_frequency, step_quiet, step_hooks,
	};
	if (p == NULL || lk == NULL || msg == NULL || v == NULL
	    || (msg->text == NULL && msg->text_len))
		return -1;
	struct ctx x = { .p = p, .lk = lk, .m = msg, .now = now, .v = v };
	verdict_reset(&x);
	x.dst_ok = digits_of(msg->destination, x.dst, sizeof(x.dst))
	    && nanp_valid(x.dst);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i](&x)) {
			/* a deferred message is judged by the hooks now: when it is
			 * released nothing asks them again */
			if (v->action == POLICY_DEFER && x.c)
				step_hooks(&x);
			return 0;
		}
	}
	return 0;
}

int policy_campaign_of(const struct policy *p, const char *source,
    const char **campaign, const char **brand, const char **use_case)
{
	char d[24];
	int32_t ci = digits_of(source, d, sizeof(d))
	    ? strset_get(&p->numbers, d, strlen(d)) : -1;
	if (ci < 0)
		return -1;
	const struct pol_campaign *c = &p->campaigns[ci];
	if (campaign)
		*campaign = c->id;
	if (brand)
		*brand = p->brands[c->brand].name;
	if (use_case)
		*use_case = use_case_names[c->use_case];
	return 0;
}

int policy_number_zones(const struct policy *p, const char *number,
    const char **zones, size_t cap, const char **state)
{
	char d[24];
	const uint8_t *zl;
	if (!digits_of(number, d, sizeof(d)))
		return 0;
	if (state)
		*state = numtab_state(p, d);
	unsigned n = numtab_zones(p, d, strlen(d), &zl);
	for (unsigned i = 0; i < n && i < cap; i++)
		zones[i] = tz_name(zl[i]);
	return (int)n;
}

const struct pol_campaign *campaign_by_id(const struct policy *p,
    const char *id)
{
	if (p == NULL || id == NULL)
		return NULL;
	int32_t i = strset_get(&p->campaign_ids, id, strlen(id));
	return i < 0 ? NULL : &p->campaigns[i];
}

uint32_t policy_campaign_per_minute(const struct policy *p, const char *campaign)
{
	const struct pol_campaign *c = campaign_by_id(p, campaign);
	return c ? c->per_minute : 0;
}

/* Urgent use cases first, conversations next, promotions last. */
static unsigned default_priority(int use_case)
{
	const char *uc = use_case_names[use_case];
	if (!strcmp(uc, "2FA") || !strcmp(uc, "FRAUD_ALERT")
	    || !strcmp(uc, "SECURITY_ALERT") || !strcmp(uc, "EMERGENCY"))
		return 0;
	if (!strcmp(uc, "MARKETING") || !strcmp(uc, "MIXED")
	    || !strcmp(uc, "POLITICAL") || !strcmp(uc, "POLLING_VOTING"))
		return 4;
	return 2;
}

int policy_campaign_limits(const struct policy *p, const char *campaign,
    struct policy_limits *out)
{
	const struct pol_campaign *c = campaign_by_id(p, campaign);
	*out = (struct policy_limits){ .priority = POLICY_PRIORITY_DEFAULT,
		.weight = 1 };
	if (c == NULL)
		return -1;
	const struct pol_brand *b = &p->brands[c->brand];
	out->per_minute = c->per_minute;
	out->priority = c->priority >= 0 ? (unsigned)c->priority
	    : default_priority(c->use_case);
	out->weight = c->weight ? c->weight : 1;
	out->brand = b->name;
	out->daily_cap = b->daily_cap;
	out->cap_reset_min = b->cap_reset_min;
	return 0;
}

static enum pol_number_kind number_kind(const char *digits)
{
	size_t len = strlen(digits);
	if (len == 5 || len == 6)
		return NUM_SHORT_CODE;
	return toll_free(digits) ? NUM_TOLL_FREE : NUM_LONG_CODE;
}

double policy_number_mps(const struct policy *p, const char *source)
{
	char d[24];
	if (p == NULL || !digits_of(source, d, sizeof(d)))
		return 0;
	int32_t ci = strset_get(&p->numbers, d, strlen(d));
	if (ci < 0)
		return 0;
	const struct pol_campaign *c = &p->campaigns[ci];
	return c->number_mps > 0 ? c->number_mps : p->number_mps[number_kind(d)];
}

const char *policy_campaign_id(const struct policy *p, unsigned i)
{
	return p && i < p->ncampaigns ? p->campaigns[i].id : NULL;
}

int policy_has_campaign(const struct policy *p, const char *campaign)
{
	return campaign_by_id(p, campaign) != NULL;
}

int policy_window_open(const struct policy *p, const char *campaign,
    const char *number, int64_t now, int64_t *opens)
{
	char d[24];
	const struct pol_campaign *c = campaign_by_id(p, campaign);
	if (!digits_of(number, d, sizeof(d))) {
		*opens = -1;
		return 0;
	}
	if (c && (c->quiet_exempt >= 0 ? c->quiet_exempt :
	    (int)((p->quiet_exempt >> c->use_case) & 1)))
		return 1; /* exempt use case (2FA, ...): always open */
	return quiet_open(p, c, d, numtab_state(p, d), now, opens);
}
