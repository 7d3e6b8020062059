#!/usr/bin/env python3
"""SIGTERM with submits in flight to a slow carrier (issue 6, lifecycle):
smppd unbinds the applications, stops taking binds, waits for the
carrier's answers, commits them and exits 0; after a restart not one of
those messages goes to a carrier again.

usage: test_shutdown.py SMPPD SMPPSIM
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, logged_dsts  # noqa: E402
import smpp_client as sc  # noqa: E402

SRC = "12025550100"
N = 20


def run(tmp):
    smppd, smppsim = sys.argv[1], sys.argv[2]
    slow_log = os.path.join(tmp, "slow.log")
    cp, cport = harness.sim_carrier(smppsim, slow_log, "--slow", "1500")
    d = harness.Daemon(smppd, tmp, accounts=[dict(system_id="app1", window=64)],
                       carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd",
                                      window=50, sessions=1, response_timeout="10s")])
    port = d.start()
    d.wait_log(r"event=bound carrier=sim")
    c = sc.Client(port)
    c.bind("transceiver", "app1", "secret1")
    dsts = ["1310555%04d" % i for i in range(N)]
    check(all(c.submit(SRC, dst, "in flight %s" % dst).status == 0 for dst in dsts),
          "%d messages accepted" % N)
    harness.wait_for(lambda: len(logged_dsts(slow_log)) >= N, 10, "the submits to reach the carrier")
    check(True, "all %d reached the carrier, which answers each 1.5 s later" % N)
    t0 = time.time()
    d.proc.send_signal(signal.SIGTERM)
    p = c.expect(sc.UNBIND, timeout=5)
    check(p is not None, "the application's session gets an unbind from smppd")
    c.answer(p)
    try:  # the listener is closed, or never answers before smppd exits
        late = sc.Client(port, timeout=2)
        try:
            bound = late.bind("transceiver", "app1", "secret1").status == 0
        finally:
            late.close()
    except (TimeoutError, OSError, ConnectionError):
        bound = False
    check(not bound, "a bind after SIGTERM is not taken")
    try:
        rc = d.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.time() - t0
    check(rc == 0, "smppd exits 0 (%s) %.1f s after SIGTERM" % (rc, took))
    got = logged_dsts(slow_log)
    check(len(got) == N and took >= 0.8,
          "it waited for the carrier's answers: exit %.1f s after SIGTERM, %d submits seen" % (took, len(got)))
    check(not d.grep(r"event=(requeue|timeout)"), "no submit was given up on")
    check(d.grep(r"event=stopped"), "and logged event=stopped")
    c.close()
    cp.terminate()
    cp.wait()

    fast_log = os.path.join(tmp, "fast.log")
    cp2, cport2 = harness.sim_carrier(smppsim, fast_log)
    d.carriers = [dict(d.carriers[0], port=cport2)]
    d.start()
    d.wait_log(r"event=bound carrier=sim", count=2)
    time.sleep(2)
    again = [f for f in logged_dsts(fast_log) if f in dsts]
    check(again == [], "after a restart none of the %d goes to a carrier again (%d did)" % (N, len(again)))
    check(d.stop() == 0, "smppd stops cleanly again")
    cp2.terminate()


harness.main(run)
