// The namespace lab of the mesh-at-scale bench (bench/mesh.ts, issue 18): N node namespaces on
// one Linux bridge, the Calico model they all read, and an `ip monitor route` in every node that
// stamps each route as the node's kernel gets it.
//
// Layout: the bridge lives in a namespace of its own (`<prefix>sw`), so the host's interfaces
// and routing table are never touched. Node i (1..N) is the namespace `<prefix>n<i>`, with one
// veth (eth0) onto the bridge and the address 198.18.<a>.<b>/16 (all nodes in one L2 segment, as
// a rack of nodes on one switch). Its pod block is 10.<244 + i/256>.<i%256>.0/26, which appears
// only as a prefix in BGP and in the namespaces' FIBs: no packet is ever sent to it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { type Lab, mustRun, onLines, run } from '../conformance/lab/lab.js';
import { blockDoc, calicoYaml, type CalicoModel } from '../conformance/lab/tern.js';

export const MESH_AS = 64512;
/** The most nodes the address plan below fits (four /24s of blocks, 250 addresses per /24). */
export const MAX_NODES = 1000;

export interface MeshNode {
  /** 1..N. */
  index: number;
  /** Node name in the model, e.g. 'node7'. */
  name: string;
  /** Its namespace. */
  host: string;
  address: string;
  /** The pod blocks it owns (its first one from the start; the bench adds more). */
  blocks: string[];
}

/** A fixed locally administered MAC per node, so every namespace can be told all of them up front. */
export const nodeMac = (i: number): string => `02:18:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
export const nodeAddress = (i: number): string => `198.18.${1 + Math.floor((i - 1) / 250)}.${((i - 1) % 250) + 1}`;
/** The k-th /26 (k = 0..3) of node i's /24. */
export const nodeBlock = (i: number, k = 0): string => `10.${244 + (i >> 8)}.${i & 255}.${64 * k}/26`;

/**
 * Namespace names are limited like interface names (15 characters, Lab.addHost): a short tag of
 * the issue and this process's PID keep them unique among parallel runs and sessions.
 */
export const meshPrefix = (): string => `i18m${process.pid % 100000}`;

/**
 * Create the bridge namespace and N node namespaces plugged into it, `parallel` at a time.
 * `staticArp`: every node gets a permanent ARP entry for every other node. The kernel has ONE
 * ARP table for the host and every namespace, limited by the host's gc_thresh3 (1024 by
 * default) with N(N-1) entries needed here, where N real nodes would each need N-1 in a kernel
 * of their own; permanent entries are exempt from that limit (and from garbage collection), so
 * the lab then measures the daemons, not its own shared table (see arpTable).
 */
export async function buildMesh(lab: Lab, prefix: string, n: number, o: { staticArp: boolean; parallel?: number }): Promise<{ sw: string; nodes: MeshNode[] }> {
  if (n < 2 || n > MAX_NODES) throw new Error(`--nodes must be 2..${MAX_NODES}`);
  const parallel = o.parallel ?? 8;
  const sw = await lab.addSwitch(`${prefix}sw`);
  const nodes: MeshNode[] = Array.from({ length: n }, (_, k) => ({
    index: k + 1,
    name: `node${k + 1}`,
    host: `${prefix}n${k + 1}`,
    address: nodeAddress(k + 1),
    blocks: [nodeBlock(k + 1)],
  }));
  const each = async (fn: (node: MeshNode) => Promise<void>): Promise<void> => {
    for (let at = 0; at < n; at += parallel) await Promise.all(nodes.slice(at, at + parallel).map(fn));
  };
  await each(async (node) => {
    await lab.addHost(node.host);
    await lab.plug(node.host, sw, { v4: `${node.address}/16`, ifName: 'eth0' });
    await mustRun('ip', ['-n', node.host, 'link', 'set', 'eth0', 'address', nodeMac(node.index)]);
  });
  if (o.staticArp)
    await each(async (node) => {
      const lines = nodes.filter((x) => x !== node).map((x) => `neigh replace ${x.address} lladdr ${nodeMac(x.index)} dev eth0 nud permanent\n`);
      const r = await run('ip', ['-n', node.host, '-batch', '-'], { input: lines.join('') });
      if (r.code !== 0) throw new Error(`static ARP entries in ${node.host}: ${r.stderr.trim()}`);
    });
  return { sw, nodes };
}

/** The Calico model every node reads: the full node-to-node mesh and each node's IPAM blocks. */
export function meshModel(nodes: MeshNode[]): CalicoModel {
  return {
    asNumber: MESH_AS,
    nodeToNodeMeshEnabled: true,
    nodes: nodes.map((x) => ({ name: x.name, ipv4Address: `${x.address}/16` })),
    extraDocs: [
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'pods' },
        // All nodes share one subnet: routes go straight via the owner on eth0, no tunnel.
        spec: { cidr: '10.244.0.0/14', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' },
      },
      ...nodes.flatMap((x) => x.blocks.map((b) => blockDoc(b, x.name))),
    ],
  };
}

/**
 * The one model file all ternds read, in a directory of its own: ternd watches the file's
 * directory, and the lab directory also holds 100 logs whose every write would wake every ternd.
 * Written by rename, as a datastore sync replaces it, so no reader sees half a file.
 */
export function writeModel(file: string, nodes: MeshNode[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, calicoYaml(meshModel(nodes)));
  fs.renameSync(`${file}.tmp`, file);
}

/** What one node's kernel has of the routes it must learn, as its `ip monitor` saw them. */
export interface RouteWatch {
  node: MeshNode;
  monitor: ChildProcess;
  /** Prefixes this node must learn from others. */
  expected: Set<string>;
  /** Those present now. */
  have: Set<string>;
  /** Wall-clock ms (sub-ms) when `have` first equalled `expected`. */
  completeAt?: number;
  /** Wall-clock ms of the first add of each prefix (for the block-change latencies). */
  firstSeen: Map<string, number>;
  /** Deletions of an expected prefix after completeAt: a session that went down took its routes. */
  lostAfterComplete: number;
}

/** `ip -ts` prints local time; the monitors run with TZ=UTC so the stamp parses as UTC. */
function stampMs(ts: string): number {
  return Date.parse(`${ts.slice(0, 23)}Z`) + Number(`0.${ts.slice(23, 26) || '0'}`);
}

const ROUTE_TYPES = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit', 'local', 'broadcast', 'throw', 'nat', 'anycast', 'multicast']);

/**
 * Start `ip -ts -o -4 monitor route` in every node. ip stamps each event when it reads it from
 * the kernel, so a bench process that reads the pipe late (100 monitors on 2 cores) does not
 * count as propagation time. Call before any ternd starts: then no route is missed.
 */
export function watchRoutes(lab: Lab, nodes: MeshNode[]): RouteWatch[] {
  const all = nodes.flatMap((x) => x.blocks.map((b) => [b, x] as const));
  return nodes.map((node) => {
    const monitor = lab.spawn(node.host, 'ip', ['-ts', '-o', '-4', 'monitor', 'route'], { env: { ...process.env, TZ: 'UTC' } });
    const w: RouteWatch = {
      node,
      monitor,
      expected: new Set(all.filter(([, owner]) => owner !== node).map(([b]) => b)),
      have: new Set(),
      firstSeen: new Map(),
      lostAfterComplete: 0,
    };
    onLines(monitor.stdout, (line) => {
      const m = /^\[([^\]]+)\]\s+(.*)$/.exec(line);
      if (!m) return;
      const at = stampMs(m[1]);
      const words = m[2].split(/\s+/);
      const deleted = words[0] === 'Deleted';
      if (deleted) words.shift();
      const dst = ROUTE_TYPES.has(words[0]) ? words[1] : words[0];
      if (dst === undefined || !dst.startsWith('10.')) return;
      if (deleted) {
        if (w.have.delete(dst) && w.completeAt !== undefined) w.lostAfterComplete++;
        return;
      }
      if (!w.firstSeen.has(dst)) w.firstSeen.set(dst, at);
      if (!w.expected.has(dst)) return;
      w.have.add(dst);
      if (w.completeAt === undefined && w.have.size === w.expected.size) w.completeAt = at;
    });
    return w;
  });
}

/** Per-process figures from /proc: memory now and at its peak, CPU so far, open files. */
export interface ProcFigures {
  rssMb: number;
  hwmMb: number;
  cpuSeconds: number;
  threads: number;
  fds: number;
  fdLimit: number;
}

export function procFigures(pid: number): ProcFigures | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    // After the command name: utime and stime are fields [11] and [12] (stat(5) 14 and 15), in USER_HZ (100).
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const limits = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
    return {
      rssMb: +(kb('VmRSS') / 1024).toFixed(1),
      hwmMb: +(kb('VmHWM') / 1024).toFixed(1),
      cpuSeconds: (Number(f[11]) + Number(f[12])) / 100,
      threads: kb('Threads'),
      fds: fs.readdirSync(`/proc/${pid}/fd`).length,
      fdLimit: Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? NaN),
    };
  } catch {
    return undefined; // the process is gone
  }
}

/** MemAvailable of the machine, MiB. */
export function memAvailableMb(): number {
  const m = /^MemAvailable:\s+(\d+)/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/**
 * The kernel's ARP table (arp_tbl) is one table for the host and every namespace, with one set
 * of limits: gc_thresh1..3, readable (and settable) only in the host's namespace, never written
 * here. A mesh of N nodes on one segment needs N(N-1) entries in it, where N real nodes would
 * each need N-1 in their own kernel. `tableFulls` counts allocations refused because the table
 * was full (/proc/net/stat/arp_cache, summed over CPUs).
 */
export interface ArpTable {
  entries: number;
  tableFulls: number;
  gcThresh: number[];
}

export function arpTable(): ArpTable {
  const gcThresh = [1, 2, 3].map((k) => Number(fs.readFileSync(`/proc/sys/net/ipv4/neigh/default/gc_thresh${k}`, 'utf8').trim()));
  const [head, ...rows] = fs.readFileSync('/proc/net/stat/arp_cache', 'utf8').trim().split('\n');
  const cols = head.trim().split(/\s+/);
  const col = (row: string, name: string) => Number.parseInt(row.trim().split(/\s+/)[cols.indexOf(name)], 16);
  return {
    entries: rows.length ? col(rows[0], 'entries') : NaN,
    tableFulls: rows.reduce((s, r) => s + col(r, 'table_fulls'), 0),
    gcThresh,
  };
}
