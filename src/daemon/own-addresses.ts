// This node's own addresses for the RIB's RFC 4271 §6.3 next-hop check: the Node's addresses
// from the model and every interface address the kernel lists (fib/local-addresses.ts). When
// either changes, the RIB re-checks the paths whose next hop it is.
import type { Rib } from '../../bgp/rib/rib.js';
import type { Logger } from '../log.js';

/** Where the node's addresses come from; `subscribe` is called once, at start. */
export interface LocalAddressSource {
  readonly addresses: ReadonlySet<string>;
  subscribe(onChange: () => void): void;
  close(): void;
}

export class OwnAddresses {
  /** This node's addresses from the model; set with the model. */
  private fromModel: ReadonlySet<string> = new Set();
  /** What the RIB was last given as our own addresses: the model's and the kernel's. */
  private given: ReadonlySet<string> = new Set();

  constructor(
    private readonly source: LocalAddressSource | undefined,
    private readonly log: Logger,
  ) {}

  /** The Node's addresses in the model changed (start, reload). */
  setModelAddresses(addresses: readonly (string | undefined)[]): void {
    this.fromModel = new Set(addresses.filter((a): a is string => !!a));
  }

  /** The set for the RIB's constructor (then kept current through update()). */
  initial(): ReadonlySet<string> {
    return (this.given = this.collect());
  }

  /** Start following the kernel's addresses. */
  follow(rib: () => Rib, scheduleFlush: () => void): void {
    this.source?.subscribe(() => this.update('kernel', rib(), scheduleFlush));
  }

  close(): void {
    this.source?.close();
  }

  /**
   * An address was added or removed (on an interface, or the Node's in the model): the RIB
   * re-checks the paths whose next hop it is (RFC 4271 §6.3), and the flush that follows logs
   * and counts the ones now ignored.
   */
  update(source: 'kernel' | 'model', rib: Rib, scheduleFlush: () => void): void {
    const next = this.collect();
    const added = [...next].filter((a) => !this.given.has(a));
    const removed = [...this.given].filter((a) => !next.has(a));
    this.given = next;
    if (!added.length && !removed.length) return;
    rib.setOwnAddresses(next);
    this.log.info(
      { component: 'rib', source, added: added.slice(0, 20), removed: removed.slice(0, 20) },
      `this node's addresses changed (${source}): ${added.length} added, ${removed.length} removed; routes with them as next hop re-checked (RFC 4271 §6.3)`,
    );
    scheduleFlush();
  }

  private collect(): ReadonlySet<string> {
    return new Set([...this.fromModel, ...(this.source?.addresses ?? [])]);
  }
}
