// Well-known BGP communities (IANA "BGP Well-known Communities" registry): the one place their
// values are written, so a rule that tests for one (export.ts, fast-export.ts, decision's
// LLGR_STALE step, stale.ts) and the names operators type (`bgpctl show rib --community
// no-export`) cannot disagree. A community is the 32-bit value of RFC 1997 §3 (AS << 16 | value).

/** RFC 8326 §5: GRACEFUL_SHUTDOWN (65535:0). */
export const GRACEFUL_SHUTDOWN = 0xffff0000;
/** RFC 9494 §4.3: LLGR_STALE (65535:6), attached to a long-lived stale route. */
export const LLGR_STALE = 0xffff0006;
/** RFC 9494 §4.3: NO_LLGR (65535:7): remove the route instead of keeping it long-lived stale. */
export const NO_LLGR = 0xffff0007;
/** RFC 7999 §5: BLACKHOLE (65535:666). */
export const BLACKHOLE = 0xffff029a;
/** RFC 1997 §2: NO_EXPORT (65535:65281): not outside the AS (confederation). */
export const NO_EXPORT = 0xffffff01;
/** RFC 1997 §2: NO_ADVERTISE (65535:65282): to no peer at all. */
export const NO_ADVERTISE = 0xffffff02;
/** RFC 1997 §2: NO_EXPORT_SUBCONFED (65535:65283): not to any external peer. */
export const NO_EXPORT_SUBCONFED = 0xffffff03;
/** RFC 3765 §2: NOPEER (65535:65284). */
export const NO_PEER = 0xffffff04;

/** The well-known communities by the names operators type (lower case). */
export const WELL_KNOWN_COMMUNITIES: Readonly<Record<string, number>> = Object.freeze({
  'graceful-shutdown': GRACEFUL_SHUTDOWN,
  'llgr-stale': LLGR_STALE,
  'no-llgr': NO_LLGR,
  blackhole: BLACKHOLE,
  'no-export': NO_EXPORT,
  'no-advertise': NO_ADVERTISE,
  'no-export-subconfed': NO_EXPORT_SUBCONFED,
  'no-peer': NO_PEER,
});
