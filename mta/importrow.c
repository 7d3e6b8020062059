/*
 * One operator CSV line into a consent record or an opt-out (importrow.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mta/importrow.h"
#include "policy/policy.h"

#define CONSENT_FIELDS 8
/* A consent time may be this far ahead of our clock: the operator's
 * system and ours disagree by seconds, not by the day that a wrong time
 * zone makes (which the row should not hide as consent yet to come). */
#define CONSENT_CLOCK_SKEW_S 300

int csv_split(char *line, char **f, int max)
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

int nanp_number(const char *s, char out[12])
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

int import_line_skip(char *line, unsigned long lineno)
{
	size_t len = strlen(line);
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	return len == 0 || (lineno == 1 && strncmp(line, "number,", 7) == 0);
}

static int refuse(struct import_error *e, const char *why, const char *what)
{
	e->why = why;
	e->what = what;
	return -1;
}

static int method_of(const char *s, enum compliance_method *m)
{
	for (int i = COMPLIANCE_WEB_FORM; i <= COMPLIANCE_API; i++)
		if (strcmp(s, compliance_method_name((enum compliance_method)i)) == 0) {
			*m = (enum compliance_method)i;
			return 1;
		}
	return 0;
}

int import_brand_known(const struct policy *p, const char *brand)
{
	const char *id;
	struct policy_limits lim;
	for (unsigned i = 0; (id = policy_campaign_id(p, i)); i++)
		if (policy_campaign_limits(p, id, &lim) == 0 && strcmp(lim.brand, brand) == 0)
			return 1;
	return 0;
}

int consent_row_parse(const struct policy *p, char *line, int64_t now,
    struct compliance_consent *rec, char number[12], struct import_error *e)
{
	char *f[CONSENT_FIELDS];
	enum compliance_method method;
	struct policy_limits lim;
	int n = csv_split(line, f, CONSENT_FIELDS);
	if (n < 0)
		return refuse(e, "bad quoting or too many fields", NULL);
	if (n != CONSENT_FIELDS)
		return refuse(e, "expected 8 fields: number,brand,campaign,method,time,who,"
		    "purpose,evidence", NULL);
	if (!nanp_number(f[0], number))
		return refuse(e, "not a NANP number:", f[0]);
	if (!import_brand_known(p, f[1]))
		return refuse(e, "no such brand in the policy:", f[1]);
	if (f[2][0] && (policy_campaign_limits(p, f[2], &lim) != 0 || strcmp(lim.brand, f[1])))
		return refuse(e, "not a campaign of this brand:", f[2]);
	if (!method_of(f[3], &method))
		return refuse(e, "method must be web_form, keyword, paper or api, not", f[3]);
	char *end;
	long long t = f[4][0] ? strtoll(f[4], &end, 10) : now;
	if (f[4][0] && (*end || t <= 0 || t > now + CONSENT_CLOCK_SKEW_S))
		return refuse(e, "time must be Unix seconds, not in the future:", f[4]);
	*rec = (struct compliance_consent){ .brand = f[1], .campaign = f[2][0] ? f[2] : NULL,
		.number = number, .time = t, .method = method, .who = f[5], .purpose = f[6],
		.evidence = f[7] };
	return 0;
}

int optout_row_parse(const struct policy *p, char *line, char number[12],
    const char **brand, struct import_error *e)
{
	char *f[2];
	int n = csv_split(line, f, 2);
	if (n < 0)
		return refuse(e, "bad quoting or too many fields", NULL);
	if (!nanp_number(f[0], number))
		return refuse(e, "not a NANP number:", f[0]);
	*brand = n == 2 && f[1][0] ? f[1] : NULL;
	if (*brand && p && !import_brand_known(p, *brand))
		return refuse(e, "no such brand in the policy:", *brand);
	return 0;
}
