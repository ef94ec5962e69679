// The BFD I/O driver, run in its own worker thread so that its timers cannot be delayed by the
// main event loop: a 1M-route ingest or FIB load blocks the main thread for hundreds of ms, far
// more than a 300 ms detection time. The thread never returns to an event loop: it waits in
// poll(2) until the next timer deadline or a packet, at most POLL_MS so control messages from the
// main thread (read with receiveMessageOnPort) are seen promptly. It owns the sockets, the timers
// and one BfdFsm per session, and posts state changes back. See docs/bfd.md.

import { performance } from 'node:perf_hooks';
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { BfdFsm, type BfdAction, type BfdTimer } from './fsm.js';
import { AUTH_KEYED_SHA1, AUTH_METICULOUS_KEYED_SHA1, BfdState, DIAG_NAMES, decodeBfd, encodeBfd, STATE_NAMES, verifySha1 } from './packet.js';
import { BFD_MULTIHOP_PORT, BFD_SINGLE_HOP_PORT, type BfdPeerConfig, type BfdSessionView, type FromWorker, type ToWorker } from './types.js';
import { closeUdp, openUdp, pollIn, raiseThreadPriority, recvUdp, sendUdp } from './udp.js';
import { familyOf } from '../io/transport.js';

const POLL_MS = 20;
/** Nice value for the BFD thread: ahead of ordinary work on a busy node, as routers run BFD. */
const BFD_NICE = -10;

interface Session {
  cfg: BfdPeerConfig;
  /** RFC 5880 §6.7.4 shared secret, when authentication is in use. */
  key?: Buffer;
  fsm: BfdFsm;
  fd: number;
  port: number;
  deadlines: Partial<Record<BfdTimer, number>>;
  ttlDropped: number;
  upSince?: number;
  lastDown?: { at: number; diag: number };
  late: BfdSessionView['txLate'];
}

/** performance.now() is monotonic (timers); Date.now() stamps what operators read. */
const epochOf = (mono: number): number => performance.timeOrigin + mono;

export class BfdEngine {
  private readonly sessions = new Map<string, Session>();
  private readonly byDiscr = new Map<number, Session>();
  /** Receive sockets, one per family and port, opened when a session needs them. */
  private readonly receivers = new Map<string, { fd: number; port: number }>();
  private running = true;

  constructor(private readonly post: (m: FromWorker) => void) {}

  run(port: MessagePort): void {
    const prio = raiseThreadPriority(BFD_NICE);
    if ('error' in prio) this.post({ type: 'error', message: `BFD thread keeps normal priority: ${prio.error}` });
    while (this.running) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) this.control(m.message as ToWorker);
      if (!this.running) break;
      this.fireTimers(performance.now());
      // Rounded up: poll(2) takes whole ms, and a timer 1 ms late beats spinning until it is due.
      const wait = Math.min(POLL_MS, Math.max(0, Math.ceil(this.nextDeadline() - performance.now())));
      const fds = [...this.receivers.values()].map((r) => r.fd);
      for (const fd of pollIn(fds, wait)) this.drain(fd);
    }
  }

  control(m: ToWorker): void {
    switch (m.type) {
      case 'set':
        this.set(m.sessions);
        break;
      case 'query':
        this.post({ type: 'snapshot', id: m.id, sessions: [...this.sessions.values()].map((s) => this.view(s)) });
        break;
      case 'stop':
        // RFC 5882 §3.2: AdminDown tells peers this is no path failure, so their clients stay up
        // until BGP itself says goodbye.
        for (const s of this.sessions.values()) this.remove(s, true);
        for (const r of this.receivers.values()) closeUdp(r.fd);
        this.receivers.clear();
        this.running = false;
        this.post({ type: 'stopped' });
        break;
    }
  }

  private set(wanted: BfdPeerConfig[]): void {
    const keep = new Set(wanted.map((w) => w.peerAddress));
    for (const s of [...this.sessions.values()]) {
      if (!keep.has(s.cfg.peerAddress)) this.remove(s, true);
    }
    for (const w of wanted) {
      const s = this.sessions.get(w.peerAddress);
      if (
        s &&
        s.cfg.multihop === w.multihop &&
        s.cfg.localAddress === w.localAddress &&
        s.cfg.port === w.port &&
        s.cfg.listenPort === w.listenPort &&
        JSON.stringify(s.cfg.auth) === JSON.stringify(w.auth)
      ) {
        s.cfg = w;
        this.apply(s, s.fsm.handle({ type: 'SetTimers', timers: w }, performance.now()));
        continue;
      }
      if (s) this.remove(s, true);
      try {
        this.add(w);
      } catch (err) {
        this.post({ type: 'error', peerAddress: w.peerAddress, message: (err as Error).message });
      }
    }
  }

  private add(cfg: BfdPeerConfig): void {
    const family = familyOf(cfg.peerAddress);
    const port = cfg.listenPort ?? cfg.port ?? (cfg.multihop ? BFD_MULTIHOP_PORT : BFD_SINGLE_HOP_PORT);
    const rkey = `${family}/${port}`;
    if (!this.receivers.has(rkey)) this.receivers.set(rkey, openUdp({ address: family === 6 ? '::' : '0.0.0.0', port, recvTtl: true }));
    const sock = openUdp({ address: cfg.localAddress ?? (family === 6 ? '::' : '0.0.0.0'), port: 0 });
    let discr = 0;
    while (discr === 0 || this.byDiscr.has(discr)) discr = (Math.random() * 0xffffffff) >>> 0;
    const auth = cfg.auth ? { type: cfg.auth.type === 'MeticulousKeyedSHA1' ? AUTH_METICULOUS_KEYED_SHA1 : AUTH_KEYED_SHA1, keyId: cfg.auth.keyId } : undefined;
    const s: Session = {
      cfg,
      key: cfg.auth ? Buffer.from(cfg.auth.key, 'utf8') : undefined,
      fsm: new BfdFsm(discr, cfg, { auth }),
      fd: sock.fd,
      port: sock.port,
      deadlines: {},
      ttlDropped: 0,
      late: { maxMs: 0, over5ms: 0, over20ms: 0, over50ms: 0, samples: 0 },
    };
    this.sessions.set(cfg.peerAddress, s);
    this.byDiscr.set(discr, s);
    this.apply(s, s.fsm.handle({ type: 'Start' }, performance.now()));
  }

  private remove(s: Session, adminDown: boolean): void {
    if (adminDown) this.apply(s, s.fsm.handle({ type: 'AdminDown' }, performance.now()));
    closeUdp(s.fd);
    this.sessions.delete(s.cfg.peerAddress);
    this.byDiscr.delete(s.fsm.localDiscr);
  }

  private apply(s: Session, actions: BfdAction[]): void {
    const now = performance.now();
    for (const a of actions) {
      switch (a.type) {
        case 'send': {
          const port = s.cfg.port ?? (s.cfg.multihop ? BFD_MULTIHOP_PORT : BFD_SINGLE_HOP_PORT);
          sendUdp(s.fd, encodeBfd(a.packet, s.key), s.cfg.peerAddress, port);
          break;
        }
        case 'armTimer':
          s.deadlines[a.timer] = now + a.ms;
          break;
        case 'stopTimer':
          delete s.deadlines[a.timer];
          break;
        case 'stateChange': {
          const at = epochOf(now);
          if (a.to === 'Up') s.upSince = at;
          else if (a.from === 'Up') {
            s.upSince = undefined;
            s.lastDown = { at, diag: a.diag };
          }
          const lastRxAt = s.fsm.lastRxAt === undefined ? undefined : epochOf(s.fsm.lastRxAt);
          this.post({
            type: 'state',
            event: { peerAddress: s.cfg.peerAddress, from: a.from, to: a.to, diag: a.diag, remoteAdminDown: a.remoteAdminDown, at, lastRxAt },
          });
          break;
        }
      }
    }
  }

  private fireTimers(now: number): void {
    for (const s of [...this.sessions.values()]) {
      for (const t of ['detect', 'tx'] as const) {
        const d = s.deadlines[t];
        if (d === undefined || d > now || !this.sessions.has(s.cfg.peerAddress)) continue;
        delete s.deadlines[t];
        if (t === 'tx') this.noteLate(s, now - d);
        this.apply(s, s.fsm.handle({ type: t === 'tx' ? 'TxTimer_Expires' : 'DetectTimer_Expires' }, now));
      }
    }
  }

  private noteLate(s: Session, ms: number): void {
    const l = s.late;
    l.samples++;
    if (ms > l.maxMs) l.maxMs = Math.round(ms * 1000) / 1000;
    if (ms > 5) l.over5ms++;
    if (ms > 20) l.over20ms++;
    if (ms > 50) l.over50ms++;
  }

  private nextDeadline(): number {
    let next = Infinity;
    for (const s of this.sessions.values()) {
      for (const d of Object.values(s.deadlines)) if (d !== undefined && d < next) next = d;
    }
    return next;
  }

  private drain(fd: number): void {
    for (let d = recvUdp(fd), n = 0; d && n < 256; d = recvUdp(fd), n++) {
      const p = decodeBfd(d.data);
      const s = 'error' in p ? this.sessions.get(d.address) : p.yourDiscr !== 0 ? this.byDiscr.get(p.yourDiscr) : this.sessions.get(d.address);
      // RFC 5880 §6.8.6: a packet for no session of ours, or from another address than its peer's, is discarded.
      if (!s || s.cfg.peerAddress !== d.address) continue;
      if ('error' in p) {
        s.fsm.counters.discarded++;
        continue;
      }
      // RFC 5881 §5: single-hop packets "MUST" arrive with TTL/Hop Limit 255 (GTSM, RFC 5082).
      if (!s.cfg.multihop && d.ttl !== 255) {
        s.ttlDropped++;
        continue;
      }
      // RFC 5880 §6.7.4: the digest is checked here, on the bytes as received; the FSM checks the rest.
      const authenticated = p.auth !== undefined && s.key !== undefined && verifySha1(d.data, s.key);
      this.apply(s, s.fsm.handle({ type: 'Receive', packet: p, authenticated }, performance.now()));
    }
  }

  private view(s: Session): BfdSessionView {
    const f = s.fsm;
    const iso = (ms: number): string => new Date(ms).toISOString();
    return {
      peerAddress: s.cfg.peerAddress,
      localAddress: s.cfg.localAddress,
      multihop: s.cfg.multihop,
      authentication: s.cfg.auth?.type ?? 'none',
      state: f.stateName,
      remoteState: STATE_NAMES[f.remoteState],
      localDiag: DIAG_NAMES[f.localDiag] ?? String(f.localDiag),
      localDiscriminator: f.localDiscr,
      remoteDiscriminator: f.remoteDiscr,
      sourcePort: s.port,
      configured: { minTxMs: s.cfg.minTxMs, minRxMs: s.cfg.minRxMs, multiplier: s.cfg.multiplier },
      txIntervalMs: f.txIntervalUs() / 1000,
      detectionTimeMs: f.state === BfdState.Up || f.state === BfdState.Init ? f.detectionTimeUs() / 1000 : 0,
      remoteMultiplier: f.remoteDetectMult,
      remoteMinRxMs: f.remoteMinRx / 1000,
      remoteMinTxMs: f.remoteDesiredMinTx / 1000,
      pollActive: f.pollActive,
      upSince: s.upSince === undefined ? undefined : iso(s.upSince),
      lastDown: s.lastDown ? { at: iso(s.lastDown.at), diag: DIAG_NAMES[s.lastDown.diag] ?? String(s.lastDown.diag) } : undefined,
      packets: { rx: f.counters.rx, tx: f.counters.tx, discarded: f.counters.discarded, ttlDropped: s.ttlDropped },
      upTransitions: f.counters.upTransitions,
      txLate: { ...s.late },
    };
  }
}

// Entry point when loaded as a worker by manager.ts.
if (workerData && (workerData as { bfdPort?: MessagePort }).bfdPort) {
  const port = (workerData as { bfdPort: MessagePort }).bfdPort;
  new BfdEngine((m) => port.postMessage(m)).run(port);
  port.close();
}
