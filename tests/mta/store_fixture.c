/* The shared parts of the tests over a real temporary store. */
#include "tests/mta/store_fixture.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void fixture_dir_make(char *dir, size_t cap, const char *prefix)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, cap, "%s/%s-XXXXXX", t && *t ? t : "/tmp", prefix);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

void fixture_dir_clear(const char *dir, int keep)
{
	char p[512];
	snprintf(p, sizeof p, "%s/data.mdb", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/lock.mdb", dir);
	unlink(p);
	if (!keep)
		rmdir(dir);
}

struct sync_ctx {
	int tag, done;
	store_completion_cb *route;
	void *arg;
};

static void sync_route(const struct store_completion *c, void *arg)
{
	struct sync_ctx *x = arg;
	if (c->cookie == &x->tag)
		x->done = 1;
	else if (x->route)
		x->route(c, x->arg);
}

int fixture_sync(struct store *st, store_completion_cb *route, void *arg)
{
	struct sync_ctx x = { .route = route, .arg = arg };
	struct store_op op = { .kind = STORE_OP_KV_PUT, .cookie = &x.tag,
	    .u.kv = { .key = "zz-sync", .klen = 7, .val = "1", .vlen = 1 } };
	struct pollfd pfd = { .fd = store_notify_fd(st), .events = POLLIN };
	if (store_submit(st, &op, 1) < 0)
		return -1;
	while (!x.done) {
		if (poll(&pfd, 1, 10000) <= 0)
			return -1;
		store_drain_completions(st, sync_route, &x);
	}
	return 0;
}
