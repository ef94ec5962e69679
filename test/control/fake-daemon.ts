// FakeDaemon: a DaemonApi with fixed, deterministic answers for control-socket and bgpctl tests.
// Test code only; the real implementation lives in ternd.
// One file on purpose (~420 lines): the fixed answers (peers, RIB rows, BFD) and the DaemonApi
// that serves them must agree with each other, and most of the file is that data.
import {
  ControlError,
  type ConfigView,
  type DaemonApi,
  type FibRowView,
  type HealthView,
  type MetricsSnapshot,
  type NeighborAction,
  type NeighborActionOptions,
  type NeighborView,
  type PeerView,
  type ReloadResult,
  type RibQuery,
  type RibRowView,
  type RibSummaryView,
  type StatusView,
  unknownNeighbor,
  type BfdSessionView,
} from '../../src/control/api.js';

/** A fixed "now" so Up/Down columns are predictable when the CLI is given TERN_NOW. */
export const FAKE_NOW = Date.parse('2026-01-02T12:00:00Z');
const ago = (s: number): string => new Date(FAKE_NOW - s * 1000).toISOString();
const shift = (iso: string | null): string | null => (iso === null ? null : new Date(Date.parse(iso) - FAKE_NOW + Date.now()).toISOString());

export const PEERS: PeerView[] = [
  {
    address: '127.0.0.2',
    port: 179,
    asn: 64512,
    localAsn: 64512,
    kind: 'mesh',
    description: 'node-b',
    state: 'Established',
    since: ago(3723),
    msgRcvd: 1234,
    msgSent: 1200,
    outQ: 0,
    prefixesReceived: 3,
    prefixesAccepted: 3,
    prefixesSent: 2,
    adminDown: false,
  },
  {
    address: '127.0.0.3',
    port: 179,
    asn: 65001,
    localAsn: 64512,
    kind: 'global',
    description: 'tor-1',
    state: 'Established',
    since: ago(93780),
    msgRcvd: 98765,
    msgSent: 4321,
    outQ: 2,
    prefixesReceived: 120,
    prefixesAccepted: 118,
    prefixesSent: 4,
    adminDown: false,
  },
  {
    address: '2001:db8::9',
    port: 179,
    asn: 65002,
    localAsn: 64512,
    kind: 'selector',
    description: '',
    state: 'Active',
    since: ago(12),
    msgRcvd: 0,
    msgSent: 0,
    outQ: 0,
    prefixesReceived: 0,
    prefixesAccepted: 0,
    prefixesSent: 0,
    adminDown: false,
  },
  {
    address: '127.0.0.4',
    port: 179,
    asn: 64512,
    localAsn: 64512,
    kind: 'rr-client',
    description: 'node-d',
    state: 'Idle',
    since: null,
    msgRcvd: 0,
    msgSent: 0,
    outQ: 0,
    prefixesReceived: 0,
    prefixesAccepted: 0,
    prefixesSent: 0,
    adminDown: true,
  },
];

const counters = (update: number) => ({ open: 1, update, notification: 0, keepalive: 40, routeRefresh: 0, total: 41 + update });

export function neighborOf(p: PeerView): NeighborView {
  return {
    ...p,
    localAddress: '127.0.0.1',
    localPort: 40123,
    remoteAddress: p.address,
    remotePort: p.port,
    localRouterId: '127.0.0.1',
    remoteRouterId: '198.18.0.3',
    holdTimeConfigured: 90,
    holdTimeNegotiated: 90,
    keepaliveConfigured: 30,
    keepaliveNegotiated: 30,
    capabilities: {
      ours: [
        { code: 1, name: 'mp-bgp', value: 'ipv4-unicast' },
        { code: 65, name: '4-octet-as', value: '64512' },
        { code: 64, name: 'graceful-restart', value: 'restart-time=120 ipv4-unicast(F)' },
      ],
      theirs: [
        { code: 1, name: 'mp-bgp', value: 'ipv4-unicast' },
        { code: 65, name: '4-octet-as', value: String(p.asn) },
        { code: 2, name: 'route-refresh' },
      ],
      negotiated: [
        { code: 1, name: 'mp-bgp', value: 'ipv4-unicast' },
        { code: 65, name: '4-octet-as' },
      ],
    },
    gracefulRestart: {
      negotiated: false,
      localRestartTime: 120,
      remoteRestartTime: null,
      remoteForwardingFamilies: [],
      peerRestarting: false,
      staleRoutes: 0,
      restartTimerRemaining: null,
      staleTimerRemaining: null,
    },
    messages: { received: counters(p.msgRcvd > 41 ? p.msgRcvd - 41 : 0), sent: counters(p.msgSent > 41 ? p.msgSent - 41 : 0) },
    prefixes: [{ family: 'ipv4', received: p.prefixesReceived, accepted: p.prefixesAccepted, sent: p.prefixesSent, stale: 0 }],
    establishedTransitions: 2,
    lastErrorSent: null,
    lastErrorReceived: { code: 6, subcode: 2, name: 'Cease/Administrative Shutdown', shutdownMessage: 'maintenance window', at: ago(4000) },
    lastResetReason: 'peer sent Cease/Administrative Shutdown',
    lastConnectError: '',
    hints: [],
    routeReflector: p.kind === 'rr-client' ? 'client' : 'none',
    md5: false,
    updateErrors: [{ attrType: 1, attribute: 'ORIGIN', action: 'treat-as-withdraw', count: 20000 }],
    routesLeftOut: { tooLargeNotSent: 0, badNextHopIgnored: 3, oversizeMessagesRefused: 0 },
    maxPrefixes: [{ family: 'ipv4', limit: 1000, warningPercent: 75, restartInterval: 60, received: p.prefixesReceived }],
    maxPrefixExceeded: null,
  };
}

const BEST: RibRowView = {
  prefix: '10.244.1.0/26',
  family: 'ipv4',
  flags: { valid: true, best: true, multipath: false, ibgp: true, stale: false, filtered: false },
  nextHop: '127.0.0.2',
  localPref: 100,
  med: 0,
  asPath: '',
  origin: 'i',
  peer: '127.0.0.2',
  communities: ['64512:100'],
};

export const RIB: RibRowView[] = [
  BEST,
  {
    prefix: '10.244.1.0/26',
    family: 'ipv4',
    flags: { valid: true, best: false, multipath: false, ibgp: false, stale: false, filtered: false },
    nextHop: '127.0.0.3',
    localPref: 100,
    med: 10,
    asPath: '65001 65010',
    origin: 'i',
    peer: '127.0.0.3',
    largeCommunities: ['65001:1:2'],
    reason: { step: 4, text: 'longer AS_PATH (2 > 0)' },
  },
  {
    prefix: '198.18.100.0/24',
    family: 'ipv4',
    flags: { valid: true, best: true, multipath: false, ibgp: false, stale: true, filtered: false },
    nextHop: '127.0.0.3',
    asPath: '65001 {65003,65004}',
    origin: '?',
    peer: '127.0.0.3',
    originatorId: '198.18.0.7',
    clusterList: ['198.18.0.1'],
  },
  {
    prefix: '2001:db8:100::/48',
    family: 'ipv6',
    flags: { valid: true, best: true, multipath: false, ibgp: false, stale: false, filtered: false },
    nextHop: '2001:db8::9',
    localPref: 100,
    asPath: '65002',
    origin: 'e',
    peer: '2001:db8::9',
  },
];

export class FakeDaemon implements DaemonApi {
  version = '0.1.0-fake';
  actions: Array<{ addr: string; action: NeighborAction; opts: NeighborActionOptions }> = [];
  coupled = true;
  logLevel = 'info';
  /** When set, show rib yields this many generated rows instead of RIB. */
  ribRows = 0;
  /** Rows generated so far (to see that a stream is produced lazily). */
  generated = 0;
  /** Set when the generated stream was finished or abandoned (its finally ran). */
  ribClosed = false;
  healthView: HealthView = {
    live: true,
    ready: true,
    reasons: [],
    configLoaded: true,
    listening: true,
    sessions: { planned: 4, established: 2, withinGrace: 2 },
  };
  reloadResult: ReloadResult = { ok: true, effects: ['peer 127.0.0.5 added'] };
  /** The last show.rib query as the server parsed it (the CLI's arguments, checked). */
  lastRibQuery?: RibQuery;
  fibDriver: 'kernel' | 'none' = 'kernel';
  flushed = 0;

  /** PEERS with times moved from FAKE_NOW to the real clock, so Up/Down reads as written. */
  peers(): PeerView[] {
    return PEERS.map((p) => ({ ...p, since: shift(p.since) }));
  }

  neighbor(addr: string): NeighborView | undefined {
    const p = this.peers().find((x) => x.address === addr);
    if (!p) return undefined;
    const n = neighborOf(p);
    if (n.lastErrorReceived) n.lastErrorReceived = { ...n.lastErrorReceived, at: shift(n.lastErrorReceived.at) as string };
    return n;
  }

  *rib(q: RibQuery): Iterable<RibRowView> {
    this.lastRibQuery = q;
    if (q.neighbor && !PEERS.some((p) => p.address === q.neighbor)) throw unknownNeighbor(q.neighbor);
    if (this.ribRows > 0) {
      try {
        for (let i = 0; i < this.ribRows; i++) {
          this.generated++;
          const prefix = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`;
          yield { ...BEST, prefix };
        }
      } finally {
        this.ribClosed = true;
      }
      return;
    }
    for (const r of RIB) {
      if (q.family && r.family !== q.family) continue;
      if (q.neighbor && r.peer !== q.neighbor) continue;
      if (q.prefix && r.prefix !== q.prefix) continue;
      if (!q.detail && q.view === 'loc' && !r.flags.best) continue;
      yield q.detail ? r : { ...r, reason: undefined };
    }
  }

  async fib(prefix?: string): Promise<FibRowView[]> {
    const rows: FibRowView[] = [
      { prefix: '10.244.1.0/26', tern: [{ via: '127.0.0.2', dev: 'eth0' }], kernel: [{ via: '127.0.0.2', dev: 'eth0' }], status: 'ok' },
      { prefix: '198.18.100.0/24', tern: [{ via: '127.0.0.3', dev: 'eth0' }], kernel: null, status: 'missing' },
      { prefix: '198.18.101.0/24', tern: [{ via: '127.0.0.3', dev: 'eth0' }], kernel: [{ via: '127.0.0.2', dev: 'eth0' }], status: 'different' },
      {
        prefix: '198.18.102.0/24',
        tern: null,
        kernel: [
          { via: '127.0.0.9', dev: 'eth1', weight: 1 },
          { via: '127.0.0.8', dev: 'eth1', weight: 2 },
        ],
        status: 'extra',
      },
    ];
    return prefix ? rows.filter((r) => r.prefix === prefix) : rows;
  }

  config(): ConfigView {
    return {
      nodeName: 'node-a',
      asn: 64512,
      routerId: '127.0.0.1',
      listen: ['127.0.0.1:179'],
      peers: [
        { key: '127.0.0.2', kind: 'mesh', why: 'node-to-node mesh (BGPConfiguration default)' },
        { key: '127.0.0.3', kind: 'global', why: 'BGPPeer tor-1 (global)' },
      ],
      advertised: [{ prefix: '10.244.1.0/26', communities: ['64512:100'], largeCommunities: ['64512:1:2'] }, { prefix: '2001:db8:244::/64' }],
      source: '/etc/tern/cluster.yaml',
      fib: { driver: this.fibDriver, coupled: this.fibDriver === 'kernel' && this.coupled },
      logLevel: this.logLevel,
    };
  }

  async neighborAction(addr: string, action: NeighborAction, opts: NeighborActionOptions): Promise<void> {
    if (!PEERS.some((p) => p.address === addr)) throw unknownNeighbor(addr);
    if (action === 'refresh' && PEERS.find((p) => p.address === addr)?.state !== 'Established')
      throw new ControlError('bad-argument', `neighbor ${addr} is not Established`);
    this.actions.push({ addr, action, opts });
  }

  async reload(): Promise<ReloadResult> {
    return this.reloadResult;
  }

  async fibCouple(coupled: boolean): Promise<void> {
    if (this.fibDriver === 'none') throw new ControlError('not-supported', 'ternd runs with --fib none');
    this.coupled = coupled;
  }

  async fibFlush(): Promise<number> {
    if (this.coupled) throw new ControlError('bad-argument', 'the FIB is coupled: run bgpctl fib decouple first');
    this.flushed++;
    return 3;
  }

  status(): StatusView {
    return {
      version: '0.1.0',
      commit: '0123456789abcdef0123456789abcdef01234567',
      dirty: false,
      nodeVersion: 'v20.0.0',
      pid: 4242,
      startedAt: new Date(Date.now() - 93784_000).toISOString(),
      uptimeSeconds: 93784,
      nodeName: 'node-a',
      asn: 64512,
      routerId: '127.0.0.1',
      memory: { rssBytes: 120 * 1048576, heapUsedBytes: 40 * 1048576, externalBytes: 3 * 1048576 },
      sessions: { configured: 4, established: 2, adminDown: 1 },
      rib: [
        { family: 'ipv4', prefixes: 3, paths: 4 },
        { family: 'ipv6', prefixes: 1, paths: 1 },
      ],
      fib: { driver: this.fibDriver, coupled: this.fibDriver === 'kernel' && this.coupled, routes: 4 },
      datastore: {
        kind: 'file',
        source: '/etc/tern/cluster.yaml',
        state: 'synced',
        since: new Date(Date.now() - 3600_000).toISOString(),
        lastSync: new Date(Date.now() - 3600_000).toISOString(),
      },
      logLevel: this.logLevel,
    };
  }

  ribSummary(): RibSummaryView {
    return {
      families: [
        { family: 'ipv4', prefixes: 3, paths: 4 },
        { family: 'ipv6', prefixes: 1, paths: 1 },
      ],
      peers: [
        { address: '127.0.0.2', state: 'Established', family: 'ipv4', received: 3, accepted: 3, sent: 2, stale: 0 },
        { address: '127.0.0.3', state: 'Established', family: 'ipv4', received: 120, accepted: 118, sent: 4, stale: 1 },
        { address: '2001:db8::9', state: 'Active', family: 'ipv6', received: 0, accepted: 0, sent: 0, stale: 0 },
      ],
    };
  }

  setLogLevel(level: string): void {
    this.logLevel = level;
  }

  health(): HealthView {
    return this.healthView;
  }

  async bfd(): Promise<BfdSessionView[]> {
    return [BFD_ROW];
  }

  metrics(): MetricsSnapshot {
    return {
      rib: [
        { table: 'loc', family: 'ipv4', routes: 2 },
        { table: 'in', family: 'ipv4', routes: 3 },
      ],
      fibRoutes: 1,
      fibCoupled: this.coupled,
    };
  }
}

/** One BFD session as the worker reports it: Up at 100 ms x 3, one earlier detection-time failure. */
export const BFD_ROW: BfdSessionView = {
  peerAddress: '127.0.0.2',
  localAddress: '127.0.0.1',
  multihop: false,
  authentication: 'none',
  state: 'Up',
  remoteState: 'Up',
  localDiag: 'No Diagnostic',
  localDiscriminator: 11,
  remoteDiscriminator: 22,
  sourcePort: 49200,
  configured: { minTxMs: 100, minRxMs: 100, multiplier: 3 },
  txIntervalMs: 100,
  detectionTimeMs: 300,
  remoteMultiplier: 3,
  remoteMinRxMs: 100,
  remoteMinTxMs: 100,
  pollActive: false,
  upSince: '2026-01-02T11:59:00.000Z',
  lastDown: { at: '2026-01-02T11:58:00.000Z', diag: 'Control Detection Time Expired' },
  packets: { rx: 600, tx: 610, discarded: 0, ttlDropped: 2 },
  upTransitions: 2,
  txLate: { maxMs: 1.5, over5ms: 0, over20ms: 0, over50ms: 0, samples: 600 },
};

/** A logger that keeps nothing (tests). */
export const quietLog = { info() {}, warn() {}, error() {}, debug() {} };
