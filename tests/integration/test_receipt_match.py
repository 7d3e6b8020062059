#!/usr/bin/env python3
"""Receipts matched from memory after the SUBMITTED mark committed, and from
the store once the message has left the recent entries.  The carrier's
receipts are scripted: smppd sends over its transmitter bind to smppsim
(which logs each carrier id and cannot answer with receipts on that bind),
and this test delivers deliver_sm receipts over the carrier's own bind to
smppd's carrier listener.  receipt_cache: 2 keeps two messages in memory,
so that the third one back is found in the store.

    test_receipt_match.py SMPPD SMPPSIM
"""
import os
import socket
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check  # noqa: E402
import smpp_client as sc  # noqa: E402
from test_metrics import TOKEN, parsed  # noqa: E402

SRC = "12025550101"


def carrier_ids(log, n):
    """The carrier ids smppsim gave the first n submits, in order."""
    def read():
        with open(log) as f:
            ids = [line.split()[3] for line in f if line.strip()]
        return ids if len(ids) >= n else None
    return harness.wait_for(read, 15, "%d submits at the carrier" % n)


def send_receipt(rx, carrier_id, stat, err="000"):
    """A deliver_sm receipt, not waiting for its answer; its sequence."""
    text = ("id:%s sub:001 dlvrd:001 submit date:2611291200 done date:2611291201 stat:%s err:%s text:"
            % (carrier_id, stat, err))
    return rx.send(sc.DELIVER_SM, rx.submit_body("13105550000", SRC, text, esm_class=0x04))


def receipt(rx, carrier_id, stat, err="000"):
    seq = send_receipt(rx, carrier_id, stat, err)
    while True:
        p = rx.expect(sc.DELIVER_SM | sc.RESP, timeout=15)
        if p.seq == seq:
            return p.status


def app_receipts(app, wait):
    """(message id, stat) of each receipt the application gets within wait s."""
    out = []
    for sm in app.short_messages(wait):
        fields = dict(f.split(":", 1) for f in sm.replace("submit date", "submit_date")
                      .replace("done date", "done_date").split(" ") if ":" in f)
        out.append((fields["id"], fields["stat"]))
    return out


class FakeSmsc:
    """The carrier's SMSC for smppd's one transmitter bind, scripted by the
    test: it answers the bind, hands over each submit_sm, and answers it
    with the carrier id the test chooses, when the test says."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        self.conn = None

    def accept_bind(self, timeout=15):
        self.lsock.settimeout(timeout)
        s, _ = self.lsock.accept()
        c = sc.Client.__new__(sc.Client)
        c.sock, c.seq, c.buf, c.queue = s, 0, b"", []
        self.conn = c
        p = self.next_pdu(timeout)
        if p.command_id != sc.BIND_TRANSMITTER:
            raise harness.Failure("smppd's first PDU to the carrier is 0x%08x" % p.command_id)
        c.send(sc.BIND_TRANSMITTER | sc.RESP, sc.cstr("fake"), seq=p.seq)

    def next_pdu(self, timeout=15):
        while True:
            p = self.conn.read(timeout)
            if p.command_id != sc.ENQUIRE_LINK:
                return p
            self.conn.send(sc.ENQUIRE_LINK | sc.RESP, seq=p.seq)

    def answer(self, pdu, carrier_id):
        self.conn.send(sc.SUBMIT_SM | sc.RESP, sc.cstr(carrier_id), seq=pdu.seq)


def overtaken_commit(smppd, tmp):
    """A final receipt read before the message's SUBMITTED mark commits
    (found in its flight), then the same receipt again after that commit:
    the message must not be kept in memory as merely sent, or the repeat
    would reach the application a second time."""
    tmp = os.path.join(tmp, "overtake")
    os.makedirs(tmp)
    smsc = FakeSmsc()
    rxport = harness.free_port()
    listen = ("{address: 127.0.0.1:%d, mode: bind, system_id: rxcar, password_hash: \"%s\"}"
              % (rxport, harness.pw_hash("rxsecret")))
    d = harness.Daemon(smppd, tmp, carriers=[dict(name="fake", host="127.0.0.1", port=smsc.port,
                                                   system_id="smppd", bind="transmitter",
                                                   sessions=1, listen=listen)],
                       routes="routes:\n  - carriers: [fake]\n", extra="receipt_cache: 2")
    d.start()
    smsc.accept_bind()
    d.wait_log(r"event=bound carrier=fake slot=0 bind=bind_transmitter")
    rx = sc.Client(rxport)
    check(rx.bind("transmitter", "rxcar", "rxsecret").status == 0, "the fake carrier's receipt bind")
    app = sc.Client(d.port)
    check(app.bind("transceiver", "app1", "secret1").status == 0, "app1 binds")
    # the receipt goes right behind the submit_sm_resp: smppd reads it
    # before the mark's fsync ends, nearly always; a few tries make sure
    via, msg_id, cid = None, None, None
    for attempt in range(8):
        r = app.submit(SRC, "1310555010%d" % attempt, "overtaking %d" % attempt, registered_delivery=1)
        msg_id, cid = r.message_id(), "f0%04d" % attempt
        sub = smsc.next_pdu()
        if sub.command_id != sc.SUBMIT_SM:
            raise harness.Failure("expected a submit_sm at the carrier, got 0x%08x" % sub.command_id)
        smsc.answer(sub, cid)
        seq = send_receipt(rx, cid, "DELIVRD")
        m = d.wait_log(r"event=receipt id=%s carrier=fake carrier_id=%s stat=DELIVRD via=(\w+)"
                       % (msg_id, cid))
        via = m[-1].group(1)
        p = rx.expect(sc.DELIVER_SM | sc.RESP, timeout=15)
        check(p.seq == seq and p.status == 0, "receipt %d is answered" % attempt)
        if via == "flight":
            break
    check(via == "flight", "a final receipt right behind the submit_sm_resp is matched in flight")
    check(d.wait_log(r"event=submitted id=%s carrier=fake parts=1" % msg_id),
          "then the message's SUBMITTED mark commits")
    first = [x for x in app_receipts(app, 3) if x[0] == msg_id]
    check(first == [(msg_id, "DELIVRD")], "app1 gets the message's receipt once")
    check(receipt(rx, cid, "DELIVRD") == 0, "the carrier repeats the receipt after the commit")
    check(not d.grep(r"event=receipt id=%s carrier=fake carrier_id=%s stat=DELIVRD via=recent"
                     % (msg_id, cid)),
          "the finalized message was not kept in memory as sent")
    check([x for x in app_receipts(app, 1) if x[0] == msg_id] == [],
          "and the repeat does not reach app1")
    rx.close()
    app.close()
    d.stop()


def run(tmp):
    smppd, smppsim = sys.argv[1], sys.argv[2]
    log = os.path.join(tmp, "carrier.log")
    _, cport = harness.sim_carrier(smppsim, log)
    rxport = harness.free_port()
    listen = ("{address: 127.0.0.1:%d, mode: bind, system_id: rxcar, password_hash: \"%s\"}"
              % (rxport, harness.pw_hash("rxsecret")))
    admin = harness.free_port()
    d = harness.Daemon(smppd, tmp, carriers=[dict(name="sim", host="127.0.0.1", port=cport, system_id="smppd",
                                                   bind="transmitter", listen=listen)],
                       routes="routes:\n  - carriers: [sim]\n",
                       extra="receipt_cache: 2\nadmin:\n  address: 127.0.0.1:%d\n  token: %s"
                       % (admin, TOKEN))
    d.start()
    d.wait_log(r"event=bound carrier=sim slot=0 bind=bind_transmitter")
    rx = sc.Client(rxport)
    check(rx.bind("transmitter", "rxcar", "rxsecret").status == 0,
          "the carrier binds to smppd's carrier listener to deliver receipts")
    app = sc.Client(d.port)
    check(app.bind("transceiver", "app1", "secret1").status == 0, "app1 binds")

    ids = []
    for i in range(3):
        r = app.submit(SRC, "1310555000%d" % i, "message %d" % i, registered_delivery=1)
        check(r.status == 0, "app1 submits message %d" % i)
        ids.append(r.message_id())
        d.wait_log(r"event=submitted id=%s carrier=sim parts=1" % ids[i])
    cids = carrier_ids(log, 3)
    check(len(set(cids)) == 3, "the carrier answered three submits with three ids")

    # the newest two are in memory
    check(receipt(rx, cids[2], "ENROUTE") == 0, "an intermediate receipt for message 2 is answered")
    check(app_receipts(app, 0.5) == [], "and does not reach the application")
    check(receipt(rx, cids[2], "DELIVRD") == 0, "message 2's final receipt is answered")
    check(d.wait_log(r"event=receipt id=%s carrier=sim carrier_id=%s stat=DELIVRD via=recent"
                     % (ids[2], cids[2])),
          "the intermediate receipt kept message 2 in memory: found there")
    check(app_receipts(app, 3) == [(ids[2], "DELIVRD")], "app1 gets message 2's receipt")

    # a repeated final receipt sees the store's final state
    check(receipt(rx, cids[2], "UNDELIV", "011") == 0, "a second final receipt for message 2 is answered")
    check(d.wait_log(r"event=receipt_ignored id=%s stat=UNDELIV state=delivered" % ids[2]),
          "it finds message 2 delivered in the store and changes nothing")
    check(app_receipts(app, 0.5) == [], "app1 gets no second receipt for message 2")

    # the oldest left memory when the third was sent: the store has it
    check(receipt(rx, cids[0], "UNDELIV", "011") == 0, "message 0's receipt is answered")
    check(d.wait_log(r"event=receipt id=%s carrier=sim carrier_id=%s stat=UNDELIV via=store"
                     % (ids[0], cids[0])),
          "message 0, pushed out of memory by two newer ones, is found in the store")
    check(app_receipts(app, 3) == [(ids[0], "UNDELIV")], "app1 gets message 0's receipt")
    check(receipt(rx, cids[1], "DELIVRD") == 0 and
          d.wait_log(r"event=receipt id=%s carrier=sim carrier_id=%s stat=DELIVRD via=recent"
                     % (ids[1], cids[1])),
          "message 1 is still in memory")
    check(app_receipts(app, 3) == [(ids[1], "DELIVRD")], "app1 gets message 1's receipt")

    # a long message is sent in parts: never kept in memory
    r = app.submit(SRC, "13105550009", "x" * 300, registered_delivery=1)
    check(r.status == 0, "app1 submits a message of two parts")
    d.wait_log(r"event=submitted id=%s carrier=sim parts=2" % r.message_id())
    parts = carrier_ids(log, 5)[3:5]
    check(receipt(rx, parts[0], "DELIVRD") == 0 and receipt(rx, parts[1], "DELIVRD") == 0,
          "both parts' receipts are answered")
    check(d.wait_log(r"event=receipt id=%s carrier=sim carrier_id=%s stat=DELIVRD via=store"
                     % (r.message_id(), parts[0])),
          "the first part's receipt finds the message in the store")
    check(app_receipts(app, 3) == [(r.message_id(), "DELIVRD")],
          "app1 gets one receipt for the long message")
    check(len(d.grep(r"event=receipt id=%s " % r.message_id())) == 1,
          "the second part's receipt changed nothing")

    # a receipt for an id nobody sent waits for a late submit_sm_resp,
    # then is answered and logged as unmatched
    check(receipt(rx, "ffffffff", "DELIVRD") == 0, "a receipt for an unknown id is answered")
    check(d.wait_log(r"event=receipt_unmatched carrier=sim carrier_id=ffffffff"),
          "and logged as unmatched")
    check(app_receipts(app, 0.5) == [], "nothing reaches the application")
    # what an operator sizing receipt_cache reads: 3 from memory, 4 from the
    # store (the repeated final, message 0, both parts), 1 given up on
    via = {l["via"]: x for l, x in parsed(admin)[2].series("smppd_receipt_matches_total")}
    check(via == {"in_flight": 0, "cache": 3, "store": 4, "unmatched": 1},
          "smppd_receipt_matches_total by via: cache 3, store 4, unmatched 1 (%s)" % via)
    rx.close()
    app.close()
    d.stop()
    overtaken_commit(smppd, tmp)


if __name__ == "__main__":
    harness.main(run)
