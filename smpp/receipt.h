/*
 * Delivery receipts: the SMPP 3.4 Appendix B text, the receipt TLVs of a
 * deliver_sm, and the message id keys that correlate a receipt with the
 * submit_sm_resp it answers.
 *
 * Pure: no allocation, no clock.  Inputs are pointer + length and need not
 * be NUL-terminated; nothing is read past the given length.
 *
 *   id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm
 *   done date:YYMMDDhhmm stat:DDDDDDD err:E text:...
 *
 * Parsing is loose because vendors are:
 *  - field names match in any case; "submit date" may also be written
 *    "submit_date" or "submitdate"; spaces may precede the colon;
 *  - fields may be missing, in any order, separated by any whitespace;
 *    words that are not a known "name:" are skipped;
 *  - the first occurrence of a field wins, and everything after "text:" is
 *    the text (it may contain colons).  Both rules keep the message content,
 *    which the sender controls, from overriding stat or id;
 *  - a value is one run of non-blank bytes; a value that is itself a
 *    "name:" counts as empty ("err: text:x" has no err);
 *  - dates: YYMMDDhhmm, YYMMDDhhmmss or YYYYMMDDhhmmss, validated (month
 *    1-12, day within the month, hh 0-23, mm and ss 0-59); anything else
 *    leaves the date marked invalid;
 *  - stat: the eight Appendix B words, and their long forms (DELIVERED,
 *    UNDELIVERABLE, ...); any other word is SMPP_STAT_OTHER, kept raw;
 *  - trailing NUL bytes of the input are ignored (some SMSCs send them).
 */
#ifndef SMPPD_SMPP_RECEIPT_H
#define SMPPD_SMPP_RECEIPT_H

#include <stddef.h>

#include "smpp/pdu.h"

#define SMPP_RECEIPT_ID_MAX 64  /* receipted_message_id is 65 with its NUL */
#define SMPP_RECEIPT_RAW_MAX 15 /* stat_raw and err_raw, without the NUL */
#define SMPP_RECEIPT_TEXT_MAX 20 /* what format writes after "text:" */

/* Return codes of parse and from_pdu (0 is success). */
enum {
	SMPP_RECEIPT_OK = 0,
	SMPP_RECEIPT_ENOID = -1,   /* no id: not a receipt */
	SMPP_RECEIPT_ENOSTAT = -2, /* no stat: not a receipt */
	SMPP_RECEIPT_EIDLEN = -3,  /* id longer than SMPP_RECEIPT_ID_MAX */
};

enum smpp_stat {
	SMPP_STAT_NONE = 0, /* missing */
	SMPP_STAT_DELIVRD,
	SMPP_STAT_EXPIRED,
	SMPP_STAT_DELETED,
	SMPP_STAT_UNDELIV,
	SMPP_STAT_ACCEPTD,
	SMPP_STAT_UNKNOWN,
	SMPP_STAT_REJECTD,
	SMPP_STAT_ENROUTE,
	SMPP_STAT_OTHER, /* present but not recognised; see stat_raw */
};

/* A date of the receipt text, broken down. */
struct smpp_receipt_time {
	int valid;  /* 0: missing or invalid, the other fields are 0 */
	int year;   /* full year: YY reads as 20YY */
	int month;  /* 1-12 */
	int day;    /* 1-31 */
	int hour;   /* 0-23 */
	int minute; /* 0-59 */
	int second; /* 0-59, or -1 when the input had no seconds */
};

/* Which fields came from TLVs rather than the text (bits of ->tlv). */
#define SMPP_RECEIPT_TLV_ID 0x1u     /* receipted_message_id */
#define SMPP_RECEIPT_TLV_STATE 0x2u  /* message_state */
#define SMPP_RECEIPT_TLV_NETERR 0x4u /* network_error_code */

struct smpp_receipt {
	char id[SMPP_RECEIPT_ID_MAX + 1]; /* as received, "" when missing */
	int sub;   /* -1 when missing or not a number */
	int dlvrd; /* -1 when missing or not a number */
	struct smpp_receipt_time submit_date;
	struct smpp_receipt_time done_date;
	enum smpp_stat stat;
	char stat_raw[SMPP_RECEIPT_RAW_MAX + 1]; /* the word as received */
	int err;   /* decimal value, -1 when missing or not decimal */
	/* as received; when longer than SMPP_RECEIPT_RAW_MAX, its first
	 * RAW_MAX - 1 bytes and a '+' */
	char err_raw[SMPP_RECEIPT_RAW_MAX + 1];
	int network_type; /* network_error_code TLV's first octet, or -1 */
	/* Points into the parsed input (valid while it is); NULL when there
	 * was no "text:" field. */
	const char *text;
	size_t text_len;
	unsigned tlv; /* SMPP_RECEIPT_TLV_* */
};

/* Everything missing: ints -1, strings "", stat NONE, text NULL. */
void smpp_receipt_init(struct smpp_receipt *r);

/*
 * Parse receipt text.  Always fills *out as far as the text allows, then
 * returns 0, or SMPP_RECEIPT_ENOID / ENOSTAT when the text is not a
 * receipt, or SMPP_RECEIPT_EIDLEN when the id does not fit (it is then
 * left empty: a truncated id would correlate with the wrong message).
 */
int smpp_receipt_parse(const char *text, size_t len, struct smpp_receipt *out);

/*
 * Format the standard Appendix B text into out (NUL-terminated when
 * cap > 0).  sub, dlvrd and err are written with at least three digits
 * (missing: 000; a non-numeric err is written raw), dates as YYMMDDhhmm
 * (invalid: 0000000000), stat as its seven-letter word (NONE: UNKNOWN;
 * OTHER: stat_raw), and at most 20 bytes of text.  Returns the length the
 * whole text has, as snprintf does; a result >= cap means it was cut.
 */
int smpp_receipt_format(const struct smpp_receipt *r, char *out, size_t cap);

/*
 * The receipt in a decoded deliver_sm or data_sm.  It is one when the
 * esm_class message type is SMSC delivery receipt (0x04) or when a
 * receipted_message_id or message_state TLV is present.  The text comes
 * from short_message, or from message_payload when short_message is
 * empty; then the TLVs override it: receipted_message_id sets id,
 * message_state sets stat, network_error_code sets err (its 2-octet code)
 * and network_type.
 *
 * Returns 1 when it is a receipt with an id and a stat, 0 when the PDU is
 * not a receipt (an MO message), or a negative SMPP_RECEIPT_E* when it is
 * marked as a receipt but unusable.  out->text points into the PDU.
 */
int smpp_receipt_from_pdu(const struct smpp_pdu *pdu, struct smpp_receipt *out);

/* message_state (SMPP_STATE_*) <-> text stat.  SCHEDULED, SKIPPED and
 * unknown values give SMPP_STAT_OTHER; NONE and OTHER give -1. */
enum smpp_stat smpp_stat_from_state(int message_state);
int smpp_stat_to_state(enum smpp_stat stat);

/* "DELIVRD", ...; "NONE" and "OTHER" for those two. */
const char *smpp_stat_name(enum smpp_stat stat);

/* A name for an SMPP_RECEIPT_E* code, for logs. */
const char *smpp_receipt_strerror(int code);

/* --- message id keys ------------------------------------------------- */

/*
 * Carriers disagree with themselves about message ids: the submit_sm_resp
 * may carry "1A2B3C" and the receipt "1715004", or "000123" and "123".
 * The relay stores every submitted message under smpp_msgid_key(mode,
 * SMPP_MSGID_RESP, ...) and looks receipts up under smpp_msgid_key(mode,
 * SMPP_MSGID_RECEIPT, ...), with the carrier's configured mode.  No other
 * code should compare carrier ids.
 */
enum smpp_msgid_mode {
	SMPP_MSGID_AS_IS,                       /* same notation both sides */
	SMPP_MSGID_HEX_IN_RESP_DEC_IN_RECEIPT,
	SMPP_MSGID_DEC_IN_RESP_HEX_IN_RECEIPT,
	SMPP_MSGID_AUTO,                        /* guess from the id itself */
};

enum smpp_msgid_side {
	SMPP_MSGID_RESP,    /* the id of a submit_sm_resp */
	SMPP_MSGID_RECEIPT, /* the id of a receipt */
};

/*
 * The canonical form of an id, used as is by AS_IS:
 *  1. the id ends at len or at its first NUL; blanks around it are dropped;
 *  2. "0x" or "0X" followed by hex digits only: the prefix goes, letters
 *     are lower-cased and leading zeros stripped ("0x00AB" -> "ab");
 *  3. decimal digits only: leading zeros stripped, one "0" kept
 *     ("000123" -> "123", "000" -> "0");
 *  4. anything else (UUIDs, base62, mixed): ASCII letters lower-cased and
 *     nothing else changed; leading zeros are kept because they may be
 *     part of a fixed-width string id.
 * Lower-casing merges ids that differ only in case; carriers that change
 * case between resp and receipt are common, carriers whose live ids
 * differ only in case are not known.
 *
 * Writes the key NUL-terminated into out (cut to cap - 1 bytes) and
 * returns its full length as snprintf does, or -1 when the id is empty
 * (an empty id must never match anything; out is then "").
 */
int smpp_msgid_normalize(const char *id, size_t len, char *out, size_t cap);

/*
 * The correlation key of an id seen on one side of a carrier.
 *  - AS_IS: smpp_msgid_normalize().
 *  - HEX_IN_RESP_DEC_IN_RECEIPT / DEC_IN_RESP_HEX_IN_RECEIPT: on the hex
 *    side an id of hex digits (optionally 0x-prefixed) whose value fits
 *    64 bits becomes that value in decimal; on the decimal side an id of
 *    decimal digits that fits 64 bits becomes its value in decimal (leading
 *    zeros gone).  Ids that do not convert (UUIDs, too long) fall back to
 *    the canonical form, so a carrier that sends the same string on both
 *    sides still matches.
 *  - AUTO: the side is ignored.  An id that is 0x-prefixed or contains a
 *    hex letter (a-f) and is otherwise hex digits, fitting 64 bits, is read
 *    as hex and becomes decimal; everything else gets the canonical form.
 *    Ids in one notation on both sides always match; a hex id with no
 *    letter ("123456" meaning 0x123456) is read as decimal and does not
 *    match its decimal twin.  Configure the explicit mode once known.
 * Output and return value as smpp_msgid_normalize().
 */
int smpp_msgid_key(enum smpp_msgid_mode mode, enum smpp_msgid_side side,
    const char *id, size_t len, char *out, size_t cap);

#endif
