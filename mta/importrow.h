/*
 * mta/importrow: one line of an operator's CSV (consent records, opt-outs)
 * checked and turned into a record.  Pure: the same rules for `smppd
 * --consent-import`, the admin API's batch imports (smppctl consent|optout
 * import) and the unit tests.  Lines are parsed in place.
 *
 * Consent: number,brand,campaign,method,time,who,purpose,evidence
 *   number   +1NXXNXXXXXX or 1NXXNXXXXXX
 *   brand    a brand of the policy
 *   campaign empty for the whole brand, else one of the brand's campaigns
 *   method   web_form, keyword, paper or api
 *   time     Unix seconds when consent was given, not in the future (5 minutes
 *            of clock difference allowed); empty: now
 * Opt-out: number,brand (brand empty: every brand, a global opt-out)
 * Fields may be quoted ("a, b", "" for a quote).  A first line starting
 * with "number," is a header.
 */
#ifndef SMPPD_MTA_IMPORTROW_H
#define SMPPD_MTA_IMPORTROW_H

#include <stddef.h>
#include <stdint.h>

#include "mta/compliance.h"

struct policy;

#define IMPORT_LINE_MAX 4096        /* bytes of one line, newline included */

/* Splits a CSV line in place into at most max fields: the count, or -1
 * (bad quoting, or more than max fields). */
int csv_split(char *line, char **f, int max);

/* A NANP number in E.164 digits (11, no '+') into out, or 0 if not one. */
int nanp_number(const char *s, char out[12]);

/* 1 if a campaign of the policy names this brand. */
int import_brand_known(const struct policy *p, const char *brand);

/* Why a row was refused: a sentence, and the offending value or NULL. */
struct import_error {
	const char *why;
	const char *what;
};

/* Trailing CR/LF dropped; 1 if the line is to be skipped (empty, or the
 * header on line 1). */
int import_line_skip(char *line, unsigned long lineno);

/* 0 and rec filled (strings point into line and number), or -1. */
int consent_row_parse(const struct policy *p, char *line, int64_t now,
    struct compliance_consent *rec, char number[12], struct import_error *e);

/* 0 with the number and brand (NULL: global; points into line), or -1.
 * A brand must be one of the policy's (p NULL: any). */
int optout_row_parse(const struct policy *p, char *line, char number[12],
    const char **brand, struct import_error *e);

#endif
