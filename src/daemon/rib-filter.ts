// The filters of `bgpctl show rib` (issue 17: what BIRD and OpenBGPD users reach for): by
// community, large community, OpenBGPD's AS forms, and prefix containment (longer/shorter).
// Pure functions over the RibRowView a row is shown as, so they are tested without a RIB.
// The AS_PATH regular expression is NOT here: bgpctl applies it, so that a pathological
// expression costs the operator's shell and never the daemon's event loop.
import { parsePrefix } from '../../bgp/codec/prefix.js';
import type { AsFilter, RibQuery, RibRowView } from '../control/api.js';
import { normaliseCommunity } from '../control/validate.js';

interface PathShape {
  /** AS_SEQUENCE and AS_SET members left to right (confederation segments left out). */
  all: number[];
  /** The leftmost AS of an AS_SEQUENCE at the start: the neighbor's (undefined if none). */
  first?: number;
  /** The rightmost AS when the path ends in an AS_SEQUENCE: the originating AS. */
  last?: number;
}

/** Reads the AS_PATH text of a row ('65001 65002 {65003 65004}', '(65010) 65001'). */
export function asPathShape(text: string): PathShape {
  const all: number[] = [];
  let first: number | undefined;
  let last: number | undefined;
  let inSet = false;
  let inConfed = false;
  let seen = false;
  for (const tok of text.match(/[{}()[\]]|\d+/g) ?? []) {
    if (tok === '{') inSet = true;
    else if (tok === '}') inSet = false;
    else if (tok === '(' || tok === '[') inConfed = true;
    else if (tok === ')' || tok === ']') inConfed = false;
    else if (!inConfed) {
      const asn = Number(tok);
      all.push(asn);
      if (!seen && !inSet) first = asn;
      seen = true;
      last = inSet ? undefined : asn;
    }
    if (tok === '{') last = undefined;
  }
  return { all, first, last };
}

/**
 * OpenBGPD's AS filters (bgpctl(8) `show rib as|source-as|transit-as|peer-as|empty-as`).
 * A path with an empty AS_PATH originates in our own AS, so `source-as <our AS>` matches it.
 */
export function matchAs(f: AsFilter, asPath: string, localAsn: number): boolean {
  const p = asPathShape(asPath);
  switch (f.kind) {
    case 'empty-as':
      return p.all.length === 0;
    case 'as':
      return p.all.includes(f.asn);
    case 'peer-as':
      return p.first === f.asn;
    case 'source-as':
      return p.all.length === 0 ? f.asn === localAsn : p.last === f.asn;
    case 'transit-as': {
      // Every position but the originating one: drop the final AS when the path ends in a sequence.
      const transit = p.last === undefined ? p.all : p.all.slice(0, -1);
      return transit.includes(f.asn);
    }
  }
}

/** A test for "lies within `outer`" (same family, at least as long, same leading bits); the
 * outer prefix is parsed once, so a walk of the whole table parses each row's prefix only. */
export function withinOf(outer: string): (inner: string) => boolean {
  const o = parsePrefix(outer);
  return (inner) => {
    const i = parsePrefix(inner);
    if (o.afi !== i.afi || i.len < o.len) return false;
    for (let bit = 0; bit < o.len; bit++) {
      const m = 0x80 >> (bit & 7);
      if ((o.addr[bit >> 3] & m) !== (i.addr[bit >> 3] & m)) return false;
    }
    return true;
  };
}

export const within = (outer: string, inner: string): boolean => withinOf(outer)(inner);

/** The row test for a query's attribute filters; null when the query has none. */
export function attributeFilter(q: RibQuery, localAsn: number): ((r: RibRowView) => boolean) | null {
  const tests: Array<(r: RibRowView) => boolean> = [];
  if (q.community !== undefined) {
    const c = normaliseCommunity(q.community);
    tests.push((r) => c !== null && (r.communities ?? []).includes(c));
  }
  if (q.largeCommunity !== undefined) {
    const l = q.largeCommunity.split(':').map(Number).join(':');
    tests.push((r) => (r.largeCommunities ?? []).includes(l));
  }
  if (q.asFilter) {
    const f = q.asFilter;
    tests.push((r) => matchAs(f, r.asPath, localAsn));
  }
  return tests.length ? (r) => tests.every((t) => t(r)) : null;
}

/** The prefix test of a query for rows walked in full (Adj-RIB-In/Out): exact, longer, shorter. */
export function prefixFilter(q: RibQuery): ((prefix: string) => boolean) | null {
  const want = q.prefix;
  if (want === undefined) return null;
  if (q.match === 'longer') return withinOf(want);
  if (q.match === 'shorter') return (p) => within(p, want);
  return (p) => p === want;
}
