// Prometheus metrics for ternd, through prom-client (only the parts it uses: prom.ts). Two kinds:
// - event metrics the daemon updates as things happen (FIB operations and errors, decision
//   latency, session transitions): `metrics.fibOps.inc({op: 'add'})`;
// - state read at scrape time from the DaemonApi (per-peer state, uptime, messages, prefixes;
//   RIB sizes), so the daemon keeps no second copy of it.
// The names are listed in docs/operations.md; like JSON field names they are an interface.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from './prom.js';
import { SESSION_STATES, type BfdSessionView, type DaemonApi } from './api.js';

/** Seconds; the decision process runs once per batch of changed prefixes. */
const DECISION_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

export class Metrics {
  readonly registry = new Registry();
  private api: DaemonApi | null = null;

  /** Kernel route operations, by op: 'add' | 'replace' | 'delete'. */
  readonly fibOps = new Counter({
    name: 'tern_fib_operations_total',
    help: 'Kernel FIB operations performed by Tern, by operation',
    labelNames: ['op'] as const,
    registers: [this.registry],
  });
  /** Kernel route operations that failed, by op and reason (errno name, e.g. 'EEXIST'). */
  readonly fibErrors = new Counter({
    name: 'tern_fib_errors_total',
    help: 'Kernel FIB operations that failed, by operation and reason',
    labelNames: ['op', 'reason'] as const,
    registers: [this.registry],
  });
  /** Wall time of one decision-process batch (RFC 4271 §9.1), in seconds. */
  readonly decisionLatency = new Histogram({
    name: 'tern_decision_duration_seconds',
    help: 'Time to run the BGP decision process over one batch of changed prefixes',
    buckets: DECISION_BUCKETS,
    registers: [this.registry],
  });
  /** Prefixes whose best path was recomputed, summed over batches. */
  readonly decisionPrefixes = new Counter({
    name: 'tern_decision_prefixes_total',
    help: 'Prefixes run through the decision process',
    registers: [this.registry],
  });
  /** Session state changes (RFC 4271 §8), by peer and the state entered: flaps show here. */
  readonly sessionTransitions = new Counter({
    name: 'tern_bgp_session_transitions_total',
    help: 'BGP session state changes, by peer and state entered',
    labelNames: ['peer', 'state'] as const,
    registers: [this.registry],
  });

  /** BGP sessions taken down by BFD (RFC 5882), summed over peers. */
  readonly bfdSessionDowns = new Counter({
    name: 'tern_bfd_bgp_downs_total',
    help: 'BGP sessions taken down because their BFD session failed',
    registers: [this.registry],
  });
  /** RFC 7606 actions taken on received UPDATEs, by peer, attribute name and action. */
  readonly updateErrors = new Counter({
    name: 'tern_bgp_update_errors_total',
    help: 'RFC 7606 actions (treat-as-withdraw, attribute-discard) taken on UPDATEs, by peer, attribute and action',
    labelNames: ['peer', 'attribute', 'action'] as const,
    registers: [this.registry],
  });
  /**
   * Routes the RIB left out, by peer and reason: 'message-too-large' (not sent to the peer,
   * RFC 8654 §4), 'bad-next-hop' (received from the peer and ignored, RFC 4271 §6.3).
   */
  readonly routesLeftOut = new Counter({
    name: 'tern_bgp_routes_left_out_total',
    help: 'Routes not sent to a peer (message-too-large) or ignored from it (bad-next-hop)',
    labelNames: ['peer', 'reason'] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const self = this;
    const peerLabels = ['peer', 'asn', 'kind'] as const;
    new Gauge({
      name: 'tern_bgp_peer_state',
      help: 'BGP session state: 1 Idle, 2 Connect, 3 Active, 4 OpenSent, 5 OpenConfirm, 6 Established',
      labelNames: peerLabels,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const p of self.api?.peers() ?? []) this.set({ peer: p.address, asn: p.asn, kind: p.kind }, SESSION_STATES.indexOf(p.state) + 1);
      },
    });
    new Gauge({
      name: 'tern_bgp_peer_up',
      help: '1 when the session is Established, else 0',
      labelNames: peerLabels,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const p of self.api?.peers() ?? []) this.set({ peer: p.address, asn: p.asn, kind: p.kind }, p.state === 'Established' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tern_bgp_peer_uptime_seconds',
      help: 'Seconds since the session became Established; 0 when not Established',
      labelNames: ['peer'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const now = Date.now();
        for (const p of self.api?.peers() ?? []) {
          const up = p.state === 'Established' && p.since ? Math.max(0, (now - Date.parse(p.since)) / 1000) : 0;
          this.set({ peer: p.address }, up);
        }
      },
    });
    // Counters read from the daemon's own totals: reset, then set to the absolute value.
    const peerCounter = (name: string, help: string, pick: (p: ReturnType<DaemonApi['peers']>[number]) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['peer'] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const p of self.api?.peers() ?? []) this.inc({ peer: p.address }, pick(p));
        },
      });
    };
    peerCounter('tern_bgp_messages_received_total', 'BGP messages received on the session', (p) => p.msgRcvd);
    peerCounter('tern_bgp_messages_sent_total', 'BGP messages sent on the session', (p) => p.msgSent);
    const peerGauge = (name: string, help: string, pick: (p: ReturnType<DaemonApi['peers']>[number]) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['peer'] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const p of self.api?.peers() ?? []) this.set({ peer: p.address }, pick(p));
        },
      });
    };
    peerGauge('tern_bgp_prefixes_received', 'Prefixes in Adj-RIB-In from the peer', (p) => p.prefixesReceived);
    peerGauge('tern_bgp_prefixes_accepted', 'Prefixes from the peer accepted by import policy', (p) => p.prefixesAccepted);
    peerGauge('tern_bgp_prefixes_sent', 'Prefixes advertised to the peer', (p) => p.prefixesSent);
    peerGauge('tern_bgp_peer_out_queue', 'UPDATE messages queued for the peer', (p) => p.outQ);
    new Gauge({
      name: 'tern_rib_routes',
      help: 'Routes per RIB table (loc, in, out) and family',
      labelNames: ['table', 'family'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of self.api?.metrics().rib ?? []) this.inc({ table: r.table, family: r.family }, r.routes);
      },
    });
    new Gauge({
      name: 'tern_fib_routes',
      help: 'Routes Tern has installed in the kernel',
      registers: [this.registry],
      collect() {
        const s = self.api?.metrics();
        this.set(s?.fibRoutes ?? 0);
      },
    });
    new Gauge({
      name: 'tern_fib_coupled',
      help: '1 when kernel writes are on (bgpctl fib couple), 0 when decoupled',
      registers: [this.registry],
      collect() {
        const s = self.api?.metrics();
        this.set(s?.fibCoupled ? 1 : 0);
      },
    });
    // BFD (RFC 5880): read from the BFD worker thread at scrape time, one query per gauge
    // (the registry collects gauges concurrently, so one cannot fill another).
    const bfdGauge = (name: string, help: string, value: (r: BfdSessionView) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['peer'] as const,
        registers: [this.registry],
        async collect() {
          const rows = (await self.api?.bfd()) ?? [];
          this.reset();
          for (const r of rows) this.set({ peer: r.peerAddress }, value(r));
        },
      });
    };
    bfdGauge('tern_bfd_session_state', 'BFD session state as on the wire (RFC 5880 §4.1): 0 AdminDown, 1 Down, 2 Init, 3 Up', (r) =>
      ['AdminDown', 'Down', 'Init', 'Up'].indexOf(r.state),
    );
    bfdGauge('tern_bfd_detection_time_seconds', 'BFD detection time in force (RFC 5880 §6.8.4); 0 when not Up or Init', (r) => r.detectionTimeMs / 1000);
    bfdGauge('tern_bfd_tx_late_max_seconds', 'Worst lateness of the BFD transmit timer in the BFD worker thread', (r) => r.txLate.maxMs / 1000);
    bfdGauge('tern_bfd_up_transitions', 'Times the BFD session came Up (flaps show here)', (r) => r.upTransitions);
    new Gauge({
      name: 'tern_build_info',
      help: 'Always 1; the version label says which ternd is running',
      labelNames: ['version'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        if (self.api) this.set({ version: self.api.version }, 1);
      },
    });
    // process_* and nodejs_* (event-loop delay nodejs_eventloop_lag_*, heap, GC) under their
    // standard names so that stock Node.js dashboards work. The lag histogram ticks every 100 ms,
    // not prom-client's 10 ms: 100 wake-ups a second were most of an idle node's CPU (issue 18,
    // 0.85% -> 0.17% of a core); its min/mean/p99 are the time between ticks, so an idle loop
    // reads 0.1 s (docs/operations.md, "Metrics").
    if (opts.defaultMetrics !== false) collectDefaultMetrics(this.registry, 100);
  }

  /** Reads peer and RIB state from this daemon at every scrape. */
  bind(api: DaemonApi): void {
    this.api = api;
  }
}
