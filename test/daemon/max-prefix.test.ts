// Max-prefix (Tern extension spec.maxPrefixes, RFC 4486 §4) without sockets: the warning at the
// threshold, the Cease 6/1 with AFI/SAFI/upper bound past the limit, the restart after the
// interval, and no restart without one. The live version against BIRD is
// conformance/max-prefix.test.ts.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { checkMaxPrefix, clearMaxPrefix, maxPrefixData, announcedFamilies, type MaxPrefixPeer } from '../../src/daemon/max-prefix.js';
import type { Session } from '../../bgp/io/session.js';
import type { StopNotification } from '../../bgp/fsm/types.js';
import type { Logger } from '../../bgp/io/log.js';
import { upd, attrs } from '../rib/helpers.js';

function peer(limit: number, restartInterval?: number) {
  const calls: (StopNotification | 'start')[] = [];
  const session = { stop: (n: StopNotification) => calls.push(n), start: () => calls.push('start') } as unknown as Session;
  const e: MaxPrefixPeer = { id: '198.18.0.9', session, adminDown: false, cfg: { maxPrefixes: { ipv4: { limit, warningPercent: 80, restartInterval } } } };
  const lines: string[] = [];
  const log: Logger = { debug: () => {}, info: (_o, m) => lines.push(m), warn: (_o, m) => lines.push(m), error: (_o, m) => lines.push(m) };
  return { e, calls, lines, log };
}

test('RFC 4486 §4: Cease data is AFI (2 octets), SAFI (1), prefix upper bound (4)', () => {
  assert.equal(maxPrefixData('ipv4', 3).toString('hex'), '00010100000003');
  assert.equal(maxPrefixData('ipv6', 70000).toString('hex'), '00020100011170');
  assert.deepEqual(announcedFamilies(upd(attrs(), ['10.0.0.0/24'])), ['ipv4']);
  assert.deepEqual(announcedFamilies(upd(attrs({ nextHop: '2001:db8::1' }), ['2001:db8::/48'])), ['ipv6']);
  assert.deepEqual(announcedFamilies(upd(null, [], ['10.0.0.0/24'])), [], 'a withdrawal cannot cross a limit');
});

test('RFC 4486 §4 max-prefix: warning at warningPercent once, Cease 6/1 past the limit, restart after restartInterval', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { e, calls, lines, log } = peer(10, 30);
    let n = 7;
    assert.equal(
      checkMaxPrefix(e, ['ipv4'], () => n, log),
      false,
    );
    assert.deepEqual(lines, [], 'below 80%: quiet');
    n = 8;
    checkMaxPrefix(e, ['ipv4'], () => n, log);
    n = 9;
    checkMaxPrefix(e, ['ipv4'], () => n, log);
    assert.equal(lines.length, 1, 'one warning at 80%, not one per UPDATE');
    assert.match(lines[0], /sent 8 ipv4 routes, 80% or more of its max-prefix limit 10/);
    n = 10;
    assert.equal(
      checkMaxPrefix(e, ['ipv4'], () => n, log),
      false,
      'the limit itself is allowed',
    );
    assert.equal(
      checkMaxPrefix(e, ['ipv6'], () => 1000, log),
      false,
      'no limit for ipv6',
    );
    n = 11;
    assert.equal(
      checkMaxPrefix(e, ['ipv4'], () => n, log),
      true,
    );
    assert.deepEqual(calls, [{ code: 6, subcode: 1, data: Buffer.from('0001010000000a', 'hex'), why: 'max-prefix: 11 ipv4 routes > limit 10 (RFC 4486 §4)' }]);
    assert.equal(e.maxPrefixTrip?.limit, 10);
    assert.match(lines[1], /over its max-prefix limit 10.*Cease 6\/1.*starts again in 30s/);
    mock.timers.tick(29_999);
    assert.equal(calls.length, 1, 'held down for the interval');
    mock.timers.tick(1);
    assert.deepEqual(calls.slice(1), ['start']);
    assert.equal(e.maxPrefixTrip, undefined);
  } finally {
    mock.timers.reset();
  }
});

test('RFC 4486 §4 max-prefix without restartInterval: down until the operator; an admin-down peer is not restarted', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { e, calls, log } = peer(2);
    checkMaxPrefix(e, ['ipv4'], () => 3, log);
    mock.timers.tick(3_600_000);
    assert.equal(calls.filter((c) => c === 'start').length, 0);
    assert.equal(e.maxPrefixTrip?.restartAt, undefined);
    clearMaxPrefix(e); // bgpctl neighbor up / clear
    assert.equal(e.maxPrefixTrip, undefined);
    const p = peer(2, 5);
    checkMaxPrefix(p.e, ['ipv4'], () => 3, p.log);
    p.e.adminDown = true; // bgpctl neighbor down meanwhile
    mock.timers.tick(5000);
    assert.equal(p.calls.filter((c) => c === 'start').length, 0);
  } finally {
    mock.timers.reset();
  }
});
