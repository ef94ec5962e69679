// What peers send that Tern had to correct, per peer: RFC 7606 actions on their UPDATEs (by
// attribute and action), routes the RIB left out (RibNotice: too large for the peer, unusable
// next hop) and other per-peer warnings. One owner for the counts shown by `bgpctl show
// neighbor` and /metrics, and for the rate-limited log lines (issue 15: a peer sending 20,000
// malformed UPDATEs wrote 20,000 warning lines).

import { attributeName } from '../../bgp/codec/index.js';
import type { Logger } from '../../bgp/io/log.js';
import type { AttributeError } from '../../bgp/codec/types.js';
import type { RibNotice } from '../../bgp/rib/rib-types.js';
import type { Metrics } from '../control/metrics.js';
import { LogLimiter, type LogLimitOptions } from '../../bgp/io/log-limit.js';

/** One row of `show neighbor`'s updateErrors (RFC 7606 §2 actions taken, since ternd started). */
export interface UpdateErrorCount {
  attrType: number;
  attribute: string;
  action: AttributeError['action'];
  count: number;
}

export class PeerProblems {
  private readonly limiter: LogLimiter;
  private readonly counts = new Map<string, Map<string, UpdateErrorCount>>();

  constructor(
    private readonly log: Logger,
    private readonly metrics?: Metrics,
    opts?: LogLimitOptions,
  ) {
    this.limiter = new LogLimiter(log, opts);
  }

  /** RFC 7606 actions the codec took on one UPDATE from `peer`: counted, logged rate limited. */
  updateErrors(peer: string, errors: readonly AttributeError[]): void {
    let m = this.counts.get(peer);
    if (!m) this.counts.set(peer, (m = new Map()));
    for (const err of errors) {
      const k = `${err.attrType}|${err.action}`;
      let c = m.get(k);
      if (!c) m.set(k, (c = { attrType: err.attrType, attribute: attributeName(err.attrType), action: err.action, count: 0 }));
      c.count++;
      this.metrics?.updateErrors.inc({ peer, attribute: c.attribute, action: err.action });
      this.limiter.warn(`${peer}|7606|${k}`, { component: 'session', peer, attr: err.attrType, action: err.action }, `RFC 7606 ${err.action}: ${err.reason}`);
    }
  }

  /**
   * RFC 7606's strongest action: an UPDATE error that reset the session (we sent NOTIFICATION
   * 3/x). The attribute comes from the NOTIFICATION data where RFC 4271 §6.3 puts it: the type
   * code itself for 3/3 Missing Well-known Attribute, the whole attribute (flags, type, ...) for
   * the attribute subcodes 2, 4, 5, 6, 8, 9; other subcodes concern the message (type -1).
   * Counted only: the session-down line already logs it, once per session.
   */
  sessionReset(peer: string, subcode: number, data: Buffer | undefined): void {
    const attrType = subcode === 3 ? (data?.[0] ?? -1) : [2, 4, 5, 6, 8, 9].includes(subcode) && data && data.length >= 2 ? data[1] : -1;
    let m = this.counts.get(peer);
    if (!m) this.counts.set(peer, (m = new Map()));
    const k = `${attrType}|session-reset`;
    let c = m.get(k);
    if (!c) m.set(k, (c = { attrType, attribute: attrType < 0 ? 'UPDATE message' : attributeName(attrType), action: 'session-reset', count: 0 }));
    c.count++;
    this.metrics?.updateErrors.inc({ peer, attribute: c.attribute, action: 'session-reset' });
  }

  /** Routes the RIB left out (RFC 8654 §4 too large, RFC 4271 §6.3 next hop): logged rate limited. */
  ribNotices(notices: readonly RibNotice[]): void {
    for (const n of notices) {
      this.metrics?.routesLeftOut.inc({ peer: n.peer, reason: n.reason });
      this.limiter.warn(
        `${n.peer}|${n.reason}`,
        { component: 'rib', peer: n.peer, reason: n.reason, family: n.family, prefix: n.prefix },
        `${n.prefix} from/to ${n.peer}: ${n.detail}`,
      );
    }
  }

  /** Any other per-peer warning a peer can repeat at will (e.g. ROUTE-REFRESH oddities). */
  warn(peer: string, reason: string, fields: Record<string, unknown>, msg: string): void {
    this.limiter.warn(`${peer}|${reason}`, { ...fields, peer }, msg);
  }

  /** The RFC 7606 counts for `show neighbor`, by attribute type then action. */
  view(peer: string): UpdateErrorCount[] {
    return [...(this.counts.get(peer)?.values() ?? [])].map((c) => ({ ...c })).sort((a, b) => a.attrType - b.attrType || a.action.localeCompare(b.action));
  }

  forget(peer: string): void {
    this.counts.delete(peer);
  }

  close(): void {
    this.limiter.close();
  }
}
