/*
 * One sample of every PDU the codec writes, with the standard TLVs worth
 * seeing on the wire.  Shared by the unit tests, the interop suites (tshark,
 * node smpp), the fuzz seed corpus and the benchmarks.
 */
#ifndef SMPPD_TESTS_SAMPLES_H
#define SMPPD_TESTS_SAMPLES_H

#include <stddef.h>
#include "smpp/pdu.h"

size_t sample_count(void);

/*
 * Fill *pdu with sample i (0 <= i < sample_count()).  TLV integers live in
 * *store, which must outlive any encode of *pdu.  Returns a short name.
 */
const char *sample_build(size_t i, struct smpp_pdu *pdu, struct smpp_tlv_store *store);

#endif
