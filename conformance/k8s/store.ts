// The object store behind the kube-apiserver stand-in (apiserver.ts): what etcd is to the real
// API server. One cluster-wide resourceVersion counter (etcd's revision), every object stamped
// with it on each write, and a bounded history of change events that watches replay from; a
// watch asking for a revision older than the history gets 410 Gone, as after etcd compaction.

export interface ResourceType {
  group: string;
  version: string;
  /** Path segment, e.g. `nodes`, `bgppeers`. */
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
}

export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export interface StoreEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  plural: string;
  object: KObject;
  /** The object before this change (MODIFIED, DELETED): a selector watch needs both sides. */
  old?: KObject;
}

/** The resources the stand-in serves: those Tern reads (Services and EndpointSlices too), plus ConfigMaps and Namespaces. */
export const RESOURCE_TYPES: readonly ResourceType[] = [
  { group: '', version: 'v1', plural: 'nodes', singular: 'node', kind: 'Node', namespaced: false, shortNames: ['no'] },
  { group: '', version: 'v1', plural: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true },
  { group: '', version: 'v1', plural: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] },
  { group: '', version: 'v1', plural: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'] },
  { group: '', version: 'v1', plural: 'services', singular: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'] },
  { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', namespaced: true },
  ...(['BGPConfiguration', 'BGPPeer', 'BGPFilter', 'IPPool', 'IPAMBlock', 'BlockAffinity'] as const).map(
    (kind): ResourceType => ({
      group: 'crd.projectcalico.org',
      version: 'v1',
      plural: `${kind.toLowerCase()}s`.replace(/ys$/, 'ies'),
      singular: kind.toLowerCase(),
      kind,
      namespaced: false,
    }),
  ),
];

export const apiVersionOf = (t: ResourceType): string => (t.group ? `${t.group}/${t.version}` : t.version);

export class ObjectStore {
  /** plural -> `${namespace}/${name}` -> object. */
  private readonly objects = new Map<string, Map<string, KObject>>();
  private history: StoreEvent[] = [];
  private rev = 1;
  /** Revisions at or below this are compacted: a watch from them gets 410 Gone. */
  compactedRv = 1;
  private readonly subscribers = new Set<(e: StoreEvent) => void>();

  constructor(
    readonly types: readonly ResourceType[] = RESOURCE_TYPES,
    private readonly historyLimit = 10_000,
  ) {
    for (const t of types) this.objects.set(t.plural, new Map());
  }

  get revision(): number {
    return this.rev;
  }

  typeByPlural(plural: string, group: string): ResourceType | undefined {
    return this.types.find((t) => t.plural === plural && t.group === group);
  }

  typeByKind(kind: string): ResourceType | undefined {
    return this.types.find((t) => t.kind === kind);
  }

  list(plural: string, namespace?: string): KObject[] {
    const m = this.objects.get(plural)!;
    const all = [...m.values()];
    return namespace === undefined ? all : all.filter((o) => (o.metadata.namespace ?? '') === namespace);
  }

  get(plural: string, namespace: string, name: string): KObject | undefined {
    return this.objects.get(plural)?.get(`${namespace}/${name}`);
  }

  /** Create or replace; stamps resourceVersion (and uid/creationTimestamp on create). */
  put(plural: string, obj: KObject): KObject {
    const t = this.types.find((x) => x.plural === plural)!;
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const m = this.objects.get(plural)!;
    const old = m.get(key);
    const rv = ++this.rev;
    const stored: KObject = structuredClone(obj);
    stored.apiVersion = apiVersionOf(t);
    stored.kind = t.kind;
    stored.metadata = {
      ...stored.metadata,
      resourceVersion: String(rv),
      uid: old?.metadata.uid ?? stored.metadata.uid ?? `uid-${plural}-${rv}`,
      creationTimestamp: old?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    if (!t.namespaced) delete stored.metadata.namespace;
    m.set(key, stored);
    this.emit({ rv, type: old ? 'MODIFIED' : 'ADDED', plural, object: stored, old });
    return stored;
  }

  delete(plural: string, namespace: string, name: string): KObject | undefined {
    const m = this.objects.get(plural)!;
    const key = `${namespace}/${name}`;
    const old = m.get(key);
    if (!old) return undefined;
    m.delete(key);
    const rv = ++this.rev;
    // The DELETED event carries the object's last state with the deletion's revision.
    const gone: KObject = { ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } };
    this.emit({ rv, type: 'DELETED', plural, object: gone, old });
    return gone;
  }

  /** Events after `rv` for `plural`, or undefined when `rv` is compacted (410 Gone). */
  since(rv: number, plural: string): StoreEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    return this.history.filter((e) => e.rv > rv && e.plural === plural);
  }

  /** Forget all history (etcd compaction): every watch resuming from an older revision gets 410. */
  compact(): void {
    this.history = [];
    this.compactedRv = this.rev;
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  private emit(e: StoreEvent): void {
    this.history.push(e);
    if (this.history.length > this.historyLimit) {
      const cut = this.history.length - this.historyLimit;
      this.compactedRv = this.history[cut - 1].rv;
      this.history = this.history.slice(cut);
    }
    for (const s of this.subscribers) s(e);
  }
}

// ---- Selectors (k8s.io/apimachinery labels and fields, the forms kubectl and informers send) ----

type LabelReq = (labels: Record<string, string>) => boolean;

/** `a=b,c!=d,e,!f,g in (x,y),h notin (z)`; throws on a syntax error (the server answers 400). */
export function parseLabelSelector(text: string): LabelReq {
  const reqs: LabelReq[] = [];
  // Split on commas outside parentheses.
  const parts: string[] = [];
  let depth = 0,
    cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      const [, k, op, list] = m;
      const vals = new Set(
        list
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      );
      reqs.push(op === 'in' ? (l) => k in l && vals.has(l[k]) : (l) => !(k in l) || !vals.has(l[k]));
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(p))) {
      const [, k, op, v] = m;
      reqs.push(op === '!=' ? (l) => l[k] !== v : (l) => k in l && l[k] === v);
    } else if ((m = /^!([\w./-]+)$/.exec(p))) {
      const k = m[1];
      reqs.push((l) => !(k in l));
    } else if ((m = /^([\w./-]+)$/.exec(p))) {
      const k = m[1];
      reqs.push((l) => k in l);
    } else throw new Error(`unable to parse requirement: ${JSON.stringify(p)}`);
  }
  return (l) => reqs.every((r) => r(l));
}

/** Field selectors: only metadata.name and metadata.namespace, as for most resources. */
export function parseFieldSelector(text: string): (o: KObject) => boolean {
  const reqs = text
    .split(',')
    .filter((s) => s.trim())
    .map((p) => {
      const m = /^\s*(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*([^,]*?)\s*$/.exec(p);
      if (!m) throw new Error(`field label not supported: ${p.split(/[=!]/)[0]}`);
      const [, f, op, v] = m;
      const get = (o: KObject) => (f === 'metadata.name' ? o.metadata.name : (o.metadata.namespace ?? ''));
      return op === '!=' ? (o: KObject) => get(o) !== v : (o: KObject) => get(o) === v;
    });
  return (o) => reqs.every((r) => r(o));
}

/** RFC 7386 JSON merge patch (kubectl apply sends it for CRDs; strategic merge is served the same way). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
