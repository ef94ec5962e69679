// Reconnect backoff of the watched datastores (issue 13: "reconnect with backoff and jitter"):
// exponential from the minimum to the cap, each delay drawn from [d/2, d] so that the nodes of
// a cluster that lost the API server together do not return in lockstep, and back to the
// minimum after a success.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../peers/datastore/backoff.js';

test('backoff doubles to its cap, with jitter in [d/2, d], and resets after a success', () => {
  const low = new Backoff(500, 30_000, () => 0);
  const high = new Backoff(500, 30_000, () => 1);
  const lows = Array.from({ length: 9 }, () => low.next());
  const highs = Array.from({ length: 9 }, () => high.next());
  assert.deepEqual(highs, [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  assert.deepEqual(
    lows,
    highs.map((d) => d / 2),
  );
  low.reset();
  assert.equal(low.next(), 250);
  // Two nodes with different random draws wait different times for the same attempt.
  let seed = 1;
  const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const a = new Backoff(500, 30_000, rnd),
    b = new Backoff(500, 30_000, rnd);
  const da = [a.next(), a.next(), a.next()],
    db = [b.next(), b.next(), b.next()];
  assert.notDeepEqual(da, db);
  for (const [i, d] of [...da.entries(), ...db.entries()]) assert.ok(d >= 250 * 2 ** i && d <= 500 * 2 ** i, `${d} for attempt ${i}`);
});
