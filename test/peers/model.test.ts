// The Calico file datastore: parsing every kind, defaults, and validation that names
// file:line, Kind/name and field path (so an operator can fix the manifest without guessing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ConfigError, formatIssue, loadModelFile, parseModel, type ConfigIssue } from '../../peers/index.js';

const FIXTURE = join(__dirname, '../../../test/fixtures/cluster-full.yaml');

function errorsOf(text: string, file = 'cluster.yaml'): string[] {
  try {
    parseModel(text, file);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.filter((i) => i.severity === 'error').map(formatIssue);
  }
  assert.fail('expected a ConfigError');
}

/** Documents joined the way a user writes them: `---` on its own line, no blank lines. */
const cat = (...docs: string[]) => docs.join('---\n');
const doc = (kind: string, name: string, spec: string, api = 'projectcalico.org/v3') =>
  `apiVersion: ${api}\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

test('fixture: every kind parses with the values written', () => {
  const { model, warnings } = loadModelFile(FIXTURE);
  // Issue 16: a BGPFilter interface match is read but cannot match in Tern; it says so by name.
  assert.deepEqual(
    warnings.map((w) => `${w.line} ${w.path}`),
    ['128 spec.exportV4[2].interface'],
  );
  assert.equal(model.bgpConfig.programClusterRoutes, 'Enabled');
  const c = model.bgpConfig;
  assert.equal(c.asNumber, 64512);
  assert.equal(c.nodeToNodeMeshEnabled, false);
  assert.equal(c.listenPort, 1179);
  assert.equal(c.bindMode, 'NodeIP');
  assert.deepEqual(c.nodeMeshPassword, { secretKeyRef: { name: 'bgp-secrets', key: 'mesh' } });
  assert.equal(c.nodeMeshMaxRestartTime, 120);
  assert.deepEqual(
    c.serviceClusterIPs.map((x) => x.text),
    ['10.96.0.0/12'],
  );
  assert.deepEqual(
    c.serviceExternalIPs.map((x) => x.text),
    ['198.19.10.0/24'],
  );
  assert.deepEqual(
    c.serviceLoadBalancerIPs.map((x) => x.text),
    ['198.19.20.0/24'],
  );
  assert.deepEqual(
    c.prefixAdvertisements.map((a) => [a.cidr.text, a.communities]),
    [
      ['10.244.0.0/16', ['64512:100', '65000:7']],
      ['10.96.0.0/12', ['64512:1:2']],
    ],
  );
  assert.deepEqual(c.ignoredInterfaces, ['dummy0']);
  assert.equal(c.logSeverityScreen, 'Warning');
  assert.equal(model.nodeBgpConfigs.get('node-b')?.listenPort, 2179);

  const a = model.nodes.find((n) => n.name === 'node-a')!;
  assert.equal(a.ipv4Address, '198.18.1.10');
  assert.equal(a.ipv4Subnet?.text, '198.18.1.0/24');
  assert.equal(a.ipv6Address, '2001:db8:1::10');
  assert.equal(a.asNumber, 65546, 'asdot "1.10" = 1*65536+10 (RFC 5396)');
  assert.deepEqual(a.labels, { rack: 'a', 'kubernetes.io/hostname': 'node-a' });
  assert.equal(model.nodes.find((n) => n.name === 'rr-1')?.routeReflectorClusterID, '224.0.0.1');

  assert.deepEqual(
    model.peers.map((p) => p.name),
    ['to-rr', 'tor-a', 'v6-upstream'],
    'sorted by name',
  );
  const tor = model.peers.find((p) => p.name === 'tor-a')!;
  assert.deepEqual(tor.peerIP, { address: '198.18.1.1', family: 'ipv4', port: 1179 });
  assert.equal(tor.asNumber, 65001);
  assert.equal(tor.localASNumber, 65100);
  assert.deepEqual(tor.password, { value: 'literal-secret' });
  assert.equal(tor.sourceAddress, 'None');
  assert.equal(tor.maxRestartTime, 90);
  assert.equal(tor.keepaliveTime, 10);
  assert.equal(tor.nextHopMode, 'Self');
  assert.equal(tor.numAllowedLocalASNumbers, 2);
  assert.equal(tor.ttlSecurity, 1);
  assert.deepEqual(tor.filters, ['export-pods']);
  assert.equal(tor.reachableBy, '198.18.1.254');
  assert.equal(tor.nodeSelector?.matches({ rack: 'a' }), true);
  const rr = model.peers.find((p) => p.name === 'to-rr')!;
  assert.equal(rr.peerSelector?.text, "route-reflector == 'true'");
  assert.equal(rr.sourceAddress, 'UseNodeIP', 'Calico default');
  const v6 = model.peers.find((p) => p.name === 'v6-upstream')!;
  assert.deepEqual(v6.peerIP, { address: '2001:db8:1::1', family: 'ipv6', port: 179 });
  assert.equal(v6.keepOriginalNextHop, true);

  const f = model.filters.get('export-pods')!;
  assert.equal(f.exportV4.length, 4);
  assert.deepEqual(f.exportV4[0].prefixLength, { min: 26, max: 32 });
  assert.equal(f.exportV4[1].source, 'RemotePeers');
  assert.equal(f.exportV4[2].interface, 'cali*');
  assert.equal(f.importV6[1].action, 'Reject');

  const pools = Object.fromEntries(model.ipPools.map((p) => [p.name, p]));
  assert.equal(pools['pods-v4'].blockSize, 26);
  assert.equal(pools['pods-v4'].ipipMode, 'CrossSubnet');
  assert.equal(pools['pods-v4'].natOutgoing, true);
  assert.equal(pools['pods-v6'].blockSize, 122, 'Calico default for IPv6');
  assert.equal(pools['pods-v6'].vxlanMode, 'Always');
  assert.equal(pools['pods-v6'].ipipMode, 'Never');
  assert.equal(pools['old-pool'].disabled, true);

  const blk = model.ipamBlocks.find((b) => b.name === '10-244-0-0-26')!;
  assert.equal(blk.affinityNode, 'node-a');
  assert.deepEqual(
    [...blk.allocationNodes],
    [
      [0, 'node-a'],
      [2, 'node-a'],
    ],
  );
  assert.deepEqual(
    model.blockAffinities.map((x) => [x.cidr.text, x.state, x.deleted]),
    [
      ['10.244.1.0/26', 'confirmed', false],
      ['10.244.2.0/26', 'pending', false],
    ],
  );
});

test('defaults when BGPConfiguration is absent (Calico confd globalDefaults)', () => {
  const { model } = parseModel(doc('Node', 'n1', '  bgp: {ipv4Address: 198.18.0.1/24}\n'), 'm.yaml');
  assert.equal(model.bgpConfig.asNumber, 64512);
  assert.equal(model.bgpConfig.nodeToNodeMeshEnabled, true);
  assert.equal(model.bgpConfig.listenPort, 179);
  assert.equal(model.bgpConfig.bindMode, 'None');
  assert.equal(model.bgpConfig.logSeverityScreen, 'Info');
});

test('AS number forms Calico accepts: number, numeric string, asdot', () => {
  for (const [written, value] of [
    ['65000', 65000],
    ['"65000"', 65000],
    ['4294967295', 4294967295],
    ['"1.10"', 65546],
    ['1.10', 65546],
    ['0.65535', 65535],
  ] as const) {
    const { model } = parseModel(doc('BGPConfiguration', 'default', `  asNumber: ${written}\n`), 'm.yaml');
    assert.equal(model.bgpConfig.asNumber, value, written);
  }
});

test('invalid value: file, line, resource, field path and what is wrong', () => {
  const text = cat(
    doc('BGPPeer', 'ok', '  peerIP: 198.18.0.2\n  asNumber: 65001\n'),
    doc('BGPPeer', 'tor-a', '  asNumber: 4294967296\n  peerIP: 198.18.0.1\n'),
  );
  assert.deepEqual(errorsOf(text), ['cluster.yaml:14: BGPPeer/tor-a: spec.asNumber: 4294967296 is not a valid AS number (0..4294967295)']);
});

test('all errors are collected, not just the first', () => {
  const text = cat(
    doc('BGPPeer', 'p1', '  peerIP: 198.18.0.300\n  asNumber: 65001\n  nodeSelector: "rack == \'a\' &&"\n  keepaliveTime: 10\n'),
    doc('IPPool', 'pool', '  cidr: 10.244.0.0/16\n  blockSize: 33\n  ipipMode: Sometimes\n'),
    doc('Node', 'n1', '  bgp:\n    ipv4Address: 2001:db8::1/64\n    routeReflectorClusterID: abc\n'),
    doc('BGPConfiguration', 'default', '  nodeToNodeMeshEnabled: "no"\n  listenPort: 70000\n  communities:\n    - {name: x, value: \'70000:1\'}\n'),
  );
  const errs = errorsOf(text);
  const expected = [
    /^cluster\.yaml:6: BGPPeer\/p1: spec\.peerIP: "198\.18\.0\.300" is not an IP address/,
    /^cluster\.yaml:8: BGPPeer\/p1: spec\.nodeSelector: selector "rack == 'a' &&": expected an expression after '&&' at column 13$/,
    /^cluster\.yaml:9: BGPPeer\/p1: spec\.keepaliveTime: expected a string, found 10|"10" is not a valid duration/,
    /^cluster\.yaml:17: IPPool\/pool: spec\.blockSize: 33 is out of range \(20\.\.32\)$/,
    /^cluster\.yaml:18: IPPool\/pool: spec\.ipipMode: "Sometimes" is not one of Never, Always, CrossSubnet$/,
    /^cluster\.yaml:26: Node\/n1: spec\.bgp\.ipv4Address: "2001:db8::1\/64" is not an IPv4 address/,
    /^cluster\.yaml:27: Node\/n1: spec\.bgp\.routeReflectorClusterID: "abc" is not a cluster ID in IPv4 address form/,
    /^cluster\.yaml:34: BGPConfiguration\/default: spec\.nodeToNodeMeshEnabled: expected true or false, found "no"$/,
    /^cluster\.yaml:35: BGPConfiguration\/default: spec\.listenPort: 70000 is out of range \(1\.\.65535\)$/,
    /^cluster\.yaml:37: BGPConfiguration\/default: spec\.communities\[0\]\.value: "70000:1": standard community parts must be 0\.\.65535$/,
  ];
  assert.equal(errs.length, expected.length, errs.join('\n'));
  for (const [i, re] of expected.entries()) assert.match(errs[i], re);
});

test('BGPPeer consistency rules (Calico validator)', () => {
  const cases: [string, RegExp][] = [
    ['  node: a\n  nodeSelector: all()\n  peerIP: 198.18.0.1\n  asNumber: 1\n', /:7: BGPPeer\/x: spec\.nodeSelector: node and nodeSelector cannot both be set/],
    ['  peerSelector: all()\n  asNumber: 1\n', /spec\.peerSelector: peerSelector cannot be combined with peerIP or asNumber/],
    ['  node: a\n', /:5: BGPPeer\/x: spec: one of peerIP or peerSelector is required/],
    ['  peerIP: 198.18.0.1\n', /spec\.asNumber: asNumber is required when peerIP is set/],
    ['  peerIP: 198.18.0.1:0\n  asNumber: 1\n', /spec\.peerIP: port 0 is out of range/],
    ['  peerIP: "[198.18.0.1]:179"\n  asNumber: 1\n', /spec\.peerIP: .* is not an IP address with optional port/],
    ['  peerIP: 198.18.0.1\n  asNumber: 1\n  maxRestartTime: 2h\n', /7200s exceeds the 4095s .* \(RFC 4724 §3\)/],
    ['  peerIP: 198.18.0.1\n  asNumber: 1\n  reachableBy: 2001:db8::1\n', /spec\.reachableBy: address family does not match peerIP/],
    ['  peerIP: 198.18.0.1\n  asNumber: 1\n  ttlSecurity: 256\n', /spec\.ttlSecurity: 256 is out of range \(0\.\.255\)/],
    ['  peerIP: 198.18.0.1\n  asNumber: 1\n  password: {secretKeyRef: {name: s}}\n', /spec\.password\.secretKeyRef: both name and key are required/],
    ['  peerIP: 198.18.0.1\n  asNumber: "70000.1"\n', /spec\.asNumber: 70000\.1 is not a valid asdot AS number/],
  ];
  for (const [spec, re] of cases) {
    const errs = errorsOf(doc('BGPPeer', 'x', spec));
    assert.ok(
      errs.some((e) => re.test(e)),
      `${re}\n got: ${errs.join('\n')}`,
    );
  }
});

test('BGPFilter, IPPool and IPAM validation', () => {
  const cases: [string, RegExp][] = [
    [
      doc('BGPFilter', 'f', '  exportV4:\n    - {action: Accept, cidr: 10.0.0.0/8}\n'),
      /:7: BGPFilter\/f: spec\.exportV4\[0\]: cidr and matchOperator must both be set or both be empty/,
    ],
    [
      doc('BGPFilter', 'f', '  importV4:\n    - {action: Accept, matchOperator: In, cidr: 2001:db8::/32}\n'),
      /spec\.importV4\[0\]\.cidr: 2001:db8::\/32 is not an IPv4 CIDR/,
    ],
    [doc('BGPFilter', 'f', '  importV6:\n    - {action: Maybe}\n'), /spec\.importV6\[0\]\.action: "Maybe" is not one of Accept, Reject/],
    [doc('BGPFilter', 'f', '  exportV6:\n    - {matchOperator: In, cidr: "fd00::/8"}\n'), /spec\.exportV6\[0\]: action is required/],
    [
      doc('BGPFilter', 'f', '  exportV4:\n    - {action: Accept, matchOperator: In, cidr: 10.0.0.0/8, prefixLength: {min: 24, max: 16}}\n'),
      /prefixLength: min 24 is greater than max 16/,
    ],
    [doc('BGPFilter', 'f', '  exportV4:\n    - {action: Accept, prefixLength: {min: 24}}\n'), /cidr is required when prefixLength is set/],
    [doc('IPPool', 'p', '  cidr: 10.0.0.0/16\n  ipipMode: Always\n  vxlanMode: Always\n'), /spec\.vxlanMode: ipipMode and vxlanMode cannot both be enabled/],
    [doc('IPPool', 'p', '  cidr: fd00::/48\n  ipipMode: Always\n'), /spec\.ipipMode: IPIP is not supported for IPv6 pools/],
    [doc('IPPool', 'p', '  cidr: 10.0.0.0/28\n  blockSize: 26\n'), /block size \/26 is larger than the pool 10\.0\.0\.0\/28/],
    [doc('IPPool', 'p', '  blockSize: 26\n'), /IPPool\/p: spec\.cidr: cidr is required/],
    [
      cat(doc('IPPool', 'a', '  cidr: 10.0.0.0/16\n'), doc('IPPool', 'b', '  cidr: 10.0.128.0/17\n')),
      /:13: IPPool\/b: spec\.cidr: 10\.0\.128\.0\/17 overlaps IPPool a/,
    ],
    [doc('IPAMBlock', 'b', '  cidr: 10.0.0.0/26\n  affinity: node-a\n', 'crd.projectcalico.org/v1'), /spec\.affinity: "node-a" is not of the form host:<node>/],
    [doc('BlockAffinity', 'b', '  cidr: 10.0.0.0/26\n  state: done\n', 'crd.projectcalico.org/v1'), /spec\.node: node is required/],
    [
      doc('BGPPeer', 'x', '  peerIP: 198.18.0.1\n  asNumber: 1\n', 'projectcalico.org/v2'),
      /:1: BGPPeer\/x: apiVersion: "projectcalico\.org\/v2" is not one of/,
    ],
    ['apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {}\nspec: {}\n', /BGPPeer\/<unnamed>: metadata\.name: name is required/],
    [
      cat(doc('Node', 'n', '  bgp: {ipv4Address: 198.18.0.1}\n'), doc('Node', 'n', '  bgp: {ipv4Address: 198.18.0.2}\n')),
      /:9: Node\/n: metadata\.name: duplicate Node named "n"/,
    ],
    [
      cat(doc('Node', 'n', '  bgp: {ipv4Address: 198.18.0.1}\n'), doc('Node', 'm', '  bgp: {ipv4Address: 198.18.0.1/24}\n')),
      /:13: Node\/m: spec\.bgp: address 198\.18\.0\.1 is also the address of Node n/,
    ],
    ['a: [1, 2\n', /^cluster\.yaml:\d+: YAML: /],
    ['a: 1\na: 2\n', /^cluster\.yaml:2: YAML: duplicate key "a" \(Map keys must be unique\)/],
    ['apiVersion: projectcalico.org/v3\nmetadata: {name: x}\n', /^cluster\.yaml:1: resource has no kind/],
  ];
  for (const [text, re] of cases) {
    const errs = errorsOf(text);
    assert.ok(
      errs.some((e) => re.test(e)),
      `${re}\n got: ${errs.join('\n')}`,
    );
  }
});

test('unknown fields and Calico kinds are errors with a did-you-mean; other kinds and unimplemented fields are warned (kubectl strict validation, issue 16)', () => {
  const text = [
    'apiVersion: projectcalico.org/v3',
    'kind: BGPPeer',
    'metadata:',
    '  name: tor',
    '  labels: {a: b}',
    'spec:',
    '  peerIP: 198.18.0.1',
    '  asNumber: 65001',
    '  peerIp: 198.18.0.9',
    '  filters: [nope]',
    '---',
    'apiVersion: projectcalico.org/v3',
    'kind: FelixConfiguration',
    'metadata: {name: default}',
    '---',
    'apiVersion: projectcalico.org/v3',
    'kind: BGPConfiguration',
    'metadata: {name: node.n1}',
    'spec:',
    '  asNumber: 65000',
    '  programClusterRoutes: Enabled',
  ].join('\n');
  let err: ConfigError | undefined;
  try {
    parseModel(text, 'w.yaml');
  } catch (e) {
    err = e as ConfigError;
  }
  assert.ok(err instanceof ConfigError);
  assert.deepEqual(err.issues.map(formatIssue), [
    'w.yaml:9: BGPPeer/tor: spec.peerIp: unknown field: did you mean "peerIP"?',
    'w.yaml:10: BGPPeer/tor: spec.filters: warning: no BGPFilter named "nope"; Calico skips it, and so does Tern',
    'w.yaml:13: FelixConfiguration/default: warning: kind FelixConfiguration is not used by Tern (ignored)',
    'w.yaml:17: BGPConfiguration/node.n1: metadata.name: warning: no Node named "n1" in the model',
    'w.yaml:20: BGPConfiguration/node.n1: spec.asNumber: warning: only honoured in BGPConfiguration "default" (ignored here)',
    'w.yaml:21: BGPConfiguration/node.n1: spec.programClusterRoutes: warning: only honoured in BGPConfiguration "default" (ignored here)',
  ]);
  // Without the typo, the rest are warnings and the model loads.
  const { warnings } = parseModel(text.replace('  peerIp: 198.18.0.9\n', ''), 'w.yaml');
  assert.ok(warnings.length === 5 && warnings.every((i) => i.severity === 'warning'));
});

test('kubectl List output and CRD apiVersion are accepted', () => {
  const text = [
    'apiVersion: v1',
    'kind: List',
    'items:',
    '- apiVersion: crd.projectcalico.org/v1',
    '  kind: BGPPeer',
    '  metadata: {name: tor, resourceVersion: "12", uid: abc}',
    '  spec: {peerIP: 198.18.0.1, asNumber: 65001}',
    '- apiVersion: crd.projectcalico.org/v1',
    '  kind: IPPool',
    '  metadata: {name: p}',
    '  spec: {cidr: 10.244.0.0/16}',
  ].join('\n');
  const { model, warnings } = parseModel(text, 'l.yaml');
  assert.deepEqual(warnings, []);
  assert.equal(model.peers[0].name, 'tor');
  assert.equal(model.ipPools[0].blockSize, 26);
});

test('ConfigError message lists every error; loadModelFile reports unreadable files', () => {
  try {
    parseModel(cat(doc('IPPool', 'p', '  cidr: x\n'), doc('IPPool', 'q', '  cidr: y\n')), 'two.yaml');
    assert.fail('expected ConfigError');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /^2 configuration errors:\n {2}two\.yaml:6: IPPool\/p: spec\.cidr: "x" is not a valid CIDR/);
    assert.match(e.message, /two\.yaml:13: IPPool\/q/);
  }
  assert.throws(() => loadModelFile('/nonexistent/tern.yaml'), /ENOENT/);
});

test('host bits in a pool CIDR are masked with a warning (Calico normalises them)', () => {
  const { model, warnings } = parseModel(doc('IPPool', 'p', '  cidr: 10.244.1.0/16\n'), 'h.yaml');
  assert.equal(model.ipPools[0].cidr.text, '10.244.0.0/16');
  assert.match(formatIssue(warnings[0]), /^h\.yaml:6: IPPool\/p: spec\.cidr: warning: "10\.244\.1\.0\/16" has host bits set; using 10\.244\.0\.0\/16$/);
});

test('a Secret with bad base64 is an error naming the key', () => {
  const errs = errorsOf('apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  tor: "not base64!"\n');
  assert.deepEqual(errs, ['cluster.yaml:5: Secret/s: data.tor: expected a base64 string']);
});

test('eBGP BGPPeer whose filters leave routes unmatched: no RFC 8212 warning, Tern follows Calico by default (issue 16)', () => {
  const text = cat(
    doc('BGPFilter', 'only-rejects', '  exportV4:\n    - {action: Reject, matchOperator: In, cidr: 10.0.0.0/8}\n'),
    doc('BGPPeer', 'tor', '  peerIP: 198.18.0.1\n  asNumber: 65001\n  filters: [only-rejects]\n'),
  );
  assert.deepEqual(parseModel(text, 'r.yaml').warnings.map(formatIssue), []);
});
