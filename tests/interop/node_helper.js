// The node "smpp" package's side of the interop test (driven by node_smpp.py).
//
//   node node_helper.js decode NODE_MODULES             hex lines in, one JSON line out per PDU
//   node node_helper.js encode NODE_MODULES EXPECTED    "name hex" per sample node can build
//   node node_helper.js server NODE_MODULES             smpp.createServer on 127.0.0.1:0
//   node node_helper.js client NODE_MODULES EXPECTED PORT   a session sending every request
//
// Decoding reports node's wire-level view ("raw": the package's filters,
// which turn times into Dates and messages into text, switched off) and,
// in decode mode, what an application sees ("cooked").  Encoding goes
// through the package as an application would use it.
'use strict';
const path = require('path');
const fs = require('fs');
const readline = require('readline');

const [mode, mods, ...rest] = process.argv.slice(2);
const smpp = require(path.join(path.resolve(mods), 'smpp'));
const { PDU } = smpp;

// Node's name for destination_port (0x020B) is dest_port.
const NODE_TLV_NAME = { destination_port: 'dest_port' };

const origFromBuffer = PDU.prototype.fromBuffer;
function decodeRaw(buf) {
	const pdu = Object.create(PDU.prototype);
	pdu._filter = function () {};
	origFromBuffer.call(pdu, buf);
	delete pdu._filter;
	return pdu;
}
// Sessions decode raw as well, so that what they report is the wire.
PDU.prototype.fromBuffer = function (buf) {
	this._filter = function () {};
	origFromBuffer.call(this, buf);
	delete this._filter;
};

function plain(v) {
	if (Buffer.isBuffer(v)) return { hex: v.toString('hex') };
	if (v instanceof Date) return { date: v.toISOString() };
	if (Array.isArray(v)) return v.map(plain);
	if (v && typeof v === 'object') {
		const o = {};
		for (const k of Object.keys(v)) o[k] = plain(v[k]);
		return o;
	}
	return v;
}

function normalize(pdu) {
	const out = { command: pdu.command, tlvs: [] };
	const params = (smpp.commands[pdu.command] || {}).params || {};
	for (const k of Object.keys(pdu)) {
		if (k === 'command_length' || k === 'command' || k.startsWith('_')) continue;
		if (/^\d+$/.test(k)) {
			out.tlvs.push([Number(k), null, plain(pdu[k])]);
		} else if (smpp.tlvs[k] && !(k in params)) {
			out.tlvs.push([smpp.tlvs[k].id, k, plain(pdu[k])]);
		} else {
			out[k] = plain(pdu[k]);
		}
	}
	return out;
}

function octets(v) {
	if (typeof v === 'string') return Buffer.from(v, 'hex');
	let b = v.text !== undefined ? Buffer.from(v.text, 'latin1') : Buffer.from(v.hex, 'hex');
	if (v.zero_pad_to) b = Buffer.concat([b, Buffer.alloc(v.zero_pad_to - b.length)]);
	return b;
}

// A node PDU from an expected.json entry; `dropped` collects what node
// cannot express.
function build(e, dropped) {
	const opts = { sequence_number: e.sequence_number, command_status: e.command_status };
	for (const [k, v] of Object.entries(e.fields)) {
		if (k === 'number_of_dests' || k === 'no_unsuccess' || k === 'sm_length') continue;
		opts[k] = k === 'short_message' ? octets(v) : v;
	}
	for (const [tag, name, kind, value] of e.tlvs) {
		const n = NODE_TLV_NAME[name] || name;
		if (!n || !smpp.tlvs[n]) {
			dropped.push(`${e.name} TLV ${tag}`);
			continue;
		}
		opts[n] = kind === 'hex' ? octets(value) : value;
	}
	return new PDU(e.name, opts);
}

function out(obj) {
	process.stdout.write(JSON.stringify(obj) + '\n');
}

function watchdog(seconds) {
	setTimeout(() => {
		process.stderr.write(`node_helper ${mode}: timed out after ${seconds}s\n`);
		process.exit(3);
	}, seconds * 1000).unref();
}

async function main() {
	if (mode === 'decode') {
		for await (const line of readline.createInterface({ input: process.stdin })) {
			if (!line.trim()) continue;
			const buf = Buffer.from(line.trim().split(' ').pop(), 'hex');
			const raw = decodeRaw(buf);
			const cooked = decodeRaw(buf);
			cooked._filter('decode');
			out({ raw: normalize(raw), cooked: normalize(cooked) });
		}
	} else if (mode === 'encode') {
		const expected = JSON.parse(fs.readFileSync(rest[0], 'utf8')).pdus;
		const dropped = [];
		for (const e of expected)
			process.stdout.write(`${e.name} ${build(e, dropped).toBuffer().toString('hex')}\n`);
		if (dropped.length) process.stderr.write(`node cannot encode: ${dropped.join(', ')}\n`);
	} else if (mode === 'server') {
		watchdog(30);
		const server = smpp.createServer((session) => {
			session.on('error', (err) => { out({ error: String(err) }); process.exit(1); });
			session.on('pdu', (pdu) => {
				out({ recv: normalize(pdu) });
				if (pdu.isResponse() || pdu.command === 'outbind' ||
				    pdu.command === 'alert_notification')
					return;
				const opts = {};
				if (pdu.command.startsWith('bind_')) opts.system_id = 'nodesrv';
				if (['submit_sm', 'submit_multi', 'data_sm'].includes(pdu.command))
					opts.message_id = `node-${pdu.sequence_number}`;
				if (pdu.command === 'query_sm') {
					opts.message_id = pdu.message_id;
					opts.message_state = smpp.MESSAGE_STATE.DELIVERED;
				}
				session.send(pdu.response(opts));
			});
			session.on('close', () => { server.close(); });
		});
		server.listen(0, '127.0.0.1', () => out({ port: server.address().port }));
	} else if (mode === 'client') {
		watchdog(30);
		const expected = JSON.parse(fs.readFileSync(rest[0], 'utf8')).pdus;
		const requests = expected.filter((e) => !(parseInt(e.command_id, 16) & 0x80000000) &&
			smpp.commands[e.name + '_resp']);
		// unbind last, so that the peer answers everything first
		requests.sort((a, b) => (a.name === 'unbind') - (b.name === 'unbind'));
		const session = smpp.connect({ host: '127.0.0.1', port: Number(rest[1]) });
		session.on('error', (err) => { out({ error: String(err) }); process.exit(1); });
		session.on('connect', () => {
			let pending = requests.length;
			const dropped = [];
			for (const e of requests) {
				session.send(build(e, dropped), (resp) => {
					out({ resp: normalize(resp) });
					if (--pending === 0) session.close();
				});
			}
			if (dropped.length) out({ dropped });
		});
	} else {
		process.stderr.write('usage: node_helper.js decode|encode|server|client NODE_MODULES ...\n');
		process.exit(2);
	}
}

main().catch((e) => { process.stderr.write(String(e.stack || e) + '\n'); process.exit(1); });
