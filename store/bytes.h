/*
 * Byte order helpers shared by the store sources.  Keys are big-endian so that LMDB
 * cursors walk them in numeric (time) order; record fields are
 * little-endian.  memcpy keeps them alignment-safe: LMDB values have no
 * alignment guarantee.
 */
#ifndef SMPPD_STORE_BYTES_H
#define SMPPD_STORE_BYTES_H

#include <stdint.h>
#include <string.h>

static inline void be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t be64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void le16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline uint16_t le16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint32_t le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline void le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t le64_get(const uint8_t *p)
{
	return (uint64_t)le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

/*
 * A bounds-checked writer and reader over a byte buffer.  Errors stick:
 * check once at the end instead of after every field.
 */
struct bytes_w {
	uint8_t *p;
	size_t len, cap;
	int err;
};

struct bytes_r {
	const uint8_t *p;
	size_t len, off;
	int err;
};

static inline uint8_t *bytes_w_take(struct bytes_w *w, size_t n)
{
	if (w->err || n > w->cap - w->len) {
		w->err = 1;
		return NULL;
	}
	w->len += n;
	return w->p + w->len - n;
}

static inline const uint8_t *bytes_r_take(struct bytes_r *r, size_t n)
{
	if (r->err || n > r->len - r->off) {
		r->err = 1;
		return NULL;
	}
	r->off += n;
	return r->p + r->off - n;
}

#endif
