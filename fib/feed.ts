// FibFeed: the one way change records reach a Fib. It queues them while a write is in flight
// (one batch per write, so a table load is a few large writes, not a write per RIB flush),
// holds kernel writes while a restart converges (the "held" mode beside couple/decouple), and
// ends the hold with one reconcile. The desired state itself lives in the Fib (NetlinkFib's
// prefix table, two integers per prefix): the feed keeps no copy of it, so the RIB's caller
// needs none either. Plain records in, plain reports out: nothing here knows BGP.
import { EventEmitter } from 'node:events';
import type { Fib, FibChange, FibFailure, ReconcileResult } from './types.js';

const NOTHING: ReconcileResult = { added: 0, replaced: 0, deleted: 0, unchanged: 0, failed: [] };

export interface FibFeedEvents {
  /** A batch reached the kernel FIB (not while held): what was asked, and what failed. */
  written: [batch: readonly FibChange[], failures: FibFailure[]];
  /** A batch's write threw (the FIB's own error, not a per-route failure). */
  writeFailed: [err: Error];
}

const isWithdraw = (c: FibChange): boolean => c.kind === 'unicast' && c.nexthops.length === 0;

export class FibFeed extends EventEmitter<FibFeedEvents> {
  private queue: FibChange[] = [];
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
    for (const c of changes) this.queue.push(c);
    if (!this.busy) void this.run();
  }

  /** No more writes (ternd stopping: the kernel's routes outlive the process). */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
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

  /** Resolves once every change pushed so far has been handed to the Fib. */
  idle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async run(): Promise<void> {
    this.busy = true;
    while (this.queue.length && !this.stopped) {
      const batch = this.dropUndesiredWithdrawals(this.queue.splice(0, this.queue.length));
      if (batch.length === 0) continue;
      const held = this.held;
      try {
        const failures = await this.fib.apply(batch);
        if (!held) this.emit('written', batch, failures);
      } catch (err) {
        this.emit('writeFailed', err as Error);
      }
    }
    this.busy = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Every earlier batch has been applied, so the Fib's desired state is current up to this
   * batch; within it, what an earlier change of the same prefix did counts.
   */
  private dropUndesiredWithdrawals(batch: FibChange[]): FibChange[] {
    if (!batch.some(isWithdraw)) return batch;
    const inBatch = new Map<string, boolean>();
    const out: FibChange[] = [];
    for (const c of batch) {
      if (isWithdraw(c)) {
        if (!(inBatch.get(c.prefix) ?? this.fib.desires(c.prefix))) continue;
        inBatch.set(c.prefix, false);
      } else inBatch.set(c.prefix, true);
      out.push(c);
    }
    return out;
  }
}
