// docs/security.md carries the hostile-case table; it must be exactly what the case list (and
// the list of cases waiting for a fix) renders, so the document cannot claim an outcome no test
// checks. Regenerate with `npm run build && node dist/test/hostile/table.js --write`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { CASES } from './cases.js';
import { DOC, renderTable, tableInDoc } from './table.js';

test("issue 15: docs/security.md's hostile-case table is the one rendered from test/hostile/cases.ts", () => {
  const inDoc = tableInDoc(fs.readFileSync(DOC, 'utf8'));
  assert.ok(inDoc, 'docs/security.md has lost its table markers');
  assert.equal(inDoc, renderTable(), 'docs/security.md is out of date: run node dist/test/hostile/table.js --write');
});

test('issue 15: hostile case ids are unique and every rule names an RFC section (RFC NNNN §x)', () => {
  assert.equal(new Set(CASES.map((c) => c.id)).size, CASES.length);
  for (const c of CASES) assert.match(c.rule, /RFC \d+ \u00a7\d/, c.id);
  for (const c of CASES) assert.ok(!!c.open !== !!c.messages, `${c.id}: either an OPEN-stage or an Established-stage case`);
});
