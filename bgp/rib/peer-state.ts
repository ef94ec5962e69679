// The RIB's internal view of a peer: configuration plus what the session negotiated.

import { addressKey } from './decision.js';
import { ipv4ToNumber } from './attr-store.js';
import type { ExportSource } from './export.js';
import type { Family, SessionContext } from '../codec/types.js';
import type { PeerCaps, RibPeer, RibPeerCounters } from './rib-types.js';

export class PeerState implements ExportSource {
  /** Small integer used in path tables; 0 is the local pseudo-peer. */
  readonly idx: number;
  cfg: RibPeer;
  readonly local: boolean;
  ebgp: boolean;
  rrClient: boolean;
  routerId: string;
  routerIdNum: number;
  readonly peerKey: string;
  up = false;
  ctx: SessionContext | undefined;
  caps: PeerCaps | undefined;
  families: Family[] = [];
  /**
   * Session epoch, new at every peerUp and never reused: export results are memoised per
   * (update group, epoch), since they depend on the router ID and flags of that session.
   */
  epoch = 0;
  /** Index of the update group this peer belongs to while up, -1 otherwise. */
  group = -1;
  /** RFC 7313: families for which an inbound enhanced refresh is in progress. */
  refreshing = new Set<Family>();
  /** nexthop.ts verdicts by next hop for this session (import.ts nextHopProblemOf). */
  readonly nextHopVerdicts = new Map<string, string | null>();
  /** Routes left out for this peer, by reason (see RibNotice). */
  readonly counters: RibPeerCounters = { 'message-too-large': 0, 'bad-next-hop': 0 };

  constructor(idx: number, cfg: RibPeer, localAs: number, local = false) {
    this.idx = idx;
    this.cfg = cfg;
    this.local = local;
    this.ebgp = !local && cfg.asn !== localAs;
    this.rrClient = !!cfg.routeReflectorClient;
    this.routerId = '0.0.0.0';
    this.routerIdNum = 0;
    this.peerKey = local ? '' : addressKey(cfg.address);
  }

  setRouterId(id: string): void {
    this.routerId = id;
    this.routerIdNum = ipv4ToNumber(id);
  }
}
