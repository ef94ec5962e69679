// The pcap reader and TCP reassembly behind conformance/capture-fixtures.ts: if they mis-order
// or duplicate bytes, every captured fixture is wrong, so they are tested on synthetic captures.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readPcapTcp, reassemble, splitBgp, TCP_SYN } from '../../conformance/lab/pcap.js';
import { classify, sessionContext } from '../../conformance/lab/bgpsplit.js';

const KEEPALIVE = Buffer.from('ffffffffffffffffffffffffffffffff001304', 'hex');
const EOR4 = Buffer.from('ffffffffffffffffffffffffffffffff00170200000000', 'hex');

function pcapHeader(le = true): Buffer {
  const b = Buffer.alloc(24);
  if (le) {
    b.writeUInt32LE(0xa1b2c3d4, 0);
    b.writeUInt32LE(65535, 16);
    b.writeUInt32LE(1, 20);
  } else {
    b.writeUInt32BE(0xa1b2c3d4, 0);
    b.writeUInt32BE(65535, 16);
    b.writeUInt32BE(1, 20);
  }
  return b;
}

function tcp(sport: number, dport: number, seq: number, flags: number, payload: Buffer): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(sport, 0);
  t.writeUInt16BE(dport, 2);
  t.writeUInt32BE(seq >>> 0, 4);
  t[12] = 5 << 4;
  t[13] = flags;
  return Buffer.concat([t, payload]);
}

function ipv4Frame(src: number[], dst: number[], seg: Buffer, padTo = 0): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + seg.length, 2);
  ip[9] = 6;
  ip.set(src, 12);
  ip.set(dst, 16);
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x0800, 12);
  const f = Buffer.concat([eth, ip, seg]);
  // Ethernet pads short frames to 60 bytes: the IP total length must cut the padding off.
  return f.length < padTo ? Buffer.concat([f, Buffer.alloc(padTo - f.length, 0xee)]) : f;
}

function ipv6Frame(seg: Buffer): Buffer {
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(seg.length, 4);
  ip[6] = 6;
  ip.write('20010db8000000000000000000000001', 8, 'hex');
  ip.write('20010db8000000000000000000000002', 24, 'hex');
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x86dd, 12);
  return Buffer.concat([eth, ip, seg]);
}

function record(frame: Buffer, ts: number, le = true): Buffer {
  const h = Buffer.alloc(16);
  const w = (v: number, o: number): number => (le ? h.writeUInt32LE(v, o) : h.writeUInt32BE(v, o));
  w(ts, 0);
  w(0, 4);
  w(frame.length, 8);
  w(frame.length, 12);
  return Buffer.concat([h, frame]);
}

test('RFC 9293 §3.4: out-of-order, overlapping and retransmitted segments reassemble in sequence order', () => {
  const stream = Buffer.concat([KEEPALIVE, EOR4, KEEPALIVE]);
  const isn = 0xfffffff0; // sequence numbers wrap at 2^32 mid-stream
  const a = [198, 18, 0, 1];
  const b = [198, 18, 0, 2];
  const seg = (from: number, to: number): Buffer => ipv4Frame(a, b, tcp(179, 40000, isn + 1 + from, 0x18, stream.subarray(from, to)), 60);
  const frames = [
    ipv4Frame(a, b, tcp(179, 40000, isn, TCP_SYN, Buffer.alloc(0)), 60),
    seg(0, 10),
    seg(25, 61), // arrives early
    seg(0, 10), // retransmission
    seg(5, 30), // overlaps both neighbours
  ];
  const file = Buffer.concat([pcapHeader(), ...frames.map((f, i) => record(f, 1000 + i))]);
  const streams = reassemble(readPcapTcp(file)).filter((s) => s.data.length);
  assert.equal(streams.length, 1);
  assert.equal(streams[0].src, '198.18.0.1');
  assert.equal(streams[0].gap, false);
  assert.deepEqual(streams[0].data, stream);
  const { messages, rest } = splitBgp(streams[0].data);
  assert.deepEqual(messages.map(classify), ['keepalive', 'eor-ipv4', 'keepalive']);
  assert.equal(rest.length, 0);
});

test('pcap in big-endian byte order with IPv6 (RFC 8200) frames; a hole stops the stream', () => {
  const stream = Buffer.concat([KEEPALIVE, KEEPALIVE]);
  const frames = [
    ipv6Frame(tcp(40001, 179, 99, TCP_SYN, Buffer.alloc(0))),
    ipv6Frame(tcp(40001, 179, 100, 0x18, stream.subarray(0, 19))),
    ipv6Frame(tcp(40001, 179, 130, 0x18, stream.subarray(30))),
  ];
  const file = Buffer.concat([pcapHeader(false), ...frames.map((f, i) => record(f, 5 + i, false))]);
  const [s] = reassemble(readPcapTcp(file)).filter((x) => x.data.length);
  assert.equal(s.src, '2001:db8::1');
  assert.equal(s.dst, '2001:db8::2');
  assert.equal(s.gap, true);
  assert.deepEqual(s.data, KEEPALIVE);
});

test('RFC 4271 §4.1: a broken marker is reported, a partial last message is left over', () => {
  assert.throws(() => splitBgp(Buffer.from('00'.repeat(19), 'hex')), /marker/);
  const { messages, rest } = splitBgp(Buffer.concat([KEEPALIVE, EOR4.subarray(0, 20)]));
  assert.equal(messages.length, 1);
  assert.equal(rest.length, 20);
});

test('RFC 7911 §4 / RFC 6793: the fixture context is derived from both OPENs', () => {
  // OPEN: AS_TRANS, hold 3, id 198.18.0.1, one capability parameter with AS4 + ADD-PATH ipv4 send/receive.
  const open = (sendReceive: number): Buffer => {
    const caps = Buffer.from(`4104fa56ea01450400010103`.replace('0103', `01${sendReceive.toString(16).padStart(2, '0')}`), 'hex');
    const params = Buffer.concat([Buffer.from([2, caps.length]), caps]);
    const body = Buffer.concat([Buffer.from([4, 0x5b, 0xa0, 0, 3, 198, 18, 0, 1, params.length]), params]);
    const hdr = Buffer.alloc(19, 0xff);
    hdr.writeUInt16BE(19 + body.length, 16);
    hdr[18] = 1;
    return Buffer.concat([hdr, body]);
  };
  assert.equal(sessionContext([open(3)], [open(3)]), 'as4 addpath-rx=ipv4 addpath=ipv4 standard');
  // The sender only receives: its UPDATEs carry no path identifiers.
  assert.equal(sessionContext([open(1)], [open(3)]), 'as4 addpath-rx=none addpath=none standard');
});
