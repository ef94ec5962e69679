// Plain data types at the RIB's boundary: peer configuration, options, policy hooks and the
// change records that flow to the FIB and to bgpctl. No behaviour here.

import type { Family, PathAttributes, Prefix } from '../codec/types.js';

/** Calico BGPPeer.nextHopMode / BIRD `next hop self|keep`. */
export type NextHopMode = 'Auto' | 'Self' | 'Keep';

/** What a policy hook returns: keep the route as is, drop it, or replace its attributes. */
export type PolicyResult = 'accept' | 'reject' | PathAttributes;

/**
 * Import or export policy (filled by the lead from Calico BGPFilters). An export policy sees the
 * attributes as they will be sent, and gets as `locRibLocalPref` the route's LOCAL_PREF in the
 * Loc-RIB (-1: none), which export removes towards an external peer (RFC 4271 §5.1.5). Must be pure:
 * the RIB re-runs import policy only on `refreshImport(peer)`, so a function whose answer changes
 * must be followed by that call; an export policy's per-set answers (`perSet`) are kept for the
 * life of the update group, which a new policy function replaces (the group key holds its
 * identity), so an export policy whose answer changes must be a new function (setPolicies).
 */
export type PolicyFn = ((prefix: Prefix, attrs: PathAttributes, peer: RibPeer, locRibLocalPref?: number, origin?: PathOrigin) => PolicyResult) & {
  readonly perSet?: SetPolicyFn;
};

/**
 * A policy's answer for every prefix of a family at once, when it has one (optional, attached to
 * the PolicyFn as `perSet`): the RIB asks once per attribute set (and per update group and source
 * session on export) and applies a defined answer to every prefix carrying that set, without
 * calling the PolicyFn. It must equal what the PolicyFn returns for each such prefix; undefined
 * means "it depends on the prefix", and the PolicyFn is called per prefix as before. `attrs`
 * decodes on demand, so an answer that reads no attribute costs no decoding. Why: 1M prefixes
 * over 100k sets are 100k policy calls instead of 1M, with no Prefix object per route.
 */
export type SetPolicyFn = (
  family: Family,
  attrs: () => PathAttributes,
  peer: RibPeer,
  locRibLocalPref?: number,
  origin?: PathOrigin,
) => PolicyResult | undefined;

/**
 * Where the path an export policy looks at came from: originated by this speaker ('local',
 * Rib.originate) or learned from a peer. The RIB always passes it on export, so a policy that
 * treats our own routes apart (Calico's BGPFilter source Local) needs no list of them of its
 * own; import policy sees learned paths only (absent: 'peer').
 */
export type PathOrigin = 'local' | 'peer';

/**
 * A prefix-only filter (Calico BGPFilter rules, pool membership): true keeps the route. Cheaper
 * than a PolicyFn, since the attributes need not be materialised per prefix. Must be pure.
 */
export type PrefixFilter = (prefix: Prefix, peer: RibPeer) => boolean;

export interface RibPeer {
  /** Unique name (the daemon uses the peer address). */
  id: string;
  /** Peer address, used as the last tie-break (RFC 4271 §9.1.2.2 g) and shown by bgpctl. */
  address: string;
  /** Remote AS; equal to the local AS makes the session iBGP. */
  asn: number;
  /** Our IPv4 address on this session: NEXT_HOP when next-hop-self applies. */
  localAddress?: string;
  /** Our IPv6 global (and link-local) address: MP_REACH next hop when next-hop-self applies. */
  localAddress6?: string;
  localLinkLocal6?: string;
  /** RFC 4456: this iBGP peer is a client of our route reflector. */
  routeReflectorClient?: boolean;
  nextHopMode?: NextHopMode;
  /** Calico numAllowedLocalASNumbers: how often our AS may appear in a received AS_PATH. */
  allowOwnAs?: number;
  importPolicy?: PolicyFn;
  exportPolicy?: PolicyFn;
  /** Applied before importPolicy / exportPolicy; prefer these when only the prefix matters. */
  importFilter?: PrefixFilter;
  exportFilter?: PrefixFilter;
  /** MinRouteAdvertisementInterval in ms (RFC 4271 §9.2.1.1); default from RibOptions. */
  mraiMs?: number;
  /** RFC 7911 add-path send selection when negotiated: every valid path or best + multipath. */
  addPathSend?: 'all' | 'multipath';
}

/** What the session learned in OPEN that the RIB needs (beyond the SessionContext). */
export interface PeerCaps {
  /** Peer's BGP Identifier, dotted quad. */
  routerId: string;
  /** Families negotiated with MP-BGP (RFC 4760); IPv4 unicast when absent. */
  families?: Family[];
  /** RFC 7313 negotiated: refreshes are framed by BoRR/EoRR. */
  enhancedRouteRefresh?: boolean;
  /** Our end of the session's TCP connection (RFC 4271 §6.3: never a usable next hop). */
  sessionLocalAddress?: string;
}

export interface RibOptions {
  localAs: number;
  /** Our BGP Identifier, dotted quad. */
  routerId: string;
  /** RFC 4456 §7: set to act as a route reflector; defaults to none (plain iBGP rules). */
  clusterId?: string;
  /** ECMP width for the FIB (and add-path multipath send); 1 = no multipath. */
  maxPaths?: number;
  /** LOCAL_PREF for paths without one and sent to iBGP peers (RFC 4271 §5.1.5). */
  defaultLocalPref?: number;
  /** RFC 4271 §9.1.2.2 c: compare MED between different neighbour ASes. */
  alwaysCompareMed?: boolean;
  /** Treat a missing MED as the worst (2^32-1) instead of 0. */
  medMissingAsWorst?: boolean;
  /** RFC 5004: prefer the oldest of equal eBGP paths (before router ID). */
  preferOldestEbgp?: boolean;
  /**
   * Addresses of this speaker beyond each session's local address (the node's, on any
   * interface; ternd feeds the kernel's list): a received route with one of them as next hop is
   * ignored (RFC 4271 §6.3). Later changes go through `Rib.setOwnAddresses`.
   */
  ownAddresses?: ReadonlySet<string>;
  /** RFC 4271 §9.1.2.1: NEXT_HOP resolvability; default: every next hop is reachable. */
  nextHopReachable?: (nextHop: string, family: Family) => boolean;
  /** RFC 4271 §9.1.2.2 e: IGP cost to the next hop; default 0. */
  igpCost?: (nextHop: string, family: Family) => number;
  /** MRAI defaults in ms (RFC 4271 §9.2.1.1); 0 for both unless set (BIRD and FRR DC default). */
  mraiEbgpMs?: number;
  mraiIbgpMs?: number;
  /** Expected number of prefixes per family: sizes the tables up front (they grow anyway). */
  initialCapacity?: { ipv4?: number; ipv6?: number };
  /** Build RibChange records in flush() (the FIB wants them; a pure reflector may not). */
  collectChanges?: boolean;
  /**
   * Receives each change record as it is made, instead of the array flush() returns (which is
   * then empty): records die young instead of piling up during a full-table convergence.
   */
  onChange?: (change: RibChange) => void;
}

/** One path as the FIB and bgpctl see it: plain data, safe to post to another thread. */
export interface PathInfo {
  /** Peer id, or "local" for originated routes. */
  peer: string;
  nextHop: string;
  linkLocal?: string;
  attrs: PathAttributes;
  ebgp: boolean;
  /** RFC 7911 path identifier as received (0 without add-path). */
  pathId: number;
}

/**
 * The change record (OpenBGPD prefix_evaluate): the best path or the multipath set of a
 * prefix changed. newBest undefined = withdrawn. `multipath` holds the ECMP set (best first).
 */
export interface RibChange {
  prefix: string;
  family: Family;
  oldBest?: PathInfo;
  newBest?: PathInfo;
  multipath: PathInfo[];
}

/** A path as bgpctl shows it (`show rib --detail`). */
export interface RibEntryView extends PathInfo {
  prefix: string;
  family: Family;
  valid: boolean;
  best: boolean;
  multipath: boolean;
  ibgp: boolean;
  stale: boolean;
  /** Rejected by import policy or loop detection; `reason` says which. */
  filtered: boolean;
  /** Why this path is not the best (decision step and words), or why it is filtered. */
  reason?: string;
}

export interface RibStats {
  prefixes: { ipv4: number; ipv6: number };
  paths: { ipv4: number; ipv6: number };
  attrSets: number;
  updateGroups: number;
  queued: number;
}

/**
 * Why the RIB left a route out, per peer: the daemon logs these (rate limited) and shows the
 * counts in `bgpctl show neighbor`. The RIB has no logger; it hands these over as data.
 * - `message-too-large`: its UPDATE would exceed the peer's maximum message size (RFC 8654 §4),
 *   so the route is not sent to that peer (withdrawn there if it had an older version).
 * - `bad-next-hop`: a received route's NEXT_HOP cannot be used (RFC 4271 §6.3), so the route is
 *   ignored: not a candidate for best path, never re-advertised or installed.
 */
export type RibNoticeReason = 'message-too-large' | 'bad-next-hop';

export interface RibNotice {
  /** Peer id the notice is about (receiver for message-too-large, sender for bad-next-hop). */
  peer: string;
  reason: RibNoticeReason;
  family: Family;
  prefix: string;
  detail: string;
}

/** Per-peer counts of RibNotice reasons since the peer was added. */
export type RibPeerCounters = Record<RibNoticeReason, number>;
