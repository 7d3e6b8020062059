/*
 * Tables of megabytes that are read at random, once or twice per message
 * (the compliance cache, the carrier-id map, the recent receipts' ring).
 * On a virtual machine a TLB miss costs a two-level page walk; with
 * transparent huge pages in "madvise" mode (Debian's default) the kernel
 * backs such a table with 2 MiB pages only when asked.
 */
#ifndef SMPPD_MTA_HUGEMEM_H
#define SMPPD_MTA_HUGEMEM_H

#include <stddef.h>

/* calloc(n, size), asking for huge pages when it spans several; free()
 * frees it.  The hint is best effort: refused, the memory is the same. */
void *huge_calloc(size_t n, size_t size);

/* The hint alone, for the whole 2 MiB pages inside [p, p + bytes): to be
 * given before the memory is first touched. */
void huge_hint(void *p, size_t bytes);

#endif
