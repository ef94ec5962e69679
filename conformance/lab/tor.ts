// One ToR peering, both sides, from one description: Tern's BGPPeer and the router's neighbor
// for BIRD 2 and FRR. The session conformance tests (sessions.test.ts) build their peers with
// these functions, and docs/peering.md embeds what the same functions produce for the doc's
// example (conformance/peering-doc.ts renders it; peering-doc.test.ts fails when they differ),
// so the configs in the docs are the configs the suite runs.
import type { BirdNeighbor } from './bird.js';
import type { FrrNeighbor } from './frr.js';
import type { CalicoPeer } from './tern.js';

export interface TorPeering {
  /** The Calico node that peers with the ToR, its BGP address and AS. */
  node: string;
  nodeAddr: string;
  nodeAs: number;
  /** The BGPPeer's name, the ToR's address on the node's subnet and its AS. */
  name: string;
  torAddr: string;
  torAs: number;
  /** RFC 2385 TCP MD5, the same on both sides. */
  password?: string;
  /** RFC 5082 GTSM on both sides: the peer is one hop away (TTL 255 on the wire). */
  gtsm?: boolean;
  /** RFC 4724 graceful restart on the router (Tern always offers it). Default true. */
  gracefulRestart?: boolean;
  /** The router only accepts connections; Tern connects. */
  torPassive?: boolean;
}

/** Tern's side: the BGPPeer for one node (spec.node), as calicoYaml renders it. */
export function ternTorPeer(p: TorPeering): CalicoPeer {
  return {
    name: p.name,
    node: p.node,
    peerIP: p.torAddr,
    asNumber: p.torAs,
    ...(p.password !== undefined ? { password: p.password } : {}),
    ...(p.gtsm ? { ttlSecurity: 1 } : {}),
  };
}

/** BIRD 2's side: one `protocol bgp` for the node, IPv4 unicast. */
export function birdTorNeighbor(p: TorPeering, name = 'tern4'): BirdNeighbor {
  return {
    name,
    localAddr: p.torAddr,
    localAs: p.torAs,
    neighborAddr: p.nodeAddr,
    neighborAs: p.nodeAs,
    ...(p.torPassive ? { passive: true } : {}),
    ...(p.password !== undefined ? { password: p.password } : {}),
    ...(p.gtsm ? { ttlSecurity: true } : {}),
    gracefulRestart: p.gracefulRestart ?? true,
    ipv4: {},
  };
}

/** FRR's side: one neighbor, activated for IPv4 unicast. Graceful restart is router-wide in
 * FRR (`bgp graceful-restart`): set FrrConfig.gracefulRestart from torGracefulRestart(). */
export function frrTorNeighbor(p: TorPeering): FrrNeighbor {
  return {
    addr: p.nodeAddr,
    remoteAs: p.nodeAs,
    ...(p.torPassive ? { passive: true } : {}),
    ...(p.password !== undefined ? { password: p.password } : {}),
    ...(p.gtsm ? { ttlSecurityHops: 1 } : {}),
    ipv4: true,
  };
}

export const torGracefulRestart = (p: TorPeering): boolean => p.gracefulRestart ?? true;
