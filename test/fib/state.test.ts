// The FIB's bookkeeping without a kernel: the typed-array prefix table against a Map model, the
// nexthop-object reference counts (a shared nexthop must outlive its last route and no longer),
// and MemoryFib/NoneFib semantics (withdraw = empty next hops; OpenBGPD fib couple/decouple).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrefix, formatPrefix } from '../../fib/prefix.js';
import { PrefixTable } from '../../fib/prefix-table.js';
import { NexthopTable } from '../../fib/nexthops.js';
import { makeSpec } from '../../fib/resolve.js';
import { MemoryFib, NoneFib } from '../../fib/memory.js';
import { withdraw } from '../../fib/types.js';

test('prefix table agrees with a Map model through growth, removals and reinsertion', () => {
  const t = new PrefixTable();
  const model = new Map<string, [number, number]>();
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let step = 0; step < 40000; step++) {
    const i = rnd(3000);
    const p = parsePrefix(i % 5 === 0 ? `2001:db8:${i.toString(16)}::/48` : `10.${i >> 8}.${i & 255}.0/24`)!;
    const text = formatPrefix(p);
    const [d, n] = model.get(text) ?? [-1, -1];
    const v = rnd(4) - 1;
    const slot = t.insert(p);
    if (rnd(2)) {
      t.setDesired(slot, v);
      if (v >= 0 || n >= 0) model.set(text, [v, n]);
      else model.delete(text);
    } else {
      t.setInstalled(slot, v);
      if (v >= 0 || d >= 0) model.set(text, [d, v]);
      else model.delete(text);
    }
    if (!model.has(text)) assert.equal(t.find(p), -1, `${text} removed once empty`);
  }
  assert.equal(t.size, model.size);
  assert.equal(t.desiredCount, [...model.values()].filter(([d]) => d >= 0).length, 'desiredCount follows setDesired');
  for (const [text, [d, n]] of model) {
    const s = t.find(parsePrefix(text)!);
    assert.ok(s >= 0, text);
    assert.deepEqual([t.desired(s), t.installed(s)], [d, n], text);
  }
  const seen = new Set([...t.slots()].map((s) => formatPrefix(t.prefixAt(s))));
  assert.deepEqual([...seen].sort(), [...model.keys()].sort());
});

test('prefix table: an entry keeps its slot while the table grows around it (writes in flight hold slots across awaits)', () => {
  const t = new PrefixTable();
  const first = parsePrefix('10.0.0.0/24')!;
  const slot = t.insert(first);
  t.setDesired(slot, 7);
  const slots = new Set<number>([slot]);
  for (let i = 1; i < 200000; i++) {
    const s = t.insert(parsePrefix(`${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`)!);
    t.setInstalled(s, 1);
    slots.add(s);
  }
  assert.equal(slots.size, 200000, 'one slot per prefix');
  assert.equal(t.find(first), slot, 'same slot after growing from one page to 200k entries');
  assert.equal(t.desired(slot), 7);
  assert.ok(t.capacity >= 200000 && t.capacity < 200000 + 65536, `entry room grows a 64k-entry page at a time: ${t.capacity}`);
  // A removed entry's slot is handed out again rather than growing the arrays.
  t.setDesired(slot, -1);
  assert.equal(t.find(first), -1);
  const again = t.insert(parsePrefix('203.0.113.0/24')!);
  assert.equal(again, slot, 'the freed slot is reused');
});

const hop = (last: number, weight = 1) => ({ family: 4 as const, gateway: Buffer.from([198, 18, 0, last]), ifindex: 3, onlink: false, weight });

test('nexthop objects: shared by routes, groups hold their members, freed after the last user', () => {
  const nh = new NexthopTable(1000);
  const a = nh.acquire(makeSpec('unicast', [hop(2)]));
  const b = nh.acquire(makeSpec('unicast', [hop(2)]));
  assert.equal(a.id, b.id);
  assert.equal(a.creates.length, 1);
  assert.equal(b.creates.length, 0);
  const g = nh.acquire(makeSpec('unicast', [hop(2), hop(3, 2)]));
  assert.deepEqual(
    g.creates.map((c) => (c.group ? 'group' : 'single')),
    ['single', 'group'],
    'only the missing member, then the group',
  );
  nh.release(a.id);
  assert.deepEqual(nh.collect(), [], 'still used by b and by the group');
  nh.release(b.id);
  assert.deepEqual(nh.collect(), [], 'still a member of the group');
  nh.release(g.id);
  const freed = nh.collect();
  assert.equal(freed[0], g.id, 'the group goes before its members');
  assert.equal(freed.length, 3);
  assert.equal(nh.size, 0);
});

test('nexthop ids used by others are never allocated', () => {
  const nh = new NexthopTable(1000);
  nh.reserveForeign(1000);
  nh.reserveForeign(1001);
  assert.equal(nh.acquire(makeSpec('unicast', [hop(9)])).id, 1002);
});

test('MemoryFib: empty next hops withdraw, blackholes install, failures name their change', async () => {
  const fib = new MemoryFib();
  const r = await fib.apply([
    { prefix: '10.244.1.0/26', kind: 'unicast', nexthops: [{ gateway: '198.18.0.2' }] },
    { prefix: '10.244.2.0/26', kind: 'blackhole', nexthops: [] },
    { prefix: 'nonsense', kind: 'unicast', nexthops: [{ gateway: '198.18.0.2' }] },
  ]);
  assert.deepEqual(r, [{ index: 2, prefix: 'nonsense', error: 'EINVAL: bad prefix nonsense' }]);
  await fib.apply([withdraw('10.244.1.0/26')]);
  assert.deepEqual(
    (await fib.dump()).map((x) => [x.prefix, x.kind]),
    [['10.244.2.0/26', 'blackhole']],
  );
});

test('MemoryFib reconcile: adds, replaces, deletes, leaves the rest (ECMP order does not matter)', async () => {
  const fib = new MemoryFib();
  await fib.apply([
    { prefix: '10.0.1.0/24', kind: 'unicast', nexthops: [{ gateway: '198.18.0.2' }, { gateway: '198.18.0.3' }] },
    { prefix: '10.0.2.0/24', kind: 'unicast', nexthops: [{ gateway: '198.18.0.2' }] },
    { prefix: '10.0.3.0/24', kind: 'unicast', nexthops: [{ gateway: '198.18.0.2' }] },
  ]);
  const r = await fib.reconcile([
    { prefix: '10.0.1.0/24', kind: 'unicast', nexthops: [{ gateway: '198.18.0.3' }, { gateway: '198.18.0.2' }] },
    { prefix: '10.0.2.0/24', kind: 'unicast', nexthops: [{ gateway: '198.18.0.9' }] },
    { prefix: '10.0.4.0/24', kind: 'blackhole', nexthops: [] },
  ]);
  assert.deepEqual({ ...r, failed: r.failed.length }, { added: 1, replaced: 1, deleted: 1, unchanged: 1, failed: 0 });
});

test('fib decouple stops writing and leaves the kernel as it is; flush removes; couple restores (issue 17)', async () => {
  const fib = new MemoryFib();
  await fib.apply([
    { prefix: '10.0.1.0/24', kind: 'unicast', nexthops: [{ gateway: '198.18.0.2' }] },
    { prefix: '10.0.9.0/24', kind: 'blackhole', nexthops: [] },
  ]);
  await assert.rejects(fib.flush(), /coupled/);
  await fib.decouple();
  assert.equal(fib.coupled, false);
  await fib.apply([{ prefix: '10.0.2.0/24', kind: 'unicast', nexthops: [{ gateway: '198.18.0.2' }] }]);
  assert.deepEqual((await fib.dump()).map((r) => r.prefix).sort(), ['10.0.1.0/24', '10.0.9.0/24']);
  assert.equal(await fib.flush(), 2);
  assert.deepEqual(await fib.dump(), []);
  assert.equal(fib.desiredRoutes().length, 3);
  const r = await fib.couple();
  assert.equal(r.added, 3);
  assert.equal((await fib.dump()).length, 3);
});

test('NoneFib (--fib none) records and never installs, even when asked to couple', async () => {
  const fib = new NoneFib();
  await fib.apply([{ prefix: '10.0.1.0/24', kind: 'unicast', nexthops: [{ gateway: '198.18.0.2' }] }]);
  await fib.couple();
  assert.deepEqual(await fib.dump(), []);
  assert.equal(fib.desiredRoutes().length, 1);
  assert.equal(fib.coupled, false);
});

test('nexthop refcounts: a dump that restarts (NLM_F_DUMP_INTR) counts its routes once', () => {
  const nh = new NexthopTable(1000);
  nh.adoptSingle(1000, hop(2));
  nh.adoptSingle(1001, hop(3));
  assert.ok(
    nh.adoptGroup(1002, [
      { id: 1000, weight: 1 },
      { id: 1001, weight: 1 },
    ]),
  );
  const base = nh.refCounts();
  assert.deepEqual(
    [...base],
    [
      [1000, 1],
      [1001, 1],
      [1002, 0],
    ],
    'group memberships only',
  );
  nh.ref(1000);
  nh.ref(1002); // the interrupted first pass saw two routes...
  nh.restoreRefs(base);
  nh.ref(1000);
  nh.ref(1002); // ...and the complete second pass sees them again
  assert.equal(nh.refsOf(1000), 2);
  assert.equal(nh.refsOf(1002), 1);
  nh.release(1002);
  assert.deepEqual(nh.collect(), [1002, 1001], 'the group and its now unused member go; 1000 still has its route');
});
