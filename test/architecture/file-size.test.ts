// Issue 12's done-when, as a test so it cannot drift: no source file over ~400 lines without a
// reason in its header. A file over LIMIT lines (400 plus a margin, so one added line is not a
// failure) must say "One file on purpose" in its leading comment, followed by why it stays long;
// otherwise split it by job (src/daemon/daemon.ts did: sessions.ts, routes.ts, daemon-view.ts...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, sources } from './sources.js';

const FOLDERS = ['src', 'bgp', 'fib', 'peers', 'test', 'bench', 'conformance'];
const LIMIT = 420;
const REASON = /\bone file on purpose\b/i;

/** The comment lines (and blank lines) before the first line of code. */
function header(text: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (inBlock) {
      out.push(t);
      if (t.includes('*/')) inBlock = false;
    } else if (t === '' || t.startsWith('//')) out.push(t);
    else if (t.startsWith('/*')) {
      out.push(t);
      inBlock = !t.includes('*/');
    } else break;
  }
  return out;
}

test('issue 12: every source file over 420 lines says in its header why it is one file', () => {
  const files = sources(FOLDERS);
  assert.ok(files.length > 300, `found only ${files.length} .ts files under ${FOLDERS.join(', ')}`);
  const long = files.map((f) => ({ f, lines: fs.readFileSync(path.join(ROOT, f), 'utf8').split('\n').length - 1 })).filter((x) => x.lines > LIMIT);
  const bare = long.filter(({ f }) => !header(fs.readFileSync(path.join(ROOT, f), 'utf8')).some((l) => REASON.test(l)));
  assert.deepEqual(
    bare.map(({ f, lines }) => `${f} (${lines} lines)`),
    [],
    'split these by job, or say "One file on purpose: <why>" in their header comment',
  );
});

test('issue 12: the header reader stops at the first line of code (so a reason further down does not count)', () => {
  assert.deepEqual(header('// a\n/**\n * b\n */\n\nimport x;\n// One file on purpose\n'), ['// a', '/**', '* b', '*/', '']);
  assert.deepEqual(header('/* one line */\nconst x = 1;'), ['/* one line */']);
});
