// BFD coupled to BGP sessions (RFC 5882): the daemon's only BFD wiring. Turns the planned peers
// with `bfd` settings into BFD sessions (bgp/bfd, run in a worker thread) and acts on their state:
// - Up -> Down (not the peer's AdminDown, RFC 5882 §3.2): the BGP session goes down at once,
//   Cease 6/10 "BFD Down" (RFC 9384), or as a graceful-restart event with `graceful` (BIRD's
//   `bfd graceful`); Session.bfdDown does it.
// - `strict`: the BGP session is not started until BFD is Up, and is held again after a BFD
//   failure. Without it (the default, as BIRD and FRR), BGP does not wait for BFD: a peer that
//   runs no BFD still peers, and only a BFD session that was Up and failed takes BGP down.
import { BfdManager } from '../../bgp/bfd/manager.js';
import { DIAG_NAMES } from '../../bgp/bfd/packet.js';
import type { BfdPeerConfig, BfdSessionView, BfdStateEvent } from '../../bgp/bfd/types.js';
import type { Session } from '../../bgp/io/session.js';
import type { PeerConfig } from '../../peers/index.js';
import type { Logger } from '../log.js';

/** What the coupling needs of a daemon peer entry. */
export interface BfdPeerEntry {
  cfg: PeerConfig;
  session: Session;
  adminDown: boolean;
}

export interface BfdCouplingOptions {
  log: Logger;
  /** The daemon's live peer entries. */
  peers: () => Iterable<BfdPeerEntry>;
  /** Called after BFD took a session down, with the event (metrics). */
  onFailure?: (e: BfdStateEvent) => void;
}

export class BfdCoupling {
  readonly manager = new BfdManager();
  /** Strict-mode sessions not started because BFD is not Up (peer addresses). */
  private readonly held = new Set<string>();

  constructor(private readonly o: BfdCouplingOptions) {
    this.manager.on('state', (e) => this.onState(e));
    this.manager.on('problem', (p) => o.log.error({ component: 'bfd', peer: p.peerAddress }, p.message));
  }

  /** Whether a new session may start now; a strict one waits for BFD Up (then onState starts it). */
  mayStart(pc: PeerConfig): boolean {
    if (!pc.bfd?.strict || this.manager.state(pc.peerAddress) === 'Up') {
      this.held.delete(pc.peerAddress);
      return true;
    }
    this.held.add(pc.peerAddress);
    return false;
  }

  /** After every plan change: the BFD sessions the planned peers ask for, whole. */
  plan(): void {
    const want: BfdPeerConfig[] = [];
    for (const e of this.o.peers()) {
      const b = e.cfg.bfd;
      if (!b) continue;
      if (b.auth && (!b.auth.key || Buffer.byteLength(b.auth.key) > 20)) {
        // Never run BFD unauthenticated, or with a key cut short, when a key was asked for.
        this.o.log.error(
          { component: 'bfd', peer: e.cfg.peerAddress },
          `BFD for ${e.cfg.peerAddress} not started: its authentication key (Secret) is ${b.auth.key ? 'longer than 20 bytes (RFC 5880 §4.4)' : 'missing'}`,
        );
        continue;
      }
      want.push({
        peerAddress: e.cfg.peerAddress,
        localAddress: e.cfg.localAddress,
        multihop: b.multihop,
        minTxMs: b.minTxMs,
        minRxMs: b.minRxMs,
        multiplier: b.multiplier,
        auth: b.auth,
      });
    }
    for (const a of [...this.held]) if (!want.some((w) => w.peerAddress === a)) this.held.delete(a);
    this.manager.set(want);
  }

  query(): Promise<BfdSessionView[]> {
    return this.manager.query();
  }

  close(): Promise<void> {
    return this.manager.close();
  }

  private entry(peer: string): BfdPeerEntry | undefined {
    for (const e of this.o.peers()) if (e.cfg.peerAddress === peer) return e;
    return undefined;
  }

  private onState(ev: BfdStateEvent): void {
    const e = this.entry(ev.peerAddress);
    const diag = DIAG_NAMES[ev.diag] ?? String(ev.diag);
    const silentMs = ev.lastRxAt !== undefined ? Math.round(ev.at - ev.lastRxAt) : undefined;
    const fields = {
      component: 'bfd',
      peer: ev.peerAddress,
      from: ev.from,
      to: ev.to,
      diag,
      remoteAdminDown: ev.remoteAdminDown,
      at: new Date(ev.at).toISOString(),
      silentMs,
    };
    if (ev.to === 'Up' || ev.from === 'Up') this.o.log.info(fields, `BFD ${ev.peerAddress} ${ev.from} -> ${ev.to}${ev.diag ? ` (${diag})` : ''}`);
    else this.o.log.debug(fields, `BFD ${ev.peerAddress} ${ev.from} -> ${ev.to}`);
    if (!e) return;
    if (ev.to === 'Up') {
      if (this.held.delete(ev.peerAddress) && !e.adminDown) {
        this.o.log.info({ component: 'bfd', peer: ev.peerAddress }, `BFD Up: starting the strict-mode BGP session with ${ev.peerAddress}`);
        e.session.start();
      }
      return;
    }
    if (ev.from !== 'Up') return;
    // RFC 5882 §3.2: "the receipt of AdminDown ... MUST NOT" be treated as a path failure.
    if (ev.remoteAdminDown) return;
    const graceful = e.cfg.bfd?.graceful ?? false;
    if (e.session.bfdDown(graceful)) {
      this.o.log.warn(
        { ...fields, graceful },
        `BFD Down for ${ev.peerAddress} (${diag}): BGP session taken down${graceful ? ' as a graceful restart' : ' (Cease 6/10)'}`,
      );
      this.o.onFailure?.(ev);
    }
    if (e.cfg.bfd?.strict) {
      e.session.stop();
      this.held.add(ev.peerAddress);
    }
  }
}
