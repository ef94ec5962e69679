// The one polling wait of the tests, for what gives no event to wait for: a ternd process seen
// through its control socket, a file appearing, a thread ending, bytes on a raw connection.
// Where an event exists, tests wait for the event instead (session-helpers.ts waitFor).

/**
 * Polls `fn` every `everyMs` until it returns something truthy, and returns that. A probe that
 * throws (the control socket not listening yet) is retried; after `ms` the wait fails naming
 * what it waited for and the last error, never with a fallback value.
 */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 20_000, everyMs = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
