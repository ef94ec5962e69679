// bgpctl commands that change the running ternd (neighbor, reload, fib, log) and the health
// verdict for exec probes.
import type { Argv, CommandModule } from 'yargs';
import { NEIGHBOR_ACTIONS, type HealthView, type NeighborAction, type NeighborAllResult, type ReloadResult } from '../control/api.js';
import { LOG_LEVEL_NAMES } from '../control/server.js';
import { checkShutdownMessage } from '../control/validate.js';
import { EXIT_FAILED, needNeighbor, printJson, run, UsageError, type GlobalArgs } from './common.js';
import { formatHealth, formatReload } from './format.js';

interface NeighborArgs extends GlobalArgs {
  address: string;
  action: NeighborAction;
  message?: string;
  hard: boolean;
}

export const neighborCommand: CommandModule<GlobalArgs, NeighborArgs> = {
  command: 'neighbor <address> <action>',
  describe: 'clear (reset), refresh (ask for a ROUTE-REFRESH), down or up a session, or every session with `all`',
  builder: (y) =>
    y
      .positional('address', { type: 'string', demandOption: true, describe: 'neighbor address, address:port as show config prints it, or all' })
      .positional('action', { choices: NEIGHBOR_ACTIONS, demandOption: true, describe: 'what to do' })
      .option('message', { alias: 'm', type: 'string', describe: 'RFC 9003 shutdown communication for clear/down (max 255 bytes UTF-8)' })
      .option('hard', {
        type: 'boolean',
        default: false,
        describe: 'clear or down with Cease/Hard Reset (RFC 8538): the peer drops our routes instead of keeping them stale',
      })
      .example('$0 neighbor 198.18.0.2 down -m "maintenance until 14:00"', 'take a session down with a message the peer logs')
      .example('$0 neighbor all clear', 'reset every session (OpenBGPD: bgpctl neighbor all clear)') as unknown as Argv<NeighborArgs>,
  handler: (args) =>
    run(
      args,
      () => {
        if (args.address !== 'all') needNeighbor(args.address);
        if (args.message !== undefined) {
          const m = checkShutdownMessage(args.message);
          if (!m.ok) throw new UsageError(m.message);
          if (args.action === 'refresh' || args.action === 'up') throw new UsageError(`--message goes with clear or down, not ${args.action}`);
        }
        if (args.hard && args.action !== 'clear' && args.action !== 'down') throw new UsageError('--hard goes with clear or down');
      },
      async (ctx) => {
        const address = args.address === 'all' ? 'all' : needNeighbor(args.address);
        const req = { address, action: args.action, ...(args.message !== undefined ? { message: args.message } : {}), hard: args.hard };
        if (address === 'all') {
          const r = await ctx.client.request<NeighborAllResult>('neighbor.action', req);
          if (ctx.args.json) return printJson(ctx, r);
          await ctx.print([
            `${args.action} requested for ${r.done.length} ${r.done.length === 1 ? 'neighbor' : 'neighbors'}${r.done.length ? `: ${r.done.join(' ')}` : ''}`,
            ...r.skipped.map((x) => `  skipped ${x.address}: ${x.reason}`),
          ]);
          return;
        }
        await ctx.client.request('neighbor.action', req);
        if (ctx.args.json) return printJson(ctx, { ok: true });
        await ctx.print(`neighbor ${address}: ${args.action} requested`);
      },
    ),
};

export const reloadCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'reload',
  describe: 're-read the model; on error the running configuration stays',
  handler: (args) =>
    run(
      args,
      () => {},
      async (ctx) => {
        const r = await ctx.client.request<ReloadResult>('reload');
        if (ctx.args.json) await printJson(ctx, r);
        else await ctx.print(formatReload(r));
        return r.ok ? 0 : EXIT_FAILED;
      },
    ),
};

type FibMode = 'couple' | 'decouple' | 'flush';

export const fibCommand: CommandModule<GlobalArgs, GlobalArgs & { mode: FibMode }> = {
  command: 'fib <mode>',
  describe:
    'couple: write routes to the kernel; decouple: stop writing, leave the kernel as it is; flush (decoupled only): remove every Tern route from the kernel',
  builder: (y) =>
    y.positional('mode', { choices: ['couple', 'decouple', 'flush'] as const, demandOption: true }) as unknown as Argv<GlobalArgs & { mode: FibMode }>,
  handler: (args) =>
    run(
      args,
      () => {},
      async (ctx) => {
        if (args.mode === 'flush') {
          const r = await ctx.client.request<{ removed: number }>('fib.flush');
          if (ctx.args.json) return printJson(ctx, r);
          await ctx.print(`fib flushed: ${r.removed} Tern routes removed from the kernel; bgpctl fib couple writes them back`);
          return;
        }
        await ctx.client.request('fib.couple', { coupled: args.mode === 'couple' });
        if (ctx.args.json) return printJson(ctx, { ok: true });
        await ctx.print(
          args.mode === 'couple'
            ? 'fib coupled: kernel writes on'
            : 'fib decoupled: kernel writes off, the kernel keeps the routes it has (bgpctl fib flush removes them)',
        );
      },
    ),
};

const logLevel: CommandModule<GlobalArgs, GlobalArgs & { level: string }> = {
  command: 'level <level>',
  describe: "change ternd's log level at run time",
  builder: (y) => y.positional('level', { choices: LOG_LEVEL_NAMES, demandOption: true }) as unknown as Argv<GlobalArgs & { level: string }>,
  handler: (args) =>
    run(
      args,
      () => {},
      async (ctx) => {
        await ctx.client.request('log.level', { level: args.level });
        if (ctx.args.json) return printJson(ctx, { ok: true });
        await ctx.print(`log level set to ${args.level}`);
      },
    ),
};

export const logCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'log',
  describe: "change ternd's log level: log level <trace|debug|info|warn|error|fatal>",
  builder: (y) => y.command(logLevel).demandCommand(1),
  handler: () => {},
};

export const healthCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'health',
  describe: 'live/ready verdict for an exec probe: exit 0 ready, 1 not ready, 2 unreachable',
  handler: (args) =>
    run(
      args,
      () => {},
      async (ctx) => {
        const h = await ctx.client.request<HealthView>('health');
        if (ctx.args.json) await printJson(ctx, h);
        else await ctx.print(formatHealth(h, ctx.text));
        return h.ready ? 0 : EXIT_FAILED;
      },
    ),
};
