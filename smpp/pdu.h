/*
 * SMPP 3.4 PDUs (with the TLVs of 5.0): decode and encode.
 *
 * Pure: bytes in, structs out.  No sockets, no clock, no allocation.
 *
 * Decoding is zero-copy.  smpp_pdu_decode() fills a caller-owned struct
 * whose string and octet pointers point into the input buffer; they stay
 * valid while that buffer does.  C-octet strings on the wire carry their
 * terminating NUL, so every `const char *` field is a proper C string.
 * A string field the command's layout has decodes as "" when empty, never
 * NULL; fields the command does not have are zero (NULL pointers).
 * submit_multi's lists are valid up to their counts only: decode does not
 * clear the ~14 KiB behind them, which keeps decoding allocation- and
 * memset-free for the common PDUs.
 *
 * Encoding reads the same struct: set command_id, sequence_number and the
 * fields the command uses (NULL strings encode as empty), add TLVs, and call
 * smpp_pdu_encode() with a buffer.  The field layout of every command is one
 * table in pdu.c; decode, encode, print and validation all walk it.
 */
#ifndef SMPPD_SMPP_PDU_H
#define SMPPD_SMPP_PDU_H

#include <stddef.h>
#include <stdint.h>

/* command_id values (unsigned: the response bit does not fit an enum) */
#define SMPP_GENERIC_NACK              0x80000000U
#define SMPP_BIND_RECEIVER             0x00000001U
#define SMPP_BIND_RECEIVER_RESP        0x80000001U
#define SMPP_BIND_TRANSMITTER          0x00000002U
#define SMPP_BIND_TRANSMITTER_RESP     0x80000002U
#define SMPP_QUERY_SM                  0x00000003U
#define SMPP_QUERY_SM_RESP             0x80000003U
#define SMPP_SUBMIT_SM                 0x00000004U
#define SMPP_SUBMIT_SM_RESP            0x80000004U
#define SMPP_DELIVER_SM                0x00000005U
#define SMPP_DELIVER_SM_RESP           0x80000005U
#define SMPP_UNBIND                    0x00000006U
#define SMPP_UNBIND_RESP               0x80000006U
#define SMPP_REPLACE_SM                0x00000007U
#define SMPP_REPLACE_SM_RESP           0x80000007U
#define SMPP_CANCEL_SM                 0x00000008U
#define SMPP_CANCEL_SM_RESP            0x80000008U
#define SMPP_BIND_TRANSCEIVER          0x00000009U
#define SMPP_BIND_TRANSCEIVER_RESP     0x80000009U
#define SMPP_OUTBIND                   0x0000000BU
#define SMPP_ENQUIRE_LINK              0x00000015U
#define SMPP_ENQUIRE_LINK_RESP         0x80000015U
#define SMPP_SUBMIT_MULTI              0x00000021U
#define SMPP_SUBMIT_MULTI_RESP         0x80000021U
#define SMPP_ALERT_NOTIFICATION        0x00000102U
#define SMPP_DATA_SM                   0x00000103U
#define SMPP_DATA_SM_RESP              0x80000103U

#define SMPP_RESP_BIT 0x80000000u
#define SMPP_IS_RESP(id) (((uint32_t)(id) & SMPP_RESP_BIT) != 0)

/* command_status values (SMPP 3.4 section 5.1.3) */
enum {
	SMPP_ESME_ROK = 0x00000000,
	SMPP_ESME_RINVMSGLEN = 0x00000001,
	SMPP_ESME_RINVCMDLEN = 0x00000002,
	SMPP_ESME_RINVCMDID = 0x00000003,
	SMPP_ESME_RINVBNDSTS = 0x00000004,
	SMPP_ESME_RALYBND = 0x00000005,
	SMPP_ESME_RINVPRTFLG = 0x00000006,
	SMPP_ESME_RINVREGDLVFLG = 0x00000007,
	SMPP_ESME_RSYSERR = 0x00000008,
	SMPP_ESME_RINVSRCADR = 0x0000000A,
	SMPP_ESME_RINVDSTADR = 0x0000000B,
	SMPP_ESME_RINVMSGID = 0x0000000C,
	SMPP_ESME_RBINDFAIL = 0x0000000D,
	SMPP_ESME_RINVPASWD = 0x0000000E,
	SMPP_ESME_RINVSYSID = 0x0000000F,
	SMPP_ESME_RCANCELFAIL = 0x00000011,
	SMPP_ESME_RREPLACEFAIL = 0x00000013,
	SMPP_ESME_RMSGQFUL = 0x00000014,
	SMPP_ESME_RINVSERTYP = 0x00000015,
	SMPP_ESME_RINVNUMDESTS = 0x00000033,
	SMPP_ESME_RINVDLNAME = 0x00000034,
	SMPP_ESME_RINVDESTFLAG = 0x00000040,
	SMPP_ESME_RINVSUBREP = 0x00000042,
	SMPP_ESME_RINVESMCLASS = 0x00000043,
	SMPP_ESME_RCNTSUBDL = 0x00000044,
	SMPP_ESME_RSUBMITFAIL = 0x00000045,
	SMPP_ESME_RINVSRCTON = 0x00000048,
	SMPP_ESME_RINVSRCNPI = 0x00000049,
	SMPP_ESME_RINVDSTTON = 0x00000050,
	SMPP_ESME_RINVDSTNPI = 0x00000051,
	SMPP_ESME_RINVSYSTYP = 0x00000053,
	SMPP_ESME_RINVREPFLAG = 0x00000054,
	SMPP_ESME_RINVNUMMSGS = 0x00000055,
	SMPP_ESME_RTHROTTLED = 0x00000058,
	SMPP_ESME_RINVSCHED = 0x00000061,
	SMPP_ESME_RINVEXPIRY = 0x00000062,
	SMPP_ESME_RINVDFTMSGID = 0x00000063,
	SMPP_ESME_RX_T_APPN = 0x00000064,
	SMPP_ESME_RX_P_APPN = 0x00000065,
	SMPP_ESME_RX_R_APPN = 0x00000066,
	SMPP_ESME_RQUERYFAIL = 0x00000067,
	SMPP_ESME_RINVOPTPARSTREAM = 0x000000C0,
	SMPP_ESME_ROPTPARNOTALLWD = 0x000000C1,
	SMPP_ESME_RINVPARLEN = 0x000000C2,
	SMPP_ESME_RMISSINGOPTPARAM = 0x000000C3,
	SMPP_ESME_RINVOPTPARAMVAL = 0x000000C4,
	SMPP_ESME_RDELIVERYFAILURE = 0x000000FE,
	SMPP_ESME_RUNKNOWNERR = 0x000000FF,
};

/* TLV tags, SMPP 3.4 and 5.0 */
enum {
	SMPP_TLV_DEST_ADDR_SUBUNIT = 0x0005,
	SMPP_TLV_DEST_NETWORK_TYPE = 0x0006,
	SMPP_TLV_DEST_BEARER_TYPE = 0x0007,
	SMPP_TLV_DEST_TELEMATICS_ID = 0x0008,
	SMPP_TLV_SOURCE_ADDR_SUBUNIT = 0x000D,
	SMPP_TLV_SOURCE_NETWORK_TYPE = 0x000E,
	SMPP_TLV_SOURCE_BEARER_TYPE = 0x000F,
	SMPP_TLV_SOURCE_TELEMATICS_ID = 0x0010,
	SMPP_TLV_QOS_TIME_TO_LIVE = 0x0017,
	SMPP_TLV_PAYLOAD_TYPE = 0x0019,
	SMPP_TLV_ADDITIONAL_STATUS_INFO_TEXT = 0x001D,
	SMPP_TLV_RECEIPTED_MESSAGE_ID = 0x001E,
	SMPP_TLV_MS_MSG_WAIT_FACILITIES = 0x0030,
	SMPP_TLV_PRIVACY_INDICATOR = 0x0201,
	SMPP_TLV_SOURCE_SUBADDRESS = 0x0202,
	SMPP_TLV_DEST_SUBADDRESS = 0x0203,
	SMPP_TLV_USER_MESSAGE_REFERENCE = 0x0204,
	SMPP_TLV_USER_RESPONSE_CODE = 0x0205,
	SMPP_TLV_SOURCE_PORT = 0x020A,
	SMPP_TLV_DESTINATION_PORT = 0x020B,
	SMPP_TLV_SAR_MSG_REF_NUM = 0x020C,
	SMPP_TLV_LANGUAGE_INDICATOR = 0x020D,
	SMPP_TLV_SAR_TOTAL_SEGMENTS = 0x020E,
	SMPP_TLV_SAR_SEGMENT_SEQNUM = 0x020F,
	SMPP_TLV_SC_INTERFACE_VERSION = 0x0210,
	SMPP_TLV_CALLBACK_NUM_PRES_IND = 0x0302,
	SMPP_TLV_CALLBACK_NUM_ATAG = 0x0303,
	SMPP_TLV_NUMBER_OF_MESSAGES = 0x0304,
	SMPP_TLV_CALLBACK_NUM = 0x0381,
	SMPP_TLV_DPF_RESULT = 0x0420,
	SMPP_TLV_SET_DPF = 0x0421,
	SMPP_TLV_MS_AVAILABILITY_STATUS = 0x0422,
	SMPP_TLV_NETWORK_ERROR_CODE = 0x0423,
	SMPP_TLV_MESSAGE_PAYLOAD = 0x0424,
	SMPP_TLV_DELIVERY_FAILURE_REASON = 0x0425,
	SMPP_TLV_MORE_MESSAGES_TO_SEND = 0x0426,
	SMPP_TLV_MESSAGE_STATE = 0x0427,
	SMPP_TLV_CONGESTION_STATE = 0x0428,
	SMPP_TLV_USSD_SERVICE_OP = 0x0501,
	SMPP_TLV_BROADCAST_CHANNEL_INDICATOR = 0x0600,
	SMPP_TLV_BROADCAST_CONTENT_TYPE = 0x0601,
	SMPP_TLV_BROADCAST_CONTENT_TYPE_INFO = 0x0602,
	SMPP_TLV_BROADCAST_MESSAGE_CLASS = 0x0603,
	SMPP_TLV_BROADCAST_REP_NUM = 0x0604,
	SMPP_TLV_BROADCAST_FREQUENCY_INTERVAL = 0x0605,
	SMPP_TLV_BROADCAST_AREA_IDENTIFIER = 0x0606,
	SMPP_TLV_BROADCAST_ERROR_STATUS = 0x0607,
	SMPP_TLV_BROADCAST_AREA_SUCCESS = 0x0608,
	SMPP_TLV_BROADCAST_END_TIME = 0x0609,
	SMPP_TLV_BROADCAST_SERVICE_GROUP = 0x060A,
	SMPP_TLV_BILLING_IDENTIFICATION = 0x060B,
	SMPP_TLV_SOURCE_NETWORK_ID = 0x060D,
	SMPP_TLV_DEST_NETWORK_ID = 0x060E,
	SMPP_TLV_SOURCE_NODE_ID = 0x060F,
	SMPP_TLV_DEST_NODE_ID = 0x0610,
	SMPP_TLV_DEST_ADDR_NP_RESOLUTION = 0x0611,
	SMPP_TLV_DEST_ADDR_NP_INFORMATION = 0x0612,
	SMPP_TLV_DEST_ADDR_NP_COUNTRY = 0x0613,
	SMPP_TLV_DISPLAY_TIME = 0x1201,
	SMPP_TLV_SMS_SIGNAL = 0x1203,
	SMPP_TLV_MS_VALIDITY = 0x1204,
	SMPP_TLV_ALERT_ON_MESSAGE_DELIVERY = 0x130C,
	SMPP_TLV_ITS_REPLY_TYPE = 0x1380,
	SMPP_TLV_ITS_SESSION_INFO = 0x1383,
};

/* message_state values (TLV 0x0427 and query_sm_resp) */
enum {
	SMPP_STATE_SCHEDULED = 0,
	SMPP_STATE_ENROUTE = 1,
	SMPP_STATE_DELIVERED = 2,
	SMPP_STATE_EXPIRED = 3,
	SMPP_STATE_DELETED = 4,
	SMPP_STATE_UNDELIVERABLE = 5,
	SMPP_STATE_ACCEPTED = 6,
	SMPP_STATE_UNKNOWN = 7,
	SMPP_STATE_REJECTED = 8,
	SMPP_STATE_SKIPPED = 9,
};

/* esm_class bits */
#define SMPP_ESM_UDHI 0x40
#define SMPP_ESM_TYPE_MASK 0x3C
#define SMPP_ESM_TYPE_RECEIPT 0x04

#define SMPP_HEADER_LEN 16
#define SMPP_DEFAULT_MAX_PDU 65536u
#define SMPP_MAX_TLVS 32
#define SMPP_MAX_DESTS 255     /* number_of_dests is one octet */
#define SMPP_MAX_SM_LENGTH 254 /* sm_length octet; 255 is reserved */

struct smpp_tlv {
	uint16_t tag;
	uint16_t len;
	const uint8_t *value; /* points into the decoded buffer or caller data */
};

struct smpp_addr {
	uint8_t ton;
	uint8_t npi;
	const char *addr;
};

/* One entry of submit_multi's dest_address list. */
struct smpp_dest {
	uint8_t dest_flag; /* 1: SME address, 2: distribution list name */
	struct smpp_addr sme; /* dest_flag 1 */
	const char *dl_name;  /* dest_flag 2 */
};

/* One entry of submit_multi_resp's unsuccess_sme list. */
struct smpp_unsuccess {
	struct smpp_addr sme;
	uint32_t error_status_code;
};

/*
 * Every field any command has.  A command uses the subset its layout
 * names; the rest are left zero by decode and ignored by encode.
 */
struct smpp_pdu {
	uint32_t command_length; /* set by decode and encode */
	uint32_t command_id;
	uint32_t command_status;
	uint32_t sequence_number;

	/* bind_*, bind_*_resp, outbind */
	const char *system_id;
	const char *password;
	const char *system_type;
	uint8_t interface_version;
	struct smpp_addr address_range; /* addr_ton, addr_npi, address_range */

	/* message PDUs */
	const char *service_type;
	struct smpp_addr source;  /* source_addr_ton/npi, source_addr */
	struct smpp_addr dest;    /* dest_addr_ton/npi, destination_addr */
	struct smpp_addr esme;    /* alert_notification esme_addr */
	uint8_t esm_class;
	uint8_t protocol_id;
	uint8_t priority_flag;
	const char *schedule_delivery_time;
	const char *validity_period;
	uint8_t registered_delivery;
	uint8_t replace_if_present_flag;
	uint8_t data_coding;
	uint8_t sm_default_msg_id;
	uint8_t sm_length;
	const uint8_t *short_message;

	/* responses, query_sm, cancel_sm, replace_sm */
	const char *message_id;
	const char *final_date;
	uint8_t message_state;
	uint8_t error_code;

	uint8_t number_of_dests; /* submit_multi */
	uint8_t no_unsuccess;    /* submit_multi_resp */
	unsigned tlv_count;

	/* Arrays valid up to their counts; decode leaves the rest as it was. */
	/* optional parameters, in wire order; unknown tags kept as they came */
	struct smpp_tlv tlvs[SMPP_MAX_TLVS];
	struct smpp_dest dests[SMPP_MAX_DESTS];
	struct smpp_unsuccess unsuccess[SMPP_MAX_DESTS];
};

/* What went wrong in a decode: the status to answer with and where. */
struct smpp_error {
	uint32_t status;    /* SMPP command_status to send back */
	const char *field;  /* field or TLV name, static storage */
	const char *reason; /* short text, static storage */
};

struct smpp_limits {
	uint32_t max_pdu_len; /* command_length above this: ESME_RINVCMDLEN */
};

/*
 * Framing.  Returns the command_length of the PDU at the start of buf when
 * all of it is there, 0 when more bytes are needed, and -1 when the header
 * is impossible (command_length < 16 or > max_pdu_len); err says why.
 */
long smpp_frame(const uint8_t *buf, size_t len, const struct smpp_limits *lim,
    struct smpp_error *err);

/*
 * Decode one whole PDU (buf holds exactly command_length bytes).  Returns 0,
 * or -1 with err filled; pdu->command_id and sequence_number are set
 * whenever the header could be read, so that a nack can name them.
 */
int smpp_pdu_decode(const uint8_t *buf, size_t len, const struct smpp_limits *lim,
    struct smpp_pdu *pdu, struct smpp_error *err);

/*
 * Encode into out.  Returns the number of bytes written, or -1 when the
 * struct holds a value the wire cannot carry (string too long, unknown
 * command, too many TLVs); err says which.  When out is too small returns
 * the length needed (greater than cap) and writes nothing useful.
 */
long smpp_pdu_encode(const struct smpp_pdu *pdu, uint8_t *out, size_t cap,
    struct smpp_error *err);

/* Zero a struct and set command_id and sequence (every string ""). */
void smpp_pdu_init(struct smpp_pdu *pdu, uint32_t command_id, uint32_t seq);

/*
 * The response for a request: command_id | 0x80000000, same sequence.
 * generic_nack for commands without a response or unknown ones.
 */
void smpp_pdu_init_resp(struct smpp_pdu *resp, const struct smpp_pdu *req,
    uint32_t status);
uint32_t smpp_resp_id(uint32_t command_id);

/* Names, for logs and tests; "unknown" when not known. */
const char *smpp_command_name(uint32_t command_id);
const char *smpp_status_name(uint32_t status);
const char *smpp_tlv_name(uint16_t tag);
int smpp_command_known(uint32_t command_id);

/*
 * Human-readable one-line dump of the decoded fields (key=value), for logs
 * and debugging.  Returns the length that would have been written, as
 * snprintf does.
 */
int smpp_pdu_format(const struct smpp_pdu *pdu, char *out, size_t cap);

/*
 * SMPP times ("YYMMDDhhmmsstnnp"): absolute with a quarter-hour UTC offset
 * ('+'/'-'), or relative ('R') to now_ms.  "" gives 0 and *out_ms = 0
 * (no time).  Returns -1 for anything else.  Relative years count 365 days
 * and months 30, as SMSCs do.
 */
int smpp_time_parse(const char *s, int64_t now_ms, int64_t *out_ms);

/* Format an absolute UTC time (ms) as "YYMMDDhhmmss000+" into out[17]. */
void smpp_time_format(int64_t ms, char out[17]);

/* --- TLVs: typed access over pdu->tlvs ------------------------------- */

/* The first TLV with this tag, or NULL. */
const struct smpp_tlv *smpp_tlv_find(const struct smpp_pdu *pdu, uint16_t tag);

/*
 * Integer TLVs (1, 2 or 4 octets, big-endian).  Return 0 and set *val, or
 * -1 when absent or not of an integer length.
 */
int smpp_tlv_get_int(const struct smpp_pdu *pdu, uint16_t tag, uint32_t *val);

/*
 * C-octet string TLVs (receipted_message_id, ...): copies at most cap-1
 * bytes and a NUL.  Returns the string length or -1 when absent.
 */
int smpp_tlv_get_str(const struct smpp_pdu *pdu, uint16_t tag, char *out,
    size_t cap);

/*
 * Adding TLVs.  Integers are written big-endian into storage inside the
 * caller's scratch buffer `store` (it must outlive the encode); strings
 * and octets are referenced, not copied.  Return 0 or -1 when full.
 */
struct smpp_tlv_store {
	uint8_t buf[128];
	size_t used;
};
int smpp_tlv_add(struct smpp_pdu *pdu, uint16_t tag, const void *value,
    uint16_t len);
int smpp_tlv_add_int(struct smpp_pdu *pdu, struct smpp_tlv_store *store,
    uint16_t tag, uint32_t val); /* width from the tag's definition */
int smpp_tlv_add_str(struct smpp_pdu *pdu, uint16_t tag, const char *s);
                     /* C-octet string TLV: the NUL is included */

/* --- helpers for other modules -------------------------------------- */

static inline uint32_t smpp_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t smpp_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void smpp_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void smpp_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

#endif
