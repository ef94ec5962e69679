// Event-replay harness for the BFD state machine: reads test/bgp/fixtures/bfd/*.bfd (format in the
// README there), feeds each case's events to a fresh BfdFsm and compares a one-line summary of
// every action list, as test/bgp/fsm-replay.ts does for the BGP FSM (the format and the replay
// loop are ../replay-steps.ts).

import { readFileSync } from 'node:fs';
import { BfdFsm, type BfdAction, type BfdEvent, type BfdTimers } from '../../../bgp/bfd/fsm.js';
import { type BfdState, STATE_NAMES, type BfdPacket } from '../../../bgp/bfd/packet.js';
import { parseCases, replaySteps, type Step } from '../replay-steps.js';

export interface Case {
  name: string;
  timers: BfdTimers;
  /** `! auth=keyed|meticulous`: Keyed SHA1 (type 4) or Meticulous Keyed SHA1 (type 5), Key ID 1. */
  auth?: { type: number; keyId: number };
  steps: Step[];
}

/** Local discriminator of every replayed session. */
export const LOCAL_DISCR = 1;
export const BASE_TIMERS: BfdTimers = { minTxMs: 100, minRxMs: 100, multiplier: 3 };

export function parseFixture(text: string): Case[] {
  return parseCases<Case>(
    text,
    (name) => ({ name, timers: { ...BASE_TIMERS }, steps: [] }),
    (cur, words) => {
      const a = args(words);
      cur.timers = { minTxMs: num(a.tx, cur.timers.minTxMs), minRxMs: num(a.rx, cur.timers.minRxMs), multiplier: num(a.mult, cur.timers.multiplier) };
      if (a.auth) cur.auth = { type: a.auth === 'meticulous' ? 5 : 4, keyId: 1 };
    },
  );
}

const num = (v: string | undefined, d: number): number => (v === undefined ? d : Number(v));
function args(words: string[]): Record<string, string> {
  const a: Record<string, string> = {};
  for (const w of words) {
    const [k, v] = w.split('=');
    a[k] = v ?? 'true';
  }
  return a;
}

/**
 * `Receive Up my=2 your=1 tx=100 rx=100 mult=3 P F auth` (intervals in ms). Authenticated:
 * `seq=N [type=4|5] [keyid=1] [badsig]` (digest verified unless badsig).
 */
export function eventFrom(text: string): BfdEvent {
  const [type, ...rest] = text.split(/\s+/);
  if (type === 'Receive') {
    const [st, ...kv] = rest;
    const a = args(kv);
    const state = STATE_NAMES.indexOf(st as (typeof STATE_NAMES)[number]);
    if (state < 0) throw new Error(`bad state ${st}`);
    const packet: BfdPacket = {
      version: 1,
      diag: num(a.diag, 0),
      state: state as BfdState,
      poll: a.P === 'true',
      final: a.F === 'true',
      cpi: false,
      demand: false,
      multipoint: false,
      detectMult: num(a.mult, 3),
      myDiscr: num(a.my, 2),
      yourDiscr: num(a.your, LOCAL_DISCR),
      desiredMinTx: num(a.tx, 100) * 1000,
      requiredMinRx: num(a.rx, 100) * 1000,
      requiredMinEchoRx: 0,
      auth: a.auth || a.seq ? { type: num(a.type, 4), keyId: num(a.keyid, 1), seq: num(a.seq, 1), value: Buffer.alloc(20) } : undefined,
    };
    return { type, packet, authenticated: a.seq !== undefined && a.badsig === undefined };
  }
  if (type === 'SetTimers') {
    const a = args(rest);
    return { type, timers: { minTxMs: num(a.tx, 100), minRxMs: num(a.rx, 100), multiplier: num(a.mult, 3) } };
  }
  return { type } as BfdEvent;
}

/** `send Up your=2 tx=100 rx=100 P diag=3` (intervals in ms, diag and P/F only when set). */
export function summarize(a: BfdAction): string {
  switch (a.type) {
    case 'send': {
      const p = a.packet;
      const flags = `${p.poll ? ' P' : ''}${p.final ? ' F' : ''}${p.diag ? ` diag=${p.diag}` : ''}${p.auth ? ` auth=${p.auth.type}/${p.auth.keyId} seq=${p.auth.seq}` : ''}`;
      return `send ${STATE_NAMES[p.state]} your=${p.yourDiscr} tx=${p.desiredMinTx / 1000} rx=${p.requiredMinRx / 1000} mult=${p.detectMult}${flags}`;
    }
    case 'armTimer':
      return `arm ${a.timer} ${a.ms}`;
    case 'stopTimer':
      return `stop ${a.timer}`;
    case 'stateChange':
      return `${a.from}>${a.to}${a.diag ? ` diag=${a.diag}` : ''}${a.remoteAdminDown ? ' remote-admin-down' : ''}`;
  }
}

/** Runs one case; returns the mismatches as readable lines (empty = pass). */
export function runCase(c: Case, file: string, record?: string[]): string[] {
  // No jitter: random() = 0 keeps the full interval, so timer values replay exactly.
  const fsm = new BfdFsm(LOCAL_DISCR, c.timers, { random: () => 0, auth: c.auth });
  return replaySteps(c, file, { handle: (text, now) => fsm.handle(eventFrom(text), now).map(summarize).join(' | '), state: () => fsm.stateName }, record);
}

export function loadFixture(path: string): Case[] {
  return parseFixture(readFileSync(path, 'utf8'));
}
