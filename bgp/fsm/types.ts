// The vocabulary of the RFC 4271 §8 state machine: states, events (named after §8.1),
// actions the driver carries out, and why a session went down.

import type { Negotiated } from './negotiate.js';
import type { BgpError, Family, BgpMessage, NotificationMessage, OpenMessage, RouteRefreshMessage, UpdateMessage } from '../codec/types.js';

/** RFC 4271 §8.2.2 states. */
export type State = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

/** Higher means further along; used to report the most advanced of two colliding connections. */
export const STATE_RANK: Record<State, number> = {
  Idle: 0,
  Connect: 1,
  Active: 1,
  OpenSent: 2,
  OpenConfirm: 3,
  Established: 4,
};

/** Timers the FSM arms; the driver owns the clock (RFC 4271 §10 names). */
export type TimerName = 'connectRetry' | 'hold' | 'keepalive' | 'delayOpen' | 'idleHold';

/** A NOTIFICATION we are asked to send (ManualStop / AutomaticStop). */
export interface StopNotification {
  code: number;
  subcode: number;
  /** RFC 9003 Shutdown Communication (6/2, 6/4), at most 255 bytes of UTF-8. */
  shutdownMessage?: string;
  data?: Buffer;
  /** RFC 8538 §3: for a Hard Reset (6/9), the Cease it hardens (e.g. 6/3 Peer De-configured). */
  hardResetOf?: { code: number; subcode: number };
  /**
   * Why we stop, in the operator's words, for logs and `last reset` (never sent): "BGPPeer
   * removed from the config", "ternd stopping (SIGTERM)". Without it: "stopped by operator".
   */
  why?: string;
}

/** RFC 4271 §8.1 events (event numbers in comments); RFC 9687 adds SendHoldTimer_Expires. */
export type FsmEvent =
  | { type: 'ManualStart' } // 1
  | { type: 'ManualStop'; notification?: StopNotification } // 2
  | { type: 'AutomaticStart' } // 3
  | { type: 'ManualStart_with_PassiveTcpEstablishment' } // 4
  | { type: 'AutomaticStart_with_PassiveTcpEstablishment' } // 5
  | { type: 'AutomaticStop'; notification?: StopNotification } // 8
  | { type: 'ConnectRetryTimer_Expires' } // 9
  | { type: 'HoldTimer_Expires' } // 10
  | { type: 'KeepaliveTimer_Expires' } // 11
  | { type: 'DelayOpenTimer_Expires' } // 12
  | { type: 'IdleHoldTimer_Expires' } // 13
  | { type: 'Tcp_CR_Acked' } // 16: our outbound connection completed
  | { type: 'TcpConnectionConfirmed' } // 17: an inbound connection was accepted
  | { type: 'TcpConnectionFails'; error?: string } // 18
  | { type: 'BGPOpen'; open: OpenMessage } // 19 (checked by the FSM; a bad one becomes 22)
  | { type: 'BGPHeaderErr'; error: BgpError } // 21
  | { type: 'BGPOpenMsgErr'; error: BgpError } // 22
  | { type: 'OpenCollisionDump' } // 23
  | { type: 'NotifMsgVerErr'; notification: NotificationMessage } // 24
  | { type: 'NotifMsg'; notification: NotificationMessage } // 25
  | { type: 'KeepAliveMsg' } // 26
  | { type: 'UpdateMsg'; update: UpdateMessage } // 27
  | { type: 'UpdateMsgErr'; error: BgpError } // 28
  | { type: 'RouteRefreshMsg'; msg: RouteRefreshMessage } // RFC 2918 (no §8.1 number)
  | { type: 'SendHoldTimer_Expires' }; // RFC 9687 §4

export type FsmEventType = FsmEvent['type'];

/** What ended a session, for logs, `bgpctl show neighbor` and the RIB. */
export interface DownReason {
  /** local: we sent a NOTIFICATION or stopped; remote: the peer sent one; transport: TCP failed. */
  origin: 'local' | 'remote' | 'transport';
  /** The RFC 4271 §8.1 event that ended it. */
  event: FsmEventType;
  /** The NOTIFICATION sent (origin local) or received (origin remote). */
  notification?: { code: number; subcode: number; data?: Buffer; shutdownMessage?: string };
  /** One line an operator understands. */
  text: string;
  /**
   * RFC 4724 §4.2 / RFC 8538 §3: the peer's routes should be kept (stale) instead of flushed:
   * GR was negotiated and the session ended without a NOTIFICATION, or with one covered by the
   * N bit on both sides that is not a Hard Reset (6/9).
   */
  gracefulRestart: boolean;
  /** With gracefulRestart: the families whose routes to keep (the peer's GR capability). */
  gracefulRestartFamilies?: Family[];
}

/** What the driver must do, in order. */
export type FsmAction =
  | { type: 'connect' } // initiate the outbound TCP connection
  | { type: 'dropTcp' } // flush what is queued (a NOTIFICATION) and close the connection
  | { type: 'send'; msg: BgpMessage }
  | { type: 'armTimer'; timer: TimerName; ms: number }
  | { type: 'stopTimer'; timer: TimerName }
  | { type: 'stateChange'; from: State; to: State; reason?: DownReason }
  | { type: 'established'; negotiated: Negotiated }
  | { type: 'sessionDown'; reason: DownReason }
  | { type: 'deliverUpdate'; update: UpdateMessage }
  | { type: 'deliverRouteRefresh'; msg: RouteRefreshMessage };

/** RFC 6608 §3: the FSM Error subcode for an unexpected message in this state. */
export function fsmErrorSubcode(state: State): number {
  switch (state) {
    case 'OpenSent':
      return 1;
    case 'OpenConfirm':
      return 2;
    case 'Established':
      return 3;
    default:
      return 0;
  }
}
