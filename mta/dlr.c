/*
 * Pending upstream deliveries (receipts and MOs) as the store keeps them:
 * a small versioned record, so that what waits for an application survives
 * restarts and upgrades.  Little-endian integers, strings with a one-byte
 * length, the body with a two-byte length.
 */
#include <string.h>

#include "mta/relay.h"

#define DLR_VERSION 1

struct cursor {
	uint8_t *p;
	const uint8_t *rp;
	const uint8_t *end;
	int bad;
};

static void put(struct cursor *c, const void *v, size_t n)
{
	if (n == 0)
		return;
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = 1;
		return;
	}
	memcpy(c->p, v, n);
	c->p += n;
}

static void put_int(struct cursor *c, uint64_t v, size_t n)
{
	uint8_t b[8];
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(c, b, n);
}

static void put_str(struct cursor *c, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n > 255) {
		c->bad = 1;
		return;
	}
	put_int(c, n, 1);
	put(c, s, n);
}

int dlr_encode(const struct dlr *d, uint8_t *out, size_t cap, size_t *len)
{
	struct cursor c = { out, NULL, out + cap, 0 };
	if (d->body_len > 0xffff)
		return -1;
	put_int(&c, DLR_VERSION, 1);
	put_int(&c, d->kind, 1);
	put_int(&c, d->msg_id, 8);
	put_int(&c, d->stat, 1);
	put_int(&c, d->err, 4);
	put_int(&c, (uint64_t)d->submit_ms, 8);
	put_int(&c, (uint64_t)d->done_ms, 8);
	uint8_t addr[4] = { d->src_ton, d->src_npi, d->dst_ton, d->dst_npi };
	put(&c, addr, 4);
	put_str(&c, d->src);
	put_str(&c, d->dst);
	put_int(&c, d->data_coding, 1);
	put_int(&c, d->esm_class, 1);
	put_int(&c, d->body_len, 2);
	put(&c, d->body, d->body_len);
	if (c.bad)
		return -1;
	*len = (size_t)(c.p - out);
	return 0;
}

static const uint8_t *take(struct cursor *c, size_t n)
{
	if (c->bad || (size_t)(c->end - c->rp) < n) {
		c->bad = 1;
		return NULL;
	}
	const uint8_t *p = c->rp;
	c->rp += n;
	return p;
}

static uint64_t take_int(struct cursor *c, size_t n)
{
	const uint8_t *p = take(c, n);
	uint64_t v = 0;
	for (size_t i = 0; p && i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Strings are copied into the decoder's buffer to get their NULs. */
static const char *take_str(struct cursor *c, char *buf, size_t cap)
{
	size_t n = (size_t)take_int(c, 1);
	const uint8_t *p = take(c, n);
	if (!p || n >= cap)
		return "";
	memcpy(buf, p, n);
	buf[n] = 0;
	return buf;
}

int dlr_decode(const uint8_t *in, size_t len, struct dlr *d)
{
	static char src[256], dst[256];
	struct cursor c = { NULL, in, in + len, 0 };
	memset(d, 0, sizeof *d);
	if (take_int(&c, 1) != DLR_VERSION)
		return -1;
	d->kind = (uint8_t)take_int(&c, 1);
	d->msg_id = take_int(&c, 8);
	d->stat = (uint8_t)take_int(&c, 1);
	d->err = (uint32_t)take_int(&c, 4);
	d->submit_ms = (int64_t)take_int(&c, 8);
	d->done_ms = (int64_t)take_int(&c, 8);
	const uint8_t *a = take(&c, 4);
	if (a) {
		d->src_ton = a[0];
		d->src_npi = a[1];
		d->dst_ton = a[2];
		d->dst_npi = a[3];
	}
	d->src = take_str(&c, src, sizeof src);
	d->dst = take_str(&c, dst, sizeof dst);
	d->data_coding = (uint8_t)take_int(&c, 1);
	d->esm_class = (uint8_t)take_int(&c, 1);
	d->body_len = (size_t)take_int(&c, 2);
	d->body = take(&c, d->body_len);
	if (c.bad || c.rp != c.end || (d->kind != DLR_RECEIPT && d->kind != DLR_MO))
		return -1;
	return 0;
}
