// One ingest run against one target: start the daemon from a clean directory, bring up the
// watcher (a separate process, bench/ingest/watcher.ts), the monitor session, then the injector
// session, blast the pre-encoded UPDATEs and time until the monitor holds all N prefixes and,
// with `--fib kernel`, the target's kernel table holds all N routes (bench/ingest/kernel.ts).
// The target is always killed by PID, and its namespace deleted, before this returns.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PrefixCounter } from './counter.js';
import { KERNEL_ADDRS, KERNEL_TABLE, type KernelVerify, type TargetNetns, createTargetNetns, kernelRouteCount, verifyKernelTable } from './kernel.js';
import { type EventLoopLag, scrapeEventLoopLag } from './metrics.js';
import { type ProcSample, installCleanupHooks, sampleProcess, startProcess, stopProcess, waitListening, type Spawned, sleep, tail } from './proc.js';
import { BenchSpeaker } from './speaker.js';
import type { Lab, Target } from './targets.js';
import { type KeepaliveResult, Watcher, epochMs, keepaliveGaps } from './watcher.js';
import type { BenchFamily, Workload } from './workload.js';

export interface RunParams {
  family: BenchFamily;
  n: number;
  k: number;
  seed: number;
  port: number;
  injector: string;
  target: string;
  monitor: string;
  /** BGP Identifiers (IPv4) of injector, target and monitor, whatever the transport. */
  routerIds: { injector: string; target: string; monitor: string; watcher: string };
  /** Give up on convergence after this many ms from the first UPDATE. */
  timeoutMs: number;
  /** Keep the target's directory (config, log) after the run. */
  keepDir: boolean;
  /** `kernel`: each target in its own namespace, routes installed (bench/ingest/kernel.ts). */
  fib: 'none' | 'kernel';
  /** Address of the watcher peer; null: no watcher. */
  watcher: string | null;
}

export interface TargetResult {
  target: string;
  version: string;
  status: 'ok' | 'not available' | 'failed';
  reason?: string;
  /** First UPDATE written to done: the monitor counted N and, with --fib kernel, the kernel holds N. */
  seconds?: number;
  /** First UPDATE written to the monitor's N-th prefix. */
  monitorSeconds?: number;
  /**
   * --fib kernel: first UPDATE written to the first kernel count of N, read from the monitor's
   * done on (kernelPoll.kernelFirst: the table was full by then, and this is the monitor's time).
   */
  kernelSeconds?: number;
  /** How the kernel was read: reads, their total ms, the resolution of kernelSeconds. */
  kernelPoll?: { reads: number; readMs: number; resolutionMs: number; kernelFirst: boolean };
  /** --fib kernel: the table dumped after the run (rule 6: the routes really are there). */
  kernel?: KernelVerify & { table: number; namespace: string };
  /** The watcher's KEEPALIVE gaps over [first UPDATE, done]. */
  keepalive?: KeepaliveResult;
  /** Tern: ternd's own event-loop delay over [first UPDATE, done], from its /metrics. */
  eventLoop?: EventLoopLag;
  /** With --repeat: every successful run's seconds, sorted; the others fields are the median run's. */
  allSeconds?: number[];
  /** VmHWM of the target at the end, bytes; with companions (FRR: zebra) the sum of their VmHWMs. */
  peakRssBytes?: number;
  /** With --repeat: every successful run's peak RSS, in the order of allSeconds. */
  allPeakRssBytes?: number[];
  /** With --repeat: every successful run's keepalive lateness (ms), in the order of allSeconds. */
  allKeepaliveLatenessMs?: number[];
  /** Target CPU time (user+system) from the first UPDATE to convergence. */
  cpuSeconds?: number;
  /** Target CPU time since it started, startup included. */
  cpuTotalSeconds?: number;
  /** First to last UPDATE handed to the kernel by the injector (undefined: still sending). */
  sentSeconds?: number;
  /** CPU time of the harness process (injector + monitor) during the run. */
  harnessCpuSeconds?: number;
  counted?: number;
  updatesReceived?: number;
  duplicates?: number;
  foreign?: number;
  withdrawals?: number;
  /** Where config and log were kept (keepDir or failure). */
  dir?: string;
}

export const TARGET_AS = 65000;
export const INJECTOR_AS = 65001;
export const MONITOR_AS = 65002;
export const WATCHER_AS = 65003;
/** ternd's /metrics port, on the target's address (the bench's own namespace or loopback). */
export const PROBES_PORT_OFFSET = 10000;

function safeCount(pid: number, family: BenchFamily, k0: number, table: number): number | string {
  try {
    return kernelRouteCount(pid, family, table) - k0;
  } catch {
    return '?';
  }
}

export async function runTarget(t: Target, p: RunParams, w: Workload): Promise<TargetResult> {
  const base: TargetResult = { target: t.name, version: '', status: 'not available' };
  const why = t.unavailable();
  if (why) return { ...base, reason: why };
  base.version = t.version();
  installCleanupHooks();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tbench-ingest-${t.name}-`));
  const lab: Lab = {
    family: p.family,
    routerId: p.routerIds.target,
    injector: p.injector,
    target: p.target,
    monitor: p.monitor,
    port: p.port,
    targetAs: TARGET_AS,
    injectorAs: INJECTOR_AS,
    monitorAs: MONITOR_AS,
    dir,
    ...(p.fib === 'kernel' ? { kernel: { table: t.kernelTable ?? KERNEL_TABLE, prefixLength: KERNEL_ADDRS[p.family].plen } } : {}),
    ...(p.watcher && t.watcher !== false ? { watcher: { address: p.watcher, as: WATCHER_AS } } : {}),
    ...(t.name === 'tern' ? { probes: { host: p.target, port: p.port + PROBES_PORT_OFFSET } } : {}),
  };
  const un = t.unsupported?.(lab);
  if (un) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { ...base, reason: un };
  }
  const log = path.join(dir, 'stdout.log');
  let proc: Spawned | null = null;
  const companions: Spawned[] = [];
  let monitor: BenchSpeaker | null = null;
  let injector: BenchSpeaker | null = null;
  let watcher: Watcher | null = null;
  let ns: TargetNetns | null = null;
  let poll: NodeJS.Timeout | undefined;
  let failed = true;
  try {
    if (lab.kernel) ns = createTargetNetns(p.family);
    const inNs = (l: { cmd: string; args: string[] }): { cmd: string; args: string[] } => (ns ? ns.wrap(l.cmd, l.args) : l);
    for (const c of t.companions?.(lab) ?? []) {
      const l = inNs(c);
      companions.push(startProcess(l.cmd, l.args, path.join(dir, `${path.basename(c.cmd)}.stdout.log`)));
    }
    const launch = inNs(t.prepare(lab));
    proc = startProcess(launch.cmd, launch.args, log);
    const pid = proc.pid;
    const alive = (): boolean => (proc?.isRunning() ?? false) && companions.every((c) => c.isRunning());
    // The daemon suite's footprint: the target and its companions (FRR: bgpd + zebra).
    const sample = (): ProcSample => {
      const all = [pid, ...companions.map((c) => c.pid)].map(sampleProcess);
      return { peakRss: all.reduce((a, x) => a + x.peakRss, 0), rss: all.reduce((a, x) => a + x.rss, 0), cpu: all.reduce((a, x) => a + x.cpu, 0) };
    };
    await waitListening(p.target, p.port, Date.now() + 20_000, alive);

    const counter = new PrefixCounter(p.family, p.n);
    let t0 = 0;
    let t1 = 0;
    let tk = 0;
    let done: () => void = () => undefined;
    const converged = new Promise<void>((r) => (done = r));
    // The kernel is read only once the monitor is done: one read walks the whole FIB trie
    // (a few hundred ms at 1M routes on this machine), which read all along would take CPU from
    // the target. If the table already holds N then, done is the monitor's time (exact); else it
    // is re-read every max(100 ms, 3 x the last read) and done is the end of the first read that
    // finds N (resolution: since the start of the read before it).
    const kpoll = { reads: 0, readMs: 0, resolutionMs: 0, kernelFirst: false };
    const table = lab.kernel?.table;
    let k0 = 0;
    let lastReadStart = 0;
    const readKernel = (): void => {
      if (tk !== 0 || table === undefined) return;
      const a = performance.now();
      let count: number;
      try {
        count = kernelRouteCount(pid, p.family, table) - k0;
      } catch {
        return; // the target is gone: its exit ends the race below
      }
      const b = performance.now();
      kpoll.reads++;
      kpoll.readMs += b - a;
      if (count >= p.n) {
        if (kpoll.reads === 1) {
          tk = t1;
          kpoll.kernelFirst = true;
        } else {
          tk = b;
          kpoll.resolutionMs = b - lastReadStart;
        }
        done();
        return;
      }
      lastReadStart = a;
      poll = setTimeout(readKernel, Math.max(100, 3 * (b - a)));
    };
    const check = (): void => {
      if (t0 === 0 || t1 === 0) return;
      if (!lab.kernel || tk !== 0) done();
      else readKernel();
    };
    const common = { host: p.target, port: p.port, family: p.family, deadline: Date.now() + 30_000 };
    // The watcher first, so that it hears the target idle before the injection and all through it.
    if (lab.watcher) {
      watcher = await Watcher.start({ ...common, localAddress: lab.watcher.address, myAs: lab.watcher.as, bgpId: p.routerIds.watcher });
    }
    // The monitor next: the target must already have somewhere to send routes when they come.
    monitor = await BenchSpeaker.connect({
      ...common,
      name: 'monitor',
      localAddress: p.monitor,
      myAs: MONITOR_AS,
      bgpId: p.routerIds.monitor,
      onUpdate: (buf, off, len) => {
        counter.update(buf, off, len);
        if (t1 === 0 && t0 !== 0 && counter.count === p.n) {
          t1 = performance.now();
          check();
        }
      },
    });
    injector = await BenchSpeaker.connect({ ...common, name: 'injector', localAddress: p.injector, myAs: INJECTOR_AS, bgpId: p.routerIds.injector });
    await sleep(1000); // let both sessions settle (End-of-RIB, initial route-refresh) before the clock
    if (counter.count !== 0) throw new Error(`monitor holds ${counter.count} prefixes before injection`);

    // The kernel's count before: 0 in a fresh table (IPv4); IPv6 counts every table, so less this.
    k0 = table !== undefined ? kernelRouteCount(pid, p.family, table) : 0;
    // Reset ternd's event-loop histogram (prom-client resets it on every scrape).
    if (lab.probes) await scrapeEventLoopLag(lab.probes.host, lab.probes.port);
    const before: ProcSample = sample();
    let tSent = 0;
    let e0 = 0;
    const cpu0 = process.cpuUsage();
    const blasted = injector
      .blast(w.updates, () => {
        t0 = performance.now();
        e0 = epochMs();
      })
      .then(() => (tSent = performance.now()));
    blasted.catch(() => undefined); // a write failure shows up as a session failure below
    let timer: NodeJS.Timeout | undefined;
    let watching = true;
    const timeout = new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), p.timeoutMs)));
    const exited = Promise.race([proc, ...companions].map((x) => x.exited.then((c) => `target exited (${c})`)));
    const sessionWatch = (async (): Promise<string> => {
      while (watching) {
        await sleep(200);
        const f = monitor?.failure ?? injector?.failure;
        if (f) return f;
      }
      return 'stopped';
    })();
    const outcome = await Promise.race([converged.then(() => 'ok'), timeout, exited, sessionWatch]);
    watching = false;
    clearTimeout(timer);
    clearTimeout(poll);
    if (outcome !== 'ok') {
      const k = table !== undefined ? `, kernel table ${table} ${safeCount(pid, p.family, k0, table)}/${p.n} routes` : '';
      throw new Error(`${outcome}; monitor counted ${counter.count}/${p.n} prefixes${k}`);
    }
    const tDone = Math.max(t1, tk);
    const e1 = e0 + (tDone - t0);
    const after = sample();
    const hcpu = process.cpuUsage(cpu0);
    const eventLoop = lab.probes ? await scrapeEventLoopLag(lab.probes.host, lab.probes.port) : undefined;
    let kernel: TargetResult['kernel'];
    if (ns && lab.kernel) {
      const v = await verifyKernelTable(ns.name, p.family, p.n, p.injector, lab.kernel.table);
      kernel = { ...v, table: lab.kernel.table, namespace: ns.name };
      // Exactly the N workload prefixes, once each, each via the injector; in main (FRR) the
      // veth's connected route is there too, counted as foreign.
      if (v.workload !== p.n || v.routes - v.foreign !== p.n || v.viaInjector !== p.n) {
        throw new Error(
          `kernel table ${lab.kernel.table} holds ${v.routes} routes (${v.workload} workload prefixes, ${v.viaInjector} via ${p.injector}), expected ${p.n}`,
        );
      }
    }
    let keepalive: KeepaliveResult | undefined;
    if (watcher) {
      // Let the gap that spans `done` close: one more expected interval and a half.
      await sleep(1500);
      keepalive = keepaliveGaps(await watcher.report(), { start: e0, end: e1 });
    }
    const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;
    failed = false;
    return {
      ...base,
      status: 'ok',
      seconds: r4((tDone - t0) / 1000),
      monitorSeconds: r4((t1 - t0) / 1000),
      ...(lab.kernel
        ? {
            kernelSeconds: r4((tk - t0) / 1000),
            kernelPoll: { ...kpoll, readMs: Math.round(kpoll.readMs), resolutionMs: Math.round(kpoll.resolutionMs) },
            kernel,
          }
        : {}),
      ...(keepalive ? { keepalive } : {}),
      ...(eventLoop ? { eventLoop } : {}),
      peakRssBytes: after.peakRss,
      cpuSeconds: r4(after.cpu - before.cpu),
      cpuTotalSeconds: after.cpu,
      sentSeconds: tSent > 0 ? r4((tSent - t0) / 1000) : undefined,
      harnessCpuSeconds: r4((hcpu.user + hcpu.system) / 1e6),
      counted: counter.count,
      updatesReceived: counter.updates,
      duplicates: counter.duplicates,
      foreign: counter.foreign,
      withdrawals: counter.withdrawals,
      dir: p.keepDir ? dir : undefined,
    };
  } catch (e) {
    const msg = (e as Error).message;
    const logs = [tail(log), tail(path.join(dir, 'bird.log')), tail(path.join(dir, 'bgpd.log')), tail(path.join(dir, 'zebra.log'))]
      .filter((s) => s)
      .join(' | ');
    return { ...base, status: 'failed', reason: logs ? `${msg}; log: ${logs}` : msg, dir };
  } finally {
    clearTimeout(poll);
    watcher?.kill();
    injector?.close();
    monitor?.close();
    if (proc) await stopProcess(proc);
    for (const c of companions) await stopProcess(c);
    ns?.remove();
    if (!failed && !p.keepDir) fs.rmSync(dir, { recursive: true, force: true });
  }
}
