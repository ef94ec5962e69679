/**
 * The file datastore (the embedded default): one multi-document YAML file of Calico resources,
 * watched for changes. A file that fails to parse is refused and the running model stays.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadModelFile } from '../model/parse.js';
import { refusalOf } from './assembler.js';
import type { Datastore, DatastoreEvent, DatastoreStatus, ModelUpdate } from './types.js';

/** Quiet time after the last file event before re-reading. */
export const RELOAD_DEBOUNCE_MS = 10;

export interface FileDatastoreOptions {
  /** Watch the file's directory for changes (default true). */
  watch?: boolean;
}

export class FileDatastore implements Datastore {
  readonly kind = 'file' as const;
  private listener?: (e: DatastoreEvent) => void;
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;
  private current: DatastoreStatus;

  constructor(readonly path: string, private readonly opts: FileDatastoreOptions = {}) {
    this.current = { kind: 'file', source: path, state: 'syncing', since: new Date() };
  }

  async start(listener: (e: DatastoreEvent) => void): Promise<ModelUpdate> {
    this.listener = listener;
    const u = this.read('start');
    if (this.opts.watch !== false) this.watch();
    return u;
  }

  async resync(trigger: string): Promise<ModelUpdate> {
    try {
      return this.read(trigger);
    } catch (err) {
      this.refused(err);
      throw err;
    }
  }

  status(): DatastoreStatus {
    return { ...this.current };
  }

  async close(): Promise<void> {
    this.watcher?.close();
    if (this.timer) clearTimeout(this.timer);
  }

  private read(trigger: string): ModelUpdate {
    const { model, warnings } = loadModelFile(this.path);
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
        this.timer = setTimeout(() => this.changed(), RELOAD_DEBOUNCE_MS);
      });
      this.watcher.unref();
    } catch (err) {
      this.current = { ...this.current, detail: `cannot watch the file (${(err as Error).message}); use SIGHUP or bgpctl reload` };
    }
  }

  private changed(): void {
    const trigger = 'file changed';
    try {
      this.listener?.({ type: 'model', update: this.read(trigger) });
    } catch (err) {
      const { errors, warnings } = this.refused(err);
      this.listener?.({ type: 'refused', trigger, errors, warnings });
    }
  }
}
