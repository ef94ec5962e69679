// Argument checks shared by bgpctl (so a typo gets a clear message before any connection) and
// the control server (so a hand-written request gets the same answer). Pure functions.
import type { FamilyName } from './api.js';
import { WELL_KNOWN_COMMUNITIES as WELL_KNOWN_VALUES } from '../../bgp/codec/communities.js';
import { formatCidr, ipFamily, parseCidr } from '../../bgp/codec/address.js';

/** node's isIP, from the tree's one address module: 4, 6, or 0 for no address. */
const isIP = (s: string): number => ipFamily(s) ?? 0;

/** RFC 9003 §2: the shutdown communication length is one octet, so at most 255 bytes of UTF-8. */
export const MAX_SHUTDOWN_MESSAGE_BYTES = 255;

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/** An address as neighbor key: IPv4 dotted quad or IPv6 text (no zone, no brackets). */
export function checkAddress(s: string): Checked<string> {
  if (isIP(s) === 0) return { ok: false, message: `bad address '${s}': expected an IPv4 or IPv6 address` };
  return { ok: true, value: s };
}

/**
 * A neighbor as `show peers` and `show config` name it: an address, or `a.b.c.d:port` /
 * `[v6]:port` for a peer on another port than 179. Port 179 is the same as the bare address,
 * which is the form returned (peers/plan.ts peerKey).
 */
export function checkNeighborKey(s: string): Checked<string> {
  if (isIP(s) !== 0) return { ok: true, value: s };
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:]+):(\d{1,5})$/.exec(s);
  if (!m || isIP(m[1]) === 0 || (m[0].startsWith('[') && isIP(m[1]) !== 6)) {
    return { ok: false, message: `bad neighbor '${s}': expected an IPv4 or IPv6 address, or address:port ([v6]:port) as show config prints it` };
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return { ok: false, message: `bad neighbor '${s}': port must be 1-65535` };
  if (port === 179) return { ok: true, value: m[1] };
  return { ok: true, value: isIP(m[1]) === 6 ? `[${m[1]}]:${port}` : `${m[1]}:${port}` };
}

export interface PrefixArg {
  /** As the user meant it: 'a.b.c.d/len' or a bare address (longest match). */
  text: string;
  family: FamilyName;
  /** True for a bare address. */
  address: boolean;
}

/**
 * Checks a prefix or bare address given on the command line. A prefix with host bits set is
 * refused with the masked form suggested, rather than silently masked: the operator asked about
 * something that cannot be in a RIB (RFC 4271 §4.3 NLRI carry the prefix bits only).
 */
export function checkPrefix(s: string): Checked<PrefixArg> {
  const slash = s.indexOf('/');
  const c = parseCidr(s);
  if ('fault' in c) {
    if (c.fault === 'length') return { ok: false, message: `bad prefix '${s}': length must be 0-${c.max}` };
    return { ok: false, message: `bad prefix '${s}': '${slash < 0 ? s : s.slice(0, slash)}' is not an IPv4 or IPv6 address` };
  }
  const family: FamilyName = c.family === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) return { ok: true, value: { text: s, family, address: true } };
  if (c.hostBits) return { ok: false, message: `bad prefix '${s}': host bits set (did you mean ${formatCidr(c)}?)` };
  return { ok: true, value: { text: s, family, address: false } };
}

/** RFC 1997, RFC 3765, RFC 7999, RFC 8326, RFC 9494 well-known communities by the names operators type. */
const WELL_KNOWN: Record<string, string> = Object.fromEntries(Object.entries(WELL_KNOWN_VALUES).map(([name, c]) => [name, `${c >>> 16}:${c & 0xffff}`]));

/** A community as typed ('64512:100', 'no-export') in the 'asn:value' form rows carry; null if bad. */
export function normaliseCommunity(s: string): string | null {
  const named = WELL_KNOWN[s.toLowerCase()];
  if (named) return named;
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(s);
  if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff) return null;
  return `${Number(m[1])}:${Number(m[2])}`;
}

export const WELL_KNOWN_COMMUNITIES = Object.keys(WELL_KNOWN);

/** RFC 9003 §2: length-prefixed UTF-8, at most 255 octets. */
export function checkShutdownMessage(s: string): Checked<string> {
  const n = Buffer.byteLength(s, 'utf8');
  if (n > MAX_SHUTDOWN_MESSAGE_BYTES) {
    return { ok: false, message: `shutdown message is ${n} bytes of UTF-8; RFC 9003 allows at most ${MAX_SHUTDOWN_MESSAGE_BYTES}` };
  }
  return { ok: true, value: s };
}
