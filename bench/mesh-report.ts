// What one mesh-bench run found (bench/mesh.ts, issue 18): the record kept in the result JSON,
// and the text report printed for it. Problems are ordered causes first (a dead daemon or a full
// ARP table explains the sessions and routes that follow).
import type { Spread } from './result.js';

export interface ChangeFigures {
  /** Left out of the pooled figures. */
  warmup: boolean;
  prefix: string;
  owner: string;
  /** Per receiving node: ms from the write until its kernel had the route (missing = never within the wait). */
  ms: number[];
  missing: string[];
  p50: number;
  p99: number;
  max: number;
}

export interface MeshRun {
  nodes: number;
  sessionsPlanned: number;
  /** Build of the namespaces and veths (s). */
  setupSeconds: number;
  /** Spawn of the first ternd until every kernel had every other node's block (s); null if never. */
  convergedSeconds: number | null;
  /** Per node: seconds until its own kernel was complete. */
  nodeCompleteSeconds: Spread;
  /** Per node: seconds from the start until all its N-1 sessions were Established (its log), and until its kernel got its first remote route. */
  allSessionsUpSeconds: Spread;
  firstRouteSeconds: Spread;
  sessionsEstablished: number;
  /** Per node: `session ... established` log lines beyond N-1 (a session that came up again). */
  reestablished: number;
  /** `session ... down` log lines, by reason, before and after convergence. */
  downsBeforeConverged: Record<string, number>;
  downsAfterConverged: Record<string, number>;
  routesLostAfterConverged: number;
  /** Namespaces whose `ip route show proto 201` disagrees with what they must hold. */
  kernelMismatches: string[];
  changes: ChangeFigures[];
  changePooled: { p50: number; p99: number; max: number } | null;
  /** Each node's own timing (`config reloaded` ms, cpuMs) of applying each model the measured changes caused; the YAML parse before it (loader thread) is not in it. */
  reloadMs: Spread;
  /** Each node's read of the changed file (read, YAML parse, validation in its loader thread), wall ms, from its own log. */
  loadMs: Spread;
  reloadCpuMs: Spread;
  perNode: { rssMb: Spread; hwmMb: Spread; cpuToConvergeSeconds: Spread; cpuTotalSeconds: Spread; threads: Spread; fds: Spread; fdLimit: number };
  rssSumMb: number;
  memAvailableMb: { before: number; after: number; lowest: number };
  /** ARP entries in the node namespaces (one kernel table for all), its limits, and kernel overflow messages during the run. */
  neighbours: { total: number; perNode: Spread; gcThresh: number[]; tableFulls: number; kernelEntries: number };
  /** Kernel or process limits reached without a failure seen (yet). */
  limits: string[];
  warnings: Record<string, number>;
  exited: string[];
  problems: string[];
  staticArp: boolean;
}

export const CAUSES = ['ternd exited', 'kernel ARP table full', 'memory:', 'open files:', 'control socket'];
export const rank = (p: string): number => {
  const i = CAUSES.findIndex((c) => p.startsWith(c));
  return i < 0 ? CAUSES.length : i;
};

export const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};
export const r1 = (x: number): number => Math.round(x * 10) / 10;
export const bump = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

export const s1 = (s: Spread, unit: string): string =>
  s.n ? `median ${s.median.toFixed(1)}${unit} (min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)})` : 'n/a';

export function report(r: MeshRun, log: (s: string) => void): void {
  log(`--- ${r.nodes} nodes, ${r.sessionsPlanned} sessions`);
  log(`  converged (every kernel every route): ${r.convergedSeconds === null ? 'NO' : `${r.convergedSeconds} s`}; per node ${s1(r.nodeCompleteSeconds, ' s')}`);
  log(`  per node: all sessions up ${s1(r.allSessionsUpSeconds, ' s')}; first remote route ${s1(r.firstRouteSeconds, ' s')}`);
  log(`  sessions Established at the end: ${r.sessionsEstablished} of ${r.sessionsPlanned}; re-established ${r.reestablished}`);
  if (r.changePooled)
    log(
      `  block change to all ${r.nodes - 1} others (${r.changes.filter((c) => !c.warmup).length} changes pooled, after warm-up): p50 ${r.changePooled.p50} ms, p99 ${r.changePooled.p99} ms, max ${r.changePooled.max} ms`,
    );
  log(`  every node re-reads the file on every change: read+parse+validate ${s1(r.loadMs, ' ms')} wall (${r.loadMs.n} reads)`);
  log(
    `  every node reloads on every change: applying the parsed model (ternd's 'config reloaded' timing, the parse not included) ${s1(r.reloadMs, ' ms')} wall, ${s1(r.reloadCpuMs, ' ms')} CPU (${r.reloadCpuMs.n} reloads)`,
  );
  log(
    `  per node RSS ${s1(r.perNode.rssMb, ' MB')}, peak ${s1(r.perNode.hwmMb, ' MB')}; sum of RSS ${r.rssSumMb} MB; MemAvailable ${r.memAvailableMb.before} -> lowest ${r.memAvailableMb.lowest} MiB`,
  );
  log(`  per node CPU until converged ${s1(r.perNode.cpuToConvergeSeconds, ' s')}, in total ${s1(r.perNode.cpuTotalSeconds, ' s')}`);
  log(
    `  per node threads ${s1(r.perNode.threads, '')}, open files ${s1(r.perNode.fds, '')} (limit ${r.perNode.fdLimit}); ARP entries ${r.neighbours.total} in all (gc_thresh ${r.neighbours.gcThresh.join('/')}), table full ${r.neighbours.tableFulls} times`,
  );
  if (r.limits.length) log(`  limits reached: ${r.limits.join(' | ')}`);
  if (Object.keys(r.downsBeforeConverged).length) log(`  session downs before convergence: ${JSON.stringify(r.downsBeforeConverged)}`);
  const w = Object.entries(r.warnings).sort((a, b) => b[1] - a[1]);
  if (w.length)
    log(
      `  ternd warnings: ${w
        .slice(0, 5)
        .map(([m, c]) => `${c}x ${m}`)
        .join(' | ')}`,
    );
  log(r.problems.length ? `  PROBLEMS: ${r.problems.join(' | ')}` : '  no problem seen');
}
