// Independent SMPP peers for smppd's interop test, on the npm "smpp" package.
//   node node_peers.js NODE_MODULES carrier           listens on a free port, prints {"listening": ...}
//   node node_peers.js NODE_MODULES app PORT COUNT    binds as app1, submits, waits for receipts
// The carrier answers submit_sm with hex ids and sends receipts with the
// same id in decimal (the case smpp_msgid_key exists for); it also sends
// one MO message to the first bind.  The app prints one JSON line.
const path = require('path');
const smpp = require(path.join(process.argv[2], 'smpp'));
const mode = process.argv[3];

function carrier() {
  let n = 0;
  const seen = [];
  const fs = require('fs');
  const log = process.env.CARRIER_LOG; // one destination per line, as received
  const server = smpp.createServer((session) => {
    session.on('error', () => {}); // smppd killed mid-stream: expected here
    session.on('bind_transceiver', (pdu) => {
      session.send(pdu.response());
      setTimeout(() => session.deliver_sm({ source_addr: '13105550999', destination_addr: '12025550100',
        short_message: 'hello from a handset' }), 200);
    });
    session.on('enquire_link', (pdu) => session.send(pdu.response()));
    session.on('unbind', (pdu) => { session.send(pdu.response()); session.close(); });
    session.on('submit_sm', (pdu) => {
      const id = 0xA000 + (++n);
      session.send(pdu.response({ message_id: id.toString(16).toUpperCase() }));
      const udh = pdu.short_message && pdu.short_message.udh ? 1 : 0;
      seen.push({ dst: pdu.destination_addr, udh });
      if (log) fs.appendFileSync(log, pdu.destination_addr + '\n');
      setTimeout(() => session.closed || session.deliver_sm({
        source_addr: pdu.destination_addr, destination_addr: pdu.source_addr, esm_class: 4,
        short_message: `id:${id} sub:001 dlvrd:001 submit date:2611281200 done date:2611281200 stat:DELIVRD err:000 text:x`,
      }), 10);
    });
    session.on('deliver_sm_resp', () => {});
  });
  server.listen(0, '127.0.0.1', () => {
    console.log(JSON.stringify({ listening: '127.0.0.1:' + server.address().port }));
  });
  process.on('SIGTERM', () => { console.log(JSON.stringify({ submits: seen })); process.exit(0); });
}

function app(port, count) {
  const s = smpp.connect({ url: `smpp://127.0.0.1:${port}` });
  const acked = [], receipts = [], mos = [], statuses = {};
  let answered = 0;
  const done = () => {
    console.log(JSON.stringify({ acked, receipts, mos, statuses }));
    s.unbind(() => process.exit(0));
    setTimeout(() => process.exit(0), 500);
  };
  s.bind_transceiver({ system_id: 'app1', password: 'secret1' }, (pdu) => {
    if (pdu.command_status) { console.log(JSON.stringify({ bind_status: pdu.command_status })); process.exit(1); }
    for (let i = 0; i < count; i++) {
      const long = i === 0;
      const text = long ? 'L'.repeat(200) : 'hello ' + i;
      s.submit_sm({ source_addr: '12025550100', destination_addr: '1310555' + String(1000 + i),
                    short_message: text, registered_delivery: 1 }, (r) => {
        answered++;
        statuses[r.command_status] = (statuses[r.command_status] || 0) + 1;
        if (!r.command_status) acked.push(r.message_id);
      });
    }
  });
  s.on('deliver_sm', (pdu) => {
    s.send(pdu.response());
    if (pdu.esm_class & 4) receipts.push(pdu.receipted_message_id || '');
    else mos.push(pdu.short_message.message);
    if (receipts.length >= count && mos.length >= 1) done();
  });
  setTimeout(done, 20000);
}

if (mode === 'carrier') carrier();
else app(+process.argv[4], +process.argv[5]);
