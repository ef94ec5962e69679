// A Kubernetes pod from deploy/ run by podman in a lab namespace, as a node would run it: the
// namespace stands for the node, so a hostNetwork pod's containers share it (podman joins it
// through `nsenter --net`, since `ip netns exec` would hide the cgroup mounts podman needs).
// podman 4.3's `kube play` does two kubelet jobs differently, so they are done here as the
// kubelet would: downward-API env (fieldRef spec.nodeName) and $(VAR) expansion in args.

import * as fs from 'node:fs';
import { stringify } from 'yaml';
import type { Lab } from './lab.js';
import { podman } from './peer-runtime.js';

export interface PodContainer {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  [k: string]: unknown;
}

export interface PodSpec {
  hostNetwork?: boolean;
  containers: PodContainer[];
  volumes?: { name: string; [k: string]: unknown }[];
  [k: string]: unknown;
}

/** The pod a DaemonSet controller would create on `node` from a DaemonSet object. */
export function podOf(
  ds: { metadata: { name: string; namespace?: string }; spec: { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } } },
  node: string,
  name: string,
): { apiVersion: 'v1'; kind: 'Pod'; metadata: { name: string; labels?: Record<string, string> }; spec: PodSpec } {
  const spec = structuredClone(ds.spec.template.spec);
  spec.nodeName = node;
  for (const c of spec.containers) {
    // Downward API: the kubelet fills fieldRef spec.nodeName and metadata.namespace (podman 4.3 does not).
    const field: Record<string, string | undefined> = { 'spec.nodeName': node, 'metadata.namespace': ds.metadata.namespace ?? 'default' };
    const env = (c.env ?? []).map((e) => {
      const v = e.valueFrom?.fieldRef ? field[e.valueFrom.fieldRef.fieldPath] : undefined;
      return v !== undefined ? { name: e.name, value: v } : e;
    });
    c.env = env;
    // $(VAR) in command and args from the container's env, as the kubelet expands them.
    const vars = new Map(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
    const expand = (s: string) => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => vars.get(v) ?? m);
    if (c.command) c.command = c.command.map(expand);
    if (c.args) c.args = c.args.map(expand);
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: ds.spec.template.metadata?.labels }, spec };
}

/** Run `pod` in lab host `host` (its network is the pod's host network); removed with the lab. */
export async function playPod(lab: Lab, host: string, pod: ReturnType<typeof podOf>): Promise<void> {
  const file = lab.file(`pod-${pod.metadata.name}.yaml`);
  fs.writeFileSync(file, stringify(pod));
  lab.pods.add(pod.metadata.name);
  await podman(['pod', 'rm', '-f', '-t', '0', pod.metadata.name]);
  const r = await podman(['kube', 'play', file], { timeoutMs: 120_000, netns: host });
  if (r.code !== 0) throw new Error(`podman kube play ${pod.metadata.name}: ${r.stderr || r.stdout}`);
}
