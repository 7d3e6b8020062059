/*
 * Fair choice of the next lane (campaign) to send from.
 *
 * Pure: no clock, no I/O; memory is allocated by fairq_new() and when a
 * lane id beyond the capacity is configured, never per operation.
 *
 * A lane is a small integer id the daemon maps a campaign to.  Each lane is
 * idle (nothing due), ready (due work, and its limits allow a send now) or
 * waiting (until a time the daemon got from thr_set_next_allowed() or from
 * the message's next attempt).  Ready lanes are served by strict priority
 * class (class 0 first: 2FA before marketing), and within a class by
 * deficit round robin: each turn a lane may spend weight * quantum cost
 * units (segments).  A waiting lane is in a heap, not in the rotation, so
 * it never delays others, and fairq_next_wakeup() says when to come back.
 *
 * The loop the scheduler runs (limits every lane shares, the bind's, are
 * asked before picking: a lane sent to wait for the bind would lose its
 * place in the rotation for nothing):
 *
 *   while (bind has room && (id = fairq_pick(q, now)) >= 0) {
 *       if (lane has no due message)      fairq_mark_idle(q, id);
 *       else if (thr_set_try_take(lane's limits, segs, now, &t))
 *           { send it; fairq_charge(q, id, segs); }
 *       else                              fairq_mark_waiting(q, id, t);
 *   }
 *   sleep until fairq_next_wakeup(q) or new work (fairq_mark_ready()).
 *
 * Weights are exact among lanes that can spend their turn.  A lane whose
 * own limits make it wait between sends leaves the rotation and rejoins at
 * the tail, so it gets the lesser of its own rate and one turn per round:
 * limits below the fair share are met exactly, but a lane with a small
 * burst and a rate just above its share gets a turn's worth per round, not
 * its weight's.  (Virtual-time scheduling would fix that at O(log n) per
 * pick.)
 *
 * pick leaves the lane where it is: the same lane comes back until it is
 * charged past its turn or marked idle or waiting.
 *
 * Costs: pick, charge, mark_ready/idle of a ready lane are O(1) when every
 * cost is at most the lane's quantum; anything touching a waiting lane is
 * O(log waiting).  Changes of state hand out a fresh turn but never forgive
 * debt, so going idle and back cannot beat the rotation.
 */
#ifndef SMPPD_MTA_FAIRQ_H
#define SMPPD_MTA_FAIRQ_H

#include <stdint.h>

#define FAIRQ_CLASSES 8
#define FAIRQ_MAX_LANES (1u << 30)
#define FAIRQ_NEVER INT64_MAX

enum fairq_state {
	FAIRQ_UNSET,     /* never configured by fairq_lane_set() */
	FAIRQ_IDLE,
	FAIRQ_READY,
	FAIRQ_WAITING,
};

struct fairq;

/*
 * cap lanes to start with (ids 0..cap-1, more are added by lane_set);
 * quantum: cost units per weight per turn, ideally the largest cost one
 * pick is charged (the most segments one message has).  NULL on ENOMEM.
 */
struct fairq *fairq_new(uint32_t cap, uint32_t quantum);
void fairq_free(struct fairq *q);

/*
 * Configure a lane (new ones start idle) or change a live one: a class
 * change moves a ready lane to the tail of its new class, a weight change
 * counts from its next turn.  0, -EINVAL (class >= FAIRQ_CLASSES, weight
 * 0, id >= FAIRQ_MAX_LANES) or -ENOMEM (growing the tables).
 */
int fairq_lane_set(struct fairq *q, uint32_t id, unsigned cls, uint32_t weight);

/* State changes: 0, or -EINVAL for an id never configured. */
int fairq_mark_ready(struct fairq *q, uint32_t id);
int fairq_mark_waiting(struct fairq *q, uint32_t id, int64_t until);
int fairq_mark_idle(struct fairq *q, uint32_t id);

/*
 * The lane to serve now, or -1.  Waiting lanes whose time has come are
 * made ready first (joining the tail of their class, in time order).
 */
int32_t fairq_pick(struct fairq *q, int64_t now);

/* Spend cost units of the lane's turn (after a send). */
void fairq_charge(struct fairq *q, uint32_t id, uint32_t cost);

/* INT64_MIN when a lane is ready, the earliest wake-up of a waiting lane,
 * or FAIRQ_NEVER when all are idle. */
int64_t fairq_next_wakeup(const struct fairq *q);

enum fairq_state fairq_lane_state(const struct fairq *q, uint32_t id);
uint32_t fairq_ready_count(const struct fairq *q);
uint32_t fairq_waiting_count(const struct fairq *q);

#endif
