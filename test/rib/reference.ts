// An independent reference for the RIB tests (issue 15: the model test's oracle was the RIB
// itself). Deliberately small and slow: written from RFC 4271 §9.1.2.2 and §9.2 and
// RFC 4456 §6, §8, §9, sharing no code with bgp/rib. Paths are plain objects; the best path is found by
// the RFC's own set elimination, and what each peer is sent follows from it.
//
// Tern's choices where the RFCs leave room, mirrored here on purpose and named:
//   - every NEXT_HOP is resolvable and every IGP cost is 0 (the RIB tests' default options);
//   - an eBGP path has LOCAL_PREF 100 (RFC 4271 §5.1.5 leaves the value to the speaker);
//   - MED is compared only among paths whose leftmost AS is the same, an empty AS_PATH counting
//     as one group (RFC 4271 §9.1.2.2 c), a missing MED as 0;
//   - a route is not sent back to the peer it came from, nor to the peer whose BGP Identifier is
//     its ORIGINATOR_ID (RFC 4456 §8 makes the latter a receiver's check; Tern also applies it
//     when sending), and then that peer gets no route for the prefix at all.

export interface RefPeer {
  id: string;
  asn: number;
  routerId: string;
  address: string;
  rrClient: boolean;
}

export interface RefPath {
  peer: RefPeer;
  asPath: { type: number; asns: number[] }[];
  origin: number;
  localPref?: number;
  med?: number;
  originatorId?: string;
  clusterList?: string[];
}

export interface RefSpeaker {
  localAs: number;
  /** Set when we are a route reflector (RFC 4456). */
  clusterId?: string;
}

const ip4 = (s: string): number => s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
/** RFC 4271 §9.1.2.2 a: an AS_SET counts as one, confederation segments as none (RFC 5065 §5.3). */
const pathLength = (p: RefPath): number => p.asPath.reduce((n, s) => n + (s.type === 2 ? s.asns.length : s.type === 1 ? 1 : 0), 0);
const neighborAs = (p: RefPath): string => {
  const first = p.asPath.find((s) => s.type === 2);
  return first && first.asns.length ? String(first.asns[0]) : 'local';
};

/** Keeps the paths with the best value of `key`. */
function keep(paths: RefPath[], key: (p: RefPath) => number, highest: boolean): RefPath[] {
  const vals = paths.map(key);
  const best = highest ? Math.max(...vals) : Math.min(...vals);
  return paths.filter((_, i) => vals[i] === best);
}

/** RFC 4271 §9.1.2.2 with RFC 4456 §9, by elimination; undefined when there is no path. */
export function referenceBest(paths: RefPath[], me: RefSpeaker): RefPath | undefined {
  if (paths.length === 0) return undefined;
  const ebgp = (p: RefPath): boolean => p.peer.asn !== me.localAs;
  let c = keep(paths, (p) => (ebgp(p) ? 100 : (p.localPref ?? 100)), true); // RFC 4271 §9.1.2.1: degree of preference
  c = keep(c, pathLength, false); // a
  c = keep(c, (p) => p.origin, false); // b
  c = c.filter((p) => !c.some((q) => q !== p && neighborAs(q) === neighborAs(p) && (q.med ?? 0) < (p.med ?? 0))); // c
  if (c.some(ebgp)) c = c.filter(ebgp); // d (e: IGP cost all equal)
  c = keep(c, (p) => ip4(p.originatorId ?? p.peer.routerId), false); // f, RFC 4456 §9: ORIGINATOR_ID as the identifier
  c = keep(c, (p) => p.clusterList?.length ?? 0, false); // RFC 4456 §9: shorter CLUSTER_LIST, between f and g
  c = keep(c, (p) => ip4(p.peer.address), false); // g
  return c[0];
}

/** RFC 4271 §9.2 and RFC 4456 §6: may `best` be sent to `to`? */
export function referenceAdvertise(best: RefPath, to: RefPeer, me: RefSpeaker): boolean {
  if (best.peer.id === to.id) return false;
  const fromIbgp = best.peer.asn === me.localAs;
  const toIbgp = to.asn === me.localAs;
  if (fromIbgp && toIbgp) {
    // RFC 4271 §9.2: never iBGP to iBGP, unless reflecting (RFC 4456 §6): a client's route to everyone,
    // a non-client's route to clients only.
    if (me.clusterId === undefined) return false;
    if (!best.peer.rrClient && !to.rrClient) return false;
    if ((best.originatorId ?? best.peer.routerId) === to.routerId) return false; // RFC 4456 §8
  }
  return true;
}
