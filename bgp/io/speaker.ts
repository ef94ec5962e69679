// Speaker: the listen sockets and the set of configured peers. Maps inbound connections to
// sessions by remote address, keeps per-peer TCP MD5 keys on the listeners, applies GTSM to
// accepted sockets, refuses strangers, and watches event-loop delay against the hold times.

import { EventEmitter } from 'node:events';
import type { StopNotification } from '../fsm/types.js';
import type net from 'node:net';
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { SessionConfig } from '../fsm/config.js';
import type { DownReason, State } from '../fsm/types.js';
import { nullLogger, type Logger } from './log.js';
import type { Negotiated } from '../fsm/negotiate.js';
import { Session, type SessionOptions } from './session.js';
import { addressBytes, fdOf, familyOf, Listener, setGtsm } from './transport.js';
import { formatIp, formatIpv4, isIpv4Mapped } from '../codec/address.js';
import type { RouteRefreshMessage, SessionContext, UpdateMessage } from '../codec/types.js';

export interface SpeakerOptions {
  /** Listen sockets; default 0.0.0.0 and :: on `port`. `[]` listens nowhere (outbound only). */
  listen?: { address: string; port?: number }[];
  /** Default listen port, 179 (RFC 4271 §8.2.1). */
  port?: number;
  logger?: Logger;
  /** Passed to every Session (tests inject connect/random). */
  session?: Omit<SessionOptions, 'logger'>;
  /** Warn when event-loop delay exceeds this fraction of the smallest hold time (default 1/3). */
  eventLoopWarnFraction?: number;
  /** How often the event-loop delay is checked, ms (default 1000). */
  eventLoopCheckMs?: number;
  /**
   * Resolution of the event-loop delay histogram, ms (default: the check interval, at most 200).
   * Its timer wakes the process that often even when nothing happens (issue 18: at 10 ms it was
   * 100 wake-ups a second on an idle node); the warning threshold is at least 1 s (a third of
   * the smallest hold time, 3 s), so 200 ms loses nothing that matters.
   */
  eventLoopResolutionMs?: number;
}

export interface SpeakerEvents {
  established: [session: Session, info: { negotiated: Negotiated; context: SessionContext }];
  update: [session: Session, update: UpdateMessage];
  routeRefresh: [session: Session, msg: RouteRefreshMessage];
  down: [session: Session, reason: DownReason];
  stateChange: [session: Session, change: { from: State; to: State; reason?: DownReason }];
  drain: [session: Session];
  connectFailed: [session: Session, info: { error: string; timedOut: boolean; count: number }];
  /** The event loop stalled for maxDelayMs, over the threshold derived from the hold time. */
  eventLoopDelay: [info: { maxDelayMs: number; thresholdMs: number; holdTime: number }];
  /** An inbound connection from an address that is not a configured peer was closed. */
  refused: [info: { remoteAddress: string; remotePort?: number }];
}

/** Canonical text of an address (RFC 5952 for IPv6, v4-mapped IPv6 as IPv4): the peer key. */
export function canonicalAddress(addr: string): string {
  const b = addressBytes(addr);
  return isIpv4Mapped(b) ? formatIpv4(b, 12) : formatIp(b);
}

const configKey = (c: SessionConfig): string => JSON.stringify({ ...c, peerAddress: canonicalAddress(c.peerAddress), description: undefined });

export class Speaker extends EventEmitter<SpeakerEvents> {
  private readonly sessions = new Map<string, Session>();
  private readonly listenSockets: Listener[] = [];
  private readonly log: Logger;
  private histogram?: IntervalHistogram;
  private loopTimer?: NodeJS.Timeout;
  private resolutionMs = 200;
  private readonly refusedAt = new Map<string, number>();
  /** What each peer was configured with, minus the description (for updatePeer). */
  private readonly configs = new Map<string, string>();

  constructor(private readonly opts: SpeakerOptions = {}) {
    super();
    this.log = opts.logger ?? nullLogger;
  }

  /** Opens the listen sockets and starts the event-loop delay watch. */
  async start(): Promise<void> {
    const port = this.opts.port ?? 179;
    const want = this.opts.listen ?? [{ address: '0.0.0.0' }, { address: '::' }];
    for (const l of want) {
      try {
        const listener = await Listener.open({ address: l.address, port: l.port ?? port }, (s) => this.onInbound(s));
        // e.g. EMFILE on accept: log, keep serving (an unhandled 'error' would end the process).
        listener.server.on('error', (err) => this.log.error({ address: l.address, err: err.message }, 'listen socket error'));
        this.listenSockets.push(listener);
        for (const s of this.sessions.values()) if (s.cfg.password) listener.setMd5Key(s.cfg.peerAddress, s.cfg.password);
        this.log.info({ address: l.address, port: l.port ?? port }, 'listening');
      } catch (err) {
        // A host without IPv6 must still run IPv4 sessions; an explicit address must work.
        if (this.opts.listen === undefined && l.address === '::') {
          this.log.warn({ err: (err as Error).message }, 'no IPv6 listen socket');
          continue;
        }
        throw err;
      }
    }
    const every = this.opts.eventLoopCheckMs ?? 1000;
    this.resolutionMs = this.opts.eventLoopResolutionMs ?? Math.min(every, 200);
    this.histogram = monitorEventLoopDelay({ resolution: this.resolutionMs });
    this.histogram.enable();
    let last = performance.now();
    this.loopTimer = setInterval(() => {
      // The check's own lateness is a second measure: the histogram's timer can miss a stall
      // that happened inside a timer callback of the same loop turn.
      const now = performance.now();
      const late = now - last - every;
      last = now;
      this.checkEventLoop(late);
    }, every);
    this.loopTimer.unref();
  }

  /** Stops every session (with `notification`, default Cease 6/2) and closes the listeners. */
  async close(notification?: StopNotification): Promise<void> {
    for (const s of this.sessions.values()) s.stop(notification);
    if (this.loopTimer) clearInterval(this.loopTimer);
    this.histogram?.disable();
    await Promise.all(this.listenSockets.map((l) => l.close()));
    this.listenSockets.length = 0;
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }

  /** The bound listen addresses (port 0 resolves to the kernel's choice). */
  listenAddresses(): { address: string; port: number }[] {
    return this.listenSockets.map((l) => l.server.address() as net.AddressInfo).map((a) => ({ address: a.address, port: a.port }));
  }

  /** Adds a peer and (unless start is false) starts its session. Throws on a duplicate or bad config. */
  addPeer(cfg: SessionConfig, opts: { start?: boolean } = {}): Session {
    const key = canonicalAddress(cfg.peerAddress);
    if (this.sessions.has(key)) throw new Error(`peer ${key} already configured`);
    const s = new Session({ ...cfg, peerAddress: key }, { ...this.opts.session, logger: this.log });
    this.sessions.set(key, s);
    this.configs.set(key, configKey(cfg));
    s.on('established', (info) => this.emit('established', s, info));
    s.on('update', (u) => this.emit('update', s, u));
    s.on('routeRefresh', (m) => this.emit('routeRefresh', s, m));
    s.on('down', (r) => this.emit('down', s, r));
    s.on('stateChange', (c) => this.emit('stateChange', s, c));
    s.on('drain', () => this.emit('drain', s));
    s.on('connectFailed', (i) => this.emit('connectFailed', s, i));
    if (cfg.password) for (const l of this.listenSockets) l.setMd5Key(key, cfg.password);
    if (opts.start !== false) s.start();
    return s;
  }

  /** Stops (default Hard Reset of Cease 6/3 Peer De-configured, RFC 8538/4486) and forgets a peer. */
  removePeer(key: string, notification?: StopNotification, why = 'peer removed from the config'): boolean {
    const k = canonicalAddress(key);
    const s = this.sessions.get(k);
    if (!s) return false;
    // RFC 8538 §5: a de-configured peer must not keep our routes as stale for its restart
    // time, so the Cease 6/3 (RFC 4486) goes inside a Hard Reset.
    s.stop({ ...(notification ?? { code: 6, subcode: 9, hardResetOf: { code: 6, subcode: 3 } }), why });
    s.removeAllListeners();
    this.sessions.delete(k);
    this.configs.delete(k);
    if (s.cfg.password) for (const l of this.listenSockets) l.setMd5Key(k, undefined);
    return true;
  }

  /**
   * Applies a changed peer config. Only `description` changes in place; anything else restarts
   * the session with Cease 6/6 Other Configuration Change (RFC 4486). Returns the live Session.
   */
  updatePeer(cfg: SessionConfig): Session {
    const key = canonicalAddress(cfg.peerAddress);
    const old = this.sessions.get(key);
    if (!old) return this.addPeer(cfg);
    if (this.configs.get(key) === configKey(cfg)) {
      old.cfg.description = cfg.description;
      return old;
    }
    this.removePeer(key, { code: 6, subcode: 6 }, 'peer configuration changed');
    return this.addPeer(cfg);
  }

  peers(): Session[] {
    return [...this.sessions.values()];
  }

  peer(key: string): Session | undefined {
    return this.sessions.get(canonicalAddress(key));
  }

  private onInbound(sock: net.Socket): void {
    const remote = sock.remoteAddress ? canonicalAddress(sock.remoteAddress) : '';
    const s = this.sessions.get(remote);
    if (!s) {
      // Not a configured peer: close at once, no NOTIFICATION (nothing to say to a stranger).
      sock.destroy();
      this.emit('refused', { remoteAddress: remote, remotePort: sock.remotePort });
      const now = Date.now();
      if ((this.refusedAt.get(remote) ?? 0) + 60_000 < now) {
        if (this.refusedAt.size > 1000) this.refusedAt.clear();
        this.refusedAt.set(remote, now);
        this.log.warn({ remote, port: sock.remotePort }, 'connection from an address that is not a configured peer refused');
      }
      return;
    }
    try {
      // RFC 5082: the minimum TTL is per peer, so it is set on the accepted socket.
      if (s.cfg.ttlSecurity) setGtsm(fdOf(sock), familyOf(sock.localAddress ?? remote), s.cfg.ttlSecurity);
    } catch (err) {
      this.log.error({ peer: remote, err: (err as Error).message }, 'cannot set GTSM on accepted socket');
      sock.destroy();
      return;
    }
    if (!s.acceptConnection(sock)) {
      this.log.debug({ peer: remote, state: s.state }, 'inbound connection not wanted now; closed');
      sock.destroy();
    }
  }

  private checkEventLoop(lateMs: number): void {
    const h = this.histogram;
    if (!h) return;
    // The histogram records the time between two of its ticks, so a stall shows as the stall
    // plus up to one resolution: take that off, or an idle loop would read as delayed.
    const maxDelayMs = Math.max(h.max / 1e6 - this.resolutionMs, lateMs);
    h.reset();
    let holdTime = Infinity;
    for (const s of this.sessions.values()) {
      const n = s.negotiated;
      if (n && n.holdTime > 0) holdTime = Math.min(holdTime, n.holdTime);
    }
    if (holdTime === Infinity) return;
    const thresholdMs = holdTime * 1000 * (this.opts.eventLoopWarnFraction ?? 1 / 3);
    if (maxDelayMs > thresholdMs) {
      this.log.warn({ maxDelayMs: Math.round(maxDelayMs), thresholdMs, holdTime }, 'event loop blocked for a large part of the hold time; sessions may drop');
      this.emit('eventLoopDelay', { maxDelayMs, thresholdMs, holdTime });
    }
  }
}
