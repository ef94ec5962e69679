// Max-prefix (a Tern extension of the BGPPeer model, spec.maxPrefixes): per peer and address
// family, a warning when the routes received reach warningPercent of the limit, and past the
// limit the session is closed with Cease / Maximum Number of Prefixes Reached (RFC 4486 §4),
// its routes withdrawn; it stays down for restartInterval (or until `bgpctl neighbor X up` /
// `clear`). The ToR that leaks a full table into a pod network must not take the node's
// memory and kernel FIB with it.

import type { Logger } from '../../bgp/io/log.js';
import type { Session } from '../../bgp/io/session.js';
import type { Family, UpdateMessage } from '../../bgp/codec/types.js';
import type { MaxPrefixLimit } from '../../peers/index.js';

/** RFC 4486 §4 subcode 1. */
export const CEASE_MAX_PREFIX = 1;

/** Why a peer is held down by max-prefix, for `show neighbor`. */
export interface MaxPrefixTrip {
  family: Family;
  limit: number;
  received: number;
  at: number;
  /** ms since the epoch when the session may start again; undefined: only by operator. */
  restartAt?: number;
  timer?: NodeJS.Timeout;
}

/** What max-prefix keeps per peer (in the daemon's PeerEntry). */
export interface MaxPrefixPeer {
  id: string;
  session: Session;
  adminDown: boolean;
  cfg: { maxPrefixes?: Partial<Record<Family, MaxPrefixLimit>> };
  /** Families above their warning threshold (warned once until they fall below). */
  maxPrefixWarned?: Set<Family>;
  maxPrefixTrip?: MaxPrefixTrip;
}

/** RFC 4486 §4 Data: AFI (2 octets), SAFI (1), prefix upper bound (4). */
export function maxPrefixData(family: Family, limit: number): Buffer {
  const b = Buffer.alloc(7);
  b.writeUInt16BE(family === 'ipv4' ? 1 : 2, 0);
  b[2] = 1; // unicast
  b.writeUInt32BE(limit, 3);
  return b;
}

/** The families an UPDATE announced routes in (only announcements can cross a limit). */
export function announcedFamilies(u: UpdateMessage): Family[] {
  const f: Family[] = [];
  if (u.nlri.length > 0) f.push('ipv4');
  if (u.mpReach && u.mpReach.safi === 1 && u.mpReach.nlri.length > 0) f.push(u.mpReach.afi === 2 ? 'ipv6' : 'ipv4');
  return f;
}

/**
 * After an UPDATE from `e` was ingested: `received(family)` is the peer's route count in the
 * Adj-RIB-In. Returns true when the session was closed (the caller withdraws the routes).
 */
export function checkMaxPrefix(
  e: MaxPrefixPeer,
  families: readonly Family[],
  received: (f: Family) => number,
  log: Logger,
  mayStart: () => boolean = () => true,
): boolean {
  const limits = e.cfg.maxPrefixes;
  if (!limits) return false;
  for (const family of families) {
    const lim = limits[family];
    if (!lim) continue;
    const n = received(family);
    const warnAt = Math.ceil((lim.limit * lim.warningPercent) / 100);
    const warned = (e.maxPrefixWarned ??= new Set());
    if (n >= warnAt && n <= lim.limit && !warned.has(family)) {
      warned.add(family);
      log.warn(
        { component: 'session', peer: e.id, family, received: n, limit: lim.limit, warningPercent: lim.warningPercent },
        `${e.id} sent ${n} ${family} routes, ${lim.warningPercent}% or more of its max-prefix limit ${lim.limit}`,
      );
    } else if (n < warnAt) warned.delete(family);
    if (n <= lim.limit) continue;
    trip(e, family, lim, n, log, mayStart);
    return true;
  }
  return false;
}

/** `mayStart`: whether anything else holds the session (strict BFD, docs/bfd.md) when the interval ends. */
function trip(e: MaxPrefixPeer, family: Family, lim: MaxPrefixLimit, n: number, log: Logger, mayStart: () => boolean): void {
  const now = Date.now();
  const t: MaxPrefixTrip = { family, limit: lim.limit, received: n, at: now };
  if (lim.restartInterval !== undefined) {
    t.restartAt = now + lim.restartInterval * 1000;
    // RFC 4486 §4 leaves the restart to the operator's policy: "idle hold" for the interval.
    t.timer = setTimeout(() => {
      e.maxPrefixTrip = undefined;
      e.maxPrefixWarned?.clear();
      if (!e.adminDown && mayStart()) {
        log.info({ component: 'session', peer: e.id, family }, `${e.id}: max-prefix restart interval over, starting the session again`);
        e.session.start();
      }
    }, lim.restartInterval * 1000);
    t.timer.unref();
  }
  e.maxPrefixTrip = t;
  log.warn(
    { component: 'session', peer: e.id, family, received: n, limit: lim.limit, restartInterval: lim.restartInterval },
    `${e.id} sent ${n} ${family} routes, over its max-prefix limit ${lim.limit}: closing the session (Cease 6/1, RFC 4486 §4)` +
      (lim.restartInterval !== undefined ? `; it starts again in ${lim.restartInterval}s` : '; it stays down until bgpctl neighbor up or clear'),
  );
  e.session.stop({
    code: 6,
    subcode: CEASE_MAX_PREFIX,
    data: maxPrefixData(family, lim.limit),
    why: `max-prefix: ${n} ${family} routes > limit ${lim.limit} (RFC 4486 §4)`,
  });
}

/** The operator started the session again (`bgpctl neighbor up|clear`), or it was removed. */
export function clearMaxPrefix(e: MaxPrefixPeer): void {
  if (e.maxPrefixTrip?.timer) clearTimeout(e.maxPrefixTrip.timer);
  e.maxPrefixTrip = undefined;
  e.maxPrefixWarned?.clear();
}
