// One family of an update group's Adj-RIB-Out, its pending changes and their encoding.
//
// Without add-path the Adj-RIB-Out is two Int32Arrays indexed by prefix index (advertised set
// id, excluded member once one is): 8 bytes per prefix per group. Pending changes are a list
// of prefixes; encoding reads the *current* state of each, so a prefix that flapped within one
// batch or one MRAI interval is sent once, in its final state (RFC 4271 §9.2.1.1).
// With add-path send (RFC 7911) a prefix may carry several paths: a Map from prefix to
// [pathId, set, excluded] triples, and pending changes are explicit operations.

import type { AttrSet, AttrStore } from './attr-store.js';
import { grow32, IntVec, type FamilyTable } from './table.js';
import { packReach, packWithdraw, type OutMsg } from './wire.js';

export interface Entry {
  pfx: number;
  pathId: number;
  attr: AttrSet;
  /** Member that must not receive it (split horizon), -1 for none. */
  excl: number;
}

export interface ApPath {
  pathId: number;
  set: AttrSet;
  excl: number;
}

type Enc = (set: AttrSet) => Buffer;

/**
 * One bucket of a snapshot of the encoded Adj-RIB-Out (UpdateGroup.initialUpdate): its UPDATEs,
 * the member it is withheld from (split horizon, -1 none) and its ORIGINATOR_ID (-1 none).
 */
/** What an encode added to the stream since a snapshot: ORIGINATOR_IDs announced, withdrawals. */
export interface SinceSnapshot {
  origins: Set<number>;
  withdrawals: number;
}

export interface Segment {
  bufs: Buffer[];
  excl: number;
  originatorId: number;
}
type Orig = (set: AttrSet) => number;

/** Prefixes sharing one message layout: attributes (null: withdraw) and member tags. */
interface Bucket {
  set: AttrSet | null;
  pfx: number[];
  ids: number[] | null;
  except: number[];
  only: number[] | null;
  /** The encode run this bucket belongs to (AttrSet.bucket may be left from an earlier one). */
  map: Map<number, Bucket>;
}

/** The members not to send to: the two exclusions, deduplicated, -1 dropped. */
const NO_TAGS: number[] = [];
const tags = (a: number, b: number): number[] => (a < 0 ? (b < 0 ? NO_TAGS : [b]) : b < 0 || b === a ? [a] : [a, b]);

export class GroupFamily {
  out: Int32Array = new Int32Array(0);
  /** Member each prefix is withheld from (split horizon), by exclOf(); empty until one is (issue 18). */
  excl: Int32Array = new Int32Array(0);
  private pendFlag: Uint8Array = new Uint8Array(0);
  /** Pending prefixes with what was last encoded for each: triples (pfx, set id, excluded). */
  private pending = new IntVec();
  readonly ap = new Map<number, ApPath[]>();
  /** Prefixes whose pending reference is released after an encode (reused). */
  private done = new IntVec();
  /** Add-path operations, flat: pfx, pathId, set id (-1 withdraw), excl. Each holds refs. */
  private apOps: number[] = [];

  constructor(
    readonly table: FamilyTable,
    readonly addPath: boolean,
    private readonly attrs: AttrStore,
  ) {}

  private ensure(pfx: number): void {
    if (pfx < this.out.length) return;
    const n = Math.max(this.table.store.capacity, pfx + 1);
    this.out = grow32(this.out, n, -1);
    if (this.excl.length > 0) this.excl = grow32(this.excl, n, -1);
    const f = new Uint8Array(n);
    f.set(this.pendFlag);
    this.pendFlag = f;
  }

  /** The member pfx is withheld from, -1 for none. */
  exclOf(pfx: number): number {
    return pfx < this.excl.length ? this.excl[pfx] : -1;
  }

  hasPending(): boolean {
    return this.pending.length > 0 || this.apOps.length > 0;
  }

  /**
   * Sets the advertised path of pfx (non add-path), taking over the caller's reference to
   * `set`. `quiet` fills a new group's table without queueing UPDATEs.
   */
  set(pfx: number, set: AttrSet | null, excl: number, quiet = false): boolean {
    if (set === null && pfx >= this.out.length) return false; // never advertised
    this.ensure(pfx);
    const old = this.out[pfx];
    const id = set ? set.id : -1;
    if (old === id && (id < 0 || this.exclOf(pfx) === excl)) {
      if (set) this.attrs.unref(set);
      return false;
    }
    if (this.pendFlag[pfx] === 0 && !quiet) {
      // Remember what the members were last sent; the reference to the old set moves here.
      this.pendFlag[pfx] = 1;
      this.pending.push3(pfx, old, this.exclOf(pfx));
      this.table.refPrefix(pfx);
    } else if (old >= 0) this.attrs.unref(this.attrs.get(old));
    if (old < 0 && id >= 0) this.table.refPrefix(pfx);
    this.out[pfx] = id;
    if (excl >= 0 && this.excl.length === 0) this.excl = grow32(this.excl, this.out.length, -1);
    if (this.excl.length > 0) this.excl[pfx] = excl;
    if (old >= 0 && id < 0) this.table.unrefPrefix(pfx);
    return true;
  }

  /** Sets the advertised paths of pfx (add-path send). Takes over the references in `paths`. */
  setPaths(pfx: number, paths: ApPath[], quiet = false): boolean {
    const old = this.ap.get(pfx) ?? [];
    let changed = false;
    if (!quiet) {
      for (const o of old) {
        if (paths.some((n) => n.pathId === o.pathId)) continue;
        this.apOps.push(pfx, o.pathId, -1, o.excl);
        this.table.refPrefix(pfx);
        changed = true;
      }
      for (const n of paths) {
        const o = old.find((x) => x.pathId === n.pathId);
        if (o && o.set === n.set && o.excl === n.excl) continue;
        this.apOps.push(pfx, n.pathId, n.set.id, n.excl);
        this.attrs.ref(n.set);
        this.table.refPrefix(pfx);
        changed = true;
      }
    }
    for (const o of old) this.attrs.unref(o.set);
    if (paths.length > 0) {
      if (old.length === 0) this.table.refPrefix(pfx);
      this.ap.set(pfx, paths);
    } else if (old.length > 0) {
      this.ap.delete(pfx);
      this.table.unrefPrefix(pfx);
    }
    return changed;
  }

  /**
   * Encodes pending changes; announcements only when `announce` (MRAI elapsed; withdrawals
   * are never delayed, RFC 4271 §9.2.1.1). `members` are the group's member peer indices.
   */
  encodePending(announce: boolean, enc: Enc, nh: Enc, maxLen: number, orig: Orig, members: number[], since?: SinceSnapshot): OutMsg[] {
    const b = new Map<number, Bucket>();
    const pend = this.pending.data;
    const n = this.pending.length;
    let kept = 0;
    const done = this.done;
    done.length = 0;
    for (let i = 0; i < n; i += 3) {
      const pfx = pend[i];
      const id = this.out[pfx];
      const prev = pend[i + 1];
      const prevEx = pend[i + 2];
      if (id >= 0 && !announce) {
        pend[kept++] = pfx;
        pend[kept++] = prev;
        pend[kept++] = prevEx;
        continue;
      }
      // Members that did not have the previous state: split horizon and ORIGINATOR_ID.
      const prevSet = prev >= 0 ? this.attrs.get(prev) : null;
      const missing = prevSet ? tags(prevEx, orig(prevSet)) : NO_TAGS;
      if (id < 0) {
        if (prevSet) this.add(b, null, pfx, 0, missing, null, false);
        if (prevSet && since) since.withdrawals++;
      } else {
        const set = this.attrs.get(id);
        if (since && set.originatorId >= 0) since.origins.add(set.originatorId);
        const except = tags(this.exclOf(pfx), orig(set));
        this.add(b, set, pfx, 0, except, null, false);
        // An excluded member that had the old route must hear it is gone.
        if (prevSet)
          for (const m of except)
            if (!missing.includes(m)) {
              this.add(b, null, pfx, 0, [], [m], false);
              if (since) since.withdrawals++;
            }
      }
      if (prevSet) this.attrs.unref(prevSet);
      this.pendFlag[pfx] = 0;
      done.push(pfx);
    }
    this.pending.length = kept;
    this.pending.shift(0);
    this.encodeApOps(b, announce, orig, done);
    const msgs: OutMsg[] = [];
    this.emit(msgs, b, enc, nh, maxLen, members);
    // Only now may a withdrawn prefix leave the store (its bytes were needed above).
    for (let i = 0; i < done.length; i++) this.table.unrefPrefix(done.data[i]);
    return msgs;
  }

  /** Add-path: the last operation per (prefix, path id) wins; its references are released. */
  private encodeApOps(b: Map<number, Bucket>, announce: boolean, orig: Orig, done: IntVec): void {
    const ops = this.apOps;
    if (ops.length === 0) return;
    const kept: number[] = [];
    const seen = new Set<number>();
    // Newest first: only the last operation per (prefix, path id) counts; an announcement that
    // the MRAI holds back stays queued (and still supersedes older operations on that path).
    for (let i = ops.length - 4; i >= 0; i -= 4) {
      const pfx = ops[i];
      const pid = ops[i + 1];
      const sid = ops[i + 2];
      const k = pfx * 4294967296 + pid;
      const superseded = seen.has(k);
      seen.add(k);
      if (!superseded && sid >= 0 && !announce) {
        kept.push(i);
        continue;
      }
      if (!superseded) {
        // A path id always names one received path, whose source never had it (RFC 7911 §3).
        if (sid < 0) this.add(b, null, pfx, pid, tags(ops[i + 3], -1), null, true);
        else this.add(b, this.attrs.get(sid), pfx, pid, tags(ops[i + 3], orig(this.attrs.get(sid))), null, true);
      }
      if (sid >= 0) this.attrs.unref(this.attrs.get(sid));
      done.push(pfx);
    }
    const keep: number[] = [];
    for (let j = kept.length - 1; j >= 0; j--) {
      const i = kept[j];
      keep.push(ops[i], ops[i + 1], ops[i + 2], ops[i + 3]);
    }
    this.apOps = keep;
  }

  private add(b: Map<number, Bucket>, set: AttrSet | null, pfx: number, pid: number, except: number[], only: number[] | null, ap: boolean): void {
    let k: Bucket | undefined;
    if (set !== null && except.length === 0) {
      // The common case: the bucket hangs off the set itself while this encode runs.
      k = set.bucket as Bucket | undefined;
      if (k === undefined || k.map !== b) {
        k = { set, pfx: [], ids: ap ? [] : null, except, only, map: b };
        set.bucket = k;
        b.set(set.id * 4294967296, k);
      }
    } else {
      // Number keys: announcements >= 0 by (set, exclusions), withdrawals < 0.
      const x = except.length === 0 ? 0 : except.length === 1 ? except[0] + 1 : (except[0] + 1) * 65536 + except[1] + 1;
      const key = set ? set.id * 4294967296 + x : only ? -1 - only[0] : -70000 - x;
      k = b.get(key);
      if (!k) {
        k = { set, pfx: [], ids: ap ? [] : null, except, only, map: b };
        b.set(key, k);
      }
    }
    k.pfx.push(pfx);
    if (k.ids) k.ids.push(pid);
  }

  private emit(msgs: OutMsg[], buckets: Map<number, Bucket>, enc: Enc, nh: Enc, maxLen: number, members: number[]): void {
    const store = this.table.store;
    for (const k of buckets.values()) {
      if (k.set) k.set.bucket = undefined;
      // Nobody to send to: every member is excluded (e.g. the only member is the source).
      if (k.except.length > 0 && members.every((m) => k.except.includes(m))) continue;
      const run = { pfx: k.pfx, pathId: k.ids, from: 0, to: k.pfx.length };
      const out: Buffer[] = [];
      if (k.set) packReach(out, store, run, enc(k.set), store.family === 'ipv6' ? nh(k.set) : null, maxLen);
      else packWithdraw(out, store, run, maxLen);
      if (k.except.length === 0 && !k.only) for (const buf of out) msgs.push(buf);
      else for (const buf of out) msgs.push(k.only ? { buf, only: k.only } : { buf, except: k.except });
    }
  }

  /**
   * Every prefix's entry as last encoded, without add-path: attribute set id (-1: none) and the
   * member it is withheld from. A prefix with a change pending shows the value from before it
   * (the pending record keeps it), since the change itself is still on its way in the stream.
   */
  private forEachEncoded(visit: (pfx: number, id: number, excl: number) => void): void {
    const prevOf = new Map<number, number>();
    const pend = this.pending.data;
    for (let i = 0; i < this.pending.length; i += 3) prevOf.set(pend[i], i);
    const n = Math.min(this.out.length, this.table.store.highWater);
    for (let pfx = 0; pfx < n; pfx++) {
      if (this.pendFlag[pfx]) {
        const i = prevOf.get(pfx) as number;
        visit(pfx, pend[i + 1], pend[i + 2]);
      } else {
        visit(pfx, this.out[pfx], this.exclOf(pfx));
      }
    }
  }

  /**
   * The Adj-RIB-Out as last encoded (pending changes follow in the shared stream), as UPDATEs
   * for `member`: the initial dump and RFC 2918 refresh.
   */
  dump(member: number, enc: Enc, nh: Enc, maxLen: number, orig: Orig): OutMsg[] {
    const b = new Map<number, Bucket>();
    if (!this.addPath) {
      this.forEachEncoded((pfx, id, ex) => {
        if (id < 0 || ex === member) return;
        const set = this.attrs.get(id);
        if (orig(set) !== member) this.add(b, set, pfx, 0, [], null, false);
      });
    } else {
      for (const [pfx, paths] of this.ap) {
        for (const p of paths) if (p.excl !== member && orig(p.set) !== member) this.add(b, p.set, pfx, p.pathId, [], null, true);
      }
    }
    const msgs: OutMsg[] = [];
    this.emit(msgs, b, enc, nh, maxLen, [member]);
    return msgs;
  }

  /**
   * The Adj-RIB-Out as last encoded, for any member (without add-path): buckets by attribute
   * set and excluded member, each with its ORIGINATOR_ID, so a member's initial dump is a
   * filter over them (the same filter as dump()) instead of a walk over every prefix.
   */
  snapshot(enc: Enc, nh: Enc, maxLen: number): Segment[] {
    const b = new Map<number, Bucket>();
    this.forEachEncoded((pfx, id, ex) => {
      if (id >= 0) this.add(b, this.attrs.get(id), pfx, 0, ex < 0 ? NO_TAGS : [ex], null, false);
    });
    const store = this.table.store;
    const out: Segment[] = [];
    for (const k of b.values()) {
      const set = k.set as AttrSet;
      set.bucket = undefined;
      const bufs: Buffer[] = [];
      packReach(bufs, store, { pfx: k.pfx, pathId: null, from: 0, to: k.pfx.length }, enc(set), store.family === 'ipv6' ? nh(set) : null, maxLen);
      out.push({ bufs, excl: k.except.length > 0 ? k.except[0] : -1, originatorId: set.originatorId });
    }
    return out;
  }

  /**
   * What `member` holds from this table as last encoded (pending changes excluded): keys
   * pfx (without add-path) or pfx * 2^32 + path id (with it). For soft reconfiguration.
   */
  sentKeys(member: number, orig: Orig): Set<number> {
    const keys = new Set<number>();
    if (this.addPath) {
      for (const [pfx, paths] of this.ap) for (const p of paths) if (p.excl !== member && orig(p.set) !== member) keys.add(pfx * 4294967296 + p.pathId);
      return keys;
    }
    this.forEachEncoded((pfx, id, ex) => {
      if (id >= 0 && ex !== member && orig(this.attrs.get(id)) !== member) keys.add(pfx);
    });
    return keys;
  }

  /** UPDATEs withdrawing `keys` (as returned by sentKeys). */
  withdrawKeys(keys: Iterable<number>, maxLen: number): Buffer[] {
    const pfx: number[] = [];
    const ids: number[] | null = this.addPath ? [] : null;
    for (const k of keys) {
      if (ids) {
        pfx.push(Math.floor(k / 4294967296));
        ids.push(k % 4294967296);
      } else pfx.push(k);
    }
    const out: Buffer[] = [];
    if (pfx.length > 0) packWithdraw(out, this.table.store, { pfx, pathId: ids, from: 0, to: pfx.length }, maxLen);
    return out;
  }

  entries(): Entry[] {
    const out: Entry[] = [];
    if (!this.addPath) {
      const n = Math.min(this.out.length, this.table.store.highWater);
      for (let pfx = 0; pfx < n; pfx++) if (this.out[pfx] >= 0) out.push({ pfx, pathId: 0, attr: this.attrs.get(this.out[pfx]), excl: this.exclOf(pfx) });
    } else for (const [pfx, paths] of this.ap) for (const p of paths) out.push({ pfx, pathId: p.pathId, attr: p.set, excl: p.excl });
    return out;
  }

  /** Drops every reference (group removed). */
  release(): void {
    const pend = this.pending.data;
    for (let i = 0; i < this.pending.length; i += 3) {
      const pfx = pend[i];
      if (pend[i + 1] >= 0) this.attrs.unref(this.attrs.get(pend[i + 1]));
      this.pendFlag[pfx] = 0;
      this.table.unrefPrefix(pfx);
    }
    this.pending.length = 0;
    for (let pfx = 0; pfx < this.out.length; pfx++) {
      if (this.out[pfx] < 0) continue;
      this.attrs.unref(this.attrs.get(this.out[pfx]));
      this.out[pfx] = -1;
      this.table.unrefPrefix(pfx);
    }
    for (const [pfx, paths] of this.ap) {
      for (const p of paths) this.attrs.unref(p.set);
      this.table.unrefPrefix(pfx);
    }
    this.ap.clear();
    for (let i = 0; i < this.apOps.length; i += 4) {
      if (this.apOps[i + 2] >= 0) this.attrs.unref(this.attrs.get(this.apOps[i + 2]));
      this.table.unrefPrefix(this.apOps[i]);
    }
    this.apOps = [];
  }
}
