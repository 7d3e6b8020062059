/*
 * smppsim internals: the connection glue shared by `smppsim carrier` and
 * `smppsim app`, and small helpers (clock, PRNG, strict number parsing).
 *
 * A sim_conn is one TCP connection driven by one smpp_session engine.
 * Bytes read are fed to the engine straight out of the bufferevent's
 * input; events go to the owner's ops; the engine's output is copied into
 * the bufferevent once per callback (sim_flush_dirty), so that a read of
 * many PDUs becomes one write.  Connections live in a fixed table and are
 * named by (slot, generation) so that queued work can refer to one that
 * may have gone since.
 *
 * Everything is allocated at connect/accept time; nothing per message.
 */
#ifndef SMPPD_MTA_SIM_H
#define SMPPD_MTA_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "smpp/pdu.h"
#include "smpp/session.h"

#define SIM_MAX_CONNS 1024u

/* Exit codes of both subcommands. */
enum { SIM_EXIT_OK = 0, SIM_EXIT_FAIL = 1, SIM_EXIT_USAGE = 2 };

struct sim_conn;

struct sim_conn_ops {
	/* An engine event (every kind, CLOSED included). */
	void (*event)(struct sim_conn *c, const struct smpp_event *ev, uint64_t now);
	/* ESME side: the TCP connection is up (send the bind now). */
	void (*connected)(struct sim_conn *c, uint64_t now);
	/* The connection is about to be freed (after its CLOSED event). */
	void (*gone)(struct sim_conn *c);
};

struct sim_conn {
	struct bufferevent *bev;
	struct smpp_session *s;
	void *mem;
	const struct sim_conn_ops *ops;
	uint32_t slot, gen;
	uint32_t window;
	int closed;     /* the engine is CLOSED: flush, then free */
	int dirty;      /* engine output not yet handed to the bufferevent */
	struct sim_conn *dirty_next;
	uint64_t bound_seq; /* order of binding, for "the first receiver" */
	/* owner data */
	char system_id[17];
	int can_rx, can_tx;
	int tag;
	char peer[64];
};

/* Milliseconds and microseconds from a monotonic origin; wall clock ms. */
uint64_t sim_now_ms(void);
uint64_t sim_now_us(void);
/* Zeroes [p, p+len) before the run, on 2 MiB pages where the kernel allows:
 * the tables indexed by message (touched once per message, at random for
 * the id table) then cost neither a page fault per 4 KiB nor a TLB miss per
 * lookup during the run, CPU and stalls the load generator would otherwise
 * take from the program it drives and add to the latencies it reports. */
void sim_prefault(void *p, size_t len);
int64_t sim_wall_ms(void);

/* xorshift64*: deterministic with a seed. */
struct sim_rng {
	uint64_t s;
};
void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, n). */
uint32_t sim_rng_below(struct sim_rng *r, uint32_t n);

/* The loop the simulators run on (libevent's, epoll changes batched). */
struct event_base *sim_base_new(void);

/*
 * The table of connections.  sim_init once per process with the loop.
 * sim_conn_new wraps fd (accepted; -1 for an outbound one, then call
 * sim_conn_connect).  Returns NULL when the table is full.
 */
void sim_init(struct event_base *base);
struct sim_conn *sim_conn_new(int fd, const struct smpp_session_config *cfg,
    const struct sim_conn_ops *ops);
int sim_conn_connect(struct sim_conn *c, const struct sockaddr *sa, socklen_t len);
struct sim_conn *sim_conn_get(uint32_t slot, uint32_t gen);
/* Iterate: i from 0 while i < sim_conn_limit(); sim_conn_at(i) may be NULL. */
uint32_t sim_conn_limit(void);
struct sim_conn *sim_conn_at(uint32_t i);
unsigned sim_conn_count(void);

/*
 * Engine calls that make room in the engine's buffer by handing it to the
 * bufferevent when it is full.  Return the engine's code otherwise.
 */
int sim_conn_send(struct sim_conn *c, struct smpp_pdu *req, uint64_t cookie,
    uint64_t now);
int sim_conn_respond(struct sim_conn *c, const struct smpp_pdu *resp);
int sim_conn_accept(struct sim_conn *c, const char *system_id, uint64_t now);
int sim_conn_reject(struct sim_conn *c, uint32_t status);
int sim_conn_unbind(struct sim_conn *c, uint64_t now);
/* Room for one more request of ours. */
int sim_conn_has_room(const struct sim_conn *c);

/* Close now: ABORTED and CLOSED events are delivered, then the conn is
 * freed (its pending output is dropped). */
void sim_conn_drop(struct sim_conn *c);

/* Timers of every connection (call every few ms), then flush. */
void sim_tick_all(uint64_t now);
/* Hand every connection's pending engine output to its socket. */
void sim_flush_dirty(void);
/* Called after every socket callback, before the flush (owners pump
 * their queues there). */
void sim_set_after(void (*fn)(uint64_t now));
/* Free every connection (at exit). */
void sim_conn_free_all(void);

/* --- parsing helpers: 0 or -1; messages name the option ------------- */

int sim_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
    uint64_t *out);
int sim_parse_double(const char *opt, const char *s, double min, double max,
    double *out);
/* "SRC DST TEXT" split helper is local to the carrier. */

/* Print "smppsim: MSG" to stderr. */
void sim_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- TLS (sim_tls.c): --tls-cert, --tls-key, --tls-ca ----------------- */

/* Take the TLS options out of argv (before the mode's getopt). 0 or -1. */
int sim_tls_args(int *argc, char **argv);
/* Build the context if TLS was asked for; CONNECT is the app's --connect
 * (the host its server must name).  0 (also without TLS) or -1. */
int sim_tls_setup(int server, const char *connect);
/* A socket bufferevent, or a TLS one when TLS is set up.  NULL on error. */
struct bufferevent *sim_tls_bev(struct event_base *base, int fd);
/* Print why a TLS connection failed, if it was one and it is known. */
void sim_tls_report(struct bufferevent *bev, const char *peer);
void sim_tls_free(void);

int sim_carrier_main(int argc, char **argv);
int sim_app_main(int argc, char **argv);
extern int sim_verbose;

#endif
