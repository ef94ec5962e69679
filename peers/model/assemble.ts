/**
 * From decoded resources to a model: Calico's defaults and the checks that need more than one
 * resource. Shared by the file parser (parse.ts, which builds a whole model at once) and the
 * live model of the watched datastores (live.ts, which keeps one up to date a resource at a
 * time), so that both say the same thing about the same content.
 */
import type { BgpConfiguration, BlockAffinity, ClusterModel, ConfigIssue, NodeBgpConfiguration } from '../types.js';
import type { ConfigSpec } from './kinds-bgp.js';
import { cidrOverlaps } from './net.js';
import type { Reader } from './reader.js';

/** Where an issue about resource `kind/name` goes: its reader, and the line of `field` in its spec (the resource's line without one). */
export type At = (kind: string, name: string, field?: string) => { r: Reader; line: number };

/** BGPConfiguration default, with Calico's defaults (confd globalDefaults and the API's documented defaults). */
export function globalBgpConfig(global: ConfigSpec | undefined): BgpConfiguration {
  return {
    asNumber: global?.asNumber ?? 64512,
    nodeToNodeMeshEnabled: global?.nodeToNodeMeshEnabled ?? true,
    listenPort: global?.listenPort ?? 179,
    bindMode: global?.bindMode ?? 'None',
    nodeMeshPassword: global?.nodeMeshPassword,
    nodeMeshMaxRestartTime: global?.nodeMeshMaxRestartTime,
    communities: global?.communities ?? [],
    prefixAdvertisements: global?.prefixAdvertisements ?? [],
    serviceClusterIPs: global?.serviceClusterIPs ?? [],
    serviceExternalIPs: global?.serviceExternalIPs ?? [],
    serviceLoadBalancerIPs: global?.serviceLoadBalancerIPs ?? [],
    serviceLoadBalancerAggregation: global?.serviceLoadBalancerAggregation ?? 'Enabled',
    programClusterRoutes: global?.programClusterRoutes ?? 'Enabled',
    ignoredInterfaces: global?.ignoredInterfaces ?? [],
    logSeverityScreen: global?.logSeverityScreen ?? 'Info',
    nodeMeshBFD: global?.nodeMeshBFD,
  };
}

/** BGPConfiguration `node.<name>`: the fields Calico honours per node. */
export function nodeBgpConfig(node: string, spec: ConfigSpec): NodeBgpConfiguration {
  return { node, listenPort: spec.listenPort, logSeverityScreen: spec.logSeverityScreen, prefixAdvertisements: spec.prefixAdvertisements };
}

/** Two Nodes with one BGP address: the second is an error (Calico's IP address validation refuses it). */
export function addressTaken(at: At, node: string, address: string, other: string): void {
  const { r, line } = at('Node', node, 'bgp');
  r.error(line, 'spec.bgp', `address ${address} is also the address of Node ${other}`);
}

export function affinityWithoutNode(at: At, a: BlockAffinity): void {
  const { r, line } = at('BlockAffinity', a.name, 'node');
  r.warn(line, 'spec.node', `no Node named ${JSON.stringify(a.node)} in the model`);
}

/**
 * The checks across the few resources of a cluster (peers, per-node configurations, pools);
 * the many (Nodes' addresses, BlockAffinities' nodes) are checked by the callers, which the
 * live model does incrementally. `programClusterRoutesSet`: BGPConfiguration default has the field.
 */
export function checkReferences(model: ClusterModel, hasNode: (name: string) => boolean, at: At, programClusterRoutesSet: boolean): void {
  for (const p of model.peers) {
    if (p.node !== undefined && !hasNode(p.node)) {
      const { r, line } = at('BGPPeer', p.name, 'node');
      r.warn(line, 'spec.node', `no Node named ${JSON.stringify(p.node)} in the model`);
    }
    for (const f of p.filters) {
      if (!model.filters.has(f)) {
        const { r, line } = at('BGPPeer', p.name, 'filters');
        r.warn(line, 'spec.filters', `no BGPFilter named ${JSON.stringify(f)}; Calico skips it, and so does Tern`);
      }
    }
  }
  for (const [node] of model.nodeBgpConfigs) {
    if (!hasNode(node)) {
      const { r, line } = at('BGPConfiguration', `node.${node}`);
      r.warn(line, 'metadata.name', `no Node named ${JSON.stringify(node)} in the model`);
    }
  }
  // Calico's main branch (v3.33 in development) moves IPIP cluster routes to Felix by default
  // (BGPConfiguration programClusterRoutes EnabledNoEncapOnly, FelixConfiguration
  // EnabledIPIPOnly); v3.32 has Enabled/Disabled with default Enabled, older Calico no field,
  // and BIRD programs them. Unset, Tern keeps that behaviour: say so where it matters, since
  // with such a Felix both would program the same routes.
  const ipipPool = model.ipPools.find((p) => p.ipipMode !== 'Never');
  if (ipipPool && !programClusterRoutesSet) {
    const { r, line } = at('IPPool', ipipPool.name, 'ipipMode');
    r.warn(
      line,
      'spec.ipipMode',
      'BGPConfiguration default sets no programClusterRoutes: Tern installs the IPIP cluster routes itself, as BIRD does up to Calico v3.32; a Felix from the Calico main branch (v3.33) programs them too by default, so set programClusterRoutes to match your FelixConfiguration (EnabledNoEncapOnly with a 3.33 Felix left at its default)',
    );
  }
  model.ipPools.forEach((a, i) => {
    for (const b of model.ipPools.slice(i + 1)) {
      if (cidrOverlaps(a.cidr, b.cidr)) {
        const { r, line } = at('IPPool', b.name, 'cidr');
        r.error(line, 'spec.cidr', `${b.cidr.text} overlaps IPPool ${a.name} (${a.cidr.text})`);
      }
    }
  });
}

/**
 * Warnings that share a `once` key (a field Tern does not implement, used by many resources)
 * are reported once: the first, with how many more resources use it.
 */
export function onceEach(issues: ConfigIssue[]): ConfigIssue[] {
  const counts = new Map<string, number>();
  for (const i of issues) if (i.once) counts.set(i.once, (counts.get(i.once) ?? 0) + 1);
  const seen = new Set<string>();
  const out: ConfigIssue[] = [];
  for (const i of issues) {
    if (!i.once) {
      out.push(i);
      continue;
    }
    if (seen.has(i.once)) continue;
    seen.add(i.once);
    const more = counts.get(i.once)! - 1;
    out.push(more ? { ...i, message: `${i.message} (and in ${more} more resource${more === 1 ? '' : 's'})` } : i);
  }
  return out;
}
