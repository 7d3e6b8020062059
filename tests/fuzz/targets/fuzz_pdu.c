/*
 * PDU decoder: any bytes either decode or fail with a status; what decodes
 * re-encodes to bytes that decode again to the same encoding.
 */
#include <stdlib.h>
#include <string.h>

#include "smpp/pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct smpp_pdu pdu, again;
static uint8_t out[1 << 17], out2[1 << 17];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smpp_error err;
	struct smpp_limits lim = { 1 << 16 };
	long framed = smpp_frame(data, size, &lim, &err);
	if (framed < 0 && err.status == 0)
		abort();
	if (smpp_pdu_decode(data, size, &lim, &pdu, &err) != 0) {
		if (err.status == 0 || !err.field || !err.reason)
			abort();
		return 0;
	}
	char line[4096];
	smpp_pdu_format(&pdu, line, sizeof line);
	long n = smpp_pdu_encode(&pdu, out, sizeof out, &err);
	if (n < 0)
		return 0; /* e.g. TLVs on an error response body we omit */
	if ((size_t)n > sizeof out)
		abort();
	if (smpp_pdu_decode(out, (size_t)n, NULL, &again, &err) != 0)
		abort();
	long n2 = smpp_pdu_encode(&again, out2, sizeof out2, &err);
	if (n2 != n || memcmp(out, out2, (size_t)n) != 0)
		abort();
	return 0;
}
