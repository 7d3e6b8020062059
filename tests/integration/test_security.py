#!/usr/bin/env python3
"""Access control and brute-force defence towards applications:

- per account: allowed source networks, allowed source numbers (another
  account's number is ESME_RINVSRCADR), maximum binds;
- failed binds are limited per source address: after bind_limit.failures
  the address is refused (ESME_RBINDFAIL, even with the right password)
  until the block ends; the block is logged with the address and no
  password ever reaches the log;
- a configuration holding secrets is refused when world-readable.

    test_security.py SMPPD
"""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402
import smpp_client as sc  # noqa: E402

DST = "13105550100"
GUESSES = ["hunter2", "letmein", "qwerty12", "passw0rd", "dragon99"]


def bind(port, system_id, password, kind="transmitter"):
    c = sc.Client(port)
    st = c.bind(kind, system_id, password).status
    return c, st


def test_access(port):
    c, st = bind(port, "faraway", "secret1")
    check(st == 0x0D, "an account limited to 10.0.0.0/8 cannot bind from 127.0.0.1 (ESME_RBINDFAIL)")
    c.close()
    c, st = bind(port, "local", "secret1")
    check(st == 0, "an account allowing 127.0.0.0/8 binds")
    check(c.submit("12025550100", DST, "own number").status == 0, "a submit from its own number is accepted")
    check(c.submit("12025550177", DST, "own range").status == 0, "and from its own prefix (1202555017*)")
    check(c.submit("13125550199", DST, "not ours").status == 0x0A,
          "a submit from another account's number: ESME_RINVSRCADR")
    c.close()
    held = [bind(port, "local", "secret1")[0] for _ in range(2)]
    c, st = bind(port, "local", "secret1")
    check(st == 0x0D, "max_binds: the third bind of a 2-bind account is refused")
    for h in held + [c]:
        h.close()


def test_brute_force(d, port):
    for i, pw in enumerate(GUESSES):
        c, st = bind(port, "local", pw)
        check(st == 0x0E, "guess %d: ESME_RINVPASWD" % (i + 1))
        c.close()
    d.wait_log(r"event=bind_limit_block peer=127\.0\.0\.1:\d+ failures=6")
    check(True, "the sixth failure (the refused network counted too, max_binds did not) "
          "blocks the address, logged with it")
    t0 = time.time()
    c, st = bind(port, "local", "secret1")
    check(st == 0x0D, "blocked: even the right password gets ESME_RBINDFAIL")
    c.close()
    c, st = bind(port, "nosuch", "whatever")
    check(st == 0x0D, "blocked: an unknown system_id gets ESME_RBINDFAIL too (nothing to learn)")
    c.close()
    text = "".join(m.group(0) for m in d.grep(r"(?s).+"))
    leaked = [pw for pw in GUESSES + ["secret1", "whatever"] if pw in text]
    check(not leaked, "no password appears in the log (found: %s)" % leaked)
    time.sleep(max(0.0, 2.2 - (time.time() - t0)))
    c, st = bind(port, "local", "secret1")
    check(st == 0, "after the block (2s) the right password binds again")
    c.close()


def test_world_readable(smppd, tmp):
    conf = os.path.join(tmp, "secret.yaml")
    with open(conf, "w") as f:
        f.write("listeners:\n  - {name: smpp, address: '127.0.0.1:0'}\n"
                "carriers:\n  - {name: k, host: 127.0.0.1, port: 2776, system_id: smppd,"
                " password: carrpw1}\n"
                "admin:\n  address: 127.0.0.1:0\n  token: 0123456789abcdef0123\n")
    os.chmod(conf, 0o644)
    r = subprocess.run([smppd, "-t", "-c", conf], capture_output=True)
    err = r.stderr.decode()
    check(r.returncode == 1 and "world-readable" in err and "carrpw1" not in err,
          "a world-readable config with an inline carrier password is refused: %s" % err.strip())
    os.chmod(conf, 0o640)
    r = subprocess.run([smppd, "-t", "-c", conf], capture_output=True)
    check(r.returncode == 0, "the same file at 0640 is accepted")
    tok = os.path.join(tmp, "token")
    with open(tok, "w") as f:
        f.write("0123456789abcdef0123\n")
    os.chmod(tok, 0o644)
    with open(conf, "w") as f:
        f.write("listeners:\n  - {name: smpp, address: '127.0.0.1:0'}\n"
                "admin:\n  address: 127.0.0.1:0\n  token_file: %s\n" % tok)
    os.chmod(conf, 0o644)  # no secret inline: the file itself may be readable
    r = subprocess.run([smppd, "-t", "-c", conf], capture_output=True)
    check(r.returncode == 1 and "world-readable" in r.stderr.decode(),
          "a world-readable admin token_file is refused")
    os.chmod(tok, 0o600)
    r = subprocess.run([smppd, "-t", "-c", conf], capture_output=True)
    check(r.returncode == 0, "and accepted at 0600 (the config without inline secrets may be 0644)")


def run(tmp):
    smppd = sys.argv[1]
    d = harness.Daemon(smppd, tmp, accounts=[
        dict(system_id="faraway", allowed_networks="[10.0.0.0/8]"),
        dict(system_id="local", allowed_networks="[127.0.0.0/8, '::1']", max_binds=2,
             allowed_sources='[12025550100, "1202555017*"]'),
    ], extra="bind_limit: {failures: 6, window: 1m, block: 2s, table_size: 256}")
    port = d.start()
    test_access(port)
    test_brute_force(d, port)
    check(d.stop() == 0, "smppd exits 0 on SIGTERM")
    test_world_readable(smppd, tmp)


harness.main(run)
