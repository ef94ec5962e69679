// `npm run bench -- idle [--seconds 60] [--settle 10] [--fib kernel|none] [--keep]` (root, BIRD; issue 18)
// What an idle node costs: ternd in a namespace with three Established iBGP sessions (three BIRD
// peers on one switch, each announcing its pod block, Tern announcing its own), probes on as in a
// pod, nothing changing. After the sessions are up and --settle seconds have passed, the bench
// reads ternd's /proc for --seconds: VmRSS and PSS at the end, the highest VmRSS of a sample a
// second, the threads, and the process's CPU seconds (utime+stime of every thread). CPU seconds
// from /proc count only ternd's own work, so the figure holds on a busy machine; RSS does not
// depend on load at all. Targets (issue 18): under 50 MB RSS and under 0.3% of one core.
// The result goes through bench/result.ts (the build that ran, the machine and its load, the
// targets met or MISSED). TERN_TERND may name another tree's dist/src/ternd.js (e.g. main, for a
// before figure): the build stamped is then that tree's, the result still lands here.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ResultRecorder, ROOT, type TargetVerdict } from './result.js';
import { Lab, prereqs, sleep, startTernd, waitFor, TERND, startBird, birdBgpState, type CalicoModel } from '../conformance/lab/index.js';

const AS = 64512;
const NET = '198.18.118';
const NODE = 'i18i-node';
const PEERS = 3;
const TARGET = { rssMb: 50, cpuPct: 0.3 };
/** Kernel clock ticks per second for /proc/PID/stat (USER_HZ, 100 on every Linux ABI node runs on). */
const HZ = 100;

interface ProcSample {
  rssKb: number;
  rssAnonKb: number;
  rssFileKb: number;
  hwmKb: number;
  threads: number;
  cpuTicks: number;
  pssKb?: number;
}

function procSample(pid: number, withPss = false): ProcSample {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  // Fields after the command name: state is [0], utime [11], stime [12] (stat(5) fields 14, 15).
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const s: ProcSample = {
    rssKb: kb('VmRSS'),
    rssAnonKb: kb('RssAnon'),
    rssFileKb: kb('RssFile'),
    hwmKb: kb('VmHWM'),
    threads: kb('Threads'),
    cpuTicks: Number(stat[11]) + Number(stat[12]),
  };
  if (withPss) s.pssKb = Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
  return s;
}

/** CPU ticks of the main thread (tid = pid) and of all the others (workers, V8 and libuv pools). */
function threadTicks(pid: number): { main: number; others: number } {
  let main = 0,
    others = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      const t = Number(f[11]) + Number(f[12]);
      if (Number(tid) === pid) main += t;
      else others += t;
    } catch {
      // a thread that ended between readdir and read
    }
  }
  return { main, others };
}

/** A bare `node` that does nothing, measured the same way: the floor under any node daemon. */
async function bareNode(): Promise<{ rssMb: number; rssAnonMb: number; rssFileMb: number }> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => undefined, 60_000)'], { stdio: 'ignore' });
  try {
    await sleep(2000);
    const s = procSample(child.pid!);
    return { rssMb: +(s.rssKb / 1024).toFixed(1), rssAnonMb: +(s.rssAnonKb / 1024).toFixed(1), rssFileMb: +(s.rssFileKb / 1024).toFixed(1) };
  } finally {
    child.kill('SIGKILL');
  }
}

export async function main(argv: string[]): Promise<number> {
  const arg = (name: string, dflt: string): string => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const seconds = Number(arg('--seconds', '60'));
  const settle = Number(arg('--settle', '10'));
  const fib = arg('--fib', 'kernel');
  const missing = prereqs(['root', 'ip', 'bird', 'birdc', 'ternd'], TERND);
  if (missing.length) {
    console.error(`idle: missing ${missing.join(', ')}`);
    return 2;
  }
  // The package root of the ternd that runs: dist/src/ternd.js is three levels below it.
  const terndRoot = path.resolve(path.dirname(path.resolve(TERND)), '..', '..');
  const rec = new ResultRecorder('idle', argv, terndRoot);
  const lab = await Lab.create('i18idle');
  try {
    const sw = await lab.addSwitch('i18i-sw');
    const ternHost = await lab.addHost('i18i-tern');
    await lab.plug(ternHost, sw, { v4: `${NET}.1/24`, ifName: 'eth0' });
    const peerHosts: string[] = [];
    for (let i = 0; i < PEERS; i++) {
      const host = await lab.addHost(`i18i-p${i + 1}`);
      await lab.plug(host, sw, { v4: `${NET}.${i + 2}/24`, ifName: 'eth0' });
      // Node-to-node mesh peers in Calico's default shape: iBGP, 90 s hold time.
      await startBird(lab, host, {
        routerId: `${NET}.${i + 2}`,
        static4: [{ prefix: `10.244.${i + 1}.0/26` }],
        neighbors: [{ name: 'tern', localAddr: `${NET}.${i + 2}`, localAs: AS, neighborAddr: `${NET}.1`, neighborAs: AS, holdTime: 90, connectRetryTime: 1 }],
      });
      peerHosts.push(host);
    }
    const model: CalicoModel = {
      asNumber: AS,
      nodes: [{ name: NODE, ipv4Address: `${NET}.1/24` }],
      peers: peerHosts.map((_, i) => ({ name: `peer${i + 1}`, node: NODE, peerIP: `${NET}.${i + 2}`, asNumber: AS })),
      pools: { pods: '10.244.0.0/16' },
      extraDocs: [
        {
          apiVersion: 'crd.projectcalico.org/v1',
          kind: 'IPAMBlock',
          metadata: { name: '10-244-0-0-26' },
          spec: { cidr: '10.244.0.0/26', affinity: `host:${NODE}` },
        },
      ],
    };
    // Probes on their default address, as in a pod: an idle node still serves /livez and /readyz.
    const tern = await startTernd(lab, ternHost, { configYaml: model, node: NODE, fib, logLevel: 'info', args: ['--connect-retry', '1'] });
    await waitFor(
      'three sessions Established (BIRD side)',
      60_000,
      async () => {
        const states = await Promise.all(peerHosts.map((h) => birdBgpState(lab, h, 'tern')));
        return states.every((s) => s === 'Established');
      },
      250,
    );
    await sleep(settle * 1000);

    const first = procSample(tern.pid);
    const firstThreads = threadTicks(tern.pid);
    const t0 = performance.now();
    let peakRssKb = first.rssKb;
    const rssKb: number[] = [];
    while (performance.now() - t0 < seconds * 1000) {
      await sleep(1000);
      const s = procSample(tern.pid);
      rssKb.push(s.rssKb);
      peakRssKb = Math.max(peakRssKb, s.rssKb);
    }
    const last = procSample(tern.pid, true);
    const lastThreads = threadTicks(tern.pid);
    // Threads that ended during the window are missing from the split, never from cpuS.
    const mainS = (lastThreads.main - firstThreads.main) / HZ,
      othersS = (lastThreads.others - firstThreads.others) / HZ;
    const wallS = (performance.now() - t0) / 1000;
    const states = await Promise.all(peerHosts.map((h) => birdBgpState(lab, h, 'tern')));
    const stillUp = states.every((s) => s === 'Established');
    const cpuS = (last.cpuTicks - first.cpuTicks) / HZ;
    const cpuPct = (cpuS / wallS) * 100;
    const rssMb = last.rssKb / 1024;
    const rssMet = peakRssKb / 1024 < TARGET.rssMb;
    const cpuMet = cpuPct < TARGET.cpuPct;

    console.log(`idle: ternd (${path.relative(process.cwd(), TERND) || TERND}) with ${PEERS} Established iBGP sessions (BIRD), --fib ${fib}, probes on`);
    console.log(
      `  over ${wallS.toFixed(1)} s after ${settle} s settle: VmRSS ${rssMb.toFixed(1)} MB (peak sample ${(peakRssKb / 1024).toFixed(1)} MB, VmHWM ${(last.hwmKb / 1024).toFixed(1)} MB), PSS ${((last.pssKb ?? NaN) / 1024).toFixed(1)} MB, ${last.threads} threads`,
    );
    console.log(
      `  of the VmRSS: anonymous ${(last.rssAnonKb / 1024).toFixed(1)} MB (heaps, stacks), file-backed ${(last.rssFileKb / 1024).toFixed(1)} MB (the node binary's pages, shared by every node process)`,
    );
    console.log(
      `  CPU ${cpuS.toFixed(2)} s = ${cpuPct.toFixed(3)}% of one core (main thread ${mainS.toFixed(2)} s, other threads ${othersS.toFixed(2)} s); sessions still Established: ${stillUp ? 'yes' : `NO (${states.join(', ')})`}`,
    );

    const data = {
      issue: 18,
      params: { sessions: PEERS, fib, seconds, settle, probes: true },
      ternd: {
        rssMb: +rssMb.toFixed(1),
        peakRssSampleMb: +(peakRssKb / 1024).toFixed(1),
        vmHwmMb: +(last.hwmKb / 1024).toFixed(1),
        pssMb: +((last.pssKb ?? NaN) / 1024).toFixed(1),
        rssAnonMb: +(last.rssAnonKb / 1024).toFixed(1),
        rssFileMb: +(last.rssFileKb / 1024).toFixed(1),
        threads: last.threads,
        cpuSeconds: cpuS,
        mainThreadCpuSeconds: mainS,
        otherThreadsCpuSeconds: othersS,
        wallSeconds: +wallS.toFixed(1),
        cpuPct: +cpuPct.toFixed(3),
        rssSamplesMb: rssKb.map((k) => +(k / 1024).toFixed(1)),
      },
      sessionsEstablishedAtEnd: stillUp,
      bareNode: await bareNode(),
    };
    console.log(
      `  a bare node (node -e, idle): VmRSS ${data.bareNode.rssMb} MB (anonymous ${data.bareNode.rssAnonMb}, file-backed ${data.bareNode.rssFileMb})`,
    );
    const targets: TargetVerdict[] = [
      {
        name: 'idle RSS, 3 sessions',
        goal: `under ${TARGET.rssMb} MB (issue 18; highest VmRSS sampled over the window)`,
        measured: `${(peakRssKb / 1024).toFixed(1)} MB`,
        met: rssMet,
      },
      {
        name: 'idle CPU, 3 sessions',
        goal: `under ${TARGET.cpuPct}% of one core (issue 18; ternd's own CPU seconds)`,
        measured: `${cpuPct.toFixed(3)}%`,
        met: cpuMet,
      },
      { name: 'sessions stay Established', goal: 'all 3 at the end (BIRD side)', measured: states.join(', '), met: stillUp },
    ];
    rec.finish(data, targets, { suffix: `-s${PEERS}-${fib}`, dir: path.join(ROOT, 'bench', 'results') });
    return stillUp && rssMet && cpuMet ? 0 : 1;
  } finally {
    if (!argv.includes('--keep')) await lab.destroy();
  }
}
