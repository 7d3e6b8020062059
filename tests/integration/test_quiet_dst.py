#!/usr/bin/env python3
"""Quiet hours through smppd on the days the clocks change, and for a
prefix that spans two time zones.  Three smppd run side by side, each with
its clock (SMPPD_TEST_CLOCK_OFFSET) set 15 seconds before the moment its
message may go; an smppsim carrier logs what arrives and when.

  spring  2027-03-14, New York: 07:59:45 EDT (11:59:45 UTC).  Released at
          08:00 EDT, 15 s later; standard-time arithmetic would wait an hour.
  fall    2027-11-07, New York: 07:59:45 EST (12:59:45 UTC).  Released 15 s
          later; daylight-time arithmetic would send at once.
  zones   2027-01-12, area code 208, prefix 12082 (Boise and Los Angeles):
          08:59:45 MST is 07:59:45 PST, so it waits 15 s for Los Angeles;
          prefix 120823 (Denver only) goes at once.

    test_quiet_dst.py SMPPD SMPPSIM SOURCE_ROOT
"""
import calendar
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import smpp_client as sc  # noqa: E402
from harness import check  # noqa: E402

NOTIFY = "12025550111"  # CACMEACCT: account notifications, not exempt
LEAD = 15


def utc(y, mo, d, h, mi, s):
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))


def run(tmp):
    smppd, smppsim, root = sys.argv[1], sys.argv[2], sys.argv[3]
    conf = harness.copy_conf(root, tmp)
    log = os.path.join(tmp, "carrier.log")
    cp = harness.spawn([smppsim, "carrier", "--listen", "127.0.0.1:0", "--log-submits", log],
                       stdout=subprocess.PIPE)
    cport = harness.read_port_line(cp)

    def arrived(dst):
        try:
            with open(log) as f:
                return [int(r.split()[0]) / 1000.0 for r in f if r.split()[2:3] == [dst]]
        except OSError:
            return []

    cases = [  # name, release instant (UTC), destinations held, sent at once
        ("spring", utc(2027, 3, 14, 12, 0, 0), ["12125550101"], []),
        ("fall", utc(2027, 11, 7, 13, 0, 0), ["12125550102"], []),
        ("zones", utc(2027, 1, 12, 16, 0, 0), ["12082001234"], ["12082312345"]),
    ]
    daemons, starts = [], {}
    for name, release, held, direct in cases:
        sub = os.path.join(tmp, name)
        os.makedirs(sub)
        os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(int(release - LEAD - time.time()))
        d = harness.Daemon(smppd, sub, accounts=[dict(system_id="app1")],
                           carriers=[dict(name="sim", host="127.0.0.1", port=cport,
                                          system_id="smppd")],
                           extra="policy: %s" % os.path.join(conf, "policy.yaml"))
        d.start()
        starts[name] = time.time()
        daemons.append(d)
        d.wait_log(r"event=bound carrier=sim")
        c = sc.Client(d.port)
        c.bind("transmitter", "app1", "secret1")
        for dst in held + direct:
            check(c.submit(NOTIFY, dst, "Your statement is ready").status == 0,
                  "%s: notification to %s accepted" % (name, dst))
        c.close()
    for name, release, held, direct in cases:
        for dst in direct:
            harness.wait_for(lambda: arrived(dst), 5, "%s: %s at once" % (name, dst))
            check(arrived(dst)[0] - starts[name] < 5, "%s: %s (window open in its only zone) "
                  "went at once" % (name, dst))
    time.sleep(max(0, min(starts.values()) + LEAD - 4 - time.time()))
    for name, release, held, direct in cases:
        for dst in held:
            check(not arrived(dst), "%s: %s still held a few seconds before 08:00" % (name, dst))
    for name, release, held, direct in cases:
        for dst in held:
            harness.wait_for(lambda: arrived(dst), LEAD + 10, "%s: %s at 08:00" % (name, dst))
            after = arrived(dst)[0] - starts[name]
            check(LEAD - 3 <= after <= LEAD + 5,
                  "%s: %s released at 08:00 local, %.1f s after smppd started %d s before"
                  % (name, dst, after, LEAD))
    for d in daemons:
        check(d.stop() == 0, "smppd stops")
    cp.terminate()


harness.main(run)
