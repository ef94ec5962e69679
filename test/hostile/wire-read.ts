// A small, independent reader for the UPDATEs Tern sends on (RFC 4271 §4.3): withdrawn
// prefixes, attributes with their raw flags, NLRI. Written apart from bgp/codec on purpose: the
// hostile suite checks Tern's output with it, so the codec under test is not its own oracle.
// IPv4 unicast without add-path only (what the hostile suite's bystander negotiates).

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

function prefixes(b: Buffer, from: number, to: number): string[] {
  const out: string[] = [];
  let p = from;
  while (p < to) {
    const len = b[p++];
    const n = (len + 7) >> 3;
    const a = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) a[i] = b[p + i];
    p += n;
    out.push(`${a.join('.')}/${len}`);
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
  return { withdrawn, attrs, nlri: prefixes(m, end, m.length), length: m.length };
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
