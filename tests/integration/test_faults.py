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
    p = harness.spawn([smppsim, "carrier", "--listen", "127.0.0.1:0"] + list(flags),
                      stdout=subprocess.PIPE)
    return p, harness.read_port_line(p)


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


def run(tmp):
    smppd, smppsim = sys.argv[1], sys.argv[2]
    test_store_and_forward(smppd, smppsim, tmp)
    test_disconnects(smppd, smppsim, tmp)
    test_error_mix(smppd, smppsim, tmp)
    test_validity(smppd, smppsim, tmp)
    test_carrier_mps(smppd, smppsim, tmp)
    test_aimd(smppd, smppsim, tmp)


harness.main(run)
