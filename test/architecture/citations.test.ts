// Issue 12: every rule cited in the code names its RFC ("RFC 4271 §8.2.2", never the section alone),
// so that one grep for "RFC 4271 §" finds every place a rule of RFC 4271 is applied. A section
// sign is allowed only on a line that names its document: an RFC, an Internet-Draft, or YAML 1.2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DIRS = ['bgp', 'fib', 'peers', 'src', 'test', 'conformance', 'bench'];
const NAMED = /RFC ?\d{3,5}|RFC NNNN|draft-|YAML/;
const SECTION = '\u00a7'; // written so that this file's own lines carry no section sign

function tsFiles(d: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, d), { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Lines with a section sign that do not say whose section it is. */
export function bareCitations(file: string, text: string): string[] {
  return text.split('\n').flatMap((l, i) => (l.includes(SECTION) && !NAMED.test(l) ? [`${file}:${i + 1}: ${l.trim()}`] : []));
}

test('issue 12: no bare section-sign citation; each names its RFC on the same line', () => {
  const bare = DIRS.flatMap((d) => tsFiles(d).flatMap((f) => bareCitations(f, fs.readFileSync(path.join(ROOT, f), 'utf8'))));
  assert.deepEqual(bare, []);
});

test('the citation check sees a bare one (it is not a no-op)', () => {
  const text = `// RFC 4271 ${SECTION}6.3 ok\n// ${SECTION}8.2.2: bare\n`;
  assert.deepEqual(bareCitations('x.ts', text), [`x.ts:2: // ${SECTION}8.2.2: bare`]);
});
