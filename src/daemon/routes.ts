// Decision batches and the road to the kernel: runs the RIB's decision process in bounded
// batches, hands the change records to the FIB (fib/feed.ts queues, holds and writes them; the
// desired state lives in the Fib only) and moves the encoded UPDATEs to the sessions. Counts
// and logs what the kernel refused; /readyz reads `denied`.
import { performance } from 'node:perf_hooks';
import type { Rib } from '../../bgp/rib/rib.js';
import type { RibChange } from '../../bgp/rib/rib-types.js';
import type { ChangeBatch } from '../../fib/batch.js';
import { FibFeed } from '../../fib/feed.js';
import type { Fib, FibChange, FibFailure, ReconcileResult } from '../../fib/types.js';
import { ControlError } from '../control/api.js';
import type { Metrics } from '../control/metrics.js';
import type { Logger } from '../log.js';
import type { PeerEntry } from './peer-entry.js';
import type { PeerProblems } from './peer-problems.js';
import { fibChangeOf, groupFibFailures, type FibContext } from './wiring.js';

/** Prefixes decided per batch: bounded so the event loop (and so keepalives) keeps moving. */
const DECISION_BATCH = 50_000;
/**
 * The same with a kernel FIB: each decided prefix is also packed for the FIB (onRibChange), and
 * the kernel install runs between the batches, so a batch holds the loop longer and the FIB's
 * slices wait behind it. In dev runs of `ingest --fib kernel` at 1M routes (issue 18, loaded
 * machine) 20k against 50k cut ternd's worst loop lag and the watcher's KEEPALIVE lateness
 * roughly in half, and the time did not grow.
 */
export const KERNEL_DECISION_BATCH = 20_000;

/**
 * Output pacing (issue 18's route-reflector profile). Every flush used to hand each peer its
 * new UPDATEs at once: one write(2) per peer per flush, however little was new. A reflector
 * with 5,000 clients, each new client's blocks one small UPDATE for every other client, spent a
 * third of its CPU in those writes. Once a pass over every peer's output took at least
 * PACING_MIN_MS, the next pass waits as long as the last one took (at most
 * PACING_MAX_WAIT_MS): the writes then carry whatever accumulated meanwhile, their number stays
 * proportional to the time, not to the peers times the flushes, and output keeps at most about
 * half of the CPU. Small nodes (a pass of a few peers takes microseconds) are never delayed.
 */
const PACING_MIN_MS = 2;
/**
 * The most pacing may hold back a pass. A pass over 5,000 route-reflector clients takes 100-300
 * ms (one write(2) each); waiting that long again after the last pass of a convergence made
 * the first block change after it the slowest to reach every client (issue 18's quiet run at
 * 9aefea2: the first of each round's 20 changes took 404-529 ms, the others at most 292). With
 * the cap, pacing adds at most this much to any route's way out, like a small MRAI, and output
 * takes more than half of the CPU only while single passes are longer than it.
 */
export const PACING_MAX_WAIT_MS = 100;

/**
 * How long the next output pass waits (ms; 0 = now), given when the last one ended and how long
 * it took (monotonic ms): as long as it took, counted from its end, at most PACING_MAX_WAIT_MS,
 * and never after a pass shorter than PACING_MIN_MS.
 */
export function pacingWait(passEnd: number, passMs: number, now: number): number {
  if (passMs < PACING_MIN_MS) return 0;
  return Math.max(0, passEnd + Math.min(passMs, PACING_MAX_WAIT_MS) - now);
}

export interface RouteFlowContext {
  rib(): Rib;
  fibContext(): FibContext;
  peers(): Iterable<PeerEntry>;
  pump(e: PeerEntry): void;
  problems: PeerProblems;
  log: Logger;
  metrics?: Metrics;
  /** Prefixes decided per flush (default DECISION_BATCH; KERNEL_DECISION_BATCH with a kernel FIB). */
  decisionBatch?: number;
}

const DENIED = /EPERM|EACCES/;
const HINT = '(run ternd with NET_ADMIN, or --fib none)';

export class RouteFlow {
  readonly feed: FibFeed;
  /** The last EPERM the kernel gave a route write, until a batch is written without one (/readyz). */
  denied?: string;
  private flushScheduled = false;
  /** When the last output pass over every peer ended, and how long it took (ms, monotonic). */
  private passEnd = 0;
  private passMs = 0;
  private passTimer?: NodeJS.Timeout;
  private kickQueued = false;

  /** `hold`: keep kernel writes held until release() (a restart with routes in the kernel). */
  constructor(
    fib: Fib,
    private readonly c: RouteFlowContext,
    hold: boolean,
  ) {
    this.feed = new FibFeed(fib, { hold });
    this.feed.on('written', (batch, failures) => this.written(batch, failures));
    this.feed.on('writeFailed', (err) => this.c.log.error({ component: 'fib', err: err.message }, 'FIB write failed'));
  }

  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Decide everything queued now (before a peer's initial dump, before the hold ends). */
  settle(): void {
    while (this.c.rib().queued > 0) this.flush();
  }

  flush(): void {
    const rib = this.c.rib();
    const queued = rib.queued;
    const started = process.hrtime.bigint();
    const limit = this.c.decisionBatch ?? DECISION_BATCH;
    const changes = rib.flush(Date.now(), limit);
    const notices = rib.takeNotices();
    if (notices.length) this.c.problems.ribNotices(notices);
    const m = this.c.metrics;
    if (queued > 0 && m) {
      m.decisionLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      m.decisionPrefixes.inc(Math.min(queued, limit));
    }
    if (changes.length) this.toFib(changes);
    this.feed.kick();
    this.pumpAll();
    if (rib.queued > 0) this.scheduleFlush();
    else {
      const at = rib.nextFlushAt();
      if (Number.isFinite(at) && at > 0) setTimeout(() => this.scheduleFlush(), Math.max(0, at - Date.now())).unref();
    }
  }

  /** Moves every peer's encoded UPDATEs to its session, paced (see PACING_MIN_MS). */
  private pumpAll(): void {
    if (this.passTimer) return; // a paced pass is already due
    const wait = pacingWait(this.passEnd, this.passMs, performance.now());
    if (wait > 0) {
      this.passTimer = setTimeout(() => {
        this.passTimer = undefined;
        this.pumpAll();
      }, wait);
      this.passTimer.unref();
      return;
    }
    const t0 = performance.now();
    for (const e of this.c.peers()) this.c.pump(e);
    this.passEnd = performance.now();
    this.passMs = this.passEnd - t0;
  }

  /** End the startup hold: one reconcile of the kernel with everything decided so far. */
  async release(): Promise<ReconcileResult> {
    const r = await this.feed.release();
    const denied = r.failed.find((f) => DENIED.test(f.error ?? ''));
    if (denied) this.denied = `${denied.error} ${HINT}`;
    return r;
  }

  /** `bgpctl fib couple|decouple` (OpenBGPD): kernel writes on or off; held writes stay held. */
  async couple(coupled: boolean, driver: 'kernel' | 'none'): Promise<void> {
    needKernelFib(driver, coupled ? 'couple' : 'decouple');
    if (coupled) await this.feed.couple();
    else await this.feed.decouple();
    this.c.log.info(
      { component: 'fib', coupled },
      coupled ? 'bgpctl fib couple: kernel writes on' : 'bgpctl fib decouple: kernel writes off, kernel routes left as they are',
    );
  }

  /** `bgpctl fib flush`: only while decoupled, every route of Tern's leaves the kernel. */
  async flushKernel(driver: 'kernel' | 'none'): Promise<number> {
    needKernelFib(driver, 'flush');
    if (this.feed.coupled)
      throw new ControlError(
        'bad-argument',
        'the FIB is coupled: run bgpctl fib decouple first (routes flushed while coupled would be written back by the next change)',
      );
    const removed = await this.feed.fib.flush();
    this.c.log.warn({ component: 'fib', removed }, `FIB flushed: ${removed} Tern routes removed from the kernel (bgpctl fib couple writes them back)`);
    return removed;
  }

  /**
   * The RIB's onChange (daemon.ts): each change record goes into the FIB's packed queue as it is
   * made, so the record dies young. An array of a decision batch's records lived through the
   * scavenges of that batch and was promoted: with --fib kernel at 1M routes that garbage made
   * V8 grow the old generation by a few hundred MB (issue 18). Changes decided outside flush()
   * (the RIB settles for a peer's initial dump) are written after the current task.
   */
  onRibChange(change: RibChange): void {
    this.feed.add(fibChangeOf(change, this.c.fibContext()));
    if (this.kickQueued) return;
    this.kickQueued = true;
    queueMicrotask(() => {
      this.kickQueued = false;
      this.feed.kick();
    });
  }

  /** Records flush() returned (a RIB built with collectChanges instead of onChange; ternd's is not). */
  private toFib(changes: RibChange[]): void {
    const ctx = this.c.fibContext();
    const out: FibChange[] = new Array(changes.length);
    for (let i = 0; i < changes.length; i++) out[i] = fibChangeOf(changes[i], ctx);
    this.feed.push(out);
  }

  private written(batch: ChangeBatch, failures: FibFailure[]): void {
    const m = this.c.metrics;
    const opOf = (i: number): 'delete' | 'replace' => (batch.isWithdraw(i) ? 'delete' : 'replace');
    let deletes = 0;
    for (let i = 0; i < batch.length; i++) if (batch.isWithdraw(i)) deletes++;
    if (deletes) m?.fibOps.inc({ op: 'delete' }, deletes);
    if (batch.length - deletes) m?.fibOps.inc({ op: 'replace' }, batch.length - deletes);
    for (const f of failures) m?.fibErrors.inc({ op: opOf(f.index), reason: f.error.split(':')[0] });
    const denied = failures.find((f) => DENIED.test(f.error));
    if (denied && !this.denied)
      this.c.log.error(
        { component: 'fib', error: denied.error },
        'the kernel refuses route writes (no CAP_NET_ADMIN?): not ready until a write succeeds; run ternd with NET_ADMIN or use --fib none',
      );
    this.denied = denied ? `${denied.error} ${HINT}` : undefined;
    for (const g of groupFibFailures(failures)) this.c.log.warn({ component: 'fib', prefixes: g.prefixes, count: g.count, error: g.error }, g.message);
  }
}

/** `--fib none` has no kernel to couple to: saying "coupled" or "decoupled" would be wrong. */
function needKernelFib(driver: 'kernel' | 'none', what: string): void {
  if (driver === 'none') throw new ControlError('not-supported', `ternd runs with --fib none: it never writes the kernel, so there is nothing to ${what}`);
}
