// Calico BGPFilter operations through the real RIB (issue 16): peers/ turns a matched rule into
// a generic attribute edit, bgp/rib applies it. What goes on the wire must be what BIRD under
// Calico sends: its export filter runs before BIRD prepends the local AS for an eBGP peer
// (RFC 4271 §5.1.2), so `prependASPath: [65100, 65101]` towards eBGP gives
// "<local AS> 65100 65101 <received path>", and asPathPrefix sees the path without our AS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseModel, planPeers } from '../../peers/index.js';
import { policiesFor } from '../../src/daemon/wiring.js';
import { attrs, drain, LOCAL_AS, makeRib, seq, up, upd } from '../rib/helpers.js';
import { doc } from './helpers.js';

const YAML = [
  doc('BGPConfiguration', 'default', `  asNumber: ${LOCAL_AS}\n  nodeToNodeMeshEnabled: false`),
  doc('Node', 'n1', '  bgp:\n    ipv4Address: 198.18.1.10/24'),
  doc('IPPool', 'pods', '  cidr: 10.244.0.0/16'),
  doc('BGPPeer', 'tor', '  peerIP: 198.18.1.1\n  asNumber: 65001\n  filters: [tag-and-prepend]'),
  doc(
    'BGPFilter',
    'tag-and-prepend',
    [
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
    ].join('\n'),
  ),
].join('\n');

const { model } = parseModel(YAML, 'cluster.yaml');
const tor = planPeers(model, 'n1').find((p) => p.peerAddress === '198.18.1.1')!;

test('export operations towards eBGP: communities added, AS path "<local> 65100 65101 <path>", asPathPrefix matched without our AS (RFC 4271 §5.1.2)', () => {
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const dst = up(rib, { asn: 65001, ...policiesFor(tor, model) });
  drain(rib, dst);
  rib.ingest(src, upd(attrs({ asPath: seq(65009, 65010) }), ['10.1.0.0/24', '10.9.1.0/24']));
  rib.ingest(src, upd(attrs({ asPath: seq(65010) }), ['10.2.0.0/24']));
  rib.flush(0);
  const sent = drain(rib, dst);
  const by = new Map(sent.flatMap((s) => s.nlri.map((p) => [p, s.attrs] as const)));
  assert.deepEqual([...by.keys()].sort(), ['10.1.0.0/24'], '10.9/16 rejected by rule 1; 10.2/24 does not start with 65009 and is in no pool');
  const a = by.get('10.1.0.0/24')!;
  assert.deepEqual(
    a.asPath?.flatMap((s) => s.asns),
    [LOCAL_AS, 65100, 65101, 65009, 65010],
  );
  assert.deepEqual(a.communities, [65000 * 65536 + 7]);
  assert.deepEqual(a.largeCommunities, [{ globalAdmin: 65000, local1: 1, local2: 2 }]);
});

test('import: a community match with addCommunity tags the route in the Loc-RIB; a Reject community match drops it (RFC 1997)', () => {
  const rib = makeRib();
  const from = up(rib, { id: '198.18.1.1', asn: 65001, ...policiesFor(tor, model) });
  rib.ingest(from, upd(attrs({ asPath: seq(65001), communities: [65001 * 65536 + 666] }), ['10.3.0.0/24']));
  rib.ingest(from, upd(attrs({ asPath: seq(65001), communities: [65001 * 65536 + 13] }), ['10.4.0.0/24']));
  rib.ingest(from, upd(attrs({ asPath: seq(65001) }), ['10.5.0.0/24']));
  rib.flush(0);
  const best = (p: string) => rib.lookup(p).find((e) => e.best);
  assert.deepEqual(best('10.3.0.0/24')?.attrs.communities, [65001 * 65536 + 666, 65000 * 65536 + 999]);
  assert.equal(best('10.4.0.0/24'), undefined, 'rejected by the community rule');
  assert.ok(best('10.5.0.0/24'), 'no rule matched: Calico accepts on import');
});

// Route priority (Calico v3.32+, confd template_funcs.go): carried in LOCAL_PREF as 2^31-1 - priority.
const PRIO_YAML = [
  doc('BGPConfiguration', 'default', `  asNumber: ${LOCAL_AS}\n  nodeToNodeMeshEnabled: false`),
  doc('Node', 'n1', '  bgp:\n    ipv4Address: 198.18.1.10/24'),
  doc('IPPool', 'pods', '  cidr: 10.0.0.0/8'),
  doc('BGPPeer', 'tor', '  peerIP: 198.18.1.1\n  asNumber: 65001\n  filters: [elevate]'),
  doc('BGPPeer', 'rr', `  peerIP: 198.18.1.2\n  asNumber: ${LOCAL_AS}\n  filters: [by-priority]`),
  doc('BGPFilter', 'elevate', '  importV4:\n    - {action: Accept, matchOperator: In, cidr: 10.7.0.0/16, operations: [{setPriority: {value: 512}}]}'),
  doc(
    'BGPFilter',
    'by-priority',
    [
      '  exportV4:',
      '    - {action: Accept, priority: 512, operations: [{addCommunity: {value: "65000:512"}}]}',
      '    - {action: Accept, priority: 1024, operations: [{addCommunity: {value: "65000:1024"}}]}',
      '    - {action: Reject, priority: 2147483547}',
    ].join('\n'),
  ),
].join('\n');

test('setPriority on import: LOCAL_PREF 2^31-1-512 wins the decision over a LOCAL_PREF 200 path (RFC 4271 §9.1.2.2 a) and goes to iBGP peers (RFC 4271 §5.1.5)', () => {
  const { model: m } = parseModel(PRIO_YAML, 'cluster.yaml');
  const torCfg = planPeers(m, 'n1').find((p) => p.peerAddress === '198.18.1.1')!;
  const rib = makeRib();
  const other = up(rib, { asn: LOCAL_AS });
  const tor = up(rib, { id: '198.18.1.1', asn: 65001, ...policiesFor(torCfg, m) });
  const listener = up(rib, { asn: LOCAL_AS, routeReflectorClient: true });
  drain(rib, listener);
  rib.ingest(other, upd(attrs({ asPath: seq(65002), localPref: 200 }), ['10.7.1.0/24', '10.8.1.0/24']));
  rib.ingest(tor, upd(attrs({ asPath: seq(65001) }), ['10.7.1.0/24', '10.8.1.0/24']));
  rib.flush(0);
  const best = (p: string) => rib.lookup(p).find((e) => e.best);
  assert.equal(best('10.7.1.0/24')?.peer, tor, 'the elevated path wins on LOCAL_PREF');
  assert.equal(best('10.7.1.0/24')?.attrs.localPref, 2147483135);
  assert.equal(best('10.8.1.0/24')?.attrs.localPref, 200, 'outside the rule: the eBGP path has no LOCAL_PREF (BIRD: 100) and loses');
  const sent = new Map(drain(rib, listener).flatMap((s) => s.nlri.map((p) => [p, s.attrs] as const)));
  assert.equal(sent.get('10.7.1.0/24')?.localPref, 2147483135, "the priority travels to iBGP peers as Calico's does");
});

test("priority on export matches LOCAL_PREF 2^31-1-priority: a route with setPriority 512, this node's own route at the normal 1024, a plain eBGP route at 2^31-1-100 (Calico buildExportFilter)", () => {
  const { model: m } = parseModel(PRIO_YAML, 'cluster.yaml');
  const peers = planPeers(m, 'n1');
  const rib = makeRib();
  const tor = up(rib, { id: '198.18.1.1', asn: 65001, ...policiesFor(peers.find((p) => p.peerAddress === '198.18.1.1')!, m) });
  const rr = up(rib, { id: '198.18.1.2', asn: LOCAL_AS, ...policiesFor(peers.find((p) => p.peerAddress === '198.18.1.2')!, m) });
  drain(rib, rr);
  rib.originate('10.9.0.0/26');
  rib.ingest(tor, upd(attrs({ asPath: seq(65001) }), ['10.7.1.0/24', '10.8.1.0/24']));
  rib.flush(0);
  const sent = new Map(drain(rib, rr).flatMap((s) => s.nlri.map((p) => [p, s.attrs] as const)));
  assert.deepEqual([...sent.keys()].sort(), ['10.7.1.0/24', '10.9.0.0/26'], '10.8.1.0/24 (LOCAL_PREF 100: priority 2147483547) is rejected');
  assert.deepEqual(sent.get('10.7.1.0/24')?.communities, [65000 * 65536 + 512]);
  assert.deepEqual(sent.get('10.9.0.0/26')?.communities, [65000 * 65536 + 1024]);
});

test('BGPFilter source RemotePeers on export: the RIB tells the policy which path is ours (Rib.originate), so our block goes out and a learned one in the same pool does not (issue 12)', () => {
  const yaml = [
    doc('BGPConfiguration', 'default', `  asNumber: ${LOCAL_AS}\n  nodeToNodeMeshEnabled: false`),
    doc('Node', 'n1', '  bgp:\n    ipv4Address: 198.18.1.10/24'),
    doc('IPPool', 'pods', '  cidr: 10.244.0.0/16'),
    doc('BGPPeer', 'tor', '  peerIP: 198.18.1.1\n  asNumber: 65001\n  filters: [own-blocks-only]'),
    doc('BGPFilter', 'own-blocks-only', '  exportV4:\n    - {action: Reject, matchOperator: In, cidr: 10.244.0.0/16, source: RemotePeers}'),
  ].join('\n');
  const m = parseModel(yaml, 'cluster.yaml').model;
  const peer = planPeers(m, 'n1').find((p) => p.peerAddress === '198.18.1.1')!;
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  const dst = up(rib, { asn: 65001, ...policiesFor(peer, m) });
  drain(rib, dst);
  rib.ingest(src, upd(attrs({ asPath: seq(65009) }), ['10.244.4.0/26']));
  // Originated after the session came up, as a block added on reload is.
  rib.originate('10.244.3.0/26', { origin: 0, asPath: [] });
  rib.flush(0);
  assert.deepEqual(
    drain(rib, dst).flatMap((s) => s.nlri),
    ['10.244.3.0/26'],
    'the learned pod route is RemotePeers and rejected; ours is Local',
  );
});
