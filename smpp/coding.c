/*
 * Text codings: GSM 03.38, UCS-2/UTF-16BE, Latin-1, IA5 <-> UTF-8.
 * See coding.h for the contract.
 */
#include "smpp/coding.h"

#include <limits.h>

#define GSM_ESC 0x1B
#define UCS_REPLACEMENT 0xFFFDu

/* GSM 03.38 default alphabet, septet -> Unicode.  0x1B (escape) shows as
 * a space when it has nothing to escape. */
static const uint16_t gsm_base[128] = {
	0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC,
	0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5,
	0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,
	0x03A3, 0x0398, 0x039E, 0x0020, 0x00C6, 0x00E6, 0x00DF, 0x00C9,
	0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027,
	0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
	0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,
	0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,
	0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,
	0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,
	0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
	0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,
	0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,
	0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,
	0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
	0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

/* The extension table: escape + code -> Unicode (0 when undefined). */
static uint32_t gsm_ext_to_ucs(uint8_t code)
{
	switch (code) {
	case 0x0A: return 0x000C; /* form feed (page break) */
	case 0x14: return '^';
	case 0x28: return '{';
	case 0x29: return '}';
	case 0x2F: return '\\';
	case 0x3C: return '[';
	case 0x3D: return '~';
	case 0x3E: return ']';
	case 0x40: return '|';
	case 0x65: return 0x20AC; /* euro sign */
	default: return 0;
	}
}

#define EXT(code) (GSM_ESC << 8 | (code))

/* ASCII is the common case: a switch for the few that differ. */
static int gsm_from_ascii(uint32_t c)
{
	switch (c) {
	case '@': return 0x00;
	case '$': return 0x02;
	case '_': return 0x11;
	case '\n': return 0x0A;
	case '\r': return 0x0D;
	case 0x0C: return EXT(0x0A);
	case '^': return EXT(0x14);
	case '{': return EXT(0x28);
	case '}': return EXT(0x29);
	case '\\': return EXT(0x2F);
	case '[': return EXT(0x3C);
	case '~': return EXT(0x3D);
	case ']': return EXT(0x3E);
	case '|': return EXT(0x40);
	case '`': return SMPP_TEXT_EUNREP;
	default:
		return c >= 0x20 && c < 0x7F ? (int)c : SMPP_TEXT_EUNREP;
	}
}

/* The non-ASCII characters of the default table, plus the euro sign. */
static int gsm_from_other(uint32_t c)
{
	switch (c) {
	case 0x00A1: return 0x40; case 0x00A3: return 0x01;
	case 0x00A4: return 0x24; case 0x00A5: return 0x03;
	case 0x00A7: return 0x5F; case 0x00BF: return 0x60;
	case 0x00C4: return 0x5B; case 0x00C5: return 0x0E;
	case 0x00C6: return 0x1C; case 0x00C7: return 0x09;
	case 0x00C9: return 0x1F; case 0x00D1: return 0x5D;
	case 0x00D6: return 0x5C; case 0x00D8: return 0x0B;
	case 0x00DC: return 0x5E; case 0x00DF: return 0x1E;
	case 0x00E0: return 0x7F; case 0x00E4: return 0x7B;
	case 0x00E5: return 0x0F; case 0x00E6: return 0x1D;
	case 0x00E8: return 0x04; case 0x00E9: return 0x05;
	case 0x00EC: return 0x07; case 0x00F1: return 0x7D;
	case 0x00F2: return 0x08; case 0x00F6: return 0x7C;
	case 0x00F8: return 0x0C; case 0x00F9: return 0x06;
	case 0x00FC: return 0x7E;
	case 0x0393: return 0x13; case 0x0394: return 0x10;
	case 0x0398: return 0x19; case 0x039B: return 0x14;
	case 0x039E: return 0x1A; case 0x03A0: return 0x16;
	case 0x03A3: return 0x18; case 0x03A6: return 0x12;
	case 0x03A8: return 0x17; case 0x03A9: return 0x15;
	case 0x20AC: return EXT(0x65);
	default: return SMPP_TEXT_EUNREP;
	}
}

int smpp_gsm7_from_ucs(uint32_t cp)
{
	return cp < 0x80 ? gsm_from_ascii(cp) : gsm_from_other(cp);
}

int smpp_gsm7_cost(uint32_t cp)
{
	int g = smpp_gsm7_from_ucs(cp);
	if (g < 0)
		return 0;
	return g > 0x7F ? 2 : 1;
}

const char *smpp_text_strerror(int err)
{
	switch (err) {
	case 0: return "ok";
	case SMPP_TEXT_EINVAL: return "malformed input";
	case SMPP_TEXT_ENOSPC: return "output buffer too small";
	case SMPP_TEXT_EUNREP: return "character not representable";
	case SMPP_TEXT_ENOTSUP: return "coding not supported";
	default: return "unknown error";
	}
}

/* --- output sink: counts always, writes when there is a buffer ------- */

struct sink {
	uint8_t *out;
	size_t cap;
	size_t len;
};

static void put(struct sink *s, uint8_t b)
{
	if (s->out && s->len < s->cap)
		s->out[s->len] = b;
	s->len++;
}

static long sink_done(const struct sink *s)
{
	if ((s->out && s->len > s->cap) || s->len > LONG_MAX)
		return SMPP_TEXT_ENOSPC;
	return (long)s->len;
}

static void put_utf8(struct sink *s, uint32_t cp)
{
	if (cp < 0x80) {
		put(s, (uint8_t)cp);
	} else if (cp < 0x800) {
		put(s, (uint8_t)(0xC0 | cp >> 6));
		put(s, (uint8_t)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		put(s, (uint8_t)(0xE0 | cp >> 12));
		put(s, (uint8_t)(0x80 | (cp >> 6 & 0x3F)));
		put(s, (uint8_t)(0x80 | (cp & 0x3F)));
	} else {
		put(s, (uint8_t)(0xF0 | cp >> 18));
		put(s, (uint8_t)(0x80 | (cp >> 12 & 0x3F)));
		put(s, (uint8_t)(0x80 | (cp >> 6 & 0x3F)));
		put(s, (uint8_t)(0x80 | (cp & 0x3F)));
	}
}

/* --- UTF-8 in ------------------------------------------------------- */

long smpp_utf8_next(const uint8_t *s, size_t len, size_t *pos)
{
	size_t i = *pos;
	if (i >= len)
		return SMPP_TEXT_EINVAL;
	uint8_t b = s[i];
	if (b < 0x80) {
		*pos = i + 1;
		return b;
	}
	size_t n;
	uint32_t cp, min;
	/* C0 and C1 can only start overlong forms; F5.. exceed U+10FFFF. */
	if (b >= 0xC2 && b <= 0xDF) {
		n = 1, cp = b & 0x1F, min = 0x80;
	} else if (b >= 0xE0 && b <= 0xEF) {
		n = 2, cp = b & 0x0F, min = 0x800;
	} else if (b >= 0xF0 && b <= 0xF4) {
		n = 3, cp = b & 0x07, min = 0x10000;
	} else {
		return SMPP_TEXT_EINVAL;
	}
	if (len - i <= n)
		return SMPP_TEXT_EINVAL; /* truncated */
	for (size_t k = 1; k <= n; k++) {
		uint8_t c = s[i + k];
		if ((c & 0xC0) != 0x80)
			return SMPP_TEXT_EINVAL;
		cp = cp << 6 | (c & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return SMPP_TEXT_EINVAL;
	*pos = i + n + 1;
	return (long)cp;
}

int smpp_utf8_validate(const uint8_t *s, size_t len)
{
	size_t pos = 0;
	while (pos < len)
		if (smpp_utf8_next(s, len, &pos) < 0)
			return SMPP_TEXT_EINVAL;
	return 0;
}

/* Emits one code point in the target coding; negative when it can't. */
typedef int (*emit_fn)(struct sink *s, uint32_t cp);

static int emit_gsm7(struct sink *s, uint32_t cp)
{
	int g = smpp_gsm7_from_ucs(cp);
	if (g < 0)
		return g;
	if (g > 0x7F)
		put(s, GSM_ESC);
	put(s, (uint8_t)(g & 0x7F));
	return 0;
}

static int emit_ascii(struct sink *s, uint32_t cp)
{
	if (cp > 0x7F)
		return SMPP_TEXT_EUNREP;
	put(s, (uint8_t)cp);
	return 0;
}

static int emit_latin1(struct sink *s, uint32_t cp)
{
	if (cp > 0xFF)
		return SMPP_TEXT_EUNREP;
	put(s, (uint8_t)cp);
	return 0;
}

static void put_u16(struct sink *s, uint32_t u)
{
	put(s, (uint8_t)(u >> 8));
	put(s, (uint8_t)u);
}

static int emit_ucs2(struct sink *s, uint32_t cp)
{
	if (cp < 0x10000) {
		put_u16(s, cp);
	} else {
		cp -= 0x10000;
		put_u16(s, 0xD800 | cp >> 10);
		put_u16(s, 0xDC00 | (cp & 0x3FF));
	}
	return 0;
}

/* The shared UTF-8 -> coding loop.  '?' is the same octet in all three
 * single-octet codings, so substitution needs no per-coding case. */
static long from_utf8(emit_fn emit, const uint8_t *in, size_t len,
    uint8_t *out, size_t cap, unsigned flags)
{
	struct sink s = { out, cap, 0 };
	size_t pos = 0;
	while (pos < len) {
		long cp = smpp_utf8_next(in, len, &pos);
		if (cp < 0)
			return cp;
		int rc = emit(&s, (uint32_t)cp);
		if (rc < 0 && !(flags & SMPP_TEXT_REPLACE))
			return rc;
		if (rc < 0)
			put(&s, '?');
	}
	return sink_done(&s);
}

long smpp_utf8_to_gsm7(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags)
{
	return from_utf8(emit_gsm7, in, len, out, cap, flags);
}

long smpp_utf8_to_ascii(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags)
{
	return from_utf8(emit_ascii, in, len, out, cap, flags);
}

long smpp_utf8_to_latin1(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags)
{
	return from_utf8(emit_latin1, in, len, out, cap, flags);
}

long smpp_utf8_to_ucs2(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags)
{
	return from_utf8(emit_ucs2, in, len, out, cap, flags);
}

/* --- UTF-8 out ------------------------------------------------------ */

/* Malformed input: U+FFFD when asked to replace, else the error. */
static int bad_input(struct sink *s, unsigned flags)
{
	if (!(flags & SMPP_TEXT_REPLACE))
		return SMPP_TEXT_EINVAL;
	put_utf8(s, UCS_REPLACEMENT);
	return 0;
}

long smpp_gsm7_to_utf8(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags)
{
	struct sink s = { out, cap, 0 };
	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];
		if (c > 0x7F) {
			if (bad_input(&s, flags) < 0)
				return SMPP_TEXT_EINVAL;
			continue;
		}
		if (c == GSM_ESC && i + 1 < len) {
			uint32_t ext = gsm_ext_to_ucs(in[i + 1]);
			if (ext) {
				put_utf8(&s, ext);
				i++;
			}
			/* else: 03.38 shows the next code from the default
			 * table, which the next iteration does. */
			continue;
		}
		put_utf8(&s, gsm_base[c]);
	}
	return sink_done(&s);
}

long smpp_ascii_to_utf8(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags)
{
	struct sink s = { out, cap, 0 };
	for (size_t i = 0; i < len; i++) {
		if (in[i] <= 0x7F)
			put(&s, in[i]);
		else if (bad_input(&s, flags) < 0)
			return SMPP_TEXT_EINVAL;
	}
	return sink_done(&s);
}

long smpp_latin1_to_utf8(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags)
{
	struct sink s = { out, cap, 0 };
	for (size_t i = 0; i < len; i++)
		put_utf8(&s, in[i]);
	return sink_done(&s);
}

long smpp_ucs2_to_utf8(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, unsigned flags)
{
	struct sink s = { out, cap, 0 };
	size_t i = 0;
	for (; i + 1 < len; i += 2) {
		uint32_t u = (uint32_t)in[i] << 8 | in[i + 1];
		if (u >= 0xD800 && u <= 0xDBFF && i + 3 < len) {
			uint32_t lo = (uint32_t)in[i + 2] << 8 | in[i + 3];
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				put_utf8(&s, 0x10000 + ((u - 0xD800) << 10) +
				    (lo - 0xDC00));
				i += 2;
				continue;
			}
		}
		if (u >= 0xD800 && u <= 0xDFFF) { /* a surrogate alone */
			if (bad_input(&s, flags) < 0)
				return SMPP_TEXT_EINVAL;
			continue;
		}
		put_utf8(&s, u);
	}
	if (i < len && bad_input(&s, flags) < 0) /* odd octet count */
		return SMPP_TEXT_EINVAL;
	return sink_done(&s);
}

/* --- by coding / data_coding ---------------------------------------- */

long smpp_text_encode(enum smpp_coding coding, const uint8_t *utf8,
    size_t len, uint8_t *out, size_t cap, unsigned flags)
{
	switch (coding) {
	case SMPP_CODING_GSM7: return smpp_utf8_to_gsm7(utf8, len, out, cap, flags);
	case SMPP_CODING_ASCII: return smpp_utf8_to_ascii(utf8, len, out, cap, flags);
	case SMPP_CODING_LATIN1: return smpp_utf8_to_latin1(utf8, len, out, cap, flags);
	case SMPP_CODING_UCS2: return smpp_utf8_to_ucs2(utf8, len, out, cap, flags);
	default: return SMPP_TEXT_ENOTSUP;
	}
}

long smpp_text_decode(enum smpp_coding coding, const uint8_t *in, size_t len,
    uint8_t *out, size_t cap, unsigned flags)
{
	switch (coding) {
	case SMPP_CODING_GSM7: return smpp_gsm7_to_utf8(in, len, out, cap, flags);
	case SMPP_CODING_ASCII: return smpp_ascii_to_utf8(in, len, out, cap, flags);
	case SMPP_CODING_LATIN1: return smpp_latin1_to_utf8(in, len, out, cap, flags);
	case SMPP_CODING_UCS2: return smpp_ucs2_to_utf8(in, len, out, cap, flags);
	default: return SMPP_TEXT_ENOTSUP;
	}
}

int smpp_dcs_coding(uint8_t data_coding)
{
	switch (data_coding) {
	case SMPP_DCS_DEFAULT: return SMPP_CODING_GSM7;
	case SMPP_DCS_IA5: return SMPP_CODING_ASCII;
	case SMPP_DCS_LATIN1: return SMPP_CODING_LATIN1;
	case SMPP_DCS_UCS2: return SMPP_CODING_UCS2;
	default: return SMPP_TEXT_ENOTSUP;
	}
}

int smpp_coding_dcs(enum smpp_coding coding)
{
	switch (coding) {
	case SMPP_CODING_GSM7: return SMPP_DCS_DEFAULT;
	case SMPP_CODING_ASCII: return SMPP_DCS_IA5;
	case SMPP_CODING_LATIN1: return SMPP_DCS_LATIN1;
	case SMPP_CODING_UCS2: return SMPP_DCS_UCS2;
	default: return -1;
	}
}

long smpp_dcs_to_utf8(uint8_t data_coding, const uint8_t *in, size_t len,
    uint8_t *out, size_t cap, unsigned flags)
{
	int coding = smpp_dcs_coding(data_coding);
	if (coding < 0)
		return coding;
	return smpp_text_decode((enum smpp_coding)coding, in, len, out, cap,
	    flags);
}

/* --- GSM 7-bit packing ---------------------------------------------- */

unsigned smpp_gsm7_fill_bits(size_t udh_len)
{
	return (unsigned)((7 - udh_len * 8 % 7) % 7);
}

long smpp_gsm7_pack(const uint8_t *sept, size_t n, unsigned fill,
    uint8_t *out, size_t cap)
{
	if (fill > 6 || n > (size_t)LONG_MAX / 7)
		return SMPP_TEXT_EINVAL;
	/* No septets, no octets: the fill bits only pad what follows. */
	size_t need = n ? (fill + 7 * n + 7) / 8 : 0;
	if (!out)
		return (long)need;
	if (need > cap)
		return SMPP_TEXT_ENOSPC;
	/* Septets go in least significant bit first, after `fill` zeros. */
	uint32_t acc = 0;
	unsigned nbits = fill;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (sept[i] > 0x7F)
			return SMPP_TEXT_EINVAL;
		acc |= (uint32_t)sept[i] << nbits;
		nbits += 7;
		for (; nbits >= 8; nbits -= 8, acc >>= 8)
			out[o++] = (uint8_t)acc;
	}
	if (nbits > 0 && n > 0)
		out[o++] = (uint8_t)acc;
	return (long)o;
}

long smpp_gsm7_unpack(const uint8_t *in, size_t len, unsigned fill,
    size_t nsept, uint8_t *out, size_t cap)
{
	if (fill > 6 || len > (size_t)LONG_MAX / 8)
		return SMPP_TEXT_EINVAL;
	size_t bits = len * 8;
	size_t avail = bits >= fill ? (bits - fill) / 7 : 0;
	if (nsept == SMPP_GSM7_ALL)
		nsept = avail;
	else if (nsept > avail)
		return SMPP_TEXT_EINVAL;
	if (!out)
		return (long)nsept;
	if (nsept > cap)
		return SMPP_TEXT_ENOSPC;
	for (size_t i = 0; i < nsept; i++) {
		size_t p = fill + 7 * i;
		unsigned shift = p % 8;
		unsigned v = in[p / 8] >> shift;
		if (shift > 1) /* the septet straddles two octets */
			v |= (unsigned)in[p / 8 + 1] << (8 - shift);
		out[i] = (uint8_t)(v & 0x7F);
	}
	return (long)nsept;
}

/* --- analysis ------------------------------------------------------- */

/* Greedy fill of consecutive parts, as the splitter does it. */
struct seg_count {
	size_t units;
	size_t parts;
	size_t fill;
	size_t part_max;
};

static void seg_add(struct seg_count *c, size_t cost)
{
	if (c->fill + cost > c->part_max) {
		c->parts++;
		c->fill = 0;
	}
	c->fill += cost;
	c->units += cost;
}

static size_t seg_total(const struct seg_count *c, size_t single)
{
	return c->units <= single ? 1 : c->parts;
}

/* Cost of cp in the requested coding's units; 0 when unrepresentable. */
static size_t unit_cost(enum smpp_coding coding, uint32_t cp)
{
	switch (coding) {
	case SMPP_CODING_GSM7: return (size_t)smpp_gsm7_cost(cp);
	case SMPP_CODING_ASCII: return cp <= 0x7F;
	case SMPP_CODING_LATIN1: return cp <= 0xFF;
	default: return cp < 0x10000 ? 1 : 2;
	}
}

static int analyze_fixed(const uint8_t *s, size_t len, enum smpp_coding coding,
    struct smpp_text_info *info)
{
	int ucs = coding == SMPP_CODING_UCS2;
	struct seg_count c = { 0, 1, 0, ucs ? SMPP_UCS2_PART :
	    coding == SMPP_CODING_GSM7 ? SMPP_GSM7_PART : SMPP_OCTET_PART };
	size_t single = ucs ? SMPP_UCS2_SINGLE :
	    coding == SMPP_CODING_GSM7 ? SMPP_GSM7_SINGLE : SMPP_OCTET_SINGLE;
	size_t pos = 0, chars = 0;
	int rc = 0;
	while (pos < len) {
		long cp = smpp_utf8_next(s, len, &pos);
		if (cp < 0)
			return SMPP_TEXT_EINVAL;
		size_t cost = unit_cost(coding, (uint32_t)cp);
		if (cost == 0)
			rc = SMPP_TEXT_EUNREP; /* keep going: bad UTF-8 wins */
		seg_add(&c, cost ? cost : 1);
		chars++;
	}
	info->coding = coding;
	info->chars = chars;
	info->units = c.units;
	info->segments = seg_total(&c, single);
	return rc;
}

/* AUTO: count GSM and UCS-2 side by side, so one pass decides. */
static int analyze_auto(const uint8_t *s, size_t len,
    struct smpp_text_info *info)
{
	struct seg_count g = { 0, 1, 0, SMPP_GSM7_PART };
	struct seg_count u = { 0, 1, 0, SMPP_UCS2_PART };
	size_t pos = 0, chars = 0;
	int gsm_ok = 1;
	while (pos < len) {
		long cp = smpp_utf8_next(s, len, &pos);
		if (cp < 0)
			return SMPP_TEXT_EINVAL;
		if (gsm_ok) {
			int cost = smpp_gsm7_cost((uint32_t)cp);
			if (cost)
				seg_add(&g, (size_t)cost);
			else
				gsm_ok = 0;
		}
		seg_add(&u, cp < 0x10000 ? 1 : 2);
		chars++;
	}
	info->chars = chars;
	info->coding = gsm_ok ? SMPP_CODING_GSM7 : SMPP_CODING_UCS2;
	info->units = gsm_ok ? g.units : u.units;
	info->segments = gsm_ok ? seg_total(&g, SMPP_GSM7_SINGLE) :
	    seg_total(&u, SMPP_UCS2_SINGLE);
	return 0;
}

int smpp_text_analyze(const uint8_t *utf8, size_t len, enum smpp_coding want,
    struct smpp_text_info *info)
{
	switch (want) {
	case SMPP_CODING_AUTO:
		return analyze_auto(utf8, len, info);
	case SMPP_CODING_GSM7:
	case SMPP_CODING_ASCII:
	case SMPP_CODING_LATIN1:
	case SMPP_CODING_UCS2:
		return analyze_fixed(utf8, len, want, info);
	default:
		return SMPP_TEXT_ENOTSUP;
	}
}
