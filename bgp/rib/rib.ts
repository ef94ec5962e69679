// The RIB: Adj-RIBs-In, Loc-RIB and Adj-RIBs-Out (RFC 4271 §3.2) for IPv4 and IPv6 unicast.
// Pure: no sockets, no timers, no clock of its own. The session driver calls ingest() per
// UPDATE, flush(now) once per batch (decision process for the queued prefixes, change records
// for the FIB, UPDATEs encoded per update group) and takeOutput(peer) at its own pace.
//
// A thin facade: it resolves peer ids and wires the parts together. The state has one owner
// each: core.ts (attribute store, tables, peers, options, decision) and groups.ts (the update
// groups and their members); the work is done by import.ts (routes in), loc-rib.ts (decision
// and export per prefix), stale.ts (graceful restart, refresh, LLGR), output.ts (routes out)
// and show.ts (bgpctl's views), each taking only the part of the core it uses.

import type { Family, PathAttributes, Prefix, SessionContext, UpdateMessage } from '../codec/types.js';
import { FAMILIES, RibCore } from './core.js';
import { UpdateGroups } from './groups.js';
import { ingestUpdate, originate, recomputeImport, withdrawOrigin } from './import.js';
import { decideQueued } from './loc-rib.js';
import type { PeerCaps, RibChange, RibEntryView, RibNotice, RibOptions, RibPeer, RibPeerCounters, RibStats } from './rib-types.js';
import { adjRibIn, adjRibOut, adjRibOutCount, dumpLocRib, lookup, pathCounts, type AdjOutView, type PathCounts } from './show.js';
import { markLongLivedStale, markStale, sweepStale, type LongLivedStaleResult } from './stale.js';

export { FAMILIES };

export class Rib {
  /** The shared state (read by the RIB's own tests and benches; the daemon uses the methods). */
  readonly core: RibCore;
  readonly groups: UpdateGroups;
  private epochSeq = 0;
  /** Change records made outside flush() (peerUp settling the queue); the next flush returns them. */
  private carried: RibChange[] = [];

  constructor(opts: RibOptions) {
    this.core = new RibCore(opts);
    this.groups = new UpdateGroups(this.core);
  }

  /**
   * RFC 4456: become (or stop being) a route reflector without a restart, as Calico does when a
   * live Node gets a routeReflectorClusterID. Export rules use the new ID from the next UPDATE
   * on; sessions whose client role changes must be restarted by the caller (their OPEN changes).
   */
  setClusterId(clusterId: string | undefined): void {
    this.core.setClusterId(clusterId);
  }

  // ---------------------------------------------------------------- peers

  addPeer(cfg: RibPeer): void {
    this.core.addPeer(cfg);
  }

  removePeer(id: string): void {
    const p = this.core.peer(id);
    this.peerDown(id);
    this.core.forgetPeer(p);
  }

  hasPeer(id: string): boolean {
    return this.core.peers.has(id);
  }

  /**
   * Session Established: join (or create) the update group and queue the initial dump + EoR.
   * What is queued is decided and encoded first, as flush(now) would: the dump is the
   * Adj-RIB-Out as last encoded, and a best path dropped since the last flush (another
   * session's down, a stale sweep) would still be in it (seen in conformance/cluster.test.ts:
   * the new peer got a dead peer's route, or none, before End-of-RIB). The change records
   * this makes come out of the next flush().
   */
  peerUp(id: string, ctx: SessionContext, caps: PeerCaps, now = 0): void {
    const p = this.core.peer(id);
    if (p.up) this.peerDown(id);
    this.settle(now);
    p.up = true;
    p.epoch = ++this.epochSeq;
    p.ctx = ctx;
    p.caps = caps;
    p.setRouterId(caps.routerId);
    p.families = caps.families ?? ['ipv4'];
    p.nextHopVerdicts.clear();
    this.groups.peerUp(p);
  }

  /**
   * New import/export rules for a peer without resetting its session (soft reconfiguration):
   * import rules are re-run over its pre-policy Adj-RIB-In (refreshImport); with new export
   * rules it moves to the matching update group, is sent what it now lacks and told to
   * withdraw what it should no longer have.
   */
  setPolicies(id: string, rules: Pick<RibPeer, 'importPolicy' | 'exportPolicy' | 'importFilter' | 'exportFilter'>): void {
    const p = this.core.peer(id);
    const before = p.cfg;
    p.cfg = { ...before, ...rules };
    if (p.cfg.importPolicy !== before.importPolicy || p.cfg.importFilter !== before.importFilter) this.refreshImport(id);
    if (p.up && (p.cfg.exportPolicy !== before.exportPolicy || p.cfg.exportFilter !== before.exportFilter)) this.groups.regroup(p);
  }

  /**
   * Session left Established. Without `keepStale` the peer's routes are withdrawn now;
   * with it (RFC 4724 graceful restart helper) they are marked stale and kept until
   * sweepStale() (after End-of-RIB or the restart timer).
   */
  peerDown(id: string, keepStale = false): void {
    const p = this.core.peer(id);
    if (p.up) {
      this.groups.leave(p);
      p.up = false;
    }
    p.refreshing.clear();
    for (const f of FAMILIES) {
      if (keepStale) markStale(this.core.tables[f], p.idx);
      else this.core.clearPeer(this.core.tables[f], p.idx);
    }
  }

  // ---------------------------------------------------------------- routes in (import.ts)

  /** One UPDATE from an Established peer (RFC 4271 §9). Queues changed prefixes. */
  ingest(peerId: string, u: UpdateMessage): void {
    ingestUpdate(this.core, this.core.peer(peerId), u);
  }

  /** Originates one of our own prefixes (a Calico block): ORIGIN IGP, empty AS_PATH. */
  originate(prefix: Prefix | string, attrs: PathAttributes = {}): void {
    originate(this.core, prefix, attrs);
  }

  withdrawOrigin(prefix: Prefix | string): void {
    withdrawOrigin(this.core, prefix);
  }

  /** Re-runs import policy over the pre-policy Adj-RIB-In of a peer (policy changed). */
  refreshImport(peerId: string): void {
    const p = this.core.peer(peerId);
    for (const f of FAMILIES) recomputeImport(this.core, p, this.core.tables[f]);
  }

  /** Addresses of this speaker beyond the sessions' own (the next-hop check, nexthop.ts). */
  get ownAddresses(): ReadonlySet<string> {
    return this.core.ownAddresses;
  }

  /**
   * The speaker's addresses changed (an address added to or removed from an interface).
   * RFC 4271 §6.3 is about what the next hop is now, so the paths already held are re-checked,
   * not only the UPDATEs still to come: those whose next hop became ours stop being used (and
   * are noted), those whose next hop stopped being ours are used again. Only paths with a
   * changed address as next hop are re-run (one pass over the Adj-RIBs-In, no decoding);
   * returns how many addresses changed.
   */
  setOwnAddresses(next: ReadonlySet<string>): number {
    const own = this.core.ownAddresses;
    const changed = new Set<string>();
    for (const a of next) if (!own.has(a)) changed.add(a);
    for (const a of own) if (!next.has(a)) changed.add(a);
    this.core.ownAddresses = next;
    if (changed.size === 0) return 0;
    for (const p of this.core.peers.values()) {
      for (const a of changed) p.nextHopVerdicts.delete(a);
      for (const f of FAMILIES) recomputeImport(this.core, p, this.core.tables[f], changed);
    }
    return changed.size;
  }

  // ---------------------------------------------------------------- stale routes (stale.ts)

  /** RFC 4724 §4.2 / RFC 7313 §4: mark a peer's routes of a family stale. */
  markStale(peerId: string, family: Family): void {
    markStale(this.core.tables[family], this.core.peer(peerId).idx);
  }

  /** Removes the routes still stale (not re-announced since markStale); returns how many. */
  sweepStale(peerId: string, family: Family): number {
    return sweepStale(this.core, this.core.tables[family], this.core.peer(peerId).idx);
  }

  /** RFC 9494 §4.2: the peer's restart time ran out: its stale routes become long-lived stale. */
  markLongLivedStale(peerId: string, family: Family): LongLivedStaleResult {
    const p = this.core.peers.get(peerId);
    return p ? markLongLivedStale(this.core, this.core.tables[family], p.idx) : { kept: 0, removed: 0 };
  }

  /** RFC 7313 §4: the peer sent BoRR: its routes are stale until EoRR. */
  beginRefresh(peerId: string, family: Family): void {
    this.core.peer(peerId).refreshing.add(family);
    this.markStale(peerId, family);
  }

  /** RFC 7313 §4: the peer sent EoRR: routes not re-advertised are withdrawn. */
  endRefresh(peerId: string, family: Family): number {
    const p = this.core.peer(peerId);
    if (!p.refreshing.delete(family)) return 0;
    return this.sweepStale(peerId, family);
  }

  /** NEXT_HOP reachability or IGP costs changed: run the decision for every prefix. */
  requeueAll(): void {
    this.core.requeueAll();
  }

  // ---------------------------------------------------------------- decision (loc-rib.ts)

  /**
   * Runs the decision process for queued prefixes (at most `limit`), updates the
   * Adj-RIBs-Out and encodes UPDATEs for groups whose MRAI allows. Returns the change records.
   */
  flush(now = 0, limit = Infinity): RibChange[] {
    const changes = this.carried;
    this.carried = [];
    decideQueued(this.core, this.groups.list, limit, changes);
    this.groups.encode(now);
    return changes;
  }

  /** Decides and encodes everything queued, keeping the change records for the next flush(). */
  private settle(now: number): void {
    if (this.core.queued === 0) return;
    decideQueued(this.core, this.groups.list, Infinity, this.carried);
    this.groups.encode(now);
  }

  /** Prefixes still queued for the decision process. */
  get queued(): number {
    return this.core.queued;
  }

  // ---------------------------------------------------------------- routes out (groups.ts)

  /**
   * Pull model: up to about maxBytes of UPDATEs (at least one message) for a peer, in order.
   * A slow peer only delays itself; the shared stream is kept until every member took it.
   */
  takeOutput(peerId: string, maxBytes = Infinity): Buffer[] {
    return this.groups.takeOutput(this.core.peer(peerId), maxBytes);
  }

  /** True when takeOutput would return something (the driver's writable check). */
  hasOutput(peerId: string): boolean {
    return this.groups.hasOutput(this.core.peer(peerId));
  }

  /**
   * How many UPDATEs the peer has not taken yet. A member that lags keeps its update group's
   * shared log from being trimmed, so the daemon bounds this (a slow peer must not hold the
   * memory of all the others).
   */
  outputBacklog(peerId: string): number {
    return this.groups.backlog(this.core.peer(peerId));
  }

  /** Earliest `now` at which flush() will announce MRAI-delayed changes; Infinity if none. */
  nextFlushAt(): number {
    return this.groups.nextAnnounceAt();
  }

  /**
   * The peer sent ROUTE-REFRESH (RFC 2918 §4): re-send our Adj-RIB-Out for the family.
   * With enhanced route refresh negotiated, framed by BoRR and EoRR (RFC 7313 §4).
   */
  routeRefresh(peerId: string, family: Family): void {
    const p = this.core.peer(peerId);
    this.groups.refresh(p, family, !!p.caps?.enhancedRouteRefresh);
  }

  // ---------------------------------------------------------------- notices and counters

  /** The notices since the last call (the driver logs them, rate limited). */
  takeNotices(): RibNotice[] {
    return this.core.takeNotices();
  }

  /** Paths in the peer's Adj-RIB-In for a family, before import policy (max-prefix). O(1). */
  receivedCount(id: string, family: Family): number {
    return this.core.tables[family].peerCount[this.core.peer(id).idx] ?? 0;
  }

  /** Per-reason counts for a peer (`bgpctl show neighbor`). */
  peerCounters(id: string): RibPeerCounters {
    return { ...this.core.peer(id).counters };
  }

  // ---------------------------------------------------------------- bgpctl views (show.ts)

  /** `show rib <prefix> --detail`: every path, best first, with flags and the reason it lost. */
  lookup(prefix: string): RibEntryView[] {
    return lookup(this.core, prefix);
  }

  /** `show rib`: best and multipath entries of the Loc-RIB. */
  dumpLocRib(family?: Family): RibEntryView[] {
    return dumpLocRib(this.core, family);
  }

  /** `show neighbor <id> received-routes` (post-policy, or `pre` for everything received). */
  adjRibIn(peerId: string, family?: Family, view: 'pre' | 'post' = 'post'): RibEntryView[] {
    return adjRibIn(this.core, peerId, family, view);
  }

  /** Number of routes advertised to a peer (for `show neighbors`; no object per route). */
  adjRibOutCount(peerId: string, family?: Family): number {
    return adjRibOutCount(this.core, this.groups, peerId, family);
  }

  /** `show neighbor <id> advertised-routes`. */
  adjRibOut(peerId: string, family?: Family): AdjOutView[] {
    return adjRibOut(this.core, this.groups, peerId, family);
  }

  /** A peer's received, accepted and stale path counts (`show neighbor`). */
  pathCounts(peerId: string, family?: Family): PathCounts {
    return pathCounts(this.core, peerId, family);
  }

  /** Whether the peer has any path in a family's Adj-RIB-In (stale ones included). */
  hasPaths(peerId: string, family: Family): boolean {
    const p = this.core.peers.get(peerId);
    return !!p && (this.core.tables[family].peerCount[p.idx] ?? 0) > 0;
  }

  stats(): RibStats {
    const t4 = this.core.tables.ipv4;
    const t6 = this.core.tables.ipv6;
    return {
      prefixes: { ipv4: t4.store.size, ipv6: t6.store.size },
      paths: { ipv4: t4.pathCount, ipv6: t6.pathCount },
      attrSets: this.core.attrs.size,
      updateGroups: this.groups.size,
      queued: this.core.queued,
    };
  }
}
