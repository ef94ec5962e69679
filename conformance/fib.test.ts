// ternd with `--fib kernel` inside a namespace: routes learned from BIRD and Tern's own blocks
// reach the namespace's kernel table (protocol 201), and leave it when withdrawn. The check is
// `ip -j route show` in the namespace, i.e. what the kernel really holds.

import test from 'node:test';
import assert from 'node:assert/strict';
import {
  blockDoc,
  Lab,
  pairLab,
  TERND,
  startBird,
  birdReconfigure,
  startTernd,
  routesInNs,
  waitBirdEstablished,
  conformanceGate,
  waitFor,
  startCapture,
  bgpMessagesFrom,
  updateAttributes,
  type BirdConfig,
} from './lab/index.js';

const TERN_PROTO = '201';

test('FIB: learned routes are installed via the peer (RFC 4271 §9.1.3 -> kernel), own blocks as blackholes, withdrawals delete them', async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'ternd'], TERND)) return;
  const {
    lab,
    hostA: tern,
    hostB: bird,
    ifA,
  } = await pairLab(t, 'tcf', ['tern', 'bird'], { v4: '198.18.80.1/24', v4b: '198.18.80.2/24', v6: '2001:db8:80::1/64', v6b: '2001:db8:80::2/64' });
  const birdCfg = (withPod: boolean): BirdConfig => ({
    routerId: '198.18.80.2',
    static4: [{ prefix: '198.19.80.0/24' }, ...(withPod ? [{ prefix: '10.244.81.0/26' }] : [])],
    static6: [{ prefix: '2001:db8:f80::/48' }],
    neighbors: [
      { name: 'tern4', localAddr: '198.18.80.2', localAs: 4200000001, neighborAddr: '198.18.80.1', neighborAs: 64512, ipv4: {} },
      { name: 'tern6', localAddr: '2001:db8:80::2', localAs: 4200000001, neighborAddr: '2001:db8:80::1', neighborAs: 64512, ipv4: false, ipv6: {} },
    ],
  });
  await startBird(lab, bird, birdCfg(true));
  const node = 'tcf-node';
  await startTernd(lab, tern, {
    node,
    fib: 'kernel',
    args: ['--probes', 'off'],
    configYaml: {
      asNumber: 64512,
      nodes: [{ name: node, ipv4Address: '198.18.80.1/24', ipv6Address: '2001:db8:80::1/64' }],
      peers: [
        { name: 'tor4', node, peerIP: '198.18.80.2', asNumber: 4200000001, keepaliveTime: '1s' },
        { name: 'tor6', node, peerIP: '2001:db8:80::2', asNumber: 4200000001, keepaliveTime: '1s' },
      ],
      pools: { 'pods-v4': '10.244.0.0/16' },
      extraDocs: [blockDoc('10.244.80.0/26', node)],
    },
  });
  await waitBirdEstablished(lab, bird, 'tern4');
  await waitBirdEstablished(lab, bird, 'tern6');

  const fib = await waitFor('routes in the tern namespace FIB', 20_000, async () => {
    const r = await routesInNs(lab, tern, { proto: TERN_PROTO });
    const want = ['198.19.80.0/24', '10.244.81.0/26', '2001:db8:f80::/48', '10.244.80.0/26'];
    return want.every((p) => r.some((x) => x.dst === p)) && r;
  });
  const by = (p: string) => fib.find((x) => x.dst === p)!;
  assert.equal(by('198.19.80.0/24').gateway, '198.18.80.2');
  assert.equal(by('198.19.80.0/24').dev, ifA);
  assert.equal(by('10.244.81.0/26').gateway, '198.18.80.2');
  assert.equal(by('2001:db8:f80::/48').gateway, '2001:db8:80::2');
  assert.equal(by('10.244.80.0/26').type, 'blackhole', 'own affine block is a blackhole, as Calico installs it');

  // Withdraw one route at BIRD: Tern must delete exactly that kernel route.
  await birdReconfigure(lab, bird, birdCfg(false));
  await waitFor(
    '10.244.81.0/26 removed from the FIB',
    20_000,
    async () => !(await routesInNs(lab, tern, { proto: TERN_PROTO })).some((x) => x.dst === '10.244.81.0/26'),
  );
  const left = (await routesInNs(lab, tern, { proto: TERN_PROTO })).map((x) => x.dst).sort();
  assert.deepEqual(left, ['10.244.80.0/26', '198.19.80.0/24', '2001:db8:f80::/48']);
});

test('RFC 2545 §3: an IPv6 UPDATE with global + link-local next hop (32 bytes, as BIRD sends on a direct link) is accepted and installed', async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'tcpdump', 'ternd'], TERND)) return;
  const lab = await Lab.create('tcg');
  t.after(() => lab.destroy());
  const [tern, bird] = [await lab.addHost('tcg-tern'), await lab.addHost('tcg-bird')];
  // linkLocal: the veths keep fe80:: addresses, so BIRD adds one as the second next hop.
  const { ifA } = await lab.link(tern, bird, { v6: '2001:db8:82::1/64', v6b: '2001:db8:82::2/64', linkLocal: true });
  await startBird(lab, bird, {
    routerId: '198.18.82.2',
    static6: [{ prefix: '2001:db8:f82::/48' }],
    neighbors: [{ name: 'tern6', localAddr: '2001:db8:82::2', localAs: 4200000001, neighborAddr: '2001:db8:82::1', neighborAs: 64512, ipv4: false, ipv6: {} }],
  });
  const cap = await startCapture(lab, tern, ifA);
  const node = 'tcg-node';
  const ternd = await startTernd(lab, tern, {
    node,
    fib: 'kernel',
    args: ['--probes', 'off'],
    configYaml: {
      asNumber: 64512,
      nodes: [{ name: node, ipv4Address: '198.18.82.1/24', ipv6Address: '2001:db8:82::1/64' }],
      peers: [{ name: 'tor6', node, peerIP: '2001:db8:82::2', asNumber: 4200000001, keepaliveTime: '1s' }],
    },
  });
  await waitBirdEstablished(lab, bird, 'tern6');
  const r = await waitFor('2001:db8:f82::/48 in the FIB', 20_000, async () =>
    (await routesInNs(lab, tern, { proto: TERN_PROTO, family: 'ipv6' })).find((x) => x.dst === '2001:db8:f82::/48'),
  );
  // Either next hop is right; a link-local one needs the interface.
  assert.ok(r.gateway === '2001:db8:82::2' || (r.gateway?.startsWith('fe80:') && r.dev === ifA), `unexpected next hop ${JSON.stringify(r)}`);
  assert.equal(ternd.logs((x) => /NOTIFICATION/.test(x.msg)).length, 0, 'the session was reset');
  // The premise: BIRD really sent a 32-byte next hop (MP_REACH_NLRI: AFI, SAFI, length, ...).
  const fromBird = bgpMessagesFrom(await cap.stop(), '2001:db8:82::2').filter((m) => m[18] === 2 && m.length > 23);
  const nhLens = fromBird.flatMap((m) =>
    updateAttributes(m)
      .attrs.filter((a) => a.type === 14)
      .map((a) => a.value[3]),
  );
  assert.ok(nhLens.includes(32), `BIRD sent next hop lengths ${JSON.stringify(nhLens)}, not 32`);
});
