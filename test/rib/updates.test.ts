// Updates out and the Adj-RIB-In life cycle: update groups, packing, End-of-RIB, withdrawals,
// MRAI, route refresh (RFC 2918, RFC 7313), graceful-restart stale handling (RFC 4724),
// add-path (RFC 7911), policy refresh, incremental work, the pull model.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrs, ctx, decodeOut, drain, LOCAL_AS, makeRib, seq, summary, up, upd } from './helpers.js';
import { MsgType, type PathAttributes, type Prefix } from '../../bgp/codec/types.js';
import { decodeMessage } from '../../bgp/codec/message.js';
import { isEndOfRib } from '../../bgp/codec/update.js';
import type { PolicyResult } from '../../bgp/rib/rib-types.js';

const many = (n: number, base = 10): string[] => Array.from({ length: n }, (_, i) => `${base}.${(i >> 8) & 255}.${i & 255}.0/24`);

test('RFC 4271 §9.2 update groups: peers with one outbound profile share the very same encoded UPDATEs (FRR update-groups)', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const a = up(rib, { asn: 65001 });
  const b = up(rib, { asn: 65002 });
  const c = up(rib, { asn: 65003 }, undefined, ctx({ as4: false }));
  for (const p of [src, a, b, c]) rib.takeOutput(p);
  assert.equal(rib.stats().updateGroups, 2, 'src+a+b share one group; the 2-octet-AS session has its own');
  rib.ingest(src, upd(attrs({ asPath: seq(65009, 4200000000) }), ['10.1.0.0/16']));
  rib.flush(0);
  const outA = rib.takeOutput(a);
  const outB = rib.takeOutput(b);
  assert.equal(outA.length, 1);
  assert.equal(outA[0], outB[0], 'one Buffer, two peers');
  assert.deepEqual(rib.takeOutput(src), [], 'split horizon inside the shared stream');
  // RFC 6793 §4.2.2: the 2-octet session gets AS_TRANS and AS4_PATH, encoded separately.
  const [m] = decodeOut(rib.takeOutput(c), ctx({ as4: false }));
  assert.deepEqual(m.attrs.asPath, seq(65000, 65009, 4200000000));
});

test('packing: prefixes with one attribute set share UPDATEs up to 4096 bytes (RFC 4271 §4.3), or 65535 with RFC 8654', () => {
  for (const [c, maxLen] of [
    [ctx(), 4096],
    [ctx({ extendedMessage: true }), 65535],
  ] as const) {
    const rib = makeRib();
    const src = up(rib, { asn: 65009 });
    const dst = up(rib, { asn: 65001 }, undefined, c);
    drain(rib, dst);
    const pfx = many(3000);
    rib.ingest(src, upd(attrs({ asPath: seq(65009) }), pfx));
    rib.flush(0);
    const out = rib.takeOutput(dst);
    for (const b of out) assert.ok(b.length <= maxLen);
    const minMsgs = Math.ceil((3000 * 4) / (maxLen - 23 - 30));
    assert.ok(out.length <= minMsgs + 1, `${out.length} messages for 3000 /24s at ${maxLen}`);
    assert.deepEqual(summary(decodeOut(out, c)).nlri, [...pfx].sort());
  }
});

test('RFC 4724 §2: the initial dump is followed by End-of-RIB for IPv4 and IPv6', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  rib.ingest(src, upd(attrs(), ['10.1.0.0/16']));
  rib.ingest(src, upd(attrs({ nextHop: '2001:db8::9' }), ['2001:db8:1::/48']));
  rib.flush(0);
  const dst = up(rib, { asn: 65001, localAddress6: '2001:db8::ff' });
  const out = rib.takeOutput(dst).map((b) => decodeMessage(b, ctx()));
  const eor = out.map((m) => (m.type === MsgType.UPDATE ? isEndOfRib(m) : null));
  assert.deepEqual(eor, [null, 'ipv4', null, 'ipv6']);
  const sent = decodeOut(rib.takeOutput(dst));
  assert.deepEqual(sent, []);
});

test('withdrawals are sent promptly and only the changed prefix is touched (RFC 4271 §9.2, incremental)', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const dst = up(rib, { asn: 65001 });
  drain(rib, dst);
  rib.ingest(src, upd(attrs(), many(100)));
  assert.equal(rib.flush(0).length, 100);
  drain(rib, dst);
  // Re-announcing identical routes queues nothing (implicit duplicate, RFC 4271 §9.1.1).
  rib.ingest(src, upd(attrs(), many(100)));
  assert.equal(rib.queued, 0);
  assert.deepEqual(rib.flush(0), []);
  assert.deepEqual(drain(rib, dst), []);
  // One changed prefix: one change record, one UPDATE with that prefix only.
  rib.ingest(src, upd(attrs({ communities: [5] }), ['10.0.7.0/24']));
  assert.equal(rib.queued, 1);
  const ch = rib.flush(0);
  assert.deepEqual(
    ch.map((c) => c.prefix),
    ['10.0.7.0/24'],
  );
  assert.equal(ch[0].oldBest?.attrs.communities, undefined);
  assert.deepEqual(ch[0].newBest?.attrs.communities, [5]);
  assert.deepEqual(summary(drain(rib, dst)), { nlri: ['10.0.7.0/24'], withdrawn: [] });
  // A MED change is a new best for the FIB but invisible to another AS (RFC 4271 §5.1.4):
  // the Adj-RIB-Out does not change, so nothing is sent.
  rib.ingest(src, upd(attrs({ communities: [5], med: 9 }), ['10.0.7.0/24']));
  assert.equal(rib.flush(0).length, 1);
  assert.deepEqual(drain(rib, dst), []);
  rib.ingest(src, upd(null, [], ['10.0.7.0/24', '10.0.8.0/24']));
  const w = rib.flush(0);
  assert.deepEqual(
    w.map((c) => [c.prefix, c.newBest, c.multipath.length]),
    [
      ['10.0.7.0/24', undefined, 0],
      ['10.0.8.0/24', undefined, 0],
    ],
  );
  assert.deepEqual(summary(drain(rib, dst)), { nlri: [], withdrawn: ['10.0.7.0/24', '10.0.8.0/24'] });
  assert.equal(rib.stats().prefixes.ipv4, 98, 'withdrawn prefixes leave the store');
});

test('MRAI (RFC 4271 §9.2.1.1): announcements wait for the interval, withdrawals do not', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const dst = up(rib, { asn: 65001, mraiMs: 1000 });
  drain(rib, dst);
  rib.ingest(src, upd(attrs(), ['10.1.0.0/24']));
  rib.flush(5000);
  assert.deepEqual(summary(drain(rib, dst)).nlri, ['10.1.0.0/24']);
  rib.ingest(src, upd(attrs(), ['10.2.0.0/24']));
  rib.flush(5500);
  assert.deepEqual(drain(rib, dst), [], 'held back');
  assert.equal(rib.nextFlushAt(), 6000);
  rib.ingest(src, upd(null, [], ['10.1.0.0/24']));
  rib.flush(5600);
  assert.deepEqual(summary(drain(rib, dst)), { nlri: [], withdrawn: ['10.1.0.0/24'] });
  rib.flush(6000);
  assert.deepEqual(summary(drain(rib, dst)).nlri, ['10.2.0.0/24']);
});

test('RFC 2918 §4 route refresh re-sends the Adj-RIB-Out; RFC 7313 §4 frames it with BoRR/EoRR', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const dst = up(rib, { asn: 65001 });
  rib.addPeer({ id: 'enh', address: '198.18.0.200', asn: 65002, localAddress: '198.18.255.1' });
  rib.peerUp('enh', ctx(), { routerId: '198.18.0.200', enhancedRouteRefresh: true });
  rib.ingest(src, upd(attrs(), many(5)));
  rib.flush(0);
  drain(rib, dst);
  drain(rib, 'enh');
  rib.routeRefresh(dst, 'ipv4');
  assert.deepEqual(summary(drain(rib, dst)).nlri, [...many(5)].sort());
  rib.routeRefresh('enh', 'ipv4');
  const msgs = rib.takeOutput('enh').map((b) => decodeMessage(b, ctx()));
  assert.equal(msgs[0].type, MsgType.ROUTE_REFRESH);
  assert.equal(msgs[msgs.length - 1].type, MsgType.ROUTE_REFRESH);
  assert.deepEqual(
    [msgs[0], msgs[msgs.length - 1]].map((m) => (m.type === MsgType.ROUTE_REFRESH ? m.subtype : -1)),
    [1, 2],
  );
  assert.equal(msgs.length, 3);
});

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

test('RFC 7911 add-path send: a client that negotiated it receives the multipath set with path identifiers', () => {
  const rib = makeRib({ clusterId: '198.18.255.100', maxPaths: 4 });
  const c1 = up(rib, { id: 'ap1', address: '198.18.0.11', asn: 65000, routeReflectorClient: true });
  const c2 = up(rib, { id: 'ap2', address: '198.18.0.12', asn: 65000, routeReflectorClient: true });
  const apCtx = ctx({ addPathTx: { ipv4: true, ipv6: true } });
  const c3 = up(rib, { id: 'ap3', address: '198.18.0.13', asn: 65000, routeReflectorClient: true }, undefined, apCtx);
  for (const p of [c1, c2, c3]) drain(rib, p, p === c3 ? apCtx : ctx());
  const ib = (nh: string): PathAttributes => attrs({ asPath: [], localPref: 100, nextHop: nh });
  rib.ingest(c1, upd(ib('198.18.0.11'), ['10.244.5.0/26']));
  rib.ingest(c2, upd(ib('198.18.0.12'), ['10.244.5.0/26']));
  const ch = rib.flush(0);
  assert.deepEqual(
    ch[0].multipath.map((p) => p.nextHop),
    ['198.18.0.11', '198.18.0.12'],
    'ECMP set for the FIB',
  );
  const got = drain(rib, c3, apCtx);
  const ids = got.flatMap((s) => s.nlri);
  assert.equal(ids.length, 2);
  assert.equal(new Set(ids).size, 2, 'distinct path identifiers');
  assert.deepEqual(got.map((s) => s.nextHop).sort(), ['198.18.0.11', '198.18.0.12']);
  // Without add-path, the other client gets only the best path.
  assert.equal(summary(drain(rib, c2)).nlri.length, 1);
  rib.ingest(c2, upd(null, [], ['10.244.5.0/26']));
  rib.flush(0);
  const w = drain(rib, c3, apCtx);
  assert.deepEqual(
    summary(w).withdrawn,
    ids.filter((x) => got.find((s) => s.nlri.includes(x))?.nextHop === '198.18.0.12'),
  );
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

test('RFC 4271 §9.2 export policy: reject drops a route for that group, modified attributes are sent', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const dst = up(rib, {
    asn: 65001,
    exportPolicy: (p: Prefix, a: PathAttributes): PolicyResult => (p.len === 16 ? 'reject' : { ...a, communities: [0xfde80001] }),
  });
  drain(rib, dst);
  rib.ingest(src, upd(attrs(), ['10.1.0.0/24', '10.2.0.0/16']));
  rib.flush(0);
  const got = drain(rib, dst);
  assert.deepEqual(summary(got).nlri, ['10.1.0.0/24']);
  assert.deepEqual(got[0].attrs.communities, [0xfde80001]);
  assert.deepEqual(
    rib.adjRibOut(dst).map((e) => e.prefix),
    ['10.1.0.0/24'],
  );
});

test('RFC 4271 §9.2 pull model: a slow peer does not hold back the others, and gets everything in order later', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const fast = up(rib, { asn: 65001 });
  const slow = up(rib, { asn: 65002 });
  drain(rib, fast);
  drain(rib, slow);
  for (let i = 0; i < 20; i++) {
    rib.ingest(src, upd(attrs({ med: i }), many(300, 20 + i)));
    rib.flush(0);
    assert.ok(summary(drain(rib, fast)).nlri.length === 300);
  }
  assert.ok(rib.hasOutput(slow));
  const first = rib.takeOutput(slow, 5000);
  assert.ok(first.length >= 1 && first.reduce((n, b) => n + b.length, 0) < 5000 + 4096);
  const rest = rib.takeOutput(slow);
  assert.equal(summary(decodeOut([...first, ...rest])).nlri.length, 6000);
  assert.equal(rib.hasOutput(slow), false);
});

test('IPv6 (RFC 4760, RFC 2545): MP_REACH next hop with link-local, next-hop-self to eBGP', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const dst = up(rib, { asn: 65001, localAddress6: '2001:db8::ff', localLinkLocal6: 'fe80::ff' });
  const ib = up(rib, { asn: 65000 });
  drain(rib, dst);
  drain(rib, ib);
  const u = upd(attrs({ nextHop: '2001:db8::9' }), ['2001:db8:aa::/48']);
  if (u.mpReach) u.mpReach.nextHop = { global: '2001:db8::9', linkLocal: 'fe80::9' };
  rib.ingest(src, u);
  const ch = rib.flush(0);
  assert.equal(ch[0].family, 'ipv6');
  assert.equal(ch[0].newBest?.linkLocal, 'fe80::9');
  const [e] = drain(rib, dst);
  assert.deepEqual(e.nlri, ['2001:db8:aa::/48']);
  assert.equal(e.nextHop, '2001:db8::ff');
  const [i] = drain(rib, ib);
  assert.equal(i.nextHop, '2001:db8::9');
  assert.deepEqual(
    rib.dumpLocRib('ipv6').map((v) => v.prefix),
    ['2001:db8:aa::/48'],
  );
});

test('RFC 4271 §5.1.1-§5.1.2 local origination: our own blocks with ORIGIN IGP and an empty AS_PATH', () => {
  const rib = makeRib();
  const dst = up(rib, { asn: 65000 });
  drain(rib, dst);
  rib.originate('10.244.3.0/26');
  const ch = rib.flush(0);
  assert.equal(ch[0].newBest?.peer, 'local');
  assert.deepEqual(summary(drain(rib, dst)).nlri, ['10.244.3.0/26']);
  rib.withdrawOrigin('10.244.3.0/26');
  rib.flush(0);
  assert.deepEqual(summary(drain(rib, dst)).withdrawn, ['10.244.3.0/26']);
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

test('RFC 4271 §9.2: a source that never reads does not pin the shared stream of its update group', () => {
  const rib = makeRib();
  const src = up(rib, { id: 'quiet-src', asn: 65009 });
  const mon = up(rib, { id: 'mon', asn: 65001 });
  drain(rib, mon);
  rib.ingest(src, upd(attrs(), many(500)));
  rib.flush(0);
  assert.equal(rib.stats().updateGroups, 1, 'same outbound profile');
  assert.equal(summary(drain(rib, mon)).nlri.length, 500);
  const g = rib.groups.memberOf(rib.core.peer(mon).idx)!.group;
  assert.equal(g.log.length, 0, 'the announcements were not for the source: nothing kept for it');
  assert.equal(rib.takeOutput(src).length, 2, 'only its End-of-RIB markers');
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

test("RFC 7911 add-path send 'all': every eligible path, not only the multipath set", () => {
  const rib = makeRib({ clusterId: '198.18.255.100', maxPaths: 1 });
  const c1 = up(rib, { address: '198.18.0.11', asn: 65000, routeReflectorClient: true });
  const c2 = up(rib, { address: '198.18.0.12', asn: 65000, routeReflectorClient: true });
  const apCtx = ctx({ addPathTx: { ipv4: true, ipv6: true } });
  const all = up(rib, { address: '198.18.0.13', asn: 65000, routeReflectorClient: true, addPathSend: 'all' }, undefined, apCtx);
  const mp = up(rib, { address: '198.18.0.14', asn: 65000, routeReflectorClient: true }, undefined, apCtx);
  drain(rib, all, apCtx);
  drain(rib, mp, apCtx);
  rib.ingest(c1, upd(attrs({ asPath: [], localPref: 200, nextHop: '198.18.0.11' }), ['10.244.7.0/26']));
  rib.ingest(c2, upd(attrs({ asPath: [], localPref: 100, nextHop: '198.18.0.12' }), ['10.244.7.0/26']));
  rib.flush(0);
  assert.deepEqual(
    drain(rib, all, apCtx)
      .map((s) => s.nextHop)
      .sort(),
    ['198.18.0.11', '198.18.0.12'],
  );
  assert.deepEqual(
    drain(rib, mp, apCtx).map((s) => s.nextHop),
    ['198.18.0.11'],
    'multipath mode with maxPaths 1: the best only',
  );
});

test('RFC 4271 §9.2: a peer coming up while a dropped best path awaits the decision gets the new best (no stale read)', () => {
  // Incident: ternd threw in peerUp ("reading 'group'") when another session went down in the
  // same tick: the dropped path was still the prefix's best until the next flush.
  const rib = makeRib();
  const a = up(rib, { asn: 65009 });
  const b = up(rib, { asn: 65008 });
  rib.ingest(a, upd(attrs({ asPath: seq(65009) }), ['10.1.0.0/24']));
  rib.ingest(b, upd(attrs({ asPath: seq(65008, 1) }), ['10.1.0.0/24']));
  rib.flush(0);
  rib.peerDown(a);
  const late = up(rib, { asn: 65001 });
  rib.flush(0);
  const got = drain(rib, late).filter((s) => s.nlri.length > 0);
  // The dump says what the group last sent (via a), then the decision replaces it (RFC 4271
  // RFC 4271 §9.1.1 implicit withdraw): the last word is the path via b.
  assert.deepEqual([...new Set(summary(got).nlri)], ['10.1.0.0/24']);
  assert.deepEqual(got[got.length - 1].attrs.asPath, seq(65000, 65008, 1));
});

test('RFC 4271 §9.2 show neighbors: adjRibOutCount agrees with the advertised routes, minus what is excluded for the peer', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const dst = up(rib, { asn: 65001 });
  rib.ingest(src, upd(attrs(), many(30)));
  rib.ingest(dst, upd(attrs({ asPath: seq(65001) }), ['10.200.0.0/24']));
  rib.flush(0);
  assert.equal(rib.adjRibOutCount(dst), 30);
  assert.equal(rib.adjRibOut(dst).length, 30);
  assert.equal(rib.adjRibOutCount(src), 1, 'its own 30 are excluded; the one from dst is not');
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

test('RFC 2918 §1 soft reconfiguration: setPolicies swaps export rules without a session reset', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const only24 = (p: Prefix): boolean => p.len === 24;
  const only16 = (p: Prefix): boolean => p.len === 16;
  const dst = up(rib, { asn: 65001, exportFilter: only24 });
  drain(rib, dst);
  rib.ingest(src, upd(attrs(), ['10.1.0.0/24', '10.2.0.0/16']));
  rib.flush(0);
  assert.deepEqual(summary(drain(rib, dst)), { nlri: ['10.1.0.0/24'], withdrawn: [] });
  rib.setPolicies(dst, { exportFilter: only16 });
  assert.deepEqual(summary(drain(rib, dst)), { nlri: ['10.2.0.0/16'], withdrawn: ['10.1.0.0/24'] });
  // and the new rules hold for what comes next
  rib.ingest(src, upd(attrs(), ['10.3.0.0/24', '10.4.0.0/16']));
  rib.flush(0);
  assert.deepEqual(summary(drain(rib, dst)).nlri, ['10.4.0.0/16']);
  // import rules too: re-run over the pre-policy Adj-RIB-In
  rib.setPolicies(src, { importFilter: (p: Prefix) => p.addr[1] !== 4 });
  rib.flush(0);
  assert.deepEqual(summary(drain(rib, dst)).withdrawn, ['10.4.0.0/16']);
});

test("a slow member's backlog is counted (outputBacklog): the shared stream it holds grows, the fast member's does not (issue 4: a slow peer must not slow the others)", () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const fast = up(rib, { asn: 65001 });
  const slow = up(rib, { asn: 65002 });
  for (const p of [src, fast, slow]) rib.takeOutput(p);
  assert.equal(rib.outputBacklog(slow), 0);
  for (let i = 0; i < 5; i++) {
    rib.ingest(src, upd(attrs({ asPath: seq(65009, 100 + i) }), [`10.${i}.0.0/16`]));
    rib.flush(0);
    rib.takeOutput(fast);
  }
  assert.equal(rib.outputBacklog(fast), 0);
  assert.equal(rib.outputBacklog(slow), 5, 'one UPDATE per attribute set, none taken');
  assert.equal(rib.takeOutput(slow).length, 5);
  assert.equal(rib.outputBacklog(slow), 0);
});

test('RFC 4724 §2: a peer that comes up while prefixes wait for the decision gets the decided table before End-of-RIB (Rib.peerUp settles its own queue; conformance/cluster.test.ts incident)', () => {
  const rib = makeRib();
  const a = up(rib, { asn: 65001 });
  const b = up(rib, { asn: 65002 });
  rib.ingest(a, upd(attrs({ asPath: seq(65001) }), ['10.7.0.0/24']));
  rib.ingest(b, upd(attrs({ asPath: seq(65002, 65012) }), ['10.7.0.0/24']));
  rib.flush(0);
  // A's session goes down, and C's comes up before anything flushed the queue.
  rib.peerDown(a);
  assert.equal(rib.queued, 1);
  const c = up(rib, { asn: 65003 });
  assert.equal(rib.queued, 0, 'peerUp decided the queue itself');
  const msgs = rib.takeOutput(c).map((buf) => ({ buf, m: decodeMessage(buf, ctx()) }));
  const eor = msgs.findIndex(({ m }) => m.type === MsgType.UPDATE && isEndOfRib(m) === 'ipv4');
  assert.ok(eor >= 0, 'End-of-RIB for IPv4');
  const initial = decodeOut(msgs.slice(0, eor).map((x) => x.buf));
  assert.deepEqual(summary(initial), { nlri: ['10.7.0.0/24'], withdrawn: [] }, 'the route is in the initial table, once');
  assert.deepEqual(initial[0].attrs.asPath, seq(LOCAL_AS, 65002, 65012), "B's path, not the dead session's");
  assert.deepEqual(summary(decodeOut(msgs.slice(eor + 1).map((x) => x.buf))), { nlri: [], withdrawn: [] }, 'nothing to correct after End-of-RIB');
  // The change record peerUp made is not lost: the next flush returns it.
  const changes = rib.flush(0);
  assert.deepEqual(
    changes.map((ch) => [ch.prefix, ch.oldBest?.peer, ch.newBest?.peer]),
    [['10.7.0.0/24', a, b]],
  );
});
