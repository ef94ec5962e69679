// The FIB's prefix: family, bytes and length, over the tree's one address module
// (bgp/codec/address.ts). An IPv4 prefix stays a number and keeps its canonical text, because the
// FIB reads one per route change, a million per table load, and most never need their bytes.
import { type Cidr4, formatIp, formatIpv4Number, parseCidr } from '../bgp/codec/address.js';

export interface IpPrefix {
  family: 4 | 6;
  addr: Buffer; // 4 or 16 bytes, host bits cleared
  len: number;
  /** The canonical text when known (saves building it again). */
  text?: string;
  /** IPv4 only: the address as a number (addr made on demand). */
  v4?: number;
}

/** An IPv4 prefix: no Buffer unless someone asks for the bytes, no text unless asked either. */
class Prefix4 implements IpPrefix {
  readonly family = 4 as const;
  private bytes?: Buffer;
  constructor(
    readonly v4: number,
    readonly len: number,
    private canonical?: string,
  ) {}
  get text(): string {
    return (this.canonical ??= `${formatIpv4Number(this.v4)}/${this.len}`);
  }
  get addr(): Buffer {
    if (!this.bytes) {
      this.bytes = Buffer.allocUnsafe(4);
      this.bytes.writeUInt32BE(this.v4, 0);
    }
    return this.bytes;
  }
}

/** Canonical IPv4 text is kept as given ('10.1.2.0/24', what the RIB sends); other text is rebuilt. */
const prefix4 = (c: Cidr4, text: string): Prefix4 => new Prefix4(c.v4, c.len, c.canonical ? text : undefined);

/** Parse 'a.b.c.d/len' or 'x::/len' (a zone is dropped); host bits are cleared (the kernel rejects them for IPv4). */
export function parsePrefix(text: string): IpPrefix | undefined {
  const c = parseCidr(text, 'ignore');
  if ('fault' in c) return undefined;
  if (c.family === 4) return prefix4(c, text);
  return { family: 6, addr: c.addr, len: c.len };
}

export const formatPrefix = (p: IpPrefix): string => p.text ?? `${formatIp(p.addr)}/${p.len}`;

/** The canonical text of a prefix, or undefined when it does not parse. */
export function canonicalPrefix(text: string): string | undefined {
  const p = parsePrefix(text);
  return p && formatPrefix(p);
}

/**
 * The prefix held as key words at w[o..o+4] (the prefix table's layout, prefix-table.ts: four
 * address words, then family << 8 | len).
 */
export function prefixOfWords(w: Uint32Array, o: number): IpPrefix {
  const fl = w[o + 4];
  if (fl >>> 8 === 4) return new Prefix4(w[o], fl & 0xff);
  const addr = Buffer.allocUnsafe(16);
  for (let k = 0; k < 4; k++) addr.writeUInt32BE(w[o + k], k * 4);
  return { family: 6, addr, len: fl & 0xff };
}
