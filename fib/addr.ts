// IP address and prefix text <-> bytes, written out because the FIB does this a million times
// per table load and needs only the canonical forms (RFC 5952 for IPv6 text).

export interface IpPrefix {
  family: 4 | 6;
  addr: Buffer; // 4 or 16 bytes, host bits cleared
  len: number;
  /** The canonical text when the input already was canonical (saves building it again). */
  text?: string;
  /** IPv4 only, when parsed by the fast path: the address as a number (addr made on demand). */
  v4?: number;
}

/** An IPv4 prefix from the fast path: no Buffer unless someone asks for the bytes. */
class Prefix4 implements IpPrefix {
  readonly family = 4 as const;
  private bytes?: Buffer;
  constructor(
    readonly v4: number,
    readonly len: number,
    readonly text: string,
  ) {}
  get addr(): Buffer {
    if (!this.bytes) {
      this.bytes = Buffer.allocUnsafe(4);
      this.bytes.writeUInt32BE(this.v4, 0);
    }
    return this.bytes;
  }
}

export function parseIp(text: string): Buffer | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

function parseIpv4(text: string): Buffer | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.allocUnsafe(4); // pooled: a million prefixes must not mean a million ArrayBuffers
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

function parseIpv6(text: string): Buffer | undefined {
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (!v4) return undefined;
        out.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = Buffer.allocUnsafe(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

export function formatIp(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i));
  // RFC 5952 §4.2: compress the longest run (first on ties) of two or more zero groups.
  let best = -1,
    bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/**
 * The fast path for the common case, an IPv4 prefix already in canonical form ('10.1.2.0/24':
 * no leading zeros, host bits clear): parsed from char codes, no regex, no temporary strings.
 * Returns undefined for anything else, which the general parser then handles.
 */
function parseCanonical4(t: string): IpPrefix | undefined {
  let v = 0,
    part = 0,
    digits = 0,
    val = 0;
  const n = t.length;
  let i = 0;
  for (; i < n; i++) {
    const c = t.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && val === 0) return undefined; // leading zero
      val = val * 10 + (c - 48);
      if (++digits > 3 || val > 255) return undefined;
    } else if (c === 46 || c === 47) {
      if (digits === 0) return undefined;
      v = v * 256 + val;
      val = 0;
      digits = 0;
      part++;
      if (c === 47) break;
      if (part > 3) return undefined;
    } else {
      return undefined;
    }
  }
  if (part !== 4 || i >= n - 1) return undefined;
  let len = 0;
  for (let j = i + 1; j < n; j++) {
    const c = t.charCodeAt(j);
    if (c < 48 || c > 57 || (j === i + 1 && c === 48 && n > i + 2)) return undefined;
    len = len * 10 + (c - 48);
  }
  if (len > 32) return undefined;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  if ((v & ~mask) >>> 0 !== 0) return undefined;
  return new Prefix4(v >>> 0, len, t);
}

/** Parse 'a.b.c.d/len' or 'x::/len'; host bits are cleared (the kernel rejects them for IPv4). */
export function parsePrefix(text: string): IpPrefix | undefined {
  const fast = parseCanonical4(text);
  if (fast) return fast;
  const slash = text.indexOf('/');
  const addr = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!addr) return undefined;
  const max = addr.length * 8;
  const lenText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > max) return undefined;
  maskInPlace(addr, len);
  return { family: addr.length === 4 ? 4 : 6, addr, len };
}

export function maskInPlace(addr: Buffer, len: number): void {
  for (let i = 0; i < addr.length; i++) {
    const bits = len - i * 8;
    if (bits >= 8) continue;
    addr[i] &= bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
}

export const formatPrefix = (p: IpPrefix): string => p.text ?? `${formatIp(p.addr)}/${p.len}`;

/** The canonical text of a prefix, or undefined when it does not parse. */
export function canonicalPrefix(text: string): string | undefined {
  const p = parsePrefix(text);
  return p && formatPrefix(p);
}

/** Whether `addr` lies inside `net/len` (same family). */
export function contains(net: Buffer, len: number, addr: Buffer): boolean {
  if (net.length !== addr.length) return false;
  for (let i = 0; i < net.length && len > 0; i++, len -= 8) {
    const mask = len >= 8 ? 0xff : (0xff << (8 - len)) & 0xff;
    if ((net[i] & mask) !== (addr[i] & mask)) return false;
  }
  return true;
}

/** IPv6 link-local unicast, fe80::/10 (RFC 4291 §2.5.6): needs an interface to mean anything. */
export const isLinkLocal6 = (b: Buffer): boolean => b.length === 16 && b[0] === 0xfe && (b[1] & 0xc0) === 0x80;
