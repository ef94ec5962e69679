/**
 * A cluster model kept up to date one resource at a time, for the watched datastores (the
 * ModelAssembler of Kubernetes and etcd). Each resource is decoded once, when it arrives, and
 * only what it decoded to is kept: not the object, its node tree or its reader (at 5,000 nodes
 * and 20,000 IPAM blocks those were most of ternd's memory). A rebuild after a change costs in
 * proportion to the change: the changed resources were decoded on arrival, the model's
 * collections of the kinds that did not change are reused as they are, a changed kind's is
 * copied from its index (pointers, no decoding), and the checks across many resources (Node
 * addresses, BlockAffinity nodes) are kept up to date per resource; only the checks across the
 * few (peers, pools, per-node configurations) run whole. The content and the issues are those
 * parseResources gives for the same resources (test/peers/live-model.test.ts).
 */
import { ConfigError, type ClusterModel, type ConfigIssue } from '../types.js';
import { addressTaken, affinityWithoutNode, checkReferences, globalBgpConfig, nodeBgpConfig, onceEach, type At } from './assemble.js';
import { decodeJsonResource, type DecodedPart } from './parse.js';
import { Reader } from './reader.js';

type PartKind = DecodedPart['kind'];
type Part = DecodedPart & { version?: string | number };
type PartOf<K extends PartKind> = Extract<DecodedPart, { kind: K }>;

const KINDS: readonly PartKind[] = [
  'BGPConfiguration',
  'Node',
  'BGPPeer',
  'BGPFilter',
  'IPPool',
  'IPAMBlock',
  'BlockAffinity',
  'Secret',
  'Service',
  'EndpointSlice',
];
/** Kinds whose names must be unique (as in a file); Services and EndpointSlices are per namespace and are not checked. */
const UNIQUE: ReadonlySet<PartKind> = new Set(KINDS.filter((k) => k !== 'Service' && k !== 'EndpointSlice'));
/** A resource that decodes to several parts (a List) keeps the others under `key` + SUB + i. */
const SUB = '\u0000';
const NONE: ConfigIssue[] = [];

export class LiveModel {
  /** Each kind's parts by key, in arrival order (a changed resource keeps its place): the model's order. */
  private readonly parts = new Map<PartKind, Map<string, Part>>(KINDS.map((k) => [k, new Map()]));
  /** Keys whose resource adds nothing to the model (a kind Tern does not read, or invalid), with their version. */
  private readonly empty = new Map<string, string | number | undefined>();
  /** Keys with more than one part: how many. */
  private readonly multi = new Map<string, number>();
  /** Issues found decoding each resource, for the keys that have any. */
  private readonly issues = new Map<string, ConfigIssue[]>();
  /** Parts held under a key other than `Kind/name` (etcd keys, derived entries), by `Kind/name`: duplicates are found without a second index of every key. */
  private readonly aliases = new Map<string, Set<string>>();
  /** `Kind/name`s held by more than one key. */
  private readonly duplicates = new Set<string>();
  /** Node name -> how many Node parts have it; BGP address -> the keys of the Nodes that have it, and the addresses more than one has. */
  private readonly nodeNames = new Map<string, number>();
  private readonly addressHolders = new Map<string, string[]>();
  private readonly sharedAddresses = new Set<string>();
  /** BlockAffinity keys by node, and those whose node is not in the model. */
  private readonly affinitiesOf = new Map<string, Set<string>>();
  private readonly orphans = new Set<string>();
  private readonly dirty = new Set<PartKind>(KINDS);
  private last?: ClusterModel;

  constructor(readonly source: string) {}

  /** The version a key was set with (Kubernetes resourceVersion, etcd mod_revision). */
  versionOf(key: string): string | number | undefined {
    if (this.empty.has(key)) return this.empty.get(key);
    return this.find(key)?.[1].version;
  }

  /** The resource at `key` is `resource` (decoded now); with the version it already has, nothing changes. Returns whether it did. */
  set(key: string, resource: unknown, version?: string | number): boolean {
    if (version !== undefined && this.versionOf(key) === version) return false;
    this.delete(key);
    const { parts, issues } = decodeJsonResource(resource, this.source);
    if (issues.length) this.issues.set(key, issues);
    if (!parts.length) {
      this.empty.set(key, version);
      return true;
    }
    if (parts.length > 1) this.multi.set(key, parts.length);
    for (const [i, p] of parts.entries()) this.add(i ? `${key}${SUB}${i}` : key, i ? p : { ...p, version });
    return true;
  }

  delete(key: string): boolean {
    this.issues.delete(key);
    if (this.empty.delete(key)) return true;
    const found = this.find(key);
    if (!found) return false;
    this.remove(key, found[0], found[1]);
    for (let i = 1; i < (this.multi.get(key) ?? 0); i++) {
      const sub = this.find(`${key}${SUB}${i}`);
      if (sub) this.remove(`${key}${SUB}${i}`, sub[0], sub[1]);
    }
    this.multi.delete(key);
    return true;
  }

  *keys(): Iterable<string> {
    for (const m of this.parts.values()) for (const k of m.keys()) if (!k.includes(SUB)) yield k;
    yield* this.empty.keys();
  }

  get size(): number {
    let n = this.empty.size;
    for (const m of this.parts.values()) n += m.size;
    return n;
  }

  /**
   * The model now, with its warnings; throws ConfigError as parseResources does. `extra` are
   * issues from outside (a reader's), put first.
   */
  build(extra: ConfigIssue[] = NONE): { model: ClusterModel; warnings: ConfigIssue[] } {
    const issues: ConfigIssue[] = [...extra];
    for (const list of this.issues.values()) issues.push(...list);
    const at: At = (kind, name) => ({ r: new Reader(this.source, `${kind}/${name}`, issues), line: 0 });
    for (const id of this.duplicates) {
      const slash = id.indexOf('/');
      const kind = id.slice(0, slash),
        name = id.slice(slash + 1);
      for (let i = 1; i < this.holders(kind as PartKind, name); i++)
        at(kind, name).r.error(0, 'metadata.name', `duplicate ${kind} named ${JSON.stringify(name)}`);
    }
    for (const a of this.sharedAddresses) {
      const names = this.addressHolders.get(a)!.map((k) => (this.of('Node').get(k) as PartOf<'Node'>).v.name);
      for (let i = 1; i < names.length; i++) addressTaken(at, names[i], a, names[i - 1]);
    }
    const model = this.assemble();
    checkReferences(model, (n) => this.nodeNames.has(n), at, this.defaultConfig()?.programClusterRoutesSet ?? false);
    for (const k of this.orphans) affinityWithoutNode(at, (this.of('BlockAffinity').get(k) as PartOf<'BlockAffinity'>).v!);
    const reported = onceEach(issues);
    if (reported.some((i) => i.severity === 'error')) throw new ConfigError(reported);
    // Only a model handed out is the base of the next: after a refusal the changed kinds stay dirty.
    this.last = model;
    this.dirty.clear();
    return { model, warnings: reported };
  }

  /** The model's collections: those of a kind that changed are rebuilt from its index, the rest are the last model's. */
  private assemble(): ClusterModel {
    const last = this.last;
    const d = this.dirty;
    const values = <K extends PartKind, V>(kind: K, pick: (p: PartOf<K>) => V | undefined): V[] => {
      const out: V[] = [];
      for (const p of this.of(kind).values()) {
        const v = pick(p as PartOf<K>);
        if (v !== undefined) out.push(v);
      }
      return out;
    };
    const model: ClusterModel =
      last && !d.size
        ? { ...last }
        : {
            source: this.source,
            bgpConfig: last && !d.has('BGPConfiguration') ? last.bgpConfig : globalBgpConfig(this.defaultConfig()?.spec),
            nodeBgpConfigs:
              last && !d.has('BGPConfiguration')
                ? last.nodeBgpConfigs
                : new Map(
                    values('BGPConfiguration', (p) =>
                      p.spec && p.name.startsWith('node.') ? ([p.name.slice(5), nodeBgpConfig(p.name.slice(5), p.spec)] as const) : undefined,
                    ),
                  ),
            nodes: last && !d.has('Node') ? last.nodes : values('Node', (p) => p.v),
            peers: last && !d.has('BGPPeer') ? last.peers : values('BGPPeer', (p) => p.v).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
            filters: last && !d.has('BGPFilter') ? last.filters : new Map(values('BGPFilter', (p) => [p.name, p.v] as const)),
            ipPools: last && !d.has('IPPool') ? last.ipPools : values('IPPool', (p) => p.v),
            ipamBlocks: last && !d.has('IPAMBlock') ? last.ipamBlocks : values('IPAMBlock', (p) => p.v),
            blockAffinities: last && !d.has('BlockAffinity') ? last.blockAffinities : values('BlockAffinity', (p) => p.v),
            secrets: last && !d.has('Secret') ? last.secrets : new Map(values('Secret', (p) => [p.name, p.values] as const)),
            services: last && !d.has('Service') ? last.services : values('Service', (p) => p.v),
            endpointSlices: last && !d.has('EndpointSlice') ? last.endpointSlices : values('EndpointSlice', (p) => p.v),
          };
    return model;
  }

  /** BGPConfiguration default, whatever key holds it. */
  private defaultConfig(): PartOf<'BGPConfiguration'> | undefined {
    for (const p of this.of('BGPConfiguration').values()) if (p.kind === 'BGPConfiguration' && p.name === 'default') return p;
    return undefined;
  }

  private of<K extends PartKind>(kind: K): Map<string, Part> {
    return this.parts.get(kind)!;
  }

  /** The part at `key`, looked up first in the kind its key names (Kubernetes keys are `Kind/name`). */
  private find(key: string): [PartKind, Part] | undefined {
    const guess = key.slice(0, key.indexOf('/')) as PartKind;
    const hit = this.parts.get(guess)?.get(key);
    if (hit) return [guess, hit];
    for (const [kind, m] of this.parts) {
      const p = m.get(key);
      if (p) return [kind, p];
    }
    return undefined;
  }

  /** How many keys hold `kind/name`. */
  private holders(kind: PartKind, name: string): number {
    const id = `${kind}/${name}`;
    return (this.of(kind).get(id)?.name === name ? 1 : 0) + (this.aliases.get(id)?.size ?? 0);
  }

  private add(key: string, p: Part): void {
    this.of(p.kind).set(key, p);
    this.dirty.add(p.kind);
    this.track(key, p, +1);
  }

  private remove(key: string, kind: PartKind, p: Part): void {
    this.of(kind).delete(key);
    this.dirty.add(kind);
    this.track(key, p, -1);
  }

  /** Keeps the cross-resource indexes up to date as `p` arrives at or leaves `key` (`dir` +1 / -1). */
  private track(key: string, p: Part, dir: 1 | -1): void {
    if (UNIQUE.has(p.kind)) {
      const id = `${p.kind}/${p.name}`;
      if (id !== key) {
        let set = this.aliases.get(id);
        if (dir > 0) {
          if (!set) this.aliases.set(id, (set = new Set()));
          set.add(key);
        } else {
          set?.delete(key);
          if (set && !set.size) this.aliases.delete(id);
        }
      }
      if (this.holders(p.kind, p.name) > 1) this.duplicates.add(id);
      else this.duplicates.delete(id);
    }
    if (p.kind === 'Node') this.trackNode(key, p.v.name, [p.v.ipv4Address, p.v.ipv6Address], dir);
    if (p.kind === 'BlockAffinity' && p.v) {
      const node = p.v.node;
      let keys = this.affinitiesOf.get(node);
      if (dir > 0) {
        if (!keys) this.affinitiesOf.set(node, (keys = new Set()));
        keys.add(key);
        if (!this.nodeNames.has(node)) this.orphans.add(key);
      } else {
        keys?.delete(key);
        if (keys && !keys.size) this.affinitiesOf.delete(node);
        this.orphans.delete(key);
      }
    }
  }

  private trackNode(key: string, name: string, addresses: (string | undefined)[], dir: 1 | -1): void {
    const before = this.nodeNames.get(name) ?? 0;
    const after = before + dir;
    if (after) this.nodeNames.set(name, after);
    else this.nodeNames.delete(name);
    // A Node that appears or disappears changes which of its BlockAffinities have no Node.
    if (before === 0 || after === 0)
      for (const k of this.affinitiesOf.get(name) ?? [])
        if (after) this.orphans.delete(k);
        else this.orphans.add(k);
    for (const a of addresses) {
      if (!a) continue;
      const h = this.addressHolders.get(a) ?? [];
      if (dir > 0) h.push(key);
      else h.splice(h.indexOf(key), 1);
      if (h.length) this.addressHolders.set(a, h);
      else this.addressHolders.delete(a);
      if (h.length > 1) this.sharedAddresses.add(a);
      else this.sharedAddresses.delete(a);
    }
  }
}
