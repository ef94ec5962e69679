// What every bgpctl command shares: global flags, connecting, exit codes, writing output.
// Exit codes: 0 ok, 1 the command failed (unknown neighbor, bad prefix, reload rejected, not
// ready), 2 the daemon could not be reached.
import type { Argv } from 'yargs';
import { ControlError } from '../control/api.js';
import { ControlClient, UnreachableError } from '../control/client.js';
import { checkNeighborKey, checkPrefix } from '../control/validate.js';
import { checkSocketOwner, clientSocketPath, UnsafeSocketError } from '../paths.js';
import type { TextOptions } from './table.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_UNREACHABLE = 2;

export interface GlobalArgs {
  socket?: string;
  json: boolean;
  color: boolean;
}

export function globalOptions<T>(y: Argv<T>): Argv<T & GlobalArgs> {
  return y
    .option('socket', { alias: 's', type: 'string', describe: 'control socket of ternd (default: TERN_SOCKET, then /run/tern/ternd.sock)', global: true })
    .option('json', { alias: 'j', type: 'boolean', default: false, describe: 'print JSON (stable field names, see docs/bgpctl.md)', global: true })
    .option('color', { type: 'boolean', default: true, describe: 'color on a terminal (--no-color to turn off; NO_COLOR is honoured)', global: true });
}

/** A mistake in the command line found before talking to ternd. */
export class UsageError extends Error {}

/** Everything a command needs to talk and print. */
export interface Ctx {
  client: ControlClient;
  args: GlobalArgs;
  text: TextOptions;
  /** Writes lines to stdout, waiting when the pipe is full. */
  print(lines: string | string[]): Promise<void>;
}

async function write(s: string): Promise<void> {
  if (!process.stdout.write(s)) await new Promise<void>((r) => process.stdout.once('drain', () => r()));
}

export function textOptions(args: GlobalArgs): TextOptions {
  const tty = Boolean(process.stdout.isTTY);
  return {
    color: tty && args.color && !process.env.NO_COLOR,
    now: Date.now(),
    // A pty without a size (script, some CI) reports 0 columns: then do not trim at all.
    width: tty && process.stdout.columns > 0 ? process.stdout.columns : undefined,
  };
}

/**
 * Runs one command: checks arguments, connects, maps failures to messages and exit codes.
 * Never throws, so yargs never prints its usage text for a failure of the daemon.
 */
export async function run(args: GlobalArgs, check: () => void, body: (ctx: Ctx) => Promise<number | void>): Promise<void> {
  let client: ControlClient | null = null;
  try {
    check();
    const path = clientSocketPath(args.socket);
    checkSocketOwner(path);
    client = await ControlClient.connect(path);
    const ctx: Ctx = {
      client,
      args,
      text: textOptions(args),
      print: (lines) => write(typeof lines === 'string' ? lines + '\n' : lines.map((l) => l + '\n').join('')),
    };
    process.exitCode = (await body(ctx)) ?? EXIT_OK;
  } catch (e) {
    const [code, exit, message] =
      e instanceof UnreachableError
        ? ['unreachable', EXIT_UNREACHABLE, e.message]
        : e instanceof UnsafeSocketError
          ? ['unsafe-socket', EXIT_UNREACHABLE, e.message]
          : e instanceof ControlError
            ? [e.code, EXIT_FAILED, e.message]
            : e instanceof UsageError
              ? ['usage', EXIT_FAILED, e.message]
              : ['internal', EXIT_FAILED, (e as Error).stack ?? String(e)];
    process.exitCode = exit;
    // Under -j a script reads stdout: the error is JSON there too (docs/bgpctl.md "Errors").
    if (args.json) await write(JSON.stringify({ error: { code, message } }, null, 2) + '\n');
    else process.stderr.write(`bgpctl: ${message}\n`);
  } finally {
    client?.close();
  }
}

/** Prints a value as JSON (the view objects as they came over the socket). */
export const printJson = (ctx: Ctx, v: unknown): Promise<void> => ctx.print(JSON.stringify(v, null, 2));

/** A neighbor as show peers / show config name it: address, or address:port. */
export function needNeighbor(a: string): string {
  const c = checkNeighborKey(a);
  if (!c.ok) throw new UsageError(c.message);
  return c.value;
}

export function needPrefix(p: string | undefined): void {
  if (p === undefined) return;
  const c = checkPrefix(p);
  if (!c.ok) throw new UsageError(c.message);
}
