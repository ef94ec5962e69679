// One interned attribute set (AttrStore's entry): the decision inputs computed once, the
// export memo, and the flags, packed so that the 200k sets of a 1M-prefix table with 100k
// attribute sets (received and sent) stay small (issue 18). AttrStore (attr-store.ts) makes them.

import { AsPathSegmentType, type PathAttributes } from '../codec/types.js';
import { LLGR_STALE } from '../codec/communities.js';
import { ipv4Number } from '../codec/address.js';
import type { PathInfo } from './rib-types.js';

/** Bits of AttrSet.bits. */
const DEAD = 1;
const LEAN_BIT = 2;
const CLEAN = 4;
const LLGR_STALE_BIT = 8;
const MEMO_FLAGS = 16 | 32; // memoFlags, shifted left by 4
const ORIGIN_SHIFT = 6; // two bits: 0 IGP, 1 EGP, 2 INCOMPLETE
const CLUSTER_SHIFT = 8; // CLUSTER_LIST length: at most 16,383 IDs fit a 65,535-byte attribute

/** The export memo past its first entry (sets exported to more than one update group). */
interface MemoMore {
  key2: number;
  out2: AttrSet | null;
  map: Map<number, AttrSet | null> | undefined;
}

/**
 * One interned attribute set. A class with few own fields: 200k of them (the received sets
 * and the sets the Adj-RIB-Out sends) were ~50 MB of the ingest bench's peak at 28 fields
 * each (issue 18). Booleans, ORIGIN and the CLUSTER_LIST length share one number (`bits`);
 * the second export memo entry and the encoded blocks live in objects made only when used;
 * the accessors keep the fields' old names. The cached PathInfo needs no peer of its own
 * (RibCore.info matches it by peer name and session kind).
 */
export class AttrSet {
  refs = 1;
  private bits: number;
  /** Bytes of encoded attributes in the key after its 2-character tag; -1 for text keys. */
  rawLen: number;
  // Decision inputs (RFC 4271 §9.1.2.2), computed once.
  readonly localPref: number; // -1 when absent
  readonly asPathLen: number;
  readonly med: number; // -1 when absent
  /** First AS of the leftmost AS_SEQUENCE (RFC 4271 §9.1.2.2 c), 0 when none. */
  readonly neighborAs: number;
  /** ORIGINATOR_ID as a number, -1 when absent (RFC 4456 §9). */
  readonly originatorId: number;
  /** Export memo: one inline entry, then memoMore, keyed by (update group, source session epoch). */
  memoKey = -1;
  memoOut: AttrSet | null = null;
  private more: MemoMore | undefined = undefined;
  /** Transient: the output bucket of this set during one encode (group-family.ts). */
  bucket: object | undefined = undefined;
  /** PathInfo of this set as seen from one peer with path id 0 (shared by change records); see RibCore.info. */
  info: PathInfo | undefined = undefined;
  /** Encoded attribute blocks for 4-octet-AS and 2-octet-AS sessions (none kept when the key holds them). */
  private encs: { as4?: Buffer; as2?: Buffer } | undefined = undefined;

  constructor(
    readonly id: number,
    /**
     * The attributes. For sets the Adj-RIB-Out created from encoded bytes (`lean`), this is an
     * empty object and the attributes live only in the key (use attrsOf in update-group.ts):
     * 100k outbound sets would otherwise keep 100k object graphs that nothing reads.
     */
    public attrs: PathAttributes,
    /** Next hop of the route: IPv4 NEXT_HOP or the MP_REACH global address. */
    readonly nextHop: string,
    /** RFC 2545 §3 link-local next hop (IPv6 only). */
    readonly linkLocal: string | undefined,
    rawLen: number,
  ) {
    this.rawLen = rawLen;
    this.localPref = attrs.localPref ?? -1;
    this.asPathLen = asPathLength(attrs.asPath);
    this.med = attrs.med ?? -1;
    this.neighborAs = neighborAsOf(attrs.asPath);
    this.originatorId = attrs.originatorId !== undefined ? ipv4ToNumber(attrs.originatorId) : -1;
    const origin = attrs.origin ?? 2;
    const clusters = Math.min(attrs.clusterList?.length ?? 0, 16383);
    this.bits = ((origin & 3) << ORIGIN_SHIFT) | (clusters << CLUSTER_SHIFT) | (attrs.communities?.includes(LLGR_STALE) ? LLGR_STALE_BIT : 0);
  }

  private flag(bit: number, on: boolean): void {
    this.bits = on ? this.bits | bit : this.bits & ~bit;
  }

  /** Set when the store dropped it; memo caches holding it must recompute. */
  get dead(): boolean {
    return (this.bits & DEAD) !== 0;
  }
  set dead(v: boolean) {
    this.flag(DEAD, v);
  }
  /** The attributes are not kept (see attrs). */
  get lean(): boolean {
    return (this.bits & LEAN_BIT) !== 0;
  }
  set lean(v: boolean) {
    this.flag(LEAN_BIT, v);
  }
  /** The key bytes decoded without any RFC 7606 action: safe to rewrite as bytes. */
  get clean(): boolean {
    return (this.bits & CLEAN) !== 0;
  }
  set clean(v: boolean) {
    this.flag(CLEAN, v);
  }
  /** Carries the LLGR_STALE community (RFC 9494 §4.3: least preferred; see stale.ts). */
  get llgrStale(): boolean {
    return (this.bits & LLGR_STALE_BIT) !== 0;
  }
  get origin(): number {
    return (this.bits >> ORIGIN_SHIFT) & 3;
  }
  get clusterListLen(): number {
    return this.bits >> CLUSTER_SHIFT;
  }
  /** Bit 0 (memoOut) and bit 1 (memoOut2): the entry is after the export policy's per-set answer. */
  get memoFlags(): number {
    return (this.bits & MEMO_FLAGS) >> 4;
  }
  set memoFlags(v: number) {
    this.bits = (this.bits & ~MEMO_FLAGS) | ((v & 3) << 4);
  }
  get memoKey2(): number {
    return this.more ? this.more.key2 : -1;
  }
  set memoKey2(v: number) {
    if (this.more) this.more.key2 = v;
    else if (v !== -1) this.more = { key2: v, out2: null, map: undefined };
  }
  get memoOut2(): AttrSet | null {
    return this.more ? this.more.out2 : null;
  }
  set memoOut2(v: AttrSet | null) {
    if (this.more) this.more.out2 = v;
    else if (v !== null) this.more = { key2: -1, out2: v, map: undefined };
  }
  /** Overflow of the export memo for sets exported to many groups. */
  get memoMore(): Map<number, AttrSet | null> | undefined {
    return this.more?.map;
  }
  set memoMore(v: Map<number, AttrSet | null> | undefined) {
    if (this.more) this.more.map = v;
    else if (v !== undefined) this.more = { key2: -1, out2: null, map: v };
  }
  get enc4(): Buffer | undefined {
    return this.encs?.as4;
  }
  set enc4(v: Buffer | undefined) {
    if (v !== undefined || this.encs) (this.encs ??= {}).as4 = v;
  }
  get enc2(): Buffer | undefined {
    return this.encs?.as2;
  }
  set enc2(v: Buffer | undefined) {
    if (v !== undefined || this.encs) (this.encs ??= {}).as2 = v;
  }
}

/** A dotted quad as a number (0 for text that is none: callers pass validated addresses). */
export const ipv4ToNumber = (s: string): number => ipv4Number(s) ?? 0;

/** RFC 4271 §9.1.2.2 a: AS_SET counts as 1; RFC 5065 §5.3: confederation segments count 0. */
export function asPathLength(path: PathAttributes['asPath']): number {
  if (!path) return 0;
  let n = 0;
  for (const seg of path) {
    if (seg.type === AsPathSegmentType.AS_SEQUENCE) n += seg.asns.length;
    else if (seg.type === AsPathSegmentType.AS_SET) n += 1;
  }
  return n;
}

function neighborAsOf(path: PathAttributes['asPath']): number {
  if (!path) return 0;
  for (const seg of path) {
    if (seg.type === AsPathSegmentType.AS_SEQUENCE && seg.asns.length > 0) return seg.asns[0];
    if (seg.type === AsPathSegmentType.AS_SET) return 0;
  }
  return 0;
}
