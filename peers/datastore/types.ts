/**
 * The datastore seam: where the cluster model comes from (a file, the Kubernetes API, etcd).
 * Every datastore yields the same validated ClusterModel (peers/model), whole and consistent:
 * the planner, RIB and FIB cannot tell them apart, and a change is applied by the daemon as the
 * same plan diff whatever its source. A datastore never yields a half-synced model, and while
 * its source is unreachable it yields nothing: the last good model stays in force.
 */
import type { ClusterModel, ConfigIssue } from '../types.js';

export type DatastoreKind = 'file' | 'kubernetes' | 'etcd';

/**
 * - `syncing`: no complete model yet (initial list/read under way).
 * - `synced`: the model reflects the source as of `lastSync`, and changes are being watched.
 * - `stale`: the source is unreachable or a watch is down; the last good model stays in force.
 * - `error`: the source answers but its content is refused (invalid); the last good model stays.
 */
export type DatastoreState = 'syncing' | 'synced' | 'stale' | 'error';

export interface DatastoreStatus {
  kind: DatastoreKind;
  /** Where the model comes from: the file path, the API server URL, the etcd endpoints. */
  source: string;
  state: DatastoreState;
  /** When `state` last changed. */
  since: Date;
  /** When the model in force was produced (absent before the first one). */
  lastSync?: Date;
  /** Why the state is stale or error, for logs, /readyz and `bgpctl show status`. */
  detail?: string;
}

/** A complete, valid model and why it was produced ("file changed", "watch: BGPPeer/tor-a"). */
export interface ModelUpdate {
  model: ClusterModel;
  warnings: ConfigIssue[];
  trigger: string;
}

/** What a datastore tells its owner after start(). */
export type DatastoreEvent =
  | { type: 'model'; update: ModelUpdate }
  /** A new state of the source was refused (ConfigError issues, or another error as text). */
  | { type: 'refused'; trigger: string; errors: string[]; warnings: ConfigIssue[] }
  | { type: 'status'; status: DatastoreStatus };

export interface Datastore {
  readonly kind: DatastoreKind;
  /**
   * Resolves with the first complete model once the whole source has been read (every kind
   * listed). Rejects with ConfigError when it is invalid, or with an Error when the source
   * cannot be read at all: ternd does not start on a model it could not read.
   */
  start(listener: (e: DatastoreEvent) => void): Promise<ModelUpdate>;
  /**
   * Re-read now (SIGHUP, `bgpctl reload`) and resolve with the model, or reject as start() does.
   * The daemon applies the result itself; no 'model' event is emitted for it.
   */
  resync(trigger: string): Promise<ModelUpdate>;
  status(): DatastoreStatus;
  /** Stops watching; the model in force stays with the daemon. */
  close(): Promise<void>;
}
