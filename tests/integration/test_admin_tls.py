#!/usr/bin/env python3
"""The admin API over TLS (admin.tls): smppctl verifies the certificate
against --cacert, a client that does not trust it gets nothing, and the
token is still required inside TLS.

    test_admin_tls.py SMPPD SMPPCTL
"""
import json
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check  # noqa: E402
import tlscerts  # noqa: E402

TOKEN = "tls-admin-token-0123456789"


def run(tmp):
    smppd, smppctl = sys.argv[1:3]
    certs = tlscerts.make(tmp)
    d = harness.Daemon(smppd, tmp, extra="admin:\n  address: 127.0.0.1:0\n  token: %s\n"
                       "  tls:\n    cert: %s\n    key: %s" % (TOKEN, certs["server"], certs["server_key"]))
    d.start()
    m = d.wait_log(r"event=admin_listening address=127\.0\.0\.1:(\d+) tls=yes auth=token")
    port = m[-1].group(1)

    def ctl(*args):
        p = subprocess.run([smppctl, "--json"] + list(args), capture_output=True, text=True,
                           env=dict(os.environ, SMPPCTL_TOKEN=TOKEN), timeout=60)
        return p.returncode, p.stdout, p.stderr

    rc, out, err = ctl("--url", "https://127.0.0.1:%s" % port, "--cacert", certs["ca"], "status")
    check(rc == 0 and json.loads(out)["accounts"][0]["system_id"] == "app1",
          "smppctl over https with --cacert: status")
    rc, out, err = ctl("--url", "https://localhost:%s" % port, "--cacert", certs["other_ca"],
                       "msg", "cancel", "1")
    check(rc == 1, "a certificate from a CA smppctl does not trust: exit 1 (%s)" % err.strip())
    rc, out, err = ctl("--url", "http://127.0.0.1:%s" % port, "msg", "cancel", "1")
    check(rc == 1, "plain HTTP to the TLS port: no answer, exit 1")
    ctx = ssl.create_default_context(cafile=certs["ca"])
    with urllib.request.urlopen("https://127.0.0.1:%s/healthz" % port, context=ctx, timeout=10) as r:
        check(r.status == 200, "/healthz over TLS without a token: 200")
    try:
        urllib.request.urlopen("https://127.0.0.1:%s/v1/status" % port, context=ctx, timeout=10)
        code = 200
    except urllib.error.HTTPError as e:
        code = e.code
    check(code == 401, "/v1/status over TLS without the token: 401")
    check(d.stop() == 0, "smppd stops")


harness.main(run)
