// The conformance lab writes ternd's model with calicoYaml(); if peers/ read it differently from
// what a scenario meant (wrong AS, no peer, default timers), a conformance failure would point at
// the session code instead of the test. Checked here without namespaces.

import test from 'node:test';
import assert from 'node:assert/strict';
import { calicoYaml } from '../../conformance/lab/tern.js';
import { parseModel, planPeers } from '../../peers/index.js';

test('calicoYaml: a node-scoped BGPPeer becomes one eBGP session with 1 s keepalive / 3 s hold (RFC 4271 §10)', () => {
  const text = calicoYaml({
    asNumber: 64512,
    nodes: [{ name: 'n1', ipv4Address: '198.18.1.2/24', ipv6Address: '2001:db8:1::2/64' }],
    peers: [
      { name: 'bird', node: 'n1', peerIP: '198.18.1.1', asNumber: 4200000001, keepaliveTime: '1s', password: 'lab-secret' },
      { name: 'elsewhere', node: 'n2', peerIP: '198.18.9.9', asNumber: 65009 },
    ],
  });
  const { model } = parseModel(text, 'lab.yaml');
  const peers = planPeers(model, 'n1');
  assert.equal(peers.length, 1);
  const [p] = peers;
  assert.equal(p.peerAddress, '198.18.1.1');
  assert.equal(p.peerAs, 4200000001);
  assert.equal(p.localAs, 64512);
  assert.equal(p.localAddress, '198.18.1.2');
  assert.equal(p.keepaliveTime, 1);
  assert.equal(p.holdTime, 3);
  assert.equal(p.password, 'lab-secret');
});
