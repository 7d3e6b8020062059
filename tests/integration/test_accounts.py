#!/usr/bin/env python3
"""Many accounts: smppd finds each by its system_id (an index, not a walk
of the list) when it binds, when its messages go out and when their
receipts come back, and again after a reload that removes and adds some;
and an incoming MO reaches the one account of 300 that lists the
campaign owning the number it was sent to.

    test_accounts.py SMPPD SMPPSIM SOURCE_ROOT
"""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check  # noqa: E402
import smpp_client as sc  # noqa: E402

SRC = "12025550100"
N = 300


def bind_status(port, system_id):
    c = sc.Client(port)
    try:
        return c.bind("transceiver", system_id, "secret1").status
    finally:
        c.close()


def names(skip=(), extra=()):
    return [dict(system_id=n) for n in ["acct%03d" % i for i in range(N)] + list(extra) if n not in skip]


def receipt_for(app, msg_id, wait=15):
    """The application's receipt for msg_id: its stat word, or None."""
    end = time.time() + wait
    while time.time() < end:
        for text in app.short_messages(min(1.0, end - time.time())):
            fields = dict(w.split(":", 1) for w in text.split() if ":" in w)
            if fields.get("id") == msg_id:
                return fields.get("stat")
    return None


def sends_and_hears(port, system_id, dst):
    app = sc.Client(port)
    try:
        check(app.bind("transceiver", system_id, "secret1").status == 0, "%s binds" % system_id)
        r = app.submit(SRC, dst, "to %s" % system_id, registered_delivery=1)
        check(r.status == 0, "%s submits" % system_id)
        check(receipt_for(app, r.message_id()) == "DELIVRD",
              "%s gets the receipt of its own message" % system_id)
    finally:
        app.close()


def mo_owners(tmp, smppd, smppsim, root):
    """MOs to two campaigns' numbers (conf/policy.yaml: CACME2FA has
    +12025550101, CACMEACCT +12025550111), owned by two accounts of 300."""
    tmp = os.path.join(tmp, "mo")
    os.makedirs(tmp)
    conf = harness.copy_conf(root, tmp)
    mo = os.path.join(tmp, "carrier.mo")
    with open(mo, "w") as f:
        f.write("12125550100 12025550111 to-acct\n12125550100 12025550101 to-2fa\n")
    cp = harness.spawn([smppsim, "carrier", "--listen", "127.0.0.1:0", "--mo", mo,
                        "--mo-delay", "1500", "--mo-interval", "300"], stdout=subprocess.PIPE)
    cport = harness.read_port_line(cp)
    accounts = names()
    accounts[150]["allowed_campaigns"] = "[CACMEACCT]"
    accounts[200]["allowed_campaigns"] = "[CACME2FA, CACMEACCT]"  # listed after 150
    d = harness.Daemon(smppd, tmp, accounts=accounts,
                       carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd")],
                       extra="policy: %s" % os.path.join(conf, "policy.yaml"))
    port = d.start()
    apps = {}
    for n in ("acct150", "acct200", "acct299"):
        apps[n] = sc.Client(port)
        check(apps[n].bind("transceiver", n, "secret1").status == 0, "%s binds" % n)
    got = {n: a.short_messages(6) for n, a in apps.items()}
    check(got["acct150"] == ["to-acct"], "the MO to CACMEACCT's number reaches acct150, "
          "the first account listing it (%r)" % got["acct150"])
    check(got["acct200"] == ["to-2fa"], "the MO to CACME2FA's number reaches acct200 (%r)" % got["acct200"])
    check(got["acct299"] == [], "an account listing neither gets none (%r)" % got["acct299"])
    for a in apps.values():
        a.close()
    check(d.stop() == 0, "smppd stops cleanly")
    cp.terminate()


def run(tmp):
    smppd, smppsim, root = sys.argv[1], sys.argv[2], sys.argv[3]
    _, cport = harness.sim_carrier(smppsim, os.path.join(tmp, "carrier.log"))
    d = harness.Daemon(smppd, tmp, accounts=names(),
                     carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd")],
                     routes="routes:\n  - carriers: [sim]\n")
    port = d.start()
    d.wait_log(r"event=bound carrier=sim ")
    sends_and_hears(port, "acct%03d" % (N - 1), "13105550001")
    sends_and_hears(port, "acct007", "13105550002")
    sends_and_hears(port, "acct000", "13105550003")
    check(bind_status(port, "acct%03d" % N) == 0x0F, "an id past the list is unknown")
    check(bind_status(port, "acct29") == 0x0F, "so is a prefix of a known id")
    check(bind_status(port, "ACCT007") == 0x0F, "and a known id in other case")

    d.accounts = names(skip=("acct007",), extra=("acct%03d" % N,))
    d.write()
    d.hup(1)
    check(d.grep(r"event=reloaded path=\S+ accounts=%d " % N), "reloaded: one account out, one in")
    check(bind_status(port, "acct007") == 0x0F, "the removed account can no longer bind")
    sends_and_hears(port, "acct%03d" % N, "13105550004")
    sends_and_hears(port, "acct%03d" % (N - 1), "13105550005")
    check(d.stop() == 0, "smppd stops cleanly")
    mo_owners(tmp, smppd, smppsim, root)


harness.main(run)
