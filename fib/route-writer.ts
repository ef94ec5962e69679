// Writing routes to the kernel: a stream of planned operations (Op) becomes batches of netlink
// requests, a slice of routes per event-loop turn, several slices in flight in the I/O worker,
// and each ACK or error updates the prefix table's installed state. Bulk withdrawals by nexthop
// object and the collection of unused nexthop objects live here too. NetlinkFib (netlink-fib.ts)
// decides WHAT each prefix should have; this file only gets it there.
import { setImmediate as yieldTick } from 'node:timers/promises';
import type { IpPrefix } from './prefix.js';
import type { ChangeBatch } from './batch.js';
import { MsgWriter } from './netlink/codec.js';
import type { AckError, NetlinkClient } from './netlink/client.js';
import * as C from './netlink/consts.js';
import type { NexthopTable } from './nexthops.js';
import type { PrefixTable } from './prefix-table.js';
import type { InstalledVariants, Installed } from './variants.js';
import { encodeNexthopCreate, encodeNexthopDel, encodeRouteDel, encodeRouteSet, type KernelParams } from './kernel.js';
import type { InstallSpec } from './resolve.js';

/**
 * One prefix's planned write, from planning to its ACK. A class with every field set in the
 * constructor (one hidden class), and it doubles as the in-flight record: a million routes make
 * a million of these and nothing else per route.
 */
export class Op {
  why?: string;
  metric?: number;
  /** The prefix's entry in the prefix table (-1: none); entries never move. */
  slot = -1;
  /** Already removed from the kernel with its nexthop object (see flushCoveredNexthops). */
  flushed = false;
  seq = 0;
  replace = false;
  nhId?: number;
  old?: Installed;
  constructor(
    readonly p: IpPrefix,
    readonly want: InstallSpec | null,
    readonly idx: number,
    slot: number,
  ) {
    this.slot = slot;
  }
}
interface NhSent {
  seq: number;
  nhId: number;
}
export type Outcome = 'added' | 'replaced' | 'deleted' | 'unchanged' | 'absent' | 'failed';
export type Report = (op: Op, outcome: Outcome, error?: string) => void;

export interface WriterOptions {
  chunkRoutes: number;
  pipelineDepth: number;
  maxSendBytes: number;
  ackEach: boolean;
}

export class RouteWriter {
  /** Nexthop objects in use (undefined: inline next hops, before Linux 5.3 or turned off). */
  nh: NexthopTable | undefined;

  /** `onLost`: some requests got no answer; the kernel must be dumped to know their fate. */
  constructor(
    private readonly client: NetlinkClient,
    private readonly k: KernelParams,
    private readonly o: WriterOptions,
    private readonly table: PrefixTable,
    private readonly variants: InstalledVariants,
    private readonly onLost: () => void,
  ) {}

  /**
   * Write what differs between each op's wanted spec and the installed belief, a chunk of
   * routes per main-thread slice, up to pipelineDepth slices in flight in the worker. report() gets each op.
   */
  async execute(ops: Iterable<Op>, report: Report): Promise<void> {
    const inflight: Promise<void>[] = [];
    const failedNh = new Map<number, string>();
    const it = ops[Symbol.iterator]();
    let done = false;
    while (!done) {
      const w = this.client.writer(this.o.chunkRoutes * 72);
      const sent: Op[] = [];
      const nhSent: NhSent[] = [];
      let routes = 0;
      // A slice ends after chunkRoutes writes, or after SLICE_MS of work (a reconcile of a
      // million correct routes, or a withdrawal already done by a nexthop flush, writes nothing).
      const until = performance.now() + SLICE_MS;
      for (let pulled = 1; routes < this.o.chunkRoutes; pulled++) {
        if ((pulled & 255) === 0 && performance.now() > until) break;
        const n = it.next();
        if (n.done) {
          done = true;
          break;
        }
        const op = n.value;
        const slot = this.slotOf(op);
        if (slot >= 0 && this.table.busy(slot)) {
          // The same prefix again while its first write is in flight: let that one finish.
          if (sent.length || nhSent.length) inflight.push(this.send(w, sent, nhSent, failedNh, report));
          else this.client.giveBack(w);
          await Promise.all(inflight.splice(0));
          return this.execute(prepend(op, it), report);
        }
        if (op.flushed) {
          if (slot >= 0) this.table.setInstalled(slot, -1);
          report(op, 'deleted');
          continue;
        }
        const old = slot >= 0 ? this.variants.get(this.table.installed(slot)) : undefined;
        if (op.want && old?.key === op.want.key && old.metric === op.want.metric) {
          report(op, 'unchanged');
          continue;
        }
        if (!op.want && !old && op.metric === undefined) {
          report(op, op.why ? 'failed' : 'absent', op.why);
          continue;
        }
        routes++;
        if (slot >= 0) this.table.setBusy(slot, true);
        op.old = old;
        if (!op.want) {
          op.seq = this.client.nextSeq();
          encodeRouteDel(w, op.seq, this.k, op.p, op.metric ?? old?.metric);
          sent.push(op);
          continue;
        }
        if (this.nh && op.want.kind === 'unicast') {
          let id = this.nh.acquireKnown(op.want);
          if (id < 0) {
            const a = this.nh.acquire(op.want);
            id = a.id;
            for (const c of a.creates) {
              const seq = this.client.nextSeq();
              encodeNexthopCreate(w, seq, this.k, c);
              nhSent.push({ seq, nhId: c.id });
            }
          }
          op.nhId = id;
        }
        // Another metric is another kernel route (the metric is part of its key): add the new
        // one, then remove the old (make before break), as a stray at the old metric.
        const moved = old !== undefined && old.metric !== op.want.metric;
        op.replace = old !== undefined && !moved;
        op.seq = this.client.nextSeq();
        encodeRouteSet(w, op.seq, this.k, op.p, op.want, op.nhId, op.replace);
        sent.push(op);
        if (moved) {
          const del = new Op(op.p, null, -1, -1);
          del.metric = old.metric ?? this.k.metric;
          del.seq = this.client.nextSeq();
          encodeRouteDel(w, del.seq, this.k, op.p, del.metric);
          sent.push(del);
        }
      }
      if (sent.length || nhSent.length) inflight.push(this.send(w, sent, nhSent, failedNh, report));
      else this.client.giveBack(w);
      if (inflight.length >= this.o.pipelineDepth) await inflight.shift();
      await yieldTick(); // a chance for timers and I/O between slices, always
    }
    await Promise.all(inflight);
    await this.collectNexthops();
  }

  private async send(w: MsgWriter, sent: Op[], nhSent: NhSent[], failedNh: Map<number, string>, report: Report): Promise<void> {
    const errs = new Map<number, AckError>();
    let lost = false;
    for (const e of await this.client.batch(w, this.o.maxSendBytes, this.o.ackEach)) {
      errs.set(e.seq, e);
      if (e.message === 'no ACK received' || e.message === 'send failed') lost = true;
    }
    // Without an answer the kernel may or may not have done it: find out from a fresh dump.
    if (lost) this.onLost();
    const textOf = (e: AckError): string => (e.message ? `${C.errnoName(e.errno)}: ${e.message}` : C.errnoName(e.errno));
    for (const n of nhSent) {
      const e = errs.get(n.seq);
      if (e) {
        failedNh.set(n.nhId, `${textOf(e)} (nexthop ${n.nhId})`);
        this.nh?.forget(n.nhId);
      }
    }
    for (const s of sent) {
      const e = errs.size ? errs.get(s.seq) : undefined;
      const text = e && textOf(e);
      const op = s;
      const slot = this.slotOf(op);
      if (!op.want) {
        // ESRCH/ENOENT: already gone (the kernel flushes routes of a downed link itself).
        if (e && e.errno !== C.ESRCH && e.errno !== C.ENOENT) {
          this.unbusy(slot);
          report(op, 'failed', text);
          continue;
        }
        if (s.old?.nhId !== undefined) this.nh?.release(s.old.nhId);
        if (slot >= 0) this.table.setInstalled(slot, -1);
        this.unbusy(slot);
        report(op, op.why ? 'failed' : 'deleted', op.why);
        continue;
      }
      if (e) {
        this.unbusy(slot);
        if (s.nhId !== undefined) this.nh?.release(s.nhId);
        // A route moving to another metric: its old route was removed in the same batch, so
        // what the kernel holds now is learnt from a dump.
        if (s.old !== undefined && !s.replace) this.onLost();
        const why =
          (s.nhId !== undefined && failedNh.get(s.nhId)) ||
          (e.errno === C.EEXIST && !s.replace ? `${text} (a route Tern does not own holds this prefix/metric; left alone)` : text);
        report(op, 'failed', why);
        continue;
      }
      if (s.old?.nhId !== undefined) this.nh?.release(s.old.nhId);
      if (slot >= 0) this.table.setInstalled(slot, this.variants.intern(op.want!.key, s.nhId, op.want!.metric));
      this.unbusy(slot);
      report(op, s.replace ? 'replaced' : 'added');
    }
  }

  /**
   * A bulk withdrawal that removes EVERY route pointing at one of Tern's nexthop objects is done
   * by deleting that object: the kernel then drops all those routes in one pass over the table
   * (__remove_nexthop_fib), as `ip route flush` does, instead of one RTM_DELROUTE each.
   * Returns the ids deleted; their routes are marked gone when their withdrawal is reached.
   */
  async flushCoveredNexthops(batch: ChangeBatch): Promise<Set<number>> {
    const nh = this.nh!;
    const count = new Map<number, number>();
    const turn = new Turns();
    const seen = new Uint8Array(this.table.capacity); // no inserts below: slot numbers stay below it
    const k = new Uint32Array(5);
    for (let i = 0; i < batch.length; i++) {
      if (turn.due(i)) await turn.take();
      if (!batch.isWithdraw(i) || !batch.valid(i)) continue;
      const slot = this.table.findKey(batch.keyInto(i, k));
      if (slot < 0 || seen[slot]) continue; // the same prefix twice must not count twice
      seen[slot] = 1;
      const id = this.variants.get(this.table.installed(slot))?.nhId;
      if (id !== undefined) count.set(id, (count.get(id) ?? 0) + 1);
    }
    const ids = [...count].filter(([id, n]) => n === nh.refsOf(id)).map(([id]) => id);
    const done = new Set<number>();
    if (!ids.length) return done;
    const w = new MsgWriter(ids.length * 32);
    const seqs = ids.map((id) => {
      const seq = this.client.nextSeq();
      encodeNexthopDel(w, seq, id);
      return seq;
    });
    const failed = new Set((await this.client.batch(w, this.o.maxSendBytes, this.o.ackEach)).map((e) => e.seq));
    ids.forEach((id, i) => {
      if (failed.has(seqs[i])) return;
      nh.forget(id);
      done.add(id);
    });
    return done;
  }

  /** The op's entry in the prefix table (-1: none, or a stray route at a foreign metric). */
  private slotOf(op: Op): number {
    return op.metric !== undefined ? -1 : op.slot;
  }

  private unbusy(slot: number): void {
    if (slot >= 0) this.table.setBusy(slot, false);
  }

  private async collectNexthops(): Promise<void> {
    const ids = this.nh?.collect() ?? [];
    if (!ids.length) return;
    const w = new MsgWriter(ids.length * 32);
    for (const id of ids) encodeNexthopDel(w, this.client.nextSeq(), id);
    await this.client.batch(w, this.o.maxSendBytes, this.o.ackEach);
  }
}

/** Work per turn of the event loop before giving timers and I/O their go (issue 5: never
 * blocked for more than 50 ms; garbage collection must fit in the rest). */
const SLICE_MS = 8;

/** For loops over a million entries: due() every SLICE_MS (looked at every 256 steps). */
export class Turns {
  private until = performance.now() + SLICE_MS;
  due(i: number): boolean {
    return (i & 255) === 255 && performance.now() > this.until;
  }
  async take(): Promise<void> {
    await yieldTick();
    this.until = performance.now() + SLICE_MS;
  }
}

function* prepend<T>(first: T, rest: Iterator<T>): Generator<T> {
  yield first;
  for (let n = rest.next(); !n.done; n = rest.next()) yield n.value;
}
