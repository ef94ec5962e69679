// The FIB's narrow interface: plain change records in, per-prefix results out.
// The RIB (bgp/) produces FibChange records; the daemon (src/) passes them to a Fib. Nothing
// here knows BGP: a next hop is an address and/or an interface, as the kernel sees it.

export { type FibChange, type NextHop, type RouteKind, withdraw } from './change.js';
import type { ChangeBatch } from './batch.js';
import type { FibChange, NextHop, RouteKind } from './change.js';
import type { IpPrefix } from './prefix.js';

/**
 * The outcome for one prefix of reconcile(). ok=false carries an errno name and the kernel's
 * extended-ACK text when there is one ('EEXIST: ...', 'ENETUNREACH: ...'). A route whose next
 * hops are all unusable now (interface down, subnet gone) reports ok=false with 'ENETUNREACH'
 * but stays desired: it is installed as soon as a link or address event makes it resolvable.
 */
export interface FibResult {
  prefix: string;
  ok: boolean;
  error?: string;
}

/** A change apply() could not carry out: its position in the input, its prefix and why (the
 * same errno texts as FibResult). Changes not listed were applied. */
export interface FibFailure {
  index: number;
  prefix: string;
  error: string;
}

/** A route as the kernel holds it for Tern (dump()): resolved next hops, with interfaces. */
export interface FibRoute {
  prefix: string;
  kind: RouteKind;
  nexthops: NextHop[];
  table: number;
  metric: number;
}

export interface ReconcileResult {
  added: number;
  replaced: number;
  deleted: number;
  unchanged: number;
  /** Prefixes whose install failed or could not be resolved (each with its reason). */
  failed: FibResult[];
}

export interface LinkEvent {
  index: number;
  name: string;
  up: boolean;
  removed?: boolean;
}
export interface AddrEvent {
  index: number;
  address: string;
  prefixLen: number;
  removed: boolean;
}

export interface FibEvents {
  /** An interface appeared, changed its up/down state or vanished. */
  link: [LinkEvent];
  /** An address was added or removed (connected subnets feed next-hop resolution). */
  addr: [AddrEvent];
  /** The FIB compared the kernel with the desired state and repaired it (after events/overrun). */
  resync: [ReconcileResult & { reason: string }];
}

export interface Fib {
  /**
   * Apply changes in order (the last change of a prefix wins). Resolves with the changes that
   * failed, in input order; every other change was applied. (Failures only: a result object per
   * change was a million objects surviving young-generation GCs on a table load, issue 5.)
   */
  apply(changes: readonly FibChange[] | ChangeBatch): Promise<FibFailure[]>;
  /** The routes Tern owns in the kernel now (for a recording FIB: those it would own). */
  dump(): Promise<FibRoute[]>;
  /**
   * Make `desired` the complete desired state: prefixes absent from it are withdrawn; routes
   * already correct are not touched. Called once at startup after the RIB has converged.
   */
  reconcile(desired: FibChange[]): Promise<ReconcileResult>;
  /** OpenBGPD's `bgpctl fib couple|decouple`: write the difference to the desired state and keep
   * writing; or stop writing and leave the kernel's routes as they are. */
  couple(): Promise<ReconcileResult>;
  decouple(): Promise<void>;
  /** `bgpctl fib flush`: while decoupled, remove every route Tern owns from the kernel (blackholes
   * too) and resolve with how many; refused (rejects) while coupled. Desired state is kept. */
  flush(): Promise<number>;
  readonly coupled: boolean;
  /** The desired state (what apply() and reconcile() asked for; also while decoupled): the one
   * copy of it in ternd, read by `bgpctl show fib`. */
  desiredRoutes(): FibChange[];
  /** Whether `prefix` is desired (a withdrawal of one that is not has nothing to do). */
  desires(prefix: string | IpPrefix): boolean;
  /** How many prefixes are desired. */
  readonly desiredCount: number;
  on<E extends keyof FibEvents>(event: E, listener: (...args: FibEvents[E]) => void): this;
  off<E extends keyof FibEvents>(event: E, listener: (...args: FibEvents[E]) => void): this;
  close(): Promise<void>;
}

/**
 * Tern's rtm_protocol. iproute2's /etc/iproute2/rt_protos reserves 0-18, 42, 99, 186-192
 * ('bgp' is 186, used by FRR); 201 is unassigned. Install `201 tern` in
 * /etc/iproute2/rt_protos.d/tern.conf and `ip route` prints "proto tern".
 */
export const TERN_PROTO = 201;
/** Default metric: a value of Tern's own so that a foreign route (kernel default 0 for IPv4,
 * 1024 for IPv6) with the same prefix coexists instead of colliding with ours. */
export const TERN_METRIC = 32;
