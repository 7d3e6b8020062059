/*
 * The relay's security wiring.  See secure.h.
 */
#include "mta/secure.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "mta/guard.h"
#include "mta/log.h"
#include "mta/relay.h"
#include "mta/tls.h"

int secure_check(const struct config *cfg, char *err, size_t cap)
{
	char why[512];
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		const struct config_listener *l = &cfg->listeners[i];
		if (!l->tls.enabled)
			continue;
		SSL_CTX *ctx = tls_server_ctx(&l->tls, why, sizeof why);
		if (!ctx) {
			snprintf(err, cap, "listeners[%zu] (%s).tls: %s", i, l->name, why);
			return -1;
		}
		tls_ctx_free(ctx);
	}
	for (size_t i = 0; i < cfg->n_carriers; i++) {
		const struct config_carrier *k = &cfg->carriers[i];
		if (!k->tls.enabled)
			continue;
		SSL_CTX *ctx = tls_client_ctx(&k->tls, why, sizeof why);
		if (!ctx) {
			snprintf(err, cap, "carriers[%zu] (%s).tls: %s", i, k->name, why);
			return -1;
		}
		tls_ctx_free(ctx);
	}
	return 0;
}

static int init_listeners(struct relay *r)
{
	char why[512];
	for (size_t i = 0; i < r->cfg->n_listeners; i++) {
		const struct config_listener *l = &r->cfg->listeners[i];
		if (!l->tls.enabled)
			continue;
		r->listener_tls[i] = tls_server_ctx(&l->tls, why, sizeof why);
		if (!r->listener_tls[i]) {
			log_error("tls", "event=tls_setup_failed listener=%s reason=\"%s\"", l->name, why);
			return -1;
		}
	}
	return 0;
}

int secure_carrier_init(struct carrier_rt *cr)
{
	char why[512];
	const struct config_carrier *k = cr->cfg;
	if (!k->tls.enabled)
		return 0;
	cr->tls = tls_client_ctx(&k->tls, why, sizeof why);
	if (!cr->tls) {
		log_error("tls", "event=tls_setup_failed carrier=%s reason=\"%s\"", k->name, why);
		return -1;
	}
	return 0;
}

void secure_carrier_free(struct carrier_rt *cr)
{
	tls_ctx_free(cr->tls);
	cr->tls = NULL;
}

int secure_listeners_reload(struct relay *r, const struct config *next)
{
	char why[512];
	size_t n = r->n_listeners;
	SSL_CTX **fresh = calloc(n + 1, sizeof *fresh);
	if (!fresh)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct config_listener *l = &next->listeners[i];
		if (!l->tls.enabled)
			continue;
		fresh[i] = tls_server_ctx(&l->tls, why, sizeof why);
		if (!fresh[i]) {
			log_error("tls", "event=tls_reload_failed listener=%s reason=\"%s\"", l->name, why);
			for (size_t j = 0; j < i; j++)
				tls_ctx_free(fresh[j]);
			free(fresh);
			return -1;
		}
	}
	/* SSL objects hold a reference on their context: sessions up now keep
	 * the old certificate, new connections get the new one. */
	for (size_t i = 0; i < n; i++)
		tls_ctx_free(r->listener_tls[i]);
	free(r->listener_tls);
	r->listener_tls = fresh;
	return 0;
}

int secure_init(struct relay *r)
{
	const struct config_bind_limit *bl = &r->cfg->bind_limit;
	struct guard_config gc = { (unsigned)bl->failures, bl->window_ms, bl->block_ms,
		(size_t)bl->table_size };
	r->guard = guard_new(&gc);
	r->listener_tls = calloc(r->cfg->n_listeners + 1, sizeof *r->listener_tls);
	if (!r->guard || !r->listener_tls) {
		log_error("tls", "event=setup_failed reason=\"out of memory\"");
		return -1;
	}
	return init_listeners(r);
}

void secure_free(struct relay *r)
{
	for (size_t i = 0; r->listener_tls && i < r->cfg->n_listeners; i++)
		tls_ctx_free(r->listener_tls[i]);
	free(r->listener_tls);
	guard_free(r->guard);
	r->listener_tls = NULL;
	r->guard = NULL;
}

static SSL_CTX *listener_ctx(struct relay *r, struct evconnlistener *l)
{
	for (size_t i = 0; r->listener_tls && i < r->n_listeners; i++)
		if (r->listeners[i] == l)
			return r->listener_tls[i];
	return NULL;
}

struct conn *secure_accept(struct relay *r, struct evconnlistener *l, int fd,
    const struct smpp_session_config *scfg, const char *peer)
{
	SSL_CTX *ctx = listener_ctx(r, l);
	if (!ctx)
		return conn_new(r, CONN_UPSTREAM, fd, scfg, peer);
	char why[256];
	SSL *ssl = tls_server_ssl(ctx, why, sizeof why);
	if (!ssl) {
		log_error("tls", "event=tls_failed peer=%s reason=\"%s\"", peer, why);
		evutil_closesocket(fd);
		return NULL;
	}
	return conn_new_tls(r, CONN_UPSTREAM, fd, scfg, peer, ssl);
}

struct conn *secure_carrier_conn(struct relay *r, struct carrier_rt *cr,
    const struct smpp_session_config *scfg, const char *peer)
{
	SSL_CTX *ctx = cr->tls;
	if (!ctx)
		return conn_new(r, CONN_CARRIER, -1, scfg, peer);
	const struct config_carrier *k = cr->cfg;
	char why[256];
	SSL *ssl = tls_client_ssl(ctx, k->host, k->tls.verify_host, why, sizeof why);
	if (!ssl) {
		log_error("tls", "event=tls_failed carrier=%s reason=\"%s\"", k->name, why);
		return NULL;
	}
	return conn_new_tls(r, CONN_CARRIER, -1, scfg, peer, ssl);
}

void secure_connected(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	if (!ssl)
		return;
	char what[256];
	log_info("tls", "event=tls_established peer=%s side=%s tls=%s", c->peer,
	    c->kind == CONN_UPSTREAM ? "upstream" : "carrier", tls_describe(ssl, what, sizeof what));
}

int secure_bind_blocked(struct conn *c)
{
	uint64_t until = 0, now = relay_mono_ms();
	if (!guard_blocked(c->relay->guard, (const struct sockaddr *)&c->peer_addr, now, &until))
		return 0;
	log_debug("upstream", "event=bind_blocked peer=%s for_ms=%llu", c->peer,
	    (unsigned long long)(until - now));
	return 1;
}

void secure_bind_failed(struct conn *c)
{
	const struct config_bind_limit *bl = &c->relay->cfg->bind_limit;
	unsigned n = guard_failure(c->relay->guard, (const struct sockaddr *)&c->peer_addr,
	    relay_mono_ms());
	if (n & GUARD_BLOCKED_NOW)
		log_warn("upstream", "event=bind_limit_block peer=%s failures=%u window_s=%llu block_s=%llu",
		    c->peer, n & ~GUARD_BLOCKED_NOW, (unsigned long long)(bl->window_ms / 1000),
		    (unsigned long long)(bl->block_ms / 1000));
}

uint32_t secure_account_check(struct conn *c, const struct config_account *a)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	const char *why = NULL;
	if (a->require_tls && !ssl)
		why = "account requires TLS";
	else if (a->require_client_cert && !tls_peer_verified(ssl, NULL))
		why = "account requires a verified client certificate";
	else if (a->client_cert_name && !tls_peer_verified(ssl, a->client_cert_name))
		why = "client certificate does not name the account's client_cert_name";
	if (!why)
		return SMPP_ESME_ROK;
	log_warn("upstream", "event=bind_tls_refused peer=%s system_id=%s reason=\"%s\"", c->peer,
	    a->system_id, why);
	return SMPP_ESME_RBINDFAIL;
}
