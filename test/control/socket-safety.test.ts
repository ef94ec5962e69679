// The control socket's owner and group (issue 17), with real ternd and bgpctl processes run as
// other users (setpriv): the per-user fallback directory in a world-writable place is refused
// when someone else owns it, bgpctl refuses a socket that is neither root's nor its user's (an
// impostor's), and --control-socket-group lets that group's members in without root.
// Root only (setpriv and chown need it); TERN_CONFORMANCE=1 makes that a failure, not a skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSocketOwner, ensurePrivateDir, resolveGroup, UnsafeSocketError } from '../../src/paths.js';
import { until } from '../until.js';
import { freePort } from '../../conformance/lab/port.js';

const ROOT = join(__dirname, '..', '..', '..');
const TERND = join(ROOT, 'dist', 'src', 'ternd.js');
const BGPCTL = join(ROOT, 'dist', 'src', 'bgpctl.js');
const EXAMPLE = join(ROOT, 'config', 'example.yaml');
// Unprivileged ids of our own (no such users need exist): the ternd user, a group, an operator.
const USER = 41717;
const GROUP = 41718;
const OPERATOR = 41719;

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'needs root (setpriv, chown)';
if (skip && process.env.TERN_CONFORMANCE === '1') throw new Error(`TERN_CONFORMANCE=1: ${skip}`);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs node `script` as uid/gid (with supplementary groups) via setpriv, with env. */
function runAs(uid: number, groups: number[], script: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const priv = ['--reuid', String(uid), '--regid', String(uid), ...(groups.length ? ['--groups', groups.join(',')] : ['--clear-groups'])];
  return new Promise((resolve) =>
    execFile('setpriv', [...priv, process.execPath, script, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    ),
  );
}

/** A world-readable scratch directory (others must reach files in it) and a config for node-a. */
async function scratch(t: { after(fn: () => void): void }): Promise<{ dir: string; cfg: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tern-i17sock-'));
  chmodSync(dir, 0o755);
  const net = `127.78.${(process.pid % 250) + 1}`;
  const yaml = readFileSync(EXAMPLE, 'utf8')
    .replace('127.0.0.1/8', `${net}.1/8`)
    .replace('127.0.0.2/8', `${net}.2/8`)
    .replace(/listenPort: \d+/, `listenPort: ${await freePort()}`);
  const cfg = join(dir, 'cluster.yaml');
  writeFileSync(cfg, yaml);
  chmodSync(cfg, 0o644);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, cfg };
}

test('issue 17: the fallback directory is made private, or refused when someone else owns it or may write it', { skip }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-i17dir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mine = join(dir, 'mine');
  ensurePrivateDir(mine, 0);
  assert.equal(statSync(mine).mode & 0o777, 0o700);
  const theirs = join(dir, 'theirs');
  mkdirSync(theirs, { mode: 0o700 });
  chownSync(theirs, USER, USER);
  assert.throws(
    () => ensurePrivateDir(theirs, 0),
    (e: Error) => e instanceof UnsafeSocketError && /owned by uid 41717, not by this user \(uid 0\)/.test(e.message),
  );
  const open = join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  assert.throws(() => ensurePrivateDir(open, 0), /others may write it \(mode 777\)/);
  // bgpctl's rule: root's or your own socket only (a missing one is left to connect()).
  const fake = join(dir, 'fake.sock');
  writeFileSync(fake, '');
  chownSync(fake, USER, USER);
  assert.throws(() => checkSocketOwner(fake, 0, [0]), /owned by uid 41717 and group 41717, neither root nor you \(uid 0\) nor a group of yours/);
  assert.doesNotThrow(() => checkSocketOwner(fake, USER, [USER]));
  // A non-root ternd (a container's uid) gives the socket to its operators' group.
  chownSync(fake, USER, GROUP);
  assert.doesNotThrow(() => checkSocketOwner(fake, OPERATOR, [OPERATOR, GROUP]));
  assert.throws(() => checkSocketOwner(fake, OPERATOR, [OPERATOR]), /not a ternd of yours/);
  assert.throws(() => checkSocketOwner(fake, 0, [0]), /not a ternd of yours/);
  chownSync(fake, 0, 0);
  assert.doesNotThrow(() => checkSocketOwner(fake, USER, [USER]), 'a root ternd serves the operators of its group');
  assert.doesNotThrow(() => checkSocketOwner(join(dir, 'absent.sock'), 0));
  assert.equal(resolveGroup('41718'), 41718);
  assert.equal(resolveGroup('root'), 0);
  assert.throws(() => resolveGroup('no-such-group-i17'), /no group named no-such-group-i17 in \/etc\/group/);
});

test("issue 17: a non-root ternd refuses a /tmp fallback parent it does not own; bgpctl refuses an impostor's socket", { skip, timeout: 60_000 }, async (t) => {
  const { dir, cfg } = await scratch(t);
  chmodSync(dir, 0o1777); // as /tmp: anyone may create entries, only their owner remove them
  const env = { TMPDIR: dir, NODENAME: 'node-a' };
  const args = ['--config', cfg, '--fib', 'none', '--probes', 'off'];
  // Someone else (root here; any other user in /tmp) made tern-<uid> first.
  const planted = join(dir, `tern-${USER}`);
  mkdirSync(join(planted, 'tern'), { recursive: true, mode: 0o755 });
  const refused = await runAs(USER, [], TERND, args, env);
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(
    refused.stdout + refused.stderr,
    new RegExp(`refusing ${planted.replace(/[/.]/g, '\\$&')} for the control socket: owned by uid 0, not by this user \\(uid ${USER}\\)`),
  );
  assert.equal(existsSync(join(planted, 'tern', 'ternd.sock')), false);

  // With the directory gone, ternd makes it private and listens there.
  rmSync(planted, { recursive: true });
  const procs: ChildProcess[] = [];
  t.after(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  });
  const d = spawn('setpriv', ['--reuid', String(USER), '--regid', String(USER), '--clear-groups', process.execPath, TERND, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: 'ignore',
  });
  procs.push(d);
  const sock = join(planted, 'tern', 'ternd.sock');
  await until('the fallback socket', () => existsSync(sock), 20_000, 250);
  assert.equal(statSync(planted).uid, USER);
  assert.equal(statSync(planted).mode & 0o777, 0o700);
  // The user's own bgpctl finds it without -s (same fallback rule) and talks to it.
  const own = await runAs(USER, [], BGPCTL, ['-j', 'show', 'status'], env);
  assert.equal(own.code, 0, own.stdout + own.stderr);
  assert.equal((JSON.parse(own.stdout) as { nodeName: string }).nodeName, 'node-a');
  // To root that socket is an impostor's: not root's, not root's own ternd.
  const root = await new Promise<Run>((resolve) =>
    execFile(process.execPath, [BGPCTL, '-s', sock, 'show', 'status'], (err, stdout, stderr) =>
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
    ),
  );
  assert.equal(root.code, 2);
  assert.equal(root.stdout, '', "nothing of the impostor's state is shown");
  assert.match(
    root.stderr,
    new RegExp(`refusing .*ternd\\.sock: the socket is owned by uid ${USER} and group ${USER}, neither root nor you \\(uid 0\\) nor a group of yours`),
  );
  d.kill('SIGTERM');
});

test('issue 17: --control-socket-group lets that group use bgpctl without root, and nobody else', { skip, timeout: 60_000 }, async (t) => {
  const { dir, cfg } = await scratch(t);
  const sock = join(dir, 'ternd.sock');
  const unknown = await new Promise<Run>((resolve) =>
    execFile(
      process.execPath,
      [TERND, '--config', cfg, '--node', 'node-a', '--fib', 'none', '--probes', 'off', '--control-socket', sock, '--control-socket-group', 'no-such-group-i17'],
      (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
    ),
  );
  assert.equal(unknown.code, 1);
  assert.match(unknown.stdout + unknown.stderr, /no group named no-such-group-i17/);
  assert.equal(existsSync(sock), false, 'refused before the socket was made');

  const d = spawn(
    process.execPath,
    [TERND, '--config', cfg, '--node', 'node-a', '--fib', 'none', '--probes', 'off', '--control-socket', sock, '--control-socket-group', String(GROUP)],
    { stdio: 'ignore' },
  );
  t.after(() => {
    if (d.exitCode === null) d.kill('SIGKILL');
  });
  await until('the control socket', () => existsSync(sock) && statSync(sock).gid === GROUP, 20_000, 250);
  const st = statSync(sock);
  assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [0, GROUP, 0o660]);
  const member = await runAs(OPERATOR, [GROUP], BGPCTL, ['-s', sock, '-j', 'show', 'status'], {});
  assert.equal(member.code, 0, member.stdout + member.stderr);
  assert.equal((JSON.parse(member.stdout) as { asn: number }).asn, 64512);
  const outsider = await runAs(OPERATOR, [], BGPCTL, ['-s', sock, 'show', 'status'], {});
  assert.equal(outsider.code, 2);
  assert.match(outsider.stderr, /permission denied — run as root or as a member of the socket's group/);
  d.kill('SIGTERM');
});
