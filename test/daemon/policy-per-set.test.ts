// The per-set form of ternd's BGPFilter policies (rib-types.ts SetPolicyFn, issue 18) against
// their per-prefix form: whenever it answers, its answer is what the per-prefix policy gives for
// every prefix of the family (RFC 4271 §9.1.1 import and §9.2 export decided per route, only
// computed once per attribute set). The oracle is the per-prefix PolicyFn, unchanged by the
// per-set path; the grid covers rules with and without CIDRs, source, peer type, community,
// AS-path and priority matches, operations, the Calico fallback to pools and RFC 8212 §3-4.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doc } from './helpers.js';
import { parseModel, planPeers } from '../../peers/index.js';
import { policiesFor } from '../../src/daemon/wiring.js';
import { parsePrefix } from '../../bgp/codec/prefix.js';
import { AsPathSegmentType, type Family, type PathAttributes } from '../../bgp/codec/types.js';
import type { PathOrigin, PolicyFn } from '../../bgp/rib/rib-types.js';

const YAML = [
  doc('BGPConfiguration', 'default', '  asNumber: 64512\n  nodeToNodeMeshEnabled: true'),
  doc('Node', 'node-a', '  bgp:\n    ipv4Address: 198.18.1.10/24\n    ipv6Address: 2001:db8:1::10/64'),
  doc('Node', 'node-b', '  bgp:\n    ipv4Address: 198.18.1.11/24'),
  doc('IPPool', 'pods', '  cidr: 10.244.0.0/16'),
  doc('IPPool', 'pods6', '  cidr: fd00:10::/48'),
  doc('BGPPeer', 'transit', '  peerIP: 198.18.1.1\n  asNumber: 65001\n  filters: [transit]'),
  doc('BGPPeer', 'mixed', '  peerIP: 198.18.1.2\n  asNumber: 65002\n  filters: [mixed]'),
  doc('BGPPeer', 'rr', '  peerIP: 198.18.1.3\n  asNumber: 64512\n  filters: [by-priority]'),
  doc(
    'BGPFilter',
    'transit',
    '  importV4: [{ action: Accept }]\n  importV6: [{ action: Accept }]\n  exportV4: [{ action: Accept, source: RemotePeers }]\n  exportV6: [{ action: Accept, source: RemotePeers }]',
  ),
  doc(
    'BGPFilter',
    'mixed',
    [
      '  exportV4:',
      '    - {action: Reject, peerType: iBGP}',
      '    - {action: Accept, communities: {values: ["65000:7"]}, operations: [{addCommunity: {value: "65000:8"}}]}',
      '    - {action: Reject, matchOperator: In, cidr: 10.9.0.0/16}',
      '    - {action: Accept, asPathPrefix: [65009], operations: [{prependASPath: {prefix: [65100]}}]}',
      '  importV4:',
      '    - {action: Reject, communities: {values: ["65000:666"]}}',
      '    - {action: Accept, matchOperator: NotIn, cidr: 10.7.0.0/16}',
      '  importV6:',
      '    - {action: Accept, asPathPrefix: [65009]}',
    ].join('\n'),
  ),
  doc(
    'BGPFilter',
    'by-priority',
    ['  exportV4:', '    - {action: Accept, priority: 512, operations: [{addCommunity: {value: "65000:512"}}]}', '    - {action: Reject, priority: 1024}'].join(
      '\n',
    ),
  ),
].join('\n');

const { model } = parseModel(YAML, 'cluster.yaml');
const plan = planPeers(model, 'node-a');
const ribPeer = { id: 'x', address: '198.18.1.1', asn: 65001 };

const PREFIXES: Record<Family, string[]> = {
  ipv4: ['10.244.0.0/26', '10.244.9.64/26', '10.9.1.0/24', '10.7.0.0/24', '10.245.0.0/26', '192.0.2.0/24', '0.0.0.0/0'],
  ipv6: ['fd00:10::/64', 'fd00:10:0:40::/58', '2001:db8:77::/48', '::/0'],
};
const path = (...asns: number[]): PathAttributes['asPath'] => [{ type: AsPathSegmentType.AS_SEQUENCE, asns }];
const ATTRS: PathAttributes[] = [
  {},
  { origin: 0, asPath: path(65009, 65010) },
  { origin: 0, asPath: path(65011), communities: [(65000 << 16) | 7] },
  { origin: 1, asPath: path(65009), communities: [(65000 << 16) | 666] },
  { origin: 0, asPath: path(64512), localPref: 2147483647 - 512 },
  { origin: 0, asPath: path(64512), localPref: 2147483647 - 1024 },
];
const LOCAL_PREFS = [-1, 100, 2147483647 - 512, 2147483647 - 1024];
const ORIGINS: PathOrigin[] = ['peer', 'local'];

/** Checks one policy over the grid; returns how many per-set answers it gave. */
function agree(name: string, fn: PolicyFn, direction: 'import' | 'export'): number {
  const perSet = fn.perSet;
  assert.ok(perSet, `${name} ${direction}: ternd's policies have a per-set form`);
  let answered = 0;
  for (const family of ['ipv4', 'ipv6'] as const)
    for (const a of ATTRS)
      for (const lp of direction === 'export' ? LOCAL_PREFS : [-1])
        for (const origin of direction === 'export' ? ORIGINS : (['peer'] as PathOrigin[])) {
          const whole = perSet(family, () => a, ribPeer, lp, origin);
          if (whole === undefined) continue;
          answered++;
          for (const p of PREFIXES[family]) {
            const each = fn(parsePrefix(p), a, ribPeer, lp, origin);
            assert.deepEqual(whole, each, `${name} ${direction} ${family} ${p} ${JSON.stringify(a)} lp ${lp} ${origin}`);
          }
        }
  return answered;
}

test('issue 18: every per-set answer of a BGPFilter policy equals the per-prefix answer for each prefix (RFC 4271 §9.1.1, §9.2)', () => {
  const checked: Record<string, number> = {};
  for (const pc of plan) {
    for (const ebgpFilterDefault of ['calico', 'rfc8212'] as const) {
      const pol = policiesFor(pc, model, { ebgpFilterDefault });
      const name = `${pc.peerAddress ?? pc.kind} ${ebgpFilterDefault}`;
      checked[`${name} export`] = agree(name, pol.exportPolicy, 'export');
      if (pol.importPolicy) checked[`${name} import`] = agree(name, pol.importPolicy, 'import');
    }
  }
  // The check is not vacuous: the bench's transit filter answers per set in both directions,
  // and so does a mesh peer (no filters) for its own routes.
  assert.ok(checked['198.18.1.1 calico export'] > 0 && checked['198.18.1.1 calico import'] > 0, JSON.stringify(checked));
  assert.ok(checked['198.18.1.2 calico export'] > 0 && checked['198.18.1.2 calico import'] > 0, JSON.stringify(checked));
  assert.ok(checked['198.18.1.3 calico export'] > 0, JSON.stringify(checked));
  const mesh = plan.find((p) => p.kind === 'mesh');
  assert.ok(mesh && checked[`${mesh.peerAddress ?? mesh.kind} calico export`] > 0, JSON.stringify(checked));
});

test('issue 18: a rule with a CIDR that the route could match leaves the answer to the per-prefix policy', () => {
  const mixed = plan.find((p) => p.peerAddress === '198.18.1.2');
  assert.ok(mixed);
  const pol = policiesFor(mixed, model);
  // No community 65000:7, AS path not from 65009: the CIDR rule 10.9.0.0/16 is the first that may match.
  const a: PathAttributes = { origin: 0, asPath: path(65011) };
  assert.equal(
    pol.exportPolicy.perSet?.('ipv4', () => a, ribPeer, -1, 'peer'),
    undefined,
  );
  assert.equal(pol.exportPolicy(parsePrefix('10.9.1.0/24'), a, ribPeer, -1, 'peer'), 'reject');
  assert.equal(pol.exportPolicy(parsePrefix('10.244.1.0/26'), a, ribPeer, -1, 'peer'), 'accept', 'Calico fallback: inside a pool');
});
