// Process handling for bench targets: spawn with logs to files, sample /proc, kill by PID.
// Every process the harness starts is recorded here and killed by its PID, also on failure
// and on SIGINT/SIGTERM of the harness itself.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

const started = new Set<ChildProcess>();

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<string>;
  isRunning(): boolean;
}

export function startProcess(cmd: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): Spawned {
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: env ?? process.env });
  fs.closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  started.add(child);
  let running = true;
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, sig) => {
      running = false;
      started.delete(child);
      resolve(sig ?? String(code));
    });
    child.on('error', (e) => {
      running = false;
      started.delete(child);
      resolve(`spawn error: ${e.message}`);
    });
  });
  return { child, pid: child.pid, exited, isRunning: () => running };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(p: Spawned, graceMs = 3000): Promise<void> {
  if (!p.isRunning()) return;
  try {
    process.kill(p.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = new Promise<string>((r) => setTimeout(() => r('timeout'), graceMs).unref());
  if ((await Promise.race([p.exited, t])) === 'timeout' && p.isRunning()) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      return;
    }
    await p.exited;
  }
}

/** Last resort on harness exit: SIGKILL whatever is still running, by PID. */
export function killAllStarted(): void {
  for (const c of started) {
    if (c.pid !== undefined) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  started.clear();
}

let hooked = false;
/** Installs exit/signal hooks once so an interrupted run leaves no target behind. */
export function installCleanupHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllStarted);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAllStarted();
      process.exit(130);
    });
  }
}

export interface ProcSample {
  /** Peak resident set size (VmHWM), bytes. */
  peakRss: number;
  /** Current resident set size (VmRSS), bytes. */
  rss: number;
  /** utime + stime, seconds. */
  cpu: number;
}

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux/x86-64 and arm64

/** Reads VmHWM/VmRSS from /proc/<pid>/status and utime+stime from /proc/<pid>/stat (proc(5)). */
export function sampleProcess(pid: number): ProcSample {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  };
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised comm, which may itself contain spaces.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15 of proc(5)
  return { peakRss: kb('VmHWM'), rss: kb('VmRSS'), cpu };
}

/** Polls until a TCP connect to host:port succeeds (the target listens) or the deadline. */
export async function waitListening(host: string, port: number, deadline: number, alive: () => boolean): Promise<void> {
  const net = await import('node:net');
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('target exited before it listened');
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`target did not listen on ${host}:${port}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The last lines of a daemon's log, one line of text for a failure message ('' if unreadable). */
export function tail(file: string, lines = 3): string {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .slice(-lines)
      .map((l) => l.slice(0, 200))
      .join(' | ');
  } catch {
    return '';
  }
}
