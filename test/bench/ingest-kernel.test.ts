// Guards the ingest harness's `--fib kernel` mode and its watcher peer (bench/ingest/kernel.ts,
// watcher.ts; issue 18). Incidents guarded: a FIB bench that trusts the daemon's word instead of
// the kernel's table (issue 18: "results are verified"), and a keepalive figure that reads a gap
// from the wrong window or from a clock as busy as the daemon. The expected interval comes from
// RFC 4271 §4.4 (KEEPALIVE every third of the Hold Time) and RFC 4271 §10 (jitter 0.75-1.0).
// No assertion here reads a wall-clock duration as a pass or fail.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { workloadIndex } from '../../bench/ingest/kernel.js';
import { parseEventLoopLag } from '../../bench/ingest/metrics.js';
import { type IngestReport, parseIngestArgs } from '../../bench/ingest/main.js';
import { keepaliveGaps, type WatcherReport } from '../../bench/ingest/watcher.js';
import { writePrefix } from '../../bench/ingest/workload.js';
import { requireOrSkip, skipOption } from '../required.js';

const report = (arrivals: number[], now: number, hold = 3): WatcherReport => ({
  peerHoldTime: 240,
  negotiatedHoldTime: hold,
  arrivals,
  types: { KEEPALIVE: arrivals.length },
  now,
  failure: null,
  ownLoopMaxMs: 0,
});

test('watcher: the worst gap is the one that overlaps the run, less hold/3 (RFC 4271 §4.4, §10)', () => {
  // Idle every 900 ms, then a 2.5 s silence that starts before the run and ends inside it.
  const r = keepaliveGaps(report([0, 900, 1800, 4300, 5200, 6100, 7000], 7500), { start: 2000, end: 5000 });
  assert.equal(r.expectedIntervalMs, 1000, 'Hold Time 3 s: a KEEPALIVE at least every 1 s');
  assert.equal(r.worstGapMs, 2500);
  assert.equal(r.latenessMs, 1500);
  assert.equal(r.messagesInWindow, 1);
  assert.equal(r.idleIntervalMs, 900, 'the gaps outside the run are the idle interval');
  // A silence still open when the report is taken counts up to the report.
  const open = keepaliveGaps(report([0, 1000, 2000], 6000), { start: 1500, end: 4000 });
  assert.equal(open.worstGapMs, 4000);
  // A gap that ended before the run does not count, however long.
  const before = keepaliveGaps(report([0, 5000, 5800, 6600], 7000), { start: 5500, end: 6500 });
  assert.equal(before.worstGapMs, 800);
  // No session: nothing measured, never a pass.
  const none = keepaliveGaps(report([], 1000, -1), { start: 0, end: 500 });
  assert.equal(none.worstGapMs, null);
  assert.equal(none.latenessMs, null);
});

test('event-loop lag is read from prom-client text as ternd serves it', () => {
  const text = [
    '# HELP nodejs_eventloop_lag_max_seconds The maximum recorded event loop delay.',
    '# TYPE nodejs_eventloop_lag_max_seconds gauge',
    'nodejs_eventloop_lag_max_seconds 0.734003199',
    'nodejs_eventloop_lag_mean_seconds 0.1021',
    'nodejs_eventloop_lag_p99_seconds 0.2',
  ].join('\n');
  assert.deepEqual(parseEventLoopLag(text), { maxSeconds: 0.734003199, p99Seconds: 0.2, meanSeconds: 0.1021, resolutionSeconds: 0.1 });
  assert.equal(parseEventLoopLag('process_cpu_seconds_total 1'), undefined);
});

test('kernel verify: workload prefixes are recognised as `ip route` prints them, others are not', () => {
  const buf = Buffer.alloc(17);
  for (const i of [0, 1, 255, 65_536, 999_999]) {
    writePrefix('ipv4', i, buf, 0);
    assert.equal(workloadIndex('ipv4', `${buf[1]}.${buf[2]}.${buf[3]}.0/24`, 1_000_000), i);
    writePrefix('ipv6', i, buf, 0);
    const g = (j: number): string => buf.readUInt16BE(1 + 2 * j).toString(16);
    assert.equal(workloadIndex('ipv6', `${g(0)}:${g(1)}:${g(2)}:${g(3)}::/64`, 1_000_000), i);
  }
  assert.equal(workloadIndex('ipv4', '16.0.5.0/24', 5), -1, 'beyond N');
  assert.equal(workloadIndex('ipv4', '198.18.0.0/24', 1000), -1);
  assert.equal(workloadIndex('ipv6', '2001:db8:ffff::/64', 1000), -1);
  assert.equal(workloadIndex('ipv6', '2001:db8::1/128', 1000), -1);
});

test('ingest CLI: --fib kernel takes the veth addresses, and is refused without a namespace', () => {
  const o = parseIngestArgs(['--fib', 'kernel', '--netns']);
  assert.equal(o.fib, 'kernel');
  assert.equal(o.target, '198.18.0.2');
  assert.equal(o.injector, '198.18.0.1', 'the injector is the next hop: directly connected for the target');
  assert.equal(o.watcher, '198.18.0.4');
  assert.throws(() => parseIngestArgs(['--fib', 'kernel', '--no-netns']), /needs root and --netns/);
  assert.throws(() => parseIngestArgs(['--fib', 'fast']), /none or kernel/);
  assert.equal(parseIngestArgs(['--no-watcher', '--no-netns']).watcher, null);
});

const root = typeof process.getuid === 'function' && process.getuid() === 0;
const runJs = path.resolve(__dirname, '..', '..', 'bench', 'run.js');
const missing = !root
  ? 'needs root (network namespaces)'
  : !fs.existsSync('/usr/sbin/bird')
    ? 'needs /usr/sbin/bird'
    : !fs.existsSync(path.resolve(__dirname, '..', '..', 'src', 'ternd.js'))
      ? 'needs a built ternd'
      : false;
const ourNamespaces = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith('tbik-') || n.startsWith('tbench-ingest-'));
let harnessPid = 0;

test('--fib kernel at N=1000: BIRD, FRR (with zebra) and ternd each install exactly N routes, the watcher hears KEEPALIVEs at Hold Time 3 (RFC 4271 §4.4)', {
  skip: skipOption(missing),
  timeout: 180_000,
}, async (t) => {
  if (!requireOrSkip(t, missing)) return;
  const N = 1000;
  const before = new Set(ourNamespaces());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbik-test-'));
  const file = path.join(dir, 'report.json');
  try {
    const args = ['ingest', '--n', String(N), '--k', '50', '--targets', 'bird,tern,frr', '--fib', 'kernel', '--repeat', '1', '--no-write', '--timeout', '60'];
    const child = spawn(process.execPath, [runJs, ...args, '--report', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    harnessPid = child.pid ?? 0;
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 0, out);
    const rep = JSON.parse(fs.readFileSync(file, 'utf8')) as IngestReport;
    assert.equal(rep.params.fib, 'kernel');
    for (const name of ['bird', 'frr', 'tern']) {
      const r = rep.results.find((x) => x.target === name);
      assert.ok(r, `${name} ran`);
      assert.equal(r.status, 'ok', `${name}: ${r.reason ?? ''}\n${out}`);
      assert.equal(r.counted, N, `${name}: the monitor holds every prefix`);
      // Rule 6 of docs/benchmarks.md: the routes really are in the namespace's kernel table.
      // FRR's zebra writes to main, where the veth's connected route is the one foreign route.
      const foreign = name === 'frr' ? 1 : 0;
      assert.equal(r.kernel?.table, name === 'frr' ? 254 : 100);
      assert.equal(r.kernel?.routes, N + foreign, `${name}: kernel table holds N routes`);
      assert.equal(r.kernel?.workload, N, `${name}: and they are the N workload prefixes`);
      assert.equal(r.kernel?.viaInjector, N, `${name}: each via the injector's address`);
      assert.equal(r.kernel?.foreign, foreign);
      assert.ok((r.kernelPoll?.reads ?? 0) >= 1, `${name}: the kernel was read before done was declared`);
      const ka = r.keepalive;
      assert.ok(ka, `${name}: the watcher reported`);
      assert.equal(ka.failure, null, `${name}: the watcher's session held`);
      assert.equal(ka.negotiatedHoldTime, 3, `${name}: Hold Time is the smaller of the two offers (RFC 4271 §4.2)`);
      assert.equal(ka.expectedIntervalMs, 1000);
      assert.ok((ka.types.KEEPALIVE ?? 0) >= 1, `${name}: the watcher saw KEEPALIVEs: ${JSON.stringify(ka.types)}`);
      assert.ok((ka.types.UPDATE ?? 0) <= 1, `${name}: the watcher got no routes (an End-of-RIB at most): ${JSON.stringify(ka.types)}`);
      assert.ok(ka.worstGapMs !== null && ka.latenessMs !== null, `${name}: a gap was measured`);
    }
    const tern = rep.results.find((x) => x.target === 'tern');
    // Read from ternd's /metrics; a run this short may fall between two of the histogram's
    // 100 ms samples (max 0), so only that the figures were read is asserted here.
    assert.ok(tern?.eventLoop, "ternd's event-loop lag was read from its /metrics");
    assert.ok(Number.isFinite(tern.eventLoop.maxSeconds) && tern.eventLoop.maxSeconds >= 0);
    assert.equal(tern.eventLoop.resolutionSeconds, 0.1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // The harness's own namespace is named after its PID; the targets' ones all start with tbik-.
  const left = ourNamespaces().filter((n) => !before.has(n) && (n.startsWith('tbik-') || n === `tbench-ingest-${harnessPid}`));
  assert.deepEqual(left, [], 'every namespace the bench made is gone');
});
