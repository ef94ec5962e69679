// What a route looks like to each peer: the advertisement rules of RFC 4271 §9.1.3/§9.2,
// RFC 1997 well-known communities, and route reflection by RFC 4456, all in this one file
// (GoBGP's filterpath). Pure functions of (source peer, target update group, attributes).

import { AsPathSegmentType, ATTR_FLAG_PARTIAL, ATTR_FLAG_TRANSITIVE, type Family, type PathAttributes } from '../types';
import type { AttrSet } from './attr-store';
import type { NextHopMode } from './rib-types';

/** Where a path came from. */
export interface ExportSource {
  local: boolean;
  ebgp: boolean;
  rrClient: boolean;
  /** Peer BGP Identifier (dotted quad); ours for local routes. */
  routerId: string;
}

/** The outbound profile shared by every member of an update group. */
export interface ExportTarget {
  ebgp: boolean;
  rrClient: boolean;
  nextHopMode: NextHopMode;
  localAddress?: string;
  localAddress6?: string;
  localLinkLocal6?: string;
}

export interface LocalSpeaker {
  localAs: number;
  routerId: string;
  clusterId?: string;
  defaultLocalPref: number;
}

/** RFC 1997 §2 well-known communities. */
export const NO_EXPORT = 0xffffff01;
export const NO_ADVERTISE = 0xffffff02;
export const NO_EXPORT_SUBCONFED = 0xffffff03;

/**
 * May a path from `src` be advertised to peers of profile `dst` at all?
 * Per-member exclusions (the peer it came from, the peer named by ORIGINATOR_ID) are applied
 * by the update group, since members share this answer.
 */
export function mayAdvertise(src: ExportSource, dst: ExportTarget, attrs: PathAttributes, me: LocalSpeaker): boolean {
  const comms = attrs.communities;
  if (comms) {
    // RFC 1997: NO_ADVERTISE to nobody; NO_EXPORT / NO_EXPORT_SUBCONFED not outside the AS.
    if (comms.includes(NO_ADVERTISE)) return false;
    if (dst.ebgp && (comms.includes(NO_EXPORT) || comms.includes(NO_EXPORT_SUBCONFED))) return false;
  }
  // Local routes and eBGP-learned routes go to every peer; anything goes to eBGP peers.
  if (src.local || src.ebgp || dst.ebgp) return true;
  // iBGP-learned towards iBGP. RFC 4271 §9.2: "a BGP speaker MUST NOT advertise a route learned
  // from an internal peer to another internal peer" -- unless it is a route reflector:
  if (me.clusterId === undefined) return false;
  // RFC 4456 §6: "A Route from a Client Peer: Reflect to all the Non-Client Peers and also to
  // the Client Peers." "A Route from a Non-Client Peer: Reflect to all the Clients."
  if (src.rrClient) return true;
  return dst.rrClient;
}

/** Prepends our AS as the leftmost AS_SEQUENCE member (RFC 4271 §5.1.2). */
export function prependAs(path: PathAttributes['asPath'], asn: number): NonNullable<PathAttributes['asPath']> {
  if (!path || path.length === 0) return [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [asn] }];
  const first = path[0];
  if (first.type === AsPathSegmentType.AS_SEQUENCE && first.asns.length < 255)
    return [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [asn, ...first.asns] }, ...path.slice(1)];
  return [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [asn] }, ...path];
}

export interface ExportedAttrs {
  attrs: PathAttributes;
  nextHop: string;
  linkLocal: string | undefined;
}

/** The attributes sent to peers of profile `dst` for a path from `src` (after mayAdvertise). */
export function exportAttrs(src: ExportSource, dst: ExportTarget, set: AttrSet, family: Family, me: LocalSpeaker): ExportedAttrs {
  const a = set.attrs;
  const out: PathAttributes = { ...a };
  delete out.nextHop;
  // The encoder regenerates AS4_PATH/AS4_AGGREGATOR for 2-octet sessions (RFC 6793 §4.2.2).
  delete out.as4Path;
  delete out.as4Aggregator;
  if (a.unknown) {
    // RFC 4271 §5: unrecognised non-transitive attributes are dropped; transitive ones are
    // passed on with the Partial bit set.
    const kept = a.unknown
      .filter((u) => u.flags & ATTR_FLAG_TRANSITIVE)
      .map((u) => ({ ...u, flags: u.flags | ATTR_FLAG_PARTIAL }));
    if (kept.length > 0) out.unknown = kept;
    else delete out.unknown;
  }
  let self: boolean;
  if (dst.ebgp) {
    out.asPath = prependAs(a.asPath, me.localAs);
    delete out.localPref; // RFC 4271 §5.1.5: LOCAL_PREF only inside the AS
    // RFC 4271 §5.1.4: a MED received from a neighbouring AS MUST NOT go to other ASes.
    if (!src.local) delete out.med;
    // RFC 4456 §8: ORIGINATOR_ID and CLUSTER_LIST are meaningful inside the AS only.
    delete out.originatorId;
    delete out.clusterList;
    // RFC 4271 §5.1.3: towards an external peer the NEXT_HOP is normally our address;
    // Calico nextHopMode Keep leaves it alone.
    self = dst.nextHopMode !== 'Keep';
  } else {
    // RFC 4271 §5.1.5: LOCAL_PREF MUST be sent to internal peers.
    out.localPref = a.localPref ?? me.defaultLocalPref;
    if (!src.local && !src.ebgp && me.clusterId !== undefined) {
      // RFC 4456 §8: the reflector sets ORIGINATOR_ID to the router ID of the peer the route
      // came from, unless already present, and prepends its CLUSTER_ID to CLUSTER_LIST.
      out.originatorId = a.originatorId ?? src.routerId;
      out.clusterList = [me.clusterId, ...(a.clusterList ?? [])];
    }
    // RFC 4271 §5.1.3: towards an internal peer the NEXT_HOP is kept unless configured;
    // Calico nextHopMode Self forces our address.
    self = dst.nextHopMode === 'Self';
  }
  if (src.local && set.nextHop === '') self = true; // our own blocks: we are the next hop
  if (!self) return { attrs: out, nextHop: set.nextHop, linkLocal: dst.ebgp ? undefined : set.linkLocal };
  if (family === 'ipv4') return { attrs: out, nextHop: dst.localAddress ?? me.routerId, linkLocal: undefined };
  return { attrs: out, nextHop: dst.localAddress6 ?? '::', linkLocal: dst.localLinkLocal6 };
}
