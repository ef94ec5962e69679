// Issue 13: the namespace cluster (conformance/lab/cluster.ts: BIRD ToR, three ternd with
// `--fib kernel`) driven only by the Kubernetes API: every ternd runs `--datastore kubernetes`
// against the kube-apiserver stand-in (conformance/k8s/apiserver.ts), which runs in this test
// process and is reached at 198.18.10.1:6443 in the ToR namespace through a forwarder to its
// Unix socket. Calico's KDD layout throughout (Node annotations, crd.projectcalico.org/v1).
//  a. node-to-node mesh from the API: sessions, every FIB, BIRD learns every block;
//  b. live switch to a route reflector (Calico's procedure, written through the API as
//     calicoctl would: cluster ID annotation + label, BGPPeer, mesh off): the ToR sessions are
//     not reset (RFC 4271 §8: a reload is no reason for a Cease), every FIB ends as it was;
//  c. the API server goes away for TERN_K8S_OUTAGE_S seconds (default 60): every ternd reports
//     the datastore stale, and not one route is withdrawn from any node's kernel (`ip monitor
//     route` sees no Deleted line) and no session is reset;
//  d. back: a block allocated meanwhile reaches every FIB; a BlockAffinity moved to another
//     node moves the route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, TERND, birdRoutes, conformanceGate, sleep, waitFor } from './lab/index.js';
import { buildCluster, control, mapText, sessions, ternRoutes, waitFibs, waitSessions, CLUSTER_AS, TOR_ADDR, TOR_AS, type Cluster } from './lab/cluster.js';
import { monitorRoutes } from './lab/restart.js';
import { ApiServer } from './k8s/apiserver.js';
import { bgpConfiguration, bgpPeer, blockAffinity, ipamBlock, ipPool, k8sNode } from './k8s/objects.js';
import type { HealthView } from '../src/control/api.js';

const FORWARD = path.resolve(__dirname, 'k8s', 'forward.js');
const API_ADDR = `${TOR_ADDR[0]}:6443`;
const OUTAGE_S = Number(process.env.TERN_K8S_OUTAGE_S ?? 60);
const SUBNETS = [0, 0, 1];
/** buildCluster's addressing: node k (1-based) in subnet s is 198.18.(10+s).(10+k). */
const nodeAddr = (k: number) => `198.18.${10 + SUBNETS[k - 1]}.${10 + k}`;

const blocksOf = (c: Cluster) => new Map(c.nodes.map((n) => [n.name, [...n.blocks]]));

async function allFibs(c: Cluster): Promise<string> {
  const parts = await Promise.all(c.nodes.map(async (n) => `${n.name}:\n${mapText(await ternRoutes(c, n.host))}`));
  return parts.join('\n');
}

async function torTransitions(c: Cluster): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const n of c.nodes) m.set(n.name, (await sessions(c, n.host)).find((s) => s.address === TOR_ADDR[0])?.establishedTransitions ?? -1);
  return m;
}

test('cluster driven by the Kubernetes API: mesh, live switch to a route reflector, API down with no route withdrawn (issue 13)', {
  timeout: 120_000 + OUTAGE_S * 1000,
}, async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'ternd'], TERND)) return;
  const lab = await Lab.create('k8s');
  t.after(() => lab.destroy());
  const api = new ApiServer({ socketPath: lab.file('apiserver.sock'), bookmarkMs: 1000 });
  await api.start();
  t.after(() => api.stop());
  const kubeconfig = lab.file('kubeconfig');
  fs.writeFileSync(kubeconfig, api.kubeconfig(`http://${API_ADDR}`));

  // The cluster as Calico keeps it in the API.
  api.apply(bgpConfiguration({ asNumber: CLUSTER_AS, nodeToNodeMeshEnabled: true, logSeverityScreen: 'Info' }));
  api.apply(ipPool('pods', '10.244.0.0/16', { ipipMode: 'CrossSubnet' }));
  api.apply(bgpPeer('tor', { peerIP: TOR_ADDR[0], asNumber: TOR_AS, keepaliveTime: '2s' }));
  for (let k = 1; k <= SUBNETS.length; k++) {
    api.apply(k8sNode(`n${k}`, { ipv4: `${nodeAddr(k)}/24` }));
    api.apply(ipamBlock(`10.244.${k}.0/26`, `n${k}`, 2));
    api.apply(blockAffinity(`10.244.${k}.0/26`, `n${k}`));
  }

  const c = await buildCluster(lab, {
    prefix: 'tk8',
    subnets: SUBNETS,
    logLevel: 'info',
    datastore: {
      async start(l, tor) {
        l.spawn(tor, process.execPath, [FORWARD, API_ADDR, lab.file('apiserver.sock')], { logFile: lab.file('forward.log') });
        await waitFor('API forwarder listening', 10_000, async () => (await l.exec(tor, 'ss', ['-ltnH', `src ${TOR_ADDR[0]}:6443`])).stdout.includes('6443'));
        return { terndArgs: ['--datastore', 'kubernetes', '--kubeconfig', kubeconfig] };
      },
      // The API already holds the cluster, written above as Calico's controllers and calicoctl
      // write it (Node annotations, CRDs); the scenario changes it through the API itself.
      async write() {},
    },
  });
  const t0 = Date.now();
  const phase = (name: string) => t.diagnostic(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const addr = new Map(c.nodes.map((n) => [n.name, n.address]));
  const others = (name: string) => c.nodes.filter((n) => n.name !== name).map((n) => n.address);
  assert.deepEqual(
    c.nodes.map((n) => n.address),
    [1, 2, 3].map(nodeAddr),
  );

  // a. mesh.
  await Promise.all(c.nodes.map((n) => waitSessions(c, n.host, [TOR_ADDR[0], ...others(n.name)])));
  await waitFibs(c, blocksOf(c));
  await waitFor('BIRD has every block', 15_000, async () => {
    const rs = await birdRoutes(lab, c.tor, { family: 'ipv4' });
    return c.nodes.every((n) => rs.some((r) => r.prefix === n.blocks[0] && r.nexthop === n.address));
  });
  for (const tn of c.ternd.values()) {
    const h = await control<HealthView>(tn.controlSocket, 'health');
    assert.deepEqual([h.datastore?.kind, h.datastore?.state], ['kubernetes', 'synced']);
  }
  phase('a. mesh from the API');
  const fibsMesh = await allFibs(c);
  const torBefore = await torTransitions(c);
  assert.deepEqual([...torBefore.values()], [1, 1, 1]);

  // b. n1 becomes the route reflector: annotation + label on its Node, the BGPPeer, mesh off.
  api.apply(k8sNode('n1', { ipv4: `${nodeAddr(1)}/24`, clusterId: '244.0.0.1', labels: { 'route-reflector': 'true' } }));
  api.apply(bgpPeer('peer-with-route-reflectors', { nodeSelector: 'all()', peerSelector: 'has(route-reflector)' }));
  api.apply(bgpConfiguration({ asNumber: CLUSTER_AS, nodeToNodeMeshEnabled: false, logSeverityScreen: 'Info' }));
  await waitSessions(c, 'tk8-n1', [TOR_ADDR[0], addr.get('n2')!, addr.get('n3')!]);
  await waitSessions(c, 'tk8-n2', [TOR_ADDR[0], addr.get('n1')!]);
  await waitSessions(c, 'tk8-n3', [TOR_ADDR[0], addr.get('n1')!]);
  await waitFibs(c, blocksOf(c));
  await sleep(1500);
  assert.equal(await allFibs(c), fibsMesh);
  assert.deepEqual(await torTransitions(c), torBefore, 'a ToR session was reset by the switch');
  phase('b. switched to a route reflector');

  // c. the API server goes away.
  const fibsBefore = await allFibs(c);
  const sessBefore = new Map(await Promise.all(c.nodes.map(async (n) => [n.name, await sessions(c, n.host)] as const)));
  const monitors = await Promise.all(c.nodes.map((n) => monitorRoutes(lab, n.host)));
  await api.stop();
  for (const tn of c.ternd.values()) {
    await waitFor(
      `${tn.host} reports the datastore stale`,
      15_000,
      async () => (await control<HealthView>(tn.controlSocket, 'health')).datastore?.state === 'stale',
    );
  }
  phase('c. API down, every node stale');
  await sleep(OUTAGE_S * 1000);
  const deleted = monitors.flatMap((m) => m.lines.filter((l) => l.startsWith('Deleted')).map((l) => `${m.host}: ${l}`));
  assert.deepEqual(deleted, [], 'routes withdrawn while the API was away');
  assert.equal(await allFibs(c), fibsBefore);
  for (const n of c.nodes) assert.deepEqual(await sessions(c, n.host), sessBefore.get(n.name), `${n.name}: a session changed while the API was away`);
  const stale = await control<HealthView>(c.ternd.get('n2')!.controlSocket, 'health');
  assert.equal(stale.datastore?.state, 'stale');
  assert.ok(stale.datastore?.lastSync, 'the last sync time is reported');
  phase(`c. ${OUTAGE_S} s without the API: nothing withdrawn, no session reset`);
  for (const m of monitors) await m.stop();

  // d. Calico IPAM allocated a block to n3 meanwhile, and moved n2's block to n3.
  api.apply(ipamBlock('10.244.3.64/26', 'n3'));
  api.apply(blockAffinity('10.244.3.64/26', 'n3'));
  api.remove('BlockAffinity', 'n2-10-244-2-0-26');
  api.apply(ipamBlock('10.244.2.0/26', 'n3'));
  api.apply(blockAffinity('10.244.2.0/26', 'n3'));
  await api.start();
  const blocks = new Map([
    ['n1', ['10.244.1.0/26']],
    ['n2', []],
    ['n3', ['10.244.3.0/26', '10.244.3.64/26', '10.244.2.0/26']],
  ]);
  // After a minute away each watch retries on its longest backoff (up to 30 s, docs/kubernetes.md).
  await waitFibs(c, blocks, 60_000);
  // Synced needs every watch back, not only the ones the FIBs above depend on: one that has not
  // retried yet may still be up to a whole 30 s backoff away (docs/kubernetes.md), more watches
  // since Services and EndpointSlices joined. So the wait is the longest backoff plus a
  // list, not the 15 s it was (stop 12: one node missed it by the time the FIBs were right).
  for (const tn of c.ternd.values()) {
    await waitFor(`${tn.host} synced again`, 45_000, async () => (await control<HealthView>(tn.controlSocket, 'health')).datastore?.state === 'synced');
  }
  assert.deepEqual(await torTransitions(c), torBefore, 'a ToR session was reset after the outage');
  phase('d. caught up after the outage');
});
