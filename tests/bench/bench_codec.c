/*
 * Codec micro-benchmark: decode and encode of a typical submit_sm and of a
 * receipt deliver_sm, and the receipt's text read and written, on one
 * core.  Prints one JSON line per case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smpp/pdu.h"
#include "smpp/receipt.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct smpp_pdu pdu;
static volatile unsigned sink;

static long build_submit(uint8_t *buf, size_t cap)
{
	static struct smpp_tlv_store st;
	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM, 1234);
	pdu.source = (struct smpp_addr){ 1, 1, "12025550100" };
	pdu.dest = (struct smpp_addr){ 1, 1, "13105550199" };
	pdu.registered_delivery = 1;
	static const char text[] = "Acme: your order 55123 has shipped and arrives Tuesday. "
	    "Reply STOP to opt out";
	pdu.short_message = (const uint8_t *)text;
	pdu.sm_length = (uint8_t)strlen(text);
	st.used = 0;
	smpp_tlv_add_int(&pdu, &st, SMPP_TLV_USER_MESSAGE_REFERENCE, 77);
	return smpp_pdu_encode(&pdu, buf, cap, NULL);
}

static long build_receipt(uint8_t *buf, size_t cap)
{
	static struct smpp_tlv_store st;
	smpp_pdu_init(&pdu, SMPP_DELIVER_SM, 99);
	pdu.source = (struct smpp_addr){ 1, 1, "13105550199" };
	pdu.dest = (struct smpp_addr){ 1, 1, "12025550100" };
	pdu.esm_class = SMPP_ESM_TYPE_RECEIPT;
	static const char text[] = "id:4f2a9c0e1b sub:001 dlvrd:001 submit date:2611281200 "
	    "done date:2611281200 stat:DELIVRD err:000 text:Acme: your order";
	pdu.short_message = (const uint8_t *)text;
	pdu.sm_length = (uint8_t)strlen(text);
	st.used = 0;
	smpp_tlv_add_str(&pdu, SMPP_TLV_RECEIPTED_MESSAGE_ID, "4f2a9c0e1b");
	smpp_tlv_add_int(&pdu, &st, SMPP_TLV_MESSAGE_STATE, SMPP_STATE_DELIVERED);
	return smpp_pdu_encode(&pdu, buf, cap, NULL);
}

static void bench_decode(const char *name, const uint8_t *buf, long n, long iters)
{
	struct smpp_error err;
	double t0 = now_s();
	for (long i = 0; i < iters; i++) {
		if (smpp_pdu_decode(buf, (size_t)n, NULL, &pdu, &err) != 0)
			abort();
		sink += pdu.sm_length;
	}
	double dt = now_s() - t0;
	printf("{\"case\":\"decode %s\",\"bytes\":%ld,\"per_second\":%.0f,\"ns_each\":%.1f}\n",
	    name, n, (double)iters / dt, dt * 1e9 / (double)iters);
}

static void bench_encode(const char *name, long iters)
{
	uint8_t out[512];
	double t0 = now_s();
	for (long i = 0; i < iters; i++) {
		pdu.sequence_number = (uint32_t)i;
		long n = smpp_pdu_encode(&pdu, out, sizeof out, NULL);
		if (n <= 0)
			abort();
		sink += out[n - 1];
	}
	double dt = now_s() - t0;
	printf("{\"case\":\"encode %s\",\"per_second\":%.0f,\"ns_each\":%.1f}\n",
	    name, (double)iters / dt, dt * 1e9 / (double)iters);
}

static void report(const char *name, long iters, double dt)
{
	printf("{\"case\":\"%s\",\"per_second\":%.0f,\"ns_each\":%.1f}\n",
	    name, (double)iters / dt, dt * 1e9 / (double)iters);
}

/* The receipt's fields from the decoded deliver_sm (text and TLVs), as a
 * relay reads every receipt a carrier sends. */
static void bench_receipt_read(const uint8_t *buf, long n, long iters)
{
	struct smpp_error err;
	struct smpp_receipt r;
	if (smpp_pdu_decode(buf, (size_t)n, NULL, &pdu, &err) != 0)
		abort();
	double t0 = now_s();
	for (long i = 0; i < iters; i++) {
		if (smpp_receipt_from_pdu(&pdu, &r) != 1)
			abort();
		sink += (unsigned)r.stat;
	}
	report("read receipt fields", iters, now_s() - t0);
}

/* The Appendix B text, as a relay writes one for each application
 * receipt and a carrier simulator for each message. */
static void bench_receipt_write(long iters)
{
	static const char text[] = "Acme: your order";
	struct smpp_receipt r;
	char out[256];
	smpp_receipt_init(&r);
	snprintf(r.id, sizeof r.id, "%s", "4f2a9c0e1b");
	r.sub = r.dlvrd = 1;
	r.err = 0;
	r.stat = SMPP_STAT_DELIVRD;
	smpp_receipt_time_from_ms(1795867200000, &r.submit_date);
	smpp_receipt_time_from_ms(1795867212000, &r.done_date);
	r.text = text;
	r.text_len = sizeof text - 1;
	double t0 = now_s();
	for (long i = 0; i < iters; i++) {
		r.err = (int)(i & 7);
		int n = smpp_receipt_format(&r, out, sizeof out);
		if (n <= 0 || (size_t)n >= sizeof out)
			abort();
		sink += (unsigned char)out[n - 1];
	}
	report("write receipt text", iters, now_s() - t0);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 10000000;
	uint8_t submit[512], receipt[512];
	long ns = build_submit(submit, sizeof submit);
	bench_encode("submit_sm", iters);
	long nr = build_receipt(receipt, sizeof receipt);
	bench_encode("deliver_sm receipt", iters);
	bench_decode("submit_sm", submit, ns, iters);
	bench_decode("deliver_sm receipt", receipt, nr, iters);
	bench_receipt_read(receipt, nr, iters);
	bench_receipt_write(iters);
	return 0;
}
