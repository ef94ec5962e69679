// Which datastore ternd reads its model from (--datastore): wiring only, each one lives in
// peers/datastore. Argument checks happen here, before anything else starts.
import fs from 'node:fs';
import { FileDatastore, type Datastore, type EtcdDatastoreOptions, type KubernetesMode } from '../../peers/datastore/index.js';

export interface DatastoreArgs {
  datastore: 'file' | 'etcd' | 'kubernetes';
  config?: string;
  kubeconfig?: string;
  'kubernetes-mode'?: KubernetesMode;
  'secret-namespace'?: string;
  'secret-refresh'?: number;
  'etcd-endpoints'?: string;
  'etcd-cert'?: string;
  'etcd-key'?: string;
  'etcd-ca'?: string;
  'etcd-username'?: string;
  /** A file holding the password (so it appears in no process listing); $ETCD_PASSWORD otherwise. */
  'etcd-password-file'?: string;
}

/** Thrown for a datastore that cannot be set up from the given flags: ternd prints it and exits 1. */
export class DatastoreArgError extends Error {}

export interface DatastoreWiring {
  /** Notable datastore events for the daemon's log. */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  env?: NodeJS.ProcessEnv;
}

export async function createDatastore(a: DatastoreArgs, w: DatastoreWiring = {}): Promise<Datastore> {
  switch (a.datastore) {
    case 'file':
      if (!a.config) throw new DatastoreArgError('--datastore file needs --config FILE');
      return new FileDatastore(a.config, { progress: w.log && ((text) => w.log!(text)) });
    case 'etcd': {
      const options = etcdOptions(a, w);
      // Loaded here only: the etcd3 client takes a third of a second to load.
      const { EtcdDatastore } = await import('../../peers/datastore/etcd.js');
      try {
        return new EtcdDatastore(options);
      } catch (err) {
        throw new DatastoreArgError(`--datastore etcd: ${(err as Error).message}`);
      }
    }
    case 'kubernetes': {
      const env = w.env ?? process.env;
      const mode = a['kubernetes-mode'] ?? 'calico';
      if (a.config && mode !== 'plain')
        throw new DatastoreArgError('--config with --datastore kubernetes is for --kubernetes-mode plain (Calico mode reads everything from the API)');
      // Loaded here only: @kubernetes/client-node takes a second to load.
      const { KubernetesDatastore } = await import('../../peers/datastore/kubernetes.js');
      try {
        return new KubernetesDatastore({
          mode,
          kubeconfig: a.kubeconfig,
          // calico-node reads its namespace from $NAMESPACE (downward API), default kube-system.
          secretNamespace: a['secret-namespace'] ?? env.NAMESPACE ?? 'kube-system',
          secretRefreshMs: (a['secret-refresh'] ?? 10) * 1000,
          configFile: a.config,
        });
      } catch (err) {
        throw new DatastoreArgError(`--datastore kubernetes: ${(err as Error).message}`);
      }
    }
  }
}

function etcdOptions(a: DatastoreArgs, w: DatastoreWiring): EtcdDatastoreOptions {
  const env = w.env ?? process.env;
  // Calico's own variable (ETCD_ENDPOINTS) works too, so an existing calicoctl.cfg environment carries over.
  const list = a['etcd-endpoints'] ?? env.ETCD_ENDPOINTS;
  if (!list) throw new DatastoreArgError('--datastore etcd needs --etcd-endpoints URL[,URL...]');
  if (a.config) throw new DatastoreArgError("--config is the file datastore's; --datastore etcd reads the model from etcd only");
  const endpoints = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]+$/.test(e)) throw new DatastoreArgError(`--etcd-endpoints: ${JSON.stringify(e)} is not http(s)://host:port`);
  }
  const https = endpoints.filter((e) => e.startsWith('https://')).length;
  if (https && https < endpoints.length) throw new DatastoreArgError('--etcd-endpoints: mix of http:// and https:// endpoints');
  const tlsFiles = { cert: a['etcd-cert'], key: a['etcd-key'], ca: a['etcd-ca'] };
  if ((tlsFiles.cert || tlsFiles.key || tlsFiles.ca) && !https) throw new DatastoreArgError('--etcd-cert/--etcd-key/--etcd-ca need https:// endpoints');
  if (!!tlsFiles.cert !== !!tlsFiles.key) throw new DatastoreArgError('--etcd-cert and --etcd-key go together');
  for (const [flag, file] of Object.entries(tlsFiles)) {
    if (file && !fs.existsSync(file)) throw new DatastoreArgError(`--etcd-${flag} ${file}: no such file`);
  }
  let password: string | undefined;
  if (a['etcd-password-file']) {
    try {
      password = fs.readFileSync(a['etcd-password-file'], 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new DatastoreArgError(`--etcd-password-file: ${(err as Error).message}`);
    }
  } else password = env.ETCD_PASSWORD;
  const username = a['etcd-username'] ?? env.ETCD_USERNAME;
  // A user without a password would be sent without one: refuse rather than connect unauthenticated.
  if (username && !password) throw new DatastoreArgError('--etcd-username needs --etcd-password-file (or $ETCD_PASSWORD)');
  if (password && !username) throw new DatastoreArgError('an etcd password needs --etcd-username');
  return { endpoints, certFile: tlsFiles.cert, keyFile: tlsFiles.key, caFile: tlsFiles.ca, username, password, log: w.log };
}
