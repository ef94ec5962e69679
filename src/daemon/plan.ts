// Planning: turns a model's plan (peers/) into sessions and RIB peers, and its originated
// prefixes into RIB origination, as differences from what runs now: unchanged peers keep their
// sessions, a policy-only change is applied in place (soft reconfiguration), a change of what
// the RIB's peer config holds restarts the session. Owns the running plan and originated set.
import type { Rib } from '../../bgp/rib/rib.js';
import type { Speaker } from '../../bgp/io/speaker.js';
import {
  diffPlan,
  filtersByName,
  planPeers,
  type ClusterModel,
  type LocalSpeaker,
  type OriginatedRoute,
  type PeerConfig,
  type SecretResolver,
} from '../../peers/index.js';
import type { Logger } from '../log.js';
import type { BfdCoupling } from './bfd.js';
import { grClear } from './graceful-restart.js';
import { clearMaxPrefix } from './max-prefix.js';
import type { PeerEntry } from './peer-entry.js';
import type { PeerProblems } from './peer-problems.js';
import { cutList } from './summary.js';
import { exportablePools, policiesFor, ribPeerOf, sessionConfigOf, type WiringOptions } from './wiring.js';

export interface PlanContext {
  nodeName: string;
  peers: Map<string, PeerEntry>;
  rib(): Rib;
  speaker(): Speaker;
  model(): ClusterModel;
  local(): LocalSpeaker;
  wiring: WiringOptions;
  bfd: BfdCoupling;
  problems: PeerProblems;
  log: Logger;
  scheduleFlush(): void;
  pump(e: PeerEntry): void;
  resolveSecret?: SecretResolver;
  ebgpFilterDefault?: 'calico' | 'rfc8212';
}

/** PeerConfig fields that live in the RIB peer config (ribPeerOf) rather than its policies: a change restarts the session. */
const RIB_PEER_FIELDS: ReadonlySet<string> = new Set(['nextHopMode', 'numAllowedLocalASNumbers']);

function sameRoute(a: OriginatedRoute, b: OriginatedRoute): boolean {
  return a.fib === b.fib && JSON.stringify([a.communities, a.largeCommunities]) === JSON.stringify([b.communities, b.largeCommunities]);
}

export class Planner {
  private current: PeerConfig[] = [];
  private readonly ours = new Map<string, OriginatedRoute>();
  /** policyInputs per filter list, for one model. */
  private policyInputsOf?: { model: ClusterModel; byFilters: Map<string, string> };

  constructor(private readonly c: PlanContext) {}

  /** The sessions planned now. */
  get plan(): readonly PeerConfig[] {
    return this.current;
  }
  /** What this node originates now, by prefix. */
  get originated(): ReadonlyMap<string, OriginatedRoute> {
    return this.ours;
  }

  /** The sessions this node should have, with secretKeyRef passwords resolved (peers/secrets.ts). */
  planFor(model: ClusterModel): PeerConfig[] {
    return planPeers(model, this.c.nodeName, { resolveSecret: this.c.resolveSecret });
  }

  applyOrigination(routes: OriginatedRoute[]): string[] {
    const rib = this.c.rib();
    const log = this.c.log;
    const effects: string[] = [];
    const next = new Map(routes.map((r) => [r.prefix, r]));
    const withdrawn: OriginatedRoute[] = [];
    const advertised: OriginatedRoute[] = [];
    for (const [prefix, r] of this.ours) {
      if (next.has(prefix)) continue;
      this.ours.delete(prefix);
      rib.withdrawOrigin(prefix);
      effects.push(`prefix ${prefix} withdrawn`);
      withdrawn.push(r);
    }
    for (const [prefix, r] of next) {
      const old = this.ours.get(prefix);
      if (old && sameRoute(old, r)) continue;
      this.ours.set(prefix, r);
      rib.originate(prefix, {
        origin: 0,
        asPath: [],
        communities: r.communities.length ? r.communities : undefined,
        largeCommunities: r.largeCommunities.length ? r.largeCommunities : undefined,
      });
      effects.push(`prefix ${prefix} advertised`);
      advertised.push(r);
    }
    cutList(
      withdrawn,
      (r) => log.info({ component: 'routes', prefix: r.prefix, origin: r.origin }, `withdrawing ${r.prefix}`),
      (n) => log.info({ component: 'routes', more: n }, `and ${n} more prefixes withdrawn`),
    );
    cutList(
      advertised,
      (r) => log.info({ component: 'routes', prefix: r.prefix, origin: r.origin, fib: r.fib }, `advertising ${r.prefix} (${r.reason})`),
      (n) => log.info({ component: 'routes', more: n }, `and ${n} more prefixes advertised (bgpctl show rib lists them)`),
    );
    return effects;
  }

  applyPlan(next: PeerConfig[]): string[] {
    const log = this.c.log;
    const effects: string[] = [];
    const d = diffPlan(this.current, next);
    for (const pc of d.removed) {
      this.removePeer(pc, 'BGPPeer or node removed from the config');
      effects.push(`session ${pc.key} removed`);
    }
    cutList(
      d.removed,
      (pc) => log.info({ component: 'plan', peer: pc.key }, `session with ${pc.key} removed (${pc.description})`),
      (n) => log.info({ component: 'plan', more: n }, `and ${n} more sessions removed`),
    );
    for (const ch of d.changed) {
      // Next hop mode and allowas-in live in the RIB's peer config, not in its policies: a change
      // restarts the session rather than being recorded and silently not applied.
      if (ch.restartNeeded || ch.fields.some((f) => RIB_PEER_FIELDS.has(f))) {
        this.removePeer(ch.before, `config changed (${ch.fields.join(', ')}): restarting`);
        this.addPeer(ch.after);
        effects.push(`session ${ch.after.key} restarted (${ch.fields.join(', ')})`);
        log.info({ component: 'plan', peer: ch.after.key, fields: ch.fields }, `session with ${ch.after.key} restarted: ${ch.fields.join(', ')} changed`);
      } else {
        const e = this.c.peers.get(ch.after.peerAddress);
        if (e) {
          e.cfg = ch.after;
          e.session.cfg.description = ch.after.description;
          this.softReconfigure(e, ch.after);
          // A session held down by max-prefix whose limit was raised past what tripped it, or
          // removed, starts again now rather than waiting for the operator or the interval.
          const trip = e.maxPrefixTrip;
          if (trip && ch.fields.includes('maxPrefixes') && (ch.after.maxPrefixes?.[trip.family]?.limit ?? Infinity) >= trip.received) {
            clearMaxPrefix(e);
            if (!e.adminDown && this.c.bfd.mayStart(e.cfg)) e.session.start();
          }
        }
        effects.push(`session ${ch.after.key} updated (${ch.fields.join(', ')})`);
      }
    }
    // A BGPFilter's rules or the exportable IPPools changed under a peer whose own configuration
    // did not: its policies were built from the old ones.
    for (const pc of d.unchanged) {
      const e = this.c.peers.get(pc.peerAddress);
      if (e && this.softReconfigure(e, pc)) effects.push(`session ${pc.key} policies updated (BGPFilter rules or IPPools changed)`);
    }
    for (const pc of d.added) {
      this.addPeer(pc);
      effects.push(`session ${pc.key} added`);
    }
    cutList(
      d.added,
      (pc) => log.info({ component: 'plan', peer: pc.key, kind: pc.kind, as: pc.peerAs }, `session with ${pc.key} added (${pc.description})`),
      (n) => log.info({ component: 'plan', more: n }, `and ${n} more sessions added (bgpctl show peers lists them)`),
    );
    this.current = next;
    this.c.bfd.plan();
    return effects;
  }

  /**
   * A mounted Secret changes without the model changing (the kubelet swaps the files): re-read
   * the passwords and apply the plan only when one of them changed, which restarts exactly the
   * sessions concerned (password is a restart field: RFC 2385 keys are fixed per connection).
   */
  recheckSecrets(): string[] {
    // Nothing to re-read unless some password is a secretKeyRef (planning a large cluster every
    // few seconds for nothing would be waste).
    const m = this.c.model();
    if (!m.bgpConfig.nodeMeshPassword?.secretKeyRef && !m.peers.some((p) => p.password?.secretKeyRef)) return [];
    const next = this.planFor(m);
    const before = new Map(this.current.map((p) => [p.key, p]));
    const changed = next.some((p) => {
      const b = before.get(p.key);
      return b !== undefined && (b.password !== p.password || b.passwordError !== p.passwordError || b.bfd?.auth?.key !== p.bfd?.auth?.key);
    });
    if (!changed) return [];
    const effects = this.applyPlan(next);
    this.c.scheduleFlush();
    this.c.log.info({ component: 'config', trigger: 'secrets' }, `passwords re-read: ${effects.join('; ')}`);
    return effects;
  }

  /** The model content a peer's policies are built from (wiring.ts policiesFor), line numbers aside. */
  private policyInputs(pc: PeerConfig): string {
    // Once per model and filter list, not per peer: 10k peers share a handful of lists, and a
    // reload serialised the same filters and pools 10k times on the main thread (issue 17).
    const model = this.c.model();
    if (this.policyInputsOf?.model !== model) this.policyInputsOf = { model, byFilters: new Map() };
    const key = JSON.stringify(pc.filters);
    let text = this.policyInputsOf.byFilters.get(key);
    if (text === undefined) {
      const inputs = [filtersByName(model.filters, pc.filters), exportablePools(model)];
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
    const p = policiesFor({ ...pc, key: e.id }, this.c.model(), { ebgpFilterDefault: this.c.ebgpFilterDefault });
    // Both keys, so a filter list that became empty also drops the old import policy.
    this.c.rib().setPolicies(e.id, { importPolicy: p.importPolicy, exportPolicy: p.exportPolicy });
    this.c.scheduleFlush();
    this.c.pump(e);
    this.c.log.info(
      { component: 'plan', peer: e.id, filters: pc.filters },
      `policies of ${e.id} replaced in place (filters ${pc.filters.join(', ') || 'none'})`,
    );
    return true;
  }

  private addPeer(pc: PeerConfig): void {
    const local = this.c.local();
    const session = this.c.speaker().addPeer(sessionConfigOf(pc, local, this.c.wiring), { start: false });
    const id = session.key;
    this.c.rib().addPeer(ribPeerOf({ ...pc, key: id }, local, this.c.model(), { ebgpFilterDefault: this.c.ebgpFilterDefault }));
    this.c.peers.set(id, { cfg: pc, session, id, eor: new Set(), adminDown: false, downSince: Date.now(), policyInputs: this.policyInputs(pc) });
    // A session that should have a password never runs without it (RFC 2385): it stays down,
    // and the log, `show neighbor` and /readyz say which secret is missing.
    if (pc.passwordError) {
      this.c.log.error({ component: 'session', peer: id, error: pc.passwordError }, `session with ${id} (${pc.description}) held down: ${pc.passwordError}`);
      return;
    }
    if (this.c.bfd.mayStart(pc)) session.start();
  }

  private removePeer(pc: PeerConfig, why: string): void {
    // Sessions are keyed by their cfg.peerAddress (Session.key): the planned address is the key.
    // (This was a scan of every session per planned peer: a reload of 10k BGPPeers held the
    // event loop for 22 s, issue 17.)
    const key = pc.peerAddress;
    const e = this.c.peers.get(key);
    if (!e) return;
    grClear(e);
    e.closing = true;
    const sp = this.c.speaker();
    sp.removePeer(key, undefined, why);
    clearMaxPrefix(e);
    sp.removePeer(key);
    this.c.rib().removePeer(e.id);
    this.c.problems.forget(e.id);
    this.c.peers.delete(key);
    this.c.scheduleFlush();
  }
}
