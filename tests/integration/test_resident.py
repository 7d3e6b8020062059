#!/usr/bin/env python3
"""store.resident_limit (issue 8): a queue that grew past the limit leaves
smppd's resident set once a second, and nothing stored is lost by it.

A queue of messages is built with no carrier bound; the Rss of the store's
mapping (/proc/PID/smaps, data.mdb) is read once smppd is idle, with the
limit at 1 MiB and, for comparison, with trimming off.  Then a carrier
binds and every queued message must reach it.

The run with trimming off also runs with store.fsync false, which must
reach the store (smppd warns that it does not sync) and lose nothing
across a clean restart.

usage: test_resident.py SMPPD SMPPSIM
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

SRC = "12025550100"
N = 20000


def store_rss_kb(pid):
    """kB of the data.mdb mapping resident in PID, and the file's size."""
    rss, inside = 0, False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and ":" in head[3]:
                inside = line.rstrip().endswith("/data.mdb")
            elif inside and head[0] == "Rss:":
                rss += int(head[1])
    return rss


def fill(smppsim, port):
    r = subprocess.run([smppsim, "app", "--connect", "127.0.0.1:%d" % port, "--system-id", "app1",
                        "--password", "secret1", "--src", SRC, "--dst", "13105550000",
                        "--dst-range", str(N), "--count", str(N), "--window", "256",
                        "--text", "x" * 150], capture_output=True, timeout=120)
    if r.returncode != 0:
        raise harness.Failure("smppsim app exited %d: %s" % (r.returncode, r.stderr.decode()[-500:]))
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def queued_rss(smppd, smppsim, tmp, limit, fsync="true"):
    d = harness.Daemon(smppd, tmp, accounts=[dict(system_id="app1", window=256)],
                       store={"resident_limit": limit, "fsync": fsync})
    port = d.start()
    out = fill(smppsim, port)
    check(out.get("accepted") == N, "resident_limit %s: %d of %d queued" % (limit, out.get("accepted"), N))
    time.sleep(2.5)  # two trims, if any, after the last write
    rss = store_rss_kb(d.proc.pid)
    size = os.path.getsize(os.path.join(tmp, "store", "data.mdb"))
    return d, rss, size


def run(tmp):
    smppd, smppsim = sys.argv[1], sys.argv[2]
    off_dir = os.path.join(tmp, "off")
    os.makedirs(off_dir)
    d0, rss_off, size_off = queued_rss(smppd, smppsim, off_dir, "0", fsync="false")
    check(d0.grep(r"level=warn cat=main event=fsync_off ", True),
          "store.fsync false: smppd warns that it does not sync")
    check(d0.stop() == 0, "smppd without trimming stops cleanly")
    d0.start()
    opened = d0.grep(r"event=opened path=\S+ recovered=\d+ queued=(\d+)", True)
    check(opened and int(opened[-1].group(1)) == N,
          "store.fsync false: all %d queued after a restart (%s)"
          % (N, opened[-1].group(0) if opened else "no event=opened line"))
    check(d0.stop() == 0, "smppd without fsync stops cleanly again")
    d, rss_on, size_on = queued_rss(smppd, smppsim, tmp, "1MiB")
    check(not d.grep(r"event=fsync_off", True), "store.fsync true (the default): no warning")
    check(rss_off > 4096,
          "without trimming the store's pages stay resident: %d kB of a %d kB file" % (rss_off, size_off // 1024))
    check(size_on > 4 << 20 and rss_on < 1024,
          "with resident_limit 1MiB: %d kB resident of a %d kB file" % (rss_on, size_on // 1024))

    log = os.path.join(tmp, "carrier.log")
    cp, cport = harness.sim_carrier(smppsim, log)
    check(d.stop() == 0, "smppd stops cleanly")
    d.carriers = [dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd", window=256)]
    d.start()

    def sent():
        return set(harness.logged_dsts(log))
    harness.wait_for(lambda: len(sent()) >= N, 60, "the queue to drain")
    check(len(sent()) == N, "after the trims every queued message reaches the carrier: %d distinct" % len(sent()))
    check(d.stop() == 0, "smppd stops cleanly again")
    cp.terminate()
    cp.wait()


harness.main(run)
