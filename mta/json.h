/*
 * mta/json: the little JSON the admin API speaks, both ways.  Pure: no
 * I/O, no event loop, so the server, smppctl and the unit tests share it.
 *
 * Writing.  A json_out grows one buffer; commas are placed by the nesting
 * it keeps, so callers write keys and values in order.  An allocation
 * failure sticks in `failed` and later calls do nothing: check once at
 * the end.
 *
 * Reading.  json_parse() builds a tree of nodes (one allocation for all,
 * freed by json_free()); strings are decoded (escapes, \u with surrogate
 * pairs, to UTF-8) and NUL-terminated.  Hostile input is bounded: depth at
 * most JSON_MAX_DEPTH, nodes at most JSON_MAX_NODES, a NUL inside a string
 * is refused, anything after the value is an error.
 */
#ifndef SMPPD_MTA_JSON_H
#define SMPPD_MTA_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32
#define JSON_MAX_NODES 200000

struct json_out {
	char *buf;                  /* NUL-terminated while not failed */
	size_t len, cap;
	int failed;
	unsigned depth;
	int after_key;              /* a key was written, its value not yet */
	uint8_t first[JSON_MAX_DEPTH]; /* no value yet at this depth */
};

void json_out_init(struct json_out *j);
void json_out_free(struct json_out *j);
/* Hands the buffer to the caller (free() it); the json_out is reset. */
char *json_out_take(struct json_out *j, size_t *len);

void json_obj(struct json_out *j);
void json_obj_end(struct json_out *j);
void json_arr(struct json_out *j);
void json_arr_end(struct json_out *j);
/* A key inside an object; the value follows. */
void json_key(struct json_out *j, const char *key);
/* s NULL writes null.  Invalid UTF-8 bytes become U+FFFD. */
void json_str(struct json_out *j, const char *s);
void json_strn(struct json_out *j, const char *s, size_t n);
void json_int(struct json_out *j, int64_t v);
void json_uint(struct json_out *j, uint64_t v);
void json_num(struct json_out *j, double v);
void json_bool(struct json_out *j, int v);
void json_null(struct json_out *j);
/* Shorthands for "key": value. */
void json_kstr(struct json_out *j, const char *key, const char *s);
void json_kint(struct json_out *j, const char *key, int64_t v);
void json_kuint(struct json_out *j, const char *key, uint64_t v);
void json_kbool(struct json_out *j, const char *key, int v);

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING,
	JSON_ARRAY, JSON_OBJECT };

struct json_node {
	enum json_type type;
	const char *key;            /* member of an object: its name */
	const char *str;            /* STRING: decoded; NUMBER: its text */
	size_t len;                 /* STRING: bytes */
	double num;                 /* NUMBER */
	int32_t child, next;        /* indexes into the doc, -1: none */
	uint32_t count;             /* ARRAY, OBJECT: members */
};

struct json_doc {
	struct json_node *nodes;
	size_t n, cap;
	char *text;                 /* decoded strings live here */
	size_t tlen, tcap;
};

/* 0, or -1 with "at byte N: what" in err.  doc is freed on failure. */
int json_parse(const char *in, size_t len, struct json_doc *doc, char *err, size_t errcap);
void json_free(struct json_doc *doc);
const struct json_node *json_root(const struct json_doc *doc);
/* A member of an object by name, or NULL. */
const struct json_node *json_get(const struct json_doc *doc, const struct json_node *obj,
    const char *key);
/* The first member (array or object) and the one after n, or NULL. */
const struct json_node *json_first(const struct json_doc *doc, const struct json_node *n);
const struct json_node *json_next(const struct json_doc *doc, const struct json_node *n);
/* A member's value as text: strings as they are, numbers as written,
 * true/false/null by name; "" for arrays and objects or no member. */
const char *json_text(const struct json_doc *doc, const struct json_node *obj,
    const char *key);

#endif
