// A KubernetesDatastore against the kube-apiserver stand-in, with a log of its events and a way
// to wait for the next model that satisfies a condition.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiServer, type ApiServerOptions } from '../../conformance/k8s/apiserver.js';
import { KubernetesDatastore, type KubernetesDatastoreOptions } from '../../peers/datastore/kubernetes.js';
import type { DatastoreEvent, ModelUpdate } from '../../peers/datastore/index.js';
import type { ClusterModel } from '../../peers/index.js';

export async function startApi(opts: ApiServerOptions = {}): Promise<{ api: ApiServer; kubeconfig: string; dir: string }> {
  const api = new ApiServer({ bookmarkMs: 200, ...opts });
  await api.start();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-k8s-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, api.kubeconfig());
  return { api, kubeconfig, dir };
}

export interface Watched {
  ds: KubernetesDatastore;
  events: DatastoreEvent[];
  first: Promise<ModelUpdate>;
  /** The first model (from start(), or a later event) for which `pred` holds, after event index `since`. */
  model(pred: (m: ClusterModel) => boolean, timeoutMs?: number, since?: number): Promise<ModelUpdate>;
  models(): ModelUpdate[];
}

export function watchDatastore(kubeconfig: string, opts: Partial<KubernetesDatastoreOptions> = {}): Watched {
  const ds = new KubernetesDatastore({
    mode: 'calico',
    kubeconfig,
    secretNamespace: 'calico-system',
    secretRefreshMs: 200,
    backoffMinMs: 50,
    backoffMaxMs: 400,
    ...opts,
  });
  const events: DatastoreEvent[] = [];
  const waiters = new Set<() => void>();
  const first = ds.start((e) => {
    events.push(e);
    for (const w of [...waiters]) w();
  });
  const models = () => events.flatMap((e) => (e.type === 'model' ? [e.update] : []));
  return {
    ds,
    events,
    first,
    models,
    async model(pred, timeoutMs = 5000, since = 0) {
      const f = await first;
      if (since === 0 && pred(f.model)) return f;
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = events.slice(since).find((e) => e.type === 'model' && pred(e.update.model));
          if (hit && hit.type === 'model') {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(hit.update);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching model within ${timeoutMs} ms; events: ${events
                .slice(since)
                .map((e) =>
                  e.type === 'model'
                    ? `model(${e.update.trigger})`
                    : e.type === 'status'
                      ? `status(${e.status.state} ${e.status.detail ?? ''})`
                      : `refused(${e.errors[0]})`,
                )
                .join(', ')}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
