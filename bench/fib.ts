// FIB benchmark: install N /24 routes via one next hop into a fresh namespace, replace them all
// to a second next hop, delete them; the same with `ip -batch` in the same run for comparison.
// `npm run bench -- fib [--routes N] [--rounds R] [--no-ip]` (root; namespace tfib-bench; never
// the host table).
// Tern's side runs in a child under `ip netns exec` (this file with --inner), measuring the
// event loop with perf_hooks.monitorEventLoopDelay while it works.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import koffi = require('koffi');
import { NetlinkFib, type NetlinkFibOptions } from '../fib/netlink-fib.js';
import type { FibChange } from '../fib/types.js';

const NS = 'tfib-bench';
const GW1 = '198.18.0.2';
const GW2 = '198.18.0.3';

const prefixOf = (i: number): string => `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`;

interface Phase { name: string; seconds: number; routesPerSec: number; maxLoopDelayMs?: number; p99LoopDelayMs?: number; cpuSeconds?: number; mainCpuSeconds?: number; failed?: number }

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', maxBuffer: 1 << 30 });
}

function freshNs(): void {
  spawnSync('ip', ['netns', 'del', NS]);
  ip('netns', 'add', NS);
  ip('-n', NS, 'link', 'set', 'lo', 'up');
  ip('-n', NS, 'link', 'add', 'tfibb1a', 'type', 'veth', 'peer', 'name', 'tfibb1b');
  ip('-n', NS, 'addr', 'add', '198.18.0.1/24', 'dev', 'tfibb1a');
  ip('-n', NS, 'link', 'set', 'tfibb1a', 'up');
  ip('-n', NS, 'link', 'set', 'tfibb1b', 'up');
}

function countRoutes(proto: number): number {
  return ip('-n', NS, 'route', 'show', 'proto', String(proto)).split('\n').filter((l) => l.length > 0).length;
}

/** Run a command under /usr/bin/time; its user+system CPU seconds (kernel work included). */
function timedCpu(cmd: string[]): number {
  const r = spawnSync('/usr/bin/time', ['-f', 'TFIBCPU %U %S', ...cmd], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
  const m = /TFIBCPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return m ? Number(m[1]) + Number(m[2]) : NaN;
}

/** The same routes through `ip -batch` (one iproute2 process, one request per route). */
function ipBatch(n: number): Phase[] {
  const dir = join(tmpdir(), `tfib-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const out: Phase[] = [];
  const run = (name: string, verb: string, gw: string | undefined): void => {
    const file = join(dir, `${name}.batch`);
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(`route ${verb} ${prefixOf(i)}${gw ? ` via ${gw}` : ''} proto 202 metric 32`);
    writeFileSync(file, lines.join('\n') + '\n');
    const t0 = process.hrtime.bigint();
    const cpu = timedCpu(['ip', '-n', NS, '-batch', file]);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    out.push({ name: `ip -batch ${name}`, seconds: s, routesPerSec: n / s, cpuSeconds: cpu });
  };
  run('add', 'add', GW1);
  if (countRoutes(202) !== n) throw new Error('ip -batch add did not install every route');
  run('replace', 'replace', GW2);
  run('delete', 'del', undefined);
  run('add-again', 'add', GW1);
  const t0 = process.hrtime.bigint();
  const cpu = timedCpu(['ip', '-n', NS, 'route', 'flush', 'proto', '202']);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  out.push({ name: 'ip route flush proto 202', seconds: s, routesPerSec: n / s, cpuSeconds: cpu });
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/** CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): main-thread work, not machine load. */
function threadCpuSeconds(): number {
  const clock = threadClock ??= koffi.load('libc.so.6').func('int clock_gettime(int, void *)') as (id: number, ts: Buffer) => number;
  const ts = Buffer.alloc(16);
  clock(3 /* CLOCK_THREAD_CPUTIME_ID */, ts);
  return Number(ts.readBigInt64LE(0)) + Number(ts.readBigInt64LE(8)) / 1e9;
}
let threadClock: ((id: number, ts: Buffer) => number) | undefined;

/**
 * Collect the garbage of building the input before a phase is timed. The bench makes its million
 * change records in one synchronous loop just before handing them over, so without this the
 * phase's first young-generation collections copy and promote the bench's own input (25-38 ms
 * pauses charged to the FIB). A daemon's change records arrive with the UPDATEs over seconds
 * and are long promoted by the time they reach the FIB. (The child runs with --expose-gc.)
 */
function settle(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Tern's side, run inside the namespace. */
async function inner(n: number, opts: NetlinkFibOptions): Promise<void> {
  let fib = await NetlinkFib.open(opts);
  let resyncs = 0;
  fib.on('resync', () => { resyncs++; });
  const phases: Phase[] = [];
  const delay = monitorEventLoopDelay({ resolution: 5 });
  const run = async (name: string, gw: string | undefined): Promise<void> => {
    const nexthops = gw ? [{ gateway: gw }] : [];
    const changes: FibChange[] = new Array(n);
    for (let i = 0; i < n; i++) changes[i] = { prefix: prefixOf(i), kind: 'unicast', nexthops };
    settle();
    delay.reset();
    delay.enable();
    const cpu0 = process.cpuUsage();
    const main0 = threadCpuSeconds();
    const t0 = process.hrtime.bigint();
    const res = await fib.apply(changes);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const mainCpu = threadCpuSeconds() - main0;
    const cpu = process.cpuUsage(cpu0);
    delay.disable();
    phases.push({
      name: `tern ${name}`, seconds: s, routesPerSec: n / s, maxLoopDelayMs: delay.max / 1e6,
      p99LoopDelayMs: delay.percentile(99) / 1e6, cpuSeconds: (cpu.user + cpu.system) / 1e6, mainCpuSeconds: mainCpu, failed: res.length,
    });
  };
  await run('add', GW1);
  await run('replace', GW2);
  // A restart: a new FIB (new sockets, empty state) opens (dumps the million routes) and
  // reconciles the same desired set; timed together.
  await fib.close();
  {
    const nexthops = [{ gateway: GW2 }];
    const desired: FibChange[] = new Array(n);
    for (let i = 0; i < n; i++) desired[i] = { prefix: prefixOf(i), kind: 'unicast', nexthops };
    settle();
    delay.reset();
    delay.enable();
    const main0 = threadCpuSeconds();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fib = await NetlinkFib.open(opts);
    fib.on('resync', () => { resyncs++; });
    const r = await fib.reconcile(desired);
    const cpu = process.cpuUsage(cpu0);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    delay.disable();
    if (r.unchanged !== n || r.added + r.replaced + r.deleted + r.failed.length !== 0) throw new Error(`restart reconcile changed routes: ${JSON.stringify({ ...r, failed: r.failed.length })}`);
    phases.push({ name: 'tern restart: open+reconcile', seconds: s, routesPerSec: n / s, maxLoopDelayMs: delay.max / 1e6, p99LoopDelayMs: delay.percentile(99) / 1e6, cpuSeconds: (cpu.user + cpu.system) / 1e6, mainCpuSeconds: threadCpuSeconds() - main0, failed: 0 });
  }
  await run('delete', undefined);
  await fib.close();
  process.stdout.write(JSON.stringify({ phases, resyncs, nexthopObjects: fib.usesNexthopObjects, rssMB: process.memoryUsage().rss / 1e6 }) + '\n');
}

interface TernRun { phases: Phase[]; resyncs: number; nexthopObjects: boolean; rssMB: number }

/** Tern's side in a fresh namespace, in a child process (see inner()). */
function ternChild(n: number, opts: NetlinkFibOptions): TernRun {
  freshNs();
  const child = spawnSync('ip', ['netns', 'exec', NS, process.execPath, '--expose-gc', __filename, '--inner', '--routes', String(n), '--options', JSON.stringify(opts)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (child.status !== 0) throw new Error(`tern child failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as TernRun;
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/**
 * `--rounds R` (default 3): ip -batch and Tern alternate R times in one run, so that both meet
 * the same moments of a shared machine's load; the add ratio is reported per round and as the
 * median, and the event-loop maximum as the worst over every Tern phase of every round.
 */
export async function main(argv: string[]): Promise<number> {
  const arg = (name: string, dflt: number): number => { const i = argv.indexOf(name); return i >= 0 ? Number(argv[i + 1]) : dflt; };
  const n = arg('--routes', 1_000_000);
  const rounds = arg('--rounds', 3);
  const o = argv.indexOf('--options');
  const opts = (o >= 0 ? JSON.parse(argv[o + 1]) : {}) as NetlinkFibOptions;
  if (argv.includes('--inner')) { await inner(n, opts); return 0; }
  if (process.getuid?.() !== 0) { console.error('bench fib: needs root (network namespaces)'); return 2; }
  const noIp = argv.includes('--no-ip');
  const results: { round: number; load: string; ip: Phase[]; tern: TernRun; ratio: number; cpuRatio: number }[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const load = readFileSync('/proc/loadavg', 'utf8').trim();
      const ipPhases = noIp ? [{ name: 'ip -batch add (skipped)', seconds: NaN, routesPerSec: NaN }] : (freshNs(), ipBatch(n));
      const tern = ternChild(n, opts);
      const ratio = tern.phases[0].routesPerSec / ipPhases[0].routesPerSec;
      const cpuRatio = (ipPhases[0].cpuSeconds ?? NaN) / (tern.phases[0].cpuSeconds ?? NaN);
      results.push({ round, load, ip: ipPhases, tern, ratio, cpuRatio });
      console.log(`FIB benchmark round ${round}/${rounds}: ${n} /24 routes, namespace ${NS}, load average ${load}`);
      for (const r of [...(noIp ? [] : ipPhases), ...tern.phases]) {
        console.log(`${r.name.padEnd(30)} ${r.seconds.toFixed(2).padStart(7)} s ${Math.round(r.routesPerSec).toString().padStart(8)} routes/s` +
          (r.cpuSeconds !== undefined ? `  cpu ${r.cpuSeconds.toFixed(1)} s (${(r.cpuSeconds * 1e6 / n).toFixed(2)} us/route)` : '') +
          (r.maxLoopDelayMs !== undefined ? `  loop delay max ${r.maxLoopDelayMs.toFixed(1)} ms p99 ${r.p99LoopDelayMs!.toFixed(1)} ms, main thread cpu ${r.mainCpuSeconds!.toFixed(1)} s, failed ${r.failed}` : ''));
      }
      console.log(`round ${round}: tern add / ip -batch add = ${ratio.toFixed(2)}x (cpu per route ${cpuRatio.toFixed(2)}x); resyncs ${tern.resyncs}; nexthop objects ${tern.nexthopObjects}; child RSS ${Math.round(tern.rssMB)} MB`);
    }
    const ratios = results.map((r) => r.ratio);
    const worst = Math.max(...results.flatMap((r) => r.tern.phases.map((p) => p.maxLoopDelayMs ?? 0)));
    const summary = {
      medianAddRatio: median(ratios), minAddRatio: Math.min(...ratios), maxAddRatio: Math.max(...ratios),
      medianTernAddRate: median(results.map((r) => r.tern.phases[0].routesPerSec)),
      medianIpAddRate: median(results.map((r) => r.ip[0].routesPerSec)),
      worstLoopDelayMs: worst,
    };
    console.log(`summary over ${rounds} rounds: tern add / ip -batch add median ${summary.medianAddRatio.toFixed(2)}x (min ${summary.minAddRatio.toFixed(2)}x, max ${summary.maxAddRatio.toFixed(2)}x; ` +
      `tern ${Math.round(summary.medianTernAddRate)} routes/s, ip ${Math.round(summary.medianIpAddRate)} routes/s); worst event-loop delay of any tern phase ${worst.toFixed(1)} ms`);
    console.log(`targets (issue 5): add >= 3x ip -batch: ${summary.medianAddRatio >= 3 ? 'met' : 'NOT met'} (median); event loop never blocked > 50 ms: ${worst <= 50 ? 'met' : 'NOT met'}`);
    mkdirSync(join(__dirname, '..', '..', 'bench', 'results'), { recursive: true });
    const file = join(__dirname, '..', '..', 'bench', 'results', `fib-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}Z-n${n}.json`);
    writeFileSync(file, JSON.stringify({ routes: n, rounds: results, summary }, null, 2) + '\n');
    console.log(`results: ${file}`);
    return 0;
  } finally {
    spawnSync('ip', ['netns', 'del', NS]);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((c) => process.exit(c), (e: unknown) => { console.error(e); process.exit(1); });
}
