// Per-session counters for the control socket (`bgpctl show neighbor`): plain JSON-safe data.

import { notificationName } from '../codec/index.js';
import type { ResolvedConfig } from './config.js';
import type { State } from './types.js';
import type { Negotiated } from './negotiate.js';
import { MsgType, type NotificationMessage } from '../codec/types.js';

export interface MessageCounters {
  open: number;
  update: number;
  notification: number;
  keepalive: number;
  routeRefresh: number;
  total: number;
}

export interface ErrorRecord {
  code: number;
  subcode: number;
  /** "Cease / Administrative Shutdown" etc. */
  name: string;
  /** RFC 9003 Shutdown Communication, when one was carried. */
  shutdownMessage?: string;
  at: string;
}

export interface SessionStats {
  peerAddress: string;
  peerAs: number;
  localAs: number;
  description?: string;
  state: State;
  /** ISO time of the last state change. */
  since: string;
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
  messagesIn: MessageCounters;
  messagesOut: MessageCounters;
  lastErrorSent?: ErrorRecord;
  lastErrorReceived?: ErrorRecord;
  lastDown?: { at: string; reason: string; origin: string };
  /** The last failed outbound connection attempt since Established (`count`: same error in a row). */
  lastConnectError?: { at: string; error: string; count: number };
  establishedCount: number;
  connectRetryCounter: number;
  flaps: number;
  idleHoldMs: number;
  outQueueBytes: number;
  outQueueMessages: number;
  /** Messages refused at the write point for exceeding the peer's maximum (RFC 8654 §4). */
  oversizeDropped: number;
  negotiated?: Negotiated;
}

const counters = (): MessageCounters => ({ open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0, total: 0 });

export function emptyStats(cfg: ResolvedConfig): SessionStats {
  return {
    peerAddress: cfg.peerAddress,
    peerAs: cfg.peerAs,
    localAs: cfg.localAs,
    description: cfg.description,
    state: 'Idle',
    since: new Date().toISOString(),
    messagesIn: counters(),
    messagesOut: counters(),
    establishedCount: 0,
    connectRetryCounter: 0,
    flaps: 0,
    idleHoldMs: 0,
    outQueueBytes: 0,
    outQueueMessages: 0,
    oversizeDropped: 0,
  };
}

export function noteError(s: SessionStats, dir: 'sent' | 'received', n: NotificationMessage): void {
  const rec: ErrorRecord = {
    code: n.code,
    subcode: n.subcode,
    name: notificationName(n.code, n.subcode),
    shutdownMessage: n.shutdownMessage,
    at: new Date().toISOString(),
  };
  if (dir === 'sent') s.lastErrorSent = rec;
  else s.lastErrorReceived = rec;
}

/** Counts one message; `type` undefined (a message that failed to decode) counts in total only. */
export function countMessage(s: SessionStats, dir: 'in' | 'out', type: MsgType | undefined): void {
  const c = dir === 'in' ? s.messagesIn : s.messagesOut;
  c.total++;
  if (type === MsgType.OPEN) c.open++;
  else if (type === MsgType.UPDATE) c.update++;
  else if (type === MsgType.NOTIFICATION) c.notification++;
  else if (type === MsgType.KEEPALIVE) c.keepalive++;
  else if (type === MsgType.ROUTE_REFRESH) c.routeRefresh++;
}
