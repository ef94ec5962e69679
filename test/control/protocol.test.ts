// Control socket protocol: server + client over a temporary Unix socket with FakeDaemon.
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlError, type NeighborView, type PeerView, type RibRowView } from '../../src/control/api.js';
import { ControlClient, UnreachableError } from '../../src/control/client.js';
import { startControlServer } from '../../src/control/server.js';
import { FakeDaemon, PEERS, quietLog } from './fake-daemon.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tern-ctl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Sends raw lines and collects the answer lines until `count` arrived. */
function raw(path: string, text: string, count: number): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\n').filter(Boolean);
      if (lines.length >= count) {
        s.destroy();
        resolve(lines.map((l) => JSON.parse(l) as Record<string, unknown>));
      }
    });
    s.on('error', reject);
    s.write(text);
  });
}

test('socket is created in a new directory with mode 0660 and answers show.peers (issue 7)', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'run', 'tern', 'ternd.sock');
  const srv = await startControlServer(new FakeDaemon(), path, quietLog);
  t.after(() => srv.close());
  assert.equal(statSync(path).mode & 0o777, 0o660);
  const c = await ControlClient.connect(path);
  t.after(() => c.close());
  const peers = await c.request<PeerView[]>('show.peers');
  // The view objects arrive field for field (they are bgpctl's JSON output).
  assert.deepEqual(
    peers.map((p) => ({ ...p, since: null })),
    PEERS.map((p) => ({ ...p, since: null })),
  );
  assert.equal(typeof peers[0].since, 'string');
  const hello = await c.request<{ version: string; protocol: number }>('hello');
  assert.equal(hello.version, '0.1.0-fake');
  assert.equal(hello.protocol, 1);
});

test('a stale socket file is replaced; a live daemon on the path makes start fail', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'ternd.sock');
  // A stale socket as a crash leaves it: a process bound it and was killed (no unlink).
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
  t.after(() => child.kill('SIGKILL'));
  await once(child.stdout, 'data');
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.ok(statSync(path).isSocket());
  const srv = await startControlServer(new FakeDaemon(), path, quietLog);
  t.after(() => srv.close());
  await assert.rejects(startControlServer(new FakeDaemon(), path, quietLog), /another daemon answers/);
  // The first server still answers.
  const c = await ControlClient.connect(path);
  t.after(() => c.close());
  assert.equal((await c.request<PeerView[]>('show.peers')).length, PEERS.length);
});

test('a regular file at the socket path is never deleted', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'ternd.sock');
  writeFileSync(path, 'not a socket');
  await assert.rejects(startControlServer(new FakeDaemon(), path, quietLog), /not a socket/);
  assert.ok(statSync(path).isFile());
});

test('structured errors: unknown neighbor, bad prefix, bad argument, daemon exception', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'ternd.sock');
  const fake = new FakeDaemon();
  fake.config = () => {
    throw new Error('model not loaded');
  };
  const srv = await startControlServer(fake, path, quietLog);
  t.after(() => srv.close());
  const c = await ControlClient.connect(path);
  t.after(() => c.close());
  const code = (p: Promise<unknown>, want: string) => assert.rejects(p, (e: unknown) => e instanceof ControlError && e.code === want);
  await code(c.request('show.neighbor', { address: '127.0.0.99' }), 'unknown-neighbor');
  await code(c.request('show.neighbor', { address: 'not-an-ip' }), 'bad-argument');
  await code(c.request('show.neighbor', {}), 'bad-argument');
  await code(c.request('show.fib', { prefix: '10.1.2.3/8' }), 'bad-prefix');
  const fib: unknown[] = [];
  for await (const r of c.stream('show.fib')) fib.push(r);
  assert.equal(fib.length, 4, 'show.fib streams its rows');
  await code(c.request('neighbor.action', { address: '127.0.0.2', action: 'explode' }), 'bad-argument');
  // RFC 9003 §2: at most 255 octets of UTF-8.
  await code(c.request('neighbor.action', { address: '127.0.0.2', action: 'down', message: 'é'.repeat(128) }), 'bad-argument');
  await code(c.request('log.level', { level: 'loud' }), 'bad-argument');
  await code(c.request('fib.couple', { coupled: 'yes' }), 'bad-argument');
  await code(c.request('show.config'), 'internal');
  await code(c.request('neighbor.action', { address: '127.0.0.99', action: 'clear' }), 'unknown-neighbor');
  // The connection survives errors.
  const n = await c.request<NeighborView>('show.neighbor', { address: '127.0.0.2' });
  assert.equal(n.remoteAddress, '127.0.0.2');
  assert.equal(n.lastErrorReceived?.shutdownMessage, 'maintenance window');
  await c.request('neighbor.action', { address: '127.0.0.2', action: 'down', message: 'é'.repeat(127), hard: true });
  assert.deepEqual(fake.actions, [{ addr: '127.0.0.2', action: 'down', opts: { message: 'é'.repeat(127), hard: true } }]);
});

test('versioning: unknown version, unknown command, bad JSON and missing id answer structured errors', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'ternd.sock');
  const srv = await startControlServer(new FakeDaemon(), path, quietLog);
  t.after(() => srv.close());
  const answers = await raw(
    path,
    [
      '{"v":2,"id":1,"cmd":"show.peers"}',
      '{"v":1,"id":2,"cmd":"show.everything"}',
      'not json',
      '{"v":1,"cmd":"show.peers"}',
      '{"v":1,"id":5,"cmd":"show.peers"}',
    ].join('\n') + '\n',
    5,
  );
  assert.deepEqual(
    answers.map((a) => [a.v, a.id, a.ok, (a.error as { code?: string } | undefined)?.code]),
    [
      [1, 1, false, 'unsupported-version'],
      [1, 2, false, 'unknown-command'],
      [1, null, false, 'bad-request'],
      [1, null, false, 'bad-request'],
      [1, 5, true, undefined],
    ],
  );
});

test('an over-long request line is refused and the connection closed', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'ternd.sock');
  const srv = await startControlServer(new FakeDaemon(), path, quietLog);
  t.after(() => srv.close());
  const [a] = await raw(path, 'x'.repeat(200 * 1024), 1);
  assert.equal(a.ok, false);
  assert.equal((a.error as { code: string }).code, 'bad-request');
});

test('show.rib streams 100k rows lazily with backpressure, without building the answer in memory', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'ternd.sock');
  const fake = new FakeDaemon();
  fake.ribRows = 100_000;
  const srv = await startControlServer(fake, path, quietLog);
  t.after(() => srv.close());
  const c = await ControlClient.connect(path);
  t.after(() => c.close());
  let n = 0;
  let maxAhead = 0;
  let last = '';
  for await (const row of c.stream<RibRowView>('show.rib', { view: 'loc' })) {
    n++;
    last = row.prefix;
    // A slow reader: the server must not run far ahead of what was consumed.
    maxAhead = Math.max(maxAhead, fake.generated - n);
    if (n % 5000 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(n, 100_000);
  assert.equal(last, '10.1.134.159/32');
  // ~200 bytes a row: the socket buffers plus client high-water hold a few thousand, not 100k.
  assert.ok(maxAhead < 20_000, `server ran ${maxAhead} rows ahead of the reader`);
});

test('a stream error after rows surfaces as ControlError; a bad query fails before any row', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'ternd.sock');
  const fake = new FakeDaemon();
  fake.rib = function* () {
    yield { ...[...new FakeDaemon().rib({ view: 'loc' })][0] };
    throw new ControlError('not-supported', 'view out needs a neighbor');
  };
  const srv = await startControlServer(fake, path, quietLog);
  t.after(() => srv.close());
  const c = await ControlClient.connect(path);
  t.after(() => c.close());
  const rows: unknown[] = [];
  await assert.rejects(
    (async () => {
      for await (const r of c.stream('show.rib', { view: 'out' })) rows.push(r);
    })(),
    (e: unknown) => e instanceof ControlError && e.code === 'not-supported',
  );
  assert.equal(rows.length, 1);
  await assert.rejects(
    (async () => {
      for await (const r of c.stream('show.rib', { prefix: 'nope' })) rows.push(r);
    })(),
    (e: unknown) => e instanceof ControlError && e.code === 'bad-prefix',
  );
});

test('client: a missing socket is UnreachableError with a hint; a closed daemon fails pending requests', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'nothing.sock');
  await assert.rejects(
    ControlClient.connect(path),
    (e: unknown) => e instanceof UnreachableError && e.errno === 'ENOENT' && /is ternd running\? use -s or TERN_SOCKET/.test(e.message),
  );
  const hang = join(dir, 'hang.sock');
  const srv = createServer((s) => s.on('data', () => s.destroy()));
  await new Promise<void>((r) => srv.listen(hang, r));
  t.after(() => srv.close());
  const c = await ControlClient.connect(hang);
  await assert.rejects(c.request('show.peers'), (e: unknown) => e instanceof UnreachableError && e.errno === 'ECLOSED');
});

test('client: a daemon that accepts but never answers fails the request after the idle timeout', async (t) => {
  const dir = tempDir(t);
  const mute = join(dir, 'mute.sock');
  const srv = createServer(() => {});
  await new Promise<void>((r) => srv.listen(mute, r));
  t.after(() => {
    srv.close();
  });
  const c = await ControlClient.connect(mute, { idleTimeoutMs: 100 });
  t.after(() => c.close());
  await assert.rejects(c.request('show.peers'), (e: unknown) => e instanceof UnreachableError && e.errno === 'ETIMEDOUT' && /did not answer/.test(e.message));
});

test('a reader that goes away mid-stream stops the RIB walk (`bgpctl show rib | head`)', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'ternd.sock');
  const fake = new FakeDaemon();
  fake.ribRows = 1_000_000;
  const srv = await startControlServer(fake, path, quietLog);
  t.after(() => srv.close());
  const c = await ControlClient.connect(path);
  let n = 0;
  for await (const _ of c.stream('show.rib', { view: 'loc' })) {
    if (++n === 10) break;
  }
  c.close();
  for (let i = 0; i < 100 && !fake.ribClosed; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(fake.ribClosed, true, "the generator's return() ran");
  assert.ok(fake.generated < 50_000, `walked ${fake.generated} of 1M rows for a reader that took 10`);
});
