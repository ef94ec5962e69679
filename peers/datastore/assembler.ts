/**
 * Everything above the reader that the watched datastores (Kubernetes, etcd) share: the live
 * model a reader keeps up to date (each Calico-shaped resource is decoded as it is set, and only
 * its decoded form is kept: peers/model/live.ts), the rule that no model is built before the
 * initial read is complete, coalescing of event bursts into one rebuild, and the status an
 * operator sees. A reader (informers, an etcd watch) only translates its source's objects into
 * Calico v3 resources and calls set/delete/replace, then changed(), synced() or stale().
 */
import { ConfigError, formatIssue, type ConfigIssue } from '../types.js';
import { LiveModel } from '../model/live.js';
import type { DatastoreEvent, DatastoreKind, DatastoreStatus, ModelUpdate } from './types.js';

/** Coalesce a burst of watch events (a re-list, a kubectl apply of many objects) into one rebuild. */
export const REBUILD_DELAY_MS = 5;

/** The error lines and the warnings of a refused model (ConfigError), or the error's text. */
export function refusalOf(err: unknown): { errors: string[]; warnings: ConfigIssue[] } {
  if (!(err instanceof ConfigError)) return { errors: [(err as Error).message ?? String(err)], warnings: [] };
  return {
    errors: err.issues.filter((i) => i.severity === 'error').map(formatIssue),
    warnings: err.issues.filter((i) => i.severity === 'warning'),
  };
}

export class ModelAssembler {
  /** What the Calico-shaped resources decoded to, by a reader-chosen key (e.g. `BGPPeer/tor-a`, or the etcd key). */
  private readonly live: LiveModel;
  /** Keys whose source object the reader could not decode, with why: the model is refused naming them. */
  private readonly undecodable = new Map<string, string>();
  /** Issues a reader found translating its objects (values Calico too would ignore), by the same keys. */
  private readonly readerWarnings = new Map<string, ConfigIssue[]>();
  private current: DatastoreStatus;
  private listener?: (e: DatastoreEvent) => void;
  private timer?: NodeJS.Timeout;
  private triggers: string[] = [];
  private initialDone = false;
  /** Why the latest rebuild was refused (cleared by a good one): what recovered() returns to. */
  private refusal?: string;

  constructor(
    readonly kind: DatastoreKind,
    source: string,
  ) {
    this.current = { kind, source, state: 'syncing', since: new Date() };
    this.live = new LiveModel(kind);
  }

  listen(fn: (e: DatastoreEvent) => void): void {
    this.listener = fn;
  }

  /**
   * The resource at `key` is `resource`, decoded now. `version` (a resourceVersion, a
   * mod_revision) is remembered: set again with the same version, nothing is decoded.
   */
  set(key: string, resource: unknown, version?: string | number): void {
    this.undecodable.delete(key);
    this.live.set(key, resource, version);
  }

  /** The version `key` was last set with. */
  versionOf(key: string): string | number | undefined {
    return this.live.versionOf(key);
  }

  /**
   * The object at `key` could not be decoded (not JSON, wrong kind for its key): like an invalid
   * resource, it refuses every model until it is fixed or deleted, and the refusal names `key`.
   */
  setUndecodable(key: string, why: string): void {
    this.live.delete(key);
    this.undecodable.set(key, why);
  }

  delete(key: string): boolean {
    const bad = this.undecodable.delete(key);
    this.readerWarnings.delete(key);
    return this.live.delete(key) || bad;
  }

  /** Warnings about the object behind `key` that the reader dropped values of; shown with the model's. */
  warn(key: string, issues: ConfigIssue[]): void {
    if (issues.length) this.readerWarnings.set(key, issues);
    else this.readerWarnings.delete(key);
  }

  /**
   * A re-list of everything under `prefix`: what is absent from `entries` is gone. An entry with
   * the version its key already has is kept as it is (its resource is not read: it may be omitted).
   */
  replace(prefix: string, entries: Iterable<readonly [string, unknown, (string | number)?]>): void {
    const present = new Set<string>();
    for (const [k, v, version] of entries) {
      present.add(k);
      if (version !== undefined && version === this.live.versionOf(k)) continue;
      this.undecodable.delete(k);
      this.live.set(k, v, version);
    }
    for (const k of [...this.live.keys()]) if (k.startsWith(prefix) && !present.has(k)) this.live.delete(k);
    for (const k of [...this.undecodable.keys()]) if (k.startsWith(prefix) && !present.has(k)) this.undecodable.delete(k);
    for (const k of [...this.readerWarnings.keys()]) if (k.startsWith(prefix) && !present.has(k)) this.readerWarnings.delete(k);
  }

  get size(): number {
    return this.live.size;
  }

  /** Build a model from the cache now (throws ConfigError). */
  build(trigger: string): ModelUpdate {
    const bad: ConfigIssue[] = [...this.undecodable].map(([key, why]) => ({ severity: 'error', file: this.kind, line: 0, resource: key, message: why }));
    try {
      const { model, warnings } = this.live.build();
      if (bad.length) throw new ConfigError([...bad, ...warnings]);
      return { model, warnings: [...[...this.readerWarnings.values()].flat(), ...warnings], trigger };
    } catch (err) {
      if (bad.length && err instanceof ConfigError && !err.issues.includes(bad[0])) throw new ConfigError([...bad, ...err.issues]);
      throw err;
    }
  }

  /** The initial read is complete: the first model (throws ConfigError: nothing runs on a bad one). */
  synced(): ModelUpdate {
    const u = this.build('initial sync');
    this.initialDone = true;
    this.setState('synced');
    this.current.lastSync = new Date();
    return u;
  }

  /** The reader changed the cache: rebuild soon, once for a burst. Ignored before synced(). */
  changed(trigger: string): void {
    if (!this.initialDone) return;
    this.triggers.push(trigger);
    if (this.timer) return;
    this.timer = setTimeout(() => this.rebuild(), REBUILD_DELAY_MS);
  }

  /** The source is unreachable or a watch broke: the model in force stays; say since when. */
  stale(detail: string): void {
    // Before the first model there is nothing to keep: still syncing, but say what fails.
    if (!this.initialDone) {
      if (this.current.detail !== detail) this.setState('syncing', detail);
      return;
    }
    if (this.current.state === 'stale' && this.current.detail === detail) return;
    this.setState('stale', detail);
  }

  /** The reader is connected and caught up again (after a re-read diffed into the cache). */
  recovered(): void {
    // Back to what the content was: a refused change is still refused after an outage.
    if (this.current.state === 'stale') this.setState(this.refusal ? 'error' : 'synced', this.refusal);
  }

  status(): DatastoreStatus {
    return { ...this.current };
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private rebuild(): void {
    this.timer = undefined;
    const why = this.triggers.length > 3 ? `${this.triggers.slice(0, 3).join(', ')} and ${this.triggers.length - 3} more` : this.triggers.join(', ');
    this.triggers = [];
    try {
      const update = this.build(why);
      this.refusal = undefined;
      if (this.current.state === 'error') this.setState('synced');
      this.current.lastSync = new Date();
      this.listener?.({ type: 'model', update });
    } catch (err) {
      const { errors, warnings } = refusalOf(err);
      this.refusal = errors[0];
      // While stale the source is away: the refusal shows once it is back (recovered()).
      if (this.current.state !== 'stale') this.setState('error', errors[0]);
      this.listener?.({ type: 'refused', trigger: why, errors, warnings });
    }
  }

  private setState(state: DatastoreStatus['state'], detail?: string): void {
    this.current = { ...this.current, state, since: new Date(), detail };
    this.listener?.({ type: 'status', status: this.status() });
  }
}
