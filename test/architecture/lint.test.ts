// Issue 12: one formatter and one linter (Biome, configured in biome.jsonc) for the whole tree, run
// with the rest of the suite so that style and the recommended lint rules cannot drift. A failure
// prints Biome's own report; `npx biome check --write .` applies the formatting and safe fixes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIOME = path.join(ROOT, 'node_modules', '.bin', 'biome');

test('issue 12: biome check passes (formatting and lint errors) on every source file', () => {
  const r = spawnSync(BIOME, ['check', '--colors=off', '.'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.error, undefined, `biome did not run: ${r.error?.message}`);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  // It read the tree (a check that found no files would pass on nothing).
  assert.match(`${r.stdout}${r.stderr}`, /Checked [1-9]\d{2,} files/);
});
