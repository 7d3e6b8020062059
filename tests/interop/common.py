"""Shared by the interop tests: the expected sample values, pdutool's output
parsed back into SMPP field names, comparison that names the field that
differs, and installing the peers (tshark, node smpp) when they are missing.

The canonical form of a PDU is a dict of SMPP 3.4 field names:
  command_id, command_status, sequence_number: int
  strings: str; one-octet integers: int; short_message: bytes
  dest_address / unsuccess_sme: lists of dicts in the same names
  tlvs: list of (tag, bytes) in wire order
"""
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_SMPP_VERSION = "0.5.1"


class Mismatch(Exception):
    pass


def octets(v):
    """An octet value of expected.json as bytes."""
    if isinstance(v, str):
        return bytes.fromhex(v)
    if "text" in v:
        b = v["text"].encode("latin-1")
    else:
        b = bytes.fromhex(v["hex"])
    return b + bytes(v.get("zero_pad_to", len(b)) - len(b))


def tlv_bytes(kind, value):
    if kind == "u8":
        return bytes([value])
    if kind == "u16":
        return value.to_bytes(2, "big")
    if kind == "u32":
        return value.to_bytes(4, "big")
    if kind == "cstr":
        return value.encode("latin-1") + b"\0"
    return octets(value)


def load_expected():
    with open(os.path.join(HERE, "expected.json")) as f:
        pdus = json.load(f)["pdus"]
    for p in pdus:
        p["command_id"] = int(p["command_id"], 16)
    return pdus


def canonical(exp):
    """An expected.json entry in canonical form."""
    c = {"command_id": exp["command_id"], "command_status": exp["command_status"],
         "sequence_number": exp["sequence_number"]}
    for k, v in exp["fields"].items():
        c[k] = octets(v) if k == "short_message" else v
    c["tlvs"] = [(int(t[0], 16), tlv_bytes(t[2], t[3])) for t in exp["tlvs"]]
    return c


# --- pdutool decode output ------------------------------------------------

_TOKEN = re.compile(r'\s*([A-Za-z_]+)(?:\(0x([0-9a-f]{4})\))?=((?:\d+/\d+/)?"(?:[^"\\]|\\x[0-9a-f]{2})*"(?::0x[0-9a-f]+)?|\S*)')


def _unescape(q):
    body = q[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        if body[i] == "\\":
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        else:
            out.append(ord(body[i]))
            i += 1
    return bytes(out)


def _addr(v):
    m = re.fullmatch(r'(\d+)/(\d+)/("(?:[^"\\]|\\x[0-9a-f]{2})*")(?::0x([0-9a-f]+))?', v)
    if not m:
        raise Mismatch("pdutool: cannot parse address %r" % v)
    return (int(m.group(1)), int(m.group(2)), _unescape(m.group(3)).decode("latin-1"),
            int(m.group(4), 16) if m.group(4) else None)


ADDR_PREFIX = {"source_addr": ("source_addr_ton", "source_addr_npi", "source_addr"),
               "destination_addr": ("dest_addr_ton", "dest_addr_npi", "destination_addr"),
               "esme_addr": ("esme_addr_ton", "esme_addr_npi", "esme_addr"),
               "address_range": ("addr_ton", "addr_npi", "address_range")}


def parse_pdutool(line):
    """One `pdutool decode` line in canonical form."""
    line = line.rstrip("\n")
    if line.startswith("error "):
        raise Mismatch("pdutool could not decode: " + line)
    name, rest = line.split(" ", 1)
    ids = {e["name"]: e["command_id"] for e in load_expected()}
    if name not in ids:
        raise Mismatch("pdutool decoded an unexpected command: " + line)
    c = {"name": name, "command_id": ids[name], "tlvs": [], "_raw": line}
    pos = 0
    while pos < len(rest):
        m = _TOKEN.match(rest, pos)
        if not m or m.end() == pos:
            raise Mismatch("pdutool: cannot parse %r at %r" % (line, rest[pos:pos + 30]))
        pos = m.end()
        key, tag, val = m.group(1), m.group(2), m.group(3)
        if tag:
            c["tlvs"].append((int(tag, 16), bytes.fromhex(val)))
        elif key == "seq":
            c["sequence_number"] = int(val)
        elif key == "status":
            c["command_status"] = int(val, 16)
        elif key in ADDR_PREFIX:
            ton, npi, addr, _ = _addr(val)
            k = ADDR_PREFIX[key]
            c[k[0]], c[k[1]], c[k[2]] = ton, npi, addr
        elif key == "dest":
            ton, npi, addr, _ = _addr(val)
            c.setdefault("dest_address", []).append(
                {"dest_addr_ton": ton, "dest_addr_npi": npi, "destination_addr": addr})
        elif key == "dl_name":
            c.setdefault("dest_address", []).append({"dl_name": _unescape(val).decode("latin-1")})
        elif key == "unsuccess":
            ton, npi, addr, code = _addr(val)
            c.setdefault("unsuccess_sme", []).append(
                {"dest_addr_ton": ton, "dest_addr_npi": npi, "destination_addr": addr,
                 "error_status_code": code})
        elif key == "short_message":
            c[key] = _unescape(val)
        elif val.startswith('"'):
            c[key] = _unescape(val).decode("latin-1")
        else:
            c[key] = int(val)
    if name == "submit_multi_resp":
        c.setdefault("unsuccess_sme", [])
    return c


def run_pdutool_decode(pdutool, hex_lines):
    r = subprocess.run([pdutool, "decode"], input="".join(l + "\n" for l in hex_lines),
                       capture_output=True, text=True, timeout=60)
    out = r.stdout.splitlines()
    if r.stderr.strip():
        sys.stderr.write(r.stderr)
    if len(out) != len(hex_lines):
        raise Mismatch("pdutool decode printed %d lines for %d PDUs (rc %d)" %
                       (len(out), len(hex_lines), r.returncode))
    return [parse_pdutool(l) for l in out]


def pdutool_samples(pdutool):
    """[(name, bytes)] of every sample, as the codec encodes them."""
    r = subprocess.run([pdutool, "hex"], capture_output=True, text=True, timeout=60, check=True)
    return [(l.split()[0], bytes.fromhex(l.split()[1])) for l in r.stdout.splitlines() if l]


# --- comparison -----------------------------------------------------------

def compare(what, exp, got, skip=()):
    """Every field of canonical `exp` must be in `got` with the same value.
    Returns the number of fields checked; raises Mismatch naming the field."""
    n = 0
    for k, v in exp.items():
        if k in skip or k.startswith("_") or k == "name":
            continue
        if k not in got:
            raise Mismatch("%s: field %s missing (expected %r)" % (what, k, v))
        g = got[k]
        if k == "tlvs":
            if [t for t, _ in g] != [t for t, _ in v]:
                raise Mismatch("%s: TLV tags %s, expected %s" % (
                    what, ["0x%04x" % t for t, _ in g], ["0x%04x" % t for t, _ in v]))
            for (tag, ev), (_, gv) in zip(v, g):
                if ev != gv:
                    raise Mismatch("%s: TLV 0x%04x is %s, expected %s" % (what, tag, gv.hex(), ev.hex()))
                n += 1
            continue
        if g != v:
            raise Mismatch("%s: field %s is %r, expected %r" % (what, k, g, v))
        n += 1
    return n


# --- peers ----------------------------------------------------------------

def _as_root(cmd):
    if os.geteuid() == 0:
        return cmd
    if shutil.which("sudo"):
        return ["sudo", "-n"] + cmd
    return None


def ensure_debian_packages(commands, packages):
    """Install Debian packages when one of the commands is missing."""
    if all(shutil.which(c) for c in commands):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    sys.stderr.write("interop: installing %s\n" % " ".join(packages))
    lock = os.path.join(tempfile.gettempdir(), "smppd-interop-apt.lock")
    with open(lock, "w") as lf:
        fcntl.flock(lf, fcntl.LOCK_EX)
        if all(shutil.which(c) for c in commands):
            return
        for cmd in (["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + packages):
            full = _as_root(cmd)
            if not full or subprocess.run(full, env=env, stdout=sys.stderr).returncode != 0:
                raise Mismatch("could not install %s (run scripts/dev test, or apt-get install %s)"
                               % (", ".join(packages), " ".join(packages)))
    missing = [c for c in commands if not shutil.which(c)]
    if missing:
        raise Mismatch("still missing after install: " + ", ".join(missing))


def ensure_node_smpp(cache_dir):
    """node_modules holding smpp@NODE_SMPP_VERSION under cache_dir (the meson
    build dir): installed once with npm, then reused."""
    ensure_debian_packages(["node", "npm"], ["nodejs", "npm"])
    mods = os.path.join(cache_dir, "node_modules")
    pkg = os.path.join(mods, "smpp", "package.json")

    def ok():
        try:
            with open(pkg) as f:
                return json.load(f).get("version") == NODE_SMPP_VERSION
        except (OSError, ValueError):
            return False

    if ok():
        return mods
    os.makedirs(cache_dir, exist_ok=True)
    with open(os.path.join(cache_dir, ".lock"), "w") as lf:
        fcntl.flock(lf, fcntl.LOCK_EX)
        if ok():
            return mods
        tmp = tempfile.mkdtemp(prefix="npm-", dir=cache_dir)
        try:
            sys.stderr.write("interop: npm install smpp@%s\n" % NODE_SMPP_VERSION)
            r = subprocess.run(["npm", "install", "--prefix", tmp, "--no-audit", "--no-fund",
                                "--no-save", "--loglevel=error", "smpp@" + NODE_SMPP_VERSION],
                               stdout=sys.stderr, timeout=300)
            if r.returncode != 0:
                raise Mismatch("npm install smpp@%s failed" % NODE_SMPP_VERSION)
            shutil.rmtree(mods, ignore_errors=True)
            os.rename(os.path.join(tmp, "node_modules"), mods)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if not ok():
        raise Mismatch("smpp@%s not found in %s after npm install" % (NODE_SMPP_VERSION, mods))
    return mods


def main(fn):
    """Run a test body; a Mismatch ends it with the message and status 1."""
    try:
        fn()
    except Mismatch as e:
        print("FAIL: %s" % e)
        sys.stderr.write("FAIL: %s\n" % e)
        sys.exit(1)
