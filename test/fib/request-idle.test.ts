// The netlink request thread ends when idle and starts again on the next request (issue 18: a
// worker thread is a whole V8 isolate, ~8 MB an idle node kept for nothing). What must hold:
// the thread really ends (the process has one thread fewer), and a route change or a dump
// after that still reaches the kernel, checked with `ip route` in a namespace of our own.
// Root only (skipped otherwise; TERN_CONFORMANCE=1 makes a missing prerequisite a failure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FibChild, Netns, describe, nsSkipReason } from './helpers/netns.js';
import type { FibChange } from '../../fib/types.js';

const skip = nsSkipReason();
const via = (prefix: string, gw: string): FibChange => ({ prefix, kind: 'unicast', nexthops: [{ gateway: gw }] });
type Threads = { request: boolean; threads: number };

/** Asks the child until `ok` holds (polling, 50 ms apart), at most 20 s. */
async function until(fib: FibChild, what: string, ok: (t: Threads) => boolean): Promise<Threads> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const t = await fib.call<Threads>('threads');
    if (ok(t)) return t;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(t)} after 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('issue 18: the netlink request thread ends when idle; the next write and dump start it again and reach the kernel', { skip }, async () => {
  const ns = new Netns('i18i-fibidle');
  const fib = new FibChild(ns);
  try {
    ns.veth('tfib1a', 'tfib1b', '198.18.0.1/24');
    await fib.call('open', { requestIdleMs: 200, resyncDelayMs: 50 });
    const first = await fib.call<{ failed: unknown[]; threads: number }>('apply', [via('10.244.1.0/26', '198.18.0.2')]);
    assert.deepEqual(first.failed, []);
    assert.equal(describe(ns.routes().get('10.244.1.0/26')), 'via 198.18.0.2 dev tfib1a');
    // first.threads was read as the answer arrived, with the request thread up.
    const idle = await until(fib, 'request thread ended', (t) => !t.request && t.threads < first.threads);
    assert.equal(idle.threads, first.threads - 1, 'one thread fewer once the request thread has ended');

    // A write after the thread ended: queued, the thread starts, the kernel gets the route.
    const second = await fib.call<{ failed: unknown[]; threads: number }>('apply', [via('10.244.2.0/26', '198.18.0.2')]);
    assert.deepEqual(second.failed, []);
    assert.equal(second.threads, first.threads, 'the request thread is back');
    assert.equal(describe(ns.routes().get('10.244.2.0/26')), 'via 198.18.0.2 dev tfib1a');

    // And a dump after it ended again.
    await until(fib, 'request thread ended again', (t) => !t.request);
    const dump = await fib.call<{ prefix: string }[]>('dump');
    assert.ok(dump.some((r) => r.prefix === '10.244.1.0/26') && dump.some((r) => r.prefix === '10.244.2.0/26'), JSON.stringify(dump));
  } finally {
    await fib.close();
    ns.destroy();
  }
});
