// Structure-aware fuzzing of the UPDATE decoder (RFC 4271 §6.3, RFC 7606): well-formed UPDATEs
// from test/fuzz/structured.ts, one to three mutations *inside* them, all outer lengths right.
// Properties: decodeMessage throws nothing but BgpError; what decodes re-encodes to the same
// content; and the run reaches the inside: most cases get past the header and the attribute
// framing into the attribute decoders (a fuzzer that dies at the header would fail here).
// Saved failures (test/fixtures/fuzz/structured-*.hex) are replayed first.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage } from '../../bgp/codec/index.js';
import { BgpError, type BgpMessage, type SessionContext } from '../../bgp/codec/types.js';
import { prng } from '../../bench/prng.js';
import { ctxOf } from '../codec/helpers.js';
import { genUpdate, mutateStructured, serialize } from './structured.js';
import { content, FUZZ_SECONDS, fuzzSeed, guarded, loadFailures } from './support.js';

const SEED = fuzzSeed();
const CONTEXTS: Record<string, SessionContext> = { as4: ctxOf(), as2: ctxOf({ as4: false }), 'as4 extended': ctxOf({ extended: true }) };

type Outcome = 'clean' | 'rfc7606' | 'notification';

/** The properties for one message; returns how it ended. */
function check(msg: Buffer, ctx: SessionContext): Outcome {
  let d: BgpMessage;
  try {
    d = decodeMessage(msg, ctx);
  } catch (err) {
    if (!(err instanceof BgpError)) throw err;
    assert.ok(!err.message.startsWith('internal decoder error'), err.message);
    assert.ok(err.code >= 1 && err.code <= 7, `NOTIFICATION code ${err.code}`);
    return 'notification';
  }
  // RFC 6793 §4.2.3 rebuilds a 2-octet session's path from AS_PATH and AS4_PATH; a confederation
  // segment that is not leading cannot survive that (the hostile case `tw-aspath-confed-ebgp`
  // covers what RFC 5065 §5.3 says of such a path), so its round trip is not compared.
  if (!ctx.as4 && d.type === 2 && d.attrs.asPath?.some((s, i) => i > 0 && (s.type === 3 || s.type === 4))) return d.errors?.length ? 'rfc7606' : 'clean';
  let again: Buffer;
  try {
    again = encodeMessage(d, ctx);
  } catch (err) {
    if (err instanceof RangeError && /exceeds/.test(err.message)) return 'clean';
    throw err;
  }
  assert.deepEqual(content(decodeMessage(again, ctx)), content(d), 'unstable round trip');
  return d.type === 2 && (d.errors?.length || d.treatAsWithdraw) ? 'rfc7606' : 'clean';
}

test('structured fuzz (RFC 7606 §2): saved failures replay clean (test/fixtures/fuzz/structured-*.hex)', () => {
  for (const f of loadFailures('structured')) for (const m of f.inputs) check(m, CONTEXTS[f.context] ?? CONTEXTS.as4);
});

test(`structured fuzz: mutations inside valid UPDATEs reach the attribute decoders and give only BgpError or an RFC 7606 action (RFC 4271 §6.3, RFC 7606 §2) [FUZZ_SEED=${SEED}, ${FUZZ_SECONDS}s]`, (t) => {
  const r = prng(SEED + 100);
  const names = Object.keys(CONTEXTS);
  const count: Record<Outcome, number> = { clean: 0, rfc7606: 0, notification: 0 };
  const codes = new Map<string, number>();
  const deadline = Date.now() + FUZZ_SECONDS * 1000;
  let cases = 0;
  while (Date.now() < deadline || cases < 3000) {
    const name = names[cases % names.length];
    const ctx = CONTEXTS[name];
    let u = genUpdate(r, { as4: ctx.as4, peerAs: 65151 });
    for (let k = 0, n = 1 + Math.floor(r() * 3); k < n; k++) u = mutateStructured(r, u);
    const msg = serialize(u);
    cases++;
    const o = guarded(
      'structured',
      SEED,
      () => [msg],
      name,
      () => check(msg, ctx),
    );
    count[o]++;
    if (o === 'notification') {
      try {
        decodeMessage(msg, ctx);
      } catch (err) {
        const k = `${(err as BgpError).code}/${(err as BgpError).subcode}`;
        codes.set(k, (codes.get(k) ?? 0) + 1);
      }
    }
  }
  const headerDeaths = codes.get('1/2') ?? 0;
  t.diagnostic(
    `${cases} cases: ${count.clean} clean, ${count.rfc7606} with an RFC 7606 action, ${count.notification} NOTIFICATIONs (${[...codes].map(([k, v]) => `${k}:${v}`).join(' ')})`,
  );
  // The point of structure: most cases get into the attributes and out again without a reset.
  assert.ok(headerDeaths < cases * 0.02, `${headerDeaths} of ${cases} died at the header`);
  assert.ok(count.rfc7606 > cases * 0.15, `only ${count.rfc7606} of ${cases} reached an RFC 7606 action`);
  assert.ok(count.clean + count.rfc7606 > cases * 0.5, `only ${count.clean + count.rfc7606} of ${cases} decoded`);
});
