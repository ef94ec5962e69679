// Issue 17: a large config must not turn into one log line per resource. Warnings of one shape
// become one line with a count and the first few places; long lists of effects are cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigIssue } from '../../peers/index.js';
import { cutList, summariseIssues } from '../../src/daemon/summary.js';

const warn = (line: number, name: string, message: string, path = 'spec.node'): ConfigIssue => ({
  severity: 'warning',
  file: 'c.yaml',
  line,
  resource: `BlockAffinity/${name}`,
  path,
  message,
});

test('issue 17: 10k warnings of one kind are one line with the count and examples; other kinds keep their own lines', () => {
  const many = Array.from({ length: 10_000 }, (_, i) => warn(10 + i * 8, `aff-${i}`, `no Node named "node-${i}" in the model`));
  const other = warn(5, 'x', 'unknown field (ignored)', 'spec.colour');
  const lines = summariseIssues([other, ...many]);
  assert.deepEqual(lines, [
    'c.yaml:5: BlockAffinity/x: spec.colour: warning: unknown field (ignored)',
    'c.yaml:10: BlockAffinity/aff-0: spec.node: warning: no Node named "node-0" in the model [and 9999 more like it, e.g. c.yaml:18 BlockAffinity/aff-1; c.yaml:26 BlockAffinity/aff-2]',
  ]);
  // Up to three of a kind are written out in full.
  assert.equal(summariseIssues(many.slice(0, 3)).length, 3);
});

test('issue 17: cutList writes the first examples and one line for the rest', () => {
  const seen: string[] = [];
  cutList(
    Array.from({ length: 25 }, (_, i) => i),
    (i) => seen.push(`added ${i}`),
    (n) => seen.push(`and ${n} more`),
    10,
  );
  assert.equal(seen.length, 11);
  assert.equal(seen[10], 'and 15 more');
});
