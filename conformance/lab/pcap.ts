// A minimal reader for what `tcpdump -w` writes on a lab veth: classic pcap (microsecond or
// nanosecond, either byte order), Ethernet (with optional 802.1Q tags) or Linux cooked (SLL),
// IPv4 / IPv6 (skipping the usual extension headers), TCP. Each direction of each TCP
// connection is reassembled in sequence order (RFC 9293 §3.4: sequence numbers, wrapping at
// 2^32), duplicates and retransmissions dropped, so BGP messages can be cut from the byte stream.

export interface TcpSegment {
  /** Capture time in microseconds since the epoch. */
  tsUs: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  flags: number;
  payload: Buffer;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_RAW = 101;

function ipv4Str(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function ipv6Str(b: Buffer, off: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(off + 2 * i).toString(16));
  // RFC 5952 §4.2.3: compress the longest run of zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Parse one IP packet; returns the TCP segment or undefined for anything else. */
function parseIp(b: Buffer, off: number, tsUs: number): TcpSegment | undefined {
  if (off >= b.length) return undefined;
  const version = b[off] >> 4;
  let src: string;
  let dst: string;
  let proto: number;
  let l4: number;
  let end: number;
  if (version === 4) {
    const ihl = (b[off] & 0x0f) * 4;
    end = Math.min(b.length, off + b.readUInt16BE(off + 2));
    proto = b[off + 9];
    src = ipv4Str(b, off + 12);
    dst = ipv4Str(b, off + 16);
    l4 = off + ihl;
  } else if (version === 6) {
    end = Math.min(b.length, off + 40 + b.readUInt16BE(off + 4));
    proto = b[off + 6];
    src = ipv6Str(b, off + 8);
    dst = ipv6Str(b, off + 24);
    l4 = off + 40;
    // RFC 8200 §4: hop-by-hop (0), routing (43), destination options (60) precede TCP.
    while ((proto === 0 || proto === 43 || proto === 60) && l4 + 2 <= end) {
      proto = b[l4];
      l4 += (b[l4 + 1] + 1) * 8;
    }
  } else {
    return undefined;
  }
  if (proto !== 6 || l4 + 20 > end) return undefined;
  const dataOff = (b[l4 + 12] >> 4) * 4;
  return {
    tsUs,
    src,
    dst,
    sport: b.readUInt16BE(l4),
    dport: b.readUInt16BE(l4 + 2),
    seq: b.readUInt32BE(l4 + 4),
    flags: b[l4 + 13],
    payload: b.subarray(l4 + dataOff, end),
  };
}

/** All TCP segments of a pcap file's contents, in capture order. */
export function readPcapTcp(file: Buffer): TcpSegment[] {
  if (file.length < 24) throw new Error('pcap: file shorter than its global header');
  const magic = file.readUInt32LE(0);
  let le: boolean;
  let nano = false;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new Error(`pcap: unknown magic 0x${magic.toString(16)} (pcapng is not supported; use tcpdump -w)`);
  if (magic === 0xa1b23c4d || magic === 0x4d3cb2a1) nano = true;
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const linktype = u32(20) & 0x0fffffff;
  const segs: TcpSegment[] = [];
  for (let off = 24; off + 16 <= file.length; ) {
    const tsUs = u32(off) * 1e6 + (nano ? Math.floor(u32(off + 4) / 1000) : u32(off + 4));
    const incl = u32(off + 8);
    const pkt = file.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    let l3 = 0;
    if (linktype === LINKTYPE_ETHERNET) {
      l3 = 12;
      while (l3 + 2 <= pkt.length && (pkt.readUInt16BE(l3) === 0x8100 || pkt.readUInt16BE(l3) === 0x88a8)) l3 += 4;
      l3 += 2;
    } else if (linktype === LINKTYPE_LINUX_SLL) {
      l3 = 16;
    } else if (linktype !== LINKTYPE_RAW) {
      throw new Error(`pcap: unsupported link type ${linktype}`);
    }
    const seg = parseIp(pkt, l3, tsUs);
    if (seg) segs.push(seg);
  }
  return segs;
}

/** One direction of one TCP connection, payload reassembled. */
export interface TcpStream {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  /** Time of the first segment of this direction (microseconds). */
  firstUs: number;
  data: Buffer;
  /** True when a hole in the sequence space cut the stream short. */
  gap: boolean;
}

/**
 * Reassemble each direction's payload in sequence order. A new SYN on the same 4-tuple starts a
 * new connection. Bytes before the first SYN seen are kept if the SYN was not captured.
 */
export function reassemble(segs: TcpSegment[]): TcpStream[] {
  interface Acc {
    s: TcpStream;
    isn?: number;
    parts: Map<number, Buffer>;
  }
  const open = new Map<string, Acc>();
  const all: Acc[] = [];
  for (const g of segs) {
    const key = `${g.src}|${g.sport}|${g.dst}|${g.dport}`;
    let acc = open.get(key);
    if (!acc || (g.flags & TCP_SYN && acc.isn !== undefined && acc.isn !== g.seq)) {
      acc = { s: { src: g.src, sport: g.sport, dst: g.dst, dport: g.dport, firstUs: g.tsUs, data: Buffer.alloc(0), gap: false }, parts: new Map() };
      open.set(key, acc);
      all.push(acc);
    }
    if (g.flags & TCP_SYN) {
      acc.isn = g.seq;
      continue;
    }
    if (!g.payload.length) continue;
    // Sequence number of the first data byte is ISN+1; without a SYN, anchor at the first seen.
    acc.isn ??= (g.seq - 1) >>> 0;
    const rel = (g.seq - acc.isn - 1) >>> 0;
    const prev = acc.parts.get(rel);
    if (!prev || prev.length < g.payload.length) acc.parts.set(rel, Buffer.from(g.payload));
  }
  return all.map(({ s, parts }) => {
    const chunks: Buffer[] = [];
    let next = 0;
    for (const rel of [...parts.keys()].sort((a, b) => a - b)) {
      const p = parts.get(rel)!;
      if (rel > next) {
        s.gap = true;
        break;
      }
      if (rel + p.length <= next) continue;
      chunks.push(p.subarray(next - rel));
      next = rel + p.length;
    }
    s.data = Buffer.concat(chunks);
    return s;
  });
}

/** RFC 4271 §4.1: cut a stream into whole BGP messages by the header length; checks the marker. */
export function splitBgp(data: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let off = 0;
  while (off + 19 <= data.length) {
    for (let i = 0; i < 16; i++) if (data[off + i] !== 0xff) throw new Error(`BGP marker broken at stream offset ${off}`);
    const len = data.readUInt16BE(off + 16);
    if (len < 19) throw new Error(`BGP length ${len} < 19 at stream offset ${off}`);
    if (off + len > data.length) break;
    messages.push(data.subarray(off, off + len));
    off += len;
  }
  return { messages, rest: data.subarray(off) };
}
