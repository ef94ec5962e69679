// BGPFilter semantics (Calico API bgpfilter.go): first matching rule wins; match operators,
// prefix lengths, source, interface; defaults (Calico accept vs RFC 8212 for eBGP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultFilterAction, evaluateFilters, filtersByName, type BgpFilter } from '../../peers/index.js';
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
    res('BGPFilter', 'first', { importV4: [{ action: 'Reject', matchOperator: 'In', cidr: '10.1.0.0/16' }, { action: 'Accept', matchOperator: 'In', cidr: '10.0.0.0/8' }] }),
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
  const f = filters({ exportV4: [{ action: 'Reject', interface: 'cali*' }, { action: 'Accept', peerType: 'eBGP' }] });
  assert.equal(evaluateFilters(f, 'export', 'ipv4', '10.244.0.5/32', { interface: 'cali12ab' }), 'reject');
  assert.equal(evaluateFilters(f, 'export', 'ipv4', '10.244.0.5/32', { interface: 'eth0' }), 'none');
  assert.equal(evaluateFilters(f, 'export', 'ipv4', '10.244.0.5/32', { interface: 'eth0', peerType: 'eBGP' }), 'accept');
  assert.equal(evaluateFilters(f, 'export', 'ipv4', '10.244.0.5/32', { peerType: 'iBGP' }), 'none');
  assert.equal(evaluateFilters(filters({ exportV4: [{ action: 'Reject', interface: 'a.b' }] }), 'export', 'ipv4', '10.0.0.0/8', { interface: 'aXb' }), 'none', '. is literal');
});

test('a rule with a match Tern does not implement never matches (never acts on routes it was not meant for)', () => {
  const f = filters({ importV4: [{ action: 'Reject', communities: { values: ['65000:1'] } }, { action: 'Accept' }] });
  assert.equal(evaluateFilters(f, 'import', 'ipv4', '10.0.0.0/8'), 'accept');
});

test('defaults: Calico accepts on import and uses its normal export; RFC 8212 rejects for eBGP', () => {
  assert.equal(defaultFilterAction('import', { ebgp: true }), 'accept');
  assert.equal(defaultFilterAction('export', { ebgp: true }), 'default-export');
  assert.equal(defaultFilterAction('import', { ebgp: true, policy: 'rfc8212' }), 'reject');
  assert.equal(defaultFilterAction('export', { ebgp: true, policy: 'rfc8212' }), 'reject');
  assert.equal(defaultFilterAction('import', { ebgp: false, policy: 'rfc8212' }), 'accept', 'RFC 8212 concerns eBGP only');
  assert.equal(defaultFilterAction('export', { ebgp: false, policy: 'rfc8212' }), 'default-export');
});
