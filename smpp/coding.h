/*
 * Text codings for SMS: GSM 03.38 default alphabet (with its extension
 * table), UCS-2/UTF-16BE, Latin-1 and IA5/ASCII, converted to and from
 * UTF-8, plus the per-message segment count the policy layer needs.
 *
 * Pure: libc only, no allocation.  Every converter writes into a
 * caller-provided buffer and returns the number of octets written (or, with
 * out == NULL, the number it would write), or a negative SMPP_TEXT_E* code.
 * On error the contents of out are unspecified.
 *
 * "GSM unpacked" is one septet per octet (values 0..127), which is what
 * SMPP data_coding 0 carries in short_message.  "GSM packed" is the 7-bit
 * packing of the air interface; its functions take the fill-bit count so
 * that septets after a UDH start on a septet boundary.
 *
 * Strictness: converters reject malformed input (SMPP_TEXT_EINVAL) and
 * characters the target coding cannot represent (SMPP_TEXT_EUNREP).  With
 * SMPP_TEXT_REPLACE, decoders turn malformed input into U+FFFD and
 * encoders turn unrepresentable characters into '?'; invalid UTF-8 given
 * to an encoder is always an error, never mangled.  smpp_text_analyze()
 * tells beforehand whether a coding can hold the whole text.
 */
#ifndef SMPPD_SMPP_CODING_H
#define SMPPD_SMPP_CODING_H

#include <stddef.h>
#include <stdint.h>

/* Errors (all negative). */
enum {
	SMPP_TEXT_EINVAL = -1, /* malformed input: bad UTF-8, odd UCS-2 length,
	                          lone surrogate, GSM septet > 127, byte > 127
	                          in IA5 */
	SMPP_TEXT_ENOSPC = -2, /* output buffer too small */
	SMPP_TEXT_EUNREP = -3, /* a character the target coding cannot hold */
	SMPP_TEXT_ENOTSUP = -4, /* data_coding or coding not supported */
};

/* Flags for the converters. */
#define SMPP_TEXT_REPLACE 0x1u /* substitute instead of failing, see above */

/* The codings we convert.  Values are ours, not data_coding values. */
enum smpp_coding {
	SMPP_CODING_AUTO = 0,   /* smpp_text_analyze: GSM if possible, else UCS-2 */
	SMPP_CODING_GSM7,       /* GSM 03.38, unpacked: one septet per octet */
	SMPP_CODING_ASCII,      /* IA5, 7-bit US-ASCII */
	SMPP_CODING_LATIN1,     /* ISO-8859-1 */
	SMPP_CODING_UCS2,       /* UTF-16BE (UCS-2 plus surrogate pairs) */
};

/* SMPP data_coding values we understand. */
#define SMPP_DCS_DEFAULT 0x00 /* SMSC default alphabet: GSM 03.38 here */
#define SMPP_DCS_IA5     0x01
#define SMPP_DCS_LATIN1  0x03
#define SMPP_DCS_UCS2    0x08

/* Segment sizes, in the coding's units (septets, octets, UTF-16 units). */
#define SMPP_GSM7_SINGLE 160
#define SMPP_GSM7_PART   153 /* 8-bit reference UDH */
#define SMPP_UCS2_SINGLE 70
#define SMPP_UCS2_PART   67
#define SMPP_OCTET_SINGLE 140
#define SMPP_OCTET_PART  134

/* Pass as nsept to smpp_gsm7_unpack to take every whole septet present. */
#define SMPP_GSM7_ALL ((size_t)-1)

/* Name of an error code, static storage. */
const char *smpp_text_strerror(int err);

/*
 * UTF-8 scanning.  Decodes one code point at *pos (advancing it) per RFC
 * 3629: overlong forms, surrogates (U+D800..DFFF), values above U+10FFFF,
 * stray continuation bytes and truncated sequences are rejected.  Returns
 * the code point, or SMPP_TEXT_EINVAL (pos is not advanced then).
 */
long smpp_utf8_next(const uint8_t *s, size_t len, size_t *pos);

/* 0 when s is valid UTF-8, SMPP_TEXT_EINVAL otherwise. */
int smpp_utf8_validate(const uint8_t *s, size_t len);

/*
 * GSM 03.38 for one code point: the septet (0..127), or 0x1B00 | code for
 * an extension character (two septets: escape, code), or SMPP_TEXT_EUNREP.
 */
int smpp_gsm7_from_ucs(uint32_t cp);

/* Costs in septets of a code point: 1, 2 (extension), 0 if unrepresentable. */
int smpp_gsm7_cost(uint32_t cp);

/* --- UTF-8 to a coding ---------------------------------------------- */
long smpp_utf8_to_gsm7(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags);
long smpp_utf8_to_ascii(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags);
long smpp_utf8_to_latin1(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags);
long smpp_utf8_to_ucs2(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags);

/* --- a coding to UTF-8 ---------------------------------------------- */
/*
 * GSM unpacked: an escape followed by a code with no extension character
 * decodes as the default-table character (03.38 says to show that); a
 * trailing lone escape decodes as a space.
 */
long smpp_gsm7_to_utf8(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags);
long smpp_ascii_to_utf8(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags);
long smpp_latin1_to_utf8(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags);
long smpp_ucs2_to_utf8(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags);

/* By enum: UTF-8 to `coding` and back (AUTO is SMPP_TEXT_ENOTSUP). */
long smpp_text_encode(enum smpp_coding coding, const uint8_t *utf8,
    size_t len, uint8_t *out, size_t cap, unsigned flags);
long smpp_text_decode(enum smpp_coding coding, const uint8_t *in, size_t len,
    uint8_t *out, size_t cap, unsigned flags);

/*
 * By SMPP data_coding: 0 (GSM unpacked), 1 (IA5), 3 (Latin-1), 8 (UCS-2).
 * Anything else (binary, national codings) is SMPP_TEXT_ENOTSUP.
 */
long smpp_dcs_to_utf8(uint8_t data_coding, const uint8_t *in, size_t len,
    uint8_t *out, size_t cap, unsigned flags);

/* data_coding for a coding, or -1 for AUTO / unknown. */
int smpp_coding_dcs(enum smpp_coding coding);

/* The coding for a data_coding, or SMPP_TEXT_ENOTSUP. */
int smpp_dcs_coding(uint8_t data_coding);

/* --- GSM 7-bit packing ---------------------------------------------- */
/*
 * Pack n septets (each 0..127) after `fill` zero bits (0..6; the padding
 * that puts the first septet on a septet boundary after a UDH of L octets
 * is (7 - L * 8 % 7) % 7).  Writes ceil((fill + 7n) / 8) octets.
 * Returns that count, SMPP_TEXT_EINVAL (septet > 127, fill > 6) or
 * SMPP_TEXT_ENOSPC.
 */
long smpp_gsm7_pack(const uint8_t *sept, size_t n, unsigned fill,
    uint8_t *out, size_t cap);

/*
 * Unpack nsept septets (SMPP_GSM7_ALL: all whole septets in len octets
 * after the fill bits) into one septet per octet.  Returns the septet
 * count, SMPP_TEXT_EINVAL (more septets asked than present, fill > 6) or
 * SMPP_TEXT_ENOSPC.  With SMPP_GSM7_ALL, 7 padding bits at the end read as
 * a trailing '@' (septet 0): the septet count is not in SMPP, so callers
 * that know it should pass it.
 */
long smpp_gsm7_unpack(const uint8_t *in, size_t len, unsigned fill,
    size_t nsept, uint8_t *out, size_t cap);

/* Fill bits after a UDH of udh_len octets (UDHL octet included). */
unsigned smpp_gsm7_fill_bits(size_t udh_len);

/* --- choosing a coding and counting segments ------------------------ */

struct smpp_text_info {
	enum smpp_coding coding; /* chosen (or requested) coding */
	size_t chars;    /* Unicode code points */
	size_t units;    /* septets (GSM), octets (ASCII, Latin-1),
	                    UTF-16 code units (UCS-2) */
	size_t segments; /* 1 when units fit one SMS (also for empty text),
	                    else parts of SMPP_*_PART units, an escape pair or
	                    surrogate pair never split (may exceed 255) */
};

/*
 * Analyse UTF-8 text without converting it.  `want` AUTO picks GSM7 when
 * every character is in the default or extension table, else UCS2
 * (Latin-1 is never picked: carriers handle it poorly; request it).  A
 * requested coding that cannot hold some character gives SMPP_TEXT_EUNREP.
 * Returns 0, SMPP_TEXT_EINVAL (bad UTF-8) or SMPP_TEXT_EUNREP (info still
 * filled, each such character counted as its '?' substitute).  One pass,
 * no allocation.  Segment counts assume 8-bit reference UDH parts, the
 * same ones smpp_split() produces with SMPP_SPLIT_UDH8 (and SAR): GSM
 * 160/153 septets, UCS-2 70/67 units, ASCII and Latin-1 140/134 octets
 * (counted as 8-bit data: the safe assumption for an SMSC we don't know).
 */
int smpp_text_analyze(const uint8_t *utf8, size_t len, enum smpp_coding want,
    struct smpp_text_info *info);

#endif
