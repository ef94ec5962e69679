// The filters of `bgpctl show rib` (issue 17), one table row per rule; the rules are OpenBGPD's
// bgpctl(8) AS forms, RFC 1997 / RFC 8092 community matching and prefix containment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asPathShape, attributeFilter, matchAs, prefixFilter, within } from '../../src/daemon/rib-filter.js';
import { checkNeighborKey, normaliseCommunity } from '../../src/control/validate.js';
import type { AsFilter, RibRowView } from '../../src/control/api.js';

const LOCAL = 64512;

test('AS_PATH shapes: leftmost of a leading sequence, rightmost of a trailing sequence, sets and confederations', () => {
  assert.deepEqual(asPathShape(''), { all: [], first: undefined, last: undefined });
  assert.deepEqual(asPathShape('65001 65002 65003'), { all: [65001, 65002, 65003], first: 65001, last: 65003 });
  // RFC 4271 §5.1.2: a trailing AS_SET has no single originating AS.
  assert.deepEqual(asPathShape('65001 {65003 65004}'), { all: [65001, 65003, 65004], first: 65001, last: undefined });
  assert.deepEqual(asPathShape('{65003,65004} 65001'), { all: [65003, 65004, 65001], first: undefined, last: 65001 });
  // RFC 5065 confederation segments are not the path's ASes.
  assert.deepEqual(asPathShape('(65010 65011) 65001 65002'), { all: [65001, 65002], first: 65001, last: 65002 });
});

test('OpenBGPD AS forms: as, source-as, transit-as, peer-as, empty-as', () => {
  const rows: Array<[AsFilter, string, boolean]> = [
    [{ kind: 'as', asn: 65002 }, '65001 65002 65003', true],
    [{ kind: 'as', asn: 65009 }, '65001 65002 65003', false],
    [{ kind: 'source-as', asn: 65003 }, '65001 65002 65003', true],
    [{ kind: 'source-as', asn: 65001 }, '65001 65002 65003', false],
    [{ kind: 'source-as', asn: LOCAL }, '', true], // an empty AS_PATH originates in our own AS
    [{ kind: 'source-as', asn: 65004 }, '65001 {65003 65004}', false],
    [{ kind: 'transit-as', asn: 65002 }, '65001 65002 65003', true],
    [{ kind: 'transit-as', asn: 65001 }, '65001 65002 65003', true],
    [{ kind: 'transit-as', asn: 65003 }, '65001 65002 65003', false],
    [{ kind: 'transit-as', asn: 65001 }, '65001', false],
    [{ kind: 'peer-as', asn: 65001 }, '65001 65002', true],
    [{ kind: 'peer-as', asn: 65002 }, '65001 65002', false],
    [{ kind: 'peer-as', asn: 65001 }, '', false],
    [{ kind: 'empty-as' }, '', true],
    [{ kind: 'empty-as' }, '65001', false],
  ];
  for (const [f, path, want] of rows) assert.equal(matchAs(f, path, LOCAL), want, `${JSON.stringify(f)} on '${path}'`);
});

test('communities: RFC 1997 numbers and the well-known names operators type; RFC 8092 large communities', () => {
  assert.equal(normaliseCommunity('no-export'), '65535:65281');
  assert.equal(normaliseCommunity('NO-ADVERTISE'), '65535:65282');
  assert.equal(normaliseCommunity('64512:0100'), '64512:100');
  assert.equal(normaliseCommunity('64512:65536'), null);
  assert.equal(normaliseCommunity('65001:1:2'), null);
  const row = (communities?: string[], largeCommunities?: string[]): RibRowView => ({
    prefix: '10.0.0.0/24',
    family: 'ipv4',
    flags: { valid: true, best: true, multipath: false, ibgp: false, stale: false, filtered: false },
    nextHop: '198.18.0.2',
    asPath: '65001',
    origin: 'i',
    peer: '198.18.0.2',
    communities,
    largeCommunities,
  });
  const noExport = attributeFilter({ view: 'loc', community: 'no-export' }, LOCAL)!;
  assert.equal(noExport(row(['65535:65281'])), true);
  assert.equal(noExport(row(['64512:100'])), false);
  assert.equal(noExport(row()), false);
  const large = attributeFilter({ view: 'loc', largeCommunity: '65001:01:2' }, LOCAL)!;
  assert.equal(large(row(undefined, ['65001:1:2'])), true);
  assert.equal(large(row(undefined, ['65001:1:3'])), false);
  const both = attributeFilter({ view: 'loc', community: '64512:100', asFilter: { kind: 'peer-as', asn: 65001 } }, LOCAL)!;
  assert.equal(both(row(['64512:100'])), true);
  assert.equal(attributeFilter({ view: 'loc' }, LOCAL), null, 'no filter: every row, no per-row work');
});

test('prefix containment for longer (or-longer) and shorter (or-shorter)', () => {
  assert.equal(within('10.244.0.0/16', '10.244.1.0/26'), true);
  assert.equal(within('10.244.0.0/16', '10.244.0.0/16'), true);
  assert.equal(within('10.244.0.0/16', '10.245.0.0/26'), false);
  assert.equal(within('10.244.1.0/26', '10.244.0.0/16'), false);
  assert.equal(within('0.0.0.0/0', '198.18.0.0/15'), true);
  assert.equal(within('2001:db8::/32', '2001:db8:244::/48'), true);
  assert.equal(within('2001:db8::/32', '10.0.0.0/8'), false);
  const longer = prefixFilter({ view: 'in', prefix: '10.244.0.0/16', match: 'longer' })!;
  assert.deepEqual(['10.244.1.0/26', '10.0.0.0/8', '10.244.0.0/16'].filter(longer), ['10.244.1.0/26', '10.244.0.0/16']);
  const shorter = prefixFilter({ view: 'in', prefix: '10.244.1.0/26', match: 'shorter' })!;
  assert.deepEqual(['10.244.1.0/26', '10.0.0.0/8', '10.244.2.0/24', '0.0.0.0/0'].filter(shorter), ['10.244.1.0/26', '10.0.0.0/8', '0.0.0.0/0']);
});

test('neighbor keys: the address, or address:port as show config prints it (peers/plan.ts peerKey)', () => {
  assert.deepEqual(checkNeighborKey('198.18.0.2'), { ok: true, value: '198.18.0.2' });
  assert.deepEqual(checkNeighborKey('198.18.0.2:179'), { ok: true, value: '198.18.0.2' });
  assert.deepEqual(checkNeighborKey('198.18.0.2:1179'), { ok: true, value: '198.18.0.2:1179' });
  assert.deepEqual(checkNeighborKey('[2001:db8::2]:1179'), { ok: true, value: '[2001:db8::2]:1179' });
  assert.deepEqual(checkNeighborKey('2001:db8::2'), { ok: true, value: '2001:db8::2' });
  for (const bad of ['router-1', '198.18.0.2:0', '[198.18.0.2]:1179', '2001:db8::2:1179x', '198.18.0.256:179'])
    assert.equal(checkNeighborKey(bad).ok, false, bad);
});
