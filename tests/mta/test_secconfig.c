/*
 * The configuration keys of issue 6's security part: per-account TLS
 * requirements and allowed sources (with what they imply), TLS 1.3
 * ciphersuites, and bind_limit with its defaults and ranges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mta/config.h"
#include "tests/unit.h"

#define H "\"pbkdf2-sha256$5000$JLL/xH2QFQVDXuFb+2m2iw==$YAnhZuD7R7w6FbL66iru4PmLRg4d5MW9pyRRb68I3tU=\""
#define L "listeners: [{name: a, address: '127.0.0.1:0', tls: {cert: /c.pem, key: /k.pem,\n" \
	"  ciphersuites: TLS_AES_128_GCM_SHA256}}]\n"

static char path[256];

static int load(const char *yaml, struct config *cfg, char *err, size_t cap)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -2;
	fputs(yaml, f);
	fclose(f);
	chmod(path, 0600);
	return config_load(path, cfg, err, cap);
}

static void test_accounts(void)
{
	struct config cfg;
	char err[512];
	int rc = load(L "accounts:\n"
	    "  - {system_id: a, password_hash: " H "}\n"
	    "  - {system_id: b, password_hash: " H ", require_tls: true}\n"
	    "  - {system_id: c, password_hash: " H ", client_cert_name: app.example.com,\n"
	    "     allowed_sources: [12025550100, \"1202555017*\"]}\n", &cfg, err, sizeof err);
	if (rc != 0)
		printf("# %s\n", err);
	CHECK_EQ_INT(rc, 0);
	if (rc != 0)
		return;
	CHECK_EQ_STR(cfg.listeners[0].tls.ciphersuites, "TLS_AES_128_GCM_SHA256");
	const struct config_account *a = &cfg.accounts[0], *b = &cfg.accounts[1],
	    *c = &cfg.accounts[2];
	CHECK(!a->require_tls && !a->require_client_cert && !a->client_cert_name);
	CHECK_EQ_INT(a->n_allowed_sources, 0);
	CHECK(b->require_tls && !b->require_client_cert);
	/* a name to match implies a certificate, which implies TLS */
	CHECK(c->require_tls && c->require_client_cert);
	CHECK_EQ_STR(c->client_cert_name, "app.example.com");
	CHECK_EQ_INT(c->n_allowed_sources, 2);
	CHECK_EQ_STR(c->allowed_sources[1], "1202555017*");
	/* bind_limit defaults */
	CHECK_EQ_INT(cfg.bind_limit.failures, 10);
	CHECK_EQ_INT(cfg.bind_limit.window_ms, 60000);
	CHECK_EQ_INT(cfg.bind_limit.block_ms, 300000);
	CHECK_EQ_INT(cfg.bind_limit.table_size, 4096);
	config_free(&cfg);
}

static void test_bind_limit(void)
{
	struct config cfg;
	char err[512];
	int rc = load(L "bind_limit: {failures: 0, window: 10s, block: 1h, table_size: 64}\n",
	    &cfg, err, sizeof err);
	CHECK_EQ_INT(rc, 0);
	if (rc == 0) {
		CHECK_EQ_INT(cfg.bind_limit.failures, 0);
		CHECK_EQ_INT(cfg.bind_limit.window_ms, 10000);
		CHECK_EQ_INT(cfg.bind_limit.block_ms, 3600000);
		CHECK_EQ_INT(cfg.bind_limit.table_size, 64);
		config_free(&cfg);
	}
	CHECK_EQ_INT(load(L "bind_limit: {table_size: 8}\n", &cfg, err, sizeof err), -1);
	CHECK(strstr(err, "bind_limit.table_size") != NULL);
	CHECK_EQ_INT(load(L "bind_limit: {block: 0s}\n", &cfg, err, sizeof err), -1);
	CHECK_EQ_INT(load(L "bind_limit: {tries: 3}\n", &cfg, err, sizeof err), -1);
	CHECK(strstr(err, "tries") != NULL);
	CHECK_EQ_INT(load(L "accounts:\n  - {system_id: a, password_hash: " H
	    ", require_tls: maybe}\n", &cfg, err, sizeof err), -1);
	CHECK(strstr(err, "require_tls") != NULL);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(path, sizeof path, "%s/smppd-secconfig-%d.yaml", base && *base ? base : "/tmp",
	    (int)getpid());
	RUN(test_accounts);
	RUN(test_bind_limit);
	unlink(path);
	return unit_done();
}
