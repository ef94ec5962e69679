// Issue 17, startup failures: every input ternd can check is checked before a session is
// planned, and a bad one ends in ONE line naming it and exit 1, never a stack trace. A probe
// port that is taken fails the start (a pod without its liveness probe is killed later anyway);
// `--fib kernel` without CAP_NET_ADMIN says so with the fix instead of failing every write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { doc } from './helpers.js';
import { hasNetAdmin } from '../../src/daemon/preflight.js';
import { judgeHealth } from '../../src/control/health.js';
import { requireOrSkip } from '../required.js';

const TERND = path.resolve(__dirname, '..', '..', 'src', 'ternd.js');
const PORT = 23179 + (process.pid % 500);

function setup(t: { after: (fn: () => void) => void }): { dir: string; config: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-i17-start-'));
  fs.chmodSync(dir, 0o755);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'cluster.yaml');
  fs.writeFileSync(
    config,
    doc('BGPConfiguration', 'default', `  asNumber: 64512\n  listenPort: ${PORT}\n  bindMode: NodeIP`) +
      doc('Node', 'node-a', '  bgp:\n    ipv4Address: 127.0.0.71/8'),
  );
  fs.chmodSync(config, 0o644);
  return { dir, config };
}

/** Runs ternd to its exit; returns exit code and the lines it wrote (text log format). */
function ternd(args: string[], prefix: string[] = []): { code: number | null; lines: string[] } {
  const [cmd, ...pre] = prefix.length ? prefix : [process.execPath];
  const r = spawnSync(cmd, [...pre, ...(prefix.length ? [process.execPath] : []), TERND, '--node', 'node-a', '--log-format', 'text', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, lines: `${r.stdout}${r.stderr}`.split('\n').filter(Boolean) };
}

function assertOneCleanLine(r: { code: number | null; lines: string[] }, re: RegExp): void {
  assert.equal(r.code, 1, r.lines.join('\n'));
  const fatal = r.lines.filter((l) => / FATAL /.test(l));
  assert.equal(fatal.length, 1, r.lines.join('\n'));
  assert.match(fatal[0], re);
  assert.ok(!r.lines.some((l) => /^\s+at /.test(l)), `no stack trace:\n${r.lines.join('\n')}`);
  assert.ok(!r.lines.some((l) => /session .* added/.test(l)), 'no session was planned before the check');
}

test('issue 17: probe port out of range or taken, control socket not a socket or held by a live daemon: one line, exit 1', { timeout: 60_000 }, async (t) => {
  const { dir, config } = setup(t);
  const base = ['--config', config, '--fib', 'none'];
  assertOneCleanLine(
    ternd([...base, '--probes', '127.0.0.1:99999', '--control-socket', path.join(dir, 's')]),
    /cannot start: --probes 127\.0\.0\.1:99999: port 99999 is out of range \(0-65535, 0: any free port\)/,
  );

  const taken: Server = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  assertOneCleanLine(
    ternd([...base, '--probes', `127.0.0.1:${port}`, '--control-socket', path.join(dir, 's')]),
    new RegExp(`cannot start: --probes 127\\.0\\.0\\.1:${port}: the port is already in use`),
  );

  const file = path.join(dir, 'not-a-socket');
  fs.writeFileSync(file, 'keep me');
  assertOneCleanLine(
    ternd([...base, '--probes', 'off', '--control-socket', file]),
    /cannot start: --control-socket .*not-a-socket: exists and is not a socket/,
  );
  assert.equal(fs.readFileSync(file, 'utf8'), 'keep me', 'the file is left alone');

  // A live daemon on the socket: a second ternd must not take its socket over.
  const sock = path.join(dir, 'live.sock');
  const first = spawn(process.execPath, [TERND, ...base, '--node', 'node-a', '--probes', 'off', '--control-socket', sock], { stdio: 'ignore' });
  t.after(() => {
    if (first.exitCode === null) first.kill('SIGKILL');
  });
  for (let i = 0; i < 300 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(fs.existsSync(sock), 'the first ternd listens');
  const second = spawnSync(
    process.execPath,
    [TERND, '--node', 'node-a', '--log-format', 'text', '--config', config, '--fib', 'none', '--probes', 'off', '--control-socket', sock],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assertOneCleanLine(
    { code: second.status, lines: `${second.stdout}${second.stderr}`.split('\n').filter(Boolean) },
    /cannot start: --control-socket .*live\.sock: another daemon answers on it/,
  );
  assert.equal(first.exitCode, null, 'the first ternd still runs');
});

test('issue 17: --fib kernel without CAP_NET_ADMIN says so with the fix (--fib none) and exits 1', { timeout: 30_000 }, (t) => {
  const { dir, config } = setup(t);
  // As root, drop to nobody (no capabilities); as a user, this process has none already.
  const asRoot = process.getuid?.() === 0;
  // setpriv (util-linux) is required in CI (TERN_CONFORMANCE=1 fails instead of skipping).
  if (asRoot && !requireOrSkip(t, spawnSync('setpriv', ['--help']).status !== 0 && 'setpriv (util-linux) to drop root')) return;
  if (!asRoot) assert.equal(hasNetAdmin(), false, 'a non-root test run has no CAP_NET_ADMIN');
  const prefix = asRoot ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--inh-caps=-all'] : [];
  const r = ternd(['--config', config, '--fib', 'kernel', '--probes', 'off', '--control-socket', path.join(dir, 'k.sock')], prefix);
  assertOneCleanLine(r, /cannot start: --fib kernel needs CAP_NET_ADMIN .* or use --fib none/);
});

test('issue 17: hasNetAdmin reads CAP_NET_ADMIN (bit 12) from CapEff; readiness fails while the kernel refuses writes', () => {
  assert.equal(hasNetAdmin('CapEff:\t000001ffffffffff\n'), true);
  assert.equal(hasNetAdmin('CapEff:\t0000000000000000\n'), false);
  assert.equal(hasNetAdmin('CapEff:\t0000000000001000\n'), true);
  const h = judgeHealth({
    configLoaded: true,
    listening: true,
    sessions: [],
    graceMs: 1000,
    now: 0,
    fibDenied: 'EPERM: Operation not permitted (run ternd with NET_ADMIN, or --fib none)',
  });
  assert.equal(h.ready, false);
  assert.deepEqual(h.reasons, ['kernel refuses route writes: EPERM: Operation not permitted (run ternd with NET_ADMIN, or --fib none)']);
});
