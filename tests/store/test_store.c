/*
 * store/: records, ids, the writer and completions, lanes and claims,
 * transitions, the carrier map, receipts, crash recovery, a full map,
 * counters, the audit log and purge.  Every test works in its own fresh
 * temporary directory.
 */
#include "tests/unit.h"
#include "store/record.h"

#include <dirent.h>
#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXC 16384

static char dir[256];
static struct store_completion got[MAXC];
static size_t ngot;

static void make_dir(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/store-test-XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

static void remove_dir(void)
{
	char p[300];

	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lock.mdb", dir);
	unlink(p);
	rmdir(dir);
}

static struct store *open_store(size_t map_size)
{
	struct store_config cfg = { .path = dir, .map_size = map_size,
	    .node_id = 7, .max_batch = 512 };
	struct store *st = NULL;
	int rc = store_open(&cfg, &st);

	if (rc < 0)
		printf("# store_open: %s\n", store_strerror(rc));
	return st;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void collect(const struct store_completion *c, void *arg)
{
	if (ngot < MAXC)
		got[ngot++] = *c;
}

/* Polls the notify fd until `want` completions have arrived. */
static int wait_for(struct store *st, size_t want)
{
	struct pollfd p = { .fd = store_notify_fd(st), .events = POLLIN };

	while (ngot < want) {
		if (poll(&p, 1, 10000) <= 0)
			return -1;
		store_drain_completions(st, collect, NULL);
	}
	return 0;
}

static struct store_completion run(struct store *st, struct store_op op)
{
	struct store_completion none = { .rc = -9999 };

	ngot = 0;
	if (store_submit(st, &op, 1) < 0 || wait_for(st, 1) < 0)
		return none;
	return got[0];
}

static struct store_msg sample(const char *lane, int64_t due)
{
	static const uint8_t body[] = "Your code is 123456";

	return (struct store_msg){
		.account = "acme", .campaign = "C1", .lane = lane,
		.src_ton = 1, .src_npi = 1, .src_addr = "15550001111",
		.dst_ton = 1, .dst_npi = 1, .dst_addr = "15552223333",
		.data_coding = 0, .esm_class = 0x40, .registered_delivery = 1,
		.segments = 1, .state = STORE_QUEUED, .validity_ms = due + 86400000,
		.next_attempt_ms = due, .body = body, .body_len = sizeof(body) - 1,
	};
}

static uint64_t enqueue(struct store *st, const char *lane, int64_t due)
{
	struct store_msg m = sample(lane, due);
	struct store_completion c = run(st, (struct store_op){
	    .kind = STORE_OP_ENQUEUE, .u.msg = &m });

	return c.rc == 0 ? c.id : 0;
}

static int mark(struct store *st, uint64_t id, enum store_state to,
    int64_t due, int no_attempt)
{
	struct store_op op = { .kind = STORE_OP_MARK, .id = id,
	    .u.mark = { .state = to, .due_ms = due, .no_attempt = no_attempt,
	    .error = to == STORE_UNDELIVERABLE ? 0x45 : 0 } };

	return run(st, op).rc;
}

static int mark_submitted(struct store *st, uint64_t id, const char *carrier,
    const char *const *cids, unsigned n)
{
	struct store_op op = { .kind = STORE_OP_MARK, .id = id,
	    .u.mark = { .state = STORE_SUBMITTED, .carrier = carrier,
	    .carrier_ids = cids, .n_carrier_ids = n } };

	return run(st, op).rc;
}

static enum store_state state_of(struct store *st, uint64_t id)
{
	static uint8_t buf[STORE_MSG_MAX];
	struct store_msg m;

	return store_get_message(st, id, &m, buf, sizeof(buf)) == 0 ?
	    m.state : STORE_STATE_COUNT;
}

/* Waits until everything submitted so far (claims included) is committed. */
static void barrier(struct store *st)
{
	static const char k[] = "barrier";

	run(st, (struct store_op){ .kind = STORE_OP_KV_PUT,
	    .u.kv = { .key = k, .klen = sizeof(k) - 1, .val = "", .vlen = 0 } });
}

/* ---- ids ---- */

static void test_msgid_text(void)
{
	static const struct { const char *in; int rc; uint64_t id; } cases[] = {
		{ "0000000000000001", 0, 1 },
		{ "7fffffffffffffff", 0, 0x7fffffffffffffffull },
		{ "ABCdef", 0, 0xabcdef },
		{ "", -EINVAL, 0 },
		{ "12345678901234567", -EINVAL, 0 },
		{ "12g4", -EINVAL, 0 },
		{ " 12", -EINVAL, 0 },
	};
	char buf[STORE_MSGID_LEN + 1];
	uint64_t id;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ_INT(store_msgid_parse(cases[i].in, &id), cases[i].rc);
		if (cases[i].rc == 0) {
			CHECK(id == cases[i].id);
			store_msgid_format(id, buf);
			CHECK_EQ_INT(strlen(buf), STORE_MSGID_LEN);
			CHECK(store_msgid_parse(buf, &id) == 0 && id == cases[i].id);
		}
	}
}

static struct store_op ops[4096];

/* Submits n enqueues at once: returns 1 if ids ascend strictly from *last. */
static int enqueue_many(struct store *st, struct store_msg *m, size_t n,
    uint64_t *last)
{
	int ok = 1;

	for (size_t i = 0; i < n; i++)
		ops[i] = (struct store_op){ .kind = STORE_OP_ENQUEUE, .u.msg = m };
	ngot = 0;
	if (store_submit(st, ops, n) < 0 || wait_for(st, n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		ok &= ops[i].id > *last && got[i].id == ops[i].id && got[i].rc == 0;
		*last = ops[i].id;
	}
	return ok;
}

static void test_ids(void)
{
	struct store_msg m = sample("ids", 0);
	struct store *st;
	uint64_t last = 0, first;

	make_dir();
	st = open_store(0);
	CHECK(st != NULL);
	CHECK(enqueue_many(st, &m, 4096, &last));
	first = ops[0].id;
	CHECK(enqueue_many(st, &m, 4096, &last));
	CHECK_EQ_INT((first >> 12) & 1023, 7);	/* node id */
	CHECK(llabs(store_msgid_time_ms(first) - now_ms()) < 60000);
	store_close(st);
	st = open_store(0);
	CHECK(enqueue_many(st, &m, 10, &last));	/* after a reopen: still above */
	store_close(st);
	remove_dir();
}

/* ---- records ---- */

/* m as sent to carrier with these ids (n of them, NUL-separated). */
static void sent_via(struct store_msg *m, const char *carrier, const char *ids,
    size_t len, unsigned n)
{
	m->carrier = carrier;
	m->carrier_ids = ids;
	m->carrier_ids_len = len;
	m->n_carrier_ids = n;
}

static void test_record_roundtrip(void)
{
	static const char cids[] = "a1\0b2";
	struct store_msg m = sample("L", 1234), d;
	uint8_t buf[STORE_MSG_MAX];
	size_t len;

	m.id = 0x1234567890abcull;
	m.state = STORE_SUBMITTED;
	m.attempts = 3;
	m.last_error = 0x45;
	sent_via(&m, "carrierA", cids, sizeof(cids), 2);
	m.created_ms = 1;
	m.updated_ms = 2;
	CHECK_EQ_INT(store_msg_encode(&m, buf, sizeof(buf), &len), 0);
	CHECK_EQ_INT(store_msg_decode(buf, len, &d), 0);
	CHECK(d.id == m.id);
	CHECK_EQ_STR(d.account, "acme");
	CHECK_EQ_STR(d.campaign, "C1");
	CHECK_EQ_STR(d.lane, "L");
	CHECK_EQ_STR(d.src_addr, "15550001111");
	CHECK_EQ_STR(d.dst_addr, "15552223333");
	CHECK_EQ_STR(d.carrier, "carrierA");
	CHECK_EQ_INT(d.state, STORE_SUBMITTED);
	CHECK_EQ_INT(d.attempts, 3);
	CHECK_EQ_INT(d.last_error, 0x45);
	CHECK_EQ_INT(d.esm_class, 0x40);
	CHECK_EQ_INT(d.next_attempt_ms, 1234);
	CHECK_EQ_INT(d.validity_ms, 1234 + 86400000);
	CHECK_EQ_INT(d.body_len, m.body_len);
	CHECK_EQ_MEM(d.body, m.body, m.body_len);
	CHECK_EQ_STR(store_msg_carrier_id(&d, 0), "a1");
	CHECK_EQ_STR(store_msg_carrier_id(&d, 1), "b2");
	CHECK(store_msg_carrier_id(&d, 2) == NULL);
	CHECK_EQ_INT(store_msg_encode(&m, buf, 40, &len), -E2BIG);
}

/* Every cut of an encoding and one byte past its end are corrupt. */
static int rejects_cuts(int (*decode)(const void *, size_t, struct store_msg *),
    const uint8_t *buf, size_t len)
{
	static uint8_t bad[STORE_MSG_MAX + 1];
	struct store_msg d;
	int all_rejected = 1;

	for (size_t cut = 0; cut < len; cut++) {
		memcpy(bad, buf, cut);	/* a copy: ASan sees any overread */
		all_rejected &= decode(bad, cut, &d) == STORE_ECORRUPT;
	}
	memcpy(bad, buf, len);
	bad[len] = 0;
	return all_rejected && decode(bad, len + 1, &d) == STORE_ECORRUPT;
}

static void test_record_corrupt(void)
{
	/* offset of the account's length, of its NUL; the version byte */
	static const struct { const char *name; size_t off; uint8_t val; } flips[] = {
		{ "bad version", 0, 9 },
		{ "state out of range", 1, STORE_STATE_COUNT },
		{ "length past end", 59, 0x7f },
		{ "missing NUL", 58 + 2 + 4, 'x' },
		{ "carrier id count", 12, 5 },
	};
	struct store_msg m = sample("L", 0), d;
	uint8_t buf[STORE_MSG_MAX], bad[STORE_MSG_MAX];
	size_t len;

	store_msg_encode(&m, buf, sizeof(buf), &len);
	CHECK(rejects_cuts(store_msg_decode, buf, len));
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(bad, buf, len);
		bad[flips[i].off] = flips[i].val;
		unit_current = flips[i].name;
		CHECK_EQ_INT(store_msg_decode(bad, len, &d), STORE_ECORRUPT);
	}
}

/* The status laid over a record: its fields win, the record's others stay. */
static void test_status_overlay(void)
{
	static const char cids[] = "c1\0c2";
	struct store_msg m = sample("L", 5), d = sample("L", 5);
	uint8_t buf[STORE_STATUS_MAX], bad[STORE_STATUS_MAX];
	size_t len;

	m.state = STORE_DELIVERED;
	m.attempts = 2;
	m.last_error = 0x58;
	m.next_attempt_ms = 77;
	m.updated_ms = 99;
	sent_via(&m, "carrierB", cids, sizeof(cids), 2);
	CHECK_EQ_INT(store_status_encode(&m, buf, sizeof(buf), &len), 0);
	CHECK(len < 60);
	CHECK_EQ_INT(store_status_overlay(buf, len, &d), 0);
	CHECK_EQ_INT(d.state, STORE_DELIVERED);
	CHECK_EQ_INT(d.attempts, 2);
	CHECK_EQ_INT(d.last_error, 0x58);
	CHECK_EQ_INT(d.next_attempt_ms, 77);
	CHECK_EQ_INT(d.updated_ms, 99);
	CHECK_EQ_STR(d.carrier, "carrierB");
	CHECK_EQ_STR(store_msg_carrier_id(&d, 1), "c2");
	CHECK_EQ_STR(d.dst_addr, "15552223333");	/* the record's */
	CHECK_EQ_INT(store_status_encode(&m, buf, 20, &len), -E2BIG);
	CHECK_EQ_INT(store_status_encode(&m, buf, sizeof(buf), &len), 0);
	CHECK(rejects_cuts(store_status_overlay, buf, len));
	memcpy(bad, buf, len);
	bad[1] = STORE_STATE_COUNT;
	CHECK_EQ_INT(store_status_overlay(bad, len, &d), STORE_ECORRUPT);
	bad[1] = STORE_DELIVERED;
	bad[4] = 3;	/* three carrier ids, two there */
	CHECK_EQ_INT(store_status_overlay(bad, len, &d), STORE_ECORRUPT);
	CHECK_EQ_STR(d.carrier, "carrierB");	/* left as it was */
}

/* ---- writer, completions, reads ---- */

static void test_enqueue_notify(void)
{
	struct store_msg m = sample("lane", 0), r;
	uint8_t buf[STORE_MSG_MAX];
	uint64_t counts[STORE_STATE_COUNT];
	struct store *st;
	int cookies_ok = 1;

	make_dir();
	st = open_store(0);
	for (size_t i = 0; i < 300; i++)
		ops[i] = (struct store_op){ .kind = STORE_OP_ENQUEUE,
		    .cookie = (void *)(i + 1), .u.msg = &m };
	ngot = 0;
	/* three submits: the writer groups what it finds waiting */
	CHECK_EQ_INT(store_submit(st, ops, 100), 0);
	CHECK_EQ_INT(store_submit(st, ops + 100, 100), 0);
	CHECK_EQ_INT(store_submit(st, ops + 200, 100), 0);
	CHECK_EQ_INT(wait_for(st, 300), 0);
	for (size_t i = 0; i < 300; i++)
		cookies_ok &= got[i].cookie == (void *)(i + 1) && got[i].rc == 0 &&
		    got[i].kind == STORE_OP_ENQUEUE;
	CHECK(cookies_ok);
	CHECK_EQ_INT(store_get_message(st, ops[150].id, &r, buf, sizeof(buf)), 0);
	CHECK(r.id == ops[150].id);
	CHECK_EQ_STR(r.dst_addr, "15552223333");
	CHECK_EQ_INT(r.state, STORE_QUEUED);
	CHECK(r.created_ms > 0 && r.updated_ms == r.created_ms);
	CHECK_EQ_INT(store_get_message(st, 42, &r, buf, sizeof(buf)), -ENOENT);
	CHECK_EQ_INT(store_state_counts(st, counts), 0);
	CHECK_EQ_INT(counts[STORE_QUEUED], 300);
	/* an id reserved first (for an audit entry) is the one stored */
	uint64_t reserved = store_reserve_id(st);
	CHECK(reserved > ops[299].id);
	struct store_msg early = sample("lane", 0);
	early.id = reserved;
	uint64_t later = store_reserve_id(st);
	CHECK(later > reserved);
	ops[0] = (struct store_op){ .kind = STORE_OP_ENQUEUE, .u.msg = &early };
	CHECK_EQ_INT(store_submit(st, ops, 1), 0);
	CHECK_EQ_INT(ops[0].id, reserved);
	CHECK_EQ_INT(wait_for(st, 301), 0);
	CHECK_EQ_INT(store_get_message(st, reserved, &r, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(r.id, reserved);
	m.state = STORE_SUBMITTED;	/* not a state a message enters with */
	ops[0] = (struct store_op){ .kind = STORE_OP_ENQUEUE, .u.msg = &m };
	CHECK_EQ_INT(store_submit(st, ops, 1), -EINVAL);
	store_close(st);
	remove_dir();
}

static int add_lane(const char *lane, void *arg)
{
	char *s = arg;

	strcat(s, lane);
	strcat(s, ",");
	return 0;
}

static void test_claim_lanes(void)
{
	static struct store_msg out[16];
	static uint8_t buf[16 * 1024];
	struct store_msg m = sample("slow", 0);
	int64_t now = now_ms(), next;
	uint64_t depth, last = 0, a, b, c;
	char lanes[64] = "";
	struct store *st;

	make_dir();
	st = open_store(0);
	m.next_attempt_ms = now + 3600000;	/* a throttled lane, all future */
	CHECK(enqueue_many(st, &m, 1000, &last));
	a = enqueue(st, "fast", now - 10);
	b = enqueue(st, "order", now - 1);
	c = enqueue(st, "order", now - 3);
	enqueue(st, "order", now + 60000);
	CHECK_EQ_INT(store_claim_due(st, "fast", now, out, 16, buf, sizeof(buf),
	    &next), 1);
	CHECK(out[0].id == a);
	CHECK_EQ_INT(out[0].state, STORE_QUEUED);	/* as read, before the claim */
	CHECK_EQ_INT(next, -1);
	CHECK_EQ_INT(store_claim_due(st, "fast", now, out, 16, buf, sizeof(buf),
	    &next), 0);	/* hidden at once, committed or not */
	CHECK_EQ_INT(store_claim_due(st, "slow", now, out, 16, buf, sizeof(buf),
	    &next), 0);
	CHECK_EQ_INT(next, now + 3600000);
	CHECK_EQ_INT(store_claim_due(st, "order", now, out, 1, buf, sizeof(buf),
	    &next), 1);
	CHECK(out[0].id == c);	/* earliest due first */
	CHECK_EQ_INT(next, now - 1);	/* more is due */
	CHECK_EQ_INT(store_claim_due(st, "order", now, out, 16, buf, 100,
	    &next), 0);	/* no room in buf */
	CHECK_EQ_INT(store_claim_due(st, "order", now, out, 16, buf, sizeof(buf),
	    &next), 1);
	CHECK(out[0].id == b);
	CHECK_EQ_INT(next, now + 60000);
	barrier(st);
	CHECK_EQ_INT(state_of(st, a), STORE_SUBMITTING);
	CHECK_EQ_INT(store_lane_depth(st, "slow", &depth), 0);
	CHECK_EQ_INT(depth, 1000);
	CHECK_EQ_INT(store_lane_depth(st, "fast", &depth), 0);
	CHECK_EQ_INT(depth, 0);
	CHECK_EQ_INT(store_lanes_list(st, add_lane, lanes), 0);
	CHECK_EQ_STR(lanes, "order,slow,");
	/* the depth split by due time (metrics): "order" keeps one due later */
	uint64_t due = 99, later = 99;
	CHECK_EQ_INT(store_lane_depth_due(st, "order", now, &due, &later), 0);
	CHECK(due == 0 && later == 1);
	CHECK_EQ_INT(store_lane_depth_due(st, "order", now + 60000, &due, &later), 0);
	CHECK(due == 1 && later == 0);	/* due exactly then counts as due */
	CHECK_EQ_INT(store_lane_depth_due(st, "slow", now, &due, &later), 0);
	CHECK(due == 0 && later == 1000);
	CHECK_EQ_INT(store_lane_depth_due(st, "none", now, &due, &later), 0);
	CHECK(due == 0 && later == 0);
	store_close(st);
	remove_dir();
}

static int flush_calls;

static void count_flush_call(void *arg)
{
	(void)arg;
	flush_calls++;
}

/* Nothing reaches the notify fd within ms milliseconds. */
static int quiet_for(struct store *st, int ms)
{
	struct pollfd p = { .fd = store_notify_fd(st), .events = POLLIN };

	return poll(&p, 1, ms) == 0;
}

/* With a flush hook, operations and claims wait for store_flush(); the
 * hook hears of the first of each batch; close writes what was kept. */
static void test_flush_hook(void)
{
	static struct store_msg claimed[4];
	static uint8_t buf[4 * STORE_MSG_MAX];
	struct store_msg m = sample("hook", 0);
	struct store_op batch[3];
	uint64_t kept;
	struct store *st;
	int order_ok = 1;

	make_dir();
	st = open_store(0);
	flush_calls = 0;
	store_set_flush_hook(st, count_flush_call, NULL);
	for (size_t i = 0; i < 3; i++)
		batch[i] = (struct store_op){ .kind = STORE_OP_ENQUEUE,
		    .cookie = (void *)(i + 1), .u.msg = &m };
	ngot = 0;
	CHECK_EQ_INT(store_submit(st, batch, 2), 0);
	CHECK_EQ_INT(store_submit(st, batch + 2, 1), 0);
	CHECK_EQ_INT(flush_calls, 1);	/* once for the batch */
	CHECK(quiet_for(st, 200));
	CHECK_EQ_INT(state_of(st, batch[0].id), STORE_STATE_COUNT);	/* not written */
	m.state = STORE_SUBMITTED;
	batch[0].u.msg = &m;
	CHECK_EQ_INT(store_submit(st, batch, 1), -EINVAL);	/* still checked at once */
	m.state = STORE_QUEUED;
	store_flush(st);
	CHECK_EQ_INT(wait_for(st, 3), 0);
	for (size_t i = 0; i < 3; i++)
		order_ok &= got[i].cookie == (void *)(i + 1) && got[i].rc == 0;
	CHECK(order_ok);
	CHECK_EQ_INT(state_of(st, got[2].id), STORE_QUEUED);
	/* a claim is kept too, and hidden from the next claim at once */
	CHECK_EQ_INT(store_claim_due(st, "hook", now_ms(), claimed, 2, buf, sizeof(buf),
	    NULL), 2);
	CHECK_EQ_INT(flush_calls, 2);
	CHECK_EQ_INT(store_claim_due(st, "hook", now_ms(), claimed + 2, 2, buf + 2 * STORE_MSG_MAX,
	    sizeof(buf) - 2 * STORE_MSG_MAX, NULL), 1);
	CHECK_EQ_INT(flush_calls, 2);
	store_flush(st);
	store_flush(st);	/* nothing kept: nothing to do */
	ngot = 0;
	store_set_flush_hook(st, NULL, NULL);
	barrier(st);	/* handed over at once again */
	CHECK_EQ_INT(state_of(st, claimed[0].id), STORE_SUBMITTING);
	CHECK_EQ_INT(state_of(st, claimed[2].id), STORE_SUBMITTING);
	/* kept and never flushed: close writes it */
	store_set_flush_hook(st, count_flush_call, NULL);
	batch[0] = (struct store_op){ .kind = STORE_OP_ENQUEUE, .u.msg = &m };
	CHECK_EQ_INT(store_submit(st, batch, 1), 0);
	kept = batch[0].id;
	CHECK_EQ_INT(flush_calls, 3);
	store_close(st);
	st = open_store(0);
	CHECK(st != NULL);
	CHECK_EQ_INT(state_of(st, kept), STORE_QUEUED);
	store_close(st);
	remove_dir();
}

/* Every commit lands in one bucket of the commit-time histogram; the
 * count is the buckets' total and agrees with the commit counter. */
static void test_commit_hist(void)
{
	struct store_commit_hist h;
	struct store_stats stats;
	struct store *st;
	uint64_t total = 0;
	int increasing = 1;

	make_dir();
	st = open_store(0);
	for (int i = 0; i < 5; i++)
		enqueue(st, "h", 0);
	store_get_commit_hist(st, &h);
	store_get_stats(st, &stats);
	for (int i = 0; i <= STORE_COMMIT_BUCKETS; i++)
		total += h.counts[i];
	for (int i = 1; i < STORE_COMMIT_BUCKETS; i++)
		increasing &= h.le_ns[i] > h.le_ns[i - 1];
	CHECK(increasing);
	CHECK_EQ_INT(h.le_ns[0], 100000);
	CHECK_EQ_INT(h.le_ns[STORE_COMMIT_BUCKETS - 1], 1000000000);
	CHECK_EQ_INT(total, h.count);
	CHECK(h.count >= 5);	/* one commit per enqueue waited for */
	CHECK_EQ_INT(h.count, stats.commits);
	CHECK(h.sum_ns > 0 && h.sum_ns == stats.commit_ns);
	store_close(st);
	remove_dir();
}

/* store.fsync false reaches LMDB; the store works the same otherwise. */
static void test_no_fsync(void)
{
	struct store_config nosync = { .path = dir, .node_id = 7, .no_fsync = 1 };
	struct store *st = NULL;
	uint64_t id;

	make_dir();
	st = open_store(0);
	CHECK_EQ_INT(store_fsyncs(st), 1);
	store_close(st);
	CHECK_EQ_INT(store_open(&nosync, &st), 0);
	CHECK_EQ_INT(store_fsyncs(st), 0);
	id = enqueue(st, "nosync", 0);
	CHECK(id != 0);
	CHECK_EQ_INT(state_of(st, id), STORE_QUEUED);
	store_close(st);
	st = open_store(0);	/* committed without a sync: the page cache has it */
	CHECK_EQ_INT(store_fsyncs(st), 1);
	CHECK_EQ_INT(state_of(st, id), STORE_QUEUED);
	store_close(st);
	remove_dir();
}

/* How many of this process's threads are named name (/proc/self/task). */
static int threads_named(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char path[300], comm[32];	/* d_name is up to 255 bytes */
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) != NULL) {
			comm[strcspn(comm, "\n")] = '\0';
			n += strcmp(comm, name) == 0;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* The writer is one thread with its own name, gone with the store. */
static void test_writer_thread_name(void)
{
	struct store *st;

	make_dir();
	CHECK_EQ_INT(threads_named(STORE_WRITER_THREAD), 0);
	st = open_store(0);
	CHECK_EQ_INT(threads_named(STORE_WRITER_THREAD), 1);
	store_close(st);
	CHECK_EQ_INT(threads_named(STORE_WRITER_THREAD), 0);
	remove_dir();
}

/* Enqueues m, claims it alone from its lane; its id, or 0. */
static uint64_t enqueue_and_claim(struct store *st, struct store_msg *m)
{
	static struct store_msg out[1];
	static uint8_t buf[STORE_MSG_MAX];
	struct store_completion c = run(st, (struct store_op){
	    .kind = STORE_OP_ENQUEUE, .u.msg = m });

	if (c.rc != 0 || store_claim_due(st, m->lane, now_ms(), out, 1, buf,
	    sizeof(buf), NULL) != 1 || out[0].id != c.id)
		return 0;
	barrier(st);
	return c.id;
}

static uint64_t enqueue_claimed(struct store *st, const char *lane)
{
	struct store_msg m = sample(lane, 0);

	return enqueue_and_claim(st, &m);
}

static void test_transitions(void)
{
	static const char *const cids[] = { "0A1", "0a2 " };
	static const char *const cids2[] = { "B7" };
	static uint8_t buf[STORE_MSG_MAX];
	struct store_msg r;
	uint64_t id, got_id;
	unsigned part;
	struct store *st;

	make_dir();
	st = open_store(0);
	id = enqueue_claimed(st, "t");
	CHECK(id != 0);
	/* a carrier throttle before sending: no attempt counted */
	CHECK_EQ_INT(mark(st, id, STORE_DEFERRED, 5, 1), 0);
	store_get_message(st, id, &r, buf, sizeof(buf));
	CHECK_EQ_INT(r.state, STORE_DEFERRED);
	CHECK_EQ_INT(r.attempts, 0);
	CHECK_EQ_INT(r.next_attempt_ms, 5);
	CHECK_EQ_INT(mark_submitted(st, id, "c1", cids, 2), STORE_ESTATE);
	/* due 5 ms after the epoch: claimable again */
	CHECK_EQ_INT(store_claim_due(st, "t", now_ms(), &r, 1, buf, sizeof(buf),
	    NULL), 1);
	CHECK(r.id == id);
	CHECK_EQ_INT(mark_submitted(st, id, "c1", cids, 2), 0);
	CHECK_EQ_INT(store_lookup_carrier_id(st, "c1", "A1", &got_id, &part), 0);
	CHECK(got_id == id);
	CHECK_EQ_INT(part, 0);
	CHECK_EQ_INT(store_lookup_carrier_id(st, "c1", "00a2", &got_id, &part), 0);
	CHECK_EQ_INT(part, 1);
	CHECK_EQ_INT(store_lookup_carrier_id(st, "c2", "a1", &got_id, &part), -ENOENT);
	store_get_message(st, id, &r, buf, sizeof(buf));
	CHECK_EQ_INT(r.attempts, 1);
	CHECK_EQ_STR(r.carrier, "c1");
	CHECK_EQ_INT(r.n_carrier_ids, 2);
	/* what a receipt reads: the message by the carrier's id, in one go */
	memset(&r, 0, sizeof(r));
	part = 9;
	CHECK_EQ_INT(store_get_by_carrier_id(st, "c1", " 0a2", &r, buf, sizeof(buf), &part), 0);
	CHECK(r.id == id);
	CHECK_EQ_INT(part, 1);
	CHECK_EQ_INT(r.state, STORE_SUBMITTED);
	CHECK_EQ_STR(r.lane, "t");
	CHECK_EQ_INT(r.attempts, 1);
	CHECK_EQ_INT(store_get_by_carrier_id(st, "c1", "a1", &r, buf, sizeof(buf), NULL), 0);
	CHECK(r.id == id);
	CHECK_EQ_INT(store_get_by_carrier_id(st, "c2", "a1", &r, buf, sizeof(buf), NULL), -ENOENT);
	CHECK_EQ_INT(store_get_by_carrier_id(st, "c1", NULL, &r, buf, sizeof(buf), NULL), -EINVAL);
	CHECK_EQ_INT(store_get_by_carrier_id(st, "c1", "a1", &r, buf, 8, NULL) < 0, 1);
	/* a temporary failure receipt: retry, and the map follows */
	CHECK_EQ_INT(mark(st, id, STORE_QUEUED, 0, 0), 0);
	CHECK_EQ_INT(store_claim_due(st, "t", now_ms(), &r, 1, buf, sizeof(buf), NULL), 1);
	CHECK_EQ_INT(mark_submitted(st, id, "c1", cids2, 1), 0);
	CHECK_EQ_INT(store_lookup_carrier_id(st, "c1", "a1", &got_id, &part), -ENOENT);
	CHECK_EQ_INT(store_lookup_carrier_id(st, "c1", "b7", &got_id, &part), 0);
	CHECK_EQ_INT(mark(st, id, STORE_DELIVERED, 0, 0), 0);
	store_get_message(st, id, &r, buf, sizeof(buf));
	CHECK_EQ_INT(r.state, STORE_DELIVERED);
	CHECK_EQ_INT(r.attempts, 2);
	CHECK_EQ_INT(mark(st, id, STORE_QUEUED, 0, 0), STORE_ESTATE);
	CHECK_EQ_INT(mark(st, id, STORE_UNDELIVERABLE, 0, 0), STORE_ESTATE);
	CHECK_EQ_INT(mark(st, 12345, STORE_DELIVERED, 0, 0), -ENOENT);
	store_close(st);
	remove_dir();
}

static void test_cancel(void)
{
	static const struct { int claim; int64_t cancelled; enum store_state after; } cases[] = {
		{ 0, 1, STORE_CANCELLED },
		{ 1, 0, STORE_SUBMITTING },
	};
	struct store *st;

	make_dir();
	st = open_store(0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t id = cases[i].claim ? enqueue_claimed(st, "c") :
		    enqueue(st, "c", now_ms() + 100000);
		struct store_completion c = run(st, (struct store_op){
		    .kind = STORE_OP_CANCEL, .id = id });

		CHECK_EQ_INT(c.rc, 0);
		CHECK_EQ_INT(c.value, cases[i].cancelled);
		CHECK_EQ_INT(state_of(st, id), cases[i].after);
	}
	CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_CANCEL,
	    .id = 99 }).rc, -ENOENT);
	store_close(st);
	remove_dir();
}

/* A claimed message reads as SUBMITTING everywhere, keeps its body against
 * a replace, and leaves SUBMITTING by a mark as it always did. */
struct scanned {
	uint64_t id[8];
	enum store_state state[8];
	size_t n;
};

static int scan_state(const struct store_msg *m, void *arg)
{
	struct scanned *s = arg;

	if (s->n == 8)
		return 1;
	s->id[s->n] = m->id;
	s->state[s->n++] = m->state;
	return 0;
}

static void test_claimed_state(void)
{
	static const uint8_t new_body[] = "replaced";
	static struct store_msg out[4];
	static uint8_t buf[4 * STORE_MSG_MAX];
	struct scanned scanned = { .n = 0 };
	uint64_t ids[3], counts[STORE_STATE_COUNT], depth;
	struct store_msg deferred = sample("s", 0), r;
	struct store *st;

	make_dir();
	st = open_store(0);
	for (int i = 0; i < 3; i++)
		ids[i] = enqueue(st, "s", i);
	deferred.state = STORE_DEFERRED;
	deferred.next_attempt_ms = 3;
	CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_ENQUEUE,
	    .u.msg = &deferred }).rc, 0);
	uint64_t def_id = got[0].id;
	CHECK_EQ_INT(store_claim_due(st, "s", now_ms(), out, 2, buf, sizeof(buf), NULL), 2);
	barrier(st);
	CHECK_EQ_INT(state_of(st, ids[0]), STORE_SUBMITTING);
	CHECK_EQ_INT(state_of(st, ids[1]), STORE_SUBMITTING);
	CHECK_EQ_INT(state_of(st, ids[2]), STORE_QUEUED);
	CHECK_EQ_INT(store_messages_scan(st, 0, scan_state, &scanned), 0);
	CHECK(scanned.n == 4 && scanned.id[0] == ids[0] && scanned.id[2] == ids[2]);
	CHECK_EQ_INT(scanned.state[0], STORE_SUBMITTING);
	CHECK_EQ_INT(scanned.state[1], STORE_SUBMITTING);
	CHECK_EQ_INT(scanned.state[2], STORE_QUEUED);
	CHECK_EQ_INT(store_lane_depth(st, "s", &depth), 0);
	CHECK(depth == 2);
	/* replace_sm: too late for a claimed message, in time for a queued one */
	struct store_op rep = { .kind = STORE_OP_REPLACE, .id = ids[0],
	    .u.replace = { .body = new_body, .body_len = sizeof(new_body) - 1 } };
	CHECK_EQ_INT(run(st, rep).value, 0);
	rep.id = ids[2];
	CHECK_EQ_INT(run(st, rep).value, 1);
	CHECK_EQ_INT(store_get_message(st, ids[0], &r, buf, sizeof(buf)), 0);
	CHECK(r.body_len == 19);
	/* the deferred one is claimed from DEFERRED: the counts say so */
	CHECK_EQ_INT(store_claim_due(st, "s", now_ms(), out, 4, buf, sizeof(buf), NULL), 2);
	barrier(st);
	store_state_counts(st, counts);
	CHECK_EQ_INT(counts[STORE_SUBMITTING], 4);
	CHECK_EQ_INT(counts[STORE_QUEUED], 0);
	CHECK_EQ_INT(counts[STORE_DEFERRED], 0);
	CHECK_EQ_INT(state_of(st, def_id), STORE_SUBMITTING);
	/* out of SUBMITTING: sent, retried later, refused */
	CHECK_EQ_INT(mark_submitted(st, ids[0], "c1", NULL, 0), 0);
	CHECK_EQ_INT(mark(st, ids[1], STORE_QUEUED, now_ms() + 60000, 0), 0);
	CHECK_EQ_INT(mark(st, def_id, STORE_REJECTED, 0, 0), 0);
	CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_CANCEL,
	    .id = ids[2] }).value, 0);	/* still SUBMITTING: not cancelled */
	CHECK_EQ_INT(state_of(st, ids[0]), STORE_SUBMITTED);
	CHECK_EQ_INT(store_get_message(st, ids[1], &r, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(r.state, STORE_QUEUED);
	CHECK_EQ_INT(r.attempts, 1);
	CHECK_EQ_INT(state_of(st, def_id), STORE_REJECTED);
	CHECK_EQ_INT(mark(st, ids[0], STORE_SUBMITTED, 0, 0), STORE_ESTATE);
	store_state_counts(st, counts);
	CHECK_EQ_INT(counts[STORE_SUBMITTING], 1);
	CHECK_EQ_INT(counts[STORE_SUBMITTED], 1);
	CHECK_EQ_INT(counts[STORE_QUEUED], 1);
	CHECK_EQ_INT(store_lane_depth(st, "s", &depth), 0);
	CHECK(depth == 1);	/* the retry, due in a minute */
	CHECK_EQ_INT(store_claim_due(st, "s", now_ms(), out, 4, buf, sizeof(buf), NULL), 0);
	/* a minute on, the retry is claimed as it stands, attempt and all */
	CHECK_EQ_INT(store_claim_due(st, "s", now_ms() + 61000, out, 4, buf, sizeof(buf),
	    NULL), 1);
	CHECK(out[0].id == ids[1]);
	CHECK_EQ_INT(out[0].attempts, 1);
	CHECK_EQ_INT(out[0].state, STORE_QUEUED);
	store_close(st);
	remove_dir();
}

/* ---- the layout on disk ---- */

/* The store's directory opened with LMDB itself, beside no store. */
static MDB_env *raw_open(MDB_txn **txn, unsigned flags)
{
	MDB_env *env = NULL;

	if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 16) != 0 ||
	    mdb_env_open(env, dir, 0, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, flags, txn) != 0) {
		printf("# cannot open %s with LMDB\n", dir);
		if (env)
			mdb_env_close(env);
		return NULL;
	}
	return env;
}

static int raw_get(MDB_txn *txn, const char *db, const void *key, size_t klen,
    MDB_val *v)
{
	MDB_dbi dbi;
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key };

	if (mdb_dbi_open(txn, db, 0, &dbi) != 0)
		return -1;
	return mdb_get(txn, dbi, &k, v) == 0 ? 0 : -1;
}

static int raw_put(MDB_txn *txn, const char *db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_dbi dbi;
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key };
	MDB_val v = { .mv_size = vlen, .mv_data = (void *)val };

	if (mdb_dbi_open(txn, db, MDB_CREATE, &dbi) != 0)
		return -1;
	return mdb_put(txn, dbi, &k, &v, 0) == 0 ? 0 : -1;
}

static void be64(uint8_t k[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		k[i] = (uint8_t)v;
}

/* A mark writes the status; the record stays as it was enqueued. */
static void test_marks_leave_record(void)
{
	static uint8_t buf[STORE_MSG_MAX];
	static const char *const cids[] = { "x9" };
	struct store_msg r;
	uint8_t k[8];
	MDB_txn *txn;
	MDB_val v;
	struct store *st;

	make_dir();
	st = open_store(0);
	uint64_t id = enqueue_claimed(st, "m");
	CHECK(id != 0);
	CHECK_EQ_INT(mark_submitted(st, id, "c1", cids, 1), 0);
	CHECK_EQ_INT(mark(st, id, STORE_DELIVERED, 0, 0), 0);
	store_close(st);
	MDB_env *env = raw_open(&txn, MDB_RDONLY);
	CHECK(env != NULL);
	if (env == NULL)
		return;
	be64(k, id);
	CHECK_EQ_INT(raw_get(txn, "messages", k, 8, &v), 0);
	CHECK_EQ_INT(store_msg_decode(v.mv_data, v.mv_size, &r), 0);
	CHECK_EQ_INT(r.state, STORE_QUEUED);
	CHECK_EQ_INT(r.n_carrier_ids, 0);
	CHECK_EQ_INT(raw_get(txn, "status", &id, 8, &v), 0);	/* native key */
	CHECK_EQ_INT(store_status_overlay(v.mv_data, v.mv_size, &r), 0);
	CHECK_EQ_INT(r.state, STORE_DELIVERED);
	CHECK_EQ_STR(r.carrier, "c1");
	mdb_txn_abort(txn);
	mdb_env_close(env);
	st = open_store(0);
	CHECK_EQ_INT(store_get_message(st, id, &r, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(r.state, STORE_DELIVERED);
	CHECK_EQ_INT(r.attempts, 1);
	CHECK_EQ_STR(store_msg_carrier_id(&r, 0), "x9");
	/* purge drops the status with the record */
	CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_PURGE,
	    .u.purge = { .before_ms = now_ms() + 1000, .max = 10 } }).value, 1);
	store_close(st);
	env = raw_open(&txn, MDB_RDONLY);
	CHECK(env != NULL);
	if (env == NULL)
		return;
	CHECK(raw_get(txn, "messages", k, 8, &v) != 0);
	CHECK(raw_get(txn, "status", &id, 8, &v) != 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	remove_dir();
}

/*
 * A store of layout 1 (state in the record, no status database) opens,
 * reads and changes as before and is marked layout 2; an unknown layout
 * is refused and left alone.
 */
static void test_layout1_upgrade(void)
{
	static uint8_t buf[STORE_MSG_MAX];
	static const char cids[] = "old7";
	struct store_msg m = sample("u", 0), r;
	uint8_t k[8], ver[4] = { 1, 0, 0, 0 }, rec[STORE_MSG_MAX];
	size_t len;
	MDB_txn *txn;
	MDB_val v;
	struct store_config cfg = { .path = dir, .node_id = 7 };
	struct store *st = NULL;

	make_dir();
	MDB_env *env = raw_open(&txn, 0);
	CHECK(env != NULL);
	if (env == NULL)
		return;
	m.id = 0x1000;
	m.state = STORE_SUBMITTED;
	m.attempts = 1;
	sent_via(&m, "c1", cids, sizeof(cids), 1);
	be64(k, m.id);
	CHECK_EQ_INT(store_msg_encode(&m, rec, sizeof(rec), &len), 0);
	CHECK_EQ_INT(raw_put(txn, "messages", k, 8, rec, len), 0);
	CHECK_EQ_INT(raw_put(txn, "meta", "version", 7, ver, 4), 0);
	CHECK_EQ_INT(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	st = open_store(0);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_EQ_INT(store_get_message(st, 0x1000, &r, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(r.state, STORE_SUBMITTED);
	CHECK_EQ_STR(store_msg_carrier_id(&r, 0), "old7");
	CHECK_EQ_INT(mark(st, 0x1000, STORE_DELIVERED, 0, 0), 0);
	CHECK_EQ_INT(store_get_message(st, 0x1000, &r, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(r.state, STORE_DELIVERED);
	CHECK_EQ_INT(r.attempts, 1);
	CHECK_EQ_STR(r.carrier, "c1");
	CHECK_EQ_STR(store_msg_carrier_id(&r, 0), "old7");
	store_close(st);

	env = raw_open(&txn, 0);
	CHECK(env != NULL);
	if (env == NULL)
		return;
	CHECK_EQ_INT(raw_get(txn, "meta", "version", 7, &v), 0);
	CHECK(v.mv_size == 4 && ((uint8_t *)v.mv_data)[0] == 2);
	ver[0] = 9;
	CHECK_EQ_INT(raw_put(txn, "meta", "version", 7, ver, 4), 0);
	CHECK_EQ_INT(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	CHECK_EQ_INT(store_open(&cfg, &st), STORE_ECORRUPT);
	remove_dir();
}

/*
 * A new message's SUBMITTED mark is made without reading its record: the
 * claim carries "fresh" and its due time.  One enqueued with an attempt
 * or an error, one claimed with the queue mark of a store written before
 * fresh marks, and one claimed before a restart all take the read, and
 * all four end with the status the record would have given.
 */
static void test_fresh_mark(void)
{
	static uint8_t buf[STORE_MSG_MAX];
	static const char *const cids[] = { "q1" };
	int64_t due = now_ms() - 5000;
	struct store_msg m = sample("fr", due), r, old = sample("fr", due);
	uint8_t k[8], qkey[64];
	MDB_txn *txn;
	MDB_val v;
	struct store *st;

	make_dir();
	st = open_store(0);
	uint64_t id = enqueue_and_claim(st, &m);
	CHECK(id != 0);
	store_close(st);
	/* the inflight entry: "f", then the due time */
	MDB_env *env = raw_open(&txn, MDB_RDONLY);
	CHECK(env != NULL);
	if (env == NULL)
		return;
	be64(k, id);
	CHECK_EQ_INT(raw_get(txn, "inflight", k, 8, &v), 0);
	CHECK(v.mv_size == 9 && ((uint8_t *)v.mv_data)[0] == 'f');
	int64_t carried = 0;
	memcpy(&carried, (uint8_t *)v.mv_data + 1, 8);	/* little-endian host */
	CHECK(carried == due);
	mdb_txn_abort(txn);
	mdb_env_close(env);

	/* the restart put it back in the queue (with a status now) */
	st = open_store(0);
	CHECK_EQ_INT(state_of(st, id), STORE_QUEUED);
	CHECK_EQ_INT(store_claim_due(st, "fr", now_ms(), &r, 1, buf, sizeof(buf), NULL), 1);
	CHECK(r.id == id);
	CHECK_EQ_INT(mark_submitted(st, id, "c1", cids, 1), 0);
	CHECK_EQ_INT(store_get_message(st, id, &r, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(r.state, STORE_SUBMITTED);
	CHECK_EQ_INT(r.attempts, 1);
	CHECK_EQ_STR(r.dst_addr, "15552223333");

	/* fresh, no restart: the status comes from the mark alone */
	m = sample("fr", due);
	id = enqueue_and_claim(st, &m);
	CHECK(id != 0);
	CHECK_EQ_INT(mark_submitted(st, id, "c1", cids, 1), 0);
	CHECK_EQ_INT(store_get_message(st, id, &r, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(r.state, STORE_SUBMITTED);
	CHECK_EQ_INT(r.attempts, 1);
	CHECK_EQ_INT(r.last_error, 0);
	CHECK(r.next_attempt_ms == due);
	CHECK_EQ_STR(r.carrier, "c1");
	CHECK_EQ_STR(store_msg_carrier_id(&r, 0), "q1");
	CHECK_EQ_STR(r.body ? "body" : "none", "body");
	CHECK_EQ_INT(mark(st, id, STORE_DELIVERED, 0, 0), 0);
	CHECK_EQ_INT(state_of(st, id), STORE_DELIVERED);

	/* not as new: an attempt and an error already; the record decides */
	m = sample("fr", due);
	m.attempts = 2;
	m.last_error = 0x58;
	id = enqueue_and_claim(st, &m);
	CHECK(id != 0);
	CHECK_EQ_INT(mark_submitted(st, id, "c1", cids, 1), 0);
	CHECK_EQ_INT(store_get_message(st, id, &r, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(r.attempts, 3);
	CHECK_EQ_INT(r.last_error, 0x58);

	/* a queue entry as stores before fresh marks wrote it ("") */
	uint64_t old_id = run(st, (struct store_op){ .kind = STORE_OP_ENQUEUE,
	    .u.msg = &old }).id;
	CHECK(old_id != 0);
	store_close(st);
	env = raw_open(&txn, 0);
	CHECK(env != NULL);
	if (env == NULL)
		return;
	memcpy(qkey, "fr", 3);
	be64(qkey + 3, (uint64_t)due);
	be64(qkey + 11, old_id);
	CHECK_EQ_INT(raw_get(txn, "queue", qkey, 19, &v), 0);
	CHECK(v.mv_size == 1 && ((uint8_t *)v.mv_data)[0] == 'f');
	CHECK_EQ_INT(raw_put(txn, "queue", qkey, 19, "", 0), 0);
	CHECK_EQ_INT(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	st = open_store(0);
	CHECK_EQ_INT(store_claim_due(st, "fr", now_ms(), &r, 1, buf, sizeof(buf), NULL), 1);
	CHECK(r.id == old_id);
	CHECK_EQ_INT(mark_submitted(st, old_id, "c2", cids, 1), 0);
	CHECK_EQ_INT(store_get_message(st, old_id, &r, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(r.state, STORE_SUBMITTED);
	CHECK_EQ_INT(r.attempts, 1);
	CHECK(r.next_attempt_ms == due);
	CHECK_EQ_STR(r.carrier, "c2");
	store_close(st);
	remove_dir();
}

static int replace_body(struct store *st, uint64_t id, const char *body)
{
	struct store_op op = { .kind = STORE_OP_REPLACE, .id = id,
	    .u.replace = { .body = (const uint8_t *)body, .body_len = strlen(body) } };

	return (int)run(st, op).value;
}

static int has_raw(const char *db, uint64_t id)
{
	uint8_t k[8];
	MDB_txn *txn;
	MDB_val v;
	MDB_env *env = raw_open(&txn, MDB_RDONLY);
	int found;

	if (env == NULL)
		return -1;
	be64(k, id);	/* the status database's keys are native integers */
	found = raw_get(txn, db, strcmp(db, "status") == 0 ? (void *)&id : k, 8, &v) == 0;
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return found;
}

/*
 * replace_sm of a message never sent keeps it without a status (its queue
 * entry says so); of one sent before, it rewrites the status too and the
 * next send still replaces the old attempt's carrier ids.
 */
static void test_replace_and_status(void)
{
	static uint8_t buf[4 * STORE_MSG_MAX];
	static const char *const first[] = { "f1" }, *const second[] = { "s2" },
	    *const third[] = { "t3" };
	static struct store_msg out[2];
	struct store_msg r;
	uint64_t got_id;
	unsigned part;
	struct store *st;

	make_dir();
	st = open_store(0);
	uint64_t fresh = enqueue(st, "r", 0), sent = enqueue_claimed(st, "q");
	CHECK_EQ_INT(replace_body(st, fresh, "new body"), 1);
	CHECK_EQ_INT(mark_submitted(st, sent, "c1", first, 1), 0);
	CHECK_EQ_INT(mark(st, sent, STORE_QUEUED, 0, 0), 0);	/* retry now */
	CHECK_EQ_INT(replace_body(st, sent, "again"), 1);
	store_close(st);
	CHECK_EQ_INT(has_raw("status", fresh), 0);
	CHECK_EQ_INT(has_raw("status", sent), 1);
	st = open_store(0);
	CHECK_EQ_INT(store_get_message(st, sent, &r, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(store_msg_carrier_id(&r, 0), "f1");
	CHECK_EQ_INT(r.attempts, 1);
	CHECK_EQ_INT(store_claim_due(st, "r", now_ms(), out, 2, buf, sizeof(buf), NULL), 1);
	CHECK_EQ_INT(store_claim_due(st, "q", now_ms(), out, 2, buf, sizeof(buf), NULL), 1);
	CHECK_EQ_INT(mark_submitted(st, fresh, "c1", second, 1), 0);
	CHECK_EQ_INT(mark_submitted(st, sent, "c1", third, 1), 0);
	CHECK_EQ_INT(store_get_message(st, fresh, &r, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(r.state, STORE_SUBMITTED);
	CHECK(r.body_len == 8 && memcmp(r.body, "new body", 8) == 0);
	CHECK_EQ_INT(store_get_message(st, sent, &r, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(r.attempts, 2);
	CHECK(r.body_len == 5 && memcmp(r.body, "again", 5) == 0);
	/* the first attempt's id left the map, the second's points here */
	CHECK_EQ_INT(store_lookup_carrier_id(st, "c1", "f1", &got_id, &part), -ENOENT);
	CHECK_EQ_INT(store_lookup_carrier_id(st, "c1", "t3", &got_id, &part), 0);
	CHECK(got_id == sent);
	CHECK_EQ_INT(store_lookup_carrier_id(st, "c1", "s2", &got_id, &part), 0);
	CHECK(got_id == fresh);
	store_close(st);
	remove_dir();
}

/*
 * Claims of a few at a time, as the relay makes them in one loop turn,
 * resume where the last one stopped while nothing was committed between
 * them, and start over when something was: every message is claimed once,
 * a message queued meanwhile ahead of the others included.
 */
static void test_claim_resume(void)
{
	static struct store_msg out[7];
	static uint8_t buf[7 * STORE_MSG_MAX];
	static uint64_t ids[700];
	static uint8_t seen[700];
	uint64_t late = 0;
	size_t n = 0, claimed = 0, dup = 0, rounds = 0;
	struct store_op batch[100];
	struct store_msg msgs[100];
	struct store *st;

	make_dir();
	st = open_store(0);
	for (int b = 0; b < 6; b++) {
		for (int i = 0; i < 100; i++) {
			msgs[i] = sample("h", 1000 + b * 100 + i);
			batch[i] = (struct store_op){ .kind = STORE_OP_ENQUEUE, .u.msg = &msgs[i] };
		}
		ngot = 0;
		CHECK_EQ_INT(store_submit(st, batch, 100), 0);
		CHECK_EQ_INT(wait_for(st, 100), 0);
		for (size_t i = 0; i < ngot; i++)
			ids[n++] = got[i].id;
	}
	for (int got_n; (got_n = store_claim_due(st, "h", now_ms(), out, 7, buf,
	    sizeof(buf), NULL)) > 0; rounds++) {
		for (int i = 0; i < got_n; i++) {
			size_t j = 0;

			while (j < n && ids[j] != out[i].id)
				j++;
			if (j == n || seen[j]++)
				dup++;
			claimed++;
		}
		if (rounds == 20) {	/* due before everything left in the lane */
			late = enqueue(st, "h", 5);
			ids[n++] = late;
		}
	}
	CHECK(late != 0);
	CHECK_EQ_INT(dup, 0);
	CHECK_EQ_INT(claimed, 601);
	CHECK_EQ_INT(n, 601);
	store_close(st);
	remove_dir();
}

/* ---- pending receipts ---- */

struct seen {
	size_t n;
	uint64_t seq[16];
	char data[16][16];
};

static int see_receipt(uint64_t seq, const void *data, size_t len, void *arg)
{
	struct seen *s = arg;

	if (s->n == 16 || len >= 16)
		return 1;
	s->seq[s->n] = seq;
	memcpy(s->data[s->n], data, len);
	s->data[s->n++][len] = '\0';
	return 0;
}

static uint64_t add_receipt(struct store *st, const char *acct, const char *text)
{
	struct store_completion c = run(st, (struct store_op){
	    .kind = STORE_OP_RECEIPT_ADD,
	    .u.receipt = { .account = acct, .data = text, .len = strlen(text) } });

	return c.rc == 0 ? c.id : 0;
}

static void test_receipts(void)
{
	static const char *const texts[] = { "r0", "r1", "r2", "r3", "r4" };
	uint64_t seq[5];
	struct seen s = { 0 };
	struct store *st;
	int ordered = 1;

	make_dir();
	st = open_store(0);
	for (int i = 0; i < 5; i++) {
		seq[i] = add_receipt(st, "A", texts[i]);
		add_receipt(st, i % 2 ? "B" : "AA", "other");	/* interleaved */
	}
	CHECK_EQ_INT(store_receipts_list(st, "A", 0, see_receipt, &s), 0);
	CHECK_EQ_INT(s.n, 5);
	for (int i = 0; i < 5; i++)
		ordered &= s.seq[i] == seq[i] && strcmp(s.data[i], texts[i]) == 0;
	CHECK(ordered);
	CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_RECEIPT_ACK,
	    .id = seq[1], .u.receipt.account = "A" }).rc, 0);
	CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_RECEIPT_ACK,
	    .id = seq[1], .u.receipt.account = "A" }).rc, -ENOENT);
	memset(&s, 0, sizeof(s));
	store_receipts_list(st, "A", 0, see_receipt, &s);
	CHECK_EQ_INT(s.n, 4);
	CHECK_EQ_STR(s.data[1], "r2");
	memset(&s, 0, sizeof(s));
	store_receipts_list(st, "A", seq[2], see_receipt, &s);	/* resume */
	CHECK_EQ_INT(s.n, 2);
	CHECK_EQ_STR(s.data[0], "r3");
	store_close(st);
	st = open_store(0);	/* they survive a restart */
	memset(&s, 0, sizeof(s));
	store_receipts_list(st, "A", 0, see_receipt, &s);
	CHECK_EQ_INT(s.n, 4);
	store_close(st);
	remove_dir();
}

/* ---- crash recovery ---- */

/*
 * The child enqueues 50 messages, claims 20, waits for the claims to
 * commit, says so on the pipe and waits to be killed.
 */
static void crash_child_claims(int fd)
{
	static struct store_msg out[20];
	static uint8_t buf[20 * 1024];
	struct store_msg m = sample("r", 0);
	struct store *st = open_store(0);
	uint64_t last = 0;
	char c = 'x';

	if (st == NULL || !enqueue_many(st, &m, 50, &last) ||
	    store_claim_due(st, "r", now_ms(), out, 20, buf, sizeof(buf), NULL) != 20)
		_exit(1);
	barrier(st);
	if (write(fd, &c, 1) != 1)
		_exit(1);
	pause();
	_exit(0);
}

static void test_recover_submitting(void)
{
	uint64_t counts[STORE_STATE_COUNT], depth;
	int p[2], status;
	struct store *st;
	pid_t pid;
	char c;

	make_dir();
	CHECK_EQ_INT(pipe(p), 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		crash_child_claims(p[1]);
	CHECK_EQ_INT(read(p[0], &c, 1), 1);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status));
	close(p[0]);
	close(p[1]);
	st = open_store(0);
	CHECK(st != NULL);
	CHECK_EQ_INT(store_recovered(st), 20);
	store_state_counts(st, counts);
	CHECK_EQ_INT(counts[STORE_QUEUED], 50);
	CHECK_EQ_INT(counts[STORE_SUBMITTING], 0);
	store_lane_depth(st, "r", &depth);
	CHECK_EQ_INT(depth, 50);
	store_close(st);
	remove_dir();
}

/* Enqueues in batches, reports every acknowledged id, until killed. */
static void crash_child_flood(int fd)
{
	struct store_msg m = sample("f", 0);
	struct store *st = open_store(0);

	for (;;) {
		for (size_t i = 0; i < 200; i++)
			ops[i] = (struct store_op){ .kind = STORE_OP_ENQUEUE, .u.msg = &m };
		ngot = 0;
		if (st == NULL || store_submit(st, ops, 200) < 0 || wait_for(st, 200) < 0)
			_exit(1);
		for (size_t i = 0; i < ngot; i++)
			if (got[i].rc == 0 && write(fd, &got[i].id, 8) != 8)
				_exit(1);
	}
}

static void test_kill9_loses_nothing_acked(void)
{
	static uint64_t acked[1 << 20];
	static uint8_t buf[STORE_MSG_MAX];
	struct store_msg r;
	size_t n = 0, missing = 0;
	int p[2], status;
	struct store *st;
	ssize_t k;
	pid_t pid;

	make_dir();
	CHECK_EQ_INT(pipe(p), 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		crash_child_flood(p[1]);
	}
	close(p[1]);
	for (int64_t end = now_ms() + 400; now_ms() < end && n < 1000000;)
		if (read(p[0], (char *)&acked[n], 8) == 8)
			n++;
	kill(pid, SIGKILL);	/* mid-batch, most likely mid-commit */
	waitpid(pid, &status, 0);
	while (n < sizeof(acked) / 8 &&
	    (k = read(p[0], (char *)&acked[n], 8)) == 8)
		n++;
	close(p[0]);
	printf("# %zu acknowledged before the kill\n", n);
	CHECK(n > 0);
	st = open_store(0);
	for (size_t i = 0; i < n; i++)
		missing += store_get_message(st, acked[i], &r, buf, sizeof(buf)) != 0;
	CHECK_EQ_INT(missing, 0);
	store_close(st);
	remove_dir();
}

/* ---- a full map ---- */

/* kB of this process's file-backed resident pages (RssFile). */
static long rss_file_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssFile: %ld", &kb) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kb;
}

/* Trimming drops the map's pages from RSS and loses nothing: every message
 * reads back the same afterwards. */
static void test_trim_resident(void)
{
	static uint8_t big[2000], buf[STORE_MSG_MAX];
	static uint64_t ids[2048];
	struct store_msg m = sample("trim", 0), r;
	size_t bad = 0;
	uint64_t last = 0;
	struct store *st;

	make_dir();
	st = open_store(64 << 20);
	CHECK_EQ_INT(store_trim_resident(st, 1ull << 40), 0); /* under keep */
	memset(big, 'x', sizeof(big));
	m.body = big;
	m.body_len = sizeof(big);
	for (size_t i = 0; i < 2048; i += 256) {
		CHECK(enqueue_many(st, &m, 256, &last));
		for (size_t j = 0; j < 256; j++)
			ids[i + j] = ops[j].id;
	}
	for (size_t i = 0; i < 2048; i++)
		bad += store_get_message(st, ids[i], &r, buf, sizeof(buf)) != 0;
	CHECK_EQ_INT(bad, 0);
	long before = rss_file_kb();
	CHECK_EQ_INT(store_trim_resident(st, 0), 1);
	long after = rss_file_kb();
	printf("# RssFile %ld kB before the trim, %ld kB after\n", before, after);
	CHECK(before - after >= 2048 * 2); /* at least 2 kB per message read */
	for (size_t i = 0; i < 2048; i++)
		bad += store_get_message(st, ids[i], &r, buf, sizeof(buf)) != 0 ||
		    r.body_len != sizeof(big) || memcmp(r.body, big, sizeof(big)) != 0 ||
		    r.id != ids[i];
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(store_trim_resident(st, 0), 1); /* again: the map is known */
	store_close(st);
	remove_dir();
}

static void test_map_full(void)
{
	static uint8_t big[1000], buf[STORE_MSG_MAX];
	static uint64_t ids[4096];
	struct store_msg m = sample("full", 0), r;
	size_t n = 0, unreadable = 0;
	struct store *st;
	int rc = 0, tries;

	make_dir();
	st = open_store(1 << 20);
	m.body = big;
	m.body_len = sizeof(big);
	m.next_attempt_ms = now_ms() + 3600000;
	while (n < 4096 && rc == 0) {
		struct store_completion c = run(st, (struct store_op){
		    .kind = STORE_OP_ENQUEUE, .u.msg = &m });

		rc = c.rc;
		if (rc == 0)
			ids[n++] = c.id;
	}
	printf("# %zu messages fit in 1 MiB\n", n);
	CHECK_EQ_INT(rc, STORE_EFULL);
	CHECK(n > 100);
	for (size_t i = 0; i < n; i++)
		unreadable += store_get_message(st, ids[i], &r, buf, sizeof(buf)) != 0;
	CHECK_EQ_INT(unreadable, 0);
	/* one batch: a new message (refused) and a final mark (applied) */
	ops[0] = (struct store_op){ .kind = STORE_OP_ENQUEUE, .u.msg = &m };
	ops[1] = (struct store_op){ .kind = STORE_OP_MARK, .id = ids[0],
	    .u.mark.state = STORE_EXPIRED };
	ngot = 0;
	CHECK_EQ_INT(store_submit(st, ops, 2), 0);
	CHECK_EQ_INT(wait_for(st, 2), 0);
	CHECK_EQ_INT(got[0].rc, STORE_EFULL);
	CHECK_EQ_INT(got[1].rc, 0);
	CHECK_EQ_INT(state_of(st, ids[0]), STORE_EXPIRED);
	for (size_t i = 1; i < n / 2; i++)
		mark(st, ids[i], STORE_EXPIRED, 0, 0);
	CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_PURGE,
	    .u.purge = { .before_ms = now_ms() + 1000, .max = 10000 } }).value,
	    (int64_t)(n / 2));
	/* freed pages are reusable once no snapshot needs them */
	for (tries = 0, rc = -1; tries < 5 && rc != 0; tries++)
		rc = run(st, (struct store_op){ .kind = STORE_OP_ENQUEUE,
		    .u.msg = &m }).rc;
	CHECK_EQ_INT(rc, 0);
	store_close(st);
	remove_dir();
}

/* ---- counters, audit, kv, purge ---- */

static int64_t counter_add(struct store *st, const char *name, int64_t w,
    int64_t d)
{
	return run(st, (struct store_op){ .kind = STORE_OP_COUNTER_ADD,
	    .u.counter = { .name = name, .window = w, .delta = d } }).value;
}

static void test_counters(void)
{
	struct store *st;
	int64_t v;

	make_dir();
	st = open_store(0);
	CHECK_EQ_INT(counter_add(st, "brand:acme:day", 20240101, 5), 5);
	CHECK_EQ_INT(counter_add(st, "brand:acme:day", 20240101, 3), 8);
	CHECK_EQ_INT(counter_add(st, "brand:acme:day", 20240102, 1), 1);
	CHECK_EQ_INT(counter_add(st, "brand:acme", 20240101, -2), -2);
	store_close(st);
	st = open_store(0);
	CHECK_EQ_INT(store_counter_get(st, "brand:acme:day", 20240101, &v), 0);
	CHECK_EQ_INT(v, 8);
	CHECK_EQ_INT(store_counter_get(st, "brand:acme", 20240101, &v), 0);
	CHECK_EQ_INT(v, -2);
	CHECK_EQ_INT(store_counter_get(st, "nothing", 1, &v), 0);
	CHECK_EQ_INT(v, 0);
	store_close(st);
	remove_dir();
}

struct audit_seen {
	int n;
	int64_t t[8];
	char reason[8][32];
};

static int see_audit(const struct store_audit *a, void *arg)
{
	struct audit_seen *s = arg;

	s->t[s->n] = a->time_ms;
	snprintf(s->reason[s->n++], 32, "%s/%s/%s", a->rule, a->reason,
	    a->recipient);
	return s->n == 8;
}

static void test_audit(void)
{
	static const int64_t times[] = { 4000, 1000, 3000, 2000, 2000 };
	struct audit_seen s = { 0 };
	struct store *st;

	make_dir();
	st = open_store(0);
	for (size_t i = 0; i < 5; i++) {
		struct store_audit a = { .time_ms = times[i], .msg_id = i,
		    .account = "acme", .campaign = "C1", .recipient = "1555",
		    .rule = "optout", .reason = i == 3 ? "stop" : "x" };

		CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_AUDIT,
		    .u.audit = &a }).rc, 0);
	}
	CHECK_EQ_INT(store_audit_range(st, 2000, 4000, see_audit, &s), 0);
	CHECK_EQ_INT(s.n, 3);
	CHECK_EQ_INT(s.t[0], 2000);
	CHECK_EQ_STR(s.reason[0], "optout/stop/1555");	/* same ms: in order */
	CHECK_EQ_INT(s.t[2], 3000);
	CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_AUDIT_PURGE,
	    .u.purge = { .before_ms = 2500, .max = 100 } }).value, 3);
	memset(&s, 0, sizeof(s));
	store_audit_range(st, 0, INT64_MAX, see_audit, &s);
	CHECK_EQ_INT(s.n, 2);
	store_close(st);
	remove_dir();
}

static void test_kv(void)
{
	char buf[16];
	size_t len;
	struct store *st;

	make_dir();
	st = open_store(0);
	CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_KV_PUT,
	    .u.kv = { .key = "optout\0acme\0001555", .klen = 16, .val = "STOP",
	    .vlen = 4 } }).rc, 0);
	CHECK_EQ_INT(store_kv_get(st, "optout\0acme\0001555", 16, buf,
	    sizeof(buf), &len), 0);
	CHECK_EQ_INT(len, 4);
	CHECK_EQ_MEM(buf, "STOP", 4);
	CHECK_EQ_INT(store_kv_get(st, "optout\0acme\0001555", 16, buf, 2, &len),
	    -E2BIG);
	CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_KV_DEL,
	    .u.kv = { .key = "optout\0acme\0001555", .klen = 16 } }).rc, 0);
	CHECK_EQ_INT(store_kv_get(st, "optout\0acme\0001555", 16, buf,
	    sizeof(buf), &len), -ENOENT);
	store_close(st);
	remove_dir();
}

static void test_purge(void)
{
	static const char *const cids[] = { "77" };
	uint64_t ids[5], live, got_id, counts[STORE_STATE_COUNT];
	struct store *st;
	unsigned part;

	make_dir();
	st = open_store(0);
	for (int i = 0; i < 5; i++) {
		ids[i] = enqueue_claimed(st, "p");
		mark_submitted(st, ids[i], "c", i == 0 ? cids : NULL, i == 0);
		mark(st, ids[i], STORE_DELIVERED, 0, 0);
	}
	live = enqueue(st, "p", now_ms() + 100000);
	CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_PURGE,
	    .u.purge = { .before_ms = now_ms() + 1, .max = 2 } }).value, 2);
	CHECK_EQ_INT(state_of(st, ids[0]), STORE_STATE_COUNT);	/* gone */
	CHECK_EQ_INT(store_lookup_carrier_id(st, "c", "77", &got_id, &part), -ENOENT);
	CHECK_EQ_INT(state_of(st, ids[2]), STORE_DELIVERED);
	CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_PURGE,
	    .u.purge = { .before_ms = now_ms() + 1, .max = 100 } }).value, 3);
	CHECK_EQ_INT(run(st, (struct store_op){ .kind = STORE_OP_PURGE,
	    .u.purge = { .before_ms = 1, .max = 100 } }).value, 0);
	CHECK_EQ_INT(state_of(st, live), STORE_QUEUED);	/* not final: kept */
	store_state_counts(st, counts);
	CHECK_EQ_INT(counts[STORE_DELIVERED], 0);
	CHECK_EQ_INT(counts[STORE_QUEUED], 1);
	store_close(st);
	remove_dir();
}

int main(void)
{
	RUN(test_msgid_text);
	RUN(test_ids);
	RUN(test_record_roundtrip);
	RUN(test_record_corrupt);
	RUN(test_status_overlay);
	RUN(test_enqueue_notify);
	RUN(test_claim_lanes);
	RUN(test_flush_hook);
	RUN(test_commit_hist);
	RUN(test_no_fsync);
	RUN(test_writer_thread_name);
	RUN(test_transitions);
	RUN(test_cancel);
	RUN(test_claimed_state);
	RUN(test_claim_resume);
	RUN(test_marks_leave_record);
	RUN(test_layout1_upgrade);
	RUN(test_fresh_mark);
	RUN(test_replace_and_status);
	RUN(test_receipts);
	RUN(test_recover_submitting);
	RUN(test_kill9_loses_nothing_acked);
	RUN(test_trim_resident);
	RUN(test_map_full);
	RUN(test_counters);
	RUN(test_audit);
	RUN(test_kv);
	RUN(test_purge);
	return unit_done();
}
