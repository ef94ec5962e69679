// Issue 16: the field-coverage table in docs/configuration.md is generated from the readers'
// own field lists (peers/model/fields.ts), and each status does what the table says: a refused
// field is an error, a warned one a warning naming it, an unknown one an error with a
// did-you-mean (kubectl strict field validation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ConfigError, formatIssue, parseModel } from '../../peers/index.js';
import { COVERAGE_BEGIN, COVERAGE_END, didYouMean, fieldCoverageMarkdown, SECTIONS } from '../../peers/model/fields.js';

const DOC = path.resolve(__dirname, '..', '..', '..', 'docs', 'configuration.md');

test('docs/configuration.md field coverage is exactly what the code accepts (npm run docs:fields regenerates it)', () => {
  const text = fs.readFileSync(DOC, 'utf8');
  const a = text.indexOf(COVERAGE_BEGIN),
    b = text.indexOf(COVERAGE_END);
  assert.ok(a >= 0 && b > a, 'coverage markers present');
  assert.equal(text.slice(a + COVERAGE_BEGIN.length, b).trim(), fieldCoverageMarkdown().trim(), 'docs/configuration.md is stale: run npm run docs:fields');
});

const peer = (extra: string): string =>
  `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p}\nspec:\n  peerIP: 198.18.0.1\n  asNumber: 65001\n${extra}`;
const issues = (text: string): { errors: string[]; warnings: string[] } => {
  try {
    return { errors: [], warnings: parseModel(text, 'f.yaml').warnings.map(formatIssue) };
  } catch (e) {
    const all = (e as ConfigError).issues;
    return { errors: all.filter((i) => i.severity === 'error').map(formatIssue), warnings: all.filter((i) => i.severity === 'warning').map(formatIssue) };
  }
};

test('each status does what the table says: refused -> error, warned -> one warning, unknown -> error with did-you-mean', () => {
  assert.match(issues(peer('  localWorkloadSelector: a == "b"\n')).errors.join('\n'), /spec\.localWorkloadSelector: not supported by Tern/);
  assert.match(issues(peer('  nodeselector: all()\n')).errors.join('\n'), /spec\.nodeselector: unknown field: did you mean "nodeSelector"\?/);
  assert.match(issues(peer('  frobnicate: 1\n')).errors.join('\n'), /spec\.frobnicate: unknown field \(known: node, nodeSelector,/);
  // A warned field used by many resources is one warning, with a count.
  const cfg = (n: number) => `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: node.n${n}}\nspec: {ipv4NormalRoutePriority: 1024}\n`;
  const w = issues([cfg(1), cfg(2), cfg(3)].join('---\n')).warnings.filter((x) => /NormalRoutePriority/.test(x));
  assert.equal(w.length, 1);
  assert.match(w[0], /not implemented by Tern \(ignored\): .* \(and in 2 more resources\)$/);
});

test('every section lists each field once, and every warned or refused field says why', () => {
  for (const [section, fields] of Object.entries(SECTIONS)) {
    const names = fields.map((f) => f.name);
    assert.equal(new Set(names).size, names.length, `${section}: duplicate field`);
    for (const f of fields) if (f.status === 'warned' || f.status === 'refused') assert.ok(f.note, `${section}.${f.name}: no note`);
  }
});

test('did-you-mean: case first, then edit distance; nothing for a far-off name', () => {
  assert.equal(didYouMean('nodeselector', ['node', 'nodeSelector']), 'nodeSelector');
  assert.equal(didYouMean('peerIp', ['peerIP', 'peerSelector']), 'peerIP');
  assert.equal(didYouMean('asNumbr', ['asNumber', 'localASNumber']), 'asNumber');
  assert.equal(didYouMean('zzz', ['asNumber', 'node']), undefined);
});
