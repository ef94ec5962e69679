// The test's side of raw-speaker.ts: start the scripted speaker in a namespace, open sessions on
// it, send bytes, and wait for what Tern sent back (read from the raw octets).

import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { type Lab, onLines } from './lab.js';

export const RAW_SPEAKER = path.resolve(__dirname, 'raw-speaker.js');

export interface RawEvent {
  ev: 'listening' | 'accepted' | 'established' | 'closed' | 'error' | 'msg';
  id: string;
  type?: number;
  len?: number;
  hex?: string;
  error?: string;
}

/** A session raw-speaker.ts brings up on addr:179 when Tern connects. */
export interface RawSession {
  id: string;
  addr: string;
  as: number;
  routerId: string;
  /** Advertise the RFC 6793 capability (default true); off makes this a 2-octet speaker. */
  as4?: boolean;
  /** Advertise RFC 8654 Extended Message. */
  extended?: boolean;
  /** Offer IPv6 unicast too (RFC 4760 MP: AFI 2 SAFI 1), for a session over IPv6. */
  v6?: boolean;
  /** Send these bytes instead of a well-formed OPEN (OPEN-stage cases). */
  openHex?: string;
}

export class RawSpeaker {
  readonly events: RawEvent[] = [];
  private waiters = new Set<{ pred: (e: RawEvent) => boolean; resolve: (e: RawEvent) => void }>();

  constructor(readonly child: ChildProcess) {
    onLines(child.stdout, (line) => {
      if (!line.trim()) return;
      const e = JSON.parse(line) as RawEvent;
      this.events.push(e);
      for (const w of this.waiters) {
        if (!w.pred(e)) continue;
        this.waiters.delete(w);
        w.resolve(e);
      }
    });
  }

  private cmd(o: Record<string, unknown>): void {
    this.child.stdin!.write(JSON.stringify(o) + '\n');
  }

  listen(s: RawSession): Promise<RawEvent> {
    this.cmd({ op: 'listen', ...s });
    return this.wait((e) => e.id === s.id && (e.ev === 'listening' || e.ev === 'error'), 5000, `${s.id} listening`);
  }

  send(id: string, bytes: Buffer | Buffer[]): void {
    this.cmd({ op: 'send', id, hex: Buffer.concat(Array.isArray(bytes) ? bytes : [bytes]).toString('hex') });
  }

  /** Events of one session so far. */
  of(id: string): RawEvent[] {
    return this.events.filter((e) => e.id === id);
  }

  /** Waits for an event matching `pred` from index `since` on (already seen ones count). */
  wait(pred: (e: RawEvent) => boolean, timeoutMs: number, what: string, since = 0): Promise<RawEvent> {
    const seen = this.events.slice(since).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (e: RawEvent) => (clearTimeout(timer), resolve(e)) };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`raw speaker: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }
}

/** Start the scripted speaker in `host` (one process serves every session of the suite). */
export function startRawSpeaker(lab: Lab, host: string): RawSpeaker {
  const child = lab.spawn(host, process.execPath, [RAW_SPEAKER], { stdin: true });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[raw-speaker] ${d.toString()}`));
  return new RawSpeaker(child);
}
