// Calico selector language (libcalico-go lib/selector): semantics table and parse errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSelector, SelectorError } from '../../peers/selector.js';

const A = { rack: 'a', zone: 'eu-west-1', 'kubernetes.io/hostname': 'node-a', 'route-reflector': 'true' };
const B = { rack: 'b', zone: 'us-east-1' };
const NONE = {};

// [selector, matches A, matches B, matches NONE]
const TABLE: [string, boolean, boolean, boolean][] = [
  ['all()', true, true, true],
  ['global()', true, true, true],
  ['', true, true, true],
  ['has(rack)', true, true, false],
  ['!has(rack)', false, false, true],
  ['has( route-reflector )', true, false, false],
  ["rack == 'a'", true, false, false],
  ['rack == "a"', true, false, false],
  ["rack != 'a'", false, true, true], // Calico: != also matches a node without the label
  ["rack in {'a','b'}", true, true, false],
  ['rack in {}', false, false, false],
  ["rack not in {'a'}", false, true, true],
  ["zone contains 'west'", true, false, false],
  ["zone starts with 'us-'", false, true, false],
  ["zone ends with '-1'", true, true, false],
  ["kubernetes.io/hostname == 'node-a'", true, false, false],
  ["!(rack == 'a')", false, true, true],
  ["rack == 'a' || rack == 'b'", true, true, false],
  ["rack == 'a' && zone == 'eu-west-1'", true, false, false],
  // && binds tighter than ||: a || (b && c)
  ["rack == 'b' || rack == 'a' && zone == 'nowhere'", false, true, false],
  ["(rack == 'b' || rack == 'a') && zone == 'eu-west-1'", true, false, false],
  ['!!has(rack)', true, true, false],
  ["!has(rack) || rack in {'b'}", false, true, true],
  ['route-reflector == "true" && all()', true, false, false],
];

test('selector semantics table (Calico selector reference)', () => {
  for (const [sel, a, b, none] of TABLE) {
    const s = parseSelector(sel);
    assert.equal(s.matches(A), a, `${sel} on A`);
    assert.equal(s.matches(B), b, `${sel} on B`);
    assert.equal(s.matches(NONE), none, `${sel} on no labels`);
  }
});

test('a label may be spelled like an operator word (Calico tokenizer rule)', () => {
  assert.equal(parseSelector("in == 'x'").matches({ in: 'x' }), true);
  assert.equal(parseSelector("contains in {'x'}").matches({ contains: 'x' }), true);
});

const ERRORS: [string, RegExp][] = [
  ["rack == 'a' &&", /^selector "rack == 'a' &&": expected an expression after '&&' at column 13$/],
  ["rack == 'a' ||", /expected an expression after '\|\|' at column 13/],
  ['!', /expected an expression after '!' at column 1/],
  ['rack ==', /expected a quoted string after '==' at column 6/],
  ["rack = 'a'", /expected '==' but found '=' at column 6/],
  ["rack == 'a", /unterminated string at column 9/],
  ["(rack == 'a'", /expected '\)' to close '\(' from column 1 at column 13/],
  ['has(rack', /expected '\)' to close has\( at column 9/],
  ['has()', /expected a label name in has\( at column 5/],
  ["rack 'a'", /expected an operator after label 'rack', found 'a' at column 6/],
  ['rack', /expected an operator after label 'rack' at column 5/],
  ["rack in {'a' 'b'}", /expected ',' or '}' at column 14/],
  ["rack in 'a'", /expected '\{' after 'in' at column 9/],
  ["rack == 'a' rack == 'b'", /unexpected 'rack' at column 13/],
  ['all() )', /unexpected '\)' at column 7/],
  ['rack == $', /unexpected character '\$' at column 9/],
  ['a & b', /expected '&&' but found '&' at column 3/],
];

test('parse errors name the column', () => {
  for (const [sel, re] of ERRORS) {
    assert.throws(
      () => parseSelector(sel),
      (e: unknown) => {
        assert.ok(e instanceof SelectorError, `${sel}: ${String(e)}`);
        assert.match(e.message, re, sel);
        return true;
      },
    );
  }
});
