// Malformed-input tables: for every attribute, wrong flags, wrong lengths, truncation and
// duplicates, each with the RFC 7606 action or the RFC 4271 §6 NOTIFICATION it must produce;
// plus the shapes of public incidents. Each row names its RFC section or incident.
// One file on purpose (~440 lines): most of it is one table of rows run by one loop; one table is
// what makes a missing flag, length or truncation case visible.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage } from '../../bgp/codec/index.js';
import { BgpError, type ErrorAction, type SessionContext, type UpdateMessage } from '../../bgp/codec/types.js';
import { AS_PATH_65001, BASE_ATTRS, NEXT_HOP, NLRI_10_0_0, ORIGIN_IGP, attr, ctxOf, msgOf, updateOf } from './helpers.js';

type Expect =
  | { notify: [number, number]; data?: string }
  | { action: ErrorAction | 'none'; attrType?: number; reason?: RegExp; check?: (u: UpdateMessage) => void };

interface Row {
  name: string;
  msg: Buffer;
  ctx?: SessionContext;
  expect: Expect;
}

const AS4 = ctxOf();
const AS2 = ctxOf({ as4: false });
const EBGP: SessionContext = { ...ctxOf(), ebgp: true };
const u32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
/** UPDATE with the base attributes minus `drop` types, plus `extra`, and 10.0.0.0/24. */
const withAttrs = (extra: Buffer[], drop: number[] = [], nlri: number[] = NLRI_10_0_0): Buffer => {
  const base = [ORIGIN_IGP, AS_PATH_65001, NEXT_HOP].filter((a) => !drop.includes(a[1]));
  return updateOf([], Buffer.concat([...base, ...extra]), nlri);
};
const V6_NH = [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1];
const mpReach = (value: number[], flags = 0x90): Buffer => attr(flags, 14, value);
const goodMpReach = mpReach([0, 2, 1, 16, ...V6_NH, 0, 32, 0x20, 0x01, 0x0d, 0xb8]);

const rows: Row[] = [
  // ---- ORIGIN (RFC 7606 §7.1)
  {
    name: 'ORIGIN flagged optional: Attribute Flags Error -> treat-as-withdraw (RFC 7606 §3.c)',
    msg: withAttrs([attr(0xc0, 1, [0])], [1]),
    expect: { action: 'treat-as-withdraw', attrType: 1, reason: /Flags/ },
  },
  {
    name: 'ORIGIN length 2 -> treat-as-withdraw (RFC 7606 §7.1)',
    msg: withAttrs([attr(0x40, 1, [0, 0])], [1]),
    expect: { action: 'treat-as-withdraw', attrType: 1, reason: /length 2/ },
  },
  {
    name: 'ORIGIN value 3 -> treat-as-withdraw (RFC 7606 §7.1)',
    msg: withAttrs([attr(0x40, 1, [3])], [1]),
    expect: { action: 'treat-as-withdraw', attrType: 1, reason: /value 3/ },
  },
  {
    name: 'ORIGIN missing with NLRI -> treat-as-withdraw (RFC 7606 §3.d)',
    msg: withAttrs([], [1]),
    expect: { action: 'treat-as-withdraw', attrType: 1, reason: /Missing/ },
  },
  {
    name: 'ORIGIN twice: the first is kept, the rest discarded (RFC 7606 §3.g)',
    msg: withAttrs([attr(0x40, 1, [2])]),
    expect: { action: 'attribute-discard', attrType: 1, check: (u) => assert.equal(u.attrs.origin, 0) },
  },
  // ---- AS_PATH (RFC 7606 §7.2)
  {
    name: 'AS_PATH segment of length 0 -> treat-as-withdraw (RFC 7606 §7.2)',
    msg: withAttrs([attr(0x40, 2, [2, 0])], [2]),
    expect: { action: 'treat-as-withdraw', attrType: 2, reason: /segment 1 has length 0/ },
  },
  {
    name: 'AS_PATH second segment of length 0 is named (RFC 7606 §7.2)',
    msg: withAttrs([attr(0x40, 2, [2, 1, ...u32(65001), 2, 0])], [2]),
    expect: { action: 'treat-as-withdraw', attrType: 2, reason: /segment 2 has length 0/ },
  },
  {
    name: 'AS_PATH unknown segment type 5 -> treat-as-withdraw (RFC 7606 §7.2)',
    msg: withAttrs([attr(0x40, 2, [5, 1, ...u32(65001)])], [2]),
    expect: { action: 'treat-as-withdraw', attrType: 2, reason: /unknown type 5/ },
  },
  {
    name: 'AS_PATH segment overrun -> treat-as-withdraw (RFC 7606 §7.2)',
    msg: withAttrs([attr(0x40, 2, [2, 2, ...u32(65001)])], [2]),
    expect: { action: 'treat-as-withdraw', attrType: 2, reason: /claims 2 ASNs/ },
  },
  {
    name: 'AS_PATH one octet left over -> treat-as-withdraw (RFC 7606 §7.2)',
    msg: withAttrs([attr(0x40, 2, [2, 1, ...u32(65001), 2])], [2]),
    expect: { action: 'treat-as-withdraw', attrType: 2, reason: /one octet left over/ },
  },
  {
    name: 'AS_PATH flagged optional -> treat-as-withdraw (RFC 7606 §3.c)',
    msg: withAttrs([attr(0xc0, 2, [2, 1, ...u32(65001)])], [2]),
    expect: { action: 'treat-as-withdraw', attrType: 2 },
  },
  {
    name: 'AS_PATH missing -> treat-as-withdraw (RFC 7606 §3.d)',
    msg: withAttrs([], [2]),
    expect: { action: 'treat-as-withdraw', attrType: 2, reason: /Missing/ },
  },
  {
    name: 'AS_PATH 2-octet on a 2-octet session decodes (RFC 6793 §4.2)',
    ctx: AS2,
    msg: withAttrs([attr(0x40, 2, [2, 2, 0xfd, 0xe9, 0x5b, 0xa0])], [2]),
    expect: { action: 'none', check: (u) => assert.deepEqual(u.attrs.asPath, [{ type: 2, asns: [65001, 23456] }]) },
  },
  // ---- NEXT_HOP (RFC 7606 §7.3)
  {
    name: 'NEXT_HOP length 5 -> treat-as-withdraw (RFC 7606 §7.3)',
    msg: withAttrs([attr(0x40, 3, [1, 2, 3, 4, 5])], [3]),
    expect: { action: 'treat-as-withdraw', attrType: 3, reason: /length 5/ },
  },
  {
    name: 'NEXT_HOP missing with classic NLRI -> treat-as-withdraw (RFC 7606 §3.d)',
    msg: withAttrs([], [3]),
    expect: { action: 'treat-as-withdraw', attrType: 3 },
  },
  {
    name: 'NEXT_HOP not needed with MP_REACH only (RFC 4760 §3)',
    msg: updateOf([], Buffer.concat([goodMpReach, ORIGIN_IGP, AS_PATH_65001]), []),
    expect: { action: 'none' },
  },
  {
    name: 'NEXT_HOP flagged optional -> treat-as-withdraw (RFC 7606 §3.c)',
    msg: withAttrs([attr(0x80, 3, [198, 18, 0, 1])], [3]),
    expect: { action: 'treat-as-withdraw', attrType: 3 },
  },
  // ---- MULTI_EXIT_DISC, LOCAL_PREF (RFC 7606 §7.4, §7.5)
  {
    name: 'MULTI_EXIT_DISC length 3 -> treat-as-withdraw (RFC 7606 §7.4)',
    msg: withAttrs([attr(0x80, 4, [0, 0, 1])]),
    expect: { action: 'treat-as-withdraw', attrType: 4 },
  },
  {
    name: 'MULTI_EXIT_DISC flagged well-known -> treat-as-withdraw (RFC 7606 §3.c)',
    msg: withAttrs([attr(0x40, 4, [0, 0, 0, 1])]),
    expect: { action: 'treat-as-withdraw', attrType: 4 },
  },
  {
    name: 'LOCAL_PREF length 5 -> treat-as-withdraw (RFC 7606 §7.5)',
    msg: withAttrs([attr(0x40, 5, [0, 0, 0, 0, 1])]),
    expect: { action: 'treat-as-withdraw', attrType: 5 },
  },
  {
    name: 'LOCAL_PREF truncated to 2 -> treat-as-withdraw (RFC 7606 §7.5)',
    msg: withAttrs([attr(0x40, 5, [0, 1])]),
    expect: { action: 'treat-as-withdraw', attrType: 5 },
  },
  // ---- ATOMIC_AGGREGATE, AGGREGATOR (RFC 7606 §7.6, §7.7)
  {
    name: 'ATOMIC_AGGREGATE length 1 -> attribute-discard (RFC 7606 §7.6)',
    msg: withAttrs([attr(0x40, 6, [0])]),
    expect: { action: 'attribute-discard', attrType: 6, check: (u) => assert.equal(u.attrs.atomicAggregate, undefined) },
  },
  {
    name: 'AGGREGATOR length 7 on a 4-octet session -> attribute-discard (RFC 7606 §7.7)',
    msg: withAttrs([attr(0xc0, 7, [0, 0, 0xfd, 0xe9, 1, 2, 3])]),
    expect: { action: 'attribute-discard', attrType: 7, check: (u) => assert.equal(u.attrs.aggregator, undefined) },
  },
  {
    name: 'AGGREGATOR length 8 on a 2-octet session -> attribute-discard (RFC 7606 §7.7)',
    ctx: AS2,
    msg: withAttrs([attr(0x40, 2, [2, 1, 0xfd, 0xe9]), attr(0xc0, 7, [0, 0, 0xfd, 0xe9, 1, 2, 3, 4])], [2]),
    expect: { action: 'attribute-discard', attrType: 7 },
  },
  // ---- COMMUNITIES (RFC 7606 §7.8), ORIGINATOR_ID, CLUSTER_LIST (§7.9, §7.10)
  {
    name: 'COMMUNITIES length 5 -> treat-as-withdraw (RFC 7606 §7.8)',
    msg: withAttrs([attr(0xc0, 8, [0, 0, 0, 1, 2])]),
    expect: { action: 'treat-as-withdraw', attrType: 8 },
  },
  {
    name: 'COMMUNITIES length 0 -> treat-as-withdraw (RFC 7606 §7.8)',
    msg: withAttrs([attr(0xc0, 8, [])]),
    expect: { action: 'treat-as-withdraw', attrType: 8 },
  },
  {
    name: 'COMMUNITIES twice -> second discarded (RFC 7606 §3.g)',
    msg: withAttrs([attr(0xc0, 8, u32(1)), attr(0xc0, 8, u32(2))]),
    expect: { action: 'attribute-discard', attrType: 8, check: (u) => assert.deepEqual(u.attrs.communities, [1]) },
  },
  {
    name: 'ORIGINATOR_ID length 3 -> treat-as-withdraw (RFC 7606 §7.9)',
    msg: withAttrs([attr(0x80, 9, [1, 2, 3])]),
    expect: { action: 'treat-as-withdraw', attrType: 9 },
  },
  {
    name: 'CLUSTER_LIST length 6 -> treat-as-withdraw (RFC 7606 §7.10)',
    msg: withAttrs([attr(0x80, 10, [1, 2, 3, 4, 5, 6])]),
    expect: { action: 'treat-as-withdraw', attrType: 10 },
  },
  {
    name: 'AS_PATH with an AS_CONFED_SEQUENCE from an eBGP peer -> treat-as-withdraw (RFC 5065 §5.3, RFC 7606 §7.2)',
    ctx: EBGP,
    msg: withAttrs([attr(0x40, 2, [2, 1, ...u32(65001), 3, 1, ...u32(64999)])], [2]),
    expect: { action: 'treat-as-withdraw', attrType: 2, reason: /confederation segments \(RFC 5065 §5\.3\)/ },
  },
  {
    name: 'ORIGINATOR_ID from an eBGP peer -> attribute-discard (RFC 7606 §7.9)',
    ctx: EBGP,
    msg: withAttrs([attr(0x80, 9, [198, 18, 255, 1])]),
    expect: { action: 'attribute-discard', attrType: 9, check: (u) => assert.equal(u.attrs.originatorId, undefined) },
  },
  {
    name: 'CLUSTER_LIST from an eBGP peer -> attribute-discard (RFC 7606 §7.10)',
    ctx: EBGP,
    msg: withAttrs([attr(0x80, 10, [198, 18, 255, 1])]),
    expect: { action: 'attribute-discard', attrType: 10, check: (u) => assert.equal(u.attrs.clusterList, undefined) },
  },
  {
    name: 'ORIGINATOR_ID of length 3 from an eBGP peer is discarded, not a withdraw (RFC 7606 §7.9)',
    ctx: EBGP,
    msg: withAttrs([attr(0x80, 9, [1, 2, 3])]),
    expect: { action: 'attribute-discard', attrType: 9 },
  },
  {
    name: 'ORIGINATOR_ID and CLUSTER_LIST from an iBGP peer are kept (RFC 4456 §8)',
    msg: withAttrs([attr(0x80, 9, [198, 18, 0, 5]), attr(0x80, 10, [198, 18, 0, 6])]),
    expect: { action: 'none', check: (u) => assert.deepEqual([u.attrs.originatorId, u.attrs.clusterList], ['198.18.0.5', ['198.18.0.6']]) },
  },
  // ---- MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 7606 §7.11, §5.3, §3.g)
  {
    name: 'MP_REACH next hop length longer than the data -> session reset 3/9 (RFC 7606 §7.11)',
    msg: updateOf([], Buffer.concat([mpReach([0, 2, 1, 32, ...V6_NH]), ORIGIN_IGP, AS_PATH_65001]), []),
    expect: { notify: [3, 9] },
  },
  {
    name: 'MP_REACH IPv6 next hop length 8 -> session reset 3/9 (RFC 7606 §7.11)',
    msg: updateOf([], Buffer.concat([mpReach([0, 2, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0]), ORIGIN_IGP, AS_PATH_65001]), []),
    expect: { notify: [3, 9] },
  },
  { name: 'MP_REACH attribute of 4 bytes -> session reset 3/9 (RFC 7606 §7.11)', msg: updateOf([], mpReach([0, 2, 1, 0]), []), expect: { notify: [3, 9] } },
  {
    name: 'MP_REACH prefix /129 -> session reset 3/10 (RFC 7606 §5.3)',
    msg: updateOf([], Buffer.concat([mpReach([0, 2, 1, 16, ...V6_NH, 0, 129, 0x20]), ORIGIN_IGP, AS_PATH_65001]), []),
    expect: { notify: [3, 10] },
  },
  {
    name: 'MP_REACH flagged transitive -> session reset 3/4 (RFC 7606 §3.c, §7.11)',
    msg: updateOf([], mpReach([0, 2, 1, 16, ...V6_NH, 0], 0xd0), []),
    expect: { notify: [3, 4] },
  },
  {
    name: 'MP_REACH twice -> session reset 3/1 (RFC 7606 §3.g)',
    msg: updateOf([], Buffer.concat([goodMpReach, goodMpReach, ORIGIN_IGP, AS_PATH_65001]), []),
    expect: { notify: [3, 1] },
  },
  {
    name: 'MP_UNREACH twice -> session reset 3/1 (RFC 7606 §3.g)',
    msg: updateOf([], Buffer.concat([attr(0x80, 15, [0, 2, 1]), attr(0x80, 15, [0, 2, 1])]), []),
    expect: { notify: [3, 1] },
  },
  {
    name: 'MP_UNREACH prefix cut short -> session reset 3/10 (RFC 7606 §5.3)',
    msg: updateOf([], attr(0x80, 15, [0, 2, 1, 48, 0x20, 0x01]), []),
    expect: { notify: [3, 10] },
  },
  { name: 'MP_UNREACH of 2 bytes -> session reset 3/9 (RFC 7606 §7.11)', msg: updateOf([], attr(0x80, 15, [0, 2]), []), expect: { notify: [3, 9] } },
  {
    name: 'MP_REACH for an AFI/SAFI Tern does not carry is ignored, noted (RFC 4760 §7)',
    msg: updateOf([], Buffer.concat([mpReach([0, 1, 128, 4, 1, 2, 3, 4, 0]), ORIGIN_IGP, AS_PATH_65001]), []),
    expect: { action: 'attribute-discard', attrType: 14 },
  },
  // ---- EXTENDED_COMMUNITIES, LARGE_COMMUNITY, OTC
  {
    name: 'EXTENDED_COMMUNITIES length 7 -> treat-as-withdraw (RFC 7606 §7.14)',
    msg: withAttrs([attr(0xc0, 16, [0, 2, 0, 0, 0, 0, 1])]),
    expect: { action: 'treat-as-withdraw', attrType: 16 },
  },
  {
    name: 'LARGE_COMMUNITY length 11 -> treat-as-withdraw (RFC 8092 §5)',
    msg: withAttrs([attr(0xc0, 32, new Array(11).fill(1))]),
    expect: { action: 'treat-as-withdraw', attrType: 32 },
  },
  {
    name: 'LARGE_COMMUNITY flagged non-transitive -> treat-as-withdraw (RFC 7606 §3.c)',
    msg: withAttrs([attr(0x80, 32, new Array(12).fill(1))]),
    expect: { action: 'treat-as-withdraw', attrType: 32 },
  },
  {
    name: 'OTC length 3 -> treat-as-withdraw (RFC 9234 §5)',
    msg: withAttrs([attr(0xc0, 35, [0, 0, 1])]),
    expect: { action: 'treat-as-withdraw', attrType: 35 },
  },
  // ---- AS4_PATH, AS4_AGGREGATOR (RFC 6793 §6, §4.1)
  {
    name: 'AS4_PATH segment of length 0 on a 2-octet session -> attribute-discard (RFC 6793 §6)',
    ctx: AS2,
    msg: withAttrs([attr(0x40, 2, [2, 1, 0x5b, 0xa0]), attr(0xc0, 17, [2, 0])], [2]),
    expect: { action: 'attribute-discard', attrType: 17, check: (u) => assert.deepEqual(u.attrs.asPath, [{ type: 2, asns: [23456] }]) },
  },
  {
    // Issue 15: the whole AS4_PATH was dropped, losing the 4-octet ASNs behind AS_TRANS.
    name: 'AS4_PATH with confederation segments: only those segments are discarded, the rest is merged (RFC 6793 §6)',
    ctx: AS2,
    msg: withAttrs(
      [
        attr(0x40, 2, [2, 3, 0xfd, 0xe9, 0x5b, 0xa0, 0x5b, 0xa0]),
        attr(0xc0, 17, [3, 1, ...u32(4200000009), 2, 2, ...u32(4200000000), ...u32(4200000001), 4, 1, ...u32(4200000008)]),
      ],
      [2],
    ),
    expect: {
      action: 'attribute-discard',
      attrType: 17,
      reason: /2 confederation segment\(s\) discarded/,
      check: (u) => assert.deepEqual(u.attrs.asPath, [{ type: 2, asns: [65001, 4200000000, 4200000001] }]),
    },
  },
  {
    name: 'AS4_PATH of confederation segments only: AS_PATH stands as received (RFC 6793 §6)',
    ctx: AS2,
    msg: withAttrs([attr(0x40, 2, [2, 1, 0x5b, 0xa0]), attr(0xc0, 17, [3, 1, ...u32(4200000000)])], [2]),
    expect: { action: 'attribute-discard', attrType: 17, check: (u) => assert.deepEqual(u.attrs.asPath, [{ type: 2, asns: [23456] }]) },
  },
  {
    name: 'AS4_PATH on a 4-octet session is ignored (RFC 6793 §4.1)',
    msg: withAttrs([attr(0xc0, 17, [2, 1, ...u32(4200000000)])]),
    expect: { action: 'attribute-discard', attrType: 17, check: (u) => assert.equal(u.attrs.as4Path, undefined) },
  },
  {
    name: 'AS4_PATH merged into AS_PATH on a 2-octet session (RFC 6793 §4.2.3)',
    ctx: AS2,
    msg: withAttrs([attr(0x40, 2, [2, 3, 0xfd, 0xe9, 0x5b, 0xa0, 0x5b, 0xa0]), attr(0xc0, 17, [2, 2, ...u32(4200000000), ...u32(4200000001)])], [2]),
    expect: { action: 'none', check: (u) => assert.deepEqual(u.attrs.asPath, [{ type: 2, asns: [65001, 4200000000, 4200000001] }]) },
  },
  {
    name: 'AS4_PATH longer than AS_PATH is ignored (RFC 6793 §4.2.3)',
    ctx: AS2,
    msg: withAttrs([attr(0x40, 2, [2, 1, 0x5b, 0xa0]), attr(0xc0, 17, [2, 2, ...u32(4200000000), ...u32(4200000001)])], [2]),
    expect: { action: 'attribute-discard', attrType: 17, check: (u) => assert.deepEqual(u.attrs.asPath, [{ type: 2, asns: [23456] }]) },
  },
  {
    name: 'AS4_AGGREGATOR length 7 -> attribute-discard (RFC 6793 §6)',
    ctx: AS2,
    msg: withAttrs([attr(0x40, 2, [2, 1, 0xfd, 0xe9]), attr(0xc0, 18, [1, 2, 3, 4, 5, 6, 7])], [2]),
    expect: { action: 'attribute-discard', attrType: 18 },
  },
  // ---- Unknown attributes (RFC 4271 §5, §6.3, §9)
  {
    name: 'unrecognized well-known attribute -> NOTIFICATION 3/2 with the attribute (RFC 4271 §6.3)',
    msg: withAttrs([attr(0x40, 99, [1, 2])]),
    expect: { notify: [3, 2], data: '406302' + '0102' },
  },
  {
    name: 'incident: corrupted Tunnel Encapsulation (type 23) is kept with Partial, no reset (RFC 7606 §2, RFC 4271 §9)',
    msg: withAttrs([attr(0xc0, 23, [0xff, 0xff, 0, 99, 1])]),
    expect: { action: 'none', check: (u) => assert.deepEqual(u.attrs.unknown, [{ flags: 0xe0, type: 23, value: Buffer.from([0xff, 0xff, 0, 99, 1]) }]) },
  },
  {
    name: 'unknown optional non-transitive attribute is quietly dropped (RFC 4271 §5)',
    msg: withAttrs([attr(0x80, 200, [1])]),
    expect: { action: 'none', check: (u) => assert.equal(u.attrs.unknown, undefined) },
  },
  {
    name: 'incident: an UPDATE with only an unknown transitive attribute, no NLRI, decodes (RFC 7606 §5.2)',
    msg: updateOf([], attr(0xc0, 99, [1, 2, 3]), []),
    expect: { action: 'none', check: (u) => assert.equal(u.attrs.unknown?.length, 1) },
  },
  {
    name: 'an UPDATE with only an unknown transitive attribute and NLRI -> treat-as-withdraw (RFC 7606 §3.d)',
    msg: updateOf([], attr(0xc0, 99, [1, 2, 3]), NLRI_10_0_0),
    expect: { action: 'treat-as-withdraw', attrType: 1 },
  },
  // ---- Attribute framing (RFC 7606 §4) and message structure (RFC 4271 §6.3)
  {
    name: 'last attribute length overruns the field -> treat-as-withdraw (RFC 7606 §4)',
    msg: updateOf([], Buffer.concat([BASE_ATTRS, Buffer.from([0xc0, 8, 8, 0, 0, 0, 1])]), NLRI_10_0_0),
    expect: { action: 'treat-as-withdraw', reason: /overruns/ },
  },
  {
    name: 'attribute header cut short -> treat-as-withdraw (RFC 7606 §4)',
    msg: updateOf([], Buffer.concat([BASE_ATTRS, Buffer.from([0xc0, 8])]), NLRI_10_0_0),
    expect: { action: 'treat-as-withdraw', reason: /cut short/ },
  },
  {
    name: 'attribute overrun after MP_REACH -> session reset 3/1 (RFC 7606 §4)',
    msg: updateOf([], Buffer.concat([goodMpReach, Buffer.from([0x40, 1, 9, 0])]), []),
    expect: { notify: [3, 1] },
  },
  { name: 'Withdrawn Routes Length overruns the message -> 3/1 (RFC 4271 §6.3)', msg: msgOf(2, [0, 9, 24, 10, 0, 0, 0, 0]), expect: { notify: [3, 1] } },
  { name: 'Total Path Attribute Length overruns the message -> 3/1 (RFC 4271 §6.3)', msg: msgOf(2, [0, 0, 0, 9, 0x40, 1, 1, 0]), expect: { notify: [3, 1] } },
  {
    name: 'NLRI prefix /33 -> 3/10 Invalid Network Field (RFC 4271 §6.3, RFC 7606 §5.3)',
    msg: withAttrs([], [], [33, 10, 0, 0, 0, 0]),
    expect: { notify: [3, 10] },
  },
  { name: 'NLRI prefix cut short -> 3/10 (RFC 7606 §5.3)', msg: withAttrs([], [], [24, 10, 0]), expect: { notify: [3, 10] } },
  { name: 'withdrawn prefix /40 -> 3/10 (RFC 7606 §5.3)', msg: updateOf([40, 1, 2, 3, 4, 5], [], []), expect: { notify: [3, 10] } },
  {
    name: 'add-path NLRI cut inside the path identifier -> 3/10 (RFC 7911 §3)',
    ctx: ctxOf({ addPath: ['ipv4'] }),
    msg: withAttrs([], [], [0, 0, 1]),
    expect: { notify: [3, 10] },
  },
];

for (const row of rows) {
  test(row.name, () => {
    const ctx = row.ctx ?? AS4;
    const e = row.expect;
    if ('notify' in e) {
      assert.throws(
        () => decodeMessage(row.msg, ctx),
        (err: unknown) => {
          assert.ok(err instanceof BgpError, `expected BgpError, got ${String(err)}`);
          assert.deepEqual([err.code, err.subcode], e.notify, err.message);
          if (e.data !== undefined) assert.equal(err.data.toString('hex'), e.data);
          return true;
        },
      );
      return;
    }
    const u = decodeMessage(row.msg, ctx) as UpdateMessage;
    if (e.action === 'none') {
      assert.equal(u.treatAsWithdraw, undefined, JSON.stringify(u.errors));
      assert.equal(u.errors, undefined);
    } else {
      assert.equal(u.treatAsWithdraw === true, e.action === 'treat-as-withdraw', JSON.stringify(u.errors));
      const hit = u.errors?.find((x) => x.action === e.action && (e.attrType === undefined || x.attrType === e.attrType));
      assert.ok(hit, `no ${e.action} error for attribute ${e.attrType}: ${JSON.stringify(u.errors)}`);
      if (e.reason) assert.match(hit.reason, e.reason);
    }
    e.check?.(u);
  });
}

test('incident: AS_PATH of 2295 ASNs in an extended message decodes whole (RFC 8654, RFC 4271 §4.3)', () => {
  const segs: number[] = [];
  for (let s = 0; s < 9; s++) {
    segs.push(2, 255);
    for (let i = 0; i < 255; i++) segs.push(...u32(64512 + s * 255 + i));
  }
  const msg = updateOf([], Buffer.concat([ORIGIN_IGP, attr(0x50, 2, segs), NEXT_HOP]), NLRI_10_0_0);
  assert.ok(msg.length > 4096 && msg.length < 65536);
  const u = decodeMessage(msg, ctxOf({ extended: true })) as UpdateMessage;
  assert.equal(u.errors, undefined);
  assert.equal(
    u.attrs.asPath?.reduce((n, s) => n + s.asns.length, 0),
    2295,
  );
  // Without RFC 8654 the same bytes are a Bad Message Length (RFC 4271 §6.1).
  assert.throws(
    () => decodeMessage(msg, AS4),
    (err: unknown) => err instanceof BgpError && err.code === 1 && err.subcode === 2,
  );
});
