// A NetlinkFib driven over stdin/stdout, run by the namespace tests as
// `ip netns exec <ns> node fib-child.js --fib-child` so that the FIB lives in the namespace.
// One JSON request per line {id, cmd, arg}; one JSON reply per line {id, result|error}; FIB
// events arrive as {event, data}. Without --fib-child it does nothing (node --test loads it too).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { FibFeed } from '../../../fib/feed.js';
import { NetlinkFib, type NetlinkFibOptions } from '../../../fib/netlink-fib.js';
import type { FibChange } from '../../../fib/types.js';

async function main(): Promise<void> {
  let fib: NetlinkFib | undefined;
  const out = (o: unknown): void => {
    process.stdout.write(JSON.stringify(o) + '\n');
  };
  const delay = monitorEventLoopDelay({ resolution: 10 });
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const { id, cmd, arg } = JSON.parse(line) as { id: number; cmd: string; arg: unknown };
    try {
      let result: unknown;
      if (cmd === 'open') {
        fib = await NetlinkFib.open(arg as NetlinkFibOptions);
        for (const ev of ['link', 'addr', 'resync'] as const) fib.on(ev, (data: unknown) => out({ event: ev, data }));
        result = { nexthopObjects: fib.usesNexthopObjects };
      } else if (!fib) {
        throw new Error('not open');
      } else if (cmd === 'apply') {
        const changes = arg as FibChange[] | { generate: number; gateway: string; from?: number };
        const list = Array.isArray(changes) ? changes : generate(changes.generate, changes.gateway, changes.from ?? 0);
        delay.reset();
        delay.enable();
        const t0 = performance.now();
        const res = await fib.apply(list);
        const ms = performance.now() - t0;
        delay.disable();
        // threads: read in the same turn as the answer, so the request thread is still up (issue 18).
        result = { ok: list.length - res.length, failed: res.slice(0, 20), maxDelayMs: delay.max / 1e6, ms, threads: threadCount() };
      } else if (cmd === 'feed') {
        // As ternd feeds the FIB (src/daemon/routes.ts): one change at a time into FibFeed's
        // packed queue (fib/batch.ts), then one write of everything queued (issue 18).
        const a = arg as { generate: number; gateway: string; from?: number; family?: 4 | 6 };
        const list = a.family === 6 ? generate6(a.generate, a.gateway, a.from ?? 0) : generate(a.generate, a.gateway, a.from ?? 0);
        const feed = (feeds.get(fib) as FibFeed | undefined) ?? new FibFeed(fib);
        feeds.set(fib, feed);
        let written = 0;
        const failed: string[] = [];
        const onWritten = (b: { length: number }, fs: { prefix: string; error: string }[]): void => {
          written += b.length;
          for (const f of fs.slice(0, 20)) failed.push(`${f.prefix}: ${f.error}`);
        };
        feed.on('written', onWritten);
        for (const c of list) feed.add(c);
        feed.kick();
        await feed.idle();
        feed.off('written', onWritten);
        result = { written, failed, desired: fib.desiredCount };
      } else if (cmd === 'reconcile') {
        result = await fib.reconcile(arg as FibChange[]);
      } else if (cmd === 'dump') {
        result = await fib.dump();
      } else if (cmd === 'desired') {
        {
          const f = fib!;
          result = { routes: f.desiredRoutes(), count: f.desiredCount, desires: (arg as string[]).map((p) => f.desires(p)) };
        }
      } else if (cmd === 'threads') {
        // The request thread ends when idle (issue 18): its state, and the process's thread count.
        result = { request: fib.requestThreadRunning, threads: threadCount() };
      } else if (cmd === 'couple') {
        result = await fib.couple();
      } else if (cmd === 'decouple') {
        result = await fib.decouple();
      } else if (cmd === 'flush') {
        result = await fib.flush();
      } else if (cmd === 'close') {
        await fib.close();
        out({ id, result: true });
        process.exit(0);
      }
      out({ id, result: result ?? null });
    } catch (e) {
      out({ id, error: (e as Error).message });
    }
  }
}

/** This process's thread count (the netlink workers are threads of it). */
function threadCount(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
}

const feeds = new WeakMap<NetlinkFib, FibFeed>();

/** n /64s from the from-th upward (2001:db8:100::/64, 2001:db8:100:1::/64, ...), all via one gateway. */
function generate6(n: number, gateway: string, from: number): FibChange[] {
  const nexthops = gateway === 'withdraw' ? [] : [{ gateway }];
  const out: FibChange[] = new Array(n);
  for (let j = 0; j < n; j++) {
    const i = from + j;
    out[j] = { prefix: `2001:db8:${(0x100 + (i >> 16)).toString(16)}:${(i & 0xffff).toString(16)}::/64`, kind: 'unicast', nexthops };
  }
  return out;
}

/** n /24s from the from-th upward (10.0.0.0/24, 10.0.1.0/24, ...), all via one gateway. */
function generate(n: number, gateway: string, from: number): FibChange[] {
  const nexthops = gateway === 'withdraw' ? [] : [{ gateway }];
  const out: FibChange[] = new Array(n);
  for (let j = 0; j < n; j++) {
    const i = from + j;
    out[j] = { prefix: `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`, kind: 'unicast', nexthops };
  }
  return out;
}

if (process.argv.includes('--fib-child')) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
