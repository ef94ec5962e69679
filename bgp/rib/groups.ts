// Update-group membership (FRR update groups): which group a peer's outbound profile maps to,
// joining (a new group is filled from the Loc-RIB), leaving, and moving to another group when
// the export rules change (soft reconfiguration, no session reset).

import type { Family, SessionContext } from '../types';
import { exportPrefix } from './loc-rib';
import type { PeerState } from './peer-state';
import type { Rib } from './rib';
import { UpdateGroup, type Member } from './update-group';

/** Export rules are part of the group key by identity. */
const policyIds = new WeakMap<object, number>();
let policySeq = 0;

/** Puts an up peer in the update group of its outbound profile (created and filled if new). */
export function joinGroup(rib: Rib, p: PeerState): { group: UpdateGroup; member: Member } {
  const { group, created } = groupFor(rib, p);
  const member: Member = { peer: p, cursor: group.logEnd, own: [], ownHead: 0 };
  group.members.set(p.idx, member);
  rib.members.set(p.idx, { group, member });
  p.group = group.idx;
  // A new group, or one whose only member was the source of routes it was not given.
  if (created || group.members.size === 2) for (const f of group.families) populate(rib, group, f);
  return { group, member };
}

export function leaveGroup(rib: Rib, p: PeerState): void {
  const m = rib.members.get(p.idx);
  if (!m) return;
  m.group.members.delete(p.idx);
  rib.members.delete(p.idx);
  if (m.group.members.size === 0) {
    m.group.release();
    rib.groups.delete(m.group.key);
    rib.groupList = [...rib.groups.values()];
  } else m.group.trim();
  p.group = -1;
}

/** New export rules: move to the matching group, withdraw what the peer should no longer have. */
export function regroup(rib: Rib, p: PeerState): void {
  const m = rib.members.get(p.idx);
  if (!m) return;
  const { group: old, member } = m;
  // What the peer will have heard from the old group: its untaken messages, ending at the
  // old Adj-RIB-Out as last encoded.
  const carry = member.own.slice(member.ownHead);
  for (let i = member.cursor - old.logBase; i < old.log.length; i++) carry.push(old.log[i]);
  const had = new Map(old.families.map((f) => [f, old.sentKeys(f, p.idx)] as const));
  leaveGroup(rib, p);
  const { group, member: nm } = joinGroup(rib, p);
  nm.own = carry;
  for (const f of group.families) {
    const now = group.sentKeys(f, p.idx);
    const gone = [...(had.get(f) ?? [])].filter((k) => !now.has(k));
    for (const b of group.fams[f].withdrawKeys(gone, group.maxLen)) nm.own.push(b);
    for (const b of group.dump(f, p.idx)) nm.own.push(b);
  }
}

function policyId(fn: object | undefined): number {
  if (!fn) return 0;
  let id = policyIds.get(fn);
  if (id === undefined) policyIds.set(fn, (id = ++policySeq));
  return id;
}

/** The update group for a peer's outbound profile (FRR update-group key). */
function groupFor(rib: Rib, p: PeerState): { group: UpdateGroup; created: boolean } {
  const c = p.cfg;
  const ctx = p.ctx as SessionContext;
  const mrai = c.mraiMs ?? (p.ebgp ? rib.opts.mraiEbgpMs : rib.opts.mraiIbgpMs) ?? 0;
  const key = [
    p.ebgp ? 'e' : 'i',
    p.rrClient ? 'c' : '',
    c.nextHopMode ?? 'Auto',
    c.localAddress ?? '',
    c.localAddress6 ?? '',
    c.localLinkLocal6 ?? '',
    ctx.as4 ? 4 : 2,
    ctx.addPathTx.ipv4 ? 1 : 0,
    ctx.addPathTx.ipv6 ? 1 : 0,
    ctx.extendedMessage ? 'x' : '',
    policyId(c.exportPolicy),
    policyId(c.exportFilter),
    mrai,
    c.addPathSend ?? 'multipath',
    p.families.join('+'),
  ].join('|');
  const found = rib.groups.get(key);
  if (found) return { group: found, created: false };
  const g = new UpdateGroup(
    rib.nextGroupIdx(),
    key,
    { ebgp: p.ebgp, rrClient: p.rrClient, nextHopMode: c.nextHopMode ?? 'Auto', localAddress: c.localAddress, localAddress6: c.localAddress6, localLinkLocal6: c.localLinkLocal6 },
    { as4: ctx.as4, addPathRx: { ipv4: false, ipv6: false }, addPathTx: { ...ctx.addPathTx }, extendedMessage: ctx.extendedMessage },
    [...p.families],
    mrai,
    c.exportPolicy,
    c.exportFilter,
    c.addPathSend === 'all',
    rib.attrs,
    rib.me,
    rib.tables,
    (peer, reason, family, pfx, detail) => rib.note(peer, reason, family, pfx, detail),
  );
  rib.groups.set(key, g);
  rib.groupList = [...rib.groups.values()];
  return { group: g, created: true };
}

/** Fills a new group's Adj-RIB-Out from the Loc-RIB, without queueing UPDATEs. */
function populate(rib: Rib, g: UpdateGroup, f: Family): void {
  const t = rib.tables[f];
  for (let pfx = 0; pfx < t.store.highWater; pfx++) {
    if (t.store.isLive(pfx) && t.pfxBest[pfx] >= 0) exportPrefix(rib, g, t, f, pfx, true);
  }
}
