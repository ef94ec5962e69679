// The module rules of docs/architecture.md as a test (issue 12), so they cannot drift: which
// layer may import which, and no import cycle between files. Reads the TypeScript sources (not
// dist/) and resolves relative imports the way Node resolves the compiled ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, sources } from './sources.js';

const LAYERS = ['bgp', 'fib', 'peers', 'src'] as const;

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|\brequire\(\s*['"]([^'"]+)['"]\s*\)|\bimport\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;

/** file -> the project files it imports (relative specifiers only; packages are not layers). */
function importGraph(): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const f of sources(LAYERS)) {
    const edges = new Set<string>();
    const text = fs
      .readFileSync(path.join(ROOT, f), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:])\/\/.*$/gm, '$1');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
      if (!spec.startsWith('.') || spec.endsWith('.json')) continue;
      const base = path.normalize(path.join(path.dirname(f), spec)).replace(/\.js$/, '');
      const hit = [`${base}.ts`, path.join(base, 'index.ts')].find((c) => fs.existsSync(path.join(ROOT, c)));
      assert.ok(hit, `${f}: cannot resolve ${spec}`);
      edges.add(hit);
    }
    g.set(f, edges);
  }
  return g;
}

/** Strongly connected components with more than one file (Tarjan). */
function cycles(g: Map<string, Set<string>>): string[][] {
  let n = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, n);
    low.set(v, n++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

test('docs/architecture.md: each layer imports only what it may', () => {
  const g = importGraph();
  const layer = (f: string) => f.split(path.sep)[0];
  const bad: string[] = [];
  for (const [f, edges] of g) {
    for (const t of edges) {
      const [a, b] = [layer(f), layer(t)];
      // The protocol core never imports peers/ or fib/ (or the wiring).
      if (a === 'bgp' && b !== 'bgp') bad.push(`${f} -> ${t}: bgp/ imports only bgp/`);
      // fib/ consumes plain change records: never the RIB, the Calico model or the wiring.
      if (a === 'fib' && (b === 'peers' || b === 'src' || t.startsWith(path.join('bgp', 'rib'))))
        bad.push(`${f} -> ${t}: fib/ never imports the RIB, peers/ or src/`);
      // peers/ never writes the kernel, and never reaches into the wiring.
      if (a === 'peers' && (b === 'fib' || b === 'src')) bad.push(`${f} -> ${t}: peers/ never imports fib/ or src/`);
    }
  }
  assert.deepEqual(bad, []);
});

// Issue 12: bgp/ is layered in folders, each importing only downward: codec (the wire format
// and its types) at the bottom; the sans-IO session core (fsm: FSM, negotiation, collision,
// dispatch, counters) on the codec; the RIB on the codec alone; the I/O drivers (io: sockets,
// timers, the speaker) on fsm and codec; BFD on the I/O layer's socket helpers.
const BGP_MAY_IMPORT: Record<string, readonly string[]> = {
  codec: [],
  fsm: ['codec'],
  rib: ['codec'],
  io: ['codec', 'fsm'],
  bfd: ['io', 'codec'],
};

test('docs/architecture.md: bgp/ folders import only downward (codec <- fsm <- io; codec <- rib; io <- bfd)', () => {
  const bad: string[] = [];
  for (const [f, edges] of importGraph()) {
    const p = f.split(path.sep);
    if (p[0] !== 'bgp') continue;
    assert.ok(p.length > 2 && p[1] in BGP_MAY_IMPORT, `${f}: every bgp/ file lives in one of ${Object.keys(BGP_MAY_IMPORT).join(', ')}`);
    for (const t of edges) {
      const q = t.split(path.sep);
      if (q[0] !== 'bgp' || q[1] === p[1]) continue;
      if (!BGP_MAY_IMPORT[p[1]].includes(q[1])) bad.push(`${f} -> ${t}: bgp/${p[1]} may import only ${BGP_MAY_IMPORT[p[1]].join(', ') || 'itself'}`);
    }
  }
  assert.deepEqual(bad, []);
});

// Issue 12: no two files import each other, directly or around a circle (a type-only import
// counts: it couples the files as much). The RIB's parts share state through bgp/rib/core.ts.
test('no import cycle between files', () => {
  assert.deepEqual(cycles(importGraph()), [], 'an import cycle');
});

test('the cycle finder finds a cycle (it is not a no-op)', () => {
  const g = new Map([
    ['a', new Set(['b'])],
    ['b', new Set(['c'])],
    ['c', new Set(['a'])],
    ['d', new Set(['a'])],
  ]);
  assert.deepEqual(cycles(g), [['a', 'b', 'c']]);
});
