// ternd end to end on configuration fidelity (issue 16), with real processes on loopback and
// --fib none: a refused file at startup prints its warnings with its errors; a BGPPeer whose
// password Secret is missing is held down (bgpctl, /readyz) until the mounted Secret appears
// (RFC 2385: never up without it); logSeverityScreen sets the log level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigView, NeighborView } from '../../src/control/api.js';
import { requireOrSkip } from '../required.js';
import { until } from '../until.js';
import { freePort } from '../../conformance/lab/port.js';

const ROOT = join(__dirname, '..', '..', '..');
const TERND = join(ROOT, 'dist', 'src', 'ternd.js');
const BGPCTL = join(ROOT, 'dist', 'src', 'bgpctl.js');
const NET = `127.78.${(process.pid % 250) + 1}`;

const bgpctlJson = <T>(sock: string, ...args: string[]): Promise<T> =>
  new Promise((resolve, reject) => {
    execFile(process.execPath, [BGPCTL, '-s', sock, '-j', ...args], (err, stdout, stderr) =>
      err ? reject(new Error(stderr || String(err))) : resolve(JSON.parse(stdout) as T),
    );
  });

const readyz = (port: number): Promise<{ status: number; body: { reasons: string[] } }> =>
  new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz' }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
    });
    req.on('error', reject);
    req.end();
  });

const header = (port: number, extra = '') =>
  `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec:\n  asNumber: 64512\n  nodeToNodeMeshEnabled: false\n  listenPort: ${port}\n${extra}---\n` +
  `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1}\nspec: {bgp: {ipv4Address: ${NET}.1/32}}\n`;

test('a file refused at startup: the warnings are printed with the errors, and ternd exits 1 (issue 16)', { timeout: 30_000 }, async (t) => {
  if (!requireOrSkip(t, !existsSync(TERND) && 'dist/src/ternd.js not built')) return;
  const dir = mkdtempSync(join(tmpdir(), 'tern-i16-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'cluster.yaml');
  writeFileSync(
    file,
    header(await freePort(), '  ipv4NormalRoutePriority: 1024\n') +
      `---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: tor}\nspec:\n  nodeselector: rack == 'a'\n  peerIP: ${NET}.9\n  asNumber: 65001\n`,
  );
  const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const p = spawn(process.execPath, [TERND, '--config', file, '--node', 'n1', '--fib', 'none', '--probes', 'off', '--control-socket', join(dir, 's.sock')]);
    let text = '';
    p.stdout.on('data', (c) => (text += c));
    p.stderr.on('data', (c) => (text += c));
    p.on('exit', (code) => resolve({ code, text }));
  });
  assert.equal(out.code, 1);
  const warn = out.text.indexOf('spec.ipv4NormalRoutePriority: warning: not implemented by Tern');
  const err = out.text.indexOf('spec.nodeselector: unknown field: did you mean \\"nodeSelector\\"?');
  assert.ok(warn >= 0, `no warning in:\n${out.text}`);
  assert.ok(err > warn, `the error is missing or printed before the warning:\n${out.text}`);
});

test('RFC 2385: a BGPPeer whose password Secret is missing is held down (bgpctl, /readyz) until the mounted Secret appears; logSeverityScreen sets the level', {
  timeout: 60_000,
}, async (t) => {
  if (!requireOrSkip(t, !existsSync(TERND) && 'dist/src/ternd.js not built')) return;
  const dir = mkdtempSync(join(tmpdir(), 'tern-i16-'));
  const procs: ChildProcess[] = [];
  t.after(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const [bgpPort, probePort] = [await freePort(), await freePort()];
  const file = join(dir, 'cluster.yaml');
  const secrets = join(dir, 'secrets');
  mkdirSync(join(secrets, 'bgp-pw'), { recursive: true });
  writeFileSync(
    file,
    header(bgpPort, '  logSeverityScreen: Warning\n') +
      `---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: tor}\nspec:\n  peerIP: ${NET}.9\n  asNumber: 65001\n  password: {secretKeyRef: {name: bgp-pw, key: tor}}\n`,
  );
  const sock = join(dir, 's.sock');
  const p = spawn(
    process.execPath,
    [
      TERND,
      '--config',
      file,
      '--node',
      'n1',
      '--fib',
      'none',
      '--probes',
      `127.0.0.1:${probePort}`,
      '--control-socket',
      sock,
      '--secrets-dir',
      secrets,
      '--secrets-recheck',
      '1',
      '--ready-grace',
      '600',
    ],
    { stdio: 'ignore' },
  );
  procs.push(p);
  const n = await until('ternd answers', () => bgpctlJson<NeighborView>(sock, 'show', 'neighbor', `${NET}.9`), 30_000, 250);
  assert.match(n.heldDown ?? '', /^BGPPeer tor spec\.password: secret bgp-pw\/tor unavailable: no Secret "bgp-pw" in the datastore; no file .*bgp-pw\/tor$/);
  assert.equal(n.state, 'Idle');
  assert.equal(n.md5, false);
  const r = await readyz(probePort);
  assert.equal(r.status, 503);
  assert.ok(
    r.body.reasons.some((x) => x.startsWith(`session ${NET}.9 held down: BGPPeer tor`)),
    JSON.stringify(r.body),
  );
  assert.equal((await bgpctlJson<ConfigView>(sock, 'show', 'config')).logLevel, 'warn', 'logSeverityScreen Warning');
  // The mounted Secret appears: within a recheck the session is planned with its password and starts.
  writeFileSync(join(secrets, 'bgp-pw', 'tor'), 'tor-key\n');
  const up = await until(
    'the session is no longer held down',
    async () => {
      const x = await bgpctlJson<NeighborView>(sock, 'show', 'neighbor', `${NET}.9`);
      return x.heldDown === undefined && x.md5 ? x : undefined;
    },
    30_000,
    250,
  );
  assert.equal(up.md5, true);
  // Within its grace period (600 s) and not held down: ready.
  assert.equal((await readyz(probePort)).status, 200);
});
