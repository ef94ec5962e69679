// Prefix interning for one address family: every distinct prefix gets a small dense integer
// (its "prefix index", pfx) so that the rest of the RIB keeps per-prefix state in typed arrays
// indexed by pfx instead of one JS object per prefix per view.
//
// Storage: the address as 1 (IPv4) or 2 (IPv6: the first 64 bits) 32-bit words in a
// Uint32Array, an IPv6 address's last 64 bits in a second array made only once a prefix has
// one of those bits set, the length in a Uint8Array, and an open-addressing hash table (linear
// probing, backward-shift deletion) mapping (address, length) to pfx. About 5 bytes per IPv4
// prefix and 9 per IPv6 prefix (17 once the low array exists), plus the table: one 32-bit word
// per slot at load factor <= 0.5 (8 MB at 1M prefixes). Prefixes are read straight from the UPDATE buffer
// (PrefixList.offset/len) so decoding a packed UPDATE allocates nothing per prefix.

import { AFI_IPV4, AFI_IPV6, type Afi, type Family, type Prefix } from '../codec/types.js';

const FREE_LEN = 255;
/** pfx + 1 must fit the 24 bits of a table slot. */
const MAX_PREFIXES = 0xfffffe;

export class PrefixStore {
  readonly words: 1 | 4;
  readonly afi: Afi;
  /**
   * Address words of each pfx, network byte order packed big-endian: the whole IPv4 address,
   * or an IPv6 address's first two words (read all of them through loadPfx/wordsOf).
   */
  private keys: Uint32Array;
  /**
   * An IPv6 address's last two words; empty while every prefix has them zero (all of a table of
   * /64s or shorter): 8 bytes per prefix, 8 MB at 1M (issue 18).
   */
  private low: Uint32Array = new Uint32Array(0);
  /** Words per entry of `keys`: 1 (IPv4) or 2 (IPv6). */
  private readonly stride: 1 | 2;
  /** Prefix length of each pfx; 255 marks a free index. */
  lens: Uint8Array;
  /**
   * One word per slot: an 8-bit fingerprint of the prefix's hash (bits the slot number does not
   * use) and pfx + 1 (24 bits); 0 = empty. The fingerprint turns away almost every other prefix
   * met on a probe without reading its key. Two words per slot (the address as tag) were 16 MB
   * at 1M prefixes, a notable part of ternd's peak RSS in the ingest bench (issue 18).
   */
  private table: Uint32Array;
  private mask: number;
  private shift: number;
  private used = 0; // live prefixes
  /** One past the highest pfx ever handed out: size of per-prefix arrays elsewhere. */
  highWater = 0;
  private freeList: number[] = [];
  /** Scratch words for the prefix being looked up. */
  readonly scratch = new Uint32Array(4);
  /** Scratch words for a prefix being written out (writeNlri, format). */
  private readonly out = new Uint32Array(4);

  constructor(
    readonly family: Family,
    initial = 1024,
  ) {
    this.words = family === 'ipv4' ? 1 : 4;
    this.stride = family === 'ipv4' ? 1 : 2;
    this.afi = family === 'ipv4' ? AFI_IPV4 : AFI_IPV6;
    this.keys = new Uint32Array(initial * this.stride);
    this.lens = new Uint8Array(initial).fill(FREE_LEN);
    let slots = 16;
    while (slots < initial * 2) slots <<= 1;
    this.table = new Uint32Array(slots);
    this.mask = slots - 1;
    this.shift = 32 - Math.log2(slots);
  }

  get size(): number {
    return this.used;
  }

  get capacity(): number {
    return this.lens.length;
  }

  /** Loads a wire-format prefix (len bits at buf[off..]) into `scratch`, host bits cleared. */
  load(buf: Buffer, off: number, len: number): void {
    const s = this.scratch;
    const nbytes = (len + 7) >> 3;
    s[0] = s[1] = s[2] = s[3] = 0;
    for (let i = 0; i < nbytes; i++) {
      const w = i >> 2;
      s[w] = (s[w] | (buf[off + i] << (24 - ((i & 3) << 3)))) >>> 0;
    }
    // RFC 4271 §4.3: trailing bits after the prefix are irrelevant; clear them so that
    // 10.0.0.1/24 and 10.0.0.0/24 are one prefix.
    if (len & 7 || nbytes === 0) {
      const w = len >> 5;
      if (w < this.words) {
        const bits = len & 31;
        s[w] = bits === 0 ? 0 : (s[w] & (0xffffffff << (32 - bits))) >>> 0;
      }
    }
  }

  /** 32-bit hash of the prefix in `scratch`; the slot is its top bits (Fibonacci hashing). */
  private hash32(len: number): number {
    const s = this.scratch;
    let h = Math.imul(s[0] ^ len, 0x9e3779b1);
    if (this.words === 4) {
      h = Math.imul(h ^ (h >>> 16) ^ s[1], 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13) ^ s[2], 0xc2b2ae35);
      h = Math.imul(h ^ (h >>> 16) ^ s[3], 0x9e3779b1);
    }
    return h >>> 0;
  }

  /** The slot word's fingerprint: 8 bits of the hash mixed apart from the slot's (top) bits. */
  private static fingerprint(h: number): number {
    return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 24;
  }

  /** Whether pfx holds the prefix in `scratch` with this length. */
  private keysEqual(pfx: number, len: number): boolean {
    if (this.lens[pfx] !== len) return false;
    const s = this.scratch;
    const k = this.keys;
    if (this.words === 1) return k[pfx] === s[0];
    const b = pfx * 2;
    if (k[b] !== s[0] || k[b + 1] !== s[1]) return false;
    const l = this.low;
    return l.length === 0 ? s[2] === 0 && s[3] === 0 : l[b] === s[2] && l[b + 1] === s[3];
  }

  /** pfx of the prefix in `scratch` with this length, or -1. */
  findScratch(len: number): number {
    const t = this.table;
    const h = this.hash32(len);
    const fp = PrefixStore.fingerprint(h);
    let slot = h >>> this.shift;
    for (;;) {
      const v = t[slot];
      if (v === 0) return -1;
      if (v >>> 24 === fp && this.keysEqual((v & 0xffffff) - 1, len)) return (v & 0xffffff) - 1;
      slot = (slot + 1) & this.mask;
    }
  }

  /** pfx of the prefix in `scratch`, adding it when absent. */
  internScratch(len: number): number {
    const t = this.table;
    const h = this.hash32(len);
    const fp = PrefixStore.fingerprint(h);
    let slot = h >>> this.shift;
    for (;;) {
      const v = t[slot];
      if (v === 0) break;
      if (v >>> 24 === fp && this.keysEqual((v & 0xffffff) - 1, len)) return (v & 0xffffff) - 1;
      slot = (slot + 1) & this.mask;
    }
    const pfx = this.freeList.length > 0 ? (this.freeList.pop() as number) : this.highWater++;
    if (pfx >= MAX_PREFIXES) throw new RangeError(`more than ${MAX_PREFIXES} ${this.family} prefixes`);
    if (pfx >= this.lens.length) this.growEntries();
    const s = this.scratch;
    if (this.words === 1) this.keys[pfx] = s[0];
    else {
      this.keys[pfx * 2] = s[0];
      this.keys[pfx * 2 + 1] = s[1];
      if ((s[2] | s[3]) !== 0 && this.low.length === 0) this.low = new Uint32Array(this.lens.length * 2);
      if (this.low.length !== 0) {
        this.low[pfx * 2] = s[2];
        this.low[pfx * 2 + 1] = s[3];
      }
    }
    this.lens[pfx] = len;
    t[slot] = ((fp << 24) | (pfx + 1)) >>> 0;
    this.used++;
    if (this.used * 2 > this.table.length) this.rehash(this.table.length * (this.used < 1 << 19 ? 4 : 2));
    return pfx;
  }

  find(buf: Buffer, off: number, len: number): number {
    this.load(buf, off, len);
    return this.findScratch(len);
  }

  intern(buf: Buffer, off: number, len: number): number {
    this.load(buf, off, len);
    return this.internScratch(len);
  }

  /** Removes pfx; its index may be handed out again. */
  remove(pfx: number): void {
    const len = this.lens[pfx];
    if (len === FREE_LEN) return;
    this.loadPfx(pfx);
    const t = this.table;
    const mask = this.mask;
    let slot = this.hash32(len) >>> this.shift;
    while ((t[slot] & 0xffffff) !== pfx + 1) {
      if (t[slot] === 0) return;
      slot = (slot + 1) & mask;
    }
    // Backward-shift deletion keeps probe chains intact without tombstones.
    let hole = slot;
    let j = slot;
    for (;;) {
      j = (j + 1) & mask;
      const v = t[j];
      if (v === 0) break;
      const q = (v & 0xffffff) - 1;
      this.loadPfx(q);
      const home = this.hash32(this.lens[q]) >>> this.shift;
      const movable = hole <= j ? home <= hole || home > j : home <= hole && home > j;
      if (movable) {
        t[hole] = v;
        hole = j;
      }
    }
    t[hole] = 0;
    this.lens[pfx] = FREE_LEN;
    this.used--;
    this.freeList.push(pfx);
  }

  isLive(pfx: number): boolean {
    return pfx < this.highWater && this.lens[pfx] !== FREE_LEN;
  }

  private loadPfx(pfx: number): void {
    this.wordsOf(pfx, this.scratch);
  }

  /** The address words of pfx into w (1 for IPv4, 4 for IPv6). */
  private wordsOf(pfx: number, w: Uint32Array): void {
    if (this.words === 1) {
      w[0] = this.keys[pfx];
      return;
    }
    w[0] = this.keys[pfx * 2];
    w[1] = this.keys[pfx * 2 + 1];
    const l = this.low;
    w[2] = l.length === 0 ? 0 : l[pfx * 2];
    w[3] = l.length === 0 ? 0 : l[pfx * 2 + 1];
  }

  private growEntries(): void {
    // x4 while small: fewer copies on the way to a full table.
    const n = this.lens.length * (this.lens.length < 1 << 20 ? 4 : 2);
    const keys = new Uint32Array(n * this.stride);
    keys.set(this.keys);
    if (this.low.length !== 0) {
      const low = new Uint32Array(n * 2);
      low.set(this.low);
      this.low = low;
    }
    const lens = new Uint8Array(n).fill(FREE_LEN);
    lens.set(this.lens);
    this.keys = keys;
    this.lens = lens;
  }

  private rehash(slots: number): void {
    const t = new Uint32Array(slots);
    this.table = t;
    this.mask = slots - 1;
    this.shift = 32 - Math.log2(slots);
    for (let pfx = 0; pfx < this.highWater; pfx++) {
      const len = this.lens[pfx];
      if (len === FREE_LEN) continue;
      this.loadPfx(pfx);
      const h = this.hash32(len);
      let slot = h >>> this.shift;
      while (t[slot] !== 0) slot = (slot + 1) & this.mask;
      t[slot] = ((PrefixStore.fingerprint(h) << 24) | (pfx + 1)) >>> 0;
    }
  }

  /** Number of address bytes on the wire for pfx (RFC 4271 §4.3 NLRI encoding). */
  wireBytes(pfx: number): number {
    return (this.lens[pfx] + 7) >> 3;
  }

  /** Writes <len, prefix bytes> of pfx at buf[pos]; returns the new position. */
  writeNlri(pfx: number, buf: Buffer, pos: number): number {
    const len = this.lens[pfx];
    buf[pos++] = len;
    const n = (len + 7) >> 3;
    if (this.words === 1) {
      const a = this.keys[pfx];
      for (let i = 0; i < n; i++) buf[pos++] = a >>> (24 - (i << 3));
      return pos;
    }
    const w = this.out;
    this.wordsOf(pfx, w);
    for (let i = 0; i < n; i++) buf[pos++] = w[i >> 2] >>> (24 - ((i & 3) << 3));
    return pos;
  }

  /** The prefix as text, "10.0.0.0/24" or "2001:db8::/32". */
  format(pfx: number): string {
    const len = this.lens[pfx];
    if (this.words === 1) {
      const a = this.keys[pfx];
      return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${len}`;
    }
    const groups: string[] = [];
    this.wordsOf(pfx, this.out);
    for (let i = 0; i < 4; i++) {
      const w = this.out[i];
      groups.push((w >>> 16).toString(16), (w & 0xffff).toString(16));
    }
    return `${compressV6(groups)}/${len}`;
  }

  /** A Prefix object (for policy functions and display). */
  toPrefix(pfx: number): Prefix {
    const addr = Buffer.alloc(this.words * 4);
    this.wordsOf(pfx, this.out);
    for (let i = 0; i < this.words; i++) addr.writeUInt32BE(this.out[i], i * 4);
    return { afi: this.afi, len: this.lens[pfx], addr };
  }

  /** pfx of a Prefix object, optionally adding it. */
  fromPrefix(p: Prefix, add: boolean): number {
    return add ? this.intern(p.addr, 0, p.len) : this.find(p.addr, 0, p.len);
  }
}

/** RFC 5952 §4.2.3: compress the longest run (>= 2) of zero groups. */
function compressV6(groups: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
