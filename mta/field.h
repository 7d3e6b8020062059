/*
 * Fixed-size text fields: a string copied in, cut to fit.  Per message on
 * the hot paths of smppd and smppsim, where snprintf("%s") showed in the
 * profiles for its format parsing.
 */
#ifndef SMPPD_MTA_FIELD_H
#define SMPPD_MTA_FIELD_H

#include <stddef.h>
#include <stdint.h>

/* src (NULL: empty) into dst[cap], cut to fit, always terminated. */
void copy_field(char *dst, size_t cap, const char *src);

/* v in base 10 or 16 (lower case) into dst[cap], cut to fit like
 * copy_field; returns the length written. */
size_t format_uint(char *dst, size_t cap, uint64_t v, unsigned base);

#endif
