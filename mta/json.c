/*
 * JSON writer and reader for the admin API (see json.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mta/json.h"

/* ---- writing ---- */

void json_out_init(struct json_out *j)
{
	memset(j, 0, sizeof(*j));
	j->first[0] = 1;
}

void json_out_free(struct json_out *j)
{
	free(j->buf);
	json_out_init(j);
}

char *json_out_take(struct json_out *j, size_t *len)
{
	char *b = j->failed ? NULL : j->buf;
	if (len)
		*len = j->len;
	if (j->failed)
		free(j->buf);
	json_out_init(j);
	return b;
}

static void put(struct json_out *j, const char *s, size_t n)
{
	if (j->failed)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 256;
		while (cap < j->len + n + 1)
			cap *= 2;
		char *b = realloc(j->buf, cap);
		if (!b) {
			j->failed = 1;
			return;
		}
		j->buf = b;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void putf(struct json_out *j, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(tmp))
		put(j, tmp, (size_t)n);
	else
		j->failed = 1;
}

/* Before a key or value: a comma unless it is the first at this depth. */
static void sep(struct json_out *j)
{
	if (j->first[j->depth])
		j->first[j->depth] = 0;
	else
		put(j, ",", 1);
}

static void open_(struct json_out *j, char ch)
{
	put(j, &ch, 1);
	if (j->depth + 1 >= JSON_MAX_DEPTH) {
		j->failed = 1;
		return;
	}
	j->first[++j->depth] = 1;
}

static void close_(struct json_out *j, char ch)
{
	if (j->depth == 0) {
		j->failed = 1;
		return;
	}
	j->depth--;
	put(j, &ch, 1);
}

/* A value right after its key takes no comma of its own. */
static void value_sep(struct json_out *j)
{
	if (j->after_key)
		j->after_key = 0;
	else
		sep(j);
}

void json_obj(struct json_out *j) { value_sep(j); open_(j, '{'); }
void json_obj_end(struct json_out *j) { close_(j, '}'); }
void json_arr(struct json_out *j) { value_sep(j); open_(j, '['); }
void json_arr_end(struct json_out *j) { close_(j, ']'); }

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t want;
	unsigned cp;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	want = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n < want)
		return 0;
	cp = s[0] & (0x7f >> want);
	for (size_t i = 1; i < want; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((want == 3 && cp < 0x800) || (want == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return want;
}

static void put_string(struct json_out *j, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	put(j, "\"", 1);
	for (size_t i = 0; i < n;) {
		size_t run = i;
		while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
			run++;
		put(j, s + i, run - i);
		if (run == n)
			break;
		i = run;
		if (p[i] == '"' || p[i] == '\\') {
			char e[2] = { '\\', (char)p[i] };
			put(j, e, 2);
			i++;
		} else if (p[i] < 0x20) {
			putf(j, "\\u%04x", p[i]);
			i++;
		} else {
			size_t u = utf8_len(p + i, n - i);
			if (u)
				put(j, s + i, u);
			else
				put(j, "\\ufffd", 6);
			i += u ? u : 1;
		}
	}
	put(j, "\"", 1);
}

void json_key(struct json_out *j, const char *key)
{
	sep(j);
	put_string(j, key, strlen(key));
	put(j, ":", 1);
	j->after_key = 1;
}

void json_strn(struct json_out *j, const char *s, size_t n)
{
	value_sep(j);
	put_string(j, s, n);
}

void json_str(struct json_out *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	json_strn(j, s, strlen(s));
}

void json_int(struct json_out *j, int64_t v) { value_sep(j); putf(j, "%lld", (long long)v); }
void json_uint(struct json_out *j, uint64_t v) { value_sep(j); putf(j, "%llu", (unsigned long long)v); }
void json_bool(struct json_out *j, int v) { value_sep(j); put(j, v ? "true" : "false", v ? 4 : 5); }
void json_null(struct json_out *j) { value_sep(j); put(j, "null", 4); }

void json_num(struct json_out *j, double v)
{
	if (!isfinite(v)) {
		json_null(j);
		return;
	}
	value_sep(j);
	putf(j, "%.17g", v);
}

void json_kstr(struct json_out *j, const char *key, const char *s) { json_key(j, key); json_str(j, s); }
void json_kint(struct json_out *j, const char *key, int64_t v) { json_key(j, key); json_int(j, v); }
void json_kuint(struct json_out *j, const char *key, uint64_t v) { json_key(j, key); json_uint(j, v); }
void json_kbool(struct json_out *j, const char *key, int v) { json_key(j, key); json_bool(j, v); }

/* ---- reading ---- */

struct parser {
	const char *s;
	size_t len, pos;
	struct json_doc *doc;
	char *err;
	size_t errcap;
};

static int fail(struct parser *p, const char *what)
{
	snprintf(p->err, p->errcap, "at byte %zu: %s", p->pos, what);
	return -1;
}

static void ws(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
	    p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int32_t new_node(struct parser *p, enum json_type t)
{
	struct json_doc *d = p->doc;
	if (d->n >= JSON_MAX_NODES)
		return fail(p, "too many values");
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct json_node *nn = realloc(d->nodes, cap * sizeof(*nn));
		if (!nn)
			return fail(p, "out of memory");
		d->nodes = nn;
		d->cap = cap;
	}
	d->nodes[d->n] = (struct json_node){ .type = t, .child = -1, .next = -1 };
	return (int32_t)d->n++;
}

static int hex4(struct parser *p, unsigned *out)
{
	unsigned v = 0;
	if (p->len - p->pos < 4)
		return fail(p, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = p->s[p->pos++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return fail(p, "bad \\u escape");
	}
	*out = v;
	return 0;
}

static void put_utf8(char **o, unsigned cp)
{
	char *w = *o;
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xc0 | cp >> 6);
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | cp >> 12);
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | cp >> 18);
		*w++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = w;
}

/* A string at p->pos (the quote); decoded into the doc's text. */
static int string(struct parser *p, const char **out, size_t *outlen)
{
	struct json_doc *d = p->doc;
	char *start = d->text + d->tlen, *o = start;
	p->pos++;
	for (;;) {
		if (p->pos >= p->len)
			return fail(p, "unterminated string");
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(p, "control character in a string");
		if (c != '\\') {
			*o++ = (char)c;
			p->pos++;
			continue;
		}
		if (++p->pos >= p->len)
			return fail(p, "unterminated string");
		char e = p->s[p->pos++];
		static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
		const char *hit = e ? strchr(from, e) : NULL;
		if (hit) {
			*o++ = to[hit - from];
			continue;
		}
		if (e != 'u') {
			p->pos--;
			return fail(p, "bad escape");
		}
		unsigned cp, lo;
		if (hex4(p, &cp) < 0)
			return -1;
		if (cp >= 0xd800 && cp < 0xdc00) {
			if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
				return fail(p, "lone surrogate");
			p->pos += 2;
			if (hex4(p, &lo) < 0)
				return -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				return fail(p, "bad surrogate pair");
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			return fail(p, "lone surrogate");
		}
		if (cp == 0)
			return fail(p, "NUL in a string");
		put_utf8(&o, cp);
	}
	p->pos++;
	*o++ = '\0';
	*out = start;
	*outlen = (size_t)(o - start - 1);
	d->tlen += (size_t)(o - start);
	return 0;
}

static int number(struct parser *p, int32_t n)
{
	size_t st = p->pos;
	const char *s = p->s;
	if (p->pos < p->len && s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || s[p->pos] < '0' || s[p->pos] > '9')
		return fail(p, "bad number");
	if (s[p->pos] == '0')
		p->pos++;
	else
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	if (p->pos < p->len && s[p->pos] == '.') {
		size_t d0 = ++p->pos;
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
		if (p->pos == d0)
			return fail(p, "bad number");
	}
	if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
			p->pos++;
		size_t d0 = p->pos;
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
		if (p->pos == d0)
			return fail(p, "bad number");
	}
	struct json_doc *d = p->doc;
	char *t = d->text + d->tlen;
	memcpy(t, s + st, p->pos - st);
	t[p->pos - st] = '\0';
	d->tlen += p->pos - st + 1;
	d->nodes[n].str = t;
	d->nodes[n].len = p->pos - st;
	d->nodes[n].num = strtod(t, NULL);
	return 0;
}

static int32_t value(struct parser *p, unsigned depth);

/* Members of an array or object, linked as children of n. */
static int members(struct parser *p, int32_t n, unsigned depth, int object)
{
	char close = object ? '}' : ']';
	int32_t last = -1;
	p->pos++;
	ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		const char *key = NULL;
		size_t klen;
		ws(p);
		if (object) {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return fail(p, "expected a member name");
			if (string(p, &key, &klen) < 0)
				return -1;
			ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return fail(p, "expected ':'");
			p->pos++;
		}
		int32_t m = value(p, depth + 1);
		if (m < 0)
			return -1;
		p->doc->nodes[m].key = key;
		if (last < 0)
			p->doc->nodes[n].child = m;
		else
			p->doc->nodes[last].next = m;
		last = m;
		p->doc->nodes[n].count++;
		ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return 0;
		}
		return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return fail(p, "unexpected character");
	p->pos += n;
	return 0;
}

static int32_t value(struct parser *p, unsigned depth)
{
	if (depth >= JSON_MAX_DEPTH)
		return fail(p, "nested too deep");
	ws(p);
	if (p->pos >= p->len)
		return fail(p, "expected a value");
	char c = p->s[p->pos];
	int32_t n;
	switch (c) {
	case '{':
	case '[':
		n = new_node(p, c == '{' ? JSON_OBJECT : JSON_ARRAY);
		if (n < 0 || members(p, n, depth, c == '{') < 0)
			return -1;
		return n;
	case '"':
		n = new_node(p, JSON_STRING);
		if (n < 0)
			return -1;
		const char *s;
		size_t len;
		if (string(p, &s, &len) < 0)
			return -1;
		p->doc->nodes[n].str = s;
		p->doc->nodes[n].len = len;
		return n;
	case 't':
		return literal(p, "true") < 0 ? -1 : new_node(p, JSON_TRUE);
	case 'f':
		return literal(p, "false") < 0 ? -1 : new_node(p, JSON_FALSE);
	case 'n':
		return literal(p, "null") < 0 ? -1 : new_node(p, JSON_NULL);
	default:
		if (c != '-' && (c < '0' || c > '9'))
			return fail(p, "unexpected character");
		n = new_node(p, JSON_NUMBER);
		return n < 0 || number(p, n) < 0 ? -1 : n;
	}
}

int json_parse(const char *in, size_t len, struct json_doc *doc, char *err, size_t errcap)
{
	memset(doc, 0, sizeof(*doc));
	struct parser p = { in, len, 0, doc, err, errcap };
	/* decoded text never outgrows the input, plus a NUL per value */
	doc->tcap = 2 * len + 16;
	doc->text = malloc(doc->tcap);
	if (!doc->text) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	if (value(&p, 0) < 0) {
		json_free(doc);
		return -1;
	}
	ws(&p);
	if (p.pos != len) {
		fail(&p, "text after the value");
		json_free(doc);
		return -1;
	}
	return 0;
}

void json_free(struct json_doc *doc)
{
	free(doc->nodes);
	free(doc->text);
	memset(doc, 0, sizeof(*doc));
}

const struct json_node *json_root(const struct json_doc *doc)
{
	return doc->n ? &doc->nodes[0] : NULL;
}

const struct json_node *json_first(const struct json_doc *doc, const struct json_node *n)
{
	return n && n->child >= 0 ? &doc->nodes[n->child] : NULL;
}

const struct json_node *json_next(const struct json_doc *doc, const struct json_node *n)
{
	return n && n->next >= 0 ? &doc->nodes[n->next] : NULL;
}

const struct json_node *json_get(const struct json_doc *doc, const struct json_node *obj,
    const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (const struct json_node *m = json_first(doc, obj); m; m = json_next(doc, m))
		if (m->key && strcmp(m->key, key) == 0)
			return m;
	return NULL;
}

const char *json_text(const struct json_doc *doc, const struct json_node *obj, const char *key)
{
	const struct json_node *m = key ? json_get(doc, obj, key) : obj;
	if (!m)
		return "";
	switch (m->type) {
	case JSON_STRING:
	case JSON_NUMBER: return m->str;
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	default: return "";
	}
}
