#include "mta/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOGL_INFO;
static int to_syslog;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

#define LINE_MAX_BYTES 2304	/* the prefix and a 2048-byte body */
static char pending[64 * 1024];
static size_t pending_len;
static void (*flush_hook)(void *arg);
static void *flush_arg;

/* All of it, or as much as stderr takes: a log line is never worth dying for. */
static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void log_flush(void)
{
	write_all(pending, pending_len);
	pending_len = 0;
}

void log_buffer(void (*hook)(void *arg), void *arg)
{
	log_flush();
	flush_hook = hook;
	flush_arg = arg;
}

static void emit(enum log_level level, const char *line, size_t n)
{
	if (!flush_hook) {
		write_all(line, n);
		return;
	}
	if (n > sizeof pending - pending_len)
		log_flush();
	if (pending_len == 0 && level < LOGL_WARN)
		flush_hook(flush_arg);
	memcpy(pending + pending_len, line, n);
	pending_len += n;
	if (level >= LOGL_WARN)
		log_flush();
}

void log_init(enum log_level min, int use_syslog, const char *ident)
{
	min_level = min;
	to_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int log_parse_level(const char *name, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int log_enabled(enum log_level level)
{
	return level >= min_level;
}

static int syslog_priority(enum log_level level)
{
	static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };
	return prio[level];
}

void log_msg(enum log_level level, const char *cat, const char *fmt, ...)
{
	if (level < min_level)
		return;
	char body[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	if (to_syslog) {
		syslog(syslog_priority(level), "level=%s cat=%s %s", level_names[level], cat, body);
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char line[LINE_MAX_BYTES];
	int n = snprintf(line, sizeof line,
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s cat=%s %s\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], cat, body);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line) {	/* cut, but still a line */
		n = sizeof line - 1;
		line[n - 1] = '\n';
	}
	emit(level, line, (size_t)n);
}

static int plain_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '=';
}

const char *log_quote(const void *value, size_t len, char *out, size_t cap)
{
	const unsigned char *v = value;
	size_t i, o = 0;
	if (cap == 0)
		return out;
	int plain = len > 0;
	for (i = 0; i < len && plain; i++)
		plain = plain_char(v[i]);
	if (plain) {
		size_t n = len < cap - 1 ? len : cap - 1;
		memcpy(out, v, n);
		out[n] = 0;
		return out;
	}
	if (o + 1 < cap)
		out[o++] = '"';
	for (i = 0; i < len && o + 5 < cap; i++) {
		if (v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"' && v[i] != '\\')
			out[o++] = (char)v[i];
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", v[i]);
	}
	if (o + 1 < cap)
		out[o++] = '"';
	out[o < cap ? o : cap - 1] = 0;
	return out;
}
