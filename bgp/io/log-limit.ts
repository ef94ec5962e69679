// Rate-limited warnings: one line per (peer, reason) as it first happens, then a count.
// A peer sending 20,000 malformed UPDATEs wrote 20,000 warning lines (5.4 MB in about a
// second, issue 15): one hostile or broken peer could fill the disk and drown every other
// peer's messages. Now the first occurrence of each key is logged at once, with its details
// (the first example); later ones in the same window are only counted, and when the window
// ends one summary line says how many there were. The next occurrence after that is logged
// in full again, so a steady flood costs about two lines per key per window.

import type { Logger } from './log.js';

export interface LogLimitOptions {
  /** Length of a window in ms (default 60 s). */
  windowMs?: number;
  /** Timer hooks, for tests; default setTimeout (unref'd) / clearTimeout. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

interface Window {
  fields: Record<string, unknown>;
  first: string;
  suppressed: number;
}

export class LogLimiter {
  private readonly windows = new Map<string, Window>();
  private timer: unknown;
  private readonly windowMs: number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (t: unknown) => void;

  constructor(
    private readonly log: Logger,
    opts: LogLimitOptions = {},
  ) {
    this.windowMs = opts.windowMs ?? 60_000;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
    this.clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
  }

  /** A warning keyed by `key` (e.g. peer + reason): logged now, or counted for the summary. */
  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    const w = this.windows.get(key);
    if (w) {
      w.suppressed++;
      return;
    }
    this.windows.set(key, { fields, first: msg, suppressed: 0 });
    this.log.warn(fields, msg);
    this.timer ??= this.setTimer(() => this.flush(), this.windowMs);
  }

  /** Ends the window: one summary line per key that had more than its first line. */
  flush(): void {
    this.timer = undefined;
    const secs = Math.round(this.windowMs / 1000);
    for (const w of this.windows.values()) {
      if (w.suppressed === 0) continue;
      this.log.warn(
        { ...w.fields, suppressed: w.suppressed, windowSeconds: secs },
        `${w.suppressed} more like this in the last ${secs}s, not logged one by one; the first: ${w.first}`,
      );
    }
    this.windows.clear();
  }

  /** Stops the timer and writes the pending summaries (daemon shutdown). */
  close(): void {
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.flush();
  }
}
