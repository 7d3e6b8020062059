/*
 * Content rules: lexicons (SHAFT, high-risk finance...) matched as whole
 * words, public URL shorteners matched on the host of each URL, and the
 * operator's regular expressions.  Also the segment counter.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "policy/impl.h"

/* ---- segments ----------------------------------------------------------- */

/* Non-ASCII characters of the GSM 03.38 default alphabet. */
static const uint16_t gsm_latin[] = {
	0x00A1, 0x00A3, 0x00A4, 0x00A5, 0x00A7, 0x00BF, 0x00C4, 0x00C5,
	0x00C6, 0x00C7, 0x00C9, 0x00D1, 0x00D6, 0x00D8, 0x00DC, 0x00DF,
	0x00E0, 0x00E4, 0x00E5, 0x00E6, 0x00E8, 0x00E9, 0x00EC, 0x00F1,
	0x00F2, 0x00F6, 0x00F8, 0x00F9, 0x00FC, 0x0393, 0x0394, 0x0398,
	0x039B, 0x039E, 0x03A0, 0x03A3, 0x03A6, 0x03A8, 0x03A9,
};

/* Septets a code point costs in GSM 7-bit: 1, 2 (escape + extension
 * table), or 0 if it has no GSM form. */
static unsigned gsm_cost(uint32_t cp)
{
	if (cp == '\n' || cp == '\r')
		return 1;
	if (cp == '\f' || cp == 0x20AC)
		return 2;
	if (cp >= 0x20 && cp < 0x7f) {
		if (strchr("^{}\\[~]|", (int)cp))
			return 2;
		return cp == '`' ? 0 : 1;
	}
	for (size_t i = 0; i < sizeof(gsm_latin) / sizeof(gsm_latin[0]); i++)
		if (gsm_latin[i] == cp)
			return 1;
	return 0;
}

/* Decodes one UTF-8 sequence; a malformed byte reads as U+FFFD so that
 * it still costs something (and forces UCS-2). */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	unsigned n = c < 0x80 ? 0 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 :
	    c >= 0xc0 ? 1 : 4;
	if (n == 0) {
		(*i)++;
		return c;
	}
	if (n == 4 || len - *i <= n) {   /* stray continuation, or cut short */
		(*i)++;
		return 0xFFFD;
	}
	uint32_t cp = c & (0x3f >> n);
	for (unsigned k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80) {
			(*i)++;
			return 0xFFFD;
		}
		cp = cp << 6 | (s[*i + k] & 0x3f);
	}
	*i += n + 1;
	return cp;
}

/*
 * Replace with smpp/coding.h's counter when it lands.  GSM 7-bit: 160
 * septets in one message, 153 per part when concatenated (the UDH takes
 * the rest), extension characters cost two.  One character without a GSM
 * form makes the whole text UCS-2: 70 UTF-16 units, or 67 per part.
 */
static unsigned count_segments(const char *text, size_t len, int *ucs2)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t septets = 0, units = 0;
	int gsm = 1;
	for (size_t i = 0; i < len; ) {
		uint32_t cp = utf8_next(s, len, &i);
		unsigned cost = gsm ? gsm_cost(cp) : 0;
		if (cost == 0)
			gsm = 0;
		septets += cost;
		units += cp > 0xFFFF ? 2 : 1;
	}
	*ucs2 = !gsm;
	if (gsm)
		return septets <= 160 ? 1 : (unsigned)((septets + 152) / 153);
	return units <= 70 ? 1 : (unsigned)((units + 66) / 67);
}

unsigned policy_segments(const char *text, size_t len, int *ucs2)
{
	int u;
	unsigned n = count_segments(text, len, &u);
	if (ucs2)
		*ucs2 = u;
	return n;
}

/* ---- lexicons ----------------------------------------------------------- */

static int word_byte(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

enum { MAX_WORDS = 512, PHRASE_MAX = 128 };

/* Tries every run of up to maxwords words starting at each word, in the
 * normalized form the loader stored ("payday loan"). */
static const char *lexicon_check(const struct policy *p, const char *text,
    size_t len, char *why, size_t whycap)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t start[MAX_WORDS], end[MAX_WORDS];
	unsigned nw = 0;
	for (size_t i = 0; i < len && nw < MAX_WORDS; ) {
		while (i < len && !word_byte(s[i]))
			i++;
		if (i == len)
			break;
		start[nw] = i;
		while (i < len && word_byte(s[i]))
			i++;
		end[nw++] = i;
	}
	char buf[PHRASE_MAX];
	for (unsigned w = 0; w < nw; w++) {
		size_t n = 0;
		for (unsigned k = w; k < nw && k < w + p->lexicon_maxwords; k++) {
			size_t wl = end[k] - start[k];
			if (n + wl + 1 > sizeof(buf))
				break;
			if (k > w)
				buf[n++] = ' ';
			for (size_t j = 0; j < wl; j++)
				buf[n++] = (char)tolower(s[start[k] + j]);
			int32_t lx = strset_get(&p->lexicon, buf, n);
			if (lx >= 0) {
				snprintf(why, whycap, "matched \"%.*s\"", (int)n, buf);
				return p->lexicon_rules[lx];
			}
		}
	}
	return NULL;
}

/* ---- URL shorteners ----------------------------------------------------- */

/* Is host (lower-cased, len bytes) or one of its parent domains listed?
 * "www.bit.ly" is bit.ly; "notbit.ly" is not. */
static int host_listed(const struct policy *p, const char *host, size_t len)
{
	for (;;) {
		if (strset_get(&p->shorteners, host, len) >= 0)
			return 1;
		const char *dot = memchr(host, '.', len);
		if (dot == NULL)
			return 0;
		len -= (size_t)(dot + 1 - host);
		host = dot + 1;
	}
}

static int host_byte(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '-';
}

/*
 * A URL is "scheme://host..." or a bare "host/path" or "host" with a dot
 * in it, delimited by white space.  The host ends at the first byte that
 * cannot be in one; a trailing dot (end of a sentence) is dropped.
 */
static const char *url_check(const struct policy *p, const char *text,
    size_t len, char *why, size_t whycap)
{
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = 0; i < len; ) {
		while (i < len && isspace(s[i]))
			i++;
		size_t tok = i;
		while (i < len && !isspace(s[i]))
			i++;
		size_t h = tok, tend = i;
		/* skip an opening bracket or quote, a scheme, user info */
		while (h < tend && strchr("(<[\"'", s[h]))
			h++;
		for (size_t k = h; k + 2 < tend; k++) {
			if (s[k] == ':' && s[k + 1] == '/' && s[k + 2] == '/') {
				h = k + 3;
				break;
			}
			if (!isalpha(s[k]))
				break;
		}
		const unsigned char *at = memchr(s + h, '@', tend - h);
		if (at && memchr(s + h, '/', (size_t)(at - (s + h))) == NULL)
			h = (size_t)(at - s) + 1;
		char host[256];
		size_t n = 0;
		while (h < tend && host_byte(s[h]) && n < sizeof(host))
			host[n++] = (char)tolower(s[h++]);
		while (n && host[n - 1] == '.')
			n--;
		if (n == 0 || n == sizeof(host) || !memchr(host, '.', n))
			continue;
		if (host_listed(p, host, n)) {
			snprintf(why, whycap, "URL shortener %.*s", (int)n, host);
			return "content:url_shortener";
		}
	}
	return NULL;
}

/* ---- regexes ------------------------------------------------------------ */

/* REG_STARTEND (glibc, BSD) bounds the match by length: the text needs
 * no NUL and no copy. */
static const char *regex_check(const struct policy *p, const char *text,
    size_t len, char *why, size_t whycap)
{
	if (p->has_regex_all) {
		regmatch_t m = { .rm_so = 0, .rm_eo = (regoff_t)len };
		if (regexec(&p->regex_all, text, 1, &m, REG_STARTEND) != 0)
			return NULL;
	}
	for (unsigned i = 0; i < p->nregexes; i++) {
		regmatch_t m = { .rm_so = 0, .rm_eo = (regoff_t)len };
		if (regexec(&p->regexes[i].re, text, 1, &m, REG_STARTEND) == 0) {
			snprintf(why, whycap, "matched a content rule");
			return p->regexes[i].rule;
		}
	}
	return NULL;
}

/* The cheap rules first: regexes cost the most per byte. */
const char *content_check(const struct policy *p, const char *text,
    size_t len, char *why, size_t whycap)
{
	const char *rule;
	if (p->lexicon.count && (rule = lexicon_check(p, text, len, why, whycap)))
		return rule;
	if (p->shorteners.count && (rule = url_check(p, text, len, why, whycap)))
		return rule;
	return regex_check(p, text, len, why, whycap);
}
