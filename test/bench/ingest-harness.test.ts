// Guards the ingest benchmark harness itself (bench/ingest) against counting wrong: a bench
// whose monitor miscounts reports a convergence that never happened. Not a conformance test.
// Incident guarded: a harness that counts NLRI occurrences instead of distinct prefixes, or
// ignores withdrawals (RFC 4271 §4.3 Withdrawn Routes, RFC 4760 §4 MP_UNREACH_NLRI), finishes
// early against a daemon that re-announces or withdraws.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { PrefixCounter } from '../../bench/ingest/counter.js';
import { ingestTargets, injectorNextHop, parseIngestArgs, ratiosToBird, runIngest, summarize, type IngestReport } from '../../bench/ingest/main.js';
import type { TargetResult } from '../../bench/ingest/harness.js';
import { INJECTOR_AS } from '../../bench/ingest/harness.js';
import { type BenchFamily, MAX_UPDATE, buildWorkload, writePrefix } from '../../bench/ingest/workload.js';
import { requireOrSkip, skipOption } from '../required.js';

const N = 2000;
const K = 50;

function workload(family: BenchFamily) {
  return buildWorkload({ family, prefixes: N, attrSets: K, seed: 7, injectorAs: INJECTOR_AS, nextHop: injectorNextHop(family) });
}

for (const family of ['ipv4', 'ipv6'] as const) {
  test(`${family} workload: every UPDATE fits RFC 4271 §4.1's 4096 octets and carries each prefix once`, () => {
    const w = workload(family);
    const c = new PrefixCounter(family, N);
    for (const u of w.updates) {
      assert.ok(u.length <= MAX_UPDATE, `UPDATE of ${u.length} octets`);
      assert.equal(u.readUInt16BE(16), u.length);
      c.update(u, 0, u.length);
    }
    assert.equal(c.count, N);
    assert.equal(c.duplicates, 0);
    assert.equal(c.foreign, 0);
    assert.equal(w.sets.length, K);
    const keys = new Set(w.sets.map((s) => `${s.asPath.join(' ')}|${s.communities.join(' ')}`));
    assert.equal(keys.size, K, 'attribute sets are distinct');
    for (const s of w.sets) {
      assert.equal(s.asPath[0], INJECTOR_AS, 'RFC 4271 §9.1.2.2: eBGP path starts with the sender');
      assert.ok(s.asPath.length >= 2 && s.asPath.length <= 7);
      assert.ok(s.communities.length <= 3);
    }
    // Packed: each attribute set needs ceil(N/K * prefix bytes / room) UPDATEs, here one each.
    assert.equal(w.updates.length, K);
  });

  test(`${family} counter: re-announcement is not a new prefix, withdrawal subtracts (RFC 4271 §4.3, RFC 4760 §4)`, () => {
    const w = workload(family);
    const c = new PrefixCounter(family, N);
    for (const u of w.updates) c.update(u, 0, u.length);
    for (const u of w.updates.slice(0, 3)) c.update(u, 0, u.length);
    assert.equal(c.count, N);
    assert.ok(c.duplicates > 0);
    // Withdraw prefixes 0 and 1.
    const nlri = Buffer.alloc(32);
    let end = writePrefix(family, 0, nlri, 0);
    end = writePrefix(family, 1, nlri, end);
    let body: Buffer;
    if (family === 'ipv4') {
      body = Buffer.concat([Buffer.from([0, end]), nlri.subarray(0, end), Buffer.from([0, 0])]);
    } else {
      const mp = Buffer.concat([Buffer.from([0x80, 15, 3 + end, 0, 2, 1]), nlri.subarray(0, end)]);
      body = Buffer.concat([Buffer.from([0, 0, 0, mp.length]), mp]);
    }
    const msg = Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 19 + body.length, 2]), body]);
    c.update(msg, 0, msg.length);
    assert.equal(c.count, N - 2);
    assert.equal(c.withdrawals, 2);
  });
}

test('ingest CLI: arguments parse and bad ones are refused', () => {
  const o = parseIngestArgs(['--n', '100000', '--k', '1000', '--family', 'ipv6', '--targets', 'bird,gobgp']);
  assert.equal(o.n, 100000);
  assert.equal(o.k, 1000);
  assert.equal(o.family, 'ipv6');
  assert.deepEqual(o.targets, ['bird', 'gobgp']);
  assert.throws(() => parseIngestArgs(['--targets', 'quagga']), /unknown target/);
  assert.throws(() => parseIngestArgs(['--family', 'ipx']), /ipv4 or ipv6/);
});

const root = typeof process.getuid === 'function' && process.getuid() === 0;
const haveBird = fs.existsSync('/usr/sbin/bird');
const missing = !root || !haveBird ? 'needs root and /usr/sbin/bird' : false;
const skip = skipOption(missing);

for (const family of ['ipv4', 'ipv6'] as const) {
  test(`${family} harness against BIRD: the monitor counts exactly N distinct prefixes`, { skip, timeout: 60_000 }, async (t) => {
    if (!requireOrSkip(t, missing)) return;
    const o = parseIngestArgs([
      '--n',
      String(N),
      '--k',
      String(K),
      '--family',
      family,
      '--targets',
      'bird',
      '--repeat',
      '1',
      '--no-write',
      '--timeout',
      '30',
      '--no-netns',
    ]);
    o.port = 17931; // away from the default, so a bench run on the same machine does not collide
    const rep = await runIngest(o, () => undefined);
    const r = rep.results[0];
    assert.equal(r.status, 'ok', r.reason);
    assert.equal(r.counted, N);
    assert.equal(r.foreign, 0, 'BIRD re-advertised only the workload prefixes');
    assert.equal(r.withdrawals, 0);
    assert.ok((r.updatesReceived ?? 0) >= 1);
    assert.ok((r.peakRssBytes ?? 0) > 0, 'VmHWM was read from /proc');
    // The watcher (issue 18, keepalives under load) held its idle session through the run.
    assert.equal(r.keepalive?.failure, null);
    assert.equal(r.keepalive?.negotiatedHoldTime, 3, 'RFC 4271 §4.2: the smaller Hold Time of the two OPENs');
    assert.ok((r.keepalive?.types.KEEPALIVE ?? 0) >= 1, `the watcher heard KEEPALIVEs: ${JSON.stringify(r.keepalive?.types)}`);
  });
}

// Issue 18: the headline ratio once divided one run's Tern by another run's BIRD. Each ratio is
// now round i of a target over round i of BIRD, and the verdict reads the median of those.
test('issue 18: ratios to BIRD are per round of one run, and the ingest targets are judged on their median', () => {
  const ok = (target: string, seconds: number, peakMiB = 100): TargetResult => ({
    target,
    version: 'v',
    status: 'ok',
    seconds,
    peakRssBytes: peakMiB * 2 ** 20,
  });
  const runs = new Map<string, TargetResult[]>([
    ['bird', [ok('bird', 1), ok('bird', 2), ok('bird', 1)]],
    ['tern', [ok('tern', 2), ok('tern', 2), ok('tern', 1.2, 260)]],
  ]);
  const r = ratiosToBird(runs);
  assert.deepEqual(r.tern.perRound, [2, 1, 1.2]);
  assert.equal(r.tern.spread.median, 1.2);
  // The medians of the times (2 s and 1 s) would give 2x: not what any round measured.
  const rep: IngestReport = {
    date: '',
    repeat: 3,
    params: { family: 'ipv4', n: 1_000_000, k: 100_000, seed: 1, updates: 0, updateBytes: 0, transport: '', netns: true },
    results: [summarize(runs.get('bird')!), summarize(runs.get('tern')!)],
    ratiosToBird: r,
  };
  const [time, rss, fib] = ingestTargets(rep);
  assert.equal(time.met, true, time.measured);
  assert.equal(rss.met, false, 'the worst of the runs (260 MiB) counts, not the median run');
  assert.equal(fib.met, null, 'the --fib kernel variant is not measured by this harness');
  // Without BIRD there is no ratio: not measured, never met.
  assert.equal(ingestTargets({ ...rep, ratiosToBird: {} })[0].met, null);
});
