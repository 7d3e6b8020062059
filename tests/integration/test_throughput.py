#!/usr/bin/env python3
"""Throughput control measured where it matters: at the carrier.

smppd relays to an smppsim carrier that logs every submit_sm with its
arrival time; the figures below are counted from that log.

    test_throughput.py SMPPD SMPPSIM SOURCE_ROOT PHASE

PHASE is one of
  rates     600 and 120 TPM campaigns sharing a carrier, over 30 s
  number    a sending number's rate holds across two campaigns (a policy
            reload moves the number while the first campaign still sends)
  priority  a 2FA message behind 100,000 queued marketing messages
  cap       a brand's daily cap of 50 at the US Pacific midnight reset
  restart   kill -9 mid-window: neither the minute rate nor the day's cap
            is exceeded across the restart
  bind      bind_mps 5/s on each of 2 binds: 10/s in all
  feedback  a carrier that answers 0x58 for 4 s sees smppd's rate fall,
            then climb back once it answers normally again
"""
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check, offset_to  # noqa: E402

SMPPD, SMPPSIM, ROOT = sys.argv[1], sys.argv[2], sys.argv[3]

POLICY = """
brands:
  - {name: Acme, add_prefix: no}
  - {name: Capped, add_prefix: no, daily_cap: 50}
  - {name: Capped2, add_prefix: no, daily_cap: 100}
  - {name: Tiny, add_prefix: no, daily_cap: 2}
campaigns:
  - {id: FAST, brand: Acme, status: approved, use_case: 2FA, per_minute: 600,
     number_mps: 100, numbers: ["+12025550101"]}
  - {id: SLOW, brand: Acme, status: approved, use_case: 2FA, per_minute: 120,
     number_mps: 100, numbers: ["+12025550102"]}
  - {id: CAP, brand: Capped, status: approved, use_case: 2FA, number_mps: 100,
     numbers: ["+12025550103"]}
  - {id: OTP, brand: Acme, status: approved, use_case: 2FA, number_mps: 100,
     numbers: ["+12025550104"]}
  - {id: MKT, brand: Acme, status: approved, use_case: 2FA, priority: 4,
     number_mps: 100000, numbers: ["+12025550105"]}
  - {id: NUM1, brand: Acme, status: approved, use_case: 2FA,
     numbers: ["+12025550106"%(moved_from)s], number_mps: 2}
  - {id: NUM2, brand: Acme, status: approved, use_case: 2FA,
     numbers: ["+12025550108"%(moved_to)s], number_mps: 2}
  - {id: TINY, brand: Tiny, status: approved, use_case: 2FA, number_mps: 100,
     numbers: ["+12025550110"]}
  - {id: RST, brand: Capped2, status: approved, use_case: 2FA, per_minute: 600,
     number_mps: 100, numbers: ["+12025550109"]}
number_tables:
  timezones: nanp-tz.tsv
  states: nanp-states.tsv
"""


def write_policy(conf, moved=False):
    text = POLICY % dict(moved_from="" if moved else ', "+12025550107"',
                         moved_to=', "+12025550107"' if moved else "")
    with open(os.path.join(conf, "policy.yaml"), "w") as f:
        f.write(text)


def pacific_offset_h(utc):
    """US Pacific offset from UTC at a UTC datetime (the post-2007 rule)."""
    def nth_sunday(year, month, n):
        d = datetime.datetime(year, month, 1)
        d += datetime.timedelta(days=(6 - d.weekday()) % 7 + 7 * (n - 1))
        return d
    y = utc.year
    dst_start = nth_sunday(y, 3, 2) + datetime.timedelta(hours=10)   # 02:00 PST
    dst_end = nth_sunday(y, 11, 1) + datetime.timedelta(hours=9)     # 02:00 PDT
    return -7 if dst_start <= utc.replace(tzinfo=None) < dst_end else -8


def offset_to_pacific(hh, mm, ss):
    """Seconds to add to now for the clock to read hh:mm:ss US Pacific next."""
    now = datetime.datetime.now(datetime.timezone.utc)
    off = pacific_offset_h(now)
    local = now + datetime.timedelta(hours=off)
    target = local.replace(hour=hh, minute=mm, second=ss, microsecond=0)
    if target <= local:
        target += datetime.timedelta(days=1)
    return int((target - local).total_seconds())


class Setup:
    def __init__(self, tmp, carrier_args=(), carrier_extra=None, clock_offset=None):
        self.tmp = tmp
        self.conf = os.path.join(tmp, "conf")
        os.makedirs(self.conf, exist_ok=True)
        for f in ("nanp-tz.tsv", "nanp-states.tsv"):
            shutil.copy(os.path.join(ROOT, "conf", f), self.conf)
        write_policy(self.conf)
        self.log = os.path.join(tmp, "carrier.log")
        self.cp = harness.spawn([SMPPSIM, "carrier", "--listen", "127.0.0.1:0", "--log-submits",
                                 self.log] + list(carrier_args), stdout=subprocess.PIPE)
        cport = harness.read_port_line(self.cp)
        os.environ["SMPPD_TEST_CLOCK_OFFSET"] = str(
            clock_offset if clock_offset is not None else offset_to(18))
        carrier = dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd",
                       window=100, sessions=2)
        carrier.update(carrier_extra or {})
        self.d = harness.Daemon(SMPPD, tmp, accounts=[dict(system_id="app1", window=200)],
                                carriers=[carrier],
                                extra="policy: %s" % os.path.join(self.conf, "policy.yaml"))
        self.d.start()
        self.d.wait_log(r"event=bound carrier=sim")

    def app(self, src, count, first, window=100, timeout=120):
        r = subprocess.run([SMPPSIM, "app", "--connect", "127.0.0.1:%d" % self.d.port,
                            "--system-id", "app1", "--password", "secret1", "--src", src,
                            "--dst", first, "--dst-range", str(count), "--count", str(count),
                            "--window", str(window), "--registered-delivery", "0",
                            "--text", "Your code is 123456"],
                           capture_output=True, timeout=timeout)
        return json.loads(r.stdout.decode().strip().splitlines()[-1])

    def rows(self, src=None):
        try:
            with open(self.log) as f:
                rows = [line.split() for line in f if line.strip()]
        except OSError:
            return []
        return [int(r[0]) for r in rows if src is None or r[1] == src]

    def close(self):
        rc = self.d.stop()
        self.cp.terminate()
        self.cp.wait()
        return rc


def max_in_window(times, width_ms):
    times = sorted(times)
    best, j = 0, 0
    for i in range(len(times)):
        while times[i] - times[j] >= width_ms:
            j += 1
        best = max(best, i - j + 1)
    return best


def phase_rates(tmp):
    s = Setup(tmp)
    fast = s.app("12025550101", 320, "13105551000")
    slow = s.app("12025550102", 70, "13105552000")
    check(fast["accepted"] == 320 and slow["accepted"] == 70, "390 submits accepted at once")
    harness.wait_for(lambda: len(s.rows("12025550101")) >= 310, 60, "310 FAST submits at the carrier")
    f, w = sorted(s.rows("12025550101")), sorted(s.rows("12025550102"))
    n_fast = sum(1 for t in f if t < f[0] + 30000)
    n_slow = sum(1 for t in w if t < w[0] + 30000)
    print("# 30 s: FAST %d (%.2f/s), SLOW %d (%.2f/s); busiest second FAST %d, SLOW %d"
          % (n_fast, n_fast / 30, n_slow, n_slow / 30, max_in_window(f, 1000),
             max_in_window(w, 1000)))
    check(285 <= n_fast <= 315, "600 TPM: %d submits in 30 s, 10/s +-5%%" % n_fast)
    check(57 <= n_slow <= 63, "120 TPM on the same carrier: %d in 30 s, 2/s +-5%%" % n_slow)
    check(max_in_window(f, 1000) <= 11, "600 TPM: smooth, no second above 11")
    check(max_in_window(f, 60000) <= 600, "600 TPM: no minute above 600")
    check(s.close() == 0, "smppd stops")


def phase_number(tmp):
    s = Setup(tmp)
    a = s.app("12025550107", 20, "13105553000")
    check(a["accepted"] == 20, "20 submits from +12025550107 in campaign NUM1")
    write_policy(s.conf, moved=True)
    s.d.proc.send_signal(signal.SIGHUP)
    s.d.wait_log(r"event=reloaded path=")
    b = s.app("12025550107", 20, "13105554000")
    check(b["accepted"] == 20, "20 more from it after the reload, now in campaign NUM2")
    harness.wait_for(lambda: len(s.rows("12025550107")) >= 40, 60, "40 submits at the carrier")
    times = sorted(s.rows("12025550107"))
    span = (times[-1] - times[0]) / 1000
    print("# 40 submits over %.1f s, busiest second %d" % (span, max_in_window(times, 1000)))
    check(max_in_window(times, 1000) <= 3, "2 MPS per number: at most 3 in any second")
    # two limiters (one per campaign) would have taken about 10 s
    check(span >= 17, "40 messages at 2/s over both campaigns took %.1f s (19.5 expected)" % span)
    check(s.close() == 0, "smppd stops")


def phase_priority(tmp):
    s = Setup(tmp, carrier_extra=dict(max_mps="400/s"))
    bulk = s.app("12025550105", 100000, "13105560000", window=500, timeout=600)
    check(bulk["accepted"] == 100000, "100,000 marketing messages accepted")
    queued = 100000 - len(s.rows("12025550105"))
    check(queued > 50000, "%d of them still queued behind a 400/s carrier" % queued)
    sent_at = time.time()
    otp = s.app("12025550104", 1, "13105559999")
    check(otp["accepted"] == 1, "one 2FA message accepted")
    harness.wait_for(lambda: s.rows("12025550104"), 10, "the 2FA message at the carrier")
    delay = s.rows("12025550104")[0] / 1000.0 - sent_at
    print("# 2FA reached the carrier %.0f ms after its submit began" % (delay * 1000))
    check(delay < 1.0, "2FA behind the backlog reached the carrier in %.0f ms (< 1 s)"
          % (delay * 1000))
    check(s.close() == 0, "smppd stops")


def phase_cap(tmp):
    # smppd's clock: 23:59:35 US Pacific, 25 s before the daily reset.
    s = Setup(tmp, clock_offset=offset_to_pacific(23, 59, 35))
    start = time.time()
    out = s.app("12025550103", 80, "13105570000")
    check(out["accepted"] == 80, "80 submits to a brand with a daily cap of 50 accepted")
    time.sleep(max(0, start + 15 - time.time()))
    before = len(s.rows("12025550103"))
    check(before == 50, "before the Pacific midnight reset exactly 50 went out (%d)" % before)
    check(s.d.grep(r"event=final .*state=rejected") == [], "none was rejected: the rest wait")
    # A brand capped at 2 segments a day and a 3-segment message: it can
    # never fit, so it ends rejected instead of waiting for ever.
    long = subprocess.run([SMPPSIM, "app", "--connect", "127.0.0.1:%d" % s.d.port, "--system-id",
                           "app1", "--password", "secret1", "--src", "12025550110", "--dst",
                           "13105570999", "--count", "1", "--registered-delivery", "0",
                           "--text", "x" * 400], capture_output=True, timeout=60)
    check(json.loads(long.stdout.decode().strip().splitlines()[-1])["accepted"] == 1,
          "a 3-segment message to a brand capped at 2 a day is accepted...")
    s.d.wait_log(r"event=never_fits id=\S+ campaign=TINY segments=3")
    s.d.wait_log(r"event=final id=\S+ state=rejected error=0x00000404")
    check(not s.rows("12025550110"), "...and rejected (0x404) at dispatch, never sent")
    harness.wait_for(lambda: len(s.rows("12025550103")) >= 80, 40, "the other 30 after the reset")
    after = sorted(s.rows("12025550103"))[50:]
    check(after[0] / 1000.0 >= start + 22, "the held 30 left at the reset, %.1f s after the start"
          % (after[0] / 1000.0 - start))
    check(s.close() == 0, "smppd stops")


def phase_restart(tmp):
    s = Setup(tmp)
    out = s.app("12025550109", 150, "13105580000")
    check(out["accepted"] == 150, "150 submits: a 600 TPM campaign of a brand capped at 100")
    harness.wait_for(lambda: len(s.rows("12025550109")) >= 40, 30, "40 at the carrier")
    s.d.stop(sig=signal.SIGKILL)
    s.d.start()
    s.d.wait_log(r"event=bound carrier=sim", count=2)
    time.sleep(15)
    times = sorted(s.rows("12025550109"))
    print("# %d at the carrier; busiest second %d" % (len(times), max_in_window(times, 1000)))
    check(len(times) <= 100, "the day's cap held across kill -9: %d sent of 100" % len(times))
    check(len(times) >= 95, "at most a reservation block was lost: %d sent" % len(times))
    check(max_in_window(times, 1000) <= 11, "600 TPM across the restart: at most %d in a second"
          % max_in_window(times, 1000))
    check(s.close() == 0, "smppd stops")


def phase_feedback(tmp):
    s = Setup(tmp, carrier_extra=dict(max_mps="100/s"))

    def attempts(t0, t1):
        return sum(1 for t in s.rows() if t0 * 1000 <= t < t1 * 1000)
    out = s.app("12025550105", 2500, "13105590000", window=500)
    check(out["accepted"] == 2500, "2500 submits accepted")
    harness.wait_for(lambda: len(s.rows()) >= 200, 30, "the first 200 at the carrier")
    on = time.time()
    s.cp.send_signal(signal.SIGUSR1)  # the carrier answers 0x58 to everything
    time.sleep(4)
    off = time.time()
    s.cp.send_signal(signal.SIGUSR1)
    time.sleep(8.5)
    before = attempts(on - 1, on)
    throttled = attempts(off - 1, off)
    early, late = attempts(off + 1, off + 2), attempts(off + 7, off + 8)
    print("# submits per second: before %d, last throttled second %d, "
          "2nd second after %d, 8th second after %d" % (before, throttled, early, late))
    check(before >= 80, "at 100/s before the carrier pushes back (%d)" % before)
    check(throttled <= 25, "answered 0x58, smppd slows down to %d/s" % throttled)
    check(late > early and late >= 2 * throttled,
          "answered normally, it climbs back (%d/s then %d/s)" % (early, late))
    check(s.close() == 0, "smppd stops")


def phase_bind(tmp):
    s = Setup(tmp, carrier_extra=dict(bind_mps="5/s", sessions=2))
    out = s.app("12025550105", 100, "13105600000")
    check(out["accepted"] == 100, "100 submits accepted")
    harness.wait_for(lambda: len(s.rows()) >= 100, 60, "100 at the carrier")
    times = sorted(s.rows())
    span = (times[-1] - times[0]) / 1000
    print("# 100 over %.1f s; busiest second %d" % (span, max_in_window(times, 1000)))
    check(9 <= span <= 11, "2 binds at 5/s each: 100 messages over %.1f s (9.9 expected)" % span)
    check(max_in_window(times, 1000) <= 12, "at most %d in any second" % max_in_window(times, 1000))
    check(s.close() == 0, "smppd stops")


PHASES = dict(bind=phase_bind, feedback=phase_feedback, rates=phase_rates, number=phase_number, priority=phase_priority, cap=phase_cap,
              restart=phase_restart)

harness.main(PHASES[sys.argv[4]])
