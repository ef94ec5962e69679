// Tern as an RFC 4456 route reflector for two Calico-style nodes, one run by BIRD (as Calico
// itself does) and one by FRR, all on one L2 segment (a bridge namespace). What each client
// receives is read back from the client, so the reflection attributes are checked as another
// implementation decodes them from Tern's bytes.

import test from 'node:test';
import assert from 'node:assert/strict';
import {
  blockDoc,
  Lab,
  TERND,
  startBird,
  startFrr,
  startTernd,
  birdRoutes,
  frrRoutes,
  frrRouteDetail,
  waitBirdEstablished,
  waitFrrEstablished,
  conformanceGate,
  waitFor,
} from './lab/index.js';

const AS = 64512;
const CLUSTER_ID = '224.0.0.1';
const [RR, A, B] = ['198.18.70.1', '198.18.70.2', '198.18.70.3'];

test('RFC 4456 §8: Tern reflects between a BIRD and an FRR client with ORIGINATOR_ID and CLUSTER_LIST, next hop and LOCAL_PREF untouched', async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'bgpd', 'vtysh', 'ternd'], TERND)) return;
  const lab = await Lab.create('tcr');
  t.after(() => lab.destroy());
  const sw = await lab.addSwitch('tcr-sw');
  const [rr, a, b] = [await lab.addHost('tcr-tern'), await lab.addHost('tcr-bird'), await lab.addHost('tcr-frr')];
  await lab.plug(rr, sw, { v4: `${RR}/24` });
  await lab.plug(a, sw, { v4: `${A}/24` });
  await lab.plug(b, sw, { v4: `${B}/24` });

  await startBird(lab, a, {
    routerId: A,
    static4: [{ prefix: '10.244.71.0/26', attrs: ['bgp_community.add((65000,71));', 'bgp_large_community.add((64512,7,1));'] }],
    neighbors: [{ name: 'tern', localAddr: A, localAs: AS, neighborAddr: RR, neighborAs: AS, ipv4: { export: 'bgp_local_pref = 150; accept;' } }],
  });
  await startFrr(lab, b, {
    asn: AS,
    routerId: B,
    routeMaps: 'route-map B-ATTRS permit 10\n set local-preference 170\n set community 65000:72',
    networks4: [{ prefix: '10.244.72.0/26', routeMap: 'B-ATTRS' }],
    neighbors: [{ addr: RR, remoteAs: 'internal' }],
  });
  const node = 'rr';
  await startTernd(lab, rr, {
    node,
    configYaml: {
      asNumber: AS,
      nodes: [
        { name: 'rr', ipv4Address: `${RR}/24`, routeReflectorClusterID: CLUSTER_ID, labels: { 'route-reflector': 'true' } },
        { name: 'a', ipv4Address: `${A}/24` },
        { name: 'b', ipv4Address: `${B}/24` },
      ],
      peers: [{ name: 'to-rr', nodeSelector: '!has(route-reflector)', peerSelector: 'has(route-reflector)' }],
      pools: { 'pods-v4': '10.244.0.0/16' },
      extraDocs: [blockDoc('10.244.70.0/26', node)],
    },
    args: ['--probes', 'off'],
  });
  await waitBirdEstablished(lab, a, 'tern');
  await waitFrrEstablished(lab, b, RR);

  // FRR's route, reflected to BIRD.
  const atA = await waitFor('BIRD receives the reflected FRR route', 20_000, async () =>
    (await birdRoutes(lab, a, { proto: 'tern' })).find((r) => r.prefix === '10.244.72.0/26'),
  );
  assert.equal(atA.originatorId, B, 'ORIGINATOR_ID is the originating client (RFC 4456 §8)');
  assert.deepEqual(atA.clusterList, [CLUSTER_ID], 'CLUSTER_LIST holds the reflector cluster id');
  assert.equal(atA.attrs.next_hop, B, 'a reflector does not change NEXT_HOP');
  assert.equal(atA.localPref, 170);
  assert.deepEqual(atA.asPath, []);
  assert.deepEqual(atA.communities, ['65000,72']);

  // BIRD's route, reflected to FRR.
  await waitFor('FRR receives the reflected BIRD route', 20_000, async () => (await frrRoutes(lab, b, 'ipv4')).some((r) => r.prefix === '10.244.71.0/26'));
  const [atB] = await frrRouteDetail(lab, b, '10.244.71.0/26');
  assert.equal(atB.originatorId, A);
  assert.deepEqual((atB.clusterList as { list?: string[] } | undefined)?.list, [CLUSTER_ID]);
  assert.equal(atB.locPrf, 150);
  assert.equal((atB.largeCommunity as { string?: string } | undefined)?.string, '64512:7:1');
  const nh = (atB.nexthops as { ip?: string }[] | undefined)?.[0]?.ip;
  assert.equal(nh, A);

  // Tern's own block is originated, not reflected: no ORIGINATOR_ID, no CLUSTER_LIST.
  const own = await waitFor('BIRD receives the Tern block', 20_000, async () =>
    (await birdRoutes(lab, a, { proto: 'tern' })).find((r) => r.prefix === '10.244.70.0/26'),
  );
  assert.equal(own.originatorId, undefined);
  assert.deepEqual(own.clusterList, []);
  assert.equal(own.attrs.next_hop, RR);
});
