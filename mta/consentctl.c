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
#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mta/compliance.h"
#include "mta/relay.h"
#include "policy/policy.h"
#include "store/store.h"

#define BATCH 1000
#define FIELDS 8
#define LINE_MAX_LEN 4096

struct importer {
	struct store *st;
	struct compliance *c;
	const struct policy *p;
	unsigned long accepted, rejected, line;
	unsigned pending;
	int sync_tag, synced;
};

/* Splits a CSV line in place; returns the number of fields or -1. */
static int split_csv(char *line, char **f, int max)
{
	int n = 0;
	char *r = line, *w = line;
	while (n < max) {
		f[n++] = w;
		if (*r == '"') {
			for (r++;; r++) {
				if (*r == '\0')
					return -1; /* unterminated quote */
				if (*r == '"' && r[1] == '"')
					*w++ = *r++;
				else if (*r == '"')
					break;
				else
					*w++ = *r;
			}
			r++;
		} else {
			while (*r && *r != ',')
				*w++ = *r++;
		}
		if (*r == '\0') {
			*w = '\0';
			return n;
		}
		if (*r != ',')
			return -1;
		*w++ = '\0';
		r++;
	}
	return -1; /* too many fields */
}

static int nanp(const char *s, char *out)
{
	if (*s == '+')
		s++;
	if (strlen(s) != 11 || s[0] != '1' || s[1] < '2' || s[4] < '2')
		return 0;
	for (int i = 0; i < 11; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	memcpy(out, s, 12);
	return 1;
}

static int method_of(const char *s, enum compliance_method *m)
{
	static const char *const names[] = { "web_form", "keyword", "paper", "api" };
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*m = (enum compliance_method)i;
			return 1;
		}
	return 0;
}

/* Any campaign of the policy names this brand. */
static int brand_known(const struct policy *p, const char *brand)
{
	const char *id;
	struct policy_limits lim;
	for (unsigned i = 0; (id = policy_campaign_id(p, i)); i++)
		if (policy_campaign_limits(p, id, &lim) == 0 && strcmp(lim.brand, brand) == 0)
			return 1;
	return 0;
}

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
	char *f[FIELDS], number[12];
	enum compliance_method method;
	int n = split_csv(line, f, FIELDS);
	if (n != FIELDS) {
		bad(im, n < 0 ? "bad quoting or too many fields" : "expected 8 fields: "
		    "number,brand,campaign,method,time,who,purpose,evidence", NULL);
		return;
	}
	if (!nanp(f[0], number)) {
		bad(im, "not a NANP number:", f[0]);
		return;
	}
	if (!brand_known(im->p, f[1])) {
		bad(im, "no such brand in the policy:", f[1]);
		return;
	}
	struct policy_limits lim;
	if (f[2][0] && (policy_campaign_limits(im->p, f[2], &lim) != 0 || strcmp(lim.brand, f[1]))) {
		bad(im, "not a campaign of this brand:", f[2]);
		return;
	}
	if (!method_of(f[3], &method)) {
		bad(im, "method must be web_form, keyword, paper or api, not", f[3]);
		return;
	}
	char *end;
	long long t = f[4][0] ? strtoll(f[4], &end, 10) : now;
	if (f[4][0] && (*end || t <= 0 || t > now + 86400)) {
		bad(im, "time must be Unix seconds, not in the future:", f[4]);
		return;
	}
	struct compliance_consent rec = { .brand = f[1], .campaign = f[2][0] ? f[2] : NULL,
		.number = number, .time = t, .method = method, .who = f[5], .purpose = f[6],
		.evidence = f[7] };
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
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || (im.line == 1 && strncmp(line, "number,", 7) == 0))
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
