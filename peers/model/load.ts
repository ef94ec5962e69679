/**
 * Reading a model file off the main thread (issue 17). Parsing runs in a worker_thread so that
 * however long a file takes, the event loop that carries keepalives, probes and bgpctl keeps
 * turning; the worker also has a memory and a time bound, so input the reader's own limits do
 * not catch ends as a refusal naming the bound, never as a frozen or killed daemon.
 *
 * The model crosses the thread boundary by structured clone, which keeps Maps and bigints but
 * not functions: the selectors (closures) travel as their text and are parsed again here
 * (they were valid in the worker, so this cannot fail). IPAM blocks, by far the most numerous
 * resource, travel packed in a transferred buffer (block-transfer.ts) and are unpacked here in
 * slices that yield to the event loop: this thread carries the keepalives.
 */
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { ConfigError, type ClusterModel, type ConfigIssue, type IpamBlock, type Selector } from '../types.js';
import { parseSelector } from '../selector.js';
import { packBlocks, unpackBlocks, type PackedBlocks } from './block-transfer.js';
import { DEFAULT_READ_LIMITS, type ReadLimits } from './reader.js';

export interface LoadLimits extends ReadLimits {
  /** Heap (MB) the parse may use. */
  maxParseMemoryMb: number;
  /** Seconds the parse may take. */
  maxParseSeconds: number;
  /** Seconds an idle parser thread is kept after a read before it is ended (0: ended at once). */
  keepParserSeconds: number;
}

export const DEFAULT_LOAD_LIMITS: LoadLimits = { ...DEFAULT_READ_LIMITS, maxParseMemoryMb: 2048, maxParseSeconds: 120, keepParserSeconds: 5 };

/** What the worker posts back. */
export type LoadReply =
  | { progress: string }
  | { ok: true; model: ClusterModel; blocks: PackedBlocks; warnings: ConfigIssue[]; bytes: number }
  | { ok: false; issues?: ConfigIssue[]; message?: string; bytes?: number };

/**
 * A worker that read a file this large is ended once it answered, rather than kept: its heap
 * (the text, every resource, garbage the collector had no reason to return yet) would otherwise
 * sit beside the model this thread builds from the answer, and that sum was the peak of a 250k-block
 * load (issue 17). A fresh worker for the next read costs ~100-200 ms, nothing beside the
 * seconds such a file takes; small files, whose changes must propagate quickly (issue 6), keep theirs.
 */
export const RETIRE_WORKER_BYTES = 8 * 1024 * 1024;

/** Selectors as `{ text }` and IPAM blocks packed, so the model can be cloned cheaply; `rehydrate` undoes it. */
export function dehydrate(model: ClusterModel, blocks: PackedBlocks = packBlocks(model.ipamBlocks)): { model: ClusterModel; blocks: PackedBlocks } {
  const plain = (s: Selector | undefined) => (s ? ({ text: s.text } as Selector) : undefined);
  return {
    model: {
      ...model,
      peers: model.peers.map((p) => ({ ...p, nodeSelector: plain(p.nodeSelector), peerSelector: plain(p.peerSelector) })),
      ipPools: model.ipPools.map((p) => ({ ...p, nodeSelector: plain(p.nodeSelector)! })),
      ipamBlocks: [],
    },
    blocks,
  };
}

export async function rehydrate(
  model: ClusterModel,
  blocks: PackedBlocks,
  previous?: ReadonlyMap<string, IpamBlock>,
  index?: Map<string, IpamBlock>,
): Promise<ClusterModel> {
  const sel = (s: Selector | undefined) => (s ? parseSelector(s.text) : undefined);
  for (const p of model.peers) {
    p.nodeSelector = sel(p.nodeSelector);
    p.peerSelector = sel(p.peerSelector);
  }
  for (const p of model.ipPools) p.nodeSelector = sel(p.nodeSelector)!;
  model.ipamBlocks = await unpackBlocks(blocks, previous, index);
  return model;
}

/**
 * A parser thread kept between close reads: starting a worker and loading the YAML code into it
 * costs ~100-200 ms, and a changed IPAM block must reach the FIB within 100 ms (issue 6), so a
 * burst of edits is parsed by one warm thread. It is ended `keepParserSeconds` after the last
 * read: an idle thread holds its own heap and the yaml package for nothing (issue 18: what an
 * idle node keeps); the first read after a quiet spell pays the start again. A worker that hit a
 * bound, or read a file of RETIRE_WORKER_BYTES or more, is terminated at once and the next read
 * starts a fresh one. One read at a time.
 */
export class ModelLoader {
  private worker?: Worker;
  private idleTimer?: NodeJS.Timeout;
  private queue: Promise<unknown> = Promise.resolve();
  /** The last model's IPAM blocks by name, lent to the next read (unpackBlocks). */
  private lastBlocks?: Map<string, IpamBlock>;

  /** `progress` receives a line per phase of a read (issue 17: a 50 MB file loaded with no log line). */
  constructor(
    private readonly limits: LoadLimits = DEFAULT_LOAD_LIMITS,
    private readonly progress?: (text: string) => void,
  ) {}

  /**
   * Read and parse a model file in the worker. Resolves with the model; rejects with
   * ConfigError for invalid content (a limit exceeded is one of its issues) and with an Error
   * when the file cannot be read or the parse ran out of its memory or time.
   */
  load(file: string): Promise<{ model: ClusterModel; warnings: ConfigIssue[] }> {
    const run = this.queue.then(() => this.loadNow(file));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The parser thread's id while one is kept (undefined once it was ended). */
  get parserThreadId(): number | undefined {
    return this.worker?.threadId;
  }

  /** Ends the worker (the loader can still be used: the next load starts one). */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private spawn(): Worker {
    const w = new Worker(path.join(__dirname, 'load-worker.js'), {
      workerData: { limits: this.limits },
      resourceLimits: { maxOldGenerationSizeMb: this.limits.maxParseMemoryMb },
    });
    // An idle parser must not keep ternd (or a test) alive.
    w.unref();
    return w;
  }

  private loadNow(file: string): Promise<{ model: ClusterModel; warnings: ConfigIssue[] }> {
    const limits = this.limits;
    clearTimeout(this.idleTimer);
    const worker = (this.worker ??= this.spawn());
    return new Promise((resolve, reject) => {
      const done = (fn: () => void, kill: boolean): Promise<unknown> => {
        clearTimeout(timer);
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        let ended: Promise<unknown> = Promise.resolve();
        if (kill && this.worker === worker) {
          this.worker = undefined;
          ended = worker.terminate();
        }
        fn();
        return ended;
      };
      const onMessage = (r: LoadReply) => {
        if ('progress' in r) {
          this.progress?.(r.progress);
          return;
        }
        onResult(r);
      };
      const onResult = (r: Exclude<LoadReply, { progress: string }>) => {
        const ended = done(
          () => {
            if (r.ok) return;
            if (r.issues) reject(new ConfigError(r.issues));
            else reject(new Error(r.message ?? 'unknown error'));
          },
          (r.bytes ?? 0) >= RETIRE_WORKER_BYTES,
        );
        // The model is built here once a retired worker's heap is gone.
        if (r.ok) {
          const index = new Map<string, IpamBlock>();
          void ended
            .then(() => rehydrate(r.model, r.blocks, this.lastBlocks, index))
            .then((model) => {
              this.lastBlocks = index;
              resolve({ model, warnings: r.warnings });
            }, reject);
        }
      };
      const onError = (err: Error & { code?: string }) =>
        void done(
          () =>
            reject(
              err.code === 'ERR_WORKER_OUT_OF_MEMORY'
                ? new Error(`${file}: parsing needed more than the limit of ${limits.maxParseMemoryMb} MB of memory (refused)`)
                : err,
            ),
          true,
        );
      const onExit = (code: number) => void done(() => reject(new Error(`${file}: the parser thread stopped (exit code ${code})`)), true);
      const timer = setTimeout(
        () => void done(() => reject(new Error(`${file}: parsing took longer than the limit of ${limits.maxParseSeconds} s (refused)`)), true),
        limits.maxParseSeconds * 1000,
      );
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      // A busy parse holds the process open until it answers (the worker itself is unref'd).
      worker.ref();
      worker.postMessage({ file });
    }).finally(() => {
      worker.unref();
      this.endWhenIdle(worker);
    }) as Promise<{ model: ClusterModel; warnings: ConfigIssue[] }>;
  }

  /** Ends `worker` after keepParserSeconds unless a read starts first (loadNow clears the timer). */
  private endWhenIdle(worker: Worker): void {
    if (this.worker !== worker) return;
    this.idleTimer = setTimeout(() => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      void worker.terminate();
    }, this.limits.keepParserSeconds * 1000);
    this.idleTimer.unref();
  }
}
