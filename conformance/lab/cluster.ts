// A namespace cluster of Tern nodes behind one BIRD top-of-rack router, for the cluster
// scenarios (conformance/cluster.test.ts) and the block-propagation benchmark.
//
// Layout: the ToR namespace holds a bridge with one address in each of two subnets
// (198.18.10.1/24 and 198.18.11.1/24) and forwards between them; every node namespace has one
// veth onto that bridge, an address in one of the subnets and a default route via the ToR. Each
// node runs ternd with `--fib kernel` (routes go into that namespace's table only), its own
// control socket and its own copy of one Calico YAML (as every node of a real cluster reads the
// same datastore). The test kernel has neither the ipip nor the dummy module, so `tunl0` is one
// end of a veth pair inside the node: IPIP CrossSubnet routes (`via <node> dev tunl0 onlink`) are
// installed through it exactly as through a real tunnel; nothing is sent through it.

import * as fs from 'node:fs';
import * as net from 'node:net';
import { type Lab, mustRun, waitFor } from './lab.js';
import { startBird, type BirdNeighbor } from './bird.js';
import { blockDoc, calicoYaml, startTernd, type CalicoModel, type CalicoNode, type CalicoPeer, type Ternd } from './tern.js';
import { routesInNs, type NsRoute } from './fib.js';

export const TOR_AS = 65001;
export const CLUSTER_AS = 64512;
/** Kernel protocol number ternd writes its routes with (fib/netlink-fib.ts TERN_PROTO). */
export const TERN_PROTO = '201';

export interface ClusterNodeSpec {
  /** Node name in the model, e.g. 'n1'. */
  name: string;
  /** Namespace, e.g. 'tn-n1'. */
  host: string;
  /** 198.18.10.x or 198.18.11.x. */
  address: string;
  /** Pod blocks this node owns at start. */
  blocks: string[];
}

export interface ClusterSpec {
  /** Namespace/link prefix, e.g. 'tn' (namespaces `${prefix}-tor`, `${prefix}-n1`, ...). */
  prefix: string;
  /** Subnet of each node: 0 = 198.18.10.0/24, 1 = 198.18.11.0/24. */
  subnets: number[];
  ipipMode?: 'Never' | 'CrossSubnet' | 'Always';
  /** Extra args for every ternd. */
  terndArgs?: string[];
  /** Where the nodes read the model from (default: each its own copy of one YAML file). */
  datastore?: ClusterDatastore;
  logLevel?: 'debug' | 'info';
}

export const TOR_ADDR = ['198.18.10.1', '198.18.11.1'];

/**
 * The datastore hook: a store the nodes read instead of a file (etcd, the Kubernetes API). It
 * runs in the ToR namespace, which every node reaches at TOR_ADDR[0].
 */
export interface ClusterDatastore {
  /** Start the store once the ToR exists; returns the ternd flags that select it. */
  start(lab: Lab, tor: string): Promise<{ terndArgs: string[] }>;
  /** Make the store hold the model given as the Calico YAML a file would have. */
  write(yaml: string): Promise<void>;
}

export interface Cluster {
  lab: Lab;
  tor: string;
  nodes: ClusterNodeSpec[];
  ternd: Map<string, Ternd>;
  /** The model every node reads; edit it and call `write()`. */
  model: CalicoModel;
  /** Write the model (or raw YAML) into every node's config file. Returns the time before the first write. */
  write(yaml?: string): number;
  /** Write the model (or raw YAML) to the datastore, or the files when there is none. Returns the time before the write. */
  sync(yaml?: string): Promise<number>;
}

export function meshModel(nodes: ClusterNodeSpec[], ipipMode: string): CalicoModel {
  return {
    asNumber: CLUSTER_AS,
    nodeToNodeMeshEnabled: true,
    nodes: nodes.map((n): CalicoNode => ({ name: n.name, ipv4Address: `${n.address}/24` })),
    // A global BGPPeer: every node peers with the ToR (eBGP). 2 s keepalive, 6 s hold.
    peers: [{ name: 'tor', peerIP: TOR_ADDR[0], asNumber: TOR_AS, keepaliveTime: '2s' }],
    extraDocs: [
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'pods' },
        spec: { cidr: '10.244.0.0/16', blockSize: 26, ipipMode, vxlanMode: 'Never' },
      },
      ...nodes.flatMap((n) => n.blocks.map((b) => blockDoc(b, n.name))),
    ],
  };
}

/**
 * Calico's route reflector layout (docs "Configure BGP peering", route reflectors): the
 * reflector nodes get a cluster ID and the label `route-reflector`, one BGPPeer makes every
 * node peer with every reflector, and the mesh is switched off.
 */
export function reflectorModel(base: CalicoModel, reflectors: string[], clusterId = '244.0.0.1'): CalicoModel {
  const rrPeer: CalicoPeer = { name: 'peer-with-route-reflectors', nodeSelector: 'all()', peerSelector: 'has(route-reflector)' };
  return {
    ...base,
    nodeToNodeMeshEnabled: false,
    nodes: base.nodes.map((n) =>
      reflectors.includes(n.name) ? { ...n, routeReflectorClusterID: clusterId, labels: { ...n.labels, 'route-reflector': 'true' } } : n,
    ),
    peers: [...(base.peers ?? []), rrPeer],
  };
}

export async function buildCluster(lab: Lab, spec: ClusterSpec): Promise<Cluster> {
  const p = spec.prefix;
  const tor = await lab.addHost(`${p}-tor`);
  await mustRun('ip', ['-n', tor, 'link', 'add', `${p}br`, 'type', 'bridge']);
  await mustRun('ip', ['-n', tor, 'addr', 'add', `${TOR_ADDR[0]}/24`, 'dev', `${p}br`]);
  await mustRun('ip', ['-n', tor, 'addr', 'add', `${TOR_ADDR[1]}/24`, 'dev', `${p}br`]);
  await mustRun('ip', ['-n', tor, 'link', 'set', `${p}br`, 'up']);
  await lab.exec(tor, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await lab.exec(tor, 'sysctl', ['-qw', 'net.ipv4.conf.all.send_redirects=0']);

  const nodes: ClusterNodeSpec[] = [];
  for (let i = 0; i < spec.subnets.length; i++) {
    const k = i + 1;
    const sn = spec.subnets[i];
    const host = await lab.addHost(`${p}-n${k}`);
    const address = `198.18.${10 + sn}.${10 + k}`;
    await lab.link(host, tor, { ifA: 'eth0', ifB: `${p}${k}b`, v4: `${address}/24` });
    await mustRun('ip', ['-n', tor, 'link', 'set', `${p}${k}b`, 'master', `${p}br`]);
    await mustRun('ip', ['-n', host, 'route', 'add', 'default', 'via', TOR_ADDR[sn]]);
    // Stand-in for Calico's tunl0: this kernel has no ipip module (see the header).
    await mustRun('ip', ['-n', host, 'link', 'add', 'tunl0', 'type', 'veth', 'peer', 'name', 'tunl0p']);
    await mustRun('ip', ['-n', host, 'link', 'set', 'tunl0p', 'up']);
    await mustRun('ip', ['-n', host, 'link', 'set', 'tunl0', 'up']);
    nodes.push({ name: `n${k}`, host, address, blocks: [`10.244.${k}.0/26`] });
  }

  const neighbors: BirdNeighbor[] = nodes.map((n) => ({
    name: n.name,
    localAs: TOR_AS,
    neighborAddr: n.address,
    neighborAs: CLUSTER_AS,
    // Tern connects (a global BGPPeer is active); a passive ToR makes the Established count exact.
    passive: true,
    holdTime: 6,
    keepaliveTime: 2,
    ipv4: { import: 'all', export: 'none' },
  }));
  await startBird(lab, tor, { routerId: TOR_ADDR[0], neighbors });

  const model = meshModel(nodes, spec.ipipMode ?? 'CrossSubnet');
  const ternd = new Map<string, Ternd>();
  const yaml = calicoYaml(model);
  const store = spec.datastore ? await spec.datastore.start(lab, tor) : undefined;
  if (store) await spec.datastore!.write(yaml);
  await Promise.all(
    nodes.map(async (n) => {
      const t = await startTernd(lab, n.host, {
        configYaml: yaml,
        node: n.name,
        fib: 'kernel',
        logLevel: spec.logLevel ?? 'debug',
        datastoreArgs: store?.terndArgs,
        // ternd opens its control socket after the first complete model: a store read takes longer than a file.
        startTimeoutMs: spec.datastore ? 45_000 : undefined,
        args: ['--connect-retry', '1', '--probes', 'off', ...(spec.terndArgs ?? [])],
      });
      ternd.set(n.name, t);
    }),
  );
  const cluster: Cluster = {
    lab,
    tor,
    nodes,
    ternd,
    model,
    write(text) {
      const body = text ?? calicoYaml(cluster.model);
      const t0 = performance.now();
      // Write-then-rename, as a datastore sync would: a reader never sees half a file.
      for (const t of ternd.values()) {
        fs.writeFileSync(`${t.configFile}.tmp`, body);
        fs.renameSync(`${t.configFile}.tmp`, t.configFile);
      }
      return t0;
    },
    async sync(text) {
      if (!spec.datastore) return cluster.write(text);
      const t0 = performance.now();
      await spec.datastore.write(text ?? calicoYaml(cluster.model));
      return t0;
    },
  };
  return cluster;
}

/** ternd's routes (proto 201) in one node's namespace, as `dst -> description`. */
export async function ternRoutes(c: Cluster, host: string): Promise<Map<string, string>> {
  const rows: NsRoute[] = await routesInNs(c.lab, host, { family: 'ipv4', proto: TERN_PROTO });
  const m = new Map<string, string>();
  for (const r of rows) {
    const hops = r.nexthops
      .map((h) => `${h.gateway ?? ''}@${h.dev ?? ''}`)
      .sort()
      .join(',');
    m.set(r.dst, r.type === 'blackhole' ? 'blackhole' : hops);
  }
  return m;
}

/** What each node's FIB must hold: own blocks as blackholes, the others' via the right hop. */
export function expectedFib(c: Cluster, node: ClusterNodeSpec, blocks: Map<string, string[]>, ipipMode = 'CrossSubnet'): Map<string, string> {
  const m = new Map<string, string>();
  const subnet = (a: string) => a.split('.').slice(0, 3).join('.');
  for (const other of c.nodes) {
    for (const b of blocks.get(other.name) ?? []) {
      if (other === node) m.set(b, 'blackhole');
      else if (ipipMode === 'Never' || (ipipMode === 'CrossSubnet' && subnet(other.address) === subnet(node.address))) m.set(b, `${other.address}@eth0`);
      else m.set(b, `${other.address}@tunl0`);
    }
  }
  return m;
}

export const mapText = (m: Map<string, string>): string =>
  [...m]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join('\n');

/** Waits until every node's proto-201 routes are exactly `expectedFib`. */
export async function waitFibs(c: Cluster, blocks: Map<string, string[]>, timeoutMs = 20_000): Promise<void> {
  await Promise.all(
    c.nodes.map((n) => {
      const want = mapText(expectedFib(c, n, blocks));
      let last = '';
      return waitFor(`FIB of ${n.host}`, timeoutMs, async () => {
        last = mapText(await ternRoutes(c, n.host));
        return last === want;
      }).catch((e: Error) => {
        throw new Error(`${e.message}\nwant:\n${want}\nhave:\n${last}`);
      });
    }),
  );
}

export interface NeighborSummary {
  address: string;
  state: string;
  establishedTransitions: number;
}

/**
 * One request on a ternd control socket (JSON lines, src/control/protocol.ts), without starting
 * a bgpctl process: the scenarios poll sessions of four nodes often, and a node process per poll
 * would cost more CPU than the cluster itself on a 2-core machine.
 */
export function control<T>(socket: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(socket);
    let buf = '';
    const timer = setTimeout(() => (sock.destroy(), reject(new Error(`${cmd} on ${socket}: no answer in ${timeoutMs} ms`))), timeoutMs);
    sock.on('error', (e) => (clearTimeout(timer), reject(e)));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.destroy();
      const a = JSON.parse(buf.slice(0, nl)) as { ok: boolean; data?: T; error?: { message: string } };
      if (a.ok) resolve(a.data as T);
      else reject(new Error(`${cmd}: ${a.error?.message}`));
    });
    sock.write(JSON.stringify({ v: 1, id: 1, cmd, args }) + '\n');
  });
}

export interface NeighborSummary {
  address: string;
  state: string;
  establishedTransitions: number;
}

/** Every session of one node with its Established count (what `bgpctl show neighbor -j` shows). */
export async function sessions(c: Cluster, host: string): Promise<NeighborSummary[]> {
  const t = [...c.ternd.values()].find((x) => x.host === host);
  if (!t) throw new Error(`no ternd in ${host}`);
  const peers = await control<{ address: string }[]>(t.controlSocket, 'show.peers');
  const out: NeighborSummary[] = [];
  for (const p of peers) {
    const n = await control<NeighborSummary>(t.controlSocket, 'show.neighbor', { address: p.address });
    out.push({ address: n.address, state: n.state, establishedTransitions: n.establishedTransitions });
  }
  return out.sort((a, b) => a.address.localeCompare(b.address));
}

export async function waitSessions(c: Cluster, host: string, want: string[], timeoutMs = 20_000): Promise<NeighborSummary[]> {
  let last: NeighborSummary[] = [];
  return waitFor(`sessions of ${host}`, timeoutMs, async () => {
    last = await sessions(c, host);
    const ok = last.length === want.length && want.every((a) => last.some((s) => s.address === a && s.state === 'Established'));
    return ok ? last : undefined;
  }).catch((e: Error) => {
    throw new Error(`${e.message}: want ${want.join(', ')} Established; have ${JSON.stringify(last)}`);
  });
}
