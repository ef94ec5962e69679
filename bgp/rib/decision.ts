// The BGP decision process, RFC 4271 §9.1.2, with RFC 4456 §9 and RFC 5004 tie-breaks.
//
// Two entry points with the same numbered steps:
// - select(): the RFC's own formulation, RFC 4271 §9.1.2.2 "remove from consideration" applied to the
//   whole candidate set, step by step. It is order independent (the MED rule removes a route
//   only against routes from the same neighbour AS, which a pairwise sort cannot do
//   consistently; Cisco/FRR call this behaviour "deterministic-med"). It also yields the
//   multipath (ECMP) set: the candidates left after the IGP-cost step.
// - compare(): pairwise, returning the step and the reason, so `bgpctl show rib --detail` can
//   say why each path lost to the best one.

import type { AttrSet } from './attr-store.js';
import { parseIp } from '../codec/address.js';

export const enum Step {
  /** Tern: a locally originated route wins (like FRR's weight 32768 / BIRD's preference). */
  LOCAL_ORIGIN = 0,
  NEXT_HOP = 1, // RFC 4271 §9.1.2.1 NEXT_HOP must be resolvable
  LOCAL_PREF = 2, // RFC 4271 §9.1.1 degree of preference
  AS_PATH = 3, // RFC 4271 §9.1.2.2 a
  ORIGIN = 4, // RFC 4271 §9.1.2.2 b
  MED = 5, // RFC 4271 §9.1.2.2 c
  EBGP = 6, // RFC 4271 §9.1.2.2 d
  IGP_COST = 7, // RFC 4271 §9.1.2.2 e
  OLDEST = 8, // RFC 5004 §2 (optional)
  ROUTER_ID = 9, // RFC 4271 §9.1.2.2 f, RFC 4456 §9: ORIGINATOR_ID replaces the router ID
  CLUSTER_LIST = 10, // RFC 4456 §9
  PEER_ADDRESS = 11, // RFC 4271 §9.1.2.2 g
  PATH_ID = 12, // RFC 7911: two paths from one peer; lowest path identifier
  /** RFC 9494 §4.3: a path carrying LLGR_STALE is least preferred. Applied first (numbered last
   * so the existing step numbers, shown by bgpctl, keep their meaning). */
  LLGR_STALE = 13,
}

export const STEP_NAMES: Record<Step, string> = {
  [Step.LOCAL_ORIGIN]: 'local-origin',
  [Step.NEXT_HOP]: 'next-hop-unreachable',
  [Step.LOCAL_PREF]: 'local-pref',
  [Step.AS_PATH]: 'as-path-length',
  [Step.ORIGIN]: 'origin',
  [Step.MED]: 'med',
  [Step.EBGP]: 'ebgp-over-ibgp',
  [Step.IGP_COST]: 'igp-cost',
  [Step.OLDEST]: 'oldest-path',
  [Step.ROUTER_ID]: 'router-id',
  [Step.CLUSTER_LIST]: 'cluster-list-length',
  [Step.PEER_ADDRESS]: 'peer-address',
  [Step.PATH_ID]: 'path-id',
  [Step.LLGR_STALE]: 'llgr-stale',
};

export interface Candidate {
  attr: AttrSet;
  local: boolean;
  ebgp: boolean;
  reachable: boolean;
  igpCost: number;
  /** Peer's BGP Identifier as a number (0 for local). */
  routerId: number;
  /** Peer address as a fixed-width comparable string (see addressKey). */
  peerKey: string;
  pathId: number;
  /** Arrival sequence: lower is older (RFC 5004). */
  age: number;
}

export interface DecisionOptions {
  defaultLocalPref: number;
  alwaysCompareMed: boolean;
  medMissingAsWorst: boolean;
  preferOldestEbgp: boolean;
  maxPaths: number;
}

export interface Verdict {
  /** 0: the first argument is preferred, 1: the second. */
  winner: 0 | 1;
  step: Step;
  reason: string;
}

/**
 * A fixed-width hex form of an IPv4/IPv6 address so that text order is numeric order (IPv4
 * before IPv6); a zone index stays on the end so two link-local peers on different links differ.
 */
export function addressKey(address: string): string {
  const b = parseIp(address, 'ignore');
  if (!b) return address;
  const pct = address.indexOf('%');
  return `${b.length === 16 ? 'z' : ''}${b.toString('hex')}${pct < 0 ? '' : address.slice(pct)}`;
}

const lp = (c: Candidate, o: DecisionOptions): number => (c.attr.localPref >= 0 ? c.attr.localPref : o.defaultLocalPref);
const med = (c: Candidate, o: DecisionOptions): number => (c.attr.med >= 0 ? c.attr.med : o.medMissingAsWorst ? 0xffffffff : 0);
/** RFC 4456 §9: "a route that carries the ORIGINATOR_ID ... the ORIGINATOR_ID SHOULD be treated as the BGP Identifier". */
const rid = (c: Candidate): number => (c.attr.originatorId >= 0 ? c.attr.originatorId : c.routerId);
const medComparable = (a: Candidate, b: Candidate, o: DecisionOptions): boolean => o.alwaysCompareMed || a.attr.neighborAs === b.attr.neighborAs;

/** Pairwise comparison in step order; says which step decided and why. */
export function compare(a: Candidate, b: Candidate, o: DecisionOptions): Verdict {
  const v = (aWins: boolean, step: Step, reason: string): Verdict => ({ winner: aWins ? 0 : 1, step, reason });
  if (a.attr.llgrStale !== b.attr.llgrStale) return v(!a.attr.llgrStale, Step.LLGR_STALE, 'LLGR_STALE: long-lived stale route least preferred');
  if (a.local !== b.local) return v(a.local, Step.LOCAL_ORIGIN, 'locally originated route preferred');
  if (a.reachable !== b.reachable) return v(a.reachable, Step.NEXT_HOP, 'NEXT_HOP not resolvable');
  const la = lp(a, o);
  const lb = lp(b, o);
  if (la !== lb) return v(la > lb, Step.LOCAL_PREF, `LOCAL_PREF ${Math.min(la, lb)} lower than ${Math.max(la, lb)}`);
  if (a.attr.asPathLen !== b.attr.asPathLen) {
    const [x, y] = [a.attr.asPathLen, b.attr.asPathLen].sort((p, q) => p - q);
    return v(a.attr.asPathLen < b.attr.asPathLen, Step.AS_PATH, `AS_PATH length ${y} longer than ${x}`);
  }
  if (a.attr.origin !== b.attr.origin) return v(a.attr.origin < b.attr.origin, Step.ORIGIN, 'ORIGIN higher (IGP < EGP < INCOMPLETE)');
  if (medComparable(a, b, o)) {
    const ma = med(a, o);
    const mb = med(b, o);
    if (ma !== mb) return v(ma < mb, Step.MED, `MED ${Math.max(ma, mb)} higher than ${Math.min(ma, mb)}`);
  }
  if (a.ebgp !== b.ebgp) return v(a.ebgp, Step.EBGP, 'iBGP path, eBGP preferred');
  if (a.igpCost !== b.igpCost) return v(a.igpCost < b.igpCost, Step.IGP_COST, 'higher IGP cost to NEXT_HOP');
  if (o.preferOldestEbgp && a.ebgp && b.ebgp && a.age !== b.age) return v(a.age < b.age, Step.OLDEST, 'newer eBGP path');
  if (rid(a) !== rid(b)) return v(rid(a) < rid(b), Step.ROUTER_ID, 'higher router ID / ORIGINATOR_ID');
  if (a.attr.clusterListLen !== b.attr.clusterListLen) return v(a.attr.clusterListLen < b.attr.clusterListLen, Step.CLUSTER_LIST, 'longer CLUSTER_LIST');
  if (a.peerKey !== b.peerKey) return v(a.peerKey < b.peerKey, Step.PEER_ADDRESS, 'higher peer address');
  return v(a.pathId <= b.pathId, Step.PATH_ID, 'higher path identifier');
}

/** Keeps the candidates whose key is minimal (or maximal); returns the survivors. */
function keepBest(c: Candidate[], key: (x: Candidate) => number, max: boolean): Candidate[] {
  if (c.length < 2) return c;
  let best = key(c[0]);
  for (let i = 1; i < c.length; i++) {
    const k = key(c[i]);
    if (max ? k > best : k < best) best = k;
  }
  let all = true;
  for (let i = 0; i < c.length && all; i++) if (key(c[i]) !== best) all = false;
  return all ? c : c.filter((x) => key(x) === best);
}

export interface Selection {
  /** Index into the input of the best path, -1 when none is eligible. */
  best: number;
  /** Indices of the multipath set (best first), at most maxPaths. */
  multipath: number[];
}

/**
 * RFC 4271 §9.1.2: choose the best among candidates by removing, step by step, the routes
 * that lose (the RFC's formulation); order independent by construction.
 */
export function select(cands: Candidate[], o: DecisionOptions): Selection {
  // RFC 4271 §9.1.2.1: routes with an unresolvable NEXT_HOP are not candidates.
  let c = cands.filter((x) => x.reachable);
  if (c.length === 0) return { best: -1, multipath: [] };
  if (c.some((x) => x.attr.llgrStale) && c.some((x) => !x.attr.llgrStale)) c = c.filter((x) => !x.attr.llgrStale); // RFC 9494 §4.3
  if (c.some((x) => x.local)) c = c.filter((x) => x.local); // step 0
  c = keepBest(c, (x) => lp(x, o), true); // step 2
  c = keepBest(c, (x) => x.attr.asPathLen, false); // step 3, RFC 4271 §9.1.2.2 a
  c = keepBest(c, (x) => x.attr.origin, false); // step 4, RFC 4271 §9.1.2.2 b
  // step 5, RFC 4271 §9.1.2.2 c: remove a route if another from the same neighbour AS has a lower MED.
  if (c.length > 1) {
    const before = c;
    c = before.filter((x) => !before.some((y) => y !== x && medComparable(x, y, o) && med(y, o) < med(x, o)));
  }
  if (c.some((x) => x.ebgp)) c = c.filter((x) => x.ebgp); // step 6, RFC 4271 §9.1.2.2 d
  c = keepBest(c, (x) => x.igpCost, false); // step 7, RFC 4271 §9.1.2.2 e
  // The multipath set: equal through step 7 (the usual ECMP rule), ranked by the remaining
  // tie-breaks so that the cap keeps the same members whatever the arrival order.
  const ranked = c.length > 1 ? [...c].sort((x, y) => (compare(x, y, o).winner === 0 ? -1 : 1)) : c;
  const multipath = ranked.slice(0, Math.max(1, o.maxPaths)).map((x) => cands.indexOf(x));
  return { best: multipath[0], multipath };
}
