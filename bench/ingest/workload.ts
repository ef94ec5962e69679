// The ingest workload: N prefixes spread over K distinct path-attribute sets, pre-encoded as
// BGP UPDATEs (RFC 4271 §4.3, RFC 4760 §3 for IPv6) before the clock starts.
//
// The bench encodes its own messages on purpose: it measures the project's codec among others,
// so it must not share a bug with it. Everything here is pure and deterministic for a seed.

import { prng } from '../prng.js';

/** mulberry32 (bench/prng.ts): the workload is reproducible from its seed. */
export { prng };

export type BenchFamily = 'ipv4' | 'ipv6';

export interface WorkloadSpec {
  family: BenchFamily;
  /** Number of distinct prefixes (N). */
  prefixes: number;
  /** Number of distinct attribute sets (K); prefixes are dealt round-robin over them. */
  attrSets: number;
  seed: number;
  /** AS of the injector; every AS_PATH starts with it (RFC 4271 §9.1.2.2 eBGP prepend). */
  injectorAs: number;
  /** NEXT_HOP (IPv4) or MP_REACH next hop (IPv6) the injector announces. */
  nextHop: Buffer;
}

export interface AttrSet {
  asPath: number[];
  communities: number[];
}

/**
 * The prefixes: IPv4 /24s from 16.0.0.0 upwards, IPv6 /64s inside 2001:db8::/32 (RFC 3849).
 * They exist only inside BGP (all targets run without a FIB), never as traffic targets.
 * Index i maps to one prefix and back, which lets the monitor count with a bitmap.
 */
export const IPV4_BASE24 = 16 << 16; // 16.0.0.0 >> 8
export const IPV4_LEN = 24;
export const IPV6_LEN = 64;
export const IPV6_HIGH = [0x20, 0x01, 0x0d, 0xb8];
export const MAX_PREFIXES: Record<BenchFamily, number> = { ipv4: 1 << 22, ipv6: 2 ** 32 };

/** RFC 4271 §4.1: no message may exceed 4096 octets without RFC 8654. */
export const MAX_UPDATE = 4096;

/**
 * K distinct attribute sets: AS_PATH of 2-7 ASes starting with the injector's AS, 0-3
 * communities. Path ASes are public ones (1..64495, and a fifth 4-octet 131072..4199999999,
 * RFC 6793), so no target drops a path for an AS loop (its own 65000, the monitor's 65002).
 * Community high halves avoid 0 and 65535, so no RFC 1997 well-known community (NO_EXPORT...)
 * stops the re-advertisement.
 */
export function makeAttrSets(k: number, seed: number, injectorAs: number): AttrSet[] {
  const rnd = prng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const seen = new Set<string>();
  const out: AttrSet[] = [];
  while (out.length < k) {
    const len = int(2, 7);
    const asPath = [injectorAs];
    for (let i = 1; i < len; i++) asPath.push(rnd() < 0.2 ? int(131072, 4199999999) : int(1, 64495));
    const communities: number[] = [];
    const nc = int(0, 3);
    for (let i = 0; i < nc; i++) communities.push(int(1, 64495) * 65536 + int(0, 65535));
    const key = `${asPath.join(' ')}|${communities.join(' ')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ asPath, communities });
  }
  return out;
}

/** Writes the NLRI bytes (RFC 4271 §4.3 length + prefix) of prefix index i; returns new offset. */
export function writePrefix(family: BenchFamily, i: number, buf: Buffer, off: number): number {
  if (family === 'ipv4') {
    const v = IPV4_BASE24 + i;
    buf[off] = IPV4_LEN;
    buf[off + 1] = (v >>> 16) & 0xff;
    buf[off + 2] = (v >>> 8) & 0xff;
    buf[off + 3] = v & 0xff;
    return off + 4;
  }
  buf[off] = IPV6_LEN;
  for (let j = 0; j < 4; j++) buf[off + 1 + j] = IPV6_HIGH[j];
  buf.writeUInt32BE(i >>> 0, off + 5);
  return off + 9;
}

export const prefixBytes = (family: BenchFamily): number => (family === 'ipv4' ? 4 : 9);

/** One path attribute (RFC 4271 §4.3): flags, type, 1- or 2-octet length (Extended Length bit). */
function attr(flags: number, type: number, value: Buffer): Buffer {
  if (value.length > 255) {
    const h = Buffer.from([flags | 0x10, type, value.length >> 8, value.length & 0xff]);
    return Buffer.concat([h, value]);
  }
  return Buffer.concat([Buffer.from([flags, type, value.length]), value]);
}

const WELL_KNOWN = 0x40; // transitive, well-known
const OPT_TRANS = 0xc0; // optional transitive (COMMUNITIES)
const OPT_NONTRANS = 0x80; // optional non-transitive (MP_REACH_NLRI)

/**
 * The attributes common to every UPDATE of one set, without MP_REACH_NLRI (its length depends
 * on the NLRI inside it). 4-octet AS numbers throughout: the harness requires RFC 6793.
 */
export function encodeCommonAttrs(set: AttrSet, spec: WorkloadSpec): Buffer {
  const parts: Buffer[] = [attr(WELL_KNOWN, 1, Buffer.from([0]))]; // ORIGIN IGP
  const seg = Buffer.alloc(2 + 4 * set.asPath.length);
  seg[0] = 2; // AS_SEQUENCE
  seg[1] = set.asPath.length;
  for (const [i, a] of set.asPath.entries()) seg.writeUInt32BE(a, 2 + 4 * i);
  parts.push(attr(WELL_KNOWN, 2, seg));
  if (spec.family === 'ipv4') parts.push(attr(WELL_KNOWN, 3, spec.nextHop));
  if (set.communities.length > 0) {
    const c = Buffer.alloc(4 * set.communities.length);
    for (const [i, v] of set.communities.entries()) c.writeUInt32BE(v, 4 * i);
    parts.push(attr(OPT_TRANS, 8, c));
  }
  return Buffer.concat(parts);
}

/**
 * Packs `indices` (all sharing one attribute set) into as few UPDATEs as fit in 4096 octets.
 * IPv4 NLRI follow the attributes; IPv6 NLRI go inside MP_REACH_NLRI (RFC 4760 §3), always
 * written with the Extended Length flag so its header size does not depend on its content.
 */
export function packSet(common: Buffer, indices: number[], spec: WorkloadSpec): Buffer[] {
  const pb = prefixBytes(spec.family);
  const mpFixed = spec.family === 'ipv6' ? 4 + 5 + spec.nextHop.length : 0; // attr hdr + AFI/SAFI/NH len/reserved
  const fixed = 19 + 2 + 2 + common.length + mpFixed;
  const perMsg = Math.floor((MAX_UPDATE - fixed) / pb);
  if (perMsg < 1) throw new Error('attribute set too large for one UPDATE');
  const out: Buffer[] = [];
  for (let s = 0; s < indices.length; s += perMsg) {
    const chunk = indices.slice(s, s + perMsg);
    const nlriLen = chunk.length * pb;
    const total = fixed + nlriLen;
    const m = Buffer.alloc(total);
    m.fill(0xff, 0, 16);
    m.writeUInt16BE(total, 16);
    m[18] = 2; // UPDATE
    m.writeUInt16BE(0, 19); // Withdrawn Routes Length
    m.writeUInt16BE(common.length + mpFixed + (spec.family === 'ipv6' ? nlriLen : 0), 21);
    let off = 23;
    off += common.copy(m, off);
    if (spec.family === 'ipv6') {
      const vlen = 5 + spec.nextHop.length + nlriLen;
      m[off++] = OPT_NONTRANS | 0x10;
      m[off++] = 14; // MP_REACH_NLRI
      m.writeUInt16BE(vlen, off);
      off += 2;
      m.writeUInt16BE(2, off); // AFI IPv6
      m[off + 2] = 1; // SAFI unicast
      m[off + 3] = spec.nextHop.length;
      off += 4;
      off += spec.nextHop.copy(m, off);
      m[off++] = 0; // Reserved
    }
    for (const i of chunk) off = writePrefix(spec.family, i, m, off);
    if (off !== total) throw new Error(`UPDATE length mismatch ${off} != ${total}`);
    out.push(m);
  }
  return out;
}

export interface Workload {
  sets: AttrSet[];
  updates: Buffer[];
  bytes: number;
}

/** Builds every UPDATE of the run. Prefix i belongs to set i mod K. */
export function buildWorkload(spec: WorkloadSpec): Workload {
  if (spec.prefixes < 1 || spec.prefixes > MAX_PREFIXES[spec.family]) {
    throw new Error(`--n must be 1..${MAX_PREFIXES[spec.family]} for ${spec.family}`);
  }
  const k = Math.min(spec.attrSets, spec.prefixes);
  if (k < 1) throw new Error('--k must be at least 1');
  const sets = makeAttrSets(k, spec.seed, spec.injectorAs);
  const members: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < spec.prefixes; i++) members[i % k].push(i);
  const updates: Buffer[] = [];
  let bytes = 0;
  for (let s = 0; s < k; s++) {
    for (const u of packSet(encodeCommonAttrs(sets[s], spec), members[s], spec)) {
      updates.push(u);
      bytes += u.length;
    }
  }
  return { sets, updates, bytes };
}
