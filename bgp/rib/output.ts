// Routes out, per member of an update group: the pull model (takeOutput), and the re-send of
// the Adj-RIB-Out for a route refresh (RFC 2918 §4, RFC 7313 §4 BoRR/EoRR).

import { RouteRefreshSubtype, type Family } from '../codec/types.js';
import type { Member, UpdateGroup } from './update-group.js';
import { isFor, refreshMarker, type OutMsg } from './wire.js';

function pick(m: OutMsg, peer: number): Buffer | null {
  if (!isFor(m, peer)) return null;
  return Buffer.isBuffer(m) ? m : m.buf;
}

/** Up to about maxBytes (at least one message): the member's own queue first, then the log. */
export function takeOutput(group: UpdateGroup, member: Member, maxBytes: number): Buffer[] {
  const idx = member.peer.idx;
  const out: Buffer[] = [];
  let bytes = 0;
  while (member.ownHead < member.own.length && (bytes < maxBytes || out.length === 0)) {
    const b = pick(member.own[member.ownHead++], idx);
    if (b) {
      out.push(b);
      bytes += b.length;
    }
  }
  if (member.ownHead === member.own.length) {
    member.own = [];
    member.ownHead = 0;
    const log = group.log;
    const from = member.cursor;
    let i = from - group.logBase;
    while (i < log.length && (bytes < maxBytes || out.length === 0)) {
      const b = pick(log[i++], idx);
      if (b) {
        out.push(b);
        bytes += b.length;
      }
    }
    member.cursor = group.logBase + i;
    if (member.cursor > from) group.taken(from);
  }
  return out;
}

/** UPDATEs waiting for this member: its own queue plus the shared log from its cursor. */
export function backlog(group: UpdateGroup, member: Member): number {
  return member.own.length - member.ownHead + Math.max(0, group.logEnd - member.cursor);
}

export function hasOutput(group: UpdateGroup, member: Member): boolean {
  return member.ownHead < member.own.length || member.cursor < group.logEnd;
}

/**
 * RFC 2918 §4: the Adj-RIB-Out of a family again. Whatever of the shared stream the member has
 * not taken goes first (it may withdraw what the dump no longer has), then the dump; framed by
 * BoRR and EoRR with enhanced route refresh (RFC 7313 §4).
 */
export function resendAdjRibOut(group: UpdateGroup, member: Member, family: Family, enhanced: boolean): void {
  for (let i = member.cursor - group.logBase; i < group.log.length; i++) member.own.push(group.log[i]);
  member.cursor = group.logEnd;
  group.trim();
  if (enhanced) member.own.push(refreshMarker(family, RouteRefreshSubtype.BORR));
  for (const b of group.dump(family, member.peer.idx)) member.own.push(b);
  if (enhanced) member.own.push(refreshMarker(family, RouteRefreshSubtype.EORR));
}
