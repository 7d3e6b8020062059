/*
 * mta/monitor: what carriers answer, turned into compliance state.
 *
 *  - Rate monitors.  Per campaign, the policy's monitors (policy.h "rate
 *    monitors") count messages sent, error outcomes and opt-outs over
 *    their rolling windows.  The state lives here, one struct
 *    policy_monitor_state per campaign in a hash map.  When a threshold
 *    is crossed upwards the monitor's action runs:
 *      log    one log line (cat=monitor event=threshold);
 *      alert  the line, an audit entry (rule "monitor:NAME") and one more
 *             on the store counter monitors_alert_counter() names;
 *      pause  the line and compliance_pause_why(): in force at once,
 *             persisted and audited.  New submits of the campaign get
 *             0x402; the dispatcher holds its queued messages.
 *  - Line types.  A carrier's receipt error or submit_sm_resp status that
 *    its configuration lists (landline_errors, ...) marks the
 *    destination number landline or invalid, which policy check 5 then
 *    rejects with 0x406.
 *
 * No event loop, one thread (the daemon's loop), nothing locks.  Logs
 * through mta/log.
 */
#ifndef SMPPD_MTA_MONITOR_H
#define SMPPD_MTA_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include "mta/compliance.h"
#include "mta/config.h"
#include "policy/policy.h"
#include "store/store.h"

struct monitors;

/* c and st must outlive the result.  NULL on allocation failure. */
struct monitors *monitors_new(struct compliance *c, struct store *st);
void monitors_free(struct monitors *m);

/* After a policy reload: every campaign's counters start over (the list
 * of monitors, and so what each ring counts, may have changed). */
void monitors_reset(struct monitors *m);

/*
 * One event of a campaign at `now` (UTC seconds) under policy p.  Events
 * of campaigns p does not know are ignored.  Runs the action of every
 * threshold crossed.  Returns the number crossed, or -ENOMEM.
 */
int monitors_event(struct monitors *m, const struct policy *p,
    const char *campaign, enum policy_event ev, int64_t now);

/* The store counter (window 0) that counts a campaign's alerts of one
 * monitor: "monitor_alerts:CAMPAIGN:MONITOR".  0, or -1 if too long. */
int monitors_alert_counter(char *out, size_t cap, const char *campaign,
    const char *monitor);

/* Campaigns with state in the map (for tests and metrics). */
size_t monitors_campaigns(const struct monitors *m);

/*
 * What a carrier's code says of the destination: a receipt's err value
 * (from_status 0) or a submit_sm_resp command_status (from_status 1),
 * looked up in the carrier's lists.  POLICY_LINE_LANDLINE,
 * POLICY_LINE_INVALID, or POLICY_LINE_UNKNOWN when it says nothing.
 */
enum policy_line monitor_line_of(const struct config_carrier *cc,
    uint32_t code, int from_status);

#endif
