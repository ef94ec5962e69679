// Advertisement rules: RFC 4456 route reflection (§6 rules, §8 loop prevention),
// RFC 4271 §9.1.3/§9.2 iBGP/eBGP rules, §5.1 attribute handling, Calico nextHopMode, allowas-in.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrs, ctx, drain, LOCAL_AS, makeRib, seq, summary, up, upd, type Sent } from './helpers.js';
import type { Family } from '../../bgp/codec/types.js';
import { formatPrefix } from '../../bgp/codec/prefix.js';
import type { Rib } from '../../bgp/rib/rib.js';
import { MsgType, type PathAttributes, type UpdateMessage } from '../../bgp/codec/types.js';
import { encodeUpdate } from '../../bgp/codec/update.js';
import { decodeMessage } from '../../bgp/codec/message.js';
import { PrefixListImpl } from '../../bgp/codec/prefixes.js';
import { NO_ADVERTISE, NO_EXPORT } from '../../bgp/codec/communities.js';

const CLUSTER = '198.18.255.100';

interface Lab {
  rib: Rib;
  c1: string;
  c2: string;
  n1: string;
  n2: string;
  e: string;
  all: string[];
}

/** A route reflector with two clients, two non-clients and one eBGP peer, output drained. */
function lab(clusterId: string | null = CLUSTER): Lab {
  // No change records: inbound sets are lean, so the reflection rules run on attributes
  // decoded again from the wire bytes (the reflector's configuration).
  const rib = makeRib({ clusterId: clusterId ?? undefined, collectChanges: false });
  const c1 = up(rib, { id: 'c1', address: '198.18.0.11', asn: 65000, routeReflectorClient: true });
  const c2 = up(rib, { id: 'c2', address: '198.18.0.12', asn: 65000, routeReflectorClient: true });
  const n1 = up(rib, { id: 'n1', address: '198.18.0.21', asn: 65000 });
  const n2 = up(rib, { id: 'n2', address: '198.18.0.22', asn: 65000 });
  const e = up(rib, { id: 'e', address: '198.18.0.31', asn: 65001 });
  const all = [c1, c2, n1, n2, e];
  for (const p of all) drain(rib, p);
  return { rib, c1, c2, n1, n2, e, all };
}

/** Announce from `from`, flush, and return what every peer received. */
function announce(l: Lab, from: string, a: PathAttributes, prefixes = ['10.244.1.0/26']): Record<string, Sent[]> {
  l.rib.ingest(from, upd(a, prefixes));
  l.rib.flush(0);
  return Object.fromEntries(l.all.map((p) => [p, drain(l.rib, p)]));
}

const got = (s: Sent[]): string[] => summary(s).nlri;
const ibgp = (nh: string, over: PathAttributes = {}): PathAttributes => attrs({ asPath: [], localPref: 100, nextHop: nh, ...over });

test('RFC 4456 §6: a route from a client is reflected to the other clients and the non-clients, not back', () => {
  const l = lab();
  const out = announce(l, l.c1, ibgp('198.18.0.11'));
  assert.deepEqual(got(out.c2), ['10.244.1.0/26']);
  assert.deepEqual(got(out.n1), ['10.244.1.0/26']);
  assert.deepEqual(got(out.n2), ['10.244.1.0/26']);
  assert.deepEqual(got(out.e), ['10.244.1.0/26']);
  assert.deepEqual(out.c1, [], 'nothing, not even a withdrawal, goes back to the source');
  // RFC 4456 §8: ORIGINATOR_ID = the client's router ID, CLUSTER_LIST = [our cluster ID].
  const a = out.c2[0].attrs;
  assert.equal(a.originatorId, '198.18.0.11');
  assert.deepEqual(a.clusterList, [CLUSTER]);
  assert.equal(out.c2[0].nextHop, '198.18.0.11', 'RFC 4271 §5.1.3: iBGP keeps NEXT_HOP');
  // Towards eBGP the RR attributes are not sent and our AS is prepended.
  assert.equal(out.e[0].attrs.originatorId, undefined);
  assert.equal(out.e[0].attrs.clusterList, undefined);
  assert.deepEqual(out.e[0].attrs.asPath, seq(65000));
});

test('RFC 4456 §6: a route from a non-client is reflected to clients only', () => {
  const l = lab();
  const out = announce(l, l.n1, ibgp('198.18.0.21'));
  assert.deepEqual(got(out.c1), ['10.244.1.0/26']);
  assert.deepEqual(got(out.c2), ['10.244.1.0/26']);
  assert.deepEqual(out.n2, [], 'non-client to non-client is not reflected');
  assert.deepEqual(out.n1, []);
  assert.deepEqual(got(out.e), ['10.244.1.0/26']);
});

test('RFC 4456 §6: a route from an eBGP peer goes to clients and non-clients, without ORIGINATOR_ID', () => {
  const l = lab();
  const out = announce(l, l.e, attrs({ nextHop: '198.18.0.31', asPath: seq(65001) }));
  for (const p of [l.c1, l.c2, l.n1, l.n2]) {
    assert.deepEqual(got(out[p]), ['10.244.1.0/26'], p);
    assert.equal(out[p][0].attrs.originatorId, undefined);
    assert.equal(out[p][0].attrs.clusterList, undefined);
    assert.equal(out[p][0].attrs.localPref, 100, 'RFC 4271 §5.1.5: LOCAL_PREF sent to iBGP');
  }
  assert.deepEqual(out.e, []);
});

test('RFC 4271 §9.2: without a cluster ID, iBGP-learned routes are not sent to iBGP peers', () => {
  const l = lab(null);
  const out = announce(l, l.c1, ibgp('198.18.0.11'));
  for (const p of [l.c2, l.n1, l.n2]) assert.deepEqual(out[p], [], p);
  assert.deepEqual(got(out.e), ['10.244.1.0/26']);
});

test('RFC 4456 §8: ORIGINATOR_ID already present is kept and CLUSTER_LIST is prepended', () => {
  const l = lab();
  const out = announce(l, l.c1, ibgp('198.18.0.11', { originatorId: '198.18.9.9', clusterList: ['198.18.200.1'] }));
  assert.equal(out.n1[0].attrs.originatorId, '198.18.9.9');
  assert.deepEqual(out.n1[0].attrs.clusterList, [CLUSTER, '198.18.200.1']);
});

test('RFC 4456 §8: never reflect a route to the peer whose router ID is its ORIGINATOR_ID', () => {
  const l = lab();
  const out = announce(l, l.n1, ibgp('198.18.0.12', { originatorId: '198.18.0.12' }));
  assert.deepEqual(out.c2, [], 'c2 originated it');
  assert.deepEqual(got(out.c1), ['10.244.1.0/26']);
});

test('RFC 4456 §8: a route carrying our CLUSTER_ID or our router ID as ORIGINATOR_ID is ignored', () => {
  const l = lab();
  let out = announce(l, l.n1, ibgp('198.18.0.21', { clusterList: ['198.18.7.7', CLUSTER] }));
  assert.deepEqual(out.c1, []);
  let v = l.rib.lookup('10.244.1.0/26');
  assert.equal(v.length, 1);
  assert.equal(v[0].filtered, true);
  assert.match(v[0].reason ?? '', /CLUSTER_LIST/);
  out = announce(l, l.n2, ibgp('198.18.0.22', { originatorId: '198.18.255.1' }), ['10.244.2.0/26']);
  assert.deepEqual(out.c1, []);
  v = l.rib.lookup('10.244.2.0/26');
  assert.equal(v[0].filtered, true);
  assert.match(v[0].reason ?? '', /ORIGINATOR_ID/);
});

test('RFC 4271 §9.1.2: own AS in AS_PATH is a loop unless allowOwnAs (Calico numAllowedLocalASNumbers) permits it', () => {
  const rib = makeRib();
  const strict = up(rib, { id: 's', asn: 65001 });
  const loose = up(rib, { id: 'l', asn: 65002, allowOwnAs: 1 });
  rib.ingest(strict, upd(attrs({ asPath: seq(65001, 65000) }), ['10.0.1.0/24']));
  rib.ingest(loose, upd(attrs({ asPath: seq(65002, 65000) }), ['10.0.2.0/24']));
  rib.ingest(loose, upd(attrs({ asPath: seq(65002, 65000, 7, 65000) }), ['10.0.3.0/24']));
  const changes = rib.flush(0);
  assert.deepEqual(
    changes.map((c) => c.prefix),
    ['10.0.2.0/24'],
  );
  assert.equal(rib.lookup('10.0.1.0/24')[0].filtered, true);
  assert.equal(rib.lookup('10.0.3.0/24')[0].filtered, true, 'two occurrences exceed allowOwnAs 1');
});

test('next hop (RFC 4271 §5.1.3, Calico nextHopMode): eBGP self, iBGP keep, Self and Keep override', () => {
  const rib = makeRib();
  const src = up(rib, { id: 'src', asn: 65009, address: '198.18.0.90' });
  const eAuto = up(rib, { id: 'eA', asn: 65001 });
  const eKeep = up(rib, { id: 'eK', asn: 65002, nextHopMode: 'Keep' });
  const iAuto = up(rib, { id: 'iA', asn: 65000 });
  const iSelf = up(rib, { id: 'iS', asn: 65000, nextHopMode: 'Self' });
  const ids = [eAuto, eKeep, iAuto, iSelf];
  for (const p of [src, ...ids]) drain(rib, p);
  rib.ingest(src, upd(attrs({ asPath: seq(65009), nextHop: '198.18.0.90', med: 7 }), ['10.1.0.0/16']));
  rib.originate('10.244.0.0/26');
  rib.flush(0);
  const nh = (p: string) => Object.fromEntries(drain(rib, p).flatMap((s) => s.nlri.map((x) => [x, s])));
  const got = Object.fromEntries(ids.map((p) => [p, nh(p)]));
  assert.equal(got.eA['10.1.0.0/16'].nextHop, '198.18.255.1');
  assert.equal(got.eK['10.1.0.0/16'].nextHop, '198.18.0.90');
  assert.equal(got.iA['10.1.0.0/16'].nextHop, '198.18.0.90');
  assert.equal(got.iS['10.1.0.0/16'].nextHop, '198.18.255.1');
  for (const p of ids) assert.equal(got[p]['10.244.0.0/26'].nextHop, '198.18.255.1', `own block via ${p}: we are the next hop`);
  // RFC 4271 §5.1.4: the MED from AS 65009 is not passed to another AS, but is kept inside ours.
  assert.equal(got.eA['10.1.0.0/16'].attrs.med, undefined);
  assert.equal(got.iA['10.1.0.0/16'].attrs.med, 7);
  // RFC 4271 §5.1.2: our AS prepended towards eBGP; §5.1.5: no LOCAL_PREF to eBGP.
  assert.deepEqual(got.eA['10.1.0.0/16'].attrs.asPath, seq(65000, 65009));
  assert.equal(got.eA['10.1.0.0/16'].attrs.localPref, undefined);
  assert.deepEqual(got.iA['10.1.0.0/16'].attrs.asPath, seq(65009));
  // Own blocks: ORIGIN IGP, empty AS_PATH inside the AS.
  assert.equal(got.iA['10.244.0.0/26'].attrs.origin, 0);
  assert.deepEqual(got.iA['10.244.0.0/26'].attrs.asPath, []);
  assert.deepEqual(got.eA['10.244.0.0/26'].attrs.asPath, seq(65000));
});

test('RFC 1997: NO_EXPORT stays inside the AS, NO_ADVERTISE goes nowhere', () => {
  const l = lab();
  let out = announce(l, l.n1, ibgp('198.18.0.21', { communities: [NO_EXPORT] }));
  assert.deepEqual(out.e, []);
  assert.deepEqual(got(out.c1), ['10.244.1.0/26']);
  out = announce(l, l.n1, ibgp('198.18.0.21', { communities: [NO_ADVERTISE] }), ['10.244.3.0/26']);
  for (const p of l.all) assert.deepEqual(summary(out[p]).nlri, [], p);
});

test('RFC 4271 §9.2 split horizon in a shared group: when the best path moves to a member, that member withdraws the old one', () => {
  const l = lab();
  // Prefix first learned from eBGP, reflected to c1; then c1 announces a better path.
  announce(l, l.e, attrs({ nextHop: '198.18.0.31', asPath: seq(65001, 1, 2) }));
  const out = announce(l, l.c1, ibgp('198.18.0.11', { localPref: 200 }));
  assert.deepEqual(summary(out.c1), { nlri: [], withdrawn: ['10.244.1.0/26'] });
  assert.deepEqual(got(out.c2), ['10.244.1.0/26']);
  assert.equal(out.c2[0].attrs.localPref, 200);
});

test('RFC 4456 §8: after a client reconnects with a new BGP Identifier, reflected routes carry the new ORIGINATOR_ID', () => {
  const l = lab();
  // c2 announces the very same attributes (third-party next hop): the interned inbound set
  // outlives c1's session, its export result must not.
  announce(l, l.c2, ibgp('198.18.0.11'), ['10.244.9.0/26']);
  announce(l, l.c1, ibgp('198.18.0.11'));
  l.rib.peerDown(l.c1);
  l.rib.flush(0);
  for (const p of l.all) drain(l.rib, p);
  l.rib.peerUp(l.c1, ctx(), { routerId: '198.18.99.99', families: ['ipv4', 'ipv6'] });
  drain(l.rib, l.c1);
  const out = announce(l, l.c1, ibgp('198.18.0.11'));
  assert.deepEqual(summary(out.n1).nlri, ['10.244.1.0/26']);
  assert.equal(out.n1[0].attrs.originatorId, '198.18.99.99');
});

test('RFC 7606 §7.9, §7.10: ORIGINATOR_ID (our own router ID) and CLUSTER_LIST (our cluster) from an eBGP peer are discarded, not an RFC 4456 loop', () => {
  // Issue 15: the route was dropped silently as a reflection loop, though the attributes
  // only have a meaning inside one AS.
  const l = lab();
  const routerId = l.rib.core.opts.routerId;
  const wire = encodeUpdate(
    {
      type: MsgType.UPDATE,
      withdrawn: PrefixListImpl.empty(1),
      attrs: attrs({ asPath: seq(65001), nextHop: '198.18.0.31', originatorId: routerId, clusterList: [CLUSTER] }),
      nlri: PrefixListImpl.from(1, ['10.244.7.0/26']),
    },
    ctx(),
  );
  // As the session decodes it: the context says the peer is external (negotiate.ts).
  const u = decodeMessage(wire, { ...ctx(), ebgp: true }) as UpdateMessage;
  assert.deepEqual(
    u.errors?.map((x) => [x.attrType, x.action]),
    [
      [9, 'attribute-discard'],
      [10, 'attribute-discard'],
    ],
  );
  l.rib.ingest(l.e, u);
  l.rib.flush(0);
  const best = l.rib.lookup('10.244.7.0/26').find((p) => p.best);
  assert.equal(best?.peer, 'e', 'the route is used');
  // Sets are lean here: the attributes the iBGP peers get are decoded again from the stored
  // bytes, which must not bring the discarded attributes back.
  for (const p of [l.c1, l.n1]) {
    const out = drain(l.rib, p);
    assert.deepEqual(got(out), ['10.244.7.0/26'], `${p} gets the eBGP route`);
    assert.equal(out[0].attrs.originatorId, undefined, `${p}: no ORIGINATOR_ID from the eBGP peer`);
    assert.equal(out[0].attrs.clusterList, undefined, `${p}: no CLUSTER_LIST from the eBGP peer`);
  }
});

// Issue 18: clients joining a reflector in a burst get their initial update from a snapshot of
// the group's encoded Adj-RIB-Out plus the stream encoded since (UpdateGroup.initialUpdate).
// Whatever the interleaving of joins, announcements, withdrawals and readers that lag, each
// client must end holding exactly every other client's routes, never its own (RFC 4456 §6, §8),
// each with its originator's next hop and ORIGINATOR_ID, and End-of-RIB after the initial
// update (RFC 4724 §2).
for (const families of [['ipv4'], ['ipv4', 'ipv6']] as Family[][]) {
  test(`RFC 4456 §6/§8, RFC 4724 §2: clients joining a reflector in a burst each end with every other client’s routes (${families.join('+')})`, () => {
    const rib = makeRib({ clusterId: CLUSTER, collectChanges: false });
    const N = 30;
    const addr = (k: number) => `198.18.${1 + (k >> 7)}.${(k & 127) + 1}`;
    const pfx = (k: number, j: number) => `10.${64 + (k >> 6)}.${(k & 63) * 4 + j}.0/26`;
    const ids: string[] = [];
    const held: Map<string, { nh?: string; orig?: string }>[] = [];
    const eorSeen: boolean[] = [];
    const read = (k: number) => {
      for (const b of rib.takeOutput(ids[k])) {
        const m = decodeMessage(b, ctx());
        if (m.type !== MsgType.UPDATE) continue;
        if (m.nlri.length === 0 && m.withdrawn.length === 0 && !m.mpReach && !m.mpUnreach) {
          eorSeen[k] = true;
          continue;
        }
        assert.ok(eorSeen[k] || m.nlri.length > 0, 'nothing but announcements before the End-of-RIB of a fresh session');
        for (const p of m.withdrawn) held[k].delete(formatPrefix(p));
        for (const p of m.nlri) held[k].set(formatPrefix(p), { nh: m.attrs.nextHop, orig: m.attrs.originatorId });
      }
    };
    const live = new Map<string, number>(); // prefix -> owner
    for (let k = 0; k < N; k++) {
      const id = `burst${k}`;
      rib.addPeer({ id, address: addr(k), localAddress: '198.18.255.1', asn: LOCAL_AS, routeReflectorClient: true });
      rib.peerUp(id, ctx(), { routerId: addr(k), families });
      ids.push(id);
      held.push(new Map());
      eorSeen.push(false);
      rib.ingest(ids[k], upd(ibgp(addr(k)), [pfx(k, 0), pfx(k, 1)]));
      live.set(pfx(k, 0), k);
      live.set(pfx(k, 1), k);
      if (k === 12) {
        rib.ingest(ids[3], upd(null, [], [pfx(3, 1)]));
        live.delete(pfx(3, 1));
      }
      if (k % 3 !== 0) rib.flush(0); // sometimes two joins share one encode
      // Clients 0-4 read only at the end (their cursors lag); the others after every step.
      for (let i = 5; i <= k; i++) read(i);
    }
    rib.flush(0);
    for (let k = 0; k < N; k++) read(k);
    for (let k = 0; k < N; k++) {
      assert.ok(eorSeen[k], `client ${k} got End-of-RIB`);
      const want = [...live]
        .filter(([, o]) => o !== k)
        .map(([p]) => p)
        .sort();
      assert.deepEqual([...held[k].keys()].sort(), want, `client ${k} holds every other client's routes, not its own`);
      for (const [p, a] of held[k]) {
        const o = live.get(p) as number;
        assert.equal(a.nh, addr(o), `${p} keeps its originator's next hop (RFC 4456 §10)`);
        assert.equal(a.orig, addr(o), `${p} carries ORIGINATOR_ID ${addr(o)} (RFC 4456 §8)`);
      }
    }
  });
}
