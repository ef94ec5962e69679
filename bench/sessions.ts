// Session layer benchmarks: `npm run bench -- sessions [prefixes]`.
// 1. FSM cost of an UPDATE in Established (pure, no I/O).
// 2. Loopback throughput between two Tern speakers (127.0.0.2 -> 127.0.0.3): packed UPDATEs, and
//    one prefix per UPDATE (per-message cost: framing, decode, FSM, hold timer restart, emit).
// 3. KEEPALIVE behind a backlog: how many UPDATE bytes a raw receiver sees before a KEEPALIVE
//    sent while tens of MB of UPDATEs are queued (the priority lane at work).

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { encodeMessage, packUpdates } from '../bgp/codec/index.js';
import { resolveConfig, type SessionConfig } from '../bgp/fsm/config.js';
import { Fsm, type FsmEvent } from '../bgp/fsm/fsm.js';
import type { Session } from '../bgp/io/session.js';
import { Speaker } from '../bgp/io/speaker.js';
import { ResultRecorder } from './result.js';
import { AFI_IPV4, AsPathSegmentType, CapCode, DEFAULT_CONTEXT, MsgType, Origin, type Prefix, type UpdateMessage } from '../bgp/codec/types.js';

const A = { addr: '127.0.0.2', as: 65002, id: '10.0.0.2' };
const B = { addr: '127.0.0.3', as: 65003, id: '10.0.0.3' };
const base = (l: typeof A, p: typeof A, port: number): SessionConfig => ({
  peerAddress: p.addr,
  peerPort: port,
  peerAs: p.as,
  localAs: l.as,
  localAddress: l.addr,
  routerId: l.id,
  holdTime: 30,
  connectRetryTime: 1,
  families: ['ipv4'],
});

function prefixes(n: number): Prefix[] {
  return Array.from({ length: n }, (_, i) => ({ afi: AFI_IPV4, len: 24, addr: Buffer.from([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]) }));
}
const attrs = { origin: Origin.IGP, asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [A.as] }], nextHop: A.addr };

function fsmBench(): { events: number; ms: number; nsPerEvent: number } {
  const f = new Fsm(resolveConfig({ ...base(A, B, 179), noJitter: true }));
  const open = {
    type: MsgType.OPEN,
    version: 4,
    myAs: B.as,
    holdTime: 30,
    bgpId: B.id,
    capabilities: [{ code: CapCode.AS4, asn: B.as }],
    otherParams: [],
  } as const;
  for (const e of [{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }, { type: 'BGPOpen', open }, { type: 'KeepAliveMsg' }] as FsmEvent[]) f.handle(e, 0);
  const ev: FsmEvent = { type: 'UpdateMsg', update: { type: MsgType.UPDATE } as unknown as UpdateMessage };
  const n = 1_000_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f.handle(ev, i);
  const ms = performance.now() - t0;
  console.log(`fsm: ${n} UpdateMsg events in ${ms.toFixed(0)} ms = ${((ms * 1e6) / n).toFixed(0)} ns/event`);
  return { events: n, ms, nsPerEvent: (ms * 1e6) / n };
}

async function pair(port: number): Promise<{ sa: Speaker; sb: Speaker; pa: Session; pb: Session }> {
  const sa = new Speaker({ listen: [{ address: A.addr, port }] });
  const sb = new Speaker({ listen: [{ address: B.addr, port }] });
  await sa.start();
  await sb.start();
  const pa = sa.addPeer(base(A, B, port));
  const pb = sb.addPeer(base(B, A, port));
  await Promise.all([pa, pb].map((s) => new Promise((r) => s.once('established', r))));
  return { sa, sb, pa, pb };
}

interface Throughput {
  prefixes: number;
  updates: number;
  bytes: number;
  ms: number;
  prefixesPerSec: number;
  messagesPerSec: number;
}

async function throughput(port: number, n: number, perMessage: number): Promise<Throughput> {
  const { sa, sb, pa, pb } = await pair(port);
  const all = prefixes(n);
  const bufs: Buffer[] = [];
  for (let i = 0; i < n; i += perMessage) bufs.push(...packUpdates({ family: 'ipv4', attrs, reach: all.slice(i, i + perMessage) }, DEFAULT_CONTEXT));
  let got = 0;
  const done = new Promise<void>((r) =>
    pb.on('update', (u) => {
      got += u.nlri.length;
      if (got >= n) r();
    }),
  );
  const t0 = performance.now();
  const sendAll = async () => {
    for (let i = 0; i < bufs.length; i += 1000) {
      if (!pa.sendUpdates(bufs.slice(i, i + 1000))) await new Promise<void>((r) => pa.once('drain', () => r()));
    }
  };
  await Promise.all([sendAll(), done]);
  const ms = performance.now() - t0;
  const bytes = bufs.reduce((s, b) => s + b.length, 0);
  console.log(
    `loopback: ${n} prefixes in ${bufs.length} UPDATEs (${(bytes / 1e6).toFixed(1)} MB) in ${ms.toFixed(0)} ms = ${((n / ms) * 1000).toFixed(0)} prefixes/s, ${((bufs.length / ms) * 1000).toFixed(0)} msgs/s`,
  );
  await Promise.all([sa.close(), sb.close()]);
  return { prefixes: n, updates: bufs.length, bytes, ms, prefixesPerSec: (n / ms) * 1000, messagesPerSec: (bufs.length / ms) * 1000 };
}

async function keepaliveBehindBacklog(port: number): Promise<{ queuedBytes: number; updateBytesBeforeKeepalive: number }> {
  // A raw receiver on B's address: completes OPEN, then counts bytes until the first KEEPALIVE
  // that arrives after the backlog was queued.
  let armed = false;
  let updateBytesBefore = 0;
  let resolveKa: (v: number) => void = () => {};
  const kaSeen = new Promise<number>((r) => (resolveKa = r));
  const server = net.createServer((s) => {
    s.write(
      encodeMessage(
        {
          type: MsgType.OPEN,
          version: 4,
          myAs: B.as,
          holdTime: 30,
          bgpId: B.id,
          capabilities: [
            { code: CapCode.AS4, asn: B.as },
            { code: CapCode.MULTIPROTOCOL, afi: 1, safi: 1 },
          ],
          otherParams: [],
        },
        DEFAULT_CONTEXT,
      ),
    );
    s.write(encodeMessage({ type: MsgType.KEEPALIVE }, DEFAULT_CONTEXT));
    let pending: Buffer = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      let p = 0;
      while (p + 19 <= pending.length) {
        const len = pending.readUInt16BE(p + 16);
        if (p + len > pending.length) break;
        const type = pending[p + 18];
        if (armed && type === MsgType.UPDATE) updateBytesBefore += len;
        // The OpenConfirm KEEPALIVE may still be unread; ours is the first one after an UPDATE.
        if (armed && type === MsgType.KEEPALIVE && updateBytesBefore > 0) resolveKa(updateBytesBefore);
        p += len;
      }
      pending = pending.subarray(p);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen({ host: B.addr, port }, () => r()));
  const sa = new Speaker({ listen: [] });
  await sa.start();
  const pa = sa.addPeer(base(A, B, port));
  await new Promise((r) => pa.once('established', r));
  const bufs = packUpdates({ family: 'ipv4', attrs, reach: prefixes(400_000) }, DEFAULT_CONTEXT);
  for (let i = 0; i < 20; i++) pa.sendUpdates(bufs); // ~ 20 x 1.7 MB
  const queued = pa.outQueueBytes;
  armed = true;
  pa.send({ type: MsgType.KEEPALIVE });
  const before = await kaSeen;
  console.log(`keepalive: queued behind ${(queued / 1e6).toFixed(1)} MB of UPDATEs, arrived after ${(before / 1e3).toFixed(0)} KB of them`);
  await sa.close();
  server.close();
  return { queuedBytes: queued, updateBytesBeforeKeepalive: before };
}

export async function main(argv: string[]): Promise<number> {
  const rec = new ResultRecorder('sessions', argv);
  const n = Number(argv[0] ?? 200_000);
  const port = 30000 + Math.floor(Math.random() * 20000);
  const fsm = fsmBench();
  const packed = await throughput(port, n, 1000);
  const single = await throughput(port + 1, Math.min(n, 100_000), 1);
  const keepalive = await keepaliveBehindBacklog(port + 2);
  rec.finish({ fsm, loopbackPacked: packed, loopbackOnePrefixPerUpdate: single, keepalive }, [], { suffix: `-n${n}` });
  return 0;
}
