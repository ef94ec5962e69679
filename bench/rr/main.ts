// `npm run bench -- rr --clients N [--targets tern,bird] [--rounds R] [--changes C] [--workers W]`
// The route-reflector bench (issue 18): N iBGP clients of one reflector, 4 /26 blocks each; time
// from the first connect until every client holds every other client's blocks, the reflector's
// peak RSS, and how long one client's block change takes to reach all the others. Targets run
// round-robin, R rounds; every ratio is to BIRD's time in the same round of the same run.

import { ResultRecorder, spread, spreadText, type Spread, type TargetVerdict } from '../result.js';
import { type RrParams, type RrRunResult, pct, runRr } from './harness.js';
import { DEFAULT_PORT, MAX_CLIENTS } from './layout.js';
import { RR_TARGETS } from './targets.js';

export interface RrOptions extends RrParams {
  targets: string[];
  rounds: number;
  write: boolean;
}

const USAGE = `usage: rr --clients N [--targets tern,bird] [--rounds 1] [--changes 20] [--blocks 4]
       [--workers 2] [--concurrency 64] [--progress] [--port ${DEFAULT_PORT}] [--timeout 300] [--keep] [--no-write]`;

export function parseRrArgs(argv: string[]): RrOptions {
  const o: RrOptions = {
    clients: 1000,
    blocksPerClient: 4,
    changes: 20,
    workers: 2,
    concurrency: 64,
    port: DEFAULT_PORT,
    timeoutMs: 300_000,
    keepDir: false,
    targets: ['tern', 'bird'],
    rounds: 1,
    write: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (): number => {
      const x = Number((argv[++i] ?? '').replace(/_/g, ''));
      if (!Number.isInteger(x) || x < 0) throw new Error(`${a} needs a non-negative integer\n${USAGE}`);
      return x;
    };
    switch (a) {
      case '--clients':
        o.clients = num();
        break;
      case '--blocks':
        o.blocksPerClient = Math.max(1, num());
        break;
      case '--changes':
        o.changes = num();
        break;
      case '--workers':
        o.workers = Math.max(1, num());
        break;
      case '--concurrency':
        o.concurrency = Math.max(1, num());
        break;
      case '--rounds':
        o.rounds = Math.max(1, num());
        break;
      case '--port':
        o.port = num();
        break;
      case '--timeout':
        o.timeoutMs = num() * 1000;
        break;
      case '--progress':
        o.progress = true;
        break;
      case '--keep':
        o.keepDir = true;
        break;
      case '--no-write':
        o.write = false;
        break;
      case '--targets':
        o.targets = (argv[++i] ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s);
        for (const t of o.targets) if (!(t in RR_TARGETS)) throw new Error(`unknown target ${t}; known: ${Object.keys(RR_TARGETS).join(',')}`);
        break;
      default:
        throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
  }
  if (o.clients < 2 || o.clients > MAX_CLIENTS) throw new Error(`--clients must be 2..${MAX_CLIENTS}\n${USAGE}`);
  if (o.clients * o.blocksPerClient > 65536) throw new Error('clients x blocks must fit 10.64.0.0/10 (65,536 /26s)');
  return o;
}

export interface RrReport {
  params: { clients: number; blocksPerClient: number; changes: number; workers: number; concurrency: number; rounds: number };
  runs: RrRun[];
  summary: Record<string, { seconds: Spread; peakRssMB: Spread; changeAllMs: { p50: number; p99: number; max: number; n: number } }>;
  /** tern seconds / bird seconds per round where both completed (a "ratio" key: docs/benchmarks.md may cite it). */
  ternToBirdRatio: number[];
}

const MB = 2 ** 20;

export type RrRun = RrRunResult & { round: number };

export function summarize(o: RrOptions, runs: RrRun[]): RrReport {
  const summary: RrReport['summary'] = {};
  for (const t of o.targets) {
    const ok = runs.filter((r) => r.target === t && r.status === 'ok');
    const all = ok.flatMap((r) => (r.changes ?? []).map((c) => c.allMs));
    summary[t] = {
      seconds: spread(ok.map((r) => r.seconds ?? NaN)),
      peakRssMB: spread(ok.map((r) => (r.peakRssBytes ?? NaN) / MB)),
      changeAllMs: { p50: pct(all, 50), p99: pct(all, 99), max: all.length ? Math.max(...all) : NaN, n: all.length },
    };
  }
  const ternToBirdRatio: number[] = [];
  for (let round = 0; round < o.rounds; round++) {
    const of = (t: string) => runs.find((r) => r.target === t && r.round === round);
    const a = of('tern');
    const b = of('bird');
    if (a?.status === 'ok' && b?.status === 'ok' && a.seconds && b.seconds) ternToBirdRatio.push(a.seconds / b.seconds);
  }
  return {
    params: { clients: o.clients, blocksPerClient: o.blocksPerClient, changes: o.changes, workers: o.workers, concurrency: o.concurrency, rounds: o.rounds },
    runs,
    summary,
    ternToBirdRatio,
  };
}

/** Issue 18's route-reflector targets, judged on this run only. */
export function verdicts(o: RrOptions, rep: RrReport): TargetVerdict[] {
  const t = rep.summary.tern;
  const ternOk = t !== undefined && t.seconds.n > 0;
  const out: TargetVerdict[] = [];
  const at5000 = o.clients === 5000;
  out.push({
    name: 'rr 5,000 clients: time and peak RSS',
    goal: 'under 10 s and 400 MB at 5,000 clients',
    measured: !at5000
      ? `not run (--clients ${o.clients})`
      : ternOk
        ? `${spreadText(t.seconds, 2, ' s')}, peak RSS ${spreadText(t.peakRssMB, 0, ' MB')}`
        : 'tern did not complete',
    met: !at5000 || !o.targets.includes('tern') ? null : ternOk && t.seconds.max < 10 && t.peakRssMB.max < 400,
  });
  const ratio = spread(rep.ternToBirdRatio);
  const at1000 = o.clients === 1000 && o.targets.includes('tern') && o.targets.includes('bird');
  out.push({
    name: 'rr 1,000 clients: 2x faster than BIRD (same run)',
    goal: 'tern time / BIRD time at most 0.5 in every round',
    measured: !at1000
      ? `not run (--clients ${o.clients}, targets ${o.targets.join(',')})`
      : ratio.n
        ? `tern/BIRD ${spreadText(ratio, 3)}`
        : 'no round where both completed',
    met: !at1000 ? null : ratio.n > 0 && ratio.n === o.rounds && ratio.max <= 0.5,
  });
  const c = t?.changeAllMs;
  out.push({
    name: 'rr change latency to every other client',
    goal: 'a block change reaches all 4,999 others in under 500 ms (5,000 clients; p99 and max)',
    measured: c?.n
      ? `${c.n} changes at ${o.clients} clients: p50 ${c.p50.toFixed(1)} ms, p99 ${c.p99.toFixed(1)} ms, max ${c.max.toFixed(1)} ms`
      : 'no change measured',
    met: !at5000 || !c || c.n === 0 ? null : c.max < 500,
  });
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const rec = new ResultRecorder('rr', argv);
  let o: RrOptions;
  try {
    o = parseRrArgs(argv);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const runs: RrRun[] = [];
  console.log(
    `route reflector: ${o.clients} clients x ${o.blocksPerClient} blocks, targets ${o.targets.join(',')}, ${o.rounds} round(s), ${o.workers} harness workers`,
  );
  for (let round = 0; round < o.rounds; round++)
    for (const name of o.targets) {
      const r = await runRr(RR_TARGETS[name], { ...o, log: (s) => console.log(s) });
      runs.push({ ...r, round });
      if (r.status !== 'ok') console.log(`  ${name}: ${r.status}: ${r.reason}`);
      else {
        const ch = (r.changes ?? []).map((c) => c.allMs);
        console.log(
          `  ${name} round ${round + 1}: ${r.seconds?.toFixed(2)} s (sessions up ${r.connectSeconds?.toFixed(2)} s), peak RSS ${((r.peakRssBytes ?? 0) / MB).toFixed(0)} MB, reflector CPU ${r.cpuSeconds?.toFixed(2)} s, harness CPU ${r.harnessCpuSeconds?.toFixed(2)} s; changes p50 ${pct(ch, 50).toFixed(1)} ms max ${Math.max(...ch).toFixed(1)} ms; ${r.stats?.nlri} NLRI, ${r.stats?.duplicates} duplicates, ${r.stats?.foreign} foreign, ${r.stats?.wrongNextHop} wrong next hops; ${r.listenOverflows} listen overflows on the machine`,
        );
      }
    }
  const rep = summarize(o, runs);
  const problems: string[] = [];
  if (o.rounds < 3) problems.push(`${o.rounds} round(s): a published figure needs the median of at least 3`);
  for (const r of runs) {
    if (r.status === 'failed') problems.push(`${r.target} round ${r.round + 1} failed`);
    if (r.stats && (r.stats.wrongNextHop > 0 || r.stats.foreign > 0))
      problems.push(`${r.target} round ${r.round + 1}: ${r.stats.wrongNextHop} wrong next hops, ${r.stats.foreign} foreign NLRI`);
  }
  rec.finish(rep, verdicts(o, rep), { suffix: `-n${o.clients}`, noWrite: !o.write, problems });
  return runs.some((r) => r.status === 'failed') ? 1 : 0;
}
