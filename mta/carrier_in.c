/*
 * Carriers that connect to us (config_carrier.listen) to deliver receipts
 * and MOs.  Each such carrier has its own listener, so a connection's
 * side is known before it says a word: credentials presented here are
 * checked against that carrier's listen: section only, and an
 * application's system_id means nothing on it (nor a carrier's on an
 * application listener).
 *
 *   mode bind     the carrier binds to us as an ESME (any bind type) with
 *                 listen.system_id and a password matching
 *                 listen.password_hash; its deliver_sm and data_sm are
 *                 receipts and MOs (the session lets an ESME deliver)
 *   mode outbind  the carrier sends outbind with those credentials; we
 *                 answer bind_receiver with the carrier's own system_id
 *                 and password (the ones our outgoing binds use), then
 *                 take its deliver_sm
 *
 * What arrives is handled by dispatch_receipt() exactly as on our own
 * binds: receipts correlate through the carrier id map, MOs are routed to
 * accounts.  Anything else that needs an answer gets ESME_RINVCMDID: a
 * carrier connection carries no submits.  Wrong credentials count against
 * the address in the failed-bind guard, like an application's.
 *
 * The listener belongs to the carrier's name: a reload that changes the
 * listen: credentials, networks or max_binds applies to new connections;
 * a new address needs a restart (reload.c says so).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/listener.h>

#include "mta/log.h"
#include "mta/net.h"
#include "mta/relay.h"
#include "mta/secure.h"

/* Receipts are answered once committed, as on our own binds. */
#define IN_WINDOW 4096

struct carrier_listener {
	struct relay *relay;
	char *name;                     /* the carrier's */
	struct config_addr address;     /* as opened */
	struct evconnlistener *l;
	unsigned binds;                 /* bound or outbound connections now */
};

static struct carrier_rt *carrier_named(struct relay *r, const char *name)
{
	for (size_t i = 0; i < r->cfg->n_carriers; i++)
		if (strcmp(r->carriers[i]->cfg->name, name) == 0)
			return r->carriers[i];
	return NULL;
}

static int cidr_has(const struct config_cidr *n, const struct sockaddr *sa)
{
	const uint8_t *a;
	if (sa->sa_family == AF_INET && n->family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6 && n->family == AF_INET6)
		a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	else
		return 0;
	int bits = n->prefix;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xFF : (uint8_t)(0xFF << (8 - bits));
		if ((a[i] & mask) != (n->addr[i] & mask))
			return 0;
	}
	return 1;
}

static int network_allowed(const struct config_carrier_listen *ls, const struct sockaddr *sa)
{
	if (ls->n_allowed_networks == 0)
		return 1;
	for (size_t i = 0; i < ls->n_allowed_networks; i++)
		if (cidr_has(&ls->allowed_networks[i], sa))
			return 1;
	return 0;
}

static void accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct carrier_listener *cl = arg;
	struct relay *r = cl->relay;
	char peer[64];
	(void)evl;
	net_format_addr(sa, peer, sizeof peer);
	struct carrier_rt *cr = carrier_named(r, cl->name);
	const struct config_carrier_listen *ls = cr ? &cr->cfg->listen : NULL;
	const char *why = !cr || !ls->enabled ? "the carrier has no listen: section now" :
	    !network_allowed(ls, sa) ? "address not in listen.allowed_networks" : NULL;
	if (why) {
		log_warn("carrier", "event=inbound_refused carrier=%s peer=%s reason=\"%s\"", cl->name,
		    peer, why);
		evutil_closesocket(fd);
		return;
	}
	int outbind = ls->mode == CONFIG_LISTEN_OUTBIND;
	struct smpp_session_config scfg = {
		/* outbind: the carrier is the SMSC and we bind to it */
		.role = outbind ? SMPP_ROLE_ESME : SMPP_ROLE_SMSC,
		.window = 16,
		.in_window = IN_WINDOW,
		.max_pdu_len = 65536,
		.response_timeout_ms = (uint32_t)(cr->cfg->response_timeout_ms ?
		    cr->cfg->response_timeout_ms : 10000),
		.enquire_link_ms = (uint32_t)cr->cfg->enquire_link_ms,
		.idle_timeout_ms = 30000,
		.esme_delivers = !outbind,
	};
	evutil_make_socket_nonblocking(fd);
	struct conn *c = conn_new(r, CONN_CARRIER, fd, &scfg, peer);
	if (!c) {
		log_error("carrier", "event=accept_failed carrier=%s peer=%s reason=\"out of memory\"",
		    cl->name, peer);
		return;
	}
	c->carrier = cr;
	c->inbound = cl;
	memcpy(&c->peer_addr, sa, (size_t)salen < sizeof c->peer_addr ? (size_t)salen :
	    sizeof c->peer_addr);
	log_debug("carrier", "event=inbound_connect carrier=%s peer=%s mode=%s", cl->name, peer,
	    outbind ? "outbind" : "bind");
}

/* The credentials a carrier presents (bind or outbind): 0 or the refusal. */
static uint32_t check_carrier(struct conn *c, const struct smpp_pdu *pdu)
{
	const struct config_carrier_listen *ls = &c->carrier->cfg->listen;
	if (secure_bind_blocked(c))
		return SMPP_ESME_RBINDFAIL;
	uint32_t status = SMPP_ESME_ROK;
	if (strcmp(pdu->system_id ? pdu->system_id : "", ls->system_id) != 0)
		status = SMPP_ESME_RINVSYSID;
	else if (config_password_verify(pdu->password ? pdu->password : "", ls->password_hash) != 1)
		status = SMPP_ESME_RINVPASWD;
	if (status != SMPP_ESME_ROK) {
		secure_bind_failed(c);
		return status;
	}
	if (c->inbound->binds >= (unsigned)(ls->max_binds > 0 ? ls->max_binds : 1))
		return SMPP_ESME_RBINDFAIL;
	return SMPP_ESME_ROK;
}

static void refused(struct conn *c, const struct smpp_pdu *pdu, const char *what, uint32_t status)
{
	char sid[64];
	const char *id = pdu->system_id ? pdu->system_id : "";
	log_quote(id, strlen(id), sid, sizeof sid);
	log_warn("carrier", "event=%s_refused carrier=%s peer=%s system_id=%s status=%s", what,
	    c->inbound->name, c->peer, sid, smpp_status_name(status));
}

static void on_bound(struct conn *c, const char *mode)
{
	c->bound = 1;
	c->inbound->binds++;
	log_info("carrier", "event=bound carrier=%s direction=in mode=%s peer=%s", c->inbound->name,
	    mode, c->peer);
}

static void on_bind_request(struct conn *c, const struct smpp_pdu *pdu)
{
	uint32_t status = check_carrier(c, pdu);
	if (status != SMPP_ESME_ROK) {
		refused(c, pdu, "bind", status);
		smpp_session_reject(c->sess, status);
		return;
	}
	if (smpp_session_accept(c->sess, "smppd", relay_mono_ms()) != 0) {
		conn_close(c);
		return;
	}
	on_bound(c, "bind");
}

/* outbind: "bind to me": with the right credentials, bind_receiver. */
static void on_outbind(struct conn *c, const struct smpp_pdu *pdu)
{
	uint32_t status = check_carrier(c, pdu);
	if (status != SMPP_ESME_ROK) {
		refused(c, pdu, "outbind", status); /* outbind has no response */
		conn_close(c);
		return;
	}
	const struct config_carrier *cc = c->carrier->cfg;
	struct smpp_pdu bind;
	smpp_pdu_init(&bind, SMPP_BIND_RECEIVER, 0);
	bind.system_id = cc->system_id;
	bind.password = cc->password ? cc->password : "";
	bind.system_type = cc->system_type ? cc->system_type : "";
	bind.interface_version = 0x34;
	if (smpp_session_send(c->sess, &bind, 0, relay_mono_ms()) != 0) {
		log_error("carrier", "event=bind_send_failed carrier=%s peer=%s", cc->name, c->peer);
		conn_close(c);
		return;
	}
	log_info("carrier", "event=outbind carrier=%s peer=%s action=bind_receiver", cc->name, c->peer);
}

void carrier_in_event(struct conn *c, const struct smpp_event *ev)
{
	switch (ev->kind) {
	case SMPP_EV_BIND_REQUEST:
		on_bind_request(c, ev->pdu);
		break;
	case SMPP_EV_BOUND:
		on_bound(c, "outbind");
		break;
	case SMPP_EV_BIND_FAILED:
		log_warn("carrier", "event=bind_refused carrier=%s direction=in peer=%s status=%s",
		    c->inbound->name, c->peer, smpp_status_name(ev->status));
		conn_close(c);
		break;
	case SMPP_EV_REQUEST:
		if (ev->pdu->command_id == SMPP_OUTBIND) {
			on_outbind(c, ev->pdu);
		} else if (c->bound && (ev->pdu->command_id == SMPP_DELIVER_SM ||
		    ev->pdu->command_id == SMPP_DATA_SM)) {
			dispatch_receipt(c, ev->pdu, ev->sequence);
		} else if (ev->needs_response) {
			log_warn("carrier", "event=request_refused carrier=%s peer=%s command=%s",
			    c->inbound->name, c->peer, smpp_command_name(ev->pdu->command_id));
			struct smpp_pdu resp;
			smpp_pdu_init_resp(&resp, ev->pdu, SMPP_ESME_RINVCMDID);
			smpp_session_respond(c->sess, &resp);
		}
		break;
	case SMPP_EV_PROTOCOL_ERROR:
		log_warn("carrier", "event=protocol_error carrier=%s direction=in field=%s reason=\"%s\"",
		    c->inbound->name, ev->error.field ? ev->error.field : "",
		    ev->error.reason ? ev->error.reason : "");
		break;
	case SMPP_EV_LINK_DEAD:
		log_warn("carrier", "event=link_dead carrier=%s direction=in peer=%s", c->inbound->name,
		    c->peer);
		break;
	default:
		break;
	}
}

void carrier_in_closed(struct conn *c)
{
	if (!c->bound)
		return;
	c->bound = 0;
	c->inbound->binds--;
	log_warn("carrier", "event=unbound carrier=%s direction=in peer=%s", c->inbound->name, c->peer);
}

int carrier_in_listen(struct relay *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->cfg->n_carriers; i++)
		n += r->cfg->carriers[i].listen.enabled;
	if (n == 0)
		return 0;
	r->carrier_listeners = calloc(n, sizeof *r->carrier_listeners);
	if (!r->carrier_listeners)
		return -1;
	for (size_t i = 0; i < r->cfg->n_carriers; i++) {
		const struct config_carrier *cc = &r->cfg->carriers[i];
		const struct config_addr *a = &cc->listen.address;
		if (!cc->listen.enabled)
			continue;
		struct carrier_listener *cl = calloc(1, sizeof *cl);
		if (!cl || !(cl->name = strdup(cc->name))) {
			free(cl);
			return -1;
		}
		r->carrier_listeners[r->n_carrier_listeners++] = cl;
		cl->relay = r;
		cl->address = *a;
		cl->l = evconnlistener_new_bind(r->base, accept_cb, cl,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64, (const struct sockaddr *)&a->sa,
		    (int)a->salen);
		if (!cl->l) {
			log_error("carrier", "event=listen_failed carrier=%s address=%s:%d reason=\"%s\"",
			    cc->name, a->host, a->port, strerror(errno));
			return -1;
		}
		char where[80];
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		getsockname(evconnlistener_get_fd(cl->l), (struct sockaddr *)&ss, &len);
		net_format_addr((struct sockaddr *)&ss, where, sizeof where);
		log_info("carrier", "event=listening carrier=%s mode=%s address=%s", cc->name,
		    cc->listen.mode == CONFIG_LISTEN_OUTBIND ? "outbind" : "bind", where);
	}
	return 0;
}

int carrier_in_listening(const struct relay *r, const char *name, const struct config_addr *a)
{
	for (size_t i = 0; i < r->n_carrier_listeners; i++) {
		const struct carrier_listener *cl = r->carrier_listeners[i];
		if (strcmp(cl->name, name) == 0)
			return strcmp(cl->address.host, a->host) == 0 && cl->address.port == a->port;
	}
	return 0;
}

void carrier_in_stop(struct relay *r)
{
	for (size_t i = 0; i < r->n_carrier_listeners; i++)
		if (r->carrier_listeners[i]->l)
			evconnlistener_disable(r->carrier_listeners[i]->l);
}

void carrier_in_free(struct relay *r)
{
	for (size_t i = 0; i < r->n_carrier_listeners; i++) {
		struct carrier_listener *cl = r->carrier_listeners[i];
		if (cl->l)
			evconnlistener_free(cl->l);
		free(cl->name);
		free(cl);
	}
	free(r->carrier_listeners);
	r->carrier_listeners = NULL;
	r->n_carrier_listeners = 0;
}
