#!/usr/bin/env python3
"""smppd between smppsim peers when things go wrong: receipts stored for an
account that binds later, a carrier that drops every bind each second,
carrier throttling and temporary/permanent errors, validity expiry.

    test_faults.py SMPPD SMPPSIM
"""
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check  # noqa: E402
import smpp_client as sc  # noqa: E402

SRC = "12025550100"


def carrier(smppsim, *flags):
    return harness.sim_carrier(smppsim, None, *flags)


def daemon(smppd, tmp, name, cport, window=50, sessions=2, **carrier_extra):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    dm = harness.Daemon(smppd, d, accounts=[dict(system_id="app1", window=64)],
                        carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd",
                                       window=window, sessions=sessions,
                                       reconnect="{initial: 100ms, max: 1s}", **carrier_extra)])
    dm.start()
    dm.wait_log(r"event=bound carrier=sim")
    return dm


def app(smppsim, port, *flags):
    r = subprocess.run([smppsim, "app", "--connect", "127.0.0.1:%d" % port, "--system-id", "app1",
                        "--password", "secret1", "--src", SRC, "--dst", "13105550000"] + list(flags),
                       capture_output=True, timeout=120)
    if r.returncode != 0:
        raise harness.Failure("smppsim app exited %d: %s" % (r.returncode, r.stderr.decode()[-500:]))
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def receipts_of(out):
    return sum((out.get("receipts") or {}).values())


def test_store_and_forward(smppd, smppsim, tmp):
    cp, cport = carrier(smppsim, "--receipt-delay", "20")
    d = daemon(smppd, tmp, "saf", cport, sessions=1)  # one bind: receipts in submit order
    c = sc.Client(d.port)
    c.bind("transmitter", "app1", "secret1")
    ids = [c.submit(SRC, "1310555%04d" % i, "saf %d" % i, registered_delivery=1).message_id()
           for i in range(20)]
    c.close()
    d.wait_log(r"event=receipt id=", count=20)
    check(True, "20 receipts came back while the account had no receiver bound")
    rx = sc.Client(d.port)
    check(rx.bind("receiver", "app1", "secret1").status == 0, "the account binds a receiver later")
    got = []
    for _ in range(20):
        p = rx.expect(sc.DELIVER_SM)
        f = p.deliver_fields()
        got.append(f["tlvs"].get(0x001E, b"").rstrip(b"\0").decode())
        rx.answer(p)
    check(sorted(got) == sorted(ids), "it gets all 20 stored receipts, each with smppd's id")
    check(got == ids, "in the order they were stored (the carrier's order)")
    b"stat:DELIVRD" in f["short_message"] or check(False, "receipt text says DELIVRD")
    rx.unbind()
    time.sleep(0.3)
    rx2 = sc.Client(d.port)
    rx2.bind("receiver", "app1", "secret1")
    try:
        rx2.expect(sc.DELIVER_SM, timeout=1.5)
        again = True
    except TimeoutError:
        again = False
    check(not again, "answered receipts are not sent again")
    rx2.close()
    d.stop()
    cp.terminate()


def test_disconnects(smppd, smppsim, tmp):
    cp, cport = carrier(smppsim, "--disconnect-every", "1", "--receipt-delay", "10")
    d = daemon(smppd, tmp, "disc", cport)
    out = app(smppsim, d.port, "--count", "3000", "--window", "32", "--rate", "1000",
              "--registered-delivery", "1", "--dst-range", "3000", "--wait-receipts", "60")
    check(out["accepted"] == 3000, "3000 submits accepted while the carrier drops its binds every second")
    check(receipts_of(out) == 3000, "and all 3000 receipts arrive (%s)" % out.get("receipts"))
    check(len(d.grep(r"event=bound carrier=sim")) >= 3, "smppd rebound to the carrier %d times"
          % len(d.grep(r"event=bound carrier=sim")))
    d.stop()
    cp.terminate()


def test_error_mix(smppd, smppsim, tmp):
    cp, cport = carrier(smppsim, "--error", "0x58=20%,0x64=10%,0x65=5%", "--seed", "3")
    d = daemon(smppd, tmp, "errs", cport)
    out = app(smppsim, d.port, "--count", "1000", "--window", "32", "--registered-delivery", "1",
              "--dst-range", "1000", "--wait-receipts", "60")
    rc = out.get("receipts") or {}
    check(out["accepted"] == 1000, "1000 submits accepted")
    check(receipts_of(out) == 1000, "every message ends with a receipt (%s)" % rc)
    undeliv = rc.get("UNDELIV", 0)
    check(20 <= undeliv <= 90, "permanent 0x65 answers end as UNDELIV receipts (%d, ~5%%)" % undeliv)
    check(d.grep(r"event=carrier_throttled carrier=sim"), "0x58 answers are logged as throttling")
    d.stop()
    cp.terminate()


def test_validity(smppd, smppsim, tmp):
    cp, cport = carrier(smppsim, "--error", "0x64=100%")
    d = daemon(smppd, tmp, "validity", cport)
    c = sc.Client(d.port)
    c.bind("transceiver", "app1", "secret1")
    r = c.submit(SRC, "13105550001", "expire me", registered_delivery=1, validity="000000000004000R")
    check(r.status == 0, "a message valid for 4 s is accepted")
    p = c.expect(sc.DELIVER_SM, timeout=30)
    f = p.deliver_fields()
    c.answer(p)
    check(b"stat:EXPIRED" in f["short_message"] and
          f["tlvs"].get(0x001E, b"").rstrip(b"\0").decode() == r.message_id(),
          "temporary errors retry until validity ends, then an EXPIRED receipt")
    c.close()
    d.stop()
    cp.terminate()


def test_carrier_mps(smppd, smppsim, tmp):
    log = os.path.join(tmp, "mps.log")
    cp, cport = carrier(smppsim, "--log-submits", log)
    d = daemon(smppd, tmp, "mps", cport, max_mps="20/s")
    out = app(smppsim, d.port, "--count", "100", "--window", "100", "--dst-range", "100")
    check(out["accepted"] == 100, "100 submits accepted at once")

    def times():
        try:
            with open(log) as f:
                return [int(l.split()[0]) for l in f if l.strip()]
        except OSError:
            return []
    t = harness.wait_for(lambda: len(times()) >= 100 and times(), 30, "100 submits at the carrier")
    t.sort()
    worst = max(sum(1 for u in t if s <= u < s + 1000) for s in t)
    span = (t[-1] - t[0]) / 1000.0
    check(worst <= 22, "max_mps 20/s: at most %d submits in any second (20 + a burst of 2)" % worst)
    check(span >= 4.0, "100 messages at 20/s take %.1f s (>= 4.0)" % span)
    d.stop()
    cp.terminate()


def test_aimd(smppd, smppsim, tmp):
    log = os.path.join(tmp, "aimd.log")
    cp, cport = carrier(smppsim, "--error", "0x58=10%", "--seed", "5", "--log-submits", log)
    d = daemon(smppd, tmp, "aimd", cport, max_mps="100/s")
    out = app(smppsim, d.port, "--count", "400", "--window", "100", "--dst-range", "400",
              "--registered-delivery", "1", "--wait-receipts", "60")
    check(receipts_of(out) == 400, "400 messages through a carrier answering 10% 0x58: all delivered")
    fell = d.grep(r"event=carrier_rate carrier=sim mps=(\S+) reason=throttled")
    rose = d.grep(r"event=carrier_rate carrier=sim mps=(\S+) reason=recovering")
    check(fell and float(fell[0].group(1)) == 50.0,
          "the first 0x58 halves the carrier's rate (100 -> %s/s)" % (fell[0].group(1) if fell else "-"))
    check(bool(rose), "clean answers bring it back up (%d steps)" % len(rose))
    d.stop()
    cp.terminate()


class PurgingDaemon(harness.Daemon):
    """Finished messages leave the store at once: retention 0, purge every second."""
    def yaml(self):
        return super().yaml().replace("  map_size: %s\n" % self.map_size,
                                      "  map_size: %s\n  retention: 0s\n  purge_interval: 1s\n"
                                      % self.map_size)


def test_store_full_then_freed(smppd, smppsim, tmp):
    """A full store answers 0x14 and loses nothing; once the carrier takes
    the messages and the purge removes them, submits are accepted again."""
    cp, cport = carrier(smppsim)
    cp.terminate()  # its port is known and nobody listens there: the carrier is down
    cp.wait()
    d = os.path.join(tmp, "freed")
    os.makedirs(d)
    dm = PurgingDaemon(smppd, d, accounts=[dict(system_id="app1", window=64)], map_size="1MiB",
                       carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd",
                                      reconnect="{initial: 100ms, max: 300ms}")])
    port = dm.start()
    c = sc.Client(port)
    c.bind("transceiver", "app1", "secret1")
    ids, full = [], None
    for i in range(6000):
        r = c.submit(SRC, "1310555%04d" % i, "fill %d " % i + "x" * 120)
        if r.status != 0:
            full = r.status
            break
        ids.append(r.message_id())
    check(full == 0x14 and len(ids) > 100,
          "with the carrier down a 1 MiB store fills: 0x14 after %d messages" % len(ids))
    check(c.submit(SRC, "13105559999", "still full").status == 0x14,
          "and stays full while nothing leaves")
    log = os.path.join(d, "submits.log")
    cp2 = harness.spawn([smppsim, "carrier", "--listen", "127.0.0.1:%d" % cport, "--log-submits", log],
                        stdout=subprocess.PIPE)
    harness.read_port_line(cp2)
    dm.wait_log(r"event=bound carrier=sim")
    status = {}

    def accepted_again():
        status["last"] = c.submit(SRC, "13105559999", "after the drain").status
        return status["last"] == 0 or time.sleep(0.2)
    harness.wait_for(accepted_again, 60, "a submit to be accepted after the store drained")
    check(status["last"] == 0, "once the carrier took them and the purge ran, submits are accepted again")
    sent = {"1310555%04d" % i for i in range(len(ids))}

    def delivered():
        with open(log) as f:
            return {line.split()[2] for line in f if line.strip()}
    missing = lambda: sent - delivered()  # noqa: E731
    try:
        harness.wait_for(lambda: not missing() or time.sleep(0.2), 60, "the stored messages to drain")
    except harness.Failure:
        pass
    check(not missing(), "every one of the %d stored messages reached the carrier (%d missing)"
          % (len(ids), len(missing())))
    c.close()
    check(dm.stop() == 0, "smppd stops cleanly")
    cp2.terminate()
    cp2.wait()
    unmatched = len(dm.grep(r"event=receipt_unmatched"))
    check(unmatched == 0, "every receipt found its message: outcomes were recorded (%d unmatched)"
          % unmatched)


def run(tmp):
    smppd, smppsim = sys.argv[1], sys.argv[2]
    test_store_full_then_freed(smppd, smppsim, tmp)
    test_store_and_forward(smppd, smppsim, tmp)
    test_disconnects(smppd, smppsim, tmp)
    test_error_mix(smppd, smppsim, tmp)
    test_validity(smppd, smppsim, tmp)
    test_carrier_mps(smppd, smppsim, tmp)
    test_aimd(smppd, smppsim, tmp)


harness.main(run)
