/*
 * The relay: what the daemon's parts share.  Internal to mta/.
 *
 * One libevent loop runs everything but the disk: upstream sessions
 * (applications bound to us), carrier sessions (our binds to carriers), the
 * dispatcher that moves queued messages to carriers, and receipt delivery.
 * The store's writer thread commits; its completions come back on the loop
 * through the store's notify fd.  So the loop never waits on fsync, and a
 * submit_sm_resp with status 0 is written only from a completion.
 */
#ifndef SMPPD_MTA_RELAY_H
#define SMPPD_MTA_RELAY_H

#include <stdint.h>
#include <sys/socket.h>

#include "mta/config.h"
#include "mta/field.h"
#include "mta/throttle.h"
#include "smpp/pdu.h"
#include "smpp/session.h"
#include "store/store.h"

struct event_base;
struct event;
struct bufferevent;
struct evconnlistener;
struct relay;
struct conn;
struct multi;
struct dispatch;
struct policy;
struct policy_lookup;
struct compliance;
struct monitors;
struct hooks;
struct ssl_ctx_st;
struct guard;
struct carrier_listener;
struct metrics;
struct admin_server;
struct evhttp_request;

enum conn_kind { CONN_UPSTREAM, CONN_CARRIER };

/* Per account, at run time. */
struct account_rt {
	const struct config_account *cfg;   /* re-pointed by a reload */
	unsigned index;
	int removed;                /* dropped by a reload: kept until exit */
	unsigned binds;             /* sessions bound now */
	struct conn *receivers;     /* RX/TRX sessions, linked by next_rx */
	struct conn *rx_turn;       /* the receiver offered the next delivery */
	unsigned rx_burst;          /* deliveries rx_turn has had in a row */
	uint64_t receipt_cursor;    /* highest pending seq sent (not acked) */
	unsigned receipts_inflight;
	int receipt_rescan;         /* an ack failed: walk from the start */
	int push_wanted;            /* on r->push_list (upstream.c) */
	struct account_rt *push_next;
	struct thr_gcra ingress;    /* cfg->ingress_rate over all sessions */
	unsigned metrics_slot;      /* its counts in r->metrics (by system_id) */
	struct config_password_memo password; /* binds after the first */
};

/* Per carrier, at run time. */
struct carrier_rt {
	const struct config_carrier *cfg;   /* re-pointed by a reload */
	unsigned index;             /* unique for the process, never reused */
	int removed;                /* dropped or replaced by a reload */
	struct ssl_ctx_st *tls;     /* client context; NULL = plain */
	struct event *drain;        /* removed: unbinds once submits are answered */
	uint64_t drain_until;       /* mono ms: unbind then whatever is open */
	struct conn **sessions;     /* cfg->sessions slots, NULL when down */
	unsigned *failures;         /* consecutive connect failures per slot */
	struct event **retry;       /* reconnect timers per slot */
	unsigned n_slots;
	void *retry_args;
	unsigned bound;             /* sessions bound now */
	unsigned next_slot;         /* round robin */
	struct thr_gcra mps;        /* cfg->max_mps over all binds */
	struct thr_aimd aimd;       /* slows mps down on 0x58/0x14, back up on success */
	unsigned metrics_slot;      /* its counts in r->metrics (by name) */
	int limited;                /* max_mps set */
	int64_t down_since;         /* s: every bind down since (health.c) */
	uint64_t suspect_until;     /* mono ms: left a submit unanswered; routes
	                             * prefer other carriers until then */
};

struct conn {
	struct relay *relay;
	enum conn_kind kind;
	uint32_t index, gen;        /* handle: relay->conns[index], gen */
	struct bufferevent *bev;
	struct event *timer;
	uint64_t armed_deadline;    /* what timer was set for; UINT64_MAX: none */
	struct smpp_session *sess;
	char peer[64];
	struct sockaddr_storage peer_addr;
	int closed;                 /* CLOSED event seen: free when flushed */
	int in_callback;
	/* upstream */
	struct account_rt *account;
	int receives;               /* bound RX or TRX */
	struct conn *next_rx;
	/* carrier */
	struct carrier_rt *carrier;
	unsigned slot;
	int bound;
	struct thr_gcra bind_rate;  /* cfg->bind_mps, this bind alone */
	int bind_limited;
	struct carrier_listener *inbound; /* the carrier connected to us (carrier_in.c) */
};

/* A handle that survives the conn: resolve it before use. */
struct conn_ref {
	uint32_t index, gen;
};

/* What health.c remembers between its checks. */
struct relay_health {
	uint64_t last_queued, minute_ago;
	unsigned growing, checks;
	int store_warned, queue_warned;
};

#define HEALTH_EVERY_S 10

struct relay {
	struct event_base *base;
	struct config *cfg;
	struct store *store;
	struct event *store_ev;
	struct event *purge_ev;
	struct event *trim_ev;      /* store.resident_limit, every second */
	struct event *health_ev;
	struct relay_health health;
	struct event *dispatch_ev;
	struct event *push_ev;      /* sends stored receipts, once per loop turn */
	struct account_rt *push_list;       /* accounts with receipts to look for */
	struct event *sig_ev[3];
	struct evconnlistener **listeners;
	size_t n_listeners;

	/* Parallel to cfg->accounts and cfg->carriers.  Each runtime struct is
	 * allocated alone and outlives a reload that drops it (sessions,
	 * flights and pendings point at it): see reload.c. */
	struct account_rt **accounts;
	uint32_t *account_slots;            /* relay_account's index: see upstream.c */
	size_t account_slots_cap;
	struct campaign_owner *owners;      /* relay_account_for_campaign's index */
	size_t owners_cap;
	struct account_rt *only_receiver;   /* the one account taking deliveries, if one */
	struct carrier_rt **carriers;
	struct relay_retired *retired;      /* configs and structs kept until exit */
	int cfg_owned;                      /* cfg was allocated by a reload */
	struct carrier_listener **carrier_listeners; /* carrier_in.c */
	size_t n_carrier_listeners;
	unsigned carrier_ids;               /* next carrier_rt.index */

	struct conn **conns;        /* by index; NULL when free */
	uint32_t *conn_gens;
	uint32_t conns_cap;

	struct dispatch *dispatch;
	struct policy *policy;      /* NULL: no policy file */
	const struct policy_lookup *lookup; /* NULL: nothing on record */
	struct compliance *compliance;      /* opt-outs, consent, history */
	struct monitors *monitors;          /* per-campaign rate monitors */
	struct event *pause_ev;             /* re-reads pause records */
	struct hooks *hooks;                /* external policy hooks (hook.c) */
	const char *policy_path;
	int stopping;
	uint64_t stop_deadline;
	const char *ready_file;
	/* security (secure.c) */
	struct ssl_ctx_st **listener_tls;   /* per listener; NULL entry = plain */
	struct guard *guard;                /* failed binds per source address */
	struct metrics *metrics;            /* counters for GET /metrics (metrics.h) */
	struct admin_server *admin;         /* admin HTTP API (admin.c), or NULL */
};

/* --- policy (policy_glue.c) ---------------------------------------- */
int relay_policy_load(struct relay *r, char *err, size_t errcap);
const struct policy_lookup *relay_lookup(struct relay *r);
/* The account that sends for a campaign (allowed or default), or NULL. */
struct account_rt *relay_account_for_campaign(struct relay *r, const char *campaign);

/*
 * What carriers answer, fed to the rate monitors and line types
 * (monitor.h).  `campaign` is the message's campaign (its lane); a NULL
 * account is a keyword reply, which is not campaign traffic.
 */
/* A message the carrier accepted (SUBMITTED). */
void relay_note_sent(struct relay *r, const struct account_rt *a, const char *campaign);
/* A submit_sm_resp error (not a throttle): a listed status marks the
 * number; a permanent one counts as sent and as an error. */
void relay_note_answer(struct relay *r, const struct account_rt *a, const char *campaign,
    const struct carrier_rt *cr, const char *number, uint32_t status, int permanent);
/* A final receipt; failed: not DELIVRD.  A listed err marks the number. */
void relay_note_receipt(struct relay *r, const struct carrier_rt *cr, const struct store_msg *m,
    int failed, uint32_t err);
/* A number newly opted out of the campaign (NULL: no campaign owns it). */
void relay_note_optout(struct relay *r, const char *campaign);
/* 1 if m's campaign is paused: the dispatcher holds it (keyword replies
 * are never held), else 0. */
int relay_campaign_held(struct relay *r, const struct store_msg *m);
/* Re-reads pause records another process may have written (timer, SIGHUP). */
void relay_pause_poll(struct relay *r);

/* --- operator commands (pausectl.c): the store opened beside the daemon -- */
/* Attached (no recovery, see store.h); on failure prints "smppd: WHAT:
 * cannot open the store PATH: why" and returns NULL. */
struct store *opctl_store_attach(const struct config *cfg, size_t max_batch, const char *what);

/* --- operator commands (consentctl.c): smppd -c FILE --consent-import CSV */
/* 0 every row stored, 1 some rejected (reported by line) or a store error. */
int consentctl_import(const struct config *cfg, const struct policy *p, const char *path);

/* --- operator commands (auditctl.c): smppd -c FILE --audit ... ----- */
struct auditctl_args {
	const char *recipient, *campaign;   /* NULL: any */
	const char *since, *until;          /* NULL: the last 24 h */
	int json;                           /* JSON lines instead of a table */
};
/* Exit status: 0 listed (maybe nothing), 1 store error, 2 bad argument. */
int auditctl_main(const struct config *cfg, const struct auditctl_args *args);

/* --- operator commands (pausectl.c): smppd -c FILE --pause ... ----- */
enum pausectl_op { PAUSECTL_PAUSE, PAUSECTL_RESUME, PAUSECTL_STATUS };
/* Works beside a running daemon (store opened attached).  Returns the
 * exit code: 0 done (or nothing to change), 1 with the error on stderr. */
int pausectl_main(const struct config *cfg, const struct policy *p, enum pausectl_op op,
    const char *campaign);

/* --- reload (reload.c): SIGHUP --------------------------------------- */
/* A runtime account for CFG (ingress limiter set).  NULL if out of memory. */
struct account_rt *account_rt_new(struct relay *r, const struct config_account *cfg,
    unsigned index);
/* Re-read r->cfg->path and apply it; on any error log it and keep
 * everything as it was.  0 applied, -1 kept. */
int relay_reload(struct relay *r);
/* Free what reloads retired (at exit). */
void relay_retired_free(struct relay *r);
/* --- admin HTTP API (admin.c): listens only with an admin: section --- */
int admin_start(struct relay *r);
void admin_stop(struct relay *r);
void admin_completion(struct relay *r, const struct store_completion *sc);

/* --- health (health.c): carriers down, store filling, queue growing - */
void health_check(struct relay *r);
int health_interval_s(void);

/* --- time -------------------------------------------------------- */
uint64_t relay_mono_ms(void);   /* sessions' clock */
uint64_t relay_turn_us(void);   /* the same, in microseconds */
uint64_t relay_turn_since_us(uint64_t then_us); /* from then to this turn, 0 if later */
int64_t relay_wall_ms(void);    /* the store's clock */
int64_t relay_now_us(void);     /* the same in us: the throttles' clock */
/* From then on relay_wall_ms() gives base's time of the current loop turn
 * (relay_now_us() still reads the clock). */
void relay_clock_base(struct event_base *base);

/* --- connections (conn.c) ---------------------------------------- */
struct conn *conn_new(struct relay *r, enum conn_kind kind, int fd,
    const struct smpp_session_config *scfg, const char *peer);
/* The same over TLS: SSL (tls.h) is owned by the conn, freed on failure
 * too.  Upstream conns accept the handshake, carrier conns start it. */
struct ssl_st;
struct conn *conn_new_tls(struct relay *r, enum conn_kind kind, int fd,
    const struct smpp_session_config *scfg, const char *peer, struct ssl_st *ssl);
void conn_flush(struct conn *c);
void conn_nodelay(struct conn *c);   /* TCP_NODELAY on its socket */
void conn_resume(struct conn *c);
void conn_arm(struct conn *c);
/* After sending a request outside the connection's own callbacks: move the
 * timer earlier if the request's response deadline comes first. */
void conn_request_sent(struct conn *c);
struct conn_ref conn_ref(const struct conn *c);
struct conn *conn_get(struct relay *r, struct conn_ref ref);
/* Close now: the session reports its outstanding requests, then frees. */
void conn_close(struct conn *c);

/* --- upstream (upstream.c) --------------------------------------- */
/* The running account of this system_id, or NULL. */
struct account_rt *relay_account(struct relay *r, const char *system_id);
/* (Re)builds the indexes of r->accounts (relay_account and
 * relay_account_for_campaign): after they change. */
void relay_index_accounts(struct relay *r);
/* relay_account_for_campaign's index: 1 and *owner (NULL: none listed it),
 * or 0 when the index could not be built. */
int relay_campaign_owner(struct relay *r, const char *campaign, struct account_rt **owner);
void upstream_event(struct conn *c, const struct smpp_event *ev);
void upstream_closed(struct conn *c);
int upstream_listen(struct relay *r);
void upstream_stop(struct relay *r);
void upstream_completion(struct relay *r, const struct store_completion *sc);
void upstream_push_receipts(struct relay *r, struct account_rt *a);

/* --- carriers (carrier.c) ---------------------------------------- */
int carrier_start(struct relay *r);
/* A carrier's runtime (TLS context built, binds not started).  NULL with
 * the reason logged. */
struct carrier_rt *carrier_rt_new(struct relay *r, const struct config_carrier *cfg);
void carrier_rt_connect(struct relay *r, struct carrier_rt *cr);
/* Unbind every session of CR (in-flight answers still handled) and stop
 * reconnecting; CR stays allocated for what points at it. */
void carrier_retire(struct relay *r, struct carrier_rt *cr);
/* CR's max_mps and bind_mps from its (new) cfg, binds kept. */
void carrier_apply_limits(struct carrier_rt *cr);
void carrier_rt_free(struct carrier_rt *cr);

/* --- carriers that connect to us (carrier_in.c) ------------------- */
int carrier_in_listen(struct relay *r);
void carrier_in_event(struct conn *c, const struct smpp_event *ev);
void carrier_in_closed(struct conn *c);
/* 1 if carrier NAME's listener is open on address A (a reload compares). */
int carrier_in_listening(const struct relay *r, const char *name, const struct config_addr *a);
void carrier_in_stop(struct relay *r);
void carrier_in_free(struct relay *r);
void carrier_connected(struct conn *c);
void carrier_stop(struct relay *r);
/* SIGTERM: every carrier's binds unbind as their submits are answered,
 * the last by until (mono ms); nothing new is dispatched meanwhile. */
void carrier_drain_all(struct relay *r, uint64_t until);
void carrier_free(struct relay *r);
void carrier_feedback(struct carrier_rt *cr, uint32_t status);
uint32_t carrier_burst(double mps);
void carrier_event(struct conn *c, const struct smpp_event *ev);
void carrier_closed(struct conn *c);
void carrier_completion(struct relay *r, const struct store_completion *sc);

/* --- dispatch (dispatch.c) --------------------------------------- */
int dispatch_init(struct relay *r);
void dispatch_free(struct relay *r);
void dispatch_lane_has_work(struct relay *r, const char *lane, int64_t due_ms);
/* The lane's name as the dispatcher keeps it: valid until exit. */
const char *dispatch_lane_name(struct relay *r, const char *lane);
void dispatch_kick(struct relay *r);
/* A carrier session has room again, or a new one is bound. */
void dispatch_capacity(struct relay *r);
int dispatch_submit_to(struct conn *c, const struct store_msg *m);
void dispatch_completion(struct relay *r, const struct store_completion *sc);
void dispatch_carrier_response(struct conn *c, const struct smpp_event *ev);
void dispatch_carrier_lost(struct conn *c, uint64_t cookie);
int dispatch_receipt(struct conn *c, const struct smpp_pdu *pdu, uint32_t seq);

/* --- store completions are routed by cookie kind ------------------- */
enum pending_kind {
	PENDING_SUBMIT_ACK = 1,     /* upstream submit/data_sm: answer when committed */
	PENDING_MULTI,              /* one destination of a submit_multi */
	PENDING_CANCEL,
	PENDING_REPLACE,
	PENDING_MARK,               /* dispatcher marks */
	PENDING_REQUEUE,            /* a message back in its lane: wake the lane */
	PENDING_RECEIPT_IN,         /* carrier deliver_sm: answer when committed */
	PENDING_RECEIPT_ACK,
	PENDING_ADMIN,              /* an admin API write: answer when committed */
	PENDING_NONE,
};

struct pending {
	enum pending_kind kind;
	struct conn_ref conn;
	uint32_t sequence;
	uint32_t command_id;
	uint32_t extra;             /* kind-specific */
	uint64_t msg_id;            /* RECEIPT_IN: message being finalised */
	const char *lane;           /* SUBMIT_ACK, MULTI: lane that got work */
	int64_t due_ms;             /* SUBMIT_ACK, MULTI: when it is due */
	uint64_t read_us;           /* SUBMIT_ACK: relay_turn_us() it went to the store */
	struct multi *multi;        /* MULTI */
	struct account_rt *account; /* RECEIPT_IN: whose deliveries grew */
	struct evhttp_request *http; /* ADMIN: the request to answer */
	char *reply;                /* ADMIN: its answer (malloc), sent then */
	struct pending *next_free;
};

struct pending *pending_get(struct relay *r, enum pending_kind kind);
void pending_put(struct pending *p);

/* Pending upstream deliveries (receipts and MOs) as stored, see dlr.c. */
struct dlr {
	uint8_t kind;               /* DLR_RECEIPT or DLR_MO */
	uint64_t msg_id;            /* ours; 0 for MO */
	uint8_t stat;               /* enum smpp_stat */
	uint32_t err;
	int64_t submit_ms, done_ms;
	uint8_t src_ton, src_npi, dst_ton, dst_npi;
	const char *src, *dst;
	uint8_t data_coding, esm_class;
	const uint8_t *body;
	size_t body_len;
};
enum { DLR_RECEIPT = 1, DLR_MO = 2 };
#define DLR_MAX 4096
int dlr_encode(const struct dlr *d, uint8_t *out, size_t cap, size_t *len);
int dlr_decode(const uint8_t *in, size_t len, struct dlr *d);

#endif
