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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mta/adminapi.h"
#include "mta/relay.h"
#include "store/store.h"

struct audit_query {
	const char *recipient, *campaign;
	int64_t from_ms, to_ms;
	int json;
	unsigned long shown;
};

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

static int show_entry(const struct store_audit *a, void *arg)
{
	struct audit_query *q = arg;
	char when[32], id[STORE_MSGID_LEN + 1] = "-";
	if (!admin_audit_matches(a, q->recipient, q->campaign))
		return 0;
	admin_iso_time(a->time_ms, when, sizeof when);
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
	if (args->since && (q.from_ms = admin_parse_time(args->since, now)) < 0) {
		fprintf(stderr, "smppd: --since: bad time \"%s\": give Unix seconds, YYYY-MM-DD, "
		    "YYYY-MM-DDTHH:MM[:SS]Z or a duration back from now (24h, 7d)\n", args->since);
		return 2;
	}
	if (args->until && (q.to_ms = admin_parse_time(args->until, now)) < 0) {
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
