// `bgpctl show status` and `show rib summary`: the daemon at a glance, from the same read-only
// sources as the other views (session stats, RIB counters, the datastore's status).
import { buildInfo } from '../build-info.js';
import type { DatastoreView, FamilyName, RibSummaryView, StatusView } from '../control/api.js';
import type { DaemonView } from './view.js';
import { peerCounts } from './rib-view.js';

const FAMILIES: readonly FamilyName[] = ['ipv4', 'ipv6'];

/** When this process started (ms since epoch): the daemon is this process. */
const STARTED = Date.now() - process.uptime() * 1000;

export function statusView(d: DaemonView, logLevel: string, datastore: DatastoreView): StatusView {
  const b = buildInfo();
  const st = d.rib.stats();
  const mem = process.memoryUsage();
  const entries = [...d.peers.values()];
  return {
    version: b.version,
    commit: b.commit,
    dirty: b.dirty,
    nodeVersion: b.node,
    pid: process.pid,
    startedAt: new Date(STARTED).toISOString(),
    uptimeSeconds: Math.floor((Date.now() - STARTED) / 1000),
    nodeName: d.local.nodeName,
    asn: d.local.asNumber,
    routerId: d.local.routerId,
    memory: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, externalBytes: mem.external },
    sessions: {
      configured: entries.length,
      established: entries.filter((e) => e.session.state === 'Established').length,
      adminDown: entries.filter((e) => e.adminDown).length,
    },
    rib: FAMILIES.map((f) => ({ family: f, prefixes: st.prefixes[f], paths: st.paths[f] })),
    fib: { driver: d.fib.driver, coupled: d.fib.driver !== 'none' && d.fib.coupled, routes: d.fib.desiredCount },
    datastore,
    logLevel,
  };
}

export function ribSummaryView(d: DaemonView): RibSummaryView {
  const st = d.rib.stats();
  const peers: RibSummaryView['peers'] = [];
  for (const e of d.peers.values()) {
    for (const family of FAMILIES) {
      const c = peerCounts(d, e.id, family);
      // A family the session never carried stays out of the table (an IPv4-only ToR has no ipv6 row).
      if (family === 'ipv6' && c.received + c.sent === 0 && !e.negotiated?.families.includes('ipv6')) continue;
      peers.push({ address: e.id, state: e.session.state, family, ...c });
    }
  }
  return { families: FAMILIES.map((f) => ({ family: f, prefixes: st.prefixes[f], paths: st.paths[f] })), peers };
}
