// A FIB change record: what a prefix should have from now on. Its own file so that both the
// Fib interface (types.ts) and the packed batch of them (batch.ts) can name it.

/** One next hop. `gateway` and/or `dev`; `onlink` skips the kernel's on-link check. */
export interface NextHop {
  gateway?: string;
  dev?: string;
  onlink?: boolean;
  /** ECMP weight 1..256 (default 1); ignored for a single next hop. */
  weight?: number;
}

export type RouteKind = 'unicast' | 'blackhole';

/**
 * The route a prefix should have from now on.
 *  - kind 'unicast' with at least one next hop: install or replace (ECMP when several);
 *  - kind 'blackhole' (nexthops ignored): install a blackhole (a node's own IPAM block);
 *  - kind 'unicast' with NO next hops: WITHDRAW the prefix, whatever kind it had.
 * One rule, as in RustyBGP's KernelRouteChange: empty next hops = withdraw; `withdraw(prefix)`
 * builds that record.
 */
export interface FibChange {
  prefix: string; // '10.244.1.0/26' or '2001:db8::/64'; host bits are cleared
  kind: RouteKind;
  nexthops: NextHop[];
  /**
   * The route's kernel metric (RTA_PRIORITY) when it has one of its own (a Calico route
   * priority); undefined: the FIB's metric (ternd --metric). A route whose metric changes is
   * a new kernel route: the one at the old metric is removed once the new one is in.
   */
  metric?: number;
}

export const withdraw = (prefix: string): FibChange => ({ prefix, kind: 'unicast', nexthops: [] });
