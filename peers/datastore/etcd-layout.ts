/**
 * Calico's etcdv3 key layout, read as libcalico-go writes it, translated into the Calico
 * v3-shaped resources the ModelAssembler holds. Pure: no etcd client, no I/O.
 *
 * Where each rule comes from (projectcalico/calico, libcalico-go/lib/backend/):
 * - model/resource.go: a v3 resource lives at
 *   `/calico/resources/v3/projectcalico.org/<plural>/<name>` (namespaced kinds add
 *   `<namespace>/` before the name); plurals are registered lower-cased (`BGPFilters` ->
 *   `bgpfilters`). None of the kinds Tern reads is namespaced.
 * - etcdv3/etcdv3.go (getKeyValueStrings -> model.SerializeValue): the value is the
 *   json.Marshal of the whole v3 object (apiVersion, kind, metadata, spec); the key names it.
 * - model/block.go: an IPAM block is at `/calico/ipam/v2/assignment/ipv<4|6>/block/<cidr>` with
 *   the first `/` of the CIDR replaced by `-`; the value is the AllocationBlock JSON
 *   (`cidr`, `affinity` "host:<node>", `allocations`, `unallocated`, `attributes` of
 *   `{handle_id, secondary}`, `sequenceNumber`, `sequenceNumberForAllocation`, `deleted`, and the
 *   deprecated `hostAffinity`).
 * - model/block_affinity.go: a host affinity is at
 *   `/calico/ipam/v2/host/<host>/ipv<4|6>/block/<cidr>` with the value `{"state","deleted"}`
 *   (newer releases also write `/calico/ipam/v2/virtual/...` affinities, which are not hosts').
 * - model/keys.go (ParseValue): an empty affinity value is read as `{}`, the format before
 *   Calico 3.0.7 (calico issue 1956); an affinity without a state is a confirmed one.
 * Blocks and affinities become the `crd.projectcalico.org/v1` IPAMBlock / BlockAffinity shape the
 * model parser already reads from `kubectl get -o yaml`, so both datastores share one decoder.
 */

export const RESOURCE_ROOT = '/calico/resources/v3/projectcalico.org/';
export const BLOCK_ROOT = '/calico/ipam/v2/assignment/';
export const AFFINITY_ROOT = '/calico/ipam/v2/host/';

/** The v3 kinds Tern reads, by the plural in their etcd key (model/resource.go). */
export const KIND_BY_PLURAL: Readonly<Record<string, string>> = {
  nodes: 'Node',
  bgpconfigurations: 'BGPConfiguration',
  bgppeers: 'BGPPeer',
  bgpfilters: 'BGPFilter',
  ippools: 'IPPool',
};

/** Every prefix the datastore reads and watches: one range read and one watch each. */
export const WATCHED_PREFIXES: readonly string[] = [...Object.keys(KIND_BY_PLURAL).map((p) => `${RESOURCE_ROOT}${p}/`), BLOCK_ROOT, AFFINITY_ROOT];

export type Translation =
  /** A resource for the assembler's cache, filed under the etcd key. */
  | { type: 'resource'; resource: Record<string, unknown> }
  /** A key under a watched prefix that Tern does not read (an IPAM handle, a virtual affinity). */
  | { type: 'ignored' }
  /** A key Tern reads whose value Calico itself could not parse: refused by name. */
  | { type: 'invalid'; message: string };

const BLOCK_KEY = /^\/calico\/ipam\/v2\/assignment\/ipv([46])\/block\/([^/]+)$/;
const AFFINITY_KEY = /^\/calico\/ipam\/v2\/host\/([^/]+)\/ipv([46])\/block\/([^/]+)$/;

/** `10.244.1.0-26` -> `10.244.1.0/26` (only the first `-`, as libcalico-go does). */
export const cidrOfKey = (segment: string): string => segment.replace('-', '/');
/** The Kubernetes-datastore name of a CIDR-named object: `10.244.1.0/26` -> `10-244-1-0-26`. */
export const nameOfCidr = (cidr: string): string => cidr.replace(/[./:]/g, '-');

/** The etcd key libcalico-go writes for each of these (for tests, the bench and docs). */
export const resourceKey = (plural: string, name: string): string => `${RESOURCE_ROOT}${plural}/${name}`;
export const blockKey = (cidr: string): string => `${BLOCK_ROOT}ipv${cidr.includes(':') ? 6 : 4}/block/${cidr.replace('/', '-')}`;
export const affinityKey = (host: string, cidr: string): string => `${AFFINITY_ROOT}${host}/ipv${cidr.includes(':') ? 6 : 4}/block/${cidr.replace('/', '-')}`;

function parseObject(value: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch (err) {
    return `value is not JSON (${(err as Error).message})`;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'value is not a JSON object';
  return v as Record<string, unknown>;
}

/** Go's json.Marshal writes nil pointers and slices as null; the parser reads absent fields. */
function withoutNulls(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== null) out[k] = v;
  return out;
}

/** What the value at `key` means to Tern (`key` is under one of WATCHED_PREFIXES). */
export function translate(key: string, value: string): Translation {
  if (key.startsWith(RESOURCE_ROOT)) return translateResource(key, value);
  let m = BLOCK_KEY.exec(key);
  if (m) return translateBlock(cidrOfKey(m[2]), value);
  m = AFFINITY_KEY.exec(key);
  if (m) return translateAffinity(m[1], cidrOfKey(m[3]), value);
  return { type: 'ignored' };
}

function translateResource(key: string, value: string): Translation {
  const parts = key.slice(RESOURCE_ROOT.length).split('/');
  const kind = KIND_BY_PLURAL[parts[0]];
  if (!kind || parts.length !== 2 || !parts[1]) return { type: 'ignored' };
  const name = parts[1];
  const o = parseObject(value);
  if (typeof o === 'string') return { type: 'invalid', message: o };
  // The key is the identity (model.ResourceKey): a value naming another kind or object is a
  // corrupt entry, not a second resource.
  if (o.kind !== undefined && o.kind !== kind) return { type: 'invalid', message: `value is a ${String(o.kind)}, but the key is a ${kind}'s` };
  const md = o.metadata;
  if (md !== undefined && (md === null || typeof md !== 'object' || Array.isArray(md))) return { type: 'invalid', message: 'metadata is not an object' };
  const meta = { ...(md as Record<string, unknown> | undefined) };
  if (meta.name !== undefined && meta.name !== name)
    return { type: 'invalid', message: `metadata.name ${JSON.stringify(meta.name)} differs from the name in the key` };
  meta.name = name;
  return { type: 'resource', resource: { ...o, apiVersion: o.apiVersion ?? 'projectcalico.org/v3', kind, metadata: meta } };
}

function translateBlock(cidr: string, value: string): Translation {
  const o = parseObject(value);
  if (typeof o === 'string') return { type: 'invalid', message: o };
  const spec = withoutNulls(o);
  // AllocationBlock.HostAffinity: "deprecated in favor of Affinity", kept for old deployments.
  if (spec.affinity === undefined && typeof spec.hostAffinity === 'string') spec.affinity = `host:${spec.hostAffinity}`;
  delete spec.hostAffinity;
  // The free list and per-allocation sequence numbers serve IPAM's own bookkeeping; no route
  // depends on them (the model reads cidr, affinity, allocations, attributes, deleted), and at
  // 20,000 blocks they are most of what a model build would walk.
  delete spec.unallocated;
  delete spec.sequenceNumberForAllocation;
  if (spec.cidr === undefined) spec.cidr = cidr;
  else if (spec.cidr !== cidr) return { type: 'invalid', message: `cidr ${JSON.stringify(spec.cidr)} differs from the CIDR in the key (${cidr})` };
  return { type: 'resource', resource: { apiVersion: 'crd.projectcalico.org/v1', kind: 'IPAMBlock', metadata: { name: nameOfCidr(cidr) }, spec } };
}

function translateAffinity(host: string, cidr: string, value: string): Translation {
  const o = value === '' ? {} : parseObject(value);
  if (typeof o === 'string') return { type: 'invalid', message: o };
  const state = o.state === undefined || o.state === null || o.state === '' ? 'confirmed' : o.state;
  const spec: Record<string, unknown> = { node: host, cidr, state, deleted: o.deleted ?? false };
  for (const k of Object.keys(o)) if (k !== 'state' && k !== 'deleted') spec[k] = o[k];
  return {
    type: 'resource',
    resource: { apiVersion: 'crd.projectcalico.org/v1', kind: 'BlockAffinity', metadata: { name: `${host}-${nameOfCidr(cidr)}` }, spec },
  };
}
