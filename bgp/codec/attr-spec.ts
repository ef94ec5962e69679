// The shape of one row of the attribute registry (attributes.ts), the decode state shared by
// the rows, the error a row throws for a malformed value, and the writer rows encode into.

import type { ErrorAction, MpReach, MpUnreach, PathAttributes, SessionContext } from './types.js';

/**
 * Thrown by a row's decoder for a malformed value. It never leaves decodeMessage: the attribute
 * loop turns it into the row's RFC 7606 action (or a BgpError when that action is session-reset).
 */
export class AttrMalformed extends Error {
  constructor(
    reason: string,
    /** RFC 4271 §6.3 subcode if this ends in a NOTIFICATION; the row's default otherwise. */
    readonly subcode?: number,
    /** Overrides the row's action (e.g. NLRI errors inside MP_REACH_NLRI). */
    readonly action?: ErrorAction,
  ) {
    super(reason);
  }
}

/** What the attribute decoders fill in while walking one UPDATE's attributes. */
export interface AttrDecodeState {
  ctx: SessionContext;
  attrs: PathAttributes;
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /** Attribute-discard notes raised by rows themselves (e.g. AS4_PATH on a 4-octet session). */
  notes: { attrType: number; reason: string }[];
}

export interface AttrSpec {
  type: number;
  name: string;
  /** The Optional and Transitive bits the attribute must carry (RFC 4271 §5, §6.3). */
  flags: number;
  /** RFC 7606 action for a malformed value. */
  action: ErrorAction;
  /** RFC 4271 §6.3 subcode sent when the action is session-reset. */
  subcode: number;
  /** Decodes the value buf[start, end) into the state; throws AttrMalformed. */
  decode(buf: Buffer, start: number, end: number, st: AttrDecodeState): void;
  /** Writes the attribute when present in `a`; writes nothing when absent. */
  encode(a: PathAttributes, ctx: SessionContext, w: AttrWriter): void;
}

/** A growable buffer for attribute blocks: begin() reserves a 4-byte header, end() fixes it. */
export class AttrWriter {
  buf: Buffer;
  pos = 0;

  constructor(size = 512) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }

  /** Starts an attribute; returns the mark to pass to end(). */
  begin(flags: number, type: number): number {
    this.ensure(4);
    const mark = this.pos;
    this.buf[mark] = flags;
    this.buf[mark + 1] = type;
    this.pos += 4;
    return mark;
  }

  /**
   * Ends the attribute started at `mark`: sets the Extended Length bit and a 2-octet length
   * only when the value exceeds 255 bytes (or `forceExtended`), else a 1-octet length.
   */
  end(mark: number, forceExtended = false): void {
    const len = this.pos - mark - 4;
    if (len > 0xffff) throw new RangeError(`attribute ${this.buf[mark + 1]} value of ${len} bytes exceeds 65535`);
    if (len <= 255 && !forceExtended) {
      this.buf[mark] &= ~0x10;
      this.buf[mark + 2] = len;
      this.buf.copyWithin(mark + 3, mark + 4, this.pos);
      this.pos--;
    } else {
      this.buf[mark] |= 0x10;
      this.buf[mark + 2] = len >> 8;
      this.buf[mark + 3] = len & 0xff;
    }
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf[this.pos++] = v >> 8;
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
  }

  bytes(v: Buffer): void {
    this.ensure(v.length);
    v.copy(this.buf, this.pos);
    this.pos += v.length;
  }

  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
