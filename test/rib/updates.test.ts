// Updates out: update groups, packing, End-of-RIB, withdrawals, MRAI, route refresh (RFC 2918,
// RFC 7313), add-path send (RFC 7911), export policy and soft reconfiguration, incremental work,
// the pull model. The Adj-RIB-In side is adj-rib-in.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrs, ctx, many, decodeOut, drain, LOCAL_AS, makeRib, seq, summary, up, upd } from './helpers.js';
import { MsgType, type PathAttributes, type Prefix } from '../../bgp/codec/types.js';
import { decodeMessage } from '../../bgp/codec/message.js';
import { isEndOfRib } from '../../bgp/codec/update.js';
import type { PolicyResult } from '../../bgp/rib/rib-types.js';

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
  const srcMember = rib.groups.memberOf(rib.core.peer(src).idx)!.member;
  assert.equal(srcMember.cursor, g.logEnd, 'the source skipped what was not for it');
  // The log since the joiners' snapshot is kept while that lasts (bounded; initialUpdate):
  // without it, nothing may be kept, least of all for the source.
  g.dropSnapshot();
  g.trim();
  assert.equal(g.log.length, 0, 'the announcements were not for the source: nothing kept for it');
  assert.equal(rib.takeOutput(src).length, 2, 'only its End-of-RIB markers');
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
