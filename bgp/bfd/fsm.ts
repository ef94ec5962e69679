// One BFD session's state machine (RFC 5880 §6.2, §6.8), asynchronous mode only, sans I/O:
// `handle(event, now) -> actions`, the clock is an input, timers and packets are actions.
// No Demand mode and no Echo function (RFC 5880 §6.4, §6.6: both optional); Tern always
// takes the Active role (RFC 5880 §6.1). Deviations are marked "Tern:" and listed in docs/bfd.md.

import { BfdState, Diag, STATE_NAMES, type BfdPacket, type StateName } from './packet.js';

/** Operator timers, in milliseconds (Calico-style config speaks ms; the wire speaks µs). */
export interface BfdTimers {
  /** bfd.DesiredMinTxInterval once Up. */
  minTxMs: number;
  /** bfd.RequiredMinRxInterval. */
  minRxMs: number;
  /** bfd.DetectMult. */
  multiplier: number;
}

export type BfdTimer = 'tx' | 'detect';

/** RFC 5880 §6.8.6 reception, §6.8.7 transmission, §6.8.4 detection, §6.8.16 administrative control. */
export type BfdEvent =
  | { type: 'Start' }
  /** `authenticated`: the driver checked the packet's digest with the session's key (RFC 5880 §6.7.4). */
  | { type: 'Receive'; packet: BfdPacket; authenticated?: boolean }
  | { type: 'TxTimer_Expires' }
  | { type: 'DetectTimer_Expires' }
  | { type: 'SetTimers'; timers: BfdTimers }
  | { type: 'AdminDown' }
  | { type: 'AdminUp' };

export type BfdAction =
  | { type: 'send'; packet: BfdPacket }
  | { type: 'armTimer'; timer: BfdTimer; ms: number }
  | { type: 'stopTimer'; timer: BfdTimer }
  /** `remoteAdminDown`: the peer said AdminDown; RFC 5882 §3.2 says clients must not treat that as a failure. */
  | { type: 'stateChange'; from: StateName; to: StateName; diag: number; remoteAdminDown: boolean };

/** RFC 5880 §6.8.3: "not less than one second" while the session is not Up. */
export const SLOW_TX_US = 1_000_000;

export interface BfdFsmOptions {
  /** Uniform [0,1) source for the RFC 5880 §6.8.7 jitter; injectable for replay tests. */
  random?: () => number;
  /** RFC 5880 §6.7.4: Auth Type 4 (Keyed SHA1) or 5 (Meticulous Keyed SHA1) and the Key ID. */
  auth?: { type: number; keyId: number };
}

export class BfdFsm {
  // RFC 5880 §6.8.1 state variables (intervals in µs).
  state: BfdState = BfdState.Down;
  remoteState: BfdState = BfdState.Down;
  remoteDiscr = 0;
  localDiag = 0;
  /** "initialized to 1": until the peer speaks we may transmit. */
  remoteMinRx = 1;
  remoteDesiredMinTx = 0;
  remoteDetectMult = 0;
  desiredMinTx = SLOW_TX_US;
  requiredMinRx: number;
  detectMult: number;
  /** A Poll Sequence (RFC 5880 §6.5) is in progress: periodic packets carry P until an F arrives. */
  pollActive = false;
  /** RFC 5880 §6.8.3: the intervals in force while a Poll Sequence announces new ones. */
  txBasis = SLOW_TX_US;
  rxBasis: number;
  /** Counters for `bgpctl show bfd`. */
  readonly counters = { rx: 0, tx: 0, discarded: 0, upTransitions: 0 };
  lastRxAt?: number;
  // RFC 5880 §6.8.1 authentication state.
  private xmitAuthSeq: number;
  private rcvAuthSeq = 0;
  private authSeqKnown = false;
  private readonly auth?: { type: number; keyId: number };
  private timers: BfdTimers;
  private armedTxInterval = 0;
  private out: BfdAction[] = [];
  private now = 0;
  private readonly random: () => number;

  constructor(
    readonly localDiscr: number,
    timers: BfdTimers,
    opts: BfdFsmOptions = {},
  ) {
    this.timers = timers;
    this.requiredMinRx = timers.minRxMs * 1000;
    this.rxBasis = this.requiredMinRx;
    this.detectMult = timers.multiplier;
    this.desiredMinTx = Math.max(timers.minTxMs * 1000, SLOW_TX_US);
    this.txBasis = this.desiredMinTx;
    this.random = opts.random ?? Math.random;
    this.auth = opts.auth;
    // RFC 5880 §6.8.1: "bfd.XmitAuthSeq ... MUST be initialized to a random 32 bit value."
    this.xmitAuthSeq = Math.floor(this.random() * 0x100000000) >>> 0;
  }

  get stateName(): StateName {
    return STATE_NAMES[this.state];
  }

  /** RFC 5880 §6.8.7: max(bfd.DesiredMinTxInterval in force, bfd.RemoteMinRxInterval); 0 = no periodic packets. */
  txIntervalUs(): number {
    return this.remoteMinRx === 0 ? 0 : Math.max(this.txBasis, this.remoteMinRx);
  }

  /** RFC 5880 §6.8.4 Asynchronous mode: remote Detect Mult x max(our RequiredMinRx in force, their DesiredMinTx). */
  detectionTimeUs(): number {
    return this.remoteDetectMult * Math.max(this.rxBasis, this.remoteDesiredMinTx);
  }

  handle(ev: BfdEvent, now: number): BfdAction[] {
    this.now = now;
    this.out = [];
    switch (ev.type) {
      case 'Start':
        this.sendPeriodic();
        break;
      case 'TxTimer_Expires':
        this.sendPeriodic();
        break;
      case 'Receive':
        this.receive(ev.packet, ev.authenticated ?? false);
        break;
      case 'DetectTimer_Expires':
        // RFC 5880 §6.8.1 bfd.RemoteDiscr: "If a period of a Detection Time passes without the receipt of
        // a valid, authenticated BFD packet from the remote system, this variable MUST be set to zero."
        this.remoteDiscr = 0;
        this.remoteState = BfdState.Down;
        // Tern: RFC 5880 §6.8.1 clears bfd.AuthSeqKnown after twice the Detection Time; once is stricter
        // only in accepting any sequence number again sooner, which a restarted peer needs.
        this.authSeqKnown = false;
        // RFC 5880 §6.8.4: "the session has gone down" -- from Init or Up, with Diag 1.
        if (this.state === BfdState.Init || this.state === BfdState.Up) this.changeState(BfdState.Down, Diag.ControlDetectionTimeExpired);
        break;
      case 'SetTimers':
        this.setTimers(ev.timers);
        break;
      case 'AdminDown':
        // RFC 5880 §6.8.16: AdminDown, Diag 7, no detection; keep sending so the peer learns it.
        if (this.state !== BfdState.AdminDown) {
          this.stopTimer('detect');
          this.changeState(BfdState.AdminDown, Diag.AdministrativelyDown);
        }
        break;
      case 'AdminUp':
        if (this.state === BfdState.AdminDown) this.changeState(BfdState.Down, Diag.None);
        break;
    }
    return this.out;
  }

  /** RFC 5880 §6.8.6 from "If the Your Discriminator field is zero..." on; the codec made the earlier checks. */
  private receive(p: BfdPacket, authenticated: boolean): void {
    if (!this.acceptable(p, authenticated)) {
      this.discard();
      return;
    }
    this.counters.rx++;
    this.lastRxAt = this.now;
    this.remoteDiscr = p.myDiscr;
    this.remoteState = p.state;
    this.remoteMinRx = p.requiredMinRx;
    this.remoteDesiredMinTx = p.desiredMinTx;
    this.remoteDetectMult = p.detectMult;
    // "If the Final (F) bit is set and there is a Poll Sequence in progress, the Poll Sequence is
    // terminated" -- and the announced intervals take effect (RFC 5880 §6.8.3).
    if (p.final && this.pollActive) {
      this.pollActive = false;
      this.txBasis = this.desiredMinTx;
      this.rxBasis = this.requiredMinRx;
    }
    this.retimeTx();
    // "If bfd.SessionState is AdminDown: Discard the packet."
    if (this.state === BfdState.AdminDown) return;
    // RFC 5880 §6.8.4: every valid packet restarts the Detection Time.
    this.armTimer('detect', this.detectionTimeUs() / 1000);
    if (p.state === BfdState.AdminDown) {
      if (this.state !== BfdState.Down) this.changeState(BfdState.Down, Diag.NeighborSignaledSessionDown);
    } else if (this.state === BfdState.Down) {
      if (p.state === BfdState.Down) this.changeState(BfdState.Init, Diag.None);
      else if (p.state === BfdState.Init) this.changeState(BfdState.Up, Diag.None);
    } else if (this.state === BfdState.Init) {
      if (p.state === BfdState.Init || p.state === BfdState.Up) this.changeState(BfdState.Up, Diag.None);
    } else if (p.state === BfdState.Down) {
      // Up and the peer went Down.
      this.changeState(BfdState.Down, Diag.NeighborSignaledSessionDown);
    }
    // "If the packet was received with the Poll (P) bit set, ... transmit a BFD Control packet
    // with the Final (F) bit set as soon as practicable, without respect to the transmission timer."
    if (p.poll) this.send(true);
  }

  /** RFC 5880 §6.7.4 receive: type and key match, the digest verified (by the driver), sequence in window. */
  private authentic(type: number, keyId: number, seq: number, digestOk: boolean): boolean {
    const a = this.auth;
    if (!a || type !== a.type || keyId !== a.keyId || !digestOk) return false;
    if (this.authSeqKnown) {
      // Keyed: seq in [RcvAuthSeq, RcvAuthSeq + 3 x DetectMult]; Meticulous: strictly greater (mod 2^32).
      const ahead = (seq - this.rcvAuthSeq) >>> 0;
      const lo = a.type === 5 ? 1 : 0;
      if (ahead < lo || ahead > 3 * this.detectMult) return false;
    }
    this.rcvAuthSeq = seq;
    this.authSeqKnown = true;
    return true;
  }

  private setTimers(t: BfdTimers): void {
    this.timers = t;
    this.detectMult = t.multiplier;
    const desired = this.state === BfdState.Up ? t.minTxMs * 1000 : Math.max(t.minTxMs * 1000, SLOW_TX_US);
    const required = t.minRxMs * 1000;
    if (desired === this.desiredMinTx && required === this.requiredMinRx) return;
    this.announce(desired, required);
  }

  /**
   * RFC 5880 §6.8.3: new intervals. While Up they are announced by a Poll Sequence; an increased transmit
   * interval and a reduced receive interval only take effect when it ends, so the peer's
   * detection time is never shorter than our real transmit interval.
   */
  private announce(desired: number, required: number, retime = true): void {
    this.desiredMinTx = desired;
    this.requiredMinRx = required;
    if (this.state === BfdState.Up) {
      this.pollActive = true;
      if (desired < this.txBasis) this.txBasis = desired;
      if (required > this.rxBasis) this.rxBasis = required;
    } else {
      this.txBasis = desired;
      this.rxBasis = required;
    }
    if (retime) this.retimeTx();
  }

  /** Everything that happens on entering a state lives here (as in bgp/fsm/fsm.ts). */
  private changeState(to: BfdState, diag: number): void {
    const from = this.state;
    this.state = to;
    this.localDiag = diag;
    if (to === BfdState.Up) this.counters.upTransitions++;
    const remoteAdminDown = this.remoteState === BfdState.AdminDown;
    this.out.push({ type: 'stateChange', from: STATE_NAMES[from], to: STATE_NAMES[to], diag, remoteAdminDown });
    // RFC 5880 §6.8.3: fast transmission only while Up, at least one second otherwise.
    const fastTx = this.timers.minTxMs * 1000;
    if (to === BfdState.Up && fastTx !== this.desiredMinTx) {
      this.announce(fastTx, this.requiredMinRx, false);
    } else if (from === BfdState.Up) {
      this.pollActive = false;
      this.announce(Math.max(fastTx, SLOW_TX_US), this.requiredMinRx, false);
    }
    if (to === BfdState.Down && diag === Diag.ControlDetectionTimeExpired) this.stopTimer('detect');
    // Tern: tell the peer at once rather than at the next periodic packet (as BIRD and FRR do),
    // unless it asked for no packets at all (RequiredMinRx 0, RFC 5880 §6.8.7).
    if (this.txIntervalUs() === 0) return;
    this.send(false);
    this.armTx();
  }

  private sendPeriodic(): void {
    if (this.txIntervalUs() === 0) {
      // RFC 5880 §6.8.7: "MUST NOT transmit periodic packets if bfd.RemoteMinRxInterval is zero".
      this.stopTimer('tx');
      return;
    }
    this.send(false);
    this.armTx();
  }

  private send(final: boolean): void {
    this.counters.tx++;
    this.out.push({
      type: 'send',
      packet: {
        version: 1,
        diag: this.localDiag,
        state: this.state,
        // RFC 5880 §6.5: "MUST NOT have both the Poll (P) and Final (F) bits set".
        poll: this.pollActive && !final,
        final,
        cpi: false,
        demand: false,
        multipoint: false,
        detectMult: this.detectMult,
        myDiscr: this.localDiscr,
        yourDiscr: this.remoteDiscr,
        desiredMinTx: this.desiredMinTx,
        requiredMinRx: this.requiredMinRx,
        requiredMinEchoRx: 0,
        // RFC 5880 §6.7.4: the driver fills in the digest. Meticulous needs a new number in every packet;
        // Keyed SHA1 may repeat one, but a fresh one each time costs nothing and is never wrong.
        auth: this.auth
          ? { type: this.auth.type, keyId: this.auth.keyId, seq: (this.xmitAuthSeq = (this.xmitAuthSeq + 1) >>> 0), value: Buffer.alloc(0) }
          : undefined,
      },
    });
  }

  /** RFC 5880 §6.8.7 jitter: 75-100% of the interval, 75-90% when bfd.DetectMult is 1. */
  private armTx(): void {
    const us = this.txIntervalUs();
    if (us === 0) {
      this.stopTimer('tx');
      return;
    }
    this.armedTxInterval = us;
    const f = this.detectMult === 1 ? 0.75 + 0.15 * this.random() : 1 - 0.25 * this.random();
    this.armTimer('tx', Math.floor(us * f) / 1000);
  }

  /** A shorter interval takes effect now rather than after the (longer) timer already armed. */
  private retimeTx(): void {
    const us = this.txIntervalUs();
    if (us === 0 || (this.armedTxInterval !== 0 && us < this.armedTxInterval)) this.armTx();
  }

  /** The discard rules of RFC 5880 §6.8.6 that the codec cannot apply (they need the session). */
  private acceptable(p: BfdPacket, authenticated: boolean): boolean {
    // "If the Your Discriminator field is zero and the State field is not Down or AdminDown, discard."
    if (p.yourDiscr === 0 && p.state !== BfdState.Down && p.state !== BfdState.AdminDown) return false;
    // The driver demultiplexed by Your Discriminator; a nonzero one that is not ours never gets here.
    if (p.yourDiscr !== 0 && p.yourDiscr !== this.localDiscr) return false;
    // "If the A bit is set and no authentication is in use (bfd.AuthType is zero), discard";
    // "If the A bit is clear and authentication is in use, discard."
    if (!p.auth !== !this.auth) return false;
    return !(this.auth && p.auth && !this.authentic(p.auth.type, p.auth.keyId, p.auth.seq, authenticated));
  }
  private discard(): void {
    this.counters.discarded++;
  }
  private armTimer(timer: BfdTimer, ms: number): void {
    this.out.push({ type: 'armTimer', timer, ms });
  }
  private stopTimer(timer: BfdTimer): void {
    this.out.push({ type: 'stopTimer', timer });
  }
}
