// The byte-level eBGP export (fast-export.ts) must say exactly what the general path says
// (export.ts through decode and encode): RFC 4271 §5.1.2-§5.1.5, §5 unknown attributes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAttributes, encodeAttributes } from '../../bgp/codec/attributes.js';
import { AttrStore, rawAttrKey } from '../../bgp/rib/attr-store.js';
import { exportAttrs, type ExportSource, type ExportTarget } from '../../bgp/rib/export.js';
import { fastEbgpAttrs } from '../../bgp/rib/fast-export.js';
import { AsPathSegmentType, DEFAULT_CONTEXT, type PathAttributes } from '../../bgp/codec/types.js';
import { attrs, drain, LOCAL_AS, makeRib, seq, summary, up, upd } from './helpers.js';
import { NO_EXPORT } from '../../bgp/codec/communities.js';

const ME = { localAs: 4200000001, routerId: '198.18.255.1', defaultLocalPref: 100 };
const SRC: ExportSource = { local: false, ebgp: true, rrClient: false, routerId: '198.18.0.9' };
const DST: ExportTarget = { ebgp: true, rrClient: false, nextHopMode: 'Auto', localAddress: '198.18.255.1' };

function rng(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

function randomAttrs(r: (n: number) => number): PathAttributes {
  const a: PathAttributes = { origin: r(3), nextHop: '198.18.0.9' };
  const segs = r(4);
  if (segs > 0) {
    a.asPath = [];
    for (let i = 0; i < segs; i++) {
      const type = i === 0 && r(4) === 0 ? AsPathSegmentType.AS_SET : AsPathSegmentType.AS_SEQUENCE;
      const len = r(5) === 0 ? 255 : 1 + r(6);
      a.asPath.push({ type, asns: Array.from({ length: len }, () => 1 + r(4294967294)) });
    }
  }
  if (r(2)) a.med = r(1000);
  if (r(2)) a.localPref = r(500);
  if (r(3) === 0) a.atomicAggregate = true;
  if (r(3) === 0) a.aggregator = { asn: 65001, address: '198.18.0.77' };
  if (r(2)) a.communities = Array.from({ length: 1 + r(4) }, () => (65001 * 65536 + r(65536)) >>> 0);
  if (r(3) === 0) a.originatorId = '198.18.0.5';
  if (r(3) === 0) a.clusterList = ['198.18.0.6', '198.18.0.7'];
  if (r(3) === 0) a.extendedCommunities = [Buffer.from([0, 2, 0xfd, 0xe8, 0, 0, 0, 1])];
  if (r(3) === 0) a.largeCommunities = [{ globalAdmin: 65001, local1: 1, local2: r(100) }];
  if (r(3) === 0)
    a.unknown = [
      { flags: 0xc0, type: 99, value: Buffer.from([1, 2, 3]) },
      { flags: 0x80, type: 100, value: Buffer.from([4]) },
    ];
  return a;
}

test('fast eBGP export equals the general path on 500 random attribute sets, flags as RFC 4271 §4.3 says (RFC 4271 §5.1, §5)', () => {
  const r = rng(11);
  const store = new AttrStore();
  let fastCount = 0;
  for (let i = 0; i < 500; i++) {
    const a = randomAttrs(r);
    const wire = encodeAttributes(a, DEFAULT_CONTEXT);
    const received = decodeAttributes(wire, 0, wire.length, DEFAULT_CONTEXT, true).attrs;
    received.localPref = undefined; // RFC 4271 §5.1.5: ignored from an eBGP peer, as import does
    const set = store.intern(received, received.nextHop);
    const e = exportAttrs(SRC, DST, set, received, 'ipv4', ME);
    e.attrs.nextHop = e.nextHop;
    const slowWire = encodeAttributes(e.attrs, DEFAULT_CONTEXT);
    const slow = decodeAttributes(slowWire, 0, slowWire.length, DEFAULT_CONTEXT, true);
    // As received: the unused low flag bits set at random (RFC 4271 §4.3), keyed the way
    // import.ts keys it (rawAttrKey over the whole UPDATE), which clears them.
    const msg = Buffer.alloc(23 + wire.length);
    msg.fill(0xff, 0, 16);
    msg.writeUInt16BE(msg.length, 16);
    msg[18] = 2;
    msg.writeUInt16BE(wire.length, 21);
    wire.copy(msg, 23);
    eachAttrFlags(msg, (at) => (msg[at] |= r(16)));
    const keyed = store.intern(received, received.nextHop, rawAttrKey('E4', msg, undefined));
    const key = store.keyOf(keyed);
    const fast = fastEbgpAttrs(key, 2, keyed.rawLen, ME.localAs, 0xc612ff01);
    if (!fast) continue;
    fastCount++;
    for (let p = 0; p < fast.length; p += fast[p] & 0x10 ? 4 + fast.readUInt16BE(p + 2) : 3 + fast[p + 2]) {
      assert.equal(fast[p] & 0x0f, 0, `set ${i}: attribute ${fast[p + 1]} flags 0x${fast[p].toString(16)}`);
    }
    const f = decodeAttributes(fast, 0, fast.length, DEFAULT_CONTEXT, true);
    assert.deepEqual(f.errors, undefined);
    const clean = (x: PathAttributes) => JSON.parse(JSON.stringify(x, (_k, v) => (v && v.type === 'Buffer' ? v.data : v)));
    assert.deepEqual(clean(f.attrs), clean(slow.attrs), `set ${i}`);
  }
  assert.ok(fastCount > 400, `the fast path applied to ${fastCount} of 500`);
});

test('fast eBGP export leaves RFC 1997 well-known communities to the general path', () => {
  const a: PathAttributes = { origin: 0, asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [65001] }], nextHop: '198.18.0.9', communities: [NO_EXPORT] };
  const wire = encodeAttributes(a, DEFAULT_CONTEXT);
  assert.equal(fastEbgpAttrs('E4' + wire.toString('latin1'), 2, wire.length, 65000, 1), null);
});

test('fast eBGP export: an empty AS_PATH becomes our AS alone; IPv6 drops NEXT_HOP (RFC 4760: it is in MP_REACH)', () => {
  const a: PathAttributes = { origin: 0, asPath: [], nextHop: '198.18.0.9' };
  const wire = encodeAttributes(a, DEFAULT_CONTEXT);
  const v4 = fastEbgpAttrs('E4' + wire.toString('latin1'), 2, wire.length, 65000, 0x01020304) as Buffer;
  const d = decodeAttributes(v4, 0, v4.length, DEFAULT_CONTEXT, true).attrs;
  assert.deepEqual(d.asPath, [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [65000] }]);
  assert.equal(d.nextHop, '1.2.3.4');
  const v6 = fastEbgpAttrs('E4' + wire.toString('latin1'), 2, wire.length, 65000, null) as Buffer;
  assert.equal(decodeAttributes(v6, 0, v6.length, DEFAULT_CONTEXT, false).attrs.nextHop, undefined);
});

/** Walks the path attributes of a whole UPDATE, calling visit(offset of the flags octet). */
function eachAttrFlags(msg: Buffer, visit: (at: number) => void): void {
  const wd = msg.readUInt16BE(19);
  let p = 21 + wd + 2;
  const end = p + msg.readUInt16BE(21 + wd);
  while (p < end) {
    visit(p);
    const ext = (msg[p] & 0x10) !== 0;
    p += ext ? 4 + msg.readUInt16BE(p + 2) : 3 + msg[p + 2];
  }
}

test('RFC 4271 §4.3: Attribute Flags low four bits received set are sent as zero, on the fast and the general export path', () => {
  // Issue 15: the byte-level export copied received attributes with their flags as received.
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const ebgp = up(rib, { asn: 65001 }); // 4-octet eBGP with next-hop-self: fast-export.ts
  const ibgp = up(rib, { asn: LOCAL_AS }); // iBGP: export.ts through decode and encode
  for (const p of [src, ebgp, ibgp]) rib.takeOutput(p);
  const a = attrs({
    asPath: seq(65009),
    med: 5,
    communities: [(65009 * 65536 + 7) >>> 0],
    largeCommunities: [{ globalAdmin: 65009, local1: 1, local2: 2 }],
    unknown: [{ flags: 0xc0, type: 99, value: Buffer.from([1, 2, 3]) }],
  });
  const clean = upd(a, ['10.7.0.0/16']);
  const dirty = upd(a, ['10.8.0.0/16']);
  eachAttrFlags(dirty.nlri.buf, (at) => (dirty.nlri.buf[at] |= 0x0f));
  rib.ingest(src, clean);
  rib.ingest(src, dirty);
  rib.flush(0);
  for (const [peer, path] of [
    [ebgp, 'fast'],
    [ibgp, 'general'],
  ] as const) {
    const out = drain(rib, peer);
    assert.ok(out.length > 0, `${path} path sent nothing`);
    let seen = 0;
    for (const s of out) {
      eachAttrFlags(s.raw, (at) => {
        seen++;
        assert.equal(s.raw[at] & 0x0f, 0, `${path} path: attribute type ${s.raw[at + 1]} sent with flags 0x${s.raw[at].toString(16)}`);
      });
    }
    assert.ok(seen >= 4, `${path}: ${seen} attributes checked`);
    // One attribute set for both prefixes: the unused bits are not part of the attributes.
    assert.deepEqual(summary(out).nlri, ['10.7.0.0/16', '10.8.0.0/16']);
    assert.equal(out.length, 1, `${path}: both prefixes share one UPDATE (same attributes)`);
  }
});
