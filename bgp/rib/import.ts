// Routes in: Adj-RIB-In updates from one UPDATE (RFC 4271 §9.1.1), loop detection
// (RFC 4271 §9.1.2, RFC 4456 §8) and import policy. Prefixes are read in place from the
// message buffer (PrefixList.offset/len); one attribute set is interned per UPDATE.
//
// Each path keeps its pre-policy attribute set (as received) and its post-policy one (-1 when
// filtered), so refreshImport() re-runs policy without the peer resending (RFC 7313 §1's
// motivation, without the soft-reconfiguration-inbound memory cost: the pre-policy view is one
// 4-byte id per path, the sets themselves are shared).

import {
  AsPathSegmentType,
  Origin,
  type Family,
  type MpNextHop,
  type PathAttributes,
  type Prefix,
  type PrefixList,
  type UpdateMessage,
} from '../codec/types.js';
import { parsePrefix } from '../codec/prefix.js';
import { rawAttrKey, type AttrSet } from './attr-store.js';
import { nextHopProblem } from './nexthop.js';
import type { RibCore } from './core.js';
import type { PolicyResult } from './rib-types.js';
import type { PeerState } from './peer-state.js';
import { PathFlag, type FamilyTable } from './table.js';

/** What routes in use of the RIB's core: the attribute store, the options, notices, drops. */
export type ImportScope = Pick<RibCore, 'attrs' | 'opts' | 'ownAddresses' | 'note' | 'dropPath'>;

/** Loop-detection flags for a received attribute set. */
export function loopFlags(core: ImportScope, peer: PeerState, set: AttrSet): number {
  let f = 0;
  const a = core.attrs.attrsOf(set);
  // RFC 4271 §9.1.2: a route whose AS_PATH contains our AS is a loop. Calico's
  // numAllowedLocalASNumbers (allowas-in) permits that many occurrences.
  if (countAs(a.asPath, core.opts.localAs) > (peer.cfg.allowOwnAs ?? 0)) f |= PathFlag.LOOP_AS;
  // RFC 4456 §8: "A router that recognizes the ORIGINATOR_ID attribute SHOULD ignore a route
  // received with its BGP Identifier as the ORIGINATOR_ID."
  // Only inside the AS: from an eBGP peer the attribute is discarded (RFC 7606 §7.9).
  if (!peer.ebgp && a.originatorId !== undefined && a.originatorId === core.opts.routerId) f |= PathFlag.LOOP_ORIGINATOR;
  // RFC 4456 §8: "If the local CLUSTER_ID is found in the CLUSTER_LIST, the advertisement
  // received SHOULD be ignored."
  const cl = a.clusterList;
  if (!peer.ebgp && cl && core.opts.clusterId !== undefined && cl.includes(core.opts.clusterId)) f |= PathFlag.LOOP_CLUSTER;
  // RFC 4271 §6.3: a next hop that cannot be one (ours, 0.0.0.0, multicast, ...): the route is
  // ignored. Checked after the loop rules: our own route reflected back is a loop, not an error.
  if (f === 0 && nextHopProblemOf(core, peer, set) !== null) f |= PathFlag.BAD_NEXTHOP;
  return f;
}

/** nexthop.ts for a received set on this peer's session. */
export function nextHopProblemOf(core: ImportScope, peer: PeerState, set: AttrSet): string | null {
  // A peer uses few distinct next hops: the verdict is kept per peer session (peerUp clears it).
  const known = peer.nextHopVerdicts.get(set.nextHop);
  if (known !== undefined) return known;
  const c = peer.cfg;
  const family = set.nextHop.includes(':') ? 'ipv6' : 'ipv4';
  const v = nextHopProblem(family, set.nextHop, set.linkLocal, {
    peerAddress: c.address,
    localAddress: c.localAddress,
    localAddress6: c.localAddress6,
    // The peer's own address is never ours: when the kernel lists it too, the two speakers share
    // one network namespace (the README's two ternds on 127.0.0.1 and 127.0.0.2), and the route
    // points at the peer as it should; refusing it there made the demo one-sided.
    isOwnAddress: (a) => a === c.localLinkLocal6 || a === peer.caps?.sessionLocalAddress || (core.ownAddresses.has(a) && a !== c.address),
  });
  if (peer.nextHopVerdicts.size > 4096) peer.nextHopVerdicts.clear();
  peer.nextHopVerdicts.set(set.nextHop, v);
  return v;
}

/**
 * Post-policy set for one prefix (with a reference for the caller), or null when filtered.
 * `forSet` is the import policy's answer for the whole attribute set when it gave one
 * (setImport), undefined when it must be asked per prefix.
 */
function applyImport(core: ImportScope, peer: PeerState, t: FamilyTable, pfx: number, pre: AttrSet, forSet?: AttrSet | null): AttrSet | null {
  const filter = peer.cfg.importFilter;
  if (filter && !filter(t.store.toPrefix(pfx), peer.cfg)) return null;
  const policy = peer.cfg.importPolicy;
  if (forSet !== undefined) {
    if (forSet) core.attrs.ref(forSet);
    return forSet;
  }
  if (!policy) {
    core.attrs.ref(pre);
    return pre;
  }
  const res = policy(t.store.toPrefix(pfx), core.attrs.attrsKept(pre), peer.cfg);
  return importResult(core, t, pre, res);
}

/** A policy's result as a post-policy set, with a reference for the caller (null: rejected). */
function importResult(core: ImportScope, t: FamilyTable, pre: AttrSet, res: PolicyResult): AttrSet | null {
  if (res === 'reject') return null;
  if (res === 'accept') {
    core.attrs.ref(pre);
    return pre;
  }
  return core.attrs.intern(res, t.family === 'ipv4' ? (res.nextHop ?? pre.nextHop) : { global: pre.nextHop, linkLocal: pre.linkLocal });
}

/**
 * The import policy's answer for every prefix carrying `pre` (rib-types.ts SetPolicyFn), as a
 * post-policy set with one reference for the caller, null for rejected, or undefined when the
 * policy has no such answer (then it runs per prefix). Asked once per UPDATE, not per prefix.
 */
function setImport(core: ImportScope, peer: PeerState, t: FamilyTable, pre: AttrSet): AttrSet | null | undefined {
  const perSet = peer.cfg.importPolicy?.perSet;
  if (!perSet) return undefined;
  const res = perSet(t.family, () => core.attrs.attrsOf(pre), peer.cfg);
  return res === undefined ? undefined : importResult(core, t, pre, res);
}

/** Stores announced NLRI for a peer; unchanged re-announcements queue nothing. */
export function importList(
  core: ImportScope,
  peer: PeerState,
  t: FamilyTable,
  list: PrefixList,
  attrs: PathAttributes,
  nh: MpNextHop | string,
  clean: boolean,
): void {
  let a = attrs;
  // The wire bytes are the interning key (cheaper than canonical text); E/I because the
  // eBGP rule below makes the same bytes mean different attributes.
  const raw = rawAttrKey(`${peer.ebgp ? 'E' : 'I'}${peer.ctx?.as4 === false ? 2 : 4}`, list.buf, typeof nh === 'string' ? undefined : nh);
  // RFC 4271 §5.1.5: LOCAL_PREF from an external peer is ignored.
  if (peer.ebgp && a.localPref !== undefined) {
    a = { ...a };
    delete a.localPref;
  }
  const pre = core.attrs.intern(a, nh, raw);
  if (pre.refs === 1) pre.clean = clean;
  const loop = loopFlags(core, peer, pre);
  const buf = list.buf;
  const hasPolicy = !!peer.cfg.importPolicy;
  // A looped route never reaches the policy (below), so it is not asked for one.
  const forSet = hasPolicy && !loop ? setImport(core, peer, t, pre) : undefined;
  // RFC 4271 §6.3: "the error SHOULD be logged": one notice per ignored route, for the
  // driver's rate-limited log and the peer's counters.
  const badNextHop = loop & PathFlag.BAD_NEXTHOP ? nextHopProblemOf(core, peer, pre) : null;
  for (let i = 0, n = list.length; i < n; i++) {
    const pfx = t.internPrefix(buf, list.offset(i), list.len(i));
    const rxId = list.pathId(i);
    let path = t.findPath(pfx, peer.idx, rxId);
    if (path >= 0 && !hasPolicy && t.preOf(path) === pre.id && t.pFlags[path] === loop) continue; // duplicate
    if (badNextHop !== null) core.note(peer, 'bad-next-hop', t.family, pfx, badNextHop);
    const post = loop ? null : applyImport(core, peer, t, pfx, pre, forSet);
    const flags = loop | (post === null && !loop ? PathFlag.POLICY : 0);
    const postId = post ? post.id : -1;
    if (path >= 0) {
      if (t.preOf(path) === pre.id && t.pAttr[path] === postId && t.pFlags[path] === flags) {
        if (post) core.attrs.unref(post);
        continue;
      }
      core.attrs.unref(core.attrs.get(t.preOf(path)));
      if (t.pAttr[path] >= 0) core.attrs.unref(core.attrs.get(t.pAttr[path]));
      t.touch(path);
    } else path = t.addPath(pfx, peer.idx, rxId);
    core.attrs.ref(pre);
    t.setAttrs(path, pre.id, postId);
    t.pFlags[path] = flags; // also clears STALE: the route was re-announced (RFC 4724 §4.2)
    t.enqueue(pfx);
  }
  // Without an import policy, or with one that answered for the whole set, nothing reads the
  // attribute objects per prefix again, unless change records are built (PathInfo.attrs): then
  // decoding them again would cost more (~4 us per set) than keeping them.
  if ((!hasPolicy || forSet !== undefined) && !core.opts.collectChanges && !core.opts.onChange) core.attrs.makeLean(pre);
  if (forSet) core.attrs.unref(forSet);
  core.attrs.unref(pre);
}

/** Withdraws NLRI of a peer (RFC 4271 §9.1.1 and RFC 4760 MP_UNREACH_NLRI). */
export function withdrawList(core: ImportScope, peer: PeerState, t: FamilyTable, list: PrefixList): void {
  const buf = list.buf;
  for (let i = 0, n = list.length; i < n; i++) {
    const pfx = t.store.find(buf, list.offset(i), list.len(i));
    if (pfx < 0) continue;
    const path = t.findPath(pfx, peer.idx, list.pathId(i));
    if (path >= 0) core.dropPath(t, path);
  }
}

/**
 * Re-runs loop checks and import policy over a peer's pre-policy Adj-RIB-In of one family, or
 * over the paths whose received next hop is in `nextHops` only. A path that only now fails the
 * next-hop check (our address appeared on an interface) is noted like one refused on receipt.
 */
export function recomputeImport(core: ImportScope, peer: PeerState, t: FamilyTable, nextHops?: ReadonlySet<string>): void {
  for (const path of t.peerPaths(peer.idx)) {
    const pre = core.attrs.get(t.preOf(path));
    if (nextHops && !nextHops.has(pre.nextHop)) continue;
    const pfx = t.pPfx[path];
    const loop = loopFlags(core, peer, pre);
    const post = loop ? null : applyImport(core, peer, t, pfx, pre);
    const postId = post ? post.id : -1;
    const flags = loop | (post === null && !loop ? PathFlag.POLICY : 0) | (t.pFlags[path] & PathFlag.STALE);
    if (t.pAttr[path] === postId && t.pFlags[path] === flags) {
      if (post) core.attrs.unref(post);
      continue;
    }
    if (flags & ~t.pFlags[path] & PathFlag.BAD_NEXTHOP) core.note(peer, 'bad-next-hop', t.family, pfx, nextHopProblemOf(core, peer, pre) ?? '');
    if (t.pAttr[path] >= 0) core.attrs.unref(core.attrs.get(t.pAttr[path]));
    t.setPost(path, postId);
    t.pFlags[path] = flags;
    t.enqueue(pfx);
  }
}

/** Number of times `asn` appears in an AS_PATH (RFC 4271 §9.1.2 loop detection). */
export function countAs(path: PathAttributes['asPath'], asn: number): number {
  let n = 0;
  if (!path) return 0;
  for (const s of path) {
    if (s.type !== AsPathSegmentType.AS_SEQUENCE && s.type !== AsPathSegmentType.AS_SET) continue;
    for (const a of s.asns) if (a === asn) n++;
  }
  return n;
}

/** The routes-in scope plus the tables an UPDATE or an origination writes to. */
export type IngestScope = ImportScope & Pick<RibCore, 'tables'>;

/** One UPDATE from an Established peer (RFC 4271 §9). Queues changed prefixes. */
export function ingestUpdate(core: IngestScope, p: PeerState, u: UpdateMessage): void {
  // RFC 7606 §2 treat-as-withdraw: the NLRI are withdrawn, the attributes ignored.
  const tw = !!u.treatAsWithdraw;
  const clean = !u.errors || u.errors.length === 0;
  if (u.withdrawn.length) withdrawList(core, p, core.tables.ipv4, u.withdrawn);
  if (u.mpUnreach && u.mpUnreach.safi === 1) {
    const f = familyOf(u.mpUnreach.afi);
    if (f) withdrawList(core, p, core.tables[f], u.mpUnreach.withdrawn);
  }
  if (u.nlri.length) {
    if (tw) withdrawList(core, p, core.tables.ipv4, u.nlri);
    else importList(core, p, core.tables.ipv4, u.nlri, u.attrs, u.attrs.nextHop ?? '', clean);
  }
  if (u.mpReach && u.mpReach.safi === 1) {
    const f = familyOf(u.mpReach.afi);
    if (f && tw) withdrawList(core, p, core.tables[f], u.mpReach.nlri);
    else if (f) importList(core, p, core.tables[f], u.mpReach.nlri, u.attrs, u.mpReach.nextHop, clean);
  }
}

function familyOf(afi: number): Family | null {
  return afi === 1 ? 'ipv4' : afi === 2 ? 'ipv6' : null;
}

/** One of our own prefixes (a Calico block) into the local pseudo-peer's Adj-RIB-In (index 0). */
export function originate(core: IngestScope, prefix: Prefix | string, attrs: PathAttributes): void {
  const pr = typeof prefix === 'string' ? parsePrefix(prefix) : prefix;
  const t = core.tables[pr.afi === 1 ? 'ipv4' : 'ipv6'];
  const pfx = t.internPrefix(pr.addr, 0, pr.len);
  // ORIGIN IGP and an empty AS_PATH unless the caller says otherwise (RFC 4271 §5.1.1, §5.1.2).
  const set = core.attrs.intern({ origin: Origin.IGP, asPath: [], ...attrs }, attrs.nextHop ?? '');
  let path = t.findPath(pfx, 0, 0);
  if (path >= 0) {
    core.attrs.unref(core.attrs.get(t.pAttr[path]));
    core.attrs.unref(core.attrs.get(t.preOf(path)));
  } else path = t.addPath(pfx, 0, 0);
  core.attrs.ref(set);
  t.setAttrs(path, set.id, set.id);
  t.enqueue(pfx);
}

export function withdrawOrigin(core: IngestScope, prefix: Prefix | string): void {
  const pr = typeof prefix === 'string' ? parsePrefix(prefix) : prefix;
  const t = core.tables[pr.afi === 1 ? 'ipv4' : 'ipv6'];
  const pfx = t.store.fromPrefix(pr, false);
  if (pfx < 0) return;
  const path = t.findPath(pfx, 0, 0);
  if (path >= 0) core.dropPath(t, path);
}
