/**
 * The etcd datastore (Calico's etcdv3 mode, for bare metal and OpenStack): the reader over
 * ModelAssembler. It keeps the assembler's cache equal to etcd's content under the prefixes of
 * etcd-layout.ts, by one rule: the cache always reflects one etcd revision plus the events after
 * it, in order, with none skipped.
 *
 * 1. Full read: every prefix is range-read (in pages) at one revision R, so the cache is a
 *    consistent snapshot; `readRev` = R.
 * 2. Watch: one watch per prefix on one gRPC stream, each from its own revision + 1 (R + 1 after a
 *    full read); an event moves that prefix's revision to the event's mod_revision. Events at or
 *    below `readRev` are already in the snapshot and are skipped (a re-read overtook the stream).
 * 3. Compaction: etcd cancels a watch whose start revision it has compacted away (the response
 *    carries compact_revision). Resuming is then impossible without a gap, so step 1 runs again
 *    and the new snapshot replaces the cache (the daemon applies the difference as a plan diff).
 * 4. Lost connection (stream error, member down, member without quorum found by the probe):
 *    the state turns stale and the last good model stays in force (no event reaches the
 *    daemon, so no route is withdrawn and no session reset); reconnection retries with
 *    exponential backoff and jitter, each attempt on the endpoints in shuffled order, and resumes
 *    each watch from its revision (step 2) or re-reads (step 3).
 * The etcd3 client's own watch manager is not used: after a reconnect it resumes from the last
 * response header's revision, which can pass over events of a catch-up batch not yet delivered.
 */
import fs from 'node:fs';
import { handleWhen, noop, retry } from 'cockatiel';
import { Etcd3, isRecoverableError, type IOptions, type IKeyValue, type IWatchRequest, type IWatchResponse, type IDuplexStream } from 'etcd3';
import { ModelAssembler } from './assembler.js';
import { translate, WATCHED_PREFIXES } from './etcd-layout.js';
import type { Datastore, DatastoreEvent, DatastoreStatus, ModelUpdate } from './types.js';

export interface EtcdDatastoreOptions {
  /** `http://host:port` or `https://host:port` (all the same scheme). */
  endpoints: string[];
  /** PEM files: client certificate and key (mutual TLS), and the CA that signed the servers'. */
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  username?: string;
  password?: string;
  /** Keys per range-read page. Default PAGE_SIZE. */
  pageSize?: number;
  /** Reconnect backoff: first delay and cap (ms). Default 200 and 5000. */
  backoffMs?: { initial: number; max: number };
  /** How often a linearizable read checks that the watched member still has a quorum (ms). Default 3000. */
  probeIntervalMs?: number;
  /** Per-request deadline (ms). Default 5000. */
  requestTimeoutMs?: number;
  /** Notable events (a re-read after compaction, a reconnect) for the daemon's log. */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

/** Thrown inside the reader when etcd compacted past a watch's start revision. */
class Compacted extends Error {
  constructor(readonly compactRevision: number) {
    super(`etcd compacted history up to revision ${compactRevision}`);
  }
}

/**
 * Keys per range-read page: an IPAM block's value is under 1 KB (64 addresses), so a page stays
 * well below MAX_MESSAGE; a /20 block (4,096 addresses) is about 40 KB, 80 MB a page at worst.
 */
const PAGE_SIZE = 2000;
/** gRPC's default limit is 4 MB per message; a page of large blocks can exceed it. */
const MAX_MESSAGE = 256 * 1024 * 1024;

const prefixEnd = (p: string): Buffer => {
  const b = Buffer.from(p);
  b[b.length - 1]++;
  return b;
};

export class EtcdDatastore implements Datastore {
  readonly kind = 'etcd' as const;
  private readonly asm: ModelAssembler;
  private readonly client: Etcd3;
  /** Revision of the last full read: events at or below it are already in the cache. */
  private readRev = 0;
  /** Per watched prefix: the revision the cache reflects for it. */
  private readonly revs = new Map<string, number>();
  private stream?: WatchStream;
  private reconnecting = false;
  private closed = false;
  private probe?: NodeJS.Timeout;
  private pendingCreate?: { left: Set<string>; resolve: () => void; reject: (e: Error) => void };

  constructor(private readonly o: EtcdDatastoreOptions) {
    if (!o.endpoints.length) throw new Error('no etcd endpoints');
    this.asm = new ModelAssembler('etcd', o.endpoints.join(','));
    const tls = o.caFile || o.certFile || o.keyFile;
    const timeout = o.requestTimeoutMs ?? 5000;
    const options: IOptions = {
      hosts: o.endpoints,
      dialTimeout: timeout,
      grpcOptions: { 'grpc.max_receive_message_length': MAX_MESSAGE },
      // Each retry of a failed call goes to another endpoint (the pool shuffles them). No
      // per-endpoint circuit breaker: the client counts the cancel of a stream we drop ourselves
      // as a failure, and an open breaker would refuse the very re-read that follows.
      // Longer waits are this reader's own backoff (reconnect()).
      faultHandling: {
        global: retry(handleWhen(isRecoverableError), { maxAttempts: o.endpoints.length }),
        host: () => noop,
      },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    };
    if (tls) {
      // A missing CA file means the system's roots (grpc's default), as etcdctl does.
      options.credentials = {
        rootCertificate: o.caFile ? fs.readFileSync(o.caFile) : (undefined as unknown as Buffer),
        privateKey: o.keyFile ? fs.readFileSync(o.keyFile) : undefined,
        certChain: o.certFile ? fs.readFileSync(o.certFile) : undefined,
      };
    }
    if (o.username !== undefined) options.auth = { username: o.username, password: o.password ?? '' };
    this.client = new Etcd3(options);
  }

  async start(listener: (e: DatastoreEvent) => void): Promise<ModelUpdate> {
    this.asm.listen(listener);
    try {
      await this.fullRead('initial read');
    } catch (err) {
      throw new Error(`cannot read the model from etcd (${this.o.endpoints.join(',')}): ${(err as Error).message}`);
    }
    const first = this.asm.synced();
    void this.reconnect('watch');
    this.probe = setInterval(() => void this.checkQuorum(), this.o.probeIntervalMs ?? 3000);
    this.probe.unref();
    return first;
  }

  /** SIGHUP / `bgpctl reload`: a fresh consistent read, returned to the daemon directly. */
  async resync(trigger: string): Promise<ModelUpdate> {
    await this.fullRead(trigger);
    return this.asm.build(trigger);
  }

  status(): DatastoreStatus {
    return this.asm.status();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probe) clearInterval(this.probe);
    this.dropStream();
    this.asm.close();
    this.client.close();
  }

  /**
   * Step 1: every prefix at one revision (the first answer's), read concurrently in pages; the
   * cache's entries under each prefix are replaced.
   */
  private async fullRead(why: string): Promise<void> {
    const head = await this.client.kv.range({ key: Buffer.from(WATCHED_PREFIXES[0]), range_end: prefixEnd(WATCHED_PREFIXES[0]), count_only: true });
    const rev = Number(head.header.revision);
    const pages = await Promise.all(
      WATCHED_PREFIXES.map(async (prefix) => {
        const kvs: IKeyValue[] = [];
        let from = Buffer.from(prefix);
        for (;;) {
          const res = await this.client.kv.range({ key: from, range_end: prefixEnd(prefix), revision: rev, limit: this.o.pageSize ?? PAGE_SIZE });
          kvs.push(...res.kvs);
          if (!res.more || !res.kvs.length) break;
          from = Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.from([0])]);
        }
        return [prefix, kvs] as const;
      }),
    );
    for (const [prefix, kvs] of pages) {
      const entries: [string, unknown, number][] = [];
      const bad: [string, string][] = [];
      for (const kv of kvs) {
        const key = kv.key.toString();
        const rev = Number(kv.mod_revision);
        // A re-read (compaction, SIGHUP) of 45,000 keys translates and decodes only those
        // whose mod_revision moved: the assembler keeps the others as they are.
        if (this.asm.versionOf(key) === rev) {
          entries.push([key, undefined, rev]);
          continue;
        }
        const t = translate(key, kv.value.toString());
        if (t.type === 'resource') entries.push([key, t.resource, rev]);
        else if (t.type === 'invalid') bad.push([key, t.message]);
      }
      this.asm.replace(prefix, entries);
      for (const [key, why] of bad) this.asm.setUndecodable(key, why);
      this.revs.set(prefix, rev);
    }
    this.readRev = rev;
    this.o.log?.(`etcd read at revision ${rev} (${why})`, { revision: rev, keys: pages.reduce((n, [, k]) => n + k.length, 0) });
  }

  /**
   * Steps 2-4: (re)open the watch stream, with backoff until it works or close(). `reread`:
   * a running watch was canceled for compaction, so resuming needs a full read first.
   */
  private async reconnect(why: string, reread = false): Promise<void> {
    if (this.reconnecting || this.closed) return;
    this.reconnecting = true;
    const { initial, max } = this.o.backoffMs ?? { initial: 200, max: 5000 };
    let delay = initial;
    let attempt = 0;
    let compactedAt = 0;
    while (!this.closed) {
      attempt++;
      try {
        if (reread) {
          await this.fullRead(`compacted at ${compactedAt}`);
          reread = false;
          this.asm.changed(`etcd re-read after compaction at revision ${compactedAt}`);
        }
        // A member without quorum still creates watches (and then sends nothing): only a
        // linearizable read, which needs the leader, says the cluster is back.
        await this.quorumRead();
        await this.openWatches();
        break;
      } catch (err) {
        if (this.closed) break;
        if (err instanceof Compacted) {
          // etcd no longer has the events after our revision: no resume without a gap.
          this.o.log?.(`etcd watch start revision was compacted (compact revision ${err.compactRevision}): re-reading`, {
            compactRevision: err.compactRevision,
          });
          compactedAt = err.compactRevision;
          reread = true;
          continue;
        }
        this.dropStream();
        this.asm.stale(`etcd unreachable (${why}, attempt ${attempt}): ${(err as Error).message}`);
        // Jitter: nodes that lost etcd together do not come back in step.
        await new Promise((r) => setTimeout(r, delay / 2 + (Math.random() * delay) / 2));
        delay = Math.min(max, delay * 2);
      }
    }
    this.reconnecting = false;
    if (!this.closed && attempt > 1) this.o.log?.(`etcd watch resumed after ${attempt} attempts`, { attempt });
    this.asm.recovered();
  }

  /** One stream, one watch per prefix from its revision + 1; resolves when all are created. */
  private async openWatches(): Promise<void> {
    this.dropStream();
    const stream = await this.client.watchClient.watch();
    this.stream = stream;
    stream.on('data', (res: IWatchResponse) => this.onWatch(stream, res));
    stream.on('error', (err: Error) => this.streamLost(stream, err));
    stream.on('end', () => this.streamLost(stream, new Error('watch stream ended')));
    const created = new Promise<void>((resolve, reject) => {
      this.pendingCreate = { left: new Set(WATCHED_PREFIXES.map((_, i) => String(i + 1))), resolve, reject };
    });
    WATCHED_PREFIXES.forEach((prefix, i) => {
      stream.write({
        create_request: {
          key: Buffer.from(prefix),
          range_end: prefixEnd(prefix),
          start_revision: (this.revs.get(prefix) ?? this.readRev) + 1,
          watch_id: i + 1,
          progress_notify: true,
        },
      });
    });
    const timeout = this.o.requestTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        created,
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => rej(new Error(`no watch created within ${timeout} ms`)), timeout);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.pendingCreate = undefined;
    }
  }

  private onWatch(stream: WatchStream, res: IWatchResponse): void {
    if (stream !== this.stream) return;
    const id = String(res.watch_id);
    const prefix = WATCHED_PREFIXES[Number(id) - 1];
    if (res.canceled) {
      const compacted = Number(res.compact_revision);
      const err = compacted > 0 ? new Compacted(compacted) : new Error(`watch canceled: ${res.cancel_reason || 'no reason given'}`);
      this.streamLost(stream, err);
      return;
    }
    if (res.created) {
      const p = this.pendingCreate;
      if (p) {
        p.left.delete(id);
        if (!p.left.size) p.resolve();
      }
      return;
    }
    if (!prefix) return;
    if (!res.events.length) {
      // A progress notification: every event of this watch up to header.revision was sent.
      this.revs.set(prefix, Math.max(this.revs.get(prefix) ?? 0, Number(res.header.revision)));
      return;
    }
    for (const ev of res.events) {
      const rev = Number(ev.kv.mod_revision);
      this.revs.set(prefix, Math.max(this.revs.get(prefix) ?? 0, rev));
      if (rev <= this.readRev) continue;
      const key = ev.kv.key.toString();
      if (ev.type === 'Delete') {
        if (this.asm.delete(key)) this.asm.changed(`etcd delete ${key}`);
        continue;
      }
      const t = translate(key, ev.kv.value.toString());
      if (t.type === 'ignored') continue;
      if (t.type === 'resource') {
        this.asm.set(key, t.resource, rev);
      } else this.asm.setUndecodable(key, t.message);
      this.asm.changed(`etcd put ${key}`);
    }
  }

  /**
   * The stream failed after it was set up: stale until reconnect() has resumed. A running watch
   * that etcd cancels for compaction (it fell behind) meets the compaction again on resuming
   * and re-reads there.
   */
  private streamLost(stream: WatchStream, err: Error): void {
    if (stream !== this.stream || this.closed) return;
    if (this.pendingCreate) {
      this.pendingCreate.reject(err);
      return;
    }
    this.dropStream();
    if (err instanceof Compacted) {
      this.o.log?.(`etcd canceled the watch for compaction (compact revision ${err.compactRevision}): re-reading`, { compactRevision: err.compactRevision });
      void this.reconnect(err.message, true);
      return;
    }
    this.asm.stale(`etcd watch lost: ${err.message}`);
    void this.reconnect(err.message);
  }

  /**
   * A member that lost its quorum keeps an open watch silent, so a linearizable read (which
   * needs the leader) checks now and then that the watched cluster still answers.
   */
  private async checkQuorum(): Promise<void> {
    const stream = this.stream;
    if (!stream || this.reconnecting || this.closed) return;
    try {
      await this.quorumRead();
    } catch (err) {
      this.streamLost(stream, new Error(`no answer from etcd: ${(err as Error).message}`));
    }
  }

  /** A linearizable (the default) count-only read: answered only where a leader is known. */
  private async quorumRead(): Promise<void> {
    await this.client.kv.range({ key: Buffer.from(WATCHED_PREFIXES[0]), range_end: prefixEnd(WATCHED_PREFIXES[0]), count_only: true });
  }

  private dropStream(): void {
    const s = this.stream;
    this.stream = undefined;
    if (!s) return;
    s.on('error', () => undefined);
    try {
      s.cancel();
    } catch {
      /* already closed */
    }
  }
}
