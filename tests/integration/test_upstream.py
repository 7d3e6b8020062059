#!/usr/bin/env python3
"""smppd towards applications, with no carrier (messages stay queued):
authentication, the bind limit, query/replace/cancel of a queued message,
bad input answered with the right status, and the per-session window.

    test_upstream.py SMPPD
"""
import os
import socket
import struct
import time
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402
import smpp_client as sc  # noqa: E402

SRC, DST = "12025550100", "13105550100"


def query_state(c, mid):
    r = c.query(mid, SRC)
    (qid, final), pos = r.cstrings(2)
    return r.status, qid, r.body[pos]


def test_auth(port):
    c = sc.Client(port)
    check(c.bind("transceiver", "app1", "wrong").status == 0x0E, "wrong password: ESME_RINVPASWD")
    check(c.bind("transceiver", "nobody", "secret1").status == 0x0F, "unknown system_id: ESME_RINVSYSID")
    check(c.bind("transceiver", "app1", "secret1").status == 0, "right password binds")
    c.close()


def test_bind_limit(port):
    held = []
    for i in range(2):
        c = sc.Client(port)
        check(c.bind("transmitter", "app1", "secret1").status == 0, "bind %d of 2 accepted" % (i + 1))
        held.append(c)
    c = sc.Client(port)
    check(c.bind("transmitter", "app1", "secret1").status == 0x0D, "third bind: ESME_RBINDFAIL")
    c.close()
    held[0].unbind()
    held[0].close()
    c = sc.Client(port)
    check(c.bind("transmitter", "app1", "secret1").status == 0, "a freed place binds again")
    for h in held[1:] + [c]:
        h.close()


def test_queued_message(port):
    c = sc.Client(port)
    c.bind("transceiver", "app1", "secret1")
    r = c.submit(SRC, DST, "to be replaced", registered_delivery=1)
    mid = r.message_id()
    check(r.status == 0 and len(mid) == 16, "submit accepted with a 16-digit id")
    st, qid, state = query_state(c, mid)
    check(st == 0 and qid == mid and state == 0, "query_sm: queued (SCHEDULED)")
    check(c.replace(mid, SRC, "replaced text").status == 0, "replace_sm of a queued message")
    check(c.cancel(mid, SRC, DST).status == 0, "cancel_sm withdraws it")
    st, _, state = query_state(c, mid)
    check(state == 4, "query_sm after cancel: DELETED")
    check(c.cancel(mid, SRC, DST).status == 0x11, "a second cancel: ESME_RCANCELFAIL")
    check(c.query("ffffffffffffffff", SRC).status == 0x67, "query of an unknown id: ESME_RQUERYFAIL")
    check(c.replace(mid, SRC, "late").status == 0x13, "replace after cancel: ESME_RREPLACEFAIL")
    c.close()


def test_data_sm_and_multi(port):
    c = sc.Client(port)
    c.bind("transceiver", "app1", "secret1")
    text = b"a long text in one message_payload " * 10
    body = (sc.cstr("") + bytes([1, 1]) + sc.cstr(SRC) + bytes([1, 1]) + sc.cstr(DST) +
            bytes([0, 1, 0]) + struct.pack(">HH", 0x0424, len(text)) + text)
    r = c.request(sc.DATA_SM, body)
    check(r.status == 0 and len(r.message_id()) == 16, "data_sm with message_payload: stored, own id")
    dests = b"".join(bytes([1, 1, 1]) + sc.cstr(d) for d in ("13105550001", "not-a-number", "13105550002"))
    dests += bytes([2]) + sc.cstr("a-list")
    body = (sc.cstr("") + bytes([1, 1]) + sc.cstr(SRC) + bytes([4]) + dests +
            bytes([0, 0, 0]) + sc.cstr("") + sc.cstr("") + bytes([1, 0, 0, 0, 2]) + b"hi")
    r = c.request(sc.SUBMIT_MULTI, body)
    (mid,), pos = r.cstrings(1)
    n = r.body[pos]
    rest = r.body[pos + 1:]
    bad = []
    for _ in range(n):
        end = rest.index(b"\0", 2)
        bad.append((rest[2:end].decode(), struct.unpack(">I", rest[end + 1:end + 5])[0]))
        rest = rest[end + 5:]
    check(r.status == 0 and len(mid) == 16, "submit_multi: stored, the first id answered")
    check(sorted(bad) == [("a-list", 0x34), ("not-a-number", 0x0B)],
          "submit_multi: the bad number and the distribution list come back unsuccessful (%s)" % bad)
    check(query_state(c, mid, )[2] == 0, "query_sm finds the first destination's message")
    c.close()


def test_bad_input(port):
    c = sc.Client(port)
    r = c.submit(SRC, DST, "x")
    check(r.status == 0x04, "submit before bind: ESME_RINVBNDSTS")
    c.bind("transceiver", "app1", "secret1")
    check(c.submit(SRC, "not-a-number", "x").status == 0x0B, "bad destination: ESME_RINVDSTADR")
    check(c.submit(SRC, DST, "x", validity="2611281200").status == 0x62,
          "bad validity_period: ESME_RINVEXPIRY")
    seq = c.send(0x00000077, b"")
    n = c.expect(sc.GENERIC_NACK)
    check(n.status == 0x03 and n.seq == seq, "unknown command: generic_nack ESME_RINVCMDID")
    body = c.submit_body(SRC, DST, "y")
    c.raw(struct.pack(">IIII", 16 + len(body) + 3, sc.SUBMIT_SM, 0, 99) + body + b"\x02\x04\x00")
    r = c.expect(sc.SUBMIT_SM | sc.RESP)
    check(r.status == 0xC0, "a truncated TLV: ESME_RINVOPTPARSTREAM")
    check(c.submit(SRC, DST, "still fine").status == 0, "the session carries on after bad PDUs")
    c.raw(struct.pack(">IIII", 0x7FFFFFFF, sc.SUBMIT_SM, 0, 100))
    n = c.expect(sc.GENERIC_NACK)
    check(n.status == 0x02, "absurd command_length: generic_nack ESME_RINVCMDLEN")
    try:
        closed = c.read(timeout=5) is None
    except ConnectionError:
        closed = True
    check(closed, "and smppd closes that session")
    c2 = sc.Client(port)
    check(c2.bind("transceiver", "app1", "secret1").status == 0, "other sessions are unaffected")
    c2.close()


def test_window(port):
    c = sc.Client(port)
    c.bind("transmitter", "app1", "secret1")
    n = 300
    data = b""
    for i in range(n):
        body = c.submit_body(SRC, "1310555%04d" % i, "w%d" % i)
        data += struct.pack(">IIII", 16 + len(body), sc.SUBMIT_SM, 0, 1000 + i) + body
    c.raw(data)  # far more than the window of 8 at once
    got = {}
    while len(got) < n:
        p = c.expect(sc.SUBMIT_SM | sc.RESP, timeout=20)
        got[p.seq] = p.status
    check(all(s == 0 for s in got.values()),
          "%d submits sent at once past a window of 8: all accepted, none throttled" % n)
    c.close()


def test_store_full(smppd, tmp):
    d = harness.Daemon(smppd, os.path.join(tmp, "full"), map_size="1MiB")
    os.makedirs(d.tmp)
    port = d.start()
    c = sc.Client(port)
    c.bind("transceiver", "app1", "secret1")
    ids, full = [], None
    for i in range(5000):
        r = c.submit(SRC, "1310555%04d" % i, "fill the store %d " % i + "x" * 120)
        if r.status != 0:
            full = r.status
            break
        ids.append(r.message_id())
    check(full == 0x14 and len(ids) > 100,
          "a full store answers ESME_RMSGQFUL (after %d messages in 1 MiB)" % len(ids))
    check(all(query_state(c, m)[0] == 0 for m in ids[::25]), "and every stored message is still there")
    for m in ids[:50]:
        c.cancel(m, SRC, "")
    check(c.submit(SRC, "13105550000", "x").status in (0, 0x14),
          "the session carries on after the store filled")
    c.close()
    check(d.stop() == 0, "smppd with a full store stops cleanly")
    d2 = harness.Daemon(smppd, d.tmp, map_size="1MiB")
    d2.log = d.log
    port = d2.start()
    c = sc.Client(port)
    c.bind("transceiver", "app1", "secret1")
    check(all(query_state(c, m)[0] == 0 for m in ids[50::25]), "after a restart the stored messages are all there")
    c.close()
    d2.stop()


def test_ingress_rate(port):
    c = sc.Client(port)
    c.bind("transmitter", "rated", "secret1")
    t0 = time.time()
    statuses = [c.submit(SRC, "1310555%04d" % i, "r%d" % i).status for i in range(60)]
    took = time.time() - t0
    ok, throttled = statuses.count(0), statuses.count(0x58)
    check(throttled > 0 and ok + throttled == 60,
          "an account at 20/s submitting flat out: %d accepted, %d ESME_RTHROTTLED in %.2fs"
          % (ok, throttled, took))
    check(ok <= 20 * took + 3, "no more accepted than the rate allows (generous: rate x time + burst)")
    time.sleep(1.0)
    check(c.submit(SRC, DST, "later").status == 0, "after a pause it is accepted again")
    c.close()


def peer_socket_of(pid, sockname):
    """smppd's end of our connection, duplicated into this process with
    pidfd_getfd(2), or None where the kernel does not allow it."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
    try:
        for name in os.listdir("/proc/%d/fd" % pid):
            try:
                if not os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith("socket:"):
                    continue
            except OSError:
                continue
            fd = libc.syscall(438, pidfd, int(name), 0)  # pidfd_getfd
            if fd < 0:
                return None
            s = socket.socket(fileno=fd)
            try:
                if s.family == socket.AF_INET and s.getpeername() == sockname:
                    return s
            except OSError:
                pass
            s.close()
    finally:
        os.close(pidfd)
    return None


def test_nodelay(pid, port):
    c = sc.Client(port)
    c.bind("transceiver", "app1", "secret1")
    s = peer_socket_of(pid, c.sock.getsockname())
    if s is None:
        check(True, "TCP_NODELAY: not checked (pidfd_getfd not allowed here)")
    else:
        check(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0,
              "smppd's end of an application's connection has TCP_NODELAY set")
        s.close()
    c.close()


def run(tmp):
    d = harness.Daemon(sys.argv[1], tmp, accounts=[dict(system_id="app1", max_binds=2, window=8),
                                                 dict(system_id="rated", ingress_rate="20/s")])
    port = d.start()
    test_auth(port)
    test_bind_limit(port)
    test_queued_message(port)
    test_data_sm_and_multi(port)
    test_bad_input(port)
    test_window(port)
    test_ingress_rate(port)
    test_nodelay(d.proc.pid, port)
    check(d.stop() == 0, "smppd exits 0 on SIGTERM")
    test_store_full(sys.argv[1], tmp)


harness.main(run)
