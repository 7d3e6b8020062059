#!/usr/bin/env python3
"""`meson install` puts the binaries, the example configuration (not world
readable, since it may hold secrets), the policy with its tables and a
systemd unit in place, and the installed smppd accepts the installed
configuration as it is.

    test_install.py BUILD_DIR
"""
import os
import stat
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402


def run(tmp):
    build = sys.argv[1]
    dest = os.path.join(tmp, "root")
    r = subprocess.run(["meson", "install", "-C", build, "--destdir", dest, "--no-rebuild",
                        "--quiet"], capture_output=True, text=True)
    check(r.returncode == 0, "meson install --destdir succeeds (%s)" % r.stderr.strip()[-200:])
    opts = subprocess.run(["meson", "introspect", build, "--buildoptions"], capture_output=True,
                          text=True, check=True).stdout
    import json
    o = {x["name"]: x["value"] for x in json.loads(opts)}
    prefix = dest + o["prefix"]

    def under(*parts):
        return os.path.join(prefix, *parts)
    bindir, etc = under(o["bindir"]), os.path.join(prefix, o["sysconfdir"], "smppd")
    if os.path.isabs(o["sysconfdir"]):
        etc = os.path.join(dest + o["sysconfdir"], "smppd")
    for b in ("smppd", "smppd-passwd", "smppctl"):
        check(os.access(os.path.join(bindir, b), os.X_OK), "%s installed in %s" % (b, o["bindir"]))
    for f in ("smppd.yaml", "policy.yaml", "nanp-tz.tsv", "nanp-states.tsv"):
        p = os.path.join(etc, f)
        check(os.path.exists(p), "%s installed in the config directory" % f)
    mode = stat.S_IMODE(os.stat(os.path.join(etc, "smppd.yaml")).st_mode)
    check(mode & 0o007 == 0, "smppd.yaml is not world-readable (%o)" % mode)
    unit = os.path.join(prefix, "lib", "systemd", "system", "smppd.service")
    text = open(unit).read()
    check("@" not in text.replace("@system-service", ""), "the unit has no placeholders left")
    check("ExecStart=%s/smppd -c " % os.path.join(o["prefix"], o["bindir"]) in text,
          "the unit starts the installed smppd")
    for opt in ("NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=on-failure"):
        check(opt in text, "the unit sets %s" % opt)
    r = subprocess.run([os.path.join(bindir, "smppd"), "-t", "-c", os.path.join(etc, "smppd.yaml")],
                       capture_output=True, text=True)
    check(r.returncode == 0, "the installed smppd -t accepts the installed configuration (%s)"
          % (r.stdout + r.stderr).strip()[-200:])
    if subprocess.run(["which", "systemd-analyze"], capture_output=True).returncode == 0:
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", unit], capture_output=True,
                           text=True)
        # informational (the unit names /usr/local/bin, not the staging
        # directory); every line a TAP comment
        for line in ("systemd-analyze verify: rc %d\n%s" % (r.returncode, r.stderr.strip()[-300:])).splitlines():
            print("# " + line)


harness.main(run)
