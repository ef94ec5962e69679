// Shared helpers for the codec tests: session contexts, hex fixtures, plain views of messages.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_CONTEXT, type SessionContext } from '../../bgp/codec/types.js';

export function ctxOf(opts: { as4?: boolean; addPath?: ('ipv4' | 'ipv6')[]; extended?: boolean } = {}): SessionContext {
  const ap = { ipv4: opts.addPath?.includes('ipv4') ?? false, ipv6: opts.addPath?.includes('ipv6') ?? false };
  return { ...DEFAULT_CONTEXT, as4: opts.as4 ?? true, addPathRx: { ...ap }, addPathTx: { ...ap }, extendedMessage: opts.extended ?? false };
}

/** Strips whitespace, ':' and '0x' from hex text. */
export const hexBytes = (text: string): Buffer => {
  const clean = text.replace(/0x/gi, '').replace(/[\s:]/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`not hex: ${clean.slice(0, 40)}`);
  return Buffer.from(clean, 'hex');
};

export interface Fixture {
  file: string;
  ctx: SessionContext;
  bytes: Buffer;
  messages: Buffer[];
  comments: string[];
}

/**
 * Parses a fixture file: '#' comments, hex. A "# context:" comment holds words: as4 | as2 | no-as4,
 * addpath=ipv4,ipv6 | addpath-rx=... (none), extended | standard.
 */
export function parseFixture(file: string, text: string): Fixture {
  const comments: string[] = [];
  const hex: string[] = [];
  let as4 = true;
  let addPath: ('ipv4' | 'ipv6')[] = [];
  let extended = false;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t.startsWith('#')) {
      comments.push(t);
      const m = /^#\s*context:\s*(.*)$/i.exec(t);
      if (m) {
        for (const w of m[1].split(/\s+/)) {
          if (w === 'as4') as4 = true;
          else if (w === 'no-as4' || w === 'as2') as4 = false;
          else if (w === 'extended') extended = true;
          else if (w === 'standard') extended = false;
          else if (/^addpath(-rx)?=/.test(w)) {
            // The receive direction is what decoding needs; re-encoding uses the same.
            addPath = w
              .slice(w.indexOf('=') + 1)
              .split(',')
              .filter((x) => x === 'ipv4' || x === 'ipv6') as ('ipv4' | 'ipv6')[];
          }
        }
      }
    } else if (t) {
      hex.push(t);
    }
  }
  const bytes = hexBytes(hex.join(''));
  const messages: Buffer[] = [];
  for (let pos = 0; pos < bytes.length; ) {
    if (bytes.length - pos < 19) throw new Error(`${file}: ${bytes.length - pos} trailing bytes are not a message`);
    const len = bytes.readUInt16BE(pos + 16);
    if (len < 19 || pos + len > bytes.length) throw new Error(`${file}: bad message length ${len} at offset ${pos}`);
    messages.push(bytes.subarray(pos, pos + len));
    pos += len;
  }
  return { file, ctx: ctxOf({ as4, addPath, extended }), bytes, messages, comments };
}

export const FIXTURE_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures');

export function loadFixtures(): Fixture[] {
  if (!fs.existsSync(FIXTURE_DIR)) return [];
  return fs
    .readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.hex'))
    .sort()
    .map((f) => parseFixture(f, fs.readFileSync(path.join(FIXTURE_DIR, f), 'utf8')));
}

/** Builds a header + body message of the given type. */
export function msgOf(type: number, body: Buffer | number[]): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const h = Buffer.alloc(19, 0xff);
  h.writeUInt16BE(19 + b.length, 16);
  h[18] = type;
  return Buffer.concat([h, b]);
}

/** An UPDATE from raw withdrawn, attribute block and NLRI bytes. */
export function updateOf(withdrawn: number[] | Buffer, attrs: number[] | Buffer, nlri: number[] | Buffer): Buffer {
  const w = Buffer.from(withdrawn);
  const a = Buffer.from(attrs);
  const body = Buffer.concat([Buffer.from([w.length >> 8, w.length & 0xff]), w, Buffer.from([a.length >> 8, a.length & 0xff]), a, Buffer.from(nlri)]);
  return msgOf(2, body);
}

/** One attribute: flags, type, value (Extended Length used when flags say so). */
export function attr(flags: number, type: number, value: number[] | Buffer): Buffer {
  const v = Buffer.from(value);
  if (flags & 0x10) return Buffer.concat([Buffer.from([flags, type, v.length >> 8, v.length & 0xff]), v]);
  return Buffer.concat([Buffer.from([flags, type, v.length]), v]);
}

/** The valid mandatory attributes for a classic IPv4 UPDATE on a 4-octet session. */
export const ORIGIN_IGP = attr(0x40, 1, [0]);
export const AS_PATH_65001 = attr(0x40, 2, [2, 1, 0, 0, 0xfd, 0xe9]);
export const NEXT_HOP = attr(0x40, 3, [198, 18, 0, 1]);
export const BASE_ATTRS = Buffer.concat([ORIGIN_IGP, AS_PATH_65001, NEXT_HOP]);
/** 10.0.0.0/24 in NLRI encoding. */
export const NLRI_10_0_0 = [24, 10, 0, 0];
