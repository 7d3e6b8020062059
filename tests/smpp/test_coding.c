/* Unit tests for smpp/coding.c: known vectors and segment boundaries. */
#include "tests/unit.h"
#include "smpp/coding.h"

#define U8(s) (const uint8_t *)(s), sizeof(s) - 1

static uint8_t out[4096];

/* Fills buf with n copies of the UTF-8 string c; returns the length. */
static size_t repeat(char *buf, const char *c, size_t n)
{
	size_t l = strlen(c), len = 0;
	for (size_t i = 0; i < n; i++, len += l)
		memcpy(buf + len, c, l);
	buf[len] = 0;
	return len;
}

static void test_pack_vectors(void)
{
	static const uint8_t hh[] = { 0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97,
	    0xD9, 0xEC, 0x37 };
	CHECK_EQ_INT(smpp_gsm7_pack(U8("hellohello"), 0, out, sizeof out), 9);
	CHECK_EQ_MEM(out, hh, 9);

	/* 8 septets fill exactly 7 octets */
	static const uint8_t eight[] = { 0x31, 0xD9, 0x8C, 0x56, 0xB3, 0xDD, 0x70 };
	CHECK_EQ_INT(smpp_gsm7_pack(U8("12345678"), 0, out, sizeof out), 7);
	CHECK_EQ_MEM(out, eight, 7);

	/* one fill bit, as after a 6-octet UDH */
	static const uint8_t fill1[] = { 0xD0, 0x65, 0x36, 0xFB, 0x0D };
	CHECK_EQ_INT(smpp_gsm7_fill_bits(6), 1);
	CHECK_EQ_INT(smpp_gsm7_fill_bits(7), 0);
	CHECK_EQ_INT(smpp_gsm7_fill_bits(1), 6);
	CHECK_EQ_INT(smpp_gsm7_pack(U8("hello"), 1, out, sizeof out), 5);
	CHECK_EQ_MEM(out, fill1, 5);

	uint8_t sept[16];
	CHECK_EQ_INT(smpp_gsm7_unpack(hh, 9, 0, SMPP_GSM7_ALL, sept, sizeof sept), 10);
	CHECK_EQ_MEM(sept, "hellohello", 10);
	CHECK_EQ_INT(smpp_gsm7_unpack(fill1, 5, 1, 5, sept, sizeof sept), 5);
	CHECK_EQ_MEM(sept, "hello", 5);
	/* 7 octets hold 8 septets, so "ALL" reads an extra septet */
	CHECK_EQ_INT(smpp_gsm7_unpack(eight, 7, 0, SMPP_GSM7_ALL, sept, sizeof sept), 8);
	CHECK_EQ_INT(smpp_gsm7_unpack(hh, 9, 0, 11, sept, sizeof sept), SMPP_TEXT_EINVAL);
	CHECK_EQ_INT(smpp_gsm7_unpack(hh, 9, 0, 10, sept, 9), SMPP_TEXT_ENOSPC);
	CHECK_EQ_INT(smpp_gsm7_pack(U8("hello"), 7, out, sizeof out), SMPP_TEXT_EINVAL);
	CHECK_EQ_INT(smpp_gsm7_pack(U8("\x80"), 0, out, sizeof out), SMPP_TEXT_EINVAL);
	CHECK_EQ_INT(smpp_gsm7_pack(U8("hellohello"), 0, out, 8), SMPP_TEXT_ENOSPC);
	CHECK_EQ_INT(smpp_gsm7_pack(U8("hellohello"), 0, NULL, 0), 9);
	CHECK_EQ_INT(smpp_gsm7_pack(sept, 0, 3, out, sizeof out), 0);
}

/* Every septet of every fill offset survives pack + unpack. */
static void test_pack_roundtrip(void)
{
	uint8_t sept[300], back[300], packed[300];
	for (size_t i = 0; i < sizeof sept; i++)
		sept[i] = (uint8_t)(i * 37 % 128);
	int ok = 1;
	for (unsigned fill = 0; fill <= 6; fill++) {
		for (size_t n = 0; n < 40; n++) {
			long p = smpp_gsm7_pack(sept, n, fill, packed, sizeof packed);
			long u = smpp_gsm7_unpack(packed, (size_t)p, fill, n, back,
			    sizeof back);
			if (u != (long)n || memcmp(sept, back, n) != 0)
				ok = 0;
		}
	}
	CHECK(ok);
}

static void test_gsm_table(void)
{
	uint8_t one[1];
	int ok = 1;
	/* every default-table septet decodes and re-encodes to itself */
	for (unsigned c = 0; c < 128; c++) {
		if (c == 0x1B)
			continue;
		one[0] = (uint8_t)c;
		uint8_t u[8], g[4];
		long n = smpp_gsm7_to_utf8(one, 1, u, sizeof u, 0);
		long m = n > 0 ? smpp_utf8_to_gsm7(u, (size_t)n, g, sizeof g, 0) : -9;
		if (m != 1 || g[0] != c)
			ok = 0;
	}
	CHECK(ok);
	/* every code point that encodes decodes back to itself */
	ok = 1;
	for (uint32_t cp = 0; cp < 0x30000; cp++) {
		int g = smpp_gsm7_from_ucs(cp);
		if (g < 0)
			continue;
		uint8_t s[2] = { (uint8_t)(g >> 8), (uint8_t)(g & 0x7F) };
		uint8_t u[8];
		const uint8_t *p = g > 0x7F ? s : s + 1;
		long n = smpp_gsm7_to_utf8(p, g > 0x7F ? 2 : 1, u, sizeof u, 0);
		size_t pos = 0;
		if (n <= 0 || smpp_utf8_next(u, (size_t)n, &pos) != (long)cp)
			ok = 0;
	}
	CHECK(ok);
	CHECK_EQ_INT(smpp_gsm7_from_ucs('`'), SMPP_TEXT_EUNREP);
	CHECK_EQ_INT(smpp_gsm7_from_ucs(0xE7), SMPP_TEXT_EUNREP); /* c cedilla */
	CHECK_EQ_INT(smpp_gsm7_from_ucs(0xC7), 0x09);
	CHECK_EQ_INT(smpp_gsm7_from_ucs(0x3A9), 0x15); /* Omega */
	CHECK_EQ_INT(smpp_gsm7_cost('a'), 1);
	CHECK_EQ_INT(smpp_gsm7_cost('{'), 2);
	CHECK_EQ_INT(smpp_gsm7_cost(0x4E2D), 0);
}

static void test_gsm_extension(void)
{
	long n = smpp_utf8_to_gsm7(U8("\f^{}\\[~]|\xE2\x82\xAC"), out, sizeof out, 0);
	static const uint8_t want[] = { 0x1B, 0x0A, 0x1B, 0x14, 0x1B, 0x28,
	    0x1B, 0x29, 0x1B, 0x2F, 0x1B, 0x3C, 0x1B, 0x3D, 0x1B, 0x3E,
	    0x1B, 0x40, 0x1B, 0x65 };
	CHECK_EQ_INT(n, 20);
	CHECK_EQ_MEM(out, want, 20);
	n = smpp_gsm7_to_utf8(want, sizeof want, out, sizeof out - 1, 0);
	CHECK_EQ_INT(n, 12);
	out[n > 0 ? n : 0] = 0;
	CHECK_EQ_STR((char *)out, "\f^{}\\[~]|\xE2\x82\xAC");

	/* euro both ways */
	n = smpp_utf8_to_gsm7(U8("5\xE2\x82\xAC"), out, sizeof out, 0);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_MEM(out, "5\x1B\x65", 3);
	n = smpp_gsm7_to_utf8(U8("5\x1B\x65"), out, sizeof out, 0);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_MEM(out, "5\xE2\x82\xAC", 4);

	/* escape + undefined code shows the default character; lone
	 * trailing escape shows a space */
	n = smpp_gsm7_to_utf8(U8("\x1B" "A\x1B"), out, sizeof out, 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_MEM(out, "A ", 2);

	/* @ $ _ and Greek */
	n = smpp_utf8_to_gsm7(U8("@$_\xCE\x94"), out, sizeof out, 0);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_MEM(out, "\x00\x02\x11\x10", 4);
	CHECK_EQ_INT(smpp_gsm7_to_utf8(U8("\x80"), out, sizeof out, 0), SMPP_TEXT_EINVAL);
	CHECK_EQ_INT(smpp_gsm7_to_utf8(U8("\x80"), out, sizeof out, SMPP_TEXT_REPLACE), 3);
}

static void test_ucs2(void)
{
	/* U+1F600 grinning face: F0 9F 98 80 <-> D83D DE00 */
	long n = smpp_utf8_to_ucs2(U8("a\xF0\x9F\x98\x80"), out, sizeof out, 0);
	CHECK_EQ_INT(n, 6);
	CHECK_EQ_MEM(out, "\x00" "a\xD8\x3D\xDE\x00", 6);
	n = smpp_ucs2_to_utf8(U8("\x00" "a\xD8\x3D\xDE\x00"), out, sizeof out, 0);
	CHECK_EQ_INT(n, 5);
	CHECK_EQ_MEM(out, "a\xF0\x9F\x98\x80", 5);
	/* U+10FFFF, the last one */
	n = smpp_utf8_to_ucs2(U8("\xF4\x8F\xBF\xBF"), out, sizeof out, 0);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_MEM(out, "\xDB\xFF\xDF\xFF", 4);

	/* lone surrogates and odd lengths */
	CHECK_EQ_INT(smpp_ucs2_to_utf8(U8("\xD8\x3D"), out, sizeof out, 0), SMPP_TEXT_EINVAL);
	CHECK_EQ_INT(smpp_ucs2_to_utf8(U8("\xDE\x00\xD8\x3D"), out, sizeof out, 0), SMPP_TEXT_EINVAL);
	CHECK_EQ_INT(smpp_ucs2_to_utf8(U8("\xD8\x3D\x00" "a"), out, sizeof out, 0), SMPP_TEXT_EINVAL);
	CHECK_EQ_INT(smpp_ucs2_to_utf8(U8("\x00" "a\x00"), out, sizeof out, 0), SMPP_TEXT_EINVAL);
	n = smpp_ucs2_to_utf8(U8("\xD8\x3D\x00" "a"), out, sizeof out, SMPP_TEXT_REPLACE);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_MEM(out, "\xEF\xBF\xBD" "a", 4);
}

static void test_latin1_ascii(void)
{
	long n = smpp_utf8_to_latin1(U8("caf\xC3\xA9 \xC3\xBF"), out, sizeof out, 0);
	CHECK_EQ_INT(n, 6);
	CHECK_EQ_MEM(out, "caf\xE9 \xFF", 6);
	n = smpp_latin1_to_utf8(U8("caf\xE9 \xFF"), out, sizeof out, 0);
	CHECK_EQ_INT(n, 8);
	CHECK_EQ_MEM(out, "caf\xC3\xA9 \xC3\xBF", 8);
	CHECK_EQ_INT(smpp_utf8_to_latin1(U8("\xE2\x82\xAC"), out, sizeof out, 0), SMPP_TEXT_EUNREP);
	n = smpp_utf8_to_latin1(U8("\xE2\x82\xAC" "1"), out, sizeof out, SMPP_TEXT_REPLACE);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_MEM(out, "?1", 2);
	CHECK_EQ_INT(smpp_utf8_to_ascii(U8("\xC3\xA9"), out, sizeof out, 0), SMPP_TEXT_EUNREP);
	CHECK_EQ_INT(smpp_utf8_to_ascii(U8("hi`"), out, sizeof out, 0), 3);
	CHECK_EQ_INT(smpp_ascii_to_utf8(U8("hi\xE9"), out, sizeof out, 0), SMPP_TEXT_EINVAL);
	CHECK_EQ_INT(smpp_utf8_to_gsm7(U8("\xE4\xB8\xAD"), out, sizeof out, 0), SMPP_TEXT_EUNREP);
}

static void test_invalid_utf8(void)
{
	static const char *bad[] = {
		"\xC0\x80",         /* overlong NUL */
		"\xC1\xBF",         /* overlong 2-octet */
		"\xE0\x80\xAF",     /* overlong 3-octet '/' */
		"\xF0\x80\x80\xAF", /* overlong 4-octet */
		"\xED\xA0\x80",     /* U+D800 */
		"\xED\xBF\xBF",     /* U+DFFF */
		"\xF4\x90\x80\x80", /* U+110000 */
		"\xF5\x80\x80\x80",
		"\xE2\x82",         /* truncated euro */
		"a\xF0\x9F\x98",    /* truncated emoji */
		"\x80",             /* stray continuation */
		"\xC3\x28",         /* bad continuation */
		"\xFF",
	};
	int ok = 1;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const uint8_t *s = (const uint8_t *)bad[i];
		size_t l = strlen(bad[i]);
		struct smpp_text_info info;
		if (smpp_utf8_validate(s, l) != SMPP_TEXT_EINVAL ||
		    smpp_utf8_to_ucs2(s, l, out, sizeof out, SMPP_TEXT_REPLACE) != SMPP_TEXT_EINVAL ||
		    smpp_utf8_to_gsm7(s, l, out, sizeof out, SMPP_TEXT_REPLACE) != SMPP_TEXT_EINVAL ||
		    smpp_text_analyze(s, l, SMPP_CODING_AUTO, &info) != SMPP_TEXT_EINVAL) {
			printf("# accepted bad UTF-8 #%zu\n", i);
			ok = 0;
		}
	}
	CHECK(ok);
	CHECK_EQ_INT(smpp_utf8_validate(U8("\xC2\x80\xE0\xA0\x80\xF0\x90\x80\x80\xEF\xBF\xBF")), 0);
	CHECK_EQ_INT(smpp_utf8_validate(U8("\x00")), 0);
}

static void test_buffers(void)
{
	CHECK_EQ_INT(smpp_utf8_to_ucs2(U8("abc"), NULL, 0, 0), 6);
	CHECK_EQ_INT(smpp_utf8_to_ucs2(U8("abc"), out, 5, 0), SMPP_TEXT_ENOSPC);
	CHECK_EQ_INT(smpp_utf8_to_ucs2(U8("abc"), out, 6, 0), 6);
	CHECK_EQ_INT(smpp_gsm7_to_utf8(U8("\x1B\x65"), out, 2, 0), SMPP_TEXT_ENOSPC);
	CHECK_EQ_STR(smpp_text_strerror(SMPP_TEXT_EUNREP), "character not representable");
}

static void test_dcs(void)
{
	long n = smpp_dcs_to_utf8(0, U8("\x1B\x65"), out, sizeof out, 0);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(smpp_dcs_to_utf8(1, U8("hi"), out, sizeof out, 0), 2);
	CHECK_EQ_INT(smpp_dcs_to_utf8(3, U8("\xE9"), out, sizeof out, 0), 2);
	CHECK_EQ_INT(smpp_dcs_to_utf8(8, U8("\x20\xAC"), out, sizeof out, 0), 3);
	CHECK_EQ_MEM(out, "\xE2\x82\xAC", 3);
	CHECK_EQ_INT(smpp_dcs_to_utf8(4, U8("hi"), out, sizeof out, 0), SMPP_TEXT_ENOTSUP);
	CHECK_EQ_INT(smpp_coding_dcs(SMPP_CODING_UCS2), 8);
	CHECK_EQ_INT(smpp_coding_dcs(SMPP_CODING_AUTO), -1);
	CHECK_EQ_INT(smpp_dcs_coding(3), SMPP_CODING_LATIN1);
	CHECK_EQ_INT(smpp_text_encode(SMPP_CODING_AUTO, U8("x"), out, sizeof out, 0), SMPP_TEXT_ENOTSUP);
}

/* Analyse n repetitions of c followed by tail. */
static struct smpp_text_info info_of(const char *head, size_t n,
    const char *mid, const char *tail, size_t m, enum smpp_coding want,
    int *rc)
{
	static char buf[8192];
	size_t len = repeat(buf, head, n);
	strcpy(buf + len, mid);
	len += strlen(mid);
	len += repeat(buf + len, tail, m);
	struct smpp_text_info info;
	memset(&info, 0, sizeof info);
	*rc = smpp_text_analyze((uint8_t *)buf, len, want, &info);
	return info;
}

static void test_segments(void)
{
	int rc;
	struct smpp_text_info i;
	i = info_of("", 0, "", "", 0, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(i.coding, SMPP_CODING_GSM7);
	CHECK_EQ_INT(i.segments, 1);
	i = info_of("a", 160, "", "", 0, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.units, 160);
	CHECK_EQ_INT(i.segments, 1);
	i = info_of("a", 161, "", "", 0, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.segments, 2);
	i = info_of("a", 306, "", "", 0, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.segments, 2);
	i = info_of("a", 307, "", "", 0, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.segments, 3);
	/* 159 + euro = 161 septets: two parts */
	i = info_of("a", 159, "\xE2\x82\xAC", "", 0, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.units, 161);
	CHECK_EQ_INT(i.chars, 160);
	CHECK_EQ_INT(i.segments, 2);
	/* 158 + euro = 160 septets: one */
	i = info_of("a", 158, "\xE2\x82\xAC", "", 0, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.segments, 1);
	/* an escape pair at septets 153/154 moves to part 2: 306 septets
	 * need three parts */
	i = info_of("a", 152, "{", "a", 152, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.units, 306);
	CHECK_EQ_INT(i.segments, 3);
	i = info_of("a", 151, "{", "a", 153, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.units, 306);
	CHECK_EQ_INT(i.segments, 2);

	/* UCS-2 (Cyrillic zhe is not GSM) */
	i = info_of("\xD0\xB6", 70, "", "", 0, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.coding, SMPP_CODING_UCS2);
	CHECK_EQ_INT(i.segments, 1);
	i = info_of("\xD0\xB6", 71, "", "", 0, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.segments, 2);
	i = info_of("\xD0\xB6", 134, "", "", 0, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.segments, 2);
	i = info_of("\xD0\xB6", 135, "", "", 0, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.segments, 3);
	/* a surrogate pair at units 67/68 moves to part 2 */
	i = info_of("\xD0\xB6", 66, "\xF0\x9F\x98\x80", "\xD0\xB6", 66, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.units, 134);
	CHECK_EQ_INT(i.chars, 133);
	CHECK_EQ_INT(i.segments, 3);
	i = info_of("\xD0\xB6", 65, "\xF0\x9F\x98\x80", "\xD0\xB6", 67, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.segments, 2);
	/* one non-GSM character anywhere switches the whole text */
	i = info_of("a", 100, "\xC3\xA7", "", 0, SMPP_CODING_AUTO, &rc);
	CHECK_EQ_INT(i.coding, SMPP_CODING_UCS2);
	CHECK_EQ_INT(i.units, 101);
	CHECK_EQ_INT(i.segments, 2);

	/* requested codings */
	i = info_of("\xC3\xA9", 140, "", "", 0, SMPP_CODING_LATIN1, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(i.segments, 1);
	i = info_of("\xC3\xA9", 141, "", "", 0, SMPP_CODING_LATIN1, &rc);
	CHECK_EQ_INT(i.segments, 2);
	i = info_of("a", 10, "\xD0\xB6", "", 0, SMPP_CODING_LATIN1, &rc);
	CHECK_EQ_INT(rc, SMPP_TEXT_EUNREP);
	i = info_of("a", 10, "\xD0\xB6", "", 0, SMPP_CODING_GSM7, &rc);
	CHECK_EQ_INT(rc, SMPP_TEXT_EUNREP);
	i = info_of("a", 10, "", "", 0, SMPP_CODING_UCS2, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(i.units, 10);
	CHECK_EQ_INT(i.coding, SMPP_CODING_UCS2);
}

int main(void)
{
	RUN(test_pack_vectors);
	RUN(test_pack_roundtrip);
	RUN(test_gsm_table);
	RUN(test_gsm_extension);
	RUN(test_ucs2);
	RUN(test_latin1_ascii);
	RUN(test_invalid_utf8);
	RUN(test_buffers);
	RUN(test_dcs);
	RUN(test_segments);
	return unit_done();
}
