#!/usr/bin/env python3
"""Opt-out end to end: a handset's STOP (an MO from the carrier) takes effect
at once for the whole brand, earns exactly one confirmation even when sent
twice, reaches the application, cancels a message already queued to that
number, and START lifts it.  An opt-out made while a message to the number
waits for a carrier (no restart between) cancels it too, while messages to
other numbers go.

    test_optout.py SMPPD SMPPSIM SOURCE_ROOT
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check, offset_to  # noqa: E402
import smpp_client as sc  # noqa: E402

TWOFA, NOTIFY, HANDSET = "12025550101", "12025550111", "12125550100"


def carrier(smppsim, tmp, name, mo_lines, delay_ms):
    mo = os.path.join(tmp, name + ".mo")
    with open(mo, "w") as f:
        f.write("".join("%s %s %s\n" % l for l in mo_lines))
    log = os.path.join(tmp, name + ".submits")
    p = harness.spawn([smppsim, "carrier", "--listen", "127.0.0.1:0", "--mo", mo,
                       "--mo-delay", str(delay_ms), "--mo-interval", "300", "--log-submits", log],
                      stdout=subprocess.PIPE)
    return p, harness.read_port_line(p), log


def submits(log):
    try:
        with open(log) as f:
            return [l.split() for l in f if l.strip()]
    except OSError:
        return []


def run(tmp):
    smppd, smppsim, root = sys.argv[1], sys.argv[2], sys.argv[3]
    conf = harness.copy_conf(root, tmp)
    cp, cport, clog = carrier(smppsim, tmp, "night", [(HANDSET, NOTIFY, "STOP")] * 2, 2000)
    night = offset_to(7) + 1800
    os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(night)
    d = harness.Daemon(smppd, tmp,
                       accounts=[dict(system_id="app1", allowed_campaigns="[CACME2FA, CACMEACCT]")],
                       carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd")],
                       extra="policy: %s" % os.path.join(conf, "policy.yaml"))
    d.start()
    c = sc.Client(d.port)
    c.bind("transceiver", "app1", "secret1")
    check(c.submit(TWOFA, HANDSET, "Your Acme code is 111111").status == 0, "before STOP: 2FA accepted")
    queued = c.submit(NOTIFY, HANDSET, "Your statement is ready")
    check(queued.status == 0, "an account notification at night: accepted and queued")
    mo = c.expect(sc.DELIVER_SM, timeout=10)
    c.answer(mo)
    check(mo.deliver_fields()["short_message"] == b"STOP", "the STOP reaches the application too")
    r = c.submit(TWOFA, HANDSET, "Your Acme code is 222222")
    check(r.status == 0x400, "right after STOP: 0x400 for any campaign of the brand")
    mo2 = c.expect(sc.DELIVER_SM, timeout=10)
    c.answer(mo2)
    time.sleep(1.0)
    conf_msgs = [s for s in submits(clog) if s[1] == NOTIFY and s[2] == HANDSET]
    check(len(conf_msgs) == 1, "STOP twice: exactly one confirmation went out (%d)" % len(conf_msgs))
    c.close()
    d.stop()
    cp.terminate()

    # Morning: the notification queued before STOP must not go; START lifts it.
    cp2, cport2, clog2 = carrier(smppsim, tmp, "morning", [(HANDSET, NOTIFY, "START")], 2500)
    os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(night + 6 * 3600 + 1800)
    d.carriers[0]["port"] = cport2
    d.start()
    d.wait_log(r"event=final id=%s state=rejected error=0x00000400" % queued.message_id())
    time.sleep(0.5)
    check(not [s for s in submits(clog2) if s[2] == HANDSET and s[1] == NOTIFY and
               "statement" in " ".join(s)] and
          all(s[1] != NOTIFY for s in submits(clog2)),
          "the message queued before STOP is cancelled, not sent")
    c = sc.Client(d.port)
    c.bind("transceiver", "app1", "secret1")
    mo = c.expect(sc.DELIVER_SM, timeout=10)
    c.answer(mo)
    check(mo.deliver_fields()["short_message"] == b"START", "START reaches the application")
    time.sleep(0.3)
    check(c.submit(TWOFA, HANDSET, "Your Acme code is 333333").status == 0, "after START: accepted again")
    c.close()
    check(d.stop() == 0, "smppd stops")
    cp2.terminate()



def queued_then_opted_out(tmp):
    """No restart between the submit and the opt-out: the send-time check
    must still see it (smppd skips that check's store read only for numbers
    no opt-out has touched since the message's own checks)."""
    smppd, smppsim, root = sys.argv[1], sys.argv[2], sys.argv[3]
    conf = harness.copy_conf(root, tmp)
    os.environ.pop("SMPPD_TEST_CLOCK_OFFSET", None)
    cport = harness.free_port()  # the carrier is down until the opt-out is made
    d = harness.Daemon(smppd, tmp,
                       accounts=[dict(system_id="app1", allowed_campaigns="[CACME2FA]")],
                       carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd",
                                      reconnect="{initial: 100ms, max: 200ms}")],
                       extra="policy: %s\nadmin:\n  address: 127.0.0.1:0"
                       % os.path.join(conf, "policy.yaml"))
    d.start()
    aport = int(d.wait_log(r"event=admin_listening address=127\.0\.0\.1:(\d+)")[-1].group(1))
    c = sc.Client(d.port)
    c.bind("transceiver", "app1", "secret1")
    stopper, others = "12125550177", ["12125550178", "12125550179"]
    ids = {}
    for n in [stopper] + others:
        r = c.submit(TWOFA, n, "Your Acme code is 424242")
        check(r.status == 0, "carrier down: the 2FA to %s accepted and queued" % n)
        ids[n] = r.message_id()
    req = urllib.request.Request("http://127.0.0.1:%d/v1/optouts" % aport, method="POST",
                                 data=json.dumps({"number": "+" + stopper, "brand": "Acme Bank"}).encode())
    with urllib.request.urlopen(req, timeout=10) as resp:
        check(json.load(resp)["changed"] is True, "the opt-out is made while the messages wait")
    log = os.path.join(tmp, "late.submits")
    cp, _ = harness.sim_carrier(smppsim, log, port=cport)
    d.wait_log(r"event=final id=%s state=rejected error=0x00000400" % ids[stopper])
    harness.wait_for(lambda: sorted(harness.logged_dsts(log)) == others, 15,
                     "the other two messages at the carrier")
    time.sleep(0.3)
    check(sorted(harness.logged_dsts(log)) == others,
          "the carrier got the other numbers' messages and not the opted-out one's")
    c.close()
    check(d.stop() == 0, "smppd stops")
    cp.terminate()


def main(tmp):
    run(tmp)
    sub = os.path.join(tmp, "queued")
    os.makedirs(sub)
    queued_then_opted_out(sub)


harness.main(main)
