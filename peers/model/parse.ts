/**
 * The file datastore: a multi-document YAML file of Calico resources -> a validated
 * ClusterModel. Every error is collected (with file:line, Kind/name and field path) and thrown
 * together as one ConfigError. Unknown fields, and unknown kinds in Calico's API groups, are
 * errors with a did-you-mean (kubectl's strict validation refuses them under Calico); what each
 * known field does is in fields.ts.
 *
 * One file on purpose (~490 lines): the YAML path and the JSON path (parseResources, for the
 * watched datastores) share one decode, build and cross-check, so a resource is validated one way
 * whichever datastore it came from.
 */
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  type BgpFilter,
  type BgpPeerResource,
  type BlockAffinity,
  type CalicoNode,
  type ClusterModel,
  type ConfigIssue,
  type EndpointSliceResource,
  type IpamBlock,
  type IpPool,
  type ServiceResource,
} from '../types.js';
import { decodeEndpointSlice, decodeService } from './kinds-k8s.js';
import { decodeBgpConfiguration, decodeBgpPeer, decodeNode, type ConfigSpec } from './kinds-bgp.js';
import { decodeBgpFilter, decodeBlockAffinity, decodeIpamBlock, decodeIpPool } from './kinds-ipam.js';
import { addressTaken, affinityWithoutNode, checkReferences, globalBgpConfig, nodeBgpConfig, onceEach, type At } from './assemble.js';
import { DEFAULT_READ_LIMITS, readYamlDocumentsLazily, Reader, type ReadLimits, type YNode } from './reader.js';
import { didYouMean, OTHER_CALICO_KINDS, TERN_KINDS } from './fields.js';

type MapNode = Extract<YNode, { t: 'map' }>;

const API_VERSIONS = ['projectcalico.org/v3', 'crd.projectcalico.org/v1'];
const NO_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const KINDS = TERN_KINDS;
type Kind = (typeof KINDS)[number];
// Calico resource names: DNS-1123 subdomain-like, with `_` allowed by Calico's own validator.
const NAME_RE = /^[a-z0-9A-Z]([-a-zA-Z0-9._]*[a-zA-Z0-9])?$/;

/**
 * One resource between reading and building. An IPAMBlock is decoded as soon as it is read (it
 * needs no other resource) and keeps no tree: a 250k-block file would otherwise hold every
 * block's tree at once (issue 17: 3.5 GB).
 */
interface Raw {
  kind: Kind;
  name: string;
  line: number;
  specLine: number;
  labels: Record<string, string>;
  spec: MapNode | undefined;
  r: Reader;
  decoded?: Decoded;
}

/** One resource decoded alone: what it contributes to the model, before any cross-resource check. */
type Decoded =
  /** `spec` absent: a BGPConfiguration name Calico does not read (warned). */
  | { kind: 'BGPConfiguration'; spec?: ConfigSpec }
  | { kind: 'Node'; v: CalicoNode }
  | { kind: 'BGPPeer'; v?: BgpPeerResource }
  | { kind: 'BGPFilter'; v: BgpFilter }
  | { kind: 'IPPool'; v?: IpPool }
  | { kind: 'IPAMBlock'; v?: IpamBlock }
  | { kind: 'BlockAffinity'; v?: BlockAffinity };

/**
 * What one resource object decoded to, kept by a watched datastore between rebuilds, keyed by the
 * object itself (a reader replaces the object when the resource changes): a rebuild then decodes
 * only the resources that changed, and repeats only the checks across resources. At 5,000 nodes
 * and 20,000 IPAM blocks that is the difference between seconds and milliseconds per change.
 */
export type DecodeCache = WeakMap<object, { source: string; raws: Raw[]; issues: ConfigIssue[]; secrets: [string, Record<string, string>][] } & K8sObjects>;

/** The Kubernetes objects per-service routes need (peers/routes.ts), beside the Calico resources. */
interface K8sObjects {
  services: ServiceResource[];
  endpointSlices: EndpointSliceResource[];
}

interface DocContext extends K8sObjects {
  fileName: string;
  issues: ConfigIssue[];
  raws: Raw[];
  secrets: Map<string, Record<string, string>>;
  /** Resources read so far and the bound on them (reader.ts ReadLimits.maxResources). */
  count?: number;
  maxResources?: number;
  /** IPAM blocks go here as decoded, not into the model; their names, for the duplicate check. */
  blockSink?: BlockSink;
  blockNames?: Set<string>;
}

/**
 * Takes each valid IPAM block as it is decoded, in file order, instead of the model: the parser
 * thread packs them at once (block-transfer.ts) rather than holding 250k blocks' objects.
 */
export type BlockSink = (b: IpamBlock) => void;

/** Parse model text; `fileName` is used in messages. Throws ConfigError when anything is invalid. */
export function parseModel(
  text: string,
  fileName: string,
  limits: ReadLimits = DEFAULT_READ_LIMITS,
  progress?: (text: string) => void,
  blockSink?: BlockSink,
): { model: ClusterModel; warnings: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  // Documents are read and turned into resources one at a time (memory: issue 17).
  let n = 0;
  const docs = (function* () {
    for (const d of readYamlDocumentsLazily(text, fileName, issues, limits)) {
      if (++n % 50_000 === 0) progress?.(`${n} documents read`);
      yield d;
    }
    progress?.(`YAML read: ${n} documents`);
  })();
  return modelFromDocuments(docs, fileName, issues, limits.maxResources, blockSink);
}

/**
 * The model from resources that arrive as JSON objects (the Kubernetes API, etcd), through the
 * same validation as a file: one model whatever the datastore. `source` names the datastore in
 * messages (`kubernetes: BGPPeer/tor-a: spec.asNumber: ...`); there are no line numbers.
 */
export function parseResources(resources: readonly unknown[], source: string, cache?: DecodeCache): { model: ClusterModel; warnings: ConfigIssue[] } {
  if (!cache)
    return modelFromDocuments(
      resources.map((r) => ({ root: jsonNode(r), line: 0 })),
      source,
      [],
    );
  const issues: ConfigIssue[] = [];
  const raws: Raw[] = [];
  const secrets = new Map<string, Record<string, string>>();
  const k8s: K8sObjects = { services: [], endpointSlices: [] };
  for (const r of resources) {
    const keyed = r !== null && typeof r === 'object';
    let d = keyed ? cache.get(r) : undefined;
    if (!d || d.source !== source) {
      const ctx: DocContext = { fileName: source, issues: [], raws: [], secrets: new Map(), services: [], endpointSlices: [] };
      readDocument(ctx, jsonNode(r), 0);
      for (const x of ctx.raws) x.decoded ??= decodeRaw(x); // IPAM blocks are decoded as read
      d = { source, raws: ctx.raws, issues: ctx.issues, secrets: [...ctx.secrets], services: ctx.services, endpointSlices: ctx.endpointSlices };
      if (keyed) cache.set(r, d);
    }
    issues.push(...d.issues);
    raws.push(...d.raws);
    k8s.services.push(...d.services);
    k8s.endpointSlices.push(...d.endpointSlices);
    for (const [name, values] of d.secrets) {
      if (secrets.has(name)) new Reader(source, `Secret/${name}`, issues).error(0, 'metadata.name', `duplicate Secret named ${JSON.stringify(name)}`);
      secrets.set(name, values);
    }
  }
  return assemble(raws, secrets, source, issues, k8s);
}

/**
 * One JSON resource decoded alone, with neither its tree nor its reader: what the live model of
 * a watched datastore (live.ts) keeps per object, instead of the object. `parts` are what it
 * adds to the model (none for a kind Tern does not read, or an invalid one: `issues` say why).
 */
export type DecodedPart =
  | (Exclude<Decoded, { kind: 'BGPConfiguration' }> & { name: string })
  | { kind: 'BGPConfiguration'; name: string; spec?: ConfigSpec; programClusterRoutesSet: boolean }
  | { kind: 'Secret'; name: string; values: Record<string, string> }
  | { kind: 'Service'; name: string; v: ServiceResource }
  | { kind: 'EndpointSlice'; name: string; v: EndpointSliceResource };

export function decodeJsonResource(resource: unknown, source: string): { parts: DecodedPart[]; issues: ConfigIssue[] } {
  const ctx: DocContext = { fileName: source, issues: [], raws: [], secrets: new Map(), services: [], endpointSlices: [] };
  readDocument(ctx, jsonNode(resource), 0);
  const parts: DecodedPart[] = [];
  for (const x of ctx.raws) {
    const d = x.decoded ?? decodeRaw(x);
    parts.push(
      d.kind === 'BGPConfiguration'
        ? { kind: d.kind, name: x.name, spec: d.spec, programClusterRoutesSet: !!x.spec?.entries.has('programClusterRoutes') }
        : { ...d, name: x.name },
    );
  }
  for (const [name, values] of ctx.secrets) parts.push({ kind: 'Secret', name, values });
  for (const v of ctx.services) parts.push({ kind: 'Service', name: `${v.namespace}/${v.name}`, v });
  for (const v of ctx.endpointSlices) parts.push({ kind: 'EndpointSlice', name: `${v.namespace}/${v.name}`, v });
  return { parts, issues: ctx.issues };
}

/** A reader for an issue found across resources: into this build's list, never the cached one. */
const crossReader = (x: Raw, issues: ConfigIssue[]): Reader => new Reader(x.r.file, x.r.resource, issues);

/**
 * One shared node for JSON null (nothing mutates a node): an IPAM block's `allocations` is mostly
 * nulls, and 20,000 blocks made 1.2 million of them per build.
 */
const JSON_NULL: YNode = Object.freeze({ t: 'scalar', line: 0, value: null, source: '' });

/** A JSON value as the reader's tree, every line 0 (formatIssue then prints no line). */
function jsonNode(v: unknown): YNode {
  if (v === null || v === undefined) return JSON_NULL;
  if (Array.isArray(v)) return { t: 'seq', line: 0, items: v.map(jsonNode) };
  if (v !== null && typeof v === 'object') {
    const entries = new Map<string, { keyLine: number; value: YNode }>();
    for (const [k, x] of Object.entries(v)) entries.set(k, { keyLine: 0, value: jsonNode(x) });
    return { t: 'map', line: 0, entries };
  }
  return { t: 'scalar', line: 0, value: v ?? null, source: v === undefined || v === null ? '' : String(v) };
}

function modelFromDocuments(
  docs: Iterable<{ root: YNode | undefined; line: number }>,
  fileName: string,
  issues: ConfigIssue[],
  maxResources = DEFAULT_READ_LIMITS.maxResources,
  blockSink?: BlockSink,
): { model: ClusterModel; warnings: ConfigIssue[] } {
  const ctx: DocContext = {
    fileName,
    issues,
    raws: [],
    secrets: new Map(),
    services: [],
    endpointSlices: [],
    count: 0,
    maxResources,
    blockSink,
    blockNames: blockSink && new Set(),
  };
  for (const doc of docs) if (doc.root) readDocument(ctx, doc.root, doc.line);
  return assemble(ctx.raws, ctx.secrets, fileName, issues, ctx);
}

/** One document (or a List's items): its resources into ctx.raws, Secrets into ctx.secrets. */
function readDocument(ctx: DocContext, root: YNode, line: number): void {
  const { fileName, issues, raws, secrets, services, endpointSlices } = ctx;
  const maxResources = ctx.maxResources ?? DEFAULT_READ_LIMITS.maxResources;
  const visit = (root: YNode, line: number): void => {
    const r0 = new Reader(fileName, undefined, issues);
    const m = r0.map(root, '', null);
    if (!m) return;
    const kind = r0.str(m, 'kind', '');
    const apiVersion = r0.str(m, 'apiVersion', '');
    // `kubectl get ... -o yaml` prints a List (or <Kind>List) with the resources in `items`.
    if (kind === 'List' || (kind?.endsWith('List') && m.entries.has('items'))) {
      for (const item of r0.seq(m, 'items', '')) visit(item, item.line);
      return;
    }
    // Resources, counting the items of Lists: the limit says what it is (issue 17).
    ctx.count = (ctx.count ?? 0) + 1;
    if (ctx.count === maxResources + 1) issues.push({ severity: 'error', file: fileName, line, message: `more than the limit of ${maxResources} resources` });
    if (ctx.count > maxResources) return;
    if (!kind) {
      r0.error(line, undefined, 'resource has no kind');
      return;
    }
    const meta = m.entries.get('metadata')?.value;
    const nameNode = meta?.t === 'map' ? meta.entries.get('name')?.value : undefined;
    const name = nameNode?.t === 'scalar' && nameNode.value !== null ? String(nameNode.value) : undefined;
    const label = `${kind}/${name ?? '<unnamed>'}`;
    const r = new Reader(fileName, label, issues);
    if (kind === 'Secret' && apiVersion === 'v1') {
      readSecret(r, m);
      return;
    }
    // Services and their EndpointSlices: per-service routes (peers/routes.ts).
    if (kind === 'Service' && apiVersion === 'v1' && name) {
      const x = decodeService(r, m, name, r.lineOf(m, 'kind'));
      if (x) services.push(x);
      return;
    }
    if (kind === 'EndpointSlice' && apiVersion === 'discovery.k8s.io/v1' && name) {
      const x = decodeEndpointSlice(r, m, name, r.lineOf(m, 'kind'));
      if (x) endpointSlices.push(x);
      return;
    }
    const calicoGroup = apiVersion !== undefined && API_VERSIONS.includes(apiVersion);
    if (!(KINDS as readonly string[]).includes(kind)) {
      // In Calico's API groups an unknown kind is an error (the API server refuses it, and a
      // `kind: BgpPeer` silently ignored makes the peer vanish); Calico's other kinds and
      // other groups' resources are not Tern's business.
      if (calicoGroup && !OTHER_CALICO_KINDS.includes(kind)) {
        const hint = didYouMean(kind, [...KINDS, ...OTHER_CALICO_KINDS]);
        r.error(r.lineOf(m, 'kind'), 'kind', `unknown kind ${JSON.stringify(kind)} in ${apiVersion}${hint ? `: did you mean ${JSON.stringify(hint)}?` : ''}`);
      } else r.warnOnce(r.lineOf(m, 'kind'), undefined, `kind ${apiVersion ?? ''}/${kind}`, `kind ${kind} is not used by Tern (ignored)`);
      return;
    }
    if (!apiVersion || !calicoGroup) {
      r.error(r.lineOf(m, 'apiVersion'), 'apiVersion', `${JSON.stringify(apiVersion ?? '')} is not one of ${API_VERSIONS.join(', ')}`);
      return;
    }
    r.map(m, '', 'resource');
    const md = r.map(meta, 'metadata', 'metadata');
    if (!name) {
      r.error(md?.line ?? line, 'metadata.name', 'name is required');
      return;
    }
    if (!NAME_RE.test(name) || name.length > 253) {
      r.error(r.lineOf(md, 'name'), 'metadata.name', `${JSON.stringify(name)} is not a valid resource name`);
      return;
    }
    const spec = r.map(m.entries.get('spec')?.value, 'spec', null);
    const kindLine = r.lineOf(m, 'kind');
    if (kind === 'IPAMBlock' && ctx.blockSink) {
      r.labels(md, 'labels', 'metadata');
      // The same issues, in the same order, as the Raw path below and assemble's duplicate check.
      const b = decodeIpamBlock(r, name, kindLine, spec);
      if (ctx.blockNames!.has(name)) r.error(kindLine, 'metadata.name', `duplicate IPAMBlock named ${JSON.stringify(name)}`);
      ctx.blockNames!.add(name);
      if (b) ctx.blockSink(b);
      return;
    }
    const raw: Raw = {
      kind: kind as Kind,
      name,
      line: kindLine,
      specLine: m.entries.get('spec')?.keyLine ?? kindLine,
      labels: r.labels(md, 'labels', 'metadata'),
      spec,
      r,
    };
    if (kind === 'IPAMBlock') {
      raw.decoded = decodeRaw(raw);
      raw.spec = undefined;
      raw.labels = NO_LABELS; // checked above, never read for a block
    }
    raws.push(raw);
  };
  /** A Kubernetes Secret: `data` is base64 (RFC 4648), `stringData` plain. */
  const readSecret = (r: Reader, m: MapNode): void => {
    const md = r.map(m.entries.get('metadata')?.value, 'metadata', 'metadata');
    const name = r.str(md, 'name', 'metadata');
    if (!name) {
      r.error(m.line, 'metadata.name', 'name is required');
      return;
    }
    r.map(m, '', 'Secret');
    const values: Record<string, string> = {};
    const data = r.map(m.entries.get('data')?.value, 'data', null);
    for (const [k, e] of data?.entries ?? []) {
      const v = e.value;
      const b64 = v.t === 'scalar' && typeof v.value === 'string' ? v.value.replace(/\s+/g, '') : undefined;
      if (b64 === undefined || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) r.error(e.keyLine, `data.${k}`, 'expected a base64 string');
      else values[k] = Buffer.from(b64, 'base64').toString('utf8');
    }
    const sd = r.map(m.entries.get('stringData')?.value, 'stringData', null);
    for (const [k] of sd?.entries ?? []) {
      const v = r.str(sd, k, 'stringData');
      if (v !== undefined) values[k] = v;
    }
    if (secrets.has(name)) r.error(m.line, 'metadata.name', `duplicate Secret named ${JSON.stringify(name)}`);
    secrets.set(name, values);
  };
  visit(root, line);
}

function assemble(
  raws: Raw[],
  secrets: Map<string, Record<string, string>>,
  fileName: string,
  issues: ConfigIssue[],
  k8s: K8sObjects,
): { model: ClusterModel; warnings: ConfigIssue[] } {
  // Names per kind: no `Kind/name` string built per resource (250k blocks: 25 MB, issue 17).
  const seen = new Map<Kind, Set<string>>();
  for (const x of raws) {
    let names = seen.get(x.kind);
    if (!names) seen.set(x.kind, (names = new Set()));
    if (names.has(x.name)) crossReader(x, issues).error(x.line, 'metadata.name', `duplicate ${x.kind} named ${JSON.stringify(x.name)}`);
    names.add(x.name);
  }
  seen.clear();
  const model = build(raws, fileName);
  model.secrets = secrets;
  model.services = k8s.services;
  model.endpointSlices = k8s.endpointSlices;
  crossCheck(model, raws, issues);
  issues.sort((a, b) => a.line - b.line); // stable: same-line issues keep their order
  const reported = onceEach(issues);
  if (reported.some((i) => i.severity === 'error')) throw new ConfigError(reported);
  return { model, warnings: reported };
}

/** One resource alone, its issues into its own reader (no other resource is consulted). */
function decodeRaw(x: Raw): Decoded {
  switch (x.kind) {
    case 'BGPConfiguration': {
      const perNode = x.name.startsWith('node.');
      if (!perNode && x.name !== 'default') {
        x.r.warn(x.line, 'metadata.name', 'Calico reads only "default" and "node.<name>" BGPConfigurations (ignored)');
        return { kind: x.kind };
      }
      return { kind: x.kind, spec: decodeBgpConfiguration(x.r, x.spec, perNode) };
    }
    case 'Node':
      return { kind: x.kind, v: decodeNode(x.r, x.name, x.line, x.labels, x.spec) };
    case 'BGPPeer':
      return { kind: x.kind, v: decodeBgpPeer(x.r, x.name, x.specLine, x.spec) };
    case 'BGPFilter':
      return { kind: x.kind, v: decodeBgpFilter(x.r, x.name, x.line, x.spec) };
    case 'IPPool':
      return { kind: x.kind, v: decodeIpPool(x.r, x.name, x.specLine, x.spec) };
    case 'IPAMBlock':
      return { kind: x.kind, v: decodeIpamBlock(x.r, x.name, x.line, x.spec) };
    case 'BlockAffinity':
      return { kind: x.kind, v: decodeBlockAffinity(x.r, x.name, x.line, x.spec) };
  }
}

function build(raws: Raw[], source: string): ClusterModel {
  let global: ConfigSpec | undefined;
  const model: ClusterModel = {
    source,
    bgpConfig: undefined as never,
    nodeBgpConfigs: new Map(),
    nodes: [],
    peers: [],
    filters: new Map(),
    ipPools: [],
    ipamBlocks: [],
    blockAffinities: [],
    secrets: new Map(),
    services: [],
    endpointSlices: [],
  };
  for (const x of raws) {
    const d = (x.decoded ??= decodeRaw(x));
    switch (d.kind) {
      case 'BGPConfiguration': {
        const spec = d.spec;
        if (!spec) break;
        if (x.name === 'default') {
          global = spec;
          break;
        }
        const node = x.name.slice(5);
        model.nodeBgpConfigs.set(node, nodeBgpConfig(node, spec));
        break;
      }
      case 'Node':
        model.nodes.push(d.v);
        break;
      case 'BGPPeer':
        if (d.v) model.peers.push(d.v);
        break;
      case 'BGPFilter':
        model.filters.set(x.name, d.v);
        break;
      case 'IPPool':
        if (d.v) model.ipPools.push(d.v);
        break;
      case 'IPAMBlock':
        if (d.v) model.ipamBlocks.push(d.v);
        break;
      case 'BlockAffinity':
        if (d.v) model.blockAffinities.push(d.v);
        break;
    }
  }
  model.bgpConfig = globalBgpConfig(global);
  model.peers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return model;
}

/** Checks that need more than one resource; issues point at the field concerned. */
function crossCheck(model: ClusterModel, raws: Raw[], issues: ConfigIssue[]): void {
  const at: At = (kind, name, field) => {
    const x = raws.find((y) => y.kind === kind && y.name === name)!;
    return { r: crossReader(x, issues), line: (field !== undefined ? x.spec?.entries.get(field)?.keyLine : undefined) ?? x.line };
  };
  const nodeNames = new Set(model.nodes.map((n) => n.name));
  const owner = new Map<string, string>();
  for (const n of model.nodes) {
    for (const a of [n.ipv4Address, n.ipv6Address]) {
      if (!a) continue;
      const other = owner.get(a);
      if (other) addressTaken(at, n.name, a, other);
      owner.set(a, n.name);
    }
  }
  const globalCfg = raws.find((y) => y.kind === 'BGPConfiguration' && y.name === 'default');
  checkReferences(model, (n) => nodeNames.has(n), at, !!globalCfg?.spec?.entries.has('programClusterRoutes'));
  for (const a of model.blockAffinities) if (!nodeNames.has(a.node)) affinityWithoutNode(at, a);
}

/** Read and parse a model file. Throws ConfigError on invalid content, and Node's fs errors when unreadable. */
export function loadModelFile(path: string): { model: ClusterModel; warnings: ConfigIssue[] } {
  const text = readFileSync(path, 'utf8');
  return parseModel(text, path);
}
