// UDP for BFD through libc (koffi), because node's dgram cannot report a received packet's TTL:
// RFC 5881 §5 requires dropping single-hop packets whose TTL/Hop Limit is not 255, and Linux does
// not apply IP_MINTTL to UDP (checked on this kernel: a TTL 254 datagram is still delivered). So
// sockets ask for IP_RECVTTL / IPV6_RECVHOPLIMIT and packets are read with recvmsg(2), whose
// control message carries the TTL. Everything here is synchronous and nonblocking; the BFD worker
// thread (worker.ts) waits in poll(2). Only that thread uses this module.

import koffi from 'koffi';
import {
  check,
  errno,
  libc as c,
  setIntOpt as setInt,
  SysError,
  AF_INET,
  AF_INET6,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_CLOEXEC,
  SOL_SOCKET,
  SO_REUSEADDR,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IP_TTL,
  IP_RECVTTL,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  IPV6_RECVHOPLIMIT,
  IPV6_HOPLIMIT,
  MSG_DONTWAIT,
  EAGAIN,
  EADDRINUSE,
  POLLIN,
} from '../io/libc.js';
import { familyOf, sockaddr } from '../io/transport.js';
import { formatIpv4, formatIpv6 } from '../codec/address.js';

export interface UdpSocketOptions {
  /** Local address to bind (`0.0.0.0` / `::` for any). */
  address: string;
  /** Port; 0 picks a free one in 49152-65535 (RFC 5881 §4 source ports). */
  port: number;
  /** Ask the kernel for each packet's TTL / Hop Limit. */
  recvTtl?: boolean;
}

/** A nonblocking UDP socket that sends with TTL/Hop Limit 255 (RFC 5881 §5, RFC 5883 §5). */
export function openUdp(o: UdpSocketOptions): { fd: number; port: number } {
  const family = familyOf(o.address);
  const fd = check(c().socket(family === 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), 'socket');
  try {
    if (family === 6) {
      setInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
      setInt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255);
      if (o.recvTtl) setInt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
    } else {
      setInt(fd, IPPROTO_IP, IP_TTL, 255);
      if (o.recvTtl) setInt(fd, IPPROTO_IP, IP_RECVTTL, 1);
    }
    if (o.port !== 0) {
      setInt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
      const sa = sockaddr(o.address, o.port);
      check(c().bind(fd, sa, sa.length), `bind ${o.address}:${o.port}`);
      return { fd, port: o.port };
    }
    // RFC 5881 §4: "The source port MUST be in the range 49152 through 65535." Random start, then walk.
    const start = 49152 + Math.floor(Math.random() * 16384);
    for (let i = 0; i < 16384; i++) {
      const port = 49152 + ((start - 49152 + i) % 16384);
      const sa = sockaddr(o.address, port);
      if (c().bind(fd, sa, sa.length) === 0) return { fd, port };
      const e = errno();
      if (e !== EADDRINUSE) throw new SysError(`bind ${o.address}`, e);
    }
    throw new SysError(`bind ${o.address}`, EADDRINUSE);
  } catch (err) {
    c().close(fd);
    throw err;
  }
}

export function closeUdp(fd: number): void {
  c().close(fd);
}

/** Sends one datagram; returns 0 or the errno (a full socket buffer is a lost packet, as on a wire). */
export function sendUdp(fd: number, data: Buffer, address: string, port: number): number {
  const sa = sockaddr(address, port);
  return c().sendto(fd, data, data.length, MSG_DONTWAIT, sa, sa.length) < 0 ? errno() : 0;
}

export interface Datagram {
  data: Buffer;
  address: string;
  port: number;
  /** TTL / Hop Limit from the control message; -1 when the kernel gave none. */
  ttl: number;
}

// One native scratch area for recvmsg: msghdr, iovec, peer address, control, data.
const HDR = 0,
  IOV = 64,
  NAME = 128,
  CTRL = 256,
  CTRL_LEN = 256,
  DATA = 1024,
  DATA_LEN = 3072;
let scratch: { ptr: unknown; view: DataView; bytes: Uint8Array } | undefined;
function area(): NonNullable<typeof scratch> {
  if (scratch) return scratch;
  const ptr = koffi.alloc('uint8_t', DATA + DATA_LEN);
  const base = BigInt(koffi.address(ptr) as bigint);
  const ab = koffi.view(ptr, DATA + DATA_LEN) as ArrayBuffer;
  const view = new DataView(ab);
  // struct iovec { void *base; size_t len; }
  view.setBigUint64(IOV, base + BigInt(DATA), true);
  view.setBigUint64(IOV + 8, BigInt(DATA_LEN), true);
  // struct msghdr { name; namelen(+pad); iov; iovlen; control; controllen; flags }
  view.setBigUint64(HDR, base + BigInt(NAME), true);
  view.setBigUint64(HDR + 16, base + BigInt(IOV), true);
  view.setBigUint64(HDR + 24, 1n, true);
  view.setBigUint64(HDR + 32, base + BigInt(CTRL), true);
  scratch = { ptr, view, bytes: new Uint8Array(ab) };
  return scratch;
}

/** Reads one datagram, or undefined when none is waiting. */
export function recvUdp(fd: number): Datagram | undefined {
  const s = area();
  s.view.setUint32(HDR + 8, 128, true); // msg_namelen
  s.view.setBigUint64(HDR + 40, BigInt(CTRL_LEN), true); // msg_controllen
  s.view.setInt32(HDR + 48, 0, true);
  const n = c().recvmsg(fd, s.ptr, MSG_DONTWAIT);
  if (n < 0) {
    const e = errno();
    if (e === EAGAIN) return undefined;
    throw new SysError('recvmsg', e);
  }
  const data = Buffer.from(s.bytes.subarray(DATA, DATA + Math.min(n, DATA_LEN)));
  const fam = s.view.getUint16(NAME, true);
  const port = s.view.getUint16(NAME + 2, false);
  const address = fam === AF_INET6 ? formatIpv6(s.bytes, NAME + 8) : formatIpv4(s.bytes, NAME + 4);
  // struct cmsghdr { size_t len; int level; int type; data... }, each aligned to 8.
  let ttl = -1;
  const ctrlLen = Number(s.view.getBigUint64(HDR + 40, true));
  for (let off = 0; off + 16 <= ctrlLen; ) {
    const len = Number(s.view.getBigUint64(CTRL + off, true));
    const level = s.view.getInt32(CTRL + off + 8, true);
    const type = s.view.getInt32(CTRL + off + 12, true);
    if ((level === IPPROTO_IP && type === IP_TTL) || (level === IPPROTO_IPV6 && type === IPV6_HOPLIMIT)) {
      ttl = s.view.getInt32(CTRL + off + 16, true);
    }
    if (len < 16) break;
    off += (len + 7) & ~7;
  }
  return { data, address: fam === AF_INET6 && address.startsWith('::ffff:') ? address.slice(7) : address, port, ttl };
}

/** poll(2) on the fds for input; returns the readable ones. `timeoutMs` 0 does not wait. */
export function pollIn(fds: number[], timeoutMs: number): number[] {
  const b = Buffer.alloc(8 * fds.length);
  fds.forEach((fd, i) => {
    b.writeInt32LE(fd, i * 8);
    b.writeInt16LE(POLLIN, i * 8 + 4);
  });
  const r = c().poll(b, fds.length, Math.max(0, Math.floor(timeoutMs)));
  if (r <= 0) return [];
  return fds.filter((_, i) => (b.readInt16LE(i * 8 + 6) & POLLIN) !== 0);
}

/**
 * Raise the calling thread's scheduling priority (Linux: setpriority on a thread ID affects only
 * that thread). On a loaded node (the CI machine runs at a load of 4 per core) the BFD thread
 * otherwise waits its turn behind everything else and fires its transmit timer 100 ms late.
 * Returns the nice value in force, or the error (EPERM without CAP_SYS_NICE: BFD still runs).
 */
export function raiseThreadPriority(nice: number): { nice: number } | { error: string } {
  const PRIO_PROCESS = 0;
  const tid = c().gettid();
  if (c().setpriority(PRIO_PROCESS, tid, nice) === 0) return { nice };
  return { error: new SysError('setpriority', errno()).message };
}
