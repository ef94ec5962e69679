// The RFC 4271 §8 finite state machine for one BGP connection, sans I/O.
// Written as OpenBGPD's bgp_fsm(): a switch on state, then on event; everything that happens on
// entering a state lives in changeState(). The clock is an input (`now`), timers are actions.
// Deviations from the RFC text are marked "Tern:" and listed in docs/sessions.md.
// One file on purpose (~500 lines): RFC 4271 §8.2.2 is one table, and it reads best beside the RFC.

import type { ResolvedConfig } from './config.js';
import { encodeShutdownCommunication } from '../codec/index.js';
import { fsmErrorSubcode, type DownReason, type FsmAction, type FsmEvent, type State, type StopNotification, type TimerName } from './types.js';
import { buildOpen, negotiate, type Negotiated } from './negotiate.js';
import { BgpError, ErrCode, MsgType, type BgpMessage, type OpenMessage } from '../codec/types.js';

export * from './types.js';

/** How a transition to Idle counts for DampPeerOscillations (RFC 4271 §8.1.1). */
type IdleKind = 'stop' | 'error' | 'quiet';

const CEASE_ADMIN_SHUTDOWN = 2; // RFC 4486
const CEASE_COLLISION = 7; // RFC 4486
const CEASE_HARD_RESET = 9; // RFC 8538
const CEASE_BFD_DOWN = 10; // RFC 9384

export interface FsmOptions {
  /** Uniform [0,1) source for RFC 4271 §10 jitter; injectable for replay tests. */
  random?: () => number;
}

export class Fsm {
  state: State = 'Idle';
  /** RFC 4271 §8: ConnectRetryCounter. */
  connectRetryCounter = 0;
  /** Set on a valid BGPOpen; kept until the connection is dropped. */
  negotiated?: Negotiated;
  remoteOpen?: OpenMessage;
  /** AllowAutomaticStart: on after ManualStart, off after ManualStop. */
  autoStart = false;
  /** Consecutive flaps without a stable period; drives the IdleHoldTime backoff. */
  flaps = 0;
  /** The IdleHoldTime armed on the last flap, ms. */
  idleHoldMs = 0;
  private establishedAt?: number;
  private readonly running = new Set<TimerName>();
  private out: FsmAction[] = [];
  private now = 0;
  private readonly random: () => number;

  constructor(
    readonly cfg: ResolvedConfig,
    opts: FsmOptions = {},
  ) {
    this.random = opts.random ?? Math.random;
  }

  isRunning(t: TimerName): boolean {
    return this.running.has(t);
  }

  /** RFC 9687 §3: SendHoldTime = max(8 minutes, 2 x HoldTime), or the configured override. */
  get sendHoldMs(): number {
    if (this.cfg.sendHoldTimeMs > 0) return this.cfg.sendHoldTimeMs;
    const hold = this.negotiated ? this.negotiated.holdTime * 1000 : this.cfg.openHoldTimeMs;
    return Math.max(480_000, 2 * hold);
  }

  /** Feeds one event; returns the actions to perform in order. */
  handle(ev: FsmEvent, now: number): FsmAction[] {
    this.out = [];
    this.now = now;
    // A timer event for a timer we stopped is a driver race, not a peer error: drop it.
    const timer = TIMER_OF_EVENT[ev.type];
    if (timer) {
      if (!this.running.has(timer)) return [];
      this.running.delete(timer);
    }
    switch (this.state) {
      case 'Idle':
        this.idle(ev);
        break;
      case 'Connect':
      case 'Active':
        this.connectOrActive(ev);
        break;
      case 'OpenSent':
        this.openSent(ev);
        break;
      case 'OpenConfirm':
        this.openConfirm(ev);
        break;
      case 'Established':
        this.established(ev);
        break;
    }
    return this.out;
  }

  // ---- RFC 4271 §8.2.2 Idle ----------------------------------------------------------------------
  private idle(ev: FsmEvent): void {
    switch (ev.type) {
      case 'ManualStart':
      case 'ManualStart_with_PassiveTcpEstablishment':
        // An operator start is not delayed by damping.
        this.autoStart = true;
        this.flaps = 0;
        this.stop('idleHold');
        this.connectRetryCounter = 0;
        this.start(ev.type === 'ManualStart_with_PassiveTcpEstablishment' || this.cfg.passive);
        break;
      case 'AutomaticStart':
      case 'AutomaticStart_with_PassiveTcpEstablishment':
        // RFC 4271 §8.1.1 DampPeerOscillations: automatic starts wait for the IdleHoldTimer.
        if (this.running.has('idleHold')) break;
        this.autoStart = true;
        this.start(ev.type === 'AutomaticStart_with_PassiveTcpEstablishment' || this.cfg.passive);
        break;
      case 'IdleHoldTimer_Expires':
        if (this.autoStart) this.start(this.cfg.passive);
        break;
      case 'TcpConnectionConfirmed':
      case 'Tcp_CR_Acked':
        // Idle refuses connections (RFC 4271 §8.2.2 "Idle state ... refuses all incoming connections").
        this.act({ type: 'dropTcp' });
        break;
      case 'ManualStop':
        this.autoStart = false;
        this.stop('idleHold');
        break;
      default:
        break; // RFC 4271 §8.2.2: any other event in Idle is ignored
    }
  }

  private start(passive: boolean): void {
    this.stop('idleHold');
    this.changeState(passive ? 'Active' : 'Connect');
  }

  // ---- RFC 4271 §8.2.2 Connect and Active (one function: they differ only in a few rows) ---------------
  private connectOrActive(ev: FsmEvent): void {
    const s = this.state;
    switch (ev.type) {
      case 'ManualStart':
      case 'AutomaticStart':
      case 'ManualStart_with_PassiveTcpEstablishment':
      case 'AutomaticStart_with_PassiveTcpEstablishment':
        break; // ignored
      case 'ManualStop':
        this.autoStart = false;
        this.connectRetryCounter = 0;
        this.toIdle('stop', this.down('local', ev.type, ev.notification?.why ?? 'stopped by operator'));
        break;
      case 'ConnectRetryTimer_Expires':
        // Connect: drop the attempt and try again; Active: try now (-> Connect).
        if (s === 'Connect') this.act({ type: 'dropTcp' });
        this.stop('delayOpen');
        this.changeState('Connect');
        break;
      case 'DelayOpenTimer_Expires':
        this.changeState('OpenSent');
        break;
      case 'Tcp_CR_Acked':
      case 'TcpConnectionConfirmed':
        this.stop('connectRetry');
        if (this.cfg.delayOpenTime > 0) {
          this.arm('delayOpen', this.cfg.delayOpenTime * 1000);
        } else {
          this.changeState('OpenSent');
        }
        break;
      case 'TcpConnectionFails':
        if (s === 'Connect' || this.running.has('delayOpen')) {
          // Tern: as OpenBGPD, a failed attempt waits in Active for the ConnectRetryTimer
          // (RFC: Connect -> Idle, which would need an outside AutomaticStart to leave).
          this.stop('delayOpen');
          this.act({ type: 'dropTcp' });
          this.arm('connectRetry', this.connectRetryMs());
          if (s !== 'Active') this.changeState('Active');
        } else {
          this.toIdle('error', this.down('transport', ev.type, `TCP connection failed: ${ev.error ?? ''}`));
        }
        break;
      case 'BGPOpen':
        if (!this.running.has('delayOpen')) {
          this.toIdle('error', this.down('local', ev.type, `OPEN received in ${s}`));
          break;
        }
        // RFC 4271 §8.2.2 (DelayOpen): answer with OPEN and KEEPALIVE and go straight to OpenConfirm.
        this.stop('delayOpen');
        if (!this.acceptOpen(ev.open)) break;
        this.send(buildOpen(this.cfg));
        this.changeState('OpenConfirm');
        break;
      case 'BGPHeaderErr':
      case 'BGPOpenMsgErr':
        // SendNOTIFICATIONwithoutOPEN is on: tell the peer what was wrong.
        this.sendError(ev.error);
        this.toIdle('error', this.downSent(ev.type, ev.error));
        break;
      case 'NotifMsgVerErr':
        this.toIdle(this.running.has('delayOpen') ? 'quiet' : 'error', this.downReceived(ev.type, ev.notification));
        break;
      case 'NotifMsg':
        this.toIdle('error', this.downReceived(ev.type, ev.notification));
        break;
      default:
        // Events 8, 10-11, 13, 23, 26-28, route refresh, send hold: back to Idle without a word.
        this.toIdle('error', this.down('local', ev.type, `unexpected ${ev.type} in ${s}`));
        break;
    }
  }

  // ---- RFC 4271 §8.2.2 OpenSent ----------------------------------------------------------------------
  private openSent(ev: FsmEvent): void {
    switch (ev.type) {
      case 'BGPOpen':
        this.stop('delayOpen');
        this.stop('connectRetry');
        if (!this.acceptOpen(ev.open)) break;
        this.changeState('OpenConfirm');
        break;
      case 'TcpConnectionFails':
        // RFC 4271 §8.2.2: close, restart the ConnectRetryTimer, listen: -> Active.
        this.act({ type: 'dropTcp' });
        this.stop('hold');
        this.arm('connectRetry', this.connectRetryMs());
        this.changeState('Active');
        break;
      default:
        this.common(ev);
    }
  }

  // ---- RFC 4271 §8.2.2 OpenConfirm -------------------------------------------------------------------
  private openConfirm(ev: FsmEvent): void {
    switch (ev.type) {
      case 'KeepaliveTimer_Expires':
        this.send({ type: MsgType.KEEPALIVE });
        this.armKeepalive();
        break;
      case 'KeepAliveMsg':
        this.changeState('Established');
        break;
      case 'TcpConnectionFails':
        this.toIdle('error', this.down('transport', ev.type, 'TCP connection closed in OpenConfirm'));
        break;
      default:
        this.common(ev);
    }
  }

  // ---- RFC 4271 §8.2.2 Established -------------------------------------------------------------------
  private established(ev: FsmEvent): void {
    switch (ev.type) {
      case 'KeepaliveTimer_Expires':
        this.send({ type: MsgType.KEEPALIVE });
        this.armKeepalive();
        break;
      case 'KeepAliveMsg':
        this.armHold();
        break;
      case 'UpdateMsg':
        // RFC 4271 §4.4/§8.2.2: every UPDATE restarts the HoldTimer.
        this.armHold();
        this.act({ type: 'deliverUpdate', update: ev.update });
        break;
      case 'RouteRefreshMsg':
        // Tern: any message is proof of life, ROUTE-REFRESH included (RFC 2918 is silent).
        this.armHold();
        this.act({ type: 'deliverRouteRefresh', msg: ev.msg });
        break;
      case 'UpdateMsgErr':
        this.sendError(ev.error);
        this.toIdle('error', this.downSent(ev.type, ev.error));
        break;
      case 'TcpConnectionFails':
        this.toIdle('error', this.down('transport', ev.type, `TCP connection closed${ev.error ? `: ${ev.error}` : ''}`));
        break;
      default:
        this.common(ev);
    }
  }

  /** Rows that OpenSent, OpenConfirm and Established share (RFC 4271 §8.2.2). */
  private common(ev: FsmEvent): void {
    const s = this.state;
    switch (ev.type) {
      case 'ManualStart':
      case 'AutomaticStart':
      case 'ManualStart_with_PassiveTcpEstablishment':
      case 'AutomaticStart_with_PassiveTcpEstablishment':
      case 'Tcp_CR_Acked':
      case 'TcpConnectionConfirmed':
        // A second connection is tracked by the session layer with its own Fsm (RFC 4271 §6.8).
        break;
      case 'ManualStop':
      case 'AutomaticStop': {
        const n = ev.notification ?? { code: ErrCode.CEASE, subcode: CEASE_ADMIN_SHUTDOWN };
        // RFC 9003 text goes in 6/2 and 6/4 directly, inside the hardened Cease for 6/9 (RFC 8538 §3).
        const direct = n.code === ErrCode.CEASE && (n.subcode === 2 || n.subcode === 4);
        const hard = n.code === ErrCode.CEASE && n.subcode === CEASE_HARD_RESET;
        const data = n.data ?? (n.shutdownMessage !== undefined && direct ? encodeShutdownCommunication(n.shutdownMessage) : Buffer.alloc(0));
        this.send({
          type: MsgType.NOTIFICATION,
          code: n.code,
          subcode: n.subcode,
          data,
          shutdownMessage: direct || hard ? n.shutdownMessage : undefined,
          hardResetOf: hard ? n.hardResetOf : undefined,
        });
        const reason: DownReason = {
          origin: 'local',
          event: ev.type,
          notification: { code: n.code, subcode: n.subcode, data, shutdownMessage: n.shutdownMessage },
          text:
            n.why ??
            (ev.type === 'ManualStop'
              ? 'stopped by operator'
              : n.code === ErrCode.CEASE && n.subcode === CEASE_BFD_DOWN
                ? 'BFD Down (Cease 6/10, RFC 9384)'
                : 'stopped automatically'),
          gracefulRestart: false,
        };
        if (ev.type === 'ManualStop') {
          this.autoStart = false;
          this.connectRetryCounter = 0;
          this.toIdle('stop', reason);
        } else {
          this.toIdle('error', reason);
        }
        break;
      }
      case 'HoldTimer_Expires': {
        const e = new BgpError(ErrCode.HOLD_TIMER_EXPIRED, 0, 'hold timer expired');
        this.sendError(e);
        this.toIdle('error', this.downSent(ev.type, e));
        break;
      }
      case 'SendHoldTimer_Expires': {
        // RFC 9687 §4: try to say why (it will rarely get through), then drop.
        const e = new BgpError(ErrCode.SEND_HOLD_TIMER_EXPIRED, 0, 'send hold timer expired: peer is not reading');
        this.sendError(e);
        this.toIdle('error', this.downSent(ev.type, e));
        break;
      }
      case 'BGPHeaderErr':
      case 'BGPOpenMsgErr':
      case 'UpdateMsgErr':
        this.sendError(ev.error);
        this.toIdle('error', this.downSent(ev.type, ev.error));
        break;
      case 'OpenCollisionDump': {
        const e = new BgpError(ErrCode.CEASE, CEASE_COLLISION, 'connection collision resolution (RFC 4271 §6.8)');
        this.sendError(e);
        // Tern: losing a collision is not a flap; it does not feed the IdleHold backoff.
        this.toIdle('quiet', this.downSent(ev.type, e));
        break;
      }
      case 'NotifMsgVerErr':
        this.toIdle('quiet', this.downReceived(ev.type, ev.notification));
        break;
      case 'NotifMsg': {
        // The peer dumping its side of a collision is not a flap either.
        const n = ev.notification;
        const quiet = n.code === ErrCode.CEASE && n.subcode === CEASE_COLLISION;
        this.toIdle(quiet ? 'quiet' : 'error', this.downReceived(ev.type, n));
        break;
      }
      case 'TcpConnectionFails':
        this.toIdle('error', this.down('transport', ev.type, `TCP connection closed in ${s}`));
        break;
      default: {
        // RFC 6608: an event this state does not expect is an FSM Error with the state subcode.
        const e = new BgpError(ErrCode.FSM, fsmErrorSubcode(s), `unexpected ${ev.type} in ${s}`);
        this.sendError(e);
        this.toIdle('error', this.downSent(ev.type, e));
      }
    }
  }

  /** Validates and negotiates a received OPEN; on failure sends the NOTIFICATION (event 22). */
  private acceptOpen(open: OpenMessage): boolean {
    try {
      this.negotiated = negotiate(open, this.cfg);
      this.remoteOpen = open;
      return true;
    } catch (err) {
      if (!(err instanceof BgpError)) throw err;
      this.sendError(err);
      this.toIdle('error', this.downSent('BGPOpenMsgErr', err));
      return false;
    }
  }

  // ---- entering a state ---------------------------------------------------------------------
  /** Everything that happens on entering a state (OpenBGPD change_state()). */
  private changeState(next: State, reason?: DownReason): void {
    const prev = this.state;
    this.state = next;
    switch (next) {
      case 'Idle':
        for (const t of ['connectRetry', 'hold', 'keepalive', 'delayOpen'] as TimerName[]) this.stop(t);
        this.act({ type: 'dropTcp' });
        break;
      case 'Connect':
        this.arm('connectRetry', this.connectRetryMs());
        this.act({ type: 'connect' });
        break;
      case 'Active':
        // A passive peer never connects, so its ConnectRetryTimer would only spin.
        if (!this.cfg.passive && !this.running.has('connectRetry')) this.arm('connectRetry', this.connectRetryMs());
        break;
      case 'OpenSent':
        this.stop('connectRetry');
        this.send(buildOpen(this.cfg));
        // RFC 4271 §8.2.2: "sets the HoldTimer to a large value ... 4 minutes is suggested".
        this.arm('hold', this.cfg.openHoldTimeMs);
        break;
      case 'OpenConfirm':
        this.stop('connectRetry');
        this.send({ type: MsgType.KEEPALIVE });
        this.armKeepalive();
        this.armHold();
        break;
      case 'Established':
        this.establishedAt = this.now;
        this.armHold();
        break;
    }
    if (prev !== next) this.act({ type: 'stateChange', from: prev, to: next, reason });
    if (next === 'Established' && this.negotiated) this.act({ type: 'established', negotiated: this.negotiated });
    if (prev === 'Established' && reason) this.act({ type: 'sessionDown', reason });
  }

  /** Leaves for Idle; `error` counts a flap and arms the damped IdleHoldTimer (RFC 4271 §8.1.1). */
  private toIdle(kind: IdleKind, reason: DownReason): void {
    if (kind === 'error') {
      this.connectRetryCounter++;
      // A session that stayed up for the stable period starts the backoff over.
      if (this.establishedAt !== undefined && this.now - this.establishedAt >= this.cfg.stableTimeMs) this.flaps = 0;
      this.flaps++;
    }
    this.establishedAt = undefined;
    this.changeState('Idle', reason);
    this.negotiated = undefined;
    this.remoteOpen = undefined;
    if (kind !== 'stop' && this.autoStart) {
      const base = this.cfg.idleHoldTimeMs * 2 ** Math.max(0, this.flaps - 1);
      this.idleHoldMs = Math.min(base, this.cfg.maxIdleHoldTimeMs);
      this.arm('idleHold', this.idleHoldMs);
    }
  }

  // ---- helpers ------------------------------------------------------------------------------
  private act(a: FsmAction): void {
    this.out.push(a);
  }
  private send(msg: BgpMessage): void {
    this.act({ type: 'send', msg });
  }
  private sendError(e: BgpError): void {
    this.send({ type: MsgType.NOTIFICATION, code: e.code, subcode: e.subcode, data: e.data });
  }
  private arm(timer: TimerName, ms: number): void {
    this.running.add(timer);
    this.act({ type: 'armTimer', timer, ms });
  }
  private stop(timer: TimerName): void {
    if (!this.running.delete(timer)) return;
    this.act({ type: 'stopTimer', timer });
  }
  /** RFC 4271 §10: jitter ConnectRetry and Keepalive by a factor uniform in [0.75, 1.0]. */
  private jitter(ms: number): number {
    return this.cfg.noJitter ? ms : Math.round(ms * (0.75 + 0.25 * this.random()));
  }
  private connectRetryMs(): number {
    return this.jitter(this.cfg.connectRetryTime * 1000);
  }
  private armHold(): void {
    const hold = this.negotiated?.holdTime ?? 0;
    if (hold > 0) this.arm('hold', hold * 1000);
    else this.stop('hold'); // RFC 4271 §4.2: a Hold Time of zero means no HoldTimer
  }
  private armKeepalive(): void {
    const ka = this.negotiated?.keepaliveTime ?? 0;
    if (ka > 0) this.arm('keepalive', this.jitter(ka * 1000));
  }

  private gr(n?: { code: number; subcode: number }): boolean {
    const gr = this.negotiated?.gracefulRestart;
    // RFC 4724 §4.2: only families the peer listed (it preserves their state) are retained; a
    // capability without families (a helper-only peer, as FRR sends by default) keeps nothing.
    if (!gr || gr.families.length === 0 || this.state !== 'Established') return false;
    if (!n) return true;
    // RFC 8538 §3-4: with the N bit on both sides, NOTIFICATIONs other than Hard Reset are GR events.
    return gr.notification && !(n.code === ErrCode.CEASE && n.subcode === CEASE_HARD_RESET);
  }
  private withFamilies(r: DownReason): DownReason {
    if (r.gracefulRestart) r.gracefulRestartFamilies = this.negotiated?.gracefulRestart?.families.map((f) => f.family);
    return r;
  }
  private down(origin: DownReason['origin'], event: FsmEvent['type'], text: string): DownReason {
    return this.withFamilies({ origin, event, text, gracefulRestart: origin === 'transport' && this.gr() });
  }
  private downSent(event: FsmEvent['type'], e: BgpError): DownReason {
    const n = { code: e.code, subcode: e.subcode, data: e.data };
    return this.withFamilies({ origin: 'local', event, notification: n, text: e.message, gracefulRestart: this.gr(n) });
  }
  private downReceived(event: FsmEvent['type'], n: StopNotification & { data?: Buffer }): DownReason {
    const notification = { code: n.code, subcode: n.subcode, data: n.data, shutdownMessage: n.shutdownMessage };
    const text = `NOTIFICATION ${n.code}/${n.subcode} received${n.shutdownMessage ? `: ${n.shutdownMessage}` : ''}`;
    return this.withFamilies({ origin: 'remote', event, notification, text, gracefulRestart: this.gr(n) });
  }
}

const TIMER_OF_EVENT: Partial<Record<FsmEvent['type'], TimerName>> = {
  ConnectRetryTimer_Expires: 'connectRetry',
  HoldTimer_Expires: 'hold',
  KeepaliveTimer_Expires: 'keepalive',
  DelayOpenTimer_Expires: 'delayOpen',
  IdleHoldTimer_Expires: 'idleHold',
};
