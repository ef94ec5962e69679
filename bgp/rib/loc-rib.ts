// The Loc-RIB step of flush(): for one queued prefix, run the decision process (decision.ts),
// record the change for the FIB when the best path or the multipath set changed (OpenBGPD's
// prefix_evaluate: one change record feeds every consumer), and recompute what each update
// group advertises for it.

import type { Family } from '../codec/types.js';
import { FAMILIES, type RibCore } from './core.js';
import type { ApPath } from './group-family.js';
import type { PeerState } from './peer-state.js';
import type { PathInfo, RibChange } from './rib-types.js';
import type { FamilyTable } from './table.js';
import type { UpdateGroup } from './update-group.js';

/** What the decision and export steps use of the RIB's core. */
export type LocRibScope = Pick<RibCore, 'attrs' | 'opts' | 'decision' | 'byIdx' | 'tables' | 'selectPaths' | 'eligible' | 'pathInfo' | 'info'>;

/**
 * Runs the decision process for queued prefixes, at most `limit` of them (both families
 * together); each changed prefix updates every group's Adj-RIB-Out (not yet encoded).
 */
export function decideQueued(core: LocRibScope, groups: readonly UpdateGroup[], limit: number, changes: RibChange[]): void {
  for (const f of FAMILIES) {
    const t = core.tables[f];
    const q = t.queue;
    const n = Math.min(q.length, limit);
    for (let i = 0; i < n; i++) {
      const pfx = q.data[i];
      t.pfxQueued[pfx] = 0;
      decide(core, groups, t, f, pfx, changes);
      t.settle(pfx);
    }
    q.shift(n);
    limit -= n;
  }
}

/** The decision for one queued prefix; change records go to `changes` (or opts.onChange). */
export function decide(core: LocRibScope, groups: readonly UpdateGroup[], t: FamilyTable, f: Family, pfx: number, changes: RibChange[]): void {
  const mp = core.selectPaths(t, f, pfx);
  const best = mp.length > 0 ? mp[0] : -1;
  const bestAttr = best >= 0 ? t.pAttr[best] : -1;
  const bestPeer = best >= 0 ? t.pPeer[best] : -1;
  // The multipath set's signature, 0 for a single path (whose change the best path shows), so
  // the column stays empty until some prefix has two members (table.ts).
  let sig = 0;
  if (t.multipath && mp.length > 1) {
    for (const p of mp) sig = (Math.imul(sig ^ (t.pAttr[p] + 1), 0x9e3779b1) + t.pPeer[p]) >>> 0;
    sig ||= 1;
  }
  const changed = best !== t.pfxBest[pfx] || bestAttr !== t.pfxBestAttr[pfx] || bestPeer !== t.pfxBestPeer[pfx] || sig !== t.mpSig(pfx);
  if (changed) {
    const oldAttr = t.pfxBestAttr[pfx];
    if (core.opts.collectChanges || core.opts.onChange) {
      const newBest = best >= 0 ? core.pathInfo(t, best) : undefined;
      let multipath: PathInfo[];
      if (mp.length === 0) multipath = [];
      else if (mp.length === 1) multipath = [newBest as PathInfo];
      else {
        multipath = [];
        for (const p of mp) multipath.push(core.pathInfo(t, p));
      }
      const c: RibChange = {
        prefix: t.store.format(pfx),
        family: f,
        oldBest: oldAttr >= 0 ? core.info(core.attrs.get(oldAttr), t.pfxBestPeer[pfx], 0) : undefined,
        newBest,
        multipath,
      };
      if (core.opts.onChange) core.opts.onChange(c);
      else changes.push(c);
    }
    if (bestAttr >= 0) core.attrs.ref(core.attrs.get(bestAttr));
    if (oldAttr >= 0) core.attrs.unref(core.attrs.get(oldAttr));
    t.pfxBest[pfx] = best;
    t.pfxBestAttr[pfx] = bestAttr;
    t.pfxBestPeer[pfx] = bestPeer;
    if (t.multipath) t.setMpSig(pfx, sig);
  }
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    if (!g.families.includes(f)) continue;
    if (changed || g.addPath(f)) exportPrefix(core, g, t, f, pfx, false, mp);
  }
}

/** Recomputes what group g advertises for pfx (RFC 4271 §9.2; RFC 7911 for add-path). */
export function exportPrefix(core: LocRibScope, g: UpdateGroup, t: FamilyTable, f: Family, pfx: number, quiet: boolean, mp?: number[]): void {
  const gf = g.fams[f];
  const best = t.pfxBest[pfx];
  // A prefix still queued may have a best path that was dropped since (peerDown, a stale
  // sweep), its handle perhaps already reused by another path: unless the handle still holds
  // the decided path, leave the prefix to the coming flush, which exports it to every group.
  if (best >= 0 && (t.pPfx[best] !== pfx || t.pPeer[best] !== t.pfxBestPeer[pfx] || t.pAttr[best] !== t.pfxBestAttr[pfx])) return;
  if (!gf.addPath) {
    if (best < 0) {
      gf.set(pfx, null, -1, quiet);
      return;
    }
    const src = core.byIdx[t.pPeer[best]] as PeerState;
    if (src.group === g.idx && g.members.size === 1) {
      gf.set(pfx, null, -1, quiet); // see below: the only member is the source
      return;
    }
    let out = g.exportSet(src, core.attrs.get(t.pAttr[best]), f, pfx, t);
    const excl = out ? g.exclusionFor(src) : -1;
    if (out && excl >= 0 && g.members.size === 1) {
      // The only member is the source (one eBGP peer feeding a full table): nobody to
      // tell. peerUp re-populates the group when a second member joins.
      core.attrs.unref(out);
      out = null;
    }
    gf.set(pfx, out, out ? excl : -1, quiet);
    return;
  }
  // RFC 7911 §5: advertise several paths, each with its own Path Identifier (handle + 1).
  const paths = g.addPathAll ? core.eligible(t, pfx) : (mp ?? core.selectPaths(t, f, pfx));
  const list: ApPath[] = [];
  if (best >= 0) {
    for (const path of paths) {
      const src = core.byIdx[t.pPeer[path]] as PeerState;
      const out = g.exportSet(src, core.attrs.get(t.pAttr[path]), f, pfx, t);
      if (!out) continue;
      const excl = g.exclusionFor(src);
      if (excl >= 0 && g.members.size === 1) core.attrs.unref(out);
      else list.push({ pathId: path + 1, set: out, excl });
    }
  }
  gf.setPaths(pfx, list, quiet);
}
