// ternd's core wiring: the Calico model (peers/) decides whom to peer with and what to
// originate; the Speaker (bgp/) runs the sessions; the RIB (bgp/rib) decides; the FIB (fib/)
// installs. The Daemon owns the running model and the peer map, starts and stops everything,
// and applies models; each other job has a file of its own behind a narrow context:
// sessions.ts (session events, and closing them as a restarting speaker), routes.ts (decision
// batches, FIB feed), convergence.ts (restart convergence), plan.ts (peers and origination as
// plan diffs), reload.ts (checking a new model), log-severity.ts (logSeverityScreen as the log
// level), view.ts and daemon-view.ts (what the control API may read and ask).
import { EventEmitter } from 'node:events';
import { Rib } from '../../bgp/rib/rib.js';
import { Speaker } from '../../bgp/io/speaker.js';
import type { Fib } from '../../fib/types.js';
import { localSpeaker, localSubnets, originatedRoutes, type ClusterModel, type LocalSpeaker, type SecretResolver } from '../../peers/index.js';
import type { Datastore, DatastoreEvent, ModelUpdate } from '../../peers/datastore/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../control/metrics.js';
import { unknownNeighbor, type NeighborAction, type NeighborActionOptions } from '../control/api.js';
import { BfdCoupling } from './bfd.js';
import { summariseIssues } from './summary.js';
import { applyModel, logDatastoreStatus, refuse, reload, type PreparedPlan, type PreparedRoutes, type ReloadContext } from './reload.js';
import { PeerProblems } from './peer-problems.js';
import { LogSeverity } from './log-severity.js';
import { grClear, type GrContext } from './graceful-restart.js';
import { Convergence } from './convergence.js';
import type { PeerEntry } from './peer-entry.js';
import { OwnAddresses, type LocalAddressSource } from './own-addresses.js';
import { Planner } from './plan.js';
import { KERNEL_DECISION_BATCH, RouteFlow } from './routes.js';
import { closeForRestart, neighborAction, pump, wireSessions, type SessionContext } from './sessions.js';
import type { DaemonControl, DaemonView, ReloadOutcome } from './view.js';
import { daemonView } from './daemon-view.js';
import type { FibContext, WiringOptions } from './wiring.js';

export { MAX_OUTPUT_BACKLOG, describeReason } from './sessions.js';
export type { ReloadOutcome } from './view.js';
export type { LocalAddressSource } from './own-addresses.js';

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

export interface DaemonEvents {
  reloaded: [effects: string[]];
  reloadFailed: [issues: string[]];
  fibSynced: [];
}

export class Daemon extends EventEmitter<DaemonEvents> implements DaemonControl {
  private model!: ClusterModel;
  private local!: LocalSpeaker;
  /** This node's addresses, the model's and the kernel's (RFC 4271 §6.3 next-hop check). */
  private readonly own: OwnAddresses;
  private rib!: Rib;
  private speaker!: Speaker;
  private readonly peers = new Map<string, PeerEntry>();
  private listening = false;
  private configLoaded = false;
  /** Set by stop(): the kernel is no longer written (its routes outlive the process). */
  private stopping = false;
  private secretsTimer?: NodeJS.Timeout;
  /** Calico's logSeverityScreen as the log level (log-severity.ts). */
  private readonly logSeverity: LogSeverity;
  /** A model the datastore produced while start() was still running: applied at its end. */
  private pendingUpdate?: ModelUpdate;
  private started = false;
  private fibCtx!: FibContext;
  private readonly wiring: WiringOptions;
  /** RFC 5882 coupling of BFD (in its worker thread) to the sessions: ./bfd.ts. */
  private readonly bfd: BfdCoupling;
  private readonly log: Logger;
  /** RFC 7606 counts, routes left out, rate-limited per-peer warnings. */
  private readonly problems: PeerProblems;
  /** RFC 7313 §4.2 EoRR waits (route-refresh.ts). */
  private readonly eorrWaits = new Map<string, NodeJS.Timeout>();
  /** Decision batches and the FIB feed; kernel writes are held until convergence releases them. */
  private readonly routes: RouteFlow;
  private convergence!: Convergence;
  private readonly planner: Planner;
  private sessionCtx!: SessionContext;

  constructor(readonly opts: DaemonOptions) {
    super();
    this.log = opts.log;
    this.logSeverity = new LogSeverity(opts.log, opts.logLevelFromFlag ?? false);
    this.own = new OwnAddresses(opts.localAddresses, this.log);
    this.problems = new PeerProblems(this.log, opts.metrics, { windowMs: opts.logWindowMs });
    this.wiring = { forwardingPreserved: opts.fibDriver === 'kernel', restarting: false, connectRetryTime: opts.connectRetryTime };
    this.bfd = new BfdCoupling({ log: opts.log, peers: () => this.peers.values(), onFailure: () => opts.metrics?.bfdSessionDowns.inc() });
    // Held from the start: nothing reaches the kernel before the startup reconcile (convergence.ts).
    this.routes = new RouteFlow(
      opts.fib,
      {
        rib: () => this.rib,
        fibContext: () => this.fibCtx,
        peers: () => this.peers.values(),
        pump: (e) => this.pump(e),
        problems: this.problems,
        log: this.log,
        metrics: opts.metrics,
        decisionBatch: opts.fibDriver === 'kernel' ? KERNEL_DECISION_BATCH : undefined,
      },
      true,
    );
    this.planner = new Planner({
      nodeName: opts.nodeName,
      peers: this.peers,
      rib: () => this.rib,
      speaker: () => this.speaker,
      model: () => this.model,
      local: () => this.local,
      wiring: this.wiring,
      bfd: this.bfd,
      problems: this.problems,
      log: this.log,
      scheduleFlush: () => this.routes.scheduleFlush(),
      pump: (e) => this.pump(e),
      resolveSecret: opts.resolveSecret,
      ebgpFilterDefault: opts.ebgpFilterDefault,
    });
  }

  private setModel(model: ClusterModel): void {
    this.model = model;
    const n = model.nodes.find((x) => x.name === this.opts.nodeName);
    this.own.setModelAddresses([n?.ipv4Address, n?.ipv6Address]);
  }

  /** Loads the model (throws ConfigError: nothing runs on a bad config), then starts everything. */
  async start(): Promise<void> {
    const t0 = performance.now();
    const { model, warnings } = await this.opts.datastore.start((e) => this.onDatastore(e));
    this.log.info(
      {
        component: 'datastore',
        ms: Math.round(performance.now() - t0),
        nodes: model.nodes.length,
        peers: model.peers.length,
        ipamBlocks: model.ipamBlocks.length,
        blockAffinities: model.blockAffinities.length,
        warnings: warnings.length,
      },
      `model loaded from ${this.opts.datastore.status().source}: ${model.nodes.length} nodes, ${model.peers.length} BGPPeers, ${model.ipamBlocks.length} IPAM blocks, ${warnings.length} warnings (${Math.round(performance.now() - t0)} ms)`,
    );
    for (const w of summariseIssues(warnings)) this.log.warn({ component: 'config' }, w);
    this.setModel(model);
    this.local = localSpeaker(model, this.opts.nodeName);
    this.configLoaded = true;
    this.logSeverity.apply(this.local.logSeverity);

    // RFC 4724 §4.1: routes of ours still in the kernel mean we restarted with forwarding state
    // preserved; say so (R bit) and hold the kernel as it is until the RIB has converged.
    const inKernel = await this.opts.fib.dump().catch(() => []);
    this.convergence = new Convergence(
      {
        peers: () => this.peers.values(),
        routes: this.routes,
        pump: (e) => this.pump(e),
        wiring: this.wiring,
        log: this.log,
        onSynced: () => this.emit('fibSynced'),
      },
      inKernel.length > 0,
    );

    this.rib = new Rib({
      localAs: this.local.asNumber,
      routerId: this.local.routerId,
      clusterId: this.local.routeReflectorClusterID,
      maxPaths: this.opts.maxPaths ?? 8,
      // --fib none (RIB only: tests, reflectors that do not forward) builds no change records
      // at all: a full table costs a third less time and memory without them. Otherwise each
      // record goes straight into the FIB's packed queue (RouteFlow.onRibChange), to die young.
      onChange: this.opts.fibDriver !== 'none' ? (c) => this.routes.onRibChange(c) : undefined,
      // RFC 4271 §6.3: a received route with one of the node's own addresses (on any
      // interface, as the kernel lists them) as next hop is ignored.
      ownAddresses: this.own.initial(),
    });
    this.own.follow(
      () => this.rib,
      () => this.routes.scheduleFlush(),
    );
    this.fibCtx = this.makeFibCtx();
    this.speaker = new Speaker({
      listen: this.opts.listen ?? (this.local.listenAddresses.length ? this.local.listenAddresses.map((address) => ({ address })) : undefined),
      port: this.local.listenPort,
      logger: this.log.child({ component: 'session' }),
    });
    const self = this;
    this.sessionCtx = {
      peers: this.peers,
      rib: () => this.rib,
      local: () => this.local,
      routes: this.routes,
      convergence: this.convergence,
      bfd: this.bfd,
      problems: this.problems,
      get gr(): GrContext {
        return { rib: self.rib, log: self.log, scheduleFlush: () => self.routes.scheduleFlush(), llgrStaleTime: self.opts.llgrStaleTime ?? 0 };
      },
      eorrWaits: this.eorrWaits,
      log: this.log,
      metrics: this.opts.metrics,
      maxOutputBacklog: this.opts.maxOutputBacklog,
    };
    wireSessions(this.speaker, this.sessionCtx);
    await this.speaker.start();
    this.listening = true;

    this.log.info(
      {
        component: 'daemon',
        node: this.local.nodeName,
        as: this.local.asNumber,
        routerId: this.local.routerId,
        clusterId: this.local.routeReflectorClusterID,
        datastore: this.opts.datastore.kind,
        source: this.opts.datastore.status().source,
        fib: this.opts.fibDriver,
      },
      `ternd started for node ${this.local.nodeName}`,
    );
    this.planner.applyOrigination(originatedRoutes(model, this.opts.nodeName));
    this.planner.applyPlan(this.planner.planFor(model));
    this.routes.scheduleFlush();
    if (this.opts.secretsRecheck) {
      this.secretsTimer = setInterval(() => this.recheckSecrets(), this.opts.secretsRecheck * 1000);
      this.secretsTimer.unref();
    }
    this.convergence.begin(inKernel.length, this.opts.fibSyncTimeout ?? 60);
    this.started = true;
    if (this.pendingUpdate) void applyModel(this.reloadCtx, this.pendingUpdate);
    this.pendingUpdate = undefined;
  }

  async stop(reason = 'ternd shutting down'): Promise<void> {
    // RFC 4724 §4.1 forwarding state is kept across the restart: closing the sessions below
    // withdraws every learned route from the RIB, and none of that may reach the kernel (a
    // rolling restart deleted the other nodes' routes on the stopping node; bench/rolling-restart.ts).
    this.stopping = true;
    this.routes.feed.stop();
    await this.opts.datastore.close();
    this.convergence?.stop();
    if (this.secretsTimer) clearInterval(this.secretsTimer);
    for (const e of this.peers.values()) grClear(e);
    const notification = closeForRestart(this.peers.values(), reason);
    // Give the NOTIFICATIONs a moment to reach the wire before the sockets close.
    await new Promise((r) => setTimeout(r, 100));
    await this.speaker?.close(notification);
    await this.bfd.close();
    await this.opts.fib.close();
    this.own.close();
    this.problems.close();
    for (const t of this.eorrWaits.values()) clearTimeout(t);
  }

  /** Moves queued UPDATEs from the RIB to the session while the session's queue has room. */
  private pump(e: PeerEntry): void {
    pump(this.sessionCtx, e);
  }

  private makeFibCtx(): FibContext {
    return {
      model: this.model,
      localSubnets: localSubnets(this.model, this.opts.nodeName),
      originated: this.planner.originated,
      tunnelDevice: this.opts.tunnelDevice ?? 'tunl0',
    };
  }

  // ------------------------------------------------------------------ the control API's side

  /** The read-only view the control API gets (view.ts, built by daemon-view.ts). */
  view(): DaemonView {
    return daemonView({
      local: () => this.local,
      rib: () => this.rib,
      speaker: () => this.speaker,
      configLoaded: () => this.configLoaded,
      listening: () => this.listening,
      planner: this.planner,
      peers: this.peers,
      routes: this.routes,
      fib: this.opts.fib,
      fibDriver: this.opts.fibDriver,
      datastore: this.opts.datastore,
      problems: this.problems,
      bfd: this.bfd,
    });
  }

  neighborAction(peerId: string, action: NeighborAction, opts: NeighborActionOptions): void {
    const e = this.peers.get(peerId);
    if (!e) throw unknownNeighbor(peerId);
    neighborAction(e, action, opts, this.bfd, this.log);
  }

  fibCouple(coupled: boolean): Promise<void> {
    return this.routes.couple(coupled, this.opts.fibDriver);
  }

  fibFlush(): Promise<number> {
    return this.routes.flushKernel(this.opts.fibDriver);
  }

  // ------------------------------------------------------------------ model

  /** Re-reads secretKeyRef passwords (plan.ts); a changed one restarts exactly its sessions. */
  recheckSecrets(): string[] {
    if (!this.started || this.stopping) return [];
    return this.planner.recheckSecrets();
  }

  /** SIGHUP and `bgpctl reload`: re-read the datastore now; a bad model is refused and the running one stays in force. */
  reload(trigger: string): Promise<ReloadOutcome> {
    return reload(this.reloadCtx, trigger);
  }

  /** What the datastore reports on its own (a watched change, a refusal, a state change). */
  private onDatastore(e: DatastoreEvent): void {
    if (this.stopping) return;
    switch (e.type) {
      case 'model':
        if (this.started) void applyModel(this.reloadCtx, e.update);
        else this.pendingUpdate = e.update;
        return;
      case 'refused':
        refuse(this.reloadCtx, e.trigger, e.errors, summariseIssues(e.warnings));
        return;
      case 'status':
        logDatastoreStatus(this.log, e.status);
        return;
    }
  }

  /** Makes an accepted model the running one (reload.ts checked it), as a plan diff. */
  private adopt(model: ClusterModel, local: LocalSpeaker, routes: PreparedRoutes, plan: PreparedPlan): string[] {
    // Calico's route reflector procedure sets routeReflectorClusterID on a running node: the
    // RIB takes the new ID, and applyPlan restarts exactly the sessions whose client role changed.
    if (local.routeReflectorClusterID !== this.local.routeReflectorClusterID) {
      this.log.info(
        { component: 'config', from: this.local.routeReflectorClusterID, to: local.routeReflectorClusterID },
        `route reflector cluster ID ${local.routeReflectorClusterID ?? 'removed'}`,
      );
      this.rib.setClusterId(local.routeReflectorClusterID);
    }
    this.local = local;
    this.setModel(model);
    this.own.update('model', this.rib, () => this.routes.scheduleFlush());
    this.logSeverity.apply(this.local.logSeverity);
    this.fibCtx = this.makeFibCtx();
    const effects = [...this.planner.applyOrigination(routes), ...this.planner.applyPlan(plan)];
    this.routes.scheduleFlush();
    return effects;
  }

  private get reloadCtx(): ReloadContext {
    return {
      nodeName: this.opts.nodeName,
      datastore: this.opts.datastore,
      log: this.log,
      local: () => this.local,
      stopping: () => this.stopping,
      prepare: (m) => ({ routes: () => originatedRoutes(m, this.opts.nodeName), plan: () => this.planner.planFor(m) }),
      adopt: (m, l, routes, plan) => this.adopt(m, l, routes, plan),
      reloaded: (effects) => this.emit('reloaded', effects),
      failed: (errors) => this.emit('reloadFailed', errors),
    };
  }
}
