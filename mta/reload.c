/*
 * SIGHUP: the configuration file read again and applied to the running
 * daemon, without dropping what did not change.
 *
 * The new file is loaded and checked in full first (config_load), then
 * everything that can still fail is built aside (carrier TLS contexts,
 * new runtime structs, listener certificates); only when all of it
 * succeeded is the swap made, in one go on the loop, so routes, accounts
 * and carriers change atomically.  Any failure is logged and the daemon
 * carries on exactly as before.
 *
 * Lifetimes: sessions, flights, pendings and stored-message views point
 * into struct config (names, hashes) and at account_rt/carrier_rt.  So a
 * reload never frees either: the previous config and the runtime structs
 * a reload dropped are kept on r->retired until exit.  A reload costs the
 * size of one parsed config file, which is small beside what an operator
 * can send with SIGHUP.
 *
 * What the swap does:
 *   account kept (same system_id)   its sessions stay up; password, networks
 *                                   and the other keys apply to new binds,
 *                                   ingress_rate at once
 *   account added / removed         binds accepted / its sessions unbound
 *   carrier, same connection        binds stay up; max_mps, bind_mps and
 *                                   window apply at once
 *   carrier, connection changed     (host, port, TLS, credentials, bind type,
 *                                   sessions, timers) old binds unbound,
 *                                   new ones opened with the new settings
 *   carrier added / removed         binds opened / unbound; in-flight answers
 *                                   are still handled, queued messages go
 *                                   where the new routes say
 *   routes                          replaced
 *   listener TLS                    certificate and key read again: new
 *                                   connections get them
 *   node_id, store, listener        "needs restart": logged, the running
 *   addresses, bind_limit, log      value kept
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "mta/config.h"
#include "mta/log.h"
#include "mta/metrics.h"
#include "mta/relay.h"
#include "mta/secure.h"

struct relay_retired {
	struct config *cfg;         /* NULL: none; freed only when cfg_owned */
	int cfg_owned;
	struct account_rt *account;
	struct carrier_rt *carrier;
	struct relay_retired *next;
};

static int retire(struct relay *r, struct config *cfg, int owned, struct account_rt *a,
    struct carrier_rt *cr)
{
	struct relay_retired *t = calloc(1, sizeof *t);
	if (!t)
		return -1;
	*t = (struct relay_retired){ cfg, owned, a, cr, r->retired };
	r->retired = t;
	return 0;
}

void relay_retired_free(struct relay *r)
{
	while (r->retired) {
		struct relay_retired *t = r->retired;
		r->retired = t->next;
		if (t->cfg && t->cfg_owned) {
			config_free(t->cfg);
			free(t->cfg);
		}
		free(t->account);
		carrier_rt_free(t->carrier);
		free(t);
	}
	if (r->cfg_owned) {
		config_free(r->cfg);
		free(r->cfg);
		r->cfg = NULL;
		r->cfg_owned = 0;
	}
}

static void set_ingress(struct account_rt *a)
{
	/* a burst of a tenth of a second's worth, at least one */
	double rate = a->cfg->ingress_rate;
	thr_gcra_init(&a->ingress);
	if (rate > 0)
		thr_gcra_set_rate(&a->ingress, rate, rate >= 10 ? (uint32_t)(rate / 10) : 1,
		    relay_now_us());
}

struct account_rt *account_rt_new(struct relay *r, const struct config_account *cfg,
    unsigned index)
{
	struct account_rt *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->cfg = cfg;
	a->index = index;
	a->metrics_slot = metrics_account_slot(r->metrics, cfg->system_id);
	set_ingress(a);
	return a;
}

static int same_str(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static int same_tls(const struct config_tls *a, const struct config_tls *b)
{
	return a->enabled == b->enabled && same_str(a->cert, b->cert) && same_str(a->key, b->key) &&
	    same_str(a->ca, b->ca) && same_str(a->ciphers, b->ciphers) &&
	    same_str(a->ciphersuites, b->ciphersuites) && a->min_version == b->min_version &&
	    a->verify_host == b->verify_host;
}

/* What the binds were opened with: a change means binding again. */
static int same_connection(const struct config_carrier *a, const struct config_carrier *b)
{
	return same_str(a->host, b->host) && a->port == b->port && same_tls(&a->tls, &b->tls) &&
	    same_str(a->system_id, b->system_id) && same_str(a->password, b->password) &&
	    same_str(a->system_type, b->system_type) && a->bind == b->bind &&
	    a->sessions == b->sessions && a->enquire_link_ms == b->enquire_link_ms &&
	    a->response_timeout_ms == b->response_timeout_ms &&
	    a->reconnect_initial_ms == b->reconnect_initial_ms &&
	    a->reconnect_max_ms == b->reconnect_max_ms;
}

static int same_limits(const struct config_carrier *a, const struct config_carrier *b)
{
	return a->max_mps == b->max_mps && a->bind_mps == b->bind_mps && a->window == b->window;
}

static int same_networks(const struct config_account *a, const struct config_account *b)
{
	return a->n_allowed_networks == b->n_allowed_networks &&
	    (a->n_allowed_networks == 0 ||
	     memcmp(a->allowed_networks, b->allowed_networks,
		 a->n_allowed_networks * sizeof *a->allowed_networks) == 0);
}

static int same_addr(const struct config_addr *a, const struct config_addr *b)
{
	return strcmp(a->host, b->host) == 0 && a->port == b->port;
}

static int same_listeners(const struct config *a, const struct config *b)
{
	if (a->n_listeners != b->n_listeners)
		return 0;
	for (size_t i = 0; i < a->n_listeners; i++)
		if (!same_addr(&a->listeners[i].address, &b->listeners[i].address) ||
		    a->listeners[i].tls.enabled != b->listeners[i].tls.enabled ||
		    a->listeners[i].max_pdu != b->listeners[i].max_pdu)
			return 0;
	return 1;
}

static void needs_restart(const char *setting)
{
	log_warn("config", "event=needs_restart setting=%s kept=running", setting);
}

/*
 * What cannot change under a running daemon goes back to the running
 * value in NEXT (strings swapped, so each config still owns its own).
 */
static void keep_fixed(const struct relay *r, struct config *cur, struct config *next)
{
	if (next->receipt_cache != cur->receipt_cache) {
		needs_restart("receipt_cache");
		next->receipt_cache = cur->receipt_cache;
	}
	if (next->node_id != cur->node_id) {
		needs_restart("node_id");
		next->node_id = cur->node_id;
	}
	if (!same_str(next->store.path, cur->store.path) || next->store.map_size != cur->store.map_size ||
	    next->store.max_batch != cur->store.max_batch || next->store.fsync != cur->store.fsync) {
		needs_restart("store");
		uint64_t retention = next->store.retention_ms; /* read at each purge */
		struct config_store tmp = next->store;
		next->store = cur->store;
		next->store.retention_ms = retention;
		/* cur is retired with the new strings: both stay owned once */
		cur->store = tmp;
	}
	if (!same_listeners(cur, next)) {
		needs_restart("listeners");
		struct config_listener *l = next->listeners;
		size_t n = next->n_listeners;
		next->listeners = cur->listeners;
		next->n_listeners = cur->n_listeners;
		cur->listeners = l;
		cur->n_listeners = n;
	}
	const struct config_bind_limit *a = &cur->bind_limit, *b = &next->bind_limit;
	if (a->failures != b->failures || a->window_ms != b->window_ms ||
	    a->block_ms != b->block_ms || a->table_size != b->table_size) {
		needs_restart("bind_limit");
		next->bind_limit = *a;
	}
	for (size_t i = 0; i < next->n_carriers; i++) {
		const struct config_carrier *k = &next->carriers[i];
		if (k->listen.enabled && !carrier_in_listening(r, k->name, &k->listen.address)) {
			char what[96];
			snprintf(what, sizeof what, "carriers.%s.listen.address", k->name);
			needs_restart(what); /* the running listener, if any, stays */
		}
	}
	if (next->log.level != cur->log.level || next->log.target != cur->log.target) {
		needs_restart("log");
		next->log = cur->log;
	}
}

/* The runtime structs for NEXT, built aside.  old_of[i]: the running
 * struct reused for entry i, or NULL if built new. */
struct plan {
	struct account_rt **accounts;
	struct carrier_rt **carriers;
	struct carrier_rt **reused_carrier;   /* per new carrier: old rt or NULL */
	struct account_rt **reused_account;   /* per new account: old rt or NULL */
	size_t n_accounts, n_carriers;
};

static void plan_drop(struct plan *p)
{
	for (size_t i = 0; i < p->n_carriers; i++)
		if (p->carriers && p->carriers[i] && !p->reused_carrier[i])
			carrier_rt_free(p->carriers[i]);
	for (size_t i = 0; i < p->n_accounts; i++)
		if (p->accounts && p->accounts[i] && !p->reused_account[i])
			free(p->accounts[i]);
	free(p->accounts);
	free(p->carriers);
	free(p->reused_carrier);
	free(p->reused_account);
}

static struct carrier_rt *running_carrier(struct relay *r, const char *name)
{
	for (size_t i = 0; i < r->cfg->n_carriers; i++)
		if (strcmp(r->carriers[i]->cfg->name, name) == 0)
			return r->carriers[i];
	return NULL;
}

static int plan_build(struct relay *r, const struct config *next, struct plan *p)
{
	size_t na = next->n_accounts, nc = next->n_carriers;
	p->n_accounts = na;
	p->n_carriers = nc;
	p->accounts = calloc(na + 1, sizeof *p->accounts);
	p->reused_account = calloc(na + 1, sizeof *p->reused_account);
	p->carriers = calloc(nc + 1, sizeof *p->carriers);
	p->reused_carrier = calloc(nc + 1, sizeof *p->reused_carrier);
	if (!p->accounts || !p->reused_account || !p->carriers || !p->reused_carrier)
		return -1;
	for (size_t i = 0; i < na; i++) {
		struct account_rt *a = relay_account(r, next->accounts[i].system_id);
		p->reused_account[i] = a;
		p->accounts[i] = a ? a : account_rt_new(r, &next->accounts[i], (unsigned)i);
		if (!p->accounts[i])
			return -1;
	}
	for (size_t i = 0; i < nc; i++) {
		const struct config_carrier *cc = &next->carriers[i];
		struct carrier_rt *cr = running_carrier(r, cc->name);
		if (cr && same_connection(cr->cfg, cc)) {
			p->reused_carrier[i] = cr;
			p->carriers[i] = cr;
			continue;
		}
		p->carriers[i] = carrier_rt_new(r, cc); /* logs why it failed */
		if (!p->carriers[i])
			return -1;
		/* the same carrier's message ids: receipts for submits made on
		 * the old binds still find their messages */
		if (cr)
			p->carriers[i]->index = cr->index;
	}
	return 0;
}

static int in_list(void *const *list, size_t n, const void *x)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == x)
			return 1;
	return 0;
}

/* Unbind every upstream session of A: it is gone from the file. */
static void unbind_account(struct relay *r, struct account_rt *a)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < r->conns_cap; i++) {
		struct conn *c = r->conns[i];
		if (!c || c->closed || c->kind != CONN_UPSTREAM || c->account != a)
			continue;
		if (smpp_session_unbind(c->sess, relay_mono_ms()) == 0) {
			conn_flush(c);
			conn_arm(c);
		} else {
			conn_close(c);
		}
		n++;
	}
	log_info("config", "event=account_removed system_id=%s sessions_unbound=%u",
	    a->cfg->system_id, n);
}

/* The connections a removed carrier made to us (carrier_in.c) go too;
 * a carrier that only changed keeps them. */
static void unbind_inbound(struct relay *r, struct carrier_rt *cr)
{
	for (uint32_t i = 0; i < r->conns_cap; i++) {
		struct conn *c = r->conns[i];
		/* by name: after a change of its connection settings the
		 * carrier's inbound connections kept the runtime they came to */
		if (!c || c->closed || c->kind != CONN_CARRIER || !c->inbound ||
		    strcmp(c->carrier->cfg->name, cr->cfg->name) != 0)
			continue;
		if (c->bound && smpp_session_unbind(c->sess, relay_mono_ms()) == 0) {
			conn_flush(c);
			conn_arm(c);
		} else {
			conn_close(c);
		}
	}
}

static void apply_accounts(struct relay *r, struct config *next, struct plan *p)
{
	for (size_t i = 0; i < r->cfg->n_accounts; i++) {
		struct account_rt *a = r->accounts[i];
		if (in_list((void *const *)p->accounts, p->n_accounts, a))
			continue;
		a->removed = 1;
		unbind_account(r, a);
		if (retire(r, NULL, 0, a, NULL) != 0)
			log_error("config", "event=retire_failed system_id=%s reason=\"out of memory\"",
			    a->cfg->system_id); /* leaked, not freed under a session */
	}
	for (size_t i = 0; i < p->n_accounts; i++) {
		struct account_rt *a = p->accounts[i];
		const struct config_account *nc = &next->accounts[i];
		a->index = (unsigned)i;
		if (!p->reused_account[i]) {
			log_info("config", "event=account_added system_id=%s", nc->system_id);
			continue;
		}
		const struct config_account *oc = a->cfg;
		int rate = oc->ingress_rate != nc->ingress_rate;
		int pass = strcmp(oc->password_hash, nc->password_hash) != 0;
		int nets = !same_networks(oc, nc);
		a->cfg = nc;
		if (rate)
			set_ingress(a);
		if (rate || pass || nets)
			log_info("config", "event=account_changed system_id=%s password=%s networks=%s "
			    "ingress_rate=%s sessions=kept", nc->system_id, pass ? "new" : "same",
			    nets ? "new" : "same", rate ? "new" : "same");
	}
}

static void apply_carriers(struct relay *r, struct config *next, struct plan *p)
{
	for (size_t i = 0; i < r->cfg->n_carriers; i++) {
		struct carrier_rt *cr = r->carriers[i];
		if (in_list((void *const *)p->carriers, p->n_carriers, cr))
			continue;
		int gone = !config_find_carrier(next, cr->cfg->name);
		log_info("config", "event=carrier_%s carrier=%s action=unbind", gone ? "removed" : "changed",
		    cr->cfg->name);
		if (gone)
			unbind_inbound(r, cr);
		carrier_retire(r, cr);
		if (retire(r, NULL, 0, NULL, cr) != 0)
			log_error("config", "event=retire_failed carrier=%s reason=\"out of memory\"",
			    cr->cfg->name);
	}
	for (size_t i = 0; i < p->n_carriers; i++) {
		struct carrier_rt *cr = p->carriers[i];
		const struct config_carrier *nc = &next->carriers[i];
		if (!p->reused_carrier[i]) {
			if (!running_carrier(r, nc->name))
				log_info("config", "event=carrier_added carrier=%s", nc->name);
			continue;
		}
		int limits = !same_limits(cr->cfg, nc);
		cr->cfg = nc;
		if (limits) {
			carrier_apply_limits(cr);
			log_info("config", "event=carrier_limits carrier=%s max_mps=%g bind_mps=%g "
			    "window=%d binds=kept", nc->name, nc->max_mps, nc->bind_mps, nc->window);
		}
	}
}

int relay_reload(struct relay *r)
{
	char err[1024];
	struct config *next = calloc(1, sizeof *next);
	if (!next) {
		log_error("config", "event=reload_failed kept=old error=\"out of memory\"");
		return -1;
	}
	if (config_load(r->cfg->path, next, err, sizeof err) != 0) {
		log_error("config", "event=reload_failed kept=old error=\"%s\"", err);
		free(next);
		return -1;
	}
	struct plan p = { 0 };
	struct relay_retired *slot = calloc(1, sizeof *slot); /* for the old config */
	/* listeners that cannot change keep their running section (and its
	 * certificate paths), read again all the same */
	const struct config *tls_from = same_listeners(r->cfg, next) ? next : r->cfg;
	if (!slot || plan_build(r, next, &p) != 0 || secure_listeners_reload(r, tls_from) != 0) {
		log_error("config", "event=reload_failed kept=old error=\"%s\"",
		    slot ? "could not set up the new carriers, accounts or listener TLS (see above)" :
		    "out of memory");
		free(slot);
		plan_drop(&p);
		config_free(next);
		free(next);
		return -1;
	}
	/* Nothing below fails: the swap is all at once. */
	keep_fixed(r, r->cfg, next);
	apply_accounts(r, next, &p);
	apply_carriers(r, next, &p);
	free(r->accounts);
	free(r->carriers);
	r->accounts = p.accounts;
	r->carriers = p.carriers;
	*slot = (struct relay_retired){ r->cfg, r->cfg_owned, NULL, NULL, r->retired };
	r->retired = slot;
	r->cfg = next;
	r->cfg_owned = 1;
	r->policy_path = next->policy;
	relay_index_accounts(r);
	for (size_t i = 0; i < p.n_carriers; i++)
		if (!p.reused_carrier[i])
			carrier_rt_connect(r, p.carriers[i]);
	free(p.reused_account);
	free(p.reused_carrier);
	log_info("config", "event=reloaded path=%s accounts=%zu carriers=%zu routes=%zu", next->path,
	    next->n_accounts, next->n_carriers, next->n_routes);
	dispatch_capacity(r); /* routes may point somewhere with room now */
	return 0;
}
