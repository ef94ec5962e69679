// `npm run bench -- propagation [--blocks 20] [--rr] [--keep] [--debug]` (root, BIRD; issue 6)
// Block propagation: the time from writing a new IPAM block into the datastore (each node's copy
// of the Calico YAML, write-then-rename) until EVERY other node's kernel has the route. Builds
// the four-node namespace cluster of conformance/cluster.test.ts (BIRD ToR, ternd --fib kernel
// per namespace), runs `ip -o monitor route` in every node, and adds blocks one by one, each
// owned by the next node in turn. The clock is this process's: it stamps the write, and each
// monitor line as it arrives (a pipe away from the kernel event). Reports p50/p90/p99/max over
// the blocks, for the slowest node per block ("all nodes have it") and for each node alone.
// --rr measures the same with two Tern route reflectors (one more BGP hop) instead of the mesh.
import type { ChildProcess } from 'node:child_process';
import { Lab, sleep, waitFor, prereqs, TERND } from '../conformance/lab/index.js';
import { blockDoc, buildCluster, reflectorModel, waitFibs, waitSessions, TOR_ADDR, type Cluster } from '../conformance/lab/cluster.js';

interface Seen {
  /** performance.now() of the first monitor line adding this prefix, per host. */
  at: Map<string, number>;
}

function watchRoutes(c: Cluster, seen: Map<string, Seen>): ChildProcess[] {
  return c.nodes.map((n) => {
    const child = c.lab.spawn(n.host, 'ip', ['-o', '-4', 'monitor', 'route']);
    let buf = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      const now = performance.now();
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('Deleted')) continue;
        const dst = line.split(/\s+/)[0];
        const s = seen.get(dst);
        if (s && !s.at.has(n.host)) s.at.set(n.host, now);
      }
    });
    return child;
  });
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const row = (label: string, xs: number[]): string =>
  `${label.padEnd(22)} p50 ${pct(xs, 50).toFixed(1).padStart(7)}  p90 ${pct(xs, 90).toFixed(1).padStart(7)}  p99 ${pct(xs, 99).toFixed(1).padStart(7)}  max ${Math.max(...xs).toFixed(1).padStart(7)} ms`;

export async function main(argv: string[]): Promise<number> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const count = Number(arg('--blocks') ?? 20);
  const rr = argv.includes('--rr');
  const missing = prereqs(['root', 'ip', 'bird', 'birdc', 'ternd'], TERND);
  if (missing.length) {
    console.error(`propagation: missing ${missing.join(', ')}`);
    return 2;
  }
  const lab = await Lab.create('prop');
  try {
    const c = await buildCluster(lab, { prefix: 'tnb', subnets: [0, 0, 1, 1], logLevel: argv.includes('--debug') ? 'debug' : 'info' });
    const addr = (name: string) => c.nodes.find((n) => n.name === name)!.address;
    const others = (name: string) => c.nodes.filter((n) => n.name !== name).map((n) => n.address);
    const blocks = new Map(c.nodes.map((n) => [n.name, [...n.blocks]]));
    await Promise.all(c.nodes.map((n) => waitSessions(c, n.host, [TOR_ADDR[0], ...others(n.name)])));
    if (rr) {
      c.model = reflectorModel(c.model, ['n1', 'n2']);
      c.write();
      await Promise.all(c.nodes.map((n) => waitSessions(c, n.host, ['n1', 'n2'].includes(n.name) ? [TOR_ADDR[0], ...others(n.name)] : [TOR_ADDR[0], addr('n1'), addr('n2')])));
    }
    await waitFibs(c, blocks);
    const seen = new Map<string, Seen>();
    const monitors = watchRoutes(c, seen);
    await sleep(300); // the monitors subscribe

    const slowest: number[] = [];
    const reload: number[] = [];
    const perNode = new Map<string, number[]>(c.nodes.map((n) => [n.name, []]));
    for (let i = 0; i < count; i++) {
      const owner = c.nodes[i % c.nodes.length];
      const prefix = `10.244.${100 + i}.0/26`;
      const s: Seen = { at: new Map() };
      seen.set(prefix, s);
      c.model.extraDocs!.push(blockDoc(prefix, owner.name));
      blocks.get(owner.name)!.push(prefix);
      const wall0 = Date.now();
      const t0 = c.write();
      const targets = c.nodes.filter((n) => n !== owner);
      await waitFor(`${prefix} in every other node`, 10_000, () => targets.every((n) => s.at.has(n.host)), 2);
      const lat = targets.map((n) => s.at.get(n.host)! - t0);
      if (argv.includes('--debug')) console.log(`${prefix} written at ${new Date(wall0).toISOString()}: ${targets.map((n, k) => `${n.name} ${lat[k].toFixed(1)}`).join(', ')} ms`);
      slowest.push(Math.max(...lat));
      // Where the time goes: the owner's 'advertising' log line (ms clock) marks the end of the
      // file watch, the reload and the origination; the rest is BGP, the receivers' RIB and FIB.
      const adv = await c.ternd.get(owner.name)!.waitForLog((r) => r.msg.startsWith(`advertising ${prefix} `), 5000);
      reload.push(Date.parse(adv.time) - wall0);
      targets.forEach((n, k) => perNode.get(n.name)!.push(lat[k]));
      await sleep(200); // one change at a time, as a datastore sees them
    }
    for (const m of monitors) m.kill('SIGTERM');
    await waitFibs(c, blocks);

    console.log(`block propagation, 4 Tern nodes (${rr ? 'two route reflectors' : 'full mesh'}) + BIRD ToR, ${count} blocks, node ${process.version}`);
    console.log(row('all other nodes', slowest));
    console.log(row('  of which reload', reload));
    for (const [name, xs] of perNode) if (xs.length) console.log(row(`  ${name} (${c.nodes.find((n) => n.name === name)!.address})`, xs));
    return 0;
  } finally {
    if (!argv.includes('--keep')) await lab.destroy();
    else console.log(`kept ${lab.dir}`);
  }
}
