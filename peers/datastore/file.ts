/**
 * The file datastore (the embedded default): one multi-document YAML file of Calico resources,
 * watched for changes. A file that fails to parse is refused and the running model stays.
 * Every read is parsed off the main thread (model/load.ts), so a huge or hostile file never
 * stops the sessions, probes and control socket (issue 17).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ModelLoader, type LoadLimits } from '../model/load.js';
import { refusalOf } from './assembler.js';
import type { Datastore, DatastoreEvent, DatastoreStatus, ModelUpdate } from './types.js';

/** Quiet time after the last file event before re-reading. */
export const RELOAD_DEBOUNCE_MS = 10;

export interface FileDatastoreOptions {
  /** Watch the file's directory for changes (default true). */
  watch?: boolean;
  /** Bounds on one read (defaults: DEFAULT_LOAD_LIMITS, docs/configuration.md "Limits"). */
  limits?: LoadLimits;
  /** A line per phase of each read, for the log. */
  progress?: (text: string) => void;
}

export class FileDatastore implements Datastore {
  readonly kind = 'file' as const;
  private listener?: (e: DatastoreEvent) => void;
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;
  private current: DatastoreStatus;
  /** A watched read in progress, and whether the file changed again meanwhile. */
  private reading = false;
  private again = false;
  private closed = false;
  private readonly loader: ModelLoader;

  constructor(
    readonly path: string,
    private readonly opts: FileDatastoreOptions = {},
  ) {
    this.current = { kind: 'file', source: path, state: 'syncing', since: new Date() };
    this.loader = new ModelLoader(opts.limits, opts.progress);
  }

  async start(listener: (e: DatastoreEvent) => void): Promise<ModelUpdate> {
    this.listener = listener;
    const u = await this.read('start');
    if (this.opts.watch !== false) this.watch();
    return u;
  }

  async resync(trigger: string): Promise<ModelUpdate> {
    try {
      return await this.read(trigger);
    } catch (err) {
      this.refused(err);
      throw err;
    }
  }

  status(): DatastoreStatus {
    return { ...this.current };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.loader.close();
    this.watcher?.close();
    if (this.timer) clearTimeout(this.timer);
  }

  private async read(trigger: string): Promise<ModelUpdate> {
    const { model, warnings } = await this.loader.load(this.path);
    const now = new Date();
    this.current = { ...this.current, state: 'synced', since: this.current.state === 'synced' ? this.current.since : now, lastSync: now, detail: undefined };
    return { model, warnings, trigger };
  }

  /** The file is the model: a refused file is an error state until a good one is read. */
  private refused(err: unknown): ReturnType<typeof refusalOf> {
    const r = refusalOf(err);
    this.current = { ...this.current, state: 'error', since: new Date(), detail: r.errors[0] };
    return r;
  }

  private watch(): void {
    // Editors replace files (rename), so watch the directory and filter on the name.
    const dir = path.dirname(path.resolve(this.path));
    const base = path.basename(this.path);
    try {
      this.watcher = fs.watch(dir, (_ev, name) => {
        if (name !== base) return;
        // Coalesce the burst of events one save makes (truncate + write, or write + rename),
        // without delaying the change itself: a new IPAM block must reach every node's FIB
        // within 100 ms (issue 6; bench/propagation.ts), and a 150 ms debounce alone broke that.
        // A writer that needs longer than this between its writes can have a half-written file
        // refused (logged, running config kept) until its last write; write-then-rename avoids it.
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.changed(), RELOAD_DEBOUNCE_MS);
      });
      this.watcher.unref();
    } catch (err) {
      this.current = { ...this.current, detail: `cannot watch the file (${(err as Error).message}); use SIGHUP or bgpctl reload` };
    }
  }

  /** One read at a time: a change during a read is read once more when it finishes. */
  private async changed(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    const trigger = 'file changed';
    try {
      const update = await this.read(trigger);
      if (!this.closed) this.listener?.({ type: 'model', update });
    } catch (err) {
      const { errors, warnings } = this.refused(err);
      if (!this.closed) this.listener?.({ type: 'refused', trigger, errors, warnings });
    } finally {
      this.reading = false;
    }
    if (this.again && !this.closed) {
      this.again = false;
      void this.changed();
    }
  }
}
