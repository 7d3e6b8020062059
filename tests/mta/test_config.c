/*
 * mta/config: the shipped example loads, defaults and units are right,
 * every class of bad input is refused with FILE:LINE and a useful message,
 * secrets in world-readable files are refused, and password hashes round
 * trip and reject malformed encodings.
 */
#include "mta/config.h"
#include "tests/unit.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SMPPD_SOURCE_ROOT
#define SMPPD_SOURCE_ROOT "."
#endif

/* "secret1" */
#define H "\"pbkdf2-sha256$5000$JLL/xH2QFQVDXuFb+2m2iw==$YAnhZuD7R7w6FbL66iru4PmLRg4d5MW9pyRRb68I3tU=\""
#define L "listeners: [{name: a, address: '127.0.0.1:0'}]\n"

static char tmpdir[128];
static char cfgpath[160];

static void write_file(const char *path, const char *data, size_t len,
    mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fwrite(data, 1, len, f);
	fclose(f);
	chmod(path, mode);
}

static int load_string(const char *yaml, size_t len, struct config *cfg,
    char *err, size_t cap)
{
	write_file(cfgpath, yaml, len ? len : strlen(yaml), 0600);
	return config_load(cfgpath, cfg, err, cap);
}

static void test_example(void)
{
	struct config cfg;
	char err[1024];
	const struct config_account *a;
	const struct config_carrier *k;
	int rc;

	rc = config_load(SMPPD_SOURCE_ROOT "/conf/smppd.yaml", &cfg, err, sizeof(err));
	if (rc != 0)
		printf("# %s\n", err);
	CHECK_EQ_INT(rc, 0);
	if (rc != 0)
		return;
	CHECK_EQ_INT(cfg.node_id, 0);
	CHECK_EQ_INT(cfg.receipt_cache, 65536);
	CHECK_EQ_STR(cfg.policy, SMPPD_SOURCE_ROOT "/conf/policy.yaml");
	CHECK_EQ_STR(cfg.store.path, "/var/lib/smppd");
	CHECK_EQ_INT(cfg.store.map_size, 1ull << 30);
	CHECK_EQ_INT(cfg.store.retention_ms, 7ull * 86400 * 1000);
	CHECK_EQ_INT(cfg.store.purge_interval_ms, 60000);
	CHECK_EQ_INT(cfg.store.resident_limit, 64ull << 20);
	CHECK(cfg.store.fsync);
	CHECK_EQ_INT(cfg.n_listeners, 1);
	CHECK_EQ_STR(cfg.listeners[0].name, "smpp");
	CHECK_EQ_INT(cfg.listeners[0].address.port, 2775);
	CHECK_EQ_INT(cfg.listeners[0].address.family, AF_INET);
	CHECK_EQ_INT(cfg.listeners[0].max_pdu, 65536);
	CHECK_EQ_INT(cfg.listeners[0].bind_timeout_ms, 30000);
	CHECK(!cfg.listeners[0].tls.enabled);
	CHECK_EQ_INT(cfg.n_accounts, 2);
	a = config_find_account(&cfg, "app1");
	CHECK(a != NULL);
	if (a) {
		CHECK_EQ_INT(a->window, 10);
		CHECK(a->ingress_rate == 100.0);
		CHECK_EQ_INT(a->n_allowed_campaigns, 2);
		CHECK_EQ_INT(a->n_allowed_networks, 3);
		CHECK_EQ_INT(a->allowed_networks[1].family, AF_INET6);
		CHECK_EQ_INT(a->allowed_networks[2].prefix, 16);
		CHECK_EQ_STR(a->default_campaign, "CACMEACCT");
		CHECK_EQ_INT(config_password_verify("secret1", a->password_hash), 1);
		CHECK_EQ_INT(config_password_verify("secret2", a->password_hash), 0);
	}
	a = config_find_account(&cfg, "bulk");
	CHECK(a && a->ingress_rate == 10.0 && a->max_binds == 4 && a->receipts);
	CHECK(a && a->default_campaign == NULL && a->n_allowed_campaigns == 0);
	CHECK_EQ_INT(cfg.n_carriers, 2);
	k = config_find_carrier(&cfg, "sim-a");
	CHECK(k != NULL);
	if (k) {
		CHECK_EQ_INT(k->sessions, 2);
		CHECK_EQ_INT(k->port, 2776);
		CHECK_EQ_STR(k->password, "");
		CHECK_EQ_INT(k->reconnect_max_ms, 60000);
		CHECK(k->max_mps == 50.0);
	}
	k = config_find_carrier(&cfg, "sim-b");
	CHECK(k && k->max_mps == 50.0 && k->enquire_link_ms == 30000 &&
	    k->bind == CONFIG_BIND_TRANSCEIVER && k->tls.enabled == false);
	/* line-type codes: none of the carrier's own by default, 0x0B always */
	CHECK(k && k->landline_errors.n == 0 && k->unknown_subscriber_errors.n == 0 &&
	    k->landline_statuses.n == 0 && k->unknown_subscriber_statuses.n == 1 &&
	    k->unknown_subscriber_statuses.v[0] == 0x0B);
	CHECK_EQ_INT(cfg.pause.recheck_ms, 30000);
	CHECK_EQ_INT(cfg.pause.poll_ms, 2000);
	CHECK_EQ_INT(cfg.n_routes, 3);
	CHECK_EQ_STR(cfg.routes[0].campaign, "CACME2FA");
	CHECK_EQ_INT(cfg.routes[1].carrier_index[1], 1);
	CHECK(cfg.routes[2].prefix == NULL && cfg.routes[2].campaign == NULL);
	CHECK_EQ_INT(cfg.admin.address.port, 8025);
	CHECK(cfg.admin.token == NULL);
	CHECK_EQ_INT(cfg.log.level, CONFIG_LOG_INFO);
	config_free(&cfg);
	CHECK(cfg.accounts == NULL && cfg.n_accounts == 0);
	config_free(&cfg);      /* twice is harmless */
}

static void test_defaults_and_units(void)
{
	struct config cfg;
	char err[1024];
	int rc;

	rc = load_string(L, 0, &cfg, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	if (rc == 0) {
		CHECK(cfg.policy == NULL);
		CHECK_EQ_INT(cfg.store.max_batch, 256);
		CHECK_EQ_INT(cfg.n_accounts, 0);
		CHECK_EQ_STR(cfg.admin.address.host, "127.0.0.1");
		CHECK_EQ_INT(cfg.log.target, CONFIG_LOG_STDERR);
		config_free(&cfg);
	}
	rc = load_string("listeners:\n"
	    "  - {name: a, address: '[::1]:0', max_pdu: 512MiB}\n", 0, &cfg, err, sizeof(err));
	CHECK_EQ_INT(rc, -1);   /* 512MiB is above the 16MiB cap */
	rc = load_string("listeners:\n"
	    "  - {name: a, address: '[::1]:2775', max_pdu: 1MB,\n"
	    "     tls: {cert: c.pem, key: /k.pem, min_version: TLSv1.3}}\n"
	    "store: {retention: 1h30m, map_size: 512MiB, fsync: no, path: data, resident_limit: 0}\n"
	    "receipt_cache: 0\n"
	    "policy: /etc/p.yaml\n"
	    "accounts:\n"
	    "  - {system_id: x, password_hash: " H ", ingress_rate: 600/min}\n"
	    "  - {system_id: y, password_hash: " H ", ingress_rate: 7200/h}\n"
	    "  - {system_id: z, password_hash: " H ", ingress_rate: 2.5}\n"
	    "carriers:\n"
	    "  - {name: k, host: 'smsc.example.net', system_id: s, password_file: pw,\n"
	    "     response_timeout: 500ms, reconnect: {initial: 250ms, max: 2m},\n"
	    "     bind: transmitter_receiver, tls: {},\n"
	    "     landline_errors: [11, 0x2A], unknown_subscriber_statuses: []}\n"
	    "pause: {recheck: 1500ms, poll: 250ms}\n",
	    0, &cfg, err, sizeof(err));
	CHECK_EQ_INT(rc, -1);   /* pw does not exist yet */
	CHECK(strstr(err, "cannot open") != NULL);
	{
		char pw[400];

		snprintf(pw, sizeof(pw), "%s/pw", tmpdir);
		write_file(pw, "carrpw1\n", 8, 0640);
	}
	rc = config_load(cfgpath, &cfg, err, sizeof(err));
	if (rc != 0)
		printf("# %s\n", err);
	CHECK_EQ_INT(rc, 0);
	if (rc == 0) {
		char want[400];

		CHECK_EQ_INT(cfg.listeners[0].address.family, AF_INET6);
		CHECK_EQ_STR(cfg.listeners[0].address.host, "::1");
		CHECK_EQ_INT(cfg.listeners[0].max_pdu, 1000000);
		CHECK(cfg.listeners[0].tls.enabled);
		CHECK_EQ_INT(cfg.listeners[0].tls.min_version, CONFIG_TLS_1_3);
		snprintf(want, sizeof(want), "%s/c.pem", tmpdir);
		CHECK_EQ_STR(cfg.listeners[0].tls.cert, want);
		CHECK_EQ_STR(cfg.listeners[0].tls.key, "/k.pem");
		CHECK(cfg.carriers[0].landline_errors.n == 2 &&
		    cfg.carriers[0].landline_errors.v[0] == 11 &&
		    cfg.carriers[0].landline_errors.v[1] == 42);
		CHECK_EQ_INT(cfg.carriers[0].unknown_subscriber_statuses.n, 0); /* [] drops 0x0B */
		CHECK_EQ_INT(cfg.pause.recheck_ms, 1500);
		CHECK_EQ_INT(cfg.pause.poll_ms, 250);
		CHECK_EQ_INT(cfg.store.retention_ms, 5400000);
		CHECK_EQ_INT(cfg.store.map_size, 512ull << 20);
		CHECK_EQ_INT(cfg.store.resident_limit, 0);
		CHECK(!cfg.store.fsync);
		CHECK_EQ_INT(cfg.receipt_cache, 0);
		snprintf(want, sizeof(want), "%s/data", tmpdir);
		CHECK_EQ_STR(cfg.store.path, want);
		CHECK_EQ_STR(cfg.policy, "/etc/p.yaml");
		CHECK(cfg.accounts[0].ingress_rate == 10.0);
		CHECK(cfg.accounts[1].ingress_rate == 2.0);
		CHECK(cfg.accounts[2].ingress_rate == 2.5);
		CHECK_EQ_STR(cfg.carriers[0].password, "carrpw1");
		CHECK_EQ_INT(cfg.carriers[0].response_timeout_ms, 500);
		CHECK_EQ_INT(cfg.carriers[0].reconnect_initial_ms, 250);
		CHECK_EQ_INT(cfg.carriers[0].reconnect_max_ms, 120000);
		CHECK_EQ_INT(cfg.carriers[0].bind, CONFIG_BIND_TX_RX);
		CHECK(cfg.carriers[0].tls.enabled && cfg.carriers[0].tls.verify_host);
		config_free(&cfg);
	}
}

struct bad {
	const char *yaml;
	size_t len;             /* 0: strlen */
	int line;
	const char *want;       /* substring after "FILE:LINE: " */
};

static const struct bad bad_cases[] = {
	/* unknown keys */
	{ L "nodes_id: 3\n", 0, 2, "unknown key 'nodes_id' (did you mean 'node_id'?)" },
	{ L "store:\n  compression: lz4\n", 0, 3, "store: unknown key 'compression'" },
	{ L "accounts:\n  - system_id: a\n    pasword_hash: " H "\n", 0, 4,
	  "accounts[0]: unknown key 'pasword_hash' (did you mean 'password_hash'?)" },
	{ L "node_id: 1\nnode_id: 2\n", 0, 3, "duplicate key 'node_id' (first at line 2)" },
	/* wrong types */
	{ "listeners: hello\n", 0, 1, "listeners: expected a list, got a scalar" },
	{ L "node_id: [1]\n", 0, 2, "node_id: expected an integer, got a list" },
	{ L "node_id: {a: 1}\n", 0, 2, "node_id: expected an integer, got a mapping" },
	{ L "node_id: twelve\n", 0, 2, "node_id: expected an integer, got 'twelve'" },
	{ L "store:\n  fsync: maybe\n", 0, 3, "store.fsync: expected true or false, got 'maybe'" },
	{ L "log: verbose\n", 0, 2, "log: expected a mapping of keys, got a scalar" },
	{ L "log: {level: loud}\n", 0, 2,
	  "log.level: expected one of debug, info, warn, error; got 'loud'" },
	{ L "accounts:\n  - {system_id: a, password_hash: " H ", segmentation: udh7}\n", 0, 3,
	  "accounts[0].segmentation: expected one of udh8, udh16, sar, payload; got 'udh7'" },
	{ "- a\n- b\n", 0, 1, "the top level must be a mapping" },
	{ "hello world\n", 0, 1, "the top level must be a mapping of settings (node_id:, listeners:, ...), got a scalar" },
	/* ranges, negatives, huge numbers */
	{ L "node_id: 1024\n", 0, 2, "node_id: must be between 0 and 1023, got 1024" },
	{ L "receipt_cache: -1\n", 0, 2, "receipt_cache: must be between 0 and 16777216, got -1" },
	{ L "receipt_cache: 16777217\n", 0, 2,
	  "receipt_cache: must be between 0 and 16777216, got 16777217" },
	{ L "receipt_cache: lots\n", 0, 2, "receipt_cache: expected an integer, got 'lots'" },
	{ L "accounts:\n  - system_id: a\n    password_hash: " H "\n    window: -5\n", 0, 5,
	  "accounts[0].window: must be between 1 and 10000, got -5" },
	{ L "node_id: 99999999999999999999999999\n", 0, 2, "node_id: number too large" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s, sessions: 0}\n", 0, 3,
	  "carriers[0].sessions: must be between 1 and 64, got 0" },
	{ L "accounts:\n  - {system_id: abcdefghijklmnop, password_hash: " H "}\n", 0, 3,
	  "accounts[0].system_id: too long (16 bytes, at most 15)" },
	/* missing required keys */
	{ "node_id: 1\n", 0, 1, "missing required key 'listeners'" },
	{ L "accounts:\n  - password_hash: " H "\n", 0, 3,
	  "accounts[0]: missing required key 'system_id'" },
	{ L "accounts:\n  - system_id:\n    password_hash: " H "\n", 0, 3,
	  "accounts[0]: missing required key 'system_id'" },
	{ "listeners: [{name: a, address: '127.0.0.1:0', tls: {cert: c.pem}}]\n", 0, 1,
	  "listeners[0].tls: missing required key 'key'" },
	{ "listeners: []\n", 0, 1, "listeners: at least one listener is needed" },
	{ L "carriers:\n  - name: k\n    host: h\n    system_id: s\n    tls:\n", 0, 6,
	  "carriers[0]: 'tls' has no value: write tls: {} for the defaults" },
	/* duplicates and references */
	{ L "accounts:\n  - {system_id: a, password_hash: " H "}\n"
	  "  - {system_id: b, password_hash: " H "}\n"
	  "  - {system_id: a, password_hash: " H "}\n", 0, 5,
	  "accounts[2]: duplicate account system_id 'a' (first at line 3)" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s}\n"
	  "  - {name: k, host: h2, system_id: s}\n", 0, 4,
	  "carriers[1]: duplicate carrier name 'k' (first at line 3)" },
	{ "listeners:\n  - {name: a, address: '127.0.0.1:0'}\n"
	  "  - {name: a, address: '127.0.0.1:1'}\n", 0, 3,
	  "listeners[1]: duplicate listener name 'a' (first at line 2)" },
	{ L "carriers:\n  - {name: alpha, host: h, system_id: s}\n"
	  "routes:\n  - carriers: [alpha, alhpa]\n", 0, 5,
	  "routes[0].carriers[1]: unknown carrier 'alhpa' (did you mean 'alpha'?)" },
	{ L "routes:\n  - match: {prefix: \"1\"}\n    carriers:\n      - nowhere\n", 0, 5,
	  "routes[0].carriers[0]: unknown carrier 'nowhere'" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s}\n"
	  "routes:\n  - carriers: [k]\n  - match: {prefix: \"44\"}\n    carriers: [k]\n", 0, 6,
	  "routes[1]: can never match: the route at line 5" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s}\n"
	  "routes:\n  - {match: {prefix: \"+1\"}, carriers: [k]}\n", 0, 5,
	  "routes[0].match.prefix: must be digits only" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s}\n"
	  "routes:\n  - {carriers: []}\n", 0, 5, "routes[0]: carriers: list at least one carrier" },
	{ L "accounts:\n  - {system_id: a, password_hash: " H ", default_campaign: \"\"}\n", 0, 3,
	  "accounts[0].default_campaign: must not be empty" },
	{ L "accounts:\n  - system_id: a\n    password_hash: " H "\n"
	  "    allowed_campaigns: [C1]\n    default_campaign: C2\n", 0, 6,
	  "accounts[0].default_campaign: 'C2' is not in allowed_campaigns" },
	/* addresses and networks */
	{ "listeners: [{name: a, address: 127.0.0.1}]\n", 0, 1,
	  "listeners[0].address: bad address '127.0.0.1': missing port" },
	{ "listeners: [{name: a, address: '127.0.0.1:70000'}]\n", 0, 1,
	  "port must be a number from 0 to 65535" },
	{ "listeners: [{name: a, address: '300.1.1.1:25'}]\n", 0, 1,
	  "'300.1.1.1:25': not a numeric IPv4 or IPv6 address" },
	{ "listeners: [{name: a, address: '::1:2775'}]\n", 0, 1, "needs brackets" },
	{ L "admin: {address: '0.0.0.0:8025'}\n", 0, 2,
	  "admin: address: 0.0.0.0 is not a loopback address, so a token or token_file is required" },
	{ L "accounts:\n  - system_id: a\n    password_hash: " H "\n"
	  "    allowed_networks: [10.0.0.0/8, 10.0.0.0/33]\n", 0, 5,
	  "accounts[0].allowed_networks[1]: bad network '10.0.0.0/33': prefix length must be 0 to 32" },
	{ L "accounts:\n  - system_id: a\n    password_hash: " H "\n"
	  "    allowed_networks:\n      - 10.1.2.3/8\n", 0, 6, "host bits are set" },
	{ L "accounts:\n  - system_id: a\n    password_hash: " H "\n"
	  "    allowed_networks: [example.com]\n", 0, 5, "not an IPv4 or IPv6 address" },
	{ L "carriers:\n  - {name: k, host: 'smsc example', system_id: s}\n", 0, 3,
	  "is not a host name or address" },
	/* durations, sizes, rates */
	{ L "carriers:\n  - name: k\n    host: h\n    system_id: s\n    enquire_link: 30\n", 0, 6,
	  "carriers[0].enquire_link: bad duration '30'" },
	{ L "store: {retention: 5 days}\n", 0, 2, "store.retention: bad duration '5 days'" },
	{ L "store: {purge_interval: 100ms}\n", 0, 2,
	  "store.purge_interval: must be between 1s and 1d, got 100ms" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s, enquire_link: 500ms}\n", 0, 3,
	  "carriers[0].enquire_link: must be between 1s and 1h, got 500ms" },
	{ L "carriers:\n  - name: k\n    host: h\n    system_id: s\n"
	  "    reconnect: {initial: 5m, max: 1m}\n", 0, 6,
	  "carriers[0].reconnect: initial must not exceed max" },
	{ L "store: {map_size: 1 gigabyte}\n", 0, 2, "store.map_size: bad size '1 gigabyte'" },
	{ L "store: {resident_limit: -5MiB}\n", 0, 2, "store.resident_limit: bad size '-5MiB'" },
	{ L "store: {map_size: 99999999999999999999GiB}\n", 0, 2, "store.map_size: bad size" },
	{ "listeners: [{name: a, address: '127.0.0.1:0', bind_timeout: 0s}]\n", 0, 1,
	  "listeners[0].bind_timeout: must be between 1s and 10m, got 0" },
	{ "listeners: [{name: a, address: '127.0.0.1:0', max_pdu: 100}]\n", 0, 1,
	  "listeners[0].max_pdu: must be between 512B and 16MiB, got 100B" },
	{ L "accounts:\n  - {system_id: a, password_hash: " H ", ingress_rate: 100/fortnight}\n", 0, 3,
	  "accounts[0].ingress_rate: bad rate '100/fortnight'" },
	{ L "accounts:\n  - {system_id: a, password_hash: " H ", ingress_rate: -3/s}\n", 0, 3,
	  "bad rate '-3/s'" },
	/* line-type codes and pause */
	{ L "carriers:\n  - {name: k, host: h, system_id: s, landline_errors: 11}\n", 0, 3,
	  "carriers[0].landline_errors: expected a list of codes like [11, 0x0B], got a scalar" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s, landline_errors: [11, eleven]}\n", 0, 3,
	  "carriers[0].landline_errors[1]: expected a code (decimal, or hex like 0x0B), got 'eleven'" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s, unknown_subscriber_statuses: [0x0B, 11]}\n",
	  0, 3, "carriers[0].unknown_subscriber_statuses[1]: '11' is listed twice" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s, landline_statuses: [-1]}\n", 0, 3,
	  "expected a code" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s, landline_statuses: [0x100000000]}\n", 0, 3,
	  "expected a code" },
	{ L "pause: {poll: 10m}\n", 0, 2, "pause.poll: must be between 100ms and 1m, got 10m" },
	{ L "pause: {recheck: soon}\n", 0, 2, "pause.recheck: bad duration 'soon'" },
	/* secrets and password hashes */
	{ L "accounts:\n  - {system_id: a, password_hash: \"md5$abc\"}\n", 0, 3,
	  "accounts[0].password_hash: password hash must start with 'pbkdf2-sha256$'" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s, password: x, password_file: f}\n", 0, 3,
	  "carriers[0]: give either password or password_file, not both" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s, password: toolong99}\n", 0, 3,
	  "carriers[0].password: too long (9 bytes, at most 8)" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s, password_file: missing.pw}\n", 0, 3,
	  "carriers[0].password_file: cannot open" },
	/* carriers that connect to us (listen:) */
#define K "carriers:\n  - {name: k, host: h, system_id: s, listen: "
	{ L K "{address: '127.0.0.1:2776', system_id: c, password_hash: " H "}}\n", 0, 3,
	  "carriers[0].listen: missing required key 'mode' (bind or outbind)" },
	{ L K "{address: '127.0.0.1:2776', mode: inbind, system_id: c, password_hash: " H "}}\n", 0, 3,
	  "carriers[0].listen.mode: expected one of bind, outbind" },
	{ L K "{mode: bind, system_id: c, password_hash: " H "}}\n", 0, 3,
	  "carriers[0].listen: missing required key 'address'" },
	{ L K "{address: '127.0.0.1:2776', mode: bind, password_hash: " H "}}\n", 0, 3,
	  "carriers[0].listen: missing required key 'system_id'" },
	{ L K "{address: '127.0.0.1:2776', mode: bind, system_id: c, password_hash: \"plain\"}}\n", 0, 3,
	  "carriers[0].listen.password_hash: password hash must start with 'pbkdf2-sha256$'" },
	{ L K "{address: '127.0.0.1:2776', mode: bind, system_id: c, password_hash: " H ", "
	  "max_binds: 0}}\n", 0, 3, "carriers[0].listen.max_binds: must be between 1 and 64, got 0" },
	{ L K "{address: '127.0.0.1:2776', mode: bind, system_id: c, password_hash: " H ", "
	  "allowed_networks: [10.0.0.0/33]}}\n", 0, 3, "carriers[0].listen.allowed_networks[0]" },
	{ L K "{address: 'nowhere', mode: bind, system_id: c, password_hash: " H "}}\n", 0, 3,
	  "carriers[0].listen.address" },
	{ L K "{address: '127.0.0.1:2776', mode: bind, system_id: c, password_hash: " H ", port: 1}}\n",
	  0, 3, "carriers[0].listen: unknown key 'port'" },
	{ L K "}\n", 0, 3, "carriers[0]: 'listen' has no value" },
	{ "listeners: [{name: a, address: '127.0.0.1:2776'}]\n" K "{address: '127.0.0.1:2776', "
	  "mode: bind, system_id: c, password_hash: " H "}}\n", 0, 3,
	  "carriers[0]: listen.address already used by listener 'a' (line 1): carriers and "
	  "applications need separate listeners" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s, listen: {address: '127.0.0.1:2777', "
	  "mode: bind, system_id: c, password_hash: " H "}}\n"
	  "  - {name: j, host: h, system_id: s, listen: {address: '127.0.0.1:2777', "
	  "mode: outbind, system_id: d, password_hash: " H "}}\n", 0, 4,
	  "carriers[1]: listen.address already used by carrier 'k' (line 3)" },
	{ L "carriers:\n  - {name: k, host: h, system_id: s, bind: receiver}\n", 0, 3,
	  "carriers[0].bind: expected one of transceiver, transmitter_receiver, transmitter" },
#undef K
	{ L "admin: {token: short}\n", 0, 2, "admin.token: too short (5 characters, at least 16)" },
	/* not YAML, empty, syntax errors */
	{ "\x7f" "ELF\x02\x01\x01\x00\x00\x00\x00", 12, 1, "not a YAML text file" },
	{ "", 0, 1, "empty configuration" },
	{ "# only a comment\n\n", 0, 1, "empty configuration" },
	{ L "store:\n  path: [unclosed\nnode_id: 1\n", 0, 4,
	  "YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence (line 3)" },
	{ L "store: {path: x\n", 0, 3, "YAML syntax error" },
	{ L "store:\n\tpath: x\n", 0, 3, "tab" },
	{ L "---\nnode_id: 1\n", 0, 2, "a second YAML document" },
	{ L "node_id: *nowhere\n", 0, 2, "YAML syntax error: found undefined alias" },
	{ L "node_id: [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]\n", 0, 2,
	  "node_id: expected an integer, got a list" },
	{ L "a:\n b:\n  c:\n   d:\n    e:\n     f:\n      g:\n       h:\n        i:\n"
	  "         j:\n          k:\n           l:\n            m:\n             n:\n"
	  "              o:\n               p:\n                q:\n                 r:\n"
	  "                  s:\n                   t:\n                    u:\n"
	  "                     v:\n                      w:\n                       x:\n"
	  "                        y:\n                         z:\n"
	  "                          aa:\n                           ab:\n"
	  "                            ac:\n                             ad:\n"
	  "                              ae:\n                               af:\n"
	  "                                ag: 1\n", 0, 34, "nested more than 32 levels deep" },
};

/* carriers[].listen: both modes, the defaults, and carriers without one. */
static void test_carrier_listen(void)
{
	char err[1024];
	struct config cfg;
	int rc = load_string(L
	    "carriers:\n"
	    "  - {name: ob, host: h, system_id: s, bind: transmitter,\n"
	    "     listen: {address: '127.0.0.1:2776', mode: outbind, system_id: obc,\n"
	    "              password_hash: " H "}}\n"
	    "  - {name: eb, host: h, system_id: s,\n"
	    "     listen: {address: '[::1]:2777', mode: bind, system_id: ebc, password_hash: " H ",\n"
	    "              max_binds: 3, allowed_networks: [10.0.0.0/8, '2001:db8::/32']}}\n"
	    "  - {name: plain, host: h, system_id: s}\n", 0, &cfg, err, sizeof(err));
	if (rc != 0)
		printf("# %s\n", err);
	CHECK_EQ_INT(rc, 0);
	if (rc != 0)
		return;
	const struct config_carrier_listen *ob = &cfg.carriers[0].listen;
	const struct config_carrier_listen *eb = &cfg.carriers[1].listen;
	CHECK_EQ_INT(cfg.carriers[0].bind, CONFIG_BIND_TX);
	CHECK(ob->enabled);
	CHECK_EQ_INT(ob->mode, CONFIG_LISTEN_OUTBIND);
	CHECK_EQ_STR(ob->system_id, "obc");
	CHECK_EQ_INT(ob->address.port, 2776);
	CHECK_EQ_INT(ob->max_binds, 1);           /* the default */
	CHECK_EQ_INT(ob->n_allowed_networks, 0);  /* any address */
	CHECK(config_password_verify("secret1", ob->password_hash) == 1);
	CHECK(eb->enabled);
	CHECK_EQ_INT(eb->mode, CONFIG_LISTEN_BIND);
	CHECK_EQ_INT(eb->address.family, AF_INET6);
	CHECK_EQ_INT(eb->max_binds, 3);
	CHECK_EQ_INT(eb->n_allowed_networks, 2);
	CHECK_EQ_INT(eb->allowed_networks[1].prefix, 32);
	CHECK(!cfg.carriers[2].listen.enabled);
	CHECK_EQ_INT(cfg.carriers[2].bind, CONFIG_BIND_TRANSCEIVER);
	config_free(&cfg);
}

/* allowed_campaigns is kept sorted for config_campaign_listed's binary
 * search, whatever order the file lists it in. */
static void test_campaign_list(void)
{
	struct config cfg;
	char err[512];
	int rc = load_string("listeners:\n  - {name: a, address: '127.0.0.1:0'}\n"
	    "accounts:\n"
	    "  - {system_id: r, password_hash: " H ", default_campaign: CM5,\n"
	    "     allowed_campaigns: [CZ9, CA1, CM5, CB2]}\n"
	    "  - {system_id: s, password_hash: " H "}\n", 0, &cfg, err, sizeof(err));

	if (rc != 0)
		printf("# %s\n", err);
	CHECK_EQ_INT(rc, 0);
	if (rc != 0)
		return;
	const struct config_account *r = config_find_account(&cfg, "r");
	const struct config_account *s = config_find_account(&cfg, "s");
	CHECK(r != NULL && s != NULL);
	if (r && s) {
		CHECK_EQ_INT(r->n_allowed_campaigns, 4);
		CHECK_EQ_STR(r->allowed_campaigns[0], "CA1");
		CHECK_EQ_STR(r->allowed_campaigns[3], "CZ9");
		CHECK_EQ_INT(config_campaign_listed(r, "CA1"), 1);
		CHECK_EQ_INT(config_campaign_listed(r, "CB2"), 1);
		CHECK_EQ_INT(config_campaign_listed(r, "CM5"), 1);
		CHECK_EQ_INT(config_campaign_listed(r, "CZ9"), 1);
		CHECK_EQ_INT(config_campaign_listed(r, "CA"), 0);
		CHECK_EQ_INT(config_campaign_listed(r, "CZ99"), 0);
		CHECK_EQ_INT(config_campaign_listed(r, "ca1"), 0);
		CHECK_EQ_INT(config_campaign_listed(r, NULL), 0);
		CHECK_EQ_INT(config_campaign_listed(s, "CA1"), 0); /* no list */
	}
	config_free(&cfg);
}

/* The first route that matches, as a walk of the list finds it: the
 * reference config_route_for's table must agree with. */
static const struct config_route *walk_routes(const struct config *cfg,
    const char *dst, const char *campaign)
{
	for (size_t i = 0; i < cfg->n_routes; i++) {
		const struct config_route *rt = &cfg->routes[i];

		if (rt->prefix && strncmp(dst, rt->prefix, strlen(rt->prefix)) != 0)
			continue;
		if (rt->campaign && (!campaign || strcmp(campaign, rt->campaign) != 0))
			continue;
		return rt;
	}
	return NULL;
}

/* config_route_for: by prefix and campaign, first match wins, with and
 * without a default route. */
static void test_route_for(void)
{
	static const char *const dsts[] = { "12125550100", "12025550100", "1212", "121",
		"1", "", "2", "4420", "44", "99" };
	static const char *const campaigns[] = { NULL, "C1", "C2", "C3" };
	struct config cfg;
	char err[512];
	int rc = load_string("listeners:\n  - {name: a, address: '127.0.0.1:0'}\n"
	    "carriers:\n  - {name: k, host: h, system_id: s}\n  - {name: m, host: h, system_id: s}\n"
	    "routes:\n"
	    "  - {match: {prefix: \"1212\"}, carriers: [k]}\n"
	    "  - {match: {campaign: C1}, carriers: [m]}\n"
	    "  - {match: {prefix: \"1\", campaign: C2}, carriers: [k]}\n"
	    "  - {match: {prefix: \"12\"}, carriers: [m]}\n"
	    "  - {match: {prefix: \"44\", campaign: C3}, carriers: [k]}\n"
	    "  - {match: {prefix: \"1\"}, carriers: [k, m]}\n"
	    "  - {match: {prefix: \"44\"}, carriers: [m]}\n", 0, &cfg, err, sizeof(err));

	if (rc != 0)
		printf("# %s\n", err);
	CHECK_EQ_INT(rc, 0);
	if (rc != 0)
		return;
	CHECK(cfg.route_index != NULL);
	int agree = 1;
	for (size_t i = 0; i < sizeof dsts / sizeof dsts[0]; i++)
		for (size_t k = 0; k < sizeof campaigns / sizeof campaigns[0]; k++)
			if (config_route_for(&cfg, dsts[i], campaigns[k]) !=
			    walk_routes(&cfg, dsts[i], campaigns[k])) {
				printf("# %s %s: table and walk differ\n", dsts[i],
				    campaigns[k] ? campaigns[k] : "-");
				agree = 0;
			}
	CHECK(agree);
	CHECK(config_route_for(&cfg, "12125550100", "C1") == &cfg.routes[0]);
	CHECK(config_route_for(&cfg, "12025550100", "C1") == &cfg.routes[1]);
	CHECK(config_route_for(&cfg, "12025550100", "C2") == &cfg.routes[2]);
	CHECK(config_route_for(&cfg, "12025550100", NULL) == &cfg.routes[3]);
	CHECK(config_route_for(&cfg, "13105550100", "C3") == &cfg.routes[5]);
	CHECK(config_route_for(&cfg, "4420", "C3") == &cfg.routes[4]);
	CHECK(config_route_for(&cfg, "4420", NULL) == &cfg.routes[6]);
	CHECK(config_route_for(&cfg, "99", NULL) == NULL);	/* no default route */
	CHECK(config_route_for(&cfg, "", NULL) == NULL);
	config_free(&cfg);

	rc = load_string("listeners:\n  - {name: a, address: '127.0.0.1:0'}\n"
	    "carriers:\n  - {name: k, host: h, system_id: s}\n"
	    "routes:\n  - {match: {prefix: \"1\"}, carriers: [k]}\n  - {carriers: [k]}\n",
	    0, &cfg, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	if (rc == 0) {
		CHECK(config_route_for(&cfg, "1310", NULL) == &cfg.routes[0]);
		CHECK(config_route_for(&cfg, "99", NULL) == &cfg.routes[1]);
		CHECK(config_route_for(&cfg, "", "C9") == &cfg.routes[1]);
		config_free(&cfg);
	}
}

/* A route that matches everything route i matches (the load refuses i). */
struct gen_route {
	char prefix[8];         /* "" for none */
	char campaign[8];       /* "" for any */
};

static bool gen_covers(const struct gen_route *j, const struct gen_route *i)
{
	return strncmp(i->prefix, j->prefix, strlen(j->prefix)) == 0 &&
	    (!j->campaign[0] || strcmp(i->campaign, j->campaign) == 0);
}

static void gen_yaml_route(char **p, const struct gen_route *r)
{
	*p += sprintf(*p, "  - match: {");
	if (r->prefix[0])
		*p += sprintf(*p, "prefix: \"%s\"%s", r->prefix, r->campaign[0] ? ", " : "");
	if (r->campaign[0])
		*p += sprintf(*p, "campaign: %s", r->campaign);
	*p += sprintf(*p, "}\n    carriers: [k]\n");
}

/*
 * Generated routes, prefixes of 0-6 digits over three digits and campaigns
 * of four names or none: each kept only when no earlier one covers it, by
 * the pairwise check the table replaced.  The table must answer as the
 * walk for every destination and campaign, and refuse each route the
 * generator dropped with the line of the first route covering it.
 */
static void test_route_table_generated(void)
{
	enum { N = 600, HIDDEN = 40, ROUTE_LINES = 2, HEAD_LINES = 5 };
	struct hidden_route {
		struct gen_route route;
		size_t by;      /* the first route that covers it */
	} hidden[HIDDEN];
	size_t n_hidden = 0;
	static const char *const campaigns[] = { "", "C0", "C1", "C2", "C3" };
	struct gen_route *r = calloc(N, sizeof(*r));
	char *yaml = malloc(N * 64 + 512), *p = yaml, err[512];
	size_t n = 0, tries = 0, agree = 1;
	struct config cfg;
	unsigned seed = 7;

	if (!r || !yaml) {
		CHECK(0);
		free(r);
		free(yaml);
		return;
	}
	while (n < N - 1 && tries++ < 100000) {
		struct gen_route g = { 0 };
		/* short prefixes rarely: each hides a tenth of what follows */
		size_t len = rand_r(&seed) % 50 ? 3 + (size_t)(rand_r(&seed) % 4)
		    : (size_t)(rand_r(&seed) % 3), j;

		for (size_t k = 0; k < len; k++)
			g.prefix[k] = (char)('1' + rand_r(&seed) % 3);
		strcpy(g.campaign, campaigns[rand_r(&seed) % 5]);
		if (len == 0 && !g.campaign[0])
			strcpy(g.campaign, "C0");	/* the default route comes last */
		for (j = 0; j < n && !gen_covers(&r[j], &g); j++)
			;
		if (j == n)
			r[n++] = g;
		else if (n_hidden < HIDDEN && rand_r(&seed) % 100 == 0)
			hidden[n_hidden++] = (struct hidden_route){ g, j };
	}
	p += sprintf(p, "listeners:\n  - {name: a, address: '127.0.0.1:0'}\n"
	    "carriers:\n  - {name: k, host: h, system_id: s}\nroutes:\n");
	n++;	/* r[n - 1] is still zeroed: the default route, last */
	for (size_t i = 0; i < n; i++)
		gen_yaml_route(&p, &r[i]);
	printf("# %zu routes kept of %zu generated\n", n, tries);
	CHECK(n > 30);
	int rc = load_string(yaml, 0, &cfg, err, sizeof(err));
	if (rc != 0)
		printf("# %s\n", err);
	CHECK_EQ_INT(rc, 0);
	if (rc == 0) {
		for (unsigned d = 0; d < 2000; d++) {
			char dst[8];
			size_t len = d % 8;

			for (size_t k = 0; k < len; k++)
				dst[k] = (char)('1' + rand_r(&seed) % 3);
			dst[len] = '\0';
			for (size_t k = 0; k < 5; k++) {
				const char *c = k ? campaigns[k] : NULL;

				if (config_route_for(&cfg, dst, c) != walk_routes(&cfg, dst, c)) {
					if (agree)
						printf("# %s %s: table and walk differ\n", dst, c ? c : "-");
					agree = 0;
				}
			}
		}
		CHECK(agree);
		config_free(&cfg);
	}
	/* routes the generator dropped, after the list: refused, naming the
	 * first route that covers each */
	size_t wrong = 0;
	CHECK(n_hidden > 10);
	for (size_t i = 0; i < n_hidden; i++) {
		char *end = p, want[64];

		gen_yaml_route(&end, &hidden[i].route);
		snprintf(want, sizeof(want), "the route at line %zu ",
		    HEAD_LINES + 1 + hidden[i].by * ROUTE_LINES);
		rc = load_string(yaml, (size_t)(end - yaml), &cfg, err, sizeof(err));
		if (rc == 0)
			config_free(&cfg);
		if (rc == 0 || !strstr(err, "can never match") || !strstr(err, want)) {
			if (!wrong)
				printf("# dropped route %zu: %s (wanted %s)\n", i,
				    rc ? err : "accepted", want);
			wrong++;
		}
	}
	CHECK_EQ_INT(wrong, 0);
	free(r);
	free(yaml);
}

static void test_bad_inputs(void)
{
	char err[1024], prefix[200];

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *b = &bad_cases[i];
		struct config cfg;
		int rc = load_string(b->yaml, b->len, &cfg, err, sizeof(err));
		int ok;

		snprintf(prefix, sizeof(prefix), "%s:%d: ", cfgpath, b->line);
		ok = rc == -1 && strncmp(err, prefix, strlen(prefix)) == 0 &&
		    strstr(err + strlen(prefix), b->want) != NULL &&
		    cfg.n_accounts == 0 && cfg.listeners == NULL;
		unit_report(ok, __FILE__, __LINE__, b->want);
		if (!ok)
			printf("#   case %zu: rc %d, got \"%s\", want \"%s%s\"\n", i,
			    rc, err, prefix, b->want);
	}
}

/* Inputs built at run time: too big to write out. */
static void test_huge_inputs(void)
{
	struct config cfg;
	char err[1024], want[400];
	size_t n = 1 << 20, depth = 100000;
	char *y = malloc(n + 200);
	int rc;

	/* a 1 MB string */
	strcpy(y, L "policy: ");
	memset(y + strlen(y), 'a', n);
	strcpy(y + strlen(L "policy: ") + n, "\n");
	rc = load_string(y, 0, &cfg, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:2: policy: too long (1048576 bytes", cfgpath);
	CHECK_EQ_INT(rc, -1);
	CHECK(strncmp(err, want, strlen(want)) == 0);
	free(y);

	/* deeply nested junk, under a known key and under an unknown one */
	for (int pass = 0; pass < 2; pass++) {
		const char *head = pass ? L "junk: " : L "node_id: ";
		size_t h = strlen(head);

		y = malloc(h + 2 * depth + 2);
		memcpy(y, head, h);
		memset(y + h, '[', depth);
		memset(y + h + depth, ']', depth);
		strcpy(y + h + 2 * depth, "\n");
		rc = load_string(y, 0, &cfg, err, sizeof(err));
		CHECK_EQ_INT(rc, -1);
		snprintf(want, sizeof(want), "%s:2: ", cfgpath);
		CHECK(strncmp(err, want, strlen(want)) == 0);
		CHECK(strstr(err, "nested more than 32 levels deep") != NULL);
		if (rc == 0 || strncmp(err, want, strlen(want)) != 0)
			printf("#   got \"%s\"\n", err);
		free(y);
	}
}

static void test_world_readable(void)
{
	static const char carrier_pw[] = L
	    "carriers:\n  - {name: k, host: h, system_id: s, password: pw1}\n";
	static const char token[] = L "admin:\n  token: 0123456789abcdef0123\n";
	struct config cfg;
	char err[1024], want[1024], secret[200];
	int rc;

	write_file(cfgpath, carrier_pw, strlen(carrier_pw), 0644);
	rc = config_load(cfgpath, &cfg, err, sizeof(err));
	CHECK_EQ_INT(rc, -1);
	snprintf(want, sizeof(want), "%s:3: carriers[0].password is a secret, but "
	    "%s is world-readable; fix it with: chmod 640 %s", cfgpath, cfgpath, cfgpath);
	CHECK(strncmp(err, want, strlen(want)) == 0);
	if (strncmp(err, want, strlen(want)) != 0)
		printf("#   got \"%s\"\n", err);

	chmod(cfgpath, 0640);
	rc = config_load(cfgpath, &cfg, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	if (rc == 0) {
		CHECK_EQ_STR(cfg.carriers[0].password, "pw1");
		config_free(&cfg);
	}

	write_file(cfgpath, token, strlen(token), 0604);
	rc = config_load(cfgpath, &cfg, err, sizeof(err));
	CHECK_EQ_INT(rc, -1);
	CHECK(strstr(err, ":3: admin.token is a secret") != NULL);
	CHECK(strstr(err, "chmod 640") != NULL);

	/* a token_file must not be world-readable either */
	snprintf(secret, sizeof(secret), "%s/admin.token", tmpdir);
	write_file(secret, "0123456789abcdef0123\n", 21, 0644);
	write_file(cfgpath, L "admin: {token_file: admin.token}\n",
	    strlen(L "admin: {token_file: admin.token}\n"), 0644);
	rc = config_load(cfgpath, &cfg, err, sizeof(err));
	CHECK_EQ_INT(rc, -1);
	snprintf(want, sizeof(want), "%s:2: admin.token_file: %s holds a secret but "
	    "is world-readable; fix it with: chmod 640 %s", cfgpath, secret, secret);
	CHECK(strncmp(err, want, strlen(want)) == 0);
	if (strncmp(err, want, strlen(want)) != 0)
		printf("#   got \"%s\"\n", err);

	chmod(secret, 0640);    /* the config itself holds no secret: 0644 is fine */
	rc = config_load(cfgpath, &cfg, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	if (rc == 0) {
		CHECK_EQ_STR(cfg.admin.token, "0123456789abcdef0123");
		config_free(&cfg);
	}
	unlink(secret);
}

static void test_missing_file(void)
{
	struct config cfg;
	char err[1024], want[400];

	snprintf(want, sizeof(want), "%s/nope.yaml", tmpdir);
	CHECK_EQ_INT(config_load(want, &cfg, err, sizeof(err)), -1);
	CHECK(strstr(err, "nope.yaml:1: cannot open: No such file") != NULL);
	CHECK_EQ_INT(config_load(tmpdir, &cfg, err, sizeof(err)), -1);
	CHECK(strstr(err, ":1: not a regular file") != NULL);
	/* a tiny error buffer truncates, never overflows */
	CHECK_EQ_INT(config_load(want, &cfg, err, 8), -1);
	CHECK_EQ_INT(strlen(err), 7);
}

static void test_password_roundtrip(void)
{
	char a[CONFIG_PASSWORD_HASH_MAX], b[CONFIG_PASSWORD_HASH_MAX], tiny[20];
	const char *why;

	CHECK_EQ_INT(config_password_hash("pass1234", a, sizeof(a)), 0);
	CHECK(strncmp(a, "pbkdf2-sha256$5000$", 19) == 0);
	CHECK_EQ_INT(config_password_verify("pass1234", a), 1);
	CHECK_EQ_INT(config_password_verify("pass1235", a), 0);
	CHECK_EQ_INT(config_password_verify("", a), 0);
	CHECK_EQ_INT(config_password_verify("pass12345", a), 0);
	CHECK_EQ_INT(config_password_check_encoding(a, &why), 0);
	CHECK_EQ_INT(config_password_hash("pass1234", b, sizeof(b)), 0);
	CHECK(strcmp(a, b) != 0);       /* fresh salt each time */
	CHECK_EQ_INT(config_password_verify("pass1234", b), 1);
	CHECK_EQ_INT(config_password_hash_iter("x", 1000, b, sizeof(b)), 0);
	CHECK(strncmp(b, "pbkdf2-sha256$1000$", 19) == 0);
	CHECK_EQ_INT(config_password_verify("x", b), 1);
	CHECK_EQ_INT(config_password_hash_iter("x", 10, b, sizeof(b)), -1);
	CHECK_EQ_INT(config_password_hash("x", tiny, sizeof(tiny)), -1);
	CHECK_EQ_INT(config_password_verify(NULL, a), -1);
}

/* The memo of the last verified password: a second bind with it skips
 * PBKDF2; a wrong password, or another hash, never rides on it. */
static void test_password_memo(void)
{
	char a[CONFIG_PASSWORD_HASH_MAX], b[CONFIG_PASSWORD_HASH_MAX];
	struct config_password_memo memo = { 0 };
	char long_pw[300];

	CHECK_EQ_INT(config_password_hash("pass1234", a, sizeof(a)), 0);
	CHECK_EQ_INT(config_password_hash("other999", b, sizeof(b)), 0);
	CHECK_EQ_INT(config_password_check(&memo, "pass1235", a), 0);
	CHECK_EQ_INT(memo.set, 0);      /* a wrong password is not remembered */
	CHECK_EQ_INT(config_password_check(&memo, "pass1234", a), 1);
	CHECK_EQ_INT(memo.set, 1);
	CHECK_EQ_INT(memo.hits, 0);
	CHECK_EQ_INT(config_password_check(&memo, "pass1234", a), 1);
	CHECK_EQ_INT(config_password_check(&memo, "pass1234", a), 1);
	CHECK_EQ_INT(memo.hits, 2);
	CHECK_EQ_INT(config_password_check(&memo, "pass1235", a), 0);
	CHECK_EQ_INT(config_password_check(&memo, "", a), 0);
	/* the hash changed (a reload): the old password is checked in full */
	CHECK_EQ_INT(config_password_check(&memo, "pass1234", b), 0);
	CHECK_EQ_INT(config_password_check(&memo, "other999", b), 1);
	CHECK_EQ_INT(memo.hits, 2);
	CHECK_EQ_INT(config_password_check(&memo, "pass1234", a), 1);
	CHECK_EQ_INT(memo.hits, 2);     /* the memo holds b's now */
	CHECK_EQ_INT(config_password_check(&memo, NULL, a), -1);
	CHECK_EQ_INT(config_password_check(&memo, "x", "not a hash"), -1);
	memset(long_pw, 'p', sizeof(long_pw) - 1);
	long_pw[sizeof(long_pw) - 1] = '\0';
	CHECK_EQ_INT(config_password_check(&memo, long_pw, a), 0);
}

static void test_password_malformed(void)
{
	static const char *const bad[] = {
		NULL, "", "pbkdf2-sha256", "pbkdf2-sha256$", "pbkdf2-sha256$$$",
		"pbkdf2-sha256$5000$$", "pbkdf2-sha1$5000$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==",
		"pbkdf2-sha256$999$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==",
		"pbkdf2-sha256$99999999999$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==",
		"pbkdf2-sha256$-5000$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==",
		"pbkdf2-sha256$5000$AAAA$AAAAAAAAAAAAAAAAAAAAAA==",        /* short salt */
		"pbkdf2-sha256$5000$AAAAAAAAAAA=$AAAA",                    /* short hash */
		"pbkdf2-sha256$5000$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA=",  /* bad length */
		"pbkdf2-sha256$5000$AA=AAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==", /* '=' inside */
		"pbkdf2-sha256$5000$AAAAAAAA!AA=$AAAAAAAAAAAAAAAAAAAAAA==",
		"pbkdf2-sha256$5000$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==$x",
		"pbkdf2-sha256$5000$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = config_password_verify("secret1", bad[i]);

		CHECK_EQ_INT(rc, -1);
		if (rc != -1)
			printf("#   case %zu: %s\n", i, bad[i] ? bad[i] : "(null)");
	}
	/* a well-formed encoding of the wrong password is a plain mismatch */
	CHECK_EQ_INT(config_password_verify("secret1",
	    "pbkdf2-sha256$1000$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA=="), 0);
}

int main(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/smppd-config-XXXXXX",
	    base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cfgpath, sizeof(cfgpath), "%s/smppd.yaml", tmpdir);

	RUN(test_example);
	RUN(test_defaults_and_units);
	RUN(test_carrier_listen);
	RUN(test_campaign_list);
	RUN(test_route_for);
	RUN(test_route_table_generated);
	RUN(test_bad_inputs);
	RUN(test_huge_inputs);
	RUN(test_world_readable);
	RUN(test_missing_file);
	RUN(test_password_roundtrip);
	RUN(test_password_malformed);
	RUN(test_password_memo);

	unlink(cfgpath);
	{
		char pw[400];

		snprintf(pw, sizeof(pw), "%s/pw", tmpdir);
		unlink(pw);
	}
	rmdir(tmpdir);
	return unit_done();
}
