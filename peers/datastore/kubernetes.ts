/**
 * The Kubernetes datastore: the cluster model read from the API server through
 * @kubernetes/client-node's list+watch (one ListWatch per resource), in Calico's KDD layout or
 * in plain mode (Nodes' podCIDRs as blocks). Each object is translated (k8s-objects.ts) into a
 * Calico v3 resource in the ModelAssembler, which builds, validates and coalesces.
 *
 * Watches that survive: the informer resumes from its last resourceVersion (bookmarks keep it
 * fresh), re-lists on 410 Gone, and stops on any other failure; we restart it from its `error`
 * handler after a backoff with jitter, and meanwhile the state is `stale` with the last good
 * model in force (nothing is withdrawn, no session reset). No model exists before every
 * resource's first list and every referenced Secret have been read.
 *
 * One file on purpose (~480 lines): the KubernetesDatastore owns every ListWatch, its backoff and
 * the sync state it reports, and each of those reads and writes the same per-resource feeds; the
 * object translation is k8s-objects.ts.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import {
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  ListWatch,
  Watch,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { ModelAssembler } from './assembler.js';
import type { Datastore, DatastoreEvent, DatastoreStatus, ModelUpdate } from './types.js';
import {
  CALICO_CRDS,
  CALICO_GROUP,
  CALICO_VERSION,
  secretRefs,
  slimObject,
  translateCrd,
  translateNamespaced,
  translateNode,
  translateSecret,
  type K8sNode,
  type K8sObject,
  type KubernetesMode,
  type Translated,
} from './k8s-objects.js';
import { Backoff } from './backoff.js';

export interface KubernetesDatastoreOptions {
  mode: KubernetesMode;
  /** A kubeconfig file; otherwise $KUBECONFIG, otherwise the in-cluster service account. */
  kubeconfig?: string;
  /** Where the BGP password Secrets live (calico-node reads $NAMESPACE, default kube-system). */
  secretNamespace: string;
  /** How often referenced Secrets are re-read (they are read with `get` only), in ms. */
  secretRefreshMs?: number;
  /** Plain mode: a file of Calico resources (BGPConfiguration, BGPPeer, BGPFilter, IPPool, Secret) for clusters without the CRDs. */
  configFile?: string;
  /** Restart backoff of a failed watch (ms); jitter is added. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** Server-side watch timeout; the informer then resumes from its resourceVersion (default 300-600 s, randomized). */
  watchTimeoutSeconds?: number;
}

/**
 * Objects per list page. Small pages hold ternd's memory down: a page's objects are alive
 * while it is read and decoded, and what outlives a young-generation collection is promoted
 * and left behind as old-space garbage. At 5,000 nodes and 20,000 blocks + affinities, pages
 * of 100 left ternd about 20 MiB smaller than pages of 500 (smaller pages gained little more).
 */
const LIST_PAGE = 100;

/** Retry a resource whose CRD is not installed this often (it may be installed later). */
const NOT_INSTALLED_RETRY_MS = 30_000;

/** One list+watch of one resource, feeding the assembler under `${prefix}`. */
interface Feed {
  what: string;
  informer: ListWatch<KubernetesObject>;
  listed: boolean;
  /** The last list or watch attempt failed and no later one succeeded. */
  failing?: string;
  notInstalled: boolean;
  backoff: Backoff;
  timer?: NodeJS.Timeout;
}

/**
 * A Watch that tells when the API server accepted the watch (the informer does not), and passes
 * each added or modified object through `intake` (into the assembler; the informer gets a stub).
 */
class ObservedWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly onStarted: () => void,
    private readonly intake: (o: KubernetesObject) => KubernetesObject,
  ) {
    super(kc);
  }

  override async watch(
    path: string,
    params: Record<string, string | number | boolean | undefined>,
    cb: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    let ended = false;
    const slimmed = (phase: string, o: unknown, w?: unknown) =>
      cb(phase, phase === 'ADDED' || phase === 'MODIFIED' ? this.intake(o as KubernetesObject) : o, w);
    const c = await super.watch(path, params, slimmed, (err) => {
      ended = true;
      done(err);
    });
    if (!ended) this.onStarted();
    return c;
  }
}

export class KubernetesDatastore implements Datastore {
  readonly kind = 'kubernetes' as const;
  private readonly kc = new KubeConfig();
  private readonly assembler: ModelAssembler;
  private readonly feeds: Feed[] = [];
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly discovery: DiscoveryV1Api;
  /** Secret name -> resource keys that refer to it. */
  private readonly secretUsers = new Map<string, Set<string>>();
  /** Entries derived from one object besides its own (a plain-mode node's podCIDR blocks). */
  private readonly subKeys = new Map<string, string[]>();
  /** What each Secret held when last read (its resource as JSON): a re-read that finds the same changes nothing. */
  private readonly secretSeen = new Map<string, string>();
  private secretTimer?: NodeJS.Timeout;
  private secretsFailing?: string;
  private closed = false;
  private initial?: { resolve: (u: ModelUpdate) => void; reject: (e: unknown) => void };

  constructor(private readonly opts: KubernetesDatastoreOptions) {
    const file = opts.kubeconfig ?? process.env.KUBECONFIG;
    if (file) this.kc.loadFromFile(file);
    else this.kc.loadFromCluster();
    const server = this.kc.getCurrentCluster()?.server;
    if (!server) throw new Error(`no API server in ${file ? `kubeconfig ${file}` : 'the in-cluster configuration'}`);
    this.assembler = new ModelAssembler('kubernetes', `${server} (${opts.mode} mode)`);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.custom = this.kc.makeApiClient(CustomObjectsApi);
    this.discovery = this.kc.makeApiClient(DiscoveryV1Api);
  }

  start(listener: (e: DatastoreEvent) => void): Promise<ModelUpdate> {
    this.assembler.listen(listener);
    if (this.opts.configFile) this.readConfigFile();
    const watchPath = (p: string) => {
      const t = this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
      return `${p}?allowWatchBookmarks=true&timeoutSeconds=${t}`;
    };
    this.addFeed(
      'nodes',
      'Node',
      watchPath('/api/v1/nodes'),
      (cont) => this.core.listNode({ limit: LIST_PAGE, _continue: cont }),
      (o) => translateNode(o as K8sNode, this.opts.mode, 'kubernetes'),
    );
    for (const { kind, plural } of CALICO_CRDS) {
      // Plain mode takes blocks from podCIDRs: Calico IPAM objects, if any, are not read.
      if (this.opts.mode === 'plain' && (kind === 'IPAMBlock' || kind === 'BlockAffinity')) continue;
      const list = (cont?: string) =>
        this.custom.listClusterCustomObject({ group: CALICO_GROUP, version: CALICO_VERSION, plural, limit: LIST_PAGE, _continue: cont }) as Promise<
          KubernetesListObject<KubernetesObject>
        >;
      this.addFeed(plural, kind, watchPath(`/apis/${CALICO_GROUP}/${CALICO_VERSION}/${plural}`), list, (o) => ({
        entries: [translateCrd(kind, o as K8sObject)],
        warnings: [],
      }));
    }
    // Services and their EndpointSlices, for per-service routes (confd routes.go; peers/routes.ts
    // serviceRoutes), in every namespace, as calico-node watches them.
    this.addFeed(
      'services',
      'Service',
      watchPath('/api/v1/services'),
      (cont) => this.core.listServiceForAllNamespaces({ limit: LIST_PAGE, _continue: cont }) as Promise<KubernetesListObject<KubernetesObject>>,
      (o) => ({ entries: [translateNamespaced('Service', o as K8sObject)], warnings: [] }),
    );
    this.addFeed(
      'endpointslices',
      'EndpointSlice',
      watchPath('/apis/discovery.k8s.io/v1/endpointslices'),
      (cont) => this.discovery.listEndpointSliceForAllNamespaces({ limit: LIST_PAGE, _continue: cont }) as Promise<KubernetesListObject<KubernetesObject>>,
      (o) => ({ entries: [translateNamespaced('EndpointSlice', o as K8sObject)], warnings: [] }),
    );
    const first = new Promise<ModelUpdate>((resolve, reject) => {
      this.initial = { resolve, reject };
    });
    for (const f of this.feeds) this.startFeed(f);
    return first;
  }

  async resync(trigger: string): Promise<ModelUpdate> {
    if (this.opts.configFile) this.readConfigFile();
    await this.refreshSecrets();
    return this.assembler.build(trigger);
  }

  status(): DatastoreStatus {
    return this.assembler.status();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.secretTimer);
    for (const f of this.feeds) {
      clearTimeout(f.timer);
      await f.informer.stop();
    }
    this.assembler.close();
  }

  private addFeed(
    what: string,
    kind: string,
    path: string,
    list: (cont?: string) => Promise<KubernetesListObject<KubernetesObject>>,
    translate: (o: KubernetesObject) => Translated,
  ): void {
    const feedPrefix = `${kind}/`;
    // Services and EndpointSlices are namespaced: their keys carry the namespace.
    const namespaced = kind === 'Service' || kind === 'EndpointSlice';
    const keyOf = (o: KubernetesObject) =>
      namespaced ? `${kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}` : `${kind}/${o.metadata?.name ?? ''}`;
    const f: Feed = {
      what,
      listed: false,
      notInstalled: false,
      backoff: new Backoff(this.opts.backoffMinMs ?? 500, this.opts.backoffMaxMs ?? 30_000),
      informer: undefined as never,
    };
    /** Secrets an object newly refers to, until its add/update callback has them read. */
    const freshSecrets = new Map<string, string[]>();
    /**
     * The informer keeps every object it has seen, to diff re-lists and to tell updates from
     * repeats; it needs only name and resourceVersion for that. So each object is translated
     * into the assembler here, on its way in (list items and ADDED/MODIFIED events), where it
     * is decoded at once and only its decoded form kept, and the informer caches a stub of
     * the name and resourceVersion: 45,000 objects are held once, decoded, not three times.
     * An object seen again with the resourceVersion the assembler has (a re-list) is not put again.
     */
    const intake = (o: KubernetesObject): KubernetesObject => {
      const key = keyOf(o);
      const rv = o.metadata?.resourceVersion;
      if (rv === undefined || this.assembler.versionOf(key) !== rv) {
        const t = translate(slimObject(kind, o as K8sObject) as KubernetesObject);
        // A node's podCIDR blocks (plain mode) hang off its key: drop those it no longer has.
        for (const k of this.subKeys.get(key) ?? []) this.assembler.delete(k);
        for (const [k, v] of t.entries.slice(1)) this.assembler.set(k, v);
        if (t.entries.length > 1)
          this.subKeys.set(
            key,
            t.entries.slice(1).map(([k]) => k),
          );
        else this.subKeys.delete(key);
        this.assembler.set(key, t.entries[0][1], rv);
        this.assembler.warn(key, t.warnings);
        const fresh = this.noteSecretRefs(key, kind, (t.entries[0][1] as { spec?: unknown }).spec);
        if (fresh.length) freshSecrets.set(key, fresh);
      }
      const metadata: { name?: string; namespace?: string; resourceVersion?: string } = { name: o.metadata?.name, resourceVersion: rv };
      if (o.metadata?.namespace) metadata.namespace = o.metadata.namespace;
      return { metadata } as KubernetesObject;
    };
    const remove = (o: KubernetesObject): string => {
      const key = keyOf(o);
      for (const k of this.subKeys.get(key) ?? []) this.assembler.delete(k);
      this.subKeys.delete(key);
      this.assembler.delete(key);
      this.noteSecretRefs(key, kind, undefined);
      return key;
    };
    // The informer diffs every (re-)list against its own cache and calls add/update/delete for
    // the differences (a deletion missed while not watching included); we only learn here that
    // the list came back.
    const listFn = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const result: KubernetesListObject<KubernetesObject> = { apiVersion: 'v1', kind: 'List', metadata: {}, items: [] };
      try {
        // Page by page (a consistent snapshot, API concepts "Retrieving large results sets in
        // chunks"): only one page of whole objects is alive at a time, the rest are stubs.
        let cont: string | undefined;
        do {
          const page = await list(cont);
          result.metadata!.resourceVersion ??= page.metadata?.resourceVersion;
          for (const o of page.items) result.items.push(intake(o));
          const meta = page.metadata as { _continue?: string; continue?: string } | undefined;
          cont = meta?._continue ?? meta?.continue ?? undefined;
        } while (cont);
      } catch (err) {
        if (codeOf(err) === 404 && what !== 'nodes') {
          // The CRD is not installed (BGPFilter before Calico 3.26, every CRD in plain mode):
          // the resource is empty, and we look again now and then.
          if (!f.notInstalled) this.assembler.replace(feedPrefix, []);
          f.notInstalled = true;
          this.markListed(f);
        }
        throw err;
      }
      f.notInstalled = false;
      this.succeeded(f);
      // The informer adds the items to its cache (and calls us) after this returns.
      setImmediate(() => this.markListed(f));
      return result;
    };
    const watch = new ObservedWatch(this.kc, () => this.succeeded(f), intake);
    f.informer = new ListWatch<KubernetesObject>(path, watch, listFn, false);
    const onChange = (verb: 'added' | 'modified' | 'deleted') => (o: KubernetesObject) => {
      if (this.closed) return;
      const key = verb === 'deleted' ? remove(o) : keyOf(o);
      const trigger = `watch: ${key} ${verb}`;
      const fresh = freshSecrets.get(key);
      freshSecrets.delete(key);
      // A new Secret reference is read before the change is applied: a session that should
      // have a password must not be planned without it, even for a moment.
      if (fresh) void this.refreshSecrets(fresh).then(() => this.assembler.changed(trigger));
      else this.assembler.changed(trigger);
    };
    f.informer.on('add', onChange('added'));
    f.informer.on('update', onChange('modified'));
    f.informer.on('delete', onChange('deleted'));
    f.informer.on('error', (err: unknown) => this.failed(f, err));
    this.feeds.push(f);
  }

  private markListed(f: Feed): void {
    if (f.listed) return;
    f.listed = true;
    if (this.initial && this.feeds.every((x) => x.listed)) void this.finishInitialSync();
  }

  private async finishInitialSync(): Promise<void> {
    const initial = this.initial!;
    this.initial = undefined;
    try {
      await this.refreshSecrets();
      initial.resolve(this.assembler.synced());
    } catch (err) {
      initial.reject(err);
      return;
    }
    this.scheduleSecretRefresh();
  }

  /** A list or watch of this feed worked: forget its failure, and leave `stale` when none is left. */
  private succeeded(f: Feed): void {
    f.backoff.reset();
    if (f.failing === undefined) return;
    f.failing = undefined;
    this.updateStale();
  }

  /** The informer stopped (it does on any failure but 410): stale, and restart it after a backoff. */
  private failed(f: Feed, err: unknown): void {
    if (this.closed) return;
    const notInstalled = f.notInstalled && codeOf(err) === 404;
    if (!notInstalled) {
      f.failing = `${f.what}: ${describe(err)}`;
      this.updateStale();
    }
    const delay = notInstalled ? NOT_INSTALLED_RETRY_MS : f.backoff.next();
    clearTimeout(f.timer);
    f.timer = setTimeout(() => {
      if (!this.closed) this.startFeed(f);
    }, delay);
  }

  /** The informer reports list and watch failures itself; one that escapes it (e.g. reading the token) goes the same way. */
  private startFeed(f: Feed): void {
    f.informer.start().catch((err: unknown) => this.failed(f, err));
  }

  private updateStale(): void {
    const failing = [...this.feeds.map((f) => f.failing), this.secretsFailing].filter((x) => x !== undefined);
    if (failing.length) this.assembler.stale(failing.join('; '));
    else this.assembler.recovered();
  }

  /** Records which Secrets the resource at `key` refers to; returns the names not read yet. */
  private noteSecretRefs(key: string, kind: string, spec: unknown): string[] {
    if (kind !== 'BGPPeer' && kind !== 'BGPConfiguration') return [];
    for (const users of this.secretUsers.values()) users.delete(key);
    const fresh: string[] = [];
    for (const name of secretRefs(kind, spec)) {
      let users = this.secretUsers.get(name);
      if (!users) {
        users = new Set();
        this.secretUsers.set(name, users);
        fresh.push(name);
      }
      users.add(key);
    }
    return fresh;
  }

  /**
   * Reads the referenced Secrets with `get` (the only verb Tern needs on Secrets, on named ones).
   * A Secret that does not exist (404) leaves the model; one that cannot be read for another
   * reason keeps its last value and makes the state stale. Resolves when all reads are done.
   */
  private async refreshSecrets(names?: string[]): Promise<void> {
    for (const [name, users] of this.secretUsers)
      if (!users.size) {
        this.secretUsers.delete(name);
        this.secretSeen.delete(name);
        this.assembler.delete(`Secret/${name}`);
      }
    const todo = names ?? [...this.secretUsers.keys()];
    const failures: string[] = [];
    let changed = false;
    await Promise.all(
      todo.map(async (name) => {
        const key = `Secret/${name}`;
        let now: string | undefined;
        try {
          const s = await this.core.readNamespacedSecret({ name, namespace: this.opts.secretNamespace });
          const [k, v] = translateSecret(s);
          now = JSON.stringify(v);
          if (now !== this.secretSeen.get(name)) this.assembler.set(k, v);
        } catch (err) {
          if (codeOf(err) !== 404) {
            failures.push(`Secret ${this.opts.secretNamespace}/${name}: ${describe(err)}`);
            return;
          }
          if (this.secretSeen.has(name)) this.assembler.delete(key);
        }
        if (now !== this.secretSeen.get(name)) changed = true;
        if (now === undefined) this.secretSeen.delete(name);
        else this.secretSeen.set(name, now);
      }),
    );
    if (names === undefined) {
      this.secretsFailing = failures.length ? failures.join('; ') : undefined;
      this.updateStale();
      if (changed) this.assembler.changed('Secret changed');
    }
  }

  private scheduleSecretRefresh(): void {
    if (this.closed) return;
    this.secretTimer = setTimeout(() => void this.refreshSecrets().finally(() => this.scheduleSecretRefresh()), this.opts.secretRefreshMs ?? 10_000);
    this.secretTimer.unref?.();
  }

  /** Plain mode's own resources (file or mounted ConfigMap), re-read on start and resync. */
  private readConfigFile(): void {
    const file = this.opts.configFile!;
    const entries: [string, unknown][] = [];
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    docs.forEach((d, i) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
      const o = d.toJS() as K8sObject | null;
      if (o) entries.push([`file/${i}`, o]);
    });
    this.assembler.replace('file/', entries);
    for (const [k, o] of entries) {
      const obj = o as K8sObject;
      for (const name of secretRefs(obj.kind ?? '', obj.spec)) {
        if (!this.secretUsers.has(name)) this.secretUsers.set(name, new Set());
        this.secretUsers.get(name)!.add(k);
      }
    }
  }
}

function codeOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  return typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
}

function describe(err: unknown): string {
  const code = codeOf(err);
  const msg = (err as Error)?.message ?? String(err);
  const first = msg.split('\n')[0].slice(0, 200);
  return code ? `HTTP ${code}: ${first}` : first;
}
