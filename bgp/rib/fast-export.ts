// The common eBGP export done on bytes: a route received with 4-octet AS_PATH goes to an eBGP
// update group that is 4-octet too and uses next-hop-self (an export policy, if any, runs on
// the result afterwards). Instead of decode -> exportAttrs -> encode, the received attribute
// bytes (kept as the interning key) are rewritten in one pass, as BIRD does for its outbound
// attribute lists. Same rules as export.ts (RFC 4271 §5.1.2 prepend, §5.1.3 next hop, §5.1.4
// MED, §5.1.5 LOCAL_PREF, RFC 4456 attributes stay inside the AS, RFC 4271 §5 unknown
// attributes); anything unusual returns null and the caller takes the general path.
// test/rib/fast-export.test.ts checks both agree.

import { AttrType, ATTR_FLAG_EXTENDED_LENGTH, ATTR_FLAG_PARTIAL, ATTR_FLAG_TRANSITIVE } from '../codec/types.js';
import { ATTRIBUTE_TABLE } from '../codec/attributes.js';
import { LLGR_STALE, NO_ADVERTISE, NO_EXPORT, NO_EXPORT_SUBCONFED } from '../codec/communities.js';

const out = Buffer.allocUnsafe(70000);
/** Generation-stamped duplicate check (RFC 7606 §3 g: duplicates mean the general path). */
const seen = new Uint32Array(256);
let gen = 0;

/**
 * Rewrites attribute bytes key[from, from+len) (a latin1 string of wire bytes) for an eBGP
 * peer: prepend `asn`, NEXT_HOP = nextHop4 (IPv4) or dropped (IPv6, it goes in MP_REACH),
 * drop MED, LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST and unknown non-transitive attributes,
 * set Partial on unknown transitive ones. Returns a new Buffer, or null to use the general path.
 */
export function fastEbgpAttrs(key: string, from: number, len: number, asn: number, nextHop4: number | null): Buffer | null {
  const end = from + len;
  let p = from;
  let n = 0;
  let sawPath = false;
  let sawNextHop = false;
  if (++gen === 0xffffffff) {
    seen.fill(0);
    gen = 1;
  }
  while (p < end) {
    if (p + 3 > end) return null;
    const flags = key.charCodeAt(p);
    const type = key.charCodeAt(p + 1);
    const ext = (flags & ATTR_FLAG_EXTENDED_LENGTH) !== 0;
    const vlen = ext ? (key.charCodeAt(p + 2) << 8) | key.charCodeAt(p + 3) : key.charCodeAt(p + 2);
    const v = p + (ext ? 4 : 3);
    const next = v + vlen;
    if (next > end || seen[type] === gen) return null;
    seen[type] = gen;
    switch (type) {
      case AttrType.AS_PATH: {
        if (sawPath) return null;
        sawPath = true;
        n = writeAsPath(key, v, vlen, asn, n);
        if (n < 0) return null;
        break;
      }
      case AttrType.NEXT_HOP:
        sawNextHop = true;
        if (nextHop4 !== null) n = writeNextHop(nextHop4, n);
        break;
      case AttrType.MULTI_EXIT_DISC: // RFC 4271 §5.1.4: not to another AS
      case AttrType.LOCAL_PREF: // RFC 4271 §5.1.5: not outside the AS
      case AttrType.ORIGINATOR_ID: // RFC 4456: inside the AS only
      case AttrType.CLUSTER_LIST:
        break;
      case AttrType.COMMUNITIES:
        // RFC 1997 well-known communities: let the general path decide.
        for (let i = v; i + 4 <= next; i += 4) {
          const c = ((key.charCodeAt(i) << 24) | (key.charCodeAt(i + 1) << 16) | (key.charCodeAt(i + 2) << 8) | key.charCodeAt(i + 3)) >>> 0;
          // (and RFC 9494 LLGR_STALE, which export.ts keeps from every peer)
          if (c === NO_EXPORT || c === NO_ADVERTISE || c === NO_EXPORT_SUBCONFED || c === LLGR_STALE) return null;
        }
        n = copy(key, p, next, n);
        break;
      case AttrType.ORIGIN:
      case AttrType.ATOMIC_AGGREGATE:
      case AttrType.AGGREGATOR:
      case AttrType.EXTENDED_COMMUNITIES:
      case AttrType.LARGE_COMMUNITY:
        n = copy(key, p, next, n);
        break;
      default:
        // AS4_PATH on a 4-octet session, OTC, MP attributes, anything else: general path.
        if (type <= AttrType.LARGE_COMMUNITY || ATTRIBUTE_TABLE[type]) return null;
        if (!(flags & ATTR_FLAG_TRANSITIVE)) break; // RFC 4271 §5: non-transitive unknown: drop
        n = copy(key, p, next, n);
        out[n - (next - p)] = flags | ATTR_FLAG_PARTIAL; // RFC 4271 §5: pass on with Partial
    }
    p = next;
  }
  if (p !== end) return null;
  if (!sawPath) n = writeAsPath('', 0, 0, asn, n);
  if (!sawNextHop && nextHop4 !== null) return null; // an IPv4 route always has NEXT_HOP
  const b = Buffer.allocUnsafe(n);
  out.copy(b, 0, 0, n);
  return b;
}

function copy(key: string, from: number, to: number, n: number): number {
  for (let i = from; i < to; i++) out[n++] = key.charCodeAt(i);
  return n;
}

function writeNextHop(nh: number, n: number): number {
  out[n] = ATTR_FLAG_TRANSITIVE;
  out[n + 1] = AttrType.NEXT_HOP;
  out[n + 2] = 4;
  out[n + 3] = nh >>> 24;
  out[n + 4] = nh >>> 16;
  out[n + 5] = nh >>> 8;
  out[n + 6] = nh;
  return n + 7;
}

/** AS_PATH with `asn` prepended (RFC 4271 §5.1.2), 4-octet ASNs. Returns -1 if unusual. */
function writeAsPath(key: string, v: number, vlen: number, asn: number, n: number): number {
  const firstType = vlen >= 2 ? key.charCodeAt(v) : 0;
  const firstCount = vlen >= 2 ? key.charCodeAt(v + 1) : 0;
  const into = firstType === 2 && firstCount < 255; // AS_SEQUENCE with room
  const newLen = vlen + (into ? 4 : 6);
  const ext = newLen > 255;
  out[n++] = ATTR_FLAG_TRANSITIVE | (ext ? ATTR_FLAG_EXTENDED_LENGTH : 0);
  out[n++] = AttrType.AS_PATH;
  if (ext) out[n++] = newLen >> 8;
  out[n++] = newLen & 0xff;
  out[n++] = 2; // AS_SEQUENCE
  out[n++] = into ? firstCount + 1 : 1;
  out[n++] = asn >>> 24;
  out[n++] = asn >>> 16;
  out[n++] = asn >>> 8;
  out[n++] = asn;
  return copy(key, into ? v + 2 : v, v + vlen, n);
}
