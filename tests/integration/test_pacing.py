#!/usr/bin/env python3
"""Pacing: a campaign's per_minute (10DLC TPM) holds at the carrier however
fast the application submits, and another campaign is not held behind it.

    test_pacing.py SMPPD SMPPSIM SOURCE_ROOT
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check, offset_to  # noqa: E402


def run(tmp):
    smppd, smppsim, root = sys.argv[1], sys.argv[2], sys.argv[3]
    conf = os.path.join(tmp, "conf")
    os.makedirs(conf)
    for f in ("nanp-tz.tsv", "nanp-states.tsv"):
        shutil.copy(os.path.join(root, "conf", f), conf)
    with open(os.path.join(root, "conf", "policy.yaml")) as f:
        text = f.read()
    # CACME2FA: 1200 per minute (20/s) instead of the example's 4500; its
    # numbers may go faster than that, and so may the other campaign's.
    text = re.sub(r"(id: CACME2FA.*?per_minute: )\d+", r"\g<1>1200", text, count=1, flags=re.S)
    text = text.replace("    long_code: 1 ", "    long_code: 50 ")
    with open(os.path.join(conf, "policy.yaml"), "w") as f:
        f.write(text)
    log = os.path.join(tmp, "carrier.log")
    cp = harness.spawn([smppsim, "carrier", "--listen", "127.0.0.1:0", "--log-submits", log],
                       stdout=subprocess.PIPE)
    cport = harness.read_port_line(cp)
    os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(offset_to(18))  # daytime in the US
    d = harness.Daemon(smppd, tmp,
                       accounts=[dict(system_id="app1", allowed_campaigns="[CACME2FA, CACMEACCT]",
                                      window=200)],
                       carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd",
                                      window=100, sessions=2)],
                       extra="policy: %s" % os.path.join(conf, "policy.yaml"))
    d.start()
    d.wait_log(r"event=bound carrier=sim")

    def app(src, count, first):
        r = subprocess.run([smppsim, "app", "--connect", "127.0.0.1:%d" % d.port, "--system-id",
                            "app1", "--password", "secret1", "--src", src, "--dst", first,
                            "--dst-range", str(count), "--count", str(count), "--window", "100",
                            "--text", "Your Acme code is 123456"], capture_output=True, timeout=60)
        return json.loads(r.stdout.decode().strip().splitlines()[-1])

    out = app("12025550101", 200, "13105551000")
    check(out["accepted"] == 200, "200 2FA submits accepted at once (%s)" % out.get("rejected"))
    other = app("12025550111", 5, "13105559000")
    check(other["accepted"] == 5, "5 account notifications from another campaign accepted")

    def rows():
        try:
            with open(log) as f:
                return [l.split() for l in f if l.strip()]
        except OSError:
            return []
    harness.wait_for(lambda: len(rows()) >= 205, 30, "205 submits at the carrier")
    twofa = sorted(int(r[0]) for r in rows() if r[1] == "12025550101")
    notify = sorted(int(r[0]) for r in rows() if r[1] == "12025550111")
    worst = max(sum(1 for u in twofa if s <= u < s + 1000) for s in twofa)
    span = (twofa[-1] - twofa[0]) / 1000.0
    check(worst <= 22, "per_minute 1200: at most %d of the campaign's submits in any second" % worst)
    check(8.5 <= span <= 12.0, "200 messages at 20/s spread over %.1f s (10 expected)" % span)
    check(notify and notify[-1] < twofa[-1] - 3000,
          "the other campaign's messages went out while the paced one was still sending")
    check(d.stop() == 0, "smppd stops")
    cp.terminate()


harness.main(run)
