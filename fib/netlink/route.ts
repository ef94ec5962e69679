// RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE: struct rtmsg (include/uapi/linux/rtnetlink.h)
//   u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags   (12 bytes)
// followed by rtattrs. RTA_MULTIPATH holds struct rtnexthop {u16 len; u8 flags; u8 hops (weight-1);
// i32 ifindex} each followed by its own rtattrs (RTA_GATEWAY).
import {
  AF_INET,
  AF_INET6,
  NLA_TYPE_MASK,
  RTA_DST,
  RTA_GATEWAY,
  RTA_MULTIPATH,
  RTA_NH_ID,
  RTA_OIF,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_F_FIB_MATCH,
  RT_TABLE_COMPAT,
} from './consts.js';
import { type MsgWriter, NetlinkDecodeError, align4, parseAttrs } from './codec.js';

export interface RtNexthop {
  ifindex: number;
  flags: number;
  /** Weight as the user means it (1..256); on the wire rtnh_hops = weight - 1. */
  weight: number;
  gateway?: Buffer;
}

export interface RouteMsg {
  family: typeof AF_INET | typeof AF_INET6;
  dstLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
  dst: Buffer;
  priority?: number;
  gateway?: Buffer;
  oif?: number;
  nhId?: number;
  multipath?: RtNexthop[];
}

export const RTMSG_LEN = 12;

export function encodeRoute(w: MsgWriter, nlType: number, nlFlags: number, seq: number, r: RouteMsg): void {
  w.begin(nlType, nlFlags, seq);
  w.u8(r.family);
  w.u8(r.dstLen);
  w.u8(0); // src_len
  w.u8(r.tos);
  w.u8(r.table > 255 ? RT_TABLE_COMPAT : r.table);
  w.u8(r.protocol);
  w.u8(r.scope);
  w.u8(r.type);
  w.u32(r.flags);
  w.attrU32(RTA_TABLE, r.table); // the full 32-bit table id; rtm_table only holds 8 bits
  if (r.dstLen > 0 || r.dst.length > 0) w.attr(RTA_DST, r.dst);
  if (r.priority !== undefined) w.attrU32(RTA_PRIORITY, r.priority);
  if (r.nhId !== undefined) w.attrU32(RTA_NH_ID, r.nhId);
  if (r.gateway) w.attr(RTA_GATEWAY, r.gateway);
  if (r.oif !== undefined) w.attrU32(RTA_OIF, r.oif);
  if (r.multipath) {
    const mp = w.nestStart(RTA_MULTIPATH, false); // RTA_MULTIPATH is not flagged nested
    for (const nh of r.multipath) {
      const start = w.off;
      w.u16(0);
      w.u8(nh.flags);
      w.u8(Math.max(0, Math.min(255, nh.weight - 1)));
      w.i32(nh.ifindex);
      if (nh.gateway) w.attr(RTA_GATEWAY, nh.gateway);
      w.buf.writeUInt16LE(w.off - start, start);
    }
    w.nestEnd(mp);
  }
  w.end();
}

export function decodeRoute(p: Buffer): RouteMsg {
  if (p.length < RTMSG_LEN) throw new NetlinkDecodeError(`rtmsg of ${p.length} bytes`);
  const family = p[0];
  if (family !== AF_INET && family !== AF_INET6) throw new NetlinkDecodeError(`rtmsg family ${family}`);
  const r: RouteMsg = {
    family,
    dstLen: p[1],
    tos: p[3],
    table: p[4],
    protocol: p[5],
    scope: p[6],
    type: p[7],
    flags: p.readUInt32LE(8),
    dst: EMPTY,
    priority: undefined,
    oif: undefined,
    nhId: undefined,
    gateway: undefined,
  };
  // Attributes walked in place (a dump decodes a million of these: no Map per route).
  for (let off = RTMSG_LEN; off + 4 <= p.length; ) {
    const len = p.readUInt16LE(off);
    if (len < 4 || off + len > p.length) throw new NetlinkDecodeError(`rtattr length ${len} at offset ${off} overruns ${p.length}`);
    const type = p.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    const u32 = (): number => {
      if (len < 8) throw new NetlinkDecodeError(`attribute ${type}: ${len - 4} bytes, want 4`);
      return p.readUInt32LE(off + 4);
    };
    switch (type) {
      case RTA_DST:
        r.dst = p.subarray(off + 4, off + len);
        break;
      case RTA_TABLE:
        r.table = u32();
        break;
      case RTA_PRIORITY:
        r.priority = u32();
        break;
      case RTA_OIF:
        r.oif = u32();
        break;
      case RTA_NH_ID:
        r.nhId = u32();
        break;
      case RTA_GATEWAY:
        r.gateway = p.subarray(off + 4, off + len);
        break;
      case RTA_MULTIPATH:
        r.multipath = decodeMultipath(p.subarray(off + 4, off + len));
        break;
    }
    off += align4(len);
  }
  if (r.dst === EMPTY) r.dst = Buffer.alloc(family === AF_INET ? 4 : 16);
  return r;
}

const EMPTY = Buffer.alloc(0);

function decodeMultipath(b: Buffer): RtNexthop[] {
  const out: RtNexthop[] = [];
  let off = 0;
  while (off + 8 <= b.length) {
    const len = b.readUInt16LE(off);
    if (len < 8 || off + len > b.length) throw new NetlinkDecodeError(`rtnexthop length ${len}`);
    const sub = parseAttrs(b.subarray(off + 8, off + len));
    out.push({ flags: b[off + 2], weight: b[off + 3] + 1, ifindex: b.readInt32LE(off + 4), gateway: sub.get(RTA_GATEWAY) });
    off += align4(len);
  }
  return out;
}

/**
 * `ip route get ADDR fibmatch`: the route the kernel would use to reach `dst`, as it sits in
 * the FIB (RTM_F_FIB_MATCH), so that its protocol shows whose route it is. With NLM_F_ACK the
 * answer ends with an ACK, so it can be read as a one-message dump. Strict checking wants the
 * other header fields zero and a full-length destination.
 */
export function encodeRouteGet(w: MsgWriter, seq: number, dst: Buffer): void {
  w.begin(26 /* RTM_GETROUTE */, 0x1 | 0x4 /* REQUEST | ACK */, seq);
  w.u8(dst.length === 4 ? AF_INET : AF_INET6);
  w.u8(dst.length * 8);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u32(RTM_F_FIB_MATCH);
  w.attr(RTA_DST, dst);
  w.end();
}

/** A dump request (NLM_F_DUMP), filtered by the kernel when NETLINK_GET_STRICT_CHK is on. */
export function encodeRouteDump(w: MsgWriter, seq: number, family: number, table: number, protocol: number): void {
  w.begin(26 /* RTM_GETROUTE */, 0x1 | 0x300, seq);
  w.u8(family);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u8(table > 255 ? RT_TABLE_COMPAT : table);
  w.u8(protocol);
  w.u8(0);
  w.u8(0);
  w.u32(0);
  w.attrU32(RTA_TABLE, table);
  w.end();
}
