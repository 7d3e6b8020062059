#!/usr/bin/env python3
"""smppsim app against smppsim carrier on loopback.

    sim_test.py SMPPSIM CASE

Each case starts a carrier on port 0, learns the port from its first
stdout line, runs the app, checks the app's JSON (and the carrier's final
stats line) and stops every child it started.  Prints TAP.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

SIM = sys.argv[1]
CASE = sys.argv[2]
TMP = tempfile.mkdtemp(prefix="smppsim-test-")
checks = []


def check(ok, what):
    checks.append((bool(ok), what))


class Carrier:
    def __init__(self, *args):
        self.p = subprocess.Popen([SIM, "carrier", "--listen", "127.0.0.1:0", *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit("carrier did not start: " + self.p.stderr.read())
        self.addr = json.loads(line)["listening"]
        self.stats = None

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            out, err = self.p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, err = self.p.communicate()
        check(self.p.returncode == 0, "carrier exits 0 on SIGTERM (got %s)" % self.p.returncode)
        lines = [l for l in out.splitlines() if l.strip()]
        self.stats = json.loads(lines[-1]) if lines else {}
        return self.stats

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def app(addr, *args, timeout=60, system_id="test", password="pw"):
    cmd = [SIM, "app", "--connect", addr, "--system-id", system_id,
           "--password", password, *args]
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    report = json.loads(lines[-1]) if lines else None
    return r.returncode, report, r.stderr, time.time() - t


def case_receipts():
    """1,000 messages with receipts: all arrive, ids match the ids file."""
    for fmt, tlvs in (("hex", "on"), ("uuid", "off"), ("dec", "on")):
        ids = os.path.join(TMP, "ids-" + fmt)
        log = os.path.join(TMP, "submits-" + fmt)
        with Carrier("--id-format", fmt, "--receipt-tlvs", tlvs, "--log-submits",
                     log, "--receipt-delay", "20") as c:
            rc, rep, err, _ = app(c.addr, "--count", "1000", "--sessions", "2",
                                  "--window", "32", "--registered-delivery", "1",
                                  "--wait-receipts", "20", "--ids-file", ids)
            st = c.stop()
        tag = "%s/tlvs=%s: " % (fmt, tlvs)
        check(rc == 0, tag + "app exits 0 (%s)" % err.strip())
        check(rep["submitted"] == 1000 and rep["accepted"] == 1000, tag + "1000 accepted")
        check(rep["receipts"].get("DELIVRD") == 1000, tag + "1000 DELIVRD receipts")
        check(rep["receipts_matched"] == 1000, tag + "every receipt matched an id")
        check(rep["errors"]["total"] == 0, tag + "no errors: %s" % rep["errors"])
        check(rep["latency_ms"]["submit_receipt"]["p50"] >= 15, tag + "receipt delay shows")
        lines = open(ids).read().split()
        rows = [lines[i:i + 3] for i in range(0, len(lines), 3)]
        check(len(rows) == 1000, tag + "ids file has 1000 lines")
        check(sorted(int(r[0]) for r in rows) == list(range(1000)), tag + "every index once")
        app_ids = {r[1] for r in rows}
        check(len(app_ids) == 1000, tag + "ids are unique")
        logged = [l.split() for l in open(log).read().splitlines()]
        check(len(logged) == 1000 and all(len(l) == 6 for l in logged),
              tag + "submit log: 1000 lines of 6 fields")
        check({l[3] for l in logged} == app_ids, tag + "ids file matches the carrier's ids")
        check(st["receipts"].get("DELIVRD") == 1000 and st["submits"] == 1000,
              tag + "carrier stats agree: %s" % st)


def case_error_mix():
    with Carrier("--error", "0x58=10%,0x64=5%,0x65=5%", "--seed", "7") as c:
        rc, rep, err, _ = app(c.addr, "--count", "4000", "--window", "64")
        st = c.stop()
    check(rc == 0, "app exits 0 with rejects")
    rej = rep["rejected"]
    for key, share in (("0x00000058", .10), ("0x00000064", .05), ("0x00000065", .05)):
        n = rej.get(key, 0)
        check(abs(n - 4000 * share) <= 4000 * share * 0.4,
              "%s: %d near %d" % (key, n, 4000 * share))
    check(rep["accepted"] + sum(rej.values()) == 4000, "every submit answered")
    check(st["answered"].get("0x00000058") == rej.get("0x00000058"),
          "carrier and app agree on 0x58")


def case_throttle_all():
    with Carrier("--throttle-all") as c:
        rc, rep, err, _ = app(c.addr, "--count", "500", "--registered-delivery", "1",
                              "--wait-receipts", "1")
        c.stop()
    check(rc == 0, "app exits 0")
    check(rep["accepted"] == 0, "nothing accepted")
    check(rep["rejected"] == {"0x00000058": 500}, "all 500 got 0x58: %s" % rep["rejected"])
    check(rep["receipts"] == {}, "no receipts")


def case_bind_failure():
    with Carrier("--system-id", "test", "--password", "right") as c:
        rc, rep, err, t = app(c.addr, "--count", "10", password="wrong")
        check(rc == 1, "wrong password: exit 1 (got %d)" % rc)
        check("0x0000000e" in err, "names ESME_RINVPASWD: %s" % err.strip())
        rc, rep, err, t = app(c.addr, "--count", "10", system_id="other", password="right")
        check(rc == 1, "wrong system_id: exit 1")
        check("0x0000000f" in err, "names ESME_RINVSYSID")
        rc, rep, err, t = app(c.addr, "--count", "10", password="right")
        check(rc == 0 and rep["accepted"] == 10, "right credentials bind")
        st = c.stop()
    check(st["bind_rejects"] == 2, "carrier counted 2 refused binds")
    # nobody listening
    with Carrier() as c:
        addr = c.addr
        c.stop()
    rc, rep, err, t = app(addr, "--count", "10", timeout=20)
    check(rc == 1, "connection refused: exit 1 (got %d)" % rc)


def case_mo():
    mo = os.path.join(TMP, "mo.txt")
    with open(mo, "w") as f:
        f.write("# comment\n15551230001 12345 STOP\n15551230002 12345 HELP me\n"
                "15551230003 12345 hello there: yes\n")
    with Carrier("--mo", mo, "--mo-interval", "10", "--mo-at-bind", "hi") as c:
        rc, rep, err, t = app(c.addr, "--count", "0", "--mo-expect", "4",
                              "--timeout", "10")
        st = c.stop()
    check(rc == 0, "app exits 0")
    check(rep["mo_received"] == 4, "3 scripted MO + 1 at bind: %d" % rep["mo_received"])
    check(t < 8, "did not wait for the timeout (%.1fs)" % t)
    check(st["mo_sent"] == 4, "carrier sent 4")
    # transmitters plus a receiver: receipts go to the RX bind
    with Carrier() as c:
        rc, rep, err, t = app(c.addr, "--bind", "tx", "--sessions", "2", "--count", "300",
                              "--registered-delivery", "1", "--wait-receipts", "10")
        st = c.stop()
    check(rc == 0 and rep["receipts_matched"] == 300, "tx binds: receipts via the rx bind")
    check(st["binds"] == 3, "2 tx + 1 rx binds")


def case_disconnect():
    with Carrier("--disconnect-every", "1") as c:
        rc, rep, err, t = app(c.addr, "--count", "4000", "--rate", "1600",
                              "--sessions", "2", "--registered-delivery", "1",
                              "--wait-receipts", "2", "--timeout", "20")
        st = c.stop()
    check(rc == 0, "app exits 0 (%s)" % err.strip()[-200:])
    check(t < 15, "finished in %.1fs" % t)
    check(rep["errors"]["disconnects"] >= 1, "app reports disconnects: %s" % rep["errors"])
    check(rep["errors"]["reconnects"] >= 1, "app re-bound")
    check(rep["accepted"] > 2000, "most messages still went: %d" % rep["accepted"])
    check(st["disconnects"] >= 1, "carrier counted disconnects")


def case_faults():
    # a stall: answers stop after 100, the app gives up at --timeout
    with Carrier("--stall-after", "100") as c:
        rc, rep, err, t = app(c.addr, "--count", "200", "--window", "50",
                              "--timeout", "2")
        st = c.stop()
    check(rc == 0 and rep["accepted"] == 100, "stall: 100 answered")
    check(rep["errors"]["timed_out"] == 1 and t < 6, "stall: app stops at --timeout")
    check(st["unanswered"] >= 1, "carrier counted unanswered submits")
    # slow answers
    with Carrier("--slow", "100") as c:
        rc, rep, err, t = app(c.addr, "--count", "50", "--window", "50")
        c.stop()
    check(rep["latency_ms"]["submit_resp"]["p50"] >= 90, "slow: p50 >= 100 ms")
    # outcome mix, deterministic with a seed
    runs = []
    for _ in range(2):
        with Carrier("--outcomes", "delivrd=50,undeliv=30,expired=20", "--seed", "3") as c:
            rc, rep, err, t = app(c.addr, "--count", "1000", "--registered-delivery", "1",
                                  "--wait-receipts", "10", "--window", "1")
            c.stop()
        runs.append(rep["receipts"])
    r = runs[0]
    check(abs(r.get("DELIVRD", 0) - 500) < 100 and abs(r.get("UNDELIV", 0) - 300) < 90
          and abs(r.get("EXPIRED", 0) - 200) < 80, "outcome mix: %s" % r)
    check(runs[0] == runs[1], "same seed, same outcomes")


def case_cli():
    bad = [
        (["app", "--connect", "127.0.0.1:1", "--system-id", "a", "--password", "b",
          "--count", "abc"], "--count"),
        (["app", "--connect", "127.0.0.1:1", "--system-id", "a", "--password", "b",
          "--window", "0"], "--window"),
        (["app", "--connect", "127.0.0.1:1", "--system-id", "a", "--password", "b",
          "--coding", "ebcdic"], "--coding"),
        (["app", "--connect", "127.0.0.1:1", "--system-id", "a", "--password", "b",
          "--rate", "-5"], "--rate"),
        (["app", "--system-id", "a", "--password", "b"], "--connect"),
        (["app", "--connect", "nohostport", "--system-id", "a", "--password", "b"],
         "--connect"),
        (["app", "--connect", "127.0.0.1:1", "--system-id", "a", "--password", "b",
          "--bogus"], "--bogus"),
        (["carrier"], "--listen"),
        (["carrier", "--listen", "127.0.0.1:0", "--id-format", "base64"], "--id-format"),
        (["carrier", "--listen", "127.0.0.1:0", "--error", "0x58=200%"], "--error"),
        (["carrier", "--listen", "127.0.0.1:0", "--outcomes", "delivrd=x"], "--outcomes"),
        (["carrier", "--listen", "127.0.0.1:0", "--receipt-delay"], "--receipt-delay"),
        (["carrier", "--listen", "127.0.0.1:0", "--mo", "/nonexistent/mo"], "--mo"),
        (["frobnicate"], "frobnicate"),
        ([], "usage"),
    ]
    for args, needle in bad:
        r = subprocess.run([SIM, *args], capture_output=True, text=True, timeout=10)
        check(r.returncode == 2 and needle in r.stderr,
              "%s: exit 2 naming %s (got %d: %s)" % (" ".join(args) or "(none)", needle,
                                                     r.returncode, r.stderr.strip()))
    for args in ([], ["carrier"], ["app"]):
        r = subprocess.run([SIM, *args, "--help"], capture_output=True, text=True, timeout=10)
        check(r.returncode == 0 and "usage:" in r.stdout, "%s --help" % " ".join(args))


def pdu(cmd, seq, body):
    import struct
    return struct.pack(">IIII", 16 + len(body), cmd, 0, seq) + body


def cstr(s):
    return s.encode() + b"\0"


def read_pdu(sock):
    import struct
    buf = b""
    while len(buf) < 16:
        chunk = sock.recv(16 - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    n, cmd, status, seq = struct.unpack(">IIII", buf)
    body = b""
    while len(body) < n - 16:
        body += sock.recv(n - 16 - len(body))
    return cmd, status, seq, body


def case_other_commands():
    """data_sm and submit_multi from a hand-written client get ids and receipts."""
    import socket
    import struct
    with Carrier() as c:
        host, port = c.addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(pdu(0x09, 1, cstr("raw") + cstr("pw") + cstr("") + b"\x34\x00\x00" + cstr("")))
        cmd, status, seq, body = read_pdu(s)
        check(cmd == 0x80000009 and status == 0, "bind_transceiver_resp OK")
        text = b"data sm text"
        s.sendall(pdu(0x103, 2, cstr("") + b"\x01\x01" + cstr("12345") + b"\x01\x01" +
                      cstr("15550001") + b"\x00\x01\x00" +
                      struct.pack(">HH", 0x0424, len(text)) + text))
        dests = b"".join(b"\x01\x01\x01" + cstr(d) for d in ("15550002", "15550003"))
        s.sendall(pdu(0x21, 3, cstr("") + b"\x01\x01" + cstr("12345") + b"\x02" + dests +
                      b"\x00\x00\x00" + cstr("") + cstr("") + b"\x01\x00\x00\x00" +
                      bytes([len(b"multi")]) + b"multi"))
        resps, receipts = {}, []
        while len(resps) < 2 or len(receipts) < 3:
            cmd, status, seq, body = read_pdu(s)
            if cmd & 0x80000000:
                resps[cmd] = (status, body.split(b"\0")[0].decode())
            elif cmd == 0x05:
                receipts.append(body)
                s.sendall(struct.pack(">IIII", 17, 0x80000005, 0, seq) + b"\0")
        check(resps[0x80000103][0] == 0 and resps[0x80000103][1], "data_sm_resp with an id")
        check(resps[0x80000021][0] == 0 and resps[0x80000021][1], "submit_multi_resp with an id")
        dsid, smid = resps[0x80000103][1], resps[0x80000021][1]
        check(sum(("id:" + dsid).encode() in r for r in receipts) == 1, "one receipt for data_sm")
        check(sum(("id:" + smid).encode() in r for r in receipts) == 2,
              "a receipt per submit_multi destination")
        check(any(b"text:data sm text" in r for r in receipts), "receipt text from message_payload")
        s.sendall(pdu(0x06, 4, b""))
        cmd, status, seq, body = read_pdu(s)
        check(cmd == 0x80000006, "unbind_resp")
        s.close()
        st = c.stop()
    check(st["submits"] == 2 and st["receipts"].get("DELIVRD") == 3, "carrier stats: %s" % st)


def case_parked():
    """Receipts for a transmitter wait until a receiver of its system_id binds."""
    import socket
    with Carrier() as c:
        host, port = c.addr.rsplit(":", 1)
        bind = cstr("acct") + cstr("pw") + cstr("") + b"\x34\x00\x00" + cstr("")
        tx = socket.create_connection((host, int(port)), timeout=5)
        tx.sendall(pdu(0x02, 1, bind))
        check(read_pdu(tx)[:2] == (0x80000002, 0), "bind_transmitter OK")
        other = socket.create_connection((host, int(port)), timeout=5)
        other.sendall(pdu(0x01, 1, cstr("someone") + cstr("pw") + cstr("") + b"\x34\x00\x00" + cstr("")))
        check(read_pdu(other)[:2] == (0x80000001, 0), "another account's receiver binds")
        tx.sendall(pdu(0x04, 2, cstr("") + b"\x01\x01" + cstr("12345") + b"\x01\x01" +
                       cstr("15550001") + b"\x00\x00\x00" + cstr("") + cstr("") +
                       b"\x01\x00\x00\x00\x02hi"))
        cmd, status, seq, body = read_pdu(tx)
        mid = body.split(b"\0")[0].decode()
        check(cmd == 0x80000004 and status == 0 and mid, "submit_sm_resp with an id")
        time.sleep(0.3)
        other.settimeout(0.3)
        try:
            read_pdu(other)
            check(False, "the other account got nothing")
        except socket.timeout:
            check(True, "the other account got nothing")
        rx = socket.create_connection((host, int(port)), timeout=5)
        rx.sendall(pdu(0x01, 1, bind))
        check(read_pdu(rx)[:2] == (0x80000001, 0), "bind_receiver OK")
        cmd, status, seq, body = read_pdu(rx)
        check(cmd == 0x05 and ("id:" + mid).encode() in body, "the parked receipt arrives")
        rx.sendall(pdu(0x80000005, seq, cstr("")))  # taken: not sent again
        time.sleep(0.2)
        for sk in (tx, rx, other):
            sk.close()
        st = c.stop()
    check(st["receipts"].get("DELIVRD") == 1 and st["receipts_pending"] == 0, "carrier stats")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}

if __name__ == "__main__":
    try:
        CASES[CASE]()
    except Exception as e:  # a crash is a failed check, with its reason
        import traceback
        traceback.print_exc()
        check(False, "%s raised %r" % (CASE, e))
    print("1..%d" % len(checks))
    for i, (ok, what) in enumerate(checks, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, " ".join(what.split())))
    sys.exit(0 if all(ok for ok, _ in checks) else 1)
