// Helpers for the tests that run a real ternd and ask it over its control socket
// (test/daemon/ternd.test.ts, update-errors.test.ts, test/k8s/ternd-k8s.test.ts).
import { ControlClient } from '../../src/control/client.js';

/**
 * Polls `fn` every 100 ms until it returns something truthy and returns that. A probe that
 * throws (the control socket not listening yet) is retried; after `ms` the wait fails with the
 * last error, never with a fallback value.
 */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One control-socket request on a connection of its own. */
export async function askSocket<T>(sock: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 1000): Promise<T> {
  const c = await ControlClient.connect(sock, { timeoutMs });
  try {
    return await c.request<T>(cmd, args);
  } finally {
    c.close();
  }
}

/** Every row of a streamed control-socket answer (show.rib, show.fib), on a connection of its own. */
export async function streamSocket<T>(sock: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 1000): Promise<T[]> {
  const c = await ControlClient.connect(sock, { timeoutMs });
  const out: T[] = [];
  try {
    for await (const r of c.stream<T>(cmd, args)) out.push(r);
  } finally {
    c.close();
  }
  return out;
}
