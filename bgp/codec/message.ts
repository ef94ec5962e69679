// decodeMessage / encodeMessage: the message boundary. The header is checked again here (the
// Framer may not have been used, e.g. by bgpctl decode), then the body goes to its decoder.

import { BgpError, type BgpMessage, MsgType, type SessionContext } from './types.js';
import { checkHeader } from './header.js';
import { decodeNotification, decodeKeepalive, decodeRouteRefresh, encodeKeepalive, encodeNotification, encodeRouteRefresh } from './notification.js';
import { decodeOpen, encodeOpen } from './open.js';
import { decodeUpdate, encodeUpdate } from './update.js';

const u16 = (v: number): Buffer => Buffer.from([v >> 8, v & 0xff]);

/**
 * Decodes one whole message (header included). Throws only BgpError, whatever the bytes:
 * RFC 7606 outcomes that are not a session reset come back on the UpdateMessage instead.
 */
export function decodeMessage(msg: Buffer, ctx: SessionContext): BgpMessage {
  try {
    if (msg.length < 19) {
      throw new BgpError(1, 2, `Bad Message Length: ${msg.length} bytes is shorter than the 19-byte header`, u16(msg.length));
    }
    const len = checkHeader(msg, 0, ctx.extendedMessage);
    if (len !== msg.length) {
      throw new BgpError(1, 2, `Bad Message Length: header says ${len} bytes, the message has ${msg.length}`, u16(len));
    }
    switch (msg[18]) {
      case MsgType.OPEN:
        return decodeOpen(msg);
      case MsgType.UPDATE:
        return decodeUpdate(msg, ctx);
      case MsgType.NOTIFICATION:
        return decodeNotification(msg);
      case MsgType.KEEPALIVE:
        return decodeKeepalive(msg);
      default:
        return decodeRouteRefresh(msg);
    }
  } catch (err) {
    if (err instanceof BgpError) throw err;
    // A bug in a decoder must still not take the process down with a RangeError; report it
    // as the least specific NOTIFICATION of the message's kind.
    const t = msg.length > 18 ? msg[18] : 0;
    const code = t === MsgType.OPEN ? 2 : t === MsgType.UPDATE ? 3 : t === MsgType.ROUTE_REFRESH ? 7 : 1;
    throw new BgpError(code, 0, `internal decoder error: ${(err as Error).message}`);
  }
}

/** Encodes a message, header included. Throws RangeError for values that cannot be encoded. */
export function encodeMessage(msg: BgpMessage, ctx: SessionContext): Buffer {
  switch (msg.type) {
    case MsgType.OPEN:
      return encodeOpen(msg);
    case MsgType.UPDATE:
      return encodeUpdate(msg, ctx);
    case MsgType.NOTIFICATION:
      return encodeNotification(msg);
    case MsgType.KEEPALIVE:
      return encodeKeepalive();
    case MsgType.ROUTE_REFRESH:
      return encodeRouteRefresh(msg);
  }
}
