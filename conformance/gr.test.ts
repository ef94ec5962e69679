// Issue 8, "restart without loss", against real peers in namespaces: ternd runs with
// `--fib kernel`, BIRD 2 and FRR 8.4 are its GR helpers (and it theirs). Every kernel involved is
// watched with `ip monitor route` so a route deleted and re-added between two polls is caught.
//   A: kill -9 of a Tern node (RFC 4724 §4.1 restarting speaker with forwarding state kept; §4.2
//      helpers: BIRD, FRR, another Tern node).
//   B: BIRD restarts with one route fewer: Tern keeps the others, sweeps that one (RFC 4724 §4.2).
//   C: BIRD does not come back: stale routes go at its restart time, not before (RFC 4724 §4.2).
//   D: Hard Reset (RFC 8538 §3) flushes at once on FRR and on a Tern peer.
//   E: ternd restarting while its only peer is gone reconciles after --fib-sync-timeout.
// Long-lived GR (RFC 9494) is in llgr.test.ts.
// One file on purpose (~430 lines): scenarios A-E share the cluster model, its kernel
// expectations and node start-up below (clusterModel, wantKernel, startNode).

import test from 'node:test';
import assert from 'node:assert/strict';
import {
  blockDoc,
  Lab,
  pairLab,
  TERND,
  birdProtocol,
  birdRoutes,
  bgpctl,
  conformanceGate,
  frrJson,
  sleep,
  startBird,
  startFrr,
  startTernd,
  waitBirdEstablished,
  waitFor,
  waitFrrEstablished,
  type BirdConfig,
  type CalicoModel,
  type Ternd,
} from './lab/index.js';
import { killHard, monitorRoutes, restartBird, ribRows, ternKernel, type RouteMonitor } from './lab/restart.js';

interface FrrPath {
  stale?: boolean;
  peerId?: string;
  valid?: boolean;
}
const frrPaths = async (lab: Lab, host: string, prefix: string): Promise<FrrPath[]> =>
  ((await frrJson<{ routes?: Record<string, FrrPath[]> }>(lab, host, 'show bgp ipv4 unicast json')).routes ?? {})[prefix] ?? [];

// ---------------------------------------------------------------- A + D: Tern node, BIRD, FRR

const SW = '198.18.60';
const N = [
  { name: 'n1', host: 'tga-n1', addr: `${SW}.11`, block: '10.244.1.0/26' },
  { name: 'n2', host: 'tga-n2', addr: `${SW}.12`, block: '10.244.2.0/26' },
];
const BIRD_ADDR = `${SW}.2`;
const FRR_ADDR = `${SW}.3`;
const BIRD_NET = '198.19.60.0/24';
const FRR_NET = '198.19.61.0/24';

function clusterModel(): CalicoModel {
  return {
    asNumber: 64512,
    nodeToNodeMeshEnabled: true,
    nodes: N.map((n) => ({ name: n.name, ipv4Address: `${n.addr}/24` })),
    bgpConfiguration: { nodeMeshMaxRestartTime: '90s' },
    peers: [
      { name: 'tor-bird', peerIP: BIRD_ADDR, asNumber: 65001, keepaliveTime: '1s', maxRestartTime: '100s' },
      { name: 'tor-frr', peerIP: FRR_ADDR, asNumber: 65002, keepaliveTime: '1s' },
    ],
    extraDocs: [
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'pods' },
        spec: { cidr: '10.244.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' },
      },
      ...N.map((n) => blockDoc(n.block, n.name)),
    ],
  };
}

/** What node i's kernel must hold: its block blackholed, the other's block and both ToR nets via their speaker. */
function wantKernel(i: number): Map<string, string> {
  const m = new Map<string, string>([
    [N[i].block, 'blackhole'],
    [BIRD_NET, BIRD_ADDR],
    [FRR_NET, FRR_ADDR],
  ]);
  const o = N[1 - i];
  m.set(o.block, o.addr);
  return m;
}
const text = (m: Map<string, string>) =>
  [...m]
    .sort()
    .map((x) => x.join(' '))
    .join('\n');

async function startNode(lab: Lab, i: number): Promise<Ternd> {
  return startTernd(lab, N[i].host, {
    configYaml: clusterModel(),
    node: N[i].name,
    fib: 'kernel',
    args: ['--connect-retry', '1', '--probes', 'off', '--fib-sync-timeout', '30'],
  });
}

test('RFC 4724 §4.1/§4.2 + RFC 8538: kill -9 of a Tern node loses no route in any kernel; Hard Reset flushes at once', async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'bgpd', 'vtysh', 'ternd'], TERND)) return;
  const lab = await Lab.create('tga');
  t.after(() => lab.destroy());
  const sw = await lab.addSwitch('tga-sw');
  const bird = await lab.addHost('tga-bird');
  const frr = await lab.addHost('tga-frr');
  for (const n of N) await lab.addHost(n.host);
  for (const n of N) await lab.plug(n.host, sw, { v4: `${n.addr}/24`, ifName: 'eth0' });
  await lab.plug(bird, sw, { v4: `${BIRD_ADDR}/24`, ifName: 'eth0' });
  await lab.plug(frr, sw, { v4: `${FRR_ADDR}/24`, ifName: 'eth0' });

  await startBird(lab, bird, {
    routerId: BIRD_ADDR,
    kernel: true, // BIRD's namespace FIB is one more kernel that must not lose a route
    static4: [{ prefix: BIRD_NET }],
    neighbors: N.map((n) => ({
      name: n.name,
      localAs: 65001,
      neighborAddr: n.addr,
      neighborAs: 64512,
      gracefulRestart: true,
      holdTime: 9,
      keepaliveTime: 3,
      ipv4: { import: 'all', export: 'if source = RTS_STATIC then accept; reject;' },
    })),
  });
  await startFrr(lab, frr, {
    asn: 65002,
    routerId: FRR_ADDR,
    gracefulRestart: true,
    networks4: [FRR_NET],
    neighbors: N.map((n) => ({ addr: n.addr, remoteAs: 64512, keepalive: 3, holdTime: 9 })),
  });
  const ternd = [await startNode(lab, 0), await startNode(lab, 1)];
  for (const n of N) {
    await waitBirdEstablished(lab, bird, n.name, 20_000);
    await waitFrrEstablished(lab, frr, n.addr, 20_000);
  }
  for (let i = 0; i < 2; i++) {
    let last = '';
    await waitFor(`${N[i].host} FIB complete`, 20_000, async () => (last = text(await ternKernel(lab, N[i].host))) === text(wantKernel(i))).catch(
      (e: Error) => {
        throw new Error(`${e.message}\nhave:\n${last}\nwant:\n${text(wantKernel(i))}`);
      },
    );
  }
  await waitFor('BIRD and FRR have both blocks', 10_000, async () => {
    const b = await birdRoutes(lab, bird, { family: 'ipv4' });
    return N.every((n) => b.some((r) => r.prefix === n.block)) && (await Promise.all(N.map((n) => frrPaths(lab, frr, n.block)))).every((p) => p.length > 0);
  });
  // What Tern advertises: BGPPeer maxRestartTime to BIRD (100 s), FRR gets the 120 s default,
  // and the mesh takes BGPConfiguration nodeMeshMaxRestartTime (90 s).
  const capText = (await birdProtocol(lab, bird, 'n1')).neighborCapDetails['Graceful restart'] ?? [];
  assert.ok(
    capText.some((l) => /Restart time:\s+100\b/.test(l)),
    `BIRD sees ${JSON.stringify(capText)}`,
  );
  assert.ok(
    capText.some((l) => /AF preserved:.*ipv4/.test(l)),
    `F bit: BIRD sees ${JSON.stringify(capText)}`,
  );
  assert.ok(!capText.some((l) => /Restart recovery/.test(l)), 'a first start must not set the R bit');
  const mesh = (await bgpctl(lab, N[1].host, 'show', 'neighbor', N[0].addr)) as { gracefulRestart: { remoteRestartTime: number; localRestartTime: number } };
  assert.equal(mesh.gracefulRestart.remoteRestartTime, 90, 'nodeMeshMaxRestartTime is what a mesh peer advertises');
  const toFrr = (await bgpctl(lab, N[0].host, 'show', 'neighbor', FRR_ADDR)) as { gracefulRestart: { localRestartTime: number } };
  assert.equal(toFrr.gracefulRestart.localRestartTime, 120);

  // ---- kill -9 n1 while every FIB holds its routes
  const hosts = [...N.map((n) => n.host), bird];
  const mons: RouteMonitor[] = await Promise.all(hosts.map((h) => monitorRoutes(lab, h)));
  const n1Kernel = await ternKernel(lab, N[0].host);
  await killHard(ternd[0].child);
  await waitFor('BIRD, FRR and n2 notice n1 is gone', 15_000, async () => {
    const b = (await birdProtocol(lab, bird, 'n1')).bgpState !== 'Established';
    const f = (await frrJson<Record<string, { bgpState?: string }>>(lab, frr, `show bgp neighbors ${N[0].addr} json`))[N[0].addr]?.bgpState !== 'Established';
    const s = ((await bgpctl(lab, N[1].host, 'show', 'neighbor', N[0].addr)) as { state: string }).state !== 'Established';
    return b && f && s;
  });
  await sleep(500);
  // Helpers keep n1's block, marked stale.
  // (n2 passes n1's block on to the ToRs too, as a Calico node does: look at n1's own path.)
  const bStale = (await birdRoutes(lab, bird, { family: 'ipv4', proto: 'n1' })).filter((r) => r.prefix === N[0].block);
  assert.equal(bStale.length, 1, 'BIRD dropped n1 block while n1 restarts');
  assert.match((await birdProtocol(lab, bird, 'n1')).raw, /Neighbor graceful restart active/, 'BIRD is not in GR helper mode for n1');
  const fStale = (await frrPaths(lab, frr, N[0].block)).filter((p) => p.peerId === N[0].addr);
  assert.ok(fStale.length === 1 && fStale[0].stale === true, `FRR path for n1 block: ${JSON.stringify(fStale)}`);
  const n2rib = (await ribRows(lab, N[1].host)).filter((r) => r.prefix === N[0].block);
  assert.ok(n2rib.length === 1 && n2rib[0].flags.stale, `n2 Loc-RIB: ${JSON.stringify(n2rib)}`);
  assert.equal((await ternKernel(lab, N[1].host)).get(N[0].block), N[0].addr, 'n2 kernel lost n1 block');
  // The killed node's kernel keeps everything: netlink routes do not belong to a process.
  assert.equal(text(await ternKernel(lab, N[0].host)), text(n1Kernel));

  // ---- restart n1: R bit, End-of-RIB wait, reconcile with nothing to change
  const again = await startNode(lab, 0);
  const rec = await again.waitForLog((r) => /^FIB reconciled/.test(r.msg), 30_000, 'the startup FIB reconciliation');
  assert.equal(rec.why, 'End-of-RIB received from every peer');
  assert.deepEqual([rec.added, rec.replaced, rec.deleted, rec.failed], [0, 0, 0, 0], `reconcile changed the kernel: ${JSON.stringify(rec)}`);
  assert.ok(again.logs((r) => /kernel holds routes from a previous run/.test(r.msg)).length === 1);
  const capAgain = (await birdProtocol(lab, bird, 'n1')).neighborCapDetails['Graceful restart'] ?? [];
  assert.ok(
    capAgain.some((l) => /Restart recovery/.test(l)),
    `R bit not seen by BIRD: ${JSON.stringify(capAgain)}`,
  );
  // Stale marks clear everywhere.
  await waitFor('stale marks clear', 15_000, async () => {
    const n2 = (await ribRows(lab, N[1].host)).filter((r) => r.prefix === N[0].block);
    const f = (await frrPaths(lab, frr, N[0].block)).filter((p) => p.peerId === N[0].addr);
    const b = await birdProtocol(lab, bird, 'n1');
    return n2.length === 1 && !n2[0].flags.stale && f.length === 1 && !f[0].stale && b.bgpState === 'Established' && !/graceful restart active/.test(b.raw);
  });
  await waitFor('n1 FIB complete again', 10_000, async () => text(await ternKernel(lab, N[0].host)) === text(wantKernel(0)));
  await sleep(500);
  const affected = [...N.map((n) => n.block), BIRD_NET, FRR_NET];
  for (const m of mons) {
    await m.stop();
    for (const p of affected) assert.deepEqual(m.deleted(p), [], `${m.host}: ${p} was deleted during the restart`);
  }

  // ---- SIGTERM (a rolling restart's step): the stopping node closes its sessions, and the
  // withdrawals that makes in its own RIB must not reach its kernel (they did, bench/rolling-restart.ts).
  const mons2: RouteMonitor[] = await Promise.all(hosts.map((h) => monitorRoutes(lab, h)));
  assert.deepEqual(await lab.terminate(ternd[1].pid, 10_000), { code: 0, signal: null }, 'n2 exits cleanly on SIGTERM (no hang hidden by SIGKILL)');
  assert.equal(text(await ternKernel(lab, N[1].host)), text(wantKernel(1)), 'n2 kernel changed while n2 stopped');
  const n2again = await startNode(lab, 1);
  const rec2 = await n2again.waitForLog((r) => /^FIB reconciled/.test(r.msg), 30_000, 'n2 startup FIB reconciliation');
  assert.deepEqual([rec2.added, rec2.replaced, rec2.deleted, rec2.failed], [0, 0, 0, 0], `reconcile changed n2 kernel: ${JSON.stringify(rec2)}`);
  await waitFor('n2 back with n1 block not stale', 15_000, async () => {
    const n1 = (await ribRows(lab, N[0].host)).filter((r) => r.prefix === N[1].block);
    return n1.length === 1 && !n1[0].flags.stale;
  });
  for (const m of mons2) {
    await m.stop();
    for (const p of affected) assert.deepEqual(m.deleted(p), [], `${m.host}: ${p} was deleted during the SIGTERM restart`);
  }

  // RFC 4724 §3: once converged, the R bit is gone: a later flap of the BIRD session must not
  // claim a restart. (BIRD 2.0.12 has no N bit: the Cease flushes both sides, hence after the
  // monitors.)
  await bgpctl(lab, N[0].host, 'neighbor', BIRD_ADDR, 'clear');
  await waitFor('BIRD session back after clear', 15_000, async () => {
    const p = await birdProtocol(lab, bird, 'n1');
    return p.bgpState === 'Established' && /Neighbor ID/.test(p.raw) && p;
  });
  const capLater = (await birdProtocol(lab, bird, 'n1')).neighborCapDetails['Graceful restart'] ?? [];
  assert.ok(capLater.length > 0 && !capLater.some((l) => /Restart recovery/.test(l)), `R bit still set after convergence: ${JSON.stringify(capLater)}`);

  // ---- D: RFC 8538 §3. A plain `down` (Cease 6/2) with the N bit on both sides is a GR event:
  // FRR and n2 keep n1's routes stale. `down --hard` (Cease 6/9) makes them drop the routes
  // at once, not after the 120 s / 90 s restart time.
  const fromN1 = async () => (await frrPaths(lab, frr, N[0].block)).filter((p) => p.peerId === N[0].addr);
  const n2Has = async () => (await ribRows(lab, N[1].host)).filter((r) => r.prefix === N[0].block);
  await bgpctl(lab, N[0].host, 'neighbor', FRR_ADDR, 'down');
  await bgpctl(lab, N[0].host, 'neighbor', N[1].addr, 'down');
  await waitFor('FRR and n2 see the sessions go down', 5_000, async () => {
    const f = (await frrJson<Record<string, { bgpState?: string }>>(lab, frr, `show bgp neighbors ${N[0].addr} json`))[N[0].addr]?.bgpState !== 'Established';
    const s = ((await bgpctl(lab, N[1].host, 'show', 'neighbor', N[0].addr)) as { state: string }).state !== 'Established';
    return f && s;
  });
  await sleep(1000);
  const soft = await fromN1();
  assert.ok(soft.length === 1 && soft[0].stale === true, `FRR after Cease 6/2 with the N bit: ${JSON.stringify(soft)}`);
  const softN2 = await n2Has();
  assert.ok(softN2.length === 1 && softN2[0].flags.stale, `n2 after Cease 6/2 with the N bit: ${JSON.stringify(softN2)}`);
  await bgpctl(lab, N[0].host, 'neighbor', FRR_ADDR, 'up');
  await bgpctl(lab, N[0].host, 'neighbor', N[1].addr, 'up');
  await waitFrrEstablished(lab, frr, N[0].addr, 15_000);
  await waitFor('stale marks clear after up', 15_000, async () => {
    const f = await fromN1();
    const n2 = await n2Has();
    return f.length === 1 && !f[0].stale && n2.length === 1 && !n2[0].flags.stale;
  });
  await bgpctl(lab, N[0].host, 'neighbor', FRR_ADDR, 'down', '--hard');
  await bgpctl(lab, N[0].host, 'neighbor', N[1].addr, 'down', '--hard');
  await waitFor('FRR drops the path from n1 after Hard Reset', 5_000, async () => (await fromN1()).length === 0);
  await waitFor('n2 drops n1 block from its kernel after Hard Reset', 5_000, async () => !(await ternKernel(lab, N[1].host)).has(N[0].block));
  assert.equal((await n2Has()).length, 0);
});

// ---------------------------------------------------------------- B + C: BIRD restarts

const L = { tern: '198.18.61.1', bird: '198.18.61.2' };
const NETS = ['198.19.62.0/24', '198.19.63.0/24', '198.19.64.0/24'];
const BIRD_RESTART = 6;

function birdCfg(nets: string[]): BirdConfig {
  return {
    routerId: L.bird,
    static4: nets.map((prefix) => ({ prefix })),
    neighbors: [
      {
        name: 'tern',
        localAs: 65001,
        neighborAddr: L.tern,
        neighborAs: 64512,
        gracefulRestart: true,
        holdTime: 9,
        keepaliveTime: 3,
        extra: [`graceful restart time ${BIRD_RESTART};`],
        ipv4: {},
      },
    ],
  };
}

test('RFC 4724 §4.2: Tern as helper for BIRD: keeps its routes through a restart, sweeps only what BIRD no longer sends, and drops them at the restart time when BIRD stays away; RFC 4724 §4.1 End-of-RIB wait bounded by --fib-sync-timeout', async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'ternd'], TERND)) return;
  const { lab, hostA: tern, hostB: birdNs } = await pairLab(t, 'tgb', ['tern', 'bird'], { v4: `${L.tern}/24`, v4b: `${L.bird}/24`, ifA: 'eth0', ifB: 'tgb-t' });
  let bird = await startBird(lab, birdNs, birdCfg(NETS));
  const node = 'tgb-node';
  const t1 = await startTernd(lab, tern, {
    node,
    fib: 'kernel',
    args: ['--connect-retry', '1', '--probes', 'off'],
    configYaml: {
      asNumber: 64512,
      nodes: [{ name: node, ipv4Address: `${L.tern}/24` }],
      peers: [{ name: 'tor', node, peerIP: L.bird, asNumber: 65001, keepaliveTime: '3s', maxRestartTime: '7s' }],
    },
  });
  await waitBirdEstablished(lab, birdNs, 'tern', 20_000);
  await waitFor('BIRD routes in the kernel', 15_000, async () => [...(await ternKernel(lab, tern)).keys()].sort().join() === NETS.join());
  const cap = (await birdProtocol(lab, birdNs, 'tern')).neighborCapDetails['Graceful restart'] ?? [];
  assert.ok(
    cap.some((l) => /Restart time:\s+7\b/.test(l)),
    `BGPPeer maxRestartTime is what Tern advertises; BIRD sees ${JSON.stringify(cap)}`,
  );

  // ---- B: BIRD restarts (kill -9, then `bird -R`) without 198.19.64.0/24
  const mon = await monitorRoutes(lab, tern);
  await killHard(bird.child);
  await t1.waitForLog((r) => r.component === 'gr' && /keeping routes/.test(r.msg), 10_000, 'the helper keeping routes');
  const staleRows = (await ribRows(lab, tern)).filter((r) => NETS.includes(r.prefix));
  assert.equal(staleRows.length, 3);
  assert.ok(
    staleRows.every((r) => r.flags.stale),
    `not stale: ${JSON.stringify(staleRows)}`,
  );
  assert.equal((await ternKernel(lab, tern)).size, 3, 'a stale route left the kernel');
  // What an operator sees meanwhile (bgpctl show neighbor -j).
  const nv = (await bgpctl(lab, tern, 'show', 'neighbor', L.bird)) as {
    gracefulRestart: { negotiated: boolean; remoteRestartTime: number; peerRestarting: boolean; staleRoutes: number; restartTimerRemaining: number | null };
  };
  assert.deepEqual(
    [nv.gracefulRestart.negotiated, nv.gracefulRestart.remoteRestartTime, nv.gracefulRestart.peerRestarting, nv.gracefulRestart.staleRoutes],
    [true, BIRD_RESTART, true, 3],
    JSON.stringify(nv.gracefulRestart),
  );
  assert.ok((nv.gracefulRestart.restartTimerRemaining ?? 0) > 0);
  const sinceRestart = t1.records.length;
  bird = await restartBird(lab, bird, birdCfg(NETS.slice(0, 2)));
  const sweep = await t1.waitForLog((r) => r.component === 'gr' && /^removed/.test(r.msg), 20_000, 'the End-of-RIB sweep', sinceRestart);
  assert.match(sweep.msg, /End-of-RIB received/);
  assert.equal(sweep.removed, 1);
  await waitFor('198.19.64.0/24 gone from the kernel', 5_000, async () => !(await ternKernel(lab, tern)).has(NETS[2]));
  const after = (await ribRows(lab, tern)).filter((r) => NETS.includes(r.prefix));
  assert.deepEqual(after.map((r) => [r.prefix, r.flags.stale]).sort(), [
    [NETS[0], false],
    [NETS[1], false],
  ]);
  await mon.stop();
  assert.deepEqual([...mon.deleted(NETS[0]), ...mon.deleted(NETS[1])], [], 'a route BIRD kept sending left the kernel');
  assert.equal(mon.deleted(NETS[2]).length, 1, 'the monitor saw the swept route go (it can see deletions)');

  // ---- C: BIRD goes away for good: routes stay for its restart time, then go.
  await waitBirdEstablished(lab, birdNs, 'tern', 10_000);
  const sinceKill = t1.records.length;
  await killHard(bird.child);
  const kept = await t1.waitForLog((r) => r.component === 'gr' && /keeping routes/.test(r.msg), 10_000, 'the helper keeping routes', sinceKill);
  assert.equal(kept.restartTime, BIRD_RESTART, 'Tern uses the restart time BIRD advertised');
  const keptAt = Date.parse(kept.time);
  // The routes must stay until the restart time: checked by the kernel's own deletion events
  // (ip -ts monitor), not by sampling the table a second before the deadline, which a loaded
  // machine can wake up for too late (stop 11: this test failed that way under load).
  const monC = await monitorRoutes(lab, tern);
  assert.equal((await ternKernel(lab, tern)).size, 2, 'stale routes left the kernel at once');
  const gone = await t1.waitForLog(
    (r) => r.component === 'gr' && /did not come back/.test(r.msg),
    BIRD_RESTART * 1000 + 5_000,
    'the restart-time sweep',
    sinceKill,
  );
  assert.ok(Date.parse(gone.time) - keptAt >= BIRD_RESTART * 1000 - 50, `swept after ${Date.parse(gone.time) - keptAt} ms`);
  await waitFor('stale routes gone from the kernel', 5_000, async () => (await ternKernel(lab, tern)).size === 0);
  await monC.stop();
  for (const p of NETS.slice(0, 2)) {
    const at = monC.deletedAt(p);
    assert.equal(at.length, 1, `${p}: one deletion seen by the monitor, not ${at.length}`);
    assert.ok(
      at[0] - keptAt >= BIRD_RESTART * 1000 - 50,
      `${p} left the kernel ${at[0] - keptAt} ms after the helper started keeping it (restart time ${BIRD_RESTART} s)`,
    );
  }
  assert.equal((await ribRows(lab, tern)).filter((r) => NETS.includes(r.prefix)).length, 0);

  // ---- The restarting speaker's End-of-RIB wait is bounded (--fib-sync-timeout): ternd restarts
  // with BIRD's routes in its kernel while BIRD is gone; the kernel is left alone during the
  // wait, then reconciled (the routes nobody announces any more are deleted).
  bird = await restartBird(lab, bird, birdCfg(NETS.slice(0, 2)), { recovery: false });
  await waitFor('BIRD routes back in the kernel', 15_000, async () => (await ternKernel(lab, tern)).size === 2);
  assert.deepEqual(await lab.terminate(t1.pid, 10_000), { code: 0, signal: null }, 'ternd exits cleanly on SIGTERM (no hang hidden by SIGKILL)');
  await killHard(bird.child);
  const t2 = await startTernd(lab, tern, {
    node,
    fib: 'kernel',
    args: ['--connect-retry', '1', '--probes', 'off', '--fib-sync-timeout', '3'],
    configYaml: {
      asNumber: 64512,
      nodes: [{ name: node, ipv4Address: `${L.tern}/24` }],
      peers: [{ name: 'tor', node, peerIP: L.bird, asNumber: 65001, keepaliveTime: '3s', maxRestartTime: '7s' }],
    },
  });
  await t2.waitForLog((r) => /kernel holds routes from a previous run/.test(r.msg), 5_000, 'the restart detection');
  await sleep(2000);
  assert.equal((await ternKernel(lab, tern)).size, 2, 'the kernel was changed during the End-of-RIB wait');
  const rec = await t2.waitForLog((r) => /^FIB reconciled/.test(r.msg), 10_000, 'the bounded reconciliation');
  assert.equal(rec.why, 'End-of-RIB wait timed out');
  assert.equal(rec.deleted, 2);
  assert.equal((await ternKernel(lab, tern)).size, 0);
});
