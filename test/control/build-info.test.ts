// `ternd --version` / `bgpctl --version` (issue 17): the commit recorded at build time. From the
// checkout when there is one; in an image build (sources without .git) from what deploy/image.sh
// passes; otherwise 'unknown', never a guess.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordBuild, versionLine } from '../../src/build-info.js';

function tree(): string {
  // Under /tmp, outside any git work tree, as the image's build stage is.
  const dir = mkdtempSync(join(tmpdir(), 'tern-i17-build-'));
  mkdirSync(join(dir, 'dist'));
  return dir;
}

test('issue 17: without .git the build records the commit the image build passes, and its dirty flag', (t) => {
  const dir = tree();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const commit = '0123456789abcdef0123456789abcdef01234567';
  assert.deepEqual(recordBuild(dir, { TERN_BUILD_COMMIT: commit, TERN_BUILD_DIRTY: '1' }), { commit, dirty: true });
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'dist', 'build-info.json'), 'utf8')), { commit, dirty: true });
  assert.deepEqual(recordBuild(dir, { TERN_BUILD_COMMIT: commit }), { commit, dirty: false });
});

test('issue 17: without .git and without a usable commit the record says unknown', (t) => {
  const dir = tree();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(recordBuild(dir, {}), { commit: 'unknown', dirty: false });
  assert.deepEqual(recordBuild(dir, { TERN_BUILD_COMMIT: 'main; rm -rf /', TERN_BUILD_DIRTY: '1' }), { commit: 'unknown', dirty: false });
});

test('issue 17: the version line', () => {
  const b = { version: '0.1.0', commit: '0123456789abcdef0123456789abcdef01234567', dirty: false, node: 'v20.19.1' };
  assert.equal(versionLine('ternd', b), 'ternd 0.1.0 (commit 0123456789ab, node v20.19.1)');
  assert.equal(versionLine('bgpctl', { ...b, dirty: true }), 'bgpctl 0.1.0 (commit 0123456789ab+dirty, node v20.19.1)');
  assert.equal(versionLine('ternd', { ...b, commit: 'unknown' }), 'ternd 0.1.0 (commit unknown, node v20.19.1)');
});
