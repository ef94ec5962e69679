// fib/local-addresses.ts against a real kernel, in a network namespace of our own (tfib-i15la):
// the node's own addresses for the RFC 4271 §6.3 next-hop check ("MUST NOT be the IP address of
// the receiving speaker") are every address on every interface, including one that is down, and
// an address added or removed at runtime is reported. Root only (TERN_CONFORMANCE=1 makes a
// missing prerequisite a failure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Netns, nsSkipReason } from './helpers/netns.js';

const skip = nsSkipReason();

test("RFC 4271 §6.3: the node's addresses come from the kernel, on every interface, and follow runtime changes", { skip }, async () => {
  const ns = new Netns('tfib-i15la');
  ns.veth('tla1a', 'tla1b', '198.18.60.1/24', '2001:db8:60::1/64');
  ns.ip('link add tla2a type veth peer name tla2b'); // left down: its address is still ours
  ns.ip('addr add 198.18.61.1/24 dev tla2a');
  const mod = join(__dirname, '..', '..', 'fib', 'local-addresses.js');
  const script = `const { LocalAddresses } = require(${JSON.stringify(mod)});
    const la = LocalAddresses.open({ intervalMs: 20, onChange: (s) => console.log(JSON.stringify([...s].sort())) });
    console.log(JSON.stringify([...la.addresses].sort()));
    process.stdin.on('end', () => { la.close(); process.exit(0); }); process.stdin.resume();`;
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const sets: string[][] = [];
  let wake: (() => void) | undefined;
  createInterface({ input: child.stdout! }).on('line', (l) => {
    sets.push(JSON.parse(l) as string[]);
    wake?.();
  });
  /** The next set the child reports (fails after 10 s: a change that never arrives). */
  const next = async (what: string): Promise<string[]> => {
    const deadline = Date.now() + 10_000;
    while (sets.length === 0) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no address set reported: ${what}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 250);
      });
    }
    return sets.shift()!;
  };
  // The veths' link-local addresses appear when the kernel gets to them (after the first dump
  // or not): the comparisons leave them out, and each step waits for the set it expects.
  const global = (set: string[]): string[] => set.filter((a) => !a.startsWith('fe80:'));
  const until = async (want: string[], what: string): Promise<void> => {
    let got = global(await next(what));
    while (JSON.stringify(got) !== JSON.stringify(want)) got = global(await next(`${what} (had ${got})`));
  };
  try {
    const first = global(await next('at start'));
    for (const a of ['127.0.0.1', '::1', '198.18.60.1', '2001:db8:60::1', '198.18.61.1']) assert.ok(first.includes(a), `${a} in ${first}`);
    ns.ip('addr add 198.18.62.7/32 dev lo');
    await until([...first, '198.18.62.7'].sort(), 'after addr add');
    ns.ip('addr add 2001:db8:62::7/128 dev lo');
    await until([...first, '198.18.62.7', '2001:db8:62::7'].sort(), 'after an IPv6 addr add');
    ns.ip('addr del 198.18.62.7/32 dev lo');
    ns.ip('addr del 2001:db8:62::7/128 dev lo');
    await until(first, 'after addr del');
    assert.ok(sets.length === 0 || sets.every((x) => JSON.stringify(global(x)) === JSON.stringify(first)), 'nothing else reported');
  } finally {
    child.stdin!.end();
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    ns.destroy();
  }
});
