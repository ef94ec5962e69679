// Long-lived graceful restart, receiving side (RFC 9494) in the RIB: bgp/rib/llgr.ts,
// the LLGR_STALE decision step (decision.ts) and the export rule (export.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrs, drain, makeRib, seq, summary, up, upd } from './helpers.js';
import { LLGR_STALE, NO_LLGR } from '../../bgp/codec/communities.js';
import { compare, select, Step } from '../../bgp/rib/decision.js';

test('RFC 9494 §4.2/§4.3: at the end of the restart time, stale routes get LLGR_STALE, NO_LLGR ones are removed; the kernel sees a replace', () => {
  const rib = makeRib();
  const tor = up(rib, { id: 'tor', asn: 65001 });
  rib.ingest(tor, upd(attrs(), ['10.1.0.0/24']));
  rib.ingest(tor, upd(attrs({ communities: [NO_LLGR] }), ['10.2.0.0/24']));
  rib.flush(0);
  rib.peerDown(tor, true);
  assert.deepEqual(rib.flush(0), []);
  assert.deepEqual(rib.markLongLivedStale(tor, 'ipv4'), { kept: 1, removed: 1 });
  const ch = rib.flush(0);
  const by = new Map(ch.map((c) => [c.prefix, c]));
  assert.equal(by.get('10.2.0.0/24')?.newBest, undefined, 'NO_LLGR route withdrawn');
  const kept = by.get('10.1.0.0/24');
  assert.ok(kept?.newBest, 'LLGR-stale route still best (the only path)');
  assert.equal(kept.newBest.nextHop, '198.18.0.1');
  const path = rib.lookup('10.1.0.0/24')[0];
  assert.equal(path.stale, true);
  assert.ok(path.attrs.communities?.includes(LLGR_STALE));
  // Marking again changes nothing.
  assert.deepEqual(rib.markLongLivedStale(tor, 'ipv4'), { kept: 1, removed: 0 });
  // The long-lived stale time ends: sweepStale removes it.
  assert.equal(rib.sweepStale(tor, 'ipv4'), 1);
});

test('RFC 9494 §4.3: an LLGR-stale path is least preferred, before LOCAL_PREF and AS_PATH', () => {
  const rib = makeRib();
  const a = up(rib, { id: 'torA', address: '198.18.0.2', asn: 65001 }, '198.18.0.2');
  const b = up(rib, { id: 'torB', address: '198.18.0.3', asn: 65002 }, '198.18.0.3');
  // torA's path is better on AS_PATH length; torB's is the fallback.
  rib.ingest(a, upd(attrs({ nextHop: '198.18.0.2' }), ['10.1.0.0/24']));
  rib.ingest(b, upd(attrs({ nextHop: '198.18.0.3', asPath: seq(65002, 65010) }), ['10.1.0.0/24']));
  rib.flush(0);
  assert.equal(rib.lookup('10.1.0.0/24').find((p) => p.best)?.peer, 'torA');
  rib.peerDown(a, true);
  rib.flush(0);
  assert.equal(rib.lookup('10.1.0.0/24').find((p) => p.best)?.peer, 'torA', 'plain GR stale keeps its rank (RFC 4724)');
  rib.markLongLivedStale(a, 'ipv4');
  const ch = rib.flush(0);
  assert.equal(ch[0]?.newBest?.nextHop, '198.18.0.3', 'the fresh path takes over');
  // Pairwise comparison names the step for bgpctl show rib --detail.
  const paths = rib.lookup('10.1.0.0/24');
  assert.equal(paths.length, 2);
  const stale = rib.core.attrs.intern({ ...attrs(), communities: [LLGR_STALE] }, '198.18.0.2');
  const fresh = rib.core.attrs.intern({ ...attrs(), localPref: 50 }, '198.18.0.3');
  const cand = (attr: typeof stale, routerId: number) => ({
    attr,
    local: false,
    ebgp: true,
    reachable: true,
    igpCost: 0,
    routerId,
    peerKey: String(routerId),
    pathId: 0,
    age: 0,
  });
  const o = { defaultLocalPref: 100, alwaysCompareMed: false, medMissingAsWorst: false, preferOldestEbgp: false, maxPaths: 1 };
  assert.deepEqual([compare(cand(stale, 1), cand(fresh, 2), o).winner, compare(cand(stale, 1), cand(fresh, 2), o).step], [1, Step.LLGR_STALE]);
  assert.equal(select([cand(stale, 1), cand(fresh, 2)], o).best, 1);
  // Only LLGR-stale paths: the usual steps decide among them.
  assert.equal(select([cand(stale, 1)], o).best, 0);
});

test('RFC 9494 §4.5: an LLGR-stale route is not advertised (Tern announces no LLGR capability): withdrawn from peers', () => {
  const rib = makeRib();
  const tor = up(rib, { id: 'tor2', asn: 65001 });
  const other = up(rib, { id: 'ext', asn: 65003 });
  rib.ingest(tor, upd(attrs(), ['10.1.0.0/24']));
  rib.flush(0);
  assert.deepEqual(summary(drain(rib, other)).nlri, ['10.1.0.0/24']);
  rib.peerDown(tor, true);
  rib.flush(0);
  assert.deepEqual(drain(rib, other), [], 'GR stale: still advertised');
  rib.markLongLivedStale(tor, 'ipv4');
  rib.flush(0);
  assert.deepEqual(summary(drain(rib, other)), { nlri: [], withdrawn: ['10.1.0.0/24'] });
  // A route received already carrying LLGR_STALE is not passed on either.
  rib.ingest(other, upd(attrs({ asPath: seq(65003), nextHop: '198.18.0.9', communities: [LLGR_STALE] }), ['10.9.0.0/24']));
  rib.flush(0);
  assert.deepEqual(summary(drain(rib, tor)).nlri, []);
});
