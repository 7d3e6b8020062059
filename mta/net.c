#include "mta/net.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int split_host_port(const char *text, char *host, size_t hostcap,
    const char **port)
{
	const char *colon;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':')
			return -1;
		colon = close + 1;
		size_t n = (size_t)(close - text - 1);
		if (n >= hostcap)
			return -1;
		memcpy(host, text + 1, n);
		host[n] = 0;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -1;
		size_t n = (size_t)(colon - text);
		if (n >= hostcap)
			return -1;
		memcpy(host, text, n);
		host[n] = 0;
	}
	*port = colon + 1;
	return 0;
}

int net_parse_addr(const char *text, struct sockaddr_storage *out, socklen_t *len,
    char *err, size_t errcap)
{
	char host[256];
	const char *port;
	if (split_host_port(text, host, sizeof host, &port) != 0) {
		snprintf(err, errcap, "address \"%s\" is not host:port", text);
		return -1;
	}
	char *end;
	long p = strtol(port, &end, 10);
	if (*port == 0 || *end != 0 || p < 0 || p > 65535) {
		snprintf(err, errcap, "address \"%s\": port must be 0-65535", text);
		return -1;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errcap, "address \"%s\": %s", text, gai_strerror(rc));
		return -1;
	}
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

const char *net_format_addr(const struct sockaddr *sa, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		port = ntohs(in->sin_port);
		snprintf(out, cap, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		port = ntohs(in6->sin6_port);
		snprintf(out, cap, "[%s]:%d", host, port);
	} else {
		snprintf(out, cap, "unix");
	}
	return out;
}

int net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}
