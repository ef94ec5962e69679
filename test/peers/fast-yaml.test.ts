// The fast block-YAML path (peers/model/fast-yaml.ts, issue 17: a 50 MB file must load in
// seconds) must read every document exactly as the yaml package does, or hand it to the yaml
// package. Oracle: the yaml package itself (readWithYaml), an independent implementation; the
// trees are compared node by node, line numbers included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { DEFAULT_READ_LIMITS, readWithYaml, readYamlDocuments, type YNode } from '../../peers/model/reader.js';
import { readFast, resolvePlain, splitDocuments } from '../../peers/model/fast-yaml.js';
import { bgpPeersYaml, ipamBlocksYaml } from '../../bench/config-gen.js';
import type { ConfigIssue } from '../../peers/index.js';

const ROOT = join(__dirname, '..', '..', '..');

/** A tree as comparable data (Maps as entry lists; a null scalar's line is the yaml package's business). */
function plain(n: YNode | undefined): unknown {
  if (!n) return n;
  if (n.t === 'map') return { map: n.line, entries: [...n.entries].map(([k, e]) => [k, e.keyLine, plain(e.value)]) };
  if (n.t === 'seq') return { seq: n.line, items: n.items.map(plain) };
  return n.value === null ? { null: true } : { line: n.line, value: n.value, source: n.source };
}

/** Both readings of `text`; asserts they agree; returns how many documents took the fast path. */
function agree(text: string, what: string): number {
  const slowIssues: ConfigIssue[] = [];
  const fastIssues: ConfigIssue[] = [];
  const slow = readWithYaml(text, 'f.yaml', slowIssues, DEFAULT_READ_LIMITS, 0);
  const fast = readYamlDocuments(text, 'f.yaml', fastIssues, DEFAULT_READ_LIMITS);
  // Same errors; the line of an unterminated quote can differ (the document split ends it at the
  // next `---`, where YAML 1.2 §9.1 says it must end).
  assert.deepEqual(
    fastIssues.map((i) => i.message),
    slowIssues.map((i) => i.message),
    `${what}: same issues`,
  );
  // A text with a syntax error is refused whole either way; what the yaml package makes of the
  // documents after an unterminated quote is not a model anyone runs.
  if (!slowIssues.length)
    assert.deepEqual(
      fast.map((d) => plain(d.root)),
      slow.map((d) => plain(d.root)),
      `${what}: same trees`,
    );
  let n = 0;
  for (const c of splitDocuments(text) ?? []) if (readFast(c.text, c.firstLine)) n++;
  return n;
}

test('issue 17: the fast path reads the fixtures, the example config and generated files exactly as the yaml package', () => {
  for (const f of ['test/fixtures/cluster-full.yaml', 'config/example.yaml']) agree(readFileSync(join(ROOT, f), 'utf8'), f);
  assert.ok(agree(ipamBlocksYaml(200), 'blocks') >= 200, 'generated blocks take the fast path');
  assert.ok(agree(bgpPeersYaml(100), 'peers') >= 100);
});

test('issue 17: core-schema scalars resolve as YAML 1.2 says (and as the yaml package does)', () => {
  const cases = [
    '0o17',
    '012',
    '+5',
    '-0',
    '1.',
    '.5',
    '1e3',
    '1.0e+3',
    '0x1F',
    '1_000',
    '~',
    'null',
    'NULL',
    'True',
    'FALSE',
    'yes',
    'no',
    'on',
    '2026-01-01',
    '.inf',
    '-.Inf',
    '.NaN',
    '99999999999999999999',
    '10.244.0.0/26',
    'host:node-1',
    '64512',
    '-',
    '0.0.0.0',
    '1:2::/64',
    '0b101',
    '00',
  ];
  for (const c of cases) agree(`k: ${c}\n`, c);
  assert.equal(resolvePlain('0o17'), 15);
  assert.equal(resolvePlain('yes'), 'yes', 'YAML 1.2: yes is a string');
});

test('issue 17: edge cases either match the yaml package or fall back to it', () => {
  const docs = [
    'a:\n- 1\n- 2\nb: x\n',
    'a:\n  - x: 1\n    y: 2\n  - z\n',
    '- a\n- - b\n  - c\n- k: v\n',
    "a: \"q\\\"uote\\\\ \\n\"\nb: 'it''s'\n",
    'a: "unknown \\x41 escape"\n',
    'a: &x 1\nb: *x\n',
    'a: |\n  block\n',
    'a: >\n  folded\n',
    'a: [1, 2]\n',
    'a: {b: c}\n',
    'a: []\nb: {}\n',
    'a: multi\n  line plain\n',
    'a: b: c\n',
    'a: 1\na: 2\n',
    '"q": 1\n',
    '? complex\n: v\n',
    'a:\tb\n',
    'a: x # comment\n# full\nb:   # c\n  c: 1\n',
    '1: numeric key\n',
    'true: bool key\n',
    'a:\n\n  b: 1\n\n',
    '  a: 1\n  b: 2\n',
    'a: 1\n b: 2\n',
    'a:\n  b: 1\n c: 2\n',
    'a: !!str 1\n',
    "a: 'unterminated\n",
    'a: "two\n  lines"\n',
    'scalar root\n',
    '- x\ny: 1\n',
    'a:\r\n  b: 1\r\n',
    'a: x#not-comment\n',
    'a: -5\nb: - x\n',
    'a: 1 # c\n  b: 2\n',
    'k: v\n...\n',
    '--- # c\nk: v\n',
    '%YAML 1.2\n---\nk: v\n',
    '--- k: v\n',
    'a:\n- 1\n  - 2\n',
    'a: http://x:1/y\n',
    'a: ":"\n',
    'a: [] x\n',
  ];
  for (const d of docs) {
    agree(d, JSON.stringify(d));
    agree(`apiVersion: v1\n---\n${d}---\nkind: X\n`, `multi ${JSON.stringify(d)}`);
  }
});

test('issue 17: random block-style documents read alike on both paths (yaml.stringify as the writer)', () => {
  let seed = 17;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
  const words = [
    'a',
    'spec',
    'x y',
    '10.0.0.0/8',
    '1',
    '0x10',
    'true',
    'null',
    '',
    ' lead',
    'trail ',
    'q"uote',
    "it's",
    '#hash',
    'a: b',
    '- d',
    'ü',
    '1.5',
    '-0',
    '~',
    'k#v',
    'é: x',
  ];
  const value = (depth: number): unknown => {
    const r = rnd(depth > 3 ? 3 : 6);
    if (r === 0) return words[rnd(words.length)];
    if (r === 1) return rnd(1000) - 500;
    if (r === 2) return rnd(2) === 0;
    if (r === 3) return Object.fromEntries(Array.from({ length: rnd(4) }, () => [words[rnd(words.length)] || 'k', value(depth + 1)]));
    if (r === 4) return Array.from({ length: rnd(4) }, () => value(depth + 1));
    return null;
  };
  let fast = 0;
  for (let i = 0; i < 400; i++) {
    const docs = Array.from({ length: 1 + rnd(3) }, () => stringify({ kind: 'K', spec: value(0) }, { indentSeq: rnd(2) === 0 }));
    fast += agree(docs.join('---\n'), `random #${i}`);
  }
  assert.ok(fast > 300, `most random documents take the fast path (${fast})`);
});
