// One ingest run against one target: start the daemon from a clean directory, bring up the
// monitor session, then the injector session, blast the pre-encoded UPDATEs and time until the
// monitor holds all N prefixes. The target is always killed by PID before this returns.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PrefixCounter } from './counter';
import { type ProcSample, installCleanupHooks, sampleProcess, startProcess, stopProcess, waitListening, type Spawned } from './proc';
import { BenchSpeaker } from './speaker';
import type { Lab, Target } from './targets';
import type { BenchFamily, Workload } from './workload';

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
  routerIds: { injector: string; target: string; monitor: string };
  /** Give up on convergence after this many ms from the first UPDATE. */
  timeoutMs: number;
  /** Keep the target's directory (config, log) after the run. */
  keepDir: boolean;
}

export interface TargetResult {
  target: string;
  version: string;
  status: 'ok' | 'not available' | 'failed';
  reason?: string;
  /** First UPDATE written to last prefix counted at the monitor. */
  seconds?: number;
  /** With --repeat: every successful run's seconds, sorted; the others fields are the median run's. */
  allSeconds?: number[];
  /** VmHWM of the target at the end, bytes. */
  peakRssBytes?: number;
  /** With --repeat: every successful run's peak RSS, in the order of allSeconds. */
  allPeakRssBytes?: number[];
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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 3): string {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .slice(-lines)
      .map((l) => l.slice(0, 200))
      .join(' | ');
  } catch {
    return '';
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
  };
  const un = t.unsupported?.(lab);
  if (un) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { ...base, reason: un };
  }
  const log = path.join(dir, 'stdout.log');
  let proc: Spawned | null = null;
  let monitor: BenchSpeaker | null = null;
  let injector: BenchSpeaker | null = null;
  let failed = true;
  try {
    const launch = t.prepare(lab);
    proc = startProcess(launch.cmd, launch.args, log);
    const alive = (): boolean => proc !== null && proc.isRunning();
    await waitListening(p.target, p.port, Date.now() + 20_000, alive);

    const counter = new PrefixCounter(p.family, p.n);
    let t0 = 0;
    let t1 = 0;
    let done: () => void = () => undefined;
    const converged = new Promise<void>((r) => (done = r));
    const common = { host: p.target, port: p.port, family: p.family, deadline: Date.now() + 30_000 };
    // The monitor first: the target must already have somewhere to send routes when they come.
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
          done();
        }
      },
    });
    injector = await BenchSpeaker.connect({ ...common, name: 'injector', localAddress: p.injector, myAs: INJECTOR_AS, bgpId: p.routerIds.injector });
    await sleep(1000); // let both sessions settle (End-of-RIB, initial route-refresh) before the clock
    if (counter.count !== 0) throw new Error(`monitor holds ${counter.count} prefixes before injection`);

    const before: ProcSample = sampleProcess(proc.pid);
    let tSent = 0;
    const cpu0 = process.cpuUsage();
    const blasted = injector.blast(w.updates, () => (t0 = performance.now())).then(() => (tSent = performance.now()));
    blasted.catch(() => undefined); // a write failure shows up as a session failure below
    let timer: NodeJS.Timeout | undefined;
    let watching = true;
    const timeout = new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), p.timeoutMs)));
    const exited = proc.exited.then((c) => `target exited (${c})`);
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
    if (outcome !== 'ok') {
      throw new Error(`${outcome}; monitor counted ${counter.count}/${p.n} prefixes`);
    }
    const after = sampleProcess(proc.pid);
    const hcpu = process.cpuUsage(cpu0);
    const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;
    failed = false;
    return {
      ...base,
      status: 'ok',
      seconds: r4((t1 - t0) / 1000),
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
    const logs = [tail(log), tail(path.join(dir, 'bird.log')), tail(path.join(dir, 'bgpd.log'))].filter((s) => s).join(' | ');
    return { ...base, status: 'failed', reason: logs ? `${msg}; log: ${logs}` : msg, dir };
  } finally {
    injector?.close();
    monitor?.close();
    if (proc) await stopProcess(proc);
    if (!failed && !p.keepDir) fs.rmSync(dir, { recursive: true, force: true });
  }
}
