// Issue 16: per-service routes from the Kubernetes API, checked at a real BIRD 2 peer. ternd runs
// `--datastore kubernetes` against the kube-apiserver stand-in (conformance/k8s/apiserver.ts: no
// kube-apiserver binary exists here), reached on the node's 127.0.0.1:6443 through a forwarder.
// Calico's meaning (confd routes.go advertiseThisService; docs/configuration.md "Service
// advertisement"): with serviceLoadBalancerIPs covering a LoadBalancer Service's ingress IP,
// serviceLoadBalancerAggregation Disabled and externalTrafficPolicy Local, a node advertises the
// /32 while it has a ready endpoint of that Service, and withdraws it (RFC 4271 §4.3 WITHDRAWN
// ROUTES) when the endpoint leaves its EndpointSlice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pairLab, TERND, birdRoutes, conformanceGate, startBird, startTernd, waitBirdEstablished, waitFor } from './lab/index.js';
import { ApiServer } from './k8s/apiserver.js';
import { bgpConfiguration, bgpPeer, blockAffinity, endpointSlice, ipamBlock, ipPool, k8sNode, service } from './k8s/objects.js';

const FORWARD = path.resolve(__dirname, 'k8s', 'forward.js');
const NODE = 'n1';
const [TERN, BIRD] = ['198.18.161.1', '198.18.161.2'];
const [WEB, DB] = ['198.19.161.7/32', '198.19.161.8/32'];
const BLOCK = '10.244.161.0/26';

test('per-service routes from Kubernetes Services and EndpointSlices reach BIRD and are withdrawn when the local endpoint goes (Calico externalTrafficPolicy Local, RFC 4271 §4.3)', {
  timeout: 90_000,
}, async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'ternd'], TERND)) return;
  const { lab, hostA: ternHost, hostB: birdHost } = await pairLab(t, 'ti16s', ['tern', 'bird'], { v4: `${TERN}/24`, v4b: `${BIRD}/24` });
  await startBird(lab, birdHost, {
    routerId: BIRD,
    neighbors: [{ name: 'tern', localAddr: BIRD, localAs: 65001, neighborAddr: TERN, neighborAs: 64512, ipv4: {} }],
  });

  const api = new ApiServer({ socketPath: lab.file('apiserver.sock'), bookmarkMs: 1000 });
  await api.start();
  t.after(() => api.stop());
  api.apply(
    bgpConfiguration({
      asNumber: 64512,
      nodeToNodeMeshEnabled: false,
      serviceLoadBalancerIPs: [{ cidr: '198.19.161.0/24' }],
      serviceLoadBalancerAggregation: 'Disabled',
    }),
  );
  api.apply(ipPool('pods', '10.244.0.0/16'));
  api.apply(k8sNode(NODE, { ipv4: `${TERN}/24` }));
  api.apply(ipamBlock(BLOCK, NODE, 1));
  api.apply(blockAffinity(BLOCK, NODE));
  api.apply(bgpPeer('tor', { peerIP: BIRD, asNumber: 65001, keepaliveTime: '1s' }));
  // web has a ready endpoint on this node; db's only endpoint is on another node.
  api.apply(service('web', 'shop', { clusterIP: '10.96.0.10', type: 'LoadBalancer', externalTrafficPolicy: 'Local', ingress: [WEB.split('/')[0]] }));
  api.apply(endpointSlice('web-1', 'shop', 'web', [{ node: NODE, ready: true }]));
  api.apply(service('db', 'shop', { clusterIP: '10.96.0.11', type: 'LoadBalancer', externalTrafficPolicy: 'Local', ingress: [DB.split('/')[0]] }));
  api.apply(endpointSlice('db-1', 'shop', 'db', [{ node: 'n2', ready: true }]));

  lab.spawn(ternHost, process.execPath, [FORWARD, '127.0.0.1:6443', lab.file('apiserver.sock')], { logFile: lab.file('forward.log') });
  await waitFor('API forwarder listening', 10_000, async () => (await lab.exec(ternHost, 'ss', ['-ltnH', 'src 127.0.0.1:6443'])).stdout.includes('6443'));
  const kubeconfig = lab.file('kubeconfig');
  fs.writeFileSync(kubeconfig, api.kubeconfig('http://127.0.0.1:6443'));
  await startTernd(lab, ternHost, {
    configYaml: '',
    node: NODE,
    datastoreArgs: ['--datastore', 'kubernetes', '--kubeconfig', kubeconfig],
    args: ['--probes', 'off', '--connect-retry', '1'],
  });
  await waitBirdEstablished(lab, birdHost, 'tern', 20_000);

  const prefixes = async () => (await birdRoutes(lab, birdHost, { proto: 'tern', family: 'ipv4' })).map((r) => r.prefix).sort();
  // The block and web's /32 arrive from the first model (one plan); db's /32 is not among them.
  let seen = await waitFor('BIRD has the block and web', 20_000, async () => {
    const p = await prefixes();
    return p.includes(BLOCK) && p.includes(WEB) && p;
  });
  assert.deepEqual(seen, [BLOCK, WEB], 'db has no ready endpoint on this node: not advertised');
  const web = (await birdRoutes(lab, birdHost, { proto: 'tern' })).find((r) => r.prefix === WEB);
  assert.equal(web?.nexthop, TERN);

  // The web pod moves to n2: its endpoint leaves n1, and n1 withdraws the /32 (the block stays).
  api.apply(endpointSlice('web-1', 'shop', 'web', [{ node: 'n2', ready: true }]));
  seen = await waitFor('BIRD lost web', 20_000, async () => {
    const p = await prefixes();
    return !p.includes(WEB) && p;
  });
  assert.deepEqual(seen, [BLOCK]);

  // A db endpoint becomes ready on n1: now db is advertised (the rule, not a blanket refusal, kept it out).
  api.apply(
    endpointSlice('db-1', 'shop', 'db', [
      { node: 'n2', ready: true },
      { node: NODE, ready: true },
    ]),
  );
  seen = await waitFor('BIRD has db', 20_000, async () => {
    const p = await prefixes();
    return p.includes(DB) && p;
  });
  assert.deepEqual(seen, [BLOCK, DB]);

  // The Service is deleted (its EndpointSlice stays until garbage collection): withdrawn.
  api.remove('Service', 'db', 'shop');
  seen = await waitFor('BIRD lost db', 20_000, async () => {
    const p = await prefixes();
    return !p.includes(DB) && p;
  });
  assert.deepEqual(seen, [BLOCK]);
});
