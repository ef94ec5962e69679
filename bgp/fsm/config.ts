// The plain peer configuration a Session takes, and its defaults.
// peers/ (the Calico model) produces these objects; bgp/ never reads the Calico model itself.

import type { Family } from '../codec/types.js';

/** One BGP neighbour, as the session layer needs it. Times are in seconds unless named *Ms. */
export interface SessionConfig {
  /** Neighbour address (IPv4 or IPv6 text); also the key of the session in a Speaker. */
  peerAddress: string;
  /** TCP port of the neighbour; 179 (RFC 4271 §8.2.1) by default. */
  peerPort?: number;
  peerAs: number;
  localAs: number;
  /** Source address for the outbound connection (and the only local address accepted inbound). */
  localAddress?: string;
  /** Our BGP Identifier, dotted quad (RFC 6286). */
  routerId: string;
  /** Hold Time we offer in OPEN (RFC 4271 §4.2): 0 or >= 3; default 90. */
  holdTime?: number;
  /** Keepalive interval; default holdTime/3 of the negotiated hold time (RFC 4271 §10). */
  keepaliveTime?: number;
  /** ConnectRetryTime (RFC 4271 §10), default 120; jittered 0.75-1.0. */
  connectRetryTime?: number;
  /** PassiveTcpEstablishment (RFC 4271 §8.1.1): never connect, only accept. */
  passive?: boolean;
  /** RFC 2385 TCP MD5 signature key (at most 80 bytes). */
  password?: string;
  /** RFC 5082 GTSM: the peer is at most this many hops away (1 = directly connected). */
  ttlSecurity?: number;
  /** eBGP multihop TTL for outgoing packets when GTSM is off (default: kernel default). */
  ttl?: number;
  families: Family[];
  /** RFC 7911: advertise Send and/or Receive for every family. */
  addPath?: { send?: boolean; receive?: boolean };
  /** RFC 4724: advertise the Graceful Restart capability. Restart time in seconds (12 bits). */
  gracefulRestart?: { restartTime: number; forwardingPreserved?: boolean; restarting?: boolean };
  /** Advertise the FQDN capability with this host name (draft-walton-bgp-hostname-capability). */
  hostname?: string;
  domain?: string;
  description?: string;
  /** RFC 4271 §8.1.1 DelayOpen / DelayOpenTime (seconds); off when 0 or absent. */
  delayOpenTime?: number;
  /** Advertise the RFC 8654 Extended Message capability (default true). */
  extendedMessage?: boolean;
  // ---- knobs mostly for tests and tuning; defaults below ----
  /** First IdleHoldTime after a flap, ms (RFC 4271 §8.1.1 DampPeerOscillations). */
  idleHoldTimeMs?: number;
  /** Cap of the doubled IdleHoldTime, ms. */
  maxIdleHoldTimeMs?: number;
  /** A session that stayed Established this long (ms) resets the IdleHoldTime. */
  stableTimeMs?: number;
  /** OpenSent hold time, ms (RFC 4271 §8.2.2 suggests 4 minutes). */
  openHoldTimeMs?: number;
  /** RFC 9687 SendHoldTime override, ms; default max(8 min, 2 x negotiated hold). */
  sendHoldTimeMs?: number;
  /** Outbound queue bound in bytes: above it sendUpdates() returns false. */
  maxOutQueueBytes?: number;
  /** Disable the RFC 4271 §10 jitter (tests that need exact replay). */
  noJitter?: boolean;
}

export const DEFAULT_BGP_PORT = 179;

/** The config with every default filled in; what the FSM and the driver read. */
export type ResolvedConfig = Required<
  Omit<
    SessionConfig,
    'localAddress' | 'password' | 'ttlSecurity' | 'ttl' | 'addPath' | 'gracefulRestart' | 'hostname' | 'domain' | 'description' | 'keepaliveTime'
  >
> &
  Pick<SessionConfig, 'localAddress' | 'password' | 'ttlSecurity' | 'ttl' | 'gracefulRestart' | 'hostname' | 'domain' | 'description' | 'keepaliveTime'> & {
    addPath: { send: boolean; receive: boolean };
  };

export const DEFAULTS = {
  holdTime: 90, // RFC 4271 §10 suggested HoldTime
  connectRetryTime: 120, // RFC 4271 §10 suggested ConnectRetryTime
  idleHoldTimeMs: 5_000,
  maxIdleHoldTimeMs: 300_000,
  stableTimeMs: 60_000,
  openHoldTimeMs: 240_000, // RFC 4271 §8.2.2: "a large value ... 4 minutes"
  sendHoldMinMs: 480_000, // RFC 9687 §3: max(8 minutes, 2 x HoldTime)
  maxOutQueueBytes: 32 * 1024 * 1024,
};

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Fills the defaults and rejects values the RFCs forbid; throws Error with an operator message. */
export function resolveConfig(c: SessionConfig): ResolvedConfig {
  const holdTime = c.holdTime ?? DEFAULTS.holdTime;
  // RFC 4271 §4.2: "The Hold Time MUST be either zero or at least three seconds."
  if (!Number.isInteger(holdTime) || holdTime < 0 || holdTime > 65535 || holdTime === 1 || holdTime === 2) {
    throw new Error(`peer ${c.peerAddress}: holdTime ${holdTime} must be 0 or 3..65535`);
  }
  if (!DOTTED_QUAD.test(c.routerId) || c.routerId === '0.0.0.0') {
    throw new Error(`peer ${c.peerAddress}: routerId ${c.routerId} is not a non-zero dotted quad (RFC 6286)`);
  }
  for (const asn of [c.peerAs, c.localAs]) {
    if (!Number.isInteger(asn) || asn < 1 || asn > 0xffffffff) throw new Error(`peer ${c.peerAddress}: bad AS ${asn}`);
  }
  if (c.password !== undefined && Buffer.byteLength(c.password) > 80) {
    throw new Error(`peer ${c.peerAddress}: TCP MD5 key longer than 80 bytes (TCP_MD5SIG_MAXKEYLEN)`);
  }
  if (c.ttlSecurity !== undefined && (c.ttlSecurity < 1 || c.ttlSecurity > 254)) {
    throw new Error(`peer ${c.peerAddress}: ttlSecurity ${c.ttlSecurity} hops must be 1..254`);
  }
  return {
    ...c,
    peerPort: c.peerPort ?? DEFAULT_BGP_PORT,
    holdTime,
    connectRetryTime: c.connectRetryTime ?? DEFAULTS.connectRetryTime,
    passive: c.passive ?? false,
    families: c.families,
    addPath: { send: c.addPath?.send ?? false, receive: c.addPath?.receive ?? false },
    delayOpenTime: c.delayOpenTime ?? 0,
    extendedMessage: c.extendedMessage ?? true,
    idleHoldTimeMs: c.idleHoldTimeMs ?? DEFAULTS.idleHoldTimeMs,
    maxIdleHoldTimeMs: c.maxIdleHoldTimeMs ?? DEFAULTS.maxIdleHoldTimeMs,
    stableTimeMs: c.stableTimeMs ?? DEFAULTS.stableTimeMs,
    openHoldTimeMs: c.openHoldTimeMs ?? DEFAULTS.openHoldTimeMs,
    sendHoldTimeMs: c.sendHoldTimeMs ?? 0,
    maxOutQueueBytes: c.maxOutQueueBytes ?? DEFAULTS.maxOutQueueBytes,
    noJitter: c.noJitter ?? false,
  };
}

/** Dotted quad to a 32-bit unsigned number (for RFC 4271 §6.8 comparisons). */
export function idToNumber(id: string): number {
  const m = DOTTED_QUAD.exec(id);
  if (!m) return 0;
  return ((+m[1] << 24) | (+m[2] << 16) | (+m[3] << 8) | +m[4]) >>> 0;
}
