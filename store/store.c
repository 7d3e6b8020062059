/*
 * The store: one LMDB environment, named databases, one writer thread.
 *
 * Databases and keys (integers in keys big-endian, so cursors walk them in
 * numeric and therefore time order):
 *
 *   messages  id                          -> record (record.c), as enqueued
 *   status    id (native u64, INTEGERKEY) -> status (record.c): what changed since
 *   queue     lane NUL due_ms id          -> "", "s" (a status) or "f" (fresh):
 *   inflight  id                          -> the same; "f" with due_ms (LE)
 *                                            (see mark_fresh below)
 *   final     updated_ms id               -> ""   final states, for purge
 *   carriers  carrier NUL norm_carrier_id -> id, u8 part
 *   receipts  account NUL seq             -> caller's receipt bytes
 *   counters  name NUL window             -> i64 (LE)
 *   audit     time_ms seq                 -> msg_id, 5 strings
 *   kv        caller key                  -> caller value
 *   meta      "version", "hwm", "counts"
 *
 * A message is its record, written once at enqueue (and again only by a
 * replace), with its status laid over it once it has one (read_msg).  A
 * state change writes the 50-byte status, not the 300-byte record: each
 * commit used to rewrite every record page of the messages in flight,
 * three times per message, and those pages were most of what it wrote.
 * Records of layout 1 carry their state themselves and read the same.
 *
 * A claim only moves the message's key from queue to inflight: the
 * inflight entry is what makes a queued message SUBMITTING
 * (effective_state), so a claim writes neither record nor status.  Older
 * stores wrote SUBMITTING into the record; both read the same.
 *
 * The queue is one keyspace per lane, so a lane whose messages are all
 * in the future (a throttled campaign) costs another lane one cursor seek,
 * not a scan.
 *
 * Threads: callers push operations under st->lock; the writer applies a
 * batch in one write transaction and posts completions under the same lock.
 * Readers open their own read-only transactions (MDB_NOTLS lets any thread
 * do so).  Claims hold st->claim_lock from the start of their read
 * transaction until their ids are in st->claimed; the writer removes ids
 * from st->claimed under that lock only after committing the claim, so a
 * claim either sees the message still in the queue and in st->claimed, or
 * no longer in the queue.
 */
#define _GNU_SOURCE	/* pthread_setname_np */
#include "store/record.h"
#include "store/bytes.h"
#include "base/hash.h"

#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LAYOUT_VERSION 2	/* 1: no status database; read the same */
#define NODE_BITS 10
#define SEQ_BITS 12
#define SEQ_MASK ((1u << SEQ_BITS) - 1)
#define KEY_MAX 512
#define RECOVER_CHUNK 10000
#define OP_CLAIM 100	/* internal: claimed ids become SUBMITTING */
#define PREFETCH_AHEAD 4	/* nodes ahead of the one applied */
#define CLAIM_ENTRY 17	/* id, due (LE 64), state it was claimed in */

enum {
	DB_MESSAGES, DB_QUEUE, DB_INFLIGHT, DB_FINAL, DB_CARRIERS, DB_RECEIPTS,
	DB_COUNTERS, DB_AUDIT, DB_KV, DB_META, DB_STATUS, DB_COUNT
};

static const char *const db_names[DB_COUNT] = {
	"messages", "queue", "inflight", "final", "carriers", "receipts",
	"counters", "audit", "kv", "meta", "status",
};

/* A queued operation with copies of everything it points at in data[]. */
struct node {
	struct node *next;
	int kind;
	void *cookie;
	uint64_t id;
	int rc;
	int64_t value;
	const char *str;	/* lane, carrier, account or counter name */
	const uint8_t *blob;	/* record, carrier ids, receipt, key, audit */
	size_t blob_len;
	const uint8_t *blob2;	/* kv value */
	size_t blob2_len;
	unsigned count;	/* carrier ids, claimed ids, purge max; enqueue: fresh */
	int64_t t;	/* due, window, before, audit time */
	int64_t delta;
	enum store_state state;
	uint32_t error;
	int no_attempt;
	bool pooled;	/* NODE_POOLED bytes from st->pool, not malloc */
	uint8_t data[];
};

/*
 * Operations are allocated on the loop's thread and freed on the writer's,
 * several per message: the common sizes come back to a pool instead of
 * going through malloc's cross-thread free each time.
 */
#define NODE_POOLED 512
#define NODE_POOL_MAX 8192

struct nodevec {
	struct node **v;
	size_t n, cap;
};

/*
 * Where a lane's last claim stopped, in the snapshot it read.  Every key
 * of the lane before it was then claimed or could not be: in the same
 * snapshot (no commit since, so no claim released and no key added) the
 * next claim of the lane may start there instead of walking past them
 * all again, one claim of up to 64 after another in the same loop turn.
 */
#define CLAIM_HINTS 16
struct claim_hint {
	size_t txnid;	/* 0: none */
	char lane[STORE_STR_MAX + 1];
	uint8_t key[KEY_MAX];
	size_t klen;
};

/* Open-addressing set of claimed ids not yet committed as SUBMITTING. */
struct idset {
	uint64_t *slot;
	size_t cap, n;
};

struct store {
	MDB_env *env;
	MDB_dbi db[DB_COUNT];
	unsigned node_id, max_batch;
	int attach;	/* see store_config.attach */
	size_t enqueue_pages;	/* enqueues refused beyond this many pages */
	size_t page_size;
	uint64_t recovered;
	int efd;

	pthread_mutex_t lock;	/* queue, ids, completions, stats */
	pthread_cond_t wake;
	bool writer_idle;	/* waiting on wake for work */
	/* Submitted operations in order: an array, not a list, so that the
	 * writer takes them all at once and walks them with prefetches
	 * instead of chasing pointers the loop's core wrote. */
	struct nodevec queue;
	int stopping;
	uint64_t last_id;	/* under submit_lock */
	struct store_completion *done;
	size_t ndone, capdone;
	struct store_stats stats;
	/* commit durations (store_get_commit_hist): the writer adds, any
	 * thread reads, nobody locks */
	_Atomic uint64_t commit_counts[STORE_COMMIT_BUCKETS + 1];
	_Atomic uint64_t commit_sum_ns;
	/* one reset read-only transaction kept for the next reader: renewing
	 * it keeps its reader slot, where mdb_txn_begin allocates and takes
	 * the reader table's lock each time (several reads per message) */
	MDB_txn *_Atomic idle_read;
	/* the map, found by store_trim_resident's first call (its thread) */
	void *map_base;
	size_t map_len;

	pthread_mutex_t claim_lock;	/* claimed and hints */
	struct idset claimed;
	struct claim_hint hints[CLAIM_HINTS];

	/* Submitters only (the writer never takes it, so it stays in the
	 * submitting core's cache): ids and the spare nodes being handed out. */
	_Alignas(64) pthread_mutex_t submit_lock;
	struct node *spare;	/* NODE_POOLED nodes, linked by next */
	/* With a flush hook (store_set_flush_hook): operations kept, in
	 * order, for the next store_flush(). */
	struct node *staged, **staged_tail;
	size_t staged_n;
	int64_t staged_now;	/* submit_time() of the kept batch */
	void (*flush_hook)(void *arg);
	void *flush_arg;
	/* Nodes the writer gave back, taken into spare all at once. */
	_Alignas(64) pthread_mutex_t pool_lock;
	struct node *pool;	/* free NODE_POOLED nodes, linked by next */
	size_t pool_n;

	pthread_t writer;
	bool writer_started;
	/* owned by the writer thread (or by open, before it starts) */
	struct nodevec taken;	/* swapped with queue */
	uint64_t counts[STORE_STATE_COUNT];
	uint64_t hwm;
	uint8_t rbuf[STORE_MSG_MAX];
	uint8_t wbuf[STORE_MSG_MAX];
};

/* ---- errors and small helpers ---- */

const char *store_strerror(int rc)
{
	switch (rc) {
	case 0: return "success";
	case STORE_EFULL: return "store full";
	case STORE_ECORRUPT: return "corrupt record";
	case STORE_ESTATE: return "state transition not allowed";
	case -ENOENT: return "not found";
	case -E2BIG: return "too large";
	case -EINVAL: return "invalid argument";
	case -EEXIST: return "already exists";
	case -ESHUTDOWN: return "store closing";
	case STORE_EATTACHED: return "not allowed to a tool attached beside the daemon";
	case -EIO: return "storage error";
	default: return rc < 0 ? strerror(-rc) : "unknown";
	}
}

/* LMDB's codes to ours. */
static int lmdb_rc(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_NOTFOUND: return -ENOENT;
	case MDB_MAP_FULL: return STORE_EFULL;
	case MDB_TXN_FULL: return STORE_EFULL;
	case MDB_CORRUPTED: case MDB_PAGE_NOTFOUND: case MDB_INVALID:
	case MDB_VERSION_MISMATCH: return STORE_ECORRUPT;
	case MDB_READERS_FULL: return -EAGAIN;
	default: return rc > 0 ? -rc : -EIO;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static MDB_val val_of(const void *p, size_t n)
{
	return (MDB_val){ .mv_size = n, .mv_data = (void *)p };
}

/* name NUL be64: the shape of queue, carrier, receipt and counter keys. */
static size_t key_name_u64(uint8_t *k, const char *name, uint64_t v)
{
	size_t n = strlen(name);

	memcpy(k, name, n);
	k[n] = '\0';
	be64_put(k + n + 1, v);
	return n + 9;
}

static size_t key_u64_u64(uint8_t *k, uint64_t a, uint64_t b)
{
	be64_put(k, a);
	be64_put(k + 8, b);
	return 16;
}

static size_t key_queue(uint8_t *k, const char *lane, int64_t due, uint64_t id)
{
	size_t n = key_name_u64(k, lane, due < 0 ? 0 : (uint64_t)due);

	be64_put(k + n, id);
	return n + 8;
}

static bool has_prefix(const MDB_val *k, const uint8_t *p, size_t n)
{
	return k->mv_size >= n && memcmp(k->mv_data, p, n) == 0;
}

/*
 * Carriers report the same id as "0A1b" in submit_sm_resp and "a1B " in a
 * receipt: trim, lowercase and drop leading zeros so both meet.
 */
static size_t carrier_id_normalise(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	while (*in == ' ' || *in == '\t')
		in++;
	while (*in == '0' && in[1] != '\0' && in[1] != ' ')
		in++;
	for (; *in != '\0' && *in != ' ' && *in != '\t' && n + 1 < cap; in++)
		out[n++] = (char)(*in >= 'A' && *in <= 'Z' ? *in + 32 : *in);
	out[n] = '\0';
	return n;
}

static size_t key_carrier(uint8_t *k, const char *carrier, const char *cid)
{
	size_t n = strlen(carrier);

	memcpy(k, carrier, n);
	k[n] = '\0';
	return n + 1 + carrier_id_normalise(cid, (char *)k + n + 1,
	    STORE_STR_MAX + 1);
}

/* ---- the claimed-id set ---- */

static size_t idset_pos(const struct idset *s, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 20) & (s->cap - 1);
}

static bool idset_has(const struct idset *s, uint64_t id)
{
	if (s->cap == 0)
		return false;
	for (size_t i = idset_pos(s, id); s->slot[i] != 0; i = (i + 1) & (s->cap - 1))
		if (s->slot[i] == id)
			return true;
	return false;
}

static void idset_put(struct idset *s, uint64_t id)
{
	size_t i = idset_pos(s, id);

	while (s->slot[i] != 0 && s->slot[i] != id)
		i = (i + 1) & (s->cap - 1);
	s->n += s->slot[i] == 0;
	s->slot[i] = id;
}

static int idset_grow(struct idset *s)
{
	struct idset bigger = { .cap = s->cap ? s->cap * 2 : 1024 };

	bigger.slot = calloc(bigger.cap, sizeof(*bigger.slot));
	if (bigger.slot == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slot[i] != 0)
			idset_put(&bigger, s->slot[i]);
	free(s->slot);
	*s = bigger;
	return 0;
}

static int idset_add(struct idset *s, uint64_t id)
{
	if ((s->n + 1) * 2 > s->cap && idset_grow(s) < 0)
		return -ENOMEM;
	idset_put(s, id);
	return 0;
}

/* Linear probing: shift later members of the run back into the hole. */
static void idset_del(struct idset *s, uint64_t id)
{
	size_t i, j, mask = s->cap - 1;

	if (s->cap == 0)
		return;
	for (i = idset_pos(s, id); s->slot[i] != id; i = (i + 1) & mask)
		if (s->slot[i] == 0)
			return;
	for (j = (i + 1) & mask; s->slot[j] != 0; j = (j + 1) & mask) {
		size_t home = idset_pos(s, s->slot[j]);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			s->slot[i] = s->slot[j];
			i = j;
		}
	}
	s->slot[i] = 0;
	s->n--;
}

/* ---- ids ---- */

/* Caller holds st->submit_lock.  Never repeats, even if the clock goes back. */
static uint64_t next_id(struct store *st, int64_t now)
{
	uint64_t ms = now < 0 ? 0 : (uint64_t)now;
	uint64_t last_ms = st->last_id >> (NODE_BITS + SEQ_BITS);
	uint64_t seq = 0;

	if (ms <= last_ms) {
		ms = last_ms;
		seq = (st->last_id & SEQ_MASK) + 1;
		if (seq > SEQ_MASK) {
			ms++;
			seq = 0;
		}
	}
	st->last_id = ms << (NODE_BITS + SEQ_BITS) |
	    (uint64_t)st->node_id << SEQ_BITS | seq;
	return st->last_id;
}

/* ---- the write transaction ---- */

static bool is_queued(enum store_state s)
{
	return s == STORE_QUEUED || s == STORE_DEFERRED;
}

/* A queued record with an inflight entry was claimed: SUBMITTING. */
static int effective_state(struct store *st, MDB_txn *txn, struct store_msg *m)
{
	uint8_t k[8];
	MDB_val key = val_of(k, 8), v;
	int rc;

	if (!is_queued(m->state))
		return 0;
	be64_put(k, m->id);
	rc = mdb_get(txn, st->db[DB_INFLIGHT], &key, &v);
	if (rc == 0)
		m->state = STORE_SUBMITTING;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_rc(rc);
}

/*
 * The status database's key: the id as a native integer, so that LMDB
 * compares keys as integers (its other id-keyed databases, older, use
 * big-endian bytes and memcmp, a tenth of the writer's time).
 */
static MDB_val status_key(const uint64_t *id)
{
	return val_of(id, sizeof(*id));
}

/* The message's status where LMDB has it, or mv_size 0 if it has none. */
static int get_status(struct store *st, MDB_txn *txn, uint64_t id, MDB_val *s)
{
	MDB_val key = status_key(&id);
	int rc;

	rc = mdb_get(txn, st->db[DB_STATUS], &key, s);
	if (rc == MDB_NOTFOUND)
		s->mv_size = 0;
	return rc == MDB_NOTFOUND ? 0 : lmdb_rc(rc);
}

/*
 * A message as it stands, copied into buf (record, then status) and
 * decoded there: later writes in the same transaction may move the pages
 * they sit on.  Not SUBMITTING yet: effective_state() says that.
 */
static int decode_copy(const MDB_val *v, const MDB_val *s,
    struct store_msg *m, uint8_t *buf, size_t bufsz)
{
	int rc;

	if (v->mv_size > bufsz || s->mv_size > bufsz - v->mv_size)
		return -E2BIG;
	memcpy(buf, v->mv_data, v->mv_size);
	rc = store_msg_decode(buf, v->mv_size, m);
	if (rc < 0 || s->mv_size == 0)
		return rc;
	memcpy(buf + v->mv_size, s->mv_data, s->mv_size);
	return store_status_overlay(buf + v->mv_size, s->mv_size, m);
}

/* The record with the status s (mv_size 0: none) laid over it. */
static int read_record(struct store *st, MDB_txn *txn, uint64_t id,
    const MDB_val *s, struct store_msg *m, uint8_t *buf, size_t bufsz)
{
	uint8_t k[8];
	MDB_val key = val_of(k, 8), v;
	int rc;

	be64_put(k, id);
	rc = lmdb_rc(mdb_get(txn, st->db[DB_MESSAGES], &key, &v));
	return rc < 0 ? rc : decode_copy(&v, s, m, buf, bufsz);
}

static int read_msg(struct store *st, MDB_txn *txn, uint64_t id,
    struct store_msg *m, uint8_t *buf, size_t bufsz)
{
	MDB_val s;
	int rc = get_status(st, txn, id, &s);

	return rc < 0 ? rc : read_record(st, txn, id, &s, m, buf, bufsz);
}

/*
 * One pass over a batch.  An LMDB failure sets fatal and the pass is
 * aborted as a whole; per-operation outcomes (not found, bad transition)
 * are the operation's rc and leave the transaction usable, because every
 * operation checks before it writes.
 */
struct wctx {
	struct store *st;
	MDB_txn *txn;
	int fatal;
	int64_t now;
	uint64_t counts[STORE_STATE_COUNT];
	uint64_t hwm;
};

static int w_put(struct wctx *w, int db, MDB_val k, MDB_val v, unsigned flags)
{
	int rc = mdb_put(w->txn, w->st->db[db], &k, &v, flags);

	if (rc == MDB_KEYEXIST)
		return -EEXIST;
	if (rc != 0 && w->fatal == 0)
		w->fatal = lmdb_rc(rc);
	return rc ? w->fatal : 0;
}

/* Deleting what is not there is no error: the goal state holds. */
static int w_del(struct wctx *w, int db, MDB_val k)
{
	int rc = mdb_del(w->txn, w->st->db[db], &k, NULL);

	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0 && w->fatal == 0)
		w->fatal = lmdb_rc(rc);
	return rc ? w->fatal : 0;
}

static int w_get(struct wctx *w, int db, MDB_val k, MDB_val *v)
{
	int rc = mdb_get(w->txn, w->st->db[db], &k, v);

	if (rc != 0 && rc != MDB_NOTFOUND && w->fatal == 0)
		w->fatal = lmdb_rc(rc);
	return lmdb_rc(rc);
}

/* A read's outcome in the writer: LMDB's own failures end the pass. */
static int read_rc(struct wctx *w, int rc)
{
	if (rc < 0 && rc != -ENOENT && rc != STORE_ECORRUPT && rc != -E2BIG &&
	    w->fatal == 0)
		w->fatal = rc;
	return rc;
}

/* The message as the writer sees it (SUBMITTING included), its status s
 * already read (mv_size 0: none). */
static int load_over(struct wctx *w, uint64_t id, const MDB_val *s,
    struct store_msg *m)
{
	int rc = read_record(w->st, w->txn, id, s, m, w->st->rbuf,
	    sizeof(w->st->rbuf));

	if (rc == 0)
		rc = effective_state(w->st, w->txn, m);
	return read_rc(w, rc);
}

static int load_msg(struct wctx *w, uint64_t id, struct store_msg *m)
{
	MDB_val s;
	int rc = get_status(w->st, w->txn, id, &s);

	return rc < 0 ? read_rc(w, rc) : load_over(w, id, &s, m);
}

static int save_status(struct wctx *w, const struct store_msg *m)
{
	size_t len;
	int rc = store_status_encode(m, w->st->wbuf, sizeof(w->st->wbuf), &len);

	if (rc < 0)
		return rc;
	return w_put(w, DB_STATUS, status_key(&m->id), val_of(w->st->wbuf, len), 0);
}

/*
 * The whole record again (a replace).  A message with a status keeps its
 * carrier ids there and the status is rewritten too; one without keeps
 * everything in the record, so that the queue's and inflight's "no
 * status" still hold.
 */
static int save_record(struct wctx *w, const struct store_msg *m,
    bool has_status)
{
	struct store_msg r = *m;
	uint8_t k[8];
	size_t len;
	int rc;

	if (has_status) {
		r.carrier = NULL;
		r.carrier_ids = NULL;
		r.carrier_ids_len = 0;
		r.n_carrier_ids = 0;
	}
	rc = store_msg_encode(&r, w->st->wbuf, sizeof(w->st->wbuf), &len);
	if (rc < 0)
		return rc;
	be64_put(k, m->id);
	rc = w_put(w, DB_MESSAGES, val_of(k, 8), val_of(w->st->wbuf, len), 0);
	return rc < 0 || !has_status ? rc : save_status(w, m);
}

/* What a message may become, by state.  Final states are final. */
#define B(s) (1u << (s))
#define OUT_OF_QUEUE (B(STORE_QUEUED) | B(STORE_DEFERRED) | \
	B(STORE_SUBMITTING) | B(STORE_CANCELLED) | B(STORE_EXPIRED) | \
	B(STORE_REJECTED) | B(STORE_UNDELIVERABLE))
#define AFTER_SUBMIT (B(STORE_QUEUED) | B(STORE_DEFERRED) | \
	B(STORE_DELIVERED) | B(STORE_UNDELIVERABLE) | B(STORE_EXPIRED) | \
	B(STORE_REJECTED))

static const unsigned allowed[STORE_STATE_COUNT] = {
	[STORE_QUEUED] = OUT_OF_QUEUE,
	[STORE_DEFERRED] = OUT_OF_QUEUE,
	[STORE_SUBMITTING] = AFTER_SUBMIT | B(STORE_SUBMITTED),
	[STORE_SUBMITTED] = AFTER_SUBMIT,
};

/* A state change, as the writer applies it. */
struct change {
	enum store_state to;
	uint32_t error;
	int64_t due_ms;
	int no_attempt;
	const char *carrier;
	const char *cids;
	size_t cids_len;
	unsigned n_cids;
};

/*
 * What a queue entry's value says of its message, and the claim carries
 * over to the inflight entry:
 *   ""   no status: the record has everything (and every layout 1 one)
 *   "s"  a status lies over the record
 *   "f"  no status, and the record's status fields are as a new message
 *        has them (no attempt, no error, no carrier), so that the
 *        SUBMITTED mark needs no read of the record at all; in inflight
 *        "f" and the due time, which is the one such field a record sets
 */
#define MARK_FRESH_LEN 9

static bool mark_has_status(const MDB_val *v)
{
	return v->mv_size > 0 && ((const uint8_t *)v->mv_data)[0] != 'f';
}

static bool mark_fresh(const MDB_val *v)
{
	return v->mv_size > 0 && ((const uint8_t *)v->mv_data)[0] == 'f';
}

/* A new message's status fields, as a fresh mark promises them. */
static bool msg_fresh(const struct store_msg *m)
{
	return m->attempts == 0 && m->last_error == 0 && m->n_carrier_ids == 0 &&
	    (m->carrier == NULL || m->carrier[0] == '\0');
}

/* Removes the index entries the old state had. */
static int leave_state(struct wctx *w, const struct store_msg *m)
{
	uint8_t k[KEY_MAX];

	if (is_queued(m->state))
		return w_del(w, DB_QUEUE, val_of(k, key_queue(k, m->lane,
		    m->next_attempt_ms, m->id)));
	if (m->state == STORE_SUBMITTING) {
		be64_put(k, m->id);
		return w_del(w, DB_INFLIGHT, val_of(k, 8));
	}
	return 0;
}

static int enter_state(struct wctx *w, const struct store_msg *m)
{
	uint8_t k[KEY_MAX];

	if (is_queued(m->state))	/* back in the queue: it has a status */
		return w_put(w, DB_QUEUE, val_of(k, key_queue(k, m->lane,
		    m->next_attempt_ms, m->id)), val_of("s", 1), 0);
	if (m->state == STORE_SUBMITTING) {
		be64_put(k, m->id);
		return w_put(w, DB_INFLIGHT, val_of(k, 8), val_of("", 0), 0);
	}
	if (store_state_is_final(m->state))
		return w_put(w, DB_FINAL, val_of(k, key_u64_u64(k,
		    (uint64_t)m->updated_ms, m->id)), val_of("", 0), 0);
	return 0;
}

static int carrier_map_del(struct wctx *w, const struct store_msg *m)
{
	uint8_t k[KEY_MAX];
	const char *cid;
	int rc = 0;

	for (unsigned i = 0; rc == 0 && (cid = store_msg_carrier_id(m, i)); i++)
		rc = w_del(w, DB_CARRIERS, val_of(k, key_carrier(k, m->carrier,
		    cid)));
	return rc;
}

static int carrier_map_put(struct wctx *w, const struct store_msg *m)
{
	uint8_t k[KEY_MAX], v[9];
	const char *cid;
	int rc = 0;

	be64_put(v, m->id);
	for (unsigned i = 0; rc == 0 && (cid = store_msg_carrier_id(m, i)); i++) {
		v[8] = (uint8_t)i;
		rc = w_put(w, DB_CARRIERS, val_of(k, key_carrier(k, m->carrier,
		    cid)), val_of(v, 9), 0);
	}
	return rc;
}

/* SUBMITTED replaces the carrier ids: the map follows the latest attempt. */
static int set_carrier(struct wctx *w, struct store_msg *m,
    const struct change *c)
{
	int rc = carrier_map_del(w, m);

	if (rc < 0)
		return rc;
	m->carrier = c->carrier;
	m->carrier_ids = c->cids;
	m->carrier_ids_len = c->cids_len;
	m->n_carrier_ids = c->n_cids;
	return carrier_map_put(w, m);
}

static void apply_fields(struct wctx *w, struct store_msg *m,
    const struct change *c)
{
	bool retry_free = is_queued(c->to) && c->no_attempt;

	if (m->state == STORE_SUBMITTING && !retry_free && m->attempts < 0xffff)
		m->attempts++;
	if (c->error != 0)
		m->last_error = c->error;
	if (is_queued(c->to))
		m->next_attempt_ms = c->due_ms;
	m->updated_ms = w->now;
	if (w->counts[m->state] > 0)
		w->counts[m->state]--;
	w->counts[c->to]++;
	m->state = c->to;
}

/* The status alone as the message (no record: no lane, no addresses). */
static int load_status_only(struct wctx *w, uint64_t id, const MDB_val *s,
    struct store_msg *m)
{
	if (s->mv_size > sizeof(w->st->rbuf))
		return STORE_ECORRUPT;
	memcpy(w->st->rbuf, s->mv_data, s->mv_size);
	*m = (struct store_msg){ .id = id };
	return store_status_overlay(w->st->rbuf, s->mv_size, m);
}

/*
 * The message as a change to c->to needs it.  Only the queue's keys need
 * the record (its lane), so a message that has a status and neither
 * leaves nor enters the queue is read from its status alone, and the
 * inflight entry of a claimed one says whether it has a status at all.
 * Anything else (and every layout 1 record) takes the whole read.
 */
static int load_for_change(struct wctx *w, uint64_t id,
    const struct change *c, struct store_msg *m)
{
	uint8_t k[8];
	MDB_val key = val_of(k, 8), v;
	int rc;

	if (is_queued(c->to))
		return load_msg(w, id, m);
	be64_put(k, id);
	if (c->to == STORE_SUBMITTED) {
		MDB_val none = { .mv_size = 0 };
		bool has_status;

		rc = w_get(w, DB_INFLIGHT, key, &v);
		if (rc == 0 && mark_fresh(&v) && v.mv_size == MARK_FRESH_LEN) {
			*m = (struct store_msg){ .id = id, .state = STORE_SUBMITTING,
			    .next_attempt_ms = (int64_t)le64_get((uint8_t *)v.mv_data + 1) };
			return 0;
		}
		has_status = rc == 0 && mark_has_status(&v);
		if (has_status)
			rc = w_get(w, DB_STATUS, status_key(&id), &v);
		if (rc == -ENOENT)	/* not claimed: the whole read decides */
			return load_msg(w, id, m);
		if (rc == 0)
			rc = has_status ? load_status_only(w, id, &v, m) :
			    read_rc(w, read_record(w->st, w->txn, id, &none, m,
			    w->st->rbuf, sizeof(w->st->rbuf)));
		if (rc == 0)
			m->state = STORE_SUBMITTING;
		return rc;
	}
	rc = w_get(w, DB_STATUS, status_key(&id), &v);
	if (rc == 0 && (v.mv_size < 2 ||
	    !is_queued((enum store_state)((uint8_t *)v.mv_data)[1])))
		return load_status_only(w, id, &v, m);
	if (rc == -ENOENT)
		v.mv_size = 0;	/* no status: the record alone */
	return rc == 0 || rc == -ENOENT ? load_over(w, id, &v, m) : rc;
}

static int transition(struct wctx *w, uint64_t id, const struct change *c)
{
	struct store_msg m;
	int rc = load_for_change(w, id, c, &m);

	if (rc < 0)
		return rc;
	if (!(allowed[m.state] & B(c->to)))
		return STORE_ESTATE;
	rc = leave_state(w, &m);
	if (rc == 0 && c->to == STORE_SUBMITTED)
		rc = set_carrier(w, &m, c);
	if (rc < 0)
		return rc;
	apply_fields(w, &m, c);
	rc = enter_state(w, &m);
	return rc < 0 ? rc : save_status(w, &m);
}

/* ---- applying operations ---- */

static void note_id(struct wctx *w, uint64_t id)
{
	if (id > w->hwm)
		w->hwm = id;
}

/* The record was encoded by store_submit; state QUEUED or DEFERRED. */
static int apply_enqueue(struct wctx *w, struct node *n)
{
	uint8_t k[KEY_MAX];
	int rc;

	be64_put(k, n->id);
	rc = w_put(w, DB_MESSAGES, val_of(k, 8), val_of(n->blob, n->blob_len),
	    MDB_NOOVERWRITE);
	if (rc == 0)
		rc = w_put(w, DB_QUEUE, val_of(k, key_queue(k, n->str, n->t,
		    n->id)), n->count ? val_of("f", 1) : val_of("", 0), 0);
	if (rc == 0) {
		w->counts[n->state]++;
		note_id(w, n->id);
	}
	return rc;
}

static int apply_mark(struct wctx *w, struct node *n)
{
	struct change c = {
		.to = n->state, .error = n->error, .due_ms = n->t,
		.no_attempt = n->no_attempt, .carrier = n->str,
		.cids = (const char *)n->blob, .cids_len = n->blob_len,
		.n_cids = n->count,
	};

	return transition(w, n->id, &c);
}

static int apply_cancel(struct wctx *w, struct node *n)
{
	struct change c = { .to = STORE_CANCELLED };
	int rc = transition(w, n->id, &c);

	n->value = rc == 0;
	return rc == STORE_ESTATE ? 0 : rc;
}

/* A queued message gets a new body; a claimed or sent one keeps its own. */
static int apply_replace(struct wctx *w, struct node *n)
{
	struct store_msg m;
	MDB_val s;
	int rc = get_status(w->st, w->txn, n->id, &s);

	n->value = 0;
	rc = rc < 0 ? read_rc(w, rc) : load_over(w, n->id, &s, &m);
	if (rc < 0)
		return rc;
	if (!is_queued(m.state))
		return 0;
	m.body = n->blob;
	m.body_len = n->blob_len;
	m.registered_delivery = (uint8_t)n->count;
	if (n->t)
		m.validity_ms = n->t;
	m.updated_ms = w->now;
	rc = save_record(w, &m, s.mv_size > 0);
	n->value = rc == 0;
	return rc;
}

/*
 * QUEUED -> SUBMITTING by the key alone (see the top of the file).  A
 * claimed message whose queue key is gone changed meanwhile (cancelled,
 * say) and is left alone; one still there is as the claim read it.
 */
static int claim_entry(struct wctx *w, MDB_cursor *cur, const char *lane,
    const uint8_t *e)
{
	uint8_t k[KEY_MAX];
	uint64_t id = le64_get(e);
	enum store_state was = (enum store_state)e[CLAIM_ENTRY - 1];
	MDB_val key = val_of(k, key_queue(k, lane, (int64_t)le64_get(e + 8), id));
	MDB_val qv, mark = { .mv_size = 0 };
	uint8_t fresh[MARK_FRESH_LEN];
	int rc = mdb_cursor_get(cur, &key, &qv, MDB_SET);

	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc == 0 && mark_fresh(&qv)) {
		fresh[0] = 'f';
		memcpy(fresh + 1, e + 8, 8);	/* the due time, little-endian */
		mark = val_of(fresh, sizeof(fresh));
	} else if (rc == 0 && mark_has_status(&qv)) {
		mark = val_of("s", 1);
	}
	if (rc == 0)
		rc = mdb_cursor_del(cur, 0);
	if (rc != 0) {
		w->fatal = lmdb_rc(rc);
		return w->fatal;
	}
	be64_put(k, id);
	/* the queue entry's mark goes along: load_for_change reads it */
	rc = w_put(w, DB_INFLIGHT, val_of(k, 8), mark, 0);
	if (rc == 0) {
		if (w->counts[was] > 0)
			w->counts[was]--;
		w->counts[STORE_SUBMITTING]++;
	}
	return rc;
}

static int apply_claim(struct wctx *w, struct node *n)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(w->txn, w->st->db[DB_QUEUE], &cur);

	if (rc != 0)
		return w->fatal = lmdb_rc(rc);
	for (unsigned i = 0; i < n->count && w->fatal == 0; i++)
		claim_entry(w, cur, n->str, n->blob + CLAIM_ENTRY * i);
	mdb_cursor_close(cur);
	return 0;
}

static int apply_receipt(struct wctx *w, struct node *n)
{
	uint8_t k[KEY_MAX];
	MDB_val key = val_of(k, key_name_u64(k, n->str, n->id));

	if (n->kind == STORE_OP_RECEIPT_ACK) {	/* one search: -ENOENT if gone */
		int rc = mdb_del(w->txn, w->st->db[DB_RECEIPTS], &key, NULL);

		if (rc != 0 && rc != MDB_NOTFOUND && w->fatal == 0)
			w->fatal = lmdb_rc(rc);
		return lmdb_rc(rc);
	}
	note_id(w, n->id);
	return w_put(w, DB_RECEIPTS, key, val_of(n->blob, n->blob_len), 0);
}

static int apply_counter(struct wctx *w, struct node *n)
{
	uint8_t k[KEY_MAX], v[8];
	MDB_val key = val_of(k, key_name_u64(k, n->str, (uint64_t)n->t)), old;
	int64_t total = n->delta;
	int rc = w_get(w, DB_COUNTERS, key, &old);

	if (rc == 0 && old.mv_size == 8)
		total += (int64_t)le64_get(old.mv_data);
	else if (rc != -ENOENT)
		return rc < 0 ? rc : STORE_ECORRUPT;
	le64_put(v, (uint64_t)total);
	n->value = total;
	return w_put(w, DB_COUNTERS, key, val_of(v, 8), 0);
}

/*
 * Never overwrites: a tool attached beside the daemon draws ids from the
 * same node id and clock, so (time, id) may already be taken; the next
 * id then takes the entry.
 */
static int apply_audit(struct wctx *w, struct node *n)
{
	uint8_t k[16];
	int rc = -EEXIST;

	for (int tries = 0; rc == -EEXIST && tries < 64; tries++) {
		if (tries)
			n->id++;
		rc = w_put(w, DB_AUDIT, val_of(k, key_u64_u64(k,
		    (uint64_t)n->t, n->id)), val_of(n->blob, n->blob_len),
		    MDB_NOOVERWRITE);
	}
	note_id(w, n->id);
	return rc;
}

static int apply_kv(struct wctx *w, struct node *n)
{
	MDB_val k = val_of(n->blob, n->blob_len);

	if (n->kind == STORE_OP_KV_DEL)
		return w_del(w, DB_KV, k);
	return w_put(w, DB_KV, k, val_of(n->blob2, n->blob2_len), 0);
}

/* Drops one final message: record, carrier map entries, count. */
static int purge_one(struct wctx *w, uint64_t id)
{
	struct store_msg m;
	uint8_t k[8];
	int rc = load_msg(w, id, &m);

	if (rc == -ENOENT)
		return 0;
	if (rc == 0) {
		rc = carrier_map_del(w, &m);
		if (w->counts[m.state] > 0)
			w->counts[m.state]--;
	}
	be64_put(k, id);
	if (rc == 0 || rc == STORE_ECORRUPT)
		rc = w_del(w, DB_STATUS, status_key(&id));
	return rc == 0 ? w_del(w, DB_MESSAGES, val_of(k, 8)) : rc;
}

/*
 * The oldest entries of a time-keyed database, up to n->count of them:
 * bounded so that one purge never holds the write lock for long.
 */
static int apply_purge(struct wctx *w, struct node *n)
{
	int db = n->kind == STORE_OP_PURGE ? DB_FINAL : DB_AUDIT;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(w->txn, w->st->db[db], &cur);

	if (rc != 0)
		return w->fatal = lmdb_rc(rc);
	for (n->value = 0; (unsigned)n->value < n->count; n->value++) {
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		if (rc != 0 || k.mv_size != 16 ||
		    (int64_t)be64_get(k.mv_data) >= n->t)
			break;
		if (db == DB_FINAL && purge_one(w, be64_get((uint8_t *)k.mv_data + 8)) < 0)
			break;
		rc = mdb_cursor_del(cur, 0);
		if (rc != 0) {
			w->fatal = lmdb_rc(rc);
			break;
		}
	}
	mdb_cursor_close(cur);
	return w->fatal;
}

static int apply(struct wctx *w, struct node *n)
{
	switch (n->kind) {
	case STORE_OP_ENQUEUE: return apply_enqueue(w, n);
	case STORE_OP_MARK: return apply_mark(w, n);
	case STORE_OP_CANCEL: return apply_cancel(w, n);
	case STORE_OP_REPLACE: return apply_replace(w, n);
	case STORE_OP_RECEIPT_ADD:
	case STORE_OP_RECEIPT_ACK: return apply_receipt(w, n);
	case STORE_OP_COUNTER_ADD: return apply_counter(w, n);
	case STORE_OP_AUDIT: return apply_audit(w, n);
	case STORE_OP_KV_PUT:
	case STORE_OP_KV_DEL: return apply_kv(w, n);
	case STORE_OP_PURGE:
	case STORE_OP_AUDIT_PURGE: return apply_purge(w, n);
	case OP_CLAIM: return apply_claim(w, n);
	default: return -EINVAL;
	}
}

/* Operations a full map still lets through: they free space or barely use it. */
static bool frees_space(const struct node *n)
{
	switch (n->kind) {
	case STORE_OP_MARK: return store_state_is_final(n->state);
	case STORE_OP_CANCEL: case STORE_OP_RECEIPT_ACK: case STORE_OP_KV_DEL:
	case STORE_OP_PURGE: case STORE_OP_AUDIT_PURGE: case OP_CLAIM:
		return true;
	default: return false;
	}
}

/* level 0: everything; 1: no new messages; 2: only what frees space. */
static bool runs_at_level(const struct node *n, int level)
{
	if (level == 0)
		return true;
	if (level == 1)
		return n->kind != STORE_OP_ENQUEUE;
	return frees_space(n);
}

static int save_meta(struct wctx *w)
{
	uint8_t hwm[8], counts[8 * STORE_STATE_COUNT];
	int rc;

	for (int i = 0; i < STORE_STATE_COUNT; i++)
		le64_put(counts + 8 * i, w->counts[i]);
	le64_put(hwm, w->hwm);
	rc = w_put(w, DB_META, val_of("counts", 6), val_of(counts,
	    sizeof(counts)), 0);
	return rc < 0 ? rc : w_put(w, DB_META, val_of("hwm", 3), val_of(hwm, 8), 0);
}

/* Upper bounds of the commit histogram's buckets: 100 us to 1 s. */
static const uint64_t commit_le_ns[STORE_COMMIT_BUCKETS] = {
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
	25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
};

static void commit_observe(struct store *st, uint64_t ns)
{
	unsigned i = 0;

	while (i < STORE_COMMIT_BUCKETS && ns > commit_le_ns[i])
		i++;
	atomic_fetch_add_explicit(&st->commit_counts[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->commit_sum_ns, ns, memory_order_relaxed);
}

void store_get_commit_hist(struct store *st, struct store_commit_hist *out)
{
	memcpy(out->le_ns, commit_le_ns, sizeof(out->le_ns));
	out->sum_ns = atomic_load_explicit(&st->commit_sum_ns, memory_order_relaxed);
	/* the count is the buckets' total, so that +Inf always equals it */
	out->count = 0;
	for (int i = 0; i <= STORE_COMMIT_BUCKETS; i++) {
		out->counts[i] = atomic_load_explicit(&st->commit_counts[i],
		    memory_order_relaxed);
		out->count += out->counts[i];
	}
}

static int commit(struct wctx *w)
{
	uint64_t t0 = mono_ns();
	int rc = lmdb_rc(mdb_txn_commit(w->txn));
	struct store *st = w->st;
	uint64_t took = mono_ns() - t0;

	commit_observe(st, took);
	pthread_mutex_lock(&st->lock);
	st->stats.commit_ns += took;
	st->stats.commits += rc == 0;
	pthread_mutex_unlock(&st->lock);
	if (rc == 0) {
		memcpy(st->counts, w->counts, sizeof(st->counts));
		st->hwm = w->hwm;
	}
	return rc;
}

/*
 * Pages holding data: every tree's pages, the free list's own and the two
 * meta pages.  Freed pages count as free (LMDB reuses them once no reader
 * needs them), which is what a reserve wants to know.
 */
static size_t pages_in_use(const struct store *st, MDB_txn *txn)
{
	size_t used = 2;
	MDB_stat s;

	for (int i = -2; i < DB_COUNT; i++) {
		MDB_dbi dbi = i < 0 ? (MDB_dbi)(i + 2) : st->db[i];

		if (mdb_stat(txn, dbi, &s) == 0)
			used += s.ms_branch_pages + s.ms_leaf_pages +
			    s.ms_overflow_pages;
	}
	return used;
}

/*
 * What the messages not yet final will still write: a carrier id map
 * entry when submitted, a final-index entry when they end, each in B-tree
 * pages that splits leave about half full.  A store that took new
 * messages up to its reserve could not record their outcomes (a mark that
 * fails after the carrier accepted would send the message again), so
 * this much is kept back from new messages as well.
 */
#define OUTCOME_BYTES 192

static size_t outcome_pages(const struct store *st, const uint64_t *counts)
{
	uint64_t open = counts[STORE_QUEUED] + counts[STORE_DEFERRED] +
	    counts[STORE_SUBMITTING] + counts[STORE_SUBMITTED];

	return st->page_size ? (size_t)(open * OUTCOME_BYTES / st->page_size) : 0;
}

static bool has_enqueue(struct node **b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i]->kind == STORE_OP_ENQUEUE)
			return true;
	return false;
}

static int run_pass(struct store *st, struct node **b, size_t n, int level)
{
	struct wctx w = { .st = st, .now = now_ms(), .hwm = st->hwm };
	int rc = lmdb_rc(mdb_txn_begin(st->env, NULL, 0, &w.txn));

	if (rc < 0)
		return rc;
	memcpy(w.counts, st->counts, sizeof(w.counts));
	/* New messages stop short of the end: the reserve is for the rest. */
	if (level == 0 && has_enqueue(b, n) &&
	    pages_in_use(st, w.txn) + outcome_pages(st, w.counts) > st->enqueue_pages)
		level = 1;
	for (size_t i = 0; i < n && w.fatal == 0; i++) {
		/* the nodes were written on the submitting core: ask ahead */
		if (i + PREFETCH_AHEAD < n) {
			__builtin_prefetch(b[i + PREFETCH_AHEAD], 1);
			__builtin_prefetch((char *)b[i + PREFETCH_AHEAD] + 64, 1);
			__builtin_prefetch(b[i + PREFETCH_AHEAD]->data, 0);
		}
		b[i]->value = 0;
		b[i]->rc = runs_at_level(b[i], level) ? apply(&w, b[i]) : STORE_EFULL;
	}
	if (w.fatal == 0 && !st->attach)
		save_meta(&w);
	if (w.fatal != 0) {
		mdb_txn_abort(w.txn);
		return w.fatal;
	}
	return commit(&w);
}

/* Retries a batch that does not fit with fewer operations (see store.h). */
static void run_batch(struct store *st, struct node **b, size_t n)
{
	int rc = 0;

	for (int level = 0; level < 3; level++) {
		rc = run_pass(st, b, n, level);
		if (rc != STORE_EFULL)
			break;
		pthread_mutex_lock(&st->lock);
		st->stats.full_retries++;
		pthread_mutex_unlock(&st->lock);
	}
	for (size_t i = 0; rc < 0 && i < n; i++)
		b[i]->rc = rc;
}

/* ---- the writer thread ---- */

/* Waits for work; takes everything submitted.  0 when stopping. */
static size_t take_all(struct store *st)
{
	struct nodevec spare = st->taken;

	pthread_mutex_lock(&st->lock);
	while (st->queue.n == 0 && !st->stopping) {
		st->writer_idle = true;
		pthread_cond_wait(&st->wake, &st->lock);
		st->writer_idle = false;
	}
	st->taken = st->queue;
	st->queue = spare;
	st->queue.n = 0;
	pthread_mutex_unlock(&st->lock);
	return st->taken.n;
}

/*
 * An array of *cap elements of size bytes, grown (doubling from first) to
 * hold need: the array, moved or not, or NULL when out of memory (then
 * *cap and the old array are as they were).
 */
static void *grow_array(void *v, size_t *cap, size_t need, size_t first,
    size_t size)
{
	size_t c = *cap ? *cap : first;

	while (c < need)
		c *= 2;
	if (c == *cap)
		return v;
	v = realloc(v, c * size);
	if (v != NULL)
		*cap = c;
	return v;
}

static int grow_done(struct store *st, size_t more)
{
	struct store_completion *d = grow_array(st->done, &st->capdone,
	    st->ndone + more, 256, sizeof(*d));

	if (d == NULL)
		return -ENOMEM;
	st->done = d;
	return 0;
}

/* The loop's notify fd made readable: completions wait. */
static void signal_done(struct store *st)
{
	uint64_t one = 1;

	if (write(st->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already nonzero, the fd readable */
	}
}

static void post_completions(struct store *st, struct node **b, size_t n)
{
	size_t posted = 0;

	pthread_mutex_lock(&st->lock);
	if (grow_done(st, n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (b[i]->kind == OP_CLAIM)
				continue;
			st->done[st->ndone++] = (struct store_completion){
				.cookie = b[i]->cookie, .kind = b[i]->kind,
				.rc = b[i]->rc, .id = b[i]->id, .value = b[i]->value,
			};
			posted++;
		}
	}
	st->stats.ops += n;
	if (n > st->stats.max_batch_seen)
		st->stats.max_batch_seen = n;
	pthread_mutex_unlock(&st->lock);
	if (posted > 0)
		signal_done(st);
}

static void free_chain(struct node *n)
{
	while (n != NULL) {
		struct node *next = n->next;

		free(n);
		n = next;
	}
}

/* A chain of pooled nodes back to the pool in one locked splice, as many
 * as it has room for; the rest are freed. */
static void pool_give(struct store *st, struct node *keep)
{
	if (keep == NULL)
		return;
	pthread_mutex_lock(&st->pool_lock);
	while (keep != NULL && st->pool_n < NODE_POOL_MAX) {
		struct node *next = keep->next;

		keep->next = st->pool;
		st->pool = keep;
		st->pool_n++;
		keep = next;
	}
	pthread_mutex_unlock(&st->pool_lock);
	free_chain(keep);
}

/* Frees a chain: pooled nodes go back to the pool (pool_give). */
static void free_nodes(struct store *st, struct node *n)
{
	struct node *keep = NULL;

	while (n != NULL) {
		struct node *next = n->next;

		if (n->pooled) {
			n->next = keep;
			keep = n;
		} else {
			free(n);
		}
		n = next;
	}
	pool_give(st, keep);
}

static void free_node(struct store *st, struct node *n)
{
	n->next = NULL;
	free_nodes(st, n);
}

/* A claim node's ids out of st->claimed.  Caller holds claim_lock. */
static void unclaim(struct store *st, const struct node *n)
{
	for (unsigned j = 0; n->kind == OP_CLAIM && j < n->count; j++)
		idset_del(&st->claimed, le64_get(n->blob + CLAIM_ENTRY * j));
}

/* Committed claims are now visible as absent from the queue. */
static void release_claims(struct store *st, struct node **b, size_t n)
{
	pthread_mutex_lock(&st->claim_lock);
	for (size_t i = 0; i < n; i++)
		unclaim(st, b[i]);
	pthread_mutex_unlock(&st->claim_lock);
}

/* Gives a committed batch's nodes back: pooled ones in one splice. */
static void free_batch(struct store *st, struct node **b, size_t n)
{
	struct node *keep = NULL;

	for (size_t i = 0; i < n; i++) {
		if (b[i]->pooled) {
			b[i]->next = keep;
			keep = b[i];
		} else {
			free(b[i]);
		}
	}
	pool_give(st, keep);
}

static void *writer_main(void *arg)
{
	struct store *st = arg;
	size_t n;

	while ((n = take_all(st)) > 0) {
		for (size_t at = 0; at < n; at += st->max_batch) {
			struct node **b = st->taken.v + at;
			size_t k = n - at < st->max_batch ? n - at : st->max_batch;

			run_batch(st, b, k);
			post_completions(st, b, k);
			release_claims(st, b, k);
			free_batch(st, b, k);
		}
	}
	return NULL;
}

/* ---- submitting ---- */

/* Caller holds st->submit_lock. */
static struct node *pool_take(struct store *st)
{
	struct node *n = st->spare;

	if (n == NULL) {
		pthread_mutex_lock(&st->pool_lock);
		n = st->pool;
		st->pool = NULL;
		st->pool_n = 0;
		pthread_mutex_unlock(&st->pool_lock);
		if (n == NULL)
			return malloc(NODE_POOLED);
	}
	st->spare = n->next;
	/* The nodes were last written on the writer's core: fetching the next
	 * one now hides a cache miss that was most of store_submit's time. */
	if (st->spare != NULL)
		__builtin_prefetch(st->spare, 1);
	return n;
}

/* Caller holds st->submit_lock. */
static struct node *node_new(struct store *st, int kind, const struct store_op *op, size_t extra)
{
	size_t size = sizeof(struct node) + extra;
	bool pooled = size <= NODE_POOLED;
	struct node *n = pooled ? pool_take(st) : malloc(size);

	if (n == NULL)
		return NULL;
	/* The header only: each make_*() writes the data it uses, and a
	 * pooled node's lines were last written on the writer's core. */
	memset(n, 0, sizeof(*n));
	n->pooled = pooled;
	n->kind = kind;
	if (op != NULL) {
		n->cookie = op->cookie;
		n->id = op->id;
	}
	return n;
}

static bool str_ok(const char *s)
{
	return s == NULL || strlen(s) <= STORE_STR_MAX;
}

static char *copy_str(uint8_t **p, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *r = (char *)*p;

	if (n)
		memcpy(r, s, n);
	r[n] = '\0';
	*p += n + 1;
	return r;
}

static int make_enqueue(struct store *st, struct store_op *op, int64_t now,
    struct node **out)
{
	struct store_msg m = *op->u.msg;
	uint8_t rec[STORE_MSG_MAX], *p;
	size_t len;
	struct node *n;
	int rc;

	if (!is_queued(m.state) || !str_ok(m.lane))
		return -EINVAL;
	m.id = op->id;
	m.created_ms = m.created_ms ? m.created_ms : now;
	m.updated_ms = m.updated_ms ? m.updated_ms : now;
	rc = store_msg_encode(&m, rec, sizeof(rec), &len);
	if (rc < 0)
		return rc;
	n = node_new(st, STORE_OP_ENQUEUE, op, len + (m.lane ? strlen(m.lane) : 0) + 1);
	if (n == NULL)
		return -ENOMEM;
	memcpy(n->data, rec, len);
	n->blob = n->data;
	n->blob_len = len;
	p = n->data + len;
	n->str = copy_str(&p, m.lane);
	n->t = m.next_attempt_ms;
	n->state = m.state;
	n->count = msg_fresh(&m);	/* apply_enqueue's queue mark */
	*out = n;
	return 0;
}

static int cids_size(const struct store_op *op, size_t *size)
{
	*size = 0;
	for (unsigned i = 0; i < op->u.mark.n_carrier_ids; i++) {
		const char *c = op->u.mark.carrier_ids[i];

		if (c == NULL || !str_ok(c))
			return -EINVAL;
		*size += strlen(c) + 1;
	}
	return *size > STORE_CARRIER_IDS_MAX ? -E2BIG : 0;
}

static int make_mark(struct store *st, struct store_op *op, struct node **out)
{
	enum store_state to = op->u.mark.state;
	size_t cids;
	struct node *n;
	uint8_t *p;
	int rc = cids_size(op, &cids);

	if (rc < 0)
		return rc;
	if ((unsigned)to >= STORE_STATE_COUNT || to == STORE_SUBMITTING ||
	    to == STORE_CANCELLED || !str_ok(op->u.mark.carrier))
		return -EINVAL;
	n = node_new(st, STORE_OP_MARK, op, cids + STORE_STR_MAX + 1);
	if (n == NULL)
		return -ENOMEM;
	p = n->data;
	n->str = copy_str(&p, op->u.mark.carrier);
	n->blob = p;
	n->blob_len = cids;
	for (unsigned i = 0; i < op->u.mark.n_carrier_ids; i++)
		copy_str(&p, op->u.mark.carrier_ids[i]);
	n->count = op->u.mark.n_carrier_ids;
	n->state = to;
	n->error = op->u.mark.error;
	n->t = op->u.mark.due_ms;
	n->no_attempt = op->u.mark.no_attempt;
	*out = n;
	return 0;
}

static int make_receipt(struct store *st, struct store_op *op, struct node **out)
{
	const char *acct = op->u.receipt.account;
	size_t len = op->kind == STORE_OP_RECEIPT_ADD ? op->u.receipt.len : 0;
	struct node *n;
	uint8_t *p;

	if (acct == NULL || !str_ok(acct) || len > STORE_MSG_MAX ||
	    (len > 0 && op->u.receipt.data == NULL))
		return -EINVAL;
	n = node_new(st, op->kind, op, strlen(acct) + 1 + len);
	if (n == NULL)
		return -ENOMEM;
	p = n->data;
	n->str = copy_str(&p, acct);
	if (len)
		memcpy(p, op->u.receipt.data, len);
	n->blob = p;
	n->blob_len = len;
	*out = n;
	return 0;
}

static int make_counter(struct store *st, struct store_op *op, struct node **out)
{
	const char *name = op->u.counter.name;
	struct node *n;
	uint8_t *p;

	if (name == NULL || !str_ok(name))
		return -EINVAL;
	n = node_new(st, op->kind, op, strlen(name) + 1);
	if (n == NULL)
		return -ENOMEM;
	p = n->data;
	n->str = copy_str(&p, name);
	n->t = op->u.counter.window;
	n->delta = op->u.counter.delta;
	*out = n;
	return 0;
}

/* Audit value: le64 msg_id, then 5 x (le16 length, bytes, NUL). */
static int make_audit(struct store *st, struct store_op *op, int64_t now, struct node **out)
{
	const struct store_audit *a = op->u.audit;
	const char *f[5] = { a->account, a->campaign, a->recipient, a->rule,
	    a->reason };
	size_t size = 8;
	struct node *n;
	uint8_t *p;

	for (int i = 0; i < 5; i++) {
		if (!str_ok(f[i]))
			return -EINVAL;
		size += 3 + (f[i] ? strlen(f[i]) : 0);
	}
	n = node_new(st, op->kind, op, size);
	if (n == NULL)
		return -ENOMEM;
	p = n->data;
	le64_put(p, a->msg_id);
	p += 8;
	for (int i = 0; i < 5; i++) {
		le16_put(p, (uint16_t)(f[i] ? strlen(f[i]) : 0));
		p += 2;
		copy_str(&p, f[i]);
	}
	n->blob = n->data;
	n->blob_len = size;
	n->t = a->time_ms ? a->time_ms : now;
	*out = n;
	return 0;
}

static int make_kv(struct store *st, struct store_op *op, struct node **out)
{
	size_t kl = op->u.kv.klen;
	size_t vl = op->kind == STORE_OP_KV_PUT ? op->u.kv.vlen : 0;
	struct node *n;

	if (kl == 0 || kl > STORE_STR_MAX || op->u.kv.key == NULL ||
	    vl > STORE_MSG_MAX || (vl > 0 && op->u.kv.val == NULL))
		return -EINVAL;
	n = node_new(st, op->kind, op, kl + vl);
	if (n == NULL)
		return -ENOMEM;
	memcpy(n->data, op->u.kv.key, kl);
	if (vl)
		memcpy(n->data + kl, op->u.kv.val, vl);
	n->blob = n->data;
	n->blob_len = kl;
	n->blob2 = n->data + kl;
	n->blob2_len = vl;
	*out = n;
	return 0;
}

static int make_replace(struct store *st, struct store_op *op, struct node **out)
{
	size_t len = op->u.replace.body_len;
	struct node *n;

	if (len > STORE_BODY_MAX || (len > 0 && op->u.replace.body == NULL))
		return -EINVAL;
	n = node_new(st, op->kind, op, len);
	if (n == NULL)
		return -ENOMEM;
	if (len)
		memcpy(n->data, op->u.replace.body, len);
	n->blob = n->data;
	n->blob_len = len;
	n->count = op->u.replace.registered_delivery;
	n->t = op->u.replace.validity_ms;
	*out = n;
	return 0;
}

static int make_simple(struct store *st, struct store_op *op, struct node **out)
{
	struct node *n = node_new(st, op->kind, op, 0);

	if (n == NULL)
		return -ENOMEM;
	n->t = op->u.purge.before_ms;
	n->count = op->u.purge.max;
	if ((op->kind == STORE_OP_PURGE || op->kind == STORE_OP_AUDIT_PURGE) &&
	    n->count == 0) {
		free_node(st, n);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

static int make_node(struct store *st, struct store_op *op, int64_t now,
    struct node **out)
{
	switch (op->kind) {
	case STORE_OP_ENQUEUE:
		return op->u.msg ? make_enqueue(st, op, now, out) : -EINVAL;
	case STORE_OP_MARK: return make_mark(st, op, out);
	case STORE_OP_RECEIPT_ADD:
	case STORE_OP_RECEIPT_ACK: return make_receipt(st, op, out);
	case STORE_OP_COUNTER_ADD: return make_counter(st, op, out);
	case STORE_OP_AUDIT:
		return op->u.audit ? make_audit(st, op, now, out) : -EINVAL;
	case STORE_OP_KV_PUT:
	case STORE_OP_KV_DEL: return make_kv(st, op, out);
	case STORE_OP_REPLACE: return make_replace(st, op, out);
	case STORE_OP_CANCEL:
	case STORE_OP_PURGE:
	case STORE_OP_AUDIT_PURGE: return make_simple(st, op, out);
	default: return -EINVAL;
	}
}

static bool needs_id(enum store_op_kind k)
{
	return k == STORE_OP_ENQUEUE || k == STORE_OP_RECEIPT_ADD ||
	    k == STORE_OP_AUDIT;
}

/* A message whose id came from store_reserve_id() keeps it. */
static uint64_t reserved_id(const struct store_op *op)
{
	return op->kind == STORE_OP_ENQUEUE && op->u.msg ? op->u.msg->id : 0;
}

uint64_t store_reserve_id(struct store *st)
{
	pthread_mutex_lock(&st->submit_lock);
	uint64_t id = next_id(st, now_ms());
	pthread_mutex_unlock(&st->submit_lock);
	return id;
}

static int nodevec_reserve(struct nodevec *q, size_t more)
{
	struct node **v = grow_array(q->v, &q->cap, q->n + more, 1024, sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	q->v = v;
	return 0;
}

/* Claims of nodes that will never reach the writer: nobody else would
 * release them. */
static void release_chain_claims(struct store *st, const struct node *first)
{
	pthread_mutex_lock(&st->claim_lock);
	for (const struct node *n = first; n != NULL; n = n->next)
		unclaim(st, n);
	pthread_mutex_unlock(&st->claim_lock);
}

static void fail_staged(struct store *st, struct node *first, int rc);

/* Queues a chain of count nodes for the writer, in order, and wakes it.
 * On error the nodes are freed and their claims released; staged ones
 * (their callers were told they were taken) complete with the error. */
static int push_nodes(struct store *st, struct node *first, size_t count,
    bool staged)
{
	int rc = 0;

	pthread_mutex_lock(&st->lock);
	if (st->stopping)
		rc = -ESHUTDOWN;
	else
		rc = nodevec_reserve(&st->queue, count);
	if (rc < 0) {
		pthread_mutex_unlock(&st->lock);
		if (staged)
			fail_staged(st, first, rc);
		release_chain_claims(st, first);
		free_nodes(st, first);
		return rc;
	}
	for (struct node *n = first; n != NULL; n = n->next)
		st->queue.v[st->queue.n++] = n;
	bool idle = st->writer_idle;
	pthread_mutex_unlock(&st->lock);
	/* Only an idle writer needs waking, and after the unlock: woken while
	 * the lock is still held, it would block on it at once. */
	if (idle)
		pthread_cond_signal(&st->wake);
	return 0;
}

/* Completions carrying rc for a chain the writer's queue refused. */
static void fail_staged(struct store *st, struct node *first, int rc)
{
	bool posted = false;

	pthread_mutex_lock(&st->lock);
	for (struct node *n = first; n != NULL; n = n->next) {
		if (n->kind == OP_CLAIM || grow_done(st, 1) != 0)
			continue;
		st->done[st->ndone++] = (struct store_completion){
			.cookie = n->cookie, .kind = n->kind, .rc = rc, .id = n->id,
		};
		posted = true;
	}
	pthread_mutex_unlock(&st->lock);
	if (posted)
		signal_done(st);
}

/*
 * Hands a chain of count nodes over: to the writer at once, or with a
 * flush hook to the staged chain, the hook told when the chain was empty.
 */
static int hand_over(struct store *st, struct node *first, struct node **last,
    size_t count)
{
	bool was_empty;

	if (st->flush_hook == NULL)
		return push_nodes(st, first, count, false);
	pthread_mutex_lock(&st->submit_lock);
	was_empty = st->staged_n == 0;
	*st->staged_tail = first;
	st->staged_tail = &(*last)->next;
	st->staged_n += count;
	pthread_mutex_unlock(&st->submit_lock);
	if (was_empty)
		st->flush_hook(st->flush_arg);
	return 0;
}

void store_set_flush_hook(struct store *st, void (*hook)(void *arg), void *arg)
{
	store_flush(st);	/* what was staged for the old hook goes now */
	pthread_mutex_lock(&st->submit_lock);
	st->flush_hook = hook;
	st->flush_arg = arg;
	pthread_mutex_unlock(&st->submit_lock);
}

void store_flush(struct store *st)
{
	struct node *first;
	size_t count;

	pthread_mutex_lock(&st->submit_lock);
	first = st->staged;
	count = st->staged_n;
	st->staged = NULL;
	st->staged_tail = &st->staged;
	st->staged_n = 0;
	pthread_mutex_unlock(&st->submit_lock);
	if (count > 0)
		(void)push_nodes(st, first, count, true);
}

/* What a tool attached beside the owner may write (store_config.attach). */
static bool attach_allows(enum store_op_kind k)
{
	return k == STORE_OP_KV_PUT || k == STORE_OP_KV_DEL ||
	    k == STORE_OP_AUDIT || k == STORE_OP_COUNTER_ADD;
}

/*
 * The time operations are stamped with.  A batch kept for one flush (one
 * loop turn) shares the clock read of its first operation: several reads
 * per message were a few percent of the loop's time on virtual machines.
 * Caller holds st->submit_lock.
 */
static int64_t submit_time(struct store *st)
{
	if (st->flush_hook == NULL)
		return now_ms();
	if (st->staged_n == 0)
		st->staged_now = now_ms();
	return st->staged_now;
}

int store_submit(struct store *st, struct store_op *ops, size_t n)
{
	struct node *first = NULL, **tail = &first, *last = NULL;
	int64_t now;
	int rc = 0;

	for (size_t i = 0; st->attach && i < n; i++)
		if (!attach_allows(ops[i].kind))
			return STORE_EATTACHED;

	pthread_mutex_lock(&st->submit_lock);
	now = submit_time(st);
	for (size_t i = 0; i < n; i++)
		if (needs_id(ops[i].kind))
			ops[i].id = reserved_id(&ops[i]) ? reserved_id(&ops[i]) : next_id(st, now);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = make_node(st, &ops[i], now, tail);
		if (rc == 0) {
			last = *tail;
			tail = &last->next;
		}
	}
	pthread_mutex_unlock(&st->submit_lock);
	if (rc < 0) {
		free_nodes(st, first);
		return rc;
	}
	return n ? hand_over(st, first, &last, n) : 0;
}

int store_notify_fd(const struct store *st)
{
	return st->efd;
}

/* Swaps the completion array out under the lock; calls back without it. */
size_t store_drain_completions(struct store *st, store_completion_cb *cb,
    void *arg)
{
	struct store_completion *d;
	size_t n, cap;
	uint64_t v;

	if (read(st->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing signalled; there may still be a race winner */
	}
	pthread_mutex_lock(&st->lock);
	d = st->done;
	n = st->ndone;
	cap = st->capdone;
	st->done = NULL;
	st->ndone = st->capdone = 0;
	pthread_mutex_unlock(&st->lock);
	for (size_t i = 0; i < n; i++)
		cb(&d[i], arg);
	pthread_mutex_lock(&st->lock);
	if (st->done == NULL) {	/* keep the allocation for next time */
		st->done = d;
		st->capdone = cap;
	} else {
		free(d);
	}
	pthread_mutex_unlock(&st->lock);
	return n;
}

int store_fsyncs(struct store *st)
{
	unsigned flags = 0;

	return mdb_env_get_flags(st->env, &flags) == 0 && !(flags & MDB_NOSYNC);
}

void store_get_stats(struct store *st, struct store_stats *out)
{
	pthread_mutex_lock(&st->lock);
	*out = st->stats;
	pthread_mutex_unlock(&st->lock);
}

int store_space(struct store *st, uint64_t *used, uint64_t *size)
{
	uint64_t counts[STORE_STATE_COUNT];
	MDB_envinfo info;
	MDB_txn *txn;
	int rc = store_state_counts(st, counts);

	if (rc == 0)
		rc = lmdb_rc(mdb_env_info(st->env, &info));
	if (rc == 0)
		rc = lmdb_rc(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn));
	if (rc < 0)
		return rc;
	*used = (uint64_t)(pages_in_use(st, txn) + outcome_pages(st, counts)) * st->page_size;
	*size = info.me_mapsize;
	mdb_txn_abort(txn);
	return 0;
}

/* ---- open, recovery, close ---- */

static int open_dbs(struct store *st, MDB_txn *txn)
{
	for (int i = 0; i < DB_COUNT; i++) {
		unsigned flags = MDB_CREATE | (i == DB_STATUS ? MDB_INTEGERKEY : 0);
		int rc = mdb_dbi_open(txn, db_names[i], flags, &st->db[i]);

		if (rc != 0)
			return lmdb_rc(rc);
	}
	return 0;
}

/* Reads (or, on a new store, writes) the layout version, hwm and counts. */
static int load_meta(struct store *st, MDB_txn *txn)
{
	uint8_t ver[4];
	MDB_val k = val_of("version", 7), v;
	int rc = mdb_get(txn, st->db[DB_META], &k, &v);

	if (rc == MDB_NOTFOUND) {
		le32_put(ver, LAYOUT_VERSION);
		v = val_of(ver, 4);
		return lmdb_rc(mdb_put(txn, st->db[DB_META], &k, &v, 0));
	}
	if (rc != 0 || v.mv_size != 4)
		return rc ? lmdb_rc(rc) : STORE_ECORRUPT;
	if (le32_get(v.mv_data) == 1) {
		/* layout 1 reads the same: say 2, so that older smppd refuses
		 * a store whose states it would no longer see */
		le32_put(ver, LAYOUT_VERSION);
		v = val_of(ver, 4);
		rc = mdb_put(txn, st->db[DB_META], &k, &v, 0);
		if (rc != 0)
			return lmdb_rc(rc);
	} else if (le32_get(v.mv_data) != LAYOUT_VERSION) {
		return STORE_ECORRUPT;
	}
	k = val_of("hwm", 3);
	if (mdb_get(txn, st->db[DB_META], &k, &v) == 0 && v.mv_size == 8)
		st->hwm = le64_get(v.mv_data);
	k = val_of("counts", 6);
	if (mdb_get(txn, st->db[DB_META], &k, &v) == 0 &&
	    v.mv_size == 8 * STORE_STATE_COUNT)
		for (int i = 0; i < STORE_STATE_COUNT; i++)
			st->counts[i] = le64_get((uint8_t *)v.mv_data + 8 * i);
	return 0;
}

/*
 * Keeps 1/32 of the map (at least 32 pages) free of new messages: in LMDB
 * even a delete copies pages, so marks, acks and purges need room to run
 * when new messages are already refused.
 */
static void set_reserve(struct store *st)
{
	MDB_envinfo info;
	MDB_stat stat;
	size_t pages, reserve;

	mdb_env_info(st->env, &info);
	mdb_env_stat(st->env, &stat);
	st->page_size = stat.ms_psize;
	pages = info.me_mapsize / stat.ms_psize;
	reserve = pages / 32 > 32 ? pages / 32 : 32;
	st->enqueue_pages = pages > reserve ? pages - reserve : 0;
}

static int env_open(struct store *st, const struct store_config *cfg)
{
	MDB_txn *txn;
	int dead, rc;

	if (mkdir(cfg->path, 0700) < 0 && errno != EEXIST)
		return -errno;
	rc = mdb_env_create(&st->env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(st->env, DB_COUNT);
	if (rc == 0)
		rc = mdb_env_set_mapsize(st->env, cfg->map_size ? cfg->map_size :
		    (size_t)1 << 30);
	if (rc == 0)
		rc = mdb_env_open(st->env, cfg->path, MDB_NOTLS |
		    (cfg->no_fsync ? MDB_NOSYNC : 0), 0600);
	if (rc == 0)	/* slots left by a process killed mid-read */
		rc = mdb_reader_check(st->env, &dead);
	if (rc == 0)
		rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc != 0)
		return lmdb_rc(rc);
	rc = open_dbs(st, txn);
	if (rc == 0)
		rc = load_meta(st, txn);
	if (rc < 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = lmdb_rc(mdb_txn_commit(txn));
	if (rc == 0)
		set_reserve(st);
	return rc;
}

/* Up to RECOVER_CHUNK SUBMITTING messages back to QUEUED, due now. */
static int recover_chunk(struct store *st, uint64_t *moved)
{
	struct wctx w = { .st = st, .now = now_ms(), .hwm = st->hwm };
	struct change c = { .to = STORE_QUEUED, .due_ms = w.now, .no_attempt = 1 };
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = lmdb_rc(mdb_txn_begin(st->env, NULL, 0, &w.txn));

	if (rc < 0)
		return rc;
	memcpy(w.counts, st->counts, sizeof(w.counts));
	rc = lmdb_rc(mdb_cursor_open(w.txn, st->db[DB_INFLIGHT], &cur));
	for (int i = 0; rc == 0 && i < RECOVER_CHUNK; i++) {
		if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) != 0)
			break;
		/* A missing or odd record: drop the dangling entry. */
		if (k.mv_size != 8 || transition(&w, be64_get(k.mv_data), &c) != 0)
			rc = lmdb_rc(mdb_cursor_del(cur, 0));
		else
			(*moved)++;
		rc = rc ? rc : w.fatal;
	}
	if (rc == 0)
		rc = w.fatal ? w.fatal : save_meta(&w);
	if (rc < 0) {
		mdb_txn_abort(w.txn);
		return rc;
	}
	return commit(&w);
}

static int recover(struct store *st)
{
	uint64_t before;
	int rc;

	do {
		before = st->recovered;
		rc = recover_chunk(st, &st->recovered);
	} while (rc == 0 && st->recovered - before == RECOVER_CHUNK);
	return rc;
}

uint64_t store_recovered(const struct store *st)
{
	return st->recovered;
}

static int start(struct store *st, const struct store_config *cfg)
{
	int rc;

	st->node_id = cfg->node_id;
	st->max_batch = cfg->max_batch ? cfg->max_batch : 4096;
	st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (st->efd < 0)
		return -errno;
	if (nodevec_reserve(&st->queue, 1) < 0 || nodevec_reserve(&st->taken, 1) < 0)
		return -ENOMEM;
	st->attach = cfg->attach;
	rc = env_open(st, cfg);
	if (rc == 0 && !st->attach)
		rc = recover(st);
	if (rc < 0)
		return rc;
	st->last_id = st->hwm;
	rc = pthread_create(&st->writer, NULL, writer_main, st);
	st->writer_started = rc == 0;
	if (rc == 0)	/* for top -H and /proc: the thread that writes and syncs */
		(void)pthread_setname_np(st->writer, STORE_WRITER_THREAD);
	return -rc;
}

int store_open(const struct store_config *cfg, struct store **out)
{
	struct store *st;
	int rc;

	if (cfg == NULL || cfg->path == NULL || cfg->node_id >= 1u << NODE_BITS)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->efd = -1;
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->claim_lock, NULL);
	pthread_mutex_init(&st->pool_lock, NULL);
	pthread_mutex_init(&st->submit_lock, NULL);
	st->staged_tail = &st->staged;
	pthread_cond_init(&st->wake, NULL);
	rc = start(st, cfg);
	if (rc < 0) {
		store_close(st);
		return rc;
	}
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	store_flush(st);	/* staged operations were taken: they are written */
	pthread_mutex_lock(&st->lock);
	st->stopping = 1;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	if (st->writer_started)
		pthread_join(st->writer, NULL);
	free_batch(st, st->queue.v, st->queue.n);
	if (st->idle_read != NULL)
		mdb_txn_abort(st->idle_read);
	if (st->env != NULL)
		mdb_env_close(st->env);
	if (st->efd >= 0)
		close(st->efd);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->claim_lock);
	free_chain(st->pool);
	free_chain(st->spare);
	pthread_mutex_destroy(&st->pool_lock);
	pthread_mutex_destroy(&st->submit_lock);
	pthread_mutex_destroy(&st->lock);
	free(st->claimed.slot);
	free(st->done);
	free(st->queue.v);
	free(st->taken.v);
	free(st);
}


/* ---- reads ---- */

static int read_begin(struct store *st, MDB_txn **txn)
{
	MDB_txn *idle = atomic_exchange(&st->idle_read, NULL);

	if (idle != NULL) {
		if (mdb_txn_renew(idle) == MDB_SUCCESS) {
			*txn = idle;
			return 0;
		}
		mdb_txn_abort(idle);
	}
	return lmdb_rc(mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn));
}

/* Ends a read: the transaction is kept for the next one unless another
 * reader already left one there. */
static void read_end(struct store *st, MDB_txn *txn)
{
	MDB_txn *expected = NULL;

	mdb_txn_reset(txn);
	if (!atomic_compare_exchange_strong(&st->idle_read, &expected, txn))
		mdb_txn_abort(txn);
}

/* Where LMDB mapped the file: the mapping of /proc/self/maps that holds a
 * key read through the map (LMDB does not tell, unless MDB_FIXEDMAP). */
static int find_map(struct store *st)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	uintptr_t p = 0, lo, hi;
	char line[512];
	int rc = read_begin(st, &txn);

	if (rc < 0)
		return rc;
	for (int i = 0; i < DB_COUNT && p == 0; i++) {
		if (mdb_cursor_open(txn, st->db[i], &cur) != MDB_SUCCESS)
			continue;
		if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == MDB_SUCCESS)
			p = (uintptr_t)k.mv_data;
		mdb_cursor_close(cur);
	}
	read_end(st, txn);
	FILE *f = p ? fopen("/proc/self/maps", "r") : NULL;
	if (f == NULL)
		return p ? -errno : -ENOENT;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) == 2 && lo <= p && p < hi) {
			st->map_base = (void *)lo;
			st->map_len = hi - lo;
			break;
		}
	fclose(f);
	return st->map_base ? 0 : -ENOENT;
}

int store_trim_resident(struct store *st, uint64_t keep)
{
	MDB_envinfo info;
	uint64_t used;

	if (mdb_env_info(st->env, &info) != MDB_SUCCESS)
		return -EIO;
	used = ((uint64_t)info.me_last_pgno + 1) * st->page_size;
	if (used <= keep)
		return 0;
	if (st->map_base == NULL) {
		int rc = find_map(st);

		if (rc < 0)
			return rc;
	}
	if (madvise(st->map_base, used < st->map_len ? (size_t)used : st->map_len,
	    MADV_DONTNEED) != 0)
		return -errno;
	return 1;
}

int store_get_message(struct store *st, uint64_t id, struct store_msg *out,
    void *buf, size_t bufsz)
{
	MDB_txn *txn;
	int rc = read_begin(st, &txn);

	if (rc < 0)
		return rc;
	rc = read_msg(st, txn, id, out, buf, bufsz);
	if (rc == 0)
		rc = effective_state(st, txn, out);
	read_end(st, txn);
	return rc;
}

/* Where claim_due is in its walk of one lane. */
struct claim {
	struct store *st;
	MDB_txn *txn;
	struct store_msg *out;
	size_t max, n;
	uint8_t *buf;
	size_t bufsz, used;
	int64_t now, next_due;
};

/* 1: taken, 0: skipped, -1: stop here (not due, or out of room).  A
 * message queued once and never since has no status to look for. */
static int claim_one(struct claim *c, const MDB_val *k, const MDB_val *qv,
    size_t lane_len)
{
	const uint8_t *p = (const uint8_t *)k->mv_data + lane_len + 1;
	int64_t due = (int64_t)be64_get(p);
	uint64_t id = be64_get(p + 8);
	uint8_t idk[8];
	MDB_val key = val_of(idk, 8), v, s;
	size_t at = (c->used + 7) & ~(size_t)7;

	if (k->mv_size != lane_len + 17 || idset_has(&c->st->claimed, id))
		return 0;
	if (due > c->now || c->n == c->max) {
		c->next_due = due;
		return -1;
	}
	be64_put(idk, id);
	s.mv_size = 0;
	if (mdb_get(c->txn, c->st->db[DB_MESSAGES], &key, &v) != 0 ||
	    (mark_has_status(qv) && get_status(c->st, c->txn, id, &s) != 0))
		return 0;
	if (at > c->bufsz || v.mv_size + s.mv_size > c->bufsz - at) {
		c->next_due = due;
		return -1;
	}
	if (decode_copy(&v, &s, &c->out[c->n], c->buf + at, c->bufsz - at) != 0 ||
	    !is_queued(c->out[c->n].state))
		return 0;
	c->used = at + v.mv_size + s.mv_size;
	c->n++;
	return 1;
}

static struct claim_hint *hint_of(struct store *st, const char *lane)
{
	return &st->hints[fnv1a_str(FNV1A_BASIS, lane) % CLAIM_HINTS];
}

static int claim_walk(struct claim *c, const char *lane)
{
	uint8_t k[KEY_MAX];
	size_t lane_len = strlen(lane), txnid = mdb_txn_id(c->txn);
	struct claim_hint *hint = hint_of(c->st, lane);
	bool resume = hint->txnid == txnid && hint->klen > 0 &&
	    strcmp(hint->lane, lane) == 0;
	MDB_val key = val_of(k, key_name_u64(k, lane, 0)), v, last = { 0 };
	MDB_cursor *cur;
	int rc = lmdb_rc(mdb_cursor_open(c->txn, c->st->db[DB_QUEUE], &cur));
	MDB_cursor_op op = MDB_SET_RANGE;

	if (resume)
		key = val_of(hint->key, hint->klen);
	for (; rc == 0; op = MDB_NEXT) {
		if (mdb_cursor_get(cur, &key, &v, op) != 0 ||
		    !has_prefix(&key, k, lane_len + 1))
			break;
		if (claim_one(c, &key, &v, lane_len) < 0)
			break;
		last = key;	/* taken or passed over: in the snapshot's page */
	}
	if (rc == 0 && last.mv_size > 0 && last.mv_size <= KEY_MAX) {
		hint->txnid = txnid;
		memcpy(hint->lane, lane, lane_len + 1);
		memcpy(hint->key, last.mv_data, last.mv_size);
		hint->klen = last.mv_size;
	}
	if (rc == 0)
		mdb_cursor_close(cur);
	return rc;
}

/* The claimed ids as the node that hands them to the writer (QUEUED ->
 * SUBMITTING).  Caller holds st->claim_lock. */
static int claim_node(struct store *st, const char *lane,
    const struct store_msg *m, size_t n, struct node **out)
{
	size_t lane_len = strlen(lane) + 1;
	struct node *node;

	pthread_mutex_lock(&st->submit_lock);
	node = node_new(st, OP_CLAIM, NULL, CLAIM_ENTRY * n + lane_len);
	pthread_mutex_unlock(&st->submit_lock);
	if (node == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = node->data + CLAIM_ENTRY * i;

		le64_put(e, m[i].id);
		le64_put(e + 8, (uint64_t)m[i].next_attempt_ms);
		e[CLAIM_ENTRY - 1] = (uint8_t)m[i].state;
		if (idset_add(&st->claimed, m[i].id) < 0) {
			while (i-- > 0)	/* unclaimed: nobody would release them */
				idset_del(&st->claimed, m[i].id);
			free_node(st, node);
			return -ENOMEM;
		}
	}
	memcpy(node->data + CLAIM_ENTRY * n, lane, lane_len);
	node->str = (const char *)node->data + CLAIM_ENTRY * n;
	node->blob = node->data;
	node->count = (unsigned)n;
	*out = node;
	return 0;
}

int store_claim_due(struct store *st, const char *lane, int64_t now_ms,
    struct store_msg *out, size_t max, void *buf, size_t bufsz,
    int64_t *next_due_ms)
{
	struct claim c = { .st = st, .out = out, .max = max, .buf = buf,
	    .bufsz = bufsz, .now = now_ms, .next_due = -1 };
	struct node *node = NULL;
	int rc;

	if (lane == NULL || !str_ok(lane))
		return -EINVAL;
	if (st->attach)
		return STORE_EATTACHED;	/* claims are the owner's */
	pthread_mutex_lock(&st->claim_lock);
	rc = read_begin(st, &c.txn);
	if (rc == 0) {
		rc = claim_walk(&c, lane);
		read_end(st, c.txn);
	}
	if (rc == 0 && c.n > 0)
		rc = claim_node(st, lane, out, c.n, &node);
	if (rc < 0)	/* what it passed over is not claimed after all */
		hint_of(st, lane)->txnid = 0;
	pthread_mutex_unlock(&st->claim_lock);
	/* outside claim_lock: a refused node's claims are released under it */
	if (node != NULL && (rc = hand_over(st, node, &node, 1)) < 0) {
		pthread_mutex_lock(&st->claim_lock);
		hint_of(st, lane)->txnid = 0;
		pthread_mutex_unlock(&st->claim_lock);
	}
	if (next_due_ms != NULL)
		*next_due_ms = c.next_due;
	return rc < 0 ? rc : (int)c.n;
}

/* Each lane once: after lane L, seek to "L\x01", past all of L's keys. */
int store_lanes_list(struct store *st, store_lane_cb *cb, void *arg)
{
	char lane[STORE_STR_MAX + 2];
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_cursor_op op = MDB_FIRST;
	int rc = read_begin(st, &txn), stop = 0;

	if (rc < 0)
		return rc;
	rc = lmdb_rc(mdb_cursor_open(txn, st->db[DB_QUEUE], &cur));
	while (rc == 0 && !stop && mdb_cursor_get(cur, &k, &v, op) == 0) {
		const char *end = memchr(k.mv_data, '\0', k.mv_size);
		size_t n = end ? (size_t)(end - (const char *)k.mv_data) : 0;

		if (end == NULL || n > STORE_STR_MAX)
			break;
		memcpy(lane, k.mv_data, n);
		lane[n] = '\0';
		stop = cb(lane, arg);
		lane[n] = '\x01';
		k = val_of(lane, n + 1);
		op = MDB_SET_RANGE;
	}
	if (rc == 0)
		mdb_cursor_close(cur);
	read_end(st, txn);
	return rc;
}

int store_lane_depth(struct store *st, const char *lane, uint64_t *n)
{
	uint64_t later;

	return store_lane_depth_due(st, lane, INT64_MAX, n, &later);
}

/* Queue keys are lane NUL be64(due) be64(id): the due time is in the key. */
int store_lane_depth_due(struct store *st, const char *lane, int64_t now_ms,
    uint64_t *due, uint64_t *later)
{
	uint8_t p[KEY_MAX];
	size_t plen;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_cursor_op op = MDB_SET_RANGE;
	int rc;

	if (lane == NULL || !str_ok(lane))
		return -EINVAL;
	plen = strlen(lane) + 1;
	memcpy(p, lane, plen);
	*due = *later = 0;
	rc = read_begin(st, &txn);
	if (rc < 0)
		return rc;
	rc = lmdb_rc(mdb_cursor_open(txn, st->db[DB_QUEUE], &cur));
	k = val_of(p, plen);
	for (; rc == 0 && mdb_cursor_get(cur, &k, &v, op) == 0 &&
	    has_prefix(&k, p, plen); op = MDB_NEXT) {
		uint64_t at = k.mv_size >= plen + 8 ?
		    be64_get((const uint8_t *)k.mv_data + plen) : 0;

		if (at <= (uint64_t)(now_ms < 0 ? 0 : now_ms))
			(*due)++;
		else
			(*later)++;
	}
	if (rc == 0)
		mdb_cursor_close(cur);
	read_end(st, txn);
	return rc;
}

int store_state_counts(struct store *st, uint64_t counts[STORE_STATE_COUNT])
{
	MDB_val k = val_of("counts", 6), v;
	MDB_txn *txn;
	int rc = read_begin(st, &txn);

	if (rc < 0)
		return rc;
	memset(counts, 0, sizeof(uint64_t) * STORE_STATE_COUNT);
	rc = mdb_get(txn, st->db[DB_META], &k, &v);
	if (rc == 0 && v.mv_size == 8 * STORE_STATE_COUNT)
		for (int i = 0; i < STORE_STATE_COUNT; i++)
			counts[i] = le64_get((uint8_t *)v.mv_data + 8 * i);
	read_end(st, txn);
	return rc == MDB_NOTFOUND ? 0 : lmdb_rc(rc);
}

/* The id and part the carrier-id map has for a carrier's id, in txn. */
static int carrier_get(struct store *st, MDB_txn *txn, const char *carrier,
    const char *carrier_msg_id, uint64_t *id, unsigned *part)
{
	uint8_t k[KEY_MAX];
	MDB_val key, v;
	int rc;

	if (carrier == NULL || carrier_msg_id == NULL || !str_ok(carrier) ||
	    !str_ok(carrier_msg_id))
		return -EINVAL;
	key = val_of(k, key_carrier(k, carrier, carrier_msg_id));
	rc = lmdb_rc(mdb_get(txn, st->db[DB_CARRIERS], &key, &v));
	if (rc == 0 && v.mv_size != 9)
		rc = STORE_ECORRUPT;
	if (rc == 0) {
		*id = be64_get(v.mv_data);
		if (part != NULL)
			*part = ((uint8_t *)v.mv_data)[8];
	}
	return rc;
}

int store_lookup_carrier_id(struct store *st, const char *carrier,
    const char *carrier_msg_id, uint64_t *id, unsigned *part)
{
	MDB_txn *txn;
	int rc = read_begin(st, &txn);

	if (rc < 0)
		return rc;
	rc = carrier_get(st, txn, carrier, carrier_msg_id, id, part);
	read_end(st, txn);
	return rc;
}

int store_get_by_carrier_id(struct store *st, const char *carrier,
    const char *carrier_msg_id, struct store_msg *out, void *buf,
    size_t bufsz, unsigned *part)
{
	MDB_txn *txn;
	uint64_t id;
	int rc = read_begin(st, &txn);

	if (rc < 0)
		return rc;
	rc = carrier_get(st, txn, carrier, carrier_msg_id, &id, part);
	if (rc == 0)
		rc = read_msg(st, txn, id, out, buf, bufsz);
	if (rc == 0)
		rc = effective_state(st, txn, out);
	read_end(st, txn);
	return rc;
}

int store_receipts_list(struct store *st, const char *account,
    uint64_t after, store_receipt_cb *cb, void *arg)
{
	uint8_t p[KEY_MAX];
	size_t plen;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_cursor_op op = MDB_SET_RANGE;
	int rc;

	if (account == NULL || !str_ok(account))
		return -EINVAL;
	if (after == UINT64_MAX)
		return 0;
	plen = strlen(account) + 1;
	k = val_of(p, key_name_u64(p, account, after + 1));
	rc = read_begin(st, &txn);
	if (rc < 0)
		return rc;
	rc = lmdb_rc(mdb_cursor_open(txn, st->db[DB_RECEIPTS], &cur));
	for (; rc == 0 && mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
		if (!has_prefix(&k, p, plen) || k.mv_size != plen + 8)
			break;
		if (cb(be64_get((uint8_t *)k.mv_data + plen), v.mv_data,
		    v.mv_size, arg) != 0)
			break;
	}
	if (rc == 0)
		mdb_cursor_close(cur);
	read_end(st, txn);
	return rc;
}

int store_counter_get(struct store *st, const char *name, int64_t window,
    int64_t *value)
{
	uint8_t k[KEY_MAX];
	MDB_val key, v;
	MDB_txn *txn;
	int rc;

	if (name == NULL || !str_ok(name))
		return -EINVAL;
	key = val_of(k, key_name_u64(k, name, (uint64_t)window));
	rc = read_begin(st, &txn);
	if (rc < 0)
		return rc;
	*value = 0;
	rc = lmdb_rc(mdb_get(txn, st->db[DB_COUNTERS], &key, &v));
	if (rc == 0 && v.mv_size == 8)
		*value = (int64_t)le64_get(v.mv_data);
	else if (rc == 0)
		rc = STORE_ECORRUPT;
	read_end(st, txn);
	return rc == -ENOENT ? 0 : rc;
}

/* The value make_audit() wrote, checked like a message record. */
static int audit_decode(const MDB_val *k, const MDB_val *v,
    struct store_audit *a)
{
	struct bytes_r r = { .p = v->mv_data, .len = v->mv_size };
	const char **f[5] = { &a->account, &a->campaign, &a->recipient,
	    &a->rule, &a->reason };
	const uint8_t *p = bytes_r_take(&r, 8);

	if (p == NULL || k->mv_size != 16)
		return STORE_ECORRUPT;
	a->time_ms = (int64_t)be64_get(k->mv_data);
	a->seq = be64_get((uint8_t *)k->mv_data + 8);
	a->msg_id = le64_get(p);
	for (int i = 0; i < 5; i++) {
		const uint8_t *lp = bytes_r_take(&r, 2);
		size_t n = lp ? le16_get(lp) : 0;
		const uint8_t *s = bytes_r_take(&r, n + 1);

		if (s == NULL || s[n] != '\0')
			return STORE_ECORRUPT;
		*f[i] = (const char *)s;
	}
	return r.off == r.len ? 0 : STORE_ECORRUPT;
}

int store_audit_range(struct store *st, int64_t from_ms, int64_t to_ms,
    store_audit_cb *cb, void *arg)
{
	uint8_t start[16];
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k = val_of(start, key_u64_u64(start,
	    from_ms < 0 ? 0 : (uint64_t)from_ms, 0)), v;
	MDB_cursor_op op = MDB_SET_RANGE;
	struct store_audit a;
	int rc = read_begin(st, &txn);

	if (rc < 0)
		return rc;
	rc = lmdb_rc(mdb_cursor_open(txn, st->db[DB_AUDIT], &cur));
	for (; rc == 0 && mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
		if (audit_decode(&k, &v, &a) < 0)
			continue;	/* one bad entry does not hide the rest */
		if (a.time_ms >= to_ms || cb(&a, arg) != 0)
			break;
	}
	if (rc == 0)
		mdb_cursor_close(cur);
	read_end(st, txn);
	return rc;
}

int store_kv_get(struct store *st, const void *key, size_t klen, void *buf,
    size_t bufsz, size_t *vlen)
{
	MDB_val k = val_of(key, klen), v;
	MDB_txn *txn;
	int rc;

	if (klen == 0 || klen > STORE_STR_MAX)
		return -EINVAL;
	rc = read_begin(st, &txn);
	if (rc < 0)
		return rc;
	rc = lmdb_rc(mdb_get(txn, st->db[DB_KV], &k, &v));
	if (rc == 0) {
		*vlen = v.mv_size;
		if (v.mv_size > bufsz)
			rc = -E2BIG;
		else
			memcpy(buf, v.mv_data, v.mv_size);
	}
	read_end(st, txn);
	return rc;
}

int store_messages_scan(struct store *st, uint64_t after_id, store_msg_cb *cb,
    void *arg)
{
	uint8_t k[8];
	MDB_val key = val_of(k, 8), v, s;
	MDB_cursor_op op = MDB_SET_RANGE;
	MDB_txn *txn;
	MDB_cursor *cur;
	struct store_msg m;
	int rc = read_begin(st, &txn);

	if (rc < 0)
		return rc;
	if (after_id == UINT64_MAX) {
		read_end(st, txn);
		return 0;
	}
	be64_put(k, after_id + 1);
	rc = lmdb_rc(mdb_cursor_open(txn, st->db[DB_MESSAGES], &cur));
	if (rc < 0) {
		read_end(st, txn);
		return rc;
	}
	for (; mdb_cursor_get(cur, &key, &v, op) == 0; op = MDB_NEXT) {
		/* decoded in place: the record lives until the txn ends */
		if (store_msg_decode(v.mv_data, v.mv_size, &m) < 0)
			continue;	/* one bad record does not hide the rest */
		rc = get_status(st, txn, m.id, &s);
		if (rc == 0 && s.mv_size > 0 &&
		    store_status_overlay(s.mv_data, s.mv_size, &m) < 0)
			continue;
		if (rc == 0)
			rc = effective_state(st, txn, &m);
		if (rc < 0 || cb(&m, arg) != 0)
			break;
	}
	mdb_cursor_close(cur);
	read_end(st, txn);
	return rc;
}

int store_kv_scan(struct store *st, const void *prefix, size_t plen,
    const void *after, size_t alen, store_kv_cb *cb, void *arg)
{
	MDB_val key = alen ? val_of(after, alen) : val_of(prefix, plen), v;
	MDB_cursor_op op = MDB_SET_RANGE;
	MDB_txn *txn;
	MDB_cursor *cur;
	int rc;

	if (plen == 0 || plen > STORE_STR_MAX || alen > STORE_STR_MAX)
		return -EINVAL;
	rc = read_begin(st, &txn);
	if (rc < 0)
		return rc;
	rc = lmdb_rc(mdb_cursor_open(txn, st->db[DB_KV], &cur));
	for (; rc == 0 && mdb_cursor_get(cur, &key, &v, op) == 0; op = MDB_NEXT) {
		if (key.mv_size < plen || memcmp(key.mv_data, prefix, plen) != 0)
			break;
		if (alen && key.mv_size == alen && memcmp(key.mv_data, after, alen) == 0)
			continue;	/* strictly after */
		if (cb(key.mv_data, key.mv_size, v.mv_data, v.mv_size, arg) != 0)
			break;
	}
	if (rc == 0)
		mdb_cursor_close(cur);
	read_end(st, txn);
	return rc;
}
