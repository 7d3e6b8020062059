#!/usr/bin/env python3
"""Health warnings in the log (issue 6): a carrier whose binds are all
down, a store filling its map, a queue that keeps growing; and the
all-clear when the carrier comes up.  Checks run every second here
(SMPPD_TEST_HEALTH_EVERY_S; 10 s by default).

    test_health.py SMPPD SMPPSIM
"""
import json
import os
import urllib.request
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402


TOKEN = "health-test-token-0123456789"


def status(port):
    req = urllib.request.Request("http://127.0.0.1:%d/v1/status" % port,
                                 headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read().decode())


def run(tmp):
    smppd, smppsim = sys.argv[1], sys.argv[2]
    smppctl = os.path.abspath(os.path.join(os.path.dirname(smppd), "smppctl"))
    admin_port = harness.free_port()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    cport = s.getsockname()[1]
    s.close()  # nothing listens there yet: the carrier is down
    os.environ["SMPPD_TEST_HEALTH_EVERY_S"] = "1"
    d = harness.Daemon(smppd, tmp, accounts=[dict(system_id="app1", window=50)],
                       carriers=[dict(name="down", host="127.0.0.1", port=cport,
                                      system_id="smppd", reconnect="{initial: 200ms, max: 500ms}")],
                       map_size="2MiB",
                       extra="admin:\n  address: 127.0.0.1:%d\n  token: %s\n" % (admin_port, TOKEN))
    d.start()
    d.wait_log(r"event=health_carrier_down carrier=down bound=0 binds=1 for_s=\d+")
    check(True, "a carrier with every bind down is logged as such")
    h = status(admin_port)["health"]
    check([c["name"] for c in h["carriers_down"]] == ["down"] and h["ok"] is False,
          "and shows in the admin API's status: %s" % h)
    ctl = subprocess.run([smppctl, "-c", d.conf, "status"], capture_output=True, timeout=30)
    check(ctl.returncode == 0 and b"HEALTH WARN: carrier down down for" in ctl.stdout,
          "and in smppctl status: %r" % ctl.stdout.splitlines()[:1])
    # a queue that grows check after check: 100 submits a second for 12 s
    steady = subprocess.Popen([smppsim, "app", "--connect", "127.0.0.1:%d" % d.port,
                               "--system-id", "app1", "--password", "secret1", "--count", "1200",
                               "--rate", "100", "--window", "50", "--src", "12025550100",
                               "--dst", "13105550000", "--dst-range", "1200"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d.wait_log(r"event=health_queue_growing queued=\d+ in_6_checks=\+\d+")
    check(True, "a queue growing six checks on end is logged")
    check(status(admin_port)["health"]["queue_growing"] is True, "and shows in the admin status")
    steady.wait(timeout=60)
    for _ in range(30):  # fill the store
        if d.grep(r"event=health_store_filling"):
            break
        subprocess.run([smppsim, "app", "--connect", "127.0.0.1:%d" % d.port, "--system-id",
                        "app1", "--password", "secret1", "--count", "500", "--window", "50",
                        "--src", "12025550100", "--dst", "13105560000", "--dst-range", "500",
                        "--text", "y" * 140], capture_output=True, timeout=60)
    d.wait_log(r"event=health_store_filling used_mb=\d+ map_mb=2 used_pct=\d+", timeout=20)
    check(True, "a store above 80% of its map is logged")
    check(status(admin_port)["health"]["store_filling"] is True, "and shows in the admin status")
    cp = harness.spawn([smppsim, "carrier", "--listen", "127.0.0.1:%d" % cport],
                       stdout=subprocess.PIPE)
    harness.read_port_line(cp)
    d.wait_log(r"event=health_carrier_up carrier=down after_s=\d+")
    check(True, "and the carrier coming back is logged")
    check(status(admin_port)["health"]["carriers_down"] == [], "and leaves the admin status")
    check(d.stop() == 0, "smppd stops")
    cp.terminate()


harness.main(run)
