// ternd's core wiring: the Calico model (peers/) decides whom to peer with and what to
// originate; the Speaker (bgp/) runs the sessions; the RIB (bgp/rib) decides; the FIB (fib/)
// installs. This file only connects them: every rule lives in the module that owns it.
import { EventEmitter } from 'node:events';
import { Rib } from '../../bgp/rib/rib';
import type { RibChange } from '../../bgp/rib/rib-types';
import { Speaker } from '../../bgp/speaker';
import type { Session } from '../../bgp/session';
import type { Negotiated } from '../../bgp/negotiate';
import type { DownReason } from '../../bgp/fsm-types';
import { isEndOfRib } from '../../bgp/codec';
import type { Family } from '../../bgp/types';
import type { Fib, FibChange } from '../../fib/types';
import {
  ConfigError,
  diffPlan,
  filtersByName,
  formatIssue,
  localSpeaker,
  localSubnets,
  originatedRoutes,
  planPeers,
  type ClusterModel,
  type LocalSpeaker,
  type OriginatedRoute,
  type PeerConfig,
  type SecretResolver,
} from '../../peers';
import { refusalOf, type Datastore, type DatastoreEvent, type ModelUpdate } from '../../peers/datastore';
import type { Logger } from '../log';
import type { Metrics } from '../control/metrics';
import { BfdCoupling } from './bfd';
import { cutList, summariseIssues } from './summary';
import { connectHint, CONNECT_HINT_INTERVAL_MS, CONNECT_HINTS_PER_INTERVAL, emptyEorHint } from './hints';
import { PeerProblems } from './peer-problems';
import { onRouteRefresh } from './route-refresh';
import { announcedFamilies, checkMaxPrefix, clearMaxPrefix, type MaxPrefixTrip } from './max-prefix';
import { grClear, grPeerDown, grReestablished, grSweep, type GracefulRestartState, type GrContext } from './graceful-restart';
import { exportablePools, fibChangeOf, groupFibFailures, policiesFor, ribPeerOf, sessionConfigOf, type FibContext, type WiringOptions } from './wiring';

export interface DaemonOptions {
  /** Where the cluster model comes from (file, Kubernetes, etcd): peers/datastore. */
  datastore: Datastore;
  nodeName: string;
  fib: Fib;
  fibDriver: 'kernel' | 'none';
  log: Logger;
  /** Tunnel device for IPIP pools (Calico's tunl0). */
  tunnelDevice?: string;
  /** ECMP width. */
  maxPaths?: number;
  /** Seconds to wait for End-of-RIB from every peer before the startup FIB reconciliation. */
  fibSyncTimeout?: number;
  /** RFC 9494: longest long-lived stale time Tern grants a peer that announced LLGR (0/absent: off). */
  llgrStaleTime?: number;
  /** Override of the listen addresses (default: the model's bindMode). */
  listen?: { address: string; port?: number }[];
  connectRetryTime?: number;
  /** Prometheus event metrics (src/control/metrics.ts); optional so tests can leave it out. */
  metrics?: Metrics;
  /** UPDATEs a peer may lag behind its update group before it is reset (default MAX_OUTPUT_BACKLOG). */
  maxOutputBacklog?: number;
  /** secretKeyRef passwords the datastore does not hold (--secrets-dir): peers/secrets.ts. */
  resolveSecret?: SecretResolver;
  /** Seconds between re-reads of secretKeyRef passwords (a rotated Secret); 0 = only on reload. */
  secretsRecheck?: number;
  /** What an eBGP peer with BGPFilters gets for a route no rule matched (docs/configuration.md). */
  ebgpFilterDefault?: 'calico' | 'rfc8212';
  /** --log-level was given: it wins over the model's logSeverityScreen. */
  logLevelFromFlag?: boolean;
  /** Window of the per-peer, per-reason warning rate limit in ms (log-limit.ts; default 60 s). */
  logWindowMs?: number;
  /** This node's addresses on every interface, from the kernel (fib/local-addresses.ts). */
  localAddresses?: LocalAddressSource;
}

/** Where the node's addresses come from; `subscribe` is called once, at start. */
export interface LocalAddressSource {
  readonly addresses: ReadonlySet<string>;
  subscribe(onChange: () => void): void;
  close(): void;
}

interface PeerEntry {
  cfg: PeerConfig;
  session: Session;
  /** RIB peer id (the canonical peer address, the Speaker's key). */
  id: string;
  /** Families whose End-of-RIB arrived since Established (RFC 4724 §2). */
  eor: Set<Family>;
  adminDown: boolean;
  /** When the session was planned or last left Established (ms): readiness grace counts from it. */
  downSince: number;
  /** What the last OPEN exchange agreed (kept after the session drops, for graceful restart). */
  negotiated?: Negotiated;
  /** RFC 4724 §4.2 receiving-speaker state while the peer restarts. */
  gr?: GracefulRestartState;
  /** What its RIB policies were built from (policyInputs); a change swaps them (softReconfigure). */
  policyInputs?: string;
  /** Set while the config removes or restarts the session (its down is logged by the plan). */
  closing?: boolean;
  /** When a connect problem of this peer was last logged (rate limit, hints.ts). */
  connectHintAt?: number;
  /** Families this eBGP peer ended with End-of-RIB and no prefix (hints.ts emptyEorHint). */
  emptyEor?: Set<Family>;
  /** Max-prefix state (max-prefix.ts): families warned about, and why the session is held down. */
  maxPrefixWarned?: Set<Family>;
  maxPrefixTrip?: MaxPrefixTrip;
}

/** What a reload did (bgpctl reload prints it): refused with errors, or applied with effects;
 * the new config's warnings either way. */
export interface ReloadOutcome {
  ok: boolean;
  errors?: string[];
  effects?: string[];
  warnings?: string[];
}

export interface DaemonEvents {
  reloaded: [effects: string[]];
  reloadFailed: [issues: string[]];
  fibSynced: [];
}

export class Daemon extends EventEmitter<DaemonEvents> {
  model!: ClusterModel;
  local!: LocalSpeaker;
  /** This node's addresses from the model (RFC 4271 §6.3 next-hop check); set with `model`. */
  private nodeAddresses = new Set<string>();
  /** What the RIB was last given as our own addresses: the model's and the kernel's. */
  private ownAddresses: ReadonlySet<string> = new Set();
  plan: PeerConfig[] = [];
  originated = new Map<string, OriginatedRoute>();
  rib!: Rib;
  speaker!: Speaker;
  readonly peers = new Map<string, PeerEntry>();
  /** What Tern wants in the kernel, by prefix: the source of truth for `show fib` and reconcile. */
  readonly desiredFib = new Map<string, FibChange>();
  fibSynced = false;
  /** The last EPERM the kernel gave a route write, until a batch is written without one (/readyz). */
  fibDenied?: string;
  /** RFC 4724 §4.1: set while ternd restarts with routes in the kernel, until converged. */
  selectionDeferred = false;
  readonly startedAt = new Date();
  listening = false;
  configLoaded = false;
  private flushScheduled = false;
  private connectHintBudget = { since: 0, used: 0, suppressed: 0 };
  private fibQueue: FibChange[] = [];
  private fibBusy = false;
  /** Settles when the startup reconcile is done: incremental writes wait for it, so a change
   * made after the reconcile's snapshot can never be undone by the reconcile landing later. */
  private fibReconciled: Promise<void> = Promise.resolve();
  /** Set by stop(): the kernel is no longer written (its routes outlive the process). */
  private stopping = false;
  private fibSyncTimer?: NodeJS.Timeout;
  private secretsTimer?: NodeJS.Timeout;
  private appliedLogSeverity?: string;
  /** The model being applied (applyModel): the next waits for it. */
  private applying: Promise<unknown> = Promise.resolve();
  /** policyInputs per filter list, for one model. */
  private policyInputsOf?: { model: ClusterModel; byFilters: Map<string, string> };
  /** A model the datastore produced while start() was still running: applied at its end. */
  private pendingUpdate?: ModelUpdate;
  private started = false;
  private fibCtx!: FibContext;
  private readonly wiring: WiringOptions;
  /** RFC 5882 coupling of BFD (in its worker thread) to the sessions: ./bfd.ts. */
  readonly bfd: BfdCoupling;
  readonly log: Logger;
  /** RFC 7606 counts, routes left out, rate-limited per-peer warnings. */
  readonly problems: PeerProblems;
  /** RFC 7313 §4.2 EoRR waits (route-refresh.ts). */
  private readonly eorrWaits = new Map<string, NodeJS.Timeout>();

  constructor(readonly opts: DaemonOptions) {
    super();
    this.log = opts.log;
    this.problems = new PeerProblems(this.log, opts.metrics, { windowMs: opts.logWindowMs });
    this.wiring = { forwardingPreserved: opts.fibDriver === 'kernel', restarting: false, connectRetryTime: opts.connectRetryTime };
    this.bfd = new BfdCoupling({ log: opts.log, peers: () => this.peers.values(), onFailure: () => opts.metrics?.bfdSessionDowns.inc() });
  }

  private setModel(model: ClusterModel): void {
    this.model = model;
    const n = model.nodes.find((x) => x.name === this.opts.nodeName);
    this.nodeAddresses = new Set([n?.ipv4Address, n?.ipv6Address].filter((a): a is string => !!a));
  }

  /** Loads the model (throws ConfigError: nothing runs on a bad config), then starts everything. */
  async start(): Promise<void> {
    const t0 = performance.now();
    const { model, warnings } = await this.opts.datastore.start((e) => this.onDatastore(e));
    this.log.info({ component: 'datastore', ms: Math.round(performance.now() - t0), nodes: model.nodes.length, peers: model.peers.length, ipamBlocks: model.ipamBlocks.length, blockAffinities: model.blockAffinities.length, warnings: warnings.length },
      `model loaded from ${this.opts.datastore.status().source}: ${model.nodes.length} nodes, ${model.peers.length} BGPPeers, ${model.ipamBlocks.length} IPAM blocks, ${warnings.length} warnings (${Math.round(performance.now() - t0)} ms)`);
    for (const w of summariseIssues(warnings)) this.log.warn({ component: 'config' }, w);
    this.setModel(model);
    this.local = localSpeaker(model, this.opts.nodeName);
    this.configLoaded = true;
    this.applyLogSeverity();

    // RFC 4724 §4.1: routes of ours still in the kernel mean we restarted with forwarding state
    // preserved; say so (R bit) and hold the kernel as it is until the RIB has converged.
    const inKernel = await this.opts.fib.dump().catch(() => []);
    this.wiring.restarting = inKernel.length > 0;
    this.selectionDeferred = this.wiring.restarting;

    this.rib = new Rib({
      localAs: this.local.asNumber,
      routerId: this.local.routerId,
      clusterId: this.local.routeReflectorClusterID,
      maxPaths: this.opts.maxPaths ?? 8,
      // --fib none (RIB only: tests, reflectors that do not forward) builds no change records
      // at all: a full table costs a third less time and memory without them.
      collectChanges: this.opts.fibDriver !== 'none',
      // RFC 4271 §6.3: a received route with one of the node's own addresses (on any
      // interface, as the kernel lists them) as next hop is ignored.
      ownAddresses: (this.ownAddresses = this.collectOwnAddresses()),
    });
    this.opts.localAddresses?.subscribe(() => this.updateOwnAddresses('kernel'));
    this.fibCtx = this.makeFibCtx();
    this.speaker = new Speaker({
      listen: this.opts.listen ?? (this.local.listenAddresses.length ? this.local.listenAddresses.map((address) => ({ address })) : undefined),
      port: this.local.listenPort,
      logger: this.childLog('session'),
    });
    this.wireSpeaker();
    await this.speaker.start();
    this.listening = true;

    this.log.info(
      { component: 'daemon', node: this.local.nodeName, as: this.local.asNumber, routerId: this.local.routerId, clusterId: this.local.routeReflectorClusterID, datastore: this.opts.datastore.kind, source: this.opts.datastore.status().source, fib: this.opts.fibDriver },
      `ternd started for node ${this.local.nodeName}`,
    );
    this.applyOrigination(originatedRoutes(model, this.opts.nodeName));
    this.applyPlan(this.planFor(model));
    this.scheduleFlush();
    if (this.opts.secretsRecheck) {
      this.secretsTimer = setInterval(() => this.recheckSecrets(), this.opts.secretsRecheck * 1000);
      this.secretsTimer.unref();
    }

    if (inKernel.length === 0) void this.syncFib('no routes of ours in the kernel at start');
    else {
      this.log.info({ component: 'fib', routes: inKernel.length }, 'kernel holds routes from a previous run: keeping them until every peer sent End-of-RIB');
      this.fibSyncTimer = setTimeout(() => void this.syncFib('End-of-RIB wait timed out'), (this.opts.fibSyncTimeout ?? 60) * 1000);
    }
    this.started = true;
    if (this.pendingUpdate) void this.applyModel(this.pendingUpdate);
    this.pendingUpdate = undefined;
  }

  async stop(reason = 'ternd shutting down'): Promise<void> {
    // RFC 4724 §4.1 forwarding state is kept across the restart: closing the sessions below
    // withdraws every learned route from the RIB, and none of that may reach the kernel (a
    // rolling restart deleted the other nodes' routes on the stopping node; bench/rolling-restart.ts).
    this.stopping = true;
    this.fibQueue.length = 0;
    await this.opts.datastore.close();
    if (this.fibSyncTimer) clearTimeout(this.fibSyncTimer);
    if (this.secretsTimer) clearInterval(this.secretsTimer);
    for (const e of this.peers.values()) grClear(e);
    // Restarting speaker (RFC 4724 §4.1): the kernel routes stay. A peer that negotiated GR
    // keeps our routes only if the session ends without a NOTIFICATION, or with one covered by
    // the N bit on both sides (RFC 8538): so close those sessions silently when the peer has no
    // N bit, and say why (RFC 9003 Cease text) to everyone else.
    const notification = { code: 6, subcode: 2, shutdownMessage: reason, why: reason };
    for (const e of this.peers.values()) {
      const n = e.session.state === 'Established' ? e.negotiated : undefined;
      if (n?.gracefulRestart && !n.gracefulRestart.notification) e.session.destroy();
      else e.session.stop(notification);
    }
    // Give the NOTIFICATIONs a moment to reach the wire before the sockets close.
    await new Promise((r) => setTimeout(r, 100));
    await this.speaker?.close(notification);
    await this.bfd.close();
    await this.opts.fib.close();
    this.opts.localAddresses?.close();
    this.problems.close();
    for (const t of this.eorrWaits.values()) clearTimeout(t);
  }

  /** Whether the peer's Adj-RIB-In holds any path of `family` (stops at the first). */
  hasPathsFrom(peerId: string, family: Family): boolean {
    return this.rib.hasPaths(peerId, family);
  }

  childLog(component: string): Logger {
    return this.log.child({ component });
  }

  /** What the graceful-restart helper (./graceful-restart.ts) may touch. */
  private get grCtx(): GrContext {
    return { rib: this.rib, log: this.log, scheduleFlush: () => this.scheduleFlush(), llgrStaleTime: this.opts.llgrStaleTime ?? 0 };
  }

  private makeFibCtx(): FibContext {
    return {
      model: this.model,
      localSubnets: localSubnets(this.model, this.opts.nodeName),
      originated: this.originated,
      tunnelDevice: this.opts.tunnelDevice ?? 'tunl0',
    };
  }

  // ------------------------------------------------------------------ sessions

  private wireSpeaker(): void {
    const sp = this.speaker;
    const entryOf = (s: Session) => this.peers.get(s.key);
    sp.on('stateChange', (s, c) => {
      const e = entryOf(s);
      const fields = { component: 'session', peer: s.key, from: c.from, to: c.to, reason: c.reason ? describeReason(c.reason) : undefined };
      this.opts.metrics?.sessionTransitions.inc({ peer: s.key, state: c.to });
      if (e && c.from === 'Established') e.downSince = Date.now();
      // Reaching and leaving Established each get one line of their own ('established', 'down').
      this.log.debug(fields, `${s.key} ${c.from} -> ${c.to}`);
    });
    sp.on('established', (s, info) => {
      const e = entryOf(s);
      if (!e) return;
      e.eor.clear();
      e.emptyEor = undefined;
      e.connectHintAt = undefined;
      const n = info.negotiated;
      e.negotiated = n;
      if (e.gr) grReestablished(this.grCtx, e, n);
      // The socket's local address too: the session may leave by an address that is not the node's.
      const sessionLocalAddress = s.socket?.localAddress?.replace(/^::ffff:/, '');
      this.rib.peerUp(e.id, info.context, { routerId: n.peerBgpId, families: n.families, enhancedRouteRefresh: n.enhancedRouteRefresh, sessionLocalAddress }, Date.now());
      this.log.info(
        { component: 'session', peer: s.key, peerAs: n.peerAs, routerId: n.peerBgpId, hold: n.holdTime, families: n.families, as4: n.as4, gr: !!n.gracefulRestart, addPath: n.addPath },
        `session with ${s.key} (${e.cfg.description}) established`,
      );
      this.scheduleFlush();
      this.pump(e);
      this.checkConverged();
    });
    sp.on('down', (s, reason) => {
      const e = entryOf(s);
      if (!e) return;
      // A session the config removed or restarts is told by the plan's own line.
      const lvl = e.closing ? 'debug' : 'warn';
      this.log[lvl]({ component: 'session', peer: s.key, reason: describeReason(reason) }, `session with ${s.key} down: ${describeReason(reason)}`);
      // RFC 7606 session reset: our NOTIFICATION for a malformed UPDATE (3/x), counted with the rest.
      const n = reason.notification;
      if (reason.origin === 'local' && n?.code === 3) this.problems.sessionReset(s.key, n.subcode, n.data);
      e.eor.clear();
      // Closed for max-prefix (RFC 4486 §4): the routes go now, never kept as stale.
      if (e.maxPrefixTrip) {
        grClear(e);
        this.rib.peerDown(e.id);
      } else if (!grPeerDown(this.grCtx, e, reason)) this.rib.peerDown(e.id);
      this.scheduleFlush();
    });
    sp.on('update', (s, u) => {
      const e = entryOf(s);
      if (!e) return;
      const eor = isEndOfRib(u);
      if (eor) {
        e.eor.add(eor);
        this.log.debug({ component: 'session', peer: s.key, family: eor }, 'End-of-RIB received');
        if (e.cfg.peerAs !== (e.cfg.localAs ?? this.local.asNumber) && !this.hasPathsFrom(e.id, eor)) {
          (e.emptyEor ??= new Set()).add(eor);
          this.log.info({ component: 'session', peer: s.key, family: eor }, emptyEorHint(s.key, eor));
        }
        // RFC 4724 §4.2: End-of-RIB ends the wait: what is still stale was not re-announced.
        if (e.gr?.families.has(eor)) grSweep(this.grCtx, e, eor, 'End-of-RIB received');
        this.checkConverged();
        return;
      }
      // Counted per attribute and action, logged rate limited (a peer can send thousands).
      if (u.errors?.length) this.problems.updateErrors(s.key, u.errors);
      this.rib.ingest(e.id, u);
      if (e.cfg.maxPrefixes) checkMaxPrefix(e, announcedFamilies(u), (f) => this.rib.receivedCount(e.id, f), this.log, () => this.bfd.mayStart(e.cfg));
      this.scheduleFlush();
    });
    sp.on('routeRefresh', (s, m) => {
      const e = entryOf(s);
      if (!e) return;
      const ctx = { rib: this.rib, log: this.log, problems: this.problems, pump: () => this.pump(e), scheduleFlush: () => this.scheduleFlush(), eorrWaits: this.eorrWaits };
      onRouteRefresh(ctx, e.id, !!e.negotiated?.enhancedRouteRefresh, m);
    });
    sp.on('connectFailed', (s, f) => {
      const e = entryOf(s);
      if (!e) return;
      const now = Date.now();
      if (e.connectHintAt !== undefined && now - e.connectHintAt < CONNECT_HINT_INTERVAL_MS) return;
      e.connectHintAt = now;
      // Across peers too: 10k unreachable peers must not write 10k lines (issue 17).
      const b = this.connectHintBudget;
      if (now - b.since >= CONNECT_HINT_INTERVAL_MS) {
        if (b.suppressed) this.log.warn({ component: 'session', peers: b.suppressed }, `${b.suppressed} more peers failed to connect in the last ${CONNECT_HINT_INTERVAL_MS / 60_000} min (not logged one by one; bgpctl show peers)`);
        this.connectHintBudget = { since: now, used: 0, suppressed: 0 };
      }
      if (this.connectHintBudget.used++ >= CONNECT_HINTS_PER_INTERVAL) {
        if (this.connectHintBudget.suppressed++ === 0) this.log.warn({ component: 'session' }, `more peers fail to connect: counted, not logged one by one, for the next ${CONNECT_HINT_INTERVAL_MS / 60_000} min (bgpctl show peers)`);
        return;
      }
      this.log.warn({ component: 'session', peer: s.key, error: f.error, attempts: f.count, md5: !!s.cfg.password }, connectHint(s.key, f, !!s.cfg.password));
    });
    sp.on('drain', (s) => {
      const e = entryOf(s);
      if (e) this.pump(e);
    });
    sp.on('refused', (info) => void info);
  }

  /** Moves queued UPDATEs from the RIB to the session while the session's queue has room. */
  pump(e: PeerEntry): void {
    // RFC 4724 §4.1 selection deferral: a restarting speaker advertises after its routes are
    // complete again. A route reflector that sent its partial table and End-of-RIB at once
    // would make every GR helper sweep the routes it had not re-learned yet.
    if (this.selectionDeferred) return;
    if (e.session.state !== 'Established') return;
    for (;;) {
      const bufs = this.rib.takeOutput(e.id, 256 * 1024);
      if (bufs.length === 0) return;
      if (!e.session.sendUpdates(bufs)) break; // resumes on 'drain'
    }
    // The session's own queue is full; what it has not taken stays in the RIB's shared log. A
    // peer that reads slower than the others converge must not hold that memory without bound:
    // past the bound it is reset (Cease 6/8 Out of Resources, RFC 4486) and resynchronised.
    // One that stops reading entirely is dropped by the RFC 9687 send hold timer.
    const behind = this.rib.outputBacklog(e.id);
    if (behind > (this.opts.maxOutputBacklog ?? MAX_OUTPUT_BACKLOG)) {
      const text = `${e.id} is ${behind} UPDATEs behind (bound ${this.opts.maxOutputBacklog ?? MAX_OUTPUT_BACKLOG}): resetting the session`;
      this.log.warn({ component: 'session', peer: e.id, backlog: behind }, text);
      e.session.stop({ code: 6, subcode: 8, shutdownMessage: 'Tern: peer too slow to read its updates', why: text });
      e.session.start();
    }
  }

  // ------------------------------------------------------------------ own addresses

  private collectOwnAddresses(): ReadonlySet<string> {
    return new Set([...this.nodeAddresses, ...(this.opts.localAddresses?.addresses ?? [])]);
  }

  /**
   * An address was added or removed (on an interface, or the Node's in the model): the RIB
   * re-checks the paths whose next hop it is (RFC 4271 §6.3), and the flush that follows logs
   * and counts the ones now ignored.
   */
  private updateOwnAddresses(source: 'kernel' | 'model'): void {
    const next = this.collectOwnAddresses();
    const added = [...next].filter((a) => !this.ownAddresses.has(a));
    const removed = [...this.ownAddresses].filter((a) => !next.has(a));
    this.ownAddresses = next;
    if (!added.length && !removed.length) return;
    this.rib.setOwnAddresses(next);
    this.log.info({ component: 'rib', source, added: added.slice(0, 20), removed: removed.slice(0, 20) },
      `this node's addresses changed (${source}): ${added.length} added, ${removed.length} removed; routes with them as next hop re-checked (RFC 4271 §6.3)`);
    this.scheduleFlush();
  }

  // ------------------------------------------------------------------ decision + FIB

  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    // Bounded batches keep the event loop (and so keepalives) moving under a full table.
    const queued = this.rib.queued;
    const started = process.hrtime.bigint();
    const changes = this.rib.flush(Date.now(), 50_000);
    const notices = this.rib.takeNotices();
    if (notices.length) this.problems.ribNotices(notices);
    if (queued > 0 && this.opts.metrics) {
      this.opts.metrics.decisionLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      this.opts.metrics.decisionPrefixes.inc(Math.min(queued, 50_000));
    }
    if (changes.length) this.onChanges(changes);
    for (const e of this.peers.values()) this.pump(e);
    if (this.rib.queued > 0) this.scheduleFlush();
    else {
      const at = this.rib.nextFlushAt();
      if (Number.isFinite(at) && at > 0) setTimeout(() => this.scheduleFlush(), Math.max(0, at - Date.now())).unref();
    }
  }

  private onChanges(changes: RibChange[]): void {
    const out: FibChange[] = [];
    for (const ch of changes) {
      const fc = fibChangeOf(ch, this.fibCtx);
      if (fc.kind === 'unicast' && fc.nexthops.length === 0) {
        if (!this.desiredFib.delete(fc.prefix)) continue;
      } else this.desiredFib.set(fc.prefix, fc);
      out.push(fc);
    }
    if (this.fibSynced && !this.stopping && out.length) this.queueFib(out);
  }

  private queueFib(changes: FibChange[]): void {
    for (const c of changes) this.fibQueue.push(c);
    if (this.fibBusy) return;
    this.fibBusy = true;
    void (async () => {
      await this.fibReconciled;
      while (this.fibQueue.length && !this.stopping) {
        const batch = this.fibQueue.splice(0, this.fibQueue.length);
        try {
          const failures = await this.opts.fib.apply(batch);
          const m = this.opts.metrics;
          const opOf = (c: FibChange): 'delete' | 'replace' => (c.kind === 'unicast' && c.nexthops.length === 0 ? 'delete' : 'replace');
          let deletes = 0;
          for (const c of batch) if (opOf(c) === 'delete') deletes++;
          if (deletes) m?.fibOps.inc({ op: 'delete' }, deletes);
          if (batch.length - deletes) m?.fibOps.inc({ op: 'replace' }, batch.length - deletes);
          for (const f of failures) m?.fibErrors.inc({ op: opOf(batch[f.index]), reason: f.error.split(':')[0] });
          const denied = failures.find((f) => /EPERM|EACCES/.test(f.error));
          if (denied && !this.fibDenied) this.log.error({ component: 'fib', error: denied.error }, 'the kernel refuses route writes (no CAP_NET_ADMIN?): not ready until a write succeeds; run ternd with NET_ADMIN or use --fib none');
          this.fibDenied = denied ? `${denied.error} (run ternd with NET_ADMIN, or --fib none)` : undefined;
          for (const g of groupFibFailures(failures)) this.log.warn({ component: 'fib', prefixes: g.prefixes, count: g.count, error: g.error }, g.message);
        } catch (err) {
          this.log.error({ component: 'fib', err: (err as Error).message }, 'FIB write failed');
        }
      }
      this.fibBusy = false;
    })();
  }

  /**
   * RFC 4724 §4.1, two waits after a restart with routes in the kernel:
   * - selection deferral (when we may advertise again) ends with End-of-RIB from every peer
   *   except those that restarted too (R bit) or do not do graceful restart: they will not wait
   *   for us, and two restarting speakers waiting for each other would sit out the timer;
   * - the kernel is reconciled only once every peer, restarting or not, sent End-of-RIB, so a
   *   route a restarting peer has not re-sent yet is not deleted and re-added.
   * Both are bounded by --fib-sync-timeout.
   */
  private checkConverged(): void {
    if (this.fibSynced) return;
    let advertise = true;
    let complete = true;
    for (const e of this.peers.values()) {
      // A session held down for its password will not come up by waiting: it does not hold
      // back the restart's convergence (it is a /readyz reason instead).
      if (e.cfg.passwordError) continue;
      if (e.session.state !== 'Established') return;
      const allEor = (e.session.negotiated?.families ?? []).every((f) => e.eor.has(f));
      if (!allEor) {
        complete = false;
        const gr = e.negotiated?.gracefulRestart;
        if (gr && !gr.restarting) advertise = false;
      }
    }
    if (advertise) this.endSelectionDeferral('End-of-RIB received from every peer that was not restarting itself');
    if (complete) void this.syncFib('End-of-RIB received from every peer');
  }

  private endSelectionDeferral(why: string): void {
    if (!this.selectionDeferred) return;
    // Decide what is queued first, so the peers get the complete table in one go.
    while (this.rib.queued > 0) this.flush();
    this.selectionDeferred = false;
    this.log.info({ component: 'gr', why }, `selection deferral over (${why}): advertising to every peer (RFC 4724 §4.1)`);
    for (const e of this.peers.values()) this.pump(e);
  }

  private async syncFib(why: string): Promise<void> {
    if (this.fibSynced) return;
    this.fibSynced = true;
    if (this.fibSyncTimer) clearTimeout(this.fibSyncTimer);
    // RFC 4724 §3: the R bit says "I restarted"; once converged, a session that flaps later
    // must not claim it again (a helper would wait for an End-of-RIB it already had).
    this.wiring.restarting = false;
    for (const e of this.peers.values()) if (e.session.cfg.gracefulRestart) e.session.cfg.gracefulRestart.restarting = false;
    // Set before anything below can queue a write (the flush does), so those writes wait.
    let reconciled!: () => void;
    this.fibReconciled = new Promise((r) => (reconciled = r));
    try {
      // Let the decision process finish what is queued so the first reconcile is complete.
      while (this.rib.queued > 0) this.flush();
      this.endSelectionDeferral(why);
      const r = await this.opts.fib.reconcile([...this.desiredFib.values()]);
      const denied = r.failed.find((f) => /EPERM|EACCES/.test(f.error ?? ''));
      if (denied) this.fibDenied = `${denied.error} (run ternd with NET_ADMIN, or --fib none)`;
      this.log.info({ component: 'fib', why, added: r.added, replaced: r.replaced, deleted: r.deleted, unchanged: r.unchanged, failed: r.failed.length }, `FIB reconciled (${why})`);
    } catch (err) {
      this.log.error({ component: 'fib', err: (err as Error).message }, 'FIB reconciliation failed');
    } finally {
      reconciled();
    }
    this.emit('fibSynced');
  }

  // ------------------------------------------------------------------ model

  private applyOrigination(routes: OriginatedRoute[]): string[] {
    const effects: string[] = [];
    const next = new Map(routes.map((r) => [r.prefix, r]));
    const withdrawn: OriginatedRoute[] = [];
    const advertised: OriginatedRoute[] = [];
    for (const [prefix, r] of this.originated) {
      if (next.has(prefix)) continue;
      this.originated.delete(prefix);
      this.rib.withdrawOrigin(prefix);
      effects.push(`prefix ${prefix} withdrawn`);
      withdrawn.push(r);
    }
    for (const [prefix, r] of next) {
      const old = this.originated.get(prefix);
      if (old && sameRoute(old, r)) continue;
      this.originated.set(prefix, r);
      this.rib.originate(prefix, {
        origin: 0,
        asPath: [],
        communities: r.communities.length ? r.communities : undefined,
        largeCommunities: r.largeCommunities.length ? r.largeCommunities : undefined,
      });
      effects.push(`prefix ${prefix} advertised`);
      advertised.push(r);
    }
    cutList(withdrawn, (r) => this.log.info({ component: 'routes', prefix: r.prefix, origin: r.origin }, `withdrawing ${r.prefix}`),
      (n) => this.log.info({ component: 'routes', more: n }, `and ${n} more prefixes withdrawn`));
    cutList(advertised, (r) => this.log.info({ component: 'routes', prefix: r.prefix, origin: r.origin, fib: r.fib }, `advertising ${r.prefix} (${r.reason})`),
      (n) => this.log.info({ component: 'routes', more: n }, `and ${n} more prefixes advertised (bgpctl show rib lists them)`));
    return effects;
  }

  private applyPlan(next: PeerConfig[]): string[] {
    const effects: string[] = [];
    const d = diffPlan(this.plan, next);
    // Live, not a snapshot: export policy asks whether a prefix is ours (BGPFilter source Local)
    // for blocks added after the session was, too.
    const originatedSet = this.originated;
    for (const pc of d.removed) {
      this.removePeer(pc, 'BGPPeer or node removed from the config');
      effects.push(`session ${pc.key} removed`);
    }
    cutList(d.removed, (pc) => this.log.info({ component: 'plan', peer: pc.key }, `session with ${pc.key} removed (${pc.description})`),
      (n) => this.log.info({ component: 'plan', more: n }, `and ${n} more sessions removed`));
    for (const ch of d.changed) {
      // Next hop mode and allowas-in live in the RIB's peer config, not in its policies: a change
      // restarts the session rather than being recorded and silently not applied.
      if (ch.restartNeeded || ch.fields.some((f) => RIB_PEER_FIELDS.has(f))) {
        this.removePeer(ch.before, `config changed (${ch.fields.join(', ')}): restarting`);
        this.addPeer(ch.after, originatedSet);
        effects.push(`session ${ch.after.key} restarted (${ch.fields.join(', ')})`);
        this.log.info({ component: 'plan', peer: ch.after.key, fields: ch.fields }, `session with ${ch.after.key} restarted: ${ch.fields.join(', ')} changed`);
      } else {
        const e = this.peers.get(ch.after.peerAddress);
        if (e) {
          e.cfg = ch.after;
          e.session.cfg.description = ch.after.description;
          this.softReconfigure(e, ch.after);
          // A session held down by max-prefix whose limit was raised past what tripped it, or
          // removed, starts again now rather than waiting for the operator or the interval.
          const trip = e.maxPrefixTrip;
          if (trip && ch.fields.includes('maxPrefixes') && (ch.after.maxPrefixes?.[trip.family]?.limit ?? Infinity) >= trip.received) {
            clearMaxPrefix(e);
            if (!e.adminDown && this.bfd.mayStart(e.cfg)) e.session.start();
          }
        }
        effects.push(`session ${ch.after.key} updated (${ch.fields.join(', ')})`);
      }
    }
    // A BGPFilter's rules or the exportable IPPools changed under a peer whose own configuration
    // did not: its policies were built from the old ones.
    for (const pc of d.unchanged) {
      const e = this.peers.get(pc.peerAddress);
      if (e && this.softReconfigure(e, pc)) effects.push(`session ${pc.key} policies updated (BGPFilter rules or IPPools changed)`);
    }
    for (const pc of d.added) {
      this.addPeer(pc, originatedSet);
      effects.push(`session ${pc.key} added`);
    }
    cutList(d.added, (pc) => this.log.info({ component: 'plan', peer: pc.key, kind: pc.kind, as: pc.peerAs }, `session with ${pc.key} added (${pc.description})`),
      (n) => this.log.info({ component: 'plan', more: n }, `and ${n} more sessions added (bgpctl show peers lists them)`));
    this.plan = next;
    this.bfd.plan();
    return effects;
  }

  /** The model content a peer's policies are built from (wiring.ts policiesFor), line numbers aside. */
  private policyInputs(pc: PeerConfig): string {
    // Once per model and filter list, not per peer: 10k peers share a handful of lists, and a
    // reload serialised the same filters and pools 10k times on the main thread (issue 17).
    if (this.policyInputsOf?.model !== this.model) this.policyInputsOf = { model: this.model, byFilters: new Map() };
    const key = JSON.stringify(pc.filters);
    let text = this.policyInputsOf.byFilters.get(key);
    if (text === undefined) {
      const inputs = [filtersByName(this.model.filters, pc.filters), exportablePools(this.model)];
      text = JSON.stringify(inputs, (k, v: unknown) => (k === 'line' ? undefined : typeof v === 'bigint' ? v.toString() : v));
      this.policyInputsOf.byFilters.set(key, text);
    }
    return text;
  }

  /**
   * Soft reconfiguration (Rib.setPolicies): when what a peer's import/export policies are built
   * from changed (its BGPFilter names or rules, the exportable pools), give the RIB new ones; it
   * re-runs import over the kept pre-policy Adj-RIB-In and sends the peer exactly the export
   * difference. No session reset, as BIRD does on `configure` for a filter change. Returns
   * whether anything changed.
   */
  private softReconfigure(e: PeerEntry, pc: PeerConfig): boolean {
    const inputs = this.policyInputs(pc);
    if (e.policyInputs === inputs) return false;
    e.policyInputs = inputs;
    const p = policiesFor({ ...pc, key: e.id }, this.model, this.originated, { ebgpFilterDefault: this.opts.ebgpFilterDefault });
    // Both keys, so a filter list that became empty also drops the old import policy.
    this.rib.setPolicies(e.id, { importPolicy: p.importPolicy, exportPolicy: p.exportPolicy });
    this.scheduleFlush();
    this.pump(e);
    this.log.info({ component: 'plan', peer: e.id, filters: pc.filters }, `policies of ${e.id} replaced in place (filters ${pc.filters.join(', ') || 'none'})`);
    return true;
  }


  /**
   * Calico's logSeverityScreen (node.<name>, else default) sets the log level, as it sets
   * BIRD's and confd's under Calico; ternd --log-level, when given, wins.
   */
  private applyLogSeverity(): void {
    // Only when the model's value changes: a level set live with `bgpctl log level` survives
    // reloads that do not touch logSeverityScreen.
    if (this.opts.logLevelFromFlag || this.local.logSeverity === this.appliedLogSeverity) return;
    this.appliedLogSeverity = this.local.logSeverity;
    const level = ({ Debug: 'debug', Info: 'info', Warning: 'warn', Error: 'error', Fatal: 'fatal' } as const)[this.local.logSeverity as 'Debug'] ?? 'info';
    if (this.log.level() === bunyanLevel[level]) return;
    this.log.level(level);
    this.log.info({ component: 'config', level }, `log level ${level} (logSeverityScreen ${this.local.logSeverity})`);
  }

  /** The sessions this node should have, with secretKeyRef passwords resolved (peers/secrets.ts). */
  private planFor(model: ClusterModel): PeerConfig[] {
    return planPeers(model, this.opts.nodeName, { resolveSecret: this.opts.resolveSecret });
  }

  /**
   * A mounted Secret changes without the model changing (the kubelet swaps the files): re-read
   * the passwords and apply the plan only when one of them changed, which restarts exactly the
   * sessions concerned (password is a restart field: RFC 2385 keys are fixed per connection).
   */
  recheckSecrets(): string[] {
    if (!this.started || this.stopping) return [];
    // Nothing to re-read unless some password is a secretKeyRef (planning a large cluster every
    // few seconds for nothing would be waste).
    const m = this.model;
    if (!m.bgpConfig.nodeMeshPassword?.secretKeyRef && !m.peers.some((p) => p.password?.secretKeyRef)) return [];
    const next = this.planFor(m);
    const before = new Map(this.plan.map((p) => [p.key, p]));
    const changed = next.some((p) => {
      const b = before.get(p.key);
      return b !== undefined && (b.password !== p.password || b.passwordError !== p.passwordError || b.bfd?.auth?.key !== p.bfd?.auth?.key);
    });
    if (!changed) return [];
    const effects = this.applyPlan(next);
    this.scheduleFlush();
    this.log.info({ component: 'config', trigger: 'secrets' }, `passwords re-read: ${effects.join('; ')}`);
    return effects;
  }

  private addPeer(pc: PeerConfig, originatedSet: Pick<ReadonlySet<string>, 'has'>): void {
    const session = this.speaker.addPeer(sessionConfigOf(pc, this.local, this.wiring), { start: false });
    const id = session.key;
    this.rib.addPeer(ribPeerOf({ ...pc, key: id }, this.local, this.model, originatedSet, { ebgpFilterDefault: this.opts.ebgpFilterDefault }));
    this.peers.set(id, { cfg: pc, session, id, eor: new Set(), adminDown: false, downSince: Date.now(), policyInputs: this.policyInputs(pc) });
    // A session that should have a password never runs without it (RFC 2385): it stays down,
    // and the log, `show neighbor` and /readyz say which secret is missing.
    if (pc.passwordError) {
      this.log.error({ component: 'session', peer: id, error: pc.passwordError }, `session with ${id} (${pc.description}) held down: ${pc.passwordError}`);
      return;
    }
    if (this.bfd.mayStart(pc)) session.start();
  }

  private removePeer(pc: PeerConfig, why: string): void {
    // Sessions are keyed by their cfg.peerAddress (Session.key): the planned address is the key.
    // (This was a scan of every session per planned peer: a reload of 10k BGPPeers held the
    // event loop for 22 s, issue 17.)
    const key = pc.peerAddress;
    const e = this.peers.get(key);
    if (!e) return;
    grClear(e);
    e.closing = true;
    this.speaker.removePeer(key, undefined, why);
    clearMaxPrefix(e);
    this.speaker.removePeer(key);
    this.rib.removePeer(e.id);
    this.problems.forget(e.id);
    this.peers.delete(key);
    this.scheduleFlush();
  }

  /** SIGHUP and `bgpctl reload`: re-read the datastore now; a bad model is refused and the running one stays in force. */
  async reload(trigger: string): Promise<ReloadOutcome> {
    let update: ModelUpdate;
    try {
      update = await this.opts.datastore.resync(trigger);
    } catch (err) {
      const { errors, warnings } = refusalOf(err);
      // The log gets the summary; bgpctl reload gets every warning.
      this.refuse(trigger, errors, summariseIssues(warnings));
      return { ok: false, errors, warnings: warnings.map(formatIssue) };
    }
    return this.applyModel(update);
  }

  /** What the datastore reports on its own (a watched change, a refusal, a state change). */
  private onDatastore(e: DatastoreEvent): void {
    if (this.stopping) return;
    switch (e.type) {
      case 'model':
        if (this.started) void this.applyModel(e.update);
        else this.pendingUpdate = e.update;
        return;
      case 'refused':
        this.refuse(e.trigger, e.errors, summariseIssues(e.warnings));
        return;
      case 'status': {
        const st = e.status;
        const text = `datastore ${st.kind} ${st.state}${st.detail ? `: ${st.detail}` : ''}`;
        // Stale is a warning, not an error: the last good model stays in force, no route is
        // withdrawn and no session reset because the source went away.
        if (st.state === 'stale') this.log.warn({ component: 'datastore', state: st.state, since: st.since }, `${text}; the last good model stays in force`);
        else if (st.state !== 'error') this.log.info({ component: 'datastore', state: st.state }, text);
        return;
      }
    }
  }

  private refuse(trigger: string, errors: string[], warnings: string[]): void {
    // The warnings first: the real cause of a refusal is often an "unknown field" one line up.
    for (const w of warnings) this.log.warn({ component: 'config', trigger }, w);
    cutList(errors, (e) => this.log.error({ component: 'config', trigger }, `config refused, running config stays in force: ${e}`),
      (n) => this.log.error({ component: 'config', trigger, more: n }, `config refused: and ${n} more errors (bgpctl reload lists them all)`), 20);
    this.emit('reloadFailed', errors);
  }

  /** Applies a new complete model as a diff: unchanged peers keep their sessions. One at a time, in arrival order. */
  private applyModel(update: ModelUpdate): Promise<ReloadOutcome> {
    const run = this.applying.then(() => this.applyModelNow(update));
    this.applying = run.catch(() => undefined);
    return run;
  }

  private async applyModelNow(update: ModelUpdate): Promise<ReloadOutcome> {
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    const { model, warnings, trigger } = update;
    let local: LocalSpeaker;
    try {
      local = localSpeaker(model, this.opts.nodeName);
    } catch (err) {
      const errors = err instanceof ConfigError ? err.issues.filter((i) => i.severity === 'error').map(formatIssue) : [(err as Error).message];
      // The log gets the summary; bgpctl reload gets every warning.
      this.refuse(trigger, errors, summariseIssues(warnings));
      return { ok: false, errors, warnings: warnings.map(formatIssue) };
    }
    for (const w of summariseIssues(warnings)) this.log.warn({ component: 'config' }, w);
    if (local.asNumber !== this.local.asNumber || local.routerId !== this.local.routerId || local.listenPort !== this.local.listenPort) {
      const msg = 'the node AS, router ID or listen port changed: restart ternd to apply';
      this.log.error({ component: 'config', trigger }, msg);
      this.emit('reloadFailed', [msg]);
      return { ok: false, errors: [msg], warnings: warnings.map(formatIssue) };
    }
    // The pure steps (routes to originate, sessions to have) each in their own turn of the event
    // loop, and nothing changed until both are done: with 250k IPAM blocks or 10k BGPPeers each
    // is tens of milliseconds that keepalives, probes and bgpctl need not wait behind (issue 17).
    const routes = originatedRoutes(model, this.opts.nodeName);
    await new Promise((r) => setImmediate(r));
    const plan = this.planFor(model);
    await new Promise((r) => setImmediate(r));
    if (this.stopping) return { ok: false, errors: ['ternd is stopping: the new config was not applied'], warnings: warnings.map(formatIssue) };
    // Calico's route reflector procedure sets routeReflectorClusterID on a running node: the
    // RIB takes the new ID, and applyPlan restarts exactly the sessions whose client role changed.
    if (local.routeReflectorClusterID !== this.local.routeReflectorClusterID) {
      this.log.info({ component: 'config', from: this.local.routeReflectorClusterID, to: local.routeReflectorClusterID }, `route reflector cluster ID ${local.routeReflectorClusterID ?? 'removed'}`);
      this.rib.setClusterId(local.routeReflectorClusterID);
    }
    this.local = local;
    this.setModel(model);
    this.updateOwnAddresses('model');
    this.applyLogSeverity();
    this.fibCtx = this.makeFibCtx();
    const effects = [...this.applyOrigination(routes), ...this.applyPlan(plan)];
    this.scheduleFlush();
    this.log.info({ component: 'config', trigger, effects: effects.length, ms: Math.round(performance.now() - started), cpuMs: cpuMsSince(cpu0) }, effects.length ? `config reloaded (${trigger}): ${effects.slice(0, 10).join('; ')}${effects.length > 10 ? `; and ${effects.length - 10} more` : ''}` : `config reloaded (${trigger}): nothing changed`);
    this.emit('reloaded', effects);
    return { ok: true, effects, warnings: warnings.map(formatIssue) };
  }
}

/** CPU time (user + system) since `from`, in ms: with `ms` it tells work from waiting for a CPU. */
function cpuMsSince(from: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return Math.round((u.user + u.system) / 1000);
}

const bunyanLevel = { debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

/** PeerConfig fields that live in the RIB peer config (ribPeerOf) rather than its policies: a change restarts the session. */
const RIB_PEER_FIELDS: ReadonlySet<string> = new Set(['nextHopMode', 'numAllowedLocalASNumbers']);

/** A full Internet table is ~100k packed UPDATEs: a peer 500k behind is not keeping up. */
export const MAX_OUTPUT_BACKLOG = 500_000;

function sameRoute(a: OriginatedRoute, b: OriginatedRoute): boolean {
  return a.fib === b.fib && JSON.stringify([a.communities, a.largeCommunities]) === JSON.stringify([b.communities, b.largeCommunities]);
}

export function describeReason(r: DownReason): string {
  return r.text;
}
