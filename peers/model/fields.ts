/**
 * Every field of Calico's API that the readers accept, per section, with what Tern does with it:
 *  - applied: means in Tern what it means in Calico;
 *  - no-effect: accepted, and has no effect on BGP in Calico either (IPAM, Felix, metadata);
 *  - warned: accepted with a warning naming the field (printed once per load, however many
 *    resources use it), because Tern does not do what Calico would;
 *  - refused: an error naming the field: the resource would mean something Tern cannot do.
 * A field in no list is unknown: an error with a did-you-mean (kubectl's strict validation
 * refuses it under Calico). The readers take their field lists from here, and
 * docs/configuration.md's coverage table is generated from here (test/peers/fields.test.ts
 * fails when the two differ), so neither can drift from the code.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type FieldStatus = 'applied' | 'no-effect' | 'warned' | 'refused';

export interface FieldInfo {
  name: string;
  status: FieldStatus;
  note?: string;
  /** The warning's text when "not implemented by Tern (ignored)" would not be true. */
  warning?: string;
}

const f = (name: string, status: FieldStatus = 'applied', note?: string, warning?: string): FieldInfo => ({ name, status, note, warning });
const noEffect = (names: string[], note: string): FieldInfo[] => names.map((n) => f(n, 'no-effect', note));

export const META_SECTION = 'metadata';

export const SECTIONS = {
  resource: [f('apiVersion'), f('kind'), f('metadata'), f('spec'), f('status', 'no-effect', 'written by Calico, not read')],
  metadata: [
    f('name'),
    f('labels', 'applied', 'Node labels feed nodeSelector/peerSelector'),
    ...noEffect(
      [
        'namespace',
        'annotations',
        'uid',
        'resourceVersion',
        'creationTimestamp',
        'generation',
        'managedFields',
        'finalizers',
        'ownerReferences',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
        'generateName',
        'selfLink',
      ],
      'Kubernetes object bookkeeping',
    ),
  ],
  'BGPConfiguration spec': [
    f('asNumber'),
    f('nodeToNodeMeshEnabled'),
    f('listenPort'),
    f('bindMode'),
    f('nodeMeshPassword', 'applied', 'a secret that cannot be read keeps the mesh sessions down'),
    f('nodeMeshMaxRestartTime'),
    f('communities'),
    f('prefixAdvertisements'),
    f('serviceClusterIPs'),
    f('serviceExternalIPs'),
    f('serviceLoadBalancerIPs'),
    f(
      'serviceLoadBalancerAggregation',
      'applied',
      'Disabled: no LoadBalancer CIDR; a /32 (/128) per Service with a ready endpoint (Services and EndpointSlices from the datastore)',
    ),
    f('logSeverityScreen', 'applied', "sets ternd's log level unless --log-level is given"),
    f('ignoredInterfaces', 'no-effect', 'Tern does not export interface (BIRD "direct") routes, so there is nothing to exclude'),
    f('nodeMeshBFD', 'applied', "Tern extension, not in Calico's API: BFD on mesh sessions (docs/bfd.md)"),
    f('localWorkloadPeeringIPV4', 'warned', 'local workload peering is not implemented (BGPPeer localWorkloadSelector is refused)'),
    f('localWorkloadPeeringIPV6', 'warned', 'local workload peering is not implemented (BGPPeer localWorkloadSelector is refused)'),
    f(
      'programClusterRoutes',
      'applied',
      "which pools' cluster routes Tern installs; unset means Enabled (the Calico v3.32 default), and an IPIP pool then gets a warning, since the Calico main branch (v3.33) leaves IPIP routes to Felix by default",
    ),
    f(
      'ipv4NormalRoutePriority',
      'warned',
      "Tern's kernel routes use ternd --metric (or a route's Calico priority); BGPFilter priority matches give this node's own routes 1024",
    ),
    f(
      'ipv6NormalRoutePriority',
      'warned',
      "Tern's kernel routes use ternd --metric (or a route's Calico priority); BGPFilter priority matches give this node's own routes 1024",
    ),
  ],
  'BGPConfiguration communities[]': [f('name'), f('value')],
  'BGPConfiguration prefixAdvertisements[]': [f('cidr'), f('communities')],
  'BGPConfiguration service CIDR': [f('cidr')],
  password: [f('secretKeyRef')],
  secretKeyRef: [f('name'), f('key'), f('optional', 'warned', 'Tern treats every password secret as required: a session never runs without its password')],
  'Node spec': [
    f('bgp'),
    ...noEffect(
      ['addresses', 'orchRefs', 'ipv4VXLANTunnelAddr', 'ipv6VXLANTunnelAddr', 'vxlanTunnelMACAddr', 'vxlanTunnelMACAddrV6', 'wireguard'],
      "used by Felix, not by Calico's BGP",
    ),
    f('interfaces', 'no-effect', "Felix's interface inventory; Calico's BGP uses it only for local workload peering (refused on BGPPeer)"),
  ],
  'Node spec.bgp': [
    f('ipv4Address'),
    f('ipv6Address'),
    f('asNumber'),
    f('routeReflectorClusterID'),
    f('ipv4IPIPTunnelAddr', 'no-effect', "the tunnel address is Felix's"),
  ],
  'BGPPeer spec': [
    f('node'),
    f('nodeSelector'),
    f('peerIP'),
    f('asNumber'),
    f('peerSelector'),
    f('localASNumber'),
    f('keepOriginalNextHop', 'applied', 'eBGP only, as Calico; with nextHopMode set, nextHopMode wins (warned)'),
    f('nextHopMode'),
    f('password', 'applied', 'a secret that cannot be read keeps the session down'),
    f('sourceAddress'),
    f('maxRestartTime'),
    f('keepaliveTime'),
    f('numAllowedLocalASNumbers'),
    f('ttlSecurity'),
    f('filters'),
    f('reachableBy'),
    f('reversePeering'),
    f('bfd', 'applied', "Tern extension, not in Calico's API: BFD for these sessions (docs/bfd.md)"),
    f('maxPrefixes', 'applied', "Tern extension, not in Calico's API: max-prefix limits per family (RFC 4486 §4, docs/configuration.md)"),
    f(
      'localWorkloadSelector',
      'refused',
      'local workload peering (BGP sessions with workloads on this node, Calico v3.30+) is not implemented: a BGPPeer with it would have no session',
    ),
  ],
  'BGPFilter spec': [f('exportV4'), f('importV4'), f('exportV6'), f('importV6')],
  'BGPFilter rule': [
    f('cidr'),
    f('matchOperator'),
    f('prefixLength'),
    f('source'),
    // BIRD knows a route's outgoing interface (ifname); Tern's policies see prefix and
    // attributes only. Refusing would reject Calico's own examples; never matching is what a
    // Calico route without an interface (a blackhole block) gets too.
    f(
      'interface',
      'warned',
      "the route's outgoing interface is not known to Tern's policies: the rule never matches",
      "not implemented by Tern: the route's outgoing interface is not known to Tern's policies, so this rule never matches",
    ),
    f('peerType'),
    f('communities'),
    f('asPathPrefix'),
    f('action'),
    f('operations'),
    f(
      'priority',
      'applied',
      "as Calico v3.32+: matches LOCAL_PREF = 2^31-1 - priority (100 when the route came without one); this node's own routes have the normal priority 1024 (Tern does not see a priority Felix gives a workload route)",
    ),
  ],
  'BGPFilter prefixLength': [f('min'), f('max')],
  'BGPFilter communities': [f('values')],
  'BGPFilter operation': [
    f('addCommunity'),
    f('prependASPath'),
    f(
      'setPriority',
      'applied',
      "as Calico v3.32+: LOCAL_PREF = 2^31-1 - value (best path; sent to iBGP peers, never to eBGP) and the kernel route's metric; values above 2^30-1 are refused (docs/configuration.md)",
    ),
  ],
  'BGPFilter addCommunity': [f('value')],
  'BGPFilter setPriority': [f('value')],
  'BGPFilter prependASPath': [f('prefix')],
  'IPPool spec': [
    f('cidr'),
    f('blockSize'),
    f('ipipMode'),
    f('vxlanMode'),
    f('disableBGPExport'),
    f('disabled', 'no-effect', 'IPAM only: Calico keeps exporting the blocks of a disabled pool (pool migration relies on it)'),
    ...noEffect(['natOutgoing', 'allowedUses', 'assignmentMode', 'namespaceSelector'], 'IPAM or Felix only'),
    f('nodeSelector', 'no-effect', 'IPAM only: which nodes allocate blocks from the pool'),
    f('ipip', 'warned', 'Calico v1 field; use ipipMode'),
    f('nat-outgoing', 'warned', 'Calico v1 field; use natOutgoing'),
  ],
  'IPAMBlock spec': [
    f('cidr'),
    f('affinity'),
    f('allocations'),
    f('attributes'),
    f('deleted'),
    ...noEffect(['affinityClaimTime', 'unallocated', 'strictAffinity', 'sequenceNumber', 'sequenceNumberForAllocation'], 'IPAM bookkeeping'),
  ],
  'BlockAffinity spec': [f('node'), f('cidr'), f('state'), f('deleted'), f('type', 'no-effect', 'IPAM bookkeeping')],
  Secret: [f('apiVersion'), f('kind'), f('metadata'), f('data'), f('stringData'), ...noEffect(['type', 'immutable'], 'Kubernetes bookkeeping')],
} satisfies Record<string, FieldInfo[]>;

export type Section = keyof typeof SECTIONS;

const bySection = new Map<Section, ReadonlyMap<string, FieldInfo>>();
/** A section's fields by name (built once: the readers ask per resource, and a cluster has thousands). */
export function sectionFields(s: Section): ReadonlyMap<string, FieldInfo> {
  let m = bySection.get(s);
  if (!m) bySection.set(s, (m = new Map(SECTIONS[s].map((x) => [x.name, x]))));
  return m;
}

export const fieldNames = (s: Section): string[] => [...sectionFields(s).keys()];

/** The kinds Tern reads; every other kind of Calico's API groups is ignored by name. */
export const TERN_KINDS = ['BGPConfiguration', 'Node', 'BGPPeer', 'BGPFilter', 'IPPool', 'IPAMBlock', 'BlockAffinity'] as const;
/** Calico's other kinds (api/pkg/apis/projectcalico/v3 register.go, and the CRD-only IPAM kinds). */
export const OTHER_CALICO_KINDS = [
  'CalicoNodeStatus',
  'ClusterInformation',
  'FelixConfiguration',
  'GlobalNetworkPolicy',
  'GlobalNetworkSet',
  'HostEndpoint',
  'IPAMConfiguration',
  'IPAMConfig',
  'IPAMHandle',
  'IPReservation',
  'KubeControllersConfiguration',
  'NetworkPolicy',
  'NetworkSet',
  'Profile',
  'StagedGlobalNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'StagedNetworkPolicy',
  'Tier',
  'QoSPolicy',
  'WorkloadEndpoint',
];

/**
 * The candidate a misspelt name most likely meant: the same letters in another case, else the
 * closest by edit distance (at most 2, and less than half the name).
 */
export function didYouMean(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const sameCase = candidates.find((c) => c.toLowerCase() === lower);
  if (sameCase) return sameCase;
  let best: string | undefined,
    bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= 2 && bestD < name.length / 2 ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

export const COVERAGE_BEGIN = '<!-- field-coverage:begin (generated by `npm run docs:fields` from peers/model/fields.ts; do not edit) -->';
export const COVERAGE_END = '<!-- field-coverage:end -->';

/** Replace the table between the markers in a Markdown file (`npm run docs:fields`). */
export function writeCoverageTable(file: string): void {
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(COVERAGE_BEGIN),
    b = text.indexOf(COVERAGE_END);
  if (a < 0 || b < a) throw new Error(`${file}: coverage markers not found`);
  writeFileSync(file, `${text.slice(0, a + COVERAGE_BEGIN.length)}\n${fieldCoverageMarkdown()}\n${text.slice(b)}`);
}

/** docs/configuration.md's field-coverage table, generated (see the header). */
export function fieldCoverageMarkdown(): string {
  const label: Record<FieldStatus, string> = {
    applied: 'applied',
    'no-effect': 'accepted, no BGP effect (as in Calico)',
    warned: 'warned',
    refused: 'refused (error)',
  };
  const rows = ['| Section | Field | Tern | Note |', '|---|---|---|---|'];
  for (const [section, fields] of Object.entries(SECTIONS) as [string, FieldInfo[]][]) {
    for (const x of fields) rows.push(`| ${section} | \`${x.name}\` | ${label[x.status]} | ${(x.note ?? '').replace(/\|/g, '\\|')} |`);
  }
  const count = (s: FieldStatus) =>
    Object.values(SECTIONS)
      .flat()
      .filter((x: FieldInfo) => x.status === s).length;
  rows.push(
    '',
    `${count('applied')} applied, ${count('no-effect')} without BGP effect, ${count('warned')} warned, ${count('refused')} refused; any other field is an error.`,
  );
  return rows.join('\n');
}
