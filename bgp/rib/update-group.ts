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

import type { Family, SessionContext } from '../types';
import { encodeAttributes } from '../codec/attributes';
import { encodeNextHop } from '../codec/attr-mp';
import type { AttrSet, AttrStore } from './attr-store';
import { exportAttrs, mayAdvertise, type ExportTarget, type LocalSpeaker } from './export';
import type { PeerState } from './peer-state';
import type { PolicyFn } from './rib-types';
import type { FamilyTable } from './table';
import { GroupFamily, type Entry } from './group-family';

/** An encoded message with the members it is not for (except) or only for (only). */
export interface TaggedMsg {
  buf: Buffer;
  except?: number[];
  only?: number[];
}
export type OutMsg = Buffer | TaggedMsg;

export interface Member {
  peer: PeerState;
  /** Absolute index of the next group log entry this member has not taken. */
  cursor: number;
  /** Messages for this member alone, sent before the log from `cursor` (dump, EoR, refresh). */
  own: OutMsg[];
  /** Next entry of `own` to send (a queue without Array.shift). */
  ownHead: number;
}

export class UpdateGroup {
  readonly members = new Map<number, Member>();
  readonly fams: Record<Family, GroupFamily>;
  /** Shared stream: log[i] has absolute index logBase + i. */
  log: OutMsg[] = [];
  logBase = 0;
  lastAnnounce = -Infinity;
  readonly maxLen: number;

  constructor(
    readonly idx: number,
    readonly key: string,
    readonly target: ExportTarget,
    readonly ctx: SessionContext,
    readonly families: Family[],
    readonly mraiMs: number,
    readonly exportPolicy: PolicyFn | undefined,
    readonly addPathAll: boolean,
    private readonly attrStore: AttrStore,
    private readonly me: LocalSpeaker,
    tables: Record<Family, FamilyTable>,
  ) {
    this.maxLen = ctx.extendedMessage ? 65535 : 4096;
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

  /** Members' peer index by router ID, for the ORIGINATOR_ID exclusion (RFC 4456 §8). */
  private memberByRouterId(routerId: string | undefined): number {
    if (routerId === undefined) return -1;
    for (const m of this.members.values()) if (m.peer.routerId === routerId) return m.peer.idx;
    return -1;
  }

  /**
   * The attribute set this group advertises for a path from `src`, with one reference for the
   * caller, or null when it must not be advertised (RFC 4271 §9.2, RFC 4456 §6, policy).
   */
  exportSet(src: PeerState, set: AttrSet, family: Family, pfx: number, table: FamilyTable): AttrSet | null {
    const key = this.idx * 65536 + src.idx;
    let out: AttrSet | null | undefined;
    if (set.memoKey === key) out = set.memoOut;
    else out = set.memoMore?.get(key);
    if (out === undefined || (out !== null && out.dead)) {
      out = null;
      if (mayAdvertise(src, this.target, set.attrs, this.me)) {
        const e = exportAttrs(src, this.target, set, family, this.me);
        if (family === 'ipv4') e.attrs.nextHop = e.nextHop;
        // The memo holds no reference of its own: a set that died is recomputed.
        out = this.attrStore.intern(e.attrs, family === 'ipv4' ? e.nextHop : { global: e.nextHop, linkLocal: e.linkLocal });
      }
      if (set.memoKey === -1 || set.memoKey === key) {
        set.memoKey = key;
        set.memoOut = out;
      } else (set.memoMore ??= new Map()).set(key, out);
    } else if (out !== null) this.attrStore.ref(out);
    if (out === null) return null;
    if (this.exportPolicy) {
      const first = this.members.values().next().value as Member | undefined;
      if (!first) {
        this.attrStore.unref(out);
        return null;
      }
      const res = this.exportPolicy(table.store.toPrefix(pfx), out.attrs, first.peer.cfg);
      if (res !== 'accept') {
        const nh = family === 'ipv4' ? (res === 'reject' ? '' : (res.nextHop ?? out.nextHop)) : { global: out.nextHop, linkLocal: out.linkLocal };
        const mod = res === 'reject' ? null : this.attrStore.intern(res, nh);
        this.attrStore.unref(out);
        return mod;
      }
    }
    return out;
  }

  /** Which member must not get a path from `src` (split horizon), -1 for none. */
  exclusionFor(src: PeerState): number {
    return this.members.has(src.idx) ? src.idx : -1;
  }

  /** Encodes pending changes of both families into the shared log (MRAI permitting). */
  encode(now: number): number {
    const announce = now >= this.lastAnnounce + this.mraiMs;
    const before = this.log.length;
    for (const f of this.families) {
      const gf = this.fams[f];
      if (!gf.hasPending()) continue;
      const msgs = gf.encodePending(announce, (set) => this.attrBlock(set), (set) => this.nextHopBytes(set), this.maxLen, (set) =>
        this.memberByRouterId(set.attrs.originatorId),
      );
      for (const m of msgs) this.log.push(m);
    }
    if (announce && this.log.length > before) this.lastAnnounce = now;
    return this.log.length - before;
  }

  /** Earliest time the group may announce its pending changes, or Infinity when none. */
  nextAnnounceAt(): number {
    for (const f of this.families) if (this.fams[f].hasPending()) return this.lastAnnounce + this.mraiMs;
    return Infinity;
  }

  attrBlock(set: AttrSet): Buffer {
    const i = this.ctx.as4 ? 0 : 1;
    return (set.enc[i] ??= encodeAttributes(set.attrs, this.ctx));
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

  /** The whole Adj-RIB-Out of a family as UPDATEs for one member (initial dump, refresh). */
  dump(family: Family, member: number): OutMsg[] {
    return this.fams[family].dump(member, (set) => this.attrBlock(set), (set) => this.nextHopBytes(set), this.maxLen, (set) =>
      this.memberByRouterId(set.attrs.originatorId),
    );
  }

  /** Drops log entries every member has taken. */
  trim(): void {
    let min = this.logEnd;
    for (const m of this.members.values()) if (m.cursor < min) min = m.cursor;
    const drop = min - this.logBase;
    if (drop > 0 && (drop >= 1024 || drop === this.log.length)) {
      this.log.splice(0, drop);
      this.logBase = min;
    }
  }

  /** Releases every Adj-RIB-Out reference (group deleted). */
  release(): void {
    this.fams.ipv4.release();
    this.fams.ipv6.release();
    this.log = [];
  }

  entries(family: Family): Entry[] {
    return this.fams[family].entries();
  }
}
