/*
 * The relay's side of mta/monitor: carrier answers, receipts and opt-outs
 * fed to the campaign rate monitors, line types marked from carrier codes,
 * and paused campaigns held at dispatch.
 */
#include <stdio.h>
#include <string.h>

#include "mta/compliance.h"
#include "mta/log.h"
#include "mta/metrics.h"
#include "mta/monitor.h"
#include "mta/relay.h"
#include "policy/policy.h"

static int64_t now_s(void)
{
	return relay_wall_ms() / 1000;
}

static void feed(struct relay *r, const char *campaign, enum policy_event ev)
{
	if (r->monitors && r->policy &&
	    monitors_event(r->monitors, r->policy, campaign, ev, now_s()) < 0)
		log_error("monitor", "event=out_of_memory campaign=%s", campaign);
}

void relay_note_sent(struct relay *r, const struct account_rt *a, const char *campaign)
{
	if (a)
		feed(r, campaign, POLICY_EV_SENT);
}

static const char *line_name(enum policy_line t)
{
	return t == POLICY_LINE_LANDLINE ? "landline" : "invalid";
}

/* The carrier told us what the number is: from now on policy check 5
 * rejects it (0x406).  Audited, since it stops traffic to a person. */
static void mark_line(struct relay *r, const struct carrier_rt *cr, const char *number,
    uint32_t code, int from_status)
{
	enum policy_line t = monitor_line_of(cr ? cr->cfg : NULL, code, from_status);
	if (t == POLICY_LINE_UNKNOWN || !number || !*number)
		return;
	int rc = compliance_set_line_type(r->compliance, number, t);
	char why[STORE_STR_MAX + 1];
	snprintf(why, sizeof why, "%s: carrier %s %s 0x%08x (%u)", line_name(t),
	    cr->cfg->name, from_status ? "status" : "receipt err", code, code);
	compliance_audit(r->compliance, now_s(), 0, NULL, NULL, number, "line_type", why);
	log_info("monitor", "event=line_type number=%s type=%s carrier=%s %s=%u%s", number,
	    line_name(t), cr->cfg->name, from_status ? "status" : "err", code,
	    rc < 0 ? " persisted=no" : "");
}

void relay_note_answer(struct relay *r, const struct account_rt *a, const char *campaign,
    const struct carrier_rt *cr, const char *number, uint32_t status, int permanent)
{
	mark_line(r, cr, number, status, 1);
	if (!a || !permanent)
		return;  /* a temporary error is retried: its outcome comes later */
	/* the carrier took it and said no: one sent, one error */
	feed(r, campaign, POLICY_EV_SENT);
	feed(r, campaign, POLICY_EV_ERROR);
}

void relay_note_receipt(struct relay *r, const struct carrier_rt *cr, const struct store_msg *m,
    int failed, uint32_t err)
{
	if (!failed)
		return;
	mark_line(r, cr, m->dst_addr, err, 0);
	if (m->account[0])
		feed(r, m->campaign, POLICY_EV_ERROR);
}

void relay_note_optout(struct relay *r, const char *campaign)
{
	metrics_optout(r->metrics, campaign);
	if (campaign)
		feed(r, campaign, POLICY_EV_OPTOUT);
}

int relay_campaign_held(struct relay *r, const struct store_msg *m)
{
	if (m->account[0] == 0)
		return 0;  /* a keyword reply: the handset asked for it */
	int rc = compliance_paused(r->compliance, m->campaign);
	if (rc == 0)
		return 0;
	char id[STORE_MSGID_LEN + 1];
	store_msgid_format(m->id, id);
	log_debug("monitor", "event=held id=%s campaign=%s reason=%s", id, m->campaign,
	    rc < 0 ? "store_error" : "paused");
	return 1;
}

static void pause_changed(const char *campaign, int paused, void *arg)
{
	(void)arg;
	log_info("monitor", "event=%s campaign=%s source=store",
	    paused ? "campaign_paused" : "campaign_resumed", campaign);
}

void relay_pause_poll(struct relay *r)
{
	int rc = compliance_pause_refresh(r->compliance, pause_changed, r);
	if (rc < 0)
		log_error("monitor", "event=pause_poll_failed error=\"%s\"", store_strerror(rc));
}
