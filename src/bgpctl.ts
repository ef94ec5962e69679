#!/usr/bin/env node
// bgpctl: operate a running ternd over its control socket (and decode BGP messages offline).
// Wiring only: each command is a module in src/cli/ registered on one yargs instance below.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { fibCommand, healthCommand, logCommand, neighborCommand, reloadCommand } from './cli/admin.js';
import { globalOptions } from './cli/common.js';
import { versionLine } from './build-info.js';
import { COMPLETION_FLAG, completeNeighbor } from './cli/complete.js';
import { decodeCommand } from './cli/decode.js';
import { showCommand } from './cli/show.js';

const jsonWanted = (argv: string[]): boolean => argv.some((a) => a === '-j' || a === '--json' || /^-[a-zA-Z]*j[a-zA-Z]*$/.test(a));

async function main(): Promise<void> {
  // `bgpctl show rib | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  // Neighbor addresses come from the running daemon; everything else from yargs below.
  if (process.argv.includes(COMPLETION_FLAG) && (await completeNeighbor(process.argv))) return;
  const cli = globalOptions(yargs(hideBin(process.argv)))
    .scriptName('bgpctl')
    .usage('$0 <command> [options]\n\nOperate ternd, the Tern BGP daemon, over its control socket.')
    .command(showCommand)
    .command(neighborCommand)
    .command(reloadCommand)
    .command(fibCommand)
    .command(logCommand)
    .command(healthCommand)
    .command(decodeCommand)
    .completion('completion', 'print a bash/zsh completion script (source <(bgpctl completion))')
    .demandCommand(1, 'which command? try `bgpctl show`')
    .strict()
    .showHelpOnFail(false, 'run with --help for usage')
    .fail((msg, err) => {
      // A usage error under -j is JSON on stdout too, like every other error (docs/bgpctl.md).
      const message = msg ?? err?.message ?? 'usage error';
      if (jsonWanted(process.argv)) process.stdout.write(JSON.stringify({ error: { code: 'usage', message } }, null, 2) + '\n');
      else process.stderr.write(`${message}\nrun with --help for usage\n`);
      process.exit(1);
    })
    .help()
    .alias('help', 'h')
    .version('version', 'print the version, the git commit of the build and the node version', versionLine('bgpctl'))
    .wrap(Math.min(100, process.stdout.columns || 100));
  await cli.parseAsync();
}

void main();
