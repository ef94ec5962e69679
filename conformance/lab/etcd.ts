// Real etcd servers (Debian's etcd-server, `etcd` v3.4) for the etcd datastore tests: one on
// loopback (no root needed), or members of a cluster inside lab namespaces. Each member's data
// directory is in a temp dir; every process is killed by its PID when the test ends, failed or
// not (the caller registers `stopAll` in t.after; a Lab also kills what it spawned).
//
// Also: Calico-shaped writers (the keys and JSON libcalico-go writes, peers/datastore/etcd-layout.ts)
// and a TCP relay a test can cut to make etcd unreachable from one client only. The test PKI
// for etcd's TLS is pki.ts.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Etcd3, type IOptions } from 'etcd3';
import { etcdLayout } from '../../peers/datastore/index.js';
import { parseAllDocuments } from 'yaml';
import type { Lab } from './lab.js';
import { freePort } from './port.js';
import type { ClusterDatastore } from './cluster.js';
import { sleep } from './lab.js';

export const ETCD = process.env.TERN_ETCD ?? '/usr/bin/etcd';

export interface EtcdTls {
  ca: string;
  cert: string;
  key: string;
  /** Require client certificates signed by `ca`. */
  clientCertAuth?: boolean;
}

export interface EtcdMemberSpec {
  name: string;
  /** Address to listen on: 127.0.0.1, or a namespace address such as 198.18.60.11. */
  ip: string;
  clientPort: number;
  peerPort: number;
  /** `name=http://ip:peerPort,...` of the whole cluster (default: this member alone). */
  initialCluster?: string;
  tls?: EtcdTls;
  /** Run inside this lab namespace (default: the test's own, loopback only). */
  lab?: Lab;
  host?: string;
}

/** Loopback members (not a Lab's): killed by PID if the test process exits without stopping them. */
const loose = new Set<ChildProcess>();
let exitHook = false;
function track(c: ChildProcess): void {
  loose.add(c);
  c.once('exit', () => loose.delete(c));
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const x of loose) {
      try {
        if (x.pid !== undefined) process.kill(x.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
}

export class EtcdMember {
  child?: ChildProcess;
  readonly dataDir: string;
  readonly logFile: string;
  constructor(
    readonly spec: EtcdMemberSpec,
    baseDir: string,
  ) {
    this.dataDir = path.join(baseDir, `${spec.name}.etcd`);
    this.logFile = path.join(baseDir, `${spec.name}.log`);
  }

  get clientUrl(): string {
    return `${this.spec.tls ? 'https' : 'http'}://${this.spec.ip}:${this.spec.clientPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Start (or restart on the same data dir) and resolve once the process runs. */
  start(): void {
    const s = this.spec;
    const peer = `http://${s.ip}:${s.peerPort}`;
    const args = [
      '--name',
      s.name,
      '--data-dir',
      this.dataDir,
      '--listen-client-urls',
      this.clientUrl,
      '--advertise-client-urls',
      this.clientUrl,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      s.initialCluster ?? `${s.name}=${peer}`,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      `tern-${s.name.replace(/\d+$/, '')}`,
      // Fast elections: a lost leader is replaced in about a second, not ten.
      '--heartbeat-interval',
      '100',
      '--election-timeout',
      '1000',
      '--logger',
      'zap',
      '--log-level',
      'warn',
    ];
    if (s.tls) {
      args.push('--cert-file', s.tls.cert, '--key-file', s.tls.key, '--trusted-ca-file', s.tls.ca);
      if (s.tls.clientCertAuth) args.push('--client-cert-auth');
    }
    const fd = fs.openSync(this.logFile, 'a');
    if (s.lab && s.host) {
      this.child = s.lab.spawn(s.host, ETCD, args, { logFile: this.logFile });
    } else {
      this.child = spawn(ETCD, args, { stdio: ['ignore', fd, fd] });
      track(this.child);
    }
    fs.closeSync(fd);
    this.child.on('error', () => undefined);
  }

  /** Kill by PID (SIGKILL: a crash; SIGTERM: a clean stop) and wait for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    try {
      process.kill(c.pid, signal);
    } catch {
      return;
    }
    const t = setTimeout(() => {
      try {
        process.kill(c.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 5000);
    await exited;
    clearTimeout(t);
  }
}

export const tempDir = (tag: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `tern-etcd-${tag}-`));

/** One member on loopback with its data in `dir`. */
export async function startLoopbackEtcd(dir: string, tls?: EtcdTls): Promise<EtcdMember> {
  const m = new EtcdMember({ name: 'solo', ip: '127.0.0.1', clientPort: await freePort(), peerPort: await freePort(), tls }, dir);
  m.start();
  return m;
}

/** A client for the test's own writes (the datastore under test has its own). */
export function testClient(endpoints: string[], extra: Partial<IOptions> = {}): Etcd3 {
  return new Etcd3({ hosts: endpoints, dialTimeout: 3000, ...extra });
}

/** Wait until the cluster answers a linearizable read (a leader exists). */
export async function waitEtcdReady(c: Etcd3, timeoutMs = 20_000, member?: EtcdMember): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (member?.child && member.child.exitCode !== null)
      throw new Error(`etcd exited ${member.child.exitCode}: ${fs.readFileSync(member.logFile, 'utf8').slice(-1500)}`);
    try {
      await c.get('/tern-ready-probe').string();
      return;
    } catch (err) {
      last = (err as Error).message;
      await sleep(100);
    }
  }
  throw new Error(`etcd not ready within ${timeoutMs} ms: ${last}`);
}

// ---- Calico's layout, written as libcalico-go writes it -------------------------------------

/** A v3 resource as libcalico-go's etcdv3 backend stores it (the whole object as JSON). */
export async function putResource(c: Etcd3, plural: string, resource: { kind: string; metadata: { name: string } } & Record<string, unknown>): Promise<void> {
  await c.put(etcdLayout.resourceKey(plural, resource.metadata.name)).value(JSON.stringify({ apiVersion: 'projectcalico.org/v3', ...resource }));
}

/** An AllocationBlock (model/block.go) affine to `host`, with `used` addresses allocated to it. */
export function allocationBlock(cidr: string, host: string | null, used = 0): Record<string, unknown> {
  const len = Number(cidr.split('/')[1]);
  const size = 2 ** ((cidr.includes(':') ? 128 : 32) - len);
  const allocations: (number | null)[] = Array.from({ length: size }, (_, i) => (i < used ? 0 : null));
  return {
    cidr,
    affinity: host === null ? null : `host:${host}`,
    allocations,
    unallocated: Array.from({ length: size - used }, (_, i) => i + used),
    attributes: used ? [{ handle_id: `k8s-pod-network.${host}`, secondary: { node: host, namespace: 'default', pod: 'p' } }] : [],
    sequenceNumber: 1,
    sequenceNumberForAllocation: used ? { '0': 0 } : null,
    deleted: false,
  };
}

export async function putBlock(c: Etcd3, cidr: string, host: string | null, used = 0): Promise<void> {
  await c.put(etcdLayout.blockKey(cidr)).value(JSON.stringify(allocationBlock(cidr, host, used)));
}

/** A host affinity (model/block_affinity.go): key names host and CIDR, value the state. */
export async function putAffinity(c: Etcd3, host: string, cidr: string, state = 'confirmed'): Promise<void> {
  await c.put(etcdLayout.affinityKey(host, cidr)).value(JSON.stringify({ state, deleted: false }));
}

// ---- A cuttable link -----------------------------------------------------------------------

/**
 * A TCP relay from a loopback port to an etcd member: `cut()` drops every connection and
 * refuses new ones (etcd unreachable for the clients behind it, while the test's own client
 * keeps writing), `restore()` accepts again.
 */
export class Relay {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async open(port = 0): Promise<number> {
    this.server = net.createServer((a) => {
      const b = net.connect(this.target.port, this.target.host);
      for (const s of [a, b]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          a.destroy();
          b.destroy();
        });
      }
      a.pipe(b);
      b.pipe(a);
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    // Connections first: close() waits for them to end.
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  }

  async restore(): Promise<void> {
    await this.open(this.port);
  }

  async close(): Promise<void> {
    await this.cut();
  }
}

// ---- Reaching etcd inside a namespace from the test process ---------------------------------

/**
 * A relay started inside namespace `host` from a Unix socket (a path, so the test process
 * outside the namespace can connect) to `ip:port` in that namespace. An etcd3 client takes it
 * as `unix://<path>`. The relay process is the Lab's, killed by PID with it.
 */
export async function unixRelay(lab: Lab, host: string, ip: string, port: number, sock: string): Promise<string> {
  fs.rmSync(sock, { force: true });
  const script =
    "const net=require('net');const [p,h,n]=process.argv.slice(1);net.createServer(s=>{const c=net.connect(+n,h);s.on('error',()=>c.destroy());c.on('error',()=>s.destroy());s.pipe(c).pipe(s);}).listen(p);";
  lab.spawn(host, process.execPath, ['-e', script, sock, ip, String(port)]);
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(sock)) {
    if (Date.now() > deadline) throw new Error(`relay socket ${sock} in ${host} did not appear`);
    await sleep(50);
  }
  return `unix://${sock}`;
}

/**
 * Calico resources (as the lab writes them for a file: v3 kinds, and IPAMBlock CRDs with
 * `spec.cidr` / `spec.affinity`) as the etcd entries libcalico-go would hold for them.
 */
export function etcdEntries(objects: readonly Record<string, unknown>[]): Map<string, string> {
  const out = new Map<string, string>();
  const plural = Object.fromEntries(Object.entries(etcdLayout.KIND_BY_PLURAL).map(([p, k]) => [k, p]));
  for (const o of objects) {
    const kind = String(o.kind);
    const md = o.metadata as { name: string };
    const spec = (o.spec ?? {}) as Record<string, unknown>;
    if (kind === 'IPAMBlock') {
      const cidr = String(spec.cidr);
      const host = typeof spec.affinity === 'string' && spec.affinity.startsWith('host:') ? spec.affinity.slice(5) : null;
      out.set(etcdLayout.blockKey(cidr), JSON.stringify(allocationBlock(cidr, host)));
      if (host) out.set(etcdLayout.affinityKey(host, cidr), JSON.stringify({ state: 'confirmed', deleted: false }));
    } else if (plural[kind]) {
      out.set(etcdLayout.resourceKey(plural[kind], md.name), JSON.stringify({ ...o, apiVersion: 'projectcalico.org/v3' }));
    } else throw new Error(`no etcd layout for kind ${kind}`);
  }
  return out;
}

/** Make etcd hold exactly `want` under /calico/ (one transaction: one revision, as an apply). */
export async function applyEntries(c: Etcd3, want: Map<string, string>): Promise<void> {
  const have = new Map(Object.entries(await c.getAll().prefix('/calico/').strings()));
  // etcd allows 128 operations per transaction (--max-txn-ops): the lab's models are far smaller.
  const tx = c.if('/calico/never-there', 'Version', '==', 0);
  const ops = [];
  for (const [k, v] of want) if (have.get(k) !== v) ops.push(c.put(k).value(v));
  for (const k of have.keys()) if (!want.has(k)) ops.push(c.delete().key(k));
  if (ops.length) await tx.then(...ops).commit();
}

/**
 * The cluster lab's datastore hook for etcd (conformance/lab/cluster.ts): one etcd member in the
 * ToR namespace on TOR_ADDR[0]:2379, written through a Unix-socket relay. `member` is set once
 * started, so a scenario can stop and restart it.
 */
export function etcdClusterDatastore(torAddr: string): ClusterDatastore & { member?: EtcdMember; client?: Etcd3 } {
  const hook: ClusterDatastore & { member?: EtcdMember; client?: Etcd3 } = {
    async start(lab, tor) {
      const m = new EtcdMember({ name: 'tor', ip: torAddr, clientPort: 2379, peerPort: 2380, lab, host: tor }, lab.dir);
      m.start();
      hook.member = m;
      hook.client = testClient([await unixRelay(lab, tor, torAddr, 2379, lab.file('etcd-tor.sock'))]);
      await waitEtcdReady(hook.client, 20_000, m);
      return { terndArgs: ['--datastore', 'etcd', '--etcd-endpoints', m.clientUrl] };
    },
    async write(yaml) {
      const objects = parseAllDocuments(yaml)
        .map((d) => d.toJS() as Record<string, unknown> | null)
        .filter((o): o is Record<string, unknown> => o !== null);
      await applyEntries(hook.client!, etcdEntries(objects));
    },
  };
  return hook;
}
