/**
 * BGPFilter evaluation (Calico API bgpfilter.go, confd's generated BIRD filter functions).
 * A BGPPeer lists filters; their rules for the direction and family are tried in order and
 * the first rule that matches decides (its operations run, then accept or reject: BIRD's
 * `then { ...; accept; }` ends the filter). No match gives 'none', and the caller applies the
 * default (defaultFilterAction): Calico accepts on import and falls back to its normal export
 * policy (advertise what the node originates, reflect per RFC 4456) on export.
 */
import type { BgpFilter, BgpFilterOperation, BgpFilterRule, Family, LargeCommunity } from './types.js';
import { cidrContains, maxLen, parseCidr } from './model/net.js';

export interface FilterContext {
  /** Export: 'RemotePeers' for a route learned from a BGP peer, 'Local' for one this node originates. Import routes are always from peers. */
  source?: 'RemotePeers' | 'Local';
  /** Outgoing interface of the route (e.g. `cali1234`, `tunl0`). */
  interface?: string;
  /** Type of the session the route is imported from or exported to. */
  peerType?: 'eBGP' | 'iBGP';
  /** The route's communities (RFC 1997, 32-bit values) and large communities (RFC 8092). */
  communities?: readonly number[];
  largeCommunities?: readonly LargeCommunity[];
  /** Does the route's AS_PATH begin with these AS numbers (as BIRD sees it in the filter)? */
  asPathStartsWith?: (asns: readonly number[]) => boolean;
  /**
   * The route's LOCAL_PREF as BIRD's `bgp_local_pref` holds it in Calico's filter: what the
   * route carries (BIRD gives a route received without one its default, 100), or for a route
   * this node originates, the one Calico's export filter gives it (localPrefOfPriority of the
   * normal route priority, 1024). Undefined: no priority rule can match.
   */
  localPref?: number;
}

/**
 * Calico carries a route's priority (kernel metric units: lower is preferred) in LOCAL_PREF,
 * inverted so that BGP's "higher LOCAL_PREF wins" prefers the lower priority: LOCAL_PREF =
 * 2^31-1 - priority (confd template_funcs.go BirdIntMaxValue, filterMatchPriority,
 * filterOperationStatements; Calico v3.32 and later).
 */
export const PRIORITY_BASE = 2147483647;
export const localPrefOfPriority = (priority: number): number => PRIORITY_BASE - priority;
/** The priority a LOCAL_PREF stands for; undefined outside Calico's range 1 .. 2^31-2. */
export function priorityOfLocalPref(localPref: number): number | undefined {
  const p = PRIORITY_BASE - localPref;
  return p >= 1 && p <= PRIORITY_BASE - 1 ? p : undefined;
}
/**
 * The priority of a route this node originates, as Calico's export filter sees it (confd
 * bgp_processor.go buildExportFilter: krt_metric, else the normal route priority, 1024, the
 * FelixConfiguration and BGPConfiguration default). Tern does not learn Felix's kernel routes,
 * so an elevated priority Felix gives a workload route (live migration) is not seen.
 */
export const NORMAL_ROUTE_PRIORITY = 1024;

/**
 * The LOCAL_PREF from which a route carries a Calico priority that Tern installs as the kernel
 * metric (Calico's kernel export: krt_metric = 2^31-1 - bgp_local_pref). Calico applies that to
 * every BGP route; Tern only from 2^30 up (priorities 1 .. 2^30-1), so that the routes of peers
 * that use LOCAL_PREF the usual way (100, 200: BIRD, FRR, Tern itself) keep ternd --metric
 * instead of landing at metrics near 2^31. Calico v3.32+ nodes send 2^31-1-1024 for their
 * routes: those are installed at 1024, as Calico installs them.
 */
export const PRIORITY_LOCAL_PREF_MIN = 2 ** 30;
export const MAX_INSTALLED_PRIORITY = PRIORITY_BASE - PRIORITY_LOCAL_PREF_MIN;
/** The kernel metric a route with this LOCAL_PREF gets, or undefined: the FIB's own metric. */
export const kernelMetricOf = (localPref: number | undefined): number | undefined =>
  localPref !== undefined && localPref >= PRIORITY_LOCAL_PREF_MIN && localPref < PRIORITY_BASE ? PRIORITY_BASE - localPref : undefined;

/** `aa:nn` -> RFC 1997 value, `aa:nn:mm` -> RFC 8092 large community. */
export function parseCommunity(v: string): { standard: number } | { large: LargeCommunity } {
  const p = v.split(':').map(Number);
  return p.length === 2 ? { standard: ((p[0] << 16) >>> 0) + p[1] } : { large: { globalAdmin: p[0], local1: p[1], local2: p[2] } };
}

/** BIRD `(aa, nn) ~ bgp_community` / `(aa, nn, mm) ~ bgp_large_community`. */
function carries(ctx: FilterContext, value: string): boolean {
  const c = parseCommunity(value);
  if ('standard' in c) return ctx.communities?.includes(c.standard) ?? false;
  const l = c.large;
  return ctx.largeCommunities?.some((x) => x.globalAdmin === l.globalAdmin && x.local1 === l.local1 && x.local2 === l.local2) ?? false;
}

export type FilterVerdict = 'accept' | 'reject' | 'none';

/** Calico interface patterns use `*` as a wildcard (BIRD `ifname ~ "cali*"`). */
function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(name);
}

export function ruleMatches(rule: BgpFilterRule, direction: 'import' | 'export', prefix: string, ctx: FilterContext): boolean {
  return prefixMatches(rule, prefix) && contextMatches(rule, direction, ctx);
}

/** The rule's CIDR test (cidr + matchOperator); a rule without one matches every prefix. */
function prefixMatches(rule: BgpFilterRule, prefix: string): boolean {
  if (!rule.cidr || !rule.matchOperator) return true;
  const p = parseCidr(prefix);
  if (typeof p === 'string' || p.family !== rule.cidr.family) return false;
  const equal = p.net === rule.cidr.net && p.len === rule.cidr.len;
  // In/NotIn: inside the CIDR with a length in [min, max] (default: the CIDR's own length .. host length).
  const min = rule.prefixLength?.min ?? rule.cidr.len,
    max = rule.prefixLength?.max ?? maxLen(p.family);
  const within = cidrContains(rule.cidr, p) && p.len >= min && p.len <= max;
  return { Equal: equal, NotEqual: !equal, In: within, NotIn: !within }[rule.matchOperator];
}

/** Everything else a rule tests: the route's source, interface, session type and attributes. */
function contextMatches(rule: BgpFilterRule, direction: 'import' | 'export', ctx: FilterContext): boolean {
  // source RemotePeers: on export, only routes learned from peers; on import every route is.
  if (rule.source === 'RemotePeers' && direction === 'export' && ctx.source !== 'RemotePeers') return false;
  if (rule.interface !== undefined && (ctx.interface === undefined || !globMatch(rule.interface, ctx.interface))) return false;
  if (rule.peerType !== undefined && rule.peerType !== ctx.peerType) return false;
  if (rule.community !== undefined && !carries(ctx, rule.community)) return false;
  if (rule.asPathPrefix !== undefined && !(ctx.asPathStartsWith?.(rule.asPathPrefix) ?? false)) return false;
  // BIRD: (defined(bgp_local_pref) && bgp_local_pref = 2^31-1 - priority).
  if (rule.priority !== undefined && (ctx.localPref === undefined || ctx.localPref !== localPrefOfPriority(rule.priority))) return false;
  return true;
}

/**
 * matchFilters for every prefix at once, for a route's attributes and context (the RIB asks once
 * per attribute set instead of once per prefix): the rule that decides for any prefix, null when
 * no rule can match any prefix, or undefined when the answer depends on the prefix (a rule with
 * a CIDR matches the context before any rule without one does).
 */
export function matchFiltersForAnyPrefix(
  filters: readonly BgpFilter[],
  direction: 'import' | 'export',
  family: Family,
  ctx: FilterContext,
): BgpFilterRule | null | undefined {
  const key = `${direction}${family === 'ipv4' ? 'V4' : 'V6'}` as const;
  for (const f of filters) {
    for (const rule of f[key]) {
      if (!contextMatches(rule, direction, ctx)) continue;
      return rule.cidr && rule.matchOperator ? undefined : rule;
    }
  }
  return null;
}

/** The first rule that matches, across the filters in the BGPPeer's order, or undefined. */
export function matchFilters(
  filters: readonly BgpFilter[],
  direction: 'import' | 'export',
  family: Family,
  prefix: string,
  ctx: FilterContext = {},
): BgpFilterRule | undefined {
  const key = `${direction}${family === 'ipv4' ? 'V4' : 'V6'}` as const;
  for (const f of filters) {
    for (const rule of f[key]) if (ruleMatches(rule, direction, prefix, ctx)) return rule;
  }
  return undefined;
}

export function evaluateFilters(
  filters: readonly BgpFilter[],
  direction: 'import' | 'export',
  family: Family,
  prefix: string,
  ctx: FilterContext = {},
): FilterVerdict {
  const rule = matchFilters(filters, direction, family, prefix, ctx);
  return !rule ? 'none' : rule.action === 'Accept' ? 'accept' : 'reject';
}

/**
 * A rule's operations as one attribute edit (bgp/rib/policy-edit.ts AttrEdit shape), in
 * Calico's order: communities added, AS numbers prepended so the path starts with them in
 * the order listed (confd emits one BIRD prepend per AS, last first), and `setPriority` as
 * BIRD's `bgp_local_pref = 2^31-1 - value` (the last one wins, as the last assignment does).
 */
export function operationsEdit(ops: readonly BgpFilterOperation[]): {
  addCommunities: number[];
  addLargeCommunities: LargeCommunity[];
  prependAs: number[];
  setLocalPref?: number;
} {
  const edit: { addCommunities: number[]; addLargeCommunities: LargeCommunity[]; prependAs: number[]; setLocalPref?: number } = {
    addCommunities: [],
    addLargeCommunities: [],
    prependAs: [],
  };
  for (const op of ops) {
    if ('setPriority' in op) edit.setLocalPref = localPrefOfPriority(op.setPriority);
    else if ('addCommunity' in op) {
      const c = parseCommunity(op.addCommunity);
      if ('standard' in c) edit.addCommunities.push(c.standard);
      else edit.addLargeCommunities.push(c.large);
    } else edit.prependAs = [...op.prependASPath, ...edit.prependAs];
  }
  return edit;
}

/**
 * What an unmatched route gets.
 * - policy 'calico' (the default; what Calico does, so existing clusters behave the same):
 *   import accepts; export returns 'default-export', meaning "apply Tern's normal export
 *   rules" (advertise this node's originated routes; reflect per RFC 4456).
 * - policy 'rfc8212': RFC 8212 §3-4 for eBGP sessions: a route no explicit rule accepted is
 *   neither imported from nor exported to an eBGP peer (whether or not it lists filters).
 *   iBGP sessions keep the Calico behaviour.
 * ternd uses 'calico' unless started with --ebgp-filter-default rfc8212 (docs/configuration.md,
 * "When no rule matches").
 */
export function defaultFilterAction(
  direction: 'import' | 'export',
  opts: { ebgp: boolean; policy?: 'calico' | 'rfc8212' },
): 'accept' | 'reject' | 'default-export' {
  if (opts.policy === 'rfc8212' && opts.ebgp) return 'reject';
  return direction === 'import' ? 'accept' : 'default-export';
}

/** Resolve a PeerConfig's filter names against the model (names Calico cannot find are skipped). */
export function filtersByName(all: ReadonlyMap<string, BgpFilter>, names: readonly string[]): BgpFilter[] {
  return names.map((n) => all.get(n)).filter((f): f is BgpFilter => !!f);
}
