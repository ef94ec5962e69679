// The update-group registry (FRR update groups): which group a peer's outbound profile maps to,
// joining (a new group is filled from the Loc-RIB), leaving, moving to another group when the
// export rules change (soft reconfiguration, no session reset), and each member's way to its
// stream (output.ts). It owns the groups and the peer -> member map; nothing else keeps either.

import type { Family, SessionContext } from '../codec/types.js';
import { endOfRib } from '../codec/update.js';
import type { RibCore } from './core.js';
import { exportPrefix, type LocRibScope } from './loc-rib.js';
import { backlog, hasOutput, resendAdjRibOut, takeOutput } from './output.js';
import type { PeerState } from './peer-state.js';
import { UpdateGroup, type Member } from './update-group.js';

/** What the registry uses of the RIB's core: the export step's scope, the speaker, notices. */
export type GroupScope = LocRibScope & Pick<RibCore, 'me' | 'note'>;

/** A member and its group. */
export interface Membership {
  group: UpdateGroup;
  member: Member;
}

/** Export rules are part of the group key by identity. */
const policyIds = new WeakMap<object, number>();
let policySeq = 0;

function policyId(fn: object | undefined): number {
  if (!fn) return 0;
  let id = policyIds.get(fn);
  if (id === undefined) policyIds.set(fn, (id = ++policySeq));
  return id;
}

export class UpdateGroups {
  private readonly byKey = new Map<string, UpdateGroup>();
  private readonly byPeer = new Map<number, Membership>();
  /** The groups as an array, for the per-prefix loop (loc-rib.ts). */
  list: UpdateGroup[] = [];
  /** Group indices are never reused: export memo keys contain them (UpdateGroup.exportSet). */
  private seq = 0;

  constructor(private readonly core: GroupScope) {}

  get size(): number {
    return this.byKey.size;
  }

  memberOf(peerIdx: number): Membership | undefined {
    return this.byPeer.get(peerIdx);
  }

  /** Session up: join (or create) the group and queue the initial dump and End-of-RIB. */
  peerUp(p: PeerState): void {
    const { group, member } = this.join(p);
    // RFC 4724 §2: End-of-RIB after the initial update, for each family.
    group.initialUpdate(member, endOfRib);
  }

  /** Puts an up peer in the update group of its outbound profile (created and filled if new). */
  private join(p: PeerState): Membership {
    const { group, created } = this.groupFor(p);
    const member: Member = { peer: p, cursor: group.logEnd, own: [], ownHead: 0, init: null, eor: null, eorAt: -1 };
    group.addMember(member);
    this.byPeer.set(p.idx, { group, member });
    p.group = group.idx;
    // A new group, or one whose only member was the source of routes it was not given.
    if (created || group.members.size === 2) for (const f of group.families) this.populate(group, f);
    return { group, member };
  }

  leave(p: PeerState): void {
    const m = this.byPeer.get(p.idx);
    if (!m) return;
    m.group.removeMember(p.idx);
    this.byPeer.delete(p.idx);
    if (m.group.members.size === 0) {
      m.group.release();
      this.byKey.delete(m.group.key);
      this.list = [...this.byKey.values()];
    } else m.group.trim();
    p.group = -1;
  }

  /** New export rules: move to the matching group, withdraw what the peer should no longer have. */
  regroup(p: PeerState): void {
    const m = this.byPeer.get(p.idx);
    if (!m) return;
    const { group: old, member } = m;
    old.materialize(member);
    // What the peer will have heard from the old group: its untaken messages, ending at the
    // old Adj-RIB-Out as last encoded.
    const carry = member.own.slice(member.ownHead);
    for (let i = member.cursor - old.logBase; i < old.log.length; i++) carry.push(old.log[i]);
    const had = new Map(old.families.map((f) => [f, old.sentKeys(f, p.idx)] as const));
    this.leave(p);
    const { group, member: nm } = this.join(p);
    nm.own = carry;
    for (const f of group.families) {
      const now = group.sentKeys(f, p.idx);
      const gone = [...(had.get(f) ?? [])].filter((k) => !now.has(k));
      for (const b of group.fams[f].withdrawKeys(gone, group.maxLen)) nm.own.push(b);
      for (const b of group.dump(f, p.idx)) nm.own.push(b);
    }
  }

  /** Encodes every group's pending changes (MRAI permitting). */
  encode(now: number): void {
    for (const g of this.list) g.encode(now);
  }

  /** Earliest `now` at which encode() will announce MRAI-delayed changes; Infinity if none. */
  nextAnnounceAt(): number {
    let t = Infinity;
    for (const g of this.list) t = Math.min(t, g.nextAnnounceAt());
    return t;
  }

  takeOutput(p: PeerState, maxBytes: number): Buffer[] {
    const m = this.byPeer.get(p.idx);
    return m ? takeOutput(m.group, m.member, maxBytes) : [];
  }

  hasOutput(p: PeerState): boolean {
    const m = this.byPeer.get(p.idx);
    return m ? hasOutput(m.group, m.member) : false;
  }

  backlog(p: PeerState): number {
    const m = this.byPeer.get(p.idx);
    return m ? backlog(m.group, m.member) : 0;
  }

  /** RFC 2918 §4 / RFC 7313 §4: the member's Adj-RIB-Out of a family again. */
  refresh(p: PeerState, family: Family, enhanced: boolean): void {
    const m = this.byPeer.get(p.idx);
    if (m && m.group.families.includes(family)) resendAdjRibOut(m.group, m.member, family, enhanced);
  }

  /** The update group for a peer's outbound profile (FRR update-group key). */
  private groupFor(p: PeerState): { group: UpdateGroup; created: boolean } {
    const core = this.core;
    const c = p.cfg;
    const ctx = p.ctx as SessionContext;
    const mrai = c.mraiMs ?? (p.ebgp ? core.opts.mraiEbgpMs : core.opts.mraiIbgpMs) ?? 0;
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
    const found = this.byKey.get(key);
    if (found) return { group: found, created: false };
    const g = new UpdateGroup(
      ++this.seq,
      key,
      {
        ebgp: p.ebgp,
        rrClient: p.rrClient,
        nextHopMode: c.nextHopMode ?? 'Auto',
        localAddress: c.localAddress,
        localAddress6: c.localAddress6,
        localLinkLocal6: c.localLinkLocal6,
      },
      { as4: ctx.as4, addPathRx: { ipv4: false, ipv6: false }, addPathTx: { ...ctx.addPathTx }, extendedMessage: ctx.extendedMessage },
      [...p.families],
      mrai,
      c.exportPolicy,
      c.exportFilter,
      c.addPathSend === 'all',
      core.attrs,
      core.me,
      core.tables,
      (peer, reason, family, pfx, detail) => core.note(peer, reason, family, pfx, detail),
    );
    this.byKey.set(key, g);
    this.list = [...this.byKey.values()];
    return { group: g, created: true };
  }

  /** Fills a new group's Adj-RIB-Out from the Loc-RIB, without queueing UPDATEs. */
  private populate(g: UpdateGroup, f: Family): void {
    g.dropSnapshot();
    const t = this.core.tables[f];
    for (let pfx = 0; pfx < t.store.highWater; pfx++) {
      if (t.store.isLive(pfx) && t.pfxBest[pfx] >= 0) exportPrefix(this.core, g, t, f, pfx, true);
    }
  }
}
