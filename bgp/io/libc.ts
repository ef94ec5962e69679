// libc through koffi, for the sockets node's `net` and `dgram` cannot make: TCP with MD5 and GTSM
// set before connect (transport.ts), UDP whose packets' TTL is read with recvmsg (bfd/udp.ts).
// One binding, loaded on first use in whichever thread uses it (the BFD worker loads its own).

import koffi from 'koffi';

// Linux socket ABI numbers (x86-64 and arm64 agree on all of these), shared by both users.
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;
export const IP_TTL = 2;
export const IP_RECVTTL = 12;
export const IP_MINTTL = 21;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_V6ONLY = 26;
export const IPV6_RECVHOPLIMIT = 51;
export const IPV6_HOPLIMIT = 52;
export const IPV6_MINHOPCOUNT = 73;
export const TCP_MD5SIG = 14;
export const MSG_DONTWAIT = 0x40;
export const EAGAIN = 11;
export const EADDRINUSE = 98;
export const EINPROGRESS = 115;
export const POLLIN = 1;
export const POLLOUT = 4;

export interface Libc {
  socket(domain: number, type: number, proto: number): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Buffer, len: Buffer): number;
  bind(fd: number, addr: Buffer, len: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  listen(fd: number, backlog: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: number): number;
  recvmsg(fd: number, msg: unknown, flags: number): number;
  poll(fds: Buffer, n: number, timeout: number): number;
  close(fd: number): number;
  strerror(e: number): string;
  gettid(): number;
  setpriority(which: number, who: number, prio: number): number;
}

let bound: Libc | undefined;

export function libc(): Libc {
  if (bound) return bound;
  const lib = koffi.load('libc.so.6');
  bound = {
    socket: lib.func('int socket(int, int, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, void *, uint32_t)'),
    getsockopt: lib.func('int getsockopt(int, int, int, _Out_ void *, _Inout_ void *)'),
    bind: lib.func('int bind(int, void *, uint32_t)'),
    connect: lib.func('int connect(int, void *, uint32_t)'),
    listen: lib.func('int listen(int, int)'),
    sendto: lib.func('intptr_t sendto(int, void *, size_t, int, void *, uint32_t)'),
    recvmsg: lib.func('intptr_t recvmsg(int, void *, int)'),
    poll: lib.func('int poll(_Inout_ void *, uint64_t, int)'),
    close: lib.func('int close(int)'),
    strerror: lib.func('const char *strerror(int)'),
    gettid: lib.func('int gettid()'),
    setpriority: lib.func('int setpriority(int, int, int)'),
  } as Libc;
  return bound;
}

/** The errno of the last failed call in this thread. */
export const errno = (): number => koffi.errno();

/** An Error carrying errno, in node's style ("connect ECONNREFUSED"). */
export class SysError extends Error {
  constructor(
    readonly syscall: string,
    readonly errno: number,
  ) {
    super(`${syscall}: ${libc().strerror(errno)} (errno ${errno})`);
  }
}

/** `r`, or a SysError for `syscall` when it is negative. */
export function check(r: number, syscall: string): number {
  if (r < 0) throw new SysError(syscall, koffi.errno());
  return r;
}

export function setIntOpt(fd: number, level: number, name: number, value: number): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  check(libc().setsockopt(fd, level, name, b, 4), 'setsockopt');
}
