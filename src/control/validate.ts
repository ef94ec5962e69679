// Argument checks shared by bgpctl (so a typo gets a clear message before any connection) and
// the control server (so a hand-written request gets the same answer). Pure functions.
import { isIP } from 'node:net';
import type { FamilyName } from './api.js';
import { WELL_KNOWN_COMMUNITIES as WELL_KNOWN_VALUES } from '../../bgp/codec/communities.js';

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

/** Address bits as a bigint, for masking. */
function toBits(addr: string, family: 4 | 6): bigint {
  if (family === 4) return addr.split('.').reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const words = (t: string): string[] => (t === '' ? [] : t.split(':'));
  let h = words(head);
  let tl = tail === undefined ? [] : words(tail);
  // An embedded dotted quad (::ffff:192.0.2.1) stands for two 16-bit groups.
  const expandV4 = (ws: string[]): string[] => {
    const last = ws[ws.length - 1];
    if (last === undefined || !last.includes('.')) return ws;
    const v = toBits(last, 4);
    return [...ws.slice(0, -1), (v >> 16n).toString(16), (v & 0xffffn).toString(16)];
  };
  if (tail === undefined) h = expandV4(h);
  else tl = expandV4(tl);
  const zeros = tail === undefined ? [] : new Array<string>(8 - h.length - tl.length).fill('0');
  return [...h, ...zeros, ...tl].reduce((acc, w) => (acc << 16n) | BigInt(parseInt(w, 16)), 0n);
}

function fromBits(v: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  const words: string[] = [];
  for (let i = 7; i >= 0; i--) words.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Let node print the canonical RFC 5952 form via URL host parsing.
  return new URL(`http://[${words.join(':')}]/`).hostname.slice(1, -1);
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
  const addr = slash < 0 ? s : s.slice(0, slash);
  const ipVersion = isIP(addr);
  if (ipVersion === 0 || addr.includes('%')) return { ok: false, message: `bad prefix '${s}': '${addr}' is not an IPv4 or IPv6 address` };
  const fam: 4 | 6 = ipVersion === 4 ? 4 : 6;
  const family: FamilyName = fam === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) return { ok: true, value: { text: s, family, address: true } };
  const lenText = s.slice(slash + 1);
  const max = fam === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
    return { ok: false, message: `bad prefix '${s}': length must be 0-${max}` };
  }
  const len = Number(lenText);
  const bits = toBits(addr, fam);
  const width = BigInt(max);
  const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << (width - BigInt(len));
  if ((bits & mask) !== bits) {
    return { ok: false, message: `bad prefix '${s}': host bits set (did you mean ${fromBits(bits & mask, fam)}/${len}?)` };
  }
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
