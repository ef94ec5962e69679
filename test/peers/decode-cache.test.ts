// The per-resource decode cache of the watched datastores (ModelAssembler -> parseResources):
// a rebuild after one change decodes that resource only, and must give exactly the model and
// the issues a rebuild from scratch gives (issue 19: 5,000 nodes / 20,000 blocks per change).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigError, parseResources } from '../../peers/index.js';
import { normModel } from './helpers.js';
import type { DecodeCache } from '../../peers/model/parse.js';

const FIXTURE = join(__dirname, '../../../test/fixtures/cluster-full.yaml');
const objects = (): Record<string, unknown>[] =>
  parseAllDocuments(fs.readFileSync(FIXTURE, 'utf8'))
    .map((d) => d.toJS() as Record<string, unknown>)
    .filter((o) => o !== null);

test('decode cache: cached rebuilds give the model and warnings of an uncached build, warnings not repeated', () => {
  const objs = objects();
  const cache: DecodeCache = new WeakMap();
  const plain = parseResources(objs, 'etcd');
  const first = parseResources(objs, 'etcd', cache);
  const second = parseResources(objs, 'etcd', cache);
  for (const u of [first, second]) {
    assert.deepEqual(normModel(u.model), normModel(plain.model));
    assert.deepEqual(u.warnings, plain.warnings);
  }
});

test('decode cache: a replaced object is decoded anew; an unchanged one is reused as is', () => {
  const objs = objects();
  const cache: DecodeCache = new WeakMap();
  const before = parseResources(objs, 'etcd', cache);
  const i = objs.findIndex((o) => o.kind === 'BGPPeer');
  const peer = objs[i] as { metadata: { name: string }; spec: Record<string, unknown> };
  const changed = { ...peer, spec: { ...peer.spec, asNumber: 65123 } };
  const next = objs.map((o, k) => (k === i ? changed : o));
  const after = parseResources(next, 'etcd', cache);
  assert.equal(after.model.peers.find((p) => p.name === peer.metadata.name)?.asNumber, 65123);
  assert.deepEqual(normModel(after.model), normModel(parseResources(next, 'etcd').model));
  // Unchanged resources are the very objects decoded before (nothing re-decoded).
  const node0 = before.model.nodes[0];
  assert.equal(
    after.model.nodes.find((n) => n.name === node0.name),
    node0,
  );
});

test('decode cache: an error in a cached resource still refuses every rebuild, and a cross-resource error is not cached', () => {
  const objs = objects();
  const cache: DecodeCache = new WeakMap();
  const bad = { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'bad' }, spec: { peerIP: '198.18.0.9', asNumber: 'x' } };
  for (let k = 0; k < 2; k++)
    assert.throws(
      () => parseResources([...objs, bad], 'etcd', cache),
      (e: unknown) => e instanceof ConfigError && e.issues.filter((x) => x.resource === 'BGPPeer/bad' && x.severity === 'error').length === 1,
    );
  // A duplicate name is an error of the pair, not of either object: gone once the twin is.
  const pool = objs.find((o) => o.kind === 'IPPool')!;
  assert.throws(() => parseResources([...objs, { ...pool }], 'etcd', cache), /duplicate IPPool/);
  assert.doesNotThrow(() => parseResources(objs, 'etcd', cache));
});
