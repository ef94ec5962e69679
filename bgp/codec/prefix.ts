// BGP prefixes (RFC 4271 §4.3 NLRI) as text and bytes: parsePrefix / formatPrefix for config,
// CLI and tests; fast byte-level helpers (prefixKey) for the RIB. Addresses themselves are
// address.ts's (the one address module of the tree).

import { formatIpv4, formatIpv6, maskInPlace, parseIp, parseLength } from './address.js';
import { AFI_IPV4, AFI_IPV6, type Afi, type Prefix } from './types.js';

/** Bytes the NLRI encoding of a prefix of `len` bits takes after its length octet. */
export const prefixBytes = (len: number): number => (len + 7) >> 3;

/**
 * Parses "10.0.0.0/24" or "2001:db8::/32" (a bare address means a host route).
 * Throws an Error saying what is wrong for bad text, a bad length, or host bits set.
 */
export function parsePrefix(text: string, pathId?: number): Prefix {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseIp(addrText.trim());
  if (!addr) throw new Error(`"${text}" is not a prefix: bad address "${addrText}"`);
  const afi = addr.length === 4 ? AFI_IPV4 : AFI_IPV6;
  const max = addr.length * 8;
  const len = slash < 0 ? max : parseLength(text.slice(slash + 1).trim(), max);
  if (len === undefined) throw new Error(`"${text}" is not a prefix: length must be 0..${max}`);
  if (maskInPlace(addr, len)) throw new Error(`"${text}" has host bits set beyond /${len}`);
  const p: Prefix = { afi, len, addr };
  if (pathId !== undefined) p.pathId = pathId;
  return p;
}

/** "10.0.0.0/24", "2001:db8::/32". */
export function formatPrefix(p: Prefix): string {
  const a = p.afi === AFI_IPV4 ? formatIpv4(p.addr) : formatIpv6(p.addr);
  return `${a}/${p.len}`;
}

/**
 * Builds a Prefix (address padded to the family size, host bits cleared) from NLRI bytes:
 * `n = prefixBytes(len)` bytes at `off`. RFC 4271 §4.3: trailing bits are irrelevant.
 */
export function prefixFromBytes(afi: Afi, len: number, b: Buffer, off: number, pathId?: number): Prefix {
  const addr = Buffer.allocUnsafe(afi === AFI_IPV4 ? 4 : 16).fill(0); // pooled: many small address buffers stay close in memory
  const n = prefixBytes(len);
  b.copy(addr, 0, off, off + n);
  if (len & 7) addr[n - 1] &= 0xff << (8 - (len & 7));
  const p: Prefix = { afi, len, addr };
  if (pathId !== undefined) p.pathId = pathId;
  return p;
}

/**
 * A compact string key for a prefix read in place from NLRI bytes (the RIB's map key):
 * family digit, length, and the significant bytes in hex, host bits cleared. Stable across
 * encodings: two NLRI that differ only in irrelevant trailing bits give the same key.
 */
export function prefixKey(afi: Afi, len: number, b: Buffer, off: number): string {
  const n = prefixBytes(len);
  let s = afi === AFI_IPV4 ? '4/' : '6/';
  s += len;
  s += '/';
  for (let i = 0; i < n; i++) {
    let v = b[off + i];
    if (i === n - 1 && len & 7) v &= 0xff << (8 - (len & 7));
    s += v < 16 ? '0' + v.toString(16) : v.toString(16);
  }
  return s;
}

/** prefixKey for a Prefix object. */
export const prefixKeyOf = (p: Prefix): string => prefixKey(p.afi, p.len, p.addr, 0);
