// The node's own addresses, as the kernel of ternd's network namespace lists them: every
// address on every interface (up or down, IPv4 and IPv6, link-local included), for the RIB's
// next-hop check (RFC 4271 §6.3: the NEXT_HOP "MUST NOT be the IP address of the receiving
// speaker"). Only reads the kernel, so it runs under --fib none too. The one owner of this set;
// the daemon hands it to the RIB as a plain Set (the RIB does no I/O).
//
// How it learns of changes: a netlink socket that joined RTNLGRP_IPV4_IFADDR and
// RTNLGRP_IPV6_IFADDR is drained without blocking (MSG_DONTWAIT) once per interval: one system
// call when nothing changed. Only when a notification (or ENOBUFS: some were lost) was waiting
// is the address table dumped again (RTM_GETADDR) and, if the set differs, reported. Dumping
// rather than applying the notifications one by one keeps one code path, and addresses change
// rarely. The kernel builds a dump's replies inside send() and recv() themselves, so nothing here
// waits on anything; recv still uses MSG_DONTWAIT and a dump that cannot finish is retried at the
// next tick. Measured here (2 busy cores): the idle tick ~1 us; a dump of 7 addresses ~0.1 ms, of
// 502 ~2.8 ms (os.networkInterfaces() 2.3 ms), run only after a change, at most once a tick.
//
// Not chosen: a worker thread blocking in recv (the FIB's NetlinkClient, two threads, +30 MB RSS
// measured, for a set that changes a few times a day), and os.networkInterfaces() (libuv leaves
// out interfaces that are down or have no carrier, yet their addresses stay local: kube-proxy's
// kube-ipvs0 holds every service IP and is never up).

import { formatIp } from '../bgp/codec/address.js';
import { MsgWriter, parseMessages } from './netlink/codec.js';
import {
  EAGAIN,
  ENOBUFS,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_DUMP_INTR,
  RTM_NEWADDR,
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_IPV6_IFADDR,
  errnoName,
} from './netlink/consts.js';
import { decodeAddr, encodeAddrDump } from './netlink/link.js';
import { NetlinkSocket } from './netlink/socket.js';

const MSG_DONTWAIT = 0x40;
const GROUPS = (1 << (RTNLGRP_IPV4_IFADDR - 1)) | (1 << (RTNLGRP_IPV6_IFADDR - 1));

export interface LocalAddressesOptions {
  /** How often to look for address notifications, in ms (default 1000). */
  intervalMs?: number;
  /** Called with the whole new set whenever it differs from the last one. */
  onChange?: (addresses: ReadonlySet<string>) => void;
  /** A dump that failed (the old set stays in force; the next notification retries). */
  onError?: (err: Error) => void;
}

export class LocalAddresses {
  private readonly events: NetlinkSocket;
  private readonly dumper: NetlinkSocket;
  private readonly buf = Buffer.alloc(64 * 1024);
  private seq = 1;
  private timer?: NodeJS.Timeout;
  private current: ReadonlySet<string> = new Set();
  /** A dump is owed (it failed, or was cut short): retried at the next tick. */
  private stale = true;
  /** Dumps run so far (tests: a quiet tick does not dump). */
  dumps = 0;

  private constructor(private readonly opts: LocalAddressesOptions) {
    this.events = new NetlinkSocket({ groups: GROUPS });
    try {
      this.dumper = new NetlinkSocket();
    } catch (e) {
      this.events.close();
      throw e;
    }
  }

  /** Opens the sockets and reads the addresses once; throws if netlink cannot be used. */
  static open(opts: LocalAddressesOptions = {}): LocalAddresses {
    const la = new LocalAddresses(opts);
    try {
      la.refresh();
      if (la.stale) throw new Error('RTM_GETADDR dump did not complete');
    } catch (e) {
      la.close();
      throw e;
    }
    la.timer = setInterval(() => la.poll(), opts.intervalMs ?? 1000);
    la.timer.unref();
    return la;
  }

  /** The addresses as of the last dump, in the text form the RIB compares (RFC 5952 for IPv6). */
  get addresses(): ReadonlySet<string> {
    return this.current;
  }

  /** Drains the notifications; dumps again if there were any. Returns whether the set changed. */
  poll(): boolean {
    for (;;) {
      const n = this.events.recv(this.buf, MSG_DONTWAIT);
      if (n === -EAGAIN) break;
      if (n >= 0 || n === -ENOBUFS)
        this.stale = true; // a change, or changes were lost
      else {
        this.opts.onError?.(new Error(`reading address notifications: ${errnoName(-n)}`));
        break;
      }
    }
    return this.stale ? this.refresh() : false;
  }

  private refresh(): boolean {
    let next: Set<string> | undefined;
    try {
      next = this.dump();
    } catch (e) {
      this.opts.onError?.(e as Error);
    }
    if (!next) return false;
    this.stale = false;
    if (next.size === this.current.size && [...next].every((a) => this.current.has(a))) return false;
    this.current = next;
    this.opts.onChange?.(next);
    return true;
  }

  /** One RTM_GETADDR dump; undefined when it was interrupted (NLM_F_DUMP_INTR) or cut short. */
  private dump(): Set<string> | undefined {
    this.dumps++;
    const seq = (this.seq = (this.seq % 0x7ffffff0) + 1);
    const w = new MsgWriter(64);
    encodeAddrDump(w, seq);
    this.dumper.send(w.take());
    const out = new Set<string>();
    let intr = false;
    for (;;) {
      const n = this.dumper.recv(this.buf, MSG_DONTWAIT);
      if (n < 0) {
        if (n === -EAGAIN) return undefined; // never seen: the kernel fills a dump inside recv()
        throw new Error(`RTM_GETADDR dump: ${errnoName(-n)}`);
      }
      for (const m of parseMessages(this.buf.subarray(0, n))) {
        if (m.seq !== seq) continue; // the answer to an earlier, abandoned dump
        if (m.flags & NLM_F_DUMP_INTR) intr = true;
        if (m.type === NLMSG_DONE) return intr ? undefined : out;
        if (m.type === NLMSG_ERROR) throw new Error(`RTM_GETADDR dump: ${errnoName(-m.payload.readInt32LE(0))}`);
        if (m.type === RTM_NEWADDR) out.add(formatIp(decodeAddr(m.payload).address));
      }
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.events.close();
    this.dumper.close();
  }
}
