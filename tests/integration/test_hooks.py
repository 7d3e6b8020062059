#!/usr/bin/env python3
"""External policy hooks through smppd: hook servers on a Unix socket and
on TCP that accept, reject (0x407) or defer by the text; a chain of two;
hooks that never answer (on_timeout accept and reject), that are down,
that answer garbage; a session closed while its submit waits; 100
submits pipelined through one hook over its few persistent connections.
smppsim records what reached the carrier: nothing rejected does.

    test_hooks.py SMPPD SMPPSIM SOURCE_ROOT
"""
import os
import shutil
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check, offset_to  # noqa: E402
import smpp_client as sc  # noqa: E402
from hook_server import HookServer  # noqa: E402

# One campaign (and source number) per use case, one hook per use case.
CAMPAIGNS = [
    ("CUNIX", "2FA", "12025550101"),              # unix judge
    ("CTCP", "ACCOUNT_NOTIFICATION", "12025550111"),  # tcp judge
    ("CCHAIN", "HIGHER_EDUCATION", "12025550161"),    # unix, then tcp
    ("CSILENTOK", "CUSTOMER_CARE", "12025550121"),    # never answers, on_timeout accept
    ("CSILENTNO", "DELIVERY_NOTIFICATION", "12025550131"),  # never answers, reject
    ("CDOWN", "FRAUD_ALERT", "12025550141"),      # nothing listens, reject
    ("CGARBAGE", "SECURITY_ALERT", "12025550151"),  # garbage answers, reject
    ("CNOHOOK", "LOW_VOLUME", "12025550171"),     # no hook at all
    ("CSTUCK", "POLLING_VOTING", "12025550181"),  # never answers, 30s timeout
    ("CFLAKY", "CHARITY", "12025550191"),         # closes reused links, reject
    ("CNIGHT", "PUBLIC_SERVICE_ANNOUNCEMENT", "12025550211"),  # tcp judge, quiet hours apply
]
QUIET = {"PUBLIC_SERVICE_ANNOUNCEMENT"}
SRC = {c[0]: c[2] for c in CAMPAIGNS}



def policy_yaml(conf, hooks):
    out = ["version: 1", "number_tables:", "  timezones: nanp-tz.tsv", "  states: nanp-states.tsv",
           "brands:", "  - name: Hooked", '    sender_prefix: "Hooked: "', "campaigns:"]
    for cid, uc, num in CAMPAIGNS:
        out += ["  - id: %s" % cid, "    brand: Hooked", "    status: approved",
                "    use_case: %s" % uc, '    numbers: ["+%s"]' % num]
    # the hooks are under test, not the sending numbers' rates
    out += ["throughput:", "  number_mps: {long_code: 10000}"]
    out += ["quiet_hours:", '  default: "08:00-21:00"',
            "  exempt_use_cases: [%s]" % ", ".join(c[1] for c in CAMPAIGNS if c[1] not in QUIET),
            "hooks:"]
    for h in hooks:
        out.append("  - name: %s" % h["name"])
        for k, v in h.items():
            if k != "name":
                out.append("    %s: %s" % (k, v))
    path = os.path.join(conf, "policy.yaml")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path


def carrier_log(log):
    try:
        with open(log) as f:
            return [line.split() for line in f if line.strip()]
    except OSError:
        return []


def reached(log):
    return {fields[2] for fields in carrier_log(log)}


def submit_multi(c, src, dsts, text):
    body = sc.cstr("") + bytes([1, 1]) + sc.cstr(src) + bytes([len(dsts)])
    for d in dsts:
        body += bytes([1, 1, 1]) + sc.cstr(d)
    text = text.encode()
    body += bytes([0, 0, 0]) + sc.cstr("") + sc.cstr("") + bytes([0, 0, 0, 0, len(text)]) + text
    r = c.request(sc.SUBMIT_MULTI, body)
    (mid,), pos = r.cstrings(1)
    n = r.body[pos]
    pos += 1
    failed = {}
    for _ in range(n):
        pos += 2
        end = r.body.index(b"\0", pos)
        addr = r.body[pos:end].decode()
        failed[addr] = struct.unpack(">I", r.body[end + 1:end + 5])[0]
        pos = end + 5
    return mid, failed


def run(tmp):
    smppd, smppsim, root = sys.argv[1], sys.argv[2], sys.argv[3]
    conf = os.path.join(tmp, "conf")
    os.makedirs(conf)
    for f in ("nanp-tz.tsv", "nanp-states.tsv"):
        shutil.copy(os.path.join(root, "conf", f), conf)
    unix = HookServer("unix:" + os.path.join(tmp, "judge.sock"), "judge", name="unix")
    tcp = HookServer("tcp:127.0.0.1:0", "judge", name="tcp")
    silent = HookServer("unix:" + os.path.join(tmp, "silent.sock"), "silent")
    garbage = HookServer("tcp:127.0.0.1:0", "garbage")
    flaky = HookServer("unix:" + os.path.join(tmp, "flaky.sock"), "flaky")
    hooks = [
        dict(name="unix-judge", address=unix.address, timeout="2s",
             use_cases="[2FA, HIGHER_EDUCATION]"),
        dict(name="tcp-judge", address=tcp.address, timeout="10s", connections=2,
             use_cases="[ACCOUNT_NOTIFICATION, HIGHER_EDUCATION, PUBLIC_SERVICE_ANNOUNCEMENT]"),
        dict(name="silent-accept", address=silent.address, timeout="800ms", on_timeout="accept",
             use_cases="[CUSTOMER_CARE]"),
        dict(name="silent-reject", address=silent.address, timeout="300ms", on_timeout="reject",
             use_cases="[DELIVERY_NOTIFICATION]"),
        dict(name="flaky", address=flaky.address, timeout="2s", on_timeout="reject",
             connections=1, use_cases="[CHARITY]"),
        dict(name="stuck", address=silent.address, timeout="30s", on_timeout="accept",
             use_cases="[POLLING_VOTING]"),
        dict(name="down", address="tcp:127.0.0.1:%d" % harness.free_port(), timeout="1s",
             on_timeout="reject", use_cases="[FRAUD_ALERT]"),
        dict(name="garbage", address=garbage.address, timeout="1s", on_timeout="reject",
             use_cases="[SECURITY_ALERT]"),
    ]
    policy = policy_yaml(conf, hooks)
    clog = os.path.join(tmp, "carrier.log")
    cp = harness.spawn([smppsim, "carrier", "--listen", "127.0.0.1:0", "--log-submits", clog],
                       stdout=subprocess.PIPE)
    cport = harness.read_port_line(cp)
    os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(offset_to(18))  # daytime in the US
    d = harness.Daemon(smppd, tmp, accounts=[dict(system_id="app1", window=200)],
                       carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd")],
                       extra="policy: %s" % policy)
    d.start()
    d.wait_log(r"event=bound carrier=sim")
    c = sc.Client(d.port)
    check(c.bind("transceiver", "app1", "secret1").status == 0, "app1 binds")
    accepted, rejected = [], []

    def submit(campaign, dst, text, want, what):
        r = c.submit(SRC[campaign], dst, text)
        check(r.status == want, "%s: status 0x%x (want 0x%x)" % (what, r.status, want))
        (accepted if want == 0 else rejected).append(dst)
        return r

    # Unix socket and TCP hooks judging by the text.
    submit("CUNIX", "12125550101", "Your code is 1111", 0, "unix hook accepts")
    check(any("1111" in t for t in unix.texts()), "the unix hook saw the text")
    req = unix.requests[-1]
    check(req.get("request") == "smpp_policy" and req.get("campaign") == "CUNIX" and
          req.get("recipient") == "12125550101" and req.get("account") == "app1" and
          req.get("token"), "the request carries campaign, recipient, account and a token")
    submit("CUNIX", "12125550102", "Your code is REJECTME", 0x407, "unix hook rejects: 0x407")
    d.wait_log(r"event=reject account=app1 campaign=CUNIX to=12125550102 rule=hook:unix-judge "
               r"status=0x00000407 reason=\"fraud score 97 \(unix\)\"")
    check(True, "the reject is logged with rule hook:unix-judge and the hook's text")
    submit("CTCP", "12125550103", "Your statement is ready", 0, "tcp hook accepts")
    submit("CTCP", "12125550104", "statement REJECTME", 0x407, "tcp hook rejects: 0x407")
    r = submit("CTCP", "12125550105", "statement DEFERME", 0, "tcp hook defers: accepted (0)...")
    accepted.remove("12125550105")
    d.wait_log(r"event=defer account=app1 campaign=CTCP to=12125550105 rule=hook:tcp-judge")
    st = c.query(r.message_id(), SRC["CTCP"])
    check(st.body[st.cstrings(2)[1]] == 0, "...and held in the queue (query_sm: SCHEDULED)")

    # Night in Guam (+1671, 04:00 there): quiet hours defer the message, and
    # the hook judges it now, since nothing asks when it is released.
    asked = len(tcp.requests)
    submit("CNIGHT", "16714770001", "Storm warning REJECTME", 0x407,
           "quiet-hours defer, hook rejects: 0x407")
    r = submit("CNIGHT", "16714770002", "Storm warning", 0, "quiet-hours defer, hook accepts: 0...")
    accepted.remove("16714770002")
    check(len(tcp.requests) == asked + 2, "the hook was asked for both deferred messages")
    st = c.query(r.message_id(), SRC["CNIGHT"])
    check(st.body[st.cstrings(2)[1]] == 0, "...and held for the morning (query_sm: SCHEDULED)")

    # A chain: the unix hook accepts, then the tcp hook rejects.
    before = len(unix.requests), len(tcp.requests)
    submit("CCHAIN", "12125550106", "Enrolment TCPREJECT", 0x407, "chain: unix accepts, tcp rejects")
    check(len(unix.requests) == before[0] + 1 and len(tcp.requests) == before[1] + 1,
          "both hooks of the chain were asked, in order")
    d.wait_log(r"to=12125550106 rule=hook:tcp-judge status=0x00000407")
    submit("CCHAIN", "12125550107", "Enrolment REJECTME", 0x407, "chain: the first hook rejects")
    check(len(tcp.requests) == before[1] + 1, "a reject by the first hook ends the chain")
    submit("CCHAIN", "12125550108", "Enrolment open", 0, "chain: both accept")

    # Hooks that never answer: on_timeout decides.
    t0 = time.time()
    submit("CSILENTOK", "12125550109", "How can we help?", 0, "silent hook, on_timeout accept: 0")
    check(time.time() - t0 >= 0.7, "...after the hook's 800ms timeout")
    d.wait_log(r"event=hook_failed hook=silent-accept .*outcome=timeout on_timeout=accept")
    submit("CSILENTNO", "12125550110", "Out for delivery", 0x407, "silent hook, on_timeout reject: 0x407")
    submit("CSILENTNO", "12125550111", "Out for delivery again", 0x407,
           "silent hook again: a new connection, same outcome")

    # A hook that is down, one that answers garbage.
    submit("CDOWN", "12125550112", "Card used abroad?", 0x407, "hook down (connection refused): on_timeout reject")
    d.wait_log(r"event=hook_connect_failed address=tcp:127\.0\.0\.1:\d+")
    submit("CDOWN", "12125550113", "Card used abroad?", 0x407, "hook still down: on_timeout reject at once")
    submit("CGARBAGE", "12125550114", "New login", 0x407, "garbage answer: on_timeout reject")
    d.wait_log(r"event=hook_failed hook=garbage .*outcome=garbage on_timeout=reject "
               r"reason=\"not a policy answer")
    check(True, "the garbage answer is logged")
    submit("CFLAKY", "12125550124", "Donate today", 0, "flaky hook, first request: accepted")
    submit("CFLAKY", "12125550125", "Donate again", 0,
           "flaky hook closes the reused link: the request is sent again and accepted")
    check(flaky.connections == 2 and len(flaky.requests) == 3, "...on a second connection")
    d.wait_log(r"event=hook_resend hook=flaky")
    submit("CNOHOOK", "12125550115", "Low volume hello", 0, "a campaign no hook applies to")

    # Other submits keep flowing while one waits on a slow hook.
    slow = c.send(sc.SUBMIT_SM, c.submit_body(SRC["CSILENTOK"], "12125550116", "Waiting"))
    fast = c.send(sc.SUBMIT_SM, c.submit_body(SRC["CUNIX"], "12125550117", "Your code 2222"))
    first = c.expect(sc.SUBMIT_SM | sc.RESP)
    second = c.expect(sc.SUBMIT_SM | sc.RESP)
    check(first.seq == fast and second.seq == slow and first.status == 0 and second.status == 0,
          "a submit behind a slow hook does not hold up the next one")
    accepted += ["12125550116", "12125550117"]

    # submit_multi: every destination asks the hook.
    _, failed = submit_multi(c, SRC["CUNIX"], ["12125550118", "12125550119"], "multi REJECTME")
    check(failed == {"12125550118": 0x407, "12125550119": 0x407},
          "submit_multi: each destination rejected by the hook with 0x407")
    rejected += ["12125550118", "12125550119"]
    mid, failed = submit_multi(c, SRC["CUNIX"], ["12125550120", "12125550121"], "multi code 3333")
    check(mid and failed == {}, "submit_multi: accepted through the hook")
    accepted += ["12125550120", "12125550121"]

    # A session that closes while its submit waits on a hook.
    c2 = sc.Client(d.port)
    c2.bind("transmitter", "app1", "secret1")
    c2.send(sc.SUBMIT_SM, c2.submit_body(SRC["CSILENTOK"], "12125550122", "Never mind"))
    time.sleep(0.1)
    c2.close()
    d.wait_log(r"event=held_dropped token=\S+ reason=\"session closed\"")
    check(d.proc.poll() is None, "a session closed while its submit waited: dropped, smppd runs on")
    rejected.append("12125550122")

    # 100 submits pipelined through the tcp hook: its 2 connections serve them all.
    conns_before, reqs_before = tcp.connections, len(tcp.requests)
    seqs = [c.send(sc.SUBMIT_SM, c.submit_body(SRC["CTCP"], "1212555%04d" % (200 + i), "Bulk %d" % i))
            for i in range(100)]
    resps = {}
    while len(resps) < 100:
        p = c.expect(sc.SUBMIT_SM | sc.RESP, timeout=30)
        resps[p.seq] = p.status
    check(sorted(resps) == sorted(seqs) and set(resps.values()) == {0},
          "100 pipelined submits through the tcp hook: all accepted")
    check(len(tcp.requests) - reqs_before == 100, "the tcp hook was asked 100 times")
    check(tcp.connections <= 2 and tcp.connections - conns_before <= 2,
          "over at most 2 persistent connections (%d opened in all)" % tcp.connections)
    accepted += ["1212555%04d" % (200 + i) for i in range(100)]

    harness.wait_for(lambda: set(accepted) <= reached(clog), 30, "the accepted messages at the carrier")
    check(True, "every accepted message reached the carrier (%d)" % len(accepted))
    time.sleep(0.5)
    check(not (set(rejected) | {"12125550105"}) & reached(clog),
          "no rejected, dropped or deferred message reached the carrier")
    # smppd stopping while a submit waits on a hook: dropped, no leak.
    c.send(sc.SUBMIT_SM, c.submit_body(SRC["CSTUCK"], "12125550123", "Vote now"))
    harness.wait_for(lambda: any("Vote now" in t for t in silent.texts()), 10, "the stuck hook asked")
    t0 = time.time()
    check(d.stop() == 0, "smppd stops cleanly, with a submit still waiting on a hook")
    check(time.time() - t0 < 15, "...without waiting for the hook's 30s timeout")
    check(d.grep(r"event=held_dropped token=\S+ reason=\"smppd is stopping\""),
          "the waiting submit is dropped and logged")
    check("12125550123" not in reached(clog), "the message that waited was not sent")
    c.close()
    dump = subprocess.run(["mdb_dump", "-a", "-p", os.path.join(tmp, "store")],
                          capture_output=True).stdout
    check(all(rule in dump for rule in (b"hook:unix-judge", b"hook:tcp-judge", b"hook:silent-reject",
                                        b"hook:down", b"hook:garbage")),
          "the hook rejects and defers are in the audit log")
    for s in (unix, tcp, silent, garbage, flaky):
        s.close()


harness.main(run)
