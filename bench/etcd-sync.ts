// `npm run bench -- etcd-sync [--nodes 5000] [--blocks 20000] [--changes 10] [--out DIR]` (issue 19)
// The etcd datastore at scale: a real etcd-server on loopback (temp data dir, killed by PID at
// the end) is filled in Calico's etcdv3 layout with N Nodes and B IPAM blocks (each with its host
// affinity and two allocations, as libcalico-go writes them: 2 keys per block), then timed:
//  - sync: from constructing EtcdDatastore to start() resolving with the first complete, validated
//    model (paged range reads at one revision + translation + parse) — issue 19 asks < 10 s;
//  - change: from a put of one new block until the datastore emits the model that has it
//    (watch event + coalescing + a rebuild of the whole model), the per-change cost at this size.
// Writes the raw result through bench/result.ts (the build that ran, the machine and its load).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResultRecorder } from './result.js';
import { etcdLayout, type DatastoreEvent } from '../peers/datastore/index.js';
import { EtcdDatastore } from '../peers/datastore/etcd.js';
import { ETCD, allocationBlock, startLoopbackEtcd, tempDir, testClient, waitEtcdReady } from '../conformance/lab/etcd.js';

function flag(argv: string[], name: string, def: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
}

const blockCidr = (i: number): string => `10.${(i >> 10) & 255}.${(i >> 2) & 255}.${(i & 3) * 64}/26`;
const nodeName = (i: number): string => `node-${String(i).padStart(5, '0')}`;

export async function main(argv: string[]): Promise<number> {
  const nodes = flag(argv, 'nodes', 5000);
  const blocks = flag(argv, 'blocks', 20000);
  const changes = flag(argv, 'changes', 10);
  const outIdx = argv.indexOf('--out');
  const outDir = outIdx >= 0 ? argv[outIdx + 1] : undefined;
  const rec = new ResultRecorder('etcd-sync', argv);
  if (!fs.existsSync(ETCD)) throw new Error(`${ETCD} missing (apt-get install etcd-server)`);
  const dir = tempDir('bench');
  const etcd = await startLoopbackEtcd(dir);
  const client = testClient([etcd.clientUrl]);
  try {
    await waitEtcdReady(client, 20_000, etcd);
    // Fill: transactions of 100 puts (etcd allows 128 operations per transaction).
    const entries: [string, string][] = [
      [
        etcdLayout.resourceKey('bgpconfigurations', 'default'),
        JSON.stringify({
          apiVersion: 'projectcalico.org/v3',
          kind: 'BGPConfiguration',
          metadata: { name: 'default' },
          spec: { asNumber: 64512, nodeToNodeMeshEnabled: false },
        }),
      ],
      [
        etcdLayout.resourceKey('ippools', 'pods'),
        JSON.stringify({
          apiVersion: 'projectcalico.org/v3',
          kind: 'IPPool',
          metadata: { name: 'pods' },
          spec: { cidr: '10.0.0.0/8', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' },
        }),
      ],
    ];
    for (let i = 0; i < nodes; i++) {
      const a = i + 1;
      entries.push([
        etcdLayout.resourceKey('nodes', nodeName(i)),
        JSON.stringify({
          apiVersion: 'projectcalico.org/v3',
          kind: 'Node',
          metadata: { name: nodeName(i), labels: { rack: `r${i % 50}` } },
          spec: { bgp: { ipv4Address: `198.${18 + (a >> 16)}.${(a >> 8) & 255}.${a & 255}/15` } },
        }),
      ]);
    }
    for (let i = 0; i < blocks; i++) {
      const host = nodeName(i % nodes);
      entries.push([etcdLayout.blockKey(blockCidr(i)), JSON.stringify(allocationBlock(blockCidr(i), host, 2))]);
      entries.push([etcdLayout.affinityKey(host, blockCidr(i)), JSON.stringify({ state: 'confirmed', deleted: false })]);
    }
    let bytes = 0;
    for (let i = 0; i < entries.length; i += 100) {
      const batch = entries.slice(i, i + 100);
      bytes += batch.reduce((n, [k, v]) => n + k.length + v.length, 0);
      await client
        .if('/bench/never', 'Version', '==', 0)
        .then(...batch.map(([k, v]) => client.put(k).value(v)))
        .commit();
    }
    console.log(`etcd holds ${entries.length} keys (${(bytes / 1e6).toFixed(1)} MB) for ${nodes} nodes and ${blocks} blocks`);

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // The read log line comes at the end of the range reads and translation, before the build.
    let readMs = 0;
    const ds = new EtcdDatastore({
      endpoints: [etcd.clientUrl],
      log: (m) => {
        if (!readMs && m.startsWith('etcd read at revision')) readMs = performance.now() - t0;
      },
    });
    const events: DatastoreEvent[] = [];
    let wake: (() => void) | undefined;
    const first = await ds.start((e) => {
      events.push(e);
      wake?.();
    });
    const syncMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (first.model.nodes.length !== nodes || first.model.ipamBlocks.length !== blocks || first.model.blockAffinities.length !== blocks) {
      throw new Error(
        `incomplete model: ${first.model.nodes.length} nodes, ${first.model.ipamBlocks.length} blocks, ${first.model.blockAffinities.length} affinities`,
      );
    }
    console.log(
      `sync: ${(syncMs / 1000).toFixed(2)} s (read + translate ${(readMs / 1000).toFixed(2)} s, model build ${((syncMs - readMs) / 1000).toFixed(2)} s; cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s), rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
    );

    const changeMs: number[] = [];
    for (let k = 0; k < changes; k++) {
      const cidr = `11.0.${k}.0/26`;
      const s = performance.now();
      await client.put(etcdLayout.blockKey(cidr)).value(JSON.stringify(allocationBlock(cidr, nodeName(k), 1)));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no model with ${cidr} in 60 s`)), 60_000);
        const check = () => {
          if (events.some((e) => e.type === 'model' && e.update.model.ipamBlocks.some((b) => b.cidr.text === cidr))) {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          }
        };
        wake = check;
        check();
      });
      changeMs.push(performance.now() - s);
    }
    await ds.close();
    const sorted = [...changeMs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    console.log(`change -> model: median ${median.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms over ${changes}`);

    const result = {
      etcd: execFileSync(ETCD, ['--version'], { encoding: 'utf8' }).split('\n')[0],
      params: { nodes, blocks, keys: entries.length, valueBytes: bytes, changes },
      results: {
        syncSeconds: +(syncMs / 1000).toFixed(3),
        readSeconds: +(readMs / 1000).toFixed(3),
        buildSeconds: +((syncMs - readMs) / 1000).toFixed(3),
        syncCpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(3),
        changeMs: changeMs.map((x) => +x.toFixed(1)),
        changeMedianMs: +median.toFixed(1),
      },
    };
    const syncS = syncMs / 1000;
    rec.finish(
      result,
      [{ name: `sync ${nodes} nodes / ${blocks} blocks`, goal: 'under 10 s (issue 19)', measured: `${syncS.toFixed(2)} s`, met: syncS < 10 }],
      { suffix: `-n${nodes}-b${blocks}`, dir: outDir },
    );
    return 0;
  } finally {
    client.close();
    await etcd.stop('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
