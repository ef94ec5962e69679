// Issue 14, "sidecar in each node pod", end to end: the calico-node DaemonSet with Tern's
// sidecar patch (deploy/kubernetes/calico-node-sidecar.yaml, applied by kubectl to the shape of
// Calico's DaemonSet) becomes the pod a node would run, and podman runs it in a lab namespace
// that stands for the node (hostNetwork: the pod's network is the node's). Tern's image runs next
// to a stand-in for calico-node (a Debian container idling as Felix would: Felix is not under
// test here), peers with BIRD in a container on the ToR's namespace, and its routes land in the
// node's kernel table. Checked: the session (RFC 4271 §8) from BIRD's side, routes both ways,
// the pod's probes, bgpctl inside the pod, and that ternd runs as uid 10001 with exactly
// NET_ADMIN and NET_BIND_SERVICE. The datastore is a file mounted into the pod: the manifest's
// `--datastore=kubernetes` is replaced for the lab, which has no API server.
process.env.TERN_PEERS = 'containers';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab, waitFor } from '../lab/lab.js';
import { birdRoutes, startBird, waitBirdEstablished } from '../lab/bird.js';
import { conformanceGate } from '../lab/gate.js';
import { routesInNs } from '../lab/fib.js';
import { calicoYaml } from '../lab/tern.js';
import { missingPeerImages, podman } from '../lab/peer-runtime.js';
import { playPod, podOf } from '../lab/pod.js';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TERN_IMAGE = process.env.TERN_IMAGE ?? 'localhost/tern:dev';
const AGENT_IMAGE = 'localhost/debian:bookworm';
const NODE = 'n1';
const CAP_NET_BIND_SERVICE = 10;
const CAP_NET_ADMIN = 12;

test('issue 14: the calico-node pod with the Tern sidecar peers with a BIRD container and installs routes in the node kernel', { timeout: 180_000 }, async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc'])) return;
  const missing = missingPeerImages([]).concat((await podman(['image', 'exists', TERN_IMAGE])).code === 0 ? [] : [`image ${TERN_IMAGE} (npm run image)`]);
  if (missing.length) {
    if (process.env.TERN_CONFORMANCE === '1') throw new Error(`missing: ${missing.join(', ')} (TERN_CONFORMANCE=1 requires them)`);
    t.skip(missing.join(', '));
    return;
  }
  const lab = await Lab.create('t14s');
  t.after(() => lab.destroy());
  const [node, tor] = [await lab.addHost('t14s-node'), await lab.addHost('t14s-tor')];
  await lab.link(node, tor, { v4: '198.18.141.1/24', v4b: '198.18.141.2/24' });

  // The ToR: BIRD in a container, eBGP AS 65001, announcing one route of its own.
  await startBird(lab, tor, {
    routerId: '198.18.141.2',
    static4: [{ prefix: '198.19.141.0/24' }],
    neighbors: [{ name: 'n1', localAddr: '198.18.141.2', localAs: 65001, neighborAddr: '198.18.141.1', neighborAs: 64512 }],
  });

  // The cluster model, as a file the pod mounts (the lab has no API server).
  const model = path.join(lab.dir, 'cluster.yaml');
  fs.writeFileSync(model, calicoYaml({
    asNumber: 64512,
    nodes: [{ name: NODE, ipv4Address: '198.18.141.1/24' }],
    peers: [{ name: 'tor', peerIP: '198.18.141.2', asNumber: 65001 }],
    pools: { pods: '10.244.0.0/16' },
    extraDocs: [{ apiVersion: 'crd.projectcalico.org/v1', kind: 'IPAMBlock', metadata: { name: '10-244-141-0-26' }, spec: { cidr: '10.244.141.0/26', affinity: `host:${NODE}` } }],
  }));
  fs.chmodSync(lab.dir, 0o755);
  fs.chmodSync(model, 0o644);

  // The pod a node would run: calico-node's DaemonSet with deploy/'s sidecar patch, by kubectl.
  const ds = JSON.parse(execFileSync('kubectl', ['patch', '--local', '-o', 'json',
    '-f', path.join(ROOT, 'test', 'fixtures', 'kubernetes', 'calico-node-daemonset.yaml'),
    '--patch-file', path.join(ROOT, 'deploy', 'kubernetes', 'calico-node-sidecar.yaml')], { encoding: 'utf8' }));
  const pod = podOf(ds, NODE, `t14s-calico-node-${process.pid}`);
  const [agent, ternd] = ['calico-node', 'ternd'].map((n) => pod.spec.containers.find((c) => c.name === n)!);
  assert.ok(agent && ternd, 'the patched pod has calico-node and ternd');
  // calico-node stand-in: Felix is not under test; this container only shares the pod with ternd.
  Object.assign(agent, { image: AGENT_IMAGE, command: ['sleep', 'infinity'], args: [], env: [], securityContext: {}, livenessProbe: undefined, readinessProbe: undefined });
  ternd.image = TERN_IMAGE;
  ternd.args = (ternd.args ?? []).map((a) => (a === '--datastore=kubernetes' ? '--datastore=file' : a)).concat('--config=/etc/tern/cluster.yaml');
  ternd.volumeMounts = [...(ternd.volumeMounts ?? []), { name: 'model', mountPath: '/etc/tern/cluster.yaml', readOnly: true }];
  pod.spec.volumes = [...(pod.spec.volumes ?? []), { name: 'model', hostPath: { path: model, type: 'File' } }];
  // podman 4.3 runs probes only as exec healthchecks: the test polls ternd's probes itself below.
  delete ternd.livenessProbe;
  delete ternd.readinessProbe;
  await playPod(lab, node, pod);
  const ctr = `${pod.metadata.name}-ternd`;

  // RFC 4271 §8: the session comes up, seen from BIRD.
  await waitBirdEstablished(lab, tor, 'n1', 30_000);
  // Tern's block reaches BIRD with Tern's next hop; BIRD's route lands in the node's kernel.
  const got = await waitFor('BIRD has the node block', 20_000, async () => (await birdRoutes(lab, tor, { proto: 'n1' })).find((r) => r.prefix === '10.244.141.0/26'));
  assert.equal(got.nexthop, '198.18.141.1');
  const kernel = await waitFor('BIRD route in the node kernel', 20_000, async () => {
    const r = await routesInNs(lab, node, { proto: '201', family: 'ipv4' });
    return r.some((x) => x.dst === '198.19.141.0/24') && r;
  });
  assert.equal(kernel.find((x) => x.dst === '198.19.141.0/24')?.gateway, '198.18.141.2');
  assert.equal(kernel.find((x) => x.dst === '10.244.141.0/26')?.type, 'blackhole', 'the affine block as Calico installs it');

  // Probes as the kubelet would call them (hostNetwork: the node's 127.0.0.1:9179).
  const probe = async (p: string) => (await lab.exec(node, process.execPath, ['-e', `fetch('http://127.0.0.1:9179${p}').then(r => process.exit(r.status === 200 ? 0 : 1), () => process.exit(2))`])).code;
  await waitFor('/readyz 200', 20_000, async () => (await probe('/readyz')) === 0);
  assert.equal(await probe('/livez'), 0, '/livez 200');
  // bgpctl on PATH inside the pod, over ternd's control socket.
  const peers = await podman(['exec', ctr, 'bgpctl', '-j', 'show', 'peers']);
  assert.equal(peers.code, 0, peers.stderr);
  assert.match(peers.stdout, /Established/);

  // Non-root, with exactly the two capabilities the manifest adds.
  const pid = Number((await podman(['inspect', '-f', '{{.State.Pid}}', ctr])).stdout.trim());
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  assert.match(status, /^Uid:\s+10001\s/m, 'ternd runs as uid 10001');
  const capEff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)/m.exec(status)![1]}`);
  assert.equal(capEff, (1n << BigInt(CAP_NET_ADMIN)) | (1n << BigInt(CAP_NET_BIND_SERVICE)), `CapEff ${capEff.toString(16)}`);
  const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  t.diagnostic(`ternd in the pod: VmRSS ${Math.round(rss / 1024)} MiB with one established session`);
});
