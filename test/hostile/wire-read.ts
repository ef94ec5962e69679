// A small, independent reader for the UPDATEs Tern sends on (RFC 4271 §4.3): withdrawn
// prefixes, attributes with their raw flags, NLRI, and IPv6 unicast in MP_REACH_NLRI /
// MP_UNREACH_NLRI (RFC 4760 §3-4). Written apart from bgp/codec on purpose: the hostile suite
// checks Tern's output with it, so the codec under test is not its own oracle. No add-path
// (what the hostile suite's bystander negotiates).

export interface RawAttr {
  flags: number;
  type: number;
  value: Buffer;
}

export interface RawUpdate {
  withdrawn: string[];
  attrs: RawAttr[];
  nlri: string[];
  length: number;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as "::". */
export function ipv6Text(a: number[]): string {
  const g = Array.from({ length: 8 }, (_, i) => (a[2 * i] << 8) | a[2 * i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j > i ? j : i + 1;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function prefixes(b: Buffer, from: number, to: number, v6 = false): string[] {
  const out: string[] = [];
  let p = from;
  while (p < to) {
    const len = b[p++];
    const n = (len + 7) >> 3;
    const a = new Array<number>(v6 ? 16 : 4).fill(0);
    for (let i = 0; i < n; i++) a[i] = b[p + i];
    p += n;
    out.push(`${v6 ? ipv6Text(a) : a.join('.')}/${len}`);
  }
  return out;
}

/** Reads one whole UPDATE (header included); undefined for any other message type. */
export function readUpdate(m: Buffer): RawUpdate | undefined {
  if (m[18] !== 2) return undefined;
  const wl = m.readUInt16BE(19);
  const withdrawn = prefixes(m, 21, 21 + wl);
  const al = m.readUInt16BE(21 + wl);
  const attrs: RawAttr[] = [];
  let p = 23 + wl;
  const end = p + al;
  while (p < end) {
    const flags = m[p];
    const type = m[p + 1];
    const ext = (flags & 0x10) !== 0;
    const len = ext ? m.readUInt16BE(p + 2) : m[p + 2];
    const at = p + (ext ? 4 : 3);
    attrs.push({ flags, type, value: m.subarray(at, at + len) });
    p = at + len;
  }
  const nlri = prefixes(m, end, m.length);
  // RFC 4760: IPv6 unicast (AFI 2, SAFI 1) reachability and withdrawals.
  for (const a of attrs) {
    const v = a.value;
    if (a.type === 14 && v.length >= 5 && v.readUInt16BE(0) === 2 && v[2] === 1) nlri.push(...prefixes(v, 5 + v[3], v.length, true));
    if (a.type === 15 && v.length >= 3 && v.readUInt16BE(0) === 2 && v[2] === 1) withdrawn.push(...prefixes(v, 3, v.length, true));
  }
  return { withdrawn, attrs, nlri, length: m.length };
}

/** AS numbers of a 4-octet AS_PATH value, segments flattened. */
export function asPathOf(a: RawAttr | undefined): number[] {
  if (!a) return [];
  const out: number[] = [];
  for (let p = 0; p + 2 <= a.value.length; ) {
    const n = a.value[p + 1];
    for (let i = 0; i < n; i++) out.push(a.value.readUInt32BE(p + 2 + 4 * i));
    p += 2 + 4 * n;
  }
  return out;
}

/**
 * The state a receiver builds from a stream of UPDATEs: for each prefix, the attributes of the
 * last UPDATE that announced it, or nothing once withdrawn (RFC 4271 §9: implicit withdraw).
 */
export function replayUpdates(msgs: Buffer[]): Map<string, RawUpdate> {
  const table = new Map<string, RawUpdate>();
  for (const m of msgs) {
    const u = readUpdate(m);
    if (!u) continue;
    for (const w of u.withdrawn) table.delete(w);
    for (const n of u.nlri) table.set(n, u);
  }
  return table;
}
