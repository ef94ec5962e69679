/**
 * File-datastore stand-in for Kubernetes Secrets: a BGPPassword `secretKeyRef {name, key}` is
 * read from `<dir>/<name>/<key>` (the layout of a Secret mounted as a volume), trailing
 * newline removed. Pass the result as PlanOptions.resolveSecret.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const SAFE = /^[A-Za-z0-9._-]+$/;

export function fileSecretResolver(dir: string): (ref: { name: string; key: string }) => string | undefined {
  return ({ name, key }) => {
    if (!SAFE.test(name) || !SAFE.test(key) || name.startsWith('..') || key.startsWith('..')) return undefined;
    try {
      return readFileSync(join(dir, name, key), 'utf8').replace(/\r?\n$/, '');
    } catch {
      return undefined;
    }
  };
}
