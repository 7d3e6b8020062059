/*
 * mta/tls.c without sockets: contexts built from files this test writes
 * (self-signed certificates made with the OpenSSL API), and handshakes run
 * between two SSLs over an in-memory BIO pair.  Covers the refusals (bad
 * files, world-readable key, unknown ciphers), chain and host name checks
 * towards a server, mutual TLS and the client certificate's name, and the
 * TLS version floor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mta/tls.h"
#include "tests/unit.h"

static char dir[256];

static const char *path(const char *name)
{
	static char buf[16][400]; /* several live at once */
	static int i;
	i = (i + 1) % 16;
	snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
	return buf[i];
}

/* NAME.pem (self-signed, CN and subjectAltName SAN) and NAME.key (0600). */
static int make_cert(const char *name, const char *cn, const char *san)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	if (!key || !x)
		return -1;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (!ext || !X509_add_ext(x, ext, -1) || !X509_sign(x, key, EVP_sha256()))
		return -1;
	X509_EXTENSION_free(ext);
	char file[64];
	snprintf(file, sizeof file, "%s.pem", name);
	FILE *f = fopen(path(file), "w");
	int ok = f && PEM_write_X509(f, x);
	if (f)
		fclose(f);
	snprintf(file, sizeof file, "%s.key", name);
	f = fopen(path(file), "w");
	ok = ok && f && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (f)
		fclose(f);
	chmod(path(file), 0600);
	X509_free(x);
	EVP_PKEY_free(key);
	return ok ? 0 : -1;
}

/* 1 if both ends finish the handshake. */
static int handshake(SSL *cli, SSL *srv)
{
	BIO *a, *b;
	if (!BIO_new_bio_pair(&a, 0, &b, 0))
		return 0;
	SSL_set_bio(cli, a, a);
	SSL_set_bio(srv, b, b);
	SSL_set_connect_state(cli);
	SSL_set_accept_state(srv);
	for (int i = 0; i < 50; i++) {
		int rc = SSL_do_handshake(cli), rs = SSL_do_handshake(srv);
		if (rc == 1 && rs == 1) {
			/* TLS 1.3: the server's verdict on a client certificate
			 * reaches the client with its first read */
			char byte;
			SSL_read(cli, &byte, 0);
			return SSL_get_shutdown(cli) == 0 && SSL_get_verify_result(cli) == X509_V_OK;
		}
		int ec = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(cli, rc);
		int es = rs == 1 ? SSL_ERROR_NONE : SSL_get_error(srv, rs);
		if ((ec != SSL_ERROR_NONE && ec != SSL_ERROR_WANT_READ && ec != SSL_ERROR_WANT_WRITE) ||
		    (es != SSL_ERROR_NONE && es != SSL_ERROR_WANT_READ && es != SSL_ERROR_WANT_WRITE)) {
			if (getenv("TLS_DEBUG"))
				ERR_print_errors_fp(stdout);
			return 0;
		}
	}
	return 0;
}

struct pair {
	SSL_CTX *sctx, *cctx;
	SSL *srv, *cli;
};

/* Server from S, client from C towards HOST; 1 if the handshake succeeds. */
static int connect_pair(struct pair *p, const struct config_tls *s, const struct config_tls *c,
    const char *host)
{
	char err[512];
	memset(p, 0, sizeof *p);
	p->sctx = tls_server_ctx(s, err, sizeof err);
	p->cctx = tls_client_ctx(c, err, sizeof err);
	if (!p->sctx || !p->cctx) {
		printf("# %s\n", err);
		return -1;
	}
	p->srv = tls_server_ssl(p->sctx, err, sizeof err);
	p->cli = tls_client_ssl(p->cctx, host, c->verify_host, err, sizeof err);
	return handshake(p->cli, p->srv);
}

static void pair_free(struct pair *p)
{
	SSL_free(p->srv);
	SSL_free(p->cli);
	tls_ctx_free(p->sctx);
	tls_ctx_free(p->cctx);
}

static struct config_tls server_tls(void)
{
	return (struct config_tls){ .enabled = true, .cert = (char *)path("server.pem"),
		.key = (char *)path("server.key") };
}

static struct config_tls client_tls(const char *ca)
{
	return (struct config_tls){ .enabled = true, .ca = (char *)path(ca), .verify_host = true };
}

static void test_refusals(void)
{
	char err[512];
	struct config_tls t = server_tls();
	t.cert = (char *)path("missing.pem");
	CHECK(tls_server_ctx(&t, err, sizeof err) == NULL);
	CHECK(strstr(err, "missing.pem") != NULL);
	t = server_tls();
	t.key = (char *)path("other.key");
	CHECK(tls_server_ctx(&t, err, sizeof err) == NULL);
	CHECK(strstr(err, "other.key") != NULL);   /* not the cert's key */
	t = server_tls();
	t.ciphers = "NO-SUCH-CIPHER";
	CHECK(tls_server_ctx(&t, err, sizeof err) == NULL);
	CHECK(strstr(err, "ciphers") != NULL);
	chmod(path("server.key"), 0644);
	t = server_tls();
	CHECK(tls_server_ctx(&t, err, sizeof err) == NULL);
	CHECK(strstr(err, "world-readable") != NULL);
	chmod(path("server.key"), 0600);
	struct config_tls none = { .enabled = true };
	CHECK(tls_server_ctx(&none, err, sizeof err) == NULL);  /* a server needs a cert */
	SSL_CTX *ctx = tls_client_ctx(&none, err, sizeof err);    /* the system store */
	CHECK(ctx != NULL && SSL_CTX_get_verify_mode(ctx) == SSL_VERIFY_PEER);
	CHECK(ctx && SSL_CTX_get_min_proto_version(ctx) == TLS1_2_VERSION);
	tls_ctx_free(ctx);
}

static void test_server_verification(void)
{
	struct config_tls s = server_tls(), c = client_tls("server.pem");
	struct pair p;
	CHECK_EQ_INT(connect_pair(&p, &s, &c, "127.0.0.1"), 1);
	char what[256];
	CHECK(strstr(tls_describe(p.cli, what, sizeof what), "TLSv1.3/") != NULL);
	CHECK(strstr(what, "peer_cn=localhost") != NULL);
	pair_free(&p);
	CHECK_EQ_INT(connect_pair(&p, &s, &c, "localhost"), 1);
	pair_free(&p);
	CHECK_EQ_INT(connect_pair(&p, &s, &c, "smsc.example.net"), 0); /* not its name */
	pair_free(&p);
	CHECK_EQ_INT(connect_pair(&p, &s, &c, "127.0.0.2"), 0);
	pair_free(&p);
	c.verify_host = false;
	CHECK_EQ_INT(connect_pair(&p, &s, &c, "smsc.example.net"), 1); /* chain only */
	pair_free(&p);
	c = client_tls("other.pem");
	c.verify_host = false;
	CHECK_EQ_INT(connect_pair(&p, &s, &c, "127.0.0.1"), 0);        /* another CA */
	pair_free(&p);
}

static void test_mutual(void)
{
	struct config_tls s = server_tls(), c = client_tls("server.pem");
	s.ca = (char *)path("app1.pem");
	s.require_client_cert = true;
	struct pair p;
	CHECK_EQ_INT(connect_pair(&p, &s, &c, "127.0.0.1"), 0);        /* no client cert */
	pair_free(&p);
	c.cert = (char *)path("other.pem");
	c.key = (char *)path("other.key");
	CHECK_EQ_INT(connect_pair(&p, &s, &c, "127.0.0.1"), 0);        /* not from the CA */
	pair_free(&p);
	c.cert = (char *)path("app1.pem");
	c.key = (char *)path("app1.key");
	CHECK_EQ_INT(connect_pair(&p, &s, &c, "127.0.0.1"), 1);
	CHECK_EQ_INT(tls_peer_verified(p.srv, NULL), 1);
	CHECK_EQ_INT(tls_peer_verified(p.srv, "app1"), 1);
	CHECK_EQ_INT(tls_peer_verified(p.srv, "app2"), 0);
	CHECK_EQ_INT(tls_peer_verified(p.srv, "app"), 0);
	pair_free(&p);
	/* a CA but no requirement: a client may come without a certificate */
	s.require_client_cert = false;
	c.cert = c.key = NULL;
	CHECK_EQ_INT(connect_pair(&p, &s, &c, "127.0.0.1"), 1);
	CHECK_EQ_INT(tls_peer_verified(p.srv, NULL), 0);
	CHECK_EQ_INT(tls_peer_verified(NULL, NULL), 0);
	pair_free(&p);
}

static void test_versions(void)
{
	struct config_tls s = server_tls(), c = client_tls("server.pem");
	struct pair p;
	s.min_version = CONFIG_TLS_1_3;
	CHECK_EQ_INT(connect_pair(&p, &s, &c, "127.0.0.1"), 1);
	pair_free(&p);
	char err[256];
	memset(&p, 0, sizeof p);
	p.sctx = tls_server_ctx(&s, err, sizeof err);
	p.cctx = tls_client_ctx(&c, err, sizeof err);
	p.srv = tls_server_ssl(p.sctx, err, sizeof err);
	p.cli = tls_client_ssl(p.cctx, "127.0.0.1", true, err, sizeof err);
	SSL_set_max_proto_version(p.cli, TLS1_2_VERSION);
	CHECK_EQ_INT(handshake(p.cli, p.srv), 0);                      /* 1.2 < min 1.3 */
	pair_free(&p);
	memset(&p, 0, sizeof p);
	s.min_version = CONFIG_TLS_1_2;
	p.sctx = tls_server_ctx(&s, err, sizeof err);
	p.cctx = tls_client_ctx(&c, err, sizeof err);
	p.srv = tls_server_ssl(p.sctx, err, sizeof err);
	p.cli = tls_client_ssl(p.cctx, "127.0.0.1", true, err, sizeof err);
	SSL_set_min_proto_version(p.cli, TLS1_VERSION);
	SSL_set_max_proto_version(p.cli, TLS1_1_VERSION);
	CHECK_EQ_INT(handshake(p.cli, p.srv), 0);                      /* below the floor */
	pair_free(&p);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/smppd-tls-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	if (make_cert("server", "localhost", "DNS:localhost,IP:127.0.0.1") != 0 ||
	    make_cert("app1", "app1", "DNS:app1") != 0 ||
	    make_cert("other", "app1", "DNS:app1") != 0) {
		printf("Bail out! cannot make test certificates\n");
		return 1;
	}
	RUN(test_refusals);
	RUN(test_server_verification);
	RUN(test_mutual);
	RUN(test_versions);
	const char *files[] = { "server.pem", "server.key", "app1.pem", "app1.key", "other.pem",
		"other.key" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		unlink(path(files[i]));
	rmdir(dir);
	return unit_done();
}
