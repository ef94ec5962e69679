// The per-family route table: every path of every peer (the Adj-RIBs-In, pre- and
// post-policy), the Loc-RIB best path per prefix, and the queue of prefixes awaiting the
// decision process. Structure-of-arrays: a path is a small integer handle into typed arrays,
// a prefix is a PrefixStore index; no JS object per prefix or per path.
//
// Per path (17 bytes, +4 once a path id arrives, +4 once a policy changes a path): prefix, peer, received path id,
// post-policy attribute set, pre-policy attribute set, flags, next path of the same prefix (+4 for the arrival sequence when RFC 5004
// oldest-path is on). A peer's paths are found by scanning the peer column (peerDown,
// refreshImport and GR sweeps are rare; 1M paths scan in a few ms), which saves two links per
// path over a per-peer list.
// Per prefix (21 bytes + PrefixStore, +4 once a prefix has two multipath members): first path, best path, best attribute
// set (held by reference so the old best can be reported after its path is gone), best peer,
// reference count, queued flag, multipath signature.

import { PrefixStore } from './prefix-store.js';
import type { Family } from '../codec/types.js';

export const enum PathFlag {
  STALE = 1, // RFC 4724 §4.2 / RFC 7313 §4: kept from before a restart or refresh
  LOOP_AS = 2, // RFC 4271 §9.1.2: own AS in AS_PATH (beyond allowOwnAs)
  LOOP_ORIGINATOR = 4, // RFC 4456 §8: ORIGINATOR_ID is our router ID
  LOOP_CLUSTER = 8, // RFC 4456 §8: our CLUSTER_ID in CLUSTER_LIST
  POLICY = 16, // rejected by import policy
  WITHDRAWN = 32, // RFC 7606 treat-as-withdraw: kept out of the decision
  BAD_NEXTHOP = 64, // RFC 4271 §6.3: the next hop cannot be one (nexthop.ts): route ignored
}
/** pPre: the pre-policy set is the post-policy one. */
const SAME_AS_POST = -2;
export const INELIGIBLE = PathFlag.LOOP_AS | PathFlag.LOOP_ORIGINATOR | PathFlag.LOOP_CLUSTER | PathFlag.POLICY | PathFlag.BAD_NEXTHOP;

/** `a` copied into an array `n` long, `fill` beyond its end. */
export const grow32 = (a: Int32Array, n: number, fill: number): Int32Array => {
  const b = new Int32Array(n).fill(fill);
  b.set(a);
  return b;
};
const growU32 = (a: Uint32Array, n: number): Uint32Array => {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
};
const growU8 = (a: Uint8Array, n: number): Uint8Array => {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
};

/** A growable list of int32 (queues of prefix indices: no JS array of 1M numbers to collect). */
export class IntVec {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
  push3(a: number, b: number, c: number): void {
    if (this.length + 3 > this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    const d = this.data;
    const n = this.length;
    d[n] = a;
    d[n + 1] = b;
    d[n + 2] = c;
    this.length = n + 3;
  }
  /** Drops the first n entries. */
  shift(n: number): void {
    if (n >= this.length) this.length = 0;
    else {
      this.data.copyWithin(0, n, this.length);
      this.length -= n;
    }
    if (this.length === 0 && this.data.length > 65536) this.data = new Int32Array(1024);
  }
}

export class FamilyTable {
  readonly store: PrefixStore;
  // --- paths
  pPfx: Int32Array;
  pPeer: Int32Array;
  /**
   * Received path id (RFC 7911); empty until a path with a non-zero one arrives, so a table
   * without add-path receive spends nothing on it (4 MB at 1M paths). Read through rxId().
   */
  pRxId: Uint32Array;
  /** Post-policy attribute set id; -1 when the path is filtered. */
  pAttr: Int32Array;
  /**
   * Pre-policy attribute set id (as received, loop checks not applied) where it differs from
   * pAttr, SAME_AS_POST where not; empty while every path's policy changed nothing (no import
   * policy, or one that accepts as received): 4 bytes per path saved (issue 18). Read through
   * preOf(), written with setAttrs()/setPost().
   */
  pPre: Int32Array;
  /** Arrival sequence (RFC 5004); empty unless trackAge. */
  pAge: Uint32Array;
  pFlags: Uint8Array;
  pNext: Int32Array;
  private pathHigh = 0;
  private freePaths: number[] = [];
  pathCount = 0;
  private seq = 1;
  // --- prefixes
  pfxHead: Int32Array;
  pfxBest: Int32Array;
  pfxBestAttr: Int32Array;
  /** Peer index of the best path when it was chosen (kept for the change record). */
  pfxBestPeer: Int32Array;
  /**
   * Multipath signature of each prefix (0: fewer than two multipath members); empty until a
   * prefix has two, so a table whose prefixes each have one path (a full table from one
   * upstream) spends nothing on it (4 MB at 1M, issue 18). Read through mpSig().
   */
  pfxMpSig: Uint32Array;
  pfxRefs: Int32Array;
  pfxQueued: Uint8Array;
  /** Prefixes awaiting the decision process (holo's batch). */
  queue = new IntVec();
  /** Number of paths of each peer, by peer index. */
  peerCount: number[] = [];

  constructor(
    readonly family: Family,
    // Small on purpose: a pod-network node holds a few hundred prefixes, and 16384 entries
    // per family kept ~2.5 MB of filled arrays resident on an idle node (issue 18). The arrays
    // grow by 4x, so a 1M-route table costs a handful of extra copies.
    initial = 1024,
    readonly trackAge = false,
    readonly multipath = false,
  ) {
    this.store = new PrefixStore(family, initial);
    const n = initial;
    this.pPfx = new Int32Array(n);
    this.pPeer = new Int32Array(n);
    this.pRxId = new Uint32Array(0);
    this.pAttr = new Int32Array(n);
    this.pPre = new Int32Array(0);
    this.pAge = new Uint32Array(trackAge ? n : 0);
    this.pFlags = new Uint8Array(n);
    this.pNext = new Int32Array(n);
    this.pfxHead = new Int32Array(n).fill(-1);
    this.pfxBest = new Int32Array(n).fill(-1);
    this.pfxBestAttr = new Int32Array(n).fill(-1);
    this.pfxBestPeer = new Int32Array(n).fill(-1);
    this.pfxMpSig = new Uint32Array(0);
    this.pfxRefs = new Int32Array(n);
    this.pfxQueued = new Uint8Array(n);
  }

  /** Makes the per-prefix arrays as long as the store's entry arrays. */
  private syncPrefixArrays(): void {
    const n = this.store.capacity;
    if (this.pfxHead.length >= n) return;
    this.pfxHead = grow32(this.pfxHead, n, -1);
    this.pfxBest = grow32(this.pfxBest, n, -1);
    this.pfxBestAttr = grow32(this.pfxBestAttr, n, -1);
    this.pfxBestPeer = grow32(this.pfxBestPeer, n, -1);
    if (this.pfxMpSig.length > 0) this.pfxMpSig = growU32(this.pfxMpSig, n);
    this.pfxRefs = grow32(this.pfxRefs, n, 0);
    this.pfxQueued = growU8(this.pfxQueued, n);
  }

  /** pfx for the wire prefix at buf[off] (len bits), added if new. */
  internPrefix(buf: Buffer, off: number, len: number): number {
    const pfx = this.store.intern(buf, off, len);
    if (pfx >= this.pfxHead.length) this.syncPrefixArrays();
    return pfx;
  }

  refPrefix(pfx: number): void {
    this.pfxRefs[pfx]++;
  }

  /** Drops a reference; the prefix leaves the store when nothing refers to it. */
  unrefPrefix(pfx: number): void {
    if (--this.pfxRefs[pfx] === 0 && this.pfxQueued[pfx] === 0) this.forget(pfx);
  }

  /** Returns pfx to the store once nothing refers to it and it is not queued. */
  settle(pfx: number): void {
    if (this.pfxRefs[pfx] === 0 && this.pfxQueued[pfx] === 0) this.forget(pfx);
  }

  private forget(pfx: number): void {
    this.pfxHead[pfx] = -1;
    this.pfxBest[pfx] = -1;
    this.pfxBestAttr[pfx] = -1;
    this.pfxBestPeer[pfx] = -1;
    if (this.pfxMpSig.length > 0) this.pfxMpSig[pfx] = 0;
    this.store.remove(pfx);
  }

  /** The multipath signature of pfx as last decided (0: fewer than two members). */
  mpSig(pfx: number): number {
    return pfx < this.pfxMpSig.length ? this.pfxMpSig[pfx] : 0;
  }

  setMpSig(pfx: number, sig: number): void {
    if (sig !== 0 && this.pfxMpSig.length === 0) this.pfxMpSig = new Uint32Array(this.pfxHead.length);
    if (this.pfxMpSig.length > 0) this.pfxMpSig[pfx] = sig;
  }

  enqueue(pfx: number): void {
    if (this.pfxQueued[pfx] === 0) {
      this.pfxQueued[pfx] = 1;
      this.queue.push(pfx);
    }
  }

  /** Received path id of a path (0 without add-path). */
  rxId(path: number): number {
    return this.pRxId.length === 0 ? 0 : this.pRxId[path];
  }

  /** The path of `peer` with received path id `rxId` for pfx, or -1. */
  findPath(pfx: number, peer: number, rxId: number): number {
    for (let p = this.pfxHead[pfx]; p >= 0; p = this.pNext[p]) {
      if (this.pPeer[p] === peer && this.rxId(p) === rxId) return p;
    }
    return -1;
  }

  /** Adds a path for (pfx, peer, rxId); the caller sets its attributes. */
  addPath(pfx: number, peer: number, rxId: number): number {
    let p: number;
    if (this.freePaths.length > 0) p = this.freePaths.pop() as number;
    else {
      p = this.pathHigh++;
      if (p >= this.pPfx.length) this.growPaths();
    }
    this.pPfx[p] = pfx;
    this.pPeer[p] = peer;
    if (rxId !== 0 && this.pRxId.length === 0) this.pRxId = new Uint32Array(this.pPfx.length);
    if (this.pRxId.length !== 0) this.pRxId[p] = rxId;
    this.pAttr[p] = -1;
    if (this.pPre.length !== 0) this.pPre[p] = SAME_AS_POST;
    this.pFlags[p] = 0;
    if (this.trackAge) this.pAge[p] = this.seq++;
    this.pNext[p] = this.pfxHead[pfx];
    this.pfxHead[pfx] = p;
    this.peerCount[peer] = (this.peerCount[peer] ?? 0) + 1;
    this.pfxRefs[pfx]++;
    this.pathCount++;
    return p;
  }

  /** The pre-policy attribute set id of path p (-1 for a path not yet given one). */
  preOf(p: number): number {
    if (this.pPre.length === 0) return this.pAttr[p];
    const v = this.pPre[p];
    return v === SAME_AS_POST ? this.pAttr[p] : v;
  }

  /** Sets both attribute set ids of path p (the references are the caller's). */
  setAttrs(p: number, pre: number, post: number): void {
    this.pAttr[p] = post;
    if (pre !== post && this.pPre.length === 0) this.pPre = new Int32Array(this.pPfx.length).fill(SAME_AS_POST);
    if (this.pPre.length !== 0) this.pPre[p] = pre === post ? SAME_AS_POST : pre;
  }

  /** Sets the post-policy set id of path p, keeping its pre-policy one. */
  setPost(p: number, post: number): void {
    this.setAttrs(p, this.preOf(p), post);
  }

  /** Restarts the RFC 5004 age of a path whose attributes changed. */
  touch(p: number): void {
    if (this.trackAge) this.pAge[p] = this.seq++;
  }

  /** Unlinks and frees path p (attribute references are the caller's). */
  removePath(p: number): void {
    const pfx = this.pPfx[p];
    if (this.pfxHead[pfx] === p) this.pfxHead[pfx] = this.pNext[p];
    else {
      let q = this.pfxHead[pfx];
      while (this.pNext[q] !== p) q = this.pNext[q];
      this.pNext[q] = this.pNext[p];
    }
    this.peerCount[this.pPeer[p]]--;
    this.pPeer[p] = -1;
    this.freePaths.push(p);
    this.pathCount--;
    this.unrefPrefix(pfx);
  }

  /** Snapshot of a peer's path handles (safe to mutate the table while iterating it). */
  peerPaths(peer: number): number[] {
    const out: number[] = [];
    let left = this.peerCount[peer] ?? 0;
    const col = this.pPeer;
    for (let p = 0; p < this.pathHigh && left > 0; p++) {
      if (col[p] === peer) {
        out.push(p);
        left--;
      }
    }
    return out;
  }

  /**
   * Visits a peer's path handles without a snapshot array; `visit` must not add or remove
   * paths. For counts read on every /metrics scrape: peerPaths() allocated a 1M-entry array per
   * call, several per scrape (issue 18).
   */
  forEachPeerPath(peer: number, visit: (path: number) => void): void {
    let left = this.peerCount[peer] ?? 0;
    const col = this.pPeer;
    for (let p = 0; p < this.pathHigh && left > 0; p++) {
      if (col[p] === peer) {
        visit(p);
        left--;
      }
    }
  }

  private growPaths(): void {
    const n = this.pPfx.length * (this.pPfx.length < 1 << 20 ? 4 : 2);
    this.pPfx = grow32(this.pPfx, n, 0);
    this.pPeer = grow32(this.pPeer, n, -1);
    if (this.pRxId.length !== 0) this.pRxId = growU32(this.pRxId, n);
    this.pAttr = grow32(this.pAttr, n, -1);
    if (this.pPre.length !== 0) this.pPre = grow32(this.pPre, n, SAME_AS_POST);
    if (this.trackAge) this.pAge = growU32(this.pAge, n);
    this.pFlags = growU8(this.pFlags, n);
    this.pNext = grow32(this.pNext, n, -1);
  }
}
