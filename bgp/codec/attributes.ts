// The path attribute registry (BIRD's bgp_attr_table): one row per known type code with its
// name, expected flags, decoder, encoder and RFC 7606 action; and the loop that walks an UPDATE's
// path attributes field and applies RFC 7606 attribute by attribute.

import {
  type AttributeError,
  AttrType,
  ATTR_FLAG_EXTENDED_LENGTH,
  ATTR_FLAG_OPTIONAL,
  ATTR_FLAG_PARTIAL,
  ATTR_FLAG_TRANSITIVE,
  BgpError,
  type ErrorAction,
  type MpReach,
  type MpUnreach,
  type PathAttributes,
  type SessionContext,
  type UnknownAttribute,
} from './types.js';
import { attributeName } from './names.js';
import { type AttrDecodeState, AttrMalformed, type AttrSpec, AttrWriter } from './attr-spec.js';
import { basicAttributes } from './attr-basic.js';
import { asPathAttributes, mergeAs4 } from './attr-aspath.js';
import { communityAttributes } from './attr-communities.js';
import { mpAttributes } from './attr-mp.js';

/** The registry, indexed by type code. */
export const ATTRIBUTE_TABLE: readonly (AttrSpec | undefined)[] = (() => {
  const t: (AttrSpec | undefined)[] = new Array(256).fill(undefined);
  for (const row of [...basicAttributes, ...asPathAttributes, ...communityAttributes, ...mpAttributes]) t[row.type] = row;
  return t;
})();

/** Rows in type-code order, the order attributes are written in (RFC 4271 §5 has none; BIRD's). */
const ENCODE_ORDER = ATTRIBUTE_TABLE.filter((r): r is AttrSpec => r !== undefined);

const O_T = ATTR_FLAG_OPTIONAL | ATTR_FLAG_TRANSITIVE;

export interface DecodedAttributes {
  attrs: PathAttributes;
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  treatAsWithdraw: boolean;
  errors?: AttributeError[];
}

/** Generation-stamped "seen" table for duplicate detection without a per-UPDATE allocation. */
const seen = new Uint32Array(256);
let generation = 0;

/**
 * Walks the path attributes in b[s, e). `classicNlri` says whether the UPDATE carries NLRI in its
 * classic field (RFC 7606 §3.d: NEXT_HOP is then mandatory). Throws BgpError for session resets.
 */
export function decodeAttributes(b: Buffer, s: number, e: number, ctx: SessionContext, classicNlri: boolean): DecodedAttributes {
  const st: AttrDecodeState = { ctx, attrs: {}, notes: [] };
  let treatAsWithdraw = false;
  let errors: AttributeError[] | undefined;
  const apply = (action: ErrorAction, attrType: number, subcode: number, reason: string, raw: Buffer): void => {
    if (action === 'session-reset') throw new BgpError(3, subcode, reason, Buffer.from(raw));
    if (action === 'treat-as-withdraw') treatAsWithdraw = true;
    (errors ??= []).push({ attrType, action, reason });
  };
  generation = (generation + 1) >>> 0 || 1;
  if (generation === 1) seen.fill(0);
  let p = s;
  let index = 0;
  while (p < e) {
    index++;
    const start = p;
    const flags = b[p];
    const type = b[p + 1];
    const ext = (flags & ATTR_FLAG_EXTENDED_LENGTH) !== 0;
    const hdr = ext ? 4 : 3;
    const len = p + hdr <= e ? (ext ? (b[p + 2] << 8) | b[p + 3] : b[p + 2]) : -1;
    if (len < 0 || p + hdr + len > e) {
      // RFC 7606 §4: an attribute header or value runs past the path attributes field.
      // treat-as-withdraw, unless MP_REACH/MP_UNREACH were already seen: session reset.
      const what =
        len < 0
          ? `attribute ${index} header is cut short: ${e - p} bytes left in the path attributes field`
          : `${attributeName(type)} (attribute ${index}) length ${len} overruns the path attributes field by ${p + hdr + len - e} bytes`;
      apply(st.mpReach || st.mpUnreach ? 'session-reset' : 'treat-as-withdraw', type, 1, `Malformed Attribute List: ${what}`, b.subarray(start, e));
      break;
    }
    const vs = p + hdr;
    const ve = vs + len;
    p = ve;
    const row = ATTRIBUTE_TABLE[type];
    if (seen[type] === generation) {
      // RFC 7606 §3.g: keep the first, discard the rest; duplicate MP attributes reset.
      if (type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI) {
        apply('session-reset', type, 1, `Malformed Attribute List: ${attributeName(type)} appears more than once`, b.subarray(start, ve));
      }
      apply('attribute-discard', type, 1, `${attributeName(type)} appears more than once; all but the first discarded`, b.subarray(start, ve));
      continue;
    }
    seen[type] = generation;
    if (row === undefined) {
      if (!(flags & ATTR_FLAG_OPTIONAL)) {
        // RFC 4271 §6.3: an unrecognized well-known attribute.
        throw new BgpError(3, 2, `Unrecognized Well-known Attribute: type ${type} is flagged well-known but unknown`, Buffer.from(b.subarray(start, ve)));
      }
      if (flags & ATTR_FLAG_TRANSITIVE) {
        // RFC 4271 §5, §9: keep an unrecognized optional transitive attribute and set Partial,
        // whatever its value looks like (the Tunnel Encapsulation incidents).
        const u: UnknownAttribute = { flags: (flags | ATTR_FLAG_PARTIAL) & 0xe0, type, value: Buffer.from(b.subarray(vs, ve)) };
        (st.attrs.unknown ??= []).push(u);
      }
      // Unrecognized optional non-transitive: quietly ignored (RFC 4271 §5).
      continue;
    }
    if ((flags ^ row.flags) & O_T) {
      // RFC 4271 §6.3 Attribute Flags Error; RFC 7606 §3.c: treat-as-withdraw, except where the
      // attribute's own rule is stronger (MP_REACH/MP_UNREACH: the NLRI cannot be trusted).
      const reason = `${row.name} has flags 0x${flags.toString(16).padStart(2, '0')}: Optional/Transitive bits must be ${row.flags & ATTR_FLAG_OPTIONAL ? 'optional' : 'well-known'}${row.flags & ATTR_FLAG_TRANSITIVE ? ' transitive' : ' non-transitive'}`;
      apply(row.action === 'session-reset' ? 'session-reset' : 'treat-as-withdraw', type, 4, `Attribute Flags Error: ${reason}`, b.subarray(start, ve));
      continue;
    }
    try {
      row.decode(b, vs, ve, st);
    } catch (err) {
      if (!(err instanceof AttrMalformed)) throw err;
      apply(err.action ?? row.action, type, err.subcode ?? row.subcode, err.message, b.subarray(start, ve));
    }
  }
  const a = st.attrs;
  // RFC 7606 §3.d: a missing well-known mandatory attribute -> treat-as-withdraw, when there
  // is NLRI to withdraw. NEXT_HOP is mandatory only with classic NLRI (RFC 4760 §3).
  if (classicNlri || (st.mpReach && st.mpReach.nlri.length > 0)) {
    const missing = (type: number, present: boolean): void => {
      if (present || errors?.some((x) => x.attrType === type)) return;
      apply('treat-as-withdraw', type, 3, `Missing Well-known Attribute: ${attributeName(type)}`, Buffer.from([type]));
    };
    missing(AttrType.ORIGIN, a.origin !== undefined);
    missing(AttrType.AS_PATH, a.asPath !== undefined);
    if (classicNlri) missing(AttrType.NEXT_HOP, a.nextHop !== undefined);
  }
  if (!ctx.as4 && (a.as4Path || a.as4Aggregator)) mergeAs4(st);
  for (const n of st.notes) (errors ??= []).push({ attrType: n.attrType, action: 'attribute-discard', reason: n.reason });
  const out: DecodedAttributes = { attrs: a, treatAsWithdraw, errors };
  if (st.mpReach) out.mpReach = st.mpReach;
  if (st.mpUnreach) out.mpUnreach = st.mpUnreach;
  return out;
}

/** Options for encodeAttributes. */
export interface EncodeAttributesOptions {
  /** Writer to append to (used by UPDATE encoders to put MP attributes first). */
  writer?: AttrWriter;
}

/**
 * Encodes the path attributes (without MP_REACH/MP_UNREACH) in type-code order. Unknown
 * attributes are written with their stored flags (decode already set Partial on unrecognized
 * optional transitive ones, RFC 4271 §9); the Extended Length bit is recomputed.
 */
export function encodeAttributes(attrs: PathAttributes, ctx: SessionContext, opts?: EncodeAttributesOptions): Buffer {
  if (opts?.writer) {
    writeAttributes(attrs, ctx, opts.writer);
    return opts.writer.buf.subarray(0, opts.writer.pos);
  }
  // A shared scratch writer: one allocation per call, for the result.
  scratchWriter.pos = 0;
  writeAttributes(attrs, ctx, scratchWriter);
  return scratchWriter.result();
}

const scratchWriter = new AttrWriter(4096);

export function writeAttributes(attrs: PathAttributes, ctx: SessionContext, w: AttrWriter): void {
  const unknown = attrs.unknown && attrs.unknown.length ? [...attrs.unknown].sort((x, y) => x.type - y.type) : undefined;
  let u = 0;
  for (const row of ENCODE_ORDER) {
    while (unknown && u < unknown.length && unknown[u].type < row.type) writeUnknown(w, unknown[u++]);
    row.encode(attrs, ctx, w);
  }
  while (unknown && u < unknown.length) writeUnknown(w, unknown[u++]);
}

function writeUnknown(w: AttrWriter, a: UnknownAttribute): void {
  if (ATTRIBUTE_TABLE[a.type]) throw new RangeError(`unknown attribute with known type ${a.type} (${attributeName(a.type)})`);
  const m = w.begin(a.flags & 0xe0, a.type);
  w.bytes(a.value);
  w.end(m);
}
