// Issue 18: output pacing. A route reflector's passes over thousands of clients are paced so
// that each write carries what accumulated meanwhile; the wait is capped so that pacing never
// holds a route back for long. Incident: in the quiet 5,000-client run at 9aefea2 the first
// block change after convergence waited out the last convergence pass's length again (up to
// ~300 ms) before its own pass, and reached every client in 529 ms against the 500 ms goal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PACING_MAX_WAIT_MS, pacingWait } from '../../src/daemon/routes.js';

test('issue 18: a node with a few peers (passes under 2 ms) is never delayed', () => {
  assert.equal(pacingWait(1000, 0, 1000), 0);
  assert.equal(pacingWait(1000, 1.9, 1000.5), 0);
});

test('issue 18: after a pass of 40 ms the next waits the rest of 40 ms from its end', () => {
  assert.equal(pacingWait(1000, 40, 1000), 40);
  assert.equal(pacingWait(1000, 40, 1030), 10);
  assert.equal(pacingWait(1000, 40, 1040), 0);
  assert.equal(pacingWait(1000, 40, 5000), 0, 'an idle spell since the pass: no wait');
});

test('issue 18: a long pass (300 ms, 5,000 clients) holds the next back by at most the cap', () => {
  assert.equal(PACING_MAX_WAIT_MS, 100);
  assert.equal(pacingWait(1000, 300, 1000), 100);
  assert.equal(pacingWait(1000, 300, 1060), 40);
  assert.equal(pacingWait(1000, 300, 1100), 0);
});
