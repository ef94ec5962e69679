// The Adj-RIB-In life cycle and what the RIB keeps: enhanced route refresh inbound (RFC 7313),
// graceful-restart stale handling (RFC 4724), withdrawal on session close, add-path receive
// (RFC 7911), import policy and prefix filters, interning, `show rib --detail`. Updates out are
// updates.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrs, ctx, many, drain, makeRib, seq, summary, up, upd } from './helpers.js';
import type { PathAttributes, Prefix } from '../../bgp/codec/types.js';
import type { PolicyResult } from '../../bgp/rib/rib-types.js';

test('RFC 7313 §4 inbound: routes not re-sent between BoRR and EoRR are removed', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  rib.ingest(src, upd(attrs(), ['10.1.0.0/24', '10.2.0.0/24']));
  rib.flush(0);
  rib.beginRefresh(src, 'ipv4');
  assert.equal(rib.lookup('10.1.0.0/24')[0].stale, true);
  rib.ingest(src, upd(attrs(), ['10.1.0.0/24']));
  assert.equal(rib.endRefresh(src, 'ipv4'), 1);
  const ch = rib.flush(0);
  assert.deepEqual(
    ch.map((c) => [c.prefix, !!c.newBest]),
    [['10.2.0.0/24', false]],
  );
  assert.equal(rib.lookup('10.1.0.0/24')[0].stale, false);
});

test('RFC 4724 graceful restart helper: peerDown(keepStale) keeps routes until sweepStale', () => {
  const rib = makeRib();
  const src = up(rib, { id: 'gr', asn: 65009 });
  const dst = up(rib, { asn: 65001 });
  rib.ingest(src, upd(attrs(), ['10.1.0.0/24', '10.2.0.0/24']));
  rib.flush(0);
  drain(rib, dst);
  rib.peerDown(src, true);
  assert.deepEqual(rib.flush(0), [], 'forwarding state kept');
  assert.deepEqual(drain(rib, dst), []);
  rib.peerUp(src, ctx(), { routerId: '198.18.0.1' });
  rib.ingest(src, upd(attrs(), ['10.1.0.0/24']));
  assert.equal(rib.sweepStale(src, 'ipv4'), 1);
  rib.flush(0);
  assert.deepEqual(summary(drain(rib, dst)), { nlri: [], withdrawn: ['10.2.0.0/24'] });
});

test('RFC 4271 §8.2.2: when a session closes, its routes are withdrawn from everyone', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const dst = up(rib, { asn: 65001 });
  rib.ingest(src, upd(attrs(), ['10.1.0.0/24']));
  rib.flush(0);
  drain(rib, dst);
  rib.peerDown(src);
  assert.equal(rib.flush(0).length, 1);
  assert.deepEqual(summary(drain(rib, dst)).withdrawn, ['10.1.0.0/24']);
  assert.equal(rib.stats().paths.ipv4, 0);
});

test('RFC 7911 add-path receive: two paths of one prefix from one peer are kept apart', () => {
  const rib = makeRib({ maxPaths: 2 });
  rib.addPeer({ id: 'rr', address: '198.18.0.5', asn: 65000 });
  rib.peerUp('rr', ctx({ addPathRx: { ipv4: true, ipv6: false } }), { routerId: '198.18.0.5' });
  rib.ingest('rr', upd(attrs({ asPath: [], nextHop: '198.18.0.61' }), ['10.244.9.0/26#1']));
  rib.ingest('rr', upd(attrs({ asPath: [], nextHop: '198.18.0.62' }), ['10.244.9.0/26#2']));
  const ch = rib.flush(0);
  assert.equal(ch.length, 1);
  assert.deepEqual(
    ch[0].multipath.map((p) => [p.nextHop, p.pathId]),
    [
      ['198.18.0.61', 1],
      ['198.18.0.62', 2],
    ],
  );
  rib.ingest('rr', upd(null, [], ['10.244.9.0/26#1']));
  assert.deepEqual(
    rib.flush(0)[0].multipath.map((p) => p.pathId),
    [2],
  );
});

test('RFC 7313 §1: an import policy change is applied from the pre-policy Adj-RIB-In without the peer resending', () => {
  const rib = makeRib();
  let deny = true;
  const src = up(rib, { asn: 65009, importPolicy: (p: Prefix): PolicyResult => (deny && p.len === 24 ? 'reject' : 'accept') });
  rib.ingest(src, upd(attrs(), ['10.1.0.0/24', '10.2.0.0/16']));
  assert.deepEqual(
    rib.flush(0).map((c) => c.prefix),
    ['10.2.0.0/16'],
  );
  assert.equal(rib.adjRibIn(src, 'ipv4', 'pre').length, 2);
  assert.equal(rib.adjRibIn(src, 'ipv4', 'post').length, 1);
  assert.match(rib.lookup('10.1.0.0/24')[0].reason ?? '', /policy/);
  deny = false;
  rib.refreshImport(src);
  assert.deepEqual(
    rib.flush(0).map((c) => c.prefix),
    ['10.1.0.0/24'],
  );
});

test('RFC 4271 §9.1.3 withdrawals leave every RIB: once every route is gone, no prefix, path or attribute set is left', () => {
  const rib = makeRib({ clusterId: '198.18.255.100', maxPaths: 2 });
  const e = up(rib, { asn: 65009 });
  const c1 = up(rib, { asn: 65000, routeReflectorClient: true });
  const apCtx = ctx({ addPathTx: { ipv4: true, ipv6: true } });
  const c2 = up(rib, { asn: 65000, routeReflectorClient: true }, undefined, apCtx);
  const x = up(rib, { asn: 65001, exportPolicy: (_p: Prefix, a: PathAttributes): PolicyResult => ({ ...a, communities: [7] }) });
  rib.ingest(e, upd(attrs({ asPath: seq(65009, 1) }), many(50)));
  rib.ingest(c1, upd(attrs({ asPath: [], localPref: 100, nextHop: '198.18.0.77' }), many(20)));
  rib.ingest(e, upd(attrs({ nextHop: '2001:db8::9' }), ['2001:db8:1::/48']));
  rib.originate('10.244.0.0/26');
  rib.flush(0);
  for (const p of [e, c1, c2, x]) rib.takeOutput(p);
  assert.ok(rib.stats().attrSets > 4);
  rib.peerDown(e);
  rib.peerDown(c1);
  rib.withdrawOrigin('10.244.0.0/26');
  rib.flush(0);
  for (const p of [c2, x]) rib.takeOutput(p);
  const st = rib.stats();
  assert.deepEqual([st.prefixes, st.paths, st.attrSets], [{ ipv4: 0, ipv6: 0 }, { ipv4: 0, ipv6: 0 }, 0]);
});

test('show rib --detail: every path of a prefix with its flags and the step it lost at (RFC 4271 §9.1.2.2)', () => {
  const rib = makeRib({ maxPaths: 2 });
  const a = up(rib, { id: 'pa', asn: 65001, address: '198.18.0.41' });
  const b = up(rib, { id: 'pb', asn: 65002, address: '198.18.0.42' });
  const i = up(rib, { id: 'pi', asn: 65000, address: '198.18.0.43' });
  rib.ingest(a, upd(attrs({ asPath: seq(65001, 7), nextHop: '198.18.0.41' }), ['10.9.0.0/24']));
  rib.ingest(b, upd(attrs({ asPath: seq(65002, 8, 9), nextHop: '198.18.0.42' }), ['10.9.0.0/24']));
  rib.ingest(i, upd(attrs({ asPath: seq(65003, 7), nextHop: '198.18.0.43', localPref: 50 }), ['10.9.0.0/24']));
  rib.flush(0);
  const v = rib.lookup('10.9.0.0/24');
  assert.deepEqual(
    v.map((x) => [x.peer, x.best, x.multipath, x.ibgp, x.reason?.split(':')[0]]),
    [
      ['pa', true, true, false, undefined],
      ['pb', false, false, false, 'as-path-length'],
      ['pi', false, false, true, 'local-pref'],
    ],
  );
  assert.deepEqual(
    rib.adjRibIn(b).map((x) => [x.prefix, x.best]),
    [['10.9.0.0/24', false]],
  );
  assert.deepEqual(
    rib.dumpLocRib().map((x) => x.peer),
    ['pa'],
  );
});

test('interning (RFC 4271 §4.3 attributes, RFC 6793 §4 2-octet sessions): identical attributes share one set, kept lean and decoded back unchanged', () => {
  const a = attrs({ asPath: seq(65009, 4200000000), communities: [1, 2], med: 3, largeCommunities: [{ globalAdmin: 1, local1: 2, local2: 3 }] });
  // With change records, the sets keep their attributes (PathInfo.attrs) and share one PathInfo.
  const fib = makeRib();
  const fsrc = up(fib, { asn: 65009 });
  fib.ingest(fsrc, upd(a, ['10.1.0.0/24']));
  fib.ingest(fsrc, upd(a, ['10.2.0.0/24']));
  const ch = fib.flush(0);
  assert.equal(ch[0].newBest, ch[1].newBest, 'one PathInfo for both');
  // Without them (a pure reflector, the benchmark), inbound sets are lean.
  const rib = makeRib({ collectChanges: false });
  const src = up(rib, { asn: 65009 });
  const dst = up(rib, { asn: 65001 });
  rib.ingest(src, upd(a, ['10.1.0.0/24']));
  rib.ingest(src, upd(a, ['10.2.0.0/24']));
  rib.flush(0);
  assert.equal(rib.stats().attrSets, 2, 'one inbound set, one outbound set');
  const t = rib.core.tables.ipv4;
  const set = rib.core.attrs.get(t.pAttr[t.pfxBest[t.store.find(Buffer.from([10, 1, 0]), 0, 24)]]);
  assert.equal(set.lean, true, 'inbound set without import policy drops its objects');
  assert.deepEqual({ ...rib.core.attrs.attrsOf(set), localPref: undefined }, { ...a, localPref: undefined });
  // RFC 6793: the same bytes on a 2-octet session mean something else: another set.
  const old = up(rib, { asn: 65010 }, undefined, ctx({ as4: false }));
  rib.ingest(old, upd(attrs({ asPath: seq(65010, 7) }), ['10.3.0.0/24'], [], false));
  rib.flush(0);
  assert.deepEqual(rib.lookup('10.3.0.0/24')[0].attrs.asPath, seq(65010, 7));
  assert.deepEqual(summary(drain(rib, dst)).nlri, ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24']);
});

test('RFC 4271 §9.1.1/§9.2 prefix filters (Calico BGPFilter): importFilter and exportFilter keep or drop by prefix alone', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009, importFilter: (p: Prefix) => p.len <= 24 });
  const dst = up(rib, { asn: 65001, exportFilter: (p: Prefix) => p.addr[1] !== 2 });
  drain(rib, dst);
  rib.ingest(src, upd(attrs(), ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/25']));
  rib.flush(0);
  assert.match(rib.lookup('10.3.0.0/25')[0].reason ?? '', /policy/);
  assert.deepEqual(summary(drain(rib, dst)).nlri, ['10.1.0.0/24']);
  assert.equal(rib.stats().updateGroups, 2, 'a filter is part of the outbound profile');
});
