// Max-prefix (Tern extension spec.maxPrefixes) against real BIRD 2 in network namespaces: BIRD
// announces five routes to a Tern whose limit is three. Tern must close the session with
// Cease / Maximum Number of Prefixes Reached and the RFC 4486 §4 data (AFI 1, SAFI 1, upper
// bound 3), drop BIRD's routes, stay down for the restart interval and then come back.
// Lab: `i15mp-tern` 198.18.115.1, `i15mp-bird` 198.18.115.2.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  pairLab,
  TERND,
  startBird,
  startTernd,
  birdBgpState,
  bgpctl,
  startCapture,
  bgpMessagesFrom,
  conformanceGate,
  waitFor,
  type CalicoModel,
} from './lab/index.js';
import type { NeighborView } from '../src/control/api.js';

const NEEDS = ['root', 'ip', 'bird', 'birdc', 'tcpdump', 'ternd'] as const;
const [TERN, BIRD] = ['198.18.115.1', '198.18.115.2'];

test('RFC 4486 §4: past spec.maxPrefixes Tern sends Cease 6/1 with AFI/SAFI/upper bound, drops the routes, and starts again after restartInterval', {
  timeout: 90_000,
}, async (t) => {
  if (!conformanceGate(t, [...NEEDS], TERND)) return;
  const { lab, hostA: ternHost, hostB: birdHost, ifA: ternIf } = await pairLab(t, 'i15mp', ['tern', 'bird'], { v4: `${TERN}/24`, v4b: `${BIRD}/24` });
  const node = 'i15mp-node';
  const model: CalicoModel = {
    asNumber: 64512,
    nodes: [{ name: node, ipv4Address: `${TERN}/24` }],
    peers: [
      {
        name: 'bird',
        node,
        peerIP: BIRD,
        asNumber: 4200000001,
        keepaliveTime: '1s',
        maxPrefixes: { ipv4: { limit: 3, warningPercent: 50, restartInterval: '3s' } },
      },
    ],
  };
  const cap = await startCapture(lab, ternHost, ternIf);
  await startBird(lab, birdHost, {
    routerId: BIRD,
    static4: [1, 2, 3, 4, 5].map((i) => ({ prefix: `198.19.${i}.0/24` })),
    neighbors: [{ name: 'tern4', localAddr: BIRD, localAs: 4200000001, neighborAddr: TERN, neighborAs: 64512, ipv4: {} }],
  });
  const tern = await startTernd(lab, ternHost, { configYaml: model, node, args: ['--probes', 'off', '--connect-retry', '1'] });
  const trip = (r: { msg: string }) => /over its max-prefix limit 3/.test(r.msg);
  const first = await tern.waitForLog(trip, 20_000, 'the max-prefix trip');
  assert.match(first.msg, /Cease 6\/1, RFC 4486 §4.*starts again in 3s/);
  // While held down: no route from BIRD, and show neighbor says why.
  const n = (await bgpctl(lab, ternHost, 'show', 'neighbor', BIRD)) as NeighborView;
  assert.equal(n.maxPrefixExceeded?.limit, 3);
  assert.equal(n.maxPrefixExceeded?.family, 'ipv4');
  assert.deepEqual(
    n.maxPrefixes.map((m) => [m.family, m.limit, m.received]),
    [['ipv4', 3, 0]],
    'the routes were withdrawn',
  );
  assert.match(n.lastResetReason, /max-prefix: 5 ipv4 routes > limit 3/);
  assert.notEqual(await birdBgpState(lab, birdHost, 'tern4'), 'Established');
  // The restart interval is over: the session comes back (and, BIRD still sending five
  // routes, trips again at once, too briefly for birdc to see it Established).
  const up = (r: { msg: string }) => /session Established/.test(r.msg);
  const ups = () => tern.records.filter(up);
  const upsBefore = ups().filter((r) => Date.parse(r.time) <= Date.parse(first.time)).length;
  await waitFor('the session Established again after the restart interval', 20_000, async () => ups().length > upsBefore);
  const gap = Date.parse(ups()[upsBefore].time) - Date.parse(first.time);
  assert.ok(gap >= 3000, `restarted ${gap} ms after the trip, before the 3 s interval`);
  assert.ok(gap < 10_000, `restarted only ${gap} ms after the trip`);
  await waitFor('the second trip', 20_000, async () => tern.records.filter(trip).length >= 2);
  // On the wire: NOTIFICATION Cease (6) / Maximum Number of Prefixes Reached (1), data
  // AFI 1, SAFI 1, upper bound 3 (RFC 4486 §4, Figure 1).
  const sent = bgpMessagesFrom(await cap.stop(), TERN).filter((m) => m[18] === 3);
  assert.ok(sent.length >= 1, 'Tern sent a NOTIFICATION');
  assert.equal(sent[0].subarray(19).toString('hex'), '0601' + '0001' + '01' + '00000003');
});
