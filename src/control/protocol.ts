// The control socket's wire format: JSON lines, versioned. Shared by server and client.
//
//   request   {"v":1,"id":N,"cmd":"show.peers","args":{...}}
//   answer    {"v":1,"id":N,"ok":true,"data":...}
//   error     {"v":1,"id":N,"ok":false,"error":{"code":"unknown-neighbor","message":"..."}}
//   stream    {"v":1,"id":N,"row":{...}} ... then {"v":1,"id":N,"ok":true,"end":true}
//
// One request at a time per connection is answered, in order; a client may pipeline.
import { StringDecoder } from 'node:string_decoder';
import type { ControlErrorCode } from './api.js';

export const PROTOCOL_VERSION = 1;

/** Longest request line the server accepts; a request is a command and a few arguments. */
export const MAX_REQUEST_LINE = 64 * 1024;
/** Longest answer line the client accepts (a NeighborView or a config is a few KiB). */
export const MAX_ANSWER_LINE = 16 * 1024 * 1024;

/** Every command the server knows; `stream` ones answer with rows then an end marker. */
export const COMMANDS = {
  hello: 'answer',
  'show.peers': 'answer',
  'show.neighbor': 'answer',
  'show.rib': 'stream',
  'show.fib': 'stream',
  'show.config': 'answer',
  'show.status': 'answer',
  'show.rib.summary': 'answer',
  'neighbor.action': 'answer',
  reload: 'answer',
  'fib.couple': 'answer',
  'fib.flush': 'answer',
  'log.level': 'answer',
  health: 'answer',
  'show.bfd': 'answer',
} as const;
export type Command = keyof typeof COMMANDS;

export const isCommand = (s: string): s is Command => Object.hasOwn(COMMANDS, s);

export interface Request {
  v: number;
  id: number;
  cmd: string;
  args?: Record<string, unknown>;
}

export interface WireError {
  code: ControlErrorCode;
  message: string;
}

export type Answer =
  | { v: number; id: number | null; ok: true; data?: unknown; end?: true }
  | { v: number; id: number | null; ok: false; error: WireError }
  | { v: number; id: number; row: unknown };

/**
 * Splits a byte stream into lines without ever holding more than one line plus one chunk.
 * UTF-8 split across chunks is reassembled by StringDecoder.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(
    private readonly maxLine: number,
    private readonly onLine: (line: string) => void,
  ) {}

  /** Feeds a chunk; throws RangeError when a line exceeds the limit. */
  push(chunk: Buffer): void {
    const text = this.partial + this.decoder.write(chunk);
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      if (nl > start) this.onLine(text.slice(start, nl));
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    if (text.length - start > this.maxLine) throw new RangeError(`line longer than ${this.maxLine} bytes`);
    this.partial = text.slice(start);
  }
}

/** Serialises one wire object as a line. */
export const line = (o: Answer | Request): string => JSON.stringify(o) + '\n';
