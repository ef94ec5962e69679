// Public API of the BGP-4 wire codec. Everything else in bgp/codec/ is internal.
// See docs/codec.md.

export { Framer, checkHeader } from './header';
export { decodeMessage, encodeMessage } from './message';
export { encodeAttributes, decodeAttributes, ATTRIBUTE_TABLE } from './attributes';
export type { EncodeAttributesOptions, DecodedAttributes } from './attributes';
export { packUpdates } from './pack';
export type { PackInput } from './pack';
export { endOfRib, isEndOfRib, emptyUpdate } from './update';
export { PrefixListImpl, decodeNlri } from './prefixes';
export { notificationName, capabilityName, attributeName, messageTypeName } from './names';
export { asPathLength } from './attr-aspath';
export { decodeShutdownCommunication, encodeShutdownCommunication, MAX_SHUTDOWN_COMMUNICATION } from './notification';
export { formatMessage, messageToJson, attrsJson, formatAsPath, formatCommunity } from './format';
// Building blocks the Adj-RIB-Out encoders use directly (bgp/rib/): stable, public.
export { AttrWriter } from './attr-spec';
export { encodeNextHop, writeMpReach, writeMpUnreach } from './attr-mp';
export { writeHeader } from './header';
