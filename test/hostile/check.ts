// Runs one hostile case on the in-process bench (test/hostile/harness.ts) and checks its RFC
// outcome and what the bystander is sent. Shared by replay.test.ts and the session fuzzer.

import assert from 'node:assert/strict';
import { decodeMessage } from '../../bgp/codec/index.js';
import { MsgType } from '../../bgp/codec/types.js';
import { attr, updateOf } from '../codec/helpers.js';
import { KEEPALIVE, MARK_CANARY, MARK_HOSTILE, canary, casePrefix, helloOpen, type CaseEnv, type HostileCase } from './cases.js';
import {
  BYSTANDER,
  BYSTANDER_PREFIX,
  HOSTILE_ADDR,
  HOSTILE_ADDR6,
  HOSTILE_AS,
  SessionHarness,
  TERN_ADDR6_HOSTILE,
  TERN_ADDR_HOSTILE,
  TERN_ID,
  TERN_ID6,
} from './harness.js';
import { asPathOf, type RawUpdate } from './wire-read.js';
import { parseIpv6 } from '../../bgp/codec/address.js';

const v4 = (a: string): number[] => a.split('.').map(Number);
const v6 = (a: string): number[] => [...parseIpv6(a)!];

/** The communities of a sent UPDATE, as numbers. */
const communities = (u: RawUpdate | undefined): number[] => {
  const a = u?.attrs.find((x) => x.type === 8);
  return a ? Array.from({ length: a.value.length / 4 }, (_, i) => a.value.readUInt32BE(4 * i)) : [];
};

/** Bring the hostile session up, announce the bystander's route and the canary. */
export function openCase(c: HostileCase, n: number): { h: SessionHarness; e: CaseEnv } {
  const e: CaseEnv = {
    n,
    addr: v4(HOSTILE_ADDR),
    as: HOSTILE_AS,
    ternAddr: v4(TERN_ADDR_HOSTILE),
    ternId: v4(TERN_ID),
    addr6: v6(HOSTILE_ADDR6),
    ternAddr6: v6(TERN_ADDR6_HOSTILE),
    ternId6: v6(TERN_ID6),
  };
  const h = new SessionHarness({ ipv6: c.session?.ipv6 });
  const prefixOf = (x: CaseEnv): string => casePrefix(c, x.n);
  const bys = decodeMessage(
    updateOf([], Buffer.concat([attr(0x40, 1, [0]), attr(0x40, 2, [2, 1, 0xfa, 0x56, 0xea, 0x01]), attr(0x40, 3, [198, 18, 150, 2])]), [24, 198, 19, 150]),
    { as4: true, addPathRx: { ipv4: false, ipv6: false }, addPathTx: { ipv4: false, ipv6: false }, extendedMessage: false },
  );
  if (bys.type !== MsgType.UPDATE) throw new Error('bystander UPDATE');
  h.rib.ingest(BYSTANDER.id, bys);
  if (c.open) return { h, e };
  h.feed(helloOpen(e, c.session));
  h.feed(KEEPALIVE);
  assert.ok(h.established, `hostile session not established: ${JSON.stringify(h.notification)}`);
  h.feed(canary(e, c.session));
  const before = h.bystanderView().get(prefixOf(e));
  assert.ok(before, 'the canary reached the bystander');
  assert.deepEqual(communities(before), [MARK_CANARY]);
  return { h, e };
}

/** Checks one case's outcome on a harness the case's bytes went through. */
export function checkOutcome(c: HostileCase, h: SessionHarness, e: CaseEnv): void {
  const prefixOf = (x: CaseEnv): string => casePrefix(c, x.n);
  const view = h.bystanderView();
  const got = view.get(prefixOf(e));
  const x = c.expect;
  if (x.kind === 'notify') {
    assert.deepEqual(h.notification, { code: x.code, subcode: x.subcode }, `${c.rule}`);
    assert.ok(h.dropped, 'the connection is closed after the NOTIFICATION (RFC 4271 §6)');
    assert.equal(got, undefined, "the reset session's routes are withdrawn from the bystander");
  } else {
    assert.equal(h.notification, undefined, `no NOTIFICATION expected (${c.rule}), got ${JSON.stringify(h.notification)}`);
    assert.equal(h.state, 'Established');
    // RFC 4271 §6.3 "the error SHOULD be logged": one notice (the daemon logs it, rate limited)
    // and one count per route ignored for its next hop; none for any other cause.
    const ignored = x.kind === 'withdraw' && x.nextHop;
    assert.equal(h.rib.peerCounters('hostile')['bad-next-hop'], ignored ? 1 : 0, 'bad-next-hop count');
    const notes = h.rib.takeNotices().filter((n) => n.peer === 'hostile' && n.reason === 'bad-next-hop');
    assert.deepEqual(
      notes.map((n) => n.prefix),
      ignored ? [prefixOf(e)] : [],
      'bad-next-hop notices, for the log',
    );
    if (x.kind === 'withdraw' || c.onward?.notSent) assert.equal(got, undefined, `${prefixOf(e)} must be withdrawn from the bystander (${c.rule})`);
    else {
      assert.ok(got, `${prefixOf(e)} must still reach the bystander (${c.rule})`);
      const updates = (c.messages?.(e) ?? []).some((m) => m[18] === 2);
      assert.ok(communities(got).includes(updates ? MARK_HOSTILE : MARK_CANARY), `the bystander has the hostile UPDATE's version: ${communities(got)}`);
      if (c.id === 'ad-community-twice') assert.deepEqual(communities(got), [MARK_HOSTILE], 'only the first COMMUNITIES counts (RFC 7606 §3.g)');
      for (const t of c.onward?.absent ?? []) assert.ok(!got.attrs.some((a) => a.type === t), `attribute ${t} must not be passed on`);
      for (const p of c.onward?.present ?? []) {
        const a: RawUpdate['attrs'][number] | undefined = got.attrs.find((y) => y.type === p.type);
        assert.ok(a, `attribute ${p.type} must be passed on`);
        assert.equal(a.flags.toString(16), p.flags.toString(16), `flags of attribute ${p.type}`);
      }
      if (c.onward?.asPath) assert.deepEqual(asPathOf(got.attrs.find((y) => y.type === 2)), c.onward.asPath);
    }
  }
  // Whatever the hostile peer did, the bystander's route is still best, and no UPDATE to the
  // bystander breaks its RFCs: within 4096 bytes (RFC 8654 §4), flag low bits zero (RFC 4271 §4.3).
  const best = h.rib.lookup(BYSTANDER_PREFIX).find((v) => v.best);
  assert.ok(best, "the bystander's route is still in the Loc-RIB");
  for (const m of h.sentToBystander) assert.ok(m.length <= 4096, `an UPDATE of ${m.length} bytes to a peer without RFC 8654`);
}
