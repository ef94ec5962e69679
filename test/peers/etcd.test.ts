// The etcd datastore (issue 19) against a real etcd-server on loopback, started here with its
// data in a temp dir and killed by PID even on failure: Calico's etcdv3 layout read as
// libcalico-go writes it, live changes of each kind, an etcd restart, compaction past the
// watched revision, and TLS with client certificates plus username/password.
// Incident guarded throughout: "while etcd is unreachable the last good model stays in force"
// (no model event while stale, so nothing is withdrawn and no session reset).
// One file on purpose (~450 lines): the four tests share one real-etcd set-up (setup, seed,
// Recorder) and each walks the datastore's whole life cycle.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { type DatastoreEvent, type EtcdDatastoreOptions, type ModelUpdate, etcdLayout } from '../../peers/datastore/index.js';
import { EtcdDatastore } from '../../peers/datastore/etcd.js';
import type { Etcd3 } from 'etcd3';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { control } from '../../conformance/lab/cluster.js';
import type { HealthView } from '../../src/control/api.js';
import {
  ETCD,
  Relay,
  putAffinity,
  putBlock,
  putResource,
  startLoopbackEtcd,
  tempDir,
  testClient,
  waitEtcdReady,
  type EtcdMember,
} from '../../conformance/lab/etcd.js';
import { makePki } from '../../conformance/lab/pki.js';
import { freePort } from '../../conformance/lab/port.js';

const haveEtcd = fs.existsSync(ETCD);
const TERND = path.resolve(__dirname, '..', '..', 'src', 'ternd.js');
function gate(t: TestContext): boolean {
  if (haveEtcd) return true;
  if (process.env.TERN_CONFORMANCE === '1') throw new Error(`${ETCD} missing (apt-get install etcd-server)`);
  t.skip(`${ETCD} missing`);
  return false;
}

/** Records what the datastore tells its owner; waits for a model that satisfies a predicate. */
class Recorder {
  readonly events: DatastoreEvent[] = [];
  private waiters: (() => void)[] = [];
  readonly fn = (e: DatastoreEvent): void => {
    this.events.push(e);
    for (const w of this.waiters.splice(0)) w();
  };
  models(): ModelUpdate[] {
    return this.events.flatMap((e) => (e.type === 'model' ? [e.update] : []));
  }
  states(): string[] {
    return this.events.flatMap((e) => (e.type === 'status' ? [e.status.state] : []));
  }
  async until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v !== undefined) return v;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; events: ${JSON.stringify(this.events.slice(-6).map((e) => (e.type === 'model' ? `model(${e.update.trigger})` : e.type === 'status' ? `status(${e.status.state}: ${e.status.detail ?? ''})` : `refused(${e.errors.join('; ')})`)))}`,
        );
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }
  /** The newest model, once one satisfies `pred`. */
  model(what: string, pred: (u: ModelUpdate) => boolean, timeoutMs?: number): Promise<ModelUpdate> {
    return this.until(what, () => this.models().filter(pred).at(-1), timeoutMs);
  }
}

const node = (name: string, ip: string, labels: Record<string, string> = {}) => ({
  kind: 'Node',
  metadata: { name, labels, uid: `uid-${name}`, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { bgp: { ipv4Address: `${ip}/24` } },
});
const peer = (name: string, ip: string, asNumber: number, extra: Record<string, unknown> = {}) => ({
  kind: 'BGPPeer',
  metadata: { name },
  spec: { peerIP: ip, asNumber, ...extra },
});

async function seed(c: Etcd3): Promise<void> {
  await putResource(c, 'bgpconfigurations', {
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: { asNumber: 64512, nodeToNodeMeshEnabled: true },
  });
  await putResource(c, 'nodes', node('n1', '198.18.10.11'));
  await putResource(c, 'nodes', node('n2', '198.18.10.12'));
  await putResource(c, 'bgppeers', peer('tor', '198.18.10.1', 65001));
  await putResource(c, 'ippools', {
    kind: 'IPPool',
    metadata: { name: 'pods' },
    spec: { cidr: '10.244.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' },
  });
  await putBlock(c, '10.244.1.0/26', 'n1', 2);
  await putAffinity(c, 'n1', '10.244.1.0/26');
  await putBlock(c, '10.244.2.0/26', 'n2');
  await putAffinity(c, 'n2', '10.244.2.0/26');
  // Keys under the read prefixes that Tern does not use: an IPAM handle, a WorkloadEndpoint.
  await c.put('/calico/ipam/v2/handle/k8s-pod-network.abc').value('{"block":{}}');
  await c.put('/calico/resources/v3/projectcalico.org/workloadendpoints/default/n1-k8s-p-eth0').value('{}');
}

const peersOf = (u: ModelUpdate) => u.model.peers.map((p) => `${p.name}:${p.peerIP?.address}:${p.asNumber}`).join(',');
const blocksOf = (u: ModelUpdate) =>
  u.model.ipamBlocks
    .map((b) => `${b.cidr.text}@${b.affinityNode}`)
    .sort()
    .join(',');

interface Env {
  etcd: EtcdMember;
  dir: string;
  client: Etcd3;
  opts: (extra?: Partial<EtcdDatastoreOptions>) => EtcdDatastoreOptions;
}

async function setup(t: TestContext, tag: string): Promise<Env> {
  const dir = tempDir(tag);
  const etcd = await startLoopbackEtcd(dir);
  const client = testClient([etcd.clientUrl]);
  t.after(async () => {
    client.close();
    await etcd.stop('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitEtcdReady(client, 20_000, etcd);
  const logs: string[] = [];
  return {
    etcd,
    dir,
    client,
    opts: (extra = {}) => ({ endpoints: [etcd.clientUrl], backoffMs: { initial: 100, max: 500 }, probeIntervalMs: 500, log: (m) => logs.push(m), ...extra }),
  };
}

test("etcd: initial sync reads Calico's etcdv3 layout, then every kind changes live (issue 19)", { timeout: 60_000 }, async (t) => {
  if (!gate(t)) return;
  const env = await setup(t, 'sync');
  await seed(env.client);
  const ds = new EtcdDatastore(env.opts());
  t.after(() => ds.close());
  const rec = new Recorder();
  const first = await ds.start(rec.fn);
  // The first model is the whole source: every kind, keys Tern does not read left out.
  assert.equal(first.model.bgpConfig.asNumber, 64512);
  assert.deepEqual(
    first.model.nodes.map((n) => `${n.name}:${n.ipv4Address}`),
    ['n1:198.18.10.11', 'n2:198.18.10.12'],
  );
  assert.equal(peersOf(first), 'tor:198.18.10.1:65001');
  assert.deepEqual(
    first.model.ipPools.map((p) => p.cidr.text),
    ['10.244.0.0/16'],
  );
  assert.equal(blocksOf(first), '10.244.1.0/26@n1,10.244.2.0/26@n2');
  // AllocationBlock attributes: ordinals 0 and 1 are in use on n1.
  assert.deepEqual(
    [...first.model.ipamBlocks.find((b) => b.cidr.text === '10.244.1.0/26')!.allocationNodes],
    [
      [0, 'n1'],
      [1, 'n1'],
    ],
  );
  assert.deepEqual(first.model.blockAffinities.map((a) => `${a.node}:${a.cidr.text}:${a.state}`).sort(), [
    'n1:10.244.1.0/26:confirmed',
    'n2:10.244.2.0/26:confirmed',
  ]);
  assert.equal(ds.status().state, 'synced');

  // Live: one change of each kind, each seen in a model built after it.
  await putResource(env.client, 'bgpconfigurations', {
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: { asNumber: 64513, nodeToNodeMeshEnabled: false },
  });
  await rec.model('BGPConfiguration change', (u) => u.model.bgpConfig.asNumber === 64513 && !u.model.bgpConfig.nodeToNodeMeshEnabled);
  await putResource(env.client, 'nodes', node('n3', '198.18.10.13', { rack: 'b' }));
  await rec.model('Node added', (u) => u.model.nodes.some((n) => n.name === 'n3' && n.labels.rack === 'b'));
  await putResource(env.client, 'bgppeers', peer('tor', '198.18.10.2', 65002));
  await rec.model('BGPPeer changed', (u) => peersOf(u) === 'tor:198.18.10.2:65002');
  await putResource(env.client, 'bgpfilters', {
    kind: 'BGPFilter',
    metadata: { name: 'only-pods' },
    spec: { exportV4: [{ action: 'Accept', cidr: '10.244.0.0/16', matchOperator: 'In' }] },
  });
  await rec.model('BGPFilter added', (u) => u.model.filters.get('only-pods')?.exportV4.length === 1);
  await putResource(env.client, 'ippools', {
    kind: 'IPPool',
    metadata: { name: 'pods' },
    spec: { cidr: '10.244.0.0/16', blockSize: 26, ipipMode: 'CrossSubnet', vxlanMode: 'Never' },
  });
  await rec.model('IPPool changed', (u) => u.model.ipPools[0]?.ipipMode === 'CrossSubnet');
  await putBlock(env.client, '10.244.3.0/26', 'n3');
  await rec.model('IPAM block added', (u) => blocksOf(u).includes('10.244.3.0/26@n3'));
  await env.client.delete().key(etcdLayout.blockKey('10.244.2.0/26'));
  await rec.model('IPAM block deleted', (u) => !blocksOf(u).includes('10.244.2.0/26'));
  await putAffinity(env.client, 'n3', '10.244.3.0/26', 'pending');
  await rec.model('affinity added', (u) => u.model.blockAffinities.some((a) => a.node === 'n3' && a.state === 'pending'));
  await env.client.delete().key(etcdLayout.resourceKey('bgppeers', 'tor'));
  await rec.model('BGPPeer deleted', (u) => u.model.peers.length === 0);

  // A value libcalico-go could not parse refuses the model, naming the key; the last good
  // model stays; fixing it brings models back.
  const before = rec.models().length;
  const badKey = etcdLayout.resourceKey('bgppeers', 'broken');
  await env.client.put(badKey).value('{"kind":"BGPPeer",');
  const refused = await rec.until('refusal', () => rec.events.find((e) => e.type === 'refused'));
  assert.ok(refused.type === 'refused' && refused.errors.some((e) => e.includes(badKey) && e.includes('not JSON')), JSON.stringify(refused));
  assert.equal(ds.status().state, 'error');
  assert.equal(rec.models().length, before, 'no model while the content is refused');
  await putResource(env.client, 'bgppeers', peer('broken', '198.18.10.3', 65003));
  const last = await rec.model('fixed peer', (u) => peersOf(u) === 'broken:198.18.10.3:65003');
  assert.equal(ds.status().state, 'synced');

  // SIGHUP / bgpctl reload: a consistent re-read gives the same model, and unchanged keys keep
  // their decoded objects (45,000 keys are not decoded again for one reload).
  const again = await ds.resync('SIGHUP');
  assert.equal(again.trigger, 'SIGHUP');
  assert.equal(peersOf(again), peersOf(last));
  assert.equal(blocksOf(again), blocksOf(last));
  const n1 = last.model.nodes.find((n) => n.name === 'n1');
  assert.ok(n1 && again.model.nodes.find((n) => n.name === 'n1') === n1, 'n1 reused, not decoded again');
});

test('etcd: a restart of etcd keeps the last model in force (stale), then resumes the watch without a gap (issue 19)', { timeout: 60_000 }, async (t) => {
  if (!gate(t)) return;
  const env = await setup(t, 'restart');
  await seed(env.client);
  const ds = new EtcdDatastore(env.opts());
  t.after(() => ds.close());
  const rec = new Recorder();
  await ds.start(rec.fn);
  await putResource(env.client, 'bgppeers', peer('rr', '198.18.10.5', 64512));
  await rec.model('peer rr', (u) => peersOf(u).includes('rr:'));
  const modelsBefore = rec.models().length;

  await env.etcd.stop('SIGKILL');
  await rec.until('stale', () => (ds.status().state === 'stale' ? true : undefined));
  assert.match(ds.status().detail ?? '', /etcd/);
  assert.equal(rec.models().length, modelsBefore, 'no model (nothing withdrawn) while etcd is down');

  env.etcd.start();
  await waitEtcdReady(env.client, 20_000, env.etcd);
  await putBlock(env.client, '10.244.9.0/26', 'n2');
  await rec.model('block written after the restart', (u) => blocksOf(u).includes('10.244.9.0/26@n2'));
  await rec.until('synced again', () => (ds.status().state === 'synced' ? true : undefined));
  assert.ok(rec.states().includes('stale'));
  // Still everything from before the outage.
  assert.ok(peersOf(rec.models().at(-1)!).includes('rr:198.18.10.5'));
});

test('etcd: compaction past the watched revision triggers a consistent re-read and diff, never a gap (issue 19)', { timeout: 60_000 }, async (t) => {
  if (!gate(t)) return;
  const env = await setup(t, 'compact');
  await seed(env.client);
  // The datastore reaches etcd through a relay the test can cut; the test's own client does not.
  const relay = new Relay({ host: '127.0.0.1', port: env.etcd.spec.clientPort });
  const port = await relay.open();
  t.after(() => relay.close());
  const logs: string[] = [];
  const ds = new EtcdDatastore(env.opts({ endpoints: [`http://127.0.0.1:${port}`], log: (m) => logs.push(m) }));
  t.after(() => ds.close());
  const rec = new Recorder();
  await ds.start(rec.fn);
  await rec.until('watching', () => (logs.length && ds.status().state === 'synced' ? true : undefined));
  const modelsBefore = rec.models().length;

  await relay.cut();
  await rec.until('stale', () => (ds.status().state === 'stale' ? true : undefined));
  // While cut off: an add, a change and a delete, then history compacted past all of them.
  await putResource(env.client, 'bgppeers', peer('added', '198.18.10.7', 65007));
  await putResource(env.client, 'nodes', node('n2', '198.18.10.22'));
  await env.client.delete().key(etcdLayout.blockKey('10.244.2.0/26'));
  const rev = Number((await env.client.kv.range({ key: Buffer.from('/'), count_only: true })).header.revision);
  await env.client.kv.compact({ revision: rev, physical: true });
  assert.equal(rec.models().length, modelsBefore, 'no model while etcd is unreachable');

  await relay.restore();
  const u = await rec.model('the re-read model', (m) => peersOf(m).includes('added:198.18.10.7'));
  assert.ok(
    logs.some((l) => /compacted/.test(l)),
    `a compaction was met and logged: ${logs.join(' | ')}`,
  );
  assert.equal(u.model.nodes.find((n) => n.name === 'n2')?.ipv4Address, '198.18.10.22');
  assert.equal(blocksOf(u), '10.244.1.0/26@n1', 'the block deleted during the outage is gone');
  await rec.until('synced', () => (ds.status().state === 'synced' ? true : undefined));
  // And the watch runs again after the re-read.
  await putBlock(env.client, '10.244.4.0/26', 'n1');
  await rec.model('a change after the re-read', (m) => blocksOf(m).includes('10.244.4.0/26@n1'));

  // A refused change outlives an outage: after reconnecting the state is error again, not synced.
  const bad = etcdLayout.resourceKey('ippools', 'bad');
  await env.client.put(bad).value('not json');
  await rec.until('error', () => (ds.status().state === 'error' ? true : undefined));
  await relay.cut();
  await rec.until('stale', () => (ds.status().state === 'stale' ? true : undefined));
  // Written while cut off, history kept: the watch resumes from its revision (no re-read).
  await putBlock(env.client, '10.244.5.0/26', 'n2');
  const reads = logs.filter((l) => l.startsWith('etcd read at revision')).length;
  await relay.restore();
  await rec.until('back to error', () => (ds.status().state === 'error' ? true : undefined));
  assert.match(ds.status().detail ?? '', /ippools\/bad/);
  await env.client.delete().key(bad);
  await rec.until('synced once the bad value is gone', () => (ds.status().state === 'synced' ? true : undefined));
  await rec.model('the block written during the outage', (m) => blocksOf(m).includes('10.244.5.0/26@n2'));
  assert.equal(logs.filter((l) => l.startsWith('etcd read at revision')).length, reads, 'resumed from the watched revision, not re-read');
});

test('etcd: TLS with client certificates and username/password; a wrong password or an untrusted certificate is refused (issue 19)', {
  timeout: 60_000,
}, async (t) => {
  if (!gate(t)) return;
  const dir = tempDir('tls');
  const pki = makePki(dir, ['127.0.0.1']);
  const etcd = await startLoopbackEtcd(dir, { ca: pki.ca, cert: pki.serverCert, key: pki.serverKey, clientCertAuth: true });
  const creds = (cert: string, key: string) => ({
    credentials: { rootCertificate: fs.readFileSync(pki.ca), certChain: fs.readFileSync(cert), privateKey: fs.readFileSync(key) },
  });
  const admin = testClient([etcd.clientUrl], creds(pki.clientCert, pki.clientKey));
  let authed: Etcd3 | undefined;
  t.after(async () => {
    admin.close();
    authed?.close();
    await etcd.stop('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitEtcdReady(admin, 20_000, etcd);
  await seed(admin);
  // etcd auth: a root user, a read-only user for Tern, then auth on.
  await admin.user('root').create('root-pw');
  await admin.user('root').addRole('root');
  await admin.role('calico-read').create();
  await admin.role('calico-read').grant({ permission: 'Read', range: admin.range({ prefix: '/calico/' }) });
  await admin.user('tern').create('tern-pw');
  await admin.user('tern').addRole('calico-read');
  await admin.auth.authEnable({});
  authed = testClient([etcd.clientUrl], { ...creds(pki.clientCert, pki.clientKey), auth: { username: 'root', password: 'root-pw' } });

  const tls = {
    endpoints: [etcd.clientUrl],
    caFile: pki.ca,
    certFile: pki.clientCert,
    keyFile: pki.clientKey,
    backoffMs: { initial: 100, max: 500 },
    probeIntervalMs: 500,
  };
  const ds = new EtcdDatastore({ ...tls, username: 'tern', password: 'tern-pw' });
  t.after(() => ds.close());
  const rec = new Recorder();
  const first = await ds.start(rec.fn);
  assert.equal(peersOf(first), 'tor:198.18.10.1:65001');
  await putResource(authed, 'bgppeers', peer('tls-peer', '198.18.10.9', 65009));
  await rec.model('a change over TLS with auth', (u) => peersOf(u).includes('tls-peer:198.18.10.9'));

  // The refusals: each must fail start() (ternd then exits 1), not come up on nothing.
  const wrongPw = new EtcdDatastore({ ...tls, username: 'tern', password: 'nope' });
  await assert.rejects(
    wrongPw.start(() => undefined),
    /authentication failed|invalid/i,
  );
  await wrongPw.close();
  const noUser = new EtcdDatastore(tls);
  await assert.rejects(
    noUser.start(() => undefined),
    /user name is empty|permission denied|token/i,
  );
  await noUser.close();
  const stranger = new EtcdDatastore({
    ...tls,
    certFile: pki.strangerCert,
    keyFile: pki.strangerKey,
    username: 'tern',
    password: 'tern-pw',
    requestTimeoutMs: 2000,
  });
  await assert.rejects(stranger.start(() => undefined));
  await stranger.close();

  // ternd itself, from its flags: TLS files and a password file, on loopback (BGP on a free port).
  const pwFile = `${dir}/etcd-password`;
  fs.writeFileSync(pwFile, 'tern-pw\n');
  await putResource(authed, 'bgpconfigurations', { kind: 'BGPConfiguration', metadata: { name: 'node.n1' }, spec: { listenPort: await freePort() } });
  const sock = `${dir}/ternd.sock`;
  const ternd = spawn(
    process.execPath,
    [
      TERND,
      '--datastore',
      'etcd',
      '--etcd-endpoints',
      etcd.clientUrl,
      '--etcd-ca',
      pki.ca,
      '--etcd-cert',
      pki.clientCert,
      '--etcd-key',
      pki.clientKey,
      '--etcd-username',
      'tern',
      '--etcd-password-file',
      pwFile,
      '--node',
      'n1',
      '--fib',
      'none',
      '--probes',
      'off',
      '--control-socket',
      sock,
    ],
    { stdio: 'ignore' },
  );
  t.after(() => {
    try {
      process.kill(ternd.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const h = await waitHealth(sock);
  assert.equal(h.datastore?.kind, 'etcd');
  assert.equal(h.datastore?.state, 'synced');
  const cfg = await control<{ peers: { key: string }[] }>(sock, 'show.config');
  assert.ok(
    cfg.peers.some((p) => p.key.startsWith('198.18.10.1')),
    JSON.stringify(cfg.peers),
  );
});

async function waitHealth(sock: string): Promise<HealthView> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const h = fs.existsSync(sock) ? await control<HealthView>(sock, 'health').catch(() => undefined) : undefined;
    if (h?.datastore?.state === 'synced') return h;
    if (Date.now() > deadline) throw new Error(`ternd not synced over TLS: ${JSON.stringify(h)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
