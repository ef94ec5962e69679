// Helpers for the restart scenarios (conformance/gr.test.ts, llgr.test.ts): watch a
// namespace's routing table with `ip monitor route` while something restarts, kill a daemon
// without warning (SIGKILL: no NOTIFICATION, no cleanup), and start BIRD again in graceful
// restart recovery mode (`bird -R`); ternd's kernel routes and Loc-RIB as the scenarios read them.

import * as fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { type Lab, onLines, sleep } from './lab.js';
import { birdConfig, launchBird, type Bird, type BirdConfig } from './bird.js';
import { daemonPidOf } from './peer-runtime.js';
import { routesInNs } from './fib.js';
import { bgpctl } from './tern.js';

/** ternd's IPv4 kernel routes (protocol 201) in `host` as `dst -> gateway | 'blackhole'`. */
export async function ternKernel(lab: Lab, host: string): Promise<Map<string, string>> {
  return new Map((await routesInNs(lab, host, { family: 'ipv4', proto: '201' })).map((r) => [r.dst, r.type === 'blackhole' ? 'blackhole' : `${r.gateway}`]));
}

/** One row of `bgpctl show rib -j` (the fields these scenarios read). */
export interface RibRow {
  prefix: string;
  peer?: string;
  communities?: string[];
  flags: { best: boolean; stale: boolean };
}

/** `bgpctl show rib -j` of the ternd in `host`. */
export async function ribRows(lab: Lab, host: string): Promise<RibRow[]> {
  return (await bgpctl(lab, host, 'show', 'rib')) as RibRow[];
}

export interface RouteMonitor {
  host: string;
  /** Every line `ip monitor route` printed so far (without its timestamp). */
  lines: string[];
  /** Lines that report a deletion ("Deleted ...") of `prefix` (exact destination match). */
  deleted(prefix: string): string[];
  /**
   * When each deletion of `prefix` was read by `ip -ts monitor` (ms since the epoch): an upper
   * bound on when the kernel deleted it, taken by `ip` as the notification arrived rather than
   * when this process got round to reading the pipe.
   */
  deletedAt(prefix: string): number[];
  /** Stops the monitor; resolves with every line. */
  stop(): Promise<string[]>;
}

/**
 * `ip monitor route` inside `host`. Netlink multicast delivers every change the kernel makes
 * to its table, so a route that is deleted and re-added between two polls still shows up here
 * as a `Deleted` line: that is what "no route was withdrawn during the restart" is checked with.
 */
export async function monitorRoutes(lab: Lab, host: string): Promise<RouteMonitor> {
  // -ts: `ip` stamps each event with the local wall clock as it reads it ("[2026-12-07T19:29:33.061967] ...").
  const child = lab.spawn(host, 'ip', ['-ts', 'monitor', 'route']);
  const lines: string[] = [];
  const stamps: number[] = [];
  onLines(child.stdout, (l) => {
    const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\d*\]\s*(.*)$/.exec(l);
    // An ISO date-time without a zone is local time to Date.parse, as `ip` printed it.
    stamps.push(m ? Date.parse(m[1]) : Date.now());
    lines.push(m ? m[2] : l);
  });
  // `ip monitor` has subscribed once it is running; give it a moment to bind its socket.
  await sleep(150);
  const dstOf = (l: string) =>
    l
      .replace(/^Deleted\s+/, '')
      .replace(/^(blackhole|unreachable|prohibit)\s+/, '')
      .split(/\s+/)[0];
  const isDeletion = (l: string, prefix: string) => l.startsWith('Deleted') && dstOf(l) === prefix;
  return {
    host,
    lines,
    deleted: (prefix) => lines.filter((l) => isDeletion(l, prefix)),
    deletedAt: (prefix) => stamps.filter((_, i) => isDeletion(lines[i], prefix)),
    async stop() {
      await lab.stop(child.pid!, 500);
      return lines;
    },
  };
}

/**
 * SIGKILL the daemon behind `child` (its own PID: lab.spawn runs it in place; in containers mode
 * the container's daemon, whose death ends `podman run`) and wait until it is gone.
 */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(daemonPidOf(child), 'SIGKILL');
  await gone;
}

/**
 * Start BIRD again in `host` after `killHard`, with a (possibly changed) config, in graceful
 * restart recovery mode (`-R`, BIRD's "restarted with forwarding state kept": it sends the
 * R bit and the per-family F bit, then End-of-RIB once its routes are out).
 */
export async function restartBird(lab: Lab, old: Bird, cfg: BirdConfig, opts: { recovery?: boolean } = {}): Promise<Bird> {
  fs.writeFileSync(old.configFile, birdConfig(cfg, old.logFile));
  fs.rmSync(old.ctl, { force: true });
  return launchBird(lab, old, opts.recovery === false ? [] : ['-R']);
}
