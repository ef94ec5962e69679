// Names for numeric codes, in the registries' own words (IANA "BGP Error (Notification) Codes",
// "Capability Codes", "BGP Path Attributes"), for logs, bgpctl and error messages.

const ERROR_CODES: Record<number, [string, Record<number, string>]> = {
  // RFC 4271 §4.5, §6.1
  1: ['Message Header Error', { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' }],
  // RFC 4271 §6.2; 7 Unsupported Capability RFC 5492; 8 Role Mismatch RFC 9234
  2: [
    'OPEN Message Error',
    {
      1: 'Unsupported Version Number',
      2: 'Bad Peer AS',
      3: 'Bad BGP Identifier',
      4: 'Unsupported Optional Parameter',
      6: 'Unacceptable Hold Time',
      7: 'Unsupported Capability',
      11: 'Role Mismatch',
    },
  ],
  // RFC 4271 §6.3
  3: [
    'UPDATE Message Error',
    {
      1: 'Malformed Attribute List',
      2: 'Unrecognized Well-known Attribute',
      3: 'Missing Well-known Attribute',
      4: 'Attribute Flags Error',
      5: 'Attribute Length Error',
      6: 'Invalid ORIGIN Attribute',
      8: 'Invalid NEXT_HOP Attribute',
      9: 'Optional Attribute Error',
      10: 'Invalid Network Field',
      11: 'Malformed AS_PATH',
    },
  ],
  4: ['Hold Timer Expired', {}],
  // RFC 6608
  5: [
    'Finite State Machine Error',
    {
      1: 'Receive Unexpected Message in OpenSent State',
      2: 'Receive Unexpected Message in OpenConfirm State',
      3: 'Receive Unexpected Message in Established State',
    },
  ],
  // RFC 4486, RFC 8538 (Hard Reset)
  6: [
    'Cease',
    {
      1: 'Maximum Number of Prefixes Reached',
      2: 'Administrative Shutdown',
      3: 'Peer De-configured',
      4: 'Administrative Reset',
      5: 'Connection Rejected',
      6: 'Other Configuration Change',
      7: 'Connection Collision Resolution',
      8: 'Out of Resources',
      9: 'Hard Reset',
      10: 'BFD Down',
    },
  ],
  // RFC 7313 §5
  7: ['ROUTE-REFRESH Message Error', { 1: 'Invalid Message Length' }],
  // RFC 9687
  8: ['Send Hold Timer Expired', {}],
};

/** "Cease / Administrative Shutdown"; unknown codes by number. */
export function notificationName(code: number, subcode: number): string {
  const c = ERROR_CODES[code];
  if (!c) return `Unknown error code ${code} / subcode ${subcode}`;
  if (subcode === 0) return Object.keys(c[1]).length === 0 ? c[0] : `${c[0]} / Unspecific`;
  return `${c[0]} / ${c[1][subcode] ?? `Unknown subcode ${subcode}`}`;
}

const CAPABILITIES: Record<number, string> = {
  1: 'Multiprotocol Extensions',
  2: 'Route Refresh',
  3: 'Outbound Route Filtering',
  5: 'Extended Next Hop Encoding',
  6: 'Extended Message',
  7: 'BGPsec',
  8: 'Multiple Labels',
  9: 'BGP Role',
  64: 'Graceful Restart',
  65: '4-octet AS Number',
  67: 'Dynamic Capability',
  69: 'ADD-PATH',
  70: 'Enhanced Route Refresh',
  71: 'Long-Lived Graceful Restart',
  73: 'FQDN',
  128: 'Route Refresh (Cisco, pre-standard)',
};

export function capabilityName(code: number): string {
  return CAPABILITIES[code] ?? `Unknown capability ${code}`;
}

const ATTRIBUTES: Record<number, string> = {
  1: 'ORIGIN',
  2: 'AS_PATH',
  3: 'NEXT_HOP',
  4: 'MULTI_EXIT_DISC',
  5: 'LOCAL_PREF',
  6: 'ATOMIC_AGGREGATE',
  7: 'AGGREGATOR',
  8: 'COMMUNITIES',
  9: 'ORIGINATOR_ID',
  10: 'CLUSTER_LIST',
  14: 'MP_REACH_NLRI',
  15: 'MP_UNREACH_NLRI',
  16: 'EXTENDED_COMMUNITIES',
  17: 'AS4_PATH',
  18: 'AS4_AGGREGATOR',
  22: 'PMSI_TUNNEL',
  23: 'TUNNEL_ENCAPSULATION',
  25: 'IPv6_EXT_COMMUNITIES',
  26: 'AIGP',
  28: 'BGP_LS',
  32: 'LARGE_COMMUNITY',
  33: 'BGPsec_PATH',
  35: 'OTC',
  40: 'BGP_PREFIX_SID',
  128: 'ATTR_SET',
};

export function attributeName(type: number): string {
  return ATTRIBUTES[type] ?? `attribute type ${type}`;
}

const MESSAGE_TYPES: Record<number, string> = { 1: 'OPEN', 2: 'UPDATE', 3: 'NOTIFICATION', 4: 'KEEPALIVE', 5: 'ROUTE-REFRESH' };

export function messageTypeName(type: number): string {
  return MESSAGE_TYPES[type] ?? `message type ${type}`;
}
