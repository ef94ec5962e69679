// The main-thread side of the netlink workers: promises in, buffers out. Nothing here blocks:
// requests are transferred to the request worker, ACK errors and dump chunks come back as
// messages, and change events stream in from the events worker.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { setImmediate as yieldTick } from 'node:timers/promises';
import { errnoName } from './consts.js';
import { MsgWriter, type NlMsg, parseMessages } from './codec.js';
import type { AckError, WorkerConfig, WorkerReply, WorkerRequest } from './worker.js';
import { RING_SLOT, RING_SLOTS } from './ring.js';

export type { AckError } from './worker.js';

export interface ClientOptions {
  /** Multicast groups mask for the event socket; 0 = no event socket. */
  groups: number;
  /** Event socket receive buffer (bytes). Small values make ENOBUFS easy to provoke in tests. */
  eventRcvbuf?: number;
  /** Route protocol whose RTM_NEWROUTE echoes the event reader drops. */
  ownProtocol?: number;
  /** Test hook: the event reader sleeps this long before each read (forces ENOBUFS). */
  eventStallMs?: number;
}

export class DumpError extends Error {
  constructor(readonly errno: number) {
    super(`dump failed: ${errnoName(errno)}`);
  }
}

/**
 * Events: 'messages' (NlMsg[]) for each chunk of change notifications, 'overrun' when the
 * kernel dropped some (the caller must dump again), 'error' (Error) if a worker dies.
 */
export class NetlinkClient extends EventEmitter {
  private seq = Math.floor(Math.random() * 0x3fffffff) + 1;
  private nextId = 1;
  private readonly batches = new Map<number, (errors: AckError[]) => void>();
  private readonly dumps = new Map<number, DumpState>();
  /** Which dump-chunk slots of the ring shared with the request worker are full (ring.ts). */
  private readonly ringState: Int32Array;
  private events?: Worker;
  private eventFd = -1;
  private readonly memberships = new Map<number, (ok: boolean) => void>();
  private readonly stop = new SharedArrayBuffer(4);
  /**
   * Request buffers the worker handed back, written again by the next batches. Without them a
   * million-route load allocated ~140 MB of fresh ArrayBuffers (a writer and a copy per 2048
   * routes), and that external memory pressure made V8 finish its old-generation marking in one
   * 100+ ms pause (issue 5, seen with --trace-gc-nvp).
   */
  private readonly pool: ArrayBuffer[] = [];

  private constructor(
    private readonly req: Worker,
    private readonly ring: SharedArrayBuffer,
    ringState: SharedArrayBuffer,
  ) {
    super();
    this.ringState = new Int32Array(ringState);
  }

  static async open(opts: ClientOptions): Promise<NetlinkClient> {
    const ring = new SharedArrayBuffer(RING_SLOTS * RING_SLOT);
    const ringState = new SharedArrayBuffer(4 * RING_SLOTS);
    const req = (await startWorker({ role: 'request', ring, ringState })).worker;
    const c = new NetlinkClient(req, ring, ringState);
    req.on('message', (m: WorkerReply) => c.onRequestReply(m));
    req.on('error', (e) => c.emit('error', e));
    if (opts.groups) {
      const ev = await startWorker({
        role: 'events',
        groups: opts.groups,
        rcvbuf: opts.eventRcvbuf,
        ownProtocol: opts.ownProtocol,
        stop: c.stop,
        stallMs: opts.eventStallMs,
      });
      c.events = ev.worker;
      c.eventFd = ev.fd;
      c.events.on('message', (m: WorkerReply) => {
        if (m.kind === 'events') c.emitMessages(Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength));
        else if (m.kind === 'overrun') c.emit('overrun');
      });
      c.events.on('error', (e) => c.emit('error', e));
    }
    return c;
  }

  private emitMessages(buf: Buffer): void {
    let msgs: NlMsg[];
    try {
      msgs = parseMessages(buf);
    } catch {
      this.emit('overrun'); // unreadable events: treat as lost, resynchronise
      return;
    }
    this.emit('messages', msgs);
  }

  /** A fresh sequence number (never 0, which the kernel uses for notifications). */
  nextSeq(): number {
    this.seq = this.seq >= 0xfffffff0 ? 1 : this.seq + 1;
    return this.seq;
  }

  private onRequestReply(m: WorkerReply): void {
    if (m.kind === 'membership') {
      this.memberships.get(m.id)?.(m.ok);
      this.memberships.delete(m.id);
    } else if (m.kind === 'batch') {
      this.keep(m.buf.buffer as ArrayBuffer);
      this.batches.get(m.id)?.(m.errors);
      this.batches.delete(m.id);
    } else if (m.kind === 'chunk' || m.kind === 'ringChunk' || m.kind === 'dumpDone') {
      const d = this.dumps.get(m.id);
      if (!d) {
        if (m.kind === 'ringChunk') this.release(m.slot); // a dump given up on: free its slots
        return;
      }
      if (m.kind === 'chunk') d.chunks.push({ buf: Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength), slot: -1 });
      else if (m.kind === 'ringChunk') d.chunks.push({ buf: Buffer.from(this.ring, m.slot * RING_SLOT, m.len), slot: m.slot });
      else d.done = { errno: m.errno, interrupted: m.interrupted };
      d.wake?.();
    }
  }

  private release(slot: number): void {
    if (slot < 0) return;
    Atomics.store(this.ringState, slot, 0);
    Atomics.notify(this.ringState, slot);
  }

  private keep(ab: ArrayBuffer): void {
    if (this.pool.length < POOL_MAX && ab.byteLength <= POOL_BUF_MAX) this.pool.push(ab);
  }

  /** A writer that was not sent after all (its slice wrote nothing): its buffer goes back to
   * the pool, so a reconcile of a million correct routes allocates none per slice. */
  giveBack(w: MsgWriter): void {
    if (w.buf.byteOffset === 0 && w.buf.byteLength === w.buf.buffer.byteLength) this.keep(w.buf.buffer as ArrayBuffer);
  }

  /** A writer for the next batch, over a returned buffer when one is large enough. */
  writer(size: number): MsgWriter {
    for (let i = this.pool.length - 1; i >= 0; i--) {
      if (this.pool[i].byteLength < size) continue;
      const ab = this.pool.splice(i, 1)[0];
      return new MsgWriter(size, Buffer.from(ab));
    }
    return new MsgWriter(size);
  }

  /**
   * Join or leave multicast groups on the event socket. Ordered with the batches: leaving the
   * route groups before a bulk load spares the kernel a notification per route.
   */
  membership(groups: number[], add: boolean): Promise<boolean> {
    if (this.eventFd < 0) return Promise.resolve(false);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.memberships.set(id, resolve);
      this.req.postMessage({ op: 'membership', id, fd: this.eventFd, groups, add } satisfies WorkerRequest);
    });
  }

  /**
   * Send the requests a writer holds (each with NLM_F_ACK) in datagrams of at most maxSend
   * bytes. Resolves with the failed ones only; a request absent from the result was
   * acknowledged. The writer's buffer moves to the worker (transferred, not copied): do not
   * use the writer afterwards.
   */
  batch(w: MsgWriter, maxSend: number, ackEach = false): Promise<AckError[]> {
    const id = this.nextId++;
    const u8 = new Uint8Array(w.buf.buffer, w.buf.byteOffset, w.off);
    return new Promise((resolve) => {
      this.batches.set(id, resolve);
      const msg: WorkerRequest = { op: 'batch', id, buf: u8, maxSend, ackEach };
      // A writer's buffer (Buffer.alloc or pooled) owns its ArrayBuffer alone: transfer it.
      // Anything else (a slice of Node's allocation pool) is copied by the structured clone.
      const own = w.buf.byteOffset === 0 && w.buf.byteLength === w.buf.buffer.byteLength;
      this.req.postMessage(msg, own ? [u8.buffer as ArrayBuffer] : []);
    });
  }

  /**
   * Run a dump and hand each chunk of datagrams (whole messages, up to ~256 KiB) to onChunk,
   * yielding to the event loop between chunks so that a million-route dump never blocks it.
   * Throws DumpError on failure; returns false when the kernel flagged the dump as interrupted
   * (NLM_F_DUMP_INTR: redo it). A chunk is shared memory the worker reuses once onChunk
   * returns: copy what must outlive the call (Buffer.from(chunk)).
   */
  async dump(req: Buffer, onChunk: (chunk: Buffer) => void): Promise<boolean> {
    const id = this.nextId++;
    const state: DumpState = { chunks: [] };
    this.dumps.set(id, state);
    this.req.postMessage({ op: 'dump', id, buf: new Uint8Array(req) } satisfies WorkerRequest);
    try {
      for (;;) {
        const chunk = state.chunks.shift();
        if (chunk) {
          try {
            onChunk(chunk.buf);
          } finally {
            this.release(chunk.slot);
          }
          await yieldTick();
          continue;
        }
        if (state.done) {
          if (state.done.errno !== 0) throw new DumpError(state.done.errno);
          return !state.done.interrupted;
        }
        await new Promise<void>((r) => {
          state.wake = r;
        });
        state.wake = undefined;
      }
    } finally {
      this.dumps.delete(id);
      for (const c of state.chunks) this.release(c.slot);
    }
  }

  /** A whole dump, decoded (restarted after NLM_F_DUMP_INTR); for the small tables and dump(). */
  async dumpAll<T>(encode: (w: MsgWriter, seq: number) => void, decode: (m: NlMsg[]) => T[]): Promise<T[]> {
    let out: T[] = [];
    // Decoded messages keep views into their chunk, and a chunk is reused after the call: copy.
    await this.dumpEach(
      encode,
      () => {
        out = [];
      },
      (chunk) => {
        for (const x of decode(parseMessages(Buffer.from(chunk)))) out.push(x);
      },
    );
    return out;
  }

  /** Run a dump, handing each chunk of messages to `each`; after NLM_F_DUMP_INTR (the table
   * changed mid-dump) `restart` is called and the dump runs again, up to three more times. */
  async dumpEach(encode: (w: MsgWriter, seq: number) => void, restart: () => void, each: (chunk: Buffer) => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const w = new MsgWriter(64);
      encode(w, this.nextSeq());
      restart();
      if ((await this.dump(w.take(), each)) || attempt >= 3) return;
    }
  }

  async close(): Promise<void> {
    Atomics.store(new Int32Array(this.stop), 0, 1);
    this.req.postMessage({ op: 'close' } satisfies WorkerRequest);
    await Promise.all([exited(this.req), this.events ? exited(this.events) : undefined]);
  }
}

const POOL_MAX = 16; // pipelineDepth (8) batches in flight, and as many being written
const POOL_BUF_MAX = 4 << 20;

interface DumpState {
  chunks: { buf: Buffer; slot: number }[];
  wake?: () => void;
  done?: { errno: number; interrupted: boolean };
}

function exited(w: Worker): Promise<void> {
  return new Promise((resolve) => {
    w.once('exit', () => resolve());
    setTimeout(() => void w.terminate(), 2000).unref();
  });
}

function startWorker(cfg: WorkerConfig): Promise<{ worker: Worker; fd: number }> {
  const w = new Worker(join(__dirname, 'worker.js'), { workerData: cfg });
  return new Promise((resolve, reject) => {
    const onMsg = (m: WorkerReply): void => {
      if (m.kind === 'ready') {
        w.off('message', onMsg);
        resolve({ worker: w, fd: m.fd });
      }
      if (m.kind === 'fatal') {
        w.off('message', onMsg);
        void w.terminate();
        reject(new Error(m.message));
      }
    };
    w.on('message', onMsg);
    w.once('error', reject);
  });
}
