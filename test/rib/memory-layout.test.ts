// What the RIB keeps per prefix and per attribute set, and that the compact forms behave like
// the full ones (issue 18: ternd's peak RSS at 1M prefixes / 100k attribute sets). Columns that
// most tables never need are allocated only when a prefix needs them; an attribute set packs
// its flags, ORIGIN and CLUSTER_LIST length into one number.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrs, drain, makeRib, many, seq, summary, up, upd } from './helpers.js';
import { AttrStore } from '../../bgp/rib/attr-store.js';
import { LLGR_STALE } from '../../bgp/codec/communities.js';
import type { PathAttributes, Prefix } from '../../bgp/codec/types.js';
import type { PolicyResult } from '../../bgp/rib/rib-types.js';

/** Each update group's IPv4 Adj-RIB-Out of a peer. */
const groupOf = (rib: ReturnType<typeof makeRib>, id: string) => {
  const g = rib.groups.list.find((x) => x.members.has(rib.core.peer(id).idx));
  if (!g) throw new Error(`no group for ${id}`);
  return g.fams.ipv4;
};

test('RFC 4271 §9.2 split horizon: a group that none of its sources is in keeps no exclusion column; one whose member is the source makes one and still withholds it', () => {
  const rib = makeRib({ clusterId: '198.18.255.100', collectChanges: false });
  // e1 leaves by another address (another next-hop-self), so it is in a group of its own.
  const e1 = up(rib, { id: 'e1', asn: 65001, localAddress: '198.18.255.2' });
  const e2 = up(rib, { id: 'e2', asn: 65002 });
  rib.ingest(e1, upd(attrs({ asPath: seq(65001) }), many(300)));
  rib.flush(0);
  assert.equal(summary(drain(rib, e2)).nlri.length, 300);
  assert.notEqual(groupOf(rib, e1), groupOf(rib, e2));
  assert.equal(groupOf(rib, e2).excl.length, 0, 'no member of the group is ever excluded');
  assert.equal(groupOf(rib, e2).exclOf(5), -1);

  // e3 shares e2's group: its route is withheld from e3 only (split horizon).
  const e3 = up(rib, { id: 'e3', asn: 65003 });
  assert.equal(summary(drain(rib, e3)).nlri.length, 300);
  assert.equal(groupOf(rib, e3), groupOf(rib, e2));
  rib.ingest(e3, upd(attrs({ asPath: seq(65003) }), ['10.244.1.0/26']));
  rib.flush(0);
  assert.deepEqual(drain(rib, e3), [], 'nothing goes back to the source');
  assert.deepEqual(summary(drain(rib, e2)).nlri, ['10.244.1.0/26']);
  const gf = groupOf(rib, e2);
  assert.ok(gf.excl.length > 0, 'the column exists once a prefix has an excluded member');
  assert.equal(gf.excl.length, gf.out.length, 'parallel to the advertised sets');
  // The prefixes advertised before the column existed read as "nobody excluded".
  assert.equal(rib.adjRibOutCount(e2, 'ipv4'), 301);
  assert.equal(rib.adjRibOutCount(e3, 'ipv4'), 300);
  // A peer joining the group later gets the whole Adj-RIB-Out, e3's route included.
  const e4 = up(rib, { id: 'e4', asn: 65004 });
  assert.equal(summary(drain(rib, e4)).nlri.length, 301);
  // Withdrawn by its source: every member that had it hears so, the source does not.
  rib.ingest(e3, upd(null, [], ['10.244.1.0/26']));
  rib.flush(0);
  assert.deepEqual(summary(drain(rib, e2)).withdrawn, ['10.244.1.0/26']);
  assert.deepEqual(summary(drain(rib, e4)).withdrawn, ['10.244.1.0/26']);
  assert.deepEqual(drain(rib, e3), []);
});

test('RFC 4271 §9.1.4 multipath: single-path prefixes keep no signature column; a multipath set shrinking to one path is still a change', () => {
  const rib = makeRib({ maxPaths: 4 });
  const a = up(rib, { id: 'a', asn: 65001 });
  const b = up(rib, { id: 'b', asn: 65001 });
  const same = attrs({ asPath: seq(65001, 7) });
  rib.ingest(a, upd(same, many(50)));
  rib.flush(0);
  const t = rib.core.tables.ipv4;
  assert.equal(t.multipath, true);
  assert.equal(t.pfxMpSig.length, 0, 'one path per prefix: nothing to sign');
  rib.ingest(b, upd(attrs({ asPath: seq(65001, 7), nextHop: '198.18.0.2' }), ['10.0.0.0/24']));
  const joined = rib.flush(0);
  assert.equal(joined.length, 1);
  assert.equal(joined[0].multipath.length, 2, 'two equal paths form the multipath set');
  assert.ok(t.pfxMpSig.length > 0, 'the column exists once a prefix has two members');
  rib.peerDown(b);
  const left = rib.flush(0);
  assert.equal(left.length, 1, 'best path unchanged, but the multipath set shrank: one change record');
  assert.equal(left[0].prefix, '10.0.0.0/24');
  assert.equal(left[0].multipath.length, 1);
  assert.deepEqual(rib.flush(0), [], 'and nothing after');
});

test('attribute sets (RFC 4271 §9.1.2.2 inputs, RFC 4456 §9, RFC 9494 §4.3): packed ORIGIN, CLUSTER_LIST length and flags read back as interned', () => {
  const store = new AttrStore();
  const rr = store.intern(
    attrs({ origin: 1, clusterList: ['198.18.0.1', '198.18.0.2', '198.18.0.3'], originatorId: '198.18.0.9', communities: [LLGR_STALE], med: 5 }),
    '198.18.0.1',
  );
  assert.deepEqual([rr.origin, rr.clusterListLen, rr.llgrStale, rr.med, rr.dead, rr.lean, rr.clean], [1, 3, true, 5, false, false, false]);
  const plain = store.intern(attrs({ origin: 2 }), '198.18.0.1');
  assert.deepEqual([plain.origin, plain.clusterListLen, plain.llgrStale, plain.originatorId], [2, 0, false, -1]);
  // Flags and memo bits share one number: setting one leaves the others alone.
  rr.clean = true;
  rr.memoFlags = 3;
  rr.lean = true;
  assert.deepEqual([rr.origin, rr.clusterListLen, rr.llgrStale, rr.clean, rr.lean, rr.memoFlags, rr.dead], [1, 3, true, true, true, 3, false]);
  rr.memoFlags = rr.memoFlags & ~1;
  rr.clean = false;
  assert.deepEqual([rr.origin, rr.clusterListLen, rr.llgrStale, rr.clean, rr.lean, rr.memoFlags], [1, 3, true, false, true, 2]);
  // The second export memo entry and the encoded blocks exist only once written.
  assert.deepEqual([plain.memoKey2, plain.memoOut2, plain.memoMore, plain.enc4, plain.enc2], [-1, null, undefined, undefined, undefined]);
  plain.memoKey2 = 7;
  plain.memoOut2 = rr;
  plain.enc2 = Buffer.from([1]);
  assert.deepEqual([plain.memoKey2, plain.memoOut2 === rr, plain.enc4, plain.enc2?.[0]], [7, true, undefined, 1]);
  // One next-hop string per address, whatever UPDATE it was decoded from.
  const other = store.intern(attrs({ origin: 0, med: 9 }), `198.18.${0}.1`);
  assert.equal(other.nextHop, plain.nextHop);
  // Dropping the last reference marks the set dead (export memos holding it recompute).
  store.unref(rr);
  assert.equal(rr.dead, true);
  assert.equal(rr.origin, 1);
});

test('bgpctl show neighbor / tern_bgp_prefixes_*: path counts (received, accepted, stale) without a copy of the peer column', () => {
  const rib = makeRib({ collectChanges: false });
  const src = up(rib, { id: 'src', asn: 65001, importFilter: (p) => p.addr[0] !== 11 });
  up(rib, { id: 'other', asn: 65002 });
  rib.ingest(src, upd(attrs(), many(20)));
  rib.ingest(src, upd(attrs(), many(5, 11)));
  rib.ingest('other', upd(attrs({ asPath: seq(65002) }), many(3, 12)));
  rib.flush(0);
  assert.deepEqual(rib.pathCounts('src'), { received: 25, accepted: 20, stale: 0 });
  rib.markStale('src', 'ipv4');
  assert.deepEqual(rib.pathCounts('src', 'ipv4'), { received: 25, accepted: 20, stale: 25 });
  assert.deepEqual(rib.pathCounts('src', 'ipv6'), { received: 0, accepted: 0, stale: 0 });
  assert.deepEqual(rib.pathCounts('other'), { received: 3, accepted: 3, stale: 0 });
});

test('RFC 7313 §1 pre-policy Adj-RIB-In: kept as received although its column is made only once a policy changes a path', () => {
  const rib = makeRib();
  let mode: 'accept' | 'reject' | 'edit' = 'accept';
  const policy = (_p: Prefix, a: PathAttributes): PolicyResult => (mode === 'edit' ? { ...a, med: 77 } : mode);
  const src = up(rib, { id: 'pol', asn: 65009, importPolicy: policy });
  const a = attrs({ asPath: seq(65009, 3), med: 5 });
  rib.ingest(src, upd(a, many(10)));
  rib.flush(0);
  const t = rib.core.tables.ipv4;
  assert.equal(t.pPre.length, 0, 'accepted as received: pre and post are one set');
  assert.deepEqual(
    rib.adjRibIn(src, 'ipv4', 'pre').map((v) => v.attrs.med),
    Array(10).fill(5),
  );
  // The policy now edits: the post-policy sets differ, the pre-policy ones stay as received.
  mode = 'edit';
  rib.refreshImport(src);
  rib.flush(0);
  assert.ok(t.pPre.length > 0);
  assert.deepEqual(
    rib.adjRibIn(src, 'ipv4', 'post').map((v) => v.attrs.med),
    Array(10).fill(77),
  );
  assert.deepEqual(
    rib.adjRibIn(src, 'ipv4', 'pre').map((v) => v.attrs.med),
    Array(10).fill(5),
  );
  // Rejected, then accepted again: rebuilt from the pre-policy sets without the peer resending.
  mode = 'reject';
  rib.refreshImport(src);
  assert.equal(rib.flush(0).length, 10);
  assert.equal(rib.adjRibIn(src, 'ipv4', 'post').length, 0);
  assert.equal(rib.adjRibIn(src, 'ipv4', 'pre').length, 10);
  mode = 'accept';
  rib.refreshImport(src);
  assert.deepEqual(
    rib.flush(0).map((c) => c.newBest?.attrs.med),
    Array(10).fill(5),
  );
  // Withdrawn: every set is released (pre and post references alike).
  rib.ingest(src, upd(null, [], many(10)));
  rib.flush(0);
  assert.equal(rib.stats().attrSets, 0);
});
