// What the BGP side, the daemon and the operator see of BFD, and the messages between the main
// thread (manager.ts) and the BFD worker thread (worker.ts). Plain data, structured-clone safe.

import type { StateName } from './packet.js';

/** RFC 5881 §4 single-hop and RFC 5883 §5 multihop destination ports. */
export const BFD_SINGLE_HOP_PORT = 3784;
export const BFD_MULTIHOP_PORT = 4784;

/** One BFD session to run, keyed by peer address (one BGP session per address in Tern). */
export interface BfdPeerConfig {
  peerAddress: string;
  /** Source address; also picks the family. Default: any. */
  localAddress?: string;
  /** RFC 5883 multihop (port 4784, no TTL check) instead of RFC 5881 single-hop. */
  multihop: boolean;
  minTxMs: number;
  minRxMs: number;
  multiplier: number;
  /** RFC 5880 §6.7.4 authentication; the key is the shared secret (at most 20 bytes are used). */
  auth?: { type: 'KeyedSHA1' | 'MeticulousKeyedSHA1'; keyId: number; key: string };
  /** Destination and receive port overrides, for tests that run two endpoints on one host. */
  port?: number;
  listenPort?: number;
}

/** A session's state change, stamped by the worker when it happened (epoch ms). */
export interface BfdStateEvent {
  peerAddress: string;
  from: StateName;
  to: StateName;
  diag: number;
  /** RFC 5882 §3.2: the peer said AdminDown; not a path failure. */
  remoteAdminDown: boolean;
  at: number;
  /** Epoch ms of the last valid packet received before this change. */
  lastRxAt?: number;
}

/** `bgpctl show bfd -j` rows: field names are a public interface. */
export interface BfdSessionView {
  peerAddress: string;
  localAddress?: string;
  multihop: boolean;
  /** RFC 5880 §6.7 authentication in use: 'none', 'KeyedSHA1' or 'MeticulousKeyedSHA1'. */
  authentication: string;
  state: StateName;
  remoteState: StateName;
  localDiag: string;
  localDiscriminator: number;
  remoteDiscriminator: number;
  sourcePort: number;
  configured: { minTxMs: number; minRxMs: number; multiplier: number };
  /** RFC 5880 §6.8.7 negotiated transmit interval and §6.8.4 detection time, in force now. */
  txIntervalMs: number;
  detectionTimeMs: number;
  remoteMultiplier: number;
  remoteMinRxMs: number;
  remoteMinTxMs: number;
  pollActive: boolean;
  upSince?: string;
  lastDown?: { at: string; diag: string };
  packets: { rx: number; tx: number; discarded: number; ttlDropped: number };
  upTransitions: number;
  /** How late the worker fired the transmit timer: the worst seen, and counts above 5/20/50 ms. */
  txLate: { maxMs: number; over5ms: number; over20ms: number; over50ms: number; samples: number };
}

export type ToWorker = { type: 'set'; sessions: BfdPeerConfig[] } | { type: 'query'; id: number } | { type: 'stop' };

export type FromWorker =
  | { type: 'state'; event: BfdStateEvent }
  | { type: 'snapshot'; id: number; sessions: BfdSessionView[] }
  | { type: 'error'; peerAddress?: string; message: string }
  | { type: 'stopped' };
