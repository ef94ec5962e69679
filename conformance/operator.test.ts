// The operator's bgpctl against a real ternd with `--fib kernel` in a namespace and a real BIRD
// (issue 17): `fib decouple` stops writing and leaves the kernel as it is, `fib flush` removes
// every Tern route (the own block's blackhole too), `fib couple` writes what changed meanwhile;
// `show rib` filters (community, AS forms, longer/shorter), `show rib summary`, `show status`
// and `neighbor all clear`, checked against what BIRD announced and what the kernel holds.

import test from 'node:test';
import assert from 'node:assert/strict';
import {
  blockDoc,
  pairLab,
  TERND,
  BGPCTL,
  startBird,
  birdReconfigure,
  startTernd,
  routesInNs,
  waitBirdEstablished,
  conformanceGate,
  waitFor,
  run,
  bgpctl,
  type BirdConfig,
} from './lab/index.js';
import type { RibRowView, RibSummaryView, StatusView, NeighborAllResult, NeighborView } from '../src/control/api.js';

const TERN_PROTO = '201';
const BIRD_AS = 4200000017;

test('issue 17: fib decouple leaves the kernel as it is, fib flush empties it, couple restores; rib filters, summary, status, neighbor all clear on a real daemon', async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'ternd'], TERND)) return;
  const { lab, hostA: tern, hostB: bird } = await pairLab(t, 'i17op', ['tern', 'bird'], { v4: '198.18.117.1/24', v4b: '198.18.117.2/24' });
  const birdCfg = (withPod: boolean): BirdConfig => ({
    routerId: '198.18.117.2',
    static4: [
      // RFC 1997 community on one route, so the filter has something to tell apart.
      { prefix: '198.19.117.0/24', attrs: ['bgp_community.add((65000,100));'] },
      { prefix: '198.19.118.0/24' },
      ...(withPod ? [{ prefix: '10.244.118.0/26' }] : []),
    ],
    neighbors: [{ name: 'tern4', localAddr: '198.18.117.2', localAs: BIRD_AS, neighborAddr: '198.18.117.1', neighborAs: 64512, ipv4: {} }],
  });
  await startBird(lab, bird, birdCfg(true));
  const node = 'i17op-node';
  const ternd = await startTernd(lab, tern, {
    node,
    fib: 'kernel',
    args: ['--probes', 'off'],
    configYaml: {
      asNumber: 64512,
      nodes: [{ name: node, ipv4Address: '198.18.117.1/24' }],
      peers: [{ name: 'tor4', node, peerIP: '198.18.117.2', asNumber: BIRD_AS, keepaliveTime: '1s' }],
      pools: { 'pods-v4': '10.244.0.0/16' },
      extraDocs: [blockDoc('10.244.117.0/26', node)],
    },
  });
  await waitBirdEstablished(lab, bird, 'tern4');
  const kernel = async (): Promise<string[]> =>
    (await routesInNs(lab, tern, { proto: TERN_PROTO })).map((r) => (r.type === 'blackhole' ? `blackhole ${r.dst}` : r.dst)).sort();
  const all = ['10.244.118.0/26', '198.19.117.0/24', '198.19.118.0/24', 'blackhole 10.244.117.0/26'];
  await waitFor('the learned routes and the own block in the kernel', 20_000, async () => JSON.stringify(await kernel()) === JSON.stringify(all));
  const text = async (...args: string[]): Promise<string> => {
    const r = await run(process.execPath, [BGPCTL, '-s', ternd.controlSocket, ...args]);
    assert.equal(r.code, 0, `bgpctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  // show rib filters against what BIRD sent: the community, OpenBGPD's AS forms, containment.
  const rib = async (...args: string[]): Promise<string[]> => ((await bgpctl(lab, tern, 'show', 'rib', ...args)) as RibRowView[]).map((r) => r.prefix).sort();
  assert.deepEqual(await rib('--community', '65000:100'), ['198.19.117.0/24']);
  assert.deepEqual(await rib('--source-as', String(BIRD_AS)), ['10.244.118.0/26', '198.19.117.0/24', '198.19.118.0/24']);
  assert.deepEqual(await rib('--empty-as'), ['10.244.117.0/26'], 'our own block has an empty AS_PATH');
  assert.deepEqual(await rib('--source-as', '64512'), ['10.244.117.0/26']);
  assert.deepEqual(await rib('10.244.0.0/16', 'longer'), ['10.244.117.0/26', '10.244.118.0/26']);
  assert.deepEqual(await rib('10.244.118.0/26', 'or-shorter'), ['10.244.118.0/26']);
  assert.deepEqual(await rib('--as-path', `^${BIRD_AS}$`), ['10.244.118.0/26', '198.19.117.0/24', '198.19.118.0/24']);
  const sum = (await bgpctl(lab, tern, 'show', 'rib', 'summary')) as RibSummaryView;
  assert.deepEqual(
    sum.peers.map((p) => [p.address, p.family, p.received, p.accepted]),
    [['198.18.117.2', 'ipv4', 3, 3]],
  );
  assert.equal(sum.families.find((f) => f.family === 'ipv4')?.prefixes, 4);
  const st = (await bgpctl(lab, tern, 'show', 'status')) as StatusView;
  assert.deepEqual([st.routerId, st.asn, st.fib.driver, st.fib.coupled, st.fib.routes, st.sessions.established], ['198.18.117.1', 64512, 'kernel', true, 4, 1]);
  assert.equal(st.datastore?.state, 'synced');
  assert.ok(st.memory.rssBytes > 0 && st.uptimeSeconds >= 0);

  // Decouple: nothing is removed, and a withdrawal at BIRD no longer reaches the kernel.
  assert.match(await text('fib', 'decouple'), /kernel keeps the routes it has/);
  assert.deepEqual(await kernel(), all, 'decouple leaves every route, the blackhole included');
  await birdReconfigure(lab, bird, birdCfg(false));
  await waitFor('Tern to see the withdrawal', 20_000, async () => (await rib('10.244.118.0/26')).length === 0);
  assert.deepEqual(await kernel(), all, 'decoupled: the withdrawal is not written');
  assert.match(await text('show', 'config'), /^FIB: kernel, decoupled \(writes off; the kernel keeps the routes it has\)$/m);
  assert.match(await text('show', 'fib'), /FIB decoupled: kernel writes are off .* 1 differ from the kernel/);

  // Flush: every route of Tern's protocol goes, the own block's blackhole too.
  assert.match(await text('fib', 'flush'), /^fib flushed: 4 Tern routes removed/);
  assert.deepEqual(await kernel(), []);
  // Couple: the current desired state is written, without the withdrawn route.
  await text('fib', 'couple');
  await waitFor(
    'the routes back after couple',
    20_000,
    async () => JSON.stringify(await kernel()) === JSON.stringify(['198.19.117.0/24', '198.19.118.0/24', 'blackhole 10.244.117.0/26']),
  );
  const coupledFlush = await run(process.execPath, [BGPCTL, '-s', ternd.controlSocket, 'fib', 'flush']);
  assert.equal(coupledFlush.code, 1, 'flush while coupled is refused');
  assert.equal((await kernel()).length, 3);

  // neighbor all clear: the session is reset (RFC 4486 Cease/Administrative Reset) and comes back.
  const before = ((await bgpctl(lab, tern, 'show', 'neighbor', '198.18.117.2')) as NeighborView).establishedTransitions;
  const cleared = (await bgpctl(lab, tern, 'neighbor', 'all', 'clear')) as NeighborAllResult;
  assert.deepEqual(cleared, { done: ['198.18.117.2'], skipped: [] });
  await waitFor('the session to come back after clear', 20_000, async () => {
    const n = (await bgpctl(lab, tern, 'show', 'neighbor', '198.18.117.2')) as NeighborView;
    return n.state === 'Established' && n.establishedTransitions > before;
  });
  const n = (await bgpctl(lab, tern, 'show', 'neighbor', '198.18.117.2')) as NeighborView;
  assert.deepEqual([n.lastErrorSent?.code, n.lastErrorSent?.subcode], [6, 4]);
});
