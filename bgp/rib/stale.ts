// Stale routes, kept instead of withdrawn while a peer restarts or refreshes: RFC 4724 §4.2
// graceful restart (helper side) and RFC 7313 §4 enhanced route refresh mark a peer's paths
// STALE; whatever the peer does not announce again is swept afterwards.
//
// Long-lived graceful restart, receiving side (RFC 9494). When a peer's GR restart time runs out
// and the peer advertised the LLGR capability for the family, its stale routes are not removed:
// they become "long-lived stale" for the peer's long-lived stale time. Here, in the RIB:
// - RFC 9494 §4.3: the LLGR_STALE community (65535:6) is attached to each such route, and a route that
//   carries NO_LLGR (65535:7) is removed instead;
// - RFC 9494 §4.3 "least preferred": decision.ts ranks a path carrying LLGR_STALE below every path
//   without it (step LLGR_STALE, before all others), whichever peer it came from;
// - RFC 9494 §4.4/§4.5: export.ts never advertises a route carrying LLGR_STALE (Tern does not announce the
//   LLGR capability, and LLGR-stale routes MUST NOT go to a peer that did not; Tern also keeps
//   them from its LLGR peers, the conservative choice).
// The paths keep their STALE flag, so sweepStale() removes whatever the peer does not
// re-announce after it comes back (End-of-RIB) or when the long-lived stale time ends.

import { LLGR_STALE, NO_LLGR } from '../codec/communities.js';
import type { RibCore } from './core.js';
import { PathFlag, type FamilyTable } from './table.js';

/** What stale handling uses of the RIB's core. */
export type StaleScope = Pick<RibCore, 'attrs' | 'dropPath'>;

/** RFC 4724 §4.2 / RFC 7313 §4: mark the paths of peer `idx` in a table stale. */
export function markStale(t: FamilyTable, idx: number): void {
  for (const path of t.peerPaths(idx)) t.pFlags[path] |= PathFlag.STALE;
}

/** Removes the paths of peer `idx` still stale (not re-announced since markStale); how many. */
export function sweepStale(core: StaleScope, t: FamilyTable, idx: number): number {
  let n = 0;
  for (const path of t.peerPaths(idx)) {
    if (t.pFlags[path] & PathFlag.STALE) {
      core.dropPath(t, path);
      n++;
    }
  }
  return n;
}

export interface LongLivedStaleResult {
  /** Stale paths now carrying LLGR_STALE. */
  kept: number;
  /** Stale paths removed because they carried NO_LLGR. */
  removed: number;
}

/**
 * RFC 9494 §4.2: the restart timer of peer `idx` expired for the table's family: turn its stale
 * paths into long-lived stale ones (LLGR_STALE attached, NO_LLGR ones removed) and queue their
 * prefixes for the decision process. Paths that are not stale (re-announced since) are left alone.
 */
export function markLongLivedStale(core: StaleScope, t: FamilyTable, idx: number): LongLivedStaleResult {
  const res: LongLivedStaleResult = { kept: 0, removed: 0 };
  for (const path of [...t.peerPaths(idx)]) {
    if ((t.pFlags[path] & PathFlag.STALE) === 0 || t.pAttr[path] < 0) continue;
    const set = core.attrs.get(t.pAttr[path]);
    const a = core.attrs.attrsOf(set);
    const comms = a.communities ?? [];
    if (comms.includes(NO_LLGR)) {
      core.dropPath(t, path);
      res.removed++;
      continue;
    }
    res.kept++;
    if (comms.includes(LLGR_STALE)) continue;
    const next = core.attrs.intern(
      { ...a, communities: [...comms, LLGR_STALE] },
      t.family === 'ipv4' ? set.nextHop : { global: set.nextHop, linkLocal: set.linkLocal },
    );
    core.attrs.unref(set);
    t.setPost(path, next.id);
    t.enqueue(t.pPfx[path]);
  }
  return res;
}
