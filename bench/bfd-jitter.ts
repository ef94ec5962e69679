// `npm run bench -- bfd-jitter [--n 1000000] [--k 1000] [--keep]` (root, BIRD, tcpdump; issue 20)
// BFD transmit jitter while ternd ingests N routes and loads them into the kernel FIB. Three
// namespaces: ternd (--fib kernel) with a BFD session at 100 ms x 3 to BIRD, and an injector
// (this file with --inject, under `ip netns exec`) that blasts N pre-encoded routes
// (bench/ingest/workload.ts) at ternd. tcpdump in BIRD's namespace stamps every BFD packet
// ternd sends as it arrives (kernel time), so the gaps are measured on the wire, outside the
// process under test. Reports the gaps per phase (before, ingest = until the RIB holds N,
// FIB = until the kernel holds N, after), BFD flaps on both sides, the worker's own timer
// lateness and ternd's main-loop stalls; writes bench/results/bfd-jitter-<date>-n<N>.json.
// RFC 5880 §6.8.7 jitter puts a correct gap at 75-100 ms of the 100 ms interval.
import * as path from 'node:path';
import { ResultRecorder, type TargetVerdict } from './result.js';
import { Lab, onLines, prereqs, run, sleep, startBird, startTernd, TERND, waitBirdEstablished, waitFor, bgpctl, birdc } from '../conformance/lab/index.js';
import type { BfdSessionView } from '../bgp/bfd/types.js';
import { buildWorkload } from './ingest/workload.js';
import { BenchSpeaker } from './ingest/speaker.js';

const TERN = '198.18.95.1';
const BIRD_ADDR = '198.18.95.2';
/** bench/ingest's injector next hop (NEXT_HOP_V4): the injector owns it, so routes resolve. */
const INJ = '198.18.0.1';
const TERN_INJ_SIDE = '198.18.0.2';
const INJECTOR_AS = 65001;

interface Gap {
  at: number;
  ms: number;
}
interface PhaseStats {
  phase: string;
  seconds: number;
  packets: number;
  minMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  over100ms: number;
  over150ms: number;
}

function stats(phase: string, gaps: Gap[], from: number, to: number): PhaseStats {
  const g = gaps
    .filter((x) => x.at > from && x.at <= to)
    .map((x) => x.ms)
    .sort((a, b) => a - b);
  const q = (p: number): number => (g.length ? g[Math.min(g.length - 1, Math.floor(p * g.length))] : NaN);
  const r = (x: number): number => Math.round(x * 100) / 100;
  return {
    phase,
    seconds: r((to - from) / 1000),
    packets: g.length,
    minMs: r(g[0] ?? NaN),
    p50Ms: r(q(0.5)),
    p99Ms: r(q(0.99)),
    maxMs: r(g[g.length - 1] ?? NaN),
    over100ms: g.filter((x) => x > 100.5).length,
    over150ms: g.filter((x) => x > 150).length,
  };
}

/** Child mode: in the injector namespace, hold a session to ternd and send the workload. */
async function inject(n: number, k: number): Promise<number> {
  const nh = Buffer.from(INJ.split('.').map(Number));
  const w = buildWorkload({ family: 'ipv4', prefixes: n, attrSets: k, seed: 20, injectorAs: INJECTOR_AS, nextHop: nh });
  const s = await BenchSpeaker.connect({
    name: 'injector',
    host: TERN_INJ_SIDE,
    port: 179,
    localAddress: INJ,
    myAs: INJECTOR_AS,
    bgpId: INJ,
    family: 'ipv4',
    deadline: Date.now() + 60_000,
  });
  console.log('ESTABLISHED');
  // Wait for the parent's go (SIGUSR1), so the baseline phase is quiet; hold the session until SIGTERM.
  await new Promise<void>((r) => process.once('SIGUSR1', () => r()));
  await s.blast(w.updates, () => console.log(`SENDING ${w.updates.length}`));
  console.log('SENT');
  await new Promise<void>((r) => process.once('SIGTERM', () => r()));
  s.close();
  return 0;
}

async function kernelRoutes(lab: Lab, host: string): Promise<number> {
  // Counting lines of `ip route` in this process would hold 1M lines; wc does it in the namespace.
  const r = await run('sh', ['-c', `ip -n ${host} -4 route show proto 201 | wc -l`]);
  return Number(r.stdout.trim());
}

export async function main(argv: string[]): Promise<number> {
  const arg = (name: string, d: number): number => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : d;
  };
  const n = arg('n', 1_000_000);
  const k = arg('k', 1000);
  if (argv.includes('--inject')) return inject(n, k);
  const rec = new ResultRecorder('bfd-jitter', argv);
  const missing = prereqs(['root', 'ip', 'bird', 'birdc', 'tcpdump', 'ternd'], TERND);
  if (missing.length) {
    console.error(`bfd-jitter needs: ${missing.join(', ')}`);
    return 2;
  }
  const lab = await Lab.create('i20j');
  try {
    const [ternHost, birdHost, injHost] = [await lab.addHost('i20j-tern'), await lab.addHost('i20j-bird'), await lab.addHost('i20j-inj')];
    const { ifB: birdIf } = await lab.link(ternHost, birdHost, { v4: `${TERN}/24`, v4b: `${BIRD_ADDR}/24` });
    await lab.link(ternHost, injHost, { v4: `${TERN_INJ_SIDE}/24`, v4b: `${INJ}/24` });
    await startBird(lab, birdHost, {
      routerId: BIRD_ADDR,
      neighbors: [
        {
          name: 'tern',
          localAddr: BIRD_ADDR,
          localAs: 65095,
          neighborAddr: TERN,
          neighborAs: 64512,
          holdTime: 90,
          ipv4: { import: 'none', export: 'none' },
          extra: ['bfd on;'],
        },
      ],
      extra: 'protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }',
    });
    const node = 'i20j-node';
    const tern = await startTernd(lab, ternHost, {
      node,
      fib: 'kernel',
      logLevel: 'info',
      args: ['--probes', 'off', '--connect-retry', '1'],
      configYaml: {
        asNumber: 64512,
        nodes: [{ name: node, ipv4Address: `${TERN}/24` }],
        peers: [
          { name: 'tor', node, peerIP: BIRD_ADDR, asNumber: 65095, bfd: { minRx: '100ms', minTx: '100ms', multiplier: 3 } },
          { name: 'injector', node, peerIP: INJ, asNumber: INJECTOR_AS, filters: ['accept-all'] },
        ],
        extraDocs: [{ apiVersion: 'projectcalico.org/v3', kind: 'BGPFilter', metadata: { name: 'accept-all' }, spec: { importV4: [{ action: 'Accept' }] } }],
      },
    });
    await waitBirdEstablished(lab, birdHost, 'tern', 30_000);
    await waitFor('BFD Up at 100 ms', 20_000, async () => {
      const v = ((await bgpctl(lab, ternHost, 'show', 'bfd')) as BfdSessionView[])[0];
      return v?.state === 'Up' && v.txIntervalMs === 100 && !v.pollActive;
    });
    const birdSince = () =>
      birdc(lab, birdHost, 'show bfd sessions').then(
        (o) =>
          o
            .split('\n')
            .find((l) => l.includes(TERN))
            ?.trim() ?? '',
      );
    const birdBefore = await birdSince();

    // Wire timestamps of ternd's BFD packets, read in BIRD's namespace.
    const gaps: Gap[] = [];
    const dump = lab.spawn(birdHost, 'tcpdump', ['-i', birdIf, '-n', '-l', '-tt', '-q', `udp and dst port 3784 and src host ${TERN}`]);
    let last = 0;
    onLines(dump.stdout, (line) => {
      const t = Number(line.split(' ')[0]) * 1000;
      if (!Number.isFinite(t) || t === 0) return;
      if (last) gaps.push({ at: t, ms: t - last });
      last = t;
    });
    const inj = lab.spawn(injHost, process.execPath, [path.join(__dirname, 'run.js'), 'bfd-jitter', '--inject', '--n', String(n), '--k', String(k)]);
    const injOut: string[] = [];
    onLines(inj.stdout, (l) => injOut.push(l));
    onLines(inj.stderr, (l) => injOut.push(l));
    await waitFor('injector session', 90_000, () => injOut.includes('ESTABLISHED'));
    await sleep(5000);
    // The control socket is served by ternd's main thread: how long an answer takes bounds how
    // long that loop was blocked (plus bgpctl's own start, ~0.1-0.3 s, the "before" value).
    const answerMs: { at: number; ms: number }[] = [];
    const peers = async (): Promise<number> => {
      const a = Date.now();
      const p = (await bgpctl(lab, ternHost, 'show', 'peers')) as { address: string; prefixesReceived: number }[];
      answerMs.push({ at: a, ms: Date.now() - a });
      return p.find((x) => x.address === INJ)?.prefixesReceived ?? 0;
    };
    for (let i = 0; i < 3; i++) await peers();
    const t0 = Date.now();
    console.log(`bfd-jitter: baseline done, sending ${n} routes`);
    process.kill(inj.pid!, 'SIGUSR1');
    const ribDone = await waitFor(`${n} routes in the RIB`, 900_000, async () => ((await peers()) >= n ? Date.now() : false), 500);
    console.log(`bfd-jitter: RIB holds ${n} after ${((ribDone - t0) / 1000).toFixed(1)} s`);
    const fibDone = await waitFor(`${n} routes in the kernel`, 900_000, async () => ((await kernelRoutes(lab, ternHost)) >= n ? Date.now() : false), 2000);
    console.log(`bfd-jitter: kernel holds ${n} after ${((fibDone - t0) / 1000).toFixed(1)} s`);
    await sleep(5000);
    const end = Date.now();
    await lab.stop(dump.pid!, 500);
    const view = ((await bgpctl(lab, ternHost, 'show', 'bfd')) as BfdSessionView[])[0];
    const birdAfter = await birdSince();
    const maxAnswer = (from: number, to: number): number => Math.max(0, ...answerMs.filter((x) => x.at >= from && x.at < to).map((x) => x.ms));
    const controlAnswerMaxMs = { before: maxAnswer(0, t0), ingest: maxAnswer(t0, ribDone) };
    const phases = [
      stats('before', gaps, t0 - 5000, t0),
      stats('ingest (until the RIB holds N)', gaps, t0, ribDone),
      stats('FIB load (until the kernel holds N)', gaps, ribDone, fibDone),
      stats('after', gaps, fibDone, end),
      stats('whole load', gaps, t0, fibDone),
    ];
    const result = {
      params: { n, k, bfd: '100 ms x 3', fib: 'kernel' },
      seconds: { ingest: (ribDone - t0) / 1000, ingestAndFib: (fibDone - t0) / 1000 },
      wireGaps: phases,
      bfd: {
        ternUpTransitions: view?.upTransitions,
        ternState: view?.state,
        workerTxLate: view?.txLate,
        birdBefore,
        birdAfter,
        birdFlapped: birdBefore !== birdAfter,
      },
      controlAnswerMaxMs,
    };
    for (const p of phases)
      console.log(
        `${p.phase.padEnd(38)} ${String(p.packets).padStart(6)} gaps  p50 ${p.p50Ms} ms  p99 ${p.p99Ms} ms  max ${p.maxMs} ms  >100ms ${p.over100ms}  >150ms ${p.over150ms}`,
      );
    console.log(
      `BFD flaps: ternd ${(view?.upTransitions ?? 0) - 1}, BIRD ${birdBefore !== birdAfter ? 'yes' : 'no'}; worker timer lateness ${JSON.stringify(view?.txLate)}; slowest bgpctl answer (main loop busy) ${JSON.stringify(controlAnswerMaxMs)}`,
    );
    const load = phases.find((p) => p.phase === 'whole load');
    const flaps = (view?.upTransitions ?? 0) - 1;
    const targets: TargetVerdict[] = [
      {
        name: 'no false Down under load',
        goal: 'no BFD flap on either side during the 1M ingest and FIB load (issue 20)',
        measured: `ternd flaps ${flaps}, BIRD ${birdBefore !== birdAfter ? 'flapped' : 'no flap'}`,
        met: flaps === 0 && birdBefore === birdAfter,
      },
      {
        name: 'transmit gap',
        goal: 'every gap under the 300 ms detection time (100 ms x 3)',
        measured: `max ${load?.maxMs ?? NaN} ms, p99 ${load?.p99Ms ?? NaN} ms`,
        met: load !== undefined && load.packets > 0 ? load.maxMs < 300 : null,
      },
    ];
    rec.finish(result, targets, { suffix: `-n${n}` });
    await lab.stop(inj.pid!, 1000);
    return 0;
  } finally {
    if (!argv.includes('--keep')) await lab.destroy();
  }
}
