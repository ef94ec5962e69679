// bgpctl show peers|neighbor|rib|fib|config: read-only views of the running ternd.
import type { Argv, CommandModule } from 'yargs';
import type { ConfigView, FibRowView, NeighborView, PeerView, RibRowView } from '../control/api.js';
import { checkAddress, checkPrefix } from '../control/validate.js';
import { bfdShow } from './bfd.js';
import { printJson, run, UsageError, type GlobalArgs } from './common.js';
import { RIB_LEGEND, formatConfig, formatFib, formatNeighbor, formatPeers, formatRibDetail, formatRibRow, ribHeader } from './format.js';

function needAddress(a: string): void {
  const c = checkAddress(a);
  if (!c.ok) throw new UsageError(c.message);
}

function needPrefix(p: string | undefined): void {
  if (p === undefined) return;
  const c = checkPrefix(p);
  if (!c.ok) throw new UsageError(c.message);
}

const peers: CommandModule<GlobalArgs, GlobalArgs> = {
  command: ['peers', 'summary', '$0'],
  describe: 'one line per BGP session (the default of `bgpctl show`)',
  handler: (args) =>
    run(args, () => {}, async (ctx) => {
      const data = await ctx.client.request<PeerView[]>('show.peers');
      if (ctx.args.json) return printJson(ctx, data);
      await ctx.print(formatPeers(data, ctx.text));
    }),
};

const neighbor: CommandModule<GlobalArgs, GlobalArgs & { address: string }> = {
  command: 'neighbor <address>',
  aliases: ['nei'],
  describe: 'everything about one session',
  builder: (y) => y.positional('address', { type: 'string', demandOption: true, describe: 'neighbor address' }) as Argv<GlobalArgs & { address: string }>,
  handler: (args) =>
    run(args, () => needAddress(args.address), async (ctx) => {
      const data = await ctx.client.request<NeighborView>('show.neighbor', { address: args.address });
      if (ctx.args.json) return printJson(ctx, data);
      await ctx.print(formatNeighbor(data, ctx.text));
    }),
};

interface RibArgs extends GlobalArgs {
  prefix?: string;
  in?: boolean;
  out?: boolean;
  neighbor?: string;
  family?: 'ipv4' | 'ipv6';
  detail: boolean;
}

const rib: CommandModule<GlobalArgs, RibArgs> = {
  command: 'rib [prefix]',
  describe: 'Loc-RIB (or Adj-RIB-In/Out): flags, prefix, next hop, LOCAL_PREF, MED, AS_PATH, origin',
  builder: (y) =>
    y
      .positional('prefix', { type: 'string', describe: 'a prefix (exact) or an address (longest match)' })
      .option('in', { type: 'boolean', describe: 'Adj-RIB-In: paths as received, before the decision' })
      .option('out', { type: 'boolean', describe: 'Adj-RIB-Out: paths as advertised' })
      .conflicts('in', 'out')
      .option('neighbor', { type: 'string', describe: 'only paths from (or, with --out, to) this neighbor' })
      .option('family', { choices: ['ipv4', 'ipv6'] as const, describe: 'only this address family' })
      .option('detail', { type: 'boolean', default: false, describe: 'every path, all attributes, and why it lost' }) as unknown as Argv<RibArgs>,
  handler: (args) =>
    run(
      args,
      () => {
        needPrefix(args.prefix);
        if (args.neighbor !== undefined) needAddress(args.neighbor);
      },
      async (ctx) => {
        const query = {
          view: args.in ? 'in' : args.out ? 'out' : 'loc',
          ...(args.prefix !== undefined ? { prefix: args.prefix } : {}),
          ...(args.neighbor !== undefined ? { neighbor: args.neighbor } : {}),
          ...(args.family !== undefined ? { family: args.family } : {}),
          ...(args.detail ? { detail: true } : {}),
        };
        const rows = ctx.client.stream<RibRowView>('show.rib', query);
        if (ctx.args.json) {
          // A JSON array written as it streams, one row per line; valid JSON once complete.
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
          return;
        }
        let prev: string | null = null;
        let header = false;
        const buf: string[] = [];
        for await (const r of rows) {
          if (!header) {
            buf.push(...RIB_LEGEND);
            if (!args.detail) buf.push(ribHeader(ctx.text));
            header = true;
          }
          if (args.detail) buf.push(...formatRibDetail(r, prev, ctx.text));
          else buf.push(formatRibRow(r, ctx.text));
          prev = r.prefix;
          if (buf.length >= 256) await ctx.print(buf.splice(0, buf.length));
        }
        if (!header) buf.push(args.prefix !== undefined ? `${args.prefix}: no such route` : 'no routes');
        await ctx.print(buf);
      },
    ),
};

const fib: CommandModule<GlobalArgs, GlobalArgs & { prefix?: string }> = {
  command: 'fib [prefix]',
  describe: "routes Tern installs in the kernel, beside the kernel's own view",
  builder: (y) => y.positional('prefix', { type: 'string', describe: 'only this prefix' }) as Argv<GlobalArgs & { prefix?: string }>,
  handler: (args) =>
    run(args, () => needPrefix(args.prefix), async (ctx) => {
      const data: FibRowView[] = [];
      for await (const r of ctx.client.stream<FibRowView>('show.fib', args.prefix !== undefined ? { prefix: args.prefix } : {})) data.push(r);
      if (ctx.args.json) return printJson(ctx, data);
      await ctx.print(formatFib(data, ctx.text));
    }),
};

const config: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'config',
  describe: 'the effective model for this node: AS, router ID, planned peers and why, advertised prefixes',
  handler: (args) =>
    run(args, () => {}, async (ctx) => {
      const data = await ctx.client.request<ConfigView>('show.config');
      if (ctx.args.json) return printJson(ctx, data);
      await ctx.print(formatConfig(data, ctx.text));
    }),
};

export const showCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'show',
  describe: 'show peers, a neighbor, the RIB, the FIB, the config or BFD sessions',
  builder: (y) => y.command(peers).command(neighbor).command(rib).command(fib).command(config).command(bfdShow),
  handler: () => {},
};
