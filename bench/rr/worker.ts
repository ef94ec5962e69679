// One worker thread of the route-reflector bench: holds a slice of the clients (each a light
// iBGP speaker on its own loopback address), announces each client's blocks as soon as its
// session is up, counts what each client receives (counter.ts) and tells the main thread when
// every one of its clients holds every other client's blocks, and when each client saw a
// watched change. Spreading the clients over threads keeps the harness from being the
// bottleneck: 5,000 clients receive 100M NLRI between them.

import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { BenchSpeaker } from '../ingest/speaker.js';
import { RrCounter, announceBlocks, withdrawBlocks } from './counter.js';
import { RR_AS, clientAddress, clientAddressInt } from './layout.js';

export interface WorkerInit {
  clients: number[];
  total: number;
  blocksPerClient: number;
  host: string;
  port: number;
  /** Give up connecting at this wall-clock ms. */
  deadline: number;
  /** Connection attempts this worker has in flight at most (OPEN exchange included). */
  concurrency: number;
}

export type ToWorker =
  | { type: 'start' }
  | { type: 'watch'; event: number; block: number; announce: boolean }
  | { type: 'write'; event: number; client: number; block: number; announce: boolean }
  | { type: 'stop' };

export interface WorkerStats {
  updates: number;
  nlri: number;
  foreign: number;
  duplicates: number;
  withdrawals: number;
  wrongNextHop: number;
  own: number;
  bytesIn: number;
  /** Blocks held, summed over this worker's clients. */
  held: number;
}

export type FromWorker =
  | { type: 'progress'; established: number; complete: number; held: number; failure: string | null }
  | { type: 'connected'; at: number }
  | { type: 'complete'; at: number }
  | { type: 'watching'; event: number }
  | { type: 'wrote'; event: number; at: number }
  | { type: 'seen'; event: number; times: number[] }
  | { type: 'stopped'; stats: WorkerStats }
  | { type: 'error'; message: string };

/** Wall-clock ms with sub-ms resolution, comparable across threads. */
const now = (): number => performance.timeOrigin + performance.now();

function run(init: WorkerInit): void {
  const port = parentPort;
  if (!port) throw new Error('not a worker thread');
  const post = (m: FromWorker): void => port.postMessage(m);
  const slots = init.clients.length;
  const expected = (init.total - 1) * init.blocksPerClient;
  const speakers: (BenchSpeaker | null)[] = new Array(slots).fill(null);
  const doneAt = new Float64Array(slots);
  let complete = 0;
  let lastDone = 0;
  let established = 0;
  // The watched change: which slots saw it, when.
  let event = -1;
  let seenAt = new Float64Array(0);
  let seen = 0;
  let needed = 0;

  const counter = new RrCounter(init.clients, init.total, init.blocksPerClient, (slot) => {
    if (event < 0 || seenAt[slot] !== 0) return;
    seenAt[slot] = now();
    if (++seen === needed) post({ type: 'seen', event, times: Array.from(seenAt).filter((t) => t !== 0) });
  });
  const checkDone = (slot: number): void => {
    if (doneAt[slot] === 0 && counter.held[slot] === expected) {
      doneAt[slot] = now();
      lastDone = Math.max(lastDone, doneAt[slot]);
      if (++complete === slots) post({ type: 'complete', at: lastDone });
    }
  };
  const blocksOf = (client: number): number[] => Array.from({ length: init.blocksPerClient }, (_, j) => client * init.blocksPerClient + j);

  const start = async (): Promise<void> => {
    if (expected === 0) post({ type: 'complete', at: now() });
    // At most `concurrency` sessions being set up at once: a storm of thousands of SYNs at one
    // listener overflows its accept queue, and the kernel's SYN retransmission backoff (1, 3,
    // 7, 15 s...) then decides the time, not the reflector.
    let next = 0;
    const one = async (slot: number): Promise<void> => {
      const client = init.clients[slot];
      const s = await BenchSpeaker.connect({
        name: `client ${client}`,
        host: init.host,
        port: init.port,
        localAddress: clientAddress(client),
        myAs: RR_AS,
        bgpId: clientAddress(client),
        family: 'ipv4',
        deadline: init.deadline,
        onUpdate: (buf, off, len) => {
          counter.update(slot, buf, off, len);
          checkDone(slot);
        },
      });
      speakers[slot] = s;
      established++;
      await s.blast([announceBlocks(blocksOf(client), clientAddressInt(client))], () => undefined);
    };
    const lane = async (): Promise<void> => {
      while (next < slots) await one(next++);
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(init.concurrency, slots)) }, lane));
    post({ type: 'connected', at: now() });
  };

  const progress = setInterval(() => {
    let held = 0;
    for (let i = 0; i < slots; i++) held += counter.held[i];
    const failure = speakers.find((s) => s?.failure)?.failure ?? null;
    post({ type: 'progress', established, complete, held, failure });
  }, 500);

  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'start':
        start().catch((e: unknown) => post({ type: 'error', message: (e as Error).message }));
        break;
      case 'watch': {
        event = m.event;
        counter.watch = { block: m.block, announce: m.announce };
        seenAt = new Float64Array(slots);
        seen = 0;
        const owner = Math.floor(m.block / init.blocksPerClient);
        needed = slots - (init.clients.includes(owner) ? 1 : 0);
        post({ type: 'watching', event: m.event });
        if (needed === 0) post({ type: 'seen', event, times: [] });
        break;
      }
      case 'write': {
        const slot = init.clients.indexOf(m.client);
        const s = speakers[slot];
        if (!s) {
          post({ type: 'error', message: `client ${m.client} is not connected in this worker` });
          break;
        }
        const msg = m.announce ? announceBlocks([m.block], clientAddressInt(m.client)) : withdrawBlocks([m.block]);
        let at = 0;
        s.blast([msg], () => (at = now())).then(
          () => post({ type: 'wrote', event: m.event, at }),
          (e: unknown) => post({ type: 'error', message: (e as Error).message }),
        );
        break;
      }
      case 'stop': {
        clearInterval(progress);
        let held = 0;
        for (let i = 0; i < slots; i++) held += counter.held[i];
        const bytesIn = speakers.reduce((a, s) => a + (s?.bytesIn ?? 0), 0);
        for (const s of speakers) s?.close();
        const { updates, nlri, foreign, duplicates, withdrawals, wrongNextHop, own } = counter;
        post({ type: 'stopped', stats: { updates, nlri, foreign, duplicates, withdrawals, wrongNextHop, own, bytesIn, held } });
        setTimeout(() => process.exit(0), 300).unref();
        break;
      }
    }
  });
}

if (parentPort) run(workerData as WorkerInit);
