#!/usr/bin/env python3
"""Receipts to an account with several receiver binds (issue 8): they go
round the receivers a burst at a time, so every receiver gets its share
and none is skipped, and each receipt arrives once.

usage: test_receipt_spread.py SMPPD SMPPSIM
"""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402
import smpp_client as sc  # noqa: E402

SRC = "12025550100"
RECEIVERS, N = 3, 240


def run(tmp):
    smppd, smppsim = sys.argv[1], sys.argv[2]
    cp, cport = harness.sim_carrier(smppsim, None)
    d = harness.Daemon(smppd, tmp, accounts=[dict(system_id="app1", window=64, max_binds=8)],
                       carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd",
                                      window=100)])
    port = d.start()
    d.wait_log(r"event=bound carrier=sim")
    rx = []
    for _ in range(RECEIVERS):
        c = sc.Client(port)
        check(c.bind("receiver", "app1", "secret1").status == 0, "receiver %d bound" % (len(rx) + 1))
        rx.append(c)
    tx = sc.Client(port)
    tx.bind("transmitter", "app1", "secret1")
    ids = set()
    for i in range(N):
        r = tx.submit(SRC, "1310555%04d" % i, "spread %d" % i, registered_delivery=1)
        if r.status == 0:
            ids.add(r.message_id())
    check(len(ids) == N, "%d submits accepted" % len(ids))
    got = [[] for _ in rx]
    end = time.time() + 30
    while sum(map(len, got)) < N and time.time() < end:
        for i, c in enumerate(rx):
            try:
                p = c.expect(sc.DELIVER_SM, timeout=0.05)
            except TimeoutError:
                continue
            c.answer(p)
            got[i].append(p)
    counts = [len(g) for g in got]
    check(sum(counts) == N, "all %d receipts delivered: %s per receiver" % (N, counts))
    check(all(n >= N // (4 * RECEIVERS) for n in counts),
          "every receiver got its share (at least %d each): %s" % (N // (4 * RECEIVERS), counts))
    receipted = {p.deliver_fields()["tlvs"].get(0x001E, b"").rstrip(b"\0").decode() for g in got for p in g}
    check(receipted == ids, "each receipt once, for a message submitted: %d distinct ids" % len(receipted))
    for c in rx + [tx]:
        c.close()
    check(d.stop() == 0, "smppd stops cleanly")
    cp.terminate()
    cp.wait()


harness.main(run)
