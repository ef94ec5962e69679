// ternd --datastore kubernetes as a process: two nodes on loopback (127.0.0.x, --fib none, no
// root) driven only by the kube-apiserver stand-in. The mesh comes up from the API's objects; a
// block added through the API reaches the other node; with the API server gone the state is
// stale, the routes and sessions stay (issue 13: "not one route is withdrawn and no session is
// reset because the API went away"); back, the next change is applied. Plain mode: blocks from
// Nodes' podCIDRs, BGP addresses from InternalIP, AS and pool from a Tern config file. A
// rotated BGP password Secret brings the session back with the new TCP MD5 key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { HealthView, NeighborView, PeerView, RibRowView } from '../../src/control/api.js';
import { bgpConfiguration, ipamBlock, ipPool, k8sNode, secret } from '../../conformance/k8s/objects.js';
import { ObjectStore, RESOURCE_TYPES } from '../../conformance/k8s/store.js';
import { sleep, startApi } from './helpers.js';
import { askSocket, streamSocket } from '../daemon/control.js';
import { until } from '../until.js';

const TERND = path.resolve(__dirname, '..', '..', 'src', 'ternd.js');
const BGPCTL = path.resolve(__dirname, '..', '..', 'src', 'bgpctl.js');
const PORT = 22179 + (process.pid % 500);
const A = '127.0.0.61';
const B = '127.0.0.62';

interface Proc {
  name: string;
  proc: ChildProcess;
  sock: string;
  log: string[];
}

function startTernd(dir: string, name: string, args: string[]): Proc {
  const sock = path.join(dir, `${name}.sock`);
  const proc = spawn(
    process.execPath,
    [TERND, '--datastore', 'kubernetes', ...args, '--fib', 'none', '--control-socket', sock, '--probes', 'off', '--connect-retry', '1', '--log-level', 'debug'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NAME: name } },
  );
  const p: Proc = { name, proc, sock, log: [] };
  proc.stdout!.on('data', (c: Buffer) => p.log.push(...c.toString().split('\n').filter(Boolean)));
  proc.stderr!.on('data', (c: Buffer) => p.log.push(c.toString()));
  return p;
}

const ask = <T>(n: Proc, cmd: string, args: Record<string, unknown> = {}): Promise<T> => askSocket<T>(n.sock, cmd, args);
const rib = (n: Proc): Promise<RibRowView[]> => streamSocket<RibRowView>(n.sock, 'show.rib', { view: 'loc' });

const established = (n: Proc, peer: string) =>
  until(`${n.name} Established with ${peer}`, async () =>
    (await ask<PeerView[]>(n, 'show.peers')).find((p) => p.address === peer && p.state === 'Established'),
  );
const hasRoute = (n: Proc, prefix: string, nextHop: string) =>
  until(`${prefix} via ${nextHop} in ${n.name}'s RIB`, async () => (await rib(n)).find((r) => r.prefix === prefix && r.flags.best && r.nextHop === nextHop));

function cleanup(t: { after(fn: () => unknown): void }, dir: string, procs: Proc[]): void {
  t.after(() => {
    if (process.env.TERND_TEST_LOGS)
      for (const n of procs) fs.writeFileSync(path.join(process.env.TERND_TEST_LOGS, `k8s-${n.name}-${n.proc.pid}.log`), n.log.join('\n'));
    for (const n of procs) if (n.proc.exitCode === null) n.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

test('ternd --datastore kubernetes: mesh from the API, a watched block, API gone keeps routes and sessions (issue 13)', { timeout: 90_000 }, async (t) => {
  const { api, kubeconfig, dir } = await startApi();
  t.after(() => api.stop());
  api.apply(bgpConfiguration({ asNumber: 64512, listenPort: PORT, bindMode: 'NodeIP' }));
  api.apply(k8sNode('node-a', { ipv4: `${A}/8` }));
  api.apply(k8sNode('node-b', { ipv4: `${B}/8` }));
  api.apply(ipPool('pool', '10.244.0.0/16'));
  api.apply(ipamBlock('10.244.0.0/26', 'node-a'));
  api.apply(ipamBlock('10.244.1.0/26', 'node-b'));
  const procs: Proc[] = [];
  cleanup(t, dir, procs);
  // The node name from NODE_NAME (downward API), the kubeconfig from the flag.
  const a = startTernd(dir, 'node-a', ['--kubeconfig', kubeconfig]);
  const b = startTernd(dir, 'node-b', ['--kubeconfig', kubeconfig]);
  procs.push(a, b);
  await established(a, B);
  await hasRoute(a, '10.244.1.0/26', B);
  const health = await ask<HealthView>(a, 'health');
  assert.equal(health.datastore?.kind, 'kubernetes');
  assert.equal(health.datastore?.state, 'synced');
  assert.match(health.datastore?.source ?? '', /^http:\/\/127\.0\.0\.1:\d+ \(calico mode\)$/);

  api.apply(ipamBlock('10.244.1.64/26', 'node-b'));
  await hasRoute(a, '10.244.1.64/26', B);

  const before = await ask<NeighborView>(a, 'show.neighbor', { address: B });
  const ribBefore = (await rib(a)).map((r) => `${r.prefix} ${r.nextHop}`).sort();
  await api.stop();
  await until('node-a reports the datastore stale', async () => (await ask<HealthView>(a, 'health')).datastore?.state === 'stale');
  await sleep(3000);
  const stale = await ask<HealthView>(a, 'health');
  assert.equal(stale.datastore?.state, 'stale');
  // What an operator sees: `bgpctl health` names the datastore state (and stays ready).
  const text = execFileSync(process.execPath, [BGPCTL, '-s', a.sock, 'health'], { encoding: 'utf8' });
  assert.match(text, /^ready: /);
  assert.match(
    text,
    /^ {2}note: datastore kubernetes http:\/\/127\.0\.0\.1:\d+ \(calico mode\) is stale since \S+: nodes: .*\(the last good model stays in force\)$/m,
  );
  assert.deepEqual((await rib(a)).map((r) => `${r.prefix} ${r.nextHop}`).sort(), ribBefore, 'no route withdrawn while the API is away');
  assert.equal((await ask<NeighborView>(a, 'show.neighbor', { address: B })).establishedTransitions, before.establishedTransitions, 'no session reset');

  // Back: changes made meanwhile arrive, the state is synced again.
  api.remove('IPAMBlock', '10-244-1-64-26');
  await api.start();
  await until('the removed block leaves node-a', async () => !(await rib(a)).some((r) => r.prefix === '10.244.1.64/26'));
  await until('node-a synced again', async () => (await ask<HealthView>(a, 'health')).datastore?.state === 'synced');
  assert.equal((await ask<NeighborView>(a, 'show.neighbor', { address: B })).establishedTransitions, before.establishedTransitions, 'no session reset');
});

test('ternd --datastore kubernetes --kubernetes-mode plain: podCIDRs are the blocks, InternalIP the address (issue 13)', { timeout: 60_000 }, async (t) => {
  // A kubeadm cluster: no Calico CRDs (the stand-in serves core v1 only), Nodes with podCIDRs and InternalIPs.
  const { api, kubeconfig, dir } = await startApi({ store: new ObjectStore(RESOURCE_TYPES.filter((x) => x.group === '')) });
  t.after(() => api.stop());
  api.apply(k8sNode('node-a', { internalIP: A, podCIDRs: ['10.245.0.0/24'] }));
  api.apply(k8sNode('node-b', { internalIP: B, podCIDRs: ['10.245.1.0/24'] }));
  const config = path.join(dir, 'tern.yaml');
  fs.writeFileSync(
    config,
    [
      `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  asNumber: 64513\n  listenPort: ${PORT + 1}\n  bindMode: NodeIP\n`,
      'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: cluster-cidr\nspec:\n  cidr: 10.245.0.0/16\n  blockSize: 24\n',
    ].join('---\n'),
  );
  const procs: Proc[] = [];
  cleanup(t, dir, procs);
  const args = ['--kubeconfig', kubeconfig, '--kubernetes-mode', 'plain', '--config', config];
  const a = startTernd(dir, 'node-a', args);
  const b = startTernd(dir, 'node-b', args);
  procs.push(a, b);
  await established(a, B);
  await hasRoute(a, '10.245.1.0/24', B);
  await hasRoute(b, '10.245.0.0/24', A);
  // kube-controller-manager gives a new node its podCIDR: the others learn it.
  api.apply(k8sNode('node-b', { internalIP: B, podCIDRs: ['10.245.1.0/24', '10.245.7.0/24'] }));
  await hasRoute(a, '10.245.7.0/24', B);
  // The CRDs are absent (404): plain mode treats them as empty, not as an outage.
  assert.ok(
    api.audit.some((x) => x.resource === 'bgppeers' && x.code === 404),
    'the BGPPeer CRD was looked for',
  );
  assert.equal((await ask<HealthView>(a, 'health')).datastore?.state, 'synced');
  // Plain mode reads no Calico IPAM objects at all.
  assert.ok(!api.audit.some((x) => x.resource === 'ipamblocks' || x.resource === 'blockaffinities'));
});

test('ternd --datastore kubernetes: a rotated Secret restarts the session with the new TCP MD5 key (RFC 2385; issue 13)', { timeout: 90_000 }, async (t) => {
  const { api, kubeconfig, dir } = await startApi();
  t.after(() => api.stop());
  api.apply(
    bgpConfiguration({ asNumber: 64512, listenPort: PORT + 2, bindMode: 'NodeIP', nodeMeshPassword: { secretKeyRef: { name: 'bgp-secrets', key: 'mesh' } } }),
  );
  api.apply(k8sNode('node-a', { ipv4: `${A}/8` }));
  api.apply(k8sNode('node-b', { ipv4: `${B}/8` }));
  api.apply(ipPool('pool', '10.244.0.0/16'));
  api.apply(ipamBlock('10.244.1.0/26', 'node-b'));
  api.apply(secret('bgp-secrets', 'calico-system', { mesh: 'first-key' }));
  const procs: Proc[] = [];
  cleanup(t, dir, procs);
  const args = ['--kubeconfig', kubeconfig, '--secret-namespace', 'calico-system', '--secret-refresh', '1'];
  const a = startTernd(dir, 'node-a', args);
  const b = startTernd(dir, 'node-b', args);
  procs.push(a, b);
  await established(a, B);
  const before = await ask<NeighborView>(a, 'show.neighbor', { address: B });
  assert.equal(before.md5, true, 'the mesh session runs with TCP MD5');
  // Rotation: both nodes read the new key within a refresh; the session restarts (a new
  // session: its counters start again) and comes back with it.
  const mark = a.log.length;
  api.apply(secret('bgp-secrets', 'calico-system', { mesh: 'second-key' }));
  const restart = await until(
    'the session restarted for the new password',
    async () => a.log.slice(mark).find((l) => /restarted: password changed/.test(l)),
    30_000,
  );
  assert.match(restart, /"fields":\["password"\]/);
  const at = a.log.indexOf(restart);
  await until('Established again after the restart', async () => a.log.slice(at).some((l) => /OpenConfirm -> Established/.test(l)), 30_000);
  const after = await established(a, B);
  assert.ok(after);
  assert.equal((await ask<NeighborView>(a, 'show.neighbor', { address: B })).md5, true);
  await hasRoute(a, '10.244.1.0/26', B);
  // The Secret is re-read every second; an unchanged one changes nothing (no reload).
  const reloads = a.log.slice(at).filter((l) => /"trigger":"Secret changed"/.test(l)).length;
  await sleep(3000);
  assert.equal(a.log.slice(at).filter((l) => /"trigger":"Secret changed"/.test(l)).length, reloads, 'an unchanged Secret triggered a reload');
  // Only `get` of the named Secret was used on Secrets.
  assert.deepEqual(
    [...new Set(api.audit.filter((x) => x.resource === 'secrets').map((x) => `${x.verb} ${x.namespace}/${x.name}`))],
    ['get calico-system/bgp-secrets'],
  );
});
