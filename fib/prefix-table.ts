// Per-prefix state of the netlink FIB in typed arrays, no JavaScript object per prefix: a
// million prefixes cost ~70 MB that the garbage collector never walks.
//
// Each prefix is an ENTRY: a number (its "slot") indexing arrays of key words, desired variant,
// installed variant (-1 = none) and an in-flight flag. An entry's number never changes while the
// entry lives, so a write in flight can hold it across awaits. The arrays come in pages of 64k
// entries, added as the table fills: no copy of the old arrays, and no burst of tens of MB of
// new ArrayBuffers (V8 counts those as external memory, and a burst made it finish an
// old-generation marking in one long pause).
//
// Lookup goes through an open-addressing index split into 256 shards by the top bits of the
// hash. A shard that fills up is rebuilt on its own, so growth never rehashes more than one
// 256th of the table with the event loop stopped. (One flat index rebuilt 1M prefixes in one go
// at the 1M mark: 66-84 ms measured, over the 50 ms budget of issue 5.)
import type { IpPrefix } from './prefix.js';

const W = 5; // key words: 4 address words (IPv4 uses the first) + (family << 8 | len)
const SHARD_BITS = 8;
const SHARDS = 1 << SHARD_BITS;
const EMPTY = -1,
  TOMB = -2; // index buckets; >= 0 is an entry number
const PAGE_BITS = 16;
const PAGE = 1 << PAGE_BITS; // entries per page: 2.2 MB of arrays
const PAGE_MASK = PAGE - 1;

export class PrefixTable {
  // ---- entries, by slot, in pages of PAGE entries ----
  private top = 0; // slots below this have been handed out at least once
  private readonly keys: Uint32Array[] = [];
  private readonly hashes: Uint32Array[] = [];
  private readonly des: Int32Array[] = [];
  private readonly inst: Int32Array[] = [];
  private readonly busyFlag: Uint8Array[] = [];
  private readonly live: Uint8Array[] = [];
  private readonly free: number[] = [];
  private used = 0;
  /** Entries with a desired variant (kept by setDesired: counting would walk every page). */
  desiredCount = 0;
  // ---- index, by shard ----
  private readonly index: Int32Array[] = [];
  private readonly shardUsed = new Int32Array(SHARDS);
  private readonly shardTombs = new Int32Array(SHARDS);
  private readonly k = new Uint32Array(W);

  constructor() {
    for (let s = 0; s < SHARDS; s++) this.index.push(new Int32Array(8).fill(EMPTY));
  }

  get size(): number {
    return this.used;
  }
  /** Slot numbers are below this. */
  get capacity(): number {
    return this.keys.length * PAGE;
  }

  private keyOf(p: IpPrefix): Uint32Array {
    const k = this.k;
    if (p.v4 !== undefined) {
      k[0] = p.v4;
      k[1] = 0;
      k[2] = 0;
      k[3] = 0;
      k[4] = (4 << 8) | p.len;
      return k;
    }
    const a = p.addr;
    k[0] = a.readUInt32BE(0);
    if (a.length === 16) {
      k[1] = a.readUInt32BE(4);
      k[2] = a.readUInt32BE(8);
      k[3] = a.readUInt32BE(12);
    } else {
      k[1] = 0;
      k[2] = 0;
      k[3] = 0;
    }
    k[4] = (p.family << 8) | p.len;
    return k;
  }

  private static hash(k: Uint32Array): number {
    let h = 0x9e3779b9;
    for (let i = 0; i < W; i++) {
      h = Math.imul(h ^ k[i], 0x85ebca6b);
      h ^= h >>> 13;
    }
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d); // final mix: the shard comes from the top bits
    return (h ^ (h >>> 15)) >>> 0;
  }

  /** The entry holding key k (hash h), or -1. */
  private lookup(k: Uint32Array, h: number): number {
    const idx = this.index[h >>> (32 - SHARD_BITS)];
    const mask = idx.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = idx[i];
      if (e === EMPTY) return -1;
      if (e < 0) continue;
      const pg = e >>> PAGE_BITS,
        at = e & PAGE_MASK;
      if (this.hashes[pg][at] !== h) continue;
      const keys = this.keys[pg],
        o = at * W;
      if (keys[o] === k[0] && keys[o + 4] === k[4] && keys[o + 1] === k[1] && keys[o + 2] === k[2] && keys[o + 3] === k[3]) return e;
    }
  }

  find(p: IpPrefix): number {
    const k = this.keyOf(p);
    return this.lookup(k, PrefixTable.hash(k));
  }

  /** find() by key words (ChangeBatch.keyInto writes them in this layout). */
  findKey(k: Uint32Array): number {
    return this.lookup(k, PrefixTable.hash(k));
  }

  /** The slot of p, created empty (desired = installed = -1) if absent. */
  insert(p: IpPrefix): number {
    return this.insertKey(this.keyOf(p));
  }

  /** insert() for an address read in place from a dump (`len` is the prefix length). */
  insertBytes(family: 4 | 6, buf: Buffer, off: number, len: number): number {
    const k = this.k;
    k[0] = buf.readUInt32BE(off);
    if (family === 6) {
      k[1] = buf.readUInt32BE(off + 4);
      k[2] = buf.readUInt32BE(off + 8);
      k[3] = buf.readUInt32BE(off + 12);
    } else {
      k[1] = 0;
      k[2] = 0;
      k[3] = 0;
    }
    k[4] = (family << 8) | len;
    return this.insertKey(k);
  }

  /** insert() by key words (ChangeBatch.keyInto); k is read, not kept. */
  insertKey(k: Uint32Array): number {
    const h = PrefixTable.hash(k);
    const found = this.lookup(k, h);
    if (found >= 0) return found;
    const s = h >>> (32 - SHARD_BITS);
    let idx = this.index[s];
    if ((this.shardUsed[s] + this.shardTombs[s] + 1) * 2 > idx.length) idx = this.rebuild(s, this.shardUsed[s] * 4 > idx.length ? idx.length * 2 : idx.length);
    const mask = idx.length - 1;
    let i = h & mask;
    while (idx[i] >= 0) i = (i + 1) & mask; // the first empty or tomb: k is not in the shard
    if (idx[i] === TOMB) this.shardTombs[s]--;
    const e = this.free.length ? this.free.pop()! : this.top++;
    const pg = e >>> PAGE_BITS,
      at = e & PAGE_MASK;
    if (pg === this.keys.length) this.addPage();
    idx[i] = e;
    this.shardUsed[s]++;
    const keys = this.keys[pg],
      o = at * W; // word by word: TypedArray.set() is a runtime call per prefix
    keys[o] = k[0];
    keys[o + 1] = k[1];
    keys[o + 2] = k[2];
    keys[o + 3] = k[3];
    keys[o + 4] = k[4];
    this.hashes[pg][at] = h;
    this.des[pg][at] = -1;
    this.inst[pg][at] = -1;
    this.busyFlag[pg][at] = 0;
    this.live[pg][at] = 1;
    this.used++;
    return e;
  }

  desired(e: number): number {
    return this.des[e >>> PAGE_BITS][e & PAGE_MASK];
  }
  installed(e: number): number {
    return this.inst[e >>> PAGE_BITS][e & PAGE_MASK];
  }
  busy(e: number): boolean {
    return this.busyFlag[e >>> PAGE_BITS][e & PAGE_MASK] === 1;
  }
  setDesired(e: number, v: number): void {
    const d = this.des[e >>> PAGE_BITS];
    const old = d[e & PAGE_MASK];
    if (old < 0 && v >= 0) this.desiredCount++;
    else if (old >= 0 && v < 0) this.desiredCount--;
    d[e & PAGE_MASK] = v;
    this.gc(e);
  }
  setInstalled(e: number, v: number): void {
    this.inst[e >>> PAGE_BITS][e & PAGE_MASK] = v;
    this.gc(e);
  }
  setBusy(e: number, b: boolean): void {
    this.busyFlag[e >>> PAGE_BITS][e & PAGE_MASK] = b ? 1 : 0;
    this.gc(e);
  }

  /** An entry with nothing desired, nothing installed and nothing in flight is removed; its
   * slot reads as desired = installed = -1 until a later insert reuses it. */
  private gc(e: number): void {
    const pg = e >>> PAGE_BITS,
      at = e & PAGE_MASK;
    if (this.des[pg][at] >= 0 || this.inst[pg][at] >= 0 || this.busyFlag[pg][at] !== 0 || this.live[pg][at] === 0) return;
    const h = this.hashes[pg][at];
    const s = h >>> (32 - SHARD_BITS);
    const idx = this.index[s];
    const mask = idx.length - 1;
    let i = h & mask;
    while (idx[i] !== e) i = (i + 1) & mask;
    idx[i] = TOMB;
    this.shardUsed[s]--;
    this.shardTombs[s]++;
    this.live[pg][at] = 0;
    this.free.push(e);
    this.used--;
  }

  /** Every live slot. Entries removed meanwhile are skipped; ones inserted meanwhile may be. */
  *slots(): Generator<number> {
    for (let e = 0; e < this.top; e++) if (this.live[e >>> PAGE_BITS][e & PAGE_MASK] === 1) yield e;
  }

  prefixAt(e: number): IpPrefix {
    const keys = this.keys[e >>> PAGE_BITS],
      o = (e & PAGE_MASK) * W;
    const family = (keys[o + 4] >>> 8) as 4 | 6;
    const addr = Buffer.allocUnsafe(family === 4 ? 4 : 16);
    for (let w = 0; w < addr.length / 4; w++) addr.writeUInt32BE(keys[o + w], w * 4);
    return { family, addr, len: keys[o + 4] & 0xff };
  }

  /** Forget every installed variant (before rebuilding them from a kernel dump). */
  clearInstalled(): void {
    for (let e = 0; e < this.top; e++) if (this.live[e >>> PAGE_BITS][e & PAGE_MASK] === 1) this.setInstalled(e, -1);
  }

  /** Shard s's index rebuilt at `size` buckets, tombs dropped: at most 1/256 of the prefixes. */
  private rebuild(s: number, size: number): Int32Array {
    const old = this.index[s];
    const idx = new Int32Array(size).fill(EMPTY);
    const mask = size - 1;
    for (let i = 0; i < old.length; i++) {
      const e = old[i];
      if (e < 0) continue;
      let j = this.hashes[e >>> PAGE_BITS][e & PAGE_MASK] & mask;
      while (idx[j] !== EMPTY) j = (j + 1) & mask;
      idx[j] = e;
    }
    this.index[s] = idx;
    this.shardTombs[s] = 0;
    return idx;
  }

  private addPage(): void {
    this.keys.push(new Uint32Array(PAGE * W));
    this.hashes.push(new Uint32Array(PAGE));
    this.des.push(new Int32Array(PAGE));
    this.inst.push(new Int32Array(PAGE));
    this.busyFlag.push(new Uint8Array(PAGE));
    this.live.push(new Uint8Array(PAGE));
  }
}
