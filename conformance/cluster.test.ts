// Issue 6: ternd as the node agent of a namespace cluster. Four Tern nodes (two in
// 198.18.10.0/24, two in 198.18.11.0/24) behind a BIRD top-of-rack router (eBGP, AS 65001, a
// global BGPPeer), each ternd in its own namespace with `--fib kernel`, all reading the same
// Calico YAML (one copy per node). The pool is IPIP CrossSubnet; this kernel has no ipip (nor
// dummy) module, so each node's `tunl0` is a stand-in, one end of a veth pair inside the node
// (conformance/lab/cluster.ts): the routes through it are what Calico installs, no packet is sent. One cluster goes through the scenarios in order:
//  a. node-to-node mesh: every FIB holds every other node's block (proto 201), own blocks as
//     blackholes, and BIRD learned every block;
//  b. live switch to two Tern route reflectors (Calico's documented procedure, done in one file
//     write): the sessions whose configuration did not change are not reset (RFC 4271 §8: a
//     reload is no reason to send a Cease), and every FIB ends as it was;
//  c. an IPAM block added to the file reaches every other node's FIB; removed, it leaves them;
//  d. (checked throughout) CrossSubnet: direct routes within a subnet, tunl0 onlink across;
//  e. an invalid change (bad AS number) is refused with file, resource and field in the log,
//     and nothing changes (sessions, routes);
//  f. a BGPFilter added to the ToR BGPPeer, then edited, changes what BIRD learns.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, TERND, bgpctl, birdc, blockDoc, birdRoutes, conformanceGate, sleep, waitFor, type TernLogRecord } from './lab/index.js';
import {
  buildCluster,
  reflectorModel,
  waitFibs,
  waitSessions,
  sessions,
  ternRoutes,
  mapText,
  TOR_ADDR,
  type Cluster,
  type NeighborSummary,
} from './lab/cluster.js';

const blocksOf = (c: Cluster) => new Map(c.nodes.map((n) => [n.name, [...n.blocks]]));

/** `birdc show protocols` "since" column per protocol: it changes whenever a session resets. */
async function birdSince(c: Cluster): Promise<Map<string, string>> {
  const out = await birdc(c.lab, c.tor, 'show protocols');
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (/^n\d$/.test(f[0] ?? '')) m.set(f[0], `${f[3]} ${f[4]} ${f[5]}`);
  }
  return m;
}

async function allSessions(c: Cluster): Promise<Map<string, NeighborSummary[]>> {
  return new Map(await Promise.all(c.nodes.map(async (n) => [n.name, await sessions(c, n.host)] as const)));
}

async function allFibs(c: Cluster): Promise<string> {
  const parts = await Promise.all(c.nodes.map(async (n) => `${n.name}:\n${mapText(await ternRoutes(c, n.host))}`));
  return parts.join('\n');
}

test('cluster: mesh, live switch to route reflectors, IPAM changes, CrossSubnet, refused config (issue 6)', { timeout: 180_000 }, async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'ternd'], TERND)) return;
  const lab = await Lab.create('cluster');
  t.after(() => lab.destroy());
  const c = await buildCluster(lab, { prefix: 'tnc', subnets: [0, 0, 1, 1] });
  const addr = new Map(c.nodes.map((n) => [n.name, n.address]));
  const t0 = Date.now();
  const phase = (name: string) => t.diagnostic(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  phase('cluster built');
  const others = (name: string) => c.nodes.filter((n) => n.name !== name).map((n) => n.address);

  // a. mesh: each node has the ToR plus the three other nodes.
  await Promise.all(c.nodes.map((n) => waitSessions(c, n.host, [TOR_ADDR[0], ...others(n.name)])));
  await waitFibs(c, blocksOf(c));
  await waitFor('BIRD has every block', 15_000, async () => {
    const rs = (await birdRoutes(lab, c.tor, { family: 'ipv4' })).filter((r) => r.prefix.startsWith('10.244.'));
    return c.nodes.every((n) => rs.some((r) => r.prefix === n.blocks[0] && r.nexthop === n.address));
  });
  // d. CrossSubnet, as the FIB wait above required: n1 reaches n2 (same subnet) directly and
  // n3 (other subnet) through tunl0 with onlink.
  const n1 = await ternRoutes(c, 'tnc-n1');
  assert.equal(n1.get('10.244.2.0/26'), `${addr.get('n2')}@eth0`);
  assert.equal(n1.get('10.244.3.0/26'), `${addr.get('n3')}@tunl0`);
  assert.equal(n1.get('10.244.1.0/26'), 'blackhole');
  const onlink = await lab.exec('tnc-n1', 'ip', ['-j', 'route', 'show', '10.244.3.0/26', 'proto', '201']);
  assert.ok((JSON.parse(onlink.stdout) as { flags?: string[] }[])[0]?.flags?.includes('onlink'), onlink.stdout);

  phase('a. mesh converged');
  const fibsBefore = await allFibs(c);
  const sessBefore = await allSessions(c);
  const birdBefore = await birdSince(c);
  for (const [node, ss] of sessBefore) for (const s of ss) assert.equal(s.establishedTransitions, 1, `${node} ${s.address} reset before the switch`);

  // b. switch to route reflectors n1 and n2 (cluster ID + label + BGPPeer, mesh off), live.
  c.model = reflectorModel(c.model, ['n1', 'n2']);
  c.write();
  // Reflectors: the ToR, the other reflector and both clients. Clients: the ToR and both reflectors.
  await Promise.all(
    c.nodes.map((n) =>
      waitSessions(c, n.host, ['n1', 'n2'].includes(n.name) ? [TOR_ADDR[0], ...others(n.name)] : [TOR_ADDR[0], addr.get('n1')!, addr.get('n2')!]),
    ),
  );
  await waitFibs(c, blocksOf(c));
  // Let any late flap show before comparing.
  await sleep(1500);
  assert.equal(await allFibs(c), fibsBefore);
  const sessAfter = await allSessions(c);
  for (const n of c.nodes) {
    const tor = sessAfter.get(n.name)!.find((s) => s.address === TOR_ADDR[0]);
    assert.equal(tor?.establishedTransitions, 1, `${n.name}: the ToR session was reset by the switch`);
  }
  // The same through bgpctl, as an operator would look.
  const viaBgpctl = (await bgpctl(lab, 'tnc-n1', 'show', 'neighbor', TOR_ADDR[0])) as { state: string; establishedTransitions: number };
  assert.deepEqual([viaBgpctl.state, viaBgpctl.establishedTransitions], ['Established', 1]);
  // The reflector-to-reflector session was a mesh session before: same address, same OPEN.
  assert.equal(sessAfter.get('n1')!.find((s) => s.address === addr.get('n2'))?.establishedTransitions, 1, 'n1-n2 was reset');
  // BIRD may restamp an up protocol's since-time by a millisecond right after it came up (seen
  // once in ~10 runs); a reset caused by the switch would be seconds later than the stamp.
  const birdAfter = await birdSince(c);
  for (const [proto, since] of birdBefore) {
    const ms = (x: string | undefined) => Date.parse(`1970-01-01T${x?.split(' ')[1]}Z`);
    assert.ok(
      Math.abs(ms(birdAfter.get(proto)) - ms(since)) < 500 && /Established/.test(birdAfter.get(proto) ?? ''),
      `BIRD saw ${proto} reset: ${since} -> ${birdAfter.get(proto)}`,
    );
  }

  phase('b. reflectors converged');
  // c. a new block on n2 reaches every other node; removed, it leaves every FIB.
  const blocks = blocksOf(c);
  c.model.extraDocs!.push(blockDoc('10.244.2.64/26', 'n2'));
  blocks.get('n2')!.push('10.244.2.64/26');
  c.write();
  await waitFibs(c, blocks);
  c.model.extraDocs = c.model.extraDocs!.filter((d) => (d.metadata as { name: string }).name !== '10-244-2-64-26');
  c.write();
  await waitFibs(c, blocksOf(c));
  await waitFor(
    'BIRD lost the removed block',
    10_000,
    async () => !(await birdRoutes(lab, c.tor, { family: 'ipv4' })).some((r) => r.prefix === '10.244.2.64/26'),
  );

  phase('c. block added and removed');
  // e. a bad AS number is refused, naming file, resource and field; nothing changes.
  const fibsGood = await allFibs(c);
  const sessGood = await allSessions(c);
  const good = c.model;
  c.model = { ...good, asNumber: 'sixty-four' };
  c.write();
  const refused = (r: TernLogRecord) => /config refused/.test(r.msg);
  for (const tn of c.ternd.values()) {
    const rec = await tn.waitForLog(refused, 10_000, 'config refused');
    assert.match(rec.msg, new RegExp(tn.configFile.replace(/[.]/g, '\\.')), 'file named');
    assert.match(rec.msg, /BGPConfiguration/, 'resource named');
    assert.match(rec.msg, /asNumber/, 'field named');
  }
  await sleep(1500);
  assert.equal(await allFibs(c), fibsGood);
  assert.deepEqual(await allSessions(c), sessGood);
  phase('e. bad config refused');

  // f. a BGPFilter put on the ToR BGPPeer, then edited, takes effect on reload without a session
  // reset (it was once logged as 'session updated (filters)' and silently not applied).
  const noN2 = (reject: boolean) => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'BGPFilter',
    metadata: { name: 'no-n2' },
    spec: {
      exportV4: [...(reject ? [{ action: 'Reject', matchOperator: 'Equal', cidr: '10.244.2.0/26' }] : []), { action: 'Accept' }],
      importV4: [{ action: 'Accept' }],
    },
  });
  const torHas = async (prefix: string) => (await birdRoutes(lab, c.tor, { family: 'ipv4' })).some((r) => r.prefix === prefix);
  c.model = { ...good, peers: good.peers!.map((p) => (p.name === 'tor' ? { ...p, filters: ['no-n2'] } : p)), extraDocs: [...good.extraDocs!, noN2(true)] };
  c.write();
  await waitFor('BIRD lost the filtered block', 15_000, async () => !(await torHas('10.244.2.0/26')) && (await torHas('10.244.1.0/26')));
  c.model = { ...c.model, extraDocs: [...good.extraDocs!, noN2(false)] };
  c.write();
  await waitFor('BIRD has the block again after the filter edit', 15_000, () => torHas('10.244.2.0/26'));
  await waitFibs(c, blocksOf(c));
  // Soft reconfiguration (Rib.setPolicies): the filter changes reset no session.
  const sessF = await allSessions(c);
  for (const n of c.nodes) {
    const torF = sessF.get(n.name)!.find((s) => s.address === TOR_ADDR[0]);
    assert.equal(torF?.establishedTransitions, 1, `${n.name}: the BGPFilter change reset the ToR session`);
  }
  phase('f. BGPFilter added and edited');
});
