// Namespace plumbing for the FIB tests: a namespace of our own (prefix tfib-), `ip` inside it,
// and a NetlinkFib running in a child process inside it (fib-child.ts). Nothing here touches
// the host's routing table: every `ip` call carries -n <ns>, every child runs under
// `ip netns exec`. Loaded by node --test as a file too: it only exports helpers.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Run as root, or fail when TERN_CONFORMANCE=1 demands it; else the caller skips. */
export function nsSkipReason(): string | undefined {
  const root = process.getuid?.() === 0;
  let ip = true;
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    ip = false;
  }
  const why = !root ? 'needs root for network namespaces' : !ip ? 'needs iproute2 (ip)' : undefined;
  if (why && process.env.TERN_CONFORMANCE === '1') throw new Error(`TERN_CONFORMANCE=1: ${why}`);
  return why;
}

export class Netns {
  constructor(readonly name: string) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      /* not there */
    }
    execFileSync('ip', ['netns', 'add', name]);
    this.ip('link set lo up');
  }

  ip(args: string): string {
    return execFileSync('ip', ['-n', this.name, ...args.split(/\s+/).filter(Boolean)], { encoding: 'utf8' });
  }

  /** A veth pair a<->b inside the namespace, both up, with addresses on `a`. */
  veth(a: string, b: string, ...addrs: string[]): void {
    this.ip(`link add ${a} type veth peer name ${b}`);
    for (const x of addrs) this.ip(`addr add ${x} dev ${a}${x.includes(':') ? ' nodad' : ''}`);
    this.ip(`link set ${a} up`);
    this.ip(`link set ${b} up`);
  }

  /** Routes of protocol `proto` as `ip -j` reports them, keyed by destination. */
  routes(proto = 201, family: '-4' | '-6' = '-4'): Map<string, IpRoute> {
    const list = JSON.parse(
      execFileSync('ip', ['-j', family, '-n', this.name, 'route', 'show', 'proto', String(proto)], { encoding: 'utf8', maxBuffer: 1 << 30 }) || '[]',
    ) as IpRoute[];
    return new Map(list.map((r) => [r.dst.includes('/') ? r.dst : `${r.dst}/${family === '-4' ? 32 : 128}`, r]));
  }

  count(proto = 201): number {
    const out = execFileSync('ip', ['-n', this.name, 'route', 'show', 'proto', String(proto)], { encoding: 'utf8', maxBuffer: 1 << 30 });
    return out.split('\n').filter((l) => l && !l.startsWith('\t') && !l.startsWith(' ')).length;
  }

  destroy(): void {
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
  }
}

export interface IpRoute {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  nhid?: number;
  flags: string[];
  nexthops?: { gateway?: string; dev?: string; weight?: number; flags: string[] }[];
}

/** `via G dev D [onlink]` or `G@D*w,G@D*w` for ECMP, or 'blackhole': comparable text. */
export function describe(r: IpRoute | undefined): string {
  if (!r) return 'absent';
  if (r.type === 'blackhole') return 'blackhole';
  if (r.nexthops)
    return r.nexthops
      .map((h) => `${h.gateway}@${h.dev}*${h.weight ?? 1}${h.flags.includes('onlink') ? '/onlink' : ''}`)
      .sort()
      .join(',');
  return `via ${r.gateway} dev ${r.dev}${r.flags.includes('onlink') ? ' onlink' : ''}`;
}

interface Reply {
  id?: number;
  result?: unknown;
  error?: string;
  event?: string;
  data?: unknown;
}

/** A NetlinkFib in a child process inside the namespace. */
export class FibChild {
  private readonly proc: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  readonly events: { event: string; data: unknown }[] = [];
  private eventWaiters: (() => void)[] = [];

  constructor(ns: Netns) {
    const script = join(__dirname, 'fib-child.js');
    this.proc = spawn('ip', ['netns', 'exec', ns.name, process.execPath, script, '--fib-child'], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as Reply;
      if (m.event) {
        this.events.push({ event: m.event, data: m.data });
        for (const w of this.eventWaiters.splice(0)) w();
      } else if (m.id !== undefined) {
        this.waiting.get(m.id)?.resolve(m);
        this.waiting.delete(m.id);
      }
    });
    this.proc.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`fib child exited (${code})`));
      this.waiting.clear();
    });
  }

  async call<T = unknown>(cmd: string, arg?: unknown): Promise<T> {
    const id = this.nextId++;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.proc.stdin!.write(JSON.stringify({ id, cmd, arg }) + '\n');
    });
    if (reply.error) throw new Error(reply.error);
    return reply.result as T;
  }

  /** Wait until an event matching `pred` has arrived (or fail after timeoutMs). */
  async waitEvent(pred: (e: { event: string; data: unknown }) => boolean, timeoutMs = 10000): Promise<{ event: string; data: unknown }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.events.map((e) => e.event))}`);
      await new Promise<void>((r) => {
        this.eventWaiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    try {
      await Promise.race([this.call('close'), new Promise((r) => setTimeout(r, 5000))]);
    } catch {
      /* exited */
    }
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    await exited;
  }
}

/** Run `ip monitor route` in the namespace; stop() returns every line it printed. */
export function monitorRoutes(ns: Netns): { stop: () => Promise<string[]> } {
  const p = spawn('ip', ['-n', ns.name, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const lines: string[] = [];
  createInterface({ input: p.stdout! }).on('line', (l) => lines.push(l));
  return {
    stop: async () => {
      await new Promise((r) => setTimeout(r, 300));
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
      return lines;
    },
  };
}
