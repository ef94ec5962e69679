// Helpers for the tests that run a real ternd and ask it over its control socket
// (test/daemon/ternd.test.ts, update-errors.test.ts, test/k8s/ternd-k8s.test.ts); they wait
// with test/until.ts.
import { ControlClient } from '../../src/control/client.js';

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
