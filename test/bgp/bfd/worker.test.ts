// The BFD worker thread over real UDP sockets on loopback: two engines (each in its own worker,
// as in ternd) bring a session Up, stay Up while the main thread is blocked, drop single-hop
// packets whose TTL is not 255, and report the peer's AdminDown as such.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { BfdManager } from '../../../bgp/bfd/manager.js';
import { BfdState, encodeBfd } from '../../../bgp/bfd/packet.js';
import type { BfdPeerConfig, BfdSessionView, BfdStateEvent } from '../../../bgp/bfd/types.js';

const A = '127.0.0.1';
const B = '127.0.0.2';
// Ports away from 3784 so the test needs no namespace; each side listens on its own.
const PA = 23784 + (process.pid % 1000);
const PB = PA + 1000;
// 100 ms x 3, the target: a 300 ms detection time.
const timers = { minTxMs: 100, minRxMs: 100, multiplier: 3 };
const cfgA: BfdPeerConfig = { peerAddress: B, localAddress: A, multihop: false, ...timers, port: PB, listenPort: PA };
const cfgB: BfdPeerConfig = { peerAddress: A, localAddress: B, multihop: false, ...timers, port: PA, listenPort: PB };

function waitFor(m: BfdManager, pred: (e: BfdStateEvent) => boolean, ms: number): Promise<BfdStateEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timed out waiting for a BFD state change')), ms);
    const on = (e: BfdStateEvent): void => {
      if (!pred(e)) return;
      clearTimeout(t);
      m.off('state', on);
      resolve(e);
    };
    m.on('state', on);
  });
}
const one = async (m: BfdManager): Promise<BfdSessionView> => (await m.query())[0];

/** A well-formed Down packet for a session, as its peer would send it (100 ms x 3). */
const downPacket = (myDiscr: number, yourDiscr: number): Buffer =>
  encodeBfd({
    version: 1,
    diag: 0,
    state: BfdState.Down,
    poll: false,
    final: false,
    cpi: false,
    demand: false,
    multipoint: false,
    detectMult: 3,
    myDiscr,
    yourDiscr,
    desiredMinTx: 100_000,
    requiredMinRx: 100_000,
    requiredMinEchoRx: 0,
  });

test('RFC 5880 §6.2, RFC 5881 §5: worker-thread BFD on loopback: Up, no flap under a 2 s main-thread stall, TTL check, AdminDown', async () => {
  const a = new BfdManager();
  const b = new BfdManager();
  const eventsA: BfdStateEvent[] = [];
  a.on('state', (e) => eventsA.push(e));
  try {
    const upA = waitFor(a, (e) => e.to === 'Up', 5000);
    const upB = waitFor(b, (e) => e.to === 'Up', 5000);
    a.set([cfgA]);
    b.set([cfgB]);
    await Promise.all([upA, upB]);
    // Wait for the RFC 5880 §6.5 Poll Sequence to finish so both run at 100 ms (a loaded machine may take a while).
    let v = await one(a);
    for (let i = 0; i < 50 && (v.pollActive || v.txIntervalMs !== 100); i++) {
      await new Promise((r) => setTimeout(r, 100));
      v = await one(a);
    }
    assert.equal(v.state, 'Up');
    assert.equal(v.txIntervalMs, 100);
    assert.equal(v.detectionTimeMs, 300);
    assert.ok(v.sourcePort >= 49152 && v.sourcePort <= 65535, `RFC 5881 §4 source port ${v.sourcePort}`);

    // A 2 s busy loop on the main thread: more than six detection times. The workers keep sending.
    const before = eventsA.length;
    const t0 = Date.now();
    while (Date.now() - t0 < 2000) {
      /* stall the main event loop on purpose */
    }
    await new Promise((r) => setTimeout(r, 100));
    const stalled = eventsA.slice(before);
    assert.deepEqual(stalled, [], `state changes during the stall: ${JSON.stringify(stalled)}`);
    const after = await one(a);
    assert.equal(after.state, 'Up');
    assert.equal(after.upTransitions, 1);
    console.log(`# tx timer lateness on A: ${JSON.stringify(after.txLate)}`);
    // 2.1 s at 75-100 ms per packet (RFC 5880 §6.8.7) is at least 21 packets; 15 leaves room for a busy machine.
    assert.ok(after.packets.tx - v.packets.tx >= 15, `A kept sending during the stall (${after.packets.tx - v.packets.tx} packets)`);

    // RFC 5881 §5: a well-formed packet for A's session from B's address with TTL 254 is dropped.
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, B, () => r()));
    sock.setTTL(254);
    const forged = downPacket(after.remoteDiscriminator, after.localDiscriminator);
    await new Promise<void>((r) => sock.send(forged, PA, A, () => r()));
    await new Promise((r) => setTimeout(r, 100));
    sock.close();
    const dropped = await one(a);
    assert.equal(dropped.packets.ttlDropped, 1);
    assert.equal(dropped.state, 'Up', 'the TTL 254 Down packet was not acted on');

    // RFC 5882 §3.2: B removes the session and says AdminDown; A goes Down but knows it was no failure.
    const down = waitFor(a, (e) => e.to === 'Down', 2000);
    b.set([]);
    const e = await down;
    assert.equal(e.remoteAdminDown, true);
    assert.equal(e.diag, 3);
  } finally {
    await a.close();
    await b.close();
  }
});

test('RFC 5880 §6.7.4: Keyed SHA1 between two workers comes Up; a peer with another key is discarded until Down', async () => {
  const a = new BfdManager();
  const b = new BfdManager();
  const auth = { type: 'MeticulousKeyedSHA1' as const, keyId: 3, key: 'k1' };
  const ca: BfdPeerConfig = { ...cfgA, port: PB + 10, listenPort: PA + 10, auth };
  const cb: BfdPeerConfig = { ...cfgB, port: PA + 10, listenPort: PB + 10, auth };
  try {
    const upA = waitFor(a, (e) => e.to === 'Up', 5000);
    a.set([ca]);
    b.set([cb]);
    await upA;
    const v = await one(a);
    assert.equal(v.authentication, 'MeticulousKeyedSHA1');
    // B restarts its session with another key: its AdminDown (old key) takes A Down; after
    // that every packet B sends fails A's digest check, so A never leaves Down.
    const down = waitFor(a, (e) => e.to === 'Down', 3000);
    b.set([{ ...cb, auth: { ...auth, key: 'k2' } }]);
    assert.equal((await down).remoteAdminDown, true);
    const before = (await one(a)).packets.discarded;
    await new Promise((r) => setTimeout(r, 1200));
    const after = await one(a);
    assert.equal(after.state, 'Down', 'a packet signed with the wrong key moved the state machine');
    assert.ok(after.packets.discarded - before >= 1, `discarded ${after.packets.discarded - before} packets with the wrong key`);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a BFD worker that dies is restarted with the same sessions, which come Up again', async () => {
  const a = new BfdManager();
  const b = new BfdManager();
  const ca: BfdPeerConfig = { ...cfgA, port: PB + 20, listenPort: PA + 20 };
  const cb: BfdPeerConfig = { ...cfgB, port: PA + 20, listenPort: PB + 20 };
  const problems: string[] = [];
  a.on('problem', (p) => problems.push(p.message));
  try {
    const up = waitFor(a, (e) => e.to === 'Up', 5000);
    a.set([ca]);
    b.set([cb]);
    await up;
    const again = waitFor(a, (e) => e.to === 'Up', 8000);
    await (a as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await again;
    assert.ok(
      problems.some((m) => /exited.*restarting/.test(m)),
      problems.join('; '),
    );
    assert.equal((await one(a)).state, 'Up');
  } finally {
    await a.close();
    await b.close();
  }
});

test('RFC 5881 §5 over IPv6: single-hop BFD on ::1 comes Up and a packet with Hop Limit 254 is dropped', async () => {
  const a = new BfdManager();
  const b = new BfdManager();
  const ca: BfdPeerConfig = { peerAddress: '::1', localAddress: '::1', multihop: false, ...timers, port: PB + 30, listenPort: PA + 30 };
  const cb: BfdPeerConfig = { ...ca, port: PA + 30, listenPort: PB + 30 };
  try {
    const up = waitFor(a, (e) => e.to === 'Up', 5000);
    a.set([ca]);
    b.set([cb]);
    await up;
    const v = await one(a);
    const sock = dgram.createSocket('udp6');
    await new Promise<void>((r) => sock.bind(0, '::1', () => r()));
    sock.setTTL(254); // unicast Hop Limit
    const forged = downPacket(v.remoteDiscriminator, v.localDiscriminator);
    await new Promise<void>((r) => sock.send(forged, PA + 30, '::1', () => r()));
    await new Promise((r) => setTimeout(r, 150));
    sock.close();
    const after = await one(a);
    assert.equal(after.packets.ttlDropped, 1);
    assert.equal(after.state, 'Up');
  } finally {
    await a.close();
    await b.close();
  }
});
