#!/usr/bin/env python3
"""SIGHUP: accounts, carriers, routes and listener certificates reloaded
from the configuration file while smppd runs, without dropping the binds
that did not change; an invalid file is refused and everything carries on.

    test_reload.py SMPPD SMPPSIM
"""
import os
import shutil
import socket
import ssl
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check, logged_dsts  # noqa: E402
import smpp_client as sc  # noqa: E402
import tlscerts  # noqa: E402

SRC = "12025550100"


class ReloadDaemon(harness.Daemon):
    """harness.Daemon with a TLS listener after its plain one."""

    def __init__(self, *a, tls="", **kw):
        super().__init__(*a, **kw)
        self.tls = tls

    def yaml(self):
        return super().yaml().replace("    address: 127.0.0.1:0\naccounts:",
                                      "    address: 127.0.0.1:0\n" + self.tls + "accounts:", 1)

    def port_of(self, name):
        m = self.grep(r"event=listening listener=%s address=\S+:(\d+)" % name, True)
        return int(m[-1].group(1))


def served_cert(port, ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(ca)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as s:
            return s.getpeercert(binary_form=True)


def pem_der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def bind_status(port, system_id, password):
    c = sc.Client(port)
    try:
        return c.bind("transceiver", system_id, password).status
    finally:
        c.close()


def run(tmp):
    smppd, smppsim = sys.argv[1], sys.argv[2]
    certs = tlscerts.make(tmp)
    live_cert, live_key = os.path.join(tmp, "live.pem"), os.path.join(tmp, "live.key")
    shutil.copy(certs["server"], live_cert)
    shutil.copy(certs["server_key"], live_key)
    la, lb, lc = (os.path.join(tmp, n + ".log") for n in "abc")
    _, porta = harness.sim_carrier(smppsim, la)
    _, portb = harness.sim_carrier(smppsim, lb)
    _, portc = harness.sim_carrier(smppsim, lc)

    def carrier_cfg(name, port, **kw):
        return dict(name=name, host="127.0.0.1", port=port, system_id="smppd", **kw)

    d = ReloadDaemon(smppd, tmp,
                     tls="  - name: tls\n    address: 127.0.0.1:0\n    tls: {cert: %s, key: %s}\n"
                         % (live_cert, live_key),
                     accounts=[dict(system_id="app1"), dict(system_id="app2")],
                     carriers=[carrier_cfg("a", porta), carrier_cfg("b", portb)],
                     routes="routes:\n  - carriers: [a]\n")
    port = d.start()
    tport = d.port_of("tls")
    d.wait_log(r"event=bound carrier=a ")
    d.wait_log(r"event=bound carrier=b ")
    check(served_cert(tport, certs["ca"]) == pem_der(certs["server"]),
          "the TLS listener serves the first certificate")
    c1 = sc.Client(port)
    check(c1.bind("transceiver", "app1", "secret1").status == 0, "app1 binds")
    c2 = sc.Client(port)
    check(c2.bind("transceiver", "app2", "secret1").status == 0, "app2 binds")
    check(c1.submit(SRC, "13105550001", "before").status == 0, "app1 submits")
    harness.wait_for(lambda: "13105550001" in logged_dsts(la), 10, "the first message at carrier a")
    check(True, "route [a]: the message went to carrier a")
    check(bind_status(port, "app3", "secret1") == 0x0F, "app3 is unknown before the reload")

    # --- the reload: app3 added, app2 removed, app1's password changed,
    # carrier a removed, c added, b's limits changed, routes replaced
    d.accounts = [dict(system_id="app1", password_hash=harness.pw_hash("newpass")), dict(system_id="app3")]
    d.carriers = [carrier_cfg("b", portb, max_mps=50, bind_mps=40, window=20),
                  carrier_cfg("c", portc)]
    d.routes = "routes:\n  - match: {prefix: \"1212\"}\n    carriers: [c]\n  - carriers: [b]\n"
    d.write()
    d.hup(1)
    check(d.grep(r"event=reloaded path=\S+ accounts=2 carriers=2 routes=2"),
          "SIGHUP: the new configuration is applied")
    unbind = c2.expect(sc.UNBIND, timeout=10)
    c2.send(sc.UNBIND | sc.RESP, seq=unbind.seq)
    check(d.grep(r"event=account_removed system_id=app2 sessions_unbound=1"),
          "app2 removed: smppd unbinds its session")
    check(bind_status(port, "app2", "secret1") == 0x0F, "app2 can no longer bind")
    check(bind_status(port, "app3", "secret1") == 0, "app3 added: it binds")
    check(bind_status(port, "app1", "secret1") == 0x0E, "app1's old password is refused")
    check(bind_status(port, "app1", "newpass") == 0, "app1's new password binds")
    d.wait_log(r"event=carrier_removed carrier=a action=unbind")
    d.wait_log(r"event=bound carrier=c ")
    check(True, "carrier a removed (unbound), carrier c added (bound)")
    check(d.grep(r"event=carrier_limits carrier=b max_mps=50 bind_mps=40 window=20 binds=kept"),
          "carrier b: new limits applied")
    check(len(d.grep(r"event=bound carrier=b ")) == 1 and not d.grep(r"event=unbound carrier=b"),
          "carrier b was not rebound for a limit change")
    check(c1.submit(SRC, "13105550002", "after").status == 0,
          "app1's session bound before the reload still submits (same TCP connection)")
    check(c1.submit(SRC, "12125550003", "after").status == 0, "and again")
    harness.wait_for(lambda: "13105550002" in logged_dsts(lb) and "12125550003" in logged_dsts(lc), 10,
                     "the new routes")
    check("13105550002" not in logged_dsts(la), "new default route: carrier b, not the removed a")
    check(True, "new prefix route 1212: carrier c")

    # --- a connection setting of c changes: c alone binds again
    d.carriers = [carrier_cfg("b", portb, max_mps=50, bind_mps=40, window=20),
                  carrier_cfg("c", portc, sessions=2)]
    d.write()
    d.hup(2)
    d.wait_log(r"event=carrier_changed carrier=c action=unbind")
    d.wait_log(r"event=bound carrier=c ", count=3)
    check(True, "carrier c's sessions changed: c rebinds with two sessions")
    check(len(d.grep(r"event=bound carrier=b ")) == 1, "carrier b stays bound meanwhile")
    check(c1.submit(SRC, "12125550004", "rebound").status == 0, "app1 still on its first connection")
    harness.wait_for(lambda: "12125550004" in logged_dsts(lc), 10, "a message through the rebound c")
    check(True, "the rebound carrier c carries the route's messages")

    # --- an invalid file: the error names file:line, nothing changes
    good = d.yaml()
    d.write(good.replace("routes:\n", "routes:\n  - carriers: [nosuch]\n", 1))
    d.hup(3)
    m = d.grep(r"event=reload_failed kept=old error=\"(\S+):(\d+): [^\"]*nosuch")
    check(m and m[-1].group(1) == d.conf and int(m[-1].group(2)) > 0,
          "invalid config on SIGHUP: the error is logged with file:line")
    check(c1.submit(SRC, "13105550005", "kept").status == 0, "app1 keeps submitting")
    harness.wait_for(lambda: "13105550005" in logged_dsts(lb), 10, "the old routes")
    check(True, "the running routes stay in force")
    check(bind_status(port, "app3", "secret1") == 0, "the running accounts stay in force")

    # --- the listener's certificate replaced on disk
    shutil.copy(certs["misnamed"], live_cert)
    shutil.copy(certs["misnamed_key"], live_key)
    d.write(good)
    d.hup(4)
    check(len(d.grep(r"cat=config event=reloaded")) == 3, "the good file reloads again")
    check(served_cert(tport, certs["ca"]) == pem_der(certs["misnamed"]),
          "a new TLS connection gets the replaced certificate")
    check(c1.submit(SRC, "13105550006", "last").status == 0, "app1's first connection is still up")
    check(len(d.grep(r"event=listening")) == 2 and not d.grep(r"event=needs_restart"),
          "listeners kept, nothing needed a restart")

    # --- what cannot change at run time: logged, the running value kept
    d.write(good.replace("listeners:\n  - name: smpp\n",
                         "node_id: 7\nreceipt_cache: 10\nlisteners:\n  - name: smpp\n", 1))
    d.hup(5)
    check(d.grep(r"event=needs_restart setting=node_id kept=running"), "node_id: needs restart, logged")
    check(d.grep(r"event=needs_restart setting=receipt_cache kept=running"),
          "receipt_cache: needs restart, logged")
    check(bind_status(port, "app3", "secret1") == 0, "the plain listener still answers")
    c1.close()
    check(d.stop() == 0, "smppd stops cleanly")


harness.main(run)
