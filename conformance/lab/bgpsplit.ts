// Just enough BGP reading to name captured messages and to say which session context decodes
// them. Deliberately independent of bgp/ (the codec under test must not label its own fixtures).

const AFI_NAME: Record<number, string> = { 1: 'ipv4', 2: 'ipv6' };
const NOTIFY_CODE: Record<number, string> = { 1: 'header', 2: 'open', 3: 'update', 4: 'hold-timer', 5: 'fsm', 6: 'cease', 7: 'route-refresh' };
/** RFC 4486 Cease subcodes (subcode 2, Administrative Shutdown, is the plain `notification-cease`). */
const CEASE_SUB: Record<number, string> = {
  1: 'max-prefix',
  3: 'peer-deconfigured',
  4: 'admin-reset',
  5: 'rejected',
  6: 'config-change',
  7: 'collision',
  8: 'resources',
  9: 'hard-reset',
};

export interface Attr {
  type: number;
  value: Buffer;
}

/** The path attributes of an UPDATE (type code and value bytes), with the section lengths. */
export function updateAttributes(m: Buffer): { withdrawnLen: number; attrs: Attr[]; nlriLen: number } {
  return attrs(m);
}

function attrs(m: Buffer): { withdrawnLen: number; attrs: Attr[]; nlriLen: number } {
  const wl = m.readUInt16BE(19);
  const al = m.readUInt16BE(21 + wl);
  const list: Attr[] = [];
  let o = 23 + wl;
  const end = o + al;
  while (o + 3 <= end) {
    const flags = m[o];
    const ext = (flags & 0x10) !== 0;
    const len = ext ? m.readUInt16BE(o + 2) : m[o + 2];
    const hdr = ext ? 4 : 3;
    list.push({ type: m[o + 1], value: m.subarray(o + hdr, o + hdr + len) });
    o += hdr + len;
  }
  return { withdrawnLen: wl, attrs: list, nlriLen: m.length - end };
}

/** A short file-name category: open, keepalive, update-ipv4, eor-ipv6, notification-cease, ... */
export function classify(m: Buffer): string {
  const type = m[18];
  switch (type) {
    case 1:
      return 'open';
    case 4:
      return 'keepalive';
    case 3: {
      const code = m[19];
      const sub = m[20];
      if (code === 6) return sub === 2 ? 'notification-cease' : `notification-cease-${CEASE_SUB[sub] ?? sub}`;
      return `notification-${NOTIFY_CODE[code] ?? code}-${sub}`;
    }
    case 5: {
      const afi = AFI_NAME[m.readUInt16BE(19)] ?? String(m.readUInt16BE(19));
      // RFC 7313 §3.2: the former Reserved octet is the message subtype.
      return `${['route-refresh', 'borr', 'eorr'][m[21]] ?? `route-refresh-${m[21]}`}-${afi}`;
    }
    case 2: {
      if (m.length === 23) return 'eor-ipv4'; // RFC 4724 §2: empty UPDATE
      const u = attrs(m);
      const reach = u.attrs.find((a) => a.type === 14);
      const unreach = u.attrs.find((a) => a.type === 15);
      if (reach) return `update-${AFI_NAME[reach.value.readUInt16BE(0)] ?? 'afi'}`;
      if (unreach) {
        const fam = AFI_NAME[unreach.value.readUInt16BE(0)] ?? 'afi';
        return unreach.value.length === 3 && u.attrs.length === 1 ? `eor-${fam}` : `withdraw-${fam}`;
      }
      if (u.nlriLen > 0) return 'update-ipv4';
      if (u.withdrawnLen > 0) return 'withdraw-ipv4';
      return 'update-empty';
    }
    default:
      return `type-${type}`;
  }
}

/** Number of path attributes of an UPDATE (0 for other messages); used to pick fixtures. */
export function richness(m: Buffer): number {
  return m[18] === 2 && m.length > 23 ? attrs(m).attrs.length : 0;
}

/** One line for a comment: type, length, and the attribute type codes of an UPDATE. */
export function describe(m: Buffer): string {
  const names = ['?', 'OPEN', 'UPDATE', 'NOTIFICATION', 'KEEPALIVE', 'ROUTE-REFRESH'];
  let s = `${names[m[18]] ?? `type ${m[18]}`}, ${m.length} bytes (${classify(m)})`;
  if (m[18] === 2 && m.length > 23)
    s += `, attribute types [${attrs(m)
      .attrs.map((a) => a.type)
      .join(',')}]`;
  if (m[18] === 3) {
    s += `, code ${m[19]} subcode ${m[20]}`;
    const data = m.subarray(21);
    // RFC 9003 §2: Cease 2/4 data = length octet + UTF-8 shutdown communication.
    if (m[19] === 6 && (m[20] === 2 || m[20] === 4) && data.length > 0)
      s += `, shutdown communication ${JSON.stringify(data.subarray(1, 1 + data[0]).toString('utf8'))}`;
  }
  return s;
}

interface OpenCaps {
  as4: boolean;
  /** RFC 7911 Send/Receive per family name. */
  addPath: Record<string, number>;
  extended: boolean;
}

function openCaps(m: Buffer | undefined): OpenCaps | undefined {
  if (!m || m[18] !== 1) return undefined;
  const caps: OpenCaps = { as4: false, addPath: {}, extended: false };
  const optLen = m[28];
  let o = 29;
  const end = o + optLen;
  while (o + 2 <= end) {
    const ptype = m[o];
    const plen = m[o + 1];
    if (ptype === 2) {
      let c = o + 2;
      while (c + 2 <= o + 2 + plen) {
        const code = m[c];
        const clen = m[c + 1];
        const v = m.subarray(c + 2, c + 2 + clen);
        if (code === 65) caps.as4 = true;
        if (code === 6) caps.extended = true;
        if (code === 69) for (let i = 0; i + 4 <= v.length; i += 4) caps.addPath[AFI_NAME[v.readUInt16BE(i)] ?? 'afi'] = v[i + 3];
        c += 2 + clen;
      }
    }
    o += 2 + plen;
  }
  return caps;
}

/**
 * The `# context:` line for messages in `sent` (RFC 6793, RFC 7911 §4, RFC 8654 negotiation),
 * as the *receiver* must decode them: addpath-rx lists the families whose NLRI carry path IDs.
 */
export function sessionContext(sent: Buffer[], received: Buffer[]): string {
  const mine = openCaps(sent.find((m) => m[18] === 1));
  const theirs = openCaps(received.find((m) => m[18] === 1));
  if (!mine || !theirs) return 'unknown (no OPEN pair in this connection)';
  const rx = ['ipv4', 'ipv6'].filter((f) => ((mine.addPath[f] ?? 0) & 2) !== 0 && ((theirs.addPath[f] ?? 0) & 1) !== 0);
  const fams = rx.length ? rx.join(',') : 'none';
  // `addpath=` repeats the set for readers that configure one add-path set for both directions.
  return [mine.as4 && theirs.as4 ? 'as4' : 'as2', `addpath-rx=${fams}`, `addpath=${fams}`, mine.extended && theirs.extended ? 'extended' : 'standard'].join(
    ' ',
  );
}
