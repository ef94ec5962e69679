// The BFD Control packet (RFC 5880 §4.1), decode and encode side by side. Pure: no socket.
// Intervals stay in microseconds as on the wire; the state machine converts.
// A decode failure is a value (`{error}`), not a throw: RFC 5880 §6.8.6 says such packets are
// discarded without any reply, so the caller only counts them.

import { createHash } from 'node:crypto';

/** RFC 5880 §4.1 "Sta": the session state field. */
export const enum BfdState {
  AdminDown = 0,
  Down = 1,
  Init = 2,
  Up = 3,
}
export const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const;
export type StateName = (typeof STATE_NAMES)[number];

/** RFC 5880 §4.1 "Diag" codes. */
export const enum Diag {
  None = 0,
  ControlDetectionTimeExpired = 1,
  EchoFunctionFailed = 2,
  NeighborSignaledSessionDown = 3,
  ForwardingPlaneReset = 4,
  PathDown = 5,
  ConcatenatedPathDown = 6,
  AdministrativelyDown = 7,
  ReverseConcatenatedPathDown = 8,
}
export const DIAG_NAMES = [
  'No Diagnostic',
  'Control Detection Time Expired',
  'Echo Function Failed',
  'Neighbor Signaled Session Down',
  'Forwarding Plane Reset',
  'Path Down',
  'Concatenated Path Down',
  'Administratively Down',
  'Reverse Concatenated Path Down',
];

/** RFC 5880 §4.1 Auth Type: 4 Keyed SHA1, 5 Meticulous Keyed SHA1 (§4.4). */
export const AUTH_KEYED_SHA1 = 4;
export const AUTH_METICULOUS_KEYED_SHA1 = 5;

export interface BfdAuth {
  type: number;
  keyId: number;
  /** Sequence number (types 2-5). */
  seq: number;
  /** The digest or password bytes as received. */
  value: Buffer;
}

export interface BfdPacket {
  version: number;
  diag: number;
  state: BfdState;
  poll: boolean;
  final: boolean;
  /** C: Control Plane Independent. */
  cpi: boolean;
  demand: boolean;
  multipoint: boolean;
  detectMult: number;
  myDiscr: number;
  yourDiscr: number;
  /** µs */
  desiredMinTx: number;
  /** µs */
  requiredMinRx: number;
  /** µs; Tern sends 0 (no Echo function, RFC 5880 §6.4). */
  requiredMinEchoRx: number;
  auth?: BfdAuth;
}

export const MIN_LENGTH = 24;

/** RFC 5880 §6.8.6 first checks, those that need nothing but the bytes. */
export function decodeBfd(buf: Buffer): BfdPacket | { error: string } {
  if (buf.length < MIN_LENGTH) return { error: `short packet (${buf.length} bytes)` };
  const version = buf[0] >> 5;
  if (version !== 1) return { error: `version ${version}` };
  const flags = buf[1];
  const hasAuth = (flags & 0x04) !== 0;
  const length = buf[3];
  // "If the A bit is clear, less than 24; if set, less than 26 ... discarded"
  if (length < (hasAuth ? 26 : MIN_LENGTH)) return { error: `length field ${length} too small` };
  if (length > buf.length) return { error: `length field ${length} beyond the ${buf.length}-byte payload` };
  const p: BfdPacket = {
    version,
    diag: buf[0] & 0x1f,
    state: (flags >> 6) as BfdState,
    poll: (flags & 0x20) !== 0,
    final: (flags & 0x10) !== 0,
    cpi: (flags & 0x08) !== 0,
    demand: (flags & 0x02) !== 0,
    multipoint: (flags & 0x01) !== 0,
    detectMult: buf[2],
    myDiscr: buf.readUInt32BE(4),
    yourDiscr: buf.readUInt32BE(8),
    desiredMinTx: buf.readUInt32BE(12),
    requiredMinRx: buf.readUInt32BE(16),
    requiredMinEchoRx: buf.readUInt32BE(20),
  };
  if (p.detectMult === 0) return { error: 'Detect Mult is zero' };
  if (p.multipoint) return { error: 'Multipoint bit set' };
  if (p.myDiscr === 0) return { error: 'My Discriminator is zero' };
  if (hasAuth) {
    const type = buf[24];
    const authLen = buf[25];
    if (24 + authLen > length || authLen < 2) return { error: `auth length ${authLen} does not fit` };
    const body = buf.subarray(26, 24 + authLen);
    if (type === 2 || type === 3 || type === 4 || type === 5) {
      // RFC 5880 §4.3, §4.4: Key ID, Reserved, Sequence Number, then digest.
      if (body.length < 6) return { error: `auth type ${type} section too short` };
      p.auth = { type, keyId: body[0], seq: body.readUInt32BE(2), value: Buffer.from(body.subarray(6)) };
    } else {
      // RFC 5880 §4.2 Simple Password: Key ID then the password.
      p.auth = { type, keyId: body[0] ?? 0, seq: 0, value: Buffer.from(body.subarray(1)) };
    }
  }
  return p;
}

/** Encodes; with `sha1Key` the Keyed SHA1 section (RFC 5880 §6.7.4) is added and signed. */
export function encodeBfd(p: BfdPacket, sha1Key?: Buffer): Buffer {
  const withAuth = p.auth !== undefined && sha1Key !== undefined;
  const len = withAuth ? MIN_LENGTH + 28 : MIN_LENGTH;
  const b = Buffer.alloc(len);
  b[0] = ((p.version & 7) << 5) | (p.diag & 0x1f);
  b[1] =
    ((p.state & 3) << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.cpi ? 0x08 : 0) |
    (withAuth ? 0x04 : 0) |
    (p.demand ? 0x02 : 0) |
    (p.multipoint ? 0x01 : 0);
  b[2] = p.detectMult;
  b[3] = len;
  b.writeUInt32BE(p.myDiscr >>> 0, 4);
  b.writeUInt32BE(p.yourDiscr >>> 0, 8);
  b.writeUInt32BE(p.desiredMinTx >>> 0, 12);
  b.writeUInt32BE(p.requiredMinRx >>> 0, 16);
  b.writeUInt32BE(p.requiredMinEchoRx >>> 0, 20);
  if (withAuth && p.auth && sha1Key) {
    b[24] = p.auth.type;
    b[25] = 28;
    b[26] = p.auth.keyId;
    b.writeUInt32BE(p.auth.seq >>> 0, 28);
    // RFC 5880 §6.7.4: the hash is computed with the key (padded to 20 bytes) in the digest field.
    keyField(sha1Key).copy(b, 32);
    createHash('sha1').update(b).digest().copy(b, 32);
  }
  return b;
}

/** RFC 5880 §6.7.4 receive check: replace the digest with the key, hash, compare. */
export function verifySha1(raw: Buffer, key: Buffer): boolean {
  if (raw.length < MIN_LENGTH + 28 || raw[25] !== 28) return false;
  const copy = Buffer.from(raw.subarray(0, raw[3]));
  const got = Buffer.from(copy.subarray(32, 52));
  keyField(key).copy(copy, 32);
  return createHash('sha1').update(copy).digest().equals(got);
}

function keyField(key: Buffer): Buffer {
  const k = Buffer.alloc(20);
  key.copy(k, 0, 0, 20);
  return k;
}
