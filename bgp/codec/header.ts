// The BGP message header (RFC 4271 §4.1) and the streaming Framer that cuts a TCP byte stream
// into whole messages. Framing is separate from decoding (pg-protocol's parser loop): the
// Framer checks only the header; decodeMessage checks the body.

import { BgpError, HEADER_LEN, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, MsgType } from './types.js';

const u16 = (v: number): Buffer => Buffer.from([v >> 8, v & 0xff]);

/**
 * Checks the 19-byte header at buf[off]: marker, length, type (RFC 4271 §6.1).
 * Returns the message length. Throws 1/1, 1/2 (data: the length) or 1/3 (data: the type).
 */
export function checkHeader(buf: Buffer, off: number, extended: boolean): number {
  for (let i = 0; i < 16; i++) {
    if (buf[off + i] !== 0xff) {
      throw new BgpError(1, 1, 'Connection Not Synchronized: the 16-byte marker is not all ones');
    }
  }
  const len = (buf[off + 16] << 8) | buf[off + 17];
  const max = extended ? MAX_EXTENDED_MESSAGE_LEN : MAX_MESSAGE_LEN;
  if (len < HEADER_LEN || len > max) {
    throw new BgpError(1, 2, `Bad Message Length: header says ${len} bytes, allowed ${HEADER_LEN}..${max}`, u16(len));
  }
  const type = buf[off + 18];
  if (type < MsgType.OPEN || type > MsgType.ROUTE_REFRESH) {
    throw new BgpError(1, 3, `Bad Message Type: ${type}`, Buffer.from([type]));
  }
  return len;
}

/** Writes the header for a message of `len` bytes and `type` at buf[0]. */
export function writeHeader(buf: Buffer, len: number, type: MsgType): void {
  buf.fill(0xff, 0, 16);
  buf[16] = len >> 8;
  buf[17] = len & 0xff;
  buf[18] = type;
}

/**
 * Streaming framer: push() TCP chunks split anywhere, get whole messages (header included).
 * Messages lying wholly inside a chunk are returned as views of that chunk (no copy); only a
 * message split across chunks is assembled in a buffer of its own.
 */
export class Framer {
  /** RFC 8654: set once the Extended Message capability was exchanged both ways. */
  extended = false;
  private readonly maxBuffered: number;
  private pending: Buffer | null = null;
  private pendingLen = 0;

  constructor(opts?: { maxBuffered?: number }) {
    this.maxBuffered = opts?.maxBuffered ?? 2 * MAX_EXTENDED_MESSAGE_LEN;
  }

  /** Bytes held back waiting for the rest of a message. */
  get buffered(): number {
    return this.pendingLen;
  }

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let pos = 0;
    if (this.pending) {
      pos = this.fillPending(chunk, out);
      if (this.pending) return out;
    }
    while (chunk.length - pos >= HEADER_LEN) {
      const len = checkHeader(chunk, pos, this.extended);
      if (chunk.length - pos < len) break;
      out.push(chunk.subarray(pos, pos + len));
      pos += len;
    }
    if (pos < chunk.length) this.keep(chunk.subarray(pos));
    return out;
  }

  /** Starts a pending partial message with `rest` (shorter than a message). */
  private keep(rest: Buffer): void {
    if (rest.length > this.maxBuffered) {
      throw new BgpError(6, 8, `Out of Resources: more than ${this.maxBuffered} bytes buffered for one message`);
    }
    // Allocate for the whole message when the header is here, else for a header.
    const want = rest.length >= HEADER_LEN ? checkHeader(rest, 0, this.extended) : HEADER_LEN;
    if (want > this.maxBuffered) {
      throw new BgpError(6, 8, `Out of Resources: a ${want}-byte message exceeds the ${this.maxBuffered}-byte buffer cap`);
    }
    const buf = Buffer.allocUnsafe(Math.max(want, rest.length));
    rest.copy(buf, 0);
    this.pending = buf;
    this.pendingLen = rest.length;
  }

  /** Completes the pending message from `chunk`; returns how many chunk bytes were used. */
  private fillPending(chunk: Buffer, out: Buffer[]): number {
    let pos = 0;
    let buf = this.pending as Buffer;
    if (this.pendingLen < HEADER_LEN) {
      const take = Math.min(HEADER_LEN - this.pendingLen, chunk.length);
      chunk.copy(buf, this.pendingLen, 0, take);
      this.pendingLen += take;
      pos = take;
      if (this.pendingLen < HEADER_LEN) return pos;
      const len = checkHeader(buf, 0, this.extended);
      if (len > this.maxBuffered) {
        throw new BgpError(6, 8, `Out of Resources: a ${len}-byte message exceeds the ${this.maxBuffered}-byte buffer cap`);
      }
      const whole = Buffer.allocUnsafe(len);
      buf.copy(whole, 0, 0, HEADER_LEN);
      buf = this.pending = whole;
    }
    const take = Math.min(buf.length - this.pendingLen, chunk.length - pos);
    chunk.copy(buf, this.pendingLen, pos, pos + take);
    this.pendingLen += take;
    pos += take;
    if (this.pendingLen === buf.length) {
      out.push(buf);
      this.pending = null;
      this.pendingLen = 0;
    }
    return pos;
  }
}
