#!/usr/bin/env python3
"""Carriers that connect to smppd to deliver receipts and MOs: one by
outbind (smppd answers bind_receiver), one binding to smppd as an ESME.
Submits go out over smppd's own transmitter binds; what comes back arrives
on the carriers' connections and reaches the applications.  Credentials
are checked per side and wrong ones count in the failed-bind guard.  A
reload removes one such carrier (its connection to smppd is unbound) and
leaves the other's connection up.

    test_carrier_in.py SMPPD SMPPSIM SOURCE_ROOT
"""
import os
import signal
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check, offset_to  # noqa: E402
import smpp_client as sc  # noqa: E402

TWOFA, NOTIFY, HANDSET = "12025550101", "12025550111", "13105550123"
OUTBIND = 0x0B


def bind_status(port, system_id, password, kind="transmitter"):
    c = sc.Client(port)
    try:
        return c.bind(kind, system_id, password).status
    except ConnectionError:
        return "closed"
    finally:
        c.close()


def receipt_for(c, msg_id):
    p = c.expect(sc.DELIVER_SM, timeout=15)
    c.answer(p)
    f = p.deliver_fields()
    return f["esm_class"] & 0x3C == 0x04 and (b"id:" + msg_id.encode()) in f["short_message"]


def run(tmp):
    smppd, smppsim, root = sys.argv[1], sys.argv[2], sys.argv[3]
    conf = harness.copy_conf(root, tmp)
    os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(offset_to(18))  # 10:00 in LA, 13:00 in New York
    obport, ebport = harness.free_port(), harness.free_port()
    la, lb = os.path.join(tmp, "a.log"), os.path.join(tmp, "b.log")
    # "ob" sends outbind and takes our bind_receiver (checked like any bind)
    _, porta = harness.sim_carrier(smppsim, la, "--system-id", "smppd", "--password", "obpw",
                                   "--deliver-to", "127.0.0.1:%d" % obport,
                                   "--deliver-mode", "outbind", "--deliver-id", "obcar",
                                   "--deliver-password", "obsecret")
    # "eb" binds to smppd as an ESME and delivers; an MO goes out at bind
    _, portb = harness.sim_carrier(smppsim, lb, "--system-id", "smppd",
                                   "--deliver-to", "127.0.0.1:%d" % ebport, "--deliver-mode", "bind",
                                   "--deliver-id", "ebcar", "--deliver-password", "ebsecret",
                                   "--mo-at-bind", "hello from a handset", "--mo-src", HANDSET,
                                   "--mo-dst", NOTIFY)
    listen_ob = ("{address: 127.0.0.1:%d, mode: outbind, system_id: obcar, password_hash: \"%s\"}"
                 % (obport, harness.pw_hash("obsecret")))
    listen_eb = ("{address: 127.0.0.1:%d, mode: bind, system_id: ebcar, password_hash: \"%s\", "
                 "max_binds: 2, allowed_networks: [127.0.0.0/8]}" % (ebport, harness.pw_hash("ebsecret")))
    d = harness.Daemon(smppd, tmp,
                       accounts=[dict(system_id="app1", allowed_campaigns="[CACME2FA]"),
                                 dict(system_id="app2", allowed_campaigns="[CACMEACCT]")],
                       carriers=[dict(name="ob", host="127.0.0.1", port=porta, system_id="smppd",
                                      password="obpw", bind="transmitter", listen=listen_ob),
                                 dict(name="eb", host="127.0.0.1", port=portb, system_id="smppd",
                                      bind="transmitter", listen=listen_eb)],
                       routes="routes:\n  - match: {campaign: CACME2FA}\n    carriers: [ob]\n"
                              "  - carriers: [eb]\n",
                       extra="policy: %s\nbind_limit: {failures: 3, window: 1m, block: 1m, table_size: 64}"
                             % os.path.join(conf, "policy.yaml"))
    d.start()
    d.wait_log(r"event=bound carrier=ob slot=0 bind=bind_transmitter")
    d.wait_log(r"event=bound carrier=eb slot=0 bind=bind_transmitter")
    d.wait_log(r"event=outbind carrier=ob peer=\S+ action=bind_receiver")
    d.wait_log(r"event=bound carrier=ob direction=in mode=outbind")
    check(True, "carrier ob sends outbind; smppd answers bind_receiver with ob's credentials")
    d.wait_log(r"event=bound carrier=eb direction=in mode=bind")
    check(True, "carrier eb binds to smppd's carrier listener as an ESME")

    # outbind end to end: out over our transmitter bind, receipt back over the outbind
    c1 = sc.Client(d.port)
    check(c1.bind("transceiver", "app1", "secret1").status == 0, "app1 binds")
    r = c1.submit(TWOFA, "13105550001", "Your Acme code is 1", registered_delivery=1)
    check(r.status == 0, "app1 submits a 2FA message (route: ob)")
    check(receipt_for(c1, r.message_id()), "its receipt reaches app1 through ob's outbind connection")
    check(d.grep(r"event=receipt id=\S+ carrier=ob "), "smppd correlated the receipt to carrier ob")

    # carrier as ESME: the MO sent at its bind goes to the campaign's account, then a receipt
    c2 = sc.Client(d.port)
    check(c2.bind("transceiver", "app2", "secret1").status == 0, "app2 binds")
    mo = c2.expect(sc.DELIVER_SM, timeout=15)
    c2.answer(mo)
    f = mo.deliver_fields()
    check(f["esm_class"] & 0x3C == 0 and f["src"] == HANDSET and f["dst"] == NOTIFY and
          f["short_message"] == b"hello from a handset",
          "the MO from eb's bind reaches app2, the account of the number's campaign")
    check(d.grep(r"event=mo carrier=eb from=%s to=%s account=app2" % (HANDSET, NOTIFY)),
          "logged as an MO from eb routed to app2")
    r = c2.submit(NOTIFY, "13105550002", "Your statement is ready", registered_delivery=1)
    check(r.status == 0, "app2 submits (route: eb)")
    check(receipt_for(c2, r.message_id()), "its receipt reaches app2 through eb's ESME bind")

    # a carrier connection carries no submits
    e = sc.Client(ebport)
    check(e.bind("transmitter", "ebcar", "ebsecret").status == 0, "a second eb bind (max_binds 2)")
    s = e.submit(TWOFA, "13105550003", "not here")
    check(s.status == 0x03, "submit_sm on a carrier connection: ESME_RINVCMDID")
    check(bind_status(ebport, "ebcar", "ebsecret") == 0x0D, "a third eb bind: max_binds refuses it")
    e.close()

    # the two sides do not mix; each refusal counts for the address
    check(bind_status(ebport, "app1", "secret1") == 0x0F,
          "an application's credentials on the carrier listener: ESME_RINVSYSID")
    check(bind_status(d.port, "ebcar", "ebsecret", "transceiver") == 0x0F,
          "a carrier's credentials on the application listener: ESME_RINVSYSID")
    o = sc.Client(obport)
    o.send(OUTBIND, sc.cstr("obcar") + sc.cstr("wrong"))
    try:
        o.read(timeout=10)
        closed = False
    except ConnectionError:
        closed = True
    o.close()
    check(closed and d.grep(r"event=outbind_refused carrier=ob peer=\S+ system_id=obcar "
                            r"status=ESME_RINVPASWD"),
          "an outbind with a wrong password: connection closed, refusal logged")
    d.wait_log(r"event=bind_limit_block peer=127\.0\.0\.1:\d+ failures=3")
    check(True, "the three refusals counted in the failed-bind guard: the address is blocked")
    check(bind_status(ebport, "ebcar", "ebsecret") == 0x0D,
          "blocked: even eb's right credentials are refused now")
    check(not d.grep(r"ebsecret|obsecret"), "no password reaches the log")

    # SIGHUP (open connections are not subject to the block): eb removed,
    # ob's listen address moved (needs a restart), the rest as it was
    d.carriers = [dict(d.carriers[0], listen=listen_ob.replace(str(obport), str(harness.free_port())))]
    d.routes = "routes:\n  - carriers: [ob]\n"
    with open(d.conf, "w") as f:
        f.write(d.yaml())
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log(r"cat=config event=reloaded")
    check(d.grep(r"event=needs_restart setting=carriers\.ob\.listen\.address kept=running"),
          "reload: a new listen address for ob is logged as needing a restart")
    d.wait_log(r"event=unbound carrier=eb direction=in")
    check(d.grep(r"event=carrier_removed carrier=eb action=unbind"),
          "reload: eb removed, the bind it made to smppd is unbound")
    r = c1.submit(TWOFA, "13105550004", "Your Acme code is 4", registered_delivery=1)
    check(r.status == 0 and receipt_for(c1, r.message_id()),
          "ob's outbind connection carries receipts on after the reload")
    check(not d.grep(r"event=unbound carrier=ob direction=in"), "ob's outbind connection never dropped")
    d.wait_log(r"event=inbound_refused carrier=eb peer=\S+ reason=\"the carrier has no listen: section now\"")
    check(True, "eb's listener refuses eb's reconnects once eb is gone")
    c1.close()
    c2.close()
    check(d.stop() == 0, "smppd stops")


harness.main(run)
