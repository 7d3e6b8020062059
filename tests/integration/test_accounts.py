#!/usr/bin/env python3
"""Many accounts: smppd finds each by its system_id (an index, not a walk
of the list) when it binds, when its messages go out and when their
receipts come back, and again after a reload that removes and adds some.

    test_accounts.py SMPPD SMPPSIM
"""
import os
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
        try:
            p = app.expect(sc.DELIVER_SM, timeout=max(0.05, end - time.time()))
        except TimeoutError:
            return None
        app.answer(p)
        text = p.deliver_fields()["short_message"].decode()
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


def run(tmp):
    smppd, smppsim = sys.argv[1], sys.argv[2]
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


harness.main(run)
