/*
 * The durable store: LMDB messages, the lane-partitioned queue index, the
 * carrier-id map, pending upstream receipts, counters, the audit log and a
 * generic key-value space.  No event loop: the caller integrates it.
 *
 * Writes.  Every change goes through store_submit(), which copies the
 * operations (the caller's buffers may go away at once) onto a queue.  One
 * writer thread takes everything queued, applies it in LMDB write
 * transactions of up to max_batch operations, commits each (one fsync for
 * the whole batch) and only then posts one completion per operation and makes store_notify_fd()
 * readable.  The caller, from its loop, calls store_drain_completions().
 * A completion with rc 0 means the change is on disk: that is the moment
 * the relay may send submit_sm_resp with status 0.  Completions are posted
 * in submission order.
 *
 * Reads (store_get_message, store_claim_due, lookups, lists, counts) use
 * read-only transactions, never wait for the writer's fsync, and may be
 * called from any thread.  They see the last committed state.
 *
 * Claiming.  store_claim_due() returns due messages of one lane at once and
 * hides them from later claims; the QUEUED -> SUBMITTING change itself is
 * queued to the writer like any other write.  SUBMITTING is not a promise
 * to anyone: after a crash, store_open() puts every SUBMITTING message back
 * to QUEUED, due at once (at-least-once delivery).  So a claim needs no
 * fsync, and a crash before the change commits costs nothing.
 *
 * Full map.  ENQUEUE operations complete with STORE_EFULL (the relay
 * answers ESME_RMSGQFUL) once the data would reach the last 1/32 of the
 * map (at least 32 pages): in LMDB even a delete needs free pages, so the
 * reserve is what lets marks, acks and purges run on a full store.  If a
 * batch still hits MDB_MAP_FULL, the writer retries it without its
 * enqueues, then with only the operations that free space (final marks,
 * cancel, receipt ack, kv delete, purges).  Nothing committed is lost.
 *
 * A claim races a CANCEL submitted before it but not yet committed: the
 * claim returns the message, its SUBMITTING change then finds it
 * CANCELLED and leaves it so; the caller, which submitted both, knows.
 *
 * Errors: 0 (or a count) on success, a negative errno-style code otherwise;
 * store_strerror() names it.
 *
 * Memory: the store owns nothing the caller passes in after the call
 * returns.  Returned records are decoded into caller buffers; callback
 * arguments are valid only during the callback.
 */
#ifndef SMPPD_STORE_STORE_H
#define SMPPD_STORE_STORE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* Error codes beyond the plain errno meanings */
#define STORE_EFULL	(-ENOSPC)	/* map full: reject, relay says 0x14 */
#define STORE_ECORRUPT	(-EBADMSG)	/* a record fails validation */
#define STORE_ESTATE	(-EPERM)	/* state transition not allowed */
#define STORE_EATTACHED	(-ENOTSUP)	/* a write only the owner may make */

const char *store_strerror(int rc);

/* ---- configuration and life cycle ---- */

struct store_config {
	const char *path;	/* directory, created if missing */
	size_t map_size;	/* bytes; 0: 1 GiB */
	unsigned node_id;	/* 0..1023, part of every id */
	unsigned max_batch;	/* operations per transaction; 0: 4096 */
	/*
	 * Open beside the daemon that owns the store (an operator's tool
	 * while smppd runs): no recovery (the daemon's SUBMITTING messages
	 * are in flight, not lost), and the id high-water mark and state
	 * counts are left to the owner.  Only KV_PUT, KV_DEL, AUDIT and
	 * COUNTER_ADD may be submitted (others, and claims, get
	 * STORE_EATTACHED); reads work.  LMDB serialises the two
	 * processes' write transactions.
	 */
	int attach;
	/*
	 * Never fsync (MDB_NOSYNC): a power cut or a crash of the machine
	 * (not of the process) may lose what was committed and acknowledged,
	 * or leave the store unreadable.  Tests and benchmarks only.
	 */
	int no_fsync;
};

/*
 * Opens (creating if needed) the environment, puts SUBMITTING messages back
 * to QUEUED (see store_recovered) and starts the writer thread, named
 * STORE_WRITER_THREAD (top -H, /proc/PID/task/TID/comm).  Blocks on disk:
 * call at start-up, before the loop runs.
 */
#define STORE_WRITER_THREAD "store-writer"

int store_open(const struct store_config *cfg, struct store **out);

/*
 * Lets the writer finish what was submitted, stops it and frees the store.
 * Completions not yet drained are discarded.
 */
void store_close(struct store *st);

/* How many SUBMITTING messages store_open() requeued. */
uint64_t store_recovered(const struct store *st);

/* ---- message ids ----
 * 64 bits: milliseconds since the epoch (41 bits, good until 2039+) |
 * node id (10) | per-millisecond sequence (12).  Unique across nodes and,
 * with a high-water mark committed with every batch, across restarts even
 * if the clock goes back.  As text: 16 lowercase hex digits.
 */
#define STORE_MSGID_LEN 16
void store_msgid_format(uint64_t id, char out[STORE_MSGID_LEN + 1]);
int store_msgid_parse(const char *s, uint64_t *id);	/* 1..16 hex digits */
int64_t store_msgid_time_ms(uint64_t id);

/* ---- message records ---- */

enum store_state {
	STORE_QUEUED,
	STORE_DEFERRED,
	STORE_SUBMITTING,
	STORE_SUBMITTED,
	STORE_DELIVERED,
	STORE_UNDELIVERABLE,
	STORE_EXPIRED,
	STORE_REJECTED,
	STORE_CANCELLED,
	STORE_STATE_COUNT
};

const char *store_state_name(enum store_state s);
int store_state_is_final(enum store_state s);

#define STORE_STR_MAX 255	/* any name or address, bytes */
#define STORE_BODY_MAX 8192	/* body octets */
#define STORE_CARRIER_IDS_MAX 1024	/* all carrier ids with their NULs */
#define STORE_MSG_MAX 12288	/* an encoded record never exceeds this */

/*
 * A message.  Strings are NUL-terminated and never NULL after decoding
 * ("" when empty).  After store_msg_decode() every pointer points into the
 * decoded buffer and lives as long as it does.
 *
 * carrier_ids holds n_carrier_ids NUL-terminated strings back to back (one
 * per segment, in segment order); walk them with store_msg_carrier_id().
 */
struct store_msg {
	uint64_t id;
	const char *account;
	const char *campaign;
	const char *lane;	/* queue lane: campaign, carrier, ... */
	uint8_t src_ton, src_npi;
	const char *src_addr;
	uint8_t dst_ton, dst_npi;
	const char *dst_addr;
	uint8_t data_coding, esm_class, registered_delivery;
	uint8_t segments;
	enum store_state state;
	uint16_t attempts;
	uint32_t last_error;
	int64_t validity_ms;	/* absolute, 0: none */
	int64_t next_attempt_ms;	/* due time while QUEUED/DEFERRED */
	int64_t created_ms, updated_ms;
	const char *carrier;
	const char *carrier_ids;
	size_t carrier_ids_len;	/* bytes, NULs included */
	unsigned n_carrier_ids;
	const uint8_t *body;
	size_t body_len;
};

/* Encodes into buf; *len gets the size.  -E2BIG if a field is too long. */
int store_msg_encode(const struct store_msg *m, void *buf, size_t bufsz,
    size_t *len);

/* Decodes without copying; STORE_ECORRUPT on any inconsistency. */
int store_msg_decode(const void *buf, size_t len, struct store_msg *m);

/* The i-th carrier id, or NULL past the end. */
const char *store_msg_carrier_id(const struct store_msg *m, unsigned i);

/* ---- audit records ---- */

struct store_audit {
	int64_t time_ms;
	uint64_t seq;	/* assigned by store_submit */
	uint64_t msg_id;	/* 0 when the reject came before an id */
	const char *account, *campaign, *recipient, *rule, *reason;
};

/* ---- write operations ---- */

enum store_op_kind {
	STORE_OP_ENQUEUE = 1,	/* u.msg; out: id */
	STORE_OP_MARK,	/* id, u.mark */
	STORE_OP_CANCEL,	/* id; value 1 if it was still queued */
	STORE_OP_RECEIPT_ADD,	/* u.receipt; out: id = sequence */
	STORE_OP_RECEIPT_ACK,	/* u.receipt.account, id = sequence */
	STORE_OP_COUNTER_ADD,	/* u.counter; value: new total */
	STORE_OP_AUDIT,	/* u.audit; out: id = seq */
	STORE_OP_KV_PUT,	/* u.kv */
	STORE_OP_KV_DEL,	/* u.kv.key */
	STORE_OP_PURGE,	/* u.purge: final messages; value: count */
	STORE_OP_AUDIT_PURGE,	/* u.purge: audit entries; value: count */
	STORE_OP_REPLACE,	/* id, u.replace; value 1 if it was still queued */
};

struct store_op {
	enum store_op_kind kind;
	void *cookie;	/* handed back in the completion */
	uint64_t id;	/* see the kinds above */
	union {
		/*
		 * ENQUEUE: the store assigns id, sets created/updated to now
		 * if 0; state must be QUEUED or DEFERRED, next_attempt_ms is
		 * the due time.
		 */
		const struct store_msg *msg;
		/*
		 * MARK to:
		 *  SUBMITTED: carrier and carrier ids (replacing older ones,
		 *    whose map entries are removed);
		 *  QUEUED/DEFERRED: due_ms (retry, backoff, defer);
		 *  DELIVERED, UNDELIVERABLE, EXPIRED, REJECTED: final, leaves
		 *    the queue.
		 * Leaving SUBMITTING counts an attempt unless no_attempt.
		 * A nonzero error becomes last_error.  STORE_ESTATE if the
		 * transition is not allowed (final states are final).
		 */
		struct {
			enum store_state state;
			uint32_t error;
			int64_t due_ms;
			int no_attempt;
			const char *carrier;
			const char *const *carrier_ids;
			unsigned n_carrier_ids;
		} mark;
		struct {
			const char *account;
			const void *data;
			size_t len;
		} receipt;
		struct {
			const char *name;
			int64_t window;	/* start of the window, e.g. ms */
			int64_t delta;
		} counter;
		const struct store_audit *audit;
		struct {
			const void *key;
			size_t klen;	/* 1..STORE_STR_MAX */
			const void *val;
			size_t vlen;	/* up to STORE_MSG_MAX */
		} kv;
		/*
		 * REPLACE: new body, registered_delivery and validity (0
		 * keeps the old one) of a message still QUEUED or DEFERRED;
		 * anything later is left alone (value 0), as replace_sm wants.
		 */
		struct {
			const uint8_t *body;
			size_t body_len;	/* up to STORE_BODY_MAX */
			uint8_t registered_delivery;
			int64_t validity_ms;
		} replace;
		struct {
			int64_t before_ms;	/* final/logged before this */
			unsigned max;	/* per operation: bounds the txn */
		} purge;
	} u;
};

/*
 * Validates and copies n operations, assigns ids, queues them for the
 * writer.  All or nothing: on error none is queued.  Never blocks on disk.
 */
int store_submit(struct store *st, struct store_op *ops, size_t n);

/*
 * Batching, for one submitting thread that runs an event loop: with a
 * hook set, store_submit() (and a claim) keeps the operations, in order,
 * until store_flush() hands all of them to the writer at once, one lock
 * and one wake-up for a loop turn's operations instead of one for each
 * call.  The hook is called, on the submitting thread, when the first
 * operation is kept: it arranges a store_flush() soon (the end of the
 * loop turn).  Errors store_submit() finds in the operations themselves
 * are returned as before; a queue that refuses them at the flush
 * (closing, out of memory) completes each one with the error.
 * store_close() flushes first.  NULL hook: handed over at once again.
 */
void store_set_flush_hook(struct store *st, void (*hook)(void *arg), void *arg);
void store_flush(struct store *st);

/* A message id given out now, for a message enqueued later: an ENQUEUE
 * whose u.msg->id is non-zero keeps that id (so what is written about the
 * message before it is stored, an audit entry, can name it).  Ids are
 * unique; one reserved and never used leaves a gap, nothing more. */
uint64_t store_reserve_id(struct store *st);

struct store_completion {
	void *cookie;
	enum store_op_kind kind;
	int rc;	/* 0: committed; negative: not applied */
	uint64_t id;
	int64_t value;
};

/* Readable (an eventfd) when completions are waiting. */
int store_notify_fd(const struct store *st);

/*
 * Calls cb for every waiting completion, in order, and resets the fd.
 * Call from one thread.  Returns the number delivered.
 */
typedef void store_completion_cb(const struct store_completion *c,
    void *arg);
size_t store_drain_completions(struct store *st, store_completion_cb *cb,
    void *arg);

/* ---- reads (any thread, last committed state) ---- */

/* Copies the record into buf (STORE_MSG_MAX always fits), decodes it. */
int store_get_message(struct store *st, uint64_t id, struct store_msg *out,
    void *buf, size_t bufsz);

/*
 * Returns up to max QUEUED/DEFERRED messages of lane due at now_ms, oldest
 * due first, decoded into out[] with their bytes in buf (stops early when
 * buf is full), and queues their change to SUBMITTING.  *next_due_ms (if
 * not NULL) gets the due time of the next message left in the lane, or -1.
 * Returns the count.
 */
int store_claim_due(struct store *st, const char *lane, int64_t now_ms,
    struct store_msg *out, size_t max, void *buf, size_t bufsz,
    int64_t *next_due_ms);

/* Calls cb for every lane holding queued messages; stops if it returns != 0. */
typedef int store_lane_cb(const char *lane, void *arg);
int store_lanes_list(struct store *st, store_lane_cb *cb, void *arg);

/* Queued (QUEUED + DEFERRED) messages in one lane: walks it. */
int store_lane_depth(struct store *st, const char *lane, uint64_t *n);
/* The same split by due time: due at now_ms or before, and later (retry
 * backoff, policy defers).  Walks the lane too. */
int store_lane_depth_due(struct store *st, const char *lane, int64_t now_ms,
    uint64_t *due, uint64_t *later);

/* Number of stored messages in every state (kept up to date per batch). */
int store_state_counts(struct store *st, uint64_t counts[STORE_STATE_COUNT]);

/*
 * Our message id and part (segment index) for a carrier's message id.  The
 * id is normalised first (trimmed, lowercased, leading zeros dropped), the
 * same way it was when stored.  -ENOENT if unknown.
 */
int store_lookup_carrier_id(struct store *st, const char *carrier,
    const char *carrier_msg_id, uint64_t *id, unsigned *part);
/* The message a carrier's id leads to, as store_get_message reads it, and
 * its part (may be NULL): one read transaction, for a receipt. */
int store_get_by_carrier_id(struct store *st, const char *carrier,
    const char *carrier_msg_id, struct store_msg *out, void *buf,
    size_t bufsz, unsigned *part);

/* Pending receipts of account with sequence > after, oldest first. */
typedef int store_receipt_cb(uint64_t seq, const void *data, size_t len,
    void *arg);
int store_receipts_list(struct store *st, const char *account,
    uint64_t after, store_receipt_cb *cb, void *arg);

/* 0 and *value = 0 when the counter was never added to. */
int store_counter_get(struct store *st, const char *name, int64_t window,
    int64_t *value);

/* Audit entries with from_ms <= time_ms < to_ms, in time order. */
typedef int store_audit_cb(const struct store_audit *a, void *arg);
int store_audit_range(struct store *st, int64_t from_ms, int64_t to_ms,
    store_audit_cb *cb, void *arg);

/* Copies the value into buf; *vlen gets its full length.  -ENOENT, -E2BIG. */
int store_kv_get(struct store *st, const void *key, size_t klen, void *buf,
    size_t bufsz, size_t *vlen);

/*
 * Every message with id > after_id, in id (so creation) order, decoded in
 * place: the record is valid only during the callback.  Stops when cb
 * returns != 0.  A scan reads one snapshot: keep callbacks short.
 */
typedef int store_msg_cb(const struct store_msg *m, void *arg);
int store_messages_scan(struct store *st, uint64_t after_id, store_msg_cb *cb,
    void *arg);

/*
 * Every kv entry whose key starts with prefix, in key order, strictly
 * after the key `after` (alen 0: from the first): a cursor for paging.
 * Key and value are valid only during the callback.
 */
typedef int store_kv_cb(const void *key, size_t klen, const void *val,
    size_t vlen, void *arg);
int store_kv_scan(struct store *st, const void *prefix, size_t plen,
    const void *after, size_t alen, store_kv_cb *cb, void *arg);

/* Counters since open, for metrics. */
struct store_stats {
	uint64_t commits;	/* write transactions committed */
	uint64_t ops;	/* operations completed */
	uint64_t max_batch_seen;
	uint64_t full_retries;	/* batches retried because the map was full */
	uint64_t commit_ns;	/* total time in commit (fsync) */
};
void store_get_stats(struct store *st, struct store_stats *out);

/*
 * How long the writer's commits (mdb_txn_commit: the fsync) take, as a
 * histogram for metrics.  counts[i] are commits that took at most
 * le_ns[i] and more than le_ns[i - 1] (not cumulative); counts[BUCKETS]
 * took longer than the last bound; count is their total.  The writer
 * adds with relaxed atomics and nobody locks, so a reader may see a
 * commit in its bucket but not yet in sum_ns: good enough for a scrape.
 */
#define STORE_COMMIT_BUCKETS 13
struct store_commit_hist {
	uint64_t le_ns[STORE_COMMIT_BUCKETS];
	uint64_t counts[STORE_COMMIT_BUCKETS + 1];
	uint64_t count;	/* every commit attempt, failed ones too */
	uint64_t sum_ns;
};
void store_get_commit_hist(struct store *st, struct store_commit_hist *out);

/* Bytes of the map in use (pages holding data, plus what the messages not
 * yet final will need to record their outcomes: the room new messages are
 * refused for) and the map's size.  New messages are refused at about
 * 97% (the rest is kept for marks, acks and purges); freed pages count as
 * free again, so the figure falls when finished messages are purged. */
int store_space(struct store *st, uint64_t *used, uint64_t *size);

/*
 * Drops the map's pages from this process's resident set once the data
 * file has grown past keep bytes (0 when it has not; 1 when trimmed).  LMDB
 * maps the file read-only and writes with pwrite, so nothing is lost: the
 * pages stay in the kernel's page cache and the next read maps them again
 * with a minor fault.  Without it every page a large queue ever touched
 * stays in RSS (and in the OOM killer's count) until exit.
 */
int store_trim_resident(struct store *st, uint64_t keep);

/* 1 when commits are fsynced (store_config.no_fsync unset), else 0. */
int store_fsyncs(struct store *st);

#endif
