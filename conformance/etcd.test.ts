// Issue 19: ternd on the etcd datastore against a 3-member etcd cluster, each member in its own
// namespace (198.18.60.11-13 on one switch), ternd in a fourth (198.18.60.10) with an eBGP
// session to a BIRD ToR (198.18.60.1). The cluster loses one member (quorum kept: changes still
// arrive, whichever member ternd was watching), then the leader (quorum lost: ternd reports the
// datastore stale and keeps the last good model: no route withdrawn, no session reset,
// RFC 4271 §8 gives a datastore outage no reason to send a Cease), then both come back and a change made
// afterwards arrives. The test's own writes reach the members through Unix-socket relays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { Lab, TERND, birdRoutes, blockDoc, conformanceGate, startBird, startTernd, waitFor, type Ternd } from './lab/index.js';
import { EtcdMember, applyEntries, etcdEntries, testClient, unixRelay, waitEtcdReady } from './lab/etcd.js';
import { control, type NeighborSummary } from './lab/cluster.js';
import type { HealthView } from '../src/control/api.js';

const TOR = '198.18.60.1';
const NODE = '198.18.60.10';
const MEMBERS = ['198.18.60.11', '198.18.60.12', '198.18.60.13'];
const CLIENT_PORT = 2379;
const PEER_PORT = 2380;

const block = (cidr: string) => blockDoc(cidr, 'n1');
function model(blocks: string[]): Record<string, unknown>[] {
  return [
    { kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: 64512, nodeToNodeMeshEnabled: false } },
    { kind: 'Node', metadata: { name: 'n1' }, spec: { bgp: { ipv4Address: `${NODE}/24` } } },
    { kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: TOR, asNumber: 65001, keepaliveTime: '2s' } },
    { kind: 'IPPool', metadata: { name: 'pods' }, spec: { cidr: '10.244.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' } },
    ...blocks.map(block),
  ];
}

test('etcd cluster: ternd keeps its model and sessions through the loss of a member and then of quorum, and resumes (issue 19)', {
  timeout: 150_000,
}, async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'etcd', 'ternd'], TERND)) return;
  const lab = await Lab.create('etcd-cluster');
  const members: EtcdMember[] = [];
  const clients: Etcd3[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    for (const m of members) await m.stop('SIGKILL');
    await lab.destroy();
  });
  const t0 = Date.now();
  const phase = (name: string) => t.diagnostic(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const sw = await lab.addSwitch('e19-sw');
  const tor = await lab.addHost('e19-tor');
  await lab.plug(tor, sw, { v4: `${TOR}/24` });
  const nodeNs = await lab.addHost('e19-n1');
  await lab.plug(nodeNs, sw, { v4: `${NODE}/24` });
  const initialCluster = MEMBERS.map((ip, i) => `m${i + 1}=http://${ip}:${PEER_PORT}`).join(',');
  for (const [i, ip] of MEMBERS.entries()) {
    const host = await lab.addHost(`e19-m${i + 1}`);
    await lab.plug(host, sw, { v4: `${ip}/24` });
    const m = new EtcdMember({ name: `m${i + 1}`, ip, clientPort: CLIENT_PORT, peerPort: PEER_PORT, initialCluster, lab, host }, lab.dir);
    members.push(m);
  }
  for (const m of members) m.start();
  // One client per member (its own relay), and one over all of them for the writes.
  const urls: string[] = [];
  for (const [i, ip] of MEMBERS.entries()) urls.push(await unixRelay(lab, `e19-m${i + 1}`, ip, CLIENT_PORT, lab.file(`m${i + 1}.sock`)));
  const perMember = urls.map((u) => testClient([u]));
  const writer = testClient(urls);
  clients.push(...perMember, writer);
  await waitEtcdReady(writer, 30_000);
  await applyEntries(writer, etcdEntries(model(['10.244.1.0/26'])));
  phase('etcd cluster up');

  await startBird(lab, tor, {
    routerId: TOR,
    neighbors: [
      {
        name: 'n1',
        localAs: 65001,
        neighborAddr: NODE,
        neighborAs: 64512,
        passive: true,
        holdTime: 6,
        keepaliveTime: 2,
        ipv4: { import: 'all', export: 'none' },
      },
    ],
  });
  const ternd: Ternd = await startTernd(lab, nodeNs, {
    configYaml: '',
    node: 'n1',
    logLevel: 'info',
    datastoreArgs: ['--datastore', 'etcd', '--etcd-endpoints', MEMBERS.map((ip) => `http://${ip}:${CLIENT_PORT}`).join(',')],
    args: ['--connect-retry', '1', '--probes', 'off'],
  });
  const neighbor = () => control<NeighborSummary>(ternd.controlSocket, 'show.neighbor', { address: TOR });
  const health = () => control<HealthView>(ternd.controlSocket, 'health');
  const birdHas = async (prefixes: string[]) => {
    const rs = (await birdRoutes(lab, tor, { family: 'ipv4' })).filter((r) => r.prefix.startsWith('10.244.'));
    return prefixes.every((p) => rs.some((r) => r.prefix === p && r.nexthop === NODE)) ? rs : undefined;
  };
  await waitFor('session to the ToR', 20_000, async () => (await neighbor()).state === 'Established');
  await waitFor('BIRD learns the block from etcd', 15_000, () => birdHas(['10.244.1.0/26']));
  assert.equal((await health()).datastore?.state, 'synced');
  assert.equal((await health()).datastore?.kind, 'etcd');
  phase('ternd synced from etcd, session up');

  // 1. One member gone (quorum kept): a new block still reaches ternd and BIRD.
  await members[0].stop('SIGKILL');
  await applyEntries(writer, etcdEntries(model(['10.244.1.0/26', '10.244.2.0/26'])));
  await waitFor('block written after losing m1', 20_000, () => birdHas(['10.244.1.0/26', '10.244.2.0/26']));
  phase('lost m1, change arrived');

  // 2. Then the leader: the last member has no quorum.
  const leaderIndex = await waitFor('a leader among m2, m3', 15_000, async () => {
    for (const i of [1, 2]) {
      const st = await perMember[i].maintenance.status({}).catch(() => undefined);
      if (st && st.leader !== '0' && st.leader === st.header.member_id) return i + 1;
    }
    return undefined;
  });
  const leader = members[leaderIndex - 1];
  await leader.stop('SIGKILL');
  const stale = await waitFor('datastore stale', 30_000, async () => {
    const h = await health();
    return h.datastore?.state === 'stale' ? h : undefined;
  });
  t.diagnostic(`stale: ${stale.datastore?.detail}`);
  phase(`lost leader m${leaderIndex}: stale`);
  // The outage changes nothing: the session stays up (no reset) and BIRD keeps both routes.
  // Longer than the 6 s hold time, so a reset would show; the state stays stale throughout (a
  // member without quorum still accepts watches: they must not count as recovered).
  for (const end = Date.now() + 8000; Date.now() < end; await new Promise((r) => setTimeout(r, 500))) {
    assert.equal((await health()).datastore?.state, 'stale', 'stale for as long as there is no quorum');
  }
  const during = await neighbor();
  assert.equal(during.state, 'Established');
  assert.equal(during.establishedTransitions, 1, 'no session reset while etcd had no quorum');
  assert.ok(await birdHas(['10.244.1.0/26', '10.244.2.0/26']), 'no route withdrawn while etcd had no quorum');
  assert.equal((await health()).datastore?.state, 'stale');

  // 3. Quorum back: ternd resumes, and a change made now arrives.
  members[0].start();
  leader.start();
  await waitEtcdReady(writer, 30_000);
  await applyEntries(writer, etcdEntries(model(['10.244.1.0/26', '10.244.3.0/26'])));
  await waitFor('change after quorum returned', 30_000, async () => {
    const rs = await birdHas(['10.244.1.0/26', '10.244.3.0/26']);
    return rs && !rs.some((r) => r.prefix === '10.244.2.0/26') ? rs : undefined;
  });
  await waitFor('datastore synced again', 15_000, async () => (await health()).datastore?.state === 'synced');
  const after = await neighbor();
  assert.equal(after.establishedTransitions, 1, 'still the first session');
  assert.ok(ternd.logs((r) => /stale/.test(r.msg)).length > 0, 'ternd logged the stale datastore');
  phase('quorum back, change arrived');
});
