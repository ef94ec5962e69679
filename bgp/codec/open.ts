// OPEN (RFC 4271 §4.2) with optional parameters, including the RFC 9072 extended form.
// Decode and encode side by side.
//
// Which layer checks what (RFC 4271 §6.2):
//  - here (structure): length (1/2), version 4 (2/1, data = 2-octet version 4), Hold Time 1 or 2
//    (2/6), optional parameter framing (2/0), parameter types other than Capabilities (2/4),
//    malformed known capabilities (2/0).
//  - the FSM (policy): Bad Peer AS (2/2), Bad BGP Identifier (2/3, e.g. 0.0.0.0 or equal to
//    ours), an unacceptable Hold Time by configuration (2/6), missing capabilities (2/7),
//    role mismatch (2/11).

import { SmartBuffer } from 'smart-buffer';
import { BgpError, type Capability, HEADER_LEN, MAX_MESSAGE_LEN, MsgType, type OpenMessage } from './types.js';
import { formatIpv4, parseIpv4 } from './address.js';
import { decodeCapabilities, encodeCapability } from './capabilities.js';
import { writeHeader } from './header.js';
import { Reader } from './reader.js';

/** RFC 4271 §4.2: header + 10 octets. */
const OPEN_MIN_LEN = HEADER_LEN + 10;
/** RFC 5492 §4: optional parameter type Capabilities. */
const PARAM_CAPABILITIES = 2;
/** RFC 9072 §2: Non-Ext OP Type value announcing the extended form. */
const PARAM_EXTENDED = 255;

const u16 = (v: number): Buffer => Buffer.from([v >> 8, v & 0xff]);
const openShort = (what: string): BgpError => new BgpError(2, 0, `OPEN Message Error: the optional parameters end before ${what}`);

export function decodeOpen(msg: Buffer): OpenMessage {
  if (msg.length < OPEN_MIN_LEN) {
    throw new BgpError(1, 2, `Bad Message Length: an OPEN needs at least 29 bytes, got ${msg.length}`, u16(msg.length));
  }
  if (msg.length > MAX_MESSAGE_LEN) {
    // RFC 8654 §4: the extended size never applies to OPEN.
    throw new BgpError(1, 2, `Bad Message Length: an OPEN may not exceed 4096 bytes, got ${msg.length} (RFC 8654 §4)`, u16(msg.length));
  }
  const version = msg[HEADER_LEN];
  if (version !== 4) {
    // RFC 4271 §6.2: data is the largest locally supported version below the one bid.
    throw new BgpError(2, 1, `Unsupported Version Number: peer bid BGP version ${version}, Tern speaks 4`, u16(4));
  }
  const myAs = msg.readUInt16BE(HEADER_LEN + 1);
  const holdTime = msg.readUInt16BE(HEADER_LEN + 3);
  if (holdTime === 1 || holdTime === 2) {
    throw new BgpError(2, 6, `Unacceptable Hold Time: ${holdTime} s (must be 0 or at least 3)`, u16(holdTime));
  }
  const bgpId = formatIpv4(msg, HEADER_LEN + 5);
  let optLen = msg[HEADER_LEN + 9];
  let pos = OPEN_MIN_LEN;
  let extended = false;
  // RFC 9072 §2: Non-Ext OP Len (any non-zero) followed by Non-Ext OP Type 255 = extended form,
  // then a 2-octet Extended Opt. Parm. Length, and 2-octet lengths in every parameter.
  if (optLen !== 0 && pos < msg.length && msg[pos] === PARAM_EXTENDED) {
    if (pos + 3 > msg.length) throw openShort('the RFC 9072 extended optional parameters length');
    extended = true;
    optLen = msg.readUInt16BE(pos + 1);
    pos += 3;
  }
  if (pos + optLen !== msg.length) {
    throw new BgpError(
      2,
      0,
      `OPEN Message Error: optional parameters length ${optLen} does not match the ${msg.length - pos} bytes that follow${extended ? ' (RFC 9072 extended form)' : ''}`,
    );
  }
  const r = new Reader(msg, pos, msg.length, openShort);
  const capabilities: Capability[] = [];
  while (r.remaining > 0) {
    const type = r.u8('a parameter type');
    const len = extended ? r.u16('a parameter length') : r.u8('a parameter length');
    const value = r.sub(len, `the ${len}-byte value of optional parameter type ${type}`);
    if (type !== PARAM_CAPABILITIES) {
      // RFC 4271 §6.2; RFC 4271 deprecated Authentication (type 1) too.
      throw new BgpError(2, 4, `Unsupported Optional Parameter: type ${type}`);
    }
    decodeCapabilities(value, capabilities);
  }
  return { type: MsgType.OPEN, version, myAs, holdTime, bgpId, capabilities, otherParams: [] };
}

/**
 * Capabilities are packed into as few type-2 parameters of at most 255 bytes as possible; the
 * RFC 9072 extended form is used only when the parameters exceed 255 bytes (RFC 9072 §2 SHOULD).
 */
export function encodeOpen(m: OpenMessage): Buffer {
  const params: { type: number; value: Buffer }[] = [];
  let group: Buffer[] = [];
  let groupLen = 0;
  for (const c of m.capabilities) {
    const b = encodeCapability(c);
    if (groupLen + b.length > 255) {
      params.push({ type: PARAM_CAPABILITIES, value: Buffer.concat(group) });
      group = [];
      groupLen = 0;
    }
    group.push(b);
    groupLen += b.length;
  }
  if (group.length) params.push({ type: PARAM_CAPABILITIES, value: Buffer.concat(group) });
  params.push(...m.otherParams);
  let total = 0;
  for (const p of params) total += 2 + p.value.length;
  const extended = total > 255 || params.some((p) => p.value.length > 255);
  if (extended) total += params.length; // one more length octet per parameter
  const id = parseIpv4(m.bgpId);
  if (!id) throw new RangeError(`BGP Identifier "${m.bgpId}" is not a dotted quad`);
  // A cold path (once per session), written with smart-buffer's running offset.
  const out = SmartBuffer.fromSize(OPEN_MIN_LEN + (extended ? 3 : 0) + total);
  out.writeBuffer(Buffer.alloc(HEADER_LEN)); // the header is written last, with the length
  out
    .writeUInt8(m.version)
    .writeUInt16BE(m.myAs & 0xffff)
    .writeUInt16BE(m.holdTime)
    .writeBuffer(id);
  if (extended) {
    // RFC 9072 §2: Non-Ext OP Len 255, Non-Ext OP Type 255, then a 2-octet Extended Opt. Parm. Length.
    out.writeUInt8(255).writeUInt8(PARAM_EXTENDED).writeUInt16BE(total);
  } else {
    out.writeUInt8(total);
  }
  for (const p of params) {
    out.writeUInt8(p.type);
    if (extended) out.writeUInt16BE(p.value.length);
    else out.writeUInt8(p.value.length);
    out.writeBuffer(p.value);
  }
  const msg = out.toBuffer();
  if (msg.length > MAX_MESSAGE_LEN) throw new RangeError(`OPEN of ${msg.length} bytes exceeds 4096 (RFC 8654 §4)`);
  writeHeader(msg, msg.length, MsgType.OPEN);
  return msg;
}
