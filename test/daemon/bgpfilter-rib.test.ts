// Calico BGPFilter operations through the real RIB (issue 16): peers/ turns a matched rule into
// a generic attribute edit, bgp/rib applies it. What goes on the wire must be what BIRD under
// Calico sends: its export filter runs before BIRD prepends the local AS for an eBGP peer
// (RFC 4271 §5.1.2), so `prependASPath: [65100, 65101]` towards eBGP gives
// "<local AS> 65100 65101 <received path>", and asPathPrefix sees the path without our AS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseModel, planPeers } from '../../peers';
import { policiesFor } from '../../src/daemon/wiring';
import { attrs, drain, LOCAL_AS, makeRib, seq, up, upd } from '../rib/helpers';
import { doc } from './helpers';

const YAML = [
  doc('BGPConfiguration', 'default', `  asNumber: ${LOCAL_AS}\n  nodeToNodeMeshEnabled: false`),
  doc('Node', 'n1', '  bgp:\n    ipv4Address: 198.18.1.10/24'),
  doc('IPPool', 'pods', '  cidr: 10.244.0.0/16'),
  doc('BGPPeer', 'tor', '  peerIP: 198.18.1.1\n  asNumber: 65001\n  filters: [tag-and-prepend]'),
  doc('BGPFilter', 'tag-and-prepend', [
    '  exportV4:',
    '    - {action: Reject, matchOperator: In, cidr: 10.9.0.0/16}',
    '    - action: Accept',
    '      asPathPrefix: [65009]',
    '      operations:',
    '        - addCommunity: {value: "65000:7"}',
    '        - addCommunity: {value: "65000:1:2"}',
    '        - prependASPath: {prefix: [65100, 65101]}',
    '  importV4:',
    '    - action: Accept',
    '      communities: {values: ["65001:666"]}',
    '      operations:',
    '        - addCommunity: {value: "65000:999"}',
    '    - {action: Reject, communities: {values: ["65001:13"]}}',
  ].join('\n')),
].join('\n');

const { model } = parseModel(YAML, 'cluster.yaml');
const tor = planPeers(model, 'n1').find((p) => p.peerAddress === '198.18.1.1')!;

test('export operations towards eBGP: communities added, AS path "<local> 65100 65101 <path>", asPathPrefix matched without our AS (RFC 4271 §5.1.2)', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const dst = up(rib, { asn: 65001, ...policiesFor(tor, model, new Set()) });
  drain(rib, dst);
  rib.ingest(src, upd(attrs({ asPath: seq(65009, 65010) }), ['10.1.0.0/24', '10.9.1.0/24']));
  rib.ingest(src, upd(attrs({ asPath: seq(65010) }), ['10.2.0.0/24']));
  rib.flush(0);
  const sent = drain(rib, dst);
  const by = new Map(sent.flatMap((s) => s.nlri.map((p) => [p, s.attrs] as const)));
  assert.deepEqual([...by.keys()].sort(), ['10.1.0.0/24'], '10.9/16 rejected by rule 1; 10.2/24 does not start with 65009 and is in no pool');
  const a = by.get('10.1.0.0/24')!;
  assert.deepEqual(a.asPath?.flatMap((s) => s.asns), [LOCAL_AS, 65100, 65101, 65009, 65010]);
  assert.deepEqual(a.communities, [65000 * 65536 + 7]);
  assert.deepEqual(a.largeCommunities, [{ globalAdmin: 65000, local1: 1, local2: 2 }]);
});

test('import: a community match with addCommunity tags the route in the Loc-RIB; a Reject community match drops it (RFC 1997)', () => {
  const rib = makeRib();
  const from = up(rib, { id: '198.18.1.1', asn: 65001, ...policiesFor(tor, model, new Set()) });
  rib.ingest(from, upd(attrs({ asPath: seq(65001), communities: [65001 * 65536 + 666] }), ['10.3.0.0/24']));
  rib.ingest(from, upd(attrs({ asPath: seq(65001), communities: [65001 * 65536 + 13] }), ['10.4.0.0/24']));
  rib.ingest(from, upd(attrs({ asPath: seq(65001) }), ['10.5.0.0/24']));
  rib.flush(0);
  const best = (p: string) => rib.lookup(p).find((e) => e.best);
  assert.deepEqual(best('10.3.0.0/24')?.attrs.communities, [65001 * 65536 + 666, 65000 * 65536 + 999]);
  assert.equal(best('10.4.0.0/24'), undefined, 'rejected by the community rule');
  assert.ok(best('10.5.0.0/24'), 'no rule matched: Calico accepts on import');
});
