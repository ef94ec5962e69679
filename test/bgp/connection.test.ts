// The outbound queue of one connection: priority lane, backpressure and the RFC 9687 send hold
// timer, against a fake socket whose write() returns false like a full node stream.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { test } from 'node:test';
import { Timers, Wire, type WireHandlers } from '../../bgp/io/connection.js';
import { sleep } from './session-helpers.js';

class FakeSocket extends EventEmitter {
  written: Buffer[] = [];
  full = false;
  destroyed = false;
  ended = false;
  writableLength = 0;
  setNoDelay() {}
  cork() {}
  uncork() {}
  write(b: Buffer): boolean {
    this.written.push(b);
    return !this.full;
  }
  end() {
    this.ended = true;
  }
  destroy() {
    this.destroyed = true;
  }
}

function wire(sendHoldMs = 10_000) {
  const sock = new FakeSocket();
  const seen = { sendHold: 0, closed: 0, progress: 0 };
  const seenOversize: number[] = [];
  const h: WireHandlers = {
    onMessage: () => {},
    onFramingError: () => {},
    onClosed: () => seen.closed++,
    onSendHoldExpired: () => seen.sendHold++,
    onProgress: () => seen.progress++,
    onOversize: (b) => seenOversize.push(b.length),
  };
  const w = new Wire(sock as unknown as net.Socket, h, () => sendHoldMs);
  return { sock, w, seen, seenOversize };
}

const msg = (tag: string) => Buffer.from(tag);

test('Tern: KEEPALIVEs go ahead of a queued UPDATE backlog (priority lane)', () => {
  const { sock, w } = wire();
  sock.full = true;
  w.write(msg('U1'), false); // accepted by the socket, which now reports full
  w.write(msg('U2'), false);
  w.write(msg('U3'), false);
  w.write(msg('K1'), true);
  assert.deepEqual(sock.written.map(String), ['U1']);
  assert.equal(w.queuedMessages, 3);
  assert.equal(w.queuedBytes, 6);
  sock.full = false;
  sock.emit('drain');
  assert.deepEqual(sock.written.map(String), ['U1', 'K1', 'U2', 'U3']);
  assert.equal(w.queuedBytes, 0);
});

test('RFC 9687: the send hold timer fires only while the peer takes nothing', async () => {
  const { sock, w, seen } = wire(60);
  w.write(msg('U1'), false);
  await sleep(100);
  assert.equal(seen.sendHold, 0, 'socket accepted everything: no timer');
  sock.full = true;
  w.write(msg('U2'), false);
  w.write(msg('U3'), false);
  await sleep(30);
  sock.emit('drain'); // progress: restarts the timer (U3 written, socket full again)
  await sleep(40);
  assert.equal(seen.sendHold, 0, 'progress within the send hold time');
  await sleep(100);
  assert.equal(seen.sendHold, 1, 'no progress for the send hold time');
});

test('RFC 4271 §4.5: close(flush) writes the queued NOTIFICATION, drops queued UPDATEs, then ends', () => {
  const { sock, w, seen } = wire();
  sock.full = true;
  w.write(msg('U1'), false);
  w.write(msg('U2'), false);
  w.write(msg('N'), true);
  w.close(true);
  assert.deepEqual(sock.written.map(String), ['U1', 'N']);
  assert.equal(sock.ended, true);
  sock.emit('close');
  assert.equal(seen.closed, 0, 'our own close is not reported as a TCP failure');
});

test('Tern: re-arming a timer to a later deadline does not fire at the old one', async () => {
  const t = new Timers<'hold'>();
  let fired = 0;
  t.arm('hold', 40, () => fired++);
  await sleep(25);
  t.arm('hold', 60, () => fired++); // like a KEEPALIVE restarting the HoldTimer
  await sleep(40);
  assert.equal(fired, 0);
  await sleep(60);
  assert.equal(fired, 1);
  t.arm('hold', 10, () => fired++);
  t.stop('hold');
  await sleep(30);
  assert.equal(fired, 1, 'stopped timers never fire');
});

test("RFC 8654 §4: the write point never sends a message above the peer's maximum (4096 until extended messages are negotiated)", () => {
  const { sock, w, seenOversize } = wire();
  const m = (n: number) => Buffer.alloc(n, 1);
  w.write(m(4096), false);
  w.write(m(4097), false);
  w.writeMany([m(100), m(5000), m(200)]);
  w.write(m(4097), true);
  assert.deepEqual(
    sock.written.map((b) => b.length),
    [4096, 100, 200],
  );
  assert.deepEqual(seenOversize, [4097, 5000, 4097]);
  assert.equal(w.oversizeDropped, 3);
  assert.equal(w.queuedBytes, 0, 'a dropped message is not counted as queued');
  w.maxMessageLength = 65535; // both sides announced the Extended Message capability
  w.writeMany([m(5000), m(65536)]);
  assert.deepEqual(
    sock.written.map((b) => b.length),
    [4096, 100, 200, 5000],
  );
  assert.deepEqual(seenOversize, [4097, 5000, 4097, 65536]);
});

// Issue 18 (route reflector at 5,000 clients): a Wire kept every written UPDATE until 1,024 more
// had been written, so each client's queue held its whole initial update (and through it the
// snapshot that update came from) long after the socket took it.
test('Tern: UPDATEs the socket took are not held by the outbound queue', () => {
  const { sock, w } = wire();
  const bufs = Array.from({ length: 900 }, (_, i) => msg(`U${i}`));
  w.writeMany(bufs);
  assert.equal(sock.written.length, 900, 'the socket took every UPDATE');
  assert.equal(w.queuedMessages, 0);
  assert.equal((w as unknown as { bulk: Buffer[] }).bulk.length, 0, 'no written UPDATE is still referenced');
  sock.full = true;
  w.writeMany([msg('A'), msg('B')]);
  assert.deepEqual(sock.written.slice(900).map(String), ['A'], 'the socket reports full after A');
  assert.equal((w as unknown as { bulk: Buffer[] }).bulk.length, 2, 'B waits (A is written, kept until the queue empties)');
  sock.full = false;
  sock.emit('drain');
  assert.deepEqual(sock.written.slice(900).map(String), ['A', 'B']);
  assert.equal((w as unknown as { bulk: Buffer[] }).bulk.length, 0);
});
