// Long-lived graceful restart (RFC 9494), receiving side, against BIRD 2 in namespaces: two ToRs
// announce a shared prefix, one also its own; the preferred ToR (BIRD with `long lived graceful
// restart on`) is killed. With `ternd --llgr-stale-time`, after the GR restart time its routes
// become least preferred (the shared prefix moves to the other ToR by a kernel replace) and the
// prefix only it announced stays until the long-lived stale time. Helpers: lab/restart.ts.

import test from 'node:test';
import assert from 'node:assert/strict';
import { Lab, TERND, birdRoutes, conformanceGate, sleep, startBird, startTernd, waitBirdEstablished, waitFor, type BirdConfig } from './lab/index.js';
import { killHard, monitorRoutes, ribRows, ternKernel } from './lab/restart.js';

test('RFC 9494: with --llgr-stale-time, a ToR that announced LLGR keeps its routes past the restart time as least preferred, then loses them at the long-lived stale time', async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'ternd'], TERND)) return;
  const lab = await Lab.create('tgl');
  t.after(() => lab.destroy());
  const sw = await lab.addSwitch('tgl-sw');
  const [tern, torA, torB] = [await lab.addHost('tgl-tern'), await lab.addHost('tgl-a'), await lab.addHost('tgl-b')];
  const A = { tern: '198.18.62.1', a: '198.18.62.2', b: '198.18.62.3' };
  await lab.plug(tern, sw, { v4: `${A.tern}/24`, ifName: 'eth0' });
  await lab.plug(torA, sw, { v4: `${A.a}/24`, ifName: 'eth0' });
  await lab.plug(torB, sw, { v4: `${A.b}/24`, ifName: 'eth0' });
  const BOTH = '198.19.70.0/24';
  const ONLY_A = '198.19.71.0/24';
  const GR_TIME = 3;
  const LLGR_OURS = 8; // BIRD announces 60: Tern grants min(60, 8)
  const torCfg = (id: string, as: number, statics: string[], extra: string[]): BirdConfig => ({
    routerId: id,
    static4: statics.map((prefix) => ({ prefix })),
    neighbors: [{ name: 'tern', localAs: as, neighborAddr: A.tern, neighborAs: 64512, gracefulRestart: true, holdTime: 9, keepaliveTime: 3, extra, ipv4: {} }],
  });
  // torA: shorter AS_PATH for BOTH, so it is the best path while it is up.
  const birdA = await startBird(
    lab,
    torA,
    torCfg(A.a, 65001, [BOTH, ONLY_A], [`graceful restart time ${GR_TIME};`, 'long lived graceful restart on;', 'long lived stale time 60;']),
  );
  await startBird(lab, torB, { ...torCfg(A.b, 65002, [], []), extra: `protocol static s_b { ipv4; route ${BOTH} blackhole { bgp_path.prepend(65002); }; }` });
  const node = 'tgl-node';
  const tn = await startTernd(lab, tern, {
    node,
    fib: 'kernel',
    args: ['--connect-retry', '1', '--probes', 'off', '--llgr-stale-time', String(LLGR_OURS)],
    configYaml: {
      asNumber: 64512,
      nodes: [{ name: node, ipv4Address: `${A.tern}/24` }],
      peers: [
        { name: 'tor-a', node, peerIP: A.a, asNumber: 65001, keepaliveTime: '3s' },
        { name: 'tor-b', node, peerIP: A.b, asNumber: 65002, keepaliveTime: '3s' },
      ],
    },
  });
  await waitBirdEstablished(lab, torA, 'tern', 20_000);
  await waitBirdEstablished(lab, torB, 'tern', 20_000);
  await waitFor('both routes via torA', 15_000, async () => {
    const k = await ternKernel(lab, tern);
    return k.get(BOTH) === A.a && k.get(ONLY_A) === A.a;
  });
  const mon = await monitorRoutes(lab, tern);
  const since = tn.records.length;
  await killHard(birdA.child);
  await tn.waitForLog((r) => r.component === 'gr' && /keeping routes/.test(r.msg), 10_000, 'GR helper', since);
  // RFC 4724 phase: the stale path keeps its rank.
  assert.equal((await ternKernel(lab, tern)).get(BOTH), A.a);
  const ll = await tn.waitForLog((r) => r.component === 'gr' && /long-lived stale/.test(r.msg), GR_TIME * 1000 + 5_000, 'LLGR phase', since);
  assert.equal(ll.staleTime, LLGR_OURS, 'min(peer long-lived stale time, --llgr-stale-time)');
  assert.equal(ll.kept, 2);
  // RFC 9494 phase: LLGR-stale is least preferred: torB's longer path wins; torA's only route stays.
  await waitFor('BOTH moves to torB', 5_000, async () => (await ternKernel(lab, tern)).get(BOTH) === A.b);
  assert.equal((await ternKernel(lab, tern)).get(ONLY_A), A.a, 'the LLGR-stale route left the kernel');
  const rows = await ribRows(lab, tern);
  const onlyA = rows.find((r) => r.prefix === ONLY_A);
  assert.ok(onlyA?.flags.stale && onlyA.communities?.some((c) => c === '65535:6' || /llgr/i.test(c)), `LLGR_STALE not attached: ${JSON.stringify(onlyA)}`);
  // Not advertised: torB does not get torA's routes back from Tern either way (eBGP), so check
  // the RIB's own rule through what Tern sends torB: nothing of ONLY_A.
  assert.equal((await birdRoutes(lab, torB, { family: 'ipv4' })).filter((r) => r.prefix === ONLY_A).length, 0);
  const llAt = Date.parse(ll.time);
  await sleep(Math.max(0, llAt + (LLGR_OURS - 1) * 1000 - Date.now()));
  assert.equal((await ternKernel(lab, tern)).get(ONLY_A), A.a, 'gone before the long-lived stale time');
  await tn.waitForLog((r) => r.component === 'gr' && /long-lived stale time .* over/.test(r.msg), 5_000, 'LLGR sweep', since);
  await waitFor('ONLY_A gone from the kernel', 5_000, async () => !(await ternKernel(lab, tern)).has(ONLY_A));
  assert.equal((await ternKernel(lab, tern)).get(BOTH), A.b);
  await mon.stop();
  assert.deepEqual(mon.deleted(BOTH), [], 'the switch to torB must be a replace, not a delete');
  assert.equal(mon.deleted(ONLY_A).length, 1);
});
