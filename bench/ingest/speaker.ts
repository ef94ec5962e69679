// A minimal BGP speaker for the bench: connect, OPEN, KEEPALIVE, then either blast
// pre-encoded UPDATEs (the injector) or hand every received UPDATE to a callback (the monitor).
// Not an FSM (RFC 4271 §8): enough of the protocol to hold one session for one run, no more.

import * as net from 'node:net';
import type { BenchFamily } from './workload.js';

export interface SpeakerOptions {
  name: string;
  host: string;
  port: number;
  localAddress: string;
  myAs: number;
  bgpId: string;
  /** The family the session carries; offered as the only RFC 4760 Multiprotocol capability. */
  family: BenchFamily;
  /** Give up when no session is Established by this time (ms since epoch). */
  deadline: number;
  onUpdate?: (buf: Buffer, off: number, len: number) => void;
  /** Every message received (type code), as soon as its bytes are in: the watcher's clock. */
  onMessage?: (type: number) => void;
  /** Hold Time this speaker offers in its OPEN (RFC 4271 §4.2); default 240. */
  holdTime?: number;
}

const KEEPALIVE = Buffer.from([...Array(16).fill(0xff), 0, 19, 4]);
const HOLD_TIME = 240;

/** RFC 4271 §4.2 OPEN with RFC 5492 capabilities: Multiprotocol (RFC 4760), 4-octet AS (RFC 6793). */
export function encodeOpen(myAs: number, bgpId: string, family: BenchFamily, holdTime = HOLD_TIME): Buffer {
  const caps = Buffer.from([
    2,
    6,
    1,
    4,
    0,
    family === 'ipv4' ? 1 : 2,
    0,
    1, // Multiprotocol AFI/SAFI
    2,
    6,
    65,
    4,
    (myAs >>> 24) & 0xff,
    (myAs >>> 16) & 0xff,
    (myAs >>> 8) & 0xff,
    myAs & 0xff,
  ]);
  const body = Buffer.alloc(10);
  body[0] = 4;
  body.writeUInt16BE(myAs > 0xffff ? 23456 : myAs, 1); // AS_TRANS (RFC 6793 §9)
  body.writeUInt16BE(holdTime, 3);
  for (const [i, o] of bgpId.split('.').entries()) body[5 + i] = Number(o);
  body[9] = caps.length;
  const len = 19 + body.length + caps.length;
  const hdr = Buffer.alloc(19, 0xff);
  hdr.writeUInt16BE(len, 16);
  hdr[18] = 1;
  return Buffer.concat([hdr, body, caps]);
}

/** NOTIFICATION Cease / Administrative Shutdown (RFC 4486 §4 subcode 2). */
const CEASE = Buffer.from([...Array(16).fill(0xff), 0, 21, 3, 6, 2]);

export class BenchSpeaker {
  private sock: net.Socket | null = null;
  private rest: Buffer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private established = false;
  /** Set when the session fails after Established: the run is then void. */
  failure: string | null = null;
  bytesIn = 0;
  /** Hold Time in the peer's OPEN, and the one in force: the smaller of the two (RFC 4271 §4.2). */
  peerHoldTime = -1;
  negotiatedHoldTime = -1;

  private constructor(readonly opts: SpeakerOptions) {}

  /** Connects and retries until the session is Established or the deadline passes. */
  static async connect(opts: SpeakerOptions): Promise<BenchSpeaker> {
    let last = 'no attempt';
    while (Date.now() < opts.deadline) {
      const s = new BenchSpeaker(opts);
      try {
        await s.attempt();
        return s;
      } catch (e) {
        last = (e as Error).message;
        s.close();
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw new Error(`${opts.name}: no session with ${opts.host}:${opts.port}: ${last}`);
  }

  private attempt(): Promise<void> {
    const o = this.opts;
    return new Promise((resolve, reject) => {
      let openSeen = false;
      const left = Math.max(100, o.deadline - Date.now());
      const sock = net.connect({ host: o.host, port: o.port, localAddress: o.localAddress });
      this.sock = sock;
      sock.setNoDelay(true);
      const giveUp = setTimeout(() => fail('timed out waiting for OPEN/KEEPALIVE'), Math.min(left, 10_000));
      const fail = (why: string): void => {
        clearTimeout(giveUp);
        if (!this.established) reject(new Error(why));
        else if (this.failure === null) this.failure = `${o.name}: ${why}`;
      };
      sock.on('connect', () => sock.write(encodeOpen(o.myAs, o.bgpId, o.family, o.holdTime)));
      sock.on('error', (e) => fail(e.message));
      sock.on('close', () => fail('connection closed'));
      sock.on('data', (chunk: Buffer) => {
        this.bytesIn += chunk.length;
        const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
        let off = 0;
        while (buf.length - off >= 19) {
          const len = buf.readUInt16BE(off + 16);
          if (len < 19) return fail(`bad message length ${len}`);
          if (buf.length - off < len) break;
          const type = buf[off + 18];
          o.onMessage?.(type);
          if (type === 2) {
            try {
              o.onUpdate?.(buf, off, len);
            } catch (e) {
              return fail(`bad UPDATE: ${(e as Error).message}`);
            }
          } else if (type === 1) {
            openSeen = true;
            const hold = buf.readUInt16BE(off + 22);
            sock.write(KEEPALIVE);
            const keep = Math.min(hold, o.holdTime ?? HOLD_TIME);
            this.peerHoldTime = hold;
            this.negotiatedHoldTime = keep;
            // RFC 4271 §4.4: KEEPALIVE at a third of the negotiated hold time; 0 means none.
            if (keep > 0) this.timer = setInterval(() => sock.write(KEEPALIVE), (keep * 1000) / 3);
          } else if (type === 4) {
            if (openSeen && !this.established) {
              this.established = true;
              clearTimeout(giveUp);
              resolve();
            }
          } else if (type === 3) {
            return fail(`NOTIFICATION ${buf[off + 19]}/${buf[off + 20]} from peer`);
          }
          off += len;
        }
        this.rest = off < buf.length ? buf.subarray(off) : null;
      });
    });
  }

  /**
   * Writes the messages as fast as the socket drains, concatenated into large writes.
   * Resolves when everything has been handed to the kernel.
   */
  async blast(msgs: Buffer[], onFirstWrite: () => void): Promise<void> {
    const sock = this.sock;
    if (!sock) throw new Error('not connected');
    const CHUNK = 256 * 1024;
    const chunks: Buffer[] = [];
    let cur: Buffer[] = [];
    let curLen = 0;
    for (const m of msgs) {
      cur.push(m);
      curLen += m.length;
      if (curLen >= CHUNK) {
        chunks.push(Buffer.concat(cur, curLen));
        cur = [];
        curLen = 0;
      }
    }
    if (curLen > 0) chunks.push(Buffer.concat(cur, curLen));
    onFirstWrite();
    for (const c of chunks) {
      if (this.failure) throw new Error(this.failure);
      if (!sock.write(c)) await new Promise<void>((r) => sock.once('drain', () => r()));
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const s = this.sock;
    this.sock = null;
    if (s && !s.destroyed) {
      if (!this.established) s.destroy();
      else {
        s.end(CEASE);
        setTimeout(() => s.destroy(), 200).unref();
      }
    }
  }
}
