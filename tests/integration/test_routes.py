#!/usr/bin/env python3
"""Routes: by campaign and by destination prefix, failing over along the
route's carrier list when a carrier is down, and back when it returns.

    test_routes.py SMPPD SMPPSIM SOURCE_ROOT
"""
import os
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check, offset_to, logged_dsts  # noqa: E402
import smpp_client as sc  # noqa: E402

TWOFA, NOTIFY = "12025550101", "12025550111"


def run(tmp):
    smppd, smppsim, root = sys.argv[1], sys.argv[2], sys.argv[3]
    conf = harness.copy_conf(root, tmp)
    la, lb = os.path.join(tmp, "a.log"), os.path.join(tmp, "b.log")
    pa, porta = harness.sim_carrier(smppsim, la)
    pb, portb = harness.sim_carrier(smppsim, lb)
    os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(offset_to(18))  # 10:00 in LA, 13:00 in New York
    routes = ("routes:\n  - match: {campaign: CACME2FA}\n    carriers: [b]\n"
              "  - match: {prefix: \"1310\"}\n    carriers: [a, b]\n  - carriers: [b]\n")
    d = harness.Daemon(smppd, tmp,
                       accounts=[dict(system_id="app1", allowed_campaigns="[CACME2FA, CACMEACCT]")],
                       carriers=[dict(name="a", host="127.0.0.1", port=porta, system_id="smppd",
                                      reconnect="{initial: 100ms, max: 200ms}"),
                                 dict(name="b", host="127.0.0.1", port=portb, system_id="smppd")],
                       routes=routes, extra="policy: %s" % os.path.join(conf, "policy.yaml"))
    d.start()
    d.wait_log(r"event=bound carrier=a")
    d.wait_log(r"event=bound carrier=b")
    c = sc.Client(d.port)
    c.bind("transmitter", "app1", "secret1")
    c.submit(TWOFA, "13105550001", "Your Acme code is 1")
    c.submit(NOTIFY, "13105550002", "Your statement is ready")
    c.submit(NOTIFY, "12125550003", "Your statement is ready")
    harness.wait_for(lambda: len(logged_dsts(la)) + len(logged_dsts(lb)) >= 3, 10,
                     "three submits at the carriers")
    check("13105550001" in logged_dsts(lb), "campaign route: the 2FA message went to carrier b")
    check("13105550002" in logged_dsts(la), "prefix route: 1310... went to carrier a")
    check("12125550003" in logged_dsts(lb), "default route: 1212... went to carrier b")
    pa.kill()
    pa.wait()
    d.wait_log(r"event=unbound carrier=a")
    c.submit(NOTIFY, "13105550004", "Your statement is ready")
    harness.wait_for(lambda: "13105550004" in logged_dsts(lb), 10, "failover to b")
    check(True, "carrier a down: 1310... fails over to carrier b")
    pa, _ = harness.sim_carrier(smppsim, la, port=porta)
    d.wait_log(r"event=bound carrier=a", count=2)
    c.submit(NOTIFY, "13105550005", "Your statement is ready")
    harness.wait_for(lambda: "13105550005" in logged_dsts(la), 10, "fail back to a")
    check(True, "carrier a back: 1310... goes to a again")
    c.close()
    check(d.stop() == 0, "smppd stops")


harness.main(run)
