/*
 * Addresses and sockets for listeners and outbound binds.
 */
#ifndef SMPPD_MTA_NET_H
#define SMPPD_MTA_NET_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Parse "host:port", "[v6]:port" or ":port" into a socket address.  Host
 * names are resolved (blocking: start-up and reconnect only).  Returns 0 or
 * -1 with a message in err.
 */
int net_parse_addr(const char *text, struct sockaddr_storage *out, socklen_t *len,
    char *err, size_t errcap);

/* "1.2.3.4:5" or "[::1]:5" into out. */
const char *net_format_addr(const struct sockaddr *sa, char *out, size_t cap);

/* Port of a bound socket, or -1. */
int net_local_port(int fd);

#endif
