/*
 * smppd -c FILE --pause|--resume|--status CAMPAIGN: the operator's side of
 * campaign pauses, usable while the daemon runs.
 *
 * The store is opened attached (store_config.attach): no recovery, only
 * the pause record and its audit entry are written, and LMDB serialises
 * our write with the daemon's.  The daemon holds pause states in memory
 * and re-reads them every pause.poll (default 2s) and on SIGHUP, so the
 * change takes effect within that time; a stopped daemon reads the record
 * when it starts.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mta/compliance.h"
#include "mta/monitor.h"
#include "mta/relay.h"
#include "policy/policy.h"
#include "store/store.h"

#define WAIT_MS 10000

static const char *const op_flag[] = { "--pause", "--resume", "--status" };

static void when(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, cap, "an unknown time");
}

/* The campaign must be one the policy names: a typo must not pause nothing. */
static int known(const struct config *cfg, const struct policy *p, enum pausectl_op op,
    const char *campaign)
{
	if (!p) {
		fprintf(stderr, "smppd: %s: %s names no policy file, so there are no campaigns\n",
		    op_flag[op], cfg->path);
		return 0;
	}
	if (policy_has_campaign(p, campaign))
		return 1;
	fprintf(stderr, "smppd: %s: no campaign \"%s\" in %s; its campaigns are:", op_flag[op],
	    campaign, cfg->policy);
	const char *id;
	for (unsigned i = 0; (id = policy_campaign_id(p, i)); i++)
		fprintf(stderr, " %s", id);
	fputc('\n', stderr);
	return 0;
}

struct waited {
	struct compliance *c;
	size_t done;
	int rc;
};

static void on_done(const struct store_completion *sc, void *arg)
{
	struct waited *w = arg;
	w->done++;
	if (sc->rc < 0)
		w->rc = sc->rc;
	if (compliance_owns_cookie(w->c, sc->cookie))
		compliance_completion(w->c, sc);
}

/* Waits until the writer committed `want` operations; their worst rc. */
static int wait_commits(struct store *st, struct compliance *c, size_t want)
{
	struct waited w = { c, 0, 0 };
	struct pollfd pfd = { .fd = store_notify_fd(st), .events = POLLIN };
	for (int waited = 0; w.done < want && waited < WAIT_MS; waited += 100) {
		if (poll(&pfd, 1, 100) > 0)
			store_drain_completions(st, on_done, &w);
	}
	return w.done < want ? -ETIMEDOUT : w.rc;
}

static int status(struct store *st, const struct policy *p, const char *campaign, int paused,
    int64_t since)
{
	char t[32];
	when(since, t, sizeof t);
	if (paused)
		printf("campaign %s: paused since %s\n", campaign, t);
	else
		printf("campaign %s: not paused%s%s\n", campaign, since ? "; last resumed " : "",
		    since ? t : "");
	const char *name;
	for (unsigned i = 0; (name = policy_monitor_name(p, i)); i++) {
		char counter[STORE_STR_MAX + 1];
		int64_t n = 0;
		if (monitors_alert_counter(counter, sizeof counter, campaign, name) == 0 &&
		    store_counter_get(st, counter, 0, &n) == 0)
			printf("  monitor %s: %lld alert%s\n", name, (long long)n, n == 1 ? "" : "s");
	}
	return 0;
}

static int change(const struct config *cfg, struct store *st, struct compliance *c,
    enum pausectl_op op, const char *campaign, int paused, int64_t since)
{
	int yes = op == PAUSECTL_PAUSE;
	char t[32], why[STORE_STR_MAX + 1];
	if (paused == yes) {
		when(since, t, sizeof t);
		printf("smppd: campaign %s is %s: nothing changed (since %s)\n", campaign,
		    yes ? "already paused" : "not paused", t);
		return 0;
	}
	const char *who = getenv("SUDO_USER");
	if (!who)
		who = getenv("LOGNAME");
	snprintf(why, sizeof why, "by operator (smppd %s, uid %u%s%s)", op_flag[op],
	    (unsigned)getuid(), who ? " " : "", who ? who : "");
	int rc = compliance_pause_why(c, campaign, yes, relay_wall_ms() / 1000, why);
	if (rc == 0)
		rc = wait_commits(st, c, 2); /* the record and its audit entry */
	if (rc < 0) {
		fprintf(stderr, "smppd: %s %s: the store did not take it: %s\n", op_flag[op], campaign,
		    store_strerror(rc));
		return 1;
	}
	printf("smppd: campaign %s %s; a running smppd applies it within %llu ms "
	    "(pause.poll) or at once on SIGHUP\n", campaign, yes ? "paused" : "resumed",
	    (unsigned long long)cfg->pause.poll_ms);
	return 0;
}

int pausectl_main(const struct config *cfg, const struct policy *p, enum pausectl_op op,
    const char *campaign)
{
	if (!known(cfg, p, op, campaign))
		return 1;
	struct store *st = opctl_store_attach(cfg, 16, op_flag[op]);
	if (!st)
		return 1;
	int rc;
	struct compliance_config cc = { .cache_slots = 1 };
	struct compliance *c = compliance_new(st, &cc);
	int paused = 0, exit_code = 1;
	int64_t since = 0;
	if (!c)
		fprintf(stderr, "smppd: out of memory\n");
	else if ((rc = compliance_pause_get(c, campaign, &paused, &since)) < 0)
		fprintf(stderr, "smppd: %s: cannot read the pause of %s: %s\n", op_flag[op], campaign,
		    store_strerror(rc));
	else if (op == PAUSECTL_STATUS)
		exit_code = status(st, p, campaign, paused, since);
	else
		exit_code = change(cfg, st, c, op, campaign, paused, since);
	store_close(st);
	compliance_free(c);
	return exit_code;
}
