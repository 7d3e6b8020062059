/*
 * Receipt text from arbitrary bytes.  Whatever parses must survive a
 * format and re-parse with its key fields intact, and every id key must
 * stay NUL-terminated within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smpp/receipt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_date(const struct smpp_receipt_time *a,
    const struct smpp_receipt_time *b)
{
	/* format writes YYMMDDhhmm: the century and seconds are not kept */
	if (a->valid != b->valid || (a->valid && (a->year % 100 != b->year % 100 ||
	    a->month != b->month || a->day != b->day || a->hour != b->hour ||
	    a->minute != b->minute)))
		abort();
}

static void round_trip(const struct smpp_receipt *a)
{
	char buf[256];
	struct smpp_receipt b;

	int n = smpp_receipt_format(a, buf, sizeof buf);
	if (n < 0 || (size_t)n >= sizeof buf)
		abort(); /* id <= 64 and raw fields <= 15: always fits */
	if (smpp_receipt_parse(buf, (size_t)n, &b) != SMPP_RECEIPT_OK)
		abort();
	if (strcmp(a->id, b.id) != 0 || a->stat != b.stat)
		abort();
	if (a->stat == SMPP_STAT_OTHER && strcmp(a->stat_raw, b.stat_raw) != 0)
		abort();
	if (a->err_raw[0] && a->err != b.err)
		abort();
	if (a->sub >= 0 && a->sub != b.sub)
		abort();
	same_date(&a->submit_date, &b.submit_date);
	same_date(&a->done_date, &b.done_date);
	size_t want = a->text_len < SMPP_RECEIPT_TEXT_MAX ? a->text_len :
	    SMPP_RECEIPT_TEXT_MAX;
	/* trailing NULs of the text are dropped on the way back in */
	if (!b.text || b.text_len > want || memcmp(a->text, b.text, b.text_len))
		abort();
}

static void check_key(int n, const char *out, size_t cap)
{
	if (memchr(out, '\0', cap) == NULL)
		abort();
	if (n >= 0 && strlen(out) != ((size_t)n < cap ? (size_t)n : cap - 1))
		abort();
}

/* Every mode and side, into a roomy buffer and a tight one. */
static void keys(const char *id, size_t len)
{
	char big[128], small[5];

	check_key(smpp_msgid_normalize(id, len, big, sizeof big), big, sizeof big);
	for (int m = SMPP_MSGID_AS_IS; m <= SMPP_MSGID_AUTO; m++) {
		for (int s = SMPP_MSGID_RESP; s <= SMPP_MSGID_RECEIPT; s++) {
			int n = smpp_msgid_key(m, s, id, len, big, sizeof big);
			check_key(n, big, sizeof big);
			check_key(smpp_msgid_key(m, s, id, len, small, sizeof small),
			    small, sizeof small);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smpp_receipt r;
	const char *s = (const char *)data;

	int rc = smpp_receipt_parse(s, size, &r);
	if (rc == SMPP_RECEIPT_OK)
		round_trip(&r);
	if (r.id[0])
		keys(r.id, strlen(r.id));
	keys(s, size);
	return 0;
}
