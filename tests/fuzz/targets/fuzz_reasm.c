/*
 * Fuzz reassembly.  The input is a script of operations on a small table:
 *   op % 4 == 0: a UDH part: src (1 octet), len (1), short_message (len)
 *   op % 4 == 1: a SAR part: src, ref (2), total, seq, len, body
 *   op % 4 == 2: expire
 *   op % 4 == 3: a split + shuffled reassembly round trip of the next
 *                octets, which must give them back
 * op / 4 advances the clock.  After every step the table's bookkeeping
 * must add up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smpp/segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NGROUPS 4
#define NSLOTS 16

static struct smpp_reasm t;
static struct smpp_reasm_group groups[NGROUPS];
static struct smpp_reasm_slot slots[NSLOTS];
static uint8_t out[SMPP_MAX_PARTS * SMPP_REASM_PART_MAX];
static struct smpp_part parts[SMPP_MAX_PARTS];
static uint8_t pbuf[4096];
static const char *addrs[4] = { "1555000", "1555001", "", "44700900" };

static void must(int cond)
{
	if (!cond)
		abort();
}

/* Slots used by groups plus free slots is every slot. */
static void check_table(void)
{
	size_t used = 0;
	for (size_t i = 0; i < NGROUPS; i++) {
		const struct smpp_reasm_group *g = &groups[i];
		if (!g->have)
			continue;
		size_t n = 0;
		for (size_t s = 0; s < SMPP_MAX_PARTS; s++)
			if (g->slot[s]) {
				must(s < g->total && g->slot[s] <= NSLOTS);
				n++;
			}
		must(n == g->have && n < g->total);
		used += n;
	}
	must(used + t.nfree == NSLOTS);
	must(smpp_reasm_pending(&t) <= NGROUPS);
}

static void check_result(int rc, const struct smpp_concat *c, size_t len,
    size_t n)
{
	must(rc == SMPP_REASM_STORED || rc == SMPP_REASM_COMPLETE ||
	    rc == SMPP_REASM_DUP || rc == SMPP_SEG_EPART ||
	    rc == SMPP_SEG_ENOSPC || rc == SMPP_SEG_ETOOBIG);
	if (rc == SMPP_SEG_ETOOBIG)
		must(c->total > 1 && len > SMPP_REASM_PART_MAX);
	if (rc == SMPP_SEG_EPART)
		must(c->total == 0 || c->seq == 0 || c->seq > c->total);
	if (rc == SMPP_REASM_COMPLETE && c->total == 1)
		must(n == len);
	else if (rc == SMPP_REASM_COMPLETE)
		must(n <= (size_t)c->total * SMPP_REASM_PART_MAX);
}

static size_t op_udh(const uint8_t *d, size_t size, int64_t now)
{
	if (size < 2 || size - 2 < d[1])
		return size;
	const uint8_t *sm = d + 2;
	size_t len = d[1], ul;
	struct smpp_concat c;
	int r = smpp_udh_parse(sm, len, &c, &ul);
	must(r == 0 || r == 1 || r == SMPP_SEG_EUDH);
	if (r == 1) {
		must(ul <= len);
		size_t n = 0;
		struct smpp_reasm_event ev;
		int rc = smpp_reasm_add(&t, addrs[d[0] & 3], "dst", &c, sm + ul,
		    len - ul, now, out, sizeof out, &n, &ev);
		check_result(rc, &c, len - ul, n);
	}
	return 2 + len;
}

static size_t op_sar(const uint8_t *d, size_t size, int64_t now)
{
	if (size < 6 || size - 6 < d[5])
		return size;
	struct smpp_concat c = { (uint16_t)(d[1] << 8 | d[2]), d[3], d[4], 16 };
	size_t n = 0;
	int rc = smpp_reasm_add(&t, addrs[d[0] & 3], "x", &c, d + 6, d[5], now,
	    out, sizeof out, &n, NULL);
	check_result(rc, &c, d[5], n);
	return 6 + d[5];
}

/* Split the next octets (as GSM septets or plain octets), deliver the
 * parts in an order drawn from the input, and expect the text back. */
static size_t op_roundtrip(const uint8_t *d, size_t size, int64_t now)
{
	if (size < 3)
		return size;
	uint8_t mode = d[0] % 4, seed = d[1];
	size_t len = d[2] * 4u;
	if (size - 3 < len)
		len = size - 3;
	static uint8_t text[1024];
	int gsm = d[0] & 4;
	for (size_t i = 0; i < len; i++)
		text[i] = gsm ? d[3 + i] & 0x7F : d[3 + i];
	struct smpp_reasm rt;
	static struct smpp_reasm_group rg[2];
	static struct smpp_reasm_slot rs[SMPP_MAX_PARTS];
	must(smpp_reasm_init(&rt, rg, 2, rs, SMPP_MAX_PARTS, 10) == 0);
	long np = smpp_split(text, len, gsm ? SMPP_FORM_GSM7 : SMPP_FORM_OCTETS,
	    (enum smpp_split_mode)mode, seed, parts, SMPP_MAX_PARTS, pbuf,
	    sizeof pbuf);
	must(np >= 1);
	/* a rotation of the parts by the seed is order enough */
	int rc = -99;
	size_t n = 0;
	for (long k = 0; k < np; k++) {
		const struct smpp_part *p = &parts[(k + seed) % np];
		struct smpp_concat c = { p->ref, p->total, p->seq, 16 };
		size_t ul = 0;
		if (p->udh_len)
			must(smpp_udh_parse(p->data, p->len, &c, &ul) == 1);
		rc = smpp_reasm_add(&rt, "a", "b", &c, p->data + ul, p->len - ul,
		    now, out, sizeof out, &n, NULL);
		must(rc == (k == np - 1 ? SMPP_REASM_COMPLETE : SMPP_REASM_STORED));
	}
	must(n == len && memcmp(out, text, len) == 0);
	return 3 + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	must(smpp_reasm_init(&t, groups, NGROUPS, slots, NSLOTS, 30) == 0);
	int64_t now = 0;
	size_t pos = 0;
	while (pos < size) {
		uint8_t op = data[pos++];
		now += op >> 2;
		const uint8_t *d = data + pos;
		size_t left = size - pos;
		struct smpp_reasm_event ev;
		switch (op & 3) {
		case 0: pos += op_udh(d, left, now); break;
		case 1: pos += op_sar(d, left, now); break;
		case 2:
			while (smpp_reasm_expire(&t, now, &ev) == 1)
				must(ev.reason == SMPP_REASM_EXPIRED &&
				    now - ev.first >= 30);
			break;
		default: pos += op_roundtrip(d, left, now); break;
		}
		check_table();
	}
	return 0;
}
