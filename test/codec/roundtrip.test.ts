// Round trips of generated UPDATEs (RFC 4271 §4.3, RFC 4760, RFC 6793, RFC 7911): random
// attribute sets and prefixes are encoded, the length fields checked against the bytes, decoded,
// and compared with what went in.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, emptyUpdate, encodeMessage, messageToJson, PrefixListImpl } from '../../bgp/codec/index.js';
import { AFI_IPV4, AFI_IPV6, type PathAttributes, type Prefix, type UpdateMessage } from '../../bgp/codec/types.js';
import { ctxOf } from './helpers.js';
import { prng as rng } from '../../bench/prng.js';

function gen(r: () => number, v6: boolean, as4: boolean, addPath: boolean): UpdateMessage {
  const int = (n: number): number => Math.floor(r() * n);
  const maybe = (p: number): boolean => r() < p;
  // 4-octet ASNs on both kinds of session: on a 2-octet one they travel as AS_TRANS + AS4_PATH.
  const asn = (): number => (maybe(0.3) ? 65536 + int(4e9) : 1 + int(65535));
  const ip = (): string => `${int(256)}.${int(256)}.${int(256)}.${int(256)}`;
  const prefix = (afi: 1 | 2): Prefix => {
    const len = int(afi === AFI_IPV4 ? 33 : 129);
    const addr = Buffer.alloc(afi === AFI_IPV4 ? 4 : 16);
    for (let i = 0; i < (len + 7) >> 3; i++) addr[i] = int(256);
    if (len & 7) addr[(len - 1) >> 3] &= 0xff << (8 - (len & 7));
    const p: Prefix = { afi, len, addr };
    if (addPath) p.pathId = int(2 ** 32);
    return p;
  };
  const a: PathAttributes = { origin: int(3), asPath: [] };
  // Confederation segments lead the path (RFC 5065 §3: prepended inside the confederation).
  // Their member ASNs must be 2-octet towards a 2-octet peer: AS4_PATH carries no confed
  // segments (RFC 6793 §4.2.2), so a 4-octet member AS cannot cross such a session.
  if (maybe(0.2)) a.asPath!.push({ type: [3, 4][int(2)], asns: Array.from({ length: 1 + int(5) }, () => 1 + int(65535)) });
  for (let s = 0, n = int(4); s < n; s++) a.asPath!.push({ type: [2, 2, 1][int(3)], asns: Array.from({ length: 1 + int(255) }, asn) });
  if (!v6) a.nextHop = ip();
  if (maybe(0.5)) a.med = int(2 ** 32);
  if (maybe(0.5)) a.localPref = int(2 ** 32);
  if (maybe(0.2)) a.atomicAggregate = true;
  if (maybe(0.3)) a.aggregator = { asn: asn(), address: ip() };
  if (maybe(0.5)) a.communities = Array.from({ length: 1 + int(80) }, () => int(2 ** 32));
  if (maybe(0.3)) a.originatorId = ip();
  if (maybe(0.3)) a.clusterList = Array.from({ length: 1 + int(5) }, ip);
  if (maybe(0.3)) a.extendedCommunities = Array.from({ length: 1 + int(5) }, () => Buffer.from(Array.from({ length: 8 }, () => int(256))));
  if (maybe(0.3)) a.largeCommunities = Array.from({ length: 1 + int(5) }, () => ({ globalAdmin: int(2 ** 32), local1: int(2 ** 32), local2: int(2 ** 32) }));
  if (maybe(0.2)) a.otc = int(2 ** 32);
  if (maybe(0.2)) a.unknown = [{ flags: 0xe0, type: [23, 26, 40, 99][int(4)], value: Buffer.from(Array.from({ length: int(300) }, () => int(256))) }];
  const u = emptyUpdate();
  u.attrs = a;
  if (v6) {
    u.mpReach = {
      afi: AFI_IPV6,
      safi: 1,
      nextHop: maybe(0.5) ? { global: '2001:db8::1', linkLocal: 'fe80::1' } : { global: '2001:db8::2' },
      nlri: PrefixListImpl.from(
        AFI_IPV6,
        Array.from({ length: int(20) }, () => prefix(AFI_IPV6)),
      ),
    };
    if (maybe(0.5))
      u.mpUnreach = {
        afi: AFI_IPV6,
        safi: 1,
        withdrawn: PrefixListImpl.from(
          AFI_IPV6,
          Array.from({ length: 1 + int(20) }, () => prefix(AFI_IPV6)),
        ),
      };
  } else {
    u.nlri = PrefixListImpl.from(
      AFI_IPV4,
      Array.from({ length: int(40) }, () => prefix(AFI_IPV4)),
    );
    u.withdrawn = PrefixListImpl.from(
      AFI_IPV4,
      Array.from({ length: int(40) }, () => prefix(AFI_IPV4)),
    );
  }
  return u;
}

/** The length fields of an encoded UPDATE must add up to the bytes (RFC 4271 §4.1, §4.3). */
function checkLengths(b: Buffer): void {
  assert.equal(b.readUInt16BE(16), b.length, 'header length');
  const wd = b.readUInt16BE(19);
  const al = b.readUInt16BE(21 + wd);
  assert.ok(23 + wd + al <= b.length, 'withdrawn + attributes fit');
  let p = 23 + wd;
  while (p < 23 + wd + al) {
    const ext = b[p] & 0x10;
    const len = ext ? b.readUInt16BE(p + 2) : b[p + 2];
    assert.ok(!ext || len > 255 || b[p + 1] === 14 || b[p + 1] === 15, `Extended Length only when needed (type ${b[p + 1]})`);
    p += (ext ? 4 : 3) + len;
  }
  assert.equal(p, 23 + wd + al, 'attribute lengths add up to Total Path Attribute Length');
}

for (const [name, v6, as4, addPath] of [
  ['IPv4, 4-octet AS', false, true, false],
  ['IPv4, 2-octet AS session (AS_TRANS + AS4_PATH)', false, false, false],
  ['IPv4 with add-path', false, true, true],
  ['IPv6 MP_REACH/MP_UNREACH', true, true, false],
  ['IPv6 with add-path, 2-octet AS session', true, false, true],
] as const) {
  test(`generated UPDATEs round trip: ${name} (RFC 4271 §4.3, RFC 4760, RFC 6793, RFC 7911)`, () => {
    const ctx = ctxOf({ as4, addPath: addPath ? ['ipv4', 'ipv6'] : [], extended: true });
    const r = rng(name.length * 7919);
    for (let i = 0; i < 300; i++) {
      const u = gen(r, v6, as4, addPath);
      const b = encodeMessage(u, ctx);
      checkLengths(b);
      const d = decodeMessage(b, ctx) as UpdateMessage;
      assert.equal(d.errors, undefined, JSON.stringify(d.errors));
      const got = messageToJson(d);
      const want = messageToJson(u);
      if (got.attrs && typeof got.attrs === 'object' && !Array.isArray(got.attrs)) {
        delete got.attrs.as4Path; // display-only copies of what was merged (2-octet sessions)
        delete got.attrs.as4Aggregator;
      }
      assert.deepEqual(got, want, `case ${i}`);
      assert.deepEqual(encodeMessage(d, ctx), b, `case ${i}: re-encoding is byte-identical`);
    }
  });
}
