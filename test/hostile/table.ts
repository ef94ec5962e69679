// Renders the hostile-case table of docs/security.md from test/hostile/cases.ts, so the document
// says what the suites check and nothing else. `node dist/test/hostile/table.js --write`
// rewrites the table in place; test/hostile/doc.test.ts fails when they differ.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { CASES, describeOutcome, type HostileCase } from './cases.js';
import { PENDING_DEFECT_FIXES } from './pending.js';

export const BEGIN = '<!-- hostile-cases:begin (generated from test/hostile/cases.ts; do not edit) -->';
export const END = '<!-- hostile-cases:end -->';
export const DOC = path.resolve(__dirname, '..', '..', '..', 'docs', 'security.md');

const cell = (s: string): string => s.replace(/\|/g, '\\|');

function ternOutcome(c: HostileCase): string {
  if (PENDING_DEFECT_FIXES.has(c.id)) {
    if (c.defect?.startsWith('new:')) return `**differs**: ${c.defect.slice(4).trim()}; found by these suites, no fix yet (test marked TODO)`;
    return `**differs** until the fix for issue 15 ${c.defect} is merged (test marked TODO)`;
  }
  return 'same';
}

export function renderTable(cases: HostileCase[] = CASES): string {
  const rows = cases.map(
    (c) => `| \`${c.id}\` | ${cell(c.source)} | ${cell(c.shape)} | ${cell(describeOutcome(c.expect))}; ${cell(c.rule)} | ${cell(ternOutcome(c))} |`,
  );
  return [BEGIN, '| Case | Source | What the peer sends | The RFCs require | Tern |', '|---|---|---|---|---|', ...rows, END].join('\n');
}

/** The generated block as it stands in the document (undefined when the markers are missing). */
export function tableInDoc(text: string): string | undefined {
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  return a < 0 || b < a ? undefined : text.slice(a, b + END.length);
}

if (require.main === module && process.argv.includes('--write')) {
  const text = fs.readFileSync(DOC, 'utf8');
  const old = tableInDoc(text);
  if (!old) throw new Error(`${DOC}: markers not found`);
  fs.writeFileSync(DOC, text.replace(old, renderTable()));
}
