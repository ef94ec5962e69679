// Fuzzing the two parsers that read operator input: whatever the bytes, the only failure is a
// ConfigError / SelectorError with a message (never a TypeError or RangeError from inside).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseModel, parseSelector, planPeers, originatedRoutes, SelectorError } from '../../peers/index.js';

/** Small deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('selector parser: random token soup only ever throws SelectorError', () => {
  const parts = [
    'a',
    'b',
    "'x'",
    '"y"',
    '==',
    '!=',
    '!',
    '&&',
    '||',
    '(',
    ')',
    '{',
    '}',
    ',',
    'in',
    'not in',
    'has(',
    'all()',
    'contains',
    'starts with',
    ' ',
    '=',
    '&',
    '$',
    "'",
  ];
  const r = rng(1);
  for (let i = 0; i < 5000; i++) {
    const text = Array.from({ length: 1 + Math.floor(r() * 8) }, () => parts[Math.floor(r() * parts.length)]).join(' ');
    try {
      const s = parseSelector(text);
      assert.equal(typeof s.matches({ a: 'x', b: 'y' }), 'boolean');
    } catch (e) {
      assert.ok(e instanceof SelectorError, `${text}: ${String(e)}`);
      assert.ok(e.column >= 1 && e.column <= text.length + 1, `${text}: column ${e.column}`);
    }
  }
});

test('model parser: mutated fixture lines only ever give ConfigError, and a parsed model plans', () => {
  const base = readFileSync(join(__dirname, '../../../test/fixtures/cluster-full.yaml'), 'utf8').split('\n');
  const junk = [
    '',
    '- ',
    ': x',
    '{',
    '[1, 2]',
    'null',
    '~',
    '-1',
    '99999999999',
    '"1.2.3"',
    'true',
    'x: y: z',
    '&a',
    '*a',
    '!!binary',
    '  spec:',
    'kind: BGPPeer',
  ];
  const r = rng(7);
  let parsed = 0;
  for (let i = 0; i < 800; i++) {
    const lines = [...base];
    for (let k = 0; k < 1 + Math.floor(r() * 3); k++) {
      const at = Math.floor(r() * lines.length);
      const line = lines[at];
      const colon = line.indexOf(': ');
      lines[at] = colon > 0 && r() < 0.7 ? `${line.slice(0, colon + 2)}${junk[Math.floor(r() * junk.length)]}` : junk[Math.floor(r() * junk.length)];
    }
    try {
      const { model } = parseModel(lines.join('\n'), 'fuzz.yaml');
      parsed++;
      for (const n of model.nodes) {
        planPeers(model, n.name);
        originatedRoutes(model, n.name);
      }
    } catch (e) {
      assert.ok(e instanceof ConfigError, `iteration ${i}: ${e instanceof Error ? e.stack : String(e)}`);
      assert.ok(e.issues.length > 0);
    }
  }
  assert.ok(parsed > 0, 'some mutations still parse, so planning is exercised too');
});
