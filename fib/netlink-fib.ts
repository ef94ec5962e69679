// NetlinkFib: Tern's routes in the Linux kernel. It keeps the DESIRED state (what the RIB asked
// for) and a belief of what is INSTALLED (from dumps and ACKs), and writes only the difference.
// What is installable is derived from desired state + current links/addresses (resolve.ts);
// when a link or address changes, or the event socket overran, it re-dumps the kernel and
// repairs the difference (resync), so a route whose interface went down is withdrawn and comes
// back with the interface. All writes are serialised; none blocks the event loop (see
// netlink/client.ts and docs/fib.md).
import { EventEmitter } from 'node:events';
import { setImmediate as yieldTick } from 'node:timers/promises';
import { contains, formatIp, formatPrefix, parseIp, parsePrefix, type IpPrefix } from './addr.js';
import { MsgWriter, parseMessages, type NlMsg } from './netlink/codec.js';
import { NetlinkClient, DumpError, type AckError } from './netlink/client.js';
import * as C from './netlink/consts.js';
import { decodeAddr, decodeLink, encodeAddrDump, encodeLinkDump } from './netlink/link.js';
import { decodeRoute, encodeRouteDump, encodeRouteGet } from './netlink/route.js';
import { encodeNexthopDump } from './netlink/nexthop.js';
import { NexthopTable } from './nexthops.js';
import { PrefixTable } from './prefix-table.js';
import { DesiredVariants, InstalledVariants, type Installed } from './variants.js';
import {
  adoptNexthops, decodeNexthopMsgs, decodeRouteMsgs, encodeNexthopCreate, encodeNexthopDel,
  encodeRouteDel, encodeRouteSet, isOurs, kernelRoute, routePrefix, scanRouteDump, type KernelParams,
} from './kernel.js';
import { Topology, isSpec, resolveRoute, type InstallSpec, type IpipMode, type Resolution, type Via } from './resolve.js';
import { TERN_METRIC, TERN_PROTO, type Fib, type FibChange, type FibEvents, type FibFailure, type FibResult, type FibRoute, type ReconcileResult } from './types.js';

export interface NetlinkFibOptions {
  table?: number; // default 254 (main)
  metric?: number; // default TERN_METRIC (32)
  protocol?: number; // default TERN_PROTO (201)
  tunnelDevice?: string; // default 'tunl0'
  ipipMode?: IpipMode; // default 'cross-subnet'
  /** Use nexthop objects (Linux 5.3+): 'auto' detects them at open() (default). */
  nexthopObjects?: 'auto' | boolean;
  /** Start with kernel writes on (default) or off (`bgpctl fib decouple` state). */
  coupled?: boolean;
  maxSendBytes?: number; // bytes per sendmsg, default 256 KiB
  chunkRoutes?: number; // routes encoded per main-thread slice, default 2048
  pipelineDepth?: number; // slices in flight to the I/O worker, default 8
  eventRcvbuf?: number; // event socket SO_RCVBUF(FORCE), default 16 MiB
  resyncDelayMs?: number; // debounce for event-triggered resyncs, default 100
  nexthopIdBase?: number; // first nexthop id Tern allocates, default 0x54000000
  /** NLM_F_ACK on every request (true), or only on the last of each datagram (default; errors
   * are still reported per request, see netlink/worker.ts runBatch). */
  ackEach?: boolean;
  /** From this many routes in one apply/reconcile, leave the route multicast groups while
   * writing (the kernel then builds no notification per route); 0 = never. Default 10000. */
  quietBulkRoutes?: number;
  /** Test hook only: slow the event reader down (see test/fib/netns.test.ts, ENOBUFS). */
  eventStallMs?: number;
}

/**
 * One prefix's planned write, from planning to its ACK. A class with every field set in the
 * constructor (one hidden class), and it doubles as the in-flight record: a million routes make
 * a million of these and nothing else per route.
 */
class Op {
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
  constructor(readonly p: IpPrefix, readonly want: InstallSpec | null, readonly idx: number, slot: number) { this.slot = slot; }
}
interface NhSent { seq: number; nhId: number }
type Outcome = 'added' | 'replaced' | 'deleted' | 'unchanged' | 'absent' | 'failed';
type Report = (op: Op, outcome: Outcome, error?: string) => void;

const GROUPS = [C.RTNLGRP_LINK, C.RTNLGRP_IPV4_IFADDR, C.RTNLGRP_IPV6_IFADDR, C.RTNLGRP_IPV4_ROUTE, C.RTNLGRP_IPV6_ROUTE]
  .reduce((m, g) => m | (1 << (g - 1)), 0);

export class NetlinkFib extends EventEmitter<FibEvents> implements Fib {
  private readonly k: KernelParams;
  private readonly o: Required<Omit<NetlinkFibOptions, 'table' | 'metric' | 'protocol' | 'eventStallMs'>>;
  private topo = new Topology();
  private nh: NexthopTable | undefined;
  /** Per prefix: desired variant, installed variant, write in flight. */
  private readonly table = new PrefixTable();
  private readonly wanted = new DesiredVariants();
  private readonly variants = new InstalledVariants();
  /** Resolution per desired variant and family, valid for one topology generation. */
  private cache: Map<number, Resolution> = new Map();
  private cacheGen = -1;
  private lock: Promise<unknown> = Promise.resolve();
  private resyncTimer?: NodeJS.Timeout;
  private resyncReasons = new Set<string>();
  private closed = false;
  /** False right after a dump while nothing can have changed since (no write, no event): the
   * reconcile that follows open() then needs no second dump of a million routes. */
  private kernelDirty = true;
  private changeSeen = 0; // bumped by every event: a dump is clean only if none came during it
  private strays: { prefix: string; metric: number }[] = [];
  private _coupled: boolean;

  private constructor(private readonly client: NetlinkClient, opts: NetlinkFibOptions) {
    super();
    this.k = { table: opts.table ?? 254, metric: opts.metric ?? TERN_METRIC, protocol: opts.protocol ?? TERN_PROTO };
    this.o = {
      tunnelDevice: opts.tunnelDevice ?? 'tunl0', ipipMode: opts.ipipMode ?? 'cross-subnet',
      nexthopObjects: opts.nexthopObjects ?? 'auto', coupled: opts.coupled ?? true,
      maxSendBytes: opts.maxSendBytes ?? 256 * 1024, chunkRoutes: opts.chunkRoutes ?? 2048, pipelineDepth: opts.pipelineDepth ?? 8,
      eventRcvbuf: opts.eventRcvbuf ?? 16 << 20, resyncDelayMs: opts.resyncDelayMs ?? 100,
      nexthopIdBase: opts.nexthopIdBase ?? 0x54000000, ackEach: opts.ackEach ?? false,
      quietBulkRoutes: opts.quietBulkRoutes ?? 10000,
    };
    this._coupled = this.o.coupled;
    if (this.o.nexthopObjects !== false) this.nh = new NexthopTable(this.o.nexthopIdBase);
  }

  /** Open the sockets, learn links, addresses, nexthop support and the routes Tern owns now. */
  static async open(opts: NetlinkFibOptions = {}): Promise<NetlinkFib> {
    const client = await NetlinkClient.open({ groups: GROUPS, eventRcvbuf: opts.eventRcvbuf ?? 16 << 20, ownProtocol: opts.protocol ?? TERN_PROTO, eventStallMs: opts.eventStallMs });
    const fib = new NetlinkFib(client, opts);
    client.on('messages', (m: NlMsg[]) => fib.onEvents(m));
    client.on('overrun', () => { fib.kernelDirty = true; fib.changeSeen++; fib.scheduleResync('event socket overrun (ENOBUFS)'); });
    try {
      await fib.serial(() => fib.loadKernel());
    } catch (e) {
      await client.close();
      throw e;
    }
    return fib;
  }

  get coupled(): boolean { return this._coupled; }
  /** Whether routes point at nexthop objects (else RTA_GATEWAY/RTA_MULTIPATH inline). */
  get usesNexthopObjects(): boolean { return this.nh !== undefined; }
  /** Prefixes known (desired or installed). */
  get size(): number { return this.table.size; }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  apply(changes: FibChange[]): Promise<FibFailure[]> {
    return this.serial(async () => {
      const failures = await this.applyPass(changes);
      if (!this._coupled || this.topo.unresolved.size === 0) return failures;
      // Next hops met for the first time that need recursive resolution: ask the kernel how it
      // reaches them and reconcile (which installs what they made resolvable). A change that
      // failed only for want of that lookup is no failure then; one that still fails says why now.
      await this.sync();
      return failures.filter((f) => {
        const p = parsePrefix(f.prefix);
        const slot = p ? this.table.find(p) : -1;
        if (slot < 0 || this.table.desired(slot) < 0) return true;
        if (this.table.installed(slot) >= 0) return false;
        f.error = this.plan(p!, this.table.desired(slot), f.index, slot).why ?? f.error;
        return true;
      });
    });
  }

  /** One pass of apply(): plan and write every change; the failures, in input order. */
  private async applyPass(changes: FibChange[]): Promise<FibFailure[]> {
    this.kernelDirty = true;
    const failures: FibFailure[] = [];
    const self = this;
    const flushed = this._coupled && this.nh && this.o.quietBulkRoutes > 0 && changes.length >= this.o.quietBulkRoutes
      ? await this.flushCoveredNexthops(changes) : new Set<number>();
    function* ops(): Generator<Op> {
      for (let i = 0; i < changes.length; i++) {
        const c = changes[i];
        const p = parsePrefix(c.prefix);
        if (!p) { failures.push({ index: i, prefix: c.prefix, error: `EINVAL: bad prefix ${c.prefix}` }); continue; }
        const withdraw = c.kind !== 'blackhole' && c.nexthops.length === 0;
        const slot = withdraw ? self.table.find(p) : self.table.insert(p);
        const id = withdraw ? -1 : self.wanted.intern(c);
        if (slot >= 0) self.table.setDesired(slot, id);
        if (!self._coupled) continue;
        const op = self.plan(p, id, i, slot);
        if (withdraw && flushed.size && slot >= 0) {
          const nhId = self.variants.get(self.table.installed(slot))?.nhId;
          if (nhId !== undefined && flushed.has(nhId)) op.flushed = true;
        }
        yield op;
      }
    }
    await this.quietly(changes.length, () => this.execute(ops(), (op, outcome, error) => {
      if (error) failures.push({ index: op.idx, prefix: changes[op.idx].prefix, error });
    }));
    return failures.sort((a, b) => a.index - b.index);
  }

  reconcile(desired: FibChange[]): Promise<ReconcileResult> {
    return this.serial(async () => {
      const failed: FibResult[] = [];
      // Mark everything undesired, then desire what is listed: the rest will be withdrawn.
      const turn = new Turns();
      let n = 0;
      for (const slot of this.table.slots()) {
        this.table.setDesired(slot, -1);
        if (turn.due(++n)) await turn.take();
      }
      for (let i = 0; i < desired.length; i++) {
        const c = desired[i];
        const p = parsePrefix(c.prefix);
        if (!p) failed.push({ prefix: c.prefix, ok: false, error: `EINVAL: bad prefix ${c.prefix}` });
        else if (c.kind === 'blackhole' || c.nexthops.length > 0) this.table.setDesired(this.table.insert(p), this.wanted.intern(c));
        if (turn.due(i)) await turn.take();
      }
      const r = this._coupled ? await this.sync() : { added: 0, replaced: 0, deleted: 0, unchanged: 0, failed: [] };
      r.failed.push(...failed);
      return r;
    });
  }

  couple(): Promise<ReconcileResult> {
    return this.serial(async () => {
      this._coupled = true;
      return this.sync();
    });
  }

  /** Stop writing and remove every route Tern installed (OpenBGPD `fib decouple`); desired state is kept. */
  decouple(): Promise<void> {
    return this.serial(async () => {
      this._coupled = false;
      this.kernelDirty = true;
      const self = this;
      function* ops(): Generator<Op> {
        for (const slot of self.table.slots()) if (self.table.installed(slot) >= 0) yield self.plan(self.table.prefixAt(slot), -1, -1, slot);
      }
      await this.execute(ops(), () => undefined);
    });
  }

  dump(): Promise<FibRoute[]> {
    return this.serial(async () => {
      const nh = this.nh ? new NexthopTable(this.o.nexthopIdBase) : undefined;
      if (nh) adoptNexthops(await this.dumpAll(encodeNexthopDump, decodeNexthopMsgs), nh, this.k);
      const out: FibRoute[] = [];
      for (const r of await this.dumpAll((w, seq) => encodeRouteDump(w, seq, 0, this.k.table, this.k.protocol), decodeRouteMsgs)) {
        if (!isOurs(r, this.k)) continue;
        const kr = kernelRoute(r, nh);
        out.push({
          prefix: routePrefix(r), kind: kr.spec.kind, table: this.k.table, metric: kr.metric,
          nexthops: kr.spec.hops.map((h) => ({
            ...(h.gateway ? { gateway: formatIp(h.gateway) } : {}), dev: this.topo.links.get(h.ifindex)?.name ?? `#${h.ifindex}`,
            ...(h.onlink ? { onlink: true } : {}), ...(kr.spec.hops.length > 1 ? { weight: h.weight } : {}),
          })),
        });
      }
      return out;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.resyncTimer);
    await this.serial(() => this.client.close());
  }

  // ---- planning and execution ----

  /**
   * Run a bulk write with the route groups left: our own writes would otherwise make the kernel
   * build and queue one notification per route (and overrun the event socket). Changes others
   * make to Tern's routes meanwhile go unseen until the next resync; links and addresses are
   * still watched.
   */
  private async quietly(routes: number, fn: () => Promise<void>): Promise<void> {
    const quiet = this._coupled && this.o.quietBulkRoutes > 0 && routes >= this.o.quietBulkRoutes;
    const groups = [C.RTNLGRP_IPV4_ROUTE, C.RTNLGRP_IPV6_ROUTE];
    if (quiet) await this.client.membership(groups, false);
    try {
      await fn();
    } finally {
      if (quiet) await this.client.membership(groups, true);
    }
  }

  /** What prefix p should have given desired variant `id` (-1: nothing) and the topology now. */
  private plan(p: IpPrefix, id: number, idx: number, slot: number): Op {
    if (id < 0) return new Op(p, null, idx, slot);
    if (this.cacheGen !== this.topo.generation) { this.cache = new Map(); this.cacheGen = this.topo.generation; }
    const ck = id * 2 + (p.family === 4 ? 0 : 1);
    let r = this.cache.get(ck);
    if (!r) {
      const c = this.wanted.list[id];
      r = resolveRoute(c.kind, c.nexthops, p.family, this.topo, this.o);
      this.cache.set(ck, r);
    }
    if (isSpec(r)) return new Op(p, r, idx, slot);
    const op = new Op(p, null, idx, slot);
    op.why = r.error;
    return op;
  }

  /**
   * Write what differs between each op's wanted spec and the installed belief, a chunk of
   * routes per main-thread slice, up to pipelineDepth slices in flight in the worker. report() gets each op.
   */
  private async execute(ops: Iterable<Op>, report: Report): Promise<void> {
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
        if (n.done) { done = true; break; }
        const op = n.value;
        const slot = this.slotOf(op);
        if (slot >= 0 && this.table.busy(slot)) {
          // The same prefix again while its first write is in flight: let that one finish.
          if (sent.length || nhSent.length) inflight.push(this.send(w, sent, nhSent, failedNh, report));
          await Promise.all(inflight.splice(0));
          return this.execute(prepend(op, it), report);
        }
        if (op.flushed) {
          if (slot >= 0) this.table.setInstalled(slot, -1);
          report(op, 'deleted');
          continue;
        }
        const old = slot >= 0 ? this.variants.get(this.table.installed(slot)) : undefined;
        if (op.want && old?.key === op.want.key) { report(op, 'unchanged'); continue; }
        if (!op.want && !old && op.metric === undefined) { report(op, op.why ? 'failed' : 'absent', op.why); continue; }
        routes++;
        if (slot >= 0) this.table.setBusy(slot, true);
        op.old = old;
        if (!op.want) {
          op.seq = this.client.nextSeq();
          encodeRouteDel(w, op.seq, this.k, op.p, op.metric);
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
        op.replace = old !== undefined;
        op.seq = this.client.nextSeq();
        encodeRouteSet(w, op.seq, this.k, op.p, op.want, op.nhId, op.replace);
        sent.push(op);
      }
      if (sent.length || nhSent.length) inflight.push(this.send(w, sent, nhSent, failedNh, report));
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
    if (lost) { this.kernelDirty = true; this.scheduleResync('netlink answers lost'); }
    const textOf = (e: AckError): string => (e.message ? `${C.errnoName(e.errno)}: ${e.message}` : C.errnoName(e.errno));
    for (const n of nhSent) {
      const e = errs.get(n.seq);
      if (e) { failedNh.set(n.nhId, `${textOf(e)} (nexthop ${n.nhId})`); this.nh?.forget(n.nhId); }
    }
    for (const s of sent) {
      const e = errs.size ? errs.get(s.seq) : undefined;
      const text = e && textOf(e);
      const op = s;
      const slot = this.slotOf(op);
      if (!op.want) {
        // ESRCH/ENOENT: already gone (the kernel flushes routes of a downed link itself).
        if (e && e.errno !== C.ESRCH && e.errno !== C.ENOENT) { this.unbusy(slot); report(op, 'failed', text); continue; }
        if (s.old?.nhId !== undefined) this.nh?.release(s.old.nhId);
        if (slot >= 0) this.table.setInstalled(slot, -1);
        this.unbusy(slot);
        report(op, op.why ? 'failed' : 'deleted', op.why);
        continue;
      }
      if (e) {
        this.unbusy(slot);
        if (s.nhId !== undefined) this.nh?.release(s.nhId);
        const why = (s.nhId !== undefined && failedNh.get(s.nhId)) ||
          (e.errno === C.EEXIST && !s.replace ? `${text} (a route Tern does not own holds this prefix/metric; left alone)` : text);
        report(op, 'failed', why);
        continue;
      }
      if (s.old?.nhId !== undefined) this.nh?.release(s.old.nhId);
      if (slot >= 0) this.table.setInstalled(slot, this.variants.intern(op.want!.key, s.nhId));
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
  private async flushCoveredNexthops(changes: FibChange[]): Promise<Set<number>> {
    const nh = this.nh!;
    const count = new Map<number, number>();
    const turn = new Turns();
    const seen = new Uint8Array(this.table.capacity); // no inserts below: slot numbers stay below it
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i];
      if (turn.due(i)) await turn.take();
      if (c.kind === 'blackhole' || c.nexthops.length > 0) continue;
      const p = parsePrefix(c.prefix);
      const slot = p ? this.table.find(p) : -1;
      if (slot < 0 || seen[slot]) continue; // the same prefix twice must not count twice
      seen[slot] = 1;
      const id = this.variants.get(this.table.installed(slot))?.nhId;
      if (id !== undefined) count.set(id, (count.get(id) ?? 0) + 1);
    }
    const ids = [...count].filter(([id, n]) => n === nh.refsOf(id)).map(([id]) => id);
    const done = new Set<number>();
    if (!ids.length) return done;
    const w = new MsgWriter(ids.length * 32);
    const seqs = ids.map((id) => { const seq = this.client.nextSeq(); encodeNexthopDel(w, seq, id); return seq; });
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

  // ---- kernel state ----

  private async dumpAll<T>(encode: (w: MsgWriter, seq: number) => void, decode: (m: NlMsg[]) => T[]): Promise<T[]> {
    let out: T[] = [];
    // Decoded messages keep views into their chunk, and a chunk is reused after the call: copy.
    await this.dumpEach(encode, () => { out = []; }, (chunk) => { for (const x of decode(parseMessages(Buffer.from(chunk)))) out.push(x); });
    return out;
  }

  /** Run a dump, handing each chunk of messages to `each` (restarting after NLM_F_DUMP_INTR). */
  private async dumpEach(encode: (w: MsgWriter, seq: number) => void, restart: () => void, each: (chunk: Buffer) => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const w = new MsgWriter(64);
      encode(w, this.client.nextSeq());
      restart();
      const complete = await this.client.dump(w.take(), each);
      if (complete || attempt >= 3) return; // NLM_F_DUMP_INTR: the table changed mid-dump
    }
  }

  /** Re-learn links and addresses, nexthop objects and Tern's routes from the kernel. */
  private async loadKernel(): Promise<{ strays: { prefix: string; metric: number }[] }> {
    const seenAtStart = this.changeSeen;
    const topo = new Topology();
    for (const m of await this.dumpAll(encodeLinkDump, (ms) => ms.filter((x) => x.type === C.RTM_NEWLINK))) {
      const l = decodeLink(m.payload);
      topo.setLink(l.index, l.name, (l.flags & C.IFF_UP) !== 0 && (l.flags & C.IFF_LOWER_UP) !== 0);
    }
    for (const m of await this.dumpAll(encodeAddrDump, (ms) => ms.filter((x) => x.type === C.RTM_NEWADDR))) {
      const a = decodeAddr(m.payload);
      if (a.family === C.AF_INET || a.family === C.AF_INET6) topo.setAddr(a.index, a.address, a.prefixLen, true);
    }
    topo.generation = this.topo.generation + 1;
    topo.recursive = this.topo.recursive; // refreshed by resolveRecursive() before it is used
    for (const a of this.topo.unresolved) topo.unresolved.add(a);
    this.topo = topo;
    if (this.nh) {
      try {
        adoptNexthops(await this.dumpAll(encodeNexthopDump, decodeNexthopMsgs), this.nh, this.k);
      } catch (e) {
        // Before Linux 5.3 RTM_GETNEXTHOP is unknown: fall back to inline next hops (RTA_MULTIPATH).
        if (!(e instanceof DumpError) || this.o.nexthopObjects === true) throw e;
        this.nh = undefined;
      }
    }
    let strays: { prefix: string; metric: number }[] = [];
    const nhSnapshot = this.nh;
    // The installed variant of the routes on each nexthop id of ours (-1: not a known object;
    // such routes take the slow path, which gives them a key that never matches).
    const byNh = new Map<number, number>();
    // Group memberships only: the dump below adds one reference per route it finds.
    const baseRefs = nhSnapshot?.refCounts();
    await this.dumpEach((w, seq) => encodeRouteDump(w, seq, 0, this.k.table, this.k.protocol), () => {
      this.table.clearInstalled();
      if (baseRefs) nhSnapshot?.restoreRefs(baseRefs); // a restarted dump counts its routes afresh
      strays = [];
    }, (chunk) => scanRouteDump(chunk, this.k, (family, dst, len, metric, nhId) => {
      if (metric !== this.k.metric || !nhSnapshot) return false;
      let v = byNh.get(nhId);
      if (v === undefined) {
        const spec = nhSnapshot.specOf(nhId);
        v = spec ? this.variants.intern(spec.key, nhId) : -1;
        byNh.set(nhId, v);
      }
      if (v < 0) return false;
      nhSnapshot.ref(nhId);
      this.table.setInstalled(this.table.insertBytes(family, chunk, dst, len), v);
      return true;
    }, (r) => {
      const kr = kernelRoute(r, nhSnapshot);
      if (kr.metric !== this.k.metric) strays.push({ prefix: routePrefix(r), metric: kr.metric });
      else this.table.setInstalled(this.table.insert({ family: kr.family, addr: r.dst, len: r.dstLen }), this.variants.intern(kr.key, kr.nhId));
    }));
    this.strays = strays;
    this.kernelDirty = this.changeSeen !== seenAtStart;
    return { strays };
  }

  /** Dump the kernel and write the difference to the desired state (startup, resync, couple). */
  private async sync(): Promise<ReconcileResult> {
    const strays = this.kernelDirty ? (await this.loadKernel()).strays : this.strays;
    await this.resolveRecursive();
    this.kernelDirty = true; // what follows writes
    const res: ReconcileResult = { added: 0, replaced: 0, deleted: 0, unchanged: 0, failed: [] };
    const self = this;
    function* ops(): Generator<Op> {
      for (const s of strays) {
        const op = new Op(parsePrefix(s.prefix)!, null, -1, -1);
        op.metric = s.metric;
        yield op;
      }
      for (const slot of self.table.slots()) yield self.plan(self.table.prefixAt(slot), self.table.desired(slot), -1, slot);
    }
    await this.quietly(this.table.size, () => this.execute(ops(), (op, outcome, error) => {
      if (outcome === 'failed') res.failed.push({ prefix: formatPrefix(op.p), ok: false, error });
      else if (outcome !== 'absent') res[outcome]++;
    }));
    return res;
  }

  // ---- recursive next hops ----

  /**
   * Look up how the kernel reaches every next hop that may need recursive resolution: those of
   * the desired variants that lie on no connected subnet where no tunnel applies (IPIP "never",
   * and IPv6), and those planning met unresolved. Bumps the topology generation when an answer
   * changed, so that routes are planned again.
   */
  private async resolveRecursive(): Promise<void> {
    const want = new Set(this.topo.unresolved);
    for (const c of this.wanted.list) {
      if (c.kind === 'blackhole') continue;
      for (const h of c.nexthops) {
        if (h.dev !== undefined || h.gateway === undefined) continue;
        const gw = parseIp(h.gateway);
        if (!gw || (gw.length === 4 && this.o.ipipMode !== 'never') || this.topo.connected(gw) !== undefined) continue;
        want.add(formatIp(gw));
      }
    }
    if (want.size === 0 && this.topo.recursive.size === 0) return;
    const next = new Map<string, Via | null>();
    for (const a of want) next.set(a, await this.lookupVia(parseIp(a)!));
    this.topo.setRecursive(next);
  }

  /**
   * The immediate next hop of the kernel route that reaches `addr` (RTM_GETROUTE, `ip route get
   * ADDR fibmatch`); null when none does, or only one of Tern's own routes: a next hop must not
   * resolve through the routes that depend on it. An ECMP underlay route gives its first path.
   */
  private async lookupVia(addr: Buffer): Promise<Via | null> {
    const w = new MsgWriter(64);
    encodeRouteGet(w, this.client.nextSeq(), addr);
    let via: Via | null = null;
    try {
      await this.client.dump(w.take(), (chunk) => {
        for (const m of parseMessages(chunk)) {
          if (m.type !== C.RTM_NEWROUTE) continue;
          const r = decodeRoute(m.payload);
          if (r.protocol === this.k.protocol || r.type !== C.RTN_UNICAST) continue;
          const first = r.multipath?.[0];
          const ifindex = first ? first.ifindex : r.oif;
          const gateway = first ? first.gateway : r.gateway;
          if (ifindex === undefined) continue;
          // Copies: the chunk is shared memory the worker reuses.
          via = { ifindex, onlink: ((first ? first.flags : r.flags) & C.RTNH_F_ONLINK) !== 0, ...(gateway ? { gateway: Buffer.from(gateway) } : {}) };
        }
      });
    } catch (e) {
      if (!(e instanceof DumpError)) throw e; // ENETUNREACH and the like: no route
    }
    return via;
  }

  // ---- events ----

  private onEvents(msgs: NlMsg[]): void {
    if (msgs.length) { this.kernelDirty = true; this.changeSeen++; }
    for (const m of msgs) {
      try {
        if (m.type === C.RTM_NEWLINK || m.type === C.RTM_DELLINK) {
          const l = decodeLink(m.payload);
          const up = (l.flags & C.IFF_UP) !== 0 && (l.flags & C.IFF_LOWER_UP) !== 0;
          const removed = m.type === C.RTM_DELLINK;
          if (removed ? this.topo.removeLink(l.index) : this.topo.setLink(l.index, l.name, up)) {
            this.emit('link', { index: l.index, name: l.name, up: up && !removed, ...(removed ? { removed } : {}) });
            this.scheduleResync(`link ${l.name} ${removed ? 'removed' : up ? 'up' : 'down'}`);
          }
        } else if (m.type === C.RTM_NEWADDR || m.type === C.RTM_DELADDR) {
          const a = decodeAddr(m.payload);
          if (a.family !== C.AF_INET && a.family !== C.AF_INET6) continue;
          const removed = m.type === C.RTM_DELADDR;
          if (this.topo.setAddr(a.index, a.address, a.prefixLen, !removed)) {
            this.emit('addr', { index: a.index, address: formatIp(a.address), prefixLen: a.prefixLen, removed });
            this.scheduleResync(`address ${formatIp(a.address)}/${a.prefixLen} ${removed ? 'removed' : 'added'}`);
          }
        } else if ((m.type === C.RTM_NEWROUTE || m.type === C.RTM_DELROUTE) && (m.payload[0] === C.AF_INET || m.payload[0] === C.AF_INET6)) {
          const r = decodeRoute(m.payload);
          if (r.protocol !== this.k.protocol) {
            // Someone else's route: it matters when it covers a recursive next hop (the underlay
            // path to another node changed, or appeared, or went away).
            for (const a of this.topo.recursive.keys()) {
              const gw = parseIp(a)!;
              if (gw.length === r.dst.length && contains(r.dst, r.dstLen, gw)) { this.scheduleResync(`route ${routePrefix(r)} to next hop ${a} changed`); break; }
            }
            continue;
          }
          if (m.type !== C.RTM_DELROUTE) continue;
          if (!isOurs(r, this.k) || r.priority !== this.k.metric) continue;
          const slot = this.table.find({ family: r.family === C.AF_INET ? 4 : 6, addr: r.dst, len: r.dstLen });
          // Someone else removed one of our routes (not our own delete in flight): repair.
          if (slot >= 0 && this.table.installed(slot) >= 0 && !this.table.busy(slot)) {
            this.scheduleResync(`route ${routePrefix(r)} removed outside Tern`);
          }
        }
      } catch {
        this.scheduleResync('undecodable event');
      }
    }
  }

  private scheduleResync(reason: string): void {
    if (this.closed) return;
    this.resyncReasons.add(reason);
    if (this.resyncTimer) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      const reasons = [...this.resyncReasons].join(', ');
      this.resyncReasons.clear();
      void this.serial(async () => {
        if (this.closed) return;
        try {
          const r = this._coupled ? await this.sync() : (await this.loadKernel(), { added: 0, replaced: 0, deleted: 0, unchanged: 0, failed: [] });
          this.emit('resync', { ...r, reason: reasons });
        } catch (e) {
          this.emit('resync', { added: 0, replaced: 0, deleted: 0, unchanged: 0, failed: [], reason: `${reasons}; resync failed: ${(e as Error).message}` });
        }
      });
    }, this.o.resyncDelayMs);
  }
}

/** Work per turn of the event loop before giving timers and I/O their go (issue 5: never
 * blocked for more than 50 ms; garbage collection must fit in the rest). */
const SLICE_MS = 8;

/** For loops over a million entries: due() every SLICE_MS (looked at every 256 steps). */
class Turns {
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
