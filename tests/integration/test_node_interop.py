#!/usr/bin/env python3
"""Interop end to end: the npm "smpp" package as the application AND as the
carrier, smppd between them.  Messages (one of them long enough to be
split) go through the durable store to the carrier; the carrier's receipts
(hex ids in submit_sm_resp, decimal in the receipt) come back to the
application carrying smppd's own ids; an MO reaches the application.

    test_node_interop.py SMPPD NODE_CACHE_DIR
"""
import json
import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import common  # noqa: E402  (tests/interop: installs the npm package)
import harness  # noqa: E402
from harness import check  # noqa: E402

COUNT = 25


def run(tmp):
    smppd, cache = sys.argv[1], sys.argv[2]
    mods = common.ensure_node_smpp(cache)
    peers = os.path.join(HERE, "node_peers.js")
    carrier = harness.spawn(["node", peers, mods, "carrier"], stdout=subprocess.PIPE)
    cport = harness.read_port_line(carrier)
    d = harness.Daemon(smppd, tmp, carriers=[dict(
        name="node", host="127.0.0.1", port=cport, system_id="smppd", window=20,
        message_id_format="hex_resp_dec_receipt")])
    port = d.start()
    d.wait_log(r"event=bound carrier=node")
    app = subprocess.run(["node", peers, mods, "app", str(port), str(COUNT)],
                         capture_output=True, timeout=60)
    out = json.loads(app.stdout.decode().strip().splitlines()[-1])
    if os.environ.get("SMPPD_TEST_DEBUG"):
        print(json.dumps(out))
    check(len(out["acked"]) == COUNT, "all %d submits accepted (%s)" % (COUNT, out["statuses"]))
    check(sorted(out["receipts"]) == sorted(out["acked"]),
          "every receipt carries the id smppd gave in submit_sm_resp")
    check(all(len(i) == 16 for i in out["acked"]), "smppd ids are 16 hex digits")
    check(out["mos"] == ["hello from a handset"], "the carrier's MO reached the application")
    carrier.send_signal(signal.SIGTERM)
    seen = json.loads(carrier.stdout.read().decode().strip().splitlines()[-1])["submits"]
    parts = [s for s in seen if s["udh"]]
    check(len(seen) == COUNT + 1 and len(parts) == 2,
          "the carrier got %d submits, the long message as 2 UDH parts (got %d, %d)"
          % (COUNT + 1, len(seen), len(parts)))
    check(d.stop() == 0, "smppd exits 0 on SIGTERM")


harness.main(run)
