// AS_PATH (RFC 4271 §5.1.2, 2- or 4-octet per RFC 6793) and AS4_PATH (RFC 6793 §3), with the
// RFC 6793 §4.2.3 reconstruction of the 4-octet path on sessions with a 2-octet ("OLD") peer.

import { AS_TRANS, type AsPathSegment, AsPathSegmentType, AttrType, ATTR_FLAG_OPTIONAL as O, ATTR_FLAG_TRANSITIVE as T, type PathAttributes } from './types.js';
import { rd32 } from './reader.js';
import { type AttrDecodeState, AttrMalformed, type AttrSpec, type AttrWriter } from './attr-spec.js';

const SEGMENT_NAMES: Record<number, string> = { 1: 'AS_SET', 2: 'AS_SEQUENCE', 3: 'AS_CONFED_SEQUENCE', 4: 'AS_CONFED_SET' };

/**
 * Decodes path segments with `size`-octet ASNs. RFC 7606 §7.2: malformed when a segment type is
 * unknown, a segment overruns the attribute, one octet is left over, or a segment length is 0.
 */
export function decodeSegments(name: string, b: Buffer, s: number, e: number, size: 2 | 4): AsPathSegment[] {
  const segs: AsPathSegment[] = [];
  let p = s;
  while (p < e) {
    const n = segs.length + 1;
    if (p + 2 > e) throw new AttrMalformed(`${name} has one octet left over after segment ${n - 1}`, 11);
    const type = b[p];
    const count = b[p + 1];
    if (type < 1 || type > 4) throw new AttrMalformed(`${name} segment ${n} has unknown type ${type}`, 11);
    if (count === 0) throw new AttrMalformed(`${name} segment ${n} has length 0`, 11);
    p += 2;
    const end = p + count * size;
    if (end > e) {
      throw new AttrMalformed(`${name} segment ${n} (${SEGMENT_NAMES[type]}) claims ${count} ASNs but only ${e - p} bytes remain`, 11);
    }
    const asns = new Array<number>(count);
    if (size === 4) for (let i = 0; i < count; i++, p += 4) asns[i] = rd32(b, p);
    else for (let i = 0; i < count; i++, p += 2) asns[i] = (b[p] << 8) | b[p + 1];
    segs.push({ type, asns });
  }
  return segs;
}

/** Writes segments, splitting any longer than 255 ASNs (RFC 4271 §4.3: 1-octet count). */
function writeSegments(w: AttrWriter, segs: readonly AsPathSegment[], size: 2 | 4): void {
  for (const seg of segs) {
    const asns = seg.asns;
    for (let i = 0; i < asns.length; i += 255) {
      const end = Math.min(asns.length, i + 255);
      w.ensure(2 + (end - i) * size);
      w.u8(seg.type);
      w.u8(end - i);
      for (let k = i; k < end; k++) {
        const asn = asns[k];
        if (size === 4) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn);
      }
    }
  }
}

const isConfed = (t: number): boolean => t === AsPathSegmentType.AS_CONFED_SEQUENCE || t === AsPathSegmentType.AS_CONFED_SET;

/** RFC 4271 §9.1.2.2 a) / RFC 6793 §4.2.3 counting: a set counts 1, confederation segments 0. */
export function asPathLength(segs: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segs) {
    if (s.type === AsPathSegmentType.AS_SEQUENCE) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AS_SET) n += 1;
  }
  return n;
}

/**
 * RFC 6793 §4.2.3: rebuilds the path from AS_PATH (with AS_TRANS) and AS4_PATH. Takes the
 * leading (len(AS_PATH) - len(AS4_PATH)) ASNs of AS_PATH, then AS4_PATH. Applies the rules on
 * which AS4 attributes are ignored; returns a note for each one ignored.
 */
export function mergeAs4(st: AttrDecodeState): void {
  const a: PathAttributes = st.attrs;
  if (a.aggregator && a.as4Aggregator && a.aggregator.asn !== AS_TRANS) {
    // RFC 6793 §4.2.3: AGGREGATOR without AS_TRANS beside AS4_AGGREGATOR: ignore both AS4 attributes.
    st.notes.push({ attrType: AttrType.AS4_AGGREGATOR, reason: 'AS4_AGGREGATOR and AS4_PATH ignored: AGGREGATOR AS is not AS_TRANS (RFC 6793 §4.2.3)' });
    return;
  }
  if (a.aggregator && a.as4Aggregator) a.aggregator = { ...a.as4Aggregator };
  if (!a.as4Path || !a.asPath) return;
  const need = asPathLength(a.asPath) - asPathLength(a.as4Path);
  if (need < 0) {
    st.notes.push({ attrType: AttrType.AS4_PATH, reason: 'AS4_PATH ignored: longer than AS_PATH (RFC 6793 §4.2.3)' });
    return;
  }
  const merged: AsPathSegment[] = [];
  let left = need;
  let splitInside = false; // the leading part ends inside an AS_SEQUENCE of AS_PATH
  for (const seg of a.asPath) {
    if (seg.type === AsPathSegmentType.AS_SEQUENCE) {
      if (left === 0) break;
      const take = Math.min(left, seg.asns.length);
      merged.push({ type: seg.type, asns: seg.asns.slice(0, take) });
      splitInside = take < seg.asns.length;
      left -= take;
    } else if (seg.type === AsPathSegmentType.AS_SET) {
      if (left === 0) break;
      merged.push({ type: seg.type, asns: seg.asns.slice() });
      left -= 1;
    } else if (left > 0 || merged.length === 0 || isConfed(merged[merged.length - 1].type)) {
      merged.push({ type: seg.type, asns: seg.asns.slice() }); // leading confed segments count 0
    }
  }
  a.as4Path.forEach((seg, i) => {
    const last = merged[merged.length - 1];
    // A sequence cut in two by the split is joined again; segment boundaries are kept otherwise.
    if (i === 0 && splitInside && last.type === AsPathSegmentType.AS_SEQUENCE && seg.type === AsPathSegmentType.AS_SEQUENCE) {
      last.asns = last.asns.concat(seg.asns);
    } else {
      merged.push({ type: seg.type, asns: seg.asns.slice() });
    }
  });
  a.asPath = merged;
}

export const asPathAttributes: AttrSpec[] = [
  {
    // RFC 4271 §5.1.2; RFC 7606 §7.2: malformed AS_PATH -> treat-as-withdraw.
    type: AttrType.AS_PATH,
    name: 'AS_PATH',
    flags: T,
    action: 'treat-as-withdraw',
    subcode: 11,
    decode(b, s, e, st) {
      const segs = decodeSegments('AS_PATH', b, s, e, st.ctx.as4 ? 4 : 2);
      // RFC 5065 §5.3: confederation segments from a peer outside our confederation (Tern has
      // none, so any eBGP peer) make the AS_PATH malformed: RFC 7606 §7.2, treat-as-withdraw.
      if (st.ctx.ebgp && segs.some((seg) => isConfed(seg.type)))
        throw new AttrMalformed('AS_PATH from an external peer contains confederation segments (RFC 5065 §5.3)', 11);
      st.attrs.asPath = segs;
    },
    encode(a, ctx, w) {
      if (!a.asPath) return;
      const m = w.begin(T, AttrType.AS_PATH);
      writeSegments(w, a.asPath, ctx.as4 ? 4 : 2);
      w.end(m);
    },
  },
  {
    // RFC 6793 §6: a malformed AS4_PATH is discarded; confederation segments in it are not
    // malformed: those segments alone are discarded and the rest is used.
    type: AttrType.AS4_PATH,
    name: 'AS4_PATH',
    flags: O | T,
    action: 'attribute-discard',
    subcode: 9,
    decode(b, s, e, st) {
      let segs = decodeSegments('AS4_PATH', b, s, e, 4);
      if (st.ctx.as4) {
        st.notes.push({ attrType: AttrType.AS4_PATH, reason: 'AS4_PATH received on a 4-octet AS session; ignored (RFC 6793 §4.1)' });
        return;
      }
      if (segs.some((seg) => isConfed(seg.type))) {
        const n = segs.length;
        segs = segs.filter((seg) => !isConfed(seg.type));
        st.notes.push({ attrType: AttrType.AS4_PATH, reason: `AS4_PATH: ${n - segs.length} confederation segment(s) discarded, the rest used (RFC 6793 §6)` });
        // Nothing left: as if there were no AS4_PATH (AS_PATH stands as received).
        if (segs.length === 0) return;
      }
      st.attrs.as4Path = segs;
    },
    encode(a, ctx, w) {
      // RFC 6793 §4.2.2: on a 2-octet session, send AS4_PATH when the path has 4-octet ASNs,
      // without confederation segments. Never on a 4-octet session (RFC 6793 §4.1).
      if (ctx.as4 || !a.asPath || !a.asPath.some((seg) => seg.asns.some((x) => x > 0xffff))) return;
      const m = w.begin(O | T, AttrType.AS4_PATH);
      writeSegments(
        w,
        a.asPath.filter((seg) => !isConfed(seg.type)),
        4,
      );
      w.end(m);
    },
  },
];
