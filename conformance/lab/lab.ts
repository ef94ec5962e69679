// The conformance lab: network namespaces joined by veth pairs, and the processes run in them.
// Every namespace and process a Lab creates is recorded so that `destroy()` (called from
// `t.after` / finally) removes exactly those, by name and by PID, even when a test failed.
// A process 'exit' / SIGINT / SIGTERM hook does the same synchronously as a last resort, and
// `addHost` first removes a stale namespace of the same name left by a crashed run.
// One file on purpose (~430 lines): the Lab owns every namespace and process it creates, and its
// cleanup (destroy, the exit hook, stale-namespace removal) must see all of them in one place.

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Result of a command run to completion. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface LinkOptions {
  /** Address with prefix length for hostA's end, e.g. '198.18.1.1/24'. */
  v4?: string;
  /** Address with prefix length for hostB's end. */
  v4b?: string;
  /** IPv6 address for hostA's end, e.g. '2001:db8:1::1/64' (added with nodad). */
  v6?: string;
  v6b?: string;
  /** Interface name in hostA (default: hostB's name) and in hostB (default: hostA's name). */
  ifA?: string;
  ifB?: string;
  /**
   * Keep IPv6 link-local addresses (default false). FRR 8.4 without zebra rejects an UPDATE
   * whose MP_REACH carries a global + link-local next hop on a non-interface neighbor with
   * NOTIFICATION 3/10, and BIRD adds the link-local one whenever the interface has it.
   */
  linkLocal?: boolean;
}

export interface SpawnOptions {
  /** Append stdout and stderr to this file (otherwise they are piped and readable). */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Give the child a stdin pipe (a scripted peer driven by the test); default: no stdin. */
  stdin?: boolean;
}

const IFNAMSIZ = 15;

/** The project's containers.conf for podman (runc, no default ulimits): deploy/containers.conf. */
export const CONTAINERS_CONF = process.env.CONTAINERS_CONF ?? path.resolve(__dirname, '..', '..', '..', 'deploy', 'containers.conf');
const liveLabs = new Set<Lab>();
let hooksInstalled = false;

function installSafetyNet(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const lab of liveLabs) lab.destroySync();
      process.exit(130);
    });
  }
}

/** Run a command to completion; never throws for a non-zero exit (see `code`). */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 20_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ stdout, stderr: stderr || (err && !stderr ? String(err.message) : ''), code });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like `run` but throws with the command's stderr when it fails. */
export async function mustRun(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `fn` with each whole line a child writes (ip monitor, ternd's JSON log), however the
 * pipe splits them; `raw` sees every chunk first (to tee it into a log file).
 */
export function onLines(stream: NodeJS.ReadableStream | null | undefined, fn: (line: string) => void, raw?: (chunk: string) => void): void {
  let buf = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    raw?.(chunk);
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      fn(line);
    }
  });
}

/** Thrown by a waitFor probe to stop waiting at once (e.g. the daemon exited). */
export class GiveUp extends Error {}

/** Poll `probe` until it returns a value other than undefined/false, or throw after timeoutMs. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      if (e instanceof GiveUp) throw e;
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** PIDs of processes inside a named network namespace (`ip netns pids`). */
export function netnsPidsSync(ns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

export function netnsListSync(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter(Boolean);
  } catch {
    return [];
  }
}

/** Which process created each lab namespace, so a pre-clean never kills a live run's lab. */
const OWNER_DIR = path.join(os.tmpdir(), 'tern-lab-owners');

function ownerOf(ns: string): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(OWNER_DIR, ns), 'utf8')) || undefined;
  } catch {
    return undefined;
  }
}

/** Kill every process in the namespace by PID, then delete the namespace by name. */
function removeNamespaceSync(ns: string): void {
  for (const pid of netnsPidsSync(ns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    /* not there */
  }
  fs.rmSync(path.join(OWNER_DIR, ns), { force: true });
}

export class Lab {
  readonly hosts: string[] = [];
  readonly children = new Map<number, ChildProcess>();
  /** Per-lab scratch directory for configs, sockets, pid files and logs. */
  readonly dir: string;
  /** Daemon handles (BIRD, FRR, ternd) registered by the helper modules, keyed 'kind:host'. */
  readonly instances = new Map<string, unknown>();
  /** Containers started for this lab (TERN_PEERS=containers): removed by name in destroy. */
  readonly containers = new Set<string>();
  /** Pods played for this lab (conformance/lab/pod.ts): removed by name in destroy. */
  readonly pods = new Set<string>();
  private destroyed = false;

  private constructor(readonly name: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `tern-lab-${name}-`));
    fs.chmodSync(this.dir, 0o755);
  }

  static async create(name: string): Promise<Lab> {
    installSafetyNet();
    const lab = new Lab(name);
    liveLabs.add(lab);
    return lab;
  }

  /**
   * Create namespace `name` with lo up. A namespace of that name left by a dead process (a
   * crashed run) is removed first; one owned by another live process (the same test file run
   * twice at once, e.g. by two engineers) is waited for, up to 90 s.
   */
  async addHost(name: string): Promise<string> {
    if (name.length > IFNAMSIZ) throw new Error(`host name ${name} longer than ${IFNAMSIZ}`);
    if (netnsListSync().includes(name)) {
      const owner = ownerOf(name);
      if (owner !== undefined && owner !== process.pid && pidAlive(owner)) {
        await waitFor(`namespace ${name} (in use by live PID ${owner})`, 90_000, () => !netnsListSync().includes(name) || !pidAlive(owner), 250);
      }
      if (netnsListSync().includes(name)) removeNamespaceSync(name);
    }
    await mustRun('ip', ['netns', 'add', name]);
    fs.mkdirSync(OWNER_DIR, { recursive: true });
    fs.writeFileSync(path.join(OWNER_DIR, name), String(process.pid));
    this.hosts.push(name);
    await mustRun('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** Join two hosts by a veth pair created directly inside both namespaces. */
  async link(hostA: string, hostB: string, opts: LinkOptions = {}): Promise<{ ifA: string; ifB: string }> {
    const ifA = opts.ifA ?? hostB;
    const ifB = opts.ifB ?? hostA;
    if (ifA.length > IFNAMSIZ || ifB.length > IFNAMSIZ) throw new Error(`interface name too long: ${ifA}/${ifB}`);
    await mustRun('ip', ['link', 'add', ifA, 'netns', hostA, 'type', 'veth', 'peer', 'name', ifB, 'netns', hostB]);
    for (const [host, ifn, v4, v6] of [
      [hostA, ifA, opts.v4, opts.v6],
      [hostB, ifB, opts.v4b, opts.v6b],
    ] as const) {
      if (!opts.linkLocal) await mustRun('ip', ['-n', host, 'link', 'set', ifn, 'addrgenmode', 'none']);
      // Without DAD the fe80:: address is usable at once: BIRD ignores tentative addresses and
      // would announce a 16-byte next hop if it started within the DAD period.
      else await mustRun('ip', ['netns', 'exec', host, 'sysctl', '-qw', `net.ipv6.conf.${ifn}.accept_dad=0`]);
      if (v4) await mustRun('ip', ['-n', host, 'addr', 'add', v4, 'dev', ifn]);
      if (v6) await mustRun('ip', ['-n', host, '-6', 'addr', 'add', v6, 'dev', ifn, 'nodad']);
      await mustRun('ip', ['-n', host, 'link', 'set', ifn, 'up']);
    }
    if (opts.linkLocal) {
      for (const [host, ifn] of [
        [hostA, ifA],
        [hostB, ifB],
      ] as const) {
        await waitFor(`link-local address on ${host}/${ifn}`, 5000, async () =>
          (await run('ip', ['-n', host, '-6', 'addr', 'show', 'dev', ifn, 'scope', 'link'])).stdout.includes('fe80:'),
        );
      }
    }
    return { ifA, ifB };
  }

  /** A namespace holding one bridge (br0): a shared L2 segment that hosts are `plug`ged into. */
  async addSwitch(name: string): Promise<string> {
    await this.addHost(name);
    await mustRun('ip', ['-n', name, 'link', 'add', 'br0', 'type', 'bridge']);
    await mustRun('ip', ['-n', name, 'link', 'set', 'br0', 'up']);
    return name;
  }

  /** Connect `host` to a switch from addSwitch; returns the host's interface name. */
  async plug(host: string, sw: string, opts: { v4?: string; v6?: string; ifName?: string; linkLocal?: boolean } = {}): Promise<string> {
    const { ifA, ifB } = await this.link(host, sw, { v4: opts.v4, v6: opts.v6, ifA: opts.ifName, linkLocal: opts.linkLocal });
    await mustRun('ip', ['-n', sw, 'link', 'set', ifB, 'master', 'br0']);
    return ifA;
  }

  /** Run a command inside a host's namespace to completion (`ip netns exec`). */
  exec(host: string, cmd: string, args: string[] = [], opts: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', host, cmd, ...args], opts);
  }

  /**
   * Start a long-running process inside a host's namespace. `ip netns exec` execs the command
   * in place, so the child's PID is the daemon's PID: run daemons in the foreground.
   */
  spawn(host: string, cmd: string, args: string[] = [], opts: SpawnOptions = {}): ChildProcess {
    return this.spawnOnHost('ip', ['netns', 'exec', host, cmd, ...args], opts, `${cmd} in ${host}`);
  }

  /** Start a long-running process in the host's own namespace (podman, which joins a lab namespace itself). */
  spawnOnHost(cmd: string, args: string[], opts: SpawnOptions = {}, what = cmd): ChildProcess {
    let stdio: ('ignore' | 'pipe' | number)[] = [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'];
    let fd: number | undefined;
    if (opts.logFile) {
      fd = fs.openSync(opts.logFile, 'a');
      stdio = ['ignore', fd, fd];
    }
    const child = spawn(cmd, args, { stdio, env: opts.env ?? process.env });
    if (fd !== undefined) fs.closeSync(fd);
    if (child.pid === undefined) throw new Error(`could not spawn ${what}`);
    const pid = child.pid;
    this.children.set(pid, child);
    child.on('exit', () => this.children.delete(pid));
    child.on('error', () => this.children.delete(pid));
    return child;
  }

  /** Stop one process by PID: SIGTERM, then SIGKILL after graceMs. */
  async stop(pid: number, graceMs = 2000): Promise<void> {
    if (!pidAlive(pid)) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      const child = this.children.get(pid);
      if (child ? child.exitCode !== null || child.signalCode !== null : !pidAlive(pid)) return;
      await sleep(25);
    }
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    await sleep(25);
  }

  /**
   * A graceful stop that must work: SIGTERM, then wait up to timeoutMs for the process to exit
   * by itself. A process still running then is killed (-9) and the call THROWS: a daemon that
   * hangs on SIGTERM is a failure, not something `stop()`'s SIGKILL fallback may hide (issue 15).
   * Resolves with the exit code / signal the process reported.
   */
  async terminate(pid: number, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.children.get(pid);
    if (!child) throw new Error(`terminate: PID ${pid} is not a child of this lab`);
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`terminate: PID ${pid} had already exited (${child.exitCode ?? child.signalCode})`);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    process.kill(pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    const r = await Promise.race([exited, hung]);
    clearTimeout(timer);
    if (r) return r;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone in between */
    }
    await exited;
    throw new Error(`PID ${pid} did not exit within ${timeoutMs} ms of SIGTERM (killed with SIGKILL)`);
  }

  /** Kill every process this lab started and delete every namespace it created. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await Promise.all([...this.children.keys()].map((pid) => this.stop(pid)));
    this.destroySync();
  }

  /** Synchronous teardown for the exit hook (and the tail of destroy). */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    liveLabs.delete(this);
    for (const pid of this.children.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const [what, names] of [
      [['pod', 'rm'], this.pods],
      [['rm'], this.containers],
    ] as const) {
      if (!names.size) continue;
      try {
        execFileSync('podman', [...what, '-f', '-t', '0', ...names], { stdio: 'ignore', env: { ...process.env, CONTAINERS_CONF } });
      } catch {
        /* already gone */
      }
    }
    for (const host of this.hosts) removeNamespaceSync(host);
    if (process.env.TERN_LAB_KEEP !== '1') fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** A path inside the lab directory. */
  file(name: string): string {
    return path.join(this.dir, name);
  }
}

/**
 * Kernel SNMP/netstat counters of a namespace (`nstat -asz`: absolute values, history file left
 * alone), e.g. TcpExtTCPMD5Failure, TcpExtTCPMinTTLDrop. Each namespace has its own; a negative
 * test reads them to prove the packets arrived and were dropped for the reason it claims.
 */
export async function netnsCounters(host: string, names: string[]): Promise<Record<string, number>> {
  const r = await run('ip', ['netns', 'exec', host, 'nstat', '-asz', ...names]);
  if (r.code !== 0) throw new Error(`nstat in ${host}: ${r.stderr}`);
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const line of r.stdout.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name in out) out[name] = Number(value);
  }
  return out;
}
