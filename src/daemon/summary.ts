// Keeping logs readable when a config is large (issue 17: 10k active BGPPeers wrote 20k log
// lines, and every per-resource warning was a line of its own). Warnings are grouped by what
// they say (the resource kind, field and message with names and numbers taken out), with a
// count and the first few examples; long lists of one kind of effect are cut to a few lines.
import { formatIssue, type ConfigIssue } from '../../peers/index.js';

/** How many examples of one group are written out in full. */
export const SUMMARY_EXAMPLES = 3;

const shapeOf = (i: ConfigIssue): string =>
  [i.severity, i.resource?.split('/')[0] ?? '', (i.path ?? '').replace(/\[\d+\]/g, '[]'), i.message.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N')].join('|');

/**
 * Lines for `issues`: a group of up to `examples` issues of one shape is written out issue by
 * issue; a larger one as its first issue, then a count and where the next few are.
 */
export function summariseIssues(issues: readonly ConfigIssue[], examples = SUMMARY_EXAMPLES): string[] {
  const groups = new Map<string, ConfigIssue[]>();
  for (const i of issues) {
    const k = shapeOf(i);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  }
  const out: string[] = [];
  for (const g of groups.values()) {
    if (g.length <= examples) {
      out.push(...g.map(formatIssue));
      continue;
    }
    const where = g.slice(1, examples).map((i) => [i.line > 0 ? `${i.file}:${i.line}` : i.file, i.resource].filter(Boolean).join(' '));
    out.push(`${formatIssue(g[0])} [and ${g.length - 1} more like it, e.g. ${where.join('; ')}]`);
  }
  return out;
}

/** At most `examples` lines of a list of like effects, then one line with the count of the rest. */
export function cutList<T>(items: readonly T[], line: (x: T) => void, rest: (count: number) => void, examples = 10): void {
  items.slice(0, examples).forEach(line);
  if (items.length > examples) rest(items.length - examples);
}
