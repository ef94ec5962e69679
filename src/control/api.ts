// The seam between ternd's internals and its control surface (control socket, bgpctl, probes).
// Everything here is plain serialisable data: the view objects are exactly what `bgpctl -j`
// prints, so their field names are a public, documented interface (docs/bgpctl.md). Add fields;
// never rename or remove one. Times are ISO 8601 strings in UTC; counts are plain numbers.
// One file on purpose (~430 lines, nearly all type declarations): it is the whole public JSON
// interface of bgpctl -j, and keeping it in one place is what keeps it reviewable as one.
import type { BfdSessionView } from '../../bgp/bfd/types.js';

/** `bgpctl show bfd -j` rows (defined beside the BFD worker that fills them). */
export type { BfdSessionView };

/** How the peer came to be planned (peers/ planning), shown beside each session. */
export type PeerKind = 'mesh' | 'global' | 'node' | 'selector' | 'rr-client' | 'reflector';

/** RFC 4271 §8.2.2 session states, spelled as the RFC spells them. */
export type SessionState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export const SESSION_STATES: readonly SessionState[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

export type FamilyName = 'ipv4' | 'ipv6';

/** One row of `bgpctl show peers`. */
export interface PeerView {
  /** Remote address of the session (IPv4 or IPv6 text); the key of `show neighbor`. */
  address: string;
  /** Remote TCP port (179 unless configured otherwise). */
  port: number;
  /** Remote AS (configured, 4-octet). */
  asn: number;
  /** Our AS on this session (may differ from the node's AS with a local-as override). */
  localAsn: number;
  kind: PeerKind;
  /** Free text from the model (BGPPeer name, node name); '' when none. */
  description: string;
  state: SessionState;
  /** When the session entered `state` (ISO); null when it never left Idle. */
  since: string | null;
  /** Total BGP messages received and sent on this session (all types). */
  msgRcvd: number;
  msgSent: number;
  /** UPDATE messages queued to be sent (Adj-RIB-Out work not yet on the wire). */
  outQ: number;
  /** Prefixes in Adj-RIB-In, accepted by import policy, and advertised (all families). */
  prefixesReceived: number;
  prefixesAccepted: number;
  prefixesSent: number;
  /** True after `bgpctl neighbor X down` until `up`. */
  adminDown: boolean;
  /** Why Tern keeps the session down whatever the operator does, e.g. its password secret cannot be read (RFC 2385: never up without it). */
  heldDown?: string;
}

/** A capability as advertised in OPEN (RFC 5492). `name` is a stable token, `value` free text. */
export interface CapabilityView {
  /** IANA capability code. */
  code: number;
  /** 'mp-bgp', '4-octet-as', 'route-refresh', 'enhanced-route-refresh', 'graceful-restart',
   *  'add-path', 'extended-message', 'llgr', 'fqdn', or 'unknown'. */
  name: string;
  /** Detail, e.g. 'ipv4-unicast', 'restart-time=120 ipv4-unicast(F)', 'ipv6-unicast send/receive'. */
  value?: string;
}

/** A NOTIFICATION we sent or received (RFC 4271 §4.5). */
export interface ErrorView {
  code: number;
  subcode: number;
  /** Readable name, e.g. 'Cease/Administrative Shutdown', 'Hold Timer Expired'. */
  name: string;
  /** RFC 9003 shutdown communication, when one came with a Cease. */
  shutdownMessage?: string;
  /** When it was sent or received (ISO). */
  at: string;
}

/** Messages per type, one direction (RFC 4271 §4.1, RFC 2918). */
export interface MessageCounters {
  open: number;
  update: number;
  notification: number;
  keepalive: number;
  routeRefresh: number;
  total: number;
}

/** Prefix counts for one address family of one session. */
export interface FamilyPrefixes {
  family: FamilyName;
  received: number;
  accepted: number;
  sent: number;
  /** Routes kept as stale during the peer's graceful restart (RFC 4724 §4.2). */
  stale: number;
}

/** Graceful restart (RFC 4724) as seen on this session. */
export interface GracefulRestartView {
  /** Negotiated: both sides sent the capability. */
  negotiated: boolean;
  /** Restart time we advertise / the peer advertised (seconds); null if not advertised. */
  localRestartTime: number | null;
  remoteRestartTime: number | null;
  /** Families for which the peer said it preserved forwarding state (F bit). */
  remoteForwardingFamilies: FamilyName[];
  /** True while we hold the peer's routes as stale (restart timer or stale timer running). */
  peerRestarting: boolean;
  staleRoutes: number;
  /** Seconds left on the restart timer / stale-path timer; null when not running. */
  restartTimerRemaining: number | null;
  staleTimerRemaining: number | null;
}

/** `bgpctl show neighbor <addr>`: everything about one session. */
export interface NeighborView extends PeerView {
  /** Local end of the TCP connection; '' and 0 while not connected. */
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** BGP Identifiers (RFC 4271 §4.2); remote is '' before OPEN was received. */
  localRouterId: string;
  remoteRouterId: string;
  /** Hold time and keepalive interval in seconds: configured, and negotiated once Established. */
  holdTimeConfigured: number;
  holdTimeNegotiated: number | null;
  keepaliveConfigured: number;
  keepaliveNegotiated: number | null;
  capabilities: { ours: CapabilityView[]; theirs: CapabilityView[]; negotiated: CapabilityView[] };
  gracefulRestart: GracefulRestartView;
  messages: { received: MessageCounters; sent: MessageCounters };
  prefixes: FamilyPrefixes[];
  /** How many times the session reached Established. */
  establishedTransitions: number;
  lastErrorSent: ErrorView | null;
  lastErrorReceived: ErrorView | null;
  /** Why the last session went down, in words (e.g. 'hold timer expired', 'admin down'); '' if never. */
  lastResetReason: string;
  /**
   * The last failed outbound connection attempt since the session was last Established, e.g.
   * 'no answer (connection attempt timed out), 4 in a row, last 2026-12-07T16:40:00.000Z'; '' if none.
   */
  lastConnectError: string;
  /** What the symptoms most likely mean and what to check (TCP MD5 mismatch, RFC 8212 empty eBGP table); [] if nothing. */
  hints: string[];
  /** Route reflection role for this session (RFC 4456): we reflect to it if 'client'. */
  routeReflector: 'client' | 'reflector' | 'none';
  /** RFC 2385 TCP MD5 in use. */
  md5: boolean;
  /**
   * RFC 7606 actions taken on this peer's UPDATEs since ternd started, per attribute and
   * action (treat-as-withdraw, attribute-discard); the log shows only a rate-limited sample.
   */
  updateErrors: { attrType: number; attribute: string; action: string; count: number }[];
  /** Routes left out for this peer (counts since the peer was configured). */
  routesLeftOut: {
    /** Not advertised: the UPDATE would exceed the peer's maximum message size (RFC 8654 §4). */
    tooLargeNotSent: number;
    /** Received with a next hop that cannot be one, ignored (RFC 4271 §6.3). */
    badNextHopIgnored: number;
    /** Messages refused at the write point for exceeding the maximum (a bug if ever non-zero). */
    oversizeMessagesRefused: number;
  };
  /** Max-prefix limits (Tern extension spec.maxPrefixes) and the routes received per family now. */
  maxPrefixes: { family: FamilyName; limit: number; warningPercent: number; restartInterval: number | null; received: number }[];
  /** Set while the session is held down for exceeding a limit (RFC 4486 §4 Cease 6/1 sent). */
  maxPrefixExceeded: { family: FamilyName; limit: number; received: number; at: string; restartInSeconds: number | null } | null;
}

/** `show rib`: which table (Loc-RIB, Adj-RIB-In, Adj-RIB-Out; RFC 4271 §3.2). */
export type RibTable = 'loc' | 'in' | 'out';

/** OpenBGPD's AS filters of `show rib`: `as` (anywhere in AS_PATH), `source-as` (the
 * originating, rightmost AS; our own AS for a path with an empty AS_PATH), `transit-as` (anywhere
 * but the rightmost), `peer-as` (the leftmost, the neighbor's), `empty-as` (AS_PATH empty). */
export type AsFilter = { kind: 'as' | 'source-as' | 'transit-as' | 'peer-as'; asn: number } | { kind: 'empty-as' };

export interface RibQuery {
  /** 'a.b.c.d/len' or 'x::/len' for that exact prefix, or a bare address for the longest match. */
  prefix?: string;
  /** With a prefix: 'longer' = it and every more specific prefix (OpenBGPD or-longer, BIRD `in`);
   * 'shorter' = it and every less specific prefix covering it (OpenBGPD or-shorter). */
  match?: 'exact' | 'longer' | 'shorter';
  /** RFC 1997 community 'asn:value' or a well-known name ('no-export'): paths carrying it. */
  community?: string;
  /** RFC 8092 large community 'global:local1:local2': paths carrying it. */
  largeCommunity?: string;
  asFilter?: AsFilter;
  view: RibTable;
  /** Restrict to paths from (view 'in'/'loc') or to (view 'out') this neighbor address. */
  neighbor?: string;
  family?: FamilyName;
  /** Every path with all attributes and the losing reason, not only the summary columns. */
  detail?: boolean;
}

/** Why a path is not the best (RFC 4271 §9.1.2.2 steps as Tern numbers them). */
export interface LossReasonView {
  /** Decision step that decided against this path, as numbered in bgp/ decision code. */
  step: number;
  /** Words, e.g. 'lower LOCAL_PREF (100 < 200)', 'longer AS_PATH', 'higher router ID'. */
  text: string;
}

/** One path in a RIB. */
export interface RibRowView {
  prefix: string;
  family: FamilyName;
  /** RFC 7911 path identifier, when add-path is in use on the session. */
  pathId?: number;
  flags: { valid: boolean; best: boolean; multipath: boolean; ibgp: boolean; stale: boolean; filtered: boolean };
  nextHop: string;
  localPref?: number;
  med?: number;
  /** AS_PATH as text: '65001 65002 {65003,65004}', '' for a locally originated path. */
  asPath: string;
  /** ORIGIN (RFC 4271 §5.1.1): i = IGP, e = EGP, ? = INCOMPLETE. */
  origin: 'i' | 'e' | '?';
  /** Address of the peer the path came from (or goes to, for view 'out'); 'local' if originated. */
  peer: string;
  /** RFC 1997 communities as 'asn:value' (well-known ones by name, e.g. 'no-export'). */
  communities?: string[];
  /** RFC 8092 large communities as 'global:local1:local2'. */
  largeCommunities?: string[];
  /** RFC 4456 ORIGINATOR_ID and CLUSTER_LIST. */
  originatorId?: string;
  clusterList?: string[];
  /** When the path was last received or changed (ISO); detail view. */
  lastUpdate?: string;
  /** Why this path lost; present in detail view for non-best paths. */
  reason?: LossReasonView;
}

/** One next hop of a kernel route. */
export interface NextHopView {
  /** Gateway address; '' for a directly connected route; 'blackhole' for a blackhole route. */
  via: string;
  /** Output interface name when known. */
  dev?: string;
  /** ECMP weight (RTA_MULTIPATH hops), 1 when single path. */
  weight?: number;
}

/** `show fib`: Tern's intended FIB beside what the kernel has. */
export interface FibRowView {
  prefix: string;
  /** What Tern wants installed; null when Tern has nothing for this prefix. */
  tern: NextHopView[] | null;
  /** What the kernel table holds (Tern's protocol only); null when absent. */
  kernel: NextHopView[] | null;
  /** ok: equal; missing: Tern wants it, kernel lacks it; different: next hops differ;
   *  extra: in the kernel under Tern's protocol but not wanted by Tern. */
  status: 'ok' | 'missing' | 'different' | 'extra';
  /** The route's own kernel metric when it has one (a Calico route priority, BGPFilter
   *  setPriority), and the kernel route's metric then; a difference is `different`. */
  metric?: number;
  kernelMetric?: number;
}

/** `show config`: the effective model for this node. */
export interface ConfigView {
  nodeName: string;
  asn: number;
  routerId: string;
  /** Listen endpoints as 'address:port' ('[v6]:port' for IPv6). */
  listen: string[];
  /** Planned peers: key (address, or address:port), kind, and why it was planned, in words. */
  peers: Array<{ key: string; kind: PeerKind; why: string }>;
  /** Prefixes this node originates (IPAM blocks, IPPools, service CIDRs). */
  advertised: Array<{ prefix: string; communities?: string[]; largeCommunities?: string[] }>;
  /** RFC 4456 cluster ID when this node is a route reflector. */
  clusterId?: string;
  /** Where the model came from (file path or 'kubernetes'). */
  source?: string;
  /** FIB driver and whether kernel writes are on (`bgpctl fib couple|decouple`). */
  fib?: { driver: string; coupled: boolean };
  logLevel?: string;
}

/** Liveness and readiness with reasons (Kubernetes probes, `bgpctl health`). */
export interface HealthView {
  /** The event loop answers and nothing fatal happened. */
  live: boolean;
  /** Config loaded, listening, and every planned session Established or within its grace period. */
  ready: boolean;
  /** Why not live / not ready, one short line each; empty when both are true. */
  reasons: string[];
  configLoaded: boolean;
  listening: boolean;
  sessions: { planned: number; established: number; withinGrace: number };
  /** Where the model comes from and whether it is current. Stale does not make ternd unready:
   * the last good model stays in force, so the node keeps routing (docs/operations.md). */
  datastore?: DatastoreView;
}

export interface DatastoreView {
  kind: 'file' | 'kubernetes' | 'etcd';
  source: string;
  /** syncing (no model yet), synced, stale (source unreachable: last good model in force), error (content refused). */
  state: 'syncing' | 'synced' | 'stale' | 'error';
  /** ISO time the state began. */
  since: string;
  /** ISO time the model in force was produced. */
  lastSync?: string;
  detail?: string;
}

/** Gauges read at scrape time; per-peer numbers come from `peers()`. */
export interface MetricsSnapshot {
  /** Route counts per table and family. */
  rib: Array<{ table: RibTable; family: FamilyName; routes: number }>;
  /** Routes Tern has installed in the kernel. */
  fibRoutes: number;
  /** Decouple state (`bgpctl fib decouple`). */
  fibCoupled: boolean;
}

/** `bgpctl show status`: the daemon at a glance (BIRD's `show status`, OpenBGPD's
 * `show summary` header). */
export interface StatusView {
  /** package version, git commit of the build ('unknown' without a record), +dirty flag, node. */
  version: string;
  commit: string;
  dirty: boolean;
  nodeVersion: string;
  pid: number;
  /** When ternd started (ISO) and seconds since. */
  startedAt: string;
  uptimeSeconds: number;
  nodeName: string;
  asn: number;
  routerId: string;
  /** process.memoryUsage() in bytes: resident set, V8 heap in use, memory outside the heap. */
  memory: { rssBytes: number; heapUsedBytes: number; externalBytes: number };
  sessions: { configured: number; established: number; adminDown: number };
  /** Loc-RIB prefixes and Adj-RIB-In paths per family. */
  rib: Array<{ family: FamilyName; prefixes: number; paths: number }>;
  /** driver 'none' (--fib none): nothing is ever written to the kernel, `coupled` is false and
   * means nothing. `routes`: routes Tern wants in the kernel (its desired FIB). */
  fib: { driver: 'kernel' | 'none'; coupled: boolean; routes: number };
  datastore?: DatastoreView;
  logLevel: string;
}

/** `bgpctl show rib summary`: route counts per table and family, and per peer and family. */
export interface RibSummaryView {
  families: Array<{ family: FamilyName; prefixes: number; paths: number }>;
  peers: Array<{ address: string; state: SessionState; family: FamilyName; received: number; accepted: number; sent: number; stale: number }>;
}

/** Answer of `neighbor all <action>`: who was asked, who was skipped and why. */
export interface NeighborAllResult {
  done: string[];
  skipped: Array<{ address: string; reason: string }>;
}

export type NeighborAction = 'clear' | 'refresh' | 'down' | 'up';
export const NEIGHBOR_ACTIONS: readonly NeighborAction[] = ['clear', 'refresh', 'down', 'up'];

export interface NeighborActionOptions {
  /** RFC 9003 shutdown communication for clear/down (max 255 octets of UTF-8). */
  message?: string;
  /** clear: send Cease/Hard Reset (RFC 8538 §3) so the peer does not retain our routes as stale. */
  hard?: boolean;
}

export interface ReloadResult {
  ok: boolean;
  /** Why the new config was rejected (the old one stays in force). */
  errors?: string[];
  /** What the new config does that may not be meant (file:line: Kind/name: field: ...), both
   * when it was applied and when it was refused. */
  warnings?: string[];
  /** What changed, in words: 'peer 198.18.0.2 added', 'prefix 10.244.1.0/26 withdrawn'. */
  effects?: string[];
}

/**
 * What the control server needs from the daemon. ternd implements it; tests use a fake.
 * Domain failures are thrown as `ControlError` (e.g. code 'unknown-neighbor'); anything else
 * thrown becomes an 'internal' error on the wire.
 */
export interface DaemonApi {
  version: string;
  peers(): PeerView[];
  neighbor(addr: string): NeighborView | undefined;
  /** Streamed row by row to the client; may be lazy (a generator over the RIB). */
  rib(q: RibQuery): AsyncIterable<RibRowView> | Iterable<RibRowView>;
  fib(prefix?: string): Promise<FibRowView[]>;
  config(): ConfigView;
  neighborAction(addr: string, action: NeighborAction, opts: NeighborActionOptions): Promise<void>;
  reload(): Promise<ReloadResult>;
  fibCouple(coupled: boolean): Promise<void>;
  /** While decoupled, remove every Tern route from the kernel; resolves with how many. */
  fibFlush(): Promise<number>;
  status(): StatusView;
  ribSummary(): RibSummaryView;
  setLogLevel(level: string): void;
  health(): HealthView;
  metrics(): MetricsSnapshot;
  /** BFD sessions (RFC 5880), read from the BFD worker thread. */
  bfd(): Promise<BfdSessionView[]>;
}

/** Structured error codes on the wire and in bgpctl; stable like the field names. */
export type ControlErrorCode =
  | 'unsupported-version'
  | 'unknown-command'
  | 'bad-request'
  | 'bad-argument'
  | 'bad-prefix'
  | 'unknown-neighbor'
  | 'not-supported'
  | 'internal';

/** The one wording of "no such neighbor", wherever a neighbor key is looked up. */
export const unknownNeighbor = (key: string): ControlError => new ControlError('unknown-neighbor', `no such neighbor: ${key} (bgpctl show peers lists them)`);

/** A failure the client should see as `{code, message}`. */
export class ControlError extends Error {
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}
