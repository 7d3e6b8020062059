/*
 * Delivery receipts: Appendix B text parse and format, the receipt TLVs,
 * and message id keys.  See receipt.h for the rules.
 */
#include "smpp/receipt.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* --- bytes ----------------------------------------------------------- */

/* NUL separates too: an id must never carry one into a C string. */
static int is_sep(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* ASCII only: the C locale's tolower would do, but not every caller
 * runs in the C locale. */
static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int all_digits(const char *s, size_t n, int hex)
{
	for (size_t i = 0; i < n; i++)
		if (hex ? hex_value((unsigned char)s[i]) < 0 :
		    !is_digit((unsigned char)s[i]))
			return 0;
	return n > 0;
}

/* Decimal digits only, value <= INT_MAX; -1 otherwise. */
static int parse_int(const char *s, size_t n)
{
	int v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		int d = s[i] - '0';
		if (v > (INT_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	return v;
}

/* Leading zeros of a number go, but a zero stays a "0". */
static void skip_zeros(const char **s, size_t *n)
{
	while (*n > 1 && **s == '0') {
		(*s)++;
		(*n)--;
	}
}

/* Copy a value into a fixed field, cut to fit: used for raw words that
 * are informative only (stat_raw, err_raw). */
static void copy_cut(char *dst, size_t cap, const char *s, size_t n)
{
	if (n > cap - 1)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* --- output buffer, snprintf-style ------------------------------------ */

struct out {
	char *buf;
	size_t cap;
	size_t len; /* what the whole output needs, may exceed cap */
};

static void out_mem(struct out *o, const char *s, size_t n)
{
	if (o->len < o->cap) {
		size_t room = o->cap - 1 - o->len;
		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

/* An unsigned number in decimal, zero-padded to width digits (printf's
 * %0*llu): receipts are formatted once per message and vsnprintf was a
 * tenth of the relay's loop. */
static void out_unum(struct out *o, unsigned long long v, int width)
{
	char tmp[24];
	int i = (int)sizeof tmp;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && i > 0);
	while ((int)sizeof tmp - i < width && i > 0)
		tmp[--i] = '0';
	out_mem(o, tmp + i, sizeof tmp - (size_t)i);
}

/* A signed one, as %0*d prints it: the sign, then the padded magnitude. */
static void out_num(struct out *o, long long v, int width)
{
	if (v < 0) {
		out_mem(o, "-", 1);
		out_unum(o, 0ULL - (unsigned long long)v, width - 1);
		return;
	}
	out_unum(o, (unsigned long long)v, width);
}

/* NUL-terminate and return the snprintf-style length. */
static int out_end(struct out *o)
{
	if (o->cap > 0)
		o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
	return o->len > INT_MAX ? INT_MAX : (int)o->len;
}

/* --- stat words -------------------------------------------------------- */

static const struct {
	const char *word;
	enum smpp_stat stat;
} stat_words[] = {
	{ "DELIVRD", SMPP_STAT_DELIVRD },
	{ "EXPIRED", SMPP_STAT_EXPIRED },
	{ "DELETED", SMPP_STAT_DELETED },
	{ "UNDELIV", SMPP_STAT_UNDELIV },
	{ "ACCEPTD", SMPP_STAT_ACCEPTD },
	{ "UNKNOWN", SMPP_STAT_UNKNOWN },
	{ "REJECTD", SMPP_STAT_REJECTD },
	{ "ENROUTE", SMPP_STAT_ENROUTE },
	/* long forms seen from SMSCs that spell the state out */
	{ "DELIVERED", SMPP_STAT_DELIVRD },
	{ "UNDELIVERABLE", SMPP_STAT_UNDELIV },
	{ "ACCEPTED", SMPP_STAT_ACCEPTD },
	{ "REJECTED", SMPP_STAT_REJECTD },
};

static int word_eq(const char *s, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n && word[i]; i++)
		if (lower((unsigned char)s[i]) != lower((unsigned char)word[i]))
			return 0;
	return i == n && word[i] == '\0';
}

static enum smpp_stat stat_from_word(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof stat_words / sizeof stat_words[0]; i++)
		if (word_eq(s, n, stat_words[i].word))
			return stat_words[i].stat;
	return SMPP_STAT_OTHER;
}

const char *smpp_stat_name(enum smpp_stat stat)
{
	if (stat == SMPP_STAT_NONE)
		return "NONE";
	if (stat >= SMPP_STAT_DELIVRD && stat <= SMPP_STAT_ENROUTE)
		return stat_words[stat - SMPP_STAT_DELIVRD].word;
	return "OTHER";
}

/* Indexed by message_state; 0 (SCHEDULED) and 9 (SKIPPED) have no word. */
static const enum smpp_stat state_stat[] = {
	SMPP_STAT_OTHER, SMPP_STAT_ENROUTE, SMPP_STAT_DELIVRD,
	SMPP_STAT_EXPIRED, SMPP_STAT_DELETED, SMPP_STAT_UNDELIV,
	SMPP_STAT_ACCEPTD, SMPP_STAT_UNKNOWN, SMPP_STAT_REJECTD,
};

enum smpp_stat smpp_stat_from_state(int message_state)
{
	if (message_state < 0 ||
	    (size_t)message_state >= sizeof state_stat / sizeof state_stat[0])
		return SMPP_STAT_OTHER;
	return state_stat[message_state];
}

int smpp_stat_to_state(enum smpp_stat stat)
{
	for (size_t i = 1; i < sizeof state_stat / sizeof state_stat[0]; i++)
		if (state_stat[i] == stat)
			return (int)i;
	return -1;
}

const char *smpp_receipt_strerror(int code)
{
	switch (code) {
	case SMPP_RECEIPT_OK: return "ok";
	case SMPP_RECEIPT_ENOID: return "no id";
	case SMPP_RECEIPT_ENOSTAT: return "no stat";
	case SMPP_RECEIPT_EIDLEN: return "id too long";
	default: return "unknown error";
	}
}

/* --- dates ------------------------------------------------------------- */

static int days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* Two digits at s; the caller checked they are digits. */
static int two(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

static int date_ok(const struct smpp_receipt_time *t)
{
	return t->month >= 1 && t->month <= 12 &&
	    t->day >= 1 && t->day <= days_in_month(t->year, t->month) &&
	    t->hour <= 23 && t->minute <= 59 && t->second <= 59;
}

/* YYMMDDhhmm, YYMMDDhhmmss or YYYYMMDDhhmmss. */
static void parse_date(const char *s, size_t n, struct smpp_receipt_time *t)
{
	struct smpp_receipt_time d = { .second = -1 };

	if (n != 10 && n != 12 && n != 14)
		return;
	for (size_t i = 0; i < n; i++)
		if (!is_digit((unsigned char)s[i]))
			return;
	if (n == 14) {
		d.year = two(s) * 100 + two(s + 2);
		s += 2;
	} else {
		d.year = 2000 + two(s);
	}
	d.month = two(s + 2);
	d.day = two(s + 4);
	d.hour = two(s + 6);
	d.minute = two(s + 8);
	if (n != 10)
		d.second = two(s + 10);
	if (!date_ok(&d))
		return;
	d.valid = 1;
	*t = d;
}

/* --- field names ------------------------------------------------------- */

enum field { F_ID, F_SUB, F_DLVRD, F_SUBMIT, F_DONE, F_STAT, F_ERR, F_TEXT,
	F_COUNT };

/* Names by first letter, two-word names first so that "submit date" is
 * not taken for "sub".  match_name runs at every word of every receipt;
 * the first letter rules out most words at once. */
struct name {
	const char *word, *word2;
	enum field f;
};

static const struct name names_d[] = {
	{ "done", "date", F_DONE }, { "dlvrd", NULL, F_DLVRD }, { NULL, NULL, F_COUNT } };
static const struct name names_e[] = {
	{ "err", NULL, F_ERR }, { NULL, NULL, F_COUNT } };
static const struct name names_i[] = {
	{ "id", NULL, F_ID }, { NULL, NULL, F_COUNT } };
static const struct name names_s[] = {
	{ "submit", "date", F_SUBMIT }, { "sub", NULL, F_SUB }, { "stat", NULL, F_STAT },
	{ NULL, NULL, F_COUNT } };
static const struct name names_t[] = {
	{ "text", NULL, F_TEXT }, { NULL, NULL, F_COUNT } };

static const struct name *names_from(unsigned char first)
{
	switch (lower(first)) {
	case 'd': return names_d;
	case 'e': return names_e;
	case 'i': return names_i;
	case 's': return names_s;
	case 't': return names_t;
	default: return NULL;
	}
}

/* p past `word` when it starts at p (any case), else NULL. */
static const char *match_word(const char *p, const char *end, const char *word)
{
	for (; *word; word++, p++)
		if (p >= end || lower((unsigned char)*p) != (unsigned char)*word)
			return NULL;
	return p;
}

/* p past a "name:" (with optional blanks before the colon and "_" or
 * blanks between two-word names), setting *f; NULL when there is none. */
static const char *match_name(const char *p, const char *end, enum field *f)
{
	if (p >= end)
		return NULL;
	const struct name *n = names_from((unsigned char)*p);
	for (; n && n->word; n++) {
		const char *q = match_word(p, end, n->word);
		if (q && n->word2) {
			while (q < end && (is_blank((unsigned char)*q) || *q == '_'))
				q++;
			q = match_word(q, end, n->word2);
		}
		if (!q)
			continue;
		while (q < end && is_blank((unsigned char)*q))
			q++;
		if (q < end && *q == ':') {
			*f = n->f;
			return q + 1;
		}
	}
	return NULL;
}

/* --- parse ------------------------------------------------------------- */

struct parse {
	int seen[F_COUNT];
	int id_too_long;
};

static void set_field(struct smpp_receipt *r, struct parse *ps, enum field f,
    const char *v, size_t n)
{
	switch (f) {
	case F_ID:
		if (n > SMPP_RECEIPT_ID_MAX)
			ps->id_too_long = 1;
		else
			copy_cut(r->id, sizeof r->id, v, n);
		break;
	case F_SUB:
		r->sub = parse_int(v, n);
		break;
	case F_DLVRD:
		r->dlvrd = parse_int(v, n);
		break;
	case F_SUBMIT:
		parse_date(v, n, &r->submit_date);
		break;
	case F_DONE:
		parse_date(v, n, &r->done_date);
		break;
	case F_STAT:
		if (n > 0) {
			r->stat = stat_from_word(v, n);
			copy_cut(r->stat_raw, sizeof r->stat_raw, v, n);
		}
		break;
	case F_ERR:
		r->err = parse_int(v, n);
		copy_cut(r->err_raw, sizeof r->err_raw, v, n);
		/* Mark a cut so that it cannot read back as a number: the
		 * first bytes of "000...0042x" are "000...". */
		if (n > SMPP_RECEIPT_RAW_MAX)
			r->err_raw[SMPP_RECEIPT_RAW_MAX - 1] = '+';
		break;
	case F_TEXT:
	case F_COUNT:
		break;
	}
}

/* The value after a name: one run of non-blank bytes, empty when the next
 * word is itself a name.  Returns where scanning goes on. */
static const char *take_value(const char *p, const char *end,
    const char **v, size_t *n)
{
	enum field ignored;

	while (p < end && is_sep((unsigned char)*p))
		p++;
	*v = p;
	*n = 0;
	if (match_name(p, end, &ignored))
		return p;
	while (p < end && !is_sep((unsigned char)*p))
		p++;
	*n = (size_t)(p - *v);
	return p;
}

void smpp_receipt_time_from_ms(int64_t ms, struct smpp_receipt_time *t)
{
	memset(t, 0, sizeof *t);
	if (ms <= 0)
		return;
	struct smpp_civil c;
	smpp_civil_from_ms(ms, &c);
	*t = (struct smpp_receipt_time){ 1, c.year, c.month, c.day, c.hour, c.minute, c.second };
}

void smpp_receipt_init(struct smpp_receipt *r)
{
	memset(r, 0, sizeof *r);
	r->sub = r->dlvrd = r->err = -1;
	r->network_type = -1;
	r->submit_date.second = r->done_date.second = -1;
	r->stat = SMPP_STAT_NONE;
	r->text = NULL;
}

static int verdict(const struct smpp_receipt *r, int id_too_long)
{
	if (r->id[0] == '\0')
		return id_too_long ? SMPP_RECEIPT_EIDLEN : SMPP_RECEIPT_ENOID;
	if (r->stat == SMPP_STAT_NONE)
		return SMPP_RECEIPT_ENOSTAT;
	return SMPP_RECEIPT_OK;
}

/* Fills r from the text; returns 1 when an id was too long. */
static int scan(const char *s, size_t len, struct smpp_receipt *r)
{
	const char *p = s, *end = s + len;
	struct parse ps = { { 0 }, 0 };

	while (end > s && end[-1] == '\0')
		end--;
	while (p < end) {
		enum field f;
		const char *v, *q;
		size_t n;

		while (p < end && is_sep((unsigned char)*p))
			p++;
		q = p < end ? match_name(p, end, &f) : NULL;
		if (!q) {
			while (p < end && !is_sep((unsigned char)*p))
				p++;
			continue;
		}
		if (f == F_TEXT) {
			/* the rest is text, whatever it looks like */
			r->text = q;
			r->text_len = (size_t)(end - q);
			break;
		}
		p = take_value(q, end, &v, &n);
		if (!ps.seen[f])
			set_field(r, &ps, f, v, n);
		ps.seen[f] = 1;
	}
	return ps.id_too_long;
}

int smpp_receipt_parse(const char *text, size_t len, struct smpp_receipt *out)
{
	smpp_receipt_init(out);
	int too_long = text ? scan(text, len, out) : 0;
	return verdict(out, too_long);
}

/* --- format ------------------------------------------------------------ */

static void format_count(struct out *o, const char *name, int v)
{
	out_str(o, name);
	out_mem(o, ":", 1);
	out_num(o, v >= 0 ? v : 0, 3);
	out_mem(o, " ", 1);
}

static void format_date(struct out *o, const char *name,
    const struct smpp_receipt_time *t)
{
	if (!t->valid) {
		out_str(o, name);
		out_str(o, ":0000000000 ");
		return;
	}
	const int parts[5] = { t->year % 100, t->month, t->day, t->hour, t->minute };
	char digits[10];
	out_str(o, name);
	out_mem(o, ":", 1);
	for (int i = 0; i < 5; i++) {
		if (parts[i] < 0 || parts[i] > 99) {
			/* out of range in a caller's struct: as %02d prints it */
			for (i = 0; i < 5; i++)
				out_num(o, parts[i], 2);
			out_mem(o, " ", 1);
			return;
		}
		digits[2 * i] = (char)('0' + parts[i] / 10);
		digits[2 * i + 1] = (char)('0' + parts[i] % 10);
	}
	out_mem(o, digits, sizeof digits);
	out_mem(o, " ", 1);
}

static const char *format_stat(const struct smpp_receipt *r)
{
	if (r->stat == SMPP_STAT_OTHER && r->stat_raw[0])
		return r->stat_raw;
	if (r->stat >= SMPP_STAT_DELIVRD && r->stat <= SMPP_STAT_ENROUTE)
		return smpp_stat_name(r->stat);
	return "UNKNOWN";
}

int smpp_receipt_format(const struct smpp_receipt *r, char *buf, size_t cap)
{
	struct out o = { buf, cap, 0 };

	out_str(&o, "id:");
	out_str(&o, r->id);
	out_str(&o, " ");
	format_count(&o, "sub", r->sub);
	format_count(&o, "dlvrd", r->dlvrd);
	format_date(&o, "submit date", &r->submit_date);
	format_date(&o, "done date", &r->done_date);
	out_str(&o, "stat:");
	out_str(&o, format_stat(r));
	out_str(&o, " err:");
	if (r->err >= 0)
		out_num(&o, r->err, 3);
	else
		out_str(&o, r->err_raw[0] ? r->err_raw : "000");
	out_str(&o, " text:");
	if (r->text)
		out_mem(&o, r->text, r->text_len < SMPP_RECEIPT_TEXT_MAX ?
		    r->text_len : SMPP_RECEIPT_TEXT_MAX);
	return out_end(&o);
}

/* --- TLVs -------------------------------------------------------------- */

/* Our own lookup keeps receipt.c independent of pdu.c; the count is
 * bounded by the array in case a caller built the struct by hand. */
static const struct smpp_tlv *find_tlv(const struct smpp_pdu *pdu,
    uint16_t tag)
{
	unsigned n = pdu->tlv_count < SMPP_MAX_TLVS ? pdu->tlv_count : SMPP_MAX_TLVS;

	for (unsigned i = 0; i < n; i++)
		if (pdu->tlvs[i].tag == tag && (pdu->tlvs[i].value || !pdu->tlvs[i].len))
			return &pdu->tlvs[i];
	return NULL;
}

/* receipted_message_id: a C-octet string, but some SMSCs leave out the
 * NUL, so it ends at the NUL or the TLV's length.  Empty counts as absent. */
static int apply_id_tlv(const struct smpp_tlv *t, struct smpp_receipt *r)
{
	size_t n = 0;

	while (n < t->len && t->value[n] != '\0')
		n++;
	if (n == 0)
		return 0;
	if (n > SMPP_RECEIPT_ID_MAX)
		return SMPP_RECEIPT_EIDLEN;
	copy_cut(r->id, sizeof r->id, (const char *)t->value, n);
	r->tlv |= SMPP_RECEIPT_TLV_ID;
	return 0;
}

/* message_state is one octet; wider integers are tolerated. */
static void apply_state_tlv(const struct smpp_tlv *t, struct smpp_receipt *r)
{
	uint32_t v = 0;

	if (t->len != 1 && t->len != 2 && t->len != 4)
		return;
	for (unsigned i = 0; i < t->len; i++)
		v = v << 8 | t->value[i];
	r->stat = smpp_stat_from_state(v > INT_MAX ? -1 : (int)v);
	if (r->stat == SMPP_STAT_OTHER)
		snprintf(r->stat_raw, sizeof r->stat_raw, "STATE%" PRIu32, v);
	else
		copy_cut(r->stat_raw, sizeof r->stat_raw, smpp_stat_name(r->stat),
		    strlen(smpp_stat_name(r->stat)));
	r->tlv |= SMPP_RECEIPT_TLV_STATE;
}

/* network_error_code: network type, then a 2-octet error code. */
static void apply_neterr_tlv(const struct smpp_tlv *t, struct smpp_receipt *r)
{
	if (t->len != 3)
		return;
	r->network_type = t->value[0];
	r->err = smpp_get_u16(t->value + 1);
	struct out o = { r->err_raw, sizeof r->err_raw, 0 };
	out_num(&o, r->err, 1);
	out_end(&o);
	r->tlv |= SMPP_RECEIPT_TLV_NETERR;
}

static void parse_pdu_text(const struct smpp_pdu *pdu, struct smpp_receipt *r,
    int *id_too_long)
{
	const struct smpp_tlv *payload = find_tlv(pdu, SMPP_TLV_MESSAGE_PAYLOAD);

	if (pdu->short_message && pdu->sm_length > 0)
		*id_too_long = scan((const char *)pdu->short_message,
		    pdu->sm_length, r);
	else if (payload && payload->len > 0)
		*id_too_long = scan((const char *)payload->value, payload->len, r);
}

int smpp_receipt_from_pdu(const struct smpp_pdu *pdu, struct smpp_receipt *out)
{
	const struct smpp_tlv *id = find_tlv(pdu, SMPP_TLV_RECEIPTED_MESSAGE_ID);
	const struct smpp_tlv *state = find_tlv(pdu, SMPP_TLV_MESSAGE_STATE);
	const struct smpp_tlv *neterr = find_tlv(pdu, SMPP_TLV_NETWORK_ERROR_CODE);
	int flagged = (pdu->esm_class & SMPP_ESM_TYPE_MASK) == SMPP_ESM_TYPE_RECEIPT;
	int too_long = 0;

	smpp_receipt_init(out);
	if (!flagged && !id && !state)
		return 0;
	parse_pdu_text(pdu, out, &too_long);
	/* The TLVs are typed and unambiguous; the text is free-form. */
	if (id && apply_id_tlv(id, out) != 0) {
		out->id[0] = '\0'; /* a too-long TLV id beats a text id */
		too_long = 1;
	}
	if (state)
		apply_state_tlv(state, out);
	if (neterr)
		apply_neterr_tlv(neterr, out);
	int rc = verdict(out, too_long);
	return rc == SMPP_RECEIPT_OK ? 1 : rc;
}

/* --- message ids ------------------------------------------------------- */

/* The id without what surrounds it: up to a NUL, blanks trimmed. */
static void id_trim(const char **id, size_t *len)
{
	const char *s = *id;
	size_t n = 0;

	while (n < *len && s[n] != '\0')
		n++;
	while (n > 0 && is_sep((unsigned char)s[n - 1]))
		n--;
	while (n > 0 && is_sep((unsigned char)*s)) {
		s++;
		n--;
	}
	*id = s;
	*len = n;
}

static int has_0x(const char *s, size_t n)
{
	return n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

static int parse_dec_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (!all_digits(s, n, 0))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return 0;
		x = x * 10 + d;
	}
	*v = x;
	return 1;
}

/* Hex digits, optionally 0x-prefixed; leading zeros do not count towards
 * the 16 digits that fit. */
static int parse_hex_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (has_0x(s, n)) {
		s += 2;
		n -= 2;
	}
	if (!all_digits(s, n, 1))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (x >> 60)
			return 0;
		x = x << 4 | (uint64_t)hex_value((unsigned char)s[i]);
	}
	*v = x;
	return 1;
}

static int has_hex_letter(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = lower((unsigned char)s[i]);
		if (c >= 'a' && c <= 'f')
			return 1;
	}
	return 0;
}

static int empty_key(char *out, size_t cap)
{
	if (cap > 0)
		out[0] = '\0';
	return -1;
}

int smpp_msgid_normalize(const char *id, size_t len, char *out, size_t cap)
{
	struct out o = { out, cap, 0 };

	id_trim(&id, &len);
	if (len == 0)
		return empty_key(out, cap);
	if (has_0x(id, len) && all_digits(id + 2, len - 2, 1)) {
		id += 2;
		len -= 2;
		skip_zeros(&id, &len);
	} else if (all_digits(id, len, 0)) {
		skip_zeros(&id, &len);
	}
	for (size_t i = 0; i < len; i++) {
		char c = (char)lower((unsigned char)id[i]);
		out_mem(&o, &c, 1);
	}
	return out_end(&o);
}

static int key_u64(uint64_t v, char *out, size_t cap)
{
	struct out o = { out, cap, 0 };

	out_unum(&o, v, 1);
	return out_end(&o);
}

/* Which notation the id is in: 1 hex, 0 decimal, per mode and side. */
static int reads_as_hex(enum smpp_msgid_mode mode, enum smpp_msgid_side side,
    const char *id, size_t len)
{
	switch (mode) {
	case SMPP_MSGID_HEX_IN_RESP_DEC_IN_RECEIPT:
		return side == SMPP_MSGID_RESP;
	case SMPP_MSGID_DEC_IN_RESP_HEX_IN_RECEIPT:
		return side == SMPP_MSGID_RECEIPT;
	case SMPP_MSGID_AUTO:
		return has_0x(id, len) || has_hex_letter(id, len);
	case SMPP_MSGID_AS_IS:
	default:
		return 0;
	}
}

int smpp_msgid_key(enum smpp_msgid_mode mode, enum smpp_msgid_side side,
    const char *id, size_t len, char *out, size_t cap)
{
	uint64_t v;

	id_trim(&id, &len);
	if (len == 0)
		return empty_key(out, cap);
	if (mode != SMPP_MSGID_AS_IS) {
		int ok = reads_as_hex(mode, side, id, len) ?
		    parse_hex_u64(id, len, &v) : parse_dec_u64(id, len, &v);
		if (ok)
			return key_u64(v, out, cap);
	}
	return smpp_msgid_normalize(id, len, out, cap);
}
