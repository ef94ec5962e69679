// The ingest bench's report: rounds summarised per target, ratios to BIRD within one round, the
// table it prints and issue 18's verdicts (met / MISSED / not measured).

import { spread, spreadText, type Spread, type TargetVerdict } from '../result.js';
import type { TargetResult } from './harness.js';
import type { BenchFamily } from './workload.js';

/** The bench's data; build, machine and load are recorded by bench/result.ts around it. */
export interface IngestReport {
  date: string;
  repeat: number;
  params: {
    family: BenchFamily;
    n: number;
    k: number;
    seed: number;
    updates: number;
    updateBytes: number;
    transport: string;
    netns: boolean;
    /** `kernel`: every target in its own namespace, routes installed; absent in older results. */
    fib?: 'none' | 'kernel';
    /** The watcher peer ran (bench/ingest/watcher.ts). */
    watcher?: boolean;
  };
  results: TargetResult[];
  /** Per target: its time / BIRD's time in the same round, over the rounds where both succeeded. */
  ratiosToBird: Record<string, { perRound: number[]; spread: Spread }>;
}

/** Round i of a target against round i of BIRD: the two ran back to back, under the same load. */
export function ratiosToBird(runs: Map<string, TargetResult[]>): IngestReport['ratiosToBird'] {
  const bird = runs.get('bird') ?? [];
  const out: IngestReport['ratiosToBird'] = {};
  for (const [name, rs] of runs) {
    if (name === 'bird') continue;
    const perRound: number[] = [];
    rs.forEach((r, i) => {
      const b = bird[i];
      if (r.status === 'ok' && b?.status === 'ok' && r.seconds !== undefined && b.seconds) perRound.push(r.seconds / b.seconds);
    });
    if (perRound.length) out[name] = { perRound, spread: spread(perRound) };
  }
  return out;
}

/**
 * The median run by time (the failed run if any failed), with every run's time, peak RSS and
 * keepalive lateness attached (the verdicts judge the worst run for RSS and lateness).
 */
export function summarize(runs: TargetResult[]): TargetResult {
  const bad = runs.find((r) => r.status !== 'ok');
  const ok = runs.filter((r) => r.status === 'ok').sort((a, b) => (a.seconds ?? 0) - (b.seconds ?? 0));
  const allSeconds = ok.map((r) => r.seconds ?? 0);
  const allPeakRssBytes = ok.map((r) => r.peakRssBytes ?? 0);
  const lateness = ok.map((r) => r.keepalive?.latenessMs).filter((x): x is number => typeof x === 'number');
  const pick = bad ?? ok[(ok.length - 1) >> 1];
  if (runs.length <= 1) return pick;
  return { ...pick, allSeconds, allPeakRssBytes, ...(lateness.length ? { allKeepaliveLatenessMs: lateness } : {}) };
}

/** The worst keepalive lateness over a target's runs, ms, or null when none was measured. */
export function worstLateness(r: TargetResult | undefined): number | null {
  if (r?.status !== 'ok') return null;
  const all = r.allKeepaliveLatenessMs ?? (typeof r.keepalive?.latenessMs === 'number' ? [r.keepalive.latenessMs] : []);
  return all.length ? Math.max(...all) : null;
}

export function formatTable(rep: IngestReport): string {
  const kernel = rep.params.fib === 'kernel';
  const rows = [
    [
      'target',
      'seconds (median, min-max)',
      ...(kernel ? ['monitor s', 'kernel s'] : []),
      'peak RSS MB',
      'CPU s',
      'ratio to BIRD (median of rounds, min-max)',
      'keepalive worst gap / late ms',
      'loop lag max ms',
      'version',
    ],
  ];
  const last = rows[0].length - 1;
  for (const r of rep.results) {
    if (r.status !== 'ok' || r.seconds === undefined) {
      rows.push([r.target, r.status, ...rows[0].slice(2, last).map(() => '-'), r.version]);
      continue;
    }
    const all = r.allSeconds ?? [r.seconds];
    const ratio = r.target === 'bird' ? '1x' : rep.ratiosToBird[r.target] ? spreadText(rep.ratiosToBird[r.target].spread, 2, 'x') : 'n/a';
    const ka = r.keepalive;
    const worst = worstLateness(r);
    rows.push([
      r.target,
      all.length > 1 ? `${r.seconds.toFixed(2)} (${Math.min(...all).toFixed(2)}-${Math.max(...all).toFixed(2)})` : r.seconds.toFixed(2),
      ...(kernel ? [(r.monitorSeconds ?? NaN).toFixed(2), (r.kernelSeconds ?? NaN).toFixed(2)] : []),
      ((r.peakRssBytes ?? 0) / 2 ** 20).toFixed(0),
      (r.cpuSeconds ?? 0).toFixed(2),
      ratio,
      ka && ka.worstGapMs !== null
        ? `${ka.worstGapMs.toFixed(0)} / ${worst?.toFixed(0) ?? '?'}${(r.allKeepaliveLatenessMs?.length ?? 0) > 1 ? ' (worst run)' : ''}`
        : '-',
      !r.eventLoop ? '-' : r.eventLoop.maxSeconds === 0 ? 'no sample' : (Math.max(0, r.eventLoop.maxSeconds - r.eventLoop.resolutionSeconds) * 1000).toFixed(0),
      r.version,
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const head = `ingest ${rep.params.family} N=${rep.params.n} K=${rep.params.k} --fib ${rep.params.fib ?? 'none'} (${rep.date})`;
  return [head, ...rows.map((r) => r.map((x, c) => (c === 0 || c === last ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  '))].join('\n');
}

/**
 * Issue 18's ingest targets, judged on this run: Tern within 1.5x BIRD's time (median of the
 * per-round ratios) and under 250 MB peak RSS (the worst of Tern's runs), for the FIB mode this
 * run used (the other mode is `not measured` here); and no KEEPALIVE of ternd's to the watcher
 * more than 1 s late (the worst of Tern's runs): "during the 1M ingest" with --fib none,
 * "during the 1M FIB load inside ternd" with --fib kernel.
 */
export function ingestTargets(rep: IngestReport): TargetVerdict[] {
  const tern = rep.results.find((r) => r.target === 'tern');
  const ratio = rep.ratiosToBird.tern?.spread;
  const peaks = tern?.allPeakRssBytes ?? (tern?.peakRssBytes !== undefined ? [tern.peakRssBytes] : []);
  const worstMiB = peaks.length ? Math.max(...peaks) / 2 ** 20 : NaN;
  const fam = `${rep.params.family} ${rep.params.n}/${rep.params.k}`;
  const kernel = rep.params.fib === 'kernel';
  const mode = kernel ? ' with --fib kernel' : '';
  const late = worstLateness(tern);
  // A watcher session the target dropped (e.g. its hold timer fired while its loop was blocked)
  // is worse than a late KEEPALIVE: MISSED, whatever the gaps were.
  const dropped = tern?.status === 'ok' ? tern.keepalive?.failure : null;
  const measured: TargetVerdict[] = [
    {
      name: `ingest time ${fam}${mode}`,
      goal: kernel ? 'within 1.5x BIRD exporting to its kernel protocol, same run' : 'within 1.5x BIRD, same run',
      measured: ratio ? spreadText(ratio, 2, 'x') : 'not measured (needs bird and tern)',
      met: ratio && ratio.n > 0 ? ratio.median <= 1.5 : null,
    },
    {
      name: `ingest peak RSS ${fam}${mode}`,
      goal: 'under 250 MB',
      measured: tern?.status === 'ok' ? `${worstMiB.toFixed(0)} MiB (worst of ${peaks.length} runs)` : 'not measured',
      met: tern?.status === 'ok' ? worstMiB < 250 : null,
    },
  ];
  const other: TargetVerdict = kernel
    ? { name: `ingest time and peak RSS ${fam} with --fib none`, goal: 'within 1.5x BIRD, under 250 MB', measured: 'this run used --fib kernel', met: null }
    : {
        name: `ingest with --fib kernel ${fam}`,
        goal: 'the same, routes really installed',
        measured: 'this run used --fib none (run with --fib kernel)',
        met: null,
      };
  const keepalive: TargetVerdict = {
    name: `keepalives under load: ${kernel ? `the ${fam} FIB load inside ternd` : `during the ${fam} ingest`}`,
    goal: 'no KEEPALIVE to a third peer late by more than 1 s',
    measured: dropped
      ? `the watcher's session failed during the run: ${dropped}`
      : late === null
        ? rep.params.watcher === false
          ? 'not measured (--no-watcher)'
          : 'not measured (no watcher result for tern)'
        : `worst lateness ${late.toFixed(0)} ms (worst gap ${tern?.keepalive?.worstGapMs?.toFixed(0) ?? '?'} ms of the median run; interval ${tern?.keepalive?.expectedIntervalMs.toFixed(0) ?? '?'} ms)`,
    met: dropped ? false : late === null ? null : late <= 1000,
  };
  return [...measured, other, keepalive];
}
