// Update groups and the Adj-RIB-Out (RFC 4271 §3.2, §9.2). Peers with the same outbound
// profile (eBGP/iBGP, RR client status, next-hop mode and address, 4-octet AS, add-path send,
// extended message, export policy, MRAI, families) share one Adj-RIB-Out and one encoded
// UPDATE stream (FRR's update groups). Each member reads the stream through its own cursor
// (pull model), so a slow peer never holds up the others; an initial dump or a route refresh
// is built from the Adj-RIB-Out into the member's private queue.
//
// Per-member exclusions inside a shared stream (RFC 4456 §6/§8 and split horizon: never send a
// route back to the peer it came from, nor to the peer whose router ID is its ORIGINATOR_ID)
// are message tags: the announcement is tagged "not for X" and a withdrawal "only for X".
//
// One file on purpose (~520 lines): the shared stream, its trimming by the members' cursors and
// the snapshot that joiners share are one piece of state with one owner; split, each half would
// reach into the other's log, cursors and members.

import { HEADER_LEN, type Family, type PathAttributes, type SessionContext } from '../codec/types.js';
import { encodeAttributes } from '../codec/attributes.js';
import { AttrWriter } from '../codec/attr-spec.js';
import { encodeNextHop, mpReachHeaderLength } from '../codec/attr-mp.js';
import { bytesKey, ipv4ToNumber, type AttrSet, type AttrStore } from './attr-store.js';
import { fastEbgpAttrs } from './fast-export.js';
import { exportAttrs, mayAdvertise, type ExportTarget, type LocalSpeaker } from './export.js';
import type { PeerState } from './peer-state.js';
import type { PolicyFn, PolicyResult, PrefixFilter, RibNoticeReason } from './rib-types.js';
import type { FamilyTable } from './table.js';
import { GroupFamily, type Entry, type Segment, type SinceSnapshot } from './group-family.js';
import { isFor, type OutMsg } from './wire.js';

const writer = new AttrWriter(4096);
/**
 * Bytes of an UPDATE besides its attribute block, at most: header, withdrawn and attribute
 * length fields, an MP_REACH_NLRI header with a global and a link-local next hop (RFC 2545 §3),
 * and one add-path IPv6 NLRI (RFC 7911 §3).
 */
const FIT_SLACK = HEADER_LEN + 4 + (4 + 3 + 1 + 32 + 1) + (4 + 1 + 16);
/** Attributes of a set built from bytes alone (lean from the start; see AttrStore.attrsOf). */
const LEAN_ATTRS: PathAttributes = Object.freeze({});
/** Encodes an attribute block into a buffer of exactly its size (100k of them stay in memory). */
function encodeCompact(attrs: PathAttributes, ctx: SessionContext): Buffer {
  writer.pos = 0;
  const v = encodeAttributes(attrs, ctx, { writer });
  const b = Buffer.allocUnsafe(v.length);
  v.copy(b);
  return b;
}

export interface Member {
  peer: PeerState;
  /** Absolute index of the next group log entry this member has not taken. */
  cursor: number;
  /** Messages for this member alone, sent before the log from `cursor` (dump, EoR, refresh). */
  own: OutMsg[];
  /** Next entry of `own` to send (a queue without Array.shift). */
  ownHead: number;
  /** An initial update read from a shared snapshot, sent after `own` (initialUpdate). */
  init: InitialRead | null;
  /** The last family's End-of-RIB, sent once the log is read up to `eorAt` (initialUpdate). */
  eor: OutMsg | null;
  eorAt: number;
}

/**
 * Where a member is in a shared snapshot of the encoded Adj-RIB-Out (initialUpdate): family
 * `k`, segment `seg`, message `buf`. It skips the segments withheld from it: `excl` its own
 * (split horizon) and, RFC 4456 §8, those whose ORIGINATOR_ID is `rid` (-1: none). Each family
 * but the last is followed by its End-of-RIB from `eors` (RFC 4724 §2).
 */
export interface InitialRead {
  fams: Segment[][];
  k: number;
  seg: number;
  buf: number;
  excl: number;
  rid: number;
  eors: OutMsg[];
  /** Messages not yet read, at most (withheld segments are counted until skipped). */
  left: number;
}

/**
 * A snapshot of the encoded Adj-RIB-Out at log position `at`, shared by the members that join
 * while it lasts: `origins` are the ORIGINATOR_IDs announced in the log since (see initialUpdate).
 * The log from `at` is kept while it lasts (trim), and it lasts while that is short.
 */
interface Snapshot {
  at: number;
  fams: Segment[][];
  msgs: number;
  since: SinceSnapshot;
}

/** Whether a snapshot segment is withheld from the member reading it (see InitialRead). */
export function withheld(g: Segment, r: InitialRead): boolean {
  return g.excl === r.excl || (r.rid >= 0 && g.originatorId === r.rid);
}

export class UpdateGroup {
  readonly members = new Map<number, Member>();
  readonly fams: Record<Family, GroupFamily>;
  /** Shared stream: log[i] has absolute index logBase + i. */
  log: OutMsg[] = [];
  logBase = 0;
  lastAnnounce = -Infinity;
  readonly maxLen: number;
  private readonly fastEbgp: boolean;

  constructor(
    readonly idx: number,
    readonly key: string,
    readonly target: ExportTarget,
    readonly ctx: SessionContext,
    readonly families: Family[],
    readonly mraiMs: number,
    readonly exportPolicy: PolicyFn | undefined,
    readonly exportFilter: PrefixFilter | undefined,
    readonly addPathAll: boolean,
    private readonly attrStore: AttrStore,
    private readonly me: LocalSpeaker,
    tables: Record<Family, FamilyTable>,
    /** Rib.note: a route left out for a member. */
    private readonly note: (peer: PeerState, reason: RibNoticeReason, family: Family, pfx: number, detail: string) => void,
  ) {
    this.maxLen = ctx.extendedMessage ? 65535 : 4096;
    this.fastEbgp = target.ebgp && ctx.as4 && target.nextHopMode !== 'Keep';
    this.fams = {
      ipv4: new GroupFamily(tables.ipv4, ctx.addPathTx.ipv4, attrStore),
      ipv6: new GroupFamily(tables.ipv6, ctx.addPathTx.ipv6, attrStore),
    };
  }

  get logEnd(): number {
    return this.logBase + this.log.length;
  }

  addPath(family: Family): boolean {
    return this.fams[family].addPath;
  }

  /**
   * Members' peer indices by router ID, in joining order, for the ORIGINATOR_ID exclusion
   * (RFC 4456 §8). It was a scan of every member per route: each client's initial dump at a
   * route reflector was then O(clients x prefixes), a quarter of the CPU at 1,000 clients.
   */
  private readonly byRouterId = new Map<number, number[]>();

  addMember(m: Member): void {
    if (this.members.has(m.peer.idx)) this.removeMember(m.peer.idx);
    this.members.set(m.peer.idx, m);
    const id = m.peer.routerIdNum;
    const list = this.byRouterId.get(id);
    if (list) list.push(m.peer.idx);
    else this.byRouterId.set(id, [m.peer.idx]);
  }

  removeMember(idx: number): void {
    const m = this.members.get(idx);
    if (!m) return;
    this.members.delete(idx);
    const id = m.peer.routerIdNum;
    const list = this.byRouterId.get(id);
    if (!list) return;
    const at = list.indexOf(idx);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.byRouterId.delete(id);
  }

  /** The first member (in joining order) whose router ID is `routerId`, or -1. */
  private memberByRouterId(routerId: number): number {
    if (routerId < 0) return -1;
    const list = this.byRouterId.get(routerId);
    return list ? list[0] : -1;
  }

  /** The attributes of a set (decoded again when the set is lean). */
  attrsOf(set: AttrSet): PathAttributes {
    return this.attrStore.attrsOf(set);
  }

  /**
   * The attribute set this group advertises for a path from `src`, with one reference for the
   * caller, or null when it must not be advertised (RFC 4271 §9.2, RFC 4456 §6, policy).
   */
  exportSet(src: PeerState, set: AttrSet, family: Family, pfx: number, table: FamilyTable): AttrSet | null {
    const key = this.idx * 67108864 + src.epoch; // 2^26 session epochs
    let out: AttrSet | null | undefined;
    // The memo entry already holds the export policy's answer for the whole set (setPolicy).
    let policyDone = false;
    if (set.memoKey === key) {
      out = set.memoOut;
      policyDone = (set.memoFlags & 1) !== 0;
    } else if (set.memoKey2 === key) {
      out = set.memoOut2;
      policyDone = (set.memoFlags & 2) !== 0;
    } else out = set.memoMore?.get(key);
    if (out === undefined || (out !== null && out.dead)) {
      // Computed now, with one reference for the caller. The memo holds no reference of its
      // own: a set that died is recomputed.
      out = this.fastExport(src, set, family);
      if (out === undefined) out = this.slowExport(src, set, family);
      const decided = out === null ? undefined : this.setPolicy(src, set, out, family);
      policyDone = decided !== undefined;
      if (decided !== undefined) out = decided;
      if (set.memoKey === -1 || set.memoKey === key || (set.memoOut !== null && set.memoOut.dead)) {
        set.memoKey = key;
        set.memoOut = out;
        set.memoFlags = policyDone ? set.memoFlags | 1 : set.memoFlags & ~1;
      } else if (set.memoKey2 === -1 || set.memoKey2 === key || (set.memoOut2 !== null && set.memoOut2.dead)) {
        set.memoKey2 = key;
        set.memoOut2 = out;
        set.memoFlags = policyDone ? set.memoFlags | 2 : set.memoFlags & ~2;
      } else if (!policyDone) {
        // Overflow for sets exported to many groups; bounded, since old session epochs linger.
        // It keeps pre-policy answers only (the policy then runs per prefix).
        const more = (set.memoMore ??= new Map());
        if (more.size >= 16) more.clear();
        more.set(key, out);
      }
    } else if (out !== null) this.attrStore.ref(out);
    if (out === null) return null;
    out = this.withinMaxLen(out, family, pfx, table);
    if (out === null) return null;
    // Per prefix: with the policy's per-set answer in hand, only a prefix filter is left to ask.
    if (policyDone && this.members.size === 0) {
      this.attrStore.unref(out);
      return null;
    }
    if (this.exportFilter || (this.exportPolicy && !policyDone)) {
      const first = this.members.values().next().value as Member | undefined;
      if (!first || (this.exportFilter && !this.exportFilter(table.store.toPrefix(pfx), first.peer.cfg))) {
        this.attrStore.unref(out);
        return null;
      }
    }
    if (this.exportPolicy && !policyDone) {
      const first = this.members.values().next().value as Member | undefined;
      if (!first) {
        this.attrStore.unref(out);
        return null;
      }
      // Called per prefix: the set keeps its decoded attributes from now on.
      const res = this.exportPolicy(table.store.toPrefix(pfx), this.attrStore.attrsKept(out), first.peer.cfg, set.localPref, src.local ? 'local' : 'peer');
      if (res !== 'accept') {
        const mod = this.policyResult(res, out, family);
        return mod && this.withinMaxLen(mod, family, pfx, table);
      }
    }
    return out;
  }

  /**
   * The export policy's answer for every prefix carrying `set` from `src` (rib-types.ts
   * SetPolicyFn), applied to `out` (whose reference passes to the result), or undefined when the
   * policy has none: then it runs per prefix. Memoised with `out`, so asked once per set.
   */
  private setPolicy(src: PeerState, set: AttrSet, out: AttrSet, family: Family): AttrSet | null | undefined {
    const perSet = this.exportPolicy?.perSet;
    const first = this.members.values().next().value as Member | undefined;
    if (!perSet || !first) return undefined;
    const res = perSet(family, () => this.attrStore.attrsOf(out), first.peer.cfg, set.localPref, src.local ? 'local' : 'peer');
    if (res === undefined || res === 'accept') return res === undefined ? undefined : out;
    return this.policyResult(res, out, family);
  }

  /** A rejecting or editing policy result for `out`: the set to send (with a reference) or null. */
  private policyResult(res: Exclude<PolicyResult, 'accept'>, out: AttrSet, family: Family): AttrSet | null {
    const nh = family === 'ipv4' ? (res === 'reject' ? '' : (res.nextHop ?? out.nextHop)) : { global: out.nextHop, linkLocal: out.linkLocal };
    const mod = res === 'reject' ? null : this.attrStore.intern(res, nh);
    this.attrStore.unref(out);
    return mod;
  }

  /**
   * RFC 8654 §4: a message may not exceed the peer's maximum (4096 octets without the
   * Extended Message capability). An UPDATE carrying this prefix alone with these attributes
   * would, so the route is not advertised to this group (whose members share one maximum: the
   * group key includes the capability) and counts as withdrawn for them; every member is told
   * through a RibNotice. Returns `set`, or null after dropping the caller's reference.
   */
  private withinMaxLen(set: AttrSet, family: Family, pfx: number, table: FamilyTable): AttrSet | null {
    // Runs per prefix: a set far below the maximum needs no exact length (FIT_SLACK covers the
    // header, both length fields, the largest MP_REACH header and one add-path NLRI).
    if (this.blockLength(set) + FIT_SLACK <= this.maxLen) return set;
    const nlri = (this.fams[family].addPath ? 5 : 1) + ((table.store.lens[pfx] + 7) >> 3);
    const mp = family === 'ipv6' ? mpReachHeaderLength(this.nextHopBytes(set)) : 0;
    const len = HEADER_LEN + 4 + mp + this.blockLength(set) + nlri;
    if (len <= this.maxLen) return set;
    this.attrStore.unref(set);
    for (const m of this.members.values()) {
      this.note(
        m.peer,
        'message-too-large',
        family,
        pfx,
        `an UPDATE for it would be ${len} bytes, over the peer's ${this.maxLen}-byte maximum (RFC 8654 §4): not advertised to this peer`,
      );
    }
    return null;
  }

  /** export.ts rules through decoded attributes: any source, any profile. */
  private slowExport(src: PeerState, set: AttrSet, family: Family): AttrSet | null {
    const inAttrs = this.attrStore.attrsOf(set);
    if (!mayAdvertise(src, this.target, inAttrs, this.me)) return null;
    const e = exportAttrs(src, this.target, set, inAttrs, family, this.me);
    if (family === 'ipv4') e.attrs.nextHop = e.nextHop;
    // Keyed by the encoded bytes, which the group needs anyway.
    const enc = encodeCompact(e.attrs, this.ctx);
    return this.internOut(e.attrs, enc, e.nextHop, e.linkLocal, family);
  }

  /**
   * fast-export.ts: a clean 4-octet route to a 4-octet eBGP group with next-hop-self and no
   * export policy, rewritten as bytes. undefined when it does not apply.
   */
  private fastExport(src: PeerState, set: AttrSet, family: Family): AttrSet | undefined {
    if (!this.fastEbgp || src.local || !set.clean || set.rawLen < 0) return undefined;
    const key = this.attrStore.keyOf(set);
    if (key.charCodeAt(1) !== 52 /* '4' */) return undefined;
    const v4 = family === 'ipv4';
    const nh = v4 ? (this.target.localAddress ?? this.me.routerId) : (this.target.localAddress6 ?? '::');
    const ll = v4 ? undefined : this.target.localLinkLocal6;
    const enc = fastEbgpAttrs(key, 2, set.rawLen, this.me.localAs, v4 ? ipv4ToNumber(nh) : null);
    if (!enc) return undefined;
    return this.internOut(LEAN_ATTRS, enc, nh, ll, family);
  }

  private internOut(attrs: PathAttributes, enc: Buffer, nh: string, ll: string | undefined, family: Family): AttrSet {
    const k = bytesKey(this.ctx.as4 ? 'X4' : 'X2', enc, 0, enc.length, `|${nh}|${ll ?? ''}`);
    const out = this.attrStore.intern(attrs, family === 'ipv4' ? nh : { global: nh, linkLocal: ll }, k);
    // `enc` is not kept: the key holds the same bytes (attrBlock).
    if (out.refs === 1) this.attrStore.makeLean(out);
    return out;
  }

  /** Which member must not get a path from `src` (split horizon), -1 for none. */
  exclusionFor(src: PeerState): number {
    return src.group === this.idx ? src.idx : -1;
  }

  /** Encodes pending changes of both families into the shared log (MRAI permitting). */
  encode(now: number): number {
    const announce = now >= this.lastAnnounce + this.mraiMs;
    const before = this.log.length;
    for (const f of this.families) {
      const gf = this.fams[f];
      if (!gf.hasPending()) continue;
      const msgs = gf.encodePending(
        announce,
        (set) => this.attrBlock(set),
        (set) => this.nextHopBytes(set),
        this.maxLen,
        (set) => this.memberByRouterId(set.originatorId),
        [...this.members.keys()],
        this.snap?.since,
      );
      for (const m of msgs) this.log.push(m);
    }
    if (announce && this.log.length > before) this.lastAnnounce = now;
    if (this.snap !== null && !this.snapshotHolds(this.snap)) this.snap = null;
    if (this.log.length > before) this.trim();
    return this.log.length - before;
  }

  /** Earliest time the group may announce its pending changes, or Infinity when none. */
  nextAnnounceAt(): number {
    for (const f of this.families) if (this.fams[f].hasPending()) return this.lastAnnounce + this.mraiMs;
    return Infinity;
  }

  attrBlock(set: AttrSet): Buffer {
    // A set this group's kind of session encoded (internOut) keeps its bytes in its key only,
    // copied out once per set per encode: 100k long-lived Buffers fewer at 1M/100k (~13 MB).
    if (this.keyedByBlock(set)) return this.attrStore.rawBytes(set);
    if (this.ctx.as4) return (set.enc4 ??= encodeCompact(this.attrsOf(set), this.ctx));
    return (set.enc2 ??= encodeCompact(this.attrsOf(set), this.ctx));
  }

  /** attrBlock(set).length without copying the bytes out (withinMaxLen runs per prefix). */
  private blockLength(set: AttrSet): number {
    return this.keyedByBlock(set) ? set.rawLen : this.attrBlock(set).length;
  }

  /** The set's key is an attribute block encoded for sessions like this group's (internOut). */
  private keyedByBlock(set: AttrSet): boolean {
    if (set.rawLen < 0) return false;
    const key = this.attrStore.keyOf(set);
    return key.charCodeAt(0) === 88 /* 'X' */ && key.charCodeAt(1) === (this.ctx.as4 ? 52 /* '4' */ : 50); /* '2' */
  }

  private nhCache = new Map<string, Buffer>();
  nextHopBytes(set: AttrSet): Buffer {
    const k = `${set.nextHop}/${set.linkLocal ?? ''}`;
    let b = this.nhCache.get(k);
    if (!b) {
      b = encodeNextHop({ global: set.nextHop, linkLocal: set.linkLocal });
      if (this.nhCache.size > 1024) this.nhCache.clear();
      this.nhCache.set(k, b);
    }
    return b;
  }

  private snap: Snapshot | null = null;

  /** The Adj-RIB-Out changed outside the shared stream (a group filled quietly): no snapshot. */
  dropSnapshot(): void {
    this.snap = null;
  }

  /** Whether the snapshot still stands for "the Adj-RIB-Out at `at`, then the log since". */
  private snapshotHolds(s: Snapshot): boolean {
    return s.at >= this.logBase && s.since.withdrawals === 0 && this.logEnd - s.at <= Math.max(256, s.msgs >> 2);
  }

  /**
   * The initial update of a member that just joined (RFC 4271 §9.2), for its own queue, each
   * family's followed by `eor(family)` (RFC 4724 §2), and its cursor at the end of the log.
   * When route reflector clients join in a burst, walking every prefix for each (dump()) was
   * per-client work that is per-group (issue 18's profile): a snapshot of the encoded
   * Adj-RIB-Out is made once, and each joiner gets the snapshot's buckets minus its exclusions
   * (the filter dump() applies: split horizon, and RFC 4456 §8 ORIGINATOR_ID) followed by the
   * log entries encoded since (those for it, by their tags), announcements only: a withdrawal
   * encoded since ends the snapshot, so the initial update has the form dump() gives it. It ends
   * in the same state. The snapshot lasts while the log since it is short (trim keeps it). It
   * is made again at the end of the log for a joiner whose router ID is the ORIGINATOR_ID of a
   * route encoded since (tagged before the joiner was a member), and with several families
   * when the log has moved on (its entries are not sorted by family, and each family's
   * End-of-RIB must follow all of that family's routes). dump() is used instead for add-path
   * groups and for a group's only member.
   */
  initialUpdate(m: Member, eor: (family: Family) => OutMsg): void {
    const idx = m.peer.idx;
    const rid = m.peer.routerIdNum;
    let s = this.snap;
    // A snapshot whose log since cannot serve this joiner is made again at the end of the log.
    if (s !== null && (!this.snapshotHolds(s) || s.since.origins.has(rid) || (this.families.length > 1 && s.at < this.logEnd))) s = this.snap = null;
    if (this.families.some((f) => this.fams[f].addPath) || this.members.size < 2) {
      for (const f of this.families) {
        for (const b of this.dump(f, idx)) m.own.push(b);
        m.own.push(eor(f));
      }
      m.cursor = this.logEnd;
      return;
    }
    if (s === null) {
      const fams = this.families.map((f) =>
        this.fams[f].snapshot(
          (set) => this.attrBlock(set),
          (set) => this.nextHopBytes(set),
          this.maxLen,
        ),
      );
      let msgs = 0;
      for (const segs of fams) for (const g of segs) msgs += g.bufs.length;
      s = this.snap = { at: this.logEnd, fams, msgs, since: { origins: new Set(), withdrawals: 0 } };
    }
    // Read lazily (output.ts readInitial): the member holds the snapshot and a position, not a
    // copy of its thousands of buffers (O(members x messages) pointers at 5,000 clients). The
    // log since the snapshot is read from `at` by the member's own cursor, with the same tags;
    // with one family only (see above) it goes before that family's End-of-RIB, held until the
    // cursor reaches the end of the log at joining.
    const last = this.families.length - 1;
    m.init = {
      fams: s.fams,
      k: 0,
      seg: 0,
      buf: 0,
      excl: idx,
      rid: this.memberByRouterId(rid) === idx ? rid : -1,
      eors: this.families.slice(0, last).map(eor),
      left: s.msgs + last,
    };
    m.eor = eor(this.families[last]);
    m.eorAt = this.logEnd;
    m.cursor = s.at;
  }

  /**
   * Turns a member's lazily read initial update (initialUpdate) into its own queue, as it
   * would have been built at once, before anything else is queued for it alone (a route
   * refresh, a move to another group). The log entries up to the End-of-RIB move with it.
   */
  materialize(m: Member): void {
    const r = m.init;
    if (r !== null) {
      for (; r.k < r.fams.length; r.k++, r.seg = 0) {
        const segs = r.fams[r.k];
        for (; r.seg < segs.length; r.seg++, r.buf = 0) {
          const g = segs[r.seg];
          if (withheld(g, r)) continue;
          for (; r.buf < g.bufs.length; r.buf++) m.own.push(g.bufs[r.buf]);
        }
        if (r.k < r.eors.length) m.own.push(r.eors[r.k]);
      }
      m.init = null;
    }
    if (m.eor === null) return;
    for (let i = m.cursor - this.logBase; i < m.eorAt - this.logBase; i++) if (isFor(this.log[i], m.peer.idx)) m.own.push(this.log[i]);
    m.own.push(m.eor);
    m.cursor = Math.max(m.cursor, m.eorAt);
    m.eor = null;
    m.eorAt = -1;
  }

  /** The whole Adj-RIB-Out of a family as UPDATEs for one member (initial dump, refresh). */
  dump(family: Family, member: number): OutMsg[] {
    return this.fams[family].dump(
      member,
      (set) => this.attrBlock(set),
      (set) => this.nextHopBytes(set),
      this.maxLen,
      (set) => this.memberByRouterId(set.originatorId),
    );
  }

  /** sentKeys of a family for a member (see GroupFamily.sentKeys). */
  sentKeys(family: Family, member: number): Set<number> {
    return this.fams[family].sentKeys(member, (set) => this.memberByRouterId(set.originatorId));
  }

  /** The lowest member cursor at the last trim, and how many members were there. */
  private lowCursor = 0;
  private atLow = 0;

  /**
   * A member's cursor moved on from `from`. Only the last member to leave the lowest cursor can
   * let the log shrink, so only that take trims. trim() visits every member, and every member
   * takes after each encode: trimming on every take made each round of output O(members²), 25M
   * member visits per round at 5,000 route-reflector clients (issue 18's profile).
   */
  taken(from: number): void {
    if (from === this.lowCursor && --this.atLow <= 0) this.trim();
  }

  /**
   * Drops log entries every member has taken. A member's cursor first skips entries that are
   * not for it (e.g. a full table excluded for its source, who may not read for a while).
   */
  trim(): void {
    let min = this.logEnd;
    let at = 0;
    const log = this.log;
    for (const m of this.members.values()) {
      let i = m.cursor - this.logBase;
      while (i < log.length && !isFor(log[i], m.peer.idx)) i++;
      m.cursor = this.logBase + i;
      if (m.cursor < min) {
        min = m.cursor;
        at = 1;
      } else if (m.cursor === min) at++;
    }
    this.lowCursor = min;
    this.atLow = at;

    // The log since the snapshot stays while the snapshot does: joiners read it. Trimmed
    // after every round of output (every member takes everything), it ended the snapshot, and
    // each client joining a reflector had one rebuilt for it (issue 18's profile).
    const keep = this.snap === null ? min : Math.min(min, this.snap.at);
    const drop = keep - this.logBase;
    if (drop > 0 && (drop >= 1024 || drop === this.log.length)) {
      this.log.splice(0, drop);
      this.logBase = keep;
    }
  }

  /** Releases every Adj-RIB-Out reference (group deleted). */
  release(): void {
    this.snap = null;
    this.fams.ipv4.release();
    this.fams.ipv6.release();
    this.log = [];
  }

  entries(family: Family): Entry[] {
    return this.fams[family].entries();
  }
}
