/**
 * Route origination and installation rules from the Calico model:
 * - originatedRoutes: what this node advertises (its IPAM blocks, borrowed addresses,
 *   service CIDRs) with the communities BGPConfiguration attaches to them.
 * - encapsulationFor: how a route learned for another node's block goes into the FIB
 *   (direct, IPIP via tunl0, or left to Felix for VXLAN), as Calico's bird_ipam template does.
 */
import type { ClusterModel, Family, IpPool, LargeCommunity } from './types.js';
import { findNode } from './plan.js';
import { cidrAddress, cidrContains, cidrContainsIp, maxLen, parseCidr, type Cidr } from './model/net.js';

export type RouteOrigin = 'block' | 'borrowed' | 'service-cluster-ip' | 'service-external-ip' | 'service-loadbalancer-ip' | 'service';

export interface OriginatedRoute {
  /** Canonical CIDR text. */
  prefix: string;
  family: Family;
  origin: RouteOrigin;
  /**
   * What to put in this node's FIB: `blackhole` for an affine block (Calico/Felix does the
   * same, so traffic to unallocated addresses of the block is dropped here rather than looping),
   * `none` when the route is advertised only (services, and borrowed /32s whose workload
   * routes Felix owns).
   */
  fib: 'blackhole' | 'none';
  /** RFC 1997 communities as 32-bit numbers (the form bgp/types PathAttributes uses). */
  communities: number[];
  /** RFC 8092 large communities. */
  largeCommunities: LargeCommunity[];
  /** IPPool the prefix belongs to, when any. */
  pool?: string;
  /** Why it is advertised, for `bgpctl show`. */
  reason: string;
}

const poolOf = (model: ClusterModel, c: Cidr): IpPool | undefined =>
  model.ipPools.filter((p) => cidrContains(p.cidr, c)).sort((a, b) => b.cidr.len - a.cidr.len)[0];

function parseCommunities(values: string[]): { communities: number[]; largeCommunities: LargeCommunity[] } {
  const communities: number[] = [],
    largeCommunities: LargeCommunity[] = [];
  for (const v of values) {
    const parts = v.split(':').map(Number);
    if (parts.length === 2) communities.push(((parts[0] << 16) >>> 0) + parts[1]);
    else largeCommunities.push({ globalAdmin: parts[0], local1: parts[1], local2: parts[2] });
  }
  return { communities: [...new Set(communities)], largeCommunities };
}

/** Calico excludes a node carrying this label (value "true") from service advertisement. */
export const EXCLUDE_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export function originatedRoutes(model: ClusterModel, nodeName: string): OriginatedRoute[] {
  const me = findNode(model, nodeName);
  const routes = new Map<string, OriginatedRoute>();
  // A node's own BGPConfiguration prefixAdvertisements replace the global ones (confd processCommunityRules).
  const adverts = model.nodeBgpConfigs.get(nodeName)?.prefixAdvertisements ?? model.bgpConfig.prefixAdvertisements;
  const add = (c: Cidr, origin: RouteOrigin, fib: OriginatedRoute['fib'], reason: string, pool?: string) => {
    if (routes.has(c.text)) return;
    // BIRD `net ~ cidr`: the advertisement applies to the CIDR and everything inside it.
    const values = adverts.filter((a) => cidrContains(a.cidr, c)).flatMap((a) => a.communities);
    routes.set(c.text, { prefix: c.text, family: c.family, origin, fib, pool, reason, ...parseCommunities(values) });
  };
  // Calico's export filter (bird_ipam.cfg.template calico_export_to_bgp_peers), in order:
  //  reject_disabled_pools(): only disableBGPExport pools; `disabled` stops IPAM allocating
  //    from a pool, not its export (the pool migration procedure disables the old pool while
  //    its pods still run);
  //  calico_aggr(): accepts each confirmed affine block exactly, whatever pool holds it;
  //  then `net ~ pool` accepts addresses of any other exportable pool (borrowed /32s).
  const noExport = (c: Cidr): boolean => model.ipPools.some((p) => p.disableBGPExport && cidrContains(p.cidr, c));
  const exportable = (c: Cidr): IpPool | undefined => {
    const pool = poolOf(model, c);
    return pool && !pool.disableBGPExport ? pool : undefined;
  };

  // 1. Blocks affine to this node: IPAMBlock affinity host:<node>, or a confirmed BlockAffinity.
  const blocks: { cidr: Cidr; why: string }[] = [];
  for (const b of model.ipamBlocks) {
    if (!b.deleted && b.affinityNode === nodeName) blocks.push({ cidr: b.cidr, why: `IPAMBlock ${b.name} (affinity host:${nodeName})` });
  }
  for (const a of model.blockAffinities) {
    if (a.node === nodeName && a.state === 'confirmed' && !a.deleted) blocks.push({ cidr: a.cidr, why: `BlockAffinity ${a.name} (confirmed)` });
  }
  for (const { cidr, why } of blocks) {
    if (noExport(cidr)) continue;
    // bird_aggr.cfg.template: no blackhole for a host-sized block, whose one address is a
    // workload route Felix owns.
    const host = cidr.len === maxLen(cidr.family);
    add(cidr, 'block', host ? 'none' : 'blackhole', why, poolOf(model, cidr)?.name);
  }
  // 2. Borrowed addresses: an address of another node's block in use on this node is
  //    advertised as a host route (Calico's calico_aggr exports such /32s).
  for (const b of model.ipamBlocks) {
    if (b.deleted || b.affinityNode === nodeName || b.allocationNodes.size === 0) continue;
    // The pool only for a block with an address in use here: a 250k-block model looked up the
    // pool of every other node's block, 150 ms of the main thread per reload (issue 17).
    let pool: IpPool | undefined | null = null;
    for (const [ordinal, node] of b.allocationNodes) {
      if (node !== nodeName) continue;
      if (pool === null) pool = exportable(b.cidr);
      if (!pool) break;
      const host = parseCidr(`${cidrAddress(b.cidr, ordinal)}/${maxLen(b.cidr.family)}`) as Cidr;
      add(host, 'borrowed', 'none', `address ${ordinal} of IPAMBlock ${b.name} (affine to ${b.affinityNode ?? 'no node'}) is used on ${nodeName}`, pool.name);
    }
  }
  // 3. Service CIDRs, advertised from every node not excluded from load balancing.
  if (me.labels[EXCLUDE_LB_LABEL] !== 'true') {
    const svc: [Cidr[], RouteOrigin, string][] = [
      [model.bgpConfig.serviceClusterIPs, 'service-cluster-ip', 'serviceClusterIPs'],
      [model.bgpConfig.serviceExternalIPs, 'service-external-ip', 'serviceExternalIPs'],
      [model.bgpConfig.serviceLoadBalancerIPs, 'service-loadbalancer-ip', 'serviceLoadBalancerIPs'],
    ];
    // Calico confd: single addresses among the external and LoadBalancer CIDRs are advertised
    // per Service (step 4), never from every node; with serviceLoadBalancerAggregation
    // Disabled no LoadBalancer CIDR is (onLoadBalancerIPsUpdate).
    const perService = (c: Cidr, origin: RouteOrigin) => origin !== 'service-cluster-ip' && c.len === maxLen(c.family);
    const lbOff = model.bgpConfig.serviceLoadBalancerAggregation === 'Disabled';
    for (const [list, origin, field] of svc) {
      if (origin === 'service-loadbalancer-ip' && lbOff) continue;
      for (const c of list) if (!perService(c, origin)) add(c, origin, 'none', `BGPConfiguration default spec.${field}`);
    }
  }
  // 4. Per-service host routes (confd routes.go), from nodes not excluded from load balancing.
  if (me.labels[EXCLUDE_LB_LABEL] !== 'true') {
    for (const r of serviceRoutes(model, nodeName)) add(r.cidr, 'service', 'none', r.reason);
  }
  return [...routes.values()];
}

const hostCidr = (ip: string): Cidr => parseCidr(`${ip}/${ip.includes(':') ? 128 : 32}`) as Cidr;
const within = (ip: string, list: readonly Cidr[]): Cidr | undefined => list.find((c) => cidrContainsIp(c, ip));
const isSingle = (ip: string | undefined, list: readonly Cidr[]): boolean =>
  ip !== undefined && list.some((c) => c.len === maxLen(c.family) && cidrContainsIp(c, ip));

/**
 * Calico confd routes.go, per Service with EndpointSlices (advertiseThisService, then
 * getAllRoutesForService): the host routes of its cluster IPs (when serviceClusterIPs is set),
 * of its external IPs inside serviceExternalIPs, and of its LoadBalancer ingress IPs inside
 * serviceLoadBalancerIPs, when
 *  - externalTrafficPolicy Cluster and the Service has a single-address (/32, /128) external or
 *    LoadBalancer IP entry: from every node;
 *  - externalTrafficPolicy Local: from the nodes with a ready endpoint of the Service;
 *  - externalTrafficPolicy Cluster with serviceLoadBalancerAggregation Disabled: from every node
 *    while the Service has any ready endpoint.
 * A Service with no EndpointSlice at all is left alone (confd returns before deciding).
 */
export function serviceRoutes(model: ClusterModel, nodeName: string): { cidr: Cidr; reason: string }[] {
  const cfg = model.bgpConfig;
  const aggregate = cfg.serviceLoadBalancerAggregation === 'Enabled';
  const out: { cidr: Cidr; reason: string }[] = [];
  for (const svc of model.services) {
    if (svc.type === 'ExternalName' || svc.clusterIPs.length === 0) continue;
    const slices = model.endpointSlices.filter((e) => e.namespace === svc.namespace && e.service === svc.name);
    if (slices.length === 0) continue;
    const id = `Service ${svc.namespace}/${svc.name}`;
    let why: string | undefined;
    if (svc.externalTrafficPolicy === 'Cluster') {
      if (svc.type === 'LoadBalancer' && [svc.loadBalancerIP, ...svc.ingressIPs].some((ip) => isSingle(ip, cfg.serviceLoadBalancerIPs)))
        why = 'a single-address serviceLoadBalancerIPs entry';
      else if (svc.externalIPs.some((ip) => isSingle(ip, cfg.serviceExternalIPs))) why = 'a single-address serviceExternalIPs entry';
    }
    if (!why && (svc.externalTrafficPolicy === 'Local' || !aggregate)) {
      const ready = slices.filter((s) => (svc.ipFamilies as string[]).includes(s.addressType)).flatMap((s) => s.endpoints.filter((e) => e.ready));
      if (svc.externalTrafficPolicy === 'Local')
        why = ready.some((e) => e.nodeName === nodeName) ? 'externalTrafficPolicy Local, a ready endpoint on this node' : undefined;
      else why = ready.length ? 'serviceLoadBalancerAggregation Disabled, a ready endpoint' : undefined;
    }
    if (!why) continue;
    const ips = [
      ...(cfg.serviceClusterIPs.length ? svc.clusterIPs.map((ip) => [ip, 'cluster IP'] as const) : []),
      ...svc.externalIPs.filter((ip) => within(ip, cfg.serviceExternalIPs)).map((ip) => [ip, 'external IP'] as const),
      ...svc.ingressIPs.filter((ip) => within(ip, cfg.serviceLoadBalancerIPs)).map((ip) => [ip, 'LoadBalancer IP'] as const),
    ];
    for (const [ip, what] of ips) out.push({ cidr: hostCidr(ip), reason: `${id} ${what} (${why})` });
  }
  return out;
}

export type Encapsulation =
  | { install: true; mode: 'direct'; nextHop: string; pool?: string; reason: string }
  | { install: true; mode: 'ipip'; device: 'tunl0'; onlink: true; nextHop: string; pool: string; reason: string }
  | { install: false; mode: 'vxlan' | 'felix'; pool: string; reason: string };

/**
 * How to install a route learned from a peer for `prefix` via `nextHop`. `localSubnets` are
 * this node's directly connected subnets (see localSubnets()).
 *  - prefix in an IPIP Always pool: via tunl0, onlink (the next hop is the remote node's
 *    address, which the kernel reaches through the tunnel's underlay).
 *  - IPIP CrossSubnet: direct when the next hop is inside one of our subnets, else tunl0.
 *  - VXLAN pools: not installed; Felix programs VXLAN routes itself.
 *  - Pools BGPConfiguration programClusterRoutes leaves to Felix: not installed.
 *  - Never, or a prefix in no pool (e.g. a ToR's routes): direct via the next hop.
 */
export function encapsulationFor(model: ClusterModel, prefix: string, nextHop: string, localSubnets: readonly string[]): Encapsulation {
  const c = parseCidr(prefix);
  if (typeof c === 'string') throw new Error(`encapsulationFor: ${c}`);
  const pool = poolOf(model, c);
  if (!pool) return { install: true, mode: 'direct', nextHop, reason: `${c.text} is in no IPPool` };
  if (pool.vxlanMode !== 'Never')
    return { install: false, mode: 'vxlan', pool: pool.name, reason: `IPPool ${pool.name} uses VXLAN (${pool.vxlanMode}); Felix programs it` };
  // BGPConfiguration programClusterRoutes (confd bgp_processor.go programsPool): which pools'
  // cluster routes the BGP daemon programs; Felix programs the others.
  const ipip = pool.ipipMode !== 'Never';
  const mode = model.bgpConfig.programClusterRoutes;
  if (!(ipip ? mode === 'Enabled' || mode === 'EnabledIPIPOnly' : mode !== 'Disabled' && mode !== 'EnabledIPIPOnly')) {
    return {
      install: false,
      mode: 'felix',
      pool: pool.name,
      reason: `programClusterRoutes ${mode}: Felix programs the cluster routes of ${ipip ? 'IPIP' : 'unencapsulated'} IPPool ${pool.name}`,
    };
  }
  const tunnel = { install: true as const, mode: 'ipip' as const, device: 'tunl0' as const, onlink: true as const, nextHop, pool: pool.name };
  if (pool.ipipMode === 'Always') return { ...tunnel, reason: `IPPool ${pool.name} ipipMode Always` };
  if (pool.ipipMode === 'CrossSubnet') {
    const subnet = localSubnets.map((s) => parseCidr(s)).find((s): s is Cidr => typeof s !== 'string' && cidrContainsIp(s, nextHop));
    return subnet
      ? { install: true, mode: 'direct', nextHop, pool: pool.name, reason: `IPPool ${pool.name} ipipMode CrossSubnet, next hop in local subnet ${subnet.text}` }
      : { ...tunnel, reason: `IPPool ${pool.name} ipipMode CrossSubnet, next hop outside the local subnets` };
  }
  return { install: true, mode: 'direct', nextHop, pool: pool.name, reason: `IPPool ${pool.name} has no encapsulation` };
}

/** This node's subnets as written in its Node resource (`198.18.1.10/24` -> `198.18.1.0/24`). */
export function localSubnets(model: ClusterModel, nodeName: string): string[] {
  const n = findNode(model, nodeName);
  return [n.ipv4Subnet, n.ipv6Subnet].filter((c): c is Cidr => !!c && c.len < maxLen(c.family)).map((c) => c.text);
}
