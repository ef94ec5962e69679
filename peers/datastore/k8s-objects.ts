/**
 * Kubernetes API objects -> Calico v3-shaped resources, the way Calico's own Kubernetes
 * datastore driver reads them (libcalico-go/lib/backend/k8s/resources/node.go K8sNodeToCalico,
 * and the crd.projectcalico.org/v1 CRDs, whose spec is the v3 spec). Pure: no I/O; the reader
 * (kubernetes.ts) feeds the results to the ModelAssembler, which validates them like a file.
 */
import { familyOf, parseAsn, parseCidr } from '../model/net.js';
import type { ConfigIssue } from '../types.js';

/** Annotations Calico keeps a node's BGP settings in (libcalico-go k8s/resources/node.go). */
export const NODE_ANNOTATIONS = {
  ipv4Address: 'projectcalico.org/IPv4Address',
  ipv6Address: 'projectcalico.org/IPv6Address',
  asNumber: 'projectcalico.org/ASNumber',
  routeReflectorClusterID: 'projectcalico.org/RouteReflectorClusterID',
  /** Calico-only labels, JSON; the Kubernetes labels are laid over them (mergeCalicoAndK8sLabels). */
  labels: 'projectcalico.org/labels',
} as const;

/** The Calico kinds Tern reads as CRDs, with their crd.projectcalico.org/v1 plural. */
export const CALICO_CRDS = [
  { kind: 'BGPConfiguration', plural: 'bgpconfigurations' },
  { kind: 'BGPPeer', plural: 'bgppeers' },
  { kind: 'BGPFilter', plural: 'bgpfilters' },
  { kind: 'IPPool', plural: 'ippools' },
  { kind: 'IPAMBlock', plural: 'ipamblocks' },
  { kind: 'BlockAffinity', plural: 'blockaffinities' },
] as const;
export const CALICO_GROUP = 'crd.projectcalico.org';
export const CALICO_VERSION = 'v1';

/** How Nodes are read: Calico's annotations and IPAM CRDs, or Kubernetes' own podCIDRs. */
export type KubernetesMode = 'calico' | 'plain';

/** The fields of a core v1 Node (or a Secret) that Tern reads; informer objects have more. */
export interface K8sMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface K8sNode {
  metadata?: K8sMeta;
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: { type?: string; address?: string }[] };
}
export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: K8sMeta;
  spec?: unknown;
}
export interface K8sSecret {
  metadata?: K8sMeta;
  data?: Record<string, string>;
}

/** A resource for the assembler under `key`, and issues found translating it (Calico ignores such values). */
export interface Translated {
  entries: [string, unknown][];
  warnings: ConfigIssue[];
}

const warn = (source: string, resource: string, path: string, message: string): ConfigIssue => ({
  severity: 'warning',
  file: source,
  line: 0,
  resource,
  path,
  message,
});

/**
 * The part of an API object Tern reads, for the informer's cache: a 5,000-node cluster's
 * objects are mostly what Tern never looks at (managedFields, kubelet status, an IPAMBlock's
 * free list and allocation handles), and the informer would keep all of it. Keeps what the
 * informer needs (name, namespace, resourceVersion) and what translate*() reads.
 */
export function slimObject(kind: string, o: K8sObject & { status?: unknown }): K8sObject {
  const md = o.metadata as (K8sMeta & { resourceVersion?: string }) | undefined;
  const metadata: K8sMeta & { resourceVersion?: string } = { name: md?.name, resourceVersion: md?.resourceVersion };
  if (md?.namespace) metadata.namespace = md.namespace;
  if (md?.labels && Object.keys(md.labels).length) metadata.labels = md.labels;
  if (kind === 'Node') {
    const ann = md?.annotations ?? {};
    const kept: Record<string, string> = {};
    for (const k of Object.values(NODE_ANNOTATIONS)) if (ann[k] !== undefined) kept[k] = ann[k];
    metadata.annotations = kept;
    const n = o as K8sNode;
    return {
      metadata,
      spec: { podCIDR: n.spec?.podCIDR, podCIDRs: n.spec?.podCIDRs },
      status: { addresses: (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => ({ type: a.type, address: a.address })) },
    } as K8sObject;
  }
  if (kind === 'Secret') return { metadata, data: (o as K8sSecret).data } as K8sObject;
  if (kind === 'Service') return slimService(o as K8sService, metadata) as K8sObject;
  if (kind === 'EndpointSlice') return slimEndpointSlice(o as K8sEndpointSlice, metadata) as K8sObject;
  let spec = o.spec;
  if (kind === 'IPAMBlock' && spec && typeof spec === 'object') {
    // Of the allocations Tern reads only which addresses are in use on a node other than the
    // block's own (borrowed addresses, advertised as host routes by the borrower): the rest of
    // the allocation table, the free list and the handles are dropped.
    const b = spec as {
      cidr?: unknown;
      affinity?: unknown;
      deleted?: unknown;
      allocations?: unknown;
      attributes?: { secondary?: { node?: unknown } | null }[];
    };
    const host = typeof b.affinity === 'string' && b.affinity.startsWith('host:') ? b.affinity.slice(5) : undefined;
    const attrs = Array.isArray(b.attributes) ? b.attributes : [];
    const foreign = attrs.map((a) => (a?.secondary?.node !== undefined && a.secondary.node !== host ? a.secondary.node : undefined));
    const slim: Record<string, unknown> = { cidr: b.cidr };
    if (b.affinity !== undefined) slim.affinity = b.affinity;
    if (b.deleted !== undefined) slim.deleted = b.deleted;
    if (foreign.some((n) => n !== undefined) && Array.isArray(b.allocations)) {
      slim.allocations = b.allocations.map((x: unknown) =>
        typeof x === 'number' && foreign[x] !== undefined ? x : x === null || typeof x === 'number' ? null : x,
      );
      slim.attributes = foreign.map((n) => (n === undefined ? {} : { secondary: { node: n } }));
    }
    spec = slim;
  }
  return { apiVersion: o.apiVersion, kind: o.kind, metadata, spec };
}

/** Calico v3 Node from a Kubernetes Node; in plain mode also an IPAMBlock per podCIDR. */
export function translateNode(n: K8sNode, mode: KubernetesMode, source: string): Translated {
  const name = n.metadata?.name ?? '';
  const ann = n.metadata?.annotations ?? {};
  const label = `Node/${name}`;
  const warnings: ConfigIssue[] = [];
  const labels: Record<string, string> = {};
  const calicoLabels = ann[NODE_ANNOTATIONS.labels];
  if (calicoLabels !== undefined) {
    try {
      Object.assign(labels, JSON.parse(calicoLabels) as Record<string, string>);
    } catch {
      warnings.push(warn(source, label, `metadata.annotations["${NODE_ANNOTATIONS.labels}"]`, 'not a JSON object of labels (ignored, as Calico does)'));
    }
  }
  Object.assign(labels, n.metadata?.labels ?? {});
  const bgp: Record<string, unknown> = {};
  // Calico drops an annotation its validator rejects (getAnnotation) and runs the node without
  // it; Tern does the same, and says so.
  const checked = (key: keyof typeof NODE_ANNOTATIONS, ok: (v: string) => boolean, what: string) => {
    const v = ann[NODE_ANNOTATIONS[key]];
    if (v === undefined || v === '') return undefined;
    if (ok(v)) return v;
    warnings.push(warn(source, label, `metadata.annotations["${NODE_ANNOTATIONS[key]}"]`, `${JSON.stringify(v)} is not ${what} (ignored, as Calico does)`));
    return undefined;
  };
  const cidrOf = (family: 'ipv4' | 'ipv6') => (v: string) => {
    const c = parseCidr(v, false);
    return typeof c !== 'string' && c.family === family;
  };
  const v4 = checked('ipv4Address', cidrOf('ipv4'), 'an IPv4 address/prefix');
  const v6 = checked('ipv6Address', cidrOf('ipv6'), 'an IPv6 address/prefix');
  const asn = checked('asNumber', (v) => typeof parseAsn(v, v) === 'number', 'an AS number');
  const cid = checked('routeReflectorClusterID', (v) => familyOf(v) === 'ipv4', 'an IPv4 cluster ID');
  if (v4) bgp.ipv4Address = v4;
  if (v6) bgp.ipv6Address = v6;
  if (asn) bgp.asNumber = parseAsn(asn, asn);
  if (cid) bgp.routeReflectorClusterID = cid;
  const entries: [string, unknown][] = [];
  if (mode === 'plain') {
    // kube-controller-manager's node IPAM: the node's InternalIP is its BGP address (a bare
    // address: no subnet is known), its podCIDRs its blocks. Annotations, when set, win.
    for (const a of n.status?.addresses ?? []) {
      if (a.type !== 'InternalIP' || !a.address) continue;
      const f = familyOf(a.address);
      if (f === 'ipv4' && !bgp.ipv4Address) bgp.ipv4Address = a.address;
      if (f === 'ipv6' && !bgp.ipv6Address) bgp.ipv6Address = a.address;
    }
    const cidrs = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
    cidrs.forEach((cidr, i) => {
      entries.push([
        `Node/${name}/podCIDR/${i}`,
        {
          apiVersion: `${CALICO_GROUP}/${CALICO_VERSION}`,
          kind: 'IPAMBlock',
          metadata: { name: `podcidr-${name}-${i}` },
          spec: { cidr, affinity: `host:${name}` },
        },
      ]);
    });
  }
  entries.unshift([
    `Node/${name}`,
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name, labels },
      spec: Object.keys(bgp).length ? { bgp } : {},
    },
  ]);
  return { entries, warnings };
}

/**
 * A Calico CRD object as the assembler keeps it: kind, name, labels and spec (the CRD's spec is
 * the v3 spec). Annotations, managedFields and status are dropped: Tern reads none of them,
 * and 20,000 IPAMBlocks should not carry them twice.
 */
export function translateCrd(kind: string, o: K8sObject): [string, unknown] {
  const name = o.metadata?.name ?? '';
  const metadata: Record<string, unknown> = { name };
  if (o.metadata?.labels && Object.keys(o.metadata.labels).length) metadata.labels = o.metadata.labels;
  return [`${kind}/${name}`, { apiVersion: `${CALICO_GROUP}/${CALICO_VERSION}`, kind, metadata, spec: o.spec ?? {} }];
}

/** A v1 Secret as the file datastore reads it (data stays base64; the parser decodes it). */
export function translateSecret(s: K8sSecret): [string, unknown] {
  const name = s.metadata?.name ?? '';
  return [`Secret/${name}`, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, data: s.data ?? {} }];
}

/** The core v1 Service fields per-service routes read (peers/model/kinds-k8s.ts decodeService). */
export interface K8sService {
  metadata?: K8sMeta;
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    externalIPs?: string[];
    loadBalancerIP?: string;
    externalTrafficPolicy?: string;
    ipFamilies?: string[];
  };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}
/** The discovery.k8s.io/v1 EndpointSlice fields per-service routes read (decodeEndpointSlice). */
export interface K8sEndpointSlice {
  metadata?: K8sMeta;
  addressType?: string;
  endpoints?: { conditions?: { ready?: boolean | null }; nodeName?: string }[];
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * A Service as the file datastore takes it, cut to what decides advertisement (confd routes.go):
 * a cluster has thousands of Services, and ports, selectors and annotations are not Tern's.
 */
function slimService(o: K8sService, metadata: K8sMeta & { resourceVersion?: string }): unknown {
  const s = o.spec ?? {};
  const spec: K8sService['spec'] = {
    type: s.type,
    clusterIP: s.clusterIP,
    clusterIPs: s.clusterIPs,
    externalIPs: s.externalIPs,
    loadBalancerIP: s.loadBalancerIP,
    externalTrafficPolicy: s.externalTrafficPolicy,
    ipFamilies: s.ipFamilies,
  };
  const ingress = (o.status?.loadBalancer?.ingress ?? []).filter((i) => i.ip).map((i) => ({ ip: i.ip }));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: metadata.name, namespace: metadata.namespace, resourceVersion: metadata.resourceVersion },
    spec,
    status: { loadBalancer: { ingress } },
  };
}

/** An EndpointSlice cut to its Service, address type, and each endpoint's readiness and node. */
function slimEndpointSlice(o: K8sEndpointSlice, metadata: K8sMeta & { resourceVersion?: string }): unknown {
  const service = o.metadata?.labels?.[SERVICE_NAME_LABEL];
  const endpoints = (o.endpoints ?? []).map((e) => ({
    conditions: e.conditions?.ready === undefined || e.conditions.ready === null ? {} : { ready: e.conditions.ready },
    nodeName: e.nodeName,
  }));
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace,
      resourceVersion: metadata.resourceVersion,
      ...(service ? { labels: { [SERVICE_NAME_LABEL]: service } } : {}),
    },
    addressType: o.addressType,
    endpoints,
  };
}

/**
 * A Service or EndpointSlice (already slimmed) for the assembler, keyed by namespace and name.
 * The resourceVersion stays out of the resource: the parser would read it as a field.
 */
export function translateNamespaced(kind: 'Service' | 'EndpointSlice', o: K8sObject): [string, unknown] {
  const { resourceVersion: _rv, ...metadata } = (o.metadata ?? {}) as K8sMeta & { resourceVersion?: string };
  return [`${kind}/${metadata.namespace ?? ''}/${metadata.name ?? ''}`, { ...o, metadata }];
}

/** The Secret names a BGPPeer or BGPConfiguration refers to (password.secretKeyRef / nodeMeshPassword.secretKeyRef). */
export function secretRefs(kind: string, spec: unknown): string[] {
  const s = spec as { password?: { secretKeyRef?: { name?: unknown } }; nodeMeshPassword?: { secretKeyRef?: { name?: unknown } } } | undefined;
  const ref = kind === 'BGPPeer' ? s?.password?.secretKeyRef?.name : kind === 'BGPConfiguration' ? s?.nodeMeshPassword?.secretKeyRef?.name : undefined;
  return typeof ref === 'string' && ref ? [ref] : [];
}
