/*
 * Fair lane picker: strict priority classes, deficit round robin inside a
 * class, a binary min-heap of waiting lanes.  See fairq.h.
 *
 * Each class's ready lanes form a circular doubly linked list through the
 * lane table (indices, not pointers, so the table can grow by realloc).
 * The head is the lane whose turn it is; ending a turn is moving the head
 * one step, so the lane that just finished is at the tail without any
 * relinking.  A bit per class says which lists are non-empty, so the
 * highest class with work is one count-trailing-zeros away.
 */
#include "mta/fairq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

struct lane {
	int64_t deficit;   /* cost units left in this turn */
	int64_t until;     /* waiting: when it becomes ready */
	uint32_t quantum;  /* weight * q->quantum */
	uint32_t prev, next;
	uint32_t heap_pos;
	uint8_t cls;
	uint8_t state;     /* enum fairq_state */
};

struct fairq {
	struct lane *lanes;
	uint32_t *heap;          /* waiting lane ids, min-heap on until */
	uint32_t cap;
	uint32_t nwaiting;
	uint32_t nready;
	uint32_t quantum;
	uint32_t ready_mask;     /* bit c: class c has ready lanes */
	uint32_t head[FAIRQ_CLASSES];
};

static void lanes_clear(struct lane *l, uint32_t from, uint32_t to)
{
	memset(l + from, 0, (size_t)(to - from) * sizeof(*l));
	for (uint32_t i = from; i < to; i++)
		l[i].prev = l[i].next = l[i].heap_pos = NIL;
}

static int grow(struct fairq *q, uint32_t need)
{
	uint32_t cap = q->cap ? q->cap : 16;
	while (cap < need)
		cap = cap > FAIRQ_MAX_LANES / 2 ? FAIRQ_MAX_LANES : cap * 2;
	struct lane *l = realloc(q->lanes, (size_t)cap * sizeof(*l));
	if (!l)
		return -ENOMEM;
	q->lanes = l;
	uint32_t *h = realloc(q->heap, (size_t)cap * sizeof(*h));
	if (!h)
		return -ENOMEM;   /* lanes grown, cap not: still consistent */
	q->heap = h;
	lanes_clear(q->lanes, q->cap, cap);
	q->cap = cap;
	return 0;
}

struct fairq *fairq_new(uint32_t cap, uint32_t quantum)
{
	struct fairq *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->quantum = quantum ? quantum : 1;
	for (unsigned c = 0; c < FAIRQ_CLASSES; c++)
		q->head[c] = NIL;
	if (cap > FAIRQ_MAX_LANES)
		cap = FAIRQ_MAX_LANES;
	if (grow(q, cap ? cap : 1) < 0) {
		fairq_free(q);
		return NULL;
	}
	return q;
}

void fairq_free(struct fairq *q)
{
	if (!q)
		return;
	free(q->lanes);
	free(q->heap);
	free(q);
}

/* ---- ready rings ---- */

static void ring_push_tail(struct fairq *q, uint32_t id)
{
	struct lane *l = &q->lanes[id];
	uint32_t h = q->head[l->cls];
	if (h == NIL) {
		l->prev = l->next = id;
		q->head[l->cls] = id;
		q->ready_mask |= 1u << l->cls;
	} else {
		/* Before the head of a circle is after its tail. */
		uint32_t t = q->lanes[h].prev;
		l->prev = t;
		l->next = h;
		q->lanes[t].next = id;
		q->lanes[h].prev = id;
	}
	q->nready++;
}

static void ring_unlink(struct fairq *q, uint32_t id)
{
	struct lane *l = &q->lanes[id];
	if (l->next == id) {
		q->head[l->cls] = NIL;
		q->ready_mask &= ~(1u << l->cls);
	} else {
		q->lanes[l->prev].next = l->next;
		q->lanes[l->next].prev = l->prev;
		if (q->head[l->cls] == id)
			q->head[l->cls] = l->next;
	}
	l->prev = l->next = NIL;
	q->nready--;
}

/* ---- waiting heap ---- */

static int64_t key(const struct fairq *q, uint32_t i)
{
	return q->lanes[q->heap[i]].until;
}

static void heap_place(struct fairq *q, uint32_t i, uint32_t id)
{
	q->heap[i] = id;
	q->lanes[id].heap_pos = i;
}

static void sift_up(struct fairq *q, uint32_t i)
{
	uint32_t id = q->heap[i];
	int64_t k = q->lanes[id].until;
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (key(q, parent) <= k)
			break;
		heap_place(q, i, q->heap[parent]);
		i = parent;
	}
	heap_place(q, i, id);
}

static void sift_down(struct fairq *q, uint32_t i)
{
	uint32_t id = q->heap[i];
	int64_t k = q->lanes[id].until;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= q->nwaiting)
			break;
		if (c + 1 < q->nwaiting && key(q, c + 1) < key(q, c))
			c++;
		if (k <= key(q, c))
			break;
		heap_place(q, i, q->heap[c]);
		i = c;
	}
	heap_place(q, i, id);
}

static void heap_push(struct fairq *q, uint32_t id)
{
	heap_place(q, q->nwaiting++, id);
	sift_up(q, q->nwaiting - 1);
}

static void heap_remove(struct fairq *q, uint32_t id)
{
	uint32_t i = q->lanes[id].heap_pos;
	uint32_t last = q->heap[--q->nwaiting];
	q->lanes[id].heap_pos = NIL;
	if (last == id)
		return;
	heap_place(q, i, last);
	sift_up(q, i);
	sift_down(q, q->lanes[last].heap_pos);
}

/* ---- lane states ---- */

/* Take a lane out of whichever structure holds it. */
static void detach(struct fairq *q, uint32_t id)
{
	struct lane *l = &q->lanes[id];
	if (l->state == FAIRQ_READY)
		ring_unlink(q, id);
	else if (l->state == FAIRQ_WAITING)
		heap_remove(q, id);
	l->state = FAIRQ_IDLE;
}

/* Join the rotation at the tail with a fresh turn.  Unspent credit is
 * dropped (it was for a turn the lane could not use) but debt is kept,
 * or a lane could overspend and dodge the bill by going idle. */
static void enqueue_ready(struct fairq *q, uint32_t id)
{
	struct lane *l = &q->lanes[id];
	l->deficit = (l->deficit < 0 ? l->deficit : 0) + l->quantum;
	l->state = FAIRQ_READY;
	ring_push_tail(q, id);
}

static int configured(const struct fairq *q, uint32_t id)
{
	return id < q->cap && q->lanes[id].state != FAIRQ_UNSET;
}

int fairq_lane_set(struct fairq *q, uint32_t id, unsigned cls, uint32_t weight)
{
	if (cls >= FAIRQ_CLASSES || weight == 0 || id >= FAIRQ_MAX_LANES ||
	    (uint64_t)weight * q->quantum > INT32_MAX)
		return -EINVAL;
	if (id >= q->cap) {
		int rc = grow(q, id + 1);
		if (rc < 0)
			return rc;
	}
	struct lane *l = &q->lanes[id];
	l->quantum = weight * q->quantum;
	if (l->state == FAIRQ_UNSET) {
		l->cls = (uint8_t)cls;
		l->state = FAIRQ_IDLE;
	} else if (l->cls != cls) {
		int was_ready = l->state == FAIRQ_READY;
		if (was_ready)
			ring_unlink(q, id);
		l->cls = (uint8_t)cls;
		if (was_ready)
			ring_push_tail(q, id);
	}
	return 0;
}

int fairq_mark_ready(struct fairq *q, uint32_t id)
{
	if (!configured(q, id))
		return -EINVAL;
	if (q->lanes[id].state == FAIRQ_READY)
		return 0;
	detach(q, id);
	enqueue_ready(q, id);
	return 0;
}

int fairq_mark_waiting(struct fairq *q, uint32_t id, int64_t until)
{
	if (!configured(q, id))
		return -EINVAL;
	struct lane *l = &q->lanes[id];
	if (l->state == FAIRQ_WAITING) {
		/* Re-key in place: cheaper than remove and push. */
		int64_t old = l->until;
		l->until = until;
		if (until < old)
			sift_up(q, l->heap_pos);
		else
			sift_down(q, l->heap_pos);
		return 0;
	}
	detach(q, id);
	l->until = until;
	l->state = FAIRQ_WAITING;
	heap_push(q, id);
	return 0;
}

int fairq_mark_idle(struct fairq *q, uint32_t id)
{
	if (!configured(q, id))
		return -EINVAL;
	detach(q, id);
	return 0;
}

/* ---- picking ---- */

static void promote_due(struct fairq *q, int64_t now)
{
	while (q->nwaiting > 0 && key(q, 0) <= now) {
		uint32_t id = q->heap[0];
		heap_remove(q, id);
		enqueue_ready(q, id);
	}
}

int32_t fairq_pick(struct fairq *q, int64_t now)
{
	promote_due(q, now);
	while (q->ready_mask) {
		unsigned cls = (unsigned)__builtin_ctz(q->ready_mask);
		uint32_t id = q->head[cls];
		struct lane *l = &q->lanes[id];
		if (l->deficit > 0)
			return (int32_t)id;
		/* Turn over: credit the next turn and let the following lane
		 * have the head.  Its credit is positive unless it is still
		 * paying off a charge larger than its quantum, in which case
		 * the loop goes round again, each pass crediting every lane. */
		l->deficit += l->quantum;
		q->head[cls] = l->next;
	}
	return -1;
}

void fairq_charge(struct fairq *q, uint32_t id, uint32_t cost)
{
	if (id < q->cap)
		q->lanes[id].deficit -= cost;
}

int64_t fairq_next_wakeup(const struct fairq *q)
{
	if (q->ready_mask)
		return INT64_MIN;
	return q->nwaiting ? key(q, 0) : FAIRQ_NEVER;
}

enum fairq_state fairq_lane_state(const struct fairq *q, uint32_t id)
{
	return id < q->cap ? (enum fairq_state)q->lanes[id].state : FAIRQ_UNSET;
}

uint32_t fairq_ready_count(const struct fairq *q)
{
	return q->nready;
}

uint32_t fairq_waiting_count(const struct fairq *q)
{
	return q->nwaiting;
}
