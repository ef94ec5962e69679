// NOTIFICATION (RFC 4271 §4.5) with the RFC 9003 shutdown communication, KEEPALIVE (RFC 4271 §4.4)
// and ROUTE-REFRESH (RFC 2918 §3, RFC 7313 §3.2 subtypes): decode and encode side by side.

import { SmartBuffer } from 'smart-buffer';
import { BgpError, HEADER_LEN, type KeepaliveMessage, MAX_MESSAGE_LEN, MsgType, type NotificationMessage, type RouteRefreshMessage } from './types.js';
import { writeHeader } from './header.js';

const u16 = (v: number): Buffer => Buffer.from([v >> 8, v & 0xff]);

/** RFC 9003 §2: Cease subcodes 2 (Administrative Shutdown) and 4 (Administrative Reset). */
const carriesShutdownCommunication = (code: number, subcode: number): boolean => code === 6 && (subcode === 2 || subcode === 4);

/** RFC 9003 §2: at most 255 octets of UTF-8. */
export const MAX_SHUTDOWN_COMMUNICATION = 255;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes the RFC 9003 communication in `data`: a length octet then that many UTF-8 octets.
 * Returns undefined when absent or malformed; RFC 9003 §4 says a bad one is only logged.
 */
export function decodeShutdownCommunication(data: Buffer): string | undefined {
  if (data.length < 1) return undefined;
  const n = data[0];
  if (n === 0 || 1 + n > data.length) return undefined;
  try {
    return utf8.decode(data.subarray(1, 1 + n));
  } catch {
    return undefined;
  }
}

/** Encodes an RFC 9003 communication, cut at a character boundary to 255 octets. */
export function encodeShutdownCommunication(text: string): Buffer {
  return writeShutdownCommunication(new SmartBuffer(), text).toBuffer();
}

/** RFC 9003 §2: a length octet, then at most 255 octets of UTF-8. */
function writeShutdownCommunication(out: SmartBuffer, text: string): SmartBuffer {
  let b = Buffer.from(text, 'utf8');
  if (b.length > MAX_SHUTDOWN_COMMUNICATION) {
    let end = MAX_SHUTDOWN_COMMUNICATION;
    while (end > 0 && (b[end] & 0xc0) === 0x80) end--; // do not split a UTF-8 sequence
    b = b.subarray(0, end);
  }
  return out.writeUInt8(b.length).writeBuffer(b);
}

export function decodeNotification(msg: Buffer): NotificationMessage {
  // RFC 4271 §4.5: minimum length 21.
  if (msg.length < HEADER_LEN + 2) {
    throw new BgpError(1, 2, `Bad Message Length: a NOTIFICATION needs at least 21 bytes, got ${msg.length}`, u16(msg.length));
  }
  const code = msg[HEADER_LEN];
  const subcode = msg[HEADER_LEN + 1];
  const data = Buffer.from(msg.subarray(HEADER_LEN + 2));
  const n: NotificationMessage = { type: MsgType.NOTIFICATION, code, subcode, data };
  if (carriesShutdownCommunication(code, subcode)) {
    const text = decodeShutdownCommunication(data);
    if (text !== undefined) n.shutdownMessage = text;
  } else if (code === 6 && subcode === HARD_RESET && data.length >= 2) {
    // RFC 8538 §3: FRR sends its Administrative Shutdown text wrapped in a Hard Reset.
    n.hardResetOf = { code: data[0], subcode: data[1] };
    if (carriesShutdownCommunication(data[0], data[1])) {
      const text = decodeShutdownCommunication(data.subarray(2));
      if (text !== undefined) n.shutdownMessage = text;
    }
  }
  return n;
}

/** RFC 8538 §3: Cease subcode Hard Reset. */
const HARD_RESET = 9;

/**
 * When `data` is empty and `shutdownMessage` is set, the RFC 9003 data is built from it. A cold
 * path (once per session end), written with smart-buffer's running offset.
 */
export function encodeNotification(n: NotificationMessage): Buffer {
  const out = new SmartBuffer();
  out.writeBuffer(Buffer.alloc(HEADER_LEN)); // the header is written last, with the length
  out.writeUInt8(n.code).writeUInt8(n.subcode);
  if (n.data.length > 0) {
    out.writeBuffer(n.data);
  } else if (n.shutdownMessage !== undefined && carriesShutdownCommunication(n.code, n.subcode)) {
    writeShutdownCommunication(out, n.shutdownMessage);
  } else if (n.code === 6 && n.subcode === HARD_RESET && (n.hardResetOf !== undefined || n.shutdownMessage !== undefined)) {
    // RFC 8538 §3: encapsulate the NOTIFICATION being hardened (default Cease/Administrative Reset).
    const inner = n.hardResetOf ?? { code: 6, subcode: 4 };
    out.writeUInt8(inner.code).writeUInt8(inner.subcode);
    if (n.shutdownMessage !== undefined && carriesShutdownCommunication(inner.code, inner.subcode)) writeShutdownCommunication(out, n.shutdownMessage);
  }
  const msg = out.toBuffer();
  if (msg.length > MAX_MESSAGE_LEN) throw new RangeError(`NOTIFICATION of ${msg.length} bytes exceeds 4096`);
  writeHeader(msg, msg.length, MsgType.NOTIFICATION);
  return msg;
}

export function decodeKeepalive(msg: Buffer): KeepaliveMessage {
  // RFC 4271 §4.4: a KEEPALIVE is the header alone.
  if (msg.length !== HEADER_LEN) {
    throw new BgpError(1, 2, `Bad Message Length: a KEEPALIVE is exactly 19 bytes, got ${msg.length}`, u16(msg.length));
  }
  return { type: MsgType.KEEPALIVE };
}

const KEEPALIVE = (() => {
  const b = Buffer.alloc(HEADER_LEN);
  writeHeader(b, HEADER_LEN, MsgType.KEEPALIVE);
  return b;
})();

export function encodeKeepalive(): Buffer {
  return Buffer.from(KEEPALIVE);
}

export function decodeRouteRefresh(msg: Buffer): RouteRefreshMessage {
  // RFC 7313 §5: a ROUTE-REFRESH whose length is not 23 -> 7/1 with the whole message as data.
  if (msg.length !== HEADER_LEN + 4) {
    throw new BgpError(7, 1, `Invalid Message Length: a ROUTE-REFRESH is exactly 23 bytes, got ${msg.length}`, Buffer.from(msg));
  }
  return {
    type: MsgType.ROUTE_REFRESH,
    afi: msg.readUInt16BE(HEADER_LEN),
    subtype: msg[HEADER_LEN + 2],
    safi: msg[HEADER_LEN + 3],
  };
}

export function encodeRouteRefresh(m: RouteRefreshMessage): Buffer {
  const out = SmartBuffer.fromSize(HEADER_LEN + 4);
  out.writeBuffer(Buffer.alloc(HEADER_LEN));
  // RFC 7313 §3.2: the former Reserved octet carries the subtype.
  out.writeUInt16BE(m.afi).writeUInt8(m.subtype).writeUInt8(m.safi);
  const msg = out.toBuffer();
  writeHeader(msg, msg.length, MsgType.ROUTE_REFRESH);
  return msg;
}
