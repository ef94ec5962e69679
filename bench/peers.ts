// `node dist/bench/peers.js [--nodes 1000]` (or `npm run bench -- peers` once registered in run.ts)
// Cost of the model pipeline a node runs on every datastore change, for a cluster of N nodes:
//   parse      : YAML text -> validated ClusterModel (N Nodes, N IPAM blocks, a few BGPPeers)
//   plan-mesh  : planPeers on one node with the full mesh (N-1 sessions)
//   plan-rr    : planPeers on a route reflector with N clients (peerSelector + reverse peerings)
//   diff       : diffPlan of two N-1 session plans
//   routes     : originatedRoutes for one node
import { parseModel, planPeers, diffPlan, originatedRoutes } from '../peers/index.js';
import { ResultRecorder } from './result.js';

function clusterYaml(n: number, mesh: boolean): string {
  const docs = [
    `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {nodeToNodeMeshEnabled: ${mesh}}\n`,
    'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pods}\nspec: {cidr: 10.0.0.0/8, blockSize: 26}\n',
    'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: to-rr}\nspec: {nodeSelector: all(), peerSelector: "rr == \'true\'"}\n',
  ];
  for (let i = 0; i < n; i++) {
    const ip = `198.18.${i >> 8}.${i & 255}`;
    const rr = i < 2 ? '  labels: {rr: "true"}\n' : '';
    const cid = i < 2 ? '\n    routeReflectorClusterID: 224.0.0.1' : '';
    docs.push(`apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: node-${i}\n${rr}spec:\n  bgp:\n    ipv4Address: ${ip}/16${cid}\n`);
    docs.push(
      `apiVersion: crd.projectcalico.org/v1\nkind: IPAMBlock\nmetadata: {name: b-${i}}\nspec: {cidr: 10.${i >> 10}.${(i >> 2) & 255}.${(i & 3) * 64}/26, affinity: "host:node-${i}"}\n`,
    );
  }
  return docs.join('---\n');
}

function time(label: string, runs: number, fn: () => unknown): number {
  fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / runs;
  console.log(`${label.padEnd(12)} ${ms.toFixed(2).padStart(9)} ms/op`);
  return ms;
}

export async function main(argv: string[]): Promise<number> {
  const rec = new ResultRecorder('peers', argv);
  const i = argv.indexOf('--nodes');
  const n = i >= 0 ? Number(argv[i + 1]) : 1000;
  const meshText = clusterYaml(n, true),
    rrText = clusterYaml(n, false);
  console.log(`peers pipeline, ${n} nodes (${(meshText.length / 1024).toFixed(0)} KiB of YAML), node ${process.version}`);
  const mesh = parseModel(meshText, 'bench.yaml').model,
    rr = parseModel(rrText, 'bench.yaml').model;
  const msPerOp: Record<string, number> = {};
  msPerOp.parse = time('parse', 3, () => parseModel(meshText, 'bench.yaml'));
  msPerOp.planMesh = time('plan-mesh', 20, () => planPeers(mesh, 'node-5'));
  msPerOp.planRr = time('plan-rr', 20, () => planPeers(rr, 'node-0'));
  const a = planPeers(mesh, 'node-5'),
    b = planPeers(mesh, 'node-5');
  msPerOp.diff = time('diff', 50, () => diffPlan(a, b));
  msPerOp.routes = time('routes', 50, () => originatedRoutes(mesh, 'node-5'));
  const sessions = { mesh: a.length, reflector: planPeers(rr, 'node-0').length, client: planPeers(rr, 'node-5').length };
  console.log(`sessions: mesh ${sessions.mesh}, reflector ${sessions.reflector}, client ${sessions.client}`);
  rec.finish({ nodes: n, yamlBytes: meshText.length, msPerOp, sessions }, [], { suffix: `-n${n}` });
  return 0;
}

if (require.main === module) void main(process.argv.slice(2)).then((c) => process.exit(c));
