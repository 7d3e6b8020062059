/*
 * The daemon's configuration: conf/smppd.yaml parsed into plain structs.
 *
 * config_load() reads the whole file, parses it with libyaml and checks
 * every key against a table per section: unknown keys, wrong types, values
 * out of range, missing required keys and cross-references (duplicate
 * names, routes naming unknown carriers) are all refused.  The first error
 * is reported as "FILE:LINE: what.is.wrong: message" and nothing is kept.
 * Every optional key has a default, documented in conf/smppd.yaml.
 *
 * Relative paths in the file (policy, store.path, TLS files, password_file,
 * token_file) are resolved against the directory of the config file, so
 * the strings below are ready to open().
 *
 * Ownership: struct config owns every string and array reachable from it.
 * All of it is allocated by config_load() and released by config_free();
 * nothing points into libyaml or into the file buffer.  After a failed
 * config_load() the struct is zeroed and config_free() is a no-op on it.
 * Secrets read from password_file/token_file are copied into the struct
 * (carrier.password, admin.token) and wiped by config_free().
 *
 * Units: durations are milliseconds (uint64_t, "_ms" suffix), sizes are
 * bytes (uint64_t), rates are messages per second (double, 0 = unlimited).
 */
#ifndef SMPPD_MTA_CONFIG_H
#define SMPPD_MTA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* SMPP 3.4 C-octet string limits, without the NUL. */
#define CONFIG_SYSTEM_ID_MAX   15
#define CONFIG_PASSWORD_MAX    8
#define CONFIG_SYSTEM_TYPE_MAX 12

/* A numeric socket address: "127.0.0.1:2775", "[::1]:2775", port 0 allowed. */
struct config_addr {
	char host[64];                  /* as written, without brackets */
	int port;                       /* 0..65535 */
	int family;                     /* AF_INET or AF_INET6 */
	struct sockaddr_storage sa;     /* ready for bind() */
	socklen_t salen;
};

/* "10.0.0.0/8", "2001:db8::/32"; a bare address is a /32 or /128. */
struct config_cidr {
	int family;                     /* AF_INET or AF_INET6 */
	uint8_t addr[16];               /* network byte order; 4 used for v4 */
	int prefix;                     /* 0..32 or 0..128 */
};

enum config_tls_version { CONFIG_TLS_1_2 = 0, CONFIG_TLS_1_3 };

/* One struct for both ends; each section accepts only its own keys. */
struct config_tls {
	bool enabled;                   /* the tls: section was present */
	char *cert;                     /* PEM chain (required on servers) */
	char *key;                      /* PEM private key */
	char *ca;                       /* PEM CA bundle; NULL = system store */
	char *ciphers;                  /* OpenSSL cipher list; NULL = default */
	char *ciphersuites;             /* TLS 1.3 suites; NULL = default */
	int min_version;                /* enum config_tls_version */
	bool require_client_cert;       /* server side only */
	bool verify_host;               /* client side only */
};

enum config_segmentation {
	CONFIG_SEG_UDH8 = 0, CONFIG_SEG_UDH16, CONFIG_SEG_SAR, CONFIG_SEG_PAYLOAD,
};

/* TX: transmitter binds only, for a carrier that delivers its receipts
 * and MOs over connections it makes to us (config_carrier.listen). */
enum config_bind { CONFIG_BIND_TRANSCEIVER = 0, CONFIG_BIND_TX_RX, CONFIG_BIND_TX };

/* How a carrier that connects to us delivers (config_carrier_listen). */
enum config_listen_mode {
	CONFIG_LISTEN_BIND = 0,         /* it binds to us as an ESME */
	CONFIG_LISTEN_OUTBIND,          /* it sends outbind; we bind_receiver */
};

/*
 * A carrier that connects to smppd to deliver receipts and MOs: its own
 * listener (carriers and applications never share one, so neither can
 * authenticate as the other), the credentials it presents (bind or
 * outbind system_id/password) and where it may come from.  Submits still
 * go out over our binds to host:port.
 */
struct config_carrier_listen {
	bool enabled;                   /* the listen: section was present */
	struct config_addr address;
	int mode;                       /* enum config_listen_mode */
	char *system_id;                /* what the carrier presents */
	char *password_hash;            /* config_password_hash() format */
	struct config_cidr *allowed_networks; /* empty = any address */
	size_t n_allowed_networks;
	int max_binds;                  /* its connections at once */
	int line;
};

enum config_msgid_format {
	CONFIG_MSGID_AUTO = 0,
	CONFIG_MSGID_AS_IS,
	CONFIG_MSGID_HEX_RESP_DEC_RECEIPT,
	CONFIG_MSGID_DEC_RESP_HEX_RECEIPT,
};

enum config_log_level {
	CONFIG_LOG_DEBUG = 0, CONFIG_LOG_INFO, CONFIG_LOG_WARN, CONFIG_LOG_ERROR,
};

enum config_log_target { CONFIG_LOG_STDERR = 0, CONFIG_LOG_SYSLOG };

struct config_store {
	char *path;                     /* LMDB environment directory */
	uint64_t map_size;              /* bytes */
	uint64_t retention_ms;          /* keep finished messages this long */
	uint64_t purge_interval_ms;     /* how often older ones are removed */
	int max_batch;                  /* operations per write transaction */
	bool fsync;
	uint64_t resident_limit;        /* bytes of map kept in RSS; 0: no trim */
};

struct config_listener {
	char *name;
	struct config_addr address;
	struct config_tls tls;
	uint64_t max_pdu;               /* bytes; larger PDUs drop the session */
	uint64_t bind_timeout_ms;       /* a connection must bind within this */
	int line;                       /* of the list item, for later messages */
};

struct config_account {
	char *system_id;
	char *password_hash;            /* config_password_hash() format */
	int max_binds;                  /* concurrent sessions */
	int window;                     /* outstanding incoming requests/session */
	double ingress_rate;            /* submits per second; 0 = unlimited */
	char **allowed_campaigns;       /* empty = any approved campaign; sorted */
	size_t n_allowed_campaigns;
	struct config_cidr *allowed_networks; /* empty = any address */
	size_t n_allowed_networks;
	char *default_campaign;         /* NULL = none */
	bool receipts;                  /* pass receipts on to this account */
	bool require_tls;               /* bind only over a TLS listener */
	bool require_client_cert;       /* ... with a verified client cert */
	char *client_cert_name;         /* ... naming this (CN or DNS SAN) */
	char **allowed_sources;         /* source number prefixes; empty = any */
	size_t n_allowed_sources;
	int segmentation;               /* enum config_segmentation */
	int line;
};

/*
 * Codes a carrier answers with that say what the destination number is.
 * Receipt errors are the `err:` value of the receipt text (or the code of
 * its network_error_code TLV); statuses are submit_sm_resp command_status
 * values.  The two are separate lists because they are separate number
 * spaces (err 11 is not status 0x0B).
 */
#define CONFIG_CODES_MAX 32
struct config_codes {
	uint32_t v[CONFIG_CODES_MAX];
	size_t n;
};

struct config_carrier {
	char *name;
	char *host;                     /* name or address, resolved at connect */
	int port;
	struct config_tls tls;
	char *system_id;
	char *password;                 /* inline or read from password_file */
	char *password_file;            /* NULL if the password was inline */
	char *system_type;              /* "" by default */
	int bind;                       /* enum config_bind */
	int sessions;
	int window;                     /* outstanding submits per session */
	double max_mps;                 /* 0 = unlimited */
	double bind_mps;                /* per bind; 0 = unlimited */
	uint64_t enquire_link_ms;
	uint64_t response_timeout_ms;
	uint64_t reconnect_initial_ms;
	uint64_t reconnect_max_ms;
	int segmentation;               /* enum config_segmentation */
	int message_id_format;          /* enum config_msgid_format */
	/* mark the destination number landline / invalid (policy 0x406) */
	struct config_codes landline_errors;           /* receipt err: */
	struct config_codes unknown_subscriber_errors; /* receipt err: */
	struct config_codes landline_statuses;         /* submit_sm_resp */
	struct config_codes unknown_subscriber_statuses; /* default 0x0B */
	struct config_carrier_listen listen;
	int line;
};

struct config_route {
	char *prefix;                   /* destination digits; NULL = any */
	char *campaign;                 /* NULL = any */
	char **carriers;                /* names, failover order, n >= 1 */
	size_t *carrier_index;          /* index into config.carriers */
	size_t n_carriers;
	int line;
};

struct config_admin {
	bool enabled;                   /* the admin: section was present */
	struct config_addr address;
	char *token;                    /* NULL = no auth (loopback only) */
	char *token_file;
	struct config_tls tls;
};

/* Campaigns paused by a rate monitor or by `smppd --pause`. */
struct config_pause {
	uint64_t recheck_ms;            /* a held message waits this long */
	uint64_t poll_ms;               /* pause records re-read this often */
};

/* Failed binds per source address (IPv6: per /64), see mta/guard.h. */
struct config_bind_limit {
	int failures;                   /* this many in `window` block; 0 = off */
	uint64_t window_ms;
	uint64_t block_ms;              /* binds refused this long */
	int table_size;                 /* addresses tracked at most */
};

struct config_log {
	int level;                      /* enum config_log_level */
	int target;                     /* enum config_log_target */
};

struct config {
	char *path;                     /* the file that was loaded */
	int node_id;                    /* 0..1023, part of every message id */
	int receipt_cache;              /* messages sent kept for their receipts */
	char *policy;                   /* NULL if absent */
	struct config_store store;
	struct config_listener *listeners;
	size_t n_listeners;
	struct config_account *accounts;
	size_t n_accounts;
	struct config_carrier *carriers;
	size_t n_carriers;
	struct config_route *routes;    /* first match wins */
	size_t n_routes;
	struct config_route_index *route_index; /* config_route_for's (config.c) */
	struct config_admin admin;
	struct config_pause pause;
	struct config_bind_limit bind_limit;
	struct config_log log;
};

/*
 * Load and validate PATH into OUT.  Returns 0, or -1 with a NUL-terminated
 * "FILE:LINE: message" in ERR (truncated to ERRCAP).  OUT is overwritten.
 */
int config_load(const char *path, struct config *out, char *err,
    size_t errcap);

/* Free everything OUT owns and zero it.  Safe on a zeroed struct. */
void config_free(struct config *out);

/* Lookups by name; NULL if absent.  The result lives as long as CFG. */
const struct config_account *config_find_account(const struct config *cfg,
    const char *system_id);
const struct config_carrier *config_find_carrier(const struct config *cfg,
    const char *name);
/* The first route that matches a destination and campaign, as a walk of
 * cfg->routes in order would find it, NULL for none; with a table of the
 * routes by prefix, looked up once per prefix length of dst. */
const struct config_route *config_route_for(const struct config *cfg,
    const char *dst, const char *campaign);
/* 1 when campaign is in a's allowed_campaigns (a binary search: every
 * submit asks, and a reseller's account may list thousands). */
int config_campaign_listed(const struct config_account *a, const char *campaign);

/*
 * Account password hashes: "pbkdf2-sha256$ITER$SALT_B64$HASH_B64" with a
 * 16-byte random salt and a 32-byte PBKDF2-HMAC-SHA256 output, standard
 * base64 with padding.  ITER is read back from the encoding, so raising
 * CONFIG_PASSWORD_ITERATIONS later keeps old hashes valid.
 */
#define CONFIG_PASSWORD_ITERATIONS 5000
#define CONFIG_PASSWORD_ITER_MIN   1000
#define CONFIG_PASSWORD_ITER_MAX   10000000
#define CONFIG_PASSWORD_HASH_MAX   128  /* buffer size that always fits */

/* Hash PASSWORD with ITERATIONS (0 = the default).  0 or -1. */
int config_password_hash_iter(const char *password, unsigned iterations,
    char *out, size_t cap);
int config_password_hash(const char *password, char *out, size_t cap);

/* 1 if PASSWORD matches, 0 if not, -1 if ENCODED is malformed. */
int config_password_verify(const char *password, const char *encoded);

/*
 * The last password verified against an account's hash, remembered as a
 * keyed hash (HMAC-SHA256 under a key drawn once per process) of the
 * stored hash and the password: a client that rebinds its sessions pays
 * PBKDF2 once, not once a bind (1,000 binds were 1.2-2.1 s of the loop).
 * A wrong password, or a hash changed by a reload, misses it and is
 * verified in full.  Zeroed: nothing remembered.
 */
struct config_password_memo {
	unsigned char mac[32];
	int set;
	unsigned long hits;     /* binds that skipped PBKDF2 */
};

/* As config_password_verify, through MEMO: 1, 0, or -1. */
int config_password_check(struct config_password_memo *memo,
    const char *password, const char *encoded);

/* 0 if ENCODED is well formed, else -1 with a reason in WHY. */
int config_password_check_encoding(const char *encoded, const char **why);

#endif
