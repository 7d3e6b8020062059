/*
 * Segmentation (UDH 8/16-bit reference, SAR, message_payload), UDH and SAR
 * parsing, and a fixed-capacity reassembly table.  See segment.h.
 */
#include "smpp/segment.h"

#include <string.h>

#include "smpp/coding.h"

#define GSM_ESC 0x1B
#define IEI_CONCAT8 0x00
#define IEI_CONCAT16 0x08

const char *smpp_seg_strerror(int err)
{
	switch (err) {
	case 0: return "ok";
	case SMPP_SEG_EINVAL: return "invalid argument or input";
	case SMPP_SEG_ENOSPC: return "no room";
	case SMPP_SEG_ETOOMANY: return "too many parts";
	case SMPP_SEG_EUDH: return "malformed UDH";
	case SMPP_SEG_ESAR: return "incomplete SAR TLVs";
	case SMPP_SEG_EPART: return "inconsistent part";
	case SMPP_SEG_ETOOBIG: return "part or address too long";
	default: return "unknown error";
	}
}

/* --- splitting ------------------------------------------------------ */

static int is_gsm(enum smpp_form form)
{
	return form == SMPP_FORM_GSM7 || form == SMPP_FORM_GSM7_PACKED;
}

/* Octets of msg making up the character at pos; 0 when malformed. */
static size_t char_len(const uint8_t *msg, size_t len, size_t pos,
    enum smpp_form form)
{
	if (is_gsm(form)) {
		if (msg[pos] > 0x7F)
			return 0;
		if (msg[pos] == GSM_ESC && pos + 1 < len)
			return msg[pos + 1] > 0x7F ? 0 : 2;
		return 1;
	}
	if (form != SMPP_FORM_UCS2)
		return 1;
	/* a high surrogate followed by a low one travels as one */
	if (msg[pos] >= 0xD8 && msg[pos] <= 0xDB && pos + 3 < len &&
	    msg[pos + 2] >= 0xDC && msg[pos + 2] <= 0xDF)
		return 4;
	return 2;
}

static size_t single_size(enum smpp_form form)
{
	return is_gsm(form) ? SMPP_GSM7_SINGLE : SMPP_OCTET_SINGLE;
}

static size_t part_size(enum smpp_form form, enum smpp_split_mode mode)
{
	int wide = mode == SMPP_SPLIT_UDH16;
	if (is_gsm(form))
		return wide ? 152 : SMPP_GSM7_PART;
	if (form == SMPP_FORM_UCS2)
		return wide ? 132 : SMPP_OCTET_PART;
	return wide ? 133 : SMPP_OCTET_PART;
}

/* Where the part starting at pos ends: as many whole characters as fit. */
static long part_end(const uint8_t *msg, size_t len, size_t pos,
    enum smpp_form form, size_t max)
{
	size_t end = pos;
	while (end < len) {
		size_t n = char_len(msg, len, end, form);
		if (n == 0)
			return SMPP_SEG_EINVAL;
		if (end - pos + n > max)
			break;
		end += n;
	}
	return (long)end;
}

/* Check the input and count parts of at most max octets. */
static long count_parts(const uint8_t *msg, size_t len, enum smpp_form form,
    size_t max)
{
	size_t pos = 0, n = 0;
	do {
		long end = part_end(msg, len, pos, form, max);
		if (end < 0)
			return end;
		pos = (size_t)end;
		n++;
	} while (pos < len);
	return (long)n;
}

static size_t write_udh(uint8_t *p, enum smpp_split_mode mode, uint16_t ref,
    size_t total, size_t seq)
{
	if (mode == SMPP_SPLIT_UDH8) {
		p[0] = 5, p[1] = IEI_CONCAT8, p[2] = 3;
		p[3] = (uint8_t)ref, p[4] = (uint8_t)total, p[5] = (uint8_t)seq;
		return 6;
	}
	if (mode == SMPP_SPLIT_UDH16) {
		p[0] = 6, p[1] = IEI_CONCAT16, p[2] = 4;
		p[3] = (uint8_t)(ref >> 8), p[4] = (uint8_t)ref;
		p[5] = (uint8_t)total, p[6] = (uint8_t)seq;
		return 7;
	}
	return 0;
}

/* Text of one part into out: copied, or packed after the UDH's fill. */
static long write_body(const uint8_t *text, size_t n, enum smpp_form form,
    size_t udh_len, uint8_t *out, size_t cap)
{
	if (form == SMPP_FORM_GSM7_PACKED) {
		long r = smpp_gsm7_pack(text, n, smpp_gsm7_fill_bits(udh_len),
		    out, cap);
		return r < 0 ? SMPP_SEG_ENOSPC : r;
	}
	if (n > cap)
		return SMPP_SEG_ENOSPC;
	if (n)
		memcpy(out, text, n);
	return (long)n;
}

static long split_parts(const uint8_t *msg, size_t len, enum smpp_form form,
    enum smpp_split_mode mode, uint16_t ref, size_t total, size_t max,
    struct smpp_part *parts, uint8_t *buf, size_t cap)
{
	size_t pos = 0, used = 0;
	for (size_t i = 0; i < total; i++) {
		size_t end = (size_t)part_end(msg, len, pos, form, max);
		uint8_t udh[8];
		size_t udh_len = total > 1 ? write_udh(udh, mode, ref, total, i + 1) : 0;
		if (cap - used < udh_len)
			return SMPP_SEG_ENOSPC;
		memcpy(buf + used, udh, udh_len);
		long body = write_body(msg + pos, end - pos, form, udh_len,
		    buf + used + udh_len, cap - used - udh_len);
		if (body < 0)
			return body;
		struct smpp_part *p = &parts[i];
		p->data = buf + used;
		p->len = udh_len + (size_t)body;
		p->udh_len = udh_len;
		p->units = end - pos;
		p->ref = total > 1 ? ref : 0;
		p->total = (uint8_t)total;
		p->seq = (uint8_t)(i + 1);
		used += p->len;
		pos = end;
	}
	return (long)total;
}

long smpp_split(const uint8_t *msg, size_t len, enum smpp_form form,
    enum smpp_split_mode mode, uint16_t ref, struct smpp_part *parts,
    size_t max_parts, uint8_t *buf, size_t cap)
{
	if ((len && !msg) || !parts || !buf || max_parts == 0 ||
	    form > SMPP_FORM_OCTETS || mode > SMPP_SPLIT_PAYLOAD)
		return SMPP_SEG_EINVAL;
	if (form == SMPP_FORM_UCS2 && len % 2)
		return SMPP_SEG_EINVAL;
	if (mode == SMPP_SPLIT_UDH8)
		ref &= 0xFF;
	size_t max;
	if (mode == SMPP_SPLIT_PAYLOAD) {
		if (len > 65535)
			return SMPP_SEG_ETOOMANY;
		max = len; /* everything in one */
	} else {
		max = len <= single_size(form) ? single_size(form) :
		    part_size(form, mode);
	}
	long total = count_parts(msg, len, form, max ? max : 1);
	if (total < 0)
		return total;
	if (total > SMPP_MAX_PARTS)
		return SMPP_SEG_ETOOMANY;
	if ((size_t)total > max_parts)
		return SMPP_SEG_ENOSPC;
	return split_parts(msg, len, form, mode, ref, (size_t)total,
	    max ? max : 1, parts, buf, cap);
}

/* --- reading concatenation data -------------------------------------- */

static int concat_ie(uint8_t iei, const uint8_t *v, uint8_t iel,
    struct smpp_concat *c)
{
	if (iei == IEI_CONCAT8) {
		if (iel != 3)
			return SMPP_SEG_EUDH;
		c->ref = v[0], c->total = v[1], c->seq = v[2], c->ref_bits = 8;
		return 1;
	}
	if (iel != 4)
		return SMPP_SEG_EUDH;
	c->ref = smpp_get_u16(v), c->total = v[2], c->seq = v[3];
	c->ref_bits = 16;
	return 1;
}

int smpp_udh_parse(const uint8_t *sm, size_t len, struct smpp_concat *c,
    size_t *udh_len)
{
	if (len < 1 || sm[0] == 0 || (size_t)sm[0] + 1 > len)
		return SMPP_SEG_EUDH;
	size_t end = (size_t)sm[0] + 1, pos = 1;
	int found = 0;
	while (pos < end) {
		if (end - pos < 2)
			return SMPP_SEG_EUDH; /* IEI without its length */
		uint8_t iei = sm[pos], iel = sm[pos + 1];
		if (end - pos - 2 < iel)
			return SMPP_SEG_EUDH; /* IE overruns the UDH */
		if (iei == IEI_CONCAT8 || iei == IEI_CONCAT16) {
			struct smpp_concat tmp;
			if (concat_ie(iei, sm + pos + 2, iel, &tmp) < 0)
				return SMPP_SEG_EUDH;
			*c = tmp;
			found = 1;
		}
		pos += 2 + (size_t)iel;
	}
	*udh_len = end;
	return found;
}

/* Integer TLV value of one of the expected width, or -1. */
static long tlv_uint(const struct smpp_tlv *t, uint16_t width)
{
	if (t->len != width || !t->value)
		return -1;
	return width == 2 ? smpp_get_u16(t->value) : t->value[0];
}

int smpp_sar_read(const struct smpp_tlv *tlvs, unsigned n,
    struct smpp_concat *c)
{
	long ref = -2, total = -2, seq = -2; /* -2: absent, -1: bad */
	for (unsigned i = 0; i < n; i++) {
		if (tlvs[i].tag == SMPP_TLV_SAR_MSG_REF_NUM)
			ref = tlv_uint(&tlvs[i], 2);
		else if (tlvs[i].tag == SMPP_TLV_SAR_TOTAL_SEGMENTS)
			total = tlv_uint(&tlvs[i], 1);
		else if (tlvs[i].tag == SMPP_TLV_SAR_SEGMENT_SEQNUM)
			seq = tlv_uint(&tlvs[i], 1);
	}
	if (ref == -2 && total == -2 && seq == -2)
		return 0;
	if (ref < 0 || total < 0 || seq < 0)
		return SMPP_SEG_ESAR;
	c->ref = (uint16_t)ref, c->total = (uint8_t)total;
	c->seq = (uint8_t)seq, c->ref_bits = 16;
	return 1;
}

/* --- reassembly ----------------------------------------------------- */

int smpp_reasm_init(struct smpp_reasm *t, struct smpp_reasm_group *groups,
    size_t ngroups, struct smpp_reasm_slot *slots, size_t nslots,
    int64_t timeout)
{
	if (!t || !groups || !slots || ngroups == 0 || nslots == 0 ||
	    nslots > 65535 || timeout < 0)
		return SMPP_SEG_EINVAL;
	t->groups = groups, t->ngroups = ngroups;
	t->slots = slots, t->nslots = nslots;
	t->timeout = timeout;
	for (size_t i = 0; i < ngroups; i++)
		groups[i].have = 0;
	/* every slot on the free list, in order */
	for (size_t i = 0; i < nslots; i++)
		slots[i].next = (uint16_t)(i + 1 < nslots ? i + 2 : 0);
	t->free_head = 1;
	t->nfree = nslots;
	return 0;
}

static size_t slot_take(struct smpp_reasm *t)
{
	size_t s = t->free_head;
	t->free_head = t->slots[s - 1].next;
	t->nfree--;
	return s;
}

static void slot_give(struct smpp_reasm *t, size_t s)
{
	t->slots[s - 1].next = (uint16_t)t->free_head;
	t->free_head = s;
	t->nfree++;
}

static void event_fill(struct smpp_reasm_event *ev, int reason,
    const struct smpp_reasm_group *g)
{
	if (!ev)
		return;
	ev->reason = reason;
	memcpy(ev->src, g->src, sizeof ev->src);
	memcpy(ev->dst, g->dst, sizeof ev->dst);
	ev->ref = g->ref, ev->total = g->total, ev->have = g->have;
	ev->first = g->first;
}

/* Free a group's slots and its entry. */
static void group_drop(struct smpp_reasm *t, struct smpp_reasm_group *g)
{
	for (size_t i = 0; i < g->total; i++) {
		if (g->slot[i])
			slot_give(t, g->slot[i]);
		g->slot[i] = 0;
	}
	g->have = 0;
}

static struct smpp_reasm_group *group_find(struct smpp_reasm *t,
    const char *src, const char *dst, const struct smpp_concat *c)
{
	for (size_t i = 0; i < t->ngroups; i++) {
		struct smpp_reasm_group *g = &t->groups[i];
		if (g->have && g->ref == c->ref && g->total == c->total &&
		    strcmp(g->src, src) == 0 && strcmp(g->dst, dst) == 0)
			return g;
	}
	return NULL;
}

/* The oldest group in use other than `keep`, or NULL. */
static struct smpp_reasm_group *group_oldest(struct smpp_reasm *t,
    const struct smpp_reasm_group *keep)
{
	struct smpp_reasm_group *old = NULL;
	for (size_t i = 0; i < t->ngroups; i++) {
		struct smpp_reasm_group *g = &t->groups[i];
		if (g->have && g != keep && (!old || g->first < old->first))
			old = g;
	}
	return old;
}

static void evict(struct smpp_reasm *t, struct smpp_reasm_group *g,
    struct smpp_reasm_event *ev)
{
	event_fill(ev, SMPP_REASM_EVICTED, g);
	group_drop(t, g);
}

/* A free group entry, evicting the oldest when all are taken. */
static struct smpp_reasm_group *group_new(struct smpp_reasm *t,
    struct smpp_reasm_event *ev)
{
	for (size_t i = 0; i < t->ngroups; i++)
		if (!t->groups[i].have)
			return &t->groups[i];
	struct smpp_reasm_group *g = group_oldest(t, NULL);
	evict(t, g, ev);
	return g;
}

/* Join the parts in order into out, then drop the group. */
static int group_finish(struct smpp_reasm *t, struct smpp_reasm_group *g,
    uint8_t *out, size_t cap, size_t *out_len)
{
	size_t n = 0;
	int rc = SMPP_REASM_COMPLETE;
	for (size_t i = 0; i < g->total; i++) {
		const struct smpp_reasm_slot *s = &t->slots[g->slot[i] - 1];
		if (cap - n < s->len) {
			rc = SMPP_SEG_ENOSPC;
			break;
		}
		if (s->len)
			memcpy(out + n, s->data, s->len);
		n += s->len;
	}
	group_drop(t, g);
	if (out_len)
		*out_len = rc == SMPP_REASM_COMPLETE ? n : 0;
	return rc;
}

static int check_part(const char *src, const char *dst,
    const struct smpp_concat *c, size_t len)
{
	if (!c || c->total == 0 || c->seq == 0 || c->seq > c->total)
		return SMPP_SEG_EPART;
	/* a lone part is handed back, not stored: any length will do */
	if ((c->total > 1 && len > SMPP_REASM_PART_MAX) ||
	    strlen(src) >= SMPP_REASM_ADDR_MAX ||
	    strlen(dst) >= SMPP_REASM_ADDR_MAX)
		return SMPP_SEG_ETOOBIG;
	return 0;
}

static int complete_single(const uint8_t *body, size_t len, uint8_t *out,
    size_t cap, size_t *out_len)
{
	if (len > cap)
		return SMPP_SEG_ENOSPC;
	if (len)
		memcpy(out, body, len);
	if (out_len)
		*out_len = len;
	return SMPP_REASM_COMPLETE;
}

static void group_init(struct smpp_reasm_group *g, const char *src,
    const char *dst, const struct smpp_concat *c, int64_t now)
{
	strcpy(g->src, src); /* lengths checked by check_part */
	strcpy(g->dst, dst);
	g->ref = c->ref, g->total = c->total, g->first = now;
	memset(g->slot, 0, sizeof g->slot);
}

int smpp_reasm_add(struct smpp_reasm *t, const char *src, const char *dst,
    const struct smpp_concat *c, const uint8_t *body, size_t len,
    int64_t now, uint8_t *out, size_t cap, size_t *out_len,
    struct smpp_reasm_event *ev)
{
	if (ev)
		ev->reason = SMPP_REASM_NONE;
	src = src ? src : "", dst = dst ? dst : "";
	int rc = check_part(src, dst, c, len);
	if (rc < 0)
		return rc;
	if (c->total == 1)
		return complete_single(body, len, out, cap, out_len);
	struct smpp_reasm_group *g = group_find(t, src, dst, c);
	if (g && g->slot[c->seq - 1])
		return SMPP_REASM_DUP;
	if (!g) {
		g = group_new(t, ev);
		group_init(g, src, dst, c, now);
	}
	if (t->nfree == 0) {
		struct smpp_reasm_group *old = group_oldest(t, g);
		if (!old) {
			/* a new group holds no slot, so this g is not new */
			return SMPP_SEG_ENOSPC;
		}
		evict(t, old, ev);
	}
	size_t s = slot_take(t);
	t->slots[s - 1].len = (uint8_t)len;
	if (len)
		memcpy(t->slots[s - 1].data, body, len);
	g->slot[c->seq - 1] = (uint16_t)s;
	g->have++;
	if (g->have < g->total)
		return SMPP_REASM_STORED;
	return group_finish(t, g, out, cap, out_len);
}

/* now - first >= timeout, without overflow for any int64 inputs. */
static int due(int64_t first, int64_t now, int64_t timeout)
{
	return now >= first &&
	    (uint64_t)now - (uint64_t)first >= (uint64_t)timeout;
}

int smpp_reasm_expire(struct smpp_reasm *t, int64_t now,
    struct smpp_reasm_event *ev)
{
	for (size_t i = 0; i < t->ngroups; i++) {
		struct smpp_reasm_group *g = &t->groups[i];
		if (g->have && due(g->first, now, t->timeout)) {
			event_fill(ev, SMPP_REASM_EXPIRED, g);
			group_drop(t, g);
			return 1;
		}
	}
	return 0;
}

size_t smpp_reasm_pending(const struct smpp_reasm *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->ngroups; i++)
		n += t->groups[i].have != 0;
	return n;
}
