/**
 * Address, prefix, AS number and duration parsing for the Calico model. Pure functions that
 * return a value or an error string (the caller attaches file, line and field path).
 * Addresses are held as bigint so IPv4 and IPv6 share one containment test.
 */
import { isIPv4, isIPv6 } from 'node:net';
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

export function familyOf(ip: string): Family | undefined {
  if (isIPv4(ip)) return 'ipv4';
  if (isIPv6(ip)) return 'ipv6';
  return undefined;
}

/** Parse an address; undefined when it is neither IPv4 nor IPv6 text. */
export function ipToBigint(ip: string): { family: Family; value: bigint } | undefined {
  if (isIPv4(ip)) {
    // In Number arithmetic (exact below 2^53), one BigInt at the end: a 250k-block file parses
    // a million of these (issue 17).
    const p = ip.split('.');
    return { family: 'ipv4', value: BigInt(((Number(p[0]) * 256 + Number(p[1])) * 256 + Number(p[2])) * 256 + Number(p[3])) };
  }
  if (!isIPv6(ip)) return undefined;
  let text = ip.split('%')[0];
  // An embedded dotted quad (::ffff:1.2.3.4) is two hextets.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipToBigint(dotted[1]);
    if (!v4) return undefined;
    const hi = Number(v4.value >> 16n).toString(16);
    const lo = Number(v4.value & 0xffffn).toString(16);
    text = text.slice(0, dotted.index) + `${hi}:${lo}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  return { family: 'ipv6', value: v };
}

export function bigintToIp(family: Family, v: bigint): string {
  if (family === 'ipv4') {
    const n = Number(v & 0xffffffffn);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  // RFC 5952 §4.2.3: compress the longest run (two or more) of zero groups, the first on a tie.
  let best = -1,
    bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Canonical text of an address (lower case, RFC 5952 compression). */
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
 * An IPv4 address as a Number, read in one pass: exactly what node's isIPv4 accepts (four
 * decimal parts 0..255, no leading zeros), without its regex, a split and four strings per
 * address (a 250k-block file reads 250k of them; issue 17). test/peers/net.test.ts checks it
 * against isIPv4.
 */
function ipv4Number(ip: string): number | undefined {
  let value = 0,
    part = 0,
    digits = 0,
    parts = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46; // the end closes the last part like a dot
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

/**
 * parseCidr without the strict check: the prefix with host bits cleared, and whether the text
 * had any. One parse serves both a lenient field and its host-bits warning (issue 17: a
 * 250k-block file parsed every CIDR twice, a third of the parse in BigInt arithmetic).
 */
export function parseCidrDetail(text: string): { cidr: Cidr; hostBits: boolean } | string {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v4 = ipv4Number(addr);
  if (v4 !== undefined) {
    let len = 32;
    if (slash >= 0) {
      const l = text.slice(slash + 1);
      if (!/^\d{1,3}$/.test(l) || Number(l) > 32) return `${JSON.stringify(text)} has an invalid prefix length (0..32)`;
      len = Number(l);
    }
    const size = 2 ** (32 - len);
    const net = v4 - (v4 % size);
    const cidr: Cidr = { family: 'ipv4', net: BigInt(net), len, text: `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${len}` };
    return { cidr, hostBits: net !== v4 };
  }
  return parseCidrBig(text, slash, addr);
}

function parseCidrBig(text: string, slash: number, addr: string): { cidr: Cidr; hostBits: boolean } | string {
  const p = ipToBigint(addr);
  if (!p) return `${JSON.stringify(text)} is not a valid CIDR (address/length)`;
  const max = maxLen(p.family);
  let len = max;
  if (slash >= 0) {
    const l = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(l) || Number(l) > max) {
      return `${JSON.stringify(text)} has an invalid prefix length (0..${max})`;
    }
    len = Number(l);
  }
  const net = p.value & mask(p.family, len);
  return { cidr: { family: p.family, net, len, text: `${bigintToIp(p.family, net)}/${len}` }, hostBits: net !== p.value };
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
