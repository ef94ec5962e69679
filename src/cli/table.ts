// Text helpers for bgpctl output: aligned columns, optional ANSI color, OpenBGPD time spans.
// Pure functions; the caller decides (from isTTY, --no-color, NO_COLOR) whether color is on.

export type Color = 'green' | 'red' | 'yellow' | 'bold' | 'dim';
const ANSI: Record<Color, string> = { green: '32', red: '31', yellow: '33', bold: '1', dim: '2' };

export interface TextOptions {
  color: boolean;
  /** Current time in ms since epoch, for Up/Down columns (tests pass a fixed one). */
  now: number;
  /** Terminal width on a TTY: the last column of a table is trimmed to fit. */
  width?: number;
}

export const paint = (o: TextOptions, c: Color | undefined, s: string): string => (o.color && c ? `\x1b[${ANSI[c]}m${s}\x1b[0m` : s);

export interface Cell {
  text: string;
  right?: boolean;
  color?: Color;
}

export const cell = (text: string | number, more: Omit<Cell, 'text'> = {}): Cell => ({ text: String(text), ...more });

/**
 * Lays out rows in columns two spaces apart; widths come from the data, so the output lines up
 * whether it goes to a terminal or a pipe. Trailing spaces are never printed. `trimLast` cuts a
 * free-text last column (a description) to the terminal width; data columns are never cut.
 */
export function table(o: TextOptions, header: Cell[], rows: Cell[][], opts: { trimLast?: boolean } = {}): string[] {
  const all = [header, ...rows];
  const n = header.length;
  const widths = Array.from({ length: n }, (_, i) => Math.max(...all.map((r) => (r[i]?.text ?? '').length)));
  return all.map((r, ri) => {
    const parts: string[] = [];
    let used = 0;
    for (let i = 0; i < n; i++) {
      const c = r[i] ?? cell('');
      const last = i === n - 1;
      let text = c.text;
      if (last && opts.trimLast && o.width && used + text.length > o.width) text = text.slice(0, Math.max(0, o.width - used - 1)) + '…';
      const padded = last && !c.right ? text : c.right ? text.padStart(widths[i]) : text.padEnd(widths[i]);
      parts.push(paint(o, ri === 0 ? 'bold' : c.color, padded));
      used += widths[i] + 2;
    }
    return parts.join('  ').trimEnd();
  });
}

const two = (n: number): string => String(n).padStart(2, '0');

/**
 * A time span as OpenBGPD's fmt_timeframe prints it: `01:02:03` under a day, `1d02h03m` under
 * a week, `01w2d03h` beyond; `Never` when there is no time.
 */
export function upDown(sinceIso: string | null, now: number): string {
  if (!sinceIso) return 'Never';
  const t = Math.max(0, Math.floor((now - Date.parse(sinceIso)) / 1000));
  const sec = t % 60;
  const min = Math.floor(t / 60) % 60;
  const hrs = Math.floor(t / 3600) % 24;
  const days = Math.floor(t / 86400);
  if (days >= 7) return `${two(Math.floor(days / 7))}w${days % 7}d${two(hrs)}h`;
  if (days >= 1) return `${days}d${two(hrs)}h${two(min)}m`;
  return `${two(hrs)}:${two(min)}:${two(sec)}`;
}
