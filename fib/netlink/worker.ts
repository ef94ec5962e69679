// The netlink I/O thread. It owns a blocking rtnetlink socket so that no syscall ever runs on
// the main thread; the main thread does all encoding and decoding and hands over whole buffers
// (transferred, not copied). Two roles, chosen by workerData.role:
//  - 'request': sends batches of requests and collects their ACKs (matched by sequence number),
//    and runs dumps, streaming the raw datagrams back in large chunks;
//  - 'events': reads the multicast groups and streams change datagrams back; ENOBUFS (the socket
//    overran and the kernel dropped events) is reported so that the owner resynchronises.
import { parentPort, workerData } from 'node:worker_threads';
import {
  EAGAIN,
  ENOBUFS,
  ETIMEDOUT,
  MSG_DONTWAIT,
  NETLINK_ADD_MEMBERSHIP,
  NETLINK_CAP_ACK,
  NETLINK_DROP_MEMBERSHIP,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_ACK,
  NLM_F_DUMP_INTR,
  RTM_NEWROUTE,
  SOL_NETLINK,
} from './consts.js';
import { align4 } from './codec.js';
import { NetlinkError, NetlinkSocket, setIntOn } from './socket.js';
import { RING_SLOT, RING_SLOTS } from './ring.js';

export interface WorkerConfig {
  role: 'request' | 'events';
  groups?: number;
  rcvbuf?: number;
  /** events role: drop RTM_NEWROUTE of this protocol (our own writes echoed back). */
  ownProtocol?: number;
  /** events role: Int32Array over a SharedArrayBuffer; [0] = 1 asks the reader to stop. */
  stop?: SharedArrayBuffer;
  /** Test hook: sleep this long before each read, so that a flood overruns the socket for sure. */
  stallMs?: number;
  /** request role: RING_SLOTS dump chunks of RING_SLOT bytes shared with the main thread, and
   * one Int32 per slot (1 = holds a chunk the main thread has not read yet). */
  ring?: SharedArrayBuffer;
  ringState?: SharedArrayBuffer;
}

export interface AckError {
  seq: number;
  errno: number;
  message?: string;
  offset?: number;
}
export type WorkerRequest =
  | { op: 'batch'; id: number; buf: Uint8Array; maxSend: number; ackEach: boolean }
  | { op: 'membership'; id: number; fd: number; groups: number[]; add: boolean }
  | { op: 'dump'; id: number; buf: Uint8Array }
  | { op: 'close' };
export type WorkerReply =
  | { kind: 'ready'; portId: number; fd: number }
  | { kind: 'membership'; id: number; ok: boolean }
  | { kind: 'fatal'; message: string }
  | { kind: 'batch'; id: number; errors: AckError[]; buf: Uint8Array }
  | { kind: 'chunk'; id: number; buf: Uint8Array }
  | { kind: 'ringChunk'; id: number; slot: number; len: number }
  | { kind: 'dumpDone'; id: number; errno: number; interrupted: boolean }
  | { kind: 'events'; buf: Uint8Array }
  | { kind: 'overrun' };

const CHUNK = 256 * 1024;
const port = parentPort;
const cfg = workerData as WorkerConfig;
const ring = cfg.ring ? new Uint8Array(cfg.ring) : undefined;
const ringState = cfg.ringState ? new Int32Array(cfg.ringState) : undefined;
let ringNext = 0;

function post(m: WorkerReply, transfer?: ArrayBuffer[]): void {
  port?.postMessage(m, transfer ?? []);
}

/** Read ACKs for `expected` seqs; returns errors (including the ones we never got). */
function collectAcks(sock: NetlinkSocket, rx: Buffer, expected: Set<number>, errors: AckError[], range?: [number, number]): void {
  while (expected.size > 0) {
    const n = sock.recv(rx);
    if (n < 0) {
      // Timeout or receive-queue overrun: the missing ACKs will never come.
      const errno = -n === EAGAIN ? ETIMEDOUT : -n;
      if (-n === ENOBUFS) {
        for (let m = sock.recv(rx, MSG_DONTWAIT); m > 0; m = sock.recv(rx, MSG_DONTWAIT)) scanAcks(rx, m, expected, errors, range);
      }
      for (const seq of expected) errors.push({ seq, errno, message: 'no ACK received' });
      expected.clear();
      return;
    }
    scanAcks(rx, n, expected, errors, range);
  }
}

/**
 * Record the NLMSG_ERRORs of this datagram's requests. A failed request is answered whether or
 * not it asked for an ACK (netlink_rcv_skb: `if (flags & NLM_F_ACK || err) netlink_ack()`), so
 * only the requests in `expected` (those with NLM_F_ACK) are waited for.
 */
function scanAcks(rx: Buffer, n: number, expected: Set<number>, errors: AckError[], range?: [number, number]): void {
  for (let off = 0; off + 16 <= n; ) {
    const len = rx.readUInt32LE(off);
    if (len < 16 || off + len > n) break;
    const seq = rx.readUInt32LE(off + 8);
    const ours = expected.delete(seq) || (range !== undefined && inRange(seq, range));
    if (rx.readUInt16LE(off + 4) === NLMSG_ERROR && ours && len >= 20) {
      const errno = -rx.readInt32LE(off + 16);
      if (errno !== 0) errors.push(decodeExtAck(rx.subarray(off, off + len), seq, errno));
    }
    off += align4(len);
  }
}

/** Sequence numbers of one datagram are consecutive (mod 2^32, skipping 0 on wrap). */
const inRange = (seq: number, [lo, hi]: [number, number]): boolean => (lo <= hi ? seq >= lo && seq <= hi : seq >= lo || seq <= hi);

function decodeExtAck(m: Buffer, seq: number, errno: number): AckError {
  const e: AckError = { seq, errno };
  if (!(m.readUInt16LE(6) & 0x200)) return e; // NLM_F_ACK_TLVS
  const echoed = m.readUInt16LE(6) & 0x100 ? 16 : m.readUInt32LE(20);
  for (let off = 16 + 4 + align4(echoed); off + 4 <= m.length; ) {
    const len = m.readUInt16LE(off);
    if (len < 4 || off + len > m.length) break;
    const type = m.readUInt16LE(off + 2);
    if (type === 1) e.message = m.toString('utf8', off + 4, off + len).replace(/\0+$/, '');
    if (type === 2 && len >= 8) e.offset = m.readUInt32LE(off + 4);
    off += align4(len);
  }
  return e;
}

/**
 * Send a buffer of requests in datagrams of at most maxSend bytes. With ackEach every request
 * keeps NLM_F_ACK; without, only the last of each datagram does: the kernel still answers every
 * failure with its own NLMSG_ERROR (matched by sequence number), and saves an ACK message and
 * our recv() per successful route. The kernel handles one datagram's requests in order, so the
 * last request's ACK arrives after every error of the datagram.
 */
function runBatch(sock: NetlinkSocket, rx: Buffer, buf: Buffer, maxSend: number, ackEach: boolean): AckError[] {
  const errors: AckError[] = [];
  let off = 0;
  while (off < buf.length) {
    // Pack whole messages into one datagram of at most maxSend bytes.
    const start = off;
    const expected = new Set<number>();
    let last = -1;
    while (off + 16 <= buf.length) {
      const len = buf.readUInt32LE(off);
      if (off > start && off + align4(len) - start > maxSend) break;
      const flags = buf.readUInt16LE(off + 6);
      if (!ackEach && flags & NLM_F_ACK) buf.writeUInt16LE(flags & ~NLM_F_ACK, off + 6);
      else if (flags & NLM_F_ACK) expected.add(buf.readUInt32LE(off + 8));
      last = off;
      off += align4(len);
    }
    if (last < 0) break;
    const range: [number, number] = [buf.readUInt32LE(start + 8), buf.readUInt32LE(last + 8)];
    if (!ackEach) {
      buf.writeUInt16LE(buf.readUInt16LE(last + 6) | NLM_F_ACK, last + 6);
      expected.add(range[1]);
    }
    try {
      sock.send(buf.subarray(start, off));
    } catch (e) {
      const errno = e instanceof NetlinkError ? e.errno : 5;
      for (const seq of expected) errors.push({ seq, errno, message: 'send failed' });
      continue;
    }
    // The kernel handles a datagram's requests synchronously inside send(), so all ACKs are
    // queued by now; reading them before the next send keeps the receive queue bounded.
    collectAcks(sock, rx, expected, errors, ackEach ? undefined : range);
  }
  return errors;
}

function runDump(sock: NetlinkSocket, rx: Buffer, id: number, req: Buffer): void {
  const seq = req.readUInt32LE(8);
  let chunk = Buffer.allocUnsafe(CHUNK + rx.length);
  let used = 0;
  let interrupted = false;
  const flush = (): void => {
    if (used === 0) return;
    if (ring && ringState && used <= RING_SLOT) {
      // Slots are filled and read in turn; wait (bounded) for the main thread to free this one.
      const slot = ringNext;
      if (Atomics.load(ringState, slot) === 0 || Atomics.wait(ringState, slot, 1, 15000) !== 'timed-out') {
        ringNext = (ringNext + 1) % RING_SLOTS;
        ring.set(chunk.subarray(0, used), slot * RING_SLOT);
        Atomics.store(ringState, slot, 1);
        post({ kind: 'ringChunk', id, slot, len: used });
        used = 0;
        return;
      }
    }
    const out = new Uint8Array(used); // no ring, or the main thread stopped reading it: a copy
    out.set(chunk.subarray(0, used));
    post({ kind: 'chunk', id, buf: out }, [out.buffer as ArrayBuffer]);
    used = 0;
  };
  try {
    sock.send(req);
  } catch (e) {
    post({ kind: 'dumpDone', id, errno: e instanceof NetlinkError ? e.errno : 5, interrupted });
    return;
  }
  for (;;) {
    const n = sock.recv(rx);
    if (n < 0) {
      flush();
      post({ kind: 'dumpDone', id, errno: -n === EAGAIN ? ETIMEDOUT : -n, interrupted });
      return;
    }
    let done = false;
    let errno = 0;
    for (let off = 0; off + 16 <= n; ) {
      const len = rx.readUInt32LE(off);
      if (len < 16 || off + len > n) break;
      if (rx.readUInt32LE(off + 8) === seq) {
        const type = rx.readUInt16LE(off + 4);
        if (rx.readUInt16LE(off + 6) & NLM_F_DUMP_INTR) interrupted = true;
        if (type === NLMSG_DONE) done = true;
        if (type === NLMSG_ERROR) {
          done = true;
          errno = -rx.readInt32LE(off + 16);
        }
      }
      off += align4(len);
    }
    if (used + n > chunk.length) {
      flush();
      chunk = Buffer.allocUnsafe(CHUNK + rx.length);
    }
    rx.copy(chunk, used, 0, n);
    used += n;
    if (used >= CHUNK) flush();
    if (done) {
      flush();
      post({ kind: 'dumpDone', id, errno, interrupted });
      return;
    }
  }
}

function requestRole(): void {
  const sock = new NetlinkSocket({ rcvbuf: cfg.rcvbuf ?? 32 << 20, sndbuf: 4 << 20, rcvTimeoutMs: 15000 });
  sock.setInt(SOL_NETLINK, NETLINK_EXT_ACK, 1); // error text in ACKs
  sock.setInt(SOL_NETLINK, NETLINK_CAP_ACK, 1); // do not echo whole requests back
  sock.setInt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1); // kernel-side dump filters
  const rx = Buffer.alloc(1 << 20);
  post({ kind: 'ready', portId: sock.portId, fd: sock.fd });
  port?.on('message', (m: WorkerRequest) => {
    if (m.op === 'close') {
      sock.close();
      port?.close();
      return;
    }
    if (m.op === 'membership') {
      // The event socket's fd belongs to this process: joining or leaving a group from here is
      // one setsockopt, and it is ordered with the batches queued behind it.
      const ok = m.groups.every((g) => setIntOn(m.fd, SOL_NETLINK, m.add ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP, g));
      post({ kind: 'membership', id: m.id, ok });
      return;
    }
    const buf = Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength);
    // The request buffer goes back with the answer, for the main thread to write the next batch in.
    if (m.op === 'batch') post({ kind: 'batch', id: m.id, errors: runBatch(sock, rx, buf, m.maxSend, m.ackEach), buf: m.buf }, [m.buf.buffer as ArrayBuffer]);
    else runDump(sock, rx, m.id, buf);
  });
}

function eventsRole(): void {
  const stop = new Int32Array(cfg.stop ?? new SharedArrayBuffer(4));
  const sock = new NetlinkSocket({ groups: cfg.groups ?? 0, rcvbuf: cfg.rcvbuf ?? 16 << 20, rcvTimeoutMs: 200 });
  const own = cfg.ownProtocol ?? -1;
  const rx = Buffer.alloc(64 * 1024);
  const out = Buffer.allocUnsafe(CHUNK + rx.length);
  let used = 0;
  const flush = (): void => {
    if (used === 0) return;
    const b = new Uint8Array(used);
    b.set(out.subarray(0, used));
    post({ kind: 'events', buf: b }, [b.buffer as ArrayBuffer]);
    used = 0;
  };
  post({ kind: 'ready', portId: sock.portId, fd: sock.fd });
  while (Atomics.load(stop, 0) === 0) {
    if (cfg.stallMs) Atomics.wait(stop, 0, 0, cfg.stallMs);
    // Block (up to the timeout) for the first datagram, then drain without blocking.
    let n = sock.recv(rx);
    while (n > 0) {
      for (let off = 0; off + 16 <= n; ) {
        const len = rx.readUInt32LE(off);
        if (len < 16 || off + len > n) break;
        // Our own route writes come back as RTM_NEWROUTE: at a million routes they are noise.
        const ownEcho = rx.readUInt16LE(off + 4) === RTM_NEWROUTE && len >= 28 && rx[off + 16 + 5] === own;
        if (!ownEcho) {
          rx.copy(out, used, off, off + len);
          used += align4(len);
        }
        off += align4(len);
      }
      if (used >= CHUNK) flush();
      n = sock.recv(rx, MSG_DONTWAIT);
    }
    flush();
    if (-n === ENOBUFS) post({ kind: 'overrun' });
  }
  sock.close();
}

try {
  if (cfg.role === 'request') requestRole();
  else eventsRole();
} catch (e) {
  post({ kind: 'fatal', message: e instanceof Error ? e.message : String(e) });
}
