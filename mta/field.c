#include "mta/field.h"

#include <string.h>

void copy_field(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

size_t format_uint(char *dst, size_t cap, uint64_t v, unsigned base)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[64];
	size_t len = 0, n;
	do {
		tmp[len++] = digits[v % base];
		v /= base;
	} while (v);
	n = len < cap - 1 ? len : cap - 1;
	for (size_t i = 0; i < n; i++)	/* the leading digits when cut */
		dst[i] = tmp[len - 1 - i];
	dst[n] = '\0';
	return n;
}
