// Logging for ternd: bunyan, one JSON object per line (what log shippers in a pod expect),
// and a short human-readable line per event when stdout is a terminal.
import bunyan from 'bunyan';

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

// Fields every bunyan record carries; the rest are the event's own details.
const CORE_FIELDS = new Set(['name', 'hostname', 'pid', 'level', 'msg', 'time', 'v', 'component']);

/** Formats one bunyan record as `12:00:01.123 INFO  session: Established peer=198.18.0.1 ...`. */
export function formatRecord(rec: Record<string, unknown>): string {
  const time = rec.time instanceof Date ? rec.time : new Date(String(rec.time));
  const hhmmss = time.toISOString().slice(11, 23);
  const level = (LEVEL_NAMES[Number(rec.level)] ?? String(rec.level)).padEnd(5);
  const component = rec.component ? `${String(rec.component)}: ` : '';
  const extras: string[] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (CORE_FIELDS.has(k) || v === undefined) continue;
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    extras.push(`${k}=${/\s/.test(text) ? JSON.stringify(text) : text}`);
  }
  return `${hhmmss} ${level} ${component}${String(rec.msg ?? '')}${extras.length ? ' ' + extras.join(' ') : ''}`;
}

class PrettyStream {
  constructor(private readonly out: NodeJS.WritableStream) {}
  write(rec: Record<string, unknown>): void {
    this.out.write(formatRecord(rec) + '\n');
  }
}

export type Logger = bunyan;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

/**
 * The daemon's root logger. `pretty` defaults to whether stdout is a TTY: a person at a
 * terminal reads lines, a pod's log collector reads JSON.
 */
export function createLogger(opts: { level?: LogLevel; pretty?: boolean; name?: string } = {}): Logger {
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  const stream: bunyan.Stream = pretty
    ? { type: 'raw', stream: new PrettyStream(process.stdout) as unknown as NodeJS.WritableStream, level: opts.level ?? 'info' }
    : { stream: process.stdout, level: opts.level ?? 'info' };
  return bunyan.createLogger({ name: opts.name ?? 'ternd', streams: [stream] });
}
