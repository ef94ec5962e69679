// The readiness rule as a pure function, so ternd's DaemonApi.health() can be one line and the
// rule is tested without a daemon: ready = config loaded, listening, and every planned session
// Established or still within its grace period (a node that just started, or a peer that just
// appeared, gets time to connect before the pod is marked unready).
import type { DatastoreView, HealthView, SessionState } from './api.js';

export interface PlannedSession {
  address: string;
  state: SessionState;
  /** When the session was planned or last left Established (ms since epoch, caller's clock). */
  since: number;
  /** The session is kept down by configuration (an unreadable password secret): not ready, no grace. */
  heldDown?: string;
}

export interface HealthInput {
  configLoaded: boolean;
  listening: boolean;
  datastore?: DatastoreView;
  /** Set when something fatal happened (e.g. the RIB worker died): not live. */
  fatal?: string;
  sessions: PlannedSession[];
  /**
   * Set while the kernel refuses Tern's route writes for lack of permission (EPERM): the node
   * would forward nothing Tern learned, so it is not ready (issue 17).
   */
  fibDenied?: string;
  /** How long a session may take to reach Established before readiness fails. */
  graceMs: number;
  now: number;
}

export function judgeHealth(h: HealthInput): HealthView {
  const reasons: string[] = [];
  const live = h.fatal === undefined;
  if (!live) reasons.push(`not live: ${h.fatal}`);
  if (!h.configLoaded) reasons.push('config not loaded');
  if (!h.listening) reasons.push('not listening for BGP connections');
  if (h.fibDenied) reasons.push(`kernel refuses route writes: ${h.fibDenied}`);
  let established = 0;
  let withinGrace = 0;
  for (const s of h.sessions) {
    if (s.heldDown) {
      reasons.push(`session ${s.address} held down: ${s.heldDown}`);
      continue;
    }
    if (s.state === 'Established') {
      established++;
      continue;
    }
    const waited = h.now - s.since;
    if (waited < h.graceMs) {
      withinGrace++;
      continue;
    }
    reasons.push(`session ${s.address} is ${s.state} for ${Math.round(waited / 1000)}s (grace ${Math.round(h.graceMs / 1000)}s)`);
  }
  return {
    live,
    ready: live && reasons.length === 0,
    reasons,
    configLoaded: h.configLoaded,
    listening: h.listening,
    sessions: { planned: h.sessions.length, established, withinGrace },
    ...(h.datastore ? { datastore: h.datastore } : {}),
  };
}
