// Reload: a new model from the datastore (watched change, SIGHUP, `bgpctl reload`) is checked,
// then handed to the daemon to adopt as a plan diff; a refused one leaves the running model in
// force and says why (log, `bgpctl reload`, the 'reloadFailed' event).
import { ConfigError, formatIssue, localSpeaker, type ClusterModel, type LocalSpeaker, type OriginatedRoute, type PeerConfig } from '../../peers/index.js';
import { refusalOf, type Datastore, type DatastoreStatus, type ModelUpdate } from '../../peers/datastore/index.js';
import type { Logger } from '../log.js';
import { cutList, summariseIssues } from './summary.js';
import type { ReloadOutcome } from './view.js';

export interface ReloadContext {
  nodeName: string;
  datastore: Datastore;
  log: Logger;
  local(): LocalSpeaker;
  /** ternd is shutting down: a reload still being prepared is not applied. */
  stopping(): boolean;
  /** The pure steps of adopting `model`, each its own call so a turn of the event loop can run between them. */
  prepare(model: ClusterModel): { routes(): PreparedRoutes; plan(): PreparedPlan };
  /** Make `model` the running one with what prepare computed; returns what changed (sessions, prefixes). */
  adopt(model: ClusterModel, local: LocalSpeaker, routes: PreparedRoutes, plan: PreparedPlan): string[];
  reloaded(effects: string[]): void;
  failed(errors: string[]): void;
}

/** SIGHUP and `bgpctl reload`: re-read the datastore now; a bad model is refused and the running one stays in force. */
export async function reload(c: ReloadContext, trigger: string): Promise<ReloadOutcome> {
  let update: ModelUpdate;
  try {
    update = await c.datastore.resync(trigger);
  } catch (err) {
    const { errors, warnings } = refusalOf(err);
    // The log gets the summary; bgpctl reload gets every warning.
    refuse(c, trigger, errors, summariseIssues(warnings));
    return { ok: false, errors, warnings: warnings.map(formatIssue) };
  }
  return applyModel(c, update);
}

export function refuse(c: ReloadContext, trigger: string, errors: string[], warnings: string[]): void {
  // The warnings first: the real cause of a refusal is often an "unknown field" one line up.
  for (const w of warnings) c.log.warn({ component: 'config', trigger }, w);
  cutList(
    errors,
    (e) => c.log.error({ component: 'config', trigger }, `config refused, running config stays in force: ${e}`),
    (n) => c.log.error({ component: 'config', trigger, more: n }, `config refused: and ${n} more errors (bgpctl reload lists them all)`),
    20,
  );
  c.failed(errors);
}

/** A datastore state change, as the log tells it. */
export function logDatastoreStatus(log: Logger, st: DatastoreStatus): void {
  const text = `datastore ${st.kind} ${st.state}${st.detail ? `: ${st.detail}` : ''}`;
  // Stale is a warning, not an error: the last good model stays in force, no route is
  // withdrawn and no session reset because the source went away.
  if (st.state === 'stale') log.warn({ component: 'datastore', state: st.state, since: st.since }, `${text}; the last good model stays in force`);
  else if (st.state !== 'error') log.info({ component: 'datastore', state: st.state }, text);
}

/** What a reload computes before it changes anything: the routes to originate, the sessions to have. */
export type PreparedRoutes = OriginatedRoute[];
export type PreparedPlan = PeerConfig[];

const queues = new WeakMap<ReloadContext['datastore'], Promise<unknown>>();

/**
 * Applies a new complete model as a diff: unchanged peers keep their sessions. One at a time, in
 * arrival order (per datastore): a reload waits for the one before it.
 */
export function applyModel(c: ReloadContext, update: ModelUpdate): Promise<ReloadOutcome> {
  const run = (queues.get(c.datastore) ?? Promise.resolve()).then(() => applyModelNow(c, update));
  queues.set(
    c.datastore,
    run.catch(() => undefined),
  );
  return run;
}

async function applyModelNow(c: ReloadContext, update: ModelUpdate): Promise<ReloadOutcome> {
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const { model, warnings, trigger } = update;
  let local: LocalSpeaker;
  try {
    local = localSpeaker(model, c.nodeName);
  } catch (err) {
    const errors = err instanceof ConfigError ? err.issues.filter((i) => i.severity === 'error').map(formatIssue) : [(err as Error).message];
    // The log gets the summary; bgpctl reload gets every warning.
    refuse(c, trigger, errors, summariseIssues(warnings));
    return { ok: false, errors, warnings: warnings.map(formatIssue) };
  }
  for (const w of summariseIssues(warnings)) c.log.warn({ component: 'config' }, w);
  const now = c.local();
  if (local.asNumber !== now.asNumber || local.routerId !== now.routerId || local.listenPort !== now.listenPort) {
    const msg = 'the node AS, router ID or listen port changed: restart ternd to apply';
    c.log.error({ component: 'config', trigger }, msg);
    c.failed([msg]);
    return { ok: false, errors: [msg], warnings: warnings.map(formatIssue) };
  }
  // The pure steps (routes to originate, sessions to have) each in their own turn of the event
  // loop, and nothing changed until both are done: with 250k IPAM blocks or 10k BGPPeers each
  // is tens of milliseconds that keepalives, probes and bgpctl need not wait behind (issue 17).
  const prep = c.prepare(model);
  const routes = prep.routes();
  await new Promise((r) => setImmediate(r));
  const plan = prep.plan();
  await new Promise((r) => setImmediate(r));
  if (c.stopping()) return { ok: false, errors: ['ternd is stopping: the new config was not applied'], warnings: warnings.map(formatIssue) };
  const effects = c.adopt(model, local, routes, plan);
  c.log.info(
    { component: 'config', trigger, effects: effects.length, ms: Math.round(performance.now() - started), cpuMs: cpuMsSince(cpu0) },
    effects.length
      ? `config reloaded (${trigger}): ${effects.slice(0, 10).join('; ')}${effects.length > 10 ? `; and ${effects.length - 10} more` : ''}`
      : `config reloaded (${trigger}): nothing changed`,
  );
  c.reloaded(effects);
  return { ok: true, effects, warnings: warnings.map(formatIssue) };
}

/** CPU time (user + system) since `from`, in ms: with `ms` it tells work from waiting for a CPU. */
function cpuMsSince(from: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return Math.round((u.user + u.system) / 1000);
}
