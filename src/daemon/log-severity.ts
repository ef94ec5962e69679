// Calico's logSeverityScreen (node.<name>, else default) sets the log level, as it sets BIRD's
// and confd's under Calico; ternd --log-level, when given, wins. This owns the level the model
// last set, so that a level set live with `bgpctl log level` survives reloads that do not touch
// logSeverityScreen.
import type { Logger } from '../log.js';

const LEVEL = { Debug: 'debug', Info: 'info', Warning: 'warn', Error: 'error', Fatal: 'fatal' } as const;
const BUNYAN_LEVEL = { debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

export class LogSeverity {
  private applied?: string;

  constructor(
    private readonly log: Logger,
    /** --log-level was given: the model's value is never applied. */
    private readonly fromFlag: boolean,
  ) {}

  /** Applies the model's logSeverityScreen, only when it changed since the last model. */
  apply(severity: string): void {
    if (this.fromFlag || severity === this.applied) return;
    this.applied = severity;
    const level = LEVEL[severity as keyof typeof LEVEL] ?? 'info';
    if (this.log.level() === BUNYAN_LEVEL[level]) return;
    this.log.level(level);
    this.log.info({ component: 'config', level }, `log level ${level} (logSeverityScreen ${severity})`);
  }
}
