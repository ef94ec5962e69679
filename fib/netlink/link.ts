// RTM_*LINK: struct ifinfomsg {u8 family, pad; u16 type; i32 index; u32 flags, change} (16 bytes).
// RTM_*ADDR: struct ifaddrmsg {u8 family, prefixlen, flags, scope; u32 index} (8 bytes).
import { IFA_ADDRESS, IFA_LOCAL, IFLA_IFNAME } from './consts.js';
import { type MsgWriter, NetlinkDecodeError, attrString, parseAttrs } from './codec.js';

export interface LinkMsg {
  index: number;
  flags: number;
  name: string;
}
export interface AddrMsg {
  family: number;
  prefixLen: number;
  index: number;
  address: Buffer;
}

export function decodeLink(p: Buffer): LinkMsg {
  if (p.length < 16) throw new NetlinkDecodeError(`ifinfomsg of ${p.length} bytes`);
  const attrs = parseAttrs(p, 16);
  return { index: p.readInt32LE(4), flags: p.readUInt32LE(8), name: attrString(attrs, IFLA_IFNAME) ?? '' };
}

export function decodeAddr(p: Buffer): AddrMsg {
  if (p.length < 8) throw new NetlinkDecodeError(`ifaddrmsg of ${p.length} bytes`);
  const attrs = parseAttrs(p, 8);
  // On point-to-point links IFA_ADDRESS is the peer and IFA_LOCAL our own; elsewhere they match.
  const address = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (!address) throw new NetlinkDecodeError('ifaddrmsg without IFA_LOCAL/IFA_ADDRESS');
  return { family: p[0], prefixLen: p[1], index: p.readUInt32LE(4), address };
}

export function encodeLinkDump(w: MsgWriter, seq: number): void {
  w.begin(18 /* RTM_GETLINK */, 0x1 | 0x300, seq);
  w.u8(0);
  w.u8(0);
  w.u16(0);
  w.i32(0);
  w.u32(0);
  w.u32(0);
  w.end();
}

export function encodeAddrDump(w: MsgWriter, seq: number): void {
  w.begin(22 /* RTM_GETADDR */, 0x1 | 0x300, seq);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u32(0);
  w.end();
}
