#!/usr/bin/env python3
"""A faulty carrier beside a healthy one (issue 6): carrier A answers
slowly, stops answering, or answers everything with 0x58, while carrier B
is healthy.  Destinations 1310... route to A (failing over to B for the
stall case), 1415... to B.  Each phase checks that B's traffic keeps
flowing at its pace, that every message ends with a receipt (nothing
lost), and that duplicates at the carriers stay within A's in-flight
window.  No policy: the carriers' behaviour is what is tested.

    test_carrier_faults.py SMPPD SMPPSIM PHASE      (slow | stall | throttle)
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

SMPPD, SMPPSIM, PHASE = sys.argv[1], sys.argv[2], sys.argv[3]
A_WINDOW, A_SESSIONS = 10, 2


def carrier(tmp, name, *flags):
    log = os.path.join(tmp, name + ".log")
    p = harness.spawn([SMPPSIM, "carrier", "--listen", "127.0.0.1:0", "--log-submits", log]
                      + list(flags), stdout=subprocess.PIPE)
    return p, harness.read_port_line(p), log


def submitted(log):
    """Destinations a carrier accepted (status 0), with repeats."""
    try:
        with open(log) as f:
            rows = [line.split() for line in f if line.strip()]
    except OSError:
        return []
    return [r[2] for r in rows if r[-1] == "0x00000000"]


def app(port, account, first, count, wait):
    # one account each: an account's receipts go to any of its receiver binds
    return subprocess.Popen([SMPPSIM, "app", "--connect", "127.0.0.1:%d" % port, "--system-id",
                             account, "--password", "secret1", "--src", "12025550100", "--dst",
                             first, "--dst-range", str(count), "--count", str(count),
                             "--window", "50", "--registered-delivery", "1", "--wait-receipts",
                             str(wait), "--timeout", str(wait + 30)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def result(p):
    out, err = p.communicate(timeout=300)
    lines = out.decode().strip().splitlines()
    if not lines:
        raise harness.Failure("smppsim app printed nothing: %s" % err.decode()[-300:])
    return json.loads(lines[-1])


def run(tmp):
    flags = {"slow": ["--slow", "300"], "stall": ["--stall-after", "5"],
             "throttle": ["--throttle-all"]}[PHASE]
    pa, porta, loga = carrier(tmp, "a", *flags)
    pb, portb, logb = carrier(tmp, "b")
    a_route = "[a, b]" if PHASE == "stall" else "[a]"
    routes = ("routes:\n  - match: {prefix: \"1310\"}\n    carriers: %s\n"
              "  - match: {prefix: \"1415\"}\n    carriers: [b]\n" % a_route)
    d = harness.Daemon(SMPPD, tmp, accounts=[dict(system_id="app1", window=200),
                                 dict(system_id="app2", window=200)],
                       carriers=[dict(name="a", host="127.0.0.1", port=porta, system_id="smppd",
                                      window=A_WINDOW, sessions=A_SESSIONS,
                                      response_timeout="1s", max_mps="200/s"),
                                 dict(name="b", host="127.0.0.1", port=portb, system_id="smppd",
                                      window=100, sessions=2)],
                       routes=routes)
    d.start()
    d.wait_log(r"event=bound carrier=a", count=A_SESSIONS)
    d.wait_log(r"event=bound carrier=b", count=2)
    n_a, n_b = 200, 1000
    t0 = time.time()
    to_a = app(d.port, "app1", "13105550000", n_a, 30 if PHASE == "stall" else 120)
    to_b = app(d.port, "app2", "14155550000", n_b, 60)
    rb = result(to_b)
    b_time = time.time() - t0
    print("# %s: B's %d messages and receipts in %.1f s" % (PHASE, n_b, b_time))
    check(rb["accepted"] == n_b and sum(rb["receipts"].values()) == n_b,
          "%s: all %d of B's messages delivered with receipts (%s)" % (PHASE, n_b, rb["receipts"]))
    check(b_time < 20, "%s: B kept flowing beside the faulty A (%.1f s)" % (PHASE, b_time))
    if PHASE == "throttle":
        time.sleep(3)
        check(not submitted(loga), "throttle: A accepted nothing while it answered 0x58")
        check(d.grep(r"event=carrier_rate carrier=a mps=\S+ reason=throttled"),
              "throttle: A's rate was cut")
        pa.send_signal(signal.SIGUSR1)  # A recovers
    ra = result(to_a)
    got = sum(ra["receipts"].values())
    print("# %s: A's messages: accepted %d, receipts %s" % (PHASE, ra["accepted"], ra["receipts"]))
    if PHASE == "stall":
        # a carrier that accepted a message and then fell silent owes its
        # receipt; what smppd owes is that every message reached a carrier
        check(ra["accepted"] == n_a and got >= n_a - A_WINDOW * A_SESSIONS,
              "stall: %d of %d receipts; the rest were accepted by A before it fell silent"
              % (got, n_a))
    else:
        check(ra["accepted"] == n_a and got == n_a,
              "%s: all %d of A's messages ended with a receipt (%d)" % (PHASE, n_a, got))
    a_dsts = submitted(loga) + [x for x in submitted(logb) if x.startswith("1310")]
    dups = len(a_dsts) - len(set(a_dsts))
    check(set(a_dsts) == {str(13105550000 + i) for i in range(n_a)},
          "%s: every one of A's destinations reached a carrier" % PHASE)
    check(dups <= A_WINDOW * A_SESSIONS,
          "%s: %d duplicates, within A's in-flight window of %d" % (PHASE, dups,
                                                                   A_WINDOW * A_SESSIONS))
    b_dsts = [x for x in submitted(logb) if x.startswith("1415")]
    check(len(b_dsts) == n_b, "%s: B's messages each sent once (%d)" % (PHASE, len(b_dsts)))
    if PHASE == "stall":
        d.wait_log(r"event=response_timeout carrier=a slot=\d action=rebind")
        check(True, "stall: A's silence was noticed: its bind was closed and bound again")
    check(d.stop() == 0, "smppd stops")
    for p in (pa, pb):
        p.terminate()
        p.wait()


harness.main(run)
