// The RIB's shared state, with its one owner: the options, the attribute store, the per-family
// path tables, the peers, the decision options and the notices for the driver. A leaf: it
// imports only the data modules below it (never import.ts, loc-rib.ts, the update groups or
// rib.ts), so every part of the RIB can depend on it without closing a circle. The parts take
// a `Pick<RibCore, ...>` of what they use, and rib.ts (the facade) wires them together.
//
// The path primitives shared by several parts live here too: dropping a path (import,
// withdraw, stale sweep, peer down), the candidate and eligible sets of a prefix, and the
// decision process over them (decision.ts), whose answer the Loc-RIB, the Adj-RIBs-Out and
// bgpctl's views must agree on.

import type { Family } from '../codec/types.js';
import { formatPrefix } from '../codec/prefix.js';
import { AttrStore, type AttrSet } from './attr-store.js';
import { select, type Candidate, type DecisionOptions } from './decision.js';
import type { LocalSpeaker } from './export.js';
import { PeerState } from './peer-state.js';
import type { PathInfo, RibNotice, RibNoticeReason, RibOptions, RibPeer } from './rib-types.js';
import { FamilyTable, INELIGIBLE } from './table.js';

export const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
/** Peer id of the local pseudo-peer (index 0): our originated routes. */
export const LOCAL_ID = 'local';
const NONE: number[] = [];
/** Notices kept for the driver at most; the per-peer counters count every one. */
const MAX_NOTICES = 1000;

export class RibCore {
  readonly opts: RibOptions;
  readonly attrs = new AttrStore();
  readonly tables: Record<Family, FamilyTable>;
  /** Peers by id, and by their small index (the index the path tables hold); 0 is local. */
  readonly peers = new Map<string, PeerState>();
  readonly byIdx: (PeerState | undefined)[] = [];
  readonly decision: DecisionOptions;
  /** What the export rules need to know about this speaker (export.ts). */
  readonly me: LocalSpeaker;
  private readonly one = [0];
  /** Notices not yet taken by the driver; bounded (the counters are not). */
  private notices: RibNotice[] = [];
  /**
   * This speaker's addresses beyond the sessions' own (RibOptions.ownAddresses): the next-hop
   * check (RFC 4271 §6.3, nexthop.ts). Replaced only through Rib.setOwnAddresses.
   */
  ownAddresses: ReadonlySet<string>;

  constructor(opts: RibOptions) {
    this.opts = opts;
    this.ownAddresses = opts.ownAddresses ?? new Set();
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

  /** RFC 4456: the cluster ID the loop check and the export rules use from now on. */
  setClusterId(clusterId: string | undefined): void {
    this.opts.clusterId = clusterId;
    this.me.clusterId = clusterId;
  }

  // ---------------------------------------------------------------- peers

  /** A new peer in the lowest free index (the tables hold indices, not ids). */
  addPeer(cfg: RibPeer): PeerState {
    if (this.peers.has(cfg.id)) throw new Error(`peer ${cfg.id} already in the RIB`);
    let idx = this.byIdx.indexOf(undefined, 1);
    if (idx < 0) idx = this.byIdx.length;
    const p = new PeerState(idx, cfg, this.opts.localAs);
    this.byIdx[idx] = p;
    this.peers.set(cfg.id, p);
    return p;
  }

  /** Frees the peer's index; its paths must be gone already (the caller took it down). */
  forgetPeer(p: PeerState): void {
    this.peers.delete(p.cfg.id);
    this.byIdx[p.idx] = undefined;
  }

  peer(id: string): PeerState {
    const p = this.peers.get(id);
    if (!p) throw new Error(`unknown peer ${id}`);
    return p;
  }

  // ---------------------------------------------------------------- paths

  /** Frees a path and queues its prefix for the decision process. */
  dropPath(t: FamilyTable, path: number): void {
    const pfx = t.pPfx[path];
    t.enqueue(pfx);
    const pre = t.preOf(path);
    if (t.pAttr[path] >= 0) this.attrs.unref(this.attrs.get(t.pAttr[path]));
    if (pre >= 0) this.attrs.unref(this.attrs.get(pre));
    t.removePath(path);
  }

  /** Drops every path of a peer in a family (session down without graceful restart). */
  clearPeer(t: FamilyTable, idx: number): void {
    for (const path of t.peerPaths(idx)) this.dropPath(t, path);
  }

  /** NEXT_HOP reachability or IGP costs changed: run the decision for every prefix. */
  requeueAll(): void {
    for (const f of FAMILIES) {
      const t = this.tables[f];
      for (let pfx = 0; pfx < t.store.highWater; pfx++) if (t.store.isLive(pfx) && t.pfxHead[pfx] >= 0) t.enqueue(pfx);
    }
  }

  /** Prefixes still queued for the decision process. */
  get queued(): number {
    return this.tables.ipv4.queue.length + this.tables.ipv6.queue.length;
  }

  // ---------------------------------------------------------------- decision

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
      pathId: t.rxId(path),
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
    return this.info(this.attrs.get(t.pAttr[path]), t.pPeer[path], t.rxId(path));
  }

  info(set: AttrSet, peerIdx: number, pathId: number): PathInfo {
    // One PathInfo per (set, peer) for the common path id 0: change records share it. A cached
    // one is reused when it says the same (peer name and session kind): its other fields are
    // the set's, so an index reused after removePeer cannot pass another peer's name on.
    const peer = this.byIdx[peerIdx];
    const name = peer ? peer.cfg.id : '?';
    const ebgp = !!peer?.ebgp;
    const cached = set.info;
    if (pathId === 0 && cached && cached.peer === name && cached.ebgp === ebgp) return cached;
    const i: PathInfo = { peer: name, nextHop: set.nextHop, attrs: this.attrs.attrsOf(set), ebgp, pathId };
    if (set.linkLocal) i.linkLocal = set.linkLocal;
    if (pathId === 0) set.info = i;
    return i;
  }

  // ---------------------------------------------------------------- notices

  /**
   * A route left out for `peer` (see RibNotice). Counted always; the record itself is kept
   * only while fewer than MAX_NOTICES wait, since the driver logs a sample, not each one.
   */
  note(peer: PeerState, reason: RibNoticeReason, family: Family, pfx: number, detail: string): void {
    peer.counters[reason]++;
    if (this.notices.length < MAX_NOTICES) {
      this.notices.push({ peer: peer.cfg.id, reason, family, prefix: formatPrefix(this.tables[family].store.toPrefix(pfx)), detail });
    }
  }

  /** The notices since the last call (the driver logs them, rate limited). */
  takeNotices(): RibNotice[] {
    const n = this.notices;
    this.notices = [];
    return n;
  }
}
