// Semantic checks of a received route's next hop (RFC 4271 §6.3, RFC 4760 §3, RFC 2545 §3).
// A next hop that cannot be one is not a malformed attribute: RFC 4271 §6.3 says "the error
// SHOULD be logged, and the route SHOULD be ignored" (no NOTIFICATION). The RIB keeps such a
// path in the Adj-RIB-In, flagged, out of the decision process: never best, never advertised,
// never installed in the kernel, and visible in `bgpctl show rib in` with the reason.

import { parseIpv4, parseIpv6 } from '../codec/address.js';
import type { Family } from '../codec/types.js';

/** What the check needs to know about the session the route came in on. */
export interface NextHopContext {
  /** The peer's address (a link-local one means the session runs over one link). */
  peerAddress: string;
  /** Our addresses on this session (the receiving speaker's own address). */
  localAddress?: string;
  localAddress6?: string;
  /** Any other address of this speaker (the node's), if the driver knows them. */
  isOwnAddress?: (address: string) => boolean;
}

/** Why `nextHop` cannot be used for a `family` route from this session, or null if it can. */
export function nextHopProblem(family: Family, nextHop: string, linkLocal: string | undefined, s: NextHopContext): string | null {
  void linkLocal; // RFC 2545 §3: a second, link-local address only complements the global one
  const own = nextHop === (family === 'ipv4' ? s.localAddress : s.localAddress6) || !!s.isOwnAddress?.(nextHop);
  // RFC 4271 §6.3: "It MUST NOT be the IP address of the receiving speaker." Installing it
  // would point the route at ourselves.
  if (own) return `NEXT_HOP ${nextHop} is our own address (RFC 4271 §6.3)`;
  const v4 = parseIpv4(nextHop);
  if (v4) {
    // RFC 4271 §6.3 "syntactically incorrect": not a unicast host address. 0.0.0.0/8 is "this
    // network" (RFC 1122 §3.2.1.3, never a destination), 224/4 multicast (RFC 5771), 240/4
    // reserved and the limited broadcast (RFC 1112 §4, RFC 919).
    if (v4[0] === 0) return `NEXT_HOP ${nextHop} is in 0.0.0.0/8, not a host address (RFC 4271 §6.3, RFC 1122 §3.2.1.3)`;
    if (v4[0] >= 224 && v4[0] < 240) return `NEXT_HOP ${nextHop} is multicast (RFC 4271 §6.3, RFC 5771)`;
    if (v4[0] >= 240) return `NEXT_HOP ${nextHop} is reserved or broadcast (RFC 4271 §6.3, RFC 1112 §4)`;
    return null;
  }
  const v6 = parseIpv6(nextHop);
  if (!v6) return `NEXT_HOP ${nextHop} is not an address (RFC 4271 §6.3)`;
  // RFC 4760 §3 / RFC 2545 §3: the Network Address of Next Hop is the global (or site)
  // unicast address of the next router. RFC 4291 §2.5.2: :: "must never be assigned" and is
  // never a destination; RFC 4291 §2.5.3: ::1 is this node; RFC 4291 §2.7: ff00::/8 is multicast.
  if (v6.every((b) => b === 0)) return `next hop ${nextHop} is the unspecified address (RFC 4760 §3, RFC 4291 §2.5.2)`;
  if (v6.subarray(0, 15).every((b) => b === 0) && v6[15] === 1) return `next hop ${nextHop} is the loopback address (RFC 4760 §3, RFC 4291 §2.5.3)`;
  if (v6[0] === 0xff) return `next hop ${nextHop} is multicast (RFC 4760 §3, RFC 4291 §2.7)`;
  if (v6[0] === 0xfe && (v6[1] & 0xc0) === 0x80) {
    // RFC 2545 §3: the global address comes first and is mandatory; a link-local address alone
    // names a router only on the link the session runs over, so it is usable only when the
    // peer itself is reached by its link-local address (unnumbered peering).
    const peer = parseIpv6(s.peerAddress.split('%')[0]);
    const onLink = !!peer && peer[0] === 0xfe && (peer[1] & 0xc0) === 0x80;
    if (!onLink) return `next hop ${nextHop} is link-local only, from a peer not on a shared link (RFC 2545 §3)`;
  }
  return null;
}
