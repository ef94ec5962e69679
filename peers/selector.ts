/**
 * Calico's label selector language (libcalico-go lib/selector), as used by BGPPeer
 * nodeSelector/peerSelector and IPPool nodeSelector:
 *
 *   all()  global()  has(k)  !has(k)  k == 'v'  k != 'v'  k in {'a','b'}  k not in {'a'}
 *   k contains 's'  k starts with 's'  k ends with 's'  !e  e && e  e || e  ( e )
 *
 * Strings use single or double quotes. Label keys are [A-Za-z0-9_./-]+. Precedence, lowest
 * first: `||`, `&&`, `!`. As in Calico, `!=` and `not in` also match a resource that lacks
 * the label; `==`, `in`, `contains`, `starts with`, `ends with` need the label present.
 * `global()` matches every node (nodes are cluster-scoped). An empty selector is all().
 * A real tokenizer and a recursive-descent parser; every error names a 1-based column.
 */

export type Labels = Readonly<Record<string, string>>;

export interface Selector {
  /** The selector as written. */
  readonly text: string;
  matches(labels: Labels): boolean;
}

export class SelectorError extends Error {
  constructor(
    readonly selector: string,
    readonly reason: string,
    readonly column: number,
  ) {
    super(`selector ${JSON.stringify(selector)}: ${reason} at column ${column}`);
    this.name = 'SelectorError';
  }
}

type TokKind =
  | 'label'
  | 'string'
  | '('
  | ')'
  | '{'
  | '}'
  | ','
  | '=='
  | '!='
  | '!'
  | '&&'
  | '||'
  | 'in'
  | 'not in'
  | 'contains'
  | 'starts with'
  | 'ends with'
  | 'all()'
  | 'global()'
  | 'has'
  | 'eof';

interface Token {
  kind: TokKind;
  value: string;
  col: number;
}

const LABEL_RE = /[A-Za-z0-9_./-]+/y;
const WORD_OPS: [RegExp, TokKind][] = [
  [/not\s+in(?![A-Za-z0-9_./-])/y, 'not in'],
  [/in(?![A-Za-z0-9_./-])/y, 'in'],
  [/contains(?![A-Za-z0-9_./-])/y, 'contains'],
  [/starts\s+with(?![A-Za-z0-9_./-])/y, 'starts with'],
  [/ends\s+with(?![A-Za-z0-9_./-])/y, 'ends with'],
];

function tokenize(text: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  const fail = (reason: string, at: number): never => {
    throw new SelectorError(text, reason, at + 1);
  };
  while (true) {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n')) i++;
    if (i >= text.length) {
      toks.push({ kind: 'eof', value: '', col: i + 1 });
      return toks;
    }
    const c = text[i],
      col = i + 1;
    const two = text.slice(i, i + 2);
    if (c === '(' || c === ')' || c === '{' || c === '}' || c === ',') {
      toks.push({ kind: c, value: c, col });
      i++;
    } else if (two === '==' || two === '!=' || two === '&&' || two === '||') {
      toks.push({ kind: two, value: two, col });
      i += 2;
    } else if (c === '!') {
      toks.push({ kind: '!', value: c, col });
      i++;
    } else if (c === '=' || c === '&' || c === '|') {
      fail(`expected '${c}${c}' but found '${c}'`, i);
    } else if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string', i);
      toks.push({ kind: 'string', value: text.slice(i + 1, end), col });
      i = end + 1;
    } else {
      // After a label only an operator word may follow (Calico's tokenizer does the same, so
      // a label key may itself be spelled "in" or "contains").
      const prev = toks[toks.length - 1];
      if (prev && prev.kind === 'label') {
        const op = WORD_OPS.find(([re]) => {
          re.lastIndex = i;
          return re.test(text);
        });
        if (!op) fail(`expected an operator after label '${prev.value}'`, i);
        toks.push({ kind: op![1], value: op![1], col });
        i = op![0].lastIndex;
        continue;
      }
      const fn = /(all|global|has)\s*\(/y;
      fn.lastIndex = i;
      const f = fn.exec(text);
      if (f) {
        i = fn.lastIndex;
        if (f[1] === 'has') {
          while (text[i] === ' ' || text[i] === '\t') i++;
          LABEL_RE.lastIndex = i;
          const m = LABEL_RE.exec(text);
          if (!m) fail('expected a label name in has(', i);
          i = LABEL_RE.lastIndex;
          while (text[i] === ' ' || text[i] === '\t') i++;
          if (text[i] !== ')') fail("expected ')' to close has(", i);
          toks.push({ kind: 'has', value: m![0], col });
          i++;
        } else {
          while (text[i] === ' ' || text[i] === '\t') i++;
          if (text[i] !== ')') fail(`expected ')' after ${f[1]}(`, i);
          toks.push({ kind: f[1] === 'all' ? 'all()' : 'global()', value: f[1], col });
          i++;
        }
        continue;
      }
      LABEL_RE.lastIndex = i;
      const m = LABEL_RE.exec(text);
      if (!m) fail(`unexpected character '${c}'`, i);
      toks.push({ kind: 'label', value: m![0], col });
      i = LABEL_RE.lastIndex;
    }
  }
}

type Node = (labels: Labels) => boolean;

class Parser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly toks: Token[],
  ) {}

  parse(): Node {
    if (this.peek().kind === 'eof') return () => true;
    const n = this.or();
    const t = this.peek();
    if (t.kind !== 'eof') this.fail(`unexpected '${t.value}'`, t.col);
    return n;
  }

  private peek(): Token {
    return this.toks[this.pos];
  }
  private next(): Token {
    return this.toks[this.pos++];
  }
  private fail(reason: string, col: number): never {
    throw new SelectorError(this.text, reason, col);
  }

  private or(): Node {
    let left = this.and();
    while (this.peek().kind === '||') {
      const op = this.next();
      const right = this.operand(op, () => this.and());
      const l = left;
      left = (lb) => l(lb) || right(lb);
    }
    return left;
  }

  private and(): Node {
    let left = this.unary();
    while (this.peek().kind === '&&') {
      const op = this.next();
      const right = this.operand(op, () => this.unary());
      const l = left;
      left = (lb) => l(lb) && right(lb);
    }
    return left;
  }

  /** The operand after a binary or unary operator; a missing one names the operator. */
  private operand(op: Token, parse: () => Node): Node {
    const k = this.peek().kind;
    if (k === 'eof' || k === ')' || k === '&&' || k === '||') {
      this.fail(`expected an expression after '${op.value}'`, op.col);
    }
    return parse();
  }

  private unary(): Node {
    if (this.peek().kind === '!') {
      const op = this.next();
      const inner = this.operand(op, () => this.unary());
      return (lb) => !inner(lb);
    }
    return this.primary();
  }

  private primary(): Node {
    const t = this.next();
    switch (t.kind) {
      case 'all()':
      case 'global()':
        return () => true;
      case 'has': {
        const k = t.value;
        return (lb) => Object.hasOwn(lb, k);
      }
      case '(': {
        const inner = this.operand(t, () => this.or());
        if (this.peek().kind !== ')') {
          const u = this.peek();
          this.fail(u.kind === 'eof' ? `expected ')' to close '(' from column ${t.col}` : `unexpected '${u.value}', expected ')'`, u.col);
        }
        this.next();
        return inner;
      }
      case 'label':
        return this.comparison(t.value);
      case 'eof':
        return this.fail('expected an expression', t.col);
      default:
        return this.fail(`unexpected '${t.value}'`, t.col);
    }
  }

  private str(op: Token): string {
    const t = this.next();
    if (t.kind !== 'string') this.fail(`expected a quoted string after '${op.value}'`, t.kind === 'eof' ? op.col : t.col);
    return t.value;
  }

  private set(op: Token): Set<string> {
    const open = this.next();
    if (open.kind !== '{') this.fail(`expected '{' after '${op.value}'`, open.kind === 'eof' ? op.col : open.col);
    const out = new Set<string>();
    if (this.peek().kind === '}') {
      this.next();
      return out;
    }
    while (true) {
      const s = this.next();
      if (s.kind !== 'string') this.fail("expected a quoted string in '{...}'", s.col);
      out.add(s.value);
      const sep = this.next();
      if (sep.kind === '}') return out;
      if (sep.kind !== ',') this.fail(sep.kind === 'eof' ? `expected '}' to close '{' from column ${open.col}` : "expected ',' or '}'", sep.col);
    }
  }

  private comparison(key: string): Node {
    const op = this.next();
    const has = (lb: Labels) => Object.hasOwn(lb, key);
    switch (op.kind) {
      case '==': {
        const v = this.str(op);
        return (lb) => has(lb) && lb[key] === v;
      }
      case '!=': {
        const v = this.str(op);
        return (lb) => !has(lb) || lb[key] !== v;
      }
      case 'in': {
        const s = this.set(op);
        return (lb) => has(lb) && s.has(lb[key]);
      }
      case 'not in': {
        const s = this.set(op);
        return (lb) => !has(lb) || !s.has(lb[key]);
      }
      case 'contains': {
        const v = this.str(op);
        return (lb) => has(lb) && lb[key].includes(v);
      }
      case 'starts with': {
        const v = this.str(op);
        return (lb) => has(lb) && lb[key].startsWith(v);
      }
      case 'ends with': {
        const v = this.str(op);
        return (lb) => has(lb) && lb[key].endsWith(v);
      }
      case 'eof':
        return this.fail(`expected an operator after label '${key}'`, op.col);
      default:
        return this.fail(`expected an operator after label '${key}', found '${op.value}'`, op.col);
    }
  }
}

/** Parse a selector; throws SelectorError naming the column of the problem. */
export function parseSelector(text: string): Selector {
  const fn = new Parser(text, tokenize(text)).parse();
  return { text, matches: (labels: Labels) => fn(labels), toString: () => text } as Selector;
}

export const ALL: Selector = parseSelector('all()');
