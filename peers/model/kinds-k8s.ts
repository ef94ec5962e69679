/**
 * The Kubernetes objects Calico's BGP reads besides its own kinds: Services (apiVersion v1) and
 * EndpointSlices (discovery.k8s.io/v1), for per-service routes (confd routes.go). Only the
 * fields that decide advertisement are read; the rest of these objects is Kubernetes' business
 * and is not checked. The Kubernetes datastore feeds the same JSON through parseResources.
 */
import type { EndpointSliceResource, ServiceResource } from '../types.js';
import { canonicalIp, familyOf } from './net.js';
import type { Reader, YNode } from './reader.js';

type MapNode = Extract<YNode, { t: 'map' }>;

const TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;

function ipList(r: Reader, m: MapNode | undefined, key: string, path: string): string[] {
  const out: string[] = [];
  r.strList(m, key, path).forEach((ip, i) => {
    if (ip === 'None' || ip === '') return; // headless Service
    const c = canonicalIp(ip);
    if (c) out.push(c);
    else r.error(r.lineOf(m, key), `${path}.${key}[${i}]`, `${JSON.stringify(ip)} is not an IP address`);
  });
  return out;
}

export function decodeService(r: Reader, m: MapNode, name: string, line: number): ServiceResource | undefined {
  const md = r.map(r.get(m, 'metadata'), 'metadata', null);
  const s = r.map(r.get(m, 'spec'), 'spec', null);
  const type = r.enumOf(s, 'type', 'spec', TYPES) ?? 'ClusterIP';
  const clusterIPs = ipList(r, s, 'clusterIPs', 'spec');
  const single = r.str(s, 'clusterIP', 'spec');
  if (clusterIPs.length === 0 && single !== undefined && single !== 'None' && single !== '') {
    const c = canonicalIp(single);
    if (c) clusterIPs.push(c);
    else r.error(r.lineOf(s, 'clusterIP'), 'spec.clusterIP', `${JSON.stringify(single)} is not an IP address`);
  }
  const status = r.map(r.get(m, 'status'), 'status', null);
  const lb = r.map(r.get(status, 'loadBalancer'), 'status.loadBalancer', null);
  const ingressIPs: string[] = [];
  r.seq(lb, 'ingress', 'status.loadBalancer').forEach((n, i) => {
    const ip = r.str(r.map(n, `status.loadBalancer.ingress[${i}]`, null), 'ip', `status.loadBalancer.ingress[${i}]`);
    const c = ip ? canonicalIp(ip) : undefined;
    if (c) ingressIPs.push(c);
  });
  const lbIP = r.str(s, 'loadBalancerIP', 'spec');
  const families = r.strList(s, 'ipFamilies', 'spec').filter((f): f is 'IPv4' | 'IPv6' => f === 'IPv4' || f === 'IPv6');
  return {
    namespace: r.str(md, 'namespace', 'metadata') ?? 'default',
    name,
    line,
    type,
    clusterIPs,
    externalIPs: ipList(r, s, 'externalIPs', 'spec'),
    loadBalancerIP: lbIP ? canonicalIp(lbIP) : undefined,
    ingressIPs,
    externalTrafficPolicy: r.enumOf(s, 'externalTrafficPolicy', 'spec', ['Cluster', 'Local'] as const) ?? 'Cluster',
    // The API server always fills ipFamilies; a hand-written file may leave it out.
    ipFamilies: families.length ? families : [...new Set(clusterIPs.map((ip) => (familyOf(ip) === 'ipv6' ? ('IPv6' as const) : ('IPv4' as const))))],
  };
}

export function decodeEndpointSlice(r: Reader, m: MapNode, name: string, line: number): EndpointSliceResource | undefined {
  const md = r.map(r.get(m, 'metadata'), 'metadata', null);
  const service = r.labels(md, 'labels', 'metadata')['kubernetes.io/service-name'];
  if (!service) {
    r.warn(line, 'metadata.labels', 'EndpointSlice without a kubernetes.io/service-name label belongs to no Service (ignored)');
    return undefined;
  }
  const addressType = r.enumOf(m, 'addressType', '', ['IPv4', 'IPv6', 'FQDN'] as const) ?? 'IPv4';
  const endpoints = r.seq(m, 'endpoints', '').map((n, i) => {
    const p = `endpoints[${i}]`;
    const e = r.map(n, p, null);
    const cond = r.map(r.get(e, 'conditions'), `${p}.conditions`, null);
    // EndpointSlice API: a nil ready condition means ready.
    return { ready: r.bool(cond, 'ready', `${p}.conditions`) ?? true, nodeName: r.str(e, 'nodeName', p) };
  });
  return { namespace: r.str(md, 'namespace', 'metadata') ?? 'default', name, line, service, addressType, endpoints };
}
