#!/usr/bin/env python3
"""What the carrier sends back updates compliance state.

Line types: a receipt whose err: the carrier's landline_errors lists marks
the number a landline, and a submit_sm_resp ESME_RINVDSTADR (0x0B) marks it
invalid; the next submit to either gets 0x406.  An unlisted err marks
nothing.

Rate monitors: a campaign whose receipts all fail crosses an error-rate
monitor with action pause: new submits get 0x402, its queued messages wait
(not sent, not lost), `smppd --status` shows it, and after `smppd --resume`
from another process (the daemon running) they are sent.  Bad operator
input gets a clear error.

    test_monitors.py SMPPD SMPPSIM SOURCE_ROOT
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check, offset_to  # noqa: E402
import smpp_client as sc  # noqa: E402

TWOFA, ACCT = "12025550101", "12025550111"   # CACME2FA, CACMEACCT
LANDLINE, INVALID, OTHER = "12125550177", "12125550188", "12125550166"
MONITORS = """monitors:
  - name: errors-pause
    metric: errors
    window: 1m
    min_volume: 4
    threshold: 50%
    action: pause

"""


def write_policy(root, conf):
    for f in ("nanp-tz.tsv", "nanp-states.tsv"):
        shutil.copy(os.path.join(root, "conf", f), conf)
    with open(os.path.join(root, "conf", "policy.yaml")) as f:
        text = f.read()
    # the section ends at the next line that is not indented
    text, n = re.subn(r"^monitors:\n(?:[ \t].*\n|\n)*", MONITORS, text, count=1, flags=re.M)
    assert n == 1, "no monitors: section in the shipped policy"
    text = text.replace("    long_code: 1 ", "    long_code: 1000 ")
    path = os.path.join(conf, "policy.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def carrier(smppsim, tmp, name, args):
    log = os.path.join(tmp, name + ".submits")
    p = harness.spawn([smppsim, "carrier", "--listen", "127.0.0.1:0", "--log-submits", log] + args,
                      stdout=subprocess.PIPE)
    return p, harness.read_port_line(p), log


def rows(log):
    try:
        with open(log) as f:
            return [l.split() for l in f if l.strip()]
    except OSError:
        return []


def twofa(log):
    return [r for r in rows(log) if r[1] == TWOFA]


def ctl(smppd, conf, *args):
    r = subprocess.run([smppd, "-c", conf] + list(args), capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def line_types(d, c):
    # delivered traffic first: the campaign's error rate stays below the monitor's 50%
    good = [c.submit(ACCT, "1212555%04d" % (100 + i), "Your statement is ready").status
            for i in range(6)]
    check(good == [0] * 6, "6 account notifications accepted")
    r = c.submit(ACCT, LANDLINE, "Your statement is ready")
    check(r.status == 0, "a submit to a number not known yet: accepted")
    d.wait_log(r"event=line_type number=%s type=landline carrier=sim err=11" % LANDLINE)
    check(c.submit(ACCT, LANDLINE, "Your statement is ready").status == 0x406,
          "its receipt said err:11 (listed in landline_errors): the next submit gets 0x406")
    check(c.submit(ACCT, INVALID, "Your statement is ready").status == 0, "another number: accepted")
    d.wait_log(r"event=line_type number=%s type=invalid carrier=sim status=11" % INVALID)
    check(c.submit(ACCT, INVALID, "Your statement is ready").status == 0x406,
          "the carrier answered ESME_RINVDSTADR (0x0B): the next submit gets 0x406")
    check(c.submit(ACCT, OTHER, "Your statement is ready").status == 0, "a third number: accepted")
    d.wait_log(r"event=receipt id=\S+ carrier=sim carrier_id=\S+ stat=UNDELIV", count=2)
    check(c.submit(ACCT, OTHER, "Your statement is ready").status == 0,
          "an undelivered receipt with an unlisted err marks nothing")


def bad_input(smppd, conf):
    rc, out, err = ctl(smppd, conf, "--resume", "CNOPE")
    check(rc == 1 and 'no campaign "CNOPE"' in err and "CACME2FA" in err,
          "--resume of an unknown campaign: exit 1, and the campaigns it knows (%r)" % err.strip())
    rc, out, err = ctl(smppd, conf, "--pause", "CACME2FA", "--resume", "CACME2FA")
    check(rc == 2 and "one of --pause, --resume, --status" in err, "--pause and --resume together: usage")
    rc, out, err = ctl(smppd, conf, "--resume")
    check(rc == 2, "--resume without a campaign: usage (exit 2)")


def monitor_pause(d, c, smppd, slow_log):
    dsts = ["1312555%04d" % (200 + i) for i in range(12)]  # their receipts fail
    statuses = [c.submit(TWOFA, n, "Your Acme code is 123456").status for n in dsts]
    check(statuses == [0] * len(dsts), "%d 2FA messages accepted and queued" % len(dsts))
    d.wait_log(r"event=threshold campaign=CACME2FA monitor=errors-pause \S+ \S+ volume=\d+ action=pause",
               timeout=30)
    d.wait_log(r"event=campaign_paused campaign=CACME2FA")
    check(True, "every receipt UNDELIV: the error-rate monitor pauses the campaign")
    r = c.submit(TWOFA, "13125550299", "Your Acme code is 654321")
    check(r.status == 0x402, "a new submit of the paused campaign gets 0x402 (0x%x)" % r.status)
    check(c.submit(ACCT, "12125550298", "Your statement is ready").status == 0,
          "another campaign still sends")
    sent = len(twofa(slow_log))
    d.wait_log(r"event=held id=\S+ campaign=CACME2FA reason=paused", count=2, timeout=10)
    time.sleep(2.5)  # more than two pause.recheck periods
    later = len(twofa(slow_log))
    check(4 <= sent == later < len(dsts),
          "queued messages of the paused campaign wait: %d of %d sent, still %d later"
          % (sent, len(dsts), later))
    rc, out, err = ctl(smppd, d.conf, "--status", "CACME2FA")
    check(rc == 0 and "campaign CACME2FA: paused since" in out and "errors-pause" in out,
          "--status: paused since ..., with the monitor (%r)" % out.strip())
    rc, out, err = ctl(smppd, d.conf, "--resume", "CACME2FA")
    check(rc == 0 and "campaign CACME2FA resumed" in out,
          "--resume while smppd runs: exit 0 (%r%r)" % (out.strip(), err.strip()))
    d.wait_log(r"event=campaign_resumed campaign=CACME2FA source=store", timeout=10)
    check(True, "the running daemon picks the resume up")
    harness.wait_for(lambda: len(twofa(slow_log)) >= len(dsts), 30, "the held messages at the carrier")
    got = sorted(r[2] for r in twofa(slow_log))
    check(got == dsts,
          "after resume every queued message is sent, none lost, the rejected one not")
    check(c.submit(TWOFA, "13125550297", "Your Acme code is 111111").status == 0,
          "after resume new submits are accepted")
    rc, out, err = ctl(smppd, d.conf, "--resume", "CACME2FA")
    check(rc == 0 and "not paused: nothing changed" in out, "--resume again: nothing to change")
    rc, out, err = ctl(smppd, d.conf, "--pause", "CACME2FA")
    check(rc == 0 and "campaign CACME2FA paused" in out, "--pause by an operator while smppd runs")
    d.wait_log(r"event=campaign_paused campaign=CACME2FA source=store", timeout=10)
    check(c.submit(TWOFA, "13125550296", "Your Acme code is 222222").status == 0x402,
          "an operator's pause: new submits get 0x402")


def run(tmp):
    smppd, smppsim, root = sys.argv[1], sys.argv[2], sys.argv[3]
    conf = os.path.join(tmp, "conf")
    os.makedirs(conf)
    policy = write_policy(root, conf)
    # one message at a time (window 1), each answered after 200 ms
    sp, sport, log = carrier(smppsim, tmp, "sim", ["--slow", "200",
                                                    "--dst", LANDLINE + "=undeliv:11",
                                                    "--dst", INVALID + "=0x0b",
                                                    "--dst", OTHER + "=undeliv:99",
                                                    "--dst", "1312555*=undeliv:1"])
    os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(offset_to(18))  # daytime in the US
    d = harness.Daemon(smppd, tmp,
                       accounts=[dict(system_id="app1", allowed_campaigns="[CACME2FA, CACMEACCT]")],
                       carriers=[dict(name="sim", host="127.0.0.1", port=sport, system_id="smppd",
                                      landline_errors="[11]", window=1)],
                       extra="policy: %s\npause:\n  recheck: 1s\n  poll: 500ms" % policy)
    d.start()
    d.wait_log(r"event=bound carrier=sim")
    c = sc.Client(d.port)
    c.bind("transceiver", "app1", "secret1")
    line_types(d, c)
    bad_input(smppd, d.conf)
    monitor_pause(d, c, smppd, log)
    c.close()
    check(d.stop() == 0, "smppd stops")
    d.start()  # the pause is on disk, not only in memory
    c = sc.Client(d.port)
    c.bind("transceiver", "app1", "secret1")
    check(c.submit(TWOFA, "13125550295", "Your Acme code is 333333").status == 0x402,
          "after a restart the campaign is still paused")
    c.close()
    check(d.stop() == 0, "smppd stops again")
    sp.terminate()


harness.main(run)
