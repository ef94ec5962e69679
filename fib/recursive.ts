// Recursive next hops, as BIRD's `gateway recursive` (set in Calico's bird.cfg) resolves them:
// where no tunnel applies (IPIP "never", and IPv6), a next hop on no connected subnet is reached
// through the kernel route that covers it. resolve.ts applies the answers (Topology.recursive);
// this file finds which next hops need one and asks the kernel.
import { formatIp, parseIp } from '../bgp/codec/address.js';
import { MsgWriter, parseMessages } from './netlink/codec.js';
import { DumpError, type NetlinkClient } from './netlink/client.js';
import * as C from './netlink/consts.js';
import { decodeRoute, encodeRouteGet } from './netlink/route.js';
import type { IpipMode, Topology, Via } from './resolve.js';
import type { FibChange } from './types.js';

/**
 * The next hops that may need recursive resolution: bare gateways of the desired variants on
 * no connected subnet where no tunnel applies, and those planning met unresolved.
 */
export function recursiveCandidates(variants: FibChange[], topo: Topology, ipipMode: IpipMode): Set<string> {
  const want = new Set(topo.unresolved);
  for (const c of variants) {
    if (c.kind === 'blackhole') continue;
    for (const h of c.nexthops) {
      if (h.dev !== undefined || h.gateway === undefined) continue;
      const gw = parseIp(h.gateway, 'ignore');
      if (!gw || (gw.length === 4 && ipipMode !== 'never') || topo.connected(gw) !== undefined) continue;
      want.add(formatIp(gw));
    }
  }
  return want;
}

/**
 * The immediate next hop of the kernel route that reaches `addr` (RTM_GETROUTE with
 * RTM_F_FIB_MATCH, `ip route get ADDR fibmatch`); null when none does, or only a route of
 * `ownProtocol` (Tern's): a next hop must not resolve through the routes that depend on it.
 * An ECMP underlay route gives its first path.
 */
export async function lookupVia(client: NetlinkClient, ownProtocol: number, addr: Buffer): Promise<Via | null> {
  const w = new MsgWriter(64);
  encodeRouteGet(w, client.nextSeq(), addr);
  let via: Via | null = null;
  try {
    await client.dump(w.take(), (chunk) => {
      for (const m of parseMessages(chunk)) {
        if (m.type !== C.RTM_NEWROUTE) continue;
        const r = decodeRoute(m.payload);
        if (r.protocol === ownProtocol || r.type !== C.RTN_UNICAST) continue;
        const first = r.multipath?.[0];
        const ifindex = first ? first.ifindex : r.oif;
        const gateway = first ? first.gateway : r.gateway;
        if (ifindex === undefined) continue;
        // Copies: the chunk is shared memory the worker reuses.
        via = { ifindex, onlink: ((first ? first.flags : r.flags) & C.RTNH_F_ONLINK) !== 0, ...(gateway ? { gateway: Buffer.from(gateway) } : {}) };
      }
    });
  } catch (e) {
    if (!(e instanceof DumpError)) throw e; // ENETUNREACH and the like: no route
  }
  return via;
}
