// bgpctl show peers|neighbor|rib|fib|config|status: read-only views of the running ternd.
import type { Argv, CommandModule } from 'yargs';
import type { ConfigView, FibRowView, NeighborView, PeerView, StatusView } from '../control/api.js';
import { needNeighbor, needPrefix, printJson, run, type GlobalArgs } from './common.js';
import { formatConfig, formatFib, formatNeighbor, formatPeers, formatStatus } from './format.js';
import { ribCommand } from './show-rib.js';
import { bfdShow } from './bfd.js';

const peers: CommandModule<GlobalArgs, GlobalArgs> = {
  command: ['peers', 'summary', '$0'],
  describe: 'one line per BGP session (the default of `bgpctl show`)',
  handler: (args) =>
    run(
      args,
      () => {},
      async (ctx) => {
        const data = await ctx.client.request<PeerView[]>('show.peers');
        if (ctx.args.json) return printJson(ctx, data);
        await ctx.print(formatPeers(data, ctx.text));
      },
    ),
};

const neighbor: CommandModule<GlobalArgs, GlobalArgs & { address: string }> = {
  command: 'neighbor <address>',
  aliases: ['nei'],
  describe: 'everything about one session',
  builder: (y) =>
    y.positional('address', { type: 'string', demandOption: true, describe: 'neighbor address, or address:port as show config prints it' }) as Argv<
      GlobalArgs & { address: string }
    >,
  handler: (args) =>
    run(
      args,
      () => void needNeighbor(args.address),
      async (ctx) => {
        const data = await ctx.client.request<NeighborView>('show.neighbor', { address: needNeighbor(args.address) });
        if (ctx.args.json) return printJson(ctx, data);
        await ctx.print(formatNeighbor(data, ctx.text));
      },
    ),
};

const fib: CommandModule<GlobalArgs, GlobalArgs & { prefix?: string }> = {
  command: 'fib [prefix]',
  describe: "routes Tern installs in the kernel, beside the kernel's own view",
  builder: (y) => y.positional('prefix', { type: 'string', describe: 'only this prefix' }) as Argv<GlobalArgs & { prefix?: string }>,
  handler: (args) =>
    run(
      args,
      () => needPrefix(args.prefix),
      async (ctx) => {
        const data: FibRowView[] = [];
        for await (const r of ctx.client.stream<FibRowView>('show.fib', args.prefix !== undefined ? { prefix: args.prefix } : {})) data.push(r);
        if (ctx.args.json) return printJson(ctx, data);
        // Whether the kernel is written at all decides what the comparison means (--fib none, decoupled).
        const st = await ctx.client.request<StatusView>('show.status');
        await ctx.print(formatFib(data, ctx.text, st.fib));
      },
    ),
};

const config: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'config',
  describe: 'the effective model for this node: AS, router ID, planned peers and why, advertised prefixes',
  handler: (args) =>
    run(
      args,
      () => {},
      async (ctx) => {
        const data = await ctx.client.request<ConfigView>('show.config');
        if (ctx.args.json) return printJson(ctx, data);
        await ctx.print(formatConfig(data, ctx.text));
      },
    ),
};

const status: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'status',
  describe: 'version, uptime, router ID, memory, RIB and FIB counts, datastore state',
  handler: (args) =>
    run(
      args,
      () => {},
      async (ctx) => {
        const data = await ctx.client.request<StatusView>('show.status');
        if (ctx.args.json) return printJson(ctx, data);
        await ctx.print(formatStatus(data, ctx.text));
      },
    ),
};

export const showCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'show',
  describe: 'show peers, a neighbor, the RIB, the FIB, the config, the status or BFD sessions',
  builder: (y) => y.command(peers).command(neighbor).command(ribCommand).command(fib).command(config).command(status).command(bfdShow),
  handler: () => {},
};
