// The BFD state machine without sockets: RFC 5880 §6.8 event-replay fixtures
// (test/bgp/fixtures/bfd/*.bfd), the RFC 5880 §6.8.7 jitter bounds and a two-session handshake.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BfdFsm, type BfdAction } from '../../../bgp/bfd/fsm.js';
import { loadFixture, runCase } from './replay.js';

const FIXTURES = join(__dirname, '../../../../test/bgp/fixtures/bfd');

for (const file of readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.bfd'))
  .sort()) {
  for (const c of loadFixture(join(FIXTURES, file))) {
    test(`RFC 5880 §6.8 replay ${file}: ${c.name}`, () => {
      const errs = runCase(c, file);
      assert.equal(errs.length, 0, errs.join('\n'));
    });
  }
}

test('RFC 5880 §6.8.7: transmit jitter stays within 75-100% (75-90% with DetectMult 1)', () => {
  for (const [mult, lo, hi] of [
    [3, 75, 100],
    [1, 75, 90],
  ]) {
    for (const r of [0, 0.5, 0.999999]) {
      const f = new BfdFsm(1, { minTxMs: 100, minRxMs: 100, multiplier: mult }, { random: () => r });
      const arm = f.handle({ type: 'Start' }, 0).find((a) => a.type === 'armTimer' && a.timer === 'tx');
      assert.ok(arm && arm.type === 'armTimer');
      // Not Up yet: the 1 s slow rate of RFC 5880 §6.8.3 is the base.
      assert.ok(arm.ms >= lo * 10 && arm.ms <= hi * 10, `mult ${mult} r ${r}: ${arm.ms} ms`);
    }
  }
});

test('RFC 5880 §6.2: two sessions wired back to back reach Up and agree on 100 ms after the Poll Sequence', () => {
  const a = new BfdFsm(11, { minTxMs: 100, minRxMs: 100, multiplier: 3 }, { random: () => 0 });
  const b = new BfdFsm(22, { minTxMs: 100, minRxMs: 100, multiplier: 3 }, { random: () => 0 });
  // Deliver every packet each side sends to the other until nothing is left in flight.
  const queue: { to: BfdFsm; acts: BfdAction[] }[] = [
    { to: b, acts: a.handle({ type: 'Start' }, 0) },
    { to: a, acts: b.handle({ type: 'Start' }, 0) },
  ];
  for (let i = 0; queue.length && i < 50; i++) {
    const { to, acts } = queue.shift() as { to: BfdFsm; acts: BfdAction[] };
    for (const act of acts) {
      if (act.type === 'send') queue.push({ to: to === a ? b : a, acts: to.handle({ type: 'Receive', packet: act.packet }, i) });
    }
  }
  // Periodic packets finish the Poll Sequences.
  for (let i = 0; i < 3; i++) {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ]) {
      for (const act of from.handle({ type: 'TxTimer_Expires' }, 100 + i)) {
        if (act.type !== 'send') continue;
        for (const r of to.handle({ type: 'Receive', packet: act.packet }, 100 + i)) {
          if (r.type === 'send') from.handle({ type: 'Receive', packet: r.packet }, 100 + i);
        }
      }
    }
  }
  for (const f of [a, b]) {
    assert.equal(f.stateName, 'Up');
    assert.equal(f.pollActive, false);
    assert.equal(f.txIntervalUs(), 100_000);
    assert.equal(f.detectionTimeUs(), 300_000);
  }
});
