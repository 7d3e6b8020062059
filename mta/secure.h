/*
 * The relay's security wiring (internal to mta/): a TLS context per TLS
 * listener and per TLS carrier, what an account demands of its session's
 * TLS, and the failed-bind limiter (guard.h) in front of authentication.
 *
 * Contexts are built at start-up (and by `smppd -t`), so a bad certificate
 * or key stops smppd before it listens instead of failing each handshake.
 */
#ifndef SMPPD_MTA_SECURE_H
#define SMPPD_MTA_SECURE_H

#include <stddef.h>
#include <stdint.h>

#include "mta/config.h"

struct relay;
struct conn;
struct carrier_rt;
struct evconnlistener;
struct smpp_session_config;

/* Load every TLS file of CFG once and drop it: `smppd -t`.  0 or -1 with
 * "listeners[N] (NAME).tls: why" in ERR. */
int secure_check(const struct config *cfg, char *err, size_t cap);

/* Contexts and the limiter; logs and returns -1 on failure. */
int secure_init(struct relay *r);
void secure_free(struct relay *r);

/* A new upstream connection accepted on L: plain or TLS as L is. */
struct conn *secure_accept(struct relay *r, struct evconnlistener *l, int fd,
    const struct smpp_session_config *scfg, const char *peer);

/* CR's client context from its cfg (none without tls:); logs, 0 or -1. */
int secure_carrier_init(struct carrier_rt *cr);
void secure_carrier_free(struct carrier_rt *cr);

/* SIGHUP: every TLS listener's certificate and key read again from NEXT
 * (same listeners as running).  All or nothing: logs and returns -1,
 * keeping the old contexts, if one fails. */
int secure_listeners_reload(struct relay *r, const struct config *next);

/* A new carrier connection (not yet connected) for CR. */
struct conn *secure_carrier_conn(struct relay *r, struct carrier_rt *cr,
    const struct smpp_session_config *scfg, const char *peer);

/* Logs the negotiated TLS of a connection whose handshake just ended. */
void secure_connected(struct conn *c);

/* 1 if C's address is blocked by the limiter (logged at debug). */
int secure_bind_blocked(struct conn *c);

/* Count a refused bind against C's address; logs when a block starts. */
void secure_bind_failed(struct conn *c);

/* 0 if C's TLS satisfies account A (require_tls, require_client_cert,
 * client_cert_name), else the refusal status, logged with the reason. */
uint32_t secure_account_check(struct conn *c, const struct config_account *a);

#endif
