// The pod spec a node runs: Calico's calico-node DaemonSet (the shape of Calico's own manifest,
// test/fixtures/kubernetes) with deploy/kubernetes's sidecar patch applied by the real kubectl
// (`kubectl patch --local`, a strategic merge with no API server). Read by the manifest test
// (test/deploy/manifests.test.ts) and run by the sidecar conformance test.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [k: string]: unknown;
}

/** The sidecar patch applied to Calico's calico-node DaemonSet by kubectl itself. */
export function patchedCalicoNode<T = K8sObject>(): T {
  const out = execFileSync(
    'kubectl',
    [
      'patch',
      '--local',
      '-o',
      'json',
      '-f',
      path.join(ROOT, 'test', 'fixtures', 'kubernetes', 'calico-node-daemonset.yaml'),
      '--patch-file',
      path.join(ROOT, 'deploy', 'kubernetes', 'calico-node-sidecar.yaml'),
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out) as T;
}
