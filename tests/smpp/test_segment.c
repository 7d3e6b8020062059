/* Unit tests for smpp/segment.c: splitting, UDH/SAR parsing, reassembly. */
#include "tests/unit.h"
#include "smpp/coding.h"
#include "smpp/segment.h"

static struct smpp_part parts[SMPP_MAX_PARTS];
static uint8_t buf[80000];
static uint8_t msg[60000];
static uint8_t joined[70000];

static struct smpp_reasm_group groups[8];
static struct smpp_reasm_slot slots[600];

static size_t fill(const char *c, size_t n)
{
	size_t l = strlen(c);
	for (size_t i = 0; i < n; i++)
		memcpy(msg + i * l, c, l);
	return n * l;
}

static void test_split_gsm(void)
{
	size_t len = fill("a", 160);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7, SMPP_SPLIT_UDH8, 0x1234,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 1);
	CHECK_EQ_INT(parts[0].udh_len, 0);
	CHECK_EQ_INT(parts[0].len, 160);
	CHECK_EQ_INT(parts[0].total, 1);

	len = fill("a", 161);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7, SMPP_SPLIT_UDH8, 0x1234,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 2);
	CHECK_EQ_MEM(parts[0].data, "\x05\x00\x03\x34\x02\x01", 6);
	CHECK_EQ_INT(parts[0].len, 6 + 153);
	CHECK_EQ_INT(parts[0].units, 153);
	CHECK_EQ_MEM(parts[1].data, "\x05\x00\x03\x34\x02\x02", 6);
	CHECK_EQ_INT(parts[1].len, 6 + 8);
	CHECK_EQ_INT(parts[1].ref, 0x34);

	CHECK_EQ_INT(smpp_split(msg, 306, SMPP_FORM_GSM7, SMPP_SPLIT_UDH8, 1,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 2);
	fill("a", 307);
	CHECK_EQ_INT(smpp_split(msg, 307, SMPP_FORM_GSM7, SMPP_SPLIT_UDH8, 1,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 3);

	/* an escape pair at septets 153/154 goes whole into part 2 */
	len = fill("a", 152);
	msg[len++] = 0x1B, msg[len++] = 0x28;
	len += fill("a", 0);
	memset(msg + len, 'b', 10);
	len += 10;
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7, SMPP_SPLIT_UDH8, 1,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 2);
	CHECK_EQ_INT(parts[0].units, 152);
	CHECK_EQ_INT(parts[1].units, 12);
	CHECK_EQ_MEM(parts[1].data + 6, "\x1B\x28", 2);

	/* 16-bit reference: 152 septets per part */
	len = fill("a", 161);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7, SMPP_SPLIT_UDH16, 0x1234,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 2);
	CHECK_EQ_MEM(parts[0].data, "\x06\x08\x04\x12\x34\x02\x01", 7);
	CHECK_EQ_INT(parts[0].units, 152);
	CHECK_EQ_INT(parts[1].units, 9);

	/* 255 parts is the limit */
	len = fill("a", 153 * 255);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7, SMPP_SPLIT_UDH8, 1,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 255);
	len = fill("a", 153 * 255 + 1);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7, SMPP_SPLIT_UDH8, 1,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), SMPP_SEG_ETOOMANY);
	len = fill("a", 400);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7, SMPP_SPLIT_UDH8, 1,
	    parts, 2, buf, sizeof buf), SMPP_SEG_ENOSPC);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7, SMPP_SPLIT_UDH8, 1,
	    parts, 3, buf, 400), SMPP_SEG_ENOSPC);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7, SMPP_SPLIT_UDH8, 1,
	    parts, 3, buf, 400 + 18), 3);
	msg[5] = 0x80;
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7, SMPP_SPLIT_UDH8, 1,
	    parts, 3, buf, sizeof buf), SMPP_SEG_EINVAL);
}

static void test_split_packed(void)
{
	size_t len = fill("a", 160);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7_PACKED, SMPP_SPLIT_UDH8, 7,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 1);
	CHECK_EQ_INT(parts[0].len, 140);

	len = fill("a", 161);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7_PACKED, SMPP_SPLIT_UDH8, 7,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 2);
	/* 6 octets of UDH + 1 fill bit + 153 septets = 140 octets */
	CHECK_EQ_INT(parts[0].len, 140);
	uint8_t sept[200];
	CHECK_EQ_INT(smpp_gsm7_unpack(parts[0].data + 6, parts[0].len - 6, 1,
	    parts[0].units, sept, sizeof sept), 153);
	CHECK_EQ_MEM(sept, msg, 153);

	/* 7 octets of UDH need no fill: 7 + 133 = 140 for 152 septets */
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7_PACKED, SMPP_SPLIT_UDH16, 7,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 2);
	CHECK_EQ_INT(parts[0].len, 140);
	CHECK_EQ_INT(smpp_gsm7_unpack(parts[1].data + 7, parts[1].len - 7, 0,
	    parts[1].units, sept, sizeof sept), 9);
}

static void test_split_ucs2(void)
{
	size_t len = fill("\x04\x36", 70);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_UCS2, SMPP_SPLIT_UDH8, 7,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 1);
	len = fill("\x04\x36", 71);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_UCS2, SMPP_SPLIT_UDH8, 7,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 2);
	CHECK_EQ_INT(parts[0].len, 6 + 134);
	CHECK_EQ_INT(parts[1].len, 6 + 8);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_UCS2, SMPP_SPLIT_UDH16, 7,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 2);
	CHECK_EQ_INT(parts[0].len, 7 + 132);

	/* surrogate pair at units 67/68 stays whole */
	len = fill("\x04\x36", 66);
	memcpy(msg + len, "\xD8\x3D\xDE\x00", 4);
	len += 4;
	memcpy(msg + len, "\x04\x36\x04\x36\x04\x36", 6);
	len += 6; /* 71 units */
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_UCS2, SMPP_SPLIT_UDH8, 7,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 2);
	CHECK_EQ_INT(parts[0].len, 6 + 132);
	CHECK_EQ_MEM(parts[1].data + 6, "\xD8\x3D\xDE\x00", 4);
	CHECK_EQ_INT(smpp_split(msg, 3, SMPP_FORM_UCS2, SMPP_SPLIT_UDH8, 7,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), SMPP_SEG_EINVAL);
}

static void test_split_sar_payload(void)
{
	size_t len = fill("x", 300);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_OCTETS, SMPP_SPLIT_SAR, 0xBEEF,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 3);
	CHECK_EQ_INT(parts[0].udh_len, 0);
	CHECK_EQ_INT(parts[0].len, 134);
	CHECK_EQ_INT(parts[2].len, 32);
	CHECK_EQ_INT(parts[2].ref, 0xBEEF);
	CHECK_EQ_INT(parts[2].seq, 3);
	CHECK_EQ_INT(parts[2].total, 3);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_OCTETS, SMPP_SPLIT_UDH16, 1,
	    parts, SMPP_MAX_PARTS, buf, sizeof buf), 3);
	CHECK_EQ_INT(parts[0].len, 140);

	len = fill("y", 5000);
	CHECK_EQ_INT(smpp_split(msg, len, SMPP_FORM_GSM7, SMPP_SPLIT_PAYLOAD, 1,
	    parts, 1, buf, sizeof buf), 1);
	CHECK_EQ_INT(parts[0].len, 5000);
	CHECK_EQ_INT(parts[0].total, 1);
	CHECK_EQ_INT(smpp_split(msg, 0, SMPP_FORM_GSM7, SMPP_SPLIT_PAYLOAD, 1,
	    parts, 1, buf, sizeof buf), 1);
	CHECK_EQ_INT(smpp_split(msg, 0, SMPP_FORM_GSM7, SMPP_SPLIT_UDH8, 1,
	    parts, 1, buf, sizeof buf), 1);
	CHECK_EQ_INT(parts[0].len, 0);
}

static void test_udh_parse(void)
{
	struct smpp_concat c;
	size_t ul;
	/* port IE first, then 8-bit concatenation */
	static const uint8_t a[] = { 0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0,
	    0x00, 0x03, 0xAA, 0x03, 0x02, 'h', 'i' };
	CHECK_EQ_INT(smpp_udh_parse(a, sizeof a, &c, &ul), 1);
	CHECK_EQ_INT(ul, 12);
	CHECK_EQ_INT(c.ref, 0xAA);
	CHECK_EQ_INT(c.total, 3);
	CHECK_EQ_INT(c.seq, 2);
	CHECK_EQ_INT(c.ref_bits, 8);
	static const uint8_t b[] = { 0x06, 0x08, 0x04, 0x12, 0x34, 0x05, 0x01 };
	CHECK_EQ_INT(smpp_udh_parse(b, sizeof b, &c, &ul), 1);
	CHECK_EQ_INT(c.ref, 0x1234);
	CHECK_EQ_INT(c.ref_bits, 16);
	CHECK_EQ_INT(ul, 7);
	static const uint8_t none[] = { 0x04, 0x24, 0x02, 0x01, 0x02, 'x' };
	CHECK_EQ_INT(smpp_udh_parse(none, sizeof none, &c, &ul), 0);
	CHECK_EQ_INT(ul, 5);

	static const struct { const char *s; size_t n; } bad[] = {
		{ "", 0 },                              /* nothing */
		{ "\x00", 1 },                          /* UDHL 0 */
		{ "\x05\x00\x03\x01\x02", 5 },          /* UDHL past the end */
		{ "\x05\x00\x04\x01\x02\x01", 6 },      /* IE overruns UDH */
		{ "\x04\x00\x02\x01\x02", 5 },          /* concat8 of length 2 */
		{ "\x06\x08\x03\x01\x02\x01\x01", 7 },  /* concat16 of length 3 */
		{ "\x06\x24\x01\x00\x00\x03\x01", 7 },  /* IEI with no length */
	};
	int ok = 1;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (smpp_udh_parse((const uint8_t *)bad[i].s, bad[i].n, &c, &ul)
		    != SMPP_SEG_EUDH) {
			printf("# accepted bad UDH #%zu\n", i);
			ok = 0;
		}
	CHECK(ok);
}

static void test_sar_read(void)
{
	struct smpp_tlv t[4] = {
		{ SMPP_TLV_SAR_MSG_REF_NUM, 2, (const uint8_t *)"\xBE\xEF" },
		{ SMPP_TLV_SAR_TOTAL_SEGMENTS, 1, (const uint8_t *)"\x03" },
		{ SMPP_TLV_SAR_SEGMENT_SEQNUM, 1, (const uint8_t *)"\x02" },
		{ SMPP_TLV_MESSAGE_PAYLOAD, 1, (const uint8_t *)"x" },
	};
	struct smpp_concat c;
	CHECK_EQ_INT(smpp_sar_read(t, 4, &c), 1);
	CHECK_EQ_INT(c.ref, 0xBEEF);
	CHECK_EQ_INT(c.total, 3);
	CHECK_EQ_INT(c.seq, 2);
	CHECK_EQ_INT(smpp_sar_read(t + 3, 1, &c), 0);
	CHECK_EQ_INT(smpp_sar_read(t, 2, &c), SMPP_SEG_ESAR);
	t[1].len = 2;
	CHECK_EQ_INT(smpp_sar_read(t, 3, &c), SMPP_SEG_ESAR);
}

/* Split, shuffle, duplicate, reassemble; compare with the original. */
static int roundtrip(enum smpp_form form, enum smpp_split_mode mode,
    size_t len)
{
	struct smpp_reasm t;
	smpp_reasm_init(&t, groups, 8, slots, 600, 100);
	long n = smpp_split(msg, len, form, mode, 0x4242, parts, SMPP_MAX_PARTS,
	    buf, sizeof buf);
	if (n < 2)
		return 0;
	/* deliver the parts backwards, each twice except the last */
	int rc = -99;
	size_t out_len = 0;
	for (long k = n - 1; k >= 0; k--) {
		for (int rep = 0; rep < (k ? 2 : 1); rep++) {
			const struct smpp_part *p = &parts[k];
			struct smpp_concat c;
			size_t ul = 0;
			if (mode == SMPP_SPLIT_SAR) {
				c.ref = p->ref, c.total = p->total, c.seq = p->seq;
			} else if (smpp_udh_parse(p->data, p->len, &c, &ul) != 1) {
				return 0;
			}
			uint8_t body[300];
			size_t blen = p->len - ul;
			memcpy(body, p->data + ul, blen);
			if (form == SMPP_FORM_GSM7_PACKED)
				blen = (size_t)smpp_gsm7_unpack(p->data + ul, p->len - ul,
				    smpp_gsm7_fill_bits(ul), p->units, body, sizeof body);
			rc = smpp_reasm_add(&t, "15551230000", "12345", &c, body, blen,
			    10, joined, sizeof joined, &out_len, NULL);
			if (rc != (k == 0 ? SMPP_REASM_COMPLETE :
			    rep ? SMPP_REASM_DUP : SMPP_REASM_STORED))
				return 0;
		}
	}
	return out_len == len && memcmp(joined, msg, len) == 0 &&
	    smpp_reasm_pending(&t) == 0;
}

static void test_roundtrips(void)
{
	size_t len = fill("abc{", 150);
	CHECK(roundtrip(SMPP_FORM_GSM7, SMPP_SPLIT_UDH8, len));
	CHECK(roundtrip(SMPP_FORM_GSM7, SMPP_SPLIT_UDH16, len));
	CHECK(roundtrip(SMPP_FORM_GSM7, SMPP_SPLIT_SAR, len));
	CHECK(roundtrip(SMPP_FORM_GSM7_PACKED, SMPP_SPLIT_UDH8, len));
	CHECK(roundtrip(SMPP_FORM_GSM7_PACKED, SMPP_SPLIT_UDH16, len));
	len = fill("\x04\x36\xD8\x3D\xDE\x00\x00\x41", 100);
	CHECK(roundtrip(SMPP_FORM_UCS2, SMPP_SPLIT_UDH8, len));
	CHECK(roundtrip(SMPP_FORM_UCS2, SMPP_SPLIT_UDH16, len));
	CHECK(roundtrip(SMPP_FORM_UCS2, SMPP_SPLIT_SAR, len));
	len = fill("\xE9", 1000);
	CHECK(roundtrip(SMPP_FORM_OCTETS, SMPP_SPLIT_UDH8, len));
}

static void add(struct smpp_reasm *t, const char *src, uint16_t ref,
    uint8_t total, uint8_t seq, int64_t now, int want,
    struct smpp_reasm_event *ev)
{
	struct smpp_concat c = { ref, total, seq, 8 };
	size_t n;
	CHECK_EQ_INT(smpp_reasm_add(t, src, "dst", &c, (const uint8_t *)"xy", 2,
	    now, joined, sizeof joined, &n, ev), want);
}

static void test_reasm_table(void)
{
	struct smpp_reasm t;
	struct smpp_reasm_event ev;
	CHECK_EQ_INT(smpp_reasm_init(&t, groups, 2, slots, 4, 100), 0);
	CHECK_EQ_INT(smpp_reasm_init(&t, groups, 0, slots, 4, 100), SMPP_SEG_EINVAL);
	CHECK_EQ_INT(smpp_reasm_init(&t, groups, 2, slots, 4, 100), 0);

	/* inconsistent parts */
	add(&t, "a", 1, 3, 0, 0, SMPP_SEG_EPART, &ev);
	add(&t, "a", 1, 3, 4, 0, SMPP_SEG_EPART, &ev);
	add(&t, "a", 1, 0, 0, 0, SMPP_SEG_EPART, &ev);
	/* total 1 completes at once */
	add(&t, "a", 1, 1, 1, 0, SMPP_REASM_COMPLETE, &ev);

	/* table full of groups: the oldest goes */
	add(&t, "a", 1, 3, 1, 10, SMPP_REASM_STORED, &ev);
	add(&t, "b", 1, 3, 1, 20, SMPP_REASM_STORED, &ev);
	CHECK_EQ_INT(ev.reason, SMPP_REASM_NONE);
	add(&t, "c", 1, 3, 1, 30, SMPP_REASM_STORED, &ev);
	CHECK_EQ_INT(ev.reason, SMPP_REASM_EVICTED);
	CHECK_EQ_STR(ev.src, "a");
	CHECK_EQ_INT(ev.have, 1);
	CHECK_EQ_INT(ev.total, 3);
	CHECK_EQ_INT(smpp_reasm_pending(&t), 2);

	/* slots full (4): b has 1, c has 1; c takes 2 more, then b's next
	 * part needs a slot and c (newer) is not evicted, b is not either:
	 * the oldest other than b is c */
	add(&t, "c", 1, 3, 2, 31, SMPP_REASM_STORED, &ev);
	add(&t, "b", 1, 3, 2, 32, SMPP_REASM_STORED, &ev);
	CHECK_EQ_INT(ev.reason, SMPP_REASM_NONE);
	add(&t, "b", 1, 3, 3, 33, SMPP_REASM_COMPLETE, &ev);
	CHECK_EQ_INT(ev.reason, SMPP_REASM_EVICTED);
	CHECK_EQ_STR(ev.src, "c");
	CHECK_EQ_INT(smpp_reasm_pending(&t), 0);

	/* a message bigger than the whole table */
	add(&t, "d", 9, 5, 1, 40, SMPP_REASM_STORED, &ev);
	add(&t, "d", 9, 5, 2, 40, SMPP_REASM_STORED, &ev);
	add(&t, "d", 9, 5, 3, 40, SMPP_REASM_STORED, &ev);
	add(&t, "d", 9, 5, 4, 40, SMPP_REASM_STORED, &ev);
	add(&t, "d", 9, 5, 5, 40, SMPP_SEG_ENOSPC, &ev);

	/* expiry, driven by the caller's clock */
	CHECK_EQ_INT(smpp_reasm_expire(&t, 139, &ev), 0);
	CHECK_EQ_INT(smpp_reasm_expire(&t, 140, &ev), 1);
	CHECK_EQ_INT(ev.reason, SMPP_REASM_EXPIRED);
	CHECK_EQ_STR(ev.src, "d");
	CHECK_EQ_INT(ev.have, 4);
	CHECK_EQ_INT(smpp_reasm_expire(&t, 140, &ev), 0);
	CHECK_EQ_INT(t.nfree, 4);

	/* the key has the total and the addresses in it */
	add(&t, "e", 7, 2, 1, 50, SMPP_REASM_STORED, &ev);
	add(&t, "e", 7, 3, 2, 50, SMPP_REASM_STORED, &ev);
	add(&t, "e", 7, 2, 1, 50, SMPP_REASM_DUP, &ev);
	add(&t, "e", 7, 2, 2, 50, SMPP_REASM_COMPLETE, &ev);
	CHECK_EQ_INT(smpp_reasm_pending(&t), 1);

	/* completion into too small a buffer drops the group */
	struct smpp_concat c = { 3, 2, 1, 8 };
	size_t n = 99;
	CHECK_EQ_INT(smpp_reasm_add(&t, "f", "g", &c, (const uint8_t *)"abc", 3, 60,
	    joined, 4, &n, NULL), SMPP_REASM_STORED);
	c.seq = 2;
	CHECK_EQ_INT(smpp_reasm_add(&t, "f", "g", &c, (const uint8_t *)"abc", 3, 60,
	    joined, 4, &n, NULL), SMPP_SEG_ENOSPC);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(smpp_reasm_pending(&t), 1);
	char longaddr[100];
	memset(longaddr, '1', 99);
	longaddr[99] = 0;
	CHECK_EQ_INT(smpp_reasm_add(&t, longaddr, "g", &c, (const uint8_t *)"abc", 3,
	    60, joined, 4, &n, NULL), SMPP_SEG_ETOOBIG);
	/* a lone part is not stored, so it may be longer than a slot */
	static uint8_t big[1000];
	struct smpp_concat one = { 0, 1, 1, 16 };
	CHECK_EQ_INT(smpp_reasm_add(&t, "f", "g", &one, big, sizeof big, 60,
	    joined, sizeof joined, &n, NULL), SMPP_REASM_COMPLETE);
	CHECK_EQ_INT(n, 1000);
	CHECK_EQ_STR(smpp_seg_strerror(SMPP_SEG_EUDH), "malformed UDH");
}

int main(void)
{
	RUN(test_split_gsm);
	RUN(test_split_packed);
	RUN(test_split_ucs2);
	RUN(test_split_sar_payload);
	RUN(test_udh_parse);
	RUN(test_sar_read);
	RUN(test_roundtrips);
	RUN(test_reasm_table);
	return unit_done();
}
