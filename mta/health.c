/*
 * Health: what an operator must hear about before a customer does, logged
 * as warnings every HEALTH_EVERY_S while it lasts:
 *   a carrier with every bind down          event=health_carrier_down
 *   the store above 80% of its map           event=health_store_filling
 *   the queue growing six checks on end      event=health_queue_growing
 * and once at info level when each clears.
 */
#include <stdint.h>
#include <stdlib.h>

#include "mta/log.h"
#include "mta/relay.h"

#define STORE_WARN_PCT 80
#define GROWING_CHECKS 6  /* a minute at the default interval */

static void carriers_check(struct relay *r, int64_t now_s)
{
	for (size_t i = 0; i < r->cfg->n_carriers; i++) {
		struct carrier_rt *cr = r->carriers[i];
		if (cr->bound > 0) {
			if (cr->down_since)
				log_info("health", "event=health_carrier_up carrier=%s after_s=%lld",
				    cr->cfg->name, (long long)(now_s - cr->down_since));
			cr->down_since = 0;
			continue;
		}
		if (!cr->down_since)
			cr->down_since = now_s;
		log_warn("health", "event=health_carrier_down carrier=%s bound=0 binds=%u for_s=%lld",
		    cr->cfg->name, cr->n_slots, (long long)(now_s - cr->down_since));
	}
}

static void store_check(struct relay *r)
{
	uint64_t used, size;
	if (store_space(r->store, &used, &size) != 0 || size == 0)
		return;
	unsigned pct = (unsigned)(used * 100 / size);
	if (pct >= STORE_WARN_PCT)
		log_warn("health", "event=health_store_filling used_mb=%llu map_mb=%llu used_pct=%u",
		    (unsigned long long)(used >> 20), (unsigned long long)(size >> 20), pct);
	else if (r->health.store_warned)
		log_info("health", "event=health_store_ok used_pct=%u", pct);
	r->health.store_warned = pct >= STORE_WARN_PCT;
}

static void queue_check(struct relay *r)
{
	uint64_t counts[STORE_STATE_COUNT];
	if (store_state_counts(r->store, counts) != 0)
		return;
	uint64_t queued = counts[STORE_QUEUED] + counts[STORE_DEFERRED];
	struct relay_health *h = &r->health;
	h->growing = queued > h->last_queued && h->checks ? h->growing + 1 : 0;
	if (h->growing == 0 && h->queue_warned) {
		log_info("health", "event=health_queue_steady queued=%llu", (unsigned long long)queued);
		h->queue_warned = 0;
	}
	if (h->growing >= GROWING_CHECKS) {
		log_warn("health", "event=health_queue_growing queued=%llu in_6_checks=+%llu",
		    (unsigned long long)queued, (unsigned long long)(queued - h->minute_ago));
		h->queue_warned = 1;
	}
	if (h->checks % GROWING_CHECKS == 0)
		h->minute_ago = queued;
	h->last_queued = queued;
	h->checks++;
}

/* HEALTH_EVERY_S, or SMPPD_TEST_HEALTH_EVERY_S (tests) seconds. */
int health_interval_s(void)
{
	const char *e = getenv("SMPPD_TEST_HEALTH_EVERY_S");
	int v = e ? atoi(e) : 0;
	return v > 0 && v <= 3600 ? v : HEALTH_EVERY_S;
}

void health_check(struct relay *r)
{
	carriers_check(r, relay_wall_ms() / 1000);
	store_check(r);
	queue_check(r);
}
