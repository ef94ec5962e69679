// Session: drives one peer's FSM with real sockets and timers (a thin driver around bgp/fsm/fsm.ts).
// A peer has one connection slot, or two while an inbound and an outbound connection race
// (RFC 4271 §6.8): each slot has its own Fsm; collisions are resolved when an OPEN arrives.
// One file on purpose (~500 lines): the connection slots, their collision (RFC 4271 §6.8) and the
// driver's reaction to FSM actions share one lifecycle; split, each half would reach into the other.

import { EventEmitter } from 'node:events';
import type { StopNotification } from '../fsm/types.js';
import type net from 'node:net';
import { encodeMessage, notificationName } from '../codec/index.js';
import { eventOfMessage, messageTypeOf } from '../fsm/dispatch.js';
import { resolveConfig, type ResolvedConfig, type SessionConfig } from '../fsm/config.js';
import { Fsm, STATE_RANK, type DownReason, type FsmAction, type FsmEvent, type State, type TimerName } from '../fsm/fsm.js';
import { collisionWinner, type Direction } from '../fsm/collision.js';
import { nullLogger, type Logger } from './log.js';
import { LogLimiter } from './log-limit.js';
import type { Negotiated } from '../fsm/negotiate.js';
import { countMessage, emptyStats, noteError, type SessionStats } from '../fsm/stats.js';
import { connectTcp, type ConnectOptions, type Connecting } from './transport.js';
import { Timers, Wire } from './connection.js';
import {
  DEFAULT_CONTEXT,
  MsgType,
  afiOfFamily,
  familyOfAfi,
  type Afi,
  type Family,
  type BgpMessage,
  type RouteRefreshMessage,
  type SessionContext,
  type UpdateMessage,
} from '../codec/types.js';

export interface SessionEvents {
  established: [info: { negotiated: Negotiated; context: SessionContext }];
  update: [update: UpdateMessage];
  routeRefresh: [msg: RouteRefreshMessage];
  down: [reason: DownReason];
  stateChange: [change: { from: State; to: State; reason?: DownReason }];
  /** The outbound queue fell below half its bound after sendUpdates() returned false. */
  drain: [];
  /**
   * An outbound connection attempt failed: refused, unreachable, or no answer before the
   * ConnectRetryTimer (`timedOut`). `count` is the run of failures with the same error.
   */
  connectFailed: [info: { error: string; timedOut: boolean; count: number }];
}

export interface SessionOptions {
  logger?: Logger;
  /** How outbound connections are made; defaults to transport.connectTcp. */
  connect?: (o: ConnectOptions) => Connecting;
  random?: () => number;
}

/** One connection slot: an Fsm, its timers and (when connected) its wire. */
interface Slot {
  fsm: Fsm;
  direction: Direction;
  timers: Timers<TimerName>;
  wire?: Wire;
  attempt?: Connecting;
  ctx: SessionContext;
  discarded: boolean;
}

const EXPIRES: Record<TimerName, FsmEvent['type']> = {
  connectRetry: 'ConnectRetryTimer_Expires',
  hold: 'HoldTimer_Expires',
  keepalive: 'KeepaliveTimer_Expires',
  delayOpen: 'DelayOpenTimer_Expires',
  idleHold: 'IdleHoldTimer_Expires',
};

export class Session extends EventEmitter<SessionEvents> {
  readonly cfg: ResolvedConfig;
  /** What the OPEN exchange agreed while Established. */
  negotiated?: Negotiated;
  private primary: Slot;
  private secondary?: Slot;
  private started = false;
  private reported: State = 'Idle';
  private overBound = false;
  /** While overBound: 'drain' when the queue is down to this many bytes (half the window). */
  private drainAt = Infinity;
  private readonly log: Logger;
  /** Warnings the peer can make us repeat at will, rate limited per reason (log-limit.ts). */
  private readonly warnings: LogLimiter;
  private readonly connectFn: (o: ConnectOptions) => Connecting;
  private readonly s: SessionStats;
  private readonly pending: [Slot, FsmEvent][] = [];
  private feeding = false;

  constructor(
    config: SessionConfig,
    private readonly opts: SessionOptions = {},
  ) {
    super();
    this.cfg = resolveConfig(config);
    this.log = opts.logger ?? nullLogger;
    this.warnings = new LogLimiter(this.log);
    this.connectFn = opts.connect ?? connectTcp;
    this.primary = this.newSlot('outbound');
    this.s = emptyStats(this.cfg);
  }

  get key(): string {
    return this.cfg.peerAddress;
  }

  /** The most advanced state of the (at most two) connections. */
  get state(): State {
    const p = this.primary.fsm.state;
    const s = this.secondary?.fsm.state;
    return s && STATE_RANK[s] > STATE_RANK[p] ? s : p;
  }

  /** The socket of the connection in use (for diagnostics and socket-option checks). */
  get socket(): net.Socket | undefined {
    return this.primary.wire?.socket;
  }

  get outQueueLength(): number {
    return this.primary.wire?.queuedMessages ?? 0;
  }

  /** OutQ: bytes queued in Tern plus bytes node holds for the socket, not yet in the kernel. */
  get outQueueBytes(): number {
    const w = this.primary.wire;
    return w ? w.queuedBytes + w.socket.writableLength : 0;
  }

  /** RFC 4271 ManualStart (ManualStart_with_PassiveTcpEstablishment for a passive peer). */
  start(): void {
    this.started = true;
    this.feed(this.primary, { type: this.cfg.passive ? 'ManualStart_with_PassiveTcpEstablishment' : 'ManualStart' });
  }

  /** RFC 4271 ManualStop; sends `notification` (default Cease 6/2) when a connection is open. */
  stop(notification?: StopNotification): void {
    this.started = false;
    if (this.secondary) this.feed(this.secondary, { type: 'ManualStop', notification });
    this.feed(this.primary, { type: 'ManualStop', notification });
  }

  /** `bgpctl clear neighbor`: Cease 6/4 Administrative Reset (RFC 4486), then start again at once. */
  reset(shutdownMessage?: string): void {
    this.stop({ code: 6, subcode: 4, shutdownMessage });
    this.start();
  }

  /**
   * RFC 5882 §4.3: BFD says the path to the peer failed; the session goes down at once with
   * Cease 6/10 "BFD Down" (RFC 9384) and restarts with the usual backoff. With `graceful`
   * (BIRD's `bfd graceful`) and GR negotiated, the connection is closed without a NOTIFICATION
   * instead: a GR event (RFC 4724 §4.2), the peer's routes kept stale. Only an Established
   * session is torn down; one still connecting has nothing to lose. Returns whether it acted.
   */
  bfdDown(graceful: boolean): boolean {
    if (this.primary.fsm.state !== 'Established') return false;
    const ev: FsmEvent =
      graceful && this.negotiated?.gracefulRestart
        ? { type: 'TcpConnectionFails', error: 'BFD Down (graceful restart)' }
        : { type: 'AutomaticStop', notification: { code: 6, subcode: 10 } };
    this.feed(this.primary, ev);
    return true;
  }

  /** Asks the peer to resend its routes for `family` (RFC 2918); false when not possible. */
  requestRefresh(family: Family): boolean {
    const n = this.negotiated;
    if (!n || !n.routeRefresh || !n.families.includes(family)) return false;
    return this.send({ type: MsgType.ROUTE_REFRESH, afi: afiOfFamily(family), safi: 1, subtype: 0 });
  }

  /** Sends one message on the Established connection; UPDATEs queue behind other messages. */
  send(msg: BgpMessage): boolean {
    const slot = this.primary;
    if (slot.fsm.state !== 'Established' || !slot.wire) return false;
    countMessage(this.s, 'out', msg.type);
    slot.wire.write(encodeMessage(msg, slot.ctx), msg.type === MsgType.UPDATE ? false : true);
    return this.checkBound(this.cfg.maxOutQueueBytes);
  }

  /**
   * Queues encoded UPDATEs (from the codec's packer). Returns false when the queue is over
   * `window` bytes (at most `maxOutQueueBytes`): the producer should wait for 'drain', emitted
   * once the queue is down to half of it. A producer that can hold its messages itself (the
   * RIB's shared stream) passes a small window, so that what waits for a slow socket waits
   * there, once for every peer, not copied into each session's queue. Ignored unless
   * Established (the RIB sends the whole Adj-RIB-Out again on 'established').
   */
  sendUpdates(bufs: Buffer[], window = this.cfg.maxOutQueueBytes): boolean {
    const slot = this.primary;
    if (slot.fsm.state !== 'Established' || !slot.wire) return false;
    slot.wire.writeMany(bufs);
    // The RIB's output is UPDATEs plus the RFC 7313 BoRR/EoRR markers around a refresh:
    // count each by its header's type octet.
    for (const b of bufs) countMessage(this.s, 'out', b[18] as MsgType);
    return this.checkBound(Math.min(window, this.cfg.maxOutQueueBytes));
  }

  /** The Speaker hands over an inbound connection from this peer's address. */
  acceptConnection(sock: net.Socket): boolean {
    const p = this.primary;
    // RFC 4271 §8.2.2: Idle refuses connections (stopped, or waiting out the IdleHoldTimer).
    if (!this.started || p.fsm.state === 'Idle') return false;
    if (p.fsm.state === 'Active' && !p.wire) {
      p.direction = 'inbound';
      this.attach(p, sock);
      this.feed(p, { type: 'TcpConnectionConfirmed' });
      return true;
    }
    if (this.secondary) return false;
    // RFC 4271 §6.8: keep both and let the OPEN exchange decide. The new slot inherits the backoff.
    const s = this.newSlot('inbound');
    s.fsm.flaps = p.fsm.flaps;
    this.secondary = s;
    this.attach(s, sock);
    this.feed(s, { type: 'AutomaticStart_with_PassiveTcpEstablishment' });
    this.feed(s, { type: 'TcpConnectionConfirmed' });
    return true;
  }

  /** Counters and state for `bgpctl show neighbor` (plain, JSON-safe data). */
  stats(): SessionStats {
    const w = this.primary.wire;
    return {
      ...this.s,
      state: this.state,
      localAddress: w?.socket.localAddress,
      localPort: w?.socket.localPort,
      remoteAddress: w?.socket.remoteAddress,
      remotePort: w?.socket.remotePort,
      outQueueBytes: this.outQueueBytes,
      outQueueMessages: this.outQueueLength,
      connectRetryCounter: this.primary.fsm.connectRetryCounter,
      flaps: this.primary.fsm.flaps,
      idleHoldMs: this.primary.fsm.idleHoldMs,
      negotiated: this.negotiated,
    };
  }

  /** Closes everything at once without NOTIFICATIONs (process exit). */
  destroy(): void {
    this.started = false;
    for (const slot of [this.primary, this.secondary]) if (slot) this.discard(slot);
  }

  // ---- driving the FSM ----------------------------------------------------------------------
  private newSlot(direction: Direction): Slot {
    const fsm = new Fsm(this.cfg, { random: this.opts.random });
    return { fsm, direction, timers: new Timers<TimerName>(), ctx: DEFAULT_CONTEXT, discarded: false };
  }

  private feed(slot: Slot, ev: FsmEvent): void {
    this.pending.push([slot, ev]);
    if (this.feeding) return;
    this.feeding = true;
    try {
      for (let item = this.pending.shift(); item; item = this.pending.shift()) {
        const [sl, e] = item;
        if (sl.discarded) continue;
        for (const a of sl.fsm.handle(e, Date.now())) this.run(sl, a);
        this.reconcile();
      }
    } finally {
      this.feeding = false;
    }
  }

  private run(slot: Slot, a: FsmAction): void {
    switch (a.type) {
      case 'connect':
        this.connect(slot);
        break;
      case 'dropTcp':
        slot.attempt?.abort();
        slot.attempt = undefined;
        slot.wire?.close(true);
        slot.wire = undefined;
        break;
      case 'send':
        if (!slot.wire) break;
        countMessage(this.s, 'out', a.msg.type);
        if (a.msg.type === MsgType.NOTIFICATION) noteError(this.s, 'sent', a.msg);
        slot.wire.write(encodeMessage(a.msg, slot.ctx), true);
        break;
      case 'armTimer':
        slot.timers.arm(a.timer, a.ms, () => {
          // ConnectRetryTimer with the TCP handshake still pending: the peer never answered
          // (the sign of a TCP MD5 password mismatch, RFC 2385 §2: the segment is dropped silently).
          if (a.timer === 'connectRetry' && slot.attempt) this.connectFailed('no answer (connection attempt timed out)', true);
          this.feed(slot, { type: EXPIRES[a.timer] } as FsmEvent);
        });
        break;
      case 'stopTimer':
        slot.timers.stop(a.timer);
        break;
      case 'stateChange':
        if (a.to === 'OpenConfirm' && slot.fsm.negotiated) {
          // The OPEN exchange is done: UPDATEs are read and written with what was agreed.
          slot.ctx = slot.fsm.negotiated.context;
          if (slot.wire) {
            slot.wire.framer.extended = slot.fsm.negotiated.extendedMessage;
            slot.wire.maxMessageLength = slot.fsm.negotiated.extendedMessage ? 65535 : 4096;
          }
        } else if (a.to === 'Idle') {
          slot.ctx = DEFAULT_CONTEXT;
        }
        if (a.reason) {
          // Leaving Established is the daemon's one 'down' line; a session that fails before it
          // (an OPEN error, a NOTIFICATION in OpenSent) has only this line to say why.
          const level = a.from === 'Established' ? 'debug' : 'info';
          this.log[level]({ peer: this.key, from: a.from, reason: a.reason.text }, 'session left ' + a.from);
        }
        this.reportState(a.reason);
        break;
      case 'established':
        if (slot !== this.primary) this.promote(slot);
        this.negotiated = a.negotiated;
        this.s.establishedCount++;
        this.s.lastConnectError = undefined;
        this.log.debug({ peer: this.key, holdTime: a.negotiated.holdTime, families: a.negotiated.families }, 'session Established');
        this.emit('established', { negotiated: a.negotiated, context: a.negotiated.context });
        break;
      case 'sessionDown':
        this.negotiated = undefined;
        this.overBound = false;
        this.drainAt = Infinity;
        this.s.lastDown = { at: new Date().toISOString(), reason: a.reason.text, origin: a.reason.origin };
        this.emit('down', a.reason);
        break;
      case 'deliverUpdate':
        this.emit('update', a.update);
        break;
      case 'deliverRouteRefresh': {
        // RFC 2918 §4: a ROUTE-REFRESH for a family not negotiated is ignored.
        const fam = a.msg.afi === 1 || a.msg.afi === 2 ? familyOfAfi(a.msg.afi as Afi) : undefined;
        if (fam && a.msg.safi === 1 && this.negotiated?.families.includes(fam)) this.emit('routeRefresh', a.msg);
        else this.warnings.warn('refresh-family', { peer: this.key, afi: a.msg.afi, safi: a.msg.safi }, 'ROUTE-REFRESH for a family not negotiated, ignored');
        break;
      }
    }
  }

  /** RFC 4271 §6.8 bookkeeping after every event: drop dead slots, promote the survivor. */
  private reconcile(): void {
    const s = this.secondary;
    if (!s) return;
    const p = this.primary;
    if (s.fsm.state === 'Idle') {
      this.discard(s);
      this.secondary = undefined;
    } else if (p.fsm.state === 'Idle' || (s.fsm.state === 'Established' && p.fsm.state !== 'Established')) {
      this.promote(s);
    }
    this.reportState();
  }

  private promote(s: Slot): void {
    const old = this.primary;
    this.primary = s;
    this.secondary = undefined;
    // RFC 4271 §6.8: a connection still in the OPEN exchange loses to the Established one; say so with
    // Cease 6/7 (a peer treats that as a collision, not a flap) rather than just closing.
    const st = old.fsm.state;
    if (st === 'OpenSent' || st === 'OpenConfirm') {
      for (const a of old.fsm.handle({ type: 'OpenCollisionDump' }, Date.now())) this.run(old, a);
    }
    this.discard(old);
  }

  private discard(slot: Slot): void {
    slot.discarded = true;
    slot.timers.stopAll();
    slot.attempt?.abort();
    slot.attempt = undefined;
    slot.wire?.close(true);
    slot.wire = undefined;
  }

  private reportState(reason?: DownReason): void {
    const now = this.state;
    if (now === this.reported) return;
    const from = this.reported;
    this.reported = now;
    this.s.since = new Date().toISOString();
    this.emit('stateChange', { from, to: now, reason });
  }

  private connect(slot: Slot): void {
    slot.direction = 'outbound';
    slot.attempt?.abort();
    slot.wire?.close(false);
    slot.wire = undefined;
    const c = this.cfg;
    const attempt = this.connectFn({
      host: c.peerAddress,
      port: c.peerPort,
      localAddress: c.localAddress,
      md5Key: c.password,
      gtsmHops: c.ttlSecurity,
      ttl: c.ttl,
    });
    slot.attempt = attempt;
    attempt.promise.then(
      (sock) => {
        if (slot.attempt !== attempt || slot.discarded) {
          sock.destroy();
          return;
        }
        slot.attempt = undefined;
        this.attach(slot, sock);
        this.feed(slot, { type: 'Tcp_CR_Acked' });
      },
      (err: Error) => {
        if (slot.attempt !== attempt || slot.discarded) return;
        slot.attempt = undefined;
        this.log.debug({ peer: this.key, err: err.message }, 'connect failed');
        this.connectFailed(err.message, false);
        this.feed(slot, { type: 'TcpConnectionFails', error: err.message });
      },
    );
  }

  private connectFailed(error: string, timedOut: boolean): void {
    const last = this.s.lastConnectError;
    const count = last?.error === error ? last.count + 1 : 1;
    this.s.lastConnectError = { at: new Date().toISOString(), error, count };
    this.emit('connectFailed', { error, timedOut, count });
  }

  private attach(slot: Slot, sock: net.Socket): void {
    slot.wire = new Wire(
      sock,
      {
        onMessage: (m) => this.onMessage(slot, m),
        onFramingError: (e) => this.feed(slot, { type: 'BGPHeaderErr', error: e }),
        onClosed: (e) => {
          slot.wire = undefined;
          this.feed(slot, { type: 'TcpConnectionFails', error: e?.message });
        },
        onSendHoldExpired: () => this.feed(slot, { type: 'SendHoldTimer_Expires' }),
        onProgress: () => this.checkDrain(),
        onOversize: (b, max) => {
          this.s.oversizeDropped++;
          this.warnings.warn(
            'oversize',
            { peer: this.key, type: b[18], length: b.length, max },
            `not sent: a ${b.length}-byte message exceeds the peer's ${max}-byte maximum (RFC 8654 §4)`,
          );
        },
      },
      () => slot.fsm.sendHoldMs,
    );
  }

  private onMessage(slot: Slot, buf: Buffer): void {
    const ev = eventOfMessage(buf, slot.ctx);
    countMessage(this.s, 'in', messageTypeOf(ev));
    if (ev.type === 'NotifMsg' || ev.type === 'NotifMsgVerErr') {
      const n = ev.notification;
      noteError(this.s, 'received', n);
      this.log.warn(
        { peer: this.key, code: n.code, subcode: n.subcode, notification: notificationName(n.code, n.subcode), text: n.shutdownMessage },
        'NOTIFICATION received',
      );
    }
    if (ev.type === 'BGPOpen') this.onOpen(slot, ev);
    else this.feed(slot, ev);
  }

  /**
   * RFC 4271 §6.8 on receipt of an OPEN: if the other connection is in OpenConfirm, the one
   * initiated by the speaker with the higher BGP Identifier survives (RFC 6286 §2.3: equal
   * Identifiers -> higher AS). Against an Established session the new connection is closed,
   * unless the peer has Graceful Restart: then it restarted, and RFC 4724 §4.2 says the old
   * session goes (its routes are kept stale) and the new one is used.
   */
  private onOpen(slot: Slot, ev: FsmEvent & { type: 'BGPOpen' }): void {
    const other = slot === this.primary ? this.secondary : this.primary;
    const os = other?.fsm.state;
    if (other && os === 'OpenConfirm') {
      const keep = collisionWinner(this.cfg.routerId, ev.open.bgpId, this.cfg.localAs, this.cfg.peerAs);
      const loser = slot.direction === keep ? other : slot;
      this.log.info({ peer: this.key, keep, peerId: ev.open.bgpId }, 'connection collision');
      this.feed(loser, { type: 'OpenCollisionDump' });
      if (loser === slot) return;
    } else if (other && os === 'Established') {
      if (other.fsm.negotiated?.gracefulRestart) {
        this.log.info({ peer: this.key }, 'peer reconnected with graceful restart; old session closed');
        this.feed(other, { type: 'TcpConnectionFails', error: 'peer restarted (RFC 4724 §4.2)' });
      } else {
        this.feed(slot, { type: 'OpenCollisionDump' });
        return;
      }
    }
    this.feed(slot, ev);
  }

  private checkBound(window: number): boolean {
    if (this.outQueueBytes > window) {
      this.overBound = true;
      this.drainAt = Math.min(this.drainAt, window / 2);
    }
    return !this.overBound;
  }

  private checkDrain(): void {
    if (this.overBound && this.outQueueBytes <= this.drainAt) {
      this.drainAt = Infinity;
      this.overBound = false;
      this.emit('drain');
    }
  }
}
