// What the daemon keeps per planned peer: the session, what the plan asked for, and the state of
// the rules the session layer does not own (End-of-RIB, graceful restart as helper, max-prefix,
// connect hints). One record per peer, owned by the daemon's peer map (daemon.ts); the jobs in
// sessions.ts, plan.ts and convergence.ts change it, the control API only reads it (view.ts).
import type { Session } from '../../bgp/io/session.js';
import type { Negotiated } from '../../bgp/fsm/negotiate.js';
import type { Family } from '../../bgp/codec/types.js';
import type { PeerConfig } from '../../peers/index.js';
import type { GracefulRestartState } from './graceful-restart.js';
import type { MaxPrefixTrip } from './max-prefix.js';

export interface PeerEntry {
  cfg: PeerConfig;
  session: Session;
  /** RIB peer id (the canonical peer address, the Speaker's key). */
  id: string;
  /** Families whose End-of-RIB arrived since Established (RFC 4724 §2). */
  eor: Set<Family>;
  adminDown: boolean;
  /** When the session was planned or last left Established (ms): readiness grace counts from it. */
  downSince: number;
  /** What the last OPEN exchange agreed (kept after the session drops, for graceful restart). */
  negotiated?: Negotiated;
  /** RFC 4724 §4.2 receiving-speaker state while the peer restarts. */
  gr?: GracefulRestartState;
  /** What its RIB policies were built from (policyInputs); a change swaps them (softReconfigure). */
  policyInputs?: string;
  /** Set while the config removes or restarts the session (its down is logged by the plan). */
  closing?: boolean;
  /** When a connect problem of this peer was last logged (rate limit, hints.ts). */
  connectHintAt?: number;
  /** Families this eBGP peer ended with End-of-RIB and no prefix (hints.ts emptyEorHint). */
  emptyEor?: Set<Family>;
  /** Max-prefix state (max-prefix.ts): families warned about, and why the session is held down. */
  maxPrefixWarned?: Set<Family>;
  maxPrefixTrip?: MaxPrefixTrip;
}
