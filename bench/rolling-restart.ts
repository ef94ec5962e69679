// `npm run bench -- rolling-restart [--rounds 1] [--interval 50] [--settle 1000] [--debug]` (root, BIRD; issue 8)
// Rolling restart without loss: the four-node namespace cluster of conformance/cluster.test.ts
// (BIRD ToR as GR helper, ternd --fib kernel per namespace) restarts every node in turn
// (SIGTERM, start again, wait until it is back: its sessions Established and its startup FIB
// reconciliation done), while a sampler dumps every node's kernel table (`ip -j -4 route show
// proto 201` in each namespace, all four in parallel) every --interval ms and compares it with
// the expected set (own blocks blackholed, the others' blocks via the right next hop). Target:
// zero missing routes at any sample. `ip -o monitor route` in every namespace also counts
// `Deleted` lines for expected prefixes, which catches a delete + re-add between two samples.
import type { ChildProcess } from 'node:child_process';
import { Lab, onLines, run, sleep, prereqs, startTernd, TERND } from '../conformance/lab/index.js';
import { ResultRecorder } from './result.js';
import { buildCluster, expectedFib, waitFibs, waitSessions, TOR_ADDR, TERN_PROTO, type Cluster } from '../conformance/lab/cluster.js';

interface IpRoute {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
}

/** One node's proto-201 IPv4 routes as `dst -> description` (the format of cluster.ts expectedFib). */
async function sample(host: string): Promise<Map<string, string>> {
  const r = await run('ip', ['-n', host, '-j', '-4', 'route', 'show', 'proto', TERN_PROTO]);
  const m = new Map<string, string>();
  for (const x of JSON.parse(r.stdout || '[]') as IpRoute[]) m.set(x.dst, x.type === 'blackhole' ? 'blackhole' : `${x.gateway ?? ''}@${x.dev ?? ''}`);
  return m;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN;
};

export async function main(argv: string[]): Promise<number> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const rounds = Number(arg('--rounds') ?? 1);
  const interval = Number(arg('--interval') ?? 50);
  const settle = Number(arg('--settle') ?? 1000);
  const debug = argv.includes('--debug');
  const missingPrereqs = prereqs(['root', 'ip', 'bird', 'birdc', 'ternd'], TERND);
  if (missingPrereqs.length) {
    console.error(`rolling-restart: missing ${missingPrereqs.join(', ')}`);
    return 2;
  }
  const rec = new ResultRecorder('rolling-restart', argv);
  const lab = await Lab.create('roll');
  try {
    const c: Cluster = await buildCluster(lab, { prefix: 'tgr', subnets: [0, 0, 1, 1], logLevel: debug ? 'debug' : 'info' });
    const others = (name: string) => c.nodes.filter((n) => n.name !== name).map((n) => n.address);
    const blocks = new Map(c.nodes.map((n) => [n.name, [...n.blocks]]));
    await Promise.all(c.nodes.map((n) => waitSessions(c, n.host, [TOR_ADDR[0], ...others(n.name)])));
    await waitFibs(c, blocks);
    const want = new Map(c.nodes.map((n) => [n.host, expectedFib(c, n, blocks)]));
    const expectedPrefixes = new Set([...want.values()].flatMap((m) => [...m.keys()]));

    // Between-sample deletions, per namespace.
    const deleted = new Map<string, string[]>(c.nodes.map((n) => [n.host, []]));
    const monitors: ChildProcess[] = c.nodes.map((n) => {
      const child = lab.spawn(n.host, 'ip', ['-o', '-4', 'monitor', 'route']);
      onLines(child.stdout, (line) => {
        const m = /^Deleted\s+(?:blackhole\s+)?(\S+)/.exec(line);
        if (m && expectedPrefixes.has(m[1])) deleted.get(n.host)!.push(line);
      });
      return child;
    });
    await sleep(300);

    // The sampler: every `interval` ms, all four namespaces at once.
    let sampling = true;
    let samples = 0;
    let missing = 0;
    let wrong = 0;
    const missingAt: string[] = [];
    const roundMs: number[] = [];
    const sampler = (async () => {
      while (sampling) {
        const t0 = performance.now();
        const got = await Promise.all(c.nodes.map((n) => sample(n.host)));
        roundMs.push(performance.now() - t0);
        samples++;
        c.nodes.forEach((n, i) => {
          for (const [dst, hop] of want.get(n.host)!) {
            const have = got[i].get(dst);
            if (have === undefined) {
              missing++;
              if (missingAt.length < 20) missingAt.push(`${n.name} ${dst} at ${new Date().toISOString()}`);
            } else if (have !== hop) wrong++;
          }
        });
        const wait = interval - (performance.now() - t0);
        if (wait > 0) await sleep(wait);
      }
    })();

    const restartMs: number[] = [];
    const reconciles: string[] = [];
    const yaml = () => c.model;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    for (let r = 0; r < rounds; r++) {
      for (const n of c.nodes) {
        const old = c.ternd.get(n.name)!;
        const t0 = performance.now();
        await lab.stop(old.pid, 10_000);
        const t = await startTernd(lab, n.host, {
          configYaml: yaml(),
          node: n.name,
          fib: 'kernel',
          logLevel: debug ? 'debug' : 'info',
          args: ['--connect-retry', '1', '--probes', 'off'],
        });
        c.ternd.set(n.name, t);
        const rec = await t.waitForLog((x) => /^FIB reconciled/.test(x.msg), 90_000, 'the startup FIB reconciliation');
        await waitSessions(c, n.host, [TOR_ADDR[0], ...others(n.name)], 30_000);
        restartMs.push(performance.now() - t0);
        reconciles.push(`${n.name}: ${rec.why}; added ${rec.added} replaced ${rec.replaced} deleted ${rec.deleted} unchanged ${rec.unchanged}`);
        if (debug) console.log(`${n.name} back after ${(performance.now() - t0).toFixed(0)} ms (${reconciles.at(-1)})`);
        await sleep(settle);
      }
    }
    const wall = performance.now() - wall0;
    const cpu = process.cpuUsage(cpu0);
    sampling = false;
    await sampler;
    for (const m of monitors) await lab.stop(m.pid!, 500);

    const dels = [...deleted].flatMap(([h, ls]) => ls.map((l) => `${h}: ${l}`));
    const prefixesPerSample = [...want.values()].reduce((a, m) => a + m.size, 0);
    console.log(
      `rolling restart: ${rounds} round(s) x ${c.nodes.length} nodes (SIGTERM, start, back = sessions Established + FIB reconciled, then ${settle} ms)`,
    );
    console.log(
      `samples            ${samples} rounds of ${c.nodes.length} kernels (${prefixesPerSample} expected routes per round), every ${interval} ms target`,
    );
    console.log(
      `sample round       p50 ${pct(roundMs, 50).toFixed(1)} ms  p99 ${pct(roundMs, 99).toFixed(1)} ms  max ${Math.max(...roundMs).toFixed(1)} ms (4 ip processes in parallel)`,
    );
    console.log(
      `effective interval ${(wall / Math.max(1, samples)).toFixed(1)} ms; bench process CPU ${(((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(0)}% of one core over ${(wall / 1000).toFixed(1)} s`,
    );
    console.log(`missing routes     ${missing} (route-samples absent from a kernel)`);
    console.log(`wrong next hop     ${wrong}`);
    console.log(`Deleted (monitor)  ${dels.length} lines for expected prefixes`);
    console.log(
      `per-node restart   p50 ${pct(restartMs, 50).toFixed(0)} ms  max ${Math.max(...restartMs).toFixed(0)} ms (SIGTERM -> sessions Established and FIB reconciled)`,
    );
    for (const r of reconciles) console.log(`  reconcile ${r}`);
    for (const m of missingAt) console.log(`  missing: ${m}`);
    for (const d of dels.slice(0, 20)) console.log(`  deleted: ${d}`);
    rec.finish(
      {
        rounds,
        nodes: c.nodes.length,
        intervalMs: interval,
        settleMs: settle,
        samples,
        expectedRoutesPerSample: prefixesPerSample,
        sampleRoundMs: { p50: pct(roundMs, 50), p99: pct(roundMs, 99), max: Math.max(...roundMs) },
        missingRouteSamples: missing,
        wrongNextHop: wrong,
        deletedLines: dels.length,
        restartMs,
        reconciles,
        missingAt,
        deleted: dels.slice(0, 20),
      },
      [
        {
          name: 'no route missing',
          goal: 'no expected route absent from any kernel in any sample (issue 8)',
          measured: `${missing} missing route-samples of ${samples} samples`,
          met: missing === 0 && samples > 0,
        },
        {
          name: 'no route deleted',
          goal: 'no Deleted event for an expected prefix (issue 8)',
          measured: `${dels.length} Deleted lines`,
          met: dels.length === 0,
        },
      ],
      { suffix: `-r${rounds}` },
    );
    return missing === 0 && dels.length === 0 ? 0 : 1;
  } finally {
    if (!argv.includes('--keep')) await lab.destroy();
  }
}
