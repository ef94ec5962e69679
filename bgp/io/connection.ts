// One TCP connection's I/O for a session: framing of the byte stream, an outbound queue with a
// priority lane, backpressure, and the RFC 9687 send hold timer. No BGP state lives here.
// Also the driver's timers: lazily re-armed deadlines whose expiry waits for one I/O poll phase.

import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Framer } from '../codec/index.js';
import { BgpError } from '../codec/types.js';

export interface WireHandlers {
  onMessage(msg: Buffer): void;
  onFramingError(err: BgpError): void;
  /** The peer closed or the socket failed (not called after our own close()). */
  onClosed(err?: Error): void;
  /** RFC 9687: nothing could be written for the send hold time. */
  onSendHoldExpired(): void;
  /** Written bytes left the queue (for the session's drain bookkeeping). */
  onProgress(): void;
  /**
   * A message longer than the peer's maximum was handed to write() and dropped (RFC 8654 §4).
   * Only a bug upstream does this: the RIB never encodes a route that does not fit.
   */
  onOversize?(buf: Buffer, max: number): void;
}

/**
 * Outbound queue: `priority` (KEEPALIVE, NOTIFICATION, OPEN, ROUTE-REFRESH) always goes before
 * `bulk` (UPDATEs), so keepalives never starve behind an UPDATE backlog; only what node has
 * already accepted (< its 16 KiB highWaterMark) and the kernel send buffer can delay them.
 */
export class Wire {
  readonly framer = new Framer();
  closed = false;
  /**
   * The largest message the peer accepts: 4096 (RFC 4271 §4.1) until both sides announced
   * extended messages, 65535 after (RFC 8654 §4; OPEN is sent before, so it is never longer).
   */
  maxMessageLength = 4096;
  /** Messages dropped because they exceeded maxMessageLength. */
  oversizeDropped = 0;
  /** Bytes queued here and not yet handed to the socket (OutQ). */
  queuedBytes = 0;
  private readonly priority: Buffer[] = [];
  private bulk: Buffer[] = [];
  private bulkHead = 0;
  private blocked = false;
  private sendHold?: NodeJS.Timeout;

  constructor(
    readonly socket: net.Socket,
    private readonly h: WireHandlers,
    private readonly sendHoldMs: () => number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    let error: Error | undefined;
    socket.on('error', (e) => (error = e));
    socket.on('close', () => {
      this.stopSendHold();
      if (this.closed) return;
      this.closed = true;
      this.h.onClosed(error);
    });
  }

  get queuedMessages(): number {
    return this.priority.length + this.bulk.length - this.bulkHead;
  }

  write(buf: Buffer, priority: boolean): void {
    if (this.closed || !this.fits(buf)) return;
    if (priority) this.priority.push(buf);
    else this.bulk.push(buf);
    this.queuedBytes += buf.length;
    this.pump();
  }

  /** Queues many UPDATEs on the bulk lane with one pump. */
  writeMany(bufs: readonly Buffer[]): void {
    if (this.closed) return;
    for (const b of bufs) {
      if (!this.fits(b)) continue;
      this.bulk.push(b);
      this.queuedBytes += b.length;
    }
    this.pump();
  }

  /**
   * RFC 8654 §4: a message above the peer's maximum must never be sent; the peer would reset
   * the session (1/2 Bad Message Length). Every outgoing message passes here, so this is the
   * one place that can promise it.
   */
  private fits(b: Buffer): boolean {
    if (b.length <= this.maxMessageLength) return true;
    this.oversizeDropped++;
    this.h.onOversize?.(b, this.maxMessageLength);
    return false;
  }

  /** Closes the connection; with `flush` the priority lane (a NOTIFICATION) is written first. */
  close(flush: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.stopSendHold();
    this.bulk = [];
    this.bulkHead = 0;
    const s = this.socket;
    if (flush && this.priority.length > 0 && !s.destroyed) {
      s.cork();
      for (const b of this.priority) s.write(b);
      s.uncork();
      this.priority.length = 0;
      s.end();
      // A peer that does not read would keep the FIN queued forever.
      setTimeout(() => s.destroy(), 1000).unref();
    } else {
      s.destroy();
    }
    this.queuedBytes = 0;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let msgs: Buffer[];
    try {
      msgs = this.framer.push(chunk);
    } catch (err) {
      if (!(err instanceof BgpError)) throw err;
      this.h.onFramingError(err);
      return;
    }
    for (const m of msgs) {
      if (this.closed) return;
      this.h.onMessage(m);
    }
  }

  private pump(): void {
    if (this.blocked || this.closed) return;
    const s = this.socket;
    s.cork();
    let wrote = false;
    while (!this.blocked) {
      let b: Buffer | undefined = this.priority.shift();
      if (!b && this.bulkHead < this.bulk.length) b = this.bulk[this.bulkHead++];
      if (!b) break;
      this.queuedBytes -= b.length;
      wrote = true;
      if (!s.write(b)) this.blocked = true;
    }
    s.uncork();
    // Written messages leave the queue: an emptied queue at once. A route reflector's clients
    // each got a few thousand messages (their initial update) at most; kept until the next
    // compaction, every queue held its share of old snapshots (issue 18's 5,000-client memory).
    if (this.bulkHead === this.bulk.length) {
      if (this.bulkHead > 0) this.bulk = [];
      this.bulkHead = 0;
    } else if (this.bulkHead > 1024 && this.bulkHead * 2 > this.bulk.length) {
      this.bulk = this.bulk.slice(this.bulkHead);
      this.bulkHead = 0;
    }
    // RFC 9687 §3: the SendHoldTimer runs only while we have data the peer does not take.
    if (this.blocked && !this.sendHold) {
      this.sendHold = setTimeout(() => {
        this.sendHold = undefined;
        if (!this.closed) this.h.onSendHoldExpired();
      }, this.sendHoldMs());
    }
    if (wrote) this.h.onProgress();
  }

  private onDrain(): void {
    // Progress: the peer took everything node held; restart the RFC 9687 timer.
    this.blocked = false;
    this.stopSendHold();
    this.pump();
  }

  private stopSendHold(): void {
    if (this.sendHold) clearTimeout(this.sendHold);
    this.sendHold = undefined;
  }
}

/**
 * Named one-shot timers. Re-arming to a later deadline only moves the deadline (the expiry
 * callback re-arms itself for the rest), so restarting the HoldTimer on every UPDATE costs no
 * clearTimeout/setTimeout pair. An expiry is confirmed after one setImmediate: a timer callback
 * runs before the poll phase, and after a long event-loop stall the KEEPALIVE that should have
 * reset the HoldTimer may still be unread in the socket (see docs/sessions.md).
 */
export class Timers<N extends string> {
  private readonly t = new Map<N, { handle: NodeJS.Timeout; deadline: number }>();

  arm(name: N, ms: number, fire: () => void): void {
    const deadline = performance.now() + ms;
    const cur = this.t.get(name);
    if (cur && cur.deadline <= deadline) {
      cur.deadline = deadline;
      return;
    }
    if (cur) clearTimeout(cur.handle);
    const entry = { handle: setTimeout(() => this.expire(name, entry, fire), ms), deadline };
    this.t.set(name, entry);
  }

  private expire(name: N, entry: { handle: NodeJS.Timeout; deadline: number }, fire: () => void): void {
    if (this.t.get(name) !== entry) return;
    const left = entry.deadline - performance.now();
    if (left > 1) {
      entry.handle = setTimeout(() => this.expire(name, entry, fire), left);
      return;
    }
    setImmediate(() => {
      if (this.t.get(name) !== entry) return; // stopped meanwhile
      if (entry.deadline - performance.now() > 1) {
        // Re-armed by I/O read in this loop turn.
        entry.handle = setTimeout(() => this.expire(name, entry, fire), entry.deadline - performance.now());
        return;
      }
      this.t.delete(name);
      fire();
    });
  }

  stop(name: N): void {
    const cur = this.t.get(name);
    if (cur) clearTimeout(cur.handle);
    this.t.delete(name);
  }

  stopAll(): void {
    for (const n of [...this.t.keys()]) this.stop(n);
  }

  has(name: N): boolean {
    return this.t.has(name);
  }
}
