// Fixed-size path attributes: ORIGIN, NEXT_HOP, MULTI_EXIT_DISC, LOCAL_PREF, ATOMIC_AGGREGATE,
// AGGREGATOR, ORIGINATOR_ID, CLUSTER_LIST, AS4_AGGREGATOR, OTC. One registry row each, decode and
// encode side by side; the RFC 7606 action of each row is cited where it is set.

import { AS_TRANS, AttrType, ATTR_FLAG_OPTIONAL as O, ATTR_FLAG_TRANSITIVE as T } from './types.js';
import { formatIpv4, parseIpv4 } from './address.js';
import { rd32 } from './reader.js';
import { type AttrDecodeState, AttrMalformed, type AttrSpec, type AttrWriter } from './attr-spec.js';

/** RFC 4271 §6.3 subcodes. */
const LENGTH_ERROR = 5;
const OPTIONAL_ERROR = 9;

/** RFC 7606 §7.9/§7.10: a route reflection attribute from an eBGP peer is discarded (noted). */
function fromExternalPeer(st: AttrDecodeState, type: number, name: string, section: string): boolean {
  if (!st.ctx.ebgp) return false;
  st.notes.push({ attrType: type, reason: `${name} received from an external peer; discarded (RFC 7606 §${section})` });
  return true;
}

function wantLen(name: string, got: number, want: number): void {
  if (got !== want) throw new AttrMalformed(`${name} has length ${got}, must be ${want}`, LENGTH_ERROR);
}

function wantMultiple(name: string, got: number, unit: number): void {
  if (got === 0 || got % unit !== 0) {
    throw new AttrMalformed(`${name} has length ${got}, must be a non-zero multiple of ${unit}`, LENGTH_ERROR);
  }
}

function ipv4(text: string, what: string): Buffer {
  const b = parseIpv4(text);
  if (!b) throw new RangeError(`${what} "${text}" is not an IPv4 address`);
  return b;
}

function put32(w: AttrWriter, flags: number, type: number, v: number): void {
  const m = w.begin(flags, type);
  w.u32(v);
  w.end(m);
}

export const basicAttributes: AttrSpec[] = [
  {
    // RFC 4271 §5.1.1; RFC 7606 §7.1: malformed ORIGIN -> treat-as-withdraw.
    type: AttrType.ORIGIN,
    name: 'ORIGIN',
    flags: T,
    action: 'treat-as-withdraw',
    subcode: 6,
    decode(b, s, e, st) {
      wantLen('ORIGIN', e - s, 1);
      if (b[s] > 2) throw new AttrMalformed(`ORIGIN value ${b[s]} is not IGP (0), EGP (1) or INCOMPLETE (2)`, 6);
      st.attrs.origin = b[s];
    },
    encode(a, _ctx, w) {
      if (a.origin === undefined) return;
      const m = w.begin(T, AttrType.ORIGIN);
      w.u8(a.origin);
      w.end(m);
    },
  },
  {
    // RFC 4271 §5.1.3; RFC 7606 §7.3: length other than 4 -> treat-as-withdraw. Semantic checks
    // (own address, multicast, reachability) need session state and are the RIB's.
    type: AttrType.NEXT_HOP,
    name: 'NEXT_HOP',
    flags: T,
    action: 'treat-as-withdraw',
    subcode: 8,
    decode(b, s, e, st) {
      wantLen('NEXT_HOP', e - s, 4);
      st.attrs.nextHop = formatIpv4(b, s);
    },
    encode(a, _ctx, w) {
      if (a.nextHop === undefined) return;
      const m = w.begin(T, AttrType.NEXT_HOP);
      w.bytes(ipv4(a.nextHop, 'NEXT_HOP'));
      w.end(m);
    },
  },
  {
    // RFC 4271 §5.1.4; RFC 7606 §7.4: length other than 4 -> treat-as-withdraw.
    type: AttrType.MULTI_EXIT_DISC,
    name: 'MULTI_EXIT_DISC',
    flags: O,
    action: 'treat-as-withdraw',
    subcode: OPTIONAL_ERROR,
    decode(b, s, e, st) {
      wantLen('MULTI_EXIT_DISC', e - s, 4);
      st.attrs.med = rd32(b, s);
    },
    encode(a, _ctx, w) {
      if (a.med !== undefined) put32(w, O, AttrType.MULTI_EXIT_DISC, a.med);
    },
  },
  {
    // RFC 4271 §5.1.5; RFC 7606 §7.5: length other than 4 -> treat-as-withdraw. Ignoring it
    // from an external peer (RFC 7606 §7.5 discard) is the RIB's job: the codec does not know.
    type: AttrType.LOCAL_PREF,
    name: 'LOCAL_PREF',
    flags: T,
    action: 'treat-as-withdraw',
    subcode: LENGTH_ERROR,
    decode(b, s, e, st) {
      wantLen('LOCAL_PREF', e - s, 4);
      st.attrs.localPref = rd32(b, s);
    },
    encode(a, _ctx, w) {
      if (a.localPref !== undefined) put32(w, T, AttrType.LOCAL_PREF, a.localPref);
    },
  },
  {
    // RFC 4271 §5.1.6; RFC 7606 §7.6: length other than 0 -> attribute-discard.
    type: AttrType.ATOMIC_AGGREGATE,
    name: 'ATOMIC_AGGREGATE',
    flags: T,
    action: 'attribute-discard',
    subcode: LENGTH_ERROR,
    decode(_b, s, e, st) {
      wantLen('ATOMIC_AGGREGATE', e - s, 0);
      st.attrs.atomicAggregate = true;
    },
    encode(a, _ctx, w) {
      if (a.atomicAggregate) w.end(w.begin(T, AttrType.ATOMIC_AGGREGATE));
    },
  },
  {
    // RFC 4271 §5.1.7, RFC 6793 §3 (4-octet form on 4-octet sessions);
    // RFC 7606 §7.7: wrong length -> attribute-discard.
    type: AttrType.AGGREGATOR,
    name: 'AGGREGATOR',
    flags: O | T,
    action: 'attribute-discard',
    subcode: OPTIONAL_ERROR,
    decode(b, s, e, st) {
      const as4 = st.ctx.as4;
      wantLen(`AGGREGATOR (${as4 ? '4' : '2'}-octet AS session)`, e - s, as4 ? 8 : 6);
      const asn = as4 ? rd32(b, s) : (b[s] << 8) | b[s + 1];
      st.attrs.aggregator = { asn, address: formatIpv4(b, s + (as4 ? 4 : 2)) };
    },
    encode(a, ctx, w) {
      if (!a.aggregator) return;
      const m = w.begin(O | T, AttrType.AGGREGATOR);
      if (ctx.as4) w.u32(a.aggregator.asn);
      else w.u16(a.aggregator.asn > 0xffff ? AS_TRANS : a.aggregator.asn);
      w.bytes(ipv4(a.aggregator.address, 'AGGREGATOR address'));
      w.end(m);
    },
  },
  {
    // RFC 4456 §8; RFC 7606 §7.9: from an external peer -> attribute discard (it only has a
    // meaning inside one AS, and one equal to our router ID must not drop the route as an
    // RFC 4456 loop); otherwise a length other than 4 -> treat-as-withdraw.
    type: AttrType.ORIGINATOR_ID,
    name: 'ORIGINATOR_ID',
    flags: O,
    action: 'treat-as-withdraw',
    subcode: OPTIONAL_ERROR,
    decode(b, s, e, st) {
      if (fromExternalPeer(st, AttrType.ORIGINATOR_ID, 'ORIGINATOR_ID', '7.9')) return;
      wantLen('ORIGINATOR_ID', e - s, 4);
      st.attrs.originatorId = formatIpv4(b, s);
    },
    encode(a, _ctx, w) {
      if (a.originatorId === undefined) return;
      const m = w.begin(O, AttrType.ORIGINATOR_ID);
      w.bytes(ipv4(a.originatorId, 'ORIGINATOR_ID'));
      w.end(m);
    },
  },
  {
    // RFC 4456 §8; RFC 7606 §7.10: from an external peer -> attribute discard; otherwise a
    // length not a non-zero multiple of 4 -> treat-as-withdraw.
    type: AttrType.CLUSTER_LIST,
    name: 'CLUSTER_LIST',
    flags: O,
    action: 'treat-as-withdraw',
    subcode: OPTIONAL_ERROR,
    decode(b, s, e, st) {
      if (fromExternalPeer(st, AttrType.CLUSTER_LIST, 'CLUSTER_LIST', '7.10')) return;
      wantMultiple('CLUSTER_LIST', e - s, 4);
      const ids: string[] = [];
      for (let p = s; p < e; p += 4) ids.push(formatIpv4(b, p));
      st.attrs.clusterList = ids;
    },
    encode(a, _ctx, w) {
      if (!a.clusterList || a.clusterList.length === 0) return;
      const m = w.begin(O, AttrType.CLUSTER_LIST);
      for (const id of a.clusterList) w.bytes(ipv4(id, 'CLUSTER_LIST id'));
      w.end(m);
    },
  },
  {
    // RFC 6793 §6: a malformed AS4_AGGREGATOR is discarded. Written by the AGGREGATOR row.
    type: AttrType.AS4_AGGREGATOR,
    name: 'AS4_AGGREGATOR',
    flags: O | T,
    action: 'attribute-discard',
    subcode: OPTIONAL_ERROR,
    decode(b, s, e, st) {
      wantLen('AS4_AGGREGATOR', e - s, 8);
      if (st.ctx.as4) {
        // RFC 6793 §4.1: a NEW speaker never sends it; one received from a NEW speaker is ignored.
        st.notes.push({ attrType: AttrType.AS4_AGGREGATOR, reason: 'AS4_AGGREGATOR received on a 4-octet AS session; ignored (RFC 6793 §4.1)' });
        return;
      }
      st.attrs.as4Aggregator = { asn: rd32(b, s), address: formatIpv4(b, s + 4) };
    },
    encode(a, ctx, w) {
      // RFC 6793 §4.2.2: a 4-octet aggregator AS goes here on a 2-octet session, never on a
      // 4-octet one.
      if (ctx.as4 || !a.aggregator || a.aggregator.asn <= 0xffff) return;
      const m = w.begin(O | T, AttrType.AS4_AGGREGATOR);
      w.u32(a.aggregator.asn);
      w.bytes(ipv4(a.aggregator.address, 'AGGREGATOR address'));
      w.end(m);
    },
  },
  {
    // RFC 9234 §5: Only to Customer, 4 octets; length other than 4 -> treat-as-withdraw.
    type: AttrType.OTC,
    name: 'OTC',
    flags: O | T,
    action: 'treat-as-withdraw',
    subcode: OPTIONAL_ERROR,
    decode(b, s, e, st) {
      wantLen('OTC', e - s, 4);
      st.attrs.otc = rd32(b, s);
    },
    encode(a, _ctx, w) {
      if (a.otc !== undefined) put32(w, O | T, AttrType.OTC, a.otc);
    },
  },
];
