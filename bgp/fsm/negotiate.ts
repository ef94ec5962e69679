// OPEN: what we offer, how the peer's OPEN is checked, and what both ends agreed.
// Pure functions; the FSM calls them on BGPOpen (RFC 4271 §8.1 event 19).
// A check that fails throws the BgpError whose code/subcode/data is the NOTIFICATION to send.

import { idToNumber, type ResolvedConfig } from './config.js';
import {
  AFI_IPV4,
  AFI_IPV6,
  AS_TRANS,
  BgpError,
  CapCode,
  ErrCode,
  MsgType,
  SAFI_UNICAST,
  familyOfAfi,
  afiOfFamily,
  type Capability,
  type Family,
  type OpenMessage,
  type SessionContext,
} from '../codec/types.js';

/** RFC 4271 §6.2 OPEN Message Error subcodes. */
export const enum OpenErr {
  UNSUPPORTED_VERSION = 1,
  BAD_PEER_AS = 2,
  BAD_BGP_ID = 3,
  UNSUPPORTED_OPTIONAL_PARAMETER = 4,
  UNACCEPTABLE_HOLD_TIME = 6,
  UNSUPPORTED_CAPABILITY = 7, // RFC 5492 §5
}

export interface PeerGracefulRestart {
  /** R bit: the peer has restarted (RFC 4724 §3). */
  restarting: boolean;
  /** N bit (RFC 8538): NOTIFICATIONs other than Hard Reset are covered by GR. */
  notification: boolean;
  restartTime: number;
  /** Negotiated families the peer preserves state for, with the F bit. */
  families: { family: Family; forwardingPreserved: boolean }[];
}

/** Everything both ends agreed in the OPEN exchange; stored per session. */
export interface Negotiated {
  peerAs: number;
  peerBgpId: string;
  localBgpId: string;
  /** Seconds; 0 means no Hold and no Keepalive timer (RFC 4271 §4.2). */
  holdTime: number;
  keepaliveTime: number;
  /** Families both sides advertised (RFC 4760 §8: no MP capability at all means IPv4 unicast). */
  families: Family[];
  as4: boolean;
  addPath: Record<Family, { send: boolean; receive: boolean }>;
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  extendedMessage: boolean;
  /** The peer's Graceful Restart capability (RFC 4724), when both sides sent one. */
  gracefulRestart?: PeerGracefulRestart;
  /** The peer's LLGR capability families (RFC 9494), when received. */
  llgr?: { family: Family; staleTime: number; forwardingPreserved: boolean }[];
  /** The peer's FQDN capability. */
  peerHostname?: { hostname: string; domain: string };
  /** What the codec needs for UPDATEs on this session. */
  context: SessionContext;
  /** The capabilities exactly as the peer sent them in its OPEN (`bgpctl show neighbor`). */
  peerCapabilities: Capability[];
  /** The capabilities we sent. */
  localCapabilities: Capability[];
}

const FAMILIES: Family[] = ['ipv4', 'ipv6'];

/** Our OPEN (RFC 4271 §4.2 with RFC 5492 capabilities). */
export function buildOpen(cfg: ResolvedConfig): OpenMessage {
  const caps: Capability[] = [];
  for (const f of cfg.families) caps.push({ code: CapCode.MULTIPROTOCOL, afi: afiOfFamily(f), safi: SAFI_UNICAST });
  caps.push({ code: CapCode.ROUTE_REFRESH });
  caps.push({ code: CapCode.ENHANCED_ROUTE_REFRESH });
  caps.push({ code: CapCode.AS4, asn: cfg.localAs });
  if (cfg.extendedMessage) caps.push({ code: CapCode.EXTENDED_MESSAGE });
  const sr = (cfg.addPath.receive ? 1 : 0) | (cfg.addPath.send ? 2 : 0);
  if (sr !== 0) {
    caps.push({
      code: CapCode.ADD_PATH,
      families: cfg.families.map((f) => ({ afi: afiOfFamily(f), safi: SAFI_UNICAST, sendReceive: sr as 1 | 2 | 3 })),
    });
  }
  if (cfg.gracefulRestart) {
    const gr = cfg.gracefulRestart;
    caps.push({
      code: CapCode.GRACEFUL_RESTART,
      restarting: gr.restarting ?? false,
      notification: true, // RFC 8538: we treat NOTIFICATIONs (except Hard Reset) as GR events
      restartTime: Math.min(gr.restartTime, 4095),
      families: cfg.families.map((f) => ({
        afi: afiOfFamily(f),
        safi: SAFI_UNICAST,
        forwardingPreserved: gr.forwardingPreserved ?? false,
      })),
    });
  }
  if (cfg.hostname) caps.push({ code: CapCode.FQDN, hostname: cfg.hostname, domain: cfg.domain ?? '' });
  return {
    type: MsgType.OPEN,
    version: 4,
    // RFC 6793 §4.1: a 4-octet AS goes in the capability, AS_TRANS in "My Autonomous System".
    myAs: cfg.localAs > 0xffff ? AS_TRANS : cfg.localAs,
    holdTime: cfg.holdTime,
    bgpId: cfg.routerId,
    capabilities: caps,
    otherParams: [],
  };
}

const fail = (sub: number, msg: string, data?: Buffer): never => {
  throw new BgpError(ErrCode.OPEN_MESSAGE, sub, msg, data);
};

function familyOf(afi: number, safi: number): Family | undefined {
  if (safi !== SAFI_UNICAST) return undefined;
  return afi === AFI_IPV4 || afi === AFI_IPV6 ? familyOfAfi(afi) : undefined;
}

/** RFC 5492 §3: the data of 2/7 lists the capabilities we need and the peer lacks. */
function mpCapsData(families: Family[]): Buffer {
  const b = Buffer.alloc(families.length * 6);
  families.forEach((f, i) => {
    b.writeUInt8(CapCode.MULTIPROTOCOL, i * 6);
    b.writeUInt8(4, i * 6 + 1);
    b.writeUInt16BE(afiOfFamily(f), i * 6 + 2);
    b.writeUInt8(SAFI_UNICAST, i * 6 + 5);
  });
  return b;
}

/**
 * Checks the peer's OPEN (RFC 4271 §6.2, RFC 6793, RFC 6286, RFC 5492) and negotiates.
 * Steps, in the order RFC 4271 §6.2 lists them; the first failure is the NOTIFICATION sent.
 */
export function negotiate(open: OpenMessage, cfg: ResolvedConfig): Negotiated {
  // 1. Version (RFC 4271 §6.2): data is the largest version we support, 2 octets.
  if (open.version !== 4) {
    const d = Buffer.alloc(2);
    d.writeUInt16BE(4);
    fail(OpenErr.UNSUPPORTED_VERSION, `peer speaks BGP version ${open.version}, we speak 4`, d);
  }
  // 2. Peer AS (§6.2, RFC 6793 §4.1): the AS4 capability carries the real AS when present.
  const as4Cap = open.capabilities.find((c): c is { code: CapCode.AS4; asn: number } => c.code === CapCode.AS4);
  const peerAs = as4Cap ? as4Cap.asn : open.myAs;
  if (peerAs === 0) fail(OpenErr.BAD_PEER_AS, 'peer AS 0 (RFC 7607)');
  if (!as4Cap && open.myAs === AS_TRANS && cfg.peerAs !== AS_TRANS) {
    fail(OpenErr.BAD_PEER_AS, `peer sent AS_TRANS without the 4-octet AS capability (RFC 6793 §4.1)`);
  }
  if (peerAs !== cfg.peerAs) fail(OpenErr.BAD_PEER_AS, `peer AS ${peerAs}, configured ${cfg.peerAs}`);
  // 3. BGP Identifier (RFC 6286 §2.2): non-zero; equal to ours only on an eBGP session.
  const id = idToNumber(open.bgpId);
  if (id === 0) fail(OpenErr.BAD_BGP_ID, `peer BGP Identifier ${open.bgpId} is zero`);
  if (peerAs === cfg.localAs && open.bgpId === cfg.routerId) {
    fail(OpenErr.BAD_BGP_ID, `iBGP peer uses our own BGP Identifier ${open.bgpId}`);
  }
  // 4. Optional parameters other than Capabilities (RFC 5492 §4: type 2) are not supported.
  if (open.otherParams.length > 0) {
    fail(OpenErr.UNSUPPORTED_OPTIONAL_PARAMETER, `optional parameter type ${open.otherParams[0].type} not supported`);
  }
  // 5. Hold Time (RFC 4271 §4.2, §6.2): 1 and 2 seconds are unacceptable.
  if (open.holdTime === 1 || open.holdTime === 2) {
    fail(OpenErr.UNACCEPTABLE_HOLD_TIME, `peer hold time ${open.holdTime}s (must be 0 or >= 3)`);
  }
  const holdTime = Math.min(open.holdTime, cfg.holdTime);
  const keepaliveTime = holdTime === 0 ? 0 : Math.max(1, Math.min(cfg.keepaliveTime ?? Infinity, Math.floor(holdTime / 3)));

  // 6. Families (RFC 4760 §8): without any MP capability the peer speaks IPv4 unicast only.
  const mp = open.capabilities.filter((c): c is { code: CapCode.MULTIPROTOCOL; afi: number; safi: number } => c.code === CapCode.MULTIPROTOCOL);
  const theirs = new Set<Family>();
  if (mp.length === 0) theirs.add('ipv4');
  for (const c of mp) {
    const f = familyOf(c.afi, c.safi);
    if (f) theirs.add(f);
  }
  const families = FAMILIES.filter((f) => cfg.families.includes(f) && theirs.has(f));
  // No family in common: a session that can carry nothing. RFC 5492 §3 allows refusing with
  // 2/7 listing what we need; FRR does the same. Documented in docs/sessions.md.
  if (families.length === 0) {
    fail(OpenErr.UNSUPPORTED_CAPABILITY, `no address family in common (ours: ${cfg.families.join(',')})`, mpCapsData(cfg.families));
  }

  // 7. The rest of the capabilities (RFC 5492: unknown ones are ignored).
  const has = (code: CapCode) => open.capabilities.some((c) => c.code === code);
  const addPath: Negotiated['addPath'] = {
    ipv4: { send: false, receive: false },
    ipv6: { send: false, receive: false },
  };
  for (const c of open.capabilities) {
    if (c.code !== CapCode.ADD_PATH || !('families' in c)) continue;
    for (const af of (c as { families: { afi: number; safi: number; sendReceive: number }[] }).families) {
      const f = familyOf(af.afi, af.safi);
      if (!f || !families.includes(f)) continue;
      // RFC 7911 §4: we receive ids if we said Receive and they said Send, and vice versa.
      addPath[f].receive = cfg.addPath.receive && (af.sendReceive & 2) !== 0;
      addPath[f].send = cfg.addPath.send && (af.sendReceive & 1) !== 0;
    }
  }
  let gracefulRestart: PeerGracefulRestart | undefined;
  let llgr: Negotiated['llgr'];
  let peerHostname: Negotiated['peerHostname'];
  for (const c of open.capabilities) {
    if (c.code === CapCode.GRACEFUL_RESTART && 'restartTime' in c && cfg.gracefulRestart) {
      gracefulRestart = {
        restarting: c.restarting,
        notification: c.notification,
        restartTime: c.restartTime,
        families: c.families
          .map((g) => ({ family: familyOf(g.afi, g.safi), forwardingPreserved: g.forwardingPreserved }))
          .filter((g): g is { family: Family; forwardingPreserved: boolean } => !!g.family && families.includes(g.family)),
      };
    } else if (c.code === CapCode.LLGR && 'families' in c && !('unknown' in c)) {
      llgr = (c.families as { afi: number; safi: number; staleTime: number; forwardingPreserved: boolean }[])
        .map((g) => ({ family: familyOf(g.afi, g.safi), staleTime: g.staleTime, forwardingPreserved: g.forwardingPreserved }))
        .filter((g): g is { family: Family; staleTime: number; forwardingPreserved: boolean } => !!g.family && families.includes(g.family));
    } else if (c.code === CapCode.FQDN && 'hostname' in c) {
      peerHostname = { hostname: c.hostname, domain: c.domain };
    }
  }
  const as4 = as4Cap !== undefined; // we always send AS4
  const extendedMessage = cfg.extendedMessage && has(CapCode.EXTENDED_MESSAGE);
  return {
    peerAs,
    peerBgpId: open.bgpId,
    localBgpId: cfg.routerId,
    holdTime,
    keepaliveTime,
    families,
    as4,
    addPath,
    routeRefresh: has(CapCode.ROUTE_REFRESH),
    enhancedRouteRefresh: has(CapCode.ENHANCED_ROUTE_REFRESH),
    extendedMessage,
    gracefulRestart,
    llgr,
    peerHostname,
    peerCapabilities: open.capabilities,
    localCapabilities: buildOpen(cfg).capabilities,
    context: {
      as4,
      addPathRx: { ipv4: addPath.ipv4.receive, ipv6: addPath.ipv6.receive },
      addPathTx: { ipv4: addPath.ipv4.send, ipv6: addPath.ipv6.send },
      extendedMessage,
      ebgp: peerAs !== cfg.localAs,
    },
  };
}
