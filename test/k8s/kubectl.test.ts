// The kube-apiserver stand-in checked against an independent client, kubectl: the stand-in is
// only worth its tests if a real Kubernetes client finds there the API it knows (issue 13:
// discovery, get, apply as create then patch, and `get -w` seeing a change as a watch event).
// Without a token: kubectl sends no bearer token over the stand-in's plain HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { bgpPeer, k8sNode } from '../../conformance/k8s/objects.js';
import { startApi, sleep } from './helpers.js';

const KUBECTL = '/usr/bin/kubectl';
const run = promisify(execFile);

test('kubectl get, apply and get -w against the kube-apiserver stand-in (issue 13)', { timeout: 60_000 }, async (t) => {
  // A missing kubectl is a failure, not a skip: .ci/run installs it.
  assert.ok(fs.existsSync(KUBECTL), `${KUBECTL} is missing (Debian package kubernetes-client)`);
  const { api, kubeconfig, dir } = await startApi();
  t.after(() => api.stop());
  api.apply(k8sNode('n1', { ipv4: '198.18.10.11/24', asNumber: 64512 }));
  api.apply(bgpPeer('tor', { peerIP: '198.18.10.1', asNumber: 65001 }));
  const kubectl = (...args: string[]) => run(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { timeout: 20_000 });

  // get: a core resource and a Calico CRD, found through discovery.
  const nodes = JSON.parse((await kubectl('get', 'nodes', '-o', 'json')).stdout) as {
    items: { metadata: { name: string; annotations: Record<string, string> } }[];
  };
  assert.deepEqual(
    nodes.items.map((n) => [n.metadata.name, n.metadata.annotations['projectcalico.org/IPv4Address']]),
    [['n1', '198.18.10.11/24']],
  );
  assert.equal((await kubectl('get', 'bgppeer', 'tor', '-o', 'jsonpath={.spec.asNumber}')).stdout, '65001');
  // Label and field selectors, evaluated by the server.
  api.apply(k8sNode('n2', { ipv4: '198.18.10.12/24', labels: { rack: 'b' } }));
  assert.equal((await kubectl('get', 'nodes', '-l', 'rack=b', '-o', 'name')).stdout.trim(), 'node/n2');
  assert.equal((await kubectl('get', 'nodes', '-l', '!rack', '-o', 'name')).stdout.trim(), 'node/n1');
  assert.equal((await kubectl('get', 'nodes', '--field-selector', 'metadata.name!=n2', '-o', 'name')).stdout.trim(), 'node/n1');

  // get -w: the initial object, then the change made by apply, as watch events.
  const watcher = spawn(KUBECTL, ['--kubeconfig', kubeconfig, 'get', 'bgppeers', '-w', '-o', 'jsonpath={.metadata.name}={.spec.asNumber}{"\\n"}'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => watcher.kill());
  let seen = '';
  watcher.stdout.on('data', (d: Buffer) => {
    seen += d.toString();
  });
  watcher.stderr.on('data', (d: Buffer) => {
    seen += `stderr: ${d.toString()}`;
  });
  const until = async (re: RegExp) => {
    for (let i = 0; i < 100 && !re.test(seen); i++) await sleep(100);
    assert.match(seen, re);
  };
  await until(/^tor=65001$/m);

  // apply: create, then a second apply with a change (a merge patch of the last applied state).
  const file = path.join(dir, 'peer.yaml');
  const doc = (as: number) =>
    `apiVersion: crd.projectcalico.org/v1\nkind: BGPPeer\nmetadata:\n  name: rack-b\nspec:\n  peerIP: 198.18.11.1\n  asNumber: ${as}\n`;
  fs.writeFileSync(file, doc(65002));
  assert.match((await kubectl('apply', '-f', file)).stdout, /bgppeer.crd.projectcalico.org\/rack-b created/);
  fs.writeFileSync(file, doc(65003));
  assert.match((await kubectl('apply', '-f', file)).stdout, /rack-b configured/);
  assert.equal((await kubectl('get', 'bgppeer', 'rack-b', '-o', 'jsonpath={.spec.asNumber}')).stdout, '65003');
  await until(/^rack-b=65002$/m);
  await until(/^rack-b=65003$/m);
  // Both writes went through the API, as POST and PATCH.
  assert.deepEqual(
    api.audit.filter((a) => a.resource === 'bgppeers' && ['create', 'patch'].includes(a.verb)).map((a) => [a.verb, a.code]),
    [
      ['create', 201],
      ['patch', 200],
    ],
  );
});
