// Issue 18 ("Mesh at scale"): the mesh bench's harness (bench/mesh.ts) at 3 nodes, so CI keeps
// it working and its figures honest. The bench counts routes from `ip monitor`; this test reads
// each namespace's kernel table itself (`ip -j route show proto 201`) and asks each ternd's
// control socket, and checks both against what a node-to-node mesh must give (RFC 4271 §9.1:
// every iBGP peer's block selected and installed, with the peer as next hop), including the
// block the bench adds during its run; then that the bench's own counts agree, and that it left
// no namespace or process behind. No time is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conformanceGate, netnsListSync, routesInNs, TERND, type Lab } from './lab/index.js';
import { control } from './lab/cluster.js';
import { meshPrefix, type MeshNode } from '../bench/mesh-lab.js';
import { runMesh } from '../bench/mesh.js';
import type { MeshRun } from '../bench/mesh-report.js';

test('mesh bench at 3 nodes: every kernel holds the blocks of every other node, counts match, nothing left behind (issue 18)', {
  timeout: 150_000,
}, async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'ternd'], TERND)) return;
  const seen: { fibs: Map<string, Map<string, string>>; established: Map<string, number>; pids: number[]; nodes: MeshNode[] } = {
    fibs: new Map(),
    established: new Map(),
    pids: [],
    nodes: [],
  };
  const run: MeshRun = await runMesh({
    nodes: 3,
    changes: 1,
    warmup: 0,
    staticArp: true,
    timeoutSeconds: 90,
    log: () => undefined,
    inspect: async (lab: Lab, nodes: MeshNode[]) => {
      seen.nodes = nodes.map((n) => ({ ...n, blocks: [...n.blocks] }));
      seen.pids = [...lab.children.keys()];
      for (const n of nodes) {
        const fib = new Map<string, string>();
        for (const r of await routesInNs(lab, n.host, { family: 'ipv4', proto: '201' }))
          fib.set(r.dst, r.type === 'blackhole' ? 'blackhole' : `${r.gateway}@${r.dev}`);
        seen.fibs.set(n.name, fib);
        const peers = await control<{ address: string; state: string }[]>(lab.file(`ternd-${n.host}.sock`), 'show.peers');
        seen.established.set(n.name, peers.filter((p) => p.state === 'Established').length);
      }
    },
  });

  assert.equal(seen.nodes.length, 3, 'the bench reached its inspection point');
  // The change added one block to one node: 4 blocks in all.
  assert.equal(seen.nodes.flatMap((n) => n.blocks).length, 4);
  for (const n of seen.nodes) {
    const want = new Map<string, string>();
    for (const o of seen.nodes) for (const b of o.blocks) want.set(b, o === n ? 'blackhole' : `${o.address}@eth0`);
    assert.deepEqual(
      [...seen.fibs.get(n.name)!].sort(),
      [...want].sort(),
      `${n.name}'s kernel: own blocks as blackholes, every other node's via that node (RFC 4271 §9.1)`,
    );
    assert.equal(seen.established.get(n.name), 2, `${n.name}: both mesh sessions Established`);
  }
  // The bench's own counts agree with what was read above.
  assert.deepEqual(run.problems, []);
  assert.deepEqual(run.kernelMismatches, []);
  assert.equal(run.sessionsPlanned, 3);
  assert.equal(run.sessionsEstablished, 3);
  assert.notEqual(run.convergedSeconds, null);
  assert.equal(run.changes.length, 1);
  assert.equal(run.changes[0].ms.length, 2, 'the added block reached both other kernels');
  assert.deepEqual(run.changes[0].missing, []);
  assert.equal(run.perNode.rssMb.n, 3, 'RSS read for every ternd');
  assert.ok(run.perNode.cpuTotalSeconds.min > 0, 'CPU time read for every ternd');
  // Teardown: no namespace of this run, no process it started.
  const prefix = meshPrefix();
  assert.deepEqual(
    netnsListSync().filter((ns) => new RegExp(`^${prefix}(sw|n\\d+)$`).test(ns)),
    [],
    'every namespace of the run deleted',
  );
  for (const pid of seen.pids) assert.throws(() => process.kill(pid, 0), `PID ${pid} still running after the bench`);
});
