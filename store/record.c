/*
 * Message records and message ids: the encoding that lives on disk.
 *
 * Record, version 1 (integers little-endian):
 *
 *   u8 version, u8 state,
 *   u8 src_ton, src_npi, dst_ton, dst_npi, data_coding, esm_class,
 *      registered_delivery, segments,
 *   u16 attempts, u16 n_carrier_ids, u32 last_error, u64 id,
 *   i64 validity_ms, next_attempt_ms, created_ms, updated_ms,
 *   then account, campaign, lane, src_addr, dst_addr, carrier, each as
 *   u16 length + bytes + NUL (so that decoding can point at them as C
 *   strings), then u16 length + carrier ids (NUL-terminated, back to back),
 *   then u16 length + body.
 *
 * Status, version 1 (the part that changes after enqueue; store.c keeps it
 * apart from the record so that a state change rewrites 50 bytes, not the
 * whole message):
 *
 *   u8 version, u8 state, u16 attempts, u16 n_carrier_ids, u32 last_error,
 *   i64 next_attempt_ms, updated_ms, then carrier as u16 length + bytes +
 *   NUL, then u16 length + carrier ids.
 *
 * Decoding checks every length against the end and the record must end
 * exactly there: a corrupt record is an error, never a read past the end.
 */
#include "store/record.h"
#include "store/bytes.h"

#include <stdbool.h>

#define RECORD_VERSION 1
#define RECORD_FIXED 58
#define STATUS_VERSION 1

static const char *const state_names[STORE_STATE_COUNT] = {
	[STORE_QUEUED] = "queued",
	[STORE_DEFERRED] = "deferred",
	[STORE_SUBMITTING] = "submitting",
	[STORE_SUBMITTED] = "submitted",
	[STORE_DELIVERED] = "delivered",
	[STORE_UNDELIVERABLE] = "undeliverable",
	[STORE_EXPIRED] = "expired",
	[STORE_REJECTED] = "rejected",
	[STORE_CANCELLED] = "cancelled",
};

const char *store_state_name(enum store_state s)
{
	if ((unsigned)s >= STORE_STATE_COUNT)
		return "unknown";
	return state_names[s];
}

int store_state_is_final(enum store_state s)
{
	return s >= STORE_DELIVERED && s < STORE_STATE_COUNT;
}

/* ---- ids ---- */

void store_msgid_format(uint64_t id, char out[STORE_MSGID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = STORE_MSGID_LEN - 1; i >= 0; i--, id >>= 4)
		out[i] = hex[id & 15];
	out[STORE_MSGID_LEN] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int store_msgid_parse(const char *s, uint64_t *id)
{
	uint64_t v = 0;
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		int d = hex_value(s[n]);

		if (d < 0 || n == STORE_MSGID_LEN)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	if (n == 0)
		return -EINVAL;
	*id = v;
	return 0;
}

int64_t store_msgid_time_ms(uint64_t id)
{
	return (int64_t)(id >> 22);
}

/* ---- encode ---- */

static void put_str(struct bytes_w *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	uint8_t *p;

	if (n > STORE_STR_MAX) {
		w->err = 1;
		return;
	}
	p = bytes_w_take(w, 2 + n + 1);
	if (p == NULL)
		return;
	le16_put(p, (uint16_t)n);
	if (n)
		memcpy(p + 2, s, n);
	p[2 + n] = '\0';
}

static void put_blob(struct bytes_w *w, const void *b, size_t n, size_t max)
{
	uint8_t *p;

	if (n > max) {
		w->err = 1;
		return;
	}
	p = bytes_w_take(w, 2 + n);
	if (p == NULL)
		return;
	le16_put(p, (uint16_t)n);
	if (n)
		memcpy(p + 2, b, n);
}

static void put_fixed(uint8_t *p, const struct store_msg *m)
{
	p[0] = RECORD_VERSION;
	p[1] = (uint8_t)m->state;
	p[2] = m->src_ton;
	p[3] = m->src_npi;
	p[4] = m->dst_ton;
	p[5] = m->dst_npi;
	p[6] = m->data_coding;
	p[7] = m->esm_class;
	p[8] = m->registered_delivery;
	p[9] = m->segments;
	le16_put(p + 10, m->attempts);
	le16_put(p + 12, (uint16_t)m->n_carrier_ids);
	le32_put(p + 14, m->last_error);
	le64_put(p + 18, m->id);
	le64_put(p + 26, (uint64_t)m->validity_ms);
	le64_put(p + 34, (uint64_t)m->next_attempt_ms);
	le64_put(p + 42, (uint64_t)m->created_ms);
	le64_put(p + 50, (uint64_t)m->updated_ms);
}

int store_msg_encode(const struct store_msg *m, void *buf, size_t bufsz,
    size_t *len)
{
	struct bytes_w w = { .p = buf, .cap = bufsz };
	uint8_t *fixed = bytes_w_take(&w, RECORD_FIXED);

	if ((unsigned)m->state >= STORE_STATE_COUNT || m->n_carrier_ids > 0xffff)
		return -EINVAL;
	if (fixed == NULL)
		return -E2BIG;
	put_fixed(fixed, m);
	put_str(&w, m->account);
	put_str(&w, m->campaign);
	put_str(&w, m->lane);
	put_str(&w, m->src_addr);
	put_str(&w, m->dst_addr);
	put_str(&w, m->carrier);
	put_blob(&w, m->carrier_ids, m->n_carrier_ids ? m->carrier_ids_len : 0,
	    STORE_CARRIER_IDS_MAX);
	put_blob(&w, m->body, m->body_len, STORE_BODY_MAX);
	if (w.err)
		return -E2BIG;
	*len = w.len;
	return 0;
}

/* ---- decode ---- */

static void get_fixed(const uint8_t *p, struct store_msg *m)
{
	m->state = (enum store_state)p[1];
	m->src_ton = p[2];
	m->src_npi = p[3];
	m->dst_ton = p[4];
	m->dst_npi = p[5];
	m->data_coding = p[6];
	m->esm_class = p[7];
	m->registered_delivery = p[8];
	m->segments = p[9];
	m->attempts = le16_get(p + 10);
	m->n_carrier_ids = le16_get(p + 12);
	m->last_error = le32_get(p + 14);
	m->id = le64_get(p + 18);
	m->validity_ms = (int64_t)le64_get(p + 26);
	m->next_attempt_ms = (int64_t)le64_get(p + 34);
	m->created_ms = (int64_t)le64_get(p + 42);
	m->updated_ms = (int64_t)le64_get(p + 50);
}

/* A string must hold no NUL of its own and end in one. */
static const char *get_str(struct bytes_r *r)
{
	const uint8_t *lp = bytes_r_take(r, 2);
	const uint8_t *s;
	size_t n;

	if (lp == NULL)
		return NULL;
	n = le16_get(lp);
	s = n > STORE_STR_MAX ? NULL : bytes_r_take(r, n + 1);
	if (s == NULL || s[n] != '\0' || memchr(s, '\0', n) != NULL) {
		r->err = 1;
		return NULL;
	}
	return (const char *)s;
}

static const uint8_t *get_blob(struct bytes_r *r, size_t *n, size_t max)
{
	const uint8_t *lp = bytes_r_take(r, 2);

	if (lp == NULL)
		return NULL;
	*n = le16_get(lp);
	if (*n > max) {
		r->err = 1;
		return NULL;
	}
	return bytes_r_take(r, *n);
}

/* The carrier ids must be exactly n NUL-terminated strings. */
static bool carrier_ids_ok(const char *p, size_t len, unsigned n)
{
	unsigned nuls = 0;

	for (size_t i = 0; i < len; i++)
		nuls += p[i] == '\0';
	return nuls == n && (len == 0 || p[len - 1] == '\0');
}

int store_msg_decode(const void *buf, size_t len, struct store_msg *m)
{
	struct bytes_r r = { .p = buf, .len = len };
	const uint8_t *fixed = bytes_r_take(&r, RECORD_FIXED);

	if (fixed == NULL || fixed[0] != RECORD_VERSION ||
	    fixed[1] >= STORE_STATE_COUNT)
		return STORE_ECORRUPT;
	get_fixed(fixed, m);
	m->account = get_str(&r);
	m->campaign = get_str(&r);
	m->lane = get_str(&r);
	m->src_addr = get_str(&r);
	m->dst_addr = get_str(&r);
	m->carrier = get_str(&r);
	m->carrier_ids = (const char *)get_blob(&r, &m->carrier_ids_len,
	    STORE_CARRIER_IDS_MAX);
	m->body = get_blob(&r, &m->body_len, STORE_BODY_MAX);
	if (r.err || r.off != len)
		return STORE_ECORRUPT;
	if (!carrier_ids_ok(m->carrier_ids, m->carrier_ids_len,
	    m->n_carrier_ids))
		return STORE_ECORRUPT;
	return 0;
}

/* ---- status ---- */

int store_status_encode(const struct store_msg *m, void *buf, size_t bufsz,
    size_t *len)
{
	struct bytes_w w = { .p = buf, .cap = bufsz };
	uint8_t *p = bytes_w_take(&w, STORE_STATUS_FIXED);

	if ((unsigned)m->state >= STORE_STATE_COUNT || m->n_carrier_ids > 0xffff)
		return -EINVAL;
	if (p == NULL)
		return -E2BIG;
	p[0] = STATUS_VERSION;
	p[1] = (uint8_t)m->state;
	le16_put(p + 2, m->attempts);
	le16_put(p + 4, (uint16_t)m->n_carrier_ids);
	le32_put(p + 6, m->last_error);
	le64_put(p + 10, (uint64_t)m->next_attempt_ms);
	le64_put(p + 18, (uint64_t)m->updated_ms);
	put_str(&w, m->carrier);
	put_blob(&w, m->carrier_ids, m->n_carrier_ids ? m->carrier_ids_len : 0,
	    STORE_CARRIER_IDS_MAX);
	if (w.err)
		return -E2BIG;
	*len = w.len;
	return 0;
}

int store_status_overlay(const void *buf, size_t len, struct store_msg *m)
{
	struct bytes_r r = { .p = buf, .len = len };
	const uint8_t *p = bytes_r_take(&r, STORE_STATUS_FIXED);
	const char *carrier, *ids;
	size_t ids_len = 0;
	unsigned n_ids;

	if (p == NULL || p[0] != STATUS_VERSION || p[1] >= STORE_STATE_COUNT)
		return STORE_ECORRUPT;
	n_ids = le16_get(p + 4);
	carrier = get_str(&r);
	ids = (const char *)get_blob(&r, &ids_len, STORE_CARRIER_IDS_MAX);
	if (r.err || r.off != len || !carrier_ids_ok(ids, ids_len, n_ids))
		return STORE_ECORRUPT;
	m->state = (enum store_state)p[1];
	m->attempts = le16_get(p + 2);
	m->last_error = le32_get(p + 6);
	m->next_attempt_ms = (int64_t)le64_get(p + 10);
	m->updated_ms = (int64_t)le64_get(p + 18);
	m->carrier = carrier;
	m->carrier_ids = ids;
	m->carrier_ids_len = ids_len;
	m->n_carrier_ids = n_ids;
	return 0;
}

const char *store_msg_carrier_id(const struct store_msg *m, unsigned i)
{
	const char *p = m->carrier_ids;

	if (i >= m->n_carrier_ids || p == NULL)
		return NULL;
	while (i-- > 0)
		p += strlen(p) + 1;
	return p;
}
