// Incident guarded (issue 18): docs/benchmarks.md quoted a FIB result that was never committed,
// ingest results that named a dirty build, and ratios that crossed runs; bench results recorded
// `git describe` of the tree after the run instead of the build that ran. This file checks the
// real doc against git (bench/doc-check.ts), that the checker rejects each of those faults, and
// that bench/result.ts keeps a dirty build's result out of bench/results.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkBenchmarksDoc, recordedRatios, type Repo } from '../../bench/doc-check.js';
import { ResultRecorder, spread, stampBuild } from '../../bench/result.js';
import { requireOrSkip } from '../required.js';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });
  } catch {
    return null;
  }
}

const gitRepo: Repo = {
  committed: (p) => git(['show', `HEAD:${p}`]),
  inHistory: (c) => {
    const full = git(['rev-parse', '--verify', '--quiet', `${c}^{commit}`])?.trim();
    if (!full) return null;
    return git(['merge-base', '--is-ancestor', full, 'HEAD']) !== null ? full : null;
  },
};

test('issue 18: every figure docs/benchmarks.md cites comes from a committed, publishable result of a clean build in history, ratios within one file', (t) => {
  if (!requireOrSkip(t, git(['rev-parse', 'HEAD']) === null ? 'needs the git checkout (the doc check reads HEAD)' : false)) return;
  const md = fs.readFileSync(path.join(ROOT, 'docs', 'benchmarks.md'), 'utf8');
  assert.deepEqual(checkBenchmarksDoc(md, gitRepo), []);
  // The rules are stated where a reader starts.
  assert.match(md.slice(0, 3000), /## Rules/);
});

// A fake repository for the checker's own cases.
const FULL = 'a'.repeat(40);
const result = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({
    schema: 'tern-bench-result/1',
    publishable: true,
    unpublishable: [],
    build: { commit: FULL, dirty: false },
    data: { ratios: { addVsBest: spread([2.0, 2.1, 1.9]) } },
    ...over,
  });
function fakeRepo(files: Record<string, string>, history = [FULL, 'b'.repeat(40)]): Repo {
  return {
    committed: (p) => files[p] ?? null,
    inHistory: (c) => history.find((h) => h.startsWith(c)) ?? null,
  };
}
const A = 'bench/results/fib-a.json';
const B = 'bench/results/fib-b.json';

test('issue 18: a cited result that is not committed is refused', () => {
  const p = checkBenchmarksDoc(`## FIB\nRaw: ${A}: 2.00x\n`, fakeRepo({}));
  assert.equal(p.length, 2);
  assert.match(p[0], /not committed at HEAD/);
});

test('issue 18: a result of a dirty build, or marked unpublishable, or of a build not in history is refused', () => {
  const cases: [string, RegExp][] = [
    [result({ build: { commit: FULL, dirty: true } }), /dirty build/],
    [result({ publishable: false, unpublishable: ['dist was built from a dirty tree'] }), /unpublishable/],
    [result({ build: { commit: 'c'.repeat(40), dirty: false } }), /not in HEAD's history/],
    [result({ build: { commit: 'abc1234', dirty: false } }), /not a full commit id/],
  ];
  for (const [json, why] of cases) {
    const p = checkBenchmarksDoc(`## FIB\nRaw: ${A}\n`, fakeRepo({ [A]: json }));
    assert.equal(p.length, 1, JSON.stringify(p));
    assert.match(p[0], why);
  }
  assert.deepEqual(checkBenchmarksDoc(`## FIB\nRaw: ${A}, median 2.00x (min 1.90x, max 2.10x)\n`, fakeRepo({ [A]: result() })), []);
});

test('issue 18: a ratio computed across two runs is refused; one recorded in one cited file passes', () => {
  const files = { [A]: result(), [B]: result({ data: { ratios: { addVsBest: spread([3.0, 3.0, 3.0]) } } }) };
  // 2.50x is neither file's ratio (it would be one run's Tern over another run's ip).
  const crossed = checkBenchmarksDoc(`## FIB\nRuns ${A} and ${B}: 2.50x\n`, fakeRepo(files));
  assert.equal(crossed.length, 1);
  assert.match(crossed[0], /ratio 2\.50x .* not recorded/);
  assert.deepEqual(checkBenchmarksDoc(`## FIB\nRuns ${A} and ${B}: 2.00x and 3.00x\n`, fakeRepo(files)), []);
  // A ratio in another section does not borrow this section's citation.
  assert.equal(checkBenchmarksDoc(`## FIB\n${A}\n## Ingest\nTern 2.00x BIRD\n`, fakeRepo(files)).length, 1);
  // Goals are not measurements.
  assert.deepEqual(checkBenchmarksDoc('## Targets\nIngest within 1.5x BIRD; at least 2x faster; add >= 3x ip.\n', fakeRepo({})), []);
});

test('issue 18: unverified history may show no ratio and cite no result; an abbreviated citation is refused', () => {
  const md = `## FIB\n<!-- unverified-history -->\n> **Unverified history.**\nTern was 5.3x ip; raw ${A}\n<!-- /unverified-history -->\nSee ...T04-35-22Z...\n`;
  const p = checkBenchmarksDoc(md, fakeRepo({ [A]: result() }));
  assert.equal(p.length, 3, JSON.stringify(p));
  assert.ok(p.some((x) => /cited inside unverified history/.test(x)));
  assert.ok(p.some((x) => /ratio 5\.3x in unverified history/.test(x)));
  assert.ok(p.some((x) => /abbreviated/.test(x)));
});

test('issue 18: a result from before bench/result.ts is citable only as a "legacy record" of a clean tree in history', () => {
  const legacyClean = JSON.stringify({ commit: 'b'.repeat(40), clean: true });
  const legacyDirty = JSON.stringify({ commit: 'bbbbbbb-dirty' });
  assert.match(checkBenchmarksDoc(`## K\nRaw: ${A}\n`, fakeRepo({ [A]: legacyClean }))[0], /legacy record/);
  assert.deepEqual(checkBenchmarksDoc(`## K\nRaw (legacy record): ${A}\n`, fakeRepo({ [A]: legacyClean })), []);
  assert.match(checkBenchmarksDoc(`## K\nRaw (legacy record): ${A}\n`, fakeRepo({ [A]: legacyDirty }))[0], /without a clean commit/);
  assert.deepEqual(recordedRatios({ ratios: { a: { median: 2, min: 1, max: 3, n: 3 } }, other: 7 }), [2, 1, 3]);
});

function fakeCheckout(record: object | null): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-result-test-'));
  fs.mkdirSync(path.join(root, 'dist', 'bench'), { recursive: true });
  fs.writeFileSync(path.join(root, 'dist', 'bench', 'x.js'), '');
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(path.join(root, 'dist', 'bench', 'x.js'), old, old);
  if (record) fs.writeFileSync(path.join(root, 'dist', 'build-info.json'), JSON.stringify(record));
  return root;
}

test('issue 18: the result writer names the recorded build; a clean one lands in bench/results as publishable', () => {
  const root = fakeCheckout({ commit: FULL, dirty: false });
  try {
    const rec = new ResultRecorder('unit', ['--x'], root);
    const lines: string[] = [];
    const { result, file } = rec.finish(
      { v: 1 },
      [
        { name: 'speed', goal: 'fast', measured: 'slow', met: false },
        { name: 'other', goal: 'g', measured: 'not run', met: null },
      ],
      { log: (s) => lines.push(s) },
    );
    assert.equal(result.publishable, true);
    assert.equal(result.build.commit, FULL);
    assert.equal(result.build.dirty, false);
    assert.equal(path.dirname(file!), path.join(root, 'bench', 'results'));
    const back = JSON.parse(fs.readFileSync(file!, 'utf8')) as typeof result;
    assert.equal(back.machine.nproc, os.cpus().length);
    assert.equal(back.machine.loadavgBefore.length, 3);
    assert.ok(lines.includes('target speed: MISSED (slow; goal fast)'), lines.join('\n'));
    assert.ok(lines.includes('target other: not measured (not run; goal g)'), lines.join('\n'));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('issue 18: a dirty, unrecorded or rebuilt-by-tsc build is unpublishable and written outside the repository', () => {
  for (const [record, why] of [
    [{ commit: FULL, dirty: true }, /dirty tree/],
    [null, /no dist\/build-info.json/],
    [{ commit: 'unknown', dirty: false }, /not a full commit id/],
  ] as const) {
    const root = fakeCheckout(record);
    try {
      const { result, file } = new ResultRecorder('unit', [], root).finish({}, [], { log: () => undefined });
      assert.equal(result.publishable, false);
      assert.match(result.unpublishable.join('; '), why);
      assert.ok(!file!.startsWith(root), file!);
      assert.equal(fs.existsSync(path.join(root, 'bench', 'results')), false);
      fs.rmSync(file!);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  // tsc alone after `npm run build`: dist/ is newer than its record.
  const root = fakeCheckout({ commit: FULL, dirty: false });
  try {
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(root, 'dist', 'bench', 'x.js'), later, later);
    assert.match(stampBuild(root).problems.join('; '), /dist changed after build-info.json/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

/** A node child that burns CPU for a fixed amount of work (not time), then writes its CPU seconds to `out`. */
const BURN = `let x = 0; for (let i = 0; i < 3e8; i++) x = (x + i) % 1000003; const u = process.cpuUsage(); require('fs').writeFileSync(process.argv[1], String((u.user + u.system) / 1e6 + x * 0));`;

test('issue 18: the load record counts CPU the bench did not use, even of a process that ended inside the run, apart from its own', async (t) => {
  if (!requireOrSkip(t, fs.existsSync('/proc/stat') ? false : 'needs /proc')) return;
  const root = fakeCheckout({ commit: FULL, dirty: false });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-burn-'));
  try {
    const rec = new ResultRecorder('unit', [], root);
    // Our own child: counted as ours once reaped.
    const ownOut = path.join(dir, 'own');
    assert.equal(spawnSync(process.execPath, ['-e', BURN, ownOut]).status, 0);
    // An orphan (its shell exits at once, so it is not in our tree); alive or gone at finish(),
    // its CPU is in the machine's busy time and not in ours.
    const otherOut = path.join(dir, 'other');
    spawnSync('sh', ['-c', `"${process.execPath}" -e "$0" "$1" >/dev/null 2>&1 &`, BURN, otherOut]);
    for (let i = 0; i < 600 && !fs.existsSync(otherOut); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(fs.existsSync(otherOut), 'the orphan finished its work');
    const { result, file } = rec.finish({}, [], { log: () => undefined });
    const ownCpu = Number(fs.readFileSync(ownOut, 'utf8'));
    const otherUsed = Number(fs.readFileSync(otherOut, 'utf8'));
    assert.ok(result.machine.ownCpuSeconds >= ownCpu * 0.9, `own ${result.machine.ownCpuSeconds} s, the child used ${ownCpu} s`);
    assert.ok(result.machine.otherCpuSeconds >= otherUsed * 0.9, `others ${result.machine.otherCpuSeconds} s, the orphan used ${otherUsed} s`);
    assert.equal(result.machine.quiet, false, 'a machine where another process burned CPU is not quiet');
    fs.rmSync(file!);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
