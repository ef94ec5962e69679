// Issue 14, "sidecar in each node pod", end to end: the calico-node DaemonSet with Tern's
// sidecar patch (deploy/kubernetes/calico-node-sidecar.yaml, applied by kubectl to the shape of
// Calico's DaemonSet) becomes the pod a node would run, and podman runs it in a lab namespace
// that stands for the node (hostNetwork: the pod's network is the node's). Tern's image runs next
// to a stand-in for calico-node (a Debian container idling as Felix would: Felix is not under
// test here), reads the cluster from the Kubernetes API (issue 13's kube-apiserver stand-in,
// conformance/k8s/apiserver.ts, reached on the node's 127.0.0.1:6443, answering only what
// deploy/kubernetes/rbac.yaml grants), peers with BIRD in a container on the ToR's namespace
// with a TCP MD5 password from a Secret, and its routes land in the node's kernel table.
// Checked: the session (RFC 4271 §8, RFC 2385) from BIRD's side, routes both ways, the pod's
// probes, bgpctl inside the pod, that ternd runs as uid 10001 with exactly NET_ADMIN and
// NET_BIND_SERVICE, and that the RBAC rules shipped in deploy/ are exactly what ternd uses.
// The one change to the manifest: `--kubeconfig`, since the stand-in speaks plain HTTP and the
// in-cluster service account path needs TLS.
process.env.TERN_PEERS = 'containers';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitFor } from '../lab/lab.js';
import { pairLab } from '../lab/pair.js';
import { birdRoutes, startBird, waitBirdEstablished } from '../lab/bird.js';
import { conformanceGate } from '../lab/gate.js';
import { routesInNs } from '../lab/fib.js';
import { missingPeerImages, podman } from '../lab/peer-runtime.js';
import { playPod, podOf } from '../lab/pod.js';
import { patchedCalicoNode } from '../../test/deploy/calico-node.js';
import { ApiServer, type AuditEntry } from '../k8s/apiserver.js';
import { bgpConfiguration, bgpPeer, blockAffinity, ipamBlock, ipPool, k8sNode, secret } from '../k8s/objects.js';
import { parseAllDocuments } from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TERN_IMAGE = process.env.TERN_IMAGE ?? 'localhost/tern:dev';
const AGENT_IMAGE = 'localhost/debian:bookworm';
const NODE = 'n1';
const CAP_NET_BIND_SERVICE = 10;
const CAP_NET_ADMIN = 12;
const FORWARD = path.resolve(__dirname, '..', 'k8s', 'forward.js');
const PASSWORD = 'tor-md5-secret';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/**
 * The API stand-in's authorizer from deploy/kubernetes/rbac.yaml itself: ClusterRole rules for
 * every namespace, Role rules in the namespace ternd reads Secrets from (the pod's). Returns the
 * authorizer and the (resource, verb) pairs the rules grant.
 */
function rbacFromDeploy(podNamespace: string): { authorize: (a: Omit<AuditEntry, 'code'>) => boolean; granted: Set<string> } {
  const objs = parseAllDocuments(fs.readFileSync(path.join(ROOT, 'deploy', 'kubernetes', 'rbac.yaml'), 'utf8')).map(
    (d) => d.toJS() as { kind: string; rules?: Rule[] },
  );
  const cluster = objs.filter((o) => o.kind === 'ClusterRole').flatMap((o) => o.rules ?? []);
  const ns = objs.filter((o) => o.kind === 'Role').flatMap((o) => o.rules ?? []);
  const allows = (rules: Rule[], a: Omit<AuditEntry, 'code'>) =>
    rules.some(
      (r) =>
        r.resources.includes(a.resource) &&
        r.verbs.includes(a.verb) &&
        (!r.resourceNames?.length || (a.name !== undefined && r.resourceNames.includes(a.name))),
    );
  const granted = new Set([...cluster, ...ns].flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${res} ${v}`))));
  return { authorize: (a) => allows(cluster, a) || (a.namespace === podNamespace && allows(ns, a)), granted };
}

test('issue 14: the calico-node pod with the Tern sidecar reads the Kubernetes API, peers with a BIRD container over TCP MD5 (RFC 2385) and installs routes in the node kernel', {
  timeout: 180_000,
}, async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc'])) return;
  const missing = missingPeerImages([]).concat((await podman(['image', 'exists', TERN_IMAGE])).code === 0 ? [] : [`image ${TERN_IMAGE} (npm run image)`]);
  if (missing.length) {
    if (process.env.TERN_CONFORMANCE === '1') throw new Error(`missing: ${missing.join(', ')} (TERN_CONFORMANCE=1 requires them)`);
    t.skip(missing.join(', '));
    return;
  }
  const { lab, hostA: node, hostB: tor } = await pairLab(t, 't14s', ['node', 'tor'], { v4: '198.18.141.1/24', v4b: '198.18.141.2/24' });

  // The ToR: BIRD in a container, eBGP AS 65001, announcing one route of its own.
  await startBird(lab, tor, {
    routerId: '198.18.141.2',
    static4: [{ prefix: '198.19.141.0/24' }],
    neighbors: [{ name: 'n1', localAddr: '198.18.141.2', localAs: 65001, neighborAddr: '198.18.141.1', neighborAs: 64512, password: PASSWORD }],
  });

  // The pod a node would run: calico-node's DaemonSet with deploy/'s sidecar patch, by kubectl.
  const ds = patchedCalicoNode<Parameters<typeof podOf>[0] & { metadata: { namespace: string } }>();
  const podNamespace: string = ds.metadata.namespace;

  // The cluster as Calico keeps it in the API (KDD): Node annotations, CRDs, and the Secret
  // holding the ToR's password in the pod's namespace, where rbac.yaml's Role lets ternd get it.
  const rbac = rbacFromDeploy(podNamespace);
  const api = new ApiServer({ socketPath: lab.file('apiserver.sock'), token: 'sa-token', authorize: rbac.authorize, bookmarkMs: 1000 });
  await api.start();
  t.after(() => api.stop());
  api.apply(bgpConfiguration({ asNumber: 64512, nodeToNodeMeshEnabled: false }));
  api.apply(ipPool('pods', '10.244.0.0/16'));
  api.apply(k8sNode(NODE, { ipv4: '198.18.141.1/24' }));
  api.apply(ipamBlock('10.244.141.0/26', NODE, 1));
  api.apply(blockAffinity('10.244.141.0/26', NODE));
  api.apply(secret('bgp-passwords', podNamespace, { tor: PASSWORD }));
  api.apply(bgpPeer('tor', { peerIP: '198.18.141.2', asNumber: 65001, password: { secretKeyRef: { name: 'bgp-passwords', key: 'tor' } } }));
  // The API at the node's 127.0.0.1:6443 (hostNetwork), forwarded to the stand-in's socket.
  lab.spawn(node, process.execPath, [FORWARD, '127.0.0.1:6443', lab.file('apiserver.sock')], { logFile: lab.file('forward.log') });
  await waitFor('API forwarder listening', 10_000, async () => (await lab.exec(node, 'ss', ['-ltnH', 'src 127.0.0.1:6443'])).stdout.includes('6443'));
  const kubeconfig = path.join(lab.dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, api.kubeconfig('http://127.0.0.1:6443'));
  fs.chmodSync(lab.dir, 0o755);
  fs.chmodSync(kubeconfig, 0o644);

  const pod = podOf(ds, NODE, `t14s-calico-node-${process.pid}`);
  const [agent, ternd] = ['calico-node', 'ternd'].map((n) => pod.spec.containers.find((c) => c.name === n)!);
  assert.ok(agent && ternd, 'the patched pod has calico-node and ternd');
  // calico-node stand-in: Felix is not under test; this container only shares the pod with ternd.
  Object.assign(agent, {
    image: AGENT_IMAGE,
    command: ['sleep', 'infinity'],
    args: [],
    env: [],
    securityContext: {},
    livenessProbe: undefined,
    readinessProbe: undefined,
  });
  ternd.image = TERN_IMAGE;
  assert.ok(ternd.args?.includes('--datastore=kubernetes'), 'the manifest reads the Kubernetes API');
  ternd.args = [...(ternd.args ?? []), '--kubeconfig=/etc/tern/kubeconfig'];
  ternd.volumeMounts = [...(ternd.volumeMounts ?? []), { name: 'kubeconfig', mountPath: '/etc/tern/kubeconfig', readOnly: true }];
  pod.spec.volumes = [...(pod.spec.volumes ?? []), { name: 'kubeconfig', hostPath: { path: kubeconfig, type: 'File' } }];
  // podman 4.3 runs probes only as exec healthchecks: the test polls ternd's probes itself below.
  delete ternd.livenessProbe;
  delete ternd.readinessProbe;
  await playPod(lab, node, pod);
  const ctr = `${pod.metadata.name}-ternd`;

  // RFC 4271 §8: the session comes up, seen from BIRD.
  await waitBirdEstablished(lab, tor, 'n1', 30_000);
  // Tern's block reaches BIRD with Tern's next hop; BIRD's route lands in the node's kernel.
  const got = await waitFor('BIRD has the node block', 20_000, async () =>
    (await birdRoutes(lab, tor, { proto: 'n1' })).find((r) => r.prefix === '10.244.141.0/26'),
  );
  assert.equal(got.nexthop, '198.18.141.1');
  const kernel = await waitFor('BIRD route in the node kernel', 20_000, async () => {
    const r = await routesInNs(lab, node, { proto: '201', family: 'ipv4' });
    return r.some((x) => x.dst === '198.19.141.0/24') && r;
  });
  assert.equal(kernel.find((x) => x.dst === '198.19.141.0/24')?.gateway, '198.18.141.2');
  assert.equal(kernel.find((x) => x.dst === '10.244.141.0/26')?.type, 'blackhole', 'the affine block as Calico installs it');

  // Probes as the kubelet would call them (hostNetwork: the node's 127.0.0.1:9179).
  const probe = async (p: string) =>
    (
      await lab.exec(node, process.execPath, [
        '-e',
        `fetch('http://127.0.0.1:9179${p}').then(r => process.exit(r.status === 200 ? 0 : 1), () => process.exit(2))`,
      ])
    ).code;
  await waitFor('/readyz 200', 20_000, async () => (await probe('/readyz')) === 0);
  assert.equal(await probe('/livez'), 0, '/livez 200');
  // bgpctl on PATH inside the pod, over ternd's control socket.
  const peers = await podman(['exec', ctr, 'bgpctl', '-j', 'show', 'peers']);
  assert.equal(peers.code, 0, peers.stderr);
  assert.match(peers.stdout, /Established/);

  // The datastore: synced from the API, and RBAC exactly what ternd uses: nothing refused, and
  // every (resource, verb) rbac.yaml grants was used (no rule to spare).
  const health = JSON.parse((await podman(['exec', ctr, 'bgpctl', '-j', 'health'])).stdout) as { datastore?: { kind: string; state: string } };
  assert.deepEqual([health.datastore?.kind, health.datastore?.state], ['kubernetes', 'synced']);
  assert.deepEqual(
    api.audit.filter((a) => a.code === 403),
    [],
    'a request the shipped RBAC refuses',
  );
  const used = new Set(api.audit.filter((a) => a.code < 400).map((a) => `${a.resource} ${a.verb}`));
  assert.deepEqual([...rbac.granted].filter((g) => !used.has(g)).sort(), [], 'rbac.yaml grants a verb ternd never uses');

  // Non-root, with exactly the two capabilities the manifest adds.
  const pid = Number((await podman(['inspect', '-f', '{{.State.Pid}}', ctr])).stdout.trim());
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  assert.match(status, /^Uid:\s+10001\s/m, 'ternd runs as uid 10001');
  const capEff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)/m.exec(status)![1]}`);
  assert.equal(capEff, (1n << BigInt(CAP_NET_ADMIN)) | (1n << BigInt(CAP_NET_BIND_SERVICE)), `CapEff ${capEff.toString(16)}`);
  const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  t.diagnostic(`ternd in the pod: VmRSS ${Math.round(rss / 1024)} MiB with one established session`);
});
