// In-memory FIBs. MemoryFib behaves like the kernel FIB without a kernel: it keeps a "kernel"
// table that apply() writes and dump() reads, so unit tests of the RIB-to-FIB path (and
// `ternd --fib none`) run anywhere. NoneFib records the desired state and never "installs".
import { EventEmitter } from 'node:events';
import { ChangeBatch } from './batch.js';
import { canonicalPrefix, formatPrefix, type IpPrefix } from './prefix.js';
import type { Fib, FibChange, FibEvents, FibFailure, FibResult, FibRoute, NextHop, ReconcileResult } from './types.js';

const hopText = (h: NextHop): string => `${h.gateway ?? ''}@${h.dev ?? ''}${h.onlink ? '/onlink' : ''}*${h.weight ?? 1}`;
/** Two routes are the same when kind and the SET of next hops match (ECMP order is meaningless). */
const routeKey = (c: { kind: string; nexthops: NextHop[]; metric?: number }): string =>
  (c.kind === 'blackhole' ? 'blackhole' : `unicast:${c.nexthops.map(hopText).sort().join(',')}`) + (c.metric !== undefined ? ` metric ${c.metric}` : '');

export interface MemoryFibOptions {
  table?: number;
  metric?: number;
  coupled?: boolean;
  /** Keep every apply() batch in `log` (tests); off by default: a daemon would grow forever. */
  keepLog?: boolean;
  /** Routes the pretend kernel holds at the start (what a previous run left there), none desired. */
  kernel?: FibChange[];
}

export class MemoryFib extends EventEmitter<FibEvents> implements Fib {
  /** What the RIB asked for, by canonical prefix. */
  protected readonly desired = new Map<string, FibChange>();
  /** What the pretend kernel holds. */
  protected readonly kernel = new Map<string, FibChange>();
  protected _coupled: boolean;
  /** Every apply() batch, in order, when constructed with keepLog (tests inspect it). */
  readonly log: FibChange[][] = [];
  private readonly keepLog: boolean;
  private readonly table: number;
  private readonly metric: number;

  constructor(opts: MemoryFibOptions = {}) {
    super();
    this.table = opts.table ?? 254;
    this.metric = opts.metric ?? 32;
    this._coupled = opts.coupled ?? true;
    this.keepLog = opts.keepLog ?? false;
    for (const c of opts.kernel ?? []) this.kernel.set(canonicalPrefix(c.prefix) ?? c.prefix, c);
  }

  get coupled(): boolean {
    return this._coupled;
  }

  async apply(given: readonly FibChange[] | ChangeBatch): Promise<FibFailure[]> {
    // A packed batch (what FibFeed passes) is read back as records: this FIB is for tests and
    // small tables, and keeps records anyway.
    const changes = given instanceof ChangeBatch ? given.toArray() : [...given];
    if (this.keepLog) this.log.push(changes);
    const failures: FibFailure[] = [];
    changes.forEach((c, index) => {
      const prefix = canonicalPrefix(c.prefix);
      if (!prefix) {
        failures.push({ index, prefix: c.prefix, error: `EINVAL: bad prefix ${c.prefix}` });
        return;
      }
      const withdraw = c.kind !== 'blackhole' && c.nexthops.length === 0;
      // The caller's record is kept as it is (treat it as immutable once passed, as for NetlinkFib).
      const stored: FibChange =
        prefix === c.prefix ? c : { prefix, kind: c.kind, nexthops: c.nexthops, ...(c.metric !== undefined ? { metric: c.metric } : {}) };
      if (withdraw) this.desired.delete(prefix);
      else this.desired.set(prefix, stored);
      if (this._coupled) {
        if (withdraw) this.kernel.delete(prefix);
        else this.kernel.set(prefix, stored);
      }
    });
    return failures;
  }

  async dump(): Promise<FibRoute[]> {
    return [...this.kernel.values()].map((c) => ({
      prefix: c.prefix,
      kind: c.kind,
      nexthops: c.kind === 'blackhole' ? [] : c.nexthops,
      table: this.table,
      metric: c.metric ?? this.metric,
    }));
  }

  /** The desired state as recorded (also while decoupled). */
  desiredRoutes(): FibChange[] {
    return [...this.desired.values()];
  }

  desires(prefix: string | IpPrefix): boolean {
    const p = typeof prefix === 'string' ? canonicalPrefix(prefix) : formatPrefix(prefix);
    return p !== undefined && this.desired.has(p);
  }

  get desiredCount(): number {
    return this.desired.size;
  }

  async reconcile(desired: FibChange[]): Promise<ReconcileResult> {
    this.desired.clear();
    const failed: FibResult[] = [];
    for (const c of desired) {
      const prefix = canonicalPrefix(c.prefix);
      if (!prefix) failed.push({ prefix: c.prefix, ok: false, error: `EINVAL: bad prefix ${c.prefix}` });
      else if (c.kind === 'blackhole' || c.nexthops.length > 0)
        this.desired.set(prefix, prefix === c.prefix ? c : { prefix, kind: c.kind, nexthops: c.nexthops });
    }
    const r = this._coupled ? this.sync() : { added: 0, replaced: 0, deleted: 0, unchanged: 0, failed: [] };
    r.failed.push(...failed);
    return r;
  }

  protected sync(): ReconcileResult {
    const r: ReconcileResult = { added: 0, replaced: 0, deleted: 0, unchanged: 0, failed: [] };
    for (const [prefix, want] of this.desired) {
      const have = this.kernel.get(prefix);
      if (!have) r.added++;
      else if (routeKey(have) === routeKey(want)) {
        r.unchanged++;
        continue;
      } else r.replaced++;
      this.kernel.set(prefix, want);
    }
    for (const prefix of [...this.kernel.keys()]) {
      if (!this.desired.has(prefix)) {
        this.kernel.delete(prefix);
        r.deleted++;
      }
    }
    return r;
  }

  async couple(): Promise<ReconcileResult> {
    this._coupled = true;
    return this.sync();
  }

  async decouple(): Promise<void> {
    this._coupled = false;
  }

  async flush(): Promise<number> {
    if (this._coupled) throw new Error('the FIB is coupled: decouple it first, or the routes would be written back');
    const n = this.kernel.size;
    this.kernel.clear();
    return n;
  }

  async close(): Promise<void> {
    this.removeAllListeners();
  }
}

/**
 * `ternd --fib none`: records the desired state (bgpctl can show it) and writes nothing;
 * it owns no kernel routes, so dump() is empty and couple() stays decoupled.
 */
export class NoneFib extends MemoryFib {
  constructor() {
    super({ coupled: false });
  }

  override async couple(): Promise<ReconcileResult> {
    return { added: 0, replaced: 0, deleted: 0, unchanged: 0, failed: [] };
  }
}
