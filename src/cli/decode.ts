// `bgpctl decode`: decode BGP messages given as hex (argument or stdin) or raw bytes (--raw),
// offline, with no daemon. Prints each message as text (or JSON with -j). A malformed message
// prints the NOTIFICATION it would trigger (RFC 4271 §6) or the RFC 7606 action, and the
// command exits 1. See docs/bgpctl.md "decode".
import type { Argv, CommandModule } from 'yargs';
import { decodeMessage, formatMessage, Framer, messageToJson, notificationName, attributeName } from '../../bgp/codec/index.js';
import { BgpError, DEFAULT_CONTEXT, MsgType, type SessionContext } from '../../bgp/codec/types.js';
import type { GlobalArgs } from './common.js';

interface DecodeArgs extends GlobalArgs {
  hex?: string[];
  raw: boolean;
  /** Undefined when not given: then a "# context:" line of the input decides, else true. */
  as4?: boolean;
  addpath?: string;
  extended?: boolean;
}

/**
 * Session context words from a "# context: as4 addpath-rx=ipv4,ipv6 extended" comment, as the
 * files in test/fixtures/ carry them: as4 | as2 | no-as4, addpath=.. | addpath-rx=.., extended | standard.
 */
export function contextComment(text: string): { as4?: boolean; addpath?: string; extended?: boolean } {
  const m = /^#\s*context:\s*(.*)$/im.exec(text);
  const out: { as4?: boolean; addpath?: string; extended?: boolean } = {};
  if (!m) return out;
  for (const w of m[1].trim().split(/\s+/)) {
    if (w === 'as4') out.as4 = true;
    else if (w === 'as2' || w === 'no-as4') out.as4 = false;
    else if (w === 'extended') out.extended = true;
    else if (w === 'standard') out.extended = false;
    else if (/^addpath(-rx)?=/.test(w)) out.addpath = w.slice(w.indexOf('=') + 1).replace(/^none$/, '');
  }
  return out;
}

type Json = ReturnType<typeof messageToJson>;

/** Hex text to bytes: '#' comments to end of line, whitespace, ':' and '0x' are ignored. */
export function parseHexInput(text: string): Buffer {
  const clean = text
    .replace(/#[^\n]*/g, '')
    .replace(/0x/gi, '')
    .replace(/[\s:,]/g, '');
  const bad = /[^0-9a-fA-F]/.exec(clean);
  if (bad) throw new Error(`not hex: "${bad[0]}" at hex digit ${bad.index + 1}`);
  if (clean.length % 2) throw new Error(`odd number of hex digits (${clean.length})`);
  return Buffer.from(clean, 'hex');
}

export function contextOf(args: { as4?: boolean; addpath?: string; extended?: boolean }): SessionContext {
  const fams = (args.addpath ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const f of fams) if (f !== 'ipv4' && f !== 'ipv6') throw new Error(`--addpath takes ipv4,ipv6; got "${f}"`);
  const ap = { ipv4: fams.includes('ipv4'), ipv6: fams.includes('ipv6') };
  return { ...DEFAULT_CONTEXT, as4: args.as4 ?? true, addPathRx: { ...ap }, addPathTx: { ...ap }, extendedMessage: args.extended ?? false };
}

interface Outcome {
  ok: boolean;
  text: string;
  json: Json;
}

const notifyText = (e: BgpError): string =>
  `would send NOTIFICATION ${notificationName(e.code, e.subcode)} (${e.code}/${e.subcode})${e.data.length ? ` data ${e.data.toString('hex')}` : ''}\n  reason: ${e.message}`;
const notifyJson = (e: BgpError): Json => ({
  code: e.code,
  subcode: e.subcode,
  name: notificationName(e.code, e.subcode),
  data: e.data.toString('hex'),
  reason: e.message,
});

/** Decodes every message in `bytes`; pure, for tests. */
export function decodeAll(bytes: Buffer, ctx: SessionContext): Outcome[] {
  const out: Outcome[] = [];
  const framer = new Framer({ maxBuffered: 1 << 20 });
  framer.extended = ctx.extendedMessage;
  let messages: Buffer[];
  try {
    messages = framer.push(bytes);
  } catch (e) {
    if (!(e instanceof BgpError)) throw e;
    // Messages before the bad header were fine; find them by framing prefix by prefix.
    const good = new Framer();
    good.extended = ctx.extendedMessage;
    messages = [];
    for (let pos = 0; pos + 19 <= bytes.length; ) {
      const len = bytes.readUInt16BE(pos + 16);
      try {
        messages.push(...good.push(bytes.subarray(pos, pos + Math.max(19, len))));
      } catch {
        break;
      }
      pos += Math.max(19, len);
    }
    for (const m of messages) out.push(decodeOne(m, ctx, out.length + 1));
    out.push({ ok: false, text: `message ${out.length + 1}: bad header\n  ${notifyText(e)}`, json: { index: out.length + 1, notification: notifyJson(e) } });
    return out;
  }
  for (const m of messages) out.push(decodeOne(m, ctx, out.length + 1));
  if (framer.buffered) {
    const reason = `${framer.buffered} trailing bytes do not make a whole message`;
    out.push({ ok: false, text: `message ${out.length + 1}: ${reason}`, json: { index: out.length + 1, incomplete: reason } });
  }
  return out;
}

function decodeOne(m: Buffer, ctx: SessionContext, index: number): Outcome {
  try {
    const d = decodeMessage(m, ctx);
    let text = `message ${index}: ${formatMessage(d, m.length)}`;
    const json: Json = { index, length: m.length, ...messageToJson(d) };
    if (d.type === MsgType.UPDATE && (d.treatAsWithdraw || d.errors)) {
      const worst = d.treatAsWithdraw ? 'treat-as-withdraw' : 'attribute-discard';
      text += `\n  => RFC 7606 ${worst}${d.errors ? ': ' + d.errors.map((x) => `${attributeName(x.attrType)} ${x.action}`).join(', ') : ''}`;
      json.rfc7606 = worst;
      return { ok: false, text, json };
    }
    return { ok: true, text, json };
  } catch (e) {
    if (!(e instanceof BgpError)) throw e;
    return {
      ok: false,
      text: `message ${index} (${m.length} bytes, type ${m[18]}): ${notifyText(e)}`,
      json: { index, length: m.length, notification: notifyJson(e) },
    };
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export const decodeCommand: CommandModule<GlobalArgs, DecodeArgs> = {
  command: 'decode [hex..]',
  describe: 'decode BGP messages given as hex (argument or stdin) or raw bytes (--raw); offline',
  builder: (y) =>
    y
      .positional('hex', { type: 'string', array: true, describe: 'hex of one or more whole messages (whitespace, ":" and "0x" ignored); stdin when absent' })
      .option('raw', { type: 'boolean', default: false, describe: 'read raw bytes from stdin instead of hex' })
      .option('as4', { type: 'boolean', describe: '4-octet AS numbers negotiated (RFC 6793; the default); --no-as4 for a 2-octet session' })
      .option('addpath', { type: 'string', describe: 'families with RFC 7911 path identifiers: ipv4,ipv6' })
      .option('extended', { type: 'boolean', describe: 'RFC 8654 extended messages (up to 65535 bytes)' })
      .example('$0 decode ffffffffffffffffffffffffffffffff001304', 'a KEEPALIVE')
      .example('$0 decode < test/fixtures/bird-stream.hex', 'a captured stream; its "# context:" line sets the session context')
      .example('tcpdump -w - ... | extract | $0 decode --raw -j', 'raw bytes, JSON out') as unknown as Argv<DecodeArgs>,
  handler: async (args) => {
    let outcomes: Outcome[];
    try {
      const text = args.raw ? '' : args.hex?.length ? args.hex.join(' ') : (await readStdin()).toString('utf8');
      const bytes = args.raw ? await readStdin() : parseHexInput(text);
      // Flags win; a "# context:" comment in the input (test/fixtures/*.hex) fills in the rest.
      const fromText = contextComment(text);
      const ctx = contextOf({ as4: args.as4 ?? fromText.as4, addpath: args.addpath ?? fromText.addpath, extended: args.extended ?? fromText.extended });
      if (bytes.length === 0) throw new Error('no input: give hex as an argument or on stdin');
      outcomes = decodeAll(bytes, ctx);
    } catch (e) {
      // Under -j the error is JSON on stdout, as for every other command (docs/bgpctl.md).
      if (args.json) process.stdout.write(JSON.stringify({ error: { code: 'usage', message: (e as Error).message } }, null, 2) + '\n');
      else process.stderr.write(`bgpctl decode: ${(e as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    if (args.json)
      process.stdout.write(
        JSON.stringify(
          outcomes.map((o) => o.json),
          null,
          2,
        ) + '\n',
      );
    else process.stdout.write(outcomes.map((o) => o.text).join('\n') + '\n');
    process.exitCode = outcomes.every((o) => o.ok) ? 0 : 1;
  },
};
