// Guards the route-reflector bench's harness itself (bench/rr, issue 18) against counting wrong:
// a client counter that counts NLRI occurrences instead of distinct blocks, ignores
// withdrawals (RFC 4271 §4.3 Withdrawn Routes, RFC 4760 §4 MP_UNREACH_NLRI), counts a client's
// own blocks reflected back to it, or misses a wrong NEXT_HOP (RFC 4456 §10: a reflector does
// not change it) would report a convergence that never happened. Then the whole harness against
// a real ternd reflector with 5 clients: every client must hold exactly the others' 16 blocks.
// No wall-clock assertion anywhere.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RrCounter, announceBlocks, withdrawBlocks } from '../../bench/rr/counter.js';
import { runRr } from '../../bench/rr/harness.js';
import { BLOCK_BASE, blockText, clientAddress, clientAddressInt } from '../../bench/rr/layout.js';
import { parseRrArgs, summarize, verdicts } from '../../bench/rr/main.js';
import { birdConfig, tern, ternModel } from '../../bench/rr/targets.js';

const CLIENTS = 5;
const BLOCKS = 4;
const blocksOf = (c: number): number[] => Array.from({ length: BLOCKS }, (_, j) => c * BLOCKS + j);

test('rr layout: every client has its own loopback address and blocks inside 10.64.0.0/10', () => {
  assert.equal(clientAddress(0), '127.3.0.1');
  assert.equal(clientAddress(249), '127.3.0.250');
  assert.equal(clientAddress(250), '127.3.1.1');
  assert.equal(clientAddressInt(250), ((127 << 24) | (3 << 16) | (1 << 8) | 1) >>> 0);
  assert.equal(blockText(0), '10.64.0.0/26');
  assert.equal(blockText(5), '10.64.1.64/26');
  assert.equal(BLOCK_BASE, 0x0a400000);
});

test('rr counter: distinct blocks per client, withdrawals subtract, own blocks and duplicates apart (RFC 4271 §4.3)', () => {
  const watched: number[] = [];
  // Two slots: clients 1 and 3 of a 5-client run.
  const c = new RrCounter([1, 3], CLIENTS, BLOCKS, (slot) => watched.push(slot));
  for (let k = 0; k < CLIENTS; k++) {
    const m = announceBlocks(blocksOf(k), clientAddressInt(k));
    c.update(0, m, 0, m.length);
    c.update(1, m, 0, m.length);
  }
  assert.deepEqual([...c.held], [16, 16]);
  assert.equal(c.own, 8, "each slot's own 4 blocks came back and were not counted");
  assert.equal(c.wrongNextHop, 0);
  // The same announcement again: implicit withdraw (RFC 4271 §3.1), not new blocks.
  const again = announceBlocks(blocksOf(0), clientAddressInt(0));
  c.update(0, again, 0, again.length);
  assert.equal(c.held[0], 16);
  assert.equal(c.duplicates, 4);
  // Withdraw block 2 (client 0's) at slot 0, watched.
  c.watch = { block: 2, announce: false };
  const w = withdrawBlocks([2]);
  c.update(0, w, 0, w.length);
  assert.equal(c.held[0], 15);
  assert.equal(c.has(0, 2), false);
  assert.deepEqual(watched, [0]);
  // A withdrawal of a block not held changes nothing.
  c.update(0, w, 0, w.length);
  assert.equal(c.held[0], 15);
  // A block with another client's NEXT_HOP is counted and flagged (RFC 4456 §10).
  const wrong = announceBlocks([2], clientAddressInt(4));
  c.update(0, wrong, 0, wrong.length);
  assert.equal(c.held[0], 16);
  assert.equal(c.wrongNextHop, 1);
  // Not a workload block (a /26 past the run's last block): foreign.
  const foreign = Buffer.from(announceBlocks([CLIENTS * BLOCKS + 3], clientAddressInt(0)));
  c.update(0, foreign, 0, foreign.length);
  assert.equal(c.foreign, 1);
  assert.equal(c.held[0], 16);
});

test('rr counter: IPv4 unicast in MP_REACH_NLRI and MP_UNREACH_NLRI counts the same (RFC 4760 §3, §4)', () => {
  const c = new RrCounter([0], CLIENTS, BLOCKS);
  const nh = clientAddressInt(2);
  const nlri = Buffer.alloc(5);
  nlri[0] = 26;
  nlri.writeUInt32BE((BLOCK_BASE + 8 * 64) >>> 0, 1); // block 8, client 2's first
  const mpReach = Buffer.concat([Buffer.from([0x80, 14, 5 + 4 + nlri.length, 0, 1, 1, 4]), Buffer.alloc(4), Buffer.from([0]), nlri]);
  mpReach.writeUInt32BE(nh, 7);
  const attrs = Buffer.concat([Buffer.from([0x40, 1, 1, 0, 0x40, 2, 0]), mpReach]);
  const msg = (withdrawn: Buffer, a: Buffer): Buffer => {
    const m = Buffer.alloc(23 + withdrawn.length + a.length, 0xff);
    m.writeUInt16BE(m.length, 16);
    m[18] = 2;
    m.writeUInt16BE(withdrawn.length, 19);
    withdrawn.copy(m, 21);
    m.writeUInt16BE(a.length, 21 + withdrawn.length);
    a.copy(m, 23 + withdrawn.length);
    return m;
  };
  const reach = msg(Buffer.alloc(0), attrs);
  c.update(0, reach, 0, reach.length);
  assert.equal(c.held[0], 1);
  assert.equal(c.has(0, 8), true);
  assert.equal(c.wrongNextHop, 0);
  const unreach = msg(Buffer.alloc(0), Buffer.concat([Buffer.from([0x80, 15, 3 + nlri.length, 0, 1, 1]), nlri]));
  c.update(0, unreach, 0, unreach.length);
  assert.equal(c.held[0], 0);
  assert.equal(c.withdrawals, 1);
});

test('rr configs: the reflector is a Calico route reflector (Node routeReflectorClusterID, BGPPeer selectors) and BIRD an rr client per client', () => {
  const lab = { clients: 3, port: 11790, dir: '/nonexistent' };
  const y = ternModel(lab);
  assert.match(y, /routeReflectorClusterID: 244\.0\.0\.1/);
  assert.match(y, /peerSelector: has\(route-reflector\)/);
  assert.equal((y.match(/kind: Node\n/g) ?? []).length, 4);
  const b = birdConfig(lab);
  assert.equal((b.match(/from rrc \{ neighbor 127\.3\.0\.\d+ as 64512; \}/g) ?? []).length, 3);
  assert.match(b, /rr client;/);
});

test('rr verdicts: a target not run is "not measured", never met', () => {
  const o = parseRrArgs(['--clients', '5', '--targets', 'tern']);
  const v = verdicts(o, summarize(o, []));
  assert.equal(v.length, 3);
  for (const x of v) assert.equal(x.met, null);
});

test(`rr harness against a real ternd reflector: ${CLIENTS} clients each hold exactly the other ${(CLIENTS - 1) * BLOCKS} blocks, and a change reaches all the others (RFC 4456 §6)`, {
  timeout: 90_000,
}, async () => {
  // ternd is part of the build these tests run from: nothing to skip.
  const o = parseRrArgs(['--clients', String(CLIENTS), '--targets', 'tern', '--changes', '2', '--concurrency', '2', '--timeout', '60', '--no-write']);
  o.port = 17941; // away from the default, so a bench run on the same machine does not collide
  const r = await runRr(tern, o);
  assert.equal(r.status, 'ok', r.reason);
  const s = r.stats!;
  assert.equal(s.held, CLIENTS * (CLIENTS - 1) * BLOCKS, 'every client ends holding every other client’s blocks');
  assert.equal(s.foreign, 0);
  assert.equal(s.wrongNextHop, 0, 'RFC 4456 §10: the reflector keeps each NEXT_HOP');
  assert.equal(s.own, 0, 'RFC 4456 §8: a client is not sent routes it originated');
  // The initial tables, then one block withdrawn and announced again, seen by the 4 others each.
  assert.equal(s.nlri, CLIENTS * (CLIENTS - 1) * BLOCKS + 2 * (CLIENTS - 1));
  assert.equal(s.withdrawals, CLIENTS - 1);
  assert.equal(r.changes?.length, 2);
  for (const c of r.changes ?? []) assert.equal(c.seenBy, CLIENTS - 1);
  assert.ok((r.peakRssBytes ?? 0) > 0, 'VmHWM was read from /proc');
});
