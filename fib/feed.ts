// FibFeed: the one way change records reach a Fib. It queues them while a write is in flight
// (one batch per write, so a table load is a few large writes, not a write per RIB flush),
// holds kernel writes while a restart converges (the "held" mode beside couple/decouple), and
// ends the hold with one reconcile. The desired state itself lives in the Fib (NetlinkFib's
// prefix table, two integers per prefix): the feed keeps no copy of it, so the RIB's caller
// needs none either. Plain records in, plain reports out: nothing here knows BGP.
// The queue is packed (batch.ts, six words per change): during a table load most of a million
// changes wait here for the kernel, and as records they were the largest live set of ternd.
import { EventEmitter } from 'node:events';
import { ChangeBatch } from './batch.js';
import type { Fib, FibChange, FibFailure, ReconcileResult } from './types.js';

const NOTHING: ReconcileResult = { added: 0, replaced: 0, deleted: 0, unchanged: 0, failed: [] };

export interface FibFeedEvents {
  /**
   * A batch reached the kernel FIB (not while held): what was asked, and what failed (indexes
   * into the batch). The batch's pages are reused once the listeners return: do not keep it.
   */
  written: [batch: ChangeBatch, failures: FibFailure[]];
  /** A batch's write threw (the FIB's own error, not a per-route failure). */
  writeFailed: [err: Error];
}

export class FibFeed extends EventEmitter<FibFeedEvents> {
  private queue = new ChangeBatch();
  private busy = false;
  private held: boolean;
  private stopped = false;
  /** The operator's couple/decouple, kept while held (the Fib itself is decoupled then). */
  private wantCoupled: boolean;
  private idleWaiters: (() => void)[] = [];

  /**
   * `hold`: start held. The Fib is decoupled at once (its desired state is still recorded by
   * every write), so nothing reaches the kernel until release(): a restart keeps the previous
   * run's routes in place while the RIB relearns them (RFC 4724 §4.1).
   */
  constructor(
    readonly fib: Fib,
    opts: { hold?: boolean } = {},
  ) {
    super();
    this.held = opts.hold ?? false;
    this.wantCoupled = fib.coupled;
    if (this.held && fib.coupled) void fib.decouple();
  }

  /** Whether kernel writes are held (startup, until release()). */
  get holding(): boolean {
    return this.held;
  }
  /** What `bgpctl fib couple|decouple` last asked for (the Fib's own state differs while held). */
  get coupled(): boolean {
    return this.wantCoupled;
  }
  /** Prefixes the Fib should hold (for show fib, status and metrics). */
  get desiredCount(): number {
    return this.fib.desiredCount;
  }

  /**
   * Queue changes, in order. A withdrawal of a prefix the Fib does not desire (a route that
   * never had a kernel route: a VXLAN pool's, one left out) is dropped before it is written,
   * so it is neither a kernel request nor an operation counted.
   */
  push(changes: readonly FibChange[]): void {
    if (this.stopped || changes.length === 0) return;
    for (const c of changes) this.queue.add(c);
    this.kick();
  }

  /**
   * Queue one change without starting a write (push() of one record, for a caller that makes
   * them one at a time, as the RIB's onChange does); kick() starts the write.
   */
  add(change: FibChange): void {
    if (!this.stopped) this.queue.add(change);
  }

  /** Start writing what add() queued, unless a write is in flight (it takes the queue next). */
  kick(): void {
    if (!this.busy && this.queue.length > 0 && !this.stopped) void this.run();
  }

  /** No more writes (ternd stopping: the kernel's routes outlive the process). */
  stop(): void {
    this.stopped = true;
    this.queue.release();
  }

  /**
   * End the hold: write what was recorded meanwhile to the kernel in one reconcile (missing
   * routes added, different ones replaced, ours no longer desired deleted). Changes pushed
   * before the call are part of it; later ones are written after it, never undone by it.
   * A Fib the operator decoupled meanwhile stays decoupled (nothing written).
   */
  async release(): Promise<ReconcileResult> {
    if (!this.held) return { ...NOTHING, failed: [] };
    await this.idle();
    this.held = false;
    if (!this.wantCoupled || this.stopped) return { ...NOTHING, failed: [] };
    return this.fib.couple();
  }

  async couple(): Promise<ReconcileResult> {
    this.wantCoupled = true;
    return this.held ? { ...NOTHING, failed: [] } : this.fib.couple();
  }

  async decouple(): Promise<void> {
    this.wantCoupled = false;
    if (!this.held) await this.fib.decouple();
  }

  /** Resolves once every change pushed (or added) so far has been handed to the Fib. */
  idle(): Promise<void> {
    this.kick();
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async run(): Promise<void> {
    this.busy = true;
    while (this.queue.length && !this.stopped) {
      const queued = this.queue;
      this.queue = new ChangeBatch();
      const batch = this.dropUndesiredWithdrawals(queued);
      if (batch !== queued) queued.release();
      if (batch.length === 0) continue;
      const held = this.held;
      try {
        const failures = await this.fib.apply(batch);
        if (!held) this.emit('written', batch, failures);
      } catch (err) {
        this.emit('writeFailed', err as Error);
      }
      batch.release();
    }
    this.busy = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Every earlier batch has been applied, so the Fib's desired state is current up to this
   * batch; within it, what an earlier change of the same prefix did counts.
   */
  private dropUndesiredWithdrawals(batch: ChangeBatch): ChangeBatch {
    if (!batch.hasWithdrawals) return batch;
    const prev = batch.previousSame();
    const desiredBefore = (i: number): boolean => {
      const j = prev[i];
      if (j >= 0) return !batch.isWithdraw(j);
      const p = batch.prefixAt(i);
      return p !== undefined && this.fib.desires(p);
    };
    let drop = 0;
    const keep = new Uint8Array(batch.length).fill(1);
    for (let i = 0; i < batch.length; i++) {
      if (batch.isWithdraw(i) && (!batch.valid(i) || !desiredBefore(i))) {
        keep[i] = 0;
        drop++;
      }
    }
    return drop === 0 ? batch : batch.filter((i) => keep[i] === 1);
  }
}
