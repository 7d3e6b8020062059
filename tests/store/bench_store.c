/*
 * Store throughput: enqueue through the group-commit writer (fsync on),
 * then claim + mark SUBMITTED, then mark DELIVERED, as the relay would
 * drive them: many small submits in flight, completions drained from the
 * notify fd.  Prints figures; not a pass/fail test.
 *
 *   bench-store [messages [directory [window]]]
 */
#include "store/store.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 64	/* operations per store_submit, like one session's burst */
#define LANES 16

static size_t outstanding, failed;
static size_t window = 32768;	/* operations in flight */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void done(const struct store_completion *c, void *arg)
{
	outstanding--;
	failed += c->rc != 0;
}

static void drain(struct store *st, int wait)
{
	struct pollfd p = { .fd = store_notify_fd(st), .events = POLLIN };

	if (poll(&p, 1, wait ? 10000 : 0) > 0)
		store_drain_completions(st, done, NULL);
}

static void submit(struct store *st, struct store_op *ops, size_t n)
{
	while (outstanding + n > window)
		drain(st, 1);
	if (store_submit(st, ops, n) < 0) {
		fprintf(stderr, "submit failed\n");
		exit(1);
	}
	outstanding += n;
	drain(st, 0);
}

static void finish(struct store *st)
{
	while (outstanding > 0)
		drain(st, 1);
}

static void report(struct store *st, const char *what, size_t n, double t,
    struct store_stats *before)
{
	struct store_stats s;
	uint64_t commits;

	store_get_stats(st, &s);
	commits = s.commits - before->commits;
	printf("%-22s %8zu msgs %7.3f s %9.0f msg/s  %6llu commits, "
	    "%6.0f ops/commit, %.2f ms/commit%s\n", what, n, t, (double)n / t,
	    (unsigned long long)commits,
	    commits ? (double)(s.ops - before->ops) / (double)commits : 0.0,
	    commits ? (double)(s.commit_ns - before->commit_ns) / 1e6 /
	    (double)commits : 0.0, failed ? "  FAILURES" : "");
	*before = s;
}

static void bench_enqueue(struct store *st, size_t n, struct store_stats *s)
{
	static const uint8_t body[160] = "Your verification code is 123456. "
	    "Reply STOP to opt out.";
	static char lanes[LANES][8];
	struct store_msg m[LANES];
	struct store_op ops[CHUNK];
	double t0 = now_s();

	for (int l = 0; l < LANES; l++) {
		snprintf(lanes[l], sizeof(lanes[l]), "camp%02d", l);
		m[l] = (struct store_msg){ .account = "acme", .campaign = lanes[l],
		    .lane = lanes[l], .src_ton = 1, .src_npi = 1,
		    .src_addr = "15550001111", .dst_ton = 1, .dst_npi = 1,
		    .dst_addr = "15552223333", .registered_delivery = 1,
		    .segments = 1, .state = STORE_QUEUED, .body = body,
		    .body_len = sizeof(body) };
	}
	for (size_t i = 0; i < n; i += CHUNK) {
		size_t k = n - i < CHUNK ? n - i : CHUNK;

		for (size_t j = 0; j < k; j++)
			ops[j] = (struct store_op){ .kind = STORE_OP_ENQUEUE,
			    .u.msg = &m[(i + j) % LANES] };
		submit(st, ops, k);
	}
	finish(st);
	report(st, "enqueue", n, now_s() - t0, s);
}

/* Claims every lane in turn and marks what it got SUBMITTED. */
static size_t claim_and_submit(struct store *st, uint64_t *ids, size_t cap)
{
	static struct store_msg out[CHUNK];
	static uint8_t buf[CHUNK * 1024];
	static char cid_text[CHUNK][24];
	static const char *cid[CHUNK][1];
	struct store_op ops[CHUNK];
	char lane[8];
	size_t total = 0;
	int got, any = 1;

	while (any) {
		any = 0;
		for (int l = 0; l < LANES; l++) {
			snprintf(lane, sizeof(lane), "camp%02d", l);
			got = store_claim_due(st, lane, INT64_MAX / 2, out, CHUNK,
			    buf, sizeof(buf), NULL);
			for (int j = 0; j < got && total < cap; j++) {
				ids[total++] = out[j].id;
				snprintf(cid_text[j], sizeof(cid_text[j]), "%llX",
				    (unsigned long long)out[j].id * 7);
				cid[j][0] = cid_text[j];
				ops[j] = (struct store_op){ .kind = STORE_OP_MARK,
				    .id = out[j].id, .u.mark = {
				    .state = STORE_SUBMITTED, .carrier = "tmo",
				    .carrier_ids = cid[j], .n_carrier_ids = 1 } };
			}
			if (got > 0)
				submit(st, ops, (size_t)got);
			any |= got > 0;
		}
	}
	finish(st);
	return total;
}

static void bench_claim_mark(struct store *st, size_t n, struct store_stats *s)
{
	uint64_t *ids = calloc(n, sizeof(*ids));
	struct store_op ops[CHUNK];
	size_t claimed;
	double t0 = now_s();

	claimed = claim_and_submit(st, ids, n);
	report(st, "claim + mark submitted", claimed, now_s() - t0, s);
	t0 = now_s();
	for (size_t i = 0; i < claimed; i += CHUNK) {
		size_t k = claimed - i < CHUNK ? claimed - i : CHUNK;

		for (size_t j = 0; j < k; j++)
			ops[j] = (struct store_op){ .kind = STORE_OP_MARK,
			    .id = ids[i + j], .u.mark.state = STORE_DELIVERED };
		submit(st, ops, k);
	}
	finish(st);
	report(st, "mark delivered", claimed, now_s() - t0, s);
	free(ids);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
	const char *tmp = getenv("TMPDIR");
	char dir[256], cmd[300];
	struct store_config cfg = { .map_size = (size_t)4 << 30 };
	struct store_stats s = { 0 };
	struct store *st;
	int rc;

	if (argc > 3)
		window = strtoul(argv[3], NULL, 10);
	snprintf(dir, sizeof(dir), "%s/store-bench-XXXXXX",
	    argc > 2 ? argv[2] : tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return perror("mkdtemp"), 1;
	cfg.path = dir;
	rc = store_open(&cfg, &st);
	if (rc < 0)
		return fprintf(stderr, "open: %s\n", store_strerror(rc)), 1;
	printf("store bench: %zu messages, %d lanes, chunks of %d, window %zu, "
	    "fsync on, %s\n", n, LANES, CHUNK, window, dir);
	bench_enqueue(st, n, &s);
	bench_claim_mark(st, n, &s);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 && failed == 0 ? 0 : 1;
}
