#!/usr/bin/env python3
"""kill -9 smppd again and again while an application submits: after the
last restart every message that got status 0 reaches the carrier.
Duplicates may come only from submits that were in flight to the carrier
at a kill; they are counted and printed.

    test_crash.py SMPPD NODE_CACHE_DIR
"""
import os
import random
import signal
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import common  # noqa: E402
import harness  # noqa: E402
from harness import check  # noqa: E402
import smpp_client as sc  # noqa: E402

KILLS = 6
WINDOW = 32


class App(threading.Thread):
    """Submits numbered messages with a window; reconnects after a kill."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop, self.acked, self.sent = port, False, set(), 0
        self.errors = 0

    def session(self):
        c = sc.Client(self.port, timeout=5)
        if c.bind("transmitter", "app1", "secret1").status != 0:
            raise ConnectionError("bind refused")
        inflight = {}
        while not self.stop or inflight:
            while not self.stop and len(inflight) < WINDOW:
                self.sent += 1
                dst = "1%010d" % self.sent
                body = c.submit_body("12025550100", dst, "crash test %d" % self.sent)
                seq = c.send(sc.SUBMIT_SM, body)
                inflight[seq] = dst
            p = c.expect(sc.SUBMIT_SM | sc.RESP, timeout=5)
            dst = inflight.pop(p.seq, None)
            if dst and p.status == 0:
                self.acked.add(dst)
        c.close()

    def run(self):
        while not self.stop:
            try:
                self.session()
            except (OSError, ConnectionError, TimeoutError):
                self.errors += 1
                time.sleep(0.05)


def run(tmp):
    smppd, cache = sys.argv[1], sys.argv[2]
    mods = common.ensure_node_smpp(cache)
    seen_log = os.path.join(tmp, "carrier.log")
    env = dict(os.environ, CARRIER_LOG=seen_log)
    carrier = harness.spawn(["node", os.path.join(HERE, "node_peers.js"), mods, "carrier"],
                            stdout=subprocess.PIPE, env=env)
    cport = harness.read_port_line(carrier)
    d = harness.Daemon(smppd, tmp, accounts=[dict(system_id="app1", window=WINDOW, receipts="false")],
                       carriers=[dict(name="node", host="127.0.0.1", port=cport, system_id="smppd",
                                      window=50, message_id_format="hex_resp_dec_receipt")])
    port = d.start()
    # From now on the same port, so the application can come back to it.
    d.yaml_port = port
    orig = d.yaml
    d.yaml = lambda: orig().replace("127.0.0.1:0", "127.0.0.1:%d" % port)
    app = App(port)
    app.start()
    rnd = random.Random(7)
    for i in range(KILLS):
        time.sleep(rnd.uniform(0.3, 1.0))
        d.proc.kill()
        d.proc.wait()
        d.start()
    time.sleep(1.0)
    app.stop = True
    app.join(20)
    check(len(app.acked) > 200, "the application got %d messages accepted across %d kill -9"
          % (len(app.acked), KILLS))

    def delivered():
        try:
            with open(seen_log) as f:
                seen = f.read().split()
        except OSError:
            return None
        return seen if app.acked <= set(seen) else None
    seen = harness.wait_for(delivered, 60, "every acknowledged message at the carrier")
    dups = len(seen) - len(set(seen))
    check(True, "every acknowledged message reached the carrier (%d received, %d duplicates "
          "from in-flight submits, %d unacknowledged extras)"
          % (len(seen), dups, len(set(seen) - app.acked)))
    recovered = sum(int(m.group(1)) for m in d.grep(r"event=opened \S+ recovered=(\d+)"))
    print("# restarts recovered %d messages that were being submitted" % recovered)
    check(d.stop() == 0, "smppd exits 0 on SIGTERM after the last restart")


harness.main(run)
