// The live model of the watched datastores (peers/model/live.ts): kept up to date one resource
// at a time, it must give, after any sequence of sets and deletes, the model and the issues that
// parseResources (the file parser's path, which rebuilds everything) gives for the resources
// present then. Issue 13: a change must reach the model in O(changed objects) at 5,000 nodes /
// 20,000 blocks, so the live model keeps its cross-resource checks incrementally; this is the
// oracle that they say what the whole-model checks say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigError, parseResources } from '../../peers/index.js';
import { normModel } from './helpers.js';
import { LiveModel } from '../../peers/model/live.js';
import { prng } from '../../bench/prng.js';
import type { ConfigIssue } from '../../peers/types.js';

const FIXTURE = join(__dirname, '../../../test/fixtures/cluster-full.yaml');
type Obj = Record<string, unknown> & { kind?: string; metadata?: { name?: string } };

/** Issues as a sorted list: the live model reports the same issues, grouped a little differently. */
const issueSet = (issues: ConfigIssue[]) => issues.map((i) => JSON.stringify(i)).sort();

function outcome(f: () => { model: unknown; warnings: ConfigIssue[] }): { model?: unknown; issues: string[]; refused: boolean } {
  try {
    const { model, warnings } = f();
    return { model: normModel(model), issues: issueSet(warnings), refused: false };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { issues: issueSet(err.issues), refused: true };
  }
}

const CRD = 'crd.projectcalico.org/v1';
const node = (name: string, ip: string): Obj => ({ apiVersion: CRD, kind: 'Node', metadata: { name }, spec: { bgp: { ipv4Address: ip } } });
const affinity = (name: string, nodeName: string, cidr: string): Obj => ({
  apiVersion: CRD,
  kind: 'BlockAffinity',
  metadata: { name },
  spec: { node: nodeName, cidr, state: 'confirmed', deleted: 'false' },
});
const block = (name: string, cidr: string, host: string): Obj => ({
  apiVersion: CRD,
  kind: 'IPAMBlock',
  metadata: { name },
  spec: { cidr, affinity: `host:${host}` },
});

/** Resources to draw from: the full fixture, and variants that hit every cross-resource rule. */
function pool(): Obj[] {
  const fixture = parseAllDocuments(fs.readFileSync(FIXTURE, 'utf8'))
    .map((d) => d.toJS() as Obj)
    .filter((o) => o !== null);
  return [
    ...fixture,
    node('node-c', '198.18.3.10/24'),
    node('node-d', '198.18.3.10/24'), // the address of node-c: an error while both are present
    node('node-a', '198.18.9.10/24'), // a second node-a (under another key): duplicate name
    affinity('node-c-10-244-1-0-26', 'node-c', '10.244.1.0/26'),
    affinity('ghost-10-244-2-0-26', 'ghost', '10.244.2.0/26'), // no such Node
    block('10-244-1-0-26', '10.244.1.0/26', 'node-c'),
    { apiVersion: CRD, kind: 'BGPPeer', metadata: { name: 'bad' }, spec: { peerIP: '198.18.0.9', asNumber: 'x' } },
    { apiVersion: CRD, kind: 'BGPPeer', metadata: { name: 'to-c' }, spec: { peerIP: '198.18.0.8', asNumber: 65010, node: 'node-c', filters: ['missing'] } },
    { apiVersion: CRD, kind: 'IPPool', metadata: { name: 'overlap' }, spec: { cidr: '10.244.128.0/17', ipipMode: 'Always' } },
    { apiVersion: CRD, kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: {} },
    { apiVersion: 'v1', kind: 'List', items: [node('node-e', '198.18.4.10/24'), affinity('node-e-10-244-3-0-26', 'node-e', '10.244.3.0/26')] },
  ];
}

test('live model: after every set and delete it gives the model and issues parseResources gives (issue 13)', () => {
  const objs = pool();
  for (const seed of [1, 2, 3, 4, 5]) {
    const rand = prng(seed);
    const live = new LiveModel('kubernetes');
    /** What the source holds now, by key, in the order the live model keeps (a changed key goes last). */
    const held = new Map<string, Obj>();
    for (let step = 0; step < 120; step++) {
      const i = Math.floor(rand() * objs.length);
      // Keys as the readers make them (Kind/name), and now and then another key for the same
      // resource (an etcd key; two keys with one name are a duplicate).
      const o = objs[i];
      const key = rand() < 0.2 ? `alias/${i}` : `${o.kind}/${o.metadata?.name}`;
      if (held.has(key) && rand() < 0.5) {
        held.delete(key);
        assert.equal(live.delete(key), true);
      } else {
        held.delete(key);
        held.set(key, o);
        live.set(key, o);
      }
      const want = outcome(() => parseResources([...held.values()], 'kubernetes'));
      const got = outcome(() => live.build());
      assert.deepEqual(got, want, `seed ${seed} step ${step}: after ${key}`);
    }
  }
});

test('live model: a resource set again with its version is not decoded again; a refused build keeps its changes for the next', () => {
  const live = new LiveModel('etcd');
  assert.equal(live.set('n/a', node('node-a', '198.18.1.10/24'), 7), true);
  const first = live.build().model;
  assert.equal(live.set('n/a', node('node-a', '198.18.1.99/24'), 7), false, 'same version: kept as it is');
  assert.equal(live.build().model.nodes[0], first.nodes[0]);
  assert.equal(live.versionOf('n/a'), 7);
  // A change, then an error elsewhere: refused; once the error goes, the change is in the model.
  live.set('n/a', node('node-a', '198.18.1.11/24'), 8);
  live.set('p/bad', { apiVersion: CRD, kind: 'BGPPeer', metadata: { name: 'bad' }, spec: { peerIP: '198.18.0.9', asNumber: 'x' } });
  assert.throws(() => live.build(), ConfigError);
  live.delete('p/bad');
  assert.equal(live.build().model.nodes[0].ipv4Address, '198.18.1.11');
  assert.equal(live.build().model.blockAffinities, live.build().model.blockAffinities, 'an unchanged kind is the same array');
});
