/**
 * Decoders for BGPFilter and IPPool (projectcalico.org/v3) and the IPAM kinds IPAMBlock and
 * BlockAffinity (crd.projectcalico.org/v1, as `kubectl get -o yaml` prints them).
 */
import type { BgpFilter, BgpFilterRule, BlockAffinity, EncapMode, IpamBlock, IpPool } from '../types.js';
import { ALL } from '../selector.js';
import { maxLen, parseAsn, parseCidrDetail, type Cidr } from './net.js';
import { join, type Reader, type YNode } from './reader.js';
import { communityError } from './kinds-bgp.js';
import { MAX_INSTALLED_PRIORITY } from '../filters.js';

/** A list of AS numbers (asPathPrefix, prependASPath.prefix). */
function asnList(r: Reader, m: MapNode, key: string, path: string): number[] {
  const out: number[] = [];
  r.seq(m, key, path).forEach((n, i) => {
    const v = n.t === 'scalar' ? parseAsn(n.value, n.source) : `expected an AS number, found a ${n.t === 'map' ? 'mapping' : 'list'}`;
    if (typeof v === 'string') r.error(n.line, `${join(path, key)}[${i}]`, v);
    else out.push(v);
  });
  return out;
}

type MapNode = Extract<YNode, { t: 'map' }>;

/** The largest route priority Calico accepts (2^31-2: priority 0 means "kernel default"). */
const MAX_PRIORITY = 2147483646;

/** A CIDR whose host bits Calico would mask: accepted, with a warning naming the masked value. */
function lenientCidr(r: Reader, m: MapNode | undefined, key: string, path: string): Cidr | undefined {
  const s = r.str(m, key, path);
  if (s === undefined) return undefined;
  const c = parseCidrDetail(s);
  if (typeof c === 'string') return r.error(r.lineOf(m, key), join(path, key), c);
  if (!s.includes('/')) return r.error(r.lineOf(m, key), join(path, key), `${JSON.stringify(s)} needs a prefix length (address/length)`);
  if (c.hostBits) r.warn(r.lineOf(m, key), join(path, key), `${JSON.stringify(s)} has host bits set; using ${c.cidr.text}`);
  return c.cidr;
}

function decodeRules(r: Reader, s: MapNode | undefined, key: 'exportV4' | 'importV4' | 'exportV6' | 'importV6'): BgpFilterRule[] {
  const family = key.endsWith('V4') ? 'ipv4' : 'ipv6';
  const out: BgpFilterRule[] = [];
  r.seq(s, key, 'spec').forEach((n, i) => {
    const p = `spec.${key}[${i}]`;
    const m = r.map(n, p, 'BGPFilter rule');
    if (!m) return;
    const action = r.enumOf(m, 'action', p, ['Accept', 'Reject'] as const);
    if (!action) {
      if (!m.entries.has('action')) r.error(m.line, p, 'action is required (Accept or Reject)');
      return;
    }
    const rule: BgpFilterRule = { action, operations: [] };
    rule.cidr = lenientCidr(r, m, 'cidr', p);
    if (rule.cidr && rule.cidr.family !== family) {
      r.error(r.lineOf(m, 'cidr'), `${p}.cidr`, `${rule.cidr.text} is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} CIDR (rule is in ${key})`);
    }
    rule.matchOperator = r.enumOf(m, 'matchOperator', p, ['Equal', 'NotEqual', 'In', 'NotIn'] as const);
    if (m.entries.has('cidr') !== m.entries.has('matchOperator')) {
      r.error(m.line, p, 'cidr and matchOperator must both be set or both be empty');
    }
    const pl = r.map(r.get(m, 'prefixLength'), `${p}.prefixLength`, 'BGPFilter prefixLength');
    if (pl) {
      if (!m.entries.has('cidr')) r.error(pl.line, `${p}.prefixLength`, 'cidr is required when prefixLength is set');
      const max = maxLen(family);
      const min = r.int(pl, 'min', `${p}.prefixLength`, 0, max),
        mx = r.int(pl, 'max', `${p}.prefixLength`, 0, max);
      if (min !== undefined && mx !== undefined && min > mx) r.error(pl.line, `${p}.prefixLength`, `min ${min} is greater than max ${mx}`);
      rule.prefixLength = { min, max: mx };
    }
    rule.source = r.enumOf(m, 'source', p, ['RemotePeers'] as const);
    const itf = r.str(m, 'interface', p);
    if (itf !== undefined) {
      if (!/^[A-Za-z0-9_.*@+:-]+$/.test(itf)) r.error(r.lineOf(m, 'interface'), `${p}.interface`, `${JSON.stringify(itf)} is not an interface name or pattern`);
      else rule.interface = itf;
    }
    rule.peerType = r.enumOf(m, 'peerType', p, ['eBGP', 'iBGP'] as const);
    // The newest Calico matches (api bgpfilter.go): one community value, an AS path prefix.
    const cm = r.map(r.get(m, 'communities'), `${p}.communities`, 'BGPFilter communities');
    if (cm) {
      const values = r.strList(cm, 'values', `${p}.communities`);
      if (values.length !== 1)
        r.error(cm.line, `${p}.communities.values`, `exactly one community value is supported (Calico allows 1), found ${values.length}`);
      else {
        const err = communityError(values[0]);
        if (err) r.error(cm.line, `${p}.communities.values[0]`, err);
        else rule.community = values[0];
      }
    }
    if (m.entries.has('asPathPrefix')) {
      const asns = asnList(r, m, 'asPathPrefix', p);
      if (asns.length === 0) r.error(r.lineOf(m, 'asPathPrefix'), `${p}.asPathPrefix`, 'expected a non-empty list of AS numbers');
      else rule.asPathPrefix = asns;
    }
    // Calico's priority range (api bgpfilter.go): 1 .. 2^31-2, in kernel metric units.
    const prio = r.int(m, 'priority', p, 1, MAX_PRIORITY);
    if (prio !== undefined) rule.priority = prio;
    r.seq(m, 'operations', p).forEach((on, j) => {
      const op = `${p}.operations[${j}]`;
      const om = r.map(on, op, 'BGPFilter operation');
      if (!om) return;
      if (om.entries.size !== 1) {
        r.error(om.line, op, 'exactly one operation must be set');
        return;
      }
      const ac = r.map(r.get(om, 'addCommunity'), `${op}.addCommunity`, 'BGPFilter addCommunity');
      if (ac) {
        const v = r.str(ac, 'value', `${op}.addCommunity`);
        const err = v === undefined ? 'value is required' : communityError(v);
        if (err) r.error(ac.line, `${op}.addCommunity.value`, err);
        else rule.operations.push({ addCommunity: v! });
      }
      const pp = r.map(r.get(om, 'prependASPath'), `${op}.prependASPath`, 'BGPFilter prependASPath');
      if (pp) {
        const asns = asnList(r, pp, 'prefix', `${op}.prependASPath`);
        if (asns.length < 1 || asns.length > 10) r.error(pp.line, `${op}.prependASPath.prefix`, 'expected 1 to 10 AS numbers');
        else rule.operations.push({ prependASPath: asns });
      }
      const sp = r.map(r.get(om, 'setPriority'), `${op}.setPriority`, 'BGPFilter setPriority');
      if (sp) {
        const v = r.int(sp, 'value', `${op}.setPriority`, 1, MAX_PRIORITY);
        if (v === undefined) {
          if (!sp.entries.has('value')) r.error(sp.line, `${op}.setPriority.value`, 'value is required');
        }
        // Tern tells a priority from an ordinary LOCAL_PREF by its size (peers/filters.ts kernelMetricOf).
        else if (v > MAX_INSTALLED_PRIORITY)
          r.error(
            sp.line,
            `${op}.setPriority.value`,
            `${v} is above ${MAX_INSTALLED_PRIORITY}, the largest priority Tern installs as a kernel metric (2^30-1; docs/configuration.md)`,
          );
        else rule.operations.push({ setPriority: v });
      }
    });
    if (rule.operations.length && action !== 'Accept') r.error(r.lineOf(m, 'operations'), `${p}.operations`, 'operations may only be used with action Accept');
    out.push(rule);
  });
  return out;
}

export function decodeBgpFilter(r: Reader, name: string, line: number, spec: MapNode | undefined): BgpFilter {
  const s = r.map(spec, 'spec', 'BGPFilter spec');
  return {
    name,
    line,
    exportV4: decodeRules(r, s, 'exportV4'),
    importV4: decodeRules(r, s, 'importV4'),
    exportV6: decodeRules(r, s, 'exportV6'),
    importV6: decodeRules(r, s, 'importV6'),
  };
}

const MODES: readonly EncapMode[] = ['Never', 'Always', 'CrossSubnet'];

export function decodeIpPool(r: Reader, name: string, line: number, spec: MapNode | undefined): IpPool | undefined {
  const p = 'spec';
  const s = r.map(spec, p, 'IPPool spec');
  if (!s) return r.error(line, p, 'spec is required');
  const cidr = lenientCidr(r, s, 'cidr', p);
  if (!cidr) return s.entries.has('cidr') ? undefined : r.error(s.line, 'spec.cidr', 'cidr is required');
  const v4 = cidr.family === 'ipv4';
  // Calico: blocks are /20../32 for IPv4 and /116../128 for IPv6; default /26 and /122.
  const blockSize = r.int(s, 'blockSize', p, v4 ? 20 : 116, v4 ? 32 : 128) ?? (v4 ? 26 : 122);
  if (blockSize < cidr.len) r.error(r.lineOf(s, 'blockSize'), 'spec.blockSize', `block size /${blockSize} is larger than the pool ${cidr.text}`);
  const ipipMode = r.enumOf(s, 'ipipMode', p, MODES) ?? 'Never';
  const vxlanMode = r.enumOf(s, 'vxlanMode', p, MODES) ?? 'Never';
  if (ipipMode !== 'Never' && vxlanMode !== 'Never') r.error(r.lineOf(s, 'vxlanMode'), 'spec.vxlanMode', 'ipipMode and vxlanMode cannot both be enabled');
  if (!v4 && ipipMode !== 'Never') r.error(r.lineOf(s, 'ipipMode'), 'spec.ipipMode', 'IPIP is not supported for IPv6 pools');
  return {
    name,
    line,
    cidr,
    blockSize,
    ipipMode,
    vxlanMode,
    natOutgoing: r.bool(s, 'natOutgoing', p) ?? false,
    disabled: r.bool(s, 'disabled', p) ?? false,
    disableBGPExport: r.bool(s, 'disableBGPExport', p) ?? false,
    nodeSelector: r.selector(s, 'nodeSelector', p) ?? ALL,
  };
}

/** The CRD stores `deleted` as a string ("false") in BlockAffinity and as a bool in IPAMBlock. */
function boolish(r: Reader, m: MapNode | undefined, key: string, path: string): boolean {
  const n = r.get(m, key);
  if (n && n.t === 'scalar' && (n.value === 'true' || n.value === 'false')) return n.value === 'true';
  return r.bool(m, key, path) ?? false;
}

/** Shared by every block without allocations in use on a node; never written to. */
export const NO_ALLOCATIONS: Map<number, string> = new Map();

export function decodeIpamBlock(r: Reader, name: string, line: number, spec: MapNode | undefined): IpamBlock | undefined {
  const p = 'spec';
  const s = r.map(spec, p, 'IPAMBlock spec');
  const cidr = lenientCidr(r, s, 'cidr', p);
  if (!cidr) return s?.entries.has('cidr') ? undefined : r.error(s?.line ?? line, 'spec.cidr', 'cidr is required');
  const affinity = r.str(s, 'affinity', p);
  let affinityNode: string | undefined;
  if (affinity?.startsWith('host:')) affinityNode = affinity.slice(5);
  else if (affinity !== undefined && !/^[a-z]+:/.test(affinity))
    r.error(r.lineOf(s, 'affinity'), 'spec.affinity', `${JSON.stringify(affinity)} is not of the form host:<node>`);
  // Which node uses each allocated address: attributes[allocations[i]].secondary.node.
  const attrNodes: (string | undefined)[] = r.seq(s, 'attributes', p).map((n) => {
    if (n.t !== 'map') return undefined;
    const sec = n.entries.get('secondary')?.value;
    const node = sec?.t === 'map' ? sec.entries.get('node')?.value : undefined;
    return node?.t === 'scalar' && typeof node.value === 'string' ? node.value : undefined;
  });
  const allocationNodes = new Map<number, string>();
  // Most blocks have none in use elsewhere: they share one empty map (20,000 blocks in a large cluster).
  const size = 2 ** (maxLen(cidr.family) - cidr.len);
  r.seq(s, 'allocations', p).forEach((n, i) => {
    if (n.t !== 'scalar' || n.value === null) return;
    if (typeof n.value !== 'number' || !Number.isInteger(n.value)) {
      r.error(n.line, `spec.allocations[${i}]`, 'expected an attribute index or null');
      return;
    }
    if (i >= size) {
      r.error(n.line, `spec.allocations[${i}]`, `ordinal ${i} is outside ${cidr.text}`);
      return;
    }
    const node = attrNodes[n.value];
    if (node) allocationNodes.set(i, node);
  });
  return { name, line, cidr, affinityNode, deleted: boolish(r, s, 'deleted', p), allocationNodes: allocationNodes.size ? allocationNodes : NO_ALLOCATIONS };
}

export function decodeBlockAffinity(r: Reader, name: string, line: number, spec: MapNode | undefined): BlockAffinity | undefined {
  const p = 'spec';
  const s = r.map(spec, p, 'BlockAffinity spec');
  const node = r.str(s, 'node', p);
  const cidr = lenientCidr(r, s, 'cidr', p);
  if (!node || !cidr) {
    if (!node && !s?.entries.has('node')) r.error(s?.line ?? line, 'spec.node', 'node is required');
    if (!cidr && !s?.entries.has('cidr')) r.error(s?.line ?? line, 'spec.cidr', 'cidr is required');
    return undefined;
  }
  const state = r.enumOf(s, 'state', p, ['confirmed', 'pending', 'pendingDeletion'] as const) ?? 'confirmed';
  return { name, line, node, cidr, state, deleted: boolish(r, s, 'deleted', p) };
}
