// Long-lived graceful restart, receiving side (RFC 9494). When a peer's GR restart time runs out
// and the peer advertised the LLGR capability for the family, its stale routes are not removed:
// they become "long-lived stale" for the peer's long-lived stale time. Here, in the RIB:
// - §4.3: the LLGR_STALE community (65535:6) is attached to each such route, and a route that
//   carries NO_LLGR (65535:7) is removed instead;
// - §4.3 "least preferred": decision.ts ranks a path carrying LLGR_STALE below every path
//   without it (step LLGR_STALE, before all others), whichever peer it came from;
// - §4.4/§4.5: export.ts never advertises a route carrying LLGR_STALE (Tern does not announce the
//   LLGR capability, and LLGR-stale routes MUST NOT go to a peer that did not; Tern also keeps
//   them from its LLGR peers, the conservative choice).
// The paths keep their STALE flag, so sweepStale() removes whatever the peer does not
// re-announce after it comes back (End-of-RIB) or when the long-lived stale time ends.

import type { Family } from '../types';
import type { Rib } from './rib';
import { PathFlag } from './table';

/** RFC 9494 §7: well-known communities. */
export const LLGR_STALE = 0xffff0006;
export const NO_LLGR = 0xffff0007;

export interface LongLivedStaleResult {
  /** Stale paths now carrying LLGR_STALE. */
  kept: number;
  /** Stale paths removed because they carried NO_LLGR. */
  removed: number;
}

/**
 * RFC 9494 §4.2: the restart timer of `peerId` expired for `family`: turn its stale paths into
 * long-lived stale ones (LLGR_STALE attached, NO_LLGR ones removed) and queue their prefixes for
 * the decision process. Paths that are not stale (re-announced since) are left alone.
 */
export function markLongLivedStale(rib: Rib, peerId: string, family: Family): LongLivedStaleResult {
  const peer = rib.peers.get(peerId);
  if (!peer) return { kept: 0, removed: 0 };
  const t = rib.tables[family];
  const res: LongLivedStaleResult = { kept: 0, removed: 0 };
  for (const path of [...t.peerPaths(peer.idx)]) {
    if ((t.pFlags[path] & PathFlag.STALE) === 0 || t.pAttr[path] < 0) continue;
    const set = rib.attrs.get(t.pAttr[path]);
    const a = rib.attrs.attrsOf(set);
    const comms = a.communities ?? [];
    if (comms.includes(NO_LLGR)) {
      rib.dropPath(t, path);
      res.removed++;
      continue;
    }
    res.kept++;
    if (comms.includes(LLGR_STALE)) continue;
    const next = rib.attrs.intern({ ...a, communities: [...comms, LLGR_STALE] }, family === 'ipv4' ? set.nextHop : { global: set.nextHop, linkLocal: set.linkLocal });
    rib.attrs.unref(set);
    t.pAttr[path] = next.id;
    t.enqueue(t.pPfx[path]);
  }
  return res;
}
