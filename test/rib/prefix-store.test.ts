// The compact prefix store behind every RIB view: wire-format keys, host bits, deletion.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrefixStore } from '../../bgp/rib/prefix-store.js';
import { formatPrefix, parsePrefix } from '../../bgp/codec/prefix.js';

test('RFC 4271 §4.3: bits after the prefix length are ignored, so 10.0.0.1/24 is 10.0.0.0/24', () => {
  const s = new PrefixStore('ipv4', 16);
  const a = s.intern(Buffer.from([10, 0, 0]), 0, 24);
  const b = s.intern(Buffer.from([10, 0, 0, 1]), 0, 24);
  const c = s.intern(Buffer.from([10, 0, 0x7f]), 0, 17);
  assert.equal(a, b);
  assert.equal(s.format(a), '10.0.0.0/24');
  assert.equal(s.format(c), '10.0.0.0/17');
  assert.equal(s.intern(Buffer.alloc(0), 0, 0), s.intern(Buffer.alloc(0), 0, 0));
  assert.equal(s.format(s.find(Buffer.alloc(0), 0, 0)), '0.0.0.0/0');
  const out = Buffer.alloc(8);
  assert.equal(s.writeNlri(c, out, 0), 4);
  assert.deepEqual([...out.subarray(0, 4)], [17, 10, 0, 0]);
});

test('IPv6 prefixes keep all 128 bits and print in RFC 5952 form', () => {
  const s = new PrefixStore('ipv6', 16);
  for (const t of ['2001:db8::/32', '2001:db8:0:1::/64', '::/0', 'fe80::1:0:0:0/128', '2001:db8:aa::/48']) {
    const p = parsePrefix(t);
    const i = s.fromPrefix(p, true);
    assert.equal(s.format(i), t);
    assert.deepEqual(s.toPrefix(i), { afi: 2, len: p.len, addr: p.addr });
  }
  assert.equal(s.size, 5);
});

test('prefix index (RFC 4271 §3.2 RIBs) against a Map model: backward-shift deletion never loses a prefix', () => {
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const s = new PrefixStore(fam, 16);
    const model = new Map<string, number>();
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let step = 0; step < 20000; step++) {
      const len = 8 + rnd(17);
      const bytes = Buffer.alloc(fam === 'ipv4' ? 4 : 16);
      bytes[0] = 10;
      bytes[1] = rnd(4);
      bytes[2] = rnd(256);
      const p = s.intern(bytes, 0, len);
      const key = s.format(p);
      if (model.has(key)) assert.equal(model.get(key), p);
      model.set(key, p);
      if (rnd(3) === 0) {
        const victim = [...model.keys()][rnd(model.size)];
        s.remove(model.get(victim) as number);
        model.delete(victim);
      }
    }
    assert.equal(s.size, model.size);
    for (const [k, p] of model) {
      const pr = parsePrefix(k);
      assert.equal(s.fromPrefix(pr, false), p, k);
    }
  }
});

test('IPv6 (RFC 4291 §2.3 prefixes): the last 64 bits are stored only once a prefix has one set, and every prefix before and after reads back', () => {
  const s = new PrefixStore('ipv6', 16);
  const shortOnes: string[] = [];
  // /64s and shorter, past two growth steps: no low words kept.
  for (let i = 0; i < 300; i++) shortOnes.push(`2001:db8:${i.toString(16)}::/${i % 2 ? 64 : 48}`);
  shortOnes.push('2001:db8:ffff::/96'); // longer than 64 bits, but its last 64 bits are zero
  const idx = shortOnes.map((t) => s.fromPrefix(parsePrefix(t), true));
  const low = (): number => (s as unknown as { low: Uint32Array }).low.length;
  assert.equal(low(), 0, 'no prefix has a bit set past the 64th');
  // Calico's IPv6 blocks are /122s: their last words are not zero.
  const blocks = ['fd00:10:244:0:1:2:3:40/122', 'fd00:10:244::1/128', '2001:db8:1::8000:0:0:0/65'];
  const bidx = blocks.map((t) => s.fromPrefix(parsePrefix(t), true));
  assert.ok(low() > 0);
  // More prefixes of both kinds after the array exists, through another growth step.
  for (let i = 0; i < 800; i++) {
    const t = i % 2 ? `fd00:1::${i.toString(16)}:0/112` : `2001:db9:${i.toString(16)}::/56`;
    blocks.push(t);
    bidx.push(s.fromPrefix(parsePrefix(t), true));
  }
  const all = [...shortOnes, ...blocks];
  const ids = [...idx, ...bidx];
  all.forEach((t, i) => {
    const p = parsePrefix(t);
    assert.equal(s.format(ids[i]), formatPrefix(p), 'RFC 5952 text');
    assert.equal(s.fromPrefix(p, false), ids[i], t);
    assert.deepEqual(s.toPrefix(ids[i]).addr, p.addr);
    const out = Buffer.alloc(17);
    const end = s.writeNlri(ids[i], out, 0);
    assert.deepEqual(out.subarray(0, end), Buffer.concat([Buffer.from([p.len]), p.addr.subarray(0, (p.len + 7) >> 3)]), 'RFC 4760 §5 NLRI bytes');
  });
  // A /128 and the /64 it starts with are two prefixes; removing one leaves the other.
  const host = s.fromPrefix(parsePrefix('2001:db8:7::/128'), true);
  const net = s.fromPrefix(parsePrefix('2001:db8:7::/64'), false);
  assert.notEqual(host, net);
  s.remove(host);
  assert.equal(s.fromPrefix(parsePrefix('2001:db8:7::/64'), false), net);
  assert.equal(s.fromPrefix(parsePrefix('2001:db8:7::/128'), false), -1);
});
