"""Helpers for integration tests: smppd between peers on loopback ports
chosen at run time, in a temporary directory that is removed afterwards.

A test builds a Daemon with its accounts and carriers, starts its peers
(each prints the port it listens on), starts smppd (listener on port 0: the
port is read from its "event=listening" log line), and everything it
started is killed when the test ends, whatever happens.
"""
import atexit
import json
import os
import re
import shutil
import socket
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True

# "secret1", hashed by smppd-passwd (the example config uses the same).
SECRET1_HASH = "pbkdf2-sha256$5000$JLL/xH2QFQVDXuFb+2m2iw==$YAnhZuD7R7w6FbL66iru4PmLRg4d5MW9pyRRb68I3tU="

_children = []


def _cleanup():
    for p in _children:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))


def pw_hash(password, salt=b"smppd-test-salt1"):
    """smppd's pbkdf2-sha256 encoding (config.h), computed independently."""
    import base64
    import hashlib
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 5000)
    return "pbkdf2-sha256$5000$%s$%s" % (base64.b64encode(salt).decode(), base64.b64encode(dk).decode())


def offset_to(hour_utc):
    """Seconds to add to now so that the clock reads hour_utc:00 UTC next."""
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    target = now.replace(hour=hour_utc, minute=0, second=0, microsecond=0)
    if target < now:
        target += datetime.timedelta(days=1)
    return int((target - now).total_seconds())


def copy_conf(root, tmp, files=("policy.yaml", "nanp-tz.tsv", "nanp-states.tsv")):
    """A conf/ in tmp with the shipped files a test starts from; its path."""
    conf = os.path.join(tmp, "conf")
    os.makedirs(conf, exist_ok=True)
    for f in files:
        shutil.copy(os.path.join(root, "conf", f), conf)
    return conf


def free_port():
    """A TCP port nobody listens on now, for what a test starts later."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Failure(Exception):
    pass


_checks = [0]


def check(cond, what):
    _checks[0] += 1
    if not cond:
        raise Failure(what)
    print("ok %d - %s" % (_checks[0], what), flush=True)


def spawn(args, **kw):
    p = subprocess.Popen(args, **kw)
    _children.append(p)
    return p


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise Failure("timed out after %ss waiting for %s" % (timeout, what))


def read_port_line(proc, timeout=15):
    """The first stdout line of a peer: {"listening": "127.0.0.1:PORT"}."""
    import select
    end = time.time() + timeout
    buf = b""
    while time.time() < end:
        r, _, _ = select.select([proc.stdout], [], [], 0.1)
        if r:
            ch = os.read(proc.stdout.fileno(), 1)
            if not ch:
                break
            if ch == b"\n":
                line = json.loads(buf.decode())
                return int(str(line["listening"]).rsplit(":", 1)[1])
            buf += ch
    raise Failure("peer did not report its port: %r" % buf)


def sim_carrier(smppsim, log, *flags, port=0):
    """An `smppsim carrier` that logs every submit it takes to LOG (None: no
    log); returns (process, port)."""
    logging = ["--log-submits", log] if log else []
    p = spawn([smppsim, "carrier", "--listen", "127.0.0.1:%d" % port] + logging + list(flags),
              stdout=subprocess.PIPE)
    return p, read_port_line(p)


def logged_dsts(log):
    """The destination of each submit a sim_carrier logged, in order."""
    try:
        with open(log) as f:
            return [line.split()[2] for line in f if line.strip()]
    except OSError:
        return []


class Daemon:
    def __init__(self, smppd, tmp, accounts=None, carriers=None, routes="", extra="",
                 map_size="256MiB", store=None):
        self.smppd = smppd
        self.tmp = tmp
        self.accounts = accounts if accounts is not None else [dict(system_id="app1")]
        self.carriers = carriers or []
        self.routes = routes
        self.extra = extra
        self.map_size = map_size
        self.store = store or {}  # more keys of the store section
        self.proc = None
        self.port = None
        self.log = os.path.join(tmp, "smppd.log")
        self.log_start = 0
        self.conf = os.path.join(tmp, "smppd.yaml")

    def yaml(self):
        out = ["store:", "  path: %s" % os.path.join(self.tmp, "store"), "  map_size: %s" % self.map_size,
               ]
        out += ["  %s: %s" % kv for kv in self.store.items()]
        out += ["listeners:", "  - name: smpp", "    address: 127.0.0.1:0", "accounts:"]
        for a in self.accounts:
            out.append("  - system_id: %s" % a["system_id"])
            out.append('    password_hash: "%s"' % a.get("password_hash", SECRET1_HASH))
            for k, v in a.items():
                if k not in ("system_id", "password_hash"):
                    out.append("    %s: %s" % (k, v))
        if self.carriers:
            out.append("carriers:")
        for c in self.carriers:
            out.append("  - name: %s" % c["name"])
            for k, v in c.items():
                if k != "name":
                    out.append("    %s: %s" % (k, v))
        out.append(self.routes)
        out.append("log:\n  level: debug")
        out.append(self.extra)
        return "\n".join(out) + "\n"

    def start(self):
        with open(self.conf, "w") as f:
            f.write(self.yaml())
        os.chmod(self.conf, 0o600)
        self._logf = open(self.log, "ab")
        self.log_start = self._logf.tell()  # this run's lines only
        self.proc = spawn([self.smppd, "-c", self.conf], stdout=self._logf, stderr=self._logf)
        m = wait_for(lambda: self.grep(r"event=listening listener=smpp address=\S+:(\d+)", True),
                     15, "smppd to listen")
        self.port = int(m[-1].group(1))
        return self.port

    def write(self, text=None):
        """The configuration file again: yaml() of the fields as they are
        now (a test changes them, then reloads), or text."""
        with open(self.conf, "w") as f:
            f.write(text if text is not None else self.yaml())

    def hup(self, count):
        """SIGHUP, then wait for the count-th reload outcome (either way)."""
        self.proc.send_signal(signal.SIGHUP)
        self.wait_log(r"cat=config event=(reloaded|reload_failed)", count=count)

    def grep(self, pattern, this_run=False):
        try:
            with open(self.log, "rb") as f:
                if this_run:
                    f.seek(self.log_start)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return []
        return list(re.finditer(pattern, text))

    def wait_log(self, pattern, timeout=15, count=1):
        return wait_for(lambda: len(self.grep(pattern)) >= count and self.grep(pattern), timeout,
                        "log %r x%d" % (pattern, count))

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            bad = lint_log(self.log, self.log_start)
            check(not bad, "every log line of this run is TS level= cat= event= key=value%s"
                  % (": %r" % bad[:3] if bad else ""))
        return self.proc.returncode if self.proc else None


LOG_LINE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(debug|info|warn|error) '
                      r'cat=[a-z_]+ event=[a-z_]+((?: [a-z_0-9]+=(?:"(?:[^"\\]|\\.)*"|[^ "]*))*)$')
LOG_ID = re.compile(r' id=(\S+)')


def lint_log(path, start=0):
    """Lines of smppd's log that break its format: one event per line,
    key=value, message ids of 16 hex digits, no password.  Lines other
    programs wrote (sanitizers, smppd's own usage errors) are not its log."""
    bad = []
    try:
        with open(path, "rb") as f:
            f.seek(start)
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return bad
    for line in text.splitlines():
        if not re.match(r"^\d{4}-\d\d-\d\dT", line):
            continue
        m = LOG_LINE.match(line)
        ids = LOG_ID.findall(line)
        if (not m or any(not re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)
                or re.search(r"secret1|password=(?!(-|new|same)\b)|token=[^ ]{8}", line)):
            bad.append(line)
    return bad


def main(fn):
    """Run fn(tmp) in a temporary directory; print a TAP-ish verdict."""
    tmp = tempfile.mkdtemp(prefix="smppd-it-")
    try:
        fn(tmp)
        print("1..%d" % _checks[0], flush=True)
    except Exception as e:  # a failed check, or the test itself broke
        _checks[0] += 1
        if not isinstance(e, Failure):
            import traceback
            traceback.print_exc()
        print("not ok %d - %s" % (_checks[0], e), flush=True)
        print("1..%d" % _checks[0], flush=True)
        logf = os.path.join(tmp, "smppd.log")
        if os.path.exists(logf):
            print("--- last lines of smppd.log ---")
            with open(logf, "rb") as f:
                print(f.read().decode("utf-8", "replace")[-4000:])
        sys.exit(1)
    finally:
        _cleanup()
        if os.environ.get("SMPPD_TEST_KEEP"):
            print("# kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
