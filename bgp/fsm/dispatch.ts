// Received bytes -> the RFC 4271 §8.1 event they are, pure. The session feeds the result to the
// connection's Fsm; decode errors become the event whose row sends their NOTIFICATION.

import { decodeMessage } from '../codec/index.js';
import type { FsmEvent } from './types.js';
import { BgpError, ErrCode, MsgType, type BgpMessage, type SessionContext } from '../codec/types.js';

/** Maps one whole message (header included) to its RFC 4271 §8.1 event. Never throws for bad input. */
export function eventOfMessage(buf: Buffer, ctx: SessionContext): FsmEvent {
  let msg: BgpMessage;
  try {
    msg = decodeMessage(buf, ctx);
  } catch (err) {
    if (!(err instanceof BgpError)) throw err;
    const error = err;
    const type = buf.length > 18 ? buf[18] : 0;
    // Header errors are event 21 whatever the type; body errors are 22 (OPEN) or 28 (UPDATE).
    if (err.code === ErrCode.MESSAGE_HEADER) return { type: 'BGPHeaderErr', error };
    if (type === MsgType.OPEN) return { type: 'BGPOpenMsgErr', error };
    if (type === MsgType.UPDATE) return { type: 'UpdateMsgErr', error };
    // RFC 7313 §5 (ROUTE-REFRESH 7/x): no §8.1 event of its own; the same row sends it and drops.
    return { type: 'BGPHeaderErr', error };
  }
  switch (msg.type) {
    case MsgType.OPEN:
      return { type: 'BGPOpen', open: msg };
    case MsgType.UPDATE:
      return { type: 'UpdateMsg', update: msg };
    case MsgType.NOTIFICATION:
      // RFC 4271 §8.1 event 24: a NOTIFICATION with "Unsupported Version Number" (2/1).
      if (msg.code === ErrCode.OPEN_MESSAGE && msg.subcode === 1) return { type: 'NotifMsgVerErr', notification: msg };
      return { type: 'NotifMsg', notification: msg };
    case MsgType.KEEPALIVE:
      return { type: 'KeepAliveMsg' };
    case MsgType.ROUTE_REFRESH:
      return { type: 'RouteRefreshMsg', msg };
  }
}

/** The message type an event was made from, for counters (undefined for decode errors). */
export function messageTypeOf(ev: FsmEvent): MsgType | undefined {
  switch (ev.type) {
    case 'BGPOpen':
      return MsgType.OPEN;
    case 'UpdateMsg':
      return MsgType.UPDATE;
    case 'NotifMsg':
    case 'NotifMsgVerErr':
      return MsgType.NOTIFICATION;
    case 'KeepAliveMsg':
      return MsgType.KEEPALIVE;
    case 'RouteRefreshMsg':
      return MsgType.ROUTE_REFRESH;
    default:
      return undefined;
  }
}
