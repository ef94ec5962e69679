// Structure-aware UPDATE generation and mutation for the fuzzers. Byte-level mutation of whole
// messages mostly breaks the 19-byte header or the outer lengths, so the decoder stops before
// the attributes (issue 15: 52% of cases died at the header). Here an UPDATE is kept as a list
// of attributes and prefixes; a mutation changes a field *inside* it (a flag, a type code, a byte
// of a value, an inner length: AS_PATH segment count, MP_REACH next hop length, a prefix length)
// and serialization recomputes every outer length, so the message reaches the attribute
// decoders, RFC 7606 and, in the session fuzzer, the RIB. Written from RFC 4271 §4.3 and the
// attribute RFCs, independently of bgp/codec.

export type Rand = () => number;

export interface SAttr {
  flags: number;
  type: number;
  value: Buffer;
}

export interface SUpdate {
  withdrawn: Buffer;
  attrs: SAttr[];
  nlri: Buffer;
}

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const u32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const u16 = (v: number): number[] => [(v >> 8) & 255, v & 255];

/** Prefixes in NLRI encoding from a small pool, so announcements and withdrawals meet. */
export function prefixes4(r: Rand, count: number): Buffer {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const len = pick(r, [8, 16, 22, 24, 24, 24, 32, 0]);
    const addr = [10, 15, int(r, 8), int(r, 4) * 64];
    out.push(len, ...addr.slice(0, (len + 7) >> 3));
  }
  return Buffer.from(out);
}

function prefixes6(r: Rand, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const len = pick(r, [32, 48, 64, 128]);
    const addr = [0x20, 0x01, 0x0d, 0xb8, 0, int(r, 8), ...new Array(10).fill(0)];
    out.push(len, ...addr.slice(0, len >> 3));
  }
  return out;
}

function asPathValue(r: Rand, as4: boolean, peerAs: number): Buffer {
  const segs: number[] = [];
  const n = 1 + int(r, 3);
  for (let s = 0; s < n; s++) {
    const type = s === 0 ? 2 : pick(r, [1, 2, 2, 3, 4]);
    const k = 1 + int(r, 4);
    segs.push(type, k);
    for (let i = 0; i < k; i++) {
      const a = s === 0 && i === 0 ? peerAs : pick(r, [65001, 4200000000, 23456, 64512, 1]);
      segs.push(...(as4 ? u32(a) : u16(a > 0xffff ? 23456 : a)));
    }
  }
  return Buffer.from(segs);
}

/** A well-formed UPDATE with a random selection of the attributes Tern knows, and some it does not. */
export function genUpdate(r: Rand, o: { as4: boolean; peerAs: number }): SUpdate {
  const attrs: SAttr[] = [];
  const add = (flags: number, type: number, value: number[] | Buffer): void => {
    attrs.push({ flags, type, value: Buffer.from(value) });
  };
  const withdrawOnly = r() < 0.1;
  const v6 = r() < 0.25;
  if (!withdrawOnly) {
    add(0x40, 1, [int(r, 3)]);
    add(0x40, 2, asPathValue(r, o.as4, o.peerAs));
    if (!v6) add(0x40, 3, [198, 18, 151, int(r, 3) ? 10 : 20]);
    if (r() < 0.3) add(0x80, 4, u32(int(r, 1000)));
    if (r() < 0.2) add(0x40, 5, u32(100)); // from eBGP: RFC 7606 §7.5 discard
    if (r() < 0.2) add(0x40, 6, []);
    if (r() < 0.2) add(0xc0, 7, o.as4 ? [...u32(65001), 198, 18, 0, 1] : [...u16(65001), 198, 18, 0, 1]);
    if (r() < 0.5) add(0xc0, 8, Array.from({ length: 1 + int(r, 3) }, () => u32(pick(r, [0xfdf70001, 0xffffff01, 0xffffff02, 0xffffff03, 0xfdf70002]))).flat());
    if (r() < 0.1) add(0x80, 9, [198, 18, 9, 9]);
    if (r() < 0.1) add(0x80, 10, [198, 18, 10, 10]);
    if (r() < 0.2) add(0xc0, 16, [0, 2, ...u16(65001), ...u32(int(r, 100))]);
    if (!o.as4 && r() < 0.4) add(0xc0, 17, asPathValue(r, true, 4200000000));
    if (!o.as4 && r() < 0.1) add(0xc0, 18, [...u32(4200000000), 198, 18, 0, 1]);
    if (r() < 0.2) add(0xc0, 32, [...u32(65001), ...u32(1), ...u32(int(r, 9))]);
    if (r() < 0.1) add(0xc0, 35, u32(65001));
    if (r() < 0.15)
      add(
        pick(r, [0xc0, 0x80, 0xe0]),
        pick(r, [23, 26, 29, 40, 99, 128, 255]),
        Array.from({ length: int(r, 12) }, () => int(r, 256)),
      );
    if (v6) {
      const nh =
        r() < 0.7
          ? [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]
          : [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1, 0xfe, 0x80, ...new Array(13).fill(0), 1];
      add(0x80, 14, [0, 2, 1, nh.length, ...nh, 0, ...prefixes6(r, 1 + int(r, 3))]);
    }
  }
  if (r() < 0.2) add(0x80, 15, [0, 2, 1, ...prefixes6(r, 1 + int(r, 2))]);
  return {
    withdrawn: r() < 0.3 ? prefixes4(r, 1 + int(r, 3)) : Buffer.alloc(0),
    attrs,
    nlri: withdrawOnly || v6 ? Buffer.alloc(0) : prefixes4(r, 1 + int(r, 4)),
  };
}

/** Bytes with every outer length right: attribute lengths (Extended Length when flagged), the two UPDATE lengths, the header. */
export function serialize(u: SUpdate): Buffer {
  const attrBytes = Buffer.concat(
    u.attrs.map((a) => {
      const ext = (a.flags & 0x10) !== 0 || a.value.length > 255;
      const flags = ext ? a.flags | 0x10 : a.flags;
      return Buffer.concat([Buffer.from(ext ? [flags, a.type, ...u16(a.value.length)] : [flags, a.type, a.value.length]), a.value]);
    }),
  );
  const body = Buffer.concat([Buffer.from(u16(u.withdrawn.length)), u.withdrawn, Buffer.from(u16(attrBytes.length)), attrBytes, u.nlri]);
  const h = Buffer.alloc(19, 0xff);
  h.writeUInt16BE(Math.min(19 + body.length, 0xffff), 16);
  h[18] = 2;
  return Buffer.concat([h, body]);
}

/** Offsets of the inner length fields worth editing in one attribute's value. */
function innerLengths(a: SAttr): number[] {
  if (a.type === 2 || a.type === 17) {
    const offs: number[] = [];
    for (let p = 0; p + 1 < a.value.length; ) {
      offs.push(p + 1); // segment ASN count
      p += 2 + a.value[p + 1] * 4;
    }
    return offs;
  }
  if (a.type === 14 && a.value.length > 4) return [3, 4 + a.value[3] + 1 < a.value.length ? 4 + a.value[3] + 1 : 3]; // next hop length, first prefix length
  if (a.type === 15 && a.value.length > 3) return [3];
  return [];
}

/** One structure-aware mutation: changes a field inside the UPDATE, never an outer length. */
export function mutateStructured(r: Rand, src: SUpdate): SUpdate {
  const u: SUpdate = {
    withdrawn: Buffer.from(src.withdrawn),
    attrs: src.attrs.map((a) => ({ ...a, value: Buffer.from(a.value) })),
    nlri: Buffer.from(src.nlri),
  };
  const a = u.attrs.length ? pick(r, u.attrs) : undefined;
  switch (int(r, 10)) {
    case 0: // a flag bit (Optional, Transitive, Partial, Extended Length, or a low bit)
      if (a) a.flags ^= 1 << int(r, 8);
      break;
    case 1: // the type code
      if (a) a.type = pick(r, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32, 35, int(r, 256)]);
      break;
    case 2: // one byte of a value
      if (a && a.value.length) a.value[int(r, a.value.length)] = pick(r, [0, 1, 0x7f, 0x80, 0xff, int(r, 256)]);
      break;
    case 3: {
      // an inner length (segment count, next hop length, prefix length)
      const offs = a ? innerLengths(a) : [];
      if (a && offs.length) {
        const o = pick(r, offs);
        a.value[o] = pick(r, [0, 1, 255, a.value[o] + 1, a.value[o] - 1, int(r, 256)]) & 255;
      }
      break;
    }
    case 4: // value cut short or grown
      if (a)
        a.value =
          r() < 0.5
            ? a.value.subarray(0, int(r, a.value.length + 1))
            : Buffer.concat([a.value, Buffer.from(Array.from({ length: 1 + int(r, 5) }, () => int(r, 256)))]);
      break;
    case 5: // an attribute twice
      if (a) u.attrs.splice(int(r, u.attrs.length + 1), 0, { ...a, value: Buffer.from(a.value) });
      break;
    case 6: // an attribute missing
      if (a) u.attrs.splice(u.attrs.indexOf(a), 1);
      break;
    case 7: // attributes reordered
      u.attrs.reverse();
      break;
    case 8: // a prefix length in the NLRI or withdrawn routes
      if (u.nlri.length) u.nlri[0] = pick(r, [0, 25, 32, 33, 255]);
      else if (u.withdrawn.length) u.withdrawn[0] = pick(r, [0, 32, 33, 255]);
      break;
    default: // a boundary value for a whole 4-byte value (NEXT_HOP 0.0.0.0, 224.0.0.1, our own address ...)
      if (a && a.value.length === 4)
        a.value = Buffer.from(
          pick(r, [
            [0, 0, 0, 0],
            [224, 0, 0, 1],
            [255, 255, 255, 255],
            [198, 18, 151, 1],
            [198, 18, 150, 1],
            [127, 0, 0, 1],
          ]),
        );
      break;
  }
  return u;
}
