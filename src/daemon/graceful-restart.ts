// Graceful restart, receiving speaker (RFC 4724 §4.2, RFC 8538 §3) and long-lived graceful
// restart (RFC 9494): what happens to a peer's routes between its session going down and its
// End-of-RIB after it comes back. The daemon calls these on session events; the routes
// themselves are marked and swept by the RIB (bgp/rib: markStale, sweepStale, llgr.ts).
import type { DownReason } from '../../bgp/fsm/types.js';
import type { Negotiated } from '../../bgp/fsm/negotiate.js';
import type { Rib } from '../../bgp/rib/rib.js';
import type { Family } from '../../bgp/codec/types.js';
import type { Logger } from '../log.js';

/** The peer's routes are kept as stale while it restarts (RFC 4724 §4.2). */
export interface GracefulRestartState {
  /** Families whose stale routes are still held. */
  families: Set<Family>;
  /** Runs from the session drop until it is re-established (the peer's Restart Time). */
  restartTimer?: NodeJS.Timeout;
  restartDeadline?: number;
  /** Runs from re-establishment until End-of-RIB (our Selection Deferral / stale-path time). */
  staleTimer?: NodeJS.Timeout;
  staleDeadline?: number;
  /** RFC 9494: one timer per family in the long-lived stale phase (after the restart time). */
  llgrTimers?: NodeJS.Timeout[];
}

/** How long stale routes wait for End-of-RIB after the peer came back (FRR's stalepath-time). */
export const STALE_PATH_TIME = 360;

export interface GrContext {
  rib: Rib;
  log: Logger;
  scheduleFlush(): void;
  /** RFC 9494: the longest long-lived stale time Tern grants (0: LLGR off). */
  llgrStaleTime: number;
}

/** The part of a daemon peer entry the helper reads and writes. */
export interface GrPeer {
  /** RIB peer id. */
  id: string;
  /** What the last OPEN exchange agreed (kept after the session dropped). */
  negotiated?: Negotiated;
  gr?: GracefulRestartState;
}

/**
 * RFC 4724 §4.2 / RFC 8538 §3: when the session ends in a way GR covers (TCP loss, or a
 * NOTIFICATION other than Hard Reset with the N bit on both sides), keep the peer's routes,
 * marked stale, in the RIB and the kernel for its Restart Time. Returns false when the routes
 * must go now.
 */
export function grPeerDown(c: GrContext, e: GrPeer, reason: DownReason): boolean {
  const gr = e.negotiated?.gracefulRestart;
  if (!reason.gracefulRestart || !gr) {
    grClear(e);
    return false;
  }
  const families = new Set<Family>(e.negotiated?.families ?? []);
  grClear(e);
  c.rib.peerDown(e.id, true);
  const ms = gr.restartTime * 1000;
  e.gr = { families, restartDeadline: Date.now() + ms };
  e.gr.restartTimer = setTimeout(() => grRestartExpired(c, e, gr.restartTime), ms);
  e.gr.restartTimer.unref();
  c.log.info(
    { component: 'gr', peer: e.id, restartTime: gr.restartTime, families: [...families] },
    `keeping routes of ${e.id} as stale for up to ${gr.restartTime} s while it restarts (RFC 4724)`,
  );
  return true;
}

/**
 * The restart time ran out (RFC 4724 §4.2: the stale routes go), unless the peer announced
 * long-lived GR for the family and `--llgr-stale-time` allows it (RFC 9494 §4.2): then its
 * routes stay as long-lived stale (LLGR_STALE attached, least preferred, advertised to no
 * one; bgp/rib/llgr.ts) for min(its long-lived stale time, ours).
 */
function grRestartExpired(c: GrContext, e: GrPeer, restartTime: number): void {
  const g = e.gr;
  if (!g) return;
  g.restartTimer = undefined;
  g.restartDeadline = undefined;
  const max = c.llgrStaleTime;
  for (const f of [...g.families]) {
    const ll = max > 0 ? e.negotiated?.llgr?.find((x) => x.family === f && x.staleTime > 0) : undefined;
    if (!ll) {
      grSweep(c, e, f, `peer did not come back within its restart time (${restartTime} s)`);
      continue;
    }
    const secs = Math.min(ll.staleTime, max);
    const r = c.rib.markLongLivedStale(e.id, f);
    (g.llgrTimers ??= []).push(setTimeout(() => grSweep(c, e, f, `long-lived stale time (${secs} s) over (RFC 9494)`), secs * 1000).unref());
    // bgpctl's "restart timer" then counts down to the end of the long-lived stale phase.
    g.restartDeadline = Math.max(g.restartDeadline ?? 0, Date.now() + secs * 1000);
    c.log.info(
      { component: 'gr', peer: e.id, family: f, kept: r.kept, removed: r.removed, staleTime: secs },
      `restart time of ${e.id} over: keeping ${r.kept} ${f} routes as long-lived stale for ${secs} s (RFC 9494; ${r.removed} with NO_LLGR removed)`,
    );
  }
  c.scheduleFlush();
}

/** The restarting peer is back: drop families it did not preserve, then wait for End-of-RIB. */
export function grReestablished(c: GrContext, e: GrPeer, n: Negotiated): void {
  const g = e.gr;
  if (!g) return;
  if (g.restartTimer) clearTimeout(g.restartTimer);
  for (const t of g.llgrTimers ?? []) clearTimeout(t);
  g.restartTimer = undefined;
  g.llgrTimers = undefined;
  g.restartDeadline = undefined;
  for (const f of [...g.families]) {
    // RFC 4724 §4.2: no GR capability now, or the F bit clear for a family, means its
    // forwarding state was lost: stale routes of that family go at once.
    const kept = n.gracefulRestart?.families.find((x) => x.family === f && x.forwardingPreserved);
    if (!kept)
      grSweep(c, e, f, n.gracefulRestart ? 'peer restarted without preserving forwarding state (F bit clear)' : 'peer came back without graceful restart');
  }
  if (e.gr && e.gr.families.size > 0) {
    e.gr.staleDeadline = Date.now() + STALE_PATH_TIME * 1000;
    e.gr.staleTimer = setTimeout(() => {
      for (const f of [...(e.gr?.families ?? [])]) grSweep(c, e, f, `no End-of-RIB within ${STALE_PATH_TIME} s`);
    }, STALE_PATH_TIME * 1000);
    e.gr.staleTimer.unref();
  }
}

export function grSweep(c: GrContext, e: GrPeer, f: Family, why: string): void {
  if (!e.gr?.families.has(f)) return;
  e.gr.families.delete(f);
  const n = c.rib.hasPeer(e.id) ? c.rib.sweepStale(e.id, f) : 0;
  c.log.info({ component: 'gr', peer: e.id, family: f, removed: n }, `removed ${n} stale ${f} routes of ${e.id}: ${why}`);
  if (e.gr.families.size === 0) grClear(e);
  c.scheduleFlush();
}

export function grClear(e: GrPeer): void {
  if (!e.gr) return;
  if (e.gr.restartTimer) clearTimeout(e.gr.restartTimer);
  if (e.gr.staleTimer) clearTimeout(e.gr.staleTimer);
  for (const t of e.gr.llgrTimers ?? []) clearTimeout(t);
  e.gr = undefined;
}
