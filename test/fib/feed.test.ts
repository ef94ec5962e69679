// FibFeed (fib/feed.ts) over a MemoryFib: the held mode a restarting ternd starts in
// (RFC 4724 §4.1: the previous run's kernel routes stay untouched until the RIB has converged,
// then one reconcile), the order of writes around the release, and withdrawals of prefixes the
// FIB never wanted (dropped, not written). Issue 12: the desired state lives in the Fib alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FibFeed } from '../../fib/feed.js';
import { MemoryFib } from '../../fib/memory.js';
import { withdraw, type FibChange } from '../../fib/types.js';

const via = (prefix: string, gateway: string): FibChange => ({ prefix, kind: 'unicast', nexthops: [{ gateway }] });
const kernelOf = async (fib: MemoryFib): Promise<Record<string, string>> =>
  Object.fromEntries((await fib.dump()).map((r) => [r.prefix, r.kind === 'blackhole' ? 'blackhole' : r.nexthops.map((h) => h.gateway).join(',')]));

/** A MemoryFib whose kernel holds what a previous run left there (nothing desired yet, as after NetlinkFib.open()). */
const restarted = async (): Promise<MemoryFib> =>
  new MemoryFib({ keepLog: true, kernel: [via('10.244.1.0/26', '198.18.0.11'), via('10.244.2.0/26', '198.18.0.12'), via('10.244.9.0/26', '198.18.0.19')] });

test('RFC 4724 §4.1: while held, changes are recorded as desired and the kernel is not touched', async () => {
  const fib = await restarted();
  const feed = new FibFeed(fib, { hold: true });
  const written: number[] = [];
  feed.on('written', (b) => written.push(b.length));
  feed.push([via('10.244.1.0/26', '198.18.0.11'), via('10.244.2.0/26', '198.18.0.22')]);
  await feed.idle();
  assert.deepEqual(
    await kernelOf(fib),
    { '10.244.1.0/26': '198.18.0.11', '10.244.2.0/26': '198.18.0.12', '10.244.9.0/26': '198.18.0.19' },
    'the kernel is as the previous run left it',
  );
  assert.equal(fib.desiredCount, 2);
  assert.ok(feed.holding);
  assert.equal(feed.coupled, true, 'the operator state stays coupled while writes are held');
  assert.deepEqual(written, [], 'nothing counted as written while held');

  const r = await feed.release();
  assert.deepEqual({ added: r.added, replaced: r.replaced, deleted: r.deleted, unchanged: r.unchanged }, { added: 0, replaced: 1, deleted: 1, unchanged: 1 });
  assert.deepEqual(
    await kernelOf(fib),
    { '10.244.1.0/26': '198.18.0.11', '10.244.2.0/26': '198.18.0.22' },
    'one reconcile: replaced what changed, deleted what is no longer wanted',
  );
  feed.push([via('10.244.3.0/26', '198.18.0.13')]);
  await feed.idle();
  assert.equal((await kernelOf(fib))['10.244.3.0/26'], '198.18.0.13', 'after the release changes are written as they come');
  assert.deepEqual(written, [1]);
});

test('a change pushed before release() is part of the reconcile, one pushed after is never undone by it', async () => {
  const fib = await restarted();
  const feed = new FibFeed(fib, { hold: true });
  feed.push([via('10.244.5.0/26', '198.18.0.15')]);
  const releasing = feed.release();
  feed.push([withdraw('10.244.5.0/26'), via('10.244.6.0/26', '198.18.0.16')]);
  await releasing;
  await feed.idle();
  const k = await kernelOf(fib);
  assert.equal(k['10.244.5.0/26'], undefined, 'the later withdrawal wins');
  assert.equal(k['10.244.6.0/26'], '198.18.0.16');
  assert.equal(k['10.244.9.0/26'], undefined, 'the stale route of the previous run is gone');
});

test('a withdrawal of a prefix the FIB never wanted is dropped; one after an install in the same batch is kept', async () => {
  const fib = new MemoryFib({ keepLog: true });
  const feed = new FibFeed(fib);
  feed.push([withdraw('10.250.0.0/26')]);
  await feed.idle();
  assert.equal(fib.log.length, 0, 'a VXLAN or left-out route: nothing to write');
  feed.push([via('10.244.7.0/26', '198.18.0.17'), withdraw('10.244.7.0/26'), withdraw('10.244.7.0/26'), withdraw('10.250.0.0/26')]);
  await feed.idle();
  assert.deepEqual(
    fib.log.flat().map((c) => `${c.prefix} ${c.nexthops.length}`),
    ['10.244.7.0/26 1', '10.244.7.0/26 0'],
    'the install and its first withdrawal only',
  );
  assert.equal(fib.desiredCount, 0);
});

test('bgpctl fib decouple while held: the release writes nothing, couple later writes the difference', async () => {
  const fib = await restarted();
  const feed = new FibFeed(fib, { hold: true });
  await feed.decouple();
  feed.push([via('10.244.1.0/26', '198.18.0.31')]);
  const r = await feed.release();
  assert.equal(r.replaced + r.added + r.deleted, 0);
  assert.equal((await kernelOf(fib))['10.244.1.0/26'], '198.18.0.11', 'decoupled: the kernel is left as it is');
  await feed.couple();
  assert.deepEqual(await kernelOf(fib), { '10.244.1.0/26': '198.18.0.31' });
});

test('stop(): queued and later changes never reach the FIB (ternd stopping keeps the kernel routes)', async () => {
  const fib = new MemoryFib({ keepLog: true });
  const feed = new FibFeed(fib);
  feed.stop();
  feed.push([via('10.244.8.0/26', '198.18.0.18')]);
  await feed.idle();
  assert.equal(fib.log.length, 0);
  assert.equal(fib.desiredCount, 0);
});
