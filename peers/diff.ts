/**
 * diffPlan: what to do to go from the running sessions to a new plan. Sessions are matched
 * by key (peer address and port). A session whose configuration is unchanged is never reset.
 * A change to anything negotiated in OPEN or fixed at connect time (addresses, port, AS
 * numbers, password, GTSM, timers, families, graceful-restart time, reflector-client role)
 * restarts that one session; policy-only changes (filters, next hop mode, allowed local AS
 * count, reachableBy, passive, max-prefix limits) and bookkeeping (description, kind, sourceNode) are applied in place:
 * the session layer re-runs export policy and asks for a ROUTE-REFRESH (RFC 2918) on import.
 */
import type { PeerConfig } from './types.js';

type Field = keyof PeerConfig;

/** Fields whose change requires tearing the session down (RFC 4271 §4.2 OPEN, RFC 2385 / 5925 TCP options, RFC 5082 TTL). */
export const RESTART_FIELDS: readonly Field[] = [
  'peerAddress',
  'peerPort',
  'peerAs',
  'localAs',
  'localAddress',
  'password',
  'passwordError',
  'ttlSecurity',
  'keepaliveTime',
  'holdTime',
  'families',
  'maxRestartTime',
  'routeReflectorClient',
];
const SOFT_FIELDS: readonly Field[] = [
  'kind',
  'description',
  'nextHopMode',
  'numAllowedLocalASNumbers',
  'filters',
  'reachableBy',
  'sourceNode',
  'passive',
  'bfd', // BFD runs beside the session (RFC 5882): changing it never resets BGP
  'maxPrefixes',
];

export interface PeerChange {
  before: PeerConfig;
  after: PeerConfig;
  restartNeeded: boolean;
  /** Every field that differs, in declaration order. */
  fields: string[];
}

export interface PlanDiff {
  added: PeerConfig[];
  removed: PeerConfig[];
  changed: PeerChange[];
  unchanged: PeerConfig[];
}

const ALL_FIELDS: readonly Field[] = [...RESTART_FIELDS, ...SOFT_FIELDS];

const same = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && JSON.stringify(a) === JSON.stringify(b);
};

export function diffPlan(old: readonly PeerConfig[], next: readonly PeerConfig[]): PlanDiff {
  const before = new Map(old.map((p) => [p.key, p]));
  const diff: PlanDiff = { added: [], removed: [], changed: [], unchanged: [] };
  const seen = new Set<string>();
  for (const after of next) {
    seen.add(after.key);
    const b = before.get(after.key);
    if (!b) {
      diff.added.push(after);
      continue;
    }
    const fields: Field[] = [];
    for (const f of ALL_FIELDS) if (!same(b[f], after[f])) fields.push(f);
    if (fields.length === 0) diff.unchanged.push(after);
    else diff.changed.push({ before: b, after, fields, restartNeeded: fields.some((f) => RESTART_FIELDS.includes(f)) });
  }
  for (const p of old) if (!seen.has(p.key)) diff.removed.push(p);
  return diff;
}
