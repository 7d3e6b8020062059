"""Test certificates, made at run time with the openssl CLI (never checked in:
keys in a repository end up trusted somewhere).

    certs = tlscerts.make(tmp)
    certs["ca"], certs["server"], certs["server_key"], certs["client"], ...

ca          the test CA
server      127.0.0.1 and localhost, signed by ca (listeners, smppsim carrier)
client      CN and DNS name "app1", signed by ca (an application's certificate)
smppd       CN "smppd", signed by ca (smppd's certificate towards carriers)
misnamed    carrier.invalid only, signed by ca (a host name check must fail)
other_ca    a second CA that has signed nothing above
stranger    CN "app1" again, but signed by other_ca
Each NAME has NAME (the PEM certificate) and NAME_key (mode 0600).
"""
import os
import subprocess

DAYS = "2"


def _run(args, cwd):
    r = subprocess.run(["openssl"] + args, cwd=cwd, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (args[0], r.stderr.decode()[-400:]))


def _key(d, name):
    _run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-out", name + ".key"], d)
    os.chmod(os.path.join(d, name + ".key"), 0o600)


def _ca(d, name, cn):
    _key(d, name)
    _run(["req", "-x509", "-new", "-key", name + ".key", "-out", name + ".pem", "-days", DAYS,
          "-subj", "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)


def _leaf(d, name, ca, cn, san, usage):
    _key(d, name)
    _run(["req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn], d)
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=%s\nextendedKeyUsage=%s\n" % (san, usage))
    _run(["x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
          "-CAcreateserial", "-out", name + ".pem", "-days", DAYS, "-extfile", ext], d)


def make(tmp):
    d = os.path.join(tmp, "certs")
    os.makedirs(d, exist_ok=True)
    _ca(d, "ca", "smppd test CA")
    _ca(d, "other_ca", "unrelated test CA")
    _leaf(d, "server", "ca", "localhost", "DNS:localhost,IP:127.0.0.1", "serverAuth")
    _leaf(d, "client", "ca", "app1", "DNS:app1", "clientAuth")
    _leaf(d, "smppd", "ca", "smppd", "DNS:smppd", "clientAuth")
    _leaf(d, "misnamed", "ca", "carrier.invalid", "DNS:carrier.invalid", "serverAuth")
    _leaf(d, "stranger", "other_ca", "app1", "DNS:app1", "clientAuth")
    out = {}
    for n in ("ca", "other_ca", "server", "client", "smppd", "misnamed", "stranger"):
        out[n] = os.path.join(d, n + ".pem")
        out[n + "_key"] = os.path.join(d, n + ".key")
    return out
