// ChangeBatch (fib/batch.ts): FIB change records packed into typed arrays, the feed's queue since
// issue 18 (a million queued FibChange objects and their prefix strings were the largest live set
// of ternd during an `ingest --fib kernel` load). What goes in must come out: prefixes of both
// families (host bits cleared), withdrawals, blackholes, metrics, bad prefixes, order, and
// pages reused by the next batch must not leak the previous batch's words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeBatch } from '../../fib/batch.js';
import { FibFeed } from '../../fib/feed.js';
import { MemoryFib } from '../../fib/memory.js';
import { withdraw, type FibChange } from '../../fib/types.js';

const hops = [{ gateway: '198.18.0.2' }];
const sample: FibChange[] = [
  { prefix: '10.244.1.0/26', kind: 'unicast', nexthops: hops },
  { prefix: '10.244.1.7/26', kind: 'unicast', nexthops: hops }, // host bits: cleared
  { prefix: '2001:db8:0:1::/64', kind: 'unicast', nexthops: [{ gateway: 'fe80::1', dev: 'eth0' }] },
  withdraw('2001:db8::/32'),
  { prefix: '10.244.9.0/26', kind: 'blackhole', nexthops: [] },
  { prefix: '10.245.0.0/24', kind: 'unicast', nexthops: hops, metric: 300 },
  { prefix: '0.0.0.0/0', kind: 'unicast', nexthops: [{ gateway: '198.18.0.2', dev: 'tunl0', onlink: true }] },
  { prefix: 'not-a-prefix', kind: 'unicast', nexthops: hops },
];

test('issue 18: every change comes back out of the packed batch as it went in, in order', () => {
  const b = ChangeBatch.of(sample);
  assert.equal(b.length, sample.length);
  assert.deepEqual(b.toArray(), [
    { prefix: '10.244.1.0/26', kind: 'unicast', nexthops: hops },
    { prefix: '10.244.1.0/26', kind: 'unicast', nexthops: hops },
    { prefix: '2001:db8:0:1::/64', kind: 'unicast', nexthops: [{ gateway: 'fe80::1', dev: 'eth0' }] },
    { prefix: '2001:db8::/32', kind: 'unicast', nexthops: [] },
    { prefix: '10.244.9.0/26', kind: 'blackhole', nexthops: [] },
    { prefix: '10.245.0.0/24', kind: 'unicast', nexthops: hops, metric: 300 },
    { prefix: '0.0.0.0/0', kind: 'unicast', nexthops: [{ gateway: '198.18.0.2', dev: 'tunl0', onlink: true }] },
    { prefix: 'not-a-prefix', kind: 'unicast', nexthops: hops },
  ]);
  assert.deepEqual(
    sample.map((_, i) => [b.isWithdraw(i), b.valid(i)]),
    sample.map((c, i) => [c.kind === 'unicast' && c.nexthops.length === 0, i !== 7]),
  );
  assert.ok(b.hasWithdrawals);
  assert.equal(b.prefixAt(7), undefined);
  assert.deepEqual({ ...b.prefixAt(2)!, addr: b.prefixAt(2)!.addr.toString('hex') }, { family: 6, addr: '20010db8000000010000000000000000', len: 64 });
  assert.equal(b.prefixAt(1)!.text, '10.244.1.0/26');
});

test('shapes: one per distinct (kind, next hops, metric), shared by identity or by value', () => {
  const b = new ChangeBatch();
  for (let i = 0; i < 1000; i++) b.add({ prefix: `10.0.${i >> 8}.${i & 255}/32`, kind: 'unicast', nexthops: hops });
  b.add({ prefix: '10.9.0.0/24', kind: 'unicast', nexthops: [{ gateway: '198.18.0.2' }] }); // same value, another array
  b.add({ prefix: '10.9.1.0/24', kind: 'unicast', nexthops: hops, metric: 7 });
  b.add({ prefix: '10.9.2.0/24', kind: 'blackhole', nexthops: [] });
  assert.equal(b.shapes.length, 3);
  assert.deepEqual([b.shapeOf(0), b.shapeOf(999), b.shapeOf(1000), b.shapeOf(1001), b.shapeOf(1002)], [0, 0, 0, 1, 2]);
  assert.equal(b.hasWithdrawals, false);
});

test('previousSame links each change to the last earlier one of its prefix; filter keeps order and shapes', () => {
  const b = ChangeBatch.of([
    { prefix: '10.0.0.0/24', kind: 'unicast', nexthops: hops },
    withdraw('10.0.1.0/24'),
    withdraw('10.0.0.0/24'),
    { prefix: '10.0.0.0/25', kind: 'unicast', nexthops: hops }, // another prefix (length)
    { prefix: '10.0.0.0/24', kind: 'blackhole', nexthops: [] },
    withdraw('::/0'),
    withdraw('0.0.0.0/0'), // not the same as ::/0
  ]);
  assert.deepEqual([...b.previousSame()], [-1, -1, 0, -1, 2, -1, -1]);
  const f = b.filter((i) => i !== 1 && i !== 5);
  assert.deepEqual(
    f.toArray().map((c) => `${c.prefix} ${c.kind} ${c.nexthops.length}`),
    ['10.0.0.0/24 unicast 1', '10.0.0.0/24 unicast 0', '10.0.0.0/25 unicast 1', '10.0.0.0/24 blackhole 0', '0.0.0.0/0 unicast 0'],
  );
});

test('a released batch hands its pages to the next one without leaking its words (a table load spans many pages)', () => {
  const big = new ChangeBatch();
  for (let i = 0; i < 40000; i++) big.add({ prefix: `2001:db8:${i.toString(16)}::/48`, kind: 'unicast', nexthops: hops });
  assert.equal(big.change(39999).prefix, '2001:db8:9c3f::/48');
  big.release();
  assert.equal(big.length, 0);
  const next = new ChangeBatch();
  for (let i = 0; i < 20000; i++)
    next.add(i % 2 ? withdraw(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`) : { prefix: `10.1.${(i >> 8) & 255}.0/24`, kind: 'unicast', nexthops: hops });
  assert.deepEqual(next.change(19999), { prefix: '10.0.78.31/32', kind: 'unicast', nexthops: [] });
  assert.deepEqual(next.change(8192), { prefix: '10.1.32.0/24', kind: 'unicast', nexthops: hops });
  assert.deepEqual(next.prefixAt(8193)!.family, 4);
});

test('FibFeed add() + kick() writes the same as push(), in one batch', async () => {
  const fib = new MemoryFib({ keepLog: true });
  const feed = new FibFeed(fib);
  const seen: number[] = [];
  feed.on('written', (b) => seen.push(b.length));
  feed.add({ prefix: '10.244.1.0/26', kind: 'unicast', nexthops: hops });
  feed.add({ prefix: '10.244.2.0/26', kind: 'unicast', nexthops: hops });
  await new Promise((r) => setImmediate(r));
  assert.equal(fib.desiredCount, 0, 'add() alone writes nothing');
  feed.kick();
  await feed.idle();
  assert.deepEqual(seen, [2]);
  assert.deepEqual(
    (await fib.dump()).map((r) => r.prefix),
    ['10.244.1.0/26', '10.244.2.0/26'],
  );
});
