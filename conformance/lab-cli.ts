#!/usr/bin/env node
// `npm run lab -- up|down|status`: a small Tern cluster in network namespaces to watch converge.
// Three Tern nodes with pod blocks, a Tern route reflector and a BIRD top-of-rack router, all on
// one bridge (198.18.10.0/24) in the ToR's namespace. Every ternd reads the same Calico YAML
// (STATE/model/cluster.yaml): edit it and every node reloads, as from a shared datastore. Unlike the
// conformance Lab (which removes everything when its process exits), this leaves the cluster
// running: state (PID files, sockets, logs, lab.json) lives in STATE, and `down` removes exactly
// what `up` recorded there: processes by PID file, containers and namespaces by name. Root only.
// `up --containers` runs the same cluster from images instead (Tern's, `npm run image`; BIRD's,
// `npm run peer-images`): podman containers joined to the same namespaces.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { mustRun, run, sleep, waitFor } from './lab/lab.js';
import { BIRD, BIRDC, birdConfig, type BirdNeighbor } from './lab/bird.js';
import { BGPCTL, TERND, calicoYaml, type CalicoModel } from './lab/tern.js';
import { PEER_IMAGES, podman } from './lab/peer-runtime.js';
import { control, CLUSTER_AS, TOR_AS } from './lab/cluster.js';
import { blockDoc } from './lab/tern.js';

const STATE = process.env.TERN_LAB_DIR ?? '/run/tern-lab';
/** Namespace and link prefix (`tn-n1`, ...); conformance/lab-cli.test.ts uses another one. */
const PREFIX = process.env.TERN_LAB_PREFIX ?? 'tn';
const TOR = `${PREFIX}-tor`;
const BRIDGE = `${PREFIX}br`;
const TOR_ADDR = '198.18.10.1';

interface LabNode {
  name: string;
  ns: string;
  address: string;
  blocks: string[];
  reflector?: boolean;
}
const NODES: LabNode[] = [
  { name: 'n1', ns: `${PREFIX}-n1`, address: '198.18.10.11', blocks: ['10.244.1.0/26'] },
  { name: 'n2', ns: `${PREFIX}-n2`, address: '198.18.10.12', blocks: ['10.244.2.0/26'] },
  { name: 'n3', ns: `${PREFIX}-n3`, address: '198.18.10.13', blocks: ['10.244.3.0/26'] },
  { name: 'rr1', ns: `${PREFIX}-rr1`, address: '198.18.10.2', blocks: [], reflector: true },
];

interface LabState {
  namespaces: string[];
  pidFiles: string[];
  containers?: string[];
  created: string;
}

const TERN_IMAGE = process.env.TERN_IMAGE ?? 'localhost/tern:dev';
/** Container names in `up --containers` mode. */
const ctr = (what: string) => `tern-lab-${PREFIX}-${what}`;
let containers = false;

const sock = (n: LabNode) => path.join(STATE, `${n.name}.sock`);
const bgpctlCmd = (n: LabNode, args: string) =>
  containers ? `podman exec ${ctr(n.name)} bgpctl ${args}` : `ip netns exec ${n.ns} ${process.execPath} ${BGPCTL} -s ${sock(n)} ${args}`;

/** Start a container in namespace `ns`, recorded in the state so that `down` removes it. */
async function startContainer(state: LabState, name: string, ns: string, podmanArgs: string[], image: string, args: string[]): Promise<void> {
  state.containers = [...(state.containers ?? []), name];
  saveState(state);
  const r = await podman(['run', '-d', '--name', name, '--network', `ns:/run/netns/${ns}`, ...podmanArgs, image, ...args]);
  if (r.code !== 0) throw new Error(`podman run ${name}: ${r.stderr}`);
}

/** `show peers` of a lab node as JSON, through its socket or inside its container. */
async function nodePeers(n: LabNode): Promise<{ state: string }[]> {
  if (!containers) return fs.existsSync(sock(n)) ? control<{ state: string }[]>(sock(n), 'show.peers') : [];
  const r = await podman(['exec', ctr(n.name), 'bgpctl', '-j', 'show', 'peers']);
  return r.code === 0 ? (JSON.parse(r.stdout) as { state: string }[]) : [];
}

function model(): CalicoModel {
  return {
    asNumber: CLUSTER_AS,
    nodeToNodeMeshEnabled: false,
    nodes: NODES.map((n) => ({
      name: n.name,
      ipv4Address: `${n.address}/24`,
      ...(n.reflector ? { routeReflectorClusterID: '244.0.0.1', labels: { 'route-reflector': 'true' } } : {}),
    })),
    peers: [
      { name: 'tor', peerIP: TOR_ADDR, asNumber: TOR_AS, keepaliveTime: '3s' },
      { name: 'peer-with-route-reflectors', nodeSelector: 'all()', peerSelector: 'has(route-reflector)' },
    ],
    extraDocs: [
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'pods' },
        spec: { cidr: '10.244.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' },
      },
      ...NODES.flatMap((n) => n.blocks.map((b) => blockDoc(b, n.name))),
    ],
  };
}

function readState(): LabState | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(STATE, 'lab.json'), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

const saveState = (s: LabState) => fs.writeFileSync(path.join(STATE, 'lab.json'), JSON.stringify(s, null, 2));

/** Start a daemon in a namespace, detached from this process; its PID goes into pidFile. */
function startDetached(ns: string, cmd: string, args: string[], logFile: string, pidFile: string): number {
  const fd = fs.openSync(logFile, 'a');
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  child.unref();
  fs.writeFileSync(pidFile, String(child.pid));
  return child.pid!;
}

async function up(): Promise<number> {
  if (readState()) {
    console.error(`a lab is already up (${STATE}/lab.json); run: npm run lab -- down`);
    return 1;
  }
  if (containers) {
    for (const image of [TERN_IMAGE, PEER_IMAGES.bird])
      if ((await podman(['image', 'exists', image])).code !== 0) throw new Error(`image ${image} not found (npm run image; npm run peer-images)`);
  } else for (const bin of [BIRD, TERND]) if (!fs.existsSync(bin)) throw new Error(`${bin} not found${bin === TERND ? ' (npm run build)' : ''}`);
  fs.mkdirSync(STATE, { recursive: true });
  const state: LabState = { namespaces: [], pidFiles: [], created: new Date().toISOString() };
  saveState(state); // from here on, `down` can clean up whatever was made
  const addNs = async (ns: string) => {
    await mustRun('ip', ['netns', 'add', ns]);
    state.namespaces.push(ns);
    saveState(state);
    await mustRun('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  };
  await addNs(TOR);
  await mustRun('ip', ['-n', TOR, 'link', 'add', BRIDGE, 'type', 'bridge']);
  await mustRun('ip', ['-n', TOR, 'addr', 'add', `${TOR_ADDR}/24`, 'dev', BRIDGE]);
  await mustRun('ip', ['-n', TOR, 'link', 'set', BRIDGE, 'up']);
  for (const [i, n] of NODES.entries()) {
    await addNs(n.ns);
    const far = `${PREFIX}l${i + 1}`;
    await mustRun('ip', ['link', 'add', 'eth0', 'netns', n.ns, 'type', 'veth', 'peer', 'name', far, 'netns', TOR]);
    await mustRun('ip', ['-n', n.ns, 'addr', 'add', `${n.address}/24`, 'dev', 'eth0']);
    await mustRun('ip', ['-n', n.ns, 'link', 'set', 'eth0', 'up']);
    await mustRun('ip', ['-n', TOR, 'link', 'set', far, 'master', BRIDGE, 'up']);
  }

  // The ToR: BIRD, eBGP AS 65001 with every node, learns the pod blocks.
  const neighbors: BirdNeighbor[] = NODES.map((n) => ({
    name: n.name,
    localAs: TOR_AS,
    neighborAddr: n.address,
    neighborAs: CLUSTER_AS,
    passive: true,
    holdTime: 9,
    keepaliveTime: 3,
    ipv4: { import: 'all', export: 'none' },
  }));
  fs.writeFileSync(path.join(STATE, 'bird.conf'), birdConfig({ routerId: TOR_ADDR, neighbors }, path.join(STATE, 'bird.log')));
  const birdPid = path.join(STATE, 'bird.pid');
  const birdArgs = ['-f', '-c', path.join(STATE, 'bird.conf'), '-s', path.join(STATE, 'bird.ctl'), '-P', birdPid];
  if (containers)
    await startContainer(state, ctr('tor'), TOR, ['--cap-add', 'NET_ADMIN', '--cap-add', 'NET_RAW', '-v', `${STATE}:${STATE}`], PEER_IMAGES.bird, [
      'bird',
      ...birdArgs,
    ]);
  else {
    state.pidFiles.push(birdPid);
    saveState(state);
    startDetached(TOR, BIRD, birdArgs, path.join(STATE, 'bird.out'), birdPid);
  }

  // In a directory of its own: ternd watches the config's directory, which should not be the
  // one its logs are written to (an inotify event per log line for every ternd).
  const config = path.join(STATE, 'model', 'cluster.yaml');
  fs.mkdirSync(path.dirname(config), { recursive: true });
  fs.writeFileSync(config, `# Tern lab cluster: edit me; every ternd reloads this file.\n${calicoYaml(model())}`);
  for (const n of NODES) {
    const common = ['--node', n.name, '--fib', 'kernel', '--probes', 'off', '--connect-retry', '1'];
    if (containers) {
      // As deploy/'s manifests run it: non-root, only NET_ADMIN and NET_BIND_SERVICE.
      await startContainer(
        state,
        ctr(n.name),
        n.ns,
        ['--cap-drop', 'all', '--cap-add', 'NET_ADMIN', '--cap-add', 'NET_BIND_SERVICE', '-v', `${path.dirname(config)}:/etc/tern:ro`],
        TERN_IMAGE,
        ['--config', '/etc/tern/cluster.yaml', ...common],
      );
      continue;
    }
    const pidFile = path.join(STATE, `ternd-${n.name}.pid`);
    state.pidFiles.push(pidFile);
    saveState(state);
    startDetached(
      n.ns,
      process.execPath,
      [TERND, '--config', config, ...common, '--control-socket', sock(n)],
      path.join(STATE, `ternd-${n.name}.log`),
      pidFile,
    );
  }

  // Converged: every session of every node Established.
  process.stdout.write('waiting for the sessions');
  await waitFor(
    'every session Established',
    30_000,
    async () => {
      process.stdout.write('.');
      for (const n of NODES) {
        const peers = await nodePeers(n);
        if (peers.length === 0 || peers.some((p) => p.state !== 'Established')) return false;
      }
      return true;
    },
    500,
  );
  console.log(' converged.\n');
  console.log(`Tern lab up (state in ${STATE}):`);
  const birdcCmd = `${containers ? `podman exec ${ctr('tor')} ` : ''}birdc -s ${STATE}/bird.ctl show route`;
  console.log(`  ${TOR.padEnd(8)} ${TOR_ADDR.padEnd(13)} BIRD top-of-rack, AS ${TOR_AS}, eBGP with every node (${birdcCmd})`);
  for (const n of NODES)
    console.log(
      `  ${n.ns.padEnd(8)} ${n.address.padEnd(13)} ternd ${n.name}, AS ${CLUSTER_AS}${n.reflector ? ', route reflector (cluster 244.0.0.1)' : `, pod block ${n.blocks.join(' ')}, client of rr1`}`,
    );
  console.log(`\nThe cluster model: ${config} (edit it: add an IPAMBlock, and watch every node's routes change)`);
  console.log('Try:');
  console.log(`  ${bgpctlCmd(NODES[0], 'show peers')}`);
  console.log(`  ${bgpctlCmd(NODES[0], 'show rib')}`);
  console.log(`  ${bgpctlCmd(NODES[3], 'show neighbor 198.18.10.11')}`);
  console.log(`  ip -n ${NODES[0].ns} route show proto 201        # what ternd installed in n1's kernel`);
  console.log(containers ? `  podman logs -f ${ctr('n1')}` : `  tail -f ${STATE}/ternd-n1.log`);
  console.log('  npm run lab -- status');
  console.log('  npm run lab -- down');
  return 0;
}

async function status(): Promise<number> {
  const s = readState();
  if (!s) {
    console.log('no lab is up (npm run lab -- up)');
    return 1;
  }
  for (const n of NODES) {
    console.log(`== ${n.name} (${n.ns}, ${n.address})`);
    const r = containers
      ? await podman(['exec', ctr(n.name), 'bgpctl', 'show', 'peers'])
      : await run(process.execPath, [BGPCTL, '-s', sock(n), 'show', 'peers']);
    console.log((r.stdout || r.stderr).trimEnd());
    const routes = await run('ip', ['-n', n.ns, 'route', 'show', 'proto', '201']);
    console.log(`kernel routes from ternd (proto 201):\n${routes.stdout.trimEnd().replace(/^/gm, '  ') || '  none'}`);
  }
  console.log(`== ToR (${TOR}, BIRD)`);
  const birdc = ['-s', path.join(STATE, 'bird.ctl'), 'show route'];
  const b = containers ? await podman(['exec', ctr('tor'), 'birdc', ...birdc]) : await run(BIRDC, birdc);
  console.log((b.stdout || b.stderr).trimEnd());
  return 0;
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function down(): Promise<number> {
  const s = readState();
  if (!s) {
    console.log(`nothing to remove (${STATE}/lab.json not found)`);
    return 0;
  }
  const pids = s.pidFiles.map((f) => Number(fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim() : NaN)).filter((p) => p > 0 && pidAlive(p));
  for (const p of pids) process.kill(p, 'SIGTERM');
  const deadline = Date.now() + 3000;
  while (pids.some(pidAlive) && Date.now() < deadline) await sleep(50);
  for (const p of pids.filter(pidAlive)) process.kill(p, 'SIGKILL');
  if (s.containers?.length) await podman(['rm', '-f', '-t', '2', ...s.containers]);
  for (const ns of s.namespaces) await run('ip', ['netns', 'del', ns]);
  fs.rmSync(STATE, { recursive: true, force: true });
  console.log(
    `removed ${pids.length} processes${s.containers?.length ? `, containers ${s.containers.join(' ')}` : ''} and namespaces ${s.namespaces.join(' ')}`,
  );
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (process.getuid?.() !== 0 && cmd !== undefined) {
    console.error('the lab needs root (network namespaces)');
    return 2;
  }
  // The mode of a lab that is up is what its state recorded.
  containers = argv.includes('--containers') || (readState()?.containers?.length ?? 0) > 0;
  if (cmd === 'up') {
    try {
      return await up();
    } catch (e) {
      console.error(`\nlab up failed: ${(e as Error).message}\nlogs in ${STATE}; cleaning up`);
      await down();
      return 1;
    }
  }
  if (cmd === 'status') return status();
  if (cmd === 'down') return down();
  console.error('usage: npm run lab -- up [--containers]|status|down   (a 3-node Tern cluster with a route reflector and a BIRD ToR in network namespaces)');
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
