// What every fuzzer shares: the seed (fixed in `npm test`, rotating in CI), and failures kept as
// fixture files that the normal suite replays.
//
// FUZZ_SEED=<n> replays one run; FUZZ_SEED=random (what .ci/run sets) draws a new seed each run.
// The seed is printed in the test name, so a CI failure names the command that reproduces it.
// A failing input is written to test/fixtures/fuzz/<fuzzer>-<seed>-<hash>.hex in the source tree
// (FUZZ_SAVE=0 turns that off); commit the file and every later `npm test` replays it first.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { messageToJson } from '../../bgp/codec/index.js';
import type { BgpMessage } from '../../bgp/codec/types.js';

export const FUZZ_FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'fuzz');

const drawn = Math.floor(Math.random() * 2 ** 31);

/**
 * The run's seed, the value to put in FUZZ_SEED to replay it (printed in each fuzz test's name).
 * Each fuzzer derives its own stream from it (`prng(seed + its offset)`).
 */
export function fuzzSeed(): number {
  const s = process.env.FUZZ_SEED;
  const base = s === 'random' ? drawn : Number(s ?? 1);
  if (!Number.isFinite(base)) throw new Error(`FUZZ_SEED=${s}: a number or "random"`);
  return base >>> 0;
}

/** Seconds each fuzzer runs (at least its minimum number of cases). */
export const FUZZ_SECONDS = Number(process.env.FUZZ_SECONDS ?? 2);

/**
 * Keeps a failing input as test/fixtures/fuzz/<fuzzer>-<seed>-<hash>.hex: comment lines (why,
 * how to reproduce), then one hex line per message or datagram. Returns the path written.
 */
export function saveFailure(fuzzer: string, seed: number, inputs: Buffer[], why: string, context = ''): string | undefined {
  if (process.env.FUZZ_SAVE === '0') return undefined;
  const hash = crypto.createHash('sha256').update(Buffer.concat(inputs)).digest('hex').slice(0, 10);
  const file = path.join(FUZZ_FIXTURES, `${fuzzer}-${seed}-${hash}.hex`);
  const lines = [
    `# found by the ${fuzzer} fuzzer, FUZZ_SEED=${seed}, ${new Date().toISOString()}`,
    ...why
      .split('\n')
      .slice(0, 6)
      .map((l) => `# ${l}`),
    ...(context ? [`# context: ${context}`] : []),
    ...inputs.map((b) => b.toString('hex')),
  ];
  try {
    fs.mkdirSync(FUZZ_FIXTURES, { recursive: true });
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  } catch {
    return undefined; // a read-only checkout: the failure message still carries the bytes
  }
}

export interface SavedFailure {
  file: string;
  /** The `# context:` words, if any. */
  context: string;
  inputs: Buffer[];
}

/** Saved failures of one fuzzer, to replay before the random run. */
export function loadFailures(fuzzer: string): SavedFailure[] {
  if (!fs.existsSync(FUZZ_FIXTURES)) return [];
  return fs
    .readdirSync(FUZZ_FIXTURES)
    .filter((f) => f.startsWith(`${fuzzer}-`) && f.endsWith('.hex'))
    .sort()
    .map((f) => {
      const text = fs.readFileSync(path.join(FUZZ_FIXTURES, f), 'utf8').split('\n');
      const context = /^#\s*context:\s*(.*)$/.exec(text.find((l) => /^#\s*context:/.test(l)) ?? '')?.[1] ?? '';
      const inputs = text.filter((l) => l.trim() && !l.startsWith('#')).map((l) => Buffer.from(l.trim(), 'hex'));
      return { file: f, context, inputs };
    });
}

/**
 * Runs `check` on an input; on a failure, saves the input and rethrows with the seed and the
 * file, so the CI log says how to reproduce it.
 */
export function guarded<T>(fuzzer: string, seed: number, inputs: () => Buffer[], context: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    const why = err instanceof Error ? (err.stack ?? err.message) : String(err);
    const file = saveFailure(fuzzer, seed, inputs(), why, context);
    const msg = `${fuzzer} fuzz failure (FUZZ_SEED=${seed}${file ? `, saved as ${path.relative(process.cwd(), file)}` : ''}): ${err instanceof Error ? err.message : String(err)}\ninput: ${inputs()
      .map((b) => b.toString('hex'))
      .join(' ')}`;
    throw new Error(msg, { cause: err });
  }
}

/** Content to compare across a round trip: errors and raw AS4 attributes are not content. */
export function content(m: BgpMessage): unknown {
  const j = JSON.parse(JSON.stringify(messageToJson(m))) as Record<string, unknown> & { attrs?: Record<string, unknown> };
  delete j.errors;
  delete j.treatAsWithdraw;
  if (j.attrs) {
    delete j.attrs.as4Path;
    delete j.attrs.as4Aggregator;
    // Attribute order is not content (RFC 4271 §5); the encoder writes by type code.
    if (Array.isArray(j.attrs.unknown)) (j.attrs.unknown as { type: number }[]).sort((a, b) => a.type - b.type);
  }
  return j;
}
