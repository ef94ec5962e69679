// Issue 14: every Kubernetes manifest in deploy/kubernetes is a valid object of its kind by the
// Kubernetes API's own schemas (kubernetes-models, generated from the API's OpenAPI), and says
// what the deployment needs and no more: host network, NET_ADMIN and NET_BIND_SERVICE only,
// never privileged, probes on ternd's /livez and /readyz, RBAC that only reads. The calico-node
// sidecar patch is applied by the real kubectl (`kubectl patch --local`, a strategic merge with
// no API server) to the shape of Calico's own DaemonSet, and the result validated the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { type K8sObject, patchedCalicoNode } from './calico-node.js';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DEPLOY = path.join(ROOT, 'deploy', 'kubernetes');

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: unknown) => Validatable;

/** The kubernetes-models module of an apiVersion (ESM packages: loaded with import()). */
async function modelOf(apiVersion: string, kind: string): Promise<ModelClass> {
  const mod: Record<string, unknown> =
    apiVersion === 'v1'
      ? await import('kubernetes-models/v1')
      : apiVersion === 'apps/v1'
        ? await import('kubernetes-models/apps/v1')
        : apiVersion === 'rbac.authorization.k8s.io/v1'
          ? await import('kubernetes-models/rbac.authorization.k8s.io/v1')
          : apiVersion === 'monitoring.coreos.com/v1'
            ? await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1')
            : {};
  const cls = mod[kind];
  assert.equal(typeof cls, 'function', `no schema for ${apiVersion} ${kind}`);
  return cls as ModelClass;
}

async function validate(o: K8sObject, where: string): Promise<void> {
  const Model = await modelOf(o.apiVersion, o.kind);
  assert.doesNotThrow(() => new Model(o).validate(), `${where}: ${o.kind}/${o.metadata?.name} is not a valid ${o.apiVersion} ${o.kind}`);
}

function load(file: string): K8sObject[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as K8sObject)
    .filter(Boolean);
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext?: {
    privileged?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  livenessProbe?: { httpGet?: { path: string; port: number; host?: string }; exec?: { command: string[] } };
  readinessProbe?: { httpGet?: { path: string; port: number; host?: string }; exec?: { command: string[] } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
const podSpecOf = (ds: K8sObject) =>
  (ds as unknown as { spec: { template: { spec: { hostNetwork?: boolean; containers: Container[]; serviceAccountName?: string } } } }).spec.template.spec;

/** What every ternd container must say, wherever it runs. */
function checkTernd(c: Container, where: string): void {
  const sc = c.securityContext ?? {};
  assert.notEqual(sc.privileged, true, `${where}: ternd is never privileged`);
  assert.equal(sc.runAsNonRoot, true, `${where}: ternd runs as non-root`);
  assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${where}: every capability dropped first`);
  assert.deepEqual([...(sc.capabilities?.add ?? [])].sort(), ['NET_ADMIN', 'NET_BIND_SERVICE'], `${where}: only the two capabilities ternd uses`);
  // no_new_privs would void the image's file capabilities (deploy/Containerfile).
  assert.notEqual(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation must not be false`);
  const probes = (c.args ?? []).find((a) => a.startsWith('--probes='))?.slice('--probes='.length);
  assert.ok(probes, `${where}: --probes is set, so the probe port is known`);
  const port = Number(probes.split(':').pop());
  assert.deepEqual([c.livenessProbe?.httpGet?.path, c.livenessProbe?.httpGet?.port], ['/livez', port], `${where}: liveness on /livez`);
  assert.deepEqual([c.readinessProbe?.httpGet?.path, c.readinessProbe?.httpGet?.port], ['/readyz', port], `${where}: readiness on /readyz`);
  assert.ok(c.resources?.requests?.memory && c.resources?.limits?.memory, `${where}: memory request and limit`);
  assert.ok(
    (c.args ?? []).includes('--node=$(NODE_NAME)') && c.env?.some((e) => e.name === 'NODE_NAME' && e.valueFrom),
    `${where}: node name from the downward API`,
  );
}

test('issue 14: every manifest in deploy/kubernetes validates against the Kubernetes schemas', async () => {
  const files = fs.readdirSync(DEPLOY).filter((f) => f.endsWith('.yaml') && f !== 'calico-node-sidecar.yaml');
  assert.ok(files.length >= 4, `manifests found: ${files.join(', ')}`);
  let n = 0;
  for (const f of files)
    for (const o of load(path.join(DEPLOY, f))) {
      await validate(o, f);
      n++;
    }
  assert.ok(n >= 8, `${n} objects validated`);
});

test('issue 14: the schemas catch a broken manifest (the validation is not a no-op)', async () => {
  const [ds] = load(path.join(DEPLOY, 'daemonset.yaml'));
  const broken = structuredClone(ds) as unknown as { spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } } };
  broken.spec.template.spec.containers[0].ports[0].containerPort = 'bgp';
  const Model = await modelOf('apps/v1', 'DaemonSet');
  assert.throws(() => new Model(broken).validate(), /containerPort must be integer/);
});

test('issue 14: the standalone DaemonSet runs ternd on the host network with only NET_ADMIN and NET_BIND_SERVICE', () => {
  const [ds] = load(path.join(DEPLOY, 'daemonset.yaml'));
  const spec = podSpecOf(ds);
  assert.equal(spec.hostNetwork, true, 'routes go into the node kernel: host network');
  assert.equal(spec.serviceAccountName, 'tern');
  checkTernd(spec.containers[0], 'daemonset.yaml');
});

test('issue 14: RBAC only reads (get/list/watch), and Secrets only by name with get', () => {
  const objs = load(path.join(DEPLOY, 'rbac.yaml'));
  const rules = objs
    .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
    .flatMap((o) => (o as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[] }).rules);
  for (const r of rules) for (const v of r.verbs) assert.ok(['get', 'list', 'watch'].includes(v), `verb ${v} on ${r.resources.join(',')} writes`);
  const secrets = rules.filter((r) => r.resources.includes('secrets'));
  assert.equal(secrets.length, 1);
  assert.deepEqual(secrets[0].verbs, ['get'], 'Secrets: get only (never list/watch every Secret)');
  assert.ok(secrets[0].resourceNames?.length, 'Secrets: named ones only');
  const calico = rules.find((r) => r.apiGroups.includes('crd.projectcalico.org'));
  assert.deepEqual([...(calico?.resources ?? [])].sort(), ['bgpconfigurations', 'bgpfilters', 'bgppeers', 'blockaffinities', 'ipamblocks', 'ippools']);
});

test('issue 14: the calico-node sidecar patch, applied by kubectl, turns BIRD off, keeps Felix and adds ternd', async () => {
  const ds = patchedCalicoNode();
  await validate(ds, 'calico-node + calico-node-sidecar.yaml');
  const spec = podSpecOf(ds);
  const calico = spec.containers.find((c) => c.name === 'calico-node')!;
  const backend = calico.env?.find((e) => e.name === 'CALICO_NETWORKING_BACKEND');
  assert.deepEqual(
    backend,
    { name: 'CALICO_NETWORKING_BACKEND', value: 'none' },
    'BIRD and confd off; the ConfigMap reference is gone (value and valueFrom together are invalid)',
  );
  assert.deepEqual(calico.readinessProbe?.exec?.command, ['/bin/calico-node', '-felix-ready'], 'readiness checks Felix only');
  assert.deepEqual(calico.livenessProbe?.exec?.command, ['/bin/calico-node', '-felix-live'], 'liveness checks Felix only');
  assert.ok(
    calico.env?.some((e) => e.name === 'DATASTORE_TYPE'),
    'the rest of calico-node is kept',
  );
  const ternd = spec.containers.find((c) => c.name === 'ternd');
  assert.ok(ternd, 'ternd joins the pod');
  checkTernd(ternd, 'calico-node-sidecar.yaml');
});
