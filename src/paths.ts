// Where ternd puts its control socket, and where bgpctl looks for it. Both use this one rule so
// that `bgpctl show peers` finds a daemon started with defaults, as root or not.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SYSTEM_SOCKET = '/run/tern/ternd.sock';

/** The per-user fallback when /run/tern is not writable (a daemon started without root). */
export function userSocketPath(): string {
  const base = process.env.XDG_RUNTIME_DIR || path.join(os.tmpdir(), `tern-${process.getuid?.() ?? 'user'}`);
  return path.join(base, 'tern', 'ternd.sock');
}

function canWriteDir(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The socket ternd listens on: --control-socket, else TERN_SOCKET, else /run/tern if writable, else per user. */
export function daemonSocketPath(flag?: string): string {
  if (flag) return flag;
  if (process.env.TERN_SOCKET) return process.env.TERN_SOCKET;
  return canWriteDir(path.dirname(SYSTEM_SOCKET)) ? SYSTEM_SOCKET : userSocketPath();
}

/** The socket bgpctl talks to: -s, else TERN_SOCKET, else the first of the defaults that exists. */
export function clientSocketPath(flag?: string): string {
  if (flag) return flag;
  if (process.env.TERN_SOCKET) return process.env.TERN_SOCKET;
  for (const p of [SYSTEM_SOCKET, userSocketPath()]) if (fs.existsSync(p)) return p;
  return SYSTEM_SOCKET;
}
