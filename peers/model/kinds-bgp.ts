/**
 * Decoders for the BGP kinds: BGPConfiguration, Node and BGPPeer (projectcalico.org/v3).
 * Each takes the resource's `spec` and a Reader, returns the typed value and records issues.
 * Field meanings and defaults follow Calico's API (api/pkg/apis/projectcalico/v3).
 */
import type { BfdSettings, BgpPeerResource, CalicoNode, LogSeverity, Password, PrefixAdvertisement, ProgramClusterRoutes } from '../types.js';
import { readBfd } from './bfd.js';
import { canonicalIp, familyOf, parseCidr, type Cidr } from './net.js';
import { join, type Reader, type YNode } from './reader.js';

type MapNode = Extract<YNode, { t: 'map' }>;

export const LOG_SEVERITIES: readonly LogSeverity[] = ['Debug', 'Info', 'Warning', 'Error', 'Fatal'];

// Which fields exist and what Tern does with each: fields.ts (the readers and the docs' table share it).
const GLOBAL_ONLY = [
  'asNumber',
  'nodeToNodeMeshEnabled',
  'bindMode',
  'nodeMeshPassword',
  'nodeMeshMaxRestartTime',
  'nodeMeshBFD',
  'serviceClusterIPs',
  'serviceExternalIPs',
  'serviceLoadBalancerIPs',
  'serviceLoadBalancerAggregation',
  'ignoredInterfaces',
  'programClusterRoutes',
];

const STD_COMMUNITY = /^(\d+):(\d+)$/;
const LARGE_COMMUNITY = /^(\d+):(\d+):(\d+)$/;

/** A community value `aa:nn` (16-bit halves, RFC 1997) or `aa:nn:mm` (32-bit parts, RFC 8092). */
export function communityError(v: string): string | undefined {
  const s = STD_COMMUNITY.exec(v);
  if (s) return Number(s[1]) > 65535 || Number(s[2]) > 65535 ? `${JSON.stringify(v)}: standard community parts must be 0..65535` : undefined;
  const l = LARGE_COMMUNITY.exec(v);
  if (l) return l.slice(1).some((p) => Number(p) > 4294967295) ? `${JSON.stringify(v)}: large community parts must be 0..4294967295` : undefined;
  return `${JSON.stringify(v)} is not a community value (aa:nn or aa:nn:mm)`;
}

/** Calico BGPPassword `{secretKeyRef: {name, key}}`; the file datastore also takes a literal string. */
export function readPassword(r: Reader, m: MapNode | undefined, key: string, path: string): Password | undefined {
  const n = r.get(m, key);
  if (!n) return undefined;
  const p = join(path, key);
  if (n.t === 'scalar' && typeof n.value === 'string') return { value: n.value };
  const pm = r.map(n, p, 'password');
  if (!pm) return undefined;
  const ref = r.map(r.get(pm, 'secretKeyRef'), `${p}.secretKeyRef`, 'secretKeyRef');
  if (!ref) return r.error(pm.line, p, 'expected a literal string or {secretKeyRef: {name, key}}');
  const name = r.str(ref, 'name', `${p}.secretKeyRef`),
    k = r.str(ref, 'key', `${p}.secretKeyRef`);
  if (!name || !k) return r.error(ref.line, `${p}.secretKeyRef`, 'both name and key are required');
  return { secretKeyRef: { name, key: k } };
}

function readCidrList(r: Reader, m: MapNode | undefined, key: string, path: string): Cidr[] {
  const out: Cidr[] = [];
  r.seq(m, key, path).forEach((n, i) => {
    const p = `${join(path, key)}[${i}]`;
    const c = r.cidr(r.map(n, p, 'BGPConfiguration service CIDR'), 'cidr', p, false);
    if (!c) return;
    out.push(c);
  });
  return out;
}

export interface ConfigSpec {
  asNumber?: number;
  nodeToNodeMeshEnabled?: boolean;
  listenPort?: number;
  bindMode?: 'None' | 'NodeIP';
  nodeMeshPassword?: Password;
  nodeMeshMaxRestartTime?: number;
  communities: { name: string; value: string }[];
  prefixAdvertisements?: PrefixAdvertisement[];
  serviceClusterIPs: Cidr[];
  serviceExternalIPs: Cidr[];
  serviceLoadBalancerIPs: Cidr[];
  ignoredInterfaces: string[];
  logSeverityScreen?: LogSeverity;
  nodeMeshBFD?: BfdSettings;
  serviceLoadBalancerAggregation?: 'Enabled' | 'Disabled';
  programClusterRoutes?: ProgramClusterRoutes;
}

export function decodeBgpConfiguration(r: Reader, spec: MapNode | undefined, perNode: boolean): ConfigSpec {
  const p = 'spec';
  const s = r.map(spec, p, 'BGPConfiguration spec');
  if (perNode) {
    for (const f of GLOBAL_ONLY) {
      if (s?.entries.has(f)) r.warn(r.lineOf(s, f), join(p, f), 'only honoured in BGPConfiguration "default" (ignored here)');
    }
  }
  const communities: { name: string; value: string }[] = [];
  r.seq(s, 'communities', p).forEach((n, i) => {
    const cp = `${p}.communities[${i}]`;
    const cm = r.map(n, cp, 'BGPConfiguration communities[]');
    const name = r.str(cm, 'name', cp),
      value = r.str(cm, 'value', cp);
    if (!name || !value) {
      r.error(n.line, cp, 'name and value are required');
      return;
    }
    const err = communityError(value);
    // A second definition of a name would make prefixAdvertisements ambiguous: say which name.
    if (communities.some((c) => c.name === name)) r.error(r.lineOf(cm, 'name'), `${cp}.name`, `duplicate community name ${JSON.stringify(name)}`);
    else if (err) r.error(r.lineOf(cm, 'value'), `${cp}.value`, err);
    else communities.push({ name, value });
  });
  let prefixAdvertisements: PrefixAdvertisement[] | undefined;
  if (s?.entries.has('prefixAdvertisements')) {
    prefixAdvertisements = [];
    r.seq(s, 'prefixAdvertisements', p).forEach((n, i) => {
      const ap = `${p}.prefixAdvertisements[${i}]`;
      const am = r.map(n, ap, 'BGPConfiguration prefixAdvertisements[]');
      const cidr = r.cidr(am, 'cidr', ap, false);
      if (!cidr) {
        if (am && !am.entries.has('cidr')) r.error(am.line, ap, 'cidr is required');
        return;
      }
      const values: string[] = [];
      r.strList(am, 'communities', ap).forEach((c, j) => {
        // Calico: an entry is either a value or the name of a community defined above.
        const named = communities.find((d) => d.name === c);
        if (named) values.push(named.value);
        else if (STD_COMMUNITY.test(c) || LARGE_COMMUNITY.test(c)) {
          const err = communityError(c);
          if (err) r.error(r.lineOf(am, 'communities'), `${ap}.communities[${j}]`, err);
          else values.push(c);
        } else
          r.error(
            r.lineOf(am, 'communities'),
            `${ap}.communities[${j}]`,
            `${JSON.stringify(c)} is neither a community value nor a name defined in spec.communities`,
          );
      });
      prefixAdvertisements!.push({ cidr, communities: values });
    });
  }
  return {
    asNumber: r.asn(s, 'asNumber', p),
    nodeToNodeMeshEnabled: r.bool(s, 'nodeToNodeMeshEnabled', p),
    listenPort: r.int(s, 'listenPort', p, 1, 65535),
    bindMode: r.enumOf(s, 'bindMode', p, ['None', 'NodeIP'] as const),
    nodeMeshPassword: readPassword(r, s, 'nodeMeshPassword', p),
    nodeMeshMaxRestartTime: r.duration(s, 'nodeMeshMaxRestartTime', p),
    communities,
    prefixAdvertisements,
    serviceClusterIPs: readCidrList(r, s, 'serviceClusterIPs', p),
    serviceExternalIPs: readCidrList(r, s, 'serviceExternalIPs', p),
    serviceLoadBalancerIPs: readCidrList(r, s, 'serviceLoadBalancerIPs', p),
    ignoredInterfaces: r.strList(s, 'ignoredInterfaces', p),
    logSeverityScreen: r.enumOf(s, 'logSeverityScreen', p, LOG_SEVERITIES),
    nodeMeshBFD: readBfd(r, s, 'nodeMeshBFD', p, readPassword),
    serviceLoadBalancerAggregation: lbAggregation(r, s, p),
    programClusterRoutes: r.enumOf(s, 'programClusterRoutes', p, ['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly'] as const),
  };
}

/**
 * Calico confd onLoadBalancerIPsUpdate: Enabled (the default) advertises the LoadBalancer CIDRs
 * from every node; Disabled advertises none of them and instead a /32 (/128) per Service with a
 * ready endpoint (peers/routes.ts serviceRoutes).
 */
function lbAggregation(r: Reader, s: MapNode | undefined, p: string): 'Enabled' | 'Disabled' | undefined {
  return r.enumOf(s, 'serviceLoadBalancerAggregation', p, ['Enabled', 'Disabled'] as const);
}

/** `198.18.1.10/24` -> address and subnet; a bare address is a /32 (/128). */
function nodeAddress(r: Reader, m: MapNode | undefined, key: string, path: string, family: 'ipv4' | 'ipv6'): { address: string; subnet: Cidr } | undefined {
  const s = r.str(m, key, path);
  if (s === undefined) return undefined;
  const addr = s.split('/')[0];
  const c = parseCidr(s, false);
  if (typeof c === 'string' || familyOf(addr) !== family) {
    return r.error(r.lineOf(m, key), join(path, key), `${JSON.stringify(s)} is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address with optional /subnet`);
  }
  return { address: canonicalIp(addr)!, subnet: c };
}

export function decodeNode(r: Reader, name: string, line: number, labels: Record<string, string>, spec: MapNode | undefined): CalicoNode {
  const s = r.map(spec, 'spec', 'Node spec');
  const b = r.map(r.get(s, 'bgp'), 'spec.bgp', 'Node spec.bgp');
  const v4 = nodeAddress(r, b, 'ipv4Address', 'spec.bgp', 'ipv4');
  const v6 = nodeAddress(r, b, 'ipv6Address', 'spec.bgp', 'ipv6');
  const cid = r.str(b, 'routeReflectorClusterID', 'spec.bgp');
  if (cid !== undefined && familyOf(cid) !== 'ipv4') {
    r.error(
      r.lineOf(b, 'routeReflectorClusterID'),
      'spec.bgp.routeReflectorClusterID',
      `${JSON.stringify(cid)} is not a cluster ID in IPv4 address form (RFC 4456 §7)`,
    );
  }
  return {
    name,
    labels,
    line,
    ipv4Address: v4?.address,
    ipv4Subnet: v4?.subnet,
    ipv6Address: v6?.address,
    ipv6Subnet: v6?.subnet,
    asNumber: r.asn(b, 'asNumber', 'spec.bgp'),
    routeReflectorClusterID: cid !== undefined && familyOf(cid) === 'ipv4' ? cid : undefined,
  };
}

/**
 * Tern extension `spec.maxPrefixes` (Calico has none): per family a limit on received
 * prefixes, a warning threshold in percent and an optional restart interval (RFC 4486 §4).
 */
function readMaxPrefixes(r: Reader, s: MapNode): BgpPeerResource['maxPrefixes'] {
  const p = 'spec.maxPrefixes';
  const m = r.map(r.get(s, 'maxPrefixes'), p, ['ipv4', 'ipv6']);
  if (!m) return undefined;
  const out: NonNullable<BgpPeerResource['maxPrefixes']> = {};
  for (const f of ['ipv4', 'ipv6'] as const) {
    const fp = `${p}.${f}`;
    const fm = r.map(r.get(m, f), fp, ['limit', 'warningPercent', 'restartInterval']);
    if (!fm) continue;
    // RFC 4486 §4: the upper bound travels in the NOTIFICATION as 4 octets.
    const limit = r.int(fm, 'limit', fp, 1, 0xffffffff);
    if (limit === undefined) {
      if (!fm.entries.has('limit')) r.error(fm.line, `${fp}.limit`, 'limit is required');
      continue;
    }
    const restartInterval = r.duration(fm, 'restartInterval', fp);
    if (restartInterval !== undefined && restartInterval < 1)
      r.error(r.lineOf(fm, 'restartInterval'), `${fp}.restartInterval`, 'must be at least 1s (or left out: stay down until bgpctl neighbor up)');
    out[f] = { limit, warningPercent: r.int(fm, 'warningPercent', fp, 1, 100) ?? 75, restartInterval };
  }
  return out;
}

/** `198.18.0.1`, `198.18.0.1:1179`, `2001:db8::1`, `[2001:db8::1]:1179`. */
export function parsePeerIP(text: string): { address: string; family: 'ipv4' | 'ipv6'; port?: number } | string {
  let host = text,
    port: string | undefined;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const v4 = /^([^:]+):(\d+)$/.exec(text);
  if (v6) {
    host = v6[1];
    port = v6[2];
  } else if (v4) {
    host = v4[1];
    port = v4[2];
  }
  const family = familyOf(host);
  if (!family || (v6 && family !== 'ipv6') || (v4 && family !== 'ipv4')) {
    return `${JSON.stringify(text)} is not an IP address with optional port (a.b.c.d[:port] or [v6][:port])`;
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return `port ${port} is out of range (1..65535)`;
  return { address: canonicalIp(host)!, family, port: port === undefined ? undefined : Number(port) };
}

export function decodeBgpPeer(r: Reader, name: string, line: number, spec: MapNode | undefined): BgpPeerResource | undefined {
  const p = 'spec';
  const s = r.map(spec, p, 'BGPPeer spec');
  if (!s) return r.error(line, p, 'spec is required');
  // localWorkloadSelector is refused by the field check (fields.ts): no peer is planned from it.
  if (s.entries.has('localWorkloadSelector')) return undefined;
  const rawPeerIP = r.get(s, 'peerIP');
  // Unquoted, YAML reads `[2001:db8::1]:1179` as a flow list, or as a mapping whose key is one.
  if (rawPeerIP?.t === 'seq' || rawPeerIP?.t === 'map') {
    r.error(
      rawPeerIP.line,
      'spec.peerIP',
      `YAML read [...] as a ${rawPeerIP.t === 'seq' ? 'list' : 'mapping'}: quote an IPv6 address with a port, e.g. "[2001:db8::1]:1179"`,
    );
    return undefined;
  }
  const peerIPText = r.str(s, 'peerIP', p);
  let peerIP: BgpPeerResource['peerIP'];
  if (peerIPText !== undefined) {
    const pi = parsePeerIP(peerIPText);
    if (typeof pi === 'string') r.error(r.lineOf(s, 'peerIP'), 'spec.peerIP', pi);
    else peerIP = pi;
  }
  const peer: BgpPeerResource = {
    name,
    line,
    node: r.str(s, 'node', p),
    nodeSelector: r.selector(s, 'nodeSelector', p),
    peerIP,
    asNumber: r.asn(s, 'asNumber', p),
    peerSelector: r.selector(s, 'peerSelector', p),
    localASNumber: r.asn(s, 'localASNumber', p),
    keepOriginalNextHop: r.bool(s, 'keepOriginalNextHop', p) ?? false,
    nextHopMode: r.enumOf(s, 'nextHopMode', p, ['Auto', 'Self', 'Keep'] as const),
    password: readPassword(r, s, 'password', p),
    sourceAddress: r.enumOf(s, 'sourceAddress', p, ['UseNodeIP', 'None'] as const) ?? 'UseNodeIP',
    maxRestartTime: r.duration(s, 'maxRestartTime', p),
    keepaliveTime: r.duration(s, 'keepaliveTime', p),
    numAllowedLocalASNumbers: r.int(s, 'numAllowedLocalASNumbers', p, 0, 255),
    ttlSecurity: r.int(s, 'ttlSecurity', p, 0, 255),
    filters: r.strList(s, 'filters', p),
    reachableBy: undefined,
    bfd: readBfd(r, s, 'bfd', p, readPassword),
    reversePeering: 'Auto',
    maxPrefixes: readMaxPrefixes(r, s),
  };
  const at = (k: string) => r.lineOf(s, k);
  if (peer.node !== undefined && s.entries.has('nodeSelector')) r.error(at('nodeSelector'), 'spec.nodeSelector', 'node and nodeSelector cannot both be set');
  if (s.entries.has('peerSelector') && (s.entries.has('peerIP') || s.entries.has('asNumber'))) {
    r.error(at('peerSelector'), 'spec.peerSelector', 'peerSelector cannot be combined with peerIP or asNumber (the peer nodes supply both)');
  }
  if (!s.entries.has('peerSelector') && !s.entries.has('peerIP')) r.error(line, p, 'one of peerIP or peerSelector is required');
  if (s.entries.has('peerIP') && !s.entries.has('asNumber')) r.error(at('peerIP'), 'spec.asNumber', 'asNumber is required when peerIP is set');
  // Calico <=3.31 accepted both, and nextHopMode wins ("the value of KeepOriginalNextHop is ignored").
  if (peer.nextHopMode !== undefined && s.entries.has('keepOriginalNextHop')) {
    r.warn(
      at('keepOriginalNextHop'),
      'spec.keepOriginalNextHop',
      `ignored because nextHopMode is set (nextHopMode ${peer.nextHopMode} applies, as in Calico); remove keepOriginalNextHop`,
    );
    peer.keepOriginalNextHop = false;
  }
  peer.reversePeering = r.enumOf(s, 'reversePeering', p, ['Auto', 'Manual'] as const) ?? 'Auto';
  // RFC 4724 §3: the Restart Time field is 12 bits.
  if (peer.maxRestartTime !== undefined && peer.maxRestartTime > 4095)
    r.error(at('maxRestartTime'), 'spec.maxRestartTime', `${peer.maxRestartTime}s exceeds the 4095s a graceful restart capability can carry (RFC 4724 §3)`);
  // RFC 4271 §4.2: hold time is 0 or >= 3s; a keepalive is a third of it, and the hold time fits 16 bits.
  if (peer.keepaliveTime !== undefined && (peer.keepaliveTime < 1 || peer.keepaliveTime > 21845))
    r.error(at('keepaliveTime'), 'spec.keepaliveTime', `${peer.keepaliveTime}s is out of range (1s..21845s)`);
  const rb = r.str(s, 'reachableBy', p);
  if (rb !== undefined) {
    const f = familyOf(rb);
    if (!f) r.error(at('reachableBy'), 'spec.reachableBy', `${JSON.stringify(rb)} is not an IP address`);
    else if (peer.peerIP && f !== peer.peerIP.family) r.error(at('reachableBy'), 'spec.reachableBy', 'address family does not match peerIP');
    else peer.reachableBy = canonicalIp(rb);
  }
  return peer;
}
