// The datastore seam (issue 12): a model read as JSON resources (the Kubernetes API, etcd) is the
// model the same resources give from a YAML file, and the shared assembler never hands out a
// half-synced model, coalesces bursts, and keeps the last good model when a change is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigError, loadModelFile, parseResources } from '../../peers/index.js';
import { FileDatastore, ModelAssembler, REBUILD_DELAY_MS, type DatastoreEvent } from '../../peers/datastore/index.js';

const FIXTURE = join(__dirname, '../../../test/fixtures/cluster-full.yaml');

const node = (name: string, ip: string) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'Node',
  metadata: { name, labels: { rack: 'a' } },
  spec: { bgp: { ipv4Address: `${ip}/24` } },
});
const peer = (name: string, ip: string, asNumber: number | string) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'BGPPeer',
  metadata: { name },
  spec: { peerIP: ip, asNumber },
});

function withoutLines(v: unknown): unknown {
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, withoutLines(x)]));
  if (Array.isArray(v)) return v.map(withoutLines);
  // Selectors are closures: equal when they print the same expression.
  if (v && typeof v === 'object' && 'matches' in v && typeof v.matches === 'function') return `selector ${String(v)}`;
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== 'line' && k !== 'file')
        .map(([k, x]) => [k, withoutLines(x)]),
    );
  }
  return v;
}

test('one model: the JSON resources of a file give the model the file gives', () => {
  const fromFile = loadModelFile(FIXTURE);
  const objects = parseAllDocuments(fs.readFileSync(FIXTURE, 'utf8'))
    .map((d) => d.toJS() as unknown)
    .filter((o) => o !== null);
  const fromJson = parseResources(objects, 'kubernetes');
  assert.equal(fromJson.model.source, 'kubernetes');
  // Everything but where it came from: a file has line numbers, the API and etcd have none.
  assert.deepEqual(withoutLines({ ...fromJson.model, source: '' }), withoutLines({ ...fromFile.model, source: '' }));
  assert.deepEqual(withoutLines(fromJson.warnings), withoutLines(fromFile.warnings));
});

test('JSON resources are validated like a file, and issues name the datastore, not a line', () => {
  assert.throws(
    () => parseResources([node('n1', '198.18.0.1'), peer('tor', '198.18.0.254', 'not-an-as')], 'etcd'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const msg = e.message;
      assert.match(msg, /etcd: BGPPeer\/tor: spec\.asNumber: /);
      return true;
    },
  );
});

test('assembler: nothing before the initial sync completes; then one rebuild per burst', async () => {
  const a = new ModelAssembler('kubernetes', 'https://198.18.0.1:6443');
  const events: DatastoreEvent[] = [];
  a.listen((e) => events.push(e));
  a.set('Node/n1', node('n1', '198.18.0.1'));
  a.changed('watch: Node/n1');
  await new Promise((r) => setTimeout(r, REBUILD_DELAY_MS * 4));
  assert.equal(events.filter((e) => e.type === 'model').length, 0, 'a half-synced model is never applied');
  assert.equal(a.status().state, 'syncing');

  const first = a.synced();
  assert.deepEqual(
    first.model.nodes.map((n) => n.name),
    ['n1'],
  );
  assert.equal(a.status().state, 'synced');

  for (let i = 0; i < 10; i++) {
    a.set(`BGPPeer/p${i}`, peer(`p${i}`, `198.18.1.${i + 1}`, 65000 + i));
    a.changed(`watch: BGPPeer/p${i}`);
  }
  await new Promise((r) => setTimeout(r, REBUILD_DELAY_MS * 4));
  const models = events.filter((e) => e.type === 'model');
  assert.equal(models.length, 1, 'ten events in one burst make one model');
  assert.equal(models[0].type === 'model' && models[0].update.model.peers.length, 10);
  assert.match(models[0].type === 'model' ? models[0].update.trigger : '', /and 7 more/);
});

test('assembler: a refused change keeps the state error until a good one, and stale is reported', async () => {
  const a = new ModelAssembler('etcd', 'http://127.0.0.1:2379');
  const events: DatastoreEvent[] = [];
  a.listen((e) => events.push(e));
  a.set('Node/n1', node('n1', '198.18.0.1'));
  a.synced();
  a.set('BGPPeer/bad', peer('bad', '198.18.0.254', 'x'));
  a.changed('watch: BGPPeer/bad');
  await new Promise((r) => setTimeout(r, REBUILD_DELAY_MS * 4));
  const refused = events.find((e) => e.type === 'refused');
  assert.ok(refused && refused.type === 'refused' && /BGPPeer\/bad/.test(refused.errors[0]));
  assert.equal(a.status().state, 'error');
  a.delete('BGPPeer/bad');
  a.changed('watch: BGPPeer/bad deleted');
  await new Promise((r) => setTimeout(r, REBUILD_DELAY_MS * 4));
  assert.equal(a.status().state, 'synced');
  a.stale('connection refused');
  assert.equal(a.status().state, 'stale');
  assert.equal(a.status().detail, 'connection refused');
  a.recovered();
  assert.equal(a.status().state, 'synced');
  assert.deepEqual(
    events.filter((e) => e.type === 'status').map((e) => e.type === 'status' && e.status.state),
    ['synced', 'error', 'synced', 'stale', 'synced'],
  );
});

test('file datastore: a change is read and sent; a bad file is refused and marks the state error', async () => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'tern-ds-'));
  try {
    const file = join(dir, 'cluster.yaml');
    const yaml = (peers: string) =>
      `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: n1\nspec:\n  bgp:\n    ipv4Address: 198.18.0.1/24\n${peers}`;
    fs.writeFileSync(file, yaml(''));
    const ds = new FileDatastore(file);
    const events: DatastoreEvent[] = [];
    const first = await ds.start((e) => events.push(e));
    assert.equal(first.model.peers.length, 0);
    assert.equal(ds.status().state, 'synced');
    fs.writeFileSync(
      file,
      yaml('---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: tor\nspec:\n  peerIP: 198.18.0.254\n  asNumber: 65001\n'),
    );
    for (let i = 0; i < 100 && !events.some((e) => e.type === 'model'); i++) await new Promise((r) => setTimeout(r, 20));
    const m = events.find((e) => e.type === 'model');
    assert.ok(m && m.type === 'model', 'the watched change arrives as a model event');
    assert.equal(m.update.model.peers[0].name, 'tor');
    assert.equal(m.update.trigger, 'file changed');
    fs.writeFileSync(file, yaml('---\nkind: BGPPeer\n'));
    await assert.rejects(ds.resync('SIGHUP'), ConfigError);
    assert.equal(ds.status().state, 'error');
    await ds.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
