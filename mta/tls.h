/*
 * TLS on OpenSSL for smppd's listeners and carrier binds, and for smppsim.
 *
 * A context is built once per listener or carrier from its struct
 * config_tls; each connection then gets its own SSL from it, which the
 * caller hands to bufferevent_openssl (which owns it from then on).
 *
 * What is always enforced, whatever the configuration says:
 *   - TLS 1.2 at least (min_version may raise it to 1.3);
 *   - towards a server (carrier), its certificate chain is verified, against
 *     `ca` or the system store; verify_host adds the host name (or IP
 *     address) check against the configured host;
 *   - a private key file readable by everyone is refused, like the other
 *     secrets of the configuration.
 * On a server, `ca` makes clients' certificates verified when they send
 * one, and require_client_cert makes the handshake fail without one.
 *
 * Errors are returned as text in ERR ("cert /etc/x.pem: ...: no start line")
 * so that both the daemon's log and smppsim's stderr can print them.
 */
#ifndef SMPPD_MTA_TLS_H
#define SMPPD_MTA_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "mta/config.h"

struct ssl_ctx_st;
struct ssl_st;
struct bufferevent;

/* A context for accepting (listener) or connecting (carrier).  NULL with
 * ERR set on a missing/bad file or an unknown cipher list. */
struct ssl_ctx_st *tls_server_ctx(const struct config_tls *t, char *err, size_t cap);
struct ssl_ctx_st *tls_client_ctx(const struct config_tls *t, char *err, size_t cap);
void tls_ctx_free(struct ssl_ctx_st *ctx);

/* A connection's SSL.  HOST (a name or a numeric address) is sent as SNI
 * where it is a name and, when VERIFY_HOST, is what the peer's certificate
 * must name.  NULL with ERR set. */
struct ssl_st *tls_client_ssl(struct ssl_ctx_st *ctx, const char *host, bool verify_host,
    char *err, size_t cap);
struct ssl_st *tls_server_ssl(struct ssl_ctx_st *ctx, char *err, size_t cap);

/*
 * The peer's certificate after the handshake: 1 if it sent one and it
 * verified (and, when NAME is not NULL, it names NAME as its common name or
 * a DNS subject alternative name, exactly: no wildcards), else 0.
 */
int tls_peer_verified(struct ssl_st *ssl, const char *name);

/* "TLSv1.3/TLS_AES_256_GCM_SHA384 peer_cn=app1" for a log line. */
const char *tls_describe(struct ssl_st *ssl, char *out, size_t cap);

/* Why a TLS bufferevent failed: the first OpenSSL error and, when the
 * peer's certificate was refused, the verification error.  Drains the
 * bufferevent's error queue.  "" if nothing is known. */
const char *tls_bev_error(struct bufferevent *bev, char *out, size_t cap);

#endif
