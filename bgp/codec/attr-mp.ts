// MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4) for IPv4 and IPv6 unicast, with the
// RFC 2545 §3 IPv6 next hop (global, or global + link-local). Any problem here resets the
// session (RFC 7606 §7.11, §5.3): the NLRI cannot be located reliably once this is malformed.

import {
  AFI_IPV4,
  AFI_IPV6,
  type Afi,
  AttrType,
  ATTR_FLAG_EXTENDED_LENGTH,
  ATTR_FLAG_OPTIONAL as O,
  familyOfAfi,
  type MpNextHop,
  type PrefixList,
  SAFI_UNICAST,
  type SessionContext,
} from './types.js';
import { formatIpv4, formatIpv6, parseIp } from './address.js';
import { AttrMalformed, type AttrSpec, type AttrWriter } from './attr-spec.js';
import { decodeNlri, nlriLength, writeNlri } from './prefixes.js';

const OPTIONAL_ERROR = 9;
const INVALID_NETWORK = 10;

/** Tern carries unicast IPv4 and IPv6 only; other AFI/SAFI pairs are skipped with a note. */
const carried = (afi: number, safi: number): afi is Afi => (afi === AFI_IPV4 || afi === AFI_IPV6) && safi === SAFI_UNICAST;

const nlriFail = (name: string) => (reason: string) => new AttrMalformed(`${name} NLRI: ${reason}`, INVALID_NETWORK);

/** The last IPv6 next hop decoded: a session sends the same one in UPDATE after UPDATE. */
const lastNh = Buffer.alloc(32);
let lastNhLen = 0;
let lastGlobal = '';
let lastLinkLocal = '';

function sameAsLast(b: Buffer, s: number, len: number): boolean {
  if (len !== lastNhLen) return false;
  for (let i = 0; i < len; i++) if (b[s + i] !== lastNh[i]) return false;
  return true;
}

function decodeNextHop(afi: Afi, b: Buffer, s: number, len: number): MpNextHop {
  // RFC 2545 §3: 16 (global) or 32 (global + link-local); RFC 8950 allows these for IPv4 too.
  if (len === 16 || len === 32) {
    if (!sameAsLast(b, s, len)) {
      b.copy(lastNh, 0, s, s + len);
      lastNhLen = len;
      lastGlobal = formatIpv6(b, s);
      lastLinkLocal = len === 32 ? formatIpv6(b, s + 16) : '';
    }
    return len === 16 ? { global: lastGlobal } : { global: lastGlobal, linkLocal: lastLinkLocal };
  }
  if (len === 4 && afi === AFI_IPV4) return { global: formatIpv4(b, s) };
  throw new AttrMalformed(
    `MP_REACH_NLRI next hop length ${len} is not valid for ${familyOfAfi(afi)} (expected ${afi === AFI_IPV4 ? '4, 16 or 32' : '16 or 32'})`,
    OPTIONAL_ERROR,
  );
}

/** The last next hop encoded: the Adj-RIB-Out encodes the same one for many UPDATEs. */
let lastNhText = '';
let lastNhBytes: Buffer = Buffer.alloc(0);

/** The next-hop bytes (RFC 4760 §3 "Network Address of Next Hop"). Do not modify the result. */
export function encodeNextHop(nh: MpNextHop): Buffer {
  const key = nh.linkLocal === undefined ? nh.global : `${nh.global} ${nh.linkLocal}`;
  if (key === lastNhText) return lastNhBytes;
  const b = encodeNextHopUncached(nh);
  lastNhText = key;
  lastNhBytes = b;
  return b;
}

function encodeNextHopUncached(nh: MpNextHop): Buffer {
  const g = parseIp(nh.global);
  if (!g) throw new RangeError(`MP next hop "${nh.global}" is not an IP address`);
  if (nh.linkLocal === undefined) return g;
  const ll = parseIp(nh.linkLocal);
  if (ll?.length !== 16 || g.length !== 16) throw new RangeError(`MP link-local next hop "${nh.linkLocal}" needs an IPv6 global and link-local`);
  return Buffer.concat([g, ll]);
}

/** Writes an MP_REACH_NLRI attribute (always with Extended Length, as BIRD and FRR do). */
/** Bytes of an IPv6 unicast MP_REACH_NLRI before its NLRI (RFC 4760 §3, Extended Length). */
export const mpReachHeaderLength = (nextHop: Buffer): number => 4 + 3 + 1 + nextHop.length + 1; // attr header, AFI+SAFI, NH length, NH, Reserved

/**
 * Writes that header at `pos` for `nlriBytes` of NLRI to follow; returns where the NLRI starts.
 * The packers (codec packUpdates, the RIB's Adj-RIB-Out) fill UPDATEs in place with it.
 */
export function writeMpReachHeader(b: Buffer, pos: number, nextHop: Buffer, nlriBytes: number): number {
  b[pos] = O | ATTR_FLAG_EXTENDED_LENGTH;
  b[pos + 1] = AttrType.MP_REACH_NLRI;
  b.writeUInt16BE(mpReachHeaderLength(nextHop) - 4 + nlriBytes, pos + 2);
  b.writeUInt16BE(AFI_IPV6, pos + 4);
  b[pos + 6] = SAFI_UNICAST;
  b[pos + 7] = nextHop.length;
  nextHop.copy(b, pos + 8);
  b[pos + 8 + nextHop.length] = 0; // Reserved
  return pos + mpReachHeaderLength(nextHop);
}

/** Bytes of an IPv6 unicast MP_UNREACH_NLRI before its withdrawn NLRI (RFC 4760 §4, Extended Length). */
export const MP_UNREACH_HEADER_LENGTH = 4 + 3; // attr header, AFI, SAFI

/** Writes that header at `pos` for `nlriBytes` of withdrawn NLRI; returns where they start. */
export function writeMpUnreachHeader(b: Buffer, pos: number, nlriBytes: number): number {
  b[pos] = O | ATTR_FLAG_EXTENDED_LENGTH;
  b[pos + 1] = AttrType.MP_UNREACH_NLRI;
  b.writeUInt16BE(MP_UNREACH_HEADER_LENGTH - 4 + nlriBytes, pos + 2);
  b.writeUInt16BE(AFI_IPV6, pos + 4);
  b[pos + 6] = SAFI_UNICAST;
  return pos + MP_UNREACH_HEADER_LENGTH;
}

export function writeMpReach(w: AttrWriter, afi: number, safi: number, nextHop: Buffer, nlri: PrefixList, addPath: boolean): void {
  const m = w.begin(O, AttrType.MP_REACH_NLRI);
  w.u16(afi);
  w.u8(safi);
  w.u8(nextHop.length);
  w.bytes(nextHop);
  w.u8(0); // Reserved
  w.ensure(nlriLength(nlri, addPath));
  w.pos = writeNlri(nlri, 0, nlri.length, addPath, w.buf, w.pos);
  w.end(m, true);
}

export function writeMpUnreach(w: AttrWriter, afi: number, safi: number, withdrawn: PrefixList, addPath: boolean): void {
  const m = w.begin(O, AttrType.MP_UNREACH_NLRI);
  w.u16(afi);
  w.u8(safi);
  w.ensure(nlriLength(withdrawn, addPath));
  w.pos = writeNlri(withdrawn, 0, withdrawn.length, addPath, w.buf, w.pos);
  // Extended Length as BIRD and FRR write it, except for the End-of-RIB marker (FRR and BIRD
  // send that as 80 0f 03, RFC 4724 §2).
  w.end(m, withdrawn.length > 0);
}

const addPathRx = (ctx: SessionContext, afi: Afi): boolean => (afi === AFI_IPV4 ? ctx.addPathRx.ipv4 : ctx.addPathRx.ipv6);

export const mpAttributes: AttrSpec[] = [
  {
    // RFC 4760 §3; RFC 7606 §7.11, §5.3: malformed -> session reset.
    type: AttrType.MP_REACH_NLRI,
    name: 'MP_REACH_NLRI',
    flags: O,
    action: 'session-reset',
    subcode: OPTIONAL_ERROR,
    decode(b, s, e, st) {
      if (e - s < 5) throw new AttrMalformed(`MP_REACH_NLRI has length ${e - s}, at least 5 needed`, OPTIONAL_ERROR);
      const afi = (b[s] << 8) | b[s + 1];
      const safi = b[s + 2];
      const nhLen = b[s + 3];
      if (s + 4 + nhLen + 1 > e) {
        throw new AttrMalformed(`MP_REACH_NLRI next hop length ${nhLen} runs past the ${e - s}-byte attribute`, OPTIONAL_ERROR);
      }
      if (!carried(afi, safi)) {
        st.notes.push({ attrType: AttrType.MP_REACH_NLRI, reason: `MP_REACH_NLRI for AFI ${afi} SAFI ${safi}, which Tern does not carry; ignored` });
        return;
      }
      const nextHop = decodeNextHop(afi, b, s + 4, nhLen);
      // The octet after the next hop is Reserved (RFC 4760 §3, formerly SNPA count): ignored.
      const nlri = decodeNlri(b, s + 5 + nhLen, e, afi, addPathRx(st.ctx, afi), nlriFail('MP_REACH_NLRI'));
      st.mpReach = { afi, safi, nextHop, nlri };
    },
    encode() {
      // Built per UPDATE by encodeUpdate / packUpdates, never part of a shared attribute block.
    },
  },
  {
    // RFC 4760 §4; RFC 7606 §7.11, §5.3: malformed -> session reset.
    type: AttrType.MP_UNREACH_NLRI,
    name: 'MP_UNREACH_NLRI',
    flags: O,
    action: 'session-reset',
    subcode: OPTIONAL_ERROR,
    decode(b, s, e, st) {
      if (e - s < 3) throw new AttrMalformed(`MP_UNREACH_NLRI has length ${e - s}, at least 3 needed`, OPTIONAL_ERROR);
      const afi = (b[s] << 8) | b[s + 1];
      const safi = b[s + 2];
      if (!carried(afi, safi)) {
        st.notes.push({ attrType: AttrType.MP_UNREACH_NLRI, reason: `MP_UNREACH_NLRI for AFI ${afi} SAFI ${safi}, which Tern does not carry; ignored` });
        return;
      }
      const withdrawn = decodeNlri(b, s + 3, e, afi, addPathRx(st.ctx, afi), nlriFail('MP_UNREACH_NLRI'));
      st.mpUnreach = { afi, safi, withdrawn };
    },
    encode() {
      // Built per UPDATE, like MP_REACH_NLRI.
    },
  },
];
