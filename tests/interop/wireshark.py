#!/usr/bin/env python3
"""Interop: Wireshark's SMPP dissector reads every sample PDU the codec writes.

    wireshark.py PDUTOOL

Writes the samples (`pdutool hex`) into a pcap as the payload of a made-up
TCP connection (handshake, requests from the ESME, responses from the SMSC,
one PDU per segment except outbind+unbind, which share one), runs
`tshark -d tcp.port==PORT,smpp -T json` on it, and checks field by field
that the dissector sees what tests/interop/expected.json says each sample
means, that it finds every PDU in order, and that it reports no malformed
packet and no expert info of warning or error severity.
"""
import datetime
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Mismatch  # noqa: E402

SMSC_PORT = 12775  # deliberately not 2775: the test relies on -d, not on a default
ESME_PORT = 40001
PI_WARN = 0x00600000  # epan/proto.h severities: chat 0x2.., note 0x4.., warn 0x6.., error 0x8..

# --- pcap writing ---------------------------------------------------------


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Pcap:
    """A classic libpcap file of one TCP connection over Ethernet/IPv4."""

    HOSTS = ((bytes([10, 0, 0, 1]), ESME_PORT, bytes.fromhex("020000000001")),
             (bytes([10, 0, 0, 2]), SMSC_PORT, bytes.fromhex("020000000002")))

    def __init__(self):
        self.frames = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # DLT_EN10MB
        self.seq = [0x10000000, 0x70000000]
        self.ipid = [1, 1]

    def segment(self, side, flags, payload=b""):
        (sip, sport, smac), (dip, dport, dmac) = self.HOSTS[side], self.HOSTS[1 - side]
        ack = self.seq[1 - side] if flags & 0x10 else 0
        tcp = struct.pack("!HHIIBBHHH", sport, dport, self.seq[side], ack, 5 << 4, flags,
                          65535, 0, 0)
        pseudo = sip + dip + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
        tcp = tcp[:16] + struct.pack("!H", _csum(pseudo + tcp + payload)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload),
                         self.ipid[side], 0x4000, 64, 6, 0, sip, dip)
        ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
        frame = dmac + smac + b"\x08\x00" + ip + tcp + payload
        n = len(self.frames)
        self.frames.append(struct.pack("<IIII", 1700000000 + n, 0, len(frame), len(frame)) + frame)
        self.ipid[side] += 1
        self.seq[side] = (self.seq[side] + len(payload) + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF

    def data(self):
        return b"".join(self.frames)


SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def build_pcap(samples):
    """Returns the pcap bytes and the number of PDU-carrying segments."""
    p = Pcap()
    p.segment(0, SYN)
    p.segment(1, SYN | ACK)
    p.segment(0, ACK)
    i = 0
    segments = 0
    while i < len(samples):
        name, pdu = samples[i]
        side = 1 if pdu[4] & 0x80 else 0
        payload = pdu
        if name == "outbind" and i + 1 < len(samples) and samples[i + 1][0] == "unbind":
            payload += samples[i + 1][1]  # two PDUs in one segment
            i += 1
        p.segment(side, PSH | ACK, payload)
        segments += 1
        i += 1
    p.segment(0, FIN | ACK)
    p.segment(1, FIN | ACK)
    p.segment(0, ACK)
    return p.data(), segments


# --- tshark JSON ----------------------------------------------------------
# Objects are kept as lists of (key, value) pairs: the JSON repeats keys
# (smpp.opt_param, and smpp itself when a segment carries two PDUs).


def values(pairs, key):
    return [v for k, v in pairs if k == key]


def flat(pairs, out=None):
    """Every leaf key of a tree, in order, with all its values."""
    out = {} if out is None else out
    for k, v in pairs:
        if isinstance(v, list) and v and isinstance(v[0], tuple):
            flat(v, out)
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, list):
                    flat(x, out)
                else:
                    out.setdefault(k, []).append(x)
        else:
            out.setdefault(k, []).append(v)
    return out


def expert_problems(pairs):
    """Malformed markers and warning/error expert items anywhere in a frame."""
    found = []
    for k, v in pairs:
        if k.startswith("_ws.malformed"):
            found.append("malformed packet (%s)" % k)
        if k == "_ws.expert" and isinstance(v, list):
            f = flat(v)
            for sev, msg in zip(f.get("_ws.expert.severity", []), f.get("_ws.expert.message", [""] * 99)):
                if int(sev, 0) >= PI_WARN:
                    found.append("expert info severity 0x%x: %s" % (int(sev, 0), msg))
        if isinstance(v, list) and v and isinstance(v[0], tuple):
            found += expert_problems(v)
    return found


def as_int(s):
    return int(s, 0)


def as_bytes(s):
    return bytes.fromhex(s.replace(":", ""))


SMPP_TIME_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def smpp_absolute(t):
    """Wireshark's rendering of an absolute SMPP time, "Nov 28, 2026 12:00:00.d00000000 UTC"."""
    dt = datetime.datetime(2000 + int(t[0:2]), int(t[2:4]), int(t[4:6]), int(t[6:8]),
                           int(t[8:10]), int(t[10:12]), tzinfo=datetime.timezone.utc)
    quarter = int(t[13:15]) * 15
    dt -= datetime.timedelta(minutes=quarter if t[15] == "+" else -quarter)
    return dt.strftime("%b %d, %Y %H:%M:%S") + ".%d00000000 UTC" % int(t[12])


def smpp_relative(t):
    # Wireshark counts a relative year as 365 days and a month as 30.
    return float((((int(t[0:2]) * 365 + int(t[2:4]) * 30 + int(t[4:6])) * 24 + int(t[6:8])) * 60
                  + int(t[8:10])) * 60 + int(t[10:12]))


# SMPP name -> dissector field, where they differ
WS_NAME = {"sc_interface_version": "smpp.SC_interface_version"}
STRINGS = ("system_id", "password", "system_type", "address_range", "source_addr",
           "destination_addr", "esme_addr", "message_id", "service_type")
INTS = ("interface_version", "addr_ton", "addr_npi", "source_addr_ton", "source_addr_npi",
        "dest_addr_ton", "dest_addr_npi", "esme_addr_ton", "esme_addr_npi", "protocol_id",
        "priority_flag", "replace_if_present_flag", "data_coding", "sm_default_msg_id",
        "sm_length", "message_state", "error_code")


class PduCheck:
    def __init__(self, exp, tree):
        self.exp = exp
        self.tree = tree
        self.f = flat(tree)
        self.what = "%s (seq %d)" % (exp["name"], exp["sequence_number"])
        self.n = 0

    def get(self, field, f=None):
        vals = (f or self.f).get(field)
        if not vals:
            raise Mismatch("%s: the dissector shows no %s" % (self.what, field))
        return vals[0]

    def eq(self, field, want, conv=str, f=None):
        got = conv(self.get(field, f))
        if got != want:
            raise Mismatch("%s: %s is %r, expected %r" % (self.what, field, got, want))
        self.n += 1

    def run(self):
        e = self.exp
        fields = e["fields"]
        self.eq("smpp.command_id", e["command_id"], as_int)
        self.eq("smpp.sequence_number", e["sequence_number"], as_int)
        self.eq("smpp.command_length", len(self.pdu_bytes), as_int)
        if e["command_id"] & 0x80000000:  # the dissector shows status on responses only
            self.eq("smpp.command_status", e["command_status"], as_int)
        for k, v in fields.items():
            if k in STRINGS:
                if v == "":  # empty C-octet string: absent, blank or the dissector's "(Default)"
                    got = self.f.get("smpp." + k, [""])[0]
                    if got not in ("", "(Default)"):
                        raise Mismatch("%s: smpp.%s is %r, expected empty" % (self.what, k, got))
                    self.n += 1
                else:
                    self.eq("smpp." + k, v)
            elif k in INTS:
                self.eq("smpp." + k, v, as_int)
            elif k == "esm_class":
                self.eq("smpp.esm.submit.msg_mode", v & 3, as_int)
                self.eq("smpp.esm.submit.msg_type", v >> 2 & 15, as_int)
                self.eq("smpp.esm.submit.features", v >> 6, as_int)
            elif k == "registered_delivery":
                self.eq("smpp.regdel.receipt", v & 3, as_int)
                self.eq("smpp.regdel.acks", v >> 2 & 3, as_int)
                self.eq("smpp.regdel.notif", v >> 4 & 1, as_int)
            elif k in ("schedule_delivery_time", "validity_period", "final_date"):
                if v == "" or v.endswith("R"):
                    self.eq("smpp.%s_r" % k, smpp_relative(v) if v else 0.0, float)
                else:
                    self.eq("smpp." + k, smpp_absolute(v))
            elif k == "short_message":
                self.eq("smpp.message", common.octets(v), as_bytes)
            elif k == "number_of_dests":
                pass  # counted with dest_address
            elif k == "dest_address":
                self.dest_list("smpp.dlist", v, fields["number_of_dests"])
            elif k == "no_unsuccess":
                pass
            elif k == "unsuccess_sme":
                self.dest_list("smpp.dlist_resp", v, fields["no_unsuccess"])
            else:
                raise Mismatch("%s: no dissector mapping for field %s" % (self.what, k))
        self.tlvs()
        if e["name"] == "submit_sm":
            self.concat_udh()

    def dest_list(self, field, want, count):
        sub = values(self.tree, field)
        if len(sub) != 1:
            raise Mismatch("%s: %d %s trees, expected 1" % (self.what, len(sub), field))
        got, cur = [], None
        for k, v in sub[0]:
            key = k[len("smpp."):]
            if key in ("dest_addr_ton", "dl_name"):
                cur = {}
                got.append(cur)
            cur[key] = as_int(v) if key.endswith(("_ton", "_npi", "_code")) else v
        if len(got) != count:
            raise Mismatch("%s: %s has %d entries, expected %d" % (self.what, field, len(got), count))
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                raise Mismatch("%s: %s entry %d is %r, expected %r" % (self.what, field, i, g, w))
            self.n += len(w)

    def tlvs(self):
        want = self.exp["tlvs"]
        opt = values(self.tree, "smpp.opt_params")
        got = values(opt[0], "smpp.opt_param") if opt else []
        if len(got) != len(want):
            raise Mismatch("%s: the dissector shows %d optional parameters, expected %d"
                           % (self.what, len(got), len(want)))
        for g, (tag, name, kind, value) in zip(got, want):
            gf = flat(g)
            tag = int(tag, 16)
            raw = common.tlv_bytes(kind, value)
            what = "%s: TLV 0x%04x %s" % (self.what, tag, name)
            for field, w in (("smpp.opt_param_tag", tag), ("smpp.opt_param_len", len(raw))):
                if as_int(self.get(field, gf)) != w:
                    raise Mismatch("%s: %s is %s, expected %s" % (what, field, self.get(field, gf), w))
            if name is None:  # 0x1400-0x3fff vendor range, the rest reserved
                field = "smpp.vendor_op" if 0x1400 <= tag <= 0x3FFF else "smpp.reserved_op"
                self.eq(field, raw, as_bytes, gf)
            elif name == "network_error_code":
                self.eq("smpp.network_error.type", raw[0], as_int, gf)
                self.eq("smpp.network_error.code", int.from_bytes(raw[1:], "big"), as_int, gf)
            elif kind == "cstr":
                self.eq(WS_NAME.get(name, "smpp." + name), value, str, gf)
            elif kind == "hex":
                self.eq(WS_NAME.get(name, "smpp." + name), raw, as_bytes, gf)
            else:
                self.eq(WS_NAME.get(name, "smpp." + name), value, as_int, gf)
            self.n += 2

    def concat_udh(self):
        """The UDH in short_message reaches the GSM SMS dissector intact."""
        ud = self.frame_flat
        for field, want in (("gsm_sms.udh.mm.msg_id", 42), ("gsm_sms.udh.mm.msg_parts", 2),
                            ("gsm_sms.udh.mm.msg_part", 1)):
            self.eq(field, want, as_int, ud)
        self.eq("smpp.message_text", "hi")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: wireshark.py PDUTOOL")
    pdutool = sys.argv[1]
    common.ensure_debian_packages(["tshark"], ["tshark"])
    expected = common.load_expected()
    samples = common.pdutool_samples(pdutool)
    if [n for n, _ in samples] != [e["name"] for e in expected]:
        raise Mismatch("pdutool samples %s differ from expected.json %s"
                       % ([n for n, _ in samples], [e["name"] for e in expected]))

    with tempfile.TemporaryDirectory(prefix="smppd-ws-") as tmp:
        pcap = os.path.join(tmp, "samples.pcap")
        data, segments = build_pcap(samples)
        with open(pcap, "wb") as f:
            f.write(data)
        # A private HOME keeps the user's Wireshark preferences out of it.
        env = dict(os.environ, HOME=tmp, XDG_CONFIG_HOME=tmp)
        r = subprocess.run(["tshark", "-n", "-r", pcap, "-d", "tcp.port==%d,smpp" % SMSC_PORT,
                            "-T", "json"], capture_output=True, text=True, env=env, timeout=120)
        if r.returncode != 0:
            raise Mismatch("tshark failed (%d): %s" % (r.returncode, r.stderr))
        frames = json.loads(r.stdout, object_pairs_hook=lambda p: p)

    pdus, problems = [], []
    for i, frame in enumerate(frames, 1):
        layers = values(values(frame, "_source")[0], "layers")[0]
        problems += ["frame %d: %s" % (i, p) for p in expert_problems(layers)]
        for tree in values(layers, "smpp"):
            pdus.append((i, tree, layers))
    if problems:
        raise Mismatch("; ".join(problems))
    if len(pdus) != len(expected):
        raise Mismatch("the dissector found %d SMPP PDUs in %d segments, expected %d"
                       % (len(pdus), segments, len(expected)))

    total = 0
    for (frame_no, tree, layers), exp, (_, raw) in zip(pdus, expected, samples):
        c = PduCheck(exp, tree)
        c.pdu_bytes = raw
        c.frame_flat = flat(layers)
        c.run()
        print("ok %s: %d fields (frame %d)" % (exp["name"], c.n, frame_no))
        total += c.n
    print("wireshark: %d PDUs in %d TCP segments, %d fields match, no malformed or expert "
          "warnings" % (len(pdus), segments, total))


if __name__ == "__main__":
    common.main(main)
