/*
 * Records and statuses as read back from a store that may be damaged:
 * arbitrary bytes into store_msg_decode and store_status_overlay.  What
 * decodes must point inside the bytes it came from, encode again, and
 * decode to the same message; a status must encode to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const void *p, size_t n, const uint8_t *data, size_t size)
{
	const uint8_t *b = p;

	if (n && (b < data || b + n > data + size))
		abort();
}

static void strings_inside(const struct store_msg *m, const uint8_t *data, size_t size)
{
	const char *s[] = { m->account, m->campaign, m->lane, m->src_addr, m->dst_addr };

	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
		if (s[i] == NULL)
			abort();
		if (*s[i])
			inside(s[i], strlen(s[i]) + 1, data, size);
	}
	inside(m->body, m->body_len, data, size);
	for (unsigned i = 0; i < m->n_carrier_ids; i++)
		if (store_msg_carrier_id(m, i) == NULL)
			abort();
}

static int same(const struct store_msg *a, const struct store_msg *b)
{
	return a->id == b->id && strcmp(a->account, b->account) == 0 &&
	    strcmp(a->campaign, b->campaign) == 0 && strcmp(a->lane, b->lane) == 0 &&
	    strcmp(a->src_addr, b->src_addr) == 0 && strcmp(a->dst_addr, b->dst_addr) == 0 &&
	    a->state == b->state && a->segments == b->segments &&
	    a->created_ms == b->created_ms && a->validity_ms == b->validity_ms &&
	    a->n_carrier_ids == b->n_carrier_ids && a->body_len == b->body_len &&
	    memcmp(a->body, b->body, a->body_len) == 0;
}

static void record(const uint8_t *data, size_t size)
{
	static uint8_t out[STORE_MSG_MAX];
	struct store_msg a, b;
	size_t len;

	if (store_msg_decode(data, size, &a) != 0)
		return;
	strings_inside(&a, data, size);
	if (store_msg_encode(&a, out, sizeof out, &len) != 0)
		abort();
	if (store_msg_decode(out, len, &b) != 0 || !same(&a, &b))
		abort();
}

/* Every byte of a status is a field, so what overlays encodes back to
 * exactly the bytes it came from. */
static void status_again(const struct store_msg *m, const uint8_t *data, size_t size)
{
	static uint8_t out[STORE_STATUS_MAX];
	size_t len;

	if (store_status_encode(m, out, sizeof out, &len) != 0)
		abort();
	if (len != size || memcmp(out, data, size) != 0)
		abort();
}

static void status(const uint8_t *data, size_t size)
{
	struct store_msg m = { .id = 7, .account = "acct", .campaign = "C1", .lane = "C1",
		.src_addr = "12025550100", .dst_addr = "13125550100", .state = STORE_QUEUED,
		.carrier = "", .carrier_ids = "", .segments = 1 };
	struct store_msg before = m;

	if (store_status_overlay(data, size, &m) != 0) {
		if (memcmp(&m, &before, sizeof m) != 0)
			abort(); /* refused: left as it was */
		return;
	}
	if (m.state >= STORE_STATE_COUNT || m.carrier == NULL || m.carrier_ids == NULL)
		abort();
	if (*m.carrier)
		inside(m.carrier, strlen(m.carrier) + 1, data, size);
	for (unsigned i = 0; i < m.n_carrier_ids; i++)
		if (store_msg_carrier_id(&m, i) == NULL)
			abort();
	status_again(&m, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	record(data, size);
	status(data, size);
	return 0;
}
