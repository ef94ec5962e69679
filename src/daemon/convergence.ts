// Restart convergence (RFC 4724 §4.1, restarting speaker): ternd started with routes of its
// own in the kernel, so it said "I restarted" (R bit), holds the kernel as it is and defers
// advertising until the RIB has converged again. This file decides when each wait ends; the
// hold itself is the FIB's (fib/feed.ts), the End-of-RIB bookkeeping the session events'.
import type { Logger } from '../log.js';
import type { PeerEntry } from './peer-entry.js';
import type { RouteFlow } from './routes.js';
import type { WiringOptions } from './wiring.js';

export interface ConvergenceContext {
  peers(): Iterable<PeerEntry>;
  routes: RouteFlow;
  pump(e: PeerEntry): void;
  /** The session options new sessions are built from (the R bit lives there). */
  wiring: WiringOptions;
  log: Logger;
  /** The FIB is reconciled: the daemon's 'fibSynced' event. */
  onSynced(): void;
}

export class Convergence {
  /** RFC 4724 §4.1: set while ternd restarts with routes in the kernel, until converged. */
  selectionDeferred: boolean;
  /** The startup reconcile has been started (the kernel is written from then on). */
  fibSynced = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly c: ConvergenceContext,
    restarting: boolean,
  ) {
    this.selectionDeferred = restarting;
    c.wiring.restarting = restarting;
  }

  /** Starts the waits: none when the kernel held nothing of ours, else bounded by `timeoutS`. */
  begin(routesInKernel: number, timeoutS: number): void {
    if (routesInKernel === 0) {
      void this.syncFib('no routes of ours in the kernel at start');
      return;
    }
    this.c.log.info({ component: 'fib', routes: routesInKernel }, 'kernel holds routes from a previous run: keeping them until every peer sent End-of-RIB');
    this.timer = setTimeout(() => void this.syncFib('End-of-RIB wait timed out'), timeoutS * 1000);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * RFC 4724 §4.1, two waits after a restart with routes in the kernel:
   * - selection deferral (when we may advertise again) ends with End-of-RIB from every peer
   *   except those that restarted too (R bit) or do not do graceful restart: they will not wait
   *   for us, and two restarting speakers waiting for each other would sit out the timer;
   * - the kernel is reconciled only once every peer, restarting or not, sent End-of-RIB, so a
   *   route a restarting peer has not re-sent yet is not deleted and re-added.
   * Both are bounded by --fib-sync-timeout.
   */
  check(): void {
    if (this.fibSynced) return;
    let advertise = true;
    let complete = true;
    for (const e of this.c.peers()) {
      // A session held down for its password will not come up by waiting: it does not hold
      // back the restart's convergence (it is a /readyz reason instead).
      if (e.cfg.passwordError) continue;
      if (e.session.state !== 'Established') return;
      const allEor = (e.session.negotiated?.families ?? []).every((f) => e.eor.has(f));
      if (!allEor) {
        complete = false;
        const gr = e.negotiated?.gracefulRestart;
        if (gr && !gr.restarting) advertise = false;
      }
    }
    if (advertise) this.endSelectionDeferral('End-of-RIB received from every peer that was not restarting itself');
    if (complete) void this.syncFib('End-of-RIB received from every peer');
  }

  private endSelectionDeferral(why: string): void {
    if (!this.selectionDeferred) return;
    // Decide what is queued first, so the peers get the complete table in one go.
    this.c.routes.settle();
    this.selectionDeferred = false;
    this.c.log.info({ component: 'gr', why }, `selection deferral over (${why}): advertising to every peer (RFC 4724 §4.1)`);
    for (const e of this.c.peers()) this.c.pump(e);
  }

  private async syncFib(why: string): Promise<void> {
    if (this.fibSynced) return;
    this.fibSynced = true;
    if (this.timer) clearTimeout(this.timer);
    // RFC 4724 §3: the R bit says "I restarted"; once converged, a session that flaps later
    // must not claim it again (a helper would wait for an End-of-RIB it already had).
    this.c.wiring.restarting = false;
    for (const e of this.c.peers()) if (e.session.cfg.gracefulRestart) e.session.cfg.gracefulRestart.restarting = false;
    try {
      // Let the decision process finish what is queued so the first reconcile is complete.
      this.c.routes.settle();
      this.endSelectionDeferral(why);
      const r = await this.c.routes.release();
      this.c.log.info(
        { component: 'fib', why, added: r.added, replaced: r.replaced, deleted: r.deleted, unchanged: r.unchanged, failed: r.failed.length },
        `FIB reconciled (${why})`,
      );
    } catch (err) {
      this.c.log.error({ component: 'fib', err: (err as Error).message }, 'FIB reconciliation failed');
    }
    this.c.onSynced();
  }
}
