/*
 * The failed-bind limiter on a simulated clock: the threshold, the window,
 * the block and its end, per address (IPv6 per /64), and a table that stays
 * its size under a flood of addresses without forgetting who is blocked.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/un.h>

#include "mta/guard.h"
#include "tests/unit.h"

static struct sockaddr_storage v4(const char *a)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	in->sin_family = AF_INET;
	inet_pton(AF_INET, a, &in->sin_addr);
	return ss;
}

static struct sockaddr_storage v6(const char *a)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
	in->sin6_family = AF_INET6;
	inet_pton(AF_INET6, a, &in->sin6_addr);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static const struct guard_config cfg5 = { 5, 60000, 10000, 64 };

static void test_threshold_and_block(void)
{
	struct guard *g = guard_new(&cfg5);
	struct sockaddr_storage a = v4("192.0.2.1"), b = v4("192.0.2.2");
	uint64_t until = 0;
	unsigned n = 0;
	for (int i = 0; i < 4; i++)
		n = guard_failure(g, SA(a), 1000 + (uint64_t)i);
	CHECK_EQ_INT(n, 4);
	CHECK(!guard_blocked(g, SA(a), 1010, NULL));
	n = guard_failure(g, SA(a), 1010);
	CHECK_EQ_INT(n, 5 | GUARD_BLOCKED_NOW);     /* the fifth starts the block */
	CHECK(guard_blocked(g, SA(a), 1011, &until));
	CHECK_EQ_INT(until, 11010);
	CHECK(!guard_blocked(g, SA(b), 1011, NULL)); /* only that address */
	CHECK(guard_blocked(g, SA(a), 11009, NULL));
	CHECK(!guard_blocked(g, SA(a), 11010, NULL)); /* the block ends */
	guard_free(g);
}

static void test_window(void)
{
	struct guard *g = guard_new(&cfg5);
	struct sockaddr_storage a = v4("198.51.100.7");
	/* four failures a minute apart never add up to five in a window */
	for (uint64_t t = 0; t < 10; t++)
		CHECK(!(guard_failure(g, SA(a), t * 61000) & GUARD_BLOCKED_NOW));
	CHECK(!guard_blocked(g, SA(a), 10 * 61000, NULL));
	guard_free(g);
}

static void test_ipv6_per_64(void)
{
	struct guard *g = guard_new(&cfg5);
	struct sockaddr_storage a = v6("2001:db8:1:2::1"), b = v6("2001:db8:1:2:ffff::9"),
	    c = v6("2001:db8:1:3::1");
	for (int i = 0; i < 3; i++)
		guard_failure(g, SA(a), 100);
	CHECK(guard_failure(g, SA(b), 100) == 4);  /* same /64: one counter */
	CHECK(guard_failure(g, SA(b), 100) & GUARD_BLOCKED_NOW);
	CHECK(guard_blocked(g, SA(a), 101, NULL));
	CHECK(!guard_blocked(g, SA(c), 101, NULL));
	guard_free(g);
}

static void test_off_and_other_families(void)
{
	struct guard_config off = cfg5;
	off.failures = 0;
	struct guard *g = guard_new(&off);
	struct sockaddr_storage a = v4("192.0.2.1");
	for (int i = 0; i < 100; i++)
		guard_failure(g, SA(a), 5);
	CHECK(!guard_blocked(g, SA(a), 6, NULL));
	guard_free(g);

	g = guard_new(&cfg5);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	for (int i = 0; i < 10; i++)
		CHECK_EQ_INT(guard_failure(g, (const struct sockaddr *)&un, 5), 0);
	CHECK(!guard_blocked(g, (const struct sockaddr *)&un, 6, NULL));
	CHECK(!guard_blocked(NULL, SA(a), 6, NULL));
	guard_free(g);
	guard_free(NULL);
}

static void test_bounded_under_flood(void)
{
	struct guard *g = guard_new(&cfg5);
	struct sockaddr_storage bad = v4("203.0.113.66");
	for (int i = 0; i < 5; i++)
		guard_failure(g, SA(bad), 10);
	CHECK(guard_blocked(g, SA(bad), 11, NULL));
	/* 100,000 addresses failing once each, as a botnet would */
	for (uint32_t i = 0; i < 100000; i++) {
		struct sockaddr_storage ss = { 0 };
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(0x0a000000u + i);
		guard_failure(g, SA(ss), 20 + i / 1000);
	}
	CHECK(guard_used(g, 200) <= 64);
	CHECK(guard_blocked(g, SA(bad), 200, NULL)); /* blocked entries are evicted last */
	guard_free(g);
}

int main(void)
{
	srandom(1);
	RUN(test_threshold_and_block);
	RUN(test_window);
	RUN(test_ipv6_per_64);
	RUN(test_off_and_other_families);
	RUN(test_bounded_under_flood);
	return unit_done();
}
