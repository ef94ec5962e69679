// Routes out, per member of an update group: the pull model (takeOutput), and the re-send of
// the Adj-RIB-Out for a route refresh (RFC 2918 §4, RFC 7313 §4 BoRR/EoRR).

import { RouteRefreshSubtype, type Family } from '../codec/types.js';
import { withheld, type InitialRead, type Member, type UpdateGroup } from './update-group.js';
import { isFor, refreshMarker, type OutMsg } from './wire.js';

function pick(m: OutMsg, peer: number): Buffer | null {
  if (!isFor(m, peer)) return null;
  return Buffer.isBuffer(m) ? m : m.buf;
}

/**
 * Up to about maxBytes (at least one message): the member's own queue first, then its initial
 * update from a shared snapshot, then the log (with the End-of-RIB that waits for a point in it).
 */
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
  if (member.ownHead < member.own.length) return out;
  if (member.own.length > 0) {
    member.own = [];
    member.ownHead = 0;
  }
  if (member.init !== null) {
    bytes = readInitial(member.init, out, bytes, maxBytes);
    if (member.init.k < member.init.fams.length) return out;
    member.init = null;
  }
  const log = group.log;
  const from = member.cursor;
  let i = from - group.logBase;
  while (bytes < maxBytes || out.length === 0) {
    // RFC 4724 §2: End-of-RIB once the log since the snapshot has been read.
    if (member.eor !== null && group.logBase + i >= member.eorAt) {
      const b = pick(member.eor, idx) as Buffer;
      member.eor = null;
      member.eorAt = -1;
      out.push(b);
      bytes += b.length;
      continue;
    }
    if (i >= log.length) break;
    const b = pick(log[i++], idx);
    if (b) {
      out.push(b);
      bytes += b.length;
    }
  }
  member.cursor = group.logBase + i;
  if (member.cursor > from) group.taken(from);
  return out;
}

/** Reads a snapshot (see InitialRead) into `out` up to about maxBytes; returns the bytes. */
function readInitial(r: InitialRead, out: Buffer[], bytes: number, maxBytes: number): number {
  for (; r.k < r.fams.length; r.k++, r.seg = 0) {
    const segs = r.fams[r.k];
    for (; r.seg < segs.length; r.seg++, r.buf = 0) {
      const g = segs[r.seg];
      if (withheld(g, r)) {
        r.left -= g.bufs.length - r.buf;
        continue;
      }
      while (r.buf < g.bufs.length) {
        if (bytes >= maxBytes && out.length > 0) return bytes;
        const b = g.bufs[r.buf++];
        r.left--;
        out.push(b);
        bytes += b.length;
      }
    }
    if (r.k < r.eors.length) {
      if (bytes >= maxBytes && out.length > 0) return bytes;
      const b = r.eors[r.k];
      out.push(Buffer.isBuffer(b) ? b : b.buf);
      r.left--;
      bytes += out[out.length - 1].length;
    }
  }
  return bytes;
}

/** UPDATEs waiting for this member: its own queue, its initial update, the log from its cursor. */
export function backlog(group: UpdateGroup, member: Member): number {
  const init = member.init === null ? 0 : member.init.left;
  const eor = member.eor === null ? 0 : 1;
  return member.own.length - member.ownHead + init + eor + Math.max(0, group.logEnd - member.cursor);
}

export function hasOutput(group: UpdateGroup, member: Member): boolean {
  return member.ownHead < member.own.length || member.init !== null || member.eor !== null || member.cursor < group.logEnd;
}

/**
 * RFC 2918 §4: the Adj-RIB-Out of a family again. Whatever of the shared stream the member has
 * not taken goes first (it may withdraw what the dump no longer has), then the dump; framed by
 * BoRR and EoRR with enhanced route refresh (RFC 7313 §4).
 */
export function resendAdjRibOut(group: UpdateGroup, member: Member, family: Family, enhanced: boolean): void {
  group.materialize(member);
  for (let i = member.cursor - group.logBase; i < group.log.length; i++) member.own.push(group.log[i]);
  member.cursor = group.logEnd;
  group.trim();
  if (enhanced) member.own.push(refreshMarker(family, RouteRefreshSubtype.BORR));
  for (const b of group.dump(family, member.peer.idx)) member.own.push(b);
  if (enhanced) member.own.push(refreshMarker(family, RouteRefreshSubtype.EORR));
}
