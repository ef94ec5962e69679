// Helpers for the session tests: loopback speakers, a scriptable raw peer, waiting for events.

import net from 'node:net';
import { encodeMessage, packUpdates } from '../../bgp/codec/index.js';
import type { SessionConfig } from '../../bgp/fsm/config.js';
import { Speaker, type SpeakerOptions } from '../../bgp/io/speaker.js';
import { AFI_IPV4, CapCode, DEFAULT_CONTEXT, MsgType, Origin, AsPathSegmentType, type Capability, type OpenMessage } from '../../bgp/codec/types.js';

/** An unprivileged port, different per call, so parallel test files rarely clash. */
let nextPort = 20000 + Math.floor(Math.random() * 30000);
export const freshPort = (): number => nextPort++;

/** Fast timers for tests; the RFC defaults are in bgp/fsm/config.ts. */
export function peerConfig(
  local: { addr: string; as: number; id: string },
  peer: { addr: string; as: number; port: number },
  extra: Partial<SessionConfig> = {},
): SessionConfig {
  return {
    peerAddress: peer.addr,
    peerPort: peer.port,
    peerAs: peer.as,
    localAs: local.as,
    localAddress: local.addr,
    routerId: local.id,
    holdTime: 9,
    connectRetryTime: 1,
    idleHoldTimeMs: 200,
    families: ['ipv4', 'ipv6'],
    ...extra,
  };
}

export async function startSpeaker(address: string, port: number, opts: SpeakerOptions = {}): Promise<Speaker> {
  const s = new Speaker({ listen: [{ address, port }], ...opts });
  await s.start();
  return s;
}

/** Resolves with the arguments of the first `event` for which `pred` holds; rejects after ms. */
export function waitFor<A extends unknown[]>(
  em: { on(e: string, f: (...a: A) => void): unknown; off(e: string, f: (...a: A) => void): unknown },
  event: string,
  ms: number,
  pred: (...a: A) => boolean = () => true,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const f = (...a: A) => {
      if (!pred(...a)) return;
      clearTimeout(t);
      em.off(event, f);
      resolve(a);
    };
    const t = setTimeout(() => {
      em.off(event, f);
      reject(new Error(`timed out after ${ms} ms waiting for ${event}`));
    }, ms);
    em.on(event, f);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function rawOpen(as: number, id: string, holdTime: number, extraCaps: Capability[] = []): Buffer {
  const open: OpenMessage = {
    type: MsgType.OPEN,
    version: 4,
    myAs: as,
    holdTime,
    bgpId: id,
    capabilities: [{ code: CapCode.MULTIPROTOCOL, afi: 1, safi: 1 }, { code: CapCode.AS4, asn: as }, ...extraCaps],
    otherParams: [],
  };
  return encodeMessage(open, DEFAULT_CONTEXT);
}

export const rawKeepalive = (): Buffer => encodeMessage({ type: MsgType.KEEPALIVE }, DEFAULT_CONTEXT);

/** One IPv4 UPDATE announcing `prefix`/24 (a.b.c.0) from `as` with next hop `nh`. */
export function ipv4Update(as: number, prefix: string, nh: string): Buffer[] {
  const addr = Buffer.from(prefix.split('.').map(Number));
  return packUpdates(
    {
      family: 'ipv4',
      attrs: { origin: Origin.IGP, asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [as] }], nextHop: nh },
      reach: [{ afi: AFI_IPV4, len: 24, addr }],
    },
    DEFAULT_CONTEXT,
  );
}

/** A raw TCP peer the test scripts byte by byte; records what it receives. */
export class RawPeer {
  readonly server: net.Server;
  sockets: net.Socket[] = [];
  received: Buffer[] = [];

  constructor(onConn: (s: net.Socket, peer: RawPeer) => void) {
    this.server = net.createServer((s) => {
      this.sockets.push(s);
      s.on('data', (d) => this.received.push(d));
      s.on('error', () => {});
      onConn(s, this);
    });
  }

  listen(address: string, port: number): Promise<void> {
    return new Promise((r) => this.server.listen({ host: address, port }, () => r()));
  }

  /** Message types (byte 18 of each header) seen so far, in order. */
  types(): number[] {
    const all = Buffer.concat(this.received);
    const out: number[] = [];
    for (let p = 0; p + 19 <= all.length; p += all.readUInt16BE(p + 16)) out.push(all[p + 18]);
    return out;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}
