// BGPFilter semantics (Calico API bgpfilter.go): first matching rule wins; match operators,
// prefix lengths, source, interface; defaults (Calico accept vs RFC 8212 for eBGP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type ConfigError,
  defaultFilterAction,
  evaluateFilters,
  filtersByName,
  formatIssue,
  localPrefOfPriority,
  matchFilters,
  operationsEdit,
  priorityOfLocalPref,
  type BgpFilter,
} from '../../peers/index.js';
import { model, res } from './helpers.js';

const filters = (spec: Record<string, unknown>, name = 'f'): BgpFilter[] => [model(res('BGPFilter', name, spec)).filters.get(name)!];

test('matchOperator Equal / NotEqual compare the exact prefix', () => {
  const eq = filters({ importV4: [{ action: 'Accept', matchOperator: 'Equal', cidr: '10.0.0.0/8' }] });
  assert.equal(evaluateFilters(eq, 'import', 'ipv4', '10.0.0.0/8'), 'accept');
  assert.equal(evaluateFilters(eq, 'import', 'ipv4', '10.0.0.0/9'), 'none');
  assert.equal(evaluateFilters(eq, 'import', 'ipv4', '11.0.0.0/8'), 'none');
  const ne = filters({ importV4: [{ action: 'Reject', matchOperator: 'NotEqual', cidr: '10.0.0.0/8' }] });
  assert.equal(evaluateFilters(ne, 'import', 'ipv4', '10.0.0.0/8'), 'none');
  assert.equal(evaluateFilters(ne, 'import', 'ipv4', '10.1.0.0/16'), 'reject');
});

test('matchOperator In / NotIn: containment, bounded by prefixLength', () => {
  const inn = filters({ exportV4: [{ action: 'Accept', matchOperator: 'In', cidr: '10.244.0.0/16', prefixLength: { min: 24, max: 26 } }] });
  assert.equal(evaluateFilters(inn, 'export', 'ipv4', '10.244.3.0/26'), 'accept');
  assert.equal(evaluateFilters(inn, 'export', 'ipv4', '10.244.3.0/24'), 'accept');
  assert.equal(evaluateFilters(inn, 'export', 'ipv4', '10.244.3.4/32'), 'none', 'longer than max');
  assert.equal(evaluateFilters(inn, 'export', 'ipv4', '10.244.0.0/16'), 'none', 'shorter than min');
  assert.equal(evaluateFilters(inn, 'export', 'ipv4', '10.245.0.0/24'), 'none', 'outside');
  const dflt = filters({ exportV4: [{ action: 'Accept', matchOperator: 'In', cidr: '10.244.0.0/16' }] });
  assert.equal(evaluateFilters(dflt, 'export', 'ipv4', '10.244.0.0/16'), 'accept', 'min defaults to the CIDR length');
  assert.equal(evaluateFilters(dflt, 'export', 'ipv4', '10.244.1.1/32'), 'accept', 'max defaults to /32');
  const notIn = filters({ importV4: [{ action: 'Reject', matchOperator: 'NotIn', cidr: '198.19.0.0/16' }] });
  assert.equal(evaluateFilters(notIn, 'import', 'ipv4', '8.8.8.0/24'), 'reject');
  assert.equal(evaluateFilters(notIn, 'import', 'ipv4', '198.19.1.0/24'), 'none');
});

test('rules run in order and the first match wins, across filters in the BGPPeer order', () => {
  const m = model(
    res('BGPFilter', 'first', {
      importV4: [
        { action: 'Reject', matchOperator: 'In', cidr: '10.1.0.0/16' },
        { action: 'Accept', matchOperator: 'In', cidr: '10.0.0.0/8' },
      ],
    }),
    res('BGPFilter', 'second', { importV4: [{ action: 'Accept', matchOperator: 'In', cidr: '10.1.0.0/16' }, { action: 'Reject' }] }),
  );
  const fs = filtersByName(m.filters, ['first', 'second', 'unknown']);
  assert.equal(fs.length, 2);
  assert.equal(evaluateFilters(fs, 'import', 'ipv4', '10.1.2.0/24'), 'reject');
  assert.equal(evaluateFilters(fs, 'import', 'ipv4', '10.2.0.0/24'), 'accept');
  assert.equal(evaluateFilters(fs, 'import', 'ipv4', '192.0.2.0/24'), 'reject', 'catch-all of the second filter');
  assert.equal(evaluateFilters([...fs].reverse(), 'import', 'ipv4', '10.1.2.0/24'), 'accept', 'order matters');
});

test('direction and family select the rule list', () => {
  const f = filters({ importV6: [{ action: 'Reject' }], exportV4: [{ action: 'Accept' }] });
  assert.equal(evaluateFilters(f, 'import', 'ipv6', '2001:db8::/32'), 'reject');
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.0.0.0/8'), 'none');
  assert.equal(evaluateFilters(f, 'export', 'ipv4', '10.0.0.0/8'), 'accept');
  assert.equal(evaluateFilters(f, 'export', 'ipv6', '2001:db8::/32'), 'none');
});

test('source RemotePeers matches re-advertised routes on export, every route on import', () => {
  const f = filters({ exportV4: [{ action: 'Reject', source: 'RemotePeers' }], importV4: [{ action: 'Reject', source: 'RemotePeers' }] });
  assert.equal(evaluateFilters(f, 'export', 'ipv4', '10.0.0.0/8', { source: 'RemotePeers' }), 'reject');
  assert.equal(evaluateFilters(f, 'export', 'ipv4', '10.0.0.0/8', { source: 'Local' }), 'none');
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.0.0.0/8'), 'reject');
});

test('interface patterns with * and peerType', () => {
  const f = filters({
    exportV4: [
      { action: 'Reject', interface: 'cali*' },
      { action: 'Accept', peerType: 'eBGP' },
    ],
  });
  assert.equal(evaluateFilters(f, 'export', 'ipv4', '10.244.0.5/32', { interface: 'cali12ab' }), 'reject');
  assert.equal(evaluateFilters(f, 'export', 'ipv4', '10.244.0.5/32', { interface: 'eth0' }), 'none');
  assert.equal(evaluateFilters(f, 'export', 'ipv4', '10.244.0.5/32', { interface: 'eth0', peerType: 'eBGP' }), 'accept');
  assert.equal(evaluateFilters(f, 'export', 'ipv4', '10.244.0.5/32', { peerType: 'iBGP' }), 'none');
  assert.equal(
    evaluateFilters(filters({ exportV4: [{ action: 'Reject', interface: 'a.b' }] }), 'export', 'ipv4', '10.0.0.0/8', { interface: 'aXb' }),
    'none',
    '. is literal',
  );
});

// Calico's newest BGPFilter (api bgpfilter.go; confd template_funcs filterMatchCommunity,
// filterMatchASPathPrefix, filterOperationStatements): `(65000, 100) ~ bgp_community`,
// `bgp_path ~ [= 65000 65001 * =]`, `bgp_community.add(...)`, `bgp_path.prepend(...)`.
test('communities.values matches a route carrying that community or large community (RFC 1997, RFC 8092)', () => {
  const f = filters({
    importV4: [
      { action: 'Reject', communities: { values: ['65000:100'] } },
      { action: 'Reject', communities: { values: ['65000:10:20'] } },
      { action: 'Accept' },
    ],
  });
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.0.0.0/8', { communities: [65000 * 65536 + 100] }), 'reject');
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.0.0.0/8', { communities: [65000 * 65536 + 101] }), 'accept');
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.0.0.0/8', { largeCommunities: [{ globalAdmin: 65000, local1: 10, local2: 20 }] }), 'reject');
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.0.0.0/8', { largeCommunities: [{ globalAdmin: 65000, local1: 10, local2: 21 }] }), 'accept');
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.0.0.0/8'), 'accept', 'a route without communities does not match');
});

test('asPathPrefix matches a path that begins with those AS numbers (RFC 4271 §5.1.2 order)', () => {
  const f = filters({ importV4: [{ action: 'Reject', asPathPrefix: [65000, 65001] }] });
  const starts = (path: number[]) => (asns: readonly number[]) => asns.every((a, i) => path[i] === a);
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.0.0.0/8', { asPathStartsWith: starts([65000, 65001, 7]) }), 'reject');
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.0.0.0/8', { asPathStartsWith: starts([65001, 65000]) }), 'none');
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.0.0.0/8', { asPathStartsWith: starts([65000]) }), 'none');
});

test('operations: Accept rules add communities and prepend in the order listed; the matched rule is returned', () => {
  const f = filters({
    exportV4: [
      {
        action: 'Accept',
        matchOperator: 'In',
        cidr: '10.244.0.0/16',
        operations: [
          { addCommunity: { value: '65000:200' } },
          { addCommunity: { value: '65000:300:400' } },
          { prependASPath: { prefix: [65001, 65002] } },
          { prependASPath: { prefix: [64999] } },
        ],
      },
    ],
  });
  const rule = matchFilters(f, 'export', 'ipv4', '10.244.1.0/26')!;
  assert.deepEqual(operationsEdit(rule.operations), {
    addCommunities: [65000 * 65536 + 200],
    addLargeCommunities: [{ globalAdmin: 65000, local1: 300, local2: 400 }],
    // Calico: "[65000, 65001] produces the path 65000 65001 <original>"; a later prepend goes in front.
    prependAs: [64999, 65001, 65002],
  });
});

test('priority matches the route whose LOCAL_PREF is 2^31-1 - priority, as Calico v3.32+ renders it for BIRD (confd filterMatchPriority)', () => {
  // Calico: `priority: 512` is "(defined(bgp_local_pref)&&(bgp_local_pref = 2147483135))".
  assert.equal(localPrefOfPriority(512), 2147483135);
  assert.equal(priorityOfLocalPref(2147483135), 512);
  assert.equal(priorityOfLocalPref(100), 2147483547, "BIRD's default LOCAL_PREF is priority 2^31-1-100");
  assert.equal(priorityOfLocalPref(2147483647), undefined, "priority 0 is outside Calico's range");
  const f = filters({
    importV4: [
      { action: 'Reject', priority: 512 },
      { action: 'Accept', priority: 1024, cidr: '10.0.0.0/8', matchOperator: 'In' },
    ],
  });
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.1.0.0/16', { localPref: 2147483135 }), 'reject');
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.1.0.0/16', { localPref: 2147482623 }), 'accept', 'priority 1024 and in the CIDR');
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '11.0.0.0/16', { localPref: 2147482623 }), 'none', 'every criterion must hold');
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.1.0.0/16', { localPref: 100 }), 'none');
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.1.0.0/16'), 'none', 'no LOCAL_PREF known: "defined(bgp_local_pref)" is false');
});

test('setPriority is LOCAL_PREF = 2^31-1 - value, the last one wins (confd filterOperationStatements "bgp_local_pref = ...")', () => {
  const f = filters({
    importV4: [{ action: 'Accept', operations: [{ setPriority: { value: 100 } }, { addCommunity: { value: '65000:1' } }, { setPriority: { value: 256 } }] }],
  });
  const rule = matchFilters(f, 'import', 'ipv4', '10.0.0.0/8')!;
  assert.deepEqual(operationsEdit(rule.operations), { addCommunities: [65000 * 65536 + 1], addLargeCommunities: [], prependAs: [], setLocalPref: 2147483391 });
});

test("BGPFilter validation: priority and setPriority in Calico's range 1..2^31-2, operations only with Accept, one community value", () => {
  const errs = (spec: Record<string, unknown>): string[] => {
    try {
      model(res('BGPFilter', 'f', spec));
      return [];
    } catch (e) {
      return (e as ConfigError).issues.filter((i) => i.severity === 'error').map(formatIssue);
    }
  };
  assert.deepEqual(errs({ importV4: [{ action: 'Accept', priority: 2147483646, operations: [{ setPriority: { value: 1073741823 } }] }] }), []);
  // Above 2^30-1 Tern could not tell the LOCAL_PREF from an ordinary one (peers/filters.ts kernelMetricOf): refused by name.
  assert.match(
    errs({ importV4: [{ action: 'Accept', operations: [{ setPriority: { value: 1073741824 } }] }] }).join('\n'),
    /setPriority\.value: 1073741824 is above 1073741823, the largest priority Tern installs/,
  );
  assert.match(errs({ importV4: [{ action: 'Accept', priority: 0 }] }).join('\n'), /spec\.importV4\[0\]\.priority: 0 is out of range \(1\.\.2147483646\)/);
  assert.match(
    errs({ importV4: [{ action: 'Accept', operations: [{ setPriority: { value: 2147483647 } }] }] }).join('\n'),
    /operations\[0\]\.setPriority\.value: 2147483647 is out of range/,
  );
  assert.match(
    errs({ importV4: [{ action: 'Accept', operations: [{ setPriority: {} }] }] }).join('\n'),
    /operations\[0\]\.setPriority\.value: value is required/,
  );
  assert.match(errs({ importV4: [{ action: 'Accept', operations: [{ setPriority: { value: 5, metric: 1 } }] }] }).join('\n'), /setPriority\.metric/);
  assert.match(
    errs({ importV4: [{ action: 'Reject', operations: [{ addCommunity: { value: '1:1' } }] }] }).join('\n'),
    /operations may only be used with action Accept/,
  );
  assert.match(errs({ importV4: [{ action: 'Reject', communities: { values: ['1:1', '1:2'] } }] }).join('\n'), /exactly one community value/);
  assert.match(
    errs({ importV4: [{ action: 'Accept', operations: [{ addCommunity: { value: '1:1' }, prependASPath: { prefix: [1] } }] }] }).join('\n'),
    /exactly one operation must be set/,
  );
  assert.match(
    errs({ importV4: [{ action: 'Accept', operations: [{ addCommunity: { value: '70000:1' } }] }] }).join('\n'),
    /standard community parts must be 0\.\.65535/,
  );
});

test('defaults: Calico accepts on import and uses its normal export; RFC 8212 rejects for eBGP', () => {
  assert.equal(defaultFilterAction('import', { ebgp: true }), 'accept');
  assert.equal(defaultFilterAction('export', { ebgp: true }), 'default-export');
  assert.equal(defaultFilterAction('import', { ebgp: true, policy: 'rfc8212' }), 'reject');
  assert.equal(defaultFilterAction('export', { ebgp: true, policy: 'rfc8212' }), 'reject');
  assert.equal(defaultFilterAction('import', { ebgp: false, policy: 'rfc8212' }), 'accept', 'RFC 8212 concerns eBGP only');
  assert.equal(defaultFilterAction('export', { ebgp: false, policy: 'rfc8212' }), 'default-export');
});
