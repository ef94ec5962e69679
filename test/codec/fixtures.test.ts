// Hex fixtures (test/fixtures/*.hex): real BIRD/FRR captures and hand-made messages.
// For every message: decode, re-encode, compare bytes; and the Framer at every split point.
// STYLE "Test vectors from other implementations"; RFC 4271 §4 (encoding), §6.1 (framing).
//
// Byte equality is expected where Tern's encoding is canonical. Known legitimate differences
// are normalised before comparing, and counted in the test output:
//  - Extended Length bit on attributes shorter than 256 bytes (RFC 4271 §4.3 allows either);
//  - path attribute order (RFC 4271 §5: any order; Tern writes MP attributes first, then by type);
//  - OPEN capabilities spread over several Capabilities parameters (RFC 5492 §4 allows either);
//  - files marked "# non-canonical: <why>" are compared on decoded content only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, Framer, messageToJson } from '../../bgp/codec/index.js';
import type { BgpMessage } from '../../bgp/codec/types.js';
import { type Fixture, loadFixtures } from './helpers.js';

const fixtures = loadFixtures();

/** Canonical view: attributes sorted by type with the Extended Length bit cleared; OPEN caps joined. */
export function normalise(msg: Buffer): Buffer {
  const type = msg[18];
  if (type === 2) {
    const wd = msg.readUInt16BE(19);
    const alPos = 21 + wd;
    const al = msg.readUInt16BE(alPos);
    const attrs: Buffer[] = [];
    for (let p = alPos + 2; p < alPos + 2 + al; ) {
      const ext = msg[p] & 0x10;
      const len = ext ? msg.readUInt16BE(p + 2) : msg[p + 2];
      const hdr = ext ? 4 : 3;
      attrs.push(Buffer.concat([Buffer.from([msg[p] & ~0x10, msg[p + 1]]), msg.subarray(p + hdr, p + hdr + len)]));
      p += hdr + len;
    }
    attrs.sort((a, b) => a[1] - b[1]);
    return Buffer.concat([msg.subarray(19, alPos), ...attrs, msg.subarray(alPos + 2 + al)]);
  }
  if (type === 1) {
    const caps: Buffer[] = [];
    let p = 29;
    const ext = msg.length > 29 && msg[29] === 255;
    if (ext) p += 3;
    while (p < msg.length) {
      const len = ext ? msg.readUInt16BE(p + 1) : msg[p + 1];
      const hdr = ext ? 3 : 2;
      caps.push(msg.subarray(p + hdr, p + hdr + len)); // parameter values: the capabilities
      p += hdr + len;
    }
    return Buffer.concat([msg.subarray(19, 28), ...caps]);
  }
  return msg.subarray(19);
}

/** Plain content; as4Path/as4Aggregator are the raw received attributes, display only (types.ts). */
const plain = (m: BgpMessage): unknown => {
  const j = JSON.parse(JSON.stringify(messageToJson(m))) as { attrs?: Record<string, unknown> };
  if (j.attrs) {
    delete j.attrs.as4Path;
    delete j.attrs.as4Aggregator;
  }
  return j;
};

test('fixtures exist (hand-made ones at least)', () => {
  assert.ok(fixtures.length >= 1, 'no test/fixtures/*.hex found');
  assert.ok(fixtures.some((f) => f.file.startsWith('handmade-')));
});

for (const fx of fixtures) {
  const nonCanonical = fx.comments.some((c) => /^#\s*non-canonical:/i.test(c));

  test(`fixture ${fx.file}: each message decodes and re-encodes (RFC 4271 §4)`, (t) => {
    let exact = 0;
    let normalised = 0;
    fx.messages.forEach((m, i) => {
      const where = `${fx.file} message ${i + 1}`;
      const d = decodeMessage(m, fx.ctx);
      const u = d as { errors?: unknown[]; treatAsWithdraw?: boolean };
      assert.equal(u.treatAsWithdraw, undefined, `${where}: unexpected treat-as-withdraw ${JSON.stringify(u.errors)}`);
      const again = encodeMessage(d, fx.ctx);
      // decode(encode(decode(x))) == decode(x) always.
      assert.deepEqual(plain(decodeMessage(again, fx.ctx)), plain(d), `${where}: content changed in a round trip`);
      if (again.equals(m)) exact++;
      else if (!nonCanonical) {
        assert.deepEqual(normalise(again).toString('hex'), normalise(m).toString('hex'), `${where}: bytes differ beyond ext-length/order`);
        normalised++;
      }
    });
    t.diagnostic(
      `${fx.messages.length} messages: ${exact} byte-exact, ${normalised} equal after normalising${nonCanonical ? ' (file marked non-canonical)' : ''}`,
    );
  });

  test(`fixture ${fx.file}: Framer yields the same messages at every split point (RFC 4271 §4.1)`, () => {
    const want = fx.messages.map((m) => m.toString('hex'));
    for (let cut = 0; cut <= fx.bytes.length; cut++) {
      const f = new Framer();
      f.extended = fx.ctx.extendedMessage;
      const got = [...f.push(fx.bytes.subarray(0, cut)), ...f.push(fx.bytes.subarray(cut))].map((m) => m.toString('hex'));
      assert.deepEqual(got, want, `split at ${cut}`);
      assert.equal(f.buffered, 0);
    }
    // Byte by byte, and two cuts.
    const f = new Framer();
    const got: string[] = [];
    for (let i = 0; i < fx.bytes.length; i++) got.push(...f.push(fx.bytes.subarray(i, i + 1)).map((m) => m.toString('hex')));
    assert.deepEqual(got, want, 'one byte per chunk');
    for (let a = 0; a < fx.bytes.length; a += 7) {
      const b = Math.min(fx.bytes.length, a + 1 + ((a * 13) % 50));
      const g = new Framer();
      const r = [...g.push(fx.bytes.subarray(0, a)), ...g.push(fx.bytes.subarray(a, b)), ...g.push(fx.bytes.subarray(b))];
      assert.deepEqual(
        r.map((m) => m.toString('hex')),
        want,
        `cuts at ${a} and ${b}`,
      );
    }
  });
}

export type { Fixture };
