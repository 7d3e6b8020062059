#!/usr/bin/env python3
"""TLS end to end: smppd with a plain, a TLS and a mutual-TLS listener side
by side, binding to an smppsim carrier over mutual TLS; applications are
smppsim app and Python's ssl module (an independent TLS client).

Certificates are made at run time (tlscerts.py): a CA, a second unrelated
CA, a server certificate for 127.0.0.1/localhost, client certificates.

    test_tls.py SMPPD SMPPSIM
"""
import json
import os
import socket
import ssl
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402
import smpp_client as sc  # noqa: E402
import tlscerts  # noqa: E402

SRC = "12025550100"


class TlsDaemon(harness.Daemon):
    """harness.Daemon with more listeners after its plain one."""

    def __init__(self, *a, listeners="", **kw):
        super().__init__(*a, **kw)
        self.more_listeners = listeners

    def yaml(self):
        return super().yaml().replace("    address: 127.0.0.1:0\naccounts:",
                                      "    address: 127.0.0.1:0\n" + self.more_listeners + "accounts:", 1)

    def port_of(self, name):
        m = self.grep(r"event=listening listener=%s address=\S+:(\d+)" % name, True)
        return int(m[-1].group(1))


def tls_client(port, ca, cert=None, key=None, host="127.0.0.1"):
    """smpp_client.Client over TLS; raises ssl.SSLError when the handshake fails."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s = ctx.wrap_socket(raw, server_hostname=host)
    except Exception:
        raw.close()
        raise
    c = sc.Client.__new__(sc.Client)
    c.sock, c.seq, c.buf, c.queue = s, 0, b"", []
    return c


def bind_status(port, ca, system_id="app1", cert=None, key=None):
    """The bind_resp status, or the name of the failure when there is none."""
    try:
        c = tls_client(port, ca, cert, key)
    except (ssl.SSLError, OSError) as e:
        return "handshake: %s" % e
    try:
        return c.bind("transceiver", system_id, "secret1").status
    except (ssl.SSLError, OSError, ConnectionError, TimeoutError) as e:
        return "closed: %s" % e
    finally:
        c.close()


def carrier(smppsim, certs, *flags):
    p = harness.spawn([smppsim, "carrier", "--listen", "127.0.0.1:0", "--receipt-delay", "20",
                       "--tls-cert", certs["server"], "--tls-key", certs["server_key"],
                       "--tls-ca", certs["ca"]] + list(flags),
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p, harness.read_port_line(p)


def app(smppsim, port, *flags):
    r = subprocess.run([smppsim, "app", "--connect", "127.0.0.1:%d" % port, "--system-id", "app1",
                        "--password", "secret1", "--src", SRC, "--dst", "13105550000"] + list(flags),
                       capture_output=True, timeout=120)
    out = r.stdout.decode().strip().splitlines()
    return r.returncode, json.loads(out[-1]) if out else None, r.stderr.decode()


def run(tmp):
    smppd, smppsim = sys.argv[1], sys.argv[2]
    certs = tlscerts.make(tmp)
    check(True, "test certificates made with the openssl CLI")
    _, cport = carrier(smppsim, certs)
    mp = harness.spawn([smppsim, "carrier", "--listen", "127.0.0.1:0",
                        "--tls-cert", certs["misnamed"], "--tls-key", certs["misnamed_key"]],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    mport = harness.read_port_line(mp)

    listeners = ("  - name: tls\n    address: 127.0.0.1:0\n"
                 "    tls: {cert: %s, key: %s}\n"
                 "  - name: mtls\n    address: 127.0.0.1:0\n"
                 "    tls: {cert: %s, key: %s, ca: %s, require_client_cert: true, min_version: TLSv1.2,\n"
                 "          ciphers: \"ECDHE+AESGCM:ECDHE+CHACHA20\"}\n"
                 % (certs["server"], certs["server_key"], certs["server"], certs["server_key"], certs["ca"]))
    tls_to_carrier = "{ca: %s, cert: %s, key: %s}" % (certs["ca"], certs["smppd"], certs["smppd_key"])
    d = TlsDaemon(smppd, tmp, listeners=listeners,
                  accounts=[dict(system_id="app1"), dict(system_id="tlsonly", require_tls="true"),
                            dict(system_id="certapp", client_cert_name="app1")],
                  carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd",
                                 tls=tls_to_carrier),
                            dict(name="wrongca", host="127.0.0.1", port=cport, system_id="smppd",
                                 tls="{ca: %s, cert: %s, key: %s}" % (certs["other_ca"], certs["smppd"],
                                                                      certs["smppd_key"]),
                                 reconnect="{initial: 5s, max: 10s}"),
                            dict(name="misnamed", host="127.0.0.1", port=mport, system_id="smppd",
                                 tls="{ca: %s}" % certs["ca"], reconnect="{initial: 5s, max: 10s}")],
                  routes="routes:\n  - carriers: [sim]\n")
    plain = d.start()
    tport, mtport = d.port_of("tls"), d.port_of("mtls")
    check(plain != tport != mtport, "plain, TLS and mutual-TLS listeners side by side")

    # towards the carrier: mutual TLS, CA and host name checked
    d.wait_log(r"event=bound carrier=sim ")
    check(d.grep(r"event=tls_established peer=127\.0\.0\.1:%d side=carrier tls=TLSv1\.[23]" % cport),
          "smppd binds to the carrier over TLS with its client certificate")
    d.wait_log(r"event=disconnect peer=127\.0\.0\.1:%d reason=\"[^\"]*certificate verify failed" % cport)
    check(not d.grep(r"event=bound carrier=wrongca"),
          "a carrier whose certificate is not from the configured CA is never bound")
    d.wait_log(r"event=disconnect peer=127\.0\.0\.1:%d reason=\"[^\"]*(hostname mismatch|verify failed)" % mport)
    check(not d.grep(r"event=bound carrier=misnamed"),
          "a carrier certificate that does not name the host is refused")

    # plain and TLS side by side
    c = sc.Client(plain)
    check(c.bind("transceiver", "app1", "secret1").status == 0, "plain listener: app1 binds")
    c.close()
    c = sc.Client(plain)
    check(c.bind("transceiver", "tlsonly", "secret1").status == 0x0D,
          "an account with require_tls is refused on the plain listener (ESME_RBINDFAIL)")
    c.close()
    check(bind_status(tport, certs["ca"]) == 0, "TLS listener: app1 binds (Python ssl, CA verified)")
    check(bind_status(tport, certs["ca"], "tlsonly") == 0, "the require_tls account binds over TLS")
    st = bind_status(tport, certs["other_ca"])
    check(isinstance(st, str) and "CERTIFICATE_VERIFY_FAILED" in st,
          "a client trusting another CA fails the handshake (%s)" % st)
    check(bind_status(tport, certs["ca"], "certapp") == 0x0D,
          "an account with client_cert_name needs a client certificate (ESME_RBINDFAIL without)")

    # mutual TLS listener
    st = bind_status(mtport, certs["ca"])
    check(isinstance(st, str), "mutual-TLS listener: a client without a certificate is refused (%s)" % st)
    st = bind_status(mtport, certs["ca"], cert=certs["stranger"], key=certs["stranger_key"])
    check(isinstance(st, str), "a client certificate from another CA is refused (%s)" % st)
    check(d.grep(r"event=disconnect peer=127\.0\.0\.1:\d+ reason=\"[^\"]*(no certificate|certificate verify failed|unknown ca)"),
          "smppd logs why the handshake failed")
    check(bind_status(mtport, certs["ca"], "certapp", certs["client"], certs["client_key"]) == 0,
          "a client certificate from the CA naming app1 binds as certapp")
    check(bind_status(mtport, certs["ca"], "certapp", certs["smppd"], certs["smppd_key"]) == 0x0D,
          "a valid certificate naming someone else does not bind as certapp")
    d.wait_log(r"event=tls_established peer=\S+ side=upstream tls=TLSv1\.[23]/\S+ peer_cn=app1")

    # smppsim app over TLS, end to end with receipts through the TLS carrier bind
    rc, out, err = app(smppsim, tport, "--tls-ca", certs["ca"], "--count", "20",
                       "--registered-delivery", "1", "--wait-receipts", "30")
    got = sum((out or {}).get("receipts", {}).values()) if out else 0
    check(rc == 0 and got == 20, "smppsim app over TLS: 20 submitted, %d receipts back (rc %d) %s"
          % (got, rc, err[-300:]))
    rc, out, err = app(smppsim, mtport, "--tls-ca", certs["ca"], "--tls-cert", certs["client"],
                       "--tls-key", certs["client_key"], "--count", "5",
                       "--registered-delivery", "1", "--wait-receipts", "30")
    got = sum((out or {}).get("receipts", {}).values()) if out else 0
    check(rc == 0 and got == 5, "smppsim app with a client certificate over mutual TLS: %d receipts" % got)
    rc, out, err = app(smppsim, tport, "--tls-ca", certs["other_ca"], "--count", "1")
    why = [l for l in err.splitlines() if "tls:" in l]
    check(rc == 1 and "certificate verify failed" in err,
          "smppsim app trusting another CA: handshake fails (%s)" % (why[:1] or [err])[0].strip())
    rc, out, err = app(smppsim, mtport, "--tls-ca", certs["ca"], "--count", "1")
    # TLS 1.3 reports the missing certificate after the client's side of
    # the handshake, so the app may fail at the handshake or at the bind
    check(rc != 0 and (not out or out.get("accepted", 0) == 0),
          "smppsim app without a certificate cannot bind on the mutual-TLS listener (rc %d)" % rc)

    check(not d.grep(r"secret1"), "no password in smppd's log")
    check(d.stop() == 0, "smppd exits 0 on SIGTERM")

    # smppd -t loads every certificate: a world-readable key is refused
    os.chmod(certs["server_key"], 0o644)
    r = subprocess.run([smppd, "-t", "-c", d.conf], capture_output=True)
    check(r.returncode == 1 and b"world-readable" in r.stderr,
          "smppd -t refuses a world-readable TLS key: %s" % r.stderr.decode().strip())
    os.chmod(certs["server_key"], 0o600)
    r = subprocess.run([smppd, "-t", "-c", d.conf], capture_output=True)
    check(r.returncode == 0, "and accepts it at 0600")


harness.main(run)
