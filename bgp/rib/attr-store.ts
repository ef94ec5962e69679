// Interned path attribute sets: one copy of each distinct set of attributes (plus next hop),
// reference counted. 1M prefixes with 100k attribute sets cost 100k of these, not 1M.
//
// The key is a compact canonical text of the decoded attributes (what the UPDATE carried,
// minus MP_REACH/MP_UNREACH, plus the next hop of the family). The decision process reads the
// numbers it needs from fields precomputed here once per set, never from the attribute objects.

import { DEFAULT_CONTEXT, type MpNextHop, type PathAttributes, type SessionContext } from '../codec/types.js';
import { decodeAttributes } from '../codec/attributes.js';
import { AttrSet } from './attr-set.js';

export { AttrSet, asPathLength, ipv4ToNumber } from './attr-set.js';

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

/**
 * Keys are built as bytes in this scratch buffer and looked up without allocating; a string
 * copy is made only when a new set is stored (one flat string per set).
 */
const scratch = Buffer.allocUnsafe(70000);

/**
 * Builds an interning key in the scratch buffer: `tag`, then `bytes[from, to)` except the
 * [skipFrom, skipTo) ranges, then `suffix`. Returns its length, for AttrStore.intern.
 */
export function bytesKey(tag: string, bytes: Buffer, from: number, to: number, suffix: string, skips?: number[]): number {
  let n = writeAscii(tag, 0);
  const start = n;
  let pos = from;
  if (skips) {
    for (let i = 0; i < skips.length; i += 2) {
      n += bytes.copy(scratch, n, pos, skips[i]);
      pos = skips[i + 1];
    }
  }
  n += bytes.copy(scratch, n, pos, to);
  lastRawLen = n - start;
  return writeAscii(suffix, n);
}

/** Length of the wire bytes in the key bytesKey built last (after its 2-character tag). */
let lastRawLen = -1;

/** Short ASCII strings are cheaper to copy by hand than through Buffer.write. */
function writeAscii(s: string, at: number): number {
  for (let i = 0; i < s.length; i++) scratch[at + i] = s.charCodeAt(i);
  return at + s.length;
}

/**
 * Interning key from the UPDATE's own bytes: the path attribute section minus MP_REACH_NLRI /
 * MP_UNREACH_NLRI (which carry NLRI), plus the MP next hop. `msg` must be the whole UPDATE
 * (PrefixList.buf is, for lists the codec decoded). Returns the key length in the
 * scratch buffer, or -1 when `msg` is not a whole UPDATE.
 */
export function rawAttrKey(tag: string, msg: Buffer, mpNextHop: MpNextHop | undefined): number {
  const n = msg.length;
  if (n < 23 || msg[18] !== 2 || ((msg[16] << 8) | msg[17]) !== n) return -1;
  const wd = (msg[19] << 8) | msg[20];
  let pos = 21 + wd;
  if (pos + 2 > n) return -1;
  const end = pos + 2 + ((msg[pos] << 8) | msg[pos + 1]);
  pos += 2;
  if (end > n) return -1;
  const start = pos;
  let skips: number[] | undefined;
  while (pos < end) {
    if (pos + 3 > end) return -1;
    const flags = msg[pos];
    const type = msg[pos + 1];
    const ext = (flags & 0x10) !== 0;
    const len = ext ? (msg[pos + 2] << 8) | msg[pos + 3] : msg[pos + 2];
    const next = pos + (ext ? 4 : 3) + len;
    if (type === 14 || type === 15) (skips ??= []).push(pos, next);
    pos = next;
  }
  if (pos !== end || end - start > 65535) return -1;
  const keyLen = bytesKey(tag, msg, start, end, mpNextHop ? `|${mpNextHop.global}|${mpNextHop.linkLocal ?? ''}` : '', skips);
  clearUnusedFlagBits(tag.length, tag.length + lastRawLen);
  return keyLen;
}

/**
 * RFC 4271 §4.3: the low-order four bits of Attribute Flags are unused, "MUST be zero when
 * sent, and MUST be ignored when received". The key's bytes are what the byte-level export
 * (fast-export.ts) sends on and what a lean set is decoded from, so they are cleared here,
 * once, where the received bytes enter the RIB: a peer setting them cannot make us send them
 * (issue 15), and the same attributes intern as one set whatever those bits were.
 */
function clearUnusedFlagBits(from: number, to: number): void {
  let p = from;
  while (p + 3 <= to) {
    const flags = scratch[p];
    scratch[p] = flags & 0xf0;
    p += flags & 0x10 ? 4 + ((scratch[p + 2] << 8) | scratch[p + 3]) : 3 + scratch[p + 2];
  }
}

const LEAN: PathAttributes = Object.freeze({});

/** Hash of scratch[0, n) (FNV-1a, 32 bits). */
function hashScratch(n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ scratch[i], 0x01000193);
  return h >>> 0;
}

function scratchEquals(key: string, n: number): boolean {
  if (key.length !== n) return false;
  for (let i = 0; i < n; i++) if (key.charCodeAt(i) !== scratch[i]) return false;
  return true;
}

export class AttrStore {
  private sets: (AttrSet | undefined)[] = [];
  private keys: (string | undefined)[] = [];
  private hashes = new Uint32Array(1024);
  private freeIds: number[] = [];
  private count = 0;
  /** Open addressing (linear probing) from key hash to set id + 1. */
  private table = new Int32Array(2048);
  private mask = 2047;

  get size(): number {
    return this.count;
  }

  get(id: number): AttrSet {
    return this.sets[id] as AttrSet;
  }

  /**
   * Returns the interned set for these attributes, adding one reference. `keyLen`, when given,
   * is the length of a key already built in the scratch buffer (rawAttrKey, bytesKey): the wire
   * bytes the attributes were decoded from or encoded to. Otherwise the key is their canonical
   * text. A lookup that finds the set allocates nothing.
   */
  intern(attrs: PathAttributes, nextHop: MpNextHop | string | undefined, keyLen = -1): AttrSet {
    const nh = typeof nextHop === 'string' ? nextHop : (nextHop?.global ?? attrs.nextHop ?? '');
    const ll = typeof nextHop === 'object' ? nextHop.linkLocal : undefined;
    let n = keyLen;
    if (n < 0) n = scratch.write('t' + attrKey(attrs, nh, ll), 0, 'latin1');
    const h = hashScratch(n);
    const t = this.table;
    let slot = h & this.mask;
    for (;;) {
      const v = t[slot];
      if (v === 0) break;
      const id = v - 1;
      if (this.hashes[id] === h && scratchEquals(this.keys[id] as string, n)) {
        const found = this.sets[id] as AttrSet;
        found.refs++;
        return found;
      }
      slot = (slot + 1) & this.mask;
    }
    const id = this.freeIds.length > 0 ? (this.freeIds.pop() as number) : this.sets.length;
    const set = new AttrSet(id, attrs, this.nextHopName(nh), ll === undefined ? undefined : this.nextHopName(ll), keyLen < 0 ? -1 : lastRawLen);
    this.sets[id] = set;
    this.keys[id] = scratch.toString('latin1', 0, n);
    if (id >= this.hashes.length) {
      const g = new Uint32Array(this.hashes.length * 2);
      g.set(this.hashes);
      this.hashes = g;
    }
    this.hashes[id] = h;
    t[slot] = id + 1;
    if (++this.count * 2 > t.length) this.rehash(t.length * 2);
    return set;
  }

  /**
   * One string per distinct next hop: each UPDATE decodes its own copy, and 100k sets kept
   * 100k copies of the same few addresses (~4 MB at 1M/100k, issue 18).
   */
  private nextHops = new Map<string, string>();
  private nextHopName(nh: string): string {
    const known = this.nextHops.get(nh);
    if (known !== undefined) return known;
    if (this.nextHops.size >= 4096) this.nextHops.clear();
    this.nextHops.set(nh, nh);
    return nh;
  }

  private rehash(slots: number): void {
    const t = new Int32Array(slots);
    const mask = slots - 1;
    for (let id = 0; id < this.sets.length; id++) {
      if (!this.sets[id]) continue;
      let slot = this.hashes[id] & mask;
      while (t[slot] !== 0) slot = (slot + 1) & mask;
      t[slot] = id + 1;
    }
    this.table = t;
    this.mask = mask;
  }

  private removeId(id: number): void {
    const t = this.table;
    const mask = this.mask;
    let slot = this.hashes[id] & mask;
    while (t[slot] !== id + 1) slot = (slot + 1) & mask;
    // Backward-shift deletion, as in PrefixStore.
    let hole = slot;
    let j = slot;
    for (;;) {
      j = (j + 1) & mask;
      const v = t[j];
      if (v === 0) break;
      const home = this.hashes[v - 1] & mask;
      const movable = hole <= j ? home <= hole || home > j : home <= hole && home > j;
      if (movable) {
        t[hole] = v;
        hole = j;
      }
    }
    t[hole] = 0;
  }

  /**
   * Drops the attribute objects of a set whose key holds its wire bytes; attrsOf() decodes
   * them again when asked (export transformation, policy refresh, bgpctl). 100k sets keep
   * ~35 MB less this way.
   */
  makeLean(set: AttrSet): void {
    if (set.rawLen < 0 || set.lean) return;
    set.attrs = LEAN;
    set.lean = true;
  }

  /**
   * The attributes of a set that will be read per prefix (an export policy): decoded once and
   * kept, the set is no longer lean.
   */
  attrsKept(set: AttrSet): PathAttributes {
    if (!set.lean) return set.attrs;
    set.attrs = this.attrsOf(set);
    set.lean = false;
    return set.attrs;
  }

  /** The interning key (for raw-keyed sets: 2-character tag + wire bytes [+ next hop]). */
  keyOf(set: AttrSet): string {
    return this.keys[set.id] as string;
  }

  /** A copy of the wire bytes in a raw-keyed set's key (after the 2-character tag). */
  rawBytes(set: AttrSet): Buffer {
    return Buffer.from((this.keys[set.id] as string).slice(2, 2 + set.rawLen), 'latin1');
  }

  /** The attributes of a set, decoded from its key bytes when the set is lean. */
  attrsOf(set: AttrSet): PathAttributes {
    if (!set.lean) return set.attrs;
    const key = this.keys[set.id] as string;
    const bytes = Buffer.from(key.slice(2, 2 + set.rawLen), 'latin1');
    // The tag says how the bytes were received: E = from eBGP (RFC 7606 §7.9/§7.10 discards
    // ORIGINATOR_ID and CLUSTER_LIST then), 4/2 = AS number size.
    const ebgp = key.charCodeAt(0) === 69; /* 'E' */
    const ctx: SessionContext = { ...DEFAULT_CONTEXT, as4: key.charCodeAt(1) === 52 /* '4' */, ebgp };
    const attrs = decodeAttributes(bytes, 0, bytes.length, ctx, false).attrs;
    // Keys tagged E came from eBGP: RFC 4271 §5.1.5, LOCAL_PREF was ignored on import.
    if (ebgp) attrs.localPref = undefined;
    return attrs;
  }

  ref(set: AttrSet): void {
    set.refs++;
  }

  /** Drops one reference; the set is forgotten when none remain. */
  unref(set: AttrSet): void {
    if (--set.refs > 0) return;
    set.dead = true;
    set.memoOut = null;
    set.memoOut2 = null;
    set.memoMore = undefined;
    this.removeId(set.id);
    this.keys[set.id] = undefined;
    this.count--;
    this.sets[set.id] = undefined;
    this.freeIds.push(set.id);
  }
}
