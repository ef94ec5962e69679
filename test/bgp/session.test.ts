// Sessions over real loopback TCP: two Tern speakers (127.0.0.2 and 127.0.0.3), raw scripted
// peers, TCP MD5 and GTSM. Timers are shortened through SessionConfig; nothing waits for RFC defaults.

import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import type { Session } from '../../bgp/session';
import type { Speaker } from '../../bgp/speaker';
import { fdOf, getIntOpt, IP_MINTTL, IP_TTL } from '../../bgp/transport';
import type { UpdateMessage } from '../../bgp/types';
import { freshPort, ipv4Update, peerConfig, rawKeepalive, rawOpen, RawPeer, sleep, startSpeaker, waitFor } from './session-helpers';

const A = { addr: '127.0.0.2', as: 65002, id: '10.0.0.2' };
const B = { addr: '127.0.0.3', as: 65003, id: '10.0.0.3' };

async function pair(extraA = {}, extraB = {}) {
  const port = freshPort();
  const sa = await startSpeaker(A.addr, port);
  const sb = await startSpeaker(B.addr, port);
  const pa = sa.addPeer(peerConfig(A, { ...B, port }, extraA), { start: false });
  const pb = sb.addPeer(peerConfig(B, { ...A, port }, extraB), { start: false });
  return { port, sa, sb, pa, pb };
}

async function closeAll(...s: Speaker[]) {
  await Promise.all(s.map((x) => x.close()));
}

const established = (s: Session, ms = 5000) => (s.state === 'Established' ? Promise.resolve() : waitFor(s, 'established', ms).then(() => undefined));

test('RFC 4271 §8: two speakers establish and exchange an UPDATE both ways', async (t) => {
  const { sa, sb, pa, pb } = await pair();
  t.after(() => closeAll(sa, sb));
  pa.start();
  pb.start();
  await Promise.all([established(pa), established(pb)]);
  assert.deepEqual(pa.negotiated?.families, ['ipv4', 'ipv6']);
  assert.equal(pa.negotiated?.holdTime, 9);
  assert.equal(pa.negotiated?.peerAs, B.as);
  assert.equal(pb.negotiated?.peerBgpId, A.id);

  const gotB = waitFor<[UpdateMessage]>(pb, 'update', 2000);
  assert.equal(pa.sendUpdates(ipv4Update(A.as, '10.244.1.0', A.addr)), true);
  const [u] = await gotB;
  assert.equal(u.nlri.length, 1);
  assert.equal(u.nlri.get(0).addr.join('.'), '10.244.1.0');
  assert.deepEqual(u.attrs.asPath?.[0].asns, [A.as]);

  const gotA = waitFor<[UpdateMessage]>(pa, 'update', 2000);
  pb.sendUpdates(ipv4Update(B.as, '10.244.2.0', B.addr));
  const [u2] = await gotA;
  assert.equal(u2.attrs.nextHop, B.addr);
  assert.equal(pa.stats().messagesOut.update, 1);
  assert.equal(pb.stats().messagesIn.update, 1);
});

test('RFC 4271 §6.8: simultaneous connects collide; the connection initiated by the higher BGP Identifier survives', async (t) => {
  const { port, sa, sb, pa, pb } = await pair();
  t.after(() => closeAll(sa, sb));
  // Both start in the same tick: each connects out and accepts the other's connection.
  pa.start();
  pb.start();
  await Promise.all([established(pa), established(pb)]);
  await sleep(200); // let the losing connection's NOTIFICATION arrive and nothing else flap
  assert.equal(pa.state, 'Established');
  assert.equal(pb.state, 'Established');
  // B (10.0.0.3) has the higher Identifier: the kept connection is B -> A, so on A's side the
  // local port is A's listen port and on B's side the remote port is.
  assert.equal(pa.socket?.localPort, port);
  assert.equal(pb.socket?.remotePort, port);
  const ceases = [pa.stats().lastErrorSent, pb.stats().lastErrorSent, pa.stats().lastErrorReceived, pb.stats().lastErrorReceived]
    .filter((e) => e && e.code === 6 && e.subcode === 7);
  assert.ok(ceases.length >= 1, 'one side sent Cease 6/7 Connection Collision Resolution');
  assert.equal(pa.stats().establishedCount, 1);
  assert.equal(pb.stats().establishedCount, 1);
});

test('RFC 4271 §8.2.2: a passive peer is reached only by the other side connecting', async (t) => {
  const { sa, sb, pa, pb } = await pair({ passive: true });
  t.after(() => closeAll(sa, sb));
  pa.start();
  await sleep(50);
  assert.equal(pa.state, 'Active');
  pb.start();
  await Promise.all([established(pa), established(pb)]);
  assert.equal(pb.socket?.localAddress, B.addr);
});

test('RFC 4271 §4.4/§6.5: a peer that sends OPEN then falls silent is dropped with NOTIFICATION 4/0', async (t) => {
  const port = freshPort();
  const raw = new RawPeer((s) => {
    s.write(rawOpen(B.as, B.id, 3));
    s.write(rawKeepalive());
  });
  await raw.listen(B.addr, port);
  const sa = await startSpeaker(A.addr, freshPort());
  t.after(async () => {
    await closeAll(sa);
    await raw.close();
  });
  const pa = sa.addPeer(peerConfig(A, { ...B, port }, { holdTime: 3 }));
  await established(pa);
  const [reason] = await waitFor<[{ notification?: { code: number } }]>(pa, 'down', 6000);
  assert.equal(reason.notification?.code, 4);
  await sleep(50);
  const types = raw.types();
  assert.deepEqual(types.slice(0, 2), [1, 4], 'OPEN then KEEPALIVE');
  assert.equal(types[types.length - 1], 3, 'last message is the NOTIFICATION');
  assert.equal(pa.stats().lastErrorSent?.code, 4);
});

test('RFC 4271 §8.2.2: OpenSent hold timer (large initial value, shortened here) expires without an OPEN', async (t) => {
  const port = freshPort();
  const raw = new RawPeer(() => {});
  await raw.listen(B.addr, port);
  const sa = await startSpeaker(A.addr, freshPort());
  t.after(async () => {
    await closeAll(sa);
    await raw.close();
  });
  const pa = sa.addPeer(peerConfig(A, { ...B, port }, { openHoldTimeMs: 300 }));
  await waitFor(pa, 'stateChange', 3000, (c: { to: string }) => c.to === 'Idle');
  assert.equal(pa.stats().lastErrorSent?.code, 4);
});

test('Tern: a connection from an address that is not a configured peer is closed without a NOTIFICATION', async (t) => {
  const port = freshPort();
  const sa = await startSpeaker(A.addr, port);
  t.after(() => closeAll(sa));
  const refused = waitFor(sa, 'refused', 2000);
  const sock = net.connect({ host: A.addr, port, localAddress: '127.0.0.9' });
  const got: Buffer[] = [];
  sock.on('data', (d) => got.push(d));
  sock.on('error', () => {});
  await new Promise((r) => sock.on('close', r));
  const [info] = (await refused) as [{ remoteAddress: string }];
  assert.equal(info.remoteAddress, '127.0.0.9');
  assert.equal(Buffer.concat(got).length, 0, 'not a single byte (no NOTIFICATION) was sent');
});

test('RFC 2385: TCP MD5 with the right key establishes, with the wrong key never connects', async (t) => {
  {
    const { sa, sb, pa, pb } = await pair({ password: 'tern-secret' }, { password: 'tern-secret' });
    t.after(() => closeAll(sa, sb));
    pa.start();
    pb.start();
    await Promise.all([established(pa), established(pb)]);
  }
  {
    const { sa, sb, pa, pb } = await pair({ password: 'tern-secret' }, { password: 'wrong' });
    t.after(() => closeAll(sa, sb));
    const states: string[] = [];
    pa.on('stateChange', (c) => states.push(c.to));
    pb.on('stateChange', (c) => states.push(c.to));
    pa.start();
    pb.start();
    await sleep(1500); // more than one ConnectRetry (1 s, jittered) on both sides
    assert.ok(!states.includes('OpenSent'), `no TCP connection completed (states: ${states.join(',')})`);
    assert.ok(states.includes('Connect'));
  }
});

test('RFC 5082: GTSM sends with TTL 255 and sets IP_MINTTL = 256 - hops on both connections', async (t) => {
  const { sa, sb, pa, pb } = await pair({ ttlSecurity: 1 }, { ttlSecurity: 1 });
  t.after(() => closeAll(sa, sb));
  pa.start();
  pb.start();
  await Promise.all([established(pa), established(pb)]);
  for (const s of [pa, pb]) {
    const fd = fdOf(s.socket as net.Socket);
    assert.equal(getIntOpt(fd, 0, IP_TTL), 255);
    assert.equal(getIntOpt(fd, 0, IP_MINTTL), 255);
  }
});
