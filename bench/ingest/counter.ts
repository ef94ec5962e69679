// The monitor's prefix counter: walks UPDATE framing (RFC 4271 §4.3, RFC 4760 §3-4) just far
// enough to find announced and withdrawn prefixes, and keeps a bitmap of which of the N
// workload prefixes the monitor currently holds. Anything that is not a workload prefix is
// counted as `foreign`, so a harness that counts wrong shows it instead of hiding it.

import { type BenchFamily, IPV4_BASE24, IPV4_LEN, IPV6_HIGH, IPV6_LEN } from './workload.js';

export class PrefixCounter {
  /** Workload prefixes currently announced (each counted once, withdrawals subtract). */
  count = 0;
  /** NLRI seen that are not workload prefixes (or the other family). */
  foreign = 0;
  /** Announcements of a prefix already held (implicit withdraw / re-announce). */
  duplicates = 0;
  withdrawals = 0;
  updates = 0;
  private readonly held: Uint8Array;

  constructor(
    readonly family: BenchFamily,
    readonly n: number,
  ) {
    this.held = new Uint8Array(n);
  }

  /** Index of the prefix at buf[off] (length octet first), or -1 if not a workload prefix. */
  private index(buf: Buffer, off: number, len: number): number {
    if (this.family === 'ipv4') {
      if (len !== IPV4_LEN) return -1;
      const i = ((buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) - IPV4_BASE24;
      return i >= 0 && i < this.n ? i : -1;
    }
    if (len !== IPV6_LEN) return -1;
    for (let j = 0; j < 4; j++) if (buf[off + 1 + j] !== IPV6_HIGH[j]) return -1;
    const i = buf.readUInt32BE(off + 5);
    return i < this.n ? i : -1;
  }

  /** Walks NLRI in buf[off, end): announce (true) or withdraw (false). */
  private walk(buf: Buffer, off: number, end: number, family: BenchFamily, announce: boolean): void {
    while (off < end) {
      const len = buf[off];
      const next = off + 1 + ((len + 7) >> 3);
      if (next > end) throw new Error('NLRI overruns its field');
      const i = family === this.family ? this.index(buf, off, len) : -1;
      if (i < 0) this.foreign++;
      else if (announce) {
        if (this.held[i]) this.duplicates++;
        else {
          this.held[i] = 1;
          this.count++;
        }
      } else {
        this.withdrawals++;
        if (this.held[i]) {
          this.held[i] = 0;
          this.count--;
        }
      }
      off = next;
    }
  }

  /** Feeds one whole UPDATE message (header included, body from offset 19 to `msgLen`). */
  update(buf: Buffer, start: number, msgLen: number): void {
    this.updates++;
    const end = start + msgLen;
    let off = start + 19;
    const wlen = buf.readUInt16BE(off);
    off += 2;
    this.walk(buf, off, off + wlen, 'ipv4', false);
    off += wlen;
    const alen = buf.readUInt16BE(off);
    off += 2;
    const aend = off + alen;
    if (aend > end) throw new Error('path attributes overrun the UPDATE');
    while (off < aend) {
      const flags = buf[off];
      const type = buf[off + 1];
      let vlen: number;
      let voff: number;
      if (flags & 0x10) {
        vlen = buf.readUInt16BE(off + 2);
        voff = off + 4;
      } else {
        vlen = buf[off + 2];
        voff = off + 3;
      }
      if (voff + vlen > aend) throw new Error('attribute overruns the attribute field');
      if (type === 14 || type === 15) this.mp(buf, voff, voff + vlen, type === 14);
      off = voff + vlen;
    }
    this.walk(buf, aend, end, 'ipv4', true);
  }

  /** MP_REACH_NLRI (14) / MP_UNREACH_NLRI (15), RFC 4760 §3 and §4. */
  private mp(buf: Buffer, off: number, end: number, reach: boolean): void {
    const afi = buf.readUInt16BE(off);
    const safi = buf[off + 2];
    off += 3;
    if (reach) off += 1 + buf[off] + 1; // next hop length, next hop, reserved
    const family: BenchFamily | null = safi !== 1 ? null : afi === 1 ? 'ipv4' : afi === 2 ? 'ipv6' : null;
    if (family === null) {
      this.foreign++;
      return;
    }
    this.walk(buf, off, end, family, reach);
  }
}
