// The RFC 4271 §8 FSM without sockets: event-replay fixtures (test/bgp/fixtures/fsm/*.fsm, one
// file per state) plus tables for OPEN negotiation, collision resolution and timer arithmetic.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { collisionWinner } from '../../bgp/fsm/collision.js';
import { resolveConfig } from '../../bgp/fsm/config.js';
import { Fsm, type FsmAction, type FsmEvent, type State } from '../../bgp/fsm/fsm.js';
import { buildOpen, negotiate } from '../../bgp/fsm/negotiate.js';
import { BgpError, CapCode, DEFAULT_CONTEXT } from '../../bgp/codec/types.js';
import { encodeMessage } from '../../bgp/codec/index.js';
import { BASE_CONFIG, eventFrom, loadFixture, openFrom, runCase } from './fsm-replay.js';

const FIXTURES = join(__dirname, '../../../test/bgp/fixtures/fsm');
const cfg = (extra = {}) => resolveConfig({ ...BASE_CONFIG, ...extra });

for (const file of readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.fsm'))
  .sort()) {
  for (const c of loadFixture(join(FIXTURES, file))) {
    test(`RFC 4271 §8.2.2 replay ${file}: ${c.name}`, () => {
      const errs = runCase(c, file);
      assert.equal(errs.length, 0, errs.join('\n'));
    });
  }
}

// Drives a fresh FSM into `state` the normal way.
function fsmIn(state: State, extra = {}): Fsm {
  const f = new Fsm(cfg(extra));
  const path: Record<State, string[]> = {
    Idle: [],
    Connect: ['ManualStart'],
    Active: ['ManualStart_with_PassiveTcpEstablishment'],
    OpenSent: ['ManualStart', 'Tcp_CR_Acked'],
    OpenConfirm: ['ManualStart', 'Tcp_CR_Acked', 'BGPOpen'],
    Established: ['ManualStart', 'Tcp_CR_Acked', 'BGPOpen', 'KeepAliveMsg'],
  };
  for (const e of path[state]) f.handle(eventFrom(e), 0);
  assert.equal(f.state, state);
  return f;
}

const ALL_EVENTS = [
  'ManualStart',
  'ManualStop',
  'AutomaticStart',
  'ManualStart_with_PassiveTcpEstablishment',
  'AutomaticStart_with_PassiveTcpEstablishment',
  'AutomaticStop',
  'ConnectRetryTimer_Expires',
  'HoldTimer_Expires',
  'KeepaliveTimer_Expires',
  'DelayOpenTimer_Expires',
  'IdleHoldTimer_Expires',
  'Tcp_CR_Acked',
  'TcpConnectionConfirmed',
  'TcpConnectionFails',
  'BGPOpen',
  'BGPHeaderErr err=1/1',
  'BGPOpenMsgErr err=2/0',
  'OpenCollisionDump',
  'NotifMsgVerErr err=2/1',
  'NotifMsg err=6/4',
  'KeepAliveMsg',
  'UpdateMsg',
  'UpdateMsgErr err=3/1',
  'RouteRefreshMsg',
  'SendHoldTimer_Expires',
];
const STATES: State[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

test('RFC 4271 §8.2.2: every state x event keeps the invariants', () => {
  for (const st of STATES) {
    for (const ev of ALL_EVENTS) {
      const f = fsmIn(st);
      const acts: FsmAction[] = f.handle(eventFrom(ev), 1);
      const where = `${st} + ${ev}`;
      const toIdle = acts.some((a) => a.type === 'stateChange' && a.to === 'Idle');
      // Leaving for Idle always closes the connection and stops the session timers.
      if (toIdle) {
        assert.ok(
          acts.some((a) => a.type === 'dropTcp'),
          `${where}: Idle without dropTcp`,
        );
        for (const t of ['hold', 'keepalive', 'connectRetry', 'delayOpen'] as const) assert.ok(!f.isRunning(t), `${where}: ${t} still running`);
      }
      // A NOTIFICATION is always followed by closing the connection (RFC 4271 §4.5).
      const n = acts.findIndex((a) => a.type === 'send' && a.msg.type === 3);
      if (n >= 0)
        assert.ok(
          acts.slice(n).some((a) => a.type === 'dropTcp'),
          `${where}: NOTIFICATION without drop`,
        );
      // Only Established delivers routes; leaving it always reports sessionDown.
      if (acts.some((a) => a.type === 'deliverUpdate')) assert.equal(st, 'Established', where);
      if (st === 'Established' && toIdle)
        assert.ok(
          acts.some((a) => a.type === 'sessionDown'),
          `${where}: no sessionDown`,
        );
      // An FSM Error carries the RFC 6608 subcode of the state it happened in.
      for (const a of acts) {
        if (a.type === 'send' && a.msg.type === 3 && a.msg.code === 5) {
          assert.equal(a.msg.subcode, { OpenSent: 1, OpenConfirm: 2, Established: 3 }[st as 'OpenSent'], where);
        }
      }
    }
  }
});

test('RFC 6608: unexpected messages get 5/1, 5/2, 5/3 in OpenSent, OpenConfirm, Established', () => {
  const cases: [State, string, number][] = [
    ['OpenSent', 'KeepAliveMsg', 1],
    ['OpenSent', 'UpdateMsg', 1],
    ['OpenConfirm', 'UpdateMsg', 2],
    ['OpenConfirm', 'BGPOpen', 2],
    ['OpenConfirm', 'RouteRefreshMsg', 2],
    ['Established', 'BGPOpen', 3],
  ];
  for (const [st, ev, sub] of cases) {
    const acts = fsmIn(st).handle(eventFrom(ev), 1);
    const n = acts.find((a) => a.type === 'send' && a.msg.type === 3);
    assert.ok(n && n.type === 'send' && n.msg.type === 3, `${st}+${ev}: no NOTIFICATION`);
    assert.deepEqual([n.msg.code, n.msg.subcode], [5, sub], `${st}+${ev}`);
  }
});

test('RFC 4271 §4.2: hold time negotiation and keepalive interval', () => {
  const rows: [ours: number, theirs: number, keepalive: number | undefined, hold: number, ka: number][] = [
    [90, 180, undefined, 90, 30],
    [90, 9, undefined, 9, 3],
    [90, 0, undefined, 0, 0], // zero: no keepalives at all
    [0, 90, undefined, 0, 0],
    [90, 90, 10, 90, 10], // configured keepaliveTime wins when below hold/3
    [90, 9, 10, 9, 3], // but never above hold/3
    [3, 3, undefined, 3, 1],
  ];
  for (const [ours, theirs, ka, hold, kaOut] of rows) {
    const n = negotiate(openFrom({ hold: String(theirs) }), cfg({ holdTime: ours, keepaliveTime: ka }));
    assert.deepEqual([n.holdTime, n.keepaliveTime], [hold, kaOut], `ours ${ours} theirs ${theirs} ka ${ka}`);
  }
});

test('RFC 4271 §6.2 / RFC 6793 / RFC 6286 / RFC 5492: OPEN checks and their NOTIFICATIONs', () => {
  const rows: [string, Record<string, string>, object, number, string?][] = [
    ['version 3', { version: '3' }, {}, 1, '0004'],
    ['wrong AS', { as: '65009' }, {}, 2],
    ['AS 0 (RFC 7607)', { as: '0', myas: '0', caps: 'mp4' }, {}, 2],
    ['AS_TRANS without AS4', { as: '23456', caps: 'mp4' }, { peerAs: 4200000000 }, 2],
    ['zero identifier', { id: '0.0.0.0' }, {}, 3],
    ['iBGP same identifier', { as: '65001', id: '10.0.0.1' }, { peerAs: 65001 }, 3],
    ['hold 1', { hold: '1' }, {}, 6],
    ['no common family', { caps: 'mp6,as4' }, { families: ['ipv4'] }, 7, '0104000100'],
  ];
  for (const [name, open, extra, sub, dataPrefix] of rows) {
    assert.throws(
      () => negotiate(openFrom(open), cfg(extra)),
      (e: unknown) => {
        assert.ok(e instanceof BgpError, name);
        assert.deepEqual([e.code, e.subcode], [2, sub], name);
        if (dataPrefix) assert.ok(e.data.toString('hex').startsWith(dataPrefix), `${name}: data ${e.data.toString('hex')}`);
        return true;
      },
    );
  }
  // Accepted: a 4-octet AS in the capability, My AS = AS_TRANS (RFC 6793 §4.1).
  assert.equal(negotiate(openFrom({ as: '4200000001' }), cfg({ peerAs: 4200000001 })).peerAs, 4200000001);
});

test('RFC 7911 §4 / RFC 8654 / RFC 4724: capability negotiation builds the codec SessionContext', () => {
  const open = openFrom({});
  open.capabilities.push(
    {
      code: CapCode.ADD_PATH,
      families: [
        { afi: 1, safi: 1, sendReceive: 1 },
        { afi: 2, safi: 1, sendReceive: 3 },
      ],
    },
    { code: CapCode.EXTENDED_MESSAGE },
    { code: CapCode.GRACEFUL_RESTART, restarting: true, notification: true, restartTime: 120, families: [{ afi: 2, safi: 1, forwardingPreserved: true }] },
    { code: CapCode.FQDN, hostname: 'node-b', domain: 'cluster' },
  );
  const n = negotiate(open, cfg({ addPath: { send: true, receive: true }, gracefulRestart: { restartTime: 60 } }));
  // The peer only receives ipv4 paths: we send ids there but do not receive them.
  assert.deepEqual(n.context, { as4: true, addPathRx: { ipv4: false, ipv6: true }, addPathTx: { ipv4: true, ipv6: true }, extendedMessage: true, ebgp: true });
  // RFC 7606 §7.9/§7.10: the decoder needs to know whether the peer is external (AS 65002
  // and we are 65001 above; an iBGP peer below).
  assert.equal(negotiate(openFrom({ as: '65001' }), cfg({ peerAs: 65001 })).context.ebgp, false);
  assert.deepEqual(n.gracefulRestart, { restarting: true, notification: true, restartTime: 120, families: [{ family: 'ipv6', forwardingPreserved: true }] });
  assert.deepEqual(n.peerHostname, { hostname: 'node-b', domain: 'cluster' });
  assert.equal(n.routeRefresh, true);
  assert.equal(n.enhancedRouteRefresh, false);
  // Without our own add-path config nothing is negotiated, whatever the peer says.
  assert.deepEqual(negotiate(open, cfg()).context.addPathRx, { ipv4: false, ipv6: false });
  // Our OPEN carries AS_TRANS for a 4-octet AS and the real one in the capability.
  const ours = buildOpen(cfg({ localAs: 4200000000 }));
  assert.equal(ours.myAs, 23456);
  assert.ok(ours.capabilities.some((c) => c.code === CapCode.AS4 && 'asn' in c && c.asn === 4200000000));
});

test('RFC 4271 §6.8 / RFC 6286 §2.3: collision winner by BGP Identifier, then AS', () => {
  assert.equal(collisionWinner('10.0.0.3', '10.0.0.2', 65001, 65002), 'outbound');
  assert.equal(collisionWinner('10.0.0.2', '10.0.0.3', 65001, 65002), 'inbound');
  // Compared as unsigned 32-bit numbers, not as strings: 9.x < 10.x and 200.x > 10.x.
  assert.equal(collisionWinner('9.0.0.1', '10.0.0.1', 1, 2), 'inbound');
  assert.equal(collisionWinner('200.0.0.1', '10.0.0.1', 1, 2), 'outbound');
  assert.equal(collisionWinner('10.0.0.1', '10.0.0.1', 65005, 65002), 'outbound');
  assert.equal(collisionWinner('10.0.0.1', '10.0.0.1', 65001, 65002), 'inbound');
});

test('RFC 4271 §10: ConnectRetry and Keepalive jitter stay within 0.75-1.0', () => {
  for (const r of [0, 0.5, 0.999]) {
    const f = new Fsm(cfg({ noJitter: false }), { random: () => r });
    const acts = f.handle({ type: 'ManualStart' } as FsmEvent, 0);
    const arm = acts.find((a) => a.type === 'armTimer' && a.timer === 'connectRetry');
    assert.ok(arm && arm.type === 'armTimer');
    assert.equal(arm.ms, Math.round(120_000 * (0.75 + 0.25 * r)));
  }
});

test('RFC 9687 §3: SendHoldTime is max(8 minutes, 2 x HoldTime), overridable', () => {
  assert.equal(fsmIn('Established').sendHoldMs, 480_000);
  assert.equal(fsmIn('Established', { holdTime: 600 }).sendHoldMs, 480_000); // peer offered 90
  const f = new Fsm(cfg({ holdTime: 600 }));
  for (const e of ['ManualStart', 'Tcp_CR_Acked', 'BGPOpen hold=300', 'KeepAliveMsg']) f.handle(eventFrom(e), 0);
  assert.equal(f.sendHoldMs, 600_000);
  assert.equal(fsmIn('Established', { sendHoldTimeMs: 500 }).sendHoldMs, 500);
});

test('RFC 4271 §8: random event walks never throw and keep the timer bookkeeping exact', () => {
  // A tiny deterministic PRNG so a failure replays.
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  const TIMERS = ['connectRetry', 'hold', 'keepalive', 'delayOpen', 'idleHold'] as const;
  const EXPIRY: Record<string, (typeof TIMERS)[number]> = {
    ConnectRetryTimer_Expires: 'connectRetry',
    HoldTimer_Expires: 'hold',
    KeepaliveTimer_Expires: 'keepalive',
    DelayOpenTimer_Expires: 'delayOpen',
    IdleHoldTimer_Expires: 'idleHold',
  };
  for (let walk = 0; walk < 2000; walk++) {
    const f = new Fsm(cfg({ delayOpenTime: walk % 3 === 0 ? 5 : 0, noJitter: false }), { random: rnd });
    const model = new Set<string>();
    const trail: string[] = [];
    for (let step = 0; step < 40; step++) {
      const ev = ALL_EVENTS[Math.floor(rnd() * ALL_EVENTS.length)];
      trail.push(ev);
      const before = f.state;
      const t = EXPIRY[ev.split(' ')[0]];
      if (t) model.delete(t);
      const acts = f.handle(eventFrom(ev), step * 1000);
      for (const a of acts) {
        if (a.type === 'armTimer') model.add(a.timer);
        if (a.type === 'stopTimer') model.delete(a.timer);
        if (a.type === 'deliverUpdate') assert.equal(before, 'Established', trail.join(' > '));
        if (a.type === 'armTimer') assert.ok(a.ms > 0, `${a.timer} armed with ${a.ms}`);
      }
      for (const tm of TIMERS) assert.equal(f.isRunning(tm), model.has(tm), `${tm} after ${trail.join(' > ')}`);
      if (f.state === 'Idle') for (const tm of ['connectRetry', 'hold', 'keepalive', 'delayOpen'] as const) assert.ok(!model.has(tm), trail.join(' > '));
      if (f.state === 'Established' || f.state === 'OpenConfirm') assert.ok(f.negotiated, trail.join(' > '));
    }
  }
});

test('RFC 8538 §3 / RFC 9003: ManualStop with a Hard Reset carries the hardened Cease and its text; 6/2 carries the text directly', () => {
  const sent = (f: Fsm, notification: { code: number; subcode: number; shutdownMessage?: string; hardResetOf?: { code: number; subcode: number } }) => {
    const send = f.handle({ type: 'ManualStop', notification }, 0).find((a): a is Extract<FsmAction, { type: 'send' }> => a.type === 'send');
    assert.ok(send, 'a NOTIFICATION is sent');
    return encodeMessage(send.msg, DEFAULT_CONTEXT).subarray(19);
  };
  assert.deepEqual([...sent(fsmIn('Established'), { code: 6, subcode: 9, hardResetOf: { code: 6, subcode: 3 }, shutdownMessage: 'gone' })], [6, 9, 6, 3]);
  assert.deepEqual([...sent(fsmIn('Established'), { code: 6, subcode: 9, shutdownMessage: 'x' })], [6, 9, 6, 4, 1, 0x78]);
  assert.deepEqual([...sent(fsmIn('Established'), { code: 6, subcode: 2, shutdownMessage: 'x' })], [6, 2, 1, 0x78]);
});

test('issue 17: a ManualStop says why in its down reason (config change, SIGTERM), and nothing of it goes on the wire', () => {
  const downOf = (actions: FsmAction[]) => actions.find((a): a is Extract<FsmAction, { type: 'sessionDown' }> => a.type === 'sessionDown');
  for (const state of ['Established', 'OpenConfirm', 'Connect'] as const) {
    const f = fsmIn(state);
    const actions = f.handle({ type: 'ManualStop', notification: { code: 6, subcode: 2, shutdownMessage: 'bye', why: 'ternd stopping (SIGTERM)' } }, 0);
    const text = downOf(actions)?.reason.text ?? (actions.find((a) => a.type === 'stateChange') as { reason?: { text: string } } | undefined)?.reason?.text;
    assert.equal(text, 'ternd stopping (SIGTERM)', state);
    const send = actions.find((a): a is Extract<FsmAction, { type: 'send' }> => a.type === 'send');
    if (send) assert.deepEqual([...encodeMessage(send.msg, DEFAULT_CONTEXT).subarray(19)], [6, 2, 3, 0x62, 0x79, 0x65], 'RFC 9003 text only');
  }
  // Without a reason it is still the operator's stop.
  const f = fsmIn('Established');
  assert.equal(downOf(f.handle({ type: 'ManualStop' }, 0))?.reason.text, 'stopped by operator');
});
