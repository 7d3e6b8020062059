/*
 * SMPP PDU codec driven by layout tables.
 *
 * Each command's mandatory body is a list of field descriptors (kind,
 * offset into struct smpp_pdu, wire limit, status to answer when it is
 * wrong).  Decode, encode and format walk the same list, so a command is
 * one table entry and the three can never disagree about a layout.
 * Optional parameters follow the mandatory fields as tag-length-value
 * triples; known tags are checked against their defined sizes, unknown
 * ones are kept as they came and re-encoded byte for byte.
 */
#include "smpp/pdu.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum field_kind {
	F_CSTR,    /* C-octet string, max includes the NUL */
	F_TIME,    /* C-octet string, empty or 16 characters of SMPP time */
	F_U8,
	F_ADDR,    /* ton, npi, C-octet address */
	F_SM,      /* sm_length then that many octets */
	F_DESTS,   /* submit_multi number_of_dests and dest_address list */
	F_UNSUCC,  /* submit_multi_resp no_unsuccess and unsuccess_sme list */
};

struct field {
	const char *name;
	uint8_t kind;
	uint8_t max;     /* wire size limit including the NUL, for strings */
	uint16_t offset; /* into struct smpp_pdu */
	uint32_t status; /* answer when this field is wrong */
};

#define OFF(member) ((uint16_t)offsetof(struct smpp_pdu, member))
#define CSTR(n, m, max, st) { n, F_CSTR, max, OFF(m), st }
#define TIME(n, m, st) { n, F_TIME, 17, OFF(m), st }
#define U8(n, m) { n, F_U8, 1, OFF(m), SMPP_ESME_RINVCMDLEN }
#define ADDR(n, m, max, st) { n, F_ADDR, max, OFF(m), st }

/* Shared field runs */
#define MSG_HEAD(addrmax) \
	CSTR("service_type", service_type, 6, SMPP_ESME_RINVSERTYP), \
	ADDR("source_addr", source, addrmax, SMPP_ESME_RINVSRCADR)

#define SM_TAIL \
	U8("esm_class", esm_class), \
	U8("protocol_id", protocol_id), \
	U8("priority_flag", priority_flag), \
	TIME("schedule_delivery_time", schedule_delivery_time, SMPP_ESME_RINVSCHED), \
	TIME("validity_period", validity_period, SMPP_ESME_RINVEXPIRY), \
	U8("registered_delivery", registered_delivery), \
	U8("replace_if_present_flag", replace_if_present_flag), \
	U8("data_coding", data_coding), \
	U8("sm_default_msg_id", sm_default_msg_id), \
	{ "short_message", F_SM, 0, OFF(short_message), SMPP_ESME_RINVMSGLEN }

#define MESSAGE_ID CSTR("message_id", message_id, 65, SMPP_ESME_RINVMSGID)

static const struct field bind_fields[] = {
	CSTR("system_id", system_id, 16, SMPP_ESME_RINVSYSID),
	CSTR("password", password, 9, SMPP_ESME_RINVPASWD),
	CSTR("system_type", system_type, 13, SMPP_ESME_RINVSYSTYP),
	U8("interface_version", interface_version),
	ADDR("address_range", address_range, 41, SMPP_ESME_RINVPARLEN),
};
static const struct field bind_resp_fields[] = {
	CSTR("system_id", system_id, 16, SMPP_ESME_RINVSYSID),
};
static const struct field outbind_fields[] = {
	CSTR("system_id", system_id, 16, SMPP_ESME_RINVSYSID),
	CSTR("password", password, 9, SMPP_ESME_RINVPASWD),
};
static const struct field submit_fields[] = {
	MSG_HEAD(21),
	ADDR("destination_addr", dest, 21, SMPP_ESME_RINVDSTADR),
	SM_TAIL,
};
static const struct field submit_multi_fields[] = {
	MSG_HEAD(21),
	{ "dest_address", F_DESTS, 21, OFF(dests), SMPP_ESME_RINVNUMDESTS },
	SM_TAIL,
};
static const struct field message_id_fields[] = {
	MESSAGE_ID,
};
static const struct field submit_multi_resp_fields[] = {
	MESSAGE_ID,
	{ "unsuccess_sme", F_UNSUCC, 21, OFF(unsuccess), SMPP_ESME_RINVNUMDESTS },
};
static const struct field data_sm_fields[] = {
	MSG_HEAD(65),
	ADDR("destination_addr", dest, 65, SMPP_ESME_RINVDSTADR),
	U8("esm_class", esm_class),
	U8("registered_delivery", registered_delivery),
	U8("data_coding", data_coding),
};
static const struct field query_sm_fields[] = {
	MESSAGE_ID,
	ADDR("source_addr", source, 21, SMPP_ESME_RINVSRCADR),
};
static const struct field query_sm_resp_fields[] = {
	MESSAGE_ID,
	TIME("final_date", final_date, SMPP_ESME_RINVPARLEN),
	U8("message_state", message_state),
	U8("error_code", error_code),
};
static const struct field cancel_sm_fields[] = {
	CSTR("service_type", service_type, 6, SMPP_ESME_RINVSERTYP),
	MESSAGE_ID,
	ADDR("source_addr", source, 21, SMPP_ESME_RINVSRCADR),
	ADDR("destination_addr", dest, 21, SMPP_ESME_RINVDSTADR),
};
static const struct field replace_sm_fields[] = {
	MESSAGE_ID,
	ADDR("source_addr", source, 21, SMPP_ESME_RINVSRCADR),
	TIME("schedule_delivery_time", schedule_delivery_time, SMPP_ESME_RINVSCHED),
	TIME("validity_period", validity_period, SMPP_ESME_RINVEXPIRY),
	U8("registered_delivery", registered_delivery),
	U8("sm_default_msg_id", sm_default_msg_id),
	{ "short_message", F_SM, 0, OFF(short_message), SMPP_ESME_RINVMSGLEN },
};
static const struct field alert_fields[] = {
	ADDR("source_addr", source, 65, SMPP_ESME_RINVSRCADR),
	ADDR("esme_addr", esme, 65, SMPP_ESME_RINVPARLEN),
};

struct layout {
	uint32_t command_id;
	const char *name;
	const struct field *fields;
	uint8_t nfields;
	uint8_t tlvs; /* optional parameters may follow */
};

#define L(id, n, f, t) { id, n, f, sizeof(f) / sizeof(f[0]), t }
#define L0(id, n) { id, n, NULL, 0, 0 }

/* Sorted by command_id so lookup is a binary search. */
static const struct layout layouts[] = {
	L(SMPP_BIND_RECEIVER, "bind_receiver", bind_fields, 0),
	L(SMPP_BIND_TRANSMITTER, "bind_transmitter", bind_fields, 0),
	L(SMPP_QUERY_SM, "query_sm", query_sm_fields, 0),
	L(SMPP_SUBMIT_SM, "submit_sm", submit_fields, 1),
	L(SMPP_DELIVER_SM, "deliver_sm", submit_fields, 1),
	L0(SMPP_UNBIND, "unbind"),
	L(SMPP_REPLACE_SM, "replace_sm", replace_sm_fields, 1),
	L(SMPP_CANCEL_SM, "cancel_sm", cancel_sm_fields, 0),
	L(SMPP_BIND_TRANSCEIVER, "bind_transceiver", bind_fields, 0),
	L(SMPP_OUTBIND, "outbind", outbind_fields, 0),
	L0(SMPP_ENQUIRE_LINK, "enquire_link"),
	L(SMPP_SUBMIT_MULTI, "submit_multi", submit_multi_fields, 1),
	L(SMPP_ALERT_NOTIFICATION, "alert_notification", alert_fields, 1),
	L(SMPP_DATA_SM, "data_sm", data_sm_fields, 1),
	L0(SMPP_GENERIC_NACK, "generic_nack"),
	L(SMPP_BIND_RECEIVER_RESP, "bind_receiver_resp", bind_resp_fields, 1),
	L(SMPP_BIND_TRANSMITTER_RESP, "bind_transmitter_resp", bind_resp_fields, 1),
	L(SMPP_QUERY_SM_RESP, "query_sm_resp", query_sm_resp_fields, 0),
	L(SMPP_SUBMIT_SM_RESP, "submit_sm_resp", message_id_fields, 1),
	L(SMPP_DELIVER_SM_RESP, "deliver_sm_resp", message_id_fields, 1),
	L0(SMPP_UNBIND_RESP, "unbind_resp"),
	L0(SMPP_REPLACE_SM_RESP, "replace_sm_resp"),
	L0(SMPP_CANCEL_SM_RESP, "cancel_sm_resp"),
	L(SMPP_BIND_TRANSCEIVER_RESP, "bind_transceiver_resp", bind_resp_fields, 1),
	L0(SMPP_ENQUIRE_LINK_RESP, "enquire_link_resp"),
	L(SMPP_SUBMIT_MULTI_RESP, "submit_multi_resp", submit_multi_resp_fields, 1),
	L(SMPP_DATA_SM_RESP, "data_sm_resp", message_id_fields, 1),
};

static const struct layout *find_layout(uint32_t id)
{
	size_t lo = 0, hi = sizeof(layouts) / sizeof(layouts[0]);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (layouts[mid].command_id == id)
			return &layouts[mid];
		if (layouts[mid].command_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* --- TLV definitions ------------------------------------------------- */

enum tlv_kind { T_INT, T_CSTR, T_OCTETS };

struct tlv_def {
	uint16_t tag;
	uint8_t kind;
	uint16_t min, max; /* value length bounds; for T_CSTR max includes NUL */
	const char *name;
};

/* Sorted by tag.  Sizes from SMPP 3.4 section 5.3.2 and 5.0 section 4.8.4. */
static const struct tlv_def tlv_defs[] = {
	{ SMPP_TLV_DEST_ADDR_SUBUNIT, T_INT, 1, 1, "dest_addr_subunit" },
	{ SMPP_TLV_DEST_NETWORK_TYPE, T_INT, 1, 1, "dest_network_type" },
	{ SMPP_TLV_DEST_BEARER_TYPE, T_INT, 1, 1, "dest_bearer_type" },
	{ SMPP_TLV_DEST_TELEMATICS_ID, T_INT, 2, 2, "dest_telematics_id" },
	{ SMPP_TLV_SOURCE_ADDR_SUBUNIT, T_INT, 1, 1, "source_addr_subunit" },
	{ SMPP_TLV_SOURCE_NETWORK_TYPE, T_INT, 1, 1, "source_network_type" },
	{ SMPP_TLV_SOURCE_BEARER_TYPE, T_INT, 1, 1, "source_bearer_type" },
	{ SMPP_TLV_SOURCE_TELEMATICS_ID, T_INT, 1, 1, "source_telematics_id" },
	{ SMPP_TLV_QOS_TIME_TO_LIVE, T_INT, 4, 4, "qos_time_to_live" },
	{ SMPP_TLV_PAYLOAD_TYPE, T_INT, 1, 1, "payload_type" },
	{ SMPP_TLV_ADDITIONAL_STATUS_INFO_TEXT, T_CSTR, 1, 256, "additional_status_info_text" },
	{ SMPP_TLV_RECEIPTED_MESSAGE_ID, T_CSTR, 1, 65, "receipted_message_id" },
	{ SMPP_TLV_MS_MSG_WAIT_FACILITIES, T_INT, 1, 1, "ms_msg_wait_facilities" },
	{ SMPP_TLV_PRIVACY_INDICATOR, T_INT, 1, 1, "privacy_indicator" },
	{ SMPP_TLV_SOURCE_SUBADDRESS, T_OCTETS, 2, 23, "source_subaddress" },
	{ SMPP_TLV_DEST_SUBADDRESS, T_OCTETS, 2, 23, "dest_subaddress" },
	{ SMPP_TLV_USER_MESSAGE_REFERENCE, T_INT, 2, 2, "user_message_reference" },
	{ SMPP_TLV_USER_RESPONSE_CODE, T_INT, 1, 1, "user_response_code" },
	{ SMPP_TLV_SOURCE_PORT, T_INT, 2, 2, "source_port" },
	{ SMPP_TLV_DESTINATION_PORT, T_INT, 2, 2, "destination_port" },
	{ SMPP_TLV_SAR_MSG_REF_NUM, T_INT, 2, 2, "sar_msg_ref_num" },
	{ SMPP_TLV_LANGUAGE_INDICATOR, T_INT, 1, 1, "language_indicator" },
	{ SMPP_TLV_SAR_TOTAL_SEGMENTS, T_INT, 1, 1, "sar_total_segments" },
	{ SMPP_TLV_SAR_SEGMENT_SEQNUM, T_INT, 1, 1, "sar_segment_seqnum" },
	{ SMPP_TLV_SC_INTERFACE_VERSION, T_INT, 1, 1, "sc_interface_version" },
	{ SMPP_TLV_CALLBACK_NUM_PRES_IND, T_INT, 1, 1, "callback_num_pres_ind" },
	{ SMPP_TLV_CALLBACK_NUM_ATAG, T_OCTETS, 0, 65, "callback_num_atag" },
	{ SMPP_TLV_NUMBER_OF_MESSAGES, T_INT, 1, 1, "number_of_messages" },
	{ SMPP_TLV_CALLBACK_NUM, T_OCTETS, 4, 19, "callback_num" },
	{ SMPP_TLV_DPF_RESULT, T_INT, 1, 1, "dpf_result" },
	{ SMPP_TLV_SET_DPF, T_INT, 1, 1, "set_dpf" },
	{ SMPP_TLV_MS_AVAILABILITY_STATUS, T_INT, 1, 1, "ms_availability_status" },
	{ SMPP_TLV_NETWORK_ERROR_CODE, T_OCTETS, 3, 3, "network_error_code" },
	{ SMPP_TLV_MESSAGE_PAYLOAD, T_OCTETS, 0, 65535, "message_payload" },
	{ SMPP_TLV_DELIVERY_FAILURE_REASON, T_INT, 1, 1, "delivery_failure_reason" },
	{ SMPP_TLV_MORE_MESSAGES_TO_SEND, T_INT, 1, 1, "more_messages_to_send" },
	{ SMPP_TLV_MESSAGE_STATE, T_INT, 1, 1, "message_state" },
	{ SMPP_TLV_CONGESTION_STATE, T_INT, 1, 1, "congestion_state" },
	{ SMPP_TLV_USSD_SERVICE_OP, T_INT, 1, 1, "ussd_service_op" },
	{ SMPP_TLV_BROADCAST_CHANNEL_INDICATOR, T_INT, 1, 1, "broadcast_channel_indicator" },
	{ SMPP_TLV_BROADCAST_CONTENT_TYPE, T_OCTETS, 3, 3, "broadcast_content_type" },
	{ SMPP_TLV_BROADCAST_CONTENT_TYPE_INFO, T_OCTETS, 0, 255, "broadcast_content_type_info" },
	{ SMPP_TLV_BROADCAST_MESSAGE_CLASS, T_INT, 1, 1, "broadcast_message_class" },
	{ SMPP_TLV_BROADCAST_REP_NUM, T_INT, 2, 2, "broadcast_rep_num" },
	{ SMPP_TLV_BROADCAST_FREQUENCY_INTERVAL, T_OCTETS, 3, 3, "broadcast_frequency_interval" },
	{ SMPP_TLV_BROADCAST_AREA_IDENTIFIER, T_OCTETS, 0, 100, "broadcast_area_identifier" },
	{ SMPP_TLV_BROADCAST_ERROR_STATUS, T_INT, 4, 4, "broadcast_error_status" },
	{ SMPP_TLV_BROADCAST_AREA_SUCCESS, T_INT, 1, 1, "broadcast_area_success" },
	{ SMPP_TLV_BROADCAST_END_TIME, T_CSTR, 1, 17, "broadcast_end_time" },
	{ SMPP_TLV_BROADCAST_SERVICE_GROUP, T_OCTETS, 0, 255, "broadcast_service_group" },
	{ SMPP_TLV_BILLING_IDENTIFICATION, T_OCTETS, 0, 1024, "billing_identification" },
	{ SMPP_TLV_SOURCE_NETWORK_ID, T_CSTR, 1, 65, "source_network_id" },
	{ SMPP_TLV_DEST_NETWORK_ID, T_CSTR, 1, 65, "dest_network_id" },
	{ SMPP_TLV_SOURCE_NODE_ID, T_OCTETS, 6, 6, "source_node_id" },
	{ SMPP_TLV_DEST_NODE_ID, T_OCTETS, 6, 6, "dest_node_id" },
	{ SMPP_TLV_DEST_ADDR_NP_RESOLUTION, T_INT, 1, 1, "dest_addr_np_resolution" },
	{ SMPP_TLV_DEST_ADDR_NP_INFORMATION, T_OCTETS, 10, 10, "dest_addr_np_information" },
	{ SMPP_TLV_DEST_ADDR_NP_COUNTRY, T_INT, 4, 4, "dest_addr_np_country" },
	{ SMPP_TLV_DISPLAY_TIME, T_INT, 1, 1, "display_time" },
	{ SMPP_TLV_SMS_SIGNAL, T_INT, 2, 2, "sms_signal" },
	/* 3.4 says one octet, 5.0 allows 1 or 4 */
	{ SMPP_TLV_MS_VALIDITY, T_OCTETS, 1, 4, "ms_validity" },
	/* 3.4: no value; 5.0: optionally one octet */
	{ SMPP_TLV_ALERT_ON_MESSAGE_DELIVERY, T_OCTETS, 0, 1, "alert_on_message_delivery" },
	{ SMPP_TLV_ITS_REPLY_TYPE, T_INT, 1, 1, "its_reply_type" },
	{ SMPP_TLV_ITS_SESSION_INFO, T_OCTETS, 2, 2, "its_session_info" },
};

static const struct tlv_def *find_tlv_def(uint16_t tag)
{
	size_t lo = 0, hi = sizeof(tlv_defs) / sizeof(tlv_defs[0]);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (tlv_defs[mid].tag == tag)
			return &tlv_defs[mid];
		if (tlv_defs[mid].tag < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* --- names ----------------------------------------------------------- */

const char *smpp_command_name(uint32_t id)
{
	const struct layout *l = find_layout(id);
	return l ? l->name : "unknown";
}

int smpp_command_known(uint32_t id)
{
	return find_layout(id) != NULL;
}

const char *smpp_tlv_name(uint16_t tag)
{
	const struct tlv_def *d = find_tlv_def(tag);
	return d ? d->name : "unknown";
}

const char *smpp_status_name(uint32_t status)
{
	static const struct { uint32_t status; const char *name; } names[] = {
		{ SMPP_ESME_ROK, "ESME_ROK" },
		{ SMPP_ESME_RINVMSGLEN, "ESME_RINVMSGLEN" },
		{ SMPP_ESME_RINVCMDLEN, "ESME_RINVCMDLEN" },
		{ SMPP_ESME_RINVCMDID, "ESME_RINVCMDID" },
		{ SMPP_ESME_RINVBNDSTS, "ESME_RINVBNDSTS" },
		{ SMPP_ESME_RALYBND, "ESME_RALYBND" },
		{ SMPP_ESME_RINVPRTFLG, "ESME_RINVPRTFLG" },
		{ SMPP_ESME_RINVREGDLVFLG, "ESME_RINVREGDLVFLG" },
		{ SMPP_ESME_RSYSERR, "ESME_RSYSERR" },
		{ SMPP_ESME_RINVSRCADR, "ESME_RINVSRCADR" },
		{ SMPP_ESME_RINVDSTADR, "ESME_RINVDSTADR" },
		{ SMPP_ESME_RINVMSGID, "ESME_RINVMSGID" },
		{ SMPP_ESME_RBINDFAIL, "ESME_RBINDFAIL" },
		{ SMPP_ESME_RINVPASWD, "ESME_RINVPASWD" },
		{ SMPP_ESME_RINVSYSID, "ESME_RINVSYSID" },
		{ SMPP_ESME_RCANCELFAIL, "ESME_RCANCELFAIL" },
		{ SMPP_ESME_RREPLACEFAIL, "ESME_RREPLACEFAIL" },
		{ SMPP_ESME_RMSGQFUL, "ESME_RMSGQFUL" },
		{ SMPP_ESME_RINVSERTYP, "ESME_RINVSERTYP" },
		{ SMPP_ESME_RINVNUMDESTS, "ESME_RINVNUMDESTS" },
		{ SMPP_ESME_RINVDLNAME, "ESME_RINVDLNAME" },
		{ SMPP_ESME_RINVDESTFLAG, "ESME_RINVDESTFLAG" },
		{ SMPP_ESME_RINVSUBREP, "ESME_RINVSUBREP" },
		{ SMPP_ESME_RINVESMCLASS, "ESME_RINVESMCLASS" },
		{ SMPP_ESME_RCNTSUBDL, "ESME_RCNTSUBDL" },
		{ SMPP_ESME_RSUBMITFAIL, "ESME_RSUBMITFAIL" },
		{ SMPP_ESME_RINVSRCTON, "ESME_RINVSRCTON" },
		{ SMPP_ESME_RINVSRCNPI, "ESME_RINVSRCNPI" },
		{ SMPP_ESME_RINVDSTTON, "ESME_RINVDSTTON" },
		{ SMPP_ESME_RINVDSTNPI, "ESME_RINVDSTNPI" },
		{ SMPP_ESME_RINVSYSTYP, "ESME_RINVSYSTYP" },
		{ SMPP_ESME_RINVREPFLAG, "ESME_RINVREPFLAG" },
		{ SMPP_ESME_RINVNUMMSGS, "ESME_RINVNUMMSGS" },
		{ SMPP_ESME_RTHROTTLED, "ESME_RTHROTTLED" },
		{ SMPP_ESME_RINVSCHED, "ESME_RINVSCHED" },
		{ SMPP_ESME_RINVEXPIRY, "ESME_RINVEXPIRY" },
		{ SMPP_ESME_RINVDFTMSGID, "ESME_RINVDFTMSGID" },
		{ SMPP_ESME_RX_T_APPN, "ESME_RX_T_APPN" },
		{ SMPP_ESME_RX_P_APPN, "ESME_RX_P_APPN" },
		{ SMPP_ESME_RX_R_APPN, "ESME_RX_R_APPN" },
		{ SMPP_ESME_RQUERYFAIL, "ESME_RQUERYFAIL" },
		{ SMPP_ESME_RINVOPTPARSTREAM, "ESME_RINVOPTPARSTREAM" },
		{ SMPP_ESME_ROPTPARNOTALLWD, "ESME_ROPTPARNOTALLWD" },
		{ SMPP_ESME_RINVPARLEN, "ESME_RINVPARLEN" },
		{ SMPP_ESME_RMISSINGOPTPARAM, "ESME_RMISSINGOPTPARAM" },
		{ SMPP_ESME_RINVOPTPARAMVAL, "ESME_RINVOPTPARAMVAL" },
		{ SMPP_ESME_RDELIVERYFAILURE, "ESME_RDELIVERYFAILURE" },
		{ SMPP_ESME_RUNKNOWNERR, "ESME_RUNKNOWNERR" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].status == status)
			return names[i].name;
	return "unknown";
}

/* --- decoding -------------------------------------------------------- */

struct reader {
	const uint8_t *p;
	const uint8_t *end;
};

static int fail(struct smpp_error *err, uint32_t status, const char *field,
    const char *reason)
{
	if (err) {
		err->status = status;
		err->field = field;
		err->reason = reason;
	}
	return -1;
}

static int read_cstr(struct reader *r, size_t max, const char **out,
    const struct field *f, struct smpp_error *err)
{
	size_t avail = (size_t)(r->end - r->p);
	size_t scan = avail < max ? avail : max;
	const uint8_t *nul = memchr(r->p, 0, scan);
	if (!nul) {
		if (avail < max)
			return fail(err, SMPP_ESME_RINVCMDLEN, f->name,
			    "body ends inside the string");
		return fail(err, f->status, f->name, "string longer than allowed");
	}
	*out = (const char *)r->p;
	r->p = nul + 1;
	return 0;
}

static int read_u8(struct reader *r, uint8_t *out, const char *name,
    struct smpp_error *err)
{
	if (r->p >= r->end)
		return fail(err, SMPP_ESME_RINVCMDLEN, name, "body ends before the field");
	*out = *r->p++;
	return 0;
}

/* SMPP time: "YYMMDDhhmmsstnnp", p one of + - R. */
static int valid_smpp_time(const char *s, size_t len)
{
	if (len == 0)
		return 1;
	if (len != 16)
		return 0;
	for (size_t i = 0; i < 15; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[15] == '+' || s[15] == '-' || s[15] == 'R';
}

static int read_addr(struct reader *r, struct smpp_addr *a,
    const struct field *f, struct smpp_error *err)
{
	if (read_u8(r, &a->ton, f->name, err) || read_u8(r, &a->npi, f->name, err))
		return -1;
	return read_cstr(r, f->max, &a->addr, f, err);
}

static int read_dests(struct reader *r, struct smpp_pdu *pdu,
    const struct field *f, struct smpp_error *err)
{
	if (read_u8(r, &pdu->number_of_dests, "number_of_dests", err))
		return -1;
	if (pdu->number_of_dests == 0)
		return fail(err, SMPP_ESME_RINVNUMDESTS, "number_of_dests", "zero destinations");
	static const struct field dl = { "dl_name", F_CSTR, 21, 0, SMPP_ESME_RINVDLNAME };
	for (unsigned i = 0; i < pdu->number_of_dests; i++) {
		struct smpp_dest *d = &pdu->dests[i];
		if (read_u8(r, &d->dest_flag, "dest_flag", err))
			return -1;
		d->sme.addr = NULL;
		d->dl_name = NULL;
		if (d->dest_flag == 1) {
			if (read_addr(r, &d->sme, f, err))
				return -1;
		} else if (d->dest_flag == 2) {
			if (read_cstr(r, dl.max, &d->dl_name, &dl, err))
				return -1;
		} else {
			return fail(err, SMPP_ESME_RINVDESTFLAG, "dest_flag", "not 1 or 2");
		}
	}
	return 0;
}

static int read_unsuccess(struct reader *r, struct smpp_pdu *pdu,
    const struct field *f, struct smpp_error *err)
{
	if (read_u8(r, &pdu->no_unsuccess, "no_unsuccess", err))
		return -1;
	for (unsigned i = 0; i < pdu->no_unsuccess; i++) {
		struct smpp_unsuccess *u = &pdu->unsuccess[i];
		if (read_addr(r, &u->sme, f, err))
			return -1;
		if (r->end - r->p < 4)
			return fail(err, SMPP_ESME_RINVCMDLEN, "error_status_code",
			    "body ends before the field");
		u->error_status_code = smpp_get_u32(r->p);
		r->p += 4;
	}
	return 0;
}

static int read_field(struct reader *r, struct smpp_pdu *pdu,
    const struct field *f, struct smpp_error *err)
{
	uint8_t *base = (uint8_t *)pdu;
	const char *s;

	switch (f->kind) {
	case F_CSTR:
		return read_cstr(r, f->max, (const char **)(base + f->offset), f, err);
	case F_TIME:
		if (read_cstr(r, f->max, &s, f, err))
			return -1;
		if (!valid_smpp_time(s, strlen(s)))
			return fail(err, f->status, f->name, "not an SMPP time");
		*(const char **)(base + f->offset) = s;
		return 0;
	case F_U8:
		return read_u8(r, base + f->offset, f->name, err);
	case F_ADDR:
		return read_addr(r, (struct smpp_addr *)(base + f->offset), f, err);
	case F_SM:
		if (read_u8(r, &pdu->sm_length, "sm_length", err))
			return -1;
		if (pdu->sm_length > SMPP_MAX_SM_LENGTH)
			return fail(err, SMPP_ESME_RINVMSGLEN, "sm_length", "above 254");
		if (r->end - r->p < pdu->sm_length)
			return fail(err, SMPP_ESME_RINVCMDLEN, f->name,
			    "sm_length runs past the body");
		pdu->short_message = r->p;
		r->p += pdu->sm_length;
		return 0;
	case F_DESTS:
		return read_dests(r, pdu, f, err);
	case F_UNSUCC:
		return read_unsuccess(r, pdu, f, err);
	}
	return fail(err, SMPP_ESME_RSYSERR, f->name, "bad layout");
}

static int check_tlv(const struct smpp_tlv *t, struct smpp_error *err)
{
	const struct tlv_def *d = find_tlv_def(t->tag);
	if (!d)
		return 0; /* unknown: kept as it came */
	if (t->len < d->min || t->len > d->max)
		return fail(err, SMPP_ESME_RINVPARLEN, d->name, "length outside its definition");
	if (d->kind == T_INT && t->len == 3)
		return fail(err, SMPP_ESME_RINVPARLEN, d->name, "integer of 3 octets");
	if (d->kind == T_CSTR && t->value[t->len - 1] != 0)
		return fail(err, SMPP_ESME_RINVOPTPARAMVAL, d->name, "string not NUL-terminated");
	return 0;
}

static int read_tlvs(struct reader *r, struct smpp_pdu *pdu, struct smpp_error *err)
{
	while (r->p < r->end) {
		if (r->end - r->p < 4)
			return fail(err, SMPP_ESME_RINVOPTPARSTREAM, "tlv", "truncated tag or length");
		if (pdu->tlv_count == SMPP_MAX_TLVS)
			return fail(err, SMPP_ESME_RINVOPTPARSTREAM, "tlv", "too many optional parameters");
		struct smpp_tlv *t = &pdu->tlvs[pdu->tlv_count];
		t->tag = smpp_get_u16(r->p);
		t->len = smpp_get_u16(r->p + 2);
		r->p += 4;
		if (r->end - r->p < t->len)
			return fail(err, SMPP_ESME_RINVOPTPARSTREAM, smpp_tlv_name(t->tag),
			    "value runs past the body");
		t->value = r->p;
		r->p += t->len;
		if (check_tlv(t, err))
			return -1;
		pdu->tlv_count++;
	}
	return 0;
}

/* Rules across fields that a layout cannot say. */
static int check_consistency(const struct smpp_pdu *pdu, struct smpp_error *err)
{
	unsigned sar = 0;
	const struct smpp_tlv *payload = NULL;
	for (unsigned i = 0; i < pdu->tlv_count; i++) {
		uint16_t tag = pdu->tlvs[i].tag;
		if (tag == SMPP_TLV_SAR_MSG_REF_NUM || tag == SMPP_TLV_SAR_TOTAL_SEGMENTS ||
		    tag == SMPP_TLV_SAR_SEGMENT_SEQNUM)
			sar++;
		else if (tag == SMPP_TLV_MESSAGE_PAYLOAD)
			payload = &pdu->tlvs[i];
	}
	if (sar != 0 && sar != 3)
		return fail(err, SMPP_ESME_RMISSINGOPTPARAM, "sar_msg_ref_num",
		    "SAR parameters must come as a set of three");
	if (payload && pdu->sm_length > 0)
		return fail(err, SMPP_ESME_RINVOPTPARAMVAL, "message_payload",
		    "both short_message and message_payload set");
	return 0;
}

long smpp_frame(const uint8_t *buf, size_t len, const struct smpp_limits *lim,
    struct smpp_error *err)
{
	if (len < 4)
		return 0;
	uint32_t cl = smpp_get_u32(buf);
	uint32_t max = lim && lim->max_pdu_len ? lim->max_pdu_len : SMPP_DEFAULT_MAX_PDU;
	if (cl < SMPP_HEADER_LEN)
		return fail(err, SMPP_ESME_RINVCMDLEN, "command_length", "shorter than the header");
	if (cl > max)
		return fail(err, SMPP_ESME_RINVCMDLEN, "command_length", "above the configured maximum");
	return len >= cl ? (long)cl : 0;
}

static void clear_pdu(struct smpp_pdu *pdu)
{
	/* Only the scalar part: the arrays behind it are valid up to counts. */
	memset(pdu, 0, offsetof(struct smpp_pdu, tlvs));
}

int smpp_pdu_decode(const uint8_t *buf, size_t len, const struct smpp_limits *lim,
    struct smpp_pdu *pdu, struct smpp_error *err)
{
	clear_pdu(pdu);
	if (len < SMPP_HEADER_LEN)
		return fail(err, SMPP_ESME_RINVCMDLEN, "command_length", "shorter than the header");
	pdu->command_length = smpp_get_u32(buf);
	pdu->command_id = smpp_get_u32(buf + 4);
	pdu->command_status = smpp_get_u32(buf + 8);
	pdu->sequence_number = smpp_get_u32(buf + 12);
	if (pdu->command_length != len)
		return fail(err, SMPP_ESME_RINVCMDLEN, "command_length", "does not match the PDU size");
	if (smpp_frame(buf, len, lim, err) < 0)
		return -1;

	const struct layout *l = find_layout(pdu->command_id);
	if (!l)
		return fail(err, SMPP_ESME_RINVCMDID, "command_id", "unknown command");

	struct reader r = { buf + SMPP_HEADER_LEN, buf + len };
	/* A response carrying an error may omit its body (3.4 section 4). */
	if (SMPP_IS_RESP(pdu->command_id) && pdu->command_status != 0 && r.p == r.end) {
		for (unsigned i = 0; i < l->nfields; i++)
			if (l->fields[i].kind == F_CSTR || l->fields[i].kind == F_TIME)
				*(const char **)((uint8_t *)pdu + l->fields[i].offset) = "";
		return 0;
	}
	for (unsigned i = 0; i < l->nfields; i++)
		if (read_field(&r, pdu, &l->fields[i], err))
			return -1;
	if (r.p != r.end) {
		if (!l->tlvs)
			return fail(err, SMPP_ESME_RINVCMDLEN, "command_length",
			    "bytes after the last field");
		if (read_tlvs(&r, pdu, err))
			return -1;
	}
	return check_consistency(pdu, err);
}

/* --- encoding -------------------------------------------------------- */

struct writer {
	uint8_t *p;
	uint8_t *end;
	size_t need; /* bytes the whole PDU needs, counted even past end */
};

static void put_bytes(struct writer *w, const void *src, size_t n)
{
	if ((size_t)(w->end - w->p) >= n) {
		memcpy(w->p, src, n);
		w->p += n;
	} else {
		w->p = w->end; /* stop writing; keep counting */
	}
	w->need += n;
}

static void put_u8(struct writer *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

static int put_cstr(struct writer *w, const char *s, size_t max,
    const char *name, struct smpp_error *err)
{
	if (!s)
		s = "";
	size_t n = strlen(s);
	if (n + 1 > max)
		return fail(err, SMPP_ESME_RINVPARLEN, name, "string longer than allowed");
	put_bytes(w, s, n + 1);
	return 0;
}

static int put_addr(struct writer *w, const struct smpp_addr *a, size_t max,
    const char *name, struct smpp_error *err)
{
	put_u8(w, a->ton);
	put_u8(w, a->npi);
	return put_cstr(w, a->addr, max, name, err);
}

static int write_dests(struct writer *w, const struct smpp_pdu *pdu,
    const struct field *f, struct smpp_error *err)
{
	if (pdu->number_of_dests == 0)
		return fail(err, SMPP_ESME_RINVNUMDESTS, "number_of_dests", "zero destinations");
	put_u8(w, pdu->number_of_dests);
	for (unsigned i = 0; i < pdu->number_of_dests; i++) {
		const struct smpp_dest *d = &pdu->dests[i];
		put_u8(w, d->dest_flag);
		if (d->dest_flag == 1) {
			if (put_addr(w, &d->sme, f->max, f->name, err))
				return -1;
		} else if (d->dest_flag == 2) {
			if (put_cstr(w, d->dl_name, 21, "dl_name", err))
				return -1;
		} else {
			return fail(err, SMPP_ESME_RINVDESTFLAG, "dest_flag", "not 1 or 2");
		}
	}
	return 0;
}

static int write_unsuccess(struct writer *w, const struct smpp_pdu *pdu,
    const struct field *f, struct smpp_error *err)
{
	put_u8(w, pdu->no_unsuccess);
	for (unsigned i = 0; i < pdu->no_unsuccess; i++) {
		const struct smpp_unsuccess *u = &pdu->unsuccess[i];
		uint8_t code[4];
		if (put_addr(w, &u->sme, f->max, f->name, err))
			return -1;
		smpp_put_u32(code, u->error_status_code);
		put_bytes(w, code, 4);
	}
	return 0;
}

static int write_field(struct writer *w, const struct smpp_pdu *pdu,
    const struct field *f, struct smpp_error *err)
{
	const uint8_t *base = (const uint8_t *)pdu;
	const char *s;

	switch (f->kind) {
	case F_CSTR:
		return put_cstr(w, *(const char *const *)(base + f->offset), f->max, f->name, err);
	case F_TIME:
		s = *(const char *const *)(base + f->offset);
		if (s && !valid_smpp_time(s, strlen(s)))
			return fail(err, f->status, f->name, "not an SMPP time");
		return put_cstr(w, s, f->max, f->name, err);
	case F_U8:
		put_u8(w, base[f->offset]);
		return 0;
	case F_ADDR:
		return put_addr(w, (const struct smpp_addr *)(base + f->offset), f->max,
		    f->name, err);
	case F_SM:
		if (pdu->sm_length > SMPP_MAX_SM_LENGTH)
			return fail(err, SMPP_ESME_RINVMSGLEN, "sm_length", "above 254");
		if (pdu->sm_length && !pdu->short_message)
			return fail(err, SMPP_ESME_RINVMSGLEN, "short_message", "missing");
		put_u8(w, pdu->sm_length);
		put_bytes(w, pdu->short_message, pdu->sm_length);
		return 0;
	case F_DESTS:
		return write_dests(w, pdu, f, err);
	case F_UNSUCC:
		return write_unsuccess(w, pdu, f, err);
	}
	return fail(err, SMPP_ESME_RSYSERR, f->name, "bad layout");
}

static int write_tlvs(struct writer *w, const struct smpp_pdu *pdu,
    const struct layout *l, struct smpp_error *err)
{
	if (pdu->tlv_count > SMPP_MAX_TLVS)
		return fail(err, SMPP_ESME_RINVOPTPARSTREAM, "tlv", "too many optional parameters");
	if (pdu->tlv_count && !l->tlvs)
		return fail(err, SMPP_ESME_ROPTPARNOTALLWD, "tlv",
		    "this command carries no optional parameters");
	for (unsigned i = 0; i < pdu->tlv_count; i++) {
		const struct smpp_tlv *t = &pdu->tlvs[i];
		uint8_t hdr[4];
		if (t->len && !t->value)
			return fail(err, SMPP_ESME_RINVOPTPARAMVAL, smpp_tlv_name(t->tag), "no value");
		smpp_put_u16(hdr, t->tag);
		smpp_put_u16(hdr + 2, t->len);
		put_bytes(w, hdr, 4);
		put_bytes(w, t->value, t->len);
	}
	return 0;
}

long smpp_pdu_encode(const struct smpp_pdu *pdu, uint8_t *out, size_t cap,
    struct smpp_error *err)
{
	const struct layout *l = find_layout(pdu->command_id);
	if (!l)
		return fail(err, SMPP_ESME_RINVCMDID, "command_id", "unknown command");

	uint8_t hdr[SMPP_HEADER_LEN] = { 0 };
	struct writer w = { out, out + cap, 0 };
	put_bytes(&w, hdr, sizeof hdr); /* length filled in below */
	int omit_body = SMPP_IS_RESP(pdu->command_id) && pdu->command_status != 0 &&
	    pdu->command_id != SMPP_GENERIC_NACK && l->nfields > 0 &&
	    pdu->tlv_count == 0;
	if (!omit_body) {
		for (unsigned i = 0; i < l->nfields; i++)
			if (write_field(&w, pdu, &l->fields[i], err))
				return -1;
		if (write_tlvs(&w, pdu, l, err))
			return -1;
	}
	if (w.need > UINT32_MAX)
		return fail(err, SMPP_ESME_RINVCMDLEN, "command_length", "PDU too large");
	if (w.need > cap)
		return (long)w.need;
	smpp_put_u32(out, (uint32_t)w.need);
	smpp_put_u32(out + 4, pdu->command_id);
	smpp_put_u32(out + 8, pdu->command_status);
	smpp_put_u32(out + 12, pdu->sequence_number);
	return (long)w.need;
}

/* --- construction ---------------------------------------------------- */

void smpp_pdu_init(struct smpp_pdu *pdu, uint32_t command_id, uint32_t seq)
{
	clear_pdu(pdu);
	pdu->command_id = command_id;
	pdu->sequence_number = seq;
	const struct layout *l = find_layout(command_id);
	if (!l)
		return;
	for (unsigned i = 0; i < l->nfields; i++) {
		const struct field *f = &l->fields[i];
		uint8_t *base = (uint8_t *)pdu + f->offset;
		if (f->kind == F_CSTR || f->kind == F_TIME)
			*(const char **)base = "";
		else if (f->kind == F_ADDR)
			((struct smpp_addr *)base)->addr = "";
	}
}

uint32_t smpp_resp_id(uint32_t command_id)
{
	if (SMPP_IS_RESP(command_id) || command_id == SMPP_OUTBIND ||
	    command_id == SMPP_ALERT_NOTIFICATION)
		return SMPP_GENERIC_NACK;
	uint32_t resp = command_id | SMPP_RESP_BIT;
	return find_layout(resp) ? resp : SMPP_GENERIC_NACK;
}

void smpp_pdu_init_resp(struct smpp_pdu *resp, const struct smpp_pdu *req,
    uint32_t status)
{
	smpp_pdu_init(resp, smpp_resp_id(req->command_id), req->sequence_number);
	resp->command_status = status;
}

/* --- SMPP times ----------------------------------------------------- */

static int two_digits(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; no libc, no TZ). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int smpp_time_parse(const char *s, int64_t now_ms, int64_t *out_ms)
{
	size_t n = strlen(s);
	if (n == 0) {
		*out_ms = 0;
		return 0;
	}
	if (!valid_smpp_time(s, n))
		return -1;
	int yy = two_digits(s), mo = two_digits(s + 2), dd = two_digits(s + 4);
	int hh = two_digits(s + 6), mi = two_digits(s + 8), ss = two_digits(s + 10);
	int tenths = s[12] - '0', quarters = two_digits(s + 13);
	if (s[15] == 'R') {
		int64_t secs = (((int64_t)yy * 365 + mo * 30 + dd) * 24 + hh) * 3600 +
		    mi * 60 + ss;
		*out_ms = now_ms + secs * 1000 + tenths * 100;
		return 0;
	}
	if (mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 59 ||
	    quarters > 48)
		return -1;
	int64_t secs = days_from_civil(2000 + yy, mo, dd) * 86400 + hh * 3600 + mi * 60 + ss;
	int64_t offset = (int64_t)quarters * 15 * 60;
	secs += s[15] == '+' ? -offset : offset; /* local time ahead of UTC: subtract */
	*out_ms = secs * 1000 + tenths * 100;
	return 0;
}

void smpp_time_format(int64_t ms, char out[17])
{
	int64_t secs = ms / 1000, days = secs / 86400, rem = secs % 86400;
	/* civil_from_days */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp + (mp < 10 ? 3 : -9);
	y += m <= 2;
	int f[6] = { (int)(y % 100), (int)m, (int)d, (int)(rem / 3600),
		(int)(rem / 60 % 60), (int)(rem % 60) };
	for (int i = 0; i < 6; i++) {
		out[2 * i] = (char)('0' + f[i] / 10 % 10);
		out[2 * i + 1] = (char)('0' + f[i] % 10);
	}
	memcpy(out + 12, "000+", 5);
}

/* --- TLV access ------------------------------------------------------ */

const struct smpp_tlv *smpp_tlv_find(const struct smpp_pdu *pdu, uint16_t tag)
{
	for (unsigned i = 0; i < pdu->tlv_count; i++)
		if (pdu->tlvs[i].tag == tag)
			return &pdu->tlvs[i];
	return NULL;
}

int smpp_tlv_get_int(const struct smpp_pdu *pdu, uint16_t tag, uint32_t *val)
{
	const struct smpp_tlv *t = smpp_tlv_find(pdu, tag);
	if (!t)
		return -1;
	switch (t->len) {
	case 1: *val = t->value[0]; return 0;
	case 2: *val = smpp_get_u16(t->value); return 0;
	case 4: *val = smpp_get_u32(t->value); return 0;
	}
	return -1;
}

int smpp_tlv_get_str(const struct smpp_pdu *pdu, uint16_t tag, char *out, size_t cap)
{
	const struct smpp_tlv *t = smpp_tlv_find(pdu, tag);
	if (!t || cap == 0)
		return -1;
	size_t n = t->len;
	const uint8_t *nul = memchr(t->value, 0, n);
	if (nul)
		n = (size_t)(nul - t->value);
	if (n > cap - 1)
		n = cap - 1;
	memcpy(out, t->value, n);
	out[n] = 0;
	return (int)n;
}

int smpp_tlv_add(struct smpp_pdu *pdu, uint16_t tag, const void *value, uint16_t len)
{
	if (pdu->tlv_count >= SMPP_MAX_TLVS)
		return -1;
	struct smpp_tlv *t = &pdu->tlvs[pdu->tlv_count++];
	t->tag = tag;
	t->len = len;
	t->value = value;
	return 0;
}

int smpp_tlv_add_int(struct smpp_pdu *pdu, struct smpp_tlv_store *store,
    uint16_t tag, uint32_t val)
{
	const struct tlv_def *d = find_tlv_def(tag);
	uint16_t width = d && d->kind == T_INT ? d->min : 4;
	if (store->used + width > sizeof(store->buf))
		return -1;
	uint8_t *p = store->buf + store->used;
	if (width == 1)
		p[0] = (uint8_t)val;
	else if (width == 2)
		smpp_put_u16(p, (uint16_t)val);
	else
		smpp_put_u32(p, val);
	if (smpp_tlv_add(pdu, tag, p, width))
		return -1;
	store->used += width;
	return 0;
}

int smpp_tlv_add_str(struct smpp_pdu *pdu, uint16_t tag, const char *s)
{
	size_t n = strlen(s) + 1;
	if (n > UINT16_MAX)
		return -1;
	return smpp_tlv_add(pdu, tag, s, (uint16_t)n);
}

/* --- formatting ------------------------------------------------------ */

struct outbuf {
	char *p;
	size_t cap;
	size_t len;
};

static void out_printf(struct outbuf *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void out_printf(struct outbuf *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = o->len < o->cap ? o->cap - o->len : 0;
	int n = vsnprintf(room ? o->p + o->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static void out_escaped(struct outbuf *o, const uint8_t *s, size_t n)
{
	out_printf(o, "\"");
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
			out_printf(o, "%c", s[i]);
		else
			out_printf(o, "\\x%02x", s[i]);
	}
	out_printf(o, "\"");
}

static void out_str(struct outbuf *o, const char *s)
{
	s = s ? s : "";
	out_escaped(o, (const uint8_t *)s, strlen(s));
}

static void format_field(struct outbuf *o, const struct smpp_pdu *pdu,
    const struct field *f)
{
	const uint8_t *base = (const uint8_t *)pdu + f->offset;
	const struct smpp_addr *a;

	switch (f->kind) {
	case F_CSTR:
	case F_TIME:
		out_printf(o, " %s=", f->name);
		out_str(o, *(const char *const *)base);
		break;
	case F_U8:
		out_printf(o, " %s=%u", f->name, *base);
		break;
	case F_ADDR:
		a = (const struct smpp_addr *)base;
		out_printf(o, " %s=%u/%u/", f->name, a->ton, a->npi);
		out_str(o, a->addr);
		break;
	case F_SM:
		out_printf(o, " sm_length=%u short_message=", pdu->sm_length);
		out_escaped(o, pdu->short_message, pdu->short_message ? pdu->sm_length : 0);
		break;
	case F_DESTS:
		out_printf(o, " number_of_dests=%u", pdu->number_of_dests);
		for (unsigned i = 0; i < pdu->number_of_dests; i++) {
			const struct smpp_dest *d = &pdu->dests[i];
			if (d->dest_flag == 1) {
				out_printf(o, " dest=%u/%u/", d->sme.ton, d->sme.npi);
				out_str(o, d->sme.addr);
			} else {
				out_printf(o, " dl_name=");
				out_str(o, d->dl_name);
			}
		}
		break;
	case F_UNSUCC:
		out_printf(o, " no_unsuccess=%u", pdu->no_unsuccess);
		for (unsigned i = 0; i < pdu->no_unsuccess; i++) {
			const struct smpp_unsuccess *u = &pdu->unsuccess[i];
			out_printf(o, " unsuccess=%u/%u/", u->sme.ton, u->sme.npi);
			out_str(o, u->sme.addr);
			out_printf(o, ":0x%08x", u->error_status_code);
		}
		break;
	}
}

int smpp_pdu_format(const struct smpp_pdu *pdu, char *out, size_t cap)
{
	struct outbuf o = { out, cap, 0 };
	if (cap)
		out[0] = 0;
	out_printf(&o, "%s seq=%u status=0x%08x", smpp_command_name(pdu->command_id),
	    pdu->sequence_number, pdu->command_status);
	const struct layout *l = find_layout(pdu->command_id);
	for (unsigned i = 0; l && i < l->nfields; i++)
		format_field(&o, pdu, &l->fields[i]);
	for (unsigned i = 0; i < pdu->tlv_count && i < SMPP_MAX_TLVS; i++) {
		const struct smpp_tlv *t = &pdu->tlvs[i];
		out_printf(&o, " %s(0x%04x)=", smpp_tlv_name(t->tag), t->tag);
		for (unsigned j = 0; j < t->len; j++)
			out_printf(&o, "%02x", t->value[j]);
	}
	return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}
