// Per-prefix state of the netlink FIB in typed arrays: an open-addressing hash table keyed by
// (family, address, length) holding two small integers per prefix, the desired variant and the
// installed variant (-1 = none). A million prefixes cost ~60 MB and no JavaScript objects at
// all, so the garbage collector never walks them and no Map ever rehashes a million strings
// with the event loop stopped.
import type { IpPrefix } from './addr.js';

const EMPTY = 0, USED = 1, TOMB = 2;
const W = 5; // key words: 4 address words (IPv4 uses the first) + (family << 8 | len)

export class PrefixTable {
  private cap = 0;
  private keys = new Uint32Array(0);
  private state = new Uint8Array(0);
  private busyFlag = new Uint8Array(0);
  private des = new Int32Array(0);
  private inst = new Int32Array(0);
  private used = 0;
  private tombs = 0;
  private readonly k = new Uint32Array(W);

  constructor(initial = 1024) {
    this.resize(initial);
  }

  get size(): number { return this.used; }
  /** Number of slots (slot numbers are below it). */
  get capacity(): number { return this.cap; }
  /** Bumped whenever slots move (growth); a slot remembered with the same epoch is still valid. */
  epoch = 0;

  private keyOf(p: IpPrefix): Uint32Array {
    const k = this.k;
    if (p.v4 !== undefined) {
      k[0] = p.v4; k[1] = 0; k[2] = 0; k[3] = 0; k[4] = (4 << 8) | p.len;
      return k;
    }
    const a = p.addr;
    k[0] = a.readUInt32BE(0);
    if (a.length === 16) { k[1] = a.readUInt32BE(4); k[2] = a.readUInt32BE(8); k[3] = a.readUInt32BE(12); } else { k[1] = 0; k[2] = 0; k[3] = 0; }
    k[4] = (p.family << 8) | p.len;
    return k;
  }

  private hash(k: Uint32Array): number {
    let h = 0x9e3779b9;
    for (let i = 0; i < W; i++) { h = Math.imul(h ^ k[i], 0x85ebca6b); h ^= h >>> 13; }
    return (h >>> 0) & (this.cap - 1);
  }

  private probe(k: Uint32Array, forInsert: boolean): number {
    let i = this.hash(k);
    let firstTomb = -1;
    for (;;) {
      const s = this.state[i];
      if (s === EMPTY) return forInsert ? (firstTomb >= 0 ? firstTomb : i) : -1;
      if (s === TOMB) { if (firstTomb < 0) firstTomb = i; } else {
        const o = i * W;
        if (this.keys[o] === k[0] && this.keys[o + 4] === k[4] && this.keys[o + 1] === k[1] && this.keys[o + 2] === k[2] && this.keys[o + 3] === k[3]) return i;
      }
      i = (i + 1) & (this.cap - 1);
    }
  }

  find(p: IpPrefix): number {
    return this.probe(this.keyOf(p), false);
  }

  /** The slot of p, created empty (desired = installed = -1) if absent. Slots move on growth:
   * never keep one across an await. */
  insert(p: IpPrefix): number {
    const k = this.keyOf(p);
    let i = this.probe(k, false);
    if (i >= 0) return i;
    if ((this.used + this.tombs + 1) * 2 > this.cap) this.resize(this.used * 4 > this.cap ? this.cap * 2 : this.cap);
    i = this.probe(k, true);
    if (this.state[i] === TOMB) this.tombs--;
    this.state[i] = USED;
    const o = i * W; // word by word: TypedArray.set() is a runtime call per prefix
    this.keys[o] = k[0]; this.keys[o + 1] = k[1]; this.keys[o + 2] = k[2]; this.keys[o + 3] = k[3]; this.keys[o + 4] = k[4];
    this.des[i] = -1;
    this.inst[i] = -1;
    this.busyFlag[i] = 0;
    this.used++;
    return i;
  }

  desired(i: number): number { return this.des[i]; }
  installed(i: number): number { return this.inst[i]; }
  busy(i: number): boolean { return this.busyFlag[i] === 1; }
  setDesired(i: number, v: number): void { this.des[i] = v; this.gc(i); }
  setInstalled(i: number, v: number): void { this.inst[i] = v; this.gc(i); }
  setBusy(i: number, b: boolean): void { this.busyFlag[i] = b ? 1 : 0; this.gc(i); }

  /** A slot with nothing desired, nothing installed and nothing in flight is removed. */
  private gc(i: number): void {
    if (this.des[i] < 0 && this.inst[i] < 0 && this.busyFlag[i] === 0 && this.state[i] === USED) {
      this.state[i] = TOMB;
      this.used--;
      this.tombs++;
    }
  }

  /** Every used slot. Use each at once: an insert() may move slots (removals do not). */
  *slots(): Generator<number> {
    for (let i = 0; i < this.cap; i++) if (this.state[i] === USED) yield i;
  }

  prefixAt(i: number): IpPrefix {
    const o = i * W;
    const family = (this.keys[o + 4] >>> 8) as 4 | 6;
    const addr = Buffer.allocUnsafe(family === 4 ? 4 : 16);
    for (let w = 0; w < addr.length / 4; w++) addr.writeUInt32BE(this.keys[o + w], w * 4);
    return { family, addr, len: this.keys[o + 4] & 0xff };
  }

  /** Forget every installed variant (before rebuilding them from a kernel dump). */
  clearInstalled(): void {
    for (let i = 0; i < this.cap; i++) if (this.state[i] === USED) this.setInstalled(i, -1);
  }

  private resize(cap: number): void {
    this.epoch++;
    const old = { cap: this.cap, keys: this.keys, state: this.state, busy: this.busyFlag, des: this.des, inst: this.inst };
    this.cap = cap;
    this.keys = new Uint32Array(cap * W);
    this.state = new Uint8Array(cap);
    this.busyFlag = new Uint8Array(cap);
    this.des = new Int32Array(cap);
    this.inst = new Int32Array(cap);
    this.used = 0;
    this.tombs = 0;
    // Growth rehashes every prefix with the event loop stopped (512k of them when a table load
    // passes half a million), so this loop avoids calls: no TypedArray.set, no probe() per entry.
    const k = new Uint32Array(W); // not this.k: insert() still holds its key there
    const keys = this.keys, state = this.state, mask = cap - 1;
    for (let i = 0; i < old.cap; i++) {
      if (old.state[i] !== USED) continue;
      const oo = i * W;
      k[0] = old.keys[oo]; k[1] = old.keys[oo + 1]; k[2] = old.keys[oo + 2]; k[3] = old.keys[oo + 3]; k[4] = old.keys[oo + 4];
      let j = this.hash(k);
      while (state[j] !== EMPTY) j = (j + 1) & mask; // a fresh table: no tombs, no duplicates
      state[j] = USED;
      const o = j * W;
      keys[o] = k[0]; keys[o + 1] = k[1]; keys[o + 2] = k[2]; keys[o + 3] = k[3]; keys[o + 4] = k[4];
      this.des[j] = old.des[i];
      this.inst[j] = old.inst[i];
      this.busyFlag[j] = old.busy[i];
      this.used++;
    }
  }
}
