// The logging surface the session layer needs; a bunyan Logger satisfies it.

export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const nop = (): void => {};
export const nullLogger: Logger = { debug: nop, info: nop, warn: nop, error: nop };
