// Kubernetes objects as a Calico cluster (KDD) or a kubeadm cluster holds them, for the
// kube-apiserver stand-in in tests, the conformance cluster and the benchmark. Field names and
// annotation keys are Calico's (libcalico-go k8s/resources/node.go, crd.projectcalico.org/v1).
import type { KObject } from './store.js';

const CRD = 'crd.projectcalico.org/v1';

export interface NodeOpts {
  /** `projectcalico.org/IPv4Address`, with prefix length, e.g. `198.18.10.11/24`. */
  ipv4?: string;
  asNumber?: number | string;
  clusterId?: string;
  labels?: Record<string, string>;
  /** Plain mode: spec.podCIDRs and the InternalIP address. */
  podCIDRs?: string[];
  internalIP?: string;
}

export function k8sNode(name: string, o: NodeOpts = {}): KObject {
  const annotations: Record<string, string> = {};
  if (o.ipv4) annotations['projectcalico.org/IPv4Address'] = o.ipv4;
  if (o.asNumber !== undefined) annotations['projectcalico.org/ASNumber'] = String(o.asNumber);
  if (o.clusterId) annotations['projectcalico.org/RouteReflectorClusterID'] = o.clusterId;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels }, annotations },
    spec: o.podCIDRs ? { podCIDR: o.podCIDRs[0], podCIDRs: o.podCIDRs } : {},
    status: { addresses: [...(o.internalIP ? [{ type: 'InternalIP', address: o.internalIP }] : []), { type: 'Hostname', address: name }] },
  };
}

export const crd = (kind: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): KObject => ({
  apiVersion: CRD,
  kind,
  metadata: { name, ...(labels ? { labels } : {}) },
  spec,
});

export const bgpConfiguration = (spec: Record<string, unknown>, name = 'default'): KObject => crd('BGPConfiguration', name, spec);
export const bgpPeer = (name: string, spec: Record<string, unknown>): KObject => crd('BGPPeer', name, spec);
export const ipPool = (name: string, cidr: string, extra: Record<string, unknown> = {}): KObject =>
  crd('IPPool', name, { cidr, blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()', ...extra });

/** An IPAMBlock as Calico IPAM writes it (name from the CIDR, `affinity: host:<node>`). */
export function ipamBlock(cidr: string, node: string, allocated = 0): KObject {
  const size = 2 ** (32 - Number(cidr.split('/')[1]));
  const allocations: (number | null)[] = Array.from({ length: size }, (_, i) => (i < allocated ? 0 : null));
  return crd('IPAMBlock', cidr.replace(/[./]/g, '-'), {
    cidr,
    affinity: `host:${node}`,
    allocations,
    unallocated: Array.from({ length: size - allocated }, (_, i) => i + allocated),
    attributes: allocated ? [{ handle_id: `k8s-pod-network.${node}`, secondary: { node, namespace: 'default', pod: `pod-${node}` } }] : [],
    strictAffinity: false,
    deleted: false,
    sequenceNumber: 0,
    sequenceNumberForAllocation: {},
  });
}

/** A BlockAffinity as Calico IPAM writes it: name `<node>-<cidr with dashes>`, `deleted` as a string. */
export const blockAffinity = (cidr: string, node: string, state = 'confirmed'): KObject =>
  crd('BlockAffinity', `${node}-${cidr.replace(/[./]/g, '-')}`, { node, cidr, state, deleted: 'false', type: 'host' });

export const secret = (name: string, namespace: string, data: Record<string, string>): KObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'Opaque',
  metadata: { name, namespace },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

export interface ServiceOpts {
  clusterIP: string;
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  externalTrafficPolicy?: 'Cluster' | 'Local';
  externalIPs?: string[];
  /** status.loadBalancer.ingress[].ip, as a LoadBalancer controller writes it. */
  ingress?: string[];
}

/** A core v1 Service as the API server returns it (one family, IPv4). */
export const service = (name: string, namespace: string, o: ServiceOpts): KObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace, annotations: { 'example.com/owner': 'team' } },
  spec: {
    type: o.type ?? 'ClusterIP',
    clusterIP: o.clusterIP,
    clusterIPs: [o.clusterIP],
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
    selector: { app: name },
    ...(o.externalIPs ? { externalIPs: o.externalIPs } : {}),
    ...(o.type === 'LoadBalancer' || o.type === 'NodePort' ? { externalTrafficPolicy: o.externalTrafficPolicy ?? 'Cluster' } : {}),
  },
  status: { loadBalancer: o.ingress ? { ingress: o.ingress.map((ip) => ({ ip, ipMode: 'VIP' })) } : {} },
});

/** A discovery.k8s.io/v1 EndpointSlice of Service `svc`, one endpoint per entry (IPv4). */
export const endpointSlice = (name: string, namespace: string, svc: string, endpoints: { node: string; ready: boolean }[]): KObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace, labels: { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
  addressType: 'IPv4',
  endpoints: endpoints.map((e, i) => ({
    addresses: [`10.244.9.${i + 1}`],
    nodeName: e.node,
    conditions: { ready: e.ready, serving: e.ready, terminating: false },
  })),
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
});
