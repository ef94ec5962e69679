// RFC 4271 §6.3: a route whose NEXT_HOP cannot be one (the receiving speaker's own address,
// 0.0.0.0, multicast; for IPv6 per RFC 4760 §3 / RFC 2545 §3: unspecified, loopback,
// multicast, link-local only from a peer not on the link) is logged and ignored: never best,
// never re-advertised, never in a change record for the FIB. Issue 15: they were used.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrs, ctx, drain, LOCAL_AS, makeRib, seq, summary, up, upd } from './helpers.js';
import { nextHopProblem } from '../../bgp/rib/nexthop.js';
import type { RibChange } from '../../bgp/rib/rib-types.js';

const SESSION = { peerAddress: '198.18.0.9', localAddress: '198.18.255.1', localAddress6: '2001:db8:ff::1', isOwnAddress: (a: string) => a === '198.18.7.7' };

test('RFC 4271 §6.3, RFC 4760 §3, RFC 2545 §3: which next hops cannot be used, and why', () => {
  const bad: [string, string, RegExp][] = [
    ['ipv4', '0.0.0.0', /0\.0\.0\.0\/8/],
    ['ipv4', '0.1.2.3', /0\.0\.0\.0\/8/],
    ['ipv4', '224.0.0.5', /multicast/],
    ['ipv4', '239.255.255.255', /multicast/],
    ['ipv4', '255.255.255.255', /broadcast/],
    ['ipv4', '198.18.255.1', /our own address/],
    ['ipv4', '198.18.7.7', /our own address/],
    ['ipv6', '::', /unspecified/],
    ['ipv6', '::1', /loopback/],
    ['ipv6', 'ff02::1', /multicast/],
    ['ipv6', 'fe80::1', /link-local only/],
    ['ipv6', '2001:db8:ff::1', /our own address/],
  ];
  for (const [f, nh, why] of bad) assert.match(nextHopProblem(f as 'ipv4' | 'ipv6', nh, undefined, SESSION) ?? 'usable', why, nh);
  for (const [f, nh] of [
    ['ipv4', '198.18.0.9'],
    ['ipv4', '127.0.0.42'],
    ['ipv6', '2001:db8::9'],
    ['ipv6', '::ffff:198.18.0.9'],
  ]) {
    assert.equal(nextHopProblem(f as 'ipv4' | 'ipv6', nh, undefined, SESSION), null, nh);
  }
  // A link-local next hop alone is fine from a peer reached by its own link-local address.
  assert.equal(nextHopProblem('ipv6', 'fe80::1', undefined, { ...SESSION, peerAddress: 'fe80::2%eth0' }), null);
});

test('RFC 4271 §6.3: a route with an unusable NEXT_HOP is ignored (not best, not advertised, not installed), counted and noted', () => {
  const changes: RibChange[] = [];
  const rib = makeRib({ onChange: (c) => changes.push(c), ownAddresses: new Set(['198.18.7.7']) });
  const src = up(rib, { asn: 65009, address: '198.18.0.9', localAddress6: '2001:db8:ff::1' });
  const other = up(rib, { asn: 65001 });
  const ibgp = up(rib, { asn: LOCAL_AS });
  for (const p of [src, other, ibgp]) rib.takeOutput(p);
  // A good version first: used, installed (change record) and advertised.
  rib.ingest(src, upd(attrs({ asPath: seq(65009), nextHop: '198.18.0.9' }), ['10.5.0.0/16']));
  rib.flush(0);
  assert.equal(changes.pop()?.newBest?.nextHop, '198.18.0.9');
  assert.deepEqual(summary(drain(rib, other)).nlri, ['10.5.0.0/16']);
  drain(rib, ibgp);
  const cases: [string, string[]][] = [
    ['198.18.255.1', ['10.5.0.0/16']], // the receiving speaker's own address on the session
    ['0.0.0.0', ['10.6.0.0/16']],
    ['224.0.0.9', ['10.7.0.0/16']],
    ['198.18.7.7', ['10.8.0.0/16']], // the node's other address
    ['2001:db8:ff::1', ['2001:db8:5::/48']], // IPv6: our address on the session
    ['::', ['2001:db8:6::/48']],
    ['ff02::2', ['2001:db8:7::/48']],
    ['fe80::9', ['2001:db8:8::/48']], // link-local only, from a peer on a global address
  ];
  for (const [nh, pfx] of cases) rib.ingest(src, upd(attrs({ asPath: seq(65009), nextHop: nh }), pfx));
  rib.flush(0);
  // 10.5.0.0/16 had a good path from src: the bad re-announcement replaces it, so it is gone
  // (withdrawn from the FIB and from the peers); the others were never used.
  assert.deepEqual(
    changes.map((c) => [c.prefix, c.newBest]),
    [['10.5.0.0/16', undefined]],
  );
  for (const p of [other, ibgp]) assert.deepEqual(summary(drain(rib, p)), { nlri: [], withdrawn: ['10.5.0.0/16'] }, `${p}: only the withdrawal`);
  for (const [nh, [pfx]] of cases) {
    const paths = rib.lookup(pfx);
    assert.equal(paths.length, 1, `${pfx} via ${nh} is kept in the Adj-RIB-In`);
    assert.equal(paths[0].best, false, `${pfx} via ${nh} is not best`);
    assert.equal(paths[0].filtered, true);
    assert.match(paths[0].reason ?? '', /next hop.*RFC 4271 §6\.3/);
  }
  assert.equal(rib.peerCounters(src)['bad-next-hop'], cases.length);
  const notices = rib.takeNotices().filter((n) => n.reason === 'bad-next-hop');
  assert.deepEqual(notices.map((n) => n.prefix).sort(), cases.map(([, [p]]) => p).sort());
  assert.match(notices.find((n) => n.prefix === '10.6.0.0/16')?.detail ?? '', /0\.0\.0\.0/);
  // A good next hop again: used again.
  rib.ingest(src, upd(attrs({ asPath: seq(65009), nextHop: '198.18.0.9' }), ['10.6.0.0/16']));
  rib.flush(0);
  assert.equal(changes.pop()?.newBest?.nextHop, '198.18.0.9');
  assert.deepEqual(summary(drain(rib, other)).nlri, ['10.6.0.0/16']);
});

test('RFC 4456 §8 before RFC 4271 §6.3: our own route reflected back (next hop = us) is a loop, not a next-hop error', () => {
  const rib = makeRib();
  const rr = up(rib, { asn: LOCAL_AS, address: '198.18.0.50' });
  rib.takeOutput(rr);
  rib.ingest(
    rr,
    upd(attrs({ asPath: [], localPref: 100, nextHop: '198.18.255.1', originatorId: '198.18.255.1', clusterList: ['198.18.0.50'] }), ['10.244.0.0/26']),
  );
  rib.flush(0);
  assert.match(rib.lookup('10.244.0.0/26')[0].reason ?? '', /ORIGINATOR_ID is our router ID/);
  assert.equal(rib.peerCounters(rr)['bad-next-hop'], 0);
});

test("RFC 4271 §6.3: our end of the session's TCP connection is our own address too, whatever the configured one", () => {
  const rib = makeRib();
  rib.addPeer({ id: 'p', address: '198.18.151.2', asn: 65009 }); // no localAddress configured
  rib.peerUp('p', ctx(), { routerId: '198.18.151.2', families: ['ipv4'], sessionLocalAddress: '198.18.151.1' });
  rib.ingest('p', upd(attrs({ asPath: seq(65009), nextHop: '198.18.151.1' }), ['10.9.0.0/16']));
  rib.flush(0);
  assert.equal(rib.lookup('10.9.0.0/16')[0].best, false);
  assert.equal(rib.peerCounters('p')['bad-next-hop'], 1);
});

test('RFC 4271 §6.3: an address that appears on one of our interfaces later stops the paths using it; when it goes they are used again', () => {
  const changes: RibChange[] = [];
  const rib = makeRib({ onChange: (c) => changes.push(c), ownAddresses: new Set(['198.18.7.7']) });
  const src = up(rib, { asn: 65009, address: '198.18.0.9' });
  const other = up(rib, { asn: 65001 });
  rib.takeOutput(other);
  rib.ingest(src, upd(attrs({ asPath: seq(65009), nextHop: '198.18.40.1' }), ['10.40.0.0/16']));
  rib.ingest(src, upd(attrs({ asPath: seq(65009), nextHop: '198.18.0.9' }), ['10.41.0.0/16']));
  rib.ingest(src, upd(attrs({ asPath: seq(65009), nextHop: '2001:db8:40::1' }), ['2001:db8:40::/48']));
  rib.flush(0);
  assert.deepEqual(
    changes
      .splice(0)
      .map((c) => c.prefix)
      .sort(),
    ['10.40.0.0/16', '10.41.0.0/16', '2001:db8:40::/48'],
  );
  drain(rib, other);
  rib.takeNotices();
  // 198.18.40.1 and 2001:db8:40::1 are now ours (added to an interface), 198.18.7.7 is gone.
  assert.equal(rib.setOwnAddresses(new Set(['198.18.40.1', '2001:db8:40::1'])), 3);
  rib.flush(0);
  assert.deepEqual(
    changes
      .splice(0)
      .map((c) => [c.prefix, c.newBest])
      .sort(),
    [
      ['10.40.0.0/16', undefined],
      ['2001:db8:40::/48', undefined],
    ],
  );
  assert.deepEqual(summary(drain(rib, other)).withdrawn.sort(), ['10.40.0.0/16', '2001:db8:40::/48']);
  assert.match(rib.lookup('10.40.0.0/16')[0].reason ?? '', /next hop.*RFC 4271 §6\.3/);
  assert.equal(rib.lookup('10.41.0.0/16')[0].best, true, 'a path with another next hop is untouched');
  const notices = rib.takeNotices();
  assert.deepEqual(notices.map((n) => [n.reason, n.prefix]).sort(), [
    ['bad-next-hop', '10.40.0.0/16'],
    ['bad-next-hop', '2001:db8:40::/48'],
  ]);
  assert.match(notices[0].detail, /our own address/);
  assert.equal(rib.peerCounters(src)['bad-next-hop'], 2);
  // A new UPDATE with the new address is refused at once (the verdict cache forgot the old answer).
  rib.ingest(src, upd(attrs({ asPath: seq(65009), nextHop: '198.18.40.1' }), ['10.42.0.0/16']));
  rib.flush(0);
  assert.equal(rib.lookup('10.42.0.0/16')[0].best, false);
  assert.equal(changes.length, 0);
  // The address is removed: the paths are used again, without the peer re-sending them.
  assert.equal(rib.setOwnAddresses(new Set()), 2);
  rib.flush(0);
  assert.deepEqual(
    changes
      .splice(0)
      .map((c) => [c.prefix, c.newBest?.nextHop])
      .sort(),
    [
      ['10.40.0.0/16', '198.18.40.1'],
      ['10.42.0.0/16', '198.18.40.1'],
      ['2001:db8:40::/48', '2001:db8:40::1'],
    ],
  );
  assert.deepEqual(summary(drain(rib, other)).nlri.sort(), ['10.40.0.0/16', '10.42.0.0/16', '2001:db8:40::/48']);
  assert.equal(rib.setOwnAddresses(new Set()), 0, 'no change, no work');
});

test("RFC 4271 §6.3: a next hop that is the peer's own address is used even when our kernel lists it (two speakers in one namespace, the README demo on 127.0.0.1/127.0.0.2)", () => {
  const rib = makeRib({ ownAddresses: new Set(['127.0.0.1', '198.18.7.7']) });
  const src = up(rib, { asn: 64512, address: '127.0.0.1' });
  rib.ingest(src, upd(attrs({ nextHop: '127.0.0.1', localPref: 100 }), ['10.244.0.0/26']));
  rib.ingest(src, upd(attrs({ nextHop: '198.18.7.7', localPref: 100 }), ['10.244.0.64/26']));
  rib.flush(0);
  assert.equal(rib.lookup('10.244.0.0/26')[0].best, true, "the peer's own address as next hop");
  assert.equal(rib.lookup('10.244.0.64/26')[0].best, false, 'another of our addresses is still refused');
  assert.equal(rib.peerCounters(src)['bad-next-hop'], 1);
});
