/* PDU codec: known vectors, round trips for every command, bad input. */
#include "tests/unit.h"
#include "smpp/pdu.h"
#include "tests/smpp/samples.h"

static struct smpp_pdu pdu, pdu2;
static uint8_t buf[70000], buf2[70000];

/* A submit_sm written out by hand from SMPP 3.4 section 4.4.1. */
static const uint8_t submit_vector[] = {
	0x00, 0x00, 0x00, 0x3b, /* command_length 59 */
	0x00, 0x00, 0x00, 0x04, /* submit_sm */
	0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x07, /* sequence 7 */
	'C', 'M', 'T', 0x00,    /* service_type */
	0x01, 0x01, '1', '2', '3', '4', 0x00,            /* source 1/1/1234 */
	0x01, 0x01, '1', '5', '5', '5', '0', '1', '0', '0', 0x00, /* dest */
	0x00, 0x00, 0x00,       /* esm_class, protocol_id, priority */
	0x00, 0x00,             /* schedule, validity empty */
	0x01, 0x00, 0x00, 0x00, /* registered_delivery, replace, dc, default id */
	0x05, 'h', 'e', 'l', 'l', 'o',
	0x02, 0x04, 0x00, 0x02, 0x12, 0x34, /* user_message_reference 0x1234 */
};

static void test_submit_vector(void)
{
	struct smpp_error err;
	CHECK_EQ_INT(sizeof submit_vector, 59);
	CHECK_EQ_INT(smpp_frame(submit_vector, sizeof submit_vector, NULL, &err), 59);
	CHECK_EQ_INT(smpp_frame(submit_vector, 58, NULL, &err), 0);
	CHECK_EQ_INT(smpp_pdu_decode(submit_vector, sizeof submit_vector, NULL, &pdu, &err), 0);
	CHECK_EQ_INT(pdu.command_id, SMPP_SUBMIT_SM);
	CHECK_EQ_INT(pdu.sequence_number, 7);
	CHECK_EQ_STR(pdu.service_type, "CMT");
	CHECK_EQ_INT(pdu.source.ton, 1);
	CHECK_EQ_STR(pdu.source.addr, "1234");
	CHECK_EQ_STR(pdu.dest.addr, "15550100");
	CHECK_EQ_STR(pdu.schedule_delivery_time, "");
	CHECK_EQ_INT(pdu.registered_delivery, 1);
	CHECK_EQ_INT(pdu.sm_length, 5);
	CHECK_EQ_MEM(pdu.short_message, "hello", 5);
	CHECK_EQ_INT(pdu.tlv_count, 1);
	uint32_t v = 0;
	CHECK_EQ_INT(smpp_tlv_get_int(&pdu, SMPP_TLV_USER_MESSAGE_REFERENCE, &v), 0);
	CHECK_EQ_INT(v, 0x1234);
	CHECK(smpp_tlv_find(&pdu, SMPP_TLV_MESSAGE_PAYLOAD) == NULL);

	long n = smpp_pdu_encode(&pdu, buf, sizeof buf, &err);
	CHECK_EQ_INT(n, 59);
	CHECK_EQ_MEM(buf, submit_vector, sizeof submit_vector);
}

static void test_enquire_link_vector(void)
{
	static const uint8_t el[] = { 0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 9 };
	struct smpp_error err;
	smpp_pdu_init(&pdu, SMPP_ENQUIRE_LINK, 9);
	CHECK_EQ_INT(smpp_pdu_encode(&pdu, buf, sizeof buf, &err), 16);
	CHECK_EQ_MEM(buf, el, 16);
	smpp_pdu_init_resp(&pdu2, &pdu, 0);
	CHECK_EQ_INT(pdu2.command_id, SMPP_ENQUIRE_LINK_RESP);
	CHECK_EQ_INT(pdu2.sequence_number, 9);
}

/* Encode, decode, encode again: same bytes, same fields. */
static void roundtrip(struct smpp_pdu *p, const char *what)
{
	struct smpp_error err = { 0, NULL, NULL };
	long n = smpp_pdu_encode(p, buf, sizeof buf, &err);
	unit_current = what;
	if (!CHECK(n > 0)) {
		printf("#   encode %s failed: %s: %s\n", what, err.field, err.reason);
		return;
	}
	int rc = smpp_pdu_decode(buf, (size_t)n, NULL, &pdu2, &err);
	if (rc != 0)
		printf("#   decode %s: %s: %s\n", what, err.field, err.reason);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(pdu2.command_id, p->command_id);
	CHECK_EQ_INT(pdu2.command_length, n);
	long n2 = smpp_pdu_encode(&pdu2, buf2, sizeof buf2, &err);
	CHECK_EQ_INT(n2, n);
	CHECK_EQ_MEM(buf2, buf, (size_t)n);
	char a[8192], b[8192];
	smpp_pdu_format(p, a, sizeof a);
	smpp_pdu_format(&pdu2, b, sizeof b);
	CHECK_EQ_STR(b, a);
}

static void fill_message(struct smpp_pdu *p)
{
	static struct smpp_tlv_store st;
	size_t i;
	for (i = 0; i < sample_count(); i++) {
		sample_build(i, &pdu2, &st);
		if (pdu2.command_id == SMPP_SUBMIT_SM)
			break;
	}
	uint32_t seq = p->sequence_number, id = p->command_id;
	*p = pdu2;
	p->command_id = id;
	p->sequence_number = seq;
	p->tlv_count = 0;
}

static void test_roundtrip_samples(void)
{
	static struct smpp_tlv_store store;
	uint32_t seen[64];
	size_t nseen = 0;
	for (size_t i = 0; i < sample_count(); i++) {
		const char *name = sample_build(i, &pdu, &store);
		CHECK(strcmp(name, "unknown") != 0);
		seen[nseen++] = pdu.command_id;
		roundtrip(&pdu, name);
		if (pdu.command_id == SMPP_SUBMIT_SM) {
			const struct smpp_tlv *t = &pdu2.tlvs[pdu2.tlv_count - 1];
			CHECK_EQ_INT(t->tag, 0x1401); /* vendor TLV kept as it came */
			CHECK_EQ_INT(t->len, 3);
			CHECK_EQ_MEM(t->value, "\xde\xad\xbe", 3);
		} else if (pdu.command_id == SMPP_SUBMIT_MULTI) {
			CHECK_EQ_INT(pdu2.number_of_dests, 3);
			CHECK_EQ_STR(pdu2.dests[1].dl_name, "customers");
			CHECK_EQ_STR(pdu2.dests[2].sme.addr, "13105550102");
		} else if (pdu.command_id == SMPP_SUBMIT_MULTI_RESP) {
			CHECK_EQ_INT(pdu2.unsuccess[1].error_status_code, 0x400);
		} else if (pdu.command_id == SMPP_DATA_SM) {
			CHECK_EQ_INT(smpp_tlv_find(&pdu2, SMPP_TLV_MESSAGE_PAYLOAD)->len, 300);
		} else if (pdu.command_id == SMPP_DELIVER_SM) {
			char id[16];
			CHECK_EQ_INT(smpp_tlv_get_str(&pdu2, SMPP_TLV_RECEIPTED_MESSAGE_ID,
			    id, sizeof id), 6);
			CHECK_EQ_STR(id, "1A2B3C");
		}
	}
	unit_current = "test_roundtrip_samples";
	/* every command of SMPP 3.4 has a sample */
	CHECK_EQ_INT(nseen, 27);
	for (uint32_t id = 0; id < 0x200; id++) {
		for (int resp = 0; resp < 2; resp++) {
			uint32_t cmd = id | (resp ? SMPP_RESP_BIT : 0);
			if (!smpp_command_known(cmd))
				continue;
			int found = 0;
			for (size_t k = 0; k < nseen; k++)
				found |= seen[k] == cmd;
			if (!CHECK(found))
				printf("#   no sample for %s\n", smpp_command_name(cmd));
		}
	}
}

/* Error responses may come without a body. */
static void test_error_resp_without_body(void)
{
	static const uint8_t r[] = { 0, 0, 0, 16, 0x80, 0, 0, 4, 0, 0, 0, 0x58, 0, 0, 0, 3 };
	struct smpp_error err;
	CHECK_EQ_INT(smpp_pdu_decode(r, sizeof r, NULL, &pdu, &err), 0);
	CHECK_EQ_INT(pdu.command_status, SMPP_ESME_RTHROTTLED);
	CHECK_EQ_STR(pdu.message_id, "");
	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM_RESP, 3);
	pdu.command_status = SMPP_ESME_RTHROTTLED;
	CHECK_EQ_INT(smpp_pdu_encode(&pdu, buf, sizeof buf, &err), 16);
	CHECK_EQ_MEM(buf, r, 16);
}

struct bad_case {
	const char *name;
	int cut;         /* bytes to drop from the end (command_length fixed) */
	int offset;      /* byte to overwrite, -1 for none */
	uint8_t value;
	uint32_t status;
	const char *field;
};

static void set_length(uint8_t *b, size_t n)
{
	smpp_put_u32(b, (uint32_t)n);
}

static void test_bad_inputs(void)
{
	static const struct bad_case cases[] = {
		{ "truncated in short_message", 8, -1, 0, SMPP_ESME_RINVCMDLEN, "short_message" },
		{ "sm_length past the body", 0, 47, 200, SMPP_ESME_RINVCMDLEN, "short_message" },
		{ "sm_length 255", 0, 47, 255, SMPP_ESME_RINVMSGLEN, "sm_length" },
		{ "TLV length past the body", 0, 56, 9, SMPP_ESME_RINVOPTPARSTREAM, "user_message_reference" },
		{ "TLV truncated header", 4, -1, 0, SMPP_ESME_RINVOPTPARSTREAM, "tlv" },
		{ "known TLV wrong size", 0, 56, 1, SMPP_ESME_RINVPARLEN, "user_message_reference" },
		{ "unknown command", 0, 7, 0x77, SMPP_ESME_RINVCMDID, "command_id" },
		{ "service_type too long", 0, 19, 'X', SMPP_ESME_RINVSERTYP, "service_type" },
		{ "bad schedule time", 0, 41, '7', SMPP_ESME_RINVSCHED, "schedule_delivery_time" },
	};
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct bad_case *c = &cases[i];
		uint8_t b[sizeof submit_vector + 32];
		memcpy(b, submit_vector, sizeof submit_vector);
		size_t n = sizeof submit_vector - (size_t)c->cut;
		if (c->offset >= 0)
			b[c->offset] = c->value;
		set_length(b, n);
		struct smpp_error err = { 0, "", "" };
		unit_current = c->name;
		CHECK_EQ_INT(smpp_pdu_decode(b, n, NULL, &pdu, &err), -1);
		CHECK_EQ_INT(err.status, c->status);
		CHECK_EQ_STR(err.field, c->field);
		CHECK_EQ_INT(pdu.sequence_number, 7); /* a nack can still name it */
	}
	unit_current = "test_bad_inputs";
}

static void test_bad_headers(void)
{
	struct smpp_error err;
	struct smpp_limits lim = { 1024 };
	uint8_t b[32] = { 0 };
	set_length(b, 15);
	CHECK_EQ_INT(smpp_frame(b, 16, &lim, &err), -1);
	CHECK_EQ_INT(err.status, SMPP_ESME_RINVCMDLEN);
	set_length(b, 1025);
	CHECK_EQ_INT(smpp_frame(b, 16, &lim, &err), -1);
	CHECK_EQ_STR(err.reason, "above the configured maximum");
	set_length(b, 0xffffffff);
	CHECK_EQ_INT(smpp_frame(b, 16, NULL, &err), -1);
	set_length(b, 20);
	CHECK_EQ_INT(smpp_frame(b, 3, &lim, &err), 0); /* need more */
	/* command_length disagreeing with the buffer */
	CHECK_EQ_INT(smpp_pdu_decode(b, 16, &lim, &pdu, &err), -1);
	CHECK_EQ_INT(err.status, SMPP_ESME_RINVCMDLEN);
	/* enquire_link with a body */
	uint8_t el[20] = { 0, 0, 0, 20, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
	CHECK_EQ_INT(smpp_pdu_decode(el, 20, &lim, &pdu, &err), -1);
	CHECK_EQ_INT(err.status, SMPP_ESME_RINVCMDLEN);
}

static void test_consistency_rules(void)
{
	struct smpp_error err;
	static struct smpp_tlv_store store;
	store.used = 0;
	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM, 1);
	fill_message(&pdu);
	smpp_tlv_add_int(&pdu, &store, SMPP_TLV_SAR_MSG_REF_NUM, 1);
	long n = smpp_pdu_encode(&pdu, buf, sizeof buf, &err);
	CHECK(n > 0);
	CHECK_EQ_INT(smpp_pdu_decode(buf, (size_t)n, NULL, &pdu2, &err), -1);
	CHECK_EQ_INT(err.status, SMPP_ESME_RMISSINGOPTPARAM);

	smpp_pdu_init(&pdu, SMPP_SUBMIT_SM, 1);
	fill_message(&pdu);
	smpp_tlv_add(&pdu, SMPP_TLV_MESSAGE_PAYLOAD, "abc", 3);
	n = smpp_pdu_encode(&pdu, buf, sizeof buf, &err);
	CHECK_EQ_INT(smpp_pdu_decode(buf, (size_t)n, NULL, &pdu2, &err), -1);
	CHECK_EQ_INT(err.status, SMPP_ESME_RINVOPTPARAMVAL);

	/* submit_multi: zero destinations, bad dest_flag */
	smpp_pdu_init(&pdu, SMPP_SUBMIT_MULTI, 1);
	fill_message(&pdu);
	CHECK_EQ_INT(smpp_pdu_encode(&pdu, buf, sizeof buf, &err), -1);
	CHECK_EQ_INT(err.status, SMPP_ESME_RINVNUMDESTS);
	pdu.number_of_dests = 1;
	pdu.dests[0] = (struct smpp_dest){ 1, { 1, 1, "1" }, NULL };
	n = smpp_pdu_encode(&pdu, buf, sizeof buf, &err);
	CHECK(n > 0);
	buf[35] = 3; /* dest_flag: header, "WAP", 1/1/"12025550100", ndests */
	CHECK_EQ_INT(smpp_pdu_decode(buf, (size_t)n, NULL, &pdu2, &err), -1);
}

static void test_encode_limits(void)
{
	struct smpp_error err;
	smpp_pdu_init(&pdu, SMPP_BIND_TRANSMITTER, 1);
	pdu.system_id = "sixteen-chars-ab"; /* 16 + NUL > 16 */
	CHECK_EQ_INT(smpp_pdu_encode(&pdu, buf, sizeof buf, &err), -1);
	CHECK_EQ_STR(err.field, "system_id");
	pdu.system_id = "fifteen-chars-a";
	long need = smpp_pdu_encode(&pdu, buf, 10, &err);
	CHECK(need > 10);
	CHECK_EQ_INT(smpp_pdu_encode(&pdu, buf, (size_t)need, &err), need);
	smpp_pdu_init(&pdu, SMPP_ENQUIRE_LINK, 1);
	smpp_tlv_add(&pdu, 0x1400, "x", 1);
	CHECK_EQ_INT(smpp_pdu_encode(&pdu, buf, sizeof buf, &err), -1);
	CHECK_EQ_INT(err.status, SMPP_ESME_ROPTPARNOTALLWD);
	pdu.command_id = 0x12345;
	CHECK_EQ_INT(smpp_pdu_encode(&pdu, buf, sizeof buf, &err), -1);
	CHECK_EQ_INT(err.status, SMPP_ESME_RINVCMDID);
}

static void test_names(void)
{
	CHECK_EQ_STR(smpp_command_name(SMPP_SUBMIT_SM), "submit_sm");
	CHECK_EQ_STR(smpp_command_name(SMPP_DATA_SM_RESP), "data_sm_resp");
	CHECK_EQ_STR(smpp_command_name(0x7777), "unknown");
	CHECK_EQ_STR(smpp_status_name(SMPP_ESME_RTHROTTLED), "ESME_RTHROTTLED");
	CHECK_EQ_STR(smpp_tlv_name(SMPP_TLV_MESSAGE_STATE), "message_state");
	CHECK_EQ_STR(smpp_tlv_name(SMPP_TLV_DEST_ADDR_NP_COUNTRY), "dest_addr_np_country");
	CHECK_EQ_INT(smpp_resp_id(SMPP_OUTBIND), SMPP_GENERIC_NACK);
	CHECK_EQ_INT(smpp_resp_id(0x99), SMPP_GENERIC_NACK);
	CHECK_EQ_INT(smpp_resp_id(SMPP_SUBMIT_MULTI), SMPP_SUBMIT_MULTI_RESP);
	char line[1024];
	smpp_pdu_decode(submit_vector, sizeof submit_vector, NULL, &pdu, NULL);
	smpp_pdu_format(&pdu, line, sizeof line);
	CHECK(strstr(line, "submit_sm seq=7") == line);
	CHECK(strstr(line, "destination_addr=1/1/\"15550100\"") != NULL);
	CHECK(strstr(line, "user_message_reference(0x0204)=1234") != NULL);
	int full = smpp_pdu_format(&pdu, line, 20);
	CHECK(full > 20);
	CHECK_EQ_INT(strlen(line), 19);
}

static void test_times(void)
{
	int64_t ms = -1;
	CHECK_EQ_INT(smpp_time_parse("", 5, &ms), 0);
	CHECK_EQ_INT(ms, 0);
	/* 2026-11-28 12:00:00 UTC = 1795867200 */
	CHECK_EQ_INT(smpp_time_parse("261128120000000+", 0, &ms), 0);
	CHECK_EQ_INT(ms, 1795867200000LL);
	/* the same instant written as US Eastern (UTC-5: 20 quarters behind) */
	CHECK_EQ_INT(smpp_time_parse("261128070000020-", 0, &ms), 0);
	CHECK_EQ_INT(ms, 1795867200000LL);
	CHECK_EQ_INT(smpp_time_parse("261128130000504+", 0, &ms), 0);
	CHECK_EQ_INT(ms, 1795867200500LL);
	CHECK_EQ_INT(smpp_time_parse("000001023000000R", 1000, &ms), 0);
	CHECK_EQ_INT(ms, 1000 + (24 * 3600 + 2 * 3600 + 30 * 60) * 1000LL);
	CHECK_EQ_INT(smpp_time_parse("261328120000000+", 0, &ms), -1); /* month 13 */
	CHECK_EQ_INT(smpp_time_parse("2611281200", 0, &ms), -1);
	CHECK_EQ_INT(smpp_time_parse("261128120000000X", 0, &ms), -1);
	char out[17];
	smpp_time_format(1795867200000LL, out);
	CHECK_EQ_STR(out, "261128120000000+");
	smpp_time_format(951782400000LL, out); /* 2000-02-29 */
	CHECK_EQ_STR(out, "000229000000000+");
}

int main(void)
{
	RUN(test_times);
	RUN(test_submit_vector);
	RUN(test_enquire_link_vector);
	RUN(test_roundtrip_samples);
	RUN(test_error_resp_without_body);
	RUN(test_bad_inputs);
	RUN(test_bad_headers);
	RUN(test_consistency_rules);
	RUN(test_encode_limits);
	RUN(test_names);
	return unit_done();
}
