// Issue 15: 20,000 malformed UPDATEs from one peer wrote 20,000 warning lines. RFC 7606 keeps
// the session up, so the log is the one place a hostile peer can still hurt: warnings are
// rate limited per (peer, reason): the first is logged with its details, the rest counted,
// and one summary line per window says how many.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogLimiter } from '../../bgp/io/log-limit.js';
import type { Logger } from '../../bgp/io/log.js';

function capture(): { log: Logger; lines: { fields: Record<string, unknown>; msg: string }[] } {
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  const add = (fields: object, msg: string) => lines.push({ fields: fields as Record<string, unknown>, msg });
  return { log: { debug: add, info: add, warn: add, error: add }, lines };
}

test('RFC 7606 log flood: 20,000 warnings of one peer and reason give one line, then one summary with the count and the first example', () => {
  const { log, lines } = capture();
  let fire: (() => void) | undefined;
  const l = new LogLimiter(log, { windowMs: 60_000, setTimer: (fn) => (fire = fn), clearTimer: () => {} });
  for (let i = 0; i < 20_000; i++)
    l.warn('198.18.0.9|7606|1|treat-as-withdraw', { peer: '198.18.0.9', n: i }, `RFC 7606 treat-as-withdraw: ORIGIN value 3 (#${i})`);
  l.warn('198.18.0.10|7606|1|treat-as-withdraw', { peer: '198.18.0.10' }, 'RFC 7606 treat-as-withdraw: ORIGIN value 3 (other peer)');
  assert.deepEqual(
    lines.map((x) => x.msg),
    ['RFC 7606 treat-as-withdraw: ORIGIN value 3 (#0)', 'RFC 7606 treat-as-withdraw: ORIGIN value 3 (other peer)'],
  );
  assert.ok(fire, 'a window timer is armed');
  fire();
  assert.equal(lines.length, 3, 'one summary for the key that had more; none for the other');
  assert.equal(lines[2].fields.suppressed, 19_999);
  assert.equal(lines[2].fields.peer, '198.18.0.9');
  assert.match(lines[2].msg, /^19999 more like this in the last 60s.*the first: RFC 7606 treat-as-withdraw: ORIGIN value 3 \(#0\)$/);
  // The next window starts with a full line again.
  l.warn('198.18.0.9|7606|1|treat-as-withdraw', { peer: '198.18.0.9' }, 'again');
  assert.equal(lines[3].msg, 'again');
  l.close();
  assert.equal(lines.length, 4, 'nothing suppressed since: no summary at close');
});
