// The Adj-RIB-Out fast path to the wire: packs prefixes straight from the PrefixStore (by
// prefix index, no Prefix objects) into UPDATEs sharing one pre-encoded attribute block.
// Same layout as bgp/codec/pack.ts (which it complements, not replaces):
//   IPv4: classic Withdrawn Routes / NLRI fields (RFC 4271 §4.3).
//   IPv6: MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760 §3, §4), written before the other attributes.
// RFC 7911 §3: with add-path send, each NLRI is preceded by its 4-byte Path Identifier.

import { HEADER_LEN, MsgType, type RouteRefreshSubtype, SAFI_UNICAST, type Family } from '../codec/types.js';
import { writeHeader } from '../codec/header.js';
import { MP_UNREACH_HEADER_LENGTH, mpReachHeaderLength, writeMpReachHeader, writeMpUnreachHeader } from '../codec/attr-mp.js';
import type { PrefixStore } from './prefix-store.js';

/**
 * An encoded message of an update group's stream, with the members it is not for (except) or
 * only for (only): RFC 4456 §6/§8 and split-horizon exclusions inside a shared stream.
 */
export interface TaggedMsg {
  buf: Buffer;
  except?: number[];
  only?: number[];
}
export type OutMsg = Buffer | TaggedMsg;

/** Whether a log entry is to be sent to member `peer`. */
export function isFor(m: OutMsg, peer: number): boolean {
  if (Buffer.isBuffer(m)) return true;
  if (m.except && m.except.includes(peer)) return false;
  return !m.only || m.only.includes(peer);
}

/** Prefix indices (and, with add-path, path identifiers) to pack, in order. */
export interface NlriRun {
  pfx: ArrayLike<number>;
  /** RFC 7911 path identifiers parallel to pfx; null without add-path. */
  pathId: ArrayLike<number> | null;
  from: number;
  to: number;
}

const FIXED = HEADER_LEN + 4; // header, Withdrawn Routes Length, Total Path Attribute Length
const MP_UNREACH_HDR = MP_UNREACH_HEADER_LENGTH;

const entrySize = (store: PrefixStore, pfx: number, addPath: boolean): number => (addPath ? 5 : 1) + ((store.lens[pfx] + 7) >> 3);

function writeEntries(store: PrefixStore, run: NlriRun, from: number, to: number, b: Buffer, pos: number): number {
  for (let i = from; i < to; i++) {
    if (run.pathId) {
      const id = run.pathId[i];
      b[pos] = id >>> 24;
      b[pos + 1] = id >>> 16;
      b[pos + 2] = id >>> 8;
      b[pos + 3] = id;
      pos += 4;
    }
    pos = store.writeNlri(run.pfx[i], b, pos);
  }
  return pos;
}

/** Calls emit(from, to, bytes) for consecutive slices of the run that fit `room` bytes. */
function slices(store: PrefixStore, run: NlriRun, room: number, emit: (from: number, to: number, bytes: number) => void): void {
  const ap = run.pathId !== null;
  let from = run.from;
  let bytes = 0;
  for (let i = run.from; i < run.to; i++) {
    const sz = entrySize(store, run.pfx[i], ap);
    if (bytes + sz > room) {
      emit(from, i, bytes);
      from = i;
      bytes = 0;
    }
    bytes += sz;
  }
  if (run.to > from) emit(from, run.to, bytes);
}

/** UPDATEs withdrawing the run (RFC 4271 §4.3 Withdrawn Routes, RFC 4760 §4 MP_UNREACH_NLRI). */
export function packWithdraw(out: Buffer[], store: PrefixStore, run: NlriRun, maxLen: number): void {
  if (store.family === 'ipv4') {
    slices(store, run, maxLen - FIXED, (from, to, bytes) => {
      const b = Buffer.allocUnsafe(FIXED + bytes);
      writeHeader(b, b.length, MsgType.UPDATE);
      b[HEADER_LEN] = bytes >> 8;
      b[HEADER_LEN + 1] = bytes;
      const pos = writeEntries(store, run, from, to, b, HEADER_LEN + 2);
      b[pos] = 0;
      b[pos + 1] = 0;
      out.push(b);
    });
    return;
  }
  slices(store, run, maxLen - FIXED - MP_UNREACH_HDR, (from, to, bytes) => {
    const b = Buffer.allocUnsafe(FIXED + MP_UNREACH_HDR + bytes);
    writeHeader(b, b.length, MsgType.UPDATE);
    b.writeUInt16BE(0, HEADER_LEN);
    b.writeUInt16BE(MP_UNREACH_HDR + bytes, HEADER_LEN + 2);
    writeEntries(store, run, from, to, b, writeMpUnreachHeader(b, FIXED, bytes));
    out.push(b);
  });
}

/**
 * UPDATEs announcing the run with one attribute block (encoded once per attribute set and
 * shared by every message and every member of the update group). For IPv6, `nextHop` holds
 * the MP_REACH next-hop bytes (RFC 2545 §3: 16 or 32).
 */
export function packReach(out: Buffer[], store: PrefixStore, run: NlriRun, attrs: Buffer, nextHop: Buffer | null, maxLen: number): void {
  if (store.family === 'ipv4') {
    slices(store, run, maxLen - FIXED - attrs.length, (from, to, bytes) => {
      const b = Buffer.allocUnsafe(FIXED + attrs.length + bytes);
      writeHeader(b, b.length, MsgType.UPDATE);
      b[HEADER_LEN] = 0;
      b[HEADER_LEN + 1] = 0;
      b[HEADER_LEN + 2] = attrs.length >> 8;
      b[HEADER_LEN + 3] = attrs.length;
      attrs.copy(b, FIXED);
      writeEntries(store, run, from, to, b, FIXED + attrs.length);
      out.push(b);
    });
    return;
  }
  const nh = nextHop as Buffer;
  const mpHdr = mpReachHeaderLength(nh);
  slices(store, run, maxLen - FIXED - mpHdr - attrs.length, (from, to, bytes) => {
    const b = Buffer.allocUnsafe(FIXED + mpHdr + bytes + attrs.length);
    writeHeader(b, b.length, MsgType.UPDATE);
    b.writeUInt16BE(0, HEADER_LEN);
    b.writeUInt16BE(mpHdr + bytes + attrs.length, HEADER_LEN + 2);
    let pos = writeMpReachHeader(b, FIXED, nh, bytes);
    pos = writeEntries(store, run, from, to, b, pos);
    attrs.copy(b, pos);
    out.push(b);
  });
}

/** RFC 7313 §4: a ROUTE-REFRESH carrying BoRR or EoRR for the family (sent by the RIB's output). */
export function refreshMarker(family: Family, subtype: RouteRefreshSubtype): Buffer {
  const b = Buffer.alloc(HEADER_LEN + 4);
  writeHeader(b, b.length, MsgType.ROUTE_REFRESH);
  b.writeUInt16BE(family === 'ipv4' ? 1 : 2, HEADER_LEN);
  b[HEADER_LEN + 2] = subtype;
  b[HEADER_LEN + 3] = SAFI_UNICAST;
  return b;
}
