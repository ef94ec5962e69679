// NetlinkFib: Tern's routes in the Linux kernel. It keeps the DESIRED state (what the RIB asked
// for) and a belief of what is INSTALLED (from dumps and ACKs), and writes only the difference.
// What is installable is derived from desired state + current links/addresses (resolve.ts);
// when a link or address changes, or the event socket overran, it re-dumps the kernel and
// repairs the difference (resync), so a route whose interface went down is withdrawn and comes
// back with the interface. All writes are serialised; none blocks the event loop (see
// netlink/client.ts and docs/fib.md).
import { EventEmitter } from 'node:events';
import { setImmediate as yieldTick } from 'node:timers/promises';
import { formatIp, formatPrefix, parsePrefix, type IpPrefix } from './addr.js';
import { MsgWriter, type NlMsg } from './netlink/codec.js';
import { NetlinkClient, DumpError, type AckError } from './netlink/client.js';
import * as C from './netlink/consts.js';
import { decodeAddr, decodeLink, encodeAddrDump, encodeLinkDump } from './netlink/link.js';
import { decodeRoute, encodeRouteDump } from './netlink/route.js';
import { encodeNexthopDump } from './netlink/nexthop.js';
import { NexthopTable } from './nexthops.js';
import {
  adoptNexthops, decodeNexthopMsgs, decodeRouteMsgs, encodeNexthopCreate, encodeNexthopDel,
  encodeRouteDel, encodeRouteSet, isOurs, kernelRoute, routePrefix, type KernelParams,
} from './kernel.js';
import { Topology, isSpec, resolveRoute, type InstallSpec, type IpipMode } from './resolve.js';
import { TERN_METRIC, TERN_PROTO, type Fib, type FibChange, type FibEvents, type FibResult, type FibRoute, type NextHop, type ReconcileResult } from './types.js';

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
  eventRcvbuf?: number; // event socket SO_RCVBUF(FORCE), default 16 MiB
  resyncDelayMs?: number; // debounce for event-triggered resyncs, default 100
  nexthopIdBase?: number; // first nexthop id Tern allocates, default 0x54000000
}

interface Installed { key: string; nhId?: number }
interface Op { prefix: string; p: IpPrefix; want: InstallSpec | null; why?: string; idx: number; metric?: number }
type Outcome = 'added' | 'replaced' | 'deleted' | 'unchanged' | 'absent' | 'failed';
type Sent = { seq: number; op?: Op; action: 'set' | 'del' | 'nh'; replace?: boolean; nhId?: number; old?: Installed };

const GROUPS = [C.RTNLGRP_LINK, C.RTNLGRP_IPV4_IFADDR, C.RTNLGRP_IPV6_IFADDR, C.RTNLGRP_IPV4_ROUTE, C.RTNLGRP_IPV6_ROUTE]
  .reduce((m, g) => m | (1 << (g - 1)), 0);

export class NetlinkFib extends EventEmitter<FibEvents> implements Fib {
  private readonly k: KernelParams;
  private readonly o: Required<Omit<NetlinkFibOptions, 'table' | 'metric' | 'protocol'>>;
  private topo = new Topology();
  private nh: NexthopTable | undefined;
  private desired = new Map<string, FibChange>();
  private installed = new Map<string, Installed>();
  private readonly pending = new Set<string>();
  private readonly cache = new WeakMap<NextHop[], { gen: number; family: 4 | 6; r: ReturnType<typeof resolveRoute> }>();
  private lock: Promise<unknown> = Promise.resolve();
  private resyncTimer?: NodeJS.Timeout;
  private resyncReasons = new Set<string>();
  private closed = false;
  private _coupled: boolean;

  private constructor(private readonly client: NetlinkClient, opts: NetlinkFibOptions) {
    super();
    this.k = { table: opts.table ?? 254, metric: opts.metric ?? TERN_METRIC, protocol: opts.protocol ?? TERN_PROTO };
    this.o = {
      tunnelDevice: opts.tunnelDevice ?? 'tunl0', ipipMode: opts.ipipMode ?? 'cross-subnet',
      nexthopObjects: opts.nexthopObjects ?? 'auto', coupled: opts.coupled ?? true,
      maxSendBytes: opts.maxSendBytes ?? 256 * 1024, chunkRoutes: opts.chunkRoutes ?? 2048,
      eventRcvbuf: opts.eventRcvbuf ?? 16 << 20, resyncDelayMs: opts.resyncDelayMs ?? 100,
      nexthopIdBase: opts.nexthopIdBase ?? 0x54000000,
    };
    this._coupled = this.o.coupled;
    if (this.o.nexthopObjects !== false) this.nh = new NexthopTable(this.o.nexthopIdBase);
  }

  /** Open the sockets, learn links, addresses, nexthop support and the routes Tern owns now. */
  static async open(opts: NetlinkFibOptions = {}): Promise<NetlinkFib> {
    const client = await NetlinkClient.open({ groups: GROUPS, eventRcvbuf: opts.eventRcvbuf ?? 16 << 20, ownProtocol: opts.protocol ?? TERN_PROTO });
    const fib = new NetlinkFib(client, opts);
    client.on('messages', (m: NlMsg[]) => fib.onEvents(m));
    client.on('overrun', () => fib.scheduleResync('event socket overrun (ENOBUFS)'));
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
  get desiredCount(): number { return this.desired.size; }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  apply(changes: FibChange[]): Promise<FibResult[]> {
    return this.serial(async () => {
      const results: FibResult[] = new Array(changes.length);
      const self = this;
      function* ops(): Generator<Op> {
        for (let i = 0; i < changes.length; i++) {
          const c = changes[i];
          const p = parsePrefix(c.prefix);
          if (!p) { results[i] = { prefix: c.prefix, ok: false, error: `EINVAL: bad prefix ${c.prefix}` }; continue; }
          const prefix = formatPrefix(p);
          const withdraw = c.kind !== 'blackhole' && c.nexthops.length === 0;
          if (withdraw) self.desired.delete(prefix);
          else self.desired.set(prefix, c);
          if (!self._coupled) { results[i] = { prefix: c.prefix, ok: true }; continue; }
          yield self.plan(prefix, p, withdraw ? undefined : c, i);
        }
      }
      await this.execute(ops(), (op, outcome, error) => {
        results[op.idx] = error ? { prefix: changes[op.idx].prefix, ok: false, error } : { prefix: changes[op.idx].prefix, ok: true };
      });
      return results;
    });
  }

  reconcile(desired: FibChange[]): Promise<ReconcileResult> {
    return this.serial(async () => {
      const next = new Map<string, FibChange>();
      const failed: FibResult[] = [];
      for (let i = 0; i < desired.length; i++) {
        const c = desired[i];
        const p = parsePrefix(c.prefix);
        if (!p) failed.push({ prefix: c.prefix, ok: false, error: `EINVAL: bad prefix ${c.prefix}` });
        else if (c.kind === 'blackhole' || c.nexthops.length > 0) next.set(formatPrefix(p), c);
        if (i % 50000 === 49999) await yieldTick();
      }
      this.desired = next;
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
      const self = this;
      function* ops(): Generator<Op> {
        for (const prefix of [...self.installed.keys()]) yield self.plan(prefix, parsePrefix(prefix)!, undefined, -1);
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
          prefix: kr.prefix, kind: kr.spec.kind, table: this.k.table, metric: kr.metric,
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

  private plan(prefix: string, p: IpPrefix, c: FibChange | undefined, idx: number): Op {
    if (!c) return { prefix, p, want: null, idx };
    let r;
    if (c.kind === 'blackhole') {
      r = resolveRoute('blackhole', [], p.family, this.topo, this.o);
    } else {
      const hit = this.cache.get(c.nexthops);
      if (hit && hit.gen === this.topo.generation && hit.family === p.family) r = hit.r;
      else {
        r = resolveRoute(c.kind, c.nexthops, p.family, this.topo, this.o);
        this.cache.set(c.nexthops, { gen: this.topo.generation, family: p.family, r });
      }
    }
    return isSpec(r) ? { prefix, p, want: r, idx } : { prefix, p, want: null, why: r.error, idx };
  }

  /**
   * Write what differs between each op's wanted spec and the installed belief, a chunk of
   * routes per main-thread slice, up to 3 chunks in flight in the worker. report() gets each op.
   */
  private async execute(ops: Iterable<Op>, report: (op: Op, outcome: Outcome, error?: string) => void): Promise<void> {
    const inflight: Promise<void>[] = [];
    const failedNh = new Map<number, string>();
    const it = ops[Symbol.iterator]();
    let done = false;
    while (!done) {
      const w = new MsgWriter(this.o.chunkRoutes * 72);
      const sent: Sent[] = [];
      let routes = 0;
      while (routes < this.o.chunkRoutes) {
        const n = it.next();
        if (n.done) { done = true; break; }
        const op = n.value;
        if (this.pending.has(op.prefix)) {
          // The same prefix again while its first write is in flight: let that one finish.
          if (sent.length) inflight.push(this.send(w, sent, failedNh, report));
          await Promise.all(inflight.splice(0));
          return this.execute(prepend(op, it), report);
        }
        const old = this.installed.get(op.prefix);
        if (op.want && old?.key === op.want.key) { report(op, 'unchanged'); continue; }
        if (!op.want && !old && op.metric === undefined) { report(op, op.why ? 'failed' : 'absent', op.why); continue; }
        routes++;
        this.pending.add(op.prefix);
        if (!op.want) {
          const seq = this.client.nextSeq();
          encodeRouteDel(w, seq, this.k, op.p, op.metric);
          sent.push({ seq, op, action: 'del', old });
          continue;
        }
        let nhId: number | undefined;
        if (this.nh && op.want.kind === 'unicast') {
          const a = this.nh.acquire(op.want);
          nhId = a.id;
          for (const c of a.creates) {
            const seq = this.client.nextSeq();
            encodeNexthopCreate(w, seq, this.k, c);
            sent.push({ seq, action: 'nh', nhId: c.id });
          }
        }
        const seq = this.client.nextSeq();
        encodeRouteSet(w, seq, this.k, op.p, op.want, nhId, old !== undefined);
        sent.push({ seq, op, action: 'set', replace: old !== undefined, nhId, old });
      }
      if (sent.length) inflight.push(this.send(w, sent, failedNh, report));
      if (inflight.length >= 3) await inflight.shift();
      else await yieldTick();
    }
    await Promise.all(inflight);
    await this.collectNexthops();
  }

  private async send(w: MsgWriter, sent: Sent[], failedNh: Map<number, string>, report: (op: Op, outcome: Outcome, error?: string) => void): Promise<void> {
    const errs = new Map<number, AckError>();
    for (const e of await this.client.batch(w.take(), this.o.maxSendBytes)) errs.set(e.seq, e);
    for (const s of sent) {
      const e = errs.get(s.seq);
      const text = e && (e.message ? `${C.errnoName(e.errno)}: ${e.message}` : C.errnoName(e.errno));
      if (s.action === 'nh') {
        if (e && s.nhId !== undefined) { failedNh.set(s.nhId, `${text} (nexthop ${s.nhId})`); this.nh?.forget(s.nhId); }
        continue;
      }
      const op = s.op!;
      this.pending.delete(op.prefix);
      if (s.action === 'del') {
        // ESRCH/ENOENT: already gone (the kernel flushes routes of a downed link itself).
        if (e && e.errno !== C.ESRCH && e.errno !== C.ENOENT) { report(op, 'failed', text); continue; }
        if (s.old?.nhId !== undefined) this.nh?.release(s.old.nhId);
        if (op.metric === undefined) this.installed.delete(op.prefix);
        report(op, op.why ? 'failed' : 'deleted', op.why);
        continue;
      }
      if (e) {
        if (s.nhId !== undefined) this.nh?.release(s.nhId);
        const why = (s.nhId !== undefined && failedNh.get(s.nhId)) ||
          (e.errno === C.EEXIST && !s.replace ? `${text} (a route Tern does not own holds this prefix/metric; left alone)` : text);
        report(op, 'failed', why);
        continue;
      }
      if (s.old?.nhId !== undefined) this.nh?.release(s.old.nhId);
      this.installed.set(op.prefix, { key: op.want!.key, nhId: s.nhId });
      report(op, s.replace ? 'replaced' : 'added');
    }
  }

  private async collectNexthops(): Promise<void> {
    const ids = this.nh?.collect() ?? [];
    if (!ids.length) return;
    const w = new MsgWriter(ids.length * 32);
    for (const id of ids) encodeNexthopDel(w, this.client.nextSeq(), this.k, id);
    await this.client.batch(w.take(), this.o.maxSendBytes);
  }

  // ---- kernel state ----

  private async dumpAll<T>(encode: (w: MsgWriter, seq: number) => void, decode: (m: NlMsg[]) => T[]): Promise<T[]> {
    for (let attempt = 0; ; attempt++) {
      const w = new MsgWriter(64);
      encode(w, this.client.nextSeq());
      const out: T[] = [];
      const complete = await this.client.dump(w.take(), (msgs) => { for (const x of decode(msgs)) out.push(x); });
      if (complete || attempt >= 3) return out; // NLM_F_DUMP_INTR: the table changed mid-dump
    }
  }

  /** Re-learn links and addresses, nexthop objects and Tern's routes from the kernel. */
  private async loadKernel(): Promise<{ strays: { prefix: string; metric: number }[] }> {
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
    const installed = new Map<string, Installed>();
    const strays: { prefix: string; metric: number }[] = [];
    const routes = await this.dumpAll((w, seq) => encodeRouteDump(w, seq, 0, this.k.table, this.k.protocol), decodeRouteMsgs);
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i];
      if (!isOurs(r, this.k)) continue;
      const kr = kernelRoute(r, this.nh);
      if (kr.metric !== this.k.metric) strays.push({ prefix: kr.prefix, metric: kr.metric });
      else installed.set(kr.prefix, { key: kr.key, nhId: kr.nhId });
      if (i % 20000 === 19999) await yieldTick();
    }
    this.installed = installed;
    return { strays };
  }

  /** Dump the kernel and write the difference to the desired state (startup, resync, couple). */
  private async sync(): Promise<ReconcileResult> {
    const { strays } = await this.loadKernel();
    const res: ReconcileResult = { added: 0, replaced: 0, deleted: 0, unchanged: 0, failed: [] };
    const self = this;
    function* ops(): Generator<Op> {
      for (const s of strays) yield { prefix: s.prefix, p: parsePrefix(s.prefix)!, want: null, idx: -1, metric: s.metric };
      for (const [prefix, c] of self.desired) yield self.plan(prefix, parsePrefix(prefix)!, c, -1);
      for (const prefix of [...self.installed.keys()]) if (!self.desired.has(prefix)) yield self.plan(prefix, parsePrefix(prefix)!, undefined, -1);
    }
    await this.execute(ops(), (op, outcome, error) => {
      if (outcome === 'failed') res.failed.push({ prefix: op.prefix, ok: false, error });
      else if (outcome !== 'absent') res[outcome]++;
    });
    return res;
  }

  // ---- events ----

  private onEvents(msgs: NlMsg[]): void {
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
        } else if (m.type === C.RTM_DELROUTE && (m.payload[0] === C.AF_INET || m.payload[0] === C.AF_INET6)) {
          const r = decodeRoute(m.payload);
          const prefix = routePrefix(r);
          // Someone else removed one of our routes (not our own delete in flight): repair.
          if (isOurs(r, this.k) && r.priority === this.k.metric && this.installed.has(prefix) && !this.pending.has(prefix)) {
            this.scheduleResync(`route ${prefix} removed outside Tern`);
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

function* prepend<T>(first: T, rest: Iterator<T>): Generator<T> {
  yield first;
  for (let n = rest.next(); !n.done; n = rest.next()) yield n.value;
}
