// Tern's BGP sessions against real BIRD 2 and FRR, in network namespaces. Each test builds its own
// two-host lab (`tcsN-tern`, `tcsN-bird|frr`); Tern is 198.18.N.1 (the lower BGP Identifier, so
// a collision keeps the peer's connection, RFC 4271 §6.8) and the peer 198.18.N.2.
// One file on purpose (~500 lines): every test runs on the one scenario set-up below (setup(): a
// two-host lab, Tern and BIRD or FRR), in one describe that runs three at a time.

import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  blockDoc,
  Lab,
  TERND,
  startBird,
  startFrr,
  startTernd,
  birdc,
  birdProtocol,
  birdBgpState,
  birdRoutes,
  frrRoutes,
  bgpctl,
  waitBirdEstablished,
  waitFrrEstablished,
  frrNeighbor,
  frrConfigure,
  tcpConnections,
  netnsCounters,
  startCapture,
  bgpMessagesFrom,
  conformanceGate,
  waitFor,
  sleep,
  type CalicoModel,
  type Ternd,
  type TernLogRecord,
} from './lab/index.js';
import { birdTorNeighbor, frrTorNeighbor, ternTorPeer, torGracefulRestart, type TorPeering } from './lab/tor.js';
import type { NeighborView } from '../src/control/api.js';

const TERN_AS = 64512;
const PEER_AS = { bird: 4200000001, frr: 4200000002 } as const;
const NEEDS = ['root', 'ip', 'bird', 'birdc', 'bgpd', 'vtysh', 'ternd'] as const;

interface Scenario {
  id: string;
  net: number;
  peer: 'bird' | 'frr';
  ibgp?: boolean;
  /** The peer only accepts: Tern must connect. */
  peerPassive?: boolean;
  /** Also an IPv6 peering over IPv6 transport. */
  v6?: boolean;
  peerPassword?: string;
  ternPassword?: string;
  /** The peer AS written in Tern's config (default: the right one). */
  ternPeerAs?: number;
  /** Give Tern's node an IPv4 (and with v6, an IPv6) IPAM block to advertise. */
  blocks?: boolean;
  /** RFC 5082 GTSM: on the peer, and (ternTtlSecurity) in Tern's BGPPeer. */
  peerTtlSecurity?: boolean;
  ternTtlSecurity?: number;
}

const established = (r: TernLogRecord): boolean => /session Established/i.test(r.msg);
const json = (r: TernLogRecord): string => JSON.stringify(r);

async function setup(t: TestContext, s: Scenario) {
  const lab = await Lab.create(s.id);
  t.after(() => lab.destroy());
  const peerHost = await lab.addHost(`${s.id}-${s.peer}`);
  const ternHost = await lab.addHost(`${s.id}-tern`);
  const [tern4, peer4, tern6, peer6] = [`198.18.${s.net}.1`, `198.18.${s.net}.2`, `2001:db8:${s.net}::1`, `2001:db8:${s.net}::2`];
  const { ifA: ternIf } = await lab.link(ternHost, peerHost, { v4: `${tern4}/24`, v4b: `${peer4}/24`, v6: `${tern6}/64`, v6b: `${peer6}/64` });
  const peerAs = s.ibgp ? TERN_AS : PEER_AS[s.peer];
  const node = `${s.id}-node`;
  // Both sides of the IPv4 peering from one description (lab/tor.ts; docs/peering.md shows the same).
  const tor = (password: string | undefined, gtsm?: boolean): TorPeering => ({
    node,
    nodeAddr: tern4,
    nodeAs: TERN_AS,
    name: 'peer4',
    torAddr: peer4,
    torAs: peerAs,
    password: password || undefined,
    gtsm,
    torPassive: s.peerPassive,
  });
  const model: CalicoModel = {
    asNumber: TERN_AS,
    nodes: [{ name: node, ipv4Address: `${tern4}/24`, ipv6Address: `${tern6}/64` }],
    peers: [
      { ...ternTorPeer(tor(s.ternPassword)), asNumber: s.ternPeerAs ?? peerAs, keepaliveTime: '1s' },
      ...(s.v6 ? [{ name: 'peer6', node, peerIP: peer6, asNumber: peerAs, keepaliveTime: '1s' }] : []),
    ],
    pools: s.blocks ? { 'pods-v4': '10.244.0.0/16', ...(s.v6 ? { 'pods-v6': '2001:db8:244::/48' } : {}) } : undefined,
    extraDocs: s.blocks
      ? [
          blockDoc(`10.244.${s.net}.0/26`, node),
          ...(s.v6
            ? [
                {
                  apiVersion: 'crd.projectcalico.org/v1',
                  kind: 'IPAMBlock',
                  metadata: { name: `2001-db8-244-${s.net}--122` },
                  spec: { cidr: `2001:db8:244:${s.net}::/122`, affinity: `host:${node}` },
                },
              ]
            : []),
        ]
      : undefined,
  };
  if (s.ternTtlSecurity !== undefined) model.peers![0].ttlSecurity = s.ternTtlSecurity;
  const startPeer = async (): Promise<void> => {
    if (s.peer === 'bird') {
      await startBird(lab, peerHost, {
        routerId: peer4,
        static4: [{ prefix: `198.19.${s.net}.0/24` }],
        static6: [{ prefix: `2001:db8:f${s.net}::/48` }],
        neighbors: [
          birdTorNeighbor(tor(s.peerPassword, s.peerTtlSecurity)),
          ...(s.v6
            ? [
                {
                  name: 'tern6',
                  localAddr: peer6,
                  localAs: peerAs,
                  neighborAddr: tern6,
                  neighborAs: TERN_AS,
                  passive: s.peerPassive,
                  gracefulRestart: true,
                  ipv4: false,
                  ipv6: {},
                },
              ]
            : []),
        ],
      });
    } else {
      await startFrr(lab, peerHost, {
        asn: peerAs,
        routerId: peer4,
        gracefulRestart: torGracefulRestart(tor(s.peerPassword)),
        networks4: [`198.19.${s.net}.0/24`],
        networks6: s.v6 ? [`2001:db8:f${s.net}::/48`] : [],
        neighbors: [
          frrTorNeighbor(tor(s.peerPassword, s.peerTtlSecurity)),
          ...(s.v6 ? [{ addr: tern6, remoteAs: TERN_AS, passive: s.peerPassive, ipv4: false, ipv6: true }] : []),
        ],
      });
    }
  };
  const startTern = (args: string[] = []): Promise<Ternd> => startTernd(lab, ternHost, { configYaml: model, node, args: ['--probes', 'off', ...args] });
  const peerEstablished = (timeoutMs = 15_000): Promise<void> =>
    s.peer === 'bird' ? waitBirdEstablished(lab, peerHost, 'tern4', timeoutMs) : waitFrrEstablished(lab, peerHost, tern4, timeoutMs);
  const peerState = async (): Promise<string> =>
    s.peer === 'bird' ? birdBgpState(lab, peerHost, 'tern4') : ((await frrNeighbor(lab, peerHost, tern4)).bgpState ?? 'unknown');
  return { lab, peerHost, ternHost, ternIf, tern4, peer4, tern6, peer6, peerAs, model, node, startPeer, startTern, peerEstablished, peerState };
}

/** Who opened the session's TCP connection, seen from the peer's namespace. */
async function connector(lab: Lab, peerHost: string, tern4: string): Promise<'tern' | 'peer'> {
  const c = (await tcpConnections(lab, peerHost)).find((x) => x.remote === tern4);
  assert.ok(c, `no established TCP connection to ${tern4} in ${peerHost}`);
  return c.localPort === 179 ? 'tern' : 'peer';
}

async function checkEstablishes(t: TestContext, s: Scenario, who: 'tern' | 'peer'): Promise<void> {
  const x = await setup(t, s);
  let tern: Ternd;
  if (who === 'tern') {
    // The peer is passive and already listening: only Tern can open the connection.
    await x.startPeer();
    tern = await x.startTern();
  } else {
    // Tern starts first and finds nobody: its next attempt is a ConnectRetry (60 s here) away,
    // so the peer's connection is the one that establishes.
    tern = await x.startTern(['--connect-retry', '60']);
    await sleep(1000);
    await x.startPeer();
  }
  await x.peerEstablished();
  await tern.waitForLog(established, 15_000, 'session Established');
  assert.equal(await connector(x.lab, x.peerHost, x.tern4), who);
}

describe('Tern sessions against BIRD and FRR (RFC 4271 §8)', { concurrency: 3 }, () => {
  for (const peer of ['bird', 'frr'] as const) {
    for (const ibgp of [false, true]) {
      const kind = ibgp ? 'iBGP' : 'eBGP';
      const base = (peer === 'bird' ? 30 : 40) + (ibgp ? 2 : 0);
      test(`${kind} with ${peer}: Established when Tern connects (peer passive)`, async (t) => {
        if (!conformanceGate(t, [...NEEDS], TERND)) return;
        await checkEstablishes(t, { id: `tcs${base}`, net: base, peer, ibgp, peerPassive: true }, 'tern');
      });
      test(`${kind} with ${peer}: Established when the peer connects`, async (t) => {
        if (!conformanceGate(t, [...NEEDS], TERND)) return;
        await checkEstablishes(t, { id: `tcs${base + 1}`, net: base + 1, peer, ibgp }, 'peer');
      });
    }
  }

  test('capabilities as BIRD sees them: 4-octet AS (RFC 6793), MP IPv4 and IPv6 (RFC 4760), route refresh (RFC 2918), GR (RFC 4724)', async (t) => {
    if (!conformanceGate(t, [...NEEDS], TERND)) return;
    const x = await setup(t, { id: 'tcs50', net: 50, peer: 'bird', v6: true });
    await x.startPeer();
    await x.startTern();
    await waitBirdEstablished(x.lab, x.peerHost, 'tern4');
    await waitBirdEstablished(x.lab, x.peerHost, 'tern6');
    for (const [proto, fam] of [
      ['tern4', 'ipv4'],
      ['tern6', 'ipv6'],
    ] as const) {
      const p = await birdProtocol(x.lab, x.peerHost, proto);
      for (const cap of ['Multiprotocol', 'Route refresh', 'Graceful restart', '4-octet AS numbers'])
        assert.ok(p.neighborCaps.includes(cap), `${proto}: BIRD did not receive "${cap}": ${p.neighborCaps.join(', ')}`);
      assert.match(p.neighborCapDetails['Multiprotocol'].join(' '), new RegExp(`AF announced:.*\\b${fam}\\b`));
      assert.match(p.session ?? '', /external.*AS4/);
    }
  });

  test('capabilities as FRR sees them: 4-octet AS, MP IPv4, route refresh, GR', async (t) => {
    if (!conformanceGate(t, [...NEEDS], TERND)) return;
    const x = await setup(t, { id: 'tcs51', net: 51, peer: 'frr' });
    await x.startPeer();
    await x.startTern();
    await waitFrrEstablished(x.lab, x.peerHost, x.tern4);
    const caps = (await frrNeighbor(x.lab, x.peerHost, x.tern4)).neighborCapabilities as Record<string, unknown>;
    assert.equal(caps['4byteAs'], 'advertisedAndReceived');
    assert.match(String(caps.routeRefresh), /advertisedAndReceived/);
    assert.equal(caps.gracefulRestart, 'advertisedAndReceived');
    const mp = caps.multiprotocolExtensions as Record<string, { advertisedAndReceived?: boolean }>;
    assert.equal(mp.ipv4Unicast?.advertisedAndReceived, true);
  });

  test("RFC 4271 §6.5: a frozen peer (SIGSTOP) hits Tern's hold timer, NOTIFICATION 4 is sent, the session returns after SIGCONT", async (t) => {
    if (!conformanceGate(t, [...NEEDS, 'tcpdump'], TERND)) return;
    const x = await setup(t, { id: 'tcs52', net: 52, peer: 'bird' });
    const cap = await startCapture(x.lab, x.ternHost, x.ternIf);
    await x.startPeer();
    const tern = await x.startTern();
    await waitBirdEstablished(x.lab, x.peerHost, 'tern4');
    await tern.waitForLog(established);
    // Let start-up settle (a collision or an RFC 4724 §4.2 reconnect may replace the first
    // session), then only what happens after the freeze counts.
    await sleep(1500);
    await waitBirdEstablished(x.lab, x.peerHost, 'tern4');
    const mark = tern.records.length;
    const ups = tern.logs(established).length;
    const bird = x.lab.instances.get(`bird:${x.peerHost}`) as { pid: number };
    process.kill(bird.pid, 'SIGSTOP');
    try {
      const down = await tern.waitForLog((r) => /session left Established/i.test(r.msg), 10_000, 'session down', mark);
      assert.match(json(down), /hold/i, `down reason: ${json(down)}`);
    } finally {
      process.kill(bird.pid, 'SIGCONT');
    }
    await waitFor('Established again in Tern', 30_000, () => tern.logs(established).length > ups);
    await waitBirdEstablished(x.lab, x.peerHost, 'tern4', 15_000);
    const sent = bgpMessagesFrom(await cap.stop(), x.tern4);
    assert.ok(
      sent.some((m) => m[18] === 3 && m[19] === 4),
      'no NOTIFICATION with error code 4 (Hold Timer Expired) on the wire from Tern',
    );
  });

  for (const [peer, net] of [
    ['bird', 53],
    ['frr', 63],
  ] as const) {
    // FRR negotiates the RFC 8538 N bit with Tern and so wraps its Cease in a Hard Reset (6/9)
    // whose data is the original code, subcode and data (RFC 8538 §3): on the wire
    // `03 06 09 | 06 02 0b "maintenance"`. Tern unwraps it.
    test(`RFC 9003: a Cease from ${peer} with a shutdown communication ("maintenance") is logged by Tern with its text`, async (t) => {
      if (!conformanceGate(t, [...NEEDS], TERND)) return;
      const x = await setup(t, { id: `tcs${net}`, net, peer });
      await x.startPeer();
      const tern = await x.startTern();
      await x.peerEstablished();
      await tern.waitForLog(established);
      const mark = tern.records.length;
      if (peer === 'bird') await birdc(x.lab, x.peerHost, 'disable tern4 "maintenance"');
      else await frrConfigure(x.lab, x.peerHost, `router bgp ${x.peerAs}`, `neighbor ${x.tern4} shutdown message maintenance`);
      const r = await tern.waitForLog(
        (rec) => /NOTIFICATION/i.test(rec.msg) && json(rec).includes('maintenance'),
        10_000,
        'NOTIFICATION with "maintenance"',
        mark,
      );
      assert.equal(r.code, 6);
      assert.ok(r.subcode === 2 || r.subcode === 9, `Cease subcode ${String(r.subcode)}`);
    });
  }

  for (const [peer, net] of [
    ['bird', 54],
    ['frr', 64],
  ] as const) {
    test(`RFC 4271 §6.2 with ${peer}: a wrong peer AS in Tern's config gets OPEN error 2/2 (Bad Peer AS) and a log line naming both ASes`, async (t) => {
      if (!conformanceGate(t, [...NEEDS], TERND)) return;
      const x = await setup(t, { id: `tcs${net}`, net, peer, ternPeerAs: 4200000099 });
      const cap = await startCapture(x.lab, x.ternHost, x.ternIf);
      await x.startPeer();
      const tern = await x.startTern();
      const real = String(x.peerAs);
      await tern.waitForLog((r) => r.level >= 30 && json(r).includes(real) && json(r).includes('4200000099'), 15_000, 'a log line with both ASes');
      // BIRD reports what it received; FRR files errors on its incoming-connection shadow peer
      // out of sight of `show bgp neighbors`, so the wire is the common witness.
      if (peer === 'bird')
        await waitFor('BIRD receives Bad Peer AS', 15_000, async () => /Bad peer AS/i.test((await birdProtocol(x.lab, x.peerHost, 'tern4')).lastError ?? ''));
      const sent = bgpMessagesFrom(await cap.stop(), x.tern4);
      assert.ok(
        sent.some((m) => m[18] === 3 && m[19] === 2 && m[20] === 2),
        'no NOTIFICATION 2/2 from Tern on the wire',
      );
      assert.equal(tern.logs(established).length, 0);
    });
  }

  test("routes both ways with BIRD: Tern's IPAM blocks (IPv4, IPv6) arrive with AS_PATH [64512] and Tern's next hop; BIRD's routes reach Tern's RIB (RFC 4271 §5, RFC 4760)", async (t) => {
    if (!conformanceGate(t, [...NEEDS], TERND)) return;
    const x = await setup(t, { id: 'tcs56', net: 56, peer: 'bird', v6: true, blocks: true });
    await x.startPeer();
    await x.startTern();
    const got = await waitFor('BIRD has both Tern blocks', 20_000, async () => {
      const r = [...(await birdRoutes(x.lab, x.peerHost, { proto: 'tern4' })), ...(await birdRoutes(x.lab, x.peerHost, { proto: 'tern6' }))];
      const v4 = r.find((p) => p.prefix === '10.244.56.0/26');
      const v6 = r.find((p) => p.prefix === '2001:db8:244:56::/122');
      return v4 && v6 ? { v4, v6 } : undefined;
    });
    assert.deepEqual(got.v4.asPath, [TERN_AS]);
    assert.equal(got.v4.attrs.next_hop, x.tern4);
    assert.deepEqual(got.v6.asPath, [TERN_AS]);
    assert.equal((got.v6.attrs.next_hop ?? '').split(' ')[0], x.tern6);
    await waitFor("Tern RIB has BIRD's routes", 20_000, async () => {
      const rib = JSON.stringify(await bgpctl(x.lab, x.ternHost, 'show', 'rib'));
      return rib.includes('198.19.56.0/24') && rib.includes('2001:db8:f56::/48');
    });
  });

  test("routes with FRR (RFC 4271 §5.1.2-3): Tern's IPAM block arrives with AS_PATH [64512] and next hop = the node address", async (t) => {
    if (!conformanceGate(t, [...NEEDS], TERND)) return;
    const x = await setup(t, { id: 'tcs57', net: 57, peer: 'frr', blocks: true });
    await x.startPeer();
    await x.startTern();
    const r = await waitFor('FRR has the Tern block', 20_000, async () =>
      (await frrRoutes(x.lab, x.peerHost, 'ipv4')).find((p) => p.prefix === '10.244.57.0/26'),
    );
    assert.deepEqual(r.asPath, [TERN_AS]);
    assert.deepEqual(r.nexthops, [x.tern4]);
  });

  test('RFC 5082 GTSM: with ttlSecurity 1 Tern connects to a BIRD that demands TTL 255; without it, never', async (t) => {
    if (!conformanceGate(t, [...NEEDS], TERND)) return;
    // BIRD is passive, so Tern's outbound socket is what is tested: Tern's listener sends with
    // TTL 255 to every peer (see bgp/io/transport.ts), which would satisfy BIRD either way.
    const bad = await setup(t, { id: 'tcs58', net: 58, peer: 'bird', peerPassive: true, peerTtlSecurity: true });
    const good = await setup(t, { id: 'tcs59', net: 59, peer: 'bird', peerPassive: true, peerTtlSecurity: true, ternTtlSecurity: 1 });
    await bad.startPeer();
    await good.startPeer();
    // The negative half must not pass on silence (issue 15): BIRD's IP_MINTTL drops are counted
    // by the kernel of its namespace (TCPMinTTLDrop), so Tern's SYNs are shown to have arrived
    // and to have been dropped for their TTL, not lost or never sent.
    const drops = async (): Promise<number> => (await netnsCounters(bad.peerHost, ['TcpExtTCPMinTTLDrop'])).TcpExtTCPMinTTLDrop;
    const before = await drops();
    await bad.startTern(['--connect-retry', '1']);
    await good.startTern();
    await good.peerEstablished();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      assert.notEqual(await bad.peerState(), 'Established', 'BIRD accepted TTL < 255 with ttl security on');
      await sleep(300);
    }
    // Tern's own log is not asserted: BIRD sets IP_MINTTL on the accepted socket, after the
    // kernel has completed the handshake, so on a slow machine Tern's first OPEN can land before
    // BIRD applies it; BIRD then answers OPEN + KEEPALIVE and Tern's side reaches Established
    // while every later segment of Tern's is dropped and BIRD stays short of Established (seen
    // in CI, stop 11: two Established lines in Tern's log, BIRD never Established). What
    // RFC 5082 §3 promises is the receiver's side: BIRD never takes the session, and the kernel says why.
    const dropped = (await drops()) - before;
    assert.ok(dropped >= 2, `BIRD's kernel dropped ${dropped} segments for TTL < 255: Tern's connection attempts never arrived`);
  });

  for (const [peer, net] of [
    ['bird', 60],
    ['frr', 61],
  ] as const) {
    test(`RFC 4724 §4.2 with ${peer}: while ternd restarts (SIGTERM), the peer keeps Tern's routes as stale; the new session takes over`, async (t) => {
      if (!conformanceGate(t, [...NEEDS], TERND)) return;
      const x = await setup(t, { id: `tcs${net}`, net, peer, blocks: true });
      const block = `10.244.${net}.0/26`;
      const hasBlock = async (): Promise<boolean> =>
        peer === 'bird'
          ? (await birdRoutes(x.lab, x.peerHost, { proto: 'tern4' })).some((r) => r.prefix === block)
          : (await frrRoutes(x.lab, x.peerHost, 'ipv4')).some((r) => r.prefix === block && r.peerId === x.tern4);
      await x.startPeer();
      let tern = await x.startTern();
      await x.peerEstablished();
      await waitFor('the peer has the Tern block', 20_000, hasBlock);
      // RFC 4724 §4.2 needs ternd to stop by itself (sessions closed without a NOTIFICATION):
      // a hang would be hidden by a SIGKILL, which looks the same to the peer.
      const exit = await x.lab.terminate(tern.pid, 10_000);
      assert.deepEqual(exit, { code: 0, signal: null }, 'ternd exits cleanly on SIGTERM');
      await waitFor('the peer notices the restart', 10_000, async () => (await x.peerState()) !== 'Established');
      // Without graceful restart the peer would flush the route at once (RFC 4271 §8.2.2).
      for (let i = 0; i < 6; i++) {
        assert.ok(await hasBlock(), `${peer} dropped ${block} while ternd restarted`);
        await sleep(250);
      }
      tern = await x.startTern();
      await x.peerEstablished();
      await tern.waitForLog(established);
      assert.ok(await hasBlock(), `${block} missing after the restart`);
    });
  }

  test("RFC 2918: BIRD's ROUTE-REFRESH (`reload in`) makes Tern send its routes again", async (t) => {
    if (!conformanceGate(t, [...NEEDS], TERND)) return;
    const x = await setup(t, { id: 'tcs62', net: 62, peer: 'bird', blocks: true });
    await x.startPeer();
    await x.startTern();
    await waitFor('BIRD has the Tern block', 20_000, async () =>
      (await birdRoutes(x.lab, x.peerHost, { proto: 'tern4' })).some((r) => r.prefix === '10.244.62.0/26'),
    );
    const received = async (): Promise<number> => Number(/Import updates:\s+(\d+)/.exec((await birdProtocol(x.lab, x.peerHost, 'tern4')).raw)?.[1] ?? NaN);
    const before = await received();
    assert.ok(before >= 1, `BIRD counted ${before} received updates`);
    await birdc(x.lab, x.peerHost, 'reload in tern4');
    await waitFor('BIRD receives the routes again', 10_000, async () => (await received()) > before);
    assert.equal(await x.peerState(), 'Established');
  });

  test('RFC 7313 §4: `bgpctl neighbor refresh` to BIRD: BIRD answers BoRR, its routes, EoRR, and Tern sends nothing back (issue 15)', async (t) => {
    if (!conformanceGate(t, [...NEEDS], TERND)) return;
    const x = await setup(t, { id: 'i15rr', net: 116, peer: 'bird', blocks: true });
    await x.startPeer();
    await x.startTern();
    await waitFor("Tern has BIRD's route", 20_000, async () =>
      ((await bgpctl(x.lab, x.ternHost, 'show', 'rib')) as { prefix: string }[]).some((r) => r.prefix === '198.19.116.0/24'),
    );
    const neighbor = async () => (await bgpctl(x.lab, x.ternHost, 'show', 'neighbor', x.peer4)) as NeighborView;
    const birdReceived = async (): Promise<number> => Number(/Import updates:\s+(\d+)/.exec((await birdProtocol(x.lab, x.peerHost, 'tern4')).raw)?.[1] ?? NaN);
    // Let start-up settle (a collision or an RFC 4724 §4.2 reconnect may replace the first
    // session), then take the counters of the session that stays.
    await sleep(1500);
    await x.peerEstablished();
    const n0 = await waitFor('the session Established with enhanced route refresh', 10_000, async () => {
      const n = await neighbor();
      return n.state === 'Established' && n.capabilities.negotiated.some((c) => c.name === 'enhanced-route-refresh') && n;
    });
    const b0 = await birdReceived();
    await bgpctl(x.lab, x.ternHost, 'neighbor', x.peer4, 'refresh');
    await waitFor('BoRR and EoRR from BIRD', 10_000, async () => (await neighbor()).messages.received.routeRefresh >= n0.messages.received.routeRefresh + 2);
    await sleep(1500); // a loop would show here (issue 15: tens of thousands of messages a second)
    const n1 = await neighbor();
    assert.equal(n1.messages.received.routeRefresh - n0.messages.received.routeRefresh, 2, 'one BoRR and one EoRR');
    assert.equal(n1.messages.sent.routeRefresh - n0.messages.sent.routeRefresh, 1, 'Tern sent its one request, no answer to the markers');
    assert.ok(n1.messages.received.update > n0.messages.received.update, 'BIRD re-sent its routes');
    assert.equal(n1.messages.sent.update, n0.messages.sent.update, 'Tern did not re-send its table');
    assert.equal(await birdReceived(), b0, 'BIRD received no UPDATE from Tern');
    assert.equal(await x.peerState(), 'Established');
    // RFC 7313 §4.2: the route re-sent between BoRR and EoRR is not stale afterwards.
    const r = ((await bgpctl(x.lab, x.ternHost, 'show', 'rib')) as { prefix: string; flags: { stale: boolean } }[]).find((y) => y.prefix === '198.19.116.0/24');
    assert.equal(r?.flags.stale, false);
  });

  test('RFC 2385 TCP MD5: the wrong password never establishes, the right one does', async (t) => {
    if (!conformanceGate(t, [...NEEDS], TERND)) return;
    const x = await setup(t, { id: 'tcs55', net: 55, peer: 'bird', peerPassword: 'lab-secret', ternPassword: 'wrong-secret' });
    await x.startPeer();
    // Not on silence (issue 15): segments signed with the wrong key are counted by the receiving
    // kernel (TCPMD5Failure), in BIRD's namespace for Tern's SYNs and in Tern's for BIRD's.
    const names = ['TcpExtTCPMD5Failure', 'TcpExtTCPMD5NotFound', 'TcpExtTCPMD5Unexpected'];
    const count = async (): Promise<Record<string, number>> => {
      const [p, q] = [await netnsCounters(x.peerHost, names), await netnsCounters(x.ternHost, names)];
      return Object.fromEntries(names.map((n) => [n, p[n] + q[n]]));
    };
    const before = await count();
    let tern = await x.startTern(['--connect-retry', '1']);
    const deadline = Date.now() + 6000;
    while (Date.now() < deadline) {
      assert.notEqual(await x.peerState(), 'Established', 'established with mismatched MD5 passwords');
      await sleep(300);
    }
    assert.equal(tern.logs(established).length, 0);
    const after = await count();
    const failures = after.TcpExtTCPMD5Failure - before.TcpExtTCPMD5Failure;
    assert.ok(failures >= 2, `only ${failures} MD5 signature failures counted: the connections never arrived`);
    // Both sides signed: none arrived unsigned, none was signed where no key was set.
    assert.equal(after.TcpExtTCPMD5NotFound - before.TcpExtTCPMD5NotFound, 0, 'a segment arrived without a signature');
    assert.equal(after.TcpExtTCPMD5Unexpected - before.TcpExtTCPMD5Unexpected, 0, 'a signed segment arrived where no key was set');
    await x.lab.stop(tern.pid);
    x.model.peers![0].password = 'lab-secret';
    tern = await x.startTern();
    await x.peerEstablished(20_000);
    await tern.waitForLog(established);
  });
});
