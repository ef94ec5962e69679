// diffPlan: reconfiguration must not reset sessions whose configuration did not change, and
// must restart only the session whose OPEN-time or transport parameters changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffPlan, planPeers, RESTART_FIELDS, type PeerConfig } from '../../peers/index.js';
import { model, node, res } from './helpers.js';

const FULL: PeerConfig = {
  key: '198.18.9.1',
  kind: 'global',
  description: 'BGPPeer tor (global)',
  peerAddress: '198.18.9.1',
  peerPort: 179,
  peerAs: 65001,
  localAs: 64512,
  localAddress: '198.18.1.1',
  password: 'pw',
  ttlSecurity: 1,
  keepaliveTime: 20,
  holdTime: 60,
  maxRestartTime: 120,
  nextHopMode: 'Auto',
  numAllowedLocalASNumbers: 1,
  routeReflectorClient: false,
  families: ['ipv4'],
  filters: ['f1'],
  reachableBy: '198.18.1.254',
  sourceNode: 'tor',
  passive: true,
  maxPrefixes: { ipv4: { limit: 100, warningPercent: 75, restartInterval: 30 } },
};

const base = [node('n1', { v4: '198.18.1.1/24' }), node('n2', { v4: '198.18.1.2/24' }), node('n3', { v4: '198.18.1.3/24' })];

test('identical plans: everything unchanged, nothing reset', () => {
  const p = planPeers(model(...base, res('BGPPeer', 'tor', { peerIP: '198.18.9.1', asNumber: 65001 })), 'n1');
  const d = diffPlan(p, planPeers(model(...base, res('BGPPeer', 'tor', { peerIP: '198.18.9.1', asNumber: 65001 })), 'n1'));
  assert.deepEqual(d.added, []);
  assert.deepEqual(d.removed, []);
  assert.deepEqual(d.changed, []);
  assert.equal(d.unchanged.length, 3);
});

test('a changed password restarts that session only', () => {
  const before = planPeers(model(...base, res('BGPPeer', 'tor', { peerIP: '198.18.9.1', asNumber: 65001, password: 'a' })), 'n1');
  const after = planPeers(model(...base, res('BGPPeer', 'tor', { peerIP: '198.18.9.1', asNumber: 65001, password: 'b' })), 'n1');
  const d = diffPlan(before, after);
  assert.equal(d.changed.length, 1);
  assert.equal(d.changed[0].after.key, '198.18.9.1');
  assert.deepEqual(d.changed[0].fields, ['password']);
  assert.equal(d.changed[0].restartNeeded, true);
  assert.deepEqual(d.unchanged.map((p) => p.key).sort(), ['198.18.1.2', '198.18.1.3']);
});

test('adding a node adds one session and leaves the others alone', () => {
  const d = diffPlan(planPeers(model(...base), 'n1'), planPeers(model(...base, node('n4', { v4: '198.18.1.4/24' })), 'n1'));
  assert.deepEqual(
    d.added.map((p) => p.key),
    ['198.18.1.4'],
  );
  assert.equal(d.unchanged.length, 2);
  assert.deepEqual([d.removed, d.changed], [[], []]);
  const back = diffPlan(planPeers(model(...base, node('n4', { v4: '198.18.1.4/24' })), 'n1'), planPeers(model(...base), 'n1'));
  assert.deepEqual(
    back.removed.map((p) => p.key),
    ['198.18.1.4'],
  );
});

test('every PeerConfig field is classified; only transport/OPEN fields restart', () => {
  const mutate: { [K in keyof PeerConfig]-?: PeerConfig[K] } = {
    key: FULL.key,
    kind: 'node',
    description: 'other',
    peerAddress: '198.18.9.2',
    peerPort: 1179,
    peerAs: 65002,
    localAs: 64513,
    localAddress: '198.18.1.9',
    password: 'pw2',
    passwordError: 'secret s/k unavailable',
    ttlSecurity: 2,
    keepaliveTime: 30,
    holdTime: 90,
    maxRestartTime: 60,
    nextHopMode: 'Self',
    numAllowedLocalASNumbers: 2,
    routeReflectorClient: true,
    families: ['ipv6'],
    filters: ['f2'],
    reachableBy: '198.18.1.253',
    sourceNode: 'x',
    passive: false,
    bfd: { minRxMs: 100, minTxMs: 100, multiplier: 3, multihop: false, strict: false, graceful: false },
    maxPrefixes: { ipv4: { limit: 10, warningPercent: 75 } },
  };
  for (const f of Object.keys(mutate) as (keyof PeerConfig)[]) {
    if (f === 'key') continue;
    const d = diffPlan([FULL], [{ ...FULL, [f]: mutate[f] }]);
    assert.equal(d.changed.length, 1, `${f} change is noticed`);
    assert.deepEqual(d.changed[0].fields, [f]);
    assert.equal(d.changed[0].restartNeeded, (RESTART_FIELDS as string[]).includes(f), f);
  }
  // RFC 2385: a password that appears, changes or becomes unreadable restarts the session.
  for (const f of ['password', 'passwordError', 'peerAs', 'localAs', 'peerAddress', 'localAddress'] as const) assert.ok(RESTART_FIELDS.includes(f), f);
  for (const f of ['description', 'filters', 'nextHopMode'] as const) assert.ok(!RESTART_FIELDS.includes(f), f);
});

test('a field that appears or disappears counts as a change (password removed)', () => {
  const { password: _pw, ...noPw } = FULL;
  const d = diffPlan([FULL], [noPw]);
  assert.deepEqual(d.changed[0].fields, ['password']);
  assert.equal(d.changed[0].restartNeeded, true);
});

test('RFC 2385: a rotated Secret in the datastore restarts exactly the sessions that use it; a Secret that appears brings a held-down session back (issue 16)', () => {
  const secret = (v: string) => `apiVersion: v1\nkind: Secret\nmetadata: {name: bgp-pw}\nstringData:\n  tor: ${v}\n`;
  const peers = [
    res('BGPPeer', 'tor', { peerIP: '198.18.9.1', asNumber: 65001, password: { secretKeyRef: { name: 'bgp-pw', key: 'tor' } } }),
    res('BGPPeer', 'other', { peerIP: '198.18.9.2', asNumber: 65001 }),
  ];
  const v1 = planPeers(model(secret('one'), ...base, ...peers), 'n1');
  const v2 = planPeers(model(secret('two'), ...base, ...peers), 'n1');
  const d = diffPlan(v1, v2);
  assert.deepEqual(
    d.changed.map((c) => [c.after.key, c.fields, c.restartNeeded]),
    [['198.18.9.1', ['password'], true]],
  );
  assert.equal(d.unchanged.length, v1.length - 1, 'mesh and the password-less peer untouched');
  const missing = planPeers(model(...base, ...peers), 'n1');
  const back = diffPlan(missing, v1).changed.find((c) => c.after.key === '198.18.9.1')!;
  assert.deepEqual([back.fields, back.restartNeeded], [['password', 'passwordError'], true]);
});
