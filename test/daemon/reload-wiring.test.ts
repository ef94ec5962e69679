// Wiring rules behind ternd's live reloads (issue 6: the node agent in a cluster), found while
// running conformance/cluster.test.ts and the npm run lab cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doc } from './helpers.js';
import { parseModel, planPeers, localSpeaker } from '../../peers/index.js';
import { policiesFor, sessionConfigOf } from '../../src/daemon/wiring.js';
import { parsePrefix } from '../../bgp/codec/prefix.js';
import { Rib } from '../../bgp/rib/rib.js';

const YAML = [
  doc('BGPConfiguration', 'default', '  asNumber: 64512\n  nodeToNodeMeshEnabled: true'),
  doc('Node', 'node-a', '  bgp:\n    ipv4Address: 198.18.1.10/24'),
  doc('Node', 'node-b', '  bgp:\n    ipv4Address: 198.18.1.11/24'),
  doc('IPPool', 'pods', '  cidr: 10.244.0.0/16\n  blockSize: 26'),
  doc('BGPPeer', 'tor', '  peerIP: 198.18.1.1\n  asNumber: 65001\n  filters: [local-only]'),
  // Export only what this node originates (source Local), nothing learned.
  doc('BGPFilter', 'local-only', '  exportV4:\n    - source: RemotePeers\n      action: Reject\n    - action: Accept'),
].join('\n');

const { model } = parseModel(YAML, 'cluster.yaml');
const local = localSpeaker(model, 'node-a');
const tor = planPeers(model, 'node-a').find((p) => p.peerAddress === '198.18.1.1')!;

test('RFC 4271 §8.1.1: --connect-retry also caps the first IdleHoldTime (a reload-restarted session is not refused for 5 s)', () => {
  const quick = sessionConfigOf(tor, local, { forwardingPreserved: true, restarting: false, connectRetryTime: 1 });
  assert.equal(quick.connectRetryTime, 1);
  assert.equal(quick.idleHoldTimeMs, 1000);
  // Without the flag bgp/'s default damping stays in force.
  const dflt = sessionConfigOf(tor, local, { forwardingPreserved: true, restarting: false });
  assert.equal(dflt.idleHoldTimeMs, undefined);
});

test('BGPFilter source Local: the policy follows the origin the RIB gives the path, so a block originated after the session was planned is ours at once (issue 12)', () => {
  const { exportPolicy } = policiesFor(tor, model);
  const block = parsePrefix('10.244.7.0/26')!;
  // Learned from a peer: RemotePeers -> rejected.
  assert.equal(exportPolicy(block, {} as never, undefined as never, undefined, 'peer'), 'reject');
  // The IPAM block is added on reload and originated here: the same policy sees it as Local.
  assert.equal(exportPolicy(block, {} as never, undefined as never, undefined, 'local'), 'accept');
});

test('RFC 4456: Rib.setClusterId makes a running RIB reflect iBGP routes (Calico sets routeReflectorClusterID live)', () => {
  const rib = new Rib({ localAs: 64512, routerId: '198.18.1.10', collectChanges: true });
  assert.equal(rib.core.me.clusterId, undefined);
  rib.setClusterId('244.0.0.1');
  assert.equal(rib.core.me.clusterId, '244.0.0.1');
  assert.equal(rib.core.opts.clusterId, '244.0.0.1');
  rib.setClusterId(undefined);
  assert.equal(rib.core.me.clusterId, undefined);
});
