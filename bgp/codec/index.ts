// Public API of the BGP-4 wire codec. Everything else in bgp/codec/ is internal.
// See docs/codec.md.

export { Framer, checkHeader } from './header.js';
export { decodeMessage, encodeMessage } from './message.js';
export { encodeAttributes, decodeAttributes, ATTRIBUTE_TABLE } from './attributes.js';
export type { EncodeAttributesOptions, DecodedAttributes } from './attributes.js';
export { packUpdates } from './pack.js';
export type { PackInput } from './pack.js';
export { endOfRib, isEndOfRib, emptyUpdate } from './update.js';
export { PrefixListImpl, decodeNlri } from './prefixes.js';
export { notificationName, capabilityName, attributeName, messageTypeName } from './names.js';
export { asPathLength } from './attr-aspath.js';
export { decodeShutdownCommunication, encodeShutdownCommunication, MAX_SHUTDOWN_COMMUNICATION } from './notification.js';
export { formatMessage, messageToJson, attrsJson, formatAsPath, formatCommunity } from './format.js';
// Building blocks the Adj-RIB-Out encoders use directly (bgp/rib/): stable, public.
export { AttrWriter } from './attr-spec.js';
export { encodeNextHop, writeMpReach, writeMpUnreach } from './attr-mp.js';
export { writeHeader } from './header.js';
