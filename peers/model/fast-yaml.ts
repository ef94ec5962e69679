/**
 * A fast reader for the plain block YAML that Calico manifests are made of (what `kubectl get
 * -o yaml`, `calicoctl get -o yaml` and hand-written files use): block mappings and sequences,
 * plain, single- and double-quoted one-line scalars, `[]` and `{}`, comments. It builds the same
 * YNode tree as the general path in reader.ts, about an order of magnitude faster (issue 17: a
 * 50 MB file of 248k IPAMBlocks must load in seconds; the yaml package reads ~1 MB/s here).
 *
 * It never guesses: anything outside that subset (anchors, aliases, tags, block scalars,
 * multi-line plain scalars, non-empty flow collections, tabs in indentation, duplicate keys,
 * escapes it does not know) makes it return undefined for the document, and the caller reads
 * that document with the yaml package instead. test/peers/fast-yaml.test.ts checks that both
 * paths give the same tree on every fixture and on random documents.
 *
 * Scalars resolve as the YAML 1.2 core schema does (yaml's default): null, booleans, decimal,
 * octal (0o) and hex (0x) integers, floats, .inf and .nan; anything else is a string.
 */
import type { YNode } from './ynode.js';

interface Line {
  /** 1-based line number in the whole text. */
  no: number;
  indent: number;
  /** The content after the indentation (comments still in it). */
  text: string;
}

/** Thrown inside the reader when the document leaves the subset; caught in readFast. */
class NotFast extends Error {}
const notFast = (): never => {
  throw new NotFast();
};

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['true', 'True', 'TRUE']);
const FALSES = new Set(['false', 'False', 'FALSE']);
const INT_RE = /^[-+]?[0-9]+$/;
const OCT_RE = /^0o[0-7]+$/;
const HEX_RE = /^0x[0-9a-fA-F]+$/;
const FLOAT_RE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const INF_RE = /^[-+]?\.(?:inf|Inf|INF)$/;
const NAN_RE = /^\.(?:nan|NaN|NAN)$/;

/** The core-schema value of a plain scalar. */
export function resolvePlain(s: string): unknown {
  if (NULLS.has(s)) return null;
  if (TRUES.has(s)) return true;
  if (FALSES.has(s)) return false;
  const c = s.charCodeAt(0);
  // Only text starting with a digit, sign or dot can be a number.
  if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) {
    if (INT_RE.test(s)) return Number(s);
    if (OCT_RE.test(s)) return parseInt(s.slice(2), 8);
    if (HEX_RE.test(s)) return parseInt(s.slice(2), 16);
    if (FLOAT_RE.test(s)) return Number(s);
    if (INF_RE.test(s)) return s[0] === '-' ? -Infinity : Infinity;
    if (NAN_RE.test(s)) return NaN;
  }
  return s;
}

/** Characters that start something other than a plain scalar (YAML 1.2 c-indicator). */
const INDICATOR = new Set(['&', '*', '!', '|', '>', '%', '@', '`', '[', ']', '{', '}', ',', '#', '"', "'"]);
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', '/': '/', n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b' };

/** Removes a trailing ` # comment` and spaces from what follows a scalar or `[]`; must leave nothing. */
function restIsEmpty(rest: string): boolean {
  const t = rest.trimStart();
  return t === '' || (t.startsWith('#') && (rest.length === 0 || rest[0] === ' '));
}

/** One scalar (or `[]`/`{}`) that is the rest of a line. */
function inlineValue(text: string, no: number): YNode {
  const c = text[0];
  if (c === '"') {
    let out = '';
    let i = 1;
    for (;;) {
      if (i >= text.length) notFast(); // continues on the next line
      const ch = text[i];
      if (ch === '"') break;
      if (ch === '\\') {
        const e = ESCAPES[text[i + 1]];
        if (e === undefined) notFast();
        out += e;
        i += 2;
        continue;
      }
      out += ch;
      i++;
    }
    if (!restIsEmpty(text.slice(i + 1))) notFast();
    return { t: 'scalar', line: no, value: out, source: out };
  }
  if (c === "'") {
    let out = '';
    let i = 1;
    for (;;) {
      if (i >= text.length) notFast();
      if (text[i] === "'") {
        if (text[i + 1] === "'") {
          out += "'";
          i += 2;
          continue;
        }
        break;
      }
      out += text[i++];
    }
    if (!restIsEmpty(text.slice(i + 1))) notFast();
    return { t: 'scalar', line: no, value: out, source: out };
  }
  if (c === '[' || c === '{') {
    if (text[1] !== (c === '[' ? ']' : '}') || !restIsEmpty(text.slice(2))) notFast();
    return c === '[' ? { t: 'seq', line: no, items: [] } : { t: 'map', line: no, entries: new Map() };
  }
  if (INDICATOR.has(c) || ((c === '-' || c === '?' || c === ':') && (text.length === 1 || text[1] === ' '))) notFast();
  const hash = text.indexOf(' #');
  const plain = (hash >= 0 ? text.slice(0, hash) : text).trimEnd();
  // `a: b: c` and tabs are errors or surprises for the yaml package: let it say so.
  if (plain.includes(': ') || plain.endsWith(':') || plain.includes('\t')) notFast();
  return { t: 'scalar', line: no, value: resolvePlain(plain), source: plain };
}

/**
 * A key the fast path may take: plain, no comment or trailing space in it, and one the core
 * schema reads as a string (reader.ts keys by String(key.value): `1`, `true` or `null` as keys
 * print differently, so the yaml package reads those).
 */
function plainStringKey(key: string): boolean {
  const c = key.charCodeAt(0);
  const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
  if (!letter) {
    if (INDICATOR.has(key[0]) || key.startsWith('- ') || key.startsWith('? ') || typeof resolvePlain(key) !== 'string') return false;
  } else if (c === 110 || c === 78 || c === 116 || c === 84 || c === 102 || c === 70) {
    if (typeof resolvePlain(key) !== 'string') return false; // null, true, false in their spellings
  }
  return key.charCodeAt(key.length - 1) !== 32 && !key.includes(' #');
}

/** Where a mapping key ends: the first `: ` or a final `:`; -1 when the line is not `key: ...`. */
function keyEnd(text: string): number {
  const i = text.indexOf(': ');
  if (i >= 0) return i;
  return text.endsWith(':') ? text.length - 1 : -1;
}

class Block {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly lines: Line[],
    private readonly maxDepth: number,
  ) {}

  /** The whole document: one block node at the first line's indentation. */
  document(): YNode {
    const first = this.lines[0];
    const node = this.node(first.indent);
    if (this.i < this.lines.length) notFast(); // something less indented than the root
    return node;
  }

  private isSeqItem(l: Line): boolean {
    return l.text === '-' || l.text.startsWith('- ');
  }

  private node(indent: number): YNode {
    // Too deep: the yaml path reports the depth limit by name.
    if (++this.depth > this.maxDepth) notFast();
    try {
      const l = this.lines[this.i];
      if (this.isSeqItem(l)) return this.seq(indent);
      if (keyEnd(l.text) > 0) return this.map(indent);
      return notFast();
    } finally {
      this.depth--;
    }
  }

  /** The value after `key:` or `-` with nothing on the line: a nested block, or null. */
  private nested(parentIndent: number, no: number, seqAtSameIndent: boolean): YNode {
    const next = this.lines[this.i];
    if (next && next.indent > parentIndent) return this.node(next.indent);
    if (next && seqAtSameIndent && next.indent === parentIndent && this.isSeqItem(next)) return this.seq(parentIndent);
    return { t: 'scalar', line: no, value: null, source: '' };
  }

  private map(indent: number): YNode {
    const entries = new Map<string, { keyLine: number; value: YNode }>();
    const line = this.lines[this.i].no;
    while (this.i < this.lines.length) {
      const l = this.lines[this.i];
      if (l.indent < indent) break;
      if (l.indent > indent || this.isSeqItem(l)) notFast();
      const k = keyEnd(l.text);
      if (k <= 0) notFast();
      const key = l.text.slice(0, k);
      if (!plainStringKey(key) || entries.has(key)) notFast();
      const rest = l.text.slice(k + 1).trimStart();
      this.i++;
      let value: YNode;
      if (rest === '' || rest.startsWith('#')) value = this.nested(indent, l.no, true);
      else {
        value = inlineValue(rest, l.no);
        // A deeper line after a one-line value would continue a plain scalar.
        const next = this.lines[this.i];
        if (next && next.indent > indent) notFast();
      }
      entries.set(key, { keyLine: l.no, value });
    }
    return { t: 'map', line, entries };
  }

  private seq(indent: number): YNode {
    const items: YNode[] = [];
    const line = this.lines[this.i].no;
    while (this.i < this.lines.length) {
      const l = this.lines[this.i];
      if (l.indent < indent) break;
      if (l.indent > indent || !this.isSeqItem(l)) {
        if (l.indent === indent) break; // a mapping key after the sequence (key:\n- a\nnext: b)
        notFast();
      }
      const rest = l.text.slice(1).trimStart();
      if (rest === '' || rest.startsWith('#')) {
        this.i++;
        items.push(this.nested(indent, l.no, false));
        continue;
      }
      // `- key: value` or `- - x`: a compact block whose indentation is where its text starts.
      if (rest.startsWith('- ') || rest === '-' || keyEnd(rest) > 0) {
        this.lines[this.i] = { no: l.no, indent: indent + (l.text.length - rest.length), text: rest };
        items.push(this.node(indent + (l.text.length - rest.length)));
        continue;
      }
      this.i++;
      items.push(inlineValue(rest, l.no));
      const next = this.lines[this.i];
      if (next && next.indent > indent) notFast();
    }
    return { t: 'seq', line, items };
  }
}

/** The document's structural lines (blank and comment-only lines dropped). */
function linesOf(text: string, firstLine: number): Line[] {
  const out: Line[] = [];
  let no = firstLine - 1;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    no++;
    let s = text.slice(start, end);
    start = end + 1;
    if (s.endsWith('\r')) s = s.slice(0, -1);
    let indent = 0;
    while (s.charCodeAt(indent) === 32) indent++;
    const body = s.slice(indent);
    if (body === '' || body.startsWith('#')) continue;
    if (body[0] === '\t') notFast();
    out.push({ no, indent, text: body.trimEnd() });
    if (end === text.length) break;
  }
  return out;
}

/**
 * The tree of one document's text (without its `---` line), `firstLine` being the line number of
 * its first line in the file; null for an empty document; undefined when it is outside the subset.
 */
export function readFast(text: string, firstLine: number, maxDepth = 64): YNode | null | undefined {
  try {
    const lines = linesOf(text, firstLine);
    if (lines.length === 0) return null;
    if (lines[0].indent !== 0 && lines.some((l) => l.indent < lines[0].indent)) return undefined;
    return new Block(lines, maxDepth).document();
  } catch (e) {
    if (e instanceof NotFast) return undefined;
    throw e;
  }
}

/** One document of a multi-document text: its text and the line its first line has in the file. */
export interface DocChunk {
  text: string;
  firstLine: number;
}

/**
 * Splits a multi-document text at `---` and `...` lines (YAML 1.2 §9.1: a line starting with a
 * document marker ends any scalar, so the split is exact). Undefined when the text has directives
 * (`%YAML`) or content on a `---` line: the yaml package reads those.
 */
export function splitDocuments(text: string): DocChunk[] | undefined {
  const b = splitDocumentBounds(text);
  if (!b) return undefined;
  const chunks: DocChunk[] = [];
  for (let i = 0; i < b.count; i++) chunks.push({ text: text.slice(b.at[3 * i], b.at[3 * i + 1]), firstLine: b.at[3 * i + 2] });
  return chunks;
}

/**
 * splitDocuments as numbers: document i is text.slice(at[3i], at[3i+1]) and starts at line
 * at[3i+2]. A 250k-document file held 250k chunk objects and their strings for the whole read
 * (issue 17); this holds 12 bytes per document, and each text is sliced when its turn comes.
 */
export function splitDocumentBounds(text: string): { count: number; at: Uint32Array } | undefined {
  let at = new Uint32Array(3 * 1024);
  let count = 0;
  const push = (from: number, to: number, firstLine: number) => {
    if (3 * count + 3 > at.length) {
      const bigger = new Uint32Array(at.length * 2);
      bigger.set(at);
      at = bigger;
    }
    at[3 * count] = from;
    at[3 * count + 1] = to;
    at[3 * count + 2] = firstLine;
    count++;
  };
  let start = 0;
  let startLine = 1;
  let line = 1;
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const c = text.charCodeAt(pos);
    if (c === 37 /* % */) return undefined;
    if ((c === 45 || c === 46) && (text.startsWith('---', pos) || text.startsWith('...', pos))) {
      const after = text.slice(pos + 3, end).replace(/\r$/, '');
      if (after === '' || /^\s+(#.*)?$/.test(after)) {
        push(start, pos, startLine);
        start = end + 1;
        startLine = line + 1;
      } else if (text.startsWith('---', pos) && /^\s/.test(after)) return undefined;
    }
    if (end === text.length) break;
    pos = end + 1;
    line++;
  }
  // A text ending in a marker line leaves start one past its end: slice() gives '' there too.
  push(Math.min(start, text.length), text.length, startLine);
  return { count, at };
}
