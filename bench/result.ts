// The one result writer every bench uses (issue 18: numbers a reader can trust). A result names
// the build that ran (the commit dist/build-info.json recorded when `npm run build` made this
// dist, not the tree's state after the run), the machine and its load before and after, and
// every target as met or MISSED. A result of a dirty or unknown build is marked
// `publishable: false` and written outside the repository (os.tmpdir()), so it can neither be
// committed by accident nor cited by docs/benchmarks.md (test/bench/benchmarks-doc.test.ts).
// It reads dist/build-info.json itself (the format src/build-info.ts writes) and imports nothing
// from the daemon, so bench/ingest keeps sharing no code with what it measures.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const RESULT_SCHEMA = 'tern-bench-result/1';
/** The package root: this file compiles to dist/bench/result.js. */
export const ROOT = path.resolve(__dirname, '..', '..');

export interface BuildStamp {
  version: string;
  /** Full commit id recorded at build time, or 'unknown'. */
  commit: string;
  /** The tree had uncommitted changes to tracked files when dist/ was built. */
  dirty: boolean;
  /** When dist/build-info.json was written. */
  builtAt: string | null;
  node: string;
}

export interface BusyProcess {
  pid: number;
  comm: string;
  cpuSeconds: number;
  shareOfCore: number;
}

export interface MachineStamp {
  nproc: number;
  cpuModel: string;
  memGiB: number;
  kernel: string;
  loadavgBefore: number[];
  loadavgAfter: number[];
  /** Processes outside this bench's own process tree that used >= 10% of a core during the run. */
  otherBusyProcesses: BusyProcess[];
  /** CPU seconds of the bench's own tree (this process, its children, what they reaped). */
  ownCpuSeconds: number;
  /** CPU seconds the rest of the machine used meanwhile (/proc/stat busy time minus ours): short-lived processes included. */
  otherCpuSeconds: number;
  /** otherCpuSeconds / wall time: how many cores others kept busy on average. */
  otherCores: number;
  /**
   * 1-minute load under half the cores before the run, no other busy process, others under 0.1
   * core during it. The load after is recorded but not judged: it counts the bench's own
   * threads (a bench that keeps one core busy for 30 s leaves a 1-minute load near 1 by itself),
   * and otherCores already measures everyone else exactly.
   */
  quiet: boolean;
}

/** `met: null` = not measured in this run (said so, never counted as met). */
export interface TargetVerdict {
  name: string;
  goal: string;
  measured: string;
  met: boolean | null;
}

export interface BenchResult<T> {
  schema: typeof RESULT_SCHEMA;
  bench: string;
  at: string;
  argv: string[];
  wallSeconds: number;
  /** False when the build cannot be named exactly; `unpublishable` says why. Docs cite only true. */
  publishable: boolean;
  unpublishable: string[];
  build: BuildStamp;
  machine: MachineStamp;
  targets: TargetVerdict[];
  data: T;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The build stamp of the dist under `root`, and every reason it does not name one exact build. */
export function stampBuild(root = ROOT): { build: BuildStamp; problems: string[] } {
  let version = 'unknown';
  try {
    version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    // no package.json beside dist/: said as 'unknown'
  }
  const record = path.join(root, 'dist', 'build-info.json');
  let rec: { commit?: unknown; dirty?: unknown } = {};
  let builtAt: Date | null = null;
  try {
    rec = JSON.parse(fs.readFileSync(record, 'utf8')) as typeof rec;
    builtAt = fs.statSync(record).mtime;
  } catch {
    // no record: said below
  }
  const commit = typeof rec.commit === 'string' ? rec.commit : 'unknown';
  const dirty = rec.dirty === true;
  const problems: string[] = [];
  if (builtAt === null) problems.push('no dist/build-info.json: build with `npm run build`');
  if (!/^[0-9a-f]{40}$/.test(commit)) problems.push(`build commit ${commit}: not a full commit id`);
  if (dirty) problems.push(`dist was built from a dirty tree (uncommitted changes on top of ${commit.slice(0, 12)})`);
  // `tsc` alone rewrites dist/ but not the record: then the record names an older build.
  if (builtAt !== null) {
    const newer = newestJs(path.join(root, 'dist'));
    if (newer !== null && newer.mtimeMs > builtAt.getTime() + 2000)
      problems.push(`dist changed after build-info.json was written (${path.relative(root, newer.file)}): rebuild with \`npm run build\``);
  }
  return { build: { version, commit, dirty, builtAt: builtAt?.toISOString() ?? null, node: process.version }, problems };
}

function newestJs(dir: string): { file: string; mtimeMs: number } | null {
  let best: { file: string; mtimeMs: number } | null = null;
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) {
        const m = fs.statSync(p).mtimeMs;
        if (best === null || m > best.mtimeMs) best = { file: p, mtimeMs: m };
      }
    }
  };
  walk(dir);
  return best;
}

/** ticks: the process's own CPU; reaped: that of its children it has waited for (cutime+cstime). */
interface ProcInfo {
  comm: string;
  ppid: number;
  ticks: number;
  reaped: number;
  startTicks: number;
}
const CLK_TCK = 100; // Linux's USER_HZ on every architecture node runs on

/** Every process's CPU ticks from /proc (a process that exits between readdir and read is skipped). */
export function procTable(): Map<number, ProcInfo> {
  const out = new Map<number, ProcInfo>();
  let pids: string[] = [];
  try {
    pids = fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x));
  } catch {
    return out;
  }
  for (const p of pids) {
    try {
      const s = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const close = s.lastIndexOf(')');
      const f = s.slice(close + 2).split(' ');
      out.set(Number(p), {
        comm: s.slice(s.indexOf('(') + 1, close),
        ppid: Number(f[1]),
        ticks: Number(f[11]) + Number(f[12]),
        reaped: Number(f[13]) + Number(f[14]),
        startTicks: Number(f[19]),
      });
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * This bench's own tree: this process and its descendants. Ancestors (npm, a shell, the outer
 * half of a bench that re-runs itself in a namespace) wait for us and are counted as others:
 * a busy one shows up, an idle one costs nothing.
 */
function ownTree(table: Map<number, ProcInfo>): Set<number> {
  const own = new Set<number>([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, i] of table)
      if (!own.has(pid) && own.has(i.ppid)) {
        own.add(pid);
        grew = true;
      }
  }
  return own;
}

/** Busy ticks of the whole machine (every CPU, every process and the kernel) from /proc/stat. */
export function machineBusyTicks(): number {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    return f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
  } catch {
    return NaN;
  }
}

/**
 * CPU used by others during the run. By name: the processes alive at the end that used 10% of a
 * core or more. In total: the machine's busy time minus our own tree's (its live members, and
 * the children they reaped), which also counts processes that started and ended inside the run.
 */
export function otherCpu(
  before: Map<number, ProcInfo>,
  after: Map<number, ProcInfo>,
  wallSeconds: number,
  machineTicks: number,
): { busy: BusyProcess[]; ownSeconds: number; otherSeconds: number } {
  const own = ownTree(after);
  const busy: BusyProcess[] = [];
  let ownTicks = 0;
  for (const [pid, a] of after) {
    const b = before.get(pid);
    const same = b !== undefined && b.startTicks === a.startTicks;
    if (own.has(pid)) {
      ownTicks += a.ticks + a.reaped - (same ? b.ticks + b.reaped : 0);
      continue;
    }
    if (pid === 2 || a.ppid === 2) continue; // kernel threads
    const used = (same ? a.ticks - b.ticks : a.ticks) / CLK_TCK;
    const share = wallSeconds > 0 ? used / wallSeconds : 0;
    if (share >= 0.1) busy.push({ pid, comm: a.comm, cpuSeconds: round2(used), shareOfCore: round2(share) });
  }
  busy.sort((x, y) => y.cpuSeconds - x.cpuSeconds);
  const ownSeconds = ownTicks / CLK_TCK;
  return { busy, ownSeconds: round2(ownSeconds), otherSeconds: round2(Math.max(0, machineTicks / CLK_TCK - ownSeconds)) };
}

/** Median with min and max: the form every repeated figure takes. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}
export function spread(xs: number[]): Spread {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const m = s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median: m, min: s[0], max: s[s.length - 1], n: s.length };
}
export const spreadText = (s: Spread, digits = 2, unit = ''): string =>
  s.n === 0 ? 'n/a' : `${s.median.toFixed(digits)}${unit} (min ${s.min.toFixed(digits)}, max ${s.max.toFixed(digits)}, ${s.n} runs)`;

/** One verdict line per target: "target <name>: met|MISSED|not measured (<measured>; goal <goal>)". */
export function verdictLine(t: TargetVerdict): string {
  const v = t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED';
  return `target ${t.name}: ${v} (${t.measured}; goal ${t.goal})`;
}

export interface WriteOptions {
  /** File name after `<bench>-<time>`, e.g. `-n1000000`. */
  suffix?: string;
  /** Override the directory for publishable results (default bench/results). */
  dir?: string;
  /** Write nothing (a bench's --no-write); the verdicts are still printed. */
  noWrite?: boolean;
  /** The bench's own reasons the run cannot be published (e.g. fewer than 3 rounds of a comparison). */
  problems?: string[];
  log?: (s: string) => void;
}

/**
 * Starts a bench's record: call at the very start (before loading anything heavy), then
 * `finish(data, targets)` once at the end. The load is sampled at both ends.
 */
export class ResultRecorder {
  readonly at = new Date();
  private readonly t0 = process.hrtime.bigint();
  private readonly loadBefore = os.loadavg().map(round2);
  private readonly procsBefore = procTable();
  private readonly busyBefore = machineBusyTicks();

  constructor(
    readonly bench: string,
    readonly argv: string[],
    private readonly root = ROOT,
  ) {}

  /** Builds the result, prints the targets and where it was written; returns the file (or null). */
  finish<T>(data: T, targets: TargetVerdict[], o: WriteOptions = {}): { result: BenchResult<T>; file: string | null } {
    const wallSeconds = Number(process.hrtime.bigint() - this.t0) / 1e9;
    const log = o.log ?? console.log;
    const stamped = stampBuild(this.root);
    const build = stamped.build;
    const problems = [...stamped.problems, ...(o.problems ?? [])];
    const other = otherCpu(this.procsBefore, procTable(), wallSeconds, machineBusyTicks() - this.busyBefore);
    const otherCores = wallSeconds > 0 && Number.isFinite(other.otherSeconds) ? round2(other.otherSeconds / wallSeconds) : NaN;
    const cpus = os.cpus();
    const loadAfter = os.loadavg().map(round2);
    const half = cpus.length / 2;
    const machine: MachineStamp = {
      nproc: cpus.length,
      cpuModel: cpus[0]?.model ?? 'unknown',
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      kernel: os.release(),
      loadavgBefore: this.loadBefore,
      loadavgAfter: loadAfter,
      otherBusyProcesses: other.busy,
      ownCpuSeconds: other.ownSeconds,
      otherCpuSeconds: other.otherSeconds,
      otherCores,
      quiet: this.loadBefore[0] < half && other.busy.length === 0 && otherCores < 0.1,
    };
    const result: BenchResult<T> = {
      schema: RESULT_SCHEMA,
      bench: this.bench,
      at: this.at.toISOString(),
      argv: this.argv,
      wallSeconds: round2(wallSeconds),
      publishable: problems.length === 0,
      unpublishable: problems,
      build,
      machine,
      targets,
      data,
    };
    for (const t of targets) log(verdictLine(t));
    if (targets.length === 0) log('targets: none declared for this bench');
    log(
      `build ${build.commit.slice(0, 12)}${build.dirty ? '+dirty' : ''}, node ${build.node}; ${machine.nproc} x ${machine.cpuModel}; load ${machine.loadavgBefore.join(' ')} -> ${loadAfter.join(' ')}; others used ${otherCores} cores` +
        `${
          other.busy.length
            ? `; other busy processes: ${other.busy
                .slice(0, 5)
                .map((p) => `${p.comm}[${p.pid}] ${Math.round(p.shareOfCore * 100)}%`)
                .join(', ')}`
            : ''
        }${machine.quiet ? ' (quiet)' : ' (NOT a quiet machine)'}`,
    );
    if (o.noWrite) return { result, file: null };
    const stamp = result.at.replace(/[:.]/g, '-').slice(0, 19) + 'Z';
    const name = `${this.bench}-${stamp}${o.suffix ?? ''}.json`;
    const dir = result.publishable ? (o.dir ?? path.join(this.root, 'bench', 'results')) : path.join(os.tmpdir(), 'tern-bench-unpublishable');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    if (result.publishable) log(`results: ${file}`);
    else log(`NOT PUBLISHABLE (${problems.join('; ')}): result written to ${file}, outside the repository`);
    return { result, file };
  }
}
