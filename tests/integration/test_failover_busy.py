#!/usr/bin/env python3
"""Routes fail over when the first carrier is up but saturated: every bind's
window full, or its max_mps spent; and come back to it once it has room.

    test_failover_busy.py SMPPD SMPPSIM
"""
import os
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check, logged_dsts  # noqa: E402
import smpp_client as sc  # noqa: E402

SRC = "12025550100"


def run(tmp):
    smppd, smppsim = sys.argv[1], sys.argv[2]
    ls, lr, lb = (os.path.join(tmp, n + ".log") for n in ("slow", "rate", "b"))
    _, ports = harness.sim_carrier(smppsim, ls, "--slow", "3000")   # answers each submit after 3 s
    _, portr = harness.sim_carrier(smppsim, lr)
    _, portb = harness.sim_carrier(smppsim, lb)
    d = harness.Daemon(smppd, tmp,
                       carriers=[dict(name="slow", host="127.0.0.1", port=ports, system_id="smppd",
                                      window=1, response_timeout="20s"),
                                 dict(name="rate", host="127.0.0.1", port=portr, system_id="smppd",
                                      max_mps=0.2),
                                 dict(name="b", host="127.0.0.1", port=portb, system_id="smppd")],
                       routes="routes:\n  - match: {prefix: \"1310\"}\n    carriers: [slow, b]\n"
                              "  - match: {prefix: \"1212\"}\n    carriers: [rate, b]\n")
    d.start()
    for name in ("slow", "rate", "b"):
        d.wait_log(r"event=bound carrier=%s " % name)
    c = sc.Client(d.port)
    check(c.bind("transmitter", "app1", "secret1").status == 0, "app1 binds")

    # window: slow holds one submit unanswered for 3 s, its only bind is full
    for i in range(5):
        check(c.submit(SRC, "1310555000%d" % i, "w").status == 0, "submit %d to 1310 accepted" % i)
    harness.wait_for(lambda: len(logged_dsts(lb)) >= 4, 10, "the overflow at b")
    harness.wait_for(lambda: len(logged_dsts(ls)) >= 1, 10, "one at slow")
    check(len(logged_dsts(ls)) == 1 and len([x for x in logged_dsts(lb) if x.startswith("1310")]) == 4,
          "slow's window full: its first message waits there, the other four fail over to b "
          "(slow %d, b %d)" % (len(logged_dsts(ls)), len(logged_dsts(lb))))

    # rate: max_mps 0.2 lets one through, the rest of the burst goes to b
    for i in range(5):
        check(c.submit(SRC, "1212555000%d" % i, "r").status == 0, "submit %d to 1212 accepted" % i)
    harness.wait_for(lambda: len([x for x in logged_dsts(lb) if x.startswith("1212")]) >= 4, 10,
                     "the rate overflow at b")
    check(len(logged_dsts(lr)) == 1, "rate's max_mps spent: one message there, four failed over to b")

    # fail back: once slow has answered, its window has room again
    time.sleep(3.5)
    check(c.submit(SRC, "13105550009", "back").status == 0, "a later submit to 1310")
    harness.wait_for(lambda: "13105550009" in logged_dsts(ls), 10, "fail back to slow")
    check(True, "slow answered and has room again: 1310 goes back to it")
    time.sleep(5.5)  # rate's next token
    check(c.submit(SRC, "12125550009", "back").status == 0, "a later submit to 1212")
    harness.wait_for(lambda: "12125550009" in logged_dsts(lr), 10, "fail back to rate")
    check(True, "rate has a token again: 1212 goes back to it")
    c.close()
    check(d.stop() == 0, "smppd stops")


harness.main(run)
