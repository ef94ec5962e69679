// The main thread's handle on BFD: starts the worker thread (worker.ts) when the first session is
// wanted, hands it the desired sessions, and re-emits its state changes. Holds no BFD state of its
// own beyond the last state per peer (for `bfdUp()`), so the worker stays the one owner.

import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { StateName } from './packet.js';
import type { BfdPeerConfig, BfdSessionView, BfdStateEvent, FromWorker, ToWorker } from './types.js';

export interface BfdManagerEvents {
  state: [BfdStateEvent];
  problem: [{ peerAddress?: string; message: string }];
}

export class BfdManager extends EventEmitter<BfdManagerEvents> {
  private worker?: Worker;
  private port?: MessagePort;
  private nextId = 1;
  private readonly pending = new Map<number, (s: BfdSessionView[]) => void>();
  private readonly states = new Map<string, StateName>();
  private wanted: BfdPeerConfig[] = [];
  private closing = false;

  /** The desired sessions, whole; the worker diffs them (unchanged ones keep running). */
  set(sessions: BfdPeerConfig[]): void {
    this.wanted = sessions;
    for (const k of [...this.states.keys()]) if (!sessions.some((s) => s.peerAddress === k)) this.states.delete(k);
    if (sessions.length === 0 && !this.worker) return;
    this.send({ type: 'set', sessions });
  }

  /** Last known state of the session to `peer` (Down when there is none). */
  state(peer: string): StateName {
    return this.states.get(peer) ?? 'Down';
  }

  has(peer: string): boolean {
    return this.wanted.some((s) => s.peerAddress === peer);
  }

  query(): Promise<BfdSessionView[]> {
    if (!this.worker) return Promise.resolve([]);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ type: 'query', id });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const w = this.worker;
    if (!w) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void w.terminate().then(() => resolve()), 1000);
      w.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      this.send({ type: 'stop' });
    });
    this.worker = undefined;
    this.port?.close();
  }

  private send(m: ToWorker): void {
    if (!this.worker) this.spawn();
    this.port?.postMessage(m);
  }

  private spawn(): void {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(join(__dirname, 'worker.js'), { workerData: { bfdPort: port2 }, transferList: [port2] });
    // BFD must not keep ternd alive by itself; the daemon closes it on shutdown.
    this.worker.unref();
    port1.unref();
    this.worker.on('error', (err) => this.emit('problem', { message: `BFD worker: ${err.message}` }));
    // A worker that died takes every BFD session with it; start a new one with the same sessions
    // (they come Up again through the usual handshake) rather than leave BFD silently off.
    this.worker.on('exit', (code) => {
      if (this.closing) return;
      this.emit('problem', { message: `BFD worker exited (code ${code}); restarting it` });
      this.worker = undefined;
      this.port?.close();
      for (const k of this.states.keys()) this.states.set(k, 'Down');
      for (const resolve of this.pending.values()) resolve([]);
      this.pending.clear();
      if (this.wanted.length) this.send({ type: 'set', sessions: this.wanted });
    });
    port1.on('message', (m: FromWorker) => this.onMessage(m));
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'state':
        this.states.set(m.event.peerAddress, m.event.to);
        this.emit('state', m.event);
        break;
      case 'snapshot':
        this.pending.get(m.id)?.(m.sessions);
        this.pending.delete(m.id);
        break;
      case 'error':
        this.emit('problem', { peerAddress: m.peerAddress, message: m.message });
        break;
      case 'stopped':
        break;
    }
  }
}
