// `npm run bench -- config-load [--blocks 250000] [--peers 10000]` (issue 17): how long ternd
// takes to load a large Calico model, and what it costs, measured on the real daemon process.
//   blocks: a file of N IPAMBlocks (~56 MB at 250k, bench/config-gen.ts) read by
//           `ternd --fib none`; time from spawn to the "model loaded" line, and to "ternd
//           started"; peak RSS (VmHWM) and CPU time (utime+stime) of the process at that point.
//   peers:  N active global BGPPeers (every one planned on this node, none reachable): log lines
//           written in the first 20 s (target: not one or two per peer).
// Writes bench/results/config-load-<time>.json naming the build (commit, and whether the tree was
// clean: a figure for the docs must come from a committed clean build) and the machine's load.
import { spawn } from 'node:child_process';
import { ResultRecorder, type TargetVerdict } from './result';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bgpPeersYaml, ipamBlocksYaml } from './config-gen';

const ROOT = path.resolve(__dirname, '..', '..');
const TERND = path.join(ROOT, 'dist', 'src', 'ternd.js');

function procStats(pid: number): { rssPeakMb: number; rssMb: number; cpuSeconds: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime, stime (fields 14, 15)
  return { rssPeakMb: Math.round(kb('VmHWM') / 1024), rssMb: Math.round(kb('VmRSS') / 1024), cpuSeconds: ticks / 100 };
}

interface Run { lines: string[]; marks: Record<string, { ms: number; rssPeakMb: number; rssMb: number; cpuSeconds: number }> }

/** Runs ternd on `file` until every mark's pattern has been logged (or `untilMs`), then stops it. */
function runTernd(dir: string, file: string, marks: Record<string, RegExp>, untilMs: number): Promise<Run> {
  const sock = path.join(dir, 'ternd.sock');
  const t0 = performance.now();
  const child = spawn(process.execPath, [TERND, '--config', file, '--node', 'node-0', '--fib', 'none', '--probes', 'off', '--control-socket', sock, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { lines: [], marks: {} };
  return new Promise((resolve) => {
    let buf = '';
    const finish = () => { clearTimeout(timer); child.kill('SIGKILL'); };
    // A run that never logs its marks is cut off after 5 minutes.
    const timer = setTimeout(finish, Number.isFinite(untilMs) ? untilMs : 300_000);
    const onData = (c: Buffer) => {
      buf += c.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const line of parts) {
        run.lines.push(line);
        for (const [name, re] of Object.entries(marks)) {
          if (!run.marks[name] && re.test(line)) run.marks[name] = { ms: Math.round(performance.now() - t0), ...procStats(child.pid!) };
        }
      }
      if (Object.keys(marks).every((m) => run.marks[m]) && untilMs === Infinity) finish();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => resolve(run));
  });
}

export async function main(argv: string[]): Promise<number> {
  const arg = (k: string, d: number) => { const i = argv.indexOf(k); return i >= 0 ? Number(argv[i + 1]) : d; };
  const blocks = arg('--blocks', 250_000);
  const peers = arg('--peers', 10_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-config-load-'));
  try {
    const rec = new ResultRecorder('config-load', argv);

    const blocksFile = path.join(dir, 'blocks.yaml');
    fs.writeFileSync(blocksFile, ipamBlocksYaml(blocks));
    const bytes = fs.statSync(blocksFile).size;
    console.log(`config-load: ${blocks} IPAMBlocks, ${(bytes / 1048576).toFixed(1)} MiB`);
    const b = await runTernd(dir, blocksFile, { loaded: /"model loaded from/, started: /"ternd started for node/ }, Infinity);
    const progress = b.lines.filter((l) => /"component":"datastore"/.test(l)).map((l) => (JSON.parse(l) as { msg: string }).msg);
    console.log(`  model loaded ${b.marks.loaded?.ms} ms (CPU ${b.marks.loaded?.cpuSeconds} s, peak RSS ${b.marks.loaded?.rssPeakMb} MB); ternd started ${b.marks.started?.ms} ms (peak RSS ${b.marks.started?.rssPeakMb} MB)`);

    const peersFile = path.join(dir, 'peers.yaml');
    fs.writeFileSync(peersFile, bgpPeersYaml(peers).replace('ipv4Address: 198.18.0.1/24', 'ipv4Address: 127.0.0.93/8').replace('nodeToNodeMeshEnabled: false', 'nodeToNodeMeshEnabled: false\n  listenPort: 24193\n  bindMode: NodeIP'));
    const p = await runTernd(dir, peersFile, { started: /"ternd started for node/ }, 20_000);
    console.log(`  ${peers} BGPPeers: ${p.lines.length} log lines in 20 s (peak RSS ${procStatsSafe(p)} MB)`);

    const result = {
      issue: 17,
      blocks: { count: blocks, bytes, loaded: b.marks.loaded, started: b.marks.started, progress },
      peers: { count: peers, logLinesIn20s: p.lines.length, started: p.marks.started },
    };
    const loaded = b.marks.loaded;
    const targets: TargetVerdict[] = [
      { name: `model loaded, ${blocks} blocks`, goal: 'under 5 s (issue 17)', measured: loaded ? `${(loaded.ms / 1000).toFixed(1)} s` : 'never loaded', met: loaded ? loaded.ms < 5000 : false },
      { name: `peak RSS, ${blocks} blocks`, goal: 'under 400 MB (issue 17)', measured: loaded ? `${loaded.rssPeakMb} MB` : 'never loaded', met: loaded ? loaded.rssPeakMb < 400 : false },
      { name: `log lines, ${peers} BGPPeers`, goal: 'not one per peer (issue 17: 20k lines for 10k peers)', measured: `${p.lines.length} lines in 20 s`, met: p.lines.length < peers },
    ];
    rec.finish(result, targets, { suffix: `-b${blocks}-p${peers}` });
    return 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function procStatsSafe(r: Run): string {
  return r.marks.started ? String(r.marks.started.rssPeakMb) : '?';
}
