// Read-only views of the RIB for bgpctl (`show rib`, `show rib <prefix> --detail`,
// `show neighbor <peer> received-routes|advertised-routes`). Plain objects, built on demand.

import { parsePrefix } from '../codec/prefix.js';
import type { Family, PathAttributes } from '../codec/types.js';
import type { AttrSet } from './attr-store.js';
import { FAMILIES, type RibCore } from './core.js';
import { compare, STEP_NAMES, type Candidate } from './decision.js';
import type { UpdateGroups } from './groups.js';
import type { RibEntryView } from './rib-types.js';
import { INELIGIBLE, PathFlag, type FamilyTable } from './table.js';

/** What the views read of the RIB's core (they change nothing). */
export type ShowScope = Pick<RibCore, 'attrs' | 'tables' | 'peers' | 'decision' | 'selectPaths' | 'candidate' | 'info'>;
/** The Adj-RIB-Out views find a peer's update group here. */
export type GroupLookup = Pick<UpdateGroups, 'memberOf'>;

function filteredReason(flags: number): string | undefined {
  if (flags & PathFlag.LOOP_AS) return 'AS loop: our AS in AS_PATH (RFC 4271 §9.1.2)';
  if (flags & PathFlag.LOOP_ORIGINATOR) return 'ORIGINATOR_ID is our router ID (RFC 4456 §8)';
  if (flags & PathFlag.LOOP_CLUSTER) return 'our CLUSTER_ID in CLUSTER_LIST (RFC 4456 §8)';
  if (flags & PathFlag.BAD_NEXTHOP) return 'unusable next hop: route ignored (RFC 4271 §6.3)';
  if (flags & PathFlag.POLICY) return 'rejected by import policy';
  return undefined;
}

/** Every path of one prefix, best first, each with the reason it lost or was filtered. */
function prefixViews(core: ShowScope, t: FamilyTable, f: Family, pfx: number, onlySelected: boolean, pre = false): RibEntryView[] {
  const mp = core.selectPaths(t, f, pfx);
  const best = mp.length ? mp[0] : -1;
  const bestCand = best >= 0 ? core.candidate(t, f, best) : null;
  const prefix = t.store.format(pfx);
  const out: { v: RibEntryView; c: Candidate | null }[] = [];
  for (let p = t.pfxHead[pfx]; p >= 0; p = t.pNext[p]) {
    if (onlySelected && !mp.includes(p)) continue;
    const v = pathView(core, t, f, p, prefix, pre);
    v.best = p === best;
    v.multipath = mp.includes(p);
    const c = v.filtered ? null : core.candidate(t, f, p);
    if (c && bestCand && p !== best) {
      v.valid = c.reachable;
      const verdict = compare(bestCand, c, core.decision);
      v.reason = `${STEP_NAMES[verdict.step]}: ${verdict.reason}`;
    }
    out.push({ v, c });
  }
  // Preference order, as the decision process ranks them; filtered paths last.
  out.sort((a, b) => {
    if (a.v.best !== b.v.best) return a.v.best ? -1 : 1;
    if (!a.c || !b.c) return a.c ? -1 : b.c ? 1 : 0;
    return compare(a.c, b.c, core.decision).winner === 0 ? -1 : 1;
  });
  return out.map((x) => x.v);
}

function pathView(core: ShowScope, t: FamilyTable, f: Family, p: number, prefix: string, pre: boolean): RibEntryView {
  const flags = t.pFlags[p];
  const filtered = t.pAttr[p] < 0 || (flags & INELIGIBLE) !== 0;
  const id = pre || t.pAttr[p] < 0 ? t.preOf(p) : t.pAttr[p];
  const info = core.info(core.attrs.get(id), t.pPeer[p], t.rxId(p));
  const v: RibEntryView = {
    ...info,
    prefix,
    family: f,
    valid: !filtered,
    best: false,
    multipath: false,
    ibgp: !info.ebgp && info.peer !== 'local',
    stale: (flags & PathFlag.STALE) !== 0,
    filtered,
  };
  if (filtered) v.reason = filteredReason(flags);
  return v;
}

/** `show rib <prefix> --detail`: all paths of the prefix with flags and reasons. */
export function lookup(core: ShowScope, prefix: string): RibEntryView[] {
  const p = parsePrefix(prefix);
  const f: Family = p.afi === 1 ? 'ipv4' : 'ipv6';
  const t = core.tables[f];
  const pfx = t.store.fromPrefix(p, false);
  return pfx < 0 ? [] : prefixViews(core, t, f, pfx, false);
}

/** `show rib`: the Loc-RIB (best and multipath entries), optionally one family. */
export function dumpLocRib(core: ShowScope, family?: Family): RibEntryView[] {
  const out: RibEntryView[] = [];
  for (const f of family ? [family] : FAMILIES) {
    const t = core.tables[f];
    for (let pfx = 0; pfx < t.store.highWater; pfx++) {
      if (t.store.isLive(pfx) && t.pfxBest[pfx] >= 0) out.push(...prefixViews(core, t, f, pfx, true));
    }
  }
  return out;
}

/** Adj-RIB-In of a peer: post-policy (default) or as received (`pre`). */
export function adjRibIn(core: ShowScope, peerId: string, family?: Family, view: 'pre' | 'post' = 'post'): RibEntryView[] {
  const peer = core.peers.get(peerId);
  if (!peer) return [];
  const out: RibEntryView[] = [];
  for (const f of family ? [family] : FAMILIES) {
    const t = core.tables[f];
    for (const p of t.peerPaths(peer.idx)) {
      const v = pathView(core, t, f, p, t.store.format(t.pPfx[p]), view === 'pre');
      if (view === 'post' && v.filtered) continue;
      v.best = t.pfxBest[t.pPfx[p]] === p;
      out.push(v);
    }
  }
  return out;
}

export interface AdjOutView {
  prefix: string;
  family: Family;
  pathId: number;
  nextHop: string;
  linkLocal?: string;
  attrs: PathAttributes;
}

/** Adj-RIB-Out of a peer (its update group's table, minus what is excluded for it). */
export function adjRibOut(core: ShowScope, groups: GroupLookup, peerId: string, family?: Family): AdjOutView[] {
  const peer = core.peers.get(peerId);
  const m = peer ? groups.memberOf(peer.idx) : undefined;
  if (!peer || !m) return [];
  const out: AdjOutView[] = [];
  // Outbound sets are lean: decode each once per call, not once per prefix.
  const decoded = new Map<object, PathAttributes>();
  for (const f of family ? [family] : m.group.families) {
    const t = core.tables[f];
    for (const e of m.group.entries(f)) {
      if (e.excl === peer.idx) continue;
      if (e.attr.originatorId >= 0 && e.attr.originatorId === peer.routerIdNum) continue;
      let attrs = decoded.get(e.attr);
      if (!attrs) decoded.set(e.attr, (attrs = m.group.attrsOf(e.attr)));
      const v: AdjOutView = { prefix: t.store.format(e.pfx), family: f, pathId: e.pathId, nextHop: e.attr.nextHop, attrs };
      if (e.attr.linkLocal) v.linkLocal = e.attr.linkLocal;
      out.push(v);
    }
  }
  return out;
}

/** How many routes the peer's Adj-RIB-Out holds for it (cheap: no objects per route). */
export function adjRibOutCount(core: ShowScope, groups: GroupLookup, peerId: string, family?: Family): number {
  const peer = core.peers.get(peerId);
  const m = peer ? groups.memberOf(peer.idx) : undefined;
  if (!peer || !m) return 0;
  let n = 0;
  for (const f of family ? [family] : m.group.families) {
    const gf = m.group.fams[f];
    const count = (set: AttrSet, excl: number): void => {
      if (excl !== peer.idx && !(set.originatorId >= 0 && set.originatorId === peer.routerIdNum)) n++;
    };
    if (gf.addPath) for (const paths of gf.ap.values()) for (const p of paths) count(p.set, p.excl);
    else {
      const end = Math.min(gf.out.length, core.tables[f].store.highWater);
      for (let pfx = 0; pfx < end; pfx++) if (gf.out[pfx] >= 0) count(core.attrs.get(gf.out[pfx]), gf.exclOf(pfx));
    }
  }
  return n;
}

export interface PathCounts {
  /** Paths received (the Adj-RIB-In before policy). */
  received: number;
  /** Of those, accepted: import policy kept them and no loop or next-hop check refused them. */
  accepted: number;
  /** Of those, stale (RFC 4724 §4.2, RFC 7313 §4). */
  stale: number;
}

/** A peer's path counts (`bgpctl show neighbor`), one family or both; no object per path. */
export function pathCounts(core: ShowScope, peerId: string, family?: Family): PathCounts {
  const c: PathCounts = { received: 0, accepted: 0, stale: 0 };
  const peer = core.peers.get(peerId);
  if (!peer) return c;
  for (const f of family ? [family] : FAMILIES) {
    const t = core.tables[f];
    t.forEachPeerPath(peer.idx, (p) => {
      c.received++;
      if (t.pAttr[p] >= 0 && (t.pFlags[p] & INELIGIBLE) === 0) c.accepted++;
      if (t.pFlags[p] & PathFlag.STALE) c.stale++;
    });
  }
  return c;
}
