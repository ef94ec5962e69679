// Issue 13: the Kubernetes datastore against the kube-apiserver stand-in (conformance/k8s),
// in Calico's KDD layout: initial sync (no half-synced model), watched changes, Secret rotation,
// an API server restart mid-watch, a 410 Gone re-list, and the permissions Tern uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bgpConfiguration, bgpPeer, blockAffinity, endpointSlice, ipamBlock, ipPool, k8sNode, secret, service } from '../../conformance/k8s/objects.js';
import { diffPlan, originatedRoutes, planPeers } from '../../peers/index.js';
import type { AuditEntry } from '../../conformance/k8s/apiserver.js';
import { ObjectStore, RESOURCE_TYPES } from '../../conformance/k8s/store.js';
import { sleep, startApi, watchDatastore } from './helpers.js';

/** Three Calico nodes, a global ToR peer with a password, one pool, a block per node. */
function seed(api: Awaited<ReturnType<typeof startApi>>['api']): void {
  api.apply(bgpConfiguration({ asNumber: 64512, nodeToNodeMeshEnabled: true, logSeverityScreen: 'Info' }));
  for (const [i, n] of ['n1', 'n2', 'n3'].entries()) {
    api.apply(k8sNode(n, { ipv4: `198.18.10.${11 + i}/24`, labels: { rack: i < 2 ? 'a' : 'b' } }));
    const block = ipamBlock(`10.244.${i + 1}.0/26`, n, 3);
    if (n === 'n1') {
      // Address .3 of n1's block is borrowed by a pod on n2 (Calico IPAM attribute secondary.node).
      const spec = block.spec as { allocations: (number | null)[]; attributes: unknown[]; unallocated: number[] };
      spec.attributes.push({ handle_id: 'k8s-pod-network.borrowed', secondary: { namespace: 'default', node: 'n2', pod: 'borrower' } });
      spec.allocations[3] = 1;
      spec.unallocated = spec.unallocated.filter((x) => x !== 3);
    }
    api.apply(block);
    api.apply(blockAffinity(`10.244.${i + 1}.0/26`, n));
  }
  api.apply(ipPool('pods', '10.244.0.0/16'));
  api.apply(bgpPeer('tor', { peerIP: '198.18.10.1', asNumber: 65001, password: { secretKeyRef: { name: 'bgp-secrets', key: 'tor' } } }));
  api.apply(secret('bgp-secrets', 'calico-system', { tor: 'first-key' }));
}

/** RBAC rules docs/kubernetes.md gives Tern: get/list/watch on these, get on the named Secret. */
const READ = new Set(['nodes', 'services', 'endpointslices', 'bgpconfigurations', 'bgppeers', 'bgpfilters', 'ippools', 'ipamblocks', 'blockaffinities']);
const authorize = (a: Omit<AuditEntry, 'code'>) =>
  (READ.has(a.resource) && ['get', 'list', 'watch'].includes(a.verb)) ||
  (a.resource === 'secrets' && a.verb === 'get' && a.namespace === 'calico-system' && a.name === 'bgp-secrets');

test('kubernetes datastore: initial sync reads the KDD layout into the model a file would give (issue 13)', async (t) => {
  const { api, kubeconfig } = await startApi({ authorize, token: 'tern-token' });
  t.after(() => api.stop());
  seed(api);
  const w = watchDatastore(kubeconfig);
  t.after(() => w.ds.close());
  const { model, warnings } = await w.first;
  assert.deepEqual(
    model.nodes.map((n) => [n.name, n.ipv4Address, n.ipv4Subnet?.text, n.labels.rack]),
    [
      ['n1', '198.18.10.11', '198.18.10.0/24', 'a'],
      ['n2', '198.18.10.12', '198.18.10.0/24', 'a'],
      ['n3', '198.18.10.13', '198.18.10.0/24', 'b'],
    ],
  );
  assert.equal(model.bgpConfig.asNumber, 64512);
  assert.deepEqual(
    model.peers.map((p) => [p.name, p.peerIP?.address, p.asNumber]),
    [['tor', '198.18.10.1', 65001]],
  );
  assert.deepEqual(model.secrets.get('bgp-secrets'), { tor: 'first-key' });
  assert.equal(model.ipamBlocks.length, 3);
  // Only addresses used away from the block's node matter (borrowed: a /32 from the borrower).
  assert.deepEqual(model.ipamBlocks[0].allocationNodes, new Map([[3, 'n2']]));
  assert.deepEqual(
    originatedRoutes(model, 'n2').map((r) => r.prefix),
    ['10.244.2.0/26', '10.244.1.3/32'],
  );
  assert.deepEqual(warnings, []);
  assert.equal(w.ds.status().state, 'synced');
  // Tern used only the verbs docs/kubernetes.md grants, and Secrets only by name.
  assert.deepEqual(
    api.audit.filter((a) => a.code === 403),
    [],
  );
  assert.ok(
    api.audit.some((a) => a.resource === 'secrets' && a.verb === 'get'),
    'the Secret was read',
  );
});

test('kubernetes datastore: no model before every resource is listed (a half-synced model is never applied)', async (t) => {
  let ippoolsAllowed = false;
  const { api, kubeconfig } = await startApi({ authorize: (a) => a.resource !== 'ippools' || ippoolsAllowed });
  t.after(() => api.stop());
  seed(api);
  const w = watchDatastore(kubeconfig);
  t.after(() => w.ds.close());
  let done = false;
  void w.first.then(() => {
    done = true;
  });
  await sleep(800);
  // Nodes, peers and blocks are listed; without the pools the blocks would not be advertised.
  assert.ok(api.audit.some((a) => a.resource === 'nodes' && a.verb === 'list' && a.code === 200));
  assert.ok(
    api.audit.some((a) => a.resource === 'ippools' && a.code === 403),
    'the pool list was refused',
  );
  assert.equal(done, false, 'start() resolved without the IPPools');
  assert.equal(w.ds.status().state, 'syncing');
  ippoolsAllowed = true;
  const { model } = await w.first;
  assert.deepEqual(
    model.ipPools.map((p) => p.name),
    ['pods'],
  );
  assert.deepEqual(
    originatedRoutes(model, 'n1').map((r) => r.prefix),
    ['10.244.1.0/26'],
  );
});

test('kubernetes datastore: BGPPeer added and removed, BlockAffinity moved, Node AS annotation changed (issue 13)', async (t) => {
  const { api, kubeconfig } = await startApi();
  t.after(() => api.stop());
  seed(api);
  const w = watchDatastore(kubeconfig);
  t.after(() => w.ds.close());
  await w.first;
  api.apply(bgpPeer('rack-b', { nodeSelector: 'rack == "b"', peerIP: '198.18.11.1', asNumber: 65002 }));
  let u = await w.model((m) => m.peers.some((p) => p.name === 'rack-b'));
  assert.match(u.trigger, /BGPPeer\/rack-b added/);
  assert.deepEqual(
    planPeers(u.model, 'n3')
      .map((p) => p.peerAddress)
      .sort(),
    ['198.18.10.1', '198.18.10.11', '198.18.10.12', '198.18.11.1'],
  );
  api.remove('BGPPeer', 'rack-b');
  u = await w.model((m) => !m.peers.some((p) => p.name === 'rack-b'), 5000, w.events.length);
  assert.match(u.trigger, /BGPPeer\/rack-b deleted/);

  // Calico IPAM moves a block: the old affinity is released, the block gets a new host.
  const cidr = '10.244.1.0/26';
  api.remove('BlockAffinity', `n1-${cidr.replace(/[./]/g, '-')}`);
  api.apply(ipamBlock(cidr, 'n2'));
  api.apply(blockAffinity(cidr, 'n2'));
  u = await w.model(
    (m) => m.blockAffinities.some((a) => a.cidr.text === cidr && a.node === 'n2') && !m.blockAffinities.some((a) => a.cidr.text === cidr && a.node === 'n1'),
    5000,
    w.events.length,
  );
  assert.deepEqual(
    originatedRoutes(u.model, 'n1').map((r) => r.prefix),
    [],
  );
  assert.deepEqual(
    originatedRoutes(u.model, 'n2')
      .map((r) => r.prefix)
      .sort(),
    ['10.244.1.0/26', '10.244.2.0/26'],
  );

  // An AS annotation on n3 makes its sessions eBGP (RFC 4271 §5.1.2: the peer AS is in the OPEN).
  const before = planPeers(u.model, 'n1');
  api.apply(k8sNode('n3', { ipv4: '198.18.10.13/24', labels: { rack: 'b' }, asNumber: 65100 }));
  u = await w.model((m) => m.nodes.find((n) => n.name === 'n3')?.asNumber === 65100, 5000, w.events.length);
  const diff = diffPlan(before, planPeers(u.model, 'n1'));
  assert.deepEqual(
    diff.changed.map((c) => [c.after.peerAddress, c.fields.includes('peerAs'), c.restartNeeded]),
    [['198.18.10.13', true, true]],
  );
});

test('kubernetes datastore: a Secret rotation changes only the password of the session that uses it (issue 13)', async (t) => {
  const { api, kubeconfig } = await startApi();
  t.after(() => api.stop());
  seed(api);
  api.apply(bgpPeer('other', { peerIP: '198.18.10.2', asNumber: 65003 }));
  const w = watchDatastore(kubeconfig);
  t.after(() => w.ds.close());
  const { model } = await w.first;
  const before = planPeers(model, 'n1');
  assert.equal(before.find((p) => p.peerAddress === '198.18.10.1')?.password, 'first-key');
  api.apply(secret('bgp-secrets', 'calico-system', { tor: 'second-key' }));
  const u = await w.model((m) => m.secrets.get('bgp-secrets')?.tor === 'second-key');
  const diff = diffPlan(before, planPeers(u.model, 'n1'));
  assert.deepEqual(
    diff.changed.map((c) => [c.after.peerAddress, c.fields, c.restartNeeded]),
    [['198.18.10.1', ['password'], true]],
  );
  assert.equal(diff.unchanged.length, before.length - 1);
  // A peer that starts to use a Secret is applied only once the Secret has been read.
  api.apply(secret('other-secret', 'calico-system', { k: 'third-key' }));
  const since = w.events.length;
  api.apply(bgpPeer('other', { peerIP: '198.18.10.2', asNumber: 65003, password: { secretKeyRef: { name: 'other-secret', key: 'k' } } }));
  const v = await w.model((m) => m.peers.some((p) => p.name === 'other' && p.password?.secretKeyRef !== undefined), 5000, since);
  assert.deepEqual(v.model.secrets.get('other-secret'), { k: 'third-key' });
});

test('kubernetes datastore: an API server restart mid-watch keeps the model, goes stale, and catches up (issue 13)', async (t) => {
  const { api, kubeconfig } = await startApi();
  t.after(() => api.stop());
  seed(api);
  const w = watchDatastore(kubeconfig);
  t.after(() => w.ds.close());
  await w.first;
  const modelsBefore = w.models().length;
  await api.stop();
  await waitState(w.ds, 'stale');
  assert.match(w.ds.status().detail ?? '', /nodes|bgp|ip|block/);
  // Changes made while the watches are down (the store, like etcd, outlives the server).
  api.apply(bgpPeer('late', { peerIP: '198.18.10.3', asNumber: 65004 }));
  api.remove('BGPPeer', 'tor');
  await sleep(600);
  assert.equal(w.models().length, modelsBefore, 'no model while the API server is down');
  await api.start();
  const u = await w.model((m) => m.peers.map((p) => p.name).join() === 'late', 10_000, 0);
  assert.ok(u);
  await waitState(w.ds, 'synced');
});

test('kubernetes datastore: 410 Gone makes the informer re-list; a deletion missed meanwhile is seen (issue 13)', async (t) => {
  const { api, kubeconfig } = await startApi();
  t.after(() => api.stop());
  seed(api);
  api.apply(bgpPeer('doomed', { peerIP: '198.18.10.4', asNumber: 65005 }));
  const w = watchDatastore(kubeconfig);
  t.after(() => w.ds.close());
  await w.first;
  await api.stop();
  api.remove('BGPPeer', 'doomed');
  api.store.compact(); // the deletion event is gone from the history: only a re-list can show it
  const listsBefore = api.audit.filter((a) => a.resource === 'bgppeers' && a.verb === 'list').length;
  await api.start();
  await w.model((m) => !m.peers.some((p) => p.name === 'doomed'), 10_000, 0);
  assert.ok(api.audit.filter((a) => a.resource === 'bgppeers' && a.verb === 'list').length > listsBefore, 'bgppeers re-listed');
  // A live watch ended with 410 re-lists as well.
  api.expireWatches();
  api.apply(bgpPeer('after-410', { peerIP: '198.18.10.5', asNumber: 65006 }));
  await w.model((m) => m.peers.some((p) => p.name === 'after-410'), 10_000, 0);
});

async function waitState(ds: { status(): { state: string } }, state: string, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (ds.status().state !== state) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`datastore state ${ds.status().state}, wanted ${state}`);
    await sleep(20);
  }
}

test('kubernetes datastore: watches resume from BOOKMARK resourceVersions after dropped connections, without a re-list (issue 13)', async (t) => {
  const { api, kubeconfig } = await startApi({ bookmarkMs: 100 });
  t.after(() => api.stop());
  seed(api);
  const w = watchDatastore(kubeconfig);
  t.after(() => w.ds.close());
  await w.first;
  // Other resources move the revision on; the BGPPeer watch sees none of it but its bookmarks.
  for (let i = 0; i < 20; i++) api.apply(k8sNode(`extra-${i}`, { ipv4: `198.18.20.${i + 1}/24` }));
  await sleep(500);
  // History before now is compacted: only a watch that learnt a recent revision from a
  // bookmark can resume; one that knew only its last BGPPeer event would get 410 and re-list.
  api.store.compact();
  const lists = () => api.audit.filter((a) => a.resource === 'bgppeers' && a.verb === 'list').length;
  const before = lists();
  api.dropConnections();
  await sleep(300);
  api.apply(bgpPeer('after-drop', { peerIP: '198.18.10.6', asNumber: 65007 }));
  await w.model((m) => m.peers.some((p) => p.name === 'after-drop'), 10_000, 0);
  assert.equal(lists(), before, 'the BGPPeer watch re-listed instead of resuming from its bookmark');
  assert.ok(api.audit.filter((a) => a.resource === 'bgppeers' && a.verb === 'watch').length >= 2, 'the watch was re-opened');
});

test("kubernetes datastore, plain mode: podCIDRs are the node's blocks, advertised even without an IPPool as Calico exports confirmed blocks (issue 13)", async (t) => {
  // A kubeadm cluster without Calico: the stand-in serves core v1 only.
  const { api, kubeconfig } = await startApi({ store: new ObjectStore(RESOURCE_TYPES.filter((x) => x.group === '')) });
  t.after(() => api.stop());
  api.apply(k8sNode('w1', { internalIP: '198.18.30.1', podCIDRs: ['10.245.1.0/24', 'fd00:245:1::/64'] }));
  const w = watchDatastore(kubeconfig, { mode: 'plain' });
  t.after(() => w.ds.close());
  const { model } = await w.first;
  assert.deepEqual(
    model.nodes.map((n) => [n.name, n.ipv4Address]),
    [['w1', '198.18.30.1']],
  );
  assert.deepEqual(
    model.ipamBlocks.map((b) => [b.cidr.text, b.affinityNode]),
    [
      ['10.245.1.0/24', 'w1'],
      ['fd00:245:1::/64', 'w1'],
    ],
  );
  assert.deepEqual(
    originatedRoutes(model, 'w1').map((r) => r.prefix),
    ['10.245.1.0/24', 'fd00:245:1::/64'],
  );
  // A podCIDR taken away by the controller leaves the model.
  api.apply(k8sNode('w1', { internalIP: '198.18.30.1', podCIDRs: ['10.245.1.0/24'] }));
  await w.model((m) => m.ipamBlocks.length === 1, 5000, 0);
});

test('kubernetes datastore: Services and EndpointSlices from the API give per-service routes; an endpoint going away withdraws them (Calico confd routes.go, externalTrafficPolicy Local)', async (t) => {
  const { api, kubeconfig } = await startApi({ authorize, token: 'tern-token' });
  t.after(() => api.stop());
  seed(api);
  api.apply(
    bgpConfiguration({
      asNumber: 64512,
      nodeToNodeMeshEnabled: true,
      serviceLoadBalancerIPs: [{ cidr: '198.19.200.0/24' }],
      serviceLoadBalancerAggregation: 'Disabled',
    }),
  );
  // Same name in two namespaces: keys carry the namespace, so neither hides the other.
  api.apply(service('web', 'shop', { clusterIP: '10.96.0.10', type: 'LoadBalancer', externalTrafficPolicy: 'Local', ingress: ['198.19.200.7'] }));
  api.apply(
    endpointSlice('web-abc', 'shop', 'web', [
      { node: 'n1', ready: true },
      { node: 'n2', ready: false },
    ]),
  );
  api.apply(service('web', 'blog', { clusterIP: '10.96.0.11', type: 'LoadBalancer', externalTrafficPolicy: 'Local', ingress: ['198.19.200.8'] }));
  api.apply(endpointSlice('web-xyz', 'blog', 'web', [{ node: 'n2', ready: true }]));
  const w = watchDatastore(kubeconfig);
  t.after(() => w.ds.close());
  const { model, warnings } = await w.first;
  assert.deepEqual(warnings, []);
  assert.deepEqual(model.services.map((s) => `${s.namespace}/${s.name} ${s.ingressIPs.join(',')}`).sort(), ['blog/web 198.19.200.8', 'shop/web 198.19.200.7']);
  const perService = (m: typeof model, node: string) =>
    originatedRoutes(m, node)
      .filter((r) => r.origin === 'service')
      .map((r) => r.prefix)
      .sort();
  // Local: only a node with a ready endpoint advertises; n2's endpoint of shop/web is not ready.
  assert.deepEqual(perService(model, 'n1'), ['198.19.200.7/32']);
  assert.deepEqual(perService(model, 'n2'), ['198.19.200.8/32']);
  assert.deepEqual(perService(model, 'n3'), []);

  // The pod on n1 goes away: its endpoint leaves the slice, and n1 withdraws the /32.
  api.apply(endpointSlice('web-abc', 'shop', 'web', [{ node: 'n2', ready: false }]));
  let u = await w.model((m) => perService(m, 'n1').length === 0, 5000, w.events.length);
  assert.match(u.trigger, /EndpointSlice\/shop\/web-abc modified/);
  // The endpoint on n2 becomes ready: now n2 advertises both.
  api.apply(endpointSlice('web-abc', 'shop', 'web', [{ node: 'n2', ready: true }]));
  u = await w.model((m) => perService(m, 'n2').length === 2, 5000, w.events.length);
  assert.deepEqual(perService(u.model, 'n2'), ['198.19.200.7/32', '198.19.200.8/32']);
  // The blog Service is deleted: its route goes, the other stays.
  api.remove('Service', 'web', 'blog');
  u = await w.model((m) => m.services.length === 1, 5000, w.events.length);
  assert.match(u.trigger, /Service\/blog\/web deleted/);
  assert.deepEqual(perService(u.model, 'n2'), ['198.19.200.7/32']);
  assert.deepEqual(
    api.audit.filter((a) => a.code === 403),
    [],
  );
  for (const r of ['services', 'endpointslices'])
    assert.ok(
      api.audit.some((a) => a.resource === r && a.verb === 'watch' && a.code === 200),
      `${r} watched`,
    );
});
