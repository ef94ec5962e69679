// Interned path attribute sets: one copy of each distinct set of attributes (plus next hop),
// reference counted. 1M prefixes with 100k attribute sets cost 100k of these, not 1M.
//
// The key is a compact canonical text of the decoded attributes (what the UPDATE carried,
// minus MP_REACH/MP_UNREACH, plus the next hop of the family). The decision process reads the
// numbers it needs from fields precomputed here once per set, never from the attribute objects.

import { AsPathSegmentType, type MpNextHop, type PathAttributes } from '../types';

export interface AttrSet {
  id: number;
  refs: number;
  /** Set when the store dropped it; memo caches holding it must recompute. */
  dead: boolean;
  readonly key: string;
  readonly attrs: PathAttributes;
  /** Next hop of the route: IPv4 NEXT_HOP or the MP_REACH global address. */
  readonly nextHop: string;
  /** RFC 2545 §3 link-local next hop (IPv6 only). */
  readonly linkLocal: string | undefined;
  // Decision inputs (RFC 4271 §9.1.2.2), computed once.
  readonly localPref: number; // -1 when absent
  readonly asPathLen: number;
  readonly origin: number;
  readonly med: number; // -1 when absent
  /** First AS of the leftmost AS_SEQUENCE (RFC 4271 §9.1.2.2 c), 0 when none. */
  readonly neighborAs: number;
  /** ORIGINATOR_ID as a number, -1 when absent (RFC 4456 §9). */
  readonly originatorId: number;
  readonly clusterListLen: number;
  /** Export memo: one-entry cache plus overflow map, keyed by (update group, source peer). */
  memoKey: number;
  memoOut: AttrSet | null;
  memoMore: Map<number, AttrSet | null> | undefined;
  /** Encoded attribute block per context (index 0: 4-octet AS, 1: 2-octet AS). */
  enc: [Buffer | undefined, Buffer | undefined];
  /** Transient bucket head used while packing output. */
  bucket: number;
}

export const ipv4ToNumber = (s: string): number => {
  const p = s.split('.');
  return ((+p[0] << 24) >>> 0) + ((+p[1] << 16) | (+p[2] << 8) | +p[3]);
};

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

/** Canonical text of an attribute set; equal text <=> same routing information. */
export function attrKey(a: PathAttributes, nh: string, ll: string | undefined): string {
  let k = `${a.origin ?? ''}|${nh}|${ll ?? ''}|${a.med ?? ''}|${a.localPref ?? ''}|`;
  if (a.asPath) for (const s of a.asPath) k += `${s.type}:${s.asns.join(' ')};`;
  k += '|';
  if (a.communities) k += a.communities.join(',');
  if (a.atomicAggregate) k += '|A';
  if (a.aggregator) k += `|g${a.aggregator.asn}:${a.aggregator.address}`;
  if (a.originatorId !== undefined) k += `|o${a.originatorId}`;
  if (a.clusterList) k += `|c${a.clusterList.join(',')}`;
  if (a.extendedCommunities) for (const e of a.extendedCommunities) k += `|x${e.toString('hex')}`;
  if (a.largeCommunities) for (const l of a.largeCommunities) k += `|l${l.globalAdmin}:${l.local1}:${l.local2}`;
  if (a.otc !== undefined) k += `|t${a.otc}`;
  if (a.unknown) for (const u of a.unknown) k += `|u${u.flags}:${u.type}:${u.value.toString('hex')}`;
  return k;
}

export class AttrStore {
  private byKey = new Map<string, AttrSet>();
  private sets: (AttrSet | undefined)[] = [];
  private freeIds: number[] = [];

  get size(): number {
    return this.byKey.size;
  }

  get(id: number): AttrSet {
    return this.sets[id] as AttrSet;
  }

  /** Returns the interned set for these attributes, adding one reference. */
  intern(attrs: PathAttributes, nextHop: MpNextHop | string | undefined): AttrSet {
    const nh = typeof nextHop === 'string' ? nextHop : (nextHop?.global ?? attrs.nextHop ?? '');
    const ll = typeof nextHop === 'object' ? nextHop.linkLocal : undefined;
    const key = attrKey(attrs, nh, ll);
    const found = this.byKey.get(key);
    if (found) {
      found.refs++;
      return found;
    }
    const id = this.freeIds.length > 0 ? (this.freeIds.pop() as number) : this.sets.length;
    const set: AttrSet = {
      id,
      refs: 1,
      dead: false,
      key,
      attrs,
      nextHop: nh,
      linkLocal: ll,
      localPref: attrs.localPref ?? -1,
      asPathLen: asPathLength(attrs.asPath),
      origin: attrs.origin ?? 2,
      med: attrs.med ?? -1,
      neighborAs: neighborAsOf(attrs.asPath),
      originatorId: attrs.originatorId !== undefined ? ipv4ToNumber(attrs.originatorId) : -1,
      clusterListLen: attrs.clusterList?.length ?? 0,
      memoKey: -1,
      memoOut: null,
      memoMore: undefined,
      enc: [undefined, undefined],
      bucket: -1,
    };
    this.sets[id] = set;
    this.byKey.set(key, set);
    return set;
  }

  ref(set: AttrSet): void {
    set.refs++;
  }

  /** Drops one reference; the set is forgotten when none remain. */
  unref(set: AttrSet): void {
    if (--set.refs > 0) return;
    set.dead = true;
    set.memoOut = null;
    set.memoMore = undefined;
    this.byKey.delete(set.key);
    this.sets[set.id] = undefined;
    this.freeIds.push(set.id);
  }
}
