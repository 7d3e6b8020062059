#!/usr/bin/env python3
"""The README's examples, run so that they cannot go stale.

- The configuration and policy examples (the yaml blocks that start with
  `# smppd.yaml` and `# policy.yaml`) pass `smppd -t`, and smppd runs on
  them: the 2FA number is accepted, the marketing number without consent
  gets 0x401, an unregistered number 0x0A, as the Policy section says.
- The command of "Sending a message and seeing its receipt" runs against
  that smppd (its port and build path swapped in) and gets its receipt.
- Every row of the status-code table names a status smppd has, with that
  value.
- Every shell line of the README that runs smppctl (if any) exits 0 against
  the running smppd.

usage: test_readme.py SMPPD SMPPSIM SOURCE_ROOT
"""
import json
import os
import re
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402
import smpp_client as sc  # noqa: E402


def blocks(text, lang):
    return [m.group(1) for m in re.finditer(r"```%s\n(.*?)```" % lang, text, re.S)]


def example(text, name):
    found = [b for b in blocks(text, "yaml") if b.startswith("# %s\n" % name)]
    check(len(found) == 1, "the README has one %s example" % name)
    return found[0]


def write(path, data, mode=0o600):
    with open(path, "w") as f:
        f.write(data)
    os.chmod(path, mode)



def localize(conf_text, tmp, cport):
    """The example with its machine-wide paths and hosts made local."""
    etc = os.path.join(tmp, "etc")
    os.makedirs(etc, exist_ok=True)
    for name in re.findall(r"/etc/smppd/([\w.-]+)", conf_text):
        # SMPP passwords are at most 8 characters, admin tokens at least 16
        secret = "readme-admin-token-0123456789" if name.endswith(".token") else "carrpw1"
        write(os.path.join(etc, name), secret + "\n")
    out = conf_text.replace("/var/lib/smppd", os.path.join(tmp, "store"))
    out = out.replace("/etc/smppd/", etc + "/")
    out = out.replace("0.0.0.0:2775", "127.0.0.1:0")
    out = out.replace("127.0.0.1:8025", "127.0.0.1:%d" % harness.free_port())
    out = re.sub(r"host: smsc-\w\.example\.net\n    port: \d+", "host: 127.0.0.1\n    port: %d" % cport, out)
    return out.replace("target: syslog", "target: stderr")


def check_status_table(text, root):
    sources = ""
    for rel in ("policy/policy.h", "smpp/pdu.h"):
        with open(os.path.join(root, rel)) as f:
            sources += f.read()
    rows = re.findall(r"^\| (0x[0-9A-Fa-f]{8})(?: (ESME_\w+))? \|", text, re.M)
    check(len(rows) >= 10, "the status-code table has %d rows" % len(rows))
    for code, name in rows:
        value = int(code, 16)
        if name:
            m = re.search(r"SMPP_%s\s*=\s*(0x[0-9A-Fa-f]+)" % name, sources)
            check(m and int(m.group(1), 16) == value, "%s is %s in smpp/pdu.h" % (name, code))
        else:
            m = re.search(r"#define POLICY_ST_\w+\s+0x0*%x" % value, sources, re.I)
            check(m is not None, "%s is a status policy/policy.h defines" % code)


def run_operations(readme, smppd, smppsim, cfg, tmp, d, port, cp):
    """Every line of the Operations block, against this smppd, with $ID a
    message waiting in the queue (the carrier is stopped first)."""
    cp.terminate()
    cp.wait()
    d.wait_log(r"cat=carrier event=(disconnect|unbound)")
    c = sc.Client(port)
    c.bind("transceiver", "app1", "secret1")
    r = c.submit("12025550101", "13105550101", "Your Acme code is 654321")
    check(r.status == 0, "a 2FA message is queued while the carrier is down")
    msg_id = r.message_id()
    c.close()
    with open(os.path.join(tmp, "stops.csv"), "w") as f:
        f.write("+12025550124,Acme Bank\n12025550125,\n")
    with open(os.path.join(tmp, "consent.csv"), "w") as f:
        f.write("13105550102,Acme Bank,CACMEMKT,web_form,,signup form,marketing,"
                "https://acme.example/form/1\n")
    smppctl = os.path.abspath(os.path.join(os.path.dirname(smppd), "smppctl"))
    ops = [b for b in blocks(readme, "sh") if "smppctl -c smppd.yaml" in b]
    check(len(ops) == 1, "the README has an Operations block of smppctl commands")
    lines = [ln for ln in ops[0].splitlines() if ln.strip()]
    check(len(lines) >= 10, "it shows %d commands" % len(lines))
    for ln in lines:
        cmd = ln.replace("smppctl -c smppd.yaml", "%s -c %s" % (shlex.quote(smppctl), shlex.quote(cfg)), 1)
        r = subprocess.run(["bash", "-c", cmd], cwd=tmp, capture_output=True, timeout=60,
                           env=dict(os.environ, ID=msg_id))
        what = ln.split("#")[0].strip()
        check(r.returncode == 0, "README: `%s` exits 0 (%s)" % (what, r.stderr.decode().strip()[-200:]))
        if "--json" in ln:
            try:
                json.loads(r.stdout.decode())
                parsed = True
            except ValueError:
                parsed = all(json.loads(x) is not None for x in r.stdout.decode().splitlines() if x)
            check(parsed, "README: `%s` prints JSON" % what)
        if "queue --campaign CACME2FA" in ln:
            check(msg_id in r.stdout.decode(), "the queue listing shows the queued message %s" % msg_id)
    with open(os.path.join(tmp, "optouts.csv")) as f:
        exported = f.read()
    check("12025550123" in exported and "12025550124" in exported,
          "the exported opt-outs hold the one added and the ones imported")


def run(tmp):
    smppd, smppsim, root = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(os.path.join(root, "README.md")) as f:
        readme = f.read()
    check_status_table(readme, root)

    cp = harness.spawn([smppsim, "carrier", "--listen", "127.0.0.1:0", "--system-id", "acme"],
                       stdout=subprocess.PIPE)
    cport = harness.read_port_line(cp)
    conf = harness.copy_conf(root, tmp, files=("nanp-tz.tsv", "nanp-states.tsv"))
    write(os.path.join(conf, "policy.yaml"), example(readme, "policy.yaml"))
    cfg = os.path.join(conf, "smppd.yaml")
    cfg_text = localize(example(readme, "smppd.yaml"), tmp, cport)
    write(cfg, cfg_text)
    r = subprocess.run([smppd, "-t", "-c", cfg], capture_output=True, timeout=30)
    check(r.returncode == 0, "smppd -t accepts the README's configuration and policy: %s"
          % (r.stdout + r.stderr).decode().strip())

    d = harness.Daemon(smppd, tmp)
    d.conf = cfg
    d.yaml = lambda: cfg_text
    port = d.start()
    d.wait_log(r"event=bound carrier=carrier-a")
    c = sc.Client(port)
    check(c.bind("transceiver", "app1", "secret1").status == 0,
          "app1 binds with the README's password hash")
    check(c.submit("12025550101", "13105550100", "Your Acme code is 123456").status == 0,
          "the 2FA number is accepted")
    check(c.submit("12025550120", "13105550100", "Sale today").status == 0x401,
          "the marketing number without consent: 0x401")
    check(c.submit("12025550199", "13105550100", "who?").status == 0x0A,
          "a number no campaign owns: ESME_RINVSRCADR")
    c.close()

    cmds = [b for b in blocks(readme, "sh") if "mta/smppsim app" in b]
    check(len(cmds) == 1, "the README shows how to send a message with smppsim")
    argv = shlex.split(cmds[0].replace("\\\n", " "))
    argv[0] = smppsim
    argv[argv.index("--connect") + 1] = "127.0.0.1:%d" % port
    out = subprocess.run(argv, capture_output=True, timeout=60)
    check(out.returncode == 0, "the README's smppsim command runs: %s" % out.stderr.decode()[-300:])
    got = json.loads(out.stdout.decode().strip().splitlines()[-1])
    check(got.get("accepted") == 1 and (got.get("receipts") or {}).get("DELIVRD") == 1,
          "and gets its message accepted and a DELIVRD receipt: %s" % got)

    run_operations(readme, smppd, smppsim, cfg, tmp, d, port, cp)
    check(d.stop() == 0, "smppd stops cleanly")


harness.main(run)
