// Netlink framing and attributes (RFC 3549 §2.3.2, include/uapi/linux/netlink.h).
// A message is a 16-byte nlmsghdr {len u32, type u16, flags u16, seq u32, pid u32} followed by a
// family header and rtattrs {len u16, type u16, value}, each padded to 4 bytes (NLA_ALIGNTO).
// All fields are host byte order; Tern runs on little-endian Linux only (x86_64, arm64).
import {
  NLA_F_NESTED,
  NLA_TYPE_MASK,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  errnoName,
} from './consts.js';

export const align4 = (n: number): number => (n + 3) & ~3;

/** A malformed message from the kernel: the boundary that reads a whole buffer catches it. */
export class NetlinkDecodeError extends Error {}

export interface NlMsg {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The bytes after the nlmsghdr (a view into the receive buffer, not a copy). */
  payload: Buffer;
}

/** Walk the messages of one datagram (a dump datagram holds many; NLMSG_ALIGN between them). */
export function parseMessages(buf: Buffer): NlMsg[] {
  const out: NlMsg[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new NetlinkDecodeError(`nlmsghdr length ${len} at offset ${off} overruns ${buf.length}`);
    }
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Attributes of one level: type (flags masked off) -> value. Later duplicates win. */
export type Attrs = Map<number, Buffer>;

export function parseAttrs(buf: Buffer, start = 0): Attrs {
  const attrs: Attrs = new Map();
  let off = start;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) {
      throw new NetlinkDecodeError(`rtattr length ${len} at offset ${off} overruns ${buf.length}`);
    }
    attrs.set(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return attrs;
}

export function attrU32(attrs: Attrs, type: number): number | undefined {
  const v = attrs.get(type);
  if (v === undefined) return undefined;
  if (v.length < 4) throw new NetlinkDecodeError(`attribute ${type}: ${v.length} bytes, want 4`);
  return v.readUInt32LE(0);
}

export function attrString(attrs: Attrs, type: number): string | undefined {
  const v = attrs.get(type);
  if (v === undefined) return undefined;
  const nul = v.indexOf(0);
  return v.toString('utf8', 0, nul < 0 ? v.length : nul);
}

/**
 * Writes messages back to back into one buffer, growing it as needed. `begin` writes a header
 * whose length `end` patches; attributes are padded to 4 bytes as NLA_ALIGN wants.
 */
export class MsgWriter {
  buf: Buffer;
  off = 0;
  private msgStart = -1;

  /** `buf`: write into this buffer (a pooled one, see NetlinkClient.writer) until it is full. */
  constructor(size = 4096, buf?: Buffer) {
    this.buf = buf ?? Buffer.alloc(size);
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  begin(type: number, flags: number, seq: number): void {
    this.ensure(NLMSG_HDRLEN);
    this.msgStart = this.off;
    this.buf.writeUInt32LE(0, this.off);
    this.buf.writeUInt16LE(type, this.off + 4);
    this.buf.writeUInt16LE(flags, this.off + 6);
    this.buf.writeUInt32LE(seq >>> 0, this.off + 8);
    this.buf.writeUInt32LE(0, this.off + 12); // pid 0: the kernel fills in our port
    this.off += NLMSG_HDRLEN;
  }

  end(): void {
    this.buf.writeUInt32LE(this.off - this.msgStart, this.msgStart);
    this.msgStart = -1;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.off++] = v & 0xff;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.off);
    this.off += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.off);
    this.off += 4;
  }
  i32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32LE(v, this.off);
    this.off += 4;
  }

  attr(type: number, value: Buffer): void {
    const len = 4 + value.length;
    this.ensure(align4(len));
    this.buf.writeUInt16LE(len, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    value.copy(this.buf, this.off + 4);
    this.buf.fill(0, this.off + len, this.off + align4(len));
    this.off += align4(len);
  }

  attrU32(type: number, v: number): void {
    this.ensure(8);
    this.buf.writeUInt16LE(8, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.writeUInt32LE(v >>> 0, this.off + 4);
    this.off += 8;
  }

  attrFlag(type: number): void {
    this.ensure(4);
    this.buf.writeUInt16LE(4, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.off += 4;
  }

  /** Open a nested attribute (or an rtnexthop-like sub-struct); returns the start to close. */
  nestStart(type: number, nested = true): number {
    this.ensure(4);
    const start = this.off;
    this.buf.writeUInt16LE(0, start);
    this.buf.writeUInt16LE(nested ? type | NLA_F_NESTED : type, start + 2);
    this.off += 4;
    return start;
  }

  nestEnd(start: number): void {
    this.buf.writeUInt16LE(this.off - start, start);
  }

  /** The bytes written so far (a copy, so the writer can be reused). */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.off));
    this.off = 0;
    return out;
  }
}

/** A decoded NLMSG_ERROR: errno 0 is a positive ACK. */
export interface NlAck {
  seq: number;
  /** Positive errno (the kernel sends it negated). */
  errno: number;
  /** The type of the request being acknowledged (from the echoed header). */
  requestType: number;
  /** NLMSGERR_ATTR_MSG: the kernel's extended-ACK text, when NETLINK_EXT_ACK is on. */
  message?: string;
  /** NLMSGERR_ATTR_OFFS: offset of the offending attribute in the request. */
  offset?: number;
}

/** Decode struct nlmsgerr {int error; struct nlmsghdr msg; [payload]} + extended-ACK TLVs. */
export function decodeAck(msg: NlMsg): NlAck {
  const p = msg.payload;
  if (msg.type !== NLMSG_ERROR || p.length < 4 + NLMSG_HDRLEN) {
    throw new NetlinkDecodeError(`not an NLMSG_ERROR of at least 20 bytes (type ${msg.type})`);
  }
  const ack: NlAck = { seq: msg.seq, errno: -p.readInt32LE(0) || 0, requestType: p.readUInt16LE(8) };
  if (msg.flags & NLM_F_ACK_TLVS) {
    // Without NLM_F_CAPPED the whole request is echoed; its own length says where TLVs start.
    const echoed = msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : p.readUInt32LE(4);
    // The echoed length comes from the message: past 2^31 align4 turns it negative and the TLV
    // walk would start before the buffer (found by test/fib/fuzz.test.ts).
    if (echoed < NLMSG_HDRLEN || echoed > p.length) throw new NetlinkDecodeError(`NLMSG_ERROR echoes a request of ${echoed} bytes in ${p.length}`);
    const tlvStart = 4 + align4(echoed);
    if (tlvStart <= p.length) {
      const tlv = parseAttrs(p, tlvStart);
      ack.message = attrString(tlv, NLMSGERR_ATTR_MSG);
      ack.offset = attrU32(tlv, NLMSGERR_ATTR_OFFS);
    }
  }
  return ack;
}

/** "EEXIST: File exists"-style text for a failed ACK: errno name, then the kernel's words. */
export const ackText = (a: NlAck): string => (a.message ? `${errnoName(a.errno)}: ${a.message}` : errnoName(a.errno));

export const isDone = (m: NlMsg): boolean => m.type === NLMSG_DONE;
