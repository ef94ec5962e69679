// Between the FIB's state and rtnetlink: turns planned operations into messages, and dumped
// messages into the same InstallSpec form the resolver produces, so that "is the kernel already
// right?" is one string comparison.
import { formatIp } from '../bgp/codec/address.js';
import type { IpPrefix } from './prefix.js';
import { type MsgWriter, NetlinkDecodeError, type NlMsg } from './netlink/codec.js';
import {
  AF_INET,
  AF_INET6,
  NLA_TYPE_MASK,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  RTA_DST,
  RTA_MULTIPATH,
  RTA_NH_ID,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_DELNEXTHOP,
  RTM_DELROUTE,
  RTM_F_CLONED,
  RTM_NEWNEXTHOP,
  RTM_NEWROUTE,
  RTNH_F_ONLINK,
  RTN_BLACKHOLE,
  RTN_UNICAST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
} from './netlink/consts.js';
import { decodeNexthop, encodeNexthop, type NexthopMsg } from './netlink/nexthop.js';
import { decodeRoute, encodeRoute, type RouteMsg } from './netlink/route.js';
import type { NexthopTable, NhCreate } from './nexthops.js';
import { makeSpec, type InstallSpec, type ResolvedHop } from './resolve.js';

export interface KernelParams {
  table: number;
  metric: number;
  protocol: number;
}

const ADD = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
const REPLACE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
const fam = (f: 4 | 6): typeof AF_INET | typeof AF_INET6 => (f === 4 ? AF_INET : AF_INET6);

/**
 * RTM_NEWROUTE for a spec. `replace` only when the kernel holds Tern's own route for this
 * prefix/metric: NLM_F_REPLACE would otherwise overwrite a foreign route with the same key,
 * while NLM_F_EXCL makes the kernel refuse (EEXIST) and leave the foreign route alone.
 */
const scratch: RouteMsg = { family: AF_INET, dstLen: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0, dst: Buffer.alloc(0) };
const dst4 = Buffer.alloc(4);

/**
 * The one reused route message (this runs a million times per table load), reset to a route of
 * Tern's for prefix `p` with no next hop yet: set and delete differ only in scope, type and metric.
 */
function routeScratch(k: KernelParams, p: IpPrefix, scope: number, type: number, priority: number): RouteMsg {
  const r = scratch;
  r.family = fam(p.family);
  r.dstLen = p.len;
  r.table = k.table;
  r.protocol = k.protocol;
  r.scope = scope;
  r.type = type;
  r.flags = 0;
  r.priority = priority;
  r.nhId = undefined;
  r.gateway = undefined;
  r.oif = undefined;
  r.multipath = undefined;
  if (p.v4 !== undefined) {
    dst4.writeUInt32BE(p.v4, 0);
    r.dst = dst4;
  } else r.dst = p.addr;
  return r;
}

export function encodeRouteSet(w: MsgWriter, seq: number, k: KernelParams, p: IpPrefix, spec: InstallSpec, nhId: number | undefined, replace: boolean): void {
  const r = routeScratch(k, p, RT_SCOPE_UNIVERSE, RTN_UNICAST, spec.metric ?? k.metric);
  if (spec.kind === 'blackhole') {
    r.type = RTN_BLACKHOLE;
  } else if (nhId !== undefined) {
    r.nhId = nhId;
  } else if (spec.hops.length === 1) {
    const h = spec.hops[0];
    r.gateway = h.gateway;
    r.oif = h.ifindex;
    if (h.onlink) r.flags = RTNH_F_ONLINK;
    if (!h.gateway) r.scope = RT_SCOPE_LINK;
  } else {
    r.multipath = spec.hops.map((h) => ({ ifindex: h.ifindex, flags: h.onlink ? RTNH_F_ONLINK : 0, weight: h.weight, gateway: h.gateway }));
  }
  encodeRoute(w, RTM_NEWROUTE, replace ? REPLACE : ADD, seq, r);
}

/** RTM_DELROUTE carrying Tern's protocol: the kernel deletes only a route of that protocol
 * (fib_table_delete and ip6_route_del both match rtm_protocol when it is non-zero). */
export function encodeRouteDel(w: MsgWriter, seq: number, k: KernelParams, p: IpPrefix, metric = k.metric): void {
  const r = routeScratch(k, p, RT_SCOPE_NOWHERE, 0, metric);
  encodeRoute(w, RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, seq, r);
}

export function encodeNexthopCreate(w: MsgWriter, seq: number, k: KernelParams, c: NhCreate): void {
  const n: NexthopMsg = { id: c.id, family: 0, protocol: k.protocol, flags: 0 };
  if (c.group) {
    n.group = c.group; // a group's family must be AF_UNSPEC
  } else if (c.hop) {
    n.family = fam(c.hop.family);
    n.oif = c.hop.ifindex;
    n.gateway = c.hop.gateway;
    if (c.hop.onlink) n.flags = RTNH_F_ONLINK;
  }
  encodeNexthop(w, RTM_NEWNEXTHOP, ADD, seq, n);
}

/** RTM_DELNEXTHOP: the kernel wants a zeroed nhmsg here (nh_valid_get_del_req refuses a protocol). */
export function encodeNexthopDel(w: MsgWriter, seq: number, id: number): void {
  encodeNexthop(w, RTM_DELNEXTHOP, NLM_F_REQUEST | NLM_F_ACK, seq, { id, family: 0, protocol: 0, flags: 0 });
}

/** A route of Tern's found in the kernel (its prefix: routePrefix(msg), built only when needed). */
export interface KernelRoute {
  family: 4 | 6;
  metric: number;
  key: string;
  spec: InstallSpec;
  nhId?: number;
}

export const routePrefix = (r: RouteMsg): string => `${formatIp(r.dst)}/${r.dstLen}`;

/** Whether a dumped/notified route is one of Tern's in its table (not a cached clone). */
export const isOurs = (r: RouteMsg, k: KernelParams): boolean =>
  r.protocol === k.protocol && r.table === k.table && (r.flags & RTM_F_CLONED) === 0 && (r.type === RTN_UNICAST || r.type === RTN_BLACKHOLE);

const BLACKHOLE = makeSpec('blackhole', []);
const NONE = makeSpec('unicast', []);

/** Normalise a dumped route of ours into the spec form (nexthop ids looked up in `nh`). One
 * object per route and no key built for routes on a nexthop object: a dump has a million. */
export function kernelRoute(r: RouteMsg, nh: NexthopTable | undefined): KernelRoute {
  const family: 4 | 6 = r.family === AF_INET ? 4 : 6;
  const metric = r.priority ?? 0;
  if (r.type === RTN_BLACKHOLE) return { family, metric, spec: BLACKHOLE, key: BLACKHOLE.key };
  if (r.nhId !== undefined) {
    const spec = nh?.specOf(r.nhId);
    if (!spec) return { family, metric, spec: NONE, key: `unknown-nexthop:${r.nhId}` }; // never equal: gets replaced
    nh?.ref(r.nhId);
    return { family, metric, spec, key: spec.key, nhId: r.nhId };
  }
  const hops: ResolvedHop[] = r.multipath
    ? r.multipath.map((m) => ({ family, gateway: m.gateway, ifindex: m.ifindex, onlink: (m.flags & RTNH_F_ONLINK) !== 0, weight: m.weight }))
    : [{ family, gateway: r.gateway, ifindex: r.oif ?? 0, onlink: (r.flags & RTNH_F_ONLINK) !== 0, weight: 1 }];
  const spec = makeSpec('unicast', hops);
  return { family, metric, spec, key: spec.key };
}

/** Feed a dump of nexthop objects into `nh`: ours adopted, others' ids reserved. */
export function adoptNexthops(msgs: NexthopMsg[], nh: NexthopTable, k: KernelParams): void {
  nh.clear();
  const groups: NexthopMsg[] = [];
  for (const n of msgs) {
    if (n.protocol !== k.protocol) {
      nh.reserveForeign(n.id);
      continue;
    }
    if (n.group) {
      groups.push(n);
      continue;
    }
    if (n.oif === undefined || n.blackhole) {
      nh.reserveForeign(n.id);
      continue;
    }
    nh.adoptSingle(n.id, {
      family: n.family === AF_INET ? 4 : 6,
      gateway: n.gateway,
      ifindex: n.oif,
      onlink: (n.flags & RTNH_F_ONLINK) !== 0,
      weight: 1,
    });
  }
  for (const g of groups) if (!nh.adoptGroup(g.id, g.group ?? [])) nh.reserveForeign(g.id);
}

/**
 * One datagram chunk of a route dump, read in place. The common route, one of Tern's on a
 * nexthop object, goes to `fast` as offsets into `buf` without allocating anything: the
 * generic decode (an NlMsg, a RouteMsg, Buffer views and a KernelRoute per route) took 4-12 us
 * a route, 15-44 ms per 291 KB chunk on a restart with a million routes, over the 50 ms
 * event-loop budget of issue 5. `fast` may decline (returns false); declined routes, and every
 * other route of Tern's (blackholes, inline gateways, RTA_MULTIPATH, no RTA_DST), go to `slow`
 * as a decoded RouteMsg. Routes that are not Tern's are skipped. Throws NetlinkDecodeError on a
 * malformed message, as parseMessages does.
 */
export function scanRouteDump(
  buf: Buffer,
  k: KernelParams,
  fast: (family: 4 | 6, dstOff: number, dstLen: number, metric: number, nhId: number) => boolean,
  slow: (r: RouteMsg) => void,
): void {
  for (let off = 0; off + 16 <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) throw new NetlinkDecodeError(`nlmsghdr length ${len} at offset ${off} overruns ${buf.length}`);
    const p = off + 16;
    const end = off + len;
    off += (len + 3) & ~3;
    if (buf.readUInt16LE(p - 12) !== RTM_NEWROUTE || end - p < 12) continue;
    const family = buf[p];
    if (family !== AF_INET && family !== AF_INET6) continue;
    const type = buf[p + 7];
    if (buf[p + 5] !== k.protocol || (buf.readUInt32LE(p + 8) & RTM_F_CLONED) !== 0 || (type !== RTN_UNICAST && type !== RTN_BLACKHOLE)) continue;
    let table = buf[p + 4],
      dst = -1,
      metric = 0,
      nhId = -1,
      other = false;
    for (let a = p + 12; a + 4 <= end; ) {
      const alen = buf.readUInt16LE(a);
      if (alen < 4 || a + alen > end) throw new NetlinkDecodeError(`rtattr length ${alen} at offset ${a - p} overruns ${end - p}`);
      const atype = buf.readUInt16LE(a + 2) & NLA_TYPE_MASK;
      if (atype === RTA_TABLE && alen >= 8) table = buf.readUInt32LE(a + 4);
      else if (atype === RTA_DST) dst = a + 4;
      else if (atype === RTA_PRIORITY && alen >= 8) metric = buf.readUInt32LE(a + 4);
      else if (atype === RTA_NH_ID && alen >= 8) nhId = buf.readUInt32LE(a + 4);
      else if (atype === RTA_MULTIPATH) other = true;
      a += (alen + 3) & ~3;
    }
    if (table !== k.table) continue; // with the checks above: isOurs(), on the raw bytes
    const fam = family === AF_INET ? 4 : 6;
    const dstOk = dst >= 0 && buf.readUInt16LE(dst - 4) - 4 === (fam === 4 ? 4 : 16);
    if (type === RTN_UNICAST && nhId >= 0 && !other && dstOk && fast(fam, dst, buf[p + 1], metric, nhId)) continue;
    slow(decodeRoute(buf.subarray(p, end)));
  }
}

export const decodeRouteMsgs = (msgs: NlMsg[]): RouteMsg[] =>
  msgs.filter((m) => m.type === RTM_NEWROUTE && (m.payload[0] === AF_INET || m.payload[0] === AF_INET6)).map((m) => decodeRoute(m.payload));
export const decodeNexthopMsgs = (msgs: NlMsg[]): NexthopMsg[] => msgs.filter((m) => m.type === RTM_NEWNEXTHOP).map((m) => decodeNexthop(m.payload));
