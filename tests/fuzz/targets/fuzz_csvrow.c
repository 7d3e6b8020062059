/*
 * Operator CSV lines (consent and opt-out imports): arbitrary bytes as one
 * line, through each parser the imports use.  A row taken must carry a
 * NANP number and a brand of the policy; a row refused must say why.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mta/importrow.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1764000000 /* 2025-11-24, a fixed clock */

static struct policy *policy(void)
{
	static struct policy *pol;
	char path[1024], err[512];

	if (pol)
		return pol;
	snprintf(path, sizeof path, "%s/conf/policy.yaml", SMPPD_SOURCE_ROOT);
	if (policy_load(path, &pol, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz-csvrow: %s\n", err);
		abort();
	}
	return pol;
}

static void check_number(const char number[12])
{
	if (strlen(number) != 11 || number[0] != '1')
		abort();
	for (int i = 0; i < 11; i++)
		if (!isdigit((unsigned char)number[i]))
			abort();
}

/* The line as the importers hold it: NUL-terminated, at most a line. */
static void line_of(const uint8_t *data, size_t size, char *line)
{
	size_t n = size < IMPORT_LINE_MAX - 1 ? size : IMPORT_LINE_MAX - 1;

	memcpy(line, data, n);
	line[n] = '\0';
}

static void split(const uint8_t *data, size_t size)
{
	char line[IMPORT_LINE_MAX], *f[8];
	char number[12];
	size_t len;
	int n;

	line_of(data, size, line);
	len = strlen(line);
	n = csv_split(line, f, 8);
	if (n < -1 || n == 0 || n > 8)
		abort();
	for (int i = 0; i < n; i++) {
		if (f[i] < line || f[i] + strlen(f[i]) > line + len)
			abort(); /* fields are rewritten in place, never longer */
		if (nanp_number(f[i], number))
			check_number(number);
	}
}

static void consent(const uint8_t *data, size_t size)
{
	char line[IMPORT_LINE_MAX], number[12];
	struct compliance_consent rec;
	struct import_error e = { NULL, NULL };

	line_of(data, size, line);
	if (import_line_skip(line, 2))
		return;
	if (consent_row_parse(policy(), line, NOW, &rec, number, &e) != 0) {
		if (e.why == NULL)
			abort();
		return;
	}
	check_number(rec.number);
	if (!import_brand_known(policy(), rec.brand) || rec.time <= 0 ||
	    rec.time > NOW + 300 || !rec.who || !rec.purpose || !rec.evidence)
		abort();
}

static void optout(const uint8_t *data, size_t size, const struct policy *p)
{
	char line[IMPORT_LINE_MAX], number[12];
	const char *brand = NULL;
	struct import_error e = { NULL, NULL };

	line_of(data, size, line);
	if (import_line_skip(line, 1))
		return;
	if (optout_row_parse(p, line, number, &brand, &e) != 0) {
		if (e.why == NULL)
			abort();
		return;
	}
	check_number(number);
	if (brand && p && !import_brand_known(p, brand))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	split(data, size);
	consent(data, size);
	optout(data, size, policy());
	optout(data, size, NULL);
	return 0;
}
