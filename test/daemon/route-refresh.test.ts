// Inbound ROUTE-REFRESH by subtype (src/daemon/route-refresh.ts) on a real RIB, no sockets:
// only subtype 0 is a request (RFC 2918 §4); BoRR/EoRR mark stale and purge (RFC 7313 §4.2),
// never answered with a refresh (issue 15's loop); unknown subtypes are ignored (RFC 7313 §5).
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { onRouteRefresh, EORR_WAIT_MS, type RefreshContext } from '../../src/daemon/route-refresh.js';
import { PeerProblems } from '../../src/daemon/peer-problems.js';
import { attrs, ctx, decodeOut, makeRib, up, upd } from '../rib/helpers.js';
import { MsgType, type RouteRefreshMessage } from '../../bgp/codec/types.js';
import { decodeMessage } from '../../bgp/codec/message.js';
import type { Logger } from '../../bgp/io/log.js';

const rr = (subtype: number): RouteRefreshMessage => ({ type: MsgType.ROUTE_REFRESH, afi: 1, safi: 1, subtype });

function setup() {
  const lines: string[] = [];
  const log: Logger = { debug: () => {}, info: () => {}, warn: (_o, m) => lines.push(m), error: (_o, m) => lines.push(m) };
  const rib = makeRib();
  const src = up(rib, { asn: 65009 });
  rib.addPeer({ id: 'enh', address: '198.18.0.201', asn: 65002, localAddress: '198.18.255.1' });
  rib.peerUp('enh', ctx(), { routerId: '198.18.0.201', families: ['ipv4'], enhancedRouteRefresh: true });
  rib.ingest(src, upd(attrs({ asPath: [{ type: 2, asns: [65009] }] }), ['10.1.0.0/16', '10.2.0.0/16']));
  rib.flush(0);
  for (const p of [src, 'enh']) rib.takeOutput(p);
  let pumped = 0;
  const c: RefreshContext = { rib, log, problems: new PeerProblems(log), pump: () => pumped++, scheduleFlush: () => rib.flush(0), eorrWaits: new Map() };
  return { rib, src, c, lines, pumped: () => pumped };
}

test('RFC 2918 §4 / RFC 7313 §4: subtype 0 re-sends the Adj-RIB-Out once, framed by BoRR/EoRR; the markers themselves are never requests', () => {
  const { rib, c, pumped } = setup();
  onRouteRefresh(c, 'enh', true, rr(0));
  assert.equal(pumped(), 1);
  const out = rib.takeOutput('enh');
  const types = out.map((b) => {
    const m = decodeMessage(b, ctx());
    return m.type === MsgType.ROUTE_REFRESH ? `RR${m.subtype}` : 'U';
  });
  assert.deepEqual(types, ['RR1', 'U', 'RR2']);
  // The peer's own BoRR/EoRR (its answer to our request) make us send nothing.
  onRouteRefresh(c, 'enh', true, rr(1));
  onRouteRefresh(c, 'enh', true, rr(2));
  assert.deepEqual(rib.takeOutput('enh'), []);
  assert.equal(pumped(), 1);
});

test('RFC 7313 §4.2: routes not re-advertised between BoRR and EoRR are purged; re-advertised ones stay, not stale', () => {
  const { rib, src, c } = setup();
  onRouteRefresh(c, src, true, rr(1));
  assert.equal(rib.lookup('10.1.0.0/16')[0].stale, true);
  rib.ingest(src, upd(attrs({ asPath: [{ type: 2, asns: [65009] }] }), ['10.1.0.0/16']));
  onRouteRefresh(c, src, true, rr(2));
  assert.equal(rib.lookup('10.1.0.0/16')[0].stale, false);
  assert.deepEqual(rib.lookup('10.2.0.0/16'), [], 'not re-advertised: purged at EoRR');
  assert.deepEqual(
    decodeOut(rib.takeOutput('enh')).flatMap((s) => s.withdrawn),
    ['10.2.0.0/16'],
  );
});

test("RFC 7313 §4.2: BoRR without EoRR: the stale routes are purged after Tern's bound on the wait, with one warning", () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { rib, src, c, lines } = setup();
    onRouteRefresh(c, src, true, rr(1));
    mock.timers.tick(EORR_WAIT_MS - 1);
    assert.equal(rib.lookup('10.1.0.0/16').length, 1, 'still there before the bound');
    mock.timers.tick(1);
    assert.deepEqual([rib.lookup('10.1.0.0/16'), rib.lookup('10.2.0.0/16')], [[], []]);
    assert.equal(lines.filter((l) => /no EoRR 300s after BoRR: 2 routes/.test(l)).length, 1);
  } finally {
    mock.timers.reset();
  }
});

test('RFC 7313 §4 / §5: markers without the capability and unknown subtypes are ignored', () => {
  const { rib, src, c, lines } = setup();
  onRouteRefresh(c, src, false, rr(1));
  assert.equal(rib.lookup('10.1.0.0/16')[0].stale, false, 'BoRR without enhanced route refresh marks nothing');
  onRouteRefresh(c, src, true, rr(7));
  assert.deepEqual(rib.takeOutput(src), []);
  assert.equal(lines.length, 2);
  assert.match(lines[0], /without enhanced route refresh, ignored \(RFC 7313 §4\)/);
  assert.match(lines[1], /unknown subtype ignored \(RFC 7313 §5\)/);
});
