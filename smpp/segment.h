/*
 * Long messages: splitting into SMS parts (UDH concatenation with an 8- or
 * 16-bit reference, SAR TLVs, or one message_payload), reading the
 * concatenation data of incoming parts, and reassembling them.
 *
 * Pure: libc only, no clock (the caller passes `now`, in any unit it
 * likes, as long as it is the unit of the timeout), no allocation (the
 * caller provides every buffer and the reassembly table's memory).
 */
#ifndef SMPPD_SMPP_SEGMENT_H
#define SMPPD_SMPP_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "smpp/pdu.h"

/* Errors (all negative). */
enum {
	SMPP_SEG_EINVAL = -1,  /* bad argument, or input not in its form (odd
	                          UCS-2 length, septet > 127) */
	SMPP_SEG_ENOSPC = -2,  /* caller's buffer or part array too small; in
	                          reassembly, the table cannot hold the part */
	SMPP_SEG_ETOOMANY = -3, /* more than 255 parts, or a message_payload
	                           over 65535 octets */
	SMPP_SEG_EUDH = -4,    /* malformed UDH */
	SMPP_SEG_ESAR = -5,    /* SAR TLVs incomplete or of the wrong length */
	SMPP_SEG_EPART = -6,   /* inconsistent part: total 0, seq 0 or > total */
	SMPP_SEG_ETOOBIG = -7, /* part body or address too long for the table */
};

const char *smpp_seg_strerror(int err);

#define SMPP_MAX_PARTS 255

/* How the message octets are laid out: tells where characters end. */
enum smpp_form {
	SMPP_FORM_GSM7,        /* unpacked septets in, unpacked septets out
	                          (data_coding 0 in short_message); escape pairs
	                          stay together */
	SMPP_FORM_GSM7_PACKED, /* unpacked septets in, packed septets out, fill
	                          bits after the UDH */
	SMPP_FORM_UCS2,        /* UTF-16BE; surrogate pairs stay together */
	SMPP_FORM_OCTETS,      /* Latin-1, IA5 or binary: one octet each */
};

enum smpp_split_mode {
	SMPP_SPLIT_UDH8,    /* UDH 05 00 03 ref total seq; caller sets UDHI */
	SMPP_SPLIT_UDH16,   /* UDH 06 08 04 refhi reflo total seq */
	SMPP_SPLIT_SAR,     /* no UDH; caller adds sar_* TLVs from the part */
	SMPP_SPLIT_PAYLOAD, /* one part for message_payload, never split */
};

/*
 * Characters per part, in the form's units (septets for both GSM forms,
 * octets otherwise; UCS-2 in octets):
 *
 *                 single   UDH8/SAR   UDH16
 *   GSM (septets)   160       153      152
 *   UCS-2 (octets)  140       134      132
 *   octets          140       134      133
 *
 * SAR parts carry no UDH in SMPP, but the SMSC turns them into UDH
 * concatenation on the air interface, where the UDH takes its room again;
 * filling a SAR part to 160 septets would make the SMSC re-split or
 * reject it.  So SAR uses the UDH8 sizes, as most ESMEs do.
 *
 * A message that fits the single size is one part without UDH or SAR
 * values (total 1) in every mode.
 */
struct smpp_part {
	const uint8_t *data; /* short_message (or message_payload): UDH, then
	                        text; points into the caller's buffer */
	size_t len;          /* octets of data */
	size_t udh_len;      /* octets of UDH at the start of data, 0: none */
	size_t units;        /* septets, or octets, of text in this part */
	uint16_t ref;        /* concatenation reference (8-bit modes: 0..255) */
	uint8_t total;       /* number of parts; 1: not concatenated */
	uint8_t seq;         /* 1-based */
};

/*
 * Split `len` octets of `msg` (in `form`) into parts.  parts[] receives
 * one descriptor per part; each part's octets are written into buf.
 * Returns the part count, or SMPP_SEG_EINVAL, SMPP_SEG_ENOSPC (max_parts
 * or cap too small; cap >= len + 7 * parts always suffices) or
 * SMPP_SEG_ETOOMANY.  Parts are filled greedily, the same count
 * smpp_text_analyze() gives for UDH8.
 */
long smpp_split(const uint8_t *msg, size_t len, enum smpp_form form,
    enum smpp_split_mode mode, uint16_t ref, struct smpp_part *parts,
    size_t max_parts, uint8_t *buf, size_t cap);

/* Concatenation data of one received part. */
struct smpp_concat {
	uint16_t ref;
	uint8_t total;
	uint8_t seq;
	uint8_t ref_bits; /* 8 or 16 (UDH), 16 for SAR */
};

/*
 * Parse the UDH at the start of sm (esm_class has UDHI): walks every IE,
 * checks each fits, and picks the concatenation IE (0x00 or 0x08; the last
 * one wins if repeated, as 23.040 says).  *udh_len receives 1 + UDHL, the
 * offset of the text.  Returns 1 with *c filled when there is a
 * concatenation IE, 0 when there is none, SMPP_SEG_EUDH when the UDH is
 * malformed (empty, longer than sm, an IE overrunning it, a concatenation
 * IE of the wrong length).  Values are not checked here: see
 * smpp_reasm_add.
 */
int smpp_udh_parse(const uint8_t *sm, size_t len, struct smpp_concat *c,
    size_t *udh_len);

/*
 * Read sar_msg_ref_num, sar_total_segments and sar_segment_seqnum from a
 * decoded PDU's TLVs.  Returns 1 when all three are there, 0 when none is,
 * SMPP_SEG_ESAR when only some are or one has the wrong length.
 */
int smpp_sar_read(const struct smpp_tlv *tlvs, unsigned n,
    struct smpp_concat *c);

/* --- reassembly ----------------------------------------------------- */

#define SMPP_REASM_ADDR_MAX 65 /* data_sm addresses: 64 + NUL */
#define SMPP_REASM_PART_MAX 254 /* short_message limit */

/* Storage for one part's text.  Opaque: the caller only allocates them. */
struct smpp_reasm_slot {
	uint16_t next; /* free list */
	uint8_t len;
	uint8_t data[SMPP_REASM_PART_MAX];
};

/* One message being collected.  Opaque: the caller only allocates them. */
struct smpp_reasm_group {
	char src[SMPP_REASM_ADDR_MAX];
	char dst[SMPP_REASM_ADDR_MAX];
	int64_t first;  /* `now` when its first part came */
	uint16_t ref;
	uint8_t total;
	uint8_t have;   /* parts present; 0: entry unused */
	uint16_t slot[SMPP_MAX_PARTS]; /* slot index + 1 per seq, 0 missing */
};

struct smpp_reasm {
	struct smpp_reasm_group *groups;
	size_t ngroups;
	struct smpp_reasm_slot *slots;
	size_t nslots;
	size_t free_head; /* slot index + 1, 0: none free */
	size_t nfree;
	int64_t timeout;
};

/* Why a group left the table incomplete. */
enum { SMPP_REASM_NONE = 0, SMPP_REASM_EVICTED, SMPP_REASM_EXPIRED };

struct smpp_reasm_event {
	int reason; /* SMPP_REASM_NONE when nothing was dropped */
	char src[SMPP_REASM_ADDR_MAX];
	char dst[SMPP_REASM_ADDR_MAX];
	uint16_t ref;
	uint8_t total;
	uint8_t have;
	int64_t first;
};

/*
 * Set up a table over caller memory: ngroups messages in progress at once,
 * nslots parts stored at once (1..65535).  Groups are found by a linear
 * scan, so keep ngroups in the thousands at most.  A group is dropped
 * once `now - first >= timeout` (timeout >= 0; a clock going backwards
 * never expires anything).  Returns 0 or SMPP_SEG_EINVAL.
 */
int smpp_reasm_init(struct smpp_reasm *t, struct smpp_reasm_group *groups,
    size_t ngroups, struct smpp_reasm_slot *slots, size_t nslots,
    int64_t timeout);

/* Results of smpp_reasm_add. */
enum { SMPP_REASM_STORED = 0, SMPP_REASM_COMPLETE = 1, SMPP_REASM_DUP = 2 };

/*
 * Add one part: its text (UDH removed; GSM unpacked so parts join) under
 * the key (src, dst, c->ref, c->total).  Returns:
 *   SMPP_REASM_STORED   kept, message incomplete;
 *   SMPP_REASM_COMPLETE every part is in: the texts in order are in out
 *                       (*out_len octets) and the group is gone;
 *   SMPP_REASM_DUP      that seq was already there: ignored;
 *   SMPP_SEG_EPART      total 0, seq 0 or seq > total;
 *   SMPP_SEG_ETOOBIG    len > 254 (with total > 1) or an address over
 *                       64 octets;
 *   SMPP_SEG_ENOSPC     the table cannot hold this message (its slots are
 *                       all taken by it), or out is too small at
 *                       completion (the group is dropped then; cap of
 *                       total * 254 always suffices).
 * When room had to be made, the oldest other group was evicted and *ev
 * (if not NULL) describes it; otherwise ev->reason is SMPP_REASM_NONE.
 * A total of 1 completes at once without using the table.
 */
int smpp_reasm_add(struct smpp_reasm *t, const char *src, const char *dst,
    const struct smpp_concat *c, const uint8_t *body, size_t len,
    int64_t now, uint8_t *out, size_t cap, size_t *out_len,
    struct smpp_reasm_event *ev);

/*
 * Drop one group whose time is up.  Returns 1 and fills *ev (if not NULL)
 * when it dropped one (call again for the next), 0 when none is due.
 */
int smpp_reasm_expire(struct smpp_reasm *t, int64_t now,
    struct smpp_reasm_event *ev);

/* Groups in progress. */
size_t smpp_reasm_pending(const struct smpp_reasm *t);

#endif
