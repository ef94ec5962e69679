// RTM_NEWNEXTHOP / RTM_DELNEXTHOP / RTM_GETNEXTHOP (Linux 5.3+, include/uapi/linux/nexthop.h):
//   struct nhmsg {u8 family, scope, protocol, resvd; u32 flags}  (8 bytes)
// NHA_GROUP holds struct nexthop_grp {u32 id; u8 weight (weight-1); u8 resvd1; u16 resvd2}[].
import { NHA_BLACKHOLE, NHA_GATEWAY, NHA_GROUP, NHA_ID, NHA_OIF } from './consts.js';
import { type MsgWriter, NetlinkDecodeError, attrU32, parseAttrs } from './codec.js';

export interface NexthopGroupMember {
  id: number;
  weight: number;
}

export interface NexthopMsg {
  id: number;
  family: number;
  protocol: number;
  flags: number; // RTNH_F_ONLINK for an onlink gateway
  oif?: number;
  gateway?: Buffer;
  blackhole?: boolean;
  group?: NexthopGroupMember[];
}

export const NHMSG_LEN = 8;

export function encodeNexthop(w: MsgWriter, nlType: number, nlFlags: number, seq: number, n: NexthopMsg): void {
  w.begin(nlType, nlFlags, seq);
  w.u8(n.family);
  w.u8(0); // scope: the kernel derives it
  w.u8(n.protocol);
  w.u8(0);
  w.u32(n.flags);
  w.attrU32(NHA_ID, n.id);
  if (n.group) {
    const g = Buffer.alloc(8 * n.group.length);
    n.group.forEach((m, i) => {
      g.writeUInt32LE(m.id, i * 8);
      g[i * 8 + 4] = Math.max(0, Math.min(255, m.weight - 1));
    });
    w.attr(NHA_GROUP, g);
  }
  if (n.blackhole) w.attrFlag(NHA_BLACKHOLE);
  if (n.oif !== undefined) w.attrU32(NHA_OIF, n.oif);
  if (n.gateway) w.attr(NHA_GATEWAY, n.gateway);
  w.end();
}

export function decodeNexthop(p: Buffer): NexthopMsg {
  if (p.length < NHMSG_LEN) throw new NetlinkDecodeError(`nhmsg of ${p.length} bytes`);
  const attrs = parseAttrs(p, NHMSG_LEN);
  const id = attrU32(attrs, NHA_ID);
  if (id === undefined) throw new NetlinkDecodeError('nexthop without NHA_ID');
  const n: NexthopMsg = { id, family: p[0], protocol: p[2], flags: p.readUInt32LE(4) };
  n.oif = attrU32(attrs, NHA_OIF);
  n.gateway = attrs.get(NHA_GATEWAY);
  if (attrs.has(NHA_BLACKHOLE)) n.blackhole = true;
  const g = attrs.get(NHA_GROUP);
  if (g) {
    if (g.length % 8) throw new NetlinkDecodeError(`NHA_GROUP of ${g.length} bytes`);
    n.group = [];
    for (let off = 0; off < g.length; off += 8) n.group.push({ id: g.readUInt32LE(off), weight: g[off + 4] + 1 });
  }
  return n;
}

export function encodeNexthopDump(w: MsgWriter, seq: number): void {
  w.begin(106 /* RTM_GETNEXTHOP */, 0x1 | 0x300, seq);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u32(0);
  w.end();
}
