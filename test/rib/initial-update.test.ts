// The initial update read lazily from a shared snapshot (UpdateGroup.initialUpdate, output.ts
// readInitial): issue 18 made route reflector clients that join in a burst hold a position in
// one snapshot of the group's encoded Adj-RIB-Out instead of a copy of its buffers. What each
// client receives must be what an initial update is (RFC 4271 §9.2): every route it may have,
// never its own nor one whose ORIGINATOR_ID is its router ID (RFC 4456 §8), End-of-RIB after each
// family's routes (RFC 4724 §2), and, read a message at a time while the stream moves on, the
// changes encoded since (a withdrawal included) in order, and a route refresh (RFC 2918 §4)
// after the initial update, never inside it. The oracle is the RIB's own route refresh, which
// walks the Adj-RIB-Out prefix by prefix (dump()), and the routes the test announced.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage } from '../../bgp/codec/message.js';
import { formatPrefix } from '../../bgp/codec/prefix.js';
import { MsgType, type Family } from '../../bgp/codec/types.js';
import type { Rib } from '../../bgp/rib/rib.js';
import type { Member } from '../../bgp/rib/update-group.js';
import { attrs, ctx, drain, LOCAL_AS, makeRib, upd } from './helpers.js';

const CLUSTER = '198.18.255.100';
const addr = (k: number) => `198.18.1.${k + 1}`;
const pfx = (k: number, j: number, f: Family) => (f === 'ipv4' ? `10.64.${k * 4 + j}.0/26` : `2001:db8:${k + 1}:${j + 1}::/64`);
const ibgp = (nh: string, over = {}) => attrs({ asPath: [], localPref: 100, nextHop: nh, ...over });

/** The member of `id` (tests look at whether its initial update is read lazily). */
function memberOf(rib: Rib, id: string): Member {
  for (const g of rib.groups.list) for (const m of g.members.values()) if (m.peer.cfg.id === id) return m;
  throw new Error(`${id} is in no group`);
}

interface Reader {
  held: Map<string, string>;
  /** What was held when each family's End-of-RIB came. */
  atEor: Map<Family, string[]>;
  order: string[];
}

/** Takes `max` bytes (one message when 1) and applies what came: announcements, withdrawals, EoR. */
function read(rib: Rib, id: string, r: Reader, max = Infinity): number {
  const bufs = rib.takeOutput(id, max);
  for (const b of bufs) {
    const m = decodeMessage(b, ctx());
    if (m.type === MsgType.ROUTE_REFRESH) {
      r.order.push(`refresh-marker ${m.subtype}`);
      continue;
    }
    if (m.type !== MsgType.UPDATE) continue;
    const reach = [...m.nlri, ...(m.mpReach?.nlri ?? [])].map((p) => formatPrefix(p));
    const gone = [...m.withdrawn, ...(m.mpUnreach?.withdrawn ?? [])].map((p) => formatPrefix(p));
    if (reach.length === 0 && gone.length === 0) {
      const f: Family = m.mpUnreach ? 'ipv6' : 'ipv4';
      r.atEor.set(f, [...r.held.keys()].filter((p) => p.includes(':') === (f === 'ipv6')).sort());
      r.order.push(`eor ${f}`);
      continue;
    }
    for (const p of gone) r.held.delete(p);
    for (const p of reach) r.held.set(p, `${m.attrs.originatorId}`);
    r.order.push(...reach.map((p) => `+${p}`), ...gone.map((p) => `-${p}`));
  }
  return bufs.length;
}

const reader = (): Reader => ({ held: new Map(), atEor: new Map(), order: [] });

for (const families of [['ipv4'], ['ipv4', 'ipv6']] as Family[][]) {
  test(`RFC 4271 §9.2, RFC 4456 §8, RFC 4724 §2: a lazily read initial update is the Adj-RIB-Out, then End-of-RIB, then the stream (${families.join('+')})`, () => {
    const rib = makeRib({ clusterId: CLUSTER, collectChanges: false });
    const live = new Map<string, string>(); // prefix -> ORIGINATOR_ID
    const client = (k: number) => {
      const id = `c${k}`;
      rib.addPeer({ id, address: addr(k), localAddress: '198.18.255.1', asn: LOCAL_AS, routeReflectorClient: true });
      rib.peerUp(id, ctx(), { routerId: addr(k), families });
      return id;
    };
    const announce = (k: number, j: number) => {
      for (const f of families) {
        const a = f === 'ipv4' ? ibgp(addr(k)) : ibgp('2001:db8:ffff::1');
        rib.ingest(`c${k}`, upd(a, [pfx(k, j, f)]));
        live.set(pfx(k, j, f), addr(k));
      }
    };
    // Six clients with two blocks each, read to the end.
    for (let k = 0; k < 6; k++) {
      client(k);
      announce(k, 0);
      announce(k, 1);
    }
    // A non-client's route already carrying ORIGINATOR_ID 198.18.1.8 (client 7's router ID):
    // kept (RFC 4456 §8) and reflected to the clients, never to client 7.
    rib.addPeer({ id: 'n1', address: '198.18.2.1', localAddress: '198.18.255.1', asn: LOCAL_AS });
    rib.peerUp('n1', ctx(), { routerId: '198.18.2.1', families });
    for (const f of families) {
      const p = f === 'ipv4' ? '10.99.0.0/26' : '2001:db8:99::/64';
      rib.ingest('n1', upd(ibgp(f === 'ipv4' ? '198.18.2.1' : '2001:db8:ffff::2', { originatorId: addr(7), clusterList: ['198.18.9.9'] }), [p]));
      live.set(p, addr(7));
    }
    rib.flush(0);
    for (let k = 0; k < 6; k++) drain(rib, `c${k}`);
    drain(rib, 'n1');

    const want = (k: number, f?: Family) =>
      [...live]
        .filter(([p, o]) => o !== addr(k) && (f === undefined || p.includes(':') === (f === 'ipv6')))
        .map(([p]) => p)
        .sort();

    // Client 6 joins: a snapshot is made and read lazily.
    const c6 = client(6);
    assert.notEqual(memberOf(rib, c6).init, null, 'client 6 reads a shared snapshot');
    const want6 = families.map((f) => want(6, f));
    const r6 = reader();
    read(rib, c6, r6, 1);
    read(rib, c6, r6, 1);
    // Client 1 announces a third block; encoded into the stream after the snapshot. Client 7
    // (whose router ID the non-client's route carries) joins after it, on the same snapshot.
    announce(1, 2);
    rib.flush(0);
    const c7 = client(7);
    const lazy7 = memberOf(rib, c7).init !== null;
    const want7 = families.map((f) => want(7, f));
    const r7 = reader();
    read(rib, c7, r7, 1);
    // Client 8 too, read a message at a time to the end with nothing else queued for it alone.
    const c8 = client(8);
    const lazy8 = memberOf(rib, c8).init !== null;
    const want8 = families.map((f) => want(8, f));
    const r8 = reader();
    read(rib, c8, r8, 1);
    // A withdrawal encoded since: client 2's first block goes away. Then client 7 asks for a
    // route refresh while its initial update is still being read.
    for (const f of families) {
      rib.ingest('c2', upd(null, [], [pfx(2, 0, f)]));
      live.delete(pfx(2, 0, f));
    }
    rib.flush(0);
    rib.routeRefresh(c7, families[0]);
    while (read(rib, c6, r6, 1) > 0);
    while (read(rib, c7, r7, 100) > 0);
    while (read(rib, c8, r8, 1) > 0);

    if (families.length === 1) assert.ok(lazy7 && lazy8, 'clients 7 and 8 joined on the same snapshot, with a stream since it');
    // Client 6 joined before client 1's third block: that comes after its End-of-RIB.
    for (const [k, r, w] of [
      [6, r6, want6],
      [7, r7, want7],
      [8, r8, want8],
    ] as const)
      for (const [i, f] of families.entries()) assert.deepEqual(r.atEor.get(f), w[i], `client ${k} holds its initial update at its ${f} End-of-RIB`);
    assert.ok(!want7[0].includes('10.99.0.0/26') && !want7.flat().includes('2001:db8:99::/64'), 'the test means client 7 to be excluded');
    for (const [k, r] of [
      [6, r6],
      [7, r7],
      [8, r8],
    ] as const) {
      assert.deepEqual([...r.held.keys()].sort(), want(k), `client ${k} ends with every route but its own and its ORIGINATOR_ID's`);
      for (const [p, o] of r.held) assert.equal(o, live.get(p), `${p}: ORIGINATOR_ID`);
    }
    // The refresh came after client 7's End-of-RIB of that family, never inside its initial update.
    const eor7 = r7.order.indexOf(`eor ${families[0]}`);
    const lastInitial = Math.max(...want7[0].map((p) => r7.order.indexOf(`+${p}`)));
    assert.ok(eor7 > lastInitial, 'End-of-RIB after the initial routes');
    assert.ok(r7.order.length > eor7 + want(7, families[0]).length, 'the refresh re-sent the table after the End-of-RIB');

    // Oracle: a route refresh is dump(), a walk over every prefix. Each client's refresh must
    // give exactly what it holds.
    for (const [k, r] of [
      [6, r6],
      [7, r7],
      [8, r8],
    ] as const) {
      for (const f of families) {
        const fresh = reader();
        rib.routeRefresh(`c${k}`, f);
        while (read(rib, `c${k}`, fresh) > 0);
        const heldF = [...r.held.keys()].filter((p) => p.includes(':') === (f === 'ipv6')).sort();
        assert.deepEqual([...fresh.held.keys()].sort(), heldF, `client ${k}: refresh (dump) of ${f} equals the lazily read state`);
      }
    }
  });
}
