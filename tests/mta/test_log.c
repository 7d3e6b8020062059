/*
 * log: lines as written, and the buffering a daemon's loop asks for (info
 * waits for log_flush, a warning takes what waited with it, a full buffer
 * writes itself out).  stderr goes to a temporary file the test reads.
 */
#include "tests/unit.h"
#include "mta/log.h"

#include <stdlib.h>
#include <unistd.h>

static int out_fd = -1;
static int hooks;

static void count_hook(void *arg)
{
	(*(int *)arg)++;	/* the argument given with the hook */
}

/* What stderr got since the last call. */
static size_t take_output(char *buf, size_t cap)
{
	off_t end = lseek(out_fd, 0, SEEK_END);
	ssize_t n = pread(out_fd, buf, cap - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	if (ftruncate(out_fd, 0) != 0 || lseek(out_fd, 0, SEEK_SET) != 0)
		return 0;
	return end > 0 ? (size_t)end : 0;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_unbuffered(void)
{
	static char buf[4096];

	log_info("t", "event=one n=%d", 1);
	take_output(buf, sizeof buf);
	CHECK(strstr(buf, " level=info cat=t event=one n=1\n") != NULL);
	CHECK(buf[4] == '-' && buf[10] == 'T' && strstr(buf, "Z level=") != NULL);
	log_debug("t", "event=hidden");	/* below the level */
	CHECK_EQ_INT(take_output(buf, sizeof buf), 0);
}

static void test_buffered(void)
{
	static char buf[1 << 18];

	hooks = 0;
	log_buffer(count_hook, &hooks);
	log_info("t", "event=a");
	log_info("t", "event=b");
	CHECK_EQ_INT(hooks, 1);	/* once, for the first line waiting */
	CHECK_EQ_INT(take_output(buf, sizeof buf), 0);
	log_flush();
	take_output(buf, sizeof buf);
	CHECK(strstr(buf, "event=a\n") != NULL && strstr(buf, "event=b\n") != NULL);
	CHECK(strstr(buf, "event=a") < strstr(buf, "event=b"));

	log_info("t", "event=c");
	log_warn("t", "event=w");	/* at once, after what waited */
	CHECK_EQ_INT(hooks, 2);
	take_output(buf, sizeof buf);
	CHECK_EQ_INT(count_lines(buf), 2);
	CHECK(strstr(buf, "event=c") != NULL && strstr(buf, "event=c") < strstr(buf, "event=w"));

	log_buffer(NULL, NULL);
	log_info("t", "event=after");
	take_output(buf, sizeof buf);
	CHECK(strstr(buf, "event=after\n") != NULL);
}

static void test_fill_keeps_every_line(void)
{
	static char buf[1 << 19];
	size_t total, lines;

	/* more than the buffer holds: written out as it fills */
	log_buffer(count_hook, &hooks);
	for (int i = 0; i < 2000; i++)
		log_info("t", "event=fill i=%d pad=%0100d", i, 0);
	total = take_output(buf, sizeof buf);
	CHECK(total > 32 * 1024);	/* before any flush */
	log_buffer(NULL, NULL);	/* flushes the rest */
	total += take_output(buf + strlen(buf), sizeof buf - strlen(buf));
	lines = count_lines(buf);
	CHECK(total == strlen(buf));
	CHECK_EQ_INT(lines, 2000);
	CHECK(strstr(buf, "event=fill i=1999 ") != NULL);
	/* a body longer than a line holds is cut, and still ends the line */
	static char big[4000];
	memset(big, 'x', sizeof big - 1);
	log_info("t", "event=big v=%s", big);
	take_output(buf, sizeof buf);
	CHECK_EQ_INT(count_lines(buf), 1);
	CHECK(buf[strlen(buf) - 1] == '\n');
}

int main(void)
{
	char path[] = "/tmp/log-test-XXXXXX";

	out_fd = mkstemp(path);
	if (out_fd < 0 || dup2(out_fd, STDERR_FILENO) < 0)
		return 1;
	unlink(path);
	log_init(LOGL_INFO, 0, "test");
	RUN(test_unbuffered);
	RUN(test_buffered);
	RUN(test_fill_keeps_every_line);
	return unit_done();
}
