// IP addresses and CIDRs as text and as bytes: the one address module of the tree (issue 12).
// The codec, the RIB, fib/, peers/ and src/ all parse, validate and format addresses here; it
// lives in bgp/codec because every layer may import the codec and the codec imports no one.
//
// What is hand-written and what is ip-address's was decided by bench/address.ts (numbers in
// docs/architecture.md, "Addresses"):
// - bytes -> text (formatIpv4, formatIpv6 per RFC 5952 §4): hand-written; the RIB, the FIB and
//   the logs format from bytes, and ip-address takes its text through a BigInt.
// - IPv4 text: one hand-written char-code scan (ipv4Number), exactly node's isIPv4 (four decimal
//   parts 0..255, no leading zeros); a 250k-block IPAM file and every FIB change parse one each.
// - IPv6 text: a hand-written scan for the plain hex-group forms (what Tern itself prints and the
//   FIB reads back once per route); everything else (an embedded dotted quad, and every refusal)
//   is ip-address's Address6, so the rules nobody should write twice live in one library.
import { Address6 } from 'ip-address';

export type IpFamily = 4 | 6;

/** What a zone index ("fe80::1%eth0") means to the caller: an error, or dropped. */
export type ZonePolicy = 'refuse' | 'ignore';

// ---- bytes -> text -------------------------------------------------------------------------

/** Formats 4 bytes at `off` as a dotted quad. */
export function formatIpv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** A dotted quad from an IPv4 address held as a number (0..2^32-1). */
export const formatIpv4Number = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/**
 * Formats 16 bytes at `off` as RFC 5952 §4 text: lower case, no leading zeros in a group
 * (RFC 5952 §4.1), the longest run of two or more zero groups as "::", the first on a tie
 * (RFC 5952 §4.2.1-§4.2.3). IPv4-mapped addresses stay in hex, as Tern has always printed them.
 */
export function formatIpv6(b: Uint8Array, off = 0): string {
  let best = -1;
  let bestLen = 1;
  let run = -1;
  for (let i = 0; i < 8; i++) {
    if (b[off + 2 * i] === 0 && b[off + 2 * i + 1] === 0) {
      if (run < 0) run = i;
      if (i - run + 1 > bestLen) {
        best = run;
        bestLen = i - run + 1;
      }
    } else {
      run = -1;
    }
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    s += ((b[off + 2 * i] << 8) | b[off + 2 * i + 1]).toString(16);
    if (i < 7) s += ':';
  }
  return s;
}

/** An address of either family by its length (4 or 16 bytes). */
export const formatIp = (b: Uint8Array): string => (b.length === 4 ? formatIpv4(b) : formatIpv6(b));

/** RFC 4291 §2.5.5.2: ::ffff:a.b.c.d, an IPv4 address in IPv6 clothes. */
export function isIpv4Mapped(b: Uint8Array): boolean {
  if (b.length !== 16 || b[10] !== 0xff || b[11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return true;
}

/** IPv6 link-local unicast, fe80::/10 (RFC 4291 §2.5.6): needs an interface to mean anything. */
export const isLinkLocal6 = (b: Uint8Array): boolean => b.length === 16 && b[0] === 0xfe && (b[1] & 0xc0) === 0x80;

// ---- text -> bytes -------------------------------------------------------------------------

/**
 * The IPv4 address in `s[from, to)` as a number, or undefined: four decimal parts 0..255 and no
 * leading zeros, exactly what node's net.isIPv4 accepts, read in one pass without a regex, a
 * split or a string per part (issue 17: a 250k-block IPAM file reads a million of them).
 */
export function ipv4Number(s: string, from = 0, to = s.length): number | undefined {
  let value = 0,
    part = 0,
    digits = 0,
    parts = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 46; // the end closes the last part like a dot
    if (c === 46) {
      if (digits === 0 || ++parts > 4) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return undefined; // a leading zero
      part = part * 10 + (c - 48);
      if (part > 255) return undefined;
      digits++;
    } else return undefined;
  }
  return parts === 4 ? value : undefined;
}

/** A dotted quad as 4 bytes, or null. */
export function parseIpv4(s: string): Buffer | null {
  const n = ipv4Number(s);
  if (n === undefined) return null;
  const out = Buffer.allocUnsafe(4); // pooled: a million prefixes must not mean a million ArrayBuffers
  out.writeUInt32BE(n, 0);
  return out;
}

const hexValue = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1);

/**
 * The fast path: IPv6 text made only of 1..4-digit hex groups with at most one "::"
 * (RFC 4291 §2.2 forms 1 and 2) into `out`. False for anything else, which ip-address then judges; never
 * true for text ip-address and node refuse (test/codec/address.test.ts checks both).
 */
function scanHexGroups(s: string, from: number, to: number, out: Buffer): boolean {
  const n = to - from;
  if (n < 2 || n > 39) return false;
  let i = from;
  let g = 0; // groups written
  let gap = -1; // the group index where "::" stands
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false; // a single leading ':'
    gap = 0;
    i += 2;
  }
  while (i < to) {
    let v = 0;
    let d = 0;
    for (; i < to; i++) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      if (++d > 4) return false;
      v = (v << 4) | h;
    }
    if (d === 0 || g === 8) return false;
    out[2 * g] = v >> 8;
    out[2 * g + 1] = v & 255;
    g++;
    if (i === to) break;
    if (s.charCodeAt(i) !== 58) return false; // '.', '%' or junk: not the fast path's business
    i++;
    if (i < to && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false; // a second "::"
      gap = g;
      i++;
    } else if (i === to) return false; // a single trailing ':'
  }
  if (gap < 0) return g === 8;
  if (g > 7) return false; // "::" must stand for at least one group
  const tail = g - gap;
  out.copyWithin(16 - 2 * tail, 2 * gap, 2 * g);
  out.fill(0, 2 * gap, 16 - 2 * tail);
  return true;
}

/** node's zone grammar (lib/internal/net.js): "%" and one or more of [0-9a-zA-Z-.:]. */
const ZONE = /^%[0-9a-zA-Z.:-]+$/;

/**
 * IPv6 text as 16 bytes, or null. A zone index is refused unless `zone` is 'ignore', which
 * drops it (the bytes of fe80::1%eth0 are those of fe80::1).
 */
export function parseIpv6(s: string, zone: ZonePolicy = 'refuse'): Buffer | null {
  let to = s.length;
  const pct = s.indexOf('%');
  if (pct >= 0) {
    if (zone === 'refuse' || !ZONE.test(s.slice(pct))) return null;
    to = pct;
  }
  const out = Buffer.allocUnsafe(16); // pooled, see parseIpv4; the scan writes every byte it accepts
  if (scanHexGroups(s, 0, to, out)) return out;
  return parseIpv6Slow(to === s.length ? s : s.slice(0, to), out);
}

/** ip-address for what the scan does not take: the embedded dotted quad, and every refusal. */
function parseIpv6Slow(text: string, out: Buffer): Buffer | null {
  // Address6 would read "/len" and "%zone" itself; neither belongs in an address here.
  if (text.length < 2 || text.length > 45 || text.includes('/') || text.includes('%')) return null;
  let a: Address6;
  try {
    a = new Address6(text);
  } catch {
    return null;
  }
  const bytes = a.toByteArray();
  // toByteArray drops leading zero bytes (it goes through a BigInt): right-align them.
  out.fill(0);
  for (let i = 0; i < bytes.length; i++) out[16 - bytes.length + i] = bytes[i];
  return out;
}

/** An address of either family: 4 or 16 bytes, or null. */
export function parseIp(s: string, zone: ZonePolicy = 'refuse'): Buffer | null {
  return s.includes(':') ? parseIpv6(s, zone) : parseIpv4(s);
}

/** The family of address text (a zone allowed on IPv6, as node's net.isIP allows it), or undefined. */
export function ipFamily(s: string): IpFamily | undefined {
  if (s.includes(':')) return parseIpv6(s, 'ignore') ? 6 : undefined;
  return ipv4Number(s) === undefined ? undefined : 4;
}

/** The canonical text of an address (RFC 5952 §4 for IPv6, zone dropped), or undefined. */
export function canonicalIp(s: string): string | undefined {
  const b = parseIp(s, 'ignore');
  return b ? formatIp(b) : undefined;
}

// ---- CIDRs -----------------------------------------------------------------------------------

/** A prefix length in `text[from, to)`: 1..3 decimal digits, at most `max`; undefined otherwise. */
export function parseLength(text: string, max: number, from = 0, to = text.length): number | undefined {
  const n = to - from;
  if (n < 1 || n > 3) return undefined;
  let len = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    len = len * 10 + (c - 48);
  }
  return len <= max ? len : undefined;
}

/** Clears the bits of `addr` past `len`; returns whether any was set (host bits). */
export function maskInPlace(addr: Uint8Array, len: number): boolean {
  let hostBits = false;
  for (let i = len >> 3; i < addr.length; i++) {
    const bits = len - i * 8;
    const keep = bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    if (addr[i] & ~keep) hostBits = true;
    addr[i] &= keep;
  }
  return hostBits;
}

/** Whether `addr` lies inside `net/len` (same family). */
export function contains(net: Uint8Array, len: number, addr: Uint8Array): boolean {
  if (net.length !== addr.length) return false;
  for (let i = 0; i < net.length && len > 0; i++, len -= 8) {
    const mask = len >= 8 ? 0xff : (0xff << (8 - len)) & 0xff;
    if ((net[i] & mask) !== (addr[i] & mask)) return false;
  }
  return true;
}

/** An IPv4 CIDR, held as a number so the hot callers make no Buffer (issue 17). */
export interface Cidr4 {
  family: 4;
  /** The network address, host bits cleared. */
  v4: number;
  len: number;
  /** The text had bits set past the length (they are cleared in `v4`). */
  hostBits: boolean;
  /** The text was already the canonical form ("10.1.2.0/24": no host bits, no leading zero). */
  canonical: boolean;
}

export interface Cidr6 {
  family: 6;
  /** 16 bytes, host bits cleared. */
  addr: Buffer;
  len: number;
  hostBits: boolean;
}

/** Why a CIDR did not parse: its address, or its length (then `max` is the family's). */
export type CidrFault = { fault: 'address' } | { fault: 'length'; max: 32 | 128 };

/**
 * "a.b.c.d/len", "x::/len", or a bare address (a host prefix). Host bits are cleared and
 * reported, never refused here: each caller decides (bgp refuses them, fib clears them, peers
 * refuses them in strict fields and warns elsewhere, as Calico does).
 */
export function parseCidr(text: string, zone: ZonePolicy = 'refuse'): Cidr4 | Cidr6 | CidrFault {
  const c4 = scanCidr4(text);
  if (c4 !== undefined) return c4;
  if (!text.includes(':')) return ADDRESS_FAULT;
  const slash = text.indexOf('/');
  const addr = parseIpv6(slash < 0 ? text : text.slice(0, slash), zone);
  if (!addr) return ADDRESS_FAULT;
  const len = slash < 0 ? 128 : parseLength(text, 128, slash + 1);
  if (len === undefined) return LENGTH6_FAULT;
  const hostBits = maskInPlace(addr, len);
  return { family: 6, addr, len, hostBits };
}

const ADDRESS_FAULT: CidrFault = Object.freeze({ fault: 'address' });
const LENGTH4_FAULT: CidrFault = Object.freeze({ fault: 'length', max: 32 });
const LENGTH6_FAULT: CidrFault = Object.freeze({ fault: 'length', max: 128 });

/**
 * The IPv4 fast path: 'a.b.c.d' and its '/len' in one pass over the char codes (the address as
 * ipv4Number reads it), no indexOf, no substring, one object (issue 17's IPAM blocks and every
 * FIB change). Undefined when the text before any '/' is not a dotted quad.
 */
function scanCidr4(t: string): Cidr4 | CidrFault | undefined {
  const n = t.length;
  let v = 0,
    part = 0,
    digits = 0,
    parts = 0,
    i = 0;
  for (; i <= n; i++) {
    const c = i < n ? t.charCodeAt(i) : 47; // the end closes the address like a '/'
    if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return undefined; // a leading zero
      part = part * 10 + (c - 48);
      if (part > 255) return undefined;
      digits++;
    } else if (c === 46 || c === 47) {
      if (digits === 0 || ++parts > 4) return undefined;
      v = v * 256 + part;
      part = 0;
      digits = 0;
      if (c === 47) break;
    } else return undefined;
  }
  if (parts !== 4) return undefined;
  const len = i >= n ? 32 : parseLength(t, 32, i + 1);
  if (len === undefined) return LENGTH4_FAULT;
  const net = len === 0 ? 0 : (v & ((0xffffffff << (32 - len)) >>> 0)) >>> 0;
  // Canonical: written with its length, no host bits, no leading zero in the length.
  const canonical = i < n && net === v && (n === i + 2 || t.charCodeAt(i + 1) !== 48);
  return { family: 4, v4: net, len, hostBits: net !== v, canonical };
}

/** The bytes of a parsed CIDR's network address (4 or 16). */
export function cidrBytes(c: Cidr4 | Cidr6): Buffer {
  if (c.family === 6) return c.addr;
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(c.v4, 0);
  return b;
}

/** The canonical text of a parsed CIDR. */
export const formatCidr = (c: Cidr4 | Cidr6): string => `${c.family === 4 ? formatIpv4Number(c.v4) : formatIpv6(c.addr)}/${c.len}`;
