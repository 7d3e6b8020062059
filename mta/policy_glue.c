/*
 * The relay's side of the compliance policy: loading and reloading
 * policy.yaml, the state lookups the checks read, and the audit log.
 */
#include <stdio.h>
#include <string.h>

#include "mta/log.h"
#include "mta/monitor.h"
#include "mta/relay.h"
#include "policy/policy.h"

/*
 * Until consent, opt-outs and line types have a store behind them, the
 * checks see "nothing on record": no opt-out, no consent, unknown line.
 */
static int no(void *arg, const char *a, const char *b, int *yes)
{
	(void)arg;
	(void)a;
	(void)b;
	*yes = 0;
	return 0;
}

static int no_consent(void *arg, const char *brand, const char *campaign,
    const char *number, int *yes)
{
	(void)arg;
	(void)brand;
	(void)campaign;
	(void)number;
	*yes = 0;
	return 0;
}

static int unknown_line(void *arg, const char *number, enum policy_line *lt)
{
	(void)arg;
	(void)number;
	*lt = POLICY_LINE_UNKNOWN;
	return 0;
}

static int never_footer(void *arg, const char *campaign, const char *number, int64_t *when)
{
	(void)arg;
	(void)campaign;
	(void)number;
	*when = 0;
	return 0;
}

static int none_sent(void *arg, const char *brand, const char *number, int64_t since,
    uint32_t *count, int64_t *oldest)
{
	(void)arg;
	(void)brand;
	(void)number;
	(void)since;
	*count = 0;
	*oldest = 0;
	return 0;
}

static int not_paused(void *arg, const char *campaign, int *yes)
{
	(void)arg;
	(void)campaign;
	*yes = 0;
	return 0;
}

static const struct policy_lookup empty_lookup = {
	NULL, no, no_consent, unknown_line, no, never_footer, none_sent, not_paused,
};

const struct policy_lookup *relay_lookup(struct relay *r)
{
	return r->lookup ? r->lookup : &empty_lookup;
}

int relay_policy_load(struct relay *r, char *err, size_t errcap)
{
	if (!r->policy_path)
		return 0;
	struct policy *p = NULL;
	if (policy_load(r->policy_path, &p, err, errcap) != 0)
		return -1;
	struct policy *old = r->policy;
	r->policy = p; /* the swap: checks from now on see the new policy */
	policy_unref(old);
	if (r->compliance)
		compliance_policy_changed(r->compliance);
	/* the monitors' rings are indexed by the old list of monitors */
	monitors_reset(r->monitors);
	return 0;
}

struct account_rt *relay_account_for_campaign(struct relay *r, const char *campaign)
{
	struct account_rt *owner;
	if (!campaign)
		return NULL;
	if (relay_campaign_owner(r, campaign, &owner))
		return owner;
	for (size_t i = 0; i < r->cfg->n_accounts; i++) {
		const struct config_account *a = r->accounts[i]->cfg;
		if ((a->default_campaign && strcmp(a->default_campaign, campaign) == 0) ||
		    config_campaign_listed(a, campaign))
			return r->accounts[i];
	}
	return NULL;
}
