// Peer planning, following Calico confd (client.go updatePeersV1, bgp_processor.go) and
// RFC 4456 for route reflector clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localSpeaker, planPeers, type PeerConfig } from '../../peers/index.js';
import { model, node, res } from './helpers.js';

const keys = (ps: PeerConfig[]) => ps.map((p) => p.key).sort();
const byKey = (ps: PeerConfig[], k: string) => ps.find((p) => p.key === k)!;
const NODES = [
  node('n1', { v4: '198.18.1.1/24', labels: { rack: 'a' } }),
  node('n2', { v4: '198.18.1.2/24', labels: { rack: 'a' } }),
  node('n3', { v4: '198.18.2.3/24', labels: { rack: 'b' } }),
];
const NO_MESH = res('BGPConfiguration', 'default', { nodeToNodeMeshEnabled: false });

test('full mesh: one session per other node, never to itself (Calico node-to-node mesh)', () => {
  const m = model(...NODES);
  const p = planPeers(m, 'n1');
  assert.deepEqual(keys(p), ['198.18.1.2', '198.18.2.3']);
  const s = byKey(p, '198.18.1.2');
  assert.equal(s.kind, 'mesh');
  assert.equal(s.description, 'node-to-node mesh with n2');
  assert.equal(s.peerAs, 64512);
  assert.equal(s.localAs, 64512);
  assert.equal(s.peerPort, 179);
  assert.equal(s.localAddress, '198.18.1.1');
  assert.equal(s.routeReflectorClient, false);
  assert.deepEqual(s.families, ['ipv4']);
  assert.equal(s.sourceNode, 'n2');
  assert.equal(s.nextHopMode, 'Auto');
});

test('mesh uses the node AS (else global), listen ports, mesh password and restart time', () => {
  const m = model(
    res('BGPConfiguration', 'default', { asNumber: 65000, listenPort: 1179, nodeMeshPassword: 'meshpw', nodeMeshMaxRestartTime: '90s' }),
    res('BGPConfiguration', 'node.n2', { listenPort: 2179 }),
    node('n1', { v4: '198.18.1.1/24' }),
    node('n2', { v4: '198.18.1.2/24', as: 65002 }),
  );
  const s = planPeers(m, 'n1')[0];
  assert.equal(s.key, '198.18.1.2:2179');
  assert.equal(s.peerPort, 2179);
  assert.equal(s.peerAs, 65002);
  assert.equal(s.localAs, 65000);
  assert.equal(s.password, 'meshpw');
  assert.equal(s.maxRestartTime, 90);
  const back = planPeers(m, 'n2')[0];
  assert.equal(back.key, '198.18.1.1:1179');
  assert.equal(back.localAs, 65002);
  assert.equal(localSpeaker(m, 'n2').listenPort, 2179);
});

test('mesh disabled: no sessions without BGPPeers', () => {
  assert.deepEqual(planPeers(model(NO_MESH, ...NODES), 'n1'), []);
});

test('IPv6 mesh: one session per family where both ends have an address', () => {
  const m = model(
    node('a', { v4: '198.18.1.1/24', v6: '2001:db8::1/64' }),
    node('b', { v4: '198.18.1.2/24', v6: '2001:db8::2/64' }),
    node('c', { v6: '2001:db8::3/64' }),
  );
  const p = planPeers(m, 'a');
  assert.deepEqual(keys(p), ['198.18.1.2', '2001:db8::2', '2001:db8::3']);
  assert.deepEqual(byKey(p, '2001:db8::3').families, ['ipv6']);
  assert.equal(byKey(p, '2001:db8::3').localAddress, '2001:db8::1');
  assert.deepEqual(keys(planPeers(m, 'c')), ['2001:db8::1', '2001:db8::2']);
});

const RR = [
  NO_MESH,
  node('rr1', { v4: '198.18.0.1/24', cid: '224.0.0.1', labels: { 'route-reflector': 'true' } }),
  node('c1', { v4: '198.18.1.1/24' }),
  node('c2', { v4: '198.18.1.2/24' }),
  res('BGPPeer', 'peer-with-rrs', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" }),
];

test('route reflector with clients: clients peer only with the reflector (RFC 4456)', () => {
  const m = model(...RR);
  const c1 = planPeers(m, 'c1');
  assert.deepEqual(keys(c1), ['198.18.0.1']);
  assert.equal(c1[0].kind, 'reflector');
  assert.equal(c1[0].routeReflectorClient, false);
  const rr = planPeers(m, 'rr1');
  assert.deepEqual(keys(rr), ['198.18.1.1', '198.18.1.2']);
  for (const s of rr) {
    assert.equal(s.routeReflectorClient, true, s.key);
    assert.equal(s.kind, 'rr-client');
    assert.match(s.description, /BGPPeer peer-with-rrs \(reverse\)/);
  }
});

test("two reflectors with the same cluster ID peer but are not each other's clients (RFC 4456 §7)", () => {
  const m = model(...RR, node('rr2', { v4: '198.18.0.2/24', cid: '224.0.0.1', labels: { 'route-reflector': 'true' } }));
  const rr1 = planPeers(m, 'rr1');
  assert.deepEqual(keys(rr1), ['198.18.0.2', '198.18.1.1', '198.18.1.2']);
  assert.equal(byKey(rr1, '198.18.0.2').routeReflectorClient, false);
  assert.equal(byKey(rr1, '198.18.0.2').kind, 'selector');
  assert.equal(byKey(rr1, '198.18.1.1').routeReflectorClient, true);
  assert.deepEqual(keys(planPeers(m, 'c1')), ['198.18.0.1', '198.18.0.2']);
});

test("reflectors of different clusters are each other's clients (Calico rule)", () => {
  const m = model(...RR, node('rr2', { v4: '198.18.0.2/24', cid: '224.0.0.2', labels: { 'route-reflector': 'true' } }));
  assert.equal(byKey(planPeers(m, 'rr1'), '198.18.0.2').routeReflectorClient, true);
});

test('mesh enabled with a reflector: reflectors leave the mesh, other nodes still mesh (Calico)', () => {
  const m = model(...RR.slice(1));
  const c1 = planPeers(m, 'c1');
  assert.deepEqual(keys(c1), ['198.18.0.1', '198.18.1.2']);
  assert.equal(byKey(c1, '198.18.1.2').kind, 'mesh');
  assert.equal(byKey(c1, '198.18.0.1').kind, 'reflector');
  assert.ok(planPeers(m, 'rr1').every((s) => s.kind === 'rr-client'));
});

test('global, node-specific and selector BGPPeers choose the nodes that have the session', () => {
  const m = model(
    NO_MESH,
    ...NODES,
    res('BGPPeer', 'tor-global', { peerIP: '198.18.9.1', asNumber: 65001 }),
    res('BGPPeer', 'tor-n3', { node: 'n3', peerIP: '198.18.9.3', asNumber: 65003 }),
    res('BGPPeer', 'tor-rack-a', { nodeSelector: "rack == 'a'", peerIP: '198.18.9.2:1179', asNumber: 65002 }),
  );
  assert.deepEqual(keys(planPeers(m, 'n1')), ['198.18.9.1', '198.18.9.2:1179']);
  assert.deepEqual(keys(planPeers(m, 'n3')), ['198.18.9.1', '198.18.9.3']);
  const n1 = planPeers(m, 'n1');
  assert.equal(byKey(n1, '198.18.9.1').kind, 'global');
  assert.equal(byKey(n1, '198.18.9.1').description, 'BGPPeer tor-global (global)');
  assert.equal(byKey(n1, '198.18.9.2:1179').kind, 'selector');
  assert.equal(byKey(n1, '198.18.9.2:1179').peerPort, 1179);
  assert.equal(byKey(planPeers(m, 'n3'), '198.18.9.3').kind, 'node');
});

test('BGPPeer options reach the PeerConfig', () => {
  const m = model(
    NO_MESH,
    ...NODES,
    res('BGPFilter', 'f1', {}),
    res('BGPPeer', 'tor', {
      peerIP: '198.18.9.1',
      asNumber: 65001,
      localASNumber: 65100,
      password: { secretKeyRef: { name: 's', key: 'k' } },
      ttlSecurity: 1,
      keepaliveTime: '20s',
      maxRestartTime: '2m',
      nextHopMode: 'Self',
      numAllowedLocalASNumbers: 1,
      filters: ['f1', 'missing'],
      reachableBy: '198.18.1.254',
    }),
  );
  const s = planPeers(m, 'n1', { resolveSecret: (r) => ({ value: `${r.name}/${r.key}` }) })[0];
  assert.deepEqual(
    { ...s, description: undefined },
    {
      key: '198.18.9.1',
      kind: 'global',
      description: undefined,
      peerAddress: '198.18.9.1',
      peerPort: 179,
      peerAs: 65001,
      localAs: 65100,
      localAddress: '198.18.1.1',
      password: 's/k',
      ttlSecurity: 1,
      keepaliveTime: 20,
      holdTime: 60,
      maxRestartTime: 120,
      nextHopMode: 'Self',
      numAllowedLocalASNumbers: 1,
      routeReflectorClient: false,
      families: ['ipv4'],
      filters: ['f1'],
      reachableBy: '198.18.1.254',
    },
  );
  // RFC 2385: a session configured with a password never runs without it.
  const held = planPeers(m, 'n1')[0];
  assert.equal(held.password, undefined);
  assert.match(held.passwordError ?? '', /^BGPPeer tor spec\.password: secret s\/k unavailable: no Secret "s" in the datastore; no --secrets-dir given$/);
});

test('sourceAddress None leaves the source unbound unless bindMode is NodeIP', () => {
  const peer = res('BGPPeer', 'tor', { peerIP: '198.18.9.1', asNumber: 65001, sourceAddress: 'None' });
  assert.equal(planPeers(model(NO_MESH, ...NODES, peer), 'n1')[0].localAddress, undefined);
  const bound = res('BGPConfiguration', 'default', { nodeToNodeMeshEnabled: false, bindMode: 'NodeIP' });
  assert.equal(planPeers(model(bound, ...NODES, peer), 'n1')[0].localAddress, '198.18.1.1');
});

test('keepOriginalNextHop means Keep for eBGP peers only (Calico legacy field)', () => {
  const m = model(
    NO_MESH,
    ...NODES,
    res('BGPPeer', 'ebgp', { peerIP: '198.18.9.1', asNumber: 65001, keepOriginalNextHop: true }),
    res('BGPPeer', 'ibgp', { peerIP: '198.18.9.2', asNumber: 64512, keepOriginalNextHop: true }),
  );
  const p = planPeers(m, 'n1');
  assert.equal(byKey(p, '198.18.9.1').nextHopMode, 'Keep');
  assert.equal(byKey(p, '198.18.9.2').nextHopMode, 'Auto');
});

test('duplicates: global beats node-scoped, name order within a pass, BGPPeer beats mesh', () => {
  const m = model(
    ...NODES,
    res('BGPPeer', 'a-node', { node: 'n1', peerIP: '198.18.9.1', asNumber: 65009, password: 'node' }),
    res('BGPPeer', 'z-global', { peerIP: '198.18.9.1', asNumber: 65001, password: 'global' }),
    res('BGPPeer', 'b-global', { peerIP: '198.18.9.1', asNumber: 65002 }),
    res('BGPPeer', 'to-n2', { node: 'n1', peerIP: '198.18.1.2', asNumber: 64512, password: 'explicit' }),
  );
  const p = planPeers(m, 'n1');
  assert.deepEqual(keys(p), ['198.18.1.2', '198.18.2.3', '198.18.9.1']);
  assert.equal(byKey(p, '198.18.9.1').description, 'BGPPeer b-global (global)');
  assert.equal(byKey(p, '198.18.9.1').peerAs, 65002);
  assert.equal(byKey(p, '198.18.1.2').kind, 'node');
  assert.equal(byKey(p, '198.18.1.2').password, 'explicit');
  // n2 is the far end of to-n2, so it peers back with n1 using the same password (Calico reverse peering).
  const n2 = byKey(planPeers(m, 'n2'), '198.18.1.1');
  assert.equal(n2.password, 'explicit');
  assert.match(n2.description, /to-n2 \(reverse\)/);
});

test('a node never peers with its own address, even when a BGPPeer names it', () => {
  const m = model(NO_MESH, ...NODES, res('BGPPeer', 'all-to-n1', { peerIP: '198.18.1.1', asNumber: 64512 }));
  const n1 = planPeers(m, 'n1');
  assert.ok(!n1.some((s) => s.peerAddress === '198.18.1.1'));
  assert.deepEqual(keys(n1), ['198.18.1.2', '198.18.2.3'], 'reverse sessions to every node of the global BGPPeer');
  assert.deepEqual(keys(planPeers(m, 'n2')), ['198.18.1.1']);
});

test('localASNumber: forward uses it as local AS, the reverse side sees it as the peer AS', () => {
  const m = model(NO_MESH, ...NODES, res('BGPPeer', 'n1-to-n2', { node: 'n1', peerIP: '198.18.1.2', asNumber: 64512, localASNumber: 65100 }));
  const fwd = planPeers(m, 'n1')[0];
  assert.deepEqual([fwd.localAs, fwd.peerAs], [65100, 64512]);
  const rev = planPeers(m, 'n2')[0];
  assert.deepEqual([rev.key, rev.localAs, rev.peerAs], ['198.18.1.1', 64512, 65100]);
});

test("a peerIP that is a Calico node is reached on that node's listenPort", () => {
  const m = model(
    NO_MESH,
    ...NODES,
    res('BGPConfiguration', 'node.n2', { listenPort: 1790 }),
    res('BGPPeer', 'to-n2', { node: 'n1', peerIP: '198.18.1.2', asNumber: 64512 }),
  );
  assert.equal(planPeers(m, 'n1')[0].key, '198.18.1.2:1790');
});

test('planning is deterministic and an unknown node is an error', () => {
  const m = model(...RR);
  assert.deepEqual(planPeers(m, 'rr1'), planPeers(m, 'rr1'));
  assert.throws(() => planPeers(m, 'nope'), /node "nope" is not in the model \(test\.yaml\); known nodes: rr1, c1, c2/);
});

test('localSpeaker: AS, router ID, listen addresses', () => {
  const m = model(
    res('BGPConfiguration', 'default', { bindMode: 'NodeIP', asNumber: 65000 }),
    node('a', { v4: '198.18.1.1/24', v6: '2001:db8::1/64' }),
    node('v6only', { v6: '2001:db8::2/64' }),
  );
  assert.deepEqual(localSpeaker(m, 'a'), {
    nodeName: 'a',
    asNumber: 65000,
    routerId: '198.18.1.1',
    listenPort: 179,
    listenAddresses: ['198.18.1.1', '2001:db8::1'],
    routeReflectorClusterID: undefined,
    logSeverity: 'Info',
  });
  assert.match(localSpeaker(m, 'v6only').routerId, /^\d+\.\d+\.\d+\.\d+$/, 'hash of the node name when there is no IPv4 address');
});

test('passive side of Calico node pairs: the higher address as a string waits (Calico bgp_processor)', () => {
  const m = model(
    node('a', { v4: '198.18.1.9/24' }),
    node('b', { v4: '198.18.1.10/24' }),
    node('c', { v4: '198.18.1.8/24' }),
    res('BGPPeer', 'to-a', { peerIP: '198.18.1.9', asNumber: 64512 }),
    res('BGPPeer', 'tor', { peerIP: '198.18.9.9', asNumber: 65001 }),
  );
  // "198.18.1.9" > "198.18.1.10" as strings, so on b the session to a is passive, on a it is active.
  const b = planPeers(m, 'b');
  assert.equal(byKey(b, '198.18.1.9').passive, true, 'global BGPPeer to a Calico node');
  assert.equal(byKey(b, '198.18.1.8').passive, true, 'mesh: "198.18.1.8" > "198.18.1.10" as strings');
  assert.equal(byKey(planPeers(m, 'c'), '198.18.1.10').passive, undefined, 'and c connects to b');
  assert.equal(byKey(b, '198.18.9.9').passive, undefined, 'never for a router');
  const a = planPeers(m, 'a');
  assert.equal(byKey(a, '198.18.1.10').passive, undefined, 'reverse peering is node-scoped: always active');
  assert.equal(byKey(planPeers(m, 'c'), '198.18.1.9').passive, true);
  for (const n of ['a', 'b', 'c'])
    for (const s of planPeers(m, n)) {
      const far = planPeers(m, s.sourceNode ?? n).find((x) => x.peerAddress === s.localAddress);
      if (s.sourceNode && far) assert.ok(!(s.passive && far.passive), `${n} <-> ${s.sourceNode}: both sides passive`);
    }
});

test('secretKeyRef passwords resolve from Secrets in the file, then from the daemon resolver', () => {
  const secret =
    'apiVersion: v1\nkind: Secret\nmetadata: {name: bgp-secrets, namespace: calico-system}\ntype: Opaque\ndata:\n  tor: c2VjcmV0LXRvcg==\nstringData:\n  mesh: mesh-pw\n';
  const m = model(
    secret,
    res('BGPConfiguration', 'default', { nodeMeshPassword: { secretKeyRef: { name: 'bgp-secrets', key: 'mesh' } } }),
    node('n1', { v4: '198.18.1.1/24' }),
    node('n2', { v4: '198.18.1.2/24' }),
    res('BGPPeer', 'tor', { peerIP: '198.18.9.1', asNumber: 65001, password: { secretKeyRef: { name: 'bgp-secrets', key: 'tor' } } }),
    res('BGPPeer', 'other', { peerIP: '198.18.9.2', asNumber: 65001, password: { secretKeyRef: { name: 'elsewhere', key: 'k' } } }),
  );
  const p = planPeers(m, 'n1', { resolveSecret: (r) => (r.name === 'elsewhere' ? { value: 'from-resolver' } : { error: 'not mounted' }) });
  assert.equal(byKey(p, '198.18.9.1').password, 'secret-tor', 'base64 data');
  assert.equal(byKey(p, '198.18.1.2').password, 'mesh-pw', 'stringData');
  assert.equal(byKey(p, '198.18.9.2').password, 'from-resolver');
});

test('keys: address, plus :port when not 179, IPv6 in brackets (stable session identity)', () => {
  const m = model(
    res('BGPConfiguration', 'default', { listenPort: 1179 }),
    node('a', { v4: '198.18.1.1/24', v6: '2001:db8::1/64' }),
    node('b', { v4: '198.18.1.2/24', v6: '2001:db8::2/64' }),
  );
  assert.deepEqual(keys(planPeers(m, 'a')), ['198.18.1.2:1179', '[2001:db8::2]:1179']);
});

test('Tern extension spec.maxPrefixes (RFC 4486 §4): parsed per family with defaults, refused when wrong, planned onto the session', () => {
  const peer = (maxPrefixes: unknown) => res('BGPPeer', 'tor', { peerIP: '198.18.9.1', asNumber: 65001, maxPrefixes });
  const m = model(NO_MESH, ...NODES, peer({ ipv4: { limit: 1000, restartInterval: '30s' }, ipv6: { limit: 10, warningPercent: 90 } }));
  assert.deepEqual(planPeers(m, 'n1')[0].maxPrefixes, {
    ipv4: { limit: 1000, warningPercent: 75, restartInterval: 30 },
    ipv6: { limit: 10, warningPercent: 90, restartInterval: undefined },
  });
  assert.equal(planPeers(model(NO_MESH, ...NODES, res('BGPPeer', 'tor', { peerIP: '198.18.9.1', asNumber: 65001 })), 'n1')[0].maxPrefixes, undefined);
  for (const [bad, what] of [
    [{ ipv4: { warningPercent: 50 } }, /maxPrefixes\.ipv4\.limit: limit is required/],
    [{ ipv4: { limit: 0 } }, /maxPrefixes\.ipv4\.limit: 0 is out of range/],
    [{ ipv4: { limit: 10, warningPercent: 120 } }, /warningPercent: 120 is out of range/],
    [{ ipv4: { limit: 10, restartInterval: 'soon' } }, /maxPrefixes\.ipv4\.restartInterval/],
  ] as const) {
    assert.throws(
      () => model(NO_MESH, ...NODES, peer(bad)),
      (e: Error) => what.test(e.message),
      JSON.stringify(bad),
    );
  }
});
