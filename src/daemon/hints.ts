// Why a session does not come up, or comes up and carries nothing, in the words an operator
// needs (issue 17: a TCP MD5 mismatch left a session in Connect with no log line and "last
// reset: never"; an FRR peer without an export policy showed PfxRcvd 0 with no hint). Pure text
// functions; the daemon decides when to log them (rate-limited) and `show neighbor` shows them.

/** A failed outbound connection attempt, as the session reports it. */
export interface ConnectFailure {
  error: string;
  timedOut: boolean;
  /** Failures in a row with the same error. */
  count: number;
}

/** Log a connect problem of one peer at most this often (the first one at once). */
export const CONNECT_HINT_INTERVAL_MS = 5 * 60_000;
/** Connect-problem lines over all peers per interval; the rest are counted in one line. */
export const CONNECT_HINTS_PER_INTERVAL = 10;

/** What a failed connection attempt most likely means, with the next thing to check. */
export function connectHint(peer: string, f: ConnectFailure, md5: boolean): string {
  const times = f.count > 1 ? ` (${f.count} attempts in a row)` : '';
  if (f.timedOut) {
    return md5
      ? `no answer from ${peer}${times}; with TCP MD5 configured this is what a password mismatch looks like (RFC 2385: a segment with a wrong or missing signature is dropped silently): check the password on both sides`
      : `no answer from ${peer}${times}: check that it is reachable and configured to peer with this node`;
  }
  if (/ECONNREFUSED/.test(f.error)) return `${peer} refused the connection${times}: nothing listens for BGP there, or it does not accept this node yet`;
  return `cannot connect to ${peer}${times}: ${f.error}`;
}

/**
 * An eBGP peer ended its initial table (End-of-RIB, RFC 4724 §2) without a single prefix. RFC
 * 8212 makes eBGP speakers send nothing without an explicit export policy, and FRR enforces it by
 * default (`bgp ebgp-requires-policy`), which is the usual reason.
 */
export function emptyEorHint(peer: string, family: string): string {
  return `${peer} (eBGP) sent End-of-RIB for ${family} with no prefixes: if it should send routes, it may have no export policy towards us (RFC 8212; FRR: add an outbound route-map, or "no bgp ebgp-requires-policy")`;
}
