// Event-replay harness for the FSM: reads test/bgp/fixtures/fsm/*.fsm (format in README there),
// feeds each case's events to a fresh Fsm and compares a one-line summary of every action list
// (the format and the replay loop are replay-steps.ts, shared with the BFD replay).

import { readFileSync } from 'node:fs';
import { resolveConfig, type SessionConfig } from '../../bgp/fsm/config.js';
import { Fsm, type FsmAction, type FsmEvent } from '../../bgp/fsm/fsm.js';
import { BgpError, CapCode, MsgType, type Capability, type OpenMessage, type UpdateMessage } from '../../bgp/codec/types.js';
import { parseCases, replaySteps, type Step } from './replay-steps.js';

export interface Case {
  name: string;
  cfg: Partial<SessionConfig>;
  steps: Step[];
}

export const BASE_CONFIG: SessionConfig = {
  peerAddress: '192.0.2.2',
  peerAs: 65002,
  localAs: 65001,
  routerId: '10.0.0.1',
  holdTime: 90,
  connectRetryTime: 120,
  families: ['ipv4', 'ipv6'],
  noJitter: true,
};

export function parseFixture(text: string): Case[] {
  return parseCases<Case>(
    text,
    (name) => ({ name, cfg: {}, steps: [] }),
    (cur, words) => {
      for (const kv of words) {
        const [k, v] = kv.split('=');
        const val = v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : k === 'families' ? v.split(',') : v;
        // `a.b=v` sets a nested field (e.g. gracefulRestart.restartTime=120).
        const path = k.split('.');
        let o = cur.cfg as Record<string, unknown>;
        for (const p of path.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
        o[path[path.length - 1]] = val;
      }
    },
  );
}

const CAPS: Record<string, Capability> = {
  mp4: { code: CapCode.MULTIPROTOCOL, afi: 1, safi: 1 },
  mp6: { code: CapCode.MULTIPROTOCOL, afi: 2, safi: 1 },
  rr: { code: CapCode.ROUTE_REFRESH },
  gr: { code: CapCode.GRACEFUL_RESTART, restarting: false, notification: true, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] },
  grhelper: { code: CapCode.GRACEFUL_RESTART, restarting: true, notification: true, restartTime: 120, families: [] },
  grnon: {
    code: CapCode.GRACEFUL_RESTART,
    restarting: false,
    notification: false,
    restartTime: 120,
    families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
  },
};

/** `BGPOpen as=65002 id=10.0.0.2 hold=90 version=4 caps=mp4,mp6,as4` with those defaults. */
export function openFrom(args: Record<string, string>): OpenMessage {
  const as = Number(args.as ?? 65002);
  const caps = (args.caps ?? 'mp4,mp6,as4,rr')
    .split(',')
    .filter(Boolean)
    .map((c) => (c === 'as4' ? ({ code: CapCode.AS4, asn: as } as Capability) : CAPS[c]));
  return {
    type: MsgType.OPEN,
    version: Number(args.version ?? 4),
    myAs: Number(args.myas ?? (as > 0xffff ? 23456 : as)),
    holdTime: Number(args.hold ?? 90),
    bgpId: args.id ?? '10.0.0.2',
    capabilities: caps,
    otherParams: [],
  };
}

const EMPTY_UPDATE = { type: MsgType.UPDATE } as unknown as UpdateMessage;

export function eventFrom(text: string): FsmEvent {
  const [type, ...rest] = text.split(/\s+/);
  const args: Record<string, string> = {};
  for (const kv of rest) {
    const [k, v] = kv.split('=');
    args[k] = v;
  }
  const [code, sub] = (args.err ?? '0/0').split('/').map(Number);
  switch (type) {
    case 'BGPOpen':
      return { type, open: openFrom(args) };
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
    case 'UpdateMsgErr':
      return { type, error: new BgpError(code, sub, 'test') };
    case 'NotifMsg':
    case 'NotifMsgVerErr':
      return { type, notification: { type: MsgType.NOTIFICATION, code, subcode: sub, data: Buffer.alloc(0) } };
    case 'ManualStop':
    case 'AutomaticStop':
      return args.err ? { type, notification: { code, subcode: sub } } : { type };
    case 'UpdateMsg':
      return { type, update: EMPTY_UPDATE };
    case 'RouteRefreshMsg':
      return { type, msg: { type: MsgType.ROUTE_REFRESH, afi: 1, safi: 1, subtype: 0 } };
    default:
      return { type } as FsmEvent;
  }
}

const MSG_NAME = ['', 'OPEN', 'UPDATE', 'NOTIFICATION', 'KEEPALIVE', 'ROUTE-REFRESH'];

export function summarize(a: FsmAction): string {
  switch (a.type) {
    case 'connect':
      return 'connect';
    case 'dropTcp':
      return 'drop';
    case 'send':
      return a.msg.type === MsgType.NOTIFICATION ? `send NOTIFICATION ${a.msg.code}/${a.msg.subcode}` : `send ${MSG_NAME[a.msg.type]}`;
    case 'armTimer':
      return `arm ${a.timer} ${a.ms}`;
    case 'stopTimer':
      return `stop ${a.timer}`;
    case 'stateChange':
      return `${a.from}>${a.to}`;
    case 'established':
      return 'established';
    case 'sessionDown':
      return a.reason.gracefulRestart ? 'down gr' : 'down';
    case 'deliverUpdate':
      return 'update';
    case 'deliverRouteRefresh':
      return 'refresh';
  }
}

/** Runs one case; returns the mismatches as readable lines (empty = pass). */
export function runCase(c: Case, file: string, record?: string[]): string[] {
  const fsm = new Fsm(resolveConfig({ ...BASE_CONFIG, ...c.cfg }));
  return replaySteps(c, file, { handle: (text, now) => fsm.handle(eventFrom(text), now).map(summarize).join(' | '), state: () => fsm.state }, record);
}

export function loadFixture(path: string): Case[] {
  return parseFixture(readFileSync(path, 'utf8'));
}
