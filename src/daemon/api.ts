// The DaemonApi (src/control/api.ts) over a running Daemon: reads session stats, the plan and
// the RIB and turns them into the stable view objects bgpctl prints.
import type { Session } from '../../bgp/io/session.js';
import type { Negotiated } from '../../bgp/fsm/negotiate.js';
import type { SessionStats, ErrorRecord } from '../../bgp/fsm/stats.js';
import { buildOpen } from '../../bgp/fsm/negotiate.js';
import { CapCode, type AddPathFamily, type Capability, type LlgrFamily } from '../../bgp/codec/types.js';
import { parsePrefix } from '../../bgp/codec/prefix.js';
import type { RibPeerCounters } from '../../bgp/rib/rib-types.js';
import {
  ControlError,
  type CapabilityView,
  type ConfigView,
  type DaemonApi,
  type ErrorView,
  type DatastoreView,
  type FibRowView,
  type HealthView,
  type MetricsSnapshot,
  type NeighborAction,
  type NeighborActionOptions,
  type NeighborView,
  type NextHopView,
  type PeerView,
  type RibQuery,
  type RibRowView,
  type RibSummaryView,
  type StatusView,
  unknownNeighbor,
  type BfdSessionView,
} from '../control/api.js';
import { judgeHealth } from '../control/health.js';
import type { DatastoreStatus } from '../../peers/datastore/index.js';
import type { NextHop } from '../../fib/types.js';
import { isLogLevel, type Logger } from '../log.js';
import type { DaemonControl, DaemonView } from './view.js';
import { peerCounts, ribRows } from './rib-view.js';
import { ribSummaryView, statusView } from './status-view.js';
import { connectHint, emptyEorHint } from './hints.js';

const VERSION: string = (require('../../../package.json') as { version: string }).version;

/** A planned session gets this long to reach Established before /readyz fails (--ready-grace). */
export const READY_GRACE_MS = 60_000;

const errView = (e?: ErrorRecord): ErrorView | null =>
  e ? { code: e.code, subcode: e.subcode, name: e.name, shutdownMessage: e.shutdownMessage, at: e.at } : null;

const famName = (afi: number, safi: number): string => `${afi === 1 ? 'ipv4' : afi === 2 ? 'ipv6' : `afi${afi}`}-${safi === 1 ? 'unicast' : `safi${safi}`}`;

/** One OPEN capability (RFC 5492) as bgpctl shows it. */
export function capabilityView(c: Capability): CapabilityView {
  switch (c.code) {
    case CapCode.MULTIPROTOCOL:
      return { code: c.code, name: 'mp-bgp', value: 'afi' in c ? famName(c.afi, c.safi) : undefined };
    case CapCode.AS4:
      return { code: c.code, name: '4-octet-as', value: 'asn' in c ? String(c.asn) : undefined };
    case CapCode.ROUTE_REFRESH:
      return { code: c.code, name: 'route-refresh' };
    case CapCode.ENHANCED_ROUTE_REFRESH:
      return { code: c.code, name: 'enhanced-route-refresh' };
    case CapCode.EXTENDED_MESSAGE:
      return { code: c.code, name: 'extended-message' };
    case CapCode.GRACEFUL_RESTART:
      if ('restartTime' in c) {
        const bits = [c.restarting && 'R', c.notification && 'N'].filter(Boolean).join('');
        const fams = c.families.map((f) => `${famName(f.afi, f.safi)}${f.forwardingPreserved ? '(F)' : ''}`);
        return { code: c.code, name: 'graceful-restart', value: [`restart-time=${c.restartTime}`, bits && `flags=${bits}`, ...fams].filter(Boolean).join(' ') };
      }
      break;
    case CapCode.ADD_PATH:
      if ('families' in c && !('unknown' in c))
        return {
          code: c.code,
          name: 'add-path',
          value: (c.families as AddPathFamily[]).map((f) => `${famName(f.afi, f.safi)} ${['', 'receive', 'send', 'send/receive'][f.sendReceive]}`).join(', '),
        };
      break;
    case CapCode.LLGR:
      if ('families' in c && !('unknown' in c))
        return { code: c.code, name: 'llgr', value: (c.families as LlgrFamily[]).map((f) => `${famName(f.afi, f.safi)} stale=${f.staleTime}`).join(', ') };
      break;
    case CapCode.FQDN:
      if ('hostname' in c) return { code: c.code, name: 'fqdn', value: [c.hostname, c.domain].filter(Boolean).join('.') };
      break;
  }
  return { code: c.code, name: 'unknown' };
}

function negotiatedCaps(n: Negotiated | undefined): CapabilityView[] {
  if (!n) return [];
  const caps: CapabilityView[] = n.families.map((f) => ({ code: 1, name: 'mp-bgp', value: `${f}-unicast` }));
  if (n.as4) caps.push({ code: 65, name: '4-octet-as' });
  if (n.routeRefresh) caps.push({ code: 2, name: 'route-refresh' });
  if (n.enhancedRouteRefresh) caps.push({ code: 70, name: 'enhanced-route-refresh' });
  if (n.extendedMessage) caps.push({ code: 6, name: 'extended-message' });
  for (const [f, ap] of Object.entries(n.addPath)) {
    const dir = [ap.send && 'send', ap.receive && 'receive'].filter(Boolean).join('/');
    if (dir) caps.push({ code: 69, name: 'add-path', value: `${f}-unicast ${dir}` });
  }
  if (n.gracefulRestart) {
    const gr = n.gracefulRestart;
    caps.push({
      code: 64,
      name: 'graceful-restart',
      value: `restart-time=${gr.restartTime} ${gr.families.map((x) => `${x.family}-unicast${x.forwardingPreserved ? '(F)' : ''}`).join(' ')}`.trim(),
    });
  }
  if (n.llgr) caps.push({ code: 71, name: 'llgr', value: n.llgr.map((x) => `${x.family}-unicast stale=${x.staleTime}`).join(' ') });
  if (n.peerHostname) caps.push({ code: 73, name: 'fqdn', value: [n.peerHostname.hostname, n.peerHostname.domain].filter(Boolean).join('.') });
  return caps;
}

export class TerndApi implements DaemonApi {
  readonly version = VERSION;
  constructor(
    private readonly d: DaemonView,
    private readonly control: DaemonControl,
    private readonly log: Logger,
    private readonly readyGraceMs = READY_GRACE_MS,
  ) {}

  private entry(addr: string) {
    for (const e of this.d.peers.values()) if (e.id === addr || e.cfg.peerAddress === addr || e.cfg.key === addr) return e;
    return undefined;
  }

  private peerView(s: Session, stats: SessionStats, counts = this.d.rib.hasPeer(s.key) ? peerCounts(this.d, s.key) : undefined): PeerView {
    const e = this.d.peers.get(s.key);
    return {
      address: s.key,
      port: s.cfg.peerPort,
      asn: s.cfg.peerAs,
      localAsn: s.cfg.localAs,
      kind: e?.cfg.kind ?? 'global',
      description: e?.cfg.description ?? '',
      state: stats.state,
      since: stats.since,
      msgRcvd: stats.messagesIn.total,
      msgSent: stats.messagesOut.total,
      outQ: stats.outQueueMessages,
      prefixesReceived: counts?.received ?? 0,
      prefixesAccepted: counts?.accepted ?? 0,
      prefixesSent: counts?.sent ?? 0,
      adminDown: e?.adminDown ?? false,
      ...(e?.cfg.passwordError ? { heldDown: e.cfg.passwordError } : {}),
    };
  }

  peers(): PeerView[] {
    return this.d.sessions().map((s) => this.peerView(s, s.stats()));
  }

  neighbor(addr: string): NeighborView | undefined {
    const e = this.entry(addr);
    if (!e) return undefined;
    const s = e.session;
    const st = s.stats();
    const n = st.negotiated;
    // One walk of the peer's paths per family; the totals are their sums.
    const perFamily = (['ipv4', 'ipv6'] as const).map((family) => ({ family, ...peerCounts(this.d, e.id, family) }));
    const counts = perFamily.reduce(
      (a, f) => ({ received: a.received + f.received, accepted: a.accepted + f.accepted, sent: a.sent + f.sent, stale: a.stale + f.stale }),
      { received: 0, accepted: 0, sent: 0, stale: 0 },
    );
    const ours = buildOpen(s.cfg).capabilities.map(capabilityView);
    const theirs = (n ?? e.negotiated)?.peerCapabilities.map(capabilityView) ?? [];
    // While Tern helps a restarting peer (RFC 4724 §4.2) the session is down: show what the
    // last one agreed, which is what the stale routes are held under.
    const gr = n?.gracefulRestart ?? (e.gr ? e.negotiated?.gracefulRestart : undefined);
    return {
      ...this.peerView(s, st, counts),
      localAddress: st.localAddress ?? '',
      localPort: st.localPort ?? 0,
      remoteAddress: st.remoteAddress ?? '',
      remotePort: st.remotePort ?? 0,
      localRouterId: this.d.local.routerId,
      remoteRouterId: n?.peerBgpId ?? '',
      holdTimeConfigured: s.cfg.holdTime,
      holdTimeNegotiated: n ? n.holdTime : null,
      keepaliveConfigured: s.cfg.keepaliveTime ?? Math.floor(s.cfg.holdTime / 3),
      keepaliveNegotiated: n ? n.keepaliveTime : null,
      capabilities: { ours, theirs, negotiated: negotiatedCaps(n) },
      gracefulRestart: {
        negotiated: !!gr,
        localRestartTime: s.cfg.gracefulRestart?.restartTime ?? null,
        remoteRestartTime: gr?.restartTime ?? null,
        remoteForwardingFamilies: (gr ?? e.negotiated?.gracefulRestart)?.families.filter((f) => f.forwardingPreserved).map((f) => f.family) ?? [],
        peerRestarting: !!e.gr,
        staleRoutes: counts?.stale ?? 0,
        restartTimerRemaining: remaining(e.gr?.restartDeadline),
        staleTimerRemaining: remaining(e.gr?.staleDeadline),
      },
      messages: { received: st.messagesIn, sent: st.messagesOut },
      prefixes: perFamily,
      establishedTransitions: st.establishedCount,
      lastErrorSent: errView(st.lastErrorSent),
      lastErrorReceived: errView(st.lastErrorReceived),
      lastResetReason: st.lastDown?.reason ?? '',
      lastConnectError: st.lastConnectError ? `${st.lastConnectError.error}, ${st.lastConnectError.count} in a row, last ${st.lastConnectError.at}` : '',
      hints: [
        ...(st.lastConnectError && s.state !== 'Established'
          ? [connectHint(e.id, { ...st.lastConnectError, timedOut: st.lastConnectError.error.startsWith('no answer') }, !!s.cfg.password)]
          : []),
        ...[...(e.emptyEor ?? [])].filter((f) => s.state === 'Established' && !this.d.hasPathsFrom(e.id, f)).map((f) => emptyEorHint(e.id, f)),
      ],
      routeReflector: e.cfg.routeReflectorClient ? 'client' : e.cfg.kind === 'reflector' ? 'reflector' : 'none',
      md5: !!s.cfg.password,
      updateErrors: this.d.updateErrors(e.id),
      routesLeftOut: leftOut(this.d.rib.peerCounters(e.id), st.oversizeDropped),
      maxPrefixes: (['ipv4', 'ipv6'] as const).flatMap((family) => {
        const l = e.cfg.maxPrefixes?.[family];
        return l
          ? [
              {
                family,
                limit: l.limit,
                warningPercent: l.warningPercent,
                restartInterval: l.restartInterval ?? null,
                received: this.d.rib.receivedCount(e.id, family),
              },
            ]
          : [];
      }),
      maxPrefixExceeded: e.maxPrefixTrip
        ? {
            family: e.maxPrefixTrip.family,
            limit: e.maxPrefixTrip.limit,
            received: e.maxPrefixTrip.received,
            at: new Date(e.maxPrefixTrip.at).toISOString(),
            restartInSeconds: e.maxPrefixTrip.restartAt === undefined ? null : Math.max(0, Math.ceil((e.maxPrefixTrip.restartAt - Date.now()) / 1000)),
          }
        : null,
    };
  }

  rib(q: RibQuery): Iterable<RibRowView> {
    if (q.prefix) {
      try {
        parsePrefix(q.prefix.includes('/') ? q.prefix : q.prefix + (q.prefix.includes(':') ? '/128' : '/32'));
      } catch (err) {
        throw new ControlError('bad-prefix', `${q.prefix}: ${(err as Error).message}`);
      }
    }
    if (q.neighbor && !this.entry(q.neighbor)) throw unknownNeighbor(q.neighbor);
    return ribRows(this.d, q);
  }

  async fib(prefix?: string): Promise<FibRowView[]> {
    // --fib none: no kernel and no desired FIB state; nothing to show (bgpctl prints 0 routes).
    if (this.d.fib.driver === 'none') return [];
    const hopViews = (hops: NextHop[]): NextHopView[] => hops.map((h) => ({ via: h.gateway ?? '', dev: h.dev, weight: h.weight }));
    const kernel = new Map((await this.d.fib.kernelRoutes()).map((r) => [r.prefix, r]));
    const desired = new Map(this.d.fib.desiredRoutes().map((r) => [r.prefix, r]));
    const rows: FibRowView[] = [];
    const keys = new Set([...desired.keys(), ...kernel.keys()]);
    for (const p of [...keys].sort()) {
      if (prefix && p !== prefix) continue;
      const want = desired.get(p);
      const have = kernel.get(p);
      const tern = want ? (want.kind === 'blackhole' ? [{ via: 'blackhole' }] : hopViews(want.nexthops)) : null;
      const k = have ? (have.kind === 'blackhole' ? [{ via: 'blackhole' }] : hopViews(have.nexthops)) : null;
      const own = want?.metric;
      const same =
        tern &&
        k &&
        JSON.stringify(tern.map((h) => h.via).sort()) === JSON.stringify(k.map((h) => h.via).sort()) &&
        (own === undefined || own === have?.metric);
      rows.push({
        prefix: p,
        tern,
        kernel: k,
        status: !tern ? 'extra' : !k ? 'missing' : same ? 'ok' : 'different',
        ...(own !== undefined ? { metric: own, kernelMetric: have?.metric } : {}),
      });
    }
    return rows;
  }

  config(): ConfigView {
    const d = this.d;
    return {
      nodeName: d.local.nodeName,
      asn: d.local.asNumber,
      routerId: d.local.routerId,
      listen: d.listenAddresses().map((a) => (a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`)),
      peers: d.plan.map((p) => ({ key: p.key, kind: p.kind, why: p.description })),
      advertised: [...d.originated.values()].map((r) => ({
        prefix: r.prefix,
        communities: r.communities.length ? r.communities.map((c) => `${c >>> 16}:${c & 0xffff}`) : undefined,
        largeCommunities: r.largeCommunities.length ? r.largeCommunities.map((c) => `${c.globalAdmin}:${c.local1}:${c.local2}`) : undefined,
      })),
      clusterId: d.local.routeReflectorClusterID,
      source: d.datastore().source,
      fib: { driver: d.fib.driver, coupled: d.fib.coupled },
      logLevel: levelName(this.log.level()),
    };
  }

  async neighborAction(addr: string, action: NeighborAction, opts: NeighborActionOptions): Promise<void> {
    const e = this.entry(addr);
    if (!e) throw unknownNeighbor(addr);
    this.control.neighborAction(e.id, action, opts);
  }

  async reload() {
    return this.control.reload('bgpctl reload');
  }

  async fibCouple(coupled: boolean): Promise<void> {
    await this.control.fibCouple(coupled);
  }

  async fibFlush(): Promise<number> {
    return this.control.fibFlush();
  }

  status(): StatusView {
    return statusView(this.d, levelName(this.log.level()), datastoreView(this.d.datastore()));
  }

  ribSummary(): RibSummaryView {
    return ribSummaryView(this.d);
  }

  setLogLevel(level: string): void {
    if (!isLogLevel(level)) throw new ControlError('bad-argument', `unknown log level ${level}`);
    this.log.level(level);
  }

  health(): HealthView {
    const now = Date.now();
    return judgeHealth({
      configLoaded: this.d.configLoaded,
      listening: this.d.listening,
      datastore: datastoreView(this.d.datastore()),
      graceMs: this.readyGraceMs,
      fibDenied: this.d.fib.denied,
      now,
      sessions: [...this.d.peers.values()]
        .filter((e) => !e.adminDown)
        .map((e) => {
          return { address: e.id, state: e.session.state, since: e.downSince, heldDown: e.cfg.passwordError };
        }),
    });
  }

  bfd(): Promise<BfdSessionView[]> {
    return this.d.bfd();
  }

  metrics(): MetricsSnapshot {
    const st = this.d.rib.stats();
    return {
      rib: [
        { table: 'loc', family: 'ipv4', routes: st.prefixes.ipv4 },
        { table: 'loc', family: 'ipv6', routes: st.prefixes.ipv6 },
        { table: 'in', family: 'ipv4', routes: st.paths.ipv4 },
        { table: 'in', family: 'ipv6', routes: st.paths.ipv6 },
      ],
      fibRoutes: this.d.fib.desiredCount,
      fibCoupled: this.d.fib.coupled,
    };
  }
}

function datastoreView(st: DatastoreStatus): DatastoreView {
  return {
    kind: st.kind,
    source: st.source,
    state: st.state,
    since: st.since.toISOString(),
    ...(st.lastSync ? { lastSync: st.lastSync.toISOString() } : {}),
    ...(st.detail ? { detail: st.detail } : {}),
  };
}

const remaining = (deadline?: number): number | null => (deadline === undefined ? null : Math.max(0, Math.round((deadline - Date.now()) / 1000)));

function levelName(n: number): string {
  return ({ 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' } as Record<number, string>)[n] ?? String(n);
}

/** RibPeerCounters + the session's write-point refusals, as `show neighbor` names them. */
function leftOut(c: RibPeerCounters, refused: number): NeighborView['routesLeftOut'] {
  return { tooLargeNotSent: c['message-too-large'], badNextHopIgnored: c['bad-next-hop'], oversizeMessagesRefused: refused };
}
