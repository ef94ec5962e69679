// Client side of the control socket (bgpctl, tests). One connection, requests matched to
// answers by id; a stream is an async iterator that pauses the socket when its reader is slow.
import { createConnection, type Socket } from 'node:net';
import { ControlError, type ControlErrorCode } from './api.js';
import { LineSplitter, MAX_ANSWER_LINE, PROTOCOL_VERSION, line, type WireError } from './protocol.js';

/** The daemon could not be reached at all (bgpctl exit code 2). */
export class UnreachableError extends Error {
  constructor(
    readonly path: string,
    readonly errno: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnreachableError';
  }
}

/** A message that tells the operator what to check, per connect error. */
function unreachableMessage(path: string, code: string): string {
  const hint = 'is ternd running? use -s or TERN_SOCKET';
  switch (code) {
    case 'ENOENT':
      return `cannot connect to ${path}: no such file — ${hint}`;
    case 'ECONNREFUSED':
      return `cannot connect to ${path}: connection refused (stale socket) — ${hint}`;
    case 'EACCES':
    case 'EPERM':
      return `cannot connect to ${path}: permission denied — run as root or as a member of the socket's group`;
    case 'ENOTSOCK':
      return `cannot connect to ${path}: not a socket — ${hint}`;
    case 'ETIMEDOUT':
      return `ternd at ${path} did not answer in time — is it overloaded or stuck?`;
    case 'ECLOSED':
      return `ternd at ${path} closed the connection before answering — check its log`;
    default:
      return `cannot connect to ${path}: ${code} — ${hint}`;
  }
}

interface Pending {
  onRow?: (row: unknown) => void;
  resolve: (data: unknown) => void;
  reject: (e: Error) => void;
}

/** Rows buffered for a slow stream reader before the socket is paused. */
const STREAM_HIGH_WATER = 1024;

export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedError: Error | null = null;

  private constructor(
    private readonly sock: Socket,
    readonly path: string,
    idleTimeoutMs: number,
  ) {
    // A daemon that stops answering mid-request (stuck event loop) must not hang bgpctl forever.
    if (idleTimeoutMs > 0) {
      sock.setTimeout(idleTimeoutMs, () => {
        if (this.pending.size === 0) return;
        this.failAll(new UnreachableError(path, 'ETIMEDOUT', unreachableMessage(path, 'ETIMEDOUT')));
        sock.destroy();
      });
    }
    const splitter = new LineSplitter(MAX_ANSWER_LINE, (l) => this.onLine(l));
    sock.on('data', (chunk: Buffer) => {
      try {
        splitter.push(chunk);
      } catch (e) {
        this.failAll(new ControlError('bad-request', `bad answer from ternd: ${(e as Error).message}`));
        sock.destroy();
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => this.failAll(new UnreachableError(path, 'ECLOSED', unreachableMessage(path, 'ECLOSED'))));
  }

  /**
   * Connects, or throws UnreachableError with an operator-facing message. `timeoutMs` bounds the
   * connect; `idleTimeoutMs` (default 30 s, 0 = none) bounds silence while a request is open.
   */
  static connect(path: string, opts: { timeoutMs?: number; idleTimeoutMs?: number } = {}): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new UnreachableError(path, 'ETIMEDOUT', unreachableMessage(path, 'ETIMEDOUT')));
      }, opts.timeoutMs ?? 5000);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        resolve(new ControlClient(sock, path, opts.idleTimeoutMs ?? 30_000));
      });
      sock.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const code = e.code ?? 'EIO';
        reject(new UnreachableError(path, code, unreachableMessage(path, code)));
      });
    });
  }

  /** Sends a command and resolves with its `data`; throws ControlError on `ok:false`. */
  request<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    return this.send(cmd, args) as Promise<T>;
  }

  /** Sends a streaming command and yields its rows; throws ControlError on `ok:false`. */
  async *stream<T = unknown>(cmd: string, args: Record<string, unknown> = {}): AsyncGenerator<T> {
    const rows: unknown[] = [];
    let wake: (() => void) | null = null;
    let finished = false;
    let failure: Error | null = null;
    const poke = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    const done = this.send(cmd, args, (row) => {
      rows.push(row);
      if (rows.length >= STREAM_HIGH_WATER) this.sock.pause();
      poke();
    });
    done.then(
      () => {
        finished = true;
        poke();
      },
      (e: Error) => {
        failure = e;
        poke();
      },
    );
    try {
      for (;;) {
        if (rows.length > 0) {
          const batch = rows.splice(0, rows.length);
          this.sock.resume();
          for (const r of batch) yield r as T;
          continue;
        }
        if (failure) throw failure;
        if (finished) return;
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      this.sock.resume();
    }
  }

  close(): void {
    this.sock.end();
    this.sock.destroy();
  }

  private send(cmd: string, args: Record<string, unknown>, onRow?: (row: unknown) => void): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onRow });
      this.sock.write(line({ v: PROTOCOL_VERSION, id, cmd, args }));
    });
  }

  private onLine(text: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.failAll(new ControlError('bad-request', 'ternd sent a line that is not JSON'));
      return;
    }
    const id = typeof msg.id === 'number' ? msg.id : null;
    const p = id === null ? undefined : this.pending.get(id);
    if (!p) {
      // An error without an id answers a request the server could not parse: fail them all.
      if (id === null && msg.ok === false) this.failAll(toError(msg.error));
      return;
    }
    if ('row' in msg) {
      p.onRow?.(msg.row);
      return;
    }
    this.pending.delete(id as number);
    if (msg.ok === true) p.resolve(msg.data ?? null);
    else p.reject(toError(msg.error));
  }

  private failAll(e: Error): void {
    this.closedError ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

function toError(e: unknown): ControlError {
  const w = (typeof e === 'object' && e !== null ? e : {}) as Partial<WireError>;
  return new ControlError((w.code ?? 'internal') as ControlErrorCode, w.message ?? 'ternd reported an error without a message');
}
