// NLRI encoding (RFC 4271 §4.3 prefixes, RFC 4760 §5 in MP attributes, RFC 7911 §3 path ids)
// and PrefixListImpl, the compact PrefixList of bgp/types.ts.
// Decoding validates the syntax and records only offsets: one Uint32Array per list, no object
// per prefix. The prefix bytes stay in the message buffer.

import { AFI_IPV4, type Afi, type Prefix, type PrefixList } from './types.js';
import { parsePrefix, prefixBytes, prefixFromBytes } from './prefix.js';
import { rd32, wr32 } from './reader.js';

/** Scratch space for offsets while decoding; a 65535-byte message holds fewer prefixes. */
const scratch = new Uint32Array(65536);

export class PrefixListImpl implements PrefixList {
  /**
   * @param offs offset in `buf` of each prefix's first address byte; its length octet is the
   *   byte before, and with add-path its 4-byte path identifier the 4 bytes before that.
   * @param addPath whether the entries carry RFC 7911 path identifiers.
   */
  constructor(
    readonly afi: Afi,
    readonly buf: Buffer,
    private readonly offs: Uint32Array,
    readonly addPath: boolean,
  ) {}

  get length(): number {
    return this.offs.length;
  }

  len(i: number): number {
    return this.buf[this.offs[i] - 1];
  }

  offset(i: number): number {
    return this.offs[i];
  }

  pathId(i: number): number {
    return this.addPath ? rd32(this.buf, this.offs[i] - 5) : 0;
  }

  get(i: number): Prefix {
    const off = this.offs[i];
    return prefixFromBytes(this.afi, this.buf[off - 1], this.buf, off, this.addPath ? rd32(this.buf, off - 5) : undefined);
  }

  *[Symbol.iterator](): Iterator<Prefix> {
    for (let i = 0; i < this.offs.length; i++) yield this.get(i);
  }

  /** An empty list of the family. */
  static empty(afi: Afi): PrefixListImpl {
    return new PrefixListImpl(afi, EMPTY_BUF, EMPTY_OFFS, false);
  }

  /**
   * Builds a list from Prefix objects or "10.0.0.0/24" strings (for encoders, tests, CLI).
   * The list carries path identifiers when any prefix has one.
   */
  static from(afi: Afi, prefixes: readonly (Prefix | string)[]): PrefixListImpl {
    const ps = prefixes.map((p) => (typeof p === 'string' ? parsePrefix(p) : p));
    for (const p of ps) {
      if (p.afi !== afi) throw new Error(`prefix of AFI ${p.afi} in a list of AFI ${afi}`);
    }
    const addPath = ps.some((p) => p.pathId !== undefined);
    let size = 0;
    for (const p of ps) size += (addPath ? 5 : 1) + prefixBytes(p.len);
    const buf = Buffer.allocUnsafe(size);
    const offs = new Uint32Array(ps.length);
    let pos = 0;
    ps.forEach((p, i) => {
      if (addPath) {
        wr32(buf, pos, p.pathId ?? 0);
        pos += 4;
      }
      buf[pos++] = p.len;
      offs[i] = pos;
      pos += copyMasked(p.len, p.addr, 0, buf, pos);
    });
    return new PrefixListImpl(afi, buf, offs, addPath);
  }
}

const EMPTY_BUF = Buffer.alloc(0);
const EMPTY_OFFS = new Uint32Array(0);

/** Copies the significant bytes of a prefix, clearing host bits of the last byte. */
function copyMasked(len: number, src: Buffer, from: number, dst: Buffer, to: number): number {
  const n = prefixBytes(len);
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i];
  if (len & 7) dst[to + n - 1] &= 0xff << (8 - (len & 7));
  return n;
}

/**
 * Decodes the NLRI encoding in buf[start, end) (RFC 4271 §4.3; RFC 7911 §3 when addPath).
 * `fail(reason)` builds the error to throw: the caller knows whether this is 3/10 Invalid
 * Network Field (classic fields) or an MP_REACH/MP_UNREACH error (RFC 7606 §5.3).
 */
export function decodeNlri(buf: Buffer, start: number, end: number, afi: Afi, addPath: boolean, fail: (reason: string) => Error): PrefixListImpl {
  if (start === end) return PrefixListImpl.empty(afi);
  const max = afi === AFI_IPV4 ? 32 : 128;
  let pos = start;
  let n = 0;
  while (pos < end) {
    if (addPath) {
      if (pos + 5 > end) throw fail(`prefix ${n + 1} is cut short in its add-path identifier`);
      pos += 4;
    }
    const len = buf[pos++];
    if (len > max) throw fail(`prefix ${n + 1} has length /${len}, more than ${max} bits`);
    const next = pos + ((len + 7) >> 3);
    if (next > end) throw fail(`prefix ${n + 1} (/${len}) runs past the end of its field`);
    scratch[n++] = pos;
    pos = next;
  }
  return new PrefixListImpl(afi, buf, scratch.slice(0, n), addPath);
}

/** Bytes `list` takes in NLRI encoding, with or without path identifiers. */
export function nlriLength(list: PrefixList, addPath: boolean): number {
  let size = 0;
  const per = addPath ? 5 : 1;
  for (let i = 0; i < list.length; i++) size += per + ((list.len(i) + 7) >> 3);
  return size;
}

/** Writes entries [from, to) of `list` at `pos`; returns the new position. */
export function writeNlri(list: PrefixList, from: number, to: number, addPath: boolean, out: Buffer, pos: number): number {
  const src = list.buf;
  for (let i = from; i < to; i++) {
    if (addPath) {
      wr32(out, pos, list.pathId(i));
      pos += 4;
    }
    const len = list.len(i);
    out[pos++] = len;
    pos += copyMasked(len, src, list.offset(i), out, pos);
  }
  return pos;
}

/** Writes one Prefix object in NLRI encoding at `pos`; returns the new position. */
export function writePrefix(p: Prefix, addPath: boolean, out: Buffer, pos: number): number {
  if (addPath) {
    wr32(out, pos, p.pathId ?? 0);
    pos += 4;
  }
  out[pos++] = p.len;
  return pos + copyMasked(p.len, p.addr, 0, out, pos);
}
