// Pure translations between the modules: the Calico plan (peers/) into the session layer's
// and the RIB's peer configs (bgp/), Calico BGPFilters into RIB policy functions, and RIB
// change records into FIB changes (fib/). No I/O here, so every rule is unit-testable.
import type { SessionConfig } from '../../bgp/fsm/config.js';
import type { PolicyFn, RibChange, RibPeer, SetPolicyFn } from '../../bgp/rib/rib-types.js';
import { asPathStartsWith, editAttrs } from '../../bgp/rib/policy-edit.js';
import { contains, ipv4Number, parseIp } from '../../bgp/codec/address.js';
import { formatPrefix } from '../../bgp/codec/prefix.js';
import { AFI_IPV4, AFI_IPV6, type PathAttributes, type Prefix } from '../../bgp/codec/types.js';
import type { FibChange, FibFailure, NextHop } from '../../fib/types.js';
import { withdraw } from '../../fib/types.js';
import {
  defaultFilterAction,
  encapsulationFor,
  filtersByName,
  matchFilters,
  matchFiltersForAnyPrefix,
  kernelMetricOf,
  localPrefOfPriority,
  NORMAL_ROUTE_PRIORITY,
  operationsEdit,
  type BgpFilter,
  type BgpFilterRule,
  type FilterContext,
  type ClusterModel,
  type LocalSpeaker,
  type OriginatedRoute,
  type PeerConfig,
} from '../../peers/index.js';

/** Tern's defaults where Calico leaves a value unset (documented in docs/configuration.md). */
export const TERN_DEFAULTS = {
  /** Seconds; BIRD's default too. */
  holdTime: 90,
  /** Seconds between connection attempts. RFC 4271 suggests 120; a pod network wants a node
   * that comes back to be reached within seconds, as BIRD's `connect delay time 5` does. */
  connectRetryTime: 5,
  /** RFC 4724 restart time we advertise when the model sets none (Calico's default is 120 s). */
  restartTime: 120,
};

/** BIRD's `default bgp_local_pref`: the LOCAL_PREF its filters see on a route received without one. */
const BIRD_DEFAULT_LOCAL_PREF = 100;

export interface WiringOptions {
  /** Advertise the GR F bit: the kernel routes survive a ternd restart (--fib kernel). */
  forwardingPreserved: boolean;
  /** We restarted with routes still in the kernel: advertise the GR R bit (RFC 4724 §4.1). */
  restarting: boolean;
  /** Tests shorten timers through this. */
  connectRetryTime?: number;
}

export function sessionConfigOf(pc: PeerConfig, local: LocalSpeaker, o: WiringOptions): SessionConfig {
  return {
    peerAddress: pc.peerAddress,
    peerPort: pc.peerPort,
    peerAs: pc.peerAs,
    localAs: pc.localAs,
    localAddress: pc.localAddress,
    routerId: local.routerId,
    holdTime: pc.holdTime ?? TERN_DEFAULTS.holdTime,
    keepaliveTime: pc.keepaliveTime,
    connectRetryTime: o.connectRetryTime ?? TERN_DEFAULTS.connectRetryTime,
    // RFC 4271 §8.1.1 DampPeerOscillations: the first IdleHoldTime after a flap (bgp/ default 5 s)
    // is no longer than the connect retry the operator asked for, else a session restarted by a
    // reload (route reflector switch) waits 5 s in Idle refusing the peer's connections.
    ...(o.connectRetryTime !== undefined ? { idleHoldTimeMs: Math.min(5000, o.connectRetryTime * 1000) } : {}),
    // peers/ plans Calico's unidirectional mesh: one side of a node pair waits (RFC 4271 §6.8
    // collisions avoided), the same side BIRD under Calico would pick.
    passive: pc.passive ?? false,
    password: pc.password,
    ttlSecurity: pc.ttlSecurity,
    families: pc.families,
    // RFC 7911: receive on every session; send towards our RR clients so they can build
    // ECMP through the reflector.
    addPath: { receive: true, send: pc.routeReflectorClient },
    gracefulRestart: {
      restartTime: pc.maxRestartTime ?? TERN_DEFAULTS.restartTime,
      forwardingPreserved: o.forwardingPreserved,
      restarting: o.restarting,
    },
    hostname: local.nodeName,
    description: pc.description,
  };
}

/** Numeric containment on the wire bytes: no string formatting on the per-prefix path. */
const within = (net: Prefix, p: Prefix): boolean => net.afi === p.afi && p.len >= net.len && contains(net.addr, net.len, p.addr);

/**
 * The IPPools whose routes Calico exports, as wire prefixes: every pool without
 * disableBGPExport (bird_ipam.cfg.template calico_export_to_bgp_peers accepts `net ~ pool` for
 * each; `disabled` only stops IPAM allocating from it, and the pool migration procedure relies
 * on the blocks of a disabled pool staying reachable).
 */
export function exportablePools(model: ClusterModel): Prefix[] {
  return model.ipPools
    .filter((p) => !p.disableBGPExport)
    .map((p) => {
      const addr = parseIp(p.cidr.text.split('/')[0]);
      if (!addr) throw new Error(`IPPool ${p.name}: unparsable cidr ${p.cidr.text}`);
      return { afi: addr.length === 4 ? AFI_IPV4 : AFI_IPV6, len: p.cidr.len, addr };
    });
}

export interface Policies {
  importPolicy?: PolicyFn;
  exportPolicy: PolicyFn;
}

export interface PolicyOptions {
  /**
   * What an eBGP peer that lists BGPFilters gets for a route no rule matched: 'calico' (the
   * default: import accepts, export falls back to Calico's export rules, as BIRD under Calico
   * does) or 'rfc8212' (RFC 8212 §3-4: neither imported nor exported). ternd --ebgp-filter-default.
   */
  ebgpFilterDefault?: 'calico' | 'rfc8212';
}

/**
 * RIB policy functions for one planned peer.
 * Export, when no BGPFilter rule decides (Calico's calico_export_to_bgp_peers): what this node
 * originates, and routes inside an exportable IPPool; nothing else (a ToR's default route is
 * not passed on). BGPFilter rules are tried first, in order; an Accept rule's operations
 * (add community, prepend AS path) become attribute edits. With --ebgp-filter-default rfc8212
 * an eBGP peer that lists filters gets RFC 8212 semantics: a route no rule accepted is neither
 * imported nor exported.
 */
/**
 * Peers whose policies come from the same inputs get the same function objects: the RIB keys
 * update groups by policy identity (RFC 4271 §9.2 work shared), so a hundred mesh peers share
 * one encoded UPDATE stream instead of a hundred.
 */
const policyCache = new Map<string, Policies>();

export function policiesFor(pc: PeerConfig, model: ClusterModel, opts: PolicyOptions = {}): Policies {
  const filters = filtersByName(model.filters, pc.filters);
  const key = JSON.stringify([filters, exportablePools(model), pc.peerAs !== pc.localAs, opts.ebgpFilterDefault ?? 'calico'], (k, v: unknown) =>
    k === 'line' ? undefined : typeof v === 'bigint' ? v.toString() : v,
  );
  const hit = policyCache.get(key);
  if (hit) return hit;
  const made = buildPolicies(filters, pc, model, opts);
  if (policyCache.size > 1000) policyCache.clear();
  policyCache.set(key, made);
  return made;
}

function buildPolicies(filters: BgpFilter[], pc: PeerConfig, model: ClusterModel, opts: PolicyOptions): Policies {
  const ebgp = pc.peerAs !== pc.localAs;
  const policy = opts.ebgpFilterDefault ?? 'calico';
  const peerType = ebgp ? 'eBGP' : 'iBGP';
  const pools = exportablePools(model);
  const familyOf = (p: Prefix) => (p.afi === AFI_IPV4 ? 'ipv4' : 'ipv6') as 'ipv4' | 'ipv6';
  // Which matches the rules use: the attributes are looked at only when one needs them.
  const rules = filters.flatMap((f) => [...f.exportV4, ...f.exportV6, ...f.importV4, ...f.importV6]);
  const needsAttrs = rules.some((r) => r.community !== undefined || r.asPathPrefix !== undefined || r.priority !== undefined);
  // A BIRD export filter runs before BIRD prepends our AS for an eBGP peer; the RIB hands the
  // export policy the path with our AS already first (bgp/rib/policy-edit.ts).
  // A priority rule compares LOCAL_PREF as BIRD holds it in Calico's filters: what the route
  // carries, else BIRD's default 100 (an eBGP route's is dropped on import, RFC 4271 §5.1.5);
  // for a route this node originates, the normal route priority's (peers/filters.ts).
  const ctxOf = (a: PathAttributes, ownAsFirst: boolean, source: FilterContext['source'], localPref: number | undefined): FilterContext =>
    needsAttrs
      ? {
          source,
          peerType,
          communities: a.communities,
          largeCommunities: a.largeCommunities,
          asPathStartsWith: (asns) => asPathStartsWith(a.asPath, asns, ownAsFirst),
          localPref,
        }
      : { source, peerType };
  // `ownAsFirst` is true exactly for an export towards an eBGP peer, which never gets LOCAL_PREF
  // (RFC 4271 §5.1.5; BIRD drops it there too): a setPriority then has no effect on the wire.
  const apply = (rule: BgpFilterRule, a: PathAttributes, ownAsFirst: boolean) => {
    if (rule.action === 'Reject') return 'reject' as const;
    if (!rule.operations.length) return 'accept' as const;
    const edit = operationsEdit(rule.operations);
    if (ownAsFirst) delete edit.setLocalPref;
    return editAttrs(a, edit, ownAsFirst);
  };

  // The RIB says whether the path is one this node originates (a locally originated route
  // always wins the decision, bgp/rib/decision.ts step 0): Calico's source Local, and exported.
  const exportLocalPref = (source: FilterContext['source'], locRibLocalPref: number): number =>
    source === 'Local' ? localPrefOfPriority(NORMAL_ROUTE_PRIORITY) : locRibLocalPref >= 0 ? locRibLocalPref : BIRD_DEFAULT_LOCAL_PREF;
  const exportPolicy: PolicyFn = (prefix, attrs, _peer, locRibLocalPref = -1, origin = 'peer') => {
    if (filters.length > 0) {
      const source = origin === 'local' ? 'Local' : 'RemotePeers';
      const rule = matchFilters(
        filters,
        'export',
        familyOf(prefix),
        formatPrefix(prefix),
        ctxOf(attrs, ebgp, source, exportLocalPref(source, locRibLocalPref)),
      );
      if (rule) return apply(rule, attrs, ebgp);
      if (defaultFilterAction('export', { ebgp, policy }) === 'reject') return 'reject';
    }
    if (origin === 'local') return 'accept';
    for (const pool of pools) if (within(pool, prefix)) return 'accept';
    return 'reject';
  };
  // The same rules without a prefix (rib-types.ts SetPolicyFn): the RIB asks once per attribute
  // set. Only a rule with a CIDR, or the pool test of Calico's fallback, needs the prefix.
  const exportPerSet: SetPolicyFn = (family, attrsOf, _peer, locRibLocalPref = -1, origin = 'peer') => {
    if (filters.length > 0) {
      const source = origin === 'local' ? 'Local' : 'RemotePeers';
      const attrs = needsAttrs ? attrsOf() : NO_ATTRS;
      const rule = matchFiltersForAnyPrefix(filters, 'export', family, ctxOf(attrs, ebgp, source, exportLocalPref(source, locRibLocalPref)));
      if (rule === undefined) return undefined;
      if (rule) return apply(rule, rule.operations.length && !needsAttrs ? attrsOf() : attrs, ebgp);
      if (defaultFilterAction('export', { ebgp, policy }) === 'reject') return 'reject';
    }
    if (origin === 'local') return 'accept';
    return pools.length === 0 ? 'reject' : undefined;
  };
  if (filters.length === 0) return { exportPolicy: Object.assign(exportPolicy, { perSet: exportPerSet }) };
  const importPolicy: PolicyFn = (prefix, attrs) => {
    const text = formatPrefix(prefix);
    const rule = matchFilters(filters, 'import', familyOf(prefix), text, ctxOf(attrs, false, 'RemotePeers', attrs.localPref ?? BIRD_DEFAULT_LOCAL_PREF));
    if (rule) return apply(rule, attrs, false);
    return defaultFilterAction('import', { ebgp, policy }) === 'reject' ? 'reject' : 'accept';
  };
  const importPerSet: SetPolicyFn = (family, attrsOf) => {
    const attrs = needsAttrs ? attrsOf() : NO_ATTRS;
    const rule = matchFiltersForAnyPrefix(filters, 'import', family, ctxOf(attrs, false, 'RemotePeers', attrs.localPref ?? BIRD_DEFAULT_LOCAL_PREF));
    if (rule === undefined) return undefined;
    if (rule) return apply(rule, rule.operations.length && !needsAttrs ? attrsOf() : attrs, false);
    return defaultFilterAction('import', { ebgp, policy }) === 'reject' ? 'reject' : 'accept';
  };
  return { importPolicy: Object.assign(importPolicy, { perSet: importPerSet }), exportPolicy: Object.assign(exportPolicy, { perSet: exportPerSet }) };
}

/** Stands in for attributes no rule reads (the context built from it reads none either). */
const NO_ATTRS: PathAttributes = Object.freeze({});

export function ribPeerOf(pc: PeerConfig, local: LocalSpeaker, model: ClusterModel, opts: PolicyOptions = {}): RibPeer {
  const node = model.nodes.find((n) => n.name === local.nodeName);
  return {
    id: pc.key,
    address: pc.peerAddress,
    asn: pc.peerAs,
    localAddress: node?.ipv4Address,
    localAddress6: node?.ipv6Address,
    routeReflectorClient: pc.routeReflectorClient,
    nextHopMode: pc.nextHopMode,
    allowOwnAs: pc.numAllowedLocalASNumbers,
    ...policiesFor(pc, model, opts),
  };
}

export interface FibContext {
  model: ClusterModel;
  /** This node's connected subnets, for IPIP CrossSubnet. */
  localSubnets: readonly string[];
  /** What this node originates, by prefix (blackholes for its blocks). */
  originated: ReadonlyMap<string, OriginatedRoute>;
  tunnelDevice: string;
}

/**
 * Per-route work on the FIB path must not parse CIDRs through BigInt (a full table is a million
 * change records): find the prefix's IPPool with integer compares on IPv4, then reuse one
 * interned next-hop list per (pool, next hop), since the encapsulation depends on nothing else.
 */
class FibMapper {
  private readonly pools4: { net: number; mask: number; len: number; cidr: string }[] = [];
  private readonly hops = new Map<string, NextHop[] | null>();
  private readonly anyPool6: boolean;
  constructor(private readonly c: FibContext) {
    this.anyPool6 = c.model.ipPools.some((p) => p.cidr.family === 'ipv6');
    for (const p of c.model.ipPools) {
      if (p.cidr.family !== 'ipv4') continue;
      const mask = p.cidr.len === 0 ? 0 : (0xffffffff << (32 - p.cidr.len)) >>> 0;
      this.pools4.push({ net: Number(p.cidr.net) >>> 0, mask, len: p.cidr.len, cidr: p.cidr.text });
    }
    // Most specific pool first, as peers/ poolOf does.
    this.pools4.sort((a, b) => b.len - a.len);
  }

  /** The pool CIDR that holds `prefix` ('' for none), or undefined when it needs the slow path. */
  private poolOf(prefix: string): string | undefined {
    const slash = prefix.indexOf('/');
    const addr = prefix.slice(0, slash);
    if (addr.includes(':')) return this.anyPool6 ? undefined : '';
    const len = Number(prefix.slice(slash + 1));
    const n = ipv4Number(addr);
    if (n === undefined) return undefined;
    for (const p of this.pools4) if (len >= p.len && (n & p.mask) >>> 0 === p.net) return p.cidr;
    return '';
  }

  /** Next hops for `prefix` via `nextHop` (one entry), null when BGP must not install it. */
  hopsFor(prefix: string, nextHop: string): NextHop[] | null {
    const pool = this.poolOf(prefix);
    // The encapsulation of a prefix is that of its pool; a prefix in no pool goes direct.
    const probe = pool === undefined ? prefix : pool === '' ? null : pool;
    const key = `${probe ?? ''}|${nextHop}`;
    let h = this.hops.get(key);
    if (h !== undefined) return h;
    if (probe === null) h = [{ gateway: nextHop }];
    else {
      const enc = encapsulationFor(this.c.model, probe, nextHop, this.c.localSubnets);
      h = !enc.install ? null : enc.mode === 'ipip' ? [{ gateway: nextHop, dev: this.c.tunnelDevice, onlink: true }] : [{ gateway: nextHop }];
    }
    if (pool !== undefined) {
      if (this.hops.size > 100_000) this.hops.clear();
      this.hops.set(key, h);
    }
    return h;
  }
}

const mappers = new WeakMap<FibContext, FibMapper>();

/**
 * The kernel route for one change record. Our own blocks become blackholes (Calico does the
 * same, so traffic to an unallocated address of the block is dropped here rather than sent
 * back to the fabric); learned routes go via their next hops (the ECMP set when multipath),
 * through the tunnel per the pool's IPIP mode; VXLAN pools are left to Felix.
 */
export function fibChangeOf(ch: RibChange, c: FibContext): FibChange {
  const best = ch.newBest;
  if (!best) return withdraw(ch.prefix);
  if (best.peer === 'local') {
    const o = c.originated.get(ch.prefix);
    return o?.fib === 'blackhole' ? { prefix: ch.prefix, kind: 'blackhole', nexthops: [] } : withdraw(ch.prefix);
  }
  let m = mappers.get(c);
  if (!m) mappers.set(c, (m = new FibMapper(c)));
  // A Calico route priority (BGPFilter setPriority, or a Calico v3.32+ peer's LOCAL_PREF) is the
  // kernel metric (peers/filters.ts kernelMetricOf); ECMP paths share the best's LOCAL_PREF.
  const metric = kernelMetricOf(best.attrs?.localPref);
  const route = (nexthops: NextHop[]): FibChange =>
    metric === undefined ? { prefix: ch.prefix, kind: 'unicast', nexthops } : { prefix: ch.prefix, kind: 'unicast', nexthops, metric };
  const paths = ch.multipath.length > 1 ? ch.multipath : [best];
  if (paths.length === 1) {
    const h = best.peer === 'local' ? null : m.hopsFor(ch.prefix, best.nextHop);
    return h ? route(h) : withdraw(ch.prefix);
  }
  const hops: NextHop[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    if (p.peer === 'local' || seen.has(p.nextHop)) continue;
    const h = m.hopsFor(ch.prefix, p.nextHop);
    if (!h) continue;
    seen.add(p.nextHop);
    hops.push(...h);
  }
  return hops.length ? route(hops) : withdraw(ch.prefix);
}

/** Prefixes named per distinct FIB error in the log; the rest are counted. */
export const FIB_FAILURE_EXAMPLES = 5;

/**
 * FIB failures as log lines: one per distinct error, with a count and the first few prefixes.
 * A next hop gone bad can fail a hundred thousand routes in one batch, and a line per route
 * would flood the log (and stall the event loop writing it).
 */
export function groupFibFailures(
  failures: FibFailure[],
  examples = FIB_FAILURE_EXAMPLES,
): { error: string; prefixes: string[]; count: number; message: string }[] {
  const byError = new Map<string, { prefixes: string[]; count: number }>();
  for (const f of failures) {
    let g = byError.get(f.error);
    if (!g) byError.set(f.error, (g = { prefixes: [], count: 0 }));
    if (g.prefixes.length < examples) g.prefixes.push(f.prefix);
    g.count++;
  }
  return [...byError].map(([error, g]) => {
    const more = g.count > g.prefixes.length ? ` and ${g.count - g.prefixes.length} more` : '';
    return {
      error,
      prefixes: g.prefixes,
      count: g.count,
      message: `kernel route${g.count > 1 ? 's' : ''} ${g.prefixes.join(', ')}${more} not installed: ${error}`,
    };
  });
}
