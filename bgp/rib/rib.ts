// The RIB: Adj-RIBs-In, Loc-RIB and Adj-RIBs-Out (RFC 4271 §3.2) for IPv4 and IPv6 unicast.
// Pure: no sockets, no timers, no clock of its own. The session driver calls ingest() per
// UPDATE, flush(now) once per batch (decision process for the queued prefixes, change records
// for the FIB, UPDATEs encoded per update group) and takeOutput(peer) at its own pace.

import { type Family, type PathAttributes, type Prefix, type SessionContext, type UpdateMessage, Origin } from '../types';
import { formatPrefix, parsePrefix } from '../prefix';
import { endOfRib } from '../codec/update';
import { AttrStore, type AttrSet } from './attr-store';
import { select, type Candidate, type DecisionOptions } from './decision';
import { PeerState } from './peer-state';
import { FamilyTable, INELIGIBLE, PathFlag } from './table';
import { UpdateGroup, type Member } from './update-group';
import { decide } from './loc-rib';
import { joinGroup, leaveGroup, regroup } from './membership';
import { backlog, hasOutput, resendAdjRibOut, takeOutput } from './output';
import { importList, withdrawList, recomputeImport } from './import';
import type { PathInfo, PeerCaps, RibChange, RibEntryView, RibNotice, RibNoticeReason, RibOptions, RibPeer, RibPeerCounters, RibStats } from './rib-types';
import { adjRibIn, adjRibOut, adjRibOutCount, dumpLocRib, lookup, type AdjOutView } from './show';

export const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
const NONE: number[] = [];
const LOCAL_ID = 'local';

export class Rib {
  readonly opts: RibOptions;
  readonly attrs = new AttrStore();
  readonly tables: Record<Family, FamilyTable>;
  readonly peers = new Map<string, PeerState>();
  readonly byIdx: (PeerState | undefined)[] = [];
  readonly groups = new Map<string, UpdateGroup>();
  readonly members = new Map<number, { group: UpdateGroup; member: Member }>();
  readonly decision: DecisionOptions;
  readonly me: { localAs: number; routerId: string; clusterId?: string; defaultLocalPref: number };
  private groupSeq = 0;
  private epochSeq = 0;
  private readonly one = [0];
  /** The update groups as an array, for the per-prefix loop (loc-rib.ts). */
  groupList: UpdateGroup[] = [];
  /** Notices not yet taken by the driver; bounded (the counters are not). */
  private notices: RibNotice[] = [];

  constructor(opts: RibOptions) {
    this.opts = opts;
    const cap = opts.initialCapacity;
    const age = !!opts.preferOldestEbgp;
    const mp = (opts.maxPaths ?? 1) > 1;
    this.tables = { ipv4: new FamilyTable('ipv4', cap?.ipv4, age, mp), ipv6: new FamilyTable('ipv6', cap?.ipv6, age, mp) };
    this.decision = {
      defaultLocalPref: opts.defaultLocalPref ?? 100,
      alwaysCompareMed: !!opts.alwaysCompareMed,
      medMissingAsWorst: !!opts.medMissingAsWorst,
      preferOldestEbgp: !!opts.preferOldestEbgp,
      maxPaths: Math.max(1, opts.maxPaths ?? 1),
    };
    this.me = { localAs: opts.localAs, routerId: opts.routerId, clusterId: opts.clusterId, defaultLocalPref: this.decision.defaultLocalPref };
    const local = new PeerState(0, { id: LOCAL_ID, address: opts.routerId, asn: opts.localAs }, opts.localAs, true);
    local.setRouterId(opts.routerId);
    this.byIdx[0] = local;
  }

  /**
   * RFC 4456: become (or stop being) a route reflector without a restart, as Calico does when a
   * live Node gets a routeReflectorClusterID. Export rules use the new ID from the next UPDATE
   * on; sessions whose client role changes must be restarted by the caller (their OPEN changes).
   */
  setClusterId(clusterId: string | undefined): void {
    this.opts.clusterId = clusterId;
    this.me.clusterId = clusterId;
  }

  /** A new update group index (never reused: export memo keys contain it). */
  nextGroupIdx(): number {
    return ++this.groupSeq;
  }

  // ---------------------------------------------------------------- peers

  addPeer(cfg: RibPeer): void {
    if (this.peers.has(cfg.id)) throw new Error(`peer ${cfg.id} already in the RIB`);
    let idx = this.byIdx.indexOf(undefined, 1);
    if (idx < 0) idx = this.byIdx.length;
    const p = new PeerState(idx, cfg, this.opts.localAs);
    this.byIdx[idx] = p;
    this.peers.set(cfg.id, p);
  }

  removePeer(id: string): void {
    const p = this.peer(id);
    this.peerDown(id);
    this.peers.delete(id);
    this.byIdx[p.idx] = undefined;
  }

  private peer(id: string): PeerState {
    const p = this.peers.get(id);
    if (!p) throw new Error(`unknown peer ${id}`);
    return p;
  }

  /** Session Established: join (or create) the update group and queue the initial dump + EoR. */
  peerUp(id: string, ctx: SessionContext, caps: PeerCaps): void {
    const p = this.peer(id);
    if (p.up) this.peerDown(id);
    p.up = true;
    p.epoch = ++this.epochSeq;
    p.ctx = ctx;
    p.caps = caps;
    p.setRouterId(caps.routerId);
    p.families = caps.families ?? ['ipv4'];
    p.nextHopVerdicts.clear();
    const { group, member } = joinGroup(this, p);
    for (const f of group.families) {
      for (const b of group.dump(f, p.idx)) member.own.push(b);
      // RFC 4724 §2: End-of-RIB after the initial update for each family.
      member.own.push(endOfRib(f));
    }
  }

  /**
   * New import/export rules for a peer without resetting its session (soft reconfiguration):
   * import rules are re-run over its pre-policy Adj-RIB-In (refreshImport); with new export
   * rules it moves to the matching update group, is sent what it now lacks and told to
   * withdraw what it should no longer have.
   */
  setPolicies(id: string, rules: Pick<RibPeer, 'importPolicy' | 'exportPolicy' | 'importFilter' | 'exportFilter'>): void {
    const p = this.peer(id);
    const before = p.cfg;
    p.cfg = { ...before, ...rules };
    if (p.cfg.importPolicy !== before.importPolicy || p.cfg.importFilter !== before.importFilter) this.refreshImport(id);
    if (p.up && (p.cfg.exportPolicy !== before.exportPolicy || p.cfg.exportFilter !== before.exportFilter)) regroup(this, p);
  }

  /**
   * Session left Established. Without `keepStale` the peer's routes are withdrawn now;
   * with it (RFC 4724 graceful restart helper) they are marked stale and kept until
   * sweepStale() (after End-of-RIB or the restart timer).
   */
  peerDown(id: string, keepStale = false): void {
    const p = this.peer(id);
    if (p.up) {
      leaveGroup(this, p);
      p.up = false;
    }
    p.refreshing.clear();
    for (const f of FAMILIES) {
      if (keepStale) this.markStale(id, f);
      else this.clearPeer(this.tables[f], p.idx);
    }
  }

  private clearPeer(t: FamilyTable, idx: number): void {
    for (const path of t.peerPaths(idx)) this.dropPath(t, path);
  }

  /** Frees a path and queues its prefix for the decision process. */
  dropPath(t: FamilyTable, path: number): void {
    const pfx = t.pPfx[path];
    t.enqueue(pfx);
    if (t.pAttr[path] >= 0) this.attrs.unref(this.attrs.get(t.pAttr[path]));
    if (t.pPre[path] >= 0) this.attrs.unref(this.attrs.get(t.pPre[path]));
    t.removePath(path);
  }

  // ---------------------------------------------------------------- routes in

  /** One UPDATE from an Established peer (RFC 4271 §9). Queues changed prefixes. */
  ingest(peerId: string, u: UpdateMessage): void {
    const p = this.peer(peerId);
    // RFC 7606 §2 treat-as-withdraw: the NLRI are withdrawn, the attributes ignored.
    const tw = !!u.treatAsWithdraw;
    const clean = !u.errors || u.errors.length === 0;
    if (u.withdrawn.length) withdrawList(this, p, this.tables.ipv4, u.withdrawn);
    if (u.mpUnreach && u.mpUnreach.safi === 1) {
      const f = familyOf(u.mpUnreach.afi);
      if (f) withdrawList(this, p, this.tables[f], u.mpUnreach.withdrawn);
    }
    if (u.nlri.length) {
      if (tw) withdrawList(this, p, this.tables.ipv4, u.nlri);
      else importList(this, p, this.tables.ipv4, u.nlri, u.attrs, u.attrs.nextHop ?? '', clean);
    }
    if (u.mpReach && u.mpReach.safi === 1) {
      const f = familyOf(u.mpReach.afi);
      if (f && tw) withdrawList(this, p, this.tables[f], u.mpReach.nlri);
      else if (f) importList(this, p, this.tables[f], u.mpReach.nlri, u.attrs, u.mpReach.nextHop, clean);
    }
  }

  /** Originates one of our own prefixes (a Calico block): ORIGIN IGP, empty AS_PATH. */
  originate(prefix: Prefix | string, attrs: PathAttributes = {}): void {
    const pr = typeof prefix === 'string' ? parsePrefix(prefix) : prefix;
    const f: Family = pr.afi === 1 ? 'ipv4' : 'ipv6';
    const t = this.tables[f];
    const pfx = t.internPrefix(pr.addr, 0, pr.len);
    const set = this.attrs.intern({ origin: Origin.IGP, asPath: [], ...attrs }, attrs.nextHop ?? '');
    let path = t.findPath(pfx, 0, 0);
    if (path >= 0) {
      this.attrs.unref(this.attrs.get(t.pAttr[path]));
      this.attrs.unref(this.attrs.get(t.pPre[path]));
    } else path = t.addPath(pfx, 0, 0);
    this.attrs.ref(set);
    t.pAttr[path] = set.id;
    t.pPre[path] = set.id;
    t.enqueue(pfx);
  }

  withdrawOrigin(prefix: Prefix | string): void {
    const pr = typeof prefix === 'string' ? parsePrefix(prefix) : prefix;
    const t = this.tables[pr.afi === 1 ? 'ipv4' : 'ipv6'];
    const pfx = t.store.fromPrefix(pr, false);
    if (pfx < 0) return;
    const path = t.findPath(pfx, 0, 0);
    if (path >= 0) this.dropPath(t, path);
  }

  /** Re-runs import policy over the pre-policy Adj-RIB-In of a peer (policy changed). */
  refreshImport(peerId: string): void {
    const p = this.peer(peerId);
    for (const f of FAMILIES) recomputeImport(this, p, this.tables[f]);
  }

  /** RFC 4724 §4.2 / RFC 7313 §4: mark a peer's routes of a family stale. */
  markStale(peerId: string, family: Family): void {
    const t = this.tables[family];
    for (const path of t.peerPaths(this.peer(peerId).idx)) t.pFlags[path] |= PathFlag.STALE;
  }

  /** Removes the routes still stale (not re-announced since markStale); returns how many. */
  sweepStale(peerId: string, family: Family): number {
    const t = this.tables[family];
    let n = 0;
    for (const path of t.peerPaths(this.peer(peerId).idx)) {
      if (t.pFlags[path] & PathFlag.STALE) {
        this.dropPath(t, path);
        n++;
      }
    }
    return n;
  }

  /** RFC 7313 §4: the peer sent BoRR: its routes are stale until EoRR. */
  beginRefresh(peerId: string, family: Family): void {
    this.peer(peerId).refreshing.add(family);
    this.markStale(peerId, family);
  }

  /** RFC 7313 §4: the peer sent EoRR: routes not re-advertised are withdrawn. */
  endRefresh(peerId: string, family: Family): number {
    const p = this.peer(peerId);
    if (!p.refreshing.delete(family)) return 0;
    return this.sweepStale(peerId, family);
  }

  /** NEXT_HOP reachability or IGP costs changed: run the decision for every prefix. */
  requeueAll(): void {
    for (const f of FAMILIES) {
      const t = this.tables[f];
      for (let pfx = 0; pfx < t.store.highWater; pfx++) if (t.store.isLive(pfx) && t.pfxHead[pfx] >= 0) t.enqueue(pfx);
    }
  }

  // ---------------------------------------------------------------- decision

  /**
   * Runs the decision process for queued prefixes (at most `limit`), updates the
   * Adj-RIBs-Out and encodes UPDATEs for groups whose MRAI allows. Returns the change records.
   */
  flush(now = 0, limit = Infinity): RibChange[] {
    const changes: RibChange[] = [];
    for (const f of FAMILIES) {
      const t = this.tables[f];
      const q = t.queue;
      const n = Math.min(q.length, limit);
      for (let i = 0; i < n; i++) {
        const pfx = q.data[i];
        t.pfxQueued[pfx] = 0;
        decide(this, t, f, pfx, changes);
        t.settle(pfx);
      }
      q.shift(n);
      limit -= n;
    }
    for (const g of this.groups.values()) g.encode(now);
    return changes;
  }

  /** Prefixes still queued for the decision process. */
  get queued(): number {
    return this.tables.ipv4.queue.length + this.tables.ipv6.queue.length;
  }

  candidate(t: FamilyTable, f: Family, path: number): Candidate {
    const set = this.attrs.get(t.pAttr[path]);
    const peer = this.byIdx[t.pPeer[path]] as PeerState;
    const o = this.opts;
    return {
      attr: set,
      local: peer.local,
      ebgp: peer.ebgp,
      reachable: !o.nextHopReachable || peer.local || o.nextHopReachable(set.nextHop, f),
      igpCost: o.igpCost && !peer.local ? o.igpCost(set.nextHop, f) : 0,
      routerId: peer.routerIdNum,
      peerKey: peer.peerKey,
      pathId: t.pRxId[path],
      age: t.trackAge ? t.pAge[path] : 0,
    };
  }

  /** Eligible paths of pfx: post-policy attributes present, no loop, not treated as withdrawn. */
  eligible(t: FamilyTable, pfx: number): number[] {
    const out: number[] = [];
    for (let p = t.pfxHead[pfx]; p >= 0; p = t.pNext[p]) if (t.pAttr[p] >= 0 && (t.pFlags[p] & INELIGIBLE) === 0) out.push(p);
    return out;
  }

  /** Best path and multipath set of pfx: path handles, best first; [] when none is eligible. */
  selectPaths(t: FamilyTable, f: Family, pfx: number): number[] {
    const head = t.pfxHead[pfx];
    // Fast path: one path and no resolver (a full table from one peer). The returned array
    // is reused: callers read it before the next call.
    if (head >= 0 && t.pNext[head] < 0 && !this.opts.nextHopReachable) {
      if (t.pAttr[head] < 0 || (t.pFlags[head] & INELIGIBLE) !== 0) return NONE;
      this.one[0] = head;
      return this.one;
    }
    const el = this.eligible(t, pfx);
    if (el.length === 0) return [];
    const sel = select(
      el.map((p) => this.candidate(t, f, p)),
      this.decision,
    );
    return sel.multipath.map((i) => el[i]);
  }

  pathInfo(t: FamilyTable, path: number): PathInfo {
    return this.info(this.attrs.get(t.pAttr[path]), t.pPeer[path], t.pRxId[path]);
  }

  info(set: AttrSet, peerIdx: number, pathId: number): PathInfo {
    // One PathInfo per (set, peer) for the common path id 0: change records share it.
    const peer = this.byIdx[peerIdx];
    if (pathId === 0 && set.info && set.infoPeer === peer) return set.info;
    const i: PathInfo = { peer: peer ? peer.cfg.id : '?', nextHop: set.nextHop, attrs: this.attrs.attrsOf(set), ebgp: !!peer?.ebgp, pathId };
    if (set.linkLocal) i.linkLocal = set.linkLocal;
    if (pathId === 0) {
      set.info = i;
      set.infoPeer = peer;
    }
    return i;
  }

  // ---------------------------------------------------------------- routes out (output.ts)

  /**
   * Pull model: up to about maxBytes of UPDATEs (at least one message) for a peer, in order.
   * A slow peer only delays itself; the shared stream is kept until every member took it.
   */
  takeOutput(peerId: string, maxBytes = Infinity): Buffer[] {
    const p = this.peer(peerId);
    const m = this.members.get(p.idx);
    return m ? takeOutput(m.group, m.member, maxBytes) : [];
  }

  /** True when takeOutput would return something (the driver's writable check). */
  hasOutput(peerId: string): boolean {
    const m = this.members.get(this.peer(peerId).idx);
    return m ? hasOutput(m.group, m.member) : false;
  }

  /**
   * How many UPDATEs the peer has not taken yet. A member that lags keeps its update group's
   * shared log from being trimmed, so the daemon bounds this (a slow peer must not hold the
   * memory of all the others).
   */
  outputBacklog(peerId: string): number {
    const m = this.members.get(this.peer(peerId).idx);
    return m ? backlog(m.group, m.member) : 0;
  }

  /** Earliest `now` at which flush() will announce MRAI-delayed changes; Infinity if none. */
  nextFlushAt(): number {
    let t = Infinity;
    for (const g of this.groups.values()) t = Math.min(t, g.nextAnnounceAt());
    return t;
  }

  /**
   * The peer sent ROUTE-REFRESH (RFC 2918 §4): re-send our Adj-RIB-Out for the family.
   * With enhanced route refresh negotiated, framed by BoRR and EoRR (RFC 7313 §4).
   */
  routeRefresh(peerId: string, family: Family): void {
    const p = this.peer(peerId);
    const m = this.members.get(p.idx);
    if (m && m.group.families.includes(family)) resendAdjRibOut(m.group, m.member, family, !!p.caps?.enhancedRouteRefresh);
  }

  // ---------------------------------------------------------------- notices

  /**
   * A route left out for `peer` (see RibNotice). Counted always; the record itself is kept
   * only while fewer than 1000 wait, since the driver logs a sample, not each one.
   */
  note(peer: PeerState, reason: RibNoticeReason, family: Family, pfx: number, detail: string): void {
    peer.counters[reason]++;
    if (this.notices.length < 1000) this.notices.push({ peer: peer.cfg.id, reason, family, prefix: formatPrefix(this.tables[family].store.toPrefix(pfx)), detail });
  }

  /** The notices since the last call (the driver logs them, rate limited). */
  takeNotices(): RibNotice[] {
    const n = this.notices;
    this.notices = [];
    return n;
  }

  /** Paths in the peer's Adj-RIB-In for a family, before import policy (max-prefix). O(1). */
  receivedCount(id: string, family: Family): number {
    return this.tables[family].peerCount[this.peer(id).idx] ?? 0;
  }

  /** Per-reason counts for a peer (`bgpctl show neighbor`). */
  peerCounters(id: string): RibPeerCounters {
    return { ...this.peer(id).counters };
  }

  // ---------------------------------------------------------------- bgpctl views (show.ts)

  /** `show rib <prefix> --detail`: every path, best first, with flags and the reason it lost. */
  lookup(prefix: string): RibEntryView[] {
    return lookup(this, prefix);
  }

  /** `show rib`: best and multipath entries of the Loc-RIB. */
  dumpLocRib(family?: Family): RibEntryView[] {
    return dumpLocRib(this, family);
  }

  /** `show neighbor <id> received-routes` (post-policy, or `pre` for everything received). */
  adjRibIn(peerId: string, family?: Family, view: 'pre' | 'post' = 'post'): RibEntryView[] {
    return adjRibIn(this, peerId, family, view);
  }

  /** Number of routes advertised to a peer (for `show neighbors`; no object per route). */
  adjRibOutCount(peerId: string, family?: Family): number {
    return adjRibOutCount(this, peerId, family);
  }

  /** `show neighbor <id> advertised-routes`. */
  adjRibOut(peerId: string, family?: Family): AdjOutView[] {
    return adjRibOut(this, peerId, family);
  }

  stats(): RibStats {
    const t4 = this.tables.ipv4;
    const t6 = this.tables.ipv6;
    return {
      prefixes: { ipv4: t4.store.size, ipv6: t6.store.size },
      paths: { ipv4: t4.pathCount, ipv6: t6.pathCount },
      attrSets: this.attrs.size,
      updateGroups: this.groups.size,
      queued: this.queued,
    };
  }
}

function familyOf(afi: number): Family | null {
  return afi === 1 ? 'ipv4' : afi === 2 ? 'ipv6' : null;
}
