/*
 * smppd -c FILE --audit [--recipient N] [--campaign ID] [--since T]
 * [--until T] [--json]: the audit log (every decision that was not a
 * plain accept) listed for an operator, filtered by recipient, campaign
 * and time range.  Works whether or not the daemon runs: the store is
 * opened attached (no recovery) and only read.
 *
 * Times: Unix seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z] (UTC), or a
 * duration back from now ("90m", "24h", "7d").  Default: the last 24 h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mta/relay.h"
#include "store/store.h"

struct audit_query {
	const char *recipient, *campaign;
	int64_t from_ms, to_ms;
	int json;
	unsigned long shown;
};

/* Digits of a number, '+' and punctuation dropped, for comparing. */
static void digits(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	for (; s && *s && n + 1 < cap; s++)
		if (isdigit((unsigned char)*s))
			out[n++] = *s;
	out[n] = '\0';
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* "2026-11-28", "2026-11-28T12:30[:15][Z]": Unix seconds, or -1. */
static int64_t parse_date(const char *s)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, used = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3)
		return -1;
	const char *rest = s + used;
	if (*rest == 'T' || *rest == ' ') {
		int n2 = 0;
		if (sscanf(rest + 1, "%2d:%2d%n", &h, &mi, &n2) != 2)
			return -1;
		rest += 1 + n2;
		if (*rest == ':') {
			int n3 = 0;
			if (sscanf(rest + 1, "%2d%n", &sec, &n3) != 1)
				return -1;
			rest += 1 + n3;
		}
	}
	if (*rest == 'Z')
		rest++;
	if (*rest || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
}

/* A time argument in ms, or -1 with nothing printed. */
static int64_t parse_time(const char *s, int64_t now_ms)
{
	char *end;
	if (!*s)
		return -1;
	long long v = strtoll(s, &end, 10);
	if (isdigit((unsigned char)*s) && v >= 0) {
		static const struct { const char *unit; int64_t ms; } units[] = {
			{ "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
		};
		if (*end == '\0' && v > 100000000)
			return (int64_t)v * 1000; /* Unix seconds */
		for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
			if (strcmp(end, units[i].unit) == 0)
				return now_ms - (int64_t)v * units[i].ms;
	}
	int64_t t = parse_date(s);
	return t < 0 ? -1 : t * 1000;
}

static void print_json_string(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void iso_time(int64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, cap, "%lld", (long long)ms);
}

static int show_entry(const struct store_audit *a, void *arg)
{
	struct audit_query *q = arg;
	char want[32], have[32], when[32], id[STORE_MSGID_LEN + 1] = "-";
	if (q->campaign && strcmp(q->campaign, a->campaign ? a->campaign : "") != 0)
		return 0;
	if (q->recipient) {
		digits(q->recipient, want, sizeof want);
		digits(a->recipient, have, sizeof have);
		if (strcmp(want, have) != 0)
			return 0;
	}
	iso_time(a->time_ms, when, sizeof when);
	if (a->msg_id)
		store_msgid_format(a->msg_id, id);
	q->shown++;
	if (!q->json) {
		printf("%-20s  %-16s  %-10s  %-12s  %-12s  %-22s  %s\n", when, id,
		    a->account && *a->account ? a->account : "-",
		    a->campaign && *a->campaign ? a->campaign : "-",
		    a->recipient && *a->recipient ? a->recipient : "-", a->rule ? a->rule : "-",
		    a->reason ? a->reason : "");
		return 0;
	}
	printf("{\"time\":\"%s\",\"message_id\":", when);
	print_json_string(a->msg_id ? id : "");
	const char *names[] = { "account", "campaign", "recipient", "rule", "reason" };
	const char *vals[] = { a->account, a->campaign, a->recipient, a->rule, a->reason };
	for (int i = 0; i < 5; i++) {
		printf(",\"%s\":", names[i]);
		print_json_string(vals[i] ? vals[i] : "");
	}
	puts("}");
	return 0;
}

int auditctl_main(const struct config *cfg, const struct auditctl_args *args)
{
	int64_t now = relay_wall_ms();
	struct audit_query q = { .recipient = args->recipient, .campaign = args->campaign,
		.from_ms = now - 86400000, .to_ms = now + 1, .json = args->json };
	if (args->since && (q.from_ms = parse_time(args->since, now)) < 0) {
		fprintf(stderr, "smppd: --since: bad time \"%s\": give Unix seconds, YYYY-MM-DD, "
		    "YYYY-MM-DDTHH:MM[:SS]Z or a duration back from now (24h, 7d)\n", args->since);
		return 2;
	}
	if (args->until && (q.to_ms = parse_time(args->until, now)) < 0) {
		fprintf(stderr, "smppd: --until: bad time \"%s\": give Unix seconds, YYYY-MM-DD, "
		    "YYYY-MM-DDTHH:MM[:SS]Z or a duration back from now (24h, 7d)\n", args->until);
		return 2;
	}
	if (q.to_ms <= q.from_ms) {
		fprintf(stderr, "smppd: --audit: the range ends before it begins\n");
		return 2;
	}
	struct store *st = opctl_store_attach(cfg, 16, "--audit");
	if (!st)
		return 1;
	if (!q.json)
		printf("%-20s  %-16s  %-10s  %-12s  %-12s  %-22s  %s\n", "TIME (UTC)", "MESSAGE",
		    "ACCOUNT", "CAMPAIGN", "RECIPIENT", "RULE", "REASON");
	int rc = store_audit_range(st, q.from_ms, q.to_ms, show_entry, &q);
	store_close(st);
	if (rc < 0) {
		fprintf(stderr, "smppd: --audit: reading the audit log: %s\n", store_strerror(rc));
		return 1;
	}
	if (q.shown == 0)
		fprintf(stderr, "smppd: no audit entries match\n");
	return 0;
}
