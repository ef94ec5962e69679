// ternd's command line without loading yargs on the usual path (issue 18: yargs and its helpers
// hold ~10-15 MB for the life of a daemon that parses its flags once). `lazyYargs(args)` takes
// the same chain ternd writes for yargs (`.option(...)`, `.strict()`, `.help()`, ...) and only
// records it. On `parseAsync()`, a command line that uses nothing but declared flags with
// well-formed values is parsed with node's util.parseArgs into the object yargs would return;
// anything else (--help, --version, an unknown or repeated flag, a missing value, a value
// outside `choices`, a number that is not one, a chain method not listed here) replays the
// chain on real yargs, so every message and refusal is yargs' own.
import { parseArgs } from 'node:util';
import type { Argv, Options } from 'yargs';

/** Chain methods that only describe flags or help text: they do not change how a valid line parses. */
const DESCRIPTIVE = new Set(['scriptName', 'usage', 'option', 'options', 'strict', 'help', 'version', 'epilogue', 'example', 'wrap']);

interface Call {
  method: string;
  args: unknown[];
}

const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The parsed flags yargs would return for `args`, or undefined when yargs must decide. */
export function quickParse(args: string[], options: Map<string, Options>, scriptName: string): Record<string, unknown> | undefined {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  const longAlias = new Map<string, string>();
  for (const [name, o] of options) {
    const type = o.type === 'boolean' ? 'boolean' : 'string';
    const aliases = o.alias === undefined ? [] : Array.isArray(o.alias) ? o.alias : [o.alias];
    config[name] = { type, ...(aliases.find((a) => a.length === 1) ? { short: aliases.find((a) => a.length === 1) } : {}) };
    for (const a of aliases.filter((x) => x.length > 1)) {
      config[a] = { type };
      longAlias.set(a, name);
    }
  }
  let parsed: ReturnType<typeof parseArgs<{ options: typeof config; tokens: true; strict: true; allowPositionals: false; args: string[] }>>;
  try {
    parsed = parseArgs({ args, options: config, strict: true, allowPositionals: false, tokens: true });
  } catch {
    return undefined;
  }
  // yargs turns a repeated flag into an array; let it.
  const seen = new Set<string>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    const name = longAlias.get(t.name) ?? t.name;
    if (seen.has(name)) return undefined;
    seen.add(name);
  }
  const out: Record<string, unknown> = { _: [], $0: scriptName };
  for (const [name, o] of options) {
    const aliases = o.alias === undefined ? [] : Array.isArray(o.alias) ? o.alias : [o.alias];
    const raw = [name, ...aliases].map((k) => (parsed.values as Record<string, string | boolean | undefined>)[k]).find((v) => v !== undefined);
    let value: unknown = raw ?? o.default;
    if (raw !== undefined && o.type === 'number') {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (Number.isNaN(n)) return undefined;
      value = n;
    }
    if (raw !== undefined && o.choices !== undefined && !(o.choices as unknown[]).includes(value)) return undefined;
    if (value === undefined) continue;
    for (const k of [name, ...aliases]) {
      out[k] = value;
      out[camel(k)] = value;
    }
  }
  return out;
}

/** A stand-in for `yargs(args)` that loads yargs only when the command line needs it. */
export function lazyYargs(args: string[]): Argv {
  const calls: Call[] = [];
  const options = new Map<string, Options>();
  let scriptName = 'ternd';
  let describedOnly = true;
  const replay = (): Argv => {
    let y = (require('yargs') as (a: string[]) => Argv)(args);
    for (const c of calls) y = (y as unknown as Record<string, (...a: unknown[]) => Argv>)[c.method](...c.args);
    return y;
  };
  const proxy: Argv = new Proxy({} as Argv, {
    get(_target, method: string | symbol) {
      if (method === 'then') return undefined; // not a promise
      if (method === 'parseAsync') {
        return async () => {
          const quick = describedOnly ? quickParse(args, options, scriptName) : undefined;
          return quick ?? replay().parseAsync();
        };
      }
      if (method === 'parse' || method === 'argv') return replay()[method as 'argv'];
      return (...a: unknown[]) => {
        const name = String(method);
        calls.push({ method: name, args: a });
        if (!DESCRIPTIVE.has(name)) describedOnly = false;
        if (name === 'scriptName' && typeof a[0] === 'string') scriptName = a[0];
        if (name === 'option' && typeof a[0] === 'string') options.set(a[0], (a[1] ?? {}) as Options);
        if (name === 'options' && typeof a[0] === 'object' && a[0] !== null)
          for (const [k, v] of Object.entries(a[0] as Record<string, Options>)) options.set(k, v);
        return proxy;
      };
    },
  });
  return proxy;
}
