#include "tests/smpp/samples.h"

#include <string.h>

static const uint8_t udh_part[] = { 0x05, 0x00, 0x03, 0x2a, 0x02, 0x01,
	0x00, 'h', 0x00, 'i' };
static const uint8_t payload[300] = { 'p', 'a', 'y', 'l', 'o', 'a', 'd' };
static const uint8_t vendor_value[] = { 0xde, 0xad, 0xbe };
static const uint8_t network_error[] = { 0x03, 0x00, 0x0b };

static void message(struct smpp_pdu *p)
{
	p->service_type = "WAP";
	p->source = (struct smpp_addr){ 1, 1, "12025550100" };
	p->dest = (struct smpp_addr){ 1, 1, "13105550199" };
	p->esm_class = 0x40;
	p->priority_flag = 1;
	p->schedule_delivery_time = "261128120000000+";
	p->validity_period = "000001000000000R";
	p->registered_delivery = 1;
	p->data_coding = 8;
	p->short_message = udh_part;
	p->sm_length = sizeof udh_part;
}

static void bind(struct smpp_pdu *p)
{
	p->system_id = "app1";
	p->password = "secret12";
	p->system_type = "SMPP";
	p->interface_version = 0x34;
	p->address_range = (struct smpp_addr){ 1, 1, "^1555" };
}

static void build(size_t i, struct smpp_pdu *p, struct smpp_tlv_store *st)
{
	switch (p->command_id) {
	case SMPP_BIND_TRANSMITTER:
	case SMPP_BIND_RECEIVER:
	case SMPP_BIND_TRANSCEIVER:
		bind(p);
		break;
	case SMPP_BIND_TRANSMITTER_RESP:
	case SMPP_BIND_RECEIVER_RESP:
	case SMPP_BIND_TRANSCEIVER_RESP:
		p->system_id = "smppd";
		smpp_tlv_add_int(p, st, SMPP_TLV_SC_INTERFACE_VERSION, 0x34);
		break;
	case SMPP_OUTBIND:
		p->system_id = "carrier";
		p->password = "pw";
		break;
	case SMPP_SUBMIT_SM:
		message(p);
		smpp_tlv_add_int(p, st, SMPP_TLV_USER_MESSAGE_REFERENCE, 0x1234);
		smpp_tlv_add_int(p, st, SMPP_TLV_SOURCE_PORT, 2948);
		smpp_tlv_add_int(p, st, SMPP_TLV_DESTINATION_PORT, 2948);
		smpp_tlv_add_int(p, st, SMPP_TLV_SAR_MSG_REF_NUM, 0x2a2a);
		smpp_tlv_add_int(p, st, SMPP_TLV_SAR_TOTAL_SEGMENTS, 2);
		smpp_tlv_add_int(p, st, SMPP_TLV_SAR_SEGMENT_SEQNUM, 1);
		smpp_tlv_add_int(p, st, SMPP_TLV_PAYLOAD_TYPE, 0);
		smpp_tlv_add_int(p, st, SMPP_TLV_PRIVACY_INDICATOR, 1);
		smpp_tlv_add_int(p, st, SMPP_TLV_LANGUAGE_INDICATOR, 1);
		smpp_tlv_add_int(p, st, SMPP_TLV_QOS_TIME_TO_LIVE, 3600);
		smpp_tlv_add(p, 0x1401, vendor_value, sizeof vendor_value);
		break;
	case SMPP_DELIVER_SM:
		message(p);
		p->schedule_delivery_time = "";
		p->validity_period = "";
		p->esm_class = SMPP_ESM_TYPE_RECEIPT;
		p->data_coding = 0;
		p->short_message = (const uint8_t *)"id:1A2B3C sub:001 dlvrd:001 "
		    "submit date:2611281200 done date:2611281201 stat:DELIVRD err:000 text:hi";
		p->sm_length = (uint8_t)strlen((const char *)p->short_message);
		smpp_tlv_add_str(p, SMPP_TLV_RECEIPTED_MESSAGE_ID, "1A2B3C");
		smpp_tlv_add_int(p, st, SMPP_TLV_MESSAGE_STATE, SMPP_STATE_DELIVERED);
		smpp_tlv_add(p, SMPP_TLV_NETWORK_ERROR_CODE, network_error, sizeof network_error);
		break;
	case SMPP_SUBMIT_SM_RESP:
	case SMPP_DELIVER_SM_RESP:
	case SMPP_DATA_SM_RESP:
		p->message_id = p->command_id == SMPP_DELIVER_SM_RESP ? "" : "0123456789abcdef";
		break;
	case SMPP_DATA_SM:
		p->service_type = "";
		p->source = (struct smpp_addr){ 5, 0, "BrandName" };
		p->dest = (struct smpp_addr){ 1, 1, "13105550199" };
		p->registered_delivery = 1;
		smpp_tlv_add(p, SMPP_TLV_MESSAGE_PAYLOAD, payload, sizeof payload);
		smpp_tlv_add_int(p, st, SMPP_TLV_MORE_MESSAGES_TO_SEND, 0);
		break;
	case SMPP_QUERY_SM:
		p->message_id = "42";
		p->source = (struct smpp_addr){ 1, 1, "12025550100" };
		break;
	case SMPP_QUERY_SM_RESP:
		p->message_id = "42";
		p->final_date = "261128120000000+";
		p->message_state = SMPP_STATE_DELIVERED;
		break;
	case SMPP_CANCEL_SM:
		p->service_type = "";
		p->message_id = "42";
		p->source = (struct smpp_addr){ 1, 1, "12025550100" };
		p->dest = (struct smpp_addr){ 1, 1, "13105550199" };
		break;
	case SMPP_REPLACE_SM:
		p->message_id = "42";
		p->source = (struct smpp_addr){ 1, 1, "12025550100" };
		p->registered_delivery = 1;
		p->short_message = (const uint8_t *)"new text";
		p->sm_length = 8;
		break;
	case SMPP_SUBMIT_MULTI:
		message(p);
		p->number_of_dests = 3;
		p->dests[0] = (struct smpp_dest){ 1, { 1, 1, "13105550101" }, NULL };
		p->dests[1] = (struct smpp_dest){ 2, { 0, 0, NULL }, "customers" };
		p->dests[2] = (struct smpp_dest){ 1, { 1, 1, "13105550102" }, NULL };
		break;
	case SMPP_SUBMIT_MULTI_RESP:
		p->message_id = "m1";
		p->no_unsuccess = 2;
		p->unsuccess[0] = (struct smpp_unsuccess){ { 1, 1, "13105550101" },
			SMPP_ESME_RINVDSTADR };
		p->unsuccess[1] = (struct smpp_unsuccess){ { 1, 1, "13105550102" }, 0x400 };
		break;
	case SMPP_ALERT_NOTIFICATION:
		p->source = (struct smpp_addr){ 1, 1, "13105550101" };
		p->esme = (struct smpp_addr){ 1, 1, "12025550100" };
		smpp_tlv_add_int(p, st, SMPP_TLV_MS_AVAILABILITY_STATUS, 0);
		break;
	case SMPP_GENERIC_NACK:
		p->command_status = SMPP_ESME_RINVCMDID;
		break;
	default:
		break; /* empty bodies */
	}
	(void)i;
}

static const uint32_t ids[] = {
	SMPP_BIND_TRANSMITTER, SMPP_BIND_TRANSMITTER_RESP,
	SMPP_BIND_RECEIVER, SMPP_BIND_RECEIVER_RESP,
	SMPP_BIND_TRANSCEIVER, SMPP_BIND_TRANSCEIVER_RESP,
	SMPP_OUTBIND, SMPP_UNBIND, SMPP_UNBIND_RESP, SMPP_GENERIC_NACK,
	SMPP_SUBMIT_SM, SMPP_SUBMIT_SM_RESP, SMPP_SUBMIT_MULTI, SMPP_SUBMIT_MULTI_RESP,
	SMPP_DELIVER_SM, SMPP_DELIVER_SM_RESP, SMPP_DATA_SM, SMPP_DATA_SM_RESP,
	SMPP_QUERY_SM, SMPP_QUERY_SM_RESP, SMPP_CANCEL_SM, SMPP_CANCEL_SM_RESP,
	SMPP_REPLACE_SM, SMPP_REPLACE_SM_RESP, SMPP_ENQUIRE_LINK, SMPP_ENQUIRE_LINK_RESP,
	SMPP_ALERT_NOTIFICATION,
};

size_t sample_count(void)
{
	return sizeof ids / sizeof ids[0];
}

const char *sample_build(size_t i, struct smpp_pdu *pdu, struct smpp_tlv_store *store)
{
	store->used = 0;
	smpp_pdu_init(pdu, ids[i], (uint32_t)(i + 1));
	build(i, pdu, store);
	return smpp_command_name(ids[i]);
}
