/**
 * Where a BGPPassword `secretKeyRef {name, key}` gets its value, independent of the datastore:
 *  1. the Secrets the datastore delivered with the model (ClusterModel.secrets: `Secret`
 *     resources in the file datastore; the Kubernetes datastore fills the same map from the API);
 *  2. a directory of mounted Secrets (ternd --secrets-dir DIR), laid out as Kubernetes mounts a
 *     Secret volume: DIR/<secret name>/<key>, trailing newline removed.
 * The datastore wins when both have the key: it is what Calico itself reads, and a mounted
 * volume lags behind the API by the kubelet's sync period. A reference neither can answer is an
 * error that keeps the session down (never up without the password it was given).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SecretRef {
  name: string;
  key: string;
}

/** A resolved password, or why there is none (for the log, `show neighbor` and /readyz). */
export type SecretLookup = { value: string } | { error: string };

export type SecretResolver = (ref: SecretRef) => SecretLookup;

const SAFE = /^[A-Za-z0-9._-]+$/;

export function fileSecretResolver(dir: string): SecretResolver {
  return ({ name, key }) => {
    if (!SAFE.test(name) || !SAFE.test(key) || name.startsWith('..') || key.startsWith('..')) {
      return { error: `${JSON.stringify(`${name}/${key}`)} is not a Secret name and key that can be read from ${dir}` };
    }
    const path = join(dir, name, key);
    try {
      return { value: readFileSync(path, 'utf8').replace(/\r?\n$/, '') };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { error: code === 'ENOENT' ? `no file ${path}` : `cannot read ${path}: ${code ?? (err as Error).message}` };
    }
  };
}

/**
 * The value of a secretKeyRef: the model's Secrets first, then the resolver (see the header).
 * An empty value is an error too: TCP MD5 with an empty key is no authentication.
 */
export function lookupSecret(secrets: ReadonlyMap<string, Record<string, string>>, ref: SecretRef, resolver?: SecretResolver): SecretLookup {
  const why: string[] = [];
  const s = secrets.get(ref.name);
  if (s && ref.key in s) {
    if (s[ref.key] !== '') return { value: s[ref.key] };
    why.push(`key ${JSON.stringify(ref.key)} of Secret ${JSON.stringify(ref.name)} is empty`);
  } else why.push(s ? `Secret ${JSON.stringify(ref.name)} has no key ${JSON.stringify(ref.key)}` : `no Secret ${JSON.stringify(ref.name)} in the datastore`);
  if (resolver) {
    const r = resolver(ref);
    if ('value' in r && r.value !== '') return r;
    why.push('value' in r ? `the mounted secret ${ref.name}/${ref.key} is empty` : r.error);
  } else why.push('no --secrets-dir given');
  return { error: `secret ${ref.name}/${ref.key} unavailable: ${why.join('; ')}` };
}
