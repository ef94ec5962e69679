// UPDATE (RFC 4271 §4.3): withdrawn routes, path attributes, NLRI; MP_REACH/MP_UNREACH for IPv6
// (RFC 4760); add-path identifiers (RFC 7911); End-of-RIB (RFC 4724 §2). Decode and encode side
// by side. Error handling per RFC 4271 §6.3 and RFC 7606 (see attributes.ts for attributes).

import {
  AFI_IPV4,
  AFI_IPV6,
  type Family,
  BgpError,
  HEADER_LEN,
  MAX_EXTENDED_MESSAGE_LEN,
  MAX_MESSAGE_LEN,
  MsgType,
  SAFI_UNICAST,
  type SessionContext,
  type UpdateMessage,
} from './types.js';
import { AttrWriter } from './attr-spec.js';
import { encodeNextHop, writeMpReach, writeMpUnreach } from './attr-mp.js';
import { decodeAttributes, writeAttributes } from './attributes.js';
import { writeHeader } from './header.js';
import { decodeNlri, nlriLength, PrefixListImpl, writeNlri } from './prefixes.js';

const UPDATE_MIN_LEN = HEADER_LEN + 4;
const u16 = (v: number): Buffer => Buffer.from([v >> 8, v & 0xff]);
const invalidNetwork = (field: string) => (reason: string) => new BgpError(3, 10, `Invalid Network Field: ${field}: ${reason}`);
// Made once, not per UPDATE (100k of them in a full table).
const INVALID_WITHDRAWN = invalidNetwork('withdrawn routes');
const INVALID_NLRI = invalidNetwork('NLRI');

export function decodeUpdate(msg: Buffer, ctx: SessionContext): UpdateMessage {
  const end = msg.length;
  if (end < UPDATE_MIN_LEN) {
    throw new BgpError(1, 2, `Bad Message Length: an UPDATE needs at least 23 bytes, got ${end}`, u16(end));
  }
  // RFC 4271 §6.3: the two length fields must fit the message, else Malformed Attribute List.
  const wdLen = (msg[HEADER_LEN] << 8) | msg[HEADER_LEN + 1];
  const wdStart = HEADER_LEN + 2;
  if (wdStart + wdLen + 2 > end) {
    throw new BgpError(3, 1, `Malformed Attribute List: Withdrawn Routes Length ${wdLen} overruns the ${end}-byte message`);
  }
  const attrLenPos = wdStart + wdLen;
  const attrLen = (msg[attrLenPos] << 8) | msg[attrLenPos + 1];
  const attrStart = attrLenPos + 2;
  const nlriStart = attrStart + attrLen;
  if (nlriStart > end) {
    throw new BgpError(3, 1, `Malformed Attribute List: Total Path Attribute Length ${attrLen} overruns the message by ${nlriStart - end} bytes`);
  }
  // RFC 7606 §5.3: unparseable NLRI in the classic fields resets the session (3/10).
  const withdrawn = decodeNlri(msg, wdStart, attrLenPos, AFI_IPV4, ctx.addPathRx.ipv4, INVALID_WITHDRAWN);
  const nlri = decodeNlri(msg, nlriStart, end, AFI_IPV4, ctx.addPathRx.ipv4, INVALID_NLRI);
  const d = decodeAttributes(msg, attrStart, nlriStart, ctx, nlri.length > 0);
  const u: UpdateMessage = { type: MsgType.UPDATE, withdrawn, attrs: d.attrs, nlri };
  if (d.mpReach) u.mpReach = d.mpReach;
  if (d.mpUnreach) u.mpUnreach = d.mpUnreach;
  if (d.treatAsWithdraw) u.treatAsWithdraw = true;
  if (d.errors) u.errors = d.errors;
  return u;
}

const maxLen = (ctx: SessionContext): number => (ctx.extendedMessage ? MAX_EXTENDED_MESSAGE_LEN : MAX_MESSAGE_LEN);

/**
 * Encodes an UpdateMessage as it stands (MP attributes first, RFC 7606 §5.1; then the others in
 * type-code order). Throws RangeError if it does not fit one message: use packUpdates to split.
 */
export function encodeUpdate(m: UpdateMessage, ctx: SessionContext): Buffer {
  const apTx4 = ctx.addPathTx.ipv4;
  const w = new AttrWriter(1024);
  if (m.mpReach) {
    const ap = m.mpReach.afi === AFI_IPV4 ? apTx4 : ctx.addPathTx.ipv6;
    writeMpReach(w, m.mpReach.afi, m.mpReach.safi, encodeNextHop(m.mpReach.nextHop), m.mpReach.nlri, ap);
  }
  if (m.mpUnreach) {
    const ap = m.mpUnreach.afi === AFI_IPV4 ? apTx4 : ctx.addPathTx.ipv6;
    writeMpUnreach(w, m.mpUnreach.afi, m.mpUnreach.safi, m.mpUnreach.withdrawn, ap);
  }
  writeAttributes(m.attrs, ctx, w);
  const wdLen = nlriLength(m.withdrawn, apTx4);
  const len = UPDATE_MIN_LEN + wdLen + w.pos + nlriLength(m.nlri, apTx4);
  if (len > maxLen(ctx)) throw new RangeError(`UPDATE of ${len} bytes exceeds the ${maxLen(ctx)}-byte maximum`);
  if (w.pos > 0xffff || wdLen > 0xffff) throw new RangeError('UPDATE field longer than 65535 bytes');
  const out = Buffer.allocUnsafe(len);
  writeHeader(out, len, MsgType.UPDATE);
  let pos = HEADER_LEN;
  out.writeUInt16BE(wdLen, pos);
  pos = writeNlri(m.withdrawn, 0, m.withdrawn.length, apTx4, out, pos + 2);
  out.writeUInt16BE(w.pos, pos);
  w.buf.copy(out, pos + 2, 0, w.pos);
  pos = writeNlri(m.nlri, 0, m.nlri.length, apTx4, out, pos + 2 + w.pos);
  return out;
}

/** RFC 4724 §2: End-of-RIB marker for a family. */
export function endOfRib(family: Family): Buffer {
  if (family === 'ipv4') {
    // An UPDATE with no withdrawn routes, no attributes and no NLRI.
    const b = Buffer.alloc(UPDATE_MIN_LEN);
    writeHeader(b, UPDATE_MIN_LEN, MsgType.UPDATE);
    return b;
  }
  // Only an MP_UNREACH_NLRI with the AFI/SAFI and no withdrawn routes.
  const b = Buffer.alloc(UPDATE_MIN_LEN + 6);
  writeHeader(b, b.length, MsgType.UPDATE);
  b.writeUInt16BE(6, HEADER_LEN + 2);
  b.set([0x80, 15, 3, 0, AFI_IPV6, SAFI_UNICAST], UPDATE_MIN_LEN);
  return b;
}

const noAttributes = (u: UpdateMessage): boolean => {
  for (const k in u.attrs) if ((u.attrs as Record<string, unknown>)[k] !== undefined) return false;
  return true;
};

/** Returns the family when `u` is an End-of-RIB marker (RFC 4724 §2), else null. */
export function isEndOfRib(u: UpdateMessage): Family | null {
  if (u.withdrawn.length || u.nlri.length || u.mpReach || u.treatAsWithdraw || !noAttributes(u)) return null;
  if (!u.mpUnreach) return 'ipv4';
  const m = u.mpUnreach;
  if (m.withdrawn.length || m.safi !== SAFI_UNICAST) return null;
  if (m.afi === AFI_IPV6) return 'ipv6';
  if (m.afi === AFI_IPV4) return 'ipv4';
  return null;
}

/** An UpdateMessage with every field empty, for building messages by hand. */
export function emptyUpdate(): UpdateMessage {
  return { type: MsgType.UPDATE, withdrawn: PrefixListImpl.empty(AFI_IPV4), attrs: {}, nlri: PrefixListImpl.empty(AFI_IPV4) };
}
