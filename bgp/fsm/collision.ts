// RFC 4271 §6.8 connection collision resolution, pure.

import { idToNumber } from './config.js';

/** Who initiated a connection: we (outbound) or the peer (inbound). */
export type Direction = 'outbound' | 'inbound';

/**
 * Which connection survives a collision: "the connection initiated by the BGP speaker with the
 * larger-valued BGP Identifier" (RFC 4271 §6.8, Identifiers compared as 4-octet unsigned integers);
 * RFC 6286 §2.3: with equal Identifiers (possible on eBGP), the one initiated by the speaker
 * with the larger AS number.
 */
export function collisionWinner(localId: string, remoteId: string, localAs: number, remoteAs: number): Direction {
  const l = idToNumber(localId);
  const r = idToNumber(remoteId);
  if (l !== r) return l > r ? 'outbound' : 'inbound';
  return localAs > remoteAs ? 'outbound' : 'inbound';
}
