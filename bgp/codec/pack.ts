// packUpdates: packs Prefix objects sharing one attribute set into as few UPDATEs as fit (4096
// bytes, or 65535 with RFC 8654), each in a buffer sized exactly for it. Not the daemon's send
// path: the Adj-RIB-Out packs straight from its prefix store (bgp/rib's packer) with the same
// building blocks (writeNlri, the MP headers). This one is the codec's own packer, used by the
// codec tests, the fuzzers and bench/codec, and kept so the codec can be used without a RIB.
//   IPv4: classic Withdrawn Routes and NLRI fields (RFC 4271 §4.3).
//   IPv6: MP_UNREACH_NLRI / MP_REACH_NLRI, written first (RFC 4760, RFC 7606 §5.1).
// Withdrawals come first, in their own UPDATEs (they carry no attributes), then reachability.

import {
  type Family,
  HEADER_LEN,
  MAX_EXTENDED_MESSAGE_LEN,
  MAX_MESSAGE_LEN,
  type MpNextHop,
  MsgType,
  type PathAttributes,
  type Prefix,
  type PrefixList,
  type SessionContext,
} from './types.js';
import { encodeAttributes } from './attributes.js';
import { encodeNextHop, MP_UNREACH_HEADER_LENGTH, mpReachHeaderLength, writeMpReachHeader, writeMpUnreachHeader } from './attr-mp.js';
import { writeHeader } from './header.js';
import { writeNlri } from './prefixes.js';

export interface PackInput {
  /** The attribute set, or a block pre-encoded by encodeAttributes (without MP attributes). */
  attrs?: PathAttributes | Buffer;
  family: Family;
  /** MP_REACH_NLRI next hop, required to announce IPv6. */
  nextHop?: MpNextHop;
  reach?: readonly Prefix[] | PrefixList;
  withdraw?: readonly Prefix[] | PrefixList;
}

type Prefixes = readonly Prefix[] | PrefixList;

/** NLRI bytes of entry i (RFC 4271 §4.3; RFC 7911 §3 adds 4). */
function sizeAt(src: Prefixes, i: number, addPath: boolean): number {
  const len = Array.isArray(src) ? (src as readonly Prefix[])[i].len : (src as PrefixList).len(i);
  return (addPath ? 5 : 1) + ((len + 7) >> 3);
}

/** Writes entries [from, to) at pos; Prefix objects are copied byte by byte, host bits cleared. */
function writeRange(src: Prefixes, from: number, to: number, addPath: boolean, out: Buffer, pos: number): number {
  if (!Array.isArray(src)) return writeNlri(src as PrefixList, from, to, addPath, out, pos);
  const arr = src as readonly Prefix[];
  for (let i = from; i < to; i++) {
    const p = arr[i];
    if (addPath) {
      const id = p.pathId ?? 0;
      out[pos] = id >>> 24;
      out[pos + 1] = id >>> 16;
      out[pos + 2] = id >>> 8;
      out[pos + 3] = id;
      pos += 4;
    }
    const len = p.len;
    out[pos++] = len;
    const n = (len + 7) >> 3;
    const a = p.addr;
    for (let k = 0; k < n; k++) out[pos + k] = a[k];
    if (len & 7) out[pos + n - 1] &= 0xff << (8 - (len & 7));
    pos += n;
  }
  return pos;
}

/** Splits src into runs that fit `room` bytes each; calls emit(from, to, bytes) per run. */
function runs(src: Prefixes, addPath: boolean, room: number, emit: (from: number, to: number, bytes: number) => void): void {
  const count = src.length;
  let from = 0;
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const sz = sizeAt(src, i, addPath);
    if (bytes + sz > room) {
      if (i === from) throw new RangeError('a single prefix does not fit in an UPDATE with these attributes');
      emit(from, i, bytes);
      from = i;
      bytes = 0;
    }
    bytes += sz;
  }
  if (count > from) emit(from, count, bytes);
}

const NONE: readonly Prefix[] = [];

export function packUpdates(input: PackInput, ctx: SessionContext): Buffer[] {
  const max = ctx.extendedMessage ? MAX_EXTENDED_MESSAGE_LEN : MAX_MESSAGE_LEN;
  const v6 = input.family === 'ipv6';
  const addPath = v6 ? ctx.addPathTx.ipv6 : ctx.addPathTx.ipv4;
  const out: Buffer[] = [];
  const wd = input.withdraw ?? NONE;
  const reach = input.reach ?? NONE;
  // Fixed part: header, Withdrawn Routes Length, Total Path Attribute Length.
  const fixed = HEADER_LEN + 4;

  if (wd.length > 0) {
    if (!v6) {
      runs(wd, addPath, max - fixed, (from, to, bytes) => {
        const b = Buffer.allocUnsafe(fixed + bytes);
        writeHeader(b, b.length, MsgType.UPDATE);
        b.writeUInt16BE(bytes, HEADER_LEN);
        let pos = HEADER_LEN + 2;
        pos = writeRange(wd, from, to, addPath, b, pos);
        b.writeUInt16BE(0, pos);
        out.push(b);
      });
    } else {
      const mpHdr = MP_UNREACH_HEADER_LENGTH;
      runs(wd, addPath, max - fixed - mpHdr, (from, to, bytes) => {
        const b = Buffer.allocUnsafe(fixed + mpHdr + bytes);
        writeHeader(b, b.length, MsgType.UPDATE);
        b.writeUInt16BE(0, HEADER_LEN);
        b.writeUInt16BE(mpHdr + bytes, HEADER_LEN + 2);
        let pos = writeMpUnreachHeader(b, fixed, bytes);
        pos = writeRange(wd, from, to, addPath, b, pos);
        out.push(b);
      });
    }
  }

  if (reach.length > 0) {
    const attrs = input.attrs === undefined ? Buffer.alloc(0) : Buffer.isBuffer(input.attrs) ? input.attrs : encodeAttributes(input.attrs, ctx);
    // RFC 8654 §4: no message above the maximum; attributes that leave no room for one prefix
    // cannot be sent on this session at all (the RIB leaves such routes out per peer).
    const smallest = fixed + attrs.length + (v6 ? mpReachHeaderLength(encodeNextHop(input.nextHop ?? { global: '::' })) : 0) + 1 + (addPath ? 4 : 0);
    if (smallest > max) throw new RangeError(`packUpdates: ${attrs.length} bytes of attributes do not fit a ${max}-byte message (RFC 8654 §4)`);
    if (!v6) {
      runs(reach, addPath, max - fixed - attrs.length, (from, to, bytes) => {
        const b = Buffer.allocUnsafe(fixed + attrs.length + bytes);
        writeHeader(b, b.length, MsgType.UPDATE);
        b.writeUInt16BE(0, HEADER_LEN);
        b.writeUInt16BE(attrs.length, HEADER_LEN + 2);
        attrs.copy(b, fixed);
        let pos = fixed + attrs.length;
        pos = writeRange(reach, from, to, addPath, b, pos);
        out.push(b);
      });
    } else {
      if (!input.nextHop) throw new RangeError('packUpdates: IPv6 reachability needs a next hop');
      const nh = encodeNextHop(input.nextHop);
      const mpHdr = mpReachHeaderLength(nh);
      runs(reach, addPath, max - fixed - mpHdr - attrs.length, (from, to, bytes) => {
        const b = Buffer.allocUnsafe(fixed + mpHdr + bytes + attrs.length);
        writeHeader(b, b.length, MsgType.UPDATE);
        b.writeUInt16BE(0, HEADER_LEN);
        b.writeUInt16BE(mpHdr + bytes + attrs.length, HEADER_LEN + 2);
        let pos = writeMpReachHeader(b, fixed, nh, bytes);
        pos = writeRange(reach, from, to, addPath, b, pos);
        attrs.copy(b, pos);
        out.push(b);
      });
    }
  }
  return out;
}
