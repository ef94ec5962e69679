// COMMUNITIES (RFC 1997), EXTENDED_COMMUNITIES (RFC 4360), LARGE_COMMUNITY (RFC 8092).

import { AttrType, ATTR_FLAG_OPTIONAL as O, ATTR_FLAG_TRANSITIVE as T } from './types.js';
import { rd32 } from './reader.js';
import { AttrMalformed, type AttrSpec } from './attr-spec.js';

function wantMultiple(name: string, got: number, unit: number): void {
  if (got === 0 || got % unit !== 0) {
    throw new AttrMalformed(`${name} has length ${got}, must be a non-zero multiple of ${unit}`, 5);
  }
}

export const communityAttributes: AttrSpec[] = [
  {
    // RFC 1997; RFC 7606 §7.8: length not a non-zero multiple of 4 -> treat-as-withdraw.
    type: AttrType.COMMUNITIES,
    name: 'COMMUNITIES',
    flags: O | T,
    action: 'treat-as-withdraw',
    subcode: 9,
    decode(b, s, e, st) {
      wantMultiple('COMMUNITIES', e - s, 4);
      const out = new Array<number>((e - s) >> 2);
      for (let i = 0, p = s; p < e; p += 4, i++) out[i] = rd32(b, p);
      st.attrs.communities = out;
    },
    encode(a, _ctx, w) {
      if (!a.communities || a.communities.length === 0) return;
      const m = w.begin(O | T, AttrType.COMMUNITIES);
      for (const c of a.communities) w.u32(c);
      w.end(m);
    },
  },
  {
    // RFC 4360 §2; RFC 7606 §7.14: length not a non-zero multiple of 8 -> treat-as-withdraw.
    type: AttrType.EXTENDED_COMMUNITIES,
    name: 'EXTENDED_COMMUNITIES',
    flags: O | T,
    action: 'treat-as-withdraw',
    subcode: 9,
    decode(b, s, e, st) {
      wantMultiple('EXTENDED_COMMUNITIES', e - s, 8);
      const out: Buffer[] = [];
      for (let p = s; p < e; p += 8) out.push(Buffer.from(b.subarray(p, p + 8)));
      st.attrs.extendedCommunities = out;
    },
    encode(a, _ctx, w) {
      if (!a.extendedCommunities || a.extendedCommunities.length === 0) return;
      const m = w.begin(O | T, AttrType.EXTENDED_COMMUNITIES);
      for (const c of a.extendedCommunities) {
        if (c.length !== 8) throw new RangeError(`extended community of ${c.length} bytes, must be 8`);
        w.bytes(c);
      }
      w.end(m);
    },
  },
  {
    // RFC 8092 §5: length not a non-zero multiple of 12 -> treat-as-withdraw.
    type: AttrType.LARGE_COMMUNITY,
    name: 'LARGE_COMMUNITY',
    flags: O | T,
    action: 'treat-as-withdraw',
    subcode: 9,
    decode(b, s, e, st) {
      wantMultiple('LARGE_COMMUNITY', e - s, 12);
      const out = [];
      for (let p = s; p < e; p += 12) out.push({ globalAdmin: rd32(b, p), local1: rd32(b, p + 4), local2: rd32(b, p + 8) });
      st.attrs.largeCommunities = out;
    },
    encode(a, _ctx, w) {
      if (!a.largeCommunities || a.largeCommunities.length === 0) return;
      const m = w.begin(O | T, AttrType.LARGE_COMMUNITY);
      for (const c of a.largeCommunities) {
        w.u32(c.globalAdmin);
        w.u32(c.local1);
        w.u32(c.local2);
      }
      w.end(m);
    },
  },
];
