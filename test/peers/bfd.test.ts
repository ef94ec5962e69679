// Tern's BFD extension in the Calico model: BGPPeer spec.bfd and BGPConfiguration
// spec.nodeMeshBFD are read with defaults, bad values are refused by name, and the plan carries
// them to the sessions (RFC 5880 §4.1 Detect Mult range, RFC 5882 coupling is per session).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, formatIssue, parseModel, planPeers } from '../../peers/index.js';
import { diffPlan } from '../../peers/diff.js';
import { model, node, res } from './helpers.js';

const nodes = [node('n1', { v4: '198.18.1.1/24' }), node('n2', { v4: '198.18.1.2/24' })];

test('BGPPeer spec.bfd: defaults 300 ms x 3, durations in ms, reaches the planned session', () => {
  const m = model(
    ...nodes,
    res('BGPPeer', 'tor', { peerIP: '198.18.1.254', asNumber: 65001, bfd: { minRx: '100ms', minTx: '0.1s', multiplier: 4, strict: true } }),
    res('BGPPeer', 'tor2', { peerIP: '198.18.1.253', asNumber: 65001, bfd: {} }),
    res('BGPPeer', 'tor3', { peerIP: '198.18.1.252', asNumber: 65001, bfd: { enabled: false } }),
  );
  const plan = planPeers(m, 'n1');
  const by = (a: string) => plan.find((p) => p.peerAddress === a);
  assert.deepEqual(by('198.18.1.254')?.bfd, { minRxMs: 100, minTxMs: 100, multiplier: 4, multihop: false, strict: true, graceful: false });
  assert.deepEqual(by('198.18.1.253')?.bfd, { minRxMs: 300, minTxMs: 300, multiplier: 3, multihop: false, strict: false, graceful: false });
  assert.equal(by('198.18.1.252')?.bfd, undefined);
  assert.equal(by('198.18.1.2')?.bfd, undefined, 'mesh sessions get BFD only from nodeMeshBFD');
});

test('BGPConfiguration spec.nodeMeshBFD applies to mesh sessions only', () => {
  const m = model(
    ...nodes,
    res('BGPConfiguration', 'default', { nodeMeshBFD: { minRx: '50ms', minTx: '50ms', graceful: true } }),
    res('BGPPeer', 'tor', { peerIP: '198.18.1.254', asNumber: 65001 }),
  );
  const plan = planPeers(m, 'n1');
  assert.deepEqual(plan.find((p) => p.kind === 'mesh')?.bfd, { minRxMs: 50, minTxMs: 50, multiplier: 3, multihop: false, strict: false, graceful: true });
  assert.equal(plan.find((p) => p.peerAddress === '198.18.1.254')?.bfd, undefined);
});

test('spec.bfd errors name the field: unknown key, zero multiplier (RFC 5880 §4.1), interval out of range', () => {
  const text = [...nodes, res('BGPPeer', 'tor', { peerIP: '198.18.1.254', asNumber: 65001, bfd: { minRx: '1ms', multiplier: 0, echo: true } })].join('---\n');
  let issues: string[] = [];
  try {
    parseModel(text, 'c.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    // Unknown fields are warnings or errors depending on the model's strictness; either names it.
    issues = e.issues.map(formatIssue);
  }
  assert.ok(
    issues.some((i) => i.includes('spec.bfd.minRx') && i.includes('out of range')),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((i) => i.includes('spec.bfd.multiplier')),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((i) => i.includes('spec.bfd') && i.includes('echo')),
    issues.join('\n'),
  );
});

test('changing BFD timers never restarts the BGP session (RFC 5882 §3: BFD runs beside it)', () => {
  const a = planPeers(model(...nodes, res('BGPPeer', 'tor', { peerIP: '198.18.1.254', asNumber: 65001, bfd: { minRx: '100ms' } })), 'n1');
  const b = planPeers(model(...nodes, res('BGPPeer', 'tor', { peerIP: '198.18.1.254', asNumber: 65001, bfd: { minRx: '200ms' } })), 'n1');
  const d = diffPlan(a, b);
  assert.deepEqual(
    d.changed.map((c) => [c.after.peerAddress, c.fields, c.restartNeeded]),
    [['198.18.1.254', ['bfd'], false]],
  );
  assert.equal(
    diffPlan(
      a,
      a.map((p) => ({ ...p, bfd: p.bfd && { ...p.bfd } })),
    ).changed.length,
    0,
    'equal settings are no change',
  );
});

test('spec.bfd.authentication: Keyed SHA1 key from a literal or a Secret (RFC 5880 §6.7.4); a key over 20 bytes is refused (§4.4)', () => {
  const secret = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: bfd\ndata: {}\nstringData:\n  k: s3cret\n';
  const m = model(
    ...nodes,
    secret,
    res('BGPPeer', 'tor', { peerIP: '198.18.1.254', asNumber: 65001, bfd: { authentication: { type: 'KeyedSHA1', keyID: 7, key: 'literal' } } }),
    res('BGPPeer', 'tor2', {
      peerIP: '198.18.1.253',
      asNumber: 65001,
      bfd: { authentication: { type: 'MeticulousKeyedSHA1', key: { secretKeyRef: { name: 'bfd', key: 'k' } } } },
    }),
  );
  const plan = planPeers(m, 'n1');
  assert.deepEqual(plan.find((p) => p.peerAddress === '198.18.1.254')?.bfd?.auth, { type: 'KeyedSHA1', keyId: 7, key: 'literal' });
  assert.deepEqual(plan.find((p) => p.peerAddress === '198.18.1.253')?.bfd?.auth, { type: 'MeticulousKeyedSHA1', keyId: 1, key: 's3cret' });
  // Issue 16: a key Secret that cannot be read holds the session down, as an MD5 password does.
  const noKey = planPeers(
    model(
      ...nodes,
      res('BGPPeer', 'tor2', {
        peerIP: '198.18.1.253',
        asNumber: 65001,
        bfd: { authentication: { type: 'KeyedSHA1', key: { secretKeyRef: { name: 'bfd', key: 'k' } } } },
      }),
    ),
    'n1',
  ).find((p) => p.peerAddress === '198.18.1.253');
  assert.match(noKey?.passwordError ?? '', /^BGPPeer tor2 spec\.bfd\.authentication\.key: secret bfd\/k unavailable/);
  let issues: string[] = [];
  try {
    parseModel(
      [...nodes, res('BGPPeer', 'tor', { peerIP: '198.18.1.254', asNumber: 65001, bfd: { authentication: { type: 'KeyedSHA1', key: 'x'.repeat(21) } } })].join(
        '---\n',
      ),
      'c.yaml',
    );
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    issues = e.issues.map(formatIssue);
  }
  assert.ok(
    issues.some((i) => i.includes('spec.bfd.authentication.key') && i.includes('20 bytes')),
    issues.join('\n'),
  );
});
