// Pure formatting and argument checks behind bgpctl (issue 7), with a fixed clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHealth, formatNeighbor, formatPeers, formatRibRow, ribFlags } from '../../src/cli/format.js';
import { table, cell, upDown } from '../../src/cli/table.js';
import { judgeHealth } from '../../src/control/health.js';
import { completionWords, wantsNeighbor } from '../../src/cli/complete.js';
import { checkAddress, checkPrefix, checkShutdownMessage } from '../../src/control/validate.js';
import { FAKE_NOW, PEERS, RIB, neighborOf } from './fake-daemon.js';

const plain = { color: false, now: FAKE_NOW };
const ago = (s: number): string => new Date(FAKE_NOW - s * 1000).toISOString();

test('Up/Down spans are printed like OpenBGPD fmt_timeframe', () => {
  assert.equal(upDown(null, FAKE_NOW), 'Never');
  assert.equal(upDown(ago(0), FAKE_NOW), '00:00:00');
  assert.equal(upDown(ago(3723), FAKE_NOW), '01:02:03');
  assert.equal(upDown(ago(86399), FAKE_NOW), '23:59:59');
  assert.equal(upDown(ago(86400 + 2 * 3600 + 3 * 60 + 59), FAKE_NOW), '1d02h03m');
  assert.equal(upDown(ago(8 * 86400 + 3 * 3600), FAKE_NOW), '01w1d03h');
  // A clock that went backwards never prints a negative span.
  assert.equal(upDown(ago(-50), FAKE_NOW), '00:00:00');
});

test('show peers golden: State/PfxRcvd is the count when Established, else the state', () => {
  assert.deepEqual(formatPeers(PEERS, plain), [
    'Neighbor        AS  MsgRcvd  MsgSent  OutQ  Up/Down   State/PfxRcvd  Kind       Description',
    '127.0.0.2    64512     1234     1200     0  01:02:03  3              mesh       node-b',
    '127.0.0.3    65001    98765     4321     2  1d02h03m  120            global     tor-1',
    '2001:db8::9  65002        0        0     0  00:00:12  Active         selector',
    '127.0.0.4    64512        0        0     0  Never     Idle (Admin)   rr-client  node-d',
  ]);
});

test('RFC 2385: a session held down for its password says so in show peers (issue 16)', () => {
  const held = { ...PEERS[3], adminDown: false, heldDown: 'BGPPeer tor spec.password: secret s/k unavailable' };
  assert.match(formatPeers([held], plain)[1], / {2}Idle \(held down\) {2}rr-client/);
  const lines = formatNeighbor({ ...neighborOf(PEERS[3]), heldDown: held.heldDown }, plain);
  assert.ok(lines.includes('  Held down: BGPPeer tor spec.password: secret s/k unavailable'), lines.join('\n'));
});

test('color only when asked; the last column is trimmed to the terminal width', () => {
  const colored = formatPeers(PEERS.slice(0, 1), { ...plain, color: true });
  assert.ok(colored[1].includes(`\u001b[32m3${' '.repeat(12)}\u001b[0m`), 'Established is green, padding inside the color');
  const narrow = table({ ...plain, width: 12 }, [cell('a'), cell('description')], [[cell('x'), cell('a long description')]], { trimLast: true });
  assert.deepEqual(narrow, ['a  descript…', 'x  a long d…']);
});

test('rib rows: flags in legend order, missing attributes as -, AS_PATH then origin', () => {
  assert.equal(ribFlags(RIB[0]), '*>I');
  assert.equal(formatRibRow(RIB[2], plain), '*>S    198.18.100.0/24      127.0.0.3             -      - 65001 {65003,65004} ?');
  const all = { ...RIB[0], flags: { valid: true, best: true, multipath: true, ibgp: true, stale: true, filtered: true } };
  assert.equal(ribFlags(all), '*>=ISF');
});

test('readiness: planned sessions get a grace period, then fail readiness with a reason', () => {
  const base = { configLoaded: true, listening: true, graceMs: 60_000, now: 1_000_000 };
  const h1 = judgeHealth({
    ...base,
    sessions: [
      { address: '127.0.0.2', state: 'Established', since: 0 },
      { address: '127.0.0.3', state: 'Active', since: 990_000 },
    ],
  });
  assert.equal(h1.ready, true);
  assert.deepEqual(h1.sessions, { planned: 2, established: 1, withinGrace: 1 });
  const h2 = judgeHealth({ ...base, sessions: [{ address: '127.0.0.3', state: 'Active', since: 900_000 }] });
  assert.equal(h2.ready, false);
  assert.equal(h2.live, true);
  assert.deepEqual(h2.reasons, ['session 127.0.0.3 is Active for 100s (grace 60s)']);
  // RFC 2385: a session held down for want of its password is a reason at once, grace or not.
  const held = judgeHealth({
    ...base,
    sessions: [{ address: '198.18.0.1', state: 'Idle', since: 999_000, heldDown: 'BGPPeer tor spec.password: secret s/k unavailable' }],
  });
  assert.equal(held.ready, false);
  assert.deepEqual(held.reasons, ['session 198.18.0.1 held down: BGPPeer tor spec.password: secret s/k unavailable']);
  assert.deepEqual(held.sessions, { planned: 1, established: 0, withinGrace: 0 });
  const h3 = judgeHealth({ ...base, configLoaded: false, listening: false, fatal: 'RIB worker exited', sessions: [] });
  assert.equal(h3.live, false);
  assert.deepEqual(h3.reasons, ['not live: RIB worker exited', 'config not loaded', 'not listening for BGP connections']);
  assert.deepEqual(formatHealth(h2, plain), [
    'not ready: live, config loaded, listening, 0/1 sessions Established, 0 within grace',
    '  - session 127.0.0.3 is Active for 100s (grace 60s)',
  ]);
});

test('prefix checks: host bits, lengths, families, zones (RFC 4271 §4.3 NLRI carry prefix bits only)', () => {
  const msg = (s: string): string => {
    const c = checkPrefix(s);
    return c.ok ? 'ok' : c.message;
  };
  assert.equal(msg('10.244.0.0/16'), 'ok');
  assert.equal(msg('10.244.1.7'), 'ok', 'a bare address asks for the longest match');
  assert.equal(msg('0.0.0.0/0'), 'ok');
  assert.equal(msg('2001:db8::/32'), 'ok');
  assert.equal(msg('::/0'), 'ok');
  assert.match(msg('10.244.1.7/16'), /host bits set \(did you mean 10\.244\.0\.0\/16\?\)/);
  assert.match(msg('2001:db8::1/32'), /did you mean 2001:db8::\/32\?/);
  assert.match(msg('10.0.0.0/33'), /length must be 0-32/);
  assert.match(msg('2001:db8::/129'), /length must be 0-128/);
  assert.match(msg('10.0.0.0/'), /length must be/);
  assert.match(msg('10.0.0/8'), /not an IPv4 or IPv6 address/);
  assert.match(msg('fe80::1%eth0/64'), /not an IPv4 or IPv6 address/);
  assert.equal(checkAddress('198.18.0.2').ok, true);
  assert.equal(checkAddress('2001:db8::2').ok, true);
  assert.equal(checkAddress('node-b').ok, false);
});

test('RFC 9003 §2: a shutdown communication is at most 255 octets of UTF-8, not 255 characters', () => {
  assert.equal(checkShutdownMessage('x'.repeat(255)).ok, true);
  assert.equal(checkShutdownMessage('x'.repeat(256)).ok, false);
  assert.equal(checkShutdownMessage('€'.repeat(85)).ok, true); // 255 bytes
  assert.equal(checkShutdownMessage('€'.repeat(86)).ok, false); // 258 bytes, 86 characters
});

test('completion words: the program name the shell passes first and -s are taken out, the last word is the one being completed (issue 17)', () => {
  assert.deepEqual(completionWords(['node', 'bgpctl', '--get-yargs-completions', 'bgpctl', '-s', '/x.sock', 'show', 'neighbor', '']), {
    words: ['show', 'neighbor', ''],
    socket: '/x.sock',
  });
  assert.deepEqual(completionWords(['node', 'bgpctl', '--get-yargs-completions', '/usr/local/bin/bgpctl', 'neighbor', '--socket=/y', '12']), {
    words: ['neighbor', '12'],
    socket: '/y',
  });
  assert.equal(wantsNeighbor(['show', 'neighbor', '']), true);
  assert.equal(wantsNeighbor(['neighbor', '198.18']), true);
  assert.equal(wantsNeighbor(['neighbor', '198.18.0.2', '']), false, 'then the action is completed by yargs');
  assert.equal(wantsNeighbor(['show', 'rib', '']), false);
});

test('health text notes a datastore that is not synced without calling ternd unready (issue 17, issue 12 seam)', () => {
  const o = { color: false, now: Date.parse('2026-01-02T12:00:00Z') };
  const base = { live: true, ready: true, reasons: [], configLoaded: true, listening: true, sessions: { planned: 1, established: 1, withinGrace: 0 } };
  const synced = { kind: 'file' as const, source: '/etc/tern/cluster.yaml', state: 'synced' as const, since: '2026-01-02T11:00:00.000Z' };
  assert.deepEqual(formatHealth({ ...base, datastore: synced }, o), ['ready: live, config loaded, listening, 1/1 sessions Established, 0 within grace']);
  assert.deepEqual(formatHealth({ ...base, datastore: { ...synced, state: 'stale', detail: 'watch failed: ECONNREFUSED' } }, o), [
    'ready: live, config loaded, listening, 1/1 sessions Established, 0 within grace',
    '  note: datastore file /etc/tern/cluster.yaml is stale since 2026-01-02T11:00:00.000Z: watch failed: ECONNREFUSED (the last good model stays in force)',
  ]);
});
