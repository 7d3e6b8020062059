/*
 * Fuzz the text codings: every decoder on the raw bytes, every encoder on
 * them read as UTF-8, and the round trips that must hold when a step
 * succeeds.  The first byte picks flags and the GSM fill bits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smpp/coding.h"
#include "smpp/segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IN 8192
static uint8_t a[MAX_IN * 4 + 16], b[MAX_IN * 4 + 16], c[MAX_IN * 4 + 16];
static struct smpp_part parts[SMPP_MAX_PARTS];
static uint8_t pbuf[MAX_IN * 2 + SMPP_MAX_PARTS * 8];

static void must(int cond)
{
	if (!cond)
		abort();
}

/* Decoded text must be valid UTF-8, and the measured length right. */
static void check_decoded(enum smpp_coding coding, const uint8_t *in,
    size_t len, unsigned flags, long n)
{
	if (n < 0)
		return;
	must(smpp_utf8_validate(a, (size_t)n) == 0);
	must(smpp_text_decode(coding, in, len, NULL, 0, flags) == n);
}

/* A strict decode that worked must re-encode to the same octets. */
static void check_exact_roundtrip(enum smpp_coding coding, const uint8_t *in,
    size_t len)
{
	long n = smpp_text_decode(coding, in, len, a, sizeof a, 0);
	check_decoded(coding, in, len, 0, n);
	if (n < 0)
		return;
	long m = smpp_text_encode(coding, a, (size_t)n, b, sizeof b, 0);
	must(m == (long)len && memcmp(b, in, len) == 0);
}

/* GSM is not one-to-one (escape + undefined code, lone escape), but the
 * text it decodes to must encode and decode to itself. */
static void check_gsm(const uint8_t *in, size_t len, unsigned flags)
{
	long n = smpp_gsm7_to_utf8(in, len, a, sizeof a, flags);
	check_decoded(SMPP_CODING_GSM7, in, len, flags, n);
	if (n < 0)
		return;
	long m = smpp_utf8_to_gsm7(a, (size_t)n, b, sizeof b, flags);
	must(m >= 0);
	if (flags)
		return; /* U+FFFD came back as '?' */
	long k = smpp_gsm7_to_utf8(b, (size_t)m, c, sizeof c, 0);
	must(k == n && memcmp(a, c, (size_t)n) == 0);
}

static void check_packing(const uint8_t *in, size_t len, unsigned fill)
{
	long n = smpp_gsm7_unpack(in, len, fill, SMPP_GSM7_ALL, a, sizeof a);
	must(n >= 0);
	long p = smpp_gsm7_pack(a, (size_t)n, fill, b, sizeof b);
	must(p >= 0 && (size_t)p <= len);
	long u = smpp_gsm7_unpack(b, (size_t)p, fill, (size_t)n, c, sizeof c);
	must(u == n && memcmp(a, c, (size_t)n) == 0);
}

/* Split the encoded text the way the analysis assumed: same part count. */
static void check_split(enum smpp_coding coding, const uint8_t *enc,
    size_t len, const struct smpp_text_info *info)
{
	enum smpp_form form = coding == SMPP_CODING_UCS2 ? SMPP_FORM_UCS2 :
	    coding == SMPP_CODING_GSM7 ? SMPP_FORM_GSM7 : SMPP_FORM_OCTETS;
	long np = smpp_split(enc, len, form, SMPP_SPLIT_UDH8, 0x42, parts,
	    SMPP_MAX_PARTS, pbuf, sizeof pbuf);
	if (info->segments > SMPP_MAX_PARTS) {
		must(np == SMPP_SEG_ETOOMANY);
		return;
	}
	must(np == (long)info->segments);
	size_t units = 0;
	for (long i = 0; i < np; i++) {
		must(parts[i].len <= 140 || form == SMPP_FORM_GSM7);
		must(parts[i].len <= 160);
		units += parts[i].units;
	}
	must(units == len);
}

static void check_utf8(const uint8_t *in, size_t len)
{
	struct smpp_text_info info;
	int rc = smpp_text_analyze(in, len, SMPP_CODING_AUTO, &info);
	if (smpp_utf8_validate(in, len) != 0) {
		must(rc == SMPP_TEXT_EINVAL);
		must(smpp_utf8_to_ucs2(in, len, a, sizeof a, SMPP_TEXT_REPLACE) ==
		    SMPP_TEXT_EINVAL);
		must(smpp_utf8_to_gsm7(in, len, a, sizeof a, SMPP_TEXT_REPLACE) ==
		    SMPP_TEXT_EINVAL);
		return;
	}
	must(rc == 0);
	must(info.coding == SMPP_CODING_GSM7 || info.coding == SMPP_CODING_UCS2);
	long n = smpp_text_encode(info.coding, in, len, a, sizeof a, 0);
	must(n >= 0);
	size_t units = info.coding == SMPP_CODING_UCS2 ? (size_t)n / 2 : (size_t)n;
	must(units == info.units);
	long m = smpp_text_decode(info.coding, a, (size_t)n, b, sizeof b, 0);
	must(m == (long)len && memcmp(b, in, len) == 0);
	check_split(info.coding, a, (size_t)n, &info);

	/* Latin-1 on request: an error or a faithful copy */
	struct smpp_text_info li;
	rc = smpp_text_analyze(in, len, SMPP_CODING_LATIN1, &li);
	n = smpp_utf8_to_latin1(in, len, a, sizeof a, 0);
	must((rc == 0) == (n >= 0));
	if (n >= 0) {
		must((size_t)n == li.units);
		check_split(SMPP_CODING_LATIN1, a, (size_t)n, &li);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MAX_IN)
		return 0;
	unsigned flags = data[0] & 1 ? SMPP_TEXT_REPLACE : 0;
	unsigned fill = (data[0] >> 1) % 7;
	const uint8_t *in = data + 1;
	size_t len = size - 1;

	check_gsm(in, len, flags);
	check_packing(in, len, fill);
	check_exact_roundtrip(SMPP_CODING_UCS2, in, len);
	check_exact_roundtrip(SMPP_CODING_LATIN1, in, len);
	check_exact_roundtrip(SMPP_CODING_ASCII, in, len);
	for (uint8_t dcs = 0; dcs < 10; dcs++) {
		long n = smpp_dcs_to_utf8(dcs, in, len, a, sizeof a, flags);
		if (n >= 0)
			must(smpp_utf8_validate(a, (size_t)n) == 0);
	}
	check_utf8(in, len);
	return 0;
}
