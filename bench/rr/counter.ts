// What each bench client holds: walks an UPDATE (RFC 4271 §4.3; RFC 4760 §3-4 for IPv4 unicast
// carried in MP_REACH/MP_UNREACH) just far enough to find the NLRI, the withdrawn routes and the
// next hop, and keeps one bit per workload block per client. Written for this bench alone: it
// shares no code with the daemon's codec, so the two cannot share a bug.
// 5,000 clients receiving 19,996 blocks each is 100M deliveries: no allocation per prefix, one
// bitset per client (2.5 KB at 20,000 blocks), counts in typed arrays.

import { BLOCK_BASE, BLOCK_LEN, BLOCK_SPAN, clientAddressInt } from './layout.js';

export interface Watch {
  block: number;
  /** true: wait for the block to be announced; false: withdrawn. */
  announce: boolean;
}

export class RrCounter {
  /** Other clients' blocks each slot currently holds (each counted once; withdrawals subtract). */
  readonly held: Int32Array;
  /** NLRI that are not workload blocks. */
  foreign = 0;
  /** Announcements of a block the slot already held (implicit withdraw, RFC 4271 §3.1). */
  duplicates = 0;
  withdrawals = 0;
  /** A block announced with a NEXT_HOP other than its owner's address (RFC 4456 §10: a reflector keeps it). */
  wrongNextHop = 0;
  /** The slot's own blocks reflected back to it (counted apart, never as held). */
  own = 0;
  updates = 0;
  nlri = 0;
  watch: Watch | null = null;
  private readonly bits: Uint8Array;
  private readonly bytesPerSlot: number;
  private readonly ownerNextHop: Uint32Array;

  /**
   * @param clientOf client index of each slot (this counter's clients)
   * @param clients clients in the whole run; blocks = clients * blocksPerClient
   * @param onWatch called once per slot when the watched block reaches the watched state
   */
  constructor(
    readonly clientOf: readonly number[],
    readonly clients: number,
    readonly blocksPerClient: number,
    private readonly onWatch: (slot: number) => void = () => undefined,
  ) {
    const blocks = clients * blocksPerClient;
    if (blocks > BLOCK_SPAN) throw new Error(`${blocks} blocks do not fit 10.64.0.0/10`);
    this.bytesPerSlot = (blocks + 7) >> 3;
    this.bits = new Uint8Array(this.bytesPerSlot * clientOf.length);
    this.held = new Int32Array(clientOf.length);
    this.ownerNextHop = new Uint32Array(clients);
    for (let i = 0; i < clients; i++) this.ownerNextHop[i] = clientAddressInt(i);
  }

  /** Whether slot holds block b. */
  has(slot: number, b: number): boolean {
    return (this.bits[slot * this.bytesPerSlot + (b >> 3)] & (1 << (b & 7))) !== 0;
  }

  /** One whole UPDATE message at buf[off, off+len), header included, received by slot. */
  update(slot: number, buf: Buffer, off: number, len: number): void {
    this.updates++;
    const end = off + len;
    const wlen = buf.readUInt16BE(off + 19);
    const wEnd = off + 21 + wlen;
    this.walk(slot, buf, off + 21, wEnd, false, 0);
    const alen = buf.readUInt16BE(wEnd);
    let p = wEnd + 2;
    const aEnd = p + alen;
    if (aEnd > end) throw new Error('path attributes overrun the message');
    let nextHop = 0;
    let mpFrom = 0;
    let mpTo = 0;
    while (p < aEnd) {
      const flags = buf[p];
      const type = buf[p + 1];
      const ext = (flags & 0x10) !== 0;
      const l = ext ? buf.readUInt16BE(p + 2) : buf[p + 2];
      const v = p + (ext ? 4 : 3);
      if (v + l > aEnd) throw new Error(`attribute ${type} overruns the attributes`);
      if (type === 3 && l === 4) nextHop = buf.readUInt32BE(v);
      else if ((type === 14 || type === 15) && buf.readUInt16BE(v) === 1 && buf[v + 2] === 1) {
        if (type === 15) this.walk(slot, buf, v + 3, v + l, false, 0);
        else {
          const nhLen = buf[v + 3];
          if (nhLen >= 4) nextHop = buf.readUInt32BE(v + 4);
          mpFrom = v + 5 + nhLen;
          mpTo = v + l;
        }
      }
      p = v + l;
    }
    if (mpTo > mpFrom) this.walk(slot, buf, mpFrom, mpTo, true, nextHop);
    this.walk(slot, buf, aEnd, end, true, nextHop);
  }

  private walk(slot: number, buf: Buffer, p: number, end: number, announce: boolean, nextHop: number): void {
    const base = slot * this.bytesPerSlot;
    const self = this.clientOf[slot];
    while (p < end) {
      const plen = buf[p];
      const n = (plen + 7) >> 3;
      if (p + 1 + n > end) throw new Error('prefix overruns its field');
      this.nlri++;
      let b = -1;
      if (plen === BLOCK_LEN) {
        const a = ((buf[p + 1] << 24) | (buf[p + 2] << 16) | (buf[p + 3] << 8) | buf[p + 4]) >>> 0;
        const d = a - BLOCK_BASE;
        if (d >= 0 && (d & 63) === 0 && d / 64 < this.clients * this.blocksPerClient) b = d / 64;
      }
      p += 1 + n;
      if (b < 0) {
        this.foreign++;
        continue;
      }
      const owner = Math.floor(b / this.blocksPerClient);
      if (announce && nextHop !== this.ownerNextHop[owner]) this.wrongNextHop++;
      if (owner === self) {
        if (announce) this.own++;
        continue;
      }
      const at = base + (b >> 3);
      const bit = 1 << (b & 7);
      const had = (this.bits[at] & bit) !== 0;
      if (announce) {
        if (had) this.duplicates++;
        else {
          this.bits[at] |= bit;
          this.held[slot]++;
        }
      } else {
        this.withdrawals++;
        if (had) {
          this.bits[at] &= ~bit;
          this.held[slot]--;
        }
      }
      const w = this.watch;
      if (w !== null && w.block === b && w.announce === announce) this.onWatch(slot);
    }
  }
}

/** An UPDATE announcing blocks with ORIGIN IGP, an empty AS_PATH (iBGP, RFC 4271 §5.1.2), NEXT_HOP and LOCAL_PREF 100. */
export function announceBlocks(blocks: number[], nextHop: number): Buffer {
  const attrs = Buffer.from([0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, 0, 0, 0, 0, 0x40, 5, 4, 0, 0, 0, 100]);
  attrs.writeUInt32BE(nextHop >>> 0, 10);
  return message(Buffer.alloc(0), attrs, nlriOf(blocks));
}

/** An UPDATE withdrawing blocks (RFC 4271 §4.3 Withdrawn Routes). */
export function withdrawBlocks(blocks: number[]): Buffer {
  return message(nlriOf(blocks), Buffer.alloc(0), Buffer.alloc(0));
}

function nlriOf(blocks: number[]): Buffer {
  const out = Buffer.alloc(blocks.length * 5);
  blocks.forEach((b, i) => {
    if (b < 0 || b >= BLOCK_SPAN) throw new Error(`block ${b} outside 10.64.0.0/10`);
    out[i * 5] = BLOCK_LEN;
    out.writeUInt32BE((BLOCK_BASE + b * 64) >>> 0, i * 5 + 1);
  });
  return out;
}

function message(withdrawn: Buffer, attrs: Buffer, nlri: Buffer): Buffer {
  const len = 19 + 2 + withdrawn.length + 2 + attrs.length + nlri.length;
  const m = Buffer.alloc(len, 0xff);
  m.writeUInt16BE(len, 16);
  m[18] = 2;
  m.writeUInt16BE(withdrawn.length, 19);
  withdrawn.copy(m, 21);
  m.writeUInt16BE(attrs.length, 21 + withdrawn.length);
  attrs.copy(m, 23 + withdrawn.length);
  nlri.copy(m, 23 + withdrawn.length + attrs.length);
  return m;
}
