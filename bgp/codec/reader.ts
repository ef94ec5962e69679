// A bounds-checked reader over a slice of a message buffer.
// STYLE: "a bounds-checked reader throws the error that fits its context when input runs short".
// Every read checks the slice end first, so a RangeError from Buffer never becomes the error
// path: running short raises the BgpError the caller chose for this part of the message
// (e.g. OPEN -> 2/0, an attribute value -> that attribute's RFC 7606 action).

import { BgpError } from './types.js';

/** Builds the error to throw when the reader runs short; `what` names the missing field. */
export type ShortError = (what: string) => Error;

export class Reader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    private readonly short: ShortError,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws the context's error unless n more bytes are available. */
  need(n: number, what: string): void {
    if (this.pos + n > this.end) throw this.short(what);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  u16(what: string): number {
    this.need(2, what);
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }

  u24(what: string): number {
    this.need(3, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 3;
    return (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
  }

  u32(what: string): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A reader over the next n bytes with its own error context; advances this reader past them. */
  sub(n: number, what: string, short: ShortError = this.short): Reader {
    this.need(n, what);
    const r = new Reader(this.buf, this.pos, this.pos + n, short);
    this.pos += n;
    return r;
  }
}

/** A ShortError factory for a fixed NOTIFICATION code/subcode. */
export const notifyShort =
  (code: number, subcode: number, context: string, data?: () => Buffer): ShortError =>
  (what: string) =>
    new BgpError(code, subcode, `${context}: message ends before ${what}`, data ? data() : undefined);

/** Big-endian unsigned 32-bit read without bounds checks, for loops that checked already. */
export const rd32 = (b: Buffer, p: number): number => ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);

/** Writes a big-endian unsigned 32-bit value without bounds checks. */
export const wr32 = (b: Buffer, p: number, v: number): void => {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
};
