// TCP for BGP: sockets with TCP MD5 (RFC 2385) and GTSM (RFC 5082) set before connect/listen.
// Node's `net` cannot set socket options before connecting, so such sockets are made with libc
// through koffi (socket, setsockopt, bind, connect, listen), then handed to `net` as an fd.
// A nonblocking connect returns EINPROGRESS; we poll(2) the fd for writability with a zero
// timeout on a backing-off JS timer (the event loop never blocks), read SO_ERROR, and only then
// wrap the connected fd in `new net.Socket({fd})`. Without MD5/GTSM/TTL plain `net` is used.
// See docs/sessions.md "Transport".

import net from 'node:net';
import { ipFamily, parseIp } from '../codec/address.js';
import {
  check,
  errno,
  libc as c,
  setIntOpt,
  SysError,
  AF_INET,
  AF_INET6,
  SOCK_STREAM,
  SOCK_NONBLOCK,
  SOCK_CLOEXEC,
  SOL_SOCKET,
  SO_REUSEADDR,
  SO_ERROR,
  IPPROTO_IP,
  IPPROTO_TCP,
  IPPROTO_IPV6,
  IP_TTL,
  IP_MINTTL,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  IPV6_MINHOPCOUNT,
  TCP_MD5SIG,
  EINPROGRESS,
  POLLOUT,
} from './libc.js';

export { setIntOpt, SysError };
// Re-exported for the session tests, which read these options back from a live socket.
export { IP_MINTTL, IP_TTL } from './libc.js';

const TCP_MD5SIG_MAXKEYLEN = 80;

/** IPv4 or IPv6 text to its bytes (a zone index is dropped: the socket call carries the interface); throws on anything else. */
export function addressBytes(addr: string): Buffer {
  const b = parseIp(addr, 'ignore');
  if (!b) throw new Error(`not an IP address: ${addr}`);
  return b;
}

export const familyOf = (addr: string): 4 | 6 => (ipFamily(addr) === 6 ? 6 : 4);

/** struct sockaddr_in / sockaddr_in6 (ports in network order). */
export function sockaddr(addr: string, port: number): Buffer {
  const bytes = addressBytes(addr);
  if (bytes.length === 4) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(port, 2);
    bytes.copy(b, 4);
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  bytes.copy(b, 8);
  return b;
}

export function createSocket(family: 4 | 6): number {
  return check(c().socket(family === 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), 'socket');
}

export function getIntOpt(fd: number, level: number, name: number): number {
  const b = Buffer.alloc(4);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(4);
  check(c().getsockopt(fd, level, name, b, len), 'getsockopt');
  return b.readInt32LE();
}

/**
 * RFC 2385 key for one peer on this socket (struct tcp_md5sig: sockaddr_storage addr; u8 flags;
 * u8 prefixlen; u16 keylen; u32 ifindex; u8 key[80]). An empty or absent key deletes it.
 * On a listening socket it applies to connections from that address (Linux tcp_v4_parse_md5_keys).
 */
export function setMd5Key(fd: number, peer: string, key: string | undefined): void {
  const k = Buffer.from(key ?? '', 'utf8');
  if (k.length > TCP_MD5SIG_MAXKEYLEN) throw new Error('TCP MD5 key longer than 80 bytes');
  const b = Buffer.alloc(128 + 4 + 4 + TCP_MD5SIG_MAXKEYLEN);
  sockaddr(peer, 0).copy(b, 0);
  b.writeUInt16LE(k.length, 130);
  k.copy(b, 136);
  check(c().setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, b, b.length), 'setsockopt(TCP_MD5SIG)');
}

/**
 * RFC 5082 §3: send with TTL 255 and accept only packets with TTL >= 256 - hops
 * (IP_MINTTL / IPV6_MINHOPCOUNT). For IPv6 sockets both families are set (v4-mapped peers).
 */
export function setGtsm(fd: number, family: 4 | 6, hops: number): void {
  if (family === 6) {
    setIntOpt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255);
    setIntOpt(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, 256 - hops);
  } else {
    setIntOpt(fd, IPPROTO_IP, IP_TTL, 255);
    setIntOpt(fd, IPPROTO_IP, IP_MINTTL, 256 - hops);
  }
}

/** Outgoing TTL / hop limit (eBGP multihop without GTSM). */
export function setTtl(fd: number, family: 4 | 6, ttl: number): void {
  if (family === 6) setIntOpt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl);
  else setIntOpt(fd, IPPROTO_IP, IP_TTL, ttl);
}

/** The fd under a net.Socket or net.Server (libuv keeps it in _handle.fd on Unix). */
export function fdOf(s: net.Socket | net.Server): number {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no file descriptor');
  return fd;
}

export interface ConnectOptions {
  host: string;
  port: number;
  localAddress?: string;
  md5Key?: string;
  gtsmHops?: number;
  ttl?: number;
  /** Give up after this long (ms); the FSM's ConnectRetryTimer normally aborts first. */
  timeoutMs?: number;
}

export interface Connecting {
  promise: Promise<net.Socket>;
  /** Abandons the attempt; the promise rejects and the fd is closed. */
  abort(): void;
}

/** Opens an outbound TCP connection with the options set before the SYN. */
export function connectTcp(o: ConnectOptions): Connecting {
  if (!o.md5Key && !o.gtsmHops && !o.ttl) return connectPlain(o);
  const family = familyOf(o.host);
  let fd = -1;
  let timer: NodeJS.Timeout | undefined;
  let rejectFn: (e: Error) => void = () => {};
  const abort = () => {
    if (timer) clearTimeout(timer);
    if (fd >= 0) c().close(fd);
    fd = -1;
    rejectFn(new Error('connect aborted'));
  };
  const promise = new Promise<net.Socket>((resolve, reject) => {
    rejectFn = reject;
    try {
      fd = createSocket(family);
      if (o.md5Key) setMd5Key(fd, o.host, o.md5Key);
      if (o.gtsmHops) setGtsm(fd, family, o.gtsmHops);
      else if (o.ttl) setTtl(fd, family, o.ttl);
      if (o.localAddress) {
        const sa = sockaddr(o.localAddress, 0);
        check(c().bind(fd, sa, sa.length), 'bind');
      }
      const sa = sockaddr(o.host, o.port);
      if (c().connect(fd, sa, sa.length) < 0) {
        const e = errno();
        if (e !== EINPROGRESS) throw new SysError('connect', e);
      }
    } catch (err) {
      if (fd >= 0) c().close(fd);
      fd = -1;
      reject(err as Error);
      return;
    }
    const deadline = Date.now() + (o.timeoutMs ?? 120_000);
    const pfd = Buffer.alloc(8);
    let delay = 1;
    const tick = () => {
      timer = undefined;
      if (fd < 0) return;
      pfd.writeInt32LE(fd, 0);
      pfd.writeInt16LE(POLLOUT, 4);
      pfd.writeInt16LE(0, 6);
      const r = c().poll(pfd, 1, 0);
      if (r === 0) {
        if (Date.now() > deadline) {
          abort();
          return;
        }
        delay = Math.min(delay * 2, 100);
        timer = setTimeout(tick, delay);
        return;
      }
      const err = r < 0 ? errno() : getIntOpt(fd, SOL_SOCKET, SO_ERROR);
      if (err !== 0) {
        c().close(fd);
        fd = -1;
        reject(new SysError('connect', err));
        return;
      }
      const sock = new net.Socket({ fd, readable: true, writable: true });
      fd = -1; // owned by the net.Socket now
      resolve(sock);
    };
    timer = setTimeout(tick, 0);
  });
  return { promise, abort };
}

function connectPlain(o: ConnectOptions): Connecting {
  const sock = net.connect({ host: o.host, port: o.port, localAddress: o.localAddress });
  let settled = false;
  const promise = new Promise<net.Socket>((resolve, reject) => {
    sock.once('connect', () => {
      settled = true;
      resolve(sock);
    });
    sock.once('error', (e) => {
      settled = true;
      reject(e);
    });
  });
  return {
    promise,
    abort: () => {
      if (!settled) sock.destroy(new Error('connect aborted'));
    },
  };
}

export interface ListenOptions {
  address: string;
  port: number;
  /** Accept queue length (default LISTEN_BACKLOG). */
  backlog?: number;
}

/**
 * The accept queue: a route reflector's clients all reconnect at once after it restarts, and
 * while the event loop is busy sending the first of them their tables the rest queue in the
 * kernel. With 128, a 1,000-client reconnect overflowed it (ListenOverflows in
 * /proc/net/netstat) and the clients then waited out TCP's SYN retransmission backoff (1, 3,
 * 7, 15, 31 s): minutes to converge instead of seconds (issue 18). Linux caps the value at
 * net.core.somaxconn (4096 by default since 5.4).
 */
export const LISTEN_BACKLOG = 4096;

/**
 * A listening socket made with libc so that per-peer MD5 keys can be added to it at any time,
 * served by a net.Server through its fd.
 */
export class Listener {
  readonly server: net.Server;
  readonly fd: number;
  readonly family: 4 | 6;

  private constructor(server: net.Server, fd: number, family: 4 | 6) {
    this.server = server;
    this.fd = fd;
    this.family = family;
  }

  static async open(o: ListenOptions, onConnection: (s: net.Socket) => void): Promise<Listener> {
    const family = familyOf(o.address);
    const fd = createSocket(family);
    try {
      setIntOpt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
      if (family === 6) setIntOpt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
      // RFC 5082: the SYN-ACK leaves with the listener's TTL, so a GTSM peer (which accepts
      // only TTL >= 255 - hops + 1) would drop it unless the listener sends with 255. Sending
      // with 255 is harmless for every other peer; accepted sockets inherit it.
      setTtl(fd, family, 255);
      const sa = sockaddr(o.address, o.port);
      check(c().bind(fd, sa, sa.length), `bind ${o.address}:${o.port}`);
      check(c().listen(fd, o.backlog ?? LISTEN_BACKLOG), 'listen');
    } catch (err) {
      c().close(fd);
      throw err;
    }
    const server = net.createServer({ pauseOnConnect: false }, onConnection);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new Listener(server, fd, family);
  }

  /** Adds (key) or deletes (undefined) the RFC 2385 key for connections from `peer`. */
  setMd5Key(peer: string, key: string | undefined): void {
    if (familyOf(peer) !== this.family) return;
    try {
      setMd5Key(this.fd, peer, key);
    } catch (err) {
      // Deleting a key that was never set is ENOENT: nothing to do.
      if (!(key === undefined && err instanceof SysError && err.errno === 2)) throw err;
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
