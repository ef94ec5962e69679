// A raw rtnetlink socket through libc, reached with koffi (netlink(7), socket(7)).
// Only the worker threads use this: every call here may block, so the main thread never does.
import koffi = require('koffi');
import {
  AF_NETLINK,
  EAGAIN,
  NETLINK_ROUTE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_RCVTIMEO,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
} from './consts.js';

interface Libc {
  socket: (domain: number, type: number, proto: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  setsockopt: (fd: number, level: number, name: number, val: Buffer, len: number) => number;
  getsockname: (fd: number, addr: Buffer, len: Buffer) => number;
  send: (fd: number, buf: Buffer, len: number, flags: number) => number;
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number;
  close: (fd: number) => number;
}

let libc: Libc | undefined;
function lib(): Libc {
  if (libc) return libc;
  const l = koffi.load('libc.so.6');
  libc = {
    socket: l.func('int socket(int, int, int)') as Libc['socket'],
    bind: l.func('int bind(int, void *, uint32_t)') as Libc['bind'],
    setsockopt: l.func('int setsockopt(int, int, int, void *, uint32_t)') as Libc['setsockopt'],
    getsockname: l.func('int getsockname(int, void *, void *)') as Libc['getsockname'],
    send: l.func('long send(int, void *, size_t, int)') as Libc['send'],
    recv: l.func('long recv(int, void *, size_t, int)') as Libc['recv'],
    close: l.func('int close(int)') as Libc['close'],
  };
  return libc;
}

/** setsockopt(fd, level, name, int) on any descriptor of this process; false on failure. */
export function setIntOn(fd: number, level: number, name: number, value: number): boolean {
  const v = Buffer.alloc(4);
  v.writeInt32LE(value, 0);
  return lib().setsockopt(fd, level, name, v, 4) === 0;
}

export class NetlinkError extends Error {
  constructor(
    readonly op: string,
    readonly errno: number,
  ) {
    super(`${op} failed: errno ${errno}`);
  }
}

export interface SocketOptions {
  /** Multicast group bit mask for bind() (1 << (RTNLGRP_x - 1)). */
  groups?: number;
  /** Receive buffer in bytes; SO_RCVBUFFORCE when root (exceeds rmem_max), else SO_RCVBUF. */
  rcvbuf?: number;
  sndbuf?: number;
  /** recv() timeout in ms (SO_RCVTIMEO) so a blocking reader can look at its stop flag. */
  rcvTimeoutMs?: number;
}

export class NetlinkSocket {
  readonly fd: number;
  readonly portId: number;
  private closed = false;

  constructor(opts: SocketOptions = {}) {
    const c = lib();
    this.fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (this.fd < 0) throw new NetlinkError('socket(AF_NETLINK)', koffi.errno());
    if (opts.sndbuf) this.setBuf(SO_SNDBUFFORCE, SO_SNDBUF, opts.sndbuf);
    if (opts.rcvbuf) this.setBuf(SO_RCVBUFFORCE, SO_RCVBUF, opts.rcvbuf);
    if (opts.rcvTimeoutMs) {
      const tv = Buffer.alloc(16); // struct timeval {long tv_sec; long tv_usec}
      tv.writeBigInt64LE(BigInt(Math.floor(opts.rcvTimeoutMs / 1000)), 0);
      tv.writeBigInt64LE(BigInt((opts.rcvTimeoutMs % 1000) * 1000), 8);
      this.check(c.setsockopt(this.fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16), 'SO_RCVTIMEO');
    }
    const sa = Buffer.alloc(12); // struct sockaddr_nl {u16 family; u16 pad; u32 pid; u32 groups}
    sa.writeUInt16LE(AF_NETLINK, 0);
    sa.writeUInt32LE((opts.groups ?? 0) >>> 0, 8);
    this.check(c.bind(this.fd, sa, 12), 'bind');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(12, 0);
    this.check(c.getsockname(this.fd, sa, len), 'getsockname');
    this.portId = sa.readUInt32LE(4);
  }

  private check(rc: number, op: string): void {
    if (rc < 0) {
      const e = koffi.errno();
      lib().close(this.fd);
      throw new NetlinkError(op, e);
    }
  }

  private setBuf(force: number, plain: number, bytes: number): void {
    const v = Buffer.alloc(4);
    v.writeInt32LE(bytes, 0);
    if (lib().setsockopt(this.fd, SOL_SOCKET, force, v, 4) < 0) lib().setsockopt(this.fd, SOL_SOCKET, plain, v, 4);
  }

  /** setsockopt(SOL_NETLINK, ...) with an int; returns false when the kernel refuses it. */
  setInt(level: number, name: number, value: number): boolean {
    const v = Buffer.alloc(4);
    v.writeInt32LE(value, 0);
    return lib().setsockopt(this.fd, level, name, v, 4) === 0;
  }

  /** Send one datagram; returns the byte count or throws with errno. */
  send(buf: Buffer): number {
    const n = lib().send(this.fd, buf, buf.length, 0);
    if (n < 0) throw new NetlinkError('send', koffi.errno());
    return n;
  }

  /** Receive one datagram into buf; returns its length, or -errno (EAGAIN on timeout). */
  recv(buf: Buffer, flags = 0): number {
    const n = lib().recv(this.fd, buf, buf.length, flags);
    if (n >= 0) return n;
    const e = koffi.errno();
    return -(e === 0 ? EAGAIN : e);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    lib().close(this.fd);
  }
}
