// Next-hop resolution: from a desired route (next-hop addresses and/or interface names) and the
// kernel's links and addresses, derive what can be installed now. Pure: the netlink FIB feeds it
// links and addresses from dumps and events; the tests feed it by hand.
//
// Calico's rule for IPIP "CrossSubnet" (felix/BIRD's calico_kernel_programming filter): a next hop
// inside a directly connected subnet is reached directly through that interface; any other IPv4
// next hop is reached through the tunnel device with `onlink` (the tunnel has no subnet of its
// own). "Always" sends every IPv4 next hop without an interface through the tunnel; "Never" never
// does. Where no tunnel applies (IPIP "Never", and IPv6), a next hop on no connected subnet is
// resolved recursively, as BIRD's `gateway recursive` in Calico's bird.cfg does: through the
// kernel route that reaches it (the underlay), never through one of Tern's own routes. A next
// hop that cannot be resolved is withdrawn (not installed) until it can be.
import { contains, formatIp, isLinkLocal6, parseIp } from '../bgp/codec/address.js';
import type { NextHop, RouteKind } from './types.js';

export type IpipMode = 'always' | 'cross-subnet' | 'never';

export interface ResolveOptions {
  tunnelDevice: string;
  ipipMode: IpipMode;
}

export interface Link {
  index: number;
  name: string;
  up: boolean;
}
/** How the kernel reaches an address on no connected subnet: the immediate next hop of the
 * underlay route that covers it (no gateway: a device route, the address itself is on-link). */
export interface Via {
  gateway?: Buffer;
  ifindex: number;
  onlink: boolean;
}
export interface Address {
  index: number;
  addr: Buffer;
  prefixLen: number;
}

export interface ResolvedHop {
  family: 4 | 6;
  gateway?: Buffer;
  ifindex: number;
  onlink: boolean;
  weight: number;
}

export interface InstallSpec {
  kind: RouteKind;
  hops: ResolvedHop[];
  /** Canonical text of the whole spec: two specs install the same route iff their keys match. */
  key: string;
  /** The route's own metric (FibChange.metric) when not the FIB's; not part of `key`, which
   * names the next hops (nexthop objects are shared across metrics). */
  metric?: number;
}

export type Resolution = InstallSpec | { error: string };
export const isSpec = (r: Resolution): r is InstallSpec => 'key' in r;

export const hopKey = (h: ResolvedHop): string => `${h.gateway ? formatIp(h.gateway) : `v${h.family}`}@${h.ifindex}${h.onlink ? '/onlink' : ''}*${h.weight}`;

/** Build a spec from hops: dedupe, sort (ECMP order is not meaningful), weight 1 when single. */
export function makeSpec(kind: RouteKind, hops: ResolvedHop[]): InstallSpec {
  if (kind === 'blackhole') return { kind, hops: [], key: 'blackhole' };
  const byKey = new Map<string, ResolvedHop>();
  for (const h of hops) byKey.set(hopKey(h), h);
  let list = [...byKey.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
  if (list.length === 1 && list[0].weight !== 1) list = [{ ...list[0], weight: 1 }];
  return { kind, hops: list, key: `unicast:${list.map(hopKey).join(',')}` };
}

/** The kernel's interfaces and addresses as far as resolution needs them. */
export class Topology {
  readonly links = new Map<number, Link>();
  private readonly byName = new Map<string, number>();
  private readonly addrs = new Map<string, Address>();
  /** Bumped on every change that can alter a resolution; caches compare it. */
  generation = 0;
  /** Recursive next hops by address text, as the kernel resolved them (RTM_GETROUTE); null = no
   * route, or only through one of Tern's own routes. Filled by the netlink FIB. */
  recursive = new Map<string, Via | null>();
  /** Addresses resolution needed recursively and `recursive` does not know yet. */
  readonly unresolved = new Set<string>();

  /** Replace the recursive next hops; returns true (and bumps the generation) if any changed. */
  setRecursive(next: Map<string, Via | null>): boolean {
    const same = (a: Via | null | undefined, b: Via | null | undefined): boolean =>
      a === b || (!!a && !!b && a.ifindex === b.ifindex && a.onlink === b.onlink && (a.gateway?.equals(b.gateway ?? Buffer.alloc(0)) ?? !b.gateway));
    let changed = next.size !== this.recursive.size;
    for (const [k, v] of next) if (!same(v, this.recursive.get(k))) changed = true;
    this.recursive = next;
    for (const k of next.keys()) this.unresolved.delete(k);
    if (changed) this.generation++;
    return changed;
  }

  /** Returns true when something resolution depends on changed. */
  setLink(index: number, name: string, up: boolean): boolean {
    const old = this.links.get(index);
    if (old && old.name === name && old.up === up) return false;
    if (old) this.byName.delete(old.name);
    this.links.set(index, { index, name, up });
    this.byName.set(name, index);
    this.generation++;
    return true;
  }

  removeLink(index: number): boolean {
    const old = this.links.get(index);
    if (!old) return false;
    this.links.delete(index);
    this.byName.delete(old.name);
    for (const [k, a] of this.addrs) if (a.index === index) this.addrs.delete(k);
    this.generation++;
    return true;
  }

  setAddr(index: number, addr: Buffer, prefixLen: number, present: boolean): boolean {
    const k = `${index}|${formatIp(addr)}/${prefixLen}`;
    if (present === this.addrs.has(k)) return false;
    if (present) this.addrs.set(k, { index, addr: Buffer.from(addr), prefixLen });
    else this.addrs.delete(k);
    this.generation++;
    return true;
  }

  linkByName(name: string): Link | undefined {
    const i = this.byName.get(name);
    return i === undefined ? undefined : this.links.get(i);
  }

  /** The up interface whose connected subnet holds `gw` (longest prefix wins), if any. */
  connected(gw: Buffer): number | undefined {
    let best: Address | undefined;
    for (const a of this.addrs.values()) {
      // A host address (/32, /128) has no subnet: Calico puts a /32 on tunl0.
      if (a.addr.length !== gw.length || a.prefixLen >= gw.length * 8) continue;
      if (!this.links.get(a.index)?.up || !contains(a.addr, a.prefixLen, gw)) continue;
      if (!best || a.prefixLen > best.prefixLen) best = a;
    }
    return best?.index;
  }
}

/** Resolve one next hop for a route of `family`; a string is the reason it cannot be used. */
export function resolveHop(h: NextHop, family: 4 | 6, topo: Topology, opts: ResolveOptions): ResolvedHop | string {
  const weight = Math.max(1, Math.min(256, Math.round(h.weight ?? 1)));
  const gw = h.gateway === undefined ? undefined : (parseIp(h.gateway, 'ignore') ?? undefined);
  if (h.gateway !== undefined && !gw) return `EINVAL: next hop ${h.gateway} is not an address`;
  if (gw && gw.length !== (family === 4 ? 4 : 16)) return `EAFNOSUPPORT: next hop ${h.gateway} for an IPv${family} route`;
  // 1. An explicit interface: it must exist and be up.
  if (h.dev !== undefined) {
    const link = topo.linkByName(h.dev);
    if (!link) return `ENODEV: no interface ${h.dev}`;
    if (!link.up) return `ENETDOWN: interface ${h.dev} is down`;
    const viaTunnel = link.name === opts.tunnelDevice && family === 4 && gw !== undefined;
    return { family, gateway: gw, ifindex: link.index, onlink: Boolean(h.onlink) || viaTunnel, weight };
  }
  if (!gw) return 'EINVAL: a next hop needs a gateway or an interface';
  // 2. An IPv6 link-local gateway means nothing without its interface (RFC 4291 §2.5.6).
  if (isLinkLocal6(gw)) return `EINVAL: link-local next hop ${h.gateway} needs an interface`;
  const tunnel = family === 4 && opts.ipipMode !== 'never' ? topo.linkByName(opts.tunnelDevice) : undefined;
  const direct = topo.connected(gw);
  // 3. IPIP "Always": every IPv4 next hop goes through the tunnel.
  if (opts.ipipMode === 'always' && family === 4) {
    if (!tunnel?.up) return `ENETDOWN: tunnel device ${opts.tunnelDevice} is missing or down`;
    return { family, gateway: gw, ifindex: tunnel.index, onlink: true, weight };
  }
  // 4. Cross-subnet: directly connected next hops go direct...
  if (direct !== undefined) return { family, gateway: gw, ifindex: direct, onlink: Boolean(h.onlink), weight };
  // 5. ...and the others through the tunnel, onlink.
  if (tunnel?.up) return { family, gateway: gw, ifindex: tunnel.index, onlink: true, weight };
  if (family === 4 && opts.ipipMode !== 'never')
    return `ENETUNREACH: next hop ${h.gateway} is not on a connected subnet and tunnel ${opts.tunnelDevice} is not up`;
  // 6. No tunnel applies: recursively, through the underlay route that reaches the next hop
  //    (its gateway; or, for a device route, the next hop itself on that interface, onlink).
  const text = formatIp(gw);
  const via = topo.recursive.get(text);
  if (via && topo.links.get(via.ifindex)?.up) {
    return via.gateway
      ? { family, gateway: via.gateway, ifindex: via.ifindex, onlink: via.onlink, weight }
      : { family, gateway: gw, ifindex: via.ifindex, onlink: true, weight };
  }
  if (via === undefined) topo.unresolved.add(text);
  return (
    `ENETUNREACH: next hop ${h.gateway} is not on a connected subnet` +
    (via === undefined ? ' (resolving it recursively)' : " and no route of the kernel (other than Tern's) reaches it")
  );
}

/** Resolve a route: usable hops are kept, unusable ones dropped; none usable = error. */
export function resolveRoute(kind: RouteKind, nexthops: NextHop[], family: 4 | 6, topo: Topology, opts: ResolveOptions): Resolution {
  if (kind === 'blackhole') return makeSpec('blackhole', []);
  const hops: ResolvedHop[] = [];
  const errors: string[] = [];
  for (const h of nexthops) {
    const r = resolveHop(h, family, topo, opts);
    if (typeof r === 'string') errors.push(r);
    else hops.push(r);
  }
  if (hops.length === 0) return { error: errors.join('; ') || 'EINVAL: no next hops' };
  return makeSpec('unicast', hops);
}
