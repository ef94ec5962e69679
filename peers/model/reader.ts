/**
 * Reading YAML with line numbers. The yaml package's AST is turned into a small tree (YNode)
 * that remembers the line of every key and value; `Reader` decodes typed fields from it and
 * records issues (file, line, resource, field path) instead of stopping at the first one.
 */
import type { Document, Node as YamlNode } from 'yaml';
import type { ConfigIssue, Selector } from '../types.js';
import type { YNode } from './ynode.js';
import { readFast, splitDocumentBounds, type DocChunk } from './fast-yaml.js';
import { parseSelector, SelectorError } from '../selector.js';
import { parseAsn, parseCidr, parseDuration, type Cidr } from './net.js';
import { didYouMean, sectionFields, type Section } from './fields.js';

// The yaml package costs ~8 MB of resident memory once loaded, and only a parse needs it: in
// ternd that is the parser thread (load-worker.ts), while the main thread imports this module
// for its limits and types only (issue 18: what an idle node keeps loaded).
type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | undefined;
const yaml = (): YamlModule => (yamlModule ??= require('yaml') as YamlModule);

export type { YNode } from './ynode.js';

export interface YDoc {
  root: YNode | undefined;
  line: number;
}

/**
 * Bounds on what one YAML text may make the reader build (issue 17: a 1.2 KB "billion laughs"
 * alias bomb froze ternd at 100% CPU and 1.6 GB, because the reader expands aliases itself and
 * the yaml package's own alias limit never applied). Every bound is an error naming itself;
 * docs/configuration.md ("Limits") lists them.
 */
export interface ReadLimits {
  /** Bytes of the whole text (a file, checked before it is read). */
  maxTextBytes: number;
  /** Nodes that alias expansion may add, per document (a real resource uses a handful). */
  maxAliasNodes: number;
  /**
   * Bytes of one YAML document that is a single resource (Kubernetes itself stores at most
   * 1.5 MiB per object). A List (`kubectl get ... -o yaml`) is bounded by maxTextBytes instead.
   */
  maxDocumentBytes: number;
  /** Documents (resources, or items of a List) in one text. */
  maxResources: number;
  /** Nesting depth of mappings and lists. */
  maxDepth: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxTextBytes: 256 * 1024 * 1024,
  maxAliasNodes: 10_000,
  maxDocumentBytes: 4 * 1024 * 1024,
  maxResources: 1_000_000,
  maxDepth: 64,
};

/**
 * Parse every document of a multi-document YAML text; syntax errors and exceeded limits go to
 * `issues`. Documents in plain block style take the fast path (fast-yaml.ts); any other one,
 * and a text that cannot be split safely, is read by the yaml package (readWithYaml).
 */
export function readYamlDocuments(text: string, file: string, issues: ConfigIssue[], limits: ReadLimits = DEFAULT_READ_LIMITS): YDoc[] {
  return [...readYamlDocumentsLazily(text, file, issues, limits)];
}

/**
 * readYamlDocuments one document at a time, so a caller that is done with a document's tree
 * lets it go before the next is built (a 50 MB file never holds all its trees at once).
 */
export function* readYamlDocumentsLazily(text: string, file: string, issues: ConfigIssue[], limits: ReadLimits = DEFAULT_READ_LIMITS): Generator<YDoc> {
  if (text.length > limits.maxTextBytes) {
    issues.push({ severity: 'error', file, line: 1, message: `${text.length} bytes: more than the limit of ${limits.maxTextBytes} bytes` });
    return;
  }
  const bounds = splitDocumentBounds(text);
  if (!bounds) {
    yield* readWithYaml(text, file, issues, limits, 0);
    return;
  }
  const chunk = (i: number): DocChunk => ({ text: text.slice(bounds.at[3 * i], bounds.at[3 * i + 1]), firstLine: bounds.at[3 * i + 2] });
  // Documents with content, found in the text itself (no slice per document).
  let count = 0;
  const content = /\S/g;
  for (let i = 0; i < bounds.count; i++) {
    content.lastIndex = bounds.at[3 * i];
    const m = content.exec(text);
    if (m && m.index < bounds.at[3 * i + 1]) count++;
  }
  if (count > limits.maxResources) {
    issues.push({ severity: 'error', file, line: 1, message: `${count} YAML documents: more than the limit of ${limits.maxResources} resources in one file` });
    return;
  }
  for (let i = 0; i < bounds.count; i++) {
    const c = chunk(i);
    const root = readFast(c.text, c.firstLine, limits.maxDepth);
    if (root === null) continue;
    if (root === undefined) {
      yield* readWithYaml(c.text, file, issues, limits, c.firstLine - 1);
      continue;
    }
    if (c.text.length > limits.maxDocumentBytes && !isListNode(root)) {
      issues.push({
        severity: 'error',
        file,
        line: root.line,
        message: `YAML document of ${c.text.length} bytes: more than the limit of ${limits.maxDocumentBytes} bytes per resource`,
      });
      continue;
    }
    yield { root, line: root.line };
  }
}

/** A fast-path root that is a List (kubectl's output): bounded by maxTextBytes, not per document. */
function isListNode(n: YNode): boolean {
  if (n.t !== 'map') return false;
  const k = n.entries.get('kind')?.value;
  return k?.t === 'scalar' && typeof k.value === 'string' && k.value.endsWith('List');
}

/** The yaml package's reading of `text`, whose first line is line `lineOffset + 1` of the file. */
export function readWithYaml(text: string, file: string, issues: ConfigIssue[], limits: ReadLimits, lineOffset: number): YDoc[] {
  const { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments } = yaml();
  const lc0 = new LineCounter();
  const lc = { linePos: (offset: number) => ({ line: lc0.linePos(offset).line + lineOffset }) };
  const docs = parseAllDocuments(text, { lineCounter: lc0, keepSourceTokens: true, prettyErrors: false });
  const list: Document.Parsed[] = Array.isArray(docs) ? docs : [];
  const out: YDoc[] = [];
  if (list.length > limits.maxResources) {
    issues.push({
      severity: 'error',
      file,
      line: 1,
      message: `${list.length} YAML documents: more than the limit of ${limits.maxResources} resources in one file`,
    });
    return out;
  }
  for (const doc of list) {
    for (const e of doc.errors) {
      const local = lc0.linePos(e.pos[0]).line;
      issues.push({
        severity: 'error',
        file,
        line: local + lineOffset,
        message: `YAML: ${yamlMessage(e.code, e.message, text, e.pos[0], lc0.lineStarts[local - 1] ?? 0)}`,
      });
    }
    if (doc.errors.length) continue;
    const docLine = doc.range ? lc.linePos(doc.range[0]).line : 1;
    const bytes = doc.range ? doc.range[2] - doc.range[0] : 0;
    if (bytes > limits.maxDocumentBytes && !isList(doc.contents)) {
      issues.push({
        severity: 'error',
        file,
        line: docLine,
        message: `YAML document of ${bytes} bytes: more than the limit of ${limits.maxDocumentBytes} bytes per resource`,
      });
      continue;
    }
    const lineOf = (n: YamlNode | null | undefined, fallback: number): number => (n?.range ? lc.linePos(n.range[0]).line : fallback);
    // Nodes built while inside an alias: an alias of an alias of ... multiplies them, so the
    // count, not the number of aliases, is what stays bounded. Past a bound the conversion
    // stops at once (Abort) rather than building the rest of a bomb.
    let aliasNodes = 0;
    class Abort extends Error {}
    const fail = (line: number, message: string): never => {
      issues.push({ severity: 'error', file, line, message });
      throw new Abort(message);
    };
    const convert = (n: unknown, fallback: number, depth: number, inAlias: boolean): YNode => {
      if (depth > limits.maxDepth) fail(fallback, `YAML nested deeper than the limit of ${limits.maxDepth} levels`);
      if (inAlias && ++aliasNodes > limits.maxAliasNodes) {
        fail(fallback, `YAML aliases expand to more than the limit of ${limits.maxAliasNodes} nodes in one document (an alias bomb?)`);
      }
      if (isAlias(n)) return convert(n.resolve(doc), lineOf(n, fallback), depth + 1, true);
      if (isMap(n)) {
        const entries = new Map<string, { keyLine: number; value: YNode }>();
        const line = lineOf(n, fallback);
        for (const p of n.items) {
          const k = isScalar(p.key) ? String(p.key.value) : String(p.key);
          const keyLine = isScalar(p.key) ? lineOf(p.key, line) : line;
          entries.set(k, { keyLine, value: convert(p.value, keyLine, depth + 1, inAlias) });
        }
        return { t: 'map', line, entries };
      }
      if (isSeq(n)) {
        const line = lineOf(n, fallback);
        return { t: 'seq', line, items: n.items.map((i) => convert(i, line, depth + 1, inAlias)) };
      }
      if (isScalar(n)) return { t: 'scalar', line: lineOf(n, fallback), value: n.value, source: n.source ?? String(n.value) };
      return { t: 'scalar', line: fallback, value: null, source: '' };
    };
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) continue; // empty document
    try {
      out.push({ root: convert(contents, 1, 0, false), line: lineOf(contents, 1) });
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
    }
  }
  return out;
}

/**
 * A YAML error in the words of the mistake: a duplicate key names the key (the parser only says
 * "Map keys must be unique"), and an unquoted `[v6]:port` gets the quote hint.
 */
function yamlMessage(code: string, message: string, text: string, pos: number, lineStart: number): string {
  const first = message.split('\n')[0];
  const lineText = text.slice(lineStart, text.indexOf('\n', lineStart) >>> 0);
  if (code === 'DUPLICATE_KEY') {
    const key = /^\s*(?:-\s+)?["']?([^"':]+)["']?\s*:/.exec(text.slice(pos, text.indexOf('\n', pos) >>> 0))?.[1] ?? /^\s*(?:-\s+)?([^:]+):/.exec(lineText)?.[1];
    return key ? `duplicate key ${JSON.stringify(key.trim())} (${first})` : first;
  }
  if (/:\s*\[[0-9A-Fa-f:.]+\]:\d+\s*$/.test(lineText)) return `${first}: quote an IPv6 address with a port, e.g. "[2001:db8::1]:1179"`;
  return first;
}

/** A `kind: List` / `kind: <Kind>List` document (kubectl's output), which holds many resources. */
function isList(n: unknown): boolean {
  if (!yaml().isMap(n)) return false;
  const kind = n.get('kind');
  return typeof kind === 'string' && kind.endsWith('List');
}

const describe = (n: YNode): string => (n.t === 'map' ? 'a mapping' : n.t === 'seq' ? 'a list' : n.value === null ? 'null' : `${JSON.stringify(n.value)}`);

type MapNode = Extract<YNode, { t: 'map' }>;

/** Decodes one resource, recording issues against `file` and `resource`. */
export class Reader {
  constructor(
    readonly file: string,
    readonly resource: string | undefined,
    readonly issues: ConfigIssue[],
  ) {}

  error(line: number, path: string | undefined, message: string): undefined {
    this.issues.push({ severity: 'error', file: this.file, line, resource: this.resource, path, message });
    return undefined;
  }

  warn(line: number, path: string | undefined, message: string): void {
    this.issues.push({ severity: 'warning', file: this.file, line, resource: this.resource, path, message });
  }

  /**
   * A mapping whose keys are checked against `known` (a list, or a section of fields.ts): an
   * unknown key is an error with a did-you-mean (kubectl's strict validation refuses it under
   * Calico, and ignoring `nodeselector` would turn a rack-scoped peer into a global one); a
   * field Tern warns about is warned once per load, one it refuses is an error naming it.
   */
  map(n: YNode | undefined, path: string, known: readonly string[] | Section | null): MapNode | undefined {
    if (!n || (n.t === 'scalar' && n.value === null)) return undefined;
    if (n.t !== 'map') return this.error(n.line, path, `expected a mapping, found ${describe(n)}`);
    if (known === null) return n;
    const fields = typeof known === 'string' ? sectionFields(known) : undefined;
    for (const [k, e] of n.entries) {
      if (fields ? !fields.has(k) : !(known as readonly string[]).includes(k)) {
        const names = fields ? [...fields.keys()] : (known as readonly string[]);
        const hint = didYouMean(k, names);
        this.error(e.keyLine, join(path, k), `unknown field${hint ? `: did you mean ${JSON.stringify(hint)}?` : ` (known: ${names.join(', ')})`}`);
        continue;
      }
      const info = fields?.get(k);
      if (info?.status === 'refused') this.error(e.keyLine, join(path, k), `not supported by Tern: ${info.note}`);
      else if (info?.status === 'warned')
        this.warnOnce(
          e.keyLine,
          join(path, k),
          `${typeof known === 'string' ? known : path}.${k}`,
          info.warning ?? `not implemented by Tern (ignored): ${info.note}`,
        );
    }
    return n;
  }

  /** A warning printed once per load however many resources trigger it (`once` is its key). */
  warnOnce(line: number, path: string | undefined, once: string, message: string): void {
    this.issues.push({ severity: 'warning', file: this.file, line, resource: this.resource, path, message, once });
  }

  get(m: MapNode | undefined, key: string): YNode | undefined {
    const e = m?.entries.get(key);
    if (!e || (e.value.t === 'scalar' && e.value.value === null)) return undefined;
    return e.value;
  }

  lineOf(m: MapNode | undefined, key: string): number {
    return m?.entries.get(key)?.keyLine ?? m?.line ?? 0;
  }

  str(m: MapNode | undefined, key: string, path: string): string | undefined {
    const n = this.get(m, key);
    if (!n) return undefined;
    if (n.t !== 'scalar' || typeof n.value !== 'string') {
      // Numbers and booleans written where a string is expected are taken as their text.
      if (n.t === 'scalar' && (typeof n.value === 'number' || typeof n.value === 'boolean')) return n.source;
      return this.error(n.line, join(path, key), `expected a string, found ${describe(n)}`);
    }
    return n.value;
  }

  bool(m: MapNode | undefined, key: string, path: string): boolean | undefined {
    const n = this.get(m, key);
    if (!n) return undefined;
    if (n.t === 'scalar' && typeof n.value === 'boolean') return n.value;
    return this.error(n.line, join(path, key), `expected true or false, found ${describe(n)}`);
  }

  int(m: MapNode | undefined, key: string, path: string, min: number, max: number): number | undefined {
    const n = this.get(m, key);
    if (!n) return undefined;
    const v = n.t === 'scalar' ? n.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      return this.error(n.line, join(path, key), `expected an integer, found ${describe(n)}`);
    }
    if (v < min || v > max) return this.error(n.line, join(path, key), `${v} is out of range (${min}..${max})`);
    return v;
  }

  asn(m: MapNode | undefined, key: string, path: string): number | undefined {
    const n = this.get(m, key);
    if (!n) return undefined;
    if (n.t !== 'scalar') return this.error(n.line, join(path, key), `expected an AS number, found ${describe(n)}`);
    const r = parseAsn(n.value, n.source);
    return typeof r === 'string' ? this.error(n.line, join(path, key), r) : r;
  }

  duration(m: MapNode | undefined, key: string, path: string): number | undefined {
    const s = this.str(m, key, path);
    if (s === undefined) return undefined;
    const r = parseDuration(s);
    return typeof r === 'string' ? this.error(this.lineOf(m, key), join(path, key), r) : r;
  }

  enumOf<T extends string>(m: MapNode | undefined, key: string, path: string, values: readonly T[]): T | undefined {
    const s = this.str(m, key, path);
    if (s === undefined) return undefined;
    if ((values as readonly string[]).includes(s)) return s as T;
    return this.error(this.lineOf(m, key), join(path, key), `${JSON.stringify(s)} is not one of ${values.join(', ')}`);
  }

  cidr(m: MapNode | undefined, key: string, path: string, strict: boolean): Cidr | undefined {
    const s = this.str(m, key, path);
    if (s === undefined) return undefined;
    const r = parseCidr(s, strict);
    return typeof r === 'string' ? this.error(this.lineOf(m, key), join(path, key), r) : r;
  }

  selector(m: MapNode | undefined, key: string, path: string): Selector | undefined {
    const s = this.str(m, key, path);
    if (s === undefined) return undefined;
    try {
      return parseSelector(s);
    } catch (e) {
      if (e instanceof SelectorError) return this.error(this.lineOf(m, key), join(path, key), e.message);
      throw e;
    }
  }

  seq(m: MapNode | undefined, key: string, path: string): YNode[] {
    const n = this.get(m, key);
    if (!n) return [];
    if (n.t !== 'seq') {
      this.error(n.line, join(path, key), `expected a list, found ${describe(n)}`);
      return [];
    }
    return n.items;
  }

  strList(m: MapNode | undefined, key: string, path: string): string[] {
    const out: string[] = [];
    this.seq(m, key, path).forEach((n, i) => {
      if (n.t === 'scalar' && typeof n.value === 'string') out.push(n.value);
      else this.error(n.line, `${join(path, key)}[${i}]`, `expected a string, found ${describe(n)}`);
    });
    return out;
  }

  /** String-to-string map (labels). */
  labels(m: MapNode | undefined, key: string, path: string): Record<string, string> {
    const out: Record<string, string> = {};
    const n = this.map(this.get(m, key), join(path, key), null);
    if (!n) return out;
    for (const [k, e] of n.entries) {
      const v = e.value;
      if (v.t === 'scalar' && v.value !== null && typeof v.value !== 'object') out[k] = typeof v.value === 'string' ? v.value : v.source;
      else this.error(v.line, `${join(path, key)}.${k}`, `expected a string label value, found ${describe(v)}`);
    }
    return out;
  }
}

export const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);
