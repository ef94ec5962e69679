// Issue 17: IPAM blocks cross from the parser thread packed (peers/model/block-transfer.ts) and
// must arrive exactly as parsed: every field, IPv4 and IPv6, deleted, without affinity, with
// allocations in use on other nodes. The oracle is the parser's own output for a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, formatIssue, parseModel } from '../../peers/index.js';
import { BlockPacker, packBlocks, unpackBlocks } from '../../peers/model/block-transfer.js';

function blockYaml(i: number): string {
  const v6 = i % 3 === 0;
  const cidr = v6 ? `fd00:${((i * 7919) & 0xffff).toString(16)}::${((i % 16) * 64).toString(16)}/122` : `10.${(i >> 8) & 255}.${i & 255}.${(i % 4) * 64}/26`;
  const affinity = i % 5 === 0 ? '' : `  affinity: host:node-${i % 7}\n`;
  const alloc = i % 4 === 0 ? '  allocations: [null, 0, null, 1]\n  attributes:\n  - secondary: {node: node-9}\n  - secondary: {node: node-8}\n' : '';
  return `apiVersion: crd.projectcalico.org/v1\nkind: IPAMBlock\nmetadata:\n  name: block-${i}\nspec:\n  cidr: ${cidr}\n${affinity}  deleted: ${i % 6 === 0}\n${alloc}`;
}

test('issue 17: IPAM blocks packed in the worker unpack to the parsed blocks (IPv4, IPv6, deleted, no affinity, allocations)', async () => {
  const text = Array.from({ length: 3000 }, (_, i) => blockYaml(i)).join('---\n');
  const { model } = parseModel(text, 'blocks.yaml');
  assert.equal(model.ipamBlocks.length, 3000);
  assert.ok(
    model.ipamBlocks.some((b) => b.cidr.family === 'ipv6') &&
      model.ipamBlocks.some((b) => b.deleted) &&
      model.ipamBlocks.some((b) => b.affinityNode === undefined),
  );
  assert.ok(model.ipamBlocks.some((b) => b.allocationNodes.get(1) === 'node-9' && b.allocationNodes.get(3) === 'node-8'));
  // structuredClone with the buffer transferred: what postMessage does between the threads.
  const packed = packBlocks(model.ipamBlocks);
  const moved = structuredClone(packed, { transfer: [packed.words.buffer as ArrayBuffer] });
  assert.equal(packed.words.length, 0, 'the buffer moved, it was not copied');
  assert.deepEqual(await unpackBlocks(moved), model.ipamBlocks);
  assert.deepEqual(await unpackBlocks(packBlocks([])), []);
});

test('issue 17: blocks packed as decoded (the parser thread) give the same model and the same issues, in order, as the model path', () => {
  const good = Array.from({ length: 300 }, (_, i) => blockYaml(i)).join('---\n');
  const packer = new BlockPacker();
  const viaSink = parseModel(good, 'blocks.yaml', undefined, undefined, (b) => packer.add(b));
  const direct = parseModel(good, 'blocks.yaml');
  assert.equal(viaSink.model.ipamBlocks.length, 0, 'the sink took the blocks');
  assert.deepEqual(packer.finish(), packBlocks(direct.model.ipamBlocks));
  assert.deepEqual(viaSink.warnings, direct.warnings);
  // Errors: a duplicate name, a block without spec (same line as its duplicate error), bad
  // labels, a bad CIDR, host bits (a warning), and a valid block between them.
  const bad = [
    blockYaml(1),
    blockYaml(2).replace('block-2', 'block-1'),
    'apiVersion: crd.projectcalico.org/v1\nkind: IPAMBlock\nmetadata:\n  name: block-1\n',
    'apiVersion: crd.projectcalico.org/v1\nkind: IPAMBlock\nmetadata:\n  name: b-labels\n  labels: {a: [1]}\nspec:\n  cidr: 10.9.0.0/26\n',
    'apiVersion: crd.projectcalico.org/v1\nkind: IPAMBlock\nmetadata:\n  name: b-cidr\nspec:\n  cidr: 10.9.0.300/26\n',
    'apiVersion: crd.projectcalico.org/v1\nkind: IPAMBlock\nmetadata:\n  name: b-host\nspec:\n  cidr: 10.9.0.7/26\n',
  ].join('---\n');
  const issuesOf = (sink: boolean): string[] => {
    try {
      parseModel(bad, 'bad.yaml', undefined, undefined, sink ? () => undefined : undefined);
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.issues.map(formatIssue);
    }
    return assert.fail('expected a ConfigError');
  };
  const expected = issuesOf(false);
  assert.ok(
    expected.some((i) => /duplicate IPAMBlock named "block-1"/.test(i)) &&
      expected.some((i) => /host bits set/.test(i)) &&
      expected.some((i) => /label value/.test(i)),
    expected.join('\n'),
  );
  assert.deepEqual(issuesOf(true), expected);
});

test('issue 17: a re-read lends unchanged blocks to the new model and never lends a changed one', async () => {
  const docs = Array.from({ length: 400 }, (_, i) => blockYaml(i));
  const first = parseModel(docs.join('---\n'), 'blocks.yaml').model.ipamBlocks;
  const index = new Map<string, (typeof first)[number]>();
  const before = await unpackBlocks(packBlocks(first), undefined, index);
  assert.equal(index.size, 400);
  // A block inserted at the top moves every line; one block re-homed, one deleted, one re-addressed.
  const changed = [blockYaml(1000), ...docs];
  changed[11] = changed[11].replace(/affinity: host:node-\d/, 'affinity: host:node-77');
  changed[22] = changed[22].replace('deleted: false', 'deleted: true');
  changed[33] = changed[33].replace(/cidr: 10\.0\.(\d+)\.\d+\/26/, 'cidr: 10.99.$1.0/26');
  const parsed = parseModel(changed.join('---\n'), 'blocks.yaml').model.ipamBlocks;
  const lentFromTop = await unpackBlocks(packBlocks(parsed), index);
  assert.deepEqual(lentFromTop, parsed, 'what arrives is what was parsed, lent or not');
  const byName = (list: typeof first, name: string) => list.find((b) => b.name === name)!;
  // Lines moved: new block objects, but the unchanged prefixes are the very same Cidr objects.
  assert.notEqual(byName(lentFromTop, 'block-5'), byName(before, 'block-5'));
  assert.equal(byName(lentFromTop, 'block-5').cidr, byName(before, 'block-5').cidr);
  assert.notEqual(byName(lentFromTop, parsed[33].name).cidr, byName(before, parsed[33].name).cidr);
  // Appended at the end instead: every unchanged block is the same object.
  const appended = parseModel([...docs, blockYaml(1000)].join('---\n'), 'blocks.yaml').model.ipamBlocks;
  const lent = await unpackBlocks(packBlocks(appended), index);
  assert.deepEqual(lent, appended);
  const same = lent.filter((b) => index.get(b.name) === b).length;
  assert.equal(same, 400 - first.filter((b) => b.allocationNodes.size > 0).length, 'all but the new block and those with allocations (never lent)');
});

test('issue 17: a file of 8 MB or more (whose parser thread is ended after the read) re-read through a new parser thread: the right model, with every unchanged block lent from the last one', async (t) => {
  const { mkdtempSync, writeFileSync, renameSync, rmSync, statSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { ModelLoader, RETIRE_WORKER_BYTES } = await import('../../peers/model/load.js');
  const { ipamBlocksYaml } = await import('../../bench/config-gen.js');
  const dir = mkdtempSync(join(tmpdir(), 'tern-i17-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'blocks.yaml');
  const blocks = Math.ceil(RETIRE_WORKER_BYTES / 200);
  writeFileSync(file, ipamBlocksYaml(blocks));
  assert.ok(statSync(file).size >= RETIRE_WORKER_BYTES);
  const loader = new ModelLoader();
  t.after(() => loader.close());
  const first = (await loader.load(file)).model.ipamBlocks;
  assert.equal(first.length, blocks);
  // One block more at the end (write, then rename, as an editor does): a new parser thread reads it.
  writeFileSync(`${file}.new`, ipamBlocksYaml(blocks + 1));
  renameSync(`${file}.new`, file);
  const second = (await loader.load(file)).model.ipamBlocks;
  assert.equal(second.length, blocks + 1);
  assert.deepEqual(second, parseModel(ipamBlocksYaml(blocks + 1), file).model.ipamBlocks);
  assert.ok(
    second.slice(0, blocks).every((b, i) => b === first[i]),
    'every unchanged block is the same object',
  );
});
