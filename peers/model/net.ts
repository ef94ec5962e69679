/**
 * Address, prefix, AS number and duration parsing for the Calico model. Pure functions that
 * return a value or an error string (the caller attaches file, line and field path).
 * Addresses are held as bigint so IPv4 and IPv6 share one containment test; the text itself is
 * read and written by the tree's one address module (bgp/codec/address.ts).
 */
import { formatIpv4Number, formatIpv6, ipFamily, parseCidr as parseAddressCidr, parseIp } from '../../bgp/codec/address.js';
import type { Family } from '../../bgp/codec/types.js';

export interface Cidr {
  family: Family;
  /** Network address as a bigint, host bits zero. */
  net: bigint;
  len: number;
  /** Canonical text, e.g. `10.244.0.0/26`, `fd00::/122`. */
  text: string;
}

export const maxLen = (f: Family): number => (f === 'ipv4' ? 32 : 128);

/** 'ipv4' or 'ipv6' for address text (a zone allowed on IPv6, as node's isIP allows), else undefined. */
export function familyOf(ip: string): Family | undefined {
  const f = ipFamily(ip);
  return f === 4 ? 'ipv4' : f === 6 ? 'ipv6' : undefined;
}

const bytesToBigint = (b: Uint8Array): bigint => {
  let v = 0n;
  for (let i = 0; i < b.length; i += 4) v = (v << 32n) | BigInt(((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0);
  return v;
};

/** Parse an address (a zone is dropped); undefined when it is neither IPv4 nor IPv6 text. */
export function ipToBigint(ip: string): { family: Family; value: bigint } | undefined {
  const b = parseIp(ip, 'ignore');
  if (!b) return undefined;
  return { family: b.length === 4 ? 'ipv4' : 'ipv6', value: bytesToBigint(b) };
}

export function bigintToIp(family: Family, v: bigint): string {
  if (family === 'ipv4') return formatIpv4Number(Number(v & 0xffffffffn));
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE((v >> 64n) & 0xffffffffffffffffn, 0);
  b.writeBigUInt64BE(v & 0xffffffffffffffffn, 8);
  return formatIpv6(b);
}

/** Canonical text of an address (lower case, RFC 5952 §4 compression), zone dropped. */
export function canonicalIp(ip: string): string | undefined {
  const p = ipToBigint(ip);
  return p ? bigintToIp(p.family, p.value) : undefined;
}

function mask(family: Family, len: number): bigint {
  const bits = BigInt(maxLen(family));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(len))) - 1n);
}

/**
 * Parse `a.b.c.d/len` or `x::/len`. `strict` refuses host bits (Calico refuses them in pool
 * and filter CIDRs); otherwise they are cleared. A bare address is a host prefix.
 */
export function parseCidr(text: string, strict = false): Cidr | string {
  const r = parseCidrDetail(text);
  if (typeof r === 'string') return r;
  if (strict && r.hostBits) {
    return `${JSON.stringify(text)} has host bits set (did you mean ${r.cidr.text}?)`;
  }
  return r.cidr;
}

/**
 * parseCidr without the strict check: the prefix with host bits cleared, and whether the text
 * had any. One parse serves both a lenient field and its host-bits warning (issue 17: a
 * 250k-block file parsed every CIDR twice). An IPv4 CIDR stays in Number arithmetic until its
 * one BigInt (the address module's fast path makes no Buffer for it).
 */
export function parseCidrDetail(text: string): { cidr: Cidr; hostBits: boolean } | string {
  const c = parseAddressCidr(text, 'ignore');
  if ('fault' in c) {
    return c.fault === 'length'
      ? `${JSON.stringify(text)} has an invalid prefix length (0..${c.max})`
      : `${JSON.stringify(text)} is not a valid CIDR (address/length)`;
  }
  if (c.family === 4) {
    const cidr: Cidr = { family: 'ipv4', net: BigInt(c.v4), len: c.len, text: c.canonical ? text : `${formatIpv4Number(c.v4)}/${c.len}` };
    return { cidr, hostBits: c.hostBits };
  }
  return { cidr: { family: 'ipv6', net: bytesToBigint(c.addr), len: c.len, text: `${formatIpv6(c.addr)}/${c.len}` }, hostBits: c.hostBits };
}

/** True when `inner` lies within (or equals) `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.len >= outer.len && (inner.net & mask(outer.family, outer.len)) === outer.net;
}

export function cidrContainsIp(outer: Cidr, ip: string): boolean {
  const p = ipToBigint(ip);
  return !!p && p.family === outer.family && (p.value & mask(outer.family, outer.len)) === outer.net;
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** The address at `offset` inside `c`, as text (used for IPAM ordinals). */
export function cidrAddress(c: Cidr, offset: number): string {
  return bigintToIp(c.family, c.net + BigInt(offset));
}

export const AS_MAX = 4294967295;

/**
 * Calico's numorstring.ASNumber: a plain number 0..4294967295, the same as a string, or
 * "asdot" `high.low` with two 16-bit halves (RFC 5396). `raw` is the scalar's source text so
 * that an unquoted `1.10` (which YAML reads as the float 1.1) still means 1.10.
 */
export function parseAsn(value: unknown, raw: string): number | string {
  const text = typeof value === 'string' ? value.trim() : raw.trim();
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > AS_MAX) return `${text} is not a valid AS number (0..${AS_MAX})`;
    return n;
  }
  const dot = /^(\d+)\.(\d+)$/.exec(text);
  if (dot) {
    const hi = Number(dot[1]),
      lo = Number(dot[2]);
    if (hi > 65535 || lo > 65535) return `${text} is not a valid asdot AS number (0..65535.0..65535)`;
    return hi * 65536 + lo;
  }
  return `${JSON.stringify(text)} is not a valid AS number (a number 0..${AS_MAX} or asdot "x.y")`;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * A Kubernetes metav1.Duration (Go time.ParseDuration syntax: `120s`, `2m`, `1h30m`, `1.5s`),
 * returned in seconds. A bare number is refused, as Kubernetes does.
 */
export function parseDuration(text: string): number | string {
  const bad = `${JSON.stringify(text)} is not a valid duration (e.g. "120s", "2m", "1h30m")`;
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0,
    pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return bad;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    pos = re.lastIndex;
  }
  return pos === 0 ? bad : total;
}
