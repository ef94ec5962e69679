// Session-level fuzzing (issue 15): random byte streams *after Established* through the pieces
// ternd joins (Framer -> FSM -> RIB, test/hostile/harness.ts), sans-IO, a bystander eBGP peer on
// the same RIB. Streams mix well-formed UPDATEs, structure-aware mutations of them
// (test/fuzz/structured.ts), byte-level damage, KEEPALIVEs and ROUTE-REFRESHes, cut at random
// TCP boundaries. After every chunk:
//   1. no exception escapes (RFC 4271 §6: bad input ends in a NOTIFICATION or an RFC 7606 action);
//   2. the outcome is clean: either the session is Established, sent nothing but KEEPALIVE
//      and UPDATE, and every malformed UPDATE it took ended in an RFC 7606 action that keeps the
//      session, or it sent exactly one NOTIFICATION with a code/subcode from the RFC 4271 §4.5,
//      RFC 6608, RFC 7313 registries and closed;
//   3. other peers untouched: the bystander's own route stays best, and it never sees a prefix
//      of the hostile peer's after that session is down (RFC 4271 §9.1.3);
//   4. the RIB is consistent: what the bystander rebuilds from the UPDATEs it was sent equals the
//      Adj-RIB-Out the RIB reports for it, and each hostile prefix it holds is a valid path in
//      the hostile peer's Adj-RIB-In (RFC 4271 §9.2);
//   5. nothing sent breaks the bystander's RFCs (RFC 8654 §4 size, RFC 4271 §4.3 flag bits),
//      while those defects are not on test/hostile/pending.ts.
// A failing stream is saved as test/fixtures/fuzz/session-*.hex and replayed first next time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../../bench/prng.js';
import { msgOf } from '../codec/helpers.js';
import { BYSTANDER, BYSTANDER_PREFIX, type SessionHarness } from '../hostile/harness.js';
import { KEEPALIVE } from '../hostile/cases.js';
import { PENDING_DEFECT_FIXES } from '../hostile/pending.js';
import { openCase } from '../hostile/check.js';
import { readUpdate } from '../hostile/wire-read.js';
import { genUpdate, mutateStructured, serialize, type Rand } from './structured.js';
import { FUZZ_SECONDS, fuzzSeed, guarded, loadFailures } from './support.js';

const SEED = fuzzSeed();
const LEGAL: Record<number, number[]> = {
  1: [1, 2, 3],
  2: [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11],
  3: [1, 2, 3, 4, 5, 6, 8, 9, 10, 11],
  4: [0],
  5: [0, 1, 2, 3],
  6: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  7: [1],
};

/** One message of a stream. */
function nextMessage(r: Rand, as4: boolean): Buffer {
  const k = r();
  if (k < 0.55) return serialize(genUpdate(r, { as4, peerAs: 65151 }));
  if (k < 0.8) {
    let u = genUpdate(r, { as4, peerAs: 65151 });
    for (let i = 0, n = 1 + Math.floor(r() * 2); i < n; i++) u = mutateStructured(r, u);
    return serialize(u);
  }
  if (k < 0.87) return KEEPALIVE;
  if (k < 0.92) return msgOf(5, [0, r() < 0.8 ? 1 : 2, 0, 1]); // ROUTE-REFRESH: IPv4 or IPv6
  if (k < 0.98) return msgOf(5, [0, 1, Math.floor(r() * 4), 1]); // with a BoRR/EoRR subtype
  // byte-level damage somewhere past the header
  const b = serialize(genUpdate(r, { as4, peerAs: 65151 }));
  b[19 + Math.floor(r() * (b.length - 19))] = Math.floor(r() * 256);
  return b;
}

const hostileOf = (prefix: string): boolean => prefix.startsWith('10.15.') || prefix.startsWith('2001:db8:');

/** Streams in which an IPv6 route reached the bystander (the MP path is exercised, not just decoded). */
let v6Reached = 0;

function invariants(h: SessionHarness): boolean {
  // 2. a clean outcome
  const notes = h.sentToHostile.filter((m) => m[18] === 3);
  if (h.notification) {
    assert.equal(notes.length, 1, 'exactly one NOTIFICATION');
    assert.ok(
      LEGAL[h.notification.code]?.includes(h.notification.subcode),
      `NOTIFICATION ${h.notification.code}/${h.notification.subcode} is not in the registries`,
    );
    assert.ok(h.dropped, 'the connection is closed after a NOTIFICATION');
    assert.notEqual(h.state, 'Established');
  } else {
    assert.equal(h.state, 'Established', `the session left Established without a NOTIFICATION`);
    assert.ok(
      h.sentToHostile.every((m) => m[18] === 1 || m[18] === 2 || m[18] === 4 || m[18] === 5),
      'only OPEN, UPDATE, KEEPALIVE, ROUTE-REFRESH sent',
    );
  }
  // Short of a reset, a malformed UPDATE ends in one of the two RFC 7606 §2 actions that keep
  // the session (a 'session-reset' must have become the NOTIFICATION above).
  for (const a of h.actions) assert.ok(a === 'treat-as-withdraw' || a === 'attribute-discard', `UPDATE delivered with action ${a}`);
  // 3, 4. the bystander and the RIB
  const view = h.bystanderView();
  const best = h.rib.lookup(BYSTANDER_PREFIX).find((v) => v.best);
  assert.ok(best, "the bystander's route left the Loc-RIB");
  const out = new Set(h.rib.adjRibOut(BYSTANDER.id).map((e) => e.prefix));
  assert.deepEqual([...view.keys()].sort(), [...out].sort(), "bystander's rebuilt table != the Adj-RIB-Out the RIB reports");
  const valid = new Set(
    h.rib
      .adjRibIn('hostile')
      .filter((e) => e.valid)
      .map((e) => e.prefix),
  );
  for (const p of view.keys()) {
    if (!hostileOf(p)) continue;
    assert.ok(!h.dropped, `${p} still at the bystander after the hostile session went down`);
    assert.ok(valid.has(p), `${p} at the bystander is not a valid path in the hostile Adj-RIB-In`);
  }
  // 5. what the bystander is sent
  for (const m of h.sentToBystander) {
    if (!PENDING_DEFECT_FIXES.has('ok-huge-aspath')) assert.ok(m.length <= 4096, `${m.length}-byte UPDATE to a peer without RFC 8654`);
    if (!PENDING_DEFECT_FIXES.has('ok-flags-low-bits'))
      for (const a of readUpdate(m)?.attrs ?? []) assert.equal(a.flags & 0x0f, 0, `attribute ${a.type} sent with flags ${a.flags.toString(16)}`);
  }
  return [...view.keys()].some((p) => p.includes(':'));
}

/** Feeds one stream (already-made chunks) to a fresh session; checks after every chunk. True if it was reset. */
function runStream(chunks: Buffer[], as4: boolean, v6: boolean): boolean {
  const { h } = openCase({ id: 'fuzz', source: '', shape: '', rule: '', expect: { kind: 'accept' }, session: { as4, v6 }, messages: () => [] }, 0);
  let sawV6 = false;
  try {
    for (const c of chunks) {
      h.feed(c);
      sawV6 = invariants(h) || sawV6;
      if (h.dropped) return true;
    }
    return false;
  } finally {
    if (sawV6) v6Reached++;
  }
}

/** A random stream: messages concatenated and cut at random points, as TCP may deliver them. */
function makeStream(r: Rand, as4: boolean): Buffer[] {
  const msgs = Array.from({ length: 1 + Math.floor(r() * 25) }, () => nextMessage(r, as4));
  const all = Buffer.concat(msgs);
  const chunks: Buffer[] = [];
  for (let p = 0; p < all.length; ) {
    const n = r() < 0.5 ? all.length - p : 1 + Math.floor(r() * 300);
    chunks.push(all.subarray(p, p + n));
    p += n;
  }
  return chunks;
}

test('session fuzz (RFC 7606 §2): saved failing streams replay clean (test/fixtures/fuzz/session-*.hex)', () => {
  for (const f of loadFailures('session')) runStream(f.inputs, !f.context.includes('as2'), f.context.includes('v6'));
});

test(`session fuzz: bytes after Established through FSM and RIB: clean outcomes (RFC 4271 §6, RFC 7606 §2), bystander untouched, RIB consistent (RFC 4271 §9.2) [FUZZ_SEED=${SEED}, ${FUZZ_SECONDS}s]`, (t) => {
  const r = prng(SEED + 200);
  const deadline = Date.now() + FUZZ_SECONDS * 1000;
  let streams = 0;
  let resets = 0;
  let messages = 0;
  while (Date.now() < deadline || streams < 200) {
    const as4 = r() < 0.8;
    const v6 = r() < 0.5; // the session negotiates IPv6 unicast too (RFC 4760), so MP_REACH reaches the RIB
    const chunks = makeStream(r, as4);
    streams++;
    messages += chunks.length;
    if (
      guarded(
        'session',
        SEED,
        () => chunks,
        `${as4 ? 'as4' : 'as2'}${v6 ? ' v6' : ''}`,
        () => runStream(chunks, as4, v6),
      )
    )
      resets++;
  }
  t.diagnostic(`${streams} streams, ${messages} chunks, ${resets} resets, ${v6Reached} with IPv6 routes passed on`);
  assert.ok(v6Reached > streams / 20, 'IPv6 (MP_REACH) routes reached the bystander in too few streams');
});
