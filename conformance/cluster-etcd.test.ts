// Issue 19: the namespace cluster (conformance/lab/cluster.ts: Tern nodes behind a BIRD ToR)
// run from etcd only, as Calico's etcdv3 mode runs bare-metal hosts: no node has a config file;
// the model is in one etcd member in the ToR namespace, in libcalico-go's layout. In order:
//  a. the mesh converges from etcd: every FIB holds every other node's block, BIRD has them all;
//  b. an IPAM block written to etcd reaches every other node's FIB; deleted, it leaves them;
//  c. etcd killed: every ternd reports the datastore stale and changes nothing for longer than
//     the hold time (no route withdrawn, no session reset: RFC 4271 §8 gives a datastore
//     outage no reason for a Cease); etcd restarted on its data: synced again, and a change made
//     then reaches the FIBs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Lab, TERND, birdRoutes, conformanceGate, sleep, waitFor } from './lab/index.js';
import { blockDoc } from './lab/tern.js';
import { buildCluster, control, sessions, waitFibs, waitSessions, mapText, ternRoutes, TOR_ADDR, type Cluster } from './lab/cluster.js';
import { etcdClusterDatastore, waitEtcdReady } from './lab/etcd.js';
import type { HealthView } from '../src/control/api.js';

const blocksOf = (c: Cluster) => new Map(c.nodes.map((n) => [n.name, [...n.blocks]]));
const allFibs = async (c: Cluster) => (await Promise.all(c.nodes.map(async (n) => `${n.name}:\n${mapText(await ternRoutes(c, n.host))}`))).join('\n');
const states = async (c: Cluster) =>
  Promise.all([...c.ternd.values()].map(async (t) => (await control<HealthView>(t.controlSocket, 'health')).datastore?.state));

test('cluster from etcd only: mesh, IPAM changes, etcd outage with nothing withdrawn or reset (issue 19)', { timeout: 150_000 }, async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'etcd', 'ternd'], TERND)) return;
  const lab = await Lab.create('cluster-etcd');
  const etcd = etcdClusterDatastore(TOR_ADDR[0]);
  t.after(async () => {
    etcd.client?.close();
    await etcd.member?.stop('SIGKILL');
    await lab.destroy();
  });
  const c = await buildCluster(lab, { prefix: 'e19c', subnets: [0, 0, 1], datastore: etcd, logLevel: 'info' });
  const t0 = Date.now();
  const phase = (name: string) => t.diagnostic(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const others = (name: string) => c.nodes.filter((n) => n.name !== name).map((n) => n.address);

  // a. The mesh from etcd.
  for (const tnd of c.ternd.values()) assert.ok(!fs.existsSync(tnd.configFile), `${tnd.host} was given no model file`);
  await Promise.all(c.nodes.map((n) => waitSessions(c, n.host, [TOR_ADDR[0], ...others(n.name)])));
  await waitFibs(c, blocksOf(c));
  await waitFor('BIRD has every block', 15_000, async () => {
    const rs = await birdRoutes(lab, c.tor, { family: 'ipv4' });
    return c.nodes.every((n) => rs.some((r) => r.prefix === n.blocks[0] && r.nexthop === n.address));
  });
  assert.deepEqual(await states(c), ['synced', 'synced', 'synced']);
  phase('a. mesh converged from etcd');

  // b. A block for n3 appears in etcd, then goes.
  const n3 = c.nodes[2];
  n3.blocks.push('10.244.33.0/26');
  c.model.extraDocs = [...(c.model.extraDocs ?? []), blockDoc('10.244.33.0/26', n3.name)];
  await c.sync();
  await waitFibs(c, blocksOf(c));
  n3.blocks.pop();
  c.model.extraDocs = c.model.extraDocs.filter((d) => (d.spec as { cidr?: string }).cidr !== '10.244.33.0/26');
  await c.sync();
  await waitFibs(c, blocksOf(c));
  phase('b. block added and removed through etcd');

  // c. etcd down: stale everywhere, nothing changes past the 6 s hold time.
  const fibsBefore = await allFibs(c);
  await etcd.member!.stop('SIGKILL');
  await waitFor('every node stale', 30_000, async () => (await states(c)).every((s) => s === 'stale'));
  await sleep(8000);
  assert.equal(await allFibs(c), fibsBefore, 'no route withdrawn while etcd is down');
  for (const n of c.nodes) {
    for (const s of await sessions(c, n.host)) {
      assert.equal(s.state, 'Established', `${n.name} ${s.address}`);
      assert.equal(s.establishedTransitions, 1, `${n.name} ${s.address} reset while etcd was down`);
    }
  }
  phase('c. etcd down: stale, nothing withdrawn or reset');
  etcd.member!.start();
  await waitEtcdReady(etcd.client!, 20_000, etcd.member);
  n3.blocks.push('10.244.34.0/26');
  c.model.extraDocs = [...c.model.extraDocs, blockDoc('10.244.34.0/26', n3.name)];
  await c.sync();
  await waitFibs(c, blocksOf(c), 30_000);
  await waitFor('every node synced', 15_000, async () => (await states(c)).every((s) => s === 'synced'));
  phase('c. etcd back: synced, change arrived');
});
