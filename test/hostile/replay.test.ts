// Every hostile case (test/hostile/cases.ts) in-process: the hostile peer's bytes through the
// Framer, the FSM and the RIB (test/hostile/harness.ts), a bystander eBGP peer on the same RIB.
// Checks the RFC outcome (RFC 4271 §6 NOTIFICATION, RFC 7606 §2 treat-as-withdraw /
// attribute-discard), what the bystander is sent (read by an independent reader), and that the
// bystander's own route stays best. conformance/hostile.test.ts runs the same list against ternd.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CASES, KEEPALIVE } from './cases.js';
import { checkOutcome, openCase } from './check.js';
import { PENDING_DEFECT_FIXES } from './pending.js';

CASES.forEach((c, i) => {
  const todo = PENDING_DEFECT_FIXES.has(c.id) ? `waits for ${c.defect} (branch i15-defects)` : undefined;
  test(`hostile ${c.id} (${c.source}): ${c.shape} -> ${c.rule}`, { todo }, () => {
    const { h, e } = openCase(c, i + 1);
    if (c.open) {
      h.feed(c.open(e));
      h.feed(KEEPALIVE);
      assert.equal(h.established, false, 'a malformed OPEN never reaches Established');
    } else for (const m of c.messages!(e)) h.feed(m);
    checkOutcome(c, h, e);
  });
});
