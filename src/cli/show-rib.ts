// bgpctl show rib: the Loc-RIB (or Adj-RIB-In/Out) with the filters BIRD and OpenBGPD users
// reach for (issue 17), and `show rib summary`. The daemon applies every filter except the
// AS_PATH regular expression, which runs here: a pathological expression then costs this
// process, never the daemon's event loop.
import type { Argv, CommandModule } from 'yargs';
import type { AsFilter, RibRowView, RibSummaryView } from '../control/api.js';
import { normaliseCommunity } from '../control/validate.js';
import { needNeighbor, needPrefix, printJson, run, UsageError, type Ctx, type GlobalArgs } from './common.js';
import { RIB_LEGEND, formatRibDetail, formatRibRow, formatRibSummary, ribHeader } from './format.js';

const MATCH_WORDS = ['longer', 'or-longer', 'shorter', 'or-shorter'] as const;

interface RibArgs extends GlobalArgs {
  prefix?: string;
  match?: (typeof MATCH_WORDS)[number];
  in?: boolean;
  out?: boolean;
  neighbor?: string;
  family?: 'ipv4' | 'ipv6';
  detail: boolean;
  community?: string;
  'large-community'?: string;
  as?: number;
  'source-as'?: number;
  'transit-as'?: number;
  'peer-as'?: number;
  'empty-as'?: boolean;
  'as-path'?: string;
}

/** The one AS filter given (OpenBGPD takes one), or undefined; two are a usage error. */
function asFilterOf(a: RibArgs): AsFilter | undefined {
  const given: AsFilter[] = [];
  for (const kind of ['as', 'source-as', 'transit-as', 'peer-as'] as const) {
    const v = a[kind];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new UsageError(`--${kind} needs an AS number 0-4294967295`);
    given.push({ kind, asn: v });
  }
  if (a['empty-as']) given.push({ kind: 'empty-as' });
  if (given.length > 1) throw new UsageError('give one of --as, --source-as, --transit-as, --peer-as, --empty-as');
  return given[0];
}

function asPathRegex(a: RibArgs): RegExp | undefined {
  const src = a['as-path'];
  if (src === undefined) return undefined;
  try {
    return new RegExp(src);
  } catch (e) {
    throw new UsageError(`bad --as-path regular expression: ${(e as Error).message}`);
  }
}

function check(a: RibArgs): void {
  if (a.prefix === 'summary') return;
  needPrefix(a.prefix);
  if (a.match && (a.prefix === undefined || !a.prefix.includes('/')))
    throw new UsageError(`${a.match} needs a prefix (a.b.c.d/len), e.g. show rib 10.244.0.0/16 ${a.match}`);
  if (a.neighbor !== undefined) needNeighbor(a.neighbor);
  if (a.community !== undefined && normaliseCommunity(a.community) === null)
    throw new UsageError(`bad community '${a.community}': expected asn:value (RFC 1997) or a well-known name such as no-export`);
  const l = a['large-community'];
  if (l !== undefined && (!/^\d{1,10}:\d{1,10}:\d{1,10}$/.test(l) || l.split(':').some((x) => Number(x) > 0xffffffff))) {
    throw new UsageError(`bad large community '${l}': expected global:local1:local2 (RFC 8092)`);
  }
  asFilterOf(a);
  asPathRegex(a);
}

async function summary(ctx: Ctx): Promise<void> {
  const data = await ctx.client.request<RibSummaryView>('show.rib.summary');
  if (ctx.args.json) return printJson(ctx, data);
  await ctx.print(formatRibSummary(data, ctx.text));
}

export const ribCommand: CommandModule<GlobalArgs, RibArgs> = {
  command: 'rib [prefix] [match]',
  describe: 'Loc-RIB (or Adj-RIB-In/Out): flags, prefix, next hop, LOCAL_PREF, MED, AS_PATH, origin; `show rib summary` counts',
  builder: (y) =>
    y
      .positional('prefix', { type: 'string', describe: 'a prefix (exact) or an address (longest match); `summary` for counts per peer and family' })
      .positional('match', { choices: MATCH_WORDS, describe: 'longer: the prefix and every more specific one; shorter: it and every covering one' })
      .option('in', { type: 'boolean', describe: 'Adj-RIB-In: paths as received, before the decision' })
      .option('out', { type: 'boolean', describe: 'Adj-RIB-Out: paths as advertised' })
      .conflicts('in', 'out')
      .option('neighbor', { type: 'string', describe: 'only paths from (or, with --out, to) this neighbor' })
      .option('family', { choices: ['ipv4', 'ipv6'] as const, describe: 'only this address family' })
      .option('detail', { type: 'boolean', default: false, describe: 'every path, all attributes, and why it lost' })
      .option('community', { type: 'string', describe: 'only paths with this community (asn:value or no-export, no-advertise, ...)' })
      .option('large-community', { type: 'string', describe: 'only paths with this large community (global:local1:local2)' })
      .option('as', { type: 'number', describe: 'only paths with this AS anywhere in AS_PATH' })
      .option('source-as', { type: 'number', describe: 'only paths originated by this AS (rightmost; our AS for an empty AS_PATH)' })
      .option('transit-as', { type: 'number', describe: 'only paths through this AS (anywhere but the rightmost)' })
      .option('peer-as', { type: 'number', describe: 'only paths whose AS_PATH starts with this AS' })
      .option('empty-as', { type: 'boolean', describe: 'only paths with an empty AS_PATH (our own and iBGP-originated)' })
      .option('as-path', {
        type: 'string',
        describe: 'only paths whose AS_PATH text matches this regular expression, e.g. "^65001 " or "65010$"',
      }) as unknown as Argv<RibArgs>,
  handler: (args) =>
    run(
      args,
      () => check(args),
      async (ctx) => {
        if (args.prefix === 'summary') return summary(ctx);
        const asFilter = asFilterOf(args);
        const regex = asPathRegex(args);
        const match = args.match?.replace('or-', '');
        const query = {
          view: args.in ? 'in' : args.out ? 'out' : 'loc',
          ...(args.prefix !== undefined ? { prefix: args.prefix } : {}),
          ...(match !== undefined ? { match } : {}),
          ...(args.neighbor !== undefined ? { neighbor: needNeighbor(args.neighbor) } : {}),
          ...(args.family !== undefined ? { family: args.family } : {}),
          ...(args.detail ? { detail: true } : {}),
          ...(args.community !== undefined ? { community: args.community } : {}),
          ...(args['large-community'] !== undefined ? { largeCommunity: args['large-community'] } : {}),
          ...(asFilter ? { asFilter } : {}),
        };
        const stream = ctx.client.stream<RibRowView>('show.rib', query);
        const rows = regex ? filterRows(stream, (r) => regex.test(r.asPath)) : stream;
        if (ctx.args.json) return printJsonArray(ctx, rows);
        // Adj-RIB-Out of every neighbor: say which neighbor each row goes to.
        const peerColumn = args.out && args.neighbor === undefined ? 'to' : undefined;
        let prev: string | null = null;
        let header = false;
        const buf: string[] = [];
        for await (const r of rows) {
          if (!header) {
            buf.push(...RIB_LEGEND);
            if (!args.detail) buf.push(ribHeader(ctx.text, peerColumn));
            header = true;
          }
          if (args.detail) buf.push(...formatRibDetail(r, prev, ctx.text));
          else buf.push(formatRibRow(r, ctx.text, peerColumn));
          prev = r.prefix;
          if (buf.length >= 256) await ctx.print(buf.splice(0, buf.length));
        }
        if (!header) buf.push(args.prefix !== undefined ? `${args.prefix}: no such route` : 'no routes');
        await ctx.print(buf);
      },
    ),
};

async function* filterRows(rows: AsyncIterable<RibRowView>, keep: (r: RibRowView) => boolean): AsyncGenerator<RibRowView> {
  for await (const r of rows) if (keep(r)) yield r;
}

/** A JSON array written as it streams, one row per line; valid JSON once complete. */
async function printJsonArray(ctx: Ctx, rows: AsyncIterable<RibRowView>): Promise<void> {
  const out: string[] = ['['];
  let pending: string | null = null;
  for await (const r of rows) {
    if (pending !== null) out.push(pending + ',');
    pending = JSON.stringify(r);
    if (out.length >= 256) await ctx.print(out.splice(0, out.length));
  }
  if (pending !== null) out.push(pending);
  out.push(']');
  await ctx.print(out);
}
