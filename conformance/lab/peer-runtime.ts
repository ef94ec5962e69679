// How the lab runs its BIRD and FRR peers: as processes in a namespace (`ip netns exec`, the fast
// default), or as containers joined to that namespace (TERN_PEERS=containers: `podman run
// --network ns:/run/netns/HOST`, the images of conformance/containers). Either way the daemon
// runs in the foreground with the same command line, the lab directory is at the same path (the
// container gets it as a bind mount), and its CLI (birdc, vtysh) runs next to it: in containers
// mode through `podman exec`, so the host needs no BIRD or FRR at all.

import { execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { CONTAINERS_CONF, run, waitFor, type ExecResult, type Lab, type SpawnOptions } from './lab.js';

export type PeerMode = 'processes' | 'containers';
export type PeerKind = 'bird' | 'frr';

export function peerMode(): PeerMode {
  return process.env.TERN_PEERS === 'containers' ? 'containers' : 'processes';
}

export const PEER_IMAGES: Record<PeerKind, string> = {
  bird: process.env.TERN_BIRD_IMAGE ?? 'localhost/tern-bird:dev',
  frr: process.env.TERN_FRR_IMAGE ?? 'localhost/tern-frr:dev',
};

const podmanEnv = (): NodeJS.ProcessEnv => ({ ...process.env, CONTAINERS_CONF });

/**
 * NET_ADMIN: BIRD's kernel protocol and FRR's zebra write the namespace FIB; NET_RAW: BIRD's
 * device scans, FRR's raw sockets; SYS_ADMIN: FRR's privs_init wants it (netns support).
 */
const PEER_CAPS: Record<PeerKind, string[]> = { bird: ['NET_ADMIN', 'NET_RAW'], frr: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'] };

/** podman; with `netns`, run inside that lab namespace (its host network is the namespace). */
export function podman(args: string[], opts: { timeoutMs?: number; netns?: string } = {}): Promise<ExecResult> {
  if (opts.netns) return run('nsenter', [`--net=/run/netns/${opts.netns}`, 'podman', ...args], { ...opts, env: podmanEnv() });
  return run('podman', args, { ...opts, env: podmanEnv() });
}

export function podmanSync(args: string[]): string {
  return execFileSync('podman', args, { encoding: 'utf8', env: podmanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A daemon started by startPeerDaemon: `pid` is the daemon's own PID on the host (signals reach it). */
export interface PeerDaemon {
  child: ChildProcess;
  pid: number;
  /** The container's name in containers mode. */
  container?: string;
}

/**
 * Start `cmd args` in the foreground inside lab host `host`. In containers mode `pid` is the
 * daemon's PID as the host sees it (the container's first process), so SIGSTOP/SIGKILL from a
 * test hit the daemon itself, as they do in processes mode.
 */
export async function startPeerDaemon(
  lab: Lab,
  host: string,
  kind: PeerKind,
  cmd: string,
  args: string[],
  opts: SpawnOptions & { name: string },
): Promise<PeerDaemon> {
  if (peerMode() === 'processes') {
    const child = lab.spawn(host, cmd, args, opts);
    return { child, pid: child.pid! };
  }
  const name = `tern-${opts.name}-${host}-${process.pid}`;
  lab.containers.add(name);
  // A container of that name left by a crashed run of this same PID is replaced.
  await podman(['rm', '-f', '-t', '0', name]);
  const child = lab.spawnOnHost(
    'podman',
    [
      'run',
      '--rm',
      '--name',
      name,
      '--network',
      `ns:/run/netns/${host}`,
      // The capabilities each daemon asks for at start (FRR's privs_init refuses to run short of
      // one); the lab directory at the same path, so configs and sockets line up.
      ...PEER_CAPS[kind].flatMap((c) => ['--cap-add', c]),
      '-v',
      `${lab.dir}:${lab.dir}`,
      PEER_IMAGES[kind],
      cmd,
      ...args,
    ],
    { ...opts, env: podmanEnv() },
  );
  const pid = await waitFor(
    `container ${name} running`,
    20_000,
    async () => {
      if (child.exitCode !== null)
        throw new Error(`podman run ${name} exited ${child.exitCode}${opts.logFile ? `: ${fs.readFileSync(opts.logFile, 'utf8').slice(-2000)}` : ''}`);
      const r = await podman(['inspect', '-f', '{{.State.Pid}}', name]);
      const n = Number(r.stdout.trim());
      return r.code === 0 && n > 0 ? n : undefined;
    },
    100,
  );
  daemonPids.set(child, pid);
  return { child, pid, container: name };
}

/** podman client -> the daemon's host PID, so killHard(child) hits the daemon in either mode. */
const daemonPids = new WeakMap<ChildProcess, number>();

/** The PID to signal for a daemon whose child handle is `child`: itself, or the container's daemon. */
export function daemonPidOf(child: ChildProcess): number {
  return daemonPids.get(child) ?? child.pid!;
}

/** Run a peer's CLI or a one-off tool (birdc, vtysh, bird -p) where the daemon of `kind` runs. */
export function peerTool(kind: PeerKind, container: string | undefined, cmd: string, args: string[], lab?: Lab): Promise<ExecResult> {
  if (peerMode() === 'processes') return run(cmd, args);
  if (container) return podman(['exec', container, cmd, ...args]);
  // No daemon yet (a config check before start): a throwaway container of the same image.
  return podman(['run', '--rm', '--network', 'none', ...(lab ? ['-v', `${lab.dir}:${lab.dir}`] : []), PEER_IMAGES[kind], cmd, ...args]);
}

/** Images the containers mode needs that this machine lacks (gate.ts). */
export function missingPeerImages(kinds: PeerKind[]): string[] {
  const missing: string[] = [];
  for (const k of kinds) {
    try {
      podmanSync(['image', 'exists', PEER_IMAGES[k]]);
    } catch {
      missing.push(`image ${PEER_IMAGES[k]} (npm run peer-images)`);
    }
  }
  return missing;
}
