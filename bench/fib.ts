// FIB benchmark: install N /24 routes via one next hop into a fresh namespace, replace them all
// to a second next hop, delete them; the same with `ip -batch` in the same run, in its naive form
// (inline `via`) and its best form (nexthop objects + `route ... nhid`, delete = `nexthop del`).
// `npm run bench -- fib [--routes N] [--rounds R] [--no-ip]` (root; namespace tfib-bench; never
// the host table). Every phase of every side is verified by counting the routes in the namespace.
// Tern's side runs in a child under `ip netns exec` (this file with --inner), measuring the
// event loop with perf_hooks.monitorEventLoopDelay while it works.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import koffi = require('koffi');
import { NetlinkFib, type NetlinkFibOptions } from '../fib/netlink-fib.js';
import { TERN_PROTO, type FibChange } from '../fib/types.js';
import { ResultRecorder, spread, spreadText, type TargetVerdict } from './result.js';

const NS = 'tfib-bench';
const GW1 = '198.18.0.2';
const GW2 = '198.18.0.3';

const prefixOf = (i: number): string => `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`;

interface Phase {
  name: string;
  seconds: number;
  routesPerSec: number;
  maxLoopDelayMs?: number;
  p99LoopDelayMs?: number;
  cpuSeconds?: number;
  mainCpuSeconds?: number;
  failed?: number;
  /** Routes of the bench's protocol counted in the namespace after the phase (checked against the expected count). */
  kernelRoutesAfter?: number;
}

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

/** Run a command under /usr/bin/time; its user+system CPU seconds (kernel work included). */
function timedCpu(cmd: string[]): number {
  const r = spawnSync('/usr/bin/time', ['-f', 'TFIBCPU %U %S', ...cmd], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
  const m = /TFIBCPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return m ? Number(m[1]) + Number(m[2]) : NaN;
}

/** `ip -n NS route show proto P`: the routes present, and how many go via `gw`. */
function tableOf(proto: number, gw?: string): { routes: number; viaGw: number } {
  const lines = ip('-n', NS, '-4', 'route', 'show', 'proto', String(proto))
    .split('\n')
    .filter((l) => l.length > 0);
  return { routes: lines.length, viaGw: gw ? lines.filter((l) => l.includes(` via ${gw} `)).length : 0 };
}

/** After a phase: the kernel must hold exactly `n` routes of `proto`, all via `gw` (none when n = 0). */
function verify(phase: string, proto: number, n: number, gw?: string): { routes: number; viaGw: number } {
  const t = tableOf(proto, gw);
  if (t.routes !== n || (gw !== undefined && t.viaGw !== n))
    throw new Error(`${phase}: kernel holds ${t.routes} routes of proto ${proto} (${t.viaGw} via ${gw ?? '-'}), expected ${n}`);
  return t;
}

/**
 * The same routes through `ip -batch` (one iproute2 process, one request per route), in two
 * forms, each in a fresh namespace:
 * - naive: `route add|replace P via GW`, `route del P` per route (what issue 5 compared with);
 * - best: what ip can do with the same kernel feature Tern uses: `nexthop add id 1 via GW1`
 *   then `route add P nhid 1`; replace to a second nexthop object (`route replace P nhid 2`);
 *   delete = `nexthop del id 2`, which drops every route on it in one kernel pass, exactly what
 *   Tern's delete does (RTM_DELNEXTHOP): deletes compared like for like.
 * Every phase is checked by counting the routes in the namespace afterwards.
 */
function ipBatch(n: number, form: 'naive' | 'best'): Phase[] {
  const dir = join(tmpdir(), `tfib-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const out: Phase[] = [];
  const run = (name: string, head: string[], perRoute: ((p: string) => string) | null, tail: string[], expect: number, gw?: string): void => {
    const file = join(dir, `${form}-${name}.batch`);
    const lines = [...head];
    if (perRoute) for (let i = 0; i < n; i++) lines.push(perRoute(prefixOf(i)));
    lines.push(...tail);
    writeFileSync(file, lines.join('\n') + '\n');
    const t0 = process.hrtime.bigint();
    const cpu = timedCpu(['ip', '-n', NS, '-batch', file]);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const v = verify(`ip -batch ${form} ${name}`, 202, expect, gw);
    out.push({ name: `ip ${form} ${name}`, seconds: s, routesPerSec: n / s, cpuSeconds: cpu, kernelRoutesAfter: v.routes });
  };
  const R = 'proto 202 metric 32';
  if (form === 'naive') {
    run('add', [], (p) => `route add ${p} via ${GW1} ${R}`, [], n, GW1);
    run('replace', [], (p) => `route replace ${p} via ${GW2} ${R}`, [], n, GW2);
    run('delete', [], (p) => `route del ${p} ${R}`, [], 0);
    run('add-again', [], (p) => `route add ${p} via ${GW1} ${R}`, [], n, GW1);
    const t0 = process.hrtime.bigint();
    const cpu = timedCpu(['ip', '-n', NS, 'route', 'flush', 'proto', '202']);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const v = verify('ip route flush', 202, 0);
    out.push({ name: 'ip naive flush proto 202', seconds: s, routesPerSec: n / s, cpuSeconds: cpu, kernelRoutesAfter: v.routes });
  } else {
    const DEV = 'dev tfibb1a proto 202';
    run('add', [`nexthop add id 1 via ${GW1} ${DEV}`], (p) => `route add ${p} nhid 1 ${R}`, [], n, GW1);
    run('replace', [`nexthop add id 2 via ${GW2} ${DEV}`], (p) => `route replace ${p} nhid 2 ${R}`, ['nexthop del id 1'], n, GW2);
    run('delete', ['nexthop del id 2'], null, [], 0);
  }
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/** CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): main-thread work, not machine load. */
function threadCpuSeconds(): number {
  const clock = (threadClock ??= koffi.load('libc.so.6').func('int clock_gettime(int, void *)') as (id: number, ts: Buffer) => number);
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
  const proto = opts.protocol ?? TERN_PROTO;
  let fib = await NetlinkFib.open(opts);
  let resyncs = 0;
  fib.on('resync', () => {
    resyncs++;
  });
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
      name: `tern ${name}`,
      seconds: s,
      routesPerSec: n / s,
      maxLoopDelayMs: delay.max / 1e6,
      p99LoopDelayMs: delay.percentile(99) / 1e6,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      mainCpuSeconds: mainCpu,
      failed: res.length,
      kernelRoutesAfter: verify(`tern ${name}`, proto, gw ? n : 0, gw).routes,
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
    fib.on('resync', () => {
      resyncs++;
    });
    const r = await fib.reconcile(desired);
    const cpu = process.cpuUsage(cpu0);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    delay.disable();
    if (r.unchanged !== n || r.added + r.replaced + r.deleted + r.failed.length !== 0)
      throw new Error(`restart reconcile changed routes: ${JSON.stringify({ ...r, failed: r.failed.length })}`);
    phases.push({
      name: 'tern restart: open+reconcile',
      seconds: s,
      routesPerSec: n / s,
      maxLoopDelayMs: delay.max / 1e6,
      p99LoopDelayMs: delay.percentile(99) / 1e6,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      mainCpuSeconds: threadCpuSeconds() - main0,
      failed: 0,
      kernelRoutesAfter: verify('tern restart', proto, n, GW2).routes,
    });
  }
  await run('delete', undefined);
  await fib.close();
  process.stdout.write(JSON.stringify({ phases, resyncs, nexthopObjects: fib.usesNexthopObjects, rssMB: process.memoryUsage().rss / 1e6 }) + '\n');
}

interface TernRun {
  phases: Phase[];
  resyncs: number;
  nexthopObjects: boolean;
  rssMB: number;
}

/** Tern's side in a fresh namespace, in a child process (see inner()). */
function ternChild(n: number, opts: NetlinkFibOptions): TernRun {
  freshNs();
  const child = spawnSync(
    'ip',
    ['netns', 'exec', NS, process.execPath, '--expose-gc', __filename, '--inner', '--routes', String(n), '--options', JSON.stringify(opts)],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (child.status !== 0) throw new Error(`tern child failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as TernRun;
}

const PHASES = ['add', 'replace', 'delete'] as const;
interface Round {
  round: number;
  load: string;
  naive: Phase[];
  best: Phase[];
  tern: TernRun;
  ratios: Record<string, number>;
}

/**
 * Ratios of one round, Tern over each ip form, phase by phase (routes/s): within one round, so
 * both sides meet the same moment of the machine's load. Tern's delete is one RTM_DELNEXTHOP,
 * so "delete vs best" (`ip nexthop del`) is like for like and "delete vs naive" is not.
 */
function roundRatios(naive: Phase[], best: Phase[], tern: Phase[]): Record<string, number> {
  const t = (p: string): Phase => tern.find((x) => x.name === `tern ${p}`)!;
  const out: Record<string, number> = {};
  for (const p of PHASES) {
    const nv = naive.find((x) => x.name === `ip naive ${p}`);
    const b = best.find((x) => x.name === `ip best ${p}`);
    if (nv) out[`${p}VsNaive`] = t(p).routesPerSec / nv.routesPerSec;
    if (b) out[`${p}VsBest`] = t(p).routesPerSec / b.routesPerSec;
  }
  return out;
}

const fmt = (r: Phase): string =>
  `${r.name.padEnd(30)} ${r.seconds.toFixed(2).padStart(7)} s ${Math.round(r.routesPerSec).toString().padStart(8)} routes/s` +
  (r.cpuSeconds !== undefined ? `  cpu ${r.cpuSeconds.toFixed(1)} s` : '') +
  (r.maxLoopDelayMs !== undefined
    ? `  loop delay max ${r.maxLoopDelayMs.toFixed(1)} ms p99 ${r.p99LoopDelayMs!.toFixed(1)} ms, main thread cpu ${r.mainCpuSeconds!.toFixed(1)} s, failed ${r.failed}`
    : '') +
  `  kernel holds ${r.kernelRoutesAfter}`;

/**
 * `--rounds R` (default 3): ip naive, ip best and Tern alternate R times in one run, so all meet
 * the same moments of a shared machine's load; every ratio is per round, reported as the median
 * with min-max, and the event-loop maximum as the worst over every Tern phase of every round.
 */
export async function main(argv: string[]): Promise<number> {
  const arg = (name: string, dflt: number): number => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const n = arg('--routes', 1_000_000);
  const rounds = arg('--rounds', 3);
  const o = argv.indexOf('--options');
  const opts = (o >= 0 ? JSON.parse(argv[o + 1]) : {}) as NetlinkFibOptions;
  if (argv.includes('--inner')) {
    await inner(n, opts);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    console.error('bench fib: needs root (network namespaces)');
    return 2;
  }
  const rec = new ResultRecorder('fib', argv);
  const noIp = argv.includes('--no-ip');
  const results: Round[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const load = readFileSync('/proc/loadavg', 'utf8').trim();
      const naive = noIp ? [] : (freshNs(), ipBatch(n, 'naive'));
      const best = noIp ? [] : (freshNs(), ipBatch(n, 'best'));
      const tern = ternChild(n, opts);
      const ratios = roundRatios(naive, best, tern.phases);
      results.push({ round, load, naive, best, tern, ratios });
      console.log(`FIB benchmark round ${round}/${rounds}: ${n} /24 routes, namespace ${NS}, load average ${load}`);
      for (const r of [...naive, ...best, ...tern.phases]) console.log(fmt(r));
      console.log(
        `round ${round}: tern / ip: ${Object.entries(ratios)
          .map(([k, v]) => `${k} ${v.toFixed(2)}x`)
          .join(', ')}; resyncs ${tern.resyncs}; nexthop objects ${tern.nexthopObjects}; child RSS ${Math.round(tern.rssMB)} MB`,
      );
    }
    const ratioKeys = Object.keys(results[0]?.ratios ?? {});
    const ratios = Object.fromEntries(ratioKeys.map((k) => [k, spread(results.map((r) => r.ratios[k]))]));
    const worst = Math.max(...results.flatMap((r) => r.tern.phases.map((p) => p.maxLoopDelayMs ?? 0)));
    const rate = (pick: (r: Round) => Phase | undefined) => spread(results.map((r) => pick(r)?.routesPerSec ?? NaN));
    const summary = {
      ratios,
      ternAddRate: rate((r) => r.tern.phases[0]),
      ipNaiveAddRate: rate((r) => r.naive[0]),
      ipBestAddRate: rate((r) => r.best[0]),
      worstLoopDelayMs: worst,
    };
    console.log(`summary over ${rounds} rounds (medians of per-round ratios, min-max):`);
    for (const [k, v] of Object.entries(ratios)) console.log(`  tern ${k}: ${spreadText(v, 2, 'x')}`);
    console.log(
      `  add rate: tern ${spreadText(summary.ternAddRate, 0)}, ip naive ${spreadText(summary.ipNaiveAddRate, 0)}, ip best ${spreadText(summary.ipBestAddRate, 0)}; worst event-loop delay ${worst.toFixed(1)} ms`,
    );
    const ratioTarget = (key: string, what: string): TargetVerdict => {
      const s = ratios[key];
      return {
        name: `add ${what}`,
        goal: '>= 3x the add rate, median of rounds (issue 5)',
        measured: s ? spreadText(s, 2, 'x') : 'not run (--no-ip)',
        met: s && s.n > 0 ? s.median >= 3 : null,
      };
    };
    const targets: TargetVerdict[] = [
      ratioTarget('addVsBest', 'vs ip -batch best form (nexthop objects)'),
      ratioTarget('addVsNaive', 'vs ip -batch naive form (inline via)'),
      { name: 'event loop', goal: 'never blocked > 50 ms in any Tern phase (issue 5)', measured: `worst ${worst.toFixed(1)} ms`, met: worst <= 50 },
    ];
    // Issue 18: a comparison is a median of at least 3 rounds, or it is not published.
    const few = rounds < 3 && !noIp ? [`--rounds ${rounds}: a comparison needs the median of at least 3 rounds`] : [];
    rec.finish({ routes: n, rounds: results, summary }, targets, { suffix: `-n${n}`, problems: few });
    return 0;
  } finally {
    spawnSync('ip', ['netns', 'del', NS]);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (c) => process.exit(c),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
