/*
 * smppd -c FILE --consent-import CSV: consent records from a file, streamed
 * (one line in memory at a time) and committed in batches of BATCH rows,
 * each batch one group commit.  Works while the daemon runs (the store is
 * opened attached; the daemon reads consent from the store on each check).
 *
 * Columns: number,brand,campaign,method,time,who,purpose,evidence
 *   number   +1NXXNXXXXXX or 1NXXNXXXXXX
 *   brand    a brand of the policy
 *   campaign empty for the whole brand, else one of the brand's campaigns
 *   method   web_form, keyword, paper or api
 *   time     Unix seconds when consent was given; empty: now
 * A first line starting with "number," is a header.  Fields may be quoted
 * ("a, b" and "" for a quote).  Bad rows are reported with their line
 * number and skipped; the others are stored.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mta/compliance.h"
#include "mta/importrow.h"
#include "mta/relay.h"
#include "policy/policy.h"
#include "store/store.h"

#define BATCH 1000
#define LINE_MAX_LEN IMPORT_LINE_MAX

struct importer {
	struct store *st;
	struct compliance *c;
	const struct policy *p;
	unsigned long accepted, rejected, line;
	unsigned pending;
	int sync_tag, synced;
};

static void bad(struct importer *im, const char *why, const char *what)
{
	fprintf(stderr, "smppd: --consent-import: line %lu: %s%s%s%s\n", im->line, why,
	    what ? " \"" : "", what ? what : "", what ? "\"" : "");
	im->rejected++;
}

static void route(const struct store_completion *sc, void *arg)
{
	struct importer *im = arg;
	if (sc->cookie == &im->sync_tag)
		im->synced = 1;
	else if (compliance_owns_cookie(im->c, sc->cookie))
		compliance_completion(im->c, sc);
}

/* Waits for everything submitted so far: one batch, one commit. */
static int flush_batch(struct importer *im)
{
	struct store_op op = { .kind = STORE_OP_KV_PUT, .cookie = &im->sync_tag,
	    .u.kv = { .key = "pace\0import", .klen = 11, .val = "1", .vlen = 1 } };
	struct pollfd pfd = { .fd = store_notify_fd(im->st), .events = POLLIN };
	im->synced = 0;
	if (store_submit(im->st, &op, 1) != 0)
		return -1;
	for (int waited = 0; !im->synced && waited < 30000; waited += 100)
		if (poll(&pfd, 1, 100) > 0)
			store_drain_completions(im->st, route, im);
	im->pending = 0;
	return im->synced ? 0 : -1;
}

static void import_row(struct importer *im, char *line, int64_t now)
{
	char number[12];
	struct compliance_consent rec;
	struct import_error e;
	if (consent_row_parse(im->p, line, now, &rec, number, &e) < 0) {
		bad(im, e.why, e.what);
		return;
	}
	if (compliance_consent_add(im->c, &rec) < 0) {
		bad(im, "the store refused the record", NULL);
		return;
	}
	im->accepted++;
	if (++im->pending >= BATCH && flush_batch(im) != 0)
		bad(im, "the store did not commit a batch", NULL);
}

int consentctl_import(const struct config *cfg, const struct policy *p, const char *path)
{
	if (!p) {
		fprintf(stderr, "smppd: --consent-import: %s names no policy file\n", cfg->path);
		return 1;
	}
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!in) {
		perror(path);
		return 1;
	}
	struct importer im = { .p = p };
	im.st = opctl_store_attach(cfg, BATCH + 16, "--consent-import");
	if (!im.st) {
		if (in != stdin)
			fclose(in);
		return 1;
	}
	struct compliance_config cc = { .cache_slots = 1 };
	im.c = compliance_new(im.st, &cc);
	int64_t now = relay_wall_ms() / 1000;
	char line[LINE_MAX_LEN];
	while (im.c && fgets(line, sizeof line, in)) {
		im.line++;
		size_t len = strlen(line);
		if (len == sizeof line - 1 && line[len - 1] != '\n') {
			bad(&im, "line longer than 4095 bytes", NULL);
			int ch;
			while ((ch = fgetc(in)) != EOF && ch != '\n')
				;
			continue;
		}
		if (import_line_skip(line, im.line))
			continue;
		import_row(&im, line, now);
	}
	int ok = im.c && flush_batch(&im) == 0;
	compliance_free(im.c);
	store_close(im.st);
	if (in != stdin)
		fclose(in);
	printf("smppd: --consent-import: %lu rows stored, %lu rejected\n", im.accepted, im.rejected);
	return ok && im.rejected == 0 ? 0 : 1;
}
