// Session events: what the daemon does when a session is established, goes down, delivers an
// UPDATE or a ROUTE-REFRESH, fails to connect or drains; and moving the RIB's encoded UPDATEs
// to a session at its own pace (pump). The rules live in their modules (graceful-restart.ts,
// max-prefix.ts, route-refresh.ts, hints.ts); this file only routes events to them.
import type { Rib } from '../../bgp/rib/rib.js';
import type { Speaker } from '../../bgp/io/speaker.js';
import type { Session } from '../../bgp/io/session.js';
import type { DownReason, StopNotification } from '../../bgp/fsm/types.js';
import { isEndOfRib } from '../../bgp/codec/index.js';
import type { Family } from '../../bgp/codec/types.js';
import type { LocalSpeaker } from '../../peers/index.js';
import { ControlError, type NeighborAction, type NeighborActionOptions } from '../control/api.js';
import type { Metrics } from '../control/metrics.js';
import type { Logger } from '../log.js';
import type { BfdCoupling } from './bfd.js';
import type { Convergence } from './convergence.js';
import { grClear, grPeerDown, grReestablished, grSweep, type GrContext } from './graceful-restart.js';
import { connectHint, CONNECT_HINT_INTERVAL_MS, CONNECT_HINTS_PER_INTERVAL, emptyEorHint } from './hints.js';
import { announcedFamilies, checkMaxPrefix, clearMaxPrefix } from './max-prefix.js';
import type { PeerEntry } from './peer-entry.js';
import type { PeerProblems } from './peer-problems.js';
import { onRouteRefresh } from './route-refresh.js';
import type { RouteFlow } from './routes.js';

/** A full Internet table is ~100k packed UPDATEs: a peer 500k behind is not keeping up. */
export const MAX_OUTPUT_BACKLOG = 500_000;

/**
 * Bytes of UPDATEs a session holds taken from the RIB and not yet in the kernel (pump()).
 * The rest waits in the RIB, where one copy serves every member of an update group: with the
 * session's own 32 MB bound instead, a route reflector's thousands of clients each held their
 * whole initial update in their own queue at once (issue 18's 5,000-client memory).
 */
const PULL_WINDOW_BYTES = 256 * 1024;

export interface SessionContext {
  peers: ReadonlyMap<string, PeerEntry>;
  rib(): Rib;
  local(): LocalSpeaker;
  routes: RouteFlow;
  convergence: Convergence;
  bfd: BfdCoupling;
  problems: PeerProblems;
  gr: GrContext;
  /** RFC 7313 §4.2 EoRR waits (route-refresh.ts), one map for all peers. */
  eorrWaits: Map<string, NodeJS.Timeout>;
  log: Logger;
  metrics?: Metrics;
  /** UPDATEs a peer may lag behind its update group before it is reset. */
  maxOutputBacklog?: number;
}

export function describeReason(r: DownReason): string {
  return r.text;
}

/** Whether the peer's Adj-RIB-In holds any path of `family` (stops at the first). */
export function hasPathsFrom(rib: Rib, peerId: string, family: Family): boolean {
  return rib.hasPaths(peerId, family);
}

/** Moves queued UPDATEs from the RIB to the session while the session's queue has room. */
export function pump(c: SessionContext, e: PeerEntry): void {
  // RFC 4724 §4.1 selection deferral: a restarting speaker advertises after its routes are
  // complete again. A route reflector that sent its partial table and End-of-RIB at once
  // would make every GR helper sweep the routes it had not re-learned yet.
  if (c.convergence.selectionDeferred) return;
  if (e.session.state !== 'Established') return;
  const rib = c.rib();
  for (;;) {
    const bufs = rib.takeOutput(e.id, PULL_WINDOW_BYTES / 2);
    if (bufs.length === 0) return;
    if (!e.session.sendUpdates(bufs, PULL_WINDOW_BYTES)) break; // resumes on 'drain'
  }
  // The session's own queue is full; what it has not taken stays in the RIB's shared log. A
  // peer that reads slower than the others converge must not hold that memory without bound:
  // past the bound it is reset (Cease 6/8 Out of Resources, RFC 4486) and resynchronised.
  // One that stops reading entirely is dropped by the RFC 9687 send hold timer.
  const behind = rib.outputBacklog(e.id);
  const bound = c.maxOutputBacklog ?? MAX_OUTPUT_BACKLOG;
  if (behind > bound) {
    const text = `${e.id} is ${behind} UPDATEs behind (bound ${bound}): resetting the session`;
    c.log.warn({ component: 'session', peer: e.id, backlog: behind }, text);
    e.session.stop({ code: 6, subcode: 8, shutdownMessage: 'Tern: peer too slow to read its updates', why: text });
    e.session.start();
  }
}

/** Connects the Speaker's events to the RIB, the FIB and the restart rules. */
export function wireSessions(sp: Speaker, c: SessionContext): void {
  const entryOf = (s: Session) => c.peers.get(s.key);
  const log = c.log;
  let hintBudget = { since: 0, used: 0, suppressed: 0 };
  sp.on('stateChange', (s, ch) => {
    const e = entryOf(s);
    const fields = { component: 'session', peer: s.key, from: ch.from, to: ch.to, reason: ch.reason ? describeReason(ch.reason) : undefined };
    c.metrics?.sessionTransitions.inc({ peer: s.key, state: ch.to });
    if (e && ch.from === 'Established') e.downSince = Date.now();
    // Reaching and leaving Established each get one line of their own ('established', 'down').
    log.debug(fields, `${s.key} ${ch.from} -> ${ch.to}`);
  });
  sp.on('established', (s, info) => {
    const e = entryOf(s);
    if (!e) return;
    e.eor.clear();
    e.emptyEor = undefined;
    e.connectHintAt = undefined;
    const n = info.negotiated;
    e.negotiated = n;
    if (e.gr) grReestablished(c.gr, e, n);
    // The socket's local address too: the session may leave by an address that is not the node's.
    const sessionLocalAddress = s.socket?.localAddress?.replace(/^::ffff:/, '');
    c.rib().peerUp(
      e.id,
      info.context,
      { routerId: n.peerBgpId, families: n.families, enhancedRouteRefresh: n.enhancedRouteRefresh, sessionLocalAddress },
      Date.now(),
    );
    log.info(
      {
        component: 'session',
        peer: s.key,
        peerAs: n.peerAs,
        routerId: n.peerBgpId,
        hold: n.holdTime,
        families: n.families,
        as4: n.as4,
        gr: !!n.gracefulRestart,
        addPath: n.addPath,
      },
      `session with ${s.key} (${e.cfg.description}) established`,
    );
    c.routes.scheduleFlush();
    pump(c, e);
    c.convergence.check();
  });
  sp.on('down', (s, reason) => {
    const e = entryOf(s);
    if (!e) return;
    // A session the config removed or restarts is told by the plan's own line.
    const lvl = e.closing ? 'debug' : 'warn';
    log[lvl]({ component: 'session', peer: s.key, reason: describeReason(reason) }, `session with ${s.key} down: ${describeReason(reason)}`);
    // RFC 7606 session reset: our NOTIFICATION for a malformed UPDATE (3/x), counted with the rest.
    const n = reason.notification;
    if (reason.origin === 'local' && n?.code === 3) c.problems.sessionReset(s.key, n.subcode, n.data);
    e.eor.clear();
    // Closed for max-prefix (RFC 4486 §4): the routes go now, never kept as stale.
    if (e.maxPrefixTrip) {
      grClear(e);
      c.rib().peerDown(e.id);
    } else if (!grPeerDown(c.gr, e, reason)) c.rib().peerDown(e.id);
    c.routes.scheduleFlush();
  });
  sp.on('update', (s, u) => {
    const e = entryOf(s);
    if (!e) return;
    const rib = c.rib();
    const eor = isEndOfRib(u);
    if (eor) {
      e.eor.add(eor);
      log.debug({ component: 'session', peer: s.key, family: eor }, 'End-of-RIB received');
      if (e.cfg.peerAs !== (e.cfg.localAs ?? c.local().asNumber) && !hasPathsFrom(rib, e.id, eor)) {
        (e.emptyEor ??= new Set()).add(eor);
        log.info({ component: 'session', peer: s.key, family: eor }, emptyEorHint(s.key, eor));
      }
      // RFC 4724 §4.2: End-of-RIB ends the wait: what is still stale was not re-announced.
      if (e.gr?.families.has(eor)) grSweep(c.gr, e, eor, 'End-of-RIB received');
      c.convergence.check();
      return;
    }
    // Counted per attribute and action, logged rate limited (a peer can send thousands).
    if (u.errors?.length) c.problems.updateErrors(s.key, u.errors);
    rib.ingest(e.id, u);
    if (e.cfg.maxPrefixes)
      checkMaxPrefix(
        e,
        announcedFamilies(u),
        (f) => rib.receivedCount(e.id, f),
        log,
        () => c.bfd.mayStart(e.cfg),
      );
    c.routes.scheduleFlush();
  });
  sp.on('routeRefresh', (s, m) => {
    const e = entryOf(s);
    if (!e) return;
    const ctx = { rib: c.rib(), log, problems: c.problems, pump: () => pump(c, e), scheduleFlush: () => c.routes.scheduleFlush(), eorrWaits: c.eorrWaits };
    onRouteRefresh(ctx, e.id, !!e.negotiated?.enhancedRouteRefresh, m);
  });
  sp.on('connectFailed', (s, f) => {
    const e = entryOf(s);
    if (!e) return;
    const now = Date.now();
    if (e.connectHintAt !== undefined && now - e.connectHintAt < CONNECT_HINT_INTERVAL_MS) return;
    e.connectHintAt = now;
    // Across peers too: 10k unreachable peers must not write 10k lines (issue 17).
    if (now - hintBudget.since >= CONNECT_HINT_INTERVAL_MS) {
      if (hintBudget.suppressed)
        log.warn(
          { component: 'session', peers: hintBudget.suppressed },
          `${hintBudget.suppressed} more peers failed to connect in the last ${CONNECT_HINT_INTERVAL_MS / 60_000} min (not logged one by one; bgpctl show peers)`,
        );
      hintBudget = { since: now, used: 0, suppressed: 0 };
    }
    if (hintBudget.used++ >= CONNECT_HINTS_PER_INTERVAL) {
      if (hintBudget.suppressed++ === 0)
        log.warn(
          { component: 'session' },
          `more peers fail to connect: counted, not logged one by one, for the next ${CONNECT_HINT_INTERVAL_MS / 60_000} min (bgpctl show peers)`,
        );
      return;
    }
    log.warn({ component: 'session', peer: s.key, error: f.error, attempts: f.count, md5: !!s.cfg.password }, connectHint(s.key, f, !!s.cfg.password));
  });
  sp.on('drain', (s) => {
    const e = entryOf(s);
    if (e) pump(c, e);
  });
  sp.on('refused', (info) => void info);
}

/** `bgpctl neighbor <addr> clear|down|up|refresh` on one peer entry. */
/**
 * Ends every session as a restarting speaker (RFC 4724 §4.1): the kernel routes stay. A peer
 * that negotiated GR keeps our routes only if the session ends without a NOTIFICATION, or with
 * one covered by the N bit on both sides (RFC 8538): so close those sessions silently when the
 * peer has no N bit, and say why (RFC 9003 Cease text) to everyone else. Returns that
 * NOTIFICATION for the Speaker's own close.
 */
export function closeForRestart(peers: Iterable<PeerEntry>, reason: string): StopNotification {
  const notification = { code: 6, subcode: 2, shutdownMessage: reason, why: reason };
  for (const e of peers) {
    const n = e.session.state === 'Established' ? e.negotiated : undefined;
    if (n?.gracefulRestart && !n.gracefulRestart.notification) e.session.destroy();
    else e.session.stop(notification);
  }
  return notification;
}

export function neighborAction(e: PeerEntry, action: NeighborAction, opts: NeighborActionOptions, bfd: Pick<BfdCoupling, 'mayStart'>, log: Logger): void {
  const s = e.session;
  log.info(
    { component: 'control', peer: e.id, action, message: opts.message, hard: opts.hard },
    `bgpctl neighbor ${e.id} ${action}${opts.hard ? ' --hard' : ''}${opts.message ? ` (${JSON.stringify(opts.message)})` : ''}`,
  );
  switch (action) {
    case 'clear':
      // RFC 4486 6/4 Administrative Reset; RFC 8538 6/9 Hard Reset drops GR state on both sides.
      // It also ends a max-prefix hold-down: the operator decided.
      clearMaxPrefix(e);
      s.stop({ code: 6, subcode: opts.hard ? 9 : 4, shutdownMessage: opts.message, why: `cleared by bgpctl${opts.hard ? ' (hard reset)' : ''}` });
      // A strict-BFD session (docs/bfd.md) starts again only once BFD is Up; one held down
      // for its password (RFC 2385) not at all.
      if (!e.adminDown && !e.cfg.passwordError && bfd.mayStart(e.cfg)) setTimeout(() => s.start(), 100).unref();
      return;
    case 'down':
      // 6/2 Administrative Shutdown; with the N bit a GR peer keeps our routes as stale for
      // our restart time (RFC 8538 §3), which is what a maintenance window wants. --hard
      // sends Hard Reset so the peer drops them at once.
      e.adminDown = true;
      s.stop({ code: 6, subcode: opts.hard ? 9 : 2, shutdownMessage: opts.message, why: `shut down by bgpctl neighbor down${opts.hard ? ' --hard' : ''}` });
      return;
    case 'up':
      e.adminDown = false;
      clearMaxPrefix(e);
      // RFC 2385: never up without the password it is configured with.
      if (e.cfg.passwordError) throw new ControlError('bad-argument', `neighbor ${e.id} is held down: ${e.cfg.passwordError}`);
      if (bfd.mayStart(e.cfg)) s.start();
      return;
    case 'refresh': {
      if (s.state !== 'Established') throw new ControlError('bad-argument', `neighbor ${e.id} is ${s.state}, not Established`);
      if (!s.negotiated?.routeRefresh) throw new ControlError('not-supported', `neighbor ${e.id} did not negotiate route refresh (RFC 2918)`);
      for (const f of s.negotiated.families) s.send({ type: 5, afi: f === 'ipv4' ? 1 : 2, safi: 1, subtype: 0 });
      return;
    }
  }
}
