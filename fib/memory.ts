// A FIB that keeps routes in memory and writes no kernel: `ternd --fib none` (tests, route
// reflectors that do not forward, running without root) and unit tests of FIB consumers.
// Same semantics as the netlink FIB: last change of a prefix wins, empty next hops withdraw,
// decoupled means "remember but do not install".
import { EventEmitter } from 'node:events';
import type { Fib, FibChange, FibEvents, FibResult, FibRoute, ReconcileResult } from './types';
import { TERN_METRIC } from './types';

const isWithdraw = (c: FibChange) => c.kind === 'unicast' && c.nexthops.length === 0;
const sameRoute = (a: FibChange, b: FibChange) => a.kind === b.kind && JSON.stringify(a.nexthops) === JSON.stringify(b.nexthops);

export class MemoryFib extends EventEmitter<FibEvents> implements Fib {
  /** What would be in the kernel. */
  readonly routes = new Map<string, FibChange>();
  /** Every change applied, in order (tests assert on it). */
  readonly log: FibChange[] = [];
  private isCoupled: boolean;
  private desired = new Map<string, FibChange>();

  constructor(opts: { coupled?: boolean; table?: number } = {}) {
    super();
    this.isCoupled = opts.coupled ?? true;
    this.table = opts.table ?? 254;
  }
  private readonly table: number;

  get coupled(): boolean {
    return this.isCoupled;
  }

  async apply(changes: FibChange[]): Promise<FibResult[]> {
    const out: FibResult[] = [];
    for (const c of changes) {
      if (isWithdraw(c)) this.desired.delete(c.prefix);
      else this.desired.set(c.prefix, c);
      if (this.isCoupled) {
        this.log.push(c);
        if (isWithdraw(c)) this.routes.delete(c.prefix);
        else this.routes.set(c.prefix, c);
      }
      out.push({ prefix: c.prefix, ok: true });
    }
    return out;
  }

  async dump(): Promise<FibRoute[]> {
    return [...this.routes.values()].map((r) => ({ prefix: r.prefix, kind: r.kind, nexthops: r.nexthops, table: this.table, metric: TERN_METRIC }));
  }

  async reconcile(desired: FibChange[]): Promise<ReconcileResult> {
    this.desired = new Map(desired.filter((c) => !isWithdraw(c)).map((c) => [c.prefix, c]));
    return this.isCoupled ? this.sync() : { added: 0, replaced: 0, deleted: 0, unchanged: 0, failed: [] };
  }

  private sync(): ReconcileResult {
    const r: ReconcileResult = { added: 0, replaced: 0, deleted: 0, unchanged: 0, failed: [] };
    for (const [p, have] of this.routes) {
      if (this.desired.has(p)) continue;
      this.routes.delete(p);
      this.log.push({ prefix: p, kind: 'unicast', nexthops: [] });
      r.deleted++;
      void have;
    }
    for (const [p, want] of this.desired) {
      const have = this.routes.get(p);
      if (have && sameRoute(have, want)) {
        r.unchanged++;
        continue;
      }
      this.routes.set(p, want);
      this.log.push(want);
      if (have) r.replaced++;
      else r.added++;
    }
    return r;
  }

  async couple(): Promise<ReconcileResult> {
    this.isCoupled = true;
    return this.sync();
  }

  async decouple(): Promise<void> {
    this.isCoupled = false;
    for (const p of this.routes.keys()) this.log.push({ prefix: p, kind: 'unicast', nexthops: [] });
    this.routes.clear();
  }

  async close(): Promise<void> {}
}
