// The BFD Control packet codec (RFC 5880 §4.1): bytes written out by hand from the RFC's figure,
// decode and encode of the same pair, the §6.8.6 length/field checks, Keyed SHA1 (§6.7.4).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BfdState, decodeBfd, encodeBfd, verifySha1, type BfdPacket } from '../../../bgp/bfd/packet';

// Vers 1, Diag 3 | Sta Up, P | Mult 3 | Len 24 | My 0x01020304 | Your 5 | 300 ms | 100 ms | 0
const HEX = '23' + 'e0' + '03' + '18' + '01020304' + '00000005' + '000493e0' + '000186a0' + '00000000';
const PACKET: BfdPacket = {
  version: 1, diag: 3, state: BfdState.Up, poll: true, final: false, cpi: false, demand: false, multipoint: false,
  detectMult: 3, myDiscr: 0x01020304, yourDiscr: 5, desiredMinTx: 300_000, requiredMinRx: 100_000, requiredMinEchoRx: 0,
};

test('RFC 5880 §4.1: decode and encode the same bytes', () => {
  assert.deepEqual(decodeBfd(Buffer.from(HEX, 'hex')), PACKET);
  assert.equal(encodeBfd(PACKET).toString('hex'), HEX);
});

test('RFC 5880 §6.8.6: packets to discard are decode errors, never exceptions', () => {
  const bytes = Buffer.from(HEX, 'hex');
  const bad = (mut: (b: Buffer) => void, why: RegExp): void => {
    const b = Buffer.from(bytes);
    mut(b);
    const r = decodeBfd(b);
    assert.ok('error' in r && why.test(r.error), `${why}: ${JSON.stringify(r)}`);
  };
  bad((b) => { b[0] = (2 << 5) | 3; }, /version 2/);
  bad((b) => { b[3] = 23; }, /too small/);
  bad((b) => { b[3] = 40; }, /beyond/);
  bad((b) => { b[2] = 0; }, /Detect Mult/);
  bad((b) => { b[1] |= 1; }, /Multipoint/);
  bad((b) => b.writeUInt32BE(0, 4), /My Discriminator/);
  for (let n = 0; n < 24; n++) assert.ok('error' in decodeBfd(bytes.subarray(0, n)), `truncated to ${n}`);
});

test('RFC 5880 §6.7.4: Keyed SHA1 signs and verifies; a changed bit or key fails', () => {
  const key = Buffer.from('secret');
  const wire = encodeBfd({ ...PACKET, auth: { type: 4, keyId: 7, seq: 42, value: Buffer.alloc(0) } }, key);
  assert.equal(wire.length, 52);
  const d = decodeBfd(wire);
  assert.ok(!('error' in d) && d.auth?.type === 4 && d.auth.keyId === 7 && d.auth.seq === 42);
  assert.ok(verifySha1(wire, key));
  assert.ok(!verifySha1(wire, Buffer.from('Secret')));
  const tampered = Buffer.from(wire);
  tampered[2] = 4;
  assert.ok(!verifySha1(tampered, key));
});
