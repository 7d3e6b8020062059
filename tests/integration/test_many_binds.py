#!/usr/bin/env python3
"""1,000 application binds at once on one smppd (issue 6): four accounts,
each bound 250 times by one smppsim app (transceiver binds), every bind
submitting and waiting for its receipts.  The test raises its own file
descriptor limit (smppd and the apps inherit it) within the hard limit.

    test_many_binds.py SMPPD SMPPSIM
"""
import json
import os
import resource
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

ACCOUNTS, PER_ACCOUNT, EACH = 4, 250, 4


def run(tmp):
    smppd, smppsim = sys.argv[1], sys.argv[2]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    check(soft >= 2 * ACCOUNTS * PER_ACCOUNT + 100,
          "file descriptor limit %d is enough for %d binds" % (soft, ACCOUNTS * PER_ACCOUNT))
    cp, cport = harness.sim_carrier(smppsim, None)
    accounts = [dict(system_id="app%d" % i, max_binds=PER_ACCOUNT, window=50)
                for i in range(ACCOUNTS)]
    d = harness.Daemon(smppd, tmp, accounts=accounts,
                       carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd",
                                      window=500, sessions=4)])
    d.start()
    d.wait_log(r"event=bound carrier=sim", count=4)
    total = PER_ACCOUNT * EACH
    apps = [subprocess.Popen([smppsim, "app", "--connect", "127.0.0.1:%d" % d.port,
                              "--system-id", "app%d" % i, "--password", "secret1",
                              "--sessions", str(PER_ACCOUNT), "--count", str(total),
                              "--window", "2", "--src", "12025550100",
                              "--dst", str(13100000000 + i * 100000), "--dst-range", str(total),
                              "--registered-delivery", "1", "--wait-receipts", "60",
                              "--timeout", "120"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for i in range(ACCOUNTS)]
    results = []
    for p in apps:
        out, err = p.communicate(timeout=200)
        lines = out.decode().strip().splitlines()
        results.append(json.loads(lines[-1]) if lines else {"error": err.decode()[-300:]})
    binds = len(d.grep(r"event=bound peer=\S+ system_id=app\d"))
    print("# %d upstream binds; per app: %s" % (binds, [
        (r.get("sessions"), r.get("accepted"), sum((r.get("receipts") or {}).values()))
        for r in results]))
    check(binds == ACCOUNTS * PER_ACCOUNT, "%d application binds at once" % binds)
    check(all(r.get("accepted") == total for r in results),
          "every bind submitted: %d messages accepted" % (ACCOUNTS * total))
    check(all(sum((r.get("receipts") or {}).values()) == total for r in results),
          "every message's receipt reached its account's binds")
    check(d.stop() == 0, "smppd stops with 1,000 binds open")
    cp.terminate()


harness.main(run)
