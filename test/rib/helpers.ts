// Shared helpers for the RIB tests: build UpdateMessages, bring peers up, read what the RIB sends.

import { decodeMessage } from '../../bgp/codec/message.js';
import { encodeUpdate } from '../../bgp/codec/update.js';
import { PrefixListImpl } from '../../bgp/codec/prefixes.js';
import { formatPrefix } from '../../bgp/codec/prefix.js';
import { AFI_IPV4, AFI_IPV6, AsPathSegmentType, MsgType, type PathAttributes, type SessionContext, type UpdateMessage } from '../../bgp/codec/types.js';
import { Rib } from '../../bgp/rib/rib.js';
import type { RibOptions, RibPeer } from '../../bgp/rib/rib-types.js';

export const ctx = (over: Partial<SessionContext> = {}): SessionContext => ({
  as4: true,
  addPathRx: { ipv4: false, ipv6: false },
  addPathTx: { ipv4: false, ipv6: false },
  extendedMessage: false,
  ...over,
});

/** n distinct /24s: base.0.0.0/24, base.0.1.0/24, ... */
export const many = (n: number, base = 10): string[] => Array.from({ length: n }, (_, i) => `${base}.${(i >> 8) & 255}.${i & 255}.0/24`);
export const seq = (...asns: number[]): PathAttributes['asPath'] => (asns.length ? [{ type: AsPathSegmentType.AS_SEQUENCE, asns }] : []);

export function attrs(over: PathAttributes = {}): PathAttributes {
  return { origin: 0, asPath: seq(65001), nextHop: '198.18.0.1', ...over };
}

/**
 * An UPDATE announcing `reach` (strings, optional "#pathId") and withdrawing `withdraw`, as the
 * RIB gets it in the daemon: encoded by the codec and decoded again, so the prefix lists point
 * into a real message (the RIB keys attribute sets on those bytes).
 */
export function upd(a: PathAttributes | null, reach: string[], withdraw: string[] = [], as4 = true): UpdateMessage {
  const m = build(a, reach, withdraw);
  const ap = [...reach, ...withdraw].some((s) => s.includes('#'));
  const c = ctx({ as4, extendedMessage: true, addPathRx: { ipv4: ap, ipv6: ap }, addPathTx: { ipv4: ap, ipv6: ap } });
  const u = decodeMessage(encodeUpdate(m, c), c);
  if (u.type !== MsgType.UPDATE) throw new Error('not an UPDATE');
  return u;
}

function build(a: PathAttributes | null, reach: string[], withdraw: string[]): UpdateMessage {
  const parse = (s: string) => {
    const [p, id] = s.split('#');
    return id === undefined ? p : { ...PrefixListImpl.from(AFI_IPV4, [p]).get(0), pathId: +id };
  };
  const v6 = [...reach, ...withdraw].some((s) => s.includes(':'));
  const afi = v6 ? AFI_IPV6 : AFI_IPV4;
  const r = PrefixListImpl.from(afi, reach.map(parse));
  const w = PrefixListImpl.from(afi, withdraw.map(parse));
  const empty = PrefixListImpl.empty(AFI_IPV4);
  if (!v6) return { type: MsgType.UPDATE, withdrawn: w, attrs: a ?? {}, nlri: r };
  const u: UpdateMessage = { type: MsgType.UPDATE, withdrawn: empty, attrs: a ?? {}, nlri: empty };
  if (reach.length) u.mpReach = { afi: AFI_IPV6, safi: 1, nextHop: { global: a?.nextHop ?? '2001:db8::1' }, nlri: r };
  if (withdraw.length) u.mpUnreach = { afi: AFI_IPV6, safi: 1, withdrawn: w };
  if (u.mpReach) delete u.attrs.nextHop;
  return u;
}

export interface Sent {
  withdrawn: string[];
  nlri: string[];
  attrs: PathAttributes;
  nextHop?: string;
  raw: Buffer;
}

/** Decodes UPDATEs (skipping other messages); prefixes carry "#id" when add-path is on. */
export function decodeOut(bufs: Buffer[], c: SessionContext = ctx()): Sent[] {
  const rx: SessionContext = { ...c, addPathRx: c.addPathTx };
  const out: Sent[] = [];
  for (const b of bufs) {
    const m = decodeMessage(b, rx);
    if (m.type !== MsgType.UPDATE) continue;
    const fmt = (l: PrefixListImpl | UpdateMessage['nlri']) =>
      [...l].map((p) => formatPrefix({ ...p, pathId: undefined }) + (p.pathId !== undefined ? `#${p.pathId}` : ''));
    const s: Sent = { withdrawn: fmt(m.withdrawn), nlri: fmt(m.nlri), attrs: m.attrs, nextHop: m.attrs.nextHop, raw: b };
    if (m.mpReach) {
      s.nlri.push(...fmt(m.mpReach.nlri));
      s.nextHop = m.mpReach.nextHop.global;
    }
    if (m.mpUnreach) s.withdrawn.push(...fmt(m.mpUnreach.withdrawn));
    out.push(s);
  }
  return out;
}

/** Announced and withdrawn prefixes over a set of UPDATEs. */
export function summary(sent: Sent[]): { nlri: string[]; withdrawn: string[] } {
  return { nlri: sent.flatMap((s) => s.nlri).sort(), withdrawn: sent.flatMap((s) => s.withdrawn).sort() };
}

export const LOCAL_AS = 65000;

export function makeRib(over: Partial<RibOptions> = {}): Rib {
  return new Rib({ localAs: LOCAL_AS, routerId: '198.18.255.1', collectChanges: true, ...over });
}

let n = 0;
/** Adds and brings up a peer; returns its id. */
export function up(rib: Rib, cfg: Partial<RibPeer> & { asn: number }, routerId?: string, c: SessionContext = ctx()): string {
  n++;
  const address = cfg.address ?? `198.18.0.${n % 250}`;
  const id = cfg.id ?? `peer${n}`;
  rib.addPeer({ id, address, localAddress: '198.18.255.1', ...cfg });
  rib.peerUp(id, c, { routerId: routerId ?? address, families: ['ipv4', 'ipv6'] });
  return id;
}

/** Everything the peer has to send, decoded. */
export function drain(rib: Rib, id: string, c: SessionContext = ctx()): Sent[] {
  return decodeOut(rib.takeOutput(id), c);
}
