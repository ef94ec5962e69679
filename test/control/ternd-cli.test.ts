// bgpctl against real ternd processes (issue 7): two nodes of config/example.yaml on 127.77.x.1
// and 127.77.x.2 with --fib none, meshed over loopback. Checks what an operator sees end to end,
// including an RFC 9003 shutdown communication travelling from one daemon to the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NeighborView, PeerView, RibRowView } from '../../src/control/api.js';
import { requireOrSkip } from '../required.js';
import { until } from '../until.js';
import { freePort } from '../../conformance/lab/port.js';

const ROOT = join(__dirname, '..', '..', '..');
const TERND = join(ROOT, 'dist', 'src', 'ternd.js');
const BGPCTL = join(ROOT, 'dist', 'src', 'bgpctl.js');
const EXAMPLE = join(ROOT, 'config', 'example.yaml');

/** Addresses of our own in 127/8 so parallel test runs and other engineers do not collide. */
const NET = `127.77.${(process.pid % 250) + 1}`;
const A = `${NET}.1`;
const B = `${NET}.2`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function bgpctl(sock: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BGPCTL, '-s', sock, ...args], { env: { PATH: process.env.PATH } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

test('bgpctl against two real ternd nodes: peers, neighbor, rib, config, fib, health, neighbor down/up', { timeout: 90_000 }, async (t) => {
  if (!requireOrSkip(t, !existsSync(TERND) && 'dist/src/ternd.js not built')) return;
  const dir = mkdtempSync(join(tmpdir(), 'tern-ternd-cli-'));
  const procs: ChildProcess[] = [];
  t.after(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const port = await freePort();
  const yaml = readFileSync(EXAMPLE, 'utf8')
    .replace('127.0.0.1/8', `${A}/8`)
    .replace('127.0.0.2/8', `${B}/8`)
    .replace(/listenPort: \d+/, `listenPort: ${port}`);
  const cfg = join(dir, 'cluster.yaml');
  writeFileSync(cfg, yaml);
  const start = (node: string): string => {
    const sock = join(dir, `${node}.sock`);
    const log = openSync(join(dir, `${node}.log`), 'w');
    const p = spawn(
      process.execPath,
      [TERND, '--config', cfg, '--node', node, '--fib', 'none', '--control-socket', sock, '--probes', '127.0.0.1:0', '--connect-retry', '1'],
      {
        stdio: ['ignore', log, log],
      },
    );
    closeSync(log);
    procs.push(p);
    return sock;
  };
  const sa = start('node-a');
  const sb = start('node-b');
  const logs = (): string => ['node-a', 'node-b'].map((n) => `--- ${n}\n${readFileSync(join(dir, `${n}.log`), 'utf8').slice(-3000)}`).join('\n');

  const established = async (sock: string, peer: string): Promise<PeerView | undefined> => {
    const r = await bgpctl(sock, ['-j', 'show', 'peers']);
    if (r.code !== 0) return undefined;
    const p = (JSON.parse(r.stdout) as PeerView[]).find((x) => x.address === peer);
    return p?.state === 'Established' ? p : undefined;
  };
  try {
    await until('node-a to reach Established with node-b', () => established(sa, B), 30_000, 250);
  } catch (e) {
    assert.fail(`${(e as Error).message}\n${logs()}`);
  }

  // show peers: the mesh session, text and JSON.
  const peers = await bgpctl(sa, ['show', 'peers']);
  assert.equal(peers.code, 0, peers.stderr);
  assert.match(peers.stdout, /^Neighbor\s+AS\s+MsgRcvd\s+MsgSent\s+OutQ\s+Up\/Down\s+State\/PfxRcvd\s+Kind\s+Description$/m);
  assert.match(peers.stdout, new RegExp(`^${B.replace(/\./g, '\\.')}\\s+64512\\s+\\d+\\s+\\d+\\s+\\d+\\s+\\d\\d:\\d\\d:\\d\\d\\s+\\d+\\s+mesh`, 'm'));

  // show neighbor: negotiated timers and capabilities of a live session.
  const nj = await bgpctl(sa, ['-j', 'show', 'neighbor', B]);
  assert.equal(nj.code, 0, nj.stderr);
  const n = JSON.parse(nj.stdout) as NeighborView;
  assert.equal(n.state, 'Established');
  assert.equal(n.remoteRouterId, B);
  assert.ok(n.holdTimeNegotiated !== null && n.holdTimeNegotiated > 0);
  assert.ok(
    n.capabilities.negotiated.some((c) => c.name === '4-octet-as'),
    'RFC 6793 4-octet AS negotiated',
  );
  assert.ok(n.messages.received.open >= 1);
  assert.equal((await bgpctl(sa, ['show', 'neighbor', B])).code, 0);
  const unknown = await bgpctl(sa, ['show', 'neighbor', `${NET}.9`]);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, `bgpctl: no such neighbor: ${NET}.9 (bgpctl show peers lists them)\n`);

  // Issue 17: the mesh peers listen on a port other than 179, so show config names the peer
  // address:port; show neighbor takes that key as it is printed.
  const cfgJson = JSON.parse((await bgpctl(sa, ['-j', 'show', 'config'])).stdout) as { peers: Array<{ key: string }> };
  assert.deepEqual(
    cfgJson.peers.map((p) => p.key),
    [`${B}:${port}`],
  );
  const byKey = await bgpctl(sa, ['-j', 'show', 'neighbor', `${B}:${port}`]);
  assert.equal(byKey.code, 0, byKey.stdout + byKey.stderr);
  assert.equal((JSON.parse(byKey.stdout) as NeighborView).remoteRouterId, B);

  // show rib: node-b's IPAM block arrives over iBGP with node-b as next hop.
  const block = await until(
    '10.244.1.0/26 from node-b in node-a Loc-RIB',
    async () => {
      const r = await bgpctl(sa, ['-j', 'show', 'rib', '10.244.1.0/26']);
      if (r.code !== 0) return undefined;
      return (JSON.parse(r.stdout) as RibRowView[]).find((x) => x.flags.best);
    },
    30_000,
    250,
  );
  assert.equal(block.nextHop, B);
  assert.equal(block.flags.ibgp, true);
  const ribText = await bgpctl(sa, ['show', 'rib']);
  assert.equal(ribText.code, 0, ribText.stderr);
  assert.match(ribText.stdout, /^flags: \* = valid/m);
  assert.match(ribText.stdout, new RegExp(`^\\*>=?I\\s+10\\.244\\.1\\.0/26\\s+${B.replace(/\./g, '\\.')}`, 'm'));
  assert.equal((await bgpctl(sa, ['show', 'rib', '--detail'])).code, 0);
  assert.equal((await bgpctl(sa, ['show', 'rib', '10.244.1.1/26'])).code, 1, 'host bits set');

  // show config / fib / health.
  const cfgOut = await bgpctl(sa, ['show', 'config']);
  assert.equal(cfgOut.code, 0, cfgOut.stderr);
  assert.match(cfgOut.stdout, /^Node node-a, AS 64512, router-id /m);
  // Issue 17: with --fib none nothing is ever written, so it is neither "decoupled" nor "in sync".
  assert.match(cfgOut.stdout, /^FIB: none \(--fib none: routes stay in the RIB, nothing is written to the kernel\)$/m);
  assert.doesNotMatch(cfgOut.stdout, /decoupled/);
  const fibOut = await bgpctl(sa, ['show', 'fib']);
  assert.equal(fibOut.code, 0, fibOut.stderr);
  assert.match(fibOut.stdout, /^ternd runs with --fib none: no routes are written to the kernel/);
  assert.doesNotMatch(fibOut.stdout, /in sync/);
  const decouple = await bgpctl(sa, ['fib', 'decouple']);
  assert.equal(decouple.code, 1);
  assert.match(decouple.stderr, /ternd runs with --fib none: it never writes the kernel, so there is nothing to decouple/);
  const status = JSON.parse((await bgpctl(sa, ['-j', 'show', 'status'])).stdout) as {
    fib: { driver: string; coupled: boolean };
    datastore?: { kind: string; state: string };
  };
  assert.deepEqual(status.fib.driver, 'none');
  assert.equal(status.fib.coupled, false);
  assert.deepEqual([status.datastore?.kind, status.datastore?.state], ['file', 'synced']);
  await until('node-a ready', async () => ((await bgpctl(sa, ['health'])).code === 0 ? true : undefined), 30_000, 250);

  // Probes and metrics as ternd serves them (the port is ephemeral; ternd logs it).
  const probeLine = readFileSync(join(dir, 'node-a.log'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; port?: number })
    .find((r) => r.msg === 'probes and metrics listening');
  assert.ok(probeLine?.port, `ternd logs its probe port\n${logs()}`);
  const readyz = await fetch(`http://127.0.0.1:${probeLine.port}/readyz`);
  assert.equal(readyz.status, 200);
  assert.equal(((await readyz.json()) as { ready: boolean }).ready, true);
  const scrape = await (await fetch(`http://127.0.0.1:${probeLine.port}/metrics`)).text();
  assert.match(scrape, new RegExp(`^tern_bgp_peer_up\\{peer="${B.replace(/\./g, '\\.')}",asn="64512",kind="mesh"\\} 1$`, 'm'));
  assert.match(scrape, /^tern_rib_routes\{table="loc",family="ipv4"\} 3$/m);

  // RFC 9003: node-a takes the session down with a message; node-b reports it as received.
  const msg = 'maintenance: kernel upgrade';
  const down = await bgpctl(sa, ['neighbor', B, 'down', '-m', msg]);
  assert.equal(down.code, 0, down.stderr);
  const heard = await until(
    'node-b to record the shutdown communication',
    async () => {
      const r = await bgpctl(sb, ['-j', 'show', 'neighbor', A]);
      if (r.code !== 0) return undefined;
      const v = JSON.parse(r.stdout) as NeighborView;
      return v.lastErrorReceived?.shutdownMessage === msg ? v : undefined;
    },
    30_000,
    250,
  );
  assert.equal(heard.lastErrorReceived?.code, 6, 'Cease (RFC 4486)');
  const adminDown = await bgpctl(sa, ['-j', 'show', 'neighbor', B]);
  assert.equal((JSON.parse(adminDown.stdout) as NeighborView).adminDown, true);
  assert.equal((await bgpctl(sa, ['neighbor', B, 'up'])).code, 0);
  await until('the session to come back after up', () => established(sa, B), 30_000, 250);

  // Issue 17: bgpctl reload prints the new config's warnings (a field Tern does not implement).
  writeFileSync(cfg, yaml.replace('  nodeToNodeMeshEnabled: true', '  nodeToNodeMeshEnabled: true\n  ipv4NormalRoutePriority: 1024'));
  const reload = await bgpctl(sa, ['reload']);
  assert.equal(reload.code, 0, reload.stderr);
  assert.match(
    reload.stdout,
    /^reload done: no changes\nwarnings:\n {2}- .*cluster\.yaml:\d+: BGPConfiguration\/default: spec\.ipv4NormalRoutePriority: warning: not implemented by Tern \(ignored\): .*\n$/,
  );
  // Issue 16: an unknown field is refused (kubectl's strict validation refuses it under Calico).
  writeFileSync(cfg, yaml.replace('  nodeToNodeMeshEnabled: true', '  nodeToNodeMeshEnabled: true\n  nodeToNodeMeshEnable: true'));
  const refused = await bgpctl(sa, ['reload']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stdout + refused.stderr, /spec\.nodeToNodeMeshEnable: unknown field: did you mean "nodeToNodeMeshEnabled"\?/);

  // The daemon gone: exit 2.
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => (p.exitCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)))));
  const gone = await bgpctl(sa, ['show', 'peers']);
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, /is ternd running\?/);
});

test('issue 17: ternd --version prints the version line, not the help', async () => {
  const r = await new Promise<Run>((resolve) =>
    execFile(process.execPath, [TERND, '--version'], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ternd \d+\.\d+\.\d+\S* \(commit ([0-9a-f]{12}(\+dirty)?|unknown), node v\d+\.\d+\.\d+\)\n$/);
  assert.doesNotMatch(r.stdout, /--config/, 'the help text is not the answer');
});
