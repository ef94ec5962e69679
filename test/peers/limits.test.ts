// Issue 17 ("the daemon must not freeze on input it was given"): a 1.2 KB YAML alias bomb
// froze ternd at 100% CPU and 1.6 GB because the reader expands aliases itself. Every bound the
// reader keeps is refused by name, quickly, and a normal use of aliases still parses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, formatIssue, parseModel } from '../../peers/index.js';
import { DEFAULT_READ_LIMITS } from '../../peers/model/reader.js';
import { aliasBomb } from '../../bench/config-gen.js';

function errorsOf(text: string, limits = DEFAULT_READ_LIMITS): string[] {
  try {
    parseModel(text, 'cluster.yaml', limits);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.filter((i) => i.severity === 'error').map(formatIssue);
  }
  assert.fail('expected a ConfigError');
}

test('issue 17: a billion-laughs alias bomb is refused by the alias limit, not expanded', () => {
  const bomb = aliasBomb();
  assert.ok(bomb.length < 1300, `the bomb is small (${bomb.length} bytes)`);
  const errors = errorsOf(bomb);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /^cluster\.yaml:\d+: YAML aliases expand to more than the limit of 10000 nodes in one document/);
});

test('issue 17: aliases within the limit still mean what they say', () => {
  // Anchors live within one document (YAML 1.2 §6.9.2), so the reuse is inside a List.
  const text = [
    'apiVersion: v1',
    'kind: List',
    'items:',
    '- {apiVersion: projectcalico.org/v3, kind: BGPPeer, metadata: {name: tor-a}, spec: {peerIP: 198.18.0.9, asNumber: &as 64999}}',
    '- {apiVersion: projectcalico.org/v3, kind: BGPPeer, metadata: {name: tor-b}, spec: {peerIP: 198.18.0.10, asNumber: *as}}',
    '',
  ].join('\n');
  const { model } = parseModel(text, 'cluster.yaml');
  assert.equal(model.peers[1].asNumber, 64999);
  assert.equal(model.peers[0].asNumber, 64999);
});

test('issue 17: text, document, resource-count and depth limits are errors naming the limit', () => {
  const peer = (i: number) => `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: p${i}\nspec:\n  peerIP: 198.18.0.${i}\n  asNumber: 65001\n`;
  const three = [1, 2, 3].map(peer).join('---\n');
  assert.deepEqual(errorsOf(three, { ...DEFAULT_READ_LIMITS, maxTextBytes: 100 }), [`cluster.yaml:1: ${three.length} bytes: more than the limit of 100 bytes`]);
  assert.deepEqual(errorsOf(three, { ...DEFAULT_READ_LIMITS, maxResources: 2 }), [
    'cluster.yaml:1: 3 YAML documents: more than the limit of 2 resources in one file',
  ]);
  const big = errorsOf(three, { ...DEFAULT_READ_LIMITS, maxDocumentBytes: 50 });
  assert.equal(big.length, 3);
  assert.match(big[0], /^cluster\.yaml:1: YAML document of \d+ bytes: more than the limit of 50 bytes per resource$/);
  // A List's items count as resources too (kubectl get -o yaml prints one List document).
  const list = `apiVersion: v1\nkind: List\nitems:\n${[1, 2, 3].map((i) => `- apiVersion: projectcalico.org/v3\n  kind: BGPPeer\n  metadata: {name: p${i}}\n  spec: {peerIP: 198.18.0.${i}, asNumber: 65001}\n`).join('')}`;
  assert.deepEqual(errorsOf(list, { ...DEFAULT_READ_LIMITS, maxResources: 2, maxDocumentBytes: 50 }), ['cluster.yaml:12: more than the limit of 2 resources']);
  const deep = `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: p\n  annotations:\n    x: ${'['.repeat(80)}${']'.repeat(80)}\n`;
  assert.match(errorsOf(deep)[0], /YAML nested deeper than the limit of 64 levels/);
  // The same in block style (the fast path hands it to the yaml path, which names the limit).
  const block = `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: p\n  annotations:\n${Array.from({ length: 80 }, (_, i) => `${'  '.repeat(i + 2)}k${i}:`).join('\n')} x\n`;
  assert.match(errorsOf(block)[0], /YAML nested deeper than the limit of 64 levels/);
});

test('issue 17: the file is parsed in a worker with a memory and a time bound, refusals name the bound', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { ModelLoader, DEFAULT_LOAD_LIMITS } = await import('../../peers/model/load.js');
  const dir = mkdtempSync(join(tmpdir(), 'tern-i17-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const loader = new ModelLoader();
  t.after(() => loader.close());
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.244.0.0/16, nodeSelector: "rack == \'a\'"}\n');
  // The selector crossed the thread boundary as text and works again on this side.
  const { model } = await loader.load(good);
  assert.equal(model.ipPools[0].nodeSelector.matches({ rack: 'a' }), true);
  assert.equal(model.ipPools[0].nodeSelector.matches({ rack: 'b' }), false);
  // IPAM blocks cross as JSON tuples: they arrive exactly as parsed (fixture with allocations).
  const fixture = join(__dirname, '../../../test/fixtures/cluster-full.yaml');
  const direct = parseModel((await import('node:fs')).readFileSync(fixture, 'utf8'), fixture);
  const viaWorker = await loader.load(fixture);
  assert.ok(direct.model.ipamBlocks.length > 0 && direct.model.ipamBlocks.some((b) => b.allocationNodes.size > 0));
  assert.deepEqual(viaWorker.model.ipamBlocks, direct.model.ipamBlocks);
  assert.deepEqual(
    viaWorker.model.peers.map((p) => [p.name, p.nodeSelector?.text, p.peerSelector?.text]),
    direct.model.peers.map((p) => [p.name, p.nodeSelector?.text, p.peerSelector?.text]),
  );
  const bomb = join(dir, 'bomb.yaml');
  writeFileSync(bomb, aliasBomb());
  await assert.rejects(loader.load(bomb), (e: unknown) => e instanceof ConfigError && /alias bomb/.test(e.message));
  // The same worker serves the next read after a refusal.
  assert.equal((await loader.load(good)).model.ipPools.length, 1);
  // A parse that outgrows its heap bound kills only the worker: the read is refused by name.
  const tight = new ModelLoader({ ...DEFAULT_LOAD_LIMITS, maxParseMemoryMb: 16 });
  t.after(() => tight.close());
  const big = join(dir, 'big.yaml');
  const peer = (i: number) =>
    `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: p${i}\nspec:\n  peerIP: 198.18.${i >> 8}.${i & 255}\n  asNumber: 65001\n`;
  writeFileSync(big, Array.from({ length: 20000 }, (_, i) => peer(i)).join('---\n'));
  await assert.rejects(tight.load(big), /parsing needed more than the limit of 16 MB of memory \(refused\)/);
  await assert.rejects(loader.load(join(dir, 'absent.yaml')), /ENOENT/);
});
