/*
 * External policy hooks: the request and response texts.  The protocol
 * is Postfix policy delegation's: "name=value" lines, an empty line ends
 * the request; the hook answers "action=..." and an empty line.  The
 * daemon owns the socket, the timeout and the on_timeout action.
 */
#include <stdio.h>
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
