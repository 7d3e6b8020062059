/*
 * smppsim: TLS for both modes, on the same code as smppd (mta/tls.h).
 *
 *   smppsim carrier --tls-cert F --tls-key F [--tls-ca F]
 *       a TLS server; with --tls-ca, clients must present a certificate
 *       that chains to it (mutual TLS).
 *   smppsim app --tls-ca F [--tls-cert F --tls-key F]
 *       a TLS client that verifies the server against F and the host of
 *       --connect; with --tls-cert/--tls-key it presents a certificate.
 *
 * The options are taken out of argv before the mode parses its own, so
 * neither mode's option table has to know about them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>

#include "mta/sim.h"
#include "mta/tls.h"

static struct {
	const char *cert, *key, *ca;
	SSL_CTX *ctx;
	int server;
	char host[256];
} g_tls;

/* "--name VALUE" or "--name=VALUE" at argv[*i]: VALUE, else NULL. */
static const char *option_value(int argc, char **argv, int *i, const char *name, int *bad)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != 0)
		return NULL;
	if (*i + 1 >= argc) {
		sim_err("%s needs a file", name);
		*bad = 1;
		return NULL;
	}
	return argv[++*i];
}

int sim_tls_args(int *argc, char **argv)
{
	int out = 1, bad = 0;
	for (int i = 1; i < *argc; i++) {
		const char *v;
		if ((v = option_value(*argc, argv, &i, "--tls-cert", &bad)))
			g_tls.cert = v;
		else if ((v = option_value(*argc, argv, &i, "--tls-key", &bad)))
			g_tls.key = v;
		else if ((v = option_value(*argc, argv, &i, "--tls-ca", &bad)))
			g_tls.ca = v;
		else if (!bad)
			argv[out++] = argv[i];
		if (bad)
			return -1;
	}
	argv[out] = NULL;
	*argc = out;
	return 0;
}

static int host_of(const char *connect, char *out, size_t cap)
{
	const char *end;
	if (connect[0] == '[') {
		connect++;
		end = strchr(connect, ']');
	} else {
		end = strrchr(connect, ':');
	}
	if (!end || (size_t)(end - connect) >= cap)
		return -1;
	memcpy(out, connect, (size_t)(end - connect));
	out[end - connect] = 0;
	return 0;
}

int sim_tls_setup(int server, const char *connect)
{
	if (!g_tls.cert && !g_tls.key && !g_tls.ca)
		return 0;
	if (!g_tls.cert != !g_tls.key) {
		sim_err("--tls-cert and --tls-key go together");
		return -1;
	}
	struct config_tls t = {
		.enabled = true, .cert = (char *)g_tls.cert, .key = (char *)g_tls.key,
		.ca = (char *)g_tls.ca, .require_client_cert = g_tls.ca != NULL, .verify_host = true,
	};
	char err[512];
	if (server && !g_tls.cert) {
		sim_err("carrier: TLS needs --tls-cert and --tls-key");
		return -1;
	}
	if (!server && !g_tls.ca) {
		sim_err("app: TLS needs --tls-ca to verify the server with");
		return -1;
	}
	if (!server && host_of(connect, g_tls.host, sizeof g_tls.host) != 0) {
		sim_err("--connect: no host to verify");
		return -1;
	}
	g_tls.server = server;
	g_tls.ctx = server ? tls_server_ctx(&t, err, sizeof err) : tls_client_ctx(&t, err, sizeof err);
	if (!g_tls.ctx) {
		sim_err("tls: %s", err);
		return -1;
	}
	return 0;
}

struct bufferevent *sim_tls_bev(struct event_base *base, int fd)
{
	if (!g_tls.ctx)
		return bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	char err[256];
	SSL *ssl = g_tls.server ? tls_server_ssl(g_tls.ctx, err, sizeof err) :
	    tls_client_ssl(g_tls.ctx, g_tls.host, true, err, sizeof err);
	if (!ssl) {
		sim_err("tls: %s", err);
		return NULL;
	}
	struct bufferevent *bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    g_tls.server ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

void sim_tls_report(struct bufferevent *bev, const char *peer)
{
	char why[256];
	if (!bufferevent_openssl_get_ssl(bev) || !*tls_bev_error(bev, why, sizeof why))
		return;
	sim_err("tls: %s%s%s", peer && *peer ? peer : "", peer && *peer ? ": " : "", why);
}

void sim_tls_free(void)
{
	tls_ctx_free(g_tls.ctx);
	g_tls.ctx = NULL;
}
