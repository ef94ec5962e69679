// deploy/systemd/ternd.service (issue 19, docs/bare-metal.md): the unit parses (systemd-analyze
// verify, where systemd is installed), and every flag it and the example environment file pass
// is one ternd knows (a renamed flag would make the service fail at start on every host).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { requireOrSkip } from '../required.js';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const UNIT = path.join(ROOT, 'deploy', 'systemd', 'ternd.service');
const ENV = path.join(ROOT, 'deploy', 'systemd', 'ternd.env');
const TERND = path.resolve(__dirname, '..', '..', 'src', 'ternd.js');
const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => fs.existsSync(p));

test('systemd unit: systemd-analyze verify accepts it, and rejects a broken copy', (t) => {
  if (!requireOrSkip(t, !analyze && 'systemd-analyze not installed (Debian package systemd)') || !analyze) return;
  const ok = spawnSync(analyze, ['verify', UNIT], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stderr.trim(), '', 'no warnings either');
  // The check is real: a missing binary fails verify, and a bad value is a warning on stderr.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-unit-'));
  try {
    const broken = path.join(dir, 'ternd.service');
    fs.writeFileSync(broken, fs.readFileSync(UNIT, 'utf8').replace('ExecStart=/usr/bin/node', 'ExecStart=/usr/bin/no-such-node'));
    assert.notEqual(spawnSync(analyze, ['verify', broken], { encoding: 'utf8' }).status, 0, 'a missing binary must fail verify');
    fs.writeFileSync(broken, fs.readFileSync(UNIT, 'utf8').replace('Restart=on-failure', 'Restart=sometimes'));
    assert.match(spawnSync(analyze, ['verify', broken], { encoding: 'utf8' }).stderr, /restart specifier/, 'a bad value must be reported');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('systemd unit: every flag in ExecStart and the example TERND_OPTS is a ternd flag', () => {
  const unit = fs.readFileSync(UNIT, 'utf8');
  const exec = /^ExecStart=(.*)$/m.exec(unit)![1];
  assert.match(exec, /\/opt\/tern\/dist\/src\/ternd\.js/);
  const env = fs.readFileSync(ENV, 'utf8');
  const opts = env
    .split('\n')
    .filter((l) => /^#? ?TERND_OPTS=/.test(l))
    .map((l) => l.replace(/^#? ?TERND_OPTS=/, ''));
  assert.equal(opts.length, 2, 'an etcd and a file example');
  const help = execFileSync(process.execPath, [TERND, '--help'], { encoding: 'utf8' });
  const flags = [...new Set([exec, ...opts].flatMap((s) => s.match(/--[a-z][a-z-]*/g) ?? []))];
  assert.ok(flags.includes('--etcd-endpoints') && flags.includes('--etcd-password-file'));
  for (const f of flags) assert.ok(help.includes(f), `ternd --help has no ${f}`);
});
