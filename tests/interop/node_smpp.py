#!/usr/bin/env python3
"""Interop: the codec against the node "smpp" package (npm smpp@0.5.1).

    node_smpp.py decode|encode|socket PDUTOOL PEER CACHE_DIR

decode  node decodes every sample PDU our codec writes (`pdutool hex`);
        every field and TLV must equal tests/interop/expected.json, and what
        node hands an application (UDH split off, text decoded, times as
        Dates) must be what the sample means.
encode  node encodes every sample from expected.json through its PDU class;
        `pdutool decode` must decode each with the expected fields, and the
        bytes must equal our own encoding of the same sample.
socket  over loopback TCP on kernel-chosen ports: peer (our codec) as client
        against smpp.createServer, then node's client session against peer
        in server mode; every PDU each side receives is checked.

CACHE_DIR (in the meson build dir) keeps the npm install between runs.

Where node and SMPP 3.4 disagree the specification wins, and the test
documents the difference instead of bending the codec:
  * node cannot encode a TLV tag it does not know (our vendor tag 0x1401 in
    the submit_sm sample is dropped by node's PDU class); on decode it keeps
    it, but JavaScript orders integer keys first, so TLV order is lost.
  * node names 0x020B dest_port (3.4: destination_port).
  * node turns times into Date objects: a relative time ("...R") becomes an
    absolute date computed from the local clock, so it cannot be re-encoded
    as the relative time it was.
  * node decodes data_coding 0 (SMSC default alphabet) as unpacked GSM 03.38,
    so the zero octets of the data_sm payload read as '@' characters.
  * node interprets short_message only where the PDU has data_coding:
    replace_sm's reaches the application as raw octets.
  * node's bind default interface_version is 0x50 (SMPP 5.0); the samples
    set 0x34 explicitly.
"""
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Mismatch  # noqa: E402

HELPER = os.path.join(common.HERE, "node_helper.js")
VENDOR_TAGS = {0x1401}  # tags node's PDU class cannot encode (see above)


def node_canonical(n, exp):
    """node_helper's normalized PDU in canonical form, TLV values rendered to
    bytes with the widths the specification gives (from expected.json)."""
    c = {"command_id": n["command_id"], "command_status": n["command_status"],
         "sequence_number": n["sequence_number"], "name": n["command"]}
    for k, v in n.items():
        if k in ("command", "tlvs", "command_id", "command_status", "sequence_number"):
            continue
        if k == "short_message":
            c[k] = bytes.fromhex(v["hex"])
            c["sm_length"] = len(c[k])
        elif k == "dest_address":
            c[k] = v
            c["number_of_dests"] = len(v)
        elif k == "unsuccess_sme":
            c[k] = v
            c["no_unsuccess"] = len(v)
        else:
            c[k] = v
    kinds = {int(t[0], 16): t[2] for t in exp["tlvs"]}
    order = [int(t[0], 16) for t in exp["tlvs"]]
    tlvs = []
    for tag, name, value in n["tlvs"]:
        kind = kinds.get(tag)
        if kind is None:
            raise Mismatch("%s: node decoded an unexpected TLV 0x%04x %s" % (exp["name"], tag, name))
        if isinstance(value, dict):
            b = bytes.fromhex(value["hex"])
        elif isinstance(value, str):
            b = value.encode("latin-1") + (b"\0" if kind == "cstr" else b"")
        else:
            b = common.tlv_bytes(kind, value)
        tlvs.append((tag, b))
    # node loses the order of tags it does not know (integer object keys)
    c["tlvs"] = sorted(tlvs, key=lambda t: order.index(t[0]))
    return c


def node(mods, *args, **kw):
    return subprocess.run(["node", HELPER, args[0], mods] + list(args[1:]),
                          capture_output=True, text=True, timeout=120, **kw)


def json_lines(text, what):
    try:
        return [json.loads(l) for l in text.splitlines() if l.strip()]
    except ValueError as e:
        raise Mismatch("%s printed something that is not JSON: %s\n%s" % (what, e, text))


def test_decode(pdutool, mods):
    expected = common.load_expected()
    samples = common.pdutool_samples(pdutool)
    r = node(mods, "decode", input="".join("%s %s\n" % (n, b.hex()) for n, b in samples))
    if r.returncode != 0:
        raise Mismatch("node decode failed: " + r.stderr)
    got = json_lines(r.stdout, "node decode")
    if len(got) != len(expected):
        raise Mismatch("node decoded %d PDUs of %d" % (len(got), len(expected)))
    total = 0
    for exp, g in zip(expected, got):
        what = "node decoding our %s" % exp["name"]
        if g["raw"]["command"] != exp["name"]:
            raise Mismatch("%s: node calls it %s" % (what, g["raw"]["command"]))
        n = common.compare(what, common.canonical(exp), node_canonical(g["raw"], exp))
        n += check_cooked(what, exp["name"], g["cooked"])
        print("ok %s: %d fields" % (exp["name"], n))
        total += n
    print("node decode: %d PDUs, %d fields match" % (len(got), total))


def check_cooked(what, name, c):
    """What node gives an application, for the samples where it interprets."""
    def eq(field, got, want):
        if got != want:
            raise Mismatch("%s: node gives the application %s = %r, expected %r"
                           % (what, field, got, want))
        return 1
    n = 0
    if name in ("submit_sm", "submit_multi"):
        n += eq("short_message.udh", c["short_message"].get("udh"), [{"hex": "00032a0201"}])
        n += eq("short_message.message", c["short_message"]["message"], "hi")
        n += eq("schedule_delivery_time", c["schedule_delivery_time"], {"date": "2026-11-28T12:00:00.000Z"})
        n += eq("validity_period is a Date", "date" in c["validity_period"], True)
    elif name == "deliver_sm":
        n += eq("short_message.message", c["short_message"]["message"],
                "id:1A2B3C sub:001 dlvrd:001 submit date:2611281200 done date:2611281201 "
                "stat:DELIVRD err:000 text:hi")
        n += eq("receipted_message_id", [t[2] for t in c["tlvs"] if t[0] == 0x1E], ["1A2B3C"])
    elif name == "replace_sm":
        # replace_sm has no data_coding, so node hands over the raw octets
        n += eq("short_message", c["short_message"], {"hex": b"new text".hex()})
    elif name == "data_sm":
        payload = [t[2] for t in c["tlvs"] if t[0] == 0x424][0]
        n += eq("message_payload.message", payload["message"], "payload" + "@" * 293)
    elif name == "query_sm_resp":
        n += eq("final_date", c["final_date"], {"date": "2026-11-28T12:00:00.000Z"})
    return n


def test_encode(pdutool, mods):
    expected = common.load_expected()
    ours = dict(common.pdutool_samples(pdutool))
    r = node(mods, "encode", os.path.join(common.HERE, "expected.json"))
    if r.returncode != 0:
        raise Mismatch("node encode failed: " + r.stderr)
    lines = [l for l in r.stdout.splitlines() if l]
    if len(lines) != len(expected):
        raise Mismatch("node encoded %d PDUs of %d" % (len(lines), len(expected)))
    decoded = common.run_pdutool_decode(pdutool, lines)
    total = identical = 0
    for exp, line, d in zip(expected, lines, decoded):
        what = "pdutool decoding node's %s" % exp["name"]
        want = common.canonical(exp)
        dropped = [t for t in want["tlvs"] if t[0] in VENDOR_TAGS]
        want["tlvs"] = [t for t in want["tlvs"] if t[0] not in VENDOR_TAGS]
        if d["name"] != exp["name"]:
            raise Mismatch("%s: pdutool calls it %s" % (what, d["name"]))
        n = common.compare(what, want, d)
        theirs = bytes.fromhex(line.split()[1])
        mine = ours[exp["name"]]
        for tag, value in dropped:  # our bytes without the TLVs node cannot write
            mine = mine.replace(tag.to_bytes(2, "big") + len(value).to_bytes(2, "big") + value, b"", 1)
            mine = len(mine).to_bytes(4, "big") + mine[4:]
        if theirs != mine:
            raise Mismatch("%s: node's bytes %s differ from ours %s" % (what, theirs.hex(), mine.hex()))
        identical += 1
        print("ok %s: %d fields, byte-identical to ours%s" % (exp["name"], n, "" if not dropped
                                      else " without TLV %s, which node cannot encode" % ", ".join(
                                          "0x%04x" % t for t, _ in dropped)))
        total += n
    print("node encode: %d PDUs, %d fields match, %d byte-identical to our encoding"
          % (len(lines), total, identical))


def check_response(what, resp, req, system_id, message_id):
    """A response as canonical dict against the request it answers."""
    want = {"command_id": req["command_id"] | 0x80000000, "command_status": 0,
            "sequence_number": req["sequence_number"]}
    name = req["name"]
    if name.startswith("bind_"):
        want["system_id"] = system_id
    elif name in ("submit_sm", "submit_multi", "data_sm"):
        want["message_id"] = message_id % req["sequence_number"]
    elif name == "query_sm":
        want.update(message_id="42", message_state=2)
    return common.compare("%s (%s)" % (what, name + "_resp"), want, resp)


def test_socket(pdutool, peer, mods):
    expected = common.load_expected()
    requests = [e for e in expected if not e["command_id"] & 0x80000000]
    answered = [e for e in requests if e["name"] not in ("outbind", "alert_notification")]
    procs = []
    try:
        # 1. our codec (peer client) -> node smpp.createServer
        srv = subprocess.Popen(["node", HELPER, "server", mods], stdout=subprocess.PIPE,
                               text=True)
        procs.append(srv)
        first = json.loads(srv.stdout.readline() or "{}")
        if "port" not in first:
            raise Mismatch("node server did not report its port")
        cli = subprocess.run([peer, "client", str(first["port"])], capture_output=True,
                             text=True, timeout=60)
        rest, _ = srv.communicate(timeout=30)
        if cli.returncode != 0:
            raise Mismatch("peer client failed: " + cli.stderr)
        recv = [x["recv"] for x in json_lines(rest, "node server") if "recv" in x]
        errs = [x for x in json_lines(rest, "node server") if "error" in x]
        if errs:
            raise Mismatch("node server: %s" % errs)
        if len(recv) != len(requests):
            raise Mismatch("node server received %d PDUs, peer sent %d" % (len(recv), len(requests)))
        n1 = 0
        for exp, g in zip(requests, recv):
            n1 += common.compare("node server receiving our %s" % exp["name"],
                                 common.canonical(exp), node_canonical(g, exp))
        resps = [common.parse_pdutool(l[5:]) for l in cli.stdout.splitlines() if l.startswith("resp ")]
        if len(resps) != len(answered):
            raise Mismatch("peer got %d responses from node, expected %d" % (len(resps), len(answered)))
        for req, resp in zip(answered, resps):
            n1 += check_response("peer decoding node's response", resp, req, "nodesrv", "node-%d")
        print("ok peer -> node server: %d requests, %d responses, %d fields"
              % (len(recv), len(resps), n1))

        # 2. node client session -> our codec (peer server)
        psrv = subprocess.Popen([peer, "server"], stdout=subprocess.PIPE, text=True)
        procs.append(psrv)
        line = psrv.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            raise Mismatch("peer server did not report its port")
        ncli = subprocess.run(["node", HELPER, "client", mods,
                               os.path.join(common.HERE, "expected.json"), line[1]],
                              capture_output=True, text=True, timeout=60)
        prest, _ = psrv.communicate(timeout=30)
        if ncli.returncode != 0 or psrv.returncode != 0:
            raise Mismatch("node client (rc %d) / peer server (rc %d) failed: %s"
                           % (ncli.returncode, psrv.returncode, ncli.stderr))
        reqs = [common.parse_pdutool(l[4:]) for l in prest.splitlines() if l.startswith("req ")]
        sent = sorted(answered, key=lambda e: e["name"] == "unbind")
        if len(reqs) != len(sent):
            raise Mismatch("peer server decoded %d requests, node sent %d" % (len(reqs), len(sent)))
        n2 = 0
        for exp, got in zip(sent, reqs):
            want = common.canonical(exp)
            want["tlvs"] = [t for t in want["tlvs"] if t[0] not in VENDOR_TAGS]
            n2 += common.compare("peer server decoding node's %s" % exp["name"], want, got)
        out = json_lines(ncli.stdout, "node client")
        nresps = {x["resp"]["sequence_number"]: x["resp"] for x in out if "resp" in x}
        for req in sent:
            r = nresps.get(req["sequence_number"])
            if r is None:
                raise Mismatch("node client got no response to %s" % req["name"])
            n2 += check_response("node client decoding our response", node_canonical(r, {"tlvs": [], "name": ""}),
                                 req, "smppd-peer", "peer-%d")
        print("ok node client -> peer server: %d requests, %d responses, %d fields"
              % (len(reqs), len(nresps), n2))
        print("node socket: %d fields match over TCP" % (n1 + n2))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("decode", "encode", "socket"):
        sys.exit("usage: node_smpp.py decode|encode|socket PDUTOOL PEER CACHE_DIR")
    mode, pdutool, peer, cache = sys.argv[1:]
    mods = common.ensure_node_smpp(cache)
    if mode == "decode":
        test_decode(pdutool, mods)
    elif mode == "encode":
        test_encode(pdutool, mods)
    else:
        test_socket(pdutool, peer, mods)


if __name__ == "__main__":
    common.main(main)
