// Issue 14: `npm run lab -- up --containers` builds the same cluster from images (Tern's image for
// every ternd, the BIRD image for the ToR), `status` reads it through `podman exec`, and `down`
// removes every container and namespace it recorded. Incident guarded: a lab left running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { conformanceGate, netnsListSync, run } from '../lab/index.js';
import { missingPeerImages, podman } from '../lab/peer-runtime.js';

const CLI = path.resolve(__dirname, '..', 'lab-cli.js');
const TERN_IMAGE = process.env.TERN_IMAGE ?? 'localhost/tern:dev';

test('npm run lab -- up --containers: converges from images, status through podman exec, down removes every container', { timeout: 150_000 }, async (t) => {
  if (!conformanceGate(t, ['root', 'ip'])) return;
  const missing = missingPeerImages(['bird']).concat((await podman(['image', 'exists', TERN_IMAGE])).code === 0 ? [] : [`image ${TERN_IMAGE} (npm run image)`]);
  if (missing.length) {
    if (process.env.TERN_CONFORMANCE === '1') throw new Error(`missing: ${missing.join(', ')} (TERN_CONFORMANCE=1 requires them)`);
    t.skip(missing.join(', '));
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-lab-cli-c-'));
  const state = path.join(dir, 'state');
  const cli = (...args: string[]) =>
    run('/usr/bin/env', [`TERN_LAB_DIR=${state}`, 'TERN_LAB_PREFIX=tnk', process.execPath, CLI, ...args], { timeoutMs: 90_000 });
  const ours = () => netnsListSync().filter((n) => n.startsWith('tnk-'));
  const containers = async () => (await podman(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter((n) => n.startsWith('tern-lab-tnk-'));
  t.after(async () => {
    await cli('down');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const up = await cli('up', '--containers');
  assert.equal(up.code, 0, up.stdout + up.stderr);
  assert.match(up.stdout, /converged/);
  assert.match(up.stdout, /podman exec tern-lab-tnk-n1 bgpctl show peers/);
  assert.deepEqual((await containers()).sort(), ['tern-lab-tnk-n1', 'tern-lab-tnk-n2', 'tern-lab-tnk-n3', 'tern-lab-tnk-rr1', 'tern-lab-tnk-tor']);

  const status = await cli('status');
  assert.equal(status.code, 0, status.stderr);
  const n1 = status.stdout.slice(status.stdout.indexOf('== n1'), status.stdout.indexOf('== n2'));
  assert.match(n1, /blackhole 10\.244\.1\.0\/26/, "n1's own block in its kernel, from the containerised ternd");
  assert.match(n1, /10\.244\.2\.0\/26 .*via 198\.18\.10\.12/);
  assert.match(status.stdout, /10\.244\.3\.0\/26 +unicast/, 'the BIRD container learned the blocks');

  const down = await cli('down');
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(await containers(), []);
  assert.deepEqual(ours(), []);
});
