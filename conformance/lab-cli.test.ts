// `npm run lab -- up|status|down` (conformance/lab-cli.ts) end to end, under its own namespace
// prefix and state directory so it never touches a lab a person has up: `up` converges (every
// session Established, the pod blocks in every node's kernel), `status` shows them, `down`
// leaves no namespace and no process behind. Incident guarded: a lab left half-built or running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TERND, conformanceGate, netnsListSync, run } from './lab/index.js';

const CLI = path.resolve(__dirname, 'lab-cli.js');

test('npm run lab: up converges, status shows sessions and kernel routes, down removes everything', { timeout: 120_000 }, async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'ternd'], TERND)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-lab-cli-'));
  const env = { ...process.env, TERN_LAB_DIR: path.join(dir, 'state'), TERN_LAB_PREFIX: 'tnl' };
  const cli = (cmd: string) =>
    run(
      '/usr/bin/env',
      [...Object.entries({ TERN_LAB_DIR: env.TERN_LAB_DIR, TERN_LAB_PREFIX: 'tnl' }).map(([k, v]) => `${k}=${v}`), process.execPath, CLI, cmd],
      { timeoutMs: 60_000 },
    );
  const ours = () => netnsListSync().filter((n) => n.startsWith('tnl-'));
  t.after(async () => {
    await cli('down');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const up = await cli('up');
  assert.equal(up.code, 0, up.stdout + up.stderr);
  assert.match(up.stdout, /converged/);
  assert.match(up.stdout, /ip netns exec tnl-n1 .*bgpctl\.js -s .*n1\.sock show peers/);
  assert.deepEqual(ours().sort(), ['tnl-n1', 'tnl-n2', 'tnl-n3', 'tnl-rr1', 'tnl-tor']);
  // A second up refuses to build over the first.
  assert.equal((await cli('up')).code, 1);

  const status = await cli('status');
  assert.equal(status.code, 0, status.stderr);
  // n1's kernel: its own block as a blackhole, the two other nodes' blocks via their addresses.
  const n1 = status.stdout.slice(status.stdout.indexOf('== n1'), status.stdout.indexOf('== n2'));
  assert.match(n1, /blackhole 10\.244\.1\.0\/26/);
  assert.match(n1, /10\.244\.2\.0\/26 .*via 198\.18\.10\.12/);
  assert.match(n1, /10\.244\.3\.0\/26 .*via 198\.18\.10\.13/);
  assert.match(n1, /198\.18\.10\.2 .*Up|198\.18\.10\.2 +64512/);
  assert.match(status.stdout, /10\.244\.3\.0\/26 +unicast/, 'BIRD learned the blocks');

  const pids = fs
    .readdirSync(env.TERN_LAB_DIR)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => Number(fs.readFileSync(path.join(env.TERN_LAB_DIR, f), 'utf8')));
  assert.equal(pids.length, 5);
  const down = await cli('down');
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(ours(), []);
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), `PID ${pid} still running`);
  assert.equal(fs.existsSync(env.TERN_LAB_DIR), false);
});
