// One family of an update group's Adj-RIB-Out, its pending changes and their encoding.
//
// Without add-path the Adj-RIB-Out is two Int32Arrays indexed by prefix index (advertised
// attribute set id, excluded member): 8 bytes per prefix per group. Pending changes are a list
// of prefixes; encoding reads the *current* state of each, so a prefix that flapped within one
// batch or one MRAI interval is sent once, in its final state (RFC 4271 §9.2.1.1).
// With add-path send (RFC 7911) a prefix may carry several paths: a Map from prefix to
// [pathId, set, excluded] triples, and pending changes are explicit operations.

import type { AttrSet, AttrStore } from './attr-store';
import type { FamilyTable } from './table';
import { packReach, packWithdraw } from './wire';
import type { OutMsg } from './update-group';

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
type Orig = (set: AttrSet) => number;

interface Bucket {
  set: AttrSet;
  pfx: number[];
  ids: number[] | null;
  excl: number;
}

export class GroupFamily {
  out: Int32Array = new Int32Array(0);
  excl: Int32Array = new Int32Array(0);
  private pending: number[] = [];
  private pendFlag: Uint8Array = new Uint8Array(0);
  readonly ap = new Map<number, ApPath[]>();
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
    const o = new Int32Array(n).fill(-1);
    o.set(this.out);
    const e = new Int32Array(n).fill(-1);
    e.set(this.excl);
    const f = new Uint8Array(n);
    f.set(this.pendFlag);
    this.out = o;
    this.excl = e;
    this.pendFlag = f;
  }

  hasPending(): boolean {
    return this.pending.length > 0 || this.apOps.length > 0;
  }

  /** Sets the advertised path of pfx (non add-path). Takes over the caller's reference to `set`. */
  set(pfx: number, set: AttrSet | null, excl: number, quiet = false): boolean {
    this.ensure(pfx);
    const old = this.out[pfx];
    const id = set ? set.id : -1;
    if (old === id && (id < 0 || this.excl[pfx] === excl)) {
      if (set) this.attrs.unref(set);
      return false;
    }
    if (this.pendFlag[pfx] === 0 && !quiet) {
      this.pendFlag[pfx] = 1;
      this.pending.push(pfx);
      this.table.refPrefix(pfx);
    }
    if (old >= 0) this.attrs.unref(this.attrs.get(old));
    if (old < 0 && id >= 0) this.table.refPrefix(pfx);
    this.out[pfx] = id;
    this.excl[pfx] = excl;
    if (old >= 0 && id < 0) this.table.unrefPrefix(pfx);
    return true;
  }

  /** Sets the advertised paths of pfx (add-path send). Takes over the references in `paths`. */
  setPaths(pfx: number, paths: ApPath[], quiet = false): boolean {
    const old = this.ap.get(pfx) ?? [];
    let changed = false;
    for (const o of old) {
      if (quiet) break;
      if (!paths.some((n) => n.pathId === o.pathId)) {
        this.apOps.push(pfx, o.pathId, -1, -1);
        this.table.refPrefix(pfx);
        changed = true;
      }
    }
    for (const n of paths) {
      const o = old.find((x) => x.pathId === n.pathId);
      if ((o && o.set === n.set && o.excl === n.excl) || quiet) continue;
      this.apOps.push(pfx, n.pathId, n.set.id, n.excl);
      this.attrs.ref(n.set);
      this.table.refPrefix(pfx);
      changed = true;
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

  /** Encodes pending changes; announcements only when `announce` (MRAI elapsed). */
  encodePending(announce: boolean, enc: Enc, nh: Enc, maxLen: number, orig: Orig): OutMsg[] {
    const msgs: OutMsg[] = [];
    const store = this.table.store;
    // Non add-path: final state of every pending prefix.
    const wd: number[] = [];
    const keep: number[] = [];
    const buckets = new Map<number, Bucket>();
    const done: number[] = [];
    for (const pfx of this.pending) {
      const id = this.out[pfx];
      if (id < 0) wd.push(pfx);
      else if (!announce) {
        keep.push(pfx);
        continue;
      } else this.bucket(buckets, this.attrs.get(id), pfx, 0, this.excl[pfx], false);
      done.push(pfx);
    }
    // Add-path: the last operation per (prefix, path id) wins.
    const wdIds: number[] = [];
    const keepOps: number[] = [];
    const seen = new Set<number>();
    const ops = this.apOps;
    for (let i = ops.length - 4; i >= 0; i -= 4) {
      const pfx = ops[i];
      const pid = ops[i + 1];
      const sid = ops[i + 2];
      const k = pfx * 4294967296 + pid;
      const superseded = seen.has(k);
      seen.add(k);
      if (sid >= 0 && !announce) {
        keepOps.push(pfx, pid, sid, ops[i + 3]);
        continue;
      }
      if (!superseded) {
        if (sid < 0) {
          wd.push(pfx);
          wdIds.push(pid);
        } else this.bucket(buckets, this.attrs.get(sid), pfx, pid, ops[i + 3], true);
      }
    }
    if (wd.length > 0) {
      const ids = this.addPath ? new Array<number>(wd.length - wdIds.length).fill(0).concat(wdIds) : null;
      packWithdraw(msgs as Buffer[], store, { pfx: wd, pathId: ids, from: 0, to: wd.length }, maxLen);
    }
    this.emitBuckets(msgs, buckets, enc, nh, maxLen, orig);
    // Release what the encoded operations held.
    for (const pfx of done) {
      this.pendFlag[pfx] = 0;
      this.table.unrefPrefix(pfx);
    }
    for (let i = 0; i < ops.length; i += 4) {
      if (ops[i + 2] >= 0 && !announce) continue;
      if (ops[i + 2] >= 0) this.attrs.unref(this.attrs.get(ops[i + 2]));
      this.table.unrefPrefix(ops[i]);
    }
    this.pending = keep;
    const kept: number[] = [];
    for (let i = keepOps.length - 4; i >= 0; i -= 4) kept.push(keepOps[i], keepOps[i + 1], keepOps[i + 2], keepOps[i + 3]);
    this.apOps = kept;
    return msgs;
  }

  private bucket(b: Map<number, Bucket>, set: AttrSet, pfx: number, pid: number, excl: number, ap: boolean): void {
    // One bucket per (attribute set, excluded member): usually one per set.
    const key = set.id * 65536 + excl + 1;
    let k = b.get(key);
    if (!k) {
      k = { set, pfx: [], ids: ap ? [] : null, excl };
      b.set(key, k);
    }
    k.pfx.push(pfx);
    if (k.ids) k.ids.push(pid);
  }

  private emitBuckets(msgs: OutMsg[], buckets: Map<number, Bucket>, enc: Enc, nh: Enc, maxLen: number, orig: Orig): void {
    const store = this.table.store;
    for (const k of buckets.values()) {
      {
        const set = k.set;
        const run = { pfx: k.pfx, pathId: k.ids, from: 0, to: k.pfx.length };
        const nhb = store.family === 'ipv6' ? nh(set) : null;
        const o = orig(set);
        const except = [k.excl, o].filter((x, i, a) => x >= 0 && a.indexOf(x) === i);
        if (except.length === 0) packReach(msgs as Buffer[], store, run, enc(set), nhb, maxLen);
        else {
          const ann: Buffer[] = [];
          packReach(ann, store, run, enc(set), nhb, maxLen);
          for (const buf of ann) msgs.push({ buf, except });
          const wd: Buffer[] = [];
          packWithdraw(wd, store, run, maxLen);
          for (const buf of wd) msgs.push({ buf, only: except });
        }
      }
    }
  }

  /** The whole Adj-RIB-Out as UPDATEs for `member` (initial dump, RFC 2918 refresh). */
  dump(member: number, enc: Enc, nh: Enc, maxLen: number, orig: Orig): Buffer[] {
    const buckets = new Map<number, Bucket>();
    if (!this.addPath) {
      const n = Math.min(this.out.length, this.table.store.highWater);
      for (let pfx = 0; pfx < n; pfx++) {
        const id = this.out[pfx];
        if (id < 0 || this.excl[pfx] === member) continue;
        const set = this.attrs.get(id);
        if (orig(set) === member) continue;
        this.bucket(buckets, set, pfx, 0, -1, false);
      }
    } else {
      for (const [pfx, paths] of this.ap) {
        for (const p of paths) if (p.excl !== member && orig(p.set) !== member) this.bucket(buckets, p.set, pfx, p.pathId, -1, true);
      }
    }
    const msgs: OutMsg[] = [];
    this.emitBuckets(msgs, buckets, enc, nh, maxLen, () => -1);
    return msgs as Buffer[];
  }

  entries(): Entry[] {
    const out: Entry[] = [];
    if (!this.addPath) {
      const n = Math.min(this.out.length, this.table.store.highWater);
      for (let pfx = 0; pfx < n; pfx++)
        if (this.out[pfx] >= 0) out.push({ pfx, pathId: 0, attr: this.attrs.get(this.out[pfx]), excl: this.excl[pfx] });
    } else for (const [pfx, paths] of this.ap) for (const p of paths) out.push({ pfx, pathId: p.pathId, attr: p.set, excl: p.excl });
    return out;
  }

  /** Drops every reference (group removed). */
  release(): void {
    for (let pfx = 0; pfx < this.out.length; pfx++) {
      if (this.out[pfx] >= 0) {
        this.attrs.unref(this.attrs.get(this.out[pfx]));
        this.out[pfx] = -1;
        this.table.unrefPrefix(pfx);
      }
      if (this.pendFlag[pfx]) {
        this.pendFlag[pfx] = 0;
        this.table.unrefPrefix(pfx);
      }
    }
    this.pending = [];
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
