// Readable text and plain JSON for decoded messages: used by `bgpctl decode`, logs and tests.
// JSON is plain data (no Buffers, no PrefixList objects), so deep equality works on it.

import { type AsPathSegment, type BgpMessage, type Capability, MsgType, type PathAttributes, type PrefixList, type UpdateMessage } from './types.js';
import { formatPrefix } from './prefix.js';
import { attributeName, capabilityName, messageTypeName, notificationName } from './names.js';
import { isEndOfRib } from './update.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const ORIGINS = ['IGP', 'EGP', 'INCOMPLETE'];
const hex = (b: Buffer): string => b.toString('hex');

export function formatAsPath(segs: readonly AsPathSegment[]): string {
  return segs
    .map((s) => {
      const a = s.asns.join(' ');
      switch (s.type) {
        case 1:
          return `{${a}}`;
        case 3:
          return `(${a})`;
        case 4:
          return `[${a}]`;
        default:
          return a;
      }
    })
    .join(' ');
}

export const formatCommunity = (c: number): string => `${c >>> 16}:${c & 0xffff}`;

function prefixesJson(list: PrefixList): Json[] {
  const out: Json[] = [];
  const addPath = list.length > 0 && 'addPath' in list && (list as { addPath: boolean }).addPath;
  for (let i = 0; i < list.length; i++) {
    const p = formatPrefix(list.get(i));
    out.push(addPath ? { prefix: p, pathId: list.pathId(i) } : p);
  }
  return out;
}

function capabilityJson(c: Capability): Json {
  const o: { [k: string]: Json } = { code: c.code, name: capabilityName(c.code) };
  for (const [k, v] of Object.entries(c)) {
    if (k === 'code' || k === 'unknown') continue;
    o[k] = Buffer.isBuffer(v) ? hex(v) : (v as Json);
  }
  return o;
}

export function attrsJson(a: PathAttributes): { [k: string]: Json } {
  const o: { [k: string]: Json } = {};
  if (a.origin !== undefined) o.origin = ORIGINS[a.origin] ?? a.origin;
  if (a.asPath) o.asPath = a.asPath.map((s) => ({ type: s.type, asns: s.asns }));
  if (a.nextHop !== undefined) o.nextHop = a.nextHop;
  if (a.med !== undefined) o.med = a.med;
  if (a.localPref !== undefined) o.localPref = a.localPref;
  if (a.atomicAggregate) o.atomicAggregate = true;
  if (a.aggregator) o.aggregator = { ...a.aggregator };
  if (a.communities) o.communities = a.communities.map(formatCommunity);
  if (a.originatorId !== undefined) o.originatorId = a.originatorId;
  if (a.clusterList) o.clusterList = [...a.clusterList];
  if (a.extendedCommunities) o.extendedCommunities = a.extendedCommunities.map(hex);
  if (a.largeCommunities) o.largeCommunities = a.largeCommunities.map((c) => `${c.globalAdmin}:${c.local1}:${c.local2}`);
  if (a.otc !== undefined) o.otc = a.otc;
  if (a.as4Path) o.as4Path = a.as4Path.map((s) => ({ type: s.type, asns: s.asns }));
  if (a.as4Aggregator) o.as4Aggregator = { ...a.as4Aggregator };
  if (a.unknown) o.unknown = a.unknown.map((u) => ({ type: u.type, name: attributeName(u.type), flags: u.flags, value: hex(u.value) }));
  return o;
}

/** Plain JSON for a message. */
export function messageToJson(m: BgpMessage): { [k: string]: Json } {
  const type = messageTypeName(m.type);
  switch (m.type) {
    case MsgType.OPEN:
      return {
        type,
        version: m.version,
        myAs: m.myAs,
        holdTime: m.holdTime,
        bgpId: m.bgpId,
        capabilities: m.capabilities.map(capabilityJson),
        otherParams: m.otherParams.map((p) => ({ type: p.type, value: hex(p.value) })),
      };
    case MsgType.UPDATE: {
      const o: { [k: string]: Json } = { type, withdrawn: prefixesJson(m.withdrawn), attrs: attrsJson(m.attrs), nlri: prefixesJson(m.nlri) };
      if (m.mpReach) {
        const nh: { [k: string]: Json } = { global: m.mpReach.nextHop.global };
        if (m.mpReach.nextHop.linkLocal) nh.linkLocal = m.mpReach.nextHop.linkLocal;
        o.mpReach = { afi: m.mpReach.afi, safi: m.mpReach.safi, nextHop: nh, nlri: prefixesJson(m.mpReach.nlri) };
      }
      if (m.mpUnreach) o.mpUnreach = { afi: m.mpUnreach.afi, safi: m.mpUnreach.safi, withdrawn: prefixesJson(m.mpUnreach.withdrawn) };
      if (m.treatAsWithdraw) o.treatAsWithdraw = true;
      if (m.errors) o.errors = m.errors.map((e) => ({ attrType: e.attrType, attribute: attributeName(e.attrType), action: e.action, reason: e.reason }));
      return o;
    }
    case MsgType.NOTIFICATION: {
      const o: { [k: string]: Json } = { type, code: m.code, subcode: m.subcode, name: notificationName(m.code, m.subcode), data: hex(m.data) };
      if (m.shutdownMessage !== undefined) o.shutdownMessage = m.shutdownMessage;
      return o;
    }
    case MsgType.KEEPALIVE:
      return { type };
    case MsgType.ROUTE_REFRESH:
      return { type, afi: m.afi, safi: m.safi, subtype: m.subtype };
  }
}

function capabilityText(c: Capability): string {
  const j = capabilityJson(c) as { [k: string]: Json };
  const rest = Object.entries(j)
    .filter(([k]) => k !== 'code' && k !== 'name')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
  return `${capabilityName(c.code)} (${c.code})${rest ? ' ' + rest : ''}`;
}

function listText(label: string, list: PrefixList, lines: string[]): void {
  if (list.length === 0) return;
  lines.push(`  ${label} (${list.length}):`);
  const items = prefixesJson(list).map((p) => (typeof p === 'string' ? p : `${(p as { prefix: string }).prefix} path-id ${(p as { pathId: number }).pathId}`));
  for (let i = 0; i < items.length; i += 4) lines.push('    ' + items.slice(i, i + 4).join('  '));
}

function updateText(m: UpdateMessage, lines: string[]): void {
  listText('withdrawn', m.withdrawn, lines);
  const a = attrsJson(m.attrs);
  if (m.attrs.asPath) a.asPath = formatAsPath(m.attrs.asPath) || '(empty)';
  if (m.attrs.as4Path) a.as4Path = formatAsPath(m.attrs.as4Path);
  if (m.attrs.aggregator) a.aggregator = `AS${m.attrs.aggregator.asn} ${m.attrs.aggregator.address}`;
  if (m.attrs.as4Aggregator) a.as4Aggregator = `AS${m.attrs.as4Aggregator.asn} ${m.attrs.as4Aggregator.address}`;
  for (const [k, v] of Object.entries(a)) {
    const shown = typeof v === 'string' ? v : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join(' ') : JSON.stringify(v);
    lines.push(`  ${k}: ${shown}`);
  }
  if (m.mpUnreach) {
    lines.push(`  MP_UNREACH_NLRI afi ${m.mpUnreach.afi} safi ${m.mpUnreach.safi}${m.mpUnreach.withdrawn.length ? '' : ' (no prefixes)'}`);
    listText('withdrawn', m.mpUnreach.withdrawn, lines);
  }
  if (m.mpReach) {
    const nh = m.mpReach.nextHop;
    lines.push(`  MP_REACH_NLRI afi ${m.mpReach.afi} safi ${m.mpReach.safi} next hop ${nh.global}${nh.linkLocal ? ` link-local ${nh.linkLocal}` : ''}`);
    listText('nlri', m.mpReach.nlri, lines);
  }
  listText('nlri', m.nlri, lines);
  if (m.treatAsWithdraw) lines.push('  RFC 7606: treat-as-withdraw: every NLRI in this UPDATE is to be withdrawn');
  for (const e of m.errors ?? []) lines.push(`  RFC 7606 ${e.action} (${attributeName(e.attrType)}): ${e.reason}`);
}

/** Multi-line readable text for a message. */
export function formatMessage(m: BgpMessage, length?: number): string {
  const lines = [`${messageTypeName(m.type)}${length !== undefined ? ` (${length} bytes)` : ''}`];
  switch (m.type) {
    case MsgType.OPEN:
      lines.push(`  version ${m.version}, my AS ${m.myAs}, hold time ${m.holdTime}, BGP identifier ${m.bgpId}`);
      for (const c of m.capabilities) lines.push(`  capability ${capabilityText(c)}`);
      for (const p of m.otherParams) lines.push(`  optional parameter ${p.type}: ${hex(p.value)}`);
      break;
    case MsgType.UPDATE: {
      const eor = isEndOfRib(m);
      if (eor) lines[0] += ` End-of-RIB ${eor} (RFC 4724)`;
      updateText(m, lines);
      break;
    }
    case MsgType.NOTIFICATION:
      lines.push(`  ${notificationName(m.code, m.subcode)} (${m.code}/${m.subcode})${m.data.length ? ` data ${hex(m.data)}` : ''}`);
      if (m.shutdownMessage !== undefined) lines.push(`  shutdown communication: ${JSON.stringify(m.shutdownMessage)}`);
      break;
    case MsgType.KEEPALIVE:
      break;
    case MsgType.ROUTE_REFRESH:
      lines.push(`  afi ${m.afi} safi ${m.safi} subtype ${['normal', 'BoRR', 'EoRR'][m.subtype] ?? m.subtype}`);
      break;
  }
  return lines.join('\n');
}
