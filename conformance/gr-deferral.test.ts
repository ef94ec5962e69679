// RFC 4724 §4.1 selection deferral on a restarting Tern route reflector. Two BIRD clients, A and
// B, each originate a prefix that the Tern RR reflects to the other. The RR is killed (-9) and
// started again while B is frozen (SIGSTOP), so the RR's session with A comes up first. Without
// deferral the RR would send A its still-incomplete table and End-of-RIB at once, and A, a GR
// helper, would sweep B's route (RFC 4724 §4.2) until B came back: a black hole made by the
// restart. With deferral the RR waits for B's End-of-RIB (bounded) before advertising, and A keeps
// B's route, stale, the whole time.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  Lab,
  TERND,
  startBird,
  startTernd,
  birdRoutes,
  birdReconfigure,
  waitBirdEstablished,
  conformanceGate,
  waitFor,
  sleep,
  type BirdConfig,
  type CalicoModel,
  type Prereq,
} from './lab/index.js';
import { killHard, ternKernel } from './lab/restart.js';

const AS = 64512;
const NEED: Prereq[] = ['root', 'ip', 'bird', 'birdc', 'ternd'];
const CID = '224.0.0.9';
const [RR, A, B] = ['198.18.91.1', '198.18.91.2', '198.18.91.3'];
const PA = '10.244.91.0/26';
const PB = '10.244.92.0/26';

test('RFC 4724 §4.1: a restarting Tern RR defers its advertisements until End-of-RIB from its clients, so a helper never sweeps a route the RR has not re-learned yet', {
  timeout: 120_000,
}, async (t) => {
  if (!conformanceGate(t, NEED, TERND)) return;
  const lab = await Lab.create('tgd');
  t.after(() => lab.destroy());
  const sw = await lab.addSwitch('tgd-sw');
  const [rr, a, b] = [await lab.addHost('tgd-rr'), await lab.addHost('tgd-a'), await lab.addHost('tgd-b')];
  for (const [h, addr] of [
    [rr, RR],
    [a, A],
    [b, B],
  ] as const)
    await lab.plug(h, sw, { v4: `${addr}/24` });

  const client = (id: string, prefix: string, attrs?: string[]): BirdConfig => ({
    routerId: id,
    static4: [{ prefix, attrs }],
    neighbors: [{ name: 'tern', localAddr: id, localAs: AS, neighborAddr: RR, neighborAs: AS, gracefulRestart: true }],
  });
  await startBird(lab, a, client(A, PA));
  const birdB = await startBird(lab, b, client(B, PB));
  const model: CalicoModel = {
    asNumber: AS,
    nodes: [{ name: 'rr', ipv4Address: `${RR}/24`, routeReflectorClusterID: CID }],
    peers: [
      { name: 'a', node: 'rr', peerIP: A, asNumber: AS },
      { name: 'b', node: 'rr', peerIP: B, asNumber: AS },
    ],
    pools: { pods: '10.244.0.0/16' },
  };
  // --fib kernel: the learned routes in the RR's kernel are what make a restart a GR restart.
  const args = ['--probes', 'off', '--connect-retry', '1', '--fib-sync-timeout', '30'];
  const first = await startTernd(lab, rr, { node: 'rr', configYaml: model, fib: 'kernel', args });
  await waitBirdEstablished(lab, a, 'tern');
  await waitBirdEstablished(lab, b, 'tern');
  await waitFor("A has B's route through the RR", 20_000, async () => (await birdRoutes(lab, a, { proto: 'tern' })).some((r) => r.prefix === PB));
  await waitFor('the RR kernel has both routes', 20_000, async () => {
    const k = await ternKernel(lab, rr);
    return k.has(PA) && k.has(PB);
  });

  await killHard(first.child);
  process.kill(birdB.pid, 'SIGSTOP');
  let second: Awaited<ReturnType<typeof startTernd>> | undefined;
  try {
    second = await startTernd(lab, rr, { node: 'rr', configYaml: model, fib: 'kernel', args });
    await second.waitForLog((r) => /session with 198\.18\.91\.2 .*established/i.test(r.msg), 20_000, 'the RR back up with A');
    // B is frozen: the RR has no End-of-RIB from it. Watch A for a few seconds.
    const seen: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      seen.push((await birdRoutes(lab, a, { proto: 'tern' })).some((r) => r.prefix === PB));
      await sleep(150);
    }
    assert.ok(seen.every(Boolean), `A lost B's route while the restarting RR waited for B (samples: ${seen.map((x) => (x ? 1 : 0)).join('')})`);
    assert.ok(second.logs((r) => /selection deferral over/i.test(r.msg)).length === 0, 'deferral still on while a client has not sent End-of-RIB');
  } finally {
    process.kill(birdB.pid, 'SIGCONT');
  }
  // B is back: the RR learns B's route, ends the deferral and A's copy is refreshed (not stale).
  // A held B's route (stale) all along, so "A has it" proves nothing (issue 15): B now tags its
  // route with a community, and only a copy the restarted RR re-advertised can carry it.
  await waitBirdEstablished(lab, b, 'tern', 30_000);
  await birdReconfigure(lab, b, client(B, PB, ['bgp_community.add((64512,92));']));
  await waitFor("A has B's route as the restarted RR re-advertised it (community 64512:92)", 30_000, async () =>
    (await birdRoutes(lab, a, { proto: 'tern' })).find((r) => r.prefix === PB)?.communities.includes('64512,92'),
  );
  assert.ok(second!.logs((r) => /selection deferral over/i.test(r.msg)).length > 0, 'the deferral ended');
  await waitFor("B has A's route", 30_000, async () => (await birdRoutes(lab, b, { proto: 'tern' })).some((r) => r.prefix === PA));
});
