// NetlinkFib: Tern's routes in the Linux kernel. It keeps the DESIRED state (what the RIB asked
// for) and a belief of what is INSTALLED (from dumps and ACKs), and writes only the difference.
// What is installable is derived from desired state + current links/addresses (resolve.ts);
// when a link or address changes, or the event socket overran, it re-dumps the kernel and
// repairs the difference (resync), so a route whose interface went down is withdrawn and comes
// back with the interface. All writes are serialised; none blocks the event loop (see
// route-writer.ts, netlink/client.ts and docs/fib.md).
// One file on purpose (~600 lines): it is the single owner of the desired and installed tables,
// and every method reads and writes both; the pieces that need neither live beside it
// (resolve.ts, route-writer.ts, nexthops.ts, prefix-table.ts).
import { EventEmitter } from 'node:events';
import { contains, formatIp, parseIp } from '../bgp/codec/address.js';
import { formatPrefix, parsePrefix, type IpPrefix } from './prefix.js';
import { ChangeBatch } from './batch.js';
import type { NlMsg } from './netlink/codec.js';
import { NetlinkClient, DumpError } from './netlink/client.js';
import * as C from './netlink/consts.js';
import { decodeAddr, decodeLink, encodeAddrDump, encodeLinkDump } from './netlink/link.js';
import { decodeRoute, encodeRouteDump } from './netlink/route.js';
import { encodeNexthopDump } from './netlink/nexthop.js';
import { NexthopTable } from './nexthops.js';
import { PrefixTable } from './prefix-table.js';
import { DesiredVariants, InstalledVariants } from './variants.js';
import { adoptNexthops, decodeNexthopMsgs, decodeRouteMsgs, isOurs, kernelRoute, routePrefix, scanRouteDump, type KernelParams } from './kernel.js';
import { Topology, isSpec, resolveRoute, type IpipMode, type Resolution, type Via } from './resolve.js';
import { Op, RouteWriter, Turns } from './route-writer.js';
import { lookupVia, recursiveCandidates } from './recursive.js';
import {
  TERN_METRIC,
  TERN_PROTO,
  type Fib,
  type FibChange,
  type FibEvents,
  type FibFailure,
  type FibResult,
  type FibRoute,
  type ReconcileResult,
} from './types.js';

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
  /** The netlink request thread ends this long after its last answer (netlink/client.ts REQUEST_IDLE_MS). */
  requestIdleMs?: number;
}

const GROUPS = [C.RTNLGRP_LINK, C.RTNLGRP_IPV4_IFADDR, C.RTNLGRP_IPV6_IFADDR, C.RTNLGRP_IPV4_ROUTE, C.RTNLGRP_IPV6_ROUTE].reduce(
  (m, g) => m | (1 << (g - 1)),
  0,
);

export class NetlinkFib extends EventEmitter<FibEvents> implements Fib {
  private readonly k: KernelParams;
  private readonly o: Required<Omit<NetlinkFibOptions, 'table' | 'metric' | 'protocol' | 'eventStallMs' | 'requestIdleMs'>>;
  private topo = new Topology();
  private readonly writer: RouteWriter;
  /** Nexthop objects in use (undefined: inline next hops); the writer shares them. */
  private get nh(): NexthopTable | undefined {
    return this.writer.nh;
  }
  private set nh(v: NexthopTable | undefined) {
    this.writer.nh = v;
  }
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

  private constructor(
    private readonly client: NetlinkClient,
    opts: NetlinkFibOptions,
  ) {
    super();
    this.k = { table: opts.table ?? 254, metric: opts.metric ?? TERN_METRIC, protocol: opts.protocol ?? TERN_PROTO };
    this.o = {
      tunnelDevice: opts.tunnelDevice ?? 'tunl0',
      ipipMode: opts.ipipMode ?? 'cross-subnet',
      nexthopObjects: opts.nexthopObjects ?? 'auto',
      coupled: opts.coupled ?? true,
      maxSendBytes: opts.maxSendBytes ?? 256 * 1024,
      chunkRoutes: opts.chunkRoutes ?? 2048,
      pipelineDepth: opts.pipelineDepth ?? 8,
      eventRcvbuf: opts.eventRcvbuf ?? 16 << 20,
      resyncDelayMs: opts.resyncDelayMs ?? 100,
      nexthopIdBase: opts.nexthopIdBase ?? 0x54000000,
      ackEach: opts.ackEach ?? false,
      quietBulkRoutes: opts.quietBulkRoutes ?? 10000,
    };
    this._coupled = this.o.coupled;
    this.writer = new RouteWriter(client, this.k, this.o, this.table, this.variants, () => {
      this.kernelDirty = true; // without an answer the kernel may or may not have done it
      this.scheduleResync('netlink answers lost');
    });
    if (this.o.nexthopObjects !== false) this.nh = new NexthopTable(this.o.nexthopIdBase);
  }

  /** Open the sockets, learn links, addresses, nexthop support and the routes Tern owns now. */
  static async open(opts: NetlinkFibOptions = {}): Promise<NetlinkFib> {
    const client = await NetlinkClient.open({
      groups: GROUPS,
      eventRcvbuf: opts.eventRcvbuf ?? 16 << 20,
      ownProtocol: opts.protocol ?? TERN_PROTO,
      eventStallMs: opts.eventStallMs,
      requestIdleMs: opts.requestIdleMs,
    });
    const fib = new NetlinkFib(client, opts);
    client.on('messages', (m: NlMsg[]) => fib.onEvents(m));
    client.on('overrun', () => {
      fib.kernelDirty = true;
      fib.changeSeen++;
      fib.scheduleResync('event socket overrun (ENOBUFS)');
    });
    try {
      await fib.serial(() => fib.loadKernel());
    } catch (e) {
      await client.close();
      throw e;
    }
    return fib;
  }

  /** Whether the netlink request thread runs now (it ends when idle, netlink/client.ts). */
  get requestThreadRunning(): boolean {
    return this.client.requestThreadRunning;
  }

  get coupled(): boolean {
    return this._coupled;
  }
  /** Whether routes point at nexthop objects (else RTA_GATEWAY/RTA_MULTIPATH inline). */
  get usesNexthopObjects(): boolean {
    return this.nh !== undefined;
  }
  /** Prefixes known (desired or installed). */
  get size(): number {
    return this.table.size;
  }
  get desiredCount(): number {
    return this.table.desiredCount;
  }

  desires(prefix: string | IpPrefix): boolean {
    const p = typeof prefix === 'string' ? parsePrefix(prefix) : prefix;
    const slot = p ? this.table.find(p) : -1;
    return slot >= 0 && this.table.desired(slot) >= 0;
  }

  /** The desired state, one record per prefix, built on demand from the table (show fib). */
  desiredRoutes(): FibChange[] {
    const out: FibChange[] = [];
    for (const slot of this.table.slots()) {
      const id = this.table.desired(slot);
      if (id < 0) continue;
      const v = this.wanted.list[id];
      out.push({
        prefix: formatPrefix(this.table.prefixAt(slot)),
        kind: v.kind,
        nexthops: v.nexthops,
        ...(v.metric !== undefined ? { metric: v.metric } : {}),
      });
    }
    return out;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Changes as records or packed (fib/batch.ts: what FibFeed passes); records are packed first. */
  apply(changes: readonly FibChange[] | ChangeBatch): Promise<FibFailure[]> {
    return this.serial(async () => {
      const own = !(changes instanceof ChangeBatch);
      const batch = changes instanceof ChangeBatch ? changes : ChangeBatch.of(changes);
      try {
        const failures = await this.applyPass(batch);
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
      } finally {
        if (own) batch.release();
      }
    });
  }

  /** One pass of apply(): plan and write every change; the failures, in input order. */
  private async applyPass(batch: ChangeBatch): Promise<FibFailure[]> {
    this.kernelDirty = true;
    const failures: FibFailure[] = [];
    const self = this;
    const flushed =
      this._coupled && this.nh && this.o.quietBulkRoutes > 0 && batch.length >= this.o.quietBulkRoutes && batch.hasWithdrawals
        ? await this.writer.flushCoveredNexthops(batch)
        : new Set<number>();
    // The batch's shapes as desired variants, each interned once per batch.
    const wantedOf = batch.shapes.map((c) => this.wanted.intern(c));
    const k = new Uint32Array(5);
    function* ops(): Generator<Op> {
      for (let i = 0; i < batch.length; i++) {
        if (!batch.valid(i)) {
          failures.push({ index: i, prefix: batch.prefixText(i), error: `EINVAL: bad prefix ${batch.prefixText(i)}` });
          continue;
        }
        const shape = batch.shapeOf(i);
        const withdraw = shape < 0;
        batch.keyInto(i, k);
        const slot = withdraw ? self.table.findKey(k) : self.table.insertKey(k);
        const id = withdraw ? -1 : wantedOf[shape];
        if (slot >= 0) self.table.setDesired(slot, id);
        if (!self._coupled) continue;
        // Nothing desired and nothing installed: nothing to write, and no Op to make.
        if (withdraw && (slot < 0 || (self.table.installed(slot) < 0 && !self.table.busy(slot)))) continue;
        const op = self.plan(batch.prefixAt(i)!, id, i, slot);
        if (withdraw && flushed.size && slot >= 0) {
          const nhId = self.variants.get(self.table.installed(slot))?.nhId;
          if (nhId !== undefined && flushed.has(nhId)) op.flushed = true;
        }
        yield op;
      }
    }
    await this.quietly(batch.length, () =>
      this.writer.execute(ops(), (op, outcome, error) => {
        // idx -1: the removal of a route's old copy at another metric (route-writer.ts), no change of the caller's.
        if (error && op.idx >= 0) failures.push({ index: op.idx, prefix: batch.prefixText(op.idx), error });
      }),
    );
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

  /**
   * Stop writing (OpenBGPD's `fib decouple`): the kernel keeps the routes it has, desired state
   * is still recorded, and couple() writes the difference. Removing routes is flush(), by name.
   */
  decouple(): Promise<void> {
    return this.serial(async () => {
      this._coupled = false;
    });
  }

  /**
   * While decoupled: remove every route of Tern's protocol in Tern's table from the kernel,
   * blackholes and routes at another metric included; desired state is kept for couple().
   * Refused while coupled, where the next change would write them back at once.
   */
  flush(): Promise<number> {
    return this.serial(async () => {
      if (this._coupled) throw new Error('the FIB is coupled: decouple it first, or the routes would be written back');
      // A fresh dump: while decoupled the belief may be behind what the kernel holds.
      const { strays } = await this.loadKernel();
      this.kernelDirty = true;
      const self = this;
      function* ops(): Generator<Op> {
        for (const s of strays) {
          const op = new Op(parsePrefix(s.prefix)!, null, -1, -1);
          op.metric = s.metric;
          yield op;
        }
        for (const slot of self.table.slots()) if (self.table.installed(slot) >= 0) yield new Op(self.table.prefixAt(slot), null, -1, slot);
      }
      let removed = 0;
      const failed: string[] = [];
      await this.quietly(this.table.size, () =>
        this.writer.execute(ops(), (op, outcome, error) => {
          if (outcome === 'deleted') removed++;
          else if (outcome === 'failed') failed.push(`${formatPrefix(op.p)}: ${error}`);
        }),
      );
      if (failed.length) throw new Error(`${failed.length} routes could not be removed (first: ${failed[0]}); ${removed} removed`);
      return removed;
    });
  }

  dump(): Promise<FibRoute[]> {
    return this.serial(async () => {
      const nh = this.nh ? new NexthopTable(this.o.nexthopIdBase) : undefined;
      if (nh) adoptNexthops(await this.client.dumpAll(encodeNexthopDump, decodeNexthopMsgs), nh, this.k);
      const out: FibRoute[] = [];
      for (const r of await this.client.dumpAll((w, seq) => encodeRouteDump(w, seq, 0, this.k.table, this.k.protocol), decodeRouteMsgs)) {
        if (!isOurs(r, this.k)) continue;
        const kr = kernelRoute(r, nh);
        out.push({
          prefix: routePrefix(r),
          kind: kr.spec.kind,
          table: this.k.table,
          metric: kr.metric,
          nexthops: kr.spec.hops.map((h) => ({
            ...(h.gateway ? { gateway: formatIp(h.gateway) } : {}),
            dev: this.topo.links.get(h.ifindex)?.name ?? `#${h.ifindex}`,
            ...(h.onlink ? { onlink: true } : {}),
            ...(kr.spec.hops.length > 1 ? { weight: h.weight } : {}),
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
    if (this.cacheGen !== this.topo.generation) {
      this.cache = new Map();
      this.cacheGen = this.topo.generation;
    }
    const ck = id * 2 + (p.family === 4 ? 0 : 1);
    let r = this.cache.get(ck);
    if (!r) {
      const c = this.wanted.list[id];
      r = resolveRoute(c.kind, c.nexthops, p.family, this.topo, this.o);
      if (isSpec(r) && c.metric !== undefined && c.metric !== this.k.metric) r = { ...r, metric: c.metric };
      this.cache.set(ck, r);
    }
    if (isSpec(r)) return new Op(p, r, idx, slot);
    const op = new Op(p, null, idx, slot);
    op.why = r.error;
    return op;
  }

  // ---- kernel state ----

  /** Re-learn links and addresses, nexthop objects and Tern's routes from the kernel. */
  private async loadKernel(): Promise<{ strays: { prefix: string; metric: number }[] }> {
    const seenAtStart = this.changeSeen;
    const topo = new Topology();
    for (const m of await this.client.dumpAll(encodeLinkDump, (ms) => ms.filter((x) => x.type === C.RTM_NEWLINK))) {
      const l = decodeLink(m.payload);
      topo.setLink(l.index, l.name, (l.flags & C.IFF_UP) !== 0 && (l.flags & C.IFF_LOWER_UP) !== 0);
    }
    for (const m of await this.client.dumpAll(encodeAddrDump, (ms) => ms.filter((x) => x.type === C.RTM_NEWADDR))) {
      const a = decodeAddr(m.payload);
      if (a.family === C.AF_INET || a.family === C.AF_INET6) topo.setAddr(a.index, a.address, a.prefixLen, true);
    }
    topo.generation = this.topo.generation + 1;
    topo.recursive = this.topo.recursive; // refreshed by resolveRecursive() before it is used
    for (const a of this.topo.unresolved) topo.unresolved.add(a);
    this.topo = topo;
    if (this.nh) {
      try {
        adoptNexthops(await this.client.dumpAll(encodeNexthopDump, decodeNexthopMsgs), this.nh, this.k);
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
    await this.client.dumpEach(
      (w, seq) => encodeRouteDump(w, seq, 0, this.k.table, this.k.protocol),
      () => {
        this.table.clearInstalled();
        if (baseRefs) nhSnapshot?.restoreRefs(baseRefs); // a restarted dump counts its routes afresh
        strays = [];
      },
      (chunk) =>
        scanRouteDump(
          chunk,
          this.k,
          (family, dst, len, metric, nhId) => {
            if (metric !== this.k.metric || !nhSnapshot) return false;
            let v = byNh.get(nhId);
            if (v === undefined) {
              const spec = nhSnapshot.specOf(nhId);
              v = spec ? this.variants.intern(spec.key, nhId) : -1;
              byNh.set(nhId, v);
            }
            if (v < 0) return false;
            nhSnapshot.ref(nhId);
            const slot = this.table.insertBytes(family, chunk, dst, len);
            this.displace(slot, strays);
            this.table.setInstalled(slot, v);
            return true;
          },
          (r) => {
            const kr = kernelRoute(r, nhSnapshot);
            const slot = this.table.insert({ family: kr.family, addr: r.dst, len: r.dstLen });
            // A route of ours at another metric is a route's own metric (FibChange.metric) when it
            // is the prefix's only route; a second one for the prefix is a leftover, removed.
            if (kr.metric !== this.k.metric) {
              if (this.table.installed(slot) >= 0) strays.push({ prefix: routePrefix(r), metric: kr.metric });
              else this.table.setInstalled(slot, this.variants.intern(kr.key, kr.nhId, kr.metric));
            } else {
              this.displace(slot, strays);
              this.table.setInstalled(slot, this.variants.intern(kr.key, kr.nhId));
            }
          },
        ),
    );
    this.strays = strays;
    this.kernelDirty = this.changeSeen !== seenAtStart;
    return { strays };
  }

  /** A dumped route at the FIB's metric takes the slot: one at another metric found first becomes a stray. */
  private displace(slot: number, strays: { prefix: string; metric: number }[]): void {
    const prev = this.table.installed(slot);
    if (prev < 0) return;
    const metric = this.variants.get(prev)?.metric;
    if (metric !== undefined) strays.push({ prefix: formatPrefix(this.table.prefixAt(slot)), metric });
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
    await this.quietly(this.table.size, () =>
      this.writer.execute(ops(), (op, outcome, error) => {
        if (outcome === 'failed') res.failed.push({ prefix: formatPrefix(op.p), ok: false, error });
        else if (outcome !== 'absent') res[outcome]++;
      }),
    );
    return res;
  }

  // ---- recursive next hops ----

  /**
   * Ask the kernel how it reaches every next hop that may need recursive resolution (see
   * recursive.ts); bumps the topology generation when an answer changed, so routes are planned
   * again.
   */
  private async resolveRecursive(): Promise<void> {
    const want = recursiveCandidates(this.wanted.list, this.topo, this.o.ipipMode);
    if (want.size === 0 && this.topo.recursive.size === 0) return;
    const next = new Map<string, Via | null>();
    for (const a of want) next.set(a, await lookupVia(this.client, this.k.protocol, parseIp(a, 'ignore')!));
    this.topo.setRecursive(next);
  }

  // ---- events ----

  private onEvents(msgs: NlMsg[]): void {
    if (msgs.length) {
      this.kernelDirty = true;
      this.changeSeen++;
    }
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
              const gw = parseIp(a, 'ignore')!;
              if (gw.length === r.dst.length && contains(r.dst, r.dstLen, gw)) {
                this.scheduleResync(`route ${routePrefix(r)} to next hop ${a} changed`);
                break;
              }
            }
            continue;
          }
          if (m.type !== C.RTM_DELROUTE) continue;
          if (!isOurs(r, this.k)) continue;
          const slot = this.table.find({ family: r.family === C.AF_INET ? 4 : 6, addr: r.dst, len: r.dstLen });
          // Someone else removed one of our routes (not our own delete in flight): repair.
          if (
            slot >= 0 &&
            this.table.installed(slot) >= 0 &&
            !this.table.busy(slot) &&
            (this.variants.get(this.table.installed(slot))?.metric ?? this.k.metric) === (r.priority ?? 0)
          ) {
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
