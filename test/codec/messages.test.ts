// Header, OPEN, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH: decode errors (RFC 4271 §6.1, §6.2,
// RFC 7313 §5, RFC 9072, RFC 9003) and round trips of generated messages with length checks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeMessage,
  encodeMessage,
  endOfRib,
  Framer,
  isEndOfRib,
  notificationName,
  capabilityName,
  attributeName,
  packUpdates,
  PrefixListImpl,
  emptyUpdate,
  encodeAttributes,
} from '../../bgp/codec/index.js';
import { formatPrefix, parsePrefix, prefixKey, prefixKeyOf } from '../../bgp/codec/prefix.js';
import { AFI_IPV4, AFI_IPV6, BgpError, type BgpMessage, type OpenMessage, type PathAttributes, type UpdateMessage } from '../../bgp/codec/types.js';
import { ctxOf, msgOf } from './helpers.js';

const CTX = ctxOf();
const throwsNotify = (fn: () => unknown, code: number, subcode: number, data?: string): void => {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BgpError, String(err));
    assert.deepEqual([err.code, err.subcode], [code, subcode], err.message);
    if (data !== undefined) assert.equal(err.data.toString('hex'), data);
    return true;
  });
};

test('header: marker not all ones -> 1/1 (RFC 4271 §6.1)', () => {
  const m = msgOf(4, []);
  m[3] = 0;
  throwsNotify(() => decodeMessage(m, CTX), 1, 1);
  throwsNotify(() => new Framer().push(m), 1, 1);
});

test('header: length 18, 4097, and a mismatch -> 1/2 with the length (RFC 4271 §6.1)', () => {
  const m = msgOf(4, []);
  m.writeUInt16BE(18, 16);
  throwsNotify(() => new Framer().push(m), 1, 2, '0012');
  const big = msgOf(2, Buffer.alloc(4097 - 19));
  throwsNotify(() => new Framer().push(big), 1, 2, '1001');
  throwsNotify(() => decodeMessage(big, CTX), 1, 2, '1001');
  const f = new Framer();
  f.extended = true; // RFC 8654: 65535 allowed once negotiated
  assert.equal(f.push(big).length, 1);
  throwsNotify(() => decodeMessage(msgOf(4, []).subarray(0, 18), CTX), 1, 2);
});

test('header: type 6 -> 1/3 with the type (RFC 4271 §6.1)', () => {
  throwsNotify(() => new Framer().push(msgOf(6, [])), 1, 3, '06');
  throwsNotify(() => decodeMessage(msgOf(0, []), CTX), 1, 3, '00');
});

test('KEEPALIVE of 20 bytes -> 1/2 (RFC 4271 §4.4)', () => throwsNotify(() => decodeMessage(msgOf(4, [0]), CTX), 1, 2, '0014'));
test('UPDATE shorter than 23 -> 1/2 (RFC 4271 §4.3)', () => throwsNotify(() => decodeMessage(msgOf(2, [0, 0]), CTX), 1, 2));
test('NOTIFICATION shorter than 21 -> 1/2 (RFC 4271 §4.5)', () => throwsNotify(() => decodeMessage(msgOf(3, [6]), CTX), 1, 2));
test('ROUTE-REFRESH of 24 bytes -> 7/1 with the whole message (RFC 7313 §5)', () => {
  const m = msgOf(5, [0, 1, 0, 1, 0]);
  throwsNotify(() => decodeMessage(m, CTX), 7, 1, m.toString('hex'));
});

test('Framer: cap on buffered bytes -> Cease/Out of Resources', () => {
  const f = new Framer({ maxBuffered: 100 });
  const m = msgOf(2, Buffer.alloc(200));
  throwsNotify(() => f.push(m.subarray(0, 50)), 6, 8);
});

const OPEN: OpenMessage = {
  type: 1,
  version: 4,
  myAs: 23456,
  holdTime: 90,
  bgpId: '198.18.0.1',
  capabilities: [
    { code: 1, afi: 1, safi: 1 },
    { code: 1, afi: 2, safi: 1 },
    { code: 2 },
    { code: 70 },
    { code: 6 },
    { code: 65, asn: 4200000001 },
    {
      code: 64,
      restarting: true,
      notification: true,
      restartTime: 4095,
      families: [
        { afi: 1, safi: 1, forwardingPreserved: true },
        { afi: 2, safi: 1, forwardingPreserved: false },
      ],
    },
    {
      code: 69,
      families: [
        { afi: 1, safi: 1, sendReceive: 3 },
        { afi: 2, safi: 1, sendReceive: 1 },
      ],
    },
    { code: 71, families: [{ afi: 1, safi: 1, forwardingPreserved: true, staleTime: 0xffffff }] },
    { code: 73, hostname: 'node-1', domain: 'cluster.local' },
    { code: 9, role: 3 },
    { code: 200, raw: Buffer.from([1, 2, 3]), unknown: true },
  ],
  otherParams: [],
};

test('OPEN round trip with every capability, unknown one preserved (RFC 4271 §4.2, RFC 5492 §5)', () => {
  const b = encodeMessage(OPEN, CTX);
  assert.equal(b.readUInt16BE(16), b.length);
  assert.equal(b.length, 29 + b[28]);
  assert.deepEqual(decodeMessage(b, CTX), OPEN);
});

test('OPEN over 255 bytes of parameters uses the RFC 9072 extended form and round trips', () => {
  const many: OpenMessage = {
    ...OPEN,
    capabilities: [...OPEN.capabilities, ...Array.from({ length: 40 }, (_, i) => ({ code: 1 as const, afi: 1, safi: 100 + i }))],
  };
  const b = encodeMessage(many, CTX);
  assert.equal(b[28], 255);
  assert.equal(b[29], 255);
  assert.equal(b.readUInt16BE(30), b.length - 32);
  assert.deepEqual(decodeMessage(b, CTX), many);
});

test('incident: OPEN with RFC 9072 extended parameters truncated -> 2/0, never a RangeError', () => {
  const many: OpenMessage = { ...OPEN, capabilities: Array.from({ length: 70 }, (_, i) => ({ code: 1 as const, afi: 1, safi: i })) };
  const b = encodeMessage(many, CTX);
  for (let cut = 29; cut < b.length; cut += 1) {
    const t = Buffer.from(b.subarray(0, cut));
    t.writeUInt16BE(cut, 16);
    assert.throws(
      () => decodeMessage(t, CTX),
      (err: unknown) => err instanceof BgpError && (err.code === 2 || err.code === 1),
      `cut ${cut}`,
    );
  }
  // Extended length claims more than present.
  const t = Buffer.from(b.subarray(0, 34));
  t.writeUInt16BE(34, 16);
  throwsNotify(() => decodeMessage(t, CTX), 2, 0);
});

test('OPEN errors: version 3 -> 2/1 data 0004; hold time 2 -> 2/6; parameter type 1 -> 2/4 (RFC 4271 §6.2)', () => {
  const b = encodeMessage({ ...OPEN, capabilities: [] }, CTX);
  const v3 = Buffer.from(b);
  v3[19] = 3;
  throwsNotify(() => decodeMessage(v3, CTX), 2, 1, '0004');
  const h2 = Buffer.from(b);
  h2.writeUInt16BE(2, 22);
  throwsNotify(() => decodeMessage(h2, CTX), 2, 6);
  const auth = msgOf(1, [4, 0xfd, 0xe9, 0, 90, 198, 18, 0, 1, 3, 1, 1, 0]);
  throwsNotify(() => decodeMessage(auth, CTX), 2, 4);
  throwsNotify(() => decodeMessage(msgOf(1, [4, 0, 1, 0, 90, 1, 1, 1, 1]), CTX), 1, 2);
});

test('OPEN structure errors -> 2/0: opt len mismatch, capability overrun, AS4 capability of 2 bytes (RFC 5492, RFC 6793 §3)', () => {
  throwsNotify(() => decodeMessage(msgOf(1, [4, 0, 1, 0, 90, 1, 1, 1, 1, 4, 2, 2, 65, 0]), CTX), 2, 0);
  throwsNotify(() => decodeMessage(msgOf(1, [4, 0, 1, 0, 90, 1, 1, 1, 1, 4, 2, 2, 65, 4]), CTX), 2, 0);
  throwsNotify(() => decodeMessage(msgOf(1, [4, 0, 1, 0, 90, 1, 1, 1, 1, 6, 2, 4, 65, 2, 0, 1]), CTX), 2, 0);
  throwsNotify(() => decodeMessage(msgOf(1, [4, 0, 1, 0, 90, 1, 1, 1, 1, 8, 2, 6, 69, 4, 0, 1, 1, 9]), CTX), 2, 0);
});

test('NOTIFICATION with RFC 9003 shutdown communication round trips; bad length or UTF-8 is only not decoded', () => {
  const n: BgpMessage = { type: 3, code: 6, subcode: 2, data: Buffer.alloc(0), shutdownMessage: 'draining node-1 — back soon' };
  const b = encodeMessage(n, CTX);
  const d = decodeMessage(b, CTX);
  assert.equal(d.type === 3 && d.shutdownMessage, 'draining node-1 — back soon');
  assert.equal(d.type === 3 && d.data[0], Buffer.byteLength('draining node-1 — back soon'));
  const long = encodeMessage({ type: 3, code: 6, subcode: 4, data: Buffer.alloc(0), shutdownMessage: 'é'.repeat(200) }, CTX);
  assert.equal(long[21], 254); // cut at a character boundary, at most 255 bytes
  const badLen = msgOf(3, [6, 2, 10, 0x41]);
  assert.equal((decodeMessage(badLen, CTX) as { shutdownMessage?: string }).shutdownMessage, undefined);
  const badUtf8 = msgOf(3, [6, 2, 2, 0xc3, 0x28]);
  assert.equal((decodeMessage(badUtf8, CTX) as { shutdownMessage?: string }).shutdownMessage, undefined);
});

test('names for codes (IANA registries, RFC 4486, 8538, 9687)', () => {
  assert.equal(notificationName(6, 2), 'Cease / Administrative Shutdown');
  assert.equal(notificationName(6, 9), 'Cease / Hard Reset');
  assert.equal(notificationName(5, 2), 'Finite State Machine Error / Receive Unexpected Message in OpenConfirm State');
  assert.equal(notificationName(8, 0), 'Send Hold Timer Expired');
  assert.equal(notificationName(3, 0), 'UPDATE Message Error / Unspecific');
  assert.equal(capabilityName(69), 'ADD-PATH');
  assert.equal(attributeName(23), 'TUNNEL_ENCAPSULATION');
});

const ATTRS: PathAttributes = {
  origin: 0,
  asPath: [
    { type: 2, asns: [65001, 4200000000] },
    { type: 1, asns: [1, 2] },
  ],
  nextHop: '198.18.0.1',
  med: 5,
  localPref: 100,
  communities: [0xfde80001],
  largeCommunities: [{ globalAdmin: 4200000000, local1: 1, local2: 2 }],
};

const v4 = (n: number, len = 24): string => `10.${(n >> 8) & 255}.${n & 255}.0/${len}`;

test('packUpdates IPv4: fills each UPDATE up to 4096 bytes, every prefix exactly once (RFC 4271 §4.3)', () => {
  const prefixes = Array.from({ length: 3000 }, (_, i) => parsePrefix(v4(i)));
  const out = packUpdates({ attrs: ATTRS, family: 'ipv4', reach: prefixes, withdraw: prefixes.slice(0, 1500) }, CTX);
  const seenReach: string[] = [];
  const seenWd: string[] = [];
  for (const m of out) {
    assert.ok(m.length <= 4096);
    assert.equal(m.readUInt16BE(16), m.length);
    const u = decodeMessage(m, CTX) as UpdateMessage;
    assert.equal(u.errors, undefined);
    for (const p of u.nlri) seenReach.push(formatPrefix(p));
    for (const p of u.withdrawn) seenWd.push(formatPrefix(p));
    if (u.nlri.length) assert.deepEqual(u.attrs.asPath, ATTRS.asPath);
  }
  assert.deepEqual(seenReach, prefixes.map(formatPrefix));
  assert.deepEqual(seenWd, prefixes.slice(0, 1500).map(formatPrefix));
  // Room check: the first reach UPDATE cannot take one more /24.
  const firstReach = out.find((m) => (decodeMessage(m, CTX) as UpdateMessage).nlri.length > 0)!;
  assert.ok(firstReach.length + 4 > 4096);
});

test('packUpdates IPv6 with add-path and extended message: MP_REACH/MP_UNREACH, path ids (RFC 4760, RFC 7911, RFC 8654)', () => {
  const ctx = ctxOf({ addPath: ['ipv6'], extended: true });
  const prefixes = Array.from({ length: 9000 }, (_, i) => parsePrefix(`2001:db8:${i.toString(16)}::/48`, i + 1));
  const attrs = encodeAttributes({ origin: 0, asPath: [] }, ctx);
  const out = packUpdates(
    { attrs, family: 'ipv6', nextHop: { global: '2001:db8::1', linkLocal: 'fe80::1' }, reach: prefixes, withdraw: prefixes.slice(0, 10) },
    ctx,
  );
  const got: string[] = [];
  for (const m of out) {
    assert.ok(m.length <= 65535);
    const u = decodeMessage(m, ctx) as UpdateMessage;
    assert.equal(u.errors, undefined);
    if (u.mpReach) {
      assert.deepEqual(u.mpReach.nextHop, { global: '2001:db8::1', linkLocal: 'fe80::1' });
      for (let i = 0; i < u.mpReach.nlri.length; i++) got.push(`${formatPrefix(u.mpReach.nlri.get(i))}#${u.mpReach.nlri.pathId(i)}`);
    }
  }
  assert.equal(out.length, 1 + Math.ceil(9000 / Math.floor((65535 - 23 - 4 - 3 - 1 - 32 - 1 - attrs.length) / 11)));
  assert.deepEqual(
    got,
    prefixes.map((p) => `${formatPrefix(p)}#${p.pathId}`),
  );
});

test('End-of-RIB for both families is recognised, and nothing else is (RFC 4724 §2)', () => {
  assert.equal(isEndOfRib(decodeMessage(endOfRib('ipv4'), CTX) as UpdateMessage), 'ipv4');
  assert.equal(isEndOfRib(decodeMessage(endOfRib('ipv6'), CTX) as UpdateMessage), 'ipv6');
  assert.equal(endOfRib('ipv4').length, 23);
  assert.equal(endOfRib('ipv6').toString('hex').slice(38), '0000000680' + '0f03000201');
  const withdraw = { ...emptyUpdate(), withdrawn: PrefixListImpl.from(AFI_IPV4, ['10.0.0.0/8']) };
  assert.equal(isEndOfRib(withdraw), null);
  assert.equal(isEndOfRib({ ...emptyUpdate(), attrs: { origin: 0 } }), null);
  assert.deepEqual(encodeMessage(decodeMessage(endOfRib('ipv6'), CTX), CTX), endOfRib('ipv6'));
});

test('UPDATE round trip on a 2-octet session: AS_TRANS and AS4_PATH/AS4_AGGREGATOR (RFC 6793 §4.2.2, §4.2.3)', () => {
  const ctx = ctxOf({ as4: false });
  const u: UpdateMessage = {
    ...emptyUpdate(),
    attrs: { ...ATTRS, aggregator: { asn: 4200000009, address: '198.18.0.9' } },
    nlri: PrefixListImpl.from(AFI_IPV4, ['10.1.0.0/16']),
  };
  const b = encodeMessage(u, ctx);
  assert.ok(b.includes(Buffer.from([0x5b, 0xa0])), 'AS_TRANS present');
  const d = decodeMessage(b, ctx) as UpdateMessage;
  assert.deepEqual(d.attrs.asPath, ATTRS.asPath);
  assert.deepEqual(d.attrs.aggregator, { asn: 4200000009, address: '198.18.0.9' });
});

test('prefix helpers: parse, format, host bits, keys (RFC 4632, RFC 5952)', () => {
  assert.equal(formatPrefix(parsePrefix('2001:db8:0:0:1::/80')), '2001:db8:0:0:1::/80');
  assert.equal(formatPrefix(parsePrefix('2001:0db8::/32')), '2001:db8::/32');
  assert.equal(formatPrefix(parsePrefix('0.0.0.0/0')), '0.0.0.0/0');
  assert.equal(formatPrefix(parsePrefix('::/0')), '::/0');
  assert.equal(formatPrefix(parsePrefix('198.18.0.1')), '198.18.0.1/32');
  assert.throws(() => parsePrefix('10.0.0.1/24'), /host bits/);
  assert.throws(() => parsePrefix('10.0.0.0/33'));
  assert.throws(() => parsePrefix('10.0.0/24'));
  assert.throws(() => parsePrefix('2001:db8::1::/64'));
  const l = PrefixListImpl.from(AFI_IPV6, ['2001:db8::/32', '2001:db8:1::/48']);
  assert.equal(prefixKey(AFI_IPV6, l.len(1), l.buf, l.offset(1)), prefixKeyOf(parsePrefix('2001:db8:1::/48')));
  // NLRI with trailing bits set (RFC 4271 §4.3: irrelevant) gives the masked prefix and key.
  const u = decodeMessage(msgOf(2, [0, 0, 0, 0, 23, 10, 0, 1]), CTX) as UpdateMessage;
  assert.equal(formatPrefix(u.nlri.get(0)), '10.0.0.0/23');
  assert.equal(prefixKey(AFI_IPV4, u.nlri.len(0), u.nlri.buf, u.nlri.offset(0)), prefixKeyOf(parsePrefix('10.0.0.0/23')));
  assert.equal(u.treatAsWithdraw, true); // and no attributes: RFC 7606 §3.d
});

test('an OPEN over 4096 bytes is 1/2 even with extended messages (RFC 8654 §4)', () => {
  const caps = Array.from({ length: 1000 }, (_, i) => ({ code: 200, raw: Buffer.from([i & 255, 1, 2]), unknown: true as const }));
  assert.throws(() => encodeMessage({ ...OPEN, capabilities: caps }, CTX), RangeError);
  const body = Buffer.alloc(4200 - 19);
  body[0] = 4;
  throwsNotify(() => decodeMessage(msgOf(1, body), ctxOf({ extended: true })), 1, 2);
});

test('IPv6 text follows RFC 5952 §4 (longest zero run, first on ties, no single-group "::")', () => {
  const fmt = (t: string): string => formatPrefix(parsePrefix(`${t}/128`)).replace('/128', '');
  assert.equal(fmt('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1'); // first of two equal runs
  assert.equal(fmt('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1'); // one zero group stays
  assert.equal(fmt('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1'); // the longer run
  assert.equal(fmt('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(fmt('2001:db8:0:0:0:0:0:0'), '2001:db8::');
  assert.equal(fmt('0:0:0:0:0:ffff:c612:1'), '::ffff:c612:1');
  assert.equal(fmt('::ffff:198.18.0.1'), '::ffff:c612:1');
  assert.equal(fmt('2001:DB8::A'), '2001:db8::a');
});

test('MP_REACH next hops of consecutive UPDATEs are each decoded (next-hop cache, RFC 2545 §3)', () => {
  const nhs = [
    { global: '2001:db8::1', linkLocal: 'fe80::1' },
    { global: '2001:db8::2' },
    { global: '2001:db8::1', linkLocal: 'fe80::2' },
    { global: '2001:db8::1' },
  ];
  for (const round of [0, 1]) {
    for (const nh of nhs) {
      const [m] = packUpdates({ attrs: { origin: 0, asPath: [] }, family: 'ipv6', nextHop: nh, reach: [parsePrefix('2001:db8:9::/48')] }, CTX);
      const u = decodeMessage(m, CTX) as UpdateMessage;
      assert.deepEqual(u.mpReach?.nextHop, nh, `round ${round}`);
    }
  }
});

test('RFC 8654 §4: packUpdates refuses attributes that cannot fit one message, instead of sending an oversize UPDATE', () => {
  const long: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: Array.from({ length: 3000 }, (_, i) => 4200000000 + i) }], nextHop: '198.18.0.1' };
  const reach = [parsePrefix('10.0.0.0/24')];
  assert.throws(() => packUpdates({ attrs: long, family: 'ipv4', reach }, CTX), /do not fit a 4096-byte message \(RFC 8654 §4\)/);
  const ext = ctxOf({ extended: true });
  const out = packUpdates({ attrs: long, family: 'ipv4', reach }, ext);
  assert.equal(out.length, 1);
  assert.ok(out[0].length > 4096 && out[0].length <= 65535);
});
