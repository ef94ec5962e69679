// The rules docs/benchmarks.md states at its top, as a check (test/bench/benchmarks-doc.test.ts
// runs it on the real file and git). Issue 18: figures were quoted from raw results that were
// never committed, from dirty builds, and as ratios across runs; this keeps that from coming back.
//
// 1. Every `bench/results/<file>.json` the doc names is committed at HEAD.
// 2. It is publishable: written by bench/result.ts (`schema` tern-bench-result/1) with
//    `publishable: true`, a clean build and a full commit that is in HEAD's history. A result
//    from before that writer ("legacy record") may be cited only on a line that says
//    "legacy record", and only if it names a clean tree whose commit is in HEAD's history.
// 3. Every ratio the doc shows ("2.6x") outside a target statement ("within 1.5x", "at least
//    2x", ">= 3x") sits in a section (text under one heading) that cites a result recording that
//    ratio: some single cited file holds a number under a key named like "ratio" that rounds to it.
//    Sections fenced as unverified history may show no ratio and cite no result.
// 4. No abbreviated citation ("...T04-35-22Z..."): a reader must be able to open the file.

export interface Repo {
  /** The file's text as committed at HEAD, or null when HEAD has no such file. */
  committed(path: string): string | null;
  /** The full commit id a (possibly short) commit name resolves to, when HEAD's history contains it; else null. */
  inHistory(commit: string): string | null;
}

const CITE = /bench\/results\/[A-Za-z0-9._-]+\.json/g;
const RATIO = /(?<![\w.])(\d+(?:\.\d+)?)x\b/g;
/** Words that make a ratio a goal, not a measurement: "within 1.5x", "at least 2x", ">= 3x". */
const GOAL = /(within|at least|under|over|goal|target|>=|≥|<=|≤)\s*$/i;
const UNVERIFIED_START = '<!-- unverified-history -->';
const UNVERIFIED_END = '<!-- /unverified-history -->';

interface Section {
  heading: string;
  lines: { n: number; text: string; unverified: boolean }[];
}

function sections(md: string): { list: Section[]; problems: string[] } {
  const list: Section[] = [{ heading: '(top)', lines: [] }];
  const problems: string[] = [];
  let fenced = false;
  let unverified = false;
  md.split('\n').forEach((text, i) => {
    const n = i + 1;
    if (text.startsWith('```')) {
      fenced = !fenced;
      return;
    }
    if (fenced) return;
    if (text.trim() === UNVERIFIED_START) {
      unverified = true;
      return;
    }
    if (text.trim() === UNVERIFIED_END) {
      unverified = false;
      return;
    }
    if (/^#{1,6} /.test(text)) {
      if (unverified) problems.push(`line ${n}: heading inside an unverified-history block (close it first)`);
      list.push({ heading: text.replace(/^#+ /, ''), lines: [] });
      return;
    }
    list.at(-1)!.lines.push({ n, text, unverified });
  });
  if (unverified) problems.push('an unverified-history block is never closed');
  return { list, problems };
}

/** Every number under a key whose name contains "ratio" (any depth). */
export function recordedRatios(json: unknown): number[] {
  const out: number[] = [];
  const walk = (v: unknown, underRatio: boolean): void => {
    if (typeof v === 'number' && underRatio && Number.isFinite(v)) out.push(v);
    else if (Array.isArray(v)) for (const x of v) walk(x, underRatio);
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== 'n') walk(x, underRatio || /ratio/i.test(k));
  };
  walk(json, false);
  return out;
}

/** "2.61" shown means the recorded value rounds to it at the shown precision. */
function shows(token: string, value: number): boolean {
  const digits = token.includes('.') ? token.split('.')[1].length : 0;
  return Math.abs(value - Number(token)) <= 0.5 * 10 ** -digits + 1e-9;
}

type Verdict = { kind: 'result'; json: unknown } | { kind: 'legacy'; json: unknown } | { kind: 'bad'; why: string };

function judge(path: string, repo: Repo): Verdict {
  const text = repo.committed(path);
  if (text === null) return { kind: 'bad', why: 'not committed at HEAD' };
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { kind: 'bad', why: 'not JSON' };
  }
  if (j.schema === 'tern-bench-result/1') {
    const b = (j.build ?? {}) as { commit?: unknown; dirty?: unknown };
    if (j.publishable !== true) return { kind: 'bad', why: `marked unpublishable (${JSON.stringify(j.unpublishable)})` };
    if (b.dirty !== false) return { kind: 'bad', why: 'names a dirty build' };
    if (typeof b.commit !== 'string' || !/^[0-9a-f]{40}$/.test(b.commit))
      return { kind: 'bad', why: `build commit ${String(b.commit)} is not a full commit id` };
    if (repo.inHistory(b.commit) === null) return { kind: 'bad', why: `build ${b.commit.slice(0, 12)} is not in HEAD's history` };
    return { kind: 'result', json: j };
  }
  // Before bench/result.ts: `commit` (rev-parse or `git describe --always --dirty` of the tree).
  const commit = typeof j.commit === 'string' ? j.commit : '';
  const clean = j.clean === true || j.cleanTree === true || (/^[0-9a-f]{7,40}$/.test(commit) && j.clean === undefined && j.cleanTree === undefined);
  if (!commit || commit.endsWith('-dirty') || !clean) return { kind: 'bad', why: `legacy result without a clean commit (${commit || 'none'})` };
  if (repo.inHistory(commit) === null) return { kind: 'bad', why: `legacy result names ${commit}, not in HEAD's history` };
  return { kind: 'legacy', json: j };
}

/** Every way `md` breaks the rules; empty when it keeps them all. */
export function checkBenchmarksDoc(md: string, repo: Repo): string[] {
  const { list, problems } = sections(md);
  const verdicts = new Map<string, Verdict>();
  const verdict = (p: string): Verdict => {
    let v = verdicts.get(p);
    if (!v) verdicts.set(p, (v = judge(p, repo)));
    return v;
  };
  for (const s of list) {
    const cited: unknown[] = [];
    for (const l of s.lines) {
      if (/\.\.\.T\d\d-\d\d/.test(l.text)) problems.push(`line ${l.n}: abbreviated result name; cite the whole path`);
      for (const m of l.text.matchAll(CITE)) {
        if (l.unverified) {
          problems.push(`line ${l.n}: ${m[0]} cited inside unverified history`);
          continue;
        }
        const v = verdict(m[0]);
        if (v.kind === 'bad') problems.push(`line ${l.n}: ${m[0]}: ${v.why}`);
        else if (v.kind === 'legacy' && !/legacy record/i.test(l.text))
          problems.push(`line ${l.n}: ${m[0]} predates bench/result.ts: say "legacy record" on the line that cites it`);
        else cited.push(v.json);
      }
    }
    const perFile = cited.map(recordedRatios);
    for (const l of s.lines) {
      for (const m of l.text.matchAll(RATIO)) {
        if (GOAL.test(l.text.slice(0, m.index))) continue;
        if (l.unverified) {
          problems.push(`line ${l.n}: ratio ${m[0]} in unverified history`);
          continue;
        }
        if (!perFile.some((rs) => rs.some((r) => shows(m[1], r))))
          problems.push(`line ${l.n}: ratio ${m[0]} under "${s.heading}" is not recorded in any one result cited there`);
      }
    }
  }
  return problems;
}
