// `npm run bench -- ingest [--n N] [--k K] [--family ipv4|ipv6] [--targets bird,frr,gobgp,tern]
//  [--fib none|kernel]`
// Runs the targets round-robin (--repeat, default 3), prints the comparison table and writes the
// result through bench/result.ts. Every ratio is to BIRD's time in the same round of the same
// run, reported as the median of the rounds with min-max. A watcher peer times the target's
// KEEPALIVEs throughout (bench/ingest/watcher.ts); --fib kernel runs each target in its own
// namespace with its routes installed (bench/ingest/kernel.ts).

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResultRecorder } from '../result.js';
import { INJECTOR_AS, type RunParams, type TargetResult, runTarget } from './harness.js';
import { KERNEL_ADDRS } from './kernel.js';
import { formatTable, type IngestReport, ingestTargets, ratiosToBird, summarize } from './report.js';
import { TARGETS } from './targets.js';
import { type BenchFamily, buildWorkload } from './workload.js';

export interface IngestOptions extends RunParams {
  targets: string[];
  /** Runs per target, round-robin over the targets; the median run is reported. */
  repeat: number;
  /** Write the result (bench/results, or os.tmpdir() for an unpublishable build); false: --no-write. */
  write: boolean;
  /** Run inside a private network namespace (IPv6 sessions for --family ipv6, port 179). */
  netns: boolean;
  /** --port was given (else the default depends on netns). */
  portGiven: boolean;
  /** --report FILE: also write the bench's data (IngestReport) there, for tests and scripts. */
  reportFile?: string;
}

/** Set in the environment of the harness re-started inside its namespace. */
const NETNS_ENV = 'TBENCH_INGEST_NETNS';
const V4_ADDRS = { injector: '127.0.1.1', target: '127.0.1.2', monitor: '127.0.1.3' };
const V6_ADDRS = { injector: '2001:db8::1', target: '2001:db8::2', monitor: '2001:db8::3' };
const WATCHER_ADDR = { ipv4: '127.0.1.4', ipv6: '2001:db8::4' };
const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

export { formatTable, type IngestReport, ingestTargets, ratiosToBird, summarize };

const USAGE = `usage: ingest [--n 1000000] [--k 100000] [--family ipv4|ipv6] [--targets bird,frr,gobgp,tern]
       [--fib none|kernel] [--no-watcher]
       [--repeat 3] [--seed 1] [--port 179 in netns, else 1790] [--timeout 300]
       [--netns | --no-netns] [--keep] [--no-write] [--report FILE]
  --fib kernel: each target in its own network namespace (root), every route installed into
    table 100 there; BIRD exports to its kernel protocol, ternd runs with --fib kernel; FRR and
    GoBGP are not available in this mode. Done = the monitor holds N prefixes and the kernel
    table N routes; the table is dumped and checked after every run.
  The watcher: a third peer with Hold Time 3 s that gets no routes and timestamps every message
    from the target; the worst gap during the run, less hold/3, is the keepalive lateness.`;

export function parseIngestArgs(argv: string[]): IngestOptions {
  const o: IngestOptions = {
    family: 'ipv4',
    n: 1_000_000,
    k: 100_000,
    seed: 1,
    port: 1790,
    ...V4_ADDRS,
    routerIds: { ...V4_ADDRS, watcher: WATCHER_ADDR.ipv4 },
    timeoutMs: 300_000,
    keepDir: false,
    fib: 'none',
    watcher: WATCHER_ADDR.ipv4,
    targets: ['bird', 'frr', 'gobgp', 'tern'],
    repeat: 3,
    netns: isRoot() && (fs.existsSync('/usr/bin/ip') || fs.existsSync('/sbin/ip') || fs.existsSync('/usr/sbin/ip')),
    portGiven: false,
    write: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return x;
    };
    const num = (): number => {
      const x = Number(v().replace(/_/g, ''));
      if (!Number.isInteger(x) || x < 0) throw new Error(`${a} needs a non-negative integer\n${USAGE}`);
      return x;
    };
    switch (a) {
      case '--n':
        o.n = num();
        break;
      case '--k':
        o.k = num();
        break;
      case '--seed':
        o.seed = num();
        break;
      case '--repeat':
        o.repeat = Math.max(1, num());
        break;
      case '--port':
        o.port = num();
        o.portGiven = true;
        break;
      case '--netns':
        o.netns = true;
        break;
      case '--no-netns':
        o.netns = false;
        break;
      case '--timeout':
        o.timeoutMs = num() * 1000;
        break;
      case '--keep':
        o.keepDir = true;
        break;
      case '--fib': {
        const f = v();
        if (f !== 'none' && f !== 'kernel') throw new Error(`--fib must be none or kernel\n${USAGE}`);
        o.fib = f;
        break;
      }
      case '--no-watcher':
        o.watcher = null;
        break;
      case '--report':
        o.reportFile = v();
        break;
      case '--no-write':
        o.write = false;
        break;
      case '--family': {
        const f = v();
        if (f !== 'ipv4' && f !== 'ipv6') throw new Error(`--family must be ipv4 or ipv6\n${USAGE}`);
        o.family = f;
        break;
      }
      case '--targets': {
        o.targets = v()
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s);
        const bad = o.targets.filter((x) => !(x in TARGETS));
        if (bad.length) throw new Error(`unknown target(s) ${bad.join(',')}; known: ${Object.keys(TARGETS).join(',')}`);
        break;
      }
      case '-h':
      case '--help':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
  }
  if (process.env[NETNS_ENV]) o.netns = true; // we are the copy inside the namespace
  if (o.fib === 'kernel' && !o.netns) throw new Error(`--fib kernel runs each target in a network namespace: it needs root and --netns\n${USAGE}`);
  if (o.netns) {
    if (!o.portGiven) o.port = 179;
    if (o.family === 'ipv6') Object.assign(o, V6_ADDRS);
  }
  const watcher = o.watcher !== null;
  if (o.fib === 'kernel') {
    // The peers reach the target's namespace over a veth pair (bench/ingest/kernel.ts).
    const a = KERNEL_ADDRS[o.family];
    Object.assign(o, { injector: a.injector, target: a.target, monitor: a.monitor });
    o.watcher = a.watcher;
    o.routerIds = { injector: '198.18.0.1', target: '198.18.0.2', monitor: '198.18.0.3', watcher: '198.18.0.4' };
  } else {
    o.watcher = o.target.includes(':') ? WATCHER_ADDR.ipv6 : WATCHER_ADDR.ipv4;
  }
  if (!watcher) o.watcher = null;
  return o;
}

/**
 * The next hop the injector announces. FRR and GoBGP reject 127/8 next hops as martian, so it is
 * a lab address from 198.18.0.0/15 (RFC 2544). IPv6: a global address from 2001:db8::/32
 * (RFC 3849); BIRD withdraws an IPv4-mapped next hop on an IPv6 route unless RFC 8950 extended
 * next hop is on. Without a FIB both exist only inside BGP messages on loopback; with --fib
 * kernel they are the injector's own address on the veth (KERNEL_ADDRS), directly connected in
 * the target's namespace, so the routes resolve and go into its kernel table.
 */
export const NEXT_HOP_V4 = '198.18.0.1';
export const NEXT_HOP_V6 = '2001:db8:ffff::1';
export function injectorNextHop(family: BenchFamily): Buffer {
  if (family === 'ipv4') return Buffer.from(NEXT_HOP_V4.split('.').map(Number));
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0x20010db8, 0);
  b.writeUInt16BE(0xffff, 4);
  b[15] = 1;
  return b;
}

export async function runIngest(o: IngestOptions, log: (s: string) => void = console.log): Promise<IngestReport> {
  const w = buildWorkload({
    family: o.family,
    prefixes: o.n,
    attrSets: o.k,
    seed: o.seed,
    injectorAs: INJECTOR_AS,
    nextHop: injectorNextHop(o.family),
  });
  log(`ingest: ${o.family} N=${o.n} K=${o.k} seed=${o.seed}: ${w.updates.length} UPDATEs, ${(w.bytes / 1e6).toFixed(1)} MB`);
  const runs = new Map<string, TargetResult[]>(o.targets.map((t) => [t, []]));
  // Round-robin, so that a disturbance on a shared machine spreads over all targets.
  for (let rep = 0; rep < o.repeat; rep++) {
    for (const name of o.targets) {
      const prev = runs.get(name) ?? [];
      if (prev.some((r) => r.status !== 'ok')) continue; // unavailable or failed: once is enough
      log(`ingest: running ${name}${o.repeat > 1 ? ` (${rep + 1}/${o.repeat})` : ''} ...`);
      const r = await runTarget(TARGETS[name], o, w);
      log(`ingest: ${name}: ${r.status}${r.seconds !== undefined ? ` ${r.seconds.toFixed(2)} s` : ''}${r.reason ? ` (${r.reason})` : ''}`);
      prev.push(r);
    }
  }
  const results = o.targets.map((t) => summarize(runs.get(t) ?? []));
  return {
    date: new Date().toISOString(),
    repeat: o.repeat,
    params: {
      family: o.family,
      n: o.n,
      k: o.k,
      seed: o.seed,
      updates: w.updates.length,
      updateBytes: w.bytes,
      transport: `${o.target.includes(':') ? 'ipv6' : 'ipv4'} port ${o.port}`,
      netns: o.netns,
      fib: o.fib,
      watcher: o.watcher !== null,
    },
    results,
    ratiosToBird: ratiosToBird(runs),
  };
}

/**
 * Re-runs this harness inside a fresh network namespace (`tbench-ingest-<pid>`): its own
 * loopback with 127.0.1.x and 2001:db8::1-3, so port 179 and the addresses collide with nothing
 * on the host, and IPv6 sessions run over IPv6 as Calico (and so Tern) requires.
 */
async function runInNetns(argv: string[]): Promise<number> {
  const ns = `tbench-ingest-${process.pid}`;
  const ip = (...a: string[]): void => void execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });
  ip('netns', 'add', ns);
  try {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    for (const a of [...Object.values(V6_ADDRS), WATCHER_ADDR.ipv6]) ip('-n', ns, 'addr', 'add', `${a}/128`, 'dev', 'lo', 'nodad');
    const runJs = path.resolve(__dirname, '..', 'run.js');
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, runJs, 'ingest', ...argv], {
      stdio: 'inherit',
      env: { ...process.env, [NETNS_ENV]: ns },
    });
    const forward = (sig: NodeJS.Signals): void => {
      if (child.pid !== undefined) process.kill(child.pid, sig);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? 1)));
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    return code;
  } finally {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  }
}

/** Entry point used by bench/run.ts. Returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let o: IngestOptions;
  try {
    o = parseIngestArgs(argv);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  if (o.netns && !process.env[NETNS_ENV]) return runInNetns(argv);
  const rec = new ResultRecorder('ingest', argv);
  const rep = await runIngest(o);
  if (o.reportFile) fs.writeFileSync(o.reportFile, `${JSON.stringify(rep, null, 1)}\n`);
  console.log('');
  console.log(formatTable(rep));
  for (const r of rep.results) if (r.status !== 'ok') console.log(`  ${r.target}: ${r.status}: ${r.reason ?? ''}`);
  // Issue 18: a comparison is a median of at least 3 rounds, or it is not published.
  const few = o.repeat < 3 && o.targets.length > 1 ? [`--repeat ${o.repeat}: a comparison needs the median of at least 3 rounds`] : [];
  rec.finish(rep, ingestTargets(rep), { suffix: `-${o.family}${o.fib === 'kernel' ? '-kernel' : ''}-n${o.n}-k${o.k}`, noWrite: !o.write, problems: few });
  return rep.results.some((r) => r.status === 'failed') ? 1 : 0;
}
