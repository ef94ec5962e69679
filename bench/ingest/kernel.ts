// `--fib kernel`: each target runs in a network namespace of its own and really installs the
// routes it learns, into table KERNEL_TABLE of that namespace. The harness (injector, monitor,
// watcher) stays in its own namespace and reaches the target over a veth pair on 198.18.0.0/24
// (RFC 2544 lab addresses; 2001:db8:ffff::/64 for IPv6, RFC 3849), so the injector's address is
// also the routes' next hop and is directly connected in the target's namespace.
//
// Counting the kernel's routes: during the run, /proc/<target pid>/net/fib_triestat (IPv4: the
// per-table "Prefixes" count of the FIB trie, one per route) or /proc/<pid>/net/rt6_stats (IPv6:
// rt_entries, every route of the namespace, less those present before the injection). Both are
// one read of a kernel counter, cheap at 1M routes, where a full `ip route show` dump takes
// seconds. After the run, verify() dumps the table with `ip -n NS route show table X` and checks
// that it holds exactly the N workload prefixes (rule 6 of docs/benchmarks.md).

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import type { BenchFamily } from './workload.js';
import { IPV4_BASE24, IPV4_LEN, IPV6_HIGH, IPV6_LEN } from './workload.js';

/** The table BIRD (`kernel table`) and ternd (`--table`) write into; FRR's zebra uses main. */
export const KERNEL_TABLE = 100;

/** Addresses on the veth pair: the harness's side holds injector, monitor and watcher. */
export const KERNEL_ADDRS: Record<BenchFamily, { injector: string; target: string; monitor: string; watcher: string; plen: number }> = {
  ipv4: { injector: '198.18.0.1', target: '198.18.0.2', monitor: '198.18.0.3', watcher: '198.18.0.4', plen: 24 },
  ipv6: { injector: '2001:db8:ffff::1', target: '2001:db8:ffff::2', monitor: '2001:db8:ffff::3', watcher: '2001:db8:ffff::4', plen: 64 },
};

const ip = (...a: string[]): string => execFileSync('ip', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export interface TargetNetns {
  name: string;
  /** The veth end inside the target's namespace. */
  device: string;
  /** Wraps a command so that it runs inside the namespace (`ip netns exec` keeps the PID). */
  wrap(cmd: string, args: string[]): { cmd: string; args: string[] };
  /** Deletes the veth pair and the namespace; safe to call twice. */
  remove(): void;
}

let seq = 0;
const live = new Set<TargetNetns>();
let hooked = false;

/**
 * A fresh namespace `tbik-<pid>-<seq>` for one run of one target, joined to the harness's
 * namespace by veth `tbik<seq>h` (here) / `tbik<seq>t` (there). Deleted by remove(), and on
 * exit of the harness if a run never got that far.
 */
export function createTargetNetns(family: BenchFamily): TargetNetns {
  const n = ++seq;
  const name = `tbik-${process.pid}-${n}`;
  const here = `tbik${n}h`;
  const there = `tbik${n}t`;
  const a = KERNEL_ADDRS[family];
  const nodad = family === 'ipv6' ? ['nodad'] : [];
  let removed = false;
  const ns: TargetNetns = {
    name,
    device: there,
    wrap: (cmd, args) => ({ cmd: 'ip', args: ['netns', 'exec', name, cmd, ...args] }),
    remove() {
      if (removed) return;
      removed = true;
      live.delete(ns);
      // The veth first (deleting one end deletes both, at once), then the namespace.
      for (const args of [
        ['link', 'del', here],
        ['netns', 'del', name],
      ]) {
        try {
          ip(...args);
        } catch {
          // already gone
        }
      }
    },
  };
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const x of [...live]) x.remove();
    });
  }
  live.add(ns);
  try {
    ip('netns', 'add', name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
    ip('link', 'add', here, 'type', 'veth', 'peer', 'name', there, 'netns', name);
    for (const x of [a.injector, a.monitor, a.watcher]) ip('addr', 'add', `${x}/${a.plen}`, 'dev', here, ...nodad);
    ip('-n', name, 'addr', 'add', `${a.target}/${a.plen}`, 'dev', there, ...nodad);
    ip('link', 'set', here, 'up');
    ip('-n', name, 'link', 'set', there, 'up');
  } catch (e) {
    ns.remove();
    throw new Error(`cannot build the target's namespace ${name}: ${(e as Error & { stderr?: string }).stderr?.trim() || (e as Error).message}`);
  }
  return ns;
}

/**
 * Routes in `table` as the kernel counts them, read through the target process's view of
 * /proc/net (its namespace). IPv4: fib_triestat's "Prefixes" of the table (one per route; main
 * and local share one trie until a policy rule exists, hence the caller's baseline). IPv6:
 * rt6_stats's rt_entries (all tables; the caller subtracts a baseline).
 */
export function kernelRouteCount(pid: number, family: BenchFamily, table = KERNEL_TABLE): number {
  if (family === 'ipv6') {
    const f = fs.readFileSync(`/proc/${pid}/net/rt6_stats`, 'utf8').trim().split(/\s+/);
    return Number.parseInt(f[3], 16); // fib_nodes route_nodes rt6_alloc rt_entries ...
  }
  const s = fs.readFileSync(`/proc/${pid}/net/fib_triestat`, 'utf8');
  const at = s.indexOf(table === 254 ? 'Main:' : table === 255 ? 'Local:' : `Id ${table}:`);
  if (at < 0) return 0; // the table does not exist until its first route
  const m = /Prefixes:\s+(\d+)/.exec(s.slice(at));
  return m ? Number(m[1]) : 0;
}

export interface KernelVerify {
  /** Lines (routes) in `ip route show table X`. */
  routes: number;
  /** Distinct workload prefixes among them. */
  workload: number;
  /** Routes whose next hop is the injector's address. */
  viaInjector: number;
  /** Routes that are not workload prefixes (in main: the veth's connected route). */
  foreign: number;
}

/** Index of a workload prefix written as `ip route` prints it, or -1. */
export function workloadIndex(family: BenchFamily, text: string, n: number): number {
  const [addr, len] = text.split('/');
  if (family === 'ipv4') {
    if (Number(len) !== IPV4_LEN) return -1;
    const o = addr.split('.').map(Number);
    if (o.length !== 4 || o[3] !== 0) return -1;
    const i = ((o[0] << 16) | (o[1] << 8) | o[2]) - IPV4_BASE24;
    return i >= 0 && i < n ? i : -1;
  }
  if (Number(len) !== IPV6_LEN) return -1;
  // Expand "::" into the missing groups, then read the first four.
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const groups = tail === undefined ? hs : [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
  if (groups.length !== 8) return -1;
  const g = groups.map((x) => Number.parseInt(x, 16));
  if (g[0] !== ((IPV6_HIGH[0] << 8) | IPV6_HIGH[1]) || g[1] !== ((IPV6_HIGH[2] << 8) | IPV6_HIGH[3])) return -1;
  if (g[4] || g[5] || g[6] || g[7]) return -1;
  const i = g[2] * 0x10000 + g[3];
  return i < n ? i : -1;
}

/** Dumps a table of the namespace and counts it, streaming (1M lines is ~70 MB). */
export function verifyKernelTable(ns: string, family: BenchFamily, n: number, nextHop: string, table = KERNEL_TABLE): Promise<KernelVerify> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['-n', ns, family === 'ipv4' ? '-4' : '-6', 'route', 'show', 'table', String(table)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const held = new Uint8Array(n);
    const v: KernelVerify = { routes: 0, workload: 0, viaInjector: 0, foreign: 0 };
    const via = ` via ${nextHop} `;
    let rest = '';
    let err = '';
    const line = (l: string): void => {
      if (l === '' || l[0] === ' ' || l[0] === '\t') return; // multipath continuation lines
      v.routes++;
      const i = workloadIndex(family, l.slice(0, l.indexOf(' ') >>> 0), n);
      if (i < 0) v.foreign++;
      else if (!held[i]) {
        held[i] = 1;
        v.workload++;
      }
      if (l.includes(via)) v.viaInjector++;
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) line(l);
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      line(rest);
      if (code === 0) resolve(v);
      else reject(new Error(`ip route show table ${table} in ${ns}: exit ${code}: ${err.trim()}`));
    });
  });
}
