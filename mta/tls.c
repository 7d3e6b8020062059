/*
 * TLS contexts and per-connection setup on OpenSSL.  See tls.h.
 */
#include "mta/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <event2/bufferevent_ssl.h>

/* Session resumption needs it once clients are verified; any fixed value. */
static const unsigned char session_ctx_id[] = "smppd";

/* "WHAT PATH: the OpenSSL reason", draining OpenSSL's error queue. */
static void ssl_fail(char *err, size_t cap, const char *what, const char *path)
{
	char reason[256] = "unknown error";
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, reason, sizeof reason);
	ERR_clear_error();
	snprintf(err, cap, "%s%s%s: %s", what, path ? " " : "", path ? path : "", reason);
}

/* A private key anyone on the machine can read is as good as published. */
static int check_key_file(const char *path, char *err, size_t cap)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, cap, "key %s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & S_IROTH) {
		snprintf(err, cap, "key %s is world-readable; fix it with: chmod 600 %s", path, path);
		return -1;
	}
	return 0;
}

static int load_cert_key(SSL_CTX *ctx, const struct config_tls *t, char *err, size_t cap)
{
	if (check_key_file(t->key, err, cap) != 0)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1) {
		ssl_fail(err, cap, "cert", t->cert);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1) {
		ssl_fail(err, cap, "key", t->key);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_fail(err, cap, "key does not match cert", t->key);
		return -1;
	}
	return 0;
}

/* What both ends share: versions, ciphers, own certificate. */
static SSL_CTX *ctx_common(const SSL_METHOD *method, const struct config_tls *t, char *err,
    size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(method);
	if (!ctx) {
		ssl_fail(err, cap, "SSL_CTX_new", NULL);
		return NULL;
	}
	int min = t->min_version == CONFIG_TLS_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
	if (SSL_CTX_set_min_proto_version(ctx, min) != 1) {
		ssl_fail(err, cap, "min_version", NULL);
		goto fail;
	}
	/* Renegotiation only gives a peer a way to make us work. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (t->ciphers && SSL_CTX_set_cipher_list(ctx, t->ciphers) != 1) {
		ssl_fail(err, cap, "ciphers", t->ciphers);
		goto fail;
	}
	if (t->ciphersuites && SSL_CTX_set_ciphersuites(ctx, t->ciphersuites) != 1) {
		ssl_fail(err, cap, "ciphersuites", t->ciphersuites);
		goto fail;
	}
	if (t->cert && load_cert_key(ctx, t, err, cap) != 0)
		goto fail;
	if (t->ca && SSL_CTX_load_verify_locations(ctx, t->ca, NULL) != 1) {
		ssl_fail(err, cap, "ca", t->ca);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_server_ctx(const struct config_tls *t, char *err, size_t cap)
{
	if (!t->cert || !t->key) {
		snprintf(err, cap, "a TLS server needs cert and key");
		return NULL;
	}
	SSL_CTX *ctx = ctx_common(TLS_server_method(), t, err, cap);
	if (!ctx)
		return NULL;
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_id_context(ctx, session_ctx_id, sizeof session_ctx_id - 1);
	if (t->ca) {
		/* Tell clients which CAs we take, then verify what they send. */
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->ca);
		if (!names) {
			ssl_fail(err, cap, "ca", t->ca);
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		int mode = SSL_VERIFY_PEER;
		if (t->require_client_cert)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_CTX_set_verify(ctx, mode, NULL);
	}
	return ctx;
}

SSL_CTX *tls_client_ctx(const struct config_tls *t, char *err, size_t cap)
{
	SSL_CTX *ctx = ctx_common(TLS_client_method(), t, err, cap);
	if (!ctx)
		return NULL;
	/* Never talk to a carrier we cannot authenticate: credentials and
	 * messages would go to whoever sits in the path. */
	if (!t->ca && SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ssl_fail(err, cap, "system CA store", NULL);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

void tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

static int is_ip_address(const char *host)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int set_peer_name(SSL *ssl, const char *host, bool verify_host)
{
	if (is_ip_address(host)) /* SNI carries names only (RFC 6066) */
		return !verify_host ||
		    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 ? 0 : -1;
	if (SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	if (!verify_host)
		return 0;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

SSL *tls_client_ssl(SSL_CTX *ctx, const char *host, bool verify_host, char *err, size_t cap)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl) {
		ssl_fail(err, cap, "SSL_new", NULL);
		return NULL;
	}
	if (set_peer_name(ssl, host, verify_host) != 0) {
		ssl_fail(err, cap, "host", host);
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

SSL *tls_server_ssl(SSL_CTX *ctx, char *err, size_t cap)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		ssl_fail(err, cap, "SSL_new", NULL);
	return ssl;
}

int tls_peer_verified(SSL *ssl, const char *name)
{
	if (!ssl || SSL_get_verify_result(ssl) != X509_V_OK)
		return 0;
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (!cert)
		return 0;
	int ok = !name || X509_check_host(cert, name, strlen(name),
	    X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_ALWAYS_CHECK_SUBJECT, NULL) == 1;
	X509_free(cert);
	return ok;
}

/* Printable ASCII only: a certificate is outside input too. */
static void peer_cn(SSL *ssl, char *out, size_t cap)
{
	snprintf(out, cap, "-");
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (!cert)
		return;
	char cn[65] = "";
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
	    sizeof cn) > 0) {
		for (char *p = cn; *p; p++)
			if (*p <= ' ' || *p > '~' || *p == '"' || *p == '\\')
				*p = '?';
		snprintf(out, cap, "%s", cn);
	}
	X509_free(cert);
}

const char *tls_describe(SSL *ssl, char *out, size_t cap)
{
	char cn[80];
	peer_cn(ssl, cn, sizeof cn);
	snprintf(out, cap, "%s/%s peer_cn=%s", SSL_get_version(ssl), SSL_get_cipher_name(ssl), cn);
	return out;
}

const char *tls_bev_error(struct bufferevent *bev, char *out, size_t cap)
{
	unsigned long e, first = 0;
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (!first)
			first = e;
	out[0] = 0;
	if (first) {
		const char *why = ERR_reason_error_string(first);
		snprintf(out, cap, "%s", why ? why : "TLS error");
	}
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (v != X509_V_OK) {
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s%s", n ? ": " : "", X509_verify_cert_error_string(v));
	}
	return out;
}
