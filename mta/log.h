/*
 * Logging: one line per event, key=value, greppable.
 *
 *   log_info("upstream", "event=bind system_id=%s peer=%s", id, peer);
 *
 * prints  2026-11-28T12:00:00.123Z level=info cat=upstream event=bind ...
 * to stderr, or the same text without the time to syslog.  Values that may
 * hold spaces or come from outside go through log_quote() first.  Never
 * pass a password or token.
 */
#ifndef SMPPD_MTA_LOG_H
#define SMPPD_MTA_LOG_H

#include <stddef.h>

enum log_level { LOGL_DEBUG, LOGL_INFO, LOGL_WARN, LOGL_ERROR };

/* ident is used for syslog; use_syslog 0 writes to stderr. */
void log_init(enum log_level min, int use_syslog, const char *ident);
int log_parse_level(const char *name, enum log_level *out);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *cat, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Buffering for a daemon's loop.  Without it every line is one write(2),
 * which at info level is a syscall or two per message.  With hook set,
 * debug and info lines to stderr wait in a buffer (64 KiB) until
 * log_flush(); hook(arg) is called when the first line starts waiting, so that
 * the caller flushes at the end of its loop turn.  A warning or an error
 * flushes at once, with what waited before it.  A kill -9 loses at most
 * the lines of the turn it interrupts.  hook NULL: flush, then one write
 * per line again.  One thread only.
 */
void log_buffer(void (*hook)(void *arg), void *arg);
void log_flush(void);

#define log_debug(cat, ...) \
	do { if (log_enabled(LOGL_DEBUG)) log_msg(LOGL_DEBUG, cat, __VA_ARGS__); } while (0)
#define log_info(cat, ...) log_msg(LOGL_INFO, cat, __VA_ARGS__)
#define log_warn(cat, ...) log_msg(LOGL_WARN, cat, __VA_ARGS__)
#define log_error(cat, ...) log_msg(LOGL_ERROR, cat, __VA_ARGS__)

/*
 * Quote an outside value for a key=value line: printable ASCII without
 * spaces, quotes or backslashes is copied as it is, anything else is put in
 * double quotes with \xNN escapes.  Returns out (always NUL-terminated,
 * truncated to cap).
 */
const char *log_quote(const void *value, size_t len, char *out, size_t cap);

#endif
