// The main-thread side of the netlink workers: promises in, buffers out. Nothing here blocks:
// requests are transferred to the request worker, ACK errors and dump chunks come back as
// messages, and change events stream in from the events worker.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { setImmediate as yieldTick } from 'node:timers/promises';
import { EIO, ETIMEDOUT, errnoName } from './consts.js';
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
  /** The request thread ends this long after its last answer and starts again on the next
   * request (default REQUEST_IDLE_MS). */
  requestIdleMs?: number;
}

/**
 * A worker thread is a whole V8 isolate, ~8 MB resident, and an idle node sends no netlink
 * request for minutes: the request thread ends 5 s after its last answer (issue 18, as the YAML
 * thread does) and the next request starts it again (tens of ms, paid by the first route change
 * after a quiet spell). The events thread stays: it must see other writers' changes at any time.
 */
export const REQUEST_IDLE_MS = 5000;

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
  /** The request thread while it runs; requests made while it starts wait in `queued`, in order. */
  private req?: Worker;
  private starting = false;
  private queued: { msg: WorkerRequest; transfer: ArrayBuffer[] }[] = [];
  /** Requests posted and not answered yet: the request thread may end only at zero. */
  private inFlight = 0;
  private idleTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly requestIdleMs: number;

  private constructor(
    private readonly ring: SharedArrayBuffer,
    private readonly ringStateBuf: SharedArrayBuffer,
    opts: ClientOptions,
  ) {
    super();
    this.ringState = new Int32Array(ringStateBuf);
    this.requestIdleMs = opts.requestIdleMs ?? REQUEST_IDLE_MS;
  }

  static async open(opts: ClientOptions): Promise<NetlinkClient> {
    const ring = new SharedArrayBuffer(RING_SLOTS * RING_SLOT);
    const ringState = new SharedArrayBuffer(4 * RING_SLOTS);
    const c = new NetlinkClient(ring, ringState, opts);
    // Started once here so that a node without netlink permission fails at open, as before.
    c.adopt((await startWorker({ role: 'request', ring, ringState })).worker);
    c.armIdle();
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

  /** Whether the request thread is running (false while it is ended for idleness). */
  get requestThreadRunning(): boolean {
    return this.req !== undefined;
  }

  private adopt(w: Worker): void {
    this.req = w;
    w.on('message', (m: WorkerReply) => this.onRequestReply(m));
    w.on('error', (e) => this.emit('error', e));
  }

  /** Post a request to the request thread, starting it first if it ended for idleness. */
  private send(msg: WorkerRequest, transfer: ArrayBuffer[] = []): void {
    this.inFlight++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.req) {
      this.req.postMessage(msg, transfer);
      return;
    }
    this.queued.push({ msg, transfer });
    if (this.starting || this.closed) return;
    this.starting = true;
    startWorker({ role: 'request', ring: this.ring, ringState: this.ringStateBuf }).then(
      ({ worker }) => {
        this.starting = false;
        if (this.closed) {
          worker.postMessage({ op: 'close' } satisfies WorkerRequest);
          return;
        }
        this.adopt(worker);
        for (const q of this.queued.splice(0)) worker.postMessage(q.msg, q.transfer);
      },
      (e: unknown) => {
        this.starting = false;
        this.failQueued(e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  /**
   * The request thread could not be started again: every queued request is answered as one
   * the kernel never answered (batches: each request "no ACK received", which makes the FIB
   * resynchronise; dumps: DumpError; memberships: false), and 'error' says why.
   */
  private failQueued(err: Error): void {
    for (const { msg } of this.queued.splice(0)) {
      if (msg.op === 'batch') {
        const errors: AckError[] = [];
        try {
          for (const m of parseMessages(Buffer.from(msg.buf.buffer, msg.buf.byteOffset, msg.buf.byteLength))) {
            errors.push({ seq: m.seq, errno: ETIMEDOUT, message: 'no ACK received' });
          }
        } catch {
          // unreadable: the caller sees no per-request answer either way
        }
        this.onRequestReply({ kind: 'batch', id: msg.id, errors, buf: msg.buf });
      } else if (msg.op === 'dump') this.onRequestReply({ kind: 'dumpDone', id: msg.id, errno: EIO, interrupted: false });
      else if (msg.op === 'membership') this.onRequestReply({ kind: 'membership', id: msg.id, ok: false });
    }
    this.emit('error', new Error(`cannot start the netlink request thread again: ${err.message}`));
  }

  /** Once nothing is in flight, end the request thread after requestIdleMs. */
  private armIdle(): void {
    if (this.inFlight > 0 || !this.req || this.closed || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.inFlight > 0 || !this.req || this.closed) return;
      const w = this.req;
      this.req = undefined;
      w.postMessage({ op: 'close' } satisfies WorkerRequest);
    }, this.requestIdleMs);
    this.idleTimer.unref();
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
    if (m.kind === 'membership' || m.kind === 'batch' || m.kind === 'dumpDone') {
      this.inFlight--;
      this.armIdle();
    }
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
      this.send({ op: 'membership', id, fd: this.eventFd, groups, add });
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
      this.send(msg, own ? [u8.buffer as ArrayBuffer] : []);
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
    this.send({ op: 'dump', id, buf: new Uint8Array(req) });
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
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    Atomics.store(new Int32Array(this.stop), 0, 1);
    this.req?.postMessage({ op: 'close' } satisfies WorkerRequest);
    await Promise.all([this.req ? exited(this.req) : undefined, this.events ? exited(this.events) : undefined]);
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
