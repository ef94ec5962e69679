// The main-thread side of the netlink workers: promises in, buffers out. Nothing here blocks:
// requests are transferred to the request worker, ACK errors and dump chunks come back as
// messages, and change events stream in from the events worker.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { setImmediate as yieldTick } from 'node:timers/promises';
import { errnoName } from './consts.js';
import { NlMsg, parseMessages } from './codec.js';
import type { AckError, WorkerConfig, WorkerReply, WorkerRequest } from './worker.js';

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
  private readonly dumps = new Map<number, { chunks: Buffer[]; wake?: () => void; done?: { errno: number; interrupted: boolean } }>();
  private events?: Worker;
  private eventFd = -1;
  private readonly memberships = new Map<number, (ok: boolean) => void>();
  private readonly stop = new SharedArrayBuffer(4);

  private constructor(private readonly req: Worker) {
    super();
  }

  static async open(opts: ClientOptions): Promise<NetlinkClient> {
    const req = (await startWorker({ role: 'request' })).worker;
    const c = new NetlinkClient(req);
    req.on('message', (m: WorkerReply) => c.onRequestReply(m));
    req.on('error', (e) => c.emit('error', e));
    if (opts.groups) {
      const ev = await startWorker({
        role: 'events', groups: opts.groups, rcvbuf: opts.eventRcvbuf, ownProtocol: opts.ownProtocol, stop: c.stop, stallMs: opts.eventStallMs,
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
      this.batches.get(m.id)?.(m.errors);
      this.batches.delete(m.id);
    } else if (m.kind === 'chunk' || m.kind === 'dumpDone') {
      const d = this.dumps.get(m.id);
      if (!d) return;
      if (m.kind === 'chunk') d.chunks.push(Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength));
      else d.done = { errno: m.errno, interrupted: m.interrupted };
      d.wake?.();
    }
  }

  /**
   * Send a buffer of requests (each with NLM_F_ACK) in datagrams of at most maxSend bytes.
   * Resolves with the failed ones only; a request absent from the result was acknowledged.
   */
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

  batch(buf: Buffer, maxSend: number, ackEach = false): Promise<AckError[]> {
    const id = this.nextId++;
    const u8 = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    return new Promise((resolve) => {
      this.batches.set(id, resolve);
      const msg: WorkerRequest = { op: 'batch', id, buf: u8, maxSend, ackEach };
      // Transfer when the buffer owns its ArrayBuffer alone, else the structured clone copies.
      const own = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength;
      this.req.postMessage(msg, own ? [u8.buffer as ArrayBuffer] : []);
    });
  }

  /**
   * Run a dump and hand each datagram's messages to onMessages, yielding to the event loop
   * between chunks so that a million-route dump never blocks it. Throws DumpError on failure;
   * returns false when the kernel flagged the dump as interrupted (NLM_F_DUMP_INTR: redo it).
   */
  async dump(req: Buffer, onMessages: (msgs: NlMsg[]) => void): Promise<boolean> {
    const id = this.nextId++;
    const state: { chunks: Buffer[]; wake?: () => void; done?: { errno: number; interrupted: boolean } } = { chunks: [] };
    this.dumps.set(id, state);
    this.req.postMessage({ op: 'dump', id, buf: new Uint8Array(req) } satisfies WorkerRequest);
    try {
      for (;;) {
        const chunk = state.chunks.shift();
        if (chunk) {
          onMessages(parseMessages(chunk));
          await yieldTick();
          continue;
        }
        if (state.done) {
          if (state.done.errno !== 0) throw new DumpError(state.done.errno);
          return !state.done.interrupted;
        }
        await new Promise<void>((r) => { state.wake = r; });
        state.wake = undefined;
      }
    } finally {
      this.dumps.delete(id);
    }
  }

  async close(): Promise<void> {
    Atomics.store(new Int32Array(this.stop), 0, 1);
    this.req.postMessage({ op: 'close' } satisfies WorkerRequest);
    await Promise.all([exited(this.req), this.events ? exited(this.events) : undefined]);
  }
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
      if (m.kind === 'ready') { w.off('message', onMsg); resolve({ worker: w, fd: m.fd }); }
      if (m.kind === 'fatal') { w.off('message', onMsg); void w.terminate(); reject(new Error(m.message)); }
    };
    w.on('message', onMsg);
    w.once('error', reject);
  });
}
