// The one address module (bgp/codec/address.ts, issue 12), checked against oracles that are not
// the module: node's net.isIPv4/isIPv6 for what is an address, the WHATWG URL serializer
// (RFC 5952 §4 compression, which node implements separately) and net.BlockList for which address
// a text names, Buffer's own integer writers for bytes, and the fixed examples of RFC 5952 §4.
import assert from 'node:assert/strict';
import { BlockList, isIPv4, isIPv6, SocketAddress } from 'node:net';
import { test } from 'node:test';
import {
  canonicalIp,
  contains,
  formatCidr,
  formatIp,
  formatIpv6,
  ipFamily,
  ipv4Number,
  isIpv4Mapped,
  maskInPlace,
  parseCidr,
  parseIp,
  parseIpv4,
  parseIpv6,
} from '../../bgp/codec/address.js';
import { prng } from '../../bench/prng.js';

/** node's own canonical text of an IPv6 address (URL host serializer: RFC 5952 §4.2 rules). */
const urlCanonical = (s: string): string => new URL(`http://[${s}]/`).hostname.slice(1, -1);

/** Whether two texts name the same address, by node's BlockList (its own parser). */
function sameAddress(a: string, b: string, family: 'ipv4' | 'ipv6'): boolean {
  const l = new BlockList();
  l.addAddress(a, family);
  return l.check(b, family);
}

/** Random IPv6 bytes with runs of zero groups, so every compression case comes up. */
function randomV6(r: () => number): Buffer {
  const b = Buffer.alloc(16);
  for (let g = 0; g < 8; g++) {
    const kind = r();
    const v = kind < 0.45 ? 0 : kind < 0.6 ? Math.floor(r() * 16) : Math.floor(r() * 65536);
    b.writeUInt16BE(v, 2 * g);
  }
  return b;
}

/** Text in the many ways RFC 4291 §2.2 allows for the same bytes: full, zero-padded, upper case, "::" anywhere legal, dotted tail. */
function spellings(b: Buffer, r: () => number): string[] {
  const g = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(2 * i));
  const hex = (x: number): string => (r() < 0.3 ? x.toString(16).padStart(4, '0') : x.toString(16));
  const out = [g.map(hex).join(':'), g.map((x) => x.toString(16).toUpperCase()).join(':')];
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j > i) out.push(`${g.slice(0, i).map(hex).join(':')}::${g.slice(j).map(hex).join(':')}`);
  }
  out.push(`${g.slice(0, 6).map(hex).join(':')}:${b[12]}.${b[13]}.${b[14]}.${b[15]}`);
  return out;
}

test('RFC 5952 §4: the fixed examples of the RFC format as it says', () => {
  const cases: [string, string][] = [
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'], // RFC 5952 §4.2.1: shorten as much as possible
    ['2001:0db8::0001', '2001:db8::1'], // RFC 5952 §4.1: no leading zeros
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // RFC 5952 §4.2.2: "::" never for one group
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // RFC 5952 §4.2.3: the longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // RFC 5952 §4.2.3: the first of equal runs
    ['2001:DB8::AAAA', '2001:db8::aaaa'], // RFC 5952 §4.3: lower case
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
  ];
  for (const [input, want] of cases) {
    assert.equal(canonicalIp(input), want, input);
    assert.equal(urlCanonical(input), want, `the oracle itself, ${input}`);
  }
});

test('RFC 5952 §4: random bytes format as node formats them, and parse back to the same bytes', () => {
  const r = prng(12);
  for (let n = 0; n < 5000; n++) {
    const b = randomV6(r);
    const text = formatIpv6(b);
    assert.equal(text, urlCanonical(text), `canonical form of ${b.toString('hex')}`);
    assert.ok(sameAddress(text, new SocketAddress({ address: text, family: 'ipv6' }).address, 'ipv6'));
    for (const s of spellings(b, r)) {
      assert.ok(isIPv6(s), `the generator made a bad spelling ${s}`);
      const back = parseIpv6(s);
      assert.ok(back, `${s} must parse`);
      assert.equal(back.toString('hex'), b.toString('hex'), s);
      assert.equal(formatIpv6(back), urlCanonical(s), s);
    }
  }
});

test('IPv4: every address node accepts parses to the bytes Buffer writes, and prints back the same', () => {
  const r = prng(4);
  for (let n = 0; n < 20000; n++) {
    const v = Math.floor(r() * 2 ** 32);
    const want = Buffer.alloc(4);
    want.writeUInt32BE(v, 0);
    const text = [...want].join('.');
    assert.ok(isIPv4(text));
    assert.equal(ipv4Number(text), v, text);
    assert.deepEqual(parseIpv4(text), want, text);
    assert.equal(formatIp(want), text);
  }
});

/** Mutations of good text: the borders where a parser goes wrong. */
function mutate(s: string, r: () => number): string {
  const alphabet = '0123456789abcdefABCDEFgG:.%/ x';
  const i = Math.floor(r() * (s.length + 1));
  const c = alphabet[Math.floor(r() * alphabet.length)];
  const k = r();
  if (k < 0.3) return s.slice(0, i) + c + s.slice(i);
  if (k < 0.55) return s.slice(0, i) + s.slice(i + 1);
  if (k < 0.8) return s.slice(0, i) + c + s.slice(i + 1);
  if (k < 0.9) return s.slice(0, i) + s.slice(i, i + 3) + s.slice(i);
  return `${s.slice(0, i)}0${s.slice(i)}`;
}

test('refusals: the module accepts exactly the text node accepts (IPv4, IPv6, zones), over mutated addresses', () => {
  const r = prng(77);
  let refused = 0;
  for (let n = 0; n < 30000; n++) {
    const quad = (): string => [0, 0, 0, 0].map(() => Math.floor(r() * 300)).join('.');
    const k = r();
    // Hex forms (the scan's), dotted quads, embedded quads (ip-address's), and zones.
    const seed =
      k < 0.4 ? formatIpv6(randomV6(r)) : k < 0.6 ? quad() : k < 0.85 ? `${r() < 0.5 ? '::ffff:' : '64:ff9b::'}${quad()}` : `fe80::${Math.floor(r() * 9)}%eth0`;
    let s = mutate(seed, r);
    if (r() < 0.3) s = mutate(s, r);
    const node6 = isIPv6(s);
    const node4 = isIPv4(s);
    const zoned = s.includes('%');
    assert.equal(parseIpv4(s) !== null, node4, `parseIpv4(${JSON.stringify(s)})`);
    assert.equal(parseIpv6(s, 'ignore') !== null, node6, `parseIpv6(${JSON.stringify(s)}, ignore)`);
    assert.equal(parseIpv6(s) !== null, node6 && !zoned, `parseIpv6(${JSON.stringify(s)})`);
    assert.equal(ipFamily(s), node4 ? 4 : node6 ? 6 : undefined, `ipFamily(${JSON.stringify(s)})`);
    if (node6) {
      const bare = zoned ? s.slice(0, s.indexOf('%')) : s;
      assert.equal(canonicalIp(s), urlCanonical(bare), s);
    }
    if (!node4 && !node6) refused++;
  }
  assert.ok(refused > 5000, `the mutations must produce bad text too (${refused})`);
});

test('refusals named in configs and CLI: leading zeros, too many groups, two "::", bad zone', () => {
  for (const s of ['01.2.3.4', '1.2.3.256', '1.2.3', '1.2.3.4.5', ' 1.2.3.4', '1.2.3.4 ', '', '.', '1..2.3']) {
    assert.equal(isIPv4(s), false, `oracle ${s}`);
    assert.equal(parseIp(s), null, s);
  }
  for (const s of ['1:2:3:4:5:6:7:8:9', '1::2::3', ':::', '12345::', '1:', ':1', '::ffff:01.2.3.4', '::1.2.3', 'fe80::1%', 'fe80::1%e_0', '[::1]', '::/0']) {
    assert.equal(isIPv6(s), false, `oracle ${s}`);
    assert.equal(parseIp(s, 'ignore'), null, s);
  }
});

test('IPv4-mapped IPv6 (RFC 4291 §2.5.5.2) stays IPv6: bytes ::ffff:a.b.c.d, printed in hex as before', () => {
  const b = parseIp('::ffff:198.18.0.1');
  assert.ok(b);
  assert.equal(b.length, 16);
  assert.ok(isIpv4Mapped(b));
  assert.equal(formatIp(b), urlCanonical('::ffff:198.18.0.1'));
  assert.equal(formatIp(b), '::ffff:c612:1');
  assert.ok(!isIpv4Mapped(parseIp('::198.18.0.1')!));
});

test('CIDRs (RFC 4632 §3.1): host bits cleared and reported, lengths 0..32 / 0..128, refusals named', () => {
  const r = prng(9);
  for (let n = 0; n < 3000; n++) {
    const v6 = r() < 0.5;
    const bytes = v6 ? randomV6(r) : Buffer.from([0, 0, 0, 0].map(() => Math.floor(r() * 256)));
    const max = v6 ? 128 : 32;
    const len = Math.floor(r() * (max + 1));
    const addrText = formatIp(bytes);
    const c = parseCidr(`${addrText}/${len}`);
    assert.ok(!('fault' in c), `${addrText}/${len}`);
    // Oracle: the network from a BigInt mask over Buffer's own big-endian reads.
    const big = bytes.reduce((a, x) => (a << 8n) | BigInt(x), 0n);
    const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(max - len);
    const net = big & mask;
    const netBytes = Buffer.from(net.toString(16).padStart(max / 4, '0'), 'hex');
    assert.equal(c.hostBits, net !== big);
    assert.equal(formatCidr(c), `${formatIp(netBytes)}/${len}`);
    if (c.family === 4) assert.equal(c.canonical, net === big);
    const copy = Buffer.from(bytes);
    assert.equal(maskInPlace(copy, len), net !== big);
    assert.deepEqual(copy, netBytes);
    assert.ok(contains(netBytes, len, bytes));
    assert.ok(sameAddress(formatIp(netBytes), formatIp(copy), v6 ? 'ipv6' : 'ipv4'));
  }
  assert.deepEqual(parseCidr('10.0.0.0/33'), { fault: 'length', max: 32 });
  assert.deepEqual(parseCidr('10.0.0.0/'), { fault: 'length', max: 32 });
  assert.deepEqual(parseCidr('fd00::/129'), { fault: 'length', max: 128 });
  assert.deepEqual(parseCidr('fd00::/1a'), { fault: 'length', max: 128 });
  assert.deepEqual(parseCidr('10.0.0/8'), { fault: 'address' });
  assert.deepEqual(parseCidr('fe80::1%eth0/64'), { fault: 'address' });
  assert.equal(formatCidr(parseCidr('fe80::1%eth0/64', 'ignore') as never), 'fe80::/64');
  assert.equal(formatCidr(parseCidr('10.1.2.3') as never), '10.1.2.3/32');
  // A leading zero in the length parses (as it always did) but is not the canonical text.
  const lz = parseCidr('10.1.0.0/016');
  assert.ok(!('fault' in lz) && lz.family === 4 && lz.len === 16 && !lz.canonical);
});
