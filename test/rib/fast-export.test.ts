// The byte-level eBGP export (fast-export.ts) must say exactly what the general path says
// (export.ts through decode and encode): RFC 4271 §5.1.2-§5.1.5, §5 unknown attributes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAttributes, encodeAttributes } from '../../bgp/codec/attributes';
import { AttrStore } from '../../bgp/rib/attr-store';
import { exportAttrs, type ExportSource, type ExportTarget } from '../../bgp/rib/export';
import { fastEbgpAttrs } from '../../bgp/rib/fast-export';
import { AsPathSegmentType, DEFAULT_CONTEXT, type PathAttributes } from '../../bgp/types';

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

test('fast eBGP export equals the general path on 500 random attribute sets (RFC 4271 §5.1, §5)', () => {
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
    const key = 'E4' + wire.toString('latin1');
    const fast = fastEbgpAttrs(key, 2, wire.length, ME.localAs, 0xc612ff01);
    if (!fast) continue;
    fastCount++;
    const f = decodeAttributes(fast, 0, fast.length, DEFAULT_CONTEXT, true);
    assert.deepEqual(f.errors, undefined);
    const clean = (x: PathAttributes) => JSON.parse(JSON.stringify(x, (_k, v) => (v && v.type === 'Buffer' ? v.data : v)));
    assert.deepEqual(clean(f.attrs), clean(slow.attrs), `set ${i}`);
  }
  assert.ok(fastCount > 400, `the fast path applied to ${fastCount} of 500`);
});

test('fast eBGP export leaves RFC 1997 well-known communities to the general path', () => {
  const a: PathAttributes = { origin: 0, asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [65001] }], nextHop: '198.18.0.9', communities: [0xffffff01] };
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
