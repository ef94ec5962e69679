// ChangeBatch: FIB change records packed into typed arrays, for the road from the RIB to the
// kernel (fib/feed.ts queues one, NetlinkFib.apply() reads it in place).
//
// Why (issue 18, `ingest --fib kernel` at 1M routes): the RIB decides a table load in a few
// seconds, the kernel takes several more to install it, so most of the million changes wait in
// the feed's queue. As FibChange objects with their prefix strings they were ~80 MB of live
// objects (a heap snapshot near the peak: 750k records and 715k prefix strings), and V8 sized
// the heap after that live set plus the garbage of the load: 676-718 MB peak RSS. Here a change
// is six 32-bit words: the prefix in the FIB prefix table's key layout (prefix-table.ts) and
// the index of its shape among the batch's few distinct (kind, next hops, metric) shapes. Pages
// of words are recycled between batches, so a load allocates few new ArrayBuffers.
import { formatIpv4Number, formatIp, parseCidr } from '../bgp/codec/address.js';
import { type IpPrefix, prefixOfWords } from './prefix.js';
import type { FibChange, NextHop } from './change.js';

/** Words per change: 4 address words (IPv4 uses the first), (family << 8 | len), shape. */
const W = 6;
const PAGE_BITS = 13;
const PAGE = 1 << PAGE_BITS; // changes per page: 192 KiB
const PAGE_MASK = PAGE - 1;
/** Pages kept for the next batch (1.5 MB); a load's others are left to the collector. */
const POOL_MAX = 8;
const pool: Uint32Array[] = [];
const WITHDRAW = 0xffffffff; // shape word of a withdrawal

/** A shape interned by identity of its next-hop array: runs of changes share one array. */
interface ShapeHit {
  nexthops: NextHop[];
  kind: string;
  metric: number | undefined;
  id: number;
}

export class ChangeBatch {
  private readonly pages: Uint32Array[] = [];
  private n = 0;
  private withdrawals = 0;
  /** The distinct (kind, next hops, metric) of the batch's non-withdrawals; `prefix` is ''. */
  readonly shapes: FibChange[] = [];
  private readonly bySig = new Map<string, number>();
  private last?: ShapeHit;
  /** Prefix text of changes whose prefix does not parse (family word 0), by index. */
  private bad?: Map<number, string>;

  /** A batch of `changes`, in order. */
  static of(changes: readonly FibChange[]): ChangeBatch {
    const b = new ChangeBatch();
    for (const c of changes) b.add(c);
    return b;
  }

  get length(): number {
    return this.n;
  }
  /** Whether any change is a withdrawal (unicast without next hops). */
  get hasWithdrawals(): boolean {
    return this.withdrawals > 0;
  }

  /** Append one change (the record itself is not kept: treat its next hops as immutable). */
  add(c: FibChange): void {
    const i = this.n;
    const pg = i >>> PAGE_BITS;
    if (pg === this.pages.length) this.pages.push(pool.pop() ?? new Uint32Array(PAGE * W));
    const w = this.pages[pg];
    const o = (i & PAGE_MASK) * W;
    const p = parseCidr(c.prefix, 'ignore');
    if ('fault' in p) {
      w[o + 4] = 0;
      (this.bad ??= new Map()).set(i, c.prefix);
    } else if (p.family === 4) {
      w[o] = p.v4;
      w[o + 1] = 0;
      w[o + 2] = 0;
      w[o + 3] = 0;
      w[o + 4] = (4 << 8) | p.len;
    } else {
      const a = p.addr;
      w[o] = a.readUInt32BE(0);
      w[o + 1] = a.readUInt32BE(4);
      w[o + 2] = a.readUInt32BE(8);
      w[o + 3] = a.readUInt32BE(12);
      w[o + 4] = (6 << 8) | p.len;
    }
    const withdraw = c.kind !== 'blackhole' && c.nexthops.length === 0;
    if (withdraw) this.withdrawals++;
    w[o + 5] = withdraw ? WITHDRAW : this.shapeId(c);
    this.n++;
  }

  /** Copy change i of `from` (a filtered batch keeps the original's shapes by value). */
  addFrom(from: ChangeBatch, i: number): void {
    if (!from.valid(i)) {
      this.add({ ...from.shapeRecord(i), prefix: from.prefixText(i) });
      return;
    }
    const j = this.n;
    const pg = j >>> PAGE_BITS;
    if (pg === this.pages.length) this.pages.push(pool.pop() ?? new Uint32Array(PAGE * W));
    const w = this.pages[pg];
    const o = (j & PAGE_MASK) * W;
    const src = from.pages[i >>> PAGE_BITS];
    const so = (i & PAGE_MASK) * W;
    for (let k = 0; k < 5; k++) w[o + k] = src[so + k];
    const s = src[so + 5];
    if (s === WITHDRAW) this.withdrawals++;
    w[o + 5] = s === WITHDRAW ? WITHDRAW : this.shapeId(from.shapes[s]);
    this.n++;
  }

  /** Whether change i's prefix parsed (else it fails with EINVAL). */
  valid(i: number): boolean {
    return this.word(i, 4) !== 0;
  }
  isWithdraw(i: number): boolean {
    return this.word(i, 5) === WITHDRAW;
  }
  /** Index into `shapes`, or -1 for a withdrawal. */
  shapeOf(i: number): number {
    const s = this.word(i, 5);
    return s === WITHDRAW ? -1 : s;
  }

  /** The prefix table's five key words of change i (prefix-table.ts), written into k. */
  keyInto(i: number, k: Uint32Array): Uint32Array {
    const w = this.pages[i >>> PAGE_BITS];
    const o = (i & PAGE_MASK) * W;
    k[0] = w[o];
    k[1] = w[o + 1];
    k[2] = w[o + 2];
    k[3] = w[o + 3];
    k[4] = w[o + 4];
    return k;
  }

  /** Change i's prefix (undefined when it did not parse). */
  prefixAt(i: number): IpPrefix | undefined {
    if (!this.valid(i)) return undefined;
    const w = this.pages[i >>> PAGE_BITS];
    const o = (i & PAGE_MASK) * W;
    return prefixOfWords(w, o);
  }

  /** Change i's prefix as text (canonical; as given when it did not parse). */
  prefixText(i: number): string {
    const w = this.pages[i >>> PAGE_BITS];
    const o = (i & PAGE_MASK) * W;
    const fl = w[o + 4];
    if (fl === 0) return this.bad?.get(i) ?? '';
    if (fl >>> 8 === 4) return `${formatIpv4Number(w[o])}/${fl & 0xff}`;
    const a = Buffer.allocUnsafe(16);
    for (let k = 0; k < 4; k++) a.writeUInt32BE(w[o + k], k * 4);
    return `${formatIp(a)}/${fl & 0xff}`;
  }

  /** Change i as a record (for MemoryFib, logs and tests; NetlinkFib reads the words). */
  change(i: number): FibChange {
    return { ...this.shapeRecord(i), prefix: this.prefixText(i) };
  }

  toArray(): FibChange[] {
    const out: FibChange[] = new Array(this.n);
    for (let i = 0; i < this.n; i++) out[i] = this.change(i);
    return out;
  }

  /** The batch without the changes `keep` refuses, in order (indexes are the new batch's). */
  filter(keep: (i: number) => boolean): ChangeBatch {
    const b = new ChangeBatch();
    for (let i = 0; i < this.n; i++) if (keep(i)) b.addFrom(this, i);
    return b;
  }

  /**
   * For each change, the index of the closest earlier change of the same prefix (-1: none).
   * One pass with an open-addressing index over the batch's own words (no string per prefix).
   */
  previousSame(): Int32Array {
    const prev = new Int32Array(this.n).fill(-1);
    let size = 16;
    while (size < this.n * 2) size *= 2;
    const idx = new Int32Array(size).fill(-1);
    const mask = size - 1;
    const k = new Uint32Array(5);
    const other = new Uint32Array(5);
    for (let i = 0; i < this.n; i++) {
      if (!this.valid(i)) continue;
      this.keyInto(i, k);
      let h = 0x9e3779b9;
      for (let x = 0; x < 5; x++) {
        h = Math.imul(h ^ k[x], 0x85ebca6b);
        h ^= h >>> 13;
      }
      for (let s = h & mask; ; s = (s + 1) & mask) {
        const j = idx[s];
        if (j < 0) {
          idx[s] = i;
          break;
        }
        this.keyInto(j, other);
        if (other[0] === k[0] && other[1] === k[1] && other[2] === k[2] && other[3] === k[3] && other[4] === k[4]) {
          prev[i] = j;
          idx[s] = i; // the latest of this prefix
          break;
        }
      }
    }
    return prev;
  }

  /** Hand the pages back for the next batch; the batch is empty afterwards. */
  release(): void {
    for (const p of this.pages) if (pool.length < POOL_MAX) pool.push(p);
    this.pages.length = 0;
    this.n = 0;
    this.withdrawals = 0;
    this.shapes.length = 0;
    this.bySig.clear();
    this.last = undefined;
    this.bad = undefined;
  }

  private word(i: number, k: number): number {
    return this.pages[i >>> PAGE_BITS][(i & PAGE_MASK) * W + k];
  }

  private shapeRecord(i: number): FibChange {
    const s = this.shapeOf(i);
    return s < 0 ? { prefix: '', kind: 'unicast', nexthops: [] } : this.shapes[s];
  }

  /** The shape of a non-withdrawal: by the identity of its next-hop array, else by value. */
  private shapeId(c: FibChange): number {
    const l = this.last;
    if (l && l.nexthops === c.nexthops && l.kind === c.kind && l.metric === c.metric) return l.id;
    const sig =
      (c.kind === 'blackhole' ? 'blackhole' : c.nexthops.map((h) => `${h.gateway ?? ''},${h.dev ?? ''},${h.onlink ? 1 : 0},${h.weight ?? 1}`).join(';')) +
      (c.metric !== undefined ? `|metric ${c.metric}` : '');
    let id = this.bySig.get(sig);
    if (id === undefined) {
      id = this.shapes.length;
      this.shapes.push(
        c.metric !== undefined ? { prefix: '', kind: c.kind, nexthops: c.nexthops, metric: c.metric } : { prefix: '', kind: c.kind, nexthops: c.nexthops },
      );
      this.bySig.set(sig, id);
    }
    this.last = { nexthops: c.nexthops, kind: c.kind, metric: c.metric, id };
    return id;
  }
}
