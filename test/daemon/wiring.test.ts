// ternd's wiring rules: Calico plan -> session and RIB configs, BGPFilters -> RIB policy,
// RIB change records -> kernel routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doc } from './helpers.js';
import { parseModel, planPeers, localSpeaker, originatedRoutes, localSubnets } from '../../peers/index.js';
import { fibChangeOf, groupFibFailures, policiesFor, sessionConfigOf, type FibContext } from '../../src/daemon/wiring.js';
import { parsePrefix } from '../../bgp/codec/prefix.js';
import type { PathInfo, RibChange } from '../../bgp/rib/rib-types.js';

const YAML = [
  doc('BGPConfiguration', 'default', '  asNumber: 64512\n  nodeToNodeMeshEnabled: true'),
  doc('Node', 'node-a', '  bgp:\n    ipv4Address: 198.18.1.10/24'),
  doc('Node', 'node-b', '  bgp:\n    ipv4Address: 198.18.1.11/24'),
  doc('Node', 'node-c', '  bgp:\n    ipv4Address: 198.18.2.12/24'),
  doc('IPPool', 'pool-ipip', '  cidr: 10.244.0.0/16\n  blockSize: 26\n  ipipMode: CrossSubnet\n  vxlanMode: Never'),
  doc('IPPool', 'pool-vxlan', '  cidr: 10.245.0.0/16\n  blockSize: 26\n  ipipMode: Never\n  vxlanMode: Always'),
  doc('IPAMBlock', '10-244-0-0-26', '  cidr: 10.244.0.0/26\n  affinity: host:node-a', 'crd.projectcalico.org/v1'),
  doc('BGPPeer', 'tor', '  peerIP: 198.18.1.1\n  asNumber: 65001\n  filters: [only-pods]'),
  doc('BGPFilter', 'only-pods', '  exportV4:\n    - cidr: 10.244.0.0/16\n      matchOperator: In\n      action: Accept'),
].join('\n');

const { model } = parseModel(YAML, 'cluster.yaml');
const local = localSpeaker(model, 'node-a');
const plan = planPeers(model, 'node-a');
const originated = new Map(originatedRoutes(model, 'node-a').map((r) => [r.prefix, r]));
const ctx: FibContext = { model, localSubnets: localSubnets(model, 'node-a'), originated, tunnelDevice: 'tunl0' };

const path = (peer: string, nextHop: string): PathInfo => ({ peer, nextHop, attrs: {}, ebgp: false, pathId: 0 });
const change = (prefix: string, best?: PathInfo, multipath: PathInfo[] = []): RibChange => ({ prefix, family: 'ipv4', newBest: best, multipath });

test('Calico IPIP CrossSubnet: a next hop in our subnet is direct, one outside goes through tunl0 onlink', () => {
  const direct = fibChangeOf(change('10.244.1.0/26', path('198.18.1.11', '198.18.1.11')), ctx);
  assert.deepEqual(direct, { prefix: '10.244.1.0/26', kind: 'unicast', nexthops: [{ gateway: '198.18.1.11' }] });
  const tunnel = fibChangeOf(change('10.244.2.0/26', path('198.18.2.12', '198.18.2.12')), ctx);
  assert.deepEqual(tunnel, { prefix: '10.244.2.0/26', kind: 'unicast', nexthops: [{ gateway: '198.18.2.12', dev: 'tunl0', onlink: true }] });
});

test('VXLAN pools are left to Felix: the route is not installed by BGP', () => {
  const fc = fibChangeOf(change('10.245.1.0/26', path('198.18.1.11', '198.18.1.11')), ctx);
  assert.deepEqual(fc.nexthops, []);
});

test('our own block becomes a blackhole; a withdrawn best path deletes the kernel route', () => {
  const own = fibChangeOf(change('10.244.0.0/26', path('local', '0.0.0.0')), ctx);
  assert.equal(own.kind, 'blackhole');
  const gone = fibChangeOf(change('10.244.1.0/26', undefined), ctx);
  assert.deepEqual(gone, { prefix: '10.244.1.0/26', kind: 'unicast', nexthops: [] });
});

test('ECMP: the multipath set becomes one route with every distinct next hop', () => {
  const a = path('198.18.1.11', '198.18.1.11');
  const b = path('198.18.1.1', '198.18.1.1');
  const fc = fibChangeOf(change('192.0.2.0/24', a, [a, b, a]), ctx);
  assert.deepEqual(
    fc.nexthops.map((h) => h.gateway),
    ['198.18.1.11', '198.18.1.1'],
  );
});

test('a Calico route priority in LOCAL_PREF (2^31-1 - priority, from setPriority or a Calico v3.32+ peer) is the kernel metric; an ordinary LOCAL_PREF keeps the FIB metric (Calico krt_metric = 2^31-1 - bgp_local_pref)', () => {
  const lp = (localPref: number | undefined): PathInfo => ({ ...path('198.18.1.11', '198.18.1.11'), attrs: localPref === undefined ? {} : { localPref } });
  assert.equal(fibChangeOf(change('10.244.1.0/26', lp(2147483647 - 512)), ctx).metric, 512);
  assert.equal(fibChangeOf(change('10.244.1.0/26', lp(2147483647 - 1024)), ctx).metric, 1024, "a Calico v3.32+ node's normal route");
  const ecmp = fibChangeOf(
    change('192.0.2.0/24', lp(2147483647 - 256), [lp(2147483647 - 256), { ...lp(2147483647 - 256), nextHop: '198.18.1.1', peer: '198.18.1.1' }]),
    ctx,
  );
  assert.deepEqual([ecmp.metric, ecmp.nexthops.length], [256, 2]);
  for (const v of [undefined, 100, 200, 2 ** 30 - 1]) assert.equal('metric' in fibChangeOf(change('10.244.1.0/26', lp(v)), ctx), false, `LOCAL_PREF ${v}`);
  assert.equal(fibChangeOf(change('10.244.1.0/26', lp(2 ** 30)), ctx).metric, 2 ** 31 - 1 - 2 ** 30, 'from 2^30 up a LOCAL_PREF is a priority');
});

test('session config: Calico peer fields reach the session layer; mesh is unidirectional', () => {
  const mesh = plan.filter((p) => p.kind === 'mesh');
  assert.equal(mesh.length, 2);
  for (const pc of mesh) {
    const sc = sessionConfigOf(pc, local, { forwardingPreserved: true, restarting: false });
    assert.equal(sc.routerId, '198.18.1.10');
    assert.equal(sc.peerAs, 64512);
    assert.equal(sc.gracefulRestart?.forwardingPreserved, true);
    assert.equal(sc.passive, pc.passive ?? false);
  }
  // Exactly one side of each pair connects: planning node-b sees node-a with the opposite flag.
  const fromB = planPeers(model, 'node-b').find((p) => p.peerAddress === '198.18.1.10');
  const fromA = mesh.find((p) => p.peerAddress === '198.18.1.11');
  assert.notEqual(!!fromA?.passive, !!fromB?.passive);
});

/** What the RIB tells the policy about the path: ours when this node originates the prefix. */
const originOf = (prefix: string): 'local' | 'peer' => (originated.has(prefix) ? 'local' : 'peer');

test('export policy: Calico exports pool routes and own blocks, not a ToR default route (calico_export_to_bgp_peers)', () => {
  const mesh = plan.find((p) => p.kind === 'mesh')!;
  const { exportPolicy, importPolicy } = policiesFor(mesh, model);
  assert.equal(importPolicy, undefined);
  const peer = { id: 'x', address: '198.18.1.11', asn: 64512 };
  assert.equal(exportPolicy(parsePrefix('10.244.0.0/26'), {}, peer, undefined, originOf('10.244.0.0/26')), 'accept');
  assert.equal(exportPolicy(parsePrefix('10.244.7.0/26'), {}, peer, undefined, originOf('10.244.7.0/26')), 'accept');
  assert.equal(exportPolicy(parsePrefix('0.0.0.0/0'), {}, peer, undefined, originOf('0.0.0.0/0')), 'reject');
});

const strict = (pc: (typeof plan)[number]) => policiesFor(pc, model, { ebgpFilterDefault: 'rfc8212' });

test('eBGP peer with filters, route no rule matched: Calico by default (import accepts), RFC 8212 §3-4 only when asked (issue 16)', () => {
  const tor = plan.find((p) => p.peerAddress === '198.18.1.1')!;
  const peer = { id: 'tor', address: '198.18.1.1', asn: 65001 };
  const calico = policiesFor(tor, model);
  assert.equal(calico.exportPolicy(parsePrefix('10.244.0.0/26'), {}, peer, undefined, originOf('10.244.0.0/26')), 'accept');
  assert.equal(
    calico.exportPolicy(parsePrefix('10.245.0.0/26'), {}, peer, undefined, originOf('10.245.0.0/26')),
    'accept',
    'Calico export rules: inside an exportable pool',
  );
  assert.equal(
    calico.exportPolicy(parsePrefix('192.0.2.0/24'), {}, peer, undefined, originOf('192.0.2.0/24')),
    'reject',
    'Calico export rules: not ours, in no pool',
  );
  assert.equal(
    strict(tor).exportPolicy(parsePrefix('10.245.0.0/26'), {}, peer, undefined, originOf('10.245.0.0/26')),
    'reject',
    'RFC 8212: no rule accepted it',
  );
  assert.equal(calico.importPolicy!(parsePrefix('192.0.2.0/24'), {}, peer, undefined, 'peer'), 'accept', 'Calico: import accepts what no rule matched');
  const s8212 = strict(tor);
  assert.equal(s8212.exportPolicy(parsePrefix('10.244.0.0/26'), {}, peer, undefined, originOf('10.244.0.0/26')), 'accept');
  assert.equal(s8212.importPolicy!(parsePrefix('192.0.2.0/24'), {}, peer, undefined, 'peer'), 'reject');
  assert.notEqual(s8212.exportPolicy, calico.exportPolicy, 'the option is part of the policy identity');
});

test('peers with the same policy inputs share the policy functions, so the RIB can share their update group (RFC 4271 §9.2)', () => {
  const [m1, m2] = plan.filter((p) => p.kind === 'mesh');
  const tor = plan.find((p) => p.peerAddress === '198.18.1.1')!;
  assert.equal(policiesFor(m1, model).exportPolicy, policiesFor(m2, model).exportPolicy);
  assert.notEqual(policiesFor(m1, model).exportPolicy, policiesFor(tor, model).exportPolicy);
});

test('FIB failures are logged one line per reason, with a count and five prefixes, not one line per route', () => {
  const unreach = "ENETUNREACH: next hop 198.18.9.9 is not on a connected subnet and no route of the kernel (other than Tern's) reaches it";
  const failures = Array.from({ length: 100000 }, (_, i) => ({ index: i, prefix: `10.${(i >> 8) & 255}.${i & 255}.0/24`, error: unreach }));
  failures.push({ index: 100000, prefix: '10.244.9.0/26', error: 'EEXIST: File exists (a route Tern does not own holds this prefix/metric; left alone)' });
  const lines = groupFibFailures(failures);
  assert.equal(lines.length, 2);
  assert.deepEqual([lines[0].count, lines[0].prefixes.length], [100000, 5]);
  assert.equal(lines[0].message, `kernel routes 10.0.0.0/24, 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, 10.0.4.0/24 and 99995 more not installed: ${unreach}`);
  assert.equal(
    lines[1].message,
    'kernel route 10.244.9.0/26 not installed: EEXIST: File exists (a route Tern does not own holds this prefix/metric; left alone)',
  );
});
