// Issue 16: realistic Calico manifests (test/fixtures/calico/, written from Calico's API) and
// what each must mean in Tern: the sessions of one node (kind, MD5 on, off, or held down),
// the BGPFilter policies, the advertised prefixes, the warnings; and common mistakes, each
// refused with text that names the mistake. The expectations are written from Calico's
// documented behaviour (confd templates, bgp_processor.go), not read back from Tern.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ConfigError,
  encapsulationFor,
  formatIssue,
  kernelMetricOf,
  loadModelFile,
  localSpeaker,
  localSubnets,
  originatedRoutes,
  planPeers,
  type ClusterModel,
  type PeerConfig,
} from '../../peers/index.js';
import { policiesFor } from '../../src/daemon/wiring.js';
import { parsePrefix } from '../../bgp/codec/prefix.js';
import { AsPathSegmentType, type PathAttributes } from '../../bgp/codec/types.js';

const DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'calico');
const load = (f: string): { model: ClusterModel; warnings: string[] } => {
  const { model, warnings } = loadModelFile(path.join(DIR, f));
  return { model, warnings: warnings.map((w) => formatIssue(w).replace(`${DIR}/`, '')) };
};
/** `key kind md5|-|held` per session, the form the expectations below are written in. */
const sessions = (m: ClusterModel, node: string): string[] =>
  planPeers(m, node).map((p) => `${p.key} ${p.kind} ${p.password ? 'md5' : p.passwordError ? 'held' : '-'}`);
const adverts = (m: ClusterModel, node: string): string[] => originatedRoutes(m, node).map((r) => r.prefix);
const peerOf = (m: ClusterModel, node: string, key: string): PeerConfig => planPeers(m, node).find((p) => p.key === key)!;
const seq = (...asns: number[]): PathAttributes['asPath'] => [{ type: AsPathSegmentType.AS_SEQUENCE, asns }];
const comm = (a: number, b: number): number => a * 65536 + b;

test('01 default mesh: a session per other node, the affine block advertised with a blackhole; IPAM-only fields accepted silently', () => {
  const { model, warnings } = load('01-default-mesh.yaml');
  assert.deepEqual(sessions(model, 'worker-1'), ['198.18.10.12 mesh -', '198.18.11.13 mesh -']);
  assert.deepEqual(
    originatedRoutes(model, 'worker-1').map((r) => [r.prefix, r.fib]),
    [['10.244.1.0/26', 'blackhole']],
  );
  // IPIP pool, programClusterRoutes unset: Tern installs the IPIP routes as BIRD did before
  // Calico v3.33, and says that a Felix from Calico's main branch would program them too.
  assert.equal(encapsulationFor(model, '10.244.7.0/26', '198.18.11.13', localSubnets(model, 'worker-1')).mode, 'ipip');
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /IPPool\/default-ipv4-ippool: spec\.ipipMode: warning: BGPConfiguration default sets no programClusterRoutes: Tern installs the IPIP cluster routes itself/,
  );
});

test('02 ToR per rack (RFC 2385): nodeSelector scopes the peer; the Secret in the datastore gives MD5; a missing key holds that session down', () => {
  const { model } = load('02-tor-per-rack.yaml');
  assert.deepEqual(sessions(model, 'a1'), ['198.18.20.1 selector md5']);
  assert.equal(peerOf(model, 'a1', '198.18.20.1').password, 'tor-a-key');
  assert.deepEqual(sessions(model, 'b1'), ['198.18.21.1 selector held']);
  assert.match(
    peerOf(model, 'b1', '198.18.21.1').passwordError!,
    /^BGPPeer rack-b-tor spec\.password: secret bgp-secrets\/rack-b unavailable: Secret "bgp-secrets" has no key "rack-b"/,
  );
});

test('03 route reflectors (RFC 4456): reflectors peer with each other as non-clients and with every node as clients', () => {
  const { model } = load('03-route-reflectors.yaml');
  assert.deepEqual(sessions(model, 'rr1'), ['198.18.30.2 selector -', '198.18.30.11 rr-client -', '198.18.30.12 rr-client -']);
  assert.deepEqual(sessions(model, 'w1'), ['198.18.30.1 reflector -', '198.18.30.2 reflector -']);
});

test('04 BGPFilter on a ToR: only /26 pod blocks out, no default route in, anything else in (Calico: accept what no rule matched)', () => {
  const { model } = load('04-bgpfilter-tor.yaml');
  assert.deepEqual(sessions(model, 'n1'), ['198.18.40.1 node -']);
  assert.deepEqual(adverts(model, 'n1'), ['10.244.40.0/26']);
  const tor = peerOf(model, 'n1', '198.18.40.1');
  const { importPolicy, exportPolicy } = policiesFor(tor, model);
  const ours = new Set(adverts(model, 'n1'));
  const originOf = (p: string): 'local' | 'peer' => (ours.has(p) ? 'local' : 'peer');
  const peer = { id: tor.key, address: tor.peerAddress, asn: tor.peerAs };
  assert.equal(exportPolicy(parsePrefix('10.244.40.0/26'), {}, peer, undefined, originOf('10.244.40.0/26')), 'accept');
  assert.equal(exportPolicy(parsePrefix('10.244.0.0/16'), {}, peer, undefined, originOf('10.244.0.0/16')), 'reject');
  assert.equal(importPolicy!(parsePrefix('0.0.0.0/0'), {}, peer, undefined, 'peer'), 'reject');
  assert.equal(importPolicy!(parsePrefix('198.19.0.0/16'), {}, peer, undefined, 'peer'), 'accept');
});

test('05 BGPFilter operations: export adds 65100:100 and prepends 65100 65100 after our own AS; import drops 65001:666 and tags the 65001 65500 path', () => {
  const { model } = load('05-bgpfilter-operations.yaml');
  const up = peerOf(model, 'n1', '198.18.50.1');
  const { importPolicy, exportPolicy } = policiesFor(up, model);
  const peer = { id: up.key, address: up.peerAddress, asn: up.peerAs };
  // Export to eBGP: the RIB hands the policy the path with our AS (65100) already first.
  const out = exportPolicy(parsePrefix('10.244.3.0/26'), { asPath: seq(65100) }, peer, undefined, 'peer') as PathAttributes;
  assert.deepEqual(
    out.asPath?.flatMap((s) => s.asns),
    [65100, 65100, 65100],
  );
  assert.deepEqual(out.communities, [comm(65100, 100)]);
  assert.equal(importPolicy!(parsePrefix('198.19.1.0/24'), { asPath: seq(65001, 65500), communities: [comm(65001, 666)] }, peer, undefined, 'peer'), 'reject');
  const tagged = importPolicy!(parsePrefix('198.19.2.0/24'), { asPath: seq(65001, 65500, 7) }, peer, undefined, 'peer') as PathAttributes;
  assert.deepEqual(tagged.largeCommunities, [{ globalAdmin: 65100, local1: 1, local2: 2 }]);
  assert.equal(importPolicy!(parsePrefix('198.19.3.0/24'), { asPath: seq(65001, 7) }, peer, undefined, 'peer'), 'accept');
});

test("06 pool migration: the disabled old pool's block stays advertised; a disableBGPExport pool's does not (bird_ipam.cfg.template)", () => {
  const { model } = load('06-pool-migration.yaml');
  assert.deepEqual(adverts(model, 'n1'), ['10.0.5.0/26', '10.244.5.0/26']);
});

test("07 services: CIDRs from every node with their communities (named, large); per-Service /32s as confd routes.go: Local from the endpoint's node, a single-address external IP from every node, not-ready and headless never", () => {
  const { model, warnings } = load('07-services.yaml');
  const r = originatedRoutes(model, 'n1');
  assert.deepEqual(
    r.map((x) => x.prefix),
    ['10.96.0.0/12', '198.19.100.0/24', '198.19.200.0/24', '10.96.10.10/32', '198.19.200.10/32', '10.96.20.20/32', '198.19.101.7/32'],
  );
  assert.deepEqual([r[0].communities, r[0].largeCommunities], [[comm(64512, 300)], [{ globalAdmin: 64512, local1: 1, local2: 2 }]]);
  assert.deepEqual(
    [r[3].communities, r[3].fib],
    [[comm(64512, 300)], 'none'],
    'a cluster IP /32 inside 10.96.0.0/12 gets its communities; Felix owns the forwarding',
  );
  assert.deepEqual(adverts(model, 'n2'), ['10.96.0.0/12', '198.19.100.0/24', '198.19.200.0/24', '10.96.20.20/32', '198.19.101.7/32']);
  assert.deepEqual(adverts(model, 'edge'), [], 'excluded from external load balancers');
  assert.deepEqual(warnings, []);
});

test('08 dual stack: one IPv4 and one IPv6 mesh session per node pair; the IPv6 block advertised', () => {
  const { model } = load('08-dual-stack.yaml');
  assert.deepEqual(sessions(model, 'n1'), ['198.18.80.12 mesh -', '2001:db8:80::12 mesh -']);
  assert.deepEqual(adverts(model, 'n1'), ['fd00:10:244::40/122']);
});

test('09 nodeMeshPassword whose Secret is missing: every mesh session held down, never unauthenticated (RFC 2385)', () => {
  const { model } = load('09-mesh-password-missing.yaml');
  assert.deepEqual(sessions(model, 'n1'), ['198.18.90.12 mesh held']);
  assert.match(peerOf(model, 'n1', '198.18.90.12').passwordError!, /BGPConfiguration default spec\.nodeMeshPassword: secret bgp-mesh\/password unavailable/);
});

test('10 reversePeering Manual: the worker peers with the gateway; the gateway does not peer back', () => {
  const { model } = load('10-reverse-peering-manual.yaml');
  assert.deepEqual(sessions(model, 'w1'), ['198.18.95.1 selector -']);
  assert.deepEqual(sessions(model, 'gw'), []);
});

test('11 peer options from a kubectl List (CRD group): [v6]:port, localASNumber, nextHopMode wins over keepOriginalNextHop with a warning', () => {
  const { model, warnings } = load('11-peer-options.yaml');
  const p = peerOf(model, 'n1', '[2001:db8:99::1]:1790');
  assert.deepEqual([p.peerPort, p.localAs, p.peerAs, p.nextHopMode, p.ttlSecurity, p.numAllowedLocalASNumbers], [1790, 65200, 65099, 'Self', 1, 1]);
  assert.deepEqual(localSpeaker(model, 'n1').listenAddresses, ['198.18.99.11', '2001:db8:99::11']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /spec\.keepOriginalNextHop: warning: ignored because nextHopMode is set/);
});

test('12 log level per node, unimplemented fields and unused kinds warned by name; LoadBalancer aggregation Disabled: no CIDR, a /32 per Service with a ready endpoint', () => {
  const { model, warnings } = load('12-log-and-unimplemented.yaml');
  assert.deepEqual([localSpeaker(model, 'n1').logSeverity, localSpeaker(model, 'n2').logSeverity], ['Debug', 'Warning']);
  assert.deepEqual(adverts(model, 'n1'), ['198.19.210.40/32'], 'no cluster IP: serviceClusterIPs is not set');
  assert.deepEqual(
    warnings.map((w) => /: (spec\.\w+|FelixConfiguration\/default): warning/.exec(w)?.[1]),
    ['FelixConfiguration/default'],
  );
});

test("13 programClusterRoutes EnabledNoEncapOnly (the default on the Calico main branch, v3.33): IPIP and VXLAN pools' routes left to Felix, unencapsulated ones installed", () => {
  const { model, warnings } = load('13-program-cluster-routes.yaml');
  const enc = (p: string) => encapsulationFor(model, p, '198.18.13.12', localSubnets(model, 'n1'));
  assert.deepEqual([enc('10.244.2.0/26').install, enc('10.244.2.0/26').mode], [false, 'felix']);
  assert.deepEqual([enc('10.245.2.0/26').install, enc('10.245.2.0/26').mode], [false, 'vxlan']);
  assert.deepEqual([enc('10.246.2.0/26').install, enc('10.246.2.0/26').mode], [true, 'direct']);
  assert.deepEqual([enc('198.19.0.0/16').install, enc('198.19.0.0/16').mode], [true, 'direct'], 'outside every pool: installed');
  assert.deepEqual(adverts(model, 'n1'), ['10.244.1.0/26'], 'export does not depend on who programs the routes');
  assert.deepEqual(warnings, []);
});

test("14 BGPFilter priority (Calico v3.32+ kubevirt-filter): a tagged route imported at priority 100 (LOCAL_PREF 2^31-1-100, kernel metric 100); on export priority 100 and this node's own routes at 1024 get their communities", () => {
  const { model, warnings } = load('14-bgpfilter-priority.yaml');
  assert.deepEqual(warnings, []);
  const rr = peerOf(model, 'n1', '198.18.140.1');
  const { importPolicy, exportPolicy } = policiesFor(rr, model);
  const peer = { id: rr.key, address: rr.peerAddress, asn: rr.peerAs };
  const elevated = importPolicy!(parsePrefix('10.244.9.7/32'), { asPath: [], localPref: 2147482623, communities: [comm(65000, 100)] }, peer) as PathAttributes;
  assert.equal(elevated.localPref, 2147483547);
  assert.equal(kernelMetricOf(elevated.localPref), 100);
  assert.equal(
    importPolicy!(parsePrefix('10.244.9.8/32'), { asPath: [], localPref: 2147482623 }, peer),
    'accept',
    'untagged: unchanged (priority 1024 from a Calico node)',
  );
  const own = exportPolicy(parsePrefix('10.244.1.0/26'), { asPath: [], localPref: 100 }, peer, -1, 'local') as PathAttributes;
  assert.deepEqual(own.communities, [comm(65001, 200)]);
  const reflected = exportPolicy(parsePrefix('10.244.9.7/32'), { asPath: [], localPref: 2147483547 }, peer, 2147483547, 'peer') as PathAttributes;
  assert.deepEqual(reflected.communities, [comm(65000, 100)]);
});

test('every corpus manifest has a test above', () => {
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
  assert.equal(files.length, 14);
});

test('common mistakes are refused with text that names them (kubectl strict validation, RFC 4271 §4.2 AS range)', () => {
  const dir = path.join(DIR, 'mistakes');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 14);
  for (const f of files) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    const want = /^# error: (.+)$/m.exec(text)?.[1];
    assert.ok(want, `${f}: no "# error:" line`);
    let err: unknown;
    try {
      loadModelFile(path.join(dir, f));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigError, `${f} was accepted`);
    const errors = err.issues.filter((i) => i.severity === 'error').map(formatIssue);
    assert.ok(
      errors.some((e) => e.includes(want)),
      `${f}: no error contains ${JSON.stringify(want)}; got:\n${errors.join('\n')}`,
    );
  }
});
