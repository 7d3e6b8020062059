/*
 * mta/monitor: per-campaign rate monitor state and its actions, and the
 * line types carrier codes reveal (see monitor.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "mta/log.h"
#include "mta/monitor.h"

#define BUCKETS 1024          /* campaigns are few: chains stay short */
#define MAX_ALARMS POLICY_MAX_MONITORS

struct campaign_rate {
	struct campaign_rate *next;
	struct policy_monitor_state st;
	char name[];
};

struct monitors {
	struct compliance *c;
	struct store *st;
	struct campaign_rate *b[BUCKETS];
	size_t n;
};

static size_t bucket_of(const char *s)
{
	uint64_t h = fnv1a_str(FNV1A_BASIS, s);
	return (size_t)(h ^ (h >> 32)) % BUCKETS;
}

struct monitors *monitors_new(struct compliance *c, struct store *st)
{
	struct monitors *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->c = c;
	m->st = st;
	return m;
}

void monitors_free(struct monitors *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		for (struct campaign_rate *e = m->b[i], *nx; e; e = nx) {
			nx = e->next;
			free(e);
		}
	free(m);
}

void monitors_reset(struct monitors *m)
{
	for (size_t i = 0; m && i < BUCKETS; i++)
		for (struct campaign_rate *e = m->b[i]; e; e = e->next)
			policy_monitor_init(&e->st);
}

size_t monitors_campaigns(const struct monitors *m)
{
	return m ? m->n : 0;
}

/* The campaign's state, created on its first event; NULL if the policy
 * does not know the campaign (no state for names from elsewhere). */
static struct campaign_rate *state_of(struct monitors *m,
    const struct policy *p, const char *campaign, int *nomem)
{
	size_t b = bucket_of(campaign);
	for (struct campaign_rate *e = m->b[b]; e; e = e->next)
		if (strcmp(e->name, campaign) == 0)
			return e;
	if (!policy_has_campaign(p, campaign))
		return NULL;
	size_t len = strlen(campaign);
	struct campaign_rate *e = malloc(sizeof(*e) + len + 1);
	if (e == NULL) {
		*nomem = 1;
		return NULL;
	}
	policy_monitor_init(&e->st);
	memcpy(e->name, campaign, len + 1);
	e->next = m->b[b];
	m->b[b] = e;
	m->n++;
	return e;
}

int monitors_alert_counter(char *out, size_t cap, const char *campaign,
    const char *monitor)
{
	int n = snprintf(out, cap, "monitor_alerts:%s:%s", campaign, monitor);
	return n < 0 || (size_t)n >= cap || n > STORE_STR_MAX ? -1 : 0;
}

static const char *action_name(enum policy_monitor_action a)
{
	switch (a) {
	case POLICY_MON_LOG: return "log";
	case POLICY_MON_ALERT: return "alert";
	default: return "pause";
	}
}

/* An alert is counted in the store so that operators can read it after
 * the log has rotated; the audit entry says when and why. */
static void alert(struct monitors *m, const char *campaign,
    const struct policy_monitor_alarm *a, const char *why, int64_t now)
{
	char name[STORE_STR_MAX + 1];
	if (monitors_alert_counter(name, sizeof(name), campaign, a->monitor) == 0) {
		struct store_op op = { .kind = STORE_OP_COUNTER_ADD };
		op.u.counter.name = name;
		op.u.counter.window = 0;
		op.u.counter.delta = 1;
		int rc = store_submit(m->st, &op, 1);
		if (rc < 0)
			log_error("monitor", "event=alert_count_failed campaign=%s "
			    "monitor=%s error=\"%s\"", campaign, a->monitor,
			    store_strerror(rc));
	}
	char rule[STORE_STR_MAX + 1];
	snprintf(rule, sizeof(rule), "monitor:%s", a->monitor);
	compliance_audit(m->c, now, 0, NULL, campaign, NULL, rule, why);
}

static void pause_campaign(struct monitors *m, const char *campaign,
    const char *why, int64_t now)
{
	if (compliance_paused(m->c, campaign) == 1)
		return;               /* one pause, one audit entry */
	int rc = compliance_pause_why(m->c, campaign, 1, now, why);
	log_warn("monitor", "event=campaign_paused campaign=%s%s", campaign,
	    rc < 0 ? " persisted=no" : "");
}

static void act(struct monitors *m, const char *campaign,
    const struct policy_monitor_alarm *a, int64_t now)
{
	char why[STORE_STR_MAX + 1];
	snprintf(why, sizeof(why), "%s: %.2f%% >= %.2f%% of %u sent, action %s",
	    a->monitor, a->rate * 100, a->threshold * 100, a->volume,
	    action_name(a->action));
	log_warn("monitor", "event=threshold campaign=%s monitor=%s rate=%.4f "
	    "threshold=%.4f volume=%u action=%s", campaign, a->monitor, a->rate,
	    a->threshold, a->volume, action_name(a->action));
	if (a->action == POLICY_MON_ALERT)
		alert(m, campaign, a, why, now);
	else if (a->action == POLICY_MON_PAUSE)
		pause_campaign(m, campaign, why, now);
}

int monitors_event(struct monitors *m, const struct policy *p,
    const char *campaign, enum policy_event ev, int64_t now)
{
	if (m == NULL || campaign == NULL || policy_monitor_count(p) == 0)
		return 0;
	int nomem = 0;
	struct campaign_rate *e = state_of(m, p, campaign, &nomem);
	if (e == NULL)
		return nomem ? -ENOMEM : 0;
	struct policy_monitor_alarm alarms[MAX_ALARMS];
	int n = policy_monitor_event(p, &e->st, ev, now, alarms, MAX_ALARMS);
	for (int i = 0; i < n; i++)
		act(m, e->name, &alarms[i], now);
	return n;
}

static int listed(const struct config_codes *k, uint32_t code)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->v[i] == code)
			return 1;
	return 0;
}

enum policy_line monitor_line_of(const struct config_carrier *cc,
    uint32_t code, int from_status)
{
	if (cc == NULL || code == 0)
		return POLICY_LINE_UNKNOWN;  /* 0 is success in both spaces */
	const struct config_codes *land = from_status ? &cc->landline_statuses
	    : &cc->landline_errors;
	const struct config_codes *unknown = from_status
	    ? &cc->unknown_subscriber_statuses : &cc->unknown_subscriber_errors;
	if (listed(land, code))
		return POLICY_LINE_LANDLINE;
	if (listed(unknown, code))
		return POLICY_LINE_INVALID;
	return POLICY_LINE_UNKNOWN;
}
