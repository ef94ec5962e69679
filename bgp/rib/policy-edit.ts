// Attribute edits a policy may ask for, applied without knowing where the policy came from
// (peers/ turns Calico BGPFilter operations into these; bgp/ knows nothing of Calico).
//
// Export policies see the attributes as they will be sent (update-group.ts runs them after
// export.ts): towards an eBGP peer our own AS is already the first AS_PATH member
// (RFC 4271 §5.1.2). A policy modelled on a BIRD export filter, which runs before that
// prepend, passes `ownAsFirst` so that its matches and prepends see the path as BIRD would.

import { AsPathSegmentType, type LargeCommunity, type PathAttributes } from '../codec/types.js';

export interface AttrEdit {
  /** RFC 1997 communities to add (32-bit values); present ones are not repeated. */
  addCommunities?: readonly number[];
  /** RFC 8092 large communities to add; present ones are not repeated. */
  addLargeCommunities?: readonly LargeCommunity[];
  /** AS numbers to put in front of the AS_PATH, in this order (RFC 4271 §5.1.2 form). */
  prependAs?: readonly number[];
  /** LOCAL_PREF to set (RFC 4271 §5.1.5: sent to internal peers only; the decision's step 1). */
  setLocalPref?: number;
}

/** The leading AS_SEQUENCE members of a path (what "the path begins with" can mean). */
function leadingSequence(path: PathAttributes['asPath']): number[] {
  const out: number[] = [];
  for (const s of path ?? []) {
    if (s.type !== AsPathSegmentType.AS_SEQUENCE) break;
    out.push(...s.asns);
  }
  return out;
}

/** Does the AS_PATH begin with `asns` (after skipping our own AS when `ownAsFirst`)? */
export function asPathStartsWith(path: PathAttributes['asPath'], asns: readonly number[], ownAsFirst = false): boolean {
  const seq = leadingSequence(path).slice(ownAsFirst ? 1 : 0);
  if (seq.length < asns.length) return false;
  return asns.every((a, i) => seq[i] === a);
}

/** A new attribute object with `edit` applied; `a` is not modified (it may be shared). */
export function editAttrs(a: PathAttributes, edit: AttrEdit, ownAsFirst = false): PathAttributes {
  const out: PathAttributes = { ...a };
  if (edit.addCommunities?.length) {
    const have = new Set(a.communities ?? []);
    out.communities = [...(a.communities ?? []), ...edit.addCommunities.filter((c) => !have.has(c) && have.add(c))];
  }
  if (edit.addLargeCommunities?.length) {
    const key = (c: LargeCommunity) => `${c.globalAdmin}:${c.local1}:${c.local2}`;
    const have = new Set((a.largeCommunities ?? []).map(key));
    const add = edit.addLargeCommunities.filter((c) => !have.has(key(c)) && have.add(key(c)));
    out.largeCommunities = [...(a.largeCommunities ?? []), ...add];
  }
  if (edit.setLocalPref !== undefined) out.localPref = edit.setLocalPref;
  if (edit.prependAs?.length) {
    // Into the first AS_SEQUENCE (after our own AS when it is already there); a segment holds
    // at most 255 ASes (RFC 4271 §4.3), so a long result is split.
    const path = a.asPath ?? [];
    const first = path[0];
    const keep = ownAsFirst && first?.type === AsPathSegmentType.AS_SEQUENCE && first.asns.length > 0 ? [first.asns[0]] : [];
    const rest = keep.length ? [{ ...first, asns: first.asns.slice(1) }, ...path.slice(1)].filter((s) => s.asns.length > 0) : path;
    const lead = rest[0]?.type === AsPathSegmentType.AS_SEQUENCE ? rest[0].asns : [];
    const asns = [...keep, ...edit.prependAs, ...lead];
    const segments: NonNullable<PathAttributes['asPath']> = [];
    for (let i = 0; i < asns.length; i += 255) segments.push({ type: AsPathSegmentType.AS_SEQUENCE, asns: asns.slice(i, i + 255) });
    out.asPath = [...segments, ...(lead.length ? rest.slice(1) : rest)];
  }
  return out;
}
