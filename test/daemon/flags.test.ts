// ternd parses its flags without yargs on the usual path (src/flags.ts, issue 18: yargs held
// ~10-15 MB for the daemon's whole life). The oracle is yargs itself: for every well-formed
// line the quick parse must return exactly what yargs returns for the same chain, and every
// line yargs would refuse or answer itself (help, version) must go to yargs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import yargs, { type Argv } from 'yargs';
import { lazyYargs, quickParse } from '../../src/flags.js';
import type { Options } from 'yargs';

// The kinds of option src/ternd.ts declares: string with a short alias, choices with a default,
// number with and without a default, plain optional string.
const OPTIONS: Record<string, Options> = {
  datastore: { choices: ['file', 'etcd', 'kubernetes'], default: 'file', describe: 'where the model comes from' },
  config: { alias: 'c', type: 'string', describe: 'model file' },
  node: { alias: 'n', type: 'string', describe: 'node name' },
  fib: { choices: ['kernel', 'none'], default: 'kernel', describe: 'FIB' },
  table: { type: 'number', default: 254, describe: 'kernel table' },
  metric: { type: 'number', describe: 'route metric' },
  'log-level': { choices: ['trace', 'debug', 'info'], describe: 'log level' },
  'control-socket': { type: 'string', describe: 'socket path' },
};

function chain(y: Argv): Argv {
  let c = y.scriptName('ternd').usage('$0 [options]');
  for (const [k, o] of Object.entries(OPTIONS)) c = c.option(k, o);
  return c.strict().help().version('version', 'print the version', 'ternd test');
}

const GOOD = [
  [],
  ['-c', 'cluster.yaml', '--node', 'node-a'],
  ['--config=cluster.yaml', '--fib', 'none', '--table', '100'],
  ['-n', 'x', '--log-level', 'debug', '--metric', '32', '--control-socket', '/tmp/s.sock'],
  ['--datastore', 'etcd', '--table', '0x10'],
];
const FOR_YARGS = [
  ['--fib', 'nope'],
  ['--bogus'],
  ['--table', 'x'],
  ['--table', ''],
  ['--node', 'a', '--node', 'b'],
  ['-c', 'a', '--config', 'b'],
  ['--help'],
  ['--version'],
  ['positional'],
  ['--config'],
];

test('issue 18: a well-formed ternd command line parses without yargs into exactly what yargs returns', async () => {
  for (const args of GOOD) {
    const want = await chain(yargs(args)).parseAsync();
    const got = await chain(lazyYargs(args)).parseAsync();
    assert.deepEqual(got, want, `flags ${JSON.stringify(args)}`);
  }
});

test('issue 18: help, version and every line yargs refuses or turns into arrays are left to yargs', async () => {
  const opts = new Map(Object.entries(OPTIONS));
  for (const args of FOR_YARGS) assert.equal(quickParse(args, opts, 'ternd'), undefined, `flags ${JSON.stringify(args)}`);
  // A replayed chain is yargs' own: a value outside choices is refused with its message.
  const y = chain(lazyYargs(['--fib', 'nope']))
    .exitProcess(false)
    .fail((msg: string) => {
      throw new Error(msg);
    });
  await assert.rejects(
    Promise.resolve().then(() => y.parseAsync()),
    /Choices: "kernel", "none"/,
  );
  // A number yargs cannot read stays yargs' NaN rather than a refusal of ours.
  assert.ok(Number.isNaN((await chain(lazyYargs(['--table', 'x'])).parseAsync()).table));
});
