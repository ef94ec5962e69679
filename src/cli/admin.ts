// bgpctl commands that change the running ternd (neighbor, reload, fib, log) and the health
// verdict for exec probes.
import type { Argv, CommandModule } from 'yargs';
import { NEIGHBOR_ACTIONS, type HealthView, type NeighborAction, type ReloadResult } from '../control/api.js';
import { LOG_LEVEL_NAMES } from '../control/server.js';
import { checkAddress, checkShutdownMessage } from '../control/validate.js';
import { EXIT_FAILED, printJson, run, UsageError, type GlobalArgs } from './common.js';
import { formatHealth, formatReload } from './format.js';

interface NeighborArgs extends GlobalArgs {
  address: string;
  action: NeighborAction;
  message?: string;
  hard: boolean;
}

export const neighborCommand: CommandModule<GlobalArgs, NeighborArgs> = {
  command: 'neighbor <address> <action>',
  describe: 'clear (reset), refresh (ask for a ROUTE-REFRESH), down or up a session',
  builder: (y) =>
    y
      .positional('address', { type: 'string', demandOption: true, describe: 'neighbor address' })
      .positional('action', { choices: NEIGHBOR_ACTIONS, demandOption: true, describe: 'what to do' })
      .option('message', { alias: 'm', type: 'string', describe: 'RFC 9003 shutdown communication for clear/down (max 255 bytes UTF-8)' })
      .option('hard', { type: 'boolean', default: false, describe: 'clear or down with Cease/Hard Reset (RFC 8538): the peer drops our routes instead of keeping them stale' })
      .example('$0 neighbor 198.18.0.2 down -m "maintenance until 14:00"', 'take a session down with a message the peer logs') as unknown as Argv<NeighborArgs>,
  handler: (args) =>
    run(
      args,
      () => {
        const a = checkAddress(args.address);
        if (!a.ok) throw new UsageError(a.message);
        if (args.message !== undefined) {
          const m = checkShutdownMessage(args.message);
          if (!m.ok) throw new UsageError(m.message);
          if (args.action === 'refresh' || args.action === 'up') throw new UsageError(`--message goes with clear or down, not ${args.action}`);
        }
        if (args.hard && args.action !== 'clear' && args.action !== 'down') throw new UsageError('--hard goes with clear or down');
      },
      async (ctx) => {
        const req = { address: args.address, action: args.action, ...(args.message !== undefined ? { message: args.message } : {}), hard: args.hard };
        await ctx.client.request('neighbor.action', req);
        if (ctx.args.json) return printJson(ctx, { ok: true });
        await ctx.print(`neighbor ${args.address}: ${args.action} requested`);
      },
    ),
};

export const reloadCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'reload',
  describe: 're-read the model; on error the running configuration stays',
  handler: (args) =>
    run(args, () => {}, async (ctx) => {
      const r = await ctx.client.request<ReloadResult>('reload');
      if (ctx.args.json) await printJson(ctx, r);
      else await ctx.print(formatReload(r));
      return r.ok ? 0 : EXIT_FAILED;
    }),
};

export const fibCommand: CommandModule<GlobalArgs, GlobalArgs & { mode: 'couple' | 'decouple' }> = {
  command: 'fib <mode>',
  describe: 'couple: write routes to the kernel; decouple: stop writing (and remove Tern routes)',
  builder: (y) => y.positional('mode', { choices: ['couple', 'decouple'] as const, demandOption: true }) as unknown as Argv<GlobalArgs & { mode: 'couple' | 'decouple' }>,
  handler: (args) =>
    run(args, () => {}, async (ctx) => {
      await ctx.client.request('fib.couple', { coupled: args.mode === 'couple' });
      if (ctx.args.json) return printJson(ctx, { ok: true });
      await ctx.print(args.mode === 'couple' ? 'fib coupled' : 'fib decoupled');
    }),
};

const logLevel: CommandModule<GlobalArgs, GlobalArgs & { level: string }> = {
  command: 'level <level>',
  describe: "change ternd's log level at run time",
  builder: (y) => y.positional('level', { choices: LOG_LEVEL_NAMES, demandOption: true }) as unknown as Argv<GlobalArgs & { level: string }>,
  handler: (args) =>
    run(args, () => {}, async (ctx) => {
      await ctx.client.request('log.level', { level: args.level });
      if (ctx.args.json) return printJson(ctx, { ok: true });
      await ctx.print(`log level set to ${args.level}`);
    }),
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
    run(args, () => {}, async (ctx) => {
      const h = await ctx.client.request<HealthView>('health');
      if (ctx.args.json) await printJson(ctx, h);
      else await ctx.print(formatHealth(h, ctx.text));
      return h.ready ? 0 : EXIT_FAILED;
    }),
};
