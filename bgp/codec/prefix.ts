// IP prefixes and addresses as text and bytes: parsePrefix / formatPrefix for config, CLI and
// tests; fast byte-level helpers (prefixKey) for the RIB. Pure functions, no dependencies.

import { AFI_IPV4, AFI_IPV6, type Afi, type Prefix } from './types';

/** Formats 4 bytes at `off` as a dotted quad. */
export function formatIpv4(b: Buffer, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** Formats 16 bytes at `off` as RFC 5952 text (lower case, longest zero run as "::"). */
export function formatIpv6(b: Buffer, off = 0): string {
  // RFC 5952 §4.2.2-4.2.3: compress the longest run of >= 2 zero groups, the first on ties.
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

/** Parses a dotted quad into 4 bytes, or null (no leading zeros, each part 0..255). */
export function parseIpv4(s: string): Buffer | null {
  if (s.length < 7 || s.length > 15) return null;
  const out = Buffer.allocUnsafe(4);
  let part = 0;
  let v = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // '.' ends the last part
    if (c === 46) {
      if (digits === 0 || part > 3) return null;
      out[part++] = v;
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && v === 0) return null; // leading zero
      v = v * 10 + (c - 48);
      if (v > 255) return null;
      digits++;
    } else {
      return null;
    }
  }
  return part === 4 ? out : null;
}

/** Parses IPv6 text (with "::" and an optional embedded dotted quad) into 16 bytes, or null. */
export function parseIpv6(s: string): Buffer | null {
  if (s.length < 2 || s.length > 45) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (t: string): number[] | null => {
    if (t === '') return [];
    const out: number[] = [];
    const parts = t.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  const n = head.length + tail.length;
  if (halves.length === 1 ? n !== 8 : n > 7) return null;
  const all = [...head, ...new Array<number>(8 - n).fill(0), ...tail];
  const out = Buffer.allocUnsafe(16).fill(0); // pooled: many small address buffers stay close in memory
  all.forEach((g, i) => out.writeUInt16BE(g, 2 * i));
  return out;
}

/** Parses an IPv4 or IPv6 address; returns the family's AFI and bytes, or null. */
export function parseAddress(s: string): { afi: Afi; addr: Buffer } | null {
  if (s.includes(':')) {
    const a = parseIpv6(s);
    return a ? { afi: AFI_IPV6, addr: a } : null;
  }
  const a = parseIpv4(s);
  return a ? { afi: AFI_IPV4, addr: a } : null;
}

/** Bytes the NLRI encoding of a prefix of `len` bits takes after its length octet. */
export const prefixBytes = (len: number): number => (len + 7) >> 3;

/**
 * Parses "10.0.0.0/24" or "2001:db8::/32" (a bare address means a host route).
 * Throws an Error saying what is wrong for bad text, a bad length, or host bits set.
 */
export function parsePrefix(text: string, pathId?: number): Prefix {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const a = parseAddress(addrText.trim());
  if (!a) throw new Error(`"${text}" is not a prefix: bad address "${addrText}"`);
  const max = a.afi === AFI_IPV4 ? 32 : 128;
  const lenText = slash < 0 ? String(max) : text.slice(slash + 1).trim();
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
    throw new Error(`"${text}" is not a prefix: length must be 0..${max}`);
  }
  const len = Number(lenText);
  for (let bit = len; bit < max; bit++) {
    if (a.addr[bit >> 3] & (0x80 >> (bit & 7))) {
      throw new Error(`"${text}" has host bits set beyond /${len}`);
    }
  }
  const p: Prefix = { afi: a.afi, len, addr: a.addr };
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
  const addr = Buffer.allocUnsafe(afi === AFI_IPV4 ? 4 : 16).fill(0); // pooled, see parseIpv6
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
