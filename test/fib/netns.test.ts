// NetlinkFib against a real kernel, inside network namespaces of our own (tfib-*); never the
// host table. Each test starts the FIB in a child process under `ip netns exec` and checks the
// kernel with `ip -j route` in the namespace. Root only (skipped otherwise; TERN_CONFORMANCE=1
// makes a missing prerequisite a failure).
//
// IPIP: the test hosts' kernels have no ipip module (`ip link add type ipip` fails, no tunl0) and
// no dummy module either, so the tunnel device is a stand-in veth named by the tunnelDevice
// option (`tfibtun0`). What is tested is Tern's part: the choice of device and the onlink flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FibChild, Netns, describe, monitorRoutes, nsSkipReason } from './helpers/netns.js';
import type { FibChange, ReconcileResult, FibResult } from '../../fib/types.js';

const skip = nsSkipReason();
const via = (prefix: string, ...gws: string[]): FibChange => ({ prefix, kind: 'unicast', nexthops: gws.map((g) => ({ gateway: g })) });
type ApplyResult = { ok: number; failed: FibResult[] };

/** A namespace with tfib1a (198.18.0.1/24, 2001:db8:1::1/64), tfib2a (198.18.1.1/24) and the tunnel stand-in. */
function lab(name: string): Netns {
  const ns = new Netns(name);
  ns.veth('tfib1a', 'tfib1b', '198.18.0.1/24', '2001:db8:1::1/64');
  ns.veth('tfib2a', 'tfib2b', '198.18.1.1/24');
  ns.veth('tfibtun0', 'tfibtun0p', '10.244.7.1/32');
  return ns;
}

async function withFib(name: string, opts: object, body: (ns: Netns, fib: FibChild) => Promise<void>): Promise<void> {
  const ns = lab(name);
  const fib = new FibChild(ns);
  try {
    await fib.call('open', { tunnelDevice: 'tfibtun0', resyncDelayMs: 50, ...opts });
    await body(ns, fib);
  } finally {
    await fib.close();
    ns.destroy();
  }
}

test('install, ECMP, blackhole, tunnel onlink, IPv6 link-local, replace and delete', { skip }, async () => {
  await withFib('tfib-t1', {}, async (ns, fib) => {
    const r = await fib.call<ApplyResult>('apply', [
      via('10.244.1.0/26', '198.18.0.2'),
      via('10.244.2.0/26', '198.18.0.2', '198.18.1.2'),
      { prefix: '10.244.3.0/26', kind: 'blackhole', nexthops: [] },
      via('10.244.4.0/26', '198.19.9.9'), // not on a connected subnet: through the tunnel
      { prefix: '2001:db8:44::/64', kind: 'unicast', nexthops: [{ gateway: 'fe80::2', dev: 'tfib1a' }] },
      { prefix: '2001:db8:45::/64', kind: 'blackhole', nexthops: [] },
    ]);
    assert.deepEqual(r.failed, []);
    let v4 = ns.routes();
    assert.equal(describe(v4.get('10.244.1.0/26')), 'via 198.18.0.2 dev tfib1a');
    assert.equal(describe(v4.get('10.244.2.0/26')), '198.18.0.2@tfib1a*1,198.18.1.2@tfib2a*1');
    assert.equal(describe(v4.get('10.244.3.0/26')), 'blackhole');
    assert.equal(describe(v4.get('10.244.4.0/26')), 'via 198.19.9.9 dev tfibtun0 onlink');
    assert.equal(v4.get('10.244.1.0/26')?.metric, 32);
    const v6 = ns.routes(201, '-6');
    assert.equal(describe(v6.get('2001:db8:44::/64')), 'via fe80::2 dev tfib1a');
    assert.equal(describe(v6.get('2001:db8:45::/64')), 'blackhole');

    await fib.call('apply', [via('10.244.1.0/26', '198.18.1.2'), { prefix: '10.244.2.0/26', kind: 'unicast', nexthops: [] }]);
    v4 = ns.routes();
    assert.equal(describe(v4.get('10.244.1.0/26')), 'via 198.18.1.2 dev tfib2a', 'replaced');
    assert.equal(v4.has('10.244.2.0/26'), false, 'deleted');
    const dump = await fib.call<{ prefix: string }[]>('dump');
    assert.deepEqual(dump.map((d) => d.prefix).sort(), ['10.244.1.0/26', '10.244.3.0/26', '10.244.4.0/26', '2001:db8:44::/64', '2001:db8:45::/64']);
    // The desired state is the FIB's own (issue 12: ternd keeps no copy): show fib reads it here.
    const want = await fib.call<{ routes: FibChange[]; count: number; desires: boolean[] }>('desired', ['10.244.1.0/26', '10.244.2.0/26', '2001:db8:44::/64']);
    assert.equal(want.count, 5);
    assert.deepEqual(want.desires, [true, false, true]);
    assert.deepEqual(want.routes.map((c) => `${c.prefix} ${c.kind} ${c.nexthops.map((h) => h.gateway).join(',')}`).sort(), [
      '10.244.1.0/26 unicast 198.18.1.2',
      '10.244.3.0/26 blackhole ',
      '10.244.4.0/26 unicast 198.19.9.9',
      '2001:db8:44::/64 unicast fe80::2',
      '2001:db8:45::/64 blackhole ',
    ]);
    // Unused nexthop objects are removed once no route points at them.
    const nhs = ns.ip('nexthop show proto 201').trim().split('\n');
    assert.equal(nhs.length, 3, nhs.join('\n')); // 198.18.1.2, 198.19.9.9 onlink, fe80::2
  });
});

test('a foreign route (another protocol) with the same prefix is left alone', { skip }, async () => {
  await withFib('tfib-t2', {}, async (ns, fib) => {
    ns.ip('route add 10.244.9.0/24 via 198.18.0.5 proto static metric 32'); // same key as ours would be
    ns.ip('route add 10.244.8.0/24 via 198.18.0.6 proto static'); // metric 0: coexists with ours
    const r = await fib.call<ApplyResult>('apply', [via('10.244.9.0/24', '198.18.0.2'), via('10.244.8.0/24', '198.18.0.2')]);
    assert.equal(r.failed.length, 1);
    assert.match(r.failed[0].error ?? '', /^EEXIST.*does not own/);
    assert.equal(describe(ns.routes(4).get('10.244.9.0/24')), 'via 198.18.0.5 dev tfib1a', 'foreign route untouched');
    assert.equal(describe(ns.routes(201).get('10.244.8.0/24')), 'via 198.18.0.2 dev tfib1a');
    await fib.call('apply', [
      { prefix: '10.244.9.0/24', kind: 'unicast', nexthops: [] },
      { prefix: '10.244.8.0/24', kind: 'unicast', nexthops: [] },
    ]);
    assert.equal(describe(ns.routes(4).get('10.244.9.0/24')), 'via 198.18.0.5 dev tfib1a', 'our withdraw did not delete it');
    assert.equal(describe(ns.routes(4).get('10.244.8.0/24')), 'via 198.18.0.6 dev tfib1a');
    assert.equal(ns.count(201), 0);
  });
});

test('restart: a new process with the routes already in the kernel changes nothing', { skip }, async () => {
  const desired = [
    via('10.244.1.0/26', '198.18.0.2'),
    via('10.244.2.0/26', '198.18.0.2', '198.18.1.2'),
    { prefix: '10.244.3.0/26', kind: 'blackhole' as const, nexthops: [] },
    via('10.244.4.0/26', '198.19.9.9'),
    { prefix: '2001:db8:44::/64', kind: 'unicast' as const, nexthops: [{ gateway: 'fe80::2', dev: 'tfib1a' }] },
  ];
  const ns = lab('tfib-t3');
  try {
    const first = new FibChild(ns);
    await first.call('open', { tunnelDevice: 'tfibtun0' });
    await first.call('apply', [...desired, via('10.244.5.0/26', '198.18.0.2')]);
    await first.close();
    const before = ns.ip('route show proto 201') + ns.ip('-6 route show proto 201');
    const mon = monitorRoutes(ns);
    await new Promise((r) => setTimeout(r, 200));
    const second = new FibChild(ns);
    await second.call('open', { tunnelDevice: 'tfibtun0' });
    const r = await second.call<ReconcileResult>('reconcile', desired);
    const events = await mon.stop();
    await second.close();
    assert.deepEqual({ ...r, failed: r.failed.length }, { added: 0, replaced: 0, deleted: 1, unchanged: 5, failed: 0 });
    // (The kernel's own link-local routes still settling after link-up are not ours to judge.)
    assert.deepEqual(
      events.filter((l) => l.includes('proto 201') && !l.startsWith('Deleted 10.244.5.0/26')),
      [],
      'only the stale route changed',
    );
    assert.equal(ns.ip('route show proto 201') + ns.ip('-6 route show proto 201'), before.replace(/^10\.244\.5\.0\/26.*\n/m, ''));
  } finally {
    ns.destroy();
  }
});

test('an interface going down withdraws its routes; coming back restores them', { skip }, async () => {
  await withFib('tfib-t4', { ipipMode: 'never' }, async (ns, fib) => {
    await fib.call('apply', [via('10.244.1.0/26', '198.18.0.2'), via('10.244.2.0/26', '198.18.0.2', '198.18.1.2')]);
    ns.ip('link set tfib1a down');
    await fib.waitEvent((e) => e.event === 'resync' && String((e.data as { reason: string }).reason).includes('tfib1a down'));
    let v4 = ns.routes();
    assert.equal(v4.has('10.244.1.0/26'), false, 'single next hop on the downed link: withdrawn');
    assert.equal(describe(v4.get('10.244.2.0/26')), 'via 198.18.1.2 dev tfib2a', 'ECMP keeps the surviving next hop');
    fib.events.length = 0;
    ns.ip('link set tfib1a up');
    await fib.waitEvent((e) => e.event === 'resync' && String((e.data as { reason: string }).reason).includes('tfib1a up'));
    v4 = ns.routes();
    assert.equal(describe(v4.get('10.244.1.0/26')), 'via 198.18.0.2 dev tfib1a', 'restored');
    assert.equal(describe(v4.get('10.244.2.0/26')), '198.18.0.2@tfib1a*1,198.18.1.2@tfib2a*1');
  });
});

test('a route of ours deleted by someone else is put back; decouple stops writing and leaves the kernel as it is; flush removes all (issue 17); couple restores', {
  skip,
}, async () => {
  await withFib('tfib-t5', {}, async (ns, fib) => {
    await fib.call('apply', [
      via('10.244.1.0/26', '198.18.0.2'),
      via('10.244.2.0/26', '198.18.1.2'),
      { prefix: '10.244.9.0/26', kind: 'blackhole', nexthops: [] },
    ]);
    ns.ip('route del 10.244.1.0/26 proto 201 metric 32');
    await fib.waitEvent((e) => e.event === 'resync' && (e.data as ReconcileResult).added === 1);
    assert.equal(describe(ns.routes().get('10.244.1.0/26')), 'via 198.18.0.2 dev tfib1a');
    // Issue 17: `fib decouple` "stops writing"; it used to delete every route, blackholes too.
    await fib.call('decouple');
    assert.equal(ns.count(201), 3, 'decouple leaves the kernel as it is');
    await fib.call('apply', [via('10.244.3.0/26', '198.18.0.2'), via('10.244.2.0/26', '198.18.0.2')]); // recorded, not written
    assert.equal(ns.count(201), 3);
    assert.equal(describe(ns.routes().get('10.244.2.0/26')), 'via 198.18.1.2 dev tfib2a', 'a change while decoupled is not written');
    assert.equal(ns.routes().has('10.244.3.0/26'), false);
    // A route of ours at another metric (a previous run with --metric) is Tern's too.
    ns.ip('route add 10.244.8.0/26 via 198.18.0.2 proto 201 metric 77');
    assert.equal(await fib.call<number>('flush'), 4, "flush removes every route of Tern's protocol");
    assert.equal(ns.count(201), 0);
    assert.equal(ns.routes().has('10.244.9.0/26'), false, 'the blackhole is gone too');
    const r = await fib.call<ReconcileResult>('couple');
    assert.equal(r.added, 4);
    assert.equal(ns.count(201), 4);
    assert.equal(describe(ns.routes().get('10.244.2.0/26')), 'via 198.18.0.2 dev tfib1a', 'couple writes what changed while decoupled');
    assert.equal(describe(ns.routes().get('10.244.9.0/26')), 'blackhole');
    await assert.rejects(fib.call('flush'), /coupled/, 'flush while coupled would be undone by the next write: refused');
    assert.equal(ns.count(201), 4);
  });
});

test('inline next hops (RTA_MULTIPATH) when nexthop objects are off; a later run with them changes nothing', { skip }, async () => {
  await withFib('tfib-t6', { nexthopObjects: false }, async (ns, fib) => {
    await fib.call('apply', [via('10.244.2.0/26', '198.18.0.2', '198.18.1.2'), via('10.244.1.0/26', '198.18.0.2')]);
    const r = ns.routes().get('10.244.2.0/26');
    assert.equal(r?.nhid, undefined);
    assert.equal(describe(r), '198.18.0.2@tfib1a*1,198.18.1.2@tfib2a*1');
    const again = new FibChild(ns);
    try {
      await again.call('open', { tunnelDevice: 'tfibtun0' });
      const rr = await again.call<ReconcileResult>('reconcile', [via('10.244.2.0/26', '198.18.1.2', '198.18.0.2'), via('10.244.1.0/26', '198.18.0.2')]);
      assert.deepEqual([rr.added, rr.replaced, rr.deleted, rr.unchanged], [0, 0, 0, 2]);
    } finally {
      await again.close();
    }
  });
});

test('100k routes in one apply, then withdrawn (partly route by route, the rest with their nexthop object)', { skip }, async () => {
  await withFib('tfib-t7', {}, async (ns, fib) => {
    const add = await fib.call<ApplyResult>('apply', { generate: 100000, gateway: '198.18.0.2' });
    assert.equal(add.ok, 100000);
    assert.equal(ns.count(201), 100000);
    // 90k of the 100k: one RTM_DELROUTE each (the shared nexthop object must stay for the rest).
    const del = await fib.call<ApplyResult>('apply', { generate: 90000, gateway: 'withdraw' });
    assert.equal(del.ok, 90000);
    assert.equal(ns.count(201), 10000);
    assert.equal(ns.ip('nexthop show proto 201').trim().split('\n').length, 1);
    // The last 10k are every route of that nexthop: deleting the object removes them at once.
    const rest = await fib.call<ApplyResult>('apply', { generate: 10000, gateway: 'withdraw', from: 90000 });
    assert.equal(rest.ok, 10000);
    assert.equal(ns.count(201), 0);
    assert.equal(ns.ip('nexthop show proto 201').trim(), '');
  });
});

test('issue 18: a table load and a bulk withdrawal through the packed feed (IPv4 and IPv6) are exactly what the kernel holds; a route removed by another writer after the load is put back', {
  skip,
}, async () => {
  type Fed = { written: number; failed: string[]; desired: number };
  await withFib('tfib-t12', {}, async (ns, fib) => {
    // 20k + 20k: each above quietBulkRoutes (10k), so written with the route groups left.
    const v4 = await fib.call<Fed>('feed', { generate: 20000, gateway: '198.18.0.2' });
    const v6 = await fib.call<Fed>('feed', { generate: 20000, gateway: '2001:db8:1::2', family: 6 });
    assert.deepEqual([v4.failed, v6.failed], [[], []]);
    assert.equal(v6.desired, 40000);
    const k4 = ns.routes(201, '-4');
    const k6 = ns.routes(201, '-6');
    assert.equal(k4.size, 20000);
    assert.equal(k6.size, 20000);
    // First, last and one between, by the text the kernel prints: prefix and next hop decoded from the packed words.
    for (const p of ['10.0.0.0/24', '10.78.31.0/24', '10.18.52.0/24']) assert.equal(describe(k4.get(p)), 'via 198.18.0.2 dev tfib1a', p);
    assert.equal(k4.has('10.78.32.0/24'), false, 'no more than asked');
    for (const p of ['2001:db8:100::/64', '2001:db8:100:4e1f::/64', '2001:db8:100:1234::/64'])
      assert.equal(describe(k6.get(p)), 'via 2001:db8:1::2 dev tfib1a', p);
    assert.equal(k6.has('2001:db8:100:4e20::/64'), false, 'no more than asked');

    // Someone else deletes one route of each family: the FIB sees it and puts them back.
    ns.ip('route del 10.0.7.0/24 proto 201 metric 32');
    ns.ip('-6 route del 2001:db8:100:7::/64 proto 201 metric 32');
    await fib.waitEvent((e) => e.event === 'resync' && (e.data as ReconcileResult).added === 2);
    assert.equal(describe(ns.routes(201, '-4').get('10.0.7.0/24')), 'via 198.18.0.2 dev tfib1a');
    assert.equal(describe(ns.routes(201, '-6').get('2001:db8:100:7::/64')), 'via 2001:db8:1::2 dev tfib1a');

    // The bulk withdrawal: every route of each nexthop object goes in one batch.
    const w4 = await fib.call<Fed>('feed', { generate: 20000, gateway: 'withdraw' });
    const w6 = await fib.call<Fed>('feed', { generate: 20000, gateway: 'withdraw', family: 6 });
    assert.deepEqual([w4.failed, w6.failed, w4.written, w6.written], [[], [], 20000, 20000]);
    assert.equal(w6.desired, 0);
    assert.equal(ns.routes(201, '-4').size, 0);
    assert.equal(ns.routes(201, '-6').size, 0);
    assert.equal(ns.ip('nexthop show proto 201').trim(), '', 'no nexthop object of ours is left');
    // A withdrawal of what is no longer desired is dropped by the feed: nothing written.
    const again = await fib.call<Fed>('feed', { generate: 100, gateway: 'withdraw' });
    assert.equal(again.written, 0);
  });
});

test('event socket overrun (ENOBUFS) under a flood triggers a resync, not a crash', { skip }, async () => {
  await withFib('tfib-t8', { eventRcvbuf: 4096, quietBulkRoutes: 0, eventStallMs: 20 }, async (ns, fib) => {
    // Our own 20k installs notify the route groups; a 4 KiB buffer read every 20 ms overruns.
    // (Without the stall the reader thread, on the other core, may keep up on an idle machine.)
    const add = await fib.call<ApplyResult>('apply', { generate: 20000, gateway: '198.18.0.2' });
    assert.equal(add.ok, 20000);
    const ev = await fib.waitEvent((e) => e.event === 'resync' && String((e.data as { reason: string }).reason).includes('ENOBUFS'));
    assert.equal((ev.data as ReconcileResult).unchanged, 20000, 'the resync found the kernel right');
    assert.equal(ns.count(201), 20000);
    assert.equal((await fib.call<unknown[]>('dump')).length, 20000, 'still serving');
  });
});

test('a failure inside a datagram is reported for its own prefix, with or without an ACK per request', { skip }, async () => {
  for (const ackEach of [false, true]) {
    await withFib(`tfib-t9${ackEach ? 'a' : 'b'}`, { ackEach }, async (ns, fib) => {
      ns.ip('route add 10.244.12.0/24 via 198.18.0.5 proto static metric 32');
      const batch = [
        via('10.244.11.0/24', '198.18.0.2'),
        via('10.244.12.0/24', '198.18.0.2'),
        via('10.244.13.0/24', '198.18.0.2'),
        via('10.244.14.0/24', '198.18.0.2', '198.18.1.2'),
      ];
      const r = await fib.call<ApplyResult>('apply', batch);
      assert.deepEqual(
        r.failed.map((f) => f.prefix),
        ['10.244.12.0/24'],
        `ackEach=${ackEach}`,
      );
      assert.match(r.failed[0].error ?? '', /^EEXIST/);
      assert.deepEqual([...ns.routes(201).keys()].sort(), ['10.244.11.0/24', '10.244.13.0/24', '10.244.14.0/24']);
    });
  }
});

// Calico's bird.cfg puts `gateway recursive` on its sessions: with IPIP off (the daemon opens the
// FIB with ipipMode never), a node in another L3 subnet is reached through the underlay route.
// 198.18.4.0/24 stands for that other subnet, behind 198.18.0.254 (tfib1a) or 198.18.1.254 (tfib2a).
test('ipipMode never: next hops in another subnet go through the underlay route, follow it when it changes, and never through our own routes', {
  skip,
}, async () => {
  await withFib('tfib-t10', { ipipMode: 'never' }, async (ns, fib) => {
    ns.ip('route add 198.18.4.0/24 via 198.18.0.254 proto static');
    const r = await fib.call<ApplyResult>('apply', [via('10.244.20.0/26', '198.18.4.7'), via('10.244.21.0/26', '198.18.5.7')]);
    // 198.18.5.7 has no route at all: that one fails, and says why.
    assert.deepEqual(
      r.failed.map((f) => f.prefix),
      ['10.244.21.0/26'],
    );
    assert.match(r.failed[0].error ?? '', /ENETUNREACH.*198\.18\.5\.7.*no route of the kernel/);
    assert.equal(describe(ns.routes().get('10.244.20.0/26')), 'via 198.18.0.254 dev tfib1a', 'installed through the underlay gateway');
    // The underlay moves to the other link: the route follows (a resync on the route event).
    fib.events.length = 0;
    ns.ip('route replace 198.18.4.0/24 via 198.18.1.254 proto static');
    await fib.waitEvent((e) => e.event === 'resync' && String((e.data as { reason: string }).reason).includes('198.18.4.7'));
    assert.equal(describe(ns.routes().get('10.244.20.0/26')), 'via 198.18.1.254 dev tfib2a');
    // A route for 198.18.5.0/24 appears: the waiting route is installed.
    fib.events.length = 0;
    ns.ip('route add 198.18.5.0/24 dev tfib2a proto static');
    await fib.waitEvent((e) => e.event === 'resync' && (e.data as ReconcileResult).added === 1);
    assert.equal(describe(ns.routes().get('10.244.21.0/26')), 'via 198.18.5.7 dev tfib2a onlink', 'a device route: the next hop itself, onlink');
    // The underlay goes away: withdrawn. A route of Tern's own covering the next hop is no way
    // there (a next hop must not resolve through routes that depend on it).
    await fib.call('apply', [via('198.18.4.0/24', '198.18.0.2')]);
    fib.events.length = 0;
    ns.ip('route del 198.18.4.0/24 proto static');
    await fib.waitEvent((e) => e.event === 'resync' && String((e.data as { reason: string }).reason).includes('198.18.4.7'));
    const v4 = ns.routes();
    assert.equal(v4.has('10.244.20.0/26'), false, 'withdrawn with its underlay route');
    assert.equal(describe(v4.get('198.18.4.0/24')), 'via 198.18.0.2 dev tfib1a', "Tern's own route stays");
  });
});

test('a route with its own metric (a Calico route priority, BGPFilter setPriority): installed at it, moved to another with the old one removed, back to the FIB metric, kept across a restart, withdrawn at it', {
  skip,
}, async () => {
  const ns = lab('tfib-t11');
  const at = (metric?: number): FibChange => ({ ...via('10.244.1.0/26', '198.18.0.2'), ...(metric !== undefined ? { metric } : {}) });
  // Every kernel route of ours for the prefix, as "metric N" (one line per route: the metric is part of its key).
  const metrics = () =>
    ns
      .ip('route show proto 201')
      .split('\n')
      .filter((l) => l.startsWith('10.244.1.0/26'))
      .map((l) => / metric (\d+)/.exec(l)?.[1] ?? 'none');
  try {
    const first = new FibChild(ns);
    await first.call('open', { tunnelDevice: 'tfibtun0' });
    assert.deepEqual((await first.call<ApplyResult>('apply', [at(512)])).failed, []);
    assert.deepEqual(metrics(), ['512']);
    assert.deepEqual((await first.call<ApplyResult>('apply', [at(256)])).failed, []);
    assert.deepEqual(metrics(), ['256'], 'moved: the route at 512 is gone');
    await first.call('apply', [at()]);
    assert.deepEqual(metrics(), ['32'], 'back to the FIB metric');
    await first.call('apply', [at(512)]);
    assert.deepEqual(metrics(), ['512']);
    await first.close();

    // A restart finds the route at its own metric and, desired as it is, leaves it alone.
    const mon = monitorRoutes(ns);
    await new Promise((r) => setTimeout(r, 200));
    const second = new FibChild(ns);
    await second.call('open', { tunnelDevice: 'tfibtun0' });
    const r = await second.call<ReconcileResult>('reconcile', [at(512)]);
    const events = await mon.stop();
    assert.deepEqual({ ...r, failed: r.failed.length }, { added: 0, replaced: 0, deleted: 0, unchanged: 1, failed: 0 });
    assert.deepEqual(
      events.filter((l) => l.includes('proto 201')),
      [],
      'nothing rewritten',
    );
    // A leftover at another metric (a crash between the two halves of a move) is removed.
    ns.ip('route add 10.244.1.0/26 via 198.18.0.2 proto 201 metric 700');
    const r2 = await second.call<ReconcileResult>('reconcile', [at(512)]);
    assert.equal(r2.deleted, 1);
    assert.deepEqual(metrics(), ['512']);
    await second.call('apply', [{ prefix: '10.244.1.0/26', kind: 'unicast', nexthops: [] }]);
    assert.deepEqual(metrics(), [], 'withdrawn at its own metric');
    await second.close();
  } finally {
    ns.destroy();
  }
});
