// Calico's etcdv3 layout (issue 19), key by key as libcalico-go writes it (libcalico-go/lib/
// backend/model/resource.go, block.go, block_affinity.go, keys.go), into the resources the model
// parser reads. Pure: no etcd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdLayout as L } from '../../peers/datastore/index.js';

const resourceOf = (t: L.Translation) => (t.type === 'resource' ? t.resource : assert.fail(JSON.stringify(t)));

test('etcd layout: keys are built as libcalico-go builds them', () => {
  assert.equal(L.resourceKey('bgppeers', 'tor'), '/calico/resources/v3/projectcalico.org/bgppeers/tor');
  assert.equal(L.blockKey('10.244.1.0/26'), '/calico/ipam/v2/assignment/ipv4/block/10.244.1.0-26');
  assert.equal(L.blockKey('fd00:10:244::/122'), '/calico/ipam/v2/assignment/ipv6/block/fd00:10:244::-122');
  assert.equal(L.affinityKey('n1', '10.244.1.0/26'), '/calico/ipam/v2/host/n1/ipv4/block/10.244.1.0-26');
  // BGPFilters is registered as "BGPFilters" and lower-cased (resource.go registerResourceInfo).
  assert.ok(L.WATCHED_PREFIXES.includes('/calico/resources/v3/projectcalico.org/bgpfilters/'));
});

test('etcd layout: a v3 resource keeps its JSON; the key gives kind and name', () => {
  const r = resourceOf(
    L.translate(
      L.resourceKey('bgppeers', 'tor'),
      JSON.stringify({
        kind: 'BGPPeer',
        apiVersion: 'projectcalico.org/v3',
        metadata: { name: 'tor', uid: 'u' },
        spec: { peerIP: '198.18.0.1', asNumber: 65001 },
      }),
    ),
  );
  assert.deepEqual(r, {
    kind: 'BGPPeer',
    apiVersion: 'projectcalico.org/v3',
    metadata: { name: 'tor', uid: 'u' },
    spec: { peerIP: '198.18.0.1', asNumber: 65001 },
  });
  // A value without kind/apiVersion/name (written by hand) takes them from the key.
  assert.deepEqual(resourceOf(L.translate(L.resourceKey('nodes', 'n1'), '{"spec":{}}')), {
    spec: {},
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name: 'n1' },
  });
});

test('etcd layout: a corrupt value is refused by key, not dropped (Calico would skip it silently)', () => {
  assert.match((L.translate(L.resourceKey('bgppeers', 'x'), '{') as { message: string }).message, /not JSON/);
  assert.match((L.translate(L.resourceKey('bgppeers', 'x'), '[]') as { message: string }).message, /not a JSON object/);
  assert.match((L.translate(L.resourceKey('bgppeers', 'x'), '{"kind":"Node"}') as { message: string }).message, /Node.*BGPPeer/);
  assert.match((L.translate(L.resourceKey('bgppeers', 'x'), '{"metadata":{"name":"y"}}') as { message: string }).message, /differs from the name in the key/);
  assert.match((L.translate(L.blockKey('10.244.1.0/26'), '{"cidr":"10.244.2.0/26"}') as { message: string }).message, /differs from the CIDR in the key/);
});

test('etcd layout: an AllocationBlock becomes an IPAMBlock; nulls dropped, hostAffinity honoured', () => {
  const v = {
    cidr: '10.244.1.0/26',
    affinity: 'host:n1',
    allocations: [0, null],
    unallocated: [1],
    attributes: [{ handle_id: 'h', secondary: { node: 'n1' } }],
    sequenceNumber: 3,
    sequenceNumberForAllocation: { '0': 2 },
    deleted: false,
  };
  assert.deepEqual(resourceOf(L.translate(L.blockKey('10.244.1.0/26'), JSON.stringify(v))), {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'IPAMBlock',
    metadata: { name: '10-244-1-0-26' },
    spec: {
      cidr: '10.244.1.0/26',
      affinity: 'host:n1',
      allocations: [0, null],
      attributes: [{ handle_id: 'h', secondary: { node: 'n1' } }],
      sequenceNumber: 3,
      deleted: false,
    },
  });
  // block.go: HostAffinity is "deprecated in favor of Affinity" but still read; affinity null = none.
  assert.equal(
    (resourceOf(L.translate(L.blockKey('10.244.1.0/26'), '{"affinity":null,"hostAffinity":"old"}')).spec as { affinity: string }).affinity,
    'host:old',
  );
  assert.equal((resourceOf(L.translate(L.blockKey('10.244.1.0/26'), '{"affinity":null}')).spec as { affinity?: string }).affinity, undefined);
});

test('etcd layout: host affinities; an empty value is a confirmed one (keys.go, calico issue 1956); others ignored', () => {
  assert.deepEqual(resourceOf(L.translate(L.affinityKey('n1', '10.244.1.0/26'), '{"state":"pending","deleted":false}')), {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'BlockAffinity',
    metadata: { name: 'n1-10-244-1-0-26' },
    spec: { node: 'n1', cidr: '10.244.1.0/26', state: 'pending', deleted: false },
  });
  assert.equal((resourceOf(L.translate(L.affinityKey('n1', '10.244.1.0/26'), '')).spec as { state: string }).state, 'confirmed');
  for (const key of [
    '/calico/ipam/v2/handle/k8s-pod-network.x',
    '/calico/ipam/v2/virtual/lb/ipv4/block/10.0.0.0-26',
    '/calico/resources/v3/projectcalico.org/workloadendpoints/ns/wep',
    '/calico/resources/v3/projectcalico.org/nodes/a/b',
  ]) {
    assert.equal(L.translate(key, '{}').type, 'ignored', key);
  }
});
