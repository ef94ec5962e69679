// The hostile-peer cases: the malformed shapes of public BGP CVEs (FRR 2022-2023, GoBGP, OpenBGPD,
// BIRD) and the RFC 7606 table, each with the outcome the RFCs require. One list serves three
// consumers so they cannot drift apart:
//   - conformance/hostile.test.ts sends each case over a live session with ternd, a BIRD
//     bystander watching (what Tern passes on, and that the bystander is never reset);
//   - test/hostile/replay.test.ts runs each case in-process through the FSM and the RIB;
//   - docs/security.md carries the table rendered by renderTable(); test/hostile/doc.test.ts
//     fails when the document and this list differ.
// Bytes are written out by hand (not with Tern's encoder) so the codec is not its own oracle.
// One file on purpose (~640 lines): one ordered list, read as one table; a case's position is its
// prefix on the wire (casePrefix).

import { attr, msgOf, updateOf } from '../codec/helpers.js';

/** What the RFCs require Tern to do with a case. */
export type Outcome =
  /** RFC 4271 §6: NOTIFICATION with this code/subcode, session reset. */
  | { kind: 'notify'; code: number; subcode: number }
  /**
   * RFC 7606 §2 treat-as-withdraw (or RFC 4271 §6.3 "route ignored"): the prefix is gone, the
   * session stays. `nextHop`: ignored for its next hop, which RFC 4271 §6.3 says "SHOULD be
   * logged": Tern must count it (bad-next-hop) and log it.
   */
  | { kind: 'withdraw'; nextHop?: true }
  /** RFC 7606 §2 attribute-discard: the route is used without these attribute type codes. */
  | { kind: 'discard'; attrs: number[] }
  /** Accepted; passed on as the RFCs say (see `onward`). */
  | { kind: 'accept' };

/** What Tern must send on to another (eBGP) peer for the case prefix. */
export interface Onward {
  /** Attribute type codes that must not appear in Tern's UPDATE for the prefix. */
  absent?: number[];
  /** Attribute type codes that must appear, with these flags (Partial set for a passed-on unknown). */
  present?: { type: number; flags: number }[];
  /** AS_PATH (as BIRD shows it, our AS first) that the other peer must see. */
  asPath?: number[];
  /** The prefix must not be sent to a peer without RFC 8654 (message would exceed 4096 bytes). */
  notSent?: boolean;
}

/** What a case knows about its own session when it builds bytes. */
export interface CaseEnv {
  /** The case's prefix is 10.15.<n>.0/24. */
  n: number;
  /** The hostile peer's address (used as NEXT_HOP) and AS. */
  addr: number[];
  as: number;
  /**
   * Tern's address on the hostile peer's link, and Tern's BGP Identifier (= its node address,
   * the source of every session: Calico's UseNodeIP). So `ternAddr` is one of Tern's addresses
   * on an interface other than the session's: only the kernel's address list knows it.
   */
  ternAddr: number[];
  ternId: number[];
  /** The same three for IPv6: the hostile peer's, Tern's on its link, Tern's node address. */
  addr6: number[];
  ternAddr6: number[];
  ternId6: number[];
}

export interface HostileCase {
  id: string;
  /** Where the shape comes from: a CVE / incident, or the RFC row it exercises. */
  source: string;
  /** What is sent, in a few words. */
  shape: string;
  /** The RFC rule that decides the outcome ("RFC NNNN §x.y: ..."). */
  rule: string;
  expect: Outcome;
  onward?: Onward;
  /**
   * Session shape: a 2-octet AS speaker, RFC 8654 extended messages, IPv6 unicast too (`v6`, the
   * session fuzzer's streams); `ipv6`: the session runs over IPv6 and carries IPv6 unicast only
   * (as Calico plans a session per family), and the case prefix is 2001:db8:15:<n>::/64.
   */
  session?: { as4?: boolean; extended?: boolean; v6?: boolean; ipv6?: boolean };
  /** OPEN-stage case: this replaces the hostile peer's OPEN; no UPDATE is sent. */
  open?: (e: CaseEnv) => Buffer;
  /** Established-stage case: the messages sent after the canary route is in place. */
  messages?: (e: CaseEnv) => Buffer[];
  /** Issue 15 defect this outcome depends on (fixed on branch i15-defects). */
  defect?: string;
}

// ---- hand-built pieces --------------------------------------------------------------------

const u16 = (v: number): number[] => [(v >> 8) & 255, v & 255];
const u32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const asn = (e: CaseEnv, as4: boolean, v: number): number[] => (as4 ? u32(v) : u16(v));

/** Community (65015, v): marks which UPDATE for the prefix the other peer last saw. */
export const MARK_CANARY = (65015 * 65536 + 1) >>> 0;
export const MARK_HOSTILE = (65015 * 65536 + 2) >>> 0;
const community = (...v: number[]): Buffer => attr(0xc0, 8, v.flatMap(u32));

export const nlriOf = (e: CaseEnv): number[] => [24, 10, 15, e.n];
/** The IPv6 case prefix 2001:db8:15:<n>::/64 in NLRI form. */
const nlri6Of = (e: CaseEnv): number[] => [64, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x15, (e.n >> 8) & 255, e.n & 255];
/** The prefix a case announces, as text. */
export const casePrefix = (c: Pick<HostileCase, 'session'>, n: number): string => (c.session?.ipv6 ? `2001:db8:15:${n.toString(16)}::/64` : `10.15.${n}.0/24`);
const origin = (v = 0, flags = 0x40): Buffer => attr(flags, 1, [v]);
const asPath = (e: CaseEnv, as4 = true): Buffer => attr(0x40, 2, [2, 1, ...asn(e, as4, e.as)]);
const nextHop = (e: CaseEnv, nh = e.addr): Buffer => attr(0x40, 3, nh);

/** ORIGIN, AS_PATH [peer AS], NEXT_HOP, COMMUNITIES `mark`, replacing the types in `extra`. */
function baseAttrs(e: CaseEnv, mark: number, extra: Buffer[] = [], as4 = true): Buffer {
  const types = new Set(extra.map((a) => a[1]));
  const base = [origin(), asPath(e, as4), nextHop(e), community(mark)].filter((a) => !types.has(a[1]));
  return Buffer.concat([...base, ...extra]);
}

/** RFC 4760 §3 MP_REACH_NLRI for IPv6 unicast: the case prefix via `nh` (16 or 32 octets). */
const mpReach6 = (e: CaseEnv, nh: number[]): Buffer => attr(0x80, 14, [0, 2, 1, nh.length, ...nh, 0, ...nlri6Of(e)]);

/** An IPv6-only UPDATE: no NEXT_HOP attribute, which RFC 4760 §3 leaves out without IPv4 NLRI. */
const update6 = (e: CaseEnv, mark: number, nh: number[]): Buffer => updateOf([], Buffer.concat([origin(), asPath(e), community(mark), mpReach6(e, nh)]), []);

/** The canary: the case prefix announced cleanly before the hostile message. */
export function canary(e: CaseEnv, s: HostileCase['session'] = {}): Buffer {
  if (s.ipv6) return update6(e, MARK_CANARY, e.addr6);
  return updateOf([], baseAttrs(e, MARK_CANARY, [], s.as4 !== false), nlriOf(e));
}

/** The case prefix again with the hostile attribute(s) in place of or beside the base ones. */
const hostileUpdate = (e: CaseEnv, extra: Buffer[], drop: number[] = [], as4 = true): Buffer => {
  const body = Buffer.concat([
    ...[origin(), asPath(e, as4), nextHop(e), community(MARK_HOSTILE)].filter((a) => !drop.includes(a[1]) && !extra.some((x) => x[1] === a[1])),
    ...extra,
  ]);
  return updateOf([], body, nlriOf(e));
};

const open = (e: CaseEnv, params: number[], hold = 60): Buffer => msgOf(1, [4, ...u16(e.as), ...u16(hold), ...e.addr, params.length, ...params]);
const MP_IPV4 = [2, 6, 1, 4, 0, 1, 0, 1];

// ---- the cases ----------------------------------------------------------------------------

export const CASES: HostileCase[] = [
  // RFC 4271 §6.1 message header
  {
    id: 'hdr-marker',
    source: 'RFC 4271 §6.1',
    shape: 'KEEPALIVE whose marker is not all ones',
    rule: 'RFC 4271 §6.1: Connection Not Synchronized',
    expect: { kind: 'notify', code: 1, subcode: 1 },
    messages: () => [Buffer.from('ffffffffffffffffffffffffffff00ff001304', 'hex')],
  },
  {
    id: 'hdr-short',
    source: 'RFC 4271 §6.1',
    shape: 'header length 18',
    rule: 'RFC 4271 §6.1: Bad Message Length',
    expect: { kind: 'notify', code: 1, subcode: 2 },
    messages: () => [Buffer.from('ffffffffffffffffffffffffffffffff001204', 'hex')],
  },
  {
    id: 'hdr-long',
    source: 'RFC 8654 §4',
    shape: 'UPDATE of 4097 bytes without the Extended Message capability',
    rule: 'RFC 8654 §4, RFC 4271 §6.1: Bad Message Length',
    expect: { kind: 'notify', code: 1, subcode: 2 },
    messages: (e) => [
      updateOf([], Buffer.concat([baseAttrs(e, MARK_HOSTILE), attr(0xd0, 99, Buffer.alloc(4097 - 23 - 4 - baseAttrs(e, MARK_HOSTILE).length - 4))]), nlriOf(e)),
    ],
  },
  {
    id: 'hdr-keepalive-len',
    source: 'RFC 4271 §6.1',
    shape: 'KEEPALIVE of 20 bytes',
    rule: 'RFC 4271 §4.4, §6.1: Bad Message Length',
    expect: { kind: 'notify', code: 1, subcode: 2 },
    messages: () => [msgOf(4, [0])],
  },
  {
    id: 'hdr-type',
    source: 'FRR CVE-2022-37032',
    shape: 'message type 6 (dynamic capability) with a cut-short capability',
    rule: 'RFC 4271 §6.1: Bad Message Type (type not negotiated)',
    expect: { kind: 'notify', code: 1, subcode: 3 },
    messages: () => [msgOf(6, [0, 0, 0x80])],
  },
  {
    id: 'fsm-open',
    source: 'RFC 6608',
    shape: 'OPEN on an Established session',
    rule: 'RFC 6608 §3: FSM Error, Unexpected Message in Established',
    expect: { kind: 'notify', code: 5, subcode: 3 },
    messages: (e) => [open(e, MP_IPV4)],
  },
  // OPEN stage: the hostile OPEN replaces the handshake
  {
    id: 'open-ext-params',
    source: 'FRR CVE-2022-40302, CVE-2022-40318',
    shape: 'OPEN: RFC 9072 extended parameters length overruns the message',
    rule: 'RFC 9072 §2, RFC 4271 §6.2: OPEN Message Error',
    expect: { kind: 'notify', code: 2, subcode: 0 },
    open: (e) => open(e, [255, 255, ...u16(300), 2, 6, 1, 4, 0, 1, 0, 1]),
  },
  {
    id: 'open-cut-param',
    source: 'FRR CVE-2022-43681',
    shape: 'OPEN ending at an optional parameter length octet',
    rule: 'RFC 4271 §6.2: OPEN Message Error',
    expect: { kind: 'notify', code: 2, subcode: 0 },
    open: (e) => msgOf(1, [4, ...u16(e.as), 0, 60, ...e.addr, 2, 2]),
  },
  {
    id: 'open-llgr-len',
    source: 'FRR CVE-2023-31489',
    shape: 'OPEN: LLGR capability of 3 bytes (not a multiple of 7)',
    rule: 'RFC 9494 §3, RFC 5492 §3: a malformed capability; the OPEN is not accepted',
    expect: { kind: 'notify', code: 2, subcode: 0 },
    open: (e) => open(e, [...MP_IPV4, 2, 5, 71, 3, 0, 1, 1]),
  },
  {
    id: 'open-as4-len',
    source: 'FRR CVE-2022-36440',
    shape: 'OPEN: 4-octet AS capability of 2 bytes',
    rule: 'RFC 6793 §3, RFC 5492 §3: a malformed capability; the OPEN is not accepted',
    expect: { kind: 'notify', code: 2, subcode: 0 },
    open: (e) => open(e, [...MP_IPV4, 2, 4, 65, 2, 0xfd, 0xea]),
  },
  // RFC 4271 §6.3 UPDATE structure
  {
    id: 'upd-withdrawn-len',
    source: 'GoBGP CVE-2026-37462',
    shape: 'Withdrawn Routes Length past the end of the message',
    rule: 'RFC 4271 §6.3: Malformed Attribute List',
    expect: { kind: 'notify', code: 3, subcode: 1 },
    messages: () => [msgOf(2, [0, 9, 24, 10, 0, 0, 0, 0])],
  },
  {
    id: 'upd-nlri-33',
    source: 'RFC 7606 §5.3',
    shape: 'NLRI prefix length 33',
    rule: 'RFC 7606 §5.3, RFC 4271 §6.3: Invalid Network Field',
    expect: { kind: 'notify', code: 3, subcode: 10 },
    messages: (e) => [updateOf([], baseAttrs(e, MARK_HOSTILE), [33, 10, 15, e.n, 0, 0])],
  },
  {
    id: 'upd-unknown-wellknown',
    source: 'GoBGP CVE-2026-41642',
    shape: 'unrecognized attribute flagged well-known (type 99)',
    rule: 'RFC 4271 §6.3: Unrecognized Well-known Attribute',
    expect: { kind: 'notify', code: 3, subcode: 2 },
    messages: (e) => [hostileUpdate(e, [attr(0x40, 99, [1, 2])])],
  },
  {
    id: 'upd-mp-reach-nh',
    source: 'FRR CVE-2023-46752',
    shape: 'MP_REACH_NLRI (IPv4) with next hop length 3',
    rule: 'RFC 7606 §7.11: session reset, Optional Attribute Error',
    expect: { kind: 'notify', code: 3, subcode: 9 },
    messages: (e) => [updateOf([], Buffer.concat([origin(), asPath(e), attr(0x80, 14, [0, 1, 1, 3, 1, 2, 3, 0, 24, 10, 15, e.n])]), [])],
  },
  {
    id: 'upd-mp-reach-twice',
    source: 'RFC 7606 §3.g',
    shape: 'MP_REACH_NLRI twice',
    rule: 'RFC 7606 §3.g: Malformed Attribute List',
    expect: { kind: 'notify', code: 3, subcode: 1 },
    messages: (e) => {
      const mp = attr(0x80, 14, [0, 1, 1, 4, ...e.addr, 0, 24, 10, 15, e.n]);
      return [updateOf([], Buffer.concat([origin(), asPath(e), mp, mp]), [])];
    },
  },
  // RFC 7606 treat-as-withdraw
  {
    id: 'tw-origin-value',
    source: 'RFC 7606 §7.1',
    shape: 'ORIGIN value 3',
    rule: 'RFC 7606 §7.1: treat-as-withdraw',
    expect: { kind: 'withdraw' },
    messages: (e) => [hostileUpdate(e, [origin(3)])],
  },
  {
    id: 'tw-origin-flags',
    source: 'GoBGP #3392 (nil dereference)',
    shape: 'ORIGIN without the Transitive flag',
    rule: 'RFC 7606 §3.c: Attribute Flags conflict, treat-as-withdraw',
    expect: { kind: 'withdraw' },
    messages: (e) => [hostileUpdate(e, [origin(0, 0x00)])],
  },
  {
    id: 'tw-aspath-seg0',
    source: 'GoBGP GHSA-frrj-87jh-2772',
    shape: 'AS_PATH segment of length 0',
    rule: 'RFC 7606 §7.2: treat-as-withdraw',
    expect: { kind: 'withdraw' },
    messages: (e) => [hostileUpdate(e, [attr(0x40, 2, [2, 0])])],
  },
  {
    id: 'tw-aspath-confed-ebgp',
    source: 'found by the structured fuzzer (issue 15)',
    shape: 'AS_PATH with an AS_CONFED_SEQUENCE from an eBGP peer (Tern has no confederation)',
    rule: 'RFC 5065 §5.3: malformed AS_PATH; RFC 7606 §7.2: treat-as-withdraw',
    expect: { kind: 'withdraw' },
    defect: 'new: confederation segments accepted from a peer outside our confederation',
    messages: (e) => [hostileUpdate(e, [attr(0x40, 2, [2, 1, ...u32(e.as), 3, 1, ...u32(64999)])])],
  },
  {
    id: 'tw-as4path-first',
    source: 'GoBGP CVE-2026-41643',
    shape: 'AS4_PATH (wrong flags, length 1) before an AS_PATH of segment type 255',
    rule: 'RFC 7606 §7.2 (AS_PATH), RFC 6793 §6 (AS4_PATH discarded): treat-as-withdraw',
    expect: { kind: 'withdraw' },
    messages: (e) => [updateOf([], Buffer.concat([attr(0x40, 17, [2]), attr(0x40, 2, [0xff, 0xff, 0xde, 0xad]), origin(), nextHop(e)]), nlriOf(e))],
  },
  {
    id: 'tw-nexthop-len',
    source: 'RFC 7606 §7.3',
    shape: 'NEXT_HOP of 5 bytes',
    rule: 'RFC 7606 §7.3: treat-as-withdraw',
    expect: { kind: 'withdraw' },
    messages: (e) => [hostileUpdate(e, [attr(0x40, 3, [...e.addr, 0])])],
  },
  {
    id: 'tw-med-len',
    source: 'RFC 7606 §7.4',
    shape: 'MULTI_EXIT_DISC of 3 bytes',
    rule: 'RFC 7606 §7.4: treat-as-withdraw',
    expect: { kind: 'withdraw' },
    messages: (e) => [hostileUpdate(e, [attr(0x80, 4, [0, 0, 1])])],
  },
  {
    id: 'tw-communities-len',
    source: 'RFC 7606 §7.8',
    shape: 'COMMUNITIES of 5 bytes',
    rule: 'RFC 7606 §7.8: treat-as-withdraw',
    expect: { kind: 'withdraw' },
    messages: (e) => [hostileUpdate(e, [attr(0xc0, 8, [0xfd, 0xf7, 0, 2, 9])])],
  },
  {
    id: 'tw-large-community-len',
    source: 'RFC 8092 §5',
    shape: 'LARGE_COMMUNITY of 11 bytes',
    rule: 'RFC 8092 §5, RFC 7606: treat-as-withdraw',
    expect: { kind: 'withdraw' },
    messages: (e) => [hostileUpdate(e, [attr(0xc0, 32, new Array(11).fill(1))])],
  },
  {
    id: 'tw-otc-len',
    source: 'BIRD OTC incident (Oct 2025)',
    shape: 'OTC of 3 bytes',
    rule: 'RFC 9234 §5: treat-as-withdraw',
    expect: { kind: 'withdraw' },
    messages: (e) => [hostileUpdate(e, [attr(0xc0, 35, [0, 0, 1])])],
  },
  {
    id: 'tw-attr-overrun',
    source: 'GoBGP GHSA-p3w2-64xm-833j',
    shape: 'last attribute length overruns the path attribute field',
    rule: 'RFC 7606 §4: treat-as-withdraw',
    expect: { kind: 'withdraw' },
    messages: (e) => [updateOf([], Buffer.concat([baseAttrs(e, MARK_HOSTILE), Buffer.from([0xc0, 8, 8, 0, 0, 0, 1])]), nlriOf(e))],
  },
  {
    id: 'tw-no-attributes',
    source: 'FRR CVE-2023-41358',
    shape: 'NLRI with a path attribute length of 0',
    rule: 'RFC 7606 §3.d: missing well-known attributes, treat-as-withdraw',
    expect: { kind: 'withdraw' },
    messages: (e) => [updateOf([], [], nlriOf(e))],
  },
  {
    id: 'tw-only-unknown',
    source: 'FRR CVE-2023-46753',
    shape: 'NLRI with only an unknown transitive attribute',
    rule: 'RFC 7606 §3.d: missing well-known attributes, treat-as-withdraw',
    expect: { kind: 'withdraw' },
    messages: (e) => [updateOf([], attr(0xc0, 31, new Array(16).fill(7)), nlriOf(e))],
  },
  {
    id: 'tw-nexthop-zero',
    source: 'issue 15 defect 4',
    shape: 'NEXT_HOP 0.0.0.0',
    rule: 'RFC 4271 §6.3: semantically incorrect NEXT_HOP, route ignored (RFC 7606 §7.3)',
    expect: { kind: 'withdraw', nextHop: true },
    defect: 'defect 4 (bad NEXT_HOP)',
    messages: (e) => [hostileUpdate(e, [nextHop(e, [0, 0, 0, 0])])],
  },
  {
    id: 'tw-nexthop-node',
    source: 'issue 15 defect 4',
    shape: "NEXT_HOP = Tern's node address (its router ID)",
    rule: "RFC 4271 §6.3: NEXT_HOP is the receiving speaker's address, route ignored",
    expect: { kind: 'withdraw', nextHop: true },
    defect: 'defect 4 (bad NEXT_HOP)',
    messages: (e) => [hostileUpdate(e, [nextHop(e, e.ternId)])],
  },
  {
    id: 'tw-nexthop-own',
    source: 'issue 15 defect 4',
    shape: "NEXT_HOP = Tern's address on the peer's link (another interface than the session's source, the node address)",
    rule: "RFC 4271 §6.3: NEXT_HOP is the receiving speaker's address, route ignored",
    expect: { kind: 'withdraw', nextHop: true },
    defect: 'defect 4 (bad NEXT_HOP)',
    messages: (e) => [hostileUpdate(e, [nextHop(e, e.ternAddr)])],
  },
  {
    id: 'tw-nexthop-mcast',
    source: 'issue 15 defect 4',
    shape: 'NEXT_HOP 224.0.0.1',
    rule: 'RFC 4271 §6.3: NEXT_HOP not a valid unicast address, route ignored',
    expect: { kind: 'withdraw', nextHop: true },
    defect: 'defect 4 (bad NEXT_HOP)',
    messages: (e) => [hostileUpdate(e, [nextHop(e, [224, 0, 0, 1])])],
  },
  // The same for IPv6 (MP_REACH_NLRI next hop, over an IPv6 session): RFC 4760 §3 and RFC 2545 §3
  // want the next router's global address; RFC 4271 §6.3's "route ignored" is the outcome.
  {
    id: 'tw6-nexthop-unspec',
    source: 'issue 15 defect 4',
    shape: 'IPv6 next hop ::',
    rule: 'RFC 4760 §3, RFC 4291 §2.5.2: the unspecified address is no next hop; route ignored (RFC 4271 §6.3)',
    expect: { kind: 'withdraw', nextHop: true },
    session: { ipv6: true },
    messages: (e) => [update6(e, MARK_HOSTILE, new Array(16).fill(0))],
  },
  {
    id: 'tw6-nexthop-loopback',
    source: 'issue 15 defect 4',
    shape: 'IPv6 next hop ::1',
    rule: 'RFC 4760 §3, RFC 4291 §2.5.3: the loopback address is this node; route ignored (RFC 4271 §6.3)',
    expect: { kind: 'withdraw', nextHop: true },
    session: { ipv6: true },
    messages: (e) => [update6(e, MARK_HOSTILE, [...new Array(15).fill(0), 1])],
  },
  {
    id: 'tw6-nexthop-mcast',
    source: 'issue 15 defect 4',
    shape: 'IPv6 next hop ff02::1',
    rule: 'RFC 4760 §3, RFC 4291 §2.7: a multicast address is no next hop; route ignored (RFC 4271 §6.3)',
    expect: { kind: 'withdraw', nextHop: true },
    session: { ipv6: true },
    messages: (e) => [update6(e, MARK_HOSTILE, [0xff, 2, ...new Array(13).fill(0), 1])],
  },
  {
    id: 'tw6-nexthop-linklocal',
    source: 'issue 15 defect 4',
    shape: 'IPv6 next hop fe80::1 alone (16 octets) from a peer on a global address',
    rule: 'RFC 2545 §3: the global address is mandatory, a link-local one names a router on a shared link only; route ignored (RFC 4271 §6.3)',
    expect: { kind: 'withdraw', nextHop: true },
    session: { ipv6: true },
    messages: (e) => [update6(e, MARK_HOSTILE, [0xfe, 0x80, ...new Array(13).fill(0), 1])],
  },
  {
    id: 'tw6-nexthop-node',
    source: 'issue 15 defect 4',
    shape: "IPv6 next hop = Tern's node address (the session's source)",
    rule: "RFC 4271 §6.3: the next hop is the receiving speaker's address, route ignored",
    expect: { kind: 'withdraw', nextHop: true },
    session: { ipv6: true },
    messages: (e) => [update6(e, MARK_HOSTILE, e.ternId6)],
  },
  {
    id: 'tw6-nexthop-own',
    source: 'issue 15 defect 4',
    shape: "IPv6 next hop = Tern's address on the peer's link (another interface than the session's source)",
    rule: "RFC 4271 §6.3: the next hop is the receiving speaker's address, route ignored",
    expect: { kind: 'withdraw', nextHop: true },
    session: { ipv6: true },
    messages: (e) => [update6(e, MARK_HOSTILE, e.ternAddr6)],
  },
  // RFC 7606 attribute-discard
  {
    id: 'ad-atomic-len',
    source: 'RFC 7606 §7.6',
    shape: 'ATOMIC_AGGREGATE of 1 byte',
    rule: 'RFC 7606 §7.6: attribute-discard',
    expect: { kind: 'discard', attrs: [6] },
    onward: { absent: [6] },
    messages: (e) => [hostileUpdate(e, [attr(0x40, 6, [0])])],
  },
  {
    id: 'ad-aggregator-len',
    source: 'RFC 7606 §7.7',
    shape: 'AGGREGATOR of 7 bytes on a 4-octet session',
    rule: 'RFC 7606 §7.7: attribute-discard',
    expect: { kind: 'discard', attrs: [7] },
    onward: { absent: [7] },
    messages: (e) => [hostileUpdate(e, [attr(0xc0, 7, [0, 0, 0xfd, 0xea, 1, 2, 3])])],
  },
  {
    id: 'ad-community-twice',
    source: 'RFC 7606 §3.g',
    shape: 'COMMUNITIES twice',
    rule: 'RFC 7606 §3.g: all but the first discarded',
    expect: { kind: 'discard', attrs: [] },
    messages: (e) => [hostileUpdate(e, [community(MARK_HOSTILE), community(65015 * 65536 + 3)])],
  },
  {
    id: 'ad-originator-ebgp',
    source: 'issue 15 defect 5',
    shape: "ORIGINATOR_ID (= Tern's router ID) and CLUSTER_LIST from an eBGP peer",
    rule: 'RFC 7606 §7.9, §7.10: discarded from an external peer (no RFC 4456 loop check)',
    expect: { kind: 'discard', attrs: [9, 10] },
    onward: { absent: [9, 10] },
    defect: 'defect 5 (ORIGINATOR_ID/CLUSTER_LIST from eBGP)',
    messages: (e) => [hostileUpdate(e, [attr(0x80, 9, e.ternId), attr(0x80, 10, e.ternId)])],
  },
  {
    id: 'ad-as4path-confed',
    source: 'issue 15 defect 6',
    shape: 'AS4_PATH with an AS_CONFED_SEQUENCE on a 2-octet session',
    rule: 'RFC 6793 §6: only the confederation segments are discarded',
    expect: { kind: 'accept' },
    session: { as4: false },
    onward: { asPath: [64512, 65151, 4200000000] },
    defect: 'defect 6 (AS4_PATH confederation segments)',
    messages: (e) => [
      updateOf(
        [],
        Buffer.concat([
          origin(),
          attr(0x40, 2, [2, 2, ...u16(e.as), 0x5b, 0xa0]),
          nextHop(e),
          community(MARK_HOSTILE),
          attr(0xc0, 17, [3, 1, ...u32(64999), 2, 2, ...u32(e.as), ...u32(4200000000)]),
        ]),
        nlriOf(e),
      ),
    ],
  },
  // Unrecognized optional attributes (RFC 4271 §5, §9)
  {
    id: 'ok-tunnel-encap',
    source: 'FRR CVE-2023-38802',
    shape: 'corrupted Tunnel Encapsulation (type 23)',
    rule: 'RFC 4271 §5, §9: unrecognized optional transitive, passed on with Partial',
    expect: { kind: 'accept' },
    onward: { present: [{ type: 23, flags: 0xe0 }] },
    messages: (e) => [hostileUpdate(e, [attr(0xc0, 23, [0xff, 0xff, 0, 99, 1])])],
  },
  {
    id: 'ok-prefix-sid',
    source: 'FRR CVE-2023-31490',
    shape: 'Prefix-SID (type 40) with an overrunning sub-TLV',
    rule: 'RFC 4271 §5, §9: unrecognized optional transitive, passed on with Partial',
    expect: { kind: 'accept' },
    onward: { present: [{ type: 40, flags: 0xe0 }] },
    messages: (e) => [hostileUpdate(e, [attr(0xc0, 40, [1, 0, 7, 0, 0, 0])])],
  },
  {
    id: 'ok-aigp-short',
    source: 'FRR CVE-2023-41359',
    shape: 'AIGP (type 26) cut short',
    rule: 'RFC 4271 §5, §9: unrecognized optional non-transitive, quietly ignored',
    expect: { kind: 'accept' },
    onward: { absent: [26] },
    messages: (e) => [hostileUpdate(e, [attr(0x80, 26, [1, 0])])],
  },
  {
    id: 'ok-flags-low-bits',
    source: 'issue 15 defect 3',
    shape: 'COMMUNITIES with the four low flag bits set',
    rule: 'RFC 4271 §4.3: the low four bits are ignored on receipt and MUST be zero when sent',
    expect: { kind: 'accept' },
    onward: { present: [{ type: 8, flags: 0xc0 }] },
    defect: 'defect 3 (attribute flag low bits)',
    messages: (e) => [hostileUpdate(e, [attr(0xcf, 8, u32(MARK_HOSTILE))])],
  },
  {
    id: 'ok-long-aspath',
    source: 'OpenBGPD aspath_prepend crash (2009)',
    shape: 'AS_PATH of 300 ASNs in segments of 255 and 45',
    rule: 'RFC 4271 §5.1.2: prepend our AS; a full segment of 255 starts a new one',
    expect: { kind: 'accept' },
    onward: { asPath: [64512, ...Array.from({ length: 300 }, (_, i) => 65151 + (i % 2))] },
    messages: (e) => {
      const path = Array.from({ length: 300 }, (_, i) => 65151 + (i % 2));
      const segs = [2, 255, ...path.slice(0, 255).flatMap(u32), 2, 45, ...path.slice(255).flatMap(u32)];
      return [hostileUpdate(e, [attr(0x50, 2, segs)])];
    },
  },
  {
    id: 'ok-huge-aspath',
    source: 'BIRD CVE-2026-49943; issue 15 defect 2',
    shape: 'AS_PATH of 3000 ASNs in an RFC 8654 extended message',
    rule: 'RFC 8654 §4: never sent to a peer without the capability; the route is withdrawn for that peer',
    expect: { kind: 'accept' },
    session: { extended: true },
    onward: { notSent: true },
    defect: 'defect 2 (messages over 4096 bytes)',
    messages: (e) => {
      const segs: number[] = [];
      for (let left = 3000; left > 0; left -= 255) {
        const k = Math.min(255, left);
        segs.push(2, k, ...Array.from({ length: k }, (_, i) => u32(e.as + (i === 0 && left === 3000 ? 0 : 1))).flat());
      }
      return [hostileUpdate(e, [attr(0x50, 2, segs)])];
    },
  },
  // ROUTE-REFRESH (RFC 2918, RFC 7313)
  {
    id: 'rr-borr-len',
    source: 'FRR CVE-2023-41360',
    shape: 'ROUTE-REFRESH BoRR (subtype 1) with one trailing byte',
    rule: 'RFC 7313 §5: ROUTE-REFRESH Message Error, Invalid Message Length',
    expect: { kind: 'notify', code: 7, subcode: 1 },
    messages: () => [msgOf(5, [0, 1, 1, 1, 0])],
  },
  {
    id: 'rr-unknown-afi',
    source: 'RFC 2918 §4',
    shape: 'ROUTE-REFRESH for AFI 25 (not negotiated)',
    rule: 'RFC 2918 §4: ignored',
    expect: { kind: 'accept' },
    messages: () => [msgOf(5, [0, 25, 0, 65])],
  },
];

/** One case by its id. */
export function caseById(id: string): HostileCase {
  const c = CASES.find((x) => x.id === id);
  if (!c) throw new Error(`no hostile case ${id}`);
  return c;
}

/** The outcome in words, as docs/security.md shows it. */
export function describeOutcome(o: Outcome): string {
  switch (o.kind) {
    case 'notify':
      return `NOTIFICATION ${o.code}/${o.subcode}, session reset`;
    case 'withdraw':
      return o.nextHop ? 'route ignored, logged and counted, session stays' : 'treat-as-withdraw, session stays';
    case 'discard':
      return o.attrs.length ? `attribute-discard (type ${o.attrs.join(', ')}), route kept` : 'duplicate discarded, route kept';
    case 'accept':
      return 'accepted';
  }
}

/** A well-formed OPEN from the hostile peer (hold time 60, IPv4 unicast, route refresh). */
export function helloOpen(e: CaseEnv, s: HostileCase['session'] = {}): Buffer {
  const caps = [...MP_IPV4, 2, 2, 2, 0];
  if (s.as4 !== false) caps.push(2, 6, 65, 4, ...u32(e.as));
  if (s.extended) caps.push(2, 2, 6, 0);
  if (s.v6 || s.ipv6) caps.push(2, 6, 1, 4, 0, 2, 0, 1); // RFC 4760 MP: AFI 2 SAFI 1
  return open(e, caps);
}

export const KEEPALIVE = msgOf(4, []);
