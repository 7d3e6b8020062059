/* importrow: operator CSV rows (consent, opt-outs) against the shipped
 * policy, and the admin API's time arguments. */
#include "tests/unit.h"
#include "mta/adminapi.h"
#include "mta/importrow.h"
#include "policy/policy.h"

#ifndef SMPPD_SOURCE_ROOT
#define SMPPD_SOURCE_ROOT "."
#endif

#define NOW 1800000000

static struct policy *pol;

static const char *consent_why(const char *row)
{
	static char line[IMPORT_LINE_MAX];
	char number[12];
	struct compliance_consent rec;
	struct import_error e;
	snprintf(line, sizeof(line), "%s", row);
	return consent_row_parse(pol, line, NOW, &rec, number, &e) == 0 ? NULL : e.why;
}

static void test_split(void)
{
	char line[] = "a,\"b, c\",\"say \"\"hi\"\"\",,e";
	char *f[8];
	CHECK_EQ_INT(csv_split(line, f, 8), 5);
	CHECK_EQ_STR(f[1], "b, c");
	CHECK_EQ_STR(f[2], "say \"hi\"");
	CHECK_EQ_STR(f[3], "");
	char unterminated[] = "a,\"b";
	CHECK_EQ_INT(csv_split(unterminated, f, 8), -1);
	char junk[] = "\"a\"b,c";
	CHECK_EQ_INT(csv_split(junk, f, 8), -1);
	char many[] = "1,2,3";
	CHECK_EQ_INT(csv_split(many, f, 2), -1);
}

static void test_numbers_and_lines(void)
{
	char out[12];
	CHECK(nanp_number("+12025550100", out) && strcmp(out, "12025550100") == 0);
	CHECK(nanp_number("12025550100", out));
	CHECK(!nanp_number("2025550100", out));
	CHECK(!nanp_number("11025550100", out));   /* area code starts 1 */
	CHECK(!nanp_number("12021550100", out));   /* exchange starts 1 */
	CHECK(!nanp_number("1202555010x", out));
	char a[] = "number,brand\r\n", b[] = "\n", c[] = "12025550100,\r\n";
	CHECK(import_line_skip(a, 1));
	CHECK(import_line_skip(b, 7));
	CHECK(!import_line_skip(c, 1));
	CHECK_EQ_STR(c, "12025550100,");
	char d[] = "number,brand";
	CHECK(!import_line_skip(d, 2)); /* a header only on line 1 */
}

static void test_consent_rows(void)
{
	char line[] = "+12025550100,Acme Bank,CACMEACCT,paper,1700000000,ops,alerts,\"scan 1, p2\"";
	char number[12];
	struct compliance_consent rec;
	struct import_error e;
	CHECK_EQ_INT(consent_row_parse(pol, line, NOW, &rec, number, &e), 0);
	CHECK_EQ_STR(rec.number, "12025550100");
	CHECK_EQ_STR(rec.brand, "Acme Bank");
	CHECK_EQ_STR(rec.campaign, "CACMEACCT");
	CHECK_EQ_INT(rec.method, COMPLIANCE_PAPER);
	CHECK_EQ_INT(rec.time, 1700000000);
	CHECK_EQ_STR(rec.evidence, "scan 1, p2");
	char brandwide[] = "12025550100,Acme Bank,,api,,,,";
	CHECK_EQ_INT(consent_row_parse(pol, brandwide, NOW, &rec, number, &e), 0);
	CHECK(rec.campaign == NULL && rec.time == NOW);
	CHECK(strstr(consent_why("12025550100,Acme Bank"), "expected 8 fields"));
	CHECK(strstr(consent_why("555,Acme Bank,,api,,,,"), "NANP"));
	CHECK(strstr(consent_why("12025550100,Nobody,,api,,,,"), "no such brand"));
	CHECK(strstr(consent_why("12025550100,Acme Bank,CZINGMKT,api,,,,"), "not a campaign of this brand"));
	CHECK(strstr(consent_why("12025550100,Acme Bank,,fax,,,,"), "method"));
	CHECK(strstr(consent_why("12025550100,Acme Bank,,api,soon,,,"), "Unix seconds"));
	CHECK(strstr(consent_why("12025550100,Acme Bank,,api,1900000000,,,"), "future"));
	/* clock difference is tolerated for 5 minutes, not for a day */
	char row[96];
	snprintf(row, sizeof row, "12025550100,Acme Bank,,api,%lld,,,", (long long)NOW + 300);
	CHECK_EQ_INT(consent_row_parse(pol, row, NOW, &rec, number, &e), 0);
	CHECK_EQ_INT(rec.time, NOW + 300);
	snprintf(row, sizeof row, "12025550100,Acme Bank,,api,%lld,,,", (long long)NOW + 301);
	CHECK(strstr(consent_why(row), "future"));
	snprintf(row, sizeof row, "12025550100,Acme Bank,,api,%lld,,,", (long long)NOW + 43200);
	CHECK(strstr(consent_why(row), "future"));
	CHECK(strstr(consent_why("12025550100,\"Acme Bank,,api,,,,"), "quoting"));
}

static void test_optout_rows(void)
{
	char number[12];
	const char *brand;
	struct import_error e;
	char a[] = "+12025550100,Zing Coffee", b[] = "12025550100,", c[] = "12025550100";
	char d[] = "12025550100,Nobody", f[] = "x,", g[] = "12025550100,a,b";
	CHECK_EQ_INT(optout_row_parse(pol, a, number, &brand, &e), 0);
	CHECK_EQ_STR(brand, "Zing Coffee");
	CHECK_EQ_INT(optout_row_parse(pol, b, number, &brand, &e), 0);
	CHECK(brand == NULL);
	CHECK_EQ_INT(optout_row_parse(pol, c, number, &brand, &e), 0);
	CHECK(brand == NULL && strcmp(number, "12025550100") == 0);
	CHECK_EQ_INT(optout_row_parse(pol, d, number, &brand, &e), -1);
	CHECK(strstr(e.why, "brand") && strcmp(e.what, "Nobody") == 0);
	CHECK_EQ_INT(optout_row_parse(pol, f, number, &brand, &e), -1);
	CHECK_EQ_INT(optout_row_parse(pol, g, number, &brand, &e), -1);
	CHECK(import_brand_known(pol, "Acme Bank") && !import_brand_known(pol, "Acme"));
}

static void test_times(void)
{
	int64_t now = 1800000000000LL;
	CHECK_EQ_INT(admin_parse_time("1700000000", now), 1700000000000LL);
	CHECK_EQ_INT(admin_parse_time("90m", now), now - 90 * 60000LL);
	CHECK_EQ_INT(admin_parse_time("7d", now), now - 7 * 86400000LL);
	CHECK_EQ_INT(admin_parse_time("2026-11-28", now), 1795824000000LL);
	CHECK_EQ_INT(admin_parse_time("2026-11-28T12:30:15Z", now), 1795824000000LL + 45015000LL);
	CHECK_EQ_INT(admin_parse_time("2026-11-28T12:30", now), 1795824000000LL + 45000000LL);
	static const char *const bad[] = { "", "yesterday", "2026-13-01", "2026-11-28T25:00",
		"2026-11-28X", "5w", "-5m", "99999999999999999999d", "1969-12-31" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!CHECK(admin_parse_time(bad[i], now) == -1))
			printf("#   accepted: %s\n", bad[i]);
	struct store_audit a = { .campaign = "C1", .recipient = "12025550100" };
	CHECK(admin_audit_matches(&a, "+1 (202) 555-0100", "C1"));
	CHECK(!admin_audit_matches(&a, "12025550101", NULL));
	CHECK(!admin_audit_matches(&a, NULL, "C2"));
	CHECK(admin_audit_matches(&a, NULL, NULL));
}

int main(void)
{
	char path[1024], err[512];
	snprintf(path, sizeof(path), "%s/conf/policy.yaml", SMPPD_SOURCE_ROOT);
	if (policy_load(path, &pol, err, sizeof(err)) != 0) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	RUN(test_split);
	RUN(test_numbers_and_lines);
	RUN(test_consent_rows);
	RUN(test_optout_rows);
	RUN(test_times);
	policy_unref(pol);
	return unit_done();
}
