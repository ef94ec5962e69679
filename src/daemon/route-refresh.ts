// An inbound ROUTE-REFRESH by subtype (RFC 2918, RFC 7313). Only subtype 0 is a request;
// BoRR (1) and EoRR (2) frame the peer's answer to one of ours. Answering a marker with a
// refresh made two Tern speakers send their tables back and forth without end (issue 15).

import type { Rib } from '../../bgp/rib/rib.js';
import type { Logger } from '../../bgp/io/log.js';
import { RouteRefreshSubtype, type Family, type RouteRefreshMessage } from '../../bgp/codec/types.js';
import type { PeerProblems } from './peer-problems.js';

export interface RefreshContext {
  rib: Rib;
  log: Logger;
  problems: PeerProblems;
  /** Hand the RIB's output to the session now (the refresh queued a dump). */
  pump(): void;
  scheduleFlush(): void;
  /** Pending EoRR waits, by `${peer}|${family}` (owned by the daemon, one map for all peers). */
  eorrWaits: Map<string, NodeJS.Timeout>;
  /** How long to wait for EoRR after BoRR before purging anyway (default EORR_WAIT_MS). */
  eorrWaitMs?: number;
}

/**
 * Tern's own bound on the wait for EoRR: a peer that sent BoRR and never EoRR would leave its
 * routes marked stale for ever; after this long they are purged as if EoRR had come.
 */
export const EORR_WAIT_MS = 5 * 60_000;

/** `peer` is the session key and RIB id; `enhanced`: RFC 7313 was negotiated on the session. */
export function onRouteRefresh(c: RefreshContext, peer: string, enhanced: boolean, m: RouteRefreshMessage): void {
  const family: Family = m.afi === 2 ? 'ipv6' : 'ipv4';
  switch (m.subtype) {
    case RouteRefreshSubtype.NORMAL:
      // RFC 2918 §4: re-send our Adj-RIB-Out for the family, once (framed by BoRR/EoRR when
      // enhanced route refresh was negotiated, RFC 7313 §4).
      c.log.info({ component: 'session', peer, family }, 'route refresh requested by peer');
      c.rib.routeRefresh(peer, family);
      c.pump();
      return;
    case RouteRefreshSubtype.BORR:
    case RouteRefreshSubtype.EORR:
      if (!enhanced) {
        // RFC 7313 §4: the markers belong to sessions where the capability was exchanged.
        c.problems.warn(
          peer,
          'refresh-marker',
          { component: 'session', family, subtype: m.subtype },
          'BoRR/EoRR from a peer without enhanced route refresh, ignored (RFC 7313 §4)',
        );
        return;
      }
      if (m.subtype === RouteRefreshSubtype.BORR) {
        // RFC 7313 §4.2: the peer's routes are stale until EoRR; one re-advertised in between
        // is fresh again.
        c.rib.beginRefresh(peer, family);
        c.log.debug({ component: 'session', peer, family }, 'BoRR received: routes stale until EoRR');
        const key = `${peer}|${family}`;
        clearTimeout(c.eorrWaits.get(key));
        const wait = c.eorrWaitMs ?? EORR_WAIT_MS;
        const t = setTimeout(() => {
          c.eorrWaits.delete(key);
          // After a session reset the refresh was already forgotten (Rib.peerDown): 0 purged.
          const purged = c.rib.endRefresh(peer, family);
          if (purged === 0) return;
          c.problems.warn(
            peer,
            'eorr-missing',
            { component: 'session', family, purged },
            `no EoRR ${Math.round(wait / 1000)}s after BoRR: ${purged} routes not re-advertised purged (RFC 7313 §4.2)`,
          );
          c.scheduleFlush();
        }, wait);
        t.unref();
        c.eorrWaits.set(key, t);
      } else {
        // RFC 7313 §4.2: what is still stale at EoRR was not re-advertised: purge it. An EoRR
        // without a BoRR before it purges nothing (endRefresh returns 0).
        const key = `${peer}|${family}`;
        clearTimeout(c.eorrWaits.get(key));
        c.eorrWaits.delete(key);
        const purged = c.rib.endRefresh(peer, family);
        c.log.debug({ component: 'session', peer, family, purged }, 'EoRR received');
        c.scheduleFlush();
      }
      return;
    default:
      // RFC 7313 §5: a ROUTE-REFRESH with a subtype other than 0, 1 or 2 MUST be ignored.
      c.problems.warn(peer, 'refresh-subtype', { component: 'session', subtype: m.subtype }, 'ROUTE-REFRESH with an unknown subtype ignored (RFC 7313 §5)');
  }
}
