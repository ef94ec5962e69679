// Self-test of the conformance lab: BIRD 2 and FRR peering in two network namespaces. This checks
// the harness (namespaces, daemons, parsers, teardown) and the kernel's TCP MD5 support before any
// Tern scenario relies on them.

import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  Lab,
  startBird,
  startFrr,
  waitBirdEstablished,
  waitFrrEstablished,
  birdRoutes,
  birdBgpState,
  frrRoutes,
  frrNeighbor,
  frrRouteDetail,
  frrConfigure,
  routesInNs,
  conformanceGate,
  netnsListSync,
  netnsPidsSync,
  waitFor,
  sleep,
  type BirdConfig,
  type FrrConfig,
} from './lab/index.js';

interface PairOpts {
  birdPassive?: boolean;
  frrPassive?: boolean;
  birdPassword?: string;
  frrPassword?: string;
  /** BIRD kernel protocol + FRR zebra: learned routes go to the namespace FIBs. */
  fib?: boolean;
}

/** BIRD (AS 4200000001) and FRR (AS 4200000002) in namespaces `<id>-bird` / `<id>-frr`. */
async function pair(t: TestContext, id: string, net: number, o: PairOpts = {}) {
  const lab = await Lab.create(id);
  t.after(() => lab.destroy());
  const b = await lab.addHost(`${id}-bird`);
  const f = await lab.addHost(`${id}-frr`);
  const [b4, f4, b6, f6] = [`198.18.${net}.1`, `198.18.${net}.2`, `2001:db8:${net}::1`, `2001:db8:${net}::2`];
  await lab.link(b, f, { v4: `${b4}/24`, v4b: `${f4}/24`, v6: `${b6}/64`, v6b: `${f6}/64` });
  const birdCfg: BirdConfig = {
    routerId: b4,
    kernel: o.fib,
    static4: [{ prefix: '10.244.1.0/26', attrs: ['bgp_community.add((65000,100));', 'bgp_large_community.add((4200000001,1,2));'] }],
    static6: [{ prefix: '2001:db8:100::/48' }],
    neighbors: [
      {
        name: 'frr',
        localAddr: b4,
        localAs: 4200000001,
        neighborAddr: f4,
        neighborAs: 4200000002,
        passive: o.birdPassive,
        password: o.birdPassword,
        gracefulRestart: true,
        ipv4: {},
        ipv6: { nextHopAddress: b6 },
      },
    ],
  };
  const frrCfg: FrrConfig = {
    asn: 4200000002,
    routerId: f4,
    routeMaps: 'route-map ATTRS permit 10\n set community 65000:300\n set metric 77',
    networks4: [{ prefix: '10.244.2.0/26', routeMap: 'ATTRS' }],
    networks6: ['2001:db8:200::/48'],
    neighbors: [{ addr: b4, remoteAs: 4200000001, passive: o.frrPassive, password: o.frrPassword, ipv4: {}, ipv6: { ipv6NextHop: f6 } }],
  };
  await startFrr(lab, f, frrCfg, { zebra: o.fib });
  await startBird(lab, b, birdCfg);
  return { lab, b, f, b4, f4, b6, f6 };
}

async function routesExchanged(p: Awaited<ReturnType<typeof pair>>): Promise<void> {
  await waitFor('routes exchanged', 15_000, async () => {
    const bird = (await birdRoutes(p.lab, p.b, { proto: 'frr' })).map((r) => r.prefix);
    const frr4 = (await frrRoutes(p.lab, p.f, 'ipv4')).filter((r) => r.peerId === p.b4).map((r) => r.prefix);
    const frr6 = (await frrRoutes(p.lab, p.f, 'ipv6')).filter((r) => r.peerId === p.b4).map((r) => r.prefix);
    return bird.includes('10.244.2.0/26') && bird.includes('2001:db8:200::/48') && frr4.includes('10.244.1.0/26') && frr6.includes('2001:db8:100::/48');
  });
}

test('lab: BIRD connects, FRR passive: eBGP Established, IPv4+IPv6 routes and attributes both ways (RFC 4271 §8, RFC 4760)', async (t) => {
  if (!conformanceGate(t)) return;
  const p = await pair(t, 'tcl1', 11, { frrPassive: true });
  await waitBirdEstablished(p.lab, p.b, 'frr');
  await waitFrrEstablished(p.lab, p.f, p.b4);
  // FRR is passive, so BIRD opened the connection: FRR's end is port 179.
  const n = await frrNeighbor(p.lab, p.f, p.b4);
  assert.equal(n.portLocal, 179, `FRR local port ${String(n.portLocal)}`);
  await routesExchanged(p);

  const fromFrr = (await birdRoutes(p.lab, p.b, { proto: 'frr' })).find((r) => r.prefix === '10.244.2.0/26');
  assert.ok(fromFrr, 'BIRD has 10.244.2.0/26 from FRR');
  assert.deepEqual(fromFrr.asPath, [4200000002]);
  assert.equal(fromFrr.nexthop, p.f4);
  assert.equal(fromFrr.med, 77);
  assert.deepEqual(fromFrr.communities, ['65000,300']);
  const v6 = (await birdRoutes(p.lab, p.b, { proto: 'frr', family: 'ipv6' })).find((r) => r.prefix === '2001:db8:200::/48');
  assert.equal(v6?.attrs.next_hop, p.f6);

  const fromBird = (await frrRoutes(p.lab, p.f, 'ipv4')).find((r) => r.prefix === '10.244.1.0/26');
  assert.ok(fromBird, 'FRR has 10.244.1.0/26 from BIRD');
  assert.deepEqual(fromBird.asPath, [4200000001]);
  assert.deepEqual(fromBird.nexthops, [p.b4]);
  const detail = await frrRouteDetail(p.lab, p.f, '10.244.1.0/26');
  const comm = detail[0]?.community as { string?: string } | undefined;
  const large = detail[0]?.largeCommunity as { string?: string } | undefined;
  assert.equal(comm?.string, '65000:100');
  assert.equal(large?.string, '4200000001:1:2');
  const frr6 = (await frrRoutes(p.lab, p.f, 'ipv6')).find((r) => r.prefix === '2001:db8:100::/48');
  assert.deepEqual(frr6?.nexthops, [p.b6]);
});

test('lab: FRR connects, BIRD passive; routes reach both namespace FIBs via BIRD kernel and FRR zebra', async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'bgpd', 'zebra', 'vtysh'])) return;
  const p = await pair(t, 'tcl2', 12, { birdPassive: true, fib: true });
  await waitBirdEstablished(p.lab, p.b, 'frr');
  await waitFrrEstablished(p.lab, p.f, p.b4);
  const n = await frrNeighbor(p.lab, p.f, p.b4);
  assert.equal(n.portForeign, 179, `FRR connected out, so its peer's port is 179 (got ${String(n.portForeign)})`);
  await routesExchanged(p);
  const inBird = await waitFor('BIRD FIB has the FRR routes', 10_000, async () => {
    const r = await routesInNs(p.lab, p.b, { proto: 'bird' });
    return r.some((x) => x.dst === '10.244.2.0/26') && r.some((x) => x.dst === '2001:db8:200::/48') && r;
  });
  assert.equal(inBird.find((x) => x.dst === '10.244.2.0/26')?.gateway, p.f4);
  const inFrr = await waitFor('FRR FIB has the BIRD routes', 10_000, async () => {
    const r = await routesInNs(p.lab, p.f, { proto: 'bgp' });
    return r.some((x) => x.dst === '10.244.1.0/26') && r.some((x) => x.dst === '2001:db8:100::/48') && r;
  });
  assert.equal(inFrr.find((x) => x.dst === '10.244.1.0/26')?.gateway, p.b4);
  assert.equal(inFrr.find((x) => x.dst === '2001:db8:100::/48')?.gateway, p.b6);
});

test('lab: TCP MD5 (RFC 2385): a wrong password never establishes, the right one does', async (t) => {
  if (!conformanceGate(t)) return;
  const p = await pair(t, 'tcl3', 13, { birdPassword: 'lab-secret', frrPassword: 'wrong-secret' });
  // Several connect retries (1 s) and hold times (3 s) fit in this window.
  const deadline = Date.now() + 6000;
  while (Date.now() < deadline) {
    assert.notEqual(await birdBgpState(p.lab, p.b, 'frr'), 'Established', 'established with mismatched MD5 passwords');
    assert.notEqual((await frrNeighbor(p.lab, p.f, p.b4)).bgpState, 'Established');
    await sleep(300);
  }
  await frrConfigure(p.lab, p.f, 'router bgp 4200000002', `neighbor ${p.b4} password lab-secret`);
  await waitBirdEstablished(p.lab, p.b, 'frr', 20_000);
  await waitFrrEstablished(p.lab, p.f, p.b4);
  await routesExchanged(p);
});

test('lab: teardown removes every namespace and process it created, also after a failure', async (t) => {
  if (!conformanceGate(t)) return;
  const lab = await Lab.create('tcl4');
  let pids: number[] = [];
  await assert.rejects(async () => {
    try {
      const a = await lab.addHost('tcl4-a');
      const b = await lab.addHost('tcl4-b');
      await lab.link(a, b, { v4: '198.18.14.1/24', v4b: '198.18.14.2/24' });
      await startBird(lab, a, { routerId: '198.18.14.1', neighbors: [{ name: 'b', localAs: 65001, neighborAddr: '198.18.14.2', neighborAs: 65002 }] });
      await startFrr(lab, b, { asn: 65002, routerId: '198.18.14.2', neighbors: [{ addr: '198.18.14.1', remoteAs: 65001 }] }, { zebra: true });
      lab.spawn(a, 'sleep', ['600']);
      pids = [...lab.children.keys()];
      assert.equal(pids.length, 4); // bird, zebra, bgpd, sleep
      throw new Error('test body failed');
    } finally {
      await lab.destroy();
    }
  }, /test body failed/);
  assert.deepEqual(
    netnsListSync().filter((n) => n.startsWith('tcl4-')),
    [],
  );
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), `process ${pid} still alive`);
  // A stale namespace from a crashed run is removed (with its processes) when the name is reused.
  const stale = await Lab.create('tcl4');
  t.after(() => stale.destroy());
  await stale.addHost('tcl4-a');
  const orphan = stale.spawn('tcl4-a', 'sleep', ['600']);
  stale.children.delete(orphan.pid!); // forget it, as a crashed run would
  const again = await Lab.create('tcl4');
  t.after(() => again.destroy());
  await again.addHost('tcl4-a');
  await waitFor('orphan killed', 5000, () => orphan.exitCode !== null || orphan.signalCode !== null);
  assert.deepEqual(netnsPidsSync('tcl4-a'), []);
});
