/*
 * conf/smppd.yaml: load with libyaml's document API, then walk the tree with
 * one field table per section.  Each table row names a key, its type, where
 * it goes in the struct and its bounds; parse_map() does unknown keys,
 * duplicate keys, required keys and dispatch, so a new setting is one row
 * (plus its default in set_defaults() and its comment in conf/smppd.yaml).
 *
 * Sections are processed in table order, not file order, so a later section
 * can check references into an earlier one (routes -> carriers) while it is
 * being parsed and point at the offending line.  The first error wins.
 */
#define _GNU_SOURCE 1  /* asprintf, strndup */
#include "mta/config.h"
#include "base/hash.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <yaml.h>

#define FILE_MAX    (4u << 20)  /* a config file larger than this is a mistake */
#define STRING_MAX  4096        /* any single string value */
#define SECRET_FILE_MAX 4096
#define NAME_MAX_LEN 64         /* listener/carrier/campaign names */

/* ---------------------------------------------------------------------- */
/* Parse context and error reporting                                      */

#define CTX_PATH_MAX 256

struct ctx {
	const char *file;
	char *dir;                  /* of FILE; NULL when FILE has no slash */
	char *err;
	size_t errcap;
	yaml_document_t *doc;
	struct config *cfg;
	char path[CTX_PATH_MAX];    /* "accounts[2].window", for messages */
	char qbuf[80];              /* quote() output */
	int secret_line;            /* first inline secret, 0 = none */
	char secret_what[CTX_PATH_MAX]; /* path where it was */
	mode_t file_mode;
};

static int fail_line(struct ctx *c, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int vfail(struct ctx *c, size_t line, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (c->errcap > 0)
		snprintf(c->err, c->errcap, "%s:%zu: %s%s%s", c->file, line,
		    c->path, c->path[0] ? ": " : "", msg);
	return -1;
}

static int fail_line(struct ctx *c, size_t line, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(c, line, fmt, ap);
	va_end(ap);
	return rc;
}

static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(c, n ? n->start_mark.line + 1 : 1, fmt, ap);
	va_end(ap);
	return rc;
}

/* Append ".key" or "[i]" to the message path; returns the length to restore. */
static size_t path_key(struct ctx *c, const char *key)
{
	size_t old = strlen(c->path);

	snprintf(c->path + old, sizeof(c->path) - old, "%s%s",
	    old ? "." : "", key);
	return old;
}

static size_t path_index(struct ctx *c, size_t i)
{
	size_t old = strlen(c->path);

	snprintf(c->path + old, sizeof(c->path) - old, "[%zu]", i);
	return old;
}

static void path_pop(struct ctx *c, size_t old)
{
	c->path[old] = '\0';
}

/* ---------------------------------------------------------------------- */
/* Node helpers                                                           */

static yaml_node_t *node(struct ctx *c, int idx)
{
	return yaml_document_get_node(c->doc, idx);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = sval(n);
	return n->data.scalar.length == 0 || strcmp(s, "~") == 0 ||
	    strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	    strcmp(s, "NULL") == 0;
}

static const char *kind(const yaml_node_t *n)
{
	if (is_null(n))
		return "nothing (null)";
	switch (n->type) {
	case YAML_MAPPING_NODE: return "a mapping";
	case YAML_SEQUENCE_NODE: return "a list";
	default: return "a scalar";
	}
}

/* A scalar's text, shortened and quoted for a message. */
static const char *quote(struct ctx *c, const yaml_node_t *n)
{
	const char *s = sval(n);
	size_t len = n->data.scalar.length;

	if (len > 40)
		snprintf(c->qbuf, sizeof(c->qbuf), "'%.32s...' (%zu bytes)", s, len);
	else
		snprintf(c->qbuf, sizeof(c->qbuf), "'%s'", s);
	return c->qbuf;
}

/* Levenshtein distance, capped; for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[65], cur[65];

	if (la > 64 || lb > 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] +
			    (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(prev));
	}
	return prev[lb];
}

/* ---------------------------------------------------------------------- */
/* Value syntax: numbers, durations, sizes, rates, addresses, networks    */

static int parse_ll(const char *s, long long *out, const char **why)
{
	char *end;
	const char *p = s;

	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p)) {
		*why = "expected an integer";
		return -1;
	}
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno == ERANGE) {
		*why = "number too large";
		return -1;
	}
	if (*end != '\0') {
		*why = "expected an integer";
		return -1;
	}
	return 0;
}

static const struct unit {
	const char *name;
	uint64_t mult;
} duration_units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	{ "d", 86400000 }, { NULL, 0 },
}, size_units[] = {
	{ "", 1 }, { "B", 1 },
	{ "KiB", 1ull << 10 }, { "MiB", 1ull << 20 }, { "GiB", 1ull << 30 },
	{ "TiB", 1ull << 40 },
	{ "KB", 1000ull }, { "MB", 1000000ull }, { "GB", 1000000000ull },
	{ "TB", 1000000000000ull }, { NULL, 0 },
};

/* "1h30m", "500ms", "30s", "0".  Each part is digits and a unit. */
static int parse_duration(const char *s, uint64_t *out)
{
	uint64_t total = 0;
	const char *p = s;

	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (*p == '\0')
		return -1;
	while (*p) {
		uint64_t v = 0, part;
		size_t ulen = 0;
		const struct unit *u;

		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			if (__builtin_mul_overflow(v, 10, &v) ||
			    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
				return -1;
			p++;
		}
		while (isalpha((unsigned char)p[ulen]))
			ulen++;
		for (u = duration_units; u->name; u++)
			if (strlen(u->name) == ulen && strncmp(p, u->name, ulen) == 0)
				break;
		if (!u->name)
			return -1;
		if (__builtin_mul_overflow(v, u->mult, &part) ||
		    __builtin_add_overflow(total, part, &total))
			return -1;
		p += ulen;
	}
	*out = total;
	return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;
	const struct unit *u;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			return -1;
		p++;
	}
	for (u = size_units; u->name; u++)
		if (strcmp(p, u->name) == 0)
			break;
	if (!u->name || __builtin_mul_overflow(v, u->mult, out))
		return -1;
	return 0;
}

/* "100/s", "600/min", "3600/h", or a bare number of messages per second. */
static int parse_rate(const char *s, double *out)
{
	static const struct { const char *name; double secs; } per[] = {
		{ "s", 1 }, { "sec", 1 }, { "second", 1 },
		{ "m", 60 }, { "min", 60 }, { "minute", 60 },
		{ "h", 3600 }, { "hour", 3600 },
	};
	char *end;
	double v;

	if (!isdigit((unsigned char)*s) && *s != '.')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || !isfinite(v) || end == s)
		return -1;
	if (*end == '\0') {
		*out = v;
		return 0;
	}
	if (*end != '/')
		return -1;
	end++;
	for (size_t i = 0; i < sizeof(per) / sizeof(per[0]); i++) {
		if (strcmp(end, per[i].name) == 0) {
			*out = v / per[i].secs;
			return 0;
		}
	}
	return -1;
}

static void fmt_duration(uint64_t ms, char *buf, size_t cap)
{
	if (ms == 0)
		snprintf(buf, cap, "0");
	else if (ms % 86400000 == 0)
		snprintf(buf, cap, "%llud", (unsigned long long)(ms / 86400000));
	else if (ms % 3600000 == 0)
		snprintf(buf, cap, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms % 60000 == 0)
		snprintf(buf, cap, "%llum", (unsigned long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(buf, cap, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, cap, "%llums", (unsigned long long)ms);
}

static void fmt_size(uint64_t b, char *buf, size_t cap)
{
	static const char *names[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (i < 4 && b >= 1024 && b % 1024 == 0) {
		b /= 1024;
		i++;
	}
	snprintf(buf, cap, "%llu%s", (unsigned long long)b, names[i]);
}

/* "1.2.3.4:25", "[::1]:25".  Numeric only: listeners bind before DNS. */
static int parse_addr(const char *s, struct config_addr *a, const char **why)
{
	const char *host = s, *colon, *port;
	size_t hlen;
	long long p;
	const char *w;

	memset(a, 0, sizeof(*a));
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close) {
			*why = "missing ']' after the IPv6 address";
			return -1;
		}
		host = s + 1;
		hlen = (size_t)(close - host);
		if (close[1] != ':') {
			*why = "missing port (write [ADDRESS]:PORT)";
			return -1;
		}
		port = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			*why = "missing port (write ADDRESS:PORT)";
			return -1;
		}
		if (memchr(s, ':', (size_t)(colon - s))) {
			*why = "an IPv6 address needs brackets, as in [::1]:2775";
			return -1;
		}
		hlen = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(a->host)) {
		*why = "missing or overlong address before the port";
		return -1;
	}
	if (parse_ll(port, &p, &w) < 0 || *port == '-' || *port == '+' ||
	    p < 0 || p > 65535) {
		*why = "port must be a number from 0 to 65535";
		return -1;
	}
	memcpy(a->host, host, hlen);
	a->host[hlen] = '\0';
	a->port = (int)p;
	if (inet_pton(AF_INET, a->host, &((struct sockaddr_in *)&a->sa)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->sa;

		a->family = sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		a->salen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, a->host,
	    &((struct sockaddr_in6 *)&a->sa)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->sa;

		a->family = sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		a->salen = sizeof(*sin6);
	} else {
		*why = "not a numeric IPv4 or IPv6 address";
		return -1;
	}
	return 0;
}

static int parse_cidr(const char *s, struct config_cidr *n, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	int bits;

	memset(n, 0, sizeof(*n));
	if (strlen(s) >= sizeof(buf)) {
		*why = "not an address or network";
		return -1;
	}
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, n->addr) == 1) {
		n->family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		n->family = AF_INET6;
		bits = 128;
	} else {
		*why = "not an IPv4 or IPv6 address or network";
		return -1;
	}
	n->prefix = bits;
	if (slash) {
		long long p;
		const char *w;

		if (parse_ll(slash, &p, &w) < 0 || *slash == '-' || *slash == '+' ||
		    p < 0 || p > bits) {
			*why = n->family == AF_INET ? "prefix length must be 0 to 32"
			    : "prefix length must be 0 to 128";
			return -1;
		}
		n->prefix = (int)p;
	}
	for (int i = n->prefix; i < bits; i++) {
		if (n->addr[i / 8] & (0x80 >> (i % 8))) {
			*why = "host bits are set below the prefix length";
			return -1;
		}
	}
	return 0;
}

/* Host names for carriers: letters, digits, '-', '.', or an IPv6 literal. */
static int valid_host(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 253)
		return 0;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != ':')
			return 0;
	return 1;
}

static int is_loopback(const struct config_addr *a)
{
	if (a->family == AF_INET)
		return ((const uint8_t *)&((const struct sockaddr_in *)&a->sa)->sin_addr)[0] == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&a->sa)->sin6_addr);
}

/* ---------------------------------------------------------------------- */
/* Field tables                                                           */

enum ftype {
	F_STR,          /* char *; min/max = length bounds */
	F_PATH,         /* char *, resolved against the config directory */
	F_SECRET,       /* char *; makes a world-readable file an error */
	F_INT,          /* int; min/max */
	F_BOOL,         /* bool */
	F_DURATION,     /* uint64_t ms; min/max */
	F_SIZE,         /* uint64_t bytes; min/max */
	F_RATE,         /* double per second; max */
	F_ENUM,         /* int, from names */
	F_ADDR,         /* struct config_addr */
	F_STRLIST,      /* char **, count at off_n; max = item length */
	F_CIDRLIST,     /* struct config_cidr *, count at off_n */
	F_SUB,          /* sub(ctx, node, obj + off) */
};

struct enum_name {
	const char *name;
	int value;
};

struct field {
	const char *name;
	enum ftype type;
	size_t off;
	long long min, max;
	unsigned flags;
	const struct enum_name *names;
	int (*sub)(struct ctx *, yaml_node_t *, void *);
	size_t off_n;
};

#define REQ 1u
#define NOTNULL 2u      /* "key:" with no value is an error, not "absent" */

#define FSTR(n, s, m, lo, hi, fl) { n, F_STR, offsetof(s, m), lo, hi, fl, NULL, NULL, 0 }
#define FPATH(n, s, m, fl)        { n, F_PATH, offsetof(s, m), 1, PATH_MAX - 1, fl, NULL, NULL, 0 }
#define FSECRET(n, s, m, lo, hi)  { n, F_SECRET, offsetof(s, m), lo, hi, 0, NULL, NULL, 0 }
#define FINT(n, s, m, lo, hi, fl) { n, F_INT, offsetof(s, m), lo, hi, fl, NULL, NULL, 0 }
#define FBOOL(n, s, m)            { n, F_BOOL, offsetof(s, m), 0, 0, 0, NULL, NULL, 0 }
#define FDUR(n, s, m, lo, hi)     { n, F_DURATION, offsetof(s, m), lo, hi, 0, NULL, NULL, 0 }
#define FSIZE(n, s, m, lo, hi)    { n, F_SIZE, offsetof(s, m), lo, hi, 0, NULL, NULL, 0 }
#define FRATE(n, s, m, hi)        { n, F_RATE, offsetof(s, m), 0, hi, 0, NULL, NULL, 0 }
#define FENUM(n, s, m, tab)       { n, F_ENUM, offsetof(s, m), 0, 0, 0, tab, NULL, 0 }
#define FADDR(n, s, m, fl)        { n, F_ADDR, offsetof(s, m), 0, 0, fl, NULL, NULL, 0 }
#define FSTRLIST(n, s, m, cnt, hi, fl) { n, F_STRLIST, offsetof(s, m), 1, hi, fl, NULL, NULL, offsetof(s, cnt) }
#define FCIDRS(n, s, m, cnt)      { n, F_CIDRLIST, offsetof(s, m), 0, 0, 0, NULL, NULL, offsetof(s, cnt) }
#define FSUB(n, s, m, fn, fl)     { n, F_SUB, offsetof(s, m), 0, 0, fl, NULL, fn, 0 }
#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static const struct enum_name seg_names[] = {
	{ "udh8", CONFIG_SEG_UDH8 }, { "udh16", CONFIG_SEG_UDH16 },
	{ "sar", CONFIG_SEG_SAR }, { "payload", CONFIG_SEG_PAYLOAD }, { NULL, 0 },
};
static const struct enum_name bind_names[] = {
	{ "transceiver", CONFIG_BIND_TRANSCEIVER },
	{ "transmitter_receiver", CONFIG_BIND_TX_RX }, { "transmitter", CONFIG_BIND_TX },
	{ NULL, 0 },
};
static const struct enum_name listen_mode_names[] = {
	{ "bind", CONFIG_LISTEN_BIND }, { "outbind", CONFIG_LISTEN_OUTBIND }, { NULL, 0 },
};
static const struct enum_name msgid_names[] = {
	{ "auto", CONFIG_MSGID_AUTO }, { "as_is", CONFIG_MSGID_AS_IS },
	{ "hex_resp_dec_receipt", CONFIG_MSGID_HEX_RESP_DEC_RECEIPT },
	{ "dec_resp_hex_receipt", CONFIG_MSGID_DEC_RESP_HEX_RECEIPT }, { NULL, 0 },
};
static const struct enum_name level_names[] = {
	{ "debug", CONFIG_LOG_DEBUG }, { "info", CONFIG_LOG_INFO },
	{ "warn", CONFIG_LOG_WARN }, { "error", CONFIG_LOG_ERROR }, { NULL, 0 },
};
static const struct enum_name target_names[] = {
	{ "stderr", CONFIG_LOG_STDERR }, { "syslog", CONFIG_LOG_SYSLOG }, { NULL, 0 },
};
static const struct enum_name tlsver_names[] = {
	{ "TLSv1.2", CONFIG_TLS_1_2 }, { "TLSv1.3", CONFIG_TLS_1_3 },
	{ "1.2", CONFIG_TLS_1_2 }, { "1.3", CONFIG_TLS_1_3 }, { NULL, 0 },
};

static int parse_map(struct ctx *c, yaml_node_t *n, void *obj,
    const struct field *fields, size_t nf, yaml_node_t **vals);

/* ---------------------------------------------------------------------- */
/* Scalar fields                                                          */

static int want_scalar(struct ctx *c, yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return fail(c, n, "expected %s, got %s", what, kind(n));
	return 0;
}

static char *join_path(struct ctx *c, const char *p)
{
	char *out;

	if (p[0] == '/' || c->dir == NULL)
		return strdup(p);
	if (asprintf(&out, "%s/%s", c->dir, p) < 0)
		return NULL;
	return out;
}

static int set_string(struct ctx *c, const struct field *f, yaml_node_t *n,
    char **dst)
{
	size_t len;

	if (want_scalar(c, n, "a string") < 0)
		return -1;
	len = n->data.scalar.length;
	if (memchr(sval(n), '\0', len))
		return fail(c, n, "contains a NUL byte");
	if ((long long)len < f->min)
		return fail(c, n, f->min == 1 ? "must not be empty" :
		    "too short (%zu characters, at least %lld)", len, f->min);
	if ((long long)len > f->max)
		return fail(c, n, "too long (%zu bytes, at most %lld)", len, f->max);
	free(*dst);
	*dst = f->type == F_PATH ? join_path(c, sval(n)) : strdup(sval(n));
	if (!*dst)
		return fail(c, n, "out of memory");
	return 0;
}

static int set_enum(struct ctx *c, const struct field *f, yaml_node_t *n,
    int *dst)
{
	char list[256] = "";

	if (want_scalar(c, n, "a name") < 0)
		return -1;
	for (const struct enum_name *e = f->names; e->name; e++) {
		if (strcasecmp(e->name, sval(n)) == 0) {
			*dst = e->value;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
		    list[0] ? ", " : "", e->name);
	}
	return fail(c, n, "expected one of %s; got %s", list, quote(c, n));
}

static int set_strlist(struct ctx *c, const struct field *f, yaml_node_t *n,
    char ***dst, size_t *cnt)
{
	yaml_node_item_t *it;
	size_t count, i = 0;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "expected a list, got %s", kind(n));
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	*dst = calloc(count ? count : 1, sizeof(char *));
	if (!*dst)
		return fail(c, n, "out of memory");
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, i++) {
		yaml_node_t *item = node(c, *it);
		size_t old = path_index(c, i);

		if (set_string(c, f, item, &(*dst)[i]) < 0)
			return -1;
		*cnt = i + 1;
		for (size_t j = 0; j < i; j++)
			if (strcmp((*dst)[j], (*dst)[i]) == 0)
				return fail(c, item, "%s is listed twice", quote(c, item));
		path_pop(c, old);
	}
	return 0;
}

static int set_cidrs(struct ctx *c, yaml_node_t *n, struct config_cidr **dst,
    size_t *cnt)
{
	yaml_node_item_t *it;
	size_t count, i = 0;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "expected a list, got %s", kind(n));
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	*dst = calloc(count ? count : 1, sizeof(**dst));
	if (!*dst)
		return fail(c, n, "out of memory");
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, i++) {
		yaml_node_t *item = node(c, *it);
		size_t old = path_index(c, i);
		const char *why;

		if (want_scalar(c, item, "a network like 10.0.0.0/8") < 0)
			return -1;
		if (parse_cidr(sval(item), &(*dst)[i], &why) < 0)
			return fail(c, item, "bad network %s: %s", quote(c, item), why);
		*cnt = i + 1;
		path_pop(c, old);
	}
	return 0;
}

static int set_field(struct ctx *c, const struct field *f, yaml_node_t *n,
    void *obj)
{
	void *dst = (char *)obj + f->off;
	const char *why = NULL;
	char lo[32], hi[32], got[32];
	long long v;
	uint64_t u;
	double d;

	switch (f->type) {
	case F_SUB:
		return f->sub(c, n, dst);
	case F_STRLIST:
		return set_strlist(c, f, n, (char ***)dst,
		    (size_t *)((char *)obj + f->off_n));
	case F_CIDRLIST:
		return set_cidrs(c, n, (struct config_cidr **)dst,
		    (size_t *)((char *)obj + f->off_n));
	case F_ENUM:
		return set_enum(c, f, n, (int *)dst);
	case F_STR:
	case F_PATH:
		return set_string(c, f, n, (char **)dst);
	case F_SECRET:
		if (set_string(c, f, n, (char **)dst) < 0)
			return -1;
		if (c->secret_line == 0 && n->data.scalar.length > 0) {
			c->secret_line = (int)n->start_mark.line + 1;
			snprintf(c->secret_what, sizeof(c->secret_what), "%s", c->path);
		}
		return 0;
	default:
		break;
	}
	{
		static const char *what[] = {
			[F_INT] = "an integer", [F_BOOL] = "true or false",
			[F_DURATION] = "a duration", [F_SIZE] = "a size",
			[F_RATE] = "a rate", [F_ADDR] = "an ADDRESS:PORT",
		};

		if (want_scalar(c, n, what[f->type] ? what[f->type] : "a value") < 0)
			return -1;
	}
	switch (f->type) {
	case F_INT:
		if (parse_ll(sval(n), &v, &why) < 0)
			return fail(c, n, "%s, got %s", why, quote(c, n));
		if (v < f->min || v > f->max)
			return fail(c, n, "must be between %lld and %lld, got %lld",
			    f->min, f->max, v);
		*(int *)dst = (int)v;
		return 0;
	case F_BOOL: {
		static const char *yes[] = { "true", "yes", "on" };
		static const char *no[] = { "false", "no", "off" };

		for (int i = 0; i < 3; i++) {
			if (strcasecmp(sval(n), yes[i]) == 0) {
				*(bool *)dst = true;
				return 0;
			}
			if (strcasecmp(sval(n), no[i]) == 0) {
				*(bool *)dst = false;
				return 0;
			}
		}
		return fail(c, n, "expected true or false, got %s", quote(c, n));
	}
	case F_DURATION:
		if (parse_duration(sval(n), &u) < 0)
			return fail(c, n, "bad duration %s (write e.g. 500ms, 30s, "
			    "5m, 1h, 7d or 1m30s)", quote(c, n));
		if (u < (uint64_t)f->min || u > (uint64_t)f->max) {
			fmt_duration((uint64_t)f->min, lo, sizeof(lo));
			fmt_duration((uint64_t)f->max, hi, sizeof(hi));
			fmt_duration(u, got, sizeof(got));
			return fail(c, n, "must be between %s and %s, got %s", lo, hi, got);
		}
		*(uint64_t *)dst = u;
		return 0;
	case F_SIZE:
		if (parse_size(sval(n), &u) < 0)
			return fail(c, n, "bad size %s (write a number of bytes or use "
			    "KiB, MiB, GiB, TiB, KB, MB, GB, TB)", quote(c, n));
		if (u < (uint64_t)f->min || u > (uint64_t)f->max) {
			fmt_size((uint64_t)f->min, lo, sizeof(lo));
			fmt_size((uint64_t)f->max, hi, sizeof(hi));
			fmt_size(u, got, sizeof(got));
			return fail(c, n, "must be between %s and %s, got %s", lo, hi, got);
		}
		*(uint64_t *)dst = u;
		return 0;
	case F_RATE:
		if (parse_rate(sval(n), &d) < 0)
			return fail(c, n, "bad rate %s (write e.g. 100/s, 600/min, "
			    "3600/h; 0 means unlimited)", quote(c, n));
		if (d > (double)f->max)
			return fail(c, n, "must be at most %lld/s, got %g/s", f->max, d);
		*(double *)dst = d;
		return 0;
	case F_ADDR:
		if (parse_addr(sval(n), (struct config_addr *)dst, &why) < 0)
			return fail(c, n, "bad address %s: %s", quote(c, n), why);
		return 0;
	default:
		return fail(c, n, "internal error: field type %d", (int)f->type);
	}
}

/*
 * Walk mapping N: refuse unknown and duplicate keys, then set each field in
 * table order.  VALS (nf entries) receives each key's value node or NULL,
 * so that callers can point cross-field errors at the right line.
 */
static int parse_map(struct ctx *c, yaml_node_t *n, void *obj,
    const struct field *fields, size_t nf, yaml_node_t **vals)
{
	yaml_node_t *keys[32];
	yaml_node_pair_t *pair;

	if (nf > 32)
		return fail(c, n, "internal error: table too large");
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "expected a mapping of keys, got %s", kind(n));
	memset(keys, 0, sizeof(keys));
	for (size_t i = 0; i < nf; i++)
		vals[i] = NULL;
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node(c, pair->key);
		size_t i;

		if (k->type != YAML_SCALAR_NODE)
			return fail(c, k, "keys must be plain names, got %s", kind(k));
		for (i = 0; i < nf; i++)
			if (strcmp(fields[i].name, sval(k)) == 0)
				break;
		if (i == nf) {
			const char *best = NULL;
			size_t bestd = 3;

			for (size_t j = 0; j < nf; j++) {
				size_t d = edit_distance(sval(k), fields[j].name);

				if (d < bestd) {
					bestd = d;
					best = fields[j].name;
				}
			}
			if (best)
				return fail(c, k, "unknown key %s (did you mean '%s'?)",
				    quote(c, k), best);
			return fail(c, k, "unknown key %s", quote(c, k));
		}
		if (keys[i])
			return fail(c, k, "duplicate key '%s' (first at line %zu)",
			    fields[i].name, keys[i]->start_mark.line + 1);
		keys[i] = k;
		vals[i] = node(c, pair->value);
	}
	for (size_t i = 0; i < nf; i++) {
		size_t old;
		int rc;

		if (vals[i] && is_null(vals[i]) && (fields[i].flags & NOTNULL))
			return fail(c, vals[i], "'%s' has no value: write %s: {} "
			    "for the defaults, or leave the key out",
			    fields[i].name, fields[i].name);
		if (!vals[i] || is_null(vals[i])) {
			if (fields[i].flags & REQ)
				return fail(c, vals[i] ? vals[i] : n,
				    "missing required key '%s'", fields[i].name);
			vals[i] = NULL;
			continue;
		}
		old = path_key(c, fields[i].name);
		rc = set_field(c, &fields[i], vals[i], obj);
		if (rc < 0)
			return -1;
		path_pop(c, old);
	}
	return 0;
}

static yaml_node_t *val_of(const struct field *fields, size_t nf,
    yaml_node_t **vals, const char *name)
{
	for (size_t i = 0; i < nf; i++)
		if (strcmp(fields[i].name, name) == 0)
			return vals[i];
	return NULL;
}

/* Parse a list of mappings into a calloc'd array of ELEM-byte structs. */
static int parse_list(struct ctx *c, yaml_node_t *n, size_t elem, void **arr,
    size_t *cnt, int (*one)(struct ctx *, yaml_node_t *, void *, size_t))
{
	yaml_node_item_t *it;
	size_t count, i = 0;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "expected a list, got %s", kind(n));
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	*arr = calloc(count ? count : 1, elem);
	if (!*arr)
		return fail(c, n, "out of memory");
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, i++) {
		size_t old = path_index(c, i);

		*cnt = i + 1;
		if (one(c, node(c, *it), (char *)*arr + i * elem, i) < 0)
			return -1;
		path_pop(c, old);
	}
	return 0;
}

/* Read a one-line secret from FILE (password_file, token_file). */
static int read_secret(struct ctx *c, yaml_node_t *n, const char *file,
    char **out)
{
	char buf[SECRET_FILE_MAX + 1];
	struct stat st;
	ssize_t got;
	size_t len = 0;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(c, n, "cannot open %s: %s", file, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(c, n, "%s is not a regular file", file);
	}
	if (st.st_mode & S_IROTH) {
		close(fd);
		return fail(c, n, "%s holds a secret but is world-readable; "
		    "fix it with: chmod 640 %s", file, file);
	}
	while ((got = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)got;
	close(fd);
	if (got < 0)
		return fail(c, n, "cannot read %s: %s", file, strerror(errno));
	if (len > SECRET_FILE_MAX) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return fail(c, n, "%s is too large for a secret", file);
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (len == 0 || memchr(buf, '\n', len) || memchr(buf, '\0', len)) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return fail(c, n, "%s must hold the secret on one line", file);
	}
	*out = strdup(buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!*out)
		return fail(c, n, "out of memory");
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Sections                                                               */

static const struct field tls_server_fields[] = {
	FPATH("cert", struct config_tls, cert, REQ),
	FPATH("key", struct config_tls, key, REQ),
	FPATH("ca", struct config_tls, ca, 0),
	FBOOL("require_client_cert", struct config_tls, require_client_cert),
	FSTR("ciphers", struct config_tls, ciphers, 1, 1024, 0),
	FSTR("ciphersuites", struct config_tls, ciphersuites, 1, 1024, 0),
	FENUM("min_version", struct config_tls, min_version, tlsver_names),
};

static const struct field tls_client_fields[] = {
	FPATH("ca", struct config_tls, ca, 0),
	FPATH("cert", struct config_tls, cert, 0),
	FPATH("key", struct config_tls, key, 0),
	FBOOL("verify_host", struct config_tls, verify_host),
	FSTR("ciphers", struct config_tls, ciphers, 1, 1024, 0),
	FSTR("ciphersuites", struct config_tls, ciphersuites, 1, 1024, 0),
	FENUM("min_version", struct config_tls, min_version, tlsver_names),
};

static int parse_tls_server(struct ctx *c, yaml_node_t *n, void *obj)
{
	struct config_tls *t = obj;
	yaml_node_t *vals[NFIELDS(tls_server_fields)];

	t->enabled = true;
	if (parse_map(c, n, t, tls_server_fields, NFIELDS(tls_server_fields), vals) < 0)
		return -1;
	if (t->require_client_cert && !t->ca)
		return fail(c, n, "require_client_cert needs 'ca' to check "
		    "client certificates against");
	return 0;
}

static int parse_tls_client(struct ctx *c, yaml_node_t *n, void *obj)
{
	struct config_tls *t = obj;
	yaml_node_t *vals[NFIELDS(tls_client_fields)];

	t->enabled = true;
	t->verify_host = true;
	if (parse_map(c, n, t, tls_client_fields, NFIELDS(tls_client_fields), vals) < 0)
		return -1;
	if (!t->cert != !t->key)
		return fail(c, n, "a client certificate needs both 'cert' and 'key'");
	return 0;
}

static const struct field store_fields[] = {
	FPATH("path", struct config_store, path, 0),
	FSIZE("map_size", struct config_store, map_size, 1 << 20, 1LL << 44),
	FDUR("retention", struct config_store, retention_ms, 0, 3650 * DAY),
	FDUR("purge_interval", struct config_store, purge_interval_ms, 1000, DAY),
	FINT("max_batch", struct config_store, max_batch, 1, 100000, 0),
	FBOOL("fsync", struct config_store, fsync),
	FSIZE("resident_limit", struct config_store, resident_limit, 0, 1LL << 44),
};

static int parse_store(struct ctx *c, yaml_node_t *n, void *obj)
{
	yaml_node_t *vals[NFIELDS(store_fields)];

	return parse_map(c, n, obj, store_fields, NFIELDS(store_fields), vals);
}

static const struct field listener_fields[] = {
	FSTR("name", struct config_listener, name, 1, NAME_MAX_LEN, REQ),
	FADDR("address", struct config_listener, address, REQ),
	FSUB("tls", struct config_listener, tls, parse_tls_server, NOTNULL),
	FSIZE("max_pdu", struct config_listener, max_pdu, 512, 16 << 20),
	FDUR("bind_timeout", struct config_listener, bind_timeout_ms, 1000, 10 * MIN),
};

static int parse_listener(struct ctx *c, yaml_node_t *n, void *obj, size_t idx)
{
	struct config_listener *l = obj;
	yaml_node_t *vals[NFIELDS(listener_fields)];

	l->line = (int)n->start_mark.line + 1;
	l->max_pdu = 64 << 10;
	l->bind_timeout_ms = 30 * 1000;
	if (parse_map(c, n, l, listener_fields, NFIELDS(listener_fields), vals) < 0)
		return -1;
	for (size_t i = 0; i < idx; i++) {
		const struct config_listener *o = &c->cfg->listeners[i];

		if (strcmp(o->name, l->name) == 0)
			return fail(c, val_of(listener_fields, NFIELDS(listener_fields),
			    vals, "name"), "duplicate listener name '%s' "
			    "(first at line %d)", l->name, o->line);
		if (l->address.port != 0 && o->address.port == l->address.port &&
		    o->address.family == l->address.family &&
		    strcmp(o->address.host, l->address.host) == 0)
			return fail(c, val_of(listener_fields, NFIELDS(listener_fields),
			    vals, "address"), "address already used by listener "
			    "'%s' (line %d)", o->name, o->line);
	}
	return 0;
}

static int parse_listeners(struct ctx *c, yaml_node_t *n, void *obj)
{
	struct config *cfg = c->cfg;

	if (parse_list(c, n, sizeof(struct config_listener),
	    (void **)&cfg->listeners, &cfg->n_listeners, parse_listener) < 0)
		return -1;
	if (cfg->n_listeners == 0)
		return fail(c, n, "at least one listener is needed");
	return 0;
}

static const struct field account_fields[] = {
	FSTR("system_id", struct config_account, system_id, 1, CONFIG_SYSTEM_ID_MAX, REQ),
	FSTR("password_hash", struct config_account, password_hash, 1, 256, REQ),
	FINT("max_binds", struct config_account, max_binds, 1, 1000, 0),
	FINT("window", struct config_account, window, 1, 10000, 0),
	FRATE("ingress_rate", struct config_account, ingress_rate, 1000000),
	FSTRLIST("allowed_campaigns", struct config_account, allowed_campaigns,
	    n_allowed_campaigns, NAME_MAX_LEN, 0),
	FCIDRS("allowed_networks", struct config_account, allowed_networks,
	    n_allowed_networks),
	FSTR("default_campaign", struct config_account, default_campaign, 1, NAME_MAX_LEN, 0),
	FBOOL("receipts", struct config_account, receipts),
	FBOOL("require_tls", struct config_account, require_tls),
	FBOOL("require_client_cert", struct config_account, require_client_cert),
	FSTR("client_cert_name", struct config_account, client_cert_name, 1, 255, 0),
	FSTRLIST("allowed_sources", struct config_account, allowed_sources,
	    n_allowed_sources, 21, 0),
	FENUM("segmentation", struct config_account, segmentation, seg_names),
};

/* qsort and bsearch over an array of strings. */
static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int parse_account(struct ctx *c, yaml_node_t *n, void *obj, size_t idx)
{
	struct config_account *a = obj;
	yaml_node_t *vals[NFIELDS(account_fields)];
	const char *why;

	a->line = (int)n->start_mark.line + 1;
	a->max_binds = 4;
	a->window = 10;
	a->receipts = true;
	a->segmentation = CONFIG_SEG_UDH8;
	if (parse_map(c, n, a, account_fields, NFIELDS(account_fields), vals) < 0)
		return -1;
	/* A name to match means a certificate to match it in, over TLS. */
	if (a->client_cert_name)
		a->require_client_cert = true;
	if (a->require_client_cert)
		a->require_tls = true;
	if (config_password_check_encoding(a->password_hash, &why) < 0) {
		size_t old = path_key(c, "password_hash");
		int rc = fail(c, val_of(account_fields, NFIELDS(account_fields), vals,
		    "password_hash"), "%s (make one with smppd-passwd)", why);

		path_pop(c, old);
		return rc;
	}
	if (a->n_allowed_campaigns > 1)
		qsort(a->allowed_campaigns, a->n_allowed_campaigns,
		    sizeof(*a->allowed_campaigns), cmp_strp);
	if (a->default_campaign && a->n_allowed_campaigns > 0) {
		if (!config_campaign_listed(a, a->default_campaign)) {
			size_t old = path_key(c, "default_campaign");
			int rc = fail(c, val_of(account_fields, NFIELDS(account_fields),
			    vals, "default_campaign"), "'%s' is not in allowed_campaigns",
			    a->default_campaign);

			path_pop(c, old);
			return rc;
		}
	}
	for (size_t i = 0; i < idx; i++) {
		const struct config_account *o = &c->cfg->accounts[i];

		if (strcmp(o->system_id, a->system_id) == 0)
			return fail(c, val_of(account_fields, NFIELDS(account_fields),
			    vals, "system_id"), "duplicate account system_id '%s' "
			    "(first at line %d)", a->system_id, o->line);
	}
	return 0;
}

static int parse_accounts(struct ctx *c, yaml_node_t *n, void *obj)
{
	return parse_list(c, n, sizeof(struct config_account),
	    (void **)&c->cfg->accounts, &c->cfg->n_accounts, parse_account);
}

static const struct field reconnect_fields[] = {
	FDUR("initial", struct config_carrier, reconnect_initial_ms, 10, HOUR),
	FDUR("max", struct config_carrier, reconnect_max_ms, 10, DAY),
};

static int parse_reconnect(struct ctx *c, yaml_node_t *n, void *obj)
{
	struct config_carrier *k = obj;
	yaml_node_t *vals[NFIELDS(reconnect_fields)];

	if (parse_map(c, n, k, reconnect_fields, NFIELDS(reconnect_fields), vals) < 0)
		return -1;
	if (k->reconnect_initial_ms > k->reconnect_max_ms)
		return fail(c, n, "initial must not exceed max");
	return 0;
}

/* A list of codes: decimal, or hex with 0x (SMPP statuses are written so). */
static int parse_codes(struct ctx *c, yaml_node_t *n, void *obj)
{
	struct config_codes *k = obj;
	yaml_node_item_t *it;
	size_t i = 0;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "expected a list of codes like [11, 0x0B], got %s",
		    kind(n));
	k->n = 0;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, i++) {
		yaml_node_t *item = node(c, *it);
		size_t old = path_index(c, i);
		char *end;
		unsigned long long v;

		if (want_scalar(c, item, "a code") < 0)
			return -1;
		if (k->n == CONFIG_CODES_MAX)
			return fail(c, item, "at most %d codes", CONFIG_CODES_MAX);
		errno = 0;
		v = strtoull(sval(item), &end, 0);
		if (!isdigit((unsigned char)sval(item)[0]) || *end || errno ||
		    v > 0xFFFFFFFFull)
			return fail(c, item, "expected a code (decimal, or hex like "
			    "0x0B), got %s", quote(c, item));
		for (size_t j = 0; j < k->n; j++)
			if (k->v[j] == (uint32_t)v)
				return fail(c, item, "%s is listed twice", quote(c, item));
		k->v[k->n++] = (uint32_t)v;
		path_pop(c, old);
	}
	return 0;
}

static const struct field carrier_listen_fields[] = {
	FADDR("address", struct config_carrier_listen, address, REQ),
	FENUM("mode", struct config_carrier_listen, mode, listen_mode_names),
	FSTR("system_id", struct config_carrier_listen, system_id, 1, CONFIG_SYSTEM_ID_MAX, REQ),
	FSTR("password_hash", struct config_carrier_listen, password_hash, 1, 256, REQ),
	FCIDRS("allowed_networks", struct config_carrier_listen, allowed_networks,
	    n_allowed_networks),
	FINT("max_binds", struct config_carrier_listen, max_binds, 1, 64, 0),
};

static int parse_carrier_listen(struct ctx *c, yaml_node_t *n, void *obj)
{
	struct config_carrier_listen *l = obj;
	yaml_node_t *vals[NFIELDS(carrier_listen_fields)];
	const char *why;

	l->enabled = true;
	l->line = (int)n->start_mark.line + 1;
	l->mode = -1;
	l->max_binds = 1;
	if (parse_map(c, n, l, carrier_listen_fields, NFIELDS(carrier_listen_fields), vals) < 0)
		return -1;
	if (l->mode < 0)
		return fail(c, n, "missing required key 'mode' (bind or outbind)");
	if (config_password_check_encoding(l->password_hash, &why) < 0) {
		size_t old = path_key(c, "password_hash");
		int rc = fail(c, val_of(carrier_listen_fields, NFIELDS(carrier_listen_fields), vals,
		    "password_hash"), "%s (make one with smppd-passwd)", why);

		path_pop(c, old);
		return rc;
	}
	return 0;
}

static int same_port(const struct config_addr *a, const struct config_addr *b)
{
	return a->port != 0 && a->port == b->port && a->family == b->family &&
	    strcmp(a->host, b->host) == 0;
}

static const struct field carrier_fields[] = {
	FSTR("name", struct config_carrier, name, 1, NAME_MAX_LEN, REQ),
	FSTR("host", struct config_carrier, host, 1, 253, REQ),
	FINT("port", struct config_carrier, port, 1, 65535, 0),
	FSUB("tls", struct config_carrier, tls, parse_tls_client, NOTNULL),
	FSTR("system_id", struct config_carrier, system_id, 1, CONFIG_SYSTEM_ID_MAX, REQ),
	FSECRET("password", struct config_carrier, password, 0, CONFIG_PASSWORD_MAX),
	FPATH("password_file", struct config_carrier, password_file, 0),
	FSTR("system_type", struct config_carrier, system_type, 0, CONFIG_SYSTEM_TYPE_MAX, 0),
	FENUM("bind", struct config_carrier, bind, bind_names),
	FINT("sessions", struct config_carrier, sessions, 1, 64, 0),
	FINT("window", struct config_carrier, window, 1, 10000, 0),
	FRATE("max_mps", struct config_carrier, max_mps, 1000000),
	FRATE("bind_mps", struct config_carrier, bind_mps, 1000000),
	FDUR("enquire_link", struct config_carrier, enquire_link_ms, SEC, HOUR),
	FDUR("response_timeout", struct config_carrier, response_timeout_ms, 100, 10 * MIN),
	FSUB("reconnect", struct config_carrier, name, parse_reconnect, 0),
	FENUM("segmentation", struct config_carrier, segmentation, seg_names),
	FENUM("message_id_format", struct config_carrier, message_id_format, msgid_names),
	FSUB("landline_errors", struct config_carrier, landline_errors, parse_codes, NOTNULL),
	FSUB("unknown_subscriber_errors", struct config_carrier, unknown_subscriber_errors,
	    parse_codes, NOTNULL),
	FSUB("landline_statuses", struct config_carrier, landline_statuses, parse_codes, NOTNULL),
	FSUB("unknown_subscriber_statuses", struct config_carrier, unknown_subscriber_statuses,
	    parse_codes, NOTNULL),
	FSUB("listen", struct config_carrier, listen, parse_carrier_listen, NOTNULL),
};

static int parse_carrier(struct ctx *c, yaml_node_t *n, void *obj, size_t idx)
{
	struct config_carrier *k = obj;
	yaml_node_t *vals[NFIELDS(carrier_fields)];
	yaml_node_t *v;

	k->line = (int)n->start_mark.line + 1;
	k->port = 2775;
	k->bind = CONFIG_BIND_TRANSCEIVER;
	k->sessions = 1;
	k->window = 10;
	k->enquire_link_ms = 30 * SEC;
	k->response_timeout_ms = 10 * SEC;
	k->reconnect_initial_ms = 1 * SEC;
	k->reconnect_max_ms = 1 * MIN;
	k->segmentation = CONFIG_SEG_UDH8;
	k->message_id_format = CONFIG_MSGID_AUTO;
	/* Receipt err: values are the carrier's own, so none by default;
	 * ESME_RINVDSTADR is SMPP's own "not a valid destination". */
	k->unknown_subscriber_statuses.v[0] = 0x0000000B;
	k->unknown_subscriber_statuses.n = 1;
	/* parse_reconnect gets the carrier itself: FSUB offset is of 'name' */
	if (offsetof(struct config_carrier, name) != 0)
		return fail(c, n, "internal error: carrier layout");
	if (parse_map(c, n, k, carrier_fields, NFIELDS(carrier_fields), vals) < 0)
		return -1;
	v = val_of(carrier_fields, NFIELDS(carrier_fields), vals, "host");
	if (!valid_host(k->host))
		return fail(c, v, "host: %s is not a host name or address", quote(c, v));
	if (k->password && k->password_file)
		return fail(c, val_of(carrier_fields, NFIELDS(carrier_fields), vals,
		    "password_file"), "give either password or password_file, not both");
	if (k->password_file) {
		size_t old = path_key(c, "password_file");
		char *pw = NULL;

		if (read_secret(c, val_of(carrier_fields, NFIELDS(carrier_fields),
		    vals, "password_file"), k->password_file, &pw) < 0)
			return -1;
		k->password = pw;
		if (strlen(pw) > CONFIG_PASSWORD_MAX)
			return fail(c, val_of(carrier_fields, NFIELDS(carrier_fields),
			    vals, "password_file"), "the password in %s is longer "
			    "than SMPP's %d characters", k->password_file,
			    CONFIG_PASSWORD_MAX);
		path_pop(c, old);
	}
	if (!k->password && !(k->password = strdup("")))
		return fail(c, n, "out of memory");
	if (!k->system_type && !(k->system_type = strdup("")))
		return fail(c, n, "out of memory");
	for (size_t i = 0; i < idx; i++) {
		const struct config_carrier *o = &c->cfg->carriers[i];

		if (strcmp(o->name, k->name) == 0)
			return fail(c, val_of(carrier_fields, NFIELDS(carrier_fields),
			    vals, "name"), "duplicate carrier name '%s' (first at "
			    "line %d)", k->name, o->line);
		if (k->listen.enabled && o->listen.enabled &&
		    same_port(&k->listen.address, &o->listen.address))
			return fail(c, val_of(carrier_fields, NFIELDS(carrier_fields),
			    vals, "listen"), "listen.address already used by carrier "
			    "'%s' (line %d)", o->name, o->listen.line);
	}
	if (k->listen.enabled) {
		for (size_t i = 0; i < c->cfg->n_listeners; i++) {
			const struct config_listener *o = &c->cfg->listeners[i];

			if (same_port(&k->listen.address, &o->address))
				return fail(c, val_of(carrier_fields, NFIELDS(carrier_fields),
				    vals, "listen"), "listen.address already used by "
				    "listener '%s' (line %d): carriers and applications "
				    "need separate listeners", o->name, o->line);
		}
	}
	return 0;
}

static int parse_carriers(struct ctx *c, yaml_node_t *n, void *obj)
{
	return parse_list(c, n, sizeof(struct config_carrier),
	    (void **)&c->cfg->carriers, &c->cfg->n_carriers, parse_carrier);
}

static const struct field match_fields[] = {
	FSTR("prefix", struct config_route, prefix, 1, 20, 0),
	FSTR("campaign", struct config_route, campaign, 1, NAME_MAX_LEN, 0),
};

static int parse_match(struct ctx *c, yaml_node_t *n, void *obj)
{
	struct config_route *r = obj;
	yaml_node_t *vals[NFIELDS(match_fields)];

	if (parse_map(c, n, r, match_fields, NFIELDS(match_fields), vals) < 0)
		return -1;
	if (r->prefix && strspn(r->prefix, "0123456789") != strlen(r->prefix)) {
		size_t old = path_key(c, "prefix");
		int rc = fail(c, vals[0], "must be digits only (a destination "
		    "prefix such as \"1\" or \"4477\"), got '%s'", r->prefix);

		path_pop(c, old);
		return rc;
	}
	return 0;
}

static const struct field route_fields[] = {
	FSUB("match", struct config_route, prefix, parse_match, 0),
	FSTRLIST("carriers", struct config_route, carriers, n_carriers, NAME_MAX_LEN, REQ),
};

/*
 * Routes by prefix and campaign.  Every message asks for its route, and
 * operators who route by country, network or campaign list hundreds or
 * thousands of them: a walk of 1,000 cost 7 us per message, and the check
 * at load that no route hides a later one was quadratic (30,000 routes:
 * 2.1 s).  A table maps each (prefix, campaign) pair, either part possibly
 * empty, to the route with it.  A pair listed twice would make the second
 * unreachable, which the load refuses, so each key has one route.  A lookup
 * tries each prefix length of the destination, with no campaign and with
 * the message's, and keeps the lowest route number that matches: the first
 * match in file order, as a walk would find it.
 */
#define ROUTE_NONE UINT32_MAX

struct route_slot {
	const char *prefix;     /* points into the route; "" for none */
	const char *campaign;   /* NULL: any campaign */
	uint32_t len;           /* of prefix */
	uint32_t route;         /* ROUTE_NONE: empty slot */
};

struct config_route_index {
	struct route_slot *slots;
	size_t cap;             /* power of two, at least twice the routes */
	size_t longest;         /* the longest prefix */
	bool by_campaign;       /* some route names a campaign */
};

/* A key's hash: its prefix's FNV state h, with the campaign's hash mixed
 * in when there is one. */
static uint64_t route_key_hash(uint64_t h, uint64_t campaign_hash)
{
	return hash_finish(h ^ campaign_hash);
}

static struct route_slot *route_slot(const struct config_route_index *x,
    const char *p, size_t len, const char *campaign, uint64_t h)
{
	size_t s = (size_t)h & (x->cap - 1);

	for (;; s = (s + 1) & (x->cap - 1)) {
		const struct route_slot *sl = &x->slots[s];

		if (sl->route == ROUTE_NONE)
			break;
		if (sl->len == len && memcmp(sl->prefix, p, len) == 0 &&
		    (sl->campaign == campaign || (sl->campaign && campaign &&
		    strcmp(sl->campaign, campaign) == 0)))
			break;
	}
	return &x->slots[s];
}

static void route_index_free(struct config_route_index *x)
{
	if (x) {
		free(x->slots);
		free(x);
	}
}

/* Room for n routes; NULL when out of memory. */
static struct config_route_index *route_index_new(size_t n)
{
	struct config_route_index *x = calloc(1, sizeof(*x));
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	if (x)
		x->slots = malloc(cap * sizeof(*x->slots));
	if (!x || !x->slots) {
		route_index_free(x);
		return NULL;
	}
	for (size_t i = 0; i < cap; i++)
		x->slots[i].route = ROUTE_NONE;
	x->cap = cap;
	return x;
}

/* The lowest route in x whose key is (dst's first len bytes, campaign),
 * for each len up to dst's length; before best, else best. */
static uint32_t route_lookup(const struct config_route_index *x, const char *dst,
    const char *campaign, uint32_t best)
{
	bool by_campaign = campaign && x->by_campaign;
	uint64_t ch = by_campaign ? fnv1a_str(FNV1A_BASIS, campaign) : 0;
	uint64_t h = FNV1A_BASIS;

	for (size_t len = 0;; len++) {
		const struct route_slot *sl = route_slot(x, dst, len, NULL,
		    route_key_hash(h, 0));

		if (sl->route < best)
			best = sl->route;
		if (by_campaign) {
			sl = route_slot(x, dst, len, campaign, route_key_hash(h, ch));
			if (sl->route < best)
				best = sl->route;
		}
		if (len == x->longest || dst[len] == '\0')
			break;
		h = fnv1a(h, dst + len, 1);	/* the next prefix's state, a byte on */
	}
	return best;
}

const struct config_route *config_route_for(const struct config *cfg,
    const char *dst, const char *campaign)
{
	uint32_t best;

	if (!cfg->route_index)
		return NULL;	/* no routes */
	best = route_lookup(cfg->route_index, dst, campaign, ROUTE_NONE);
	return best == ROUTE_NONE ? NULL : &cfg->routes[best];
}

/* Route r, number idx, into the table, unless an earlier one already
 * matches everything it does: then it could never match, and says so. */
static int route_index_add(struct ctx *c, yaml_node_t *n, struct config_route *r,
    uint32_t idx)
{
	struct config_route_index *x = c->cfg->route_index;
	const char *p = r->prefix ? r->prefix : "";
	size_t len = strlen(p);
	uint32_t earlier;

	if (r->campaign)
		x->by_campaign = true;
	if (len > x->longest)
		x->longest = len;
	earlier = route_lookup(x, p, r->campaign, idx);
	if (earlier < idx)
		return fail(c, n, "can never match: the route at line %d already "
		    "matches everything this one does", c->cfg->routes[earlier].line);
	uint64_t ch = r->campaign ? fnv1a_str(FNV1A_BASIS, r->campaign) : 0;
	struct route_slot *sl = route_slot(x, p, len, r->campaign,
	    route_key_hash(fnv1a(FNV1A_BASIS, p, len), ch));
	*sl = (struct route_slot){ p, r->campaign, (uint32_t)len, idx };
	return 0;
}

static int parse_route(struct ctx *c, yaml_node_t *n, void *obj, size_t idx)
{
	struct config_route *r = obj;
	yaml_node_t *vals[NFIELDS(route_fields)];
	yaml_node_t *list;
	const struct config *cfg = c->cfg;

	r->line = (int)n->start_mark.line + 1;
	if (offsetof(struct config_route, prefix) != 0)
		return fail(c, n, "internal error: route layout");
	if (parse_map(c, n, r, route_fields, NFIELDS(route_fields), vals) < 0)
		return -1;
	list = vals[1];
	if (r->n_carriers == 0)
		return fail(c, list, "carriers: list at least one carrier");
	r->carrier_index = calloc(r->n_carriers, sizeof(size_t));
	if (!r->carrier_index)
		return fail(c, n, "out of memory");
	for (size_t i = 0; i < r->n_carriers; i++) {
		yaml_node_t *item = node(c, list->data.sequence.items.start[i]);
		size_t k;

		for (k = 0; k < cfg->n_carriers; k++)
			if (strcmp(cfg->carriers[k].name, r->carriers[i]) == 0)
				break;
		if (k == cfg->n_carriers) {
			const char *best = NULL;
			size_t bestd = 3, old;
			int rc;

			for (size_t j = 0; j < cfg->n_carriers; j++) {
				size_t d = edit_distance(r->carriers[i], cfg->carriers[j].name);

				if (d < bestd) {
					bestd = d;
					best = cfg->carriers[j].name;
				}
			}
			old = path_key(c, "carriers");
			path_index(c, i);
			rc = best ? fail(c, item, "unknown carrier '%s' (did you mean "
			    "'%s'?)", r->carriers[i], best)
			    : fail(c, item, "unknown carrier '%s' (not in carriers:)",
			    r->carriers[i]);
			path_pop(c, old);
			return rc;
		}
		r->carrier_index[i] = k;
	}
	return route_index_add(c, n, r, (uint32_t)idx);
}

static int parse_routes(struct ctx *c, yaml_node_t *n, void *obj)
{
	/* the table is filled as the routes are read (parse_route), so it is
	 * sized first; parse_list reports anything that is not a list */
	size_t count = n->type != YAML_SEQUENCE_NODE ? 0 :
	    (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);

	if (count >= ROUTE_NONE)
		return fail(c, n, "too many routes (%zu)", count);
	if (count > 0 && !(c->cfg->route_index = route_index_new(count)))
		return fail(c, n, "out of memory");
	return parse_list(c, n, sizeof(struct config_route),
	    (void **)&c->cfg->routes, &c->cfg->n_routes, parse_route);
}

static const struct field admin_fields[] = {
	FADDR("address", struct config_admin, address, 0),
	FSECRET("token", struct config_admin, token, 16, 1024),
	FPATH("token_file", struct config_admin, token_file, 0),
	FSUB("tls", struct config_admin, tls, parse_tls_server, NOTNULL),
};

static int parse_admin(struct ctx *c, yaml_node_t *n, void *obj)
{
	struct config_admin *a = obj;
	yaml_node_t *vals[NFIELDS(admin_fields)];

	if (parse_map(c, n, a, admin_fields, NFIELDS(admin_fields), vals) < 0)
		return -1;
	a->enabled = true;
	if (a->token && a->token_file)
		return fail(c, vals[2], "give either token or token_file, not both");
	if (a->token_file) {
		size_t old = path_key(c, "token_file");

		if (read_secret(c, vals[2], a->token_file, &a->token) < 0)
			return -1;
		if (strlen(a->token) < 16)
			return fail(c, vals[2], "the token in %s is shorter than 16 "
			    "characters", a->token_file);
		path_pop(c, old);
	}
	if (!a->token && !is_loopback(&a->address))
		return fail(c, vals[0] ? vals[0] : n, "address: %s is not a loopback "
		    "address, so a token or token_file is required",
		    a->address.host);
	return 0;
}

static const struct field log_fields[] = {
	FENUM("level", struct config_log, level, level_names),
	FENUM("target", struct config_log, target, target_names),
};

static int parse_log(struct ctx *c, yaml_node_t *n, void *obj)
{
	yaml_node_t *vals[NFIELDS(log_fields)];

	return parse_map(c, n, obj, log_fields, NFIELDS(log_fields), vals);
}

static const struct field pause_fields[] = {
	FDUR("recheck", struct config_pause, recheck_ms, 100, HOUR),
	FDUR("poll", struct config_pause, poll_ms, 100, MIN),
};

static const struct field bind_limit_fields[] = {
	FINT("failures", struct config_bind_limit, failures, 0, 1000000, 0),
	FDUR("window", struct config_bind_limit, window_ms, SEC, DAY),
	FDUR("block", struct config_bind_limit, block_ms, SEC, DAY),
	FINT("table_size", struct config_bind_limit, table_size, 64, 1 << 20, 0),
};

static int parse_bind_limit(struct ctx *c, yaml_node_t *n, void *obj)
{
	yaml_node_t *vals[NFIELDS(bind_limit_fields)];

	return parse_map(c, n, obj, bind_limit_fields, NFIELDS(bind_limit_fields), vals);
}

static int parse_pause(struct ctx *c, yaml_node_t *n, void *obj)
{
	yaml_node_t *vals[NFIELDS(pause_fields)];

	return parse_map(c, n, obj, pause_fields, NFIELDS(pause_fields), vals);
}

/* Table order is processing order: carriers before routes. */
static const struct field top_fields[] = {
	FINT("node_id", struct config, node_id, 0, 1023, 0),
	FINT("receipt_cache", struct config, receipt_cache, 0, 16777216, 0),
	FPATH("policy", struct config, policy, 0),
	FSUB("log", struct config, log, parse_log, 0),
	FSUB("store", struct config, store, parse_store, 0),
	FSUB("listeners", struct config, listeners, parse_listeners, REQ),
	FSUB("accounts", struct config, accounts, parse_accounts, 0),
	FSUB("carriers", struct config, carriers, parse_carriers, 0),
	FSUB("routes", struct config, routes, parse_routes, 0),
	FSUB("admin", struct config, admin, parse_admin, 0),
	FSUB("pause", struct config, pause, parse_pause, 0),
	FSUB("bind_limit", struct config, bind_limit, parse_bind_limit, 0),
};

static int set_defaults(struct ctx *c, struct config *cfg)
{
	const char *why;

	cfg->receipt_cache = 65536;
	cfg->store.path = strdup("/var/lib/smppd");
	cfg->store.map_size = 1ull << 30;
	cfg->store.retention_ms = 7 * DAY;
	cfg->store.purge_interval_ms = 60 * 1000;
	cfg->store.max_batch = 256;
	cfg->store.fsync = true;
	cfg->store.resident_limit = 64ull << 20;
	cfg->pause.recheck_ms = 30 * SEC;
	cfg->pause.poll_ms = 2 * SEC;
	cfg->bind_limit.failures = 10;
	cfg->bind_limit.window_ms = MIN;
	cfg->bind_limit.block_ms = 5 * MIN;
	cfg->bind_limit.table_size = 4096;
	cfg->log.level = CONFIG_LOG_INFO;
	cfg->log.target = CONFIG_LOG_STDERR;
	if (!cfg->store.path || parse_addr("127.0.0.1:8025", &cfg->admin.address, &why) < 0)
		return fail_line(c, 1, "out of memory");
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Loading                                                                */

static int read_file(struct ctx *c, const char *path, unsigned char **buf,
    size_t *len)
{
	struct stat st;
	ssize_t got;
	size_t have = 0;
	int fd;

	*buf = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_line(c, 1, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail_line(c, 1, "not a regular file");
	}
	if ((uint64_t)st.st_size > FILE_MAX) {
		close(fd);
		return fail_line(c, 1, "file too large (%lld bytes, at most %u)",
		    (long long)st.st_size, FILE_MAX);
	}
	c->file_mode = st.st_mode;
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		close(fd);
		return fail_line(c, 1, "out of memory");
	}
	while (have < (size_t)st.st_size &&
	    (got = read(fd, *buf + have, (size_t)st.st_size - have)) > 0)
		have += (size_t)got;
	close(fd);
	(*buf)[have] = '\0';
	*len = have;
	return 0;
}

static int yaml_fail(struct ctx *c, yaml_parser_t *p, const unsigned char *buf,
    size_t len)
{
	size_t line = p->problem_mark.line + 1, idx = p->problem_mark.index;
	const char *hint = "";

	if (p->error == YAML_MEMORY_ERROR)
		return fail_line(c, 1, "out of memory while parsing");
	if (p->error == YAML_READER_ERROR) {
		line = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++)
			line += buf[i] == '\n';
		return fail_line(c, line, "not a YAML text file: %s at byte %zu",
		    p->problem ? p->problem : "bad input", p->problem_offset);
	}
	/* libyaml's message for a tab is cryptic; say what it is. */
	if (idx < len) {
		size_t start = idx;

		while (start > 0 && buf[start - 1] != '\n')
			start--;
		for (size_t i = start; i < len && buf[i] != '\n'; i++) {
			if (buf[i] == '\t') {
				hint = " (this line has a tab: indent with spaces)";
				break;
			}
		}
	}
	if (p->context)
		return fail_line(c, line, "YAML syntax error: %s %s (line %zu)%s",
		    p->problem ? p->problem : "error", p->context,
		    p->context_mark.line + 1, hint);
	return fail_line(c, line, "YAML syntax error: %s%s",
	    p->problem ? p->problem : "error", hint);
}

/*
 * libyaml's scanner costs O(depth) per token inside flow collections, so
 * "[[[[...]]]]" 100k deep takes it tens of seconds.  Walk the events
 * first and stop at the first collection nested deeper than any real
 * config; stopping early also bounds the scanner's work.
 */
#define DEPTH_MAX 32

static int check_depth(struct ctx *c, const unsigned char *buf, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, rc = 0, done = 0;

	if (!yaml_parser_initialize(&p))
		return fail_line(c, 1, "out of memory");
	yaml_parser_set_input_string(&p, buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = yaml_fail(c, &p, buf, len);
			break;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > DEPTH_MAX) {
				rc = fail_line(c, ev.start_mark.line + 1, "nested more "
				    "than %d levels deep", DEPTH_MAX);
				done = 1;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

int config_load(const char *path, struct config *out, char *err, size_t errcap)
{
	struct ctx c;
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root, *vals[NFIELDS(top_fields)];
	unsigned char *buf = NULL;
	const char *slash;
	size_t len = 0;
	int rc = -1, have_doc = 0;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.file = path;
	c.err = err;
	c.errcap = errcap;
	c.cfg = out;
	c.doc = &doc;
	if (errcap > 0)
		err[0] = '\0';
	slash = strrchr(path, '/');
	if (slash && !(c.dir = strndup(path, (size_t)(slash - path)))) {
		fail_line(&c, 1, "out of memory");
		goto done;
	}
	if (!(out->path = strdup(path))) {
		fail_line(&c, 1, "out of memory");
		goto done;
	}
	if (set_defaults(&c, out) < 0 || read_file(&c, path, &buf, &len) < 0 ||
	    check_depth(&c, buf, len) < 0)
		goto done;
	if (!yaml_parser_initialize(&parser)) {
		fail_line(&c, 1, "out of memory");
		goto done;
	}
	yaml_parser_set_input_string(&parser, buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_fail(&c, &parser, buf, len);
		yaml_parser_delete(&parser);
		goto done;
	}
	have_doc = 1;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		fail_line(&c, 1, "empty configuration: expected a mapping with at "
		    "least 'listeners'");
		yaml_parser_delete(&parser);
		goto done;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		yaml_fail(&c, &parser, buf, len);
		yaml_parser_delete(&parser);
		goto done;
	}
	if (yaml_document_get_root_node(&extra)) {
		fail_line(&c, extra.start_mark.line + 1, "a second YAML document "
		    "('---'): put everything in one");
		yaml_document_delete(&extra);
		yaml_parser_delete(&parser);
		goto done;
	}
	yaml_document_delete(&extra);
	yaml_parser_delete(&parser);

	if (root->type != YAML_MAPPING_NODE) {
		fail(&c, root, "the top level must be a mapping of settings "
		    "(node_id:, listeners:, ...), got %s", kind(root));
		goto done;
	}
	if (parse_map(&c, root, out, top_fields, NFIELDS(top_fields), vals) < 0)
		goto done;
	if (c.secret_line && (c.file_mode & S_IROTH)) {
		fail_line(&c, (size_t)c.secret_line, "%s is a secret, but %s is "
		    "world-readable; fix it with: chmod 640 %s (or move the secret "
		    "to a *_file)", c.secret_what, path, path);
		goto done;
	}
	rc = 0;
done:
	if (have_doc)
		yaml_document_delete(&doc);
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	free(c.dir);
	if (rc < 0)
		config_free(out);
	return rc;
}

static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static void free_tls(struct config_tls *t)
{
	free(t->cert);
	free(t->key);
	free(t->ca);
	free(t->ciphers);
	free(t->ciphersuites);
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->policy);
	free(cfg->store.path);
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		free(cfg->listeners[i].name);
		free_tls(&cfg->listeners[i].tls);
	}
	free(cfg->listeners);
	for (size_t i = 0; i < cfg->n_accounts; i++) {
		struct config_account *a = &cfg->accounts[i];

		free(a->system_id);
		free(a->password_hash);
		free_strv(a->allowed_campaigns, a->n_allowed_campaigns);
		free(a->allowed_networks);
		free(a->default_campaign);
		free(a->client_cert_name);
		free_strv(a->allowed_sources, a->n_allowed_sources);
	}
	free(cfg->accounts);
	for (size_t i = 0; i < cfg->n_carriers; i++) {
		struct config_carrier *k = &cfg->carriers[i];

		free(k->name);
		free(k->host);
		free_tls(&k->tls);
		free(k->system_id);
		free_secret(k->password);
		free(k->password_file);
		free(k->system_type);
		free(k->listen.system_id);
		free(k->listen.password_hash);
		free(k->listen.allowed_networks);
	}
	free(cfg->carriers);
	for (size_t i = 0; i < cfg->n_routes; i++) {
		free(cfg->routes[i].prefix);
		free(cfg->routes[i].campaign);
		free_strv(cfg->routes[i].carriers, cfg->routes[i].n_carriers);
		free(cfg->routes[i].carrier_index);
	}
	free(cfg->routes);
	route_index_free(cfg->route_index);
	free_secret(cfg->admin.token);
	free(cfg->admin.token_file);
	free_tls(&cfg->admin.tls);
	memset(cfg, 0, sizeof(*cfg));
}

int config_campaign_listed(const struct config_account *a, const char *campaign)
{
	return campaign && a->n_allowed_campaigns > 0 &&
	    bsearch(&campaign, a->allowed_campaigns, a->n_allowed_campaigns,
	    sizeof(*a->allowed_campaigns), cmp_strp) != NULL;
}

const struct config_account *config_find_account(const struct config *cfg,
    const char *system_id)
{
	for (size_t i = 0; i < cfg->n_accounts; i++)
		if (strcmp(cfg->accounts[i].system_id, system_id) == 0)
			return &cfg->accounts[i];
	return NULL;
}

const struct config_carrier *config_find_carrier(const struct config *cfg,
    const char *name)
{
	for (size_t i = 0; i < cfg->n_carriers; i++)
		if (strcmp(cfg->carriers[i].name, name) == 0)
			return &cfg->carriers[i];
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Account password hashes                                                */

/*
 * Cost: on the development machine (a shared AMD EPYC VM, OpenSSL 3.0.x)
 * `smppd-passwd -b` measured 1.2-2.1 ms per verify at the default 5000
 * iterations (about 2,500-4,000 iterations per ms; run it on the target
 * machine).  1,000 simultaneous binds would cost 1.2-2.1 s of one core;
 * config_password_check() remembers the password last verified for an
 * account, so that only the first bind pays.  SMPP passwords are at most 8 characters, so the hash
 * mainly keeps a leaked config from handing out the passwords verbatim;
 * bind failures should also be rate limited.  The count is stored in each
 * hash, so it can be raised without invalidating old ones.
 */
#define HASH_PREFIX "pbkdf2-sha256$"
#define SALT_LEN 16
#define DK_LEN 32

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

/* Strict: length a multiple of 4, '=' only at the end.  -1 or bytes out. */
static long b64_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
	size_t o = 0;

	if (n == 0 || n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		unsigned v = 0;
		int pad = 0;

		for (int j = 0; j < 4; j++) {
			const char *p;
			char ch = in[i + j];

			if (ch == '=' && i + 4 == n && j >= 2) {
				pad++;
				v <<= 6;
				continue;
			}
			if (pad || ch == '\0' || !(p = strchr(b64chars, ch)))
				return -1;
			v = (v << 6) | (unsigned)(p - b64chars);
		}
		if (o + 3 - (size_t)pad > cap)
			return -1;
		out[o++] = (unsigned char)(v >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(v >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)v;
	}
	return (long)o;
}

struct pw_hash {
	unsigned iter;
	unsigned char salt[64];
	size_t salt_len;
	unsigned char dk[64];
	size_t dk_len;
};

static int pw_parse(const char *enc, struct pw_hash *h, const char **why)
{
	const char *p, *d1, *d2;
	unsigned long iter = 0;
	long n;

	*why = "malformed password hash";
	if (!enc || strncmp(enc, HASH_PREFIX, strlen(HASH_PREFIX)) != 0) {
		*why = "password hash must start with 'pbkdf2-sha256$'";
		return -1;
	}
	p = enc + strlen(HASH_PREFIX);
	d1 = strchr(p, '$');
	if (!d1 || d1 == p || d1 - p > 9) {
		*why = "password hash: bad iteration count";
		return -1;
	}
	for (const char *q = p; q < d1; q++) {
		if (!isdigit((unsigned char)*q)) {
			*why = "password hash: bad iteration count";
			return -1;
		}
		iter = iter * 10 + (unsigned long)(*q - '0');
	}
	if (iter < CONFIG_PASSWORD_ITER_MIN || iter > CONFIG_PASSWORD_ITER_MAX) {
		*why = "password hash: iteration count out of range";
		return -1;
	}
	d2 = strchr(d1 + 1, '$');
	if (!d2 || strchr(d2 + 1, '$')) {
		*why = "password hash: expected pbkdf2-sha256$ITER$SALT$HASH";
		return -1;
	}
	n = b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), h->salt, sizeof(h->salt));
	if (n < 8) {
		*why = "password hash: bad salt";
		return -1;
	}
	h->salt_len = (size_t)n;
	n = b64_decode(d2 + 1, strlen(d2 + 1), h->dk, sizeof(h->dk));
	if (n < 16) {
		*why = "password hash: bad hash part";
		return -1;
	}
	h->dk_len = (size_t)n;
	h->iter = (unsigned)iter;
	return 0;
}

int config_password_check_encoding(const char *encoded, const char **why)
{
	struct pw_hash h;

	return pw_parse(encoded, &h, why);
}

int config_password_hash_iter(const char *password, unsigned iterations,
    char *out, size_t cap)
{
	unsigned char salt[SALT_LEN], dk[DK_LEN];
	char s64[((SALT_LEN + 2) / 3) * 4 + 1], d64[((DK_LEN + 2) / 3) * 4 + 1];
	int n;

	if (!password || !out)
		return -1;
	if (iterations == 0)
		iterations = CONFIG_PASSWORD_ITERATIONS;
	if (iterations < CONFIG_PASSWORD_ITER_MIN || iterations > CONFIG_PASSWORD_ITER_MAX)
		return -1;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return -1;
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof(salt),
	    (int)iterations, EVP_sha256(), sizeof(dk), dk) != 1)
		return -1;
	b64_encode(salt, sizeof(salt), s64);
	b64_encode(dk, sizeof(dk), d64);
	OPENSSL_cleanse(dk, sizeof(dk));
	n = snprintf(out, cap, HASH_PREFIX "%u$%s$%s", iterations, s64, d64);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int config_password_hash(const char *password, char *out, size_t cap)
{
	return config_password_hash_iter(password, 0, out, cap);
}

int config_password_verify(const char *password, const char *encoded)
{
	struct pw_hash h;
	unsigned char dk[64];
	const char *why;
	int ok;

	if (!password || pw_parse(encoded, &h, &why) < 0)
		return -1;
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), h.salt,
	    (int)h.salt_len, (int)h.iter, EVP_sha256(), (int)h.dk_len, dk) != 1)
		return -1;
	ok = CRYPTO_memcmp(dk, h.dk, h.dk_len) == 0;
	OPENSSL_cleanse(dk, sizeof(dk));
	return ok;
}

/* HMAC-SHA256(process key, encoded NUL password); -1 on failure. */
static int password_mac(const char *password, const char *encoded,
    unsigned char mac[32])
{
	static unsigned char key[32];
	static int have_key;
	unsigned char buf[CONFIG_PASSWORD_HASH_MAX + 256];
	size_t le = strlen(encoded), lp = strlen(password);
	unsigned int len = 32;

	if (!have_key) {
		if (RAND_bytes(key, sizeof(key)) != 1)
			return -1;
		have_key = 1;
	}
	if (le + 1 + lp > sizeof(buf))
		return -1;	/* longer than any SMPP password: no memo */
	memcpy(buf, encoded, le + 1);
	memcpy(buf + le + 1, password, lp);
	int ok = HMAC(EVP_sha256(), key, sizeof(key), buf, le + 1 + lp, mac, &len) != NULL;
	OPENSSL_cleanse(buf, le + 1 + lp);
	return ok && len == 32 ? 0 : -1;
}

int config_password_check(struct config_password_memo *memo,
    const char *password, const char *encoded)
{
	unsigned char mac[32];
	int have, ok;

	if (!password || !encoded)
		return -1;
	have = password_mac(password, encoded, mac) == 0;
	if (have && memo->set && CRYPTO_memcmp(mac, memo->mac, sizeof(mac)) == 0) {
		memo->hits++;
		return 1;
	}
	ok = config_password_verify(password, encoded);
	if (ok == 1 && have) {
		memcpy(memo->mac, mac, sizeof(mac));
		memo->set = 1;
	}
	return ok;
}
