/*
 * The store's own encodings beside the public record (store.h): the status
 * a message takes after it is stored.  Only store/ includes this.
 */
#ifndef SMPPD_STORE_RECORD_H
#define SMPPD_STORE_RECORD_H

#include "store/store.h"

/* The status's fixed part, and the largest encoding: fixed part, carrier,
 * carrier ids. */
#define STORE_STATUS_FIXED 26
#define STORE_STATUS_MAX (STORE_STATUS_FIXED + 2 + STORE_STR_MAX + 1 + 2 + STORE_CARRIER_IDS_MAX)

/*
 * Encodes what changes after enqueue (state, attempts, last error, due
 * time, update time, carrier and carrier ids) into buf; *len its size.
 * -E2BIG if a field is too long or buf too small.
 */
int store_status_encode(const struct store_msg *m, void *buf, size_t bufsz,
    size_t *len);

/*
 * Lays a status over a decoded record: its fields replace the record's,
 * and the carrier strings point into buf.  STORE_ECORRUPT on any
 * inconsistency, leaving m as it was.
 */
int store_status_overlay(const void *buf, size_t len, struct store_msg *m);

#endif
