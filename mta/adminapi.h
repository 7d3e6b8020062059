/*
 * mta/adminapi: the read side of the admin API, as JSON.  No event loop:
 * the daemon's HTTP server (admin.c) answers GETs with these, and smppctl
 * calls the very same functions on a store it opened itself when smppd is
 * stopped (or with --offline), so both print the same documents.  The
 * resources and their fields are documented in docs/admin-api.md.
 *
 * Each function writes one complete JSON value into j and returns the
 * HTTP status it stands for: 200, or 400 (a bad parameter), 404 (no such
 * thing) or 500 (the store failed) with {"error": "..."} written instead.
 */
#ifndef SMPPD_MTA_ADMINAPI_H
#define SMPPD_MTA_ADMINAPI_H

#include <stdint.h>

#include "mta/json.h"
#include "store/store.h"

struct config;
struct policy;
struct compliance;

struct admin_ctx {
	const struct config *cfg;
	const struct policy *policy;    /* NULL: no policy file */
	struct store *st;
	struct compliance *c;
	int64_t now_ms;                 /* the store's clock */
};

/* Query parameters: the value of name, or NULL when absent. */
struct admin_params {
	const char *(*get)(void *arg, const char *name);
	void *arg;
};

/* {"error": fmt...}; returns status. */
int admin_error(struct json_out *j, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The members of /v1/status (queue, states, store) written into an object
 * the caller opened, so the daemon can add its binds. */
int admin_status_fields(const struct admin_ctx *x, struct json_out *j);
/* /v1/messages?campaign=&account=&state=&dst=&after=&limit= */
int admin_messages(const struct admin_ctx *x, const struct admin_params *q, struct json_out *j);
/* /v1/messages/ID: the record, its audit entries and pending receipt. */
int admin_message(const struct admin_ctx *x, const char *id, struct json_out *j);
/* /v1/campaigns: the policy's campaigns, pause state and queue depth. */
int admin_campaigns(const struct admin_ctx *x, struct json_out *j);
/* /v1/audit?recipient=&campaign=&since=&until=&limit= */
int admin_audit(const struct admin_ctx *x, const struct admin_params *q, struct json_out *j);
/* /v1/optouts?number=&after=&limit= */
int admin_optouts(const struct admin_ctx *x, const struct admin_params *q, struct json_out *j);
/* /v1/consent?number=&brand=&after=&limit= */
int admin_consents(const struct admin_ctx *x, const struct admin_params *q, struct json_out *j);
/* /v1/stats: message counts by state, store and compliance counters. */
int admin_stats(const struct admin_ctx *x, struct json_out *j);

/* A time argument in ms, or -1: Unix seconds, YYYY-MM-DD,
 * YYYY-MM-DDTHH:MM[:SS][Z] (UTC), or a duration back from now (90m, 24h,
 * 7d).  Shared with smppd --audit. */
int64_t admin_parse_time(const char *s, int64_t now_ms);
/* 1 if the audit entry matches the filters (NULL: any); numbers compare
 * by their digits. */
int admin_audit_matches(const struct store_audit *a, const char *recipient,
    const char *campaign);
/* "2026-11-28T12:30:15Z" (UTC) into out (at least 32 bytes). */
void admin_iso_time(int64_t ms, char *out, size_t cap);

#endif
