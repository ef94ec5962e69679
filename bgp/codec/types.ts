// The message model shared by the codec, the FSM, the sessions and the RIB.
// This file is the contract between them: plain data, no behaviour, no I/O.
// Field names follow the RFCs' words so that a reader can hold the RFC beside the code.

/** RFC 4760 §3 / IANA Address Family Numbers. Tern speaks unicast for these two. */
export const AFI_IPV4 = 1;
export const AFI_IPV6 = 2;
export type Afi = typeof AFI_IPV4 | typeof AFI_IPV6;
/** RFC 4760: Subsequent Address Family Identifier. */
export const SAFI_UNICAST = 1;

/** The two families Tern carries; the name is also used in JSON output and config. */
export type Family = 'ipv4' | 'ipv6';
export const familyOfAfi = (afi: Afi): Family => (afi === AFI_IPV4 ? 'ipv4' : 'ipv6');
export const afiOfFamily = (f: Family): Afi => (f === 'ipv4' ? AFI_IPV4 : AFI_IPV6);

/** RFC 4271 §4.1 message types, RFC 2918 ROUTE-REFRESH. */
export const enum MsgType {
  OPEN = 1,
  UPDATE = 2,
  NOTIFICATION = 3,
  KEEPALIVE = 4,
  ROUTE_REFRESH = 5,
}

/** RFC 4271 §4.1: header length; maximum message size before RFC 8654 is negotiated. */
export const HEADER_LEN = 19;
export const MAX_MESSAGE_LEN = 4096;
/** RFC 8654 §3: maximum once the Extended Message capability was exchanged both ways. */
export const MAX_EXTENDED_MESSAGE_LEN = 65535;
/** RFC 6793 §9: the 2-octet placeholder AS for a 4-octet AS number. */
export const AS_TRANS = 23456;

/**
 * One IP prefix, optionally with an RFC 7911 path identifier.
 * `addr` holds exactly the address bytes of the family (4 or 16), host bits zero.
 */
export interface Prefix {
  afi: Afi;
  len: number;
  addr: Buffer;
  pathId?: number;
}

/**
 * Prefixes as decoded from an UPDATE, kept compact: the decoder validates the NLRI syntax and
 * records where each prefix sits in the message buffer, allocating nothing per prefix, so a
 * packed UPDATE of 1000 /24s decodes in microseconds. `get(i)` (and iteration) builds a Prefix
 * object when one is wanted; the RIB reads the bytes in place through len/offset/pathId.
 */
export interface PrefixList extends Iterable<Prefix> {
  readonly afi: Afi;
  readonly length: number;
  /** The buffer the prefix bytes live in. */
  readonly buf: Buffer;
  /** Prefix length in bits of entry i. */
  len(i: number): number;
  /** Offset in `buf` of the first prefix byte of entry i; ceil(len/8) bytes follow. */
  offset(i: number): number;
  /** RFC 7911 path identifier of entry i, 0 when add-path is not in use. */
  pathId(i: number): number;
  get(i: number): Prefix;
}

/**
 * What both ends agreed in OPEN; the codec needs it to read and write UPDATEs.
 * RFC 6793 (4-octet AS), RFC 7911 (add-path, per family and direction), RFC 8654 (extended message).
 */
export interface SessionContext {
  as4: boolean;
  /** Path identifiers present in NLRI we *receive*, per family. */
  addPathRx: { ipv4: boolean; ipv6: boolean };
  /** Path identifiers present in NLRI we *send*, per family. */
  addPathTx: { ipv4: boolean; ipv6: boolean };
  extendedMessage: boolean;
  /**
   * The peer is in another AS (eBGP). Decoding then discards ORIGINATOR_ID and CLUSTER_LIST,
   * which belong inside one AS (RFC 7606 §7.9, §7.10). Absent: iBGP rules.
   */
  ebgp?: boolean;
}

export const DEFAULT_CONTEXT: SessionContext = {
  as4: true,
  addPathRx: { ipv4: false, ipv6: false },
  addPathTx: { ipv4: false, ipv6: false },
  extendedMessage: false,
};

// ---------------------------------------------------------------------------
// OPEN (RFC 4271 §4.2) and capabilities (RFC 5492)

export const enum CapCode {
  MULTIPROTOCOL = 1, // RFC 4760
  ROUTE_REFRESH = 2, // RFC 2918
  EXTENDED_NEXTHOP = 5, // RFC 8950 (recognised, not negotiated by Tern)
  EXTENDED_MESSAGE = 6, // RFC 8654
  ROLE = 9, // RFC 9234 (recognised)
  GRACEFUL_RESTART = 64, // RFC 4724
  AS4 = 65, // RFC 6793
  ADD_PATH = 69, // RFC 7911
  ENHANCED_ROUTE_REFRESH = 70, // RFC 7313
  LLGR = 71, // RFC 9494
  FQDN = 73, // draft-walton-bgp-hostname-capability
}

export interface GracefulRestartFamily {
  afi: Afi | number;
  safi: number;
  /** F bit: forwarding state for this family was preserved across the restart. */
  forwardingPreserved: boolean;
}

export interface AddPathFamily {
  afi: Afi | number;
  safi: number;
  /** RFC 7911 §4 Send/Receive field: 1 receive, 2 send, 3 both. */
  sendReceive: 1 | 2 | 3;
}

export interface LlgrFamily {
  afi: Afi | number;
  safi: number;
  forwardingPreserved: boolean;
  /** Long-lived stale time in seconds (24 bits). */
  staleTime: number;
}

/** A capability as carried in OPEN; unknown ones are kept as raw bytes (RFC 5492 §5). */
export type Capability =
  | { code: CapCode.MULTIPROTOCOL; afi: number; safi: number }
  | { code: CapCode.ROUTE_REFRESH }
  | { code: CapCode.ENHANCED_ROUTE_REFRESH }
  | { code: CapCode.EXTENDED_MESSAGE }
  | { code: CapCode.AS4; asn: number }
  | {
      code: CapCode.GRACEFUL_RESTART;
      /** R bit (RFC 4724 §3): the sender has restarted. */
      restarting: boolean;
      /** N bit (RFC 8538 §2): NOTIFICATIONs are covered by graceful restart. */
      notification: boolean;
      /** Restart Time in seconds, 12 bits. */
      restartTime: number;
      families: GracefulRestartFamily[];
    }
  | { code: CapCode.ADD_PATH; families: AddPathFamily[] }
  | { code: CapCode.LLGR; families: LlgrFamily[] }
  | { code: CapCode.FQDN; hostname: string; domain: string }
  | { code: CapCode.ROLE; role: number }
  | { code: number; raw: Buffer; unknown: true };

export interface OpenMessage {
  type: MsgType.OPEN;
  version: number;
  /** "My Autonomous System" field: the 2-octet AS or AS_TRANS. */
  myAs: number;
  holdTime: number;
  /** BGP Identifier as a dotted quad string. */
  bgpId: string;
  capabilities: Capability[];
  /** Optional parameters other than capabilities (type != 2), kept raw. */
  otherParams: { type: number; value: Buffer }[];
}

// ---------------------------------------------------------------------------
// UPDATE (RFC 4271 §4.3) and path attributes

export const enum AttrType {
  ORIGIN = 1,
  AS_PATH = 2,
  NEXT_HOP = 3,
  MULTI_EXIT_DISC = 4,
  LOCAL_PREF = 5,
  ATOMIC_AGGREGATE = 6,
  AGGREGATOR = 7,
  COMMUNITIES = 8, // RFC 1997
  ORIGINATOR_ID = 9, // RFC 4456
  CLUSTER_LIST = 10, // RFC 4456
  MP_REACH_NLRI = 14, // RFC 4760
  MP_UNREACH_NLRI = 15, // RFC 4760
  EXTENDED_COMMUNITIES = 16, // RFC 4360
  AS4_PATH = 17, // RFC 6793
  AS4_AGGREGATOR = 18, // RFC 6793
  LARGE_COMMUNITY = 32, // RFC 8092
  OTC = 35, // RFC 9234
}

/** Attribute flag bits, RFC 4271 §4.3. */
export const ATTR_FLAG_OPTIONAL = 0x80;
export const ATTR_FLAG_TRANSITIVE = 0x40;
export const ATTR_FLAG_PARTIAL = 0x20;
export const ATTR_FLAG_EXTENDED_LENGTH = 0x10;

export const enum Origin {
  IGP = 0,
  EGP = 1,
  INCOMPLETE = 2,
}

export const enum AsPathSegmentType {
  AS_SET = 1,
  AS_SEQUENCE = 2,
  AS_CONFED_SEQUENCE = 3, // RFC 5065
  AS_CONFED_SET = 4, // RFC 5065
}

export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}

export interface Aggregator {
  asn: number;
  /** Dotted quad. */
  address: string;
}

export interface LargeCommunity {
  globalAdmin: number;
  local1: number;
  local2: number;
}

/** An attribute the codec does not interpret, kept byte for byte (RFC 4271 §5, §9). */
export interface UnknownAttribute {
  flags: number;
  type: number;
  value: Buffer;
}

/**
 * Decoded path attributes, one field per known attribute. A field is absent when the
 * attribute was absent. AS_PATH is always in 4-octet form after decoding: on a 2-octet session
 * the decoder reads 2-octet ASNs and, per RFC 6793 §4.2.3, merges AS4_PATH into it.
 */
export interface PathAttributes {
  origin?: Origin;
  asPath?: AsPathSegment[];
  /** IPv4 NEXT_HOP attribute (type 3), dotted quad. */
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: Aggregator;
  /** RFC 1997 communities as 32-bit numbers. */
  communities?: number[];
  originatorId?: string;
  clusterList?: string[];
  /** RFC 4360: each entry is 8 bytes. */
  extendedCommunities?: Buffer[];
  largeCommunities?: LargeCommunity[];
  /** RFC 9234 Only-to-Customer. */
  otc?: number;
  /** Raw AS4_PATH / AS4_AGGREGATOR as received (kept for display; already merged). */
  as4Path?: AsPathSegment[];
  as4Aggregator?: Aggregator;
  unknown?: UnknownAttribute[];
}

/** MP_REACH_NLRI next hop (RFC 4760 §3, RFC 2545 §3 for IPv6 global + link-local). */
export interface MpNextHop {
  /** Global address as text. */
  global: string;
  /** IPv6 link-local address when the next hop length was 32. */
  linkLocal?: string;
}

/** Reachability for one family carried in MP_REACH_NLRI. */
export interface MpReach {
  afi: number;
  safi: number;
  nextHop: MpNextHop;
  nlri: PrefixList;
}

export interface MpUnreach {
  afi: number;
  safi: number;
  withdrawn: PrefixList;
}

export interface UpdateMessage {
  type: MsgType.UPDATE;
  /** IPv4 withdrawn routes from the classic field. */
  withdrawn: PrefixList;
  attrs: PathAttributes;
  /** IPv4 NLRI from the classic field. */
  nlri: PrefixList;
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /**
   * RFC 7606: NLRI that must be treated as withdrawn because an attribute was malformed,
   * and attributes that were discarded. Present only when the decoder applied a 7606 action.
   */
  treatAsWithdraw?: boolean;
  errors?: AttributeError[];
}

/** RFC 7606 §2 actions, strongest last. */
export type ErrorAction = 'attribute-discard' | 'treat-as-withdraw' | 'session-reset';

export interface AttributeError {
  attrType: number;
  action: ErrorAction;
  /** A sentence a network engineer understands. */
  reason: string;
}

// ---------------------------------------------------------------------------
// NOTIFICATION (RFC 4271 §4.5), KEEPALIVE, ROUTE-REFRESH

export interface NotificationMessage {
  type: MsgType.NOTIFICATION;
  code: number;
  subcode: number;
  data: Buffer;
  /** RFC 9003 shutdown communication, decoded when code 6 subcode 2 or 4 carries one. */
  shutdownMessage?: string;
  /**
   * RFC 8538 §3: a Hard Reset (6/9) encapsulates the NOTIFICATION it hardens: its data is that
   * message's error code, subcode and data (so an Administrative Shutdown text survives).
   */
  hardResetOf?: { code: number; subcode: number };
}

export interface KeepaliveMessage {
  type: MsgType.KEEPALIVE;
}

/** RFC 7313 §3.2 subtypes in the reserved octet of ROUTE-REFRESH. */
export const enum RouteRefreshSubtype {
  NORMAL = 0,
  BORR = 1,
  EORR = 2,
}

export interface RouteRefreshMessage {
  type: MsgType.ROUTE_REFRESH;
  afi: number;
  safi: number;
  subtype: RouteRefreshSubtype | number;
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

// ---------------------------------------------------------------------------
// Errors (RFC 4271 §6): a decode error *is* the NOTIFICATION it causes.

export const enum ErrCode {
  MESSAGE_HEADER = 1,
  OPEN_MESSAGE = 2,
  UPDATE_MESSAGE = 3,
  HOLD_TIMER_EXPIRED = 4,
  FSM = 5,
  CEASE = 6,
  ROUTE_REFRESH = 7, // RFC 7313
  SEND_HOLD_TIMER_EXPIRED = 8, // RFC 9687
}

/**
 * Thrown by every decoder for malformed input, and only this. `code/subcode/data` are the
 * NOTIFICATION to send; `message` says what was wrong in a network engineer's words.
 */
export class BgpError extends Error {
  constructor(
    readonly code: number,
    readonly subcode: number,
    message: string,
    readonly data: Buffer = Buffer.alloc(0),
  ) {
    super(message);
    this.name = 'BgpError';
  }
}
