/*
 * Receipts and MO waiting for an application, as read back from the store:
 * arbitrary bytes into dlr_decode (a damaged store must not crash smppd).
 * What decodes must encode again and decode to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mta/relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct dlr *a, const char *a_src, const char *a_dst, const struct dlr *b)
{
	return a->kind == b->kind && a->msg_id == b->msg_id && a->stat == b->stat &&
	    a->err == b->err && a->submit_ms == b->submit_ms && a->done_ms == b->done_ms &&
	    a->src_ton == b->src_ton && a->src_npi == b->src_npi && a->dst_ton == b->dst_ton &&
	    a->dst_npi == b->dst_npi && strcmp(a_src, b->src) == 0 && strcmp(a_dst, b->dst) == 0 &&
	    a->data_coding == b->data_coding && a->esm_class == b->esm_class &&
	    a->body_len == b->body_len && memcmp(a->body, b->body, a->body_len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DLR_MAX + 600];
	char src[256], dst[256];
	struct dlr a, b;
	size_t len;

	if (dlr_decode(data, size, &a) != 0)
		return 0;
	if (a.kind != DLR_RECEIPT && a.kind != DLR_MO)
		abort();
	if (a.body_len && (a.body < data || a.body + a.body_len > data + size))
		abort();
	/* the decoder's strings live in its own buffers, reused by the next call */
	if (strlen(a.src) > 255 || strlen(a.dst) > 255)
		abort();
	strcpy(src, a.src);
	strcpy(dst, a.dst);
	if (dlr_encode(&a, out, sizeof out, &len) != 0)
		abort();
	if (dlr_decode(out, len, &b) != 0 || !same(&a, src, dst, &b))
		abort();
	return 0;
}
