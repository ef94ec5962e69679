// One route-reflector run against one target: start the reflector from a clean directory, start
// the worker threads (each a slice of the clients), connect every client at once and time from
// the first connect until every client holds every other client's blocks; then the change
// latency: one client withdraws a block (or announces it again) and the clock runs until every
// other client saw it. The reflector is always killed by PID before this returns.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { installCleanupHooks, sampleProcess, startProcess, stopProcess, waitListening, type Spawned, sleep, tail } from '../ingest/proc.js';
import { RR_ADDRESS } from './layout.js';
import type { RrTarget } from './targets.js';
import type { FromWorker, ToWorker, WorkerInit, WorkerStats } from './worker.js';

export interface RrParams {
  clients: number;
  blocksPerClient: number;
  /** Change events after convergence (alternately withdraw and re-announce). */
  changes: number;
  workers: number;
  /** Session set-ups in flight at once, over all workers. */
  concurrency: number;
  port: number;
  timeoutMs: number;
  keepDir: boolean;
  /** Print the sessions up and blocks held every 5 s while converging. */
  progress?: boolean;
  log?: (s: string) => void;
}

export interface ChangeEvent {
  client: number;
  block: number;
  announce: boolean;
  /** From the owner's write to the last other client that saw it, ms. */
  allMs: number;
  /** Every other client's latency, p50 and max (ms). */
  clientP50Ms: number;
  clientMaxMs: number;
  seenBy: number;
}

export interface RrRunResult {
  target: string;
  version: string;
  status: 'ok' | 'not available' | 'failed';
  reason?: string;
  clients: number;
  /** First connect to the last client holding every other client's blocks. */
  seconds?: number;
  /** First connect to the last session established and its blocks written. */
  connectSeconds?: number;
  /** VmHWM of the reflector at convergence and at the end of the run, bytes. */
  peakRssBytes?: number;
  peakRssEndBytes?: number;
  /** Reflector CPU (user+system) from the first connect to convergence, and in total. */
  cpuSeconds?: number;
  cpuTotalSeconds?: number;
  /** Harness CPU (every worker thread) from the first connect to convergence. */
  harnessCpuSeconds?: number;
  /** Machine-wide TCP ListenOverflows during the convergence (see listenOverflows). */
  listenOverflows?: number;
  changes?: ChangeEvent[];
  stats?: WorkerStats;
  dir?: string;
}

/**
 * TcpExt ListenOverflows from /proc/net/netstat: connections the kernel dropped because a
 * listener's accept queue was full. Machine-wide (another process's listener counts too), so it
 * is recorded beside the result, not judged: a reflector whose queue overflowed had its clients
 * wait out TCP's SYN retransmission backoff.
 */
export function listenOverflows(): number {
  try {
    const lines = fs.readFileSync('/proc/net/netstat', 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i++) {
      if (!lines[i].startsWith('TcpExt:') || !lines[i + 1].startsWith('TcpExt:')) continue;
      const k = lines[i].trim().split(/\s+/).indexOf('ListenOverflows');
      if (k > 0) return Number(lines[i + 1].trim().split(/\s+/)[k]);
    }
  } catch {
    // not Linux: said as NaN
  }
  return NaN;
}

const now = (): number => performance.timeOrigin + performance.now();

/** Sorted-array percentile (nearest rank). */
export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

class Pool {
  readonly workers: Worker[] = [];
  private readonly waiters: ((m: FromWorker, w: number) => boolean)[] = [];
  readonly progress: { established: number; complete: number; held: number; failure: string | null }[] = [];
  error: string | null = null;

  constructor(inits: WorkerInit[]) {
    inits.forEach((init, w) => {
      const worker = new Worker(path.join(__dirname, 'worker.js'), { workerData: init });
      this.progress.push({ established: 0, complete: 0, held: 0, failure: null });
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'progress') this.progress[w] = m;
        else if (m.type === 'error') this.error ??= m.message;
        for (let i = 0; i < this.waiters.length; i++)
          if (this.waiters[i](m, w)) {
            this.waiters.splice(i, 1);
            break;
          }
      });
      worker.on('error', (e) => (this.error ??= `worker ${w}: ${e.message}`));
      this.workers.push(worker);
    });
  }

  send(w: number, m: ToWorker): void {
    this.workers[w].postMessage(m);
  }
  broadcast(m: ToWorker): void {
    for (const w of this.workers) w.postMessage(m);
  }

  /** Resolves with one message of `type` from each worker (or from worker `only`). */
  collect<T extends FromWorker['type']>(type: T, match: (m: Extract<FromWorker, { type: T }>) => boolean = () => true, only?: number) {
    const want = only === undefined ? this.workers.length : 1;
    const got: Extract<FromWorker, { type: T }>[] = [];
    return new Promise<Extract<FromWorker, { type: T }>[]>((resolve) => {
      const seen = new Set<number>();
      const fn = (m: FromWorker, w: number): boolean => {
        if (m.type !== type || seen.has(w) || (only !== undefined && w !== only)) return false;
        const mm = m as Extract<FromWorker, { type: T }>;
        if (!match(mm)) return false;
        seen.add(w);
        got.push(mm);
        if (got.length === want) resolve(got);
        else this.waiters.push(fn);
        return true;
      };
      this.waiters.push(fn);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Races `p` against the deadline, the reflector's exit and worker errors. */
async function guard<T>(what: string, p: Promise<T>, deadline: number, proc: Spawned, pool: Pool, progress?: (s: string) => void): Promise<T> {
  let stop = false;
  const t0 = Date.now();
  let next = t0 + 5000;
  const watch = (async (): Promise<never> => {
    while (!stop) {
      await sleep(100);
      if (progress && Date.now() >= next) {
        next += 5000;
        const s = pool.progress.reduce((a, x) => ({ e: a.e + x.established, c: a.c + x.complete, h: a.h + x.held }), { e: 0, c: 0, h: 0 });
        progress(`    ${what} ${((Date.now() - t0) / 1000).toFixed(0)} s: ${s.e} sessions up, ${s.c} clients complete, ${s.h} blocks held in all`);
      }
      const failure = pool.error ?? pool.progress.find((x) => x.failure)?.failure;
      if (failure) throw new Error(`${what}: ${failure}`);
      if (!proc.isRunning()) throw new Error(`${what}: reflector exited`);
      if (Date.now() > deadline) {
        const s = pool.progress.reduce((a, x) => ({ e: a.e + x.established, c: a.c + x.complete, h: a.h + x.held }), { e: 0, c: 0, h: 0 });
        throw new Error(`${what}: timed out (${s.e} sessions up, ${s.c} clients complete, ${s.h} blocks held in all)`);
      }
    }
    throw new Error('unreachable');
  })();
  try {
    return await Promise.race([p, watch]);
  } finally {
    stop = true;
    watch.catch(() => undefined);
  }
}

export async function runRr(t: RrTarget, p: RrParams): Promise<RrRunResult> {
  const base: RrRunResult = { target: t.name, version: '', status: 'not available', clients: p.clients };
  const why = t.unavailable();
  if (why) return { ...base, reason: why };
  base.version = t.version();
  installCleanupHooks();
  const log = p.log ?? (() => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tbench-rr-${t.name}-`));
  const out = path.join(dir, 'stdout.log');
  let proc: Spawned | null = null;
  let pool: Pool | null = null;
  let failed = true;
  try {
    const launch = t.prepare({ clients: p.clients, port: p.port, dir });
    proc = startProcess(launch.cmd, launch.args, out);
    const running = proc;
    await waitListening(RR_ADDRESS, p.port, Date.now() + 60_000, () => running.isRunning());
    const nw = Math.max(1, Math.min(p.workers, p.clients));
    const inits: WorkerInit[] = Array.from({ length: nw }, (_, w) => ({
      clients: Array.from({ length: p.clients }, (_, i) => i).filter((i) => i % nw === w),
      total: p.clients,
      blocksPerClient: p.blocksPerClient,
      host: RR_ADDRESS,
      port: p.port,
      deadline: Date.now() + p.timeoutMs,
      concurrency: Math.max(1, Math.floor(p.concurrency / nw)),
    }));
    const workerOf = (client: number): number => client % nw;
    pool = new Pool(inits);
    await sleep(300); // the workers load their modules before the clock starts
    const before = sampleProcess(proc.pid);
    const cpu0 = process.cpuUsage();
    const overflows0 = listenOverflows();
    const deadline = Date.now() + p.timeoutMs;
    const connected = pool.collect('connected');
    const completed = pool.collect('complete');
    const t0 = now();
    pool.broadcast({ type: 'start' });
    const done = await guard('convergence', completed, deadline, proc, pool, p.progress ? log : undefined);
    const t1 = Math.max(...done.map((m) => m.at));
    const atConvergence = sampleProcess(proc.pid);
    const hcpu = process.cpuUsage(cpu0);
    const overflows = listenOverflows() - overflows0;
    const conn = await guard('connect', connected, deadline, proc, pool);
    const seconds = (t1 - t0) / 1000;
    log(`  ${t.name}: ${p.clients} clients converged in ${seconds.toFixed(2)} s, reflector peak RSS ${(atConvergence.peakRss / 2 ** 20).toFixed(0)} MB`);

    // Change latency: the owner writes, every other client must see it.
    const changes: ChangeEvent[] = [];
    for (let e = 0; e < p.changes; e++) {
      const client = Math.floor(e / 2) % p.clients;
      const block = client * p.blocksPerClient + (Math.floor(e / 2) % p.blocksPerClient);
      const announce = e % 2 === 1;
      const watching = pool.collect('watching', (m) => m.event === e);
      const seen = pool.collect('seen', (m) => m.event === e);
      const wrote = pool.collect('wrote', (m) => m.event === e, workerOf(client));
      pool.broadcast({ type: 'watch', event: e, block, announce });
      // Every worker watches before the owner writes: no client can see the change unwatched.
      await guard('watch', watching, Date.now() + 30_000, proc, pool);
      pool.send(workerOf(client), { type: 'write', event: e, client, block, announce });
      const [w] = await guard('write', wrote, Date.now() + 30_000, proc, pool);
      const times = (await guard(`change ${e}`, seen, Date.now() + 30_000, proc, pool)).flatMap((m) => m.times).map((x) => x - w.at);
      changes.push({ client, block, announce, allMs: Math.max(...times), clientP50Ms: pct(times, 50), clientMaxMs: Math.max(...times), seenBy: times.length });
      await sleep(50);
    }
    const end = sampleProcess(proc.pid);
    const stopped = pool.collect('stopped');
    pool.broadcast({ type: 'stop' });
    const stats = (await guard('stop', stopped, Date.now() + 10_000, proc, pool)).reduce<WorkerStats>(
      (a, m) => {
        for (const k of Object.keys(a) as (keyof WorkerStats)[]) a[k] += m.stats[k];
        return a;
      },
      { updates: 0, nlri: 0, foreign: 0, duplicates: 0, withdrawals: 0, wrongNextHop: 0, own: 0, bytesIn: 0, held: 0 },
    );
    const r = (x: number): number => Math.round(x * 1e4) / 1e4;
    failed = false;
    return {
      ...base,
      status: 'ok',
      seconds: r(seconds),
      connectSeconds: r((Math.max(...conn.map((m) => m.at)) - t0) / 1000),
      peakRssBytes: atConvergence.peakRss,
      peakRssEndBytes: end.peakRss,
      cpuSeconds: r(atConvergence.cpu - before.cpu),
      cpuTotalSeconds: end.cpu,
      harnessCpuSeconds: r((hcpu.user + hcpu.system) / 1e6),
      listenOverflows: overflows,
      changes,
      stats,
      dir: p.keepDir ? dir : undefined,
    };
  } catch (e) {
    const msg = (e as Error).message;
    const logs = [tail(out), tail(path.join(dir, 'bird.log'))].filter((s) => s).join(' | ');
    return { ...base, status: 'failed', reason: logs ? `${msg}; log: ${logs}` : msg, dir };
  } finally {
    await pool?.close();
    if (proc) await stopProcess(proc, 15_000); // a --cpu-prof ternd writes its profile on the way out
    if (!failed && !p.keepDir) fs.rmSync(dir, { recursive: true, force: true });
  }
}
