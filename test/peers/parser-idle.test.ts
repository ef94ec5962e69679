// What an idle node keeps loaded (issue 18: an idle node with three sessions must stay under
// 50 MB): the YAML parser thread is ended a few seconds after its last read, and ternd's main
// thread never loads the yaml package (only the parser thread parses).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelLoader, DEFAULT_LOAD_LIMITS } from '../../peers/model/load.js';
import { until } from '../until.js';

const POOL = 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.244.0.0/16}\n';

test('issue 18: the parser thread is kept between close reads and ended after keepParserSeconds; the next read starts a fresh one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-i18-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'pool.yaml');
  writeFileSync(file, POOL);

  const kept = new ModelLoader({ ...DEFAULT_LOAD_LIMITS, keepParserSeconds: 600 });
  t.after(() => kept.close());
  await kept.load(file);
  const first = kept.parserThreadId;
  assert.ok(first !== undefined, 'a parser thread runs after a read');
  await kept.load(file);
  assert.equal(kept.parserThreadId, first, 'a second close read reuses the warm thread');

  const brief = new ModelLoader({ ...DEFAULT_LOAD_LIMITS, keepParserSeconds: 0.05 });
  t.after(() => brief.close());
  assert.equal((await brief.load(file)).model.ipPools.length, 1);
  const gone = brief.parserThreadId;
  assert.ok(gone !== undefined);
  await until('the idle parser thread is ended', () => brief.parserThreadId === undefined, 20_000, 20);
  // A read after the thread ended works, in a new thread.
  assert.equal((await brief.load(file)).model.ipPools[0].cidr.text, '10.244.0.0/16');
  assert.ok(brief.parserThreadId !== undefined && brief.parserThreadId !== gone);
});

test('issue 18: the modules ternd loads on its main thread do not load the yaml package', () => {
  // A fresh process, so that nothing this test file loaded counts.
  const root = join(__dirname, '..', '..');
  const script = `
    for (const m of ['src/daemon/daemon.js', 'src/daemon/datastore.js', 'src/control/server.js', 'src/control/http.js', 'peers/index.js', 'peers/datastore/file.js', 'peers/model/load.js'])
      require(${JSON.stringify(root)} + '/' + m);
    const loaded = Object.keys(require.cache).filter((k) => /[\\\\/]node_modules[\\\\/]yaml[\\\\/]/.test(k));
    process.stdout.write(JSON.stringify({ modules: Object.keys(require.cache).length, yaml: loaded.length }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as { modules: number; yaml: number };
  assert.ok(out.modules > 50, `the main-thread modules were loaded (${out.modules})`);
  assert.equal(out.yaml, 0, 'yaml is loaded only where a file is parsed');
});
