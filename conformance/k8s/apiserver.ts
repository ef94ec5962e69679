// A STAND-IN FOR KUBE-APISERVER, for tests and benchmarks only. No kube-apiserver binary can be
// installed on these machines, so this serves the part of the Kubernetes API that Tern reads,
// following the real server's semantics (k8s.io/apiserver, API concepts "Efficient detection
// of changes"), and is checked against an independent client, Debian's kubectl
// (test/k8s/kubectl.test.ts):
// - discovery: /version, /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>;
// - get, list (labelSelector, fieldSelector on metadata.name/namespace; limit and continue give
//   pages of one consistent snapshot; an unknown continue token is 410 Expired), create, update (409 Conflict on a stale resourceVersion), patch (merge
//   patch; a strategic merge patch is applied as a merge patch: lists are replaced), delete;
// - watch: newline-delimited JSON events ADDED / MODIFIED / DELETED / BOOKMARK / ERROR, from a
//   resourceVersion (replayed from the history), or from "" / "0" (synthetic ADDED for what
//   exists); an object leaving a selector's set is DELETED for that watch; allowWatchBookmarks
//   sends BOOKMARKs; timeoutSeconds ends the watch; a resourceVersion older than the history
//   gets an ERROR event with a 410 Gone Status ("too old resource version"), then the end;
// - errors as Status objects (NotFound, AlreadyExists, Conflict, Gone, Unauthorized, Forbidden);
// - bearer-token authentication and an authorizer hook (for RBAC checks), and an audit list;
// - faults for tests: drop every connection, stop and restart on the same port (the store, like
//   etcd, survives), compact the history (410 for every resumed watch).
// Served over plain HTTP on TCP and, optionally, a Unix socket (so a process in a network
// namespace can reach it through a forwarder). Not served: protobuf, server-side apply, table
// output (kubectl falls back to plain lists), admission, pagination.
// One file on purpose (~450 lines): the HTTP side of one server; its handler serves every verb
// over the one ObjectStore (store.ts), and the verbs share its paging snapshots and watch
// bookkeeping.

import * as http from 'node:http';
import * as fs from 'node:fs';
import type { Socket } from 'node:net';
import { apiVersionOf, mergePatch, ObjectStore, parseFieldSelector, parseLabelSelector, type KObject, type ResourceType, type StoreEvent } from './store.js';

export interface AuditEntry {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
  resource: string;
  namespace?: string;
  name?: string;
  /** HTTP status answered (for a watch: 200 when it started). */
  code: number;
}

export interface ApiServerOptions {
  /** TCP listen address (default 127.0.0.1) and port (default 0: any free port). */
  host?: string;
  port?: number;
  /** Also listen on this Unix socket. */
  socketPath?: string;
  /** Require `Authorization: Bearer <token>`. */
  token?: string;
  /** RBAC stand-in: false answers 403 Forbidden. */
  authorize?: (a: Omit<AuditEntry, 'code'>) => boolean;
  /** BOOKMARK interval for watches that allow them (default 1000 ms). */
  bookmarkMs?: number;
  store?: ObjectStore;
}

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

export class ApiServer {
  readonly store: ObjectStore;
  readonly audit: AuditEntry[] = [];
  private servers: http.Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly watchEnds = new Set<() => void>();
  /** Consistent snapshots of paged lists, by continue token id (the newest 32). */
  private readonly snapshots = new Map<string, { rv: string; items: KObject[] }>();
  private snapshotSeq = 0;
  port = 0;

  constructor(private readonly opts: ApiServerOptions = {}) {
    this.store = opts.store ?? new ObjectStore();
  }

  get url(): string {
    return `http://${this.opts.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** Listen (again, after stop(): on the same port, with the same store). */
  async start(): Promise<void> {
    const listen = (s: http.Server, arg: number | string, host?: string) =>
      new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        const done = () => {
          s.off('error', reject);
          resolve();
        };
        if (typeof arg === 'string') s.listen(arg, done);
        else s.listen(arg, host, done);
      });
    const tcp = this.makeServer();
    await listen(tcp, this.port || this.opts.port || 0, this.opts.host ?? '127.0.0.1');
    this.port = (tcp.address() as { port: number }).port;
    this.servers = [tcp];
    if (this.opts.socketPath) {
      fs.rmSync(this.opts.socketPath, { force: true });
      const unix = this.makeServer();
      await listen(unix, this.opts.socketPath);
      this.servers.push(unix);
    }
  }

  /** Stop listening and cut every connection, as a crashed or restarting API server does. */
  async stop(): Promise<void> {
    const closing = this.servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    this.dropConnections();
    await Promise.all(closing);
    this.servers = [];
  }

  /** Reset every open connection (a network fault): watches end without a clean close. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Compact the history and end every watch with 410 Gone: clients must re-list. */
  expireWatches(): void {
    this.store.compact();
    for (const end of [...this.watchEnds]) end();
  }

  /** Test helpers that write the store directly (no HTTP). */
  apply(obj: KObject): KObject {
    const t = this.store.typeByKind(obj.kind ?? '');
    if (!t) throw new Error(`stand-in serves no kind ${obj.kind}`);
    return this.store.put(t.plural, obj);
  }

  remove(kind: string, name: string, namespace = ''): void {
    const t = this.store.typeByKind(kind)!;
    this.store.delete(t.plural, namespace, name);
  }

  /**
   * A kubeconfig for this server (token auth when configured). The stand-in speaks plain HTTP,
   * which @kubernetes/client-node accepts only with insecure-skip-tls-verify set.
   */
  kubeconfig(server = this.url): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'standin',
      clusters: [{ name: 'standin', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'tern', user: this.opts.token ? { token: this.opts.token } : {} }],
      contexts: [{ name: 'standin', context: { cluster: 'standin', user: 'tern' } }],
    });
  }

  private makeServer(): http.Server {
    const s = http.createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => this.send(res, 500, status(500, 'InternalError', err.message)));
    });
    s.on('connection', (sock: Socket) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    return s;
  }

  private send(res: http.ServerResponse, code: number, body: unknown): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    if (this.opts.token && req.headers.authorization !== `Bearer ${this.opts.token}`) {
      return this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const discovery = this.discovery(p);
    if (discovery) return this.send(res, 200, discovery);
    const route = this.route(p);
    if (!route) {
      // A resource this server does not serve (a CRD that is not installed): audited too.
      const m = /^\/(?:api\/v1|apis\/[^/]+\/[^/]+)(?:\/namespaces\/[^/]+)?\/([^/]+)/.exec(p);
      if (m) this.audit.push({ verb: req.method === 'GET' ? 'list' : 'get', resource: m[1], code: 404 });
      return this.send(res, 404, status(404, 'NotFound', `the server could not find the requested resource (${p})`));
    }
    const { type, namespace, name } = route;
    const q = url.searchParams;
    const watch = q.get('watch') === 'true' || q.get('watch') === '1';
    const verb: AuditEntry['verb'] =
      ({ GET: name ? 'get' : watch ? 'watch' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as const)[req.method ?? 'GET'] ??
      'get';
    const entry = { verb, resource: type.plural, namespace, name };
    if (this.opts.authorize && !this.opts.authorize(entry)) {
      this.audit.push({ ...entry, code: 403 });
      return this.send(res, 403, status(403, 'Forbidden', `${verb} ${type.plural}${name ? ` ${name}` : ''} is forbidden`));
    }
    const answer = (code: number, body: unknown) => {
      this.audit.push({ ...entry, code });
      this.send(res, code, body);
    };
    const ns = namespace ?? '';
    const notFound = () => answer(404, status(404, 'NotFound', `${type.plural}${type.group ? `.${type.group}` : ''} "${name}" not found`));
    let match: (o: KObject) => boolean;
    try {
      const ls = q.get('labelSelector') ? parseLabelSelector(q.get('labelSelector')!) : undefined;
      const fs_ = q.get('fieldSelector') ? parseFieldSelector(q.get('fieldSelector')!) : undefined;
      match = (o) => (!ls || ls(o.metadata.labels ?? {})) && (!fs_ || fs_(o)) && (namespace === undefined || (o.metadata.namespace ?? '') === namespace);
    } catch (err) {
      return answer(400, status(400, 'BadRequest', (err as Error).message));
    }
    switch (verb) {
      case 'get': {
        const o = this.store.get(type.plural, ns, name!);
        return o ? answer(200, o) : notFound();
      }
      case 'list': {
        // limit/continue: pages of one consistent snapshot, taken at the first page.
        const limit = Number(q.get('limit') ?? '0');
        const token = q.get('continue');
        let snap: { rv: string; items: KObject[] } | undefined;
        let offset = 0;
        if (token) {
          const [id, off] = token.split(':');
          snap = this.snapshots.get(id);
          offset = Number(off);
          if (!snap) return answer(410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.'));
        } else {
          snap = { rv: String(this.store.revision), items: this.store.list(type.plural, namespace).filter(match) };
        }
        const meta: Record<string, string> = { resourceVersion: snap.rv };
        let items = snap.items;
        if (limit > 0) {
          items = snap.items.slice(offset, offset + limit);
          if (offset + limit < snap.items.length) {
            const id = token ? token.split(':')[0] : String(++this.snapshotSeq);
            this.snapshots.set(id, snap);
            if (this.snapshots.size > 32) this.snapshots.delete(this.snapshots.keys().next().value!);
            meta.continue = `${id}:${offset + limit}`;
          }
        }
        return answer(200, { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata: meta, items });
      }
      case 'watch':
        this.audit.push({ ...entry, code: 200 });
        return this.watch(type, q, match, res, req);
      case 'create':
      case 'update':
      case 'patch': {
        const body = await readBody(req);
        let obj: KObject;
        try {
          obj = JSON.parse(body) as KObject;
        } catch {
          return answer(400, status(400, 'BadRequest', 'body is not JSON'));
        }
        const existing = name ? this.store.get(type.plural, ns, name) : undefined;
        if (verb === 'patch') {
          if (!existing) return notFound();
          obj = mergePatch(existing, obj) as KObject;
          obj.metadata = { ...obj.metadata, resourceVersion: existing.metadata.resourceVersion };
        }
        if (!obj?.metadata?.name) return answer(422, status(422, 'Invalid', 'metadata.name: Required value'));
        if (namespace !== undefined) obj.metadata.namespace = namespace;
        const current = this.store.get(type.plural, ns, obj.metadata.name);
        if (verb === 'create' && current) return answer(409, status(409, 'AlreadyExists', `${type.plural} "${obj.metadata.name}" already exists`));
        if (verb === 'update' && !current) return notFound();
        if (verb === 'update' && obj.metadata.resourceVersion && obj.metadata.resourceVersion !== current!.metadata.resourceVersion) {
          return answer(
            409,
            status(
              409,
              'Conflict',
              `Operation cannot be fulfilled on ${type.plural} "${obj.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
            ),
          );
        }
        const stored = this.store.put(type.plural, obj);
        return answer(verb === 'create' ? 201 : 200, stored);
      }
      case 'delete': {
        const gone = this.store.delete(type.plural, ns, name!);
        return gone ? answer(200, gone) : notFound();
      }
    }
  }

  private watch(type: ResourceType, q: URLSearchParams, match: (o: KObject) => boolean, res: http.ServerResponse, req: http.IncomingMessage): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const write = (e: unknown) => res.write(`${JSON.stringify(e)}\n`);
    let ended = false;
    const timers: NodeJS.Timeout[] = [];
    let unsubscribe = () => {};
    const end = () => {
      if (ended) return;
      ended = true;
      unsubscribe();
      for (const t of timers) clearTimeout(t), clearInterval(t);
      this.watchEnds.delete(onExpire);
      res.end();
    };
    const gone = () => write({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version') });
    const onExpire = () => {
      gone();
      end();
    };
    this.watchEnds.add(onExpire);
    req.on('close', end);
    res.on('close', end);
    /** One store event as this watch sees it (selectors: leaving the set is a DELETED). */
    const deliver = (e: StoreEvent) => {
      if (e.plural !== type.plural) return;
      const now = e.type !== 'DELETED' && match(e.object);
      const before = e.old !== undefined && match(e.old);
      if (e.type === 'DELETED') {
        if (before) write({ type: 'DELETED', object: e.object });
        return;
      }
      if (now && before) write({ type: 'MODIFIED', object: e.object });
      else if (now) write({ type: 'ADDED', object: e.object });
      else if (before) write({ type: 'DELETED', object: e.object });
    };
    const rvText = q.get('resourceVersion') ?? '';
    if (rvText === '' || rvText === '0') {
      for (const o of this.store.list(type.plural)) if (match(o)) write({ type: 'ADDED', object: o });
    } else {
      const rv = Number(rvText);
      const replay = Number.isInteger(rv) ? this.store.since(rv, type.plural) : undefined;
      if (!replay) {
        gone();
        end();
        return;
      }
      for (const e of replay) deliver(e);
    }
    unsubscribe = this.store.subscribe(deliver);
    if (q.get('allowWatchBookmarks') === 'true') {
      timers.push(
        setInterval(
          () =>
            write({
              type: 'BOOKMARK',
              object: { kind: type.kind, apiVersion: apiVersionOf(type), metadata: { resourceVersion: String(this.store.revision) } },
            }),
          this.opts.bookmarkMs ?? 1000,
        ),
      );
    }
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    if (timeout > 0) timers.push(setTimeout(end, timeout * 1000));
  }

  private discovery(p: string): unknown {
    const types = this.store.types;
    const groups = [...new Set(types.filter((t) => t.group).map((t) => t.group))];
    const groupDoc = (g: string) => {
      const gv = { groupVersion: `${g}/v1`, version: 'v1' };
      return { name: g, versions: [gv], preferredVersion: gv };
    };
    const resourceList = (group: string, version: string) => ({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources: types
        .filter((t) => t.group === group && t.version === version)
        .map((t) => ({
          name: t.plural,
          singularName: t.singular,
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
          ...(t.shortNames ? { shortNames: t.shortNames } : {}),
        })),
    });
    if (p === '/openapi/v3') {
      // OpenAPI v3 discovery: one document per group version (kubectl apply validates with it).
      const gvs = ['api/v1', ...groups.map((g) => `apis/${g}/v1`)];
      return { paths: Object.fromEntries(gvs.map((gv) => [gv, { serverRelativeURL: `/openapi/v3/${gv}?hash=standin` }])) };
    }
    const oa = /^\/openapi\/v3\/(?:api\/v1|apis\/([^/]+)\/v1)$/.exec(p);
    if (oa) return openApiDocument(types.filter((t) => t.group === (oa[1] ?? '')));
    if (p === '/version') return { major: '1', minor: '30', gitVersion: 'v1.30.0-tern-standin', platform: 'linux/amd64' };
    if (p === '/api')
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.port}` }] };
    if (p === '/api/v1') return resourceList('', 'v1');
    if (p === '/apis') return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupDoc) };
    const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(p);
    if (m && groups.includes(m[1]))
      return m[2] === undefined ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(m[1]) } : m[2] === 'v1' ? resourceList(m[1], 'v1') : undefined;
    return undefined;
  }

  /** /api/v1[/namespaces/NS]/PLURAL[/NAME], /apis/G/V[/namespaces/NS]/PLURAL[/NAME]. */
  private route(p: string): { type: ResourceType; namespace?: string; name?: string } | undefined {
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/v1)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(p);
    if (!m) return undefined;
    const [, group = '', namespace, plural, name] = m;
    const type = this.store.typeByPlural(plural, group);
    if (!type) return undefined;
    if (namespace !== undefined && !type.namespaced) return undefined;
    return { type, namespace, name };
  }
}

/**
 * A minimal OpenAPI v3 document for one group version: every kind is an object whose fields
 * are all allowed (as a CRD with x-kubernetes-preserve-unknown-fields), tagged with its
 * group/version/kind so that kubectl finds the schema of what it applies.
 */
function openApiDocument(types: readonly ResourceType[]): unknown {
  const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const schemas = Object.fromEntries(
    types.map((t) => [
      `${t.group ? t.group.split('.').reverse().join('.') : 'io.k8s.api.core'}.v1.${t.kind}`,
      {
        ...open,
        properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: open, spec: open, status: open },
        'x-kubernetes-group-version-kind': [{ group: t.group, version: t.version, kind: t.kind }],
      },
    ]),
  );
  // The operations say they take fieldValidation, so kubectl leaves validation to the server
  // (which accepts every field: the stand-in has no CRD schemas to prune or reject with).
  const fieldValidation = { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } };
  const paths = Object.fromEntries(
    types.flatMap((t) => {
      const gvk = { group: t.group, version: t.version, kind: t.kind };
      const op = (action: string) => ({
        'x-kubernetes-action': action,
        'x-kubernetes-group-version-kind': gvk,
        parameters: [fieldValidation],
        responses: { 200: { description: 'OK' } },
      });
      const base = `/${t.group ? `apis/${t.group}` : 'api'}/${t.version}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.plural}`;
      return [
        [base, { post: op('post') }],
        [`${base}/{name}`, { put: op('put'), patch: op('patch') }],
      ];
    }),
  );
  return { openapi: '3.0.0', info: { title: 'Kubernetes (Tern stand-in)', version: 'v1.30.0' }, paths, components: { schemas } };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
