/*
 * Delivery receipts: text variants seen from real SMSCs, format round
 * trips, TLV merging and message id keys.
 */
#include <limits.h>
#include <stdlib.h>

#include "smpp/receipt.h"
#include "tests/unit.h"

static int parse(const char *s, struct smpp_receipt *r)
{
	return smpp_receipt_parse(s, strlen(s), r);
}

/* The text as a NUL-terminated copy, for CHECK_EQ_STR. */
static const char *text_of(const struct smpp_receipt *r)
{
	static char buf[256];
	size_t n = r->text_len < sizeof buf - 1 ? r->text_len : sizeof buf - 1;

	if (!r->text)
		return "(none)";
	memcpy(buf, r->text, n);
	buf[n] = '\0';
	return buf;
}

static void check_date(const struct smpp_receipt_time *t, int y, int mo,
    int d, int h, int mi, int s)
{
	CHECK(t->valid);
	CHECK_EQ_INT(t->year, y);
	CHECK_EQ_INT(t->month, mo);
	CHECK_EQ_INT(t->day, d);
	CHECK_EQ_INT(t->hour, h);
	CHECK_EQ_INT(t->minute, mi);
	CHECK_EQ_INT(t->second, s);
}

static void test_appendix_b(void)
{
	struct smpp_receipt r;
	int rc = parse("id:0123456789 sub:001 dlvrd:001 submit date:2403151230 "
	    "done date:2403151231 stat:DELIVRD err:000 text:Hello world", &r);

	CHECK_EQ_INT(rc, SMPP_RECEIPT_OK);
	CHECK_EQ_STR(r.id, "0123456789");
	CHECK_EQ_INT(r.sub, 1);
	CHECK_EQ_INT(r.dlvrd, 1);
	check_date(&r.submit_date, 2024, 3, 15, 12, 30, -1);
	check_date(&r.done_date, 2024, 3, 15, 12, 31, -1);
	CHECK_EQ_INT(r.stat, SMPP_STAT_DELIVRD);
	CHECK_EQ_STR(r.stat_raw, "DELIVRD");
	CHECK_EQ_INT(r.err, 0);
	CHECK_EQ_STR(r.err_raw, "000");
	CHECK_EQ_STR(text_of(&r), "Hello world");
	CHECK_EQ_INT(r.tlv, 0);
}

/* Kannel's fake-SMSC / generic style, uppercase Text and seconds. */
static void test_kannel_style(void)
{
	struct smpp_receipt r;
	int rc = parse("id:4294967295 sub:001 dlvrd:000 submit date:240229235959 "
	    "done date:240301000001 stat:UNDELIV err:034 Text:Your code: 1234", &r);

	CHECK_EQ_INT(rc, SMPP_RECEIPT_OK);
	CHECK_EQ_STR(r.id, "4294967295");
	check_date(&r.submit_date, 2024, 2, 29, 23, 59, 59);
	check_date(&r.done_date, 2024, 3, 1, 0, 0, 1);
	CHECK_EQ_INT(r.stat, SMPP_STAT_UNDELIV);
	CHECK_EQ_INT(r.err, 34);
	CHECK_EQ_STR(text_of(&r), "Your code: 1234");
}

/* Jasmin sends a UUID and often a stat in long form. */
static void test_jasmin_style(void)
{
	struct smpp_receipt r;
	int rc = parse("id:2d5ab4a2-3a35-4b4c-9a3e-8f5b6a4e2c11 sub:001 dlvrd:001 "
	    "submit date:2405011200 done date:2405011201 stat:DELIVERED err:000 "
	    "text:-", &r);

	CHECK_EQ_INT(rc, SMPP_RECEIPT_OK);
	CHECK_EQ_STR(r.id, "2d5ab4a2-3a35-4b4c-9a3e-8f5b6a4e2c11");
	CHECK_EQ_INT(r.stat, SMPP_STAT_DELIVRD);
	CHECK_EQ_STR(r.stat_raw, "DELIVERED");
}

/* Hex id, capitalised names, no text, extra spaces, other order. */
static void test_clickatell_like(void)
{
	struct smpp_receipt r;
	int rc = parse("  Stat:Delivrd   Id:0x5F3A9C01BE  Sub:1 Dlvrd:1  "
	    "Submit Date:2312312359 Done Date:2401010000  Err:0\r\n", &r);

	CHECK_EQ_INT(rc, SMPP_RECEIPT_OK);
	CHECK_EQ_STR(r.id, "0x5F3A9C01BE");
	CHECK_EQ_INT(r.stat, SMPP_STAT_DELIVRD);
	CHECK_EQ_INT(r.sub, 1);
	check_date(&r.submit_date, 2023, 12, 31, 23, 59, -1);
	check_date(&r.done_date, 2024, 1, 1, 0, 0, -1);
	CHECK_EQ_INT(r.err, 0);
	CHECK(r.text == NULL);
}

static void test_variants(void)
{
	struct smpp_receipt r;

	/* underscores, space before the colon, 14-digit dates */
	CHECK_EQ_INT(parse("id : 77 submit_date:20240102030405 done_date :"
	    "2401020304 stat : EXPIRED", &r), SMPP_RECEIPT_OK);
	CHECK_EQ_STR(r.id, "77");
	check_date(&r.submit_date, 2024, 1, 2, 3, 4, 5);
	CHECK_EQ_INT(r.done_date.valid, 1);
	CHECK_EQ_INT(r.stat, SMPP_STAT_EXPIRED);
	CHECK_EQ_INT(r.sub, -1);
	CHECK_EQ_INT(r.dlvrd, -1);
	CHECK_EQ_INT(r.err, -1);
	CHECK_EQ_STR(r.err_raw, "");

	/* a non-numeric err is kept raw; unknown vendor fields are skipped */
	CHECK_EQ_INT(parse("id:abc imsi:310150123456789 stat:REJECTD err:X12 "
	    "mccmnc:310150 text:", &r), SMPP_RECEIPT_OK);
	CHECK_EQ_INT(r.stat, SMPP_STAT_REJECTD);
	CHECK_EQ_INT(r.err, -1);
	CHECK_EQ_STR(r.err_raw, "X12");
	CHECK(r.text != NULL);
	CHECK_EQ_INT(r.text_len, 0);

	/* an err too big for an int is raw; a cut raw is marked */
	parse("id:1 stat:DELIVRD err:99999999999", &r);
	CHECK_EQ_INT(r.err, -1);
	CHECK_EQ_STR(r.err_raw, "99999999999");
	parse("id:1 stat:DELIVRD err:00000000000000000000004099276460824344802", &r);
	CHECK_EQ_INT(r.err, -1);
	CHECK_EQ_STR(r.err_raw, "00000000000000+");

	/* an unknown stat word is OTHER, with the word kept */
	CHECK_EQ_INT(parse("id:1 stat:FAILED", &r), SMPP_RECEIPT_OK);
	CHECK_EQ_INT(r.stat, SMPP_STAT_OTHER);
	CHECK_EQ_STR(r.stat_raw, "FAILED");

	/* every stat word, any case */
	static const char *words[] = { "delivrd", "Expired", "DELETED",
		"undeliv", "ACCEPTD", "unknown", "REJECTD", "enroute" };
	for (int i = 0; i < 8; i++) {
		char buf[64];
		snprintf(buf, sizeof buf, "id:9 stat:%s", words[i]);
		parse(buf, &r);
		CHECK_EQ_INT(r.stat, SMPP_STAT_DELIVRD + i);
	}
}

/* The message content is the sender's: it must not override fields. */
static void test_text_cannot_spoof(void)
{
	struct smpp_receipt r;

	CHECK_EQ_INT(parse("id:1 stat:UNDELIV err:001 text:stat:DELIVRD id:2", &r),
	    SMPP_RECEIPT_OK);
	CHECK_EQ_STR(r.id, "1");
	CHECK_EQ_INT(r.stat, SMPP_STAT_UNDELIV);
	CHECK_EQ_STR(text_of(&r), "stat:DELIVRD id:2");

	/* stat only after the text: it is text, so there is no stat */
	CHECK_EQ_INT(parse("id:1 text:hi stat:DELIVRD", &r), SMPP_RECEIPT_ENOSTAT);

	/* first occurrence wins */
	parse("id:1 stat:EXPIRED stat:DELIVRD", &r);
	CHECK_EQ_INT(r.stat, SMPP_STAT_EXPIRED);
}

static void test_empty_values(void)
{
	struct smpp_receipt r;

	CHECK_EQ_INT(parse("id: stat:DELIVRD", &r), SMPP_RECEIPT_ENOID);
	CHECK_EQ_INT(parse("id:5 stat: err:", &r), SMPP_RECEIPT_ENOSTAT);
	CHECK_EQ_INT(parse("id:5 stat:DELIVRD err: text:x", &r), SMPP_RECEIPT_OK);
	CHECK_EQ_INT(r.err, -1);
	CHECK_EQ_STR(text_of(&r), "x");
}

static void test_bad_dates(void)
{
	static const char *bad[] = {
		"2413011200",   /* month 13 */
		"2400011200",   /* month 0 */
		"2302291200",   /* 29 Feb, not a leap year */
		"2404311200",   /* 31 April */
		"2401012400",   /* hour 24 */
		"2401011260",   /* minute 60 */
		"240101120060", /* second 60 */
		"24010112",     /* too short */
		"24010112000",  /* 11 digits */
		"24O1011200",   /* letter O */
		"-401011200",
	};
	struct smpp_receipt r;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char buf[80];
		snprintf(buf, sizeof buf, "id:1 submit date:%s stat:DELIVRD", bad[i]);
		CHECK_EQ_INT(parse(buf, &r), SMPP_RECEIPT_OK);
		CHECK_EQ_INT(r.submit_date.valid, 0);
	}
	parse("id:1 done date:0002291200 stat:DELIVRD", &r);
	check_date(&r.done_date, 2000, 2, 29, 12, 0, -1); /* 2000 is leap */
}

static void test_not_receipts(void)
{
	struct smpp_receipt r;

	CHECK_EQ_INT(smpp_receipt_parse("", 0, &r), SMPP_RECEIPT_ENOID);
	CHECK_EQ_INT(smpp_receipt_parse(NULL, 0, &r), SMPP_RECEIPT_ENOID);
	CHECK_EQ_INT(parse("Hello, your code is 1234", &r), SMPP_RECEIPT_ENOID);
	CHECK_EQ_INT(parse("STOP", &r), SMPP_RECEIPT_ENOID);
	CHECK_EQ_INT(parse("id:123 sub:001", &r), SMPP_RECEIPT_ENOSTAT);
	CHECK_EQ_STR(r.id, "123");
	CHECK_EQ_INT(parse("stat:DELIVRD", &r), SMPP_RECEIPT_ENOID);
	CHECK_EQ_INT(parse(":::: id stat", &r), SMPP_RECEIPT_ENOID);
	CHECK_EQ_INT(parse("\x01\xff\xfe id\x00:", &r), SMPP_RECEIPT_ENOID);
	CHECK_EQ_INT(parse("paid:5 status:DELIVRD", &r), SMPP_RECEIPT_ENOID);
	CHECK(strcmp(smpp_receipt_strerror(SMPP_RECEIPT_ENOID), "no id") == 0);
}

/* Cut at every length into an exact-size heap copy: ASan catches any
 * read past the end; the result is sane at every cut. */
static void test_truncated(void)
{
	const char *full = "id:ABCDEF sub:001 dlvrd:001 submit date:2403151230 "
	    "done date:2403151231 stat:DELIVRD err:000 text:Hi";
	size_t n = strlen(full);
	size_t stat_end = (size_t)(strstr(full, "DELIVRD") - full) + 7;
	int bad = 0;

	for (size_t cut = 0; cut <= n; cut++) {
		char *copy = malloc(cut ? cut : 1);
		struct smpp_receipt r;
		memcpy(copy, full, cut);
		int rc = smpp_receipt_parse(copy, cut, &r);
		if (cut < 4 && rc != SMPP_RECEIPT_ENOID)
			bad++;
		if (cut >= 4 && cut < stat_end && rc != SMPP_RECEIPT_ENOSTAT &&
		    rc != SMPP_RECEIPT_OK)
			bad++;
		if (cut >= stat_end && (rc != SMPP_RECEIPT_OK ||
		    strcmp(r.id, "ABCDEF") != 0 || r.stat != SMPP_STAT_DELIVRD))
			bad++;
		free(copy);
	}
	CHECK_EQ_INT(bad, 0);
}

static void test_id_lengths(void)
{
	char buf[200], id[100];
	struct smpp_receipt r;

	memset(id, 'a', 64);
	id[64] = '\0';
	snprintf(buf, sizeof buf, "id:%s stat:DELIVRD", id);
	CHECK_EQ_INT(parse(buf, &r), SMPP_RECEIPT_OK);
	CHECK_EQ_INT(strlen(r.id), 64);

	memset(id, 'a', 65);
	id[65] = '\0';
	snprintf(buf, sizeof buf, "id:%s stat:DELIVRD", id);
	CHECK_EQ_INT(parse(buf, &r), SMPP_RECEIPT_EIDLEN);
	CHECK_EQ_STR(r.id, "");
	CHECK_EQ_INT(r.stat, SMPP_STAT_DELIVRD);
}

/* Not NUL-terminated, and trailing NULs as some SMSCs send them. */
static void test_raw_buffers(void)
{
	static const char raw[] = { 'i', 'd', ':', '4', '2', ' ', 's', 't', 'a',
		't', ':', 'E', 'N', 'R', 'O', 'U', 'T', 'E' };
	static const char nuls[] = "id:42 stat:ACCEPTD text:ok\0\0";
	struct smpp_receipt r;

	CHECK_EQ_INT(smpp_receipt_parse(raw, sizeof raw, &r), SMPP_RECEIPT_OK);
	CHECK_EQ_INT(r.stat, SMPP_STAT_ENROUTE);
	CHECK_EQ_INT(smpp_receipt_parse(raw, sizeof raw - 1, &r), SMPP_RECEIPT_OK);
	CHECK_EQ_INT(r.stat, SMPP_STAT_OTHER); /* "ENROUT" */
	CHECK_EQ_INT(smpp_receipt_parse(nuls, sizeof nuls, &r), SMPP_RECEIPT_OK);
	CHECK_EQ_STR(text_of(&r), "ok");
	CHECK_EQ_INT(r.text_len, 2);
}

static void test_format(void)
{
	struct smpp_receipt r;
	char buf[256];

	parse("Id:abc123 Sub:1 Dlvrd:1 Submit Date:240315123059 "
	    "Done Date:2403151231 Stat:delivrd Err:0 Text:Hello world, this is long",
	    &r);
	int n = smpp_receipt_format(&r, buf, sizeof buf);
	CHECK_EQ_STR(buf, "id:abc123 sub:001 dlvrd:001 submit date:2403151230 "
	    "done date:2403151231 stat:DELIVRD err:000 text:Hello world, this is");
	CHECK_EQ_INT(n, strlen(buf));

	/* missing fields still give the standard shape */
	smpp_receipt_init(&r);
	strcpy(r.id, "1");
	r.stat = SMPP_STAT_NONE;
	smpp_receipt_format(&r, buf, sizeof buf);
	CHECK_EQ_STR(buf, "id:1 sub:000 dlvrd:000 submit date:0000000000 "
	    "done date:0000000000 stat:UNKNOWN err:000 text:");

	/* raw err and stat go out as they came */
	parse("id:1 stat:FAILED err:X12", &r);
	smpp_receipt_format(&r, buf, sizeof buf);
	CHECK(strstr(buf, "stat:FAILED err:X12 ") != NULL);
}

/* The numbers are formatted by hand: they must read as printf's %03d and
 * %02d would, wide values, negative ones and zero included. */
static void test_format_numbers(void)
{
	static const int vals[] = { 0, 1, 9, 10, 99, 100, 999, 1000, 123456,
		-1, -42, INT_MAX, INT_MIN };
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		struct smpp_receipt r;
		char buf[256], want[256];
		int v = vals[i];
		smpp_receipt_init(&r);
		strcpy(r.id, "7");
		r.sub = v;
		r.dlvrd = v;
		r.err = v;
		r.stat = SMPP_STAT_DELIVRD;
		r.done_date = (struct smpp_receipt_time){ .valid = 1, .year = v,
			.month = v, .day = v, .hour = v, .minute = v };
		int n = smpp_receipt_format(&r, buf, sizeof buf);
		int w = v >= 0 ? v : 0;
		if (v >= 0)
			snprintf(want, sizeof want, "id:7 sub:%03d dlvrd:%03d submit date:0000000000 "
			    "done date:%02d%02d%02d%02d%02d stat:DELIVRD err:%03d text:", w, w,
			    v % 100, v, v, v, v, v);
		else
			snprintf(want, sizeof want, "id:7 sub:%03d dlvrd:%03d submit date:0000000000 "
			    "done date:%02d%02d%02d%02d%02d stat:DELIVRD err:%s text:", w, w,
			    v % 100, v, v, v, v, "000");
		CHECK_EQ_STR(buf, want);
		CHECK_EQ_INT(n, strlen(want));
	}
}

static void test_format_cap(void)
{
	struct smpp_receipt r;
	char buf[16];

	parse("id:1234567890 stat:DELIVRD", &r);
	int full = smpp_receipt_format(&r, NULL, 0);
	CHECK(full > 16);
	memset(buf, 'x', sizeof buf);
	int n = smpp_receipt_format(&r, buf, sizeof buf);
	CHECK_EQ_INT(n, full);
	CHECK_EQ_STR(buf, "id:1234567890 s");
	n = smpp_receipt_format(&r, buf, 1);
	CHECK_EQ_INT(buf[0], '\0');
}

static void test_round_trip(void)
{
	static const char *in[] = {
		("id:0123456789 sub:001 dlvrd:001 submit date:2403151230 "
		"done date:2403151231 stat:DELIVRD err:000 text:Hello"),
		"ID:0xFFEE stat:rejected err:0x1F TEXT:a:b:c",
		"stat:UNDELIV id:2d5ab4a2-3a35-4b4c-9a3e-8f5b6a4e2c11 err:5",
		"id:9 done date:991231235959 stat:EXPIRED",
		"id:x stat:WEIRD",
	};
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
		struct smpp_receipt a, b;
		char buf[256];
		CHECK_EQ_INT(parse(in[i], &a), SMPP_RECEIPT_OK);
		smpp_receipt_format(&a, buf, sizeof buf);
		CHECK_EQ_INT(parse(buf, &b), SMPP_RECEIPT_OK);
		CHECK_EQ_STR(a.id, b.id);
		CHECK_EQ_INT(a.stat, b.stat);
		if (a.stat == SMPP_STAT_OTHER)
			CHECK_EQ_STR(a.stat_raw, b.stat_raw);
		if (a.err_raw[0]) /* a missing err goes out as 000 */
			CHECK_EQ_INT(a.err, b.err);
		CHECK_EQ_INT(a.done_date.valid, b.done_date.valid);
		CHECK_EQ_INT(a.done_date.minute, b.done_date.minute);
		CHECK(b.text_len <= 20);
	}
}

static void test_stat_state(void)
{
	CHECK_EQ_INT(smpp_stat_from_state(SMPP_STATE_ENROUTE), SMPP_STAT_ENROUTE);
	CHECK_EQ_INT(smpp_stat_from_state(SMPP_STATE_DELIVERED), SMPP_STAT_DELIVRD);
	CHECK_EQ_INT(smpp_stat_from_state(SMPP_STATE_EXPIRED), SMPP_STAT_EXPIRED);
	CHECK_EQ_INT(smpp_stat_from_state(SMPP_STATE_DELETED), SMPP_STAT_DELETED);
	CHECK_EQ_INT(smpp_stat_from_state(SMPP_STATE_UNDELIVERABLE), SMPP_STAT_UNDELIV);
	CHECK_EQ_INT(smpp_stat_from_state(SMPP_STATE_ACCEPTED), SMPP_STAT_ACCEPTD);
	CHECK_EQ_INT(smpp_stat_from_state(SMPP_STATE_UNKNOWN), SMPP_STAT_UNKNOWN);
	CHECK_EQ_INT(smpp_stat_from_state(SMPP_STATE_REJECTED), SMPP_STAT_REJECTD);
	CHECK_EQ_INT(smpp_stat_from_state(SMPP_STATE_SCHEDULED), SMPP_STAT_OTHER);
	CHECK_EQ_INT(smpp_stat_from_state(SMPP_STATE_SKIPPED), SMPP_STAT_OTHER);
	CHECK_EQ_INT(smpp_stat_from_state(-1), SMPP_STAT_OTHER);
	CHECK_EQ_INT(smpp_stat_from_state(200), SMPP_STAT_OTHER);
	for (int s = 1; s <= 8; s++)
		CHECK_EQ_INT(smpp_stat_to_state(smpp_stat_from_state(s)), s);
	CHECK_EQ_INT(smpp_stat_to_state(SMPP_STAT_NONE), -1);
	CHECK_EQ_INT(smpp_stat_to_state(SMPP_STAT_OTHER), -1);
	CHECK_EQ_STR(smpp_stat_name(SMPP_STAT_UNDELIV), "UNDELIV");
	CHECK_EQ_STR(smpp_stat_name(SMPP_STAT_NONE), "NONE");
}

/* --- deliver_sm -------------------------------------------------------- */

static struct smpp_pdu pdu; /* ~14 KiB: static, zeroed per test */

static void pdu_reset(uint8_t esm, const char *sm)
{
	memset(&pdu, 0, sizeof pdu);
	pdu.command_id = SMPP_DELIVER_SM;
	pdu.esm_class = esm;
	pdu.short_message = (const uint8_t *)sm;
	pdu.sm_length = sm ? (uint8_t)strlen(sm) : 0;
}

static void pdu_tlv(uint16_t tag, const void *v, uint16_t len)
{
	pdu.tlvs[pdu.tlv_count].tag = tag;
	pdu.tlvs[pdu.tlv_count].len = len;
	pdu.tlvs[pdu.tlv_count].value = v;
	pdu.tlv_count++;
}

static void test_pdu_text_only(void)
{
	struct smpp_receipt r;

	pdu_reset(SMPP_ESM_TYPE_RECEIPT, "id:77 stat:DELIVRD err:000 text:x");
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), 1);
	CHECK_EQ_STR(r.id, "77");
	CHECK_EQ_INT(r.stat, SMPP_STAT_DELIVRD);
	CHECK_EQ_INT(r.tlv, 0);

	/* UDHI and other bits beside the type do not matter */
	pdu_reset(SMPP_ESM_TYPE_RECEIPT | 0x43, "id:77 stat:DELIVRD");
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), 1);

	/* an MO that looks like a receipt is still an MO */
	pdu_reset(0, "id:77 stat:DELIVRD");
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), 0);

	/* flagged but useless */
	pdu_reset(SMPP_ESM_TYPE_RECEIPT, "hello");
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), SMPP_RECEIPT_ENOID);
	pdu_reset(SMPP_ESM_TYPE_RECEIPT, NULL);
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), SMPP_RECEIPT_ENOID);
}

static void test_pdu_tlvs_win(void)
{
	static const uint8_t state[] = { SMPP_STATE_UNDELIVERABLE };
	static const uint8_t neterr[] = { 0x03, 0x01, 0x02 }; /* GSM, 258 */
	struct smpp_receipt r;

	pdu_reset(SMPP_ESM_TYPE_RECEIPT,
	    "id:1A2B3C stat:DELIVRD err:000 text:hello");
	pdu_tlv(SMPP_TLV_RECEIPTED_MESSAGE_ID, "1715004", 8);
	pdu_tlv(SMPP_TLV_MESSAGE_STATE, state, 1);
	pdu_tlv(SMPP_TLV_NETWORK_ERROR_CODE, neterr, 3);
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), 1);
	CHECK_EQ_STR(r.id, "1715004");
	CHECK_EQ_INT(r.stat, SMPP_STAT_UNDELIV);
	CHECK_EQ_INT(r.err, 258);
	CHECK_EQ_STR(r.err_raw, "258");
	CHECK_EQ_INT(r.network_type, 3);
	CHECK_EQ_INT(r.tlv, SMPP_RECEIPT_TLV_ID | SMPP_RECEIPT_TLV_STATE |
	    SMPP_RECEIPT_TLV_NETERR);
	CHECK_EQ_STR(text_of(&r), "hello"); /* the text still fills the rest */
}

static void test_pdu_tlvs_only(void)
{
	static const uint8_t state[] = { SMPP_STATE_DELIVERED };
	static const uint8_t state4[] = { 0, 0, 0, SMPP_STATE_EXPIRED };
	static const uint8_t skipped[] = { SMPP_STATE_SKIPPED };
	static const char noterm[] = { 'a', 'b', 'c' };
	struct smpp_receipt r;

	/* TLVs alone make a receipt, even without the esm_class type */
	pdu_reset(0, NULL);
	pdu_tlv(SMPP_TLV_RECEIPTED_MESSAGE_ID, "abc", 4);
	pdu_tlv(SMPP_TLV_MESSAGE_STATE, state, 1);
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), 1);
	CHECK_EQ_STR(r.id, "abc");
	CHECK_EQ_INT(r.stat, SMPP_STAT_DELIVRD);
	CHECK(r.text == NULL);

	/* the NUL left out; a 4-octet state */
	pdu_reset(0, NULL);
	pdu_tlv(SMPP_TLV_RECEIPTED_MESSAGE_ID, noterm, 3);
	pdu_tlv(SMPP_TLV_MESSAGE_STATE, state4, 4);
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), 1);
	CHECK_EQ_STR(r.id, "abc");
	CHECK_EQ_INT(r.stat, SMPP_STAT_EXPIRED);

	/* a state with no text word */
	pdu_reset(0, NULL);
	pdu_tlv(SMPP_TLV_RECEIPTED_MESSAGE_ID, "abc", 4);
	pdu_tlv(SMPP_TLV_MESSAGE_STATE, skipped, 1);
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), 1);
	CHECK_EQ_INT(r.stat, SMPP_STAT_OTHER);
	CHECK_EQ_STR(r.stat_raw, "STATE9");

	/* id but no state anywhere */
	pdu_reset(0, NULL);
	pdu_tlv(SMPP_TLV_RECEIPTED_MESSAGE_ID, "abc", 4);
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), SMPP_RECEIPT_ENOSTAT);

	/* an empty id TLV does not hide the text's */
	pdu_reset(SMPP_ESM_TYPE_RECEIPT, "id:55 stat:ACCEPTD");
	pdu_tlv(SMPP_TLV_RECEIPTED_MESSAGE_ID, "", 1);
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), 1);
	CHECK_EQ_STR(r.id, "55");
	CHECK_EQ_INT(r.tlv, 0);
}

static void test_pdu_bad_tlvs(void)
{
	static const uint8_t state3[] = { 0, 0, 2 };
	static const uint8_t neterr2[] = { 3, 1 };
	char longid[80];
	struct smpp_receipt r;

	/* wrong lengths are ignored, the text stands */
	pdu_reset(SMPP_ESM_TYPE_RECEIPT, "id:5 stat:EXPIRED err:007");
	pdu_tlv(SMPP_TLV_MESSAGE_STATE, state3, 3);
	pdu_tlv(SMPP_TLV_NETWORK_ERROR_CODE, neterr2, 2);
	pdu_tlv(SMPP_TLV_MESSAGE_STATE, NULL, 1); /* hand-built nonsense */
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), 1);
	CHECK_EQ_INT(r.stat, SMPP_STAT_EXPIRED);
	CHECK_EQ_INT(r.err, 7);
	CHECK_EQ_INT(r.network_type, -1);

	/* a TLV id too long beats the text id */
	memset(longid, '7', 70);
	longid[70] = '\0';
	pdu_reset(SMPP_ESM_TYPE_RECEIPT, "id:5 stat:EXPIRED");
	pdu_tlv(SMPP_TLV_RECEIPTED_MESSAGE_ID, longid, 71);
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), SMPP_RECEIPT_EIDLEN);

	/* a tlv_count beyond the array is bounded */
	pdu_reset(SMPP_ESM_TYPE_RECEIPT, "id:5 stat:EXPIRED");
	pdu.tlv_count = 100000;
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), 1);
}

static void test_pdu_payload(void)
{
	static const char text[] = "id:abc stat:DELETED text:long";
	struct smpp_receipt r;

	pdu_reset(SMPP_ESM_TYPE_RECEIPT, NULL);
	pdu_tlv(SMPP_TLV_MESSAGE_PAYLOAD, text, sizeof text - 1);
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), 1);
	CHECK_EQ_STR(r.id, "abc");
	CHECK_EQ_INT(r.stat, SMPP_STAT_DELETED);
	CHECK_EQ_STR(text_of(&r), "long");

	/* short_message first when both are there */
	pdu_reset(SMPP_ESM_TYPE_RECEIPT, "id:xyz stat:DELIVRD");
	pdu_tlv(SMPP_TLV_MESSAGE_PAYLOAD, text, sizeof text - 1);
	CHECK_EQ_INT(smpp_receipt_from_pdu(&pdu, &r), 1);
	CHECK_EQ_STR(r.id, "xyz");
}

/* Through the real codec: encode a deliver_sm, decode it, read it. */
static void test_pdu_wire(void)
{
	static struct smpp_pdu in, out;
	static const uint8_t neterr[] = { 3, 0, 11 };
	static const char *sm = "id:1A2B3C stat:DELIVRD err:000 text:hi";
	struct smpp_tlv_store store = { .used = 0 };
	struct smpp_error err;
	struct smpp_limits lim = { SMPP_DEFAULT_MAX_PDU };
	struct smpp_receipt r;
	uint8_t buf[512];

	smpp_pdu_init(&in, SMPP_DELIVER_SM, 7);
	in.esm_class = SMPP_ESM_TYPE_RECEIPT;
	in.short_message = (const uint8_t *)sm;
	in.sm_length = (uint8_t)strlen(sm);
	CHECK_EQ_INT(smpp_tlv_add_str(&in, SMPP_TLV_RECEIPTED_MESSAGE_ID, "1A2B3C"), 0);
	CHECK_EQ_INT(smpp_tlv_add_int(&in, &store, SMPP_TLV_MESSAGE_STATE,
	    SMPP_STATE_EXPIRED), 0);
	CHECK_EQ_INT(smpp_tlv_add(&in, SMPP_TLV_NETWORK_ERROR_CODE, neterr, 3), 0);
	long n = smpp_pdu_encode(&in, buf, sizeof buf, &err);
	CHECK(n > 0 && n <= (long)sizeof buf);
	CHECK_EQ_INT(smpp_pdu_decode(buf, (size_t)n, &lim, &out, &err), 0);
	CHECK_EQ_INT(smpp_receipt_from_pdu(&out, &r), 1);
	CHECK_EQ_STR(r.id, "1A2B3C");
	CHECK_EQ_INT(r.stat, SMPP_STAT_EXPIRED);
	CHECK_EQ_INT(r.err, 11);
	CHECK_EQ_INT(r.network_type, 3);
	CHECK_EQ_STR(text_of(&r), "hi");
}

/* --- message ids ------------------------------------------------------- */

static const char *norm(const char *id)
{
	static char buf[80];

	smpp_msgid_normalize(id, strlen(id), buf, sizeof buf);
	return buf;
}

static const char *key(enum smpp_msgid_mode m, enum smpp_msgid_side s,
    const char *id)
{
	static char buf[2][80];
	static int which;

	which ^= 1;
	smpp_msgid_key(m, s, id, strlen(id), buf[which], sizeof buf[which]);
	return buf[which];
}

#define RESP SMPP_MSGID_RESP
#define RCPT SMPP_MSGID_RECEIPT

static void test_msgid_normalize(void)
{
	char buf[8];

	CHECK_EQ_STR(norm("000123"), "123");           /* rule 3 */
	CHECK_EQ_STR(norm("123"), "123");
	CHECK_EQ_STR(norm("000"), "0");
	CHECK_EQ_STR(norm("1A2B3C"), "1a2b3c");        /* rule 4: case */
	CHECK_EQ_STR(norm("1a2b3c"), "1a2b3c");
	CHECK_EQ_STR(norm("0x00AB"), "ab");            /* rule 2 */
	CHECK_EQ_STR(norm("0X0"), "0");
	CHECK_EQ_STR(norm("0xZZ"), "0xzz");            /* not hex: rule 4 */
	CHECK_EQ_STR(norm("00ab"), "00ab");            /* zeros of a string */
	CHECK_EQ_STR(norm("2D5AB4A2-3A35-4B4C-9A3E-8F5B6A4E2C11"),
	    "2d5ab4a2-3a35-4b4c-9a3e-8f5b6a4e2c11");
	CHECK_EQ_STR(norm("  42 \r\n"), "42");        /* rule 1 */
	CHECK_EQ_INT(smpp_msgid_normalize("42\0" "99", 5, buf, sizeof buf), 2);
	CHECK_EQ_STR(buf, "42");
	CHECK_EQ_INT(smpp_msgid_normalize("   ", 3, buf, sizeof buf), -1);
	CHECK_EQ_STR(buf, "");
	CHECK_EQ_INT(smpp_msgid_normalize("", 0, buf, sizeof buf), -1);
	/* snprintf-style when cut */
	CHECK_EQ_INT(smpp_msgid_normalize("ABCDEFGHIJ", 10, buf, sizeof buf), 10);
	CHECK_EQ_STR(buf, "abcdefg");
	CHECK_EQ_INT(smpp_msgid_normalize("ABC", 3, NULL, 0), 3);
}

static void test_msgid_modes(void)
{
	enum smpp_msgid_mode h2d = SMPP_MSGID_HEX_IN_RESP_DEC_IN_RECEIPT;
	enum smpp_msgid_mode d2h = SMPP_MSGID_DEC_IN_RESP_HEX_IN_RECEIPT;
	enum smpp_msgid_mode as = SMPP_MSGID_AS_IS, aut = SMPP_MSGID_AUTO;

	/* hex in the resp, decimal in the receipt */
	CHECK_EQ_STR(key(h2d, RESP, "1A2B3C"), "1715004");
	CHECK_EQ_STR(key(h2d, RCPT, "1715004"), "1715004");
	CHECK_EQ_STR(key(h2d, RESP, "0x1a2b3c"), "1715004");
	CHECK_EQ_STR(key(h2d, RCPT, "0001715004"), "1715004");
	CHECK_EQ_STR(key(h2d, RESP, "123456"), "1193046"); /* hex without letters */
	CHECK_EQ_STR(key(h2d, RCPT, "1193046"), "1193046");
	/* the other way round */
	CHECK_EQ_STR(key(d2h, RESP, "1715004"), "1715004");
	CHECK_EQ_STR(key(d2h, RCPT, "1a2b3c"), "1715004");
	CHECK_EQ_STR(key(d2h, RCPT, "001A2B3C"), "1715004");
	/* 64 bits: the largest fits, one more does not and stays a string */
	CHECK_EQ_STR(key(h2d, RESP, "FFFFFFFFFFFFFFFF"), "18446744073709551615");
	CHECK_EQ_STR(key(h2d, RCPT, "18446744073709551615"), "18446744073709551615");
	CHECK_EQ_STR(key(h2d, RESP, "0000FFFFFFFFFFFFFFFF"), "18446744073709551615");
	CHECK_EQ_STR(key(h2d, RESP, "1FFFFFFFFFFFFFFFF"), "1ffffffffffffffff");
	CHECK_EQ_STR(key(h2d, RCPT, "18446744073709551616"), "18446744073709551616");
	/* ids that are not numbers keep their canonical form on both sides */
	CHECK_EQ_STR(key(h2d, RESP, "2D5AB4A2-3A35-4B4C-9A3E-8F5B6A4E2C11"),
	    "2d5ab4a2-3a35-4b4c-9a3e-8f5b6a4e2c11");
	CHECK_EQ_STR(key(h2d, RCPT, "2d5ab4a2-3a35-4b4c-9a3e-8f5b6a4e2c11"),
	    "2d5ab4a2-3a35-4b4c-9a3e-8f5b6a4e2c11");
	/* as is: only the canonical rules */
	CHECK_EQ_STR(key(as, RESP, "000123"), "123");
	CHECK_EQ_STR(key(as, RCPT, "123"), "123");
	CHECK_EQ_STR(key(as, RESP, "ABCDEF"), "abcdef");
	CHECK_EQ_STR(key(as, RCPT, "abcdef"), "abcdef");
	CHECK(strcmp(key(as, RESP, "1A2B3C"), key(as, RCPT, "1715004")) != 0);
	/* auto: letters or 0x say hex, digits say decimal, side ignored */
	CHECK_EQ_STR(key(aut, RESP, "1A2B3C"), "1715004");
	CHECK_EQ_STR(key(aut, RCPT, "1715004"), "1715004");
	CHECK_EQ_STR(key(aut, RCPT, "1a2b3c"), "1715004");
	CHECK_EQ_STR(key(aut, RESP, "0x10"), "16");
	CHECK_EQ_STR(key(aut, RESP, "000123"), "123");
	CHECK_EQ_STR(key(aut, RESP, "123456"), "123456"); /* the known limit */
	CHECK_EQ_STR(key(aut, RESP, "abc-def"), "abc-def");
	CHECK_EQ_STR(key(aut, RESP, "AAAAAAAAAAAAAAAAA"), "aaaaaaaaaaaaaaaaa");
	char buf[4];
	CHECK_EQ_INT(smpp_msgid_key(aut, RESP, " ", 1, buf, sizeof buf), -1);
	CHECK_EQ_INT(smpp_msgid_key(h2d, RESP, "FFFF", 4, buf, sizeof buf), 5);
	CHECK_EQ_STR(buf, "655");
}

static void test_time_from_ms(void)
{
	struct smpp_receipt_time t;
	smpp_receipt_time_from_ms(1795867200000LL + 61000, &t); /* 2026-11-28 12:01:01 */
	CHECK_EQ_INT(t.valid, 1);
	CHECK_EQ_INT(t.year, 2026);
	CHECK_EQ_INT(t.month, 11);
	CHECK_EQ_INT(t.day, 28);
	CHECK_EQ_INT(t.hour, 12);
	CHECK_EQ_INT(t.minute, 1);
	CHECK_EQ_INT(t.second, 1);
	smpp_receipt_time_from_ms(0, &t);
	CHECK_EQ_INT(t.valid, 0);
}

int main(void)
{
	RUN(test_time_from_ms);
	RUN(test_appendix_b);
	RUN(test_kannel_style);
	RUN(test_jasmin_style);
	RUN(test_clickatell_like);
	RUN(test_variants);
	RUN(test_text_cannot_spoof);
	RUN(test_empty_values);
	RUN(test_bad_dates);
	RUN(test_not_receipts);
	RUN(test_truncated);
	RUN(test_id_lengths);
	RUN(test_raw_buffers);
	RUN(test_format);
	RUN(test_format_numbers);
	RUN(test_format_cap);
	RUN(test_round_trip);
	RUN(test_stat_state);
	RUN(test_pdu_text_only);
	RUN(test_pdu_tlvs_win);
	RUN(test_pdu_tlvs_only);
	RUN(test_pdu_bad_tlvs);
	RUN(test_pdu_payload);
	RUN(test_pdu_wire);
	RUN(test_msgid_normalize);
	RUN(test_msgid_modes);
	return unit_done();
}
