/**
 * Plain types shared by peers/ and its users: the validated Calico model (ClusterModel), the
 * desired BGP sessions (PeerConfig), and configuration issues. No behaviour lives here.
 */
import type { Family, LargeCommunity } from '../bgp/codec/types.js';
import type { Selector } from './selector.js';
import type { Cidr } from './model/net.js';

export type { Family, LargeCommunity, Selector, Cidr };

// ---- Configuration issues -------------------------------------------------------------

export interface ConfigIssue {
  severity: 'error' | 'warning';
  file: string;
  /** 1-based line in `file`; 0 when the issue concerns the whole file. */
  line: number;
  /** `Kind/name`, e.g. `BGPPeer/tor-a`, when the issue belongs to a resource. */
  resource?: string;
  /** Field path inside the resource, e.g. `spec.asNumber`, `spec.exportV4[1].cidr`. */
  path?: string;
  message: string;
  /** Warnings with the same key are printed once per load (the first, with a count of the rest). */
  once?: string;
}

/** `cluster.yaml:14: BGPPeer/tor-a: spec.asNumber: 4294967296 is not a valid AS number ...` */
export function formatIssue(i: ConfigIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}` : i.file;
  const parts = [where];
  if (i.resource) parts.push(i.resource);
  if (i.path) parts.push(i.path);
  return `${parts.join(': ')}: ${i.severity === 'warning' ? 'warning: ' : ''}${i.message}`;
}

/** Thrown when a model has errors; carries every error found (and the warnings). */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    super(`${errors.length} configuration error${errors.length === 1 ? '' : 's'}:\n` + errors.map((i) => `  ${formatIssue(i)}`).join('\n'));
    this.name = 'ConfigError';
  }
}

// ---- The Calico model ------------------------------------------------------------------

/** Calico BGPPassword. The file datastore also accepts a literal string (`value`). */
export interface Password {
  value?: string;
  secretKeyRef?: { name: string; key: string };
}

export type LogSeverity = 'Debug' | 'Info' | 'Warning' | 'Error' | 'Fatal';

export interface PrefixAdvertisement {
  cidr: Cidr;
  /** Names from `communities` already resolved to values `aa:nn` / `aa:nn:mm`. */
  communities: string[];
}

/** BGPConfiguration `default` (global) with Calico's defaults filled in. */
export interface BgpConfiguration {
  asNumber: number;
  nodeToNodeMeshEnabled: boolean;
  listenPort: number;
  bindMode: 'None' | 'NodeIP';
  nodeMeshPassword?: Password;
  /** Seconds. */
  nodeMeshMaxRestartTime?: number;
  communities: { name: string; value: string }[];
  prefixAdvertisements: PrefixAdvertisement[];
  serviceClusterIPs: Cidr[];
  serviceExternalIPs: Cidr[];
  serviceLoadBalancerIPs: Cidr[];
  /** Calico's default Enabled; Disabled withdraws the serviceLoadBalancerIPs CIDRs (peers/routes.ts). */
  serviceLoadBalancerAggregation: 'Enabled' | 'Disabled';
  ignoredInterfaces: string[];
  logSeverityScreen: LogSeverity;
  /** Tern extension `spec.nodeMeshBFD`: BFD on node-to-node mesh sessions (docs/bfd.md). */
  nodeMeshBFD?: BfdSettings;
  /**
   * Which pools' cluster routes Tern installs (Calico v3.32: Enabled/Disabled; main branch,
   * v3.33: the IPIP/NoEncap split). Unset: `Enabled`, v3.32's default; the main branch's own
   * default is EnabledNoEncapOnly (the parser warns where that difference matters).
   */
  programClusterRoutes: ProgramClusterRoutes;
}

export type ProgramClusterRoutes = 'Enabled' | 'Disabled' | 'EnabledIPIPOnly' | 'EnabledNoEncapOnly';

/** BFD for one BGP session (RFC 5880/5881/5883, coupled per RFC 5882). Times in ms. */
export interface BfdSettings {
  minRxMs: number;
  minTxMs: number;
  multiplier: number;
  /** RFC 5883 multihop (UDP 4784, no TTL 255 rule) instead of RFC 5881 single-hop. */
  multihop: boolean;
  /** Hold the BGP session until BFD is Up (otherwise BGP does not wait for BFD). */
  strict: boolean;
  /** BIRD's `bfd graceful`: BFD Down is a graceful-restart event, routes kept stale. */
  graceful: boolean;
  /** RFC 5880 §6.7.4 Keyed SHA1 / Meticulous Keyed SHA1. */
  authentication?: BfdAuthentication;
}

export interface BfdAuthentication {
  type: 'KeyedSHA1' | 'MeticulousKeyedSHA1';
  /** Auth Key ID (RFC 5880 §4.4), 0..255. */
  keyID: number;
  key: Password;
}

/** BfdSettings as planned for one session, the key resolved (one that cannot be read holds the session down: PeerConfig.passwordError). */
export type PlannedBfd = Omit<BfdSettings, 'authentication'> & {
  auth?: { type: BfdAuthentication['type']; keyId: number; key: string };
};

/** BGPConfiguration `node.<name>`: Calico honours only these three per node. */
export interface NodeBgpConfiguration {
  node: string;
  listenPort?: number;
  logSeverityScreen?: LogSeverity;
  prefixAdvertisements?: PrefixAdvertisement[];
}

export interface CalicoNode {
  name: string;
  labels: Record<string, string>;
  /** Address without the subnet, e.g. `198.18.1.10`. */
  ipv4Address?: string;
  /** The subnet written with the address, e.g. `198.18.1.0/24` (a /32 when none was given). */
  ipv4Subnet?: Cidr;
  ipv6Address?: string;
  ipv6Subnet?: Cidr;
  asNumber?: number;
  routeReflectorClusterID?: string;
  line: number;
}

/**
 * Tern extension (Calico has no such field): a limit on the prefixes a peer may announce in
 * one address family (RFC 4486 §4). `spec.maxPrefixes: {ipv4: {limit, warningPercent,
 * restartInterval}}` in a BGPPeer.
 */
export interface MaxPrefixLimit {
  /** Prefixes received (Adj-RIB-In, before import policy) above which the session is closed. */
  limit: number;
  /** Percent of `limit` at which a warning is logged (default 75). */
  warningPercent: number;
  /** Seconds after the Cease before the session may start again; absent: stays down until `bgpctl neighbor X up|clear`. */
  restartInterval?: number;
}

export interface BgpPeerResource {
  name: string;
  line: number;
  node?: string;
  nodeSelector?: Selector;
  peerIP?: { address: string; family: Family; port?: number };
  asNumber?: number;
  peerSelector?: Selector;
  localASNumber?: number;
  keepOriginalNextHop: boolean;
  nextHopMode?: 'Auto' | 'Self' | 'Keep';
  password?: Password;
  sourceAddress: 'UseNodeIP' | 'None';
  /** Seconds. */
  maxRestartTime?: number;
  /** Seconds. */
  keepaliveTime?: number;
  numAllowedLocalASNumbers?: number;
  ttlSecurity?: number;
  filters: string[];
  reachableBy?: string;
  /** Tern extension `spec.bfd` (docs/bfd.md). */
  bfd?: BfdSettings;
  /** Manual: the far-end Calico nodes do not peer back automatically (a separate BGPPeer does). */
  reversePeering: 'Auto' | 'Manual';
  /** Tern extension: max-prefix limits per family. */
  maxPrefixes?: Partial<Record<Family, MaxPrefixLimit>>;
}

export type FilterMatchOperator = 'Equal' | 'NotEqual' | 'In' | 'NotIn';

/** One Calico BGPFilter operation (applied, in order, to a route an Accept rule matched). */
export type BgpFilterOperation =
  | { addCommunity: string }
  | { prependASPath: number[] }
  /** Calico `setPriority.value`: the route's priority (kernel metric units, lower is preferred). */
  | { setPriority: number };

export interface BgpFilterRule {
  cidr?: Cidr;
  matchOperator?: FilterMatchOperator;
  prefixLength?: { min?: number; max?: number };
  source?: 'RemotePeers';
  interface?: string;
  peerType?: 'eBGP' | 'iBGP';
  /** `communities.values[0]`: the route carries this community (`aa:nn`) or large community (`aa:nn:mm`). */
  community?: string;
  /** The route's AS_PATH begins with these AS numbers. */
  asPathPrefix?: number[];
  /** Calico `priority`: the route's priority is this (see peers/filters.ts priorityOfLocalPref). */
  priority?: number;
  action: 'Accept' | 'Reject';
  /** Only with action Accept (Calico's validation). */
  operations: BgpFilterOperation[];
}

export interface BgpFilter {
  name: string;
  line: number;
  exportV4: BgpFilterRule[];
  importV4: BgpFilterRule[];
  exportV6: BgpFilterRule[];
  importV6: BgpFilterRule[];
}

export type EncapMode = 'Never' | 'Always' | 'CrossSubnet';

export interface IpPool {
  name: string;
  line: number;
  cidr: Cidr;
  blockSize: number;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  disabled: boolean;
  disableBGPExport: boolean;
  nodeSelector: Selector;
}

export interface IpamBlock {
  name: string;
  line: number;
  cidr: Cidr;
  /** Node name from `affinity: host:<node>`; undefined when the block has no host affinity. */
  affinityNode?: string;
  deleted: boolean;
  /** Node name for each allocated ordinal that is in use on a node (attributes[].secondary.node). */
  allocationNodes: Map<number, string>;
}

export interface BlockAffinity {
  name: string;
  line: number;
  node: string;
  cidr: Cidr;
  state: 'confirmed' | 'pending' | 'pendingDeletion';
  deleted: boolean;
}

/** A Kubernetes Service, as far as Calico's per-service routes need it (confd routes.go). */
export interface ServiceResource {
  namespace: string;
  name: string;
  line: number;
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** spec.clusterIPs (or spec.clusterIP); empty for a headless Service. */
  clusterIPs: string[];
  externalIPs: string[];
  /** spec.loadBalancerIP (deprecated, still read by Calico). */
  loadBalancerIP?: string;
  /** status.loadBalancer.ingress[].ip */
  ingressIPs: string[];
  externalTrafficPolicy: 'Cluster' | 'Local';
  ipFamilies: ('IPv4' | 'IPv6')[];
}

/** A Kubernetes EndpointSlice of a Service (label kubernetes.io/service-name). */
export interface EndpointSliceResource {
  namespace: string;
  name: string;
  line: number;
  service: string;
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: { ready: boolean; nodeName?: string }[];
}

export interface ClusterModel {
  /** File the model came from. */
  source: string;
  bgpConfig: BgpConfiguration;
  nodeBgpConfigs: Map<string, NodeBgpConfiguration>;
  /** In file order. */
  nodes: CalicoNode[];
  /** Sorted by name: Calico keys peers by name, and planning must be deterministic. */
  peers: BgpPeerResource[];
  filters: Map<string, BgpFilter>;
  ipPools: IpPool[];
  ipamBlocks: IpamBlock[];
  blockAffinities: BlockAffinity[];
  /**
   * Kubernetes Secrets (apiVersion v1) in the file, name -> key -> value, so that a BGPPassword
   * `secretKeyRef` keeps its Calico shape in the file datastore.
   */
  secrets: Map<string, Record<string, string>>;
  /** Kubernetes Services and EndpointSlices, for per-service routes (empty when not supplied). */
  services: ServiceResource[];
  endpointSlices: EndpointSliceResource[];
}

// ---- Planned sessions -------------------------------------------------------------------

export type PeerKind = 'mesh' | 'global' | 'node' | 'selector' | 'rr-client' | 'reflector';
export type NextHopMode = 'Auto' | 'Self' | 'Keep';

/** One desired BGP session of this node, handed to the session layer. */
export interface PeerConfig {
  /** Stable identity: the peer address, plus `:port` when the port is not 179. */
  key: string;
  kind: PeerKind;
  /** Why the session exists, for `bgpctl show neighbors`. */
  description: string;
  peerAddress: string;
  peerPort: number;
  peerAs: number;
  localAs: number;
  /** Source address to bind (node IP of the peer's family), absent for sourceAddress None. */
  localAddress?: string;
  password?: string;
  /**
   * The password comes from a secretKeyRef that could not be resolved (peers/secrets.ts): the
   * session must stay down until it can be, never run unauthenticated. Names peer and secret.
   */
  passwordError?: string;
  /** RFC 5082 GTSM: the peer is at most this many hops away. */
  ttlSecurity?: number;
  /** Seconds. */
  keepaliveTime?: number;
  /** Seconds; three keepalives (RFC 4271 §10) when keepaliveTime is set. */
  holdTime?: number;
  /** Seconds; RFC 4724 restart time we advertise. */
  maxRestartTime?: number;
  nextHopMode: NextHopMode;
  numAllowedLocalASNumbers?: number;
  /** RFC 4456: we are a route reflector and this peer is our client. */
  routeReflectorClient: boolean;
  families: Family[];
  /** BGPFilter names, in evaluation order. */
  filters: string[];
  /** Gateway through which the peer is reached (a static route to the peer goes via it). */
  reachableBy?: string;
  /** BFD for this session (Tern extension, docs/bfd.md); absent = no BFD. */
  bfd?: PlannedBfd;
  /** Tern extension: max-prefix limits per family (from the BGPPeer's spec.maxPrefixes). */
  maxPrefixes?: Partial<Record<Family, MaxPrefixLimit>>;
  /** The Calico node at the far end, when the peer is one. */
  sourceNode?: string;
  /**
   * Wait for the peer to connect instead of connecting (Calico makes half of each mesh pair,
   * and of global peerings between Calico nodes, passive: the side whose peer address sorts
   * higher as a string). Present only when true.
   */
  passive?: boolean;
}
