/*
 * A minimal TAP producer for unit tests.  Each CHECK is one TAP line;
 * meson runs the binary with protocol 'tap' and counts failures.
 *
 *   static void test_x(void) { CHECK(1 + 1 == 2); CHECK_EQ_INT(a, b); }
 *   int main(void) { RUN(test_x); return unit_done(); }
 */
#ifndef SMPPD_TESTS_UNIT_H
#define SMPPD_TESTS_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_count;
static int unit_failed;
static const char *unit_current = "";

static inline int unit_report(int ok, const char *file, int line,
    const char *expr)
{
	unit_count++;
	if (ok) {
		printf("ok %d - %s: %s\n", unit_count, unit_current, expr);
	} else {
		unit_failed++;
		printf("not ok %d - %s: %s (%s:%d)\n", unit_count, unit_current,
		    expr, file, line);
	}
	return ok;
}

#define CHECK(cond) unit_report(!!(cond), __FILE__, __LINE__, #cond)

#define CHECK_EQ_INT(a, b) do { \
	long long unit_a_ = (long long)(a), unit_b_ = (long long)(b); \
	if (!unit_report(unit_a_ == unit_b_, __FILE__, __LINE__, #a " == " #b)) \
		printf("#   got %lld (0x%llx), want %lld (0x%llx)\n", unit_a_, \
		    (unsigned long long)unit_a_, unit_b_, (unsigned long long)unit_b_); \
} while (0)

#define CHECK_EQ_STR(a, b) do { \
	const char *unit_a_ = (a), *unit_b_ = (b); \
	int unit_ok_ = unit_a_ && unit_b_ && strcmp(unit_a_, unit_b_) == 0; \
	if (!unit_report(unit_ok_, __FILE__, __LINE__, #a " == " #b)) \
		printf("#   got \"%s\", want \"%s\"\n", unit_a_ ? unit_a_ : "(null)", \
		    unit_b_ ? unit_b_ : "(null)"); \
} while (0)

#define CHECK_EQ_MEM(a, b, n) do { \
	size_t unit_n_ = (n); \
	int unit_ok_ = memcmp((a), (b), unit_n_) == 0; \
	if (!unit_report(unit_ok_, __FILE__, __LINE__, "memcmp(" #a ", " #b ")")) \
		unit_hexdiff((const unsigned char *)(a), (const unsigned char *)(b), unit_n_); \
} while (0)

static inline void unit_hexdiff(const unsigned char *a, const unsigned char *b,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i]) {
			printf("#   first difference at byte %zu: got 0x%02x, want 0x%02x\n",
			    i, a[i], b[i]);
			return;
		}
	}
}

#define RUN(fn) do { unit_current = #fn; fn(); } while (0)

static inline int unit_done(void)
{
	printf("1..%d\n", unit_count);
	if (unit_count == 0) {
		printf("# no checks ran\n");
		return 1;
	}
	return unit_failed ? 1 : 0;
}

#endif
