// The watcher: a third peer that holds an idle session with the target during the whole run
// and timestamps every message the target sends it, so the bench can say how late the target's
// KEEPALIVEs were while it ingested (issue 18, "Keepalives under load").
//
// It runs as its own node process (this file is also its entry point): the harness process is
// busy blasting and counting a million prefixes, and a timestamp taken by a busy event loop
// would charge the harness's lateness to the target. The child's own event-loop delay is
// reported too, as the error bar of its clock.
//
// It offers Hold Time 3 s (the RFC 4271 §4.2 minimum), so every target here sends a KEEPALIVE
// every third of it, 1 s (RFC 4271 §4.4), jittered only downwards (RFC 4271 §10: a factor in
// [0.75, 1.0]; BIRD and Tern do, FRR does not jitter): the expected interval is hold/3, and
// lateness = worst gap - hold/3.

import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import * as readline from 'node:readline';
import { BenchSpeaker, type SpeakerOptions } from './speaker.js';

/** Hold Time the watcher offers; 3 s makes the expected KEEPALIVE interval 1 s. */
export const WATCHER_HOLD_TIME = 3;

/** Epoch milliseconds, sub-millisecond resolution, on the same clock in every process. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

/** What the child reports when asked (one JSON line on stdout). */
export interface WatcherReport {
  /** Hold Time in the target's OPEN, and the one in force (the smaller, RFC 4271 §4.2). */
  peerHoldTime: number;
  negotiatedHoldTime: number;
  /** Epoch ms of every message received after Established, in order. */
  arrivals: number[];
  /** Message counts by type name. */
  types: Record<string, number>;
  /** When the report was taken (closes a gap still open at the end). */
  now: number;
  /** The session failed (NOTIFICATION, close): the gaps after that mean nothing. */
  failure: string | null;
  /** Worst event-loop delay of the watcher process itself, ms: the error bar of its timestamps. */
  ownLoopMaxMs: number;
}

export interface KeepaliveResult {
  peerHoldTime: number;
  negotiatedHoldTime: number;
  /** hold/3: the longest interval a target may leave between two messages (RFC 4271 §4.4, §10). */
  expectedIntervalMs: number;
  /** Median gap outside the measured window (target idle): its actual KEEPALIVE interval. */
  idleIntervalMs: number | null;
  /** Worst gap between two messages that overlaps the window (injection start to done). */
  worstGapMs: number | null;
  /** worstGapMs - expectedIntervalMs; the target is 1 s at most. */
  latenessMs: number | null;
  /** Messages received inside the window. */
  messagesInWindow: number;
  /** Messages received in all, by type. */
  types: Record<string, number>;
  ownLoopMaxMs: number;
  failure: string | null;
}

const TYPE_NAMES: Record<number, string> = { 1: 'OPEN', 2: 'UPDATE', 3: 'NOTIFICATION', 4: 'KEEPALIVE', 5: 'ROUTE-REFRESH' };

/**
 * The gaps that matter: every pair of consecutive arrivals whose interval overlaps [start, end]
 * (a gap that began before the injection and ended during it counts), and the gap still open at
 * report time if nothing arrived after `end`. Pure, so the test can check it on made-up clocks.
 */
export function keepaliveGaps(rep: WatcherReport, window: { start: number; end: number }): KeepaliveResult {
  const expected = rep.negotiatedHoldTime > 0 ? (rep.negotiatedHoldTime * 1000) / 3 : NaN;
  const a = rep.arrivals;
  let worst: number | null = null;
  let inWindow = 0;
  const idle: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] >= window.start && a[i] <= window.end) inWindow++;
    if (i === 0) continue;
    const gap = a[i] - a[i - 1];
    if (a[i] >= window.start && a[i - 1] <= window.end) worst = Math.max(worst ?? 0, gap);
    else idle.push(gap);
  }
  const last = a.length ? a[a.length - 1] : undefined;
  if (last !== undefined && last <= window.end && rep.now > window.start) worst = Math.max(worst ?? 0, rep.now - Math.max(last, 0));
  idle.sort((x, y) => x - y);
  const r1 = (x: number): number => Math.round(x * 10) / 10;
  return {
    peerHoldTime: rep.peerHoldTime,
    negotiatedHoldTime: rep.negotiatedHoldTime,
    expectedIntervalMs: r1(expected),
    idleIntervalMs: idle.length ? r1(idle[idle.length >> 1]) : null,
    worstGapMs: worst === null ? null : r1(worst),
    latenessMs: worst === null || Number.isNaN(expected) ? null : r1(worst - expected),
    messagesInWindow: inWindow,
    types: rep.types,
    ownLoopMaxMs: rep.ownLoopMaxMs,
    failure: rep.failure,
  };
}

export interface WatcherArgs {
  host: string;
  port: number;
  localAddress: string;
  myAs: number;
  bgpId: string;
  family: SpeakerOptions['family'];
  deadline: number;
}

/** The parent's handle on the watcher child. */
export class Watcher {
  private constructor(
    private readonly child: ChildProcess,
    private readonly lines: AsyncIterator<string>,
  ) {}

  /** Starts the child and resolves once its session is Established (or rejects with why not). */
  static async start(args: WatcherArgs): Promise<Watcher> {
    const child = spawn(process.execPath, [path.join(__dirname, 'watcher.js'), JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const w = new Watcher(child, lines);
    const first = await lines.next();
    const msg = first.done ? { error: 'watcher exited before its session came up' } : (JSON.parse(first.value) as { error?: string });
    if (msg.error) {
      w.kill();
      throw new Error(`watcher: ${msg.error}`);
    }
    return w;
  }

  /** Asks the child for its timestamps; it closes its session and exits. */
  async report(): Promise<WatcherReport> {
    this.child.stdin?.write('report\n');
    const r = await this.lines.next();
    if (r.done) throw new Error('watcher exited without a report');
    return JSON.parse(r.value) as WatcherReport;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** The child: hold the session, timestamp every message, report on "report". */
async function child(args: WatcherArgs): Promise<void> {
  const arrivals: number[] = [];
  const types: Record<string, number> = {};
  let up = false;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let speaker: BenchSpeaker;
  try {
    speaker = await BenchSpeaker.connect({
      ...args,
      name: 'watcher',
      holdTime: WATCHER_HOLD_TIME,
      onMessage: (type) => {
        if (!up) return; // OPEN and the first KEEPALIVE are the handshake, not the rhythm
        arrivals.push(epochMs());
        const n = TYPE_NAMES[type] ?? String(type);
        types[n] = (types[n] ?? 0) + 1;
      },
    });
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
    process.exit(1);
  }
  up = true;
  process.stdout.write(`${JSON.stringify({ established: true })}\n`);
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.trim() !== 'report') continue;
    const rep: WatcherReport = {
      peerHoldTime: speaker.peerHoldTime,
      negotiatedHoldTime: speaker.negotiatedHoldTime,
      arrivals,
      types,
      now: epochMs(),
      failure: speaker.failure,
      // The histogram counts a tick as the time between two ticks: take off its resolution.
      ownLoopMaxMs: Math.round(Math.max(0, loop.max / 1e6 - 10) * 10) / 10,
    };
    process.stdout.write(`${JSON.stringify(rep)}\n`, () => {
      speaker.close();
      setTimeout(() => process.exit(0), 300);
    });
    return;
  }
  speaker.close(); // stdin closed: the parent is gone
  process.exit(0);
}

if (require.main === module) {
  child(JSON.parse(process.argv[2] ?? '{}') as WatcherArgs).catch((e: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: String(e) })}\n`);
    process.exit(1);
  });
}
