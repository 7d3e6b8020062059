"""A small scripted SMPP client for integration tests (Python stdlib only).

Written from the specification, independent of smppd's C codec, so that
the tests that use it speak to smppd the way a third party would.

    c = Client(port); c.bind("transceiver", "app1", "secret1")
    resp = c.submit("12025550100", "13105550100", b"hi", registered_delivery=1)
    pdu = c.expect(DELIVER_SM)
"""
import socket
import struct
import time

BIND_RECEIVER, BIND_TRANSMITTER, QUERY_SM, SUBMIT_SM, DELIVER_SM = 1, 2, 3, 4, 5
UNBIND, REPLACE_SM, CANCEL_SM, BIND_TRANSCEIVER, ENQUIRE_LINK = 6, 7, 8, 9, 0x15
SUBMIT_MULTI, DATA_SM = 0x21, 0x103
GENERIC_NACK = 0x80000000
RESP = 0x80000000
BINDS = {"receiver": BIND_RECEIVER, "transmitter": BIND_TRANSMITTER,
         "transceiver": BIND_TRANSCEIVER}


def cstr(s):
    return (s.encode() if isinstance(s, str) else s) + b"\0"


class Pdu:
    def __init__(self, command_id, status, seq, body):
        self.command_id, self.status, self.seq, self.body = command_id, status, seq, body

    def cstrings(self, n):
        """The first n C-octet strings of the body (after nothing)."""
        out, pos = [], 0
        for _ in range(n):
            end = self.body.index(b"\0", pos)
            out.append(self.body[pos:end].decode("latin-1"))
            pos = end + 1
        return out, pos

    def message_id(self):
        return self.cstrings(1)[0][0] if self.body else ""

    def deliver_fields(self):
        """deliver_sm: source, dest, esm_class, short_message, TLVs."""
        b, pos = self.body, 0
        def cs():
            nonlocal pos
            end = b.index(b"\0", pos)
            v = b[pos:end].decode("latin-1")
            pos = end + 1
            return v
        cs()  # service_type
        pos += 2
        src = cs()
        pos += 2
        dst = cs()
        esm = b[pos]
        pos += 3
        cs()
        cs()
        pos += 4
        n = b[pos]
        sm = b[pos + 1:pos + 1 + n]
        pos += 1 + n
        tlvs = {}
        while pos + 4 <= len(b):
            tag, ln = struct.unpack(">HH", b[pos:pos + 4])
            tlvs[tag] = b[pos + 4:pos + 4 + ln]
            pos += 4 + ln
        return dict(src=src, dst=dst, esm_class=esm, short_message=sm, tlvs=tlvs)


class Client:
    def __init__(self, port, host="127.0.0.1", timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.seq = 0
        self.buf = b""
        self.queue = []

    def send(self, command_id, body=b"", status=0, seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        self.sock.sendall(struct.pack(">IIII", 16 + len(body), command_id, status, seq) + body)
        return seq

    def raw(self, data):
        self.sock.sendall(data)

    def read(self, timeout=10):
        if self.queue:
            return self.queue.pop(0)
        end = time.time() + timeout
        while len(self.buf) < 4 or len(self.buf) < struct.unpack(">I", self.buf[:4])[0]:
            left = end - time.time()
            if left <= 0:
                raise TimeoutError("no PDU within %ss" % timeout)
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed by smppd")
            self.buf += data
        n = struct.unpack(">I", self.buf[:4])[0]
        _, cid, st, seq = struct.unpack(">IIII", self.buf[:16])
        pdu = Pdu(cid, st, seq, self.buf[16:n])
        self.buf = self.buf[n:]
        return pdu

    def expect(self, command_id, timeout=10, answer_deliver=True):
        """Next PDU with this command_id; deliver_sm on the way are answered
        and kept for later expect(DELIVER_SM)."""
        skipped = []
        try:
            while True:
                p = self.read(timeout)
                if p.command_id == command_id:
                    return p
                if p.command_id == ENQUIRE_LINK:
                    self.send(ENQUIRE_LINK | RESP, seq=p.seq)
                    continue
                skipped.append(p)
        finally:
            self.queue = skipped + self.queue

    def request(self, command_id, body=b""):
        seq = self.send(command_id, body)
        while True:
            p = self.expect(command_id | RESP)
            if p.seq == seq:
                return p
            self.queue.append(p)

    def bind(self, kind, system_id, password):
        body = cstr(system_id) + cstr(password) + cstr("") + bytes([0x34, 0, 0]) + cstr("")
        return self.request(BINDS[kind], body)

    def submit_body(self, src, dst, text, registered_delivery=0, validity="", esm_class=0,
                    data_coding=0, tlvs=b""):
        text = text.encode() if isinstance(text, str) else text
        if len(text) > 254:  # long: one message_payload TLV
            tlvs = struct.pack(">HH", 0x0424, len(text)) + text + tlvs
            text = b""
        return (cstr("") + bytes([1, 1]) + cstr(src) + bytes([1, 1]) + cstr(dst) +
                bytes([esm_class, 0, 0]) + cstr("") + cstr(validity) +
                bytes([registered_delivery, 0, data_coding, 0, len(text)]) + text + tlvs)

    def submit(self, src, dst, text, **kw):
        return self.request(SUBMIT_SM, self.submit_body(src, dst, text, **kw))

    def query(self, message_id, src):
        return self.request(QUERY_SM, cstr(message_id) + bytes([1, 1]) + cstr(src))

    def cancel(self, message_id, src, dst):
        return self.request(CANCEL_SM, cstr("") + cstr(message_id) + bytes([1, 1]) + cstr(src) +
                            bytes([1, 1]) + cstr(dst))

    def replace(self, message_id, src, text):
        text = text.encode()
        return self.request(REPLACE_SM, cstr(message_id) + bytes([1, 1]) + cstr(src) + cstr("") +
                            cstr("") + bytes([1, 0, len(text)]) + text)

    def answer(self, pdu, status=0):
        self.send(pdu.command_id | RESP, cstr("") if pdu.command_id == DELIVER_SM else b"",
                  status=status, seq=pdu.seq)

    def short_messages(self, wait):
        """The short_message (text) of each deliver_sm that comes within
        wait seconds, each answered."""
        out, end = [], time.time() + wait
        while time.time() < end:
            try:
                p = self.expect(DELIVER_SM, timeout=max(0.05, end - time.time()))
            except TimeoutError:
                break
            self.answer(p)
            out.append(p.deliver_fields()["short_message"].decode())
        return out

    def unbind(self):
        return self.request(UNBIND)

    def close(self):
        self.sock.close()
