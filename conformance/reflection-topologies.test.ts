// RFC 4456 route reflection in the topologies of issue 4 (and two more), every route read back from the
// daemon that receives it (BIRD `show route all`, FRR json, Tern's `bgpctl show rib -j` and its
// namespace kernel table), so the attributes are checked as another implementation decodes them:
//   1. Tern reflects for three clients: BIRD, FRR and another Tern (a Calico node).
//   2. Tern is a client of a BIRD reflector, beside an FRR client.
//   3. Two Tern reflectors with one cluster ID (Calico's redundant pair), a BIRD and a Tern client.
//   4. IPv6 (MP-BGP, RFC 4760) reflected by Tern between a BIRD and a Tern client.
// 1 and 2 include the RFC 4456 §8 loop rules on real wire input (BIRD filters set CLUSTER_LIST
// and ORIGINATOR_ID on routes it sends), 3 the same-cluster rule between two Terns; all check
// withdrawals from each origin.
// One file on purpose (~520 lines): the four topologies share the read-back helpers below (rib,
// learned, block, rewriteModel) and one address plan, each topology on its own 198.18.7x.0/24.

import * as fs from 'node:fs';
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  Lab,
  TERND,
  startBird,
  birdReconfigure,
  startFrr,
  frrConfigure,
  startTernd,
  bgpctl,
  birdRoutes,
  frrRoutes,
  frrRouteDetail,
  routesInNs,
  waitBirdEstablished,
  waitFrrEstablished,
  conformanceGate,
  waitFor,
  calicoYaml,
  type BirdConfig,
  type CalicoModel,
  type Ternd,
  type Prereq,
} from './lab/index.js';

const AS = 64512;
const NEED: Prereq[] = ['root', 'ip', 'bird', 'birdc', 'bgpd', 'vtysh', 'ternd'];
const TERN_PROTO = '201';

interface RibRow {
  prefix: string;
  peer?: string;
  nextHop?: string;
  originatorId?: string;
  clusterList?: string[];
  flags: { best: boolean; filtered: boolean };
  reason?: { step: number; text: string };
}

const rib = async (lab: Lab, host: string, ...args: string[]): Promise<RibRow[]> => (await bgpctl(lab, host, 'show', 'rib', ...args)) as RibRow[];
/** Paths of `prefix` at a Tern that were learned from a peer (not its own origination). */
const learned = async (lab: Lab, host: string, prefix: string): Promise<RibRow[]> =>
  (await rib(lab, host)).filter((r) => r.prefix === prefix && r.peer !== 'local');
const block = (name: string, cidr: string, node: string): Record<string, unknown> => ({
  apiVersion: 'crd.projectcalico.org/v1',
  kind: 'IPAMBlock',
  metadata: { name },
  spec: { cidr, affinity: `host:${node}` },
});
/** Rewrite a ternd's model the way a datastore sync would (write, then rename); ternd watches it. */
function rewriteModel(t: Ternd, m: CalicoModel): void {
  fs.writeFileSync(`${t.configFile}.tmp`, calicoYaml(m));
  fs.renameSync(`${t.configFile}.tmp`, t.configFile);
}

// ---- 1. Tern RR, clients BIRD, FRR and Tern ----------------------------------------------

const CID = '224.0.0.4';
const [RR, BIRD_A, FRR_B, TERN_C] = ['198.18.74.1', '198.18.74.2', '198.18.74.3', '198.18.74.4'];
const P = { rr: '10.244.74.0/26', bird: '10.244.75.0/26', frr: '10.244.76.0/26', tern: '10.244.77.0/26' };
/** BIRD sends these with our CLUSTER_ID already in CLUSTER_LIST / the RR's ID as ORIGINATOR_ID. */
const LOOP = { cluster: '10.244.78.0/26', originator: '10.244.79.0/26' };

test('RFC 4456 §6, §8: Tern reflects for BIRD, FRR and Tern clients; ORIGINATOR_ID/CLUSTER_LIST, next hop kept, nothing reflected to its originator, loops dropped, withdrawals reach every client', async (t) => {
  if (!conformanceGate(t, NEED, TERND)) return;
  const lab = await Lab.create('trr');
  t.after(() => lab.destroy());
  const sw = await lab.addSwitch('trr-sw1');
  const [rr, a, b, c] = [await lab.addHost('trr-rr'), await lab.addHost('trr-bird'), await lab.addHost('trr-frr'), await lab.addHost('trr-tc')];
  for (const [h, addr] of [
    [rr, RR],
    [a, BIRD_A],
    [b, FRR_B],
    [c, TERN_C],
  ] as const)
    await lab.plug(h, sw, { v4: `${addr}/24` });

  const birdCfg = (withOwn: boolean): BirdConfig => ({
    routerId: BIRD_A,
    static4: [
      ...(withOwn ? [{ prefix: P.bird }] : []),
      { prefix: LOOP.cluster, attrs: [`bgp_cluster_list.add(${CID});`] },
      { prefix: LOOP.originator, attrs: [`bgp_originator_id = ${RR};`] },
    ],
    neighbors: [{ name: 'tern', localAddr: BIRD_A, localAs: AS, neighborAddr: RR, neighborAs: AS }],
  });
  await startBird(lab, a, birdCfg(true));
  await startFrr(lab, b, { asn: AS, routerId: FRR_B, networks4: [P.frr], neighbors: [{ addr: RR, remoteAs: 'internal' }] });

  // One Calico model for both Tern nodes: the RR is a Node with a cluster ID, the Tern client is
  // a plain node selected by the usual BGPPeer; BIRD and FRR are external routers peered from
  // the RR node by peerIP (Calico makes same-AS peers of a reflector its clients).
  const model = (withTernBlock: boolean): CalicoModel => ({
    asNumber: AS,
    nodes: [
      { name: 'rr', ipv4Address: `${RR}/24`, routeReflectorClusterID: CID, labels: { 'route-reflector': 'true' } },
      { name: 'tc', ipv4Address: `${TERN_C}/24` },
    ],
    peers: [
      { name: 'to-rr', nodeSelector: '!has(route-reflector)', peerSelector: 'has(route-reflector)' },
      { name: 'rr-bird', node: 'rr', peerIP: BIRD_A, asNumber: AS },
      { name: 'rr-frr', node: 'rr', peerIP: FRR_B, asNumber: AS },
    ],
    pools: { 'pods-v4': '10.244.0.0/16' },
    extraDocs: [block('rr-block', P.rr, 'rr'), ...(withTernBlock ? [block('tc-block', P.tern, 'tc')] : [])],
  });
  await startTernd(lab, rr, { node: 'rr', configYaml: model(true), args: ['--probes', 'off'] });
  const tc = await startTernd(lab, c, { node: 'tc', configYaml: model(true), fib: 'kernel', args: ['--probes', 'off'] });
  await waitBirdEstablished(lab, a, 'tern');
  await waitFrrEstablished(lab, b, RR);

  // Every client receives the other two clients' routes, as reflected routes (RFC 4456 §8).
  for (const [prefix, origin] of [
    [P.frr, FRR_B],
    [P.tern, TERN_C],
  ] as const) {
    const r = await waitFor(`BIRD receives ${prefix}`, 20_000, async () => (await birdRoutes(lab, a, { proto: 'tern' })).find((x) => x.prefix === prefix));
    assert.equal(r.originatorId, origin, `${prefix} at BIRD: ORIGINATOR_ID is the originating client`);
    assert.deepEqual(r.clusterList, [CID], `${prefix} at BIRD: CLUSTER_LIST is the reflector's cluster`);
    assert.equal(r.attrs.next_hop, origin, `${prefix} at BIRD: NEXT_HOP untouched`);
  }
  for (const [prefix, origin] of [
    [P.bird, BIRD_A],
    [P.tern, TERN_C],
  ] as const) {
    await waitFor(`FRR receives ${prefix}`, 20_000, async () => (await frrRoutes(lab, b)).some((x) => x.prefix === prefix));
    const [r] = await frrRouteDetail(lab, b, prefix);
    assert.equal(r.originatorId, origin, `${prefix} at FRR: ORIGINATOR_ID`);
    assert.deepEqual((r.clusterList as { list?: string[] } | undefined)?.list, [CID], `${prefix} at FRR: CLUSTER_LIST`);
    assert.equal((r.nexthops as { ip?: string }[] | undefined)?.[0]?.ip, origin, `${prefix} at FRR: NEXT_HOP`);
  }
  for (const [prefix, origin] of [
    [P.bird, BIRD_A],
    [P.frr, FRR_B],
  ] as const) {
    const [r] = await waitFor(`Tern client receives ${prefix}`, 20_000, async () => {
      const rows = await learned(lab, c, prefix);
      return rows.length ? rows : undefined;
    });
    assert.equal(r.originatorId, origin, `${prefix} at the Tern client: originatorId`);
    assert.deepEqual(r.clusterList, [CID], `${prefix} at the Tern client: clusterList`);
    assert.equal(r.nextHop, origin, `${prefix} at the Tern client: nextHop`);
    assert.equal(r.flags.best, true);
    await waitFor(`${prefix} in the Tern client's kernel via ${origin}`, 10_000, async () =>
      (await routesInNs(lab, c, { proto: TERN_PROTO, family: 'ipv4' })).some((k) => k.dst === prefix && k.gateway === origin),
    );
  }
  // The reflector's own block is originated, not reflected.
  const own = await waitFor('BIRD receives the RR block', 10_000, async () => (await birdRoutes(lab, a, { proto: 'tern' })).find((x) => x.prefix === P.rr));
  assert.equal(own.originatorId, undefined);
  assert.deepEqual(own.clusterList, []);

  // RFC 4456 §8: the RR received both loop routes (they are in its RIB, flagged) and used neither.
  for (const [prefix, why] of [
    [LOOP.cluster, /CLUSTER_ID in CLUSTER_LIST/],
    [LOOP.originator, /ORIGINATOR_ID is our router ID/],
  ] as const) {
    const rows = await waitFor(`the RR holds ${prefix} from BIRD`, 10_000, async () => {
      const r = await rib(lab, rr, prefix, '--detail');
      return r.length ? r : undefined;
    });
    assert.ok(
      rows.every((r) => r.flags.filtered && !r.flags.best),
      `${prefix} is not eligible at the RR: ${JSON.stringify(rows)}`,
    );
    assert.match(rows[0].reason?.text ?? '', why);
  }
  // No client gets its own route back (RFC 4456 §6 reflects to clients other than the
  // originator; Tern also skips a peer whose router ID is the ORIGINATOR_ID), and the loop
  // routes, sent together with BIRD's own, never reached FRR or the Tern client.
  assert.ok(
    !(await birdRoutes(lab, a, { proto: 'tern' })).some((x) => x.prefix === P.bird || Object.values(LOOP).includes(x.prefix)),
    'BIRD: nothing of its own reflected back',
  );
  const frrAll = await frrRoutes(lab, b);
  assert.ok(!frrAll.some((x) => x.prefix === P.frr && x.peerId === RR), 'FRR: its network is not reflected back');
  assert.ok(!frrAll.some((x) => Object.values(LOOP).includes(x.prefix)), 'FRR: no loop route reflected');
  assert.deepEqual(await learned(lab, c, P.tern), [], 'Tern client: its block is not reflected back');
  // The same from the reflector's side: its Adj-RIB-Out towards each client holds the other
  // clients' routes and its own block, never the client's own route or a loop route (a client
  // would drop those silently, so only this view shows they were not sent).
  for (const [client, ownP, others] of [
    [BIRD_A, P.bird, [P.frr, P.tern]],
    [FRR_B, P.frr, [P.bird, P.tern]],
    [TERN_C, P.tern, [P.bird, P.frr]],
  ] as const) {
    const out = (await rib(lab, rr, '--out', '--neighbor', client)).map((x) => x.prefix).sort();
    assert.deepEqual(out, [...others, P.rr].sort(), `Adj-RIB-Out to ${client}`);
    assert.ok(!out.includes(ownP));
  }
  for (const p of Object.values(LOOP)) assert.deepEqual(await learned(lab, c, p), [], `Tern client: ${p} not reflected`);

  // Withdrawals, one origin at a time; each must leave both other clients (and the Tern
  // client's kernel).
  const gone = async (prefix: string, at: ('bird' | 'frr' | 'tern')[]): Promise<void> => {
    await waitFor(`${prefix} withdrawn from ${at.join(', ')}`, 15_000, async () => {
      if (at.includes('bird') && (await birdRoutes(lab, a, { proto: 'tern' })).some((x) => x.prefix === prefix)) return false;
      if (at.includes('frr') && (await frrRoutes(lab, b)).some((x) => x.prefix === prefix && x.peerId === RR)) return false;
      if (at.includes('tern')) {
        if ((await learned(lab, c, prefix)).length) return false;
        if ((await routesInNs(lab, c, { proto: TERN_PROTO, family: 'ipv4' })).some((k) => k.dst === prefix)) return false;
      }
      return true;
    });
  };
  await birdReconfigure(lab, a, birdCfg(false));
  await gone(P.bird, ['frr', 'tern']);
  await frrConfigure(lab, b, `router bgp ${AS}`, 'address-family ipv4 unicast', `no network ${P.frr}`);
  await gone(P.frr, ['bird', 'tern']);
  rewriteModel(tc, model(false));
  await gone(P.tern, ['bird', 'frr']);
  // The reflector's own block is still everywhere: the withdrawals were of those prefixes only.
  assert.ok((await birdRoutes(lab, a, { proto: 'tern' })).some((x) => x.prefix === P.rr));
  assert.ok((await frrRoutes(lab, b)).some((x) => x.prefix === P.rr));
});

// ---- 2. Tern as a client of a BIRD reflector --------------------------------------------

const BIRD_CID = '224.0.0.5';
const [BRR, TERN_2, FRR_2] = ['198.18.75.1', '198.18.75.2', '198.18.75.3'];
const Q = { tern: '10.244.85.0/26', frr: '10.244.86.0/26', bird: '10.244.87.0/26', loop: '10.244.88.0/26' };

test('RFC 4456 §8: Tern as a client of a BIRD reflector gets an FRR client route with BIRD cluster attributes, installs it, is reflected to FRR, drops a route carrying its own ORIGINATOR_ID', async (t) => {
  if (!conformanceGate(t, NEED, TERND)) return;
  const lab = await Lab.create('trr2');
  t.after(() => lab.destroy());
  const sw = await lab.addSwitch('trr-sw2');
  const [brr, tn, fr] = [await lab.addHost('trr-brr'), await lab.addHost('trr-t2'), await lab.addHost('trr-f2')];
  for (const [h, addr] of [
    [brr, BRR],
    [tn, TERN_2],
    [fr, FRR_2],
  ] as const)
    await lab.plug(h, sw, { v4: `${addr}/24` });

  await startBird(lab, brr, {
    routerId: BRR,
    // Q.loop claims Tern as its originator: Tern must ignore it, FRR (the control) accepts it.
    static4: [{ prefix: Q.bird }, { prefix: Q.loop, attrs: [`bgp_originator_id = ${TERN_2};`] }],
    neighbors: [
      { name: 'tern', localAddr: BRR, localAs: AS, neighborAddr: TERN_2, neighborAs: AS, rrClient: true, rrClusterId: BIRD_CID },
      { name: 'frr', localAddr: BRR, localAs: AS, neighborAddr: FRR_2, neighborAs: AS, rrClient: true, rrClusterId: BIRD_CID },
    ],
  });
  await startFrr(lab, fr, { asn: AS, routerId: FRR_2, networks4: [Q.frr], neighbors: [{ addr: BRR, remoteAs: 'internal' }] });
  const model = (withBlock: boolean): CalicoModel => ({
    asNumber: AS,
    nodes: [{ name: 't2', ipv4Address: `${TERN_2}/24` }],
    peers: [{ name: 'bird-rr', peerIP: BRR, asNumber: AS }],
    pools: { 'pods-v4': '10.244.0.0/16' },
    extraDocs: withBlock ? [block('t2-block', Q.tern, 't2')] : [],
  });
  const tern = await startTernd(lab, tn, { node: 't2', configYaml: model(true), fib: 'kernel', args: ['--probes', 'off'] });
  await waitBirdEstablished(lab, brr, 'tern');
  await waitBirdEstablished(lab, brr, 'frr');

  // FRR's route reaches Tern through BIRD with BIRD's reflection attributes, and is installed.
  const [r] = await waitFor('Tern receives the FRR route via BIRD', 20_000, async () => {
    const rows = await learned(lab, tn, Q.frr);
    return rows.length ? rows : undefined;
  });
  assert.equal(r.originatorId, FRR_2, 'ORIGINATOR_ID set by BIRD: the FRR client');
  assert.deepEqual(r.clusterList, [BIRD_CID], "CLUSTER_LIST: BIRD's cluster id");
  assert.equal(r.nextHop, FRR_2);
  assert.equal(r.flags.best, true);
  await waitFor('FRR route in the Tern kernel', 10_000, async () =>
    (await routesInNs(lab, tn, { proto: TERN_PROTO, family: 'ipv4' })).some((k) => k.dst === Q.frr && k.gateway === FRR_2),
  );

  // Tern's block reaches FRR through BIRD.
  await waitFor('FRR receives the Tern block', 20_000, async () => (await frrRoutes(lab, fr)).some((x) => x.prefix === Q.tern));
  const [atF] = await frrRouteDetail(lab, fr, Q.tern);
  assert.equal(atF.originatorId, TERN_2);
  assert.deepEqual((atF.clusterList as { list?: string[] } | undefined)?.list, [BIRD_CID]);
  assert.equal((atF.nexthops as { ip?: string }[] | undefined)?.[0]?.ip, TERN_2);

  // RFC 4456 §8: a route whose ORIGINATOR_ID is Tern's router ID is received but ignored; FRR
  // gets the same route (so BIRD did send it) and Tern's own block is not reflected back to it.
  await waitFor('FRR receives the loop route', 10_000, async () => (await frrRoutes(lab, fr)).some((x) => x.prefix === Q.loop));
  const loop = await waitFor('Tern holds the loop route', 10_000, async () => {
    const rows = await rib(lab, tn, Q.loop, '--detail');
    return rows.length ? rows : undefined;
  });
  assert.ok(
    loop.every((x) => x.flags.filtered && !x.flags.best),
    JSON.stringify(loop),
  );
  assert.match(loop[0].reason?.text ?? '', /ORIGINATOR_ID is our router ID/);
  assert.ok(!(await routesInNs(lab, tn, { proto: TERN_PROTO, family: 'ipv4' })).some((k) => k.dst === Q.loop), 'loop route not installed');
  assert.ok(
    (await routesInNs(lab, tn, { proto: TERN_PROTO, family: 'ipv4' })).some((k) => k.dst === Q.bird),
    "BIRD's plain route installed (control)",
  );
  assert.deepEqual(await learned(lab, tn, Q.tern), [], 'own block not reflected back');

  // Withdrawals through BIRD, both ways.
  await frrConfigure(lab, fr, `router bgp ${AS}`, 'address-family ipv4 unicast', `no network ${Q.frr}`);
  await waitFor(
    'FRR withdrawal reaches Tern and its kernel',
    15_000,
    async () => !(await learned(lab, tn, Q.frr)).length && !(await routesInNs(lab, tn, { proto: TERN_PROTO, family: 'ipv4' })).some((k) => k.dst === Q.frr),
  );
  rewriteModel(tern, model(false));
  await waitFor('Tern withdrawal reaches FRR', 15_000, async () => !(await frrRoutes(lab, fr)).some((x) => x.prefix === Q.tern));
});

// ---- 3. Two Tern reflectors sharing a cluster ID (Calico's redundant pair) ---------------

const HA_CID = '224.0.0.6';
const [R1, R2, BIRD_3, TERN_3] = ['198.18.76.1', '198.18.76.2', '198.18.76.3', '198.18.76.4'];
const H = { bird: '10.244.81.0/26', tern: '10.244.82.0/26' };

test('RFC 4456 §7, §8: two Tern reflectors with one cluster ID: clients get each route from both, each reflector drops the copy reflected by the other, one reflector down loses nothing', async (t) => {
  if (!conformanceGate(t, NEED, TERND)) return;
  const lab = await Lab.create('trr3');
  t.after(() => lab.destroy());
  const sw = await lab.addSwitch('trr-sw3');
  const [r1, r2, b3, c3] = [await lab.addHost('trr-r1'), await lab.addHost('trr-r2'), await lab.addHost('trr-b3'), await lab.addHost('trr-c3')];
  for (const [h, addr] of [
    [r1, R1],
    [r2, R2],
    [b3, BIRD_3],
    [c3, TERN_3],
  ] as const)
    await lab.plug(h, sw, { v4: `${addr}/24` });

  const birdCfg = (withOwn: boolean): BirdConfig => ({
    routerId: BIRD_3,
    static4: withOwn ? [{ prefix: H.bird }] : [],
    neighbors: [
      { name: 'r1', localAddr: BIRD_3, localAs: AS, neighborAddr: R1, neighborAs: AS },
      { name: 'r2', localAddr: BIRD_3, localAs: AS, neighborAddr: R2, neighborAs: AS },
    ],
  });
  await startBird(lab, b3, birdCfg(true));
  // Calico's documented layout: every node (reflectors included) peers with every reflector;
  // reflectors of one cluster are each other's non-clients (RFC 4456 §7).
  const model = (withBlock: boolean): CalicoModel => ({
    asNumber: AS,
    nodes: [
      { name: 'r1', ipv4Address: `${R1}/24`, routeReflectorClusterID: HA_CID, labels: { 'route-reflector': 'true' } },
      { name: 'r2', ipv4Address: `${R2}/24`, routeReflectorClusterID: HA_CID, labels: { 'route-reflector': 'true' } },
      { name: 'c3', ipv4Address: `${TERN_3}/24` },
    ],
    peers: [
      { name: 'to-rrs', nodeSelector: 'all()', peerSelector: 'has(route-reflector)' },
      { name: 'rrs-bird', nodeSelector: 'has(route-reflector)', peerIP: BIRD_3, asNumber: AS },
    ],
    pools: { 'pods-v4': '10.244.0.0/16' },
    extraDocs: withBlock ? [block('c3-block', H.tern, 'c3')] : [],
  });
  for (const [h, n] of [
    [r1, 'r1'],
    [r2, 'r2'],
  ] as const)
    await startTernd(lab, h, { node: n, configYaml: model(true), args: ['--probes', 'off'] });
  const client = await startTernd(lab, c3, { node: 'c3', configYaml: model(true), fib: 'kernel', args: ['--probes', 'off'] });
  await waitBirdEstablished(lab, b3, 'r1');
  await waitBirdEstablished(lab, b3, 'r2');

  // The Tern client holds BIRD's route from both reflectors, each reflected once.
  const paths = await waitFor('the Tern client has the BIRD route from both reflectors', 20_000, async () => {
    const rows = await rib(lab, c3, H.bird);
    return rows.length === 2 ? rows : undefined;
  });
  assert.deepEqual(paths.map((r) => r.peer).sort(), [R1, R2]);
  for (const r of paths) {
    assert.equal(r.originatorId, BIRD_3);
    assert.deepEqual(r.clusterList, [HA_CID], 'one CLUSTER_LIST entry: the other reflector did not add a second');
    assert.equal(r.nextHop, BIRD_3);
  }
  // BIRD holds the Tern block from both reflectors.
  const atBird = await waitFor('BIRD has the Tern block from both reflectors', 20_000, async () => {
    const rows = (await birdRoutes(lab, b3)).filter((x) => x.prefix === H.tern);
    return rows.length === 2 ? rows : undefined;
  });
  assert.deepEqual(atBird.map((r) => r.proto).sort(), ['r1', 'r2']);
  for (const r of atBird) {
    assert.equal(r.originatorId, TERN_3);
    assert.deepEqual(r.clusterList, [HA_CID]);
    assert.equal(r.attrs.next_hop, TERN_3);
  }
  // Each reflector received the other's reflected copy of the client routes (RFC 4456 §6:
  // client routes go to non-clients too) and ignored it for carrying its own cluster ID.
  for (const [me, other] of [
    [r1, R2],
    [r2, R1],
  ] as const) {
    for (const [prefix, origin] of [
      [H.bird, BIRD_3],
      [H.tern, TERN_3],
    ] as const) {
      const rows = await waitFor(`${me} holds ${prefix} from ${other}`, 10_000, async () => {
        const all = await rib(lab, me, prefix, '--detail');
        return all.some((r) => r.peer === other) ? all : undefined;
      });
      const viaOther = rows.find((r) => r.peer === other)!;
      assert.ok(viaOther.flags.filtered, `${me}: the copy from ${other} is ignored`);
      assert.match(viaOther.reason?.text ?? '', /CLUSTER_ID in CLUSTER_LIST/);
      assert.equal(rows.find((r) => r.flags.best)?.peer, origin, `${me}: best is the direct path from the client`);
    }
  }

  // One reflector's sessions go down (administratively): the client keeps BIRD's route, and
  // its kernel route, through the other.
  for (const peer of [BIRD_3, TERN_3]) await bgpctl(lab, r1, 'neighbor', peer, 'down');
  await waitFor('the client has the BIRD route from r2 only', 15_000, async () => {
    const rows = await rib(lab, c3, H.bird);
    return rows.length === 1 && rows[0].peer === R2;
  });
  assert.ok(
    (await routesInNs(lab, c3, { proto: TERN_PROTO, family: 'ipv4' })).some((k) => k.dst === H.bird && k.gateway === BIRD_3),
    'kernel route kept',
  );

  // Withdrawals through the remaining reflector, both ways.
  await birdReconfigure(lab, b3, birdCfg(false));
  await waitFor(
    'BIRD withdrawal reaches the client and its kernel',
    15_000,
    async () => !(await rib(lab, c3, H.bird)).length && !(await routesInNs(lab, c3, { proto: TERN_PROTO, family: 'ipv4' })).some((k) => k.dst === H.bird),
  );
  rewriteModel(client, model(false));
  await waitFor('Tern withdrawal reaches BIRD', 15_000, async () => !(await birdRoutes(lab, b3)).some((x) => x.prefix === H.tern));
});

// ---- 4. IPv6 routes reflected by Tern ---------------------------------------------------

const V6 = { rr: '2001:db8:77::1', bird: '2001:db8:77::2', tern: '2001:db8:77::3' };
const V4 = { rr: '198.18.77.1', bird: '198.18.77.2', tern: '198.18.77.3' };
const S = { bird: '2001:db8:1244:f77::/64', tern: '2001:db8:1244:77::/122', outside: '2001:db8:f77::/64' };

test('RFC 4456 §8 with RFC 4760: Tern reflects IPv6 routes between a BIRD and a Tern client with ORIGINATOR_ID, CLUSTER_LIST and the global next hop kept (IPPool prefixes only, as Calico exports); withdrawals follow', async (t) => {
  if (!conformanceGate(t, NEED, TERND)) return;
  const lab = await Lab.create('trr4');
  t.after(() => lab.destroy());
  const sw = await lab.addSwitch('trr-sw4');
  const [r4, b4, c4] = [await lab.addHost('trr-r4'), await lab.addHost('trr-b4'), await lab.addHost('trr-c4')];
  for (const [h, k] of [
    [r4, 'rr'],
    [b4, 'bird'],
    [c4, 'tern'],
  ] as const)
    await lab.plug(h, sw, { v4: `${V4[k]}/24`, v6: `${V6[k]}/64` });

  const birdCfg = (withOwn: boolean): BirdConfig => ({
    routerId: V4.bird,
    static6: withOwn ? [{ prefix: S.bird }, { prefix: S.outside }] : [{ prefix: S.outside }],
    neighbors: [{ name: 'tern6', localAddr: V6.bird, localAs: AS, neighborAddr: V6.rr, neighborAs: AS, ipv4: false, ipv6: {} }],
  });
  await startBird(lab, b4, birdCfg(true));
  const model = (withBlock: boolean): CalicoModel => ({
    asNumber: AS,
    nodes: [
      { name: 'r4', ipv4Address: `${V4.rr}/24`, ipv6Address: `${V6.rr}/64`, routeReflectorClusterID: CID, labels: { 'route-reflector': 'true' } },
      { name: 'c4', ipv4Address: `${V4.tern}/24`, ipv6Address: `${V6.tern}/64` },
    ],
    peers: [
      { name: 'to-rr', nodeSelector: '!has(route-reflector)', peerSelector: 'has(route-reflector)' },
      { name: 'rr-bird6', node: 'r4', peerIP: V6.bird, asNumber: AS },
    ],
    pools: { 'pods-v6': '2001:db8:1244::/48' },
    extraDocs: withBlock ? [block('c4-block6', S.tern, 'c4')] : [],
  });
  await startTernd(lab, r4, { node: 'r4', configYaml: model(true), args: ['--probes', 'off'] });
  const client = await startTernd(lab, c4, { node: 'c4', configYaml: model(true), fib: 'kernel', args: ['--probes', 'off'] });
  await waitBirdEstablished(lab, b4, 'tern6');

  const atBird = await waitFor('BIRD receives the Tern client block', 20_000, async () =>
    (await birdRoutes(lab, b4, { family: 'ipv6', proto: 'tern6' })).find((x) => x.prefix === S.tern),
  );
  assert.equal(atBird.originatorId, V4.tern, 'ORIGINATOR_ID: the client router ID');
  assert.deepEqual(atBird.clusterList, [CID]);
  assert.equal(atBird.attrs.next_hop?.split(/\s+/)[0], V6.tern, 'global next hop of the originating client');

  const [atTern] = await waitFor('the Tern client receives the BIRD route', 20_000, async () => {
    const rows = await learned(lab, c4, S.bird);
    return rows.length ? rows : undefined;
  });
  assert.equal(atTern.originatorId, V4.bird);
  assert.deepEqual(atTern.clusterList, [CID]);
  assert.equal(atTern.nextHop, V6.bird);
  await waitFor('BIRD route in the client kernel via BIRD', 10_000, async () =>
    (await routesInNs(lab, c4, { proto: TERN_PROTO, family: 'ipv6' })).some((k) => k.dst === S.bird && k.gateway === V6.bird),
  );

  // Calico's export rule, which Tern applies to reflected routes too: only prefixes inside an
  // IPPool (or the node's own blocks) are advertised. BIRD's route outside the pool reaches the
  // reflector but goes no further.
  assert.ok(
    (await rib(lab, r4, S.outside)).some((r) => r.peer === V6.bird),
    'the RR has the out-of-pool route',
  );
  assert.ok(!(await rib(lab, r4, '--out', '--neighbor', V6.tern)).some((r) => r.prefix === S.outside), 'not advertised to the client');
  await birdReconfigure(lab, b4, birdCfg(false));
  await waitFor(
    'BIRD withdrawal reaches the client and its kernel',
    15_000,
    async () => !(await learned(lab, c4, S.bird)).length && !(await routesInNs(lab, c4, { proto: TERN_PROTO, family: 'ipv6' })).some((k) => k.dst === S.bird),
  );
  rewriteModel(client, model(false));
  await waitFor('Tern withdrawal reaches BIRD', 15_000, async () => !(await birdRoutes(lab, b4, { family: 'ipv6' })).some((x) => x.prefix === S.tern));
});
