/*
 * peer: the codec on a real TCP socket, for the node smpp interop test.
 * A test tool, not part of smpp/ (which has no sockets).
 *
 *   peer client PORT   connect to 127.0.0.1:PORT, write every sample request
 *                      PDU, read one response for each request that has one,
 *                      print "resp <decoded>" per response, close
 *   peer server        listen on 127.0.0.1 (port chosen by the kernel), print
 *                      "port N", accept one connection, answer every request
 *                      with a codec-encoded response (printing "req
 *                      <decoded>"), stop after unbind or when the peer closes
 *
 * Every wait is bounded (poll timeouts and an alarm), so a silent peer ends
 * the program with an error instead of hanging the test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smpp/pdu.h"
#include "tests/smpp/samples.h"

#define IO_TIMEOUT_MS 10000
#define OVERALL_TIMEOUT_S 60

static struct smpp_pdu pdu;
static uint8_t inbuf[1 << 17];
static size_t inlen;

static void die(const char *what)
{
	fprintf(stderr, "peer: %s: %s\n", what, errno ? strerror(errno) : "failed");
	exit(1);
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

/* Reads the next PDU into pdu; returns 0, or -1 when the peer closed cleanly
 * between PDUs. */
static int read_pdu(int fd)
{
	struct smpp_error err;
	for (;;) {
		long n = smpp_frame(inbuf, inlen, NULL, &err);
		if (n < 0) {
			fprintf(stderr, "peer: framing: %s: %s\n", err.field, err.reason);
			exit(1);
		}
		if (n > 0) {
			if (smpp_pdu_decode(inbuf, (size_t)n, NULL, &pdu, &err) != 0) {
				fprintf(stderr, "peer: decode: %s: %s (status 0x%08x)\n", err.field,
				    err.reason, err.status);
				exit(1);
			}
			return (int)n;
		}
		struct pollfd pfd = { fd, POLLIN, 0 };
		int pr = poll(&pfd, 1, IO_TIMEOUT_MS);
		if (pr == 0) {
			errno = ETIMEDOUT;
			die("waiting for a PDU");
		}
		if (pr < 0 && errno != EINTR)
			die("poll");
		if (pr < 0)
			continue;
		ssize_t r = read(fd, inbuf + inlen, sizeof inbuf - inlen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read");
		if (r == 0) {
			if (inlen == 0)
				return -1;
			errno = 0;
			die("connection closed inside a PDU");
		}
		inlen += (size_t)r;
	}
}

static void consume(int n)
{
	memmove(inbuf, inbuf + n, inlen - (size_t)n);
	inlen -= (size_t)n;
}

static void print_pdu(const char *tag)
{
	static char line[1 << 16];
	smpp_pdu_format(&pdu, line, sizeof line);
	printf("%s %s\n", tag, line);
	fflush(stdout);
}

static int client(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		die("connect");

	static struct smpp_pdu req;
	static struct smpp_tlv_store store;
	static uint8_t out[1 << 16];
	unsigned expect = 0;
	for (size_t i = 0; i < sample_count(); i++) {
		struct smpp_error err;
		sample_build(i, &req, &store);
		if (SMPP_IS_RESP(req.command_id))
			continue;
		long n = smpp_pdu_encode(&req, out, sizeof out, &err);
		if (n < 0 || (size_t)n > sizeof out)
			die("encode");
		write_all(fd, out, (size_t)n);
		if (smpp_resp_id(req.command_id) != SMPP_GENERIC_NACK)
			expect++;
	}
	for (unsigned got = 0; got < expect; got++) {
		int n = read_pdu(fd);
		if (n < 0) {
			errno = 0;
			die("connection closed before every response came");
		}
		print_pdu("resp");
		consume(n);
	}
	close(fd);
	return 0;
}

static void answer(int fd)
{
	static struct smpp_pdu resp;
	static char id[32];
	static uint8_t out[1 << 16];
	struct smpp_error err;

	smpp_pdu_init_resp(&resp, &pdu, SMPP_ESME_ROK);
	snprintf(id, sizeof id, "peer-%u", pdu.sequence_number);
	switch (pdu.command_id) {
	case SMPP_BIND_TRANSMITTER:
	case SMPP_BIND_RECEIVER:
	case SMPP_BIND_TRANSCEIVER:
		resp.system_id = "smppd-peer";
		break;
	case SMPP_SUBMIT_SM:
	case SMPP_DATA_SM:
	case SMPP_SUBMIT_MULTI:
		resp.message_id = id;
		break;
	case SMPP_QUERY_SM:
		resp.message_id = pdu.message_id;
		resp.message_state = SMPP_STATE_DELIVERED;
		break;
	default:
		break;
	}
	long n = smpp_pdu_encode(&resp, out, sizeof out, &err);
	if (n < 0 || (size_t)n > sizeof out)
		die("encode response");
	write_all(fd, out, (size_t)n);
}

static int server(void)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t sl = sizeof sa;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) != 0)
		die("listen");
	printf("port %u\n", ntohs(sa.sin_port));
	fflush(stdout);

	struct pollfd pfd = { ls, POLLIN, 0 };
	if (poll(&pfd, 1, IO_TIMEOUT_MS) != 1) {
		errno = ETIMEDOUT;
		die("waiting for a connection");
	}
	int fd = accept(ls, NULL, NULL);
	if (fd < 0)
		die("accept");
	close(ls);
	for (;;) {
		int n = read_pdu(fd);
		if (n < 0)
			break;
		print_pdu("req");
		uint32_t id = pdu.command_id;
		if (!SMPP_IS_RESP(id) && smpp_resp_id(id) != SMPP_GENERIC_NACK)
			answer(fd);
		consume(n);
		if (id == SMPP_UNBIND)
			break;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	alarm(OVERALL_TIMEOUT_S);
	if (argc == 3 && strcmp(argv[1], "client") == 0)
		return client(atoi(argv[2]));
	if (argc == 2 && strcmp(argv[1], "server") == 0)
		return server();
	fprintf(stderr, "usage: peer client PORT | peer server\n");
	return 2;
}
