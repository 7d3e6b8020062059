/*
 * External policy hooks: the request and response texts.  The protocol
 * is Postfix policy delegation's: "name=value" lines, an empty line ends
 * the request; the hook answers "action=..." and an empty line.  The
 * daemon owns the socket, the timeout and the on_timeout action.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/impl.h"

struct out {
	char *buf;
	size_t cap, len;
	int overflow;
};

static void put_byte(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	else
		o->overflow = 1;
	o->len++;
}

/* Values may not break the line structure: '%' and control bytes are
 * written %XX so any text survives the round trip. */
static void put_attr(struct out *o, const char *name, const char *val,
    size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const char *c = name; *c; c++)
		put_byte(o, *c);
	put_byte(o, '=');
	for (size_t i = 0; val && i < len; i++) {
		unsigned char c = (unsigned char)val[i];
		if (c == '%' || c < 0x20 || c == 0x7f) {
			put_byte(o, '%');
			put_byte(o, hex[c >> 4]);
			put_byte(o, hex[c & 15]);
		} else {
			put_byte(o, (char)c);
		}
	}
	put_byte(o, '\n');
}

static void put_str(struct out *o, const char *name, const char *val)
{
	put_attr(o, name, val, val ? strlen(val) : 0);
}

int policy_hook_request_format(char *buf, size_t cap, const char *token,
    const struct policy_msg *msg, const struct policy_verdict *v)
{
	struct out o = { buf, cap, 0, 0 };
	char num[16];
	put_str(&o, "request", "smpp_policy");
	put_str(&o, "protocol_version", "1");
	put_str(&o, "token", token);
	put_str(&o, "account", msg->account);
	put_str(&o, "sender", msg->source);
	put_str(&o, "recipient", msg->destination);
	put_str(&o, "campaign", v->campaign);
	put_str(&o, "brand", v->brand);
	put_str(&o, "use_case", v->use_case);
	put_str(&o, "recipient_state", v->state);
	snprintf(num, sizeof(num), "%u", v->segments);
	put_str(&o, "segments", num);
	put_attr(&o, "text", v->text, v->text_len);
	put_byte(&o, '\n');
	if (o.overflow || cap == 0)
		return -1;
	buf[o.len] = '\0';
	return (int)o.len;
}

static int parse_action(const char *val, size_t len,
    enum policy_action *action, char *text, size_t textcap)
{
	static const struct { const char *w; enum policy_action a; } words[] = {
		{ "accept", POLICY_ACCEPT }, { "ok", POLICY_ACCEPT },
		{ "dunno", POLICY_ACCEPT }, { "reject", POLICY_REJECT },
		{ "defer", POLICY_DEFER },
	};
	size_t wl = 0;
	while (wl < len && val[wl] != ' ' && val[wl] != '\t')
		wl++;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i].w) != wl || strncasecmp(val, words[i].w, wl))
			continue;
		*action = words[i].a;
		while (wl < len && (val[wl] == ' ' || val[wl] == '\t'))
			wl++;
		if (textcap)
			snprintf(text, textcap, "%.*s", (int)(len - wl), val + wl);
		return 0;
	}
	return -1;
}

int policy_hook_response_parse(const char *buf, size_t len,
    enum policy_action *action, char *text, size_t textcap)
{
	int found = -1;
	for (size_t i = 0; i < len; ) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - buf) : len;
		size_t ll = end - i;
		if (ll && buf[end - 1] == '\r')
			ll--;
		if (ll == 0)
			break;  /* the empty line ends the response */
		const char *eq = memchr(buf + i, '=', ll);
		if (eq == NULL)
			return -1;
		size_t nl_name = (size_t)(eq - (buf + i));
		if (nl_name == 6 && memcmp(buf + i, "action", 6) == 0) {
			if (parse_action(eq + 1, ll - nl_name - 1, action, text,
			    textcap) < 0)
				return -1;
			found = 0;
		}
		i = end + 1;
	}
	return found;
}

long policy_hook_response_length(const char *buf, size_t len, size_t max)
{
	/* Line by line: a response ends at its first empty line, with or
	 * without CR, so "\n\n" inside one line pair is all that counts. */
	size_t start = 0;
	while (start < len) {
		const char *nl = memchr(buf + start, '\n', len - start);
		if (nl == NULL)
			break;
		size_t end = (size_t)(nl - buf);
		size_t ll = end - start;
		if (ll == 0 || (ll == 1 && buf[start] == '\r'))
			return end + 1 > max ? -1 : (long)(end + 1);
		start = end + 1;
	}
	return len >= max ? -1 : 0;
}

static int copy_part(char *dst, size_t cap, const char *s, size_t n)
{
	if (n == 0 || n >= cap)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* "host:port" or "[v6]:port"; the port all digits, 1..65535. */
static int split_tcp(const char *s, char *host, size_t hostcap, char *port,
    size_t portcap)
{
	const char *colon, *h = s;
	size_t hl;
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)))
			return -1;  /* a bare v6 address needs brackets */
		hl = (size_t)(colon - s);
	}
	const char *p = colon + 1;
	size_t pl = strlen(p);
	if (pl == 0 || pl > 5 || strspn(p, "0123456789") != pl || atoi(p) < 1
	    || atoi(p) > 65535)
		return -1;
	if (copy_part(host, hostcap, h, hl) < 0)
		return -1;
	return copy_part(port, portcap, p, pl);
}

int policy_hook_address_split(const char *address,
    enum policy_hook_family *family, char *host, size_t hostcap,
    char *port, size_t portcap)
{
	if (address == NULL || portcap == 0)
		return -1;
	if (strncmp(address, "unix:", 5) == 0) {
		const char *path = address + 5;
		*family = POLICY_HOOK_UNIX;
		port[0] = '\0';
		/* sun_path holds 108 bytes on Linux, fewer elsewhere */
		if (path[0] != '/' || strlen(path) >= 104)
			return -1;
		return copy_part(host, hostcap, path, strlen(path));
	}
	if (strncmp(address, "tcp:", 4) == 0) {
		*family = POLICY_HOOK_TCP;
		return split_tcp(address + 4, host, hostcap, port, portcap);
	}
	return -1;
}
